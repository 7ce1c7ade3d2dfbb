/* fuse.c - the `fuse` pass: Conv or Gemm followed by Relu, LeakyRelu, Sigmoid, Tanh, Clip
 * or HardSigmoid becomes one com.microsoft FusedConv / FusedGemm, with the attributes ONNX
 * Runtime defines: `activation` (the operator's name) and, for FusedConv,
 * `activation_params` (LeakyRelu [alpha], Clip [min, max], HardSigmoid [alpha, beta]); for
 * FusedGemm `activation_alpha` / `activation_beta`. A residual Add(Conv, Z) with Z of the
 * Conv output's static shape becomes FusedConv with the 4th input Z (Y = act(conv + B + Z)),
 * and an activation after it joins the same node. Only float32, only when the Conv/Gemm
 * output feeds nothing but the activation or Add. FusedGemm takes no Clip (ORT's FusedGemm
 * has no two-parameter Clip form). */
#include "passes.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Clip's bounds: attributes before opset 11, then optional constant scalar inputs. */
static bool clip_bounds(const Node *n, float *lo, float *hi) {
  *lo = -FLT_MAX;
  *hi = FLT_MAX;
  if (n->op->since < 11) {
    *lo = ir_attr_float(n, "min", -FLT_MAX);
    *hi = ir_attr_float(n, "max", FLT_MAX);
    return true;
  }
  for (int i = 1; i < 3 && i < n->n_inputs; i++) {
    if (!n->inputs[i]) continue;
    const Tensor *t = pass_const_data(n->inputs[i]);
    uint64_t cnt;
    if (!t || t->elem != ELEM_FLOAT || !ir_tensor_numel(t, &cnt) || cnt != 1) return false;
    float v = (float)ir_elem(t->elem)->to_f64(t->data, 0);
    if (isnan(v)) return false;
    if (i == 1)
      *lo = v;
    else
      *hi = v;
  }
  return true;
}

static bool is_float_value(const Value *v) {
  return v && v->type && v->type->kind == TYPE_TENSOR && v->type->elem == ELEM_FLOAT;
}

/* Conv or Gemm producing x for nothing else, float32 (known from X, W or the output). */
static Node *fusable_producer(Graph *g, Value *x) {
  Node *p = x ? x->producer : NULL;
  if (!p || p->graph != g || !p->op || pass_use_count(x) != 1) return NULL;
  bool conv = !strcmp(p->op->family, "Conv"), gemm = !strcmp(p->op->family, "Gemm");
  bool fused_conv = !strcmp(p->op->family, "ms_FusedConv") &&
                    !*ir_attr_string(p, "activation", "");
  if (!conv && !gemm && !fused_conv) return NULL;
  const Tensor *w = p->n_inputs > 1 ? pass_const_data(p->inputs[1]) : NULL;
  bool f32 = is_float_value(x) || is_float_value(p->inputs[0]) || (w && w->elem == ELEM_FLOAT) ||
             (p->n_inputs > 1 && is_float_value(p->inputs[1]));
  for (int i = 0; i < 2 && f32; i++) {
    const Value *v = p->inputs[i];
    if (v && v->type && v->type->kind == TYPE_TENSOR && v->type->elem &&
        v->type->elem != ELEM_FLOAT)
      f32 = false;
  }
  for (int i = 0; i < p->n_attrs && f32; i++)
    if (p->attrs[i].ref_attr_name) f32 = false;
  return f32 ? p : NULL;
}

/* Replace the node in *slot (the activation or Add) and its producer p by one fused node
 * computing `out`: p's inputs (Z added when z), p's attributes, the activation `name` (NULL:
 * none) with np parameters. */
static void replace(Model *m, Graph *g, Node **slot, Node *p, Value *x, Value *z,
                    const char *name, const float *params, int np, Node **dead_p) {
  bool gemm = !strcmp(p->op->family, "Gemm");
  int nin = z ? 4 : p->n_inputs;
  pass_ensure_opset(m, "com.microsoft", 1);
  Node *f = ir_node_new(g, "com.microsoft", gemm ? "FusedGemm" : "FusedConv", nin, 1);
  f->name = p->name;
  f->loc = p->loc;
  f->graph = g;
  f->n_attrs = 0;
  f->attrs = ir_arena_alloc(&m->arena, (size_t)(p->n_attrs + 3) * sizeof *f->attrs);
  for (int i = 0; i < p->n_attrs; i++) f->attrs[f->n_attrs++] = p->attrs[i];
  if (name) pass_set_attr_string(f, "activation", name);
  if (!gemm && np) pass_set_attr_floats(f, "activation_params", params, (size_t)np);
  if (gemm && np >= 1) pass_set_attr_float(f, "activation_alpha", params[0]);
  if (gemm && np >= 2) pass_set_attr_float(f, "activation_beta", params[1]);
  for (int i = 0; i < p->n_inputs && i < nin; i++) ir_node_set_input(f, i, p->inputs[i]);
  if (z) ir_node_set_input(f, 3, z);
  ir_node_set_output(f, 0, (*slot)->outputs[0]);
  f->op = ir_op_find("com.microsoft", f->op_type, 1);
  /* f replaces the activation in place (its inputs are all defined before it) */
  pass_unlink_node(*slot);
  *slot = f;
  pass_unlink_node(p);
  x->has_value_info = false; /* gone: compacted by the caller */
  x->producer = NULL;
  *dead_p = p; /* the caller drops p */
}

/* Add(Conv(...), z) with z of the Conv output's static shape: FusedConv with Z (ORT's
 * contract Y = act(conv(X, W) + B + Z); the activation joins it when it follows). */
static int fuse_add(Model *m, Graph *g, Node **slot, Node **dead_p) {
  Node *add = *slot;
  if (add->n_inputs != 2 || add->n_outputs < 1 || !add->outputs[0]) return 0;
  for (int i = 0; i < 2; i++) {
    Value *x = add->inputs[i], *z = add->inputs[1 - i];
    Node *p = fusable_producer(g, x);
    uint64_t n;
    if (!p || strcmp(p->op->family, "Conv") || x == z || !is_float_value(z) || !x->type ||
        !ir_type_numel(x->type, &n) || !ir_type_equal(x->type, z->type))
      continue;
    replace(m, g, slot, p, x, z, NULL, NULL, 0, dead_p);
    return 1;
  }
  return 0;
}

static int fuse_one(Model *m, Graph *g, Node **act_slot, Node **dead_p) {
  Node *act = *act_slot;
  static const char *const acts[] = {"Relu", "LeakyRelu",   "Sigmoid", "Tanh",
                                     "Clip", "HardSigmoid", NULL};
  if (!act->op || act->n_inputs < 1 || act->n_outputs < 1 || !act->outputs[0]) return 0;
  if (!strcmp(act->op->family, "Add") && !*act->op->domain) return fuse_add(m, g, act_slot, dead_p);
  int k = 0;
  while (acts[k] && strcmp(act->op->family, acts[k])) k++;
  if (!acts[k]) return 0;
  Value *x = act->inputs[0];
  Node *p = fusable_producer(g, x);
  if (!p) return 0;
  bool gemm = !strcmp(p->op->family, "Gemm");
  float params[2];
  int np = 0;
  const char *name = acts[k];
  if (!strcmp(name, "LeakyRelu")) {
    params[np++] = ir_attr_float(act, "alpha", 0.01f);
  } else if (!strcmp(name, "HardSigmoid")) {
    params[np++] = ir_attr_float(act, "alpha", 0.2f);
    params[np++] = ir_attr_float(act, "beta", 0.5f);
  } else if (!strcmp(name, "Clip")) {
    if (gemm || !clip_bounds(act, &params[0], &params[1])) return 0;
    np = 2;
  }
  replace(m, g, act_slot, p, x, NULL, name, params, np, dead_p);
  return 1;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  pass_load_weights(m, c->d); /* weights in external files */
  int ng, fused = 0;
  Graph **gs = pass_graphs(m, &ng, false);
  for (int k = 0; k < ng; k++) {
    Graph *g = gs[k];
    int here = 0;
    for (size_t i = 0; i < g->nodes.n; i++) {
      Node *p = NULL;
      if (g->nodes.v[i] && fuse_one(m, g, &g->nodes.v[i], &p)) {
        here++;
        p->id = UINT32_MAX; /* marked: dropped below */
      }
    }
    if (!here) continue;
    fused += here;
    size_t w = 0;
    for (size_t i = 0; i < g->nodes.n; i++)
      if (g->nodes.v[i] && g->nodes.v[i]->id != UINT32_MAX) g->nodes.v[w++] = g->nodes.v[i];
    g->nodes.n = w;
    pass_compact_value_infos(g);
  }
  free(gs);
  pass_stat(c, "nodes-fused", fused);
  return 0;
}

const Pass pass_fuse = {
    "fuse",
    "fuse Conv/Gemm + residual Add + activation into com.microsoft FusedConv/FusedGemm",
    NULL,
    0,
    run,
    0,
    "Conv or Gemm followed by Relu, LeakyRelu, Sigmoid, Tanh, Clip (constant bounds) or "
    "HardSigmoid becomes one com.microsoft FusedConv / FusedGemm with ONNX Runtime's "
    "attributes: `activation` names the operator; FusedConv carries `activation_params` "
    "(LeakyRelu [alpha], Clip [min, max], HardSigmoid [alpha, beta]); FusedGemm carries "
    "`activation_alpha` / `activation_beta` (no Clip, as in ONNX Runtime). A residual "
    "Add(Conv, Z), Z of the Conv output's static shape, becomes FusedConv with input Z "
    "(Y = act(conv + B + Z)); an activation after it joins the same node. float32 only, only"
    " when the Conv/Gemm output feeds nothing but the activation or Add. The interpreter runs both "
    "(runtime/k_fused.c).",
};

/* layout.c - the `layout` pass: chains of convolutions run channels last (NHWC). Conv and
 * FusedConv (group 1, or depthwise), MaxPool / AveragePool and the global pools of the main
 * graph get `__effc_layout: string = "NHWC"` (ir_node_nhwc: their image input(s) and output
 * are [N, H, W, C]); elementwise operators between them (activations, Add / Mul / Sub / Div
 * of rank-4 images, scalars) follow without an attribute, since they do not care about the
 * order of axes as long as every rank-4 operand has it; value types carry the NHWC shapes.
 * Standard Transpose nodes move images in (perm [0,2,3,1]) where a region reads an NCHW
 * value and out (perm [0,3,1,2]) where an NCHW consumer or a graph output needs one, so the
 * output is a standard graph plus one attribute that the interpreter (runtime/interp.c),
 * shape inference and the C backend (runtime/kern/nhwc.c) all understand. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

typedef struct Lay {
  Model *m;
  Graph *g;
  bool *region; /* by node id */
  Value **nh;   /* by value id: its NHWC twin */
  int64_t moved_in, moved_out, nodes;
} Lay;

static bool static4(const Value *v) {
  uint64_t n;
  return v && v->type && v->type->kind == TYPE_TENSOR && v->type->elem == ELEM_FLOAT &&
         v->type->rank == 4 && ir_type_numel(v->type, &n);
}

static bool static_numel1(const Value *v) {
  uint64_t n;
  return v && v->type && v->type->kind == TYPE_TENSOR && ir_type_numel(v->type, &n) && n == 1;
}

static int64_t dim(const Value *v, int i) { return v->type->dims[i].value; }

static bool has_ref_attrs(const Node *n) {
  for (int i = 0; i < n->n_attrs; i++)
    if (n->attrs[i].ref_attr_name) return true;
  return false;
}

/* A convolution the NHWC kernels run: 2-D, float32, static, constant W, group 1 or
 * depthwise (group = C = M); sets *dw for depthwise. */
static bool conv_ok(const Node *n, bool *dw) {
  bool fc = !strcmp(n->op->family, "ms_FusedConv");
  if (strcmp(n->op->family, "Conv") && !fc) return false;
  if (n->n_inputs < 2 || !static4(n->inputs[0]) || n->n_outputs < 1 || !static4(n->outputs[0]))
    return false;
  const Tensor *w = pass_const_data(n->inputs[1]);
  if (!w || w->elem != ELEM_FLOAT || w->rank != 4) return false;
  if (n->n_inputs > 2 && n->inputs[2] && !pass_const_data(n->inputs[2])) return false;
  if (fc && n->n_inputs > 3 && n->inputs[3] &&
      (!static4(n->inputs[3]) || !ir_type_equal(n->inputs[3]->type, n->outputs[0]->type)))
    return false;
  int64_t G = ir_attr_int(n, "group", 1), C = dim(n->inputs[0], 1), M = dim(n->outputs[0], 1);
  *dw = G > 1 && G == C && M == C;
  return G == 1 || *dw;
}

/* An operator that gets the attribute. */
static bool anchor(const Node *n, bool *dw) {
  *dw = false;
  if (!n->op || has_ref_attrs(n) || ir_node_nhwc(n)) return false;
  const char *f = n->op->family;
  if (!strcmp(f, "Conv") || !strcmp(f, "ms_FusedConv")) return conv_ok(n, dw);
  if (!strcmp(f, "GlobalAveragePool") || !strcmp(f, "GlobalMaxPool"))
    return n->n_inputs == 1 && static4(n->inputs[0]) && static4(n->outputs[0]);
  if (!strcmp(f, "MaxPool") || !strcmp(f, "AveragePool")) {
    size_t k = 0;
    return static4(n->inputs[0]) && static4(n->outputs[0]) &&
           (n->n_outputs == 1 || !n->outputs[1]) && ir_attr_ints(n, "kernel_shape", &k) && k == 2;
  }
  return false;
}

/* Elementwise operators that follow a region: every rank-4 input an image of the output's
 * shape or a broadcast of it (per-channel [N, C, 1, 1] scales), the rest single values. */
static bool transparent(const Lay *L, const Node *n) {
  static const char *const ops[] = {"Relu",  "Sigmoid", "Tanh", "Clip", "LeakyRelu",
                                    "HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div",
                                    NULL};
  if (!n->op || *n->op->domain || has_ref_attrs(n) || n->n_outputs != 1 ||
      !static4(n->outputs[0]))
    return false;
  int k = 0;
  while (ops[k] && strcmp(n->op->family, ops[k])) k++;
  if (!ops[k]) return false;
  bool follows = false;
  for (int i = 0; i < n->n_inputs; i++) {
    const Value *v = n->inputs[i];
    if (!v) continue;
    if (static4(v)) {
      follows |= v->producer && L->region[v->producer->id];
    } else if (!static_numel1(v)) {
      return false;
    }
  }
  return follows;
}

/* Input i of a region node reads an NHWC image. */
static bool layout_input(const Node *n, int i, bool is_anchor) {
  return is_anchor ? ir_nhwc_input(n, i) : static4(n->inputs[i]);
}

static Node *transpose(Lay *L, Value *x, Value *y, bool to_nhwc) {
  Node *t = ir_node_new(L->g, "", "Transpose", 1, 1);
  t->graph = L->g;
  t->loc = x->loc;
  t->name = pass_fresh_name(L->g, to_nhwc ? "layout_to_nhwc" : "layout_to_nchw");
  static const int64_t in[4] = {0, 2, 3, 1}, out[4] = {0, 3, 1, 2};
  pass_set_attr_ints(t, "perm", to_nhwc ? in : out, 4);
  ir_node_set_input(t, 0, x);
  ir_node_set_output(t, 0, y);
  t->op = ir_op_find("", "Transpose", ir_model_opset(L->m, ""));
  t->id = L->m->next_node_id++;
  return t;
}

/* A new value for the NHWC twin of v. */
static Value *twin(Lay *L, Value *v) {
  int64_t d[4];
  for (int i = 0; i < 4; i++) d[i] = dim(v, i);
  ir_nhwc_dims(d, true, d);
  const char *base = ir_arena_printf(&L->m->arena, "%s_nhwc", v->name);
  Value *t = ir_value_new(L->g, pass_fresh_name(L->g, base),
                          ir_type_tensor(&L->m->arena, ELEM_FLOAT, 4, d));
  t->loc = v->loc;
  if (v->has_value_info) {
    t->has_value_info = true;
    ir_vec_push(L->g->value_infos, t);
  }
  return t;
}

/* Whether a consumer of v (or the graph's outputs) needs it NCHW. */
static bool needs_nchw(const Lay *L, const Value *v) {
  if (pass_is_graph_output(L->g, v)) return true;
  for (const Use *u = v->uses; u; u = u->next) {
    const Node *c = u->node;
    bool dw;
    if (c->graph != L->g || !L->region[c->id]) return true;
    if (!layout_input(c, u->index, anchor(c, &dw) || ir_node_nhwc(c))) return true;
  }
  return false;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  pass_load_weights(m, c->d);
  const char *scope = pass_opt_str(o, "scope");
  if (strcmp(scope, "depthwise") && strcmp(scope, "all")) {
    ir_error(c->d, (SrcLoc){0}, "scope must be depthwise or all, not '%s'", scope);
    return -1;
  }
  Graph *g = m->graph;
  uint32_t nn = m->next_node_id, nv = m->next_value_id;
  Lay L = {m, g, calloc(nn + 1, sizeof(bool)), calloc(nv + 1, sizeof(Value *)), 0, 0, 0};
  if (!L.region || !L.nh) abort();
  bool any_dw = false;
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *n = g->nodes.v[i];
    bool dw;
    if (anchor(n, &dw) && n->id < nn) L.region[n->id] = true, any_dw |= dw;
    else if (n->id < nn && transparent(&L, n)) L.region[n->id] = true;
  }
  size_t cap = g->nodes.n * 3 + 8, w = 0;
  Node **out = malloc(cap * sizeof *out);
  if (!out) abort();
  bool apply = any_dw || !strcmp(scope, "all");
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *n = g->nodes.v[i];
    if (!apply || n->id >= nn || !L.region[n->id]) {
      out[w++] = n;
      continue;
    }
    bool dw, is_anchor = anchor(n, &dw);
    for (int k = 0; k < n->n_inputs; k++) {
      Value *v = n->inputs[k];
      if (!v || v->id >= nv || !layout_input(n, k, is_anchor)) continue;
      if (!L.nh[v->id]) {
        L.nh[v->id] = twin(&L, v);
        out[w++] = transpose(&L, v, L.nh[v->id], true);
        L.moved_in++;
      }
      pass_set_input(n, k, L.nh[v->id]);
    }
    Value *y = n->outputs[0], *yt = twin(&L, y);
    bool back = needs_nchw(&L, y);
    L.nh[y->id] = yt;
    ir_node_set_output(n, 0, yt);
    if (is_anchor) pass_set_attr_string(n, "__effc_layout", "NHWC");
    out[w++] = n;
    L.nodes++;
    if (back) {
      out[w++] = transpose(&L, yt, y, false);
      L.moved_out++;
    } else {
      y->producer = NULL;
      y->has_value_info = false; /* gone: compacted below */
    }
  }
  g->nodes.n = 0;
  for (size_t i = 0; i < w; i++) ir_vec_push(g->nodes, out[i]);
  pass_compact_value_infos(g);
  free(out);
  free(L.region);
  free(L.nh);
  pass_stat(c, "nodes-nhwc", L.nodes);
  pass_stat(c, "transposes", L.moved_in + L.moved_out);
  return 0;
}

static const PassOptSpec opts[] = {
    {"scope", POPT_STRING, "depthwise",
     "depthwise: only graphs with a depthwise convolution (where channels-last kernels win); "
     "all: every graph with a supported convolution"},
};

const Pass pass_layout = {
    "layout",
    "run convolution chains channels last (NHWC) with Transposes only at their boundaries",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    run,
    PASS_REQ_SHAPES,
    "Conv and FusedConv (float32, static shapes, constant W; group 1 or depthwise), MaxPool, "
    "AveragePool, GlobalAveragePool and GlobalMaxPool of the main graph get "
    "`__effc_layout: string = \"NHWC\"`: their image input (and FusedConv's Z) and output are "
    "[N, H, W, C]. Elementwise operators fed by such a node (Relu, Sigmoid, Tanh, Clip, "
    "LeakyRelu, HardSigmoid, HardSwish; Add, Sub, Mul, Div whose other operands are rank-4 "
    "images or single values) follow without an attribute; value types carry the NHWC "
    "shapes. Standard Transposes (perm [0,2,3,1] in, [0,3,1,2] out) are inserted only where a "
    "region reads an NCHW value or an NCHW consumer or graph output reads a region's value. "
    "The interpreter, shape inference and the C backend (runtime/kern/nhwc.c: depthwise "
    "vectorized over channels, 1x1 and KxK as GEMMs) understand the attribute. "
    "`scope=depthwise` (the default) converts only graphs that have a depthwise convolution. "
    "Counters: nodes-nhwc, transposes.",
};

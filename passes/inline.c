/* inline.c - the `inline` pass: calls of model-local functions are replaced by the
 * function's body. Formal parameters map to the call's values; every other value gets a
 * fresh name in the caller (SSA kept); attribute references (@name) resolve to the call's
 * attribute, else the function's default, else the attribute is dropped. Calls produced by
 * inlining are inlined in the next round (up to `max-depth` rounds, so recursion stops).
 * Functions nothing calls any more are dropped (unless keep-functions=1). Skipped: bodies
 * holding subgraphs, and bodies whose opsets differ from the model's. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static Function *callee(Model *m, const Node *n) {
  if (n->op) return NULL;
  return ir_model_find_function(m, n->domain ? n->domain : "", n->op_type, n->overload);
}

static int64_t fn_opset(const Function *f, const char *dom) {
  for (int i = 0; i < f->n_opsets; i++) {
    const char *d = f->opsets[i].domain ? f->opsets[i].domain : "";
    if (!strcmp(d, "ai.onnx")) d = "";
    if (!strcmp(d, dom)) return f->opsets[i].version;
  }
  return -1;
}

static bool can_inline(Model *m, const Function *f) {
  const Graph *b = f->body;
  if (!b) return false;
  for (size_t i = 0; i < b->nodes.n; i++) {
    const Node *n = b->nodes.v[i];
    if (!n) return false;
    for (int j = 0; j < n->n_attrs; j++)
      if (n->attrs[j].type == ATTR_GRAPH || n->attrs[j].type == ATTR_GRAPHS) return false;
    const char *dom = n->domain && strcmp(n->domain, "ai.onnx") ? n->domain : "";
    if (ir_model_find_function(m, dom, n->op_type, n->overload)) continue;
    int64_t fv = fn_opset(f, dom), mv = ir_model_opset(m, dom);
    if (fv >= 0 && mv >= 0 && fv != mv) return false;
  }
  return true;
}

static const Attr *fn_default(const Function *f, const char *name) {
  for (int i = 0; i < f->n_attr_defaults; i++)
    if (!strcmp(f->attr_defaults[i].name, name)) return &f->attr_defaults[i];
  return NULL;
}

typedef IR_VEC(Node *) NodeVec;

typedef struct Map {
  Value **v; /* body value id -> caller value */
  uint32_t n;
} Map;

static Value *mapped(const Map *mp, const Value *v) {
  return v && v->id < mp->n ? mp->v[v->id] : NULL;
}

/* Inline call n (in g) of f; the new nodes are pushed to out. */
static bool inline_call(Model *m, Graph *g, Node *n, Function *f, NodeVec *out, int *serial) {
  Arena *a = &m->arena;
  Graph *b = f->body;
  Map mp = {calloc(m->next_value_id + 1, sizeof(Value *)), m->next_value_id};
  if (!mp.v) abort();
  for (int i = 0; i < b->n_inputs; i++)
    if (b->inputs[i] && b->inputs[i]->id < mp.n)
      mp.v[b->inputs[i]->id] = i < n->n_inputs ? n->inputs[i] : NULL;
  /* opsets the body needs that the model lacks */
  for (size_t i = 0; i < b->nodes.n; i++) {
    const char *dom = b->nodes.v[i]->domain && strcmp(b->nodes.v[i]->domain, "ai.onnx")
                          ? b->nodes.v[i]->domain
                          : "";
    int64_t fv = fn_opset(f, dom);
    if (fv >= 0) pass_ensure_opset(m, dom, fv);
  }
  const char *prefix =
      n->name && *n->name ? n->name : ir_arena_printf(a, "%s%d", f->name, (*serial)++);
  for (size_t i = 0; i < b->nodes.n; i++) {
    const Node *bn = b->nodes.v[i];
    Node *nn = ir_node_new(g, bn->domain, bn->op_type, bn->n_inputs, bn->n_outputs);
    nn->overload = bn->overload;
    nn->loc = n->loc;
    nn->graph = g;
    nn->name = bn->name ? ir_arena_printf(a, "%s_%s", prefix, bn->name) : NULL;
    nn->attrs = bn->n_attrs ? ir_arena_alloc(a, (size_t)bn->n_attrs * sizeof *nn->attrs) : NULL;
    for (int j = 0; j < bn->n_attrs; j++) {
      const Attr *ba = &bn->attrs[j];
      const Attr *src = ba;
      if (ba->ref_attr_name) {
        src = ir_node_attr(n, ba->ref_attr_name);
        if (!src) src = fn_default(f, ba->ref_attr_name);
        if (!src) continue;
      }
      Attr *na = &nn->attrs[nn->n_attrs++];
      *na = *src;
      na->name = ba->name;
      na->ref_attr_name = NULL;
    }
    for (int j = 0; j < bn->n_inputs; j++) {
      if (!bn->inputs[j]) continue;
      Value *v = mapped(&mp, bn->inputs[j]);
      if (!v) { /* an optional formal input the call left out */
        if (!pass_is_graph_input(b, bn->inputs[j])) {
          free(mp.v);
          return false;
        }
        continue;
      }
      ir_node_set_input(nn, j, v);
    }
    for (int j = 0; j < bn->n_outputs; j++) {
      Value *bv = bn->outputs[j];
      if (!bv) continue;
      Value *v = NULL;
      for (int k = 0; k < b->n_outputs && !v; k++)
        if (b->outputs[k] == bv && k < n->n_outputs) v = n->outputs[k];
      if (!v) {
        v = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_%s", prefix, bv->name)),
                         bv->type);
        if (!v) {
          free(mp.v);
          return false;
        }
      }
      ir_node_set_output(nn, j, v);
      if (bv->id < mp.n) mp.v[bv->id] = v;
    }
    ir_vec_push(*out, nn);
  }
  /* outputs the body passes straight through from an input become Identity */
  for (int k = 0; k < b->n_outputs && k < n->n_outputs; k++) {
    Value *bv = b->outputs[k], *cv = n->outputs[k];
    if (!bv || !cv || cv->producer != n) continue;
    Value *src = mapped(&mp, bv);
    if (!src) {
      free(mp.v);
      return false;
    }
    Node *id = ir_node_new(g, "", "Identity", 1, 1);
    id->graph = g;
    id->loc = n->loc;
    ir_node_set_input(id, 0, src);
    ir_node_set_output(id, 0, cv);
    ir_vec_push(*out, id);
  }
  free(mp.v);
  return true;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  int64_t max_rounds = pass_opt_int(o, "max-depth");
  int inlined = 0, skipped = 0, serial = 0;
  for (int64_t round = 0; round < max_rounds; round++) {
    int ng, this_round = 0;
    Graph **gs = pass_graphs(m, &ng, false);
    for (int k = 0; k < ng; k++) {
      Graph *g = gs[k];
      bool any = false;
      for (size_t i = 0; i < g->nodes.n && !any; i++)
        any = g->nodes.v[i] && callee(m, g->nodes.v[i]);
      if (!any) continue;
      NodeVec out = {0};
      for (size_t i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        Function *f = n ? callee(m, n) : NULL;
        size_t mark = out.n;
        if (f && can_inline(m, f) && inline_call(m, g, n, f, &out, &serial)) {
          pass_unlink_node(n);
          this_round++;
          continue;
        }
        if (f && round == 0) skipped++;
        /* a failed attempt leaves no new nodes behind */
        for (size_t q = mark; q < out.n; q++) pass_unlink_node(out.v[q]);
        out.n = mark;
        for (int j = 0; f && j < n->n_outputs; j++)
          if (n->outputs[j]) ir_node_set_output(n, j, n->outputs[j]);
        ir_vec_push(out, n);
      }
      ir_vec_free(g->nodes);
      g->nodes.v = out.v;
      g->nodes.n = out.n;
      g->nodes.cap = out.cap;
    }
    free(gs);
    inlined += this_round;
    if (!this_round) break;
  }
  pass_stat(c, "calls-inlined", inlined);
  pass_stat(c, "calls-kept", skipped);
  if (pass_opt_int(o, "keep-functions")) return 0;
  /* drop functions nothing calls (calls from other function bodies count) */
  int ng;
  Graph **gs = pass_graphs(m, &ng, true);
  bool *used = calloc((size_t)m->n_functions + 1, sizeof *used);
  if (!used) abort();
  for (int k = 0; k < ng; k++)
    for (size_t i = 0; i < gs[k]->nodes.n; i++) {
      const Node *n = gs[k]->nodes.v[i];
      Function *f = n ? callee(m, n) : NULL;
      for (int q = 0; f && q < m->n_functions; q++)
        if (m->functions[q] == f) used[q] = true;
    }
  int w = 0, dropped = 0;
  for (int q = 0; q < m->n_functions; q++) {
    if (used[q])
      m->functions[w++] = m->functions[q];
    else {
      /* its body's uses of nothing outside need no unlinking: bodies are closed */
      dropped++;
    }
  }
  m->n_functions = w;
  free(used);
  free(gs);
  pass_stat(c, "functions-dropped", dropped);
  return 0;
}

static const PassOptSpec opts[] = {
    {"max-depth", POPT_INT, "16", "rounds of inlining (calls made by inlined bodies)"},
    {"keep-functions", POPT_INT, "0", "keep functions that are no longer called"},
};

const Pass pass_inline = {
    "inline",
    "inline calls of model-local functions, then drop unused functions",
    opts,
    2,
    run,
    0,
    "Each call of a model-local function is replaced by the function's body: formal inputs "
    "and outputs map to the call's values, every other value gets a fresh name (`<call-"
    "name>_<value>`) so the graph stays SSA, attribute references (`@name`) resolve to the "
    "call's attribute, else the function's default, else the attribute is dropped. Calls made"
    " by inlined bodies are inlined in later rounds (`max-depth`). Functions whose bodies "
    "hold subgraphs, or import another version of an opset the model imports, are kept as "
    "calls. Functions nothing calls any more are dropped unless `keep-functions=1`.",
};

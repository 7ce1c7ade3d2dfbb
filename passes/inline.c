/* inline.c - the `inline` pass: calls of model-local functions are replaced by the
 * function's body. Formal parameters map to the call's values; every other value gets a
 * fresh name in the caller (SSA kept); attribute references (@name) resolve to the call's
 * attribute, else the function's default, else the attribute is dropped. Calls produced by
 * inlining are inlined in the next round (up to `max-depth` rounds, so recursion stops).
 * Subgraphs in the body are copied too (nesting up to MAX_NEST). Functions nothing calls any
 * more are dropped (unless keep-functions=1). Skipped: bodies that import another version of
 * an opset the model imports. */
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
  if (!f->body) return false;
  /* every node, subgraphs included (iteratively) */
  Graph **v = NULL;
  size_t len = 0, cap = 0;
  v = malloc(sizeof *v);
  if (!v) abort();
  v[len++] = f->body;
  cap = 1;
  bool ok = true;
  for (size_t k = 0; k < len && ok; k++) {
    const Graph *b = v[k];
    for (size_t i = 0; i < b->nodes.n && ok; i++) {
      const Node *n = b->nodes.v[i];
      if (!n) {
        ok = false;
        break;
      }
      pass_node_subgraphs(n, &v, &len, &cap);
      const char *dom = n->domain && strcmp(n->domain, "ai.onnx") ? n->domain : "";
      if (ir_model_find_function(m, dom, n->op_type, n->overload)) continue;
      int64_t fv = fn_opset(f, dom), mv = ir_model_opset(m, dom);
      if (fv >= 0 && mv >= 0 && fv != mv) ok = false;
    }
  }
  free(v);
  return ok;
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

/* One inlining: the call, its function, the value map and the name prefix. */
typedef struct Copy {
  Model *m;
  Node *call;
  Function *f;
  Map mp;
  const char *prefix;
} Copy;

#define MAX_NEST 64 /* deeper subgraph nesting in a body is not inlined */

static Node *copy_node(Copy *cp, Graph *g, const Node *bn, int depth);

/* A failed copy leaves no uses behind. */
static Graph *drop_graph(Graph *ng) {
  for (size_t i = 0; i < ng->nodes.n; i++) pass_unlink_node(ng->nodes.v[i]);
  ng->nodes.n = 0;
  return NULL;
}
static Node *drop_node(Node *nn) {
  pass_unlink_node(nn);
  return NULL;
}

/* A copy of subgraph src (of a body node) nested in g under holder. */
static Graph *copy_graph(Copy *cp, Graph *g, Node *holder, const Graph *src, int depth) {
  if (depth > MAX_NEST) return NULL;
  Arena *a = &cp->m->arena;
  Graph *ng = ir_graph_new(cp->m, g, src->name);
  ng->parent_node = holder;
  Value **ins = src->n_inputs ? ir_arena_alloc(a, (size_t)src->n_inputs * sizeof *ins) : NULL;
  for (int i = 0; i < src->n_inputs; i++) {
    const Value *sv = src->inputs[i];
    if (!sv) continue;
    ins[i] = ir_value_new(
        ng, pass_fresh_name(ng, ir_arena_printf(a, "%s_%s", cp->prefix, sv->name)), sv->type);
    if (!ins[i]) return NULL;
    if (sv->id < cp->mp.n) cp->mp.v[sv->id] = ins[i];
  }
  ir_graph_set_inputs(ng, ins, src->n_inputs);
  for (size_t i = 0; i < src->initializers.n; i++) {
    const Value *sv = src->initializers.v[i];
    if (!sv) continue;
    Value *nv = mapped(&cp->mp, sv);
    if (!nv) {
      nv = ir_value_new(ng, pass_fresh_name(ng, ir_arena_printf(a, "%s_%s", cp->prefix, sv->name)),
                        sv->type);
      if (!nv) return NULL;
      if (sv->id < cp->mp.n) cp->mp.v[sv->id] = nv;
    }
    nv->init = sv->init;
    nv->sparse_init = sv->sparse_init;
    ir_vec_push(ng->initializers, nv);
  }
  for (size_t i = 0; i < src->nodes.n; i++) {
    Node *nn = copy_node(cp, ng, src->nodes.v[i], depth);
    if (!nn) return drop_graph(ng);
    ir_node_append(ng, nn);
  }
  Value **outs = src->n_outputs ? ir_arena_alloc(a, (size_t)src->n_outputs * sizeof *outs) : NULL;
  for (int i = 0; i < src->n_outputs; i++) {
    outs[i] = src->outputs[i] ? mapped(&cp->mp, src->outputs[i]) : NULL;
    if (src->outputs[i] && !outs[i]) return drop_graph(ng);
  }
  ir_graph_set_outputs(ng, outs, src->n_outputs);
  return ng;
}

/* A copy of body node bn in g (depth 0: the caller's graph, where the body's outputs are
 * the call's outputs). NULL if something cannot be mapped. */
static Node *copy_node(Copy *cp, Graph *g, const Node *bn, int depth) {
  Arena *a = &cp->m->arena;
  Graph *b = cp->f->body;
  Node *n = cp->call;
  Node *nn = ir_node_new(g, bn->domain, bn->op_type, bn->n_inputs, bn->n_outputs);
  nn->overload = bn->overload;
  nn->loc = n->loc;
  nn->graph = g;
  nn->name = bn->name ? ir_arena_printf(a, "%s_%s", cp->prefix, bn->name) : NULL;
  nn->attrs = bn->n_attrs ? ir_arena_alloc(a, (size_t)bn->n_attrs * sizeof *nn->attrs) : NULL;
  for (int j = 0; j < bn->n_attrs; j++) {
    const Attr *ba = &bn->attrs[j];
    const Attr *src = ba;
    if (ba->ref_attr_name) {
      src = ir_node_attr(n, ba->ref_attr_name);
      if (!src) src = fn_default(cp->f, ba->ref_attr_name);
      if (!src) continue;
    }
    Attr *na = &nn->attrs[nn->n_attrs++];
    *na = *src;
    na->name = ba->name;
    na->ref_attr_name = NULL;
    if (src->type == ATTR_GRAPH && src->g && !ba->ref_attr_name) {
      na->g = copy_graph(cp, g, nn, src->g, depth + 1);
      if (!na->g) {
        nn->n_attrs--;
        return drop_node(nn);
      }
    } else if (src->type == ATTR_GRAPHS && !ba->ref_attr_name) {
      na->graphs = src->n ? ir_arena_alloc(a, src->n * sizeof *na->graphs) : NULL;
      for (size_t q = 0; q < src->n; q++) {
        na->graphs[q] = src->graphs[q] ? copy_graph(cp, g, nn, src->graphs[q], depth + 1) : NULL;
        if (src->graphs[q] && !na->graphs[q]) {
          na->n = q; /* the copies made so far */
          return drop_node(nn);
        }
      }
    }
  }
  for (int j = 0; j < bn->n_inputs; j++) {
    if (!bn->inputs[j]) continue;
    Value *v = mapped(&cp->mp, bn->inputs[j]);
    if (!v) { /* an optional formal input the call left out */
      if (!pass_is_graph_input(b, bn->inputs[j])) return drop_node(nn);
      continue;
    }
    ir_node_set_input(nn, j, v);
  }
  for (int j = 0; j < bn->n_outputs; j++) {
    Value *bv = bn->outputs[j];
    if (!bv) continue;
    Value *v = NULL;
    for (int k = 0; depth == 0 && k < b->n_outputs && !v; k++)
      if (b->outputs[k] == bv && k < n->n_outputs) v = n->outputs[k];
    if (!v) {
      v = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_%s", cp->prefix, bv->name)),
                       bv->type);
      if (!v) return drop_node(nn);
    }
    ir_node_set_output(nn, j, v);
    if (bv->id < cp->mp.n) cp->mp.v[bv->id] = v;
  }
  return nn;
}

/* Inline call n (in g) of f; the new nodes are pushed to out. */
static bool inline_call(Model *m, Graph *g, Node *n, Function *f, NodeVec *out, int *serial) {
  Arena *a = &m->arena;
  Graph *b = f->body;
  Copy cp = {m, n, f, {calloc(m->next_value_id + 1, sizeof(Value *)), m->next_value_id}, NULL};
  if (!cp.mp.v) abort();
  for (int i = 0; i < b->n_inputs; i++)
    if (b->inputs[i] && b->inputs[i]->id < cp.mp.n)
      cp.mp.v[b->inputs[i]->id] = i < n->n_inputs ? n->inputs[i] : NULL;
  /* opsets the body needs that the model lacks */
  for (int i = 0; i < f->n_opsets; i++) {
    const char *dom =
        f->opsets[i].domain && strcmp(f->opsets[i].domain, "ai.onnx") ? f->opsets[i].domain : "";
    pass_ensure_opset(m, dom, f->opsets[i].version);
  }
  cp.prefix = n->name && *n->name ? n->name : ir_arena_printf(a, "%s%d", f->name, (*serial)++);
  bool ok = true;
  for (size_t i = 0; i < b->nodes.n && ok; i++) {
    Node *nn = copy_node(&cp, g, b->nodes.v[i], 0);
    if (nn) ir_vec_push(*out, nn);
    ok = nn != NULL;
  }
  /* outputs the body passes straight through from an input become Identity */
  for (int k = 0; ok && k < b->n_outputs && k < n->n_outputs; k++) {
    Value *bv = b->outputs[k], *cv = n->outputs[k];
    if (!bv || !cv || cv->producer != n) continue;
    Value *src = mapped(&cp.mp, bv);
    if (!src) {
      ok = false;
      break;
    }
    Node *id = ir_node_new(g, "", "Identity", 1, 1);
    id->graph = g;
    id->loc = n->loc;
    ir_node_set_input(id, 0, src);
    ir_node_set_output(id, 0, cv);
    ir_vec_push(*out, id);
  }
  free(cp.mp.v);
  return ok;
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
    " by inlined bodies are inlined in later rounds (`max-depth`). Subgraphs in the body are "
    "copied with it (nesting up to 64 deep). Functions whose bodies import another version of"
    " an opset the model imports are kept as calls. Functions nothing calls any more are "
    "dropped unless `keep-functions=1`.",
};

/* util.c - graph-editing helpers the passes share: walking every graph without recursion,
 * rewiring inputs with exact use lists, removing nodes, fresh names, new initializers and
 * attributes, MAC counts, model copies. */
#include "frontend.h"
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static void push_graph(Graph ***v, size_t *len, size_t *cap, Graph *g) {
  if (*len == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *v = realloc(*v, *cap * sizeof **v);
    if (!*v) abort();
  }
  (*v)[(*len)++] = g;
}

void pass_node_subgraphs(const Node *n, Graph ***v, size_t *len, size_t *cap) {
  for (int i = 0; i < n->n_attrs; i++) {
    const Attr *a = &n->attrs[i];
    if (a->ref_attr_name) continue;
    if (a->type == ATTR_GRAPH && a->g) push_graph(v, len, cap, a->g);
    if (a->type == ATTR_GRAPHS)
      for (size_t k = 0; k < a->n; k++)
        if (a->graphs[k]) push_graph(v, len, cap, a->graphs[k]);
  }
}

Graph **pass_graphs(Model *m, int *n, bool with_functions) {
  Graph **v = NULL;
  size_t len = 0, cap = 0;
  if (m->graph) push_graph(&v, &len, &cap, m->graph);
  if (with_functions)
    for (int i = 0; i < m->n_functions; i++)
      if (m->functions[i] && m->functions[i]->body)
        push_graph(&v, &len, &cap, m->functions[i]->body);
  /* breadth first: v grows while we walk it */
  for (size_t k = 0; k < len; k++) {
    Graph *g = v[k];
    for (size_t i = 0; i < g->nodes.n; i++)
      if (g->nodes.v[i]) pass_node_subgraphs(g->nodes.v[i], &v, &len, &cap);
  }
  *n = (int)len;
  return v;
}

static void unlink_use(Node *n, int i) {
  Value *v = n->inputs[i];
  if (!v) return;
  for (Use **p = &v->uses; *p; p = &(*p)->next)
    if ((*p)->node == n && (*p)->index == i) {
      *p = (*p)->next;
      break;
    }
  n->inputs[i] = NULL;
}

void pass_set_input(Node *n, int i, Value *v) {
  unlink_use(n, i);
  ir_node_set_input(n, i, v);
}

void pass_replace_uses(Model *m, Value *from, Value *to) {
  int ng;
  Graph **gs = pass_graphs(m, &ng, true);
  pass_replace_uses_in(gs, ng, from, to);
  free(gs);
}

void pass_replace_uses_in(Graph **gs, int ng, Value *from, Value *to) {
  if (from == to) return;
  /* collect first: pass_set_input edits the list we walk */
  size_t cnt = 0;
  for (Use *u = from->uses; u; u = u->next) cnt++;
  Use *list = cnt ? malloc(cnt * sizeof *list) : NULL;
  size_t k = 0;
  for (Use *u = from->uses; u; u = u->next) list[k++] = *u;
  for (k = 0; k < cnt; k++) pass_set_input(list[k].node, list[k].index, to);
  free(list);
  for (int i = 0; i < ng; i++)
    for (int j = 0; j < gs[i]->n_outputs; j++)
      if (gs[i]->outputs[j] == from) gs[i]->outputs[j] = to;
}

void pass_unlink_node(Node *n) {
  Graph **v = NULL;
  size_t len = 0, cap = 0;
  for (int i = 0; i < n->n_inputs; i++) unlink_use(n, i);
  pass_node_subgraphs(n, &v, &len, &cap);
  for (size_t k = 0; k < len; k++) {
    Graph *g = v[k];
    for (size_t i = 0; i < g->nodes.n; i++) {
      Node *s = g->nodes.v[i];
      if (!s) continue;
      for (int j = 0; j < s->n_inputs; j++) unlink_use(s, j);
      pass_node_subgraphs(s, &v, &len, &cap);
    }
  }
  free(v);
}

int pass_remove_nodes(Graph *g, const bool *dead) {
  int removed = 0;
  /* value_infos of values that disappear: their producers, by node id */
  uint32_t nid = g->model->next_node_id;
  uint8_t *gone = calloc(nid ? nid : 1, 1);
  if (!gone) abort();
  for (size_t i = 0; i < g->nodes.n; i++)
    if (dead[i] && g->nodes.v[i] && g->nodes.v[i]->id < nid) gone[g->nodes.v[i]->id] = 1;
  size_t w = 0;
  for (size_t i = 0; i < g->value_infos.n; i++) {
    Value *v = g->value_infos.v[i];
    if (v && v->producer && v->producer->graph == g && v->producer->id < nid &&
        gone[v->producer->id]) {
      v->has_value_info = false;
      continue;
    }
    g->value_infos.v[w++] = v;
  }
  g->value_infos.n = w;
  free(gone);
  w = 0;
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *n = g->nodes.v[i];
    if (dead[i]) {
      if (n) pass_unlink_node(n);
      removed++;
      continue;
    }
    g->nodes.v[w++] = n;
  }
  g->nodes.n = w;
  return removed;
}

bool pass_is_graph_output(const Graph *g, const Value *v) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) return true;
  return false;
}

bool pass_is_graph_input(const Graph *g, const Value *v) {
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == v) return true;
  return false;
}

int pass_use_count(const Value *v) {
  int n = 0;
  for (const Use *u = v->uses; u; u = u->next) n++;
  if (v->graph && pass_is_graph_output(v->graph, v)) n++;
  return n;
}

const Tensor *pass_const_data(const Value *v) {
  if (!v || !v->init || !v->init->has_data) return NULL; /* external data once loaded */
  if (v->graph && pass_is_graph_input(v->graph, v)) return NULL;
  return v->init;
}

const char *pass_fresh_name(Graph *g, const char *base) {
  Arena *a = &g->model->arena;
  if (!ir_graph_lookup(g, base)) return ir_arena_strdup(a, base);
  for (unsigned k = 1;; k++) {
    const char *s = ir_arena_printf(a, "%s_%u", base, k);
    if (!ir_graph_lookup(g, s)) return s;
  }
}

Value *pass_add_initializer(Graph *g, const char *base, Tensor *t) {
  const char *name = pass_fresh_name(g, base);
  Value *v = ir_value_new(g, name, NULL);
  if (!v) return NULL;
  t->name = name;
  v->init = t;
  ir_vec_push(g->initializers, v);
  return v;
}

void pass_ensure_opset(Model *m, const char *domain, int64_t version) {
  if (ir_model_opset(m, domain) >= 0) return;
  OpsetImport *o = ir_arena_alloc(&m->arena, (size_t)(m->n_opsets + 1) * sizeof *o);
  if (m->n_opsets) memcpy(o, m->opsets, (size_t)m->n_opsets * sizeof *o);
  o[m->n_opsets].domain = ir_arena_strdup(&m->arena, domain);
  o[m->n_opsets].version = version;
  m->opsets = o;
  m->n_opsets++;
}

static Attr *attr_slot(Node *n, const char *name, AttrType t) {
  Attr *a = ir_node_attr(n, name);
  if (!a) {
    Arena *ar = &n->graph->model->arena;
    Attr *v = ir_arena_alloc(ar, (size_t)(n->n_attrs + 1) * sizeof *v);
    if (n->n_attrs) memcpy(v, n->attrs, (size_t)n->n_attrs * sizeof *v);
    n->attrs = v;
    a = &v[n->n_attrs++];
    a->name = ir_arena_strdup(ar, name);
  }
  Attr keep = *a;
  memset(a, 0, sizeof *a);
  a->name = keep.name;
  a->loc = keep.loc;
  a->type = t;
  return a;
}

void pass_set_attr_float(Node *n, const char *name, float f) {
  attr_slot(n, name, ATTR_FLOAT)->f = f;
}
void pass_set_attr_int(Node *n, const char *name, int64_t i) {
  attr_slot(n, name, ATTR_INT)->i = i;
}
void pass_set_attr_string(Node *n, const char *name, const char *s) {
  Attr *a = attr_slot(n, name, ATTR_STRING);
  a->s = ir_str(&n->graph->model->arena, s, strlen(s));
}
void pass_set_attr_floats(Node *n, const char *name, const float *f, size_t count) {
  Attr *a = attr_slot(n, name, ATTR_FLOATS);
  a->n = count;
  a->floats = count ? ir_arena_dup(&n->graph->model->arena, f, count * sizeof *f) : NULL;
}
void pass_set_attr_ints(Node *n, const char *name, const int64_t *v, size_t count) {
  Attr *a = attr_slot(n, name, ATTR_INTS);
  a->n = count;
  a->ints = count ? ir_arena_dup(&n->graph->model->arena, v, count * sizeof *v) : NULL;
}

int pass_load_weights(Model *m, Diag *d) {
  int ng, missing = 0;
  Graph **gs = pass_graphs(m, &ng, false);
  char *buf = NULL;
  size_t len = 0;
  FILE *sink = open_memstream(&buf, &len);
  Diag quiet;
  ir_diag_init(&quiet, sink, NULL, NULL, 0);
  for (int k = 0; k < ng; k++)
    for (size_t i = 0; i < gs[k]->initializers.n; i++) {
      Value *v = gs[k]->initializers.v[i];
      Tensor *t = v ? v->init : NULL;
      if (t && t->n_external > 0 && !t->has_data && !ir_external_load(m, t, &quiet)) missing++;
    }
  fclose(sink);
  free(buf);
  free(gs);
  if (missing)
    ir_warning(d, ir_noloc,
               "%d initializers' external data could not be loaded; they count as unknown",
               missing);
  return missing;
}

void pass_compact_value_infos(Graph *g) {
  size_t w = 0;
  for (size_t i = 0; i < g->value_infos.n; i++)
    if (g->value_infos.v[i] && g->value_infos.v[i]->has_value_info)
      g->value_infos.v[w++] = g->value_infos.v[i];
  g->value_infos.n = w;
}

int pass_drop_nodes(Model *m, bool with_functions, bool (*visit)(PassVisit *v, Node *n), void *arg) {
  PassVisit v = {m, NULL, 0, NULL, arg};
  v.gs = pass_graphs(m, &v.ng, with_functions);
  int removed = 0;
  for (int k = 0; k < v.ng; k++) {
    v.g = v.gs[k];
    size_t n = v.g->nodes.n;
    bool *dead = calloc(n ? n : 1, sizeof *dead);
    if (!dead) abort();
    int nd = 0;
    for (size_t i = 0; i < n; i++)
      if (v.g->nodes.v[i] && visit(&v, v.g->nodes.v[i])) dead[i] = true, nd++;
    if (nd) {
      pass_compact_value_infos(v.g);
      pass_remove_nodes(v.g, dead);
    }
    removed += nd;
    free(dead);
  }
  free(v.gs);
  return removed;
}

bool pass_fold_grows(uint64_t in_bytes, uint64_t out_bytes, int64_t max_growth) {
  return in_bytes >= 128 && (int64_t)out_bytes > (int64_t)in_bytes + max_growth;
}

uint64_t pass_node_macs(Model *m, const Node *n) {
  if (!n || !n->op || !n->op->infer) return 0;
  FILE *sink = fopen("/dev/null", "w");
  if (!sink) return 0;
  Diag quiet;
  ir_diag_init(&quiet, sink, NULL, NULL, 0);
  const Type **in = calloc((size_t)n->n_inputs + 1, sizeof *in);
  const Tensor **data = calloc((size_t)n->n_inputs + 1, sizeof *data);
  Type **out = calloc((size_t)n->n_outputs + 1, sizeof *out);
  if (!in || !data || !out) abort();
  for (int j = 0; j < n->n_inputs; j++) {
    in[j] = n->inputs[j] ? n->inputs[j]->type : NULL;
    data[j] = pass_const_data(n->inputs[j]);
  }
  InferCtx ic = {n, n->op, in, data, out, &m->arena, &quiet, 0};
  uint64_t macs = n->op->infer(&ic) == 0 ? ic.macs : 0;
  free(in);
  free(data);
  free(out);
  fclose(sink);
  return macs;
}

uint64_t pass_model_macs(Model *m) {
  uint64_t total = 0;
  for (size_t i = 0; m->graph && i < m->graph->nodes.n; i++)
    total += pass_node_macs(m, m->graph->nodes.v[i]);
  return total;
}

Model *pass_model_clone(const Model *m, Diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  ExportOptions xo = {0};
  if (!fe_onnx_export(m, &xo, &buf, &len, d)) return NULL;
  Model *c = fe_onnx_import(buf, len, "<copy>", d);
  free(buf);
  if (c && m->base_dir) c->base_dir = ir_arena_strdup(&c->arena, m->base_dir);
  return c;
}

Model *pass_clone_per_sample(const Model *m, Diag *d) {
  Model *c = pass_model_clone(m, d);
  if (!c) return NULL;
  Graph *g = c->graph;
  for (int i = 0; i < g->n_inputs; i++) {
    const Type *t = g->inputs[i]->type;
    for (int k = 0; t && t->kind == TYPE_TENSOR && k < t->rank; k++)
      if (t->dims[k].param) {
        char *spec = ir_arena_printf(&c->arena, "%s=1", t->dims[k].param);
        pass_bind_dim(c, spec, d);
      }
  }
  if (ir_infer_model(c, d) == 0) return c;
  ir_model_free(c);
  return NULL;
}

uint64_t pass_macs_per_sample(const Model *m, Diag *d) {
  Model *c = pass_clone_per_sample(m, d);
  if (!c) return 0;
  uint64_t macs = pass_model_macs(c);
  ir_model_free(c);
  return macs;
}

/* dce.c - the `dce` pass: remove nodes whose outputs nothing needs, then initializers and
 * value_info entries nothing refers to. Graph outputs are the roots; a node holding
 * subgraphs keeps alive every outer value those subgraphs read. Iterative: graphs deepest
 * first, nodes in reverse topological order. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

typedef struct Dce {
  uint8_t *live; /* by value id */
  uint32_t n;
} Dce;

static void mark(Dce *s, const Value *v) {
  if (v && v->id < s->n) s->live[v->id] = 1;
}

/* Every value a node's subgraphs read (their node inputs and outputs, at any depth). */
static void mark_subgraph_refs(Dce *s, const Node *n) {
  Graph **v = NULL;
  size_t len = 0, cap = 0;
  pass_node_subgraphs(n, &v, &len, &cap);
  for (size_t k = 0; k < len; k++) {
    Graph *g = v[k];
    for (int i = 0; i < g->n_outputs; i++) mark(s, g->outputs[i]);
    for (size_t i = 0; i < g->nodes.n; i++) {
      const Node *x = g->nodes.v[i];
      if (!x) continue;
      for (int j = 0; j < x->n_inputs; j++) mark(s, x->inputs[j]);
      pass_node_subgraphs(x, &v, &len, &cap);
    }
  }
  free(v);
}

static int dce_graph(Dce *s, Graph *g, PassCtx *c) {
  for (int i = 0; i < g->n_outputs; i++) mark(s, g->outputs[i]);
  size_t n = g->nodes.n;
  bool *dead = calloc(n ? n : 1, sizeof *dead);
  if (!dead) abort();
  int ndead = 0;
  for (size_t k = n; k-- > 0;) {
    const Node *nd = g->nodes.v[k];
    if (!nd) continue;
    bool live = false;
    for (int j = 0; j < nd->n_outputs && !live; j++)
      live = nd->outputs[j] && nd->outputs[j]->id < s->n && s->live[nd->outputs[j]->id];
    if (!live) {
      dead[k] = true;
      ndead++;
      continue;
    }
    for (int j = 0; j < nd->n_inputs; j++) mark(s, nd->inputs[j]);
    mark_subgraph_refs(s, nd);
  }
  if (ndead) pass_remove_nodes(g, dead);
  free(dead);
  pass_stat(c, "nodes-removed", ndead);
  /* initializers nothing reads (graph inputs with a default stay: they are the interface) */
  size_t w = 0;
  int ninit = 0;
  for (size_t i = 0; i < g->initializers.n; i++) {
    Value *v = g->initializers.v[i];
    if (v && !v->uses && !pass_is_graph_output(g, v) && !pass_is_graph_input(g, v) &&
        !(v->id < s->n && s->live[v->id])) {
      v->has_value_info = false; /* compacted below */
      ninit++;
      continue;
    }
    g->initializers.v[w++] = v;
  }
  g->initializers.n = w;
  if (ninit) pass_compact_value_infos(g);
  pass_stat(c, "initializers-removed", ninit);
  /* value_info entries of values no longer defined in this graph */
  w = 0;
  int nvi = 0;
  uint32_t nid = g->model->next_node_id;
  uint8_t *here = calloc(nid ? nid : 1, 1);
  if (!here) abort();
  for (size_t j = 0; j < g->nodes.n; j++)
    if (g->nodes.v[j] && g->nodes.v[j]->id < nid) here[g->nodes.v[j]->id] = 1;
  for (size_t i = 0; i < g->value_infos.n; i++) {
    Value *v = g->value_infos.v[i];
    bool defined = v && (v->producer || v->init || v->sparse_init || pass_is_graph_input(g, v));
    if (v && v->producer)
      defined = v->producer->graph == g && v->producer->id < nid && here[v->producer->id];
    if (!defined) {
      if (v) v->has_value_info = false;
      nvi++;
      continue;
    }
    g->value_infos.v[w++] = v;
  }
  g->value_infos.n = w;
  free(here);
  pass_stat(c, "value-infos-removed", nvi);
  return 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  int ng;
  Graph **gs = pass_graphs(m, &ng, true);
  Dce s = {calloc(m->next_value_id ? m->next_value_id : 1, 1), m->next_value_id};
  if (!s.live) abort();
  /* pass_graphs lists parents before subgraphs: walk it backwards (deepest first), so a
   * subgraph is cleaned before its holder decides what the subgraph reads */
  for (int k = ng; k-- > 0;) dce_graph(&s, gs[k], c);
  free(s.live);
  free(gs);
  return 0;
}

const Pass pass_dce = {
    "dce",
    "remove dead nodes, unused initializers and stale value_info entries",
    NULL,
    0,
    run,
    0,
    "Graph outputs are the roots; a node holding subgraphs keeps alive every outer value its "
    "subgraphs read. Graphs are processed deepest first, nodes in reverse topological order, "
    "so one sweep suffices and nothing recurses. Then initializers nothing reads (those that "
    "are graph inputs stay: they are the interface) and value_info entries of values that no "
    "longer exist are removed.",
};

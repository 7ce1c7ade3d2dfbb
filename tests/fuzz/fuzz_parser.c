/* fuzz_parser.c - libFuzzer harness for the ONNX text parser: fe_parse on the input (copied
 * into a buffer with the two trailing NULs the scanner needs); whatever parses must be a
 * consistent IR (producers, uses, initializers, tensor sizes), and is then freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static FILE *devnull;

static void check_tensor(const Tensor *t) {
  if (!t) abort();
  if (!t->has_data) return;
  uint64_t n;
  size_t nbytes;
  if (!ir_tensor_numel(t, &n) || !ir_elem_nbytes(t->elem, n, &nbytes) || nbytes != t->nbytes || !t->data)
    abort();
}

static void check_graph(const Graph *g) {
  for (int i = 0; i < g->n_inputs; i++)
    if (!g->inputs[i]) abort();
  for (size_t i = 0; i < g->initializers.n; i++) check_tensor(g->initializers.v[i]->init);
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    if (n->graph != g || !n->op_type || !n->domain) abort();
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] && (n->outputs[k]->producer != n || n->outputs[k]->producer_index != k)) abort();
    for (int k = 0; k < n->n_inputs; k++) {
      if (!n->inputs[k]) continue;
      const Use *u = n->inputs[k]->uses;
      while (u && !(u->node == n && u->index == k)) u = u->next;
      if (!u) abort();
    }
    for (int k = 0; k < n->n_attrs; k++) {
      const Attr *a = &n->attrs[k];
      if (a->type == ATTR_TENSOR && !a->ref_attr_name) check_tensor(a->t);
      if (a->type == ATTR_GRAPH && !a->ref_attr_name && (!a->g || a->g->parent != g || a->g->parent_node != n))
        abort();
      if (a->type == ATTR_TENSORS)
        for (size_t j = 0; j < a->n; j++) check_tensor(a->tensors[j]);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!devnull) devnull = fopen("/dev/null", "w");
  char *buf = malloc(size + 2);
  if (!buf) return 0;
  if (size) memcpy(buf, data, size);
  buf[size] = buf[size + 1] = 0;
  Diag d;
  ir_diag_init(&d, devnull, "fuzz.onnxtxt", buf, size);
  Model *m = fe_parse("fuzz.onnxtxt", buf, size, &d);
  if (m) {
    if (d.errors || !m->graph) abort();
    /* every graph, subgraphs included, with an explicit stack */
    const Graph *stack[4096];
    int sp = 0;
    stack[sp++] = m->graph;
    for (int i = 0; i < m->n_functions && sp < 4096; i++) stack[sp++] = m->functions[i]->body;
    while (sp) {
      const Graph *g = stack[--sp];
      check_graph(g);
      for (size_t i = 0; i < g->nodes.n; i++)
        for (int k = 0; k < g->nodes.v[i]->n_attrs; k++) {
          const Attr *a = &g->nodes.v[i]->attrs[k];
          if (a->ref_attr_name) continue; /* value members share storage: test the type */
          if (a->type == ATTR_GRAPH && a->g && sp < 4096) stack[sp++] = a->g;
          if (a->type == ATTR_GRAPHS)
            for (size_t j = 0; a->graphs && j < a->n && sp < 4096; j++) stack[sp++] = a->graphs[j];
        }
    }
  } else if (!d.errors) {
    abort(); /* a failure is always explained */
  }
  ir_model_free(m);
  free(buf);
  return 0;
}

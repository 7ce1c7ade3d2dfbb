/* testutil.h - helpers shared by the cmocka unit tests (tests/unit/test_*.c; never the library):
 * a Diag that writes to memory, reading a whole file, temporary directories, little-endian
 * bytes, and builders for small hand-made graphs. All static inline: a test uses what it needs. */
#ifndef EFFC_TESTUTIL_H
#define EFFC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

/* ------------------------------------------------------------------ captured output */

/* A Diag writing to memory: cap_text is what was reported so far. The stream (fp) also
 * serves as a plain output buffer: cap_take closes it and hands its text to the caller. */
typedef struct Cap {
  Diag d;
  FILE *fp;
  char *buf;
  size_t n;
} Cap;

/* `file` names the input in the messages ("file:line:col: error: ..."); NULL for none. */
static inline void cap_init_file(Cap *c, const char *file) {
  c->buf = NULL;
  c->n = 0;
  c->fp = open_memstream(&c->buf, &c->n);
  assert_non_null(c->fp);
  ir_diag_init(&c->d, c->fp, file, NULL, 0);
}
static inline void cap_init(Cap *c) {
  cap_init_file(c, NULL);
}
static inline const char *cap_text(Cap *c) {
  fflush(c->fp);
  return c->buf ? c->buf : "";
}
static inline void cap_free(Cap *c) {
  fclose(c->fp);
  free(c->buf);
}
/* Close the stream and return its text (malloc'd: the caller frees it). */
static inline char *cap_take(Cap *c) {
  fclose(c->fp);
  return c->buf;
}

/* ------------------------------------------------------------------ files */

/* The whole file (malloc'd, one spare byte at the end); its size in *len. */
static inline void *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* A fresh directory from a mkdtemp template ("/tmp/name-XXXXXX") copied into dir: 0, or -1
 * if it could not be made (a cmocka group setup's return value). */
static inline int tmpdir_make(char *dir, size_t size, const char *tmpl) {
  snprintf(dir, size, "%s", tmpl);
  return mkdtemp(dir) ? 0 : -1;
}
/* Remove dir and everything in it: system()'s status, 0 when it worked. */
static inline int tmpdir_remove(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

/* v as n little-endian bytes at p. */
static inline void le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------------ graph builders */

/* Name lists for add_node: NAMES("a", "", "b") ("" is a missing input/output), NONE. */
#define NAMES(...) ((const char *[]){__VA_ARGS__, NULL})
#define NONE ((const char *[]){NULL})

/* Define `name` in g and append it to g's inputs; t may be NULL (no type). */
/* ONNX text parsed and verified into a model (the diagnostics are printed on failure). */
static inline Model *parse_verified(const char *txt) {
  size_t n = strlen(txt);
  char *buf = calloc(n + 2, 1); /* the scanner reads two NULs past the end */
  memcpy(buf, txt, n);
  Cap c;
  cap_init(&c);
  Model *m = fe_parse("t", buf, n, &c.d);
  if (!m || ir_verify(m, &c.d)) fprintf(stderr, "%s", cap_text(&c));
  assert_non_null(m);
  cap_free(&c);
  free(buf);
  return m;
}

static inline Value *add_input(Graph *g, const char *name, Type *t) {
  Value *v = ir_graph_def(g, name, ir_noloc);
  assert_non_null(v);
  v->type = t;
  Value **in = ir_arena_alloc(&g->model->arena, sizeof *in * (size_t)(g->n_inputs + 1));
  if (g->n_inputs) memcpy(in, g->inputs, sizeof *in * (size_t)g->n_inputs);
  in[g->n_inputs++] = v;
  g->inputs = in;
  return v;
}

/* Append `name` (resolved through g and its enclosing graphs; a name nothing defines becomes an
 * undefined value, for the verifier to report) to g's outputs; a non-NULL t sets its type. */
static inline void add_output(Graph *g, const char *name, Type *t) {
  Value *v = ir_graph_use(g, name, ir_noloc);
  assert_non_null(v);
  if (t) v->type = t;
  Value **out = ir_arena_alloc(&g->model->arena, sizeof *out * (size_t)(g->n_outputs + 1));
  if (g->n_outputs) memcpy(out, g->outputs, sizeof *out * (size_t)g->n_outputs);
  out[g->n_outputs++] = v;
  g->outputs = out;
}

/* Append a node domain.op (in, out: NAMES lists; "" is a missing input/output). */
static inline Node *add_node(Graph *g, const char *dom, const char *op, const char **in,
                             const char **out) {
  int ni = 0, no = 0;
  while (in[ni]) ni++;
  while (out[no]) no++;
  Node *n = ir_node_new(g, dom, op, ni, no);
  for (int i = 0; i < ni; i++)
    ir_node_set_input(n, i, in[i][0] ? ir_graph_use(g, in[i], ir_noloc) : NULL);
  for (int i = 0; i < no; i++) {
    if (!out[i][0]) continue;
    Value *v = ir_graph_def(g, out[i], ir_noloc);
    assert_non_null(v);
    ir_node_set_output(n, i, v);
  }
  ir_node_append(g, n);
  return n;
}

/* Append an attribute (zeroed but for name and type) to n. */
static inline Attr *add_attr(Node *n, const char *name, AttrType t) {
  Arena *a = &n->graph->model->arena;
  Attr *at = ir_arena_alloc(a, sizeof *at * (size_t)(n->n_attrs + 1));
  if (n->n_attrs) memcpy(at, n->attrs, sizeof *at * (size_t)n->n_attrs);
  n->attrs = at;
  Attr *r = &at[n->n_attrs++];
  r->name = name;
  r->type = t;
  return r;
}

/* A new graph `name` nested in holder's graph, linked back to holder; attached as holder's
 * graph attribute `attr`, or not at all if attr is NULL (the caller places it). */
static inline Graph *sub_graph(Node *holder, const char *attr, const char *name) {
  Graph *g = ir_graph_new(holder->graph->model, holder->graph, name);
  g->parent_node = holder;
  if (attr) add_attr(holder, attr, ATTR_GRAPH)->g = g;
  return g;
}

#endif

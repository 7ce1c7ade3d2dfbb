/* test_dot.c - the Graphviz writer: escaping of odd names (quotes, backslashes, newlines,
 * unicode, invalid UTF-8), shapes for inputs/initializers/outputs, subgraph clusters, and
 * Graphviz's own `dot -Tsvg` accepting the output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir.h"

static Value *add_input(Graph *g, const char *name, Type *t) {
  Value *v = ir_graph_def(g, name, ir_noloc);
  assert_non_null(v);
  v->type = t;
  Value **in = ir_arena_alloc(&g->model->arena, sizeof *in * (size_t)(g->n_inputs + 1));
  if (g->n_inputs) memcpy(in, g->inputs, sizeof *in * (size_t)g->n_inputs);
  in[g->n_inputs++] = v;
  g->inputs = in;
  return v;
}

static void add_output(Graph *g, const char *name) {
  Value *v = ir_graph_use(g, name, ir_noloc);
  Value **out = ir_arena_alloc(&g->model->arena, sizeof *out * (size_t)(g->n_outputs + 1));
  if (g->n_outputs) memcpy(out, g->outputs, sizeof *out * (size_t)g->n_outputs);
  out[g->n_outputs++] = v;
  g->outputs = out;
}

#define NAMES(...) ((const char *[]){__VA_ARGS__, NULL})

static Node *add_node(Graph *g, const char *dom, const char *op, const char **in,
                      const char **out) {
  int ni = 0, no = 0;
  while (in[ni]) ni++;
  while (out[no]) no++;
  Node *n = ir_node_new(g, dom, op, ni, no);
  for (int i = 0; i < ni; i++)
    ir_node_set_input(n, i, in[i][0] ? ir_graph_use(g, in[i], ir_noloc) : NULL);
  for (int i = 0; i < no; i++) ir_node_set_output(n, i, ir_graph_def(g, out[i], ir_noloc));
  ir_node_append(g, n);
  return n;
}

static Graph *sub_graph(Node *holder, const char *attr, const char *name) {
  Arena *a = &holder->graph->model->arena;
  Attr *at = ir_arena_alloc(a, sizeof *at * (size_t)(holder->n_attrs + 1));
  if (holder->n_attrs) memcpy(at, holder->attrs, sizeof *at * (size_t)holder->n_attrs);
  holder->attrs = at;
  Attr *r = &at[holder->n_attrs++];
  r->name = attr;
  r->type = ATTR_GRAPH;
  r->g = ir_graph_new(holder->graph->model, holder->graph, name);
  r->g->parent_node = holder;
  return r->g;
}

static char *dot_text(const Model *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  assert_int_equal(ir_dot_model(f, m), 0);
  fclose(f);
  return buf;
}

static int count(const char *s, const char *sub) {
  int n = 0;
  for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) n++;
  return n;
}

/* Run `dot -Tsvg` on the text; -1 when Graphviz is not installed. */
static int run_dot(const char *text) {
  if (system("command -v dot >/dev/null 2>&1") != 0) return -1;
  char path[] = "/tmp/effc_test_dot_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t len = strlen(text);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o /dev/null 2>/tmp/effc_test_dot_err", path);
  int rc = system(cmd);
  unlink(path);
  if (rc != 0) system("cat /tmp/effc_test_dot_err >&2");
  /* dot may warn (to stderr) without failing; a warning about the input is a failure too */
  FILE *e = fopen("/tmp/effc_test_dot_err", "r");
  long errlen = 0;
  if (e) {
    fseek(e, 0, SEEK_END);
    errlen = ftell(e);
    fclose(e);
  }
  unlink("/tmp/effc_test_dot_err");
  return WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && errlen == 0 ? 0 : 1;
}

static Model *odd_model(void) {
  Model *m = ir_model_new();
  Graph *g = m->graph = ir_graph_new(m, NULL, "main \"graph\"");
  int64_t d2 = 2;
  add_input(g, "in\"quote", ir_type_tensor(&m->arena, ELEM_FLOAT, 1, &d2));
  Type *sym = ir_type_tensor(&m->arena, ELEM_FLOAT, 1, NULL);
  sym->dims[0].param = "batch \"size\"";
  add_input(g, "back\\slash", sym);
  add_input(g, "ünïcödé→λ", NULL);
  add_input(g, "new\nline", NULL);
  add_input(g, "bad\xff\xfeutf8", NULL);
  Value *w = ir_graph_def(g, "w{init}", ir_noloc);
  w->init = ir_tensor_new(&m->arena, ELEM_FLOAT, 1, &d2);
  assert_true(ir_tensor_alloc_data(&m->arena, w->init));
  ir_vec_push(g->initializers, w);
  add_node(g, "", "Add", NAMES("in\"quote", "back\\slash"), NAMES("s"));
  Node *n =
      add_node(g, "com.x", "Weird\\Op",
               NAMES("s", "w{init}", "ünïcödé→λ", "new\nline", "bad\xff\xfeutf8"), NAMES("t"));
  n->name = "node \"one\"";
  add_input(g, "cond", NULL);
  Node *iff = add_node(g, "", "If", NAMES("cond"), NAMES("r"));
  Graph *then = sub_graph(iff, "then_branch", "then \\ branch");
  Node *inner = add_node(then, "", "Loop", NAMES("t"), NAMES("u"));
  Graph *body = sub_graph(inner, "body", "body");
  add_node(body, "", "Neg", NAMES("s"), NAMES("v"));
  add_output(body, "v");
  add_output(then, "u");
  Graph *els = sub_graph(iff, "else_branch", "else");
  add_output(els, "t");
  add_node(g, "", "Identity", NAMES("ghost"), NAMES("y")); /* undefined use */
  add_output(g, "r");
  add_output(g, "y");
  return m;
}

static void test_dot_escaping(void **state) {
  (void)state;
  Model *m = odd_model();
  char *txt = dot_text(m);
  const char *head = "digraph \"main \\\"graph\\\"\" {\n";
  assert_true(!strncmp(txt, head, strlen(head)));
  assert_non_null(strstr(txt, "label=\"in\\\"quote\\nfloat[2]\""));
  assert_non_null(
      strstr(txt, "label=\"back\\\\slash\\nfloat[\\\"batch \\\\\\\"size\\\\\\\"\\\"]\""));
  assert_non_null(strstr(txt, "ünïcödé→λ"));
  assert_non_null(strstr(txt, "new\\nline"));
  assert_non_null(strstr(txt, "bad??utf8"));
  assert_non_null(strstr(txt, "label=\"com.x.Weird\\\\Op\\nnode \\\"one\\\"\""));
  /* clusters nest: then_branch holds the Loop's body */
  assert_int_equal(count(txt, "subgraph cluster_"), 3);
  const char *c1 = strstr(txt, "subgraph cluster_1");
  const char *c2 = strstr(txt, "subgraph cluster_2");
  const char *c3 = strstr(txt, "subgraph cluster_3");
  assert_true(c1 && c2 && c3 && c1 < c2 && c2 < c3);
  assert_non_null(strstr(txt, "label=\"then_branch of If: then \\\\ branch\""));
  /* inputs, initializer, undefined use, outputs: one shape each */
  assert_int_equal(count(txt, "shape=ellipse, style=\"filled\", fillcolor=lightblue"), 6);
  assert_int_equal(count(txt, "fillcolor=lightgrey"), 1);
  assert_int_equal(count(txt, "fillcolor=mistyrose"), 1);
  assert_int_equal(count(txt, "shape=doubleoctagon"), 5); /* r, y, u, v, t */
  /* edges: Add 2, Weird 5, If 1, Loop 1, Neg 1, Identity 1, outputs 5 */
  assert_int_equal(count(txt, " -> "), 16);
  int rc = run_dot(txt);
  if (rc < 0) {
    free(txt);
    ir_model_free(m);
    skip();
  }
  assert_int_equal(rc, 0);
  free(txt);
  ir_model_free(m);
}

static void test_dot_empty_and_plain(void **state) {
  (void)state;
  Model *m = ir_model_new();
  char *txt = dot_text(m);
  assert_string_equal(
      txt, "digraph \"model\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
           "  edge [fontname=\"Helvetica\", fontsize=8];\n}\n");
  free(txt);
  m->graph = ir_graph_new(m, NULL, "g");
  add_input(m->graph, "x", NULL);
  add_node(m->graph, "", "Relu", NAMES("x"), NAMES("y"));
  add_output(m->graph, "y");
  txt = dot_text(m);
  assert_non_null(
      strstr(txt, "  v0 [shape=ellipse, style=\"filled\", fillcolor=lightblue, label=\"x\"];\n"));
  assert_non_null(strstr(txt, "  n0 [shape=box, label=\"Relu\"];\n"));
  assert_non_null(strstr(txt, "  v0 -> n0 [label=\"x\"];\n"));
  assert_non_null(strstr(txt, "  n0 -> o0_0 [label=\"y\"];\n"));
  int rc = run_dot(txt);
  free(txt);
  ir_model_free(m);
  if (rc >= 0) assert_int_equal(rc, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dot_escaping),
      cmocka_unit_test(test_dot_empty_and_plain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

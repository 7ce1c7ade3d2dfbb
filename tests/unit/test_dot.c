/* test_dot.c - the Graphviz writer: escaping of odd names (quotes, backslashes, newlines,
 * unicode, invalid UTF-8), shapes for inputs/initializers/outputs, subgraph clusters, and
 * Graphviz's own `dot -Tsvg` accepting the output. */
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char *dot_text(const Model *m) {
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_dot_model(c.fp, m), 0);
  return cap_take(&c);
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
  add_output(body, "v", NULL);
  add_output(then, "u", NULL);
  Graph *els = sub_graph(iff, "else_branch", "else");
  add_output(els, "t", NULL);
  add_node(g, "", "Identity", NAMES("ghost"), NAMES("y")); /* undefined use */
  add_output(g, "r", NULL);
  add_output(g, "y", NULL);
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
  add_output(m->graph, "y", NULL);
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

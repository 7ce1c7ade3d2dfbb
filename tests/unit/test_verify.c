/* test_verify.c - the structural verifier: clean models pass; each broken rule (undefined
 * values, order, scopes, bookkeeping, attributes, opsets, functions, tensor sizes, types)
 * is reported with its message; deep nesting and long graphs are handled without recursion. */
#include "testutil.h"

/* ------------------------------------------------------------------ helpers */

static Model *new_model(void) {
  Model *m = ir_model_new();
  m->has_ir_version = true;
  m->ir_version = 9;
  m->n_opsets = 2;
  m->opsets = ir_arena_alloc(&m->arena, 2 * sizeof *m->opsets);
  m->opsets[0] = (OpsetImport){"", 21};
  m->opsets[1] = (OpsetImport){"local", 1};
  m->graph = ir_graph_new(m, NULL, "g");
  return m;
}

static Type *fty(Model *m, int64_t n) {
  return ir_type_tensor(&m->arena, ELEM_FLOAT, 1, &n);
}

/* A clean base: x -> Relu -> y -> Neg -> z. */
static Model *base(void) {
  Model *m = new_model();
  Graph *g = m->graph;
  add_input(g, "x", fty(m, 4));
  add_node(g, "", "Relu", NAMES("x"), NAMES("y"));
  add_node(g, "", "Neg", NAMES("y"), NAMES("z"));
  add_output(g, "z", NULL);
  return m;
}

/* base() with an If on a new input c (output r); its subgraph 'then' (attribute 'body') is
 * returned in *then, empty. */
static Model *base_with_if(Graph **then) {
  Model *m = base();
  add_input(m->graph, "c", NULL);
  Node *iff = add_node(m->graph, "", "If", NAMES("c"), NAMES("r"));
  *then = sub_graph(iff, "body", "then");
  return m;
}

static char *dtext;
static size_t dlen;

/* Verify, returning the error count; the messages land in dtext. */
static int verify(Model *m) {
  free(dtext);
  dtext = NULL;
  FILE *f = open_memstream(&dtext, &dlen);
  Diag d;
  ir_diag_init(&d, f, "t.onnx", NULL, 0);
  d.max_errors = 1000;
  int n = ir_verify(m, &d);
  fclose(f);
  assert_int_equal(n, d.errors);
  return n;
}

static void expect_error(Model *m, int count, const char *msg) {
  int n = verify(m);
  if (n != count || !strstr(dtext, msg))
    fprintf(stderr, "want %d x '%s', got %d:\n%s", count, msg, n, dtext);
  assert_int_equal(n, count);
  assert_non_null(strstr(dtext, msg));
  ir_model_free(m);
}

/* ------------------------------------------------------------------ tests */

static void test_clean(void **state) {
  (void)state;
  Model *m = base();
  assert_int_equal(verify(m), 0);
  ir_model_free(m);
}

static void test_undefined(void **state) {
  (void)state;
  Model *m = base();
  Node *n = add_node(m->graph, "", "Add", NAMES("z", "ghost"), NAMES("w"));
  add_node(m->graph, "", "Add", NAMES("w", "ghost"), NAMES("w2"));
  (void)n;
  /* reported once, though used twice */
  expect_error(m, 1,
               "t.onnx: error: use of undefined value 'ghost' (graph 'g', node 2 of type Add)");

  m = base();
  Value *o = ir_graph_use(m->graph, "never", ir_noloc);
  m->graph->outputs[0] = o;
  expect_error(m, 1, "graph output 'never' is never defined");
}

static void test_located_error(void **state) {
  (void)state;
  Model *m = base();
  Node *n = ir_node_new(m->graph, "", "Add", 2, 1);
  SrcLoc loc = {7, 12};
  ir_node_set_input(n, 0, ir_graph_use(m->graph, "z", loc));
  ir_node_set_input(n, 1, ir_graph_use(m->graph, "nope", loc));
  ir_node_set_output(n, 0, ir_graph_def(m->graph, "w", loc));
  n->loc = loc;
  ir_node_append(m->graph, n);
  /* a source location replaces the "(graph ..., node ...)" context */
  expect_error(m, 1, "t.onnx:7:12: error: use of undefined value 'nope'\n");
}

static void test_topological_order(void **state) {
  (void)state;
  Model *m = base();
  Graph *g = m->graph;
  /* swap the two nodes: Neg now uses y before Relu produces it */
  Node *t = g->nodes.v[0];
  g->nodes.v[0] = g->nodes.v[1];
  g->nodes.v[1] = t;
  expect_error(m, 1,
               "value 'y' is used before it is produced (by node 1): nodes are not in topological "
               "order (graph 'g', node 0 of type Neg)");
}

static void test_outer_order(void **state) {
  (void)state;
  Graph *b;
  Model *m = base_with_if(&b);
  add_node(b, "", "Identity", NAMES("late"), NAMES("o"));
  add_output(b, "o", NULL);
  /* 'late' is defined in the outer graph after the If */
  Value *late_in_sub = ir_graph_lookup_local(b, "late");
  assert_non_null(late_in_sub); /* the builder made an undefined placeholder in b */
  expect_error(m, 1, "use of undefined value 'late'");

  m = base();
  Graph *g = m->graph;
  add_input(g, "c", NULL);
  Node *iff = ir_node_new(g, "", "If", 1, 1);
  ir_node_set_input(iff, 0, ir_graph_lookup(g, "c"));
  b = sub_graph(iff, "body", "then");
  ir_node_append(g, iff);
  add_node(g, "", "Abs", NAMES("z"), NAMES("late"));
  ir_node_set_output(iff, 0, ir_graph_def(g, "r", ir_noloc));
  /* the subgraph refers to the (now defined) outer value directly */
  Node *id = ir_node_new(b, "", "Identity", 1, 1);
  ir_node_set_input(id, 0, ir_graph_lookup(g, "late"));
  ir_node_set_output(id, 0, ir_graph_def(b, "o", ir_noloc));
  ir_node_append(b, id);
  add_output(b, "o", NULL);
  expect_error(
      m, 1,
      "value 'late' of graph 'g' is used in a subgraph of node 2, but is produced later (node 3)");

  /* the subgraph uses the output of its own node */
  m = base_with_if(&b);
  add_node(b, "", "Identity", NAMES("r"), NAMES("o"));
  add_output(b, "o", NULL);
  expect_error(m, 1, "is produced by that node");
}

static void test_ssa_across_scopes(void **state) {
  (void)state;
  Graph *b;
  Model *m = base_with_if(&b);
  add_node(b, "", "Neg", NAMES("x"), NAMES("y")); /* y is defined outside */
  add_output(b, "y", NULL);
  expect_error(
      m, 1, "'y' is already defined in an enclosing graph: a subgraph may not redefine it (SSA)");

  /* a subgraph input may shadow an outer name (ONNX's checker allows it) */
  m = base();
  Graph *g = m->graph;
  add_input(g, "c", NULL);
  Node *iff = add_node(g, "", "Loop", NAMES("c"), NAMES("r"));
  b = sub_graph(iff, "body", "body");
  add_input(b, "x", fty(m, 4));
  add_node(b, "", "Neg", NAMES("x"), NAMES("o"));
  add_output(b, "o", NULL);
  assert_int_equal(verify(m), 0);
  ir_model_free(m);
}

static void test_bookkeeping(void **state) {
  (void)state;
  Model *m = base();
  Value *y = ir_graph_lookup(m->graph, "y");
  y->producer = m->graph->nodes.v[1];
  /* Relu's output names another producer, and Neg now seems to produce its own input */
  expect_error(m, 2, "output 0 'y' does not record this node as its producer");

  m = base();
  Node *neg = m->graph->nodes.v[1];
  neg->inputs[0] = ir_graph_lookup(m->graph, "x"); /* bypasses ir_node_set_input */
  assert_int_equal(verify(m), 2);
  assert_non_null(strstr(dtext, "use list of value 'x' has fewer entries"));
  assert_non_null(
      strstr(dtext, "use list of value 'y' names a node input that does not refer to it"));
  ir_model_free(m);

  Graph *b;
  m = base_with_if(&b);
  b->parent_node = NULL;
  add_node(b, "", "Identity", NAMES("x"), NAMES("o"));
  add_output(b, "o", NULL);
  expect_error(m, 1,
               "subgraph 'then' of attribute 'body' does not link back to its node and graph");
}

static void test_attributes(void **state) {
  (void)state;
  Model *m = base();
  Node *n = m->graph->nodes.v[0];
  add_attr(n, "alpha", ATTR_FLOAT);
  add_attr(n, "alpha", ATTR_INT);
  expect_error(m, 1, "attribute 'alpha' is given more than once");

  m = base();
  n = m->graph->nodes.v[0];
  Attr *a = add_attr(n, "axes", ATTR_INTS);
  a->n = 3; /* no array */
  expect_error(m, 1, "attribute 'axes' of type ints has 3 elements but no array");

  m = base();
  n = m->graph->nodes.v[0];
  a = add_attr(n, "t", ATTR_TENSOR);
  expect_error(m, 1, "attribute 't' has no tensor");

  m = base();
  n = m->graph->nodes.v[0];
  a = add_attr(n, "k", (AttrType)99);
  expect_error(m, 1, "attribute 'k' has no valid type (99)");

  m = base();
  n = m->graph->nodes.v[0];
  a = add_attr(n, "alpha", ATTR_FLOAT);
  a->ref_attr_name = "alpha";
  expect_error(m, 1, "attribute 'alpha' refers to '@alpha' outside a function body");

  /* many attributes: the sorted duplicate check */
  m = base();
  n = m->graph->nodes.v[0];
  char *names = ir_arena_alloc(&m->arena, 40 * 8);
  for (int i = 0; i < 40; i++) {
    snprintf(names + 8 * i, 8, "a%d", i % 39);
    add_attr(n, names + 8 * i, ATTR_INT);
  }
  expect_error(m, 1, "attribute 'a0' is given more than once");
}

static void test_opsets(void **state) {
  (void)state;
  Model *m = base();
  add_node(m->graph, "com.other", "Foo", NAMES("z"), NAMES("w"));
  add_node(m->graph, "ai.onnx", "Abs", NAMES("w"), NAMES("w2")); /* same as "" */
  expect_error(m, 1,
               "domain 'com.other' of operator 'Foo' is not imported by the model's opset_import");
}

static Function *add_function(Model *m, const char *name, const char *param) {
  Function *f = ir_arena_alloc(&m->arena, sizeof *f);
  f->name = name;
  f->domain = "local";
  f->n_opsets = 1;
  f->opsets = ir_arena_alloc(&m->arena, sizeof *f->opsets);
  f->opsets[0] = (OpsetImport){"", 21};
  if (param) {
    f->n_attr_names = 1;
    f->attr_names = ir_arena_alloc(&m->arena, sizeof *f->attr_names);
    f->attr_names[0] = param;
  }
  Graph *b = f->body = ir_graph_new(m, NULL, name);
  b->function = f;
  add_input(b, "a", NULL);
  Node *k = add_node(b, "", "Constant", NONE, NAMES("k"));
  Attr *ka = add_attr(k, "value_float", ATTR_FLOAT);
  ka->ref_attr_name = "alpha";
  add_node(b, "", "Mul", NAMES("k", "a"), NAMES("c"));
  add_output(b, "c", NULL);
  Function **fs = ir_arena_alloc(&m->arena, sizeof *fs * (size_t)(m->n_functions + 1));
  if (m->n_functions) memcpy(fs, m->functions, sizeof *fs * (size_t)m->n_functions);
  fs[m->n_functions++] = f;
  m->functions = fs;
  return f;
}

static void test_functions(void **state) {
  (void)state;
  Model *m = base();
  add_function(m, "scale", "alpha");
  add_node(m->graph, "local", "scale", NAMES("z"), NAMES("w"));
  assert_int_equal(verify(m), 0);
  ir_model_free(m);

  m = base();
  add_function(m, "scale", "beta");
  expect_error(m, 1,
               "attribute 'value_float' refers to '@alpha', which is not a parameter of function "
               "'scale' (function 'scale', node 0 of type Constant)");

  m = base();
  Function *f = add_function(m, "scale", "alpha");
  f->n_opsets = 0;
  expect_error(m, 2,
               "domain '' of operator 'Constant' is not imported by the function's opset_import");

  m = base();
  add_function(m, "scale", "alpha");
  add_function(m, "scale", "alpha");
  expect_error(m, 1, "function 'local.scale' is defined more than once");

  m = base();
  add_function(m, "scale", "alpha");
  Node *n = add_node(m->graph, "local", "scale", NAMES("z"), NAMES("w"));
  n->overload = "v9";
  expect_error(m, 1, "no function 'local.scale:v9' in the model");
}

static void test_tensors(void **state) {
  (void)state;
  Model *m = base();
  Value *w = add_input(m->graph, "w", fty(m, 3));
  w->init = ir_tensor_new(&m->arena, ELEM_FLOAT, 1, (int64_t[]){3});
  w->init->data = ir_arena_alloc(&m->arena, 8);
  w->init->nbytes = 8;
  w->init->has_data = true;
  ir_vec_push(m->graph->initializers, w);
  expect_error(m, 1, "initializer 'w' holds 8 bytes of data, but 3 elements of float need 12");

  m = base();
  Value *k = ir_graph_def(m->graph, "k", ir_noloc);
  k->init = ir_tensor_new(&m->arena, ELEM_INT4, 1, (int64_t[]){3});
  assert_true(ir_tensor_alloc_data(&m->arena, k->init));
  assert_int_equal(k->init->nbytes, 2);
  ir_vec_push(m->graph->initializers, k);
  assert_int_equal(verify(m), 0);
  k->init->dims[0] = -2;
  expect_error(m, 1, "initializer 'k' has a negative dimension -2");

  m = base();
  k = ir_graph_def(m->graph, "k", ir_noloc);
  k->init = ir_tensor_new(&m->arena, ELEM_FLOAT, 1, (int64_t[]){1000});
  k->init->n_external = 1;
  k->init->external = ir_arena_alloc(&m->arena, sizeof(StrPair));
  k->init->external[0] = (StrPair){"offset", "0"};
  ir_vec_push(m->graph->initializers, k);
  expect_error(m, 1, "initializer 'k' is stored externally but has no location");

  m = base();
  m->ir_version = 3;
  k = ir_graph_def(m->graph, "k", ir_noloc);
  k->init = ir_tensor_new(&m->arena, ELEM_INT64, 0, NULL);
  assert_true(ir_tensor_alloc_data(&m->arena, k->init));
  ir_vec_push(m->graph->initializers, k);
  expect_error(m, 1, "initializer 'k' is not a graph input (required for IR version 3)");
}

static void test_types(void **state) {
  (void)state;
  Model *m = base();
  Type *map = ir_type_new(&m->arena, TYPE_MAP);
  map->elem = ELEM_FLOAT;
  map->inner = fty(m, 2);
  add_input(m->graph, "mp", map);
  expect_error(m, 1, "type of mp is a map whose key type float is not an integer or string type");

  m = base();
  Type *seq = ir_type_new(&m->arena, TYPE_SEQUENCE);
  add_input(m->graph, "s", seq);
  expect_error(m, 1, "type of s is a sequence without an element type");

  m = base();
  Type *t = fty(m, 2);
  t->dims[0].value = -7;
  add_input(m->graph, "bad", t);
  expect_error(m, 1, "type of bad has a negative dimension -7");

  m = base();
  add_input(m->graph, "u", ir_type_tensor(&m->arena, ELEM_UNDEFINED, 0, NULL));
  expect_error(m, 1, "type of u has no valid element type (0)");
}

/* Hostile nesting: 100000 subgraphs deep verifies without recursion, and a 1M-node chain
 * in linear time. */
static void test_deep_and_long(void **state) {
  (void)state;
  Model *m = new_model();
  Graph *g = m->graph;
  add_input(g, "c", NULL);
  Graph *cur = g;
  Value *c = ir_graph_lookup(g, "c");
  const char *lvl = "r";
  /* nodes built by hand: looking "c" up through 100000 scopes would be quadratic */
  for (int i = 0; i <= 100000; i++) {
    Node *n = ir_node_new(cur, "", i < 100000 ? "If" : "Identity", 1, 1);
    ir_node_set_input(n, 0, c);
    ir_node_set_output(n, 0, ir_graph_def(cur, lvl, ir_noloc));
    ir_node_append(cur, n);
    if (i) add_output(cur, lvl, NULL);
    if (i == 100000) break;
    cur = sub_graph(n, "body", "b");
    lvl = ir_arena_printf(&m->arena, "o%d", i);
  }
  add_output(g, "r", NULL);
  assert_int_equal(verify(m), 0);
  /* the innermost graph redefines a name of a graph 99990 levels up */
  Node *bad = ir_node_new(cur, "", "Identity", 1, 1);
  ir_node_set_input(bad, 0, c);
  ir_node_set_output(bad, 0, ir_graph_def(cur, "o8", ir_noloc));
  ir_node_append(cur, bad);
  assert_int_equal(verify(m), 1);
  assert_non_null(strstr(dtext, "'o8' is already defined in an enclosing graph"));
  ir_model_free(m);

  m = new_model();
  g = m->graph;
  Value *v = add_input(g, "v0", fty(m, 1));
  for (int i = 0; i < 1000000; i++) {
    Node *n = ir_node_new(g, "", "Relu", 1, 1);
    ir_node_set_input(n, 0, v);
    v = ir_value_new_anon(g, "", NULL);
    v->name = ir_arena_printf(&m->arena, "v%d", i + 1);
    ir_node_set_output(n, 0, v);
    ir_node_append(g, n);
  }
  g->outputs = ir_arena_alloc(&m->arena, sizeof *g->outputs);
  g->outputs[0] = v;
  g->n_outputs = 1;
  assert_int_equal(verify(m), 0);
  ir_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean),         cmocka_unit_test(test_undefined),
      cmocka_unit_test(test_located_error), cmocka_unit_test(test_topological_order),
      cmocka_unit_test(test_outer_order),   cmocka_unit_test(test_ssa_across_scopes),
      cmocka_unit_test(test_bookkeeping),   cmocka_unit_test(test_attributes),
      cmocka_unit_test(test_opsets),        cmocka_unit_test(test_functions),
      cmocka_unit_test(test_tensors),       cmocka_unit_test(test_types),
      cmocka_unit_test(test_deep_and_long),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(dtext);
  return rc;
}

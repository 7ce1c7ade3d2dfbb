/* test_ops.c - the operator table: every row's schema parses, keys are unique, lookup picks
 * the version an opset selects, binding and schema checks in the verifier, attribute defaults. */
#include "testutil.h"

static void rows_unique_and_parse(void **state) {
  (void)state;
  for (int i = 0; i < IR_N_OPS; i++) {
    const OpDef *o = &ir_ops[i];
    assert_int_equal(o->id, i);
    assert_true(o->min_in >= 0 && (o->max_in < 0 || o->max_in >= o->min_in));
    assert_true(o->min_out >= 0 && (o->max_out < 0 || o->max_out >= o->min_out));
    int n;
    const AttrSpec *s = ir_op_attrs(o, &n);
    for (int k = 0; k < n; k++) {
      assert_non_null(s[k].name);
      assert_int_not_equal(s[k].type, ATTR_UNDEFINED);
      assert_false(s[k].required && s[k].has_default);
      for (int j = 0; j < k; j++) assert_string_not_equal(s[j].name, s[k].name);
    }
    for (int j = 0; j < i; j++)
      if (!strcmp(ir_ops[j].domain, o->domain) && !strcmp(ir_ops[j].name, o->name))
        assert_int_not_equal(ir_ops[j].since, o->since);
  }
}

static void lookup_by_opset(void **state) {
  (void)state;
  /* Softmax: 1, 11, 13 (ONNX's changelog) */
  assert_int_equal(ir_op_find("", "Softmax", 12)->since, 11);
  assert_int_equal(ir_op_find("ai.onnx", "Softmax", 13)->since, 13);
  assert_int_equal(ir_op_find("", "Softmax", 21)->since, 13);
  assert_int_equal(ir_op_find("", "Softmax", 1)->since, 1);
  /* ReduceMean moved axes to an input at 18 */
  assert_int_equal(ir_op_find("", "ReduceMean", 17)->since, 13);
  assert_int_equal(ir_op_find("", "ReduceMean", 18)->since, 18);
  assert_null(ir_op_find("", "Attention", 22));
  assert_non_null(ir_op_find("", "Attention", 23));
  assert_null(ir_op_find("", "NoSuchOp", 21));
  assert_null(ir_op_find("com.example", "Add", 21));
  assert_int_equal(ir_op_find("ai.onnx.ml", "LabelEncoder", 3)->since, 2);
  /* type-only versions (ONNX operator docs): Pad 18, 19, 21, 23, 24, 25 */
  assert_int_equal(ir_op_find("", "Pad", 20)->since, 19);
  assert_int_equal(ir_op_find("", "Pad", 21)->since, 21);
  assert_int_equal(ir_op_find("", "Pad", 22)->since, 21);
  assert_int_equal(ir_op_find("", "Pad", 28)->since, 25);
  assert_int_equal(ir_op_find("", "Reshape", 24)->since, 24);
  assert_int_equal(ir_op_find("", "Identity", 19)->since, 19);
  assert_int_equal(ir_op_find("", "ConstantOfShape", 20)->since, 20);
  assert_int_equal(ir_op_find("", "ReduceMax", 20)->since, 20);
  assert_int_equal(ir_op_find("", "Dropout", 22)->since, 22);
  assert_int_equal(ir_op_find("", "TopK", 24)->since, 24);
  assert_int_equal(ir_op_find("", "Cast", 28)->since, 28);
  assert_int_equal(ir_op_find("", "Cast", 27)->since, 25);
  assert_int_equal(ir_op_find("", "Squeeze", 25)->since, 25);
  assert_int_equal(ir_op_find("", "Range", 28)->since, 27);
  assert_int_equal(ir_op_find("", "OptionalHasElement", 28)->since, 28);
  assert_int_equal(ir_op_find("", "Einsum", 27)->since, 12);
  assert_string_equal(ir_op_find("", "Cast", 24)->family, ir_op_find("", "Cast", 13)->family);
}

static void schema_defaults(void **state) {
  (void)state;
  const OpDef *conv = ir_op_find("", "Conv", 21);
  const AttrSpec *g = ir_op_attr(conv, "group");
  assert_non_null(g);
  assert_true(g->has_default);
  assert_int_equal(g->dflt.i, 1);
  const AttrSpec *ap = ir_op_attr(conv, "auto_pad");
  assert_string_equal(ap->dflt.s.s, "NOTSET");
  const AttrSpec *lrn = ir_op_attr(ir_op_find("", "LRN", 13), "alpha");
  assert_float_equal(lrn->dflt.f, 1e-4f, 1e-10);
  const AttrSpec *cast_to = ir_op_attr(ir_op_find("", "Cast", 21), "to");
  assert_true(cast_to->required);
}

static Model *parse(const char *text, Cap *c) {
  cap_init_file(c, "t.onnxtxt");
  return fe_parse("t.onnxtxt", text, strlen(text), &c->d);
}

static void binding_and_attr_access(void **state) {
  (void)state;
  Cap c;
  Model *m = parse("<ir_version: 8, opset_import: [\"\" : 12]>\n"
                   "g (float[2,3] x) => (float[2,3] y) {\n"
                   "  y = Softmax (x)\n"
                   "}\n",
                   &c);
  assert_non_null(m);
  assert_int_equal(ir_verify(m, &c.d), 0);
  const Node *n = m->graph->nodes.v[0];
  assert_non_null(n->op);
  assert_int_equal(n->op->since, 11);
  assert_int_equal(ir_attr_int(n, "axis", 99), 1); /* the schema default of Softmax-11 */
  assert_int_equal(ir_attr_int(n, "nonexistent", 7), 7);
  ir_model_free(m);
  cap_free(&c);
}

static void verifier_checks_schema(void **state) {
  (void)state;
  Cap c;
  Model *m = parse("<ir_version: 8, opset_import: [\"\" : 13]>\n"
                   "g (float[2,3] x) => (float[2,3] y) {\n"
                   "  y = Relu <alpha: float = 1.0> (x, x)\n"
                   "}\n",
                   &c);
  assert_non_null(m);
  assert_int_equal(ir_verify(m, &c.d), 2);
  assert_non_null(strstr(cap_text(&c), "t.onnxtxt:3:"));
  assert_non_null(strstr(cap_text(&c), "Relu-13 takes 1 inputs, not 2"));
  assert_non_null(strstr(cap_text(&c), "Relu-13 has no attribute 'alpha'"));
  ir_model_free(m);
  cap_free(&c);

  m = parse("<ir_version: 8, opset_import: [\"\" : 13]>\n"
            "g (float[2,3] x) => (float[2,3] y) {\n"
            "  y = Cast <to: float = 1.0, __effc_note: int = 3> (x)\n"
            "}\n",
            &c);
  assert_int_equal(ir_verify(m, &c.d), 1);
  assert_non_null(strstr(cap_text(&c), "attribute 'to' of Cast must be int, not float"));
  ir_model_free(m);
  cap_free(&c);

  /* unknown operators stay opaque and verify structurally */
  m = parse("<ir_version: 8, opset_import: [\"\" : 13, \"com.example\" : 1]>\n"
            "g (float[2,3] x) => (float[2,3] y) {\n"
            "  y = com.example.Frob <k: int = 3> (x, x)\n"
            "}\n",
            &c);
  assert_int_equal(ir_verify(m, &c.d), 0);
  assert_null(m->graph->nodes.v[0]->op);
  ir_model_free(m);
  cap_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rows_unique_and_parse), cmocka_unit_test(lookup_by_opset),
      cmocka_unit_test(schema_defaults),       cmocka_unit_test(binding_and_attr_access),
      cmocka_unit_test(verifier_checks_schema),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

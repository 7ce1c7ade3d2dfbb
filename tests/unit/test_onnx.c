/* test_onnx.c - the .onnx importer and exporter: every modelled field of a fixture written by
 * python3-onnx (tests/data/onnx/gen_fixtures.py, whose literals are the golden values), the
 * import -> export -> import fixed point compared field by field, export options, models made
 * with the builder API, the depth limit, truncated and malformed input, sniffing and loading. */
#include <unistd.h>

#include "onnx.pb-c.h"
#include "testutil.h"

#define DATA EFFC_SOURCE_DIR "/tests/data/onnx/"

/* ------------------------------------------------------------------ helpers */

static Model *import_file(const char *name, Cap *c) {
  char path[4096];
  snprintf(path, sizeof path, DATA "%s", name);
  size_t len;
  uint8_t *b = slurp(path, &len);
  Model *m = fe_onnx_import(b, len, path, &c->d);
  free(b);
  return m;
}

static Value *find_init(const Graph *g, const char *name) {
  for (size_t i = 0; i < g->initializers.n; i++)
    if (!strcmp(g->initializers.v[i]->name, name)) return g->initializers.v[i];
  fail_msg("no initializer %s", name);
  return NULL;
}

static const Attr *find_attr(const Node *n, const char *name) {
  const Attr *a = ir_node_attr(n, name);
  if (!a) fail_msg("node %s has no attribute %s", n->name ? n->name : "?", name);
  return a;
}

static void assert_pair(const StrPair *p, const char *k, const char *v) {
  assert_string_equal(p->key, k);
  assert_string_equal(p->value, v);
}

static void assert_data(const Tensor *t, ElemType e, const void *want, size_t n) {
  assert_int_equal(t->elem, e);
  assert_true(t->has_data);
  assert_int_equal(t->nbytes, n);
  assert_memory_equal(t->data, want, n);
}

/* ------------------------------------------------------------------ field-by-field comparison */

static void cmp_str(const char *a, const char *b) {
  if (!a || !b) assert_ptr_equal(a, b);
  else assert_string_equal(a, b);
}
static void cmp_bytes(IrBytes a, IrBytes b) {
  assert_int_equal(a.len, b.len);
  if (a.len) assert_memory_equal(a.data, b.data, a.len);
}
static void cmp_pairs(const StrPair *a, int na, const StrPair *b, int nb) {
  assert_int_equal(na, nb);
  for (int i = 0; i < na; i++) {
    cmp_str(a[i].key, b[i].key);
    cmp_str(a[i].value, b[i].value);
  }
}
static void cmp_type(const Type *a, const Type *b) {
  if (!a || !b) {
    assert_ptr_equal(a, b);
    return;
  }
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->elem, b->elem);
  assert_int_equal(a->rank, b->rank);
  for (int i = 0; i < a->rank; i++) {
    assert_int_equal(a->dims[i].value, b->dims[i].value);
    cmp_str(a->dims[i].param, b->dims[i].param);
    cmp_str(a->dims[i].denotation, b->dims[i].denotation);
  }
  cmp_str(a->opaque_domain, b->opaque_domain);
  cmp_str(a->opaque_name, b->opaque_name);
  cmp_str(a->denotation, b->denotation);
  cmp_type(a->inner, b->inner);
}
static void cmp_tensor(const Tensor *a, const Tensor *b) {
  if (!a || !b) {
    assert_ptr_equal(a, b);
    return;
  }
  cmp_str(a->name, b->name);
  cmp_str(a->doc_string, b->doc_string);
  assert_int_equal(a->elem, b->elem);
  assert_int_equal(a->rank, b->rank);
  if (a->rank) assert_memory_equal(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims);
  assert_int_equal(a->has_data, b->has_data);
  assert_int_equal(a->nbytes, b->nbytes);
  if (a->has_data && a->elem == ELEM_STRING) {
    const IrStr *x = a->data, *y = b->data;
    for (size_t i = 0; i < a->nbytes / sizeof(IrStr); i++) {
      assert_int_equal(x[i].len, y[i].len);
      assert_memory_equal(x[i].s, y[i].s, x[i].len);
    }
  } else if (a->has_data && a->nbytes) {
    assert_memory_equal(a->data, b->data, a->nbytes);
  }
  cmp_pairs(a->external, a->n_external, b->external, b->n_external);
  cmp_pairs(a->metadata_props, a->n_metadata_props, b->metadata_props, b->n_metadata_props);
  cmp_bytes(a->extra, b->extra);
}
static void cmp_sparse(const SparseTensor *a, const SparseTensor *b) {
  if (!a || !b) {
    assert_ptr_equal(a, b);
    return;
  }
  cmp_tensor(a->values, b->values);
  cmp_tensor(a->indices, b->indices);
  assert_int_equal(a->rank, b->rank);
  if (a->rank) assert_memory_equal(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims);
  cmp_bytes(a->extra, b->extra);
}
static void cmp_value_ref(const Value *a, const Value *b) {
  if (!a || !b) assert_ptr_equal(a, b);
  else assert_string_equal(a->name, b->name);
}
static void cmp_value(const Value *a, const Value *b) {
  cmp_value_ref(a, b);
  if (!a) return;
  cmp_type(a->type, b->type);
  cmp_str(a->doc_string, b->doc_string);
  cmp_pairs(a->metadata_props, a->n_metadata_props, b->metadata_props, b->n_metadata_props);
  cmp_bytes(a->extra, b->extra);
  assert_int_equal(a->has_value_info, b->has_value_info);
  assert_int_equal(a->undefined, b->undefined);
  cmp_tensor(a->init, b->init);
  cmp_sparse(a->sparse_init, b->sparse_init);
}
static void cmp_graph(const Graph *a, const Graph *b);
static void cmp_attr(const Attr *a, const Attr *b) {
  cmp_str(a->name, b->name);
  assert_int_equal(a->type, b->type);
  cmp_str(a->ref_attr_name, b->ref_attr_name);
  cmp_str(a->doc_string, b->doc_string);
  cmp_bytes(a->extra, b->extra);
  if (a->ref_attr_name) return;
  assert_int_equal(a->n, b->n);
  switch (a->type) {
  case ATTR_FLOAT: assert_memory_equal(&a->f, &b->f, sizeof a->f); break;
  case ATTR_INT: assert_int_equal(a->i, b->i); break;
  case ATTR_STRING:
    assert_int_equal(a->s.len, b->s.len);
    assert_memory_equal(a->s.s, b->s.s, a->s.len);
    break;
  case ATTR_TENSOR: cmp_tensor(a->t, b->t); break;
  case ATTR_GRAPH: cmp_graph(a->g, b->g); break;
  case ATTR_SPARSE_TENSOR: cmp_sparse(a->sparse, b->sparse); break;
  case ATTR_TYPE_PROTO: cmp_type(a->tp, b->tp); break;
  case ATTR_FLOATS: if (a->n) assert_memory_equal(a->floats, b->floats, a->n * sizeof(float)); break;
  case ATTR_INTS: if (a->n) assert_memory_equal(a->ints, b->ints, a->n * sizeof(int64_t)); break;
  case ATTR_STRINGS:
    for (size_t i = 0; i < a->n; i++) {
      assert_int_equal(a->strings[i].len, b->strings[i].len);
      assert_memory_equal(a->strings[i].s, b->strings[i].s, a->strings[i].len);
    }
    break;
  case ATTR_TENSORS: for (size_t i = 0; i < a->n; i++) cmp_tensor(a->tensors[i], b->tensors[i]); break;
  case ATTR_GRAPHS: for (size_t i = 0; i < a->n; i++) cmp_graph(a->graphs[i], b->graphs[i]); break;
  case ATTR_SPARSE_TENSORS: for (size_t i = 0; i < a->n; i++) cmp_sparse(a->sparses[i], b->sparses[i]); break;
  case ATTR_TYPE_PROTOS: for (size_t i = 0; i < a->n; i++) cmp_type(a->types[i], b->types[i]); break;
  default: fail();
  }
}
static void cmp_node(const Node *a, const Node *b) {
  cmp_str(a->name, b->name);
  cmp_str(a->domain, b->domain);
  cmp_str(a->op_type, b->op_type);
  cmp_str(a->overload, b->overload);
  cmp_str(a->doc_string, b->doc_string);
  cmp_pairs(a->metadata_props, a->n_metadata_props, b->metadata_props, b->n_metadata_props);
  cmp_bytes(a->extra, b->extra);
  assert_int_equal(a->n_inputs, b->n_inputs);
  for (int i = 0; i < a->n_inputs; i++) cmp_value_ref(a->inputs[i], b->inputs[i]);
  assert_int_equal(a->n_outputs, b->n_outputs);
  for (int i = 0; i < a->n_outputs; i++) cmp_value(a->outputs[i], b->outputs[i]);
  assert_int_equal(a->n_attrs, b->n_attrs);
  for (int i = 0; i < a->n_attrs; i++) cmp_attr(&a->attrs[i], &b->attrs[i]);
}
static void cmp_graph(const Graph *a, const Graph *b) {
  if (!a || !b) {
    assert_ptr_equal(a, b);
    return;
  }
  cmp_str(a->name, b->name);
  cmp_str(a->doc_string, b->doc_string);
  cmp_pairs(a->metadata_props, a->n_metadata_props, b->metadata_props, b->n_metadata_props);
  cmp_bytes(a->extra, b->extra);
  assert_int_equal(a->n_inputs, b->n_inputs);
  for (int i = 0; i < a->n_inputs; i++) cmp_value(a->inputs[i], b->inputs[i]);
  assert_int_equal(a->n_outputs, b->n_outputs);
  for (int i = 0; i < a->n_outputs; i++) cmp_value(a->outputs[i], b->outputs[i]);
  assert_int_equal(a->initializers.n, b->initializers.n);
  for (size_t i = 0; i < a->initializers.n; i++) cmp_value(a->initializers.v[i], b->initializers.v[i]);
  assert_int_equal(a->value_infos.n, b->value_infos.n);
  for (size_t i = 0; i < a->value_infos.n; i++) cmp_value(a->value_infos.v[i], b->value_infos.v[i]);
  assert_int_equal(a->nodes.n, b->nodes.n);
  for (size_t i = 0; i < a->nodes.n; i++) cmp_node(a->nodes.v[i], b->nodes.v[i]);
}
static void cmp_model(const Model *a, const Model *b) {
  assert_int_equal(a->has_ir_version, b->has_ir_version);
  assert_int_equal(a->ir_version, b->ir_version);
  assert_int_equal(a->has_model_version, b->has_model_version);
  assert_int_equal(a->model_version, b->model_version);
  assert_int_equal(a->n_opsets, b->n_opsets);
  for (int i = 0; i < a->n_opsets; i++) {
    cmp_str(a->opsets[i].domain, b->opsets[i].domain);
    assert_int_equal(a->opsets[i].version, b->opsets[i].version);
  }
  cmp_str(a->producer_name, b->producer_name);
  cmp_str(a->producer_version, b->producer_version);
  cmp_str(a->domain, b->domain);
  cmp_str(a->doc_string, b->doc_string);
  cmp_pairs(a->metadata_props, a->n_metadata_props, b->metadata_props, b->n_metadata_props);
  cmp_bytes(a->extra, b->extra);
  cmp_graph(a->graph, b->graph);
  assert_int_equal(a->n_functions, b->n_functions);
  for (int i = 0; i < a->n_functions; i++) {
    const Function *f = a->functions[i], *g = b->functions[i];
    cmp_str(f->name, g->name);
    cmp_str(f->domain, g->domain);
    cmp_str(f->overload, g->overload);
    cmp_str(f->doc_string, g->doc_string);
    assert_int_equal(f->n_attr_names, g->n_attr_names);
    for (int k = 0; k < f->n_attr_names; k++) cmp_str(f->attr_names[k], g->attr_names[k]);
    assert_int_equal(f->n_attr_defaults, g->n_attr_defaults);
    for (int k = 0; k < f->n_attr_defaults; k++) cmp_attr(&f->attr_defaults[k], &g->attr_defaults[k]);
    assert_int_equal(f->n_attr_order, g->n_attr_order);
    if (f->n_attr_order) assert_memory_equal(f->attr_order, g->attr_order, (size_t)f->n_attr_order * sizeof(int));
    assert_int_equal(f->n_opsets, g->n_opsets);
    for (int k = 0; k < f->n_opsets; k++) {
      cmp_str(f->opsets[k].domain, g->opsets[k].domain);
      assert_int_equal(f->opsets[k].version, g->opsets[k].version);
    }
    cmp_pairs(f->metadata_props, f->n_metadata_props, g->metadata_props, g->n_metadata_props);
    cmp_bytes(f->extra, g->extra);
    cmp_graph(f->body, g->body);
  }
}

/* ------------------------------------------------------------------ the features fixture */

static void test_features_header(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  Model *m = import_file("features.onnx", &c);
  assert_non_null(m);
  assert_true(m->has_ir_version);
  assert_int_equal(m->ir_version, 8);
  assert_true(m->has_model_version);
  assert_int_equal(m->model_version, 7);
  assert_string_equal(m->producer_name, "effc-fixture");
  assert_string_equal(m->producer_version, "1.0");
  assert_string_equal(m->domain, "org.effc.test");
  assert_string_equal(m->doc_string, "model doc");
  assert_int_equal(m->n_opsets, 2);
  assert_string_equal(m->opsets[0].domain, "");
  assert_int_equal(m->opsets[0].version, 13);
  assert_string_equal(m->opsets[1].domain, "com.example");
  assert_int_equal(m->opsets[1].version, 1);
  assert_int_equal(m->n_metadata_props, 2);
  assert_pair(&m->metadata_props[0], "author", "effc");
  assert_pair(&m->metadata_props[1], "license", "Apache-2.0");
  /* training_info (20), configuration (26) and the unknown field 77 "zz", in that order:
   * 77 << 3 | 2 = 618 = varint ea 04 */
  assert_true(m->extra.len > 5);
  assert_int_equal(m->extra.data[0], 0xa2); /* field 20, length-delimited: varint a2 01 */
  assert_int_equal(m->extra.data[1], 0x01);
  assert_memory_equal(m->extra.data + m->extra.len - 5, "\xea\x04\x02zz", 5);
  /* configuration: DeviceConfigurationProto{name: "cfg", num_devices: 2}, field 26 = d2 01 */
  assert_memory_equal(m->extra.data + m->extra.len - 5 - 10, "\xd2\x01\x07\x0a\x03" "cfg\x10\x02", 10);
  assert_int_equal(c.d.errors, 0);
  assert_int_equal(c.d.warnings, 0);
  ir_model_free(m);
  cap_free(&c);
}

static void test_features_graph(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  Model *m = import_file("features.onnx", &c);
  assert_non_null(m);
  const Graph *g = m->graph;
  assert_string_equal(g->name, "features");
  assert_string_equal(g->doc_string, "graph doc");
  assert_int_equal(g->n_metadata_props, 1);
  assert_pair(&g->metadata_props[0], "gk", "gv");
  /* quantization_annotation {tensor_name: "A"}: field 14 = 72 */
  assert_memory_equal(g->extra.data, "\x72\x03\x0a\x01" "A", 5);
  assert_null(g->parent);

  assert_int_equal(g->n_inputs, 8);
  const Value *X = g->inputs[0];
  assert_string_equal(X->name, "X");
  assert_string_equal(X->doc_string, "x doc");
  assert_int_equal(X->type->kind, TYPE_TENSOR);
  assert_int_equal(X->type->elem, ELEM_FLOAT);
  assert_int_equal(X->type->rank, 2);
  assert_string_equal(X->type->dims[0].param, "N");
  assert_string_equal(X->type->dims[0].denotation, "DATA_BATCH");
  assert_null(X->type->dims[1].param);
  assert_int_equal(X->type->dims[1].value, 3);
  assert_int_equal(X->n_metadata_props, 1);
  assert_pair(&X->metadata_props[0], "vk", "vv");
  const Value *C = g->inputs[1];
  assert_int_equal(C->type->elem, ELEM_BOOL);
  assert_int_equal(C->type->rank, 0);
  assert_int_equal(g->inputs[2]->type->rank, -1); /* Z: no shape */
  const Type *S = g->inputs[3]->type;
  assert_int_equal(S->kind, TYPE_SEQUENCE);
  assert_int_equal(S->inner->kind, TYPE_TENSOR);
  assert_int_equal(S->inner->elem, ELEM_INT64);
  assert_int_equal(S->inner->rank, 1);
  assert_int_equal(S->inner->dims[0].value, -1);
  assert_null(S->inner->dims[0].param);
  const Type *O = g->inputs[4]->type;
  assert_int_equal(O->kind, TYPE_OPTIONAL);
  assert_int_equal(O->inner->elem, ELEM_FLOAT);
  assert_int_equal(O->inner->dims[0].value, 2);
  const Type *M = g->inputs[5]->type;
  assert_int_equal(M->kind, TYPE_MAP);
  assert_int_equal(M->elem, ELEM_INT64);
  assert_int_equal(M->inner->kind, TYPE_TENSOR);
  const Type *Q = g->inputs[6]->type;
  assert_int_equal(Q->kind, TYPE_OPAQUE);
  assert_string_equal(Q->opaque_domain, "effc.qc");
  assert_string_equal(Q->opaque_name, "qubits");
  const Value *W = g->inputs[7];
  assert_string_equal(W->name, "W");
  assert_non_null(W->init); /* an input with an initializer is one value */
  assert_ptr_equal(find_init(g, "W"), W);

  assert_int_equal(g->n_outputs, 1);
  assert_string_equal(g->outputs[0]->name, "Y");
  assert_int_equal(g->value_infos.n, 2);
  assert_string_equal(g->value_infos.v[0]->name, "A");
  assert_true(g->value_infos.v[0]->has_value_info);
  assert_string_equal(g->value_infos.v[0]->type->dims[0].param, "N");
  assert_string_equal(g->value_infos.v[1]->name, "E1");
  assert_int_equal(c.d.errors, 0);
  ir_model_free(m);
  cap_free(&c);
}

static void test_features_initializers(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  Model *m = import_file("features.onnx", &c);
  assert_non_null(m);
  const Graph *g = m->graph;
  static const char *order[] = {"W", "I64", "STR", "H", "B", "D", "U32", "U64", "C64", "BF",
                                "I8", "EMPTY", "I4", "U2", "F8", "EXT", "SEG", "SP"};
  assert_int_equal(g->initializers.n, 18);
  for (size_t i = 0; i < 18; i++) assert_string_equal(g->initializers.v[i]->name, order[i]);

  const Tensor *t = find_init(g, "W")->init;
  assert_int_equal(t->rank, 2);
  assert_int_equal(t->dims[0], 2);
  assert_int_equal(t->dims[1], 3);
  assert_data(t, ELEM_FLOAT, (float[]){0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, 24);
  assert_data(find_init(g, "I64")->init, ELEM_INT64, (int64_t[]){1, -2, 3}, 24);
  /* an initializer that is not an input takes its type from the tensor, as in the text */
  const Type *ty = find_init(g, "I64")->type;
  assert_int_equal(ty->kind, TYPE_TENSOR);
  assert_int_equal(ty->elem, ELEM_INT64);
  assert_int_equal(ty->rank, 1);
  assert_int_equal(ty->dims[0].value, 3);
  t = find_init(g, "STR")->init;
  assert_int_equal(t->elem, ELEM_STRING);
  const IrStr *s = t->data;
  assert_int_equal(s[0].len, 1);
  assert_memory_equal(s[0].s, "a", 1);
  assert_int_equal(s[1].len, 3);
  assert_memory_equal(s[1].s, "b\0c", 3);
  assert_data(find_init(g, "H")->init, ELEM_FLOAT16, (uint16_t[]){0x3C00, 0xC000}, 4);
  assert_data(find_init(g, "B")->init, ELEM_BOOL, (uint8_t[]){1, 0, 1}, 3);
  assert_data(find_init(g, "D")->init, ELEM_DOUBLE, (double[]){0.5, -0.25}, 16);
  assert_data(find_init(g, "U32")->init, ELEM_UINT32, (uint32_t[]){1, 4000000000u}, 8);
  assert_data(find_init(g, "U64")->init, ELEM_UINT64, (uint64_t[]){UINT64_MAX}, 8);
  assert_data(find_init(g, "C64")->init, ELEM_COMPLEX64, (float[]){1, 2, 3, -4}, 16);
  assert_data(find_init(g, "BF")->init, ELEM_BFLOAT16, (uint16_t[]){0x3F80, 0xC000}, 4);
  assert_data(find_init(g, "I8")->init, ELEM_INT8, (int8_t[]){-1, 0, 127}, 3);
  t = find_init(g, "EMPTY")->init;
  assert_true(t->has_data);
  assert_int_equal(t->nbytes, 0);
  assert_int_equal(t->dims[0], 0);
  /* int4 [0,1,7,-4,-8], uint2 [0,1,2,3,1], float8e4m3fn [1,-2] as packed bytes */
  assert_data(find_init(g, "I4")->init, ELEM_INT4, (uint8_t[]){0x10, 0xC7, 0x08}, 3);
  assert_data(find_init(g, "U2")->init, ELEM_UINT2, (uint8_t[]){0xE4, 0x01}, 2);
  assert_data(find_init(g, "F8")->init, ELEM_FLOAT8E4M3FN, (uint8_t[]){0x38, 0xC0}, 2);
  t = find_init(g, "EXT")->init;
  assert_false(t->has_data);
  assert_int_equal(t->n_external, 3);
  assert_pair(&t->external[0], "location", "w.bin");
  assert_pair(&t->external[1], "offset", "0");
  assert_pair(&t->external[2], "length", "16");
  t = find_init(g, "SEG")->init;
  assert_int_equal(t->n_metadata_props, 1);
  assert_pair(&t->metadata_props[0], "tk", "tv");
  assert_memory_equal(t->extra.data, "\x1a\x04\x08\x00\x10\x01", 6); /* segment {0, 1} */
  const SparseTensor *sp = find_init(g, "SP")->sparse_init;
  assert_non_null(sp);
  assert_null(find_init(g, "SP")->init);
  assert_int_equal(sp->rank, 2);
  assert_int_equal(sp->dims[0], 2);
  assert_int_equal(sp->dims[1], 3);
  assert_data(sp->values, ELEM_FLOAT, (float[]){5, 6}, 8);
  assert_data(sp->indices, ELEM_INT64, (int64_t[]){1, 4}, 16);
  ty = find_init(g, "SP")->type;
  assert_int_equal(ty->kind, TYPE_SPARSE);
  assert_int_equal(ty->elem, ELEM_FLOAT);
  assert_int_equal(ty->rank, 2);
  assert_int_equal(ty->dims[1].value, 3);
  ir_model_free(m);
  cap_free(&c);
}

static void test_features_nodes(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  Model *m = import_file("features.onnx", &c);
  assert_non_null(m);
  const Graph *g = m->graph;
  assert_int_equal(g->nodes.n, 5);
  const Node *add = g->nodes.v[0];
  assert_string_equal(add->name, "add0");
  assert_string_equal(add->domain, "");
  assert_string_equal(add->op_type, "Add");
  assert_string_equal(add->doc_string, "add doc");
  assert_ptr_equal(add->inputs[0], g->inputs[0]);
  assert_ptr_equal(add->inputs[1], g->inputs[7]);
  const Value *A = add->outputs[0];
  assert_ptr_equal(A->producer, add);

  const Node *ev = g->nodes.v[1];
  assert_string_equal(ev->domain, "com.example");
  assert_string_equal(ev->op_type, "Everything");
  assert_string_equal(ev->doc_string, "node doc");
  assert_int_equal(ev->n_inputs, 3);
  assert_ptr_equal(ev->inputs[0], A);
  assert_null(ev->inputs[1]); /* "" */
  assert_string_equal(ev->inputs[2]->name, "Z");
  assert_int_equal(ev->n_outputs, 2);
  assert_string_equal(ev->outputs[0]->name, "E1");
  assert_null(ev->outputs[1]);
  assert_memory_equal(ev->extra.data, "\x98\x06\x05", 3); /* field 99 = 5 */
  assert_int_equal(ev->extra.len, 3);
  assert_int_equal(ev->n_attrs, 15);
  const Attr *a = find_attr(ev, "f");
  assert_int_equal(a->type, ATTR_FLOAT);
  assert_true(a->f == 1.5f);
  a = find_attr(ev, "i");
  assert_int_equal(a->type, ATTR_INT);
  assert_int_equal(a->i, -7);
  a = find_attr(ev, "s");
  assert_int_equal(a->type, ATTR_STRING);
  assert_int_equal(a->s.len, 3);
  assert_memory_equal(a->s.s, "str", 3);
  a = find_attr(ev, "t");
  assert_int_equal(a->type, ATTR_TENSOR);
  assert_string_equal(a->t->name, "tv");
  assert_data(a->t, ELEM_INT32, (int32_t[]){10, 20}, 8);
  a = find_attr(ev, "g");
  assert_int_equal(a->type, ATTR_GRAPH);
  assert_string_equal(a->g->name, "attr_g");
  assert_ptr_equal(a->g->parent, g);
  assert_ptr_equal(a->g->parent_node, ev);
  assert_ptr_equal(a->g->inputs[0], a->g->outputs[0]);
  a = find_attr(ev, "floats");
  assert_int_equal(a->type, ATTR_FLOATS);
  assert_int_equal(a->n, 2);
  assert_true(a->floats[0] == 1.0f && a->floats[1] == 2.5f);
  a = find_attr(ev, "ints");
  assert_int_equal(a->n, 3);
  assert_memory_equal(a->ints, ((int64_t[]){1, 2, 3}), 24);
  a = find_attr(ev, "strings");
  assert_int_equal(a->type, ATTR_STRINGS);
  assert_int_equal(a->n, 2);
  assert_memory_equal(a->strings[1].s, "y", 1);
  a = find_attr(ev, "tensors");
  assert_int_equal(a->n, 2);
  assert_data(a->tensors[1], ELEM_INT64, (int64_t[]){5}, 8);
  a = find_attr(ev, "graphs");
  assert_int_equal(a->type, ATTR_GRAPHS);
  assert_int_equal(a->n, 1);
  assert_string_equal(a->graphs[0]->name, "attr_g");
  a = find_attr(ev, "sparse");
  assert_int_equal(a->type, ATTR_SPARSE_TENSOR);
  assert_data(a->sparse->values, ELEM_INT64, (int64_t[]){9}, 8);
  assert_int_equal(a->sparse->dims[0], 3);
  a = find_attr(ev, "sparses");
  assert_int_equal(a->type, ATTR_SPARSE_TENSORS);
  assert_int_equal(a->n, 1);
  a = find_attr(ev, "tp");
  assert_int_equal(a->type, ATTR_TYPE_PROTO);
  assert_int_equal(a->tp->elem, ELEM_FLOAT);
  assert_int_equal(a->tp->dims[0].value, 2);
  a = find_attr(ev, "tps");
  assert_int_equal(a->type, ATTR_TYPE_PROTOS);
  assert_int_equal(a->types[0]->kind, TYPE_SEQUENCE);
  assert_int_equal(a->types[0]->inner->rank, -1);
  assert_int_equal(find_attr(ev, "__effc_tile")->i, 16);

  const Node *iff = g->nodes.v[2];
  assert_string_equal(iff->op_type, "If");
  const Graph *then_g = find_attr(iff, "then_branch")->g;
  assert_string_equal(then_g->name, "then_g");
  assert_ptr_equal(then_g->parent, g);
  assert_ptr_equal(then_g->parent_node, iff);
  assert_string_equal(then_g->nodes.v[0]->name, "then_id");
  assert_ptr_equal(then_g->nodes.v[0]->inputs[0], A); /* the outer value, not a copy */
  assert_ptr_equal(then_g->outputs[0], then_g->nodes.v[0]->outputs[0]);

  const Node *call = g->nodes.v[3];
  assert_string_equal(call->overload, "ov1");
  assert_int_equal(call->n_metadata_props, 1);
  assert_pair(&call->metadata_props[0], "nk", "nv");
  /* device_configurations: NodeDeviceConfigurationProto{configuration_id: "cfg", pipeline_stage: 1} */
  assert_int_equal(call->extra.len, 9);
  assert_memory_equal(call->extra.data, "\x52\x07\x0a\x03" "cfg\x18\x01", 9);
  assert_true(find_attr(call, "alpha")->f == 2.0f);
  assert_null(g->nodes.v[4]->name);
  assert_ptr_equal(g->nodes.v[4]->outputs[0], g->outputs[0]);

  assert_int_equal(m->n_functions, 1);
  const Function *f = m->functions[0];
  assert_string_equal(f->name, "MyFunc");
  assert_string_equal(f->domain, "com.example");
  assert_string_equal(f->overload, "ov1");
  assert_string_equal(f->doc_string, "func doc");
  assert_int_equal(f->n_attr_names, 1);
  assert_string_equal(f->attr_names[0], "alpha");
  assert_int_equal(f->n_attr_defaults, 1);
  assert_string_equal(f->attr_defaults[0].name, "beta");
  assert_int_equal(f->attr_defaults[0].type, ATTR_INT);
  assert_int_equal(f->attr_defaults[0].i, 3);
  assert_int_equal(f->n_attr_order, 2);
  assert_int_equal(f->attr_order[0], 0);
  assert_int_equal(f->attr_order[1], ~0);
  assert_int_equal(f->n_opsets, 1);
  assert_int_equal(f->opsets[0].version, 13);
  assert_pair(&f->metadata_props[0], "fk", "fv");
  const Graph *b = f->body;
  assert_ptr_equal(b->function, f);
  assert_int_equal(b->n_inputs, 1);
  assert_string_equal(b->inputs[0]->name, "x");
  assert_string_equal(b->outputs[0]->name, "y");
  const Attr *ref = find_attr(b->nodes.v[0], "value_float");
  assert_string_equal(ref->ref_attr_name, "alpha");
  assert_int_equal(ref->type, ATTR_FLOAT);
  assert_int_equal(b->value_infos.n, 1);
  assert_string_equal(b->value_infos.v[0]->name, "y");
  assert_int_equal(b->value_infos.v[0]->type->elem, ELEM_FLOAT);
  assert_int_equal(c.d.errors, 0);
  ir_model_free(m);
  cap_free(&c);
}

/* A function whose attribute default is a graph (FunctionProto.attribute_proto). */
static void test_function_graph_default(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  Model *m = import_file("func_graph_default.onnx", &c);
  assert_non_null(m);
  assert_int_equal(m->n_functions, 1);
  const Function *f = m->functions[0];
  assert_int_equal(f->n_attr_defaults, 1);
  const Attr *a = &f->attr_defaults[0];
  assert_string_equal(a->name, "body");
  assert_int_equal(a->type, ATTR_GRAPH);
  assert_string_equal(a->g->name, "sub");
  assert_int_equal(a->g->nodes.n, 1);
  assert_ptr_equal(a->g->nodes.v[0]->inputs[0], a->g->inputs[0]);
  ir_model_free(m);
  cap_free(&c);
}

/* ------------------------------------------------------------------ round trips */

static void roundtrip(Model *m, const ExportOptions *opt) {
  Cap c;
  cap_init(&c);
  uint8_t *b1, *b2;
  size_t l1, l2;
  assert_true(fe_onnx_export(m, opt, &b1, &l1, &c.d));
  Model *m2 = fe_onnx_import(b1, l1, "export1", &c.d);
  assert_non_null(m2);
  if (!opt) cmp_model(m, m2);
  assert_true(fe_onnx_export(m2, NULL, &b2, &l2, &c.d));
  assert_int_equal(l1, l2);
  assert_memory_equal(b1, b2, l1);
  Model *m3 = fe_onnx_import(b2, l2, "export2", &c.d);
  assert_non_null(m3);
  cmp_model(m2, m3);
  assert_int_equal(c.d.errors, 0);
  ir_model_free(m2);
  ir_model_free(m3);
  free(b1);
  free(b2);
  cap_free(&c);
}

static void test_fixed_point(void **state) {
  (void)state;
  static const char *files[] = {"features.onnx", "convnet.onnx", "control.onnx", "big.onnx",
                                "func_graph_default.onnx"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    Cap c;
    cap_init(&c);
    Model *m = import_file(files[i], &c);
    assert_non_null(m);
    roundtrip(m, NULL);
    ir_model_free(m);
    cap_free(&c);
  }
}

static void test_export_options(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  Model *m = import_file("features.onnx", &c);
  assert_non_null(m);
  ExportOptions o = {10, true};
  uint8_t *b;
  size_t l;
  assert_true(fe_onnx_export(m, &o, &b, &l, &c.d));
  Model *m2 = fe_onnx_import(b, l, "opt", &c.d);
  assert_non_null(m2);
  assert_int_equal(m2->ir_version, 10);
  const Node *ev = m2->graph->nodes.v[1];
  assert_int_equal(ev->n_attrs, 14);
  assert_null(ir_node_attr(ev, "__effc_tile"));
  assert_non_null(ir_node_attr(ev, "tps"));
  /* the original model is untouched */
  assert_int_equal(m->graph->nodes.v[1]->n_attrs, 15);
  roundtrip(m2, &o);
  free(b);
  ir_model_free(m2);
  ir_model_free(m);
  cap_free(&c);
}

/* A model made with the builder API (what the text parser and passes produce). */
static Model *built_model(void) {
  Model *m = ir_model_new();
  Arena *a = &m->arena;
  m->has_ir_version = true;
  m->ir_version = 8;
  m->n_opsets = 1;
  m->opsets = ir_arena_alloc(a, sizeof *m->opsets);
  m->opsets[0].domain = "";
  m->opsets[0].version = 13;
  m->producer_name = "effc-test";
  Graph *g = ir_graph_new(m, NULL, "built");
  m->graph = g;
  Value *x = ir_graph_def(g, "x", ir_noloc);
  x->type = ir_type_tensor(a, ELEM_FLOAT, 2, (int64_t[]){1, 4});
  ir_graph_set_inputs(g, &x, 1);
  Value *w = ir_graph_def(g, "w", ir_noloc);
  w->init = ir_tensor_new(a, ELEM_FLOAT, 2, (int64_t[]){4, 2});
  w->init->name = w->name;
  w->type = ir_type_tensor(a, ELEM_FLOAT, 2, (int64_t[]){4, 2});
  assert_true(ir_tensor_alloc_data(a, w->init));
  w->init->has_data = true;
  for (int i = 0; i < 8; i++) ((float *)w->init->data)[i] = (float)i * 0.25f;
  ir_vec_push(g->initializers, w);
  Node *mm = ir_node_new(g, "", "MatMul", 2, 1);
  ir_node_append(g, mm);
  ir_node_set_input(mm, 0, x);
  ir_node_set_input(mm, 1, w);
  ir_node_set_output(mm, 0, ir_graph_def(g, "h", ir_noloc));
  Node *lr = ir_node_new(g, "", "LeakyRelu", 1, 1);
  lr->name = "act";
  ir_node_append(g, lr);
  ir_node_set_input(lr, 0, mm->outputs[0]);
  Value *y = ir_graph_def(g, "y", ir_noloc);
  y->type = ir_type_tensor(a, ELEM_FLOAT, 2, (int64_t[]){1, 2});
  ir_node_set_output(lr, 0, y);
  lr->n_attrs = 2;
  lr->attrs = ir_arena_alloc(a, 2 * sizeof *lr->attrs);
  lr->attrs[0].name = "alpha";
  lr->attrs[0].type = ATTR_FLOAT;
  lr->attrs[0].f = 0.125f;
  lr->attrs[1].name = "__effc_offset";
  lr->attrs[1].type = ATTR_INT;
  lr->attrs[1].i = 4096;
  ir_graph_set_outputs(g, &y, 1);
  return m;
}

static void test_builder_export(void **state) {
  (void)state;
  Model *m = built_model();
  roundtrip(m, NULL);
  Cap c;
  cap_init(&c);
  uint8_t *b;
  size_t l;
  assert_true(fe_onnx_export(m, NULL, &b, &l, &c.d));
  /* independent decode of what we wrote */
  Onnx__ModelProto *p = onnx__model_proto__unpack(NULL, l, b);
  assert_non_null(p);
  assert_int_equal(p->ir_version, 8);
  assert_int_equal(p->graph->n_node, 2);
  assert_string_equal(p->graph->node[1]->name, "act");
  assert_int_equal(p->graph->node[1]->n_attribute, 2);
  assert_int_equal(p->graph->n_initializer, 1);
  assert_true(p->graph->initializer[0]->has_raw_data);
  assert_int_equal(p->graph->initializer[0]->raw_data.len, 32);
  assert_string_equal(p->graph->initializer[0]->name, "w");
  assert_null(p->graph->node[0]->domain); /* the default domain is left out */
  onnx__model_proto__free_unpacked(p, NULL);
  free(b);
  ir_model_free(m);
  cap_free(&c);
}

/* ------------------------------------------------------------------ hostile input */

/* A model whose graph holds an If whose then_branch holds an If ... `levels` graphs deep. */
static uint8_t *nested_graphs(int levels, size_t *len) {
  Onnx__GraphProto *gs = calloc((size_t)levels, sizeof *gs);
  Onnx__NodeProto *ns = calloc((size_t)levels, sizeof *ns);
  Onnx__AttributeProto *as = calloc((size_t)levels, sizeof *as);
  Onnx__NodeProto **np = calloc((size_t)levels, sizeof *np);
  Onnx__AttributeProto **ap = calloc((size_t)levels, sizeof *ap);
  for (int i = 0; i < levels; i++) {
    onnx__graph_proto__init(&gs[i]);
    gs[i].name = "g";
    if (i == 0) continue;
    onnx__node_proto__init(&ns[i]);
    onnx__attribute_proto__init(&as[i]);
    ns[i].op_type = "If";
    as[i].name = "then_branch";
    as[i].has_type = 1;
    as[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    as[i].g = &gs[i - 1];
    ap[i] = &as[i];
    ns[i].n_attribute = 1;
    ns[i].attribute = &ap[i];
    np[i] = &ns[i];
    gs[i].n_node = 1;
    gs[i].node = &np[i];
  }
  Onnx__ModelProto m;
  onnx__model_proto__init(&m);
  m.has_ir_version = 1;
  m.ir_version = 8;
  m.graph = &gs[levels - 1];
  *len = onnx__model_proto__get_packed_size(&m);
  uint8_t *b = malloc(*len);
  onnx__model_proto__pack(&m, b);
  free(gs);
  free(ns);
  free(as);
  free(np);
  free(ap);
  return b;
}

static void test_depth_limit(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  size_t len;
  /* Model(1) > Graph(2) > Node(3) > Attribute(4) > Graph(5) > ...: 21 nested graphs put the
   * innermost at depth 2 + 3 * 20 = 62, 22 at 65 */
  uint8_t *b = nested_graphs(21, &len);
  Model *m = fe_onnx_import(b, len, "deep21.onnx", &c.d);
  assert_non_null(m);
  const Graph *g = m->graph;
  int depth = 1;
  while (g->nodes.n) {
    const Graph *sub = g->nodes.v[0]->attrs[0].g;
    assert_ptr_equal(sub->parent, g);
    g = sub;
    depth++;
  }
  assert_int_equal(depth, 21);
  roundtrip(m, NULL);
  ir_model_free(m);
  free(b);
  /* one more graph is depth 65 */
  b = nested_graphs(22, &len);
  assert_null(fe_onnx_import(b, len, "deep22.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "deep22.onnx: ModelProto nests messages deeper than 64 levels"));
  free(b);
  b = nested_graphs(100, &len);
  assert_null(fe_onnx_import(b, len, "deep100.onnx", &c.d));
  free(b);
  assert_int_equal(c.d.errors, 2);
  cap_free(&c);
}

/* The exporter refuses what the importer would refuse. */
static void test_export_depth(void **state) {
  (void)state;
  Model *m = built_model();
  Arena *a = &m->arena;
  Type *t = ir_type_tensor(a, ELEM_FLOAT, 1, (int64_t[]){2});
  for (int i = 0; i < 40; i++) {
    Type *s = ir_type_new(a, TYPE_SEQUENCE);
    s->inner = t;
    t = s;
  }
  m->graph->outputs[0]->type = t;
  Cap c;
  cap_init(&c);
  uint8_t *b;
  size_t l;
  assert_false(fe_onnx_export(m, NULL, &b, &l, &c.d));
  assert_non_null(strstr(cap_text(&c), "deeper than 64"));
  cap_free(&c);
  ir_model_free(m);
}

static void test_truncated(void **state) {
  (void)state;
  size_t len;
  uint8_t *b = slurp(DATA "features.onnx", &len);
  FILE *null = fopen("/dev/null", "w");
  int refused = 0, accepted = 0;
  for (size_t n = 0; n < len; n++) {
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, b, n);
    Diag d;
    ir_diag_init(&d, null, "cut.onnx", NULL, 0);
    Model *m = fe_onnx_import(cut, n, "cut.onnx", &d);
    if (m) {
      accepted++;
      ir_model_free(m);
    } else {
      refused++;
      assert_true(d.errors > 0);
    }
    free(cut);
  }
  /* prefixes that end between top-level fields are valid ModelProtos (without a graph
   * until the graph field is complete) */
  assert_true(refused > (int)len / 2);
  fclose(null);
  free(b);
  (void)accepted;
}

static void test_malformed(void **state) {
  (void)state;
  Cap c;
  cap_init(&c);
  /* no graph */
  static const uint8_t nograph[] = {0x08, 0x08};
  assert_null(fe_onnx_import(nograph, sizeof nograph, "m.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "no graph"));
  assert_null(fe_onnx_import((const uint8_t *)"", 0, "empty.onnx", &c.d));
  static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_null(fe_onnx_import(garbage, sizeof garbage, "g.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "malformed"));

  /* semantic errors in well-formed protobuf */
  Onnx__ModelProto m;
  onnx__model_proto__init(&m);
  Onnx__GraphProto g;
  onnx__graph_proto__init(&g);
  m.graph = &g;
  Onnx__NodeProto n1, n2, *np[2] = {&n1, &n2};
  onnx__node_proto__init(&n1);
  onnx__node_proto__init(&n2);
  char *out[] = {"v"};
  n1.op_type = n2.op_type = "Relu";
  n1.n_output = n2.n_output = 1;
  n1.output = n2.output = out;
  g.n_node = 2;
  g.node = np;
  uint8_t buf[256];
  size_t l = onnx__model_proto__pack(&m, buf);
  assert_null(fe_onnx_import(buf, l, "dup.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "'v' is already defined"));

  g.n_node = 1;
  Onnx__ValueInfoProto vi, *vip = &vi;
  onnx__value_info_proto__init(&vi);
  vi.name = "x";
  Onnx__TypeProto tp;
  onnx__type_proto__init(&tp);
  Onnx__TypeProto__Tensor tt;
  onnx__type_proto__tensor__init(&tt);
  tt.has_elem_type = 1;
  tt.elem_type = 1234;
  tp.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp.tensor_type = &tt;
  vi.type = &tp;
  g.n_input = 1;
  g.input = &vip;
  l = onnx__model_proto__pack(&m, buf);
  assert_null(fe_onnx_import(buf, l, "elem.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "unknown element type 1234"));

  g.n_input = 0;
  Onnx__AttributeProto at, *atp = &at;
  onnx__attribute_proto__init(&at);
  at.name = "k";
  n1.n_attribute = 1;
  n1.attribute = &atp;
  l = onnx__model_proto__pack(&m, buf);
  assert_null(fe_onnx_import(buf, l, "attr.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "no attribute type"));
  at.has_type = 1;
  at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  l = onnx__model_proto__pack(&m, buf);
  assert_null(fe_onnx_import(buf, l, "attr.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "tensor attribute without a value"));
  cap_free(&c);
}

/* ------------------------------------------------------------------ sniffing and loading */

static void test_sniff_and_load(void **state) {
  (void)state;
  static const char text[] = "<\n  ir_version: 8,\n  opset_import: [\"\" : 13]\n>\ng (float[2] x) => (float[2] y) {\n  y = Relu(x)\n}\n";
  assert_true(fe_sniff_text((const uint8_t *)text, sizeof text - 1));
  assert_true(fe_sniff_text((const uint8_t *)"agraph (float x) => (float y) { y = Neg(x) }", 40));
  size_t len;
  uint8_t *b = slurp(DATA "features.onnx", &len);
  assert_false(fe_sniff_text(b, len));
  free(b);
  b = slurp(DATA "big.onnx", &len);
  assert_false(fe_sniff_text(b, len));
  free(b);

  Cap c;
  cap_init(&c);
  Model *m = fe_load(DATA "convnet.onnx", &c.d);
  assert_non_null(m);
  assert_non_null(m->base_dir);
  const char *tail = "/tests/data/onnx";
  size_t bl = strlen(m->base_dir), tl = strlen(tail);
  assert_true(bl >= tl);
  assert_string_equal(m->base_dir + bl - tl, tail);
  assert_int_equal(m->graph->nodes.n, 4);
  ir_model_free(m);
  assert_null(fe_load(DATA "missing.onnx", &c.d));
  assert_non_null(strstr(cap_text(&c), "missing.onnx"));

  /* text is parsed, whatever the extension */
  char dir[] = "/tmp/effc_load_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  m = fe_load(path, &c.d);
  assert_non_null(m);
  assert_int_equal(m->graph->nodes.n, 1);
  assert_string_equal(m->graph->nodes.v[0]->op_type, "Relu");
  assert_string_equal(m->base_dir, dir);
  ir_model_free(m);
  remove(path);
  rmdir(dir);
  cap_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_features_header),
      cmocka_unit_test(test_features_graph),
      cmocka_unit_test(test_features_initializers),
      cmocka_unit_test(test_features_nodes),
      cmocka_unit_test(test_function_graph_default),
      cmocka_unit_test(test_fixed_point),
      cmocka_unit_test(test_export_options),
      cmocka_unit_test(test_builder_export),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_export_depth),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_sniff_and_load),
  };
  return cmocka_run_group_tests_name("onnx", tests, NULL, NULL);
}

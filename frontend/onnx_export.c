/* onnx_export.c - the IR to .onnx (ModelProto bytes packed by protobuf-c): tensors as
 * raw_data (strings in string_data), external references as external_data entries,
 * unmodelled fields re-emitted from `extra`, an optional ir_version override and the
 * stripping of __effc_* attributes. Deterministic: export(import(export(x))) == export(x). */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

typedef struct Exp {
  Arena s; /* every protobuf-c struct built here; freed after packing */
  const ExportOptions *opt;
  Diag *d;
} Exp;

#define NEW(E, T) ((T *)ir_arena_alloc(&(E)->s, sizeof(T)))
#define ARR(E, T, n) ((n) ? (T *)ir_arena_alloc(&(E)->s, (size_t)(n) * sizeof(T)) : NULL)

static char *cs(const char *s) {
  return (char *)s;
}

/* Every message is created at a known wire depth; refusing depths the importer would refuse
 * bounds the recursion here and keeps exported files importable. */
static bool deep(Exp *E, int depth) {
  if (depth <= IR_PB_MAX_DEPTH) return false;
  ir_error(E->d, ir_noloc, "the model nests graphs or types deeper than %d protobuf levels",
           IR_PB_MAX_DEPTH);
  return true;
}

static bool extra(Exp *E, ProtobufCMessage *m, IrBytes x) {
  if (ir_pb_attach_extra(&E->s, m, x)) return true;
  ir_error(E->d, ir_noloc, "unmodelled fields of a %s are not valid wire data",
           m->descriptor->short_name);
  return false;
}

static Onnx__StringStringEntryProto **pairs(Exp *E, const StrPair *p, int n, size_t *n_out) {
  *n_out = n > 0 ? (size_t)n : 0;
  if (n <= 0) return NULL;
  Onnx__StringStringEntryProto **v = ARR(E, Onnx__StringStringEntryProto *, n);
  for (int i = 0; i < n; i++) {
    v[i] = NEW(E, Onnx__StringStringEntryProto);
    onnx__string_string_entry_proto__init(v[i]);
    v[i]->key = cs(p[i].key ? p[i].key : "");
    v[i]->value = cs(p[i].value ? p[i].value : "");
  }
  return v;
}

/* ------------------------------------------------------------------ types */

static Onnx__TensorShapeProto *shape_out(Exp *E, const Type *t) {
  if (t->rank < 0) return NULL;
  Onnx__TensorShapeProto *s = NEW(E, Onnx__TensorShapeProto);
  onnx__tensor_shape_proto__init(s);
  s->n_dim = (size_t)t->rank;
  s->dim = ARR(E, Onnx__TensorShapeProto__Dimension *, t->rank);
  for (int i = 0; i < t->rank; i++) {
    Onnx__TensorShapeProto__Dimension *dp = NEW(E, Onnx__TensorShapeProto__Dimension);
    onnx__tensor_shape_proto__dimension__init(dp);
    const Dim *dd = &t->dims[i];
    if (dd->param) {
      dp->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      dp->dim_param = cs(dd->param);
    } else if (dd->value >= 0) {
      dp->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dp->dim_value = dd->value;
    }
    dp->denotation = cs(dd->denotation);
    s->dim[i] = dp;
  }
  return s;
}

/* A TypeProto at wire depth `depth`; *ok false on error. */
static Onnx__TypeProto *type_out(Exp *E, const Type *t, int depth, bool *ok) {
  if (!t || !*ok) return NULL;
  if (deep(E, depth + 3)) return *ok = false, NULL;
  Onnx__TypeProto *tp = NEW(E, Onnx__TypeProto);
  onnx__type_proto__init(tp);
  tp->denotation = cs(t->denotation);
  switch (t->kind) {
  case TYPE_TENSOR: {
    Onnx__TypeProto__Tensor *tt = NEW(E, Onnx__TypeProto__Tensor);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = t->elem != ELEM_UNDEFINED;
    tt->elem_type = (int32_t)t->elem;
    tt->shape = shape_out(E, t);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    break;
  }
  case TYPE_SPARSE: {
    Onnx__TypeProto__SparseTensor *tt = NEW(E, Onnx__TypeProto__SparseTensor);
    onnx__type_proto__sparse_tensor__init(tt);
    tt->has_elem_type = t->elem != ELEM_UNDEFINED;
    tt->elem_type = (int32_t)t->elem;
    tt->shape = shape_out(E, t);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE;
    tp->sparse_tensor_type = tt;
    break;
  }
  case TYPE_SEQUENCE: {
    Onnx__TypeProto__Sequence *st = NEW(E, Onnx__TypeProto__Sequence);
    onnx__type_proto__sequence__init(st);
    st->elem_type = type_out(E, t->inner, depth + 2, ok);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    tp->sequence_type = st;
    break;
  }
  case TYPE_OPTIONAL: {
    Onnx__TypeProto__Optional *ot = NEW(E, Onnx__TypeProto__Optional);
    onnx__type_proto__optional__init(ot);
    ot->elem_type = type_out(E, t->inner, depth + 2, ok);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
    tp->optional_type = ot;
    break;
  }
  case TYPE_MAP: {
    Onnx__TypeProto__Map *mt = NEW(E, Onnx__TypeProto__Map);
    onnx__type_proto__map__init(mt);
    mt->has_key_type = t->elem != ELEM_UNDEFINED;
    mt->key_type = (int32_t)t->elem;
    mt->value_type = type_out(E, t->inner, depth + 2, ok);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_MAP_TYPE;
    tp->map_type = mt;
    break;
  }
  case TYPE_OPAQUE: {
    Onnx__TypeProto__Opaque *ot = NEW(E, Onnx__TypeProto__Opaque);
    onnx__type_proto__opaque__init(ot);
    ot->domain = cs(t->opaque_domain);
    ot->name = cs(t->opaque_name);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE;
    tp->opaque_type = ot;
    break;
  }
  default:
    ir_error(E->d, ir_noloc, "invalid type kind %d", (int)t->kind);
    *ok = false;
    return NULL;
  }
  return tp;
}

static Onnx__ValueInfoProto *vi_out(Exp *E, const Value *v, int depth) {
  if (deep(E, depth + 1)) return NULL;
  Onnx__ValueInfoProto *vi = NEW(E, Onnx__ValueInfoProto);
  onnx__value_info_proto__init(vi);
  vi->name = cs(v->name);
  vi->doc_string = cs(v->doc_string);
  bool ok = true;
  vi->type = type_out(E, v->type, depth + 1, &ok);
  vi->metadata_props = pairs(E, v->metadata_props, v->n_metadata_props, &vi->n_metadata_props);
  if (!ok || !extra(E, &vi->base, v->extra)) return NULL;
  return vi;
}

/* ------------------------------------------------------------------ tensors */

static Onnx__TensorProto *tensor_out(Exp *E, const Tensor *t, const char *name, int depth) {
  if (deep(E, depth + 1)) return NULL;
  Onnx__TensorProto *p = NEW(E, Onnx__TensorProto);
  if (!ir_tensor_to_proto(&E->s, t, p, E->d)) return NULL;
  if (name) p->name = cs(name);
  return p;
}

static Onnx__SparseTensorProto *sparse_out(Exp *E, const SparseTensor *t, const char *name, int depth) {
  if (deep(E, depth + 2)) return NULL;
  Onnx__SparseTensorProto *p = NEW(E, Onnx__SparseTensorProto);
  if (!ir_sparse_to_proto(&E->s, t, p, E->d)) return NULL;
  if (name) p->values->name = cs(name);
  return p;
}

/* ------------------------------------------------------------------ graphs */

static Onnx__GraphProto *graph_out(Exp *E, const Graph *g, int depth);

static bool is_effc_attr(const Attr *a) {
  return a->name && !strncmp(a->name, "__effc_", 7);
}

static Onnx__AttributeProto *attr_out(Exp *E, const Attr *a, int depth) {
  if (deep(E, depth)) return NULL;
  int e0 = E->d->errors;
  Onnx__AttributeProto *p = NEW(E, Onnx__AttributeProto);
  onnx__attribute_proto__init(p);
  p->name = cs(a->name ? a->name : "");
  p->doc_string = cs(a->doc_string);
  p->ref_attr_name = cs(a->ref_attr_name);
  if ((int)a->type <= 0 || a->type >= ATTR_COUNT) {
    ir_error(E->d, ir_noloc, "attribute '%s': invalid type %d", p->name, (int)a->type);
    return NULL;
  }
  p->has_type = 1;
  p->type = (Onnx__AttributeProto__AttributeType)a->type;
  if (!extra(E, &p->base, a->extra)) return NULL;
  if (a->ref_attr_name) return p;
  bool ok = true;
  size_t n = a->n;
  switch (a->type) {
  case ATTR_FLOAT: p->has_f = 1; p->f = a->f; break;
  case ATTR_INT: p->has_i = 1; p->i = a->i; break;
  case ATTR_STRING:
    p->has_s = 1;
    p->s.len = a->s.len;
    p->s.data = (uint8_t *)(a->s.s ? a->s.s : "");
    break;
  case ATTR_TENSOR: ok = a->t && (p->t = tensor_out(E, a->t, NULL, depth + 1)); break;
  case ATTR_GRAPH: ok = a->g && (p->g = graph_out(E, a->g, depth + 1)); break;
  case ATTR_SPARSE_TENSOR: ok = a->sparse && (p->sparse_tensor = sparse_out(E, a->sparse, NULL, depth + 1)); break;
  case ATTR_TYPE_PROTO: p->tp = type_out(E, a->tp, depth + 1, &ok); ok = ok && p->tp; break;
  case ATTR_FLOATS: p->n_floats = n; p->floats = a->floats; break;
  case ATTR_INTS: p->n_ints = n; p->ints = a->ints; break;
  case ATTR_STRINGS:
    p->n_strings = n;
    p->strings = ARR(E, ProtobufCBinaryData, n);
    for (size_t k = 0; k < n; k++) {
      p->strings[k].len = a->strings[k].len;
      p->strings[k].data = (uint8_t *)(a->strings[k].s ? a->strings[k].s : "");
    }
    break;
  case ATTR_TENSORS:
    p->n_tensors = n;
    p->tensors = ARR(E, Onnx__TensorProto *, n);
    for (size_t k = 0; k < n && ok; k++) ok = a->tensors[k] && (p->tensors[k] = tensor_out(E, a->tensors[k], NULL, depth + 1));
    break;
  case ATTR_GRAPHS:
    p->n_graphs = n;
    p->graphs = ARR(E, Onnx__GraphProto *, n);
    for (size_t k = 0; k < n && ok; k++) ok = a->graphs[k] && (p->graphs[k] = graph_out(E, a->graphs[k], depth + 1));
    break;
  case ATTR_SPARSE_TENSORS:
    p->n_sparse_tensors = n;
    p->sparse_tensors = ARR(E, Onnx__SparseTensorProto *, n);
    for (size_t k = 0; k < n && ok; k++)
      ok = a->sparses[k] && (p->sparse_tensors[k] = sparse_out(E, a->sparses[k], NULL, depth + 1));
    break;
  case ATTR_TYPE_PROTOS:
    p->n_type_protos = n;
    p->type_protos = ARR(E, Onnx__TypeProto *, n);
    for (size_t k = 0; k < n && ok; k++) {
      p->type_protos[k] = type_out(E, a->types[k], depth + 1, &ok);
      ok = ok && p->type_protos[k];
    }
    break;
  default:
    break;
  }
  if (!ok) {
    if (E->d->errors == e0) ir_error(E->d, ir_noloc, "attribute '%s' has no value", p->name);
    return NULL;
  }
  return p;
}

static char *value_name(const Value *v) {
  return cs(v ? v->name : "");
}

static Onnx__NodeProto *node_out(Exp *E, const Node *n, int depth) {
  if (deep(E, depth)) return NULL;
  Onnx__NodeProto *p = NEW(E, Onnx__NodeProto);
  onnx__node_proto__init(p);
  /* trailing missing inputs are dropped, as the printer does, so both forms agree */
  int last = n->n_inputs;
  while (last > 0 && !n->inputs[last - 1]) last--;
  p->n_input = (size_t)last;
  p->input = ARR(E, char *, p->n_input);
  for (size_t i = 0; i < p->n_input; i++) p->input[i] = value_name(n->inputs[i]);
  p->n_output = n->n_outputs > 0 ? (size_t)n->n_outputs : 0;
  p->output = ARR(E, char *, p->n_output);
  for (size_t i = 0; i < p->n_output; i++) p->output[i] = value_name(n->outputs[i]);
  p->name = cs(n->name);
  p->op_type = cs(n->op_type ? n->op_type : "");
  p->domain = n->domain && *n->domain ? cs(n->domain) : NULL;
  p->overload = cs(n->overload);
  p->doc_string = cs(n->doc_string);
  p->metadata_props = pairs(E, n->metadata_props, n->n_metadata_props, &p->n_metadata_props);
  p->attribute = ARR(E, Onnx__AttributeProto *, n->n_attrs);
  for (int k = 0; k < n->n_attrs; k++) {
    if (E->opt->strip_effc && is_effc_attr(&n->attrs[k])) continue;
    if (!(p->attribute[p->n_attribute++] = attr_out(E, &n->attrs[k], depth + 1))) return NULL;
  }
  if (!extra(E, &p->base, n->extra)) return NULL;
  return p;
}

static bool value_infos_out(Exp *E, const Graph *g, int depth, Onnx__ValueInfoProto ***out, size_t *n) {
  *n = g->value_infos.n;
  *out = ARR(E, Onnx__ValueInfoProto *, *n);
  for (size_t i = 0; i < *n; i++)
    if (!((*out)[i] = vi_out(E, g->value_infos.v[i], depth))) return false;
  return true;
}

static bool nodes_out(Exp *E, const Graph *g, int depth, Onnx__NodeProto ***out, size_t *n) {
  *n = g->nodes.n;
  *out = ARR(E, Onnx__NodeProto *, *n);
  for (size_t i = 0; i < *n; i++)
    if (!((*out)[i] = node_out(E, g->nodes.v[i], depth))) return false;
  return true;
}

static Onnx__GraphProto *graph_out(Exp *E, const Graph *g, int depth) {
  if (deep(E, depth)) return NULL;
  int e0 = E->d->errors;
  Onnx__GraphProto *p = NEW(E, Onnx__GraphProto);
  onnx__graph_proto__init(p);
  p->name = cs(g->name);
  p->doc_string = cs(g->doc_string);
  if (!nodes_out(E, g, depth + 1, &p->node, &p->n_node)) return NULL;
  size_t nd = 0, ns = 0;
  for (size_t i = 0; i < g->initializers.n; i++) {
    if (g->initializers.v[i]->sparse_init) ns++;
    else nd++;
  }
  p->initializer = ARR(E, Onnx__TensorProto *, nd);
  p->sparse_initializer = ARR(E, Onnx__SparseTensorProto *, ns);
  for (size_t i = 0; i < g->initializers.n; i++) {
    const Value *v = g->initializers.v[i];
    if (v->sparse_init) {
      if (!(p->sparse_initializer[p->n_sparse_initializer++] = sparse_out(E, v->sparse_init, v->name, depth + 1)))
        return NULL;
    } else if (v->init) {
      if (!(p->initializer[p->n_initializer++] = tensor_out(E, v->init, v->name, depth + 1))) return NULL;
    } else {
      ir_error(E->d, ir_noloc, "graph '%s': initializer '%s' has no tensor", g->name ? g->name : "", v->name);
      return NULL;
    }
  }
  p->n_input = g->n_inputs > 0 ? (size_t)g->n_inputs : 0;
  p->input = ARR(E, Onnx__ValueInfoProto *, p->n_input);
  for (size_t i = 0; i < p->n_input; i++)
    if (!g->inputs[i] || !(p->input[i] = vi_out(E, g->inputs[i], depth + 1))) goto bad_io;
  p->n_output = g->n_outputs > 0 ? (size_t)g->n_outputs : 0;
  p->output = ARR(E, Onnx__ValueInfoProto *, p->n_output);
  for (size_t i = 0; i < p->n_output; i++)
    if (!g->outputs[i] || !(p->output[i] = vi_out(E, g->outputs[i], depth + 1))) goto bad_io;
  if (!value_infos_out(E, g, depth + 1, &p->value_info, &p->n_value_info)) return NULL;
  p->metadata_props = pairs(E, g->metadata_props, g->n_metadata_props, &p->n_metadata_props);
  if (!extra(E, &p->base, g->extra)) return NULL;
  return p;
bad_io:
  if (E->d->errors == e0)
    ir_error(E->d, ir_noloc, "graph '%s': missing input or output", g->name ? g->name : "");
  return NULL;
}

static Onnx__OperatorSetIdProto **opsets_out(Exp *E, const OpsetImport *o, int n, size_t *n_out) {
  *n_out = n > 0 ? (size_t)n : 0;
  Onnx__OperatorSetIdProto **v = ARR(E, Onnx__OperatorSetIdProto *, *n_out);
  for (size_t i = 0; i < *n_out; i++) {
    v[i] = NEW(E, Onnx__OperatorSetIdProto);
    onnx__operator_set_id_proto__init(v[i]);
    v[i]->domain = cs(o[i].domain ? o[i].domain : "");
    v[i]->has_version = 1;
    v[i]->version = o[i].version;
  }
  return v;
}

static Onnx__FunctionProto *func_out(Exp *E, const Function *f) {
  const int depth = 2;
  Onnx__FunctionProto *p = NEW(E, Onnx__FunctionProto);
  onnx__function_proto__init(p);
  const Graph *b = f->body;
  if (!b) {
    ir_error(E->d, ir_noloc, "function '%s' has no body", f->name ? f->name : "");
    return NULL;
  }
  p->name = cs(f->name ? f->name : "");
  p->domain = cs(f->domain ? f->domain : "");
  p->overload = cs(f->overload);
  p->doc_string = cs(f->doc_string);
  p->n_input = b->n_inputs > 0 ? (size_t)b->n_inputs : 0;
  p->input = ARR(E, char *, p->n_input);
  for (size_t i = 0; i < p->n_input; i++) p->input[i] = value_name(b->inputs[i]);
  p->n_output = b->n_outputs > 0 ? (size_t)b->n_outputs : 0;
  p->output = ARR(E, char *, p->n_output);
  for (size_t i = 0; i < p->n_output; i++) p->output[i] = value_name(b->outputs[i]);
  p->n_attribute = f->n_attr_names > 0 ? (size_t)f->n_attr_names : 0;
  p->attribute = ARR(E, char *, p->n_attribute);
  for (size_t i = 0; i < p->n_attribute; i++) p->attribute[i] = cs(f->attr_names[i]);
  p->n_attribute_proto = f->n_attr_defaults > 0 ? (size_t)f->n_attr_defaults : 0;
  p->attribute_proto = ARR(E, Onnx__AttributeProto *, p->n_attribute_proto);
  for (size_t i = 0; i < p->n_attribute_proto; i++)
    if (!(p->attribute_proto[i] = attr_out(E, &f->attr_defaults[i], depth + 1))) return NULL;
  if (!nodes_out(E, b, depth + 1, &p->node, &p->n_node)) return NULL;
  p->opset_import = opsets_out(E, f->opsets, f->n_opsets, &p->n_opset_import);
  if (!value_infos_out(E, b, depth + 1, &p->value_info, &p->n_value_info)) return NULL;
  p->metadata_props = pairs(E, f->metadata_props, f->n_metadata_props, &p->n_metadata_props);
  if (!extra(E, &p->base, f->extra)) return NULL;
  return p;
}

static Onnx__ModelProto *model_out(Exp *E, const Model *m) {
  Onnx__ModelProto *p = NEW(E, Onnx__ModelProto);
  onnx__model_proto__init(p);
  p->has_ir_version = m->has_ir_version || E->opt->ir_version;
  p->ir_version = E->opt->ir_version ? E->opt->ir_version : m->ir_version;
  p->opset_import = opsets_out(E, m->opsets, m->n_opsets, &p->n_opset_import);
  p->producer_name = cs(m->producer_name);
  p->producer_version = cs(m->producer_version);
  p->domain = cs(m->domain);
  p->has_model_version = m->has_model_version;
  p->model_version = m->model_version;
  p->doc_string = cs(m->doc_string);
  p->metadata_props = pairs(E, m->metadata_props, m->n_metadata_props, &p->n_metadata_props);
  if (!m->graph) {
    ir_error(E->d, ir_noloc, "the model has no graph");
    return NULL;
  }
  if (!(p->graph = graph_out(E, m->graph, 2))) return NULL;
  p->n_functions = m->n_functions > 0 ? (size_t)m->n_functions : 0;
  p->functions = ARR(E, Onnx__FunctionProto *, p->n_functions);
  for (size_t i = 0; i < p->n_functions; i++)
    if (!m->functions[i] || !(p->functions[i] = func_out(E, m->functions[i]))) return NULL;
  if (!extra(E, &p->base, m->extra)) return NULL;
  return p;
}

bool fe_onnx_export(const Model *m, const ExportOptions *opt, uint8_t **out, size_t *out_len, Diag *d) {
  static const ExportOptions defaults = {0, false};
  Exp E = {.opt = opt ? opt : &defaults, .d = d};
  ir_arena_init(&E.s);
  *out = NULL;
  *out_len = 0;
  int errors = d->errors;
  bool ok = false;
  Onnx__ModelProto *p = model_out(&E, m);
  if (p && d->errors == errors) {
    size_t n = onnx__model_proto__get_packed_size(p);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
      ir_error(d, ir_noloc, "out of memory packing %zu bytes", n);
    } else if (onnx__model_proto__pack(p, buf) != n) {
      ir_error(d, ir_noloc, "internal error: protobuf packing size mismatch");
      free(buf);
    } else if (!ir_pb_depth_ok(&onnx__model_proto__descriptor, buf, n, IR_PB_MAX_DEPTH)) {
      ir_error(d, ir_noloc, "the exported model nests deeper than %d protobuf levels", IR_PB_MAX_DEPTH);
      free(buf);
    } else {
      *out = buf;
      *out_len = n;
      ok = true;
    }
  } else if (d->errors == errors) {
    ir_error(d, ir_noloc, "cannot export the model");
  }
  ir_arena_free(&E.s);
  return ok;
}

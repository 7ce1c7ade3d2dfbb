/* onnx_import.c - .onnx (ModelProto) into the IR: header, opsets, metadata, graphs (inputs,
 * outputs, value_info, dense and sparse initializers in order, nodes, attributes of every
 * type, nested graphs), model-local functions; fields the IR does not model are kept as raw
 * wire bytes in `extra`. Depth is pre-scanned (IR_PB_MAX_DEPTH), so the recursion over
 * nested graphs and types here is bounded. */
#include "frontend.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

typedef struct Imp {
  Model *m;
  Arena *a;
  IrPbUnpack *u;
  const char *path;
  Diag *d;
  bool warned_dropped;
} Imp;

static void imp_error(Imp *I, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void imp_error(Imp *I, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (I->path && !(I->d->file && !strcmp(I->d->file, I->path)))
    ir_error(I->d, ir_noloc, "%s: %s", I->path, msg);
  else
    ir_error(I->d, ir_noloc, "%s", msg);
}

/* Unknown fields where the IR has no `extra` (types, dims, opset ids, key/value pairs). */
static void check_dropped(Imp *I, const ProtobufCMessage *m) {
  if (!m || !m->n_unknown_fields || I->warned_dropped) return;
  I->warned_dropped = true;
  ir_warning(I->d, ir_noloc, "%s: unknown fields in a %s are not kept", I->path ? I->path : "model",
             m->descriptor->short_name);
}

static const char *str(Imp *I, const char *s) {
  return ir_arena_strdup(I->a, s);
}

/* "" and absent both mean "none" for these optional names. */
static const char *str_or_null(Imp *I, const char *s) {
  return s && *s ? ir_arena_strdup(I->a, s) : NULL;
}

static bool count_ok(Imp *I, size_t n, const char *what) {
  if (n <= INT_MAX) return true;
  imp_error(I, "too many %s", what);
  return false;
}

static bool pairs(Imp *I, Onnx__StringStringEntryProto *const *e, size_t n, StrPair **out,
                  int *n_out) {
  *out = NULL;
  *n_out = 0;
  if (!n) return true;
  if (!count_ok(I, n, "metadata entries")) return false;
  StrPair *p = ir_arena_alloc(I->a, n * sizeof *p);
  for (size_t i = 0; i < n; i++) {
    check_dropped(I, &e[i]->base);
    p[i].key = str(I, e[i]->key ? e[i]->key : "");
    p[i].value = str(I, e[i]->value ? e[i]->value : "");
  }
  *out = p;
  *n_out = (int)n;
  return true;
}

/* ------------------------------------------------------------------ types */

static bool elem_ok(Imp *I, int32_t e, bool has, ElemType *out, const char *ctx) {
  if (!has || e == 0) {
    *out = ELEM_UNDEFINED;
    return true;
  }
  if (!ir_elem_valid(e)) {
    imp_error(I, "%s: unknown element type %d", ctx, (int)e);
    return false;
  }
  *out = (ElemType)e;
  return true;
}

static bool shape_conv(Imp *I, Type *t, const Onnx__TensorShapeProto *s, const char *ctx) {
  if (!s) {
    t->rank = -1;
    return true;
  }
  check_dropped(I, &s->base);
  if (!count_ok(I, s->n_dim, "dimensions")) return false;
  t->rank = (int)s->n_dim;
  t->dims = s->n_dim ? ir_arena_alloc(I->a, s->n_dim * sizeof *t->dims) : NULL;
  for (size_t i = 0; i < s->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *dp = s->dim[i];
    Dim *dd = &t->dims[i];
    check_dropped(I, &dp->base);
    dd->value = -1;
    if (dp->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      dd->value = dp->dim_value >= 0 ? dp->dim_value : -1;
    else if (dp->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
      dd->param = str(I, dp->dim_param ? dp->dim_param : "");
    dd->denotation = str(I, dp->denotation);
  }
  (void)ctx;
  return true;
}

/* NULL with *ok = true: no type (absent, or a TypeProto with no value set). */
static Type *type_conv(Imp *I, const Onnx__TypeProto *tp, const char *ctx, bool *ok) {
  *ok = true;
  if (!tp) return NULL;
  check_dropped(I, &tp->base);
  Type *t = NULL;
  switch (tp->value_case) {
  case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
  case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: {
    bool sparse = tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE;
    const ProtobufCMessage *base;
    int32_t et;
    bool has;
    const Onnx__TensorShapeProto *shape;
    if (sparse) {
      base = &tp->sparse_tensor_type->base;
      et = tp->sparse_tensor_type->elem_type;
      has = tp->sparse_tensor_type->has_elem_type;
      shape = tp->sparse_tensor_type->shape;
    } else {
      base = &tp->tensor_type->base;
      et = tp->tensor_type->elem_type;
      has = tp->tensor_type->has_elem_type;
      shape = tp->tensor_type->shape;
    }
    check_dropped(I, base);
    t = ir_type_new(I->a, sparse ? TYPE_SPARSE : TYPE_TENSOR);
    if (!elem_ok(I, et, has, &t->elem, ctx) || !shape_conv(I, t, shape, ctx)) return *ok = false, NULL;
    break;
  }
  case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
    check_dropped(I, &tp->sequence_type->base);
    t = ir_type_new(I->a, TYPE_SEQUENCE);
    t->inner = type_conv(I, tp->sequence_type->elem_type, ctx, ok);
    if (!*ok) return NULL;
    break;
  case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
    check_dropped(I, &tp->optional_type->base);
    t = ir_type_new(I->a, TYPE_OPTIONAL);
    t->inner = type_conv(I, tp->optional_type->elem_type, ctx, ok);
    if (!*ok) return NULL;
    break;
  case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
    check_dropped(I, &tp->map_type->base);
    t = ir_type_new(I->a, TYPE_MAP);
    if (!elem_ok(I, tp->map_type->key_type, tp->map_type->has_key_type, &t->elem, ctx))
      return *ok = false, NULL;
    t->inner = type_conv(I, tp->map_type->value_type, ctx, ok);
    if (!*ok) return NULL;
    break;
  case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE:
    check_dropped(I, &tp->opaque_type->base);
    t = ir_type_new(I->a, TYPE_OPAQUE);
    t->opaque_domain = str(I, tp->opaque_type->domain);
    t->opaque_name = str(I, tp->opaque_type->name);
    break;
  default:
    return NULL;
  }
  t->denotation = str(I, tp->denotation);
  return t;
}

/* Type, doc_string, metadata and unmodelled fields of a ValueInfoProto, onto v (the first
 * ValueInfoProto naming a value gives each of them). */
static bool value_info(Imp *I, Value *v, const Onnx__ValueInfoProto *vi, const char *ctx) {
  bool ok;
  Type *t = type_conv(I, vi->type, ctx, &ok);
  if (!ok) return false;
  if (!v->type) v->type = t;
  if (!v->doc_string) v->doc_string = str(I, vi->doc_string);
  if (!v->n_metadata_props &&
      !pairs(I, vi->metadata_props, vi->n_metadata_props, &v->metadata_props, &v->n_metadata_props))
    return false;
  if (!v->extra.len) v->extra = ir_pb_extra(I->a, &vi->base, NULL, 0);
  return true;
}

/* ------------------------------------------------------------------ graphs */

/* Graphs are linked into the model (m->graph, an attribute, a function) as soon as they are
 * created, so ir_model_free finds and frees their tables if the import fails half-way. */
static bool graph_fill(Imp *I, Graph *g, const Onnx__GraphProto *gp);

static Graph *new_subgraph(Imp *I, const Onnx__GraphProto *gp, Graph *parent, Node *owner) {
  Graph *g = ir_graph_new(I->m, parent, str(I, gp->name));
  g->parent_node = owner;
  return g;
}

static bool attr_conv(Imp *I, Attr *at, const Onnx__AttributeProto *ap, Graph *g, Node *owner,
                      const char *ctx) {
  char c2[1024];
  if (!ap->name) {
    imp_error(I, "%s: attribute without a name", ctx);
    return false;
  }
  snprintf(c2, sizeof c2, "%.500s, attribute '%.400s'", ctx, ap->name);
  at->name = str(I, ap->name);
  at->doc_string = str(I, ap->doc_string);
  at->ref_attr_name = str_or_null(I, ap->ref_attr_name);
  at->extra = ir_pb_extra(I->a, &ap->base, NULL, 0);
  int type = ap->has_type ? (int)ap->type : 0;
  if (!ap->has_type) {
    /* IR version 1 files have no type field: take it from the field that is set */
    if (ap->has_f) type = ATTR_FLOAT;
    else if (ap->has_i) type = ATTR_INT;
    else if (ap->has_s) type = ATTR_STRING;
    else if (ap->t) type = ATTR_TENSOR;
    else if (ap->g) type = ATTR_GRAPH;
    else if (ap->sparse_tensor) type = ATTR_SPARSE_TENSOR;
    else if (ap->tp) type = ATTR_TYPE_PROTO;
    else if (ap->n_floats) type = ATTR_FLOATS;
    else if (ap->n_ints) type = ATTR_INTS;
    else if (ap->n_strings) type = ATTR_STRINGS;
    else if (ap->n_tensors) type = ATTR_TENSORS;
    else if (ap->n_graphs) type = ATTR_GRAPHS;
    else if (ap->n_sparse_tensors) type = ATTR_SPARSE_TENSORS;
    else if (ap->n_type_protos) type = ATTR_TYPE_PROTOS;
  }
  if (type <= 0 || type >= ATTR_COUNT) {
    imp_error(I, "%s: %s attribute type %d", c2, ap->has_type ? "unknown" : "no", type);
    return false;
  }
  at->type = (AttrType)type;
  if (at->ref_attr_name) return true;
  Arena *a = I->a;
  bool ok = true;
  size_t n = 0;
  switch (at->type) {
  case ATTR_FLOAT: at->f = ap->f; break;
  case ATTR_INT: at->i = ap->i; break;
  case ATTR_STRING: at->s = ir_str(a, (const char *)ap->s.data, ap->s.len); break;
  case ATTR_TENSOR:
    if (!ap->t) break;
    ok = (at->t = ir_tensor_from_proto_u(I->u, a, ap->t, c2, I->d)) != NULL;
    break;
  case ATTR_GRAPH:
    if (!ap->g) break;
    at->g = new_subgraph(I, ap->g, g, owner);
    ok = graph_fill(I, at->g, ap->g);
    break;
  case ATTR_SPARSE_TENSOR:
    if (!ap->sparse_tensor) break;
    ok = (at->sparse = ir_sparse_from_proto_u(I->u, a, ap->sparse_tensor, c2, I->d)) != NULL;
    break;
  case ATTR_TYPE_PROTO:
    at->tp = type_conv(I, ap->tp, c2, &ok);
    break;
  case ATTR_FLOATS:
    n = ap->n_floats;
    at->floats = n ? ir_arena_dup(a, ap->floats, n * sizeof *ap->floats) : NULL;
    break;
  case ATTR_INTS:
    n = ap->n_ints;
    at->ints = n ? ir_arena_dup(a, ap->ints, n * sizeof *ap->ints) : NULL;
    break;
  case ATTR_STRINGS:
    n = ap->n_strings;
    at->strings = n ? ir_arena_alloc(a, n * sizeof *at->strings) : NULL;
    for (size_t k = 0; k < n; k++)
      at->strings[k] = ir_str(a, (const char *)ap->strings[k].data, ap->strings[k].len);
    break;
  case ATTR_TENSORS:
    n = ap->n_tensors;
    at->tensors = n ? ir_arena_alloc(a, n * sizeof *at->tensors) : NULL;
    for (size_t k = 0; k < n && ok; k++)
      ok = (at->tensors[k] = ir_tensor_from_proto_u(I->u, a, ap->tensors[k], c2, I->d)) != NULL;
    break;
  case ATTR_GRAPHS:
    n = at->n = ap->n_graphs;
    at->graphs = n ? ir_arena_alloc(a, n * sizeof *at->graphs) : NULL;
    for (size_t k = 0; k < n && ok; k++) {
      at->graphs[k] = new_subgraph(I, ap->graphs[k], g, owner);
      ok = graph_fill(I, at->graphs[k], ap->graphs[k]);
    }
    break;
  case ATTR_SPARSE_TENSORS:
    n = ap->n_sparse_tensors;
    at->sparses = n ? ir_arena_alloc(a, n * sizeof *at->sparses) : NULL;
    for (size_t k = 0; k < n && ok; k++)
      ok = (at->sparses[k] = ir_sparse_from_proto_u(I->u, a, ap->sparse_tensors[k], c2, I->d)) != NULL;
    break;
  case ATTR_TYPE_PROTOS:
    n = ap->n_type_protos;
    at->types = n ? ir_arena_alloc(a, n * sizeof *at->types) : NULL;
    for (size_t k = 0; k < n && ok; k++) at->types[k] = type_conv(I, ap->type_protos[k], c2, &ok);
    break;
  default:
    break;
  }
  at->n = n;
  if (ok && ((at->type == ATTR_TENSOR && !at->t) || (at->type == ATTR_GRAPH && !at->g) ||
             (at->type == ATTR_SPARSE_TENSOR && !at->sparse) ||
             (at->type == ATTR_TYPE_PROTO && !at->tp))) {
    imp_error(I, "%s: %s attribute without a value", c2, ir_attr_type_name(at->type));
    return false;
  }
  return ok;
}

static const uint32_t node_unmodelled[] = {10 /* device_configurations */};

static bool node_conv(Imp *I, Graph *g, const Onnx__NodeProto *np, size_t idx) {
  char ctx[512];
  snprintf(ctx, sizeof ctx, "graph '%.150s', node %zu (%.150s%s%.150s)", g->name ? g->name : "", idx,
           np->op_type ? np->op_type : "?", np->name ? " " : "", np->name ? np->name : "");
  if (!count_ok(I, np->n_input, "node inputs") || !count_ok(I, np->n_output, "node outputs") ||
      !count_ok(I, np->n_attribute, "attributes"))
    return false;
  if (!np->op_type) {
    imp_error(I, "%s: node without op_type", ctx);
    return false;
  }
  Node *n = ir_node_new(g, str(I, np->domain ? np->domain : ""), str(I, np->op_type),
                        (int)np->n_input, (int)np->n_output);
  n->name = str(I, np->name);
  n->overload = str_or_null(I, np->overload);
  n->doc_string = str(I, np->doc_string);
  if (!pairs(I, np->metadata_props, np->n_metadata_props, &n->metadata_props, &n->n_metadata_props))
    return false;
  n->extra = ir_pb_extra(I->a, &np->base, node_unmodelled, 1);
  ir_node_append(g, n);
  for (size_t i = 0; i < np->n_input; i++) {
    const char *nm = np->input[i];
    if (nm && *nm) ir_node_set_input(n, (int)i, ir_graph_use(g, str(I, nm), ir_noloc));
  }
  n->n_attrs = (int)np->n_attribute;
  n->attrs = np->n_attribute ? ir_arena_alloc(I->a, np->n_attribute * sizeof *n->attrs) : NULL;
  for (size_t k = 0; k < np->n_attribute; k++)
    if (!attr_conv(I, &n->attrs[k], np->attribute[k], g, n, ctx)) return false;
  for (size_t i = 0; i < np->n_output; i++) {
    const char *nm = np->output[i];
    if (!nm || !*nm) continue;
    Value *v = ir_graph_def(g, str(I, nm), ir_noloc);
    if (!v) {
      imp_error(I, "%s: '%s' is already defined in this graph", ctx, nm);
      return false;
    }
    ir_node_set_output(n, (int)i, v);
  }
  return true;
}

static bool value_infos(Imp *I, Graph *g, Onnx__ValueInfoProto *const *vis, size_t n,
                        const char *ctx) {
  for (size_t i = 0; i < n; i++) {
    const Onnx__ValueInfoProto *vi = vis[i];
    if (!vi->name || !*vi->name) {
      imp_error(I, "%s: value_info without a name", ctx);
      return false;
    }
    Value *v = ir_graph_use(g, str(I, vi->name), ir_noloc);
    if (v->has_value_info) {
      imp_error(I, "%s: '%s' is listed twice in value_info", ctx, vi->name);
      return false;
    }
    v->has_value_info = true;
    if (!value_info(I, v, vi, ctx)) return false;
    ir_vec_push(g->value_infos, v);
  }
  return true;
}

static const uint32_t graph_unmodelled[] = {14 /* quantization_annotation */};

/* An initializer without a ValueInfoProto gets its type from its tensor, as in the text. */
static void init_type(Imp *I, Value *v, TypeKind kind, ElemType elem, int rank, const int64_t *dims) {
  if (v->type) return;
  Type *t = ir_type_tensor(I->a, elem, rank, dims);
  t->kind = kind;
  v->type = t;
}

/* An initializer's value: a graph input of the same name, or a new value. */
static Value *init_value(Imp *I, Graph *g, const char *name, const char *ctx) {
  if (!name || !*name) {
    imp_error(I, "%s: initializer without a name", ctx);
    return NULL;
  }
  Value *v = ir_graph_lookup_local(g, name);
  if (v) {
    if (v->init || v->sparse_init || v->producer || v->undefined) {
      imp_error(I, "%s: initializer '%s' is defined twice", ctx, name);
      return NULL;
    }
    return v;
  }
  return ir_graph_def(g, str(I, name), ir_noloc);
}

static bool graph_fill(Imp *I, Graph *g, const Onnx__GraphProto *gp) {
  char ctx[512];
  snprintf(ctx, sizeof ctx, "graph '%.400s'", gp->name ? gp->name : "");
  g->doc_string = str(I, gp->doc_string);
  if (!pairs(I, gp->metadata_props, gp->n_metadata_props, &g->metadata_props, &g->n_metadata_props))
    return false;
  g->extra = ir_pb_extra(I->a, &gp->base, graph_unmodelled, 1);
  if (!count_ok(I, gp->n_input, "graph inputs") || !count_ok(I, gp->n_output, "graph outputs"))
    return false;

  g->n_inputs = (int)gp->n_input;
  g->inputs = gp->n_input ? ir_arena_alloc(I->a, gp->n_input * sizeof *g->inputs) : NULL;
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi->name || !*vi->name) {
      imp_error(I, "%s: input %zu has no name", ctx, i);
      return false;
    }
    Value *v = ir_graph_def(g, str(I, vi->name), ir_noloc);
    if (!v) {
      imp_error(I, "%s: input '%s' is listed twice", ctx, vi->name);
      return false;
    }
    if (!value_info(I, v, vi, ctx)) return false;
    g->inputs[i] = v;
  }

  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    Value *v = init_value(I, g, tp->name, ctx);
    if (!v) return false;
    char what[1024];
    snprintf(what, sizeof what, "%.400s, initializer '%.400s'", ctx, tp->name);
    if (!(v->init = ir_tensor_from_proto_u(I->u, I->a, tp, what, I->d))) return false;
    init_type(I, v, TYPE_TENSOR, v->init->elem, v->init->rank, v->init->dims);
    ir_vec_push(g->initializers, v);
  }
  for (size_t i = 0; i < gp->n_sparse_initializer; i++) {
    const Onnx__SparseTensorProto *sp = gp->sparse_initializer[i];
    const char *nm = sp->values ? sp->values->name : NULL;
    Value *v = init_value(I, g, nm, ctx);
    if (!v) return false;
    char what[1024];
    snprintf(what, sizeof what, "%.400s, sparse initializer '%.400s'", ctx, nm);
    if (!(v->sparse_init = ir_sparse_from_proto_u(I->u, I->a, sp, what, I->d))) return false;
    init_type(I, v, TYPE_SPARSE, v->sparse_init->values->elem, v->sparse_init->rank, v->sparse_init->dims);
    ir_vec_push(g->initializers, v);
  }

  for (size_t i = 0; i < gp->n_node; i++)
    if (!node_conv(I, g, gp->node[i], i)) return false;

  g->n_outputs = (int)gp->n_output;
  g->outputs = gp->n_output ? ir_arena_alloc(I->a, gp->n_output * sizeof *g->outputs) : NULL;
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    if (!vi->name || !*vi->name) {
      imp_error(I, "%s: output %zu has no name", ctx, i);
      return false;
    }
    Value *v = ir_graph_use(g, str(I, vi->name), ir_noloc);
    if (!value_info(I, v, vi, ctx)) return false;
    g->outputs[i] = v;
  }
  if (!value_infos(I, g, gp->value_info, gp->n_value_info, ctx)) return false;
  return true;
}

/* ------------------------------------------------------------------ functions */

static bool func_fill(Imp *I, Function *f, const Onnx__FunctionProto *fp, size_t idx) {
  char ctx[512];
  snprintf(ctx, sizeof ctx, "function %zu (%.400s)", idx, fp->name ? fp->name : "?");
  if (!fp->name || !*fp->name) {
    imp_error(I, "%s: function without a name", ctx);
    return false;
  }
  if (!count_ok(I, fp->n_input, "function inputs") || !count_ok(I, fp->n_output, "function outputs") ||
      !count_ok(I, fp->n_attribute, "attributes") || !count_ok(I, fp->n_attribute_proto, "attributes") ||
      !count_ok(I, fp->n_opset_import, "opset imports") ||
      !count_ok(I, fp->n_attribute + fp->n_attribute_proto, "attributes"))
    return false;
  f->name = str(I, fp->name);
  f->domain = str(I, fp->domain ? fp->domain : "");
  f->overload = str_or_null(I, fp->overload);
  f->doc_string = str(I, fp->doc_string);
  if (!pairs(I, fp->metadata_props, fp->n_metadata_props, &f->metadata_props, &f->n_metadata_props))
    return false;
  f->extra = ir_pb_extra(I->a, &fp->base, NULL, 0);

  f->n_opsets = (int)fp->n_opset_import;
  f->opsets = fp->n_opset_import ? ir_arena_alloc(I->a, fp->n_opset_import * sizeof *f->opsets) : NULL;
  for (size_t i = 0; i < fp->n_opset_import; i++) {
    check_dropped(I, &fp->opset_import[i]->base);
    f->opsets[i].domain = str(I, fp->opset_import[i]->domain ? fp->opset_import[i]->domain : "");
    f->opsets[i].version = fp->opset_import[i]->version;
  }

  Graph *body = ir_graph_new(I->m, NULL, f->name);
  body->function = f;
  f->body = body;

  f->n_attr_names = (int)fp->n_attribute;
  f->attr_names = fp->n_attribute ? ir_arena_alloc(I->a, fp->n_attribute * sizeof *f->attr_names) : NULL;
  for (size_t i = 0; i < fp->n_attribute; i++) f->attr_names[i] = str(I, fp->attribute[i] ? fp->attribute[i] : "");
  f->n_attr_defaults = (int)fp->n_attribute_proto;
  f->attr_defaults = fp->n_attribute_proto ? ir_arena_alloc(I->a, fp->n_attribute_proto * sizeof *f->attr_defaults) : NULL;
  for (size_t i = 0; i < fp->n_attribute_proto; i++)
    if (!attr_conv(I, &f->attr_defaults[i], fp->attribute_proto[i], body, NULL, ctx)) return false;
  /* the proto keeps the two lists apart: names first, then those with defaults */
  f->n_attr_order = f->n_attr_names + f->n_attr_defaults;
  f->attr_order = f->n_attr_order ? ir_arena_alloc(I->a, (size_t)f->n_attr_order * sizeof *f->attr_order) : NULL;
  for (int i = 0; i < f->n_attr_names; i++) f->attr_order[i] = i;
  for (int i = 0; i < f->n_attr_defaults; i++) f->attr_order[f->n_attr_names + i] = ~i;

  body->n_inputs = (int)fp->n_input;
  body->inputs = fp->n_input ? ir_arena_alloc(I->a, fp->n_input * sizeof *body->inputs) : NULL;
  for (size_t i = 0; i < fp->n_input; i++) {
    const char *nm = fp->input[i];
    Value *v = nm && *nm ? ir_graph_def(body, str(I, nm), ir_noloc) : NULL;
    if (!v) {
      imp_error(I, "%s: input %zu is empty or listed twice", ctx, i);
      return false;
    }
    body->inputs[i] = v;
  }
  for (size_t i = 0; i < fp->n_node; i++)
    if (!node_conv(I, body, fp->node[i], i)) return false;
  body->n_outputs = (int)fp->n_output;
  body->outputs = fp->n_output ? ir_arena_alloc(I->a, fp->n_output * sizeof *body->outputs) : NULL;
  for (size_t i = 0; i < fp->n_output; i++) {
    const char *nm = fp->output[i];
    if (!nm || !*nm) {
      imp_error(I, "%s: output %zu has no name", ctx, i);
      return false;
    }
    body->outputs[i] = ir_graph_use(body, str(I, nm), ir_noloc);
  }
  if (!value_infos(I, body, fp->value_info, fp->n_value_info, ctx)) return false;
  return true;
}

/* ------------------------------------------------------------------ model */

static const uint32_t model_unmodelled[] = {20 /* training_info */, 26 /* configuration */};

static bool model_conv(Imp *I, const Onnx__ModelProto *mp) {
  Model *m = I->m;
  m->has_ir_version = mp->has_ir_version;
  m->ir_version = mp->ir_version;
  m->has_model_version = mp->has_model_version;
  m->model_version = mp->model_version;
  m->producer_name = str(I, mp->producer_name);
  m->producer_version = str(I, mp->producer_version);
  m->domain = str(I, mp->domain);
  m->doc_string = str(I, mp->doc_string);
  if (!pairs(I, mp->metadata_props, mp->n_metadata_props, &m->metadata_props, &m->n_metadata_props))
    return false;
  m->extra = ir_pb_extra(I->a, &mp->base, model_unmodelled, 2);
  if (!count_ok(I, mp->n_opset_import, "opset imports") || !count_ok(I, mp->n_functions, "functions"))
    return false;
  m->n_opsets = (int)mp->n_opset_import;
  m->opsets = mp->n_opset_import ? ir_arena_alloc(I->a, mp->n_opset_import * sizeof *m->opsets) : NULL;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    check_dropped(I, &mp->opset_import[i]->base);
    m->opsets[i].domain = str(I, mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "");
    m->opsets[i].version = mp->opset_import[i]->version;
  }
  m->n_functions = (int)mp->n_functions;
  m->functions = mp->n_functions ? ir_arena_alloc(I->a, mp->n_functions * sizeof *m->functions) : NULL;
  for (size_t i = 0; i < mp->n_functions; i++) {
    m->functions[i] = ir_arena_alloc(I->a, sizeof *m->functions[i]);
    if (!func_fill(I, m->functions[i], mp->functions[i], i)) return false;
  }
  if (!mp->graph) {
    imp_error(I, "the model has no graph");
    return false;
  }
  m->graph = new_subgraph(I, mp->graph, NULL, NULL);
  return graph_fill(I, m->graph, mp->graph);
}

Model *fe_onnx_import(const uint8_t *buf, size_t len, const char *path, Diag *d) {
  Model *m = ir_model_new();
  Imp I = {m, &m->arena, ir_pb_unpack_new(&m->arena), path, d, false};
  int errors = d->errors;
  const Onnx__ModelProto *mp =
      (const Onnx__ModelProto *)ir_pb_unpack(I.u, &onnx__model_proto__descriptor, buf, len, path, d);
  bool ok = mp && model_conv(&I, mp) && d->errors == errors;
  ir_pb_unpack_free(I.u);
  if (!ok) {
    ir_model_free(m);
    return NULL;
  }
  ir_bind_ops(m);
  return m;
}

/* verify.c - structural checks of a Model: SSA across scopes, definitions before uses
 * (topological order, outer values produced before the node holding a subgraph), producer
 * and use bookkeeping, attribute payloads, opset imports, function references, tensor data
 * sizes and well-formed types. Iterative: one pre-order list of graphs walked with an explicit
 * path, so nesting depth costs nothing extra; linear in the model. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ state */

typedef struct GItem {
  const Graph *g;
  const Function *fn; /* the function whose body encloses g, or NULL */
  int depth;          /* 0 for the main graph and function bodies */
  bool has_sub;       /* some node holds a subgraph: g's names matter below it */
} GItem;

/* Open-addressing map from graph pointers to their depth (also guards against a graph
 * reached twice). */
typedef struct PtrSet {
  const void **slot;
  int *val;
  size_t cap, n;
} PtrSet;

/* Names defined by the graphs on the current path from a root (count per name). */
typedef struct NameMap {
  struct NameSlot {
    const char *name;
    uint64_t hash;
    uint32_t count;
  } * slot;
  size_t cap, n;
} NameMap;

typedef struct Verifier {
  const Model *m;
  Diag *d;
  int errors;
  IR_VEC(GItem) graphs; /* pre-order, with depths */
  PtrSet seen;
  NameMap names;
  IR_VEC(const GItem *) path; /* graphs from the root to the one being checked */
  uint32_t nval, nnode;       /* side tables are indexed by Value.id / Node.id below these */
  int32_t *pos;               /* node position in its graph, by node id; -1 = not placed */
  uint32_t *refs;             /* node inputs referring to the value, by value id */
  uint32_t *ucnt;             /* entries of the value's use list, by value id */
  uint8_t *vflag;             /* by value id: VF_* */
  uint64_t n_inputs;          /* node inputs in the whole model: no use list is longer */
} Verifier;

enum { VF_SEEN = 1, VF_UNDEF_REPORTED = 2, VF_INPUT = 4, VF_USES_DONE = 8, VF_USES_BAD = 16 };

static size_t ptr_hash(const void *p, size_t cap) {
  return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull % cap);
}

static bool pset_add(PtrSet *s, const void *p, int val) {
  if (2 * (s->n + 1) > s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    const void **nw = calloc(cap, sizeof *nw);
    int *nv = calloc(cap, sizeof *nv);
    if (!nw || !nv) {
      free(nw);
      free(nv);
      return false;
    }
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slot[i]) continue;
      size_t h = ptr_hash(s->slot[i], cap);
      while (nw[h]) h = (h + 1) % cap;
      nw[h] = s->slot[i];
      nv[h] = s->val[i];
    }
    free(s->slot);
    free(s->val);
    s->slot = nw;
    s->val = nv;
    s->cap = cap;
  }
  size_t h = ptr_hash(p, s->cap);
  while (s->slot[h]) {
    if (s->slot[h] == p) return false;
    h = (h + 1) % s->cap;
  }
  s->slot[h] = p;
  s->val[h] = val;
  s->n++;
  return true;
}

static int pset_get(const PtrSet *s, const void *p) {
  if (!s->cap) return -1;
  size_t h = ptr_hash(p, s->cap);
  while (s->slot[h]) {
    if (s->slot[h] == p) return s->val[h];
    h = (h + 1) % s->cap;
  }
  return -1;
}

static uint64_t str_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static struct NameSlot *nm_slot(const NameMap *m, const char *name, uint64_t h) {
  size_t mask = m->cap - 1, i = (size_t)h & mask;
  for (;;) {
    struct NameSlot *e = &m->slot[i];
    if (!e->name || (e->hash == h && !strcmp(e->name, name))) return e;
    i = (i + 1) & mask;
  }
}

static uint32_t nm_count(const NameMap *m, const char *name) {
  if (!m->n) return 0;
  struct NameSlot *e = nm_slot(m, name, str_hash(name));
  return e->name ? e->count : 0;
}

/* delta +1 or -1; entries stay when their count drops to 0 */
static bool nm_add(NameMap *m, const char *name, int delta) {
  if ((m->n + 1) * 4 > m->cap * 3) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    NameMap nw = {calloc(cap, sizeof *nw.slot), cap, m->n};
    if (!nw.slot) return false;
    for (size_t i = 0; i < m->cap; i++)
      if (m->slot[i].name) *nm_slot(&nw, m->slot[i].name, m->slot[i].hash) = m->slot[i];
    free(m->slot);
    *m = nw;
  }
  uint64_t h = str_hash(name);
  struct NameSlot *e = nm_slot(m, name, h);
  if (!e->name) {
    e->name = name;
    e->hash = h;
    m->n++;
  }
  e->count = (uint32_t)((int64_t)e->count + delta);
  return true;
}

/* ------------------------------------------------------------------ messages */

static const char *gname(const Graph *g) {
  return g && g->name ? g->name : "";
}

/* Where an error is, for messages about imported models (no source location): formatted
 * only when an error is reported. */
typedef struct Where {
  const Graph *g; /* graph or function body */
  const Node *n;  /* node (index idx in g), or NULL */
  size_t idx;
  const Function *f; /* a function declaration, or NULL */
} Where;

static void where_text(char *buf, size_t len, const Where *w) {
  buf[0] = 0;
  if (!w) return;
  const Graph *g = w->g;
  const Function *f = w->f ? w->f : (g ? g->function : NULL);
  int k = 0;
  if (f && (!g || g == f->body))
    k = snprintf(buf, len, "function '%.80s'", f->name ? f->name : "");
  else if (g)
    k = snprintf(buf, len, "graph '%.80s'", gname(g));
  if (k < 0 || (size_t)k >= len || !w->n) return;
  snprintf(buf + k, len - (size_t)k, ", node %zu%s%.80s%s of type %.60s", w->idx,
           w->n->name ? " '" : "", w->n->name ? w->n->name : "", w->n->name ? "'" : "",
           w->n->op_type ? w->n->op_type : "?");
}

static void verr(Verifier *v, SrcLoc loc, const Where *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An error at loc; when loc is unknown (imported models) the message says where. */
static void verr(Verifier *v, SrcLoc loc, const Where *ctx, const char *fmt, ...) {
  v->errors++;
  if (!v->d) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char where[320];
  where_text(where, sizeof where, ctx);
  if (loc.line > 0 || !where[0])
    ir_error(v->d, loc, "%s", msg);
  else
    ir_error(v->d, loc, "%s (%s)", msg, where);
}

/* ------------------------------------------------------------------ collection */

/* Every graph of the model (main graph, function bodies, all nested attribute graphs),
 * parents before children, each once. */
static void collect(Verifier *v) {
  IR_VEC(GItem) stack = {0}, kids = {0};
  const Model *m = v->m;
  for (int i = m->n_functions - 1; i >= 0; i--)
    if (m->functions[i] && m->functions[i]->body) {
      GItem it = {m->functions[i]->body, m->functions[i], 0, false};
      ir_vec_push(stack, it);
    }
  if (m->graph) {
    GItem it = {m->graph, NULL, 0, false};
    ir_vec_push(stack, it);
  }
  /* Values of this model have ids below next_value_id (node values are not visited here:
   * that would touch every value once more); a value of some other model may not, and
   * then skips the checks that need side tables. */
  v->nval = m->next_value_id;
  while (stack.n) {
    GItem it = stack.v[--stack.n];
    if (!pset_add(&v->seen, it.g, it.depth)) {
      if (v->seen.slot) {
        Where w = {it.g, NULL, 0, NULL};
        verr(v, it.g->loc, &w, "graph '%s' is reachable more than once (shared or cyclic subgraph)",
             gname(it.g));
      }
      continue;
    }
    ir_vec_push(v->graphs, it);
    size_t self = v->graphs.n - 1;
    const Graph *g = it.g;
    /* One pass over the nodes: their positions (the order check needs later nodes' too)
     * and the subgraphs they hold, visited next in node order. */
    size_t kids0 = kids.n;
    for (size_t k = 0; k < g->nodes.n; k++) {
      const Node *n = g->nodes.v[k];
      if (!n) continue;
      if (n->id < v->nnode) {
        if (v->pos[n->id] >= 0) {
          Where w = {g, n, k, NULL};
          verr(v, n->loc, &w, "node appears more than once in the model");
        }
        v->pos[n->id] = (int32_t)(k > INT32_MAX ? INT32_MAX : k);
      }
      for (int a = 0; a < n->n_attrs; a++) {
        const Attr *at = &n->attrs[a];
        if (at->type == ATTR_GRAPH && at->g) {
          GItem c = {at->g, it.fn, it.depth + 1, false};
          ir_vec_push(kids, c);
        } else if (at->type == ATTR_GRAPHS && at->graphs) {
          for (size_t j = 0; j < at->n; j++)
            if (at->graphs[j]) {
              GItem c = {at->graphs[j], it.fn, it.depth + 1, false};
              ir_vec_push(kids, c);
            }
        }
      }
      if (n->n_inputs > 0) v->n_inputs += (uint64_t)n->n_inputs;
    }
    if (kids.n > kids0) v->graphs.v[self].has_sub = true;
    while (kids.n > kids0) ir_vec_push(stack, kids.v[--kids.n]); /* popped in node order */
    for (int j = 0; j < g->n_inputs; j++)
      if (g->inputs[j] && g->inputs[j]->id + 1 > v->nval) v->nval = g->inputs[j]->id + 1;
    for (int j = 0; j < g->n_outputs; j++)
      if (g->outputs[j] && g->outputs[j]->id + 1 > v->nval) v->nval = g->outputs[j]->id + 1;
    for (size_t j = 0; j < g->initializers.n; j++)
      if (g->initializers.v[j] && g->initializers.v[j]->id + 1 > v->nval)
        v->nval = g->initializers.v[j]->id + 1;
    for (size_t j = 0; j < g->value_infos.n; j++)
      if (g->value_infos.v[j] && g->value_infos.v[j]->id + 1 > v->nval)
        v->nval = g->value_infos.v[j]->id + 1;
  }
  ir_vec_free(stack);
  ir_vec_free(kids);
}

/* The first time a value is met, check its use list: every entry must name a node input
 * that refers back to the value. Its length is kept, to compare at the end with the number
 * of node inputs that name the value (check_use_counts). */
static void meet_value(Verifier *v, const Value *val) {
  if (val->id >= v->nval || (v->vflag[val->id] & VF_SEEN)) return;
  v->vflag[val->id] |= VF_SEEN;
  uint64_t cnt = 0;
  for (const Use *u = val->uses; u; u = u->next) {
    if (++cnt > v->n_inputs) break; /* longer than all inputs (or cyclic): counted as more */
    if (!u->node || u->index < 0 || u->index >= u->node->n_inputs || !u->node->inputs ||
        u->node->inputs[u->index] != val) {
      Where vw = {val->graph, NULL, 0, NULL};
      verr(v, val->loc, &vw, "use list of value '%s' names a node input that does not refer to it",
           val->name);
      v->vflag[val->id] |= VF_USES_BAD;
      return;
    }
  }
  v->ucnt[val->id] = (uint32_t)(cnt > UINT32_MAX ? UINT32_MAX : cnt);
}

/* ------------------------------------------------------------------ types and tensors */

static bool map_key_ok(ElemType e) {
  switch (e) {
  case ELEM_INT8:
  case ELEM_INT16:
  case ELEM_INT32:
  case ELEM_INT64:
  case ELEM_UINT8:
  case ELEM_UINT16:
  case ELEM_UINT32:
  case ELEM_UINT64:
  case ELEM_STRING:
    return true;
  default:
    return false;
  }
}

/* Types nest through `inner` only: walk the chain. */
static void check_type(Verifier *v, const Type *t, SrcLoc loc, const Where *ctx, const char *what) {
  for (int depth = 0; t; t = t->inner, depth++) {
    if (depth > 100000) {
      verr(v, loc, ctx, "type of %s nests too deeply", what);
      return;
    }
    switch (t->kind) {
    case TYPE_TENSOR:
    case TYPE_SPARSE:
      if (!ir_elem_valid((int)t->elem)) {
        verr(v, loc, ctx, "type of %s has no valid element type (%d)", what, (int)t->elem);
        return;
      }
      if (t->rank < -1 || (t->rank > 0 && !t->dims)) {
        verr(v, loc, ctx, "type of %s has a malformed shape (rank %d)", what, t->rank);
        return;
      }
      for (int i = 0; i < t->rank; i++)
        if (!t->dims[i].param && t->dims[i].value < -1) {
          verr(v, loc, ctx, "type of %s has a negative dimension %lld", what,
               (long long)t->dims[i].value);
          return;
        }
      return;
    case TYPE_OPAQUE:
      return;
    case TYPE_MAP:
      if (!map_key_ok(t->elem)) {
        verr(v, loc, ctx, "type of %s is a map whose key type %s is not an integer or string type",
             what, ir_elem(t->elem)->name);
        return;
      }
      /* fall through */
    case TYPE_SEQUENCE:
    case TYPE_OPTIONAL:
      if (!t->inner) {
        verr(v, loc, ctx, "type of %s is a %s without an element type", what,
             t->kind == TYPE_MAP        ? "map"
             : t->kind == TYPE_SEQUENCE ? "sequence"
                                        : "optional");
        return;
      }
      break;
    default:
      verr(v, loc, ctx, "type of %s has an invalid kind %d", what, (int)t->kind);
      return;
    }
  }
}

static void check_tensor(Verifier *v, const Tensor *t, SrcLoc loc, const Where *ctx,
                         const char *what) {
  if (!t) {
    verr(v, loc, ctx, "%s has no tensor", what);
    return;
  }
  if (!ir_elem_valid((int)t->elem)) {
    verr(v, loc, ctx, "%s has no valid element type (%d)", what, (int)t->elem);
    return;
  }
  if (t->rank < 0 || (t->rank > 0 && !t->dims)) {
    verr(v, loc, ctx, "%s has a malformed shape (rank %d)", what, t->rank);
    return;
  }
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0) {
      verr(v, loc, ctx, "%s has a negative dimension %lld", what, (long long)t->dims[i]);
      return;
    }
  uint64_t numel;
  size_t need;
  if (!ir_tensor_numel(t, &numel) || !ir_elem_nbytes(t->elem, numel, &need)) {
    verr(v, loc, ctx, "%s is too large (its size overflows)", what);
    return;
  }
  if (t->n_external > 0) {
    if (!ir_tensor_external(t, "location"))
      verr(v, loc, ctx, "%s is stored externally but has no location", what);
    if (!t->has_data) return;
  } else if (!t->has_data) {
    if (numel != 0)
      verr(v, loc, ctx, "%s has %llu elements but no data", what, (unsigned long long)numel);
    return;
  }
  if (t->nbytes != need || (need > 0 && !t->data))
    verr(v, loc, ctx, "%s holds %zu bytes of data, but %llu elements of %s need %zu", what,
         t->nbytes, (unsigned long long)numel, ir_elem(t->elem)->name, need);
}

static void check_sparse(Verifier *v, const SparseTensor *s, SrcLoc loc, const Where *ctx,
                         const char *what) {
  if (!s || !s->values) {
    verr(v, loc, ctx, "%s is a sparse tensor without values", what);
    return;
  }
  check_tensor(v, s->values, loc, ctx, what);
  if (s->indices) check_tensor(v, s->indices, loc, ctx, what);
  for (int i = 0; i < s->rank; i++)
    if (!s->dims || s->dims[i] < 0) {
      verr(v, loc, ctx, "%s is a sparse tensor with a negative or missing dimension", what);
      return;
    }
}

/* ------------------------------------------------------------------ attributes */

static bool fn_has_param(const Function *f, const char *name) {
  for (int i = 0; i < f->n_attr_names; i++)
    if (f->attr_names[i] && !strcmp(f->attr_names[i], name)) return true;
  for (int i = 0; i < f->n_attr_defaults; i++)
    if (f->attr_defaults[i].name && !strcmp(f->attr_defaults[i].name, name)) return true;
  return false;
}

static int str_ptr_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Payload matches the declared type; subgraphs link back to their node. */
static void check_attr(Verifier *v, const Attr *a, const Node *n, const Graph *g,
                       const Function *fn, const Where *ctx) {
  SrcLoc loc = a->loc.line > 0 ? a->loc : (n ? n->loc : ir_noloc);
  const char *nm = a->name ? a->name : "";
  char what[160]; /* "attribute 'name'", made only for the payloads checked with it */
  if (!nm[0]) verr(v, loc, ctx, "attribute without a name");
  if (!ir_attr_type_name(a->type) || a->type == ATTR_UNDEFINED) {
    verr(v, loc, ctx, "attribute '%s' has no valid type (%d)", nm, (int)a->type);
    return;
  }
  if (a->ref_attr_name) {
    if (!fn)
      verr(v, loc, ctx, "attribute '%s' refers to '@%s' outside a function body", nm,
           a->ref_attr_name);
    else if (!fn_has_param(fn, a->ref_attr_name))
      verr(v, loc, ctx, "attribute '%s' refers to '@%s', which is not a parameter of function '%s'",
           nm, a->ref_attr_name, fn->name ? fn->name : "");
    return;
  }
  bool list = a->type == ATTR_FLOATS || a->type == ATTR_INTS || a->type == ATTR_STRINGS ||
              a->type == ATTR_TENSORS || a->type == ATTR_GRAPHS || a->type == ATTR_SPARSE_TENSORS ||
              a->type == ATTR_TYPE_PROTOS;
  if (list && a->n > 0) {
    const void *arr = a->type == ATTR_FLOATS           ? (const void *)a->floats
                      : a->type == ATTR_INTS           ? (const void *)a->ints
                      : a->type == ATTR_STRINGS        ? (const void *)a->strings
                      : a->type == ATTR_TENSORS        ? (const void *)a->tensors
                      : a->type == ATTR_GRAPHS         ? (const void *)a->graphs
                      : a->type == ATTR_SPARSE_TENSORS ? (const void *)a->sparses
                                                       : (const void *)a->types;
    if (!arr) {
      verr(v, loc, ctx, "attribute '%s' of type %s has %zu elements but no array", nm,
           ir_attr_type_name(a->type), a->n);
      return;
    }
  }
  if (a->type == ATTR_TENSOR || a->type == ATTR_TENSORS || a->type == ATTR_SPARSE_TENSOR ||
      a->type == ATTR_SPARSE_TENSORS || a->type == ATTR_TYPE_PROTO || a->type == ATTR_TYPE_PROTOS)
    snprintf(what, sizeof what, "attribute '%.100s'", nm);
  switch (a->type) {
  case ATTR_STRING:
    if (!a->s.s && a->s.len) verr(v, loc, ctx, "attribute '%s' has a string without bytes", nm);
    break;
  case ATTR_STRINGS:
    for (size_t i = 0; i < a->n; i++)
      if (!a->strings[i].s && a->strings[i].len) {
        verr(v, loc, ctx, "attribute '%s' has a string without bytes", nm);
        break;
      }
    break;
  case ATTR_TENSOR:
    check_tensor(v, a->t, loc, ctx, what);
    break;
  case ATTR_TENSORS:
    for (size_t i = 0; i < a->n; i++) check_tensor(v, a->tensors[i], loc, ctx, what);
    break;
  case ATTR_SPARSE_TENSOR:
    check_sparse(v, a->sparse, loc, ctx, what);
    break;
  case ATTR_SPARSE_TENSORS:
    for (size_t i = 0; i < a->n; i++) check_sparse(v, a->sparses[i], loc, ctx, what);
    break;
  case ATTR_TYPE_PROTO:
    if (!a->tp)
      verr(v, loc, ctx, "attribute '%s' of type type_proto has no type", nm);
    else
      check_type(v, a->tp, loc, ctx, what);
    break;
  case ATTR_TYPE_PROTOS:
    for (size_t i = 0; i < a->n; i++) {
      if (!a->types[i])
        verr(v, loc, ctx, "attribute '%s' has a missing type", nm);
      else
        check_type(v, a->types[i], loc, ctx, what);
    }
    break;
  case ATTR_GRAPH:
  case ATTR_GRAPHS: {
    size_t cnt = a->type == ATTR_GRAPH ? 1 : a->n;
    for (size_t i = 0; i < cnt; i++) {
      const Graph *sg = a->type == ATTR_GRAPH ? a->g : a->graphs[i];
      if (!sg) {
        verr(v, loc, ctx, "attribute '%s' of type %s has no graph", nm, ir_attr_type_name(a->type));
        continue;
      }
      if (n && (sg->parent != g || sg->parent_node != n))
        verr(v, loc, ctx,
             "subgraph '%s' of attribute '%s' does not link back to its node and graph", gname(sg),
             nm);
    }
    break;
  }
  default:
    break;
  }
}

static void arity_text(char *buf, size_t len, int lo, int hi) {
  if (hi < 0) snprintf(buf, len, "%d or more", lo);
  else if (hi == lo) snprintf(buf, len, "%d", lo);
  else snprintf(buf, len, "%d to %d", lo, hi);
}

/* Arity and attributes against the node's row in the operator table. */
static void check_schema(Verifier *v, const Node *n, const Where *ctx) {
  const OpDef *op = n->op;
  int present_in = 0, present_out = 0;
  for (int j = 0; j < n->n_inputs; j++) present_in = n->inputs[j] ? j + 1 : present_in;
  for (int j = 0; j < n->n_outputs; j++) present_out = n->outputs[j] ? j + 1 : present_out;
  char rin[48], rout[48];
  arity_text(rin, sizeof rin, op->min_in, op->max_in);
  arity_text(rout, sizeof rout, op->min_out, op->max_out);
  if (present_in < op->min_in || (op->max_in >= 0 && present_in > op->max_in))
    verr(v, n->loc, ctx, "%s-%d takes %s inputs, not %d", op->name, op->since, rin, present_in);
  if (n->n_outputs < op->min_out || (op->max_out >= 0 && present_out > op->max_out))
    verr(v, n->loc, ctx, "%s-%d has %s outputs, not %d", op->name, op->since, rout, n->n_outputs);
  for (int j = 0; j < n->n_attrs; j++) {
    const Attr *a = &n->attrs[j];
    if (!a->name || !strncmp(a->name, "__", 2)) continue; /* pass metadata (__effc_*) */
    const AttrSpec *s = ir_op_attr(op, a->name);
    if (!s)
      verr(v, a->loc.line > 0 ? a->loc : n->loc, ctx, "%s-%d has no attribute '%s'", op->name,
           op->since, a->name);
    else if (s->type != a->type)
      verr(v, a->loc.line > 0 ? a->loc : n->loc, ctx, "attribute '%s' of %s must be %s, not %s",
           a->name, op->name, ir_attr_type_name(s->type), ir_attr_type_name(a->type));
  }
  int ns;
  const AttrSpec *specs = ir_op_attrs(op, &ns);
  for (int j = 0; j < ns; j++)
    if (specs[j].required && !ir_node_attr(n, specs[j].name))
      verr(v, n->loc, ctx, "%s requires attribute '%s'", op->name, specs[j].name);
}

static void check_attr_names(Verifier *v, const Attr *attrs, int n, SrcLoc loc, const Where *ctx) {
  if (n < 2) return;
  if (n <= 16) {
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++)
        if (attrs[i].name && attrs[j].name && !strcmp(attrs[i].name, attrs[j].name)) {
          verr(v, loc, ctx, "attribute '%s' is given more than once", attrs[i].name);
          return;
        }
    return;
  }
  const char **names = malloc(sizeof *names * (size_t)n);
  if (!names) return;
  int k = 0;
  for (int i = 0; i < n; i++)
    if (attrs[i].name) names[k++] = attrs[i].name;
  qsort(names, (size_t)k, sizeof *names, str_ptr_cmp);
  for (int i = 1; i < k; i++)
    if (!strcmp(names[i - 1], names[i])) {
      verr(v, loc, ctx, "attribute '%s' is given more than once", names[i]);
      break;
    }
  free(names);
}

/* ------------------------------------------------------------------ graphs */

static bool domain_is_default(const char *d) {
  return !d || !d[0] || !strcmp(d, "ai.onnx");
}

static bool domain_imported(const OpsetImport *o, int n, const char *dom) {
  bool dflt = domain_is_default(dom);
  for (int i = 0; i < n; i++) {
    const char *od = o[i].domain ? o[i].domain : "";
    if (dflt ? domain_is_default(od) : !strcmp(od, dom)) return true;
  }
  return false;
}

/* Is `v` (a value of an enclosing graph of g) produced before the node of its own graph
 * that holds g? Returns false and reports otherwise. */
static void check_outer_use(Verifier *v, const Graph *g, const Value *val, SrcLoc loc,
                            const Where *ctx) {
  /* the graph defining val must be on the path from the root to g; the path entry below it
   * is the subgraph (of the node `holder`) that leads to g */
  int d = val->graph ? pset_get(&v->seen, val->graph) : -1;
  if (d < 0 || (size_t)d + 1 >= v->path.n || v->path.v[d]->g != val->graph) {
    verr(v, loc, ctx, "value '%s' belongs to graph '%s', which does not enclose graph '%s'",
         val->name, gname(val->graph), gname(g));
    return;
  }
  const Node *holder = v->path.v[d + 1]->g->parent_node;
  if (!val->producer || !holder) return;
  if (val->producer->id >= v->nnode || holder->id >= v->nnode) return;
  int64_t pp = v->pos[val->producer->id], hp = v->pos[holder->id];
  if (pp >= 0 && hp >= 0 && pp >= hp)
    verr(v, loc, ctx,
         "value '%s' of graph '%s' is used in a subgraph of node %lld, but is produced %s (node "
         "%lld)",
         val->name, gname(val->graph), (long long)hp, pp == hp ? "by that node" : "later",
         (long long)pp);
}

static void check_use(Verifier *v, const Graph *g, int64_t at, const Value *val, SrcLoc loc,
                      const Where *ctx) {
  if (val->id < v->nval) meet_value(v, val);
  if (val->undefined) {
    if (val->id < v->nval) {
      if (v->vflag[val->id] & VF_UNDEF_REPORTED) return;
      v->vflag[val->id] |= VF_UNDEF_REPORTED;
    }
    SrcLoc l = val->loc.line > 0 ? val->loc : loc;
    verr(v, l, ctx, "use of undefined value '%s'", val->name);
    return;
  }
  if (val->graph == g) {
    if (!val->producer) return;
    if (val->producer->graph != g) {
      verr(v, loc, ctx, "value '%s' has a producer outside its graph", val->name);
      return;
    }
    if (at >= 0 && val->producer->id < v->nnode) {
      int64_t pp = v->pos[val->producer->id];
      if (pp < 0)
        verr(v, loc, ctx, "value '%s' is produced by a node that is not in its graph", val->name);
      else if (pp >= at)
        verr(v, loc, ctx,
             "value '%s' is used before it is produced (by node %lld): nodes are not in "
             "topological order",
             val->name, (long long)pp);
    }
    return;
  }
  check_outer_use(v, g, val, loc, ctx);
}

static void check_graph(Verifier *v, const GItem *it) {
  const Graph *g = it->g;
  const Function *fn = it->fn;
  const Model *m = v->m;
  Where gw = {g, NULL, 0, NULL};
  const Where *ctx = &gw;

  /* node positions were set by collect() */
  for (int i = 0; i < g->n_inputs; i++) {
    const Value *val = g->inputs[i];
    if (!val) {
      verr(v, g->loc, ctx, "graph input %d is missing", i);
      continue;
    }
    meet_value(v, val);
    if (val->id < v->nval) {
      if (v->vflag[val->id] & VF_INPUT)
        verr(v, val->loc, ctx, "'%s' is listed more than once as an input", val->name);
      v->vflag[val->id] |= VF_INPUT;
    }
    if (val->graph != g)
      verr(v, val->loc, ctx, "input '%s' is not a value of its graph", val->name);
    if (val->producer) verr(v, val->loc, ctx, "input '%s' is also produced by a node", val->name);
    if (val->undefined) verr(v, val->loc, ctx, "input '%s' is marked undefined", val->name);
    if (val->type) check_type(v, val->type, val->loc, ctx, val->name);
  }

  bool main_graph = g == m->graph;
  for (size_t i = 0; i < g->initializers.n; i++) {
    const Value *val = g->initializers.v[i];
    if (!val) continue;
    meet_value(v, val);
    if (val->graph != g)
      verr(v, val->loc, ctx, "initializer '%s' is not a value of its graph", val->name);
    if (val->producer)
      verr(v, val->loc, ctx, "initializer '%s' is also produced by a node", val->name);
    if (fn) verr(v, val->loc, ctx, "function body has an initializer '%s'", val->name);
    char what[160];
    snprintf(what, sizeof what, "initializer '%.100s'", val->name);
    if (val->init)
      check_tensor(v, val->init, val->loc.line > 0 ? val->loc : val->init->loc, ctx, what);
    else if (val->sparse_init)
      check_sparse(v, val->sparse_init, val->loc, ctx, what);
    else
      verr(v, val->loc, ctx, "initializer '%s' has no data", val->name);
    if (main_graph && m->has_ir_version && m->ir_version <= 3 && val->id < v->nval &&
        !(v->vflag[val->id] & VF_INPUT))
      verr(v, val->loc, ctx, "initializer '%s' is not a graph input (required for IR version %lld)",
           val->name, (long long)m->ir_version);
  }
  for (size_t i = 0; i < g->value_infos.n; i++) {
    const Value *val = g->value_infos.v[i];
    if (!val) continue;
    meet_value(v, val);
    if (val->type) check_type(v, val->type, val->loc, ctx, val->name);
  }

  const OpsetImport *ops = fn ? fn->opsets : m->opsets;
  int nops = fn ? fn->n_opsets : m->n_opsets;
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    Where nw = {g, n, i, NULL};
    const Where *nctx = &nw;
    if (!n) {
      verr(v, g->loc, nctx, "missing node");
      continue;
    }
    if (n->graph != g) verr(v, n->loc, nctx, "node does not link back to its graph");
    if (!n->op_type || !n->op_type[0]) verr(v, n->loc, nctx, "node has no operator type");
    if (!domain_imported(ops, nops, n->domain))
      verr(v, n->loc, nctx, "domain '%s' of operator '%s' is not imported by the %s's opset_import",
           n->domain ? n->domain : "", n->op_type ? n->op_type : "", fn ? "function" : "model");
    if (n->overload && n->overload[0] &&
        !ir_model_find_function(m, n->domain ? n->domain : "", n->op_type ? n->op_type : "",
                                n->overload))
      verr(v, n->loc, nctx, "no function '%s%s%s:%s' in the model", n->domain ? n->domain : "",
           n->domain && n->domain[0] ? "." : "", n->op_type ? n->op_type : "", n->overload);
    if (n->n_inputs < 0 || n->n_outputs < 0 || (n->n_inputs > 0 && !n->inputs) ||
        (n->n_outputs > 0 && !n->outputs)) {
      verr(v, n->loc, nctx, "node has malformed input or output arrays");
      continue;
    }
    for (int j = 0; j < n->n_inputs; j++) {
      const Value *val = n->inputs[j];
      if (!val) continue;
      if (val->id < v->nval) v->refs[val->id]++;
      check_use(v, g, (int64_t)i, val, n->loc, nctx);
    }
    for (int j = 0; j < n->n_outputs; j++) {
      const Value *val = n->outputs[j];
      if (!val) continue;
      meet_value(v, val);
      if (val->producer != n || val->producer_index != j)
        verr(v, n->loc, nctx, "output %d '%s' does not record this node as its producer", j,
             val->name);
      if (val->graph != g)
        verr(v, n->loc, nctx, "output '%s' is not a value of the node's graph", val->name);
      if (it->depth > 0 && val->name && nm_count(&v->names, val->name))
        verr(v, n->loc, nctx,
             "'%s' is already defined in an enclosing graph: a subgraph may not redefine it (SSA)",
             val->name);
    }
    check_attr_names(v, n->attrs, n->n_attrs, n->loc, nctx);
    for (int j = 0; j < n->n_attrs; j++) check_attr(v, &n->attrs[j], n, g, fn, nctx);
    if (n->op) check_schema(v, n, nctx);
  }

  for (int i = 0; i < g->n_outputs; i++) {
    const Value *val = g->outputs[i];
    if (!val) {
      verr(v, g->loc, ctx, "graph output %d is missing", i);
      continue;
    }
    if (val->id < v->nval) meet_value(v, val);
    if (val->undefined) {
      if (val->id < v->nval) {
        if (v->vflag[val->id] & VF_UNDEF_REPORTED) continue;
        v->vflag[val->id] |= VF_UNDEF_REPORTED;
      }
      verr(v, val->loc, ctx, "graph output '%s' is never defined", val->name);
      continue;
    }
    check_use(v, g, -1, val, val->loc.line > 0 ? val->loc : g->loc, ctx);
    if (val->type) check_type(v, val->type, val->loc, ctx, val->name);
  }
}

static void check_functions(Verifier *v) {
  const Model *m = v->m;
  for (int i = 0; i < m->n_functions; i++) {
    const Function *f = m->functions[i];
    if (!f) continue;
    Where fw = {NULL, NULL, 0, f};
    const Where *ctx = &fw;
    if (!f->name || !f->name[0]) verr(v, f->loc, ctx, "function without a name");
    if (!f->body) {
      verr(v, f->loc, ctx, "function '%s' has no body", f->name ? f->name : "");
    } else if (f->body->function != f || f->body->parent) {
      verr(v, f->loc, ctx, "body of function '%s' does not link back to it",
           f->name ? f->name : "");
    }
    for (int j = 0; j < i; j++) {
      const Function *o = m->functions[j];
      if (!o) continue;
      if (!strcmp(o->name ? o->name : "", f->name ? f->name : "") &&
          !strcmp(o->domain ? o->domain : "", f->domain ? f->domain : "") &&
          !strcmp(o->overload ? o->overload : "", f->overload ? f->overload : ""))
        verr(v, f->loc, ctx, "function '%s%s%s' is defined more than once",
             f->domain ? f->domain : "", f->domain && f->domain[0] ? "." : "",
             f->name ? f->name : "");
    }
    /* attribute parameters: unique names, defaults well formed */
    int np = f->n_attr_names + f->n_attr_defaults;
    const char **names = malloc(sizeof *names * (size_t)(np + 1));
    if (names) {
      int k = 0;
      for (int j = 0; j < f->n_attr_names; j++)
        if (f->attr_names[j]) names[k++] = f->attr_names[j];
      for (int j = 0; j < f->n_attr_defaults; j++)
        if (f->attr_defaults[j].name) names[k++] = f->attr_defaults[j].name;
      qsort(names, (size_t)k, sizeof *names, str_ptr_cmp);
      for (int j = 1; j < k; j++)
        if (!strcmp(names[j - 1], names[j])) {
          verr(v, f->loc, ctx, "attribute parameter '%s' is declared more than once", names[j]);
          break;
        }
      free(names);
    }
    for (int j = 0; j < f->n_attr_defaults; j++) {
      const Attr *a = &f->attr_defaults[j];
      if (a->ref_attr_name) {
        verr(v, a->loc.line > 0 ? a->loc : f->loc, ctx,
             "default of attribute parameter '%s' is a reference", a->name ? a->name : "");
        continue;
      }
      check_attr(v, a, NULL, NULL, NULL, ctx);
    }
    if (f->attr_order) {
      for (int j = 0; j < f->n_attr_order; j++) {
        int idx = f->attr_order[j];
        if (idx >= 0 ? idx >= f->n_attr_names : ~idx >= f->n_attr_defaults) {
          verr(v, f->loc, ctx, "attribute parameter order of function '%s' is malformed",
               f->name ? f->name : "");
          break;
        }
      }
    }
  }
}

/* Each value's use list must have as many entries as there are node inputs naming it. The
 * lengths were taken when values were first met; only when some value is off, walk the
 * graphs again to report them by name, in graph order. */
static void report_use_count(Verifier *v, const Value *val) {
  if (!val || val->id >= v->nval || (v->vflag[val->id] & (VF_USES_DONE | VF_USES_BAD))) return;
  v->vflag[val->id] |= VF_USES_DONE;
  if (!(v->vflag[val->id] & VF_SEEN) || v->ucnt[val->id] == v->refs[val->id]) return;
  Where vw = {val->graph, NULL, 0, NULL};
  verr(v, val->loc, &vw,
       "use list of value '%s' has %s entries than the node inputs that refer to it", val->name,
       v->ucnt[val->id] > v->refs[val->id] ? "more" : "fewer");
}

static void check_use_counts(Verifier *v) {
  bool off = false;
  for (uint32_t i = 0; i < v->nval && !off; i++)
    off = (v->vflag[i] & (VF_SEEN | VF_USES_BAD)) == VF_SEEN && v->ucnt[i] != v->refs[i];
  if (!off) return;
  for (size_t k = 0; k < v->graphs.n; k++) {
    const Graph *g = v->graphs.v[k].g;
    for (int i = 0; i < g->n_inputs; i++) report_use_count(v, g->inputs[i]);
    for (size_t i = 0; i < g->initializers.n; i++) report_use_count(v, g->initializers.v[i]);
    for (size_t i = 0; i < g->nodes.n; i++) {
      const Node *n = g->nodes.v[i];
      if (!n || (n->n_inputs > 0 && !n->inputs) || (n->n_outputs > 0 && !n->outputs)) continue;
      for (int j = 0; j < n->n_inputs; j++) report_use_count(v, n->inputs[j]);
      for (int j = 0; j < n->n_outputs; j++) report_use_count(v, n->outputs[j]);
    }
    for (size_t i = 0; i < g->value_infos.n; i++) report_use_count(v, g->value_infos.v[i]);
    for (int i = 0; i < g->n_outputs; i++) report_use_count(v, g->outputs[i]);
  }
}

/* Enter (+1) or leave (-1) the names a graph defines: inputs, initializers, node outputs. */
static void graph_names(Verifier *v, const Graph *g, int delta) {
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] && g->inputs[i]->name) nm_add(&v->names, g->inputs[i]->name, delta);
  for (size_t i = 0; i < g->initializers.n; i++)
    if (g->initializers.v[i] && g->initializers.v[i]->name)
      nm_add(&v->names, g->initializers.v[i]->name, delta);
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    if (!n || (n->n_outputs > 0 && !n->outputs)) continue;
    for (int j = 0; j < n->n_outputs; j++)
      if (n->outputs[j] && n->outputs[j]->name) nm_add(&v->names, n->outputs[j]->name, delta);
  }
}

int ir_verify(const Model *m, Diag *d) {
  Verifier v = {0};
  v.m = m;
  v.d = d;
  if (!m) return 0;
  if (!m->graph) verr(&v, ir_noloc, NULL, "model has no graph");
  /* Nodes of this model have ids below next_node_id; one of another model may not, and
   * then skips the order checks. */
  v.nnode = m->next_node_id;
  if (v.nnode && !(v.pos = malloc(sizeof *v.pos * v.nnode))) {
    verr(&v, ir_noloc, NULL, "out of memory while verifying");
    return v.errors;
  }
  for (uint32_t i = 0; i < v.nnode; i++) v.pos[i] = -1;
  collect(&v);
  if (v.nval) {
    v.refs = calloc(v.nval, sizeof *v.refs);
    v.ucnt = calloc(v.nval, sizeof *v.ucnt);
    v.vflag = calloc(v.nval, 1);
  }
  if (v.nval && (!v.refs || !v.ucnt || !v.vflag)) {
    verr(&v, ir_noloc, NULL, "out of memory while verifying");
  } else {
    for (size_t i = 0; i < v.graphs.n; i++) {
      const GItem *it = &v.graphs.v[i];
      while (v.path.n > (size_t)it->depth) {
        const GItem *up = v.path.v[--v.path.n];
        if (up->has_sub) graph_names(&v, up->g, -1);
      }
      ir_vec_push(v.path, it);
      check_graph(&v, it);
      if (it->has_sub) graph_names(&v, it->g, +1); /* only subgraphs look these up */
    }
    check_functions(&v);
    check_use_counts(&v);
  }
  free(v.pos);
  free(v.refs);
  free(v.ucnt);
  free(v.vflag);
  free(v.seen.slot);
  free(v.seen.val);
  free(v.names.slot);
  ir_vec_free(v.path);
  ir_vec_free(v.graphs);
  return v.errors;
}

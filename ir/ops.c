/* ops.c - the operator table expanded from ops.def: lookup by (domain, name, opset),
 * attribute schemas parsed from the ATTRS column, node binding and attribute access with
 * schema defaults. */
#include "ir.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const OpDef ir_ops[IR_N_OPS] = {
#define OP(fam, dom, name, since, mi, ma, mo, mao, infer, attrs)                               \
  {dom, name, since, mi, ma, mo, mao, ir_infer_##infer, attrs, #fam, IR_OPROW_##fam##_##since},
#include "ops.def"
#undef OP
};

/* ------------------------------------------------------------------ schemas */

typedef struct Schema {
  AttrSpec *attrs;
  int n;
} Schema;

static Schema schemas[IR_N_OPS];
static int by_name[IR_N_OPS]; /* row indices sorted by (domain, name, since) */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static bool dom_default(const char *d) { return !d || !*d || !strcmp(d, "ai.onnx"); }

static int row_cmp(const void *a, const void *b) {
  const OpDef *x = &ir_ops[*(const int *)a], *y = &ir_ops[*(const int *)b];
  int c = strcmp(x->domain, y->domain);
  if (!c) c = strcmp(x->name, y->name);
  if (!c) c = (x->since > y->since) - (x->since < y->since);
  return c;
}

/* Split "[a,b,c]" into its items; returns the count. Items are arena-free slices. */
static size_t list_items(const char *s, const char **items, size_t *lens, size_t max) {
  size_t n = 0;
  if (*s == '[') s++;
  while (*s && *s != ']' && n < max) {
    const char *e = s;
    while (*e && *e != ',' && *e != ']') e++;
    items[n] = s;
    lens[n++] = (size_t)(e - s);
    s = *e == ',' ? e + 1 : e;
  }
  return n;
}

static char *dupn(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) abort();
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

/* Parse one "name:type=default" item. The schema text is ours (ops.def), so a malformed
 * row is a programming error: abort loudly rather than guess. */
static void parse_spec(const OpDef *op, const char *s, size_t len, AttrSpec *out) {
  char *item = dupn(s, len);
  char *colon = strchr(item, ':');
  if (!colon) {
    fprintf(stderr, "effc: ops.def: %s-%d: bad attribute spec '%s'\n", op->name, op->since, item);
    abort();
  }
  *colon = 0;
  char *ty = colon + 1, *val = NULL;
  size_t tl = strcspn(ty, "=?!");
  char mark = ty[tl];
  if (mark == '=') val = ty + tl + 1;
  ty[tl] = 0;
  out->name = item;
  out->type = ir_attr_type_from_name(ty, strlen(ty));
  out->required = mark == '!';
  out->has_default = val != NULL;
  if (out->type == ATTR_UNDEFINED) {
    fprintf(stderr, "effc: ops.def: %s-%d: bad attribute type '%s'\n", op->name, op->since, ty);
    abort();
  }
  Attr *a = &out->dflt;
  a->name = item;
  a->type = out->type;
  if (!val) return;
  const char *items[64];
  size_t lens[64];
  switch (out->type) {
  case ATTR_INT: a->i = strtoll(val, NULL, 10); break;
  case ATTR_FLOAT: a->f = strtof(val, NULL); break;
  case ATTR_STRING: a->s.s = val; a->s.len = strlen(val); break;
  case ATTR_INTS: {
    a->n = list_items(val, items, lens, 64);
    int64_t *v = calloc(a->n + 1, sizeof *v);
    for (size_t i = 0; i < a->n; i++) v[i] = strtoll(items[i], NULL, 10);
    a->ints = v;
    break;
  }
  case ATTR_FLOATS: {
    a->n = list_items(val, items, lens, 64);
    float *v = calloc(a->n + 1, sizeof *v);
    for (size_t i = 0; i < a->n; i++) v[i] = strtof(items[i], NULL);
    a->floats = v;
    break;
  }
  case ATTR_STRINGS: {
    a->n = list_items(val, items, lens, 64);
    IrStr *v = calloc(a->n + 1, sizeof *v);
    for (size_t i = 0; i < a->n; i++) v[i].s = dupn(items[i], lens[i]), v[i].len = lens[i];
    a->strings = v;
    break;
  }
  default: out->has_default = false; break;
  }
}

static void init_tables(void) {
  for (int r = 0; r < IR_N_OPS; r++) {
    by_name[r] = r;
    const char *t = ir_ops[r].attr_text;
    int n = 0;
    for (const char *p = t; *p; p++) n += *p == ';';
    n += *t != 0;
    schemas[r].attrs = n ? calloc((size_t)n, sizeof(AttrSpec)) : NULL;
    for (int i = 0; i < n; i++) {
      size_t len = strcspn(t, ";");
      parse_spec(&ir_ops[r], t, len, &schemas[r].attrs[i]);
      t += len + (t[len] == ';');
    }
    schemas[r].n = n;
  }
  qsort(by_name, IR_N_OPS, sizeof by_name[0], row_cmp);
}

const AttrSpec *ir_op_attrs(const OpDef *op, int *n) {
  pthread_once(&once, init_tables);
  *n = schemas[op->id].n;
  return schemas[op->id].attrs;
}

const AttrSpec *ir_op_attr(const OpDef *op, const char *name) {
  int n;
  const AttrSpec *s = ir_op_attrs(op, &n);
  for (int i = 0; i < n; i++)
    if (!strcmp(s[i].name, name)) return &s[i];
  return NULL;
}

const OpDef *ir_op_find(const char *domain, const char *name, int64_t opset) {
  pthread_once(&once, init_tables);
  const char *dom = dom_default(domain) ? "" : domain;
  /* binary search for the first row of (dom, name) */
  int lo = 0, hi = IR_N_OPS;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    const OpDef *o = &ir_ops[by_name[mid]];
    int c = strcmp(o->domain, dom);
    if (!c) c = strcmp(o->name, name);
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  const OpDef *best = NULL;
  for (int i = lo; i < IR_N_OPS; i++) {
    const OpDef *o = &ir_ops[by_name[i]];
    if (strcmp(o->domain, dom) || strcmp(o->name, name)) break;
    if (o->since <= opset) best = o;
  }
  return best;
}

/* ------------------------------------------------------------------ binding */

static int64_t opset_in(const OpsetImport *o, int n, const char *domain) {
  bool def = dom_default(domain);
  for (int i = 0; i < n; i++)
    if (def ? dom_default(o[i].domain) : !strcmp(o[i].domain, domain)) return o[i].version;
  return -1;
}

int64_t ir_node_opset(const Node *n) {
  const Graph *g = n->graph;
  while (g && g->parent) g = g->parent;
  if (g && g->function) {
    int64_t v = opset_in(g->function->opsets, g->function->n_opsets, n->domain);
    if (v >= 0) return v;
  }
  const Model *m = g ? g->model : NULL;
  return m ? opset_in(m->opsets, m->n_opsets, n->domain) : -1;
}

int ir_bind_ops(Model *m) {
  int unbound = 0;
  for (size_t gi = 0; gi < m->all_graphs.n; gi++) {
    Graph *g = m->all_graphs.v[gi];
    for (size_t i = 0; i < g->nodes.n; i++) {
      Node *n = g->nodes.v[i];
      n->op = NULL;
      if (ir_model_find_function(m, n->domain, n->op_type, n->overload)) continue;
      int64_t v = ir_node_opset(n);
      n->op = v >= 0 ? ir_op_find(n->domain, n->op_type, v) : NULL;
      unbound += n->op == NULL;
    }
  }
  return unbound;
}

/* ------------------------------------------------------------------ attribute access */

static const Attr *attr_or_default(const Node *n, const char *name, AttrType want) {
  const Attr *a = ir_node_attr(n, name);
  if (a && !a->ref_attr_name && a->type == want) return a;
  if (n->op) {
    const AttrSpec *s = ir_op_attr(n->op, name);
    if (s && s->has_default && s->type == want) return &s->dflt;
  }
  return NULL;
}

int64_t ir_attr_int(const Node *n, const char *name, int64_t dflt) {
  const Attr *a = attr_or_default(n, name, ATTR_INT);
  return a ? a->i : dflt;
}

float ir_attr_float(const Node *n, const char *name, float dflt) {
  const Attr *a = attr_or_default(n, name, ATTR_FLOAT);
  return a ? a->f : dflt;
}

const char *ir_attr_string(const Node *n, const char *name, const char *dflt) {
  const Attr *a = attr_or_default(n, name, ATTR_STRING);
  return a ? a->s.s : dflt;
}

const int64_t *ir_attr_ints(const Node *n, const char *name, size_t *count) {
  const Attr *a = attr_or_default(n, name, ATTR_INTS);
  *count = a ? a->n : 0;
  return a ? a->ints : NULL;
}

const float *ir_attr_floats(const Node *n, const char *name, size_t *count) {
  const Attr *a = attr_or_default(n, name, ATTR_FLOATS);
  *count = a ? a->n : 0;
  return a ? a->floats : NULL;
}

bool ir_node_nhwc(const Node *n) {
  return !strcmp(ir_attr_string(n, "__effc_layout", ""), "NHWC");
}

bool ir_nhwc_input(const Node *n, int i) {
  return i == 0 || (i == 3 && !strcmp(n->op_type, "FusedConv"));
}

void ir_nhwc_dims(const int64_t *dims, bool to_nhwc, int64_t *out) {
  int64_t d[4] = {dims[0], dims[1], dims[2], dims[3]};
  if (to_nhwc) {
    out[0] = d[0], out[1] = d[2], out[2] = d[3], out[3] = d[1];
  } else {
    out[0] = d[0], out[1] = d[3], out[2] = d[1], out[3] = d[2];
  }
}

/* prune_groups.c - the channel dependencies of structured pruning: which channels of which
 * tensors must be removed together, which layers' weights follow them, and removing them.
 * Every channel (dim 1) of every tensor the analysis understands is an element of a
 * union-find; operators that tie channels together (BatchNormalization, activations, pools,
 * residual Add, depthwise Conv, Concat at its offsets, Flatten into Gemm) unite them, and a
 * class of united channels is removed as a whole. Conv (group 1), Gemm and MatMul with
 * constant weights produce channels; anything else that reads a channel pins it. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The channels of one tensor: C entries of dim 1, each covering `stride` consecutive
 * indices of dim 1 (a Flatten of C x H x W has stride H*W). */
typedef struct Space {
  int64_t C, stride;
  int32_t *el; /* union-find elements, C of them */
} Space;

/* A weight that follows a tensor's channels: input `input` of `node` is sliced along
 * `axis` by the channel mask of `by` (each channel covering `stride` indices). */
typedef struct Edit {
  Node *node;
  int input, axis;
  const Value *by;
  int64_t stride;
  bool group; /* instead: set the node's `group` attribute to the kept channel count */
} Edit;

/* A channel's producer (weights whose output channel it is), or its BatchNormalization. */
typedef struct Rec {
  int32_t el;
  Node *node;
  int64_t ch;
} Rec;

struct PruneGroups {
  Model *m;
  IR_VEC(int32_t) parent;
  IR_VEC(uint8_t) fixed;
  Space **space; /* by value id */
  uint32_t n_values;
  IR_VEC(Edit) edits;
  IR_VEC(Rec) prod, bns;
  IR_VEC(Value *) spaced; /* values with a space, in graph order */
  /* results */
  PruneGroup *groups;
  int n_groups;
  int32_t *cls_group; /* by element root: group index, -1 none */
  Arena arena;
};

static int32_t find(PruneGroups *g, int32_t x) {
  while (g->parent.v[x] != x) {
    g->parent.v[x] = g->parent.v[g->parent.v[x]];
    x = g->parent.v[x];
  }
  return x;
}

static void unite(PruneGroups *g, int32_t a, int32_t b) {
  a = find(g, a);
  b = find(g, b);
  if (a != b) g->parent.v[a > b ? a : b] = a < b ? a : b;
}

static int32_t new_el(PruneGroups *g, bool fixed) {
  int32_t e = (int32_t)g->parent.n;
  ir_vec_push(g->parent, e);
  ir_vec_push(g->fixed, (uint8_t)fixed);
  return e;
}

static Space *space_of(PruneGroups *g, const Value *v) {
  return v && v->id < g->n_values ? g->space[v->id] : NULL;
}

static void fix(PruneGroups *g, const Value *v) {
  Space *s = space_of(g, v);
  for (int64_t c = 0; s && c < s->C; c++) g->fixed.v[s->el[c]] = 1;
}

static Space *set_space(PruneGroups *g, Value *v, int64_t C, int64_t stride, const int32_t *el) {
  if (!v || v->id >= g->n_values || C <= 0) return NULL;
  Space *s = ir_arena_alloc(&g->arena, sizeof *s);
  s->C = C;
  s->stride = stride;
  s->el = ir_arena_alloc(&g->arena, (size_t)C * sizeof *s->el);
  for (int64_t c = 0; c < C; c++) s->el[c] = el ? el[c] : new_el(g, false);
  g->space[v->id] = s;
  ir_vec_push(g->spaced, v);
  return s;
}

static void edit(PruneGroups *g, Node *n, int input, int axis, const Value *by, int64_t stride) {
  Edit e = {n, input, axis, by, stride, false};
  ir_vec_push(g->edits, e);
}

static bool is_float_const(const Value *v) {
  const Tensor *t = pass_const_data(v);
  return t && ir_elem(t->elem)->is_float && ir_elem(t->elem)->bits >= 8 && t->elem != ELEM_COMPLEX64 &&
         t->elem != ELEM_COMPLEX128;
}

static int64_t type_dim(const Value *v, int i) {
  if (!v || !v->type || v->type->kind != TYPE_TENSOR || v->type->rank <= i) return -1;
  return v->type->dims[i].param ? -1 : v->type->dims[i].value;
}

static int type_rank(const Value *v) {
  return v && v->type && v->type->kind == TYPE_TENSOR ? v->type->rank : -1;
}

static bool op_is(const Node *n, const char *const *names) {
  for (; *names; names++)
    if (!strcmp(n->op->family, *names)) return true;
  return false;
}

/* elementwise with one tensor input: channel c of the output is channel c of the input */
static const char *const unary_ops[] = {
    "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu",
    "Selu", "Celu", "Softplus", "Softsign", "Gelu", "Mish", "Abs", "Neg", "Exp", "Log",
    "Sqrt", "Identity", "Dropout", "Erf", "ThresholdedRelu", "Floor", "Ceil", "Round",
    "Sign", "Reciprocal", "Sin", "Cos", NULL};
static const char *const pool_ops[] = {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
                                        "GlobalMaxPool", "GlobalLpPool", NULL};
static const char *const binary_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum",
                                          "Mean", NULL};

/* Channel c of out is channel c of in (a shared class). */
static void follow(PruneGroups *g, Value *out, const Space *in) {
  if (in) set_space(g, out, in->C, in->stride, in->el);
}

static bool conv(PruneGroups *g, Node *n) {
  if (n->n_inputs < 2 || !is_float_const(n->inputs[1])) return false;
  if (n->n_inputs > 2 && n->inputs[2] && !is_float_const(n->inputs[2])) return false;
  const Tensor *W = pass_const_data(n->inputs[1]);
  if (W->rank < 3) return false;
  int64_t G = ir_attr_int(n, "group", 1), M = W->dims[0], Cg = W->dims[1];
  Space *sx = space_of(g, n->inputs[0]);
  Value *y = n->outputs[0];
  if (sx && sx->stride != 1) return false;
  if (G == 1) {
    if (sx && sx->C != Cg) return false;
    if (sx) edit(g, n, 1, 1, n->inputs[0], 1);
    Space *s = set_space(g, y, M, 1, NULL);
    for (int64_t c = 0; s && c < M; c++) {
      Rec r = {s->el[c], n, c};
      ir_vec_push(g->prod, r);
    }
    edit(g, n, 1, 0, y, 1);
    if (n->n_inputs > 2 && n->inputs[2]) edit(g, n, 2, 0, y, 1);
    return true;
  }
  if (G == M && Cg == 1 && (!sx || sx->C == M)) { /* depthwise: follows its producer */
    if (!sx) return true;
    follow(g, y, sx);
    edit(g, n, 1, 0, y, 1);
    if (n->n_inputs > 2 && n->inputs[2]) edit(g, n, 2, 0, y, 1);
    Edit e = {n, 0, 0, y, 1, true};
    ir_vec_push(g->edits, e);
    return true;
  }
  return false; /* grouped: input and output channels stay */
}

/* Gemm (transA 0) or rank-2 MatMul with constant weights B: output features are channels
 * produced here; input features follow A's channels. */
static bool gemm(PruneGroups *g, Node *n, bool matmul) {
  if (n->n_inputs < 2 || !is_float_const(n->inputs[1])) return false;
  if (!matmul && ir_attr_int(n, "transA", 0)) return false;
  const Tensor *B = pass_const_data(n->inputs[1]);
  if (B->rank != 2 || type_rank(n->inputs[0]) != 2) return false;
  bool tb = !matmul && ir_attr_int(n, "transB", 0);
  int64_t K = B->dims[tb ? 1 : 0], N = B->dims[tb ? 0 : 1];
  Space *sa = space_of(g, n->inputs[0]);
  int c_axis = -1;
  if (!matmul && n->n_inputs > 2 && n->inputs[2]) {
    if (!is_float_const(n->inputs[2])) return false;
    const Tensor *C = pass_const_data(n->inputs[2]);
    uint64_t cn;
    if (!ir_tensor_numel(C, &cn)) return false;
    if (cn != 1) {
      if (C->rank == 1 && C->dims[0] == N) c_axis = 0;
      else if (C->rank == 2 && C->dims[0] == 1 && C->dims[1] == N) c_axis = 1;
      else return false;
    }
  }
  if (sa && sa->C * sa->stride != K) return false;
  if (sa) edit(g, n, 1, tb ? 1 : 0, n->inputs[0], sa->stride);
  Value *y = n->outputs[0];
  Space *s = set_space(g, y, N, 1, NULL);
  for (int64_t c = 0; s && c < N; c++) {
    Rec r = {s->el[c], n, c};
    ir_vec_push(g->prod, r);
  }
  edit(g, n, 1, tb ? 0 : 1, y, 1);
  if (c_axis >= 0) edit(g, n, 2, c_axis, y, 1);
  return true;
}

static bool batchnorm(PruneGroups *g, Node *n) {
  if (n->n_inputs < 5 || ir_attr_int(n, "training_mode", 0)) return false;
  for (int j = 1; j < n->n_outputs; j++)
    if (n->outputs[j]) return false;
  Space *sx = space_of(g, n->inputs[0]);
  if (!sx || sx->stride != 1) return false;
  for (int i = 1; i < 5; i++) {
    const Tensor *t = pass_const_data(n->inputs[i]);
    if (!is_float_const(n->inputs[i]) || t->rank != 1 || t->dims[0] != sx->C) return false;
  }
  follow(g, n->outputs[0], sx);
  for (int64_t c = 0; c < sx->C; c++) {
    Rec r = {sx->el[c], n, c};
    ir_vec_push(g->bns, r);
  }
  for (int i = 1; i < 5; i++) edit(g, n, i, 0, n->outputs[0], 1);
  return true;
}

/* Elementwise with broadcasting: tensor operands with the output's channel count share
 * classes; constants follow along the channel axis (or broadcast over it). */
static bool binary(PruneGroups *g, Node *n) {
  Value *y = n->outputs[0];
  int r = type_rank(y);
  int64_t C = type_dim(y, 1);
  if (r < 2 || C < 0) return false;
  Space *first = NULL;
  for (int i = 0; i < n->n_inputs; i++) {
    Space *s = space_of(g, n->inputs[i]);
    if (s && type_rank(n->inputs[i]) == r && s->C * s->stride == C) {
      if (first && first->stride != s->stride) return false;
      if (!first) first = s;
    }
  }
  if (!first) return false;
  for (int i = 0; i < n->n_inputs; i++) {
    Value *v = n->inputs[i];
    if (!v) return false;
    Space *s = space_of(g, v);
    if (s == first) continue;
    if (s && type_rank(v) == r && s->C * s->stride == C) {
      for (int64_t c = 0; c < s->C; c++) unite(g, s->el[c], first->el[c]);
      continue;
    }
    const Tensor *t = pass_const_data(v);
    int vr = t ? t->rank : type_rank(v);
    int axis = vr - r + 1; /* the channel axis in v, right-aligned broadcasting */
    int64_t d = axis < 0 ? 1 : t ? t->dims[axis] : type_dim(v, axis);
    if (vr < 0 || vr > r || d < 0) return false;
    if (d == 1) {
      if (s) fix(g, v); /* a one-channel tensor broadcast over the channels */
      continue;
    }
    if (!t || d != C || first->stride != 1) return false;
    edit(g, n, i, axis, y, 1);
  }
  follow(g, y, first);
  return true;
}

static bool concat(PruneGroups *g, Node *n) {
  Value *y = n->outputs[0];
  int r = type_rank(y);
  int64_t axis = ir_attr_int(n, "axis", 1);
  if (r < 2 || axis < -r || axis >= r) return false;
  if (axis < 0) axis += r;
  if (axis != 1) return binary(g, n); /* channels are shared, as in Add */
  int64_t C = 0, stride = 0;
  for (int i = 0; i < n->n_inputs; i++) {
    Space *s = space_of(g, n->inputs[i]);
    int64_t d = type_dim(n->inputs[i], 1);
    if (d < 0 || (s && s->stride != 1)) return false;
    C += d;
    if (s) stride = 1;
  }
  if (!stride || C != type_dim(y, 1)) return false;
  int32_t *el = malloc((size_t)C * sizeof *el);
  if (!el) abort();
  int64_t off = 0;
  for (int i = 0; i < n->n_inputs; i++) {
    Space *s = space_of(g, n->inputs[i]);
    int64_t d = type_dim(n->inputs[i], 1);
    for (int64_t c = 0; c < d; c++) el[off + c] = s ? s->el[c] : new_el(g, true);
    off += d;
  }
  set_space(g, y, C, 1, el);
  free(el);
  return true;
}

static bool flatten(PruneGroups *g, Node *n) {
  Space *sx = space_of(g, n->inputs[0]);
  int r = type_rank(n->inputs[0]);
  if (!sx || r < 2 || ir_attr_int(n, "axis", 1) != 1) return false;
  int64_t S = 1;
  for (int i = 2; i < r; i++) {
    int64_t d = type_dim(n->inputs[0], i);
    if (d < 0) return false;
    S *= d;
  }
  set_space(g, n->outputs[0], sx->C, sx->stride * S, sx->el);
  return true;
}

/* One node: gives its outputs spaces; false when it reads channels it does not follow
 * (its spaced inputs are then pinned). */
static bool visit(PruneGroups *g, Node *n) {
  if (!n->op || n->n_outputs < 1 || !n->outputs[0]) return false;
  const char *f = n->op->family;
  if (!strcmp(f, "Conv")) return conv(g, n);
  if (!strcmp(f, "Gemm")) return gemm(g, n, false);
  if (!strcmp(f, "MatMul")) return gemm(g, n, true);
  if (!strcmp(f, "BatchNormalization")) return batchnorm(g, n);
  if (!strcmp(f, "Concat")) return concat(g, n);
  if (!strcmp(f, "Flatten")) return flatten(g, n);
  if (op_is(n, binary_ops)) return binary(g, n);
  bool unary = op_is(n, unary_ops), pool = op_is(n, pool_ops);
  if (!unary && !pool) return false;
  if (n->n_inputs < 1 || n->n_outputs > 1 + 0 * unary) {
    for (int j = 1; j < n->n_outputs; j++)
      if (n->outputs[j]) return false; /* MaxPool indices, Dropout mask */
  }
  Space *sx = space_of(g, n->inputs[0]);
  if (!sx || (pool && sx->stride != 1)) return false;
  for (int i = 1; i < n->n_inputs; i++)
    if (space_of(g, n->inputs[i])) return false;
  if (pool && type_rank(n->inputs[0]) < 3) return false;
  follow(g, n->outputs[0], sx);
  return true;
}

static const char *node_label(const Node *n) {
  if (n->name && *n->name) return n->name;
  return n->n_inputs > 1 && n->inputs[1] ? n->inputs[1]->name : n->op_type;
}

static int pfind(int *p, int x) {
  while (p[x] != x) x = p[x] = p[p[x]];
  return x;
}

static int cmp_el(const void *a, const void *b) {
  const Rec *x = a, *y = b;
  return x->el != y->el ? (x->el < y->el ? -1 : 1) : (x->node->id < y->node->id ? -1 : x->node->id > y->node->id);
}

PruneGroups *prune_groups_build(Model *m) {
  PruneGroups *g = calloc(1, sizeof *g);
  if (!g) abort();
  ir_arena_init(&g->arena);
  g->m = m;
  g->n_values = m->next_value_id;
  g->space = calloc(g->n_values + 1, sizeof *g->space);
  if (!g->space) abort();
  Graph *gr = m->graph;
  for (size_t i = 0; i < gr->nodes.n; i++) {
    Node *n = gr->nodes.v[i];
    if (!n || visit(g, n)) continue;
    for (int j = 0; j < n->n_inputs; j++) fix(g, n->inputs[j]);
    for (int j = 0; j < n->n_outputs; j++)
      if (n->outputs[j] && n->outputs[j]->id < g->n_values) g->space[n->outputs[j]->id] = NULL;
  }
  /* graph outputs and readers outside the main graph pin their channels */
  for (int i = 0; i < gr->n_outputs; i++) fix(g, gr->outputs[i]);
  for (size_t i = 0; i < g->spaced.n; i++)
    for (const Use *u = g->spaced.v[i]->uses; u; u = u->next)
      if (u->node->graph != gr) fix(g, g->spaced.v[i]);
  int32_t ne = (int32_t)g->parent.n;
  for (int32_t e = 0; e < ne; e++)
    if (g->fixed.v[e]) g->fixed.v[find(g, e)] = 1;
  /* producers by class; a class without one cannot go */
  for (size_t i = 0; i < g->prod.n; i++) g->prod.v[i].el = find(g, g->prod.v[i].el);
  for (size_t i = 0; i < g->bns.n; i++) g->bns.v[i].el = find(g, g->bns.v[i].el);
  if (g->prod.n) qsort(g->prod.v, g->prod.n, sizeof *g->prod.v, cmp_el);
  if (g->bns.n) qsort(g->bns.v, g->bns.n, sizeof *g->bns.v, cmp_el);
  uint8_t *has_prod = calloc((size_t)ne + 1, 1);
  if (!has_prod) abort();
  for (size_t i = 0; i < g->prod.n; i++) has_prod[g->prod.v[i].el] = 1;
  for (int32_t e = 0; e < ne; e++)
    if (find(g, e) == e && !has_prod[e]) g->fixed.v[e] = 1;
  /* groups: producer nodes that share a class belong together */
  uint32_t nn = m->next_node_id;
  int *p = malloc(((size_t)nn + 1) * sizeof *p);
  int *gi = malloc(((size_t)nn + 1) * sizeof *gi);
  if (!p || !gi) abort();
  for (uint32_t k = 0; k <= nn; k++) p[k] = (int)k, gi[k] = -1;
  for (size_t i = 1; i < g->prod.n; i++)
    if (g->prod.v[i].el == g->prod.v[i - 1].el) {
      int a = pfind(p, (int)g->prod.v[i].node->id), b = pfind(p, (int)g->prod.v[i - 1].node->id);
      if (a != b) p[a > b ? a : b] = a < b ? a : b;
    }
  g->groups = calloc(gr->nodes.n + 1, sizeof *g->groups);
  g->cls_group = malloc(((size_t)ne + 1) * sizeof *g->cls_group);
  if (!g->groups || !g->cls_group) abort();
  for (int32_t e = 0; e < ne; e++) g->cls_group[e] = -1;
  for (size_t i = 0; i < gr->nodes.n; i++) { /* groups in graph order of their first producer */
    Node *n = gr->nodes.v[i];
    if (!n) continue;
    bool producer = false;
    for (size_t k = 0; k < g->prod.n && !producer; k++) producer = g->prod.v[k].node == n;
    if (!producer) continue;
    int root = pfind(p, (int)n->id);
    if (gi[root] < 0) {
      gi[root] = g->n_groups;
      PruneGroup *pg = &g->groups[g->n_groups++];
      pg->name = node_label(n);
    }
    PruneGroup *pg = &g->groups[gi[root]];
    pg->producers = realloc(pg->producers, (size_t)(pg->n_producers + 1) * sizeof *pg->producers);
    if (!pg->producers) abort();
    pg->producers[pg->n_producers++] = n;
  }
  for (size_t k = 0; k < g->prod.n; k++) {
    int32_t e = g->prod.v[k].el;
    if (g->cls_group[e] >= 0) continue;
    PruneGroup *pg = &g->groups[gi[pfind(p, (int)g->prod.v[k].node->id)]];
    g->cls_group[e] = (int32_t)(pg - g->groups);
    pg->classes = realloc(pg->classes, (size_t)(pg->n_classes + 1) * sizeof *pg->classes);
    if (!pg->classes) abort();
    pg->classes[pg->n_classes++] = e;
    if (g->fixed.v[e]) pg->n_fixed++;
  }
  free(p);
  free(gi);
  free(has_prod);
  return g;
}

void prune_groups_free(PruneGroups *g) {
  if (!g) return;
  for (int i = 0; i < g->n_groups; i++) {
    free(g->groups[i].producers);
    free(g->groups[i].classes);
  }
  free(g->groups);
  free(g->cls_group);
  free(g->space);
  ir_vec_free(g->parent);
  ir_vec_free(g->fixed);
  ir_vec_free(g->edits);
  ir_vec_free(g->prod);
  ir_vec_free(g->bns);
  ir_vec_free(g->spaced);
  ir_arena_free(&g->arena);
  free(g);
}

const PruneGroup *prune_groups_get(const PruneGroups *g, int *n) {
  *n = g->n_groups;
  return g->groups;
}

bool prune_class_fixed(const PruneGroups *g, int32_t cls) {
  return g->fixed.v[cls] != 0;
}

/* The weights (elements) that produce output channel ch of a producer node. */
static void producer_slice(const Node *n, int64_t ch, const Tensor **W, uint64_t *first,
                           uint64_t *count, uint64_t *step) {
  *W = pass_const_data(n->inputs[1]);
  const Tensor *t = *W;
  if (!strcmp(n->op->family, "Conv")) {
    uint64_t per = 1;
    for (int i = 1; i < t->rank; i++) per *= (uint64_t)t->dims[i];
    *first = (uint64_t)ch * per, *count = per, *step = 1;
  } else if (!strcmp(n->op->family, "Gemm") && ir_attr_int(n, "transB", 0)) {
    *first = (uint64_t)ch * (uint64_t)t->dims[1], *count = (uint64_t)t->dims[1], *step = 1;
  } else {
    *first = (uint64_t)ch, *count = (uint64_t)t->dims[0], *step = (uint64_t)t->dims[1];
  }
}

int prune_groups_importance(const PruneGroups *g, PruneImportance kind, bool per_weight,
                            double *imp) {
  int32_t ne = (int32_t)g->parent.n;
  double *cnt = calloc((size_t)ne + 1, sizeof *cnt);
  if (!cnt) abort();
  for (int32_t e = 0; e < ne; e++) imp[e] = 0;
  int no_bn = 0;
  uint8_t *has_bn = calloc((size_t)ne + 1, 1);
  if (!has_bn) abort();
  if (kind == PRUNE_IMP_BN)
    for (size_t k = 0; k < g->bns.n; k++) {
      const Rec *r = &g->bns.v[k];
      const Tensor *gamma = pass_const_data(r->node->inputs[1]);
      imp[r->el] += fabs(ir_elem(gamma->elem)->to_f64(gamma->data, (uint64_t)r->ch));
      cnt[r->el] += 1;
      has_bn[r->el] = 1;
    }
  for (size_t k = 0; k < g->prod.n; k++) {
    const Rec *r = &g->prod.v[k];
    if (kind == PRUNE_IMP_BN && has_bn[r->el]) continue;
    if (kind == PRUNE_IMP_BN && g->cls_group[r->el] >= 0 && !g->fixed.v[r->el]) no_bn++;
    const Tensor *W;
    uint64_t first, count, step;
    producer_slice(r->node, r->ch, &W, &first, &count, &step);
    const ElemTraits *tr = ir_elem(W->elem);
    for (uint64_t i = 0; i < count; i++) {
      double w = tr->to_f64(W->data, first + i * step);
      imp[r->el] += kind == PRUNE_IMP_L1 ? fabs(w) : w * w;
    }
    cnt[r->el] += (double)count;
  }
  for (int32_t e = 0; e < ne; e++) {
    if (kind != PRUNE_IMP_L1 && !has_bn[e]) {
      imp[e] = per_weight && cnt[e] > 0 ? sqrt(imp[e] / cnt[e]) : sqrt(imp[e]);
      continue;
    }
    if (per_weight && cnt[e] > 0) imp[e] /= cnt[e];
  }
  free(cnt);
  free(has_bn);
  return no_bn;
}

int32_t prune_groups_n_elements(const PruneGroups *g) {
  return (int32_t)g->parent.n;
}

/* Keep mask (one byte per index of dim 1) of value v's channels, each repeated `stride`
 * times; returns the kept channel count. */
static int64_t mask_of(PruneGroups *g, const Value *v, const uint8_t *remove, int64_t stride,
                       uint8_t *keep) {
  Space *s = space_of(g, v);
  int64_t kept = 0;
  for (int64_t c = 0; c < s->C; c++) {
    uint8_t k = !remove[find(g, s->el[c])];
    kept += k;
    for (int64_t j = 0; j < stride; j++) keep[c * stride + j] = k;
  }
  return kept;
}

/* A copy of t without the indices of `axis` whose keep byte is 0. */
static Tensor *slice_axis(Arena *a, const Tensor *t, int axis, const uint8_t *keep) {
  int64_t *dims = ir_arena_alloc(a, (size_t)(t->rank ? t->rank : 1) * sizeof *dims);
  memcpy(dims, t->dims, (size_t)t->rank * sizeof *dims);
  int64_t kept = 0;
  for (int64_t i = 0; i < t->dims[axis]; i++) kept += keep[i] != 0;
  dims[axis] = kept;
  Tensor *nt = ir_tensor_new(a, t->elem, t->rank, dims);
  if (!ir_tensor_alloc_data(a, nt)) return NULL;
  nt->has_data = true;
  size_t esz = (size_t)ir_elem(t->elem)->bits / 8, inner = esz, outer = 1;
  for (int i = axis + 1; i < t->rank; i++) inner *= (size_t)t->dims[i];
  for (int i = 0; i < axis; i++) outer *= (size_t)t->dims[i];
  const char *src = t->data;
  char *dst = nt->data;
  for (size_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < t->dims[axis]; i++, src += inner)
      if (keep[i]) {
        memcpy(dst, src, inner);
        dst += inner;
      }
  return nt;
}

static uint64_t numel(const Tensor *t) {
  uint64_t n = 0;
  ir_tensor_numel(t, &n);
  return n;
}

int prune_groups_apply(PruneGroups *g, const uint8_t *remove, int64_t *params_removed,
                       Diag *d) {
  Arena *a = &g->m->arena;
  Graph *gr = g->m->graph;
  int64_t maxc = 1;
  for (size_t i = 0; i < g->spaced.n; i++) {
    Space *s = space_of(g, g->spaced.v[i]);
    if (s->C * s->stride > maxc) maxc = s->C * s->stride;
  }
  uint8_t *keep = malloc((size_t)maxc);
  if (!keep) abort();
  int32_t ne = (int32_t)g->parent.n;
  for (int32_t e = 0; e < ne; e++)
    if (remove[e] && (find(g, e) != e || g->fixed.v[e])) {
      free(keep);
      ir_error(d, ir_noloc, "internal: channel class %d cannot be removed", (int)e);
      return -1;
    }
  *params_removed = 0;
  for (size_t i = 0; i < g->edits.n; i++) {
    Edit *e = &g->edits.v[i];
    int64_t kept = mask_of(g, e->by, remove, e->stride, keep);
    Space *s = space_of(g, e->by);
    if (kept == s->C) continue;
    if (e->group) {
      pass_set_attr_int(e->node, "group", kept);
      continue;
    }
    const Tensor *t = pass_const_data(e->node->inputs[e->input]);
    if (!t || t->dims[e->axis] != s->C * e->stride) {
      free(keep);
      ir_error(d, e->node->loc, "internal: weight '%s' of node '%s' does not match its channels",
               e->node->inputs[e->input]->name, node_label(e->node));
      return -1;
    }
    Tensor *nt = slice_axis(a, t, e->axis, keep);
    if (!nt) {
      free(keep);
      ir_error(d, e->node->loc, "cannot allocate the pruned '%s'", e->node->inputs[e->input]->name);
      return -1;
    }
    *params_removed += (int64_t)(numel(t) - numel(nt));
    Value *old = e->node->inputs[e->input];
    Value *nv = pass_add_initializer(gr, old->name, nt);
    pass_set_input(e->node, e->input, nv);
  }
  /* the tensors' types: dim 1 holds the kept channels */
  for (size_t i = 0; i < g->spaced.n; i++) {
    Value *v = g->spaced.v[i];
    Space *s = space_of(g, v);
    int64_t kept = mask_of(g, v, remove, 1, keep);
    if (kept == s->C || !v->type || v->type->kind != TYPE_TENSOR || v->type->rank < 2) continue;
    Type *t = ir_arena_dup(a, v->type, sizeof *t);
    t->dims = ir_arena_dup(a, v->type->dims, (size_t)t->rank * sizeof *t->dims);
    t->dims[1].value = kept * s->stride;
    t->dims[1].param = NULL;
    v->type = t;
  }
  free(keep);
  return 0;
}

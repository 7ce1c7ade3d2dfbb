/* plan.c - the memory planner (pass `plan`): liveness of every intermediate of the main
 * graph, in-place reuse for elementwise operators, and placement of the buffers in one arena
 * (best-fit with conflict search, TFLM-style greedy by size, or no reuse). The placement
 * function and the whole-model plan are also called directly (effc stats, the MCU backend). */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ placement */

typedef struct Group {
  uint64_t size; /* aligned */
  int first, last;
  int64_t offset;
} Group;

typedef struct Span {
  uint64_t off, end;
} Span;

static int span_cmp(const void *a, const void *b) {
  const Span *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* The groups live at each step, as one array cut per step (steps lo .. lo + ns - 1): step s
 * owns at[start[s - lo] .. start[s - lo + 1]), its first fill[s - lo] slots used so far. A
 * group's conflicts are then found by looking at its own steps only, so a long chain plans
 * in linear time. */
typedef struct StepIndex {
  int lo, ns;
  int *start, *at, *fill;
} StepIndex;

static void step_index_init(StepIndex *x, const Group *gs, int n) {
  int lo = 0, hi = -1;
  for (int i = 0; i < n; i++) {
    if (gs[i].first < lo || i == 0) lo = gs[i].first;
    if (gs[i].last > hi || i == 0) hi = gs[i].last;
  }
  x->lo = lo;
  x->ns = hi - lo + 1;
  x->start = calloc((size_t)x->ns + 2, sizeof *x->start);
  x->fill = calloc((size_t)x->ns + 1, sizeof *x->fill);
  for (int i = 0; i < n; i++)
    for (int s = gs[i].first; s <= gs[i].last; s++) x->start[s - lo + 1]++;
  for (int s = 0; s < x->ns; s++) x->start[s + 1] += x->start[s];
  x->at = malloc(((size_t)x->start[x->ns] + 1) * sizeof *x->at);
}

static void step_index_add(StepIndex *x, const Group *g, int id) {
  for (int s = g->first; s <= g->last; s++) x->at[x->start[s - x->lo] + x->fill[s - x->lo]++] = id;
}

static void step_index_free(StepIndex *x) {
  free(x->start);
  free(x->at);
  free(x->fill);
}

/* Place group x among the placed groups whose lifetimes intersect x's: the first gap that
 * fits (first_fit) or the tightest one; else above all of them. mark/stamp deduplicate the
 * groups met on several steps. */
static void place_one(Group *gs, int x, StepIndex *ix, bool first_fit, Span *tmp, int *mark, int stamp) {
  int k = 0;
  for (int s = gs[x].first; s <= gs[x].last; s++) {
    const int *at = ix->at + ix->start[s - ix->lo];
    for (int q = 0; q < ix->fill[s - ix->lo]; q++) {
      const Group *p = &gs[at[q]];
      if (mark[at[q]] == stamp || !p->size) continue;
      mark[at[q]] = stamp;
      tmp[k++] = (Span){(uint64_t)p->offset, (uint64_t)p->offset + p->size};
    }
  }
  qsort(tmp, (size_t)k, sizeof *tmp, span_cmp);
  uint64_t need = gs[x].size, cur = 0, best_gap = UINT64_MAX, best_off = 0;
  bool found = false;
  for (int i = 0; i < k && !(found && first_fit); i++) {
    if (tmp[i].off > cur && tmp[i].off - cur >= need && tmp[i].off - cur < best_gap) {
      best_gap = tmp[i].off - cur;
      best_off = cur;
      found = true;
    }
    if (tmp[i].end > cur) cur = tmp[i].end;
  }
  gs[x].offset = (int64_t)(found ? best_off : cur);
  step_index_add(ix, &gs[x], x);
}

/* Place every group in the given order; returns the arena size. */
static uint64_t place_order(Group *gs, int n, const int *order, bool first_fit, StepIndex *ix,
                            Span *tmp, int *mark) {
  memset(ix->fill, 0, (size_t)ix->ns * sizeof *ix->fill);
  memset(mark, -1, (size_t)n * sizeof *mark);
  uint64_t top = 0;
  for (int i = 0; i < n; i++) {
    int g = order[i];
    place_one(gs, g, ix, first_fit, tmp, mark, i);
    if (gs[g].size && (uint64_t)gs[g].offset + gs[g].size > top) top = (uint64_t)gs[g].offset + gs[g].size;
  }
  return top;
}

/* Sort keys: size descending, then first use, then index (deterministic). */
static const Group *sort_groups;
static int by_size(const void *a, const void *b) {
  const Group *x = &sort_groups[*(const int *)a], *y = &sort_groups[*(const int *)b];
  if (x->size != y->size) return x->size > y->size ? -1 : 1;
  if (x->first != y->first) return x->first < y->first ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

/* Size times lifetime descending (the buffers that block the most first). */
static int by_area(const void *a, const void *b) {
  const Group *x = &sort_groups[*(const int *)a], *y = &sort_groups[*(const int *)b];
  double ax = (double)x->size * (x->last - x->first + 1), ay = (double)y->size * (y->last - y->first + 1);
  if (ax != ay) return ax > ay ? -1 : 1;
  return by_size(a, b);
}

/* Lifetime descending, then size. */
static int by_life(const void *a, const void *b) {
  const Group *x = &sort_groups[*(const int *)a], *y = &sort_groups[*(const int *)b];
  if (x->last - x->first != y->last - y->first) return (y->last - y->first) - (x->last - x->first);
  return by_size(a, b);
}

/* Bytes live at each step of the index (breadth[s - lo]). The caller frees. */
static uint64_t *step_breadth(const Group *gs, int n, const StepIndex *ix) {
  uint64_t *breadth = calloc((size_t)ix->ns + 1, sizeof *breadth);
  for (int i = 0; i < n; i++)
    for (int s = gs[i].first; s <= gs[i].last; s++) breadth[s - ix->lo] += gs[i].size;
  return breadth;
}

static const uint64_t *sort_breadth;
static int by_breadth(const void *a, const void *b) { /* descending, then step order */
  uint64_t x = sort_breadth[*(const int *)a], y = sort_breadth[*(const int *)b];
  if (x != y) return x > y ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

/* Greedy by breadth (Pisarchyk and Lee, 2020): visit steps from the one whose live buffers
 * take the most bytes; take each step's unplaced buffers largest first. */
static void breadth_order(const Group *gs, int n, const int *by_sz, StepIndex *ix, int *order) {
  uint64_t *breadth = step_breadth(gs, n, ix);
  int *steps = malloc(((size_t)ix->ns + 1) * sizeof *steps);
  bool *done = calloc((size_t)n + 1, sizeof *done);
  for (int s = 0; s < ix->ns; s++) steps[s] = s;
  sort_breadth = breadth;
  qsort(steps, (size_t)ix->ns, sizeof *steps, by_breadth);
  memset(ix->fill, 0, (size_t)ix->ns * sizeof *ix->fill);
  for (int j = 0; j < n; j++) step_index_add(ix, &gs[by_sz[j]], by_sz[j]); /* sorted per step */
  int k = 0;
  for (int si = 0; si < ix->ns; si++)
    for (int q = ix->start[steps[si]]; q < ix->start[steps[si] + 1]; q++)
      if (!done[ix->at[q]]) done[ix->at[q]] = true, order[k++] = ix->at[q];
  free(breadth);
  free(steps);
  free(done);
}

static int find_root(int *parent, int i) {
  while (parent[i] != i) parent[i] = parent[parent[i]], i = parent[i];
  return i;
}

/* One group per alias set (aliases merged unless `merge` is false): the union of the
 * lifetimes, the largest aligned size. gid[i] is buffer i's group. Returns the count. */
static int make_groups(const PlanBuf *b, int n, bool merge, uint64_t align, Group *gs, int *gid) {
  int *parent = malloc(((size_t)n + 1) * sizeof *parent);
  for (int i = 0; i < n; i++) parent[i] = i;
  for (int i = 0; i < n && merge; i++)
    if (b[i].alias >= 0 && b[i].alias < n) {
      int r1 = find_root(parent, i), r2 = find_root(parent, b[i].alias);
      if (r1 != r2) parent[r1] = r2;
    }
  int ng = 0;
  for (int i = 0; i < n; i++) gid[i] = -1;
  for (int i = 0; i < n; i++) {
    int r = find_root(parent, i);
    if (gid[r] < 0) {
      gid[r] = ng++;
      gs[gid[r]] = (Group){0, b[i].first, b[i].last, 0};
    }
    Group *g = &gs[gid[r]];
    uint64_t sz = (b[i].size + align - 1) / align * align;
    if (sz > g->size) g->size = sz;
    if (b[i].first < g->first) g->first = b[i].first;
    if (b[i].last > g->last) g->last = b[i].last;
    gid[i] = gid[r];
  }
  free(parent);
  return ng;
}

uint64_t pass_plan_lower_bound(const PlanBuf *b, int n, uint64_t align) {
  if (align == 0) align = 1;
  Group *gs = calloc((size_t)n + 1, sizeof *gs);
  int *gid = malloc(((size_t)n + 1) * sizeof *gid);
  int ng = make_groups(b, n, true, align, gs, gid);
  StepIndex ix;
  step_index_init(&ix, gs, ng);
  uint64_t *breadth = step_breadth(gs, ng, &ix), top = 0;
  for (int s = 0; ng && s < ix.ns; s++) top = breadth[s] > top ? breadth[s] : top;
  free(breadth);
  step_index_free(&ix);
  free(gs);
  free(gid);
  return top;
}

uint64_t pass_plan_place(PlanBuf *b, int n, PlanStrategy s, uint64_t align) {
  if (align == 0) align = 1;
  Group *gs = calloc((size_t)n + 1, sizeof *gs);
  int *gid = malloc(((size_t)n + 1) * sizeof *gid);
  int ng = make_groups(b, n, s != PLAN_NAIVE, align, gs, gid);
  uint64_t top = 0;
  if (s == PLAN_NAIVE) {
    for (int i = 0; i < ng; i++) gs[i].offset = (int64_t)top, top += gs[i].size;
  } else {
    int *by_sz = malloc(((size_t)ng + 1) * sizeof *by_sz), *order = malloc(((size_t)ng + 1) * sizeof *order);
    int *mark = malloc(((size_t)ng + 1) * sizeof *mark);
    int64_t *keep = malloc(((size_t)ng + 1) * sizeof *keep);
    Span *tmp = malloc(((size_t)ng + 1) * sizeof *tmp);
    StepIndex ix;
    step_index_init(&ix, gs, ng);
    for (int i = 0; i < ng; i++) by_sz[i] = i;
    sort_groups = gs;
    qsort(by_sz, (size_t)ng, sizeof *by_sz, by_size);
    top = place_order(gs, ng, by_sz, true, &ix, tmp, mark);
    if (s == PLAN_BEST) {
      /* best fit in size, breadth, area and lifetime order; keep the smallest of the five */
      for (int i = 0; i < ng; i++) keep[i] = gs[i].offset;
      for (int attempt = 0; attempt < 4; attempt++) {
        if (attempt == 1) breadth_order(gs, ng, by_sz, &ix, order);
        if (attempt >= 2) {
          memcpy(order, by_sz, (size_t)ng * sizeof *order);
          qsort(order, (size_t)ng, sizeof *order, attempt == 2 ? by_area : by_life);
        }
        uint64_t t = place_order(gs, ng, attempt ? order : by_sz, false, &ix, tmp, mark);
        if (t < top) {
          top = t;
          for (int i = 0; i < ng; i++) keep[i] = gs[i].offset;
        }
      }
      for (int i = 0; i < ng; i++) gs[i].offset = keep[i];
    }
    step_index_free(&ix);
    free(by_sz);
    free(order);
    free(mark);
    free(keep);
    free(tmp);
  }
  for (int i = 0; i < n; i++) b[i].offset = gs[gid[i]].offset;
  free(gid);
  free(gs);
  return top;
}

/* ------------------------------------------------------------------ the model's plan */

/* Operators whose output may take an input's buffer: elementwise ones, where out[i] depends
 * on in[i] (and broadcast operands) only, so a kernel may write out where it reads in, and
 * reshapes. `data0`
 * marks those where only input 0 qualifies. Emitted kernels for these ops accept out == in. */
static const struct {
  const char *op;
  bool data0;
} inplace_ops[] = {
    {"Abs", 0}, {"Acos", 0}, {"Acosh", 0}, {"Asin", 0}, {"Asinh", 0}, {"Atan", 0},
    {"Atanh", 0}, {"BitwiseNot", 0}, {"Ceil", 0}, {"Celu", 0}, {"Cos", 0}, {"Cosh", 0},
    {"Elu", 0}, {"Erf", 0}, {"Exp", 0}, {"Floor", 0}, {"Gelu", 0}, {"HardSigmoid", 0},
    {"HardSwish", 0}, {"LeakyRelu", 0}, {"Log", 0}, {"Mish", 0}, {"Neg", 0}, {"Not", 0},
    {"Reciprocal", 0}, {"Relu", 0}, {"Round", 0}, {"Selu", 0}, {"Shrink", 0}, {"Sigmoid", 0},
    {"Sign", 0}, {"Sin", 0}, {"Sinh", 0}, {"Softplus", 0}, {"Softsign", 0}, {"Sqrt", 0},
    {"Swish", 0}, {"Tan", 0}, {"Tanh", 0}, {"ThresholdedRelu", 0}, {"Identity", 0},
    {"Cast", 0}, {"CastLike", 1}, {"Clip", 1}, {"BatchNormalization", 1}, {"PRelu", 1},
    {"Dropout", 1}, {"Add", 0}, {"Sub", 0}, {"Mul", 0}, {"Div", 0}, {"Pow", 0}, {"Max", 0},
    {"Min", 0}, {"Sum", 0}, {"Mean", 0}, {"Mod", 0}, {"BitShift", 0}, {"BitwiseAnd", 0},
    {"BitwiseOr", 0}, {"BitwiseXor", 0}, {"And", 0}, {"Or", 0}, {"Xor", 0}, {"Equal", 0},
    {"Greater", 0}, {"GreaterOrEqual", 0}, {"Less", 0}, {"LessOrEqual", 0}, {"Where", 0},
    /* the same bytes under another shape: in place, the copy is a no-op */
    {"Reshape", 1}, {"Flatten", 1}, {"Squeeze", 1}, {"Unsqueeze", 1},
};

int pass_plan_inplace_inputs(const Node *n) {
  if (!n->op || (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))) return 0;
  for (size_t i = 0; i < sizeof inplace_ops / sizeof inplace_ops[0]; i++)
    if (!strcmp(inplace_ops[i].op, n->op_type)) {
      /* BatchNormalization in training form writes running statistics too */
      if (!strcmp(n->op_type, "BatchNormalization") && n->n_outputs > 1) {
        for (int k = 1; k < n->n_outputs; k++)
          if (n->outputs[k]) return 0;
      }
      return inplace_ops[i].data0 ? 1 : n->n_inputs;
    }
  return 0;
}

/* QLinearConv with group = input channels > 1 (one input channel per group). */
static bool is_depthwise_qconv(const Node *n) {
  if (!n->op || *n->domain || strcmp(n->op_type, "QLinearConv") || n->n_inputs < 1 || !n->inputs[0])
    return false;
  const Type *t = n->inputs[0]->type;
  int64_t g = ir_attr_int(n, "group", 1);
  return g > 1 && t && t->kind == TYPE_TENSOR && t->rank == 4 && t->dims[1].value == g;
}

static const char *const random_ops[] = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                         "RandomUniformLike", "Bernoulli", "Multinomial"};

static bool has_subgraph(const Node *n) {
  for (int i = 0; i < n->n_attrs; i++)
    if (n->attrs[i].type == ATTR_GRAPH || n->attrs[i].type == ATTR_GRAPHS) return true;
  return false;
}

/* Outputs of n are computable from constants alone. */
static bool const_node(const Node *n, const bool *konst) {
  if (!n->op || has_subgraph(n)) return false;
  for (size_t i = 0; i < sizeof random_ops / sizeof random_ops[0]; i++)
    if (!strcmp(n->op_type, random_ops[i])) return false;
  uint64_t in = 0, out = 0, ne;
  size_t nb;
  for (int k = 0; k < n->n_inputs; k++) {
    const Value *v = n->inputs[k];
    if (v && !konst[v->id]) return false;
    if (v && v->type && ir_type_numel(v->type, &ne) && ir_elem_nbytes(v->type->elem, ne, &nb))
      in += nb;
  }
  for (int k = 0; k < n->n_outputs; k++) { /* results `fold` leaves in place need buffers */
    const Value *v = n->outputs[k];
    if (v && v->type && ir_type_numel(v->type, &ne) && ir_elem_nbytes(v->type->elem, ne, &nb))
      out += nb;
  }
  return n->n_inputs == 0 || !pass_fold_grows(in, out, 0);
}

/* The main-graph node that holds (at any depth) the node u, or NULL. */
static const Node *top_node(const Graph *g, const Node *u) {
  while (u && u->graph != g) u = u->graph && u->graph->parent ? u->graph->parent_node : NULL;
  return u;
}

void pass_plan_free(ModelPlan *p) {
  free(p->offset);
  free(p->bytes);
  free(p->inplace);
  memset(p, 0, sizeof *p);
}

int pass_plan_model(const Model *m, const PlanOptions *o, ModelPlan *p, Diag *d) {
  memset(p, 0, sizeof *p);
  const Graph *g = m->graph;
  uint32_t nv = m->next_value_id, nnode = m->next_node_id;
  size_t nn = g->nodes.n;
  p->offset = malloc(((size_t)nv + 1) * sizeof *p->offset);
  p->bytes = calloc((size_t)nv + 1, sizeof *p->bytes);
  p->inplace = calloc((size_t)nv + 1, sizeof *p->inplace);
  bool *konst = calloc((size_t)nv + 1, sizeof *konst);
  int *buf_of = malloc(((size_t)nv + 1) * sizeof *buf_of);     /* value id -> buffer */
  int *step_of = malloc(((size_t)nnode + 1) * sizeof *step_of); /* node id -> step */
  PlanBuf *b = calloc((size_t)nv + 1, sizeof *b);
  bool *taken = calloc((size_t)nv + 1, sizeof *taken); /* buffer taken over in place */
  Value **bv = calloc((size_t)nv + 1, sizeof *bv);
  int nb = 0, rc = 0;
  for (uint32_t i = 0; i < nv; i++) p->offset[i] = -1, buf_of[i] = -1;
  for (uint32_t i = 0; i < nnode; i++) step_of[i] = -1;
  /* step 0: the graph inputs; node i: step i + 1; the graph outputs: step nn + 1 */
  for (size_t i = 0; i < nn; i++)
    if (g->nodes.v[i]) step_of[g->nodes.v[i]->id] = (int)i + 1;
  for (size_t i = 0; i < g->initializers.n; i++) {
    const Value *v = g->initializers.v[i];
    if (v && pass_const_data(v)) konst[v->id] = true;
    if (v && v->sparse_init && !pass_is_graph_input(g, v)) konst[v->id] = true;
  }

  /* the buffers: node outputs (and graph inputs/outputs with o->io) */
  for (int k = 0; o->io && k < g->n_inputs; k++) {
    Value *v = g->inputs[k];
    if (!v || konst[v->id] || buf_of[v->id] >= 0) continue;
    bv[nb] = v, buf_of[v->id] = nb, b[nb++] = (PlanBuf){0, 0, 0, -1, 0};
  }
  for (size_t i = 0; i < nn; i++) {
    const Node *n = g->nodes.v[i];
    if (!n) continue;
    bool c = const_node(n, konst);
    for (int k = 0; k < n->n_outputs; k++) {
      Value *v = n->outputs[k];
      if (!v) continue;
      if (c) {
        konst[v->id] = true;
        continue;
      }
      if (!v->uses && !pass_is_graph_output(g, v)) continue; /* unused */
      if (!o->io && pass_is_graph_output(g, v)) continue;    /* the caller's buffer */
      bv[nb] = v, buf_of[v->id] = nb, b[nb++] = (PlanBuf){0, (int)i + 1, (int)i + 1, -1, 0};
    }
  }
  /* sizes and last uses */
  for (int i = 0; i < nb; i++) {
    Value *v = bv[i];
    uint64_t ne;
    size_t nbytes;
    if (!v->type || v->type->kind != TYPE_TENSOR || !ir_type_numel(v->type, &ne) ||
        !ir_elem_nbytes(v->type->elem, ne, &nbytes) || v->type->elem == ELEM_STRING) {
      char ty[128];
      if (v->type) ir_type_to_str(v->type, ty, sizeof ty);
      else snprintf(ty, sizeof ty, "unknown");
      ir_error(d, v->producer ? v->producer->loc : v->loc,
               "value '%s' (type %s) has no static size: bind symbolic dimensions with --dim or "
               "--shape",
               v->name, ty);
      rc = -1;
      continue;
    }
    b[i].size = nbytes;
    p->bytes[v->id] = nbytes;
    for (const Use *u = v->uses; u; u = u->next) {
      const Node *t = top_node(g, u->node);
      int s = t ? step_of[t->id] : -1;
      if (s > b[i].last) b[i].last = s;
    }
    if (pass_is_graph_output(g, v)) b[i].last = (int)nn + 1;
  }
  /* outer values that a subgraph returns directly stay live across its node */
  for (size_t i = 0; i < nn; i++) {
    const Node *n = g->nodes.v[i];
    if (!n || !has_subgraph(n)) continue;
    Graph **sv = NULL;
    size_t len = 0, cap = 0;
    pass_node_subgraphs(n, &sv, &len, &cap);
    for (size_t k = 0; k < len; k++) {
      for (int j = 0; j < sv[k]->n_outputs; j++) {
        const Value *v = sv[k]->outputs[j];
        if (v && v->graph == g && buf_of[v->id] >= 0 && b[buf_of[v->id]].last < (int)i + 1)
          b[buf_of[v->id]].last = (int)i + 1;
      }
      for (size_t j = 0; j < sv[k]->nodes.n; j++)
        if (sv[k]->nodes.v[j]) pass_node_subgraphs(sv[k]->nodes.v[j], &sv, &len, &cap);
    }
    free(sv);
  }
  /* in place: an output takes the buffer of an input of the same size dying here */
  for (size_t i = 0; rc == 0 && o->inplace && o->strategy != PLAN_NAIVE && i < nn; i++) {
    const Node *n = g->nodes.v[i];
    int ncand = n ? pass_plan_inplace_inputs(n) : 0;
    if (!ncand && n && o->inplace_dw && is_depthwise_qconv(n)) ncand = 1;
    if (!ncand || !n->outputs[0] || buf_of[n->outputs[0]->id] < 0) continue;
    int out = buf_of[n->outputs[0]->id];
    for (int k = 0; k < ncand && k < n->n_inputs; k++) {
      const Value *u = n->inputs[k];
      int ub = u ? buf_of[u->id] : -1;
      if (ub < 0 || !u->producer || b[ub].last != (int)i + 1 || b[ub].size != b[out].size ||
          taken[u->id])
        continue;
      b[out].alias = ub;
      p->inplace[n->outputs[0]->id] = 1;
      taken[u->id] = true;
      p->n_inplace++;
      break;
    }
  }
  if (rc == 0) {
    uint64_t align = o->align ? o->align : 1;
    for (int i = 0; i < nb; i++) p->naive_bytes += (b[i].size + align - 1) / align * align;
    p->arena_bytes = pass_plan_place(b, nb, o->strategy, align);
    p->lower_bytes = o->strategy == PLAN_NAIVE ? p->arena_bytes : pass_plan_lower_bound(b, nb, align);
    for (int i = 0; i < nb; i++) p->offset[bv[i]->id] = b[i].offset;
  }
  free(konst);
  free(taken);
  free(buf_of);
  free(step_of);
  free(b);
  free(bv);
  if (rc) pass_plan_free(p);
  return rc;
}

/* ------------------------------------------------------------------ the pass */

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  PlanOptions po = {PLAN_BEST, 64, true, false, false};
  const char *s = pass_opt_str(o, "strategy");
  if (!strcmp(s, "greedy")) po.strategy = PLAN_GREEDY;
  else if (!strcmp(s, "naive")) po.strategy = PLAN_NAIVE;
  else if (strcmp(s, "best")) {
    ir_error(c->d, ir_noloc, "strategy '%s': expected best, greedy or naive", s);
    return -1;
  }
  int64_t al = pass_opt_int(o, "align"), ip = pass_opt_int(o, "inplace"),
          dw = pass_opt_int(o, "inplace-dw");
  if (al < 1 || al > (1 << 20) || (al & (al - 1))) {
    ir_error(c->d, ir_noloc, "align=%lld: expected a power of two from 1 to 1048576", (long long)al);
    return -1;
  }
  if (ip != 0 && ip != 1) {
    ir_error(c->d, ir_noloc, "inplace=%lld: expected 0 or 1", (long long)ip);
    return -1;
  }
  if (dw != 0 && dw != 1) {
    ir_error(c->d, ir_noloc, "inplace-dw=%lld: expected 0 or 1", (long long)dw);
    return -1;
  }
  po.align = (uint64_t)al;
  po.inplace = ip == 1;
  po.inplace_dw = dw == 1;
  ModelPlan p;
  if (pass_plan_model(m, &po, &p, c->d) != 0) return -1;
  Graph *g = m->graph;
  int64_t *offs = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *n = g->nodes.v[i];
    if (!n) continue;
    if ((size_t)n->n_outputs > cap) {
      cap = (size_t)n->n_outputs;
      offs = realloc(offs, cap * sizeof *offs);
    }
    for (int k = 0; k < n->n_outputs; k++) offs[k] = n->outputs[k] ? p.offset[n->outputs[k]->id] : -1;
    pass_set_attr_ints(n, "__effc_offset", offs, (size_t)n->n_outputs);
  }
  free(offs);
  pass_stat(c, "arena-bytes", (int64_t)p.arena_bytes);
  pass_stat(c, "naive-bytes", (int64_t)p.naive_bytes);
  pass_stat(c, "lower-bound", (int64_t)p.lower_bytes);
  pass_stat(c, "in-place", p.n_inplace);
  pass_plan_free(&p);
  return 0;
}

static const PassOptSpec opts[] = {
    {"strategy", POPT_STRING, "best",
     "placement: best (best-fit with conflict search), greedy (TFLM greedy by size), naive "
     "(no reuse)"},
    {"align", POPT_INT, "64", "byte alignment of every buffer (a power of two)"},
    {"inplace", POPT_INT, "1", "1: elementwise outputs take the buffer of an input dying there"},
    {"inplace-dw", POPT_INT, "0",
     "1: a depthwise QLinearConv output takes its input's buffer when the sizes match (for "
     "kernels that compute a channel in scratch first: the MCU targets set it)"},
};

const Pass pass_plan = {
    "plan",
    "memory planner: an arena offset for every intermediate of the main graph",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    run,
    PASS_REQ_SHAPES,
    "Every node of the main graph gets the ints attribute `__effc_offset`, one entry per "
    "output: the byte offset of that output's buffer in one arena, or -1 when the value is "
    "not in the arena (graph outputs live in the caller's buffers; unused outputs; values "
    "computed from constants alone). A buffer lives from its producer to its last reader in "
    "node order; a value read inside a subgraph of If/Loop/Scan stays live across that node. "
    "Sizes come from the inferred static types (a non-static intermediate is an error naming "
    "the value). With `inplace=1` the output of an elementwise operator (unary, broadcasting "
    "binary, Cast, Clip, BatchNormalization, Where, ...) or of a reshape (Reshape, Flatten, "
    "Squeeze, Unsqueeze) takes the buffer of an input of the "
    "same byte size whose last reader it is. `best` places each buffer into the tightest gap "
    "among the buffers whose lifetimes intersect its own, in four orders (largest first; the "
    "busiest steps first, Pisarchyk and Lee 2020; size times lifetime; longest lifetime "
    "first), and keeps the smallest of those and TFLM's greedy-by-size first fit, so it is "
    "never larger than `greedy`; `naive` "
    "gives every buffer its own offset (no reuse, no in-place). Counters: "
    "`arena-bytes`, `naive-bytes` (no reuse), `lower-bound` (the most bytes live at one step: no "
    "placement does better), `in-place`.",
};

/* cluster.c - pass `cluster`: K-means weight clustering (Deep Compression's weight sharing).
 * Each constant float32 weight of MatMul and Gemm (input 1, at least
 * `min-elems` values) is replaced by 2^bits shared values: 1-D K-means (k-means++ seeding
 * from a fixed seed, then Lloyd iterations) gives a float codebook, and the weight becomes
 * Gather(codebook, Cast(indices, int32)) with uint8 indices, in standard ONNX. Folding
 * would expand it back; `fold` refuses folds that grow the model (its max-growth option). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static int cmp_f(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Index of the centroid nearest to v among k sorted ones (ties to the lower). */
static int nearest(const float *c, int k, float v) {
  int lo = 0, hi = k - 1;
  while (lo < hi) { /* the first centroid whose midpoint with the next is >= v */
    int mid = (lo + hi) / 2;
    if (v <= 0.5f * (c[mid] + c[mid + 1])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* K-means of n values into k centroids (sorted, distinct when possible) and the codes. */
static void kmeans(const float *w, uint64_t n, int k, int iters, uint64_t seed, float *c,
                   uint8_t *idx, int *used_iters) {
  double *d2 = malloc((size_t)n * sizeof *d2), *sum = calloc((size_t)k, sizeof *sum);
  uint64_t *cnt = calloc((size_t)k, sizeof *cnt), s = seed ? seed : 1;
  if (!d2 || !sum || !cnt) abort();
  c[0] = w[xorshift(&s) % n];
  for (uint64_t i = 0; i < n; i++) d2[i] = ((double)w[i] - c[0]) * ((double)w[i] - c[0]);
  for (int j = 1; j < k; j++) { /* k-means++: the next centroid with probability ~ D^2 */
    double tot = 0;
    for (uint64_t i = 0; i < n; i++) tot += d2[i];
    double r = (double)(xorshift(&s) >> 11) / 9007199254740992.0 * tot, acc = 0;
    uint64_t pick = n - 1;
    for (uint64_t i = 0; i < n && tot > 0; i++)
      if ((acc += d2[i]) > r) {
        pick = i;
        break;
      }
    c[j] = tot > 0 ? w[pick] : c[0];
    for (uint64_t i = 0; i < n; i++) {
      double e = ((double)w[i] - c[j]) * ((double)w[i] - c[j]);
      if (e < d2[i]) d2[i] = e;
    }
  }
  qsort(c, (size_t)k, sizeof *c, cmp_f);
  int it = 0;
  for (; it < iters; it++) { /* Lloyd */
    memset(sum, 0, (size_t)k * sizeof *sum);
    memset(cnt, 0, (size_t)k * sizeof *cnt);
    for (uint64_t i = 0; i < n; i++) {
      int j = nearest(c, k, w[i]);
      sum[j] += w[i], cnt[j]++;
    }
    bool moved = false;
    for (int j = 0; j < k; j++) {
      float nc = cnt[j] ? (float)(sum[j] / (double)cnt[j]) : c[j];
      moved |= nc != c[j];
      c[j] = nc;
    }
    qsort(c, (size_t)k, sizeof *c, cmp_f);
    if (!moved) break;
  }
  for (uint64_t i = 0; i < n; i++) idx[i] = (uint8_t)nearest(c, k, w[i]);
  *used_iters = it;
  free(d2), free(sum), free(cnt);
}

static bool weight_op(const Node *n) {
  static const char *const ops[] = {"MatMul", "Gemm", NULL};
  if (!n->op || *n->op->domain) return false;
  for (int i = 0; ops[i]; i++)
    if (!strcmp(n->op->family, ops[i])) return true;
  return false;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  int64_t bits = pass_opt_int(o, "bits"), min_elems = pass_opt_int(o, "min-elems");
  int64_t iters = pass_opt_int(o, "iters"), seed = pass_opt_int(o, "seed");
  if (bits < 1 || bits > 8 || iters < 0 || min_elems < 1) {
    ir_error(c->d, ir_noloc, "bits must be 1..8, iters >= 0 and min-elems >= 1");
    return -1;
  }
  pass_load_weights(m, c->d);
  Graph *g = m->graph;
  int k = 1 << bits, layers = 0;
  int64_t before = 0, after = 0;
  IR_VEC(Node *) v = {0};
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *n = g->nodes.v[i];
    const Tensor *t = n && weight_op(n) && n->n_inputs > 1 ? pass_const_data(n->inputs[1]) : NULL;
    uint64_t numel;
    if (!t || !t->has_data || t->elem != ELEM_FLOAT || !ir_tensor_numel(t, &numel) ||
        numel < (uint64_t)min_elems || numel < (uint64_t)k) {
      ir_vec_push(v, n);
      continue;
    }
    Value *wv = n->inputs[1];
    const char *base = wv->name;
    char nm[256];
    float *cb = malloc((size_t)k * sizeof *cb);
    Tensor *ti = ir_tensor_new(&m->arena, ELEM_UINT8, t->rank, t->dims);
    if (!cb || !ir_tensor_alloc_data(&m->arena, ti)) abort();
    ti->has_data = true;
    int used;
    kmeans(t->data, numel, k, (int)iters, (uint64_t)seed + (uint64_t)layers, cb, ti->data, &used);
    int64_t kd[1] = {k};
    Tensor *tc = ir_tensor_new(&m->arena, ELEM_FLOAT, 1, kd);
    if (!ir_tensor_alloc_data(&m->arena, tc)) abort();
    tc->has_data = true;
    memcpy(tc->data, cb, (size_t)k * sizeof *cb);
    free(cb);
    snprintf(nm, sizeof nm, "%s_codebook", base);
    Value *vc = pass_add_initializer(g, nm, tc);
    snprintf(nm, sizeof nm, "%s_idx", base);
    Value *vi = pass_add_initializer(g, nm, ti);
    snprintf(nm, sizeof nm, "%s_idx32", base);
    Value *v32 = ir_value_new(g, pass_fresh_name(g, nm),
                              ir_type_tensor(&m->arena, ELEM_INT32, t->rank, t->dims));
    Node *cast = ir_node_new(g, "", "Cast", 1, 1);
    cast->name = pass_fresh_name(g, nm);
    cast->loc = n->loc;
    cast->graph = g;
    pass_set_attr_int(cast, "to", ELEM_INT32);
    ir_node_set_input(cast, 0, vi);
    ir_node_set_output(cast, 0, v32);
    cast->op = ir_op_find("", "Cast", ir_model_opset(m, ""));
    snprintf(nm, sizeof nm, "%s_clustered", base);
    Value *wq = ir_value_new(g, pass_fresh_name(g, nm),
                             ir_type_tensor(&m->arena, ELEM_FLOAT, t->rank, t->dims));
    Node *gat = ir_node_new(g, "", "Gather", 2, 1);
    gat->name = pass_fresh_name(g, nm);
    gat->loc = n->loc;
    gat->graph = g;
    ir_node_set_input(gat, 0, vc);
    ir_node_set_input(gat, 1, v32);
    ir_node_set_output(gat, 0, wq);
    gat->op = ir_op_find("", "Gather", ir_model_opset(m, ""));
    ir_vec_push(v, cast);
    ir_vec_push(v, gat);
    ir_vec_push(v, n);
    pass_set_input(n, 1, wq); /* other readers of the weight keep the float original */
    before += (int64_t)numel * 4;
    after += (int64_t)numel + k * 4;
    ir_note(c->d, n->loc, "%s: %llu weights -> %d centroids (%d Lloyd iterations)", base,
            (unsigned long long)numel, k, used);
    layers++;
  }
  ir_vec_free(g->nodes);
  g->nodes.v = v.v, g->nodes.n = v.n, g->nodes.cap = v.cap;
  pass_stat(c, "layers", layers);
  pass_stat(c, "weight-bytes-before", before);
  pass_stat(c, "weight-bytes-after", after);
  return 0;
}

static const PassOptSpec opts[] = {
    {"bits", POPT_INT, "4", "codebook size 2^bits per layer (1..8)"},
    {"iters", POPT_INT, "30", "Lloyd iterations at most"},
    {"seed", POPT_INT, "1", "k-means++ seed (layer i uses seed + i)"},
    {"min-elems", POPT_INT, "256", "weights with fewer values stay float"},
};

const Pass pass_cluster = {
    "cluster",
    "K-means weight clustering: per-layer 2^bits codebooks, uint8 indices (Cast + Gather)",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    run,
    0,
    "The constant float32 weight (input 1) of every MatMul and Gemm with "
    "at least `min-elems` values is clustered by 1-D K-means into 2^bits centroids (k-means++ "
    "seeding from `seed`, then Lloyd iterations until no centroid moves or `iters`), and "
    "replaced by Gather(codebook float[2^bits], Cast(indices uint8, to = int32)), standard "
    "ONNX every backend runs: the weight shrinks about 4x (one byte a value plus the "
    "codebook). The weight stays float for other readers. `fold` leaves it compressed (it "
    "refuses folds that grow the model beyond its max-growth). Reports the weight bytes before "
    "and after. Conv weights stay float: the C backend packs them at compile time, so a "
    "codebook would not make the shipped code smaller. See docs/quantization.md.",
};

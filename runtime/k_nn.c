/* k_nn.c - matrix products and convolutions: MatMul, Gemm, Conv, ConvTranspose, DeformConv,
 * Col2Im. float32 runs through a packed, register-blocked GEMM (im2col for convolutions);
 * other float types through double; integer MatMul/Gemm wrap in 64 bits. */
#include "k_nn_util.h"

/* ------------------------------------------------------------------ GEMM */

/* C[M,N] += A[M,K] * B[K,N] in float by the shared kernel (kern/gemm.c; C is its own
 * residual). A(i,k) = A[i*sai + k*sak], B(k,j) = B[k*sbk + j*sbj] with one stride of each
 * equal to 1, C row-major with leading dimension ldc. */
static void gemm_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t sai, int64_t sak,
                     const float *B, int64_t sbk, int64_t sbj, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  int isa = effc_host_isa(), ta = sak != 1, tb = sbj != 1;
  void *scratch = nn_alloc(effc_sgemm_scratch(isa, M, N, K, 0, 1), 1);
  EffcEpilogue e = {.residual = C};
  effc_sgemm(isa, M, N, K, 1.0f, A, ta ? sak : sai, ta, B, tb ? sbj : sbk, tb, C, ldc, &e,
             scratch, 0, 1);
  free(scratch);
}

/* The same in double, a plain i-k-j loop. */
static void gemm_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t sai, int64_t sak,
                     const double *B, int64_t sbk, int64_t sbj, double *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    double *c = C + i * ldc;
    for (int64_t k = 0; k < K; k++) {
      double a = A[i * sai + k * sak];
      const double *b = B + k * sbk;
      for (int64_t j = 0; j < N; j++) c[j] += a * b[j * sbj];
    }
  }
}

/* Integers, wrapping: C[M,N] = A*B, elements read from tensors at offsets. */
static void gemm_int(int64_t M, int64_t N, int64_t K, const RtValue *A, uint64_t oa, int64_t sai,
                     int64_t sak, const RtValue *B, uint64_t ob, int64_t sbk, int64_t sbj,
                     uint64_t *C) {
  bool ua = !ir_elem(A->elem)->is_signed, ub = !ir_elem(B->elem)->is_signed;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      uint64_t acc = 0;
      for (int64_t k = 0; k < K; k++) {
        uint64_t ia = oa + (uint64_t)(i * sai + k * sak), ib = ob + (uint64_t)(k * sbk + j * sbj);
        uint64_t x = ua ? rt_get_u64(A, ia) : (uint64_t)rt_get_i64(A, ia);
        uint64_t y = ub ? rt_get_u64(B, ib) : (uint64_t)rt_get_i64(B, ib);
        acc += x * y;
      }
      C[i * N + j] = acc;
    }
}

/* A tensor's elements as a fresh float array (float16/bfloat16 widen exactly). */
static float *get_f32(const RtValue *v) {
  float *b = nn_alloc(v->numel, sizeof *b);
  for (uint64_t i = 0; i < v->numel; i++) b[i] = (float)rt_get_f64(v, i);
  return b;
}

/* float16 and bfloat16 products accumulate in float and round once, as numpy does. */
static bool half_type(ElemType e) { return e == ELEM_FLOAT16 || e == ELEM_BFLOAT16; }

static bool int_type(ElemType e) {
  return !ir_elem(e)->is_float && e != ELEM_STRING && e != ELEM_BOOL && e != ELEM_UNDEFINED;
}

/* ------------------------------------------------------------------ MatMul */

int rt_k_MatMul(RtCtx *c) {
  const RtValue *A = c->in[0], *B = c->in[1];
  if (!A || !B || A->kind != TYPE_TENSOR || B->kind != TYPE_TENSOR)
    return rt_error(c, "inputs must be tensors");
  if (A->elem != B->elem) return rt_error(c, "inputs have different element types");
  bool real = nn_is_real(A->elem);
  if (!real && !int_type(A->elem))
    return rt_error(c, "unsupported element type %s", ir_elem(A->elem)->name);
  int ra = A->rank, rb = B->rank;
  if (ra < 1 || rb < 1) return rt_error(c, "inputs must have rank >= 1");
  int64_t M = ra >= 2 ? A->dims[ra - 2] : 1, K = A->dims[ra - 1];
  int64_t Kb = rb >= 2 ? B->dims[rb - 2] : B->dims[0], N = rb >= 2 ? B->dims[rb - 1] : 1;
  if (K != Kb) return rt_error(c, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)Kb);
  int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0, br = ba > bb ? ba : bb;
  int64_t bdims[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK], dims[RT_MAX_RANK];
  int64_t stA = M * K, stB = K * N;
  for (int i = br - 1; i >= 0; i--) { /* batch dims, strides in units of matrices */
    int ia = i - (br - ba), ib = i - (br - bb);
    int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) return rt_error(c, "batch dimensions do not broadcast");
    bdims[i] = da > db ? da : db;
    if (da == 0 || db == 0) bdims[i] = 0;
    sa[i] = da == 1 ? 0 : stA;
    sb[i] = db == 1 ? 0 : stB;
    stA *= da;
    stB *= db;
  }
  int rank = 0;
  for (int i = 0; i < br; i++) dims[rank++] = bdims[i];
  if (ra >= 2) dims[rank++] = M;
  if (rb >= 2) dims[rank++] = N;
  RtValue *Y = rt_out(c, 0, A->elem, rank, dims);
  if (!Y) return -1;
  if (Y->numel == 0) return 0;
  int64_t nb = 1;
  for (int i = 0; i < br; i++) nb *= bdims[i];
  int64_t idx[RT_MAX_RANK] = {0};
  double *da = NULL, *db = NULL, *dy = NULL;
  float *fa = NULL, *fb = NULL, *fy = NULL;
  uint64_t *iy = NULL;
  if (half_type(A->elem)) {
    fa = get_f32(A), fb = get_f32(B), fy = nn_zalloc(Y->numel, sizeof *fy);
  } else if (A->elem != ELEM_FLOAT && real) {
    da = nn_get_f64(A), db = nn_get_f64(B), dy = nn_zalloc(Y->numel, sizeof *dy);
  } else if (!real) {
    iy = nn_alloc((uint64_t)(M * N), sizeof *iy);
  }
  for (int64_t t = 0; t < nb; t++) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < br; i++) oa += idx[i] * sa[i], ob += idx[i] * sb[i];
    int64_t oy = t * M * N;
    if (A->elem == ELEM_FLOAT)
      gemm_f32(M, N, K, (const float *)A->data + oa, K, 1, (const float *)B->data + ob, N, 1,
               (float *)Y->data + oy, N);
    else if (fy)
      gemm_f32(M, N, K, fa + oa, K, 1, fb + ob, N, 1, fy + oy, N);
    else if (real)
      gemm_f64(M, N, K, da + oa, K, 1, db + ob, N, 1, dy + oy, N);
    else {
      gemm_int(M, N, K, A, (uint64_t)oa, K, 1, B, (uint64_t)ob, N, 1, iy);
      for (int64_t i = 0; i < M * N; i++) rt_set_i64(Y, (uint64_t)(oy + i), (int64_t)iy[i]);
    }
    nn_next(br, bdims, idx);
  }
  if (dy) nn_put_f64(Y, dy);
  for (uint64_t i = 0; fy && i < Y->numel; i++) rt_set_f64(Y, i, fy[i]);
  free(da), free(db), free(dy), free(iy), free(fa), free(fb), free(fy);
  return 0;
}

/* ------------------------------------------------------------------ Gemm */

int rt_k_Gemm(RtCtx *c) {
  const RtValue *A = c->in[0], *B = c->in[1], *Cv = c->n_in > 2 ? c->in[2] : NULL;
  if (!A || !B || A->kind != TYPE_TENSOR || B->kind != TYPE_TENSOR)
    return rt_error(c, "inputs must be tensors");
  if (A->elem != B->elem || (Cv && Cv->elem != A->elem))
    return rt_error(c, "inputs have different element types");
  bool real = nn_is_real(A->elem);
  if (!real && !int_type(A->elem))
    return rt_error(c, "unsupported element type %s", ir_elem(A->elem)->name);
  if (A->rank != 2 || B->rank != 2) return rt_error(c, "A and B must be 2-D");
  bool ta = rt_attr_int(c, "transA", 0) != 0, tb = rt_attr_int(c, "transB", 0) != 0;
  double alpha = rt_attr_float(c, "alpha", 1.0f), beta = rt_attr_float(c, "beta", 1.0f);
  int64_t M = ta ? A->dims[1] : A->dims[0], K = ta ? A->dims[0] : A->dims[1];
  int64_t Kb = tb ? B->dims[1] : B->dims[0], N = tb ? B->dims[0] : B->dims[1];
  if (K != Kb) return rt_error(c, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)Kb);
  int64_t sai = ta ? 1 : K, sak = ta ? M : 1, sbk = tb ? 1 : N, sbj = tb ? K : 1;
  int64_t csi = 0, csj = 0;
  if (Cv) {
    if (Cv->rank > 2) return rt_error(c, "C must have rank <= 2");
    int64_t cm = Cv->rank == 2 ? Cv->dims[0] : 1, cn = Cv->rank >= 1 ? Cv->dims[Cv->rank - 1] : 1;
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
      return rt_error(c, "C does not broadcast to [%lld,%lld]", (long long)M, (long long)N);
    csi = cm == 1 ? 0 : cn;
    csj = cn == 1 ? 0 : 1;
  }
  int64_t dims[2] = {M, N};
  RtValue *Y = rt_out(c, 0, A->elem, 2, dims);
  if (!Y) return -1;
  if (Y->numel == 0) return 0;
  if (A->elem == ELEM_FLOAT) {
    int64_t cm = Cv && Cv->rank == 2 ? Cv->dims[0] : 1;
    int64_t cn = Cv && Cv->rank >= 1 ? Cv->dims[Cv->rank - 1] : 1;
    nn_gemm_f32(M, N, K, (float)alpha, A->data, ta, B->data, tb, (float)beta,
                Cv ? Cv->data : NULL, cm, cn, Y->data, NULL);
  } else if (real) {
    double *a = nn_get_f64(A), *b = nn_get_f64(B), *y = nn_zalloc(Y->numel, sizeof *y);
    double *cd = Cv ? nn_get_f64(Cv) : NULL;
    gemm_f64(M, N, K, a, sai, sak, b, sbk, sbj, y, N);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++)
        y[i * N + j] = alpha * y[i * N + j] + (cd ? beta * cd[i * csi + j * csj] : 0.0);
    nn_put_f64(Y, y);
    free(a), free(b), free(y), free(cd);
  } else {
    uint64_t *y = nn_alloc(Y->numel, sizeof *y);
    gemm_int(M, N, K, A, 0, sai, sak, B, 0, sbk, sbj, y);
    bool exact = alpha == 1.0 && (beta == 1.0 || !Cv);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        uint64_t o = (uint64_t)(i * N + j), ci = (uint64_t)(i * csi + j * csj);
        if (exact) {
          uint64_t v = y[o] + (Cv ? (uint64_t)rt_get_i64(Cv, ci) : 0);
          rt_set_i64(Y, o, (int64_t)v);
        } else {
          double v = alpha * (double)(int64_t)y[o] + (Cv ? beta * rt_get_f64(Cv, ci) : 0.0);
          rt_set_f64(Y, o, v);
        }
      }
    free(y);
  }
  return 0;
}

/* ------------------------------------------------------------------ im2col / col2im */

/* The valid window positions [lo, hi) of the last dimension for kernel offset base:
 * 0 <= o*st + base < in. */
static void nn_range(int64_t n, int64_t st, int64_t base, int64_t in, int64_t *lo, int64_t *hi) {
  int64_t l = base >= 0 ? 0 : (-base + st - 1) / st;
  int64_t h = in - base <= 0 ? 0 : (in - 1 - base) / st + 1;
  if (h > n) h = n;
  if (l > h) l = h;
  *lo = l, *hi = h;
}

/* im2col: col[(ch*kprod + kflat)][outflat] = x[ch][window position]; zero in the padding.
 * col2im (SCATTER): x[ch][pos] += col[...] over the same index map. */
#define NN_DEF_IM2COL(T, SFX, SCATTER)                                                         \
  static void im2col_##SFX(const NnGeo *g, T *x, int64_t C, T *col) {                          \
    int S = g->S;                                                                              \
    int64_t nl = g->out[S - 1], sl = g->st[S - 1], inl = g->in[S - 1];                         \
    for (int64_t ch = 0; ch < C; ch++) {                                                       \
      T *xc = x + ch * g->inprod;                                                              \
      int64_t kidx[NN_MAXS] = {0};                                                             \
      do {                                                                                     \
        int64_t oidx[NN_MAXS] = {0};                                                           \
        int64_t base = kidx[S - 1] * g->dil[S - 1] - g->pb[S - 1], lo, hi;                     \
        nn_range(nl, sl, base, inl, &lo, &hi);                                                 \
        do {                                                                                   \
          bool ok = true;                                                                      \
          int64_t off = 0;                                                                     \
          for (int d = 0; d < S - 1; d++) {                                                    \
            int64_t p = oidx[d] * g->st[d] - g->pb[d] + kidx[d] * g->dil[d];                   \
            if (p < 0 || p >= g->in[d]) ok = false;                                            \
            off = off * g->in[d] + p;                                                          \
          }                                                                                    \
          if (!ok) {                                                                           \
            if (!SCATTER) memset(col, 0, (size_t)nl * sizeof(T));                              \
          } else {                                                                             \
            T *xr = xc + off * inl;                                                            \
            if (!SCATTER) {                                                                    \
              for (int64_t o = 0; o < lo; o++) col[o] = 0;                                     \
              if (sl == 1)                                                                     \
                for (int64_t o = lo; o < hi; o++) col[o] = xr[base + o];                       \
              else                                                                             \
                for (int64_t o = lo; o < hi; o++) col[o] = xr[base + o * sl];                  \
              for (int64_t o = hi; o < nl; o++) col[o] = 0;                                    \
            } else {                                                                           \
              for (int64_t o = lo; o < hi; o++) xr[base + o * sl] += col[o];                   \
            }                                                                                  \
          }                                                                                    \
          col += nl;                                                                           \
        } while (nn_next(S - 1, g->out, oidx));                                                \
      } while (nn_next(S, g->k, kidx));                                                        \
    }                                                                                          \
  }

NN_DEF_IM2COL(float, f32, 0)
NN_DEF_IM2COL(double, f64, 0)
NN_DEF_IM2COL(float, f32_add, 1)
NN_DEF_IM2COL(double, f64_add, 1)

/* Convolution of one batch of images: y[N,M,out] = w[M,C/G,k] * x[N,C,in] (+ b). */
#define NN_DEF_CONV(T, SFX)                                                                    \
  static void conv_run_##SFX(const NnGeo *g, int64_t N, int64_t C, int64_t M, int64_t G,        \
                             const T *x, const T *w, const T *b, T *y) {                       \
    int64_t Cg = C / G, Mg = M / G, K = Cg * g->kprod, P = g->outprod;                         \
    bool direct = g->kprod == 1;                                                               \
    for (int d = 0; d < g->S; d++)                                                             \
      if (g->st[d] != 1 || g->pb[d] != 0 || g->in[d] != g->out[d]) direct = false;             \
    T *col = direct ? NULL : nn_alloc((uint64_t)(K * P), sizeof(T));                           \
    for (int64_t n = 0; n < N; n++)                                                            \
      for (int64_t gi = 0; gi < G; gi++) {                                                     \
        const T *xg = x + (n * C + gi * Cg) * g->inprod;                                       \
        T *yg = y + (n * M + gi * Mg) * P;                                                     \
        for (int64_t m = 0; m < Mg; m++)                                                       \
          for (int64_t p = 0; p < P; p++) yg[m * P + p] = b ? b[gi * Mg + m] : 0;              \
        const T *src = xg;                                                                     \
        if (!direct) {                                                                         \
          im2col_##SFX(g, (T *)xg, Cg, col);                                                   \
          src = col;                                                                           \
        }                                                                                      \
        gemm_##SFX(Mg, P, K, w + gi * Mg * K, K, 1, src, P, 1, yg, P);                          \
      }                                                                                        \
    free(col);                                                                                 \
  }                                                                                            \
  /* Transposed: g->in is the output image, g->out the input grid; w[C, M/G, k]. */            \
  static void convt_run_##SFX(const NnGeo *g, int64_t N, int64_t C, int64_t M, int64_t G,       \
                              const T *x, const T *w, const T *b, T *y) {                      \
    int64_t Cg = C / G, Mg = M / G, R = Mg * g->kprod, P = g->outprod;                         \
    T *col = nn_alloc((uint64_t)(R * P), sizeof(T));                                           \
    for (int64_t n = 0; n < N; n++)                                                            \
      for (int64_t gi = 0; gi < G; gi++) {                                                     \
        memset(col, 0, (size_t)(R * P) * sizeof(T));                                           \
        gemm_##SFX(R, P, Cg, w + gi * Cg * R, 1, R, x + (n * C + gi * Cg) * P, P, 1, col, P);    \
        T *yg = y + (n * M + gi * Mg) * g->inprod;                                             \
        for (int64_t m = 0; m < Mg; m++)                                                       \
          for (int64_t p = 0; p < g->inprod; p++) yg[m * g->inprod + p] = b ? b[gi * Mg + m] : 0; \
        im2col_##SFX##_add(g, yg, Mg, col);                                                    \
      }                                                                                        \
    free(col);                                                                                 \
  }

NN_DEF_CONV(float, f32)
NN_DEF_CONV(double, f64)

typedef void (*NnConvFn32)(const NnGeo *, int64_t, int64_t, int64_t, int64_t, const float *,
                           const float *, const float *, float *);
typedef void (*NnConvFn64)(const NnGeo *, int64_t, int64_t, int64_t, int64_t, const double *,
                           const double *, const double *, double *);

/* Run a (transposed) convolution in float or double as the types allow. */
static void conv_dispatch(const NnGeo *g, int64_t N, int64_t C, int64_t M, int64_t G,
                          const RtValue *X, const RtValue *W, const RtValue *B, RtValue *Y,
                          NnConvFn32 f32, NnConvFn64 f64) {
  if (Y->numel == 0) return;
  if (X->elem == ELEM_FLOAT && W->elem == ELEM_FLOAT && (!B || B->elem == ELEM_FLOAT)) {
    EffcEpilogue e = {EFFC_ACT_NONE, 0, 0, B ? B->data : NULL, NULL, 0};
    if (!nn_conv_fast(g, N, C, M, G, f32 == convt_run_f32, X->data, W->data, Y->data, &e))
      f32(g, N, C, M, G, X->data, W->data, B ? B->data : NULL, Y->data);
    return;
  }
  double *x = nn_get_f64(X), *w = nn_get_f64(W), *b = B ? nn_get_f64(B) : NULL;
  double *y = nn_alloc(Y->numel, sizeof *y);
  f64(g, N, C, M, G, x, w, b, y);
  nn_put_f64(Y, y);
  free(x), free(w), free(b), free(y);
}

/* Checks shared by Conv, ConvTranspose and DeformConv; fills S, N, C, G and the kernel. */
static bool conv_common(RtCtx *c, NnGeo *g, int64_t *N, int64_t *C, int64_t *G) {
  if (!nn_real_in(c, 0, 3) || !nn_real_in(c, 1, 3)) return false;
  const RtValue *X = c->in[0], *W = c->in[1];
  if (W->rank != X->rank) {
    rt_error(c, "W has rank %d, X rank %d", W->rank, X->rank);
    return false;
  }
  g->S = X->rank - 2;
  *N = X->dims[0], *C = X->dims[1];
  *G = rt_attr_int(c, "group", 1);
  if (*G < 1 || *C % *G) {
    rt_error(c, "group %lld does not divide %lld channels", (long long)*G, (long long)*C);
    return false;
  }
  size_t nk = 0;
  const int64_t *ks = rt_attr_ints(c, "kernel_shape", &nk);
  if (ks && nk != (size_t)g->S) {
    rt_error(c, "kernel_shape has %zu values for %d spatial dimensions", nk, g->S);
    return false;
  }
  for (int d = 0; d < g->S; d++) {
    g->in[d] = X->dims[d + 2];
    g->k[d] = W->dims[d + 2];
    if (g->k[d] < 1) {
      rt_error(c, "W has an empty kernel dimension");
      return false;
    }
    if (ks && ks[d] != g->k[d]) {
      rt_error(c, "kernel_shape does not match W");
      return false;
    }
  }
  return true;
}

static bool bias_ok(RtCtx *c, int i, int64_t M) {
  const RtValue *B = i < c->n_in ? c->in[i] : NULL;
  if (!B) return true;
  if (!nn_real_in(c, i, 0)) return false;
  if ((int64_t)B->numel != M) {
    rt_error(c, "bias has %llu values for %lld channels", (unsigned long long)B->numel, (long long)M);
    return false;
  }
  return true;
}

/* ------------------------------------------------------------------ Conv */

int rt_k_Conv(RtCtx *c) {
  NnGeo g;
  int64_t N, C, G;
  if (!conv_common(c, &g, &N, &C, &G)) return -1;
  const RtValue *X = c->in[0], *W = c->in[1], *B = c->n_in > 2 ? c->in[2] : NULL;
  int64_t M = W->dims[0];
  if (M % G || W->dims[1] * G != C)
    return rt_error(c, "W of %lld x %lld channels does not fit %lld inputs in %lld groups",
                    (long long)M, (long long)W->dims[1], (long long)C, (long long)G);
  if (!bias_ok(c, 2, M) || !nn_geo_attrs(c, &g, false, true)) return -1;
  int64_t dims[RT_MAX_RANK] = {N, M};
  for (int d = 0; d < g.S; d++) dims[d + 2] = g.out[d];
  RtValue *Y = rt_out(c, 0, X->elem, X->rank, dims);
  if (!Y) return -1;
  conv_dispatch(&g, N, C, M, G, X, W, B, Y, conv_run_f32, conv_run_f64);
  return 0;
}

/* ------------------------------------------------------------------ ConvTranspose */

int rt_k_ConvTranspose(RtCtx *c) {
  NnGeo g;
  int64_t N, C, G;
  if (!conv_common(c, &g, &N, &C, &G)) return -1;
  const RtValue *X = c->in[0], *W = c->in[1], *B = c->n_in > 2 ? c->in[2] : NULL;
  int S = g.S;
  if (W->dims[0] != C) return rt_error(c, "W has %lld input channels, X %lld", (long long)W->dims[0], (long long)C);
  int64_t M = W->dims[1] * G;
  if (!bias_ok(c, 2, M)) return -1;
  int64_t pads[2 * NN_MAXS], opad[NN_MAXS], oshape[NN_MAXS];
  if (!nn_ints_attr(c, "strides", S, 1, g.st, true) || !nn_ints_attr(c, "dilations", S, 1, g.dil, true) ||
      !nn_ints_attr(c, "pads", 2 * S, 0, pads, false) ||
      !nn_ints_attr(c, "output_padding", S, 0, opad, false))
    return -1;
  size_t nos = 0;
  const int64_t *os = rt_attr_ints(c, "output_shape", &nos);
  if (os && nos != (size_t)S && nos != (size_t)S + 2)
    return rt_error(c, "output_shape has %zu values for %d spatial dimensions", nos, S);
  const char *ap = rt_attr_str(c, "auto_pad", "NOTSET");
  bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
  bool has_pads = rt_attr(c, "pads") != NULL;
  for (int d = 0; d < S; d++) {
    int64_t xin = X->dims[d + 2], ek = (g.k[d] - 1) * g.dil[d] + 1;
    int64_t full = g.st[d] * (xin - 1) + opad[d] + ek;
    g.out[d] = xin; /* the input grid of the equivalent convolution */
    if (os || (same && !has_pads)) {
      oshape[d] = os ? os[nos - (size_t)S + (size_t)d] : xin * g.st[d];
      int64_t total = full - oshape[d];
      if (ap[0] == 'S' && ap[5] == 'U') g.pb[d] = total / 2;
      else g.pb[d] = total - total / 2;
      if (total < 0) g.pb[d] = 0; /* extra output is zero (bias) past the data */
    } else {
      g.pb[d] = !strcmp(ap, "VALID") ? 0 : pads[d];
      int64_t pe = !strcmp(ap, "VALID") ? 0 : pads[d + S];
      oshape[d] = full - g.pb[d] - pe;
    }
    if (oshape[d] < 0) return rt_error(c, "negative output dimension");
    g.in[d] = oshape[d];
  }
  nn_geo_prods(&g);
  int64_t dims[RT_MAX_RANK] = {N, M};
  for (int d = 0; d < S; d++) dims[d + 2] = oshape[d];
  RtValue *Y = rt_out(c, 0, X->elem, X->rank, dims);
  if (!Y) return -1;
  conv_dispatch(&g, N, C, M, G, X, W, B, Y, convt_run_f32, convt_run_f64);
  return 0;
}

/* ------------------------------------------------------------------ Col2Im */

int rt_k_Col2Im(RtCtx *c) {
  if (!nn_real_in(c, 0, 3)) return -1;
  const RtValue *X = c->in[0];
  int64_t img[NN_MAXS], blk[NN_MAXS];
  size_t ni, nb;
  if (!rt_in_ints(c, 1, img, NN_MAXS, &ni) || !rt_in_ints(c, 2, blk, NN_MAXS, &nb)) return -1;
  if (ni != nb || ni == 0) return rt_error(c, "image_shape and block_shape differ in length");
  NnGeo g;
  g.S = (int)ni;
  int64_t N = X->dims[0], CK = X->dims[1], L = X->dims[2];
  for (int d = 0; d < g.S; d++) g.in[d] = img[d], g.k[d] = blk[d];
  if (X->rank != 3) return rt_error(c, "input must be 3-D");
  if (!nn_geo_attrs(c, &g, false, true)) return -1;
  if (g.kprod == 0 || CK % g.kprod || g.outprod != L)
    return rt_error(c, "input of [%lld,%lld,%lld] does not match the blocks", (long long)N,
                    (long long)CK, (long long)L);
  int64_t C = CK / g.kprod, dims[RT_MAX_RANK] = {N, C};
  for (int d = 0; d < g.S; d++) dims[d + 2] = img[d];
  RtValue *Y = rt_out(c, 0, X->elem, g.S + 2, dims);
  if (!Y) return -1;
  if (Y->numel == 0 || X->numel == 0) return 0;
  double *x = nn_get_f64(X), *y = nn_zalloc(Y->numel, sizeof *y);
  for (int64_t n = 0; n < N; n++) im2col_f64_add(&g, y + n * C * g.inprod, C, x + n * CK * L);
  nn_put_f64(Y, y);
  free(x), free(y);
  return 0;
}

/* ------------------------------------------------------------------ DeformConv */

/* Bilinear sample of a [H,W] plane at (h, w), zero outside. */
static double bilinear0(const double *p, int64_t H, int64_t W, double h, double w) {
  if (!(h > -1.0 && h < (double)H && w > -1.0 && w < (double)W)) return 0.0;
  double fh = floor(h), fw = floor(w), lh = h - fh, lw = w - fw;
  int64_t h0 = (int64_t)fh, w0 = (int64_t)fw;
  double v = 0.0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      int64_t y = h0 + dy, x = w0 + dx;
      if (y < 0 || y >= H || x < 0 || x >= W) continue;
      v += (dy ? lh : 1 - lh) * (dx ? lw : 1 - lw) * p[y * W + x];
    }
  return v;
}

int rt_k_DeformConv(RtCtx *c) {
  NnGeo g;
  int64_t N, C, G;
  if (!conv_common(c, &g, &N, &C, &G) || !nn_real_in(c, 2, 4)) return -1;
  const RtValue *X = c->in[0], *W = c->in[1], *Off = c->in[2];
  const RtValue *B = c->n_in > 3 ? c->in[3] : NULL, *Mk = c->n_in > 4 ? c->in[4] : NULL;
  if (g.S != 2) return rt_error(c, "only 2-D DeformConv is supported");
  int64_t M = W->dims[0], OG = rt_attr_int(c, "offset_group", 1);
  if (M % G || W->dims[1] * G != C) return rt_error(c, "W does not fit the input channels and groups");
  if (OG < 1 || C % OG) return rt_error(c, "offset_group does not divide the channels");
  if (!bias_ok(c, 3, M) || !nn_geo_attrs(c, &g, false, true)) return -1;
  int64_t oh = g.out[0], ow = g.out[1], K2 = g.kprod, P = oh * ow;
  if (Off->dims[0] != N || Off->dims[1] != OG * 2 * K2 || Off->dims[2] != oh || Off->dims[3] != ow)
    return rt_error(c, "offset shape does not match the output");
  if (Mk && (!nn_real_in(c, 4, 4) || Mk->numel != (uint64_t)(N * OG * K2 * P)))
    return rt_error(c, "mask shape does not match the output");
  int64_t dims[4] = {N, M, oh, ow};
  RtValue *Y = rt_out(c, 0, X->elem, 4, dims);
  if (!Y) return -1;
  if (Y->numel == 0) return 0;
  double *x = nn_get_f64(X), *w = nn_get_f64(W), *off = nn_get_f64(Off);
  double *mk = Mk ? nn_get_f64(Mk) : NULL, *b = B ? nn_get_f64(B) : NULL;
  double *y = nn_alloc(Y->numel, sizeof *y);
  int64_t H = g.in[0], Wd = g.in[1], Cg = C / G, Mg = M / G, Kc = Cg * K2, cpo = C / OG;
  double *col = nn_alloc((uint64_t)(Kc * P), sizeof *col);
  for (int64_t n = 0; n < N; n++)
    for (int64_t gi = 0; gi < G; gi++) {
      for (int64_t cc = 0; cc < Cg; cc++) {
        int64_t ch = gi * Cg + cc, og = ch / cpo;
        const double *plane = x + (n * C + ch) * H * Wd;
        for (int64_t kh = 0; kh < g.k[0]; kh++)
          for (int64_t kw = 0; kw < g.k[1]; kw++) {
            int64_t kk = kh * g.k[1] + kw;
            double *row = col + (cc * K2 + kk) * P;
            const double *oy = off + ((n * OG + og) * 2 * K2 + 2 * kk) * P, *ox = oy + P;
            const double *mr = mk ? mk + ((n * OG + og) * K2 + kk) * P : NULL;
            for (int64_t i = 0; i < oh; i++)
              for (int64_t j = 0; j < ow; j++) {
                int64_t p = i * ow + j;
                double hh = (double)(i * g.st[0] - g.pb[0] + kh * g.dil[0]) + oy[p];
                double ww = (double)(j * g.st[1] - g.pb[1] + kw * g.dil[1]) + ox[p];
                double v = bilinear0(plane, H, Wd, hh, ww);
                row[p] = mr ? v * mr[p] : v;
              }
          }
      }
      double *yg = y + (n * M + gi * Mg) * P;
      for (int64_t m = 0; m < Mg; m++)
        for (int64_t p = 0; p < P; p++) yg[m * P + p] = b ? b[gi * Mg + m] : 0.0;
      gemm_f64(Mg, P, Kc, w + gi * Mg * Kc, Kc, 1, col, P, 1, yg, P);
    }
  nn_put_f64(Y, y);
  free(x), free(w), free(off), free(mk), free(b), free(y), free(col);
  return 0;
}

/* sparse.c - times the sparse-weight kernels (runtime/kern/sparse.c) against our dense ones
 * on layer shapes of the bench CNNs (1x1 and 3x3 convolutions, ResNet-style 64..512 channels
 * at 14x14..56x56) and the char LM (Gemm 512x512, 128x512, 512x128 at batch 1 and 64), one
 * thread, CPU time (robust on a shared machine), the minimum of the repetitions. Weights
 * are pruned at random to 50%, 70% and 90% sparsity (CSR) and to 2:4 (the 2:4 format, and
 * the same weights as CSR). Prints the dense time and the speed-up of each sparse variant
 * (dense time / sparse time; > 1 is faster), which docs/sparsity.md turns into the C
 * emitter's cost rule (backends/c/op_sparse.c). Run by hand: build/bench/sparse [reps [layer-name-substring]]. */
#include "kern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Layer {
  const char *name;
  int conv;           /* 1: Conv C -> M on H x H, kernel K; 0: Gemm rows x C times C x M */
  int64_t C, M, H, K; /* Gemm: H = rows (batch) */
} Layer;

static const Layer layers[] = {
    {"conv 1x1 64>64 56x56", 1, 64, 64, 56, 1},     {"conv 1x1 64>256 56x56", 1, 64, 256, 56, 1},
    {"conv 1x1 256>64 56x56", 1, 256, 64, 56, 1},   {"conv 1x1 128>128 28x28", 1, 128, 128, 28, 1},
    {"conv 1x1 512>128 28x28", 1, 512, 128, 28, 1}, {"conv 1x1 256>256 14x14", 1, 256, 256, 14, 1},
    {"conv 1x1 512>512 14x14", 1, 512, 512, 14, 1}, {"conv 3x3 64 56x56", 1, 64, 64, 56, 3},
    {"conv 3x3 128 28x28", 1, 128, 128, 28, 3},     {"conv 3x3 256 14x14", 1, 256, 256, 14, 3},
    {"gemm 512x512 b1", 0, 512, 512, 1, 0},         {"gemm 512x512 b64", 0, 512, 512, 64, 0},
    {"gemm 128x512 b1", 0, 128, 512, 1, 0},         {"gemm 128x512 b64", 0, 128, 512, 64, 0},
    {"gemm 512x128 b1", 0, 512, 128, 1, 0},         {"gemm 512x128 b64", 0, 512, 128, 64, 0},
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static double urand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

/* w (rows x K, row-major) with `frac` of the elements zeroed at random, or 2:4 along K. */
static void prune(float *w, int64_t rows, int64_t K, double frac, int nm) {
  for (int64_t i = 0; i < rows * K; i++) w[i] = (float)(urand() * 2 - 1);
  if (nm) {
    for (int64_t i = 0; i < rows * K; i += 4) {
      int a = (int)(urand() * 4), b = (a + 1 + (int)(urand() * 3)) % 4;
      w[i + a] = w[i + b] = 0.0f;
    }
    return;
  }
  for (int64_t i = 0; i < rows * K; i++)
    if (urand() < frac) w[i] = 0.0f;
}

typedef struct Case {
  const Layer *l;
  EffcConv2d p;
  int64_t K; /* reduction */
  float *x, *y;
} Case;

/* Seconds of one run (the minimum of reps). dense: packed is the dense packing. */
static double time_run(const Case *c, int isa, int dense, const void *packed, void *scr, int reps) {
  double best = 1e30;
  const Layer *l = c->l;
  const EffcEpilogue ep = {EFFC_ACT_NONE, 0, 0, NULL, NULL, 0}, *e = &ep;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    if (l->conv && dense)
      effc_conv2d(&c->p, isa, c->x, packed, c->y, e, scr, 0, 1);
    else if (l->conv)
      effc_spconv2d(&c->p, isa, c->x, packed, c->y, e, scr, 0, 1);
    else if (dense)
      effc_sgemm_packed(isa, l->H, l->M, l->C, 1.0f, c->x, l->C, 0, packed, c->y, l->M, e, scr,
                        0, 1);
    else {
      EffcSpmm s = {l->H, c->x, 1, l->C, c->y, 1, l->M};
      effc_spmm(isa, packed, &s, e, scr, 0, 1);
    }
    double t = now() - t0;
    if (t < best) best = t;
  }
  return best;
}

/* Dense time of w (M x K) for the case. */
static double dense_time(const Case *c, int isa, const float *w, int reps) {
  const Layer *l = c->l;
  size_t np = l->conv ? effc_conv2d_packed_size(&c->p, isa) * sizeof(float)
                      : effc_sgemm_pack_b_size(isa, l->C, l->M);
  float *packed = malloc(np + 64);
  size_t ss = l->conv ? effc_conv2d_scratch(&c->p, isa, 1)
                      : effc_sgemm_scratch(isa, l->H, l->M, l->C, 1, 1);
  void *scr = malloc(ss + 64);
  if (l->conv) {
    void *tmp = malloc(effc_conv2d_pack_tmp(&c->p) + 1);
    effc_conv2d_pack(&c->p, isa, w, packed, tmp);
    free(tmp);
  } else { /* W is M x K (outputs x reductions): B = W^T */
    effc_sgemm_pack_b(isa, l->C, l->M, w, l->C, 1, packed);
  }
  double t = time_run(c, isa, 1, packed, scr, reps);
  free(packed), free(scr);
  return t;
}

static double sparse_time(const Case *c, int isa, const float *w, int fmt, int reps) {
  const Layer *l = c->l;
  void *packed = malloc(effc_sparse_pack_size(fmt, l->M, c->K, w, c->K, 1));
  effc_sparse_pack(fmt, l->M, c->K, w, c->K, 1, 1.0f, packed);
  EffcSpmm s = {l->H, c->x, 1, l->C, c->y, 1, l->M};
  size_t ss = l->conv ? effc_spconv2d_scratch(&c->p, packed, 1) : effc_spmm_scratch(packed, &s, 1);
  void *scr = malloc(ss + 64);
  double t = time_run(c, isa, 0, packed, scr, reps);
  free(packed), free(scr);
  return t;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5, isa = effc_host_isa();
  if (reps < 1) reps = 1;
  printf("sparse vs dense, 1 thread, isa %d, min of %d runs; speed-up = dense / sparse\n", isa,
         reps);
  printf("%-24s %9s %7s %7s %7s %7s %7s\n", "layer", "dense ms", "50%", "70%", "90%", "2:4",
         "2:4csr");
  for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
    const Layer *l = &layers[i];
    if (argc > 2 && !strstr(l->name, argv[2])) continue;
    Case c = {l, {0}, 0, NULL, NULL};
    int64_t pad = l->K / 2, nx, ny;
    if (l->conv) {
      EffcConv2d p = {1, l->C, l->H, l->H, l->M, l->H, l->H, l->K, l->K, 1, 1, 1, 1, pad, pad, 1};
      c.p = p, c.K = l->C * l->K * l->K;
      nx = l->C * l->H * l->H, ny = l->M * l->H * l->H;
    } else {
      c.K = l->C, nx = l->H * l->C, ny = l->H * l->M;
    }
    c.x = malloc((size_t)nx * sizeof *c.x), c.y = malloc((size_t)ny * sizeof *c.y);
    float *w = malloc((size_t)(l->M * c.K) * sizeof *w);
    for (int64_t j = 0; j < nx; j++) c.x[j] = (float)(urand() * 2 - 1);
    prune(w, l->M, c.K, 0.0, 0);
    double td = dense_time(&c, isa, w, reps), sp[5];
    static const double fr[] = {0.5, 0.7, 0.9};
    for (int s = 0; s < 3; s++) {
      prune(w, l->M, c.K, fr[s], 0);
      sp[s] = td / sparse_time(&c, isa, w, EFFC_SPARSE_CSR, reps);
    }
    prune(w, l->M, c.K, 0.0, 1);
    sp[3] = td / sparse_time(&c, isa, w, EFFC_SPARSE_24, reps);
    sp[4] = td / sparse_time(&c, isa, w, EFFC_SPARSE_CSR, reps);
    printf("%-24s %9.3f %6.2fx %6.2fx %6.2fx %6.2fx %6.2fx\n", l->name, td * 1e3, sp[0], sp[1],
           sp[2], sp[3], sp[4]);
    fflush(stdout);
    free(c.x), free(c.y), free(w);
  }
  return 0;
}

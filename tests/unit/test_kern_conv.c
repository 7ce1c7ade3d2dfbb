/* test_kern_conv.c - the convolution and pooling kernels (runtime/kern/conv.c, pool.c)
 * against naive loops in double: every method (1x1 GEMM, im2col, depthwise, grouped,
 * transposed) on odd sizes, strides, pads, dilations and epilogues; every ISA the host runs;
 * 1 to 3 threads giving identical bytes. Built with cmocka for the quick suite, or with
 * -DKERN_CHECK_MAIN as a plain program (the AArch64 build run under qemu-aarch64). */
#include "kern.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct Shape {
  int64_t N, C, H, W, M, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, G;
} Shape;

static const Shape shapes[] = {
    /* 1x1 stride 1 (GEMM on the input), odd channel and pixel counts */
    {1, 16, 7, 7, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {2, 5, 9, 11, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {1, 300, 5, 5, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, /* K over one k block */
    /* 1x1 stride 2, 1x1 padded: im2col */
    {1, 8, 9, 9, 12, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {1, 3, 4, 5, 5, 1, 1, 1, 1, 1, 1, 1, 0, 1, 2, 1},
    /* KxK */
    {1, 3, 17, 19, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 6, 13, 12, 9, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 1},
    {1, 3, 23, 23, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
    {1, 4, 11, 10, 6, 3, 2, 1, 3, 2, 3, 2, 1, 0, 2, 1}, /* dilations, odd strides */
    {1, 40, 9, 9, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* K = 360: two k blocks */
    {1, 2, 1, 30, 5, 1, 5, 1, 2, 1, 1, 0, 2, 0, 1, 1},  /* 1-D as H = 1 */
    /* 3x3 stride 1, >= 128 channels: Winograd (odd sizes, asymmetric pads, > 64 tiles) */
    {1, 128, 9, 11, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 128, 20, 22, 32, 3, 3, 1, 1, 1, 1, 0, 1, 2, 1, 1},
    {1, 256, 6, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {1, 20, 11, 13, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* fewer channels: im2col */
    /* grouped */
    {1, 8, 10, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},
    {2, 6, 7, 9, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 3},
    /* depthwise 3x3 and 5x5, strides 1 and 2, dilation */
    {1, 5, 20, 21, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5},
    {2, 3, 19, 34, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3},
    {1, 4, 23, 30, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 4},
    {1, 3, 24, 37, 3, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 3},
    {1, 2, 15, 29, 2, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2},
    {1, 2, 9, 40, 2, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0, 2}, /* stride 3: scalar */
};

static const EffcAct acts[] = {EFFC_ACT_NONE, EFFC_ACT_RELU, EFFC_ACT_CLIP, EFFC_ACT_SIGMOID,
                               EFFC_ACT_LEAKY_RELU, EFFC_ACT_HARD_SWISH};

static int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

static float frand(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static double act_ref(double v, const EffcEpilogue *e) {
  switch (e->act) {
  case EFFC_ACT_RELU:
    return v < 0 ? 0 : v;
  case EFFC_ACT_LEAKY_RELU:
    return v < 0 ? e->alpha * v : v;
  case EFFC_ACT_CLIP:
    return v < e->alpha ? e->alpha : v > e->beta ? e->beta : v;
  case EFFC_ACT_SIGMOID:
    return 1.0 / (1.0 + exp(-v));
  case EFFC_ACT_HARD_SWISH: {
    double h = v / 6.0 + 0.5;
    return v * (h < 0 ? 0 : h > 1 ? 1 : h);
  }
  default:
    return v;
  }
}

static int isas(int *out) {
  int n = 0, host = effc_host_isa();
  out[n++] = EFFC_ISA_SCALAR;
  if (host == EFFC_ISA_AVX2 || host == EFFC_ISA_AVX512) out[n++] = EFFC_ISA_AVX2;
  if (host == EFFC_ISA_AVX512) out[n++] = EFFC_ISA_AVX512;
  if (host == EFFC_ISA_NEON) out[n++] = EFFC_ISA_NEON;
  return n;
}

/* Compare got with the double reference: |got - want| within 1e-5 of the sum of |terms|. */
static int check(const char *what, int si, int isa, const float *got, const double *want,
                 const double *mag, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double tol = 1e-5 * mag[i] + 1e-6 + 1e-5 * fabs(want[i]);
    if (!(fabs(got[i] - want[i]) <= tol) && !(isnan(got[i]) && isnan(want[i]))) {
      fprintf(stderr, "%s shape %d isa %d: y[%zu] = %.9g, want %.9g\n", what, si, isa, i,
              (double)got[i], want[i]);
      return 1;
    }
  }
  return 0;
}

/* Run a kernel for nt = 1..3 and check identical bytes; returns failures. */
typedef void (*ConvFn)(const EffcConv2d *, int, const float *, const float *, float *,
                       const EffcEpilogue *, void *, int, int);

typedef size_t (*ScratchFn)(const EffcConv2d *, int, int);

static int run_threads(ConvFn f, ScratchFn sf, const EffcConv2d *p, int isa, const float *x,
                       const float *pk, float *y, size_t ny, const EffcEpilogue *e) {
  float *ref = NULL;
  int fails = 0;
  for (int nt = 1; nt <= 3; nt++) {
    void *scr = malloc(sf(p, isa, nt) + 16);
    for (size_t i = 0; i < ny; i++) y[i] = NAN;
    for (int t = 0; t < nt; t++) f(p, isa, x, pk, y, e, scr, t, nt);
    free(scr);
    if (!ref) {
      ref = malloc(ny * sizeof *ref);
      memcpy(ref, y, ny * sizeof *ref);
    } else if (memcmp(ref, y, ny * sizeof *ref)) {
      fprintf(stderr, "nt=%d differs from nt=1 (isa %d)\n", nt, isa);
      fails++;
    }
  }
  free(ref);
  return fails;
}

/* Shapes per method, so that a change of the choice rules cannot leave one untested. */
static int methods_seen[4];

static int check_conv(int transposed) {
  int fails = 0, is[4], nisa = isas(is);
  unsigned seed = 7;
  for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
    const Shape *s = &shapes[si];
    EffcConv2d p = {s->N, s->C, s->H, s->W, s->M, 0, 0, s->KH, s->KW, s->SH,
                    s->SW, s->DH, s->DW, s->PT, s->PL, s->G};
    if (transposed) { /* output = (in-1)*s - pads + ext; H, W the input grid */
      p.OH = (s->H - 1) * s->SH - s->PT - s->PB + (s->KH - 1) * s->DH + 1;
      p.OW = (s->W - 1) * s->SW - s->PL - s->PR + (s->KW - 1) * s->DW + 1;
      if (p.OH < 1 || p.OW < 1) continue;
    } else {
      p.OH = out_dim(s->H, s->KH, s->SH, s->DH, s->PT, s->PB);
      p.OW = out_dim(s->W, s->KW, s->SW, s->DW, s->PL, s->PR);
    }
    if (!transposed) methods_seen[effc_conv2d_algo(&p)]++;
    int64_t Cg = p.C / p.G, Mg = p.M / p.G;
    size_t nx = (size_t)(p.N * p.C * p.H * p.W), nw = (size_t)(p.M * Cg * p.KH * p.KW),
           ny = (size_t)(p.N * p.M * p.OH * p.OW);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)p.M * 4),
          *r = malloc(ny * 4), *y = malloc(ny * 4);
    double *want = malloc(ny * 8), *mag = malloc(ny * 8), *acc = malloc(ny * 8);
    for (size_t i = 0; i < nx; i++) x[i] = frand(&seed);
    for (size_t i = 0; i < nw; i++) w[i] = frand(&seed);
    for (int64_t i = 0; i < p.M; i++) b[i] = frand(&seed);
    for (size_t i = 0; i < ny; i++) r[i] = frand(&seed);
    /* The reference sums in double. */
    for (size_t i = 0; i < ny; i++) acc[i] = mag[i] = 0;
    for (int64_t n = 0; n < p.N; n++)
      for (int64_t m = 0; m < p.M; m++)
        for (int64_t c = 0; c < Cg; c++)
          for (int64_t kh = 0; kh < p.KH; kh++)
            for (int64_t kw = 0; kw < p.KW; kw++) {
              int64_t g = m / Mg;
              if (!transposed) {
                double wv = w[((m * Cg + c) * p.KH + kh) * p.KW + kw];
                const float *xc = x + (n * p.C + g * Cg + c) * p.H * p.W;
                for (int64_t oh = 0; oh < p.OH; oh++)
                  for (int64_t ow = 0; ow < p.OW; ow++) {
                    int64_t ih = oh * p.SH - p.PT + kh * p.DH, iw = ow * p.SW - p.PL + kw * p.DW;
                    if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                    size_t o = (size_t)(((n * p.M + m) * p.OH + oh) * p.OW + ow);
                    acc[o] += wv * xc[ih * p.W + iw], mag[o] += fabs(wv * xc[ih * p.W + iw]);
                  }
              } else { /* w[C, M/G, KH, KW] */
                double wv = w[(((g * Cg + c) * Mg + m % Mg) * p.KH + kh) * p.KW + kw];
                const float *xc = x + (n * p.C + g * Cg + c) * p.H * p.W;
                for (int64_t ih = 0; ih < p.H; ih++)
                  for (int64_t iw = 0; iw < p.W; iw++) {
                    int64_t oh = ih * p.SH - p.PT + kh * p.DH, ow = iw * p.SW - p.PL + kw * p.DW;
                    if (oh < 0 || oh >= p.OH || ow < 0 || ow >= p.OW) continue;
                    size_t o = (size_t)(((n * p.M + m) * p.OH + oh) * p.OW + ow);
                    acc[o] += wv * xc[ih * p.W + iw], mag[o] += fabs(wv * xc[ih * p.W + iw]);
                  }
              }
            }
    for (size_t ai = 0; ai < sizeof acts / sizeof *acts; ai++) {
      int with_bias = ai % 2 == 0, with_res = ai % 3 == 1;
      EffcEpilogue e = {acts[ai], 0.1f, 0.5f, with_bias ? b : NULL, with_res ? r : NULL, 0};
      if (acts[ai] == EFFC_ACT_CLIP) e.alpha = -0.25f;
      for (size_t i = 0; i < ny; i++) {
        int64_t m = (int64_t)(i / (size_t)(p.OH * p.OW)) % p.M;
        double v = acc[i] + (with_bias ? b[m] : 0) + (with_res ? r[i] : 0);
        want[i] = act_ref(v, &e);
      }
      for (int k = 0; k < nisa; k++) {
        size_t npk = transposed ? effc_convt2d_packed_size(&p) : effc_conv2d_packed_size(&p, is[k]);
        float *pk = malloc(npk * 4 + 4);
        if (transposed) effc_convt2d_pack(&p, w, pk);
        else {
          void *tmp = malloc(effc_conv2d_pack_tmp(&p) + 1);
          effc_conv2d_pack(&p, is[k], w, pk, tmp);
          free(tmp);
        }
        fails += run_threads(transposed ? effc_convt2d : effc_conv2d,
                             transposed ? effc_convt2d_scratch : effc_conv2d_scratch, &p, is[k],
                             x, pk, y, ny, &e);
        free(pk);
        fails += check(transposed ? "convT" : "conv", (int)si, is[k], y, want, mag, ny);
      }
    }
    free(x), free(w), free(b), free(r), free(y), free(want), free(mag), free(acc);
  }
  for (int m = 0; m < 4 && !transposed; m++)
    if (!methods_seen[m]) {
      fprintf(stderr, "no shape runs method %d\n", m);
      fails++;
    }
  return fails;
}

static int check_pool(void) {
  static const Shape ps[] = {
      /* N*C in N, C = 1; M unused; G: count_include_pad */
      {3, 1, 12, 13, 0, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
      {2, 1, 20, 35, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 1, 20, 35, 0, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1, 1}, /* ceil_mode-like end pad */
      {1, 1, 17, 40, 0, 3, 2, 1, 3, 2, 1, 2, 0, 1, 1, 0},
      {1, 1, 1, 50, 0, 1, 4, 1, 2, 1, 2, 0, 1, 0, 3, 1},
      {4, 1, 7, 7, 0, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 0},
  };
  int fails = 0, is[4], nisa = isas(is);
  unsigned seed = 3;
  for (size_t si = 0; si < sizeof ps / sizeof *ps; si++) {
    const Shape *s = &ps[si];
    EffcPool2d p = {s->N, s->H, s->W, out_dim(s->H, s->KH, s->SH, s->DH, s->PT, s->PB),
                    out_dim(s->W, s->KW, s->SW, s->DW, s->PL, s->PR), s->KH, s->KW, s->SH,
                    s->SW, s->DH, s->DW, s->PT, s->PL, s->PB, s->PR, (int)s->G};
    size_t nx = (size_t)(p.NC * p.H * p.W), ny = (size_t)(p.NC * p.OH * p.OW);
    float *x = malloc(nx * 4), *y = malloc(ny * 4), *y2 = malloc(ny * 4);
    double *want = malloc(ny * 8), *mag = malloc(ny * 8);
    for (size_t i = 0; i < nx; i++) x[i] = frand(&seed);
    x[5] = NAN; /* skipped by max unless alone */
    for (int max = 0; max < 2; max++) {
      for (int64_t pl = 0; pl < p.NC; pl++)
        for (int64_t oh = 0; oh < p.OH; oh++)
          for (int64_t ow = 0; ow < p.OW; ow++) {
            double a = max ? -INFINITY : 0, m = 0;
            int64_t cnt = 0, padcnt = 0;
            for (int64_t kh = 0; kh < p.KH; kh++)
              for (int64_t kw = 0; kw < p.KW; kw++) {
                int64_t ih = oh * p.SH - p.PT + kh * p.DH, iw = ow * p.SW - p.PL + kw * p.DW;
                if (ih >= -p.PT && ih < p.H + p.PB && iw >= -p.PL && iw < p.W + p.PR) padcnt++;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                double v = x[(pl * p.H + ih) * p.W + iw];
                cnt++;
                if (max) a = v > a ? v : a;
                else a += v, m += fabs(v);
              }
            size_t o = (size_t)((pl * p.OH + oh) * p.OW + ow);
            int64_t div = p.count_include_pad ? padcnt : cnt;
            want[o] = max ? a : a / (double)div;
            mag[o] = m;
          }
      for (int k = 0; k < nisa; k++) {
        for (int nt = 1; nt <= 3; nt++)
          for (int t = 0; t < nt; t++)
            (max ? effc_maxpool2d : effc_avgpool2d)(&p, is[k], x, nt == 1 ? y : y2, t, nt);
        fails += memcmp(y, y2, ny * 4) != 0;
        fails += check(max ? "maxpool" : "avgpool", (int)si, is[k], y, want, mag, ny);
        /* global pools over the same planes */
        float g[8], g2[8];
        double gw[8], gm[8];
        for (int64_t pl = 0; pl < p.NC; pl++) {
          double a = max ? -INFINITY : 0, m = 0;
          for (int64_t i = 0; i < p.H * p.W; i++) {
            double v = x[pl * p.H * p.W + i];
            if (max) a = v > a ? v : a;
            else a += v, m += fabs(v);
          }
          gw[pl] = max ? a : a / (double)(p.H * p.W), gm[pl] = m;
        }
        effc_global_pool(max, is[k], p.NC, p.H * p.W, x, g, 0, 1);
        effc_global_pool(max, is[k], p.NC, p.H * p.W, x, g2, 1, 2);
        effc_global_pool(max, is[k], p.NC, p.H * p.W, x, g2, 0, 2);
        fails += memcmp(g, g2, (size_t)p.NC * 4) != 0;
        fails += check("globalpool", (int)si, is[k], g, gw, gm, (size_t)p.NC);
      }
    }
    free(x), free(y), free(y2), free(want), free(mag);
  }
  /* A window of NaN only is NaN for max; an all-NaN plane too. */
  float xn[4] = {NAN, NAN, NAN, NAN}, yn[1];
  EffcPool2d pn = {1, 2, 2, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0};
  effc_maxpool2d(&pn, EFFC_ISA_SCALAR, xn, yn, 0, 1);
  fails += !isnan(yn[0]);
  effc_global_pool(1, effc_host_isa(), 1, 4, xn, yn, 0, 1);
  fails += !isnan(yn[0]);
  return fails;
}

#ifdef KERN_CHECK_MAIN
int main(void) {
  int f = check_conv(0) + check_conv(1) + check_pool();
  printf("%s: %d failures (isa %d)\n", f ? "FAIL" : "ok", f, effc_host_isa());
  return f != 0;
}
#else
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_conv(void **state) {
  (void)state;
  assert_int_equal(check_conv(0), 0);
}

static void test_convt(void **state) {
  (void)state;
  assert_int_equal(check_conv(1), 0);
}

static void test_pool(void **state) {
  (void)state;
  assert_int_equal(check_pool(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_conv), cmocka_unit_test(test_convt),
                                     cmocka_unit_test(test_pool)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif

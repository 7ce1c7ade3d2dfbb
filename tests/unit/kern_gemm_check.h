/* kern_gemm_check.h - effc_sgemm against a naive triple loop in double with its own
 * activation formulas: odd shapes, row strides, transposes, epilogues, K = 0; threads 1, 2, 3
 * and pre-packed B must give identical bytes. Shared by test_kern_gemm.c (cmocka, the host's
 * ISAs) and kern_gemm_neon.c (NEON under qemu); the includer defines GEMM_CHECK_FAIL() and
 * fills isas[] / n_isas. */
#ifndef KERN_GEMM_CHECK_H
#define KERN_GEMM_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"

static uint32_t rng = 12345;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static float *fill(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = frand();
  return p;
}

static double ref_act(double x, const EffcEpilogue *e) {
  double s = 1 / (1 + exp(-x));
  switch (e->act) {
  case EFFC_ACT_NONE: return x;
  case EFFC_ACT_RELU: return x > 0 ? x : 0;
  case EFFC_ACT_LEAKY_RELU: return x > 0 ? x : e->alpha * x;
  case EFFC_ACT_CLIP: return fmin(fmax(x, e->alpha), e->beta);
  case EFFC_ACT_SIGMOID: return s;
  case EFFC_ACT_TANH: return tanh(x);
  case EFFC_ACT_HARD_SIGMOID: return fmin(fmax(e->alpha * x + e->beta, 0), 1);
  case EFFC_ACT_HARD_SWISH: return x * fmin(fmax(x / 6 + 0.5, 0), 1);
  case EFFC_ACT_SILU: return x * s;
  case EFFC_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
  }
  return x;
}

typedef struct Case {
  int64_t M, N, K;
  int ta, tb, pad; /* transposes; extra row stride of A, B and C */
  float alpha;
  int bias, res;   /* bias: 0 none, 1 per column, 2 per row; res: 0 none, 1 own, 2 aliases C */
  EffcAct act;
} Case;

static int isas[4], n_isas;

/* Run one case on one isa with nt threads (called one tid after the other). */
static float *run(int isa, const Case *c, const float *A, int64_t lda, const float *B,
                  int64_t ldb, const float *R, int64_t ldc, const EffcEpilogue *ep0, int nt,
                  int packed) {
  float *C = malloc((size_t)(c->M * ldc) * sizeof *C);
  for (int64_t i = 0; i < c->M * ldc; i++) C[i] = c->res == 2 ? R[i] : NAN;
  EffcEpilogue ep = *ep0;
  if (c->res == 2) ep.residual = C;
  float *Bp = NULL;
  if (packed) {
    Bp = malloc(effc_sgemm_pack_b_size(isa, c->K, c->N) + 4);
    effc_sgemm_pack_b(isa, c->K, c->N, B, ldb, c->tb, Bp);
  }
  size_t sb = effc_sgemm_scratch(isa, c->M, c->N, c->K, packed, nt);
  void *scratch = malloc(sb ? sb : 1);
  for (int t = 0; t < nt; t++) {
    if (packed)
      effc_sgemm_packed(isa, c->M, c->N, c->K, c->alpha, A, lda, c->ta, Bp, C, ldc, &ep, scratch,
                        t, nt);
    else
      effc_sgemm(isa, c->M, c->N, c->K, c->alpha, A, lda, c->ta, B, ldb, c->tb, C, ldc, &ep,
                 scratch, t, nt);
  }
  free(scratch);
  free(Bp);
  return C;
}

static void check_case(const Case *c) {
  int64_t M = c->M, N = c->N, K = c->K;
  int64_t lda = (c->ta ? M : K) + c->pad, ldb = (c->tb ? K : N) + c->pad, ldc = N + c->pad;
  float *A = fill((size_t)((c->ta ? K : M) * lda)), *B = fill((size_t)((c->tb ? N : K) * ldb));
  float *R = fill((size_t)(M * ldc)), *bias = fill((size_t)(M > N ? M : N));
  EffcEpilogue ep = {.act = c->act, .alpha = 0.1f, .beta = 0.5f};
  if (c->act == EFFC_ACT_CLIP) ep.alpha = -0.3f, ep.beta = 0.4f;
  if (c->act == EFFC_ACT_HARD_SIGMOID) ep.alpha = 0.2f, ep.beta = 0.5f;
  ep.bias = c->bias ? bias : NULL;
  ep.bias_rows = c->bias == 2;
  ep.residual = c->res == 1 ? R : NULL;
  for (int q = 0; q < n_isas; q++) {
    int isa = isas[q];
    float *C1 = run(isa, c, A, lda, B, ldb, R, ldc, &ep, 1, 0);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0, mag = 0;
        for (int64_t k = 0; k < K; k++) {
          double a = c->ta ? A[k * lda + i] : A[i * lda + k];
          double b = c->tb ? B[j * ldb + k] : B[k * ldb + j];
          acc += c->alpha * a * b;
          mag += fabs(c->alpha * a * b);
        }
        if (c->res) acc += R[i * ldc + j], mag += fabs(R[i * ldc + j]);
        if (c->bias) acc += bias[c->bias == 2 ? i : j], mag += 1;
        double want = ref_act(acc, &ep), got = C1[i * ldc + j];
        if (!(fabs(got - want) <= 1e-5 * (mag + 1))) {
          fprintf(stderr, "isa %d M %lld N %lld K %lld ta %d tb %d act %d: C[%lld,%lld] = %.9g, want %.9g\n",
                  isa, (long long)M, (long long)N, (long long)K, c->ta, c->tb, c->act,
                  (long long)i, (long long)j, got, want);
          GEMM_CHECK_FAIL();
        }
      }
    for (int nt = 1; nt <= 3; nt++)
      for (int packed = 0; packed <= 1; packed++) {
        if (nt == 1 && !packed) continue;
        float *C2 = run(isa, c, A, lda, B, ldb, R, ldc, &ep, nt, packed);
        for (int64_t i = 0; i < M; i++)
          if (memcmp(C1 + i * ldc, C2 + i * ldc, (size_t)N * sizeof(float))) {
            fprintf(stderr, "isa %d M %lld N %lld K %lld: %d threads%s differ from one\n", isa,
                    (long long)M, (long long)N, (long long)K, nt, packed ? " (packed B)" : "");
            GEMM_CHECK_FAIL();
          }
        free(C2);
      }
    free(C1);
  }
  free(A), free(B), free(R), free(bias);
}

static void check_shapes(void) {
  static const int64_t shapes[][3] = {
      {1, 1, 1},   {1, 1, 7},    {7, 1, 5},    {1, 9, 5},     {6, 16, 8},   {12, 32, 3},
      {13, 17, 19}, {5, 33, 1},  {37, 41, 300}, {150, 20, 9},  {3, 4100, 2}, {29, 70, 513},
      {4, 5, 0},   {64, 48, 64}, {8, 12, 16},  {25, 26, 27}};
  for (size_t q = 0; q < sizeof shapes / sizeof *shapes; q++)
    for (int t = 0; t < 4; t++) {
      Case c = {shapes[q][0], shapes[q][1], shapes[q][2], t & 1, t >> 1, (int)(q % 3), 1.0f,
                (int)(q % 3), (int)(q % 2), EFFC_ACT_NONE};
      if (q % 4 == 1) c.alpha = 0.5f;
      check_case(&c);
    }
}

static void check_epilogues(void) {
  for (int act = EFFC_ACT_NONE; act <= EFFC_ACT_GELU; act++)
    for (int bias = 0; bias <= 2; bias++)
      for (int res = 0; res <= 2; res++) {
        Case c = {19, 35, 23, res == 2, bias == 1, 1, 1.0f, bias, res, (EffcAct)act};
        check_case(&c);
      }
}

#endif

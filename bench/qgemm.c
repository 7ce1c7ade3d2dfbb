/* qgemm.c - int8 GEMM (effc_qgemm, requantized to uint8 as QLinearMatMul/QLinearConv run it)
 * against fp32 GEMM (effc_sgemm_packed) at the same sizes, one thread on the host's ISA:
 * GOP/s (2 ops per multiply-add) of each and the ratio int8 / fp32. Times are the thread's
 * CPU time, best of `reps` runs.
 *   build/bench/qgemm [reps]      (see docs/benchmarks.md) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct Shape {
  const char *name;
  int64_t M, N, K;
} Shape;

static const Shape shapes[] = {
    {"256^3", 256, 256, 256},
    {"1024^3", 1024, 1024, 1024},
    {"resnet conv3x3 56x56x64", 3136, 64, 576},
    {"resnet conv3x3 28x28x128", 784, 128, 1152},
    {"mobilenet 1x1 28x28 32->192", 784, 192, 32},
    {"transformer d256 seq128 ffn", 128, 1024, 256},
};

/* ------------------------------------------------------------------ convolutions */

typedef struct ConvShape {
  const char *name;
  int64_t C, H, M, K, S, G; /* square images and kernels, pad K/2 */
} ConvShape;

static const ConvShape convs[] = {
    {"resnet 3x3 64->64 56x56", 64, 56, 64, 3, 1, 1},
    {"resnet 3x3 128->128 28x28", 128, 28, 128, 3, 1, 1},
    {"resnet 1x1 256->64 56x56", 256, 56, 64, 1, 1, 1},
    {"mobilenet dw 3x3 96 56x56 s2", 96, 56, 96, 3, 2, 96},
    {"mobilenet 1x1 32->192 28x28", 32, 28, 192, 1, 1, 1},
};

static void conv_bench(int isa, int reps) {
  printf("\n%-30s %10s %10s %8s\n", "convolution (NCHW, N=1)", "fp32 GOP/s", "int8 GOP/s", "ratio");
  for (size_t s = 0; s < sizeof convs / sizeof convs[0]; s++) {
    const ConvShape *c = &convs[s];
    int64_t pad = c->K / 2, OH = (c->H + 2 * pad - c->K) / c->S + 1, Cg = c->C / c->G;
    EffcConv2d f = {1, c->C, c->H, c->H, c->M, OH, OH, c->K, c->K, c->S, c->S, 1, 1, pad, pad, c->G};
    EffcQconv q = {0};
    q.N = 1, q.C = c->C, q.M = c->M, q.G = c->G;
    for (int i = 0; i < 3; i++) {
      int sp = i > 0;
      q.in[i] = sp ? c->H : 1, q.out[i] = sp ? OH : 1, q.k[i] = sp ? c->K : 1;
      q.s[i] = sp ? c->S : 1, q.d[i] = 1, q.pb[i] = sp ? pad : 0;
    }
    int64_t nx = c->C * c->H * c->H, nw = c->M * Cg * c->K * c->K, ny = c->M * OH * OH;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw),
          *y = malloc(sizeof(float) * (size_t)ny);
    uint8_t *qx = malloc((size_t)nx), *qw = malloc((size_t)nw), *qy = malloc((size_t)ny);
    for (int64_t i = 0; i < nx; i++) x[i] = (float)(i % 7) - 3, qx[i] = (uint8_t)(i * 31);
    for (int64_t i = 0; i < nw; i++) w[i] = (float)(i % 5) - 2, qw[i] = (uint8_t)(i * 17);
    float *fp = malloc(effc_conv2d_packed_size(&f, isa) * sizeof(float) + 64);
    float *ftmp = malloc(effc_conv2d_pack_tmp(&f) + 64);
    effc_conv2d_pack(&f, isa, w, fp, ftmp);
    free(ftmp);
    void *fs = malloc(effc_conv2d_scratch(&f, isa, 1) + 64);
    double *mult = malloc(sizeof(double) * (size_t)c->M);
    for (int64_t j = 0; j < c->M; j++) mult[j] = 1e-4;
    int32_t zw = 0;
    q.x = qx, q.xz = 3, q.y = qy, q.y_type = EFFC_Q_U8, q.mult = mult, q.yzp = 128;
    void *wp = malloc(effc_qconv_pack_size(&q) + 64);
    effc_qconv_pack(&q, qw, 1, &zw, 0, wp);
    q.wp = wp;
    void *qs = malloc(effc_qconv_scratch(isa, &q, 1) + 64);
    EffcEpilogue ep;
    memset(&ep, 0, sizeof ep);
    double tf = 1e30, tq = 1e30;
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      effc_conv2d(&f, isa, x, fp, y, &ep, fs, 0, 1);
      double t1 = now();
      effc_qconv(isa, &q, qs, 0, 1);
      double t2 = now();
      if (t1 - t0 < tf) tf = t1 - t0;
      if (t2 - t1 < tq) tq = t2 - t1;
    }
    double ops = 2.0 * (double)ny * (double)(Cg * c->K * c->K);
    printf("%-30s %10.1f %10.1f %8.2f\n", c->name, ops / tf * 1e-9, ops / tq * 1e-9, tf / tq);
    free(x), free(w), free(y), free(qx), free(qw), free(qy), free(fp), free(fs), free(mult);
    free(wp), free(qs);
  }
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5, isa = effc_host_isa();
  if (reps < 1) reps = 1;
  printf("isa %d (0 scalar, 1 AVX2, 2 AVX-512 VNNI, 3 NEON), best of %d, 1 thread\n", isa, reps);
  printf("%-30s %10s %10s %8s\n", "shape (M x N x K)", "fp32 GOP/s", "int8 GOP/s", "ratio");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int64_t M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N)),
          *C = malloc(sizeof(float) * (size_t)(M * N));
    uint8_t *qa = malloc((size_t)(M * K)), *qb = malloc((size_t)(K * N)), *qy = malloc((size_t)(M * N));
    for (int64_t i = 0; i < M * K; i++) A[i] = (float)(i % 7) - 3, qa[i] = (uint8_t)(i * 31);
    for (int64_t i = 0; i < K * N; i++) B[i] = (float)(i % 5) - 2, qb[i] = (uint8_t)(i * 17);
    float *bp = malloc(effc_sgemm_pack_b_size(isa, K, N) * sizeof(float) + 64);
    effc_sgemm_pack_b(isa, K, N, B, N, 0, bp);
    void *fs = malloc(effc_sgemm_scratch(isa, M, N, K, 1, 1) + 64);
    void *qbp = malloc(effc_qgemm_packb_size(K, N));
    int32_t za = 3, zb = 0;
    double *mult = malloc(sizeof(double) * (size_t)N), yzp = 128;
    for (int64_t j = 0; j < N; j++) mult[j] = 1e-4 * (double)(j % 3 + 1);
    effc_qgemm_packb(K, N, qb, 1, N, 1, &zb, 0, qbp);
    EffcQgemm q = {0};
    q.M = M, q.N = N, q.K = K, q.a = qa, q.a_signed = 0, q.a_rs = K, q.a_cs = 1, q.za = &za;
    q.bp = qbp, q.y = qy, q.y_rs = N, q.y_cs = 1, q.y_type = EFFC_Q_U8, q.mult = mult, q.yzp = &yzp;
    void *qs = malloc(effc_qgemm_scratch(isa, &q, 1));
    double tf = 1e30, tq = 1e30;
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      effc_sgemm_packed(isa, M, N, K, 1.0f, A, K, 0, bp, C, N, NULL, fs, 0, 1);
      double t1 = now();
      effc_qgemm(isa, &q, qs, 0, 1);
      double t2 = now();
      if (t1 - t0 < tf) tf = t1 - t0;
      if (t2 - t1 < tq) tq = t2 - t1;
    }
    double ops = 2.0 * (double)M * (double)N * (double)K;
    printf("%-30s %10.1f %10.1f %8.2f\n", shapes[s].name, ops / tf * 1e-9, ops / tq * 1e-9, tf / tq);
    free(A), free(B), free(C), free(qa), free(qb), free(qy), free(bp), free(fs), free(qbp);
    free(mult), free(qs);
  }
  conv_bench(isa, reps);
  return 0;
}

/* conv.c - times the convolution kernels (runtime/kern/conv.c) on ResNet-50 and MobileNetV2
 * layer shapes, one thread: GFLOP/s of effc_conv2d (its chosen method) and, for the GEMM
 * methods, of a full im2col followed by the packed SGEMM (kern/gemm.c) on the same problem.
 * Run by hand: build/bench/conv [reps [layer-name-substring]]. */
#include "kern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Layer {
  const char *name;
  int64_t C, H, M, K, S, P, G; /* square images and kernels */
} Layer;

static const Layer layers[] = {
    {"r50 conv1 7x7/2", 3, 224, 64, 7, 2, 3, 1},
    {"r50 l1 1x1 64>64", 64, 56, 64, 1, 1, 0, 1},
    {"r50 l1 3x3 64", 64, 56, 64, 3, 1, 1, 1},
    {"r50 l1 1x1 64>256", 64, 56, 256, 1, 1, 0, 1},
    {"r50 l1 1x1 256>64", 256, 56, 64, 1, 1, 0, 1},
    {"r50 l2 3x3 128", 128, 28, 128, 3, 1, 1, 1},
    {"r50 l2 1x1 512>128", 512, 28, 128, 1, 1, 0, 1},
    {"r50 l3 3x3 256", 256, 14, 256, 3, 1, 1, 1},
    {"r50 l3 1x1 1024>256", 1024, 14, 256, 1, 1, 0, 1},
    {"r50 l4 3x3 512", 512, 7, 512, 3, 1, 1, 1},
    {"r50 l4 1x1 2048>512", 2048, 7, 512, 1, 1, 0, 1},
    {"mv2 conv1 3x3/2", 3, 224, 32, 3, 2, 1, 1},
    {"mv2 dw 32 112", 32, 112, 32, 3, 1, 1, 32},
    {"mv2 1x1 32>16 112", 32, 112, 16, 1, 1, 0, 1},
    {"mv2 1x1 16>96 112", 16, 112, 96, 1, 1, 0, 1},
    {"mv2 dw 96 112/2", 96, 112, 96, 3, 2, 1, 96},
    {"mv2 dw 144 56", 144, 56, 144, 3, 1, 1, 144},
    {"mv2 1x1 144>24 56", 144, 56, 24, 1, 1, 0, 1},
    {"mv2 dw 192 28", 192, 28, 192, 3, 1, 1, 192},
    {"mv2 dw 384 14", 384, 14, 384, 3, 1, 1, 384},
    {"mv2 dw 960 7", 960, 7, 960, 3, 1, 1, 960},
    {"mv2 1x1 960>320 7", 960, 7, 320, 1, 1, 0, 1},
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: robust on a shared machine */
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* col[(c*K*K + kh*K + kw)][p] for the full image (the baseline's im2col). */
static void im2col(const EffcConv2d *p, const float *x, float *col) {
  for (int64_t c = 0; c < p->C; c++)
    for (int64_t kh = 0; kh < p->KH; kh++)
      for (int64_t kw = 0; kw < p->KW; kw++)
        for (int64_t oh = 0; oh < p->OH; oh++)
          for (int64_t ow = 0; ow < p->OW; ow++) {
            int64_t ih = oh * p->SH - p->PT + kh, iw = ow * p->SW - p->PL + kw;
            *col++ = ih >= 0 && ih < p->H && iw >= 0 && iw < p->W ? x[(c * p->H + ih) * p->W + iw]
                                                                  : 0.0f;
          }
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5, isa = effc_host_isa();
  static const char *const algos[] = {"1x1-gemm", "im2col", "depthwise", "winograd"};
  printf("isa %d, 1 thread, best of %d runs\n%-22s %-10s %10s %10s\n", isa, reps, "layer",
         "method", "GFLOP/s", "sgemm");
  for (size_t li = 0; li < sizeof layers / sizeof *layers; li++) {
    const Layer *l = &layers[li];
    if (argc > 2 && !strstr(l->name, argv[2])) continue;
    int64_t O = (l->H + 2 * l->P - l->K) / l->S + 1;
    EffcConv2d p = {1, l->C, l->H, l->H, l->M, O, O, l->K, l->K, l->S, l->S, 1, 1, l->P, l->P, l->G};
    int64_t Kd = l->C / l->G * l->K * l->K, P = O * O;
    size_t nx = (size_t)(l->C * l->H * l->H), nw = (size_t)(l->M * Kd), ny = (size_t)(l->M * P);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *y = malloc(ny * 4), *b = calloc((size_t)l->M, 4);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 13) * 0.1f - 0.6f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)(i % 7) * 0.05f - 0.15f;
    float *pk = malloc(effc_conv2d_packed_size(&p, isa) * 4);
    void *tmp = malloc(effc_conv2d_pack_tmp(&p) + 1);
    effc_conv2d_pack(&p, isa, w, pk, tmp);
    free(tmp);
    void *scr = malloc(effc_conv2d_scratch(&p, isa, 1) + 1);
    EffcEpilogue ep = {EFFC_ACT_RELU, 0, 0, b, NULL, 1};
    double flops = 2.0 * (double)l->M * (double)Kd * (double)P, best = 1e30, best2 = 1e30;
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      effc_conv2d(&p, isa, x, pk, y, &ep, scr, 0, 1);
      double t = now() - t0;
      if (t < best) best = t;
    }
    int algo = effc_conv2d_algo(&p);
    if (algo != EFFC_CONV_DEPTHWISE) {
      float *col = algo == EFFC_CONV_GEMM ? x : malloc((size_t)(Kd * P) * 4);
      void *gs = malloc(effc_sgemm_scratch(isa, l->M, P, Kd, 0, 1) + 1);
      for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (algo != EFFC_CONV_GEMM) im2col(&p, x, col);
        effc_sgemm(isa, l->M, P, Kd, 1.0f, w, Kd, 0, col, P, 0, y, P, &ep, gs, 0, 1);
        double t = now() - t0;
        if (t < best2) best2 = t;
      }
      free(gs);
      if (col != x) free(col);
    }
    printf("%-22s %-10s %10.1f", l->name, algos[algo], flops / best * 1e-9);
    if (best2 < 1e30) printf(" %10.1f", flops / best2 * 1e-9);
    printf("\n");
    free(x), free(w), free(y), free(b), free(pk), free(scr);
  }
  return 0;
}

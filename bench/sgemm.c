/* sgemm.c - the machine's fp32 FMA peak (independent accumulator chains) and effc_sgemm's
 * GFLOP/s at 256^3 and 1024^3 with 1 and 2 threads, as a fraction of that peak. Times are
 * each thread's CPU time (the best run; with 2 threads, its slower thread).
 *   build/bench/sgemm [reps]      (see docs/benchmarks.md) */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kern.h"

/* The calling thread's CPU time: the machine is shared, and wall time would count the
 * other processes' turns on the core as ours. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ FMA peak */

#define PEAK_ITERS 20000000L

/* 12 independent chains cover 2 FMA pipes x 4-5 cycles of latency; returns flops done. */
__attribute__((target("avx2,fma"))) static double peak_avx2(float *sink) {
  __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  /* different starting values, so that the compiler cannot merge the chains */
  __m256 c0 = _mm256_set1_ps(1.0f), c1 = _mm256_set1_ps(1.1f), c2 = _mm256_set1_ps(1.2f);
  __m256 c3 = _mm256_set1_ps(1.3f), c4 = _mm256_set1_ps(1.4f), c5 = _mm256_set1_ps(1.5f);
  __m256 c6 = _mm256_set1_ps(1.6f), c7 = _mm256_set1_ps(1.7f), c8 = _mm256_set1_ps(1.8f);
  __m256 c9 = _mm256_set1_ps(1.9f), c10 = _mm256_set1_ps(2.0f), c11 = _mm256_set1_ps(2.1f);
  for (long i = 0; i < PEAK_ITERS; i++) {
    c0 = _mm256_fmadd_ps(c0, m, a), c1 = _mm256_fmadd_ps(c1, m, a);
    c2 = _mm256_fmadd_ps(c2, m, a), c3 = _mm256_fmadd_ps(c3, m, a);
    c4 = _mm256_fmadd_ps(c4, m, a), c5 = _mm256_fmadd_ps(c5, m, a);
    c6 = _mm256_fmadd_ps(c6, m, a), c7 = _mm256_fmadd_ps(c7, m, a);
    c8 = _mm256_fmadd_ps(c8, m, a), c9 = _mm256_fmadd_ps(c9, m, a);
    c10 = _mm256_fmadd_ps(c10, m, a), c11 = _mm256_fmadd_ps(c11, m, a);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                           _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  _mm256_storeu_ps(sink, s);
  return (double)PEAK_ITERS * 12 * 8 * 2;
}

/* 24 chains: 2 pipes x 4 cycles with room for a second port pair. */
__attribute__((target("avx512f,avx2,fma"))) static double peak_avx512(float *sink) {
  __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f), c[24];
  for (int j = 0; j < 24; j++) c[j] = _mm512_set1_ps(1.0f + 0.1f * (float)j);
  for (long i = 0; i < PEAK_ITERS; i++) {
#pragma GCC unroll 24
    for (int j = 0; j < 24; j++) c[j] = _mm512_fmadd_ps(c[j], m, a);
  }
  __m512 s = c[0];
  for (int j = 1; j < 24; j++) s = _mm512_add_ps(s, c[j]);
  _mm512_storeu_ps(sink, s);
  return (double)PEAK_ITERS * 24 * 16 * 2;
}

typedef struct Job {
  int isa, tid, nt;
  double flops, secs;
  float sink[16];
  /* SGEMM */
  int64_t n;
  const float *a, *b;
  float *c;
  void *scratch;
  pthread_barrier_t *bar;
  int reps;
  double *times; /* per run */
} Job;

static void *peak_thread(void *p) {
  Job *j = p;
  double t0 = now();
  j->flops = j->isa == EFFC_ISA_AVX512 ? peak_avx512(j->sink) : peak_avx2(j->sink);
  j->secs = now() - t0;
  return NULL;
}

/* GFLOP/s of nt threads running the FMA loop at once (the sum of their rates). */
static double peak(int isa, int nt) {
  Job jobs[2];
  pthread_t th[2];
  for (int t = 0; t < nt; t++) {
    jobs[t] = (Job){.isa = isa};
    pthread_create(&th[t], NULL, peak_thread, &jobs[t]);
  }
  double g = 0;
  for (int t = 0; t < nt; t++) {
    pthread_join(th[t], NULL);
    g += jobs[t].flops / jobs[t].secs * 1e-9;
  }
  return g;
}

/* ------------------------------------------------------------------ SGEMM */

static void *gemm_thread(void *p) {
  Job *j = p;
  for (int r = 0; r < j->reps; r++) {
    pthread_barrier_wait(j->bar);
    double t0 = now();
    effc_sgemm(j->isa, j->n, j->n, j->n, 1.0f, j->a, j->n, 0, j->b, j->n, 0, j->c, j->n, NULL,
               j->scratch, j->tid, j->nt);
    j->times[r] = now() - t0;
  }
  return NULL;
}

/* Best GFLOP/s of `reps` runs of an n^3 SGEMM on nt threads. */
static double sgemm(int isa, int64_t n, int nt, int reps) {
  float *a = malloc((size_t)(n * n) * sizeof *a), *b = malloc((size_t)(n * n) * sizeof *b);
  float *c = malloc((size_t)(n * n) * sizeof *c);
  for (int64_t i = 0; i < n * n; i++) a[i] = (float)(i % 7) * 0.25f, b[i] = (float)(i % 5) * 0.5f;
  void *scratch = malloc(effc_sgemm_scratch(isa, n, n, n, 0, nt));
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, (unsigned)nt);
  Job jobs[2];
  pthread_t th[2];
  for (int t = 0; t < nt; t++) {
    jobs[t] = (Job){.isa = isa, .tid = t, .nt = nt, .n = n, .a = a, .b = b, .c = c,
                    .scratch = scratch, .bar = &bar, .reps = reps,
                    .times = calloc((size_t)reps, sizeof(double))};
    pthread_create(&th[t], NULL, gemm_thread, &jobs[t]);
  }
  for (int t = 0; t < nt; t++) pthread_join(th[t], NULL);
  double s = 1e30; /* the best run, timed by its slowest thread */
  for (int r = 0; r < reps; r++) {
    double m = 0;
    for (int t = 0; t < nt; t++) m = jobs[t].times[r] > m ? jobs[t].times[r] : m;
    s = m < s ? m : s;
  }
  for (int t = 0; t < nt; t++) free(jobs[t].times);
  pthread_barrier_destroy(&bar);
  free(a), free(b), free(c), free(scratch);
  return 2.0 * (double)n * (double)n * (double)n / s * 1e-9;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 10;
  int isa = effc_host_isa();
  if (isa != EFFC_ISA_AVX2 && isa != EFFC_ISA_AVX512) {
    fprintf(stderr, "sgemm: this benchmark needs an x86-64 host with AVX2+FMA\n");
    return 1;
  }
  const char *name = isa == EFFC_ISA_AVX512 ? "avx512" : "avx2";
  double pk[3] = {0, 0, 0};
  for (int r = 0; r < 3; r++) /* the best of three */
    for (int nt = 1; nt <= 2; nt++) {
      double g = peak(isa, nt);
      pk[nt] = g > pk[nt] ? g : pk[nt];
    }
  printf("isa %s: FMA peak %.1f GFLOP/s (1 thread), %.1f GFLOP/s (2 threads)\n", name, pk[1],
         pk[2]);
  printf("%-8s %-8s %10s %10s\n", "size", "threads", "GFLOP/s", "of peak");
  static const int64_t sizes[] = {256, 1024};
  for (int s = 0; s < 2; s++)
    for (int nt = 1; nt <= 2; nt++) {
      double g = sgemm(isa, sizes[s], nt, sizes[s] >= 1024 ? (reps + 1) / 2 : reps * 10);
      printf("%-8lld %-8d %10.1f %9.1f%%\n", (long long)sizes[s], nt, g, 100 * g / pk[nt]);
    }
  return 0;
}

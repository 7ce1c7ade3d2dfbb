/* test_int4.c - weight-only INT4 (passes/int4.c, runtime/kern/nbits.c): the MatMulNBits
 * kernel against a dequantize-then-multiply written here from ONNX Runtime's spec (random
 * shapes, K not a multiple of block_size, every zero-point form, g_idx, 1 and 3 threads,
 * scalar and host ISA); code packing round trips; RTN's error within half a step per group;
 * GPTQ's output error below RTN's on a small correlated problem. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "int4.h"
#include "kern.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}
static double unif(double lo, double hi) { return lo + (hi - lo) * (double)(next() >> 11) / 9007199254740992.0; }

static void kernel_matches_hand_dequant(void **state) {
  (void)state;
  static const int64_t Ks[] = {20, 33, 64, 130}, Ns[] = {1, 17, 40}, Ms[] = {1, 5};
  static const int bitss[] = {2, 4, 8};
  int cases = 0;
  for (int ki = 0; ki < 4; ki++)
    for (int ni = 0; ni < 3; ni++)
      for (int bi = 0; bi < 3; bi++)
        for (int zk = 0; zk < 4; zk++) { /* zero points: none, packed, float; 3: packed + g_idx */
          int64_t K = Ks[ki], N = Ns[ni], M = Ms[(ki + ni) % 2], bits = bitss[bi];
          int64_t bs = (ki + bi) % 2 ? 16 : 32, kb = (K + bs - 1) / bs, blob = bs * bits / 8;
          int64_t zper = (kb * bits + 7) / 8;
          uint8_t *b = calloc((size_t)(N * kb * blob), 1), *zp = calloc((size_t)(N * zper), 1);
          float *sc = malloc((size_t)(N * kb) * sizeof *sc), *zf = malloc((size_t)(N * kb) * sizeof *zf);
          int32_t *gi = malloc((size_t)K * sizeof *gi);
          float *a = malloc((size_t)(M * K) * sizeof *a), *bias = malloc((size_t)N * sizeof *bias);
          float *y = malloc((size_t)(M * N) * sizeof *y);
          int q[200 * 8];
          for (int64_t i = 0; i < N * kb * blob; i++) b[i] = (uint8_t)next();
          for (int64_t i = 0; i < N * zper; i++) zp[i] = (uint8_t)next();
          for (int64_t i = 0; i < N * kb; i++) sc[i] = (float)unif(0.01, 0.2), zf[i] = (float)unif(0, 3);
          for (int64_t k = 0; k < K; k++) gi[k] = (int32_t)(next() % (uint64_t)kb);
          for (int64_t i = 0; i < M * K; i++) a[i] = (float)unif(-1, 1);
          for (int64_t i = 0; i < N; i++) bias[i] = (float)unif(-1, 1);
          EffcNbits p = {M, N, K, bits, bs, b, sc, zk == 1 || zk == 3 ? zp : NULL, zk == 2 ? zf : NULL,
                         zk == 3 ? gi : NULL, zk ? bias : NULL};
          assert_null(effc_nbits_check(K, N, bits, bs, N * kb * blob, N * kb,
                                       zk == 0 ? -1 : zk == 2 ? N * kb : N * zper, zk == 2, -1, -1));
          void *scr = malloc(effc_nbits_scratch(&p, 3));
          for (int run = 0; run < 4; run++) {
            int isa = run % 2 ? effc_host_isa() : EFFC_ISA_SCALAR, nt = run < 2 ? 1 : 3;
            for (int t = 0; t < nt; t++) effc_matmul_nbits(isa, &p, a, y, scr, t, nt);
            for (int64_t n = 0; n < N; n++) {
              /* the codes of row n: block j's bytes, element e at bit e * bits */
              for (int64_t k = 0; k < K; k++) {
                int64_t j = k / bs, e = k % bs, byte = (e * bits) / 8, sh = (e * bits) % 8;
                q[k] = (b[(n * kb + j) * blob + byte] >> sh) & ((1 << bits) - 1);
              }
              for (int64_t m = 0; m < M; m++) {
                double want = zk ? bias[n] : 0;
                for (int64_t k = 0; k < K; k++) {
                  int64_t g = zk == 3 ? gi[k] : k / bs;
                  double z = zk == 0 ? (1 << (bits - 1))
                             : zk == 2 ? zf[n * kb + g]
                                       : (zp[n * zper + g * bits / 8] >> ((g * bits) % 8)) & ((1 << bits) - 1);
                  want += (double)a[m * K + k] * ((q[k] - z) * sc[n * kb + g]);
                }
                assert_true(fabs(y[m * N + n] - want) <= 1e-4 * fabs(want) + 1e-5);
              }
            }
          }
          cases++;
          free(b), free(zp), free(sc), free(zf), free(gi), free(a), free(bias), free(y), free(scr);
        }
  assert_int_equal(cases, 4 * 3 * 3 * 4);
  /* sizes that do not match are refused */
  assert_non_null(effc_nbits_check(40, 7, 4, 16, 7 * 3 * 8 - 1, 21, -1, 0, -1, -1));
  assert_non_null(effc_nbits_check(40, 7, 3, 16, 0, 21, -1, 0, -1, -1));
  assert_non_null(effc_nbits_check(40, 7, 4, 24, 0, 21, -1, 0, -1, -1));
}

static void packing_round_trips(void **state) {
  (void)state;
  for (int bits = 2; bits <= 8; bits *= 2) {
    uint8_t c[37], back[37], packed[37];
    for (int i = 0; i < 37; i++) c[i] = (uint8_t)(next() % (1u << bits));
    int4_pack(c, 37, bits, packed);
    int4_unpack(packed, 37, bits, back);
    assert_memory_equal(c, back, 37);
    if (bits == 4) assert_int_equal(packed[0], c[0] | c[1] << 4); /* low nibble first */
  }
}

static void rtn_error_within_half_step(void **state) {
  (void)state;
  int64_t N = 6, K = 100, G = 32;
  double *w = malloc((size_t)(N * K) * sizeof *w);
  float *d = malloc((size_t)(N * K) * sizeof *d);
  for (int sym = 0; sym < 2; sym++) {
    for (int64_t i = 0; i < N * K; i++) w[i] = unif(-1, 1) * (i % 7 ? 0.1 : 1) + (sym ? 0 : 0.3);
    Int4Layer l;
    int4_layer_init(&l, K, N, G, 4, sym);
    int4_rtn(w, &l);
    int4_dequant(&l, d);
    for (int64_t n = 0; n < N; n++)
      for (int64_t k = 0; k < K; k++) {
        float s = l.scales[n * l.kb + k / G];
        assert_true(fabs(d[n * K + k] - w[n * K + k]) <= 0.5 * s * (1 + 1e-5) + 1e-7);
        if (sym) assert_int_equal(l.zp[n * l.kb + k / G], 8);
      }
    int4_layer_free(&l);
  }
  free(w), free(d);
}

/* ||X W^T - X Wq^T||^2 of a layer. */
static double out_err(const float *x, int64_t rows, const double *w, const Int4Layer *l) {
  float *wq = malloc((size_t)(l->N * l->K) * sizeof *wq);
  int4_dequant(l, wq);
  double e = int4_output_err(x, rows, w, wq, l->N, l->K);
  free(wq);
  return e;
}

static void gptq_beats_rtn(void **state) {
  (void)state;
  int64_t N = 16, K = 64, R = 256;
  float *x = malloc((size_t)(R * K) * sizeof *x);
  double *w = malloc((size_t)(N * K) * sizeof *w), *wc = malloc((size_t)(N * K) * sizeof *wc);
  double *H = calloc((size_t)(K * K), sizeof *H);
  for (int64_t r = 0; r < R; r++) { /* correlated channels with uneven scales */
    double common = unif(-1, 1);
    for (int64_t k = 0; k < K; k++)
      x[r * K + k] = (float)((0.7 * common + 0.3 * unif(-1, 1)) * (k % 5 ? 1 : 4));
  }
  for (int64_t i = 0; i < N * K; i++) w[i] = unif(-1, 1);
  for (int64_t a = 0; a < K; a++)
    for (int64_t b = 0; b < K; b++) {
      double s = 0;
      for (int64_t r = 0; r < R; r++) s += (double)x[r * K + a] * x[r * K + b];
      H[a * K + b] = 2 * s / R;
    }
  Int4Layer rtn;
  int4_layer_init(&rtn, K, N, 32, 4, false);
  int4_rtn(w, &rtn);
  double e_rtn = out_err(x, R, w, &rtn);
  for (int ao = 0; ao < 2; ao++) {
    double *Hc = malloc((size_t)(K * K) * sizeof *Hc), used;
    for (int64_t i = 0; i < K * K; i++) Hc[i] = H[i];
    for (int64_t i = 0; i < N * K; i++) wc[i] = w[i];
    Int4Layer g;
    int4_layer_init(&g, K, N, 32, 4, false);
    assert_int_equal(int4_gptq(wc, Hc, &g, 0.01, 16, ao, &used), 0);
    double e = out_err(x, R, w, &g);
    assert_true(e < 0.8 * e_rtn);
    if (ao) assert_non_null(g.g_idx);
    int4_layer_free(&g);
    free(Hc);
  }
  int4_layer_free(&rtn);
  free(x), free(w), free(wc), free(H);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kernel_matches_hand_dequant),
      cmocka_unit_test(packing_round_trips),
      cmocka_unit_test(rtn_error_within_half_step),
      cmocka_unit_test(gptq_beats_rtn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_kern_qgemm.c - the int8 kernels (runtime/kern/qgemm.c) against naive int64 references:
 * every ISA this host runs, random shapes, signedness, zero points, bias, output types and
 * strides, thread counts 1 to 3; results must be bit-identical. Plain C without cmocka so
 * that the same file cross-compiles for AArch64 and runs under qemu (run_qemu_qgemm.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"

static int failures, checks;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}
static int64_t rint_in(int64_t lo, int64_t hi) {
  return lo + (int64_t)(rnd() % (uint32_t)(hi - lo + 1));
}

#define CHECK(cond, ...)                                                                      \
  do {                                                                                        \
    checks++;                                                                                 \
    if (!(cond)) {                                                                            \
      if (failures++ < 20) {                                                                  \
        printf("FAIL %s:%d: ", __FILE__, __LINE__);                                          \
        printf(__VA_ARGS__);                                                                  \
        printf("\n");                                                                         \
      }                                                                                       \
    }                                                                                         \
  } while (0)

static int val8(const uint8_t *p, int64_t i, int sgn) {
  return sgn ? (int)(int8_t)p[i] : (int)p[i];
}

/* The interpreter's requantization (k_cast.c requant/st_qint). */
static int ref_requant(int32_t acc, double mult, double zp, int y_type) {
  double lo = y_type == EFFC_Q_U8 ? 0 : -128, hi = y_type == EFFC_Q_U8 ? 255 : 127;
  double v = nearbyint((double)acc * mult + zp);
  if (isnan(v)) v = lo;
  return (int)(v < lo ? lo : v > hi ? hi : v);
}

static void fill8(uint8_t *p, int64_t n, int extreme) {
  for (int64_t i = 0; i < n; i++) p[i] = (uint8_t)(extreme ? (rnd() & 1 ? 0 : 255) ^ (rnd() % 3 == 0 ? 0x80 : 0) : rnd());
}

static int32_t rzp(int sgn) {
  return sgn ? (int32_t)rint_in(-128, 127) : (int32_t)rint_in(0, 255);
}

static double rmult(void) {
  /* float-representable multipliers, like the interpreter's */
  return (double)(float)ldexp((double)(rnd() % 100000 + 1), -(int)rint_in(14, 26));
}

static void store_out(void *y, int64_t idx, int y_type, int v) {
  if (y_type == EFFC_Q_I32) ((int32_t *)y)[idx] = v;
  else ((uint8_t *)y)[idx] = (uint8_t)v;
}

static int isas[4], n_isas;

static void gemm_case(int isa, int64_t M, int64_t N, int64_t K, int as, int bs, int y_type,
                      int extreme) {
  uint8_t *a = malloc((size_t)(M * K + 1)), *b = malloc((size_t)(K * N + 1));
  int32_t *za = malloc(sizeof(int32_t) * (size_t)M), *zb = malloc(sizeof(int32_t) * (size_t)N),
          *bias = malloc(sizeof(int32_t) * (size_t)N);
  double *mult = malloc(sizeof(double) * (size_t)(M * N)), *yzp = malloc(sizeof(double) * (size_t)M);
  fill8(a, M * K, extreme);
  fill8(b, K * N, extreme);
  int row_za = rnd() & 1, col_zb = rnd() & 1, has_bias = rnd() & 1, row_mult = rnd() & 1;
  int trans_b = rnd() & 1, trans_y = rnd() & 1, trans_a = rnd() & 1;
  for (int64_t i = 0; i < M; i++) za[i] = rzp(as);
  for (int64_t i = 0; i < N; i++) /* the bias wraps in unsigned arithmetic */
    zb[i] = rzp(bs), bias[i] = (int32_t)(uint32_t)(rnd() - (rnd() >> 1));
  for (int64_t i = 0; i < M * N; i++) mult[i] = rmult();
  for (int64_t i = 0; i < M; i++) yzp[i] = (double)rzp(y_type == EFFC_Q_S8);
  /* reference */
  size_t esz = y_type == EFFC_Q_I32 ? 4 : 1;
  uint8_t *ref = calloc((size_t)(M * N), esz), *out = malloc((size_t)(M * N) * esz);
  int64_t ars = trans_a ? 1 : K, acs = trans_a ? M : 1, brs = trans_b ? 1 : N, bcs = trans_b ? K : 1;
  int64_t yrs = trans_y ? 1 : N, ycs = trans_y ? M : 1;
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      int64_t s = has_bias ? bias[n] : 0;
      int64_t zam = row_za ? za[m] : za[0], zbn = col_zb ? zb[n] : zb[0];
      for (int64_t k = 0; k < K; k++)
        s += (val8(a, m * ars + k * acs, as) - zam) * (val8(b, k * brs + n * bcs, bs) - zbn);
      int32_t acc = (int32_t)(uint32_t)(uint64_t)s;
      int v = y_type == EFFC_Q_I32 ? acc
                                   : ref_requant(acc, mult[(row_mult ? m : 0) * N + n],
                                                 yzp[row_za ? m : 0], y_type);
      store_out(ref, m * yrs + n * ycs, y_type, v);
    }
  void *bp = malloc(effc_qgemm_packb_size(K, N));
  effc_qgemm_packb(K, N, b, bs, brs, bcs, zb, col_zb, bp);
  EffcQgemm q;
  memset(&q, 0, sizeof q);
  q.M = M, q.N = N, q.K = K, q.a = a, q.a_signed = as, q.a_rs = ars, q.a_cs = acs;
  q.za = za, q.za_stride = row_za, q.bp = bp, q.bias = has_bias ? bias : NULL;
  q.y = out, q.y_rs = yrs, q.y_cs = ycs, q.y_type = y_type;
  q.mult = mult, q.mult_rs = row_mult ? N : 0, q.yzp = yzp, q.yzp_stride = row_za;
  for (int nt = 1; nt <= 3; nt++) {
    void *scr = malloc(effc_qgemm_scratch(isa, &q, nt));
    memset(out, 0xa5, (size_t)(M * N) * esz);
    for (int t = 0; t < nt; t++) effc_qgemm(isa, &q, scr, t, nt);
    int64_t bad = -1;
    for (int64_t i = 0; i < M * N && bad < 0; i++)
      if (memcmp(out + i * (int64_t)esz, ref + i * (int64_t)esz, esz)) bad = i;
    CHECK(bad < 0, "gemm isa %d M%lld N%lld K%lld a%c b%c y%d nt %d: element %lld differs", isa,
          (long long)M, (long long)N, (long long)K, as ? 's' : 'u', bs ? 's' : 'u', y_type, nt,
          (long long)bad);
    free(scr);
  }
  free(a), free(b), free(za), free(zb), free(bias), free(mult), free(yzp), free(ref), free(out), free(bp);
}

static void conv_case(int isa, int nsp, int dw) {
  EffcQconv p;
  memset(&p, 0, sizeof p);
  p.N = rint_in(1, 2);
  p.G = dw ? rint_in(1, 6) : rint_in(1, 2);
  int64_t Cg = dw ? 1 : rint_in(1, 5), Mg = dw ? rint_in(1, 2) : rint_in(1, 20);
  p.C = p.G * Cg;
  p.M = p.G * Mg;
  int64_t ivol = 1, kvol = 1, P = 1;
  for (int i = 0; i < 3; i++) {
    int used = i >= 3 - nsp;
    p.in[i] = used ? rint_in(1, nsp == 3 ? 5 : 9) : 1;
    p.k[i] = used ? rint_in(1, 3) : 1;
    p.s[i] = used ? rint_in(1, 2) : 1;
    p.d[i] = used ? rint_in(1, 2) : 1;
    p.pb[i] = used ? rint_in(0, 1) : 0;
    int64_t pe = used ? rint_in(0, 1) : 0, ext = p.d[i] * (p.k[i] - 1) + 1;
    int64_t span = p.in[i] + p.pb[i] + pe - ext;
    p.out[i] = span < 0 ? 0 : span / p.s[i] + 1;
    if (rnd() % 4 == 0 && used) { /* 1x1 read in place */
      p.k[i] = 1, p.s[i] = 1, p.pb[i] = 0, p.out[i] = p.in[i];
    }
    ivol *= p.in[i], kvol *= p.k[i], P *= p.out[i];
  }
  int xs = rnd() & 1, ws = rnd() & 1, y_type = (int)(rnd() % 3), per_ch = rnd() & 1, hb = rnd() & 1;
  uint8_t *x = malloc((size_t)(p.N * p.C * ivol + 1)), *w = malloc((size_t)(p.M * Cg * kvol + 1));
  fill8(x, p.N * p.C * ivol, 0);
  fill8(w, p.M * Cg * kvol, 0);
  int32_t *wz = malloc(sizeof(int32_t) * (size_t)p.M), *bias = malloc(sizeof(int32_t) * (size_t)p.M);
  double *mult = malloc(sizeof(double) * (size_t)p.M);
  for (int64_t m = 0; m < p.M; m++) wz[m] = rzp(ws), bias[m] = (int32_t)(rnd() % 200000) - 100000, mult[m] = rmult();
  p.x = x, p.x_signed = xs, p.xz = rzp(xs), p.bias = hb ? bias : NULL, p.y_type = y_type;
  p.mult = mult, p.yzp = (double)rzp(y_type == EFFC_Q_S8);
  size_t esz = y_type == EFFC_Q_I32 ? 4 : 1, ny = (size_t)(p.N * p.M * P);
  uint8_t *ref = calloc(ny + 1, esz), *out = malloc((ny + 1) * esz);
  for (int64_t n = 0; n < p.N; n++)
    for (int64_t m = 0; m < p.M; m++) {
      int64_t g = m / Mg, wzm = per_ch ? wz[m] : wz[0];
      for (int64_t o = 0; o < P; o++) {
        int64_t oc[3] = {o / (p.out[1] * p.out[2]), (o / p.out[2]) % p.out[1], o % p.out[2]};
        int64_t s = hb ? bias[m] : 0;
        for (int64_t c = 0; c < Cg; c++)
          for (int64_t kk = 0; kk < kvol; kk++) {
            int64_t kc[3] = {kk / (p.k[1] * p.k[2]), (kk / p.k[2]) % p.k[1], kk % p.k[2]}, ii[3];
            int in = 1;
            for (int i = 0; i < 3; i++) {
              ii[i] = oc[i] * p.s[i] - p.pb[i] + kc[i] * p.d[i];
              in &= ii[i] >= 0 && ii[i] < p.in[i];
            }
            if (!in) continue;
            int64_t xi = (n * p.C + g * Cg + c) * ivol + (ii[0] * p.in[1] + ii[1]) * p.in[2] + ii[2];
            s += (val8(x, xi, xs) - p.xz) * (val8(w, (m * Cg + c) * kvol + kk, ws) - wzm);
          }
        int32_t acc = (int32_t)(uint32_t)(uint64_t)s;
        int v = y_type == EFFC_Q_I32 ? acc : ref_requant(acc, mult[m], p.yzp, y_type);
        store_out(ref, (n * p.M + m) * P + o, y_type, v);
      }
    }
  void *wp = malloc(effc_qconv_pack_size(&p) + 1);
  effc_qconv_pack(&p, w, ws, wz, per_ch, wp);
  p.wp = wp;
  p.y = out;
  for (int nt = 1; nt <= 3; nt++) {
    void *scr = malloc(effc_qconv_scratch(isa, &p, nt) + 1);
    memset(out, 0xa5, ny * esz);
    for (int t = 0; t < nt; t++) effc_qconv(isa, &p, scr, t, nt);
    CHECK(!memcmp(out, ref, ny * esz),
          "conv isa %d nsp %d dw %d G%lld C%lld M%lld k %lldx%lldx%lld y%d nt %d differs", isa, nsp,
          dw, (long long)p.G, (long long)p.C, (long long)p.M, (long long)p.k[0], (long long)p.k[1],
          (long long)p.k[2], y_type, nt);
    free(scr);
  }
  free(x), free(w), free(wz), free(bias), free(mult), free(ref), free(out), free(wp);
}

/* Ties, saturation and NaN in the requantization, against the reference formula. */
static void requant_edges(int isa) {
  int32_t acc[37];
  double mult[37];
  for (int i = 0; i < 37; i++) {
    acc[i] = (int32_t)(i * 2 - 37) * (i % 5 == 0 ? 50000000 : 1); /* |acc| < 2^31 */
    mult[i] = i % 7 == 3 ? NAN : i % 3 ? 0.5 : 1e-3;
  }
  acc[36] = INT32_MIN;
  acc[35] = INT32_MAX;
  for (int t = EFFC_Q_U8; t <= EFFC_Q_S8; t++)
    for (int cs = 0; cs <= 1; cs++) {
      uint8_t out[37];
      effc_qrequant(isa, acc, 37, cs ? mult : mult + 1, cs, t == EFFC_Q_U8 ? 3.0 : -2.0, t, out);
      int ok = 1;
      for (int i = 0; i < 37; i++) {
        int r = ref_requant(acc[i], cs ? mult[i] : mult[1], t == EFFC_Q_U8 ? 3.0 : -2.0, t);
        ok &= (t == EFFC_Q_U8 ? (int)out[i] : (int)(int8_t)out[i]) == r;
      }
      CHECK(ok, "requant isa %d type %d cs %d", isa, t, cs);
    }
}

int main(void) {
  int host = effc_host_isa();
  isas[n_isas++] = EFFC_ISA_SCALAR;
  if (host == EFFC_ISA_AVX2 || host == EFFC_ISA_AVX512) isas[n_isas++] = EFFC_ISA_AVX2;
  if (host == EFFC_ISA_AVX512) isas[n_isas++] = EFFC_ISA_AVX512;
  if (host == EFFC_ISA_NEON) isas[n_isas++] = EFFC_ISA_NEON;
  for (int i = 0; i < n_isas; i++) {
    int isa = isas[i];
    requant_edges(isa);
    for (int it = 0; it < 120; it++) {
      int64_t M = rint_in(1, it < 60 ? 40 : 90), N = rint_in(1, it < 60 ? 40 : 150),
              K = rint_in(1, it < 60 ? 40 : 300);
      gemm_case(isa, M, N, K, it & 1, (it >> 1) & 1, (int)(rnd() % 3), it % 10 == 9);
    }
    for (int it = 0; it < 40; it++) conv_case(isa, 1 + it % 3, it % 4 == 1);
    printf("isa %d done\n", isa);
  }
  printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}

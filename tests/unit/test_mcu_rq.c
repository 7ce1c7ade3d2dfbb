/* test_mcu_rq.c - the MCU backend's integer requantization (be_mcu_split_mult at compile
 * time, mk_rq of backends/mcu/mcu_kern.c at run time) against the interpreter's own double
 * formula (effc_qrequant, runtime/kern/qgemm.c): random accumulators below 2^29, multipliers
 * from 2^-40 to 2^3 (shifts 1 to 54 and the all-zero-point case), zero points, int8 and uint8;
 * plus exact ties (x.5) and accumulators near the saturation edges. Must be bit-identical. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kern.h"
#include "mcu.h"

#define EFFC_MCU_ISA 0
#include "../../backends/mcu/mcu_kern.c"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static int failures, checks, wide;

static void check(int32_t acc, float mult, int32_t zp, int s) {
  int32_t m;
  int8_t sh;
  int64_t bound = acc < 0 ? -(int64_t)acc : acc;
  if (!be_mcu_split_mult(mult, bound, &m, &sh)) return; /* refused at compile time */
  double md = mult;
  int8_t ref8 = 0;
  uint8_t refu = 0;
  if (s) effc_qrequant(EFFC_ISA_SCALAR, &acc, 1, &md, 0, zp, EFFC_Q_S8, &ref8);
  else effc_qrequant(EFFC_ISA_SCALAR, &acc, 1, &md, 0, zp, EFFC_Q_U8, &refu);
  int32_t want = s ? ref8 : refu, got = mk_rq(acc, m, sh, zp, s);
  checks++;
  wide += sh > 45;
  if (got != want && failures++ < 20)
    printf("FAIL acc=%d mult=%a (m=%d sh=%d) zp=%d %s: got %d, want %d\n", acc, (double)mult, m,
           sh, zp, s ? "s8" : "u8", got, want);
}

int main(void) {
  for (int i = 0; i < 2000000; i++) {
    int s = rnd() & 1;
    int32_t zp = s ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
    float mult = ldexpf(1.0f + (float)(rnd() % (1u << 23)) / (float)(1u << 23), -(int)(rnd() % 44));
    int bits = 1 + (int)(rnd() % 29);
    int32_t acc = (int32_t)(rnd() % (1u << bits)) * ((rnd() & 1) ? -1 : 1);
    if (i % 4 == 0) acc = (int32_t)lrint(((double)(rnd() % 600) - 300.0) / mult); /* non-saturating */
    if (llabs((long long)acc) >= (1ll << 29)) continue;
    check(acc, mult, zp, s);
  }
  /* exact ties: acc * 2^-k = n + 0.5 */
  for (int k = 1; k < 20; k++)
    for (int32_t n = -300; n <= 300; n++) {
      int32_t acc = (int32_t)((2 * n + 1) * (1 << (k - 1)));
      check(acc, ldexpf(1.0f, -k), 0, 1);
      check(acc, ldexpf(1.0f, -k), 3, 0);
      check(-acc, ldexpf(1.0f, -k), 128, 0);
    }
  /* acc * mult = 0.5 + r * 2^-sh with sh > 45 (pairs found by factoring 2^(sh-1) + r): the
   * exact sum with a zero point has more than 53 bits, and the double addition rounds it to
   * a tie that the exact value is not */
  static const struct { int sh; int32_t m, acc; } near[] = {
      {47, 8392705, 8384513},   {47, 9506041, 7402529},   {48, 9010893, 15618595},
      {48, 9831833, 14314471},  {48, 8986713, 15660619},  {49, 12648641, 22253377},
      {49, 9612203, 29283087},  {49, 9103601, 30919081},  {49, 8716687, 32291509},
      {50, 11613247, 48474811}, {50, 9429683, 59699775},  {50, 9385509, 59980759}};
  int before = checks;
  for (size_t i = 0; i < sizeof near / sizeof near[0]; i++)
    for (int32_t zp = 0; zp < 256; zp++) {
      float mult = ldexpf((float)near[i].m, -near[i].sh);
      check(near[i].acc, mult, zp, 0);
      check(-near[i].acc, mult, zp - 128, 1);
      check(near[i].acc, mult, zp - 128, 1);
    }
  if (checks - before != 12 * 256 * 3) failures++, printf("FAIL near-tie cases refused\n");
  /* tiny multipliers (shift > 54): the zero point only, or refused */
  for (int i = 0; i < 1000; i++) check((int32_t)(rnd() % 1000), ldexpf(1.0f, -60 - (int)(rnd() % 20)), 7, 1);
  printf("%d checks (%d with shift > 45), %d failures\n", checks, wide, failures);
  return failures ? 1 : 0;
}

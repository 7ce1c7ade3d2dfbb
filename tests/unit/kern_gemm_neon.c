/* kern_gemm_neon.c - runtime/kern/gemm.c built as emitted code is (EFFC_KERN static, EFFC_ISA
 * fixed) for AArch64 NEON and checked by kern_gemm_check.h; cross_kern.sh builds it with
 * aarch64-linux-gnu-gcc and runs it under qemu-aarch64. Also checks the AVX2 layout, which
 * effc packs on other hosts, through the portable kernel. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define EFFC_KERN static __attribute__((unused))
#define EFFC_ISA 3
#include "kern.h"

#include "act.c"
#include "gemm.c"
#include "isa.c"

#define GEMM_CHECK_FAIL() exit(1)
#include "kern_gemm_check.h"

int main(void) {
  if (effc_host_isa() != EFFC_ISA_NEON) return 1;
  isas[n_isas++] = EFFC_ISA_NEON;
  isas[n_isas++] = EFFC_ISA_SCALAR;
  isas[n_isas++] = EFFC_ISA_AVX2;
  check_shapes();
  check_epilogues();
  printf("kern_gemm_neon: ok\n");
  return 0;
}

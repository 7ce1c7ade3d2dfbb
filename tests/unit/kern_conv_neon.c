/* kern_conv_neon.c - runtime/kern/conv.c and pool.c built as emitted code is (EFFC_KERN
 * static, EFFC_ISA fixed) for AArch64 NEON and checked by test_kern_conv.c's checks (NEON
 * and scalar); cross_kern.sh builds it with aarch64-linux-gnu-gcc and runs it under
 * qemu-aarch64. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define EFFC_KERN static __attribute__((unused))
#define EFFC_ISA 3
#include "kern.h"

#include "act.c"
#include "conv.c"
#include "gemm.c"
#include "isa.c"
#include "pool.c"

#define KERN_CHECK_MAIN 1
#include "test_kern_conv.c"

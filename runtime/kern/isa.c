/* isa.c - which instruction set the kernels run on. */
#include "kern.h"

#if defined(EFFC_KERN_RUNTIME) && defined(__x86_64__)
#include <stdlib.h>

/* The AVX-512 kernels are compiled and selectable with --target x86-64-avx512, but they have
 * not yet run on real hardware (the development machine is AVX2-only and QEMU has no
 * AVX-512), so automatic selection (the interpreter, `native`, the kernel tests) takes them
 * only when EFFC_AVX512=1 is set (docs/backends.md). Same rule in ir/target.c and
 * runtime/kern/isa.c. */
static int avx512_enabled(void) {
  const char *e = getenv("EFFC_AVX512");
  return e && e[0] == '1' && !e[1];
}
#endif

EFFC_KERN int effc_host_isa(void) {
#if !defined(EFFC_KERN_RUNTIME)
  return EFFC_ISA;
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma") &&
      avx512_enabled())
    return EFFC_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return EFFC_ISA_AVX2;
  return EFFC_ISA_SCALAR;
#elif defined(__aarch64__)
  return EFFC_ISA_NEON;
#else
  return EFFC_ISA_SCALAR;
#endif
}

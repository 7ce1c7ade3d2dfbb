/* isa.c - which instruction set the kernels run on. */
#include "kern.h"

EFFC_KERN int effc_host_isa(void) {
#if !defined(EFFC_KERN_RUNTIME)
  return EFFC_ISA;
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma"))
    return EFFC_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return EFFC_ISA_AVX2;
  return EFFC_ISA_SCALAR;
#elif defined(__aarch64__)
  return EFFC_ISA_NEON;
#else
  return EFFC_ISA_SCALAR;
#endif
}

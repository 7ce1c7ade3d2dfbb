/* target.c - the target table (targets.def) and host detection. */
#include <string.h>

#include "ir.h"

#include <stdlib.h>

#if defined(__x86_64__)
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

const Target ir_targets[] = {
#define TARGET(id, name, emitter, isa, triple, cpu, feat, cc, flash, sram, f32, i8, ghz, gbps,  \
               align, pipeline, summary)                                                      \
  {TARGET_##id, name,  #emitter, TISA_##isa, triple, cpu,   feat,     cc, flash, sram,          \
   f32,         i8,    ghz,      gbps,       align,  pipeline, summary},
#include "targets.def"
#undef TARGET
};
_Static_assert(sizeof ir_targets / sizeof ir_targets[0] == TARGET_COUNT, "targets.def rows");

const Target *ir_target_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < TARGET_COUNT; i++)
    if (!strcmp(ir_targets[i].name, name)) return &ir_targets[i];
  return NULL;
}

TargetIsa ir_host_isa(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma") &&
      avx512_enabled())
    return TISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return TISA_AVX2;
  return TISA_SCALAR;
#elif defined(__aarch64__)
  return TISA_NEON;
#else
  return TISA_SCALAR;
#endif
}

const Target *ir_target_resolve(const Target *t) {
  if (!t || t->id != TARGET_NATIVE) return t;
  switch (ir_host_isa()) {
  case TISA_AVX512: return &ir_targets[TARGET_X86_64_AVX512];
  case TISA_AVX2: return &ir_targets[TARGET_X86_64_AVX2];
  case TISA_NEON: return &ir_targets[TARGET_AARCH64];
  default: return &ir_targets[TARGET_GENERIC];
  }
}

const char *ir_isa_name(TargetIsa isa) {
  static const char *const names[] = {"scalar", "avx2", "avx512", "neon", "dsp", "mve", "none"};
  return (unsigned)isa < sizeof names / sizeof names[0] ? names[isa] : "?";
}

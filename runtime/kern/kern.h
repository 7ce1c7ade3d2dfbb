/* kern.h - the compute kernels shared by the interpreter's fast paths and by emitted code.
 *
 * Every file in runtime/kern/ is self-contained C11 that needs only this header, libc and
 * libm (no effc header, no allocation, no I/O), because the C backend copies the files a
 * model needs into its model.c. The same sources are built into effc's runtime library,
 * where the interpreter calls them and the backends call the packing functions at compile
 * time (weights are pre-packed into the layout the target's micro-kernels read).
 *
 * Two build modes:
 *  - runtime (EFFC_KERN_RUNTIME defined by runtime/meson.build): functions are extern,
 *    every x86 variant is compiled (SIMD functions carry __attribute__((target(...)))),
 *    and the variant is chosen per call from the `isa` argument the caller passes
 *    (effc_host_isa() for the interpreter, the target's ISA for compile-time packing).
 *  - emitted (the C backend defines EFFC_KERN static and EFFC_ISA before the sources):
 *    functions are static, only the target's variant is compiled, and `isa` arguments are
 *    the constant EFFC_ISA, so the compiler drops the other branches.
 *
 * Conventions for every kernel:
 *  - float32 tensors are dense row-major (NCHW for images unless a name says NCHWc);
 *  - work is split statically: a kernel receives (tid, nt) and computes only its share of
 *    independent outputs, never splitting a reduction, so results do not depend on nt;
 *    the caller runs it on every thread and waits at a barrier before the next node;
 *  - scratch memory is passed in by the caller, sized by the kernel's *_scratch function
 *    (bytes for all nt threads together);
 *  - names start with effc_ (the emitted code keeps them: they are static there). */
#ifndef EFFC_KERN_H
#define EFFC_KERN_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The instruction sets, numbered as ir.h's TargetIsa. */
/* Macros, not an enum: `#if EFFC_ISA == EFFC_ISA_AVX2` below must compare numbers (an enum
 * constant is 0 to the preprocessor, which made every target compile the AVX2 paths). */
#define EFFC_ISA_SCALAR 0
#define EFFC_ISA_AVX2 1
#define EFFC_ISA_AVX512 2
#define EFFC_ISA_NEON 3
#define EFFC_ISA_DSP 4
#define EFFC_ISA_MVE 5

#ifndef EFFC_KERN
#define EFFC_KERN /* extern in the runtime library */
#endif

/* Which variants this translation unit compiles. */
#if defined(EFFC_KERN_RUNTIME)
#if defined(__x86_64__)
#define EFFC_HAVE_AVX2 1
#define EFFC_HAVE_AVX512 1
#elif defined(__aarch64__)
#define EFFC_HAVE_NEON 1
#endif
#else /* emitted code: exactly the target's ISA */
#if EFFC_ISA == EFFC_ISA_AVX2
#define EFFC_HAVE_AVX2 1
#elif EFFC_ISA == EFFC_ISA_AVX512
#define EFFC_HAVE_AVX2 1 /* AVX-512 targets also run the AVX2 code paths */
#define EFFC_HAVE_AVX512 1
#elif EFFC_ISA == EFFC_ISA_NEON
#define EFFC_HAVE_NEON 1
#endif
#endif

#if defined(EFFC_HAVE_AVX2) || defined(EFFC_HAVE_AVX512)
#include <immintrin.h>
#define EFFC_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define EFFC_TARGET_AVX512                                                                   \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c")))
#endif
#if defined(EFFC_HAVE_NEON)
#include <arm_neon.h>
#endif

/* The ISA the runtime library runs on (cpuid; same rule as ir_host_isa). */
EFFC_KERN int effc_host_isa(void);

/* Epilogue activations fused into Conv/Gemm/MatMul outputs: y = act(acc + bias [+ residual]).
 * Parameters alpha/beta as ONNX defines them for the op named. */
typedef enum {
  EFFC_ACT_NONE = 0,
  EFFC_ACT_RELU,
  EFFC_ACT_LEAKY_RELU, /* alpha */
  EFFC_ACT_CLIP,       /* min = alpha, max = beta (Relu6 is Clip(0, 6)) */
  EFFC_ACT_SIGMOID,
  EFFC_ACT_TANH,
  EFFC_ACT_HARD_SIGMOID, /* alpha, beta */
  EFFC_ACT_HARD_SWISH,
  EFFC_ACT_SILU,         /* x * sigmoid(x) */
  EFFC_ACT_GELU          /* erf form */
} EffcAct;

typedef struct EffcEpilogue {
  EffcAct act;
  float alpha, beta;
  const float *bias;     /* per output channel (Conv) or per column (Gemm), or NULL */
  const float *residual; /* same shape as the output, added before act, or NULL */
} EffcEpilogue;

/* Apply an epilogue to n values of one channel (bias value b) in place; scalar reference
 * used by every kernel's tail and by the interpreter (kern/act.c). */
EFFC_KERN void effc_act_apply(float *y, const float *res, size_t n, float b, const EffcEpilogue *e);

/* ------------------------------------------------------------------ ew.c */
/* x ** y in wrapping 64-bit integers (is_unsigned: uint64 semantics). */
EFFC_KERN int64_t effc_ipow(int64_t x, int64_t y, int is_unsigned);
/* numpy's float -> integer conversion (truncation; NaN and out of range give
 * 0x8000000000000000), as bits for the caller to wrap to the target width. */
EFFC_KERN uint64_t effc_f2i(double x, int to_u64);
/* float16 bits -> float (exact); double -> float16 bits (nearest even, overflow to inf). */
EFFC_KERN float effc_f16_to_f32(uint16_t h);
EFFC_KERN uint16_t effc_f64_to_f16(double x);

/* ------------------------------------------------------------------ remap.c */
enum { EFFC_PAD_CONSTANT, EFFC_PAD_REFLECT, EFFC_PAD_EDGE, EFFC_PAD_WRAP };
/* Source position of padded position s (s = output index - leading pad) in a dimension
 * of m kept elements, or -1 where constant padding fills. m > 0 unless mode is constant. */
EFFC_KERN int64_t effc_pad_src(int64_t s, int64_t m, int mode);
/* ONNX Slice on one dimension: the element count, and the first index in *first. step
 * must not be 0. */
EFFC_KERN int64_t effc_slice_range(int64_t dim, int64_t start, int64_t end, int64_t step,
                                   int64_t *first);
/* Index sets of a reduction whose axes arrive at run time: dims (row-major) and element
 * strides of n dims, and their element count. */
#define EFFC_MAX_RANK 16
typedef struct EffcWalk {
  int n;
  int64_t dims[EFFC_MAX_RANK], st[EFFC_MAX_RANK], count;
} EffcWalk;
/* Offset of element k of a walk of n dims. */
EFFC_KERN int64_t effc_walk_offset(int64_t k, int n, const int64_t *dims, const int64_t *st);
/* ONNX reduction axes (negative from the end; none = all unless noop) split a tensor's dims
 * into the groups (kept dims, the output's order) and members (reduced dims); -1 when an
 * axis is out of range or the rank above EFFC_MAX_RANK. */
EFFC_KERN int effc_reduce_split(int rank, const int64_t *dims, const int64_t *axes, int n_axes,
                                int noop, EffcWalk *groups, EffcWalk *members);

#endif

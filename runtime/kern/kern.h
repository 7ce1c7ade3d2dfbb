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
 *  - float32 tensors are dense row-major (NCHW for images unless a name says nhwc: channels last);
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
  int bias_rows;         /* GEMM: bias[i] per row i (Conv's channels as GEMM rows) instead of
                            bias[j] per column j; zero-initialized means per column */
} EffcEpilogue;

/* Apply an epilogue to n values of one channel (bias value b) in place; scalar reference
 * used by every kernel's tail and by the interpreter (kern/act.c):
 * y[i] = act(y[i] + b + res[i]) (res may be NULL). */
EFFC_KERN void effc_act_apply(float *y, const float *res, size_t n, float b, const EffcEpilogue *e);
/* The activation alone on one value (e->act with e->alpha, e->beta). */
EFFC_KERN float effc_act1(float x, const EffcEpilogue *e);
/* y[i] = sigmoid(x[i]), i < n, vectorized (AVX2) within a few ulp; y may be x. */
EFFC_KERN void effc_sigmoid_f32(int isa, const float *x, float *y, int64_t n);

/* fp32 GEMM (kern/gemm.c; the full contract is in its header comment):
 * C[i,j] = act(alpha * sum_k A(i,k) B(k,j) + residual[i*ldc+j] + bias), A(i,k) = A[i*lda+k]
 * (trans_a: A[k*lda+i]), B(k,j) = B[k*ldb+j] (trans_b: B[j*ldb+k]); ep may be NULL. */
EFFC_KERN size_t effc_sgemm_scratch(int isa, int64_t M, int64_t N, int64_t K, int packed_b,
                                    int nt);
EFFC_KERN void effc_sgemm(int isa, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                          int64_t lda, int trans_a, const float *B, int64_t ldb, int trans_b,
                          float *C, int64_t ldc, const EffcEpilogue *ep, void *scratch, int tid,
                          int nt);
EFFC_KERN size_t effc_sgemm_pack_b_size(int isa, int64_t K, int64_t N);
EFFC_KERN void effc_sgemm_pack_b(int isa, int64_t K, int64_t N, const float *B, int64_t ldb,
                                 int trans_b, float *packed);
EFFC_KERN void effc_sgemm_packed(int isa, int64_t M, int64_t N, int64_t K, float alpha,
                                 const float *A, int64_t lda, int trans_a, const float *Bp,
                                 float *C, int64_t ldc, const EffcEpilogue *ep, void *scratch,
                                 int tid, int nt);

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

/* conv.c: 2-D float32 convolution, NCHW: weights packed once (at compile time in emitted
 * code), scratch of effc_conv2d_scratch bytes, epilogue fused. */
/* Geometry of one 2-D convolution (for ConvTranspose, H x W is the input grid and OH x OW the
 * output image; output y = i*s - pad + k*dil). 1-D convolutions use H = 1. */
typedef struct EffcConv2d {
  int64_t N, C, H, W;     /* batch, input channels, input image */
  int64_t M, OH, OW;      /* output channels and image */
  int64_t KH, KW, SH, SW; /* kernel and strides */
  int64_t DH, DW, PT, PL; /* dilations, top and left pads */
  int64_t G;              /* groups */
} EffcConv2d;

/* The methods (effc_conv2d_algo picks one per shape). */
typedef enum {
  EFFC_CONV_GEMM = 0,
  EFFC_CONV_IM2COL,
  EFFC_CONV_DEPTHWISE,
  EFFC_CONV_WINOGRAD /* 3x3 stride 1: F(2x2, 3x3) */
} EffcConvAlgo;

EFFC_KERN int effc_conv2d_algo(const EffcConv2d *p);
EFFC_KERN size_t effc_conv2d_packed_size(const EffcConv2d *p, int isa);
EFFC_KERN size_t effc_conv2d_pack_tmp(const EffcConv2d *p);
EFFC_KERN void effc_conv2d_pack(const EffcConv2d *p, int isa, const float *w, float *packed,
                                void *tmp);
EFFC_KERN size_t effc_conv2d_scratch(const EffcConv2d *p, int isa, int nt);
EFFC_KERN void effc_conv2d(const EffcConv2d *p, int isa, const float *x, const float *packed,
                           float *y, const EffcEpilogue *e, void *scratch, int tid, int nt);
/* ConvTranspose: w is [C, M/G, KH, KW]. */
EFFC_KERN size_t effc_convt2d_packed_size(const EffcConv2d *p);
EFFC_KERN void effc_convt2d_pack(const EffcConv2d *p, const float *w, float *packed);
EFFC_KERN size_t effc_convt2d_scratch(const EffcConv2d *p, int isa, int nt);
EFFC_KERN void effc_convt2d(const EffcConv2d *p, int isa, const float *x, const float *packed,
                            float *y, const EffcEpilogue *e, void *scratch, int tid, int nt);

/* Output positions per im2col tile (conv.c's and sparse.c's panels). */
#define EFFC_CONV_NT 256
/* The im2col tile of output positions [p0, p0 + np) (np <= EFFC_CONV_NT) of image xn (one
 * group): col[k * EFFC_CONV_NT + j] = the input tap k reads at position p0 + j, or 0. */
EFFC_KERN void effc_conv2d_im2col(const EffcConv2d *p, const float *xn, int64_t p0, int64_t np,
                                  float *col);
/* nhwc.c: the same convolution on channels-last images, x[N, H, W, C] -> y[N, OH, OW, M]
 * (nodes marked `__effc_layout: string = "NHWC"` by passes/layout.c): group 1 (GEMM on the
 * input for 1x1 stride 1, else im2col tiles + GEMM) or depthwise (group = C = M, direct,
 * vectorized over channels). The epilogue's bias is per output channel, its residual NHWC. */
EFFC_KERN int effc_conv2d_nhwc_ok(const EffcConv2d *p);
EFFC_KERN size_t effc_conv2d_nhwc_packed_size(const EffcConv2d *p, int isa);
EFFC_KERN size_t effc_conv2d_nhwc_pack_tmp(const EffcConv2d *p);
EFFC_KERN void effc_conv2d_nhwc_pack(const EffcConv2d *p, int isa, const float *w,
                                     float *packed, void *tmp);
EFFC_KERN size_t effc_conv2d_nhwc_scratch(const EffcConv2d *p, int isa, int nt);
EFFC_KERN void effc_conv2d_nhwc(const EffcConv2d *p, int isa, const float *x, const float *packed,
                                float *y, const EffcEpilogue *e, void *scratch, int tid, int nt);

/* pool.c: float32 NCHW pooling. The caller computes OH, OW (ceil_mode, auto_pad). */
typedef struct EffcPool2d {
  int64_t NC, H, W, OH, OW;        /* planes (N*C), input and output image */
  int64_t KH, KW, SH, SW, DH, DW;  /* window, strides, dilations */
  int64_t PT, PL, PB, PR;          /* pads: top, left, bottom, right */
  int count_include_pad;           /* AveragePool: divide by the padded window size */
} EffcPool2d;
EFFC_KERN void effc_maxpool2d(const EffcPool2d *p, int isa, const float *x, float *y, int tid,
                              int nt);
EFFC_KERN void effc_avgpool2d(const EffcPool2d *p, int isa, const float *x, float *y, int tid,
                              int nt);
/* GlobalMaxPool (max != 0) or GlobalAveragePool over planes of n values. */
EFFC_KERN void effc_global_pool(int max, int isa, int64_t planes, int64_t n, const float *x,
                                float *y, int tid, int nt);

/* ------------------------------------------------------------------ kern/sparse.c
 * Sparse constant weights times dense activations (fp32): Y(m, p) = sum_k W(m, k) B(k, p)
 * with W (M outputs x K) packed at compile time in a compressed format that skips the zeros.
 * W(m, k) is read from w[m * rs + k * cs] and scaled by alpha while packing. */
enum { EFFC_SPARSE_CSR = 1, /* per row: nonzero values + uint16 k indices (K <= 65535) */
       EFFC_SPARSE_24 = 2   /* <= 2 nonzeros per 4 consecutive k: K/2 values + 2-bit indices */
};
/* Fewer columns than this run one dot product per output (Gemm with a small batch). */
#define EFFC_SPARSE_MIN_COLS 8
/* Whether W fits the 2:4 format (K a multiple of 8, at most 2 nonzeros in each group of 4). */
EFFC_KERN int effc_sparse_fits_24(int64_t M, int64_t K, const float *w, int64_t rs, int64_t cs);
EFFC_KERN size_t effc_sparse_pack_size(int fmt, int64_t M, int64_t K, const float *w, int64_t rs,
                                       int64_t cs);
EFFC_KERN void effc_sparse_pack(int fmt, int64_t M, int64_t K, const float *w, int64_t rs,
                                int64_t cs, float alpha, void *packed);
/* The dense side and the output: B(k, p) = b[k * b_rs + p * b_cs] for p < P,
 * Y(m, p) = y[m * y_rs + p * y_cs]. Epilogue (may be NULL): bias per m (per p with
 * bias_rows), residual laid out as y. Gemm y = x W: m = Gemm's column, p = its row. */
typedef struct EffcSpmm {
  int64_t P;
  const float *b;
  int64_t b_rs, b_cs;
  float *y;
  int64_t y_rs, y_cs;
} EffcSpmm;
EFFC_KERN size_t effc_spmm_scratch(const void *packed, const EffcSpmm *s, int nt);
EFFC_KERN void effc_spmm(int isa, const void *packed, const EffcSpmm *s, const EffcEpilogue *e,
                         void *scratch, int tid, int nt);
/* Conv with W [M, C*KH*KW] packed as above (alpha 1): one group, not depthwise (the bias of
 * the epilogue is per output channel). */
EFFC_KERN int effc_spconv2d_ok(const EffcConv2d *p);
EFFC_KERN size_t effc_spconv2d_scratch(const EffcConv2d *p, const void *packed, int nt);
EFFC_KERN void effc_spconv2d(const EffcConv2d *p, int isa, const float *x, const void *packed,
                             float *y, const EffcEpilogue *e, void *scratch, int tid, int nt);
/* Channels-last (NHWC) pools: p->NC is the batch N, C the channels; x[N, H, W, C] ->
 * y[N, OH, OW, C] (global: y[N, C]); same values as the NCHW kernels. */
EFFC_KERN void effc_pool2d_nhwc(int max, const EffcPool2d *p, int64_t C, const float *x, float *y,
                                int tid, int nt);
EFFC_KERN void effc_global_pool_nhwc(int max, int64_t N, int64_t P, int64_t C, const float *x,
                                     float *y, int tid, int nt);

/* ------------------------------------------------------------------ kern/qgemm.c
 * Integer GEMM and convolution on 8-bit operands (uint8 or int8 on either side), exact:
 * products accumulate in int32 wrapping arithmetic (the interpreter's int64 sum truncated
 * to 32 bits), zero points are applied through row and column sums. Every ISA computes the
 * same integers; the requantization to 8 bits is the interpreter's formula
 * round_half_even((double)acc * mult + zp) saturated, evaluated in double without fused
 * multiply-add, so outputs are bit-identical on every ISA and thread count. */

/* Output element types of the integer kernels. */
enum { EFFC_Q_I32 = 0, EFFC_Q_U8 = 1, EFFC_Q_S8 = 2 };

/* B (K x N, the constant side) is packed once into a layout shared by every ISA: per panel
 * of 16 columns, k in groups of four, int8 (uint8 values are offset by -128), preceded by
 * the adjusted zero points and column sums. Element (k, n) of b is b[k * rs + n * cs]; the
 * zero point of column n is zb[n * zb_stride] (zb NULL: 0). */
EFFC_KERN size_t effc_qgemm_packb_size(int64_t K, int64_t N);
EFFC_KERN void effc_qgemm_packb(int64_t K, int64_t N, const void *b, int b_signed, int64_t rs,
                                int64_t cs, const int32_t *zb, int64_t zb_stride, void *packed);

/* Fills rows [m0, m0 + rows) of A as raw bytes, row after row (K bytes each). */
typedef void (*EffcQgather)(const void *ctx, int64_t m0, int64_t rows, uint8_t *dst);

typedef struct EffcQgemm {
  int64_t M, N, K;
  const void *a; /* A[m, k] at a[m * a_rs + k * a_cs], or rows produced by gather */
  int a_signed;
  int64_t a_rs, a_cs;
  EffcQgather gather;
  const void *gather_ctx;
  const int32_t *za; /* zero point of row m: za[m * za_stride] (NULL: 0) */
  int64_t za_stride;
  const void *bp;       /* effc_qgemm_packb */
  const int32_t *bias;  /* added to column n, or NULL */
  void *y;              /* element (m, n) at y[m * y_rs + n * y_cs] */
  int64_t y_rs, y_cs;
  int y_type;           /* EFFC_Q_*; for 8-bit outputs: */
  const double *mult;   /* multiplier of (m, n): mult[m * mult_rs + n] */
  int64_t mult_rs;
  const double *yzp;    /* output zero point of row m: yzp[m * yzp_stride] */
  int64_t yzp_stride;
} EffcQgemm;

EFFC_KERN size_t effc_qgemm_scratch(int isa, const EffcQgemm *p, int nt);
EFFC_KERN void effc_qgemm(int isa, const EffcQgemm *p, void *scratch, int tid, int nt);

/* Requantize n accumulators: out[i] = sat(round_half_even((double)acc[i] * mult[i * mult_cs]
 * + zp)) (NaN gives the type's minimum), out contiguous of type y_type (U8 or S8). */
EFFC_KERN void effc_qrequant(int isa, const int32_t *acc, int64_t n, const double *mult,
                             int64_t mult_cs, double zp, int y_type, void *out);
/* The combined scale of QLinearConv / QLinearMatMul with float scales: (a * b) / y in float. */
EFFC_KERN float effc_qmult_f32(float a_scale, float b_scale, float y_scale);

/* Integer convolution, NCHW with 1 to 3 spatial dims (unused dims: size 1, stride 1, pad 0):
 * acc = bias[m] + sum (x - xz) * (w - wz[m]) over the group's channels and the window
 * (padding contributes nothing), stored as int32 or requantized with mult[m] and yzp.
 * Depthwise shapes (one input channel per group) run a direct kernel, the others im2col
 * (or the input itself for 1x1) and effc_qgemm. The weights are packed by effc_qconv_pack. */
typedef struct EffcQconv {
  int64_t N, C, M, G;
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
  const void *x;
  int x_signed;
  int32_t xz;
  const void *wp;
  const int32_t *bias;
  void *y;
  int y_type;
  const double *mult; /* per output channel */
  double yzp;
} EffcQconv;

EFFC_KERN size_t effc_qconv_pack_size(const EffcQconv *p);
/* w: M x (C/G) x k0 x k1 x k2 raw bytes; wz[m * wz_stride] its zero points (NULL: 0). */
EFFC_KERN void effc_qconv_pack(const EffcQconv *p, const void *w, int w_signed, const int32_t *wz,
                               int64_t wz_stride, void *packed);
EFFC_KERN size_t effc_qconv_scratch(int isa, const EffcQconv *p, int nt);
EFFC_KERN void effc_qconv(int isa, const EffcQconv *p, void *scratch, int tid, int nt);

/* ------------------------------------------------------------------ kern/qlinear.c
 * com.microsoft QLinearAdd / QLinearMul / QLinearGlobalAveragePool / QLinearConcat and
 * 8-bit MaxPool. Multipliers are float32 (computed by the functions below, as ONNX Runtime
 * folds its scales), the arithmetic is exact integers then one double product per term:
 *   Add: y = sat(rhe((double)(a - za) * ma + (double)(b - zb) * mb + zy)),
 *        ma = a_scale / y_scale, mb = b_scale / y_scale (effc_qratio_f32);
 *   Mul: y = sat(rhe((double)((a - za) * (b - zb)) * m + zy)), m = effc_qmult_f32(a, b, y);
 *   GlobalAveragePool: y = sat(rhe((double)sum(x - xz) * m + yz)), m = effc_qgap_mult_f32;
 *   Concat: y = sat(rhe((double)(x - xz) * (x_scale / y_scale) + yz)), a copy when the
 *        type, scale and zero point agree. */
EFFC_KERN float effc_qratio_f32(float a_scale, float y_scale);
EFFC_KERN float effc_qgap_mult_f32(float x_scale, float y_scale, int64_t n);

enum { EFFC_QBIN_ADD = 0, EFFC_QBIN_MUL = 1, EFFC_QBIN_MAXR = 8 };
/* Broadcast binary op: output dims[rank] (row-major), element strides sa / sb of a and b on
 * each output dim (0 where broadcast). */
typedef struct EffcQbin {
  int op, rank;
  int64_t dims[EFFC_QBIN_MAXR], sa[EFFC_QBIN_MAXR], sb[EFFC_QBIN_MAXR];
  const void *a, *b;
  void *y;
  int a_type, b_type, y_type; /* EFFC_Q_U8 / EFFC_Q_S8 */
  int32_t za, zb;
  double ma, mb, zy;
} EffcQbin;
/* Output elements [i0, i1). */
EFFC_KERN void effc_qbinary(const EffcQbin *p, int64_t i0, int64_t i1);
/* Planes [p0, p1) of N*C planes of n values (NCHW, or NHWC with channels_last). */
EFFC_KERN void effc_qgavgpool(const void *x, int x_type, int64_t N, int64_t C, int64_t n,
                              int channels_last, int32_t xz, double mult, double yz, int y_type,
                              void *y, int64_t p0, int64_t p1);
/* Rows [o0, o1) of one Concat input: len elements of row o to y + o * y_len + y_off. */
EFFC_KERN void effc_qconcat_part(const void *x, int x_type, int64_t len, int32_t xz, double mult,
                                 void *y, int y_type, int64_t y_len, int64_t y_off, double yz,
                                 int64_t o0, int64_t o1);
/* MaxPool on uint8 (x_signed 0) or int8 planes; padding never wins. */
EFFC_KERN void effc_maxpool2d_q8(const EffcPool2d *p, int x_signed, const void *x, void *y,
                                 int tid, int nt);

/* ------------------------------------------------------------------ kern/quant.c
 * Elements [i0, i1) of a float32 tensor viewed as [outer][C][inner] (C = 1: per tensor),
 * with scale[c] and zero point zp[c] (zp NULL: 0; of type zp_type, EFFC_Q_*, for quantize and
 * x's type for dequantize). */
/* y = saturate(round_half_even(x / scale) + zp), the division in float. */
EFFC_KERN void effc_quantize_f32(const float *x, int64_t i0, int64_t i1, int64_t inner, int64_t C,
                                 const float *scale, const void *zp, int zp_type, int y_type, void *y);
/* y = (float)(x - zp) * scale; x of type EFFC_Q_U8, EFFC_Q_S8 or EFFC_Q_I32. */
EFFC_KERN void effc_dequantize_f32(const void *x, int x_type, int64_t i0, int64_t i1, int64_t inner,
                                   int64_t C, const float *scale, const void *zp, float *y);
/* DynamicQuantizeLinear's uint8 scale and zero point of n values (then effc_quantize_f32). */
EFFC_KERN void effc_dynquant_params(const float *x, int64_t n, float *scale, uint8_t *zp);

/* ------------------------------------------------------------------ kern/nbits.c
 * Weight-only block-quantized matrix product, ONNX Runtime's com.microsoft MatMulNBits:
 * Y[m, n] = sum_k A[m, k] * Bq(n, k) + bias[n], Bq(n, k) = (q(n, k) - zp(n, g)) * scale(n, g)
 * with g = k / block (or g_idx[k]). B is [N][kb][block * bits / 8] bytes (kb = ceil(K / block)),
 * codes packed low bits first along k; scales [N][kb]; zero points either packed codes
 * ([N][ceil(kb * bits / 8)] bytes, low bits first), or floats [N][kb], or absent
 * (2^(bits-1)). bits is 2, 4 or 8. A tile of 16 columns of B is dequantized on the fly into
 * scratch and multiplied with A, 4 rows at a time (AVX2, NEON or portable C); each output sums
 * k in order. */
typedef struct EffcNbits {
  int64_t M, N, K, bits, block;
  const uint8_t *b;
  const float *scales;
  const uint8_t *zp_packed; /* or NULL */
  const float *zp_float;    /* or NULL */
  const int32_t *g_idx;     /* [K] block of each k, or NULL */
  const float *bias;        /* [N] or NULL */
} EffcNbits;
/* Checks the attributes and the element counts of the inputs (-1: input absent; zp_float:
 * the zero points are floats, not packed codes): NULL, or what is wrong. Shared by the
 * interpreter and the C backend. */
EFFC_KERN const char *effc_nbits_check(int64_t K, int64_t N, int64_t bits, int64_t block,
                                       int64_t n_b, int64_t n_scales, int64_t n_zp, int zp_float,
                                       int64_t n_gidx, int64_t n_bias);
/* B's row n dequantized: w[k] for k in [0, K). */
EFFC_KERN void effc_nbits_dequant_row(const EffcNbits *p, int64_t n, float *w);
EFFC_KERN size_t effc_nbits_scratch(const EffcNbits *p, int nt);
EFFC_KERN void effc_matmul_nbits(int isa, const EffcNbits *p, const float *A, float *Y,
                                 void *scratch, int tid, int nt);

#endif

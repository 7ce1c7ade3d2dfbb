/* llvm.h - the LLVM backend: a planned model lowered to LLVM IR through the LLVM-C API
 * (lower.c: the module, the run function, loops and buffers; op_*.c: one node's loops each,
 * through the tables below), optimized with the new pass manager and either JIT-run
 * (jit.c) or written as an object file (emit.c).
 *
 * The module defines, for prefix P:
 *   P_ctx *P_create(void)   malloc's the context and the arena (P_ARENA_BYTES + alignment)
 *   int P_run(P_ctx *c, const T *in0, ..., T *out0, ...)   graph order, 0 = ok
 *   void P_destroy(P_ctx *c)
 * Weights are constant globals; every intermediate lives in the arena at the offset the
 * memory planner recorded (`__effc_offset`, read with be_offset). Loops have static trip
 * counts; inner loops carry `llvm.loop.vectorize.enable` so that float reductions vectorize
 * (LLVM 16's C API has no fast-math flags); GEMM micro-kernels use explicit vector types
 * and llvm.fmuladd. */
#ifndef EFFC_BE_LLVM_H
#define EFFC_BE_LLVM_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "backends.h"

#define LG_MAX_RANK 8

typedef struct LGen LGen;

/* One row per operator family the backend lowers (FAMILY as in ir/ops.def). `check`
 * validates the node (attributes, types, constant inputs) without writing IR and returns
 * 0, or -1 after lg_unsupported; `emit` writes its loops into the run function. */
typedef struct LgOp {
  const char *family;
  int (*check)(LGen *g, const Node *n);
  void (*emit)(LGen *g, const Node *n);
} LgOp;

extern const LgOp lg_ops_elementwise[], lg_ops_linalg[], lg_ops_conv[], lg_ops_norm[],
    lg_ops_shape[];

struct LGen {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMValueRef fn;       /* the run function being built */
  LLVMBasicBlockRef entry;
  LLVMTypeRef f32, f64, i1, i8, i16, i32, i64, ptr, vf32; /* vf32 = <vw x float> */
  int vw;                /* float lanes of the target's vectors (1: no SIMD) */
  const Model *m;
  Diag *d;
  const char *prefix;
  LLVMValueRef *vptr;    /* by Value id: a pointer to the value's data, or NULL */
  uint32_t n_ids;
  int unsupported;       /* nodes reported */
  int n_globals;         /* for fresh global names */
  unsigned md_loop;      /* "llvm.loop" kind */
};

/* ------------------------------------------------------------------ lower.c */
/* Build the module for m (prefix names the symbols); vw is the target's float vector
 * width, ptr_bits its pointer (size_t) width; avx2_check makes P_create return NULL on an
 * x86 CPU without AVX2 and FMA. Every node that cannot be lowered is reported
 * (all at once) and NULL returned. */
LLVMModuleRef lg_build(const Model *m, LLVMContextRef ctx, const char *prefix, int vw,
                       int ptr_bits, bool avx2_check, uint64_t *arena_bytes,
                       uint64_t *weight_bytes, Diag *d);
/* Target machine for a triple ("" = host; normalized first), cpu and features. NULL after
 * reporting. */
LLVMTargetMachineRef lg_target_machine(const char *triple, const char *cpu, const char *features,
                                       Diag *d);
/* Set the module's data layout and triple from tm and run "default<O3>" with loop and SLP
 * vectorization. 0, or -1 after reporting. */
int lg_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, Diag *d);
void lg_init_targets(void);

/* The node cannot be lowered: reports "node 'n' (domain Op-since): reason"; returns -1. */
int lg_unsupported(LGen *g, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Static facts about values (every value is static once lg_build accepts the model). */
int lg_rank(const Value *v);
int64_t lg_dim(const Value *v, int i);
int64_t lg_numel(const Value *v);
ElemType lg_elem(const Value *v);
/* v has a fully known tensor type with rank <= LG_MAX_RANK. */
bool lg_static(const Value *v);
/* v's constant data (an initializer no graph input overrides), else NULL. */
const Tensor *lg_const(const Value *v);
/* A constant integer list input (int32/int64, rank 0 or 1); false if not constant. */
bool lg_const_ints(const Value *v, int64_t *out, int max, int *n);
/* A constant scalar of any numeric type as a double. */
bool lg_const_scalar(const Value *v, double *out);
/* The LLVM type of an element type's scalar (NULL: not supported in compute). */
LLVMTypeRef lg_type(LGen *g, ElemType t);
bool lg_elem_float(ElemType t);

/* Buffers: a pointer to v's data (a run() parameter, a global, or arena + offset); NULL for
 * a missing optional value or an unused output. */
LLVMValueRef lg_ptr(LGen *g, const Value *v);
/* A new constant global holding bytes (aligned to 64); returns its pointer. */
LLVMValueRef lg_global(LGen *g, const char *base, const void *data, size_t nbytes);

/* IR helpers. */
LLVMValueRef lg_i64(LGen *g, int64_t x);
LLVMValueRef lg_f32c(LGen *g, double x);
/* A constant of element type t (scalar) with value x. */
LLVMValueRef lg_const_of(LGen *g, ElemType t, double x);
LLVMValueRef lg_gep(LGen *g, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef idx);
LLVMValueRef lg_load(LGen *g, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef idx);
void lg_store(LGen *g, LLVMValueRef x, LLVMValueRef base, LLVMValueRef idx);
/* Vector load/store of vf32 at base[idx] (element alignment). */
LLVMValueRef lg_vload(LGen *g, LLVMValueRef base, LLVMValueRef idx);
void lg_vstore(LGen *g, LLVMValueRef x, LLVMValueRef base, LLVMValueRef idx);
LLVMValueRef lg_splat(LGen *g, LLVMValueRef x, int lanes);
/* A stack slot in the entry block (promoted to registers by SROA). */
LLVMValueRef lg_alloca(LGen *g, LLVMTypeRef t);
/* Call an overloaded intrinsic ("llvm.fmuladd") on type t, or a libm function (scalar
 * float; vectors are mapped lane by lane). */
LLVMValueRef lg_intrin(LGen *g, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n);
LLVMValueRef lg_libm(LGen *g, const char *name, LLVMValueRef x);
LLVMValueRef lg_libm2(LGen *g, const char *name, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef lg_fmuladd(LGen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
/* NaN-propagating max/min (ONNX's reference), on float scalars or vectors. */
LLVMValueRef lg_fmax(LGen *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef lg_fmin(LGen *g, LLVMValueRef a, LLVMValueRef b);
void lg_memmove(LGen *g, LLVMValueRef dst, LLVMValueRef src, uint64_t bytes);

/* Counted loops: for (iv = lo; iv < hi; iv += step). `inner` marks a loop the vectorizer
 * should take (vectorize.enable metadata, which also allows reordering reductions). */
typedef struct LgLoop {
  LLVMBasicBlockRef head, body, exit;
  LLVMValueRef iv, phi;
  int64_t step;
  bool inner;
} LgLoop;
LLVMValueRef lg_loop(LGen *g, LgLoop *l, LLVMValueRef lo, LLVMValueRef hi, int64_t step,
                     bool inner);
void lg_loop_end(LGen *g, LgLoop *l);
/* if (cond) { ... }: lg_if opens, lg_endif closes. */
LLVMBasicBlockRef lg_if(LGen *g, LLVMValueRef cond);
void lg_endif(LGen *g, LLVMBasicBlockRef after);

/* Nested loops over a static shape: ivs[i] receives each index. lg_nest_end closes all. */
typedef struct LgNest {
  int rank;
  LgLoop l[LG_MAX_RANK];
} LgNest;
void lg_nest(LGen *g, LgNest *ln, int rank, const int64_t *dims, LLVMValueRef *ivs);
void lg_nest_end(LGen *g, LgNest *ln);
/* sum ivs[i] * strides[i] (+ base) as an i64 value; strides 0 are skipped. */
LLVMValueRef lg_linear(LGen *g, int rank, LLVMValueRef *ivs, const int64_t *strides,
                       int64_t base);

/* Row-major strides of dims; broadcast strides of an input of shape in[] (rank in_rank,
 * right-aligned) against an output of rank `rank` (0 on broadcast dims). */
void lg_strides(int rank, const int64_t *dims, int64_t *strides);
void lg_bcast_strides(int rank, const int64_t *out_dims, int in_rank, const int64_t *in_dims,
                      int64_t *strides);
void lg_dims(const Value *v, int64_t *dims);

/* Copy a strided region: for every index of dims (rank), dst[dst_off + sum i*dst_st] =
 * src[src_off + sum i*src_st], elements of `bytes` each (as integers of that size). */
void lg_copy_strided(LGen *g, int bytes, LLVMValueRef dst, int64_t dst_off,
                     const int64_t *dst_st, LLVMValueRef src, int64_t src_off,
                     const int64_t *src_st, int rank, const int64_t *dims);

/* ------------------------------------------------------------------ op_elementwise.c */
/* An activation by name (Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid; FusedConv and
 * FusedGemm's `activation`) applied to a float scalar or vector; p = its parameters. */
bool lg_activation_known(const char *name);
LLVMValueRef lg_activation(LGen *g, const char *name, const float *p, int np, LLVMValueRef x);

/* ------------------------------------------------------------------ op_linalg.c */
/* C[M,N] (+)= A[M,K] * B[K,N] with element strides (A: sa_m, sa_k; B row stride ldb,
 * contiguous columns unless b_col_stride != 1; C row stride ldc), at the given base
 * indices (i64 values). epi (may be NULL) maps each finished row chunk (float scalar or
 * vector, columns j..) to its stored value. */
typedef struct LgEpilogue {
  LLVMValueRef (*fn)(LGen *g, const struct LgEpilogue *e, LLVMValueRef acc, LLVMValueRef i,
                     LLVMValueRef j, int lanes);
  const void *arg;
} LgEpilogue;
void lg_gemm(LGen *g, int64_t M, int64_t N, int64_t K, LLVMValueRef A, LLVMValueRef a_off,
             int64_t sa_m, int64_t sa_k, LLVMValueRef B, LLVMValueRef b_off, int64_t ldb,
             int64_t b_col_stride, LLVMValueRef C, LLVMValueRef c_off, int64_t ldc,
             const LgEpilogue *epi);

#endif

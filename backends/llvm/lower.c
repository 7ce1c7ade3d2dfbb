/* lower.c - the LLVM backend's core: checks every node against the operator tables (all
 * unsupported nodes reported at once), builds P_create / P_run / P_destroy, maps every
 * value to its buffer (parameter, constant global or arena offset), and holds the IR
 * helpers the op_*.c files share (loops, loads, intrinsics, strided copies). */
#include "llvm.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/DebugInfo.h>
#include <stdlib.h>
#include <string.h>

static const LgOp *const lg_op_tables[] = {lg_ops_elementwise, lg_ops_linalg, lg_ops_conv,
                                           lg_ops_norm, lg_ops_shape};

static const LgOp *find_op(const Node *n) {
  if (!n->op) return NULL;
  for (size_t t = 0; t < sizeof lg_op_tables / sizeof lg_op_tables[0]; t++)
    for (const LgOp *o = lg_op_tables[t]; o->family; o++)
      if (!strcmp(o->family, n->op->family)) return o;
  return NULL;
}

int lg_unsupported(LGen *g, const Node *n, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  ir_error(g->d, n->loc, "node '%s' (%s%s%s-%d): %s", n->name ? n->name : "", n->domain,
           *n->domain ? "." : "", n->op_type, n->op ? n->op->since : (int)ir_node_opset(n), why);
  g->unsupported++;
  return -1;
}

/* ------------------------------------------------------------------ static facts */

bool lg_static(const Value *v) {
  const Type *t = v ? v->type : NULL;
  if (!t || t->kind != TYPE_TENSOR || t->rank < 0 || t->rank > LG_MAX_RANK) return false;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i].value < 0 || t->dims[i].param) return false;
  return true;
}
int lg_rank(const Value *v) { return v->type->rank; }
int64_t lg_dim(const Value *v, int i) { return v->type->dims[i].value; }
int64_t lg_numel(const Value *v) {
  int64_t n = 1;
  for (int i = 0; i < v->type->rank; i++) n *= v->type->dims[i].value;
  return n;
}
ElemType lg_elem(const Value *v) { return v->type->elem; }
void lg_dims(const Value *v, int64_t *dims) {
  for (int i = 0; i < v->type->rank; i++) dims[i] = v->type->dims[i].value;
}

const Tensor *lg_const(const Value *v) {
  if (!v || !v->init || !v->init->has_data) return NULL;
  const Graph *g = v->graph;
  for (int i = 0; g && i < g->n_inputs; i++)
    if (g->inputs[i] == v && g->parent) return NULL; /* subgraph inputs may be overridden */
  return v->init;
}

bool lg_const_ints(const Value *v, int64_t *out, int max, int *n) {
  const Tensor *t = lg_const(v);
  if (!t || (t->elem != ELEM_INT64 && t->elem != ELEM_INT32) || t->rank > 1) return false;
  uint64_t cnt;
  if (!ir_tensor_numel(t, &cnt) || cnt > (uint64_t)max) return false;
  for (uint64_t i = 0; i < cnt; i++)
    out[i] = t->elem == ELEM_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
  *n = (int)cnt;
  return true;
}

bool lg_const_scalar(const Value *v, double *out) {
  const Tensor *t = lg_const(v);
  uint64_t cnt;
  if (!t || !ir_tensor_numel(t, &cnt) || cnt != 1 || t->elem == ELEM_STRING) return false;
  *out = ir_elem(t->elem)->to_f64(t->data, 0);
  return true;
}

bool lg_elem_float(ElemType t) { return t == ELEM_FLOAT || t == ELEM_DOUBLE; }

LLVMTypeRef lg_type(LGen *g, ElemType t) {
  switch (t) {
  case ELEM_FLOAT: return g->f32;
  case ELEM_DOUBLE: return g->f64;
  case ELEM_INT8: case ELEM_UINT8: case ELEM_BOOL: return g->i8;
  case ELEM_INT16: case ELEM_UINT16: return g->i16;
  case ELEM_INT32: case ELEM_UINT32: return g->i32;
  case ELEM_INT64: case ELEM_UINT64: return g->i64;
  default: return NULL;
  }
}

/* ------------------------------------------------------------------ IR helpers */

LLVMValueRef lg_i64(LGen *g, int64_t x) { return LLVMConstInt(g->i64, (unsigned long long)x, 1); }
LLVMValueRef lg_f32c(LGen *g, double x) { return LLVMConstReal(g->f32, x); }

LLVMValueRef lg_const_of(LGen *g, ElemType t, double x) {
  LLVMTypeRef ty = lg_type(g, t);
  if (lg_elem_float(t)) return LLVMConstReal(ty, x);
  return LLVMConstInt(ty, (unsigned long long)(int64_t)x, ir_elem(t)->is_signed);
}

LLVMValueRef lg_gep(LGen *g, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef idx) {
  return LLVMBuildInBoundsGEP2(g->b, elem, base, &idx, 1, "");
}

LLVMValueRef lg_load(LGen *g, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef idx) {
  return LLVMBuildLoad2(g->b, t, lg_gep(g, t, base, idx), "");
}

void lg_store(LGen *g, LLVMValueRef x, LLVMValueRef base, LLVMValueRef idx) {
  LLVMBuildStore(g->b, x, lg_gep(g, LLVMTypeOf(x), base, idx));
}

LLVMValueRef lg_vload(LGen *g, LLVMValueRef base, LLVMValueRef idx) {
  LLVMValueRef v = LLVMBuildLoad2(g->b, g->vf32, lg_gep(g, g->f32, base, idx), "");
  LLVMSetAlignment(v, 4);
  return v;
}

void lg_vstore(LGen *g, LLVMValueRef x, LLVMValueRef base, LLVMValueRef idx) {
  LLVMValueRef s = LLVMBuildStore(g->b, x, lg_gep(g, g->f32, base, idx));
  LLVMSetAlignment(s, 4);
}

LLVMValueRef lg_splat(LGen *g, LLVMValueRef x, int lanes) {
  if (lanes == 1) return x;
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)lanes);
  LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(vt), x, LLVMConstInt(g->i32, 0, 0), "");
  return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(vt),
                                LLVMConstNull(LLVMVectorType(g->i32, (unsigned)lanes)), "");
}

LLVMValueRef lg_alloca(LGen *g, LLVMTypeRef t) {
  LLVMBuilderRef b = LLVMCreateBuilderInContext(g->ctx);
  LLVMPositionBuilderAtEnd(b, g->entry);
  LLVMValueRef a = LLVMBuildAlloca(b, t, "");
  LLVMDisposeBuilder(b);
  return a;
}

LLVMValueRef lg_intrin(LGen *g, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(g->mod, id, &t, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(g->ctx, id, &t, 1);
  return LLVMBuildCall2(g->b, ft, f, args, (unsigned)n, "");
}

/* A libm function of `nargs` float arguments, applied lane by lane to vectors. */
static LLVMValueRef libm_call(LGen *g, const char *name, LLVMValueRef *xs, int nargs) {
  LLVMTypeRef t = LLVMTypeOf(xs[0]);
  LLVMTypeRef st = LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetElementType(t) : t;
  LLVMTypeRef params[2] = {st, st};
  LLVMTypeRef ft = LLVMFunctionType(st, params, (unsigned)nargs, 0);
  char fname[32];
  snprintf(fname, sizeof fname, "%s%s", name, st == g->f32 ? "f" : "");
  LLVMValueRef f = LLVMGetNamedFunction(g->mod, fname);
  if (!f) f = LLVMAddFunction(g->mod, fname, ft);
  if (st == t) return LLVMBuildCall2(g->b, ft, f, xs, (unsigned)nargs, "");
  unsigned lanes = LLVMGetVectorSize(t);
  LLVMValueRef r = LLVMGetUndef(t);
  for (unsigned i = 0; i < lanes; i++) {
    LLVMValueRef k = LLVMConstInt(g->i32, i, 0), a[2];
    for (int j = 0; j < nargs; j++) a[j] = LLVMBuildExtractElement(g->b, xs[j], k, "");
    r = LLVMBuildInsertElement(g->b, r, LLVMBuildCall2(g->b, ft, f, a, (unsigned)nargs, ""), k, "");
  }
  return r;
}

LLVMValueRef lg_libm(LGen *g, const char *name, LLVMValueRef x) { return libm_call(g, name, &x, 1); }
LLVMValueRef lg_libm2(LGen *g, const char *name, LLVMValueRef x, LLVMValueRef y) {
  LLVMValueRef xs[2] = {x, y};
  return libm_call(g, name, xs, 2);
}

LLVMValueRef lg_fmuladd(LGen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef args[3] = {a, b, c};
  return lg_intrin(g, "llvm.fmuladd", LLVMTypeOf(a), args, 3);
}

LLVMValueRef lg_fmax(LGen *g, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef r = LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOGT, a, b, ""), a, b, "");
  return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealUNO, a, a, ""), a, r, "");
}

LLVMValueRef lg_fmin(LGen *g, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef r = LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOLT, a, b, ""), a, b, "");
  return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealUNO, a, a, ""), a, r, "");
}

void lg_memmove(LGen *g, LLVMValueRef dst, LLVMValueRef src, uint64_t bytes) {
  if (!bytes || dst == src) return;
  LLVMBuildMemMove(g->b, dst, 1, src, 1, lg_i64(g, (int64_t)bytes));
}

/* ------------------------------------------------------------------ loops */

static LLVMBasicBlockRef new_block(LGen *g, const char *name) {
  return LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
}

LLVMValueRef lg_loop(LGen *g, LgLoop *l, LLVMValueRef lo, LLVMValueRef hi, int64_t step,
                     bool inner) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->b);
  l->head = new_block(g, "loop");
  l->body = new_block(g, "body");
  l->exit = new_block(g, "done");
  l->step = step;
  l->inner = inner && g->vw > 1;
  LLVMBuildBr(g->b, l->head);
  LLVMPositionBuilderAtEnd(g->b, l->head);
  l->phi = LLVMBuildPhi(g->b, g->i64, "i");
  LLVMAddIncoming(l->phi, &lo, &pre, 1);
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, l->phi, hi, ""), l->body, l->exit);
  LLVMPositionBuilderAtEnd(g->b, l->body);
  l->iv = l->phi;
  return l->phi;
}

void lg_loop_end(LGen *g, LgLoop *l) {
  LLVMValueRef next = LLVMBuildNSWAdd(g->b, l->phi, lg_i64(g, l->step), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(g->b);
  LLVMValueRef br = LLVMBuildBr(g->b, l->head);
  LLVMAddIncoming(l->phi, &next, &latch, 1);
  if (l->inner) {
    /* !llvm.loop !{self, !{"llvm.loop.vectorize.enable", i1 true}}: lets the vectorizer
     * reorder float reductions without fast-math flags. */
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(g->ctx, NULL, 0);
    LLVMMetadataRef en[] = {LLVMMDStringInContext2(g->ctx, "llvm.loop.vectorize.enable", 26),
                            LLVMValueAsMetadata(LLVMConstInt(g->i1, 1, 0))};
    LLVMMetadataRef ops[] = {tmp, LLVMMDNodeInContext2(g->ctx, en, 2)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(g->ctx, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    LLVMSetMetadata(br, g->md_loop, LLVMMetadataAsValue(g->ctx, id));
  }
  LLVMPositionBuilderAtEnd(g->b, l->exit);
}

LLVMBasicBlockRef lg_if(LGen *g, LLVMValueRef cond) {
  LLVMBasicBlockRef then = new_block(g, "then"), after = new_block(g, "endif");
  LLVMBuildCondBr(g->b, cond, then, after);
  LLVMPositionBuilderAtEnd(g->b, then);
  return after;
}

void lg_endif(LGen *g, LLVMBasicBlockRef after) {
  LLVMBuildBr(g->b, after);
  LLVMPositionBuilderAtEnd(g->b, after);
}

void lg_nest(LGen *g, LgNest *ln, int rank, const int64_t *dims, LLVMValueRef *ivs) {
  ln->rank = rank;
  for (int i = 0; i < rank; i++)
    ivs[i] = lg_loop(g, &ln->l[i], lg_i64(g, 0), lg_i64(g, dims[i]), 1, i == rank - 1);
}

void lg_nest_end(LGen *g, LgNest *ln) {
  for (int i = ln->rank - 1; i >= 0; i--) lg_loop_end(g, &ln->l[i]);
}

LLVMValueRef lg_linear(LGen *g, int rank, LLVMValueRef *ivs, const int64_t *strides,
                       int64_t base) {
  LLVMValueRef s = lg_i64(g, base);
  for (int i = 0; i < rank; i++)
    if (strides[i])
      s = LLVMBuildNSWAdd(g->b, s, LLVMBuildNSWMul(g->b, ivs[i], lg_i64(g, strides[i]), ""), "");
  return s;
}

void lg_strides(int rank, const int64_t *dims, int64_t *strides) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
}

void lg_bcast_strides(int rank, const int64_t *out_dims, int in_rank, const int64_t *in_dims,
                      int64_t *strides) {
  int64_t st[LG_MAX_RANK];
  lg_strides(in_rank, in_dims, st);
  for (int i = 0; i < rank; i++) {
    int k = i - (rank - in_rank);
    strides[i] = k < 0 || in_dims[k] == 1 || out_dims[i] == 1 ? 0 : st[k];
  }
}

void lg_copy_strided(LGen *g, int bytes, LLVMValueRef dst, int64_t dst_off,
                     const int64_t *dst_st, LLVMValueRef src, int64_t src_off,
                     const int64_t *src_st, int rank, const int64_t *dims) {
  /* merge dims that are contiguous in both (fewer, longer loops) */
  int64_t d[LG_MAX_RANK], ds[LG_MAX_RANK], ss[LG_MAX_RANK];
  int r = 0;
  for (int i = 0; i < rank; i++) {
    if (dims[i] == 0) return;
    if (dims[i] == 1) continue;
    if (r > 0 && ds[r - 1] == dst_st[i] * dims[i] && ss[r - 1] == src_st[i] * dims[i]) {
      d[r - 1] *= dims[i];
      ds[r - 1] = dst_st[i];
      ss[r - 1] = src_st[i];
      continue;
    }
    d[r] = dims[i], ds[r] = dst_st[i], ss[r] = src_st[i];
    r++;
  }
  LLVMTypeRef t = LLVMIntTypeInContext(g->ctx, (unsigned)bytes * 8);
  if (r > 0 && ds[r - 1] == 1 && ss[r - 1] == 1 && d[r - 1] >= 8) {
    /* contiguous rows: one memmove each */
    LgNest ln;
    LLVMValueRef ivs[LG_MAX_RANK];
    lg_nest(g, &ln, r - 1, d, ivs);
    LLVMValueRef dp = lg_gep(g, t, dst, lg_linear(g, r - 1, ivs, ds, dst_off));
    LLVMValueRef sp = lg_gep(g, t, src, lg_linear(g, r - 1, ivs, ss, src_off));
    LLVMBuildMemMove(g->b, dp, 1, sp, 1, lg_i64(g, d[r - 1] * bytes));
    lg_nest_end(g, &ln);
    return;
  }
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK];
  lg_nest(g, &ln, r, d, ivs);
  LLVMValueRef x = lg_load(g, t, src, lg_linear(g, r, ivs, ss, src_off));
  lg_store(g, x, dst, lg_linear(g, r, ivs, ds, dst_off));
  lg_nest_end(g, &ln);
}

/* ------------------------------------------------------------------ buffers */

LLVMValueRef lg_ptr(LGen *g, const Value *v) { return v && v->id < g->n_ids ? g->vptr[v->id] : NULL; }

LLVMValueRef lg_global(LGen *g, const char *base, const void *data, size_t nbytes) {
  char name[64];
  snprintf(name, sizeof name, "%s_%s%d", g->prefix, base, g->n_globals++);
  LLVMValueRef init = LLVMConstStringInContext(g->ctx, data ? data : "", (unsigned)nbytes, 1);
  LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(gv, 64);
  return gv;
}



/* ------------------------------------------------------------------ the module */

static void init_types(LGen *g) {
  g->f32 = LLVMFloatTypeInContext(g->ctx);
  g->f64 = LLVMDoubleTypeInContext(g->ctx);
  g->i1 = LLVMInt1TypeInContext(g->ctx);
  g->i8 = LLVMInt8TypeInContext(g->ctx);
  g->i16 = LLVMInt16TypeInContext(g->ctx);
  g->i32 = LLVMInt32TypeInContext(g->ctx);
  g->i64 = LLVMInt64TypeInContext(g->ctx);
  g->ptr = LLVMPointerTypeInContext(g->ctx, 0);
  g->vf32 = g->vw > 1 ? LLVMVectorType(g->f32, (unsigned)g->vw) : g->f32;
  g->md_loop = LLVMGetMDKindIDInContext(g->ctx, "llvm.loop", 9);
}

/* Every node lowerable, every value static: else report all and fail. */
static int check_model(LGen *g, const BeSignature *sig) {
  const Graph *gr = g->m->graph;
  for (size_t k = 0; k < gr->nodes.n; k++) {
    const Node *n = gr->nodes.v[k];
    const LgOp *op = find_op(n);
    if (!n->op) {
      lg_unsupported(g, n, "unknown operator");
      continue;
    }
    if (!op) {
      lg_unsupported(g, n, "the LLVM backend has no lowering for %s", n->op->family);
      continue;
    }
    bool ok = true;
    for (int i = 0; i < n->n_inputs && ok; i++)
      if (n->inputs[i] && !lg_static(n->inputs[i])) ok = false;
    for (int i = 0; i < n->n_outputs && ok; i++)
      if (n->outputs[i] && !lg_static(n->outputs[i])) ok = false;
    if (!ok) {
      lg_unsupported(g, n, "every input and output needs a static tensor shape (run "
                           "shape-infer; bind symbolic dims with --dim / --shape)");
      continue;
    }
    op->check(g, n);
  }
  (void)sig;
  return g->unsupported ? -1 : 0;
}

static LLVMValueRef declare(LGen *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                            int n) {
  LLVMValueRef f = LLVMGetNamedFunction(g->mod, name);
  return f ? f : LLVMAddFunction(g->mod, name, LLVMFunctionType(ret, params, (unsigned)n, 0));
}

/* x86: does this CPU (and OS) run AVX2 + FMA code? cpuid leaf 1 (FMA, OSXSAVE, AVX), xgetbv
 * (the OS saves YMM state), cpuid leaf 7 (AVX2). Built with inline assembly, as the object
 * must not depend on a compiler runtime. */
static LLVMValueRef cpuid_reg(LGen *g, unsigned leaf, unsigned reg) {
  LLVMTypeRef i32 = g->i32, rt[4] = {i32, i32, i32, i32}, at[2] = {i32, i32};
  LLVMTypeRef st = LLVMStructTypeInContext(g->ctx, rt, 4, 0), ft = LLVMFunctionType(st, at, 2, 0);
  char cons[] = "={ax},={bx},={cx},={dx},{ax},{cx}", op[] = "cpuid";
  LLVMValueRef asmv = LLVMGetInlineAsm(ft, op, 5, cons, strlen(cons), 1, 0, LLVMInlineAsmDialectATT, 0);
  LLVMValueRef args[2] = {LLVMConstInt(i32, leaf, 0), LLVMConstInt(i32, 0, 0)};
  return LLVMBuildExtractValue(g->b, LLVMBuildCall2(g->b, ft, asmv, args, 2, ""), reg, "");
}

static LLVMValueRef has_bits(LGen *g, LLVMValueRef x, unsigned mask) {
  LLVMValueRef m = LLVMConstInt(g->i32, mask, 0);
  return LLVMBuildICmp(g->b, LLVMIntEQ, LLVMBuildAnd(g->b, x, m, ""), m, "");
}

static LLVMValueRef avx2_ok(LGen *g, LLVMValueRef create_fn) {
  LLVMValueRef c1 = cpuid_reg(g, 1, 2); /* ecx */
  LLVMBasicBlockRef xs = LLVMAppendBasicBlockInContext(g->ctx, create_fn, "osxsave");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->ctx, create_fn, "cpu");
  LLVMBasicBlockRef from = LLVMGetInsertBlock(g->b);
  LLVMBuildCondBr(g->b, has_bits(g, c1, (1u << 12) | (1u << 27) | (1u << 28)), xs, done);
  LLVMPositionBuilderAtEnd(g->b, xs);
  LLVMTypeRef i32 = g->i32, rt[2] = {i32, i32};
  LLVMTypeRef ft = LLVMFunctionType(LLVMStructTypeInContext(g->ctx, rt, 2, 0), &i32, 1, 0);
  char cons[] = "={ax},={dx},{cx}", op[] = "xgetbv";
  LLVMValueRef xg = LLVMGetInlineAsm(ft, op, 6, cons, strlen(cons), 1, 0, LLVMInlineAsmDialectATT, 0);
  LLVMValueRef zero = LLVMConstInt(i32, 0, 0);
  LLVMValueRef xcr0 = LLVMBuildExtractValue(g->b, LLVMBuildCall2(g->b, ft, xg, &zero, 1, ""), 0, "");
  LLVMValueRef ok = LLVMBuildAnd(g->b, has_bits(g, xcr0, 6), has_bits(g, cpuid_reg(g, 7, 1), 1u << 5), "");
  LLVMBasicBlockRef xs_end = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
  LLVMValueRef phi = LLVMBuildPhi(g->b, g->i1, "");
  LLVMValueRef vals[2] = {LLVMConstInt(g->i1, 0, 0), ok};
  LLVMBasicBlockRef blocks[2] = {from, xs_end};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return phi;
}

/* P_create / P_destroy: the context is {arena (aligned), raw block}. With avx2_check,
 * create returns NULL on a CPU without AVX2 and FMA (the header's contract). */
static void build_create_destroy(LGen *g, uint64_t arena, LLVMTypeRef isize, bool avx2_check) {
  char name[256];
  LLVMValueRef fmalloc = declare(g, "malloc", g->ptr, &isize, 1);
  LLVMValueRef ffree = declare(g, "free", LLVMVoidTypeInContext(g->ctx), &g->ptr, 1);
  LLVMTypeRef mt = LLVMFunctionType(g->ptr, &isize, 1, 0);
  LLVMTypeRef ft = LLVMFunctionType(LLVMVoidTypeInContext(g->ctx), &g->ptr, 1, 0);
  LLVMBuilderRef b = g->b;

  snprintf(name, sizeof name, "%s_create", g->prefix);
  LLVMValueRef f = LLVMAddFunction(g->mod, name, LLVMFunctionType(g->ptr, NULL, 0, 0));
  LLVMBasicBlockRef e = LLVMAppendBasicBlockInContext(g->ctx, f, "entry");
  LLVMBasicBlockRef ok1 = LLVMAppendBasicBlockInContext(g->ctx, f, "ok1");
  LLVMBasicBlockRef ok2 = LLVMAppendBasicBlockInContext(g->ctx, f, "ok2");
  LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(g->ctx, f, "fail");
  LLVMBasicBlockRef fail2 = LLVMAppendBasicBlockInContext(g->ctx, f, "fail2");
  LLVMPositionBuilderAtEnd(b, e);
  if (avx2_check) {
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(g->ctx, f, "cpu_ok");
    LLVMBuildCondBr(b, avx2_ok(g, f), go, fail);
    LLVMPositionBuilderAtEnd(b, go);
  }
  LLVMValueRef sz = LLVMConstInt(isize, 2 * 8, 0);
  LLVMValueRef c = LLVMBuildCall2(b, mt, fmalloc, &sz, 1, "ctx");
  LLVMBuildCondBr(b, LLVMBuildIsNull(b, c, ""), fail, ok1);
  LLVMPositionBuilderAtEnd(b, ok1);
  LLVMValueRef asz = LLVMConstInt(isize, arena + 64, 0);
  LLVMValueRef raw = LLVMBuildCall2(b, mt, fmalloc, &asz, 1, "raw");
  LLVMBuildCondBr(b, LLVMBuildIsNull(b, raw, ""), fail2, ok2);
  LLVMPositionBuilderAtEnd(b, ok2);
  LLVMValueRef ri = LLVMBuildPtrToInt(b, raw, isize, "");
  ri = LLVMBuildAnd(b, LLVMBuildAdd(b, ri, LLVMConstInt(isize, 63, 0), ""),
                    LLVMConstInt(isize, ~(unsigned long long)63, 0), "");
  LLVMValueRef al = LLVMBuildGEP2(b, g->i8, raw,
                                  (LLVMValueRef[]){LLVMBuildSub(b, ri, LLVMBuildPtrToInt(b, raw, isize, ""), "")},
                                  1, "arena");
  LLVMBuildStore(b, al, c);
  LLVMBuildStore(b, raw, LLVMBuildGEP2(b, g->i8, c, (LLVMValueRef[]){LLVMConstInt(isize, 8, 0)}, 1, ""));
  LLVMBuildRet(b, c);
  LLVMPositionBuilderAtEnd(b, fail2);
  LLVMBuildCall2(b, ft, ffree, &c, 1, "");
  LLVMBuildBr(b, fail);
  LLVMPositionBuilderAtEnd(b, fail);
  LLVMBuildRet(b, LLVMConstNull(g->ptr));

  snprintf(name, sizeof name, "%s_destroy", g->prefix);
  f = LLVMAddFunction(g->mod, name, ft);
  e = LLVMAppendBasicBlockInContext(g->ctx, f, "entry");
  LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(g->ctx, f, "free");
  LLVMBasicBlockRef out = LLVMAppendBasicBlockInContext(g->ctx, f, "out");
  LLVMPositionBuilderAtEnd(b, e);
  c = LLVMGetParam(f, 0);
  LLVMBuildCondBr(b, LLVMBuildIsNull(b, c, ""), out, go);
  LLVMPositionBuilderAtEnd(b, go);
  raw = LLVMBuildLoad2(b, g->ptr, LLVMBuildGEP2(b, g->i8, c, (LLVMValueRef[]){LLVMConstInt(isize, 8, 0)}, 1, ""), "");
  LLVMBuildCall2(b, ft, ffree, &raw, 1, "");
  LLVMBuildCall2(b, ft, ffree, &c, 1, "");
  LLVMBuildBr(b, out);
  LLVMPositionBuilderAtEnd(b, out);
  LLVMBuildRetVoid(b);
}

/* The pointer arena + off, one per offset (so that a view the planner placed on its input
 * is recognized as the same buffer and not copied). */
typedef struct OffPtr {
  uint64_t off;
  LLVMValueRef p;
} OffPtr;

static LLVMValueRef arena_ptr(LGen *g, LLVMValueRef arena, OffPtr **cache, size_t *n, uint64_t off) {
  for (size_t i = 0; i < *n; i++)
    if ((*cache)[i].off == off) return (*cache)[i].p;
  LLVMValueRef p = LLVMBuildInBoundsGEP2(g->b, g->i8, arena, (LLVMValueRef[]){lg_i64(g, (int64_t)off)}, 1, "");
  OffPtr *c = realloc(*cache, (*n + 1) * sizeof *c);
  if (!c) abort();
  c[(*n)++] = (OffPtr){off, p};
  *cache = c;
  return p;
}

static size_t value_bytes(const Value *v) {
  size_t nb = 0;
  ir_elem_nbytes(lg_elem(v), (uint64_t)lg_numel(v), &nb);
  return nb;
}

/* Give every value a buffer; returns the arena size and the weight bytes. Values the
 * planner left out of the arena but that are read (computed from constants alone) get
 * their own buffers above the plan. */
static void map_values(LGen *g, const BeSignature *sig, LLVMValueRef arena, uint64_t *arena_bytes,
                       uint64_t *weight_bytes) {
  const Graph *gr = g->m->graph;
  OffPtr *cache = NULL;
  size_t nc = 0;
  for (int i = 0; i < sig->n_inputs; i++) g->vptr[sig->inputs[i]->id] = LLVMGetParam(g->fn, (unsigned)(1 + i));
  for (int i = 0; i < sig->n_outputs; i++) {
    const Value *v = sig->outputs[i];
    if (v->producer && !g->vptr[v->id])
      g->vptr[v->id] = LLVMGetParam(g->fn, (unsigned)(1 + sig->n_inputs + i));
  }
  uint64_t top = 0, wb = 0;
  for (size_t k = 0; k < gr->nodes.n; k++) {
    const Node *n = gr->nodes.v[k];
    for (int i = 0; i < n->n_outputs; i++) {
      int64_t off = be_offset(n, i);
      if (n->outputs[i] && off >= 0 && (uint64_t)off + value_bytes(n->outputs[i]) > top)
        top = (uint64_t)off + value_bytes(n->outputs[i]);
    }
  }
  for (size_t k = 0; k < gr->nodes.n; k++) {
    const Node *n = gr->nodes.v[k];
    for (int i = 0; i < n->n_inputs; i++) {
      const Value *v = n->inputs[i];
      const Tensor *t = lg_const(v);
      if (!v || g->vptr[v->id] || !t) continue;
      g->vptr[v->id] = lg_global(g, "w", t->data, t->nbytes);
      wb += t->nbytes;
    }
    for (int i = 0; i < n->n_outputs; i++) {
      const Value *v = n->outputs[i];
      if (!v || g->vptr[v->id]) continue;
      int64_t off = be_offset(n, i);
      if (off < 0 && !v->uses) continue; /* unused output: the op skips it */
      if (off < 0) {
        top = (top + 63) / 64 * 64;
        off = (int64_t)top;
        top += value_bytes(v);
      }
      g->vptr[v->id] = arena_ptr(g, arena, &cache, &nc, (uint64_t)off);
    }
  }
  free(cache);
  /* graph outputs that are constants are copied at the end of run() */
  for (int i = 0; i < sig->n_outputs; i++) {
    const Value *v = sig->outputs[i];
    const Tensor *t = lg_const(v);
    if (!v->producer && t && !g->vptr[v->id]) {
      g->vptr[v->id] = lg_global(g, "w", t->data, t->nbytes);
      wb += t->nbytes;
    }
  }
  *arena_bytes = (top + 63) / 64 * 64;
  *weight_bytes = wb;
}

static void diag_handler(LLVMDiagnosticInfoRef info, void *arg) {
  (void)arg;
  if (LLVMGetDiagInfoSeverity(info) != LLVMDSError) return; /* vectorizer remarks */
  char *s = LLVMGetDiagInfoDescription(info);
  fprintf(stderr, "effc: LLVM error: %s\n", s);
  LLVMDisposeMessage(s);
}

LLVMModuleRef lg_build(const Model *m, LLVMContextRef ctx, const char *prefix, int vw,
                       int ptr_bits, bool avx2_check, uint64_t *arena_bytes,
                       uint64_t *weight_bytes, Diag *d) {
  LGen g0 = {.ctx = ctx, .m = m, .d = d, .prefix = prefix, .vw = vw}, *g = &g0;
  LLVMContextSetDiagnosticHandler(ctx, diag_handler, NULL);
  init_types(g);
  BeSignature sig;
  if (be_signature(m, &sig, d) != 0) return NULL;
  if (check_model(g, &sig) != 0) {
    be_signature_free(&sig);
    return NULL;
  }
  g->mod = LLVMModuleCreateWithNameInContext(prefix, ctx);
  g->b = LLVMCreateBuilderInContext(ctx);
  g->n_ids = m->next_value_id;
  g->vptr = calloc(g->n_ids + 1, sizeof *g->vptr);

  int np = 1 + sig.n_inputs + sig.n_outputs;
  LLVMTypeRef *params = malloc((size_t)np * sizeof *params);
  for (int i = 0; i < np; i++) params[i] = g->ptr;
  char name[256];
  snprintf(name, sizeof name, "%s_run", prefix);
  g->fn = LLVMAddFunction(g->mod, name, LLVMFunctionType(g->i32, params, (unsigned)np, 0));
  free(params);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  for (int i = 1; i < np; i++)
    LLVMAddAttributeAtIndex(g->fn, (unsigned)(i + 1), LLVMCreateEnumAttribute(ctx, noalias, 0));
  LLVMAddAttributeAtIndex(g->fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, nounwind, 0));
  g->entry = LLVMAppendBasicBlockInContext(ctx, g->fn, "entry");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(ctx, g->fn, "start");
  LLVMPositionBuilderAtEnd(g->b, start);
  LLVMValueRef arena = LLVMBuildLoad2(g->b, g->ptr, LLVMGetParam(g->fn, 0), "arena");
  map_values(g, &sig, arena, arena_bytes, weight_bytes);

  const Graph *gr = m->graph;
  for (size_t k = 0; k < gr->nodes.n; k++) {
    const Node *n = gr->nodes.v[k];
    find_op(n)->emit(g, n);
  }
  for (int i = 0; i < sig.n_outputs; i++) {
    const Value *v = sig.outputs[i];
    LLVMValueRef dst = LLVMGetParam(g->fn, (unsigned)(1 + sig.n_inputs + i));
    LLVMValueRef src = lg_ptr(g, v);
    if (src && src != dst) LLVMBuildMemCpy(g->b, dst, 1, src, 1, lg_i64(g, (int64_t)value_bytes(v)));
  }
  LLVMBuildRet(g->b, LLVMConstInt(g->i32, 0, 0));
  LLVMPositionBuilderAtEnd(g->b, g->entry);
  LLVMBuildBr(g->b, start);

  build_create_destroy(g, *arena_bytes, LLVMIntTypeInContext(ctx, (unsigned)ptr_bits), avx2_check);
  LLVMDisposeBuilder(g->b);
  free(g->vptr);
  be_signature_free(&sig);
  char *msg = NULL;
  if (LLVMVerifyModule(g->mod, LLVMReturnStatusAction, &msg)) {
    ir_error(d, ir_noloc, "internal error: the LLVM module does not verify: %s", msg);
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(g->mod);
    return NULL;
  }
  LLVMDisposeMessage(msg);
  return g->mod;
}

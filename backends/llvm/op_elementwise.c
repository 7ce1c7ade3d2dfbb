/* op_elementwise.c - elementwise operators for the LLVM backend: unary math and
 * activations, broadcasting binary and variadic arithmetic, comparisons and logic, Clip,
 * Where and Cast. One loop nest over the output (dimensions merged where every operand is
 * contiguous), each input read through its broadcast strides. Float math follows the
 * interpreter's formulas (runtime/k_elementwise.c) in float. */
#include "llvm.h"

#include <math.h>
#include <string.h>

typedef enum {
  /* float unary */
  EW_EXP, EW_LOG, EW_SQRT, EW_RECIP, EW_SIN, EW_COS, EW_TAN, EW_ASIN, EW_ACOS, EW_ATAN,
  EW_SINH, EW_COSH, EW_TANH, EW_ASINH, EW_ACOSH, EW_ATANH, EW_ERF, EW_SIGMOID, EW_SOFTPLUS,
  EW_SOFTSIGN, EW_MISH, EW_ELU, EW_SELU, EW_CELU, EW_HARDSIGMOID, EW_HARDSWISH, EW_LEAKY,
  EW_THRESH, EW_GELU, EW_ISNAN, EW_ISINF,
  /* numeric unary (float and integer) */
  EW_ABS, EW_NEG, EW_SIGN, EW_RELU, EW_CEIL, EW_FLOOR, EW_ROUND, EW_CLIP,
  /* numeric binary / variadic */
  EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_POW, EW_MAX, EW_MIN, EW_SUM, EW_MEAN, EW_PRELU,
  EW_EQ, EW_LT, EW_LE, EW_GT, EW_GE,
  /* bool */
  EW_AND, EW_OR, EW_XOR, EW_NOT,
  EW_WHERE, EW_CAST
} EwKind;

typedef struct EwRow {
  const char *family;
  EwKind kind;
  bool float_only;
} EwRow;

static const EwRow ew_rows[] = {
    {"Exp", EW_EXP, true}, {"Log", EW_LOG, true}, {"Sqrt", EW_SQRT, true},
    {"Reciprocal", EW_RECIP, true}, {"Sin", EW_SIN, true}, {"Cos", EW_COS, true},
    {"Tan", EW_TAN, true}, {"Asin", EW_ASIN, true}, {"Acos", EW_ACOS, true},
    {"Atan", EW_ATAN, true}, {"Sinh", EW_SINH, true}, {"Cosh", EW_COSH, true},
    {"Tanh", EW_TANH, true}, {"Asinh", EW_ASINH, true}, {"Acosh", EW_ACOSH, true},
    {"Atanh", EW_ATANH, true}, {"Erf", EW_ERF, true}, {"Sigmoid", EW_SIGMOID, true},
    {"Softplus", EW_SOFTPLUS, true}, {"Softsign", EW_SOFTSIGN, true}, {"Mish", EW_MISH, true},
    {"Elu", EW_ELU, true}, {"Selu", EW_SELU, true}, {"Celu", EW_CELU, true},
    {"HardSigmoid", EW_HARDSIGMOID, true}, {"HardSwish", EW_HARDSWISH, true},
    {"LeakyRelu", EW_LEAKY, true}, {"ThresholdedRelu", EW_THRESH, true},
    {"Gelu", EW_GELU, true}, {"IsNaN", EW_ISNAN, true}, {"IsInf", EW_ISINF, true},
    {"Abs", EW_ABS, false}, {"Neg", EW_NEG, false}, {"Sign", EW_SIGN, false},
    {"Relu", EW_RELU, false}, {"Ceil", EW_CEIL, false}, {"Floor", EW_FLOOR, false},
    {"Round", EW_ROUND, false}, {"Clip", EW_CLIP, false}, {"Add", EW_ADD, false},
    {"Sub", EW_SUB, false}, {"Mul", EW_MUL, false}, {"Div", EW_DIV, false},
    {"Pow", EW_POW, true}, {"Max", EW_MAX, false}, {"Min", EW_MIN, false},
    {"Sum", EW_SUM, false}, {"Mean", EW_MEAN, true}, {"PRelu", EW_PRELU, false},
    {"Equal", EW_EQ, false}, {"Less", EW_LT, false}, {"LessOrEqual", EW_LE, false},
    {"Greater", EW_GT, false}, {"GreaterOrEqual", EW_GE, false}, {"And", EW_AND, false},
    {"Or", EW_OR, false}, {"Xor", EW_XOR, false}, {"Not", EW_NOT, false},
    {"Where", EW_WHERE, false}, {"Cast", EW_CAST, false}, {"CastLike", EW_CAST, false},
    {NULL, 0, false},
};

static const EwRow *row_of(const Node *n) {
  for (const EwRow *r = ew_rows; r->family; r++)
    if (!strcmp(r->family, n->op->family)) return r;
  return NULL;
}

/* Per-node parameters. */
typedef struct Ew {
  EwKind kind;
  ElemType in_elem, out_elem; /* element type of input 0 and of the output */
  double a, b, c;             /* alpha / beta / gamma, Clip bounds */
  int mode;                   /* Gelu tanh; IsInf detect bits */
  int n_in;                   /* inputs read (Clip: 1 plus present runtime bounds) */
  int clip_lo, clip_hi;       /* Clip: input index of a runtime bound, or -1 */
} Ew;

static bool numeric(ElemType t) {
  return t == ELEM_FLOAT || t == ELEM_DOUBLE || t == ELEM_INT8 || t == ELEM_UINT8 ||
         t == ELEM_INT16 || t == ELEM_UINT16 || t == ELEM_INT32 || t == ELEM_UINT32 ||
         t == ELEM_INT64 || t == ELEM_UINT64 || t == ELEM_BOOL;
}

/* Fill e from the node; false with *why set when it cannot be lowered. */
static bool ew_params(const Node *n, Ew *e, const char **why) {
  const EwRow *r = row_of(n);
  memset(e, 0, sizeof *e);
  e->kind = r->kind;
  e->in_elem = lg_elem(n->inputs[e->kind == EW_WHERE ? 1 : 0]);
  e->out_elem = lg_elem(n->outputs[0]);
  e->n_in = n->n_inputs;
  e->clip_lo = e->clip_hi = -1;
  if (!numeric(e->in_elem) || !numeric(e->out_elem)) {
    *why = "element type not supported by the LLVM backend";
    return false;
  }
  if (r->float_only && !lg_elem_float(e->in_elem)) {
    *why = "only float tensors";
    return false;
  }
  if (e->kind == EW_WHERE && lg_elem(n->inputs[0]) != ELEM_BOOL) {
    *why = "condition must be bool";
    return false;
  }
  for (int i = 0; i < n->n_inputs; i++)
    if (!n->inputs[i] && e->kind != EW_CLIP) {
      *why = "missing input";
      return false;
    }
  switch (e->kind) {
  case EW_ELU: e->a = ir_attr_float(n, "alpha", 1.0f); break;
  case EW_CELU: e->a = ir_attr_float(n, "alpha", 1.0f); break;
  case EW_SELU:
    e->a = ir_attr_float(n, "alpha", 1.67326319217681884765625f);
    e->c = ir_attr_float(n, "gamma", 1.05070102214813232421875f);
    break;
  case EW_HARDSIGMOID:
    e->a = ir_attr_float(n, "alpha", 0.2f);
    e->b = ir_attr_float(n, "beta", 0.5f);
    break;
  case EW_LEAKY: e->a = ir_attr_float(n, "alpha", 0.01f); break;
  case EW_THRESH: e->a = ir_attr_float(n, "alpha", 1.0f); break;
  case EW_GELU: {
    const char *ap = ir_attr_string(n, "approximate", "none");
    if (strcmp(ap, "none") && strcmp(ap, "tanh")) {
      *why = "approximate must be 'none' or 'tanh'";
      return false;
    }
    e->mode = !strcmp(ap, "tanh");
    break;
  }
  case EW_ISINF:
    e->mode = (ir_attr_int(n, "detect_positive", 1) ? 1 : 0) |
              (ir_attr_int(n, "detect_negative", 1) ? 2 : 0);
    break;
  case EW_CLIP:
    e->a = -INFINITY, e->b = INFINITY;
    e->n_in = 1;
    if (n->op->since < 11) {
      if (!lg_elem_float(e->in_elem)) {
        *why = "Clip before opset 11 takes float tensors";
        return false;
      }
      e->a = ir_attr_float(n, "min", -INFINITY);
      e->b = ir_attr_float(n, "max", INFINITY);
      if (e->a <= -3.4028234663852886e+38) e->a = -INFINITY;
      if (e->b >= 3.4028234663852886e+38) e->b = INFINITY;
    } else {
      for (int k = 1; k <= 2 && k < n->n_inputs; k++) {
        const Value *v = n->inputs[k];
        if (!v || lg_numel(v) == 0) continue;
        if (lg_numel(v) != 1 || lg_elem(v) != e->in_elem) {
          *why = "Clip bounds must be scalars of the input's type";
          return false;
        }
        if (k == 1) e->clip_lo = 1;
        else e->clip_hi = 2;
        e->n_in = k + 1;
      }
    }
    if (!lg_elem_float(e->in_elem) && (e->clip_lo < 0 || e->clip_hi < 0)) {
      *why = "integer Clip needs both bounds as inputs";
      return false;
    }
    break;
  case EW_POW:
    if (lg_elem(n->inputs[1]) != e->in_elem) {
      *why = "Pow with an exponent of another type";
      return false;
    }
    break;
  case EW_AND: case EW_OR: case EW_XOR: case EW_NOT:
    if (e->in_elem != ELEM_BOOL) {
      *why = "logic operators take bool tensors";
      return false;
    }
    break;
  case EW_CAST: e->n_in = 1; break;
  default: break;
  }
  if (e->kind != EW_CAST && e->kind != EW_WHERE)
    for (int i = 1; i < e->n_in; i++)
      if (n->inputs[i] && lg_elem(n->inputs[i]) != e->in_elem && e->kind != EW_CLIP) {
        *why = "inputs of different element types";
        return false;
      }
  return true;
}

static int ew_check(LGen *g, const Node *n) {
  Ew e;
  const char *why = NULL;
  if (n->n_outputs < 1 || !n->outputs[0]) return lg_unsupported(g, n, "no output");
  if (!ew_params(n, &e, &why)) return lg_unsupported(g, n, "%s", why);
  return 0;
}

static bool is_signed(ElemType t) { return ir_elem(t)->is_signed; }

/* Convert scalar x of element type from to element type to (ONNX Cast; bool is x != 0). */
static LLVMValueRef convert(LGen *g, LLVMValueRef x, ElemType from, ElemType to) {
  LLVMTypeRef tt = lg_type(g, to);
  if (from == to) return x;
  if (to == ELEM_BOOL) {
    LLVMValueRef nz = lg_elem_float(from)
                          ? LLVMBuildFCmp(g->b, LLVMRealUNE, x, LLVMConstNull(LLVMTypeOf(x)), "")
                          : LLVMBuildICmp(g->b, LLVMIntNE, x, LLVMConstNull(LLVMTypeOf(x)), "");
    return LLVMBuildZExt(g->b, nz, g->i8, "");
  }
  bool ff = lg_elem_float(from), tf = lg_elem_float(to);
  if (ff && tf) return LLVMBuildFPCast(g->b, x, tt, "");
  if (ff) return is_signed(to) ? LLVMBuildFPToSI(g->b, x, tt, "") : LLVMBuildFPToUI(g->b, x, tt, "");
  if (tf) return is_signed(from) ? LLVMBuildSIToFP(g->b, x, tt, "") : LLVMBuildUIToFP(g->b, x, tt, "");
  return LLVMBuildIntCast2(g->b, x, tt, is_signed(from), "");
}

static LLVMValueRef bool_out(LGen *g, LLVMValueRef c) { return LLVMBuildZExt(g->b, c, g->i8, ""); }

static LLVMValueRef fconst(LGen *g, LLVMValueRef like, double x) {
  (void)g;
  return LLVMConstReal(LLVMTypeOf(like), x);
}

static LLVMValueRef sigmoid(LGen *g, LLVMValueRef x) {
  LLVMValueRef one = fconst(g, x, 1.0);
  LLVMValueRef ex = lg_intrin(g, "llvm.exp", LLVMTypeOf(x), (LLVMValueRef[]){LLVMBuildFNeg(g->b, x, "")}, 1);
  return LLVMBuildFDiv(g->b, one, LLVMBuildFAdd(g->b, one, ex, ""), "");
}

static LLVMValueRef clamp01(LGen *g, LLVMValueRef y) {
  LLVMValueRef zero = fconst(g, y, 0), one = fconst(g, y, 1);
  y = LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOLT, y, zero, ""), zero, y, "");
  return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOGT, y, one, ""), one, y, "");
}

static LLVMValueRef softplus(LGen *g, LLVMValueRef x) {
  /* x > 30 ? x + log1p(exp(-x)) : log1p(exp(x)) */
  LLVMValueRef big = LLVMBuildFCmp(g->b, LLVMRealOGT, x, fconst(g, x, 30), "");
  LLVMValueRef ax = LLVMBuildSelect(g->b, big, LLVMBuildFNeg(g->b, x, ""), x, "");
  LLVMValueRef l = lg_libm(g, "log1p", lg_libm(g, "exp", ax));
  return LLVMBuildSelect(g->b, big, LLVMBuildFAdd(g->b, x, l, ""), l, "");
}

/* Float activations shared with the fused Conv/Gemm epilogues (scalar or vector x). */
static LLVMValueRef relu(LGen *g, LLVMValueRef x) {
  return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOLT, x, fconst(g, x, 0), ""),
                         fconst(g, x, 0), x, "");
}

static LLVMValueRef float_unary(LGen *g, const Ew *e, LLVMValueRef x) {
  LLVMBuilderRef b = g->b;
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef zero = fconst(g, x, 0), one = fconst(g, x, 1);
  switch (e->kind) {
  case EW_EXP: return lg_intrin(g, "llvm.exp", t, &x, 1);
  case EW_LOG: return lg_intrin(g, "llvm.log", t, &x, 1);
  case EW_SQRT: return lg_intrin(g, "llvm.sqrt", t, &x, 1);
  case EW_RECIP: return LLVMBuildFDiv(b, one, x, "");
  case EW_SIN: return lg_intrin(g, "llvm.sin", t, &x, 1);
  case EW_COS: return lg_intrin(g, "llvm.cos", t, &x, 1);
  case EW_TAN: return lg_libm(g, "tan", x);
  case EW_ASIN: return lg_libm(g, "asin", x);
  case EW_ACOS: return lg_libm(g, "acos", x);
  case EW_ATAN: return lg_libm(g, "atan", x);
  case EW_SINH: return lg_libm(g, "sinh", x);
  case EW_COSH: return lg_libm(g, "cosh", x);
  case EW_TANH: return lg_libm(g, "tanh", x);
  case EW_ASINH: return lg_libm(g, "asinh", x);
  case EW_ACOSH: return lg_libm(g, "acosh", x);
  case EW_ATANH: return lg_libm(g, "atanh", x);
  case EW_ERF: return lg_libm(g, "erf", x);
  case EW_SIGMOID: return sigmoid(g, x);
  case EW_SOFTPLUS: return softplus(g, x);
  case EW_SOFTSIGN:
    return LLVMBuildFDiv(b, x, LLVMBuildFAdd(b, one, lg_intrin(g, "llvm.fabs", t, &x, 1), ""), "");
  case EW_MISH: return LLVMBuildFMul(b, x, lg_libm(g, "tanh", softplus(g, x)), "");
  case EW_ELU: {
    LLVMValueRef neg = LLVMBuildFMul(b, fconst(g, x, e->a), lg_libm(g, "expm1", x), "");
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, zero, ""), neg, x, "");
  }
  case EW_SELU: {
    LLVMValueRef neg = LLVMBuildFMul(b, fconst(g, x, e->a), lg_libm(g, "expm1", x), "");
    LLVMValueRef y = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLE, x, zero, ""), neg, x, "");
    return LLVMBuildFMul(b, fconst(g, x, e->c), y, "");
  }
  case EW_CELU: {
    LLVMValueRef ex = LLVMBuildFMul(
        b, fconst(g, x, e->a), lg_libm(g, "expm1", LLVMBuildFDiv(b, x, fconst(g, x, e->a), "")), "");
    LLVMValueRef pos = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, zero, ""), x, zero, "");
    LLVMValueRef neg = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, ex, zero, ""), ex, zero, "");
    return LLVMBuildFAdd(b, pos, neg, "");
  }
  case EW_HARDSIGMOID:
    return clamp01(g, LLVMBuildFAdd(b, LLVMBuildFMul(b, fconst(g, x, e->a), x, ""), fconst(g, x, e->b), ""));
  case EW_HARDSWISH:
    return LLVMBuildFMul(
        b, x,
        clamp01(g, LLVMBuildFAdd(b, LLVMBuildFDiv(b, x, fconst(g, x, 6), ""), fconst(g, x, 0.5), "")), "");
  case EW_LEAKY:
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, zero, ""),
                           LLVMBuildFMul(b, fconst(g, x, e->a), x, ""), x, "");
  case EW_THRESH:
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealULE, x, fconst(g, x, e->a), ""),
                           LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""), x, zero, ""), x, "");
  case EW_GELU: {
    LLVMValueRef half_x = LLVMBuildFMul(b, fconst(g, x, 0.5), x, ""), inner;
    if (e->mode) {
      LLVMValueRef x3 = LLVMBuildFMul(b, LLVMBuildFMul(b, x, x, ""), x, "");
      LLVMValueRef u = LLVMBuildFAdd(b, x, LLVMBuildFMul(b, fconst(g, x, 0.044715), x3, ""), "");
      inner = lg_libm(g, "tanh", LLVMBuildFMul(b, fconst(g, x, 0.7978845608028654), u, ""));
    } else {
      inner = lg_libm(g, "erf", LLVMBuildFMul(b, x, fconst(g, x, 0.7071067811865476), ""));
    }
    return LLVMBuildFMul(b, half_x, LLVMBuildFAdd(b, one, inner, ""), "");
  }
  case EW_ISNAN: return bool_out(g, LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""));
  case EW_ISINF: {
    LLVMValueRef inf = fconst(g, x, INFINITY), r = LLVMConstInt(g->i1, 0, 0);
    if (e->mode & 1) r = LLVMBuildOr(b, r, LLVMBuildFCmp(b, LLVMRealOEQ, x, inf, ""), "");
    if (e->mode & 2)
      r = LLVMBuildOr(b, r, LLVMBuildFCmp(b, LLVMRealOEQ, x, LLVMBuildFNeg(b, inf, ""), ""), "");
    return bool_out(g, r);
  }
  case EW_ABS: return lg_intrin(g, "llvm.fabs", t, &x, 1);
  case EW_NEG: return LLVMBuildFNeg(b, x, "");
  case EW_SIGN: {
    LLVMValueRef s = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, zero, ""), one,
                                     LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, zero, ""),
                                                     fconst(g, x, -1), zero, ""), "");
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""), x, s, "");
  }
  case EW_RELU: return relu(g, x);
  case EW_CEIL: return lg_intrin(g, "llvm.ceil", t, &x, 1);
  case EW_FLOOR: return lg_intrin(g, "llvm.floor", t, &x, 1);
  case EW_ROUND: return lg_intrin(g, "llvm.rint", t, &x, 1);
  default: return x;
  }
}

static LLVMValueRef int_unary(LGen *g, const Ew *e, LLVMValueRef x) {
  LLVMBuilderRef b = g->b;
  LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(x));
  bool sg = is_signed(e->in_elem);
  switch (e->kind) {
  case EW_ABS:
    return sg ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, zero, ""), LLVMBuildNeg(b, x, ""), x, "") : x;
  case EW_NEG: return LLVMBuildNeg(b, x, "");
  case EW_SIGN: {
    LLVMValueRef one = LLVMConstInt(LLVMTypeOf(x), 1, 0);
    if (!sg) return LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntNE, x, zero, ""), LLVMTypeOf(x), "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, x, zero, ""), one,
                           LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, zero, ""),
                                           LLVMConstAllOnes(LLVMTypeOf(x)), zero, ""), "");
  }
  case EW_RELU:
    return sg ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, x, zero, ""), x, zero, "") : x;
  case EW_NOT: return LLVMBuildXor(b, x, LLVMConstInt(LLVMTypeOf(x), 1, 0), "");
  default: return x; /* Ceil, Floor, Round of integers */
  }
}

static LLVMValueRef fcmp(LGen *g, EwKind k, LLVMValueRef x, LLVMValueRef y) {
  LLVMRealPredicate p = k == EW_EQ ? LLVMRealOEQ : k == EW_LT ? LLVMRealOLT : k == EW_LE ? LLVMRealOLE
                        : k == EW_GT ? LLVMRealOGT : LLVMRealOGE;
  return LLVMBuildFCmp(g->b, p, x, y, "");
}

static LLVMValueRef icmp(LGen *g, EwKind k, bool sg, LLVMValueRef x, LLVMValueRef y) {
  LLVMIntPredicate p = k == EW_EQ   ? LLVMIntEQ
                       : k == EW_LT ? (sg ? LLVMIntSLT : LLVMIntULT)
                       : k == EW_LE ? (sg ? LLVMIntSLE : LLVMIntULE)
                       : k == EW_GT ? (sg ? LLVMIntSGT : LLVMIntUGT)
                                    : (sg ? LLVMIntSGE : LLVMIntUGE);
  return LLVMBuildICmp(g->b, p, x, y, "");
}

/* Integer division as the interpreter defines it: x / 0 = 0, x / -1 = -x (wrapping). */
static LLVMValueRef int_div(LGen *g, bool sg, LLVMValueRef x, LLVMValueRef y) {
  LLVMBuilderRef b = g->b;
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef zero = LLVMConstNull(t), one = LLVMConstInt(t, 1, 0);
  LLVMValueRef is0 = LLVMBuildICmp(b, LLVMIntEQ, y, zero, "");
  if (!sg) return LLVMBuildSelect(b, is0, zero, LLVMBuildUDiv(b, x, LLVMBuildSelect(b, is0, one, y, ""), ""), "");
  LLVMValueRef ism1 = LLVMBuildICmp(b, LLVMIntEQ, y, LLVMConstAllOnes(t), "");
  LLVMValueRef safe = LLVMBuildSelect(b, LLVMBuildOr(b, is0, ism1, ""), one, y, "");
  LLVMValueRef q = LLVMBuildSDiv(b, x, safe, "");
  q = LLVMBuildSelect(b, ism1, LLVMBuildNeg(b, x, ""), q, "");
  return LLVMBuildSelect(b, is0, zero, q, "");
}

static LLVMValueRef binary(LGen *g, const Ew *e, EwKind k, LLVMValueRef x, LLVMValueRef y) {
  LLVMBuilderRef b = g->b;
  bool fl = lg_elem_float(e->in_elem), sg = is_signed(e->in_elem);
  switch (k) {
  case EW_ADD: case EW_SUM: case EW_MEAN:
    return fl ? LLVMBuildFAdd(b, x, y, "") : LLVMBuildAdd(b, x, y, "");
  case EW_SUB: return fl ? LLVMBuildFSub(b, x, y, "") : LLVMBuildSub(b, x, y, "");
  case EW_MUL: return fl ? LLVMBuildFMul(b, x, y, "") : LLVMBuildMul(b, x, y, "");
  case EW_DIV: return fl ? LLVMBuildFDiv(b, x, y, "") : int_div(g, sg, x, y);
  case EW_POW: return lg_libm2(g, "pow", x, y);
  case EW_MAX:
    return fl ? lg_fmax(g, x, y) : LLVMBuildSelect(b, icmp(g, EW_GT, sg, x, y), x, y, "");
  case EW_MIN:
    return fl ? lg_fmin(g, x, y) : LLVMBuildSelect(b, icmp(g, EW_LT, sg, x, y), x, y, "");
  case EW_PRELU:
    if (fl)
      return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, LLVMConstNull(LLVMTypeOf(x)), ""),
                             LLVMBuildFMul(b, x, y, ""), x, "");
    return sg ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, LLVMConstNull(LLVMTypeOf(x)), ""),
                                LLVMBuildMul(b, x, y, ""), x, "")
              : x;
  case EW_EQ: case EW_LT: case EW_LE: case EW_GT: case EW_GE:
    return bool_out(g, fl ? fcmp(g, k, x, y) : icmp(g, k, sg, x, y));
  case EW_AND: return LLVMBuildAnd(b, x, y, "");
  case EW_OR: return LLVMBuildOr(b, x, y, "");
  case EW_XOR: return LLVMBuildXor(b, x, y, "");
  default: return x;
  }
}

/* One output element from the loaded inputs. */
static LLVMValueRef ew_value(LGen *g, const Ew *e, const Node *n, LLVMValueRef *xs) {
  LLVMBuilderRef b = g->b;
  bool fl = lg_elem_float(e->in_elem), sg = is_signed(e->in_elem);
  switch (e->kind) {
  case EW_CAST: return convert(g, xs[0], e->in_elem, e->out_elem);
  case EW_WHERE:
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntNE, xs[0], LLVMConstNull(g->i8), ""), xs[1], xs[2], "");
  case EW_CLIP: {
    LLVMValueRef x = xs[0];
    LLVMValueRef lo = e->clip_lo > 0 ? xs[e->clip_lo] : fl ? fconst(g, x, e->a) : NULL;
    LLVMValueRef hi = e->clip_hi > 0 ? xs[e->clip_hi] : fl ? fconst(g, x, e->b) : NULL;
    if (fl) {
      x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, lo, ""), lo, x, "");
      return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, hi, ""), hi, x, "");
    }
    x = LLVMBuildSelect(b, icmp(g, EW_LT, sg, x, lo), lo, x, "");
    return LLVMBuildSelect(b, icmp(g, EW_GT, sg, x, hi), hi, x, "");
  }
  default: break;
  }
  if (e->kind < EW_ADD) return fl ? float_unary(g, e, xs[0]) : int_unary(g, e, xs[0]);
  if (e->kind == EW_NOT) return int_unary(g, e, xs[0]);
  LLVMValueRef acc = xs[0];
  for (int i = 1; i < n->n_inputs; i++) acc = binary(g, e, e->kind, acc, xs[i]);
  if (e->kind == EW_MEAN) acc = LLVMBuildFDiv(b, acc, fconst(g, acc, n->n_inputs), "");
  return acc;
}

/* Merge adjacent dims that every operand walks contiguously (st[k][i] == st[k][i+1] *
 * dims[i+1]); drops dims of size 1. */
static int merge_dims(int rank, int64_t *dims, int nops, int64_t st[][LG_MAX_RANK]) {
  int r = 0;
  for (int i = 0; i < rank; i++) {
    if (dims[i] == 1) continue;
    bool merge = r > 0;
    for (int k = 0; k < nops && merge; k++) merge = st[k][r - 1] == st[k][i] * dims[i];
    if (merge) {
      dims[r - 1] *= dims[i];
      for (int k = 0; k < nops; k++) st[k][r - 1] = st[k][i];
      continue;
    }
    dims[r] = dims[i];
    for (int k = 0; k < nops; k++) st[k][r] = st[k][i];
    r++;
  }
  return r;
}

static void ew_emit(LGen *g, const Node *n) {
  Ew e;
  const char *why;
  ew_params(n, &e, &why);
  const Value *out = n->outputs[0];
  int rank = lg_rank(out), nops = e.n_in + 1;
  int64_t dims[LG_MAX_RANK], st[9][LG_MAX_RANK];
  if (nops > 9 || lg_numel(out) == 0) return;
  lg_dims(out, dims);
  lg_strides(rank, dims, st[0]);
  for (int i = 0; i < e.n_in; i++) {
    const Value *v = n->inputs[i];
    if (!v) continue;
    int64_t vd[LG_MAX_RANK];
    lg_dims(v, vd);
    lg_bcast_strides(rank, dims, lg_rank(v), vd, st[1 + i]);
  }
  int r = merge_dims(rank, dims, nops, st);
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK], xs[8] = {0};
  lg_nest(g, &ln, r, dims, ivs);
  for (int i = 0; i < e.n_in; i++) {
    const Value *v = n->inputs[i];
    if (v) xs[i] = lg_load(g, lg_type(g, lg_elem(v)), lg_ptr(g, v), lg_linear(g, r, ivs, st[1 + i], 0));
  }
  lg_store(g, ew_value(g, &e, n, xs), lg_ptr(g, out), lg_linear(g, r, ivs, st[0], 0));
  lg_nest_end(g, &ln);
}

/* ------------------------------------------------------------------ fused activations */

bool lg_activation_known(const char *name) {
  static const char *const known[] = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", NULL};
  for (int i = 0; known[i]; i++)
    if (!strcmp(name, known[i])) return true;
  return false;
}

LLVMValueRef lg_activation(LGen *g, const char *name, const float *p, int np, LLVMValueRef x) {
  Ew e = {.in_elem = ELEM_FLOAT};
  if (!strcmp(name, "Relu")) return relu(g, x);
  if (!strcmp(name, "Sigmoid")) return sigmoid(g, x);
  if (!strcmp(name, "Tanh")) return lg_libm(g, "tanh", x);
  if (!strcmp(name, "LeakyRelu")) {
    e.kind = EW_LEAKY;
    e.a = np > 0 ? p[0] : 0.01;
    return float_unary(g, &e, x);
  }
  if (!strcmp(name, "HardSigmoid")) {
    e.kind = EW_HARDSIGMOID;
    e.a = np > 0 ? p[0] : 0.2;
    e.b = np > 1 ? p[1] : 0.5;
    return float_unary(g, &e, x);
  }
  if (!strcmp(name, "Clip")) {
    LLVMValueRef lo = fconst(g, x, np > 0 ? p[0] : -INFINITY), hi = fconst(g, x, np > 1 ? p[1] : INFINITY);
    x = LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOLT, x, lo, ""), lo, x, "");
    return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOGT, x, hi, ""), hi, x, "");
  }
  return x;
}

const LgOp lg_ops_elementwise[] = {
#define EW(f) {f, ew_check, ew_emit},
    EW("Exp") EW("Log") EW("Sqrt") EW("Reciprocal") EW("Sin") EW("Cos") EW("Tan") EW("Asin")
    EW("Acos") EW("Atan") EW("Sinh") EW("Cosh") EW("Tanh") EW("Asinh") EW("Acosh") EW("Atanh")
    EW("Erf") EW("Sigmoid") EW("Softplus") EW("Softsign") EW("Mish") EW("Elu") EW("Selu")
    EW("Celu") EW("HardSigmoid") EW("HardSwish") EW("LeakyRelu") EW("ThresholdedRelu")
    EW("Gelu") EW("IsNaN") EW("IsInf") EW("Abs") EW("Neg") EW("Sign") EW("Relu") EW("Ceil")
    EW("Floor") EW("Round") EW("Clip") EW("Add") EW("Sub") EW("Mul") EW("Div") EW("Pow")
    EW("Max") EW("Min") EW("Sum") EW("Mean") EW("PRelu") EW("Equal") EW("Less")
    EW("LessOrEqual") EW("Greater") EW("GreaterOrEqual") EW("And") EW("Or") EW("Xor")
    EW("Not") EW("Where") EW("Cast") EW("CastLike")
#undef EW
    {NULL, NULL, NULL},
};

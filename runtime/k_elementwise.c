/* k_elementwise.c - elementwise kernels: arithmetic, comparisons, logic and bitwise ops,
 * unary math and activations, variadic Max/Min/Sum/Mean, Clip and Where. One broadcasting
 * engine runs a table of per-op scalar functions, with a float32 fast path. */
#include "runtime.h"
#include "kern.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ op descriptors */

/* Per-node parameters the scalar functions read. */
typedef struct Prm {
  double a, b, g; /* float attributes: alpha, beta, gamma; lambd, bias; clip bounds */
  int64_t ia, ib; /* integer clip bounds */
  int mode;       /* op-specific: fmod, gelu tanh, shift direction, isinf detection */
  int bits;       /* bit width of the (first) input's integer type */
  bool uns;       /* UINT64: unsigned 64-bit arithmetic */
  bool sgn;       /* signed integer type */
} Prm;

typedef double (*FnF)(double x, double y, const Prm *p);
typedef int64_t (*FnI)(int64_t x, int64_t y, const Prm *p);

enum { C_FLT = 1, C_INT = 2, C_BOOL = 4, C_STR = 8, C_NUM = C_FLT | C_INT };
enum { F_NONE, F_ADD, F_SUB, F_MUL, F_DIV, F_MAX, F_MIN, F_RELU }; /* float32 fast loops */

typedef struct Op {
  int types;    /* accepted input classes */
  bool to_bool; /* output is bool (comparisons, IsInf, IsNaN) */
  bool mixed;   /* inputs may differ in type (Pow) */
  FnF f;        /* float path (NULL: floats refused) */
  FnI i;        /* exact integer path (NULL: integers go through f in double) */
  int fast;
} Op;

static int elem_class(ElemType e) {
  switch (e) {
  case ELEM_STRING:
    return C_STR;
  case ELEM_BOOL:
    return C_BOOL;
  case ELEM_UNDEFINED:
  case ELEM_COMPLEX64:
  case ELEM_COMPLEX128:
    return 0;
  default:
    return ir_elem(e)->is_float ? C_FLT : C_INT;
  }
}

/* ------------------------------------------------------------------ scalar functions */

/* Scalar functions: x and y are the operands (y unused by unary ops), p the parameters. */
#define FF(name, expr)                                                                             \
  static double name(double x, double y, const Prm *p) {                                           \
    (void)x, (void)y, (void)p;                                                                     \
    return expr;                                                                                   \
  }
#define FI(name, expr)                                                                             \
  static int64_t name(int64_t x, int64_t y, const Prm *p) {                                        \
    (void)x, (void)y, (void)p;                                                                     \
    return expr;                                                                                   \
  }

static inline uint64_t U(int64_t x) {
  return (uint64_t)x;
}
static inline int64_t S(uint64_t x) {
  return (int64_t)x;
}

static double isnan2(double x, double y) {
  return isnan(x) ? x : y;
}

/* The tables below are kept out of clang-format, which reads their products as pointer
 * declarations. */
/* clang-format off */
FF(f_add, x + y)
FF(f_sub, x - y)
FF(f_mul, x * y)
FF(f_div, x / y)
FF(f_pow, pow(x, y))
static double f_mod(double x, double y, const Prm *p) {
  double r = fmod(x, y);
  if (p->mode || y == 0 || isnan(r)) return r;
  if (r != 0) {
    if ((y < 0) != (r < 0)) r += y;
  } else {
    r = copysign(0.0, y);
  }
  return r;
}
static double f_max(double x, double y, const Prm *p) {
  (void)p;
  if (isnan(x) || isnan(y)) return isnan(x) ? x : y;
  return x > y ? x : y;
}
static double f_min(double x, double y, const Prm *p) {
  (void)p;
  if (isnan(x) || isnan(y)) return isnan(x) ? x : y;
  return x < y ? x : y;
}
FF(f_eq, x == y)
FF(f_gt, x > y)
FF(f_ge, x >= y)
FF(f_lt, x < y)
FF(f_le, x <= y)
FF(f_prelu, x < 0 ? x * y : x)
static double sigm(double x) {
  if (x >= 0) return 1 / (1 + exp(-x));
  double e = exp(x);
  return e / (1 + e);
}
FF(f_swiglu, x * sigm(p->a * x) * y)

FF(f_abs, fabs(x))
FF(f_neg, -x)
FF(f_sign, isnan(x) ? x : (x > 0) - (x < 0))
FF(f_ceil, ceil(x))
FF(f_floor, floor(x))
FF(f_round, rint(x))
FF(f_recip, 1 / x)
FF(f_sqrt, sqrt(x))
FF(f_exp, exp(x))
FF(f_log, log(x))
FF(f_sin, sin(x))
FF(f_cos, cos(x))
FF(f_tan, tan(x))
FF(f_asin, asin(x))
FF(f_acos, acos(x))
FF(f_atan, atan(x))
FF(f_sinh, sinh(x))
FF(f_cosh, cosh(x))
FF(f_tanh, tanh(x))
FF(f_asinh, asinh(x))
FF(f_acosh, acosh(x))
FF(f_atanh, atanh(x))
FF(f_erf, erf(x))
FF(f_sigmoid, sigm(x))
static double softplus(double x) {
  return x > 30 ? x + log1p(exp(-x)) : log1p(exp(x));
}
FF(f_softplus, softplus(x))
FF(f_softsign, x / (1 + fabs(x)))
FF(f_mish, x * tanh(softplus(x)))
FF(f_relu, isnan2(x, x > 0 ? x : 0))
FF(f_isnan, isnan(x))
FF(f_isinf, isinf(x) && (x > 0 ? (p->mode & 1) : (p->mode & 2)))
FF(f_elu, x < 0 ? p->a * expm1(x) : x)
FF(f_selu, p->g * (x <= 0 ? p->a * expm1(x) : x))
FF(f_celu, (x > 0 ? x : 0) + fmin(0.0, p->a * expm1(x / p->a)))
static double clamp01(double v) {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
FF(f_hardsigmoid, clamp01(p->a * x + p->b))
FF(f_hardswish, x * clamp01(x / 6 + 0.5))
FF(f_leaky, x < 0 ? p->a * x : x)
FF(f_thresh, isnan2(x, x > p->a ? x : 0))
static double f_shrink(double x, double y, const Prm *p) {
  (void)y; /* a = lambd, b = bias */
  return x < -p->a ? x + p->b : x > p->a ? x - p->b : isnan2(x, 0);
}
FF(f_swish, x * sigm(p->a * x))
static double f_gelu(double x, double y, const Prm *p) {
  (void)y;
  if (p->mode) {
    const double k = 0.7978845608028654; /* sqrt(2/pi) */
    return 0.5 * x * (1 + tanh(k * (x + 0.044715 * x * x * x)));
  }
  return 0.5 * x * (1 + erf(x * 0.7071067811865476));
}
static double f_clip(double x, double y, const Prm *p) {
  (void)y;
  if (x < p->a) x = p->a;
  if (x > p->b) x = p->b;
  return x;
}
FF(f_scale, x / p->a) /* Mean: the sum over the count */

/* integers: x and y are sign- or zero-extended values of the element type (UINT64 raw
 * bits, p->uns); results are stored wrapping to the type's width. */
FI(i_add, S(U(x) + U(y)))
FI(i_sub, S(U(x) - U(y)))
FI(i_mul, S(U(x) * U(y)))
static int64_t i_div(int64_t x, int64_t y, const Prm *p) {
  if (y == 0) return 0;
  if (p->uns) return S(U(x) / U(y));
  if (y == -1) return S(0 - U(x));
  return x / y;
}
static int64_t i_mod(int64_t x, int64_t y, const Prm *p) {
  if (y == 0) return 0;
  if (p->uns) return S(U(x) % U(y));
  if (y == -1) return 0;
  int64_t r = x % y;
  if (!p->mode && r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}
static int64_t i_pow(int64_t x, int64_t y, const Prm *p) {
  return effc_ipow(x, y, p->uns);
}
FI(i_max, (p->uns ? U(x) > U(y) : x > y) ? x : y)
FI(i_min, (p->uns ? U(x) < U(y) : x < y) ? x : y)
FI(i_eq, x == y)
FI(i_gt, p->uns ? U(x) > U(y) : x > y)
FI(i_ge, p->uns ? U(x) >= U(y) : x >= y)
FI(i_lt, p->uns ? U(x) < U(y) : x < y)
FI(i_le, p->uns ? U(x) <= U(y) : x <= y)
FI(i_and, x & y)
FI(i_or, x | y)
FI(i_xor, x ^ y)
FI(i_not, !x)
FI(i_bnot, ~x)
static int64_t i_shift(int64_t x, int64_t y, const Prm *p) {
  bool out = p->sgn ? (y < 0 || y >= p->bits) : U(y) >= (uint64_t)p->bits;
  if (p->mode) { /* left */
    if (out) return 0;
    return S(U(x) << y);
  }
  if (p->sgn) { /* arithmetic shift of the sign-extended value */
    int s = out ? 63 : (int)y;
    return x < 0 ? ~(~x >> s) : x >> s;
  }
  return out ? 0 : S(U(x) >> y);
}
FI(i_abs, p->uns || x >= 0 ? x : S(0 - U(x)))
FI(i_neg, S(0 - U(x)))
FI(i_sign, p->uns ? x != 0 : (x > 0) - (x < 0))
FI(i_relu, p->uns || x > 0 ? x : 0)
FI(i_prelu, !p->uns && x < 0 ? S(U(x) * U(y)) : x)
static int64_t i_clip(int64_t x, int64_t y, const Prm *p) {
  (void)y;
  if (p->uns) {
    if (U(x) < U(p->ia)) x = p->ia;
    if (U(x) > U(p->ib)) x = p->ib;
  } else {
    if (x < p->ia) x = p->ia;
    if (x > p->ib) x = p->ib;
  }
  return x;
}
FI(i_ident, x)
FI(i_zero, 0)

/* ------------------------------------------------------------------ the op table */

#define OPD(N, T, B, F, I, FAST) static const Op OP_##N = {T, B, false, F, I, FAST};
/* binary */
OPD(Add, C_NUM, false, f_add, i_add, F_ADD)
OPD(Sub, C_NUM, false, f_sub, i_sub, F_SUB)
OPD(Mul, C_NUM, false, f_mul, i_mul, F_MUL)
OPD(Div, C_NUM, false, f_div, i_div, F_DIV)
OPD(Mod, C_NUM, false, f_mod, i_mod, F_NONE)
OPD(Max, C_NUM, false, f_max, i_max, F_MAX)
OPD(Min, C_NUM, false, f_min, i_min, F_MIN)
OPD(Equal, C_NUM | C_BOOL, true, f_eq, i_eq, F_NONE)
OPD(Greater, C_NUM | C_BOOL, true, f_gt, i_gt, F_NONE)
OPD(GreaterOrEqual, C_NUM | C_BOOL, true, f_ge, i_ge, F_NONE)
OPD(Less, C_NUM | C_BOOL, true, f_lt, i_lt, F_NONE)
OPD(LessOrEqual, C_NUM | C_BOOL, true, f_le, i_le, F_NONE)
OPD(And, C_BOOL, false, NULL, i_and, F_NONE)
OPD(Or, C_BOOL, false, NULL, i_or, F_NONE)
OPD(Xor, C_BOOL, false, NULL, i_xor, F_NONE)
OPD(BitwiseAnd, C_INT | C_BOOL, false, NULL, i_and, F_NONE)
OPD(BitwiseOr, C_INT | C_BOOL, false, NULL, i_or, F_NONE)
OPD(BitwiseXor, C_INT | C_BOOL, false, NULL, i_xor, F_NONE)
OPD(BitShift, C_INT, false, NULL, i_shift, F_NONE)
OPD(PRelu, C_NUM, false, f_prelu, i_prelu, F_NONE)
OPD(SwiGLU, C_FLT, false, f_swiglu, NULL, F_NONE)
static const Op OP_Pow = {C_NUM, false, true, f_pow, i_pow, F_NONE};
/* unary */
OPD(Abs, C_NUM, false, f_abs, i_abs, F_NONE)
OPD(Neg, C_NUM, false, f_neg, i_neg, F_NONE)
OPD(Sign, C_NUM, false, f_sign, i_sign, F_NONE)
OPD(Relu, C_NUM, false, f_relu, i_relu, F_RELU)
OPD(Ceil, C_NUM, false, f_ceil, i_ident, F_NONE)
OPD(Floor, C_NUM, false, f_floor, i_ident, F_NONE)
OPD(Round, C_NUM, false, f_round, i_ident, F_NONE)
OPD(Not, C_BOOL, false, NULL, i_not, F_NONE)
OPD(BitwiseNot, C_INT, false, NULL, i_bnot, F_NONE)
OPD(IsNaN, C_NUM, true, f_isnan, i_zero, F_NONE)
OPD(IsInf, C_NUM, true, f_isinf, i_zero, F_NONE)
OPD(Clip, C_NUM, false, f_clip, i_clip, F_NONE)
OPD(Shrink, C_NUM, false, f_shrink, NULL, F_NONE)
OPD(Reciprocal, C_FLT, false, f_recip, NULL, F_NONE)
OPD(Sqrt, C_FLT, false, f_sqrt, NULL, F_NONE)
OPD(Exp, C_FLT, false, f_exp, NULL, F_NONE)
OPD(Log, C_FLT, false, f_log, NULL, F_NONE)
OPD(Sin, C_FLT, false, f_sin, NULL, F_NONE)
OPD(Cos, C_FLT, false, f_cos, NULL, F_NONE)
OPD(Tan, C_FLT, false, f_tan, NULL, F_NONE)
OPD(Asin, C_FLT, false, f_asin, NULL, F_NONE)
OPD(Acos, C_FLT, false, f_acos, NULL, F_NONE)
OPD(Atan, C_FLT, false, f_atan, NULL, F_NONE)
OPD(Sinh, C_FLT, false, f_sinh, NULL, F_NONE)
OPD(Cosh, C_FLT, false, f_cosh, NULL, F_NONE)
OPD(Tanh, C_FLT, false, f_tanh, NULL, F_NONE)
OPD(Asinh, C_FLT, false, f_asinh, NULL, F_NONE)
OPD(Acosh, C_FLT, false, f_acosh, NULL, F_NONE)
OPD(Atanh, C_FLT, false, f_atanh, NULL, F_NONE)
OPD(Erf, C_FLT, false, f_erf, NULL, F_NONE)
OPD(Sigmoid, C_FLT, false, f_sigmoid, NULL, F_NONE)
OPD(Softplus, C_FLT, false, f_softplus, NULL, F_NONE)
OPD(Softsign, C_FLT, false, f_softsign, NULL, F_NONE)
OPD(Mish, C_FLT, false, f_mish, NULL, F_NONE)
OPD(Elu, C_FLT, false, f_elu, NULL, F_NONE)
OPD(Selu, C_FLT, false, f_selu, NULL, F_NONE)
OPD(Celu, C_FLT, false, f_celu, NULL, F_NONE)
OPD(HardSigmoid, C_FLT, false, f_hardsigmoid, NULL, F_NONE)
OPD(HardSwish, C_FLT, false, f_hardswish, NULL, F_NONE)
OPD(LeakyRelu, C_FLT, false, f_leaky, NULL, F_NONE)
OPD(ThresholdedRelu, C_FLT, false, f_thresh, NULL, F_NONE)
OPD(Swish, C_FLT, false, f_swish, NULL, F_NONE)
OPD(Gelu, C_FLT, false, f_gelu, NULL, F_NONE)
OPD(Scale, C_NUM, false, f_scale, NULL, F_NONE)
#undef OPD

/* clang-format on */

/* ------------------------------------------------------------------ broadcasting engine */

/* A broadcast iteration with dimensions of size 1 dropped and dimensions every input walks
 * contiguously merged; index 0 is the innermost. The output is dense row-major. */
typedef struct Plan {
  int n, r;
  uint64_t numel;
  int64_t dims[RT_MAX_RANK];
  int64_t st[8][RT_MAX_RANK];
} Plan;

static void plan_from(Plan *pl, const RtBcast *b) {
  pl->n = b->n;
  pl->r = 0;
  pl->numel = b->numel;
  for (int d = b->rank - 1; d >= 0; d--) {
    if (b->dims[d] == 1) continue;
    int r = pl->r;
    bool merge = r > 0;
    for (int k = 0; k < b->n && merge; k++)
      merge = b->strides[k][d] == pl->st[k][r - 1] * pl->dims[r - 1];
    if (merge) {
      pl->dims[r - 1] *= b->dims[d];
      continue;
    }
    pl->dims[r] = b->dims[d];
    for (int k = 0; k < b->n; k++) pl->st[k][r] = b->strides[k][d];
    pl->r++;
  }
}

/* A row: len output elements from oo on; input k starts at off[k] and steps st[k]. */
typedef void (*RowFn)(void *ctx, const uint64_t *off, const int64_t *st, uint64_t oo, int64_t len);

static void plan_run(const Plan *pl, RowFn fn, void *ctx) {
  if (pl->numel == 0) return;
  int64_t idx[RT_MAX_RANK] = {0}, st0[8];
  uint64_t off[8] = {0}, oo = 0;
  int64_t len = pl->r ? pl->dims[0] : 1;
  for (int k = 0; k < pl->n; k++) st0[k] = pl->r ? pl->st[k][0] : 0;
  for (;;) {
    fn(ctx, off, st0, oo, len);
    oo += (uint64_t)len;
    if (oo >= pl->numel) return;
    for (int d = 1; d < pl->r; d++) {
      for (int k = 0; k < pl->n; k++) off[k] += (uint64_t)pl->st[k][d];
      if (++idx[d] < pl->dims[d]) break;
      for (int k = 0; k < pl->n; k++) off[k] -= (uint64_t)(pl->st[k][d] * pl->dims[d]);
      idx[d] = 0;
    }
  }
}

typedef struct Job {
  const Op *op;
  const Prm *p;
  int n;
  RtValue *const *in;
  RtValue *out;
} Job;

static void row_f32(void *ctx, const uint64_t *off, const int64_t *st, uint64_t oo, int64_t len) {
  const Job *j = ctx;
  const float *a = (const float *)j->in[0]->data + off[0];
  const float *b = j->n > 1 ? (const float *)j->in[1]->data + off[1] : a;
  int64_t sa = st[0], sb = j->n > 1 ? st[1] : 0;
  float *o = (float *)j->out->data + oo;
  switch (j->op->fast) {
  case F_ADD:
    for (int64_t k = 0; k < len; k++) o[k] = a[k * sa] + b[k * sb];
    return;
  case F_SUB:
    for (int64_t k = 0; k < len; k++) o[k] = a[k * sa] - b[k * sb];
    return;
  case F_MUL:
    for (int64_t k = 0; k < len; k++) o[k] = a[k * sa] * b[k * sb];
    return;
  case F_DIV:
    for (int64_t k = 0; k < len; k++) o[k] = a[k * sa] / b[k * sb];
    return;
  case F_MAX:
  case F_MIN:
    for (int64_t k = 0; k < len; k++) {
      float x = a[k * sa], y = b[k * sb];
      if (x != x || y != y)
        o[k] = x != x ? x : y;
      else
        o[k] = (j->op->fast == F_MAX ? x > y : x < y) ? x : y;
    }
    return;
  case F_RELU:
    for (int64_t k = 0; k < len; k++) {
      float x = a[k * sa];
      o[k] = x > 0 || x != x ? x : 0.0f;
    }
    return;
  default: {
    FnF f = j->op->f;
    const Prm *p = j->p;
    for (int64_t k = 0; k < len; k++) o[k] = (float)f(a[k * sa], b[k * sb], p);
  }
  }
}

static void row_f64(void *ctx, const uint64_t *off, const int64_t *st, uint64_t oo, int64_t len) {
  const Job *j = ctx;
  FnF f = j->op->f;
  for (int64_t k = 0; k < len; k++) {
    double x = rt_get_f64(j->in[0], off[0] + (uint64_t)(k * st[0]));
    double y = j->n > 1 ? rt_get_f64(j->in[1], off[1] + (uint64_t)(k * st[1])) : 0;
    rt_set_f64(j->out, oo + (uint64_t)k, f(x, y, j->p));
  }
}

static void row_i64(void *ctx, const uint64_t *off, const int64_t *st, uint64_t oo, int64_t len) {
  const Job *j = ctx;
  FnI f = j->op->i;
  for (int64_t k = 0; k < len; k++) {
    int64_t x = rt_get_i64(j->in[0], off[0] + (uint64_t)(k * st[0]));
    int64_t y = j->n > 1 ? rt_get_i64(j->in[1], off[1] + (uint64_t)(k * st[1])) : 0;
    rt_set_i64(j->out, oo + (uint64_t)k, f(x, y, j->p));
  }
}

static void prm_types(Prm *p, ElemType e) {
  p->bits = ir_elem(e)->bits;
  p->uns = e == ELEM_UINT64;
  p->sgn = ir_elem(e)->is_signed && !ir_elem(e)->is_float;
}

static bool is_tensor(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR;
}

/* Check the inputs' types against op; false after reporting. */
static bool check_types(RtCtx *c, const Op *op, int n, RtValue *const *ins) {
  for (int k = 0; k < n; k++) {
    if (!is_tensor(ins[k])) return rt_error(c, "input %d must be a tensor", k) == 0;
    int cls = elem_class(ins[k]->elem);
    if (!(cls & op->types))
      return rt_error(c, "input %d: element type %s is not supported", k,
                      ir_elem(ins[k]->elem)->name) == 0;
    if (k > 0 && !op->mixed && ins[k]->elem != ins[0]->elem)
      return rt_error(c, "input %d is %s, input 0 is %s", k, ir_elem(ins[k]->elem)->name,
                      ir_elem(ins[0]->elem)->name) == 0;
  }
  return true;
}

/* Apply op elementwise with broadcasting to n (1 or 2) inputs; a new tensor, or NULL after
 * reporting. Types must have been checked. */
static RtValue *ew_apply(RtCtx *c, const Op *op, const Prm *p0, int n, RtValue *const *ins) {
  RtBcast b;
  if (!rt_bcast_init(c, &b, n, ins)) return NULL;
  ElemType e0 = ins[0]->elem;
  RtValue *o = rt_tensor_new(op->to_bool ? ELEM_BOOL : e0, b.rank, b.dims);
  if (!o) {
    rt_error(c, "result of rank %d is too large", b.rank);
    return NULL;
  }
  Prm p = *p0;
  prm_types(&p, e0);
  Plan pl;
  plan_from(&pl, &b);
  Job j = {op, &p, n, ins, o};
  bool all_int = true, all_f32 = o->elem == ELEM_FLOAT;
  for (int k = 0; k < n; k++) {
    int cls = elem_class(ins[k]->elem);
    all_int = all_int && (cls == C_INT || cls == C_BOOL);
    all_f32 = all_f32 && ins[k]->elem == ELEM_FLOAT;
  }
  if (all_f32 && op->f)
    plan_run(&pl, row_f32, &j);
  else if (all_int && op->i)
    plan_run(&pl, row_i64, &j);
  else
    plan_run(&pl, row_f64, &j);
  return o;
}

/* ------------------------------------------------------------------ kernel drivers */

static int finish(RtCtx *c, RtValue *v) {
  if (!v) return -1;
  rt_set_out(c, 0, v);
  return 0;
}

static int unary(RtCtx *c, const Op *op, const Prm *p) {
  Prm dflt = {0};
  if (c->n_in < 1 || !c->in[0]) return rt_error(c, "missing input");
  if (!check_types(c, op, 1, c->in)) return -1;
  return finish(c, ew_apply(c, op, p ? p : &dflt, 1, c->in));
}

/* Opset 1-6 binary ops: with broadcast=1, B's shape matches a contiguous run of A's dims
 * starting at `axis` (default: its suffix); view B with A's rank. */
static bool legacy_view(RtCtx *c, RtValue *a, RtValue *b, RtValue *view) {
  *view = *b;
  if (!rt_attr(c, "broadcast") || rt_attr_int(c, "broadcast", 0) == 0) return true;
  int ra = a->rank, rb = b->rank;
  if (b->numel == 1) { /* a scalar in any shape */
    view->rank = 0;
    return true;
  }
  if (rb > ra) return rt_error(c, "broadcast: B has higher rank than A") == 0;
  int64_t axis = rt_attr(c, "axis") ? rt_attr_int(c, "axis", 0) : ra - rb;
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra)
    return rt_error(c, "broadcast: axis %lld out of range", (long long)axis) == 0;
  view->rank = ra;
  for (int d = 0; d < ra; d++) view->dims[d] = 1;
  for (int d = 0; d < rb; d++) {
    if (b->dims[d] != a->dims[axis + d] && b->dims[d] != 1)
      return rt_error(c, "broadcast: B dim %d does not match A's dim %lld", d,
                      (long long)(axis + d)) == 0;
    view->dims[axis + d] = b->dims[d];
  }
  return true;
}

static int binary(RtCtx *c, const Op *op, const Prm *p) {
  Prm dflt = {0};
  if (c->n_in < 2 || !c->in[0] || !c->in[1]) return rt_error(c, "missing input");
  if (!check_types(c, op, 2, c->in)) return -1;
  RtValue *ins[2] = {c->in[0], c->in[1]}, view;
  if (c->op->since < 7) {
    if (!legacy_view(c, c->in[0], c->in[1], &view)) return -1;
    ins[1] = &view;
  }
  return finish(c, ew_apply(c, op, p ? p : &dflt, 2, ins));
}

/* Max, Min, Sum, Mean: fold the inputs pairwise with broadcasting (numpy's order, so
 * float16 rounds after each step as the reference does). */
static int variadic(RtCtx *c, const Op *op, bool mean) {
  Prm p = {0};
  RtValue *acc = NULL;
  int n = 0;
  for (int k = 0; k < c->n_in; k++) {
    RtValue *v = c->in[k];
    if (!v) continue;
    RtValue *pair[2] = {acc ? acc : v, v};
    if (!check_types(c, op, acc ? 2 : 1, pair)) {
      rt_unref(acc);
      return -1;
    }
    n++;
    if (!acc) {
      acc = rt_ref(v);
      continue;
    }
    RtValue *next = ew_apply(c, op, &p, 2, pair);
    rt_unref(acc);
    if (!(acc = next)) return -1;
  }
  if (!acc) return rt_error(c, "no inputs");
  if (mean && n > 1) {
    p.a = n;
    RtValue *next = ew_apply(c, &OP_Scale, &p, 1, &acc);
    rt_unref(acc);
    acc = next;
  }
  if (acc && n == 1) { /* a fresh tensor, not an alias of the input */
    RtValue *cp = rt_tensor_copy(acc);
    rt_unref(acc);
    acc = cp;
  }
  return finish(c, acc);
}

/* ------------------------------------------------------------------ kernels */

/* Kernels that are one table entry; the trailing redeclaration takes the call's ';'. */
#define UNARY(N)                                                                                   \
  int rt_k_##N(RtCtx *c) {                                                                         \
    return unary(c, &OP_##N, NULL);                                                                \
  }                                                                                                \
  extern int rt_k_##N(RtCtx *c)
#define BINARY(N)                                                                                  \
  int rt_k_##N(RtCtx *c) {                                                                         \
    return binary(c, &OP_##N, NULL);                                                               \
  }                                                                                                \
  extern int rt_k_##N(RtCtx *c)
UNARY(Abs);
UNARY(Neg);
UNARY(Sign);
UNARY(Relu);
UNARY(Ceil);
UNARY(Floor);
UNARY(Round);
UNARY(Not);
UNARY(BitwiseNot);
UNARY(IsNaN);
UNARY(Reciprocal);
UNARY(Sqrt);
UNARY(Exp);
UNARY(Log);
UNARY(Sin);
UNARY(Cos);
UNARY(Tan);
UNARY(Asin);
UNARY(Acos);
UNARY(Atan);
UNARY(Sinh);
UNARY(Cosh);
UNARY(Tanh);
UNARY(Asinh);
UNARY(Acosh);
UNARY(Atanh);
UNARY(Erf);
UNARY(Sigmoid);
UNARY(Softplus);
UNARY(Softsign);
UNARY(Mish);
UNARY(HardSwish);
BINARY(Add);
BINARY(Sub);
BINARY(Mul);
BINARY(Div);
BINARY(Pow);
BINARY(Greater);
BINARY(Less);
BINARY(GreaterOrEqual);
BINARY(LessOrEqual);
BINARY(And);
BINARY(Or);
BINARY(Xor);
BINARY(BitwiseAnd);
BINARY(BitwiseOr);
BINARY(BitwiseXor);
BINARY(PRelu);
#undef UNARY
#undef BINARY

int rt_k_Max(RtCtx *c) {
  return variadic(c, &OP_Max, false);
}
int rt_k_Min(RtCtx *c) {
  return variadic(c, &OP_Min, false);
}
int rt_k_Sum(RtCtx *c) {
  return variadic(c, &OP_Add, false);
}
int rt_k_Mean(RtCtx *c) {
  return variadic(c, &OP_Add, true);
}

int rt_k_Mod(RtCtx *c) {
  int64_t fm = rt_attr_int(c, "fmod", 0);
  if (fm != 0 && fm != 1) return rt_error(c, "fmod must be 0 or 1");
  Prm p = {.mode = (int)fm};
  return binary(c, &OP_Mod, &p);
}

int rt_k_BitShift(RtCtx *c) {
  const char *dir = rt_attr_str(c, "direction", "");
  Prm p = {0};
  if (!strcmp(dir, "LEFT"))
    p.mode = 1;
  else if (strcmp(dir, "RIGHT"))
    return rt_error(c, "direction must be LEFT or RIGHT, not '%s'", dir);
  return binary(c, &OP_BitShift, &p);
}

int rt_k_SwiGLU(RtCtx *c) {
  Prm p = {.a = rt_attr_float(c, "alpha", 1.0f)};
  return binary(c, &OP_SwiGLU, &p);
}

int rt_k_Equal(RtCtx *c) {
  if (c->n_in < 2 || !is_tensor(c->in[0]) || !is_tensor(c->in[1]))
    return rt_error(c, "Equal needs two tensors");
  if (c->in[0]->elem != ELEM_STRING) return binary(c, &OP_Equal, NULL);
  if (c->in[1]->elem != ELEM_STRING) return rt_error(c, "input 1 must be a string tensor");
  RtBcast b;
  if (!rt_bcast_init(c, &b, 2, c->in)) return -1;
  RtValue *o = rt_out(c, 0, ELEM_BOOL, b.rank, b.dims);
  if (!o) return -1;
  const IrStr *x = c->in[0]->data, *y = c->in[1]->data;
  uint8_t *r = o->data;
  for (uint64_t i = 0; i < b.numel; i++, rt_bcast_next(&b)) {
    const IrStr *s = &x[b.off[0]], *t = &y[b.off[1]];
    r[i] = s->len == t->len && (s->len == 0 || !memcmp(s->s, t->s, s->len));
  }
  return 0;
}

int rt_k_IsInf(RtCtx *c) {
  Prm p = {.mode = (rt_attr_int(c, "detect_positive", 1) ? 1 : 0) |
                   (rt_attr_int(c, "detect_negative", 1) ? 2 : 0)};
  return unary(c, &OP_IsInf, &p);
}

#define ALPHA_UNARY(N, DFLT)                                                                       \
  int rt_k_##N(RtCtx *c) {                                                                         \
    Prm p = {.a = rt_attr_float(c, "alpha", DFLT)};                                                \
    return unary(c, &OP_##N, &p);                                                                  \
  }
ALPHA_UNARY(Elu, 1.0f)
ALPHA_UNARY(Celu, 1.0f)
ALPHA_UNARY(LeakyRelu, 0.01f)
ALPHA_UNARY(ThresholdedRelu, 1.0f)
ALPHA_UNARY(Swish, 1.0f)
#undef ALPHA_UNARY

int rt_k_Selu(RtCtx *c) {
  Prm p = {.a = rt_attr_float(c, "alpha", 1.67326319217681884765625f),
           .g = rt_attr_float(c, "gamma", 1.05070102214813232421875f)};
  return unary(c, &OP_Selu, &p);
}

int rt_k_HardSigmoid(RtCtx *c) {
  Prm p = {.a = rt_attr_float(c, "alpha", 0.2f), .b = rt_attr_float(c, "beta", 0.5f)};
  return unary(c, &OP_HardSigmoid, &p);
}

int rt_k_Shrink(RtCtx *c) {
  Prm p = {.a = rt_attr_float(c, "lambd", 0.5f), .b = rt_attr_float(c, "bias", 0.0f)};
  return unary(c, &OP_Shrink, &p);
}

int rt_k_Gelu(RtCtx *c) {
  const char *ap = rt_attr_str(c, "approximate", "none");
  Prm p = {0};
  if (!strcmp(ap, "tanh"))
    p.mode = 1;
  else if (strcmp(ap, "none"))
    return rt_error(c, "approximate must be 'none' or 'tanh', not '%s'", ap);
  return unary(c, &OP_Gelu, &p);
}

/* Clip: bounds from attributes (opset < 11) or optional scalar inputs 1 and 2. */
int rt_k_Clip(RtCtx *c) {
  if (c->n_in < 1 || !is_tensor(c->in[0])) return rt_error(c, "missing input");
  RtValue *x = c->in[0];
  if (!check_types(c, &OP_Clip, 1, c->in)) return -1;
  Prm p = {.a = -INFINITY, .b = INFINITY, .ia = INT64_MIN, .ib = INT64_MAX};
  if (x->elem == ELEM_UINT64) p.ia = 0, p.ib = -1;
  if (c->op->since < 11) {
    if (c->op->since >= 6 || rt_attr(c, "min")) p.a = rt_attr_float(c, "min", -INFINITY);
    if (c->op->since >= 6 || rt_attr(c, "max")) p.b = rt_attr_float(c, "max", INFINITY);
    /* opset 6's defaults are float's limits: treat them as open bounds */
    if (p.a <= -3.4028234663852886e+38) p.a = -INFINITY;
    if (p.b >= 3.4028234663852886e+38) p.b = INFINITY;
    if (fabs(p.a) < 9e18) p.ia = (int64_t)p.a;
    if (fabs(p.b) < 9e18) p.ib = (int64_t)p.b;
  } else {
    for (int k = 1; k <= 2; k++) {
      RtValue *v = k < c->n_in ? c->in[k] : NULL;
      if (!v) continue;
      if (!is_tensor(v) || v->elem != x->elem)
        return rt_error(c, "input %d must be a tensor of the input's type", k);
      if (v->numel == 0) continue;
      if (v->numel != 1) return rt_error(c, "input %d must be a scalar", k);
      if (k == 1) {
        p.a = rt_get_f64(v, 0);
        p.ia = rt_get_i64(v, 0);
      } else {
        p.b = rt_get_f64(v, 0);
        p.ib = rt_get_i64(v, 0);
      }
    }
  }
  return finish(c, ew_apply(c, &OP_Clip, &p, 1, c->in));
}

/* ------------------------------------------------------------------ Where */

typedef struct WhereJob {
  RtValue *const *in; /* cond, x, y */
  RtValue *out;
  size_t esz; /* bytes per element; 0 for strings and sub-byte types */
} WhereJob;

static void row_where(void *ctx, const uint64_t *off, const int64_t *st, uint64_t oo, int64_t len) {
  const WhereJob *j = ctx;
  const uint8_t *cond = j->in[0]->data;
  RtValue *o = j->out;
  ElemType e = o->elem;
  for (int64_t k = 0; k < len; k++) {
    int w = cond[off[0] + (uint64_t)(k * st[0])] ? 1 : 2;
    const RtValue *s = j->in[w];
    uint64_t si = off[w] + (uint64_t)(k * st[w]), di = oo + (uint64_t)k;
    if (j->esz)
      memcpy((char *)o->data + di * j->esz, (const char *)s->data + si * j->esz, j->esz);
    else if (e == ELEM_STRING) {
      const IrStr *str = (const IrStr *)s->data + si;
      rt_str_set(o, di, str->s, str->len);
    } else if (ir_elem(e)->is_float)
      rt_set_f64(o, di, rt_get_f64(s, si));
    else
      rt_set_i64(o, di, rt_get_i64(s, si));
  }
}

int rt_k_Where(RtCtx *c) {
  if (c->n_in < 3) return rt_error(c, "Where needs 3 inputs");
  for (int k = 0; k < 3; k++)
    if (!is_tensor(c->in[k])) return rt_error(c, "input %d must be a tensor", k);
  if (c->in[0]->elem != ELEM_BOOL) return rt_error(c, "condition must be bool");
  if (c->in[1]->elem != c->in[2]->elem) return rt_error(c, "X and Y differ in element type");
  RtBcast b;
  if (!rt_bcast_init(c, &b, 3, c->in)) return -1;
  ElemType e = c->in[1]->elem;
  RtValue *o = rt_out(c, 0, e, b.rank, b.dims);
  if (!o) return -1;
  int bits = ir_elem(e)->bits;
  WhereJob j = {c->in, o, e != ELEM_STRING && bits % 8 == 0 ? (size_t)bits / 8 : 0};
  Plan pl;
  plan_from(&pl, &b);
  plan_run(&pl, row_where, &j);
  return 0;
}

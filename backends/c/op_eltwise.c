/* op_eltwise.c - elementwise operators for the C backend: one table of per-op C expressions
 * (float/double, integer and bool forms, as runtime/k_elementwise.c computes them) and one
 * emitter that writes a broadcasting loop specialized to the node's static shapes: dims of
 * size 1 dropped, dims every operand walks contiguously merged, rows split by tid. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

enum { EW_F = 1, EW_I = 2, EW_B = 4 };

/* Expressions read the operands x, y (z for Where's third), the compute type T, the
 * parameters p0..p2 (constants of type T) and U (uint64_t, for wrapping integer math).
 * `m_name(` is a libm call: `namef(` for float, `name(` for double. */
typedef struct EwDef {
  const char *family;
  int classes;  /* accepted input classes */
  bool to_bool; /* output is bool */
  const char *f; /* float and double */
  const char *i; /* integers (and bools unless b) */
  const char *u; /* unsigned integers, when they differ from i */
  const char *b; /* bool, when it differs from i */
} EwDef;

#define SIGMOID(v) "(" v " >= 0 ? 1 / (1 + m_exp(-(" v "))) : m_exp(" v ") / (1 + m_exp(" v ")))"
#define SOFTPLUS "(x > 30 ? x + m_log1p(m_exp(-x)) : m_log1p(m_exp(x)))"
#define CLAMP01(v) "(" v " < 0 ? 0 : " v " > 1 ? 1 : " v ")"
/* python's modulo (result takes the divisor's sign), as f_mod with fmod=0 */
#define PYMOD                                                                                  \
  "(y == 0 || isnan(m_fmod(x, y)) ? m_fmod(x, y) : m_fmod(x, y) != 0 ? "                      \
  "((y < 0) != (m_fmod(x, y) < 0) ? m_fmod(x, y) + y : m_fmod(x, y)) : m_copysign(0, y))"

/* clang-format off */
static const EwDef ew_defs[] = {
  {"Abs", EW_F | EW_I, false, "m_fabs(x)", "(x < 0 ? (T)(0 - (U)x) : x)", "x", NULL},
  {"Neg", EW_F | EW_I, false, "-x", "(T)(0 - (U)x)", NULL, NULL},
  {"Sign", EW_F | EW_I, false, "(isnan(x) ? x : (T)((x > 0) - (x < 0)))", "(T)((x > 0) - (x < 0))",
   "(T)(x != 0)", NULL},
  {"Relu", EW_F | EW_I, false, "(x > 0 || isnan(x) ? x : 0)", "(x > 0 ? x : 0)", "x", NULL},
  {"Ceil", EW_F | EW_I, false, "m_ceil(x)", "x", NULL, NULL},
  {"Floor", EW_F | EW_I, false, "m_floor(x)", "x", NULL, NULL},
  {"Round", EW_F | EW_I, false, "m_rint(x)", "x", NULL, NULL},
  {"Not", EW_B, false, NULL, NULL, NULL, "(T)!x"},
  {"BitwiseNot", EW_I, false, NULL, "(T)~x", NULL, NULL},
  {"IsNaN", EW_F | EW_I, true, "isnan(x)", "0", NULL, NULL},
  {"IsInf", EW_F | EW_I, true, "(isinf(x) && (x > 0 ? p0 != 0 : p1 != 0))", "0", NULL, NULL},
  {"Reciprocal", EW_F, false, "1 / x", NULL, NULL, NULL},
  {"Sqrt", EW_F, false, "m_sqrt(x)", NULL, NULL, NULL},
  {"Exp", EW_F, false, "m_exp(x)", NULL, NULL, NULL},
  {"Log", EW_F, false, "m_log(x)", NULL, NULL, NULL},
  {"Sin", EW_F, false, "m_sin(x)", NULL, NULL, NULL},
  {"Cos", EW_F, false, "m_cos(x)", NULL, NULL, NULL},
  {"Tan", EW_F, false, "m_tan(x)", NULL, NULL, NULL},
  {"Asin", EW_F, false, "m_asin(x)", NULL, NULL, NULL},
  {"Acos", EW_F, false, "m_acos(x)", NULL, NULL, NULL},
  {"Atan", EW_F, false, "m_atan(x)", NULL, NULL, NULL},
  {"Sinh", EW_F, false, "m_sinh(x)", NULL, NULL, NULL},
  {"Cosh", EW_F, false, "m_cosh(x)", NULL, NULL, NULL},
  {"Tanh", EW_F, false, "m_tanh(x)", NULL, NULL, NULL},
  {"Asinh", EW_F, false, "m_asinh(x)", NULL, NULL, NULL},
  {"Acosh", EW_F, false, "m_acosh(x)", NULL, NULL, NULL},
  {"Atanh", EW_F, false, "m_atanh(x)", NULL, NULL, NULL},
  {"Erf", EW_F, false, "m_erf(x)", NULL, NULL, NULL},
  {"Sigmoid", EW_F, false, SIGMOID("x"), NULL, NULL, NULL},
  {"Softplus", EW_F, false, SOFTPLUS, NULL, NULL, NULL},
  {"Softsign", EW_F, false, "x / (1 + m_fabs(x))", NULL, NULL, NULL},
  {"Mish", EW_F, false, "x * m_tanh" SOFTPLUS, NULL, NULL, NULL},
  {"Elu", EW_F, false, "(x < 0 ? p0 * m_expm1(x) : x)", NULL, NULL, NULL},
  {"Selu", EW_F, false, "p2 * (x <= 0 ? p0 * m_expm1(x) : x)", NULL, NULL, NULL},
  {"Celu", EW_F, false, "((x > 0 ? x : 0) + m_fmin(0, p0 * m_expm1(x / p0)))", NULL, NULL, NULL},
  {"HardSigmoid", EW_F, false, CLAMP01("(p0 * x + p1)"), NULL, NULL, NULL},
  {"HardSwish", EW_F, false, "x * " CLAMP01("(x / 6 + (T)0.5)"), NULL, NULL, NULL},
  {"LeakyRelu", EW_F, false, "(x < 0 ? p0 * x : x)", NULL, NULL, NULL},
  {"ThresholdedRelu", EW_F, false, "(x > p0 || isnan(x) ? x : 0)", NULL, NULL, NULL},
  {"Shrink", EW_F, false, "(x < -p0 ? x + p1 : x > p0 ? x - p1 : isnan(x) ? x : 0)", NULL, NULL,
   NULL},
  {"Swish", EW_F, false, "x * " SIGMOID("(p0 * x)"), NULL, NULL, NULL},
  {"Gelu", EW_F, false, "(T)0.5 * x * (1 + m_erf(x * (T)0.70710678118654752))", NULL, NULL, NULL},
  {"Gelu:tanh", EW_F, false,
   "(T)0.5 * x * (1 + m_tanh((T)0.79788456080286535 * (x + (T)0.044715 * x * x * x)))", NULL,
   NULL, NULL},
  {"Add", EW_F | EW_I, false, "x + y", "(T)((U)x + (U)y)", NULL, NULL},
  {"Sub", EW_F | EW_I, false, "x - y", "(T)((U)x - (U)y)", NULL, NULL},
  {"Mul", EW_F | EW_I, false, "x * y", "(T)((U)x * (U)y)", NULL, NULL},
  {"Div", EW_F | EW_I, false, "x / y", "(y == 0 ? 0 : y == -1 ? (T)(0 - (U)x) : (T)(x / y))",
   "(y == 0 ? 0 : (T)(x / y))", NULL},
  {"Mod", EW_F | EW_I, false, PYMOD,
   "(y == 0 || y == -1 ? 0 : x % y != 0 && ((x % y < 0) != (y < 0)) ? (T)(x % y + y) : (T)(x % y))",
   "(y == 0 ? 0 : (T)(x % y))", NULL},
  {"Mod:fmod", EW_F | EW_I, false, "m_fmod(x, y)", "(y == 0 || y == -1 ? 0 : (T)(x % y))",
   "(y == 0 ? 0 : (T)(x % y))", NULL},
  {"Pow", EW_F | EW_I, false, "(T)pow((double)x, (double)y)", "(T)effc_ipow((int64_t)x, (int64_t)y, 0)",
   NULL, NULL},
  {"Max", EW_F | EW_I, false, "(isnan(x) || isnan(y) ? (isnan(x) ? x : y) : x > y ? x : y)",
   "(x > y ? x : y)", NULL, NULL},
  {"Min", EW_F | EW_I, false, "(isnan(x) || isnan(y) ? (isnan(x) ? x : y) : x < y ? x : y)",
   "(x < y ? x : y)", NULL, NULL},
  {"Sum", EW_F | EW_I, false, "x + y", "(T)((U)x + (U)y)", NULL, NULL},
  {"Mean", EW_F, false, "x + y", NULL, NULL, NULL},
  {"Equal", EW_F | EW_I | EW_B, true, "x == y", "x == y", NULL, NULL},
  {"Greater", EW_F | EW_I | EW_B, true, "x > y", "x > y", NULL, NULL},
  {"GreaterOrEqual", EW_F | EW_I | EW_B, true, "x >= y", "x >= y", NULL, NULL},
  {"Less", EW_F | EW_I | EW_B, true, "x < y", "x < y", NULL, NULL},
  {"LessOrEqual", EW_F | EW_I | EW_B, true, "x <= y", "x <= y", NULL, NULL},
  {"And", EW_B, false, NULL, NULL, NULL, "(T)(x & y)"},
  {"Or", EW_B, false, NULL, NULL, NULL, "(T)(x | y)"},
  {"Xor", EW_B, false, NULL, NULL, NULL, "(T)(x ^ y)"},
  {"BitwiseAnd", EW_I | EW_B, false, NULL, "(T)(x & y)", NULL, NULL},
  {"BitwiseOr", EW_I | EW_B, false, NULL, "(T)(x | y)", NULL, NULL},
  {"BitwiseXor", EW_I | EW_B, false, NULL, "(T)(x ^ y)", NULL, NULL},
  /* p0 = the type's bit width */
  {"BitShift:LEFT", EW_I, false, NULL, "(y < 0 || y >= p0 ? 0 : (T)((U)x << y))",
   "(y >= p0 ? 0 : (T)((U)x << y))", NULL},
  {"BitShift:RIGHT", EW_I, false, NULL, "(T)(x >> (y < 0 || y >= p0 ? p0 - 1 : y))",
   "(y >= p0 ? 0 : (T)(x >> y))", NULL},
  {"PRelu", EW_F | EW_I, false, "(x < 0 ? x * y : x)", "(x < 0 ? (T)((U)x * (U)y) : x)", "x", NULL},
  {"Clip", EW_F | EW_I, false, "((x < p0 ? p0 : x) > p1 ? p1 : (x < p0 ? p0 : x))",
   "((x < p0 ? p0 : x) > p1 ? p1 : (x < p0 ? p0 : x))", NULL, NULL},
  {"Where", EW_F | EW_I | EW_B, false, "(c ? x : y)", "(c ? x : y)", NULL, NULL},
};
/* clang-format on */

static const EwDef *ew_find(const char *name) {
  for (size_t k = 0; k < sizeof ew_defs / sizeof *ew_defs; k++)
    if (!strcmp(ew_defs[k].family, name)) return &ew_defs[k];
  return NULL;
}

/* float16 computes in double (decoded on load, rounded once on store, as the interpreter
 * computes it). */
static int ew_class(ElemType t) {
  return t == ELEM_BOOL ? EW_B : ops_is_real(t) || t == ELEM_FLOAT16 ? EW_F : ops_is_int(t) ? EW_I : 0;
}

/* The compute type of elements of t. */
static const char *ew_ctype(ElemType t) {
  return t == ELEM_FLOAT16 ? "double" : be_ctype(t);
}

static bool is_unsigned(ElemType t) {
  return t == ELEM_UINT8 || t == ELEM_UINT16 || t == ELEM_UINT32 || t == ELEM_UINT64;
}

/* The expression for element type t, with `m_f(` calls resolved; NULL if t is refused. */
static char *ew_expr(const EwDef *d, ElemType t, char *buf, size_t len) {
  int cls = ew_class(t);
  if (!(cls & d->classes)) return NULL;
  const char *src = cls == EW_F ? d->f : cls == EW_B && d->b ? d->b
                   : is_unsigned(t) && d->u ? d->u : d->i;
  if (!src) return NULL;
  size_t o = 0;
  for (const char *s = src; *s && o + 8 < len; s++) {
    if (s[0] == 'm' && s[1] == '_' && (s == src || !(s[-1] == '_' || (s[-1] >= 'a' && s[-1] <= 'z')))) {
      s += 2;
      while ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')) buf[o++] = *s++;
      if (t == ELEM_FLOAT) buf[o++] = 'f';
      s--;
      continue;
    }
    buf[o++] = *s;
  }
  buf[o] = 0;
  return buf;
}

/* ------------------------------------------------------------------ broadcasting loop */

/* An operand: its pointer, C type, and its shape seen with the output's rank. */
typedef struct EwIn {
  const char *ptr, *ctype, *name; /* name: the variable in the expression (x, y, z, c) */
  bool f16;                       /* float16 bits, read as a double */
  int rank;
  int64_t dims[OPS_MAX_RANK];
} EwIn;

/* Write the loop: out[i] = expr(operands at i) for every element of the output, whose
 * operands broadcast numpy-style; `pre` (or NULL) holds statements run before, per
 * element (the variadic fold). Operands are named in[k].name, typed in[k].ctype. */
static void ew_loop(CEmit *e, int nin, const EwIn *in, const Value *out, const char *tname,
                    const char *pre, const char *expr) {
  int r = ce_rank(out);
  const int64_t *od = ce_dims(out);
  int64_t numel = ce_numel(out);
  /* per-operand strides on the output's dims (0 where broadcast) */
  int64_t st[8][OPS_MAX_RANK];
  for (int k = 0; k < nin; k++) {
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
      int kd = d - (r - in[k].rank);
      int64_t dim = kd >= 0 ? in[k].dims[kd] : 1;
      st[k][d] = dim == 1 ? 0 : s;
      s *= dim;
    }
  }
  /* merged dims, innermost first */
  int m = 0;
  int64_t md[OPS_MAX_RANK], ms[8][OPS_MAX_RANK];
  for (int d = r - 1; d >= 0; d--) {
    if (od[d] == 1) continue;
    bool merge = m > 0;
    for (int k = 0; k < nin && merge; k++) merge = st[k][d] == ms[k][m - 1] * md[m - 1];
    if (merge) {
      md[m - 1] *= od[d];
      continue;
    }
    md[m] = od[d];
    for (int k = 0; k < nin; k++) ms[k][m] = st[k][d];
    m++;
  }
  int64_t len = m ? md[0] : 1, rows = len ? numel / len : 0;
  ce_printf(e, "typedef %s T;\ntypedef uint64_t U;\n(void)sizeof(T);\n(void)sizeof(U);\n", tname);
  for (int k = 0; k < nin; k++)
    ce_printf(e, "const %s *in_%s = %s;\n", in[k].ctype, in[k].name, in[k].ptr);
  bool of16 = ce_elem(out) == ELEM_FLOAT16 && strcmp(tname, "uint16_t");
  ce_printf(e, "%s *o = %s;\n", be_ctype(ce_elem(out)), ce_ptr(e, out));
  /* few long rows (an unbroadcast tensor is one row): threads split the columns instead */
  bool split_j = e->o->threads > 1 && rows < 4 * e->o->threads && len >= 1024;
  if (split_j)
    ce_printf(e, "const int64_t lo = 0, hi = %" PRId64 ";\n"
                 "const int64_t jlo = %" PRId64 " * tid / nt, jhi = %" PRId64 " * (tid + 1) / nt;\n",
              rows, len, len);
  else
    ops_split(e, rows);
  ce_printf(e, "for (int64_t r = lo; r < hi; r++) {\n");
  for (int k = 0; k < nin; k++) {
    ce_printf(e, "  const int64_t b_%s = 0", in[k].name);
    int64_t q = 1; /* rows per step of merged dim d */
    for (int d = 1; d < m; d++) {
      if (ms[k][d]) {
        if (d == m - 1)
          ce_printf(e, " + r / %" PRId64 " * %" PRId64, q, ms[k][d]);
        else
          ce_printf(e, " + r / %" PRId64 " %% %" PRId64 " * %" PRId64, q, md[d], ms[k][d]);
      }
      q *= md[d];
    }
    ce_printf(e, ";\n");
  }
  if (split_j)
    ce_printf(e, "  for (int64_t j = jlo; j < jhi; j++) {\n");
  else
    ce_printf(e, "  for (int64_t j = 0; j < %" PRId64 "; j++) {\n", len);
  for (int k = 0; k < nin; k++) {
    int64_t s = m ? ms[k][0] : 0;
    char at[96];
    if (s == 0)
      snprintf(at, sizeof at, "in_%s[b_%s]", in[k].name, in[k].name);
    else if (s == 1)
      snprintf(at, sizeof at, "in_%s[b_%s + j]", in[k].name, in[k].name);
    else
      snprintf(at, sizeof at, "in_%s[b_%s + j * %" PRId64 "]", in[k].name, in[k].name, s);
    if (in[k].f16)
      ce_printf(e, "    const double %s = (double)effc_f16_to_f32(%s);\n", in[k].name, at);
    else
      ce_printf(e, "    const %s %s = %s;\n", in[k].ctype, in[k].name, at);
  }
  if (pre) ce_printf(e, "%s", pre);
  if (of16)
    ce_printf(e, "    o[r * %" PRId64 " + j] = effc_f64_to_f16((double)(%s));\n", len, expr);
  else
    ce_printf(e, "    o[r * %" PRId64 " + j] = %s;\n", len, expr);
  ce_printf(e, "  }\n}\n");
}

static void ew_in(EwIn *w, CEmit *e, const Value *v, const char *name) {
  w->ptr = ce_ptr(e, v);
  w->ctype = be_ctype(ce_elem(v));
  w->f16 = ce_elem(v) == ELEM_FLOAT16;
  if (w->f16) ce_need_kern(e, "ew");
  w->name = name;
  w->rank = ce_rank(v);
  memcpy(w->dims, ce_dims(v), sizeof(int64_t) * (size_t)w->rank);
}

/* Opsets 1-6 with broadcast=1: B's dims line up with A's from `axis` (default: the suffix). */
static bool legacy_view(const Node *n, EwIn *a, EwIn *b) {
  if (n->op->since >= 7 || !ir_node_attr(n, "broadcast") || ir_attr_int(n, "broadcast", 0) == 0)
    return true;
  int ra = a->rank, rb = b->rank;
  int64_t cnt = 1;
  for (int d = 0; d < rb; d++) cnt *= b->dims[d];
  if (cnt == 1) {
    b->rank = 0;
    return true;
  }
  if (rb > ra) return false;
  int64_t axis = ir_node_attr(n, "axis") ? ir_attr_int(n, "axis", 0) : ra - rb;
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra) return false;
  int64_t dims[OPS_MAX_RANK];
  for (int d = 0; d < ra; d++) dims[d] = 1;
  for (int d = 0; d < rb; d++) dims[axis + d] = b->dims[d];
  memcpy(b->dims, dims, sizeof dims);
  b->rank = ra;
  return true;
}

static void param(CEmit *e, int k, ElemType t, double v) {
  char lit[64];
  ce_printf(e, "const T p%d = %s;\n(void)p%d;\n", k, ops_lit(lit, sizeof lit, t, v), k);
}

static bool shapes_ok(const Node *n) {
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i] && ce_rank(n->inputs[i]) > OPS_MAX_RANK) return false;
  return n->n_outputs >= 1 && n->outputs[0] && ce_rank(n->outputs[0]) <= OPS_MAX_RANK;
}

int ops_emit_eltwise(CEmit *e, const Node *n) {
  const char *fam = n->op->family;
  char key[64];
  snprintf(key, sizeof key, "%s", fam);
  if (!strcmp(fam, "Gelu") && !strcmp(ir_attr_string(n, "approximate", "none"), "tanh"))
    snprintf(key, sizeof key, "Gelu:tanh");
  if (!strcmp(fam, "Mod") && ir_attr_int(n, "fmod", 0)) snprintf(key, sizeof key, "Mod:fmod");
  if (!strcmp(fam, "BitShift"))
    snprintf(key, sizeof key, "BitShift:%s", ir_attr_string(n, "direction", ""));
  const EwDef *d = ew_find(key);
  int nin = n->op->max_in == 1 ? 1 : 2;
  if (!d) return ce_unsupported(e, n, "no elementwise form for '%s'", key);
  if (!shapes_ok(n) || n->n_inputs < nin || !n->inputs[0] || (nin == 2 && !n->inputs[1]))
    return ce_unsupported(e, n, "missing input or rank above %d", OPS_MAX_RANK);
  const Value *out = n->outputs[0];
  ElemType t = ce_elem(n->inputs[0]);
  if (!strcmp(key, "Sigmoid") && t == ELEM_FLOAT && ce_numel(n->inputs[0]) == ce_numel(out)) {
    ce_need_kern(e, "act"); /* float Sigmoid: kern/act.c's vector form, split over threads */
    ops_split(e, ce_numel(out));
    ce_printf(e, "effc_sigmoid_f32(EFFC_ISA, %s + lo, %s + lo, hi - lo);\n",
              ce_ptr(e, n->inputs[0]), ce_ptr(e, out));
    return 0;
  }
  char expr[1024];
  if (!ew_expr(d, t, expr, sizeof expr))
    return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  if (nin == 2 && ce_elem(n->inputs[1]) != t && strcmp(fam, "Pow"))
    return ce_unsupported(e, n, "mixed element types");
  if (!strcmp(fam, "Pow") && ew_class(ce_elem(n->inputs[1])) == EW_F && ew_class(t) == EW_I)
    snprintf(expr, sizeof expr, "(T)pow((double)x, (double)y)");
  if (!strcmp(fam, "Pow") && !ew_class(ce_elem(n->inputs[1])))
    return ce_unsupported(e, n, "exponent type %s", ir_elem(ce_elem(n->inputs[1]))->name);
  if (ce_numel(out) == 0) return 0;
  if (!strcmp(fam, "Pow") && ew_class(t) == EW_I && ew_class(ce_elem(n->inputs[1])) == EW_I) {
    /* the interpreter's i_pow: unsigned arithmetic only for uint64 */
    snprintf(expr, sizeof expr, "(T)effc_ipow((int64_t)x, (int64_t)y, %d)", t == ELEM_UINT64);
    ce_need_kern(e, "ew");
  }
  EwIn in[2];
  ew_in(&in[0], e, n->inputs[0], "x");
  if (nin == 2) {
    ew_in(&in[1], e, n->inputs[1], "y");
    if (!legacy_view(n, &in[0], &in[1])) return ce_unsupported(e, n, "legacy broadcast");
  }
  ce_printf(e, "{\ntypedef %s T;\n(void)sizeof(T);\n", ew_ctype(t));
  if (!strcmp(fam, "IsInf")) {
    param(e, 0, t, (double)ir_attr_int(n, "detect_positive", 1));
    param(e, 1, t, (double)ir_attr_int(n, "detect_negative", 1));
  } else if (!strcmp(fam, "Selu")) {
    param(e, 0, t, ir_attr_float(n, "alpha", 1.67326319217681884765625f));
    param(e, 2, t, ir_attr_float(n, "gamma", 1.05070102214813232421875f));
  } else if (!strcmp(fam, "HardSigmoid")) {
    param(e, 0, t, ir_attr_float(n, "alpha", 0.2f));
    param(e, 1, t, ir_attr_float(n, "beta", 0.5f));
  } else if (!strcmp(fam, "Shrink")) {
    param(e, 0, t, ir_attr_float(n, "lambd", 0.5f));
    param(e, 1, t, ir_attr_float(n, "bias", 0.0f));
  } else if (!strcmp(fam, "LeakyRelu")) {
    param(e, 0, t, ir_attr_float(n, "alpha", 0.01f));
  } else if (!strcmp(fam, "Elu") || !strcmp(fam, "Celu") || !strcmp(fam, "ThresholdedRelu") ||
             !strcmp(fam, "Swish")) {
    param(e, 0, t, ir_attr_float(n, "alpha", 1.0f));
  } else if (!strcmp(fam, "BitShift")) {
    param(e, 0, t, ir_elem(t)->bits);
  }
  ce_printf(e, "{\n");
  ew_loop(e, nin, in, out, ew_ctype(t), NULL, expr);
  ce_printf(e, "}\n}\n");
  return 0;
}

/* Max, Min, Sum, Mean: the operands folded left to right in T, as the interpreter does
 * pairwise (float32: in float32; Mean divides the sum by the count at the end). */
int ops_emit_variadic(CEmit *e, const Node *n) {
  const char *fam = n->op->family;
  const EwDef *d = ew_find(fam);
  static const char *names[8] = {"x", "y", "a2", "a3", "a4", "a5", "a6", "a7"};
  int cnt = 0;
  for (int i = 0; i < n->n_inputs; i++) cnt += n->inputs[i] != NULL;
  if (!d || !shapes_ok(n) || cnt < 1 || cnt > 8)
    return ce_unsupported(e, n, "%d operands (1 to 8 supported)", cnt);
  ElemType t = ce_elem(n->outputs[0]);
  char pair[1024];
  if (t == ELEM_FLOAT16 && cnt > 2)
    return ce_unsupported(e, n, "float16 with more than 2 operands (rounded per step)");
  if (!ew_expr(d, t, pair, sizeof pair))
    return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  EwIn in[8];
  int k = 0;
  for (int i = 0; i < n->n_inputs; i++) {
    if (!n->inputs[i]) continue;
    if (ce_elem(n->inputs[i]) != t) return ce_unsupported(e, n, "mixed element types");
    ew_in(&in[k], e, n->inputs[i], names[k]);
    k++;
  }
  if (ce_numel(n->outputs[0]) == 0) return 0;
  /* fold: v = x; v = pair(v, operand k) for each further operand */
  char pre[8192];
  size_t o = (size_t)snprintf(pre, sizeof pre, "    T v = x;\n");
  for (int j = 1; j < cnt; j++) {
    o += (size_t)snprintf(pre + o, sizeof pre - o, "    v = ");
    for (const char *s = pair; *s && o + 16 < sizeof pre; s++) {
      bool start = s == pair || !(isalnum((unsigned char)s[-1]) || s[-1] == '_');
      bool end = !(isalnum((unsigned char)s[1]) || s[1] == '_');
      if ((*s == 'x' || *s == 'y') && start && end)
        o += (size_t)snprintf(pre + o, sizeof pre - o, "%s", *s == 'x' ? "v" : names[j]);
      else
        pre[o++] = *s;
    }
    o += (size_t)snprintf(pre + o, sizeof pre - o, ";\n");
    if (o + 64 >= sizeof pre) return ce_unsupported(e, n, "expression too long");
  }
  char fin[64] = "v";
  if (!strcmp(fam, "Mean") && cnt > 1) snprintf(fin, sizeof fin, "(T)(v / %d)", cnt);
  ce_printf(e, "{\n");
  ew_loop(e, cnt, in, n->outputs[0], ew_ctype(t), pre, fin);
  ce_printf(e, "}\n");
  return 0;
}

int ops_emit_where(CEmit *e, const Node *n) {
  if (!shapes_ok(n) || n->n_inputs != 3 || !n->inputs[0] || !n->inputs[1] || !n->inputs[2])
    return ce_unsupported(e, n, "needs 3 inputs");
  ElemType t = ce_elem(n->inputs[1]);
  if (!ops_is_plain(t) || ce_elem(n->inputs[2]) != t || ce_elem(n->inputs[0]) != ELEM_BOOL)
    return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  if (ce_numel(n->outputs[0]) == 0) return 0;
  EwIn in[3];
  ew_in(&in[0], e, n->inputs[0], "c");
  ew_in(&in[1], e, n->inputs[1], "x");
  ew_in(&in[2], e, n->inputs[2], "y");
  in[1].f16 = in[2].f16 = false; /* moved as bits */
  ce_printf(e, "{\n");
  ew_loop(e, 3, in, n->outputs[0], be_ctype(t), NULL, "(c ? x : y)");
  ce_printf(e, "}\n");
  return 0;
}

int ops_emit_clip(CEmit *e, const Node *n) {
  if (!shapes_ok(n) || n->n_inputs < 1 || !n->inputs[0]) return ce_unsupported(e, n, "no input");
  ElemType t = ce_elem(n->inputs[0]);
  const EwDef *d = ew_find("Clip");
  char expr[512];
  if (!ew_expr(d, t, expr, sizeof expr))
    return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  bool real = ops_is_real(t);
  const Value *rt_bound[3] = {NULL, NULL, NULL};
  if (t == ELEM_FLOAT16) ce_need_kern(e, "ew");
  double lo = -INFINITY, hi = INFINITY;
  int64_t ilo = INT64_MIN, ihi = INT64_MAX;
  if (t == ELEM_UINT64) ilo = 0, ihi = -1;
  if (n->op->since < 11) {
    if (n->op->since >= 6 || ir_node_attr(n, "min")) lo = ir_attr_float(n, "min", -INFINITY);
    if (n->op->since >= 6 || ir_node_attr(n, "max")) hi = ir_attr_float(n, "max", INFINITY);
    if (lo <= -3.4028234663852886e+38) lo = -INFINITY;
    if (hi >= 3.4028234663852886e+38) hi = INFINITY;
    if (fabs(lo) < 9e18) ilo = (int64_t)lo;
    if (fabs(hi) < 9e18) ihi = (int64_t)hi;
  } else {
    for (int k = 1; k <= 2; k++) {
      const Value *v = ops_in(n, k);
      if (!v) continue;
      if (ce_elem(v) != t) return ce_unsupported(e, n, "bound %d of another type", k);
      const Tensor *c = ce_const(v);
      if (!c && ce_numel(v) > 1) return ce_unsupported(e, n, "bound %d is not a scalar", k);
      if (!c) { /* read at run time */
        if (ce_numel(v) == 1) rt_bound[k] = v;
        continue;
      }
      uint64_t cnt;
      if (!ir_tensor_numel(c, &cnt) || cnt > 1)
        return ce_unsupported(e, n, "bound %d is not a scalar", k);
      if (cnt == 0) continue;
      double dv = ir_elem(t)->to_f64(c->data, 0);
      int64_t iv = real || t == ELEM_FLOAT16 ? 0 : ops_tensor_i64(c, 0);
      if (k == 1) lo = dv, ilo = iv;
      else hi = dv, ihi = iv;
    }
  }
  if (ce_numel(n->outputs[0]) == 0) return 0;
  EwIn in;
  ew_in(&in, e, n->inputs[0], "x");
  ce_printf(e, "{\n");
  ce_printf(e, "typedef %s T;\n", ew_ctype(t));
  char l0[64], l1[64];
  if (real || t == ELEM_FLOAT16) {
    ElemType lt = real ? t : ELEM_DOUBLE;
    ce_printf(e, "T p0 = %s, p1 = %s;\n", ops_lit(l0, sizeof l0, lt, lo), ops_lit(l1, sizeof l1, lt, hi));
  } else {
    /* integer bounds clamp to the type's range (the interpreter compares sign-extended) */
    int bits = ir_elem(t)->bits;
    bool sg = ir_elem(t)->is_signed;
    if (bits < 64) {
      int64_t tmin = sg ? -((int64_t)1 << (bits - 1)) : 0;
      int64_t tmax = sg ? ((int64_t)1 << (bits - 1)) - 1 : ((int64_t)1 << bits) - 1;
      if (ilo < tmin) ilo = tmin;
      if (ihi > tmax) ihi = tmax;
      if (ilo > tmax) ilo = tmax;
      if (ihi < tmin) ihi = tmin;
    }
    ce_printf(e, "T p0 = %s, p1 = %s;\n", ops_lit_i(l0, sizeof l0, t, ilo),
              ops_lit_i(l1, sizeof l1, t, ihi));
  }
  for (int k = 1; k <= 2; k++)
    if (rt_bound[k])
      ce_printf(e, t == ELEM_FLOAT16 ? "p%d = (T)effc_f16_to_f32((%s)[0]);\n" : "p%d = (%s)[0];\n",
                k - 1, ce_ptr(e, rt_bound[k]));
  ce_printf(e, "(void)p0;\n(void)p1;\n");
  ce_printf(e, "{\n");
  ew_loop(e, 1, &in, n->outputs[0], ew_ctype(t), NULL, expr);
  ce_printf(e, "}\n}\n");
  return 0;
}

/* ------------------------------------------------------------------ Cast */

/* C expression converting x (type `from`) to `to`, as runtime/k_cast.c does; NULL if the
 * pair is not handled (float16, float8, strings, sub-byte types). */
static const char *cast_expr(ElemType from, ElemType to, char *buf, size_t len) {
  int fc = ew_class(from), tc = ew_class(to);
  if (!fc || !tc) return NULL;
  const char *tt = ew_ctype(to);
  if (tc == EW_B)
    snprintf(buf, len, "(uint8_t)(x != 0)");
  else if (fc == EW_F && tc == EW_I)
    snprintf(buf, len, "(%s)effc_f2i((double)x, %d)", tt, to == ELEM_UINT64);
  else if (fc == EW_B)
    snprintf(buf, len, "(%s)(x != 0)", tt);
  else
    snprintf(buf, len, "(%s)x", tt);
  return buf;
}

int ops_emit_cast(CEmit *e, const Node *n) {
  if (!shapes_ok(n) || n->n_inputs < 1 || !n->inputs[0]) return ce_unsupported(e, n, "no input");
  ElemType from = ce_elem(n->inputs[0]), to = ce_elem(n->outputs[0]);
  char expr[256];
  if (from != to && !cast_expr(from, to, expr, sizeof expr))
    return ce_unsupported(e, n, "cast from %s to %s", ir_elem(from)->name, ir_elem(to)->name);
  if (from == to && !ops_is_plain(from))
    return ce_unsupported(e, n, "element type %s", ir_elem(from)->name);
  if (from == to) snprintf(expr, sizeof expr, "x");
  if (ce_numel(n->outputs[0]) == 0) return 0;
  if ((ew_class(from) == EW_F && ew_class(to) == EW_I) || to == ELEM_FLOAT16) ce_need_kern(e, "ew");
  EwIn in;
  ew_in(&in, e, n->inputs[0], "x");
  ce_printf(e, "{\n");
  ew_loop(e, 1, &in, n->outputs[0], ew_ctype(from), NULL, expr);
  ce_printf(e, "}\n");
  return 0;
}

/* op_basic.c - the C backend's table of general operators (elementwise, data movement,
 * reductions and normalizations; the emit functions live in op_eltwise.c, op_shape.c and
 * op_reduce.c) and the helpers those files share (ops.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

const CEmitOp ce_ops_basic[] = {
    /* unary math and activations */
    {"Abs", ops_emit_eltwise}, {"Neg", ops_emit_eltwise}, {"Sign", ops_emit_eltwise},
    {"Relu", ops_emit_eltwise}, {"Ceil", ops_emit_eltwise}, {"Floor", ops_emit_eltwise},
    {"Round", ops_emit_eltwise}, {"Not", ops_emit_eltwise}, {"BitwiseNot", ops_emit_eltwise},
    {"IsNaN", ops_emit_eltwise}, {"IsInf", ops_emit_eltwise}, {"Reciprocal", ops_emit_eltwise},
    {"Sqrt", ops_emit_eltwise}, {"Exp", ops_emit_eltwise}, {"Log", ops_emit_eltwise},
    {"Sin", ops_emit_eltwise}, {"Cos", ops_emit_eltwise}, {"Tan", ops_emit_eltwise},
    {"Asin", ops_emit_eltwise}, {"Acos", ops_emit_eltwise}, {"Atan", ops_emit_eltwise},
    {"Sinh", ops_emit_eltwise}, {"Cosh", ops_emit_eltwise}, {"Tanh", ops_emit_eltwise},
    {"Asinh", ops_emit_eltwise}, {"Acosh", ops_emit_eltwise}, {"Atanh", ops_emit_eltwise},
    {"Erf", ops_emit_eltwise}, {"Sigmoid", ops_emit_eltwise}, {"Softplus", ops_emit_eltwise},
    {"Softsign", ops_emit_eltwise}, {"Mish", ops_emit_eltwise}, {"Elu", ops_emit_eltwise},
    {"Selu", ops_emit_eltwise}, {"Celu", ops_emit_eltwise}, {"HardSigmoid", ops_emit_eltwise},
    {"HardSwish", ops_emit_eltwise}, {"LeakyRelu", ops_emit_eltwise},
    {"ThresholdedRelu", ops_emit_eltwise}, {"Shrink", ops_emit_eltwise},
    {"Swish", ops_emit_eltwise}, {"Gelu", ops_emit_eltwise},
    /* binary, with broadcasting */
    {"Add", ops_emit_eltwise}, {"Sub", ops_emit_eltwise}, {"Mul", ops_emit_eltwise},
    {"Div", ops_emit_eltwise}, {"Mod", ops_emit_eltwise}, {"Pow", ops_emit_eltwise},
    {"Equal", ops_emit_eltwise}, {"Greater", ops_emit_eltwise},
    {"GreaterOrEqual", ops_emit_eltwise}, {"Less", ops_emit_eltwise},
    {"LessOrEqual", ops_emit_eltwise}, {"And", ops_emit_eltwise}, {"Or", ops_emit_eltwise},
    {"Xor", ops_emit_eltwise}, {"BitwiseAnd", ops_emit_eltwise},
    {"BitwiseOr", ops_emit_eltwise}, {"BitwiseXor", ops_emit_eltwise},
    {"BitShift", ops_emit_eltwise}, {"PRelu", ops_emit_eltwise},
    /* variadic, ternary, conversions */
    {"Max", ops_emit_variadic}, {"Min", ops_emit_variadic}, {"Sum", ops_emit_variadic},
    {"Mean", ops_emit_variadic}, {"Where", ops_emit_where}, {"Clip", ops_emit_clip},
    {"Cast", ops_emit_cast}, {"CastLike", ops_emit_cast},
    /* data movement */
    {"Identity", ops_emit_copy}, {"Reshape", ops_emit_copy}, {"Flatten", ops_emit_copy},
    {"Squeeze", ops_emit_copy}, {"Unsqueeze", ops_emit_copy}, {"Dropout", ops_emit_copy},
    {"Transpose", ops_emit_transpose}, {"Slice", ops_emit_slice},
    {"Expand", ops_emit_expand}, {"Tile", ops_emit_tile}, {"Pad", ops_emit_pad},
    {"DepthToSpace", ops_emit_d2s}, {"SpaceToDepth", ops_emit_d2s},
    {"Concat", ops_emit_concat}, {"Split", ops_emit_split}, {"Gather", ops_emit_gather},
    {"GatherElements", ops_emit_gather_elements}, {"Shape", ops_emit_const_out},
    {"Size", ops_emit_const_out}, {"ConstantOfShape", ops_emit_const_out},
    {"Trilu", ops_emit_trilu}, {"Range", ops_emit_range}, {"GatherND", ops_emit_gather_nd},
    {"ScatterElements", ops_emit_scatter}, {"Scatter", ops_emit_scatter},
    {"ScatterND", ops_emit_scatter}, {"EyeLike", ops_emit_eyelike},
    /* reductions and normalizations */
    {"ReduceSum", ops_emit_reduce}, {"ReduceMean", ops_emit_reduce},
    {"ReduceMax", ops_emit_reduce}, {"ReduceMin", ops_emit_reduce},
    {"ReduceProd", ops_emit_reduce}, {"ReduceL1", ops_emit_reduce},
    {"ReduceL2", ops_emit_reduce}, {"ReduceLogSum", ops_emit_reduce},
    {"ReduceLogSumExp", ops_emit_reduce}, {"ReduceSumSquare", ops_emit_reduce},
    {"ArgMax", ops_emit_argminmax}, {"ArgMin", ops_emit_argminmax},
    {"Softmax", ops_emit_softmax}, {"LogSoftmax", ops_emit_softmax},
    {"Hardmax", ops_emit_softmax}, {"CumSum", ops_emit_cumsum},
    {"LayerNormalization", ops_emit_layernorm}, {"BatchNormalization", ops_emit_batchnorm},
    {"InstanceNormalization", ops_emit_instnorm}, {"GroupNormalization", ops_emit_instnorm},
    {NULL, NULL},
};

const Value *ops_in(const Node *n, int i) {
  return i < n->n_inputs ? n->inputs[i] : NULL;
}

bool ops_const_ints(const Node *n, int i, int64_t *out, int max, int *cnt) {
  const Value *v = ops_in(n, i);
  const Tensor *t = v ? ce_const(v) : NULL;
  *cnt = 0;
  if (!t || !t->has_data || t->rank > 1 || (t->elem != ELEM_INT64 && t->elem != ELEM_INT32))
    return false;
  uint64_t k;
  if (!ir_tensor_numel(t, &k) || k > (uint64_t)max) return false;
  for (uint64_t j = 0; j < k; j++) {
    if (t->elem == ELEM_INT64) {
      int64_t x;
      memcpy(&x, (const char *)t->data + 8 * j, 8);
      out[j] = x;
    } else {
      int32_t x;
      memcpy(&x, (const char *)t->data + 4 * j, 4);
      out[j] = x;
    }
  }
  *cnt = (int)k;
  return true;
}

bool ops_const_f64(const Node *n, int i, size_t k, double *out) {
  const Value *v = ops_in(n, i);
  const Tensor *t = v ? ce_const(v) : NULL;
  uint64_t cnt;
  if (!t || !t->has_data || t->elem == ELEM_STRING || !ir_tensor_numel(t, &cnt) || k >= cnt)
    return false;
  *out = ir_elem(t->elem)->to_f64(t->data, k);
  return true;
}

int64_t ops_tensor_i64(const Tensor *t, size_t k) {
  int bytes = ir_elem(t->elem)->bits / 8;
  uint64_t u = 0;
  memcpy(&u, (const char *)t->data + (size_t)bytes * k, (size_t)bytes); /* little-endian host */
  if (ir_elem(t->elem)->is_signed && bytes < 8 && (u >> (8 * bytes - 1) & 1))
    u |= ~(uint64_t)0 << (8 * bytes);
  return (int64_t)u;
}

const char *ops_lit(char *buf, size_t len, ElemType t, double v) {
  if (t == ELEM_FLOAT || t == ELEM_DOUBLE) {
    const char *ty = t == ELEM_FLOAT ? "float" : "double";
    if (isnan(v))
      snprintf(buf, len, "((%s)NAN)", ty);
    else if (isinf(v))
      snprintf(buf, len, "((%s)%sINFINITY)", ty, v < 0 ? "-" : "");
    else
      snprintf(buf, len, "((%s)%a)", ty, t == ELEM_FLOAT ? (double)(float)v : v);
    return buf;
  }
  return ops_lit_i(buf, len, t, (int64_t)v);
}

const char *ops_lit_i(char *buf, size_t len, ElemType t, int64_t v) {
  if (t == ELEM_FLOAT || t == ELEM_DOUBLE) return ops_lit(buf, len, t, (double)v);
  if (t == ELEM_UINT64)
    snprintf(buf, len, "((uint64_t)%" PRIu64 "u)", (uint64_t)v);
  else if (v == INT64_MIN)
    snprintf(buf, len, "((%s)INT64_MIN)", be_ctype(t));
  else
    snprintf(buf, len, "((%s)%" PRId64 "LL)", be_ctype(t), v);
  return buf;
}

void ops_split(CEmit *e, int64_t count) {
  ce_printf(e, "const int64_t lo = (int64_t)((uint64_t)%" PRId64 " * (uint64_t)tid / (uint64_t)nt);\n",
            count);
  ce_printf(e, "const int64_t hi = (int64_t)((uint64_t)%" PRId64 " * (uint64_t)(tid + 1) / (uint64_t)nt);\n",
            count);
}

void ops_strides(int rank, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    st[d] = s;
    s *= dims[d];
  }
}

bool ops_is_real(ElemType t) {
  return t == ELEM_FLOAT || t == ELEM_DOUBLE;
}

bool ops_is_int(ElemType t) {
  switch (t) {
  case ELEM_INT8: case ELEM_UINT8: case ELEM_INT16: case ELEM_UINT16: case ELEM_INT32:
  case ELEM_UINT32: case ELEM_INT64: case ELEM_UINT64:
    return true;
  default:
    return false;
  }
}

bool ops_is_plain(ElemType t) {
  int bits = ir_elem(t)->bits;
  return t != ELEM_STRING && bits >= 8 && bits % 8 == 0 && be_ctype(t) != NULL;
}

bool ops_axis(int64_t axis, int rank, int *out) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= (rank ? rank : 1)) return false;
  *out = (int)axis;
  return true;
}

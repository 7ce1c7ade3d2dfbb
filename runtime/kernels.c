/* kernels.c - the kernel table, expanded from ir/ops.def: row i runs rt_k_<FAMILY>. The
 * references are weak, so a family whose kernel is not written yet resolves to NULL and the
 * interpreter reports its nodes instead of the link failing. */
#include "runtime.h"

#include <assert.h>

#define OP(fam, dom, name, since, mi, ma, mo, mao, infer, attrs)                               \
  extern int rt_k_##fam(RtCtx *c) __attribute__((weak));
#include "ops.def"
#undef OP

static const RtKernel table[] = {
#define OP(fam, dom, name, since, mi, ma, mo, mao, infer, attrs) rt_k_##fam,
#include "ops.def"
#undef OP
};
static_assert(sizeof table / sizeof table[0] == IR_N_OPS, "one kernel slot per ops.def row");

RtKernel rt_kernel(const OpDef *op) { return op ? table[op->id] : NULL; }

/* ------------------------------------------------------------------ context helpers */

#include <stdarg.h>
#include <string.h>

int rt_error(RtCtx *c, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const Node *n = c->node;
  if (c->op)
    ir_error(c->d, n->loc, "node '%s' (%s-%d): %s", n->name ? n->name : "", c->op->name,
             c->op->since, msg);
  else
    ir_error(c->d, n->loc, "node '%s' (%s): %s", n->name ? n->name : "", n->op_type, msg);
  return -1;
}

RtValue *rt_out(RtCtx *c, int i, ElemType elem, int rank, const int64_t *dims) {
  if (i < 0 || i >= c->n_out) {
    rt_error(c, "output %d does not exist", i);
    return NULL;
  }
  RtValue *v = rt_tensor_new(elem, rank, dims);
  if (!v) {
    rt_error(c, "output %d: rank %d, a negative dimension, or a size too large to hold", i, rank);
    return NULL;
  }
  rt_unref(c->out[i]);
  c->out[i] = v;
  return v;
}

void rt_set_out(RtCtx *c, int i, RtValue *v) {
  if (i < 0 || i >= c->n_out) {
    rt_unref(v);
    return;
  }
  rt_unref(c->out[i]);
  c->out[i] = v;
}

bool rt_in_ints(RtCtx *c, int i, int64_t *out, size_t max, size_t *n) {
  const RtValue *v = i < c->n_in ? c->in[i] : NULL;
  *n = 0;
  if (!v) return true;
  if (v->kind != TYPE_TENSOR || (v->elem != ELEM_INT64 && v->elem != ELEM_INT32) || v->rank > 1) {
    rt_error(c, "input %d must be a 1-D int64 or int32 tensor", i);
    return false;
  }
  if (v->numel > max) {
    rt_error(c, "input %d has %llu elements, more than %zu", i, (unsigned long long)v->numel, max);
    return false;
  }
  for (uint64_t k = 0; k < v->numel; k++) out[k] = rt_get_i64(v, k);
  *n = (size_t)v->numel;
  return true;
}

bool rt_axis(RtCtx *c, int64_t axis, int rank, int *out) {
  if (axis < -(int64_t)rank || axis >= rank) {
    rt_error(c, "axis %lld is out of range for rank %d", (long long)axis, rank);
    return false;
  }
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

RtValue *rt_in_tensor(RtCtx *c, int i) {
  RtValue *v = i >= 0 && i < c->n_in ? c->in[i] : NULL;
  if (!v) {
    rt_error(c, "input %d is missing", i);
    return NULL;
  }
  if (v->kind != TYPE_TENSOR) {
    rt_error(c, "input %d must be a tensor", i);
    return NULL;
  }
  return v;
}

double rt_round_to(ElemType t, double x) {
  switch (t) {
  case ELEM_FLOAT: return (double)(float)x;
  case ELEM_FLOAT16: return ir_f16_to_f32(ir_f32_to_f16((float)x));
  case ELEM_BFLOAT16: return ir_bf16_to_f32(ir_f32_to_bf16((float)x));
  case ELEM_DOUBLE: case ELEM_COMPLEX64: case ELEM_COMPLEX128: return x;
  default: {
    if (!ir_elem(t)->is_float) return x;
    uint8_t buf[8] = {0};
    ir_elem(t)->from_f64(buf, 0, x);
    return ir_elem(t)->to_f64(buf, 0);
  }
  }
}

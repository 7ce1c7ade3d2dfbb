/* k_reduce.h - private helpers of the reduction group (k_reduce*.c): splitting a tensor's
 * elements into groups along a set of axes, and small checks the kernels share. Every
 * function is static inline so each file keeps its own copy; nothing here is exported. */
#ifndef EFFC_K_REDUCE_H
#define EFFC_K_REDUCE_H

#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A tensor's elements split by an axis mask: element (outer[o] + inner[i]) is the i-th
 * member of group o. outer enumerates the unselected axes and inner the selected ones, both
 * in row-major order, so group o is also the o-th element of the reduced tensor. */
typedef struct RdSplit {
  uint64_t n_outer, n_inner;
  uint64_t *outer, *inner;
} RdSplit;

#define RD_LIMIT ((uint64_t)1 << 31)

/* Linear offsets of all index tuples over the axes where sel[a] == want, row-major. */
static inline uint64_t *rd_offsets(int rank, const int64_t *dims, const bool *sel, bool want,
                                   uint64_t *count) {
  int64_t strides[RT_MAX_RANK], idx[RT_MAX_RANK] = {0};
  rt_strides(rank, dims, strides);
  uint64_t n = 1;
  for (int a = 0; a < rank; a++)
    if (sel[a] == want) {
      if (n == 0 || dims[a] == 0)
        n = 0;
      else if (n > RD_LIMIT || (uint64_t)dims[a] > RD_LIMIT)
        n = RD_LIMIT + 1;
      else
        n *= (uint64_t)dims[a];
    }
  *count = n;
  if (n > RD_LIMIT) return NULL; /* only reachable beside a zero dimension */
  uint64_t *off = malloc((n ? n : 1) * sizeof *off);
  if (!off) abort();
  for (uint64_t k = 0; k < n; k++) {
    uint64_t o = 0;
    for (int a = 0; a < rank; a++)
      if (sel[a] == want) o += (uint64_t)idx[a] * (uint64_t)strides[a];
    off[k] = o;
    for (int a = rank - 1; a >= 0; a--) {
      if (sel[a] != want) continue;
      if (++idx[a] < dims[a]) break;
      idx[a] = 0;
    }
  }
  return off;
}

/* False after reporting when a group count is absurd (a huge dimension beside a zero one). */
static inline bool rd_split(RtCtx *c, int rank, const int64_t *dims, const bool *sel, RdSplit *s) {
  s->outer = rd_offsets(rank, dims, sel, false, &s->n_outer);
  s->inner = rd_offsets(rank, dims, sel, true, &s->n_inner);
  if (s->outer && s->inner) return true;
  free(s->outer);
  free(s->inner);
  s->outer = s->inner = NULL;
  rt_error(c, "too many groups to enumerate");
  return false;
}

static inline void rd_split_free(RdSplit *s) {
  free(s->outer);
  free(s->inner);
  s->outer = s->inner = NULL;
}

/* A float-typed input (float, double, float16, bfloat16 and the small floats). */
static inline RtValue *rd_float_tensor(RtCtx *c, int i) {
  RtValue *v = rt_in_tensor(c, i);
  if (v &&
      (!ir_elem(v->elem)->is_float || v->elem == ELEM_COMPLEX64 || v->elem == ELEM_COMPLEX128)) {
    rt_error(c, "input %d has type %s, expected a real floating-point type", i,
             ir_elem(v->elem)->name);
    return NULL;
  }
  return v;
}

/* Element types the numeric kernels accept: real numbers and bool. */
static inline bool rd_numeric(ElemType e) {
  return e != ELEM_STRING && e != ELEM_COMPLEX64 && e != ELEM_COMPLEX128 && e != ELEM_UNDEFINED;
}

static inline bool rd_is_int(ElemType e) {
  return rd_numeric(e) && !ir_elem(e)->is_float;
}

/* Whether the node lists output i. */
static inline bool rd_wants(RtCtx *c, int i) {
  return i < c->n_out && i < c->node->n_outputs && c->node->outputs[i] != NULL;
}

#endif

/* tensor.c - constant tensors: shape, element count and payload allocation. */
#include "ir.h"

#include <string.h>

Tensor *ir_tensor_new(Arena *a, ElemType elem, int rank, const int64_t *dims) {
  Tensor *t = ir_arena_alloc(a, sizeof *t);
  t->elem = elem;
  t->rank = rank;
  if (rank > 0) t->dims = ir_arena_dup(a, dims, (size_t)rank * sizeof *dims);
  return t;
}

bool ir_tensor_numel(const Tensor *t, uint64_t *out) {
  uint64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] < 0) return false;
    uint64_t d = (uint64_t)t->dims[i];
    if (d && n > UINT64_MAX / d) return false;
    n *= d;
  }
  *out = n;
  return true;
}

bool ir_tensor_alloc_data(Arena *a, Tensor *t) {
  uint64_t n;
  size_t bytes;
  if (!ir_tensor_numel(t, &n) || !ir_elem_nbytes(t->elem, n, &bytes)) return false;
  t->data = ir_arena_alloc(a, bytes);
  t->nbytes = bytes;
  t->has_data = true;
  return true;
}

const char *ir_tensor_external(const Tensor *t, const char *key) {
  for (int i = 0; i < t->n_external; i++)
    if (t->external[i].key && !strcmp(t->external[i].key, key)) return t->external[i].value;
  return NULL;
}

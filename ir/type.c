/* type.c - value types: tensors with known, symbolic or unknown dims, and the composite
 * kinds (sequence, map, optional, sparse tensor, opaque). */
#include "ir.h"

#include <string.h>

Type *ir_type_new(Arena *a, TypeKind kind) {
  Type *t = ir_arena_alloc(a, sizeof *t);
  t->kind = kind;
  t->rank = -1;
  return t;
}

Type *ir_type_tensor(Arena *a, ElemType elem, int rank, const int64_t *dims) {
  Type *t = ir_type_new(a, TYPE_TENSOR);
  t->elem = elem;
  t->rank = rank;
  if (rank > 0) {
    t->dims = ir_arena_alloc(a, (size_t)rank * sizeof *t->dims);
    for (int i = 0; i < rank; i++) t->dims[i].value = dims ? dims[i] : -1;
  }
  return t;
}

static bool str_eq(const char *a, const char *b) {
  return a == b || (a && b && !strcmp(a, b));
}

bool ir_type_equal(const Type *x, const Type *y) {
  /* iterative along the inner chain: composite types nest only through `inner` */
  for (;;) {
    if (x == y) return true;
    if (!x || !y) return false;
    if (x->kind != y->kind || x->elem != y->elem || x->rank != y->rank) return false;
    for (int i = 0; i < x->rank; i++)
      if (x->dims[i].value != y->dims[i].value || !str_eq(x->dims[i].param, y->dims[i].param))
        return false;
    if (!str_eq(x->opaque_domain, y->opaque_domain) || !str_eq(x->opaque_name, y->opaque_name))
      return false;
    x = x->inner;
    y = y->inner;
  }
}

bool ir_type_numel(const Type *t, uint64_t *out) {
  if (!t || (t->kind != TYPE_TENSOR && t->kind != TYPE_SPARSE) || t->rank < 0) return false;
  uint64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i].param || t->dims[i].value < 0) return false;
    uint64_t d = (uint64_t)t->dims[i].value;
    if (d && n > UINT64_MAX / d) return false;
    n *= d;
  }
  *out = n;
  return true;
}

/* compare.c - CONTRACTS.md's comparison of a result with an expected value: dtype and shape
 * first, then elements (floats within atol + rtol*|want| with NaN matching NaN; integers,
 * bools and strings exactly; float8/float4 through their decoded values). */
#include "runtime.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

static bool fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *why, size_t len, const char *fmt, ...) {
  if (why && len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
  }
  return false;
}

static const char *kind_name(TypeKind k) {
  return k == TYPE_TENSOR ? "tensor" : k == TYPE_SEQUENCE ? "sequence" : k == TYPE_OPTIONAL ? "optional" : "map";
}

bool rt_compare(const RtValue *got, const RtValue *want, RtTolerance tol, char *why, size_t len) {
  if (!got || !want) return fail(why, len, "%s", got ? "unexpected value" : "missing value");
  if (got->kind != want->kind)
    return fail(why, len, "got a %s, expected a %s", kind_name(got->kind), kind_name(want->kind));
  if (got->kind != TYPE_TENSOR) {
    if (got->n_items != want->n_items)
      return fail(why, len, "got %d items, expected %d", got->n_items, want->n_items);
    for (int i = 0; i < got->n_items; i++) {
      char sub[200];
      if (!rt_compare(got->items[i], want->items[i], tol, sub, sizeof sub))
        return fail(why, len, "item %d: %s", i, sub);
    }
    return true;
  }
  char s1[160], s2[160];
  if (got->elem != want->elem || !rt_same_shape(got, want))
    return fail(why, len, "got %s, expected %s", rt_shape_str(got, s1, sizeof s1),
                rt_shape_str(want, s2, sizeof s2));
  const ElemTraits *tr = ir_elem(got->elem);
  for (uint64_t i = 0; i < got->numel; i++) {
    if (got->elem == ELEM_STRING) {
      const IrStr *a = (const IrStr *)got->data + i, *b = (const IrStr *)want->data + i;
      if (a->len != b->len || (a->len && memcmp(a->s, b->s, a->len)))
        return fail(why, len, "element %llu: got \"%.40s\", expected \"%.40s\"",
                    (unsigned long long)i, a->s ? a->s : "", b->s ? b->s : "");
    } else if (!tr->is_float) {
      if (rt_get_u64(got, i) != rt_get_u64(want, i))
        return fail(why, len, "element %llu: got %lld, expected %lld", (unsigned long long)i,
                    (long long)rt_get_i64(got, i), (long long)rt_get_i64(want, i));
    } else if (got->elem == ELEM_COMPLEX64 || got->elem == ELEM_COMPLEX128) {
      bool c64 = got->elem == ELEM_COMPLEX64;
      for (int k = 0; k < 2; k++) {
        double a = c64 ? ((const float *)got->data)[2 * i + k] : ((const double *)got->data)[2 * i + k];
        double b = c64 ? ((const float *)want->data)[2 * i + k] : ((const double *)want->data)[2 * i + k];
        if (isnan(b) ? !isnan(a) : !(fabs(a - b) <= tol.atol + tol.rtol * fabs(b)))
          return fail(why, len, "element %llu: got %.9g, expected %.9g", (unsigned long long)i, a, b);
      }
    } else {
      double a = rt_get_f64(got, i), b = rt_get_f64(want, i);
      bool ok = isnan(b) ? isnan(a) : isinf(b) ? a == b : fabs(a - b) <= tol.atol + tol.rtol * fabs(b);
      if (!ok)
        return fail(why, len, "element %llu: got %.9g, expected %.9g", (unsigned long long)i, a, b);
    }
  }
  return true;
}

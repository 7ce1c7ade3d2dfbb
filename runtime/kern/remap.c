/* remap.c - index arithmetic of the data-movement operators (Pad, Slice) shared by the
 * interpreter's tables (k_shape.c) and the C backend, which builds the same tables at
 * compile time (op_shape.c). */
#include "kern.h"

EFFC_KERN int64_t effc_pad_src(int64_t s, int64_t m, int mode) {
  if (s >= 0 && s < m) return s;
  switch (mode) {
  case EFFC_PAD_EDGE: return s < 0 ? 0 : m - 1;
  case EFFC_PAD_WRAP: return ((s % m) + m) % m;
  case EFFC_PAD_REFLECT: {
    if (m == 1) return 0;
    int64_t per = 2 * (m - 1);
    s = ((s % per) + per) % per;
    return s >= m ? per - s : s;
  }
  default: return -1;
  }
}

EFFC_KERN int64_t effc_slice_range(int64_t dim, int64_t start, int64_t end, int64_t step,
                                   int64_t *first) {
  int64_t s = start, e = end, cnt;
  if (s < 0) s += dim;
  if (e < 0) e += dim;
  if (step > 0) {
    s = s < 0 ? 0 : s > dim ? dim : s;
    e = e < 0 ? 0 : e > dim ? dim : e;
    cnt = e > s ? 1 + (e - s - 1) / step : 0;
  } else {
    s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
    e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
    int64_t q = step < -INT64_MAX ? INT64_MAX : -step;
    cnt = s > e ? 1 + (s - e - 1) / q : 0;
  }
  *first = s;
  return cnt;
}

EFFC_KERN int64_t effc_walk_offset(int64_t k, int n, const int64_t *dims, const int64_t *st) {
  int64_t off = 0;
  for (int d = n - 1; d >= 0; d--) {
    off += (k % dims[d]) * st[d];
    k /= dims[d];
  }
  return off;
}

EFFC_KERN int effc_reduce_split(int rank, const int64_t *dims, const int64_t *axes, int n_axes,
                                int noop, EffcWalk *groups, EffcWalk *members) {
  unsigned char sel[EFFC_MAX_RANK] = {0};
  if (rank > EFFC_MAX_RANK) return -1;
  for (int k = 0; k < n_axes; k++) {
    int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank) return -1;
    sel[a] = 1;
  }
  if (n_axes == 0 && !noop)
    for (int d = 0; d < rank; d++) sel[d] = 1;
  int64_t st = 1, xs[EFFC_MAX_RANK];
  for (int d = rank - 1; d >= 0; d--) {
    xs[d] = st;
    st *= dims[d];
  }
  groups->n = members->n = 0;
  groups->count = members->count = 1;
  for (int d = 0; d < rank; d++) {
    EffcWalk *w = sel[d] ? members : groups;
    w->dims[w->n] = dims[d];
    w->st[w->n++] = xs[d];
    w->count *= dims[d];
  }
  return 0;
}

/* k_reduce_linalg.c - Einsum (any equation: explicit or implicit output, repeated labels,
 * ellipsis with broadcasting; computed by enumerating every label assignment) and Det
 * (batched, LU with partial pivoting in double). */
#include "k_reduce.h"

#include <ctype.h>

/* ------------------------------------------------------------------ Einsum */

#define EIN_LETTERS 52 /* a-z then A-Z ... label ids; ellipsis dims follow */
#define EIN_MAX (EIN_LETTERS + RT_MAX_RANK)
#define EIN_MAX_IN 16

typedef struct EinTerm {
  int n;                    /* labels in the term, the ellipsis counted as one */
  int lab[RT_MAX_RANK + 1]; /* label ids; -1 marks the ellipsis */
  bool ell;
} EinTerm;

static int ein_letter(char ch) {
  if (ch >= 'a' && ch <= 'z') return ch - 'a';
  if (ch >= 'A' && ch <= 'Z') return 26 + ch - 'A';
  return -1;
}

/* Parse one term from *p up to ',' '-' or the end. */
static bool ein_term(RtCtx *c, const char **p, EinTerm *t) {
  t->n = 0;
  t->ell = false;
  const char *s = *p;
  while (*s && *s != ',' && *s != '-') {
    if (isspace((unsigned char)*s)) {
      s++;
      continue;
    }
    if (t->n > RT_MAX_RANK) {
      rt_error(c, "equation term has too many labels");
      return false;
    }
    if (s[0] == '.') {
      if (s[1] != '.' || s[2] != '.' || t->ell) {
        rt_error(c, "bad ellipsis in equation");
        return false;
      }
      t->ell = true;
      t->lab[t->n++] = -1;
      s += 3;
      continue;
    }
    int l = ein_letter(*s);
    if (l < 0) {
      rt_error(c, "bad character '%c' in equation", *s);
      return false;
    }
    t->lab[t->n++] = l;
    s++;
  }
  *p = s;
  return true;
}

int rt_k_Einsum(RtCtx *c) {
  const char *eq = rt_attr_str(c, "equation", NULL);
  if (!eq) return rt_error(c, "missing equation");
  int n_in = c->n_in;
  if (n_in < 1 || n_in > EIN_MAX_IN) return rt_error(c, "1 to %d inputs supported", EIN_MAX_IN);
  EinTerm terms[EIN_MAX_IN], outt;
  const char *p = eq;
  int k = 0;
  for (;;) {
    if (k >= n_in) return rt_error(c, "equation has more terms than the %d inputs", n_in);
    if (!ein_term(c, &p, &terms[k])) return -1;
    k++;
    if (*p == ',') {
      p++;
      continue;
    }
    break;
  }
  if (k != n_in) return rt_error(c, "equation has %d terms for %d inputs", k, n_in);
  bool explicit_out = false;
  if (*p == '-') {
    if (p[1] != '>') return rt_error(c, "bad arrow in equation");
    p += 2;
    if (!ein_term(c, &p, &outt)) return -1;
    if (*p) return rt_error(c, "trailing characters in equation");
    explicit_out = true;
  } else if (*p) {
    return rt_error(c, "bad equation");
  }
  /* sizes of each label; ellipsis dims right-aligned to the longest ellipsis */
  int64_t size[EIN_MAX];
  int count[EIN_MAX] = {0};
  for (int l = 0; l < EIN_MAX; l++) size[l] = -1;
  int ell_rank = 0, ell_r[EIN_MAX_IN];
  bool any_ell = false;
  ElemType elem = ELEM_UNDEFINED;
  for (int i = 0; i < n_in; i++) {
    RtValue *v = rt_in_tensor(c, i);
    if (!v) return -1;
    if (!rd_numeric(v->elem) || v->elem == ELEM_BOOL)
      return rt_error(c, "input type %s is not supported", ir_elem(v->elem)->name);
    if (i == 0)
      elem = v->elem;
    else if (v->elem != elem)
      return rt_error(c, "inputs differ in element type");
    int letters = terms[i].n - (terms[i].ell ? 1 : 0);
    ell_r[i] = v->rank - letters;
    if (ell_r[i] < 0 || (!terms[i].ell && ell_r[i] != 0))
      return rt_error(c, "term %d has %d labels for a rank-%d input", i, letters, v->rank);
    if (terms[i].ell) any_ell = true;
    if (ell_r[i] > ell_rank) ell_rank = ell_r[i];
  }
  /* per input: the label of each axis */
  int axlab[EIN_MAX_IN][RT_MAX_RANK];
  for (int i = 0; i < n_in; i++) {
    RtValue *v = c->in[i];
    int a = 0;
    for (int j = 0; j < terms[i].n; j++) {
      if (terms[i].lab[j] >= 0) {
        axlab[i][a++] = terms[i].lab[j];
        continue;
      }
      for (int e = 0; e < ell_r[i]; e++) axlab[i][a++] = EIN_LETTERS + ell_rank - ell_r[i] + e;
    }
    for (a = 0; a < v->rank; a++) {
      int l = axlab[i][a];
      int64_t d = v->dims[a];
      count[l]++;
      if (size[l] < 0 || size[l] == 1)
        size[l] = d;
      else if (d != size[l] && d != 1)
        return rt_error(c, "label dimension mismatch (%lld vs %lld)", (long long)size[l],
                        (long long)d);
    }
  }
  for (int e = 0; e < ell_rank; e++)
    if (size[EIN_LETTERS + e] < 0) size[EIN_LETTERS + e] = 1;
  /* output labels */
  int olab[EIN_MAX], on = 0;
  if (explicit_out) {
    bool seen[EIN_MAX] = {false};
    for (int j = 0; j < outt.n; j++) {
      if (outt.lab[j] < 0) {
        if (!any_ell) return rt_error(c, "ellipsis in the output but not in the inputs");
        for (int e = 0; e < ell_rank; e++) olab[on++] = EIN_LETTERS + e;
        continue;
      }
      int l = outt.lab[j];
      if (seen[l]) return rt_error(c, "output label repeated");
      if (count[l] == 0) return rt_error(c, "output label not in the inputs");
      seen[l] = true;
      olab[on++] = l;
    }
  } else {
    for (int e = 0; e < ell_rank; e++) olab[on++] = EIN_LETTERS + e;
    /* letters seen exactly once, in character order (upper case first) */
    for (int l = 26; l < 52; l++)
      if (count[l] == 1) olab[on++] = l;
    for (int l = 0; l < 26; l++)
      if (count[l] == 1) olab[on++] = l;
  }
  if (on > RT_MAX_RANK) return rt_error(c, "output rank too large");
  /* the loop order: output labels, then every other label used */
  int loop[EIN_MAX], nl = 0;
  bool in_out[EIN_MAX] = {false};
  for (int j = 0; j < on; j++) loop[nl++] = olab[j], in_out[olab[j]] = true;
  for (int l = 0; l < EIN_LETTERS + ell_rank; l++)
    if (count[l] > 0 && !in_out[l]) loop[nl++] = l;
  int64_t od[RT_MAX_RANK];
  for (int j = 0; j < on; j++) od[j] = size[olab[j]];
  /* per input, the stride of each loop label (sum over repeated axes; 0 if broadcast) */
  int64_t(*lst)[EIN_MAX] = calloc((size_t)n_in, sizeof *lst);
  if (!lst) abort();
  for (int i = 0; i < n_in; i++) {
    RtValue *v = c->in[i];
    int64_t st[RT_MAX_RANK];
    rt_strides(v->rank, v->dims, st);
    for (int a = 0; a < v->rank; a++) {
      int l = axlab[i][a];
      if (v->dims[a] == 1 && size[l] != 1) continue;
      for (int q = 0; q < nl; q++)
        if (loop[q] == l) lst[i][q] += st[a];
    }
  }
  RtValue *y = rt_out(c, 0, elem, on, od);
  if (!y) {
    free(lst);
    return -1;
  }
  uint64_t n_sum = 1;
  for (int q = on; q < nl; q++) n_sum *= (uint64_t)size[loop[q]];
  bool fl = ir_elem(elem)->is_float;
  int64_t idx[EIN_MAX] = {0};
  uint64_t off[EIN_MAX_IN] = {0};
  for (uint64_t o = 0; o < y->numel; o++) {
    double fa = 0;
    uint64_t ia = 0;
    for (uint64_t s = 0; s < n_sum; s++) {
      double fp = 1;
      uint64_t ip = 1;
      for (int i = 0; i < n_in; i++) {
        if (fl)
          fp *= rt_get_f64(c->in[i], off[i]);
        else
          ip *= rt_get_u64(c->in[i], off[i]);
      }
      fa += fp;
      ia += ip;
      /* step the summed labels' odometer */
      for (int q = nl - 1; q >= on; q--) {
        for (int i = 0; i < n_in; i++) off[i] += (uint64_t)lst[i][q];
        if (++idx[q] < size[loop[q]]) break;
        for (int i = 0; i < n_in; i++) off[i] -= (uint64_t)(lst[i][q] * size[loop[q]]);
        idx[q] = 0;
      }
    }
    if (fl)
      rt_set_f64(y, o, fa);
    else
      rt_set_i64(y, o, (int64_t)ia);
    for (int q = on - 1; q >= 0; q--) {
      for (int i = 0; i < n_in; i++) off[i] += (uint64_t)lst[i][q];
      if (++idx[q] < size[loop[q]]) break;
      for (int i = 0; i < n_in; i++) off[i] -= (uint64_t)(lst[i][q] * size[loop[q]]);
      idx[q] = 0;
    }
  }
  free(lst);
  return 0;
}

/* ------------------------------------------------------------------ Det */

int rt_k_Det(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0);
  if (!x) return -1;
  if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
    return rt_error(c, "input must be [..., M, M]");
  uint64_t m = (uint64_t)x->dims[x->rank - 1], mm = m * m;
  RtValue *y = rt_out(c, 0, x->elem, x->rank - 2, x->dims);
  if (!y) return -1;
  double *a = malloc((mm ? mm : 1) * sizeof *a);
  if (!a) abort();
  for (uint64_t b = 0; b < y->numel; b++) {
    for (uint64_t i = 0; i < mm; i++) a[i] = rt_get_f64(x, b * mm + i);
    double det = 1;
    for (uint64_t k = 0; k < m && det != 0; k++) {
      uint64_t piv = k;
      for (uint64_t r = k + 1; r < m; r++)
        if (fabs(a[r * m + k]) > fabs(a[piv * m + k])) piv = r;
      if (a[piv * m + k] == 0) {
        det = 0;
        break;
      }
      if (piv != k) {
        for (uint64_t j = 0; j < m; j++) {
          double t = a[k * m + j];
          a[k * m + j] = a[piv * m + j];
          a[piv * m + j] = t;
        }
        det = -det;
      }
      det *= a[k * m + k];
      for (uint64_t r = k + 1; r < m; r++) {
        double f = a[r * m + k] / a[k * m + k];
        for (uint64_t j = k; j < m; j++) a[r * m + j] -= f * a[k * m + j];
      }
    }
    rt_set_f64(y, b, det);
  }
  free(a);
  return 0;
}

/* k_misc_ml.c - ai.onnx.ml kernels: LabelEncoder (v1, v2, v4), ArrayFeatureExtractor,
 * Binarizer, Normalizer, Scaler, Imputer, OneHotEncoder, CategoryMapper, FeatureVectorizer,
 * LinearRegressor, ZipMap and the tree ensembles (TreeEnsemble-5 and the legacy
 * TreeEnsembleRegressor/Classifier) on one shared evaluator. */
#include "k_misc.h"

/* ------------------------------------------------------------------ LabelEncoder */


/* The first list attribute among names that the node carries, as a 1-D tensor. */
static RtValue *first_list(RtCtx *c, const char *const *names) {
  for (; *names; names++)
    if (rt_attr(c, *names)) return km_attr_list(c, *names);
  return NULL;
}

int rt_k_ml_LabelEncoder(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  RtValue *keys = NULL, *vals = NULL, *dflt = NULL;
  int rc = -1;
  if (c->op->since < 2) {
    keys = km_attr_list(c, "classes_strings");
    if (!keys) return rt_error(c, "attribute 'classes_strings' is required");
    int64_t n = (int64_t)keys->numel;
    if (x->elem == ELEM_STRING) {
      vals = rt_tensor_new(ELEM_INT64, 1, &n);
      for (int64_t i = 0; i < n; i++) ((int64_t *)vals->data)[i] = i;
    } else {
      /* int64 -> string: the roles of keys and values swap */
      vals = keys;
      keys = rt_tensor_new(ELEM_INT64, 1, &n);
      for (int64_t i = 0; i < n; i++) ((int64_t *)keys->data)[i] = i;
    }
  } else {
    static const char *const kn[] = {"keys_strings", "keys_int64s", "keys_floats", NULL};
    static const char *const vn[] = {"values_strings", "values_int64s", "values_floats", NULL};
    keys = km_attr_tensor(c, "keys_tensor");
    if (!keys) keys = first_list(c, kn);
    vals = km_attr_tensor(c, "values_tensor");
    if (!vals) vals = first_list(c, vn);
    dflt = km_attr_tensor(c, "default_tensor");
  }
  if (!keys || !vals) {
    rt_error(c, "keys and values attributes are required");
    goto done;
  }
  if (keys->numel != vals->numel) {
    rt_error(c, "%llu keys but %llu values", (unsigned long long)keys->numel,
             (unsigned long long)vals->numel);
    goto done;
  }
  if (dflt && (dflt->elem != vals->elem || dflt->numel < 1)) {
    rt_error(c, "default_tensor must hold one value of the values' type");
    goto done;
  }
  if (!dflt) {
    dflt = rt_scalar_new(vals->elem);
    if (vals->elem == ELEM_STRING) {
      const char *s = rt_attr_str(c, "default_string", "_Unused");
      rt_str_set(dflt, 0, s, strlen(s));
    } else if (ir_elem(vals->elem)->is_float) {
      rt_set_f64(dflt, 0, rt_attr_float(c, "default_float", -0.0f));
    } else {
      rt_set_i64(dflt, 0, rt_attr_int(c, "default_int64", -1));
    }
  }
  RtValue *y = rt_out(c, 0, vals->elem, x->rank, x->dims);
  if (!y) goto done;
  KmIndex ix;
  km_index_init(&ix, keys, x->elem);
  for (uint64_t i = 0; i < x->numel; i++) {
    int64_t k = km_index_find(&ix, x, i);
    if (k >= 0) km_copy_elem(y, i, vals, (uint64_t)k);
    else km_copy_elem(y, i, dflt, 0);
  }
  km_index_free(&ix);
  rc = 0;
done:
  rt_unref(keys);
  rt_unref(vals);
  rt_unref(dflt);
  return rc;
}

/* ------------------------------------------------------------------ simple feature ops */

int rt_k_ml_ArrayFeatureExtractor(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *ix = rt_in_tensor(c, 1);
  if (!x || !ix) return -1;
  if (ix->elem != ELEM_INT64) return rt_error(c, "indices must be int64");
  if (x->rank < 1) return rt_error(c, "input must have rank >= 1");
  int64_t dims[RT_MAX_RANK];
  int rank = x->rank;
  int64_t last = x->dims[rank - 1], k = (int64_t)ix->numel;
  if (rank == 1) {
    dims[0] = 1;
    dims[1] = k;
    rank = 2;
  } else {
    for (int i = 0; i < rank - 1; i++) dims[i] = x->dims[i];
    dims[rank - 1] = k;
  }
  const int64_t *idx = ix->data;
  for (int64_t j = 0; j < k; j++)
    if (idx[j] < 0 || idx[j] >= last)
      return rt_error(c, "index %lld is out of range [0, %lld)", (long long)idx[j], (long long)last);
  RtValue *y = rt_out(c, 0, x->elem, rank, dims);
  if (!y) return -1;
  uint64_t rows = last ? x->numel / (uint64_t)last : 0;
  for (uint64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < k; j++)
      km_copy_elem(y, r * (uint64_t)k + (uint64_t)j, x, r * (uint64_t)last + (uint64_t)idx[j]);
  return 0;
}

int rt_k_ml_Binarizer(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->elem == ELEM_STRING) return rt_error(c, "input must be numeric");
  double th = rt_attr_float(c, "threshold", 0.0f);
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  if (!y) return -1;
  for (uint64_t i = 0; i < x->numel; i++) {
    double v = rt_get_f64(x, i);
    rt_set_f64(y, i, v > th ? 1.0 : 0.0); /* NaN -> 0 */
  }
  return 0;
}

/* [N, C] view of a 1-D or 2-D input. */
static bool as_matrix(RtCtx *c, const RtValue *x, int64_t *n, int64_t *cdim) {
  if (x->rank == 1) { *n = 1; *cdim = x->dims[0]; return true; }
  if (x->rank == 2) { *n = x->dims[0]; *cdim = x->dims[1]; return true; }
  if (x->rank == 0) { *n = 1; *cdim = 1; return true; }
  rt_error(c, "input must be 1-D or 2-D");
  return false;
}

int rt_k_ml_Normalizer(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, cd;
  if (x->elem == ELEM_STRING || !as_matrix(c, x, &n, &cd)) return x->elem == ELEM_STRING ? rt_error(c, "input must be numeric") : -1;
  const char *norm = rt_attr_str(c, "norm", "MAX");
  int m = !strcmp(norm, "MAX") ? 0 : !strcmp(norm, "L1") ? 1 : !strcmp(norm, "L2") ? 2 : -1;
  if (m < 0) return rt_error(c, "unknown norm '%s'", norm);
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, x->rank, x->dims);
  if (!y) return -1;
  float *o = y->data;
  for (int64_t r = 0; r < n; r++) {
    double acc = 0;
    for (int64_t j = 0; j < cd; j++) {
      double v = rt_get_f64(x, (uint64_t)(r * cd + j));
      if (m == 0) acc = fabs(v) > acc ? fabs(v) : acc; /* largest magnitude */
      else if (m == 1) acc += fabs(v);
      else acc += v * v;
    }
    if (m == 2) acc = sqrt(acc);
    for (int64_t j = 0; j < cd; j++) {
      double v = rt_get_f64(x, (uint64_t)(r * cd + j));
      o[r * cd + j] = (float)(acc != 0 ? v / acc : v);
    }
  }
  return 0;
}

int rt_k_ml_Scaler(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->elem == ELEM_STRING) return rt_error(c, "input must be numeric");
  size_t no = 0, ns = 0;
  const float *off = rt_attr_floats(c, "offset", &no), *sc = rt_attr_floats(c, "scale", &ns);
  int64_t last = x->rank ? x->dims[x->rank - 1] : 1;
  if ((no > 1 && (int64_t)no != last) || (ns > 1 && (int64_t)ns != last))
    return rt_error(c, "offset/scale must have 1 or %lld values", (long long)last);
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, x->rank, x->dims);
  if (!y) return -1;
  for (uint64_t i = 0; i < x->numel; i++) {
    uint64_t j = last ? i % (uint64_t)last : 0;
    double o = no ? off[no > 1 ? j : 0] : 0, s = ns ? sc[ns > 1 ? j : 0] : 1;
    ((float *)y->data)[i] = (float)((rt_get_f64(x, i) - o) * s);
  }
  return 0;
}

int rt_k_ml_Imputer(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->elem == ELEM_STRING) return rt_error(c, "input must be numeric");
  int64_t last = x->rank ? x->dims[x->rank - 1] : 1;
  bool fl = ir_elem(x->elem)->is_float;
  size_t nf = 0, ni = 0;
  const float *vf = rt_attr_floats(c, "imputed_value_floats", &nf);
  const int64_t *vi = rt_attr_ints(c, "imputed_value_int64s", &ni);
  size_t nv = fl ? nf : ni;
  if (!nv || (nv > 1 && (int64_t)nv != last))
    return rt_error(c, "imputed values must have 1 or %lld entries", (long long)last);
  double rf = rt_attr_float(c, "replaced_value_float", 0.0f);
  int64_t ri = rt_attr_int(c, "replaced_value_int64", 0);
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  if (!y) return -1;
  for (uint64_t i = 0; i < x->numel; i++) {
    uint64_t j = nv > 1 && last ? i % (uint64_t)last : 0;
    if (fl) {
      double v = rt_get_f64(x, i);
      bool hit = isnan(rf) ? isnan(v) : v == rf;
      rt_set_f64(y, i, hit ? vf[j] : v);
    } else {
      int64_t v = rt_get_i64(x, i);
      rt_set_i64(y, i, v == ri ? vi[j] : v);
    }
  }
  return 0;
}

int rt_k_ml_OneHotEncoder(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->rank >= RT_MAX_RANK) return rt_error(c, "input rank too large");
  RtValue *cats = x->elem == ELEM_STRING ? km_attr_list(c, "cats_strings") : km_attr_list(c, "cats_int64s");
  if (!cats) return rt_error(c, "the cats_* attribute for this input type is missing");
  bool zeros = rt_attr_int(c, "zeros", 1) != 0;
  int64_t dims[RT_MAX_RANK];
  for (int i = 0; i < x->rank; i++) dims[i] = x->dims[i];
  dims[x->rank] = (int64_t)cats->numel;
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, x->rank + 1, dims);
  int rc = y ? 0 : -1;
  KmIndex ix;
  km_index_init(&ix, cats, x->elem);
  for (uint64_t i = 0; y && i < x->numel; i++) {
    int64_t k = km_index_find(&ix, x, i);
    if (k >= 0) ((float *)y->data)[i * cats->numel + (uint64_t)k] = 1;
    else if (!zeros) {
      rc = rt_error(c, "a value is not among the categories and zeros = 0");
      break;
    }
  }
  km_index_free(&ix);
  rt_unref(cats);
  return rc;
}

int rt_k_ml_CategoryMapper(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  RtValue *cs = km_attr_list(c, "cats_strings"), *ci = km_attr_list(c, "cats_int64s");
  int rc = -1;
  if (!cs || !ci || cs->numel != ci->numel) {
    rt_error(c, "cats_strings and cats_int64s must have the same length");
    goto done;
  }
  bool to_int = x->elem == ELEM_STRING;
  if (!to_int && x->elem != ELEM_INT64) {
    rt_error(c, "input must be string or int64");
    goto done;
  }
  RtValue *y = rt_out(c, 0, to_int ? ELEM_INT64 : ELEM_STRING, x->rank, x->dims);
  if (!y) goto done;
  const char *ds = rt_attr_str(c, "default_string", "_Unused");
  int64_t di = rt_attr_int(c, "default_int64", -1);
  const RtValue *keys = to_int ? cs : ci, *vals = to_int ? ci : cs;
  KmIndex ix;
  km_index_init(&ix, keys, x->elem);
  for (uint64_t i = 0; i < x->numel; i++) {
    int64_t k = km_index_find(&ix, x, i);
    if (k >= 0) km_copy_elem(y, i, vals, (uint64_t)k);
    else if (to_int) ((int64_t *)y->data)[i] = di;
    else rt_str_set(y, i, ds, strlen(ds));
  }
  km_index_free(&ix);
  rc = 0;
done:
  rt_unref(cs);
  rt_unref(ci);
  return rc;
}

int rt_k_ml_FeatureVectorizer(RtCtx *c) {
  size_t nd = 0;
  const int64_t *idims = rt_attr_ints(c, "inputdimensions", &nd);
  if ((int)nd != c->n_in) return rt_error(c, "inputdimensions must list every input");
  int64_t n = -1, total = 0;
  for (int i = 0; i < c->n_in; i++) {
    RtValue *x = rt_in_tensor(c, i);
    if (!x) return -1;
    if (x->elem == ELEM_STRING) return rt_error(c, "inputs must be numeric");
    int64_t rows = x->rank <= 1 ? 1 : x->dims[0];
    if (n >= 0 && rows != n) return rt_error(c, "inputs disagree on the batch size");
    n = rows;
    if (idims[i] < 0) return rt_error(c, "negative input dimension");
    total += idims[i];
  }
  int64_t dims[2] = {n < 0 ? 1 : n, total};
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, 2, dims);
  if (!y) return -1;
  int64_t col = 0;
  for (int i = 0; i < c->n_in; i++) {
    RtValue *x = c->in[i];
    uint64_t per = dims[0] ? x->numel / (uint64_t)dims[0] : 0;
    for (int64_t r = 0; r < dims[0]; r++)
      for (int64_t j = 0; j < idims[i] && (uint64_t)j < per; j++)
        ((float *)y->data)[r * total + col + j] = (float)rt_get_f64(x, (uint64_t)r * per + (uint64_t)j);
    col += idims[i];
  }
  return 0;
}

/* ------------------------------------------------------------------ post transforms */

enum { PT_NONE, PT_SOFTMAX, PT_LOGISTIC, PT_SOFTMAX_ZERO, PT_PROBIT };

static int post_from_name(const char *s) {
  static const char *const names[] = {"NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT"};
  for (int i = 0; i < 5; i++)
    if (!strcmp(s, names[i])) return i;
  return -1;
}

/* Inverse error function: the approximation ONNX's reference uses (Winitzki). */
static double erf_inv(double x) {
  double sgn = x < 0 ? -1.0 : 1.0;
  x = (1.0 - x) * (1.0 + x);
  if (x == 0) return 0;
  double l = log(x), a = 0.147;
  double v = 2.0 / (M_PI * a) + 0.5 * l, v2 = l / a;
  return sgn * sqrt(-v + sqrt(v * v - v2));
}

static void post_transform(int pt, double *v, int64_t n) {
  switch (pt) {
  case PT_SOFTMAX: {
    double mx = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    for (int64_t i = 0; i < n; i++) s += (v[i] = exp(v[i] - mx));
    for (int64_t i = 0; i < n; i++) v[i] /= s;
    break;
  }
  case PT_SOFTMAX_ZERO: {
    double mx = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    for (int64_t i = 0; i < n; i++) {
      v[i] = fabs(v[i]) > 1e-7 ? exp(v[i] - mx) : v[i] * exp(-mx);
      s += v[i];
    }
    for (int64_t i = 0; i < n; i++) v[i] = s == 0 ? 0.5 : v[i] / s;
    break;
  }
  case PT_LOGISTIC:
    for (int64_t i = 0; i < n; i++) {
      double e = 1.0 / (1.0 + exp(-fabs(v[i])));
      v[i] = v[i] < 0 ? 1.0 - e : e;
    }
    break;
  case PT_PROBIT:
    for (int64_t i = 0; i < n; i++) v[i] = 1.41421356 * erf_inv(v[i] * 2 - 1);
    break;
  default: break;
  }
}

/* ------------------------------------------------------------------ LinearRegressor */

int rt_k_ml_LinearRegressor(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, f;
  if (x->elem == ELEM_STRING) return rt_error(c, "input must be numeric");
  if (!as_matrix(c, x, &n, &f)) return -1;
  size_t nc = 0, ni = 0;
  const float *coef = rt_attr_floats(c, "coefficients", &nc);
  const float *icpt = rt_attr_floats(c, "intercepts", &ni);
  int64_t t = rt_attr_int(c, "targets", 1);
  int pt = post_from_name(rt_attr_str(c, "post_transform", "NONE"));
  if (t < 1 || (int64_t)nc != t * f || (ni && (int64_t)ni != t) || pt < 0)
    return rt_error(c, "coefficients must be targets x features, intercepts one per target");
  int64_t dims[2] = {n, t};
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, 2, dims);
  if (!y) return -1;
  double *row = malloc(sizeof(double) * (size_t)t);
  for (int64_t r = 0; r < n; r++) {
    for (int64_t k = 0; k < t; k++) {
      double s = ni ? icpt[k] : 0;
      for (int64_t j = 0; j < f; j++) s += coef[k * f + j] * rt_get_f64(x, (uint64_t)(r * f + j));
      row[k] = s;
    }
    post_transform(pt, row, t);
    for (int64_t k = 0; k < t; k++) ((float *)y->data)[r * t + k] = (float)row[k];
  }
  free(row);
  return 0;
}

/* ------------------------------------------------------------------ tree ensembles */

enum { M_LEQ, M_LT, M_GTE, M_GT, M_EQ, M_NEQ, M_MEMBER, M_LEAF };

typedef struct TNode {
  int mode;
  int64_t feature;
  double split;
  int64_t t, f;        /* child node indices */
  bool miss_true;
  int64_t set0, setn;  /* MEMBER: range in the ensemble's set values */
  int64_t w0, wn;      /* LEAF: range in the ensemble's (target, weight) entries */
} TNode;

typedef struct Ensemble {
  TNode *nodes;
  int64_t n_nodes;
  int64_t *roots;
  int64_t n_roots;
  double *sets;
  int64_t *wt_target;
  double *wt_weight;
  int64_t n_wt;
} Ensemble;

static void ens_free(Ensemble *e) {
  free(e->nodes);
  free(e->roots);
  free(e->sets);
  free(e->wt_target);
  free(e->wt_weight);
}

/* Follow one tree for one row; returns the leaf node or -1 on a cycle/bad index. */
static int64_t ens_leaf(const Ensemble *e, int64_t root, const RtValue *x, uint64_t row,
                        int64_t nfeat) {
  int64_t k = root;
  for (int64_t steps = 0; steps <= e->n_nodes; steps++) {
    if (k < 0 || k >= e->n_nodes) return -1;
    const TNode *nd = &e->nodes[k];
    if (nd->mode == M_LEAF) return k;
    if (nd->feature < 0 || nd->feature >= nfeat) return -1;
    double v = rt_get_f64(x, row * (uint64_t)nfeat + (uint64_t)nd->feature);
    bool go;
    if (isnan(v) && nd->miss_true) go = true;
    else switch (nd->mode) {
      case M_LEQ: go = v <= nd->split; break;
      case M_LT: go = v < nd->split; break;
      case M_GTE: go = v >= nd->split; break;
      case M_GT: go = v > nd->split; break;
      case M_EQ: go = v == nd->split; break;
      case M_NEQ: go = v != nd->split; break;
      default:
        go = false;
        for (int64_t s = 0; s < nd->setn; s++)
          if (e->sets[nd->set0 + s] == v) go = true;
      }
    k = go ? nd->t : nd->f;
  }
  return -1;
}

enum { AGG_AVERAGE, AGG_SUM, AGG_MIN, AGG_MAX };

/* Scores [n, nt] (row-major doubles): aggregate every tree's leaf entries. `init` is the
 * starting value for MIN/MAX targets. */
static int ens_scores(RtCtx *c, const Ensemble *e, const RtValue *x, int64_t n, int64_t nfeat,
                      int64_t nt, int agg, double init, double *out) {
  for (int64_t r = 0; r < n; r++) {
    double *o = out + r * nt;
    for (int64_t k = 0; k < nt; k++) o[k] = agg == AGG_MIN || agg == AGG_MAX ? init : 0;
    for (int64_t t = 0; t < e->n_roots; t++) {
      int64_t leaf = ens_leaf(e, e->roots[t], x, (uint64_t)r, nfeat);
      if (leaf < 0) return rt_error(c, "tree %lld: bad node reference or feature id", (long long)t);
      const TNode *nd = &e->nodes[leaf];
      for (int64_t w = nd->w0; w < nd->w0 + nd->wn; w++) {
        int64_t tg = e->wt_target[w];
        double v = e->wt_weight[w];
        if (tg < 0 || tg >= nt) return rt_error(c, "target id %lld out of range", (long long)tg);
        if (agg == AGG_MIN) o[tg] = v < o[tg] ? v : o[tg];
        else if (agg == AGG_MAX) o[tg] = v > o[tg] ? v : o[tg];
        else o[tg] += v;
      }
    }
    if (agg == AGG_AVERAGE && e->n_roots)
      for (int64_t k = 0; k < nt; k++) o[k] /= (double)e->n_roots;
  }
  return 0;
}

/* Values of a tensor attribute as doubles (malloc'd); NULL when absent. */
static double *attr_tensor_f64(RtCtx *c, const char *name, int64_t *n) {
  RtValue *v = km_attr_tensor(c, name);
  if (!v) return NULL;
  double *d = NULL;
  if (v->elem != ELEM_STRING) {
    d = malloc(sizeof(double) * (v->numel ? v->numel : 1));
    for (uint64_t i = 0; i < v->numel; i++) d[i] = rt_get_f64(v, i);
    *n = (int64_t)v->numel;
  }
  rt_unref(v);
  return d;
}

int rt_k_ml_TreeEnsemble(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (!ir_elem(x->elem)->is_float || x->rank != 2) return rt_error(c, "X must be a 2-D float tensor");
  size_t nf = 0, ntr = 0, nfl = 0, nti = 0, nfi = 0, nlt = 0, nr = 0, nmv = 0;
  const int64_t *feat = rt_attr_ints(c, "nodes_featureids", &nf);
  const int64_t *tl = rt_attr_ints(c, "nodes_trueleafs", &ntr);
  const int64_t *fl = rt_attr_ints(c, "nodes_falseleafs", &nfl);
  const int64_t *ti = rt_attr_ints(c, "nodes_truenodeids", &nti);
  const int64_t *fi = rt_attr_ints(c, "nodes_falsenodeids", &nfi);
  const int64_t *ltg = rt_attr_ints(c, "leaf_targetids", &nlt);
  const int64_t *roots = rt_attr_ints(c, "tree_roots", &nr);
  const int64_t *mv = rt_attr_ints(c, "nodes_missing_value_tracks_true", &nmv);
  int64_t nsplit = 0, nlw = 0, nmode = 0, nset = 0;
  double *splits = attr_tensor_f64(c, "nodes_splits", &nsplit);
  double *lw = attr_tensor_f64(c, "leaf_weights", &nlw);
  double *modes = attr_tensor_f64(c, "nodes_modes", &nmode);
  double *sets = attr_tensor_f64(c, "membership_values", &nset);
  Ensemble e = {0};
  int rc = -1;
  int64_t nb = (int64_t)nf, nl = (int64_t)nlt;
  int64_t nt = rt_attr_int(c, "n_targets", 1);
  int agg = (int)rt_attr_int(c, "aggregate_function", 1);
  int pt = (int)rt_attr_int(c, "post_transform", 0);
  if (!feat || !splits || !lw || !modes || !roots || !tl || !fl || !ti || !fi || !ltg ||
      (int64_t)ntr != nb || (int64_t)nfl != nb || (int64_t)nti != nb || (int64_t)nfi != nb ||
      nsplit != nb || nmode != nb || nlw != nl || (mv && (int64_t)nmv != nb) || nt < 1 ||
      agg < 0 || agg > 3 || pt < 0 || pt > 4) {
    rt_error(c, "inconsistent tree ensemble attributes");
    goto done;
  }
  /* nodes 0..nb-1 are branches, nb..nb+nl-1 the leaves */
  e.n_nodes = nb + nl;
  e.nodes = calloc((size_t)(e.n_nodes ? e.n_nodes : 1), sizeof *e.nodes);
  e.n_wt = nl;
  e.wt_target = malloc(sizeof(int64_t) * (size_t)(nl ? nl : 1));
  e.wt_weight = malloc(sizeof(double) * (size_t)(nl ? nl : 1));
  e.sets = sets;
  sets = NULL;
  int64_t setpos = 0;
  for (int64_t i = 0; i < nb; i++) {
    TNode *nd = &e.nodes[i];
    nd->mode = (int)modes[i];
    if (nd->mode < M_LEQ || nd->mode > M_MEMBER) {
      rt_error(c, "node %lld: unknown mode %d", (long long)i, nd->mode);
      goto done;
    }
    nd->feature = feat[i];
    nd->split = splits[i];
    nd->miss_true = mv && mv[i];
    nd->t = tl[i] ? nb + ti[i] : ti[i];
    nd->f = fl[i] ? nb + fi[i] : fi[i];
    if ((tl[i] && (ti[i] < 0 || ti[i] >= nl)) || (fl[i] && (fi[i] < 0 || fi[i] >= nl))) {
      rt_error(c, "node %lld: leaf index out of range", (long long)i);
      goto done;
    }
    if (nd->mode == M_MEMBER) {
      nd->set0 = setpos;
      while (setpos < nset && !isnan(e.sets[setpos])) setpos++;
      if (setpos >= nset) {
        rt_error(c, "membership_values has fewer sets than MEMBER nodes");
        goto done;
      }
      nd->setn = setpos - nd->set0;
      setpos++; /* the NaN separator */
    }
  }
  for (int64_t i = 0; i < nl; i++) {
    TNode *nd = &e.nodes[nb + i];
    nd->mode = M_LEAF;
    nd->w0 = i;
    nd->wn = 1;
    e.wt_target[i] = ltg[i];
    e.wt_weight[i] = lw[i];
  }
  e.n_roots = (int64_t)nr;
  e.roots = malloc(sizeof(int64_t) * (nr ? nr : 1));
  for (size_t t = 0; t < nr; t++) {
    int64_t r = roots[t];
    if (r < 0 || r >= nb) {
      rt_error(c, "tree root %lld out of range", (long long)r);
      goto done;
    }
    /* a tree that is a single leaf: both branches name the same leaf */
    e.roots[t] = tl[r] && fl[r] && ti[r] == fi[r] ? nb + ti[r] : r;
  }
  int64_t n = x->dims[0], dims[2] = {n, nt};
  double big = x->elem == ELEM_DOUBLE ? 1.7976931348623157e308 : 3.4028234663852886e38;
  double *sc = malloc(sizeof(double) * (size_t)(n * nt > 0 ? n * nt : 1));
  if (ens_scores(c, &e, x, n, x->dims[1], nt, agg, agg == AGG_MIN ? big : -big, sc) == 0) {
    RtValue *y = rt_out(c, 0, x->elem, 2, dims);
    if (y) {
      for (int64_t r = 0; r < n; r++) post_transform(pt, sc + r * nt, nt);
      for (int64_t i = 0; i < n * nt; i++) rt_set_f64(y, (uint64_t)i, sc[i]);
      rc = 0;
    }
  }
  free(sc);
done:
  ens_free(&e);
  free(splits);
  free(lw);
  free(modes);
  free(sets);
  return rc;
}

typedef struct Key {
  int64_t tree, node, idx;
} Key;

static int key_cmp(const void *a, const void *b) {
  const Key *x = a, *y = b;
  if (x->tree != y->tree) return x->tree < y->tree ? -1 : 1;
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Node index of (tree, node) in the sorted table, -1 if absent (first of duplicates). */
static int64_t key_find(const Key *k, size_t n, int64_t tree, int64_t node) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (k[mid].tree < tree || (k[mid].tree == tree && k[mid].node < node)) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && k[lo].tree == tree && k[lo].node == node ? k[lo].idx : -1;
}

/* Legacy (TreeEnsembleRegressor/Classifier) layout: nodes keyed by (treeid, nodeid), leaf
 * entries keyed the same way by the target_* / class_* lists. */
static int legacy_build(RtCtx *c, Ensemble *e, const char *pfx) {
  size_t nn = 0, n1, n2, n3, n4, nm = 0, nv = 0, nw = 0, nwt, nwn, nwi, nmv = 0;
  const int64_t *tids = rt_attr_ints(c, "nodes_treeids", &nn);
  const int64_t *nids = rt_attr_ints(c, "nodes_nodeids", &n1);
  const int64_t *feat = rt_attr_ints(c, "nodes_featureids", &n2);
  const int64_t *tn = rt_attr_ints(c, "nodes_truenodeids", &n3);
  const int64_t *fn = rt_attr_ints(c, "nodes_falsenodeids", &n4);
  const int64_t *mv = rt_attr_ints(c, "nodes_missing_value_tracks_true", &nmv);
  const Attr *ma = rt_attr(c, "nodes_modes");
  nm = ma && ma->type == ATTR_STRINGS ? ma->n : 0;
  int64_t nvals = 0, nwts = 0;
  double *vals = attr_tensor_f64(c, "nodes_values_as_tensor", &nvals);
  if (!vals) {
    const float *vf = rt_attr_floats(c, "nodes_values", &nv);
    nvals = (int64_t)nv;
    vals = malloc(sizeof(double) * (nv ? nv : 1));
    for (size_t i = 0; i < nv; i++) vals[i] = vf ? vf[i] : 0;
  }
  char nm_t[32], nm_n[32], nm_i[32], nm_w[40], nm_wt[48];
  snprintf(nm_t, sizeof nm_t, "%s_treeids", pfx);
  snprintf(nm_n, sizeof nm_n, "%s_nodeids", pfx);
  snprintf(nm_i, sizeof nm_i, "%s_ids", pfx);
  snprintf(nm_w, sizeof nm_w, "%s_weights", pfx);
  snprintf(nm_wt, sizeof nm_wt, "%s_weights_as_tensor", pfx);
  const int64_t *wt = rt_attr_ints(c, nm_t, &nwt);
  const int64_t *wn = rt_attr_ints(c, nm_n, &nwn);
  const int64_t *wi = rt_attr_ints(c, nm_i, &nwi);
  double *ww = attr_tensor_f64(c, nm_wt, &nwts);
  if (!ww) {
    const float *wf = rt_attr_floats(c, nm_w, &nw);
    nwts = (int64_t)nw;
    ww = malloc(sizeof(double) * (nw ? nw : 1));
    for (size_t i = 0; i < nw; i++) ww[i] = wf ? wf[i] : 0;
  }
  int rc = -1;
  if (!tids || !nids || !feat || !tn || !fn || n1 != nn || n2 != nn || n3 != nn || n4 != nn ||
      nm != nn || (int64_t)nn != nvals || (mv && nmv != nn) || !wt || !wn || !wi ||
      nwn != nwt || nwi != nwt || (int64_t)nwt != nwts) {
    rt_error(c, "inconsistent tree ensemble attributes");
    goto done;
  }
  e->n_nodes = (int64_t)nn;
  e->nodes = calloc(nn ? nn : 1, sizeof *e->nodes);
  e->n_wt = (int64_t)nwt;
  e->wt_target = malloc(sizeof(int64_t) * (nwt ? nwt : 1));
  e->wt_weight = malloc(sizeof(double) * (nwt ? nwt : 1));
  e->roots = malloc(sizeof(int64_t) * (nn ? nn : 1));
  /* (tree, node) -> node index through a sorted key table */
  Key *keys = malloc(sizeof(Key) * (nn ? nn : 1));
  for (size_t i = 0; i < nn; i++) keys[i] = (Key){tids[i], nids[i], (int64_t)i};
  qsort(keys, nn, sizeof(Key), key_cmp);
  static const char *const mn[] = {"BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT",
                                   "BRANCH_EQ", "BRANCH_NEQ", "BRANCH_MEMBER", "LEAF"};
  bool *is_child = calloc(nn ? nn : 1, 1);
  int64_t *cnt = calloc(nn + 1, sizeof(int64_t)), *owner = malloc(sizeof(int64_t) * (nwt ? nwt : 1));
  for (size_t i = 0; i < nn; i++) {
    TNode *nd = &e->nodes[i];
    nd->mode = -1;
    for (int m = 0; m < 8; m++)
      if (!strcmp(ma->strings[i].s, mn[m])) nd->mode = m;
    if (nd->mode < 0 || nd->mode == M_MEMBER) {
      rt_error(c, "node %zu: unsupported mode '%s'", i, ma->strings[i].s);
      goto fail;
    }
    nd->feature = feat[i];
    nd->split = vals[i];
    nd->miss_true = mv && mv[i];
    if (nd->mode != M_LEAF) {
      nd->t = key_find(keys, nn, tids[i], tn[i]);
      nd->f = key_find(keys, nn, tids[i], fn[i]);
      if (nd->t < 0 || nd->f < 0) {
        rt_error(c, "node %zu: child not found", i);
        goto fail;
      }
      is_child[nd->t] = is_child[nd->f] = true;
    }
  }
  /* leaf entries grouped by their node (counting sort keeps the listed order) */
  for (size_t k = 0; k < nwt; k++) {
    owner[k] = key_find(keys, nn, wt[k], wn[k]);
    if (owner[k] >= 0 && e->nodes[owner[k]].mode == M_LEAF) cnt[owner[k] + 1]++;
    else owner[k] = -1;
  }
  for (size_t i = 0; i < nn; i++) {
    cnt[i + 1] += cnt[i];
    e->nodes[i].w0 = cnt[i];
    e->nodes[i].wn = 0;
  }
  for (size_t k = 0; k < nwt; k++) {
    if (owner[k] < 0) continue;
    TNode *nd = &e->nodes[owner[k]];
    e->wt_target[nd->w0 + nd->wn] = wi[k];
    e->wt_weight[nd->w0 + nd->wn] = ww[k];
    nd->wn++;
  }
  /* roots: per tree id, the node nothing points at */
  for (size_t q = 0; q < nn; q++) {
    size_t i = (size_t)keys[q].idx;
    if (q > 0 && keys[q - 1].tree == keys[q].tree) continue;
    int64_t root = -1;
    for (size_t r = q; r < nn && keys[r].tree == keys[q].tree && root < 0; r++)
      if (!is_child[keys[r].idx]) root = keys[r].idx;
    e->roots[e->n_roots++] = root >= 0 ? root : (int64_t)i;
  }
  rc = 0;
fail:
  free(keys);
  free(is_child);
  free(cnt);
  free(owner);
done:
  free(vals);
  free(ww);
  return rc;
}

static bool base_values(RtCtx *c, double *out, int64_t n) {
  int64_t nb = 0;
  double *b = attr_tensor_f64(c, "base_values_as_tensor", &nb);
  size_t nf = 0;
  const float *bf = b ? NULL : rt_attr_floats(c, "base_values", &nf);
  if (!b) nb = (int64_t)nf;
  for (int64_t i = 0; i < n; i++) out[i] = 0;
  bool ok = nb == 0 || nb == n;
  if (ok)
    for (int64_t i = 0; i < nb; i++) out[i] = b ? b[i] : bf[i];
  free(b);
  if (!ok) rt_error(c, "base_values must have %lld entries", (long long)n);
  return ok;
}

int rt_k_ml_TreeEnsembleRegressor(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, f;
  if (x->elem == ELEM_STRING || !as_matrix(c, x, &n, &f)) return x->elem == ELEM_STRING ? rt_error(c, "X must be numeric") : -1;
  int64_t nt = rt_attr_int(c, "n_targets", 1);
  const char *ag = rt_attr_str(c, "aggregate_function", "SUM");
  int agg = !strcmp(ag, "AVERAGE") ? AGG_AVERAGE : !strcmp(ag, "SUM") ? AGG_SUM
          : !strcmp(ag, "MIN") ? AGG_MIN : !strcmp(ag, "MAX") ? AGG_MAX : -1;
  int pt = post_from_name(rt_attr_str(c, "post_transform", "NONE"));
  if (nt < 1 || agg < 0 || pt < 0) return rt_error(c, "bad n_targets, aggregate_function or post_transform");
  Ensemble e = {0};
  int rc = -1;
  double *sc = NULL, *base = malloc(sizeof(double) * (size_t)nt);
  if (legacy_build(c, &e, "target") || !base_values(c, base, nt)) goto done;
  sc = malloc(sizeof(double) * (size_t)(n * nt > 0 ? n * nt : 1));
  if (ens_scores(c, &e, x, n, f, nt, agg, agg == AGG_MIN ? 3.4028234663852886e38 : -3.4028234663852886e38, sc))
    goto done;
  int64_t dims[2] = {n, nt};
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, 2, dims);
  if (!y) goto done;
  for (int64_t r = 0; r < n; r++) {
    for (int64_t k = 0; k < nt; k++) sc[r * nt + k] += base[k];
    post_transform(pt, sc + r * nt, nt);
    for (int64_t k = 0; k < nt; k++) ((float *)y->data)[r * nt + k] = (float)sc[r * nt + k];
  }
  rc = 0;
done:
  ens_free(&e);
  free(sc);
  free(base);
  return rc;
}

/* Class labels (ints or strings) as a 1-D tensor; NULL after reporting. */
static RtValue *class_labels(RtCtx *c) {
  RtValue *l = km_attr_list(c, "classlabels_strings");
  if (!l) l = km_attr_list(c, "classlabels_int64s");
  if (!l) l = km_attr_list(c, "classlabels_ints");
  if (!l || !l->numel) {
    rt_unref(l);
    rt_error(c, "class labels are required");
    return NULL;
  }
  return l;
}

int rt_k_ml_TreeEnsembleClassifier(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, f;
  if (x->elem == ELEM_STRING || !as_matrix(c, x, &n, &f)) return x->elem == ELEM_STRING ? rt_error(c, "X must be numeric") : -1;
  int pt = post_from_name(rt_attr_str(c, "post_transform", "NONE"));
  if (pt < 0) return rt_error(c, "unknown post_transform");
  RtValue *labels = class_labels(c);
  if (!labels) return -1;
  int64_t nl = (int64_t)labels->numel, nc = nl < 2 ? 2 : nl;
  Ensemble e = {0};
  int rc = -1;
  double *sc = NULL, *base = malloc(sizeof(double) * (size_t)nc);
  size_t nci = 0;
  const int64_t *cid = rt_attr_ints(c, "class_ids", &nci);
  if (legacy_build(c, &e, "class")) goto done;
  for (int64_t k = 0; k < nc; k++) base[k] = 0;
  {
    int64_t nb = 0;
    double *b = attr_tensor_f64(c, "base_values_as_tensor", &nb);
    size_t nbf = 0;
    const float *bf = b ? NULL : rt_attr_floats(c, "base_values", &nbf);
    if (!b) nb = (int64_t)nbf;
    for (int64_t k = 0; k < nb && k < nc; k++) base[k] = b ? b[k] : bf[k];
    free(b);
  }
  bool binary = nci > 0;
  for (size_t k = 1; k < nci; k++) binary = binary && cid[k] == cid[0];
  sc = malloc(sizeof(double) * (size_t)(n * nc));
  if (ens_scores(c, &e, x, n, f, nc, AGG_SUM, 0, sc)) goto done;
  int64_t d1[1] = {n}, d2[2] = {n, nc};
  RtValue *lab = rt_out(c, 0, labels->elem, 1, d1);
  RtValue *y = rt_out(c, 1, ELEM_FLOAT, 2, d2);
  if (!lab || !y) goto done;
  for (int64_t r = 0; r < n; r++) {
    double *s = sc + r * nc;
    for (int64_t k = 0; k < nc; k++) s[k] += base[k];
    if (binary) {
      s[1] = s[0];
      s[0] = pt == PT_NONE || pt == PT_PROBIT ? 1 - s[1] : -s[1];
    }
    post_transform(pt, s, nc);
    int64_t best = 0;
    for (int64_t k = 1; k < nc; k++)
      if (s[k] > s[best]) best = k;
    if (nl == 1) {
      /* a single label: the positive class is label 1 (ints) */
      if (labels->elem == ELEM_STRING) { rt_error(c, "a single string class label is not supported"); goto done; }
      ((int64_t *)lab->data)[r] = best == 1 ? ((const int64_t *)labels->data)[0] : 0;
    } else {
      km_copy_elem(lab, (uint64_t)r, labels, (uint64_t)best);
    }
    for (int64_t k = 0; k < nc; k++) ((float *)y->data)[r * nc + k] = (float)s[k];
  }
  rc = 0;
done:
  rt_unref(labels);
  ens_free(&e);
  free(sc);
  free(base);
  return rc;
}

/* ------------------------------------------------------------------ ZipMap */

/* A sequence of maps, one per row: keys are the class labels, values the row's scores. */
int rt_k_ml_ZipMap(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, k;
  if (x->elem != ELEM_FLOAT || !as_matrix(c, x, &n, &k)) return x->elem != ELEM_FLOAT ? rt_error(c, "X must be float") : -1;
  RtValue *labels = class_labels(c);
  if (!labels) return -1;
  if ((int64_t)labels->numel != k) {
    rt_unref(labels);
    return rt_error(c, "%lld labels for %lld columns", (long long)labels->numel, (long long)k);
  }
  if (n > 1 << 30) {
    rt_unref(labels);
    return rt_error(c, "too many rows");
  }
  RtValue *seq = rt_seq_new((int)n);
  seq->elem = ELEM_FLOAT;
  for (int64_t r = 0; r < n; r++) {
    RtValue *m = rt_seq_new(2);
    m->kind = TYPE_MAP;
    m->elem = labels->elem;
    m->items[0] = rt_ref(labels);
    RtValue *v = rt_tensor_new(ELEM_FLOAT, 1, &k);
    if (k) memcpy(v->data, (const float *)x->data + r * k, sizeof(float) * (size_t)k);
    m->items[1] = v;
    seq->items[r] = m;
  }
  rt_unref(labels);
  rt_set_out(c, 0, seq);
  return 0;
}

/* ------------------------------------------------------------------ LinearClassifier */

/* Labels output: int64 (classlabels_ints or indices) or string. */
static void put_label(RtValue *lab, uint64_t i, const RtValue *labels, int64_t k) {
  if (labels && k >= 0 && (uint64_t)k < labels->numel) km_copy_elem(lab, i, labels, (uint64_t)k);
  else if (lab->elem == ELEM_STRING) rt_str_set(lab, i, "", 0);
  else ((int64_t *)lab->data)[i] = k;
}

static RtValue *opt_labels(RtCtx *c) {
  RtValue *l = km_attr_list(c, "classlabels_strings");
  if (!l) l = km_attr_list(c, "classlabels_ints");
  if (l && !l->numel) {
    rt_unref(l);
    l = NULL;
  }
  return l;
}

int rt_k_ml_LinearClassifier(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, f;
  if (x->elem == ELEM_STRING) return rt_error(c, "input must be numeric");
  if (!as_matrix(c, x, &n, &f)) return -1;
  size_t nc = 0, ni = 0;
  const float *coef = rt_attr_floats(c, "coefficients", &nc);
  const float *icpt = rt_attr_floats(c, "intercepts", &ni);
  int pt = post_from_name(rt_attr_str(c, "post_transform", "NONE"));
  if (!coef || f < 1 || nc % (size_t)f || pt < 0) return rt_error(c, "coefficients must be classes x features");
  int64_t C = (int64_t)nc / f;
  if (ni && (int64_t)ni != C) return rt_error(c, "intercepts must have one value per class");
  RtValue *labels = opt_labels(c);
  int64_t ncl = labels ? (int64_t)labels->numel : 0;
  int64_t cols = C == 1 && ncl == 2 ? 2 : C;
  int64_t d1[1] = {n}, d2[2] = {n, cols};
  RtValue *lab = rt_out(c, 0, labels ? labels->elem : ELEM_INT64, 1, d1);
  RtValue *y = rt_out(c, 1, ELEM_FLOAT, 2, d2);
  double *s = malloc(sizeof(double) * (size_t)(cols + 1));
  for (int64_t r = 0; lab && y && r < n; r++) {
    for (int64_t k = 0; k < C; k++) {
      double a = ni ? icpt[k] : 0;
      for (int64_t j = 0; j < f; j++) a += coef[k * f + j] * rt_get_f64(x, (uint64_t)(r * f + j));
      s[k] = a;
    }
    if (cols == 2 && C == 1) {
      s[1] = s[0];
      s[0] = -s[1];
    }
    if (pt == PT_SOFTMAX || pt == PT_SOFTMAX_ZERO) post_transform(pt, s, cols);
    else if (pt == PT_LOGISTIC)
      for (int64_t k = 0; k < cols; k++) s[k] = 1.0 / (1.0 + exp(-s[k]));
    else post_transform(pt, s, cols);
    int64_t best = 0;
    if (cols > 1) {
      for (int64_t k = 1; k < cols; k++)
        if (s[k] > s[best]) best = k;
      put_label(lab, (uint64_t)r, labels, best);
    } else {
      bool pos = s[0] >= (pt == PT_NONE ? 0 : 0.5);
      if (labels) {
        if (pos) km_copy_elem(lab, (uint64_t)r, labels, 0);
        else if (lab->elem == ELEM_STRING) rt_str_set(lab, (uint64_t)r, "", 0);
        else ((int64_t *)lab->data)[r] = 0;
      } else {
        ((int64_t *)lab->data)[r] = pos;
      }
    }
    for (int64_t k = 0; k < cols; k++) ((float *)y->data)[r * cols + k] = (float)s[k];
  }
  free(s);
  rt_unref(labels);
  return lab && y ? 0 : -1;
}

/* ------------------------------------------------------------------ SVM */

typedef struct Svm {
  int kernel; /* 0 LINEAR, 1 POLY, 2 RBF, 3 SIGMOID */
  double gamma, coef0;
  int degree;
} Svm;

static bool svm_init(RtCtx *c, Svm *s) {
  const char *k = rt_attr_str(c, "kernel_type", "LINEAR");
  s->kernel = !strcmp(k, "LINEAR") ? 0 : !strcmp(k, "POLY") ? 1 : !strcmp(k, "RBF") ? 2 : !strcmp(k, "SIGMOID") ? 3 : -1;
  size_t np = 0;
  const float *p = rt_attr_floats(c, "kernel_params", &np);
  s->gamma = np > 0 ? p[0] : 0;
  s->coef0 = np > 1 ? p[1] : 0;
  s->degree = np > 2 ? (int)p[2] : 0;
  if (s->kernel < 0) rt_error(c, "unknown kernel_type '%s'", k);
  return s->kernel >= 0;
}

static double svm_kernel(const Svm *s, int kernel, const RtValue *x, uint64_t off, const float *v, int64_t f) {
  double d = 0;
  if (kernel == 2) {
    for (int64_t j = 0; j < f; j++) {
      double t = rt_get_f64(x, off + (uint64_t)j) - v[j];
      d += t * t;
    }
    return exp(-s->gamma * d);
  }
  for (int64_t j = 0; j < f; j++) d += rt_get_f64(x, off + (uint64_t)j) * v[j];
  if (kernel == 1) return pow(d * s->gamma + s->coef0, s->degree);
  if (kernel == 3) return tanh(d * s->gamma + s->coef0);
  return d;
}

int rt_k_ml_SVMRegressor(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, f;
  Svm s;
  if (x->elem == ELEM_STRING) return rt_error(c, "input must be numeric");
  if (!as_matrix(c, x, &n, &f) || !svm_init(c, &s)) return -1;
  int64_t ns = rt_attr_int(c, "n_supports", 0);
  bool one = rt_attr_int(c, "one_class", 0) != 0;
  size_t nco = 0, nsv = 0, nrho = 0;
  const float *co = rt_attr_floats(c, "coefficients", &nco);
  const float *sv = rt_attr_floats(c, "support_vectors", &nsv);
  const float *rho = rt_attr_floats(c, "rho", &nrho);
  int pt = post_from_name(rt_attr_str(c, "post_transform", "NONE"));
  if (pt < 0 || !nrho || ns < 0 || (ns > 0 && ((int64_t)nsv != ns * f || (int64_t)nco < ns)) ||
      (ns == 0 && (int64_t)nco < f))
    return rt_error(c, "inconsistent SVM attributes");
  int64_t dims[2] = {n, 1};
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, 2, dims);
  if (!y) return -1;
  for (int64_t r = 0; r < n; r++) {
    double a = 0;
    if (ns > 0)
      for (int64_t j = 0; j < ns; j++) a += co[j] * svm_kernel(&s, s.kernel, x, (uint64_t)(r * f), sv + j * f, f);
    else
      a = svm_kernel(&s, 0, x, (uint64_t)(r * f), co, f);
    a += rho[0];
    if (one) a = a > 0 ? 1 : -1;
    else post_transform(pt, &a, 1);
    ((float *)y->data)[r] = (float)a;
  }
  return 0;
}

/* Pairwise coupling of one-vs-one probabilities (libsvm's multiclass_probability). */
static void svm_multiclass_prob(int64_t k, const double *R, double *P) {
  double *Q = malloc(sizeof(double) * (size_t)(k * k)), *Qp = malloc(sizeof(double) * (size_t)k);
  int64_t max_iter = k > 100 ? k : 100;
  double eps = 0.005 / (double)k;
  for (int64_t t = 0; t < k; t++) {
    P[t] = 1.0 / (double)k;
    Q[t * k + t] = 0;
    for (int64_t j = 0; j < t; j++) {
      Q[t * k + t] += R[j * k + t] * R[j * k + t];
      Q[t * k + j] = Q[j * k + t];
    }
    for (int64_t j = t + 1; j < k; j++) {
      Q[t * k + t] += R[j * k + t] * R[j * k + t];
      Q[t * k + j] = -R[j * k + t] * R[t * k + j];
    }
  }
  for (int64_t it = 0; it < max_iter; it++) {
    double pQp = 0, max_err = 0;
    for (int64_t t = 0; t < k; t++) {
      Qp[t] = 0;
      for (int64_t j = 0; j < k; j++) Qp[t] += Q[t * k + j] * P[j];
      pQp += P[t] * Qp[t];
    }
    for (int64_t t = 0; t < k; t++) {
      double e = fabs(Qp[t] - pQp);
      if (e > max_err) max_err = e;
    }
    if (max_err < eps) break;
    for (int64_t t = 0; t < k; t++) {
      double diff = (-Qp[t] + pQp) / Q[t * k + t];
      P[t] += diff;
      pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
      for (int64_t j = 0; j < k; j++) {
        P[j] /= 1 + diff;
        Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
      }
    }
  }
  free(Q);
  free(Qp);
}

int rt_k_ml_SVMClassifier(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t n, f;
  Svm s;
  if (x->elem == ELEM_STRING) return rt_error(c, "input must be numeric");
  if (!as_matrix(c, x, &n, &f) || !svm_init(c, &s)) return -1;
  RtValue *labels = opt_labels(c);
  int64_t K = labels ? (int64_t)labels->numel : 1;
  size_t nvpc = 0, nco = 0, nsv = 0, nrho = 0, npa = 0, npb = 0;
  const int64_t *vpc = rt_attr_ints(c, "vectors_per_class", &nvpc);
  const float *co = rt_attr_floats(c, "coefficients", &nco);
  const float *sv = rt_attr_floats(c, "support_vectors", &nsv);
  const float *rho = rt_attr_floats(c, "rho", &nrho);
  const float *pa = rt_attr_floats(c, "prob_a", &npa);
  const float *pb = rt_attr_floats(c, "prob_b", &npb);
  int pt = post_from_name(rt_attr_str(c, "post_transform", "NONE"));
  int64_t V = 0, *start = calloc((size_t)(K + 1), sizeof(int64_t));
  for (size_t i = 0; vpc && i < nvpc && (int64_t)i < K; i++) {
    start[i] = V;
    V += vpc[i];
  }
  bool svc = V > 0;
  int64_t npair = K * (K - 1) / 2, ncols = svc ? npair : K;
  int rc = -1;
  double *kern = NULL, *sc = NULL, *votes = NULL, *R = NULL, *P = NULL;
  if (pt < 0 || !co || !nrho || (svc && ((int64_t)nvpc != K || (int64_t)nsv != V * f || (int64_t)nco < (K - 1) * V ||
                                         (int64_t)nrho < npair)) ||
      (!svc && (int64_t)nco < K * f)) {
    rt_error(c, "inconsistent SVM attributes");
    goto done;
  }
  bool proba = svc && npa > 0 && (int64_t)npa >= npair && (int64_t)npb >= npair;
  bool all_pos = true;
  for (size_t i = 0; i < nco; i++) all_pos = all_pos && co[i] >= 0;
  kern = malloc(sizeof(double) * (size_t)(V + 1));
  sc = malloc(sizeof(double) * (size_t)(ncols + K + 2));
  votes = malloc(sizeof(double) * (size_t)(K + 1));
  R = malloc(sizeof(double) * (size_t)(K * K + 1));
  P = malloc(sizeof(double) * (size_t)(K + 1));
  /* output width: known after the first row; compute it the same way up front */
  int64_t fin = proba ? K : ncols;
  int add = -1;
  if (nrho == 1 && K == 2) add = 2;
  int64_t width = fin >= 2 ? fin : fin == 1 ? (pt == PT_PROBIT ? 1 : (add == 0 || add == 1 || add == 2 || add == 3) ? 2 : 1) : fin;
  int64_t d1[1] = {n}, d2[2] = {n, width};
  RtValue *lab = rt_out(c, 0, labels ? labels->elem : ELEM_INT64, 1, d1);
  RtValue *y = rt_out(c, 1, ELEM_FLOAT, 2, d2);
  if (!lab || !y) goto done;
  for (int64_t r = 0; r < n; r++) {
    uint64_t off = (uint64_t)(r * f);
    if (!svc) {
      for (int64_t k = 0; k < K; k++) sc[k] = rho[0] + svm_kernel(&s, 0, x, off, co + k * f, f);
    } else {
      for (int64_t j = 0; j < V; j++) kern[j] = svm_kernel(&s, s.kernel, x, off, sv + j * f, f);
      for (int64_t k = 0; k < K; k++) votes[k] = 0;
      int64_t e = 0;
      for (int64_t i = 0; i < K; i++)
        for (int64_t j = i + 1; j < K; j++, e++) {
          double s1 = 0, s2 = 0;
          for (int64_t q = 0; q < vpc[i]; q++) s1 += co[(j - 1) * V + start[i] + q] * kern[start[i] + q];
          for (int64_t q = 0; q < vpc[j]; q++) s2 += co[i * V + start[j] + q] * kern[start[j] + q];
          double v = rho[e] + s1 + s2;
          sc[e] = v;
          votes[v > 0 ? i : j] += 1;
        }
    }
    if (proba) {
      for (int64_t i = 0; i < K * K; i++) R[i] = 0;
      int64_t e = 0;
      for (int64_t i = 0; i < K; i++)
        for (int64_t j = i + 1; j < K; j++, e++) {
          double v = sc[e] * pa[e] + pb[e];
          double lg = 1.0 / (1.0 + exp(-fabs(v)));
          lg = v < 0 ? 1 - lg : lg;
          double v2 = 1 - lg;
          v2 = v2 < 1e-7 ? 1e-7 : v2 > 1 - 1e-7 ? 1 - 1e-7 : v2;
          R[i * K + j] = v2;
          R[j * K + i] = 1 - v2;
        }
      svm_multiclass_prob(K, R, P);
      for (int64_t k = 0; k < K; k++) sc[k] = P[k];
    }
    /* the label */
    int64_t mc = 0;
    double mw;
    if (svc) {
      for (int64_t k = 1; k < K; k++)
        if (votes[k] > votes[mc]) mc = k;
      mw = votes[mc];
    } else {
      for (int64_t k = 1; k < fin; k++)
        if (sc[k] > sc[mc]) mc = k;
      mw = sc[mc];
    }
    int64_t li;
    if (nrho == 1) {
      if (K == 2) li = !proba && all_pos && mw >= 0.5 ? 1 : mc;
      else li = mw > 0 ? 1 : 0; /* positive/negative class ids */
      if (K == 2 || !labels) put_label(lab, (uint64_t)r, labels, li);
      else if (lab->elem == ELEM_STRING) put_label(lab, (uint64_t)r, labels, li);
      else ((int64_t *)lab->data)[r] = li;
    } else {
      put_label(lab, (uint64_t)r, labels, mc);
    }
    /* the scores */
    float *o = (float *)y->data + r * width;
    if (fin >= 2) {
      post_transform(pt, sc, fin);
      for (int64_t k = 0; k < fin; k++) o[k] = (float)sc[k];
    } else if (fin == 1) {
      double v = sc[0];
      if (pt == PT_PROBIT) {
        post_transform(pt, &v, 1);
        o[0] = (float)v;
      } else if (width == 2) {
        double t[2] = {-v, v};
        if (pt == PT_LOGISTIC || pt == PT_SOFTMAX || pt == PT_SOFTMAX_ZERO) post_transform(pt, t, 2);
        o[0] = (float)t[0];
        o[1] = (float)t[1];
      } else {
        o[0] = (float)v;
      }
    }
  }
  rc = 0;
done:
  rt_unref(labels);
  free(start);
  free(kern);
  free(sc);
  free(votes);
  free(R);
  free(P);
  return rc;
}

/* ------------------------------------------------------------------ maps */

static bool is_map(const RtValue *m) {
  return m && m->kind == TYPE_MAP && m->n_items == 2 && m->items[0] && m->items[1] &&
         m->items[0]->numel == m->items[1]->numel;
}

int rt_k_ml_DictVectorizer(RtCtx *c) {
  RtValue *in = c->n_in ? c->in[0] : NULL;
  int nm = in && in->kind == TYPE_SEQUENCE ? in->n_items : 1;
  RtValue *const *maps = in && in->kind == TYPE_SEQUENCE ? in->items : &in;
  for (int i = 0; i < nm; i++)
    if (!is_map(maps[i])) return rt_error(c, "input must be a map (or a sequence of maps)");
  if (!nm) return rt_error(c, "empty input");
  const RtValue *k0 = maps[0]->items[0], *v0 = maps[0]->items[1];
  RtValue *voc = k0->elem == ELEM_STRING ? km_attr_list(c, "string_vocabulary") : km_attr_list(c, "int64_vocabulary");
  if (!voc) return rt_error(c, "the vocabulary for this key type is missing");
  int64_t dims[2] = {nm, (int64_t)voc->numel};
  RtValue *y = rt_out(c, 0, v0->elem, 2, dims);
  KmIndex ix;
  km_index_init(&ix, voc, k0->elem);
  int rc = y ? 0 : -1;
  for (int i = 0; y && i < nm; i++) {
    const RtValue *ks = maps[i]->items[0], *vs = maps[i]->items[1];
    if (vs->elem != v0->elem || ks->elem != k0->elem) {
      rc = rt_error(c, "maps disagree on key or value types");
      break;
    }
    for (uint64_t j = 0; j < ks->numel; j++) {
      int64_t k = km_index_find(&ix, ks, j);
      if (k >= 0) km_copy_elem(y, (uint64_t)i * voc->numel + (uint64_t)k, vs, j);
    }
  }
  km_index_free(&ix);
  rt_unref(voc);
  return rc;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int rt_k_ml_CastMap(RtCtx *c) {
  RtValue *m = c->n_in ? c->in[0] : NULL;
  if (!is_map(m) || m->items[0]->elem != ELEM_INT64) return rt_error(c, "input must be a map from int64");
  const RtValue *ks = m->items[0], *vs = m->items[1];
  const char *to = rt_attr_str(c, "cast_to", "TO_FLOAT"), *form = rt_attr_str(c, "map_form", "DENSE");
  ElemType et = !strcmp(to, "TO_FLOAT") ? ELEM_FLOAT : !strcmp(to, "TO_STRING") ? ELEM_STRING
              : !strcmp(to, "TO_INT64") ? ELEM_INT64 : ELEM_UNDEFINED;
  bool sparse = !strcmp(form, "SPARSE");
  if (et == ELEM_UNDEFINED || (!sparse && strcmp(form, "DENSE"))) return rt_error(c, "bad cast_to or map_form");
  int64_t nk = (int64_t)ks->numel, width = sparse ? rt_attr_int(c, "max_map", 1) : nk;
  if (width < 0) return rt_error(c, "negative max_map");
  /* (key, index) pairs sorted by key */
  int64_t *pairs = malloc(sizeof(int64_t) * 2 * (size_t)(nk ? nk : 1));
  for (int64_t i = 0; i < nk; i++) {
    pairs[2 * i] = ((const int64_t *)ks->data)[i];
    pairs[2 * i + 1] = i;
  }
  qsort(pairs, (size_t)nk, 2 * sizeof(int64_t), cmp_i64);
  int64_t dims[2] = {1, width};
  RtValue *y = rt_out(c, 0, et, 2, dims);
  for (int64_t i = 0; y && i < nk; i++) {
    int64_t pos = sparse ? pairs[2 * i] : i, src = pairs[2 * i + 1];
    if (pos < 0 || pos >= width) continue;
    if (vs->elem == ELEM_STRING && et != ELEM_STRING) {
      double v = strtod(((const IrStr *)vs->data)[src].s, NULL);
      if (et == ELEM_FLOAT) ((float *)y->data)[pos] = (float)v;
      else ((int64_t *)y->data)[pos] = (int64_t)v;
    } else if (et == ELEM_STRING) {
      char b[64];
      int l = vs->elem == ELEM_STRING ? -1 : snprintf(b, sizeof b, "%f", rt_get_f64(vs, (uint64_t)src));
      if (l < 0) km_copy_elem(y, (uint64_t)pos, vs, (uint64_t)src);
      else rt_str_set(y, (uint64_t)pos, b, (size_t)l);
    } else {
      rt_set_f64(y, (uint64_t)pos, rt_get_f64(vs, (uint64_t)src));
    }
  }
  free(pairs);
  return y ? 0 : -1;
}

/* prune.c - the `prune` pass: magnitude pruning of Conv/Gemm/MatMul weights. Fine-grained
 * (per layer, one global threshold, or a per-layer table) and N:M along the reduction
 * dimension zero weights in place and mark the node (__effc_sparsity, __effc_nm); channel
 * pruning removes whole channels through their dependencies (prune_groups.c), so shapes
 * shrink and MACs drop. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { GR_ELEMENT, GR_NM, GR_CHANNEL } Granularity;

/* One NAME=F entry of layers=, or a NAME of skip= (f < 0). */
typedef struct Entry {
  const char *name;
  double f;
  bool used;
} Entry;

typedef struct Prune {
  Model *m;
  PassCtx *c;
  Granularity gran;
  bool global;
  double sparsity;
  int64_t n, mm;
  PruneImportance imp;
  Entry *table, *skip;
  int n_table, n_skip;
} Prune;

static bool given(const PassOptions *o, const char *key) {
  for (int i = 0; i < o->n; i++)
    if (!strcmp(o->keys[i], key)) return true;
  return false;
}

/* "a=0.5,b=0.25" (with_value) or "a,b" into entries (arena copies). -1 after reporting. */
static int parse_list(Arena *a, const char *text, bool with_value, Entry **out, int *n, Diag *d) {
  *out = NULL;
  *n = 0;
  if (!text || !*text) return 0;
  int cap = 1;
  for (const char *p = text; *p; p++) cap += *p == ',';
  Entry *e = ir_arena_alloc(a, (size_t)cap * sizeof *e);
  const char *p = text;
  while (*p) {
    size_t len = strcspn(p, ",");
    char *item = ir_arena_strndup(a, p, len);
    char *s = item;
    while (*s == ' ') s++;
    char *end = s + strlen(s);
    while (end > s && end[-1] == ' ') *--end = 0;
    if (*s) {
      Entry *x = &e[(*n)++];
      x->f = -1;
      x->name = s;
      if (with_value) {
        char *eq = strrchr(s, '=');
        char *num_end = NULL;
        if (eq) {
          *eq = 0;
          x->f = strtod(eq + 1, &num_end);
        }
        if (!eq || !*s || !eq[1] || *num_end || !(x->f >= 0 && x->f < 1)) {
          ir_error(d, ir_noloc, "layers: '%s' is not NAME=F with 0 <= F < 1", item);
          return -1;
        }
      }
    }
    p += len;
    if (*p == ',') p++;
  }
  *out = e;
  return 0;
}

/* Entry matching a layer known by any of `names` (NULL-terminated), marking it used. */
static Entry *match(Entry *e, int n, const char *const *names) {
  for (int i = 0; i < n; i++)
    for (const char *const *k = names; *k; k++)
      if (!strcmp(e[i].name, *k)) {
        e[i].used = true;
        return &e[i];
      }
  return NULL;
}

/* The sparsity a layer gets: -1 skipped, a table entry, else the default. */
static double layer_sparsity(Prune *p, const char *const *names, bool *in_table) {
  *in_table = false;
  if (match(p->skip, p->n_skip, names)) return -1;
  Entry *e = match(p->table, p->n_table, names);
  if (e) {
    *in_table = true;
    return e->f;
  }
  return p->sparsity;
}

static int check_used(const Prune *p, const char *avail) {
  for (int i = 0; i < p->n_table + p->n_skip; i++) {
    const Entry *e = i < p->n_table ? &p->table[i] : &p->skip[i - p->n_table];
    if (!e->used) {
      ir_error(p->c->d, ir_noloc, "%s: no prunable layer '%s' (layers: %s)",
               i < p->n_table ? "layers" : "skip", e->name, avail);
      return -1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ element and N:M */

/* A layer for fine-grained pruning: a Conv/Gemm/MatMul whose weight is a constant float
 * tensor. The reduction dimension: element (o*K + k)*inner + i reduces over k. */
typedef struct WLayer {
  Node *n;
  const Tensor *w;
  uint64_t numel, outer, K, inner;
  double s;
  bool in_table;
} WLayer;

static bool weight_layer(Node *n, WLayer *L) {
  if (!n->op || n->n_inputs < 2) return false;
  const char *f = n->op->family;
  bool conv = !strcmp(f, "Conv"), gemm = !strcmp(f, "Gemm"), mm = !strcmp(f, "MatMul");
  if (!conv && !gemm && !mm) return false;
  const Tensor *w = pass_const_data(n->inputs[1]);
  if (!w || w->rank < 2 || !ir_elem(w->elem)->is_float || ir_elem(w->elem)->bits < 8 ||
      w->elem == ELEM_COMPLEX64 || w->elem == ELEM_COMPLEX128 || !ir_tensor_numel(w, &L->numel) ||
      !L->numel)
    return false;
  L->n = n;
  L->w = w;
  if (conv || (gemm && ir_attr_int(n, "transB", 0))) {
    L->outer = (uint64_t)w->dims[0];
    L->K = L->numel / L->outer;
    L->inner = 1;
  } else {
    L->inner = (uint64_t)w->dims[w->rank - 1];
    L->K = (uint64_t)w->dims[w->rank - 2];
    L->outer = L->numel / (L->K * L->inner);
  }
  return true;
}

static const char *wlayer_name(const Node *n) {
  return n->name && *n->name ? n->name : n->inputs[1]->name;
}

typedef struct Mag {
  float mag;
  int32_t layer;
  uint32_t idx;
} Mag;

static int cmp_mag(const void *a, const void *b) {
  const Mag *x = a, *y = b;
  if (x->mag != y->mag) return x->mag < y->mag ? -1 : 1;
  if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Gives layer L a pruned copy of its weight (zero[] flags the elements to zero) and marks
 * the node. Returns the number of weights that were not zero before. */
static int64_t write_zeros(Prune *p, WLayer *L, const uint8_t *zero) {
  Arena *a = &p->m->arena;
  Tensor *t = ir_tensor_new(a, L->w->elem, L->w->rank, L->w->dims);
  t->data = ir_arena_dup(a, L->w->data, L->w->nbytes);
  t->nbytes = L->w->nbytes;
  t->has_data = true;
  const ElemTraits *tr = ir_elem(t->elem);
  int64_t newly = 0;
  uint64_t zeros = 0;
  for (uint64_t i = 0; i < L->numel; i++) {
    if (zero[i] && tr->to_f64(t->data, i) != 0) {
      newly++;
      tr->from_f64(t->data, i, 0);
    }
    zeros += tr->to_f64(t->data, i) == 0;
  }
  Value *old = L->n->inputs[1];
  pass_set_input(L->n, 1, pass_add_initializer(p->m->graph, old->name, t));
  pass_set_attr_float(L->n, "__effc_sparsity", (float)((double)zeros / (double)L->numel));
  return newly;
}

static int fine_grained(Prune *p) {
  Graph *g = p->m->graph;
  WLayer *L = calloc(g->nodes.n + 1, sizeof *L);
  if (!L) abort();
  int nl = 0;
  char *avail = NULL;
  size_t avail_len = 0;
  FILE *av = open_memstream(&avail, &avail_len);
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *n = g->nodes.v[i];
    if (!n || !weight_layer(n, &L[nl])) continue;
    const char *names[] = {n->name ? n->name : "", n->inputs[1]->name,
                           n->outputs[0] ? n->outputs[0]->name : "", NULL};
    fprintf(av, "%s%s", nl ? ", " : "", wlayer_name(n));
    L[nl].s = layer_sparsity(p, names, &L[nl].in_table);
    nl++;
  }
  fclose(av);
  int rc = check_used(p, avail);
  free(avail);
  if (rc) {
    free(L);
    return -1;
  }
  int64_t zeroed = 0, skipped = 0, pruned = 0;
  uint64_t max = 1;
  for (int l = 0; l < nl; l++)
    if (L[l].numel > max) max = L[l].numel;
  uint8_t *zero = malloc(max);
  Mag *mg = malloc(max * sizeof *mg);
  if (!zero || !mg) abort();
  if (p->gran == GR_NM) {
    for (int l = 0; l < nl; l++) {
      WLayer *w = &L[l];
      if (w->s < 0) continue;
      if (w->K % (uint64_t)p->mm) {
        ir_warning(p->c->d, w->n->loc, "layer '%s': reduction length %llu is not a multiple of %lld; left dense",
                   wlayer_name(w->n), (unsigned long long)w->K, (long long)p->mm);
        skipped++;
        continue;
      }
      const ElemTraits *tr = ir_elem(w->w->elem);
      memset(zero, 0, w->numel);
      for (uint64_t o = 0; o < w->outer; o++)
        for (uint64_t i = 0; i < w->inner; i++)
          for (uint64_t k0 = 0; k0 < w->K; k0 += (uint64_t)p->mm) {
            for (int64_t j = 0; j < p->mm; j++) {
              uint64_t idx = ((o * w->K) + k0 + (uint64_t)j) * w->inner + i;
              mg[j] = (Mag){(float)fabs(tr->to_f64(w->w->data, idx)), 0, (uint32_t)j};
            }
            qsort(mg, (size_t)p->mm, sizeof *mg, cmp_mag);
            for (int64_t j = 0; j < p->mm - p->n; j++)
              zero[((o * w->K) + k0 + mg[j].idx) * w->inner + i] = 1;
          }
      zeroed += write_zeros(p, w, zero);
      int64_t nm[2] = {p->n, p->mm};
      pass_set_attr_ints(w->n, "__effc_nm", nm, 2);
      pruned++;
    }
  } else {
    /* per layer: each layer's own threshold; global: one over the layers not in the table */
    Mag *all = NULL;
    uint64_t total = 0;
    if (p->global) {
      for (int l = 0; l < nl; l++)
        if (L[l].s >= 0 && !L[l].in_table) total += L[l].numel;
      all = malloc((total + 1) * sizeof *all);
      if (!all) abort();
      uint64_t k = 0;
      for (int l = 0; l < nl; l++) {
        if (L[l].s < 0 || L[l].in_table) continue;
        const ElemTraits *tr = ir_elem(L[l].w->elem);
        for (uint64_t i = 0; i < L[l].numel; i++)
          all[k++] = (Mag){(float)fabs(tr->to_f64(L[l].w->data, i)), l, (uint32_t)i};
      }
      qsort(all, total, sizeof *all, cmp_mag);
    }
    uint64_t gk = (uint64_t)floor(p->sparsity * (double)total + 1e-9);
    for (int l = 0; l < nl; l++) {
      WLayer *w = &L[l];
      if (w->s < 0) continue;
      memset(zero, 0, w->numel);
      if (p->global && !w->in_table) {
        for (uint64_t k = 0; k < gk; k++)
          if (all[k].layer == l) zero[all[k].idx] = 1;
      } else {
        const ElemTraits *tr = ir_elem(w->w->elem);
        for (uint64_t i = 0; i < w->numel; i++)
          mg[i] = (Mag){(float)fabs(tr->to_f64(w->w->data, i)), 0, (uint32_t)i};
        qsort(mg, w->numel, sizeof *mg, cmp_mag);
        uint64_t k = (uint64_t)floor(w->s * (double)w->numel + 1e-9);
        for (uint64_t i = 0; i < k; i++) zero[mg[i].idx] = 1;
      }
      zeroed += write_zeros(p, w, zero);
      pruned++;
    }
    free(all);
  }
  free(zero);
  free(mg);
  free(L);
  pass_stat(p->c, "layers-pruned", pruned);
  if (skipped) pass_stat(p->c, "layers-left-dense", skipped);
  pass_stat(p->c, "params-zeroed", zeroed);
  return 0;
}

/* ------------------------------------------------------------------ layer names */

int prune_layers(Model *m, bool channel, const char ***names) {
  Graph *g = m->graph;
  int n = 0;
  if (channel) {
    PruneGroups *pg = prune_groups_build(m);
    int ng;
    const PruneGroup *G = prune_groups_get(pg, &ng);
    *names = calloc((size_t)ng + 1, sizeof **names);
    if (!*names) abort();
    for (int i = 0; i < ng; i++)
      if (G[i].n_classes > 1 && G[i].n_fixed < G[i].n_classes)
        (*names)[n++] = G[i].name;
    prune_groups_free(pg);
    return n;
  }
  *names = calloc(g->nodes.n + 1, sizeof **names);
  if (!*names) abort();
  WLayer L;
  for (size_t i = 0; i < g->nodes.n; i++)
    if (g->nodes.v[i] && weight_layer(g->nodes.v[i], &L)) (*names)[n++] = wlayer_name(g->nodes.v[i]);
  return n;
}

/* ------------------------------------------------------------------ channels */

typedef struct Cand {
  double imp;
  int32_t cls, group;
} Cand;

static int cmp_cand(const void *a, const void *b) {
  const Cand *x = a, *y = b;
  if (x->imp != y->imp) return x->imp < y->imp ? -1 : 1;
  return x->cls < y->cls ? -1 : x->cls > y->cls;
}

static int channels(Prune *p) {
  PruneGroups *pg = prune_groups_build(p->m);
  int ng;
  const PruneGroup *G = prune_groups_get(pg, &ng);
  int32_t ne = prune_groups_n_elements(pg);
  double *imp = malloc(((size_t)ne + 1) * sizeof *imp);
  uint8_t *remove = calloc((size_t)ne + 1, 1);
  double *gs = malloc(((size_t)ng + 1) * sizeof *gs);
  bool *in_table = calloc((size_t)ng + 1, sizeof *in_table);
  Cand *cand = malloc(((size_t)ne + 1) * sizeof *cand);
  int *removed = calloc((size_t)ng + 1, sizeof *removed);
  if (!imp || !remove || !gs || !in_table || !cand || !removed) abort();
  char *avail = NULL;
  size_t avail_len = 0;
  FILE *av = open_memstream(&avail, &avail_len);
  for (int i = 0; i < ng; i++) {
    const char **names = calloc((size_t)G[i].n_producers * 3 + 2, sizeof *names);
    if (!names) abort();
    int k = 0;
    names[k++] = G[i].name;
    for (int j = 0; j < G[i].n_producers; j++) {
      const Node *pn = G[i].producers[j];
      if (pn->name) names[k++] = pn->name;
      names[k++] = pn->inputs[1]->name;
      if (pn->outputs[0]) names[k++] = pn->outputs[0]->name;
    }
    gs[i] = layer_sparsity(p, names, &in_table[i]);
    free(names);
    fprintf(av, "%s%s", i ? ", " : "", G[i].name);
  }
  fclose(av);
  int rc = check_used(p, avail);
  free(avail);
  if (!rc) {
    int no_bn = prune_groups_importance(pg, p->imp, p->global, imp);
    if (no_bn)
      ir_warning(p->c->d, ir_noloc,
                 "%d channels have no BatchNormalization: ranked by the L2 norm of their weights", no_bn);
    int nc = 0;
    int64_t pool = 0;
    for (int i = 0; i < ng; i++) { /* per layer */
      if (gs[i] < 0) continue;
      bool global = p->global && !in_table[i];
      if (global) pool += G[i].n_classes;
      int start = nc;
      for (int j = 0; j < G[i].n_classes; j++)
        if (!prune_class_fixed(pg, G[i].classes[j]))
          cand[nc++] = (Cand){imp[G[i].classes[j]], G[i].classes[j], i};
      if (global) continue;
      qsort(cand + start, (size_t)(nc - start), sizeof *cand, cmp_cand);
      int want = (int)floor(gs[i] * G[i].n_classes + 1e-9);
      if (want > G[i].n_classes - 1) want = G[i].n_classes - 1;
      for (int j = start; j < nc && removed[i] < want; j++, removed[i]++) remove[cand[j].cls] = 1;
      nc = start;
    }
    if (p->global) {
      qsort(cand, (size_t)nc, sizeof *cand, cmp_cand);
      int64_t want = (int64_t)floor(p->sparsity * (double)pool + 1e-9), done = 0;
      for (int j = 0; j < nc && done < want; j++) {
        int gi = cand[j].group;
        if (removed[gi] >= G[gi].n_classes - 1) continue; /* a group's last channel stays */
        remove[cand[j].cls] = 1;
        removed[gi]++;
        done++;
      }
    }
    int64_t total = 0, params = 0;
    for (int i = 0; i < ng; i++) total += removed[i];
    uint64_t before = pass_macs_per_sample(p->m, p->c->d);
    rc = prune_groups_apply(pg, remove, &params, p->c->d);
    if (!rc) rc = ir_infer_model(p->m, p->c->d);
    pass_stat(p->c, "channels-removed", total);
    pass_stat(p->c, "params-removed", params);
    pass_stat(p->c, "macs-before", (int64_t)before);
    pass_stat(p->c, "macs-after", (int64_t)pass_macs_per_sample(p->m, p->c->d));
  }
  free(imp);
  free(remove);
  free(gs);
  free(in_table);
  free(cand);
  free(removed);
  prune_groups_free(pg);
  return rc;
}

/* ------------------------------------------------------------------ the pass */

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  Prune p = {.m = m, .c = c};
  const char *gr = pass_opt_str(o, "granularity"), *scope = pass_opt_str(o, "scope"),
             *imp = pass_opt_str(o, "importance");
  p.gran = !strcmp(gr, "element") ? GR_ELEMENT : !strcmp(gr, "nm") ? GR_NM : !strcmp(gr, "channel") ? GR_CHANNEL : -1;
  if ((int)p.gran < 0) {
    ir_error(c->d, ir_noloc, "granularity must be element, nm or channel, not '%s'", gr);
    return -1;
  }
  if (strcmp(scope, "layer") && strcmp(scope, "global")) {
    ir_error(c->d, ir_noloc, "scope must be layer or global, not '%s'", scope);
    return -1;
  }
  p.global = !strcmp(scope, "global");
  p.imp = !strcmp(imp, "l2") ? PRUNE_IMP_L2 : !strcmp(imp, "l1") ? PRUNE_IMP_L1 : !strcmp(imp, "bn") ? PRUNE_IMP_BN : -1;
  if ((int)p.imp < 0) {
    ir_error(c->d, ir_noloc, "importance must be l2, l1 or bn, not '%s'", imp);
    return -1;
  }
  p.sparsity = pass_opt_float(o, "sparsity");
  if (!(p.sparsity >= 0 && p.sparsity < 1)) {
    ir_error(c->d, ir_noloc, "sparsity must be in [0, 1), not %g", p.sparsity);
    return -1;
  }
  p.n = pass_opt_int(o, "n");
  p.mm = pass_opt_int(o, "m");
  if (p.gran == GR_NM) {
    if (p.mm < 2 || p.mm > 64 || p.n < 1 || p.n >= p.mm) {
      ir_error(c->d, ir_noloc, "N:M needs 1 <= n < m <= 64 (n=%lld, m=%lld)", (long long)p.n, (long long)p.mm);
      return -1;
    }
    const char *bad = given(o, "sparsity") ? "sparsity" : given(o, "scope") ? "scope" : given(o, "layers") ? "layers" : NULL;
    if (bad) {
      ir_error(c->d, ir_noloc, "option '%s' does not apply to granularity=nm (its sparsity is 1 - n/m; skip= excludes layers)", bad);
      return -1;
    }
  } else if (given(o, "n") || given(o, "m")) {
    ir_error(c->d, ir_noloc, "options n and m apply to granularity=nm only");
    return -1;
  }
  if (p.gran != GR_CHANNEL && given(o, "importance")) {
    ir_error(c->d, ir_noloc, "importance applies to granularity=channel (weights are ranked by magnitude)");
    return -1;
  }
  if (parse_list(&m->arena, pass_opt_str(o, "layers"), true, &p.table, &p.n_table, c->d) ||
      parse_list(&m->arena, pass_opt_str(o, "skip"), false, &p.skip, &p.n_skip, c->d))
    return -1;
  pass_load_weights(m, c->d);
  if (p.gran == GR_CHANNEL ? channels(&p) : fine_grained(&p)) return -1;
  /* the replaced weights go */
  PassCtx quiet = {.d = c->d};
  PassOptions none = {.pass = &pass_dce};
  return pass_dce.run(m, &none, &quiet);
}

static const PassOptSpec opts[] = {
    {"sparsity", POPT_FLOAT, "0.5",
     "fraction of each layer's weights (element) or channels (channel) to remove"},
    {"granularity", POPT_STRING, "element", "element | nm | channel"},
    {"n", POPT_INT, "2", "N:M: weights kept in each group of m (granularity=nm)"},
    {"m", POPT_INT, "4", "N:M: group length along the reduction dimension"},
    {"scope", POPT_STRING, "layer",
     "layer (each layer its own threshold) | global (one threshold across layers)"},
    {"layers", POPT_LIST, "",
     "per-layer sparsity [NAME=F,...] (node, weight or output name; overrides sparsity)"},
    {"importance", POPT_STRING, "l2", "channel ranking: l2 | l1 | bn (|BatchNorm scale|)"},
    {"skip", POPT_LIST, "", "layers never pruned [NAME,...]"},
};

const Pass pass_prune = {
    "prune",
    "magnitude pruning: fine-grained, N:M, or channels removed through their dependencies",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    run,
    PASS_REQ_SHAPES,
    "Layers are Conv, Gemm and MatMul nodes whose weight (input 1) is a constant float tensor;"
    " names in `layers` and `skip` are node, weight or output names. `element`: the "
    "floor(F * size) smallest |w| of each layer are zeroed (exactly that many; ties by "
    "position), or with `scope=global` the floor(F * total) smallest across the layers not "
    "in the table. `nm`: in every group of m consecutive weights along the reduction "
    "dimension (Conv: C/group*kh*kw per output channel; Gemm/MatMul: K, respecting transB) "
    "the n largest stay; layers whose reduction length is not a multiple of m stay dense "
    "(a warning). Both give the node a pruned copy of its weight and set `__effc_sparsity` "
    "(the fraction of zeros) and `__effc_nm = [n, m]`. `channel`: channels are grouped by "
    "their dependencies (BatchNormalization, elementwise activations, pools, residual Add "
    "with one shared mask, Concat offsets, depthwise Conv following its producer, Flatten "
    "-> Gemm rows); in each group the floor(F * channels) least important go (L2/L1 norm of"
    " the producing filters, or |gamma| of the BatchNormalization), never the last one and "
    "never channels of graph outputs or of readers the analysis does not follow. Weights, "
    "biases, BN parameters, per-channel constants, depthwise `group` and value types shrink;"
    " `scope=global` ranks all channels by per-weight RMS / mean instead. Stats: params "
    "zeroed or removed, MACs per sample before and after. With `data` (and `labels`) the pass reports "
    "top-1 before and after (or the output SQNR in dB) on stderr and as stats in basis "
    "points / centi-dB. Replaced weights are dropped (`dce`).",
};

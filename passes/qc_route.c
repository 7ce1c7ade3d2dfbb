/* qc_route.c - the `qc-route` pass: layout and routing onto a coupling map. SABRE (Li, Ding,
 * Xie, ASPLOS 2019): a front layer of gates whose predecessors ran; when none can run, the
 * SWAP on an edge touching the front minimizing (front distance + 0.5 x lookahead distance
 * over the next 20 two-qubit gates) x decay; the initial layout from forward-backward
 * passes over several seeds. The baseline router moves the first qubit of each two-qubit
 * gate along a shortest path next to the second. */
#include "passes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ coupling maps */

static void edge(QcCoupling *cm, int a, int b) {
  if (a == b || a < 0 || b < 0 || a >= cm->n || b >= cm->n) return;
  cm->adj[a * cm->n + b] = cm->adj[b * cm->n + a] = 1;
}

static bool dims2(const char *s, int *r, int *c) {
  char *e;
  errno = 0;
  long a = strtol(s, &e, 10);
  if (*e != 'x') return false;
  long b = strtol(e + 1, &e, 10);
  if (errno || *e || a < 1 || b < 1 || a > 4096 || b > 4096 || a * b > 4096) return false;
  *r = (int)a, *c = (int)b;
  return true;
}

bool qc_coupling_parse(const char *spec, QcCoupling *cm, char *err, size_t errlen) {
  memset(cm, 0, sizeof *cm);
  int r = 0, c = 0, n = 0;
  const char *arg = strchr(spec, ':');
  if (!arg) goto bad;
  arg++;
  size_t kl = (size_t)(arg - 1 - spec);
  int *ea = NULL, *eb = NULL, ne = 0;
  if (kl == 4 && (!strncmp(spec, "line", kl) || !strncmp(spec, "ring", kl))) {
    char *e;
    long v = strtol(arg, &e, 10);
    if (*e || v < 2 || v > 4096) goto bad;
    n = (int)v;
  } else if (!strncmp(spec, "grid", kl) && kl == 4) {
    if (!dims2(arg, &r, &c)) goto bad;
    n = r * c;
  } else if (!strncmp(spec, "heavy-hex", kl) && kl == 9) {
    if (!dims2(arg, &r, &c)) goto bad;
    n = r * c;
    for (int k = 0; k + 1 < r; k++)
      for (int j = k % 2 ? 2 : 0; j < c; j += 4) n++;
  } else if (!strncmp(spec, "file", kl) && kl == 4) {
    FILE *f = fopen(arg, "r");
    if (!f) {
      snprintf(err, errlen, "coupling map %s: %s", arg, strerror(errno));
      return false;
    }
    int a, b, cap = 0, line = 0;
    char buf[256];
    while (fgets(buf, sizeof buf, f)) {
      line++;
      if (buf[0] == '#' || buf[strspn(buf, " \t\r\n")] == 0) continue;
      if (sscanf(buf, "%d %d", &a, &b) != 2 || a < 0 || b < 0 || a > 4095 || b > 4095) {
        snprintf(err, errlen, "coupling map %s:%d: expected two qubit numbers < 4096", arg, line);
        fclose(f);
        free(ea), free(eb);
        return false;
      }
      if (ne == cap) {
        cap = cap ? 2 * cap : 64;
        ea = realloc(ea, (size_t)cap * sizeof *ea), eb = realloc(eb, (size_t)cap * sizeof *eb);
        if (!ea || !eb) abort();
      }
      ea[ne] = a, eb[ne++] = b;
      n = a + 1 > n ? a + 1 : n;
      n = b + 1 > n ? b + 1 : n;
    }
    fclose(f);
    if (!n) {
      snprintf(err, errlen, "coupling map %s has no edges", arg);
      return false;
    }
  } else {
    goto bad;
  }
  if (n > QC_MAX_PHYS) {
    snprintf(err, errlen, "coupling map '%s' has %d qubits; at most %d are supported", spec, n,
             QC_MAX_PHYS);
    free(ea), free(eb);
    return false;
  }
  cm->n = n;
  cm->adj = calloc((size_t)n * n, sizeof *cm->adj);
  cm->dist = malloc((size_t)n * n * sizeof *cm->dist);
  if (!cm->adj || !cm->dist) abort();
  if (spec[0] == 'l' || spec[0] == 'r') {
    for (int i = 0; i + 1 < n; i++) edge(cm, i, i + 1);
    if (spec[0] == 'r') edge(cm, n - 1, 0);
  } else if (spec[0] == 'g') {
    for (int i = 0; i < r; i++)
      for (int j = 0; j < c; j++) {
        if (j + 1 < c) edge(cm, i * c + j, i * c + j + 1);
        if (i + 1 < r) edge(cm, i * c + j, (i + 1) * c + j);
      }
  } else if (spec[0] == 'h') { /* chains of c qubits; bridges every 4 columns */
    int next = r * c;
    for (int i = 0; i < r; i++)
      for (int j = 0; j + 1 < c; j++) edge(cm, i * c + j, i * c + j + 1);
    for (int k = 0; k + 1 < r; k++)
      for (int j = k % 2 ? 2 : 0; j < c; j += 4) {
        edge(cm, k * c + j, next);
        edge(cm, next++, (k + 1) * c + j);
      }
  } else {
    for (int i = 0; i < ne; i++) edge(cm, ea[i], eb[i]);
    free(ea), free(eb);
  }
  /* distances by BFS from every qubit, over neighbour lists (O(n * (n + edges))) */
  int *queue = malloc((size_t)n * sizeof *queue), *first = calloc((size_t)n + 1, sizeof *first);
  if (!queue || !first) abort();
  for (int u = 0; u < n; u++)
    for (int v = 0; v < n; v++) first[u + 1] += cm->adj[u * n + v];
  for (int u = 0; u < n; u++) first[u + 1] += first[u];
  int *nbr = malloc(((size_t)first[n] + 1) * sizeof *nbr);
  if (!nbr) abort();
  for (int u = 0, k = 0; u < n; u++)
    for (int v = 0; v < n; v++)
      if (cm->adj[u * n + v]) nbr[k++] = v;
  for (int s = 0; s < n; s++) {
    int *d = &cm->dist[s * n];
    for (int i = 0; i < n; i++) d[i] = -1;
    int h = 0, t = 0;
    d[s] = 0;
    queue[t++] = s;
    while (h < t) {
      int u = queue[h++];
      for (int k = first[u]; k < first[u + 1]; k++)
        if (d[nbr[k]] < 0) d[nbr[k]] = d[u] + 1, queue[t++] = nbr[k];
    }
    for (int i = 0; i < n; i++)
      if (d[i] < 0) d[i] = 2 * n * n;
  }
  free(queue), free(first), free(nbr);
  return true;
bad:
  snprintf(err, errlen, "coupling map '%s': expected line:N, ring:N, grid:RxC, heavy-hex:RxC or file:PATH", spec);
  return false;
}

void qc_coupling_free(QcCoupling *cm) {
  free(cm->adj);
  free(cm->dist);
  memset(cm, 0, sizeof *cm);
}

/* ------------------------------------------------------------------ routing */

typedef struct Router {
  const QcCoupling *cm;
  const QcOp *ops;
  int nops;
  bool reverse;       /* walk the ops backwards (layout refinement) */
  int *l2p, *p2l;
  QcCircuit *out;     /* NULL: count only */
  int swaps;
  uint64_t rng;
} Router;

static int D(const Router *r, int a, int b) {
  return r->cm->dist[r->l2p[a] * r->cm->n + r->l2p[b]];
}

static void do_swap(Router *r, int pa, int pb) {
  int la = r->p2l[pa], lb = r->p2l[pb];
  r->p2l[pa] = lb, r->p2l[pb] = la;
  r->l2p[la] = pb, r->l2p[lb] = pa;
  r->swaps++;
  if (r->out) qc_add(r->out, QG_SWAP, (int[]){pa, pb}, NULL);
}

static void emit(Router *r, const QcOp *o) {
  if (!r->out) return;
  if (o->g == QG_BARRIER) {
    int q[QC_MAX_BARRIER];
    int n = o->nq < QC_MAX_BARRIER ? o->nq : QC_MAX_BARRIER;
    for (int i = 0; i < n; i++) q[i] = r->l2p[o->bq[i]];
    qc_add_barrier(r->out, q, n);
    return;
  }
  QcOp *c = qc_append(r->out, o);
  for (int i = 0; i < o->nq; i++) c->q[i] = r->l2p[o->q[i]];
}

static const QcOp *op_at(const Router *r, int i) {
  return &r->ops[r->reverse ? r->nops - 1 - i : i];
}

/* Move logical a next to logical b along a shortest path. */
static void walk(Router *r, int a, int b) {
  const QcCoupling *cm = r->cm;
  while (D(r, a, b) > 1 && D(r, a, b) < cm->n) {
    int p = r->l2p[a], t = r->l2p[b], best = -1;
    for (int v = 0; v < cm->n && best < 0; v++)
      if (cm->adj[p * cm->n + v] && cm->dist[v * cm->n + t] == cm->dist[p * cm->n + t] - 1) best = v;
    do_swap(r, p, best);
  }
}

static void route_basic(Router *r) {
  for (int i = 0; i < r->nops; i++) {
    const QcOp *o = op_at(r, i);
    if (o->nq == 2 && o->g != QG_BARRIER) walk(r, o->q[0], o->q[1]);
    emit(r, o);
  }
}

static void route_sabre(Router *r) {
  int n = r->nops, nq = r->cm->n;
  int *npred = calloc((size_t)n + 1, sizeof(int)), *last = malloc((size_t)nq * sizeof(int));
  int *succ = malloc(((size_t)n * 3 + 1) * sizeof(int)), *front = malloc(((size_t)n + 1) * sizeof(int));
  int *ext = malloc(((size_t)n + 1) * sizeof(int)), *seen = calloc((size_t)n + 1, sizeof(int));
  double *decay = malloc((size_t)nq * sizeof(double));
  if (!npred || !last || !succ || !front || !ext || !seen || !decay) abort();
  /* successors: for each op, the next op on each of its first three wires (barriers are
   * ordered on every wire they list through a chain) */
  for (int q = 0; q < nq; q++) last[q] = -1;
  for (int i = 0; i < 3 * n; i++) succ[i] = -1;
  int **bsucc = calloc((size_t)n + 1, sizeof(int *));
  for (int i = 0; i < n; i++) {
    const QcOp *o = op_at(r, i);
    const int *w = qc_op_wires(o);
    if (o->nq > 3) bsucc[i] = malloc((size_t)o->nq * sizeof(int));
    for (int k = 0; k < o->nq; k++) {
      int p = last[w[k]];
      if (p >= 0) {
        const QcOp *po = op_at(r, p);
        const int *pw = qc_op_wires(po);
        int pk = 0;
        while (pw[pk] != w[k]) pk++;
        if (po->nq > 3) bsucc[p][pk] = i;
        else succ[3 * p + pk] = i;
        npred[i]++;
      }
      if (o->nq > 3) bsucc[i][k] = -1;
      last[w[k]] = i;
    }
  }
  int nf = 0;
  for (int i = 0; i < n; i++)
    if (!npred[i]) front[nf++] = i;
  for (int q = 0; q < nq; q++) decay[q] = 1;
  int since_exec = 0, nswaps_decay = 0, stamp = 0;
  while (nf) {
    bool progress = true;
    while (progress) {
      progress = false;
      for (int f = 0; f < nf; f++) {
        int i = front[f];
        const QcOp *o = op_at(r, i);
        if (o->nq == 2 && o->g != QG_BARRIER && D(r, o->q[0], o->q[1]) != 1) continue;
        emit(r, o);
        front[f--] = front[--nf];
        progress = true;
        for (int k = 0; k < o->nq; k++) {
          int s = o->nq > 3 ? bsucc[i][k] : succ[3 * i + k];
          if (s >= 0 && --npred[s] == 0) front[nf++] = s;
        }
      }
      if (progress) {
        since_exec = 0;
        for (int q = 0; q < nq; q++) decay[q] = 1;
      }
    }
    if (!nf) break;
    if (since_exec > 10 * nq) { /* release valve: route the first blocked gate directly */
      const QcOp *o = op_at(r, front[0]);
      walk(r, o->q[0], o->q[1]);
      since_exec = 0;
      continue;
    }
    /* the extended set: two-qubit successors of the front, breadth first, up to 20 */
    stamp++;
    int ne = 0, h = 0;
    for (int f = 0; f < nf; f++) ext[ne++] = front[f], seen[front[f]] = stamp;
    int nfront2 = 0, next2 = 0;
    while (h < ne && next2 < 20) {
      int i = ext[h++];
      const QcOp *o = op_at(r, i);
      for (int k = 0; k < o->nq && o->nq <= 3; k++) {
        int s = succ[3 * i + k];
        if (s < 0 || seen[s] == stamp) continue;
        seen[s] = stamp;
        ext[ne++] = s;
        const QcOp *so = op_at(r, s);
        next2 += so->nq == 2 && so->g != QG_BARRIER;
      }
    }
    (void)nfront2;
    double best = 1e300;
    int bp = -1, bq = -1, ties = 0;
    for (int f = 0; f < nf; f++) {
      const QcOp *o = op_at(r, front[f]);
      if (o->nq != 2 || o->g == QG_BARRIER) continue;
      for (int k = 0; k < 2; k++) {
        int p = r->l2p[o->q[k]];
        for (int v = 0; v < nq; v++) {
          if (!r->cm->adj[p * nq + v]) continue;
          /* score this swap */
          int la = r->p2l[p], lb = r->p2l[v];
          r->l2p[la] = v, r->l2p[lb] = p;
          double sf = 0, se = 0;
          int cf = 0, ce = 0;
          for (int e = 0; e < ne; e++) {
            const QcOp *x = op_at(r, ext[e]);
            if (x->nq != 2 || x->g == QG_BARRIER) continue;
            if (e < nf) sf += D(r, x->q[0], x->q[1]), cf++;
            else se += D(r, x->q[0], x->q[1]), ce++;
          }
          r->l2p[la] = p, r->l2p[lb] = v;
          double dk = decay[p] > decay[v] ? decay[p] : decay[v];
          double sc = dk * ((cf ? sf / cf : 0) + (ce ? 0.5 * se / ce : 0));
          if (sc < best - 1e-12) best = sc, bp = p, bq = v, ties = 1;
          else if (sc < best + 1e-12 && qc_rand(&r->rng) % (uint64_t)(++ties) == 0) bp = p, bq = v;
        }
      }
    }
    do_swap(r, bp, bq);
    decay[bp] += 0.001, decay[bq] += 0.001;
    if (++nswaps_decay % 5 == 0)
      for (int q = 0; q < nq; q++) decay[q] = 1;
    since_exec++;
  }
  for (int i = 0; i < n; i++) free(bsucc[i]);
  free(bsucc);
  free(npred), free(last), free(succ), free(front), free(ext), free(seen), free(decay);
}

static void set_layout(Router *r, const int *l2p) {
  for (int i = 0; i < r->cm->n; i++) r->l2p[i] = l2p[i], r->p2l[l2p[i]] = i;
}

int qc_depth(const QcCircuit *c) {
  int *lv = calloc((size_t)c->nq + 1, sizeof(int)), depth = 0;
  if (!lv) abort();
  for (int i = 0; i < c->nops; i++) {
    const QcOp *o = &c->ops[i];
    if (o->g == QG_BARRIER) continue;
    int m = 0;
    for (int k = 0; k < o->nq; k++) m = lv[o->q[k]] > m ? lv[o->q[k]] : m;
    m += o->g == QG_SWAP ? 3 : 1; /* a SWAP is three CX */
    for (int k = 0; k < o->nq; k++) lv[o->q[k]] = m;
    depth = m > depth ? m : depth;
  }
  free(lv);
  return depth;
}

int qc_route(const QcCircuit *in, const QcCoupling *cm, bool sabre, int trials, uint64_t seed, QcCircuit *out,
             QcRouteStats *st, char *err, size_t errlen) {
  if (in->nq > cm->n) {
    snprintf(err, errlen, "%d qubits do not fit a coupling map of %d", in->nq, cm->n);
    return -1;
  }
  for (int i = 0; i < in->nops; i++)
    if (in->ops[i].nq > 2 && in->ops[i].g != QG_BARRIER) {
      snprintf(err, errlen, "%s acts on three qubits: run qc-decompose before qc-route", qc_gates[in->ops[i].g].name);
      return -1;
    }
  for (int a = 0; a < cm->n; a++)
    for (int b = 0; b < cm->n; b++)
      if (cm->dist[a * cm->n + b] >= cm->n) {
        snprintf(err, errlen, "the coupling map is not connected (%d and %d)", a, b);
        return -1;
      }
  int n = cm->n;
  Router r = {cm, in->ops, in->nops, false, malloc((size_t)n * sizeof(int)), malloc((size_t)n * sizeof(int)), NULL, 0,
              seed * 2654435761u + 88172645463325252ull};
  int *init = malloc((size_t)n * sizeof(int)), *best = malloc((size_t)n * sizeof(int));
  if (!r.l2p || !r.p2l || !init || !best) abort();
  int best_swaps = -1;
  for (int t = 0; t < (sabre ? (trials < 1 ? 1 : trials) : 1); t++) {
    for (int i = 0; i < n; i++) init[i] = i;
    if (t > 0)
      for (int i = n - 1; i > 0; i--) { /* a random initial layout */
        int j = (int)(qc_rand(&r.rng) % (uint64_t)(i + 1)), v = init[i];
        init[i] = init[j], init[j] = v;
      }
    if (sabre)
      for (int round = 0; round < 2; round++) /* forward then backward: the end layout of one
                                                 is the start of the next */
        for (int dir = 0; dir < 2; dir++) {
          set_layout(&r, init);
          r.reverse = dir == 1;
          r.out = NULL;
          route_sabre(&r);
          memcpy(init, r.l2p, (size_t)n * sizeof(int));
        }
    set_layout(&r, init);
    r.reverse = false;
    r.swaps = 0;
    r.out = NULL;
    if (sabre) route_sabre(&r);
    else route_basic(&r);
    if (best_swaps < 0 || r.swaps < best_swaps) best_swaps = r.swaps, memcpy(best, init, (size_t)n * sizeof(int));
  }
  qc_circuit_shell(out, in);
  out->nq = n;
  set_layout(&r, best);
  r.swaps = 0;
  r.out = out;
  if (sabre) route_sabre(&r);
  else route_basic(&r);
  for (int i = 0; i < out->nobs; i++) /* observables read where their qubits ended */
    for (int k = 0; k < out->obs[i].nq; k++) out->obs[i].q[k] = r.l2p[out->obs[i].q[k]];
  st->swaps = r.swaps;
  st->cx = 0;
  for (int i = 0; i < out->nops; i++)
    st->cx += out->ops[i].g == QG_CX ? 1 : out->ops[i].g == QG_SWAP ? 3 : out->ops[i].nq == 2 && out->ops[i].g != QG_BARRIER;
  st->depth = qc_depth(out);
  free(r.l2p), free(r.p2l), free(init), free(best);
  return 0;
}

/* ------------------------------------------------------------------ the pass */

typedef struct RouteArgs {
  QcCoupling cm;
  bool sabre;
  int trials;
  uint64_t seed;
} RouteArgs;

static int route(const QcCircuit *in, QcCircuit *out, const void *arg, PassCtx *pc) {
  const RouteArgs *a = arg;
  QcRouteStats st;
  char err[256];
  if (qc_route(in, &a->cm, a->sabre, a->trials, a->seed, out, &st, err, sizeof err)) {
    ir_error(pc->d, ir_noloc, "%s", err);
    return -1;
  }
  pass_stat(pc, "swaps", st.swaps);
  pass_stat(pc, "cx", st.cx);
  pass_stat(pc, "depth", st.depth);
  return 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  if (ir_model_opset(m, "effc.qc") < 0) return 0;
  RouteArgs a;
  char err[256];
  const char *meth = pass_opt_str(o, "method");
  if (strcmp(meth, "sabre") && strcmp(meth, "basic")) {
    ir_error(c->d, ir_noloc, "method must be sabre or basic, not '%s'", meth);
    return -1;
  }
  if (!qc_coupling_parse(pass_opt_str(o, "map"), &a.cm, err, sizeof err)) {
    ir_error(c->d, ir_noloc, "%s", err);
    return -1;
  }
  a.sabre = !strcmp(meth, "sabre");
  a.trials = (int)pass_opt_int(o, "trials");
  a.seed = (uint64_t)pass_opt_int(o, "seed");
  int rc = qc_pass_run(m, c, route, &a);
  qc_coupling_free(&a.cm);
  return rc;
}

static const PassOptSpec opts[] = {
    {"map", POPT_STRING, "line:5", "coupling map: line:N, ring:N, grid:RxC, heavy-hex:RxC, file:PATH"},
    {"method", POPT_STRING, "sabre", "sabre, or basic (the shortest-path baseline)"},
    {"trials", POPT_INT, "4", "SABRE layout trials (seed 0 is the trivial layout)"},
    {"seed", POPT_INT, "1", "random seed for layouts and ties"},
};

const Pass pass_qc_route = {
    "qc-route",
    "place and route an effc.qc circuit onto a coupling map (SABRE or the baseline)",
    opts,
    4,
    run,
    0,
    "Wires become the map's physical qubits; SWAP gates move states so that every "
    "two-qubit gate acts on neighbours; observables read their qubits where they end. "
    "heavy-hex:RxC is R chains of C qubits joined by bridge qubits every 4 columns "
    "(offset 0 and 2 alternately), IBM's heavy-hex lattice. Gates on three qubits must be "
    "decomposed first. Counters: swaps, cx (a SWAP counts 3), depth.",
};

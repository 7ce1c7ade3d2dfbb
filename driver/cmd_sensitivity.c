/* cmd_sensitivity.c - `effc sensitivity`: prune one layer at a time at several sparsities
 * and measure top-1 (labelled data) or output SQNR, then allocate per-layer sparsities that
 * meet a global parameter or MAC target with the least predicted loss (greedy on the
 * measured curves), and measure the allocation. Pruning goes through the `prune` pass. */
#include "driver.h"
#include "eval.h"
#include "passes.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv);

const Command cmd_sensitivity = {
    "sensitivity",
    "per-layer pruning sensitivity and a per-layer sparsity allocation",
    "usage: effc sensitivity MODEL --data X.npy [--labels Y.npy] [options]\n"
    "\n"
    "For every prunable layer (a weight layer, or a channel group for --granularity channel)\n"
    "and every sparsity, prune only that layer (pass `prune`) and measure top-1 on the\n"
    "labelled data, or without labels the SQNR of output 0 against the unpruned model. Then\n"
    "allocate per-layer sparsities that remove at least --target of the parameters (or MACs)\n"
    "with the least predicted loss: greedy on the measured curves, each step taking the point\n"
    "with the least loss per removed parameter (loss: top-1 points lost, or noise-to-signal\n"
    "power 10^(-SQNR/10)), or, once one point covers what is left, the one that does with the\n"
    "least loss; the allocation is applied, measured, and extended while the real\n"
    "reduction falls short. Prints a table, the allocation and the `prune{...}` pipeline\n"
    "`effc opt -p` accepts. Parameters count the nonzero elements of float initializers;\n"
    "MACs are per sample, each Conv/Gemm/MatMul's scaled by its weight density.\n"
    "\n"
    "options:\n"
    "  --data X.npy          inputs (required)\n"
    "  --labels Y.npy        int labels: measure top-1 (else output SQNR)\n"
    "  --granularity G       element (default) | nm | channel\n"
    "  --sparsities LIST     comma-separated, each in (0, 1) (default 0.1,0.2,...,0.9;\n"
    "                        nm has the one point 1 - n/m)\n"
    "  --n N, --m M          N:M pattern for --granularity nm (default 2:4)\n"
    "  --importance I        channel ranking: l2 (default) | l1 | bn\n"
    "  --target F            fraction of parameters (or MACs) to remove (default 0.5)\n"
    "  --by params|macs      what --target counts (default params)\n"
    "  --batch N             evaluation batch (default: the model's batch, else 64)\n"
    "  --json                print one JSON object instead of the table\n"
    "  --svg FILE            write the curves as an SVG plot\n"
    "  -h, --help            show this help\n"
    "\n"
    "examples:\n"
    "  effc sensitivity cnn.onnxtxt --data test_x.npy --labels test_y.npy --granularity channel \\\n"
    "       --target 0.4 --by macs --svg curves.svg\n",
    run,
};

typedef struct Point {
  double s, metric, loss;
  int64_t params, macs; /* removed, against the unpruned model */
} Point;

typedef struct Layer {
  const char *name;
  Point *pt; /* pt[0] is sparsity 0 */
  int n_pt, cur;
} Layer;

typedef struct Sens {
  Model *base;
  RtValue *x, *y;
  int64_t batch;
  bool labels;
  double base_metric;
  int64_t base_params, base_macs;
  const char *gran, *importance;
  int64_t n, m;
  Diag *d;
} Sens;

/* Parameters (nonzero float initializer elements) and per-sample MACs scaled by weight
 * density, on a copy with symbolic input dims bound to 1. */
static int cost(Sens *S, Model *m, int64_t *params, int64_t *macs) {
  Model *c = pass_clone_per_sample(m, S->d);
  if (!c) return -1;
  Graph *g = c->graph;
  *params = 0;
  for (size_t i = 0; i < g->initializers.n; i++) {
    const Tensor *t = g->initializers.v[i]->init;
    uint64_t n;
    if (!t || !t->has_data || !ir_elem(t->elem)->is_float || !ir_tensor_numel(t, &n)) continue;
    for (uint64_t k = 0; k < n; k++) *params += ir_elem(t->elem)->to_f64(t->data, k) != 0;
  }
  double total = 0;
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *nd = g->nodes.v[i];
    double mac = (double)pass_node_macs(c, nd);
    const Tensor *w = nd->n_inputs > 1 ? pass_const_data(nd->inputs[1]) : NULL;
    uint64_t n;
    if (mac > 0 && w && ir_elem(w->elem)->is_float && ir_tensor_numel(w, &n) && n) {
      uint64_t nz = 0;
      for (uint64_t k = 0; k < n; k++) nz += ir_elem(w->elem)->to_f64(w->data, k) != 0;
      mac *= (double)nz / (double)n;
    }
    total += mac;
  }
  *macs = (int64_t)llround(total);
  ir_model_free(c);
  return 0;
}

static int metric(Sens *S, Model *m, double *v) {
  if (S->labels) return rt_eval_top1(m, S->x, S->y, S->batch, v, S->d);
  return rt_eval_sqnr(S->base, m, S->x, S->batch, v, S->d);
}

static double loss_of(const Sens *S, double v) {
  if (S->labels) return 100 * (S->base_metric - v);
  return isinf(v) && v > 0 ? 0 : pow(10, -v / 10);
}

/* The pipeline for an allocation (sp[i] per layer; nm: nonzero means pruned). */
static char *pipeline(const Sens *S, const Layer *L, int nl, const double *sp) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!strcmp(S->gran, "nm")) {
    fprintf(f, "prune{granularity=nm,n=%lld,m=%lld,skip=[", (long long)S->n, (long long)S->m);
    int k = 0;
    for (int i = 0; i < nl; i++)
      if (sp[i] == 0) fprintf(f, "%s%s", k++ ? "," : "", L[i].name);
    fprintf(f, "]}");
  } else {
    fprintf(f, "prune{granularity=%s,sparsity=0", S->gran);
    if (!strcmp(S->gran, "channel")) fprintf(f, ",importance=%s", S->importance);
    fprintf(f, ",layers=[");
    int k = 0;
    for (int i = 0; i < nl; i++)
      if (sp[i] > 0) fprintf(f, "%s%s=%g", k++ ? "," : "", L[i].name, sp[i]);
    fprintf(f, "]}");
  }
  fclose(f);
  return buf;
}

/* A copy of the base model pruned by `pipe`; NULL after reporting. */
static Model *apply(Sens *S, const char *pipe) {
  Diag pd;
  ir_diag_init(&pd, stderr, "<pipeline>", pipe, strlen(pipe));
  PassPipeline *pp = pass_pipeline_parse(pipe, &pd);
  if (!pp) return NULL;
  Model *c = pass_model_clone(S->base, S->d);
  PassRunOptions ro = {0};
  if (c && pass_pipeline_run(c, pp, &ro, S->d)) {
    ir_model_free(c);
    c = NULL;
  }
  pass_pipeline_free(pp);
  return c;
}

/* Measure an allocation: metric, removed params and MACs. */
static int measure(Sens *S, const char *pipe, Point *p) {
  Model *c = apply(S, pipe);
  int64_t params, macs;
  if (!c || metric(S, c, &p->metric) || cost(S, c, &params, &macs)) {
    if (c) ir_model_free(c);
    return -1;
  }
  ir_model_free(c);
  p->loss = loss_of(S, p->metric);
  p->params = S->base_params - params;
  p->macs = S->base_macs - macs;
  return 0;
}

/* One greedy step: among the points (any layer, beyond its current one) that cover the
 * `remaining` saving, the one adding the least loss; else the one with the least added loss
 * per added saving. false when no step saves anything. */
static bool greedy_step(Layer *L, int nl, bool by_macs, double remaining) {
  int bi = -1, bj = -1, fi = -1, fj = -1;
  double best = INFINITY, best_save = 0, fill = INFINITY;
  for (int i = 0; i < nl; i++) {
    const Point *c = &L[i].pt[L[i].cur];
    for (int j = L[i].cur + 1; j < L[i].n_pt; j++) {
      const Point *p = &L[i].pt[j];
      double save = (double)(by_macs ? p->macs - c->macs : p->params - c->params);
      if (save <= 0) continue;
      double r = (p->loss - c->loss) / save;
      if (r < best || (r == best && save > best_save)) best = r, best_save = save, bi = i, bj = j;
      if (save >= remaining && p->loss - c->loss < fill) fill = p->loss - c->loss, fi = i, fj = j;
    }
  }
  if (fi >= 0) bi = fi, bj = fj;
  if (bi < 0) return false;
  L[bi].cur = bj;
  return true;
}

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static int write_svg(const char *path, const Sens *S, const Layer *L, int nl) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < nl; i++)
    for (int j = 0; j < L[i].n_pt; j++) {
      double v = L[i].pt[j].metric;
      if (!isfinite(v)) continue;
      lo = fmin(lo, v), hi = fmax(hi, v);
    }
  if (!isfinite(lo)) lo = 0, hi = 1;
  if (S->labels) lo = fmin(lo, 0), hi = fmax(hi, 1);
  if (hi - lo < 1e-9) hi = lo + 1;
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "%s: error: cannot write %s\n", drv_prog, path);
    return -1;
  }
  const double W = 640, H = 400, x0 = 60, y0 = 20, pw = 420, ph = 320;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
             "font-family=\"sans-serif\" font-size=\"11\">\n", W, H);
  fprintf(f, "<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", W, H);
  fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"black\"/>\n", x0, y0, pw, ph);
  for (int k = 0; k <= 10; k++) {
    double x = x0 + pw * k / 10, y = y0 + ph - ph * k / 10;
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%.1f</text>\n", x, y0 + ph + 14, k / 10.0);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.3g</text>\n", x0 - 4, y + 4,
            (lo + (hi - lo) * k / 10) * (S->labels ? 100 : 1));
  }
  fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">sparsity of one layer (%s)</text>\n",
          x0 + pw / 2, y0 + ph + 32, S->gran);
  fprintf(f, "<text x=\"14\" y=\"%g\" transform=\"rotate(-90 14 %g)\" text-anchor=\"middle\">%s</text>\n",
          y0 + ph / 2, y0 + ph / 2, S->labels ? "top-1 (%)" : "output SQNR (dB)");
  for (int i = 0; i < nl; i++) {
    const char *col = palette[i % 10];
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
    for (int j = 0; j < L[i].n_pt; j++) {
      double v = L[i].pt[j].metric;
      if (!isfinite(v)) v = hi;
      fprintf(f, "%s%.1f,%.1f", j ? " " : "", x0 + pw * L[i].pt[j].s, y0 + ph - ph * (v - lo) / (hi - lo));
    }
    fprintf(f, "\"/>\n");
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"/>", x0 + pw + 16,
            y0 + 10 + 16.0 * i, x0 + pw + 36, y0 + 10 + 16.0 * i, col);
    fprintf(f, "<text x=\"%g\" y=\"%g\">", x0 + pw + 40, y0 + 14 + 16.0 * i);
    for (const char *c = L[i].name; *c; c++) {
      if (*c == '<') fputs("&lt;", f);
      else if (*c == '&') fputs("&amp;", f);
      else if (*c == '>') fputs("&gt;", f);
      else fputc(*c, f);
    }
    fprintf(f, "</text>\n");
  }
  fprintf(f, "</svg>\n");
  return fclose(f) ? -1 : 0;
}

static int parse_list(const char *s, double *out, int max) {
  int n = 0;
  while (*s && n < max) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0 && v < 1)) return -1;
    out[n++] = v;
    s = end;
    if (*s == ',') s++;
    else if (*s) return -1;
  }
  return *s ? -1 : n;
}

enum { O_DATA = 256, O_LABELS, O_GRAN, O_SPS, O_N, O_M, O_IMP, O_TARGET, O_BY, O_BATCH, O_JSON, O_SVG };

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},           {"data", required_argument, NULL, O_DATA},
      {"labels", required_argument, NULL, O_LABELS}, {"granularity", required_argument, NULL, O_GRAN},
      {"sparsities", required_argument, NULL, O_SPS}, {"n", required_argument, NULL, O_N},
      {"m", required_argument, NULL, O_M},         {"importance", required_argument, NULL, O_IMP},
      {"target", required_argument, NULL, O_TARGET}, {"by", required_argument, NULL, O_BY},
      {"batch", required_argument, NULL, O_BATCH}, {"json", no_argument, NULL, O_JSON},
      {"svg", required_argument, NULL, O_SVG},     {NULL, 0, NULL, 0},
  };
  const char *data = NULL, *labels = NULL, *svg = NULL, *by = "params";
  Sens S = {.gran = "element", .importance = "l2", .n = 2, .m = 4};
  double sps[64] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}, target = 0.5;
  int nsp = 9;
  bool json = false;
  optind = 1;
  opterr = 0;
  int ch;
  char *end;
  while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h': drv_print_help(&cmd_sensitivity); return EXIT_OK;
    case O_DATA: data = optarg; break;
    case O_LABELS: labels = optarg; break;
    case O_GRAN: S.gran = optarg; break;
    case O_IMP: S.importance = optarg; break;
    case O_SVG: svg = optarg; break;
    case O_JSON: json = true; break;
    case O_BY: by = optarg; break;
    case O_SPS:
      if ((nsp = parse_list(optarg, sps, 64)) <= 0)
        return drv_usage_error("sensitivity", "--sparsities needs numbers in (0, 1), not '%s'", optarg);
      break;
    case O_TARGET:
      target = strtod(optarg, &end);
      if (*end || !(target > 0 && target < 1))
        return drv_usage_error("sensitivity", "--target needs a fraction in (0, 1), not '%s'", optarg);
      break;
    case O_N: case O_M: case O_BATCH: {
      long long v = strtoll(optarg, &end, 10);
      if (*end || v < 1) return drv_usage_error("sensitivity", "'%s' needs a positive integer", argv[optind - 1]);
      if (ch == O_N) S.n = v;
      else if (ch == O_M) S.m = v;
      else S.batch = v;
      break;
    }
    case ':': return drv_usage_error("sensitivity", "option '%s' needs a value", argv[optind - 1]);
    default: return drv_usage_error("sensitivity", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return drv_usage_error("sensitivity", "no MODEL given");
  if (optind + 1 < argc) return drv_usage_error("sensitivity", "more than one MODEL given");
  if (!data) return drv_usage_error("sensitivity", "--data is required");
  if (strcmp(S.gran, "element") && strcmp(S.gran, "nm") && strcmp(S.gran, "channel"))
    return drv_usage_error("sensitivity", "--granularity must be element, nm or channel");
  if (strcmp(by, "params") && strcmp(by, "macs"))
    return drv_usage_error("sensitivity", "--by must be params or macs");
  if (strcmp(S.importance, "l2") && strcmp(S.importance, "l1") && strcmp(S.importance, "bn"))
    return drv_usage_error("sensitivity", "--importance must be l2, l1 or bn");
  bool nm = !strcmp(S.gran, "nm"), by_macs = !strcmp(by, "macs");
  if (nm && (S.n >= S.m || S.m > 64)) return drv_usage_error("sensitivity", "N:M needs n < m <= 64");
  if (nm) sps[0] = 1 - (double)S.n / (double)S.m, nsp = 1;

  Model *m = drv_load(argv[optind]);
  if (!m) return EXIT_USER;
  Diag d;
  ir_diag_init(&d, stderr, argv[optind], NULL, 0);
  S.d = &d;
  int rc = EXIT_USER;
  Arena a;
  ir_arena_init(&a);
  Layer *L = NULL;
  int nl = 0;
  const char **names = NULL;
  char *pipe = NULL;
  if (!ir_external_inline_all(m, &d) || ir_infer_model(m, &d)) goto out;
  S.base = m;
  Tensor *tx = ir_npy_read(&a, data, ELEM_UNDEFINED, &d), *ty = NULL;
  if (!tx || (labels && !(ty = ir_npy_read(&a, labels, ELEM_UNDEFINED, &d)))) goto out;
  S.x = rt_tensor_wrap(tx);
  S.y = ty ? rt_tensor_wrap(ty) : NULL;
  S.labels = ty != NULL;
  if (!S.batch) {
    const Type *t = m->graph->n_inputs ? m->graph->inputs[0]->type : NULL;
    S.batch = t && t->rank > 0 && !t->dims[0].param && t->dims[0].value > 0 ? t->dims[0].value : 64;
  }
  if (metric(&S, m, &S.base_metric) || cost(&S, m, &S.base_params, &S.base_macs)) goto out;
  nl = prune_layers(m, !strcmp(S.gran, "channel"), &names);
  if (!nl) {
    fprintf(stderr, "%s: error: %s: no prunable layer\n", drv_prog, argv[optind]);
    goto out;
  }
  L = calloc((size_t)nl, sizeof *L);
  double *sp = calloc((size_t)nl, sizeof *sp);
  if (!L || !sp) abort();
  for (int i = 0; i < nl; i++) {
    L[i].name = names[i];
    L[i].pt = calloc((size_t)nsp + 1, sizeof *L[i].pt);
    if (!L[i].pt) abort();
    L[i].pt[0] = (Point){0, S.base_metric, loss_of(&S, S.base_metric), 0, 0};
    L[i].n_pt = 1;
    for (int j = 0; j < nsp; j++) {
      memset(sp, 0, (size_t)nl * sizeof *sp);
      sp[i] = sps[j];
      char *p = pipeline(&S, L, nl, sp);
      Point *pt = &L[i].pt[L[i].n_pt];
      pt->s = sps[j];
      int r = measure(&S, p, pt);
      free(p);
      if (r) {
        free(sp);
        goto out;
      }
      L[i].n_pt++;
      if (!json) fprintf(stderr, "  %s @ %.2f: %.4f\n", L[i].name, sps[j], pt->metric);
    }
  }
  /* allocation: greedy on the curves, then measured; more steps while the real reduction
   * falls short of the target */
  double want = target * (double)(by_macs ? S.base_macs : S.base_params);
  Point real = {0};
  bool met = false;
  for (;;) {
    double pred = 0;
    for (int i = 0; i < nl; i++) pred += (double)(by_macs ? L[i].pt[L[i].cur].macs : L[i].pt[L[i].cur].params);
    if (pred >= want || !greedy_step(L, nl, by_macs, want - pred)) {
      for (int i = 0; i < nl; i++) sp[i] = L[i].pt[L[i].cur].s;
      free(pipe);
      pipe = pipeline(&S, L, nl, sp);
      if (measure(&S, pipe, &real)) {
        free(sp);
        goto out;
      }
      met = (double)(by_macs ? real.macs : real.params) >= want;
      if (met || !greedy_step(L, nl, by_macs, want - (double)(by_macs ? real.macs : real.params)))
        break;
    }
  }
  double pred_loss = 0;
  for (int i = 0; i < nl; i++) pred_loss += L[i].pt[L[i].cur].loss;
  free(sp);
  if (svg && write_svg(svg, &S, L, nl)) goto out;
  const char *mname = S.labels ? "top1" : "sqnr_db";
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", argv[optind]);
    cJSON_AddStringToObject(o, "metric", mname);
    cJSON_AddStringToObject(o, "granularity", S.gran);
    cJSON_AddStringToObject(o, "by", by);
    cJSON_AddNumberToObject(o, "target", target);
    if (isfinite(S.base_metric)) cJSON_AddNumberToObject(o, "baseline", S.base_metric);
    else cJSON_AddNullToObject(o, "baseline");
    cJSON_AddNumberToObject(o, "params", (double)S.base_params);
    cJSON_AddNumberToObject(o, "macs", (double)S.base_macs);
    cJSON *ls = cJSON_AddArrayToObject(o, "layers");
    for (int i = 0; i < nl; i++) {
      cJSON *l = cJSON_CreateObject();
      cJSON_AddStringToObject(l, "name", L[i].name);
      cJSON *ps = cJSON_AddArrayToObject(l, "points");
      for (int j = 1; j < L[i].n_pt; j++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "sparsity", L[i].pt[j].s);
        if (isfinite(L[i].pt[j].metric)) cJSON_AddNumberToObject(p, mname, L[i].pt[j].metric);
        else cJSON_AddNullToObject(p, mname);
        cJSON_AddNumberToObject(p, "params_removed", (double)L[i].pt[j].params);
        cJSON_AddNumberToObject(p, "macs_removed", (double)L[i].pt[j].macs);
        cJSON_AddItemToArray(ps, p);
      }
      cJSON_AddNumberToObject(l, "allocated", L[i].pt[L[i].cur].s);
      cJSON_AddItemToArray(ls, l);
    }
    cJSON *al = cJSON_AddObjectToObject(o, "allocation");
    cJSON_AddStringToObject(al, "pipeline", pipe);
    cJSON_AddBoolToObject(al, "target_met", met);
    cJSON_AddNumberToObject(al, "predicted_loss", pred_loss);
    if (isfinite(real.metric)) cJSON_AddNumberToObject(al, mname, real.metric);
    else cJSON_AddNullToObject(al, mname);
    cJSON_AddNumberToObject(al, "params_removed", (double)real.params);
    cJSON_AddNumberToObject(al, "macs_removed", (double)real.macs);
    cJSON_AddNumberToObject(al, "params_fraction", S.base_params ? (double)real.params / (double)S.base_params : 0);
    cJSON_AddNumberToObject(al, "macs_fraction", S.base_macs ? (double)real.macs / (double)S.base_macs : 0);
    char *txt = cJSON_Print(o);
    puts(txt);
    free(txt);
    cJSON_Delete(o);
  } else {
    if (S.labels)
      printf("baseline: top-1 %.2f%%, ", 100 * S.base_metric);
    else
      printf("baseline: SQNR against itself, ");
    printf("%lld params, %lld MACs per sample\n", (long long)S.base_params, (long long)S.base_macs);
    printf("%-24s", "layer");
    for (int j = 0; j < nsp; j++) printf(" %7.2f", sps[j]);
    printf("   %s\n", S.labels ? "(top-1 %)" : "(SQNR dB)");
    for (int i = 0; i < nl; i++) {
      printf("%-24s", L[i].name);
      for (int j = 1; j < L[i].n_pt; j++) printf(" %7.2f", L[i].pt[j].metric * (S.labels ? 100 : 1));
      printf("\n");
    }
    printf("\nallocation (target %.0f%% of %s%s):\n", 100 * target, by, met ? "" : ", NOT met");
    for (int i = 0; i < nl; i++) printf("  %-24s %.2f\n", L[i].name, L[i].pt[L[i].cur].s);
    printf("pipeline: %s\n", pipe);
    printf("measured: %s %.2f%s, params -%.1f%% (%lld), MACs -%.1f%% (%lld)\n",
           S.labels ? "top-1" : "SQNR", real.metric * (S.labels ? 100 : 1), S.labels ? "%" : " dB",
           100.0 * (double)real.params / (double)(S.base_params ? S.base_params : 1), (long long)real.params,
           100.0 * (double)real.macs / (double)(S.base_macs ? S.base_macs : 1), (long long)real.macs);
  }
  rc = met ? EXIT_OK : EXIT_USER;
  if (!met) fprintf(stderr, "%s: error: the target cannot be met with these sparsities\n", drv_prog);
out:
  for (int i = 0; L && i < nl; i++) free(L[i].pt);
  free(L);
  free(names);
  free(pipe);
  rt_unref(S.x);
  rt_unref(S.y);
  ir_arena_free(&a);
  drv_model_done(m);
  return rc;
}

/* cmd_zne.c - `effc zne`: zero-noise extrapolation. Given expectation values measured at
 * noise scale factors, extrapolate them to zero noise (Richardson, linear, polynomial,
 * exponential). Given an effc.qc MODEL and a noise model, run the whole flow: the ideal and
 * noisy values, the circuit folded at each scale factor and simulated under the noise with
 * readout mitigation (a tensored calibration taken under the same noise), and the
 * extrapolated value, printed per scalar output with the error reduction. */
#include "driver.h"
#include "passes.h"
#include "qsim.h"
#include "runtime.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv);

const Command cmd_zne = {
    "zne", "zero-noise extrapolation of effc.qc expectation values",
    "usage: effc zne --scales S1,S2,... --values V1,V2,... [--method M] [--order N]\n"
    "       effc zne MODEL --noise SPEC [options]\n"
    "\n"
    "The first form extrapolates values measured at noise scale factors to scale 0 and\n"
    "prints the result. The second runs an effc.qc model: the ideal value, the noisy value,\n"
    "the circuit folded to each scale factor (as the qc-zne pass does) and simulated under\n"
    "the noise with readout mitigation, and the extrapolation; it prints one line per\n"
    "scalar output (Expval, Measure) with the errors and their ratio.\n"
    "\n"
    "options:\n"
    "  --scales LIST          noise scale factors >= 1 (default 1,3,5)\n"
    "  --values LIST          values measured at those scales (first form)\n"
    "  --method M             richardson (default), linear, poly, exp\n"
    "  --order N              polynomial degree for poly (default 2)\n"
    "  --noise SPEC           depol1=P,depol2=P,amp=G,phase=L,readout=P (docs/quantum.md)\n"
    "  --fold F               global (default), left, right, random\n"
    "  --no-readout-mitigation  fold and extrapolate only\n"
    "  -i, --input NAME=FILE  bind a parameter input (.npy or .pb); repeatable\n"
    "  --seed N               seed of random folding (default 1)\n"
    "  -p, --pipeline P       run pass pipeline P on MODEL first (e.g. decompose and route\n"
    "                         it, so the noise model sees the hardware's gates)\n"
    "  -h, --help             show this help\n"
    "\n"
    "examples:\n"
    "  effc zne --scales 1,3,5 --values 0.81,0.55,0.37 --method exp\n"
    "  effc zne examples/quantum/vqe_tfim.onnxtxt --noise depol1=0.001,depol2=0.01,readout=0.02\n",
    run,
};

static int parse_list(const char *s, double *out, int max, bool scales) {
  int n = 0;
  while (*s) {
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (e == s || errno || !isfinite(v) || n == max || (scales && v < 1)) return -1;
    out[n++] = v;
    s = e;
    if (*s == ',') s++;
    else if (*s) return -1;
  }
  return n;
}

typedef struct ZneSetup {
  double scales[32];
  int ns;
  QcZneMethod method;
  int order;
  QcFoldMethod fold;
  uint64_t seed;
  bool readout;
  QcNoise noise;
  const char *pipeline;
} ZneSetup;

/* Simulate c and return observable i's first value per observable (scalars). */
static int sim(const QcCircuit *c, const double *par, const QcRunOptions *o, double *vals, Diag *d) {
  double **res = calloc((size_t)c->nobs + 1, sizeof *res);
  if (!res) abort();
  int rc = qc_simulate(c, par, o, res, d);
  for (int i = 0; i < c->nobs && !rc; i++) vals[i] = res[i][0];
  for (int i = 0; i < c->nobs; i++) free(res[i]);
  free(res);
  return rc;
}

static int run_model(const char *path, char **binds, int nb, const ZneSetup *z) {
  Model *m = drv_load(path);
  if (!m) return EXIT_USER;
  Diag d;
  ir_diag_init(&d, stderr, path, NULL, 0);
  QcCircuit c;
  int rc = EXIT_OK;
  if (z->pipeline) {
    Diag pd;
    ir_diag_init(&pd, stderr, "<pipeline>", z->pipeline, strlen(z->pipeline));
    PassPipeline *pp = pass_pipeline_parse(z->pipeline, &pd);
    PassRunOptions ro = {0};
    if (!pp) rc = EXIT_USAGE;
    else if (pass_pipeline_run(m, pp, &ro, &d)) rc = EXIT_USER;
    pass_pipeline_free(pp);
    if (rc != EXIT_OK) {
      drv_model_done(m);
      return rc;
    }
  }
  if (!qc_model_is_quantum(m) || qc_circuit_from_graph(m, &c, &d)) {
    if (!qc_model_is_quantum(m)) fprintf(stderr, "%s: error: not an effc.qc model\n", path);
    drv_model_done(m);
    return EXIT_USER;
  }
  const Graph *g = m->graph;
  RtValue **ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
  double *par = calloc((size_t)c.nparams + 1, sizeof *par);
  int nobs = c.nobs;
  double *ideal = calloc((size_t)nobs + 1, sizeof(double)), *noisy = calloc((size_t)nobs + 1, sizeof(double));
  double *ro = calloc((size_t)nobs + 1, sizeof(double)), *at = calloc((size_t)nobs * 32 + 1, sizeof(double));
  if (!ins || !par || !ideal || !noisy || !ro || !at) abort();
  for (int b = 0; b < nb && rc == EXIT_OK; b++) {
    char *eq = strchr(binds[b], '=');
    if (!eq || eq == binds[b]) {
      rc = drv_usage_error("zne", "--input needs NAME=FILE, not '%s'", binds[b]);
      break;
    }
    *eq = 0;
    int k = 0;
    while (k < g->n_inputs && strcmp(g->inputs[k]->name, binds[b])) k++;
    if (k == g->n_inputs) {
      fprintf(stderr, "%s: error: the model has no input named '%s'\n", path, binds[b]);
      rc = EXIT_USER;
    } else if (!(ins[k] = drv_read_value(eq + 1, g->inputs[k]->type, binds[b]))) {
      rc = EXIT_USER;
    }
  }
  for (int i = 0; i < c.nparams && rc == EXIT_OK; i++) {
    const QcParam *p = &c.params[i];
    int k = 0;
    while (k < g->n_inputs && g->inputs[k] != p->v) k++;
    RtValue *v = k < g->n_inputs ? ins[k] : NULL, *tmp = NULL;
    if (!v && p->v->init && p->v->init->has_data) v = tmp = rt_tensor_wrap(p->v->init);
    if (!v || v->kind != TYPE_TENSOR || (uint64_t)p->index >= v->numel) {
      fprintf(stderr, "%s: error: parameter '%s' has no value (--input %s=FILE)\n", path, p->v->name, p->v->name);
      rc = EXIT_USER;
    } else {
      par[i] = rt_get_f64(v, (uint64_t)p->index);
    }
    rt_unref(tmp);
  }
  QcRunOptions none = {0}, nz = {0};
  nz.noise = z->noise;
  QcReadoutCal cal = {0, NULL};
  qc_calibrate(c.nq, &z->noise, &cal);
  QcRunOptions mit = nz;
  if (z->readout) mit.mitigate = &cal;
  if (rc == EXIT_OK && (sim(&c, par, &none, ideal, &d) || sim(&c, par, &nz, noisy, &d) || sim(&c, par, &mit, ro, &d)))
    rc = EXIT_USER;
  for (int s = 0; s < z->ns && rc == EXIT_OK; s++) {
    QcCircuit f;
    qc_fold(&c, z->scales[s], z->fold, z->seed, &f);
    if (sim(&f, par, &mit, &at[s * nobs], &d)) rc = EXIT_USER;
    qc_circuit_free(&f);
  }
  if (rc == EXIT_OK) {
    printf("# noise: depol1=%g depol2=%g amp=%g phase=%g readout0=%g readout1=%g; scales", z->noise.p1, z->noise.p2,
           z->noise.amp, z->noise.phase, z->noise.ro0, z->noise.ro1);
    for (int s = 0; s < z->ns; s++) printf("%s%g", s ? "," : " ", z->scales[s]);
    printf("; %s readout mitigation\n", z->readout ? "with" : "without");
    printf("%-16s %12s %12s %12s %12s %12s %10s\n", "output", "ideal", "noisy", "readout-mit", "zne+readout",
           "|err| noisy", "reduction");
  }
  for (int i = 0; i < nobs && rc == EXIT_OK; i++) {
    if (c.obs[i].kind == QC_OBS_PROBS) continue;
    double v[32], e;
    char err[256];
    for (int s = 0; s < z->ns; s++) v[s] = at[s * nobs + i];
    if (!qc_zne_extrapolate(z->method, z->order, z->scales, v, z->ns, &e, err, sizeof err)) {
      fprintf(stderr, "%s: error: output '%s': %s\n", path, c.obs[i].out ? c.obs[i].out->name : "?", err);
      rc = EXIT_USER;
      break;
    }
    double en = fabs(noisy[i] - ideal[i]), em = fabs(e - ideal[i]);
    printf("%-16s %12.6f %12.6f %12.6f %12.6f %12.6f %9.1fx\n", c.obs[i].out ? c.obs[i].out->name : "?", ideal[i],
           noisy[i], ro[i], e, en, em > 0 ? en / em : INFINITY);
    printf("%-16s %12s %12s %12s %12s %12.6f\n", "", "", "", "", "|err| mitig.", em);
  }
  free(cal.a);
  for (int i = 0; i < g->n_inputs; i++) rt_unref(ins[i]);
  free(ins), free(par), free(ideal), free(noisy), free(ro), free(at);
  qc_circuit_free(&c);
  drv_model_done(m);
  return rc;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},           {"scales", required_argument, NULL, 'S'},
      {"values", required_argument, NULL, 'V'},   {"method", required_argument, NULL, 'm'},
      {"order", required_argument, NULL, 'r'},    {"noise", required_argument, NULL, 'N'},
      {"fold", required_argument, NULL, 'f'},     {"no-readout-mitigation", no_argument, NULL, 'R'},
      {"input", required_argument, NULL, 'i'},    {"seed", required_argument, NULL, 's'},
      {"pipeline", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0},
  };
  ZneSetup z = {{1, 3, 5}, 3, QC_ZNE_RICHARDSON, 2, QC_FOLD_GLOBAL, 1, true, {0, 0, 0, 0, 0, 0}, NULL};
  double values[32];
  int nv = -1, nb = 0, rc = -1, ch;
  bool have_noise = false;
  char **binds = calloc((size_t)argc + 1, sizeof *binds), nerr[256];
  if (!binds) abort();
  optind = 1;
  opterr = 0;
  while (rc < 0 && (ch = getopt_long(argc, argv, ":hi:p:", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h': drv_print_help(&cmd_zne); rc = EXIT_OK; break;
    case 'S':
      if ((z.ns = parse_list(optarg, z.scales, 32, true)) < 1) rc = drv_usage_error("zne", "--scales needs numbers >= 1");
      break;
    case 'V':
      if ((nv = parse_list(optarg, values, 32, false)) < 1) rc = drv_usage_error("zne", "--values needs numbers");
      break;
    case 'm':
      if (!qc_zne_method_parse(optarg, &z.method))
        rc = drv_usage_error("zne", "--method must be richardson, linear, poly or exp");
      break;
    case 'r': {
      char *e;
      long v = strtol(optarg, &e, 10);
      if (*e || v < 1 || v > 15) rc = drv_usage_error("zne", "--order needs an integer in [1, 15]");
      z.order = (int)v;
      break;
    }
    case 'N':
      if (!qc_noise_parse(optarg, &z.noise, nerr, sizeof nerr)) rc = drv_usage_error("zne", "%s", nerr);
      have_noise = true;
      break;
    case 'f':
      if (!qc_fold_method_parse(optarg, &z.fold)) rc = drv_usage_error("zne", "--fold must be global, left, right or random");
      break;
    case 'R': z.readout = false; break;
    case 'i': binds[nb++] = optarg; break;
    case 'p': z.pipeline = optarg; break;
    case 's': z.seed = strtoull(optarg, NULL, 10); break;
    case ':': rc = drv_usage_error("zne", "option '%s' needs a value", argv[optind - 1]); break;
    default: rc = drv_usage_error("zne", "unknown option '%s'", argv[optind - 1]); break;
    }
  }
  if (rc < 0 && optind < argc && nv >= 0) rc = drv_usage_error("zne", "give either MODEL or --values, not both");
  if (rc < 0 && optind + 1 < argc) rc = drv_usage_error("zne", "more than one MODEL given");
  if (rc < 0 && optind >= argc) {
    if (nv < 0) rc = drv_usage_error("zne", "no MODEL and no --values given");
    else if (nv != z.ns) rc = drv_usage_error("zne", "%d values for %d scale factors", nv, z.ns);
    else {
      double e;
      char err[256];
      if (qc_zne_extrapolate(z.method, z.order, z.scales, values, nv, &e, err, sizeof err)) {
        printf("%.17g\n", e);
        rc = EXIT_OK;
      } else {
        fprintf(stderr, "%s zne: error: %s\n", drv_prog, err);
        rc = EXIT_USER;
      }
    }
  }
  if (rc < 0 && !have_noise) rc = drv_usage_error("zne", "MODEL needs --noise SPEC");
  if (rc < 0) rc = run_model(argv[optind], binds, nb, &z);
  free(binds);
  return rc;
}

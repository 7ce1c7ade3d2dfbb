/* cmd_run.c - `effc run`: run a model in the reference interpreter (or, with --jit, as
 * native code through the LLVM backend) on .npy or .pb inputs, write the outputs as .npy
 * files or print a summary, or check a test_data_set directory (ONNX's layout) against its
 * expected outputs. Also holds the data reader that `compare` shares. */
#include "backends.h"
#include "driver.h"
#include "passes.h"
#include "qsim.h"
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run(int argc, char **argv);

const Command cmd_run = {
    "run", "run a model in the reference interpreter",
    "usage: effc run [options] MODEL\n"
    "\n"
    "Run MODEL in the reference interpreter (the oracle every pass and backend is checked\n"
    "against). Inputs are .npy or ONNX TensorProto/SequenceProto/OptionalProto .pb files,\n"
    "decoded by the input's declared type; a missing, unknown or mistyped input is an error.\n"
    "Inputs that have an initializer may be left out.\n"
    "\n"
    "options:\n"
    "  -i, --input NAME=FILE  bind graph input NAME (splits at the first '='); repeatable\n"
    "  --output-dir DIR       write each output to DIR/<name>.npy (created if missing;\n"
    "                         bytes outside [A-Za-z0-9_.-] and a leading '.' as %XX);\n"
    "                         without it, print each output's name, shape, dtype, summary\n"
    "  --test-data DIR        run ONNX's test layout: DIR holds input_N.pb and output_N.pb\n"
    "                         (or test_data_set_*/ directories of them); inputs bind in graph\n"
    "                         order, outputs are compared (dtype, shape, |got-want| <=\n"
    "                         atol + rtol*|want|) and each mismatch reported; exit 1 if any\n"
    "  --atol X, --rtol Y     tolerances for --test-data (default 1e-7 and 1e-3)\n"
    "  --seed N               seed for random operators (default 1)\n"
    "  --jit                  compile the model for this machine through LLVM (after the\n"
    "                         llvm-x86-64 / llvm-aarch64 target's pipeline) and run the\n"
    "                         native code instead of the interpreter; inputs that have an\n"
    "                         initializer are constants there and cannot be given\n"
    "  --noise SPEC           effc.qc models: simulate noise, e.g.\n"
    "                         depol1=0.001,depol2=0.01,readout=0.02 (docs/quantum.md)\n"
    "  --mitigate-readout     effc.qc models: invert the readout error with a calibration\n"
    "                         measured under the same noise (tensored, per qubit)\n"
    "  -h, --help             show this help\n"
    "\n"
    "examples:\n"
    "  effc run examples/mlp.onnxtxt --input x=examples/mlp_x.npy\n"
    "  effc run model.onnx -i x=x.pb --output-dir out/\n"
    "  effc run examples/cnn.onnxtxt -i x=examples/cnn_x.npy --jit\n"
    "  effc run model.onnx --test-data test_data_set_0\n",
    run,
};

/* ------------------------------------------------------------------ shared data reader */

static bool has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && !strcmp(s + n - k, suf);
}

RtValue *drv_read_value(const char *path, const Type *declared, const char *what) {
  Arena a;
  ir_arena_init(&a);
  Diag d; /* the readers name the file in their messages */
  ir_diag_init(&d, stderr, NULL, NULL, 0);
  RtValue *v = NULL;
  if (has_suffix(path, ".pb")) {
    Datum *dt = ir_pb_read(&a, path, declared, &d);
    v = dt ? rt_from_datum(dt) : NULL;
  } else {
    ElemType want = declared && declared->kind == TYPE_TENSOR ? declared->elem : ELEM_UNDEFINED;
    Tensor *t = ir_npy_read(&a, path, want, &d);
    if (t) {
      RtValue *w = rt_tensor_wrap(t);
      v = w ? rt_tensor_copy(w) : NULL;
      rt_unref(w);
    }
  }
  if (!v && !d.errors) fprintf(stderr, "%s: error: cannot use this data for %s\n", path, what);
  ir_arena_free(&a);
  return v;
}

/* The declared type and the data agree (kind, element type, known dims). */
static bool check_input(const Value *in, const RtValue *v, const char *file) {
  const Type *t = in->type;
  if (!t) return true;
  if ((t->kind == TYPE_TENSOR) != (v->kind == TYPE_TENSOR) ||
      (t->kind == TYPE_SEQUENCE && v->kind != TYPE_SEQUENCE)) {
    fprintf(stderr, "%s: error: input '%s' needs a %s\n", file, in->name,
            t->kind == TYPE_TENSOR ? "tensor" : t->kind == TYPE_SEQUENCE ? "sequence" : "value of another kind");
    return false;
  }
  if (t->kind != TYPE_TENSOR) return true;
  char want[256], got[160];
  ir_type_to_str(t, want, sizeof want);
  if (t->elem != ELEM_UNDEFINED && t->elem != v->elem) {
    fprintf(stderr, "%s: error: input '%s' is %s, the file holds %s\n", file, in->name, want,
            rt_shape_str(v, got, sizeof got));
    return false;
  }
  if (t->rank >= 0 && t->rank != v->rank) {
    fprintf(stderr, "%s: error: input '%s' is %s, the file holds %s\n", file, in->name, want,
            rt_shape_str(v, got, sizeof got));
    return false;
  }
  for (int i = 0; t->rank >= 0 && i < t->rank; i++)
    if (t->dims[i].value >= 0 && !t->dims[i].param && t->dims[i].value != v->dims[i]) {
      fprintf(stderr, "%s: error: input '%s' is %s, the file holds %s\n", file, in->name, want,
              rt_shape_str(v, got, sizeof got));
      return false;
    }
  return true;
}

/* ------------------------------------------------------------------ output */

/* CONTRACTS.md's file name encoding. */
static void enc_name(const char *name, char *out, size_t len) {
  size_t o = 0;
  for (size_t i = 0; name[i] && o + 4 < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-' || (ch == '.' && i > 0);
    if (plain) out[o++] = (char)ch;
    else o += (size_t)snprintf(out + o, len - o, "%%%02X", ch);
  }
  out[o] = 0;
}

static void print_summary(const char *name, const RtValue *v) {
  char shape[200];
  if (v->kind != TYPE_TENSOR) {
    printf("%s: %s of %d items\n", name, rt_shape_str(v, shape, sizeof shape), v->n_items);
    return;
  }
  printf("%s: %s", name, rt_shape_str(v, shape, sizeof shape));
  if (v->elem == ELEM_STRING) {
    printf("  [");
    for (uint64_t i = 0; i < v->numel && i < 6; i++) {
      const IrStr *s = (const IrStr *)v->data + i;
      printf("%s\"%.*s\"", i ? ", " : "", (int)(s->len > 40 ? 40 : s->len), s->s ? s->s : "");
    }
    printf("%s]\n", v->numel > 6 ? ", ..." : "");
    return;
  }
  bool cplx = v->elem == ELEM_COMPLEX64 || v->elem == ELEM_COMPLEX128;
  if (v->numel && !cplx) {
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (uint64_t i = 0; i < v->numel; i++) {
      double x = rt_get_f64(v, i);
      lo = x < lo ? x : lo;
      hi = x > hi ? x : hi;
      sum += x;
    }
    printf("  min %.6g max %.6g mean %.6g", lo, hi, sum / (double)v->numel);
  }
  printf("  [");
  for (uint64_t i = 0; i < v->numel && i < 8 && !cplx; i++) printf("%s%.6g", i ? ", " : "", rt_get_f64(v, i));
  printf("%s]\n", v->numel > 8 || cplx ? "..." : "");
}

static int write_outputs(const Graph *g, RtValue **outs, const char *dir) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "%s: error: cannot create directory: %s\n", dir, strerror(errno));
    return EXIT_USER;
  }
  for (int i = 0; i < g->n_outputs; i++) {
    const char *name = g->outputs[i]->name;
    if (outs[i]->kind != TYPE_TENSOR) {
      fprintf(stderr, "%s: error: output '%s' is a %s; only tensors can be written as .npy\n", dir,
              name, outs[i]->kind == TYPE_SEQUENCE ? "sequence" : "non-tensor");
      return EXIT_USER;
    }
    char enc[1024], path[2048];
    enc_name(name, enc, sizeof enc);
    snprintf(path, sizeof path, "%s/%s.npy", dir, enc);
    Arena a;
    ir_arena_init(&a);
    Diag d;
    ir_diag_init(&d, stderr, path, NULL, 0);
    bool ok = ir_npy_write(path, rt_to_tensor(&a, outs[i], name), &d);
    ir_arena_free(&a);
    if (!ok) return EXIT_USER;
  }
  return EXIT_OK;
}

/* ------------------------------------------------------------------ interpreter or JIT */

#pragma weak be_jit_compile
#pragma weak be_jit_run
#pragma weak be_jit_free

/* What runs the graph: the interpreter, or the model compiled by the LLVM JIT. */
typedef struct Exec {
  RtInterp *interp;
  BeJit *jit;
  const Graph *g;
} Exec;

/* The JIT takes the inputs without initializer (BeSignature's order) as buffers and fills
 * output tensors of the declared static types. */
static int exec_run(Exec *x, RtValue **ins, RtValue **outs) {
  if (x->interp) return rt_interp_run(x->interp, ins, outs);
  const Graph *g = x->g;
  void **pin = calloc((size_t)g->n_inputs + 1, sizeof *pin), **pout = calloc((size_t)g->n_outputs + 1, sizeof *pout);
  int n = 0, rc = 0;
  if (!pin || !pout) abort();
  for (int i = 0; i < g->n_inputs; i++)
    if (!g->inputs[i]->init && !g->inputs[i]->sparse_init) pin[n++] = ins[i]->data;
  for (int i = 0; i < g->n_outputs && rc == 0; i++) {
    const Type *t = g->outputs[i]->type;
    int64_t dims[RT_MAX_RANK];
    for (int k = 0; k < t->rank && k < RT_MAX_RANK; k++) dims[k] = t->dims[k].value;
    outs[i] = rt_tensor_new(t->elem, t->rank, dims);
    if (!outs[i]) {
      fprintf(stderr, "%s: error: cannot allocate output '%s'\n", drv_prog, g->outputs[i]->name);
      rc = -1;
    } else {
      pout[i] = outs[i]->data;
    }
  }
  if (rc == 0 && be_jit_run(x->jit, pin, pout) != 0) {
    fprintf(stderr, "%s: error: the compiled model failed\n", drv_prog);
    rc = -1;
  }
  free(pin);
  free(pout);
  return rc;
}

/* --jit: the host's LLVM target pipeline, then the JIT. NULL after reporting. */
static BeJit *jit_prepare(Model *m, Diag *d) {
  if (!be_jit_compile) {
    ir_error(d, ir_noloc, "--jit: this effc was built without LLVM (llvm-16-dev)");
    return NULL;
  }
  const Target *t = ir_target_find(ir_host_isa() == TISA_NEON ? "llvm-aarch64" : "llvm-x86-64");
  Diag pd;
  ir_diag_init(&pd, stderr, t->name, t->pipeline, strlen(t->pipeline));
  PassPipeline *pp = pass_pipeline_parse(t->pipeline, &pd);
  if (!pp) return NULL;
  PassRunOptions ro = {0};
  int rc = be_check_ops(m, d) == 0 && be_check_layout(m, "llvm", d) == 0 && ir_external_load_all(m, d)
               ? pass_pipeline_run(m, pp, &ro, d)
               : -1;
  pass_pipeline_free(pp);
  return rc == 0 ? be_jit_compile(m, d) : NULL;
}

/* ------------------------------------------------------------------ test data */

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* One test_data_set directory: returns mismatches (or -1 when it could not run). */
static int check_set(Exec *in, const Graph *g, const char *set, RtTolerance tol) {
  int ni = g->n_inputs, no = g->n_outputs, bad = 0;
  RtValue **ins = calloc((size_t)ni + 1, sizeof *ins), **outs = calloc((size_t)no + 1, sizeof *outs);
  char path[4200];
  int rc = 0;
  for (int i = 0; i < ni && rc == 0; i++) {
    snprintf(path, sizeof path, "%s/input_%d.pb", set, i);
    if (!is_file(path)) continue;
    ins[i] = drv_read_value(path, g->inputs[i]->type, g->inputs[i]->name);
    if (!ins[i] || !check_input(g->inputs[i], ins[i], path)) rc = -1;
  }
  if (rc == 0) rc = exec_run(in, ins, outs);
  for (int i = 0; i < no && rc == 0; i++) {
    snprintf(path, sizeof path, "%s/output_%d.pb", set, i);
    RtValue *want = drv_read_value(path, g->outputs[i]->type, g->outputs[i]->name);
    if (!want) {
      rc = -1;
      break;
    }
    char why[400];
    if (rt_compare(outs[i], want, tol, why, sizeof why)) {
      printf("%s: output '%s': ok\n", set, g->outputs[i]->name);
    } else {
      printf("%s: output '%s': MISMATCH: %s\n", set, g->outputs[i]->name, why);
      bad++;
    }
    rt_unref(want);
  }
  for (int i = 0; i < ni; i++) rt_unref(ins[i]);
  for (int i = 0; i < no; i++) rt_unref(outs[i]);
  free(ins);
  free(outs);
  return rc ? -1 : bad;
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

static int run_test_data(Exec *in, const Graph *g, const char *dir, RtTolerance tol) {
  char sub[4100];
  snprintf(sub, sizeof sub, "%s/input_0.pb", dir);
  bool single = is_file(sub);
  snprintf(sub, sizeof sub, "%s/output_0.pb", dir);
  single = single || is_file(sub);
  int bad = 0, sets = 0;
  if (single) {
    int r = check_set(in, g, dir, tol);
    if (r < 0) return EXIT_USER;
    bad += r;
    sets = 1;
  } else {
    DIR *d = opendir(dir);
    if (!d) {
      fprintf(stderr, "%s: error: cannot open: %s\n", dir, strerror(errno));
      return EXIT_USER;
    }
    char *names[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
      if (!strncmp(e->d_name, "test_data_set_", 14)) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int rc = 0;
    for (int i = 0; i < n; i++) {
      snprintf(sub, sizeof sub, "%s/%s", dir, names[i]);
      if (rc == 0 && is_dir(sub)) {
        int r = check_set(in, g, sub, tol);
        if (r < 0) rc = -1;
        else bad += r, sets++;
      }
      free(names[i]);
    }
    if (rc) return EXIT_USER;
    if (!sets) {
      fprintf(stderr, "%s: error: no input_N.pb/output_N.pb files and no test_data_set_* directories\n", dir);
      return EXIT_USER;
    }
  }
  printf("%d test data set%s, %d mismatching output%s\n", sets, sets == 1 ? "" : "s", bad,
         bad == 1 ? "" : "s");
  return bad ? EXIT_USER : EXIT_OK;
}

/* ------------------------------------------------------------------ the command */

static bool parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return !errno && end != s && !*end && *out >= 0;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},        {"input", required_argument, NULL, 'i'},
      {"output-dir", required_argument, NULL, 'O'}, {"test-data", required_argument, NULL, 'T'},
      {"atol", required_argument, NULL, 'a'},  {"rtol", required_argument, NULL, 'r'},
      {"seed", required_argument, NULL, 's'},  {"jit", no_argument, NULL, 'J'},
      {"noise", required_argument, NULL, 'N'}, {"mitigate-readout", no_argument, NULL, 'M'},
      {NULL, 0, NULL, 0},
  };
  const char *out_dir = NULL, *test_dir = NULL;
  bool jit = false;
  char **binds = calloc((size_t)argc + 1, sizeof *binds);
  int nb = 0;
  RtTolerance tol = RT_TOL_DEFAULT;
  RtOptions opt = {.check_types = true, .seed = 1};
  QcRunOptions qopt = {0};
  bool mitigate = false;
  char nerr[200];
  optind = 1;
  opterr = 0;
  int ch, rc = -1;
  while (rc < 0 && (ch = getopt_long(argc, argv, ":hi:", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h': drv_print_help(&cmd_run); rc = EXIT_OK; break;
    case 'i': binds[nb++] = optarg; break;
    case 'O': out_dir = optarg; break;
    case 'T': test_dir = optarg; break;
    case 'J': jit = true; break;
    case 'a':
      if (!parse_double(optarg, &tol.atol)) rc = drv_usage_error("run", "--atol needs a number >= 0");
      break;
    case 'r':
      if (!parse_double(optarg, &tol.rtol)) rc = drv_usage_error("run", "--rtol needs a number >= 0");
      break;
    case 's': {
      char *end;
      errno = 0;
      opt.seed = strtoull(optarg, &end, 10);
      if (errno || *end || end == optarg) rc = drv_usage_error("run", "--seed needs an integer");
      break;
    }
    case 'N':
      if (!qc_noise_parse(optarg, &qopt.noise, nerr, sizeof nerr)) rc = drv_usage_error("run", "%s", nerr);
      break;
    case 'M': mitigate = true; break;
    case ':': rc = drv_usage_error("run", "option '%s' needs a value", argv[optind - 1]); break;
    default: rc = drv_usage_error("run", "unknown option '%s'", argv[optind - 1]); break;
    }
  }
  if (rc < 0 && optind >= argc) rc = drv_usage_error("run", "no MODEL given");
  if (rc < 0 && optind + 1 < argc) rc = drv_usage_error("run", "more than one MODEL given");
  if (rc < 0 && test_dir && (nb || out_dir))
    rc = drv_usage_error("run", "--test-data takes its inputs from DIR: no --input or --output-dir");
  if (rc >= 0) {
    free(binds);
    return rc;
  }
  Model *m = drv_load(argv[optind]);
  if (!m) {
    free(binds);
    return EXIT_USER;
  }
  Diag d;
  ir_diag_init(&d, stderr, argv[optind], NULL, 0);
  bool quantum = qc_model_is_quantum(m);
  qopt.calibrate = mitigate;
  Exec ex = {NULL, NULL, m->graph}, *in = &ex;
  if (quantum) (void)0; /* the circuit simulators run it (qc_run_model) */
  else if (jit) ex.jit = jit_prepare(m, &d);
  else ex.interp = rt_interp_new(m, &opt, &d);
  const Graph *g = m->graph;
  RtValue **ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
  RtValue **outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
  rc = ex.interp || ex.jit || quantum ? EXIT_OK : EXIT_USER;
  if (rc == EXIT_OK && quantum && (test_dir || jit))
    rc = drv_usage_error("run", "--test-data and --jit do not apply to effc.qc models");
  if (rc == EXIT_OK && !quantum && (mitigate || !qc_noise_is_zero(&qopt.noise)))
    rc = drv_usage_error("run", "--noise and --mitigate-readout apply to effc.qc models only");
  if (rc == EXIT_OK && test_dir) {
    rc = run_test_data(in, g, test_dir, tol);
    goto done;
  }
  for (int b = 0; b < nb && rc == EXIT_OK; b++) {
    char *eq = strchr(binds[b], '=');
    if (!eq || eq == binds[b] || !eq[1]) {
      rc = drv_usage_error("run", "--input needs NAME=FILE, not '%s'", binds[b]);
      break;
    }
    *eq = 0;
    int k = -1;
    for (int i = 0; i < g->n_inputs; i++)
      if (!strcmp(g->inputs[i]->name, binds[b])) k = i;
    if (k < 0) {
      fprintf(stderr, "%s: error: the model has no input named '%s'\n", argv[optind], binds[b]);
      rc = EXIT_USER;
    } else if (ins[k]) {
      fprintf(stderr, "%s: error: input '%s' is given twice\n", argv[optind], binds[b]);
      rc = EXIT_USER;
    } else if (jit && (g->inputs[k]->init || g->inputs[k]->sparse_init)) {
      fprintf(stderr, "%s: error: input '%s' has an initializer: compiled code treats it as a "
              "constant (--jit)\n", argv[optind], binds[b]);
      rc = EXIT_USER;
    } else {
      ins[k] = drv_read_value(eq + 1, g->inputs[k]->type, binds[b]);
      if (!ins[k] || !check_input(g->inputs[k], ins[k], eq + 1)) rc = EXIT_USER;
    }
  }
  for (int i = 0; i < g->n_inputs && rc == EXIT_OK; i++)
    if (!ins[i] && !g->inputs[i]->init && !g->inputs[i]->sparse_init) {
      fprintf(stderr, "%s: error: input '%s' is not given (--input %s=FILE)\n", argv[optind],
              g->inputs[i]->name, g->inputs[i]->name);
      rc = EXIT_USER;
    }
  if (rc == EXIT_OK && (quantum ? qc_run_model(m, ins, outs, &qopt, &d) : exec_run(in, ins, outs)) != 0)
    rc = EXIT_USER;
  if (rc == EXIT_OK) {
    if (out_dir) rc = write_outputs(g, outs, out_dir);
    else
      for (int i = 0; i < g->n_outputs; i++) print_summary(g->outputs[i]->name, outs[i]);
  }
done:
  for (int i = 0; i < g->n_inputs; i++) rt_unref(ins[i]);
  for (int i = 0; i < g->n_outputs; i++) rt_unref(outs[i]);
  free(ins);
  free(outs);
  free(binds);
  rt_interp_free(ex.interp);
  if (ex.jit) be_jit_free(ex.jit);
  drv_model_done(m);
  return rc;
}

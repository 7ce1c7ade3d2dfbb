/* cmd_compile.c - `effc compile`: load a model, bind its shapes, run the target's pipeline
 * (ending with the memory planner) and emit code for the target (backends/). */
#include "backends.h"
#include "driver.h"
#include "passes.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run(int argc, char **argv);

const Command cmd_compile = {
    "compile",
    "compile a model to C (or an object file) for a target",
    "usage: effc compile [options] MODEL --output-dir DIR\n"
    "\n"
    "Compile MODEL for a target: run the target's pass pipeline (it ends with the memory\n"
    "planner) and write self-contained code into DIR (created if missing). For the C\n"
    "targets: PREFIX.h (the API: PREFIX_create, PREFIX_run, PREFIX_destroy, sizes and I/O\n"
    "tables), PREFIX.c (kernels and graph), PREFIX_weights.c or PREFIX.bin, and with\n"
    "--emit-main PREFIX_main.c. Build with\n"
    "  cc -O2 -std=c11 DIR/*.c -o prog -lm -lpthread\n"
    "(no target flags needed; cross targets build the same way with the cross compiler).\n"
    "Every operator the backend cannot compile is listed (node, domain, op, opset) and\n"
    "nothing is written. See docs/backends.md.\n"
    "\n"
    "options:\n"
    "  --target T          generic (portable C11, the default), native (this machine,\n"
    "                      printed), x86-64-avx2, x86-64-avx512, aarch64, ... (an unknown\n"
    "                      name lists them all)\n"
    "  --output-dir DIR    where the files go (required)\n"
    "  --prefix NAME       C identifier prefixing every exported symbol (default model),\n"
    "                      so that several models link into one program\n"
    "  --emit-main         also write PREFIX_main.c: prog --input NAME=FILE.npy ...\n"
    "                      --output-dir DIR writes DIR/<name>.npy as `effc run` does;\n"
    "                      prog --bench N prints the median and minimum latency in ms\n"
    "  --threads N         run every node on N threads (pthreads; static split, results\n"
    "                      identical to one thread); default 1: no thread code at all\n"
    "  --weights-bin       weights in PREFIX.bin, loaded by PREFIX_create(path), instead\n"
    "                      of the C array file PREFIX_weights.c\n"
    "  --sparse=MODE       auto (default): Gemm/MatMul/Conv whose constant weights have\n"
    "                      enough zeros run compressed sparse kernels (CSR or 2:4) when\n"
    "                      the cost rule says they are faster; off: always dense; force:\n"
    "                      sparse wherever possible; C backend targets only\n"
    "                      (docs/sparsity.md)\n"
    "  --pipeline P        run P instead of the target's pipeline (it must end with plan)\n"
    "  --shape NAME=D,...  give graph input NAME this shape\n"
    "  --dim N=V           bind symbolic dimension N to V everywhere\n"
    "  --no-type-check     skip the check of declared types against shape inference\n"
    "  -q, --quiet         do not print the target, arena and weight sizes\n"
    "  -h, --help          show this help\n"
    "\n"
    "exit status: 0 success, 1 bad model or unsupported operator, 2 usage, 3 internal\n"
    "\n"
    "examples:\n"
    "  effc compile examples/mlp.onnxtxt --output-dir out --emit-main\n"
    "  cc -O2 -std=c11 out/*.c -o mlp -lm -lpthread\n"
    "  ./mlp --input x=examples/mlp_x.npy --output-dir res\n"
    "  effc compile m.onnx --target native --threads 2 --prefix net --output-dir out\n",
    run,
};

enum { O_TARGET = 256, O_OUTDIR, O_PREFIX, O_MAIN, O_THREADS, O_BIN, O_PIPELINE, O_SHAPE, O_DIM,
       O_NOTYPES, O_SPARSE };

static bool is_c_identifier(const char *s) {
  if (!*s || (*s >= '0' && *s <= '9')) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return false;
  return true;
}

/* mkdir -p */
static bool make_dirs(const char *dir) {
  char *p = strdup(dir);
  if (!p) return false;
  bool ok = true;
  for (char *s = p + 1; ok; s++) {
    if (*s == '/' || !*s) {
      char c = *s;
      *s = 0;
      if (mkdir(p, 0777) != 0 && errno != EEXIST) ok = false;
      *s = c;
      if (!c) break;
    }
  }
  struct stat st;
  if (ok && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) ok = false;
  if (!ok) fprintf(stderr, "%s: error: cannot create directory %s: %s\n", drv_prog, dir,
                   errno ? strerror(errno) : "not a directory");
  free(p);
  return ok;
}

static int unknown_target(const char *name) {
  fprintf(stderr, "%s compile: error: unknown target '%s'; the targets are:\n", drv_prog, name);
  for (int i = 0; i < TARGET_COUNT; i++)
    fprintf(stderr, "  %-16s %s\n", ir_targets[i].name, ir_targets[i].summary);
  return EXIT_USAGE;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {"quiet", no_argument, NULL, 'q'},
      {"target", required_argument, NULL, O_TARGET},
      {"output-dir", required_argument, NULL, O_OUTDIR},
      {"prefix", required_argument, NULL, O_PREFIX},
      {"emit-main", no_argument, NULL, O_MAIN},
      {"threads", required_argument, NULL, O_THREADS},
      {"weights-bin", no_argument, NULL, O_BIN},
      {"pipeline", required_argument, NULL, O_PIPELINE},
      {"shape", required_argument, NULL, O_SHAPE},
      {"dim", required_argument, NULL, O_DIM},
      {"no-type-check", no_argument, NULL, O_NOTYPES},
      {"sparse", required_argument, NULL, O_SPARSE},
      {NULL, 0, NULL, 0},
  };
  const char *target = "generic", *pipeline = NULL;
  EmitOptions eo = {.prefix = "model", .threads = 1};
  const char **shapes = calloc((size_t)argc + 1, sizeof *shapes),
             **dims = calloc((size_t)argc + 1, sizeof *dims);
  int nshapes = 0, ndims = 0, rc = EXIT_OK;
  bool sparse_set = false; /* --sparse given: only the C backend has sparse kernels */
  if (!shapes || !dims) abort();
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, ":hq", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h':
      drv_print_help(&cmd_compile);
      goto done;
    case 'q': eo.quiet = true; break;
    case O_TARGET: target = optarg; break;
    case O_OUTDIR: eo.out_dir = optarg; break;
    case O_PREFIX: eo.prefix = optarg; break;
    case O_MAIN: eo.emit_main = true; break;
    case O_BIN: eo.weights_bin = true; break;
    case O_PIPELINE: pipeline = optarg; break;
    case O_SHAPE: shapes[nshapes++] = optarg; break;
    case O_DIM: dims[ndims++] = optarg; break;
    case O_NOTYPES: drv_type_check = false; break;
    case O_SPARSE:
      if (!strcmp(optarg, "auto") || !strcmp(optarg, "off") || !strcmp(optarg, "force")) {
        sparse_set = true;
        eo.sparse = optarg[0] == 'a' ? EMIT_SPARSE_AUTO : optarg[0] == 'o' ? EMIT_SPARSE_OFF
                                                                           : EMIT_SPARSE_FORCE;
        break;
      }
      rc = drv_usage_error("compile", "--sparse needs auto, off or force, not '%s'", optarg);
      goto done;
    case O_THREADS: {
      char *end;
      errno = 0;
      long v = strtol(optarg, &end, 10);
      if (errno || *end || end == optarg || v < 1 || v > 256) {
        rc = drv_usage_error("compile", "--threads needs a count from 1 to 256, not '%s'", optarg);
        goto done;
      }
      eo.threads = (int)v;
      break;
    }
    case ':':
      rc = drv_usage_error("compile", "option '%s' needs a value", argv[optind - 1]);
      goto done;
    default:
      if (optopt) rc = drv_usage_error("compile", "unknown option '-%c'", optopt);
      else rc = drv_usage_error("compile", "unknown option '%s'", argv[optind - 1]);
      goto done;
    }
  }
  if (optind >= argc) {
    rc = drv_usage_error("compile", "no MODEL given");
    goto done;
  }
  if (optind + 1 < argc) {
    rc = drv_usage_error("compile", "more than one MODEL given ('%s', '%s')", argv[optind],
                         argv[optind + 1]);
    goto done;
  }
  if (!eo.out_dir) {
    rc = drv_usage_error("compile", "no --output-dir given");
    goto done;
  }
  if (!is_c_identifier(eo.prefix)) {
    rc = drv_usage_error("compile", "--prefix must be a C identifier, not '%s'", eo.prefix);
    goto done;
  }
  const Target *t = ir_target_find(target);
  if (!t) {
    rc = unknown_target(target);
    goto done;
  }
  if (t->id == TARGET_NATIVE) {
    t = ir_target_resolve(t);
    if (!eo.quiet) fprintf(stderr, "%s: target native = %s\n", drv_prog, t->name);
  }
  eo.target = t;
  if (sparse_set && strcmp(t->emitter, "c")) {
    rc = drv_usage_error("compile", "--sparse applies to the C backend's targets, not '%s'",
                         t->name);
    goto done;
  }

  /* the pipeline is checked before the model is read: its errors point into its text */
  const char *ptext = pipeline ? pipeline : t->pipeline;
  Diag pd;
  ir_diag_init(&pd, stderr, pipeline ? "<pipeline>" : t->name, ptext, strlen(ptext));
  PassPipeline *pp = pass_pipeline_parse(ptext, &pd);
  if (!pp) {
    rc = pipeline ? EXIT_USAGE : EXIT_INTERNAL;
    goto done;
  }
  Model *m = drv_load(argv[optind]);
  if (!m) {
    pass_pipeline_free(pp);
    rc = EXIT_USER;
    goto done;
  }
  Diag d;
  ir_diag_init(&d, stderr, strcmp(argv[optind], "-") ? argv[optind] : "<stdin>", NULL, 0);
  /* unknown operators first: the pipeline's shape inference cannot type their outputs */
  if (be_check_ops(m, &d)) rc = EXIT_USER;
  if (rc == EXIT_OK) rc = drv_specialize(m, shapes, nshapes, dims, ndims, &d);
  /* every weight in memory: the emitters copy them into their output */
  if (rc == EXIT_OK && !ir_external_load_all(m, &d)) rc = EXIT_USER;
  PassRunOptions ro = {0};
  if (rc == EXIT_OK && pass_pipeline_run(m, pp, &ro, &d)) rc = EXIT_USER;
  pass_pipeline_free(pp);
  if (rc == EXIT_OK && !make_dirs(eo.out_dir)) rc = EXIT_USER;
  if (rc == EXIT_OK && be_emit(m, &eo, &d)) rc = EXIT_USER;
  drv_model_done(m);
done:
  free(shapes);
  free(dims);
  return rc;
}

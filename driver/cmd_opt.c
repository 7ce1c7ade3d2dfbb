/* cmd_opt.c - `effc opt`: parse or import a model, verify it, optionally specialize shapes
 * and run a pass pipeline (-p), then print it canonically (or write .onnx). */
#include "driver.h"
#include "passes.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv);

const Command cmd_opt = {
    "opt",
    "verify a model, run a pass pipeline, print it as canonical ONNX text",
    "usage: effc opt [options] MODEL\n"
    "\n"
    "Read MODEL (ONNX text or protobuf, '-' for stdin), verify it, run the pass pipeline\n"
    "if one is given, and write it as canonical ONNX text. Printing is a fixed point:\n"
    "opt's output fed to opt again is reproduced byte for byte.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   write to PATH instead of stdout; a .onnx extension writes\n"
    "                      protobuf, anything else text. Text written to a file keeps\n"
    "                      tensors above 64 bytes in PATH's .safetensors beside it\n"
    "  --weights FILE      put tensors above 64 bytes in this safetensors file (for text\n"
    "                      on stdout, or to choose the name; same directory as PATH)\n"
    "  -p, --pipeline P    run passes: 'name{key=value,...},name2' (values with commas\n"
    "                      in [brackets] or quotes)\n"
    "  --list-passes       list the passes and their options (--markdown for docs)\n"
    "  --verify-each       verify the model after every pass\n"
    "  --print-after-all   print the model to stderr after every pass\n"
    "  --time-passes       print each pass's time to stderr\n"
    "  --pass-stats        print each pass's counters to stderr\n"
    "  --shape NAME=D,...  give graph input NAME this shape (then infer shapes)\n"
    "  --dim N=V           bind symbolic dimension N to V everywhere (then infer shapes)\n"
    "  --no-type-check     verify structure and operator schemas only: skip the check of\n"
    "                      declared types and shapes against shape inference\n"
    "  -h, --help          show this help\n"
    "\n"
    "examples:\n"
    "  effc opt model.onnxtxt                      # verify, print canonical text\n"
    "  effc opt model.onnx -o model.onnxtxt        # text + model.safetensors\n"
    "  effc opt m.onnx -p 'inline,fold,dce' --pass-stats\n"
    "  effc opt m.onnx --dim batch=1 -p fold-bn,fuse,dce -o out.onnx\n"
    "  cat model.onnx | effc opt -                 # stdin, format sniffed\n",
    run,
};

enum { O_VERIFY = 256, O_PRINT, O_TIME, O_STATS, O_LIST, O_MD, O_SHAPE, O_DIM, O_WEIGHTS, O_NOTYPES };

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {"output", required_argument, NULL, 'o'},
      {"weights", required_argument, NULL, O_WEIGHTS},
      {"pipeline", required_argument, NULL, 'p'},
      {"verify-each", no_argument, NULL, O_VERIFY},
      {"print-after-all", no_argument, NULL, O_PRINT},
      {"time-passes", no_argument, NULL, O_TIME},
      {"pass-stats", no_argument, NULL, O_STATS},
      {"list-passes", no_argument, NULL, O_LIST},
      {"markdown", no_argument, NULL, O_MD},
      {"shape", required_argument, NULL, O_SHAPE},
      {"dim", required_argument, NULL, O_DIM},
      {"no-type-check", no_argument, NULL, O_NOTYPES},
      {NULL, 0, NULL, 0},
  };
  const char *out = NULL, *weights = NULL, *pipeline = NULL;
  PassRunOptions ro = {0};
  bool list = false, md = false;
  const char **shapes = calloc((size_t)argc + 1, sizeof *shapes),
             **dims = calloc((size_t)argc + 1, sizeof *dims);
  int nshapes = 0, ndims = 0, rc = EXIT_OK;
  if (!shapes || !dims) abort();
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, ":ho:p:", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h':
      drv_print_help(&cmd_opt);
      goto done;
    case 'o':
      out = optarg;
      break;
    case O_WEIGHTS:
      weights = optarg;
      break;
    case 'p':
      pipeline = optarg;
      break;
    case O_VERIFY:
      ro.verify_each = true;
      break;
    case O_PRINT:
      ro.print_after_all = true;
      break;
    case O_TIME:
      ro.time_passes = true;
      break;
    case O_STATS:
      ro.pass_stats = true;
      break;
    case O_LIST:
      list = true;
      break;
    case O_MD:
      md = true;
      break;
    case O_SHAPE:
      shapes[nshapes++] = optarg;
      break;
    case O_DIM:
      dims[ndims++] = optarg;
      break;
    case O_NOTYPES:
      drv_type_check = false;
      break;
    case ':':
      rc = drv_usage_error("opt", "option '%s' needs a value", argv[optind - 1]);
      goto done;
    default:
      if (optopt)
        rc = drv_usage_error("opt", "unknown option '-%c'", optopt);
      else
        rc = drv_usage_error("opt", "unknown option '%s'", argv[optind - 1]);
      goto done;
    }
  }
  if (list) {
    pass_list(stdout, md);
    goto done;
  }
  if (optind >= argc) {
    rc = drv_usage_error("opt", "no MODEL given");
    goto done;
  }
  if (optind + 1 < argc) {
    rc = drv_usage_error("opt", "more than one MODEL given ('%s', '%s')", argv[optind],
                         argv[optind + 1]);
    goto done;
  }
  /* the pipeline is checked before the model is read: its errors point into its text */
  PassPipeline *pp = NULL;
  if (pipeline) {
    Diag pd;
    ir_diag_init(&pd, stderr, "<pipeline>", pipeline, strlen(pipeline));
    pp = pass_pipeline_parse(pipeline, &pd);
    if (!pp) {
      rc = EXIT_USAGE;
      goto done;
    }
  }
  Model *m = drv_load(argv[optind]);
  if (!m) {
    pass_pipeline_free(pp);
    rc = EXIT_USER;
    goto done;
  }
  Diag d;
  ir_diag_init(&d, stderr, strcmp(argv[optind], "-") ? argv[optind] : "<stdin>", NULL, 0);
  rc = drv_specialize(m, shapes, nshapes, dims, ndims, &d);
  if (rc == EXIT_OK && pp && pass_pipeline_run(m, pp, &ro, &d)) rc = EXIT_USER;
  pass_pipeline_free(pp);
  if (rc == EXIT_OK) {
    const char *o = out ? out : "-";
    rc = drv_write_model(m, o, weights, drv_is_onnx_path(o), NULL);
  }
  drv_model_done(m);
done:
  free(shapes);
  free(dims);
  return rc;
}

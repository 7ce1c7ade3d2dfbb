/* cmd_eval.c - `effc eval`: a model's quality on a data set through the reference
 * interpreter (runtime/eval.c): top-1 accuracy against labels, perplexity of a token model,
 * or the per-layer SQNR of another model against this one. */
#include "driver.h"
#include "eval.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(int argc, char **argv);

const Command cmd_eval = {
    "eval", "top-1 accuracy, perplexity or per-layer SQNR on a data set",
    "usage: effc eval [options] MODEL --data X.npy --labels Y.npy\n"
    "       effc eval [options] MODEL --tokens T.npy\n"
    "       effc eval [options] MODEL --compare OTHER --data X.npy\n"
    "\n"
    "Run MODEL with the reference interpreter on a data set, in batches of rows (dim 0) fed\n"
    "to its first input (its other inputs must have initializers), and report:\n"
    "  --labels   top-1 accuracy: the argmax of output 0 over its last dim against integer\n"
    "             labels (one per prediction: Y has X's rows);\n"
    "  --tokens   perplexity of a token model (input int[N,T], output 0 float[N,T,V]):\n"
    "             exp(mean negative log-likelihood of token t+1 under the logits at t);\n"
    "  --compare  the SQNR in dB, 10 log10(sum ref^2 / sum (ref - other)^2), of OTHER's values\n"
    "             against MODEL's (the reference): every graph output (paired by position) and\n"
    "             every intermediate value both main graphs compute under the same name with\n"
    "             the same shape (captured after each node); 'inf' = identical.\n"
    "Bad data (shapes that do not fit the model, labels or tokens out of range, label and row\n"
    "counts that differ) is an error naming the value, exit 1.\n"
    "\n"
    "options:\n"
    "  --data FILE      input rows (.npy or .pb), decoded by the first input's declared type\n"
    "  --labels FILE    integer class labels, one per prediction of output 0\n"
    "  --tokens FILE    integer tokens [N, T] (input and targets of a token model)\n"
    "  --compare OTHER  the model to compare with MODEL (.onnxtxt or .onnx)\n"
    "  --batch N        rows per run (default 64; a fixed first input dim sets it)\n"
    "  --json           print one JSON object instead of text\n"
    "  -h, --help       show this help\n"
    "Progress goes to stderr when it is a terminal.\n"
    "\n"
    "examples:\n"
    "  effc eval examples/digits/cnn.onnxtxt --data examples/digits/test_x.npy \\\n"
    "      --labels examples/digits/test_y.npy\n"
    "  effc eval examples/lm/charlm.onnxtxt --tokens examples/lm/test_tokens.npy\n"
    "  effc eval examples/digits/cnn.onnxtxt --compare cnn.int8.onnxtxt \\\n"
    "      --data examples/digits/calib_x.npy --json\n",
    run,
};

static void show_progress(void *ctx, int64_t done, int64_t total) {
  (void)ctx;
  fprintf(stderr, "\reval: %lld/%lld rows", (long long)done, (long long)total);
  if (done >= total) fprintf(stderr, "\r%*s\r", 40, "");
  fflush(stderr);
}

static void print_json(cJSON *root) {
  char *s = cJSON_Print(root);
  puts(s);
  free(s);
  cJSON_Delete(root);
}

static int report_sqnr(Model *m, Model *other, const RtValue *x, int64_t batch, bool json, Diag *d) {
  RtSqnr *rows;
  int n;
  if (rt_eval_sqnr_layers(m, other, x, batch, &rows, &n, d) != 0) return EXIT_USER;
  if (json) {
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "layers");
    cJSON_AddStringToObject(root, "metric", "sqnr");
    cJSON_AddNumberToObject(root, "samples", (double)x->dims[0]);
    for (int i = 0; i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", rows[i].name);
      cJSON_AddStringToObject(o, "shape", rows[i].shape);
      if (rows[i].output >= 0) cJSON_AddNumberToObject(o, "output", rows[i].output);
      else cJSON_AddNullToObject(o, "output");
      /* JSON has no infinity: null means identical */
      if (isinf(rows[i].db)) cJSON_AddNullToObject(o, "sqnr_db");
      else cJSON_AddNumberToObject(o, "sqnr_db", rows[i].db);
      cJSON_AddNumberToObject(o, "signal", rows[i].signal);
      cJSON_AddNumberToObject(o, "noise", rows[i].noise);
      cJSON_AddItemToArray(arr, o);
    }
    print_json(root);
  } else {
    printf("%-40s %-20s %10s\n", "value", "shape", "SQNR dB");
    for (int i = 0; i < n; i++) {
      char name[96];
      if (rows[i].output >= 0) snprintf(name, sizeof name, "%.60s (output %d)", rows[i].name, rows[i].output);
      else snprintf(name, sizeof name, "%s", rows[i].name);
      printf("%-40s %-20s %10.2f\n", name, rows[i].shape, rows[i].db);
    }
  }
  free(rows);
  return EXIT_OK;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},           {"data", required_argument, NULL, 'x'},
      {"labels", required_argument, NULL, 'y'},   {"tokens", required_argument, NULL, 't'},
      {"compare", required_argument, NULL, 'c'},  {"batch", required_argument, NULL, 'b'},
      {"json", no_argument, NULL, 'j'},           {NULL, 0, NULL, 0}};
  const char *data = NULL, *labels = NULL, *tokens = NULL, *other_path = NULL;
  int64_t batch = 64;
  bool json = false;
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h': drv_print_help(&cmd_eval); return EXIT_OK;
    case 'x': data = optarg; break;
    case 'y': labels = optarg; break;
    case 't': tokens = optarg; break;
    case 'c': other_path = optarg; break;
    case 'j': json = true; break;
    case 'b': {
      char *end;
      errno = 0;
      long long v = strtoll(optarg, &end, 10);
      if (errno || end == optarg || *end || v < 1) return drv_usage_error("eval", "--batch needs an integer >= 1");
      batch = v;
      break;
    }
    case ':': return drv_usage_error("eval", "option '%s' needs a value", argv[optind - 1]);
    default: return drv_usage_error("eval", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return drv_usage_error("eval", "no MODEL given");
  if (optind + 1 < argc) return drv_usage_error("eval", "more than one MODEL given");
  if (tokens && (data || labels || other_path))
    return drv_usage_error("eval", "--tokens goes alone (not with --data, --labels or --compare)");
  if (!tokens && !data) return drv_usage_error("eval", "needs --data (with --labels or --compare) or --tokens");
  if (data && !labels && !other_path) return drv_usage_error("eval", "--data needs --labels or --compare");
  if (labels && other_path) return drv_usage_error("eval", "--labels and --compare are separate evaluations");

  const char *path = argv[optind];
  Model *m = drv_load(path);
  if (!m) return EXIT_USER;
  Model *other = other_path ? drv_load(other_path) : NULL;
  const Type *declared = m->graph->n_inputs > 0 ? m->graph->inputs[0]->type : NULL;
  RtValue *x = NULL, *y = NULL;
  int rc = other_path && !other ? EXIT_USER : EXIT_OK;
  if (rc == EXIT_OK) {
    x = drv_read_value(tokens ? tokens : data, declared, tokens ? "tokens" : "data");
    if (!x) rc = EXIT_USER;
  }
  if (rc == EXIT_OK && labels && !(y = drv_read_value(labels, NULL, "labels"))) rc = EXIT_USER;
  if (rc == EXIT_OK && isatty(STDERR_FILENO)) rt_eval_progress = show_progress;
  Diag d;
  ir_diag_init(&d, stderr, path, NULL, 0);
  if (rc == EXIT_OK && other) {
    rc = report_sqnr(m, other, x, batch, json, &d);
  } else if (rc == EXIT_OK) {
    double v;
    bool top1 = !tokens;
    if ((top1 ? rt_eval_top1(m, x, y, batch, &v, &d) : rt_eval_perplexity(m, x, batch, &v, &d)) != 0) {
      rc = EXIT_USER;
    } else if (json) {
      cJSON *root = cJSON_CreateObject();
      cJSON_AddStringToObject(root, "metric", top1 ? "top1" : "perplexity");
      cJSON_AddNumberToObject(root, top1 ? "top1" : "perplexity", v);
      cJSON_AddNumberToObject(root, "samples", (double)x->dims[0]);
      if (!top1) cJSON_AddNumberToObject(root, "predictions", (double)(x->dims[0] * (x->dims[1] - 1)));
      print_json(root);
    } else if (top1) {
      printf("top-1: %.2f%% (%lld samples)\n", 100 * v, (long long)x->dims[0]);
    } else {
      printf("perplexity: %.4f (%lld sequences of %lld tokens)\n", v, (long long)x->dims[0],
             (long long)x->dims[1]);
    }
  }
  rt_eval_progress = NULL;
  rt_unref(x);
  rt_unref(y);
  if (other) drv_model_done(other);
  drv_model_done(m);
  return rc;
}

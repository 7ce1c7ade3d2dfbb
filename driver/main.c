/* main.c - the effc driver: dispatches `effc <command>`, and holds what every command
 * shares (loading and verifying a model, writing it as text or protobuf, usage errors). */
#include "driver.h"
#include "passes.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *drv_prog = "effc";
bool drv_type_check = true;
/* the file the last drv_load read: external-data errors point into it */
static const char *loaded_path;

static const Command *const commands[] = {&cmd_opt,    &cmd_run,    &cmd_import, &cmd_export,
                                              &cmd_dot,    &cmd_compare, &cmd_stats,
                                              &cmd_compile, &cmd_zne,    &cmd_eval};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *o) {
  fprintf(o,
          "usage: effc <command> [options] MODEL\n"
          "\n"
          "effc, the efficient-ML compiler. MODEL is ONNX text (.onnxtxt), an ONNX protobuf\n"
          "(.onnx), or - for stdin (the format is sniffed).\n"
          "\n"
          "commands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(o, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(o,
          "\n"
          "options:\n"
          "  --help     show this help (effc <command> --help for a command's options)\n"
          "  --version  print the version\n"
          "\n"
          "exit status: 0 success, 1 bad input, 2 usage error, 3 internal error\n");
}

int drv_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s%s%s: error: ", drv_prog, cmd ? " " : "", cmd ? cmd : "");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(try '%s%s%s --help')\n", drv_prog, cmd ? " " : "", cmd ? cmd : "");
  return EXIT_USAGE;
}

void drv_print_help(const Command *c) {
  fputs(c->help, stdout);
}

int drv_parse_args(const Command *c, unsigned allowed, int argc, char **argv, DrvArgs *a) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {"output", required_argument, NULL, 'o'},
      {"weights", required_argument, NULL, 'w'},
      {"ir-version", required_argument, NULL, 'i'},
      {"strip-effc", no_argument, NULL, 's'},
      {NULL, 0, NULL, 0},
  };
  static const unsigned need[128] = {['o'] = DRV_OPT_OUT, ['w'] = DRV_OPT_WEIGHTS,
                                     ['i'] = DRV_OPT_IR_VERSION, ['s'] = DRV_OPT_STRIP_EFFC};
  memset(a, 0, sizeof *a);
  optind = 1;
  opterr = 0;
  int ch, li;
  while ((li = -1, ch = getopt_long(argc, argv, ":ho:", longopts, &li)) != -1) {
    if (ch == '?') {
      if (optopt) return drv_usage_error(c->name, "unknown option '-%c'", optopt);
      return drv_usage_error(c->name, "unknown option '%s'", argv[optind - 1]);
    }
    if (ch == ':') return drv_usage_error(c->name, "option '%s' needs a value", argv[optind - 1]);
    if (ch == 'h') {
      drv_print_help(c);
      a->help = true;
      return EXIT_OK;
    }
    if (!(allowed & need[ch])) {
      char opt[40];
      if (li >= 0) snprintf(opt, sizeof opt, "--%s", longopts[li].name);
      else snprintf(opt, sizeof opt, "-%c", ch);
      return drv_usage_error(c->name, "option '%s' does not apply to '%s'", opt, c->name);
    }
    switch (ch) {
    case 'o': a->out = optarg; break;
    case 'w': a->weights = optarg; break;
    case 's': a->strip_effc = true; break;
    case 'i': {
      char *end;
      errno = 0;
      long long v = strtoll(optarg, &end, 10);
      if (errno || *end || end == optarg || v < 1 || v > 1000)
        return drv_usage_error(c->name, "--ir-version needs a positive integer, not '%s'", optarg);
      a->ir_version = v;
      break;
    }
    }
  }
  if (optind >= argc) return drv_usage_error(c->name, "no MODEL given");
  if (optind + 1 < argc) return drv_usage_error(c->name, "more than one MODEL given ('%s', '%s')", argv[optind], argv[optind + 1]);
  a->model = argv[optind];
  return -1;
}

Model *drv_load(const char *path) {
  MappedFile f;
  char err[1024];
  if (!ir_file_map(path, &f, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n", drv_prog, err);
    return NULL;
  }
  /* one Diag for loading and verifying, quoting the source text while it is mapped */
  Diag d;
  bool text = fe_sniff_text(f.data, f.len);
  ir_diag_init(&d, stderr, strcmp(path, "-") ? path : "<stdin>", text ? (const char *)f.data : NULL,
               text ? f.len : 0);
  Model *m = fe_load_mapped(path, &f, &d);
  loaded_path = d.file;
  /* structure and operator schemas, then types and shapes through inference (a check:
   * the model keeps its declared types) */
  if (m && (ir_verify(m, &d) > 0 || (drv_type_check && ir_infer_check(m, &d) != 0))) {
    ir_model_free(m);
    m = NULL;
  }
  ir_file_unmap(&f);
  return m;
}

/* Freeing a big model block by block right before exit only costs time; the kernel takes
 * the address space back at once. So, like clang's -disable-free, commands hand their model
 * here when done: sanitizer builds free it (LeakSanitizer keeps checking that everything a
 * model owns is freed with it); other builds keep it referenced from a static (valgrind sees
 * it as reachable, not lost) and let exit reclaim it. */
#if defined(__SANITIZE_ADDRESS__)
#define DRV_FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define DRV_FREE_AT_EXIT 1
#endif
#endif
#ifndef DRV_FREE_AT_EXIT
#define DRV_FREE_AT_EXIT 0
#endif

void drv_model_done(Model *m) {
  static Model *kept;
  if (DRV_FREE_AT_EXIT || kept) {
    ir_model_free(m);
    return;
  }
  kept = m;
}

static bool has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), e = strlen(ext);
  return n > e && !strcmp(path + n - e, ext);
}

/* OUT with its extension replaced by .safetensors */
static char *weights_beside(const char *out) {
  size_t n = strlen(out);
  const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
  if (dot && (!slash || dot > slash + 1)) n = (size_t)(dot - out);
  char *w = malloc(n + 13);
  if (!w) return NULL;
  memcpy(w, out, n);
  strcpy(w + n, ".safetensors");
  return w;
}

/* The location to write in the model for weights file `w`, relative to the directory of
 * the model file `out`: both must be in the same directory. */
static const char *weights_location(const char *out, const char *w) {
  char *o = strdup(out), *ww = strdup(w);
  if (!o || !ww) {
    free(o);
    free(ww);
    return NULL;
  }
  char *od = dirname(o), *wd = dirname(ww);
  bool same = !strcmp(od, wd);
  free(o);
  free(ww);
  if (!same) return NULL;
  const char *base = strrchr(w, '/');
  return base ? base + 1 : w;
}

int drv_specialize(Model *m, const char *const *shapes, int nshapes, const char *const *dims,
                   int ndims, Diag *d) {
  for (int i = 0; i < nshapes; i++)
    if (pass_set_input_shape(m, shapes[i], d)) return EXIT_USER;
  for (int i = 0; i < ndims; i++)
    if (pass_bind_dim(m, dims[i], d)) return EXIT_USER;
  if ((nshapes || ndims) && ir_infer_model(m, d)) return EXIT_USER;
  return EXIT_OK;
}

bool drv_is_onnx_path(const char *path) {
  return has_ext(path, ".onnx");
}

int drv_write_model(Model *m, const char *out, const char *weights, bool binary,
                    const ExportOptions *xo) {
  bool to_stdout = !strcmp(out, "-");
  char err[512];
  Diag d;
  ir_diag_init(&d, stderr, to_stdout ? "<stdout>" : out, NULL, 0);

  char *wpath = NULL;
  if (weights) wpath = strdup(weights);
  else if (!binary && !to_stdout) wpath = weights_beside(out);
  /* Every tensor's bytes must be in memory before they move to a new place; without a
   * weights file, all data is written inline. */
  Diag dl; /* locations point into the model's source (a text file's external data) */
  ir_diag_init(&dl, stderr, loaded_path, NULL, 0);
  if (!wpath && !ir_external_inline_all(m, &dl)) return EXIT_USER;
  if (wpath) {
    const char *loc = to_stdout ? wpath : weights_location(out, wpath);
    if (!loc) {
      free(wpath);
      return drv_usage_error(NULL, "--weights %s must be in the same directory as %s", weights, out);
    }
    Diag dw;
    ir_diag_init(&dw, stderr, wpath, NULL, 0);
    bool ok = ir_external_externalize(m, wpath, loc, 64, &dw);
    free(wpath);
    if (!ok) return EXIT_USER;
  }

  if (binary) {
    if (to_stdout && isatty(1)) {
      fprintf(stderr, "%s: error: refusing to write binary ONNX to a terminal (use -o FILE.onnx)\n",
              drv_prog);
      return EXIT_USAGE;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    ExportOptions defaults = {0};
    if (!fe_onnx_export(m, xo ? xo : &defaults, &buf, &len, &d)) return EXIT_USER;
    AtomicFile af;
    if (!ir_atomic_open(&af, out, err, sizeof err)) {
      free(buf);
      fprintf(stderr, "%s: error: %s\n", drv_prog, err);
      return EXIT_USER;
    }
    fwrite(buf, 1, len, af.fp);
    free(buf);
    if (!ir_atomic_commit(&af, err, sizeof err)) {
      fprintf(stderr, "%s: error: %s\n", drv_prog, err);
      return EXIT_USER;
    }
    return EXIT_OK;
  }

  AtomicFile af;
  if (!ir_atomic_open(&af, out, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n", drv_prog, err);
    return EXIT_USER;
  }
  if (ir_print_model(af.fp, m, &d) != 0) {
    ir_atomic_abort(&af);
    fprintf(stderr, "%s: error: %s: write error\n", drv_prog, out);
    return EXIT_USER;
  }
  if (!ir_atomic_commit(&af, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n", drv_prog, err);
    return EXIT_USER;
  }
  return EXIT_OK;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return EXIT_USAGE;
  }
  const char *c = argv[1];
  if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
    if (!strcmp(c, "help") && argc > 2) {
      for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[2], commands[i]->name)) {
          drv_print_help(commands[i]);
          return EXIT_OK;
        }
      return drv_usage_error(NULL, "unknown command '%s'", argv[2]);
    }
    print_usage(stdout);
    return EXIT_OK;
  }
  if (!strcmp(c, "--version")) {
    printf("effc %s\n", EFFC_VERSION);
    return EXIT_OK;
  }
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (!strcmp(c, commands[i]->name)) return commands[i]->run(argc - 1, argv + 1);
  if (c[0] == '-') return drv_usage_error(NULL, "unknown option '%s'", c);
  return drv_usage_error(NULL, "unknown command '%s'", c);
}

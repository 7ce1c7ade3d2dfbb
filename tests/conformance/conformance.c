/* conformance.c - runs ONNX's backend node tests through the front end, in one process:
 * for each case, model.onnxtxt parses, model.onnx imports, both verify, they print the same
 * canonical text byte for byte, and printing is a fixed point. One line per case on stdout:
 * "<case> PASS" or "<case> FAIL <stage>: <detail>". */
#include "frontend.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

typedef struct Buf {
  char *p;
  size_t n;
} Buf;

static FILE *devnull;

static bool print_to(const Model *m, Buf *b) {
  FILE *f = open_memstream(&b->p, &b->n);
  if (!f) return false;
  int rc = ir_print_model(f, m, NULL);
  return fclose(f) == 0 && rc == 0;
}

/* First differing line of two texts, for the report. */
static void first_diff(const Buf *a, const Buf *b, char *out, size_t outlen) {
  size_t i = 0, line = 1;
  while (i < a->n && i < b->n && a->p[i] == b->p[i]) {
    if (a->p[i] == '\n') line++;
    i++;
  }
  snprintf(out, outlen, "line %zu differs", line);
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

static Model *load(const char *path, bool text, char *why, size_t whylen) {
  char err[512];
  MappedFile f;
  if (!ir_file_map(path, &f, err, sizeof err)) {
    snprintf(why, whylen, "%s", err);
    return NULL;
  }
  char *msg = NULL;
  size_t msglen = 0;
  FILE *mf = open_memstream(&msg, &msglen);
  Diag d;
  ir_diag_init(&d, mf, path, (const char *)f.data, f.len);
  Model *m = text ? fe_parse(path, (const char *)f.data, f.len, &d)
                  : fe_onnx_import(f.data, f.len, path, &d);
  if (m && (ir_verify(m, &d) > 0 || ir_infer_check(m, &d) != 0)) {
    ir_model_free(m);
    m = NULL;
  }
  fclose(mf);
  if (!m) {
    char *nl = msg ? strchr(msg, '\n') : NULL;
    if (nl) *nl = 0;
    snprintf(why, whylen, "%s", msg && *msg ? msg : "failed without a message");
  }
  free(msg);
  ir_file_unmap(&f);
  return m;
}

static bool run_case(const char *dir, const char *name, char *why, size_t whylen) {
  char path[4096];
  bool ok = false;
  Buf pt = {0}, pi = {0}, pp = {0};
  Model *mt = NULL, *mi = NULL, *mp = NULL;
  snprintf(path, sizeof path, "%s/%s/model.onnxtxt", dir, name);
  char detail[600];
  if (!(mt = load(path, true, detail, sizeof detail))) {
    snprintf(why, whylen, "parse: %s", detail);
    goto out;
  }
  snprintf(path, sizeof path, "%s/%s/model.onnx", dir, name);
  if (!(mi = load(path, false, detail, sizeof detail))) {
    snprintf(why, whylen, "import: %s", detail);
    goto out;
  }
  if (!print_to(mt, &pt) || !print_to(mi, &pi)) {
    snprintf(why, whylen, "print: write error");
    goto out;
  }
  if (pt.n != pi.n || memcmp(pt.p, pi.p, pt.n)) {
    first_diff(&pt, &pi, detail, sizeof detail);
    snprintf(why, whylen, "match: print(parse(txt)) != print(import(onnx)): %s", detail);
    goto out;
  }
  Diag d;
  ir_diag_init(&d, devnull, "<printed>", pt.p, pt.n);
  /* the printed text needs two NULs after it for the lexer: open_memstream gives one */
  char *copy = malloc(pt.n + 2);
  memcpy(copy, pt.p, pt.n);
  copy[pt.n] = copy[pt.n + 1] = 0;
  mp = fe_parse("<printed>", copy, pt.n, &d);
  if (!mp) {
    free(copy);
    snprintf(why, whylen, "fixpoint: printed text does not parse");
    goto out;
  }
  bool same = print_to(mp, &pp) && pp.n == pt.n && !memcmp(pp.p, pt.p, pt.n);
  free(copy);
  if (!same) {
    first_diff(&pt, &pp, detail, sizeof detail);
    snprintf(why, whylen, "fixpoint: print(parse(print(x))) != print(x): %s", detail);
    goto out;
  }
  ok = true;
out:
  ir_model_free(mt);
  ir_model_free(mi);
  ir_model_free(mp);
  free(pt.p);
  free(pi.p);
  free(pp.p);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s NODE_TEST_DIR [CASE...]\n", argv[0]);
    return 2;
  }
  devnull = fopen("/dev/null", "w");
  const char *dir = argv[1];
  char **names = NULL;
  size_t n = 0, cap = 0;
  if (argc > 2) {
    names = argv + 2;
    n = (size_t)argc - 2;
  } else {
    DIR *d = opendir(dir);
    if (!d) {
      perror(dir);
      return 1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 256;
        names = realloc(names, cap * sizeof *names);
      }
      names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
  }
  size_t pass = 0;
  for (size_t i = 0; i < n; i++) {
    char why[1024];
    if (run_case(dir, names[i], why, sizeof why)) {
      printf("%s PASS\n", names[i]);
      pass++;
    } else {
      for (char *p = why; *p; p++)
        if (*p == '\n') *p = ' ';
      printf("%s FAIL %s\n", names[i], why);
    }
    fflush(stdout);
  }
  fprintf(stderr, "conformance (front end): %zu of %zu cases pass\n", pass, n);
  if (argc <= 2) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
  }
  fclose(devnull);
  return 0;
}

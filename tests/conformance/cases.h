/* cases.h - what the conformance tools (conformance_interp, check_passes) share about ONNX's
 * node-test layout: listing case or data-set directories, and reading a data set's inputs.
 * Static functions: each tool includes it once. */
#ifndef EFFC_TESTS_CASES_H
#define EFFC_TESTS_CASES_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime.h"

static int cases_cmp(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted names of the entries of dir that start with prefix; NULL if dir cannot be read.
 * The caller frees each name and the array. */
static char **cases_list(const char *dir, const char *prefix, int *n) {
  DIR *d = opendir(dir);
  *n = 0;
  if (!d) return NULL;
  char **v = NULL;
  int cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix))) continue;
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      v = realloc(v, (size_t)cap * sizeof *v);
      if (!v) abort();
    }
    v[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  if (v) qsort(v, (size_t)*n, sizeof *v, cases_cmp);
  return v;
}

/* Read set/input_<i>.pb for each graph input that has one (decoded by the input's declared
 * type) into ins[i]; inputs without a file stay NULL (optional, or an initializer). Returns
 * -1 when all were read, else the index of the first unreadable input. */
static int cases_read_inputs(const Graph *g, const char *set, RtValue **ins, Arena *a, Diag *d) {
  char path[4600];
  for (int i = 0; i < g->n_inputs; i++) {
    struct stat st;
    snprintf(path, sizeof path, "%s/input_%d.pb", set, i);
    if (stat(path, &st)) continue;
    Datum *dt = ir_pb_read(a, path, g->inputs[i]->type, d);
    ins[i] = dt ? rt_from_datum(dt) : NULL;
    if (!ins[i]) return i;
  }
  return -1;
}

#endif

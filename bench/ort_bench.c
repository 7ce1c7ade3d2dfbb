/* ort_bench.c - ONNX Runtime's side of the effc benchmark (bench/run_bench.py): loads a .onnx
 * through ORT's C API (libonnxruntime.so.1 from the onnxruntime-node npm package, see
 * ort_api.h), feeds .npy inputs, runs warm-up then timed inferences at a given intra-op thread
 * count, prints the median and minimum latency, and writes the outputs as .npy (named as
 * `effc run` names them) for the correctness check.
 *
 *   ort_bench MODEL.onnx --input NAME=FILE.npy ... [--threads T] [--runs N] [--warmup W]
 *             [--output-dir DIR]
 *   prints: ort: median 3.812 ms, min 3.701 ms (30 runs, 1 thread)
 *
 * Build: cc -O2 -std=c11 bench/ort_bench.c -o ort_bench -L$ORTDIR -l:libonnxruntime.so.1
 *        -Wl,-rpath,$ORTDIR */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ort_api.h"

static const OrtApi *api;

static void die(const char *fmt, const char *arg) {
  fprintf(stderr, "ort_bench: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  exit(1);
}

static void check(OrtStatus *s, const char *what) {
  if (!s) return;
  fprintf(stderr, "ort_bench: %s: %s\n", what, ort_error_message(api)(s));
  ort_release_status(api)(s);
  exit(1);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* ------------------------------------------------------------------ .npy */

/* ONNX element types the benchmark handles, with their numpy descr and size. */
static const struct {
  int onnx;
  const char *descr;
  size_t size;
} dtypes[] = {{1, "<f4", 4}, {11, "<f8", 8}, {7, "<i8", 8}, {6, "<i4", 4},
              {3, "|i1", 1}, {2, "|u1", 1}, {9, "|b1", 1}};

typedef struct Array {
  int onnx; /* element type */
  size_t size, n, rank;
  int64_t dims[16];
  void *data;
} Array;

/* Read a little-endian, C-order .npy (versions 1-3) of one of the dtypes above. */
static void npy_read(const char *path, Array *a) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s", path);
  unsigned char h[12];
  if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6)) die("%s: not a .npy file", path);
  size_t hl = h[8] | (size_t)h[9] << 8;
  if (h[6] >= 2) {
    if (fread(h + 10, 1, 2, f) != 2) die("%s: short header", path);
    hl |= (size_t)h[10] << 16 | (size_t)h[11] << 24;
  }
  char *hdr = calloc(hl + 1, 1);
  if (fread(hdr, 1, hl, f) != hl) die("%s: short header", path);
  const char *d = strstr(hdr, "'descr':"), *s = strstr(hdr, "'shape':");
  if (!d || !s || strstr(hdr, "'fortran_order': True")) die("%s: unsupported header", path);
  char descr[16] = "";
  const char *q = strchr(d + 8, '\'');
  if (q) snprintf(descr, sizeof descr, "%.*s", (int)strcspn(q + 1, "'"), q + 1);
  a->onnx = 0;
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (!strcmp(descr, dtypes[i].descr)) a->onnx = dtypes[i].onnx, a->size = dtypes[i].size;
  if (!a->onnx) die("%s: unsupported dtype", path);
  a->rank = 0;
  a->n = 1;
  const char *p = strchr(s, '(') + 1;
  while (*p && *p != ')') {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p) {
      p++;
      continue;
    }
    if (a->rank == 16 || v < 0) die("%s: bad shape", path);
    a->dims[a->rank++] = v;
    a->n *= (size_t)v;
    p = end;
  }
  free(hdr);
  a->data = malloc(a->n * a->size + 1);
  if (fread(a->data, a->size, a->n, f) != a->n) die("%s: short data", path);
  fclose(f);
}

static void npy_write(const char *path, int onnx, const int64_t *dims, size_t rank, const void *data,
                      size_t n) {
  const char *descr = NULL;
  size_t size = 0;
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (dtypes[i].onnx == onnx) descr = dtypes[i].descr, size = dtypes[i].size;
  if (!descr) die("output of unsupported element type (%s)", path);
  char shape[512] = "";
  size_t k = 0;
  for (size_t i = 0; i < rank; i++)
    k += (size_t)snprintf(shape + k, sizeof shape - k, "%lld%s", (long long)dims[i], rank == 1 || i + 1 < rank ? "," : "");
  char hdr[640];
  int hl = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
  int total = (10 + hl + 1 + 63) / 64 * 64;
  memset(hdr + hl, ' ', (size_t)(total - 10 - hl - 1));
  hdr[total - 10 - 1] = '\n';
  FILE *f = fopen(path, "wb");
  if (!f) die("cannot write %s", path);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((total - 10) & 255),
                           (unsigned char)((total - 10) >> 8)};
  fwrite(pre, 1, 10, f);
  fwrite(hdr, 1, (size_t)(total - 10), f);
  fwrite(data, size, n, f);
  if (fclose(f)) die("cannot write %s", path);
}

/* `effc run`'s output file name: bytes outside [A-Za-z0-9_.-], and a leading '.', as %XX */
static void enc_name(char *out, size_t len, const char *name) {
  size_t k = 0;
  for (const char *p = name; *p && k + 4 < len; p++) {
    unsigned char c = (unsigned char)*p;
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || (c == '.' && p != name);
    k += plain ? (size_t)snprintf(out + k, len - k, "%c", c) : (size_t)snprintf(out + k, len - k, "%%%02X", c);
  }
  out[k] = 0;
}

/* ------------------------------------------------------------------ main */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const char *model = NULL, *out_dir = NULL;
  const char *in_spec[64];
  int n_spec = 0, threads = 1, runs = 30, warmup = 3;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has = i + 1 < argc;
    if (!strcmp(a, "--input") && has && n_spec < 64) in_spec[n_spec++] = argv[++i];
    else if (!strcmp(a, "--threads") && has) threads = atoi(argv[++i]);
    else if (!strcmp(a, "--runs") && has) runs = atoi(argv[++i]);
    else if (!strcmp(a, "--warmup") && has) warmup = atoi(argv[++i]);
    else if (!strcmp(a, "--output-dir") && has) out_dir = argv[++i];
    else if (a[0] != '-' && !model) model = a;
    else {
      fprintf(stderr, "usage: ort_bench MODEL.onnx --input NAME=FILE.npy ... [--threads T] "
                      "[--runs N] [--warmup W] [--output-dir DIR]\n");
      return 2;
    }
  }
  if (!model || threads < 1 || runs < 1 || warmup < 0) die("%s", "bad arguments (see --help)");
  api = OrtGetApiBase()->GetApi(ORT_API_VERSION_WANTED);
  if (!api) die("%s", "this libonnxruntime does not serve the API version asked for");
  OrtEnv *env;
  check(ort_create_env(api)(ORT_LOG_WARNING, "ort_bench", &env), "create env");
  OrtSessionOptions *so;
  check(ort_create_session_options(api)(&so), "session options");
  check(ort_set_intra_op_threads(api)(so, threads), "intra-op threads");
  check(ort_set_inter_op_threads(api)(so, 1), "inter-op threads");
  check(ort_set_execution_mode(api)(so, ORT_EXEC_SEQUENTIAL), "execution mode");
  check(ort_set_graph_opt_level(api)(so, ORT_OPT_ALL), "optimization level");
  OrtSession *sess;
  check(ort_create_session(api)(env, model, so, &sess), model);
  OrtAllocator *alloc;
  check(ort_default_allocator(api)(&alloc), "allocator");
  OrtMemoryInfo *mi;
  check(ort_create_cpu_memory_info(api)(ORT_ARENA_ALLOCATOR, ORT_MEM_DEFAULT, &mi), "memory info");

  size_t n_in, n_out;
  check(ort_input_count(api)(sess, &n_in), "input count");
  check(ort_output_count(api)(sess, &n_out), "output count");
  char **in_names = calloc(n_in + 1, sizeof *in_names), **out_names = calloc(n_out + 1, sizeof *out_names);
  OrtValue **in = calloc(n_in + 1, sizeof *in), **out = calloc(n_out + 1, sizeof *out);
  Array *arr = calloc(n_in + 1, sizeof *arr);
  for (size_t i = 0; i < n_in; i++) {
    check(ort_input_name(api)(sess, i, alloc, &in_names[i]), "input name");
    const char *file = NULL;
    size_t len = strlen(in_names[i]);
    for (int k = 0; k < n_spec; k++)
      if (!strncmp(in_spec[k], in_names[i], len) && in_spec[k][len] == '=') file = in_spec[k] + len + 1;
    if (!file) die("no --input for model input '%s'", in_names[i]);
    npy_read(file, &arr[i]);
    check(ort_create_tensor_with_data(api)(mi, arr[i].data, arr[i].n * arr[i].size, arr[i].dims,
                                           arr[i].rank, arr[i].onnx, &in[i]),
          in_names[i]);
  }
  for (size_t i = 0; i < n_out; i++) check(ort_output_name(api)(sess, i, alloc, &out_names[i]), "output name");

  double *ms = malloc((size_t)runs * sizeof *ms);
  for (int r = -warmup; r < runs; r++) {
    for (size_t i = 0; i < n_out; i++) {
      if (out[i]) ort_release_value(api)(out[i]);
      out[i] = NULL;
    }
    double t0 = now_ms();
    check(ort_run(api)(sess, NULL, (const char *const *)in_names, (const OrtValue *const *)in, n_in,
                       (const char *const *)out_names, n_out, out),
          "run");
    if (r >= 0) ms[r] = now_ms() - t0;
  }
  qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
  double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
  printf("ort: median %.3f ms, min %.3f ms (%d runs, %d thread%s)\n", median, ms[0], runs, threads,
         threads == 1 ? "" : "s");

  for (size_t i = 0; out_dir && i < n_out; i++) {
    OrtTensorTypeAndShapeInfo *ti;
    check(ort_type_and_shape(api)(out[i], &ti), "output type");
    int et;
    size_t rank, n;
    int64_t dims[16];
    check(ort_element_type(api)(ti, &et), "output element type");
    check(ort_dims_count(api)(ti, &rank), "output rank");
    if (rank > 16) die("output '%s' has rank above 16", out_names[i]);
    check(ort_dims(api)(ti, dims, rank), "output dims");
    check(ort_element_count(api)(ti, &n), "output size");
    ort_release_type_and_shape(api)(ti);
    void *data;
    check(ort_tensor_data(api)(out[i], &data), "output data");
    char name[1024], path[2048];
    enc_name(name, sizeof name, out_names[i]);
    snprintf(path, sizeof path, "%s/%s.npy", out_dir, name);
    npy_write(path, et, dims, rank, data, n);
  }

  for (size_t i = 0; i < n_out; i++) {
    if (out[i]) ort_release_value(api)(out[i]);
    check(ort_allocator_free(api)(alloc, out_names[i]), "free");
  }
  for (size_t i = 0; i < n_in; i++) {
    ort_release_value(api)(in[i]);
    check(ort_allocator_free(api)(alloc, in_names[i]), "free");
    free(arr[i].data);
  }
  free(in_names), free(out_names), free(in), free(out), free(arr), free(ms);
  ort_release_memory_info(api)(mi);
  ort_release_session(api)(sess);
  ort_release_session_options(api)(so);
  ort_release_env(api)(env);
  return 0;
}

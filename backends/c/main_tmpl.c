/* The command-line runner of a compiled model (effc compile --emit-main). cemit.c writes
 * <prefix>_main.c as a short preamble followed by this file. The preamble includes the
 * model's header and defines EFFC_M(x) (the prefixed name of x), N_IN and N_OUT (the
 * counts), EFFC_BIN (1 with --weights-bin), EFFC_BIN_DEFAULT (the .bin effc wrote, or
 * NULL), EFFC_CREATE(weights) and effc_call_run(ctx, in, out), which passes the buffers
 * to run().
 *
 *   prog [--input NAME=FILE.npy ...] [--output-dir DIR] [--bench N] [--weights FILE.bin]
 *
 * Inputs are .npy files checked against the model's dtypes and shapes; outputs go to
 * DIR/<enc(name)>.npy (v1, little-endian, C order), as `effc run` writes them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define N_IN1 (N_IN > 0 ? N_IN : 1)
#define N_OUT1 (N_OUT > 0 ? N_OUT : 1)

/* The .npy descr of an ONNX dtype as effc reads and writes it (CONTRACTS.md): bfloat16 as
 * float32 values, float8 kinds as uint8 bit patterns. */
static const char *npy_descr(int dt) {
  switch (dt) {
  case 1: return "<f4";
  case 2: return "|u1";
  case 3: return "|i1";
  case 4: return "<u2";
  case 5: return "<i2";
  case 6: return "<i4";
  case 7: return "<i8";
  case 9: return "|b1";
  case 10: return "<f2";
  case 11: return "<f8";
  case 12: return "<u4";
  case 13: return "<u8";
  case 16: return "<f4";
  case 17: case 18: case 19: case 20: case 24: return "|u1";
  default: return NULL;
  }
}

/* Bytes per element in the model's buffers. */
static size_t elem_size(int dt) {
  switch (dt) {
  case 4: case 5: case 10: case 16: return 2;
  case 1: case 6: case 12: return 4;
  case 7: case 11: case 13: return 8;
  default: return 1;
  }
}

static size_t numel(const int64_t *shape, int rank) {
  size_t n = 1;
  for (int k = 0; k < rank; k++) n *= (size_t)shape[k];
  return n;
}

static void shape_str(char *buf, size_t len, const int64_t *shape, int rank) {
  size_t o = (size_t)snprintf(buf, len, "(");
  for (int k = 0; k < rank && o < len; k++)
    o += (size_t)snprintf(buf + o, len - o, "%lld%s", (long long)shape[k],
                          rank == 1 ? ",)" : k + 1 < rank ? ", " : ")");
  if (rank == 0 && o < len) snprintf(buf + o, len - o, ")");
}

static float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint16_t f32_to_bf16(float f) { /* round to nearest even; NaN stays NaN */
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

/* The value text after 'key': in a .npy header dict, or NULL. */
static const char *npy_key(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ') p++;
  if (*p++ != ':') return NULL;
  while (*p == ' ') p++;
  return p;
}

/* Read FILE into a new buffer of input i's dtype and shape; NULL after an error. */
static void *read_input(int i, const char *path) {
  const char *name = EFFC_M(input_names)[i];
  int dt = EFFC_M(input_dtypes)[i], rank = EFFC_M(input_ranks)[i];
  const int64_t *shape = EFFC_M(input_shapes)[i];
  size_t len = 0;
  char *buf = read_file(path, &len);
  if (!buf) {
    fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(errno));
    return NULL;
  }
  void *data = NULL;
  const char *why = NULL;
  char want_shape[256], got_shape[256], descr[16] = "";
  int64_t dims[64];
  int nd = 0;
  size_t hlen = 0, hstart = 0;
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6)) why = "not a .npy file";
  else if (buf[6] == 1) hlen = (unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8, hstart = 10;
  else if ((buf[6] == 2 || buf[6] == 3) && len >= 12)
    hlen = (unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8 |
           (size_t)(unsigned char)buf[10] << 16 | (size_t)(unsigned char)buf[11] << 24,
    hstart = 12;
  else why = "unsupported .npy version";
  if (!why && hstart + hlen > len) why = "truncated .npy header";
  char *h = NULL;
  if (!why) {
    h = malloc(hlen + 1);
    if (!h) why = "out of memory";
    else {
      memcpy(h, buf + hstart, hlen);
      h[hlen] = 0;
    }
  }
  const char *p;
  if (!why) {
    if (!(p = npy_key(h, "descr")) || (*p != '\'' && *p != '"')) why = "no descr in the header";
    else {
      char q = *p++;
      size_t k = 0;
      while (*p && *p != q && k + 1 < sizeof descr) descr[k++] = *p++;
      descr[k] = 0;
    }
  }
  if (!why && (!(p = npy_key(h, "fortran_order")) || strncmp(p, "False", 5)))
    why = "Fortran-order arrays are not supported (save a C-order array)";
  if (!why) {
    if (!(p = npy_key(h, "shape")) || *p != '(') why = "no shape in the header";
    else {
      for (p++;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || nd == 64) {
          why = "bad shape in the header";
          break;
        }
        dims[nd++] = v;
        p = end;
      }
    }
  }
  const char *want = npy_descr(dt);
  shape_str(want_shape, sizeof want_shape, shape, rank);
  shape_str(got_shape, sizeof got_shape, dims, nd);
  bool swap = false;
  if (!why) {
    /* byte order: '<', '|' and '=' are this (little-endian) machine's; '>' is swapped */
    bool same = descr[0] && !strcmp(descr + 1, want + 1) &&
                (descr[0] == '<' || descr[0] == '=' || descr[0] == '|' ||
                 (descr[0] == '>' && (swap = true)));
    if (!same) {
      fprintf(stderr, "%s: error: input '%s' wants dtype %s, the file has %s\n", path, name, want,
              descr);
      why = "";
    }
  }
  if (!why) {
    bool ok = nd == rank;
    for (int k = 0; ok && k < rank; k++) ok = dims[k] == shape[k];
    if (!ok) {
      fprintf(stderr, "%s: error: input '%s' wants shape %s, the file has %s\n", path, name,
              want_shape, got_shape);
      why = "";
    }
  }
  size_t n = numel(shape, rank), fsz = (size_t)(want[2] - '0');
  if (!why && len - hstart - hlen != n * fsz) why = "the data size does not match the shape";
  if (!why) {
    const unsigned char *src = (const unsigned char *)buf + hstart + hlen;
    data = malloc(n * elem_size(dt) + 1);
    if (!data) why = "out of memory";
    for (size_t e = 0; data && e < n; e++) {
      unsigned char el[8];
      for (size_t b = 0; b < fsz; b++) el[b] = src[e * fsz + (swap ? fsz - 1 - b : b)];
      if (dt == 16) { /* bfloat16 from float32 values */
        float f;
        memcpy(&f, el, 4);
        uint16_t bits = f32_to_bf16(f);
        memcpy((char *)data + e * 2, &bits, 2);
      } else {
        memcpy((char *)data + e * fsz, el, fsz);
      }
    }
  }
  if (why && *why) fprintf(stderr, "%s: error: input '%s': %s\n", path, name, why);
  free(h);
  free(buf);
  if (why) {
    free(data);
    return NULL;
  }
  return data;
}

/* DIR/<enc(name)>.npy: bytes outside [A-Za-z0-9_.-] and a leading '.' as %XX. */
static char *output_path(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  char *path = malloc(dl + 3 * nl + 8);
  if (!path) return NULL;
  char *o = path + sprintf(path, "%s/", dir);
  for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
    bool plain = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                 *s == '_' || *s == '-' || (*s == '.' && s != (const unsigned char *)name);
    if (plain) *o++ = (char)*s;
    else o += sprintf(o, "%%%02X", *s);
  }
  strcpy(o, ".npy");
  return path;
}

static int write_output(int i, const char *dir, const void *data) {
  const char *name = EFFC_M(output_names)[i];
  int dt = EFFC_M(output_dtypes)[i], rank = EFFC_M(output_ranks)[i];
  const int64_t *shape = EFFC_M(output_shapes)[i];
  char *path = output_path(dir, name);
  if (!path) return -1;
  char shp[256], h[512];
  shape_str(shp, sizeof shp, shape, rank);
  int hl = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    npy_descr(dt), shp);
  int total = 10 + hl + 1, pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
    free(path);
    return -1;
  }
  unsigned hlen = (unsigned)(hl + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc((int)(hlen & 0xff), f);
  fputc((int)(hlen >> 8), f);
  fwrite(h, 1, (size_t)hl, f);
  for (int k = 0; k < pad; k++) fputc(' ', f);
  fputc('\n', f);
  size_t n = numel(shape, rank);
  if (dt == 16) {
    for (size_t e = 0; e < n; e++) {
      uint16_t b;
      memcpy(&b, (const char *)data + 2 * e, 2);
      float v = bf16_to_f32(b);
      fwrite(&v, 4, 1, f);
    }
  } else {
    fwrite(data, elem_size(dt), n, f);
  }
  int bad = ferror(f);
  if (fclose(f) || bad) {
    fprintf(stderr, "%s: error: write error\n", path);
    free(path);
    return -1;
  }
  free(path);
  return 0;
}

/* Deterministic pseudo-random data for --bench without --input: floats in [-1, 1),
 * integers and booleans 0 or 1 (safe as indices). */
static void fill_random(void *data, int dt, size_t n, uint32_t *state) {
  for (size_t e = 0; e < n; e++) {
    uint32_t x = *state;
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    *state = x;
    float f = (float)(x >> 8) / 8388608.0f - 1.0f;
    switch (dt) {
    case 1: ((float *)data)[e] = f; break;
    case 11: ((double *)data)[e] = f; break;
    case 16: ((uint16_t *)data)[e] = f32_to_bf16(f); break;
    case 10: ((uint16_t *)data)[e] = (uint16_t)(x & 1 ? 0x3c00 : 0xbc00); break; /* +-1 */
    default: memset((char *)data + e * elem_size(dt), 0, elem_size(dt));
      ((unsigned char *)data)[e * elem_size(dt)] = (unsigned char)(x & 1);
    }
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int usage(const char *prog, FILE *o) {
  fprintf(o,
          "usage: %s [--input NAME=FILE.npy ...] [--output-dir DIR] [--bench N]%s\n"
          "\n"
          "Run the compiled model once on .npy inputs (checked against the model's dtypes and\n"
          "shapes) and write each output to DIR/<name>.npy as `effc run` does; or, with\n"
          "--bench N, time N inferences after a warm-up and print the median and minimum\n"
          "latency in ms (inputs from --input, else deterministic pseudo-random data).\n",
          prog, EFFC_BIN ? " [--weights FILE.bin]" : "");
  if (EFFC_BIN) fprintf(o, "The weights file defaults to the one effc wrote (%s).\n", EFFC_BIN_DEFAULT);
  fprintf(o, "\ninputs:\n");
  for (int i = 0; i < N_IN; i++) {
    char s[256];
    shape_str(s, sizeof s, EFFC_M(input_shapes)[i], EFFC_M(input_ranks)[i]);
    fprintf(o, "  %s %s %s\n", EFFC_M(input_names)[i], npy_descr(EFFC_M(input_dtypes)[i]), s);
  }
  return 2;
}

int main(int argc, char **argv) {
  void *in[N_IN1] = {0}, *out[N_OUT1] = {0};
  const char *outdir = NULL, *weights = EFFC_BIN_DEFAULT;
  long bench = 0;
  int rc = 1;
  for (int a = 1; a < argc; a++) {
    const char *arg = argv[a];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(argv[0], stdout);
      rc = 0;
      goto done;
    }
    if (a + 1 >= argc || (strcmp(arg, "--input") && strcmp(arg, "-i") &&
                          strcmp(arg, "--output-dir") && strcmp(arg, "--bench") &&
                          (!EFFC_BIN || strcmp(arg, "--weights")))) {
      fprintf(stderr, "%s: error: %s '%s'\n", argv[0],
              a + 1 >= argc && arg[0] == '-' ? "missing value for" : "unknown argument", arg);
      rc = usage(argv[0], stderr);
      goto done;
    }
    const char *val = argv[++a];
    if (!strcmp(arg, "--output-dir")) {
      outdir = val;
    } else if (!strcmp(arg, "--weights")) {
      weights = val;
    } else if (!strcmp(arg, "--bench")) {
      char *end;
      bench = strtol(val, &end, 10);
      if (*end || end == val || bench < 1) {
        fprintf(stderr, "%s: error: --bench needs a positive count, not '%s'\n", argv[0], val);
        rc = 2;
        goto done;
      }
    } else {
      const char *eq = strchr(val, '=');
      int i = 0;
      while (eq && i < N_IN && (strlen(EFFC_M(input_names)[i]) != (size_t)(eq - val) ||
                                strncmp(EFFC_M(input_names)[i], val, (size_t)(eq - val))))
        i++;
      if (!eq || i == N_IN) {
        fprintf(stderr, "%s: error: %s '%s' (run with --help for the inputs)\n", argv[0],
                eq ? "no model input named in" : "--input wants NAME=FILE, not", val);
        goto done;
      }
      if (in[i]) {
        fprintf(stderr, "%s: error: input '%s' given twice\n", argv[0], EFFC_M(input_names)[i]);
        goto done;
      }
      if (!(in[i] = read_input(i, eq + 1))) goto done;
    }
  }
  uint32_t seed = 0x9e3779b9u;
  for (int i = 0; i < N_IN; i++) {
    if (in[i]) continue;
    if (!bench) {
      fprintf(stderr, "%s: error: missing --input %s=FILE.npy\n", argv[0], EFFC_M(input_names)[i]);
      goto done;
    }
    size_t n = numel(EFFC_M(input_shapes)[i], EFFC_M(input_ranks)[i]);
    if (!(in[i] = malloc(n * elem_size(EFFC_M(input_dtypes)[i]) + 1))) goto done;
    fill_random(in[i], EFFC_M(input_dtypes)[i], n, &seed);
  }
  for (int i = 0; i < N_OUT; i++) {
    size_t n = numel(EFFC_M(output_shapes)[i], EFFC_M(output_ranks)[i]);
    if (!(out[i] = calloc(n * elem_size(EFFC_M(output_dtypes)[i]) + 1, 1))) goto done;
  }
  EFFC_M(ctx) *ctx = EFFC_CREATE(weights);
  if (!ctx) {
    fprintf(stderr, "%s: error: cannot create the model (out of memory, %s)\n", argv[0],
            EFFC_BIN ? "a missing or wrong weights file, or a CPU without the target's ISA"
                     : "or a CPU without the target's instruction set");
    goto done;
  }
  if (bench) {
    double *t = malloc(sizeof *t * (size_t)bench);
    int bad = !t;
    for (int w = 0; !bad && w < 3; w++) bad = effc_call_run(ctx, in, out) != 0;
    for (long r = 0; !bad && r < bench; r++) {
      double t0 = now_ms();
      bad = effc_call_run(ctx, in, out) != 0;
      t[r] = now_ms() - t0;
    }
    if (!bad) {
      qsort(t, (size_t)bench, sizeof *t, cmp_double);
      double med = bench % 2 ? t[bench / 2] : (t[bench / 2 - 1] + t[bench / 2]) / 2;
      printf("bench: %ld runs, median %.3f ms, min %.3f ms\n", bench, med, t[0]);
    }
    free(t);
    if (bad) {
      fprintf(stderr, "%s: error: run failed\n", argv[0]);
      EFFC_M(destroy)(ctx);
      goto done;
    }
  } else if (effc_call_run(ctx, in, out) != 0) {
    fprintf(stderr, "%s: error: run failed\n", argv[0]);
    EFFC_M(destroy)(ctx);
    goto done;
  }
  EFFC_M(destroy)(ctx);
  rc = 0;
  if (outdir) {
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "%s: error: cannot create %s: %s\n", argv[0], outdir, strerror(errno));
      rc = 1;
    }
    for (int i = 0; rc == 0 && i < N_OUT; i++)
      if (write_output(i, outdir, out[i])) rc = 1;
  } else if (!bench) {
    for (int i = 0; i < N_OUT; i++) {
      char s[256];
      shape_str(s, sizeof s, EFFC_M(output_shapes)[i], EFFC_M(output_ranks)[i]);
      printf("%s: %s %s\n", EFFC_M(output_names)[i], npy_descr(EFFC_M(output_dtypes)[i]), s);
    }
  }
done:
  for (int i = 0; i < N_IN1; i++) free(in[i]);
  for (int i = 0; i < N_OUT1; i++) free(out[i]);
  return rc;
}

/* m4_main.c - runs a compiled model (model.h / model.o, prefix "model") once on a Cortex-M
 * under QEMU: reads DATA_DIR/in<i>.npy (version 1, the model's dtype and size) and writes
 * DATA_DIR/out<i>.npy through semihosting file I/O. Exit status 0, or 1 with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#ifndef DATA_DIR
#error "compile with -DDATA_DIR=\"...\""
#endif

static size_t elem_size(int dtype) {
  switch (dtype) {
  case 1: case 6: case 12: return 4;
  case 3: case 2: case 9: return 1;
  case 4: case 5: case 10: case 16: return 2;
  case 7: case 11: case 13: return 8;
  default: return 0;
  }
}

static size_t numel(const int64_t *shape, int rank) {
  size_t n = 1;
  for (int k = 0; k < rank; k++) n *= (size_t)shape[k];
  return n;
}

static void *read_npy(const char *path, size_t bytes) {
  FILE *f = fopen(path, "rb");
  unsigned char h[10];
  if (!f || fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6) || h[6] != 1) {
    printf("%s: cannot read a version 1 .npy\n", path);
    return NULL;
  }
  fseek(f, 10 + h[8] + 256 * h[9], SEEK_SET);
  void *p = malloc(bytes ? bytes : 1);
  if (!p || fread(p, 1, bytes, f) != bytes) {
    printf("%s: short data\n", path);
    return NULL;
  }
  fclose(f);
  return p;
}

static const char *descr(int dtype) {
  switch (dtype) {
  case 1: return "<f4";
  case 3: return "|i1";
  case 2: case 9: return "|u1";
  case 6: return "<i4";
  case 7: return "<i8";
  default: return NULL;
  }
}

static int write_npy(const char *path, const void *p, int dtype, const int64_t *shape, int rank) {
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr(dtype));
  for (int k = 0; k < rank; k++) n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%ld,%s", (long)shape[k], k + 1 < rank ? " " : "");
  n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
  while ((10 + n + 1) % 64) hdr[n++] = ' ';
  hdr[n++] = '\n';
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 255), (unsigned char)(n >> 8)};
  size_t bytes = numel(shape, rank) * elem_size(dtype);
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
           fwrite(p, 1, bytes, f) == bytes;
  return fclose(f) == 0 && ok ? 0 : -1;
}

int main(void) {
  void *in[MODEL_NUM_INPUTS + 1], *out[MODEL_NUM_OUTPUTS + 1];
  char path[256];
  for (int i = 0; i < MODEL_NUM_INPUTS; i++) {
    snprintf(path, sizeof path, "%s/in%d.npy", DATA_DIR, i);
    in[i] = read_npy(path, numel(model_input_shapes[i], model_input_ranks[i]) * elem_size(model_input_dtypes[i]));
    if (!in[i]) return 1;
  }
  for (int i = 0; i < MODEL_NUM_OUTPUTS; i++) {
    if (!descr(model_output_dtypes[i])) {
      printf("output %d: dtype %d not handled\n", i, model_output_dtypes[i]);
      return 1;
    }
    out[i] = malloc(numel(model_output_shapes[i], model_output_ranks[i]) * elem_size(model_output_dtypes[i]) + 1);
    if (!out[i]) return 1;
  }
  model_ctx *c = model_create();
  if (!c) {
    printf("model_create failed (arena %u bytes)\n", (unsigned)MODEL_ARENA_BYTES);
    return 1;
  }
  int rc = model_run(c MODEL_ARGS);
  model_destroy(c);
  if (rc) {
    printf("model_run returned %d\n", rc);
    return 1;
  }
  for (int i = 0; i < MODEL_NUM_OUTPUTS; i++) {
    snprintf(path, sizeof path, "%s/out%d.npy", DATA_DIR, i);
    if (write_npy(path, out[i], model_output_dtypes[i], model_output_shapes[i], model_output_ranks[i])) {
      printf("%s: cannot write\n", path);
      return 1;
    }
  }
  printf("ok: %d input(s), %d output(s), arena %u bytes\n", MODEL_NUM_INPUTS, MODEL_NUM_OUTPUTS,
         (unsigned)MODEL_ARENA_BYTES);
  return 0;
}

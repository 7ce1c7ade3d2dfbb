/* fuzz_npy.c - libFuzzer harness for the .npy reader: ir_npy_parse with the file's own type
 * and with mapped types (int4, uint2, bfloat16, float8, string); whatever parses must have a
 * consistent size, and must write back and re-read to the same tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static FILE *devnull;

static bool is_nan_bf16(uint16_t h) {
  return (h & 0x7f80) == 0x7f80 && (h & 0x7f);
}

static void check_same(const Tensor *x, const Tensor *y, uint64_t numel) {
  if (x->elem != y->elem || x->rank != y->rank) abort();
  for (int i = 0; i < x->rank; i++)
    if (x->dims[i] != y->dims[i]) abort();
  if (x->elem == ELEM_STRING) {
    const IrStr *a = x->data, *b = y->data;
    for (uint64_t i = 0; i < numel; i++)
      if (a[i].len != b[i].len || memcmp(a[i].s, b[i].s, a[i].len)) abort();
    return;
  }
  if (x->nbytes != y->nbytes) abort();
  if (x->elem == ELEM_BFLOAT16) { /* a signalling NaN comes back quiet */
    const uint16_t *a = x->data, *b = y->data;
    for (uint64_t i = 0; i < numel; i++)
      if (a[i] != b[i] && !(is_nan_bf16(a[i]) && is_nan_bf16(b[i]))) abort();
    return;
  }
  if (x->nbytes && memcmp(x->data, y->data, x->nbytes)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!devnull) devnull = fopen("/dev/null", "w");
  static const ElemType wants[] = {ELEM_UNDEFINED, ELEM_INT4,         ELEM_UINT2,     ELEM_BFLOAT16,
                                   ELEM_STRING,    ELEM_FLOAT8E4M3FN, ELEM_FLOAT4E2M1};
  for (size_t w = 0; w < sizeof wants / sizeof wants[0]; w++) {
    Diag d;
    ir_diag_init(&d, devnull, "fuzz.npy", NULL, 0);
    Arena a;
    ir_arena_init(&a);
    Tensor *t = ir_npy_parse(&a, data, size, wants[w], "fuzz.npy", &d);
    if (t) {
      uint64_t numel;
      size_t nb;
      if (!ir_tensor_numel(t, &numel) || !ir_elem_nbytes(t->elem, numel, &nb) || nb != t->nbytes)
        abort();
      if (wants[w] != ELEM_UNDEFINED && t->elem != wants[w]) abort();
      char *buf = NULL;
      size_t len = 0;
      FILE *fp = open_memstream(&buf, &len);
      bool ok = ir_npy_write_fp(fp, t);
      fclose(fp);
      if (ok) {
        Tensor *u = ir_npy_parse(&a, (const uint8_t *)buf, len, t->elem, "again.npy", &d);
        if (!u) abort();
        check_same(t, u, numel);
      } else if (t->elem != ELEM_STRING) {
        abort(); /* only strings (not UTF-8, trailing NUL) may fail to write */
      }
      free(buf);
    }
    ir_arena_free(&a);
  }
  return 0;
}

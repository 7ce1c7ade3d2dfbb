/* fuzz_safetensors.c - libFuzzer harness for the safetensors reader: ir_st_parse, then every
 * entry found by name and turned into a tensor (string layouts decoded), touching all bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!devnull) devnull = fopen("/dev/null", "w");
  Diag d;
  ir_diag_init(&d, devnull, "fuzz.safetensors", NULL, 0);
  SafeTensors st;
  if (!ir_st_parse(&st, data, size, "fuzz.safetensors", &d)) {
    if (st.n_entries != 0 || st.entries) abort();
    return 0;
  }
  Arena a;
  ir_arena_init(&a);
  unsigned sum = 0;
  for (int i = 0; i < st.n_entries; i++) {
    const StEntry *e = &st.entries[i];
    const StEntry *f = ir_st_find(&st, e->name);
    if (f != e) abort(); /* names are unique */
    if (e->begin > e->end || st.data_start + e->end > size) abort();
    Tensor *t = ir_st_tensor(&a, &st, e, "fuzz.safetensors", &d);
    if (!t) {
      if (e->elem != ELEM_STRING) abort(); /* only string layouts are checked late */
      continue;
    }
    if (t->elem == ELEM_STRING) {
      const IrStr *s = t->data;
      uint64_t n;
      if (!ir_tensor_numel(t, &n)) abort();
      for (uint64_t k = 0; k < n; k++)
        for (size_t j = 0; j < s[k].len; j++) sum += (unsigned char)s[k].s[j];
    } else {
      for (size_t j = 0; j < t->nbytes; j++) sum += ((unsigned char *)t->data)[j];
    }
  }
  for (int i = 0; i < st.n_metadata; i++)
    sum += (unsigned)strlen(st.metadata[i].key) + (unsigned)strlen(st.metadata[i].value);
  if (sum == 0xdeadbeef) fputc(' ', devnull);
  ir_arena_free(&a);
  ir_st_close(&st);
  return 0;
}

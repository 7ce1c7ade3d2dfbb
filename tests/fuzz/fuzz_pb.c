/* fuzz_pb.c - libFuzzer harness for .pb data files: ir_pb_parse with no declared type
 * (TensorProto) and declared sequence, optional, map and sparse types; whatever decodes must
 * hold tensors whose payload size matches their shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static FILE *devnull;

/* Walk a datum with an explicit stack (the fuzzer finds deep ones). */
static void check(const Datum *root) {
  const Datum *stack[256];
  int sp = 0;
  stack[sp++] = root;
  while (sp) {
    const Datum *x = stack[--sp];
    const Tensor *ts[3] = {x->tensor, x->sparse ? x->sparse->values : NULL,
                           x->sparse ? x->sparse->indices : NULL};
    for (int k = 0; k < 3; k++) {
      const Tensor *t = ts[k];
      if (!t || !t->has_data) continue;
      uint64_t n;
      size_t nb;
      if (!ir_tensor_numel(t, &n) || !ir_elem_nbytes(t->elem, n, &nb) || nb != t->nbytes) abort();
      if (nb && !t->data) abort();
      if (t->elem == ELEM_STRING)
        for (uint64_t i = 0; i < n; i++) {
          const IrStr *s = &((const IrStr *)t->data)[i];
          if (s->len && !s->s) abort();
        }
    }
    for (int i = 0; i < x->n_items; i++) {
      if (!x->items[i]) abort();
      if (sp < 256) stack[sp++] = x->items[i];
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!devnull) devnull = fopen("/dev/null", "w");
  Arena a;
  ir_arena_init(&a);
  Type *seq = ir_type_new(&a, TYPE_SEQUENCE);
  Type *opt = ir_type_new(&a, TYPE_OPTIONAL);
  opt->inner = ir_type_tensor(&a, ELEM_UNDEFINED, -1, NULL);
  Type *map = ir_type_new(&a, TYPE_MAP);
  Type *sparse = ir_type_new(&a, TYPE_SPARSE);
  Type *seq_opt = ir_type_new(&a, TYPE_SEQUENCE);
  seq_opt->inner = ir_type_new(&a, TYPE_OPTIONAL);
  const Type *types[] = {NULL, seq, opt, map, sparse, seq_opt};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    Diag d;
    ir_diag_init(&d, devnull, "fuzz.pb", NULL, 0);
    Datum *x = ir_pb_parse(&a, data, size, types[i], "fuzz.pb", &d);
    if (x) check(x);
    else if (!d.errors) abort();
  }
  ir_arena_free(&a);
  return 0;
}

/* fuzz_run.c - libFuzzer harness for the reference interpreter: ONNX text that parses,
 * verifies and passes the inference check is run on inputs filled from the fuzz data
 * (static shapes only, small). Kernels must report bad models, shapes and attributes as
 * errors, never crash; tensors are capped at 16 MB and runs at 20000 node executions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "runtime.h"

static FILE *devnull;

/* A tensor for graph input v when its type is a small static tensor; NULL otherwise. */
static RtValue *make_input(const Value *v, const uint8_t *data, size_t len, size_t *pos) {
  const Type *t = v->type;
  if (!t || t->kind != TYPE_TENSOR || t->rank < 0 || t->elem == ELEM_UNDEFINED) return NULL;
  int64_t dims[RT_MAX_RANK];
  uint64_t n = 1;
  if (t->rank > RT_MAX_RANK) return NULL;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i].param || t->dims[i].value < 0) return NULL;
    dims[i] = t->dims[i].value;
    n *= (uint64_t)dims[i];
    if (n > 4096) return NULL;
  }
  RtValue *x = rt_tensor_new(t->elem, t->rank, dims);
  if (!x) return NULL;
  for (uint64_t i = 0; i < n; i++) {
    uint8_t b = len ? data[(*pos)++ % len] : 0;
    if (x->elem == ELEM_STRING) rt_str_set(x, i, (const char *)&b, 1);
    else if (ir_elem(x->elem)->is_float) rt_set_f64(x, i, ((int)b - 128) / 16.0);
    else rt_set_i64(x, i, (int8_t)b);
  }
  return x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!devnull) devnull = fopen("/dev/null", "w");
  rt_tensor_limit = 16u << 20;
  char *buf = malloc(size + 2);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = buf[size + 1] = 0;
  Diag d;
  ir_diag_init(&d, devnull, "fuzz.onnxtxt", buf, size);
  Model *m = fe_parse("fuzz.onnxtxt", buf, size, &d);
  if (m && ir_verify(m, &d) == 0 && ir_infer_check(m, &d) == 0) {
    RtOptions opt = {.check_types = true, .seed = 1, .max_steps = 20000};
    RtInterp *in = rt_interp_new(m, &opt, &d);
    const Graph *g = m->graph;
    RtValue **ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
    RtValue **outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
    bool ok = in != NULL;
    size_t pos = 0;
    for (int i = 0; ok && i < g->n_inputs; i++) {
      if (g->inputs[i]->init) continue;
      ins[i] = make_input(g->inputs[i], data, size, &pos);
      ok = ins[i] != NULL;
    }
    if (ok && rt_interp_run(in, ins, outs) == 0)
      for (int i = 0; i < g->n_outputs; i++)
        if (!outs[i]) abort(); /* success means every output exists */
    for (int i = 0; i < g->n_inputs; i++) rt_unref(ins[i]);
    for (int i = 0; i < g->n_outputs; i++) rt_unref(outs[i]);
    free(ins);
    free(outs);
    rt_interp_free(in);
  }
  if (m) ir_model_free(m);
  free(buf);
  return 0;
}

/* fuzz_onnx.c - libFuzzer harness for the .onnx importer and exporter: whatever imports must
 * export, the export must import again, and exporting that must give the same bytes (the
 * import -> export fixed point). Depth, sizes and wire format are the importer's to refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!devnull) devnull = fopen("/dev/null", "w");
  Diag d;
  ir_diag_init(&d, devnull, "fuzz.onnx", NULL, 0);
  Model *m = fe_onnx_import(data, size, "fuzz.onnx", &d);
  if (!m) {
    if (!d.errors) abort(); /* a refusal always says why */
    return 0;
  }
  uint8_t *b1, *b2;
  size_t l1, l2;
  ExportOptions opt = {0, false};
  if (fe_onnx_export(m, &opt, &b1, &l1, &d)) {
    Model *m2 = fe_onnx_import(b1, l1, "export.onnx", &d);
    if (!m2) abort(); /* what we write, we read */
    if (!fe_onnx_export(m2, &opt, &b2, &l2, &d)) abort();
    if (l1 != l2 || memcmp(b1, b2, l1)) abort(); /* fixed point */
    free(b2);
    ir_model_free(m2);
    free(b1);
  }
  ir_model_free(m);
  return 0;
}

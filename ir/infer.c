/* infer.c - type and shape inference rules named in ops.def's INFER column. Each rule
 * reads the input types (and constant inputs) and writes the output types; rules report
 * contradictions through the Diag at the node's location. */
#include "ir.h"

/* `none`: outputs keep whatever type the graph declares. */
int ir_infer_none(InferCtx *c) {
  (void)c;
  return 0;
}

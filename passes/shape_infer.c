/* shape_infer.c - the `shape-infer` pass: run ir_infer_model over the model and (by
 * default) list the newly typed intermediate values as value_info, so the types print. */
#include "passes.h"

#include <stdlib.h>

static int count_typed(Graph **gs, int ng) {
  int n = 0;
  for (int k = 0; k < ng; k++)
    for (size_t i = 0; i < gs[k]->nodes.n; i++) {
      const Node *nd = gs[k]->nodes.v[i];
      for (int j = 0; nd && j < nd->n_outputs; j++)
        if (nd->outputs[j] && nd->outputs[j]->type) n++;
    }
  return n;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  int ng;
  Graph **gs = pass_graphs(m, &ng, false);
  int before = count_typed(gs, ng);
  int rc = ir_infer_model(m, c->d);
  pass_stat(c, "values-typed", count_typed(gs, ng) - before);
  if (rc == 0) pass_stat(c, "macs", (int64_t)pass_model_macs(m));
  if (rc == 0 && pass_opt_int(o, "value-info")) {
    int added = 0;
    for (int k = 0; k < ng; k++) {
      Graph *g = gs[k];
      for (size_t i = 0; i < g->nodes.n; i++) {
        Node *nd = g->nodes.v[i];
        for (int j = 0; nd && j < nd->n_outputs; j++) {
          Value *v = nd->outputs[j];
          if (!v || !v->type || v->has_value_info || pass_is_graph_output(g, v)) continue;
          v->has_value_info = true;
          ir_vec_push(g->value_infos, v);
          added++;
        }
      }
    }
    pass_stat(c, "value-infos-added", added);
  }
  free(gs);
  return rc;
}

static const PassOptSpec opts[] = {
    {"value-info", POPT_INT, "1",
     "list inferred intermediate types as value_info (0: keep them internal)"},
};

const Pass pass_shape_infer = {
    "shape-infer",
    "infer element types and shapes of every value, checking declared ones",
    opts,
    1,
    run,
    0,
    "Runs `ir_infer_model`: every graph (subgraphs too, not function bodies) in topological "
    "order, without recursion. Unknown value types are filled; declared ones are checked, and"
    " a contradiction (element type, rank or a known dimension) is an error at the node; "
    "unknown declared dimensions are filled in. Symbolic dimensions pass through where the "
    "rule knows them unchanged, and broadcasting keeps equal symbols. Data-dependent shapes "
    "(Reshape, Slice, Expand, Tile, Pad, Resize, ConstantOfShape, Split, Unsqueeze...) are "
    "computed from constant inputs: initializers no graph input can override, Constant "
    "outputs, and Shape of a known shape. Newly typed intermediate values are listed as "
    "value_info (option `value-info=0` keeps them internal). The `macs` counter (--pass-"
    "stats) is the main graph's multiply-accumulates as the rules count them: Conv, "
    "ConvTranspose, Gemm, MatMul and their quantized forms, one multiply-add each.",
};

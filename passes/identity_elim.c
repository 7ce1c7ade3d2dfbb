/* identity_elim.c - the `identity-elim` pass: remove Identity, and Dropout in inference
 * form (no mask used, not training), rewiring every use of the output (in subgraphs too) to
 * the input. When the output is a graph output, the producer of the input is made to write
 * it directly instead, if that keeps the graph's interface; otherwise the node stays. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* Dropout that passes its input through: no training, mask output unused. */
static bool dropout_is_identity(const Node *n) {
  if (n->n_outputs > 1 && n->outputs[1] &&
      (n->outputs[1]->uses || pass_is_graph_output(n->graph, n->outputs[1])))
    return false;
  int since = n->op ? n->op->since : 0;
  if (since < 7 && ir_attr_int(n, "is_test", 0) == 0) return false;
  if (since >= 12 && n->n_inputs > 2 && n->inputs[2]) {
    const Tensor *t = pass_const_data(n->inputs[2]);
    uint64_t cnt;
    if (!t || t->elem != ELEM_BOOL || !ir_tensor_numel(t, &cnt) || cnt != 1) return false;
    if (((const uint8_t *)t->data)[0]) return false;
  }
  return true;
}

static bool is_target(const Node *n) {
  if (!n->op || n->n_inputs < 1 || !n->inputs[0] || n->n_outputs < 1 || !n->outputs[0])
    return false;
  if (!strcmp(n->op->family, "Identity")) return true;
  if (!strcmp(n->op->family, "Dropout")) return dropout_is_identity(n);
  return false;
}

static bool types_match(const Value *a, const Value *b) {
  /* the input may be a sequence or optional (Identity takes any type); keep it simple:
   * element types must agree when both are known tensors */
  if (!a->type || !b->type) return true;
  if (a->type->kind != b->type->kind) return false;
  return a->type->kind != TYPE_TENSOR || !a->type->elem || !b->type->elem ||
         a->type->elem == b->type->elem;
}

/* Removes n when it can; counts the targets that must stay (int *kept in v->arg). */
static bool visit(PassVisit *v, Node *n) {
  int *kept = v->arg;
  if (!is_target(n)) return false;
  Value *x = n->inputs[0], *y = n->outputs[0];
  if (!types_match(x, y)) {
    ++*kept;
    return false;
  }
  if (!pass_is_graph_output(v->g, y)) {
    pass_replace_uses_in(v->gs, v->ng, y, x);
    return true;
  }
  /* y is an output of g: let x's producer write y, when x is a plain node output of this
   * graph that is not itself an output */
  Node *p = x->producer;
  if (!p || p->graph != v->g || pass_is_graph_output(v->g, x) || x->has_value_info) {
    ++*kept;
    return false;
  }
  /* x's other uses read y instead; the Identity's own use goes with it */
  pass_set_input(n, 0, NULL);
  pass_replace_uses_in(v->gs, v->ng, x, y);
  ir_node_set_output(p, x->producer_index, y);
  if (!y->type) y->type = x->type;
  x->producer = NULL;
  return true;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  int kept = 0;
  pass_stat(c, "nodes-removed", pass_drop_nodes(m, true, visit, &kept));
  pass_stat(c, "kept-at-outputs", kept);
  return 0;
}

const Pass pass_identity_elim = {
    "identity-elim",
    "remove Identity and inference-mode Dropout, rewiring their uses",
    NULL,
    0,
    run,
    0,
    "Identity, and Dropout in inference form (opset 7+, or `is_test=1` before; "
    "`training_mode` absent or a constant false; mask output unused), are removed and every "
    "use of the output, in subgraphs too, reads the input. When the output is a graph output,"
    " the producer of the input writes the output directly (its other uses follow) if the "
    "input is a plain node output of the same graph; otherwise the node stays (counted as "
    "`kept-at-outputs`).",
};

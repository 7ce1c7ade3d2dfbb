/* fold.c - the `fold` pass: constant folding. A node whose inputs are all constant
 * (initializers no graph input can override, or earlier folded results) runs through the
 * reference interpreter's own kernel (one implementation), and its outputs become
 * initializers. Skipped: random operators, nodes with subgraphs, non-tensor results, results
 * above the size limit, and graph outputs (they keep their producer). */
#include "passes.h"
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

static bool foldable_op(const Node *n) {
  static const char *const never[] = {"RandomNormal",
                                      "RandomNormalLike",
                                      "RandomUniform",
                                      "RandomUniformLike",
                                      "Bernoulli",
                                      "Multinomial",
                                      "If",
                                      "Loop",
                                      "Scan",
                                      "SequenceMap",
                                      NULL};
  if (!n->op || !rt_kernel(n->op) || n->n_outputs == 0) return false;
  for (int i = 0; never[i]; i++)
    if (!strcmp(n->op->family, never[i])) return false;
  for (int i = 0; i < n->n_attrs; i++)
    if (n->attrs[i].ref_attr_name || n->attrs[i].type == ATTR_GRAPH ||
        n->attrs[i].type == ATTR_GRAPHS)
      return false;
  if (n->n_inputs == 0) return !strcmp(n->op->family, "Constant");
  return true;
}

/* Run n's kernel on its constant inputs; on success its outputs become initializers. */
static bool fold_node(Model *m, Graph *g, Node *n, int64_t max_bytes, int64_t max_growth,
                      int64_t *bytes) {
  size_t in_bytes = 0;
  for (int i = 0; i < n->n_inputs; i++) {
    if (n->inputs[i] && !pass_const_data(n->inputs[i])) return false;
    if (n->inputs[i]) in_bytes += pass_const_data(n->inputs[i])->nbytes;
  }
  for (int j = 0; j < n->n_outputs; j++)
    if (n->outputs[j] && pass_is_graph_output(g, n->outputs[j])) return false;
  RtValue **in = calloc((size_t)n->n_inputs + 1, sizeof *in);
  RtValue **out = calloc((size_t)n->n_outputs + 1, sizeof *out);
  if (!in || !out) abort();
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i]) in[i] = rt_tensor_wrap(pass_const_data(n->inputs[i]));
  /* the kernel's complaints are not ours: a node that fails stays for run time */
  char *buf = NULL;
  size_t len = 0;
  FILE *sink = open_memstream(&buf, &len);
  Diag quiet;
  ir_diag_init(&quiet, sink, NULL, NULL, 0);
  RtCtx c = {NULL, n, n->op, ir_node_opset(n), in, n->n_inputs, out, n->n_outputs, &quiet};
  bool ok = rt_kernel(n->op)(&c) == 0 && quiet.errors == 0;
  size_t total = 0;
  for (int j = 0; ok && j < n->n_outputs; j++) {
    if (!n->outputs[j]) continue;
    ok = out[j] && out[j]->kind == TYPE_TENSOR && out[j]->elem != ELEM_STRING;
    if (ok) total += out[j]->nbytes;
  }
  ok = ok && (int64_t)total <= max_bytes;
  /* never trade compact constants for a bigger result (clustered weights' Cast + Gather);
   * results of tiny inputs (shape arithmetic, Range, ConstantOfShape) stay foldable */
  ok = ok && (n->n_inputs == 0 || !pass_fold_grows(in_bytes, total, max_growth));
  for (int j = 0; ok && j < n->n_outputs; j++) {
    Value *v = n->outputs[j];
    if (!v) continue;
    Tensor *t = rt_to_tensor(&m->arena, out[j], v->name);
    if (!t) {
      ok = false;
      break;
    }
    v->has_value_info = false; /* an initializer now: compacted away below */
    v->producer = NULL;
    v->init = t;
    v->type = ir_type_tensor(&m->arena, t->elem, t->rank, t->dims);
    ir_vec_push(g->initializers, v);
  }
  if (ok) *bytes += (int64_t)total;
  for (int i = 0; i < n->n_inputs; i++) rt_unref(in[i]);
  for (int j = 0; j < n->n_outputs; j++) rt_unref(out[j]);
  free(in);
  free(out);
  fclose(sink);
  free(buf);
  return ok;
}

/* Is op_type in the comma-separated list? */
static bool listed(const char *list, const char *op) {
  size_t n = strlen(op);
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',' || *p == '[' || *p == ']') p++;
    const char *e = p;
    while (*e && *e != ',' && *e != ']') e++;
    const char *t = e;
    while (t > p && t[-1] == ' ') t--;
    if ((size_t)(t - p) == n && !memcmp(p, op, n)) return true;
    p = e;
  }
  return false;
}

typedef struct FoldState {
  int64_t max_bytes, max_growth, bytes;
  const char *skip;
} FoldState;

static bool visit(PassVisit *v, Node *n) {
  FoldState *st = v->arg;
  return foldable_op(n) && !listed(st->skip, n->op_type) &&
         fold_node(v->m, v->g, n, st->max_bytes, st->max_growth, &st->bytes);
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  pass_load_weights(m, c->d); /* weights in external files */
  FoldState st = {pass_opt_int(o, "max-bytes"), pass_opt_int(o, "max-growth"), 0,
                  pass_opt_str(o, "skip")};
  int folded = pass_drop_nodes(m, false, visit, &st);
  pass_stat(c, "nodes-folded", folded);
  pass_stat(c, "bytes-created", st.bytes);
  return 0;
}

static const PassOptSpec opts[] = {
    {"max-bytes", POPT_INT, "1048576", "do not fold a node whose results exceed this many bytes"},
    {"skip", POPT_LIST, "[]", "operator types never to fold, e.g. [Shape,Gather]"},
    {"max-growth", POPT_INT, "0", "do not fold a node whose results exceed its constant inputs "
                                  "(128 bytes or more) by more than this many bytes"},
};

const Pass pass_fold = {
    "fold",
    "constant folding through the reference interpreter's kernels",
    opts,
    3,
    run,
    PASS_REQ_KERNELS,
    "A node whose inputs are all constant (initializers that no graph input can override, "
    "including earlier folded results) runs through the reference interpreter's kernel for "
    "its operator, so there is one implementation of every operator's arithmetic; its outputs"
    " become initializers. Skipped: random operators, nodes with subgraphs or attribute "
    "references, string and non-tensor results, results above `max-bytes`, results larger than their constant inputs (128 bytes or more) by "
    "over `max-growth` bytes, so folding never expands compressed weights, graph outputs, and"
    " operator types listed in `skip`. A kernel that fails leaves its node for run time.",
};

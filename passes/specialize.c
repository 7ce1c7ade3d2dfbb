/* specialize.c - shape specialization for `effc opt`: `--shape NAME=1,3,224,224` gives a
 * graph input a concrete shape; `--dim N=1` binds a symbolic dim everywhere in the model.
 * The driver runs shape inference afterwards. */
#include "passes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pass_set_input_shape(Model *m, const char *spec, Diag *d) {
  const char *eq = strrchr(spec, '=');
  if (!eq || eq == spec) {
    ir_error(d, ir_noloc, "--shape needs NAME=D1,D2,..., not '%s'", spec);
    return -1;
  }
  size_t nl = (size_t)(eq - spec);
  Value *in = NULL;
  for (int i = 0; i < m->graph->n_inputs; i++) {
    Value *v = m->graph->inputs[i];
    if (v && strlen(v->name) == nl && !memcmp(v->name, spec, nl)) in = v;
  }
  if (!in) {
    ir_error(d, ir_noloc, "--shape: the graph has no input '%.*s'", (int)nl, spec);
    return -1;
  }
  int64_t dims[64];
  int r = 0;
  const char *p = eq + 1;
  while (*p) {
    char *end;
    errno = 0;
    long long x = strtoll(p, &end, 10);
    if (end == p || errno || x < 0 || r == 64 || (*end && *end != ',')) {
      ir_error(d, ir_noloc, "--shape %s: dimensions must be non-negative integers separated by ','",
               spec);
      return -1;
    }
    dims[r++] = x;
    p = *end ? end + 1 : end;
  }
  const Type *old = in->type;
  if (old && old->kind != TYPE_TENSOR) {
    ir_error(d, ir_noloc, "--shape: input '%s' is not a tensor", in->name);
    return -1;
  }
  if (old && old->rank >= 0 && old->rank != r) {
    ir_error(d, ir_noloc, "--shape: input '%s' has rank %d, not %d", in->name, old->rank, r);
    return -1;
  }
  for (int i = 0; old && i < old->rank; i++)
    if (old->dims[i].value >= 0 && !old->dims[i].param && old->dims[i].value != dims[i]) {
      ir_error(d, ir_noloc, "--shape: dimension %d of input '%s' is %lld, not %lld", i, in->name,
               (long long)old->dims[i].value, (long long)dims[i]);
      return -1;
    }
  in->type = ir_type_tensor(&m->arena, old ? old->elem : ELEM_FLOAT, r, dims);
  return 0;
}

int pass_bind_dim(Model *m, const char *spec, Diag *d) {
  const char *eq = strrchr(spec, '=');
  char *end;
  errno = 0;
  long long x = eq ? strtoll(eq + 1, &end, 10) : -1;
  if (!eq || eq == spec || errno || x < 0 || end == eq + 1 || *end) {
    ir_error(d, ir_noloc, "--dim needs NAME=N (a non-negative integer), not '%s'", spec);
    return -1;
  }
  size_t nl = (size_t)(eq - spec);
  int ng, bound = 0;
  Graph **gs = pass_graphs(m, &ng, false);
  /* every value's type: inputs, outputs, value_infos, node outputs, initializers */
  for (int k = 0; k < ng; k++) {
    Graph *g = gs[k];
    Value **lists[3] = {g->inputs, g->outputs, g->value_infos.v};
    size_t lens[3] = {(size_t)g->n_inputs, (size_t)g->n_outputs, g->value_infos.n};
    for (int l = 0; l < 4; l++) {
      size_t cnt = l < 3 ? lens[l] : g->nodes.n;
      for (size_t i = 0; i < cnt; i++) {
        int nout = l < 3 ? 1 : (g->nodes.v[i] ? g->nodes.v[i]->n_outputs : 0);
        for (int j = 0; j < nout; j++) {
          Value *v = l < 3 ? lists[l][i] : g->nodes.v[i]->outputs[j];
          Type *t = v ? v->type : NULL;
          if (!t || (t->kind != TYPE_TENSOR && t->kind != TYPE_SPARSE)) continue;
          bool hit = false;
          for (int q = 0; q < t->rank && !hit; q++)
            hit = t->dims[q].param && strlen(t->dims[q].param) == nl &&
                  !memcmp(t->dims[q].param, spec, nl);
          if (!hit) continue;
          Type *c = ir_type_new(&m->arena, t->kind);
          *c = *t;
          c->dims = ir_arena_dup(&m->arena, t->dims, (size_t)t->rank * sizeof *t->dims);
          for (int q = 0; q < c->rank; q++)
            if (c->dims[q].param && strlen(c->dims[q].param) == nl &&
                !memcmp(c->dims[q].param, spec, nl)) {
              c->dims[q].param = NULL;
              c->dims[q].value = x;
              bound++;
            }
          v->type = c;
        }
      }
    }
  }
  free(gs);
  if (!bound) ir_warning(d, ir_noloc, "--dim: no dimension is named '%.*s'", (int)nl, spec);
  return 0;
}

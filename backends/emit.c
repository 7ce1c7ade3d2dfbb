/* emit.c - the emitter table, filled from ir/targets.def (EMITTER column). */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "backends.h"

#pragma weak be_emit_c
#pragma weak be_emit_llvm
#pragma weak be_emit_mcu
#pragma weak be_emit_qasm

typedef int (*EmitFn)(Model *, const EmitOptions *, Diag *);

static EmitFn emitter_of(TargetId id) {
  switch (id) {
#define TARGET(id, name, emitter, ...)                                                         \
  case TARGET_##id:                                                                            \
    return be_emit_##emitter;
#include "targets.def"
#undef TARGET
  default: return NULL;
  }
}

int be_emit(Model *m, const EmitOptions *o, Diag *d) {
  const Target *t = o->target;
  EmitFn fn = emitter_of(t->id);
  if (!fn) {
    ir_error(d, ir_noloc, "target %s: the %s backend is not built into this effc", t->name,
             t->emitter);
    return -1;
  }
  if (strcmp(t->emitter, "c") && be_check_layout(m, t->emitter, d)) return -1;
  return fn(m, o, d);
}

int be_check_layout(const Model *m, const char *backend, Diag *d) {
  const Graph *g = m->graph;
  int bad = 0;
  for (size_t i = 0; i < g->nodes.n; i++)
    if (ir_node_nhwc(g->nodes.v[i]) && !bad++)
      be_node_error(d, g->nodes.v[i],
                    "the %s backend does not run the NHWC layout (pass `layout`): only the C "
                    "backend does", backend);
  return bad;
}

void be_node_error(Diag *d, const Node *n, const char *fmt, ...) {
  char why[512], name[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (n->name && *n->name) snprintf(name, sizeof name, "'%s'", n->name);
  else snprintf(name, sizeof name, "#%u", (unsigned)n->id);
  ir_error(d, n->loc, "node %s (%s %s-%d, opset %" PRId64 "): %s", name,
           *n->domain ? n->domain : "ai.onnx", n->op_type, n->op ? n->op->since : 0,
           ir_node_opset(n), why);
}

int be_check_ops(const Model *m, Diag *d) {
  const Graph *g = m->graph;
  int bad = 0;
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    if (n->op || ir_model_find_function(m, n->domain, n->op_type, n->overload)) continue;
    be_node_error(d, n, "unknown operator");
    bad++;
  }
  return bad;
}

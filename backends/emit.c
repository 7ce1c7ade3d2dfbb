/* emit.c - the emitter table, filled from ir/targets.def (EMITTER column). */
#include <assert.h>
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
  return fn(m, o, d);
}

/* jit.c - be_jit_*: the model compiled for the host with LLJIT. The module gets one more
 * function, effc_jit_entry(ctx, inputs[], outputs[]), which unpacks the pointer arrays
 * and calls the run function, so callers need not know the arity. libm and libc symbols
 * resolve from the process. */
#include "llvm.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct BeJit {
  LLVMOrcLLJITRef jit;
  void *ctx;
  int (*entry)(void *ctx, void *const *in, void *const *out);
  void (*destroy)(void *ctx);
};

static bool jit_ok(LLVMErrorRef e, const char *what, Diag *d) {
  if (!e) return true;
  char *m = LLVMGetErrorMessage(e);
  ir_error(d, ir_noloc, "LLVM JIT: %s: %s", what, m);
  LLVMDisposeErrorMessage(m);
  return false;
}

/* i32 effc_jit_entry(ptr ctx, ptr ins, ptr outs) { return P_run(ctx, ins[0], ..., outs[0], ...); } */
static void add_entry(LLVMModuleRef mod, LLVMContextRef ctx, const char *prefix, int n_in, int n_out) {
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i32 = LLVMInt32TypeInContext(ctx);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
  char name[256];
  snprintf(name, sizeof name, "%s_run", prefix);
  LLVMValueRef run = LLVMGetNamedFunction(mod, name);
  LLVMTypeRef params[3] = {ptr, ptr, ptr};
  LLVMValueRef f = LLVMAddFunction(mod, "effc_jit_entry", LLVMFunctionType(i32, params, 3, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, f, "entry"));
  int n = 1 + n_in + n_out;
  LLVMValueRef *args = malloc((size_t)n * sizeof *args);
  LLVMTypeRef *types = malloc((size_t)n * sizeof *types);
  if (!args || !types) abort();
  args[0] = LLVMGetParam(f, 0);
  for (int i = 1; i < n; i++) {
    bool in = i <= n_in;
    LLVMValueRef idx = LLVMConstInt(i64, (unsigned long long)(in ? i - 1 : i - 1 - n_in), 0);
    LLVMValueRef slot = LLVMBuildGEP2(b, ptr, LLVMGetParam(f, in ? 1 : 2), &idx, 1, "");
    args[i] = LLVMBuildLoad2(b, ptr, slot, "");
  }
  for (int i = 0; i < n; i++) types[i] = ptr;
  LLVMBuildRet(b, LLVMBuildCall2(b, LLVMFunctionType(i32, types, (unsigned)n, 0), run, args, (unsigned)n, ""));
  free(args);
  free(types);
  LLVMDisposeBuilder(b);
}

static int host_lanes(const char *features) {
  if (strstr(features, "+avx512f")) return 16;
  if (strstr(features, "+avx2")) return 8;
  return 4; /* SSE2 on x86-64, NEON on AArch64 */
}

BeJit *be_jit_compile(Model *m, Diag *d) {
  lg_init_targets();
  BeSignature sig;
  if (be_signature(m, &sig, d)) return NULL;
  int n_in = sig.n_inputs, n_out = sig.n_outputs;
  be_signature_free(&sig);

  char *cpu = LLVMGetHostCPUName(), *feat = LLVMGetHostCPUFeatures();
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
  uint64_t arena = 0, weights = 0;
  LLVMModuleRef mod = lg_build(m, ctx, "effc_jit", host_lanes(feat), (int)(8 * sizeof(void *)),
                               false, &arena, &weights, d);
  LLVMTargetMachineRef tm = mod ? lg_target_machine("", cpu, feat, d) : NULL;
  bool ok = tm != NULL;
  if (ok) {
    add_entry(mod, ctx, "effc_jit", n_in, n_out);
    ok = lg_optimize(mod, tm, d) == 0;
  }
  if (tm) LLVMDisposeTargetMachine(tm);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(feat);
  if (!ok) {
    if (mod) LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return NULL;
  }

  BeJit *j = calloc(1, sizeof *j);
  if (!j) abort();
  LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
  LLVMOrcJITTargetMachineBuilderRef jtmb = NULL;
  ok = jit_ok(LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb), "detect host", d);
  if (ok) LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jb, jtmb);
  ok = ok && jit_ok(LLVMOrcCreateLLJIT(&j->jit, jb), "create", d);
  if (!ok) LLVMOrcDisposeLLJITBuilder(jb);
  LLVMOrcJITDylibRef main_jd = ok ? LLVMOrcLLJITGetMainJITDylib(j->jit) : NULL;
  LLVMOrcDefinitionGeneratorRef gen = NULL;
  ok = ok && jit_ok(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                        &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL),
                    "process symbols", d);
  if (ok) LLVMOrcJITDylibAddGenerator(main_jd, gen);
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
  LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps the context alive */
  if (ok) ok = jit_ok(LLVMOrcLLJITAddLLVMIRModule(j->jit, main_jd, tsm), "add module", d);
  else LLVMOrcDisposeThreadSafeModule(tsm);
  LLVMOrcExecutorAddress entry = 0, create = 0, destroy = 0;
  ok = ok && jit_ok(LLVMOrcLLJITLookup(j->jit, &entry, "effc_jit_entry"), "lookup", d) &&
       jit_ok(LLVMOrcLLJITLookup(j->jit, &create, "effc_jit_create"), "lookup", d) &&
       jit_ok(LLVMOrcLLJITLookup(j->jit, &destroy, "effc_jit_destroy"), "lookup", d);
  if (ok) {
    void *(*mk)(void) = (void *(*)(void))(uintptr_t)create;
    j->entry = (int (*)(void *, void *const *, void *const *))(uintptr_t)entry;
    j->destroy = (void (*)(void *))(uintptr_t)destroy;
    j->ctx = mk();
    if (!j->ctx) {
      ir_error(d, ir_noloc, "LLVM JIT: cannot allocate the %" PRIu64 "-byte arena", arena);
      ok = false;
    }
  }
  if (!ok) {
    be_jit_free(j);
    return NULL;
  }
  return j;
}

int be_jit_run(BeJit *j, void *const *inputs, void *const *outputs) {
  return j->entry(j->ctx, inputs, outputs);
}

void be_jit_free(BeJit *j) {
  if (!j) return;
  if (j->ctx) j->destroy(j->ctx);
  if (j->jit) LLVMOrcDisposeLLJIT(j->jit);
  free(j);
}

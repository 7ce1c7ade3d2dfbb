/* emit.c - target machines, the O3 pipeline, and be_emit_llvm: an object file
 * <prefix>.o for an llvm-* target plus the shared header <prefix>.h (backends/header.c) and,
 * with --emit-main, the C backend's .npy runner <prefix>_main.c. */
#include "llvm.h"

#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lg_init_targets(void) {
  static bool done;
  if (done) return;
  done = true;
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  LLVMInitializeX86AsmParser(); /* the inline cpuid of P_create */
  LLVMInitializeAArch64TargetInfo();
  LLVMInitializeAArch64Target();
  LLVMInitializeAArch64TargetMC();
  LLVMInitializeAArch64AsmPrinter();
  LLVMInitializeARMTargetInfo();
  LLVMInitializeARMTarget();
  LLVMInitializeARMTargetMC();
  LLVMInitializeARMAsmPrinter();
}

LLVMTargetMachineRef lg_target_machine(const char *triple, const char *cpu, const char *features,
                                       Diag *d) {
  lg_init_targets();
  /* The C API does not normalize: "thumbv7em-none-eabihf" would parse positionally (os =
   * eabihf) and silently select the soft-float ABI. */
  char *host = *triple ? NULL : LLVMGetDefaultTargetTriple();
  char *norm = LLVMNormalizeTargetTriple(host ? host : triple);
  LLVMDisposeMessage(host);
  LLVMTargetRef t;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(norm, &t, &err)) {
    ir_error(d, ir_noloc, "LLVM target %s: %s", norm, err);
    LLVMDisposeMessage(err);
    LLVMDisposeMessage(norm);
    return NULL;
  }
  /* bare-metal parts link at fixed addresses; hosted objects may go into PIEs */
  LLVMRelocMode reloc = strstr(norm, "-none") ? LLVMRelocStatic : LLVMRelocPIC;
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, norm, cpu, features, LLVMCodeGenLevelAggressive,
                                                    reloc, LLVMCodeModelDefault);
  LLVMDisposeMessage(norm);
  if (!tm) ir_error(d, ir_noloc, "LLVM: cannot create a target machine for %s", triple);
  return tm;
}

int lg_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, Diag *d) {
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  char *dl = LLVMCopyStringRepOfTargetData(td);
  LLVMSetDataLayout(mod, dl);
  LLVMDisposeMessage(dl);
  LLVMDisposeTargetData(td);
  char *tr = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(mod, tr);
  LLVMDisposeMessage(tr);
  LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(o, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(o, 1);
  LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", tm, o);
  LLVMDisposePassBuilderOptions(o);
  if (e) {
    char *m = LLVMGetErrorMessage(e);
    ir_error(d, ir_noloc, "LLVM optimization failed: %s", m);
    LLVMDisposeErrorMessage(m);
    return -1;
  }
  return 0;
}

/* Float lanes of the target's vectors: the unit of the GEMM micro-kernels. */
static int target_lanes(const Target *t) {
  switch (t->isa) {
  case TISA_AVX512: return 16;
  case TISA_AVX2: return 8;
  case TISA_NEON: return 4;
  default: return 1;
  }
}

/* <prefix>_main.c: the C backend's runner, over the same API. */
static int write_main(const BeSignature *sig, const EmitOptions *o, Diag *d) {
  char *path = malloc(strlen(o->out_dir) + strlen(o->prefix) + 16), err[512] = "";
  if (!path) abort();
  sprintf(path, "%s/%s_main.c", o->out_dir, o->prefix);
  AtomicFile af;
  bool ok = ir_atomic_open(&af, path, err, sizeof err);
  if (ok) {
    be_write_main_c(af.fp, sig, o, "");
    ok = !ferror(af.fp);
    if (!ok) ir_atomic_abort(&af);
    else ok = ir_atomic_commit(&af, err, sizeof err);
  }
  if (!ok) ir_error(d, ir_noloc, "%s: cannot write%s%s", path, *err ? ": " : "", err);
  free(path);
  return ok ? 0 : -1;
}

int be_emit_llvm(Model *m, const EmitOptions *o, Diag *d) {
  const Target *t = o->target;
  if (o->threads > 1) {
    ir_error(d, ir_noloc, "target %s: the LLVM backend emits single-threaded code; --threads is "
                          "for the C targets", t->name);
    return -1;
  }
  if (o->weights_bin) {
    ir_error(d, ir_noloc, "target %s: the LLVM backend keeps the weights in the object file; "
                          "--weights-bin is for the C targets", t->name);
    return -1;
  }
  int ptr_bits = !strncmp(t->triple, "thumb", 5) || !strncmp(t->triple, "arm", 3) ? 32 : 64;
  LLVMContextRef ctx = LLVMContextCreate();
  uint64_t arena = 0, weights = 0;
  LLVMModuleRef mod = lg_build(m, ctx, o->prefix, target_lanes(t), ptr_bits,
                                     t->isa == TISA_AVX2 || t->isa == TISA_AVX512, &arena, &weights, d);
  LLVMTargetMachineRef tm = mod ? lg_target_machine(t->triple, t->cpu, t->features, d) : NULL;
  int rc = tm && lg_optimize(mod, tm, d) == 0 ? 0 : -1;
  char *path = malloc(strlen(o->out_dir) + strlen(o->prefix) + 32), *tmp = NULL;
  if (!path) abort();
  sprintf(path, "%s/%s.o", o->out_dir, o->prefix);
  if (rc == 0) { /* written beside, then renamed: atomic */
    tmp = malloc(strlen(path) + 32);
    if (!tmp) abort();
    sprintf(tmp, "%s.tmp%ld", path, (long)getpid());
    char *err = NULL;
    if (LLVMTargetMachineEmitToFile(tm, mod, tmp, LLVMObjectFile, &err)) {
      ir_error(d, ir_noloc, "%s: %s", path, err);
      LLVMDisposeMessage(err);
      remove(tmp);
      rc = -1;
    }
  }
  BeSignature sig;
  if (rc == 0 && be_signature(m, &sig, d) == 0) {
    rc = be_write_header(m, &sig, o, arena, weights, d);
    if (rc == 0 && o->emit_main) rc = write_main(&sig, o, d);
    be_signature_free(&sig);
  } else {
    rc = -1;
  }
  if (tmp && rc == 0 && rename(tmp, path) != 0) {
    ir_error(d, ir_noloc, "%s: cannot write", path);
    rc = -1;
  }
  if (tmp && rc != 0) remove(tmp);
  if (rc == 0 && !o->quiet)
    fprintf(stderr, "effc: %s: arena %" PRIu64 " bytes, weights %" PRIu64 " bytes (%s)\n", path,
            arena, weights, t->triple);
  free(tmp);
  free(path);
  if (tm) LLVMDisposeTargetMachine(tm);
  if (mod) LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  return rc;
}

/* header.c - the public API every compiled model has (backends.h): the signature (which
 * graph inputs are parameters), <prefix>.h with the create/run/destroy prototypes, the size
 * macros and the I/O tables, and the small helpers every emitter shares (C type names,
 * arena offsets). The C and LLVM backends write the same header. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"

const char *be_ctype(ElemType t) {
  switch (t) {
  case ELEM_FLOAT: return "float";
  case ELEM_DOUBLE: return "double";
  case ELEM_INT8: return "int8_t";
  case ELEM_UINT8: return "uint8_t";
  case ELEM_INT16: return "int16_t";
  case ELEM_UINT16: return "uint16_t";
  case ELEM_INT32: return "int32_t";
  case ELEM_UINT32: return "uint32_t";
  case ELEM_INT64: return "int64_t";
  case ELEM_UINT64: return "uint64_t";
  case ELEM_BOOL: return "uint8_t";
  case ELEM_FLOAT16:
  case ELEM_BFLOAT16: return "uint16_t"; /* bit patterns */
  case ELEM_FLOAT8E4M3FN:
  case ELEM_FLOAT8E4M3FNUZ:
  case ELEM_FLOAT8E5M2:
  case ELEM_FLOAT8E5M2FNUZ:
  case ELEM_FLOAT8E8M0: return "uint8_t"; /* bit patterns */
  default: return NULL; /* strings, complex, sub-byte types */
  }
}

int64_t be_offset(const Node *n, int i) {
  const Attr *a = ir_node_attr(n, "__effc_offset");
  if (!a || a->type != ATTR_INTS || i < 0 || (size_t)i >= a->n) return -1;
  return a->ints[i] < 0 ? -1 : a->ints[i];
}

/* A tensor value with a fully static shape and an element type the API can carry. */
static bool sig_value_ok(const Value *v, const char *what, Diag *d) {
  const Type *t = v->type;
  if (!t || t->kind != TYPE_TENSOR) {
    ir_error(d, v->loc, "%s '%s' is not a tensor: compiled models take and return tensors only",
             what, v->name);
    return false;
  }
  if (!be_ctype(t->elem)) {
    ir_error(d, v->loc, "%s '%s' has element type %s, which compiled models do not support",
             what, v->name, ir_elem(t->elem)->name);
    return false;
  }
  uint64_t n;
  if (t->rank < 0 || !ir_type_numel(t, &n)) {
    char buf[256];
    ir_type_to_str(t, buf, sizeof buf);
    ir_error(d, v->loc, "%s '%s' has type %s without a static shape (bind its dimensions "
             "with --dim NAME=VALUE or --shape %s=D0,D1,...)", what, v->name, buf, v->name);
    return false;
  }
  return true;
}

int be_signature(const Model *m, BeSignature *sig, Diag *d) {
  const Graph *g = m->graph;
  memset(sig, 0, sizeof *sig);
  sig->inputs = malloc(sizeof *sig->inputs * (size_t)(g->n_inputs + 1));
  sig->outputs = malloc(sizeof *sig->outputs * (size_t)(g->n_outputs + 1));
  if (!sig->inputs || !sig->outputs) {
    ir_error(d, ir_noloc, "out of memory");
    be_signature_free(sig);
    return -1;
  }
  int errs = 0;
  for (int i = 0; i < g->n_inputs; i++) {
    Value *v = g->inputs[i];
    if (v->init || v->sparse_init) continue; /* a constant with a default: not a parameter */
    if (!sig_value_ok(v, "input", d)) errs++;
    sig->inputs[sig->n_inputs++] = v;
  }
  for (int i = 0; i < g->n_outputs; i++) {
    Value *v = g->outputs[i];
    if (!sig_value_ok(v, "output", d)) errs++;
    sig->outputs[sig->n_outputs++] = v;
  }
  if (errs) {
    be_signature_free(sig);
    return -1;
  }
  return 0;
}

void be_signature_free(BeSignature *sig) {
  free(sig->inputs);
  free(sig->outputs);
  memset(sig, 0, sizeof *sig);
}

/* A C string literal of s (names may hold any byte). */
static void put_cstring(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p >= 0x20 && *p < 0x7f && *p != '?') fputc(*p, f); /* '?': no trigraphs */
    else fprintf(f, "\\%03o", *p);
  }
  fputc('"', f);
}

/* A comment-safe copy of a name (no "*" followed by "/"). */
static void put_comment_name(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    fputc(*p >= 0x20 && *p < 0x7f && !(*p == '/' && p > (const unsigned char *)s && p[-1] == '*')
              ? *p
              : '_',
          f);
}

static void put_shape(FILE *f, const Value *v) {
  const Type *t = v->type;
  fputc('[', f);
  for (int k = 0; k < t->rank; k++) fprintf(f, "%s%" PRId64, k ? "," : "", t->dims[k].value);
  fputc(']', f);
}

/* One parameter of run(): "const float *in0", then the name and shape in a comment. */
static void put_param(FILE *f, const Value *v, const char *cnst, const char *side, int i) {
  fprintf(f, ",\n    %s%s *%s%d /* ", cnst, be_ctype(v->type->elem), side, i);
  put_comment_name(f, v->name);
  fputc(' ', f);
  put_shape(f, v);
  fputs(" */", f);
}

/* The I/O tables of one side ("input" / "output"). */
static void put_tables(FILE *f, const char *p, const char *side, Value *const *vs, int n) {
  const char *unused = "__attribute__((unused))";
  for (int i = 0; i < n; i++) {
    const Type *t = vs[i]->type;
    fprintf(f, "static const int64_t %s_%s_shape%d[] %s = {", p, side, i, unused);
    for (int k = 0; k < t->rank; k++) fprintf(f, "%s%" PRId64, k ? ", " : "", t->dims[k].value);
    fprintf(f, "%s};\n", t->rank ? "" : "0 /* scalar */");
  }
  fprintf(f, "static const char *const %s_%s_names[] %s = {", p, side, unused);
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", f);
    put_cstring(f, vs[i]->name);
  }
  fprintf(f, "%s};\n", n ? "" : "0");
  fprintf(f, "static const int64_t *const %s_%s_shapes[] %s = {", p, side, unused);
  for (int i = 0; i < n; i++) fprintf(f, "%s%s_%s_shape%d", i ? ", " : "", p, side, i);
  fprintf(f, "%s};\n", n ? "" : "0");
  fprintf(f, "static const int %s_%s_ranks[] %s = {", p, side, unused);
  for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", vs[i]->type->rank);
  fprintf(f, "%s};\n", n ? "" : "0");
  fprintf(f, "static const int %s_%s_dtypes[] %s = {", p, side, unused);
  for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", (int)vs[i]->type->elem);
  fprintf(f, "%s};\n", n ? "" : "0");
}

int be_write_header(const Model *m, const BeSignature *sig, const EmitOptions *o,
                    uint64_t arena_bytes, uint64_t weight_bytes, Diag *d) {
  (void)m;
  const char *p = o->prefix;
  size_t plen = strlen(p);
  char *P = malloc(plen + 1), *path = malloc(strlen(o->out_dir) + plen + 4);
  if (!P || !path) {
    free(P);
    free(path);
    ir_error(d, ir_noloc, "out of memory");
    return -1;
  }
  for (size_t i = 0; i <= plen; i++) P[i] = (char)toupper((unsigned char)p[i]);
  sprintf(path, "%s/%s.h", o->out_dir, p);

  char err[512] = "";
  AtomicFile af;
  if (!ir_atomic_open(&af, path, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    free(P);
    free(path);
    return -1;
  }
  FILE *f = af.fp;
  fprintf(f,
          "/* %s.h - generated by effc %s for target %s. The API (docs/backends.md):\n"
          " *   %s_create%s returns a context that owns the activation arena (%s_ARENA_BYTES)\n"
          " *   and the weights; NULL on allocation failure%s or a CPU without the target's ISA.\n"
          " *   %s_run(ctx, inputs..., outputs...) computes one inference; the caller owns every\n"
          " *   input and output buffer (dense, row-major, the shapes below); 0 = ok. run is not\n"
          " *   reentrant for one context: use one context per concurrent caller.\n"
          " *   %s_destroy(ctx) frees the context (NULL is fine). */\n",
          p, EFFC_VERSION, o->target->name, p, o->weights_bin ? "(bin_path)" : "()", P,
          o->weights_bin ? ", a missing or short weights file" : "", p, p);
  fprintf(f, "#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n", P, P);
  fprintf(f, "#include <stddef.h>\n#include <stdint.h>\n\n");
  fprintf(f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
  fprintf(f, "#define %s_ARENA_BYTES %" PRIu64 "u\n", P, arena_bytes);
  fprintf(f, "#define %s_WEIGHT_BYTES %" PRIu64 "u\n", P, weight_bytes);
  fprintf(f, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", P, sig->n_inputs, P,
          sig->n_outputs);
  fprintf(f, "#define %s_THREADS %d\n\n", P, o->threads);
  fprintf(f, "typedef struct %s_ctx %s_ctx;\n\n", p, p);
  fprintf(f, "%s_ctx *%s_create(%s);\n", p, p, o->weights_bin ? "const char *bin_path" : "void");
  fprintf(f, "int %s_run(%s_ctx *ctx", p, p);
  for (int i = 0; i < sig->n_inputs; i++) put_param(f, sig->inputs[i], "const ", "in", i);
  for (int i = 0; i < sig->n_outputs; i++) put_param(f, sig->outputs[i], "", "out", i);
  fprintf(f, ");\n");
  fprintf(f, "void %s_destroy(%s_ctx *ctx);\n\n", p, p);
  fprintf(f, "/* The inputs and outputs for generic callers: names, shapes, ranks and dtypes\n"
             " * (ONNX TensorProto numbers: 1 float, 3 int8, 7 int64, ...), in run() order. */\n");
  put_tables(f, p, "input", sig->inputs, sig->n_inputs);
  put_tables(f, p, "output", sig->outputs, sig->n_outputs);
  fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
  free(P);
  bool ok = !ferror(f);
  if (!ok) ir_atomic_abort(&af);
  else ok = ir_atomic_commit(&af, err, sizeof err);
  if (!ok) ir_error(d, ir_noloc, "%s: write error%s%s", path, *err ? ": " : "", err);
  free(path);
  return ok ? 0 : -1;
}

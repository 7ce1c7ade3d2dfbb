/* cemit.c - the C backend's core (cemit.h): checks that every node has a static shape and
 * an operator row, lets the op_*.c files write each node's block, and writes the files:
 * <prefix>.h (header.c), <prefix>.c (kernels, context, thread pool, graph body and the
 * create/run/destroy API), the weights (<prefix>_weights.c or <prefix>.bin) and with
 * --emit-main <prefix>_main.c. Nothing is written unless every node could be emitted. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cemit.h"

/* The kernel sources (runtime/kern/, embedded at build time by embed_kern.py) and the
 * runner template (main_tmpl.c). */
struct CeKernSrc {
  const char *name;
  const char *const *text; /* chunks, NULL-terminated */
};
extern const struct CeKernSrc ce_kern_sources[];

/* The operator tables, one per op_*.c file, searched in this order. */
static const CEmitOp *const ce_op_tables[] = {ce_ops_gemm, ce_ops_conv, ce_ops_quant, ce_ops_nbits,
                                              ce_ops_basic};

#define CE_ALIGN 64

typedef struct Blob { /* one weight: bytes at `off` of the weights image */
  const void *data;
  size_t nbytes;
  uint64_t off;
} Blob;

/* A growable text buffer (open_memstream is POSIX; this keeps the core plain C11). */
typedef struct Buf {
  char *s;
  size_t n, cap;
} Buf;

struct CEmitPriv {
  BeSignature sig;
  Arena a;                 /* strings handed out by ce_ptr & co., copied weight blobs */
  Buf node, file, body;    /* the current node's code; file-scope code; the body */
  IR_VEC(Blob) blobs;
  uint64_t wbytes;
  uint64_t whash;          /* FNV-1a of the weights image */
  int64_t *wval;           /* per value id: weight offset, -1 = not yet a weight */
  int64_t *sig_index;      /* per value id: input k as k, output k as -2 - k, else -1 */
  IR_VEC(int) kerns;       /* indices into ce_kern_sources, first request first */
  uint64_t act_bytes;      /* planned activations (aligned); scratch starts here */
  size_t scratch;
  int fresh;
  int unsupported;
  bool oom;
};

/* ------------------------------------------------------------------ buffers */

static void buf_vprintf(Buf *b, const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0) return;
  if (b->n + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + (size_t)n + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) abort();
    b->s = s;
    b->cap = cap;
  }
  vsnprintf(b->s + b->n, (size_t)n + 1, fmt, ap);
  b->n += (size_t)n;
}

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  buf_vprintf(b, fmt, ap);
  va_end(ap);
}

static void buf_free(Buf *b) {
  free(b->s);
  memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------ the emit API */

void ce_printf(CEmit *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  buf_vprintf(&e->priv->node, fmt, ap);
  va_end(ap);
}

void ce_file_printf(CEmit *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  buf_vprintf(&e->priv->file, fmt, ap);
  va_end(ap);
}

static const char *node_label(Arena *a, const Node *n) {
  return n->name && *n->name ? ir_arena_printf(a, "'%s'", n->name)
                             : ir_arena_printf(a, "#%u", (unsigned)n->id);
}

int ce_unsupported(CEmit *e, const Node *n, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  e->priv->unsupported++;
  be_node_error(e->d, n, "%s", why);
  return -1;
}

const Tensor *ce_const(const Value *v) {
  if (!v) return NULL;
  if (v->init) return v->init->has_data ? v->init : NULL;
  const Node *p = v->producer;
  if (p && p->op && !strcmp(p->op->family, "Constant") && !*p->domain) {
    const Attr *a = ir_node_attr(p, "value");
    if (a && a->type == ATTR_TENSOR && a->t->has_data) return a->t;
  }
  return NULL;
}

int ce_rank(const Value *v) {
  return v->type->rank;
}

const int64_t *ce_dims(const Value *v) {
  static const int64_t none[1] = {0};
  const Type *t = v->type;
  if (t->rank == 0) return none;
  /* Dim is {value, param, denotation}: hand out a dense copy, kept in the value's model */
  int64_t *d = ir_arena_alloc(&v->graph->model->arena, sizeof *d * (size_t)t->rank);
  for (int k = 0; k < t->rank; k++) d[k] = t->dims[k].value;
  return d;
}

int64_t ce_numel(const Value *v) {
  uint64_t n = 0;
  ir_type_numel(v->type, &n);
  return (int64_t)n;
}

ElemType ce_elem(const Value *v) {
  return v->type->elem;
}

static size_t value_bytes(const Value *v) {
  size_t n = 0;
  ir_elem_nbytes(v->type->elem, (uint64_t)ce_numel(v), &n);
  return n;
}

static uint64_t align_up(uint64_t x) {
  return (x + CE_ALIGN - 1) / CE_ALIGN * CE_ALIGN;
}

static uint64_t add_blob(struct CEmitPriv *p, const void *data, size_t nbytes) {
  Blob b = {data, nbytes, align_up(p->wbytes)};
  ir_vec_push(p->blobs, b);
  p->wbytes = b.off + nbytes;
  return b.off;
}

static const char *weight_expr(CEmit *e, ElemType elem, uint64_t off) {
  return ir_arena_printf(&e->priv->a, "((const %s *)(ctx->w + %" PRIu64 "))", be_ctype(elem), off);
}

const char *ce_weight(CEmit *e, const char *base, ElemType elem, const void *data, size_t nbytes) {
  (void)base;
  void *copy = nbytes ? ir_arena_dup(&e->priv->a, data, nbytes) : NULL;
  return weight_expr(e, elem, add_blob(e->priv, copy, nbytes));
}

const char *ce_ptr(CEmit *e, const Value *v) {
  struct CEmitPriv *p = e->priv;
  if (!v) return "NULL";
  const char *ct = be_ctype(v->type->elem);
  int64_t k = p->sig_index[v->id];
  if (k >= 0) return ir_arena_printf(&p->a, "in%" PRId64, k);
  if (k <= -2) return ir_arena_printf(&p->a, "out%" PRId64, -2 - k);
  const Tensor *t = ce_const(v);
  if (t) {
    if (p->wval[v->id] < 0) p->wval[v->id] = (int64_t)add_blob(p, t->data, t->nbytes);
    return weight_expr(e, v->type->elem, (uint64_t)p->wval[v->id]);
  }
  int64_t off = v->producer ? be_offset(v->producer, v->producer_index) : -1;
  if (off < 0) return "NULL"; /* an unused output the planner gave no space (checked) */
  return ir_arena_printf(&p->a, "((%s *)(ctx->arena + %" PRId64 "))", ct, off);
}

const char *ce_scratch(CEmit *e, size_t bytes) {
  if (bytes > e->priv->scratch) e->priv->scratch = bytes;
  return ir_arena_printf(&e->priv->a, "((void *)(ctx->arena + %" PRIu64 "))", e->priv->act_bytes);
}

void ce_need_kern(CEmit *e, const char *name) {
  struct CEmitPriv *p = e->priv;
  int k = 0;
  while (ce_kern_sources[k].name && strcmp(ce_kern_sources[k].name, name)) k++;
  if (!ce_kern_sources[k].name) {
    ir_error(e->d, ir_noloc, "internal error: no kernel file runtime/kern/%s.c", name);
    p->unsupported++;
    return;
  }
  for (size_t i = 0; i < p->kerns.n; i++)
    if (p->kerns.v[i] == k) return;
  ir_vec_push(p->kerns, k);
}

/* A float literal from the shortest round-trip text (ir_format_*), made a floating
 * constant ("1" -> "1.0") and suffixed. */
static const char *float_lit(CEmit *e, double v, const char *text, const char *suffix) {
  if (isnan(v)) return signbit(v) ? "(-NAN)" : "NAN";
  if (isinf(v)) return v < 0 ? "(-INFINITY)" : "INFINITY";
  bool is_float = strpbrk(text, ".eE") != NULL, neg = signbit(v);
  return ir_arena_printf(&e->priv->a, "%s%s%s%s%s", neg ? "(" : "", text, is_float ? "" : ".0",
                         suffix, neg ? ")" : "");
}

const char *ce_f32(CEmit *e, float v) {
  char buf[40];
  ir_format_f32(buf, v);
  return float_lit(e, v, buf, "f");
}

const char *ce_f64(CEmit *e, double v) {
  char buf[40];
  ir_format_f64(buf, v);
  return float_lit(e, v, buf, "");
}

const char *ce_fresh(CEmit *e, const char *base) {
  Arena *a = &e->priv->a;
  char *s = ir_arena_printf(a, "ce_%s_%d", base, e->priv->fresh++);
  for (char *c = s; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
      *c = '_';
  return s;
}

/* ------------------------------------------------------------------ checking */

static const CEmitOp *find_row(const Node *n) {
  if (!n->op) return NULL;
  for (size_t t = 0; t < sizeof ce_op_tables / sizeof ce_op_tables[0]; t++)
    for (const CEmitOp *r = ce_op_tables[t]; r->family; r++)
      if (!strcmp(r->family, n->op->family)) return r;
  return NULL;
}

/* Is v a tensor of static shape and an element type emitted code can hold? Names the
 * problem into why (for the node's message). */
static bool value_static(const Value *v, char *why, size_t len) {
  const Type *t = v->type;
  uint64_t n;
  if (!t || t->kind != TYPE_TENSOR) snprintf(why, len, "value '%s' is not a tensor", v->name);
  else if (!be_ctype(t->elem))
    snprintf(why, len, "value '%s' has element type %s, which the C backend does not support",
             v->name, ir_elem(t->elem)->name);
  else if (t->rank < 0 || !ir_type_numel(t, &n))
    snprintf(why, len, "value '%s' has no static shape (bind it with --shape or --dim)", v->name);
  else return true;
  return false;
}

/* A Constant node whose value is a tensor attribute: its output is a weight, no code. */
static bool is_const_node(const Node *n) {
  return n->n_outputs == 1 && n->outputs[0] && ce_const(n->outputs[0]) && n->outputs[0]->producer == n;
}

static bool is_graph_output(const Graph *g, const Value *v) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) return true;
  return false;
}

/* Every value static, every node with a row, every intermediate with an arena offset;
 * activations' extent into p->act_bytes. Reports every problem; returns the count. */
static int check_model(CEmit *e) {
  struct CEmitPriv *p = e->priv;
  const Graph *g = e->model->graph;
  int errs = 0;
  char why[512];
  uint64_t top = 0;
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    if (is_const_node(n)) continue;
    bool ok = true;
    for (int k = 0; ok && k < n->n_inputs; k++)
      if (n->inputs[k] && !value_static(n->inputs[k], why, sizeof why)) ok = false;
    for (int k = 0; ok && k < n->n_outputs; k++)
      if (n->outputs[k] && !value_static(n->outputs[k], why, sizeof why)) ok = false;
    if (!ok) {
      ce_unsupported(e, n, "%s", why);
      errs++;
      continue;
    }
    if (!n->op) {
      bool fn = ir_model_find_function(e->model, n->domain, n->op_type, n->overload) != NULL;
      ce_unsupported(e, n, fn ? "a call of a model-local function (inline it first: pass `inline`)"
                              : "unknown operator");
      errs++;
      continue;
    }
    if (!find_row(n)) {
      ce_unsupported(e, n, "the C backend has no kernel for %s", n->op_type);
      errs++;
      continue;
    }
    for (int k = 0; k < n->n_outputs; k++) {
      const Value *v = n->outputs[k];
      if (!v || is_graph_output(g, v)) continue;
      int64_t off = be_offset(n, k);
      if (off < 0 && v->uses) {
        ir_error(e->d, n->loc, "node %s output '%s' has no arena offset: the pipeline must end "
                 "with the memory planner (pass `plan`)", node_label(&p->a, n), v->name);
        errs++;
      }
      if (off >= 0 && (uint64_t)off + value_bytes(v) > top) top = (uint64_t)off + value_bytes(v);
    }
  }
  p->act_bytes = align_up(top);
  return errs;
}

/* ------------------------------------------------------------------ writing files */

static void put_kern(FILE *f, int k) {
  for (const char *const *c = ce_kern_sources[k].text; *c; c++) fputs(*c, f);
}

/* A comment-safe copy of s. */
static const char *comment_safe(Arena *a, const char *s) {
  char *c = ir_arena_strdup(a, s);
  for (char *q = c; *q; q++)
    if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f || (*q == '/' && q > c && q[-1] == '*'))
      *q = '_';
  return c;
}

/* The weights image: every blob at its offset, zero padding between. NULL if empty. */
static uint8_t *weights_image(const struct CEmitPriv *p) {
  if (!p->wbytes) return NULL;
  uint8_t *img = calloc(1, (size_t)p->wbytes);
  if (!img) abort();
  for (size_t i = 0; i < p->blobs.n; i++)
    if (p->blobs.v[i].nbytes) memcpy(img + p->blobs.v[i].off, p->blobs.v[i].data, p->blobs.v[i].nbytes);
  return img;
}

/* FNV-1a over the weights image (the .bin's header carries it: a wrong file is refused). */
static uint64_t weights_hash(const uint8_t *img, uint64_t n) {
  uint64_t h = 0xcbf29ce484222325u;
  for (uint64_t i = 0; i < n; i++) h = (h ^ img[i]) * 0x100000001b3u;
  return h;
}

/* The x86/AArch64 CPU check create() runs: the target's ISA must be there. */
static void put_cpu_check(FILE *f, const Target *t) {
  fprintf(f, "static int effc_cpu_ok(void) {\n");
  switch (t->isa) {
  case TISA_AVX2:
  case TISA_AVX512:
    fprintf(f, "#if defined(__x86_64__) || defined(__i386__)\n  __builtin_cpu_init();\n  int ok = 1;\n");
    /* the FEATURES column, "avx512f,avx2,fma,f16c" */
    for (const char *s = t->features; *s;) {
      size_t l = strcspn(s, ",");
      const char *feat = *s == '+' ? s + 1 : s;
      int fl = (int)(l - (size_t)(feat - s));
      bool f16c = fl == 4 && !strncmp(feat, "f16c", 4);
      if (f16c) /* clang 14 cannot test F16C; every AVX2 CPU has it */
        fprintf(f, "#if !defined(__clang__)\n");
      fprintf(f, "  ok = ok && __builtin_cpu_supports(\"%.*s\");\n", fl, feat);
      if (f16c) fprintf(f, "#endif\n");
      s += l;
      if (*s == ',') s++;
    }
    fprintf(f, "  return ok;\n#else\n  return 0;\n#endif\n");
    break;
  case TISA_NEON:
    fprintf(f, "#if defined(__aarch64__) && defined(__linux__)\n"
               "  return (getauxval(AT_HWCAP) & (1UL << 20)) != 0; /* HWCAP_ASIMDDP: sdot */\n"
               "#else\n  return 0;\n#endif\n");
    break;
  default: fprintf(f, "  return 1;\n");
  }
  fprintf(f, "}\n\n");
}

/* The context, thread pool and API of <prefix>.c, after the body. */
static void put_api(FILE *f, CEmit *e) {
  struct CEmitPriv *p = e->priv;
  const EmitOptions *o = e->o;
  const char *px = o->prefix;
  int nt = o->threads, nin = p->sig.n_inputs, nout = p->sig.n_outputs;
  uint64_t arena = p->act_bytes + align_up(p->scratch);

  put_cpu_check(f, e->target);
  if (nt > 1) {
    fprintf(f,
            "static void *effc_worker(void *arg) {\n"
            "  struct effc_worker *w = arg;\n"
            "  %s_ctx *ctx = w->ctx;\n"
            "  int tid = w->tid;\n"
            "  unsigned seen = 0;\n"
            "  for (;;) {\n"
            "    pthread_mutex_lock(&ctx->mu);\n"
            "    while (ctx->gen == seen && !ctx->quit) pthread_cond_wait(&ctx->cv, &ctx->mu);\n"
            "    seen = ctx->gen;\n"
            "    int quit = ctx->quit;\n"
            "    pthread_mutex_unlock(&ctx->mu);\n"
            "    if (quit) return NULL;\n"
            "    effc_body(ctx, tid, EFFC_THREADS);\n"
            "    EFFC_BARRIER();\n"
            "  }\n"
            "}\n\n",
            px);
    fprintf(f,
            "static void effc_stop(%s_ctx *ctx, int started) {\n"
            "  pthread_mutex_lock(&ctx->mu);\n"
            "  ctx->quit = 1;\n"
            "  pthread_cond_broadcast(&ctx->cv);\n"
            "  pthread_mutex_unlock(&ctx->mu);\n"
            "  for (int i = 0; i < started; i++) pthread_join(ctx->threads[i], NULL);\n"
            "  pthread_mutex_destroy(&ctx->mu);\n"
            "  pthread_cond_destroy(&ctx->cv);\n"
            "}\n\n",
            px);
  }

  /* create */
  fprintf(f, "%s_ctx *%s_create(%s) {\n", px, px, o->weights_bin ? "const char *bin_path" : "void");
  fprintf(f, "  if (!effc_cpu_ok()) return NULL;\n");
  fprintf(f, "  %s_ctx *ctx = calloc(1, sizeof *ctx);\n  if (!ctx) return NULL;\n", px);
  if (arena)
    fprintf(f, "  ctx->arena = aligned_alloc(%d, %" PRIu64 "u);\n"
               "  if (!ctx->arena) {\n    free(ctx);\n    return NULL;\n  }\n",
            CE_ALIGN, align_up(arena));
  if (o->weights_bin) {
    fprintf(f,
            "  /* the .bin: \"EFFCWB01\", the byte count and the FNV-1a hash (u64 LE), the bytes */\n"
            "  FILE *bf = bin_path ? fopen(bin_path, \"rb\") : NULL;\n"
            "  unsigned char hdr[24];\n"
            "  uint64_t hn = 0, hh = 0;\n"
            "  int ok = bf && fread(hdr, 1, 24, bf) == 24 && !memcmp(hdr, \"EFFCWB01\", 8);\n"
            "  for (int i = 7; ok && i >= 0; i--) {\n"
            "    hn = hn << 8 | hdr[8 + i];\n"
            "    hh = hh << 8 | hdr[16 + i];\n"
            "  }\n"
            "  ok = ok && hn == %" PRIu64 "u && hh == 0x%016" PRIx64 "u;\n",
            p->wbytes, p->whash);
    if (p->wbytes)
      fprintf(f,
              "  if (ok) {\n"
              "    ctx->w_owned = aligned_alloc(%d, %" PRIu64 "u);\n"
              "    ok = ctx->w_owned && fread(ctx->w_owned, 1, %" PRIu64 "u, bf) == %" PRIu64 "u;\n"
              "  }\n",
              CE_ALIGN, align_up(p->wbytes), p->wbytes, p->wbytes);
    fprintf(f,
            "  ok = ok && fgetc(bf) == EOF;\n"
            "  if (bf) fclose(bf);\n"
            "  if (!ok) {\n    free(ctx->w_owned);\n    free(ctx->arena);\n    free(ctx);\n"
            "    return NULL;\n  }\n"
            "  ctx->w = ctx->w_owned;\n");
  } else {
    fprintf(f, "  ctx->w = (const unsigned char *)%s_weights;\n", px);
  }
  if (nt > 1) {
    fprintf(f,
            "  atomic_init(&ctx->bar.count, EFFC_THREADS);\n"
            "  atomic_init(&ctx->bar.sense, 0);\n"
            "  if (pthread_mutex_init(&ctx->mu, NULL)) goto fail_mu;\n"
            "  if (pthread_cond_init(&ctx->cv, NULL)) goto fail_cv;\n"
            "  for (int i = 0; i < EFFC_THREADS - 1; i++) {\n"
            "    ctx->workers[i].ctx = ctx;\n"
            "    ctx->workers[i].tid = i + 1;\n"
            "    if (pthread_create(&ctx->threads[i], NULL, effc_worker, &ctx->workers[i])) {\n"
            "      effc_stop(ctx, i);\n"
            "      goto fail;\n"
            "    }\n"
            "  }\n"
            "  return ctx;\n"
            "fail_cv:\n"
            "  pthread_mutex_destroy(&ctx->mu);\n"
            "fail_mu:\n"
            "fail:\n"
            "  free(ctx->w_owned);\n"
            "  free(ctx->arena);\n"
            "  free(ctx);\n"
            "  return NULL;\n");
  } else {
    fprintf(f, "  return ctx;\n");
  }
  fprintf(f, "}\n\n");

  /* run */
  fprintf(f, "int %s_run(%s_ctx *ctx", px, px);
  for (int i = 0; i < nin; i++)
    fprintf(f, ", const %s *in%d", be_ctype(p->sig.inputs[i]->type->elem), i);
  for (int i = 0; i < nout; i++)
    fprintf(f, ", %s *out%d", be_ctype(p->sig.outputs[i]->type->elem), i);
  fprintf(f, ") {\n  if (!ctx) return -1;\n");
  for (int i = 0; i < nin; i++)
    fprintf(f, "  if (!in%d) return -1;\n  ctx->io[%d] = (void *)(uintptr_t)in%d;\n", i, i, i);
  for (int i = 0; i < nout; i++)
    fprintf(f, "  if (!out%d) return -1;\n  ctx->io[%d] = out%d;\n", i, nin + i, i);
  if (nt > 1)
    fprintf(f, "  pthread_mutex_lock(&ctx->mu);\n"
               "  ctx->gen++;\n"
               "  pthread_cond_broadcast(&ctx->cv);\n"
               "  pthread_mutex_unlock(&ctx->mu);\n"
               "  int tid = 0;\n"
               "  effc_body(ctx, 0, EFFC_THREADS);\n"
               "  EFFC_BARRIER();\n");
  else
    fprintf(f, "  effc_body(ctx, 0, 1);\n");
  fprintf(f, "  return 0;\n}\n\n");

  /* destroy */
  fprintf(f, "void %s_destroy(%s_ctx *ctx) {\n  if (!ctx) return;\n", px, px);
  if (nt > 1) fprintf(f, "  effc_stop(ctx, EFFC_THREADS - 1);\n");
  fprintf(f, "  free(ctx->w_owned);\n  free(ctx->arena);\n  free(ctx);\n}\n");
}

static bool write_model_c(CEmit *e, FILE *f) {
  struct CEmitPriv *p = e->priv;
  const EmitOptions *o = e->o;
  const char *px = o->prefix;
  int nt = o->threads, nio = p->sig.n_inputs + p->sig.n_outputs;
  fprintf(f,
          "/* %s.c - generated by effc %s for target %s (%s): the model's kernels, its graph\n"
          " * and the API declared in %s.h. */\n",
          px, EFFC_VERSION, e->target->name, comment_safe(&p->a, e->target->summary), px);
  fprintf(f, "#ifndef _POSIX_C_SOURCE\n#define _POSIX_C_SOURCE 200809L\n#endif\n");
  fprintf(f, "/* kern.h declares every kernel; this file defines only those the model uses */\n"
             "#pragma GCC diagnostic ignored \"-Wunused-function\"\n");
  /* the headers every node's code may rely on */
  fprintf(f, "#include <float.h>\n#include <limits.h>\n#include <math.h>\n#include <stdbool.h>\n"
             "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n");
  if (nt > 1) fprintf(f, "#include <pthread.h>\n#include <sched.h>\n#include <stdatomic.h>\n");
  if (e->target->isa == TISA_NEON)
    fprintf(f, "#if defined(__aarch64__) && defined(__linux__)\n#include <sys/auxv.h>\n#endif\n");
  fprintf(f, "\n#include \"%s.h\"\n\n", px);
  fprintf(f, "#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n"
             "#error \"effc's compiled models need a little-endian target\"\n#endif\n\n");
  fprintf(f, "#define EFFC_KERN static __attribute__((unused))\n#define EFFC_ISA %d\n",
          (int)e->target->isa);
  int kh = 0;
  while (ce_kern_sources[kh].name && strcmp(ce_kern_sources[kh].name, "kern")) kh++;
  if (!ce_kern_sources[kh].name) return false;
  put_kern(f, kh);
  for (size_t i = 0; i < p->kerns.n; i++) {
    fprintf(f, "\n/* ---- runtime/kern/%s.c */\n", ce_kern_sources[p->kerns.v[i]].name);
    put_kern(f, p->kerns.v[i]);
  }
  fprintf(f, "\n/* ---- the model */\n");
  if (!o->weights_bin) fprintf(f, "extern const uint64_t %s_weights[];\n\n", px);
  if (nt > 1) {
    fprintf(f,
            "#define EFFC_THREADS %d\n"
            "/* A sense-reversing barrier: a short spin, then yield. */\n"
            "typedef struct effc_barrier {\n  atomic_int count, sense;\n} effc_barrier;\n"
            "static void effc_barrier_wait(effc_barrier *b, int *local) {\n"
            "  int s = !*local;\n"
            "  *local = s;\n"
            "  if (atomic_fetch_sub_explicit(&b->count, 1, memory_order_acq_rel) == 1) {\n"
            "    atomic_store_explicit(&b->count, EFFC_THREADS, memory_order_relaxed);\n"
            "    atomic_store_explicit(&b->sense, s, memory_order_release);\n"
            "  } else {\n"
            "    for (int spin = 0; atomic_load_explicit(&b->sense, memory_order_acquire) != s;)\n"
            "      if (++spin > 2000) sched_yield();\n"
            "  }\n"
            "}\n"
            "#define EFFC_BARRIER() effc_barrier_wait(&ctx->bar, &ctx->sense[tid])\n"
            "struct effc_worker {\n  struct %s_ctx *ctx;\n  int tid;\n};\n\n",
            nt, px);
  } else {
    fprintf(f, "#define EFFC_BARRIER() ((void)0)\n\n");
  }
  fprintf(f, "struct %s_ctx {\n  unsigned char *arena; /* activations, then scratch */\n"
             "  const unsigned char *w; /* the weights image */\n"
             "  unsigned char *w_owned; /* the weights loaded from a .bin */\n"
             "  void *io[%d];           /* run()'s inputs, then outputs */\n",
          px, nio ? nio : 1);
  if (nt > 1)
    fprintf(f, "  effc_barrier bar;\n  int sense[EFFC_THREADS];\n"
               "  pthread_t threads[EFFC_THREADS - 1];\n"
               "  struct effc_worker workers[EFFC_THREADS - 1];\n"
               "  pthread_mutex_t mu;\n  pthread_cond_t cv;\n  unsigned gen;\n  int quit;\n");
  fprintf(f, "};\n\n");
  if (p->file.n) fwrite(p->file.s, 1, p->file.n, f);
  fprintf(f, "\nstatic void effc_body(%s_ctx *ctx, int tid, int nt) {\n  (void)tid;\n  (void)nt;\n",
          px);
  for (int i = 0; i < p->sig.n_inputs; i++) {
    const char *ct = be_ctype(p->sig.inputs[i]->type->elem);
    fprintf(f, "  const %s *in%d = (const %s *)ctx->io[%d];\n  (void)in%d;\n", ct, i, ct, i, i);
  }
  for (int i = 0; i < p->sig.n_outputs; i++) {
    const char *ct = be_ctype(p->sig.outputs[i]->type->elem);
    fprintf(f, "  %s *out%d = (%s *)ctx->io[%d];\n  (void)out%d;\n", ct, i, ct,
            p->sig.n_inputs + i, i);
  }
  if (p->body.n) fwrite(p->body.s, 1, p->body.n, f);
  fprintf(f, "}\n\n");
  put_api(f, e);
  return true;
}

static void write_weights_c(CEmit *e, FILE *f, const uint8_t *img) {
  struct CEmitPriv *p = e->priv;
  uint64_t words = (p->wbytes + 7) / 8;
  fprintf(f, "/* %s_weights.c - generated by effc %s: the weights image of %s.c (%" PRIu64
             " bytes as little-endian words). */\n#include <stdint.h>\n\n",
          e->o->prefix, EFFC_VERSION, e->o->prefix, p->wbytes);
  fprintf(f, "extern const uint64_t %s_weights[];\n", e->o->prefix);
  fprintf(f, "__attribute__((aligned(%d))) const uint64_t %s_weights[%" PRIu64 "] = {", CE_ALIGN,
          e->o->prefix, words ? words : 1);
  if (!words) fprintf(f, "0");
  char line[6 * 24 + 8];
  for (uint64_t w = 0; w < words;) {
    size_t o = 0;
    line[o++] = '\n';
    for (int c = 0; c < 6 && w < words; c++, w++) {
      uint64_t v = 0;
      for (int b = 7; b >= 0; b--) v = v << 8 | (w * 8 + (uint64_t)b < p->wbytes ? img[w * 8 + (uint64_t)b] : 0);
      o += (size_t)sprintf(line + o, "0x%" PRIx64 "u,", v);
    }
    fwrite(line, 1, o, f);
  }
  fprintf(f, "};\n");
}

static void write_weights_bin(CEmit *e, FILE *f, const uint8_t *img) {
  unsigned char hdr[24];
  uint64_t n = e->priv->wbytes, h = weights_hash(img, n);
  memcpy(hdr, "EFFCWB01", 8);
  for (int i = 0; i < 8; i++) {
    hdr[8 + i] = (unsigned char)(n >> (8 * i));
    hdr[16 + i] = (unsigned char)(h >> (8 * i));
  }
  fwrite(hdr, 1, 24, f);
  if (n) fwrite(img, 1, (size_t)n, f);
}

void be_write_main_c(FILE *f, const BeSignature *sig, const EmitOptions *o, const char *bin_abs) {
  const char *px = o->prefix;
  char P[256];
  snprintf(P, sizeof P, "%s", px);
  for (char *c = P; *c; c++)
    if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
  fprintf(f, "/* %s_main.c - generated by effc %s: a command-line runner for %s.c. */\n", px,
          EFFC_VERSION, px);
  fprintf(f, "#ifndef _POSIX_C_SOURCE\n#define _POSIX_C_SOURCE 200809L\n#endif\n");
  fprintf(f, "#include \"%s.h\"\n\n", px);
  fprintf(f, "#define EFFC_M(x) %s_##x\n#define N_IN %s_NUM_INPUTS\n#define N_OUT %s_NUM_OUTPUTS\n",
          px, P, P);
  if (o->weights_bin) {
    fprintf(f, "#define EFFC_BIN 1\n#define EFFC_BIN_DEFAULT ");
    const char *q = bin_abs;
    fputc('"', f);
    for (; *q; q++) {
      if (*q == '"' || *q == '\\') fputc('\\', f);
      if ((unsigned char)*q < 0x20 || *q == '?') fprintf(f, "\\%03o", (unsigned char)*q);
      else fputc(*q, f);
    }
    fprintf(f, "\"\n#define EFFC_CREATE(w) %s_create(w)\n", px);
  } else {
    fprintf(f, "#define EFFC_BIN 0\n#define EFFC_BIN_DEFAULT \"\"\n"
               "#define EFFC_CREATE(w) ((void)(w), %s_create())\n", px);
  }
  fprintf(f, "\nstatic int effc_call_run(%s_ctx *ctx, void *const *in, void *const *out) {\n"
             "  (void)in;\n  (void)out;\n  return %s_run(ctx", px, px);
  for (int i = 0; i < sig->n_inputs; i++)
    fprintf(f, ", (const %s *)in[%d]", be_ctype(sig->inputs[i]->type->elem), i);
  for (int i = 0; i < sig->n_outputs; i++)
    fprintf(f, ", (%s *)out[%d]", be_ctype(sig->outputs[i]->type->elem), i);
  fprintf(f, ");\n}\n\n");
  int k = 0;
  while (ce_kern_sources[k].name && strcmp(ce_kern_sources[k].name, "main_tmpl")) k++;
  if (ce_kern_sources[k].name) put_kern(f, k);
}

/* ------------------------------------------------------------------ the emitter */

/* Node code into the body, indented, in a block of its own. */
static void body_add_node(struct CEmitPriv *p, const Node *n, bool barrier) {
  buf_printf(&p->body, "  /* node %s: %s */\n  {\n", comment_safe(&p->a, node_label(&p->a, n)),
             n->op_type);
  const char *s = p->node.s ? p->node.s : "";
  while (*s) {
    const char *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) : strlen(s);
    if (len) buf_printf(&p->body, "    %.*s\n", (int)len, s);
    else buf_printf(&p->body, "\n");
    s += len + (nl ? 1 : 0);
  }
  buf_printf(&p->body, "  }\n");
  if (barrier) buf_printf(&p->body, "  EFFC_BARRIER();\n");
  p->node.n = 0;
  if (p->node.s) p->node.s[0] = 0;
}

typedef struct OutFile {
  const char *suffix; /* "<prefix><suffix>" */
  AtomicFile af;
  bool open;
} OutFile;

int be_emit_c(Model *m, const EmitOptions *o, Diag *d) {
  struct CEmitPriv priv;
  memset(&priv, 0, sizeof priv);
  ir_arena_init(&priv.a);
  CEmit e = {o, o->target, m, d, &priv};
  const Graph *g = m->graph;
  int rc = -1;
  OutFile files[4] = {{".h", {0}, false}, {".c", {0}, false},
                      {o->weights_bin ? ".bin" : "_weights.c", {0}, false},
                      {"_main.c", {0}, false}};
  int nfiles = o->emit_main ? 4 : 3;

  /* the signature's problems and every node's, reported together */
  bool sig_ok = be_signature(m, &priv.sig, d) == 0;
  size_t nv = m->next_value_id + 1;
  priv.wval = malloc(sizeof *priv.wval * nv);
  priv.sig_index = malloc(sizeof *priv.sig_index * nv);
  if (!priv.wval || !priv.sig_index) abort();
  for (size_t i = 0; i < nv; i++) priv.wval[i] = priv.sig_index[i] = -1;
  for (int i = 0; i < priv.sig.n_inputs; i++) priv.sig_index[priv.sig.inputs[i]->id] = i;
  /* an output listed twice is written by its producer into the first; the end copies it */
  for (int i = priv.sig.n_outputs - 1; i >= 0; i--) {
    const Value *v = priv.sig.outputs[i];
    if (v->producer && !is_const_node(v->producer) && priv.sig_index[v->id] <= -1)
      priv.sig_index[v->id] = -2 - i;
  }

  if (check_model(&e) || !sig_ok) goto out;
  ce_need_kern(&e, "isa");

  /* the nodes */
  size_t last = g->nodes.n;
  for (size_t i = g->nodes.n; i-- > 0;)
    if (!is_const_node(g->nodes.v[i])) {
      last = i;
      break;
    }
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    if (is_const_node(n)) continue;
    int before = priv.unsupported;
    int r = find_row(n)->emit(&e, n);
    if (r != 0 && priv.unsupported == before) ce_unsupported(&e, n, "the C emitter failed");
    body_add_node(&priv, n, i != last);
  }
  /* outputs that no node writes: graph inputs, constants, an output listed twice */
  bool copies = false;
  for (int i = 0; i < priv.sig.n_outputs; i++) {
    const Value *v = priv.sig.outputs[i];
    if (priv.sig_index[v->id] == -2 - i) continue;
    if (!copies) buf_printf(&priv.body, "  EFFC_BARRIER();\n  if (tid == 0) {\n");
    copies = true;
    buf_printf(&priv.body, "    memcpy(out%d, %s, %zu);\n", i, ce_ptr(&e, v), value_bytes(v));
  }
  if (copies) buf_printf(&priv.body, "  }\n");
  if (priv.unsupported) goto out;

  /* the files: opened together, committed only when all are written */
  char err[512] = "";
  bool ok = true;
  char *bin_abs = NULL;
  for (int i = 0; i < nfiles && ok; i++) {
    if (i == 0) continue; /* the header: be_write_header */
    char *path = ir_arena_printf(&priv.a, "%s/%s%s", o->out_dir, o->prefix, files[i].suffix);
    ok = ir_atomic_open(&files[i].af, path, err, sizeof err);
    files[i].open = ok;
    if (i == 2 && o->weights_bin) bin_abs = realpath(o->out_dir, NULL);
  }
  if (ok) {
    uint8_t *img = weights_image(&priv);
    priv.whash = weights_hash(img, priv.wbytes);
    ok = write_model_c(&e, files[1].af.fp);
    if (o->weights_bin) write_weights_bin(&e, files[2].af.fp, img);
    else write_weights_c(&e, files[2].af.fp, img);
    free(img);
    if (o->emit_main) {
      char *bp = ir_arena_printf(&priv.a, "%s/%s.bin", bin_abs ? bin_abs : o->out_dir, o->prefix);
      be_write_main_c(files[3].af.fp, &priv.sig, o, bp);
    }
    for (int i = 1; i < nfiles && ok; i++) ok = !ferror(files[i].af.fp);
    if (!ok && !*err) snprintf(err, sizeof err, "write error in %s", o->out_dir);
  }
  free(bin_abs);
  uint64_t arena = priv.act_bytes + align_up(priv.scratch);
  if (ok && be_write_header(m, &priv.sig, o, arena, priv.wbytes, d)) {
    ok = false;
    *err = 0; /* reported */
  }
  for (int i = 1; i < nfiles; i++) {
    if (!files[i].open) continue;
    if (ok) {
      if (!ir_atomic_commit(&files[i].af, err, sizeof err)) ok = false;
    } else {
      ir_atomic_abort(&files[i].af);
    }
  }
  if (!ok) {
    if (*err) ir_error(d, ir_noloc, "%s", err);
    goto out;
  }
  if (!o->quiet)
    fprintf(stderr, "effc: %s: arena %" PRIu64 " bytes (activations %" PRIu64 ", scratch %" PRIu64
                    "), weights %" PRIu64 " bytes\n",
            o->prefix, arena, priv.act_bytes, align_up(priv.scratch), priv.wbytes);
  rc = 0;
out:
  be_signature_free(&priv.sig);
  free(priv.wval);
  free(priv.sig_index);
  ir_vec_free(priv.blobs);
  ir_vec_free(priv.kerns);
  buf_free(&priv.node);
  buf_free(&priv.file);
  buf_free(&priv.body);
  ir_arena_free(&priv.a);
  return rc;
}

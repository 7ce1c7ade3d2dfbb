/* parse.c - fe_parse: ONNX text into the IR. Runs the flex scanner and bison parser (lexer.l,
 * parser.y) over the caller's text (read in pieces, never copied whole), and implements the
 * builder their actions call: names and scopes, types, tensor data, attributes, nodes,
 * graphs, functions, diagnostics.
 * Partial results live on LIFO scratch stacks and in the model's arena, so every error path
 * frees everything at once. */
#include "frontend.h"

#define YYSTYPE FE_YYSTYPE
#define YYLTYPE FE_YYLTYPE
#include "parser.h"
#include "lexer.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* One entry of the name stack: a name (or token text), where it was written, and for a
 * value-info its type and where the whole entry starts. */
typedef struct FeItem {
  const char *s;
  uint32_t len;
  int tok;
  SrcLoc loc;
  SrcLoc at;
  Type *type;
  uint64_t hash; /* ir_name_hash(s, len) when `hashed` */
  bool hashed;
} FeItem;

/* One attribute (or header) value on the value stack. A list's elements lie below it. */
enum { AV_INT, AV_FLOAT, AV_STRING, AV_TENSOR, AV_GRAPH, AV_TYPE, AV_REF, AV_LIST };
typedef struct FeAV {
  int kind;
  SrcLoc loc;
  union {
    struct {
      int64_t i;
      const char *text; /* the literal, to read as a float for "x: float = 2" */
      uint32_t len;
    } n;
    float f;
    IrStr s;
    Tensor *t;
    Graph *g;
    Type *tp;
    const char *ref;
    size_t mark; /* AV_LIST: where its elements start (value stack, or name stack for headers) */
  } u;
} FeAV;

/* The part of a node read before its arguments: outputs (on the name stack from out_mark),
 * operator, label, overload. */
typedef struct FeHead {
  size_t out_mark, n_out;
  const char *domain, *op, *overload, *name;
  SrcLoc loc;
} FeHead;

typedef struct InternSlot {
  const char *s;
  uint32_t len;
  uint64_t hash;
} InternSlot;

struct FeParser {
  FeLexState lex; /* first member: flex's extra points here */
  Model *m;
  Diag *d;
  int errors0;
  Graph *g;     /* the graph whose nodes are being read */
  Function *fn; /* the function being read */
  /* LIFO scratch stacks; a list is [mark, n) of its stack */
  IR_VEC(FeItem) items;
  IR_VEC(void *) ptrs;
  IR_VEC(Attr) attrs;
  IR_VEC(FeAV) avs;
  IR_VEC(FeHead) heads;
  IR_VEC(Graph *) graphs;  /* every graph made, to free their tables on failure */
  IR_VEC(Function *) fns;
  IR_VEC(const char *) fn_keys; /* interned (domain, name, overload) of each function */
  IR_VEC(void *) stacks;   /* bison's heap stacks */
  /* header keys seen (bit per key) and the pending function header */
  unsigned mseen, fseen;
  const char *fh_domain, *fh_overload, *fh_doc;
  OpsetImport *fh_opsets;
  int fh_n_opsets;
  /* the tensor whose data is being read */
  Tensor *pend;
  Value *pend_value;
  uint64_t want, count;
  bool too_many;
  int data_errs; /* the error count when the data began */
  uint8_t *data;
  size_t dcap;
  /* the most recent tensor type and its first non-numeric dim, for precise messages */
  const Type *last_type;
  SrcLoc last_bad_dim;
  /* NUL-terminated temporaries */
  char *tmp;
  size_t tmpcap;
  /* interned strings (op types, domains, attribute names, dim params) */
  InternSlot *intern;
  size_t icap, in;
  const char *icache[256];
  size_t icache_len[256];
  yyscan_t scanner;
  jmp_buf jb;
};

static void fe_tensor_begin(FeParser *P, Type *t, SrcLoc loc);
static Tensor *fe_tensor_take(FeParser *P);

/* ------------------------------------------------------------------ small helpers */

static _Thread_local FeParser *fe_cur;

static void oom(void) {
  fputs("effc: out of memory\n", stderr);
  abort();
}

void *fe_stack_alloc(size_t n) {
  void *p = malloc(n);
  if (p && fe_cur) ir_vec_push(fe_cur->stacks, p);
  return p;
}

void fe_stack_free(void *p) {
  if (!p) return;
  if (fe_cur)
    for (size_t i = 0; i < fe_cur->stacks.n; i++)
      if (fe_cur->stacks.v[i] == p) {
        fe_cur->stacks.v[i] = fe_cur->stacks.v[--fe_cur->stacks.n];
        break;
      }
  free(p);
}

static void err(FeParser *P, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(FeParser *P, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ir_diag_vreport(P->d, DIAG_ERROR, loc, fmt, ap);
  va_end(ap);
}

static void note(FeParser *P, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(FeParser *P, SrcLoc loc, const char *fmt, ...) {
  if (P->d->errors > (P->d->max_errors ? P->d->max_errors : 20)) return;
  va_list ap;
  va_start(ap, fmt);
  ir_diag_vreport(P->d, DIAG_NOTE, loc, fmt, ap);
  va_end(ap);
}

SrcLoc fe_loc(const FeLoc *l) {
  SrcLoc s = {l->line, l->col};
  return s;
}

static Arena *arena(FeParser *P) {
  return &P->m->arena;
}

static char *sdup(FeParser *P, const char *s, size_t len) {
  return ir_arena_strndup(arena(P), s, len);
}

/* P->tmp with room for n bytes (valid until the next call). */
static char *tmp_room(FeParser *P, size_t n) {
  if (n > P->tmpcap) {
    size_t c = P->tmpcap ? P->tmpcap : 64;
    while (c < n) {
      if (c > SIZE_MAX / 2) oom();
      c *= 2;
    }
    char *t = realloc(P->tmp, c);
    if (!t) oom();
    P->tmp = t;
    P->tmpcap = c;
  }
  return P->tmp;
}

/* A NUL-terminated copy in P->tmp (valid until the next call). */
static const char *cstr(FeParser *P, const char *s, size_t len) {
  char *t = tmp_room(P, len + 1);
  memcpy(t, s, len);
  t[len] = 0;
  return t;
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

/* The one arena copy of a frequently repeated string. A small direct-mapped cache in front
 * of the table catches the common case (the same op type, node after node). */
static const char *intern_slow(FeParser *P, const char *s, size_t len);
static const char *intern(FeParser *P, const char *s, size_t len) {
  if (!len) return "";
  uint32_t k = (uint32_t)len;
  for (size_t i = 0; i < len && i < 8; i++) k = k * 31 + (unsigned char)s[i];
  k = (k * 2654435761u) >> 24; /* 0..255 */
  const char *c = P->icache[k];
  if (c && P->icache_len[k] == len && !memcmp(c, s, len)) return c;
  c = intern_slow(P, s, len);
  P->icache[k] = c;
  P->icache_len[k] = len;
  return c;
}

static const char *intern_slow(FeParser *P, const char *s, size_t len) {
  if ((P->in + 1) * 4 > P->icap * 3) {
    size_t nc = P->icap ? P->icap * 2 : 256;
    InternSlot *t = calloc(nc, sizeof *t);
    if (!t) oom();
    for (size_t i = 0; i < P->icap; i++)
      if (P->intern[i].s) {
        size_t j = (size_t)P->intern[i].hash & (nc - 1);
        while (t[j].s) j = (j + 1) & (nc - 1);
        t[j] = P->intern[i];
      }
    free(P->intern);
    P->intern = t;
    P->icap = nc;
  }
  uint64_t h = hash_bytes(s, len);
  size_t j = (size_t)h & (P->icap - 1);
  for (;;) {
    InternSlot *e = &P->intern[j];
    if (!e->s) {
      e->s = sdup(P, s, len);
      e->len = (uint32_t)len;
      e->hash = h;
      P->in++;
      return e->s;
    }
    if (e->hash == h && e->len == len && !memcmp(e->s, s, len)) return e->s;
    j = (j + 1) & (P->icap - 1);
  }
}

/* Report each key equal to an earlier one (keys are interned pointers): report(P, first,
 * dup, ctx). Linear time, so hostile inputs with huge lists stay fast. */
typedef struct DupSlot {
  const void *key;
  size_t idx;
} DupSlot;

static void dup_scan(FeParser *P, const void *const *keys, size_t n,
                     void (*report)(FeParser *, size_t, size_t, void *), void *ctx) {
  if (n < 2) return;
  if (n <= 16) {
    for (size_t j = 1; j < n; j++)
      for (size_t i = 0; i < j; i++)
        if (keys[i] == keys[j]) {
          report(P, i, j, ctx);
          break;
        }
    return;
  }
  size_t cap = 32;
  while (cap < 2 * n) cap *= 2;
  DupSlot *t = calloc(cap, sizeof *t);
  if (!t) oom();
  for (size_t j = 0; j < n; j++) {
    size_t h = (size_t)(((uint64_t)(uintptr_t)keys[j] * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
    while (t[h].key && t[h].key != keys[j]) h = (h + 1) & (cap - 1);
    if (t[h].key) {
      report(P, t[h].idx, j, ctx);
    } else {
      t[h].key = keys[j];
      t[h].idx = j;
    }
  }
  free(t);
}

/* Quoted text: drop the quotes; a backslash takes the next character literally. Returns the
 * content pointer (into the source when there is no escape, else into the arena). */
static const char *unquote(FeParser *P, const char *text, size_t len, size_t *out_len) {
  const char *s = text + 1;
  size_t n = len >= 2 ? len - 2 : 0;
  if (!memchr(s, '\\', n)) {
    *out_len = n;
    return s;
  }
  char *o = ir_arena_alloc(arena(P), n + 1), *q = o;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 1 < n) i++;
    *q++ = s[i];
  }
  *q = 0;
  *out_len = (size_t)(q - o);
  return o;
}

/* A quoted name: unquoted, and cut at a NUL byte (names are C strings). */
static const char *name_str(FeParser *P, const FeLoc *l, uint32_t *out_len) {
  size_t len;
  const char *s = unquote(P, l->text, l->len, &len);
  if (memchr(s, 0, len)) {
    err(P, fe_loc(l), "a name cannot contain a NUL byte");
    len = strnlen(s, len);
  }
  *out_len = (uint32_t)len;
  return s;
}

static bool parse_u64(const char *s, size_t len, uint64_t *out) {
  size_t i = 0;
  bool neg = len && s[0] == '-';
  if (neg) i = 1;
  if (i >= len) return false;
  uint64_t v = 0;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned dgt = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - dgt) / 10) return false;
    v = v * 10 + dgt;
  }
  if (neg && v) return false;
  *out = v;
  return true;
}

static bool parse_i64(const char *s, size_t len, int64_t *out) {
  bool neg = len && s[0] == '-';
  uint64_t v;
  if (!parse_u64(neg ? s + 1 : s, neg ? len - 1 : len, &v)) return false;
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1) return false;
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)v;
  }
  return true;
}

/* The common short literal ("0.01", "-1.5", "3e-4") exactly, without strtof: when its digits
 * form an integer m <= 2^24 and its decimal exponent k is within [-10, 10], both m and 10^|k|
 * are exact floats (5^10 < 2^24), so one float multiplication or division rounds once,
 * correctly, giving strtof's result (Clinger's fast path). Needs float arithmetic done in
 * float (FLT_EVAL_METHOD 0, as on x86-64 and AArch64). Returns false when it does not apply. */
static bool fast_f32(const char *s, size_t len, float *out) {
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
  static const float pow10f[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                 1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
  size_t i = 0;
  bool neg = len > 0 && s[0] == '-';
  if (neg) i++;
  uint32_t m = 0;
  int k = 0, nd = 0;
  bool digit = false;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digit = true) {
    if (m || s[i] != '0') nd++;
    if (nd > 8) return false;
    m = m * 10 + (uint32_t)(s[i] - '0');
  }
  if (i < len && s[i] == '.') {
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digit = true) {
      if (m || s[i] != '0') nd++;
      if (nd > 8) return false;
      m = m * 10 + (uint32_t)(s[i] - '0');
      k--;
    }
  }
  if (!digit) return false;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = i < len && s[i] == '-';
    if (i < len && (s[i] == '-' || s[i] == '+')) i++;
    if (i >= len) return false;
    int e = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      if (e > 1000) return false;
      e = e * 10 + (s[i] - '0');
    }
    k += eneg ? -e : e;
  }
  if (i != len || m > (1u << 24) || k < -10 || k > 10) return false;
  float f = (float)m;
  f = k < 0 ? f / pow10f[-k] : f * pow10f[k];
  *out = neg ? -f : f;
  return true;
#else
  (void)s, (void)len, (void)out;
  return false;
#endif
}

/* float32 with strtof (never via double: that would round twice). Overflow is an error,
 * underflow gives the correctly rounded subnormal or zero. */
static bool parse_f32(FeParser *P, const char *s, size_t len, float *out) {
  if (fast_f32(s, len, out)) return true;
  const char *c = cstr(P, s, len);
  char *end;
  errno = 0;
  float f = strtof(c, &end);
  if (end != c + len || (errno == ERANGE && isinf(f))) return false;
  *out = f;
  return true;
}

static bool parse_f64(FeParser *P, const char *s, size_t len, double *out) {
  const char *c = cstr(P, s, len);
  char *end;
  errno = 0;
  double f = strtod(c, &end);
  if (end != c + len || (errno == ERANGE && isinf(f))) return false;
  *out = f;
  return true;
}

static void put_le(uint8_t *p, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------------ scratch stacks */

size_t fe_nitems(FeParser *P) {
  return P->items.n;
}
size_t fe_nptrs(FeParser *P) {
  return P->ptrs.n;
}
static size_t push_item(FeParser *P, const char *s, uint32_t len, int tok, SrcLoc loc) {
  if (P->items.n == P->items.cap) ir_vec_grow_((void **)&P->items.v, &P->items.cap, P->items.n + 1, sizeof *P->items.v);
  FeItem *it = &P->items.v[P->items.n++];
  it->s = s;
  it->len = len;
  it->tok = tok;
  it->loc = it->at = loc;
  it->type = NULL;
  it->hashed = false;
  return P->items.n - 1;
}

static FeItem *top_item(FeParser *P) {
  return &P->items.v[P->items.n - 1];
}

size_t fe_push_id(FeParser *P, const FeLoc *l) {
  return push_item(P, l->text, l->len, TK_ID, fe_loc(l));
}

/* A value name of a node's inputs or outputs: hash it now and prefetch its symbol-table
 * slot, so the lookup when the node is complete finds it in cache. */
size_t fe_push_vname(FeParser *P, const FeLoc *l) {
  size_t k = push_item(P, l->text, l->len, TK_ID, fe_loc(l));
  FeItem *it = &P->items.v[k];
  it->hash = ir_name_hash(l->text, l->len);
  it->hashed = true;
  if (P->g) ir_graph_prefetch(P->g, it->hash);
  return k;
}

size_t fe_push_str(FeParser *P, const FeLoc *l) {
  uint32_t len;
  const char *s = name_str(P, l, &len);
  return push_item(P, s, len, TK_STRING, fe_loc(l));
}

size_t fe_push_empty(FeParser *P, const FeLoc *l) {
  return push_item(P, "", 0, TK_ID, fe_loc(l));
}

size_t fe_push_tok(FeParser *P, const FeLoc *l, int tok) {
  return push_item(P, l->text, l->len, tok, fe_loc(l));
}

size_t fe_push_kv(FeParser *P, const FeLoc *k, const FeLoc *v, int vtok) {
  size_t mark = fe_push_str(P, k);
  if (vtok == TK_STRING) {
    size_t len;
    const char *s = unquote(P, v->text, v->len, &len);
    push_item(P, s, (uint32_t)len, TK_STRING, fe_loc(v));
  } else {
    fe_push_tok(P, v, vtok);
  }
  return mark;
}

/* Pop a name into the arena. */
const char *fe_pop_name(FeParser *P) {
  FeItem *it = top_item(P);
  P->items.n--;
  return sdup(P, it->s, it->len);
}

/* The name on top of the stack is a value-info's: give it its type and start. */
void fe_vi_type(FeParser *P, Type *t, const FeLoc *at) {
  FeItem *it = top_item(P);
  it->type = t;
  it->at = fe_loc(at);
}

/* Replace the dotted name items [mark, n) by one item "a.b.c". */
size_t fe_join_push(FeParser *P, size_t mark) {
  size_t total = 0;
  for (size_t i = mark; i < P->items.n; i++) total += P->items.v[i].len + 1;
  char *s = ir_arena_alloc(arena(P), total + 1), *q = s;
  for (size_t i = mark; i < P->items.n; i++) {
    if (i > mark) *q++ = '.';
    memcpy(q, P->items.v[i].s, P->items.v[i].len);
    q += P->items.v[i].len;
  }
  *q = 0;
  SrcLoc loc = P->items.v[mark].loc;
  P->items.n = mark;
  push_item(P, s, (uint32_t)(q - s), TK_ID, loc);
  return mark;
}

/* ------------------------------------------------------------------ headers */

static const char *av_kind_name(int kind) {
  switch (kind) {
  case AV_INT: return "an integer";
  case AV_FLOAT: return "a float";
  case AV_STRING: return "a string";
  case AV_TENSOR: return "a tensor";
  case AV_GRAPH: return "a graph";
  case AV_TYPE: return "a type";
  case AV_REF: return "an attribute reference";
  default: return "a list";
  }
}

/* A header value of the wrong kind. */
static bool want_kind(FeParser *P, const FeAV *v, int kind, const char *key) {
  if (v->kind == kind) return true;
  err(P, v->loc, "'%s' takes %s, not %s", key, kind == AV_LIST ? "a list [...]" : av_kind_name(kind),
      av_kind_name(v->kind));
  return false;
}

static const char *hdr_string(const FeAV *v) {
  return v->u.s.s; /* already in the arena */
}

typedef struct DupOpsets {
  const OpsetImport *ops;
  const SrcLoc *locs;
} DupOpsets;

static void dup_opset(FeParser *P, size_t first, size_t dup, void *ctx) {
  const DupOpsets *c = ctx;
  (void)first;
  err(P, c->locs[dup], "domain \"%s\" is imported twice", c->ops[dup].domain);
}

/* opset_import: [ "domain" : version, ... ] (items from mark, as key/value pairs) */
static void read_opsets(FeParser *P, size_t mark, OpsetImport **out, int *n_out) {
  size_t n = (P->items.n - mark) / 2;
  OpsetImport *ops = n ? ir_arena_alloc(arena(P), n * sizeof *ops) : NULL;
  SrcLoc *locs = malloc(n * sizeof *locs + 1);
  if (!locs) oom();
  int k = 0;
  for (size_t i = 0; i < n; i++) {
    FeItem *key = &P->items.v[mark + 2 * i], *val = key + 1;
    int64_t ver = 0;
    if (val->tok != TK_INT) {
      err(P, val->loc, "an opset version is an integer, not a string");
      continue;
    }
    if (!parse_i64(val->s, val->len, &ver)) {
      err(P, val->loc, "opset version '%.*s' is out of range", (int)val->len, val->s);
      continue;
    }
    ops[k].domain = intern(P, key->s, key->len);
    ops[k].version = ver;
    locs[k] = key->loc;
    k++;
  }
  const void **keys = malloc((size_t)k * sizeof *keys + 1);
  if (!keys) oom();
  for (int i = 0; i < k; i++) keys[i] = ops[i].domain;
  DupOpsets c = {ops, locs};
  dup_scan(P, keys, (size_t)k, dup_opset, &c);
  free(keys);
  free(locs);
  *out = ops;
  *n_out = k;
}

static void read_pairs(FeParser *P, size_t mark, StrPair **out, int *n_out, const char *what) {
  size_t n = (P->items.n - mark) / 2;
  StrPair *ps = n ? ir_arena_alloc(arena(P), n * sizeof *ps) : NULL;
  int k = 0;
  for (size_t i = 0; i < n; i++) {
    FeItem *key = &P->items.v[mark + 2 * i], *val = key + 1;
    if (val->tok != TK_STRING) {
      err(P, val->loc, "%s values are strings: write \"%.*s\"", what, (int)val->len, val->s);
      continue;
    }
    ps[k].key = sdup(P, key->s, key->len);
    ps[k].value = sdup(P, val->s, val->len);
    k++;
  }
  *out = ps;
  *n_out = k;
}

static const char *const model_keys[] = {"ir_version",   "opset_import",  "producer_name",
                                         "producer_version", "domain",    "model_version",
                                         "doc_string",   "metadata_props"};
static const char *const func_keys[] = {"domain", "opset_import", "doc_string", "overload"};

static int find_key(const FeLoc *key, const char *const *keys, int n) {
  for (int i = 0; i < n; i++)
    if (strlen(keys[i]) == key->len && !memcmp(keys[i], key->text, key->len)) return i;
  return -1;
}

static FeAV pop_av(FeParser *P) {
  return P->avs.v[--P->avs.n];
}

void fe_model_key(FeParser *P, const FeLoc *kl) {
  FeAV val = pop_av(P), *v = &val;
  Model *m = P->m;
  int k = find_key(kl, model_keys, 8);
  if (k < 0) {
    err(P, fe_loc(kl),
        "unknown model header key '%.*s' (expected ir_version, opset_import, producer_name, "
        "producer_version, domain, model_version, doc_string or metadata_props)",
        (int)kl->len, kl->text);
  } else if (P->mseen & (1u << k)) {
    err(P, fe_loc(kl), "'%s' is given twice in the model header", model_keys[k]);
  } else {
    P->mseen |= 1u << k;
    const char *key = model_keys[k];
    switch (k) {
    case 0:
    case 5:
      if (want_kind(P, v, AV_INT, key)) {
        if (k == 0) m->has_ir_version = true, m->ir_version = v->u.n.i;
        else m->has_model_version = true, m->model_version = v->u.n.i;
      }
      break;
    case 1:
      if (want_kind(P, v, AV_LIST, key)) read_opsets(P, v->u.mark, &m->opsets, &m->n_opsets);
      break;
    case 7:
      if (want_kind(P, v, AV_LIST, key))
        read_pairs(P, v->u.mark, &m->metadata_props, &m->n_metadata_props, "metadata_props");
      break;
    default:
      if (want_kind(P, v, AV_STRING, key)) {
        const char *s = hdr_string(v);
        if (k == 2) m->producer_name = s;
        else if (k == 3) m->producer_version = s;
        else if (k == 4) m->domain = s;
        else m->doc_string = s;
      }
    }
  }
  if (v->kind == AV_LIST) P->items.n = v->u.mark;
}

void fe_func_key(FeParser *P, const FeLoc *kl) {
  FeAV val = pop_av(P), *v = &val;
  int k = find_key(kl, func_keys, 4);
  if (k < 0) {
    err(P, fe_loc(kl),
        "unknown function header key '%.*s' (expected domain, opset_import, doc_string or overload)",
        (int)kl->len, kl->text);
  } else if (P->fseen & (1u << k)) {
    err(P, fe_loc(kl), "'%s' is given twice in the function header", func_keys[k]);
  } else {
    P->fseen |= 1u << k;
    if (k == 1) {
      if (want_kind(P, v, AV_LIST, func_keys[k])) read_opsets(P, v->u.mark, &P->fh_opsets, &P->fh_n_opsets);
    } else if (want_kind(P, v, AV_STRING, func_keys[k])) {
      const char *s = hdr_string(v);
      if (k == 0) P->fh_domain = s;
      else if (k == 2) P->fh_doc = s;
      else P->fh_overload = s;
    }
  }
  if (v->kind == AV_LIST) P->items.n = v->u.mark;
}

/* ------------------------------------------------------------------ types */

Type *fe_type_tensor(FeParser *P, TypeKind kind, const FeLoc *kw, int64_t shape) {
  Type *t = ir_type_new(arena(P), kind);
  t->elem = ir_elem_from_name(kw->text, kw->len);
  P->last_type = t;
  P->last_bad_dim = ir_noloc;
  if (shape == -2) {
    t->rank = 0;
    return t;
  }
  if (shape == -1) return t; /* rank -1: unknown */
  size_t mark = (size_t)shape, n = P->items.n - mark;
  if (n > 65536) {
    err(P, P->items.v[mark].loc, "too many dimensions (%zu)", n);
    n = 0;
  }
  t->rank = (int)n;
  t->dims = n ? ir_arena_alloc(arena(P), n * sizeof *t->dims) : NULL;
  for (size_t i = 0; i < n; i++) {
    FeItem *it = &P->items.v[mark + i];
    Dim *d = &t->dims[i];
    d->value = -1;
    if (it->tok == TK_INT) {
      int64_t v;
      if (!parse_i64(it->s, it->len, &v)) err(P, it->loc, "dimension '%.*s' is out of range", (int)it->len, it->s);
      else if (v < 0) err(P, it->loc, "dimension %lld is negative (write '?' for an unknown dimension)", (long long)v);
      else d->value = v;
    } else {
      if (it->tok != '?') d->param = intern(P, it->s, it->len);
      if (!P->last_bad_dim.line) P->last_bad_dim = it->loc;
    }
  }
  P->items.n = mark;
  return t;
}

Type *fe_type_inner(FeParser *P, TypeKind kind, Type *inner) {
  Type *t = ir_type_new(arena(P), kind);
  t->inner = inner;
  return t;
}

Type *fe_type_map(FeParser *P, const FeLoc *key, Type *value) {
  Type *t = ir_type_new(arena(P), TYPE_MAP);
  t->elem = ir_elem_from_name(key->text, key->len);
  t->inner = value;
  return t;
}

/* opaque(), opaque(name), opaque(domain, name) */
Type *fe_type_opaque(FeParser *P, size_t mark) {
  Type *t = ir_type_new(arena(P), TYPE_OPAQUE);
  size_t n = P->items.n - mark;
  if (n == 1) t->opaque_name = intern(P, P->items.v[mark].s, P->items.v[mark].len);
  if (n == 2) {
    t->opaque_domain = intern(P, P->items.v[mark].s, P->items.v[mark].len);
    t->opaque_name = intern(P, P->items.v[mark + 1].s, P->items.v[mark + 1].len);
  }
  P->items.n = mark;
  return t;
}

/* "float[2,3]" for messages */
static const char *tensor_str(char *buf, size_t cap, const Tensor *t) {
  int n = snprintf(buf, cap, "%s", ir_elem(t->elem)->name);
  if (t->rank > 0) {
    for (int i = 0; i < t->rank && n > 0 && (size_t)n < cap; i++)
      n += snprintf(buf + n, cap - (size_t)n, "%c%lld", i ? ',' : '[', (long long)t->dims[i]);
    if (n > 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, "]");
  }
  return buf;
}

static const char *kind_str(TypeKind k) {
  switch (k) {
  case TYPE_SEQUENCE: return "a sequence type";
  case TYPE_MAP: return "a map type";
  case TYPE_OPTIONAL: return "an optional type";
  case TYPE_SPARSE: return "a sparse tensor type";
  case TYPE_OPAQUE: return "an opaque type";
  default: return "a tensor type";
  }
}

/* ------------------------------------------------------------------ names and scopes */

static void already_defined(FeParser *P, const char *name, SrcLoc loc) {
  err(P, loc, "'%s' is already defined", name);
  Value *prev = ir_graph_lookup_local(P->g, name);
  if (prev && prev->loc.line) note(P, prev->loc, "'%s' was defined here", name);
}

static uint64_t item_hash(const FeItem *it) {
  return it->hashed ? it->hash : ir_name_hash(it->s, it->len);
}

/* The value the name `it` refers to here (outer scopes included); a forward reference
 * makes an `undefined` placeholder that a later definition takes over. */
static Value *use(FeParser *P, const FeItem *it) {
  uint64_t h = item_hash(it);
  Value *v = ir_graph_lookup_h(P->g, it->s, it->len, h);
  if (v) return v;
  return ir_graph_use_h(P->g, sdup(P, it->s, it->len), h, it->loc);
}

/* Define the name `it` in the current graph; on a duplicate, report it and return a
 * stand-in. */
static Value *def(FeParser *P, const FeItem *it) {
  char *name = sdup(P, it->s, it->len);
  SrcLoc loc = it->loc;
  Value *v = ir_graph_def_h(P->g, name, item_hash(it), loc);
  if (!v) {
    already_defined(P, name, loc);
    v = ir_value_new_anon(P->g, name, NULL);
    v->loc = loc;
  }
  return v;
}

static bool need_name(FeParser *P, const FeItem *n, const char *what) {
  if (n->len) return true;
  err(P, n->loc, "%s needs a name", what);
  return false;
}

/* Give v the declared type t, or check that it agrees with the type it already has. */
static void merge_type(FeParser *P, Value *v, Type *t, SrcLoc loc) {
  if (!t) return;
  if (!v->type) {
    v->type = t;
  } else if (!ir_type_equal(v->type, t)) {
    err(P, loc, "'%s' is declared here with a different type", v->name);
    if (v->loc.line) note(P, v->loc, "'%s' was declared here", v->name);
  }
}

/* ------------------------------------------------------------------ graphs */

void fe_graph_begin(FeParser *P) {
  SrcLoc loc = top_item(P)->loc;
  Graph *g = ir_graph_new(P->m, P->g, fe_pop_name(P));
  g->loc = loc;
  ir_vec_push(P->graphs, g);
  P->g = g;
}

static Value **ptr_values(FeParser *P, size_t from) {
  return P->ptrs.v ? (Value **)(P->ptrs.v + from) : NULL; /* no pointer arithmetic on NULL */
}

static int count(FeParser *P, size_t n, SrcLoc loc, const char *what) {
  if (n > (size_t)INT_MAX) {
    err(P, loc, "too many %s", what);
    return 0;
  }
  return (int)n;
}

Graph *fe_graph_end(FeParser *P, size_t in_mark, size_t out_mark) {
  Graph *g = P->g;
  ir_graph_set_inputs(g, ptr_values(P, in_mark), count(P, out_mark - in_mark, g->loc, "inputs"));
  ir_graph_set_outputs(g, ptr_values(P, out_mark), count(P, P->ptrs.n - out_mark, g->loc, "outputs"));
  P->ptrs.n = in_mark;
  P->g = g->parent;
  return g;
}

void fe_set_main(FeParser *P, Graph *g) {
  P->m->graph = g;
}

static FeItem pop_item(FeParser *P) {
  return P->items.v[--P->items.n];
}

/* A graph or function input "type name" (the value-info on top of the name stack). */
void fe_graph_input(FeParser *P, int with_init) {
  FeItem vi = pop_item(P);
  Value *v;
  if (need_name(P, &vi, "an input")) v = def(P, &vi);
  else v = ir_value_new_anon(P->g, "", NULL);
  v->type = vi.type;
  ir_vec_push(P->ptrs, v);
  if (with_init) {
    P->pend_value = v;
    fe_tensor_begin(P, vi.type, vi.at);
    if (P->pend) P->pend->name = v->name;
  }
}

void fe_graph_output(FeParser *P) {
  FeItem vi = pop_item(P);
  Value *v;
  if (need_name(P, &vi, "an output")) {
    v = use(P, &vi);
    merge_type(P, v, vi.type, vi.at);
  } else {
    v = ir_value_new_anon(P->g, "", vi.type);
  }
  ir_vec_push(P->ptrs, v);
}

void fe_value_info(FeParser *P) {
  FeItem vi = pop_item(P);
  if (!need_name(P, &vi, "a value_info")) return;
  Value *v = use(P, &vi);
  if (v->has_value_info) {
    err(P, vi.loc, "'%s' has two value_info entries", v->name);
    return;
  }
  merge_type(P, v, vi.type, vi.at);
  v->has_value_info = true;
  ir_vec_push(P->g->value_infos, v);
}

/* An entry "type name = data" of the <...> block: an initializer. */
void fe_graph_init_begin(FeParser *P) {
  FeItem vi = pop_item(P);
  Value *v = NULL;
  if (need_name(P, &vi, "an initializer")) {
    v = ir_graph_lookup_local(P->g, cstr(P, vi.s, vi.len));
    if (v && !v->undefined) {
      if (v->init) {
        err(P, vi.loc, "'%s' has two initializers", v->name);
        if (v->init->loc.line) note(P, v->init->loc, "the first one is here");
        v = NULL;
      } else {
        merge_type(P, v, vi.type, vi.at); /* an input that also has an initializer */
      }
    } else {
      v = ir_graph_def(P->g, sdup(P, vi.s, vi.len), vi.loc);
      merge_type(P, v, vi.type, vi.at);
    }
  }
  P->pend_value = v;
  fe_tensor_begin(P, vi.type, vi.at);
  if (P->pend && v) P->pend->name = v->name;
}

void fe_init_attach(FeParser *P) {
  Tensor *t = fe_tensor_take(P);
  Value *v = P->pend_value;
  P->pend_value = NULL;
  if (t && v) {
    v->init = t;
    ir_vec_push(P->g->initializers, v);
  }
}

/* ------------------------------------------------------------------ tensor data */

static void fe_tensor_begin(FeParser *P, Type *t, SrcLoc loc) {
  P->pend = NULL;
  if (!t) {
    err(P, loc, "tensor data needs a tensor type, e.g. 'float[2] w = {1, 2}'");
    return;
  }
  if (t->kind != TYPE_TENSOR) {
    err(P, loc, "tensor data needs a tensor type, not %s", kind_str(t->kind));
    return;
  }
  if (t->rank < 0) {
    err(P, loc, "tensor data needs a shape, but '%s[]' has an unknown rank", ir_elem(t->elem)->name);
    return;
  }
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i].param || t->dims[i].value < 0) {
      SrcLoc at = P->last_type == t && P->last_bad_dim.line ? P->last_bad_dim : loc;
      err(P, at, "tensor data needs numeric dimensions, but dimension %d is '%s'", i,
          t->dims[i].param ? t->dims[i].param : "?");
      return;
    }
  Tensor *T = ir_tensor_new(arena(P), t->elem, 0, NULL);
  T->rank = t->rank;
  T->dims = t->rank ? ir_arena_alloc(arena(P), (size_t)t->rank * sizeof *T->dims) : NULL;
  for (int i = 0; i < t->rank; i++) T->dims[i] = t->dims[i].value;
  T->loc = loc;
  uint64_t n;
  size_t nbytes;
  if (!ir_tensor_numel(T, &n) || !ir_elem_nbytes(T->elem, n, &nbytes)) {
    err(P, loc, "tensor is too large");
    return;
  }
  bool cplx = T->elem == ELEM_COMPLEX64 || T->elem == ELEM_COMPLEX128;
  P->want = cplx ? 2 * n : n;
  P->count = 0;
  P->pend = T;
}

void fe_tensor_begin_attr(FeParser *P, Type *t, const FeLoc *at) {
  fe_tensor_begin(P, t, fe_loc(at));
}

void fe_tensor_name(FeParser *P, const FeLoc *name) {
  if (P->pend) P->pend->name = sdup(P, name->text, name->len);
}

static Tensor *fe_tensor_take(FeParser *P) {
  Tensor *t = P->pend;
  P->pend = NULL;
  return t;
}

void fe_data_open(FeParser *P, const FeLoc *open) {
  (void)open;
  P->count = 0;
  P->too_many = false;
  P->data_errs = P->d->errors;
}

static uint8_t *data_room(FeParser *P, size_t need) {
  if (need > P->dcap) {
    size_t c = P->dcap ? P->dcap : 256;
    while (c < need) {
      if (c > SIZE_MAX / 2) oom();
      c *= 2;
    }
    uint8_t *d = realloc(P->data, c);
    if (!d) oom();
    P->data = d;
    P->dcap = c;
  }
  return P->data;
}

/* The range of integers each int32_data type holds (16-bit and 8-bit floats are written as
 * their bit patterns, as ONNX's printer does). */
static void int_range(ElemType e, int64_t *lo, int64_t *hi) {
  switch (e) {
  case ELEM_INT8: *lo = INT8_MIN, *hi = INT8_MAX; break;
  case ELEM_INT16: *lo = INT16_MIN, *hi = INT16_MAX; break;
  case ELEM_INT32: *lo = INT32_MIN, *hi = INT32_MAX; break;
  case ELEM_INT4: *lo = -8, *hi = 7; break;
  case ELEM_INT2: *lo = -2, *hi = 1; break;
  case ELEM_BOOL: *lo = 0, *hi = 1; break;
  case ELEM_UINT16: case ELEM_FLOAT16: case ELEM_BFLOAT16: *lo = 0, *hi = UINT16_MAX; break;
  case ELEM_UINT4: case ELEM_FLOAT4E2M1: *lo = 0, *hi = 15; break;
  case ELEM_UINT2: *lo = 0, *hi = 3; break;
  default: *lo = 0, *hi = UINT8_MAX; break; /* uint8, float8 kinds, e8m0 */
  }
}

void fe_data_value(FeParser *P, const FeLoc *l, int tok) {
  Tensor *T = P->pend;
  if (!T) return;
  SrcLoc loc = fe_loc(l);
  char tb[96];
  if (P->count >= P->want) {
    if (!P->too_many)
      err(P, loc, "too many values: %s holds %llu %s", tensor_str(tb, sizeof tb, T),
          (unsigned long long)P->want, T->elem == ELEM_COMPLEX64 || T->elem == ELEM_COMPLEX128 ? "numbers (real, imaginary pairs)" : "values");
    P->too_many = true;
    P->count++;
    return;
  }
  size_t i = (size_t)P->count;
  ElemType e = T->elem;
  const char *tn = ir_elem(e)->name;
  switch (e) {
  case ELEM_FLOAT:
  case ELEM_COMPLEX64: {
    float f;
    if (tok == TK_STRING) {
      err(P, loc, "%s data are numbers, not strings", tn);
    } else if (!parse_f32(P, l->text, l->len, &f)) {
      err(P, loc, "value %.*s is out of range for float", (int)l->len, l->text);
    } else {
      uint32_t b;
      memcpy(&b, &f, 4);
      put_le(data_room(P, (i + 1) * 4) + i * 4, b, 4);
    }
    break;
  }
  case ELEM_DOUBLE:
  case ELEM_COMPLEX128: {
    double f;
    if (tok == TK_STRING) {
      err(P, loc, "%s data are numbers, not strings", tn);
    } else if (!parse_f64(P, l->text, l->len, &f)) {
      err(P, loc, "value %.*s is out of range for double", (int)l->len, l->text);
    } else {
      uint64_t b;
      memcpy(&b, &f, 8);
      put_le(data_room(P, (i + 1) * 8) + i * 8, b, 8);
    }
    break;
  }
  case ELEM_STRING: {
    if (tok != TK_STRING) {
      err(P, loc, "string data are written in quotes, e.g. \"%.*s\"", (int)l->len, l->text);
      break;
    }
    size_t len;
    const char *s = unquote(P, l->text, l->len, &len);
    IrStr str = ir_str(arena(P), s, len);
    memcpy(data_room(P, (i + 1) * sizeof str) + i * sizeof str, &str, sizeof str);
    break;
  }
  case ELEM_UINT32:
  case ELEM_UINT64: {
    uint64_t u;
    bool ok = tok == TK_INT && parse_u64(l->text, l->len, &u);
    if (tok != TK_INT) err(P, loc, "%s data are integers", tn);
    else if (!ok || (e == ELEM_UINT32 && u > UINT32_MAX))
      err(P, loc, "value %.*s is out of range for %s (0 to %s)", (int)l->len, l->text, tn,
          e == ELEM_UINT32 ? "4294967295" : "18446744073709551615");
    else if (e == ELEM_UINT32) put_le(data_room(P, (i + 1) * 4) + i * 4, u, 4);
    else put_le(data_room(P, (i + 1) * 8) + i * 8, u, 8);
    break;
  }
  case ELEM_INT64: {
    int64_t v;
    if (tok != TK_INT) err(P, loc, "int64 data are integers");
    else if (!parse_i64(l->text, l->len, &v)) err(P, loc, "value %.*s is out of range for int64", (int)l->len, l->text);
    else put_le(data_room(P, (i + 1) * 8) + i * 8, (uint64_t)v, 8);
    break;
  }
  default: {
    int64_t v, lo, hi;
    int bits = ir_elem(e)->bits;
    int_range(e, &lo, &hi);
    bool isf = ir_elem(e)->is_float;
    if (tok != TK_INT) {
      err(P, loc, "%s data are integers%s", tn, isf ? " (the bit patterns of the values)" : "");
    } else if (!parse_i64(l->text, l->len, &v) || v < lo || v > hi) {
      err(P, loc, "value %.*s is out of range for %s (%lld to %lld%s)", (int)l->len, l->text, tn,
          (long long)lo, (long long)hi, isf ? ", a bit pattern" : "");
    } else if (bits >= 8) {
      put_le(data_room(P, (i + 1) * (size_t)(bits / 8)) + i * (size_t)(bits / 8), (uint64_t)v, bits / 8);
    } else {
      size_t per = 8 / (size_t)bits, byte = i / per, sh = (i % per) * (size_t)bits;
      uint8_t *d = data_room(P, byte + 1);
      if (i % per == 0) d[byte] = 0;
      d[byte] = (uint8_t)(d[byte] | (((uint64_t)v & ((1u << bits) - 1)) << sh));
    }
  }
  }
  P->count++;
}

void fe_data_close(FeParser *P, const FeLoc *close) {
  Tensor *T = P->pend;
  if (!T) return;
  char tb[96];
  if (P->count < P->want) {
    bool cplx = T->elem == ELEM_COMPLEX64 || T->elem == ELEM_COMPLEX128;
    err(P, fe_loc(close), "too few values: %s needs %llu %s, found %llu", tensor_str(tb, sizeof tb, T),
        (unsigned long long)P->want, cplx ? "numbers (real, imaginary pairs)" : "values",
        (unsigned long long)P->count);
    return;
  }
  if (P->too_many || P->d->errors != P->data_errs) return; /* a bad value: no data */
  uint64_t n;
  size_t nbytes;
  ir_tensor_numel(T, &n);
  ir_elem_nbytes(T->elem, n, &nbytes);
  if (nbytes >= 65536) {
    /* hand the buffer over instead of copying it */
    ir_model_own(P->m, P->data, P->dcap, free);
    T->data = P->data;
    P->data = NULL;
    P->dcap = 0;
  } else {
    T->data = ir_arena_dup(arena(P), nbytes ? (const void *)P->data : (const void *)"", nbytes);
  }
  T->nbytes = nbytes;
  T->has_data = true;
}

void fe_data_external(FeParser *P, const FeLoc *open, size_t n_pairs) {
  (void)open;
  size_t mark = P->items.n - 2 * n_pairs;
  Tensor *T = P->pend;
  if (T) read_pairs(P, mark, &T->external, &T->n_external, "external data");
  P->items.n = mark;
}

/* ------------------------------------------------------------------ attributes */

static FeAV *push_av(FeParser *P, int kind, const FeLoc *l) {
  if (P->avs.n == P->avs.cap) ir_vec_grow_((void **)&P->avs.v, &P->avs.cap, P->avs.n + 1, sizeof *P->avs.v);
  FeAV *v = &P->avs.v[P->avs.n++];
  memset(v, 0, sizeof *v);
  v->kind = kind;
  v->loc = fe_loc(l);
  return v;
}

void fe_av_int(FeParser *P, const FeLoc *l) {
  FeAV *v = push_av(P, AV_INT, l);
  v->u.n.text = l->text;
  v->u.n.len = l->len;
  if (!parse_i64(l->text, l->len, &v->u.n.i)) err(P, v->loc, "integer %.*s is out of range for int64", (int)l->len, l->text);
}

void fe_av_float(FeParser *P, const FeLoc *l) {
  FeAV *v = push_av(P, AV_FLOAT, l);
  if (!parse_f32(P, l->text, l->len, &v->u.f)) err(P, v->loc, "value %.*s is out of range for float", (int)l->len, l->text);
}

void fe_av_string(FeParser *P, const FeLoc *l) {
  size_t len;
  const char *s = unquote(P, l->text, l->len, &len);
  push_av(P, AV_STRING, l)->u.s = ir_str(arena(P), s, len);
}

void fe_av_type(FeParser *P, Type *t, const FeLoc *l) {
  push_av(P, AV_TYPE, l)->u.tp = t;
}

void fe_av_tensor(FeParser *P, const FeLoc *l) {
  Tensor *t = fe_tensor_take(P);
  push_av(P, AV_TENSOR, l)->u.t = t;
}

void fe_av_graph(FeParser *P, Graph *g, const FeLoc *l) {
  push_av(P, AV_GRAPH, l)->u.g = g;
}

void fe_av_ref(FeParser *P, const FeLoc *at) {
  const char *name = fe_pop_name(P);
  push_av(P, AV_REF, at)->u.ref = name;
}

/* A list value: attribute lists have their `count` elements on the value stack below it;
 * header lists have `count` key/value pairs on the name stack. */
void fe_av_list(FeParser *P, const FeLoc *open, size_t count, int items) {
  size_t mark = items ? P->items.n - 2 * count : P->avs.n - count;
  push_av(P, AV_LIST, open)->u.mark = mark;
}

AttrType fe_attr_type(FeParser *P, const FeLoc *l) {
  AttrType t = ir_attr_type_from_name(l->text, l->len);
  if (t == ATTR_UNDEFINED)
    err(P, fe_loc(l),
        "unknown attribute type '%.*s' (expected float, int, string, tensor, graph, type_proto, "
        "sparse_tensor, or a plural: floats, ints, ...)",
        (int)l->len, l->text);
  return t;
}

static AttrType av_attr_type(int kind) {
  switch (kind) {
  case AV_INT: return ATTR_INT;
  case AV_FLOAT: return ATTR_FLOAT;
  case AV_STRING: return ATTR_STRING;
  case AV_TENSOR: return ATTR_TENSOR;
  case AV_GRAPH: return ATTR_GRAPH;
  case AV_TYPE: return ATTR_TYPE_PROTO;
  default: return ATTR_UNDEFINED;
  }
}

static AttrType singular(AttrType t) {
  switch (t) {
  case ATTR_FLOATS: return ATTR_FLOAT;
  case ATTR_INTS: return ATTR_INT;
  case ATTR_STRINGS: return ATTR_STRING;
  case ATTR_TENSORS: return ATTR_TENSOR;
  case ATTR_GRAPHS: return ATTR_GRAPH;
  case ATTR_SPARSE_TENSORS: return ATTR_SPARSE_TENSOR;
  case ATTR_TYPE_PROTOS: return ATTR_TYPE_PROTO;
  default: return t;
  }
}

static AttrType plural(AttrType t) {
  switch (t) {
  case ATTR_FLOAT: return ATTR_FLOATS;
  case ATTR_INT: return ATTR_INTS;
  case ATTR_STRING: return ATTR_STRINGS;
  case ATTR_TENSOR: return ATTR_TENSORS;
  case ATTR_GRAPH: return ATTR_GRAPHS;
  case ATTR_SPARSE_TENSOR: return ATTR_SPARSE_TENSORS;
  case ATTR_TYPE_PROTO: return ATTR_TYPE_PROTOS;
  default: return t;
  }
}

static bool is_plural(AttrType t) {
  return singular(t) != t;
}

/* An integer literal where a float is expected: read its text as a float (so "-0" keeps its
 * sign, and rounding is strtof's). */
static float int_as_float(FeParser *P, const FeAV *v) {
  float f;
  return parse_f32(P, v->u.n.text, v->u.n.len, &f) ? f : (float)v->u.n.i;
}

/* Store the scalar value v (already checked against type `as`) into a. */
static void set_scalar(FeParser *P, Attr *a, AttrType as, const FeAV *v) {
  a->type = as;
  switch (as) {
  case ATTR_FLOAT: a->f = v->kind == AV_INT ? int_as_float(P, v) : v->u.f; break;
  case ATTR_INT: a->i = v->u.n.i; break;
  case ATTR_STRING: a->s = v->u.s; break;
  case ATTR_TENSOR: a->t = v->u.t; break;
  case ATTR_GRAPH: a->g = v->u.g; break;
  case ATTR_TYPE_PROTO: a->tp = v->u.tp; break;
  default: break;
  }
}

/* A list value: the element type comes from the annotation, else from the first element;
 * an integer is accepted where floats are expected ("[0.5, 1]"), nothing else mixes. */
static void build_list(FeParser *P, Attr *a, AttrType ann, const FeAV *lv) {
  size_t mark = lv->u.mark, n = P->avs.n - mark;
  FeAV *e = P->avs.v ? P->avs.v + mark : NULL;
  if (n == 0) {
    if (ann == ATTR_UNDEFINED)
      err(P, lv->loc, "an empty list needs a type annotation, e.g. '%s: ints = []'", a->name);
    else if (!is_plural(ann))
      err(P, lv->loc, "'%s' is not a list type; an empty list needs one such as '%ss'",
          ir_attr_type_name(ann), ir_attr_type_name(ann));
    a->type = ann;
    return;
  }
  AttrType et = ann != ATTR_UNDEFINED ? singular(ann) : av_attr_type(e[0].kind);
  Arena *A = arena(P);
  a->type = plural(et);
  a->n = n;
  switch (et) {
  case ATTR_FLOAT: a->floats = ir_arena_alloc(A, n * sizeof *a->floats); break;
  case ATTR_INT: a->ints = ir_arena_alloc(A, n * sizeof *a->ints); break;
  case ATTR_STRING: a->strings = ir_arena_alloc(A, n * sizeof *a->strings); break;
  case ATTR_TENSOR: a->tensors = ir_arena_alloc(A, n * sizeof *a->tensors); break;
  case ATTR_GRAPH: a->graphs = ir_arena_alloc(A, n * sizeof *a->graphs); break;
  case ATTR_TYPE_PROTO: a->types = ir_arena_alloc(A, n * sizeof *a->types); break;
  default:
    if (e[0].kind == AV_REF) err(P, e[0].loc, "an attribute reference cannot be a list element");
    else err(P, e[0].loc, "a list of %ss has no text form", ir_attr_type_name(et) ? ir_attr_type_name(et) : "?");
    a->n = 0;
    P->avs.n = mark;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    AttrType k = av_attr_type(e[i].kind);
    if (e[i].kind == AV_REF) {
      err(P, e[i].loc, "an attribute reference cannot be a list element");
    } else if (k != et && !(et == ATTR_FLOAT && k == ATTR_INT)) {
      err(P, e[i].loc, "list elements must all be %ss, but this one is %s", ir_attr_type_name(et),
          av_kind_name(e[i].kind));
    } else {
      switch (et) {
      case ATTR_FLOAT: a->floats[i] = k == ATTR_INT ? int_as_float(P, &e[i]) : e[i].u.f; break;
      case ATTR_INT: a->ints[i] = e[i].u.n.i; break;
      case ATTR_STRING: a->strings[i] = e[i].u.s; break;
      case ATTR_TENSOR: a->tensors[i] = e[i].u.t; break;
      case ATTR_GRAPH: a->graphs[i] = e[i].u.g; break;
      default: a->types[i] = e[i].u.tp; break;
      }
    }
  }
  P->avs.n = mark;
}

/* Build an attribute from its name, its annotation and the value on top of the value stack. */
static void make_attr(FeParser *P, Attr *a, const char *name, SrcLoc loc, AttrType ann) {
  FeAV val = pop_av(P), *v = &val;
  memset(a, 0, sizeof *a);
  a->name = name;
  a->loc = loc;
  if (v->kind == AV_REF) {
    if (ann == ATTR_UNDEFINED)
      err(P, v->loc, "a reference '@%s' needs the attribute's type: write '%s: <type> = @%s'", v->u.ref,
          a->name, v->u.ref);
    a->type = ann;
    a->ref_attr_name = v->u.ref;
  } else if (v->kind == AV_LIST) {
    build_list(P, a, ann, v);
  } else {
    AttrType k = av_attr_type(v->kind);
    if (ann == ATTR_UNDEFINED || ann == k) {
      set_scalar(P, a, k, v);
    } else if (ann == ATTR_FLOAT && k == ATTR_INT) {
      set_scalar(P, a, ATTR_FLOAT, v);
    } else {
      err(P, v->loc, "attribute '%s' is declared '%s' but its value is %s%s", a->name,
          ir_attr_type_name(ann) ? ir_attr_type_name(ann) : "?", av_kind_name(v->kind),
          is_plural(ann) && (singular(ann) == k || (singular(ann) == ATTR_FLOAT && k == ATTR_INT))
              ? " (write a list: [...])"
              : "");
      set_scalar(P, a, k, v);
    }
  }
}

static Attr *push_attr(FeParser *P) {
  if (P->attrs.n == P->attrs.cap) ir_vec_grow_((void **)&P->attrs.v, &P->attrs.cap, P->attrs.n + 1, sizeof *P->attrs.v);
  return &P->attrs.v[P->attrs.n++];
}

void fe_attr_push(FeParser *P, const FeLoc *name, AttrType ann) {
  const char *nm = intern(P, name->text, name->len);
  make_attr(P, push_attr(P), nm, fe_loc(name), ann);
}

/* A function attribute parameter: its (quotable) name is on the name stack; with a default,
 * the value is on the value stack. A parameter without a default keeps type UNDEFINED. */
void fe_param_push(FeParser *P, AttrType ann, int has_default) {
  FeItem it = pop_item(P);
  const char *nm = intern(P, it.s, it.len);
  Attr *a = push_attr(P);
  if (has_default) {
    make_attr(P, a, nm, it.loc, ann);
  } else {
    memset(a, 0, sizeof *a);
    a->name = nm;
    a->loc = it.loc;
  }
}

typedef struct DupAttrs {
  const Attr *a;
  const char *what;
} DupAttrs;

static void dup_attr(FeParser *P, size_t first, size_t dup, void *ctx) {
  const DupAttrs *c = ctx;
  err(P, c->a[dup].loc, "duplicate %s '%s'", c->what, c->a[dup].name);
  note(P, c->a[first].loc, "'%s' is first given here", c->a[first].name);
}

static void check_dup_attrs(FeParser *P, const Attr *a, size_t n, const char *what) {
  if (n < 2) return;
  const void **keys = malloc(n * sizeof *keys);
  if (!keys) oom();
  for (size_t i = 0; i < n; i++) keys[i] = a[i].name; /* interned */
  DupAttrs c = {a, what};
  dup_scan(P, keys, n, dup_attr, &c);
  free(keys);
}

/* ------------------------------------------------------------------ nodes */

/* Outputs (n_out names) and the dotted operator name (n_seg names) are on the name stack. */
void fe_node_head(FeParser *P, const char *label, const FeLoc *lbl, size_t n_out, const FeLoc *eq,
                  size_t n_seg, const FeLoc *overload) {
  FeItem *seg = P->items.v + P->items.n - n_seg;
  size_t out_mark = P->items.n - n_seg - n_out;
  FeHead h;
  h.domain = "";
  if (n_seg > 1) { /* the domain is everything before the last '.' */
    size_t total = 0;
    for (size_t i = 0; i + 1 < n_seg; i++) total += seg[i].len + 1;
    char *s = tmp_room(P, total), *q = s;
    for (size_t i = 0; i + 1 < n_seg; i++) {
      if (i) *q++ = '.';
      memcpy(q, seg[i].s, seg[i].len);
      q += seg[i].len;
    }
    h.domain = intern(P, s, (size_t)(q - s));
  }
  h.op = intern(P, seg[n_seg - 1].s, seg[n_seg - 1].len);
  h.overload = overload ? sdup(P, overload->text, overload->len) : NULL;
  h.name = label;
  h.loc = label ? fe_loc(lbl) : n_out ? P->items.v[out_mark].loc : fe_loc(eq);
  h.out_mark = out_mark;
  h.n_out = n_out;
  P->items.n = out_mark + n_out;
  ir_vec_push(P->heads, h);
}

/* The node is complete: its n_in inputs are on top of the name stack (its outputs below
 * them), its n_attrs attributes on top of the attribute stack. */
void fe_node(FeParser *P, size_t n_in_, size_t n_attrs) {
  Graph *g = P->g;
  FeHead h = P->heads.v[--P->heads.n];
  size_t in_mark = P->items.n - n_in_;
  int n_out = count(P, h.n_out, h.loc, "outputs");
  int n_in = count(P, n_in_, h.loc, "inputs");
  Node *n = ir_node_new(g, h.domain, h.op, n_in, n_out);
  n->loc = h.loc;
  n->name = h.name;
  n->overload = h.overload;
  for (int i = 0; i < n_in; i++) {
    FeItem *it = &P->items.v[in_mark + (size_t)i];
    ir_node_set_input(n, i, it->len ? use(P, it) : NULL);
  }
  if (n_attrs) {
    size_t at_mark = P->attrs.n - n_attrs;
    n->n_attrs = count(P, n_attrs, h.loc, "attributes");
    n->attrs = ir_arena_dup(arena(P), P->attrs.v + at_mark, (size_t)n->n_attrs * sizeof(Attr));
    check_dup_attrs(P, n->attrs, (size_t)n->n_attrs, "attribute");
    for (int k = 0; k < n->n_attrs; k++) {
      Attr *a = &n->attrs[k];
      if (a->ref_attr_name) continue; /* the value members share storage: test the type */
      if (a->type == ATTR_GRAPH && a->g) a->g->parent_node = n;
      if (a->type == ATTR_GRAPHS)
        for (size_t j = 0; a->graphs && j < a->n; j++)
          if (a->graphs[j]) a->graphs[j]->parent_node = n;
    }
    P->attrs.n = at_mark;
  }
  for (int i = 0; i < n_out; i++) {
    FeItem *it = &P->items.v[h.out_mark + (size_t)i];
    ir_node_set_output(n, i, it->len ? def(P, it) : NULL);
  }
  ir_node_append(g, n);
  P->items.n = h.out_mark;
}

/* ------------------------------------------------------------------ functions */

void fe_func_begin(FeParser *P) {
  Function *f = ir_arena_alloc(arena(P), sizeof *f);
  f->loc = top_item(P)->loc;
  f->name = fe_pop_name(P);
  Graph *body = ir_graph_new(P->m, NULL, f->name);
  body->function = f;
  body->loc = f->loc;
  ir_vec_push(P->graphs, body);
  f->body = body;
  P->fn = f;
  P->g = body;
}

void fe_func_end(FeParser *P, size_t np, size_t in_mark, size_t out_mark) {
  Function *f = P->fn;
  Graph *b = P->g;
  Arena *A = arena(P);
  ir_graph_set_inputs(b, ptr_values(P, in_mark), count(P, out_mark - in_mark, f->loc, "inputs"));
  ir_graph_set_outputs(b, ptr_values(P, out_mark), count(P, P->ptrs.n - out_mark, f->loc, "outputs"));
  P->ptrs.n = in_mark;
  /* attribute parameters: bare names, or name: type = default */
  size_t attr_mark = P->attrs.n - np;
  Attr *pa = P->attrs.v ? P->attrs.v + attr_mark : NULL;
  check_dup_attrs(P, pa, np, "attribute parameter");
  if (np) {
    f->attr_order = ir_arena_alloc(A, np * sizeof *f->attr_order);
    f->attr_names = ir_arena_alloc(A, np * sizeof *f->attr_names);
    f->attr_defaults = ir_arena_alloc(A, np * sizeof *f->attr_defaults);
  }
  for (size_t i = 0; i < np; i++) {
    if (pa[i].type == ATTR_UNDEFINED && !pa[i].ref_attr_name) {
      f->attr_order[i] = f->n_attr_names;
      f->attr_names[f->n_attr_names++] = pa[i].name;
    } else {
      f->attr_order[i] = ~f->n_attr_defaults;
      f->attr_defaults[f->n_attr_defaults++] = pa[i];
    }
  }
  f->n_attr_order = (int)np;
  P->attrs.n = attr_mark;
  /* header */
  f->domain = P->fh_domain ? P->fh_domain : "";
  f->overload = P->fh_overload;
  f->doc_string = P->fh_doc;
  f->opsets = P->fh_opsets;
  f->n_opsets = P->fh_n_opsets;
  P->fh_domain = P->fh_overload = P->fh_doc = NULL;
  P->fh_opsets = NULL;
  P->fh_n_opsets = 0;
  P->fseen = 0;
  /* (domain, name, overload) must be unique: key them by one interned string */
  size_t ld = strlen(f->domain), ln = strlen(f->name), lo = f->overload ? strlen(f->overload) : 0;
  char *key = tmp_room(P, ld + ln + lo + 3);
  memcpy(key, f->domain, ld);
  key[ld] = 1;
  memcpy(key + ld + 1, f->name, ln);
  key[ld + 1 + ln] = 1;
  if (lo) memcpy(key + ld + ln + 2, f->overload, lo);
  ir_vec_push(P->fns, f);
  ir_vec_push(P->fn_keys, intern_slow(P, key, ld + ln + lo + 2)); /* checked in fe_parse */
  P->g = NULL;
  P->fn = NULL;
}

static void dup_function(FeParser *P, size_t first, size_t dup, void *ctx) {
  (void)ctx;
  const Function *f = P->fns.v[dup];
  err(P, f->loc, "function '%s%s%s' is defined twice", f->domain, *f->domain ? "." : "", f->name);
  note(P, P->fns.v[first]->loc, "the first definition is here");
}

/* ------------------------------------------------------------------ errors */

/* The token at `l` as the user wrote it, for "but found ...". */
static void describe(char *out, size_t cap, const FeLoc *l) {
  size_t n = l->len, o = 0;
  bool cut = n > 32;
  if (cut) n = 29;
  out[o++] = '\'';
  for (size_t i = 0; i < n && o + 6 < cap; i++) {
    unsigned char c = (unsigned char)l->text[i];
    if (c >= 0x20 && c < 0x7f) out[o++] = (char)c;
    else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
  }
  if (cut && o + 4 < cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o++] = '\'';
  out[o] = 0;
}

void fe_syntax_error(FeParser *P, const FeLoc *at, int found, const char *const *expected, int n) {
  char what[160], msg[640];
  if (found == 1) snprintf(what, sizeof what, "end of input");
  else describe(what, sizeof what, at);
  if (found == 2) {
    if (P->lex.show) err(P, fe_loc(at), "%s: %s", P->lex.msg, what);
    else err(P, fe_loc(at), "%s", P->lex.msg ? P->lex.msg : "invalid token");
    return;
  }
  if (n == 0 || n > 8) {
    err(P, fe_loc(at), "unexpected %s", what);
    return;
  }
  size_t o = (size_t)snprintf(msg, sizeof msg, "expected ");
  for (int i = 0; i < n && o < sizeof msg; i++)
    o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", expected[i]);
  err(P, fe_loc(at), "%s but found %s", msg, what);
}

void fe_parser_error(FeParser *P, const FeLoc *at, const char *msg) {
  if (!strcmp(msg, "memory exhausted"))
    err(P, fe_loc(at), "nesting too deep (the parser's stack limit is reached)");
  else
    err(P, fe_loc(at), "%s", msg);
}

_Noreturn void fe_lex_fatal(yyscan_t scanner, const char *msg) {
  FeParser *P = (FeParser *)fe_yyget_extra(scanner);
  err(P, ir_noloc, "%s: internal lexer error: %s", P->d->file ? P->d->file : "<text>", msg);
  longjmp(P->jb, 1);
}

/* ------------------------------------------------------------------ entry point */

static int run(FeParser *P) {
  if (setjmp(P->jb)) return 1;
  if (fe_yylex_init_extra(&P->lex, &P->scanner)) oom();
  return fe_yyparse(P, P->scanner);
}

Model *fe_parse(const char *path, const char *text, size_t len, Diag *d) {
  if (len > (size_t)INT_MAX - 2) {
    ir_error(d, ir_noloc, "%s: too large for the text parser (%zu bytes; the limit is 2 GB)", path, len);
    return NULL;
  }
  FeParser *P = calloc(1, sizeof *P);
  if (!P) oom();
  const char *saved_src = d->src, *saved_file = d->file;
  size_t saved_len = d->src_len;
  if (!d->src) {
    d->src = text;
    d->src_len = len;
  }
  if (!d->file) d->file = path;
  P->d = d;
  P->errors0 = d->errors;
  P->m = ir_model_new();
  P->lex.src = text;
  P->lex.len = len;
  P->lex.line = 1;
  P->lex.line_start = text;
  FeParser *outer = fe_cur;
  fe_cur = P;
  int rc = run(P);
  if (rc == 0) dup_scan(P, (const void *const *)P->fn_keys.v, P->fn_keys.n, dup_function, NULL);
  if (P->scanner) fe_yylex_destroy(P->scanner);
  for (size_t i = 0; i < P->stacks.n; i++) free(P->stacks.v[i]);
  fe_cur = outer;
  Model *m = P->m;
  if (rc == 0 && d->errors == P->errors0 && m->graph) {
    if (P->fns.n) {
      m->functions = ir_arena_dup(&m->arena, P->fns.v, P->fns.n * sizeof *P->fns.v);
      m->n_functions = (int)P->fns.n;
    }
  } else {
    if (rc == 0 && d->errors == P->errors0) ir_error(d, ir_noloc, "%s: no graph", path);
    ir_model_free(m); /* frees every graph made so far, attached or not (m->all_graphs) */
    m = NULL;
  }
  ir_vec_free(P->items);
  ir_vec_free(P->ptrs);
  ir_vec_free(P->attrs);
  ir_vec_free(P->avs);
  ir_vec_free(P->heads);
  ir_vec_free(P->graphs);
  ir_vec_free(P->fns);
  ir_vec_free(P->fn_keys);
  ir_vec_free(P->stacks);
  free(P->data);
  free(P->tmp);
  free(P->intern);
  d->src = saved_src;
  d->src_len = saved_len;
  d->file = saved_file;
  free(P);
  if (m) ir_bind_ops(m);
  return m;
}

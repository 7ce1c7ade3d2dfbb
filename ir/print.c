/* print.c - the canonical ONNX text printer: ONNX's textual syntax laid out the way ONNX's
 * own printer (onnx/defs/printer.cc) lays it out, with exact float round trips, full data for
 * every element type, and warnings for fields the text cannot express. Iterative: nested
 * subgraphs use an explicit frame stack, never the C stack. */
#include "ir.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ output buffer */

/* Fields the text cannot express, reported once per kind at the end of ir_print_model. */
enum {
  LOST_MODEL_EXTRA,
  LOST_FUNC_META,
  LOST_FUNC_EXTRA,
  LOST_FUNC_INIT,
  LOST_GRAPH_DOC,
  LOST_GRAPH_META,
  LOST_GRAPH_EXTRA,
  LOST_NODE_DOC,
  LOST_NODE_META,
  LOST_NODE_EXTRA,
  LOST_ATTR_DOC,
  LOST_ATTR_EXTRA,
  LOST_ATTR_SPARSE,
  LOST_ATTR_UNTYPED,
  LOST_VALUE_DOC,
  LOST_VALUE_META,
  LOST_VALUE_EXTRA,
  LOST_SPARSE_INIT,
  LOST_TENSOR_DOC,
  LOST_TENSOR_META,
  LOST_TENSOR_EXTRA,
  LOST_DENOTATION,
  LOST_BAD_NAME,
  LOST_COUNT
};

static const char *const lost_what[LOST_COUNT] = {
    [LOST_MODEL_EXTRA] = "ModelProto fields unknown to effc (training_info, ...)",
    [LOST_FUNC_META] = "function metadata_props",
    [LOST_FUNC_EXTRA] = "FunctionProto fields unknown to effc",
    [LOST_FUNC_INIT] = "an initializer inside a function body",
    [LOST_GRAPH_DOC] = "a graph doc_string",
    [LOST_GRAPH_META] = "graph metadata_props",
    [LOST_GRAPH_EXTRA] = "GraphProto fields unknown to effc (quantization_annotation, ...)",
    [LOST_NODE_DOC] = "a node doc_string",
    [LOST_NODE_META] = "node metadata_props",
    [LOST_NODE_EXTRA] = "NodeProto fields unknown to effc (device_configurations, ...)",
    [LOST_ATTR_DOC] = "an attribute doc_string",
    [LOST_ATTR_EXTRA] = "AttributeProto fields unknown to effc",
    [LOST_ATTR_SPARSE] = "a sparse tensor attribute",
    [LOST_ATTR_UNTYPED] = "an attribute without a valid type",
    [LOST_VALUE_DOC] = "a value doc_string",
    [LOST_VALUE_META] = "value metadata_props",
    [LOST_VALUE_EXTRA] = "ValueInfoProto fields unknown to effc",
    [LOST_SPARSE_INIT] = "a sparse initializer",
    [LOST_TENSOR_DOC] = "a tensor doc_string",
    [LOST_TENSOR_META] = "tensor metadata_props",
    [LOST_TENSOR_EXTRA] = "TensorProto fields unknown to effc (segment, ...)",
    [LOST_DENOTATION] = "a type or dimension denotation",
    [LOST_BAD_NAME] = "a name that is not an identifier in a place that takes only identifiers",
};

typedef struct Lost {
  size_t count;
  SrcLoc loc;
  char where[96];
} Lost;

#define OUTBUF (1 << 16)

typedef struct Printer {
  FILE *out; /* NULL: into mem (ir_type_to_str) */
  char *mem;
  size_t memcap, memlen;
  size_t n;
  bool err;
  bool track; /* record lost fields (ir_print_model only) */
  Lost lost[LOST_COUNT];
  char *buf;
  size_t cap;
  /* float32 texts printed lately, by bit pattern: attribute values (alpha, epsilon, ...)
   * repeat node after node, and finding the shortest text costs a microsecond */
  struct FCache {
    uint32_t bits;
    uint32_t len; /* 0 = empty */
    char s[24];
  } fcache[64];
} Printer;

static void p_init(Printer *p, FILE *out, bool track, char *buf, size_t cap) {
  p->out = out;
  p->buf = buf;
  p->cap = cap;
  p->mem = NULL;
  p->memcap = p->memlen = 0;
  p->n = 0;
  p->err = false;
  p->track = track;
  if (track) memset(p->lost, 0, sizeof p->lost);
  for (size_t i = 0; i < sizeof p->fcache / sizeof p->fcache[0]; i++) p->fcache[i].len = 0;
}

static void mem_write(Printer *p, const char *s, size_t len) {
  if (p->memlen < p->memcap) {
    size_t k = p->memcap - p->memlen < len ? p->memcap - p->memlen : len;
    memcpy(p->mem + p->memlen, s, k);
  }
  p->memlen += len;
}

static void p_flush(Printer *p) {
  if (!p->out)
    mem_write(p, p->buf, p->n);
  else if (p->n && fwrite(p->buf, 1, p->n, p->out) != p->n)
    p->err = true;
  p->n = 0;
}

static void put_slow(Printer *p, const char *s, size_t len);

/* The common case inline (short pieces into a buffer with room); constant lengths (PUTL)
 * then copy without a call. */
static inline void put(Printer *p, const char *s, size_t len) {
  if (len <= p->cap - p->n) {
    memcpy(p->buf + p->n, s, len);
    p->n += len;
    return;
  }
  put_slow(p, s, len);
}

static void put_slow(Printer *p, const char *s, size_t len) {
  if (len > p->cap - p->n) {
    p_flush(p);
    if (len > p->cap) {
      if (!p->out)
        mem_write(p, s, len);
      else if (fwrite(s, 1, len, p->out) != len)
        p->err = true;
      return;
    }
  }
  memcpy(p->buf + p->n, s, len);
  p->n += len;
}

static void puts_(Printer *p, const char *s) {
  put(p, s, strlen(s));
}
#define PUTL(p, lit) put((p), (lit), sizeof(lit) - 1)

static void putch(Printer *p, char c) {
  if (p->n == p->cap) p_flush(p);
  p->buf[p->n++] = c;
}

/* Indentation stops growing past this many columns, so hostile nesting prints in linear
 * space (whitespace means nothing to the parser). */
#define MAX_INDENT 150

static void spaces(Printer *p, int n) {
  static const char sp[] = "                                                                ";
  if (n > MAX_INDENT) n = MAX_INDENT;
  while (n > 0) {
    int k = n < 64 ? n : 64;
    put(p, sp, (size_t)k);
    n -= k;
  }
}

static void put_u64(Printer *p, uint64_t v) {
  char tmp[24];
  int i = 24;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(p, tmp + i, (size_t)(24 - i));
}

static void put_i64(Printer *p, int64_t v) {
  if (v < 0) {
    putch(p, '-');
    put_u64(p, (uint64_t)0 - (uint64_t)v);
  } else {
    put_u64(p, (uint64_t)v);
  }
}

static void put_f32(Printer *p, float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  struct FCache *c = &p->fcache[(bits * 2654435761u) >> 26];
  if (c->len && c->bits == bits) {
    put(p, c->s, c->len);
    return;
  }
  char b[40];
  int n = ir_format_f32(b, f);
  if (n > 0 && (size_t)n <= sizeof c->s) {
    c->bits = bits;
    c->len = (uint32_t)n;
    memcpy(c->s, b, (size_t)n);
  }
  put(p, b, (size_t)n);
}

static void put_f64(Printer *p, double f) {
  char b[40];
  put(p, b, (size_t)ir_format_f64(b, f));
}

/* A string literal: backslash before '"' and '\', every other byte as is (ONNX's rule). */
static void put_quoted(Printer *p, const char *s, size_t len) {
  putch(p, '"');
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"' || s[i] == '\\') {
      put(p, s + start, i - start);
      putch(p, '\\');
      start = i;
    }
  }
  put(p, s + start, len - start);
  putch(p, '"');
}

static void put_qstr(Printer *p, const char *s) {
  put_quoted(p, s ? s : "", s ? strlen(s) : 0);
}

static bool is_ident(const char *s) {
  if (!s) return false;
  unsigned char c = (unsigned char)s[0];
  if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')) return false;
  for (s++; *s; s++) {
    c = (unsigned char)*s;
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

/* Identifiers the parser would read as something else where a name may stand alone: type
 * keywords (a value-info "float" would start a type) and the float words nan/inf/infinity
 * (a graph attribute "inf" would read as a float). */
static bool is_reserved(const char *s, size_t n) {
  /* every such word starts with one of these letters and is at most 14 long */
  if (n < 3 || n > 14) return false;
  switch (s[0] | 0x20) {
  case 'b': case 'c': case 'd': case 'f': case 'i':
  case 'm': case 'n': case 'o': case 's': case 'u':
    break;
  default:
    return false;
  }
  static const char *const kw[] = {"seq", "map", "optional", "sparse_tensor", "opaque"};
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (!strcmp(s, kw[i])) return true;
  if (n <= 8) {
    char low[9];
    for (size_t i = 0; i <= n; i++)
      low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    if (!strcmp(low, "nan") || !strcmp(low, "inf") || !strcmp(low, "infinity")) return true;
  }
  return ir_elem_from_name(s, n) != ELEM_UNDEFINED;
}

/* A name: bare when it is an identifier the parser reads back as a name, else quoted. */
static void put_id(Printer *p, const char *s) {
  if (!s) s = "";
  const unsigned char *u = (const unsigned char *)s;
  bool ok = (u[0] >= 'A' && u[0] <= 'Z') || (u[0] >= 'a' && u[0] <= 'z') || u[0] == '_';
  size_t n = 0;
  if (ok) {
    for (n = 1; u[n]; n++) {
      unsigned char c = u[n];
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_')) {
        ok = false;
        break;
      }
    }
  }
  if (ok && !is_reserved(s, n))
    put(p, s, n);
  else
    put_qstr(p, s);
}

/* ------------------------------------------------------------------ lost fields */

static void lost(Printer *p, int kind, SrcLoc loc, const char *what, const char *name) {
  if (!p->track) return;
  Lost *l = &p->lost[kind];
  if (l->count++ == 0) {
    l->loc = loc;
    if (what) snprintf(l->where, sizeof l->where, "%s '%.60s'", what, name ? name : "");
  }
}

static void report_lost(Printer *p, Diag *d) {
  if (!d) return;
  for (int k = 0; k < LOST_COUNT; k++) {
    Lost *l = &p->lost[k];
    if (!l->count) continue;
    char more[48] = "";
    if (l->count > 1) snprintf(more, sizeof more, ", and %zu more", l->count - 1);
    if (l->where[0])
      ir_warning(d, l->loc, "%s cannot be written as ONNX text and is dropped (%s%s)", lost_what[k],
                 l->where, more);
    else
      ir_warning(d, l->loc, "%s%s cannot be written as ONNX text and is dropped", lost_what[k],
                 more);
  }
}

static void check_tensor_lost(Printer *p, const Tensor *t, const char *owner) {
  if (!p->track || !t) return;
  if (t->doc_string && t->doc_string[0]) lost(p, LOST_TENSOR_DOC, t->loc, "tensor", owner);
  if (t->n_metadata_props > 0) lost(p, LOST_TENSOR_META, t->loc, "tensor", owner);
  if (t->extra.len > 0) lost(p, LOST_TENSOR_EXTRA, t->loc, "tensor", owner);
}

/* ------------------------------------------------------------------ floats */

/* A decimal d[0].d[1]..d[n-1] x 10^e10 (digits as characters). */
typedef struct Dec {
  char d[40];
  int n, e10;
} Dec;

/* Parse printf's "%.*e" output into a Dec. */
static void dec_from_e(Dec *c, const char *s) {
  c->n = 0;
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9' && c->n < (int)sizeof c->d) c->d[c->n++] = *s;
  c->e10 = *s ? atoi(s + 1) : 0;
}

/* Does c read back as x? Stores what it reads as in *got. */
static bool dec_reads_back(const Dec *c, double x, bool f32, double *got) {
  char s[64];
  memcpy(s, c->d, (size_t)c->n);
  int k = c->n, e = c->e10 - (c->n - 1);
  s[k++] = 'e';
  if (e < 0) {
    s[k++] = '-';
    e = -e;
  }
  char t[8];
  int j = 0;
  do {
    t[j++] = (char)('0' + e % 10);
    e /= 10;
  } while (e);
  while (j) s[k++] = t[--j];
  s[k] = 0;
  *got = f32 ? (double)strtof(s, NULL) : strtod(s, NULL);
  return f32 ? (float)*got == (float)x : *got == x;
}

/* c plus or minus one unit in its last digit, renormalized. */
static void dec_step(Dec *c, int dir) {
  int i = c->n - 1;
  if (dir > 0) {
    while (i >= 0 && c->d[i] == '9') c->d[i--] = '0';
    if (i >= 0) {
      c->d[i]++;
    } else { /* 99..9 + 1 = 100..0 */
      c->d[0] = '1';
      c->e10++;
    }
  } else {
    while (i >= 0 && c->d[i] == '0') c->d[i--] = '9';
    if (i >= 0) c->d[i]--;
    if (c->d[0] == '0' && c->n > 1) { /* 100..0 - 1 = 099..9 */
      memmove(c->d, c->d + 1, (size_t)c->n - 1);
      c->n--;
      c->e10--;
    }
  }
}

/* Does an n-digit decimal read back as x? Take the nearest one (rounded from `full`, the
 * value to 25 digits, or from printf when that rounding would be a tie), or, when it misses,
 * its neighbour on the other side of x (the rounding interval is lopsided at powers of
 * two). */
static bool try_digits(double x, bool f32, int n, const Dec *full, Dec *out) {
  Dec c = *full;
  c.n = n;
  const char *rest = full->d + n;
  int nrest = full->n - n;
  bool tie = nrest > 0 && rest[0] == '5';
  for (int i = 1; tie && i < nrest; i++) tie = rest[i] == '0';
  if (tie) { /* 25 digits cannot tell a tie from near-tie: let printf round the exact value */
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.*e", n - 1, x);
    dec_from_e(&c, tmp);
  } else if (nrest > 0 && rest[0] >= '5') {
    dec_step(&c, +1);
    c.n = n;
  }
  double got;
  if (!dec_reads_back(&c, x, f32, &got)) {
    dec_step(&c, got < x ? +1 : -1);
    if (c.n < 1 || (c.n == 1 && c.d[0] == '0') || !dec_reads_back(&c, x, f32, &got)) return false;
  }
  *out = c;
  return true;
}

/* Shortest round-trip text, laid out as C++'s std::to_chars does (the shorter of fixed and
 * scientific notation, fixed on a tie): 1, 0.1, 1e-05, 2e-04, 1e+10, 16777216. */
static int format_shortest(char *buf, double x, bool f32) {
  char *o = buf;
  if (isnan(x)) {
    memcpy(buf, "nan", 4);
    return 3;
  }
  if (signbit(x)) *o++ = '-';
  x = fabs(x);
  if (isinf(x)) {
    memcpy(o, "inf", 4);
    return (int)(o - buf) + 3;
  }
  if (x == 0) {
    memcpy(o, "0", 2);
    return (int)(o - buf) + 1;
  }
  /* Fewest significant digits that read back: the property is monotone in the digit count
   * (a working p-digit decimal is also a p+1-digit one, and the nearest p+1-digit decimal or
   * its neighbour toward it is at least as close), so binary search. */
  int maxp = f32 ? 9 : 17;
  Dec full, best;
  {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.24e", x);
    dec_from_e(&full, tmp);
  }
  int lo = 1, hi = maxp;
  bool have = false;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    Dec c;
    if (try_digits(x, f32, mid, &full, &c)) {
      hi = mid;
      best = c;
      have = true;
    } else {
      lo = mid + 1;
    }
  }
  if (!have || best.n != lo) {
    if (!try_digits(x, f32, lo, &full, &best)) { /* unreachable: 9 / 17 digits round-trip */
      int n = snprintf(o, 32, f32 ? "%.9g" : "%.17g", x);
      return (int)(o - buf) + n;
    }
  }
  /* digits without trailing zeros; value = d1.d2..dn x 10^e10 */
  char digits[40];
  int nd = best.n, e10 = best.e10;
  while (nd > 1 && best.d[nd - 1] == '0') nd--;
  memcpy(digits, best.d, (size_t)nd);
  /* scientific: d[.ddd]e[+-]xx */
  char sci[40];
  int ns = 0;
  sci[ns++] = digits[0];
  if (nd > 1) {
    sci[ns++] = '.';
    memcpy(sci + ns, digits + 1, (size_t)nd - 1);
    ns += nd - 1;
  }
  ns += snprintf(sci + ns, sizeof sci - (size_t)ns, "e%c%02d", e10 < 0 ? '-' : '+', abs(e10));
  /* fixed notation length */
  int nf;
  if (e10 >= nd - 1)
    nf = e10 + 1; /* digits then zeros */
  else if (e10 >= 0)
    nf = nd + 1; /* a point inside */
  else
    nf = 2 + (-e10 - 1) + nd; /* 0.000ddd */
  if (nf <= ns) {
    if (e10 >= nd - 1) {
      memcpy(o, digits, (size_t)nd);
      memset(o + nd, '0', (size_t)(e10 + 1 - nd));
    } else if (e10 >= 0) {
      memcpy(o, digits, (size_t)e10 + 1);
      o[e10 + 1] = '.';
      memcpy(o + e10 + 2, digits + e10 + 1, (size_t)(nd - e10 - 1));
    } else {
      o[0] = '0';
      o[1] = '.';
      memset(o + 2, '0', (size_t)(-e10 - 1));
      memcpy(o + 2 + (-e10 - 1), digits, (size_t)nd);
    }
    o[nf] = 0;
    return (int)(o - buf) + nf;
  }
  memcpy(o, sci, (size_t)ns + 1);
  return (int)(o - buf) + ns;
}

int ir_format_f32(char *buf, float f) {
  /* integers below 2^24 are exact and print as themselves */
  if (f == f && fabsf(f) < 16777216.0f && f == (float)(int32_t)f && !(f == 0 && signbit(f))) {
    int32_t v = (int32_t)f; /* up to 5 digits fixed notation is never longer */
    if (v < 100000 && v > -100000) return snprintf(buf, 32, "%" PRId32, v);
  }
  return format_shortest(buf, (double)f, true);
}

int ir_format_f64(char *buf, double f) {
  return format_shortest(buf, f, false);
}

/* ------------------------------------------------------------------ types */

static void put_dim(Printer *p, const Dim *d) {
  if (d->param) {
    if (is_ident(d->param))
      puts_(p, d->param);
    else
      put_qstr(p, d->param);
  } else if (d->value >= 0 || d->value < -1) {
    put_i64(p, d->value);
  } else {
    putch(p, '?');
  }
}

static void put_shape(Printer *p, const Type *t) {
  if (t->rank < 0) {
    PUTL(p, "[]");
  } else if (t->rank > 0) {
    putch(p, '[');
    for (int i = 0; i < t->rank; i++) {
      if (i) putch(p, ',');
      if (t->dims)
        put_dim(p, &t->dims[i]);
      else
        putch(p, '?');
    }
    putch(p, ']');
  }
}

static bool has_denotation(const Type *t) {
  for (; t; t = t->inner) {
    if (t->denotation && t->denotation[0]) return true;
    if ((t->kind == TYPE_TENSOR || t->kind == TYPE_SPARSE) && t->dims)
      for (int i = 0; i < t->rank; i++)
        if (t->dims[i].denotation && t->dims[i].denotation[0]) return true;
  }
  return false;
}

static void put_elem_name(Printer *p, ElemType e) {
  puts_(p, ir_elem(e)->name);
}

/* Types nest (seq(seq(...))): walk down the chain iteratively, then close the parentheses. */
static void put_type(Printer *p, const Type *t) {
  int close = 0;
  for (; t; t = t->inner) {
    switch (t->kind) {
    case TYPE_TENSOR:
      put_elem_name(p, t->elem);
      put_shape(p, t);
      goto done;
    case TYPE_SPARSE:
      PUTL(p, "sparse_tensor(");
      put_elem_name(p, t->elem);
      put_shape(p, t);
      putch(p, ')');
      goto done;
    case TYPE_OPAQUE:
      PUTL(p, "opaque(");
      if (t->opaque_domain && t->opaque_domain[0]) {
        if (is_ident(t->opaque_domain))
          puts_(p, t->opaque_domain);
        else
          put_qstr(p, t->opaque_domain);
        putch(p, ',');
      }
      if (t->opaque_name && t->opaque_name[0]) {
        if (is_ident(t->opaque_name))
          puts_(p, t->opaque_name);
        else
          put_qstr(p, t->opaque_name);
      }
      putch(p, ')');
      goto done;
    case TYPE_SEQUENCE:
      PUTL(p, "seq(");
      close++;
      break;
    case TYPE_OPTIONAL:
      PUTL(p, "optional(");
      close++;
      break;
    case TYPE_MAP:
      PUTL(p, "map(");
      put_elem_name(p, t->elem);
      PUTL(p, ", ");
      close++;
      break;
    }
  }
done:
  while (close-- > 0) putch(p, ')');
}

/* ------------------------------------------------------------------ tensor data */

static uint64_t rd_le(const uint8_t *b, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

/* Elements that the payload really holds (never read past nbytes). */
static uint64_t data_count(const Tensor *t) {
  uint64_t numel;
  if (!ir_tensor_numel(t, &numel)) return 0;
  if (!t->data) return 0;
  if (t->elem == ELEM_STRING) {
    uint64_t cap = t->nbytes / sizeof(IrStr);
    return numel < cap ? numel : cap;
  }
  int bits = ir_elem(t->elem)->bits;
  if (bits <= 0) return 0;
  uint64_t cap = (uint64_t)t->nbytes * 8 / (uint64_t)bits;
  return numel < cap ? numel : cap;
}

/* The values between the braces: "," between numbers, ", " between strings (as ONNX). */
static void put_values(Printer *p, const Tensor *t) {
  uint64_t n = data_count(t);
  const uint8_t *b = t->data;
  switch (t->elem) {
  case ELEM_STRING: {
    const IrStr *s = t->data;
    for (uint64_t i = 0; i < n; i++) {
      if ((i & 1023) == 0 && p->err) return; /* the output failed */
      if (i) PUTL(p, ", ");
      put_quoted(p, s[i].s ? s[i].s : "", s[i].s ? s[i].len : 0);
    }
    return;
  }
  case ELEM_FLOAT:
  case ELEM_COMPLEX64:
    if (t->elem == ELEM_COMPLEX64) n *= 2;
    for (uint64_t i = 0; i < n; i++) {
      if ((i & 1023) == 0 && p->err) return; /* the output failed */
      float f;
      memcpy(&f, b + 4 * i, 4);
      if (i) putch(p, ',');
      put_f32(p, f);
    }
    return;
  case ELEM_DOUBLE:
  case ELEM_COMPLEX128:
    if (t->elem == ELEM_COMPLEX128) n *= 2;
    for (uint64_t i = 0; i < n; i++) {
      if ((i & 1023) == 0 && p->err) return; /* the output failed */
      double f;
      memcpy(&f, b + 8 * i, 8);
      if (i) putch(p, ',');
      put_f64(p, f);
    }
    return;
  default:
    break;
  }
  int bits = ir_elem(t->elem)->bits;
  bool sgn = t->elem == ELEM_INT8 || t->elem == ELEM_INT16 || t->elem == ELEM_INT32 ||
             t->elem == ELEM_INT64 || t->elem == ELEM_INT4 || t->elem == ELEM_INT2;
  for (uint64_t i = 0; i < n; i++) {
    if ((i & 1023) == 0 && p->err) return; /* the output failed */
    uint64_t v;
    if (bits >= 8) {
      v = rd_le(b + i * (uint64_t)(bits / 8), bits / 8);
    } else { /* packed, low bits first */
      uint64_t bit = i * (uint64_t)bits;
      v = (b[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    }
    if (i) putch(p, ',');
    if (sgn && bits < 64 && (v >> (bits - 1)) & 1)
      put_i64(p, (int64_t)(v | ~(uint64_t)0 << bits));
    else if (sgn)
      put_i64(p, (int64_t)v);
    else
      put_u64(p, v);
  }
}

static void put_external(Printer *p, const Tensor *t) {
  putch(p, '[');
  for (int i = 0; i < t->n_external; i++) {
    if (i) PUTL(p, ", ");
    put_qstr(p, t->external[i].key);
    PUTL(p, ": ");
    put_qstr(p, t->external[i].value);
  }
  putch(p, ']');
}

/* "{...}" / "[...]" / nothing (no data). */
static void put_data(Printer *p, const Tensor *t) {
  if (t->n_external > 0) {
    put_external(p, t);
  } else if (t->has_data) {
    putch(p, '{');
    put_values(p, t);
    putch(p, '}');
  }
}

static void put_tensor_type(Printer *p, const Tensor *t) {
  put_elem_name(p, t->elem);
  if (t->rank > 0) {
    putch(p, '[');
    for (int i = 0; i < t->rank; i++) {
      if (i) putch(p, ',');
      put_i64(p, t->dims ? t->dims[i] : 0);
    }
    putch(p, ']');
  }
}

/* A tensor as an attribute value: "float[2] {1,2}", "float[3] name {..}", and (as ONNX
 * writes it) no space before a string tensor's braces: "string[2] keys{"a", "b"}". */
static void put_tensor_attr(Printer *p, const Tensor *t) {
  check_tensor_lost(p, t, t->name);
  put_tensor_type(p, t);
  bool named = t->name && t->name[0];
  if (named) {
    putch(p, ' ');
    put_id(p, t->name);
  }
  if (t->n_external > 0) {
    putch(p, ' ');
    put_external(p, t);
  } else if (t->has_data || !named) {
    /* a tensor with neither name nor data would read back as a type: give it braces */
    if (t->elem != ELEM_STRING) putch(p, ' ');
    putch(p, '{');
    if (t->has_data) put_values(p, t);
    putch(p, '}');
  }
}

/* ------------------------------------------------------------------ attributes */

static bool attr_printable(Printer *p, const Attr *a, const Node *n) {
  const char *owner = n && n->name ? n->name : (n ? n->op_type : "");
  if (a->type == ATTR_SPARSE_TENSOR || a->type == ATTR_SPARSE_TENSORS) {
    lost(p, LOST_ATTR_SPARSE, a->loc, "attribute", a->name);
    return false;
  }
  if (!ir_attr_type_name(a->type) || a->type == ATTR_UNDEFINED) {
    lost(p, LOST_ATTR_UNTYPED, a->loc, "attribute", a->name);
    return false;
  }
  if (!a->ref_attr_name) {
    if (a->type == ATTR_GRAPH && !a->g) return false;
    if (a->type == ATTR_TENSOR && !a->t) return false;
    if (a->type == ATTR_TYPE_PROTO && !a->tp) return false;
  }
  if (p->track) {
    if (a->doc_string && a->doc_string[0]) lost(p, LOST_ATTR_DOC, a->loc, "attribute", a->name);
    if (a->extra.len > 0) lost(p, LOST_ATTR_EXTRA, a->loc, "attribute", a->name);
    if (!is_ident(a->name)) lost(p, LOST_BAD_NAME, a->loc, "attribute", a->name ? a->name : owner);
  }
  return true;
}

static bool attr_has_graph(const Attr *a) {
  if (a->ref_attr_name) return false;
  return (a->type == ATTR_GRAPH && a->g) || (a->type == ATTR_GRAPHS && a->n > 0 && a->graphs);
}

static void put_attr_head(Printer *p, const Attr *a) {
  puts_(p, a->name ? a->name : "");
  PUTL(p, ": ");
  puts_(p, ir_attr_type_name(a->type));
  PUTL(p, " = ");
}

/* Every attribute value except graphs. */
static void put_attr_value(Printer *p, const Attr *a) {
  if (a->ref_attr_name) {
    putch(p, '@');
    put_id(p, a->ref_attr_name);
    return;
  }
  switch (a->type) {
  case ATTR_FLOAT:
    put_f32(p, a->f);
    break;
  case ATTR_INT:
    put_i64(p, a->i);
    break;
  case ATTR_STRING:
    put_quoted(p, a->s.s ? a->s.s : "", a->s.s ? a->s.len : 0);
    break;
  case ATTR_TENSOR:
    put_tensor_attr(p, a->t);
    break;
  case ATTR_TYPE_PROTO:
    if (p->track && has_denotation(a->tp)) lost(p, LOST_DENOTATION, a->loc, "attribute", a->name);
    put_type(p, a->tp);
    break;
  case ATTR_FLOATS:
    putch(p, '[');
    for (size_t i = 0; i < a->n && a->floats; i++) {
      if (i) PUTL(p, ", ");
      put_f32(p, a->floats[i]);
    }
    putch(p, ']');
    break;
  case ATTR_INTS:
    putch(p, '[');
    for (size_t i = 0; i < a->n && a->ints; i++) {
      if (i) PUTL(p, ", ");
      put_i64(p, a->ints[i]);
    }
    putch(p, ']');
    break;
  case ATTR_STRINGS:
    putch(p, '[');
    for (size_t i = 0; i < a->n && a->strings; i++) {
      if (i) PUTL(p, ", ");
      put_quoted(p, a->strings[i].s ? a->strings[i].s : "",
                 a->strings[i].s ? a->strings[i].len : 0);
    }
    putch(p, ']');
    break;
  case ATTR_TENSORS:
    putch(p, '[');
    for (size_t i = 0; i < a->n && a->tensors; i++) {
      if (i) PUTL(p, ", ");
      put_tensor_attr(p, a->tensors[i]);
    }
    putch(p, ']');
    break;
  case ATTR_TYPE_PROTOS:
    putch(p, '[');
    for (size_t i = 0; i < a->n && a->types; i++) {
      if (i) PUTL(p, ", ");
      put_type(p, a->types[i]);
    }
    putch(p, ']');
    break;
  case ATTR_GRAPHS: /* only reached when empty */
    PUTL(p, "[]");
    break;
  default:
    break;
  }
}

/* ------------------------------------------------------------------ graphs */

static int ptr_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
  return x < y ? -1 : x > y;
}

/* A sorted set of values (graph inputs/outputs) for membership tests. */
typedef struct VSet {
  const Value **v;
  size_t n;
} VSet;

static void vset_make(VSet *s, Value *const *a, int na, Value *const *b, int nb) {
  s->n = 0;
  s->v = malloc(sizeof *s->v * (size_t)(na + nb + 1));
  if (!s->v) return;
  for (int i = 0; i < na; i++)
    if (a[i]) s->v[s->n++] = a[i];
  for (int i = 0; i < nb; i++)
    if (b[i]) s->v[s->n++] = b[i];
  qsort(s->v, s->n, sizeof *s->v, ptr_cmp);
}

static bool vset_has(const VSet *s, const Value *v) {
  return s->v && bsearch(&v, s->v, s->n, sizeof *s->v, ptr_cmp) != NULL;
}

static void check_value_lost(Printer *p, const Value *v) {
  if (!p->track) return;
  if (v->doc_string && v->doc_string[0]) lost(p, LOST_VALUE_DOC, v->loc, "value", v->name);
  if (v->n_metadata_props > 0) lost(p, LOST_VALUE_META, v->loc, "value", v->name);
  if (v->extra.len > 0) lost(p, LOST_VALUE_EXTRA, v->loc, "value", v->name);
  if (has_denotation(v->type)) lost(p, LOST_DENOTATION, v->loc, "value", v->name);
}

/* "type name" (or just the name when the type is unknown). */
static void put_value_info(Printer *p, const Value *v) {
  check_value_lost(p, v);
  if (v->type) {
    put_type(p, v->type);
    putch(p, ' ');
  }
  put_id(p, v->name);
}

/* Can an input carry its initializer inline ("float[2] x = {..}")? Only when the declared
 * type is exactly the tensor's (the parser types the data by the declaration). */
static bool input_takes_init(const Value *v) {
  const Tensor *t = v->init;
  if (!t || v->sparse_init) return false;
  if (!v->type) return true;
  const Type *ty = v->type;
  if (ty->kind != TYPE_TENSOR || ty->elem != t->elem || ty->rank != t->rank) return false;
  for (int i = 0; i < ty->rank; i++) {
    if (!ty->dims || ty->dims[i].param || ty->dims[i].value != (t->dims ? t->dims[i] : -1))
      return false;
  }
  return true;
}

static void put_init_entry(Printer *p, const Value *v, const Tensor *t) {
  check_value_lost(p, v);
  check_tensor_lost(p, t, v->name);
  put_tensor_type(p, t);
  putch(p, ' ');
  put_id(p, v->name);
  PUTL(p, " = ");
  put_data(p, t);
}

static void check_graph_lost(Printer *p, const Graph *g) {
  if (!p->track) return;
  if (g->doc_string && g->doc_string[0]) lost(p, LOST_GRAPH_DOC, g->loc, "graph", g->name);
  if (g->n_metadata_props > 0) lost(p, LOST_GRAPH_META, g->loc, "graph", g->name);
  if (g->extra.len > 0) lost(p, LOST_GRAPH_EXTRA, g->loc, "graph", g->name);
}

/* The `<...>` block of initializers (those not inline on an input) then value_infos, and
 * the opening brace. `skip` holds values that must not appear (inputs with inline data or
 * function parameters). */
static void put_block_and_open(Printer *p, const Graph *g, int indent, const VSet *inl,
                               const VSet *params, bool is_function) {
  bool any = false;
  for (size_t i = 0; i < g->initializers.n; i++) {
    const Value *v = g->initializers.v[i];
    if (!v) continue;
    if (v->sparse_init && !v->init) {
      lost(p, LOST_SPARSE_INIT, v->loc, "value", v->name);
      continue;
    }
    if (!v->init || vset_has(inl, v)) continue;
    if (is_function) {
      lost(p, LOST_FUNC_INIT, v->loc, "value", v->name);
      continue;
    }
    if (!any) {
      putch(p, '\n');
      spaces(p, indent);
      putch(p, '<');
    } else {
      PUTL(p, ", ");
    }
    any = true;
    put_init_entry(p, v, v->init);
  }
  for (size_t i = 0; i < g->value_infos.n; i++) {
    const Value *v = g->value_infos.v[i];
    if (!v || (params && vset_has(params, v))) continue;
    if (!any) {
      putch(p, '\n');
      spaces(p, indent);
      putch(p, '<');
    } else {
      PUTL(p, ", ");
    }
    any = true;
    put_value_info(p, v);
  }
  if (any) {
    PUTL(p, ">\n");
    spaces(p, indent - 3);
    PUTL(p, "{\n");
  } else {
    puts_(p, is_function ? "\n{\n" : " {\n");
  }
}

/* name (inputs) => (outputs) <block> { */
static void put_graph_head(Printer *p, const Graph *g, int indent) {
  check_graph_lost(p, g);
  put_id(p, g->name ? g->name : "");
  PUTL(p, " (");
  VSet inl = {0};
  int n_inl = 0;
  for (int i = 0; i < g->n_inputs; i++) {
    const Value *v = g->inputs[i];
    if (i) PUTL(p, ", ");
    if (!v) {
      PUTL(p, "\"\"");
      continue;
    }
    if (input_takes_init(v)) {
      n_inl++;
      check_tensor_lost(p, v->init, v->name);
      if (v->type)
        put_value_info(p, v);
      else {
        check_value_lost(p, v);
        put_tensor_type(p, v->init);
        putch(p, ' ');
        put_id(p, v->name);
      }
      PUTL(p, " = ");
      put_data(p, v->init);
    } else {
      put_value_info(p, v);
    }
  }
  PUTL(p, ") => (");
  for (int i = 0; i < g->n_outputs; i++) {
    if (i) PUTL(p, ", ");
    if (g->outputs[i])
      put_value_info(p, g->outputs[i]);
    else
      PUTL(p, "\"\"");
  }
  putch(p, ')');
  if (n_inl) {
    inl.v = malloc(sizeof *inl.v * (size_t)n_inl);
    if (inl.v) {
      for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] && input_takes_init(g->inputs[i])) inl.v[inl.n++] = g->inputs[i];
      qsort(inl.v, inl.n, sizeof *inl.v, ptr_cmp);
    }
  }
  put_block_and_open(p, g, indent, &inl, NULL, false);
  free(inl.v);
}

static bool node_has_graph(const Node *n) {
  for (int i = 0; i < n->n_attrs; i++)
    if (attr_has_graph(&n->attrs[i])) return true;
  return false;
}

/* "[label] outs = dom.Op:overload" */
static void put_node_start(Printer *p, const Node *n, int indent) {
  if (p->track) {
    if (n->doc_string && n->doc_string[0])
      lost(p, LOST_NODE_DOC, n->loc, "node", n->name ? n->name : n->op_type);
    if (n->n_metadata_props > 0)
      lost(p, LOST_NODE_META, n->loc, "node", n->name ? n->name : n->op_type);
    if (n->extra.len > 0) lost(p, LOST_NODE_EXTRA, n->loc, "node", n->name ? n->name : n->op_type);
    if (!is_ident(n->op_type) || (n->overload && n->overload[0] && !is_ident(n->overload)))
      lost(p, LOST_BAD_NAME, n->loc, "operator", n->op_type);
  }
  spaces(p, indent);
  if (n->name && n->name[0]) {
    putch(p, '[');
    put_id(p, n->name);
    PUTL(p, "] ");
  }
  for (int i = 0; i < n->n_outputs; i++) {
    if (i) PUTL(p, ", ");
    if (n->outputs[i])
      put_id(p, n->outputs[i]->name);
    else
      PUTL(p, "\"\"");
  }
  PUTL(p, " = ");
  if (n->domain && n->domain[0]) {
    puts_(p, n->domain);
    putch(p, '.');
  }
  puts_(p, n->op_type ? n->op_type : "");
  if (n->overload && n->overload[0]) {
    putch(p, ':');
    puts_(p, n->overload);
  }
}

/* " (a, "", c)": missing inputs in the middle as "", trailing ones dropped. */
static void put_node_inputs(Printer *p, const Node *n) {
  int last = n->n_inputs;
  while (last > 0 && !n->inputs[last - 1]) last--;
  PUTL(p, " (");
  for (int i = 0; i < last; i++) {
    if (i) PUTL(p, ", ");
    if (n->inputs[i])
      put_id(p, n->inputs[i]->name);
    else
      PUTL(p, "\"\"");
  }
  putch(p, ')');
}

/* A node without graph attributes, whole: attributes before the inputs. */
static void put_simple_node(Printer *p, const Node *n, int indent) {
  put_node_start(p, n, indent);
  int k = 0;
  for (int i = 0; i < n->n_attrs; i++) {
    const Attr *a = &n->attrs[i];
    if (!attr_printable(p, a, n)) continue;
    puts_(p, k++ ? ", " : " <");
    put_attr_head(p, a);
    put_attr_value(p, a);
  }
  if (k) putch(p, '>');
  put_node_inputs(p, n);
  putch(p, '\n');
}

/* One graph being printed. A node with graph attributes prints its inputs first, then its
 * attributes; each subgraph pushes a frame, and the node resumes when that frame closes. */
typedef struct Frame {
  const Graph *g;
  int indent;
  size_t node;  /* next node */
  int attr;     /* -1: between nodes; else the attribute being printed */
  size_t sub;   /* progress inside the current graph-valued attribute */
  int nprinted; /* attributes of the node printed so far */
} Frame;

typedef IR_VEC(Frame) FrameVec;

static void push_frame(FrameVec *st, const Graph *g, int indent) {
  Frame f = {g, indent, 0, -1, 0, 0};
  ir_vec_push(*st, f);
}

/* Print the nodes of the graph on top of the stack (its head already printed) and every
 * graph nested in them, then the closing brace. */
static void run_frames(Printer *p, FrameVec *st) {
  while (st->n) {
    if (p->err) return; /* the output failed: the rest would be lost as well */
    Frame *f = &st->v[st->n - 1];
    if (f->attr < 0) {
      if (f->node >= f->g->nodes.n) {
        if (f->indent > 3) spaces(p, f->indent - 3);
        putch(p, '}');
        st->n--;
        continue;
      }
      const Node *n = f->g->nodes.v[f->node];
      if (!n) {
        f->node++;
        continue;
      }
      if (!node_has_graph(n)) {
        put_simple_node(p, n, f->indent);
        f->node++;
        continue;
      }
      put_node_start(p, n, f->indent);
      put_node_inputs(p, n);
      f->attr = 0;
      f->sub = 0;
      f->nprinted = 0;
    }
    const Node *n = f->g->nodes.v[f->node];
    for (;;) {
      if (f->attr >= n->n_attrs) {
        if (f->nprinted) putch(p, '>');
        putch(p, '\n');
        f->attr = -1;
        f->node++;
        break;
      }
      const Attr *a = &n->attrs[f->attr];
      if (f->sub == 0) {
        if (!attr_printable(p, a, n)) {
          f->attr++;
          continue;
        }
        puts_(p, f->nprinted++ ? ", " : " <");
        put_attr_head(p, a);
        if (!attr_has_graph(a)) {
          put_attr_value(p, a);
          f->attr++;
          continue;
        }
        if (a->type == ATTR_GRAPHS) putch(p, '[');
        f->sub = 1;
      }
      if (a->type == ATTR_GRAPH) {
        if (f->sub == 1) {
          f->sub = 2;
          int indent = f->indent + 3;
          put_graph_head(p, a->g, indent);
          push_frame(st, a->g, indent); /* f is stale from here */
          break;
        }
        f->sub = 0;
        f->attr++;
        continue;
      }
      /* ATTR_GRAPHS: sub - 1 graphs pushed so far */
      size_t k = f->sub - 1;
      if (k < a->n) {
        if (k) PUTL(p, ", ");
        f->sub++;
        int indent = f->indent + 3;
        const Graph *g = a->graphs[k];
        if (!g) continue;
        put_graph_head(p, g, indent);
        push_frame(st, g, indent);
        break;
      }
      putch(p, ']');
      f->sub = 0;
      f->attr++;
    }
  }
}

static void print_graph(Printer *p, const Graph *g, int indent) {
  FrameVec st = {0};
  put_graph_head(p, g, indent);
  push_frame(&st, g, indent);
  run_frames(p, &st);
  ir_vec_free(st);
}

/* ------------------------------------------------------------------ model and functions */

static void put_opsets(Printer *p, const OpsetImport *o, int n, const char *sep) {
  putch(p, '[');
  for (int i = 0; i < n; i++) {
    if (i) puts_(p, sep);
    put_qstr(p, o[i].domain ? o[i].domain : "");
    PUTL(p, " : ");
    put_i64(p, o[i].version);
  }
  putch(p, ']');
}

static void put_props(Printer *p, const StrPair *kv, int n) {
  putch(p, '[');
  for (int i = 0; i < n; i++) {
    if (i) PUTL(p, ", ");
    put_qstr(p, kv[i].key);
    PUTL(p, ": ");
    put_qstr(p, kv[i].value);
  }
  putch(p, ']');
}

static void put_header_key(Printer *p, int *nkeys, const char *key) {
  puts_(p, (*nkeys)++ ? ",\n   " : "<\n   ");
  puts_(p, key);
  PUTL(p, ": ");
}

static void print_model_header(Printer *p, const Model *m) {
  int k = 0;
  if (m->has_ir_version) {
    put_header_key(p, &k, "ir_version");
    put_i64(p, m->ir_version);
  }
  if (m->n_opsets > 0) {
    put_header_key(p, &k, "opset_import");
    put_opsets(p, m->opsets, m->n_opsets, ", ");
  }
  if (m->producer_name) {
    put_header_key(p, &k, "producer_name");
    put_qstr(p, m->producer_name);
  }
  if (m->producer_version) {
    put_header_key(p, &k, "producer_version");
    put_qstr(p, m->producer_version);
  }
  if (m->domain) {
    put_header_key(p, &k, "domain");
    put_qstr(p, m->domain);
  }
  if (m->has_model_version) {
    put_header_key(p, &k, "model_version");
    put_i64(p, m->model_version);
  }
  if (m->doc_string) {
    put_header_key(p, &k, "doc_string");
    put_qstr(p, m->doc_string);
  }
  if (m->n_metadata_props > 0) {
    put_header_key(p, &k, "metadata_props");
    put_props(p, m->metadata_props, m->n_metadata_props);
  }
  if (k) PUTL(p, "\n>\n");
}

/* An attribute parameter: a bare name, or "name: type = default". */
static void put_fn_param(Printer *p, const Function *f, int idx) {
  if (idx >= 0) {
    if (idx < f->n_attr_names) put_id(p, f->attr_names[idx]);
    return;
  }
  idx = ~idx;
  if (idx >= f->n_attr_defaults) return;
  const Attr *a = &f->attr_defaults[idx];
  if (!attr_printable(p, a, NULL)) {
    put_id(p, a->name ? a->name : "");
    return;
  }
  put_attr_head(p, a);
  if (attr_has_graph(a)) { /* a graph default: rare, printed with its own frames */
    FrameVec st = {0};
    if (a->type == ATTR_GRAPH) {
      put_graph_head(p, a->g, 3);
      push_frame(&st, a->g, 3);
      run_frames(p, &st);
    } else {
      putch(p, '[');
      for (size_t i = 0; i < a->n; i++) {
        if (i) PUTL(p, ", ");
        if (!a->graphs[i]) continue;
        put_graph_head(p, a->graphs[i], 3);
        push_frame(&st, a->graphs[i], 3);
        run_frames(p, &st);
      }
      putch(p, ']');
    }
    ir_vec_free(st);
  } else {
    put_attr_value(p, a);
  }
}

static void put_fn_io(Printer *p, Value *const *v, int n) {
  putch(p, '(');
  for (int i = 0; i < n; i++) {
    if (i) PUTL(p, ", ");
    if (v[i])
      put_value_info(p, v[i]);
    else
      PUTL(p, "\"\"");
  }
  putch(p, ')');
}

static void print_function(Printer *p, const Function *f) {
  if (p->track) {
    if (f->n_metadata_props > 0) lost(p, LOST_FUNC_META, f->loc, "function", f->name);
    if (f->extra.len > 0) lost(p, LOST_FUNC_EXTRA, f->loc, "function", f->name);
  }
  PUTL(p, "<\n  domain: ");
  put_qstr(p, f->domain ? f->domain : "");
  PUTL(p, ",\n");
  if (f->overload && f->overload[0]) {
    PUTL(p, "  overload: ");
    put_qstr(p, f->overload);
    PUTL(p, ",\n");
  }
  PUTL(p, "  opset_import: ");
  put_opsets(p, f->opsets, f->n_opsets, ",");
  if (f->doc_string) {
    PUTL(p, ",\n  doc_string: ");
    put_qstr(p, f->doc_string);
  }
  PUTL(p, "\n>\n");
  put_id(p, f->name ? f->name : "");
  putch(p, ' ');
  /* attribute parameters in declaration order */
  int np = f->n_attr_order;
  bool use_order = f->attr_order && np == f->n_attr_names + f->n_attr_defaults;
  if (!use_order) np = f->n_attr_names + f->n_attr_defaults;
  if (np > 0) {
    putch(p, '<');
    for (int i = 0; i < np; i++) {
      if (i) putch(p, ',');
      int idx = use_order ? f->attr_order[i] : (i < f->n_attr_names ? i : ~(i - f->n_attr_names));
      put_fn_param(p, f, idx);
    }
    putch(p, '>');
  }
  const Graph *g = f->body;
  if (!g) {
    PUTL(p, "() => ()\n{\n}");
    return;
  }
  check_graph_lost(p, g);
  put_fn_io(p, g->inputs, g->n_inputs);
  PUTL(p, " => ");
  put_fn_io(p, g->outputs, g->n_outputs);
  VSet params = {0};
  vset_make(&params, g->inputs, g->n_inputs, g->outputs, g->n_outputs);
  VSet none = {0};
  put_block_and_open(p, g, 3, &none, &params, true);
  free(params.v);
  FrameVec st = {0};
  push_frame(&st, g, 3);
  run_frames(p, &st);
  ir_vec_free(st);
}

/* ------------------------------------------------------------------ entry points */

/* A printer with a heap buffer for whole models and graphs. */
static Printer *p_new(FILE *out, bool track) {
  Printer *p = malloc(sizeof *p + OUTBUF);
  if (p) p_init(p, out, track, (char *)(p + 1), OUTBUF);
  return p;
}

static int p_done(Printer *p) {
  p_flush(p);
  int rc = p->err ? -1 : 0;
  free(p);
  return rc;
}

int ir_print_model(FILE *out, const Model *m, Diag *d) {
  Printer *p = p_new(out, true);
  if (!p) return -1;
  if (m->extra.len > 0) lost(p, LOST_MODEL_EXTRA, ir_noloc, NULL, NULL);
  print_model_header(p, m);
  if (m->graph) print_graph(p, m->graph, 3);
  for (int i = 0; i < m->n_functions && !p->err; i++) {
    if (!m->functions[i]) continue;
    putch(p, '\n');
    print_function(p, m->functions[i]);
  }
  putch(p, '\n');
  p_flush(p);
  report_lost(p, d);
  return p_done(p);
}

int ir_print_graph(FILE *out, const Graph *g, int indent) {
  Printer *p = p_new(out, false);
  if (!p) return -1;
  print_graph(p, g, indent < 3 ? 3 : indent);
  return p_done(p);
}

int ir_print_type(FILE *out, const Type *t) {
  Printer p;
  char buf[512];
  p_init(&p, out, false, buf, sizeof buf);
  if (t)
    put_type(&p, t);
  else
    putch(&p, '?');
  p_flush(&p);
  return p.err ? -1 : 0;
}

size_t ir_type_to_str(const Type *t, char *out, size_t len) {
  Printer p;
  char buf[512];
  p_init(&p, NULL, false, buf, sizeof buf);
  p.mem = out;
  p.memcap = len ? len - 1 : 0;
  if (t)
    put_type(&p, t);
  else
    putch(&p, '?');
  p_flush(&p);
  if (len) out[p.memlen < len - 1 ? p.memlen : len - 1] = 0;
  return p.memlen;
}

int ir_print_tensor_data(FILE *out, const Tensor *t) {
  Printer *p = p_new(out, false);
  if (!p) return -1;
  put_data(p, t);
  return p_done(p);
}

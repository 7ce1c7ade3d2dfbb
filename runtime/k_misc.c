/* k_misc.c - string kernels: StringNormalizer, StringConcat, StringSplit, RegexFullMatch
 * (RE2 syntax translated to POSIX extended expressions for <regex.h>) and TfIdfVectorizer.
 * The ai.onnx.ml, random/training, optional/sequence and image kernels live in k_misc_*.c. */
#include "k_misc.h"

#include <regex.h>

static RtValue *str_in(RtCtx *c, int i) {
  RtValue *v = rt_in_tensor(c, i);
  if (v && v->elem != ELEM_STRING) {
    rt_error(c, "input %d must be a string tensor", i);
    return NULL;
  }
  return v;
}

/* ------------------------------------------------------------------ StringNormalizer */

/* Simple one-to-one case mapping: ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic. */
static uint32_t case_map(uint32_t cp, bool upper) {
  if (upper) {
    if (cp >= 'a' && cp <= 'z') return cp - 32;
    if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) return cp - 32;
    if (cp == 0xFF) return 0x178;
    if (cp >= 0x100 && cp <= 0x137 && (cp & 1)) return cp - 1;
    if (cp >= 0x139 && cp <= 0x148 && !(cp & 1)) return cp - 1;
    if (cp >= 0x14A && cp <= 0x177 && (cp & 1)) return cp - 1;
    if (cp == 0x17A || cp == 0x17C || cp == 0x17E) return cp - 1;
    if (cp >= 0x3B1 && cp <= 0x3C9 && cp != 0x3C2) return cp - 32;
    if (cp >= 0x430 && cp <= 0x44F) return cp - 32;
    if (cp >= 0x450 && cp <= 0x45F) return cp - 80;
  } else {
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
    if (cp == 0x178) return 0xFF;
    if (cp >= 0x100 && cp <= 0x137 && !(cp & 1)) return cp + 1;
    if (cp >= 0x139 && cp <= 0x148 && (cp & 1)) return cp + 1;
    if (cp >= 0x14A && cp <= 0x177 && !(cp & 1)) return cp + 1;
    if (cp == 0x179 || cp == 0x17B || cp == 0x17D) return cp + 1;
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;
    if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
    if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  }
  return cp;
}

static size_t utf8_put(uint32_t cp, char *o) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Case-convert s into a new malloc'd buffer (same byte length bound: every mapping above
 * stays within its UTF-8 length class, except U+FF <-> U+178, both 2 bytes). Invalid
 * UTF-8 bytes are copied unchanged. */
static char *case_convert(const IrStr *s, bool upper, size_t *olen) {
  char *o = malloc(s->len * 2 + 1);
  size_t n = 0;
  for (size_t i = 0; i < s->len;) {
    uint32_t cp;
    size_t k = ir_utf8_decode((const unsigned char *)s->s + i, s->len - i, &cp);
    if (!k) {
      o[n++] = s->s[i++];
      continue;
    }
    n += utf8_put(case_map(cp, upper), o + n);
    i += k;
  }
  o[n] = 0;
  *olen = n;
  return o;
}

int rt_k_StringNormalizer(RtCtx *c) {
  RtValue *x = str_in(c, 0);
  if (!x) return -1;
  if (x->rank != 1 && !(x->rank == 2 && x->dims[0] == 1))
    return rt_error(c, "input must have shape [C] or [1, C]");
  const char *act = rt_attr_str(c, "case_change_action", "NONE");
  int mode = !strcmp(act, "LOWER") ? 1 : !strcmp(act, "UPPER") ? 2 : 0;
  if (!mode && strcmp(act, "NONE"))
    return rt_error(c, "unknown case_change_action '%s'", act);
  bool sensitive = rt_attr_int(c, "is_case_sensitive", 0) != 0;
  const Attr *sw = rt_attr(c, "stopwords");
  size_t nsw = sw && sw->type == ATTR_STRINGS ? sw->n : 0;
  /* stopwords compared case-insensitively through their lower-case forms */
  IrStr *stops = calloc(nsw ? nsw : 1, sizeof *stops);
  for (size_t i = 0; i < nsw; i++) {
    if (sensitive) {
      stops[i] = sw->strings[i];
    } else {
      size_t l;
      stops[i].s = case_convert(&sw->strings[i], false, &l);
      stops[i].len = l;
    }
  }
  const IrStr *in = x->data;
  uint64_t n = x->numel, kept = 0;
  bool *keep = calloc(n ? n : 1, 1);
  for (uint64_t i = 0; i < n; i++) {
    IrStr key = in[i];
    char *tmp = NULL;
    if (!sensitive) {
      size_t l;
      tmp = case_convert(&in[i], false, &l);
      key.s = tmp;
      key.len = l;
    }
    keep[i] = true;
    for (size_t j = 0; j < nsw && keep[i]; j++)
      if (km_str_eq(&key, &stops[j])) keep[i] = false;
    kept += keep[i];
    free(tmp);
  }
  int64_t dims[2] = {1, (int64_t)(kept ? kept : 1)};
  RtValue *y = x->rank == 1 ? rt_out(c, 0, ELEM_STRING, 1, dims + 1) : rt_out(c, 0, ELEM_STRING, 2, dims);
  if (y) {
    uint64_t o = 0;
    for (uint64_t i = 0; i < n; i++) {
      if (!keep[i]) continue;
      if (mode) {
        size_t l;
        char *t = case_convert(&in[i], mode == 2, &l);
        rt_str_set(y, o++, t, l);
        free(t);
      } else {
        rt_str_set(y, o++, in[i].s, in[i].len);
      }
    }
  }
  if (!sensitive)
    for (size_t i = 0; i < nsw; i++) free((void *)stops[i].s);
  free(stops);
  free(keep);
  return y ? 0 : -1;
}

/* ------------------------------------------------------------------ StringConcat */

int rt_k_StringConcat(RtCtx *c) {
  RtValue *a = str_in(c, 0), *b = str_in(c, 1);
  if (!a || !b) return -1;
  RtBcast bc;
  RtValue *ins[2] = {a, b};
  if (!rt_bcast_init(c, &bc, 2, ins)) return -1;
  RtValue *y = rt_out(c, 0, ELEM_STRING, bc.rank, bc.dims);
  if (!y) return -1;
  const IrStr *sa = a->data, *sb = b->data;
  for (uint64_t i = 0; i < bc.numel; i++, rt_bcast_next(&bc)) {
    const IrStr *p = &sa[bc.off[0]], *q = &sb[bc.off[1]];
    char *t = malloc(p->len + q->len + 1);
    if (p->len) memcpy(t, p->s, p->len);
    if (q->len) memcpy(t + p->len, q->s, q->len);
    rt_str_set(y, i, t, p->len + q->len);
    free(t);
  }
  return 0;
}

/* ------------------------------------------------------------------ StringSplit */

static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

/* Split s into pieces (Python str.split semantics: with no delimiter, runs of whitespace
 * separate and leading/trailing whitespace yields no empty piece). Writes up to `cap`
 * (start, length) pairs into pc (may be NULL) and returns the piece count. */
static int64_t split_one(const IrStr *s, const IrStr *delim, int64_t maxsplit, size_t *pc,
                         int64_t cap) {
  int64_t n = 0, splits = 0;
  size_t i = 0, len = s->len;
#define PUT(st, l)                                                                             \
  do {                                                                                         \
    if (pc && n < cap) { pc[2 * n] = (st); pc[2 * n + 1] = (l); }                              \
    n++;                                                                                       \
  } while (0)
  if (delim && delim->len) {
    size_t start = 0;
    while (i + delim->len <= len && (maxsplit < 0 || splits < maxsplit)) {
      if (!memcmp(s->s + i, delim->s, delim->len)) {
        PUT(start, i - start);
        splits++;
        i += delim->len;
        start = i;
      } else {
        i++;
      }
    }
    PUT(start, len - start);
    return n;
  }
  while (i < len) {
    while (i < len && is_space(s->s[i])) i++;
    if (i >= len) break;
    if (maxsplit >= 0 && splits >= maxsplit) {
      PUT(i, len - i);
      break;
    }
    size_t st = i;
    while (i < len && !is_space(s->s[i])) i++;
    PUT(st, i - st);
    splits++;
  }
#undef PUT
  return n;
}

int rt_k_StringSplit(RtCtx *c) {
  RtValue *x = str_in(c, 0);
  if (!x) return -1;
  if (x->rank >= RT_MAX_RANK) return rt_error(c, "input rank too large");
  const Attr *da = rt_attr(c, "delimiter");
  const IrStr *delim = da && da->type == ATTR_STRING ? &da->s : NULL;
  int64_t maxsplit = rt_attr(c, "maxsplit") ? rt_attr_int(c, "maxsplit", -1) : -1;
  if (maxsplit < 0) maxsplit = -1;
  const IrStr *in = x->data;
  int64_t width = 0;
  int64_t dims[RT_MAX_RANK];
  for (int i = 0; i < x->rank; i++) dims[i] = x->dims[i];
  RtValue *len = rt_out(c, 1, ELEM_INT64, x->rank, dims);
  if (!len) return -1;
  for (uint64_t i = 0; i < x->numel; i++) {
    int64_t k = split_one(&in[i], delim, maxsplit, NULL, 0);
    ((int64_t *)len->data)[i] = k;
    if (k > width) width = k;
  }
  dims[x->rank] = width;
  RtValue *y = rt_out(c, 0, ELEM_STRING, x->rank + 1, dims);
  if (!y) return -1;
  size_t *pc = malloc(sizeof(size_t) * 2 * (size_t)(width ? width : 1));
  for (uint64_t i = 0; i < x->numel; i++) {
    int64_t k = split_one(&in[i], delim, maxsplit, pc, width);
    for (int64_t j = 0; j < k; j++)
      rt_str_set(y, i * (uint64_t)width + (uint64_t)j, in[i].s + pc[2 * j], pc[2 * j + 1]);
  }
  free(pc);
  return 0;
}

/* ------------------------------------------------------------------ RegexFullMatch */

typedef struct Buf {
  char *p;
  size_t n, cap;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }
static void buf_putc(Buf *b, char ch) { buf_put(b, &ch, 1); }

#define WORD_CHARS "0-9A-Za-z_"
#define SPACE_CHARS " \t\n\v\f\r"

static int esc_char(char e) {
  switch (e) {
  case 'n': return '\n';
  case 't': return '\t';
  case 'r': return '\r';
  case 'f': return '\f';
  case 'v': return '\v';
  case 'a': return '\a';
  default: return e;
  }
}

/* Put a literal character outside brackets. */
static void put_literal(Buf *b, char ch) {
  if (ch == '^') buf_puts(b, "\\^");
  else if (ch == '\\') buf_puts(b, "\\\\");
  else if (strchr(".[]$()|*+?{}", ch)) {
    char t[4] = {'[', ch, ']', 0};
    buf_puts(b, t);
  } else buf_putc(b, ch);
}

/* Translate one bracket expression starting at p[i] == '['; returns the index after it,
 * or 0 on a construct <regex.h> cannot express. */
static size_t tr_bracket(const char *p, size_t n, size_t i, Buf *b) {
  Buf body = {0};
  bool neg = false, rbr = false, hyph = false, caret = false;
  i++;
  if (i < n && p[i] == '^') { neg = true; i++; }
  if (i < n && p[i] == ']') { rbr = true; i++; }
  bool first = true;
  while (i < n && p[i] != ']') {
    char ch = p[i];
    if (ch == '\\' && i + 1 < n) {
      char e = p[i + 1];
      i += 2;
      if (e == 'd') buf_puts(&body, "0-9");
      else if (e == 'w') buf_puts(&body, WORD_CHARS);
      else if (e == 's') buf_puts(&body, SPACE_CHARS);
      else if (e == 'D' || e == 'W' || e == 'S') { free(body.p); return 0; }
      else {
        int lit = esc_char(e);
        if (lit == ']') rbr = true;
        else if (lit == '-') hyph = true;
        else if (lit == '^') caret = true;
        else buf_putc(&body, (char)lit);
      }
    } else if (ch == '[' && i + 1 < n && p[i + 1] == ':') {
      const char *end = strstr(p + i + 2, ":]");
      if (!end) { free(body.p); return 0; }
      buf_put(&body, p + i, (size_t)(end + 2 - (p + i)));
      i = (size_t)(end + 2 - p);
    } else if (ch == '-' && (first || i + 1 >= n || p[i + 1] == ']')) {
      hyph = true;
      i++;
    } else if (ch == '^') {
      caret = true;
      i++;
    } else {
      buf_putc(&body, ch);
      i++;
    }
    first = false;
  }
  if (i >= n) { free(body.p); return 0; }
  buf_putc(b, '[');
  if (neg) buf_putc(b, '^');
  if (rbr) buf_putc(b, ']');
  if (body.n) buf_put(b, body.p, body.n);
  if (caret) buf_putc(b, '^');
  if (hyph) buf_putc(b, '-');
  if (!rbr && !body.n && !caret && !hyph) { free(body.p); return 0; } /* empty class */
  buf_putc(b, ']');
  free(body.p);
  return i + 1;
}

/* RE2 -> POSIX ERE (glibc): escapes \d \w \s (and negations), \b \B, lazy quantifiers
 * (same full-match result), non-capturing groups. NULL when untranslatable. */
static char *re2_to_ere(const char *p, size_t n) {
  Buf b = {0};
  buf_puts(&b, "^(");
  for (size_t i = 0; i < n;) {
    char ch = p[i];
    if (ch == '\\') {
      if (i + 1 >= n) goto fail;
      char e = p[i + 1];
      i += 2;
      switch (e) {
      case 'd': buf_puts(&b, "[0-9]"); break;
      case 'D': buf_puts(&b, "[^0-9]"); break;
      case 'w': buf_puts(&b, "[" WORD_CHARS "]"); break;
      case 'W': buf_puts(&b, "[^" WORD_CHARS "]"); break;
      case 's': buf_puts(&b, "[" SPACE_CHARS "]"); break;
      case 'S': buf_puts(&b, "[^" SPACE_CHARS "]"); break;
      case 'b': buf_puts(&b, "\\b"); break;
      case 'B': buf_puts(&b, "\\B"); break;
      case 'A': buf_putc(&b, '^'); break;
      case 'z': buf_putc(&b, '$'); break;
      default:
        if ((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z' && !strchr("ntrfva", e)) ||
            (e >= 'A' && e <= 'Z'))
          goto fail; /* backreferences, \x.., \p{..}, \Q..\E ... */
        put_literal(&b, (char)esc_char(e));
      }
    } else if (ch == '[') {
      size_t j = tr_bracket(p, n, i, &b);
      if (!j) goto fail;
      i = j;
    } else if (ch == '(' && i + 1 < n && p[i + 1] == '?') {
      if (i + 2 < n && p[i + 2] == ':') {
        buf_putc(&b, '(');
        i += 3;
      } else {
        goto fail; /* flags, named groups */
      }
    } else if ((ch == '*' || ch == '+' || ch == '?' || ch == '}') && i + 1 < n && p[i + 1] == '?') {
      buf_putc(&b, ch); /* lazy: same set of full matches */
      i += 2;
    } else {
      buf_putc(&b, ch);
      i++;
    }
  }
  buf_puts(&b, ")$");
  return b.p;
fail:
  free(b.p);
  return NULL;
}

int rt_k_RegexFullMatch(RtCtx *c) {
  RtValue *x = str_in(c, 0);
  if (!x) return -1;
  const Attr *pa = rt_attr(c, "pattern");
  if (!pa || pa->type != ATTR_STRING) return rt_error(c, "attribute 'pattern' is required");
  char *ere = re2_to_ere(pa->s.s, pa->s.len);
  if (!ere) return rt_error(c, "pattern '%s' uses syntax this runtime cannot translate", pa->s.s);
  regex_t re;
  int rc = regcomp(&re, ere, REG_EXTENDED | REG_NOSUB);
  if (rc) {
    char msg[256];
    regerror(rc, &re, msg, sizeof msg);
    free(ere);
    return rt_error(c, "invalid pattern '%s': %s", pa->s.s, msg);
  }
  free(ere);
  RtValue *y = rt_out(c, 0, ELEM_BOOL, x->rank, x->dims);
  if (!y) {
    regfree(&re);
    return -1;
  }
  const IrStr *in = x->data;
  uint8_t *o = y->data;
  for (uint64_t i = 0; i < x->numel; i++) {
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)in[i].len;
    o[i] = regexec(&re, in[i].s ? in[i].s : "", 1, m, REG_STARTEND) == 0;
  }
  regfree(&re);
  return 0;
}

/* ------------------------------------------------------------------ TfIdfVectorizer */

static uint64_t gram_hash(const int64_t *a, int64_t stride, int64_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (int64_t j = 0; j < n; j++) h = km_mix(h ^ (uint64_t)a[j * stride]);
  return h;
}

/* The pool's n-grams of one length, hashed by their canonical token ids. */
typedef struct GramTable {
  int64_t n, cnt, gbase;   /* length, how many, ngram number of the first */
  const int64_t *ids;      /* cnt * n canonical ids */
  uint64_t mask;
  int64_t *slot;           /* k + 1, 0 = empty */
} GramTable;

static void gram_init(GramTable *g, const int64_t *ids, int64_t n, int64_t cnt, int64_t gbase) {
  g->n = n;
  g->cnt = cnt;
  g->gbase = gbase;
  g->ids = ids;
  uint64_t cap = 16;
  while (cap < (uint64_t)cnt * 2) cap <<= 1;
  g->mask = cap - 1;
  g->slot = calloc(cap, sizeof *g->slot);
  if (!g->slot) abort();
  for (int64_t k = 0; k < cnt; k++) {
    uint64_t h = gram_hash(ids + k * n, 1, n) & g->mask;
    while (g->slot[h] && memcmp(ids + (g->slot[h] - 1) * n, ids + k * n, sizeof(int64_t) * (size_t)n))
      h = (h + 1) & g->mask;
    if (!g->slot[h]) g->slot[h] = k + 1; /* duplicates keep the first */
  }
}

/* The n-gram at t[0], t[stride], ...: its index among the table's, or -1. */
static int64_t gram_find(const GramTable *g, const int64_t *t, int64_t stride) {
  for (int64_t j = 0; j < g->n; j++)
    if (t[j * stride] < 0) return -1;
  for (uint64_t h = gram_hash(t, stride, g->n) & g->mask;; h = (h + 1) & g->mask) {
    int64_t k = g->slot[h] - 1;
    if (k < 0) return -1;
    int64_t j = 0;
    while (j < g->n && g->ids[k * g->n + j] == t[j * stride]) j++;
    if (j == g->n) return k;
  }
}

int rt_k_TfIdfVectorizer(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  bool is_s = x->elem == ELEM_STRING;
  if (!is_s && x->elem != ELEM_INT32 && x->elem != ELEM_INT64)
    return rt_error(c, "input must be string, int32 or int64");
  if (x->rank != 1 && x->rank != 2) return rt_error(c, "input must be 1-D or 2-D");
  const char *mode_s = rt_attr_str(c, "mode", "TF");
  int mode = !strcmp(mode_s, "TF") ? 0 : !strcmp(mode_s, "IDF") ? 1 : !strcmp(mode_s, "TFIDF") ? 2 : -1;
  if (mode < 0) return rt_error(c, "unknown mode '%s'", mode_s);
  int64_t min_g = rt_attr_int(c, "min_gram_length", 1), max_g = rt_attr_int(c, "max_gram_length", 1);
  int64_t max_skip = rt_attr_int(c, "max_skip_count", 0);
  size_t n_counts = 0, n_idx = 0, n_w = 0;
  const int64_t *counts = rt_attr_ints(c, "ngram_counts", &n_counts);
  const int64_t *idx = rt_attr_ints(c, "ngram_indexes", &n_idx);
  const float *w = rt_attr_floats(c, "weights", &n_w);
  if (min_g < 1 || max_g < min_g || max_skip < 0 || !counts || !idx)
    return rt_error(c, "bad gram lengths, skip count or ngram attributes");
  int64_t out_n = 0;
  for (size_t i = 0; i < n_idx; i++) {
    if (idx[i] < 0) return rt_error(c, "negative ngram index");
    if (idx[i] + 1 > out_n) out_n = idx[i] + 1;
  }
  if (w && (int64_t)n_w < out_n) return rt_error(c, "fewer weights than outputs");
  RtValue *pool = km_attr_list(c, is_s ? "pool_strings" : "pool_int64s");
  if (!pool) return rt_error(c, "the pool attribute for this input type is missing");
  int64_t pool_n = (int64_t)pool->numel, ng = max_g < (int64_t)n_counts ? max_g : (int64_t)n_counts;
  /* canonical token id: the first pool position holding an equal token */
  KmIndex ix;
  km_index_init(&ix, pool, x->elem);
  int64_t *pid = malloc(sizeof(int64_t) * (size_t)(pool_n ? pool_n : 1));
  for (int64_t i = 0; i < pool_n; i++) pid[i] = km_index_find(&ix, pool, (uint64_t)i);
  uint64_t N = x->numel;
  int64_t *tok = malloc(sizeof(int64_t) * (N ? N : 1));
  for (uint64_t i = 0; i < N; i++) tok[i] = km_index_find(&ix, x, i);
  GramTable *tabs = calloc((size_t)(ng > 0 ? ng : 1), sizeof *tabs);
  int rc = 0;
  int64_t gbase = 0; /* ngram number of the first n-gram of the current length */
  for (int64_t gn = 1; gn <= ng; gn++) {
    int64_t st = counts[gn - 1], en = gn < (int64_t)n_counts ? counts[gn] : pool_n;
    if (st < 0 || en < st || en > pool_n) {
      rc = rt_error(c, "bad ngram_counts");
      goto done;
    }
    gram_init(&tabs[gn - 1], pid + st, gn, (en - st) / gn, gbase);
    gbase += (en - st) / gn;
  }
  int64_t rows = x->rank == 2 ? x->dims[0] : 1, cols = x->rank == 2 ? x->dims[1] : x->dims[0];
  int64_t odims[2] = {rows, out_n};
  RtValue *y = x->rank == 2 ? rt_out(c, 0, ELEM_FLOAT, 2, odims) : rt_out(c, 0, ELEM_FLOAT, 1, odims + 1);
  if (!y) {
    rc = -1;
    goto done;
  }
  float *o = y->data;
  for (int64_t r = 0; r < rows; r++) {
    const int64_t *t = tok + r * cols;
    for (int64_t gn = min_g; gn <= ng; gn++) {
      const GramTable *gt = &tabs[gn - 1];
      int64_t skips = gn == 1 ? 0 : max_skip; /* unigrams are counted once */
      for (int64_t s = 0; s <= skips && gt->cnt; s++) {
        int64_t step = s + 1;
        for (int64_t i = 0; i + (gn - 1) * step < cols; i++) {
          int64_t k = gram_find(gt, t + i, step);
          if (k < 0) continue;
          int64_t g = gt->gbase + k;
          if (g >= (int64_t)n_idx) {
            rc = rt_error(c, "more n-grams than ngram_indexes");
            goto done;
          }
          o[r * out_n + idx[g]] += 1;
        }
      }
    }
    for (int64_t k = 0; k < out_n; k++) {
      float *v = &o[r * out_n + k];
      float wt = w ? w[k] : 1.0f;
      if (mode == 1) *v = *v > 0 ? wt : 0;
      else if (mode == 2) *v = *v * wt;
    }
  }
done:
  for (int64_t gn = 0; gn < ng; gn++) free(tabs[gn].slot);
  free(tabs);
  km_index_free(&ix);
  rt_unref(pool);
  free(pid);
  free(tok);
  return rc;
}

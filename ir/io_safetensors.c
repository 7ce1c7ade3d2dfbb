/* io_safetensors.c - safetensors files: a strict reader (header JSON through cJSON, every
 * number, range and size checked) and a writer whose files load in Hugging Face's library
 * (contiguous data, no gaps) while keeping the data section 4096-aligned.
 *
 * Conventions for what safetensors cannot name (docs/formats.md has the full text):
 *  - int4/uint4/int2/uint2, float4e2m1, the fnuz float8s, complex64/128 and string tensors are
 *    stored with dtype "U8" and shape [number of bytes]; __metadata__ then holds the key
 *    "effc.type.<tensor name>" whose value is the ONNX type in text syntax, e.g. "int4[3,5]"
 *    or "string[]" (a scalar). Sub-byte data is packed as in ONNX raw_data (low bits first).
 *  - A string tensor of n elements is stored as n little-endian u64 byte lengths followed by
 *    the n strings' bytes, concatenated, in C order.
 *  - The writer always puts "format": "pt" in __metadata__ (transformers refuses files whose
 *    format is missing or unknown when metadata is present).
 *  - Tensors are laid out contiguously (Hugging Face's reader rejects gaps), grouped by
 *    alignment: 8-byte element types first, then 4, 2 and 1, each group in the given order,
 *    so every tensor starts at a multiple of its element size from a 4096-aligned base. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ir.h"

#define ST_MAX_HEADER 100000000u /* Hugging Face's limit */
#define ST_MAX_RANK 1024
#define ST_ALIGN 4096
#define ST_TYPE_KEY "effc.type."

static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static void wr64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* safetensors dtype name -> element type (types with an st_dtype in the traits table). */
static ElemType st_dtype_elem(const char *s) {
  for (int e = 1; e < ELEM_COUNT; e++) {
    const char *n = ir_elem((ElemType)e)->st_dtype;
    if (n && strcmp(n, s) == 0) return (ElemType)e;
  }
  return ELEM_UNDEFINED;
}

/* A JSON number that is integral, >= 0 and below 2^53 (exactly representable). */
static bool json_u53(const cJSON *n, uint64_t *out) {
  if (!cJSON_IsNumber(n)) return false;
  double v = n->valuedouble;
  if (!(v >= 0.0) || v >= 9007199254740992.0 || v != floor(v)) return false;
  *out = (uint64_t)v;
  return true;
}

static int cmp_name(const void *a, const void *b) {
  const StEntry *x = *(const StEntry *const *)a, *y = *(const StEntry *const *)b;
  return strcmp(x->name, y->name);
}

static int cmp_range(const void *a, const void *b) {
  const StEntry *x = *(const StEntry *const *)a, *y = *(const StEntry *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

/* Parse "int4[3,5]" (an ONNX tensor type in text syntax) into e's type and shape. */
static bool parse_type_value(Arena *a, const char *s, StEntry *e) {
  const char *b = strchr(s, '[');
  if (!b || b == s) return false;
  ElemType t = ir_elem_from_name(s, (size_t)(b - s));
  if (t == ELEM_UNDEFINED) return false;
  int64_t dims[ST_MAX_RANK];
  int rank = 0;
  const char *p = b + 1;
  if (*p != ']') {
    for (;;) {
      if (rank >= ST_MAX_RANK || *p < '0' || *p > '9') return false;
      if (*p == '0' && p[1] >= '0' && p[1] <= '9') return false;
      uint64_t v = 0;
      while (*p >= '0' && *p <= '9') {
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(*p - '0')) / 10) return false;
        v = v * 10 + (uint64_t)(*p++ - '0');
      }
      dims[rank++] = (int64_t)v;
      if (*p == ',') {
        p++;
        continue;
      }
      if (*p == ']') break;
      return false;
    }
  }
  if (p[0] != ']' || p[1] != 0) return false;
  e->elem = t;
  e->rank = rank;
  e->dims = rank ? ir_arena_dup(a, dims, (size_t)rank * sizeof(int64_t)) : NULL;
  return true;
}

/* numel of an entry's shape, false on overflow. */
static bool entry_numel(const StEntry *e, uint64_t *out) {
  uint64_t n = 1;
  bool zero = false;
  for (int i = 0; i < e->rank; i++) {
    uint64_t d = (uint64_t)e->dims[i];
    if (d == 0) {
      zero = true;
      continue;
    }
    if (n > (uint64_t)INT64_MAX / d) return false;
    n *= d;
  }
  *out = zero ? 0 : n;
  return true;
}

#define PERR(...)                                                                                  \
  do {                                                                                             \
    ir_error(d, ir_noloc, __VA_ARGS__);                                                            \
    goto fail;                                                                                     \
  } while (0)

bool ir_st_parse(SafeTensors *st, const uint8_t *buf, size_t len, const char *path, Diag *d) {
  memset(st, 0, sizeof *st);
  ir_arena_init(&st->arena);
  if (!path) path = "<safetensors>";
  cJSON *root = NULL;
  char *hcopy = NULL;
  const StEntry **sorted = NULL;
  if (len < 8) PERR("%s: too short for a safetensors header", path);
  uint64_t hl = rd64(buf);
  if (hl > len - 8)
    PERR("%s: header length %llu runs past the end of the file (%zu bytes)", path,
         (unsigned long long)hl, len);
  if (hl > ST_MAX_HEADER)
    PERR("%s: header length %llu is over the %u-byte limit", path, (unsigned long long)hl,
         ST_MAX_HEADER);
  const uint8_t *h = buf + 8;
  if (hl < 2 || h[0] != '{') PERR("%s: safetensors header must be a JSON object", path);
  if (memchr(h, 0, hl)) PERR("%s: NUL byte in the safetensors header", path);
  if (!ir_utf8_valid(h, hl)) PERR("%s: safetensors header is not valid UTF-8", path);
  hcopy = malloc(hl + 1);
  if (!hcopy) PERR("%s: out of memory", path);
  memcpy(hcopy, h, hl);
  hcopy[hl] = 0;
  const char *end = NULL;
  root = cJSON_ParseWithLengthOpts(hcopy, hl, &end, 0);
  if (!root) {
    size_t at = (end && end >= hcopy && end <= hcopy + hl) ? (size_t)(end - hcopy) : 0;
    PERR("%s: invalid JSON in the safetensors header (near byte %zu)", path, at);
  }
  for (const char *q = end; q && q < hcopy + hl; q++)
    if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
      PERR("%s: text after the safetensors header's JSON object", path);
  if (!cJSON_IsObject(root)) PERR("%s: safetensors header must be a JSON object", path);

  uint64_t dsize = len - 8 - hl;
  st->data_start = 8 + hl;
  int n = 0, nmeta_obj = 0;
  for (cJSON *c = root->child; c; c = c->next) {
    if (!c->string) PERR("%s: malformed safetensors header", path);
    if (strcmp(c->string, "__metadata__") == 0)
      nmeta_obj++;
    else if (n == INT32_MAX)
      PERR("%s: too many tensors", path);
    else
      n++;
  }
  if (nmeta_obj > 1) PERR("%s: duplicate key \"__metadata__\"", path);
  st->entries = ir_arena_alloc(&st->arena, (size_t)(n ? n : 1) * sizeof(StEntry));
  int k = 0;
  cJSON *meta = NULL;
  for (cJSON *c = root->child; c; c = c->next) {
    if (strcmp(c->string, "__metadata__") == 0) {
      meta = c;
      continue;
    }
    StEntry *e = &st->entries[k++];
    e->name = ir_arena_strdup(&st->arena, c->string);
    if (!cJSON_IsObject(c)) PERR("%s: tensor '%s': entry must be an object", path, e->name);
    cJSON *dt = NULL, *sh = NULL, *of = NULL;
    for (cJSON *f = c->child; f; f = f->next) {
      cJSON **slot = !strcmp(f->string, "dtype")          ? &dt
                     : !strcmp(f->string, "shape")        ? &sh
                     : !strcmp(f->string, "data_offsets") ? &of
                                                          : NULL;
      if (!slot) PERR("%s: tensor '%s': unknown key \"%s\"", path, e->name, f->string);
      if (*slot) PERR("%s: tensor '%s': duplicate key \"%s\"", path, e->name, f->string);
      *slot = f;
    }
    if (!dt || !sh || !of)
      PERR("%s: tensor '%s': needs dtype, shape and data_offsets", path, e->name);
    if (!cJSON_IsString(dt)) PERR("%s: tensor '%s': dtype must be a string", path, e->name);
    e->elem = st_dtype_elem(dt->valuestring);
    if (e->elem == ELEM_UNDEFINED)
      PERR("%s: tensor '%s': unsupported dtype \"%s\"", path, e->name, dt->valuestring);
    if (!cJSON_IsArray(sh)) PERR("%s: tensor '%s': shape must be an array", path, e->name);
    int rank = cJSON_GetArraySize(sh);
    if (rank > ST_MAX_RANK) PERR("%s: tensor '%s': rank %d is too large", path, e->name, rank);
    e->rank = rank;
    e->dims = rank ? ir_arena_alloc(&st->arena, (size_t)rank * sizeof(int64_t)) : NULL;
    int i = 0;
    for (cJSON *x = sh->child; x; x = x->next, i++) {
      uint64_t v;
      if (!json_u53(x, &v))
        PERR("%s: tensor '%s': shape entries must be integers in [0, 2^53)", path, e->name);
      e->dims[i] = (int64_t)v;
    }
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || !json_u53(of->child, &e->begin) ||
        !json_u53(of->child->next, &e->end))
      PERR("%s: tensor '%s': data_offsets must be two integers in [0, 2^53)", path, e->name);
    if (e->begin > e->end || e->end > dsize)
      PERR("%s: tensor '%s': data_offsets [%llu, %llu] lie outside the data section (%llu bytes)",
           path, e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
           (unsigned long long)dsize);
    uint64_t numel;
    size_t nb;
    if (!entry_numel(e, &numel) || !ir_elem_nbytes(e->elem, numel, &nb))
      PERR("%s: tensor '%s': shape has too many elements", path, e->name);
    if ((uint64_t)nb != e->end - e->begin)
      PERR("%s: tensor '%s': %llu bytes in data_offsets but shape and dtype need %zu", path,
           e->name, (unsigned long long)(e->end - e->begin), nb);
  }
  st->n_entries = n;

  /* names: unique; keep the sorted index for ir_st_find */
  sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
  if (!sorted) PERR("%s: out of memory", path);
  for (int i = 0; i < n; i++) sorted[i] = &st->entries[i];
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_name);
  for (int i = 1; i < n; i++)
    if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
      PERR("%s: duplicate tensor name '%s'", path, sorted[i]->name);
  st->by_name = n ? ir_arena_dup(&st->arena, sorted, (size_t)n * sizeof *sorted) : NULL;

  /* __metadata__: an object of strings; effc.type.<name> retypes a U8 entry */
  if (meta) {
    if (!cJSON_IsObject(meta)) PERR("%s: __metadata__ must be an object", path);
    int nm = cJSON_GetArraySize(meta);
    st->metadata = ir_arena_alloc(&st->arena, (size_t)(nm ? nm : 1) * sizeof(StrPair));
    for (cJSON *c = meta->child; c; c = c->next) {
      if (!cJSON_IsString(c))
        PERR("%s: __metadata__ value of \"%s\" must be a string", path, c->string);
      for (int i = 0; i < st->n_metadata; i++)
        if (strcmp(st->metadata[i].key, c->string) == 0)
          PERR("%s: duplicate __metadata__ key \"%s\"", path, c->string);
      st->metadata[st->n_metadata].key = ir_arena_strdup(&st->arena, c->string);
      st->metadata[st->n_metadata].value = ir_arena_strdup(&st->arena, c->valuestring);
      st->n_metadata++;
      if (strncmp(c->string, ST_TYPE_KEY, strlen(ST_TYPE_KEY)) != 0) continue;
      const char *tn = c->string + strlen(ST_TYPE_KEY);
      StEntry *e = (StEntry *)ir_st_find(st, tn);
      if (!e) PERR("%s: __metadata__ key \"%s\" names no tensor", path, c->string);
      if (e->elem != ELEM_UINT8 || e->rank != 1)
        PERR("%s: tensor '%s': __metadata__ retypes it, so it must be U8 with a 1-D shape", path,
             tn);
      uint64_t nbytes = e->end - e->begin;
      if (!parse_type_value(&st->arena, c->valuestring, e))
        PERR("%s: tensor '%s': bad type \"%s\" in __metadata__ (expected e.g. \"int4[3,5]\")", path,
             tn, c->valuestring);
      if (ir_elem(e->elem)->st_dtype)
        PERR("%s: tensor '%s': type %s has a safetensors dtype (%s); it must not be stored as U8",
             path, tn, ir_elem(e->elem)->name, ir_elem(e->elem)->st_dtype);
      uint64_t numel;
      size_t nb;
      if (!entry_numel(e, &numel)) PERR("%s: tensor '%s': shape has too many elements", path, tn);
      if (e->elem == ELEM_STRING) {
        if (numel > nbytes / 8)
          PERR("%s: tensor '%s': %llu bytes cannot hold %llu string lengths", path, tn,
               (unsigned long long)nbytes, (unsigned long long)numel);
      } else if (!ir_elem_nbytes(e->elem, numel, &nb) || (uint64_t)nb != nbytes) {
        PERR("%s: tensor '%s': %llu bytes but %s needs %zu", path, tn, (unsigned long long)nbytes,
             c->valuestring, nb);
      }
    }
  }

  /* ranges must not overlap (empty ranges overlap nothing) */
  for (int i = 0; i < n; i++) sorted[i] = &st->entries[i];
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_range);
  uint64_t hi = 0;
  const StEntry *last = NULL;
  for (int i = 0; i < n; i++) {
    const StEntry *e = sorted[i];
    if (e->begin == e->end) continue;
    if (last && e->begin < hi) PERR("%s: tensors '%s' and '%s' overlap", path, last->name, e->name);
    hi = e->end;
    last = e;
  }
  free(sorted);
  free(hcopy);
  cJSON_Delete(root);
  st->file.data = buf;
  st->file.len = len;
  return true;
fail:
  free(sorted);
  free(hcopy);
  cJSON_Delete(root);
  ir_arena_free(&st->arena);
  memset(st, 0, sizeof *st);
  return false;
}

bool ir_st_open(SafeTensors *st, const char *path, Diag *d) {
  MappedFile f;
  char err[512];
  memset(st, 0, sizeof *st);
  if (!ir_file_map(path, &f, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    return false;
  }
  if (!ir_st_parse(st, f.data, f.len, path, d)) {
    ir_file_unmap(&f);
    return false;
  }
  st->file = f;
  st->owns_file = true;
  return true;
}

void ir_st_close(SafeTensors *st) {
  if (st->owns_file) ir_file_unmap(&st->file);
  ir_arena_free(&st->arena);
  memset(st, 0, sizeof *st);
}

const StEntry *ir_st_find(const SafeTensors *st, const char *name) {
  int lo = 0, hi = st->n_entries - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(st->by_name[mid]->name, name);
    if (c == 0) return st->by_name[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return NULL;
}

Tensor *ir_st_tensor(Arena *a, const SafeTensors *st, const StEntry *e, const char *path, Diag *d) {
  if (!path) path = "<safetensors>";
  /* ir_st_parse checked begin <= end <= data size, so this range is inside the buffer */
  const uint8_t *p = st->file.data + st->data_start + e->begin;
  uint64_t nbytes = e->end - e->begin, numel;
  if (!entry_numel(e, &numel)) {
    ir_error(d, ir_noloc, "%s: tensor '%s': shape has too many elements", path, e->name);
    return NULL;
  }
  Tensor *t = ir_tensor_new(a, e->elem, e->rank, e->dims);
  t->name = ir_arena_strdup(a, e->name);
  t->has_data = true;
  if (e->elem != ELEM_STRING) {
    t->data = nbytes ? ir_arena_dup(a, p, (size_t)nbytes) : ir_arena_alloc(a, 1);
    t->nbytes = (size_t)nbytes;
    return t;
  }
  /* n lengths, then the bytes; every length must fit and the total must be exact */
  if (numel > nbytes / 8) goto bad;
  IrStr *s = ir_arena_alloc(a, (size_t)(numel ? numel : 1) * sizeof(IrStr));
  uint64_t at = 8 * numel;
  for (uint64_t k = 0; k < numel; k++) {
    uint64_t l = rd64(p + 8 * k);
    if (l > nbytes - at) goto bad;
    s[k] = ir_str(a, (const char *)p + at, (size_t)l);
    at += l;
  }
  if (at != nbytes) goto bad;
  t->data = s;
  t->nbytes = (size_t)numel * sizeof(IrStr);
  return t;
bad:
  ir_error(d, ir_noloc, "%s: tensor '%s': string data does not match its %llu lengths", path,
           e->name, (unsigned long long)numel);
  return NULL;
}

/* ------------------------------------------------------------------ writing */

typedef struct SBuf {
  char *p;
  size_t n, cap;
  bool oom;
} SBuf;

static void sb_put(SBuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (n > b->cap - b->n) {
    size_t c = b->cap ? b->cap : 1024;
    while (c - b->n < n) {
      if (c > SIZE_MAX / 2) {
        b->oom = true;
        return;
      }
      c *= 2;
    }
    char *q = realloc(b->p, c);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
static void sb_str(SBuf *b, const char *s) {
  sb_put(b, s, strlen(s));
}
static void sb_u64(SBuf *b, uint64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
  sb_put(b, t, (size_t)n);
}
/* A JSON string literal; s must be valid UTF-8 (checked by the caller). */
static void sb_json(SBuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_put(b, e, 2);
    } else if (c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", c);
      sb_put(b, e, 6);
    } else {
      sb_put(b, (const char *)&c, 1);
    }
  }
  sb_put(b, "\"", 1);
}

typedef struct WItem {
  const Tensor *t;
  int index;    /* position in the caller's array */
  bool retyped; /* stored as U8 with effc.type metadata */
  int align;    /* 8, 4, 2 or 1 */
  uint64_t numel, nbytes, begin;
} WItem;

static int cmp_witem_name(const void *a, const void *b) {
  const WItem *x = *(const WItem *const *)a, *y = *(const WItem *const *)b;
  return strcmp(x->t->name, y->t->name);
}


static bool fwrite_all(FILE *fp, const void *p, size_t n) {
  return n == 0 || fwrite(p, 1, n, fp) == n;
}

#define WERR(...)                                                                                  \
  do {                                                                                             \
    ir_error(d, ir_noloc, __VA_ARGS__);                                                            \
    goto fail;                                                                                     \
  } while (0)

bool ir_st_write(const char *path, Tensor *const *ts, int n, uint64_t *ext_offsets, Diag *d) {
  WItem *items = NULL;
  WItem **order = NULL;
  SBuf hb = {0};
  AtomicFile af;
  bool opened = false;
  char err[512];
  if (n < 0) n = 0;
  items = calloc((size_t)(n ? n : 1), sizeof *items);
  order = calloc((size_t)(n ? n : 1), sizeof *order);
  if (!items || !order) WERR("%s: out of memory", path);
  for (int i = 0; i < n; i++) {
    const Tensor *t = ts[i];
    WItem *w = &items[i];
    w->t = t;
    w->index = i;
    if (!t || !t->name) WERR("%s: tensor %d has no name", path, i);
    if (!ir_utf8_valid((const unsigned char *)t->name, strlen(t->name)))
      WERR("%s: tensor name '%s' is not valid UTF-8", path, t->name);
    if (strcmp(t->name, "__metadata__") == 0)
      WERR("%s: a tensor may not be named __metadata__", path);
    if (!ir_elem_valid((int)t->elem)) WERR("%s: tensor '%s' has no element type", path, t->name);
    if (!t->has_data) WERR("%s: tensor '%s' has no data", path, t->name);
    if (t->rank < 0 || (t->rank > 0 && !t->dims))
      WERR("%s: tensor '%s' has no shape", path, t->name);
    uint64_t numel = 1;
    bool zero = false;
    for (int k = 0; k < t->rank; k++) {
      if (t->dims[k] < 0) WERR("%s: tensor '%s' has an unknown dimension", path, t->name);
      if (t->dims[k] == 0) {
        zero = true;
        continue;
      }
      if (numel > (uint64_t)INT64_MAX / (uint64_t)t->dims[k])
        WERR("%s: tensor '%s' is too large", path, t->name);
      numel *= (uint64_t)t->dims[k];
    }
    w->numel = zero ? 0 : numel;
    w->retyped = ir_elem(t->elem)->st_dtype == NULL;
    w->align = (int)ir_elem_align(t->elem);
    if (t->elem == ELEM_STRING) {
      const IrStr *s = t->data;
      if (w->numel && !s) WERR("%s: tensor '%s' has no data", path, t->name);
      if (w->numel > (UINT64_MAX >> 4)) WERR("%s: tensor '%s' is too large", path, t->name);
      uint64_t nb = 8 * w->numel;
      for (uint64_t k = 0; k < w->numel; k++) {
        if (s[k].len > UINT64_MAX - nb) WERR("%s: tensor '%s' is too large", path, t->name);
        nb += s[k].len;
      }
      w->nbytes = nb;
    } else {
      size_t nb;
      if (!ir_elem_nbytes(t->elem, w->numel, &nb))
        WERR("%s: tensor '%s' is too large", path, t->name);
      if (nb && (!t->data || t->nbytes < nb))
        WERR("%s: tensor '%s' holds %zu bytes of data, expected %zu", path, t->name, t->nbytes, nb);
      w->nbytes = nb;
    }
    order[i] = w;
  }
  qsort(order, (size_t)n, sizeof *order, cmp_witem_name);
  for (int i = 1; i < n; i++)
    if (strcmp(order[i - 1]->t->name, order[i]->t->name) == 0)
      WERR("%s: duplicate tensor name '%s'", path, order[i]->t->name);

  /* data layout: alignment groups 8, 4, 2, 1, the given order within each group */
  uint64_t off = 0;
  int m = 0;
  for (int a = 8; a >= 1; a /= 2)
    for (int i = 0; i < n; i++)
      if (items[i].align == a) {
        items[i].begin = off;
        if (items[i].nbytes > (1ull << 53) - off) WERR("%s: data section too large", path);
        off += items[i].nbytes;
        order[m++] = &items[i];
      }

  /* header JSON */
  sb_str(&hb, "{\"__metadata__\":{\"format\":\"pt\"");
  for (int i = 0; i < n; i++) {
    const WItem *w = &items[i];
    if (!w->retyped) continue;
    char *key = malloc(strlen(ST_TYPE_KEY) + strlen(w->t->name) + 1);
    if (!key) WERR("%s: out of memory", path);
    strcpy(key, ST_TYPE_KEY);
    strcat(key, w->t->name);
    sb_str(&hb, ",");
    sb_json(&hb, key);
    free(key);
    sb_str(&hb, ":\"");
    sb_str(&hb, ir_elem(w->t->elem)->name);
    sb_str(&hb, "[");
    for (int k = 0; k < w->t->rank; k++) {
      if (k) sb_str(&hb, ",");
      sb_u64(&hb, (uint64_t)w->t->dims[k]);
    }
    sb_str(&hb, "]\"");
  }
  sb_str(&hb, "}");
  for (int i = 0; i < n; i++) {
    const WItem *w = &items[i];
    sb_str(&hb, ",");
    sb_json(&hb, w->t->name);
    sb_str(&hb, ":{\"dtype\":\"");
    sb_str(&hb, w->retyped ? "U8" : ir_elem(w->t->elem)->st_dtype);
    sb_str(&hb, "\",\"shape\":[");
    if (w->retyped) {
      sb_u64(&hb, w->nbytes);
    } else {
      for (int k = 0; k < w->t->rank; k++) {
        if (k) sb_str(&hb, ",");
        sb_u64(&hb, (uint64_t)w->t->dims[k]);
      }
    }
    sb_str(&hb, "],\"data_offsets\":[");
    sb_u64(&hb, w->begin);
    sb_str(&hb, ",");
    sb_u64(&hb, w->begin + w->nbytes);
    sb_str(&hb, "]}");
  }
  sb_str(&hb, "}");
  if (hb.oom) WERR("%s: out of memory", path);
  /* pad with spaces so that 8 + header length is a multiple of 4096 */
  size_t total = ((8 + hb.n + ST_ALIGN - 1) / ST_ALIGN) * ST_ALIGN;
  while (hb.n < total - 8 && !hb.oom)
    sb_put(&hb, "                                ",
           (total - 8 - hb.n) < 32 ? total - 8 - hb.n : 32);
  if (hb.oom) WERR("%s: out of memory", path);
  if (hb.n > ST_MAX_HEADER)
    WERR("%s: safetensors header would exceed %u bytes", path, ST_MAX_HEADER);

  if (!ir_atomic_open(&af, path, err, sizeof err)) WERR("%s", err);
  opened = true;
  uint8_t len8[8];
  wr64(len8, hb.n);
  bool ok = fwrite_all(af.fp, len8, 8) && fwrite_all(af.fp, hb.p, hb.n);
  for (int i = 0; i < m && ok; i++) {
    const WItem *w = order[i];
    if (w->t->elem != ELEM_STRING) {
      ok = fwrite_all(af.fp, w->t->data, (size_t)w->nbytes);
      continue;
    }
    const IrStr *s = w->t->data;
    for (uint64_t k = 0; k < w->numel && ok; k++) {
      wr64(len8, s[k].len);
      ok = fwrite_all(af.fp, len8, 8);
    }
    for (uint64_t k = 0; k < w->numel && ok; k++) ok = fwrite_all(af.fp, s[k].s, s[k].len);
  }
  if (!ok) WERR("%s: write error", path);
  opened = false;
  if (!ir_atomic_commit(&af, err, sizeof err)) WERR("%s", err);
  if (ext_offsets)
    for (int i = 0; i < n; i++) ext_offsets[i] = 8 + hb.n + items[i].begin;
  free(items);
  free(order);
  free(hb.p);
  return true;
fail:
  if (opened) ir_atomic_abort(&af);
  free(items);
  free(order);
  free(hb.p);
  return false;
}

/* io_npy.c - NumPy .npy files: a strict reader (versions 1-3, either byte order, C or Fortran
 * order, the dtypes an ONNX tensor can hold) and a writer (v1, little-endian, C order, header
 * padded exactly as numpy.save pads it), with the DESIGN.md §6 mapping for types NumPy lacks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

#define NPY_MAX_RANK 64      /* NumPy 2 allows 64 dimensions (NumPy 1: 32) */
#define NPY_GROWTH_DIGITS 21 /* numpy pads the header so shape[0] can grow in place */

/* ------------------------------------------------------------------ helpers */

static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* NumPy's name for the dtype an ElemType with a numpy descr corresponds to. */
static const char *numpy_name(ElemType t) {
  switch (t) {
  case ELEM_BOOL:
    return "bool";
  case ELEM_INT8:
    return "int8";
  case ELEM_UINT8:
    return "uint8";
  case ELEM_INT16:
    return "int16";
  case ELEM_UINT16:
    return "uint16";
  case ELEM_INT32:
    return "int32";
  case ELEM_UINT32:
    return "uint32";
  case ELEM_INT64:
    return "int64";
  case ELEM_UINT64:
    return "uint64";
  case ELEM_FLOAT16:
    return "float16";
  case ELEM_FLOAT:
    return "float32";
  case ELEM_DOUBLE:
    return "float64";
  case ELEM_COMPLEX64:
    return "complex64";
  case ELEM_COMPLEX128:
    return "complex128";
  case ELEM_STRING:
    return "str";
  default:
    return NULL;
  }
}

/* The numpy dtype a .npy file must hold for `want` (the mapping of DESIGN.md §6). */
static ElemType npy_carrier(ElemType want) {
  switch (want) {
  case ELEM_BFLOAT16:
    return ELEM_FLOAT;
  case ELEM_FLOAT8E4M3FN:
  case ELEM_FLOAT8E4M3FNUZ:
  case ELEM_FLOAT8E5M2:
  case ELEM_FLOAT8E5M2FNUZ:
  case ELEM_FLOAT8E8M0:
  case ELEM_FLOAT4E2M1:
  case ELEM_UINT4:
  case ELEM_UINT2:
    return ELEM_UINT8;
  case ELEM_INT4:
  case ELEM_INT2:
    return ELEM_INT8;
  default:
    return want;
  }
}

/* ------------------------------------------------------------------ header parsing */
/* The header is a Python dict literal, e.g.
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * We accept exactly the keys descr, fortran_order and shape, each once, in any order, with
 * optional trailing comma and whitespace; then only spaces/newlines up to the data. */

typedef struct NpyHeader {
  char kind;       /* b i u f c U S */
  char order;      /* '<', '>' or '|' */
  size_t itemsize; /* bytes per element in the file */
  bool fortran;
  int rank;
  int64_t dims[NPY_MAX_RANK];
  ElemType elem; /* what the dtype is as an ONNX type (STRING for U and S) */
} NpyHeader;

typedef struct HParse {
  const char *p, *end;
  const char *path;
  Diag *d;
  bool failed;
} HParse;

static bool herr(HParse *h, const char *what) {
  if (!h->failed) ir_error(h->d, ir_noloc, "%s: bad .npy header: %s", h->path, what);
  h->failed = true;
  return false;
}

static void hws(HParse *h) {
  while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

static bool hchar(HParse *h, char c) {
  hws(h);
  if (h->p < h->end && *h->p == c) {
    h->p++;
    return true;
  }
  return false;
}

/* A quoted string without escapes; returns a pointer into the header and its length. */
static bool hstring(HParse *h, const char **s, size_t *n) {
  hws(h);
  if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return herr(h, "expected a quoted string");
  char q = *h->p++;
  const char *b = h->p;
  while (h->p < h->end && *h->p != q) {
    unsigned char c = (unsigned char)*h->p;
    if (c == '\\') return herr(h, "escape sequences are not supported");
    if (c < 0x20) return herr(h, "control character in a string");
    h->p++;
  }
  if (h->p >= h->end) return herr(h, "unterminated string");
  *s = b;
  *n = (size_t)(h->p - b);
  h->p++;
  return true;
}

static bool hword(HParse *h, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(h->end - h->p) >= n && memcmp(h->p, w, n) == 0) {
    const char *q = h->p + n;
    if (q < h->end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                       (*q >= '0' && *q <= '9') || *q == '_'))
      return false;
    h->p = q;
    return true;
  }
  return false;
}

/* A non-negative Python int (no leading zeros; a Python 2 'L' suffix is tolerated). */
static bool hint(HParse *h, int64_t *out) {
  hws(h);
  if (h->p < h->end && *h->p == '-') return herr(h, "negative dimension in shape");
  if (h->p >= h->end || *h->p < '0' || *h->p > '9') return herr(h, "expected an integer in shape");
  if (*h->p == '0' && h->p + 1 < h->end && h->p[1] >= '0' && h->p[1] <= '9')
    return herr(h, "integer with leading zeros in shape");
  uint64_t v = 0;
  while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
    unsigned dgt = (unsigned)(*h->p - '0');
    if (v > ((uint64_t)INT64_MAX - dgt) / 10) return herr(h, "dimension too large");
    v = v * 10 + dgt;
    h->p++;
  }
  if (h->p < h->end && (*h->p == 'L' || *h->p == 'l')) h->p++;
  *out = (int64_t)v;
  return true;
}

/* shape: a tuple of ints. "()" "(3,)" "(2, 3)" "(2, 3,)"; "(3)" is an int, not a tuple. */
static bool hshape(HParse *h, NpyHeader *hd) {
  if (!hchar(h, '(')) {
    hws(h);
    if (h->p < h->end && *h->p == '[') return herr(h, "shape must be a tuple, not a list");
    return herr(h, "shape must be a tuple");
  }
  hd->rank = 0;
  if (hchar(h, ')')) return true;
  for (;;) {
    if (hd->rank >= NPY_MAX_RANK) return herr(h, "too many dimensions");
    if (!hint(h, &hd->dims[hd->rank])) return false;
    hd->rank++;
    bool comma = hchar(h, ',');
    if (hchar(h, ')')) {
      if (hd->rank == 1 && !comma)
        return herr(h, "shape '(n)' is an int, not a tuple; write '(n,)'");
      return true;
    }
    if (!comma) return herr(h, "expected ',' or ')' in shape");
  }
}

/* descr: '<f4', '|u1', '>U5', '|S3', ... */
static bool hdescr(HParse *h, NpyHeader *hd, const char *s, size_t n) {
  char buf[32];
  if (n == 0 || n >= sizeof buf) return herr(h, "unsupported descr");
  memcpy(buf, s, n);
  buf[n] = 0;
  char order = buf[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    if (strchr("bBhHiIlLqQefdgFDGSUVOM?", order) && n <= 3)
      return herr(h, "descr without a byte order is not supported");
    return herr(h, "unsupported descr");
  }
  char kind = buf[1];
  if (kind == 'O') {
    ir_error(h->d, ir_noloc, "%s: object arrays (pickled Python objects) are not supported",
             h->path);
    h->failed = true;
    return false;
  }
  if (!strchr("biufcUS", kind) || kind == 0) {
    ir_error(h->d, ir_noloc, "%s: unsupported .npy dtype '%s'", h->path, buf);
    h->failed = true;
    return false;
  }
  const char *num = buf + 2;
  if (*num < '1' || *num > '9' || strlen(num) > 9) goto bad;
  for (const char *q = num; *q; q++)
    if (*q < '0' || *q > '9') goto bad;
  size_t sz = (size_t)strtoul(num, NULL, 10);
  ElemType e = ELEM_UNDEFINED;
  size_t isz = sz;
  switch (kind) {
  case 'b':
    e = sz == 1 ? ELEM_BOOL : ELEM_UNDEFINED;
    break;
  case 'i':
    e = sz == 1   ? ELEM_INT8
        : sz == 2 ? ELEM_INT16
        : sz == 4 ? ELEM_INT32
        : sz == 8 ? ELEM_INT64
                  : ELEM_UNDEFINED;
    break;
  case 'u':
    e = sz == 1   ? ELEM_UINT8
        : sz == 2 ? ELEM_UINT16
        : sz == 4 ? ELEM_UINT32
        : sz == 8 ? ELEM_UINT64
                  : ELEM_UNDEFINED;
    break;
  case 'f':
    e = sz == 2 ? ELEM_FLOAT16 : sz == 4 ? ELEM_FLOAT : sz == 8 ? ELEM_DOUBLE : ELEM_UNDEFINED;
    break;
  case 'c':
    e = sz == 8 ? ELEM_COMPLEX64 : sz == 16 ? ELEM_COMPLEX128 : ELEM_UNDEFINED;
    break;
  case 'U':
    e = ELEM_STRING;
    if (sz > (SIZE_MAX / 4)) goto bad;
    isz = sz * 4;
    break;
  case 'S':
    e = ELEM_STRING;
    break;
  }
  if (e == ELEM_UNDEFINED) goto bad;
  /* '|' (not applicable) only for one-byte units; '=' (native) is never written by numpy. */
  size_t unit = (kind == 'U') ? 4 : (kind == 'S') ? 1 : (kind == 'c') ? sz / 2 : sz;
  if (order == '=') goto bad;
  if (order == '|' && unit != 1) goto bad;
  hd->kind = kind;
  hd->order = unit == 1 ? '|' : order;
  hd->itemsize = isz;
  hd->elem = e;
  return true;
bad:
  ir_error(h->d, ir_noloc, "%s: unsupported .npy dtype '%s'", h->path, buf);
  h->failed = true;
  return false;
}

static bool parse_header(HParse *h, NpyHeader *hd) {
  bool seen_descr = false, seen_fortran = false, seen_shape = false;
  if (h->p >= h->end || *h->p != '{') return herr(h, "expected '{'");
  h->p++;
  for (;;) {
    if (hchar(h, '}')) break;
    const char *k;
    size_t kn;
    if (!hstring(h, &k, &kn)) return false;
    if (!hchar(h, ':')) return herr(h, "expected ':'");
    if (kn == 5 && memcmp(k, "descr", 5) == 0) {
      if (seen_descr) return herr(h, "duplicate key 'descr'");
      seen_descr = true;
      hws(h);
      if (h->p < h->end && (*h->p == '[' || *h->p == '(' || *h->p == '{')) {
        ir_error(h->d, ir_noloc, "%s: structured dtypes are not supported", h->path);
        h->failed = true;
        return false;
      }
      const char *s;
      size_t n;
      if (!hstring(h, &s, &n) || !hdescr(h, hd, s, n)) return false;
    } else if (kn == 13 && memcmp(k, "fortran_order", 13) == 0) {
      if (seen_fortran) return herr(h, "duplicate key 'fortran_order'");
      seen_fortran = true;
      hws(h);
      if (hword(h, "True"))
        hd->fortran = true;
      else if (hword(h, "False"))
        hd->fortran = false;
      else
        return herr(h, "fortran_order must be True or False");
    } else if (kn == 5 && memcmp(k, "shape", 5) == 0) {
      if (seen_shape) return herr(h, "duplicate key 'shape'");
      seen_shape = true;
      if (!hshape(h, hd)) return false;
    } else {
      return herr(h, "unknown key (expected descr, fortran_order, shape)");
    }
    if (hchar(h, ',')) continue;
    if (hchar(h, '}')) break;
    return herr(h, "expected ',' or '}'");
  }
  if (!seen_descr || !seen_fortran || !seen_shape)
    return herr(h, "missing key (descr, fortran_order and shape are required)");
  for (; h->p < h->end; h->p++)
    if (*h->p != ' ' && *h->p != '\t' && *h->p != '\n' && *h->p != '\r')
      return herr(h, "text after the dict");
  return true;
}

/* ------------------------------------------------------------------ reading */

/* Walks element positions of the file in C order of the array: `off` is the index of the
 * current element in the file (equal to the C index unless the file is Fortran-ordered). */
typedef struct Odo {
  int rank;
  const int64_t *dims;
  uint64_t idx[NPY_MAX_RANK], stride[NPY_MAX_RANK];
  uint64_t off;
  bool fortran;
} Odo;

static void odo_init(Odo *o, const NpyHeader *hd) {
  memset(o, 0, sizeof *o);
  o->rank = hd->rank;
  o->dims = hd->dims;
  o->fortran = hd->fortran && hd->rank > 1;
  uint64_t s = 1;
  for (int i = 0; i < hd->rank; i++) {
    o->stride[i] = s; /* Fortran strides, in elements; no overflow: product == numel */
    s *= (uint64_t)hd->dims[i];
  }
}

static void odo_next(Odo *o) {
  if (!o->fortran) {
    o->off++;
    return;
  }
  for (int i = o->rank - 1; i >= 0; i--) {
    o->off += o->stride[i];
    if (++o->idx[i] < (uint64_t)o->dims[i]) return;
    o->off -= o->stride[i] * (uint64_t)o->dims[i];
    o->idx[i] = 0;
  }
}

/* Copy one element's bytes out of the file into little-endian order. */
static void load_le(uint8_t *dst, const uint8_t *src, size_t isz, size_t unit, bool swap) {
  if (!swap) {
    memcpy(dst, src, isz);
    return;
  }
  for (size_t u = 0; u < isz; u += unit)
    for (size_t b = 0; b < unit; b++) dst[u + b] = src[u + unit - 1 - b];
}

static size_t utf8_put(char *out, uint32_t c) {
  if (c < 0x80) {
    if (out) out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    if (out) {
      out[0] = (char)(0xC0 | (c >> 6));
      out[1] = (char)(0x80 | (c & 0x3F));
    }
    return 2;
  }
  if (c < 0x10000) {
    if (out) {
      out[0] = (char)(0xE0 | (c >> 12));
      out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
      out[2] = (char)(0x80 | (c & 0x3F));
    }
    return 3;
  }
  if (out) {
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
  }
  return 4;
}

static bool read_strings(Arena *a, Tensor *t, const NpyHeader *hd, const uint8_t *data,
                         uint64_t numel, const char *path, Diag *d) {
  IrStr *out = t->data;
  Odo o;
  odo_init(&o, hd);
  bool big = hd->order == '>';
  size_t nchars = hd->kind == 'U' ? hd->itemsize / 4 : hd->itemsize;
  for (uint64_t k = 0; k < numel; k++, odo_next(&o)) {
    const uint8_t *s = data + o.off * hd->itemsize;
    if (hd->kind == 'S') {
      size_t n = nchars;
      while (n > 0 && s[n - 1] == 0) n--; /* numpy strips trailing NULs */
      out[k] = ir_str(a, (const char *)s, n);
      continue;
    }
    size_t n = nchars, bytes = 0;
    uint32_t c;
    while (n > 0) {
      const uint8_t *u = s + (n - 1) * 4;
      c = big ? (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3] : rd32(u);
      if (c != 0) break;
      n--;
    }
    for (size_t i = 0; i < n; i++) {
      const uint8_t *u = s + i * 4;
      c = big ? (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3] : rd32(u);
      if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        ir_error(d, ir_noloc, "%s: string element %llu holds an invalid code point U+%X", path,
                 (unsigned long long)k, (unsigned)c);
        return false;
      }
      bytes += utf8_put(NULL, c);
    }
    char *buf = ir_arena_alloc(a, bytes + 1);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      const uint8_t *u = s + i * 4;
      c = big ? (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3] : rd32(u);
      at += utf8_put(buf + at, c);
    }
    out[k].s = buf;
    out[k].len = bytes;
  }
  return true;
}

/* Elements that need a range check or repacking: int4/int2 from int8 values, uint4/uint2 and
 * float4e2m1 from uint8 values. */
static bool subbyte_range(ElemType want, int v, int *lo, int *hi) {
  switch (want) {
  case ELEM_INT4:
    *lo = -8, *hi = 7;
    break;
  case ELEM_INT2:
    *lo = -2, *hi = 1;
    break;
  case ELEM_UINT4:
  case ELEM_FLOAT4E2M1:
    *lo = 0, *hi = 15;
    break;
  case ELEM_UINT2:
    *lo = 0, *hi = 3;
    break;
  default:
    return true;
  }
  return v >= *lo && v <= *hi;
}

Tensor *ir_npy_parse(Arena *a, const uint8_t *buf, size_t len, ElemType want, const char *path,
                     Diag *d) {
  if (!path) path = "<npy>";
  if (!ir_elem_valid((int)want) && want != ELEM_UNDEFINED) {
    ir_error(d, ir_noloc, "%s: invalid element type %d requested", path, (int)want);
    return NULL;
  }
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
    if (len >= 2 && buf[0] == 'P' && buf[1] == 'K')
      ir_error(d, ir_noloc, "%s: a .npz archive, not a .npy file", path);
    else if (len >= 1 && buf[0] == 0x80)
      ir_error(d, ir_noloc, "%s: a Python pickle, not a .npy file (pickles are not supported)",
               path);
    else
      ir_error(d, ir_noloc, "%s: not a .npy file (bad magic)", path);
    return NULL;
  }
  int major = buf[6];
  size_t hlen, hoff;
  if (major == 1) {
    hlen = rd16(buf + 8);
    hoff = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12) {
      ir_error(d, ir_noloc, "%s: truncated .npy header", path);
      return NULL;
    }
    hlen = rd32(buf + 8);
    hoff = 12;
  } else {
    ir_error(d, ir_noloc, "%s: unsupported .npy version %d.%d", path, major, buf[7]);
    return NULL;
  }
  if (buf[7] != 0) {
    ir_error(d, ir_noloc, "%s: unsupported .npy version %d.%d", path, major, buf[7]);
    return NULL;
  }
  if (hlen > len - hoff) {
    ir_error(d, ir_noloc, "%s: header length %zu runs past the end of the file (%zu bytes)", path,
             hlen, len);
    return NULL;
  }
  const char *hs = (const char *)buf + hoff;
  if (memchr(hs, 0, hlen)) {
    ir_error(d, ir_noloc, "%s: bad .npy header: NUL byte", path);
    return NULL;
  }
  NpyHeader hd;
  memset(&hd, 0, sizeof hd);
  HParse hp = {hs, hs + hlen, path, d, false};
  if (!parse_header(&hp, &hd)) return NULL;

  /* Element count and data size, overflow-checked. */
  uint64_t numel = 1;
  bool zero = false;
  for (int i = 0; i < hd.rank; i++) {
    uint64_t di = (uint64_t)hd.dims[i];
    if (di == 0) {
      zero = true;
      continue;
    }
    if (numel > UINT64_MAX / di || numel * di > (uint64_t)INT64_MAX) {
      ir_error(d, ir_noloc, "%s: shape has too many elements", path);
      return NULL;
    }
    numel *= di;
  }
  if (zero) numel = 0;
  size_t doff = hoff + hlen;
  uint64_t dlen = len - doff;
  if (hd.itemsize == 0) {
    ir_error(d, ir_noloc, "%s: zero-size string dtype is not supported", path);
    return NULL;
  }
  if (numel > UINT64_MAX / hd.itemsize || numel * hd.itemsize != dlen) {
    if (numel <= UINT64_MAX / hd.itemsize && numel * hd.itemsize < dlen)
      ir_error(d, ir_noloc, "%s: %llu bytes of data after the array's %llu", path,
               (unsigned long long)(dlen - numel * hd.itemsize),
               (unsigned long long)(numel * hd.itemsize));
    else
      ir_error(d, ir_noloc, "%s: data is %llu bytes but the shape needs %llu elements x %zu bytes",
               path, (unsigned long long)dlen, (unsigned long long)numel, hd.itemsize);
    return NULL;
  }

  /* Which type the tensor gets, and whether the file's dtype may carry it. */
  ElemType src = hd.elem, dst = want == ELEM_UNDEFINED ? src : want;
  if (npy_carrier(dst) != src) {
    const char *fname = hd.kind == 'S' ? "bytes" : numpy_name(src);
    ElemType carrier = npy_carrier(dst);
    if (carrier != dst)
      ir_error(d, ir_noloc, "%s: dtype %s but the input is %s (stored as %s values)", path, fname,
               ir_elem(dst)->name, numpy_name(carrier));
    else
      ir_error(d, ir_noloc, "%s: dtype %s but the input is %s", path, fname,
               numpy_name(dst) ? numpy_name(dst) : ir_elem(dst)->name);
    return NULL;
  }

  Tensor *t = ir_tensor_new(a, dst, hd.rank, hd.dims);
  size_t nb;
  if (!ir_elem_nbytes(dst, numel, &nb)) {
    ir_error(d, ir_noloc, "%s: array too large", path);
    return NULL;
  }
  t->data = ir_arena_alloc(a, nb ? nb : 1);
  t->nbytes = nb;
  t->has_data = true;
  const uint8_t *data = buf + doff;
  if (dst == ELEM_STRING) return read_strings(a, t, &hd, data, numel, path, d) ? t : NULL;

  size_t isz = hd.itemsize;
  size_t unit = hd.kind == 'c' ? isz / 2 : isz;
  bool swap = hd.order == '>';
  uint8_t *out = t->data;
  if (dst == src && !swap && !(hd.fortran && hd.rank > 1) && dst != ELEM_BOOL) {
    memcpy(out, data, nb);
    return t;
  }
  Odo o;
  odo_init(&o, &hd);
  uint8_t e[16];
  for (uint64_t k = 0; k < numel; k++, odo_next(&o)) {
    load_le(e, data + o.off * isz, isz, unit, swap);
    if (dst == src) {
      if (dst == ELEM_BOOL)
        out[k] = e[0] != 0;
      else
        memcpy(out + k * isz, e, isz);
      continue;
    }
    switch (dst) {
    case ELEM_BFLOAT16: {
      float f;
      uint32_t u = rd32(e);
      memcpy(&f, &u, 4);
      wr16(out + k * 2, ir_f32_to_bf16(f));
      break;
    }
    case ELEM_FLOAT8E4M3FN:
    case ELEM_FLOAT8E4M3FNUZ:
    case ELEM_FLOAT8E5M2:
    case ELEM_FLOAT8E5M2FNUZ:
    case ELEM_FLOAT8E8M0:
      out[k] = e[0];
      break;
    default: { /* sub-byte: int4/int2 from int8, uint4/uint2/float4e2m1 from uint8 */
      int v = src == ELEM_INT8 ? (int)(int8_t)e[0] : (int)e[0];
      int lo = 0, hi = 0;
      if (!subbyte_range(dst, v, &lo, &hi)) {
        ir_error(d, ir_noloc, "%s: element %llu is %d, outside %s's range [%d, %d]", path,
                 (unsigned long long)k, v, ir_elem(dst)->name, lo, hi);
        return NULL;
      }
      int bits = ir_elem(dst)->bits, per = 8 / bits;
      unsigned mask = (1u << bits) - 1;
      out[k / per] |= (uint8_t)(((unsigned)v & mask) << (bits * (k % per)));
      break;
    }
    }
  }
  return t;
}

Tensor *ir_npy_read(Arena *a, const char *path, ElemType want, Diag *d) {
  MappedFile f;
  char err[512];
  if (!ir_file_map(path, &f, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    return NULL;
  }
  Tensor *t = ir_npy_parse(a, f.data, f.len, want, path, d);
  ir_file_unmap(&f);
  return t;
}

/* ------------------------------------------------------------------ writing */

/* Code points in s, or SIZE_MAX if s is not valid UTF-8. */
static size_t utf8_count(const IrStr *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->len;) {
    uint32_t cp;
    size_t l = ir_utf8_decode((const unsigned char *)s->s + i, s->len - i, &cp);
    if (!l) return SIZE_MAX;
    i += l;
    n++;
  }
  return n;
}

typedef struct WBuf {
  FILE *fp;
  uint8_t b[65536];
  size_t n;
  bool ok;
} WBuf;

static void wb_flush(WBuf *w) {
  if (w->n && w->ok && fwrite(w->b, 1, w->n, w->fp) != w->n) w->ok = false;
  w->n = 0;
}
static void wb_put(WBuf *w, const void *p, size_t n) {
  if (n > sizeof w->b - w->n) wb_flush(w);
  if (n > sizeof w->b) {
    if (w->ok && fwrite(p, 1, n, w->fp) != n) w->ok = false;
    return;
  }
  memcpy(w->b + w->n, p, n);
  w->n += n;
}

#define WERR(...)                                                                                  \
  do {                                                                                             \
    if (d) ir_error(d, ir_noloc, __VA_ARGS__);                                                     \
    return false;                                                                                  \
  } while (0)

static bool npy_write(FILE *fp, const Tensor *t, const char *path, Diag *d) {
  if (!t || !ir_elem_valid((int)t->elem)) WERR("%s: cannot write a tensor of undefined type", path);
  if (!t->has_data) WERR("%s: tensor has no data to write", path);
  if (t->rank < 0 || (t->rank > 0 && !t->dims)) WERR("%s: tensor has no shape", path);
  uint64_t numel = 1;
  bool zero = false;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] < 0) WERR("%s: tensor has an unknown dimension", path);
    if (t->dims[i] == 0) {
      zero = true;
      continue;
    }
    if (numel > (uint64_t)INT64_MAX / (uint64_t)t->dims[i]) WERR("%s: tensor too large", path);
    numel *= (uint64_t)t->dims[i];
  }
  if (zero) numel = 0;
  ElemType e = t->elem, carrier = npy_carrier(e);
  size_t nb;
  if (!ir_elem_nbytes(e, numel, &nb)) WERR("%s: tensor too large", path);
  if (numel > 0 && (!t->data || t->nbytes < nb))
    WERR("%s: tensor data is %zu bytes, expected %zu", path, t->nbytes, nb);

  /* dtype descr; for strings the widest element in code points */
  char descr[40];
  size_t maxcp = 0;
  if (e == ELEM_STRING) {
    const IrStr *s = t->data;
    for (uint64_t k = 0; k < numel; k++) {
      size_t c = utf8_count(&s[k]);
      if (c == SIZE_MAX)
        WERR("%s: string element %llu is not valid UTF-8, which '<U' arrays cannot hold", path,
             (unsigned long long)k);
      if (s[k].len > 0 && s[k].s[s[k].len - 1] == 0)
        WERR("%s: string element %llu ends with a NUL byte, which .npy drops", path,
             (unsigned long long)k);
      if (c > maxcp) maxcp = c;
    }
    if (maxcp == 0) maxcp = 1;
    if (maxcp > (size_t)INT32_MAX / 4) WERR("%s: string too long", path);
    snprintf(descr, sizeof descr, "<U%zu", maxcp);
  } else {
    snprintf(descr, sizeof descr, "%s", ir_elem(carrier)->npy_descr);
  }

  /* header: numpy's own layout, including the growth padding after the dict */
  size_t cap = 128 + (size_t)t->rank * 24;
  char *h = malloc(cap + 128);
  if (!h) WERR("%s: out of memory", path);
  size_t n = (size_t)snprintf(h, cap, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->rank; i++)
    n += (size_t)snprintf(h + n, cap - n, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  n += (size_t)snprintf(h + n, cap - n, "%s), }", t->rank == 1 ? "," : "");
  if (t->rank > 0) {
    char d0[32];
    int l0 = snprintf(d0, sizeof d0, "%lld", (long long)t->dims[0]);
    for (int i = l0; i < NPY_GROWTH_DIGITS; i++) h[n++] = ' ';
  }
  size_t hl = n + 1;
  size_t pad = 64 - ((10 + hl) % 64);
  memset(h + n, ' ', pad);
  n += pad;
  h[n++] = '\n';
  if (n > 65535) {
    free(h);
    WERR("%s: header too long for a version 1.0 .npy file", path);
  }
  uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  wr16(pre + 8, (uint16_t)n);
  bool ok = fwrite(pre, 1, 10, fp) == 10 && fwrite(h, 1, n, fp) == n;
  free(h);
  if (!ok) WERR("%s: write error", path);

  const uint8_t *in = t->data;
  if (e == carrier && e != ELEM_STRING && e != ELEM_BOOL) {
    if (nb && fwrite(in, 1, nb, fp) != nb) WERR("%s: write error", path);
    return true;
  }
  WBuf *w = malloc(sizeof *w);
  if (!w) WERR("%s: out of memory", path);
  w->fp = fp, w->n = 0, w->ok = true;
  uint8_t *ucs = NULL;
  if (e == ELEM_STRING) {
    ucs = malloc(maxcp * 4);
    if (!ucs) {
      free(w);
      WERR("%s: out of memory", path);
    }
  }
  for (uint64_t k = 0; k < numel && w->ok; k++) {
    uint8_t o[4];
    switch (e) {
    case ELEM_STRING: {
      const IrStr *s = &((const IrStr *)t->data)[k];
      memset(ucs, 0, maxcp * 4);
      size_t j = 0;
      for (size_t i = 0; i < s->len; j++) {
        uint32_t cp = 0;
        i += ir_utf8_decode((const unsigned char *)s->s + i, s->len - i, &cp); /* validated above */
        wr32(ucs + j * 4, cp);
      }
      wb_put(w, ucs, maxcp * 4);
      break;
    }
    case ELEM_BOOL:
      o[0] = in[k] != 0;
      wb_put(w, o, 1);
      break;
    case ELEM_BFLOAT16: {
      float f = ir_bf16_to_f32(rd16(in + k * 2));
      uint32_t u;
      memcpy(&u, &f, 4);
      wr32(o, u);
      wb_put(w, o, 4);
      break;
    }
    case ELEM_INT4:
    case ELEM_INT2:
    case ELEM_UINT4:
    case ELEM_UINT2:
    case ELEM_FLOAT4E2M1: {
      int bits = ir_elem(e)->bits, per = 8 / bits;
      unsigned v = (in[k / per] >> (bits * (k % per))) & ((1u << bits) - 1);
      if (ir_elem(e)->is_signed && e != ELEM_FLOAT4E2M1 && (v & (1u << (bits - 1))))
        v |= ~0u << bits;
      o[0] = (uint8_t)v;
      wb_put(w, o, 1);
      break;
    }
    default: /* float8 kinds and e8m0: the bit patterns as uint8 */
      wb_put(w, in + k, 1);
      break;
    }
  }
  wb_flush(w);
  ok = w->ok;
  free(w);
  free(ucs);
  if (!ok) WERR("%s: write error", path);
  return true;
}

bool ir_npy_write_fp(FILE *fp, const Tensor *t) {
  return npy_write(fp, t, "<npy>", NULL);
}

bool ir_npy_write(const char *path, const Tensor *t, Diag *d) {
  AtomicFile af;
  char err[512];
  if (!ir_atomic_open(&af, path, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    return false;
  }
  if (!npy_write(af.fp, t, path, d)) {
    ir_atomic_abort(&af);
    return false;
  }
  if (!ir_atomic_commit(&af, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    return false;
  }
  return true;
}

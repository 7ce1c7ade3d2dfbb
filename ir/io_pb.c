/* io_pb.c - ONNX protobuf data for ir/: the wire-format depth pre-scan, protobuf-c unpacking
 * into memory the IR can adopt, TensorProto/SparseTensorProto <-> Tensor conversion (shared
 * with the .onnx importer and exporter), unmodelled fields kept as raw wire bytes, and .pb data
 * files (TensorProto, SequenceProto, OptionalProto, MapProto) decoded into Datum. */
#include "ir.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raw_data is little-endian and used in place: little-endian hosts only"
#endif

/* ------------------------------------------------------------------ diagnostics */

/* Errors name `path` unless the Diag already prints it as its file. */
static void pb_error(Diag *d, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pb_error(Diag *d, const char *path, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (path && !(d->file && !strcmp(d->file, path)))
    ir_error(d, ir_noloc, "%s: %s", path, msg);
  else
    ir_error(d, ir_noloc, "%s", msg);
}

/* ------------------------------------------------------------------ wire format */

static bool wire_varint(const uint8_t *b, size_t end, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < 10; i++) {
    if (*pos >= end) return false;
    uint8_t c = b[(*pos)++];
    if (i == 9 && c > 1) return false; /* more than 64 bits */
    v |= (uint64_t)(c & 0x7f) << (7 * i);
    if (!(c & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

static size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static size_t put_varint(uint8_t *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

/* One field of wire data starting at pos (bounded by end). */
typedef struct WireField {
  uint32_t num;
  int wt;
  size_t val;             /* offset just after the tag */
  size_t body, body_len;  /* length-delimited payload */
  size_t next;            /* offset after the field */
} WireField;

static bool wire_next(const uint8_t *b, size_t pos, size_t end, WireField *f) {
  uint64_t tag, v;
  size_t p = pos;
  if (!wire_varint(b, end, &p, &tag) || tag > UINT32_MAX) return false;
  f->num = (uint32_t)(tag >> 3);
  f->wt = (int)(tag & 7);
  if (f->num == 0 || f->num > 536870911u) return false;
  f->val = p;
  f->body = f->body_len = 0;
  switch (f->wt) {
  case 0:
    if (!wire_varint(b, end, &p, &v)) return false;
    break;
  case 1:
    if (end - p < 8) return false;
    p += 8;
    break;
  case 5:
    if (end - p < 4) return false;
    p += 4;
    break;
  case 2:
    if (!wire_varint(b, end, &p, &v) || v > end - p) return false;
    f->body = p;
    f->body_len = (size_t)v;
    p += (size_t)v;
    break;
  default: /* groups (3, 4) and reserved wire types: ONNX uses none */
    return false;
  }
  f->next = p;
  return true;
}

typedef enum { SCAN_OK, SCAN_MALFORMED, SCAN_TOO_DEEP } ScanResult;

/* Walk the wire data with an explicit stack of (message type, end offset); descend into the
 * length-delimited fields that the descriptor declares as messages. */
static ScanResult depth_scan(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                             size_t len, int max_depth) {
  if (!desc || max_depth < 1 || (!buf && len)) return SCAN_MALFORMED;
  struct Frame {
    const ProtobufCMessageDescriptor *desc;
    size_t end;
  } *st = malloc(sizeof *st * (size_t)max_depth);
  if (!st) return SCAN_MALFORMED;
  int sp = 0;
  st[0].desc = desc;
  st[0].end = len;
  size_t pos = 0;
  ScanResult r = SCAN_OK;
  for (;;) {
    while (sp >= 0 && pos == st[sp].end) sp--;
    if (sp < 0) break;
    WireField f;
    if (!wire_next(buf, pos, st[sp].end, &f)) {
      r = SCAN_MALFORMED;
      break;
    }
    if (f.wt == 2) {
      const ProtobufCFieldDescriptor *fd =
          protobuf_c_message_descriptor_get_field(st[sp].desc, f.num);
      if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (sp + 1 >= max_depth) {
          r = SCAN_TOO_DEEP;
          break;
        }
        sp++;
        st[sp].desc = fd->descriptor;
        st[sp].end = f.body + f.body_len;
        pos = f.body;
        continue;
      }
    }
    pos = f.next;
  }
  free(st);
  return r;
}

bool ir_pb_depth_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                    int max_depth) {
  return depth_scan(desc, buf, len, max_depth) == SCAN_OK;
}

static bool wire_matches(const ProtobufCFieldDescriptor *fd, int wt) {
  bool rep = fd->label == PROTOBUF_C_LABEL_REPEATED;
  switch (fd->type) {
  case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
    return wt == 0 || (rep && wt == 2);
  case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
    return wt == 5 || (rep && wt == 2);
  case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
    return wt == 1 || (rep && wt == 2);
  default:
    return wt == 2;
  }
}

/* True if every top-level field of buf is declared by desc with a matching wire type: used to
 * tell an OptionalProto from the bare TensorProto that some test data holds instead. */
static bool wire_strictly(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    WireField f;
    if (!wire_next(buf, pos, len, &f)) return false;
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(desc, f.num);
    if (!fd || !wire_matches(fd, f.wt)) return false;
    pos = f.next;
  }
  return true;
}

/* ------------------------------------------------------------------ unpacking */

#define PB_BIG 4096 /* allocations this large come from the destination arena */

struct IrPbUnpack {
  Arena scratch;
  Arena *dst;
  IR_VEC(const void *) big;
  bool sorted;
  const char *path;
  ProtobufCAllocator alloc;
};

static void *pb_alloc(void *ud, size_t n) {
  IrPbUnpack *u = ud;
  if (n >= PB_BIG) {
    void *p = ir_arena_alloc(u->dst, n);
    ir_vec_push(u->big, (const void *)p);
    u->sorted = false;
    return p;
  }
  return ir_arena_alloc(&u->scratch, n);
}

static void pb_free(void *ud, void *p) {
  (void)ud;
  (void)p; /* arenas free everything at once */
}

IrPbUnpack *ir_pb_unpack_new(Arena *dst) {
  IrPbUnpack *u = calloc(1, sizeof *u);
  if (!u) {
    fputs("effc: out of memory\n", stderr);
    abort();
  }
  ir_arena_init(&u->scratch);
  u->dst = dst;
  u->alloc.alloc = pb_alloc;
  u->alloc.free = pb_free;
  u->alloc.allocator_data = u;
  return u;
}

void ir_pb_unpack_free(IrPbUnpack *u) {
  if (!u) return;
  ir_arena_free(&u->scratch);
  ir_vec_free(u->big);
  free(u);
}

ProtobufCMessage *ir_pb_unpack(IrPbUnpack *u, const ProtobufCMessageDescriptor *desc,
                               const uint8_t *buf, size_t len, const char *path, Diag *d) {
  u->path = path;
  switch (depth_scan(desc, buf, len, IR_PB_MAX_DEPTH)) {
  case SCAN_OK:
    break;
  case SCAN_TOO_DEEP:
    pb_error(d, path, "%s nests messages deeper than %d levels", desc->short_name,
             IR_PB_MAX_DEPTH);
    return NULL;
  default:
    pb_error(d, path, "malformed protobuf data (truncated or invalid wire format) in a %s",
             desc->short_name);
    return NULL;
  }
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, &u->alloc, len, buf ? buf : (const uint8_t *)"");
  if (!m) pb_error(d, path, "malformed protobuf data: not a valid %s", desc->short_name);
  return m;
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (const void *const *)a, y = (uintptr_t) * (const void *const *)b;
  return x < y ? -1 : x > y;
}

/* Was p handed out by the unpacker from the destination arena? */
static bool adoptable(IrPbUnpack *u, Arena *a, const void *p) {
  if (!u || !p || a != u->dst || !u->big.n) return false;
  if (!u->sorted) {
    qsort(u->big.v, u->big.n, sizeof *u->big.v, cmp_ptr);
    u->sorted = true;
  }
  return bsearch(&p, u->big.v, u->big.n, sizeof *u->big.v, cmp_ptr) != NULL;
}

/* Payload bytes for a: in place when the unpacker put them there, else a copy. */
static void *take(IrPbUnpack *u, Arena *a, const void *p, size_t n) {
  if (n && adoptable(u, a, p)) return (void *)p;
  return ir_arena_dup(a, p, n);
}

/* ------------------------------------------------------------------ unmodelled fields */

static void *field_ptr(const ProtobufCMessage *m, unsigned off) {
  return (char *)m + off;
}

/* Size (out == NULL) or bytes of the listed message-typed fields and the unknown fields. */
static size_t extra_pack(const ProtobufCMessage *msg, const uint32_t *ids, int n_ids, uint8_t *out) {
  size_t n = 0;
  for (int i = 0; i < n_ids; i++) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(msg->descriptor, ids[i]);
    if (!fd || fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    ProtobufCMessage *const *subs;
    size_t cnt;
    ProtobufCMessage *one;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
      cnt = *(size_t *)field_ptr(msg, fd->quantifier_offset);
      subs = *(ProtobufCMessage ***)field_ptr(msg, fd->offset);
    } else {
      one = *(ProtobufCMessage **)field_ptr(msg, fd->offset);
      subs = &one;
      cnt = one ? 1 : 0;
    }
    for (size_t k = 0; k < cnt; k++) {
      size_t sz = protobuf_c_message_get_packed_size(subs[k]);
      uint64_t tag = (uint64_t)fd->id << 3 | 2;
      if (out) {
        n += put_varint(out + n, tag);
        n += put_varint(out + n, sz);
        n += protobuf_c_message_pack(subs[k], out + n);
      } else {
        n += varint_size(tag) + varint_size(sz) + sz;
      }
    }
  }
  for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
    const ProtobufCMessageUnknownField *uf = &msg->unknown_fields[i];
    uint64_t tag = (uint64_t)uf->tag << 3 | (unsigned)uf->wire_type;
    if (out) {
      n += put_varint(out + n, tag);
      if (uf->len) memcpy(out + n, uf->data, uf->len);
      n += uf->len;
    } else {
      n += varint_size(tag) + uf->len;
    }
  }
  return n;
}

IrBytes ir_pb_extra(Arena *a, const ProtobufCMessage *msg, const uint32_t *ids, int n_ids) {
  IrBytes b = {NULL, 0};
  size_t n = extra_pack(msg, ids, n_ids, NULL);
  if (!n) return b;
  uint8_t *p = ir_arena_alloc(a, n);
  b.len = extra_pack(msg, ids, n_ids, p);
  b.data = p;
  return b;
}

bool ir_pb_attach_extra(Arena *scratch, ProtobufCMessage *msg, IrBytes extra) {
  msg->n_unknown_fields = 0;
  msg->unknown_fields = NULL;
  if (!extra.len) return true;
  size_t cnt = 0, pos = 0;
  WireField f;
  while (pos < extra.len) {
    if (!wire_next(extra.data, pos, extra.len, &f)) return false;
    cnt++;
    pos = f.next;
  }
  if (cnt > UINT_MAX) return false;
  ProtobufCMessageUnknownField *uf = ir_arena_alloc(scratch, cnt * sizeof *uf);
  pos = 0;
  for (size_t i = 0; i < cnt; i++) {
    wire_next(extra.data, pos, extra.len, &f);
    uf[i].tag = f.num;
    uf[i].wire_type = (ProtobufCWireType)f.wt;
    uf[i].len = f.next - f.val;
    uf[i].data = (uint8_t *)extra.data + f.val;
    pos = f.next;
  }
  msg->n_unknown_fields = (unsigned)cnt;
  msg->unknown_fields = uf;
  return true;
}

/* ------------------------------------------------------------------ TensorProto -> Tensor */

static const char *dtype_name(int t) {
  return ir_elem_valid(t) ? ir_elem((ElemType)t)->name : "undefined";
}

static StrPair *pairs_from_proto(Arena *a, Onnx__StringStringEntryProto *const *e, size_t n) {
  if (!n) return NULL;
  StrPair *p = ir_arena_alloc(a, n * sizeof *p);
  for (size_t i = 0; i < n; i++) {
    p[i].key = ir_arena_strdup(a, e[i]->key ? e[i]->key : "");
    p[i].value = ir_arena_strdup(a, e[i]->value ? e[i]->value : "");
  }
  return p;
}

/* Store the low `bytes` bytes of v as element i (little-endian). */
static void put_le(uint8_t *dst, size_t i, int bytes, uint64_t v) {
  for (int k = 0; k < bytes; k++) dst[i * (size_t)bytes + (size_t)k] = (uint8_t)(v >> (8 * k));
}

static const uint32_t tensor_unmodelled[] = {3 /* segment */};

/* The tensor's dims and element count; false (reported) on a negative dim or overflow. */
static bool tensor_shape(Arena *a, Tensor *t, const int64_t *dims, size_t n_dims, uint64_t *numel,
                         const char *what, const char *path, Diag *d) {
  if (n_dims > INT_MAX) {
    pb_error(d, path, "%s: too many dims", what);
    return false;
  }
  t->rank = (int)n_dims;
  t->dims = n_dims ? ir_arena_dup(a, dims, n_dims * sizeof *dims) : NULL;
  uint64_t n = 1;
  for (size_t i = 0; i < n_dims; i++) {
    if (dims[i] < 0) {
      pb_error(d, path, "%s: negative dimension %lld", what, (long long)dims[i]);
      return false;
    }
    if (dims[i] && n > UINT64_MAX / (uint64_t)dims[i]) {
      pb_error(d, path, "%s: element count overflows", what);
      return false;
    }
    n *= (uint64_t)dims[i];
  }
  *numel = n;
  return true;
}

static Tensor *tensor_conv(IrPbUnpack *u, Arena *a, const Onnx__TensorProto *p, const char *what,
                           const char *path, Diag *d) {
  if (!what) what = "tensor";
  Tensor *t = ir_arena_alloc(a, sizeof *t);
  t->name = ir_arena_strdup(a, p->name);
  t->doc_string = ir_arena_strdup(a, p->doc_string);
  if (!p->has_data_type || !ir_elem_valid(p->data_type)) {
    if (p->has_data_type)
      pb_error(d, path, "%s: unknown data_type %d", what, (int)p->data_type);
    else
      pb_error(d, path, "%s: data_type is missing", what);
    return NULL;
  }
  t->elem = (ElemType)p->data_type;
  uint64_t numel;
  if (!tensor_shape(a, t, p->dims, p->n_dims, &numel, what, path, d)) return NULL;
  const ElemTraits *tr = ir_elem(t->elem);
  size_t nbytes;
  if (!ir_elem_nbytes(t->elem, numel, &nbytes)) {
    pb_error(d, path, "%s: size of %s data overflows", what, tr->name);
    return NULL;
  }
  if (p->n_metadata_props > INT_MAX || p->n_external_data > INT_MAX) {
    pb_error(d, path, "%s: too many metadata or external data entries", what);
    return NULL;
  }
  t->metadata_props = pairs_from_proto(a, p->metadata_props, p->n_metadata_props);
  t->n_metadata_props = (int)p->n_metadata_props;
  t->extra = ir_pb_extra(a, &p->base, tensor_unmodelled, 1);

  int nsrc = (p->has_raw_data != 0) + (p->n_float_data > 0) + (p->n_int32_data > 0) +
             (p->n_string_data > 0) + (p->n_int64_data > 0) + (p->n_double_data > 0) +
             (p->n_uint64_data > 0);
  bool external = p->n_external_data > 0 ||
                  (p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL);
  if (p->has_data_location && p->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL &&
      p->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT) {
    pb_error(d, path, "%s: unknown data_location %d", what, (int)p->data_location);
    return NULL;
  }
  if (external) {
    if (p->n_external_data == 0) {
      pb_error(d, path, "%s: data_location is EXTERNAL but external_data is empty", what);
      return NULL;
    }
    if (nsrc) {
      pb_error(d, path, "%s: has both external and inline data", what);
      return NULL;
    }
    t->external = pairs_from_proto(a, p->external_data, p->n_external_data);
    t->n_external = (int)p->n_external_data;
    return t;
  }
  if (nsrc > 1) {
    pb_error(d, path, "%s: data in more than one field", what);
    return NULL;
  }
  if (nsrc == 0) {
    /* no data; a tensor with no elements has all of its data */
    if (numel == 0) {
      t->has_data = true;
      t->data = ir_arena_alloc(a, 0);
    }
    return t;
  }
  size_t n = 0; /* entries in the typed field used */
  if (p->has_raw_data) {
    if (t->elem == ELEM_STRING) {
      pb_error(d, path, "%s: string tensors cannot use raw_data", what);
      return NULL;
    }
    if (p->raw_data.len != nbytes) {
      pb_error(d, path, "%s: raw_data holds %zu bytes, %s with %llu elements needs %zu", what,
               p->raw_data.len, tr->name, (unsigned long long)numel, nbytes);
      return NULL;
    }
    t->data = take(u, a, p->raw_data.data, nbytes);
  } else if (p->n_string_data) {
    n = p->n_string_data;
    if (t->elem != ELEM_STRING) goto wrong_field;
    if (n != numel) goto wrong_count;
    IrStr *s = ir_arena_alloc(a, nbytes);
    for (size_t i = 0; i < n; i++)
      s[i] = ir_str(a, (const char *)p->string_data[i].data, p->string_data[i].len);
    t->data = s;
  } else if (p->n_int32_data) {
    n = p->n_int32_data;
    if (tr->store != STORE_INT32) goto wrong_field;
    if (tr->bits >= 8) {
      if (n != numel) goto wrong_count;
      if (tr->bits == 32) {
        t->data = take(u, a, p->int32_data, nbytes);
      } else {
        uint8_t *q = ir_arena_alloc(a, nbytes);
        for (size_t i = 0; i < n; i++) {
          uint32_t v = (uint32_t)p->int32_data[i];
          if (t->elem == ELEM_BOOL) v = v != 0;
          put_le(q, i, tr->bits / 8, v);
        }
        t->data = q;
      }
    } else if (n == nbytes) {
      /* sub-byte types: each int32_data entry holds one byte of packed elements, the first
       * element in the least significant bits (ONNX IR, TensorProto.int32_data) */
      uint8_t *q = ir_arena_alloc(a, nbytes);
      for (size_t i = 0; i < n; i++) q[i] = (uint8_t)p->int32_data[i];
      t->data = q;
    } else if (n == numel) {
      /* one element per entry (written by tools that did not pack): pack them */
      uint8_t *q = ir_arena_alloc(a, nbytes);
      int per = 8 / tr->bits;
      unsigned mask = (1u << tr->bits) - 1;
      for (size_t i = 0; i < n; i++)
        q[i / (size_t)per] |= (uint8_t)(((unsigned)p->int32_data[i] & mask) << (tr->bits * (int)(i % (size_t)per)));
      t->data = q;
    } else {
      goto wrong_count;
    }
  } else if (p->n_int64_data) {
    n = p->n_int64_data;
    if (tr->store != STORE_INT64) goto wrong_field;
    if (n != numel) goto wrong_count;
    t->data = take(u, a, p->int64_data, nbytes);
  } else if (p->n_uint64_data) {
    n = p->n_uint64_data;
    if (tr->store != STORE_UINT64) goto wrong_field;
    if (n != numel) goto wrong_count;
    if (tr->bits == 64) {
      t->data = take(u, a, p->uint64_data, nbytes);
    } else {
      uint8_t *q = ir_arena_alloc(a, nbytes);
      for (size_t i = 0; i < n; i++) put_le(q, i, tr->bits / 8, p->uint64_data[i]);
      t->data = q;
    }
  } else if (p->n_float_data) {
    n = p->n_float_data;
    if (tr->store != STORE_FLOAT) goto wrong_field;
    if (n != nbytes / sizeof(float)) goto wrong_count;
    t->data = take(u, a, p->float_data, nbytes);
  } else {
    n = p->n_double_data;
    if (tr->store != STORE_DOUBLE) goto wrong_field;
    if (n != nbytes / sizeof(double)) goto wrong_count;
    t->data = take(u, a, p->double_data, nbytes);
  }
  t->has_data = true;
  t->nbytes = nbytes;
  return t;

wrong_field:
  pb_error(d, path, "%s: %s tensors do not store their values in this typed field", what, tr->name);
  return NULL;
wrong_count:
  pb_error(d, path, "%s: %zu values given for %s with %llu elements", what, n, tr->name,
           (unsigned long long)numel);
  return NULL;
}

Tensor *ir_tensor_from_proto(Arena *a, const struct Onnx__TensorProto *p, const char *what, Diag *d) {
  return tensor_conv(NULL, a, p, what, NULL, d);
}

Tensor *ir_tensor_from_proto_u(IrPbUnpack *u, Arena *a, const struct Onnx__TensorProto *p,
                               const char *what, Diag *d) {
  return tensor_conv(u, a, p, what, u ? u->path : NULL, d);
}

static SparseTensor *sparse_conv(IrPbUnpack *u, Arena *a, const Onnx__SparseTensorProto *p,
                                 const char *what, const char *path, Diag *d) {
  if (!what) what = "sparse tensor";
  if (!p->values || !p->indices) {
    pb_error(d, path, "%s: sparse tensor without %s", what, p->values ? "indices" : "values");
    return NULL;
  }
  SparseTensor *s = ir_arena_alloc(a, sizeof *s);
  char *w = ir_arena_printf(a, "%s (values)", what);
  if (!(s->values = tensor_conv(u, a, p->values, w, path, d))) return NULL;
  w = ir_arena_printf(a, "%s (indices)", what);
  if (!(s->indices = tensor_conv(u, a, p->indices, w, path, d))) return NULL;
  Tensor shape = {0};
  uint64_t numel;
  if (!tensor_shape(a, &shape, p->dims, p->n_dims, &numel, what, path, d)) return NULL;
  s->rank = shape.rank;
  s->dims = shape.dims;
  s->extra = ir_pb_extra(a, &p->base, NULL, 0);
  return s;
}

SparseTensor *ir_sparse_from_proto_u(IrPbUnpack *u, Arena *a, const struct Onnx__SparseTensorProto *p,
                                     const char *what, Diag *d) {
  return sparse_conv(u, a, p, what, u ? u->path : NULL, d);
}

/* ------------------------------------------------------------------ Tensor -> TensorProto */

static Onnx__StringStringEntryProto **pairs_to_proto(Arena *s, const StrPair *p, int n) {
  if (n <= 0) return NULL;
  Onnx__StringStringEntryProto **v = ir_arena_alloc(s, (size_t)n * sizeof *v);
  Onnx__StringStringEntryProto *e = ir_arena_alloc(s, (size_t)n * sizeof *e);
  for (int i = 0; i < n; i++) {
    onnx__string_string_entry_proto__init(&e[i]);
    e[i].key = (char *)(p[i].key ? p[i].key : "");
    e[i].value = (char *)(p[i].value ? p[i].value : "");
    v[i] = &e[i];
  }
  return v;
}

bool ir_tensor_to_proto(Arena *s, const Tensor *t, struct Onnx__TensorProto *p, Diag *d) {
  onnx__tensor_proto__init(p);
  const char *what = t->name ? t->name : "(unnamed)";
  if (!ir_elem_valid((int)t->elem)) {
    ir_error(d, ir_noloc, "tensor '%s': invalid element type %d", what, (int)t->elem);
    return false;
  }
  if (t->rank < 0 || (t->rank > 0 && !t->dims)) {
    ir_error(d, ir_noloc, "tensor '%s': no shape", what);
    return false;
  }
  p->n_dims = (size_t)t->rank;
  p->dims = t->dims;
  p->has_data_type = 1;
  p->data_type = (int32_t)t->elem;
  p->name = (char *)t->name;
  p->doc_string = (char *)t->doc_string;
  if (t->n_external > 0) {
    p->n_external_data = (size_t)t->n_external;
    p->external_data = pairs_to_proto(s, t->external, t->n_external);
    p->has_data_location = 1;
    p->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  } else if (t->has_data) {
    uint64_t numel;
    size_t nbytes;
    if (!ir_tensor_numel(t, &numel) || !ir_elem_nbytes(t->elem, numel, &nbytes) ||
        nbytes != t->nbytes || (nbytes && !t->data)) {
      ir_error(d, ir_noloc, "tensor '%s': payload of %zu bytes does not match its %s shape", what,
               t->nbytes, ir_elem(t->elem)->name);
      return false;
    }
    if (t->elem == ELEM_STRING) {
      const IrStr *str = t->data;
      p->n_string_data = (size_t)numel;
      p->string_data = numel ? ir_arena_alloc(s, (size_t)numel * sizeof *p->string_data) : NULL;
      for (size_t i = 0; i < (size_t)numel; i++) {
        p->string_data[i].len = str[i].len;
        p->string_data[i].data = (uint8_t *)(str[i].s ? str[i].s : "");
      }
    } else {
      p->has_raw_data = 1;
      p->raw_data.len = nbytes;
      p->raw_data.data = t->data;
    }
  }
  p->n_metadata_props = t->n_metadata_props > 0 ? (size_t)t->n_metadata_props : 0;
  p->metadata_props = pairs_to_proto(s, t->metadata_props, t->n_metadata_props);
  if (!ir_pb_attach_extra(s, &p->base, t->extra)) {
    ir_error(d, ir_noloc, "tensor '%s': its unmodelled fields are not valid wire data", what);
    return false;
  }
  return true;
}

bool ir_sparse_to_proto(Arena *s, const SparseTensor *t, struct Onnx__SparseTensorProto *p, Diag *d) {
  onnx__sparse_tensor_proto__init(p);
  if (!t->values || !t->indices || t->rank < 0 || (t->rank && !t->dims)) {
    ir_error(d, ir_noloc, "sparse tensor without values, indices or shape");
    return false;
  }
  p->values = ir_arena_alloc(s, sizeof *p->values);
  p->indices = ir_arena_alloc(s, sizeof *p->indices);
  if (!ir_tensor_to_proto(s, t->values, p->values, d) ||
      !ir_tensor_to_proto(s, t->indices, p->indices, d))
    return false;
  p->n_dims = (size_t)t->rank;
  p->dims = t->dims;
  if (!ir_pb_attach_extra(s, &p->base, t->extra)) {
    ir_error(d, ir_noloc, "sparse tensor: its unmodelled fields are not valid wire data");
    return false;
  }
  return true;
}

/* ------------------------------------------------------------------ .pb data files */

enum { PB_UNDEF = 0, PB_TENSOR = 1, PB_SPARSE = 2, PB_SEQUENCE = 3, PB_MAP = 4, PB_OPTIONAL = 5 };

typedef struct PbCtx {
  IrPbUnpack *u;
  Arena *a;
  const char *path;
  Diag *d;
} PbCtx;

static Datum *new_datum(PbCtx *c, TypeKind k, int n_items) {
  Datum *x = ir_arena_alloc(c->a, sizeof *x);
  x->kind = k;
  x->n_items = n_items;
  if (n_items) x->items = ir_arena_alloc(c->a, (size_t)n_items * sizeof *x->items);
  return x;
}

static Datum *d_seq(PbCtx *c, const Onnx__SequenceProto *s);
static Datum *d_map(PbCtx *c, const Onnx__MapProto *m);
static Datum *d_opt(PbCtx *c, const Onnx__OptionalProto *o);

static Datum *d_tensor(PbCtx *c, const Onnx__TensorProto *p) {
  const char *what = p->name && *p->name ? ir_arena_printf(c->a, "tensor '%s'", p->name) : "tensor";
  Tensor *t = tensor_conv(c->u, c->a, p, what, c->path, c->d);
  if (!t) return NULL;
  if (t->n_external) {
    pb_error(c->d, c->path, "%s: external data is not supported in .pb data files", what);
    return NULL;
  }
  if (!t->has_data) {
    pb_error(c->d, c->path, "%s: no data", what);
    return NULL;
  }
  Datum *x = new_datum(c, TYPE_TENSOR, 0);
  x->tensor = t;
  return x;
}

static Datum *d_sparse(PbCtx *c, const Onnx__SparseTensorProto *p) {
  SparseTensor *s = sparse_conv(c->u, c->a, p, NULL, c->path, c->d);
  if (!s) return NULL;
  Datum *x = new_datum(c, TYPE_SPARSE, 0);
  x->sparse = s;
  return x;
}

static Datum *d_seq(PbCtx *c, const Onnx__SequenceProto *s) {
  size_t counts[6] = {0, s->n_tensor_values, s->n_sparse_tensor_values, s->n_sequence_values,
                      s->n_map_values, s->n_optional_values};
  int kind = s->has_elem_type ? s->elem_type : PB_UNDEF;
  if (kind < PB_UNDEF || kind > PB_OPTIONAL) {
    pb_error(c->d, c->path, "SequenceProto: unknown elem_type %d", kind);
    return NULL;
  }
  for (int k = PB_TENSOR; k <= PB_OPTIONAL; k++) {
    if (!counts[k] || k == kind) continue;
    if (kind != PB_UNDEF) {
      pb_error(c->d, c->path, "SequenceProto: values of another kind than its elem_type %d", kind);
      return NULL;
    }
    kind = k;
  }
  if (counts[kind] > INT_MAX) return NULL;
  int n = (int)counts[kind];
  Datum *x = new_datum(c, TYPE_SEQUENCE, n);
  x->elem_hint = (ElemType)(s->has_elem_type ? s->elem_type : kind);
  for (int i = 0; i < n; i++) {
    Datum *it = NULL;
    switch (kind) {
    case PB_TENSOR: it = d_tensor(c, s->tensor_values[i]); break;
    case PB_SPARSE: it = d_sparse(c, s->sparse_tensor_values[i]); break;
    case PB_SEQUENCE: it = d_seq(c, s->sequence_values[i]); break;
    case PB_MAP: it = d_map(c, s->map_values[i]); break;
    default: it = d_opt(c, s->optional_values[i]); break;
    }
    if (!it) return NULL;
    x->items[i] = it;
  }
  return x;
}

static Datum *d_opt(PbCtx *c, const Onnx__OptionalProto *o) {
  const void *vals[6] = {NULL, o->tensor_value, o->sparse_tensor_value, o->sequence_value,
                         o->map_value, o->optional_value};
  int kind = o->has_elem_type ? o->elem_type : PB_UNDEF;
  if (kind < PB_UNDEF || kind > PB_OPTIONAL) {
    pb_error(c->d, c->path, "OptionalProto: unknown elem_type %d", kind);
    return NULL;
  }
  int present = PB_UNDEF;
  for (int k = PB_TENSOR; k <= PB_OPTIONAL; k++) {
    if (!vals[k]) continue;
    if (present || (kind != PB_UNDEF && k != kind)) {
      pb_error(c->d, c->path, "OptionalProto: value of another kind than its elem_type %d", kind);
      return NULL;
    }
    present = k;
  }
  Datum *x = new_datum(c, TYPE_OPTIONAL, present ? 1 : 0);
  x->elem_hint = (ElemType)kind;
  Datum *it = NULL;
  switch (present) {
  case PB_UNDEF: return x;
  case PB_TENSOR: it = d_tensor(c, o->tensor_value); break;
  case PB_SPARSE: it = d_sparse(c, o->sparse_tensor_value); break;
  case PB_SEQUENCE: it = d_seq(c, o->sequence_value); break;
  case PB_MAP: it = d_map(c, o->map_value); break;
  default: it = d_opt(c, o->optional_value); break;
  }
  if (!it) return NULL;
  x->items[0] = it;
  return x;
}

static Datum *d_map(PbCtx *c, const Onnx__MapProto *m) {
  int kt = m->has_key_type ? m->key_type : 0;
  static const bool key_ok[ELEM_COUNT] = {
      [ELEM_UINT8] = 1, [ELEM_INT8] = 1, [ELEM_UINT16] = 1, [ELEM_INT16] = 1, [ELEM_INT32] = 1,
      [ELEM_INT64] = 1, [ELEM_STRING] = 1, [ELEM_UINT32] = 1, [ELEM_UINT64] = 1};
  if (!ir_elem_valid(kt) || !key_ok[kt]) {
    pb_error(c->d, c->path, "MapProto: key_type %d is not an integer or string type", kt);
    return NULL;
  }
  bool str = kt == ELEM_STRING;
  if ((str && m->n_keys) || (!str && m->n_string_keys)) {
    pb_error(c->d, c->path, "MapProto: keys stored in the wrong field for key_type %s", dtype_name(kt));
    return NULL;
  }
  size_t n = str ? m->n_string_keys : m->n_keys;
  int64_t dim = (int64_t)n;
  Tensor *keys = ir_tensor_new(c->a, (ElemType)kt, 1, &dim);
  size_t nbytes;
  if (!ir_elem_nbytes((ElemType)kt, n, &nbytes)) return NULL;
  keys->has_data = true;
  keys->nbytes = nbytes;
  keys->data = ir_arena_alloc(c->a, nbytes);
  if (str) {
    IrStr *s = keys->data;
    for (size_t i = 0; i < n; i++)
      s[i] = ir_str(c->a, (const char *)m->string_keys[i].data, m->string_keys[i].len);
  } else {
    int bytes = ir_elem((ElemType)kt)->bits / 8;
    for (size_t i = 0; i < n; i++) put_le(keys->data, i, bytes, (uint64_t)m->keys[i]);
  }
  Datum *vals;
  if (m->values) {
    if (!(vals = d_seq(c, m->values))) return NULL;
  } else {
    vals = new_datum(c, TYPE_SEQUENCE, 0);
  }
  if ((size_t)vals->n_items != n) {
    pb_error(c->d, c->path, "MapProto: %zu keys but %d values", n, vals->n_items);
    return NULL;
  }
  Datum *x = new_datum(c, TYPE_MAP, 1);
  x->tensor = keys;
  x->items[0] = vals;
  return x;
}

static const char *kind_name(TypeKind k) {
  static const char *const names[] = {"tensor", "sequence", "map", "optional", "sparse tensor", "opaque"};
  return (unsigned)k < 6 ? names[k] : "?";
}

/* The datum against the declared type: kinds, and element types where both are known. */
static bool datum_check(PbCtx *c, const Datum *x, const Type *t) {
  if (!t) return true;
  if (x->kind != t->kind) {
    pb_error(c->d, c->path, "holds a %s, the input is declared as a %s", kind_name(x->kind),
             kind_name(t->kind));
    return false;
  }
  const Tensor *ten = x->kind == TYPE_SPARSE ? x->sparse->values : x->tensor;
  if ((t->kind == TYPE_TENSOR || t->kind == TYPE_SPARSE || t->kind == TYPE_MAP) &&
      t->elem != ELEM_UNDEFINED && ten->elem != t->elem) {
    pb_error(c->d, c->path, "holds %s %s, the input is declared %s", t->kind == TYPE_MAP ? "keys of type" : "data of type",
             ir_elem(ten->elem)->name, ir_elem(t->elem)->name);
    return false;
  }
  if (t->kind == TYPE_SEQUENCE || t->kind == TYPE_OPTIONAL) {
    for (int i = 0; i < x->n_items; i++)
      if (!datum_check(c, x->items[i], t->inner)) return false;
  } else if (t->kind == TYPE_MAP) {
    const Datum *vals = x->items[0];
    for (int i = 0; i < vals->n_items; i++)
      if (!datum_check(c, vals->items[i], t->inner)) return false;
  }
  return true;
}

static Datum *parse_as(PbCtx *c, TypeKind k, const uint8_t *buf, size_t len) {
  const ProtobufCMessageDescriptor *desc;
  switch (k) {
  case TYPE_TENSOR: desc = &onnx__tensor_proto__descriptor; break;
  case TYPE_SPARSE: desc = &onnx__sparse_tensor_proto__descriptor; break;
  case TYPE_SEQUENCE: desc = &onnx__sequence_proto__descriptor; break;
  case TYPE_MAP: desc = &onnx__map_proto__descriptor; break;
  case TYPE_OPTIONAL: desc = &onnx__optional_proto__descriptor; break;
  default:
    pb_error(c->d, c->path, "cannot read data of an opaque type");
    return NULL;
  }
  ProtobufCMessage *m = ir_pb_unpack(c->u, desc, buf, len, c->path, c->d);
  if (!m) return NULL;
  switch (k) {
  case TYPE_TENSOR: return d_tensor(c, (const Onnx__TensorProto *)m);
  case TYPE_SPARSE: return d_sparse(c, (const Onnx__SparseTensorProto *)m);
  case TYPE_SEQUENCE: return d_seq(c, (const Onnx__SequenceProto *)m);
  case TYPE_MAP: return d_map(c, (const Onnx__MapProto *)m);
  default: return d_opt(c, (const Onnx__OptionalProto *)m);
  }
}

Datum *ir_pb_parse(Arena *a, const uint8_t *buf, size_t len, const Type *declared,
                   const char *path, Diag *d) {
  PbCtx c = {ir_pb_unpack_new(a), a, path, d};
  TypeKind k = declared ? declared->kind : TYPE_TENSOR;
  Datum *x;
  if (k == TYPE_OPTIONAL && !wire_strictly(&onnx__optional_proto__descriptor, buf, len) &&
      !(declared->inner && declared->inner->kind == TYPE_OPTIONAL)) {
    /* Not an OptionalProto: some test data stores a present optional as its bare value. */
    Datum *it = parse_as(&c, declared->inner ? declared->inner->kind : TYPE_TENSOR, buf, len);
    x = NULL;
    if (it) {
      x = new_datum(&c, TYPE_OPTIONAL, 1);
      x->items[0] = it;
      x->elem_hint = (ElemType)(it->kind == TYPE_TENSOR ? PB_TENSOR : it->kind == TYPE_SPARSE ? PB_SPARSE
                                : it->kind == TYPE_SEQUENCE ? PB_SEQUENCE : PB_MAP);
    }
  } else {
    x = parse_as(&c, k, buf, len);
  }
  if (x && !datum_check(&c, x, declared)) x = NULL;
  ir_pb_unpack_free(c.u);
  return x;
}

Datum *ir_pb_read(Arena *a, const char *path, const Type *declared, Diag *d) {
  MappedFile f;
  char err[512];
  if (!ir_file_map(path, &f, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    return NULL;
  }
  Datum *x = ir_pb_parse(a, f.data, f.len, declared, path, d);
  ir_file_unmap(&f);
  return x;
}

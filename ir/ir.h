/* ir.h - the whole IR in one header: arena, diagnostics, element types, types, tensors,
 * attributes, values, nodes, graphs, functions and models. Prototypes are grouped under the
 * file that defines them, so this header is the table of contents of ir/.
 * ir/ depends on nothing else of effc's. */
#ifndef EFFC_IR_H
#define EFFC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EFFC_VERSION "0.1.0"

/* ------------------------------------------------------------------ arena.c */
/* A bump allocator: everything a Model owns (names, nodes, values, attributes, small tensor
 * payloads) comes from its arena and is freed at once. */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
  ArenaChunk *head;
  char *cur, *end;      /* objects are cut from cur up, strings from end down */
  size_t total;         /* bytes handed out, for stats */
  size_t chunk;         /* size of the next chunk */
  struct ArenaJob *job; /* big arenas: a helper making the next chunk (arena.c) */
} Arena;

void ir_arena_init(Arena *a);
void ir_arena_free(Arena *a);
/* Zeroed; aligned to 16 bytes when n is a multiple of 16, else to 8 (the most any object
 * of that size needs); never NULL (aborts on OOM). */
void *ir_arena_alloc(Arena *a, size_t n);
void *ir_arena_dup(Arena *a, const void *p, size_t n);
char *ir_arena_strndup(Arena *a, const char *s, size_t n); /* NUL-terminated copy */
char *ir_arena_strdup(Arena *a, const char *s);            /* NULL stays NULL */
char *ir_arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Growable array in an arena-free style: plain realloc'd vectors used while building. */
#define IR_VEC(T)                                                                              \
  struct {                                                                                     \
    T *v;                                                                                      \
    size_t n, cap;                                                                             \
  }
void ir_vec_grow_(void **v, size_t *cap, size_t need, size_t elem);
#define ir_vec_push(vec, x)                                                                    \
  do {                                                                                         \
    if ((vec).n == (vec).cap) ir_vec_grow_((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof *(vec).v); \
    (vec).v[(vec).n++] = (x);                                                                  \
  } while (0)
#define ir_vec_free(vec) (free((vec).v), (vec).v = NULL, (vec).n = (vec).cap = 0)

/* Byte strings: ONNX strings may hold any bytes, NUL included. */
typedef struct IrStr {
  const char *s; /* NUL-terminated for convenience, but len is the truth */
  size_t len;
} IrStr;
IrStr ir_str(Arena *a, const char *s, size_t len);

/* ------------------------------------------------------------------ utf8.c */
/* Decode one UTF-8 sequence at s[0..n): its length (1-4), or 0 if it is not valid UTF-8
 * (overlong, surrogate, beyond U+10FFFF, truncated). */
size_t ir_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
bool ir_utf8_valid(const unsigned char *s, size_t n);

/* ------------------------------------------------------------------ diag.c */
/* Source locations: 1-based line and column; line 0 means "no location". */
typedef struct SrcLoc {
  int line, col;
} SrcLoc;

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

/* A diagnostics sink. Messages go to `out` (stderr by default) as
 *   file:line:col: error: message
 *   <source line>
 *       ^
 * `src` (optional) is the text the locations point into. Library code reports here and
 * returns a status; only the driver exits. */
typedef struct Diag {
  FILE *out;
  const char *file; /* name shown in messages; "<stdin>" for stdin */
  const char *src;  /* source text for the caret line, may be NULL */
  size_t src_len;
  const char *prefix; /* e.g. a pass name, printed before the message; may be NULL */
  int errors, warnings;
  int max_errors; /* stop printing after this many errors (0 = 20) */
} Diag;

void ir_diag_init(Diag *d, FILE *out, const char *file, const char *src, size_t src_len);
void ir_diag_report(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ir_diag_vreport(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, va_list ap);
void ir_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ir_warning(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ir_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
extern const SrcLoc ir_noloc;
static inline SrcLoc ir_loc(int line, int col) {
  SrcLoc l = {line, col};
  return l;
}

/* ------------------------------------------------------------------ elem.c */
/* Element types, numbered as ONNX's TensorProto.DataType. */
#define IR_ELEM_TYPES(X)                                                                       \
  /*  enum          onnx text name    bits st   npy     float signed */                        \
  X(UNDEFINED, 0, "undefined", 0, NULL, NULL, 0, 0)                                            \
  X(FLOAT, 1, "float", 32, "F32", "<f4", 1, 1)                                                 \
  X(UINT8, 2, "uint8", 8, "U8", "|u1", 0, 0)                                                   \
  X(INT8, 3, "int8", 8, "I8", "|i1", 0, 1)                                                     \
  X(UINT16, 4, "uint16", 16, "U16", "<u2", 0, 0)                                               \
  X(INT16, 5, "int16", 16, "I16", "<i2", 0, 1)                                                 \
  X(INT32, 6, "int32", 32, "I32", "<i4", 0, 1)                                                 \
  X(INT64, 7, "int64", 64, "I64", "<i8", 0, 1)                                                 \
  X(STRING, 8, "string", 0, NULL, NULL, 0, 0)                                                  \
  X(BOOL, 9, "bool", 8, "BOOL", "|b1", 0, 0)                                                   \
  X(FLOAT16, 10, "float16", 16, "F16", "<f2", 1, 1)                                            \
  X(DOUBLE, 11, "double", 64, "F64", "<f8", 1, 1)                                              \
  X(UINT32, 12, "uint32", 32, "U32", "<u4", 0, 0)                                              \
  X(UINT64, 13, "uint64", 64, "U64", "<u8", 0, 0)                                              \
  X(COMPLEX64, 14, "complex64", 64, NULL, "<c8", 1, 1)                                         \
  X(COMPLEX128, 15, "complex128", 128, NULL, "<c16", 1, 1)                                     \
  X(BFLOAT16, 16, "bfloat16", 16, "BF16", NULL, 1, 1)                                          \
  X(FLOAT8E4M3FN, 17, "float8e4m3fn", 8, "F8_E4M3", NULL, 1, 1)                                \
  X(FLOAT8E4M3FNUZ, 18, "float8e4m3fnuz", 8, NULL, NULL, 1, 1)                                 \
  X(FLOAT8E5M2, 19, "float8e5m2", 8, "F8_E5M2", NULL, 1, 1)                                    \
  X(FLOAT8E5M2FNUZ, 20, "float8e5m2fnuz", 8, NULL, NULL, 1, 1)                                 \
  X(UINT4, 21, "uint4", 4, NULL, NULL, 0, 0)                                                   \
  X(INT4, 22, "int4", 4, NULL, NULL, 0, 1)                                                     \
  X(FLOAT4E2M1, 23, "float4e2m1", 4, NULL, NULL, 1, 1)                                         \
  X(FLOAT8E8M0, 24, "float8e8m0", 8, "F8_E8M0", NULL, 1, 0)                                    \
  X(UINT2, 25, "uint2", 2, NULL, NULL, 0, 0)                                                   \
  X(INT2, 26, "int2", 2, NULL, NULL, 0, 1)

typedef enum {
#define X(e, num, name, bits, st, npy, isf, sgn) ELEM_##e = num,
  IR_ELEM_TYPES(X)
#undef X
      ELEM_COUNT
} ElemType;

/* Which TensorProto field holds this type's values when not in raw_data. */
typedef enum { STORE_NONE, STORE_INT32, STORE_INT64, STORE_UINT64, STORE_FLOAT, STORE_DOUBLE, STORE_STRING } ElemStore;

typedef struct ElemTraits {
  const char *name;        /* ONNX text keyword: "float", "int4", ... */
  int bits;                /* bits per element in packed storage; 0 for string */
  const char *st_dtype;    /* safetensors dtype name, NULL if safetensors cannot name it */
  const char *npy_descr;   /* numpy descr for the type itself, NULL if numpy lacks it */
  bool is_float;           /* floating point (incl. complex, float8, float4) */
  bool is_signed;
  ElemStore store;         /* TensorProto typed field */
  double (*to_f64)(const void *data, size_t i);   /* element i of packed storage as a double */
  void (*from_f64)(void *data, size_t i, double x); /* store x (rounded to nearest even,
                                                        saturating for float8 fn/fnuz) */
} ElemTraits;

extern const ElemTraits ir_elem_traits[ELEM_COUNT];
const ElemTraits *ir_elem(ElemType t); /* traits; UNDEFINED's row for out-of-range values */
bool ir_elem_valid(int t);             /* 1..ELEM_COUNT-1 */
ElemType ir_elem_from_name(const char *name, size_t len); /* ELEM_UNDEFINED if unknown */
/* Bytes needed to store n elements of t, packed (sub-byte types round up). For STRING,
 * n * sizeof(IrStr). Returns false on overflow. */
bool ir_elem_nbytes(ElemType t, uint64_t n, size_t *out);
/* Alignment a payload of t needs to be read in place (a complex's component size; 1 for
 * byte and sub-byte types and strings). */
size_t ir_elem_align(ElemType t);
/* The lowest and highest value of an integer type (bool: 0 and 1), as int64; UINT64's highest
 * is UINT64_MAX's bit pattern (-1). */
void ir_elem_int_limits(ElemType t, int64_t *lo, int64_t *hi);
/* Bit conversions for the small float formats (used by to_f64/from_f64 and printing). */
float ir_f16_to_f32(uint16_t h);
uint16_t ir_f32_to_f16(float f);
float ir_bf16_to_f32(uint16_t h);
uint16_t ir_f32_to_bf16(float f);

/* ------------------------------------------------------------------ type.c */
typedef enum { TYPE_TENSOR, TYPE_SEQUENCE, TYPE_MAP, TYPE_OPTIONAL, TYPE_SPARSE, TYPE_OPAQUE } TypeKind;

/* A dimension: known (value >= 0, param NULL), symbolic (param != NULL) or unknown (both
 * unset: value = -1, param = NULL). */
typedef struct Dim {
  int64_t value;
  const char *param;
  const char *denotation; /* not expressible in text; kept for .onnx round trips */
} Dim;

typedef struct Type Type;
struct Type {
  TypeKind kind;
  ElemType elem;      /* TENSOR, SPARSE: element type; MAP: key type */
  int rank;           /* TENSOR, SPARSE: -1 = unknown rank (no shape) */
  Dim *dims;
  Type *inner;        /* SEQUENCE, OPTIONAL: element type; MAP: value type (NULL = unset) */
  const char *opaque_domain, *opaque_name; /* OPAQUE */
  const char *denotation;
};

Type *ir_type_tensor(Arena *a, ElemType elem, int rank, const int64_t *dims); /* dims may be NULL: all unknown */
Type *ir_type_new(Arena *a, TypeKind kind);
bool ir_type_equal(const Type *x, const Type *y);
/* Number of elements of a fully known tensor shape; false if unknown/symbolic or overflow. */
bool ir_type_numel(const Type *t, uint64_t *out);

/* ------------------------------------------------------------------ tensor.c */
/* A key/value string pair (metadata_props, external_data entries). */
typedef struct StrPair {
  const char *key, *value;
} StrPair;

/* Serialized protobuf fields the IR does not model (e.g. training_info, a TensorProto's
 * segment, device_configurations). The importer keeps them here and the exporter writes
 * them back, so nothing is dropped silently. */
typedef struct IrBytes {
  const uint8_t *data;
  size_t len;
} IrBytes;

/* A tensor's payload: raw little-endian bytes in ONNX's raw_data layout (sub-byte types
 * packed, low nibble/bits first; complex as interleaved re,im; bool as one byte), except
 * STRING where data is an IrStr[numel]. float16/bfloat16/float8 are bit patterns. */
typedef struct Tensor {
  const char *name;       /* may be NULL */
  const char *doc_string; /* may be NULL */
  ElemType elem;
  int rank;
  int64_t *dims;
  bool has_data;          /* false: "float[3] t" with neither {...} nor [...] */
  void *data;             /* owned by the model (arena or a registered buffer/mapping) */
  size_t nbytes;
  /* External data as written in the file (location/offset/length/checksum, in order);
   * n_external > 0 means data_location = EXTERNAL. If the data has been loaded, has_data
   * is true as well. */
  StrPair *external;
  int n_external;
  StrPair *metadata_props;
  int n_metadata_props;
  IrBytes extra;
  SrcLoc loc;
} Tensor;

typedef struct SparseTensor {
  Tensor *values, *indices;
  int rank;
  int64_t *dims;
  IrBytes extra;
} SparseTensor;

Tensor *ir_tensor_new(Arena *a, ElemType elem, int rank, const int64_t *dims);
bool ir_tensor_numel(const Tensor *t, uint64_t *out); /* false on overflow */
/* Allocates zeroed payload of the right size from the arena; false on overflow. */
bool ir_tensor_alloc_data(Arena *a, Tensor *t);
const char *ir_tensor_external(const Tensor *t, const char *key); /* value or NULL */

/* ------------------------------------------------------------------ graph.c */
typedef struct Graph Graph;
typedef struct Node Node;
typedef struct Value Value;
typedef struct Model Model;
typedef struct Function Function;
struct OpDef; /* the operator table: ops.c */

typedef enum {
  ATTR_UNDEFINED = 0, ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_TENSOR = 4,
  ATTR_GRAPH = 5, ATTR_FLOATS = 6, ATTR_INTS = 7, ATTR_STRINGS = 8, ATTR_TENSORS = 9,
  ATTR_GRAPHS = 10, ATTR_SPARSE_TENSOR = 11, ATTR_SPARSE_TENSORS = 12, ATTR_TYPE_PROTO = 13,
  ATTR_TYPE_PROTOS = 14, ATTR_COUNT
} AttrType;
const char *ir_attr_type_name(AttrType t); /* "float", "ints", ...; NULL if invalid */
AttrType ir_attr_type_from_name(const char *s, size_t len); /* ATTR_UNDEFINED if unknown */

typedef struct Attr {
  const char *name;
  const char *ref_attr_name; /* "@alpha": a reference to a function attribute; no value */
  const char *doc_string;
  AttrType type;
  SrcLoc loc;
  /* The value: only the member matching `type` is meaningful (the members share storage,
   * so test `type` before reading a pointer member). A reference has none. */
  union { /* scalar values */
    float f;
    int64_t i;
    IrStr s;
    Tensor *t;
    Graph *g;
    SparseTensor *sparse;
    Type *tp;
  };
  /* list values: n elements of the array matching `type` */
  size_t n;
  union {
    float *floats;
    int64_t *ints;
    IrStr *strings;
    Tensor **tensors;
    Graph **graphs;
    SparseTensor **sparses;
    Type **types;
  };
  IrBytes extra;
} Attr;

/* A use of a value: input `index` of `node`. */
typedef struct Use {
  Node *node;
  int index;
  struct Use *next;
} Use;

struct Value {
  const char *name;      /* never NULL; unique within its graph's scope */
  Type *type;            /* NULL = unknown */
  Graph *graph;          /* the graph whose scope defines it */
  Node *producer;        /* NULL for graph inputs, initializers, undefined */
  Use *uses;             /* linked list, most recent first */
  Tensor *init;          /* initializer data (graph initializer), or NULL */
  int producer_index;    /* output slot of producer */
  uint32_t id;           /* dense index within the model, for side tables */
  SrcLoc loc;
  bool has_value_info;   /* listed in the graph's value_info */
  bool undefined;        /* referenced but (not yet) defined: see ir_graph_use */
  int n_metadata_props;
  SparseTensor *sparse_init; /* sparse initializer, or NULL */
  const char *doc_string;    /* the value_info / input / output doc_string */
  StrPair *metadata_props;   /* ValueInfoProto.metadata_props */
  IrBytes extra;             /* unmodelled ValueInfoProto fields */
};

struct Node {
  const char *name;      /* NULL = no name */
  const char *domain;    /* "" = default domain (ai.onnx) */
  const char *op_type;
  const char *overload;  /* NULL = none */
  const struct OpDef *op;/* bound by the operator table; NULL = opaque */
  Value **inputs;        /* NULL entry = missing optional input */
  Value **outputs;       /* NULL entry = missing optional output ("") */
  Attr *attrs;
  int n_inputs;
  int n_outputs;
  int n_attrs;
  uint32_t id;
  Graph *graph;
  SrcLoc loc;
  int n_metadata_props;
  const char *doc_string;
  StrPair *metadata_props;
  IrBytes extra;         /* unmodelled NodeProto fields (device_configurations, ...) */
};

typedef struct OpsetImport {
  const char *domain; /* "" for the default domain */
  int64_t version;
} OpsetImport;

/* Name -> Value hash table for one scope. */
typedef struct SymTab {
  struct SymEntry *slots;
  size_t cap, n;
} SymTab;

struct Graph {
  const char *name;
  const char *doc_string;
  Model *model;
  Graph *parent;          /* enclosing graph for subgraphs (attribute graphs), else NULL */
  Node *parent_node;      /* node whose attribute holds this graph */
  Function *function;     /* set when this graph is a function body */
  Value **inputs;
  int n_inputs;
  Value **outputs;
  int n_outputs;
  IR_VEC(Node *) nodes;          /* topological order as written */
  IR_VEC(Value *) initializers;  /* order of GraphProto.initializer (dense and sparse mixed
                                    in one list; Value.sparse_init marks sparse ones) */
  IR_VEC(Value *) value_infos;   /* order of GraphProto.value_info */
  StrPair *metadata_props;
  int n_metadata_props;
  IrBytes extra;          /* unmodelled GraphProto fields (quantization_annotation, ...) */
  SymTab scope;           /* names defined in this graph */
  SrcLoc loc;
};

/* A model-local function (FunctionProto). Its body is a Graph whose inputs and outputs are
 * the function's formal parameters (usually untyped). */
struct Function {
  const char *name;
  const char *domain;
  const char *overload;   /* NULL = none */
  const char *doc_string;
  const char **attr_names;   /* attribute parameters without defaults (FunctionProto.attribute) */
  int n_attr_names;
  Attr *attr_defaults;       /* parameters with defaults (FunctionProto.attribute_proto) */
  int n_attr_defaults;
  /* Declaration order of all attribute parameters, for printing: index >= 0 into attr_names,
   * ~index into attr_defaults. */
  int *attr_order;
  int n_attr_order;
  OpsetImport *opsets;
  int n_opsets;
  StrPair *metadata_props;
  int n_metadata_props;
  Graph *body;
  IrBytes extra;
  SrcLoc loc;
};

struct Model {
  Arena arena;
  /* header; has_* flags say whether the key was present */
  bool has_ir_version, has_model_version;
  int64_t ir_version;
  int64_t model_version;
  OpsetImport *opsets;
  int n_opsets;
  const char *producer_name, *producer_version, *domain, *doc_string; /* NULL = absent */
  StrPair *metadata_props;
  int n_metadata_props;
  Graph *graph;
  Function **functions;
  int n_functions;
  IrBytes extra;          /* unmodelled ModelProto fields (training_info, configuration, ...) */
  /* payload buffers owned by the model (malloc'd blocks and mmaps), freed with it */
  struct Payload *payloads;
  const char *base_dir;   /* directory external data locations are relative to; may be NULL */
  struct ExtCache *ext_cache; /* io_external.c: files mapped for external data (NULL = none) */
  uint32_t next_value_id, next_node_id;
  IR_VEC(Graph *) all_graphs; /* every graph made by ir_graph_new, for ir_model_free */
};

Model *ir_model_new(void);
void ir_model_free(Model *m);
/* Hand a malloc'd block (free_fn = free) or a mapping (free_fn = NULL: munmap(p, n)) to the
 * model; it is released by ir_model_free. */
void ir_model_own(Model *m, void *p, size_t n, void (*free_fn)(void *));
int64_t ir_model_opset(const Model *m, const char *domain); /* -1 if not imported */

Graph *ir_graph_new(Model *m, Graph *parent, const char *name);
/* Look a name up in g and then its enclosing graphs; NULL if not defined. */
Value *ir_graph_lookup(const Graph *g, const char *name);
Value *ir_graph_lookup_local(const Graph *g, const char *name);
/* Builder primitives shared by the text parser and the .onnx importer.
 * ir_graph_use resolves a name through g and its enclosing graphs; if nothing defines it
 * yet, it creates a value marked `undefined` in g's scope (a forward reference, or a real
 * error that the verifier reports at `loc`). ir_graph_def defines a name in g: it takes over
 * an `undefined` placeholder of the same name, else creates a new value; it returns NULL if
 * g already defines the name (a duplicate definition). */
Value *ir_graph_use(Graph *g, const char *name, SrcLoc loc);
Value *ir_graph_def(Graph *g, const char *name, SrcLoc loc);
/* The same with the name's hash given (ir_name_hash of its bytes), for the text parser,
 * which hashes each name once when it reads it and prefetches its symbol-table slot
 * (ir_graph_prefetch) while the rest of the node is read. ir_graph_lookup_h takes the name
 * as bytes (s, len), not NUL-terminated. */
uint64_t ir_name_hash(const char *s, size_t len);
void ir_graph_prefetch(const Graph *g, uint64_t h);
Value *ir_graph_lookup_h(const Graph *g, const char *s, size_t len, uint64_t h);
Value *ir_graph_use_h(Graph *g, const char *name, uint64_t h, SrcLoc loc);
Value *ir_graph_def_h(Graph *g, const char *name, uint64_t h, SrcLoc loc);
/* Create a value named `name` in g's scope. Returns NULL if g already defines that name. */
Value *ir_value_new(Graph *g, const char *name, Type *type);
/* Create a value that is not entered in any scope (for printing tests and passes). */
Value *ir_value_new_anon(Graph *g, const char *name, Type *type);
Node *ir_node_new(Graph *g, const char *domain, const char *op_type, int n_inputs, int n_outputs);
void ir_node_append(Graph *g, Node *n);
/* Set input i of n (v may be NULL) and record the use. */
void ir_node_set_input(Node *n, int i, Value *v);
/* Set output i of n to v (v may be NULL) and make n its producer. */
void ir_node_set_output(Node *n, int i, Value *v);
Attr *ir_node_attr(const Node *n, const char *name); /* NULL if absent */
void ir_graph_set_inputs(Graph *g, Value **v, int n);
void ir_graph_set_outputs(Graph *g, Value **v, int n);
Function *ir_model_find_function(const Model *m, const char *domain, const char *name,
                                 const char *overload);

void ir_symtab_init(SymTab *t);
void ir_symtab_free(SymTab *t);
Value *ir_symtab_get(const SymTab *t, const char *name);
bool ir_symtab_put(SymTab *t, const char *name, Value *v); /* false if already present */

/* ------------------------------------------------------------------ ops.c */
/* The operator table (ir/ops.def). */
typedef struct AttrSpec {
  const char *name;
  AttrType type;
  bool required;
  bool has_default;
  Attr dflt; /* the default value when has_default (name, type and value set) */
} AttrSpec;

typedef struct InferCtx InferCtx;
typedef int (*InferFn)(InferCtx *c);

typedef struct OpDef {
  const char *domain; /* "" for ai.onnx */
  const char *name;
  int since;
  int min_in, max_in, min_out, max_out; /* max -1 = unbounded */
  InferFn infer;
  const char *attr_text; /* the ATTRS column */
  const char *family;    /* the FAMILY column, as text */
  int id;                /* row index in ir_ops */
} OpDef;

enum {
#define OP(fam, dom, name, since, mi, ma, mo, mao, infer, attrs) IR_OPROW_##fam##_##since,
#include "ops.def"
#undef OP
  IR_N_OPS
};
extern const OpDef ir_ops[IR_N_OPS];
/* The row a node of (domain, name) binds to under `opset`: the largest since <= opset.
 * "ai.onnx" is the same domain as "". NULL if the operator is unknown or newer than opset. */
const OpDef *ir_op_find(const char *domain, const char *name, int64_t opset);
/* The parsed attribute schema of a row (parsed once, kept for the process). */
const AttrSpec *ir_op_attrs(const OpDef *op, int *n);
const AttrSpec *ir_op_attr(const OpDef *op, const char *name); /* NULL if not in the schema */
/* Bind every node of the model (all graphs, subgraphs and function bodies) to its row, by
 * the opsets of the graph's model or function. Nodes calling model-local functions and
 * unknown operators stay op == NULL. Returns the number of nodes left unbound that are not
 * function calls. */
int ir_bind_ops(Model *m);
/* The opset a node's graph imports for the node's domain (functions use their own
 * opset_import, falling back to the model's); -1 if none. */
int64_t ir_node_opset(const Node *n);
/* Attribute values with schema defaults: the node's attribute if present, else the
 * schema default of the node's row, else `dflt`. References to function attributes
 * (ref_attr_name) are not resolved here. */
int64_t ir_attr_int(const Node *n, const char *name, int64_t dflt);
float ir_attr_float(const Node *n, const char *name, float dflt);
const char *ir_attr_string(const Node *n, const char *name, const char *dflt); /* NUL-terminated */
const int64_t *ir_attr_ints(const Node *n, const char *name, size_t *count); /* NULL if none */
const float *ir_attr_floats(const Node *n, const char *name, size_t *count);
/* effc's layout marking (passes/layout.c): a node with `__effc_layout: string = "NHWC"`
 * reads and writes its images channels last, [N, H, W, C] instead of ONNX's [N, C, H, W]:
 * input 0, FusedConv's Z (input 3) and output 0; everything else keeps ONNX's meaning. */
bool ir_node_nhwc(const Node *n);
/* Whether input i of an NHWC node is one of its channels-last images. */
bool ir_nhwc_input(const Node *n, int i);
/* dims of a rank-4 shape moved NCHW -> NHWC (to_nhwc) or back, into out (may alias dims). */
void ir_nhwc_dims(const int64_t *dims, bool to_nhwc, int64_t *out);

/* ------------------------------------------------------------------ infer.c */
/* Type and shape inference for one node: the rule named in the row's INFER column. in[i]
 * are the input types (NULL = unknown or missing), in_data[i] the input's constant data
 * when known (initializer or folded constant), out[i] receives new types from `a`
 * (left NULL = unknown). A rule reports contradictions to d at the node's location and
 * returns -1; else 0. It also sets macs (multiply-accumulates, 0 if none). */
struct InferCtx {
  const Node *node;
  const OpDef *op;
  const Type **in;
  const Tensor **in_data;
  Type **out;
  Arena *a;
  Diag *d;
  uint64_t macs;
};
#define OP(fam, dom, name, since, mi, ma, mo, mao, infer, attrs) int ir_infer_##infer(InferCtx *c);
#include "ops.def"
#undef OP
/* Infer the types of every graph of the model (main graph and subgraphs; a call of a
 * model-local function through its body, per call, leaving the body's formal types as they
 * were), nodes in topological order, iteratively: unknown value types are filled, declared
 * ones are checked (a contradiction is an error at the node) and their unknown dims filled.
 * Constant inputs (initializers no graph input overrides, Constant outputs, Shape of a known
 * shape) feed data-dependent rules. Returns 0, or -1 after reporting. The verifier does not
 * call it. */
int ir_infer_model(Model *m, Diag *d);
/* The same as a check: contradictions between inferred and declared types are reported,
 * and every value keeps the type it had (the model prints as before). 0, or -1. */
int ir_infer_check(Model *m, Diag *d);

/* ------------------------------------------------------------------ target.c */
/* The targets (targets.def): plain data that passes (cost model, memory limits) and
 * backends (emitter, ISA, triple) read. */
typedef enum {
#define TARGET(id, ...) TARGET_##id,
#include "targets.def"
#undef TARGET
  TARGET_COUNT
} TargetId;
/* The kernels' instruction set. */
typedef enum { TISA_SCALAR, TISA_AVX2, TISA_AVX512, TISA_NEON, TISA_DSP, TISA_MVE, TISA_NONE } TargetIsa;
typedef struct Target {
  TargetId id;
  const char *name;
  const char *emitter;  /* "c", "llvm", "mcu", "qasm" */
  TargetIsa isa;
  const char *triple, *cpu, *features, *cc;
  int flash_kb, sram_kb; /* 0 = no limit */
  double f32_macs, i8_macs, ghz, gbps; /* per cycle per core; GHz; GB/s */
  int align;             /* arena buffer alignment in bytes */
  const char *pipeline;  /* default pipeline before emission */
  const char *summary;
} Target;
extern const Target ir_targets[];
const Target *ir_target_find(const char *name); /* NULL if unknown */
/* `native` becomes the row matching the host (x86-64-avx512, x86-64-avx2, aarch64 or
 * generic); other targets are returned unchanged. */
const Target *ir_target_resolve(const Target *t);
TargetIsa ir_host_isa(void);
const char *ir_isa_name(TargetIsa isa);

/* ------------------------------------------------------------------ verify.c */
/* Structural checks: SSA (each name defined once per scope, no shadowing of outer names),
 * topological order, inputs defined before use (outer scopes included), attribute value
 * types consistent with their declared type, subgraph scoping, function references, opset
 * imports for every node domain, initializer shapes vs data sizes. Iterative, so any depth
 * of nesting is safe. Returns the number of errors reported to d. */
int ir_verify(const Model *m, Diag *d);

/* ------------------------------------------------------------------ print.c */
/* The canonical text printer (CONTRACTS.md): deterministic, a fixed point of
 * print(parse(print(x))), ONNX's textual syntax that onnx.parser reads. Returns 0, or -1
 * on a write error. Fields the text cannot express (IrBytes extra, denotations,
 * doc_strings of values...) are reported as one warning each to d (may be NULL). */
int ir_print_model(FILE *out, const Model *m, Diag *d);
int ir_print_graph(FILE *out, const Graph *g, int indent);
int ir_print_type(FILE *out, const Type *t);
int ir_print_tensor_data(FILE *out, const Tensor *t); /* the "{...}" or "[...]" part */
/* The type's text into buf (NUL-terminated, truncated to len); returns the full length,
 * as snprintf does. A NULL type is "?". */
size_t ir_type_to_str(const Type *t, char *buf, size_t len);
/* Shortest text that reads back to the same value with strtof / strtod. Writes at most
 * 32 bytes; returns the length. */
int ir_format_f32(char *buf, float f);
int ir_format_f64(char *buf, double f);

/* ------------------------------------------------------------------ dot.c */
/* Graphviz of the main graph (subgraphs as clusters). */
int ir_dot_model(FILE *out, const Model *m);

/* ------------------------------------------------------------------ fileio.c */
/* Whole-file access shared by every reader. A MappedFile is read-only (mmap for regular
 * files, a malloc'd copy for pipes/stdin), with two spare NULs after the end (flex scans in place). */
typedef struct MappedFile {
  const uint8_t *data;
  size_t len;
  bool mapped;
} MappedFile;
/* path "-" reads stdin. On failure writes "path: reason" into err and returns false. */
bool ir_file_map(const char *path, MappedFile *f, char *err, size_t errlen);
void ir_file_unmap(MappedFile *f);
/* Atomic write: open PATH.tmpXXXX beside PATH, return it; commit renames it over PATH,
 * abort removes it. path "-" writes to stdout. */
typedef struct AtomicFile {
  FILE *fp;
  char *path, *tmp;
} AtomicFile;
bool ir_atomic_open(AtomicFile *f, const char *path, char *err, size_t errlen);
bool ir_atomic_commit(AtomicFile *f, char *err, size_t errlen); /* fflush+fsync+rename */
void ir_atomic_abort(AtomicFile *f);

/* ------------------------------------------------------------------ io_npy.c */
/* .npy read: versions 1-3, little/big endian, C/Fortran order; object dtypes rejected.
 * `want` is the element type the caller expects (ELEM_UNDEFINED: take the file's own); it
 * selects the CONTRACTS.md mapping for types NumPy lacks (bfloat16 from float32 values,
 * float8/float4/e8m0 from uint8 bit patterns, int4/int2 from int8, uint4/uint2 from uint8,
 * strings from '<U'). Payload and dims are allocated from `a`. Errors name `path`. */
Tensor *ir_npy_parse(Arena *a, const uint8_t *buf, size_t len, ElemType want, const char *path,
                     Diag *d);
Tensor *ir_npy_read(Arena *a, const char *path, ElemType want, Diag *d);
/* .npy write: always v1, little-endian, C order, with the same mapping; atomic. */
bool ir_npy_write(const char *path, const Tensor *t, Diag *d);
bool ir_npy_write_fp(FILE *fp, const Tensor *t); /* the bytes only, for tests */

/* ------------------------------------------------------------------ io_safetensors.c */
typedef struct StEntry {
  const char *name;
  ElemType elem;      /* from dtype, or from __metadata__ for types safetensors cannot name */
  int rank;
  int64_t *dims;
  uint64_t begin, end; /* data_offsets, relative to the data section */
} StEntry;

typedef struct SafeTensors {
  MappedFile file;
  Arena arena;         /* names, dims, metadata */
  uint64_t data_start; /* 8 + header length */
  StEntry *entries;
  int n_entries;
  StrPair *metadata;
  int n_metadata;
  const StEntry **by_name; /* entries sorted by name, for ir_st_find */
  bool owns_file;          /* ir_st_open mapped `file`; ir_st_parse only borrows the buffer */
} SafeTensors;

/* Parse a whole safetensors image (fuzzable); `path` names it in errors. Takes no ownership
 * of buf. Checks every range against the buffer, element count x size, integral JSON
 * numbers below 2^53, duplicate names, overlapping ranges. */
bool ir_st_parse(SafeTensors *st, const uint8_t *buf, size_t len, const char *path, Diag *d);
bool ir_st_open(SafeTensors *st, const char *path, Diag *d); /* mmap + parse */
void ir_st_close(SafeTensors *st);
const StEntry *ir_st_find(const SafeTensors *st, const char *name);
/* The tensor an entry describes, its bytes copied into `a` (strings decoded from effc's
 * layout: u64 LE lengths, then the bytes). `e->name` becomes the tensor's name. */
Tensor *ir_st_tensor(Arena *a, const SafeTensors *st, const StEntry *e, const char *path, Diag *d);
/* Write tensors (all with data) to `path` atomically: header padded with spaces so the data
 * section starts on a 4096-byte boundary; types safetensors cannot name are stored as U8
 * with their ONNX type in __metadata__. On success, if ext_offsets is not NULL, stores each
 * tensor's offset from the start of the file (what ONNX external data's "offset" holds). */
bool ir_st_write(const char *path, Tensor *const *ts, int n, uint64_t *ext_offsets, Diag *d);

/* ------------------------------------------------------------------ io_external.c */
/* ONNX external data: load the bytes of t (location relative to m->base_dir, "offset" from
 * the start of the file, "length") into t->data, checking the range against the file and
 * against numel x element size. Files are mapped once per model and owned by it.
 * The external entries stay on the tensor (so printing keeps the reference). */
bool ir_external_load(Model *m, Tensor *t, Diag *d);
/* Load every externally stored tensor in the model (initializers and attribute tensors,
 * subgraphs and functions included). */
bool ir_external_load_all(Model *m, Diag *d);
/* Load every externally stored tensor and drop the references: the data becomes inline. */
bool ir_external_inline_all(Model *m, Diag *d);
/* Move every tensor above `threshold` bytes (the inline limit, 64) to a new safetensors
 * file at st_path and make it an external reference with location `location` (the name
 * to write in the text, usually st_path's basename). */
bool ir_external_externalize(Model *m, const char *st_path, const char *location,
                             size_t threshold, Diag *d);

/* ------------------------------------------------------------------ io_pb.c */
/* TensorProto / SequenceProto / OptionalProto data files and the TensorProto <-> Tensor
 * conversion shared with the .onnx importer. Uses the protobuf-c code generated from
 * ONNX's schema at build time (ir/onnx.pb-c.h). */
struct Onnx__TensorProto;
struct ProtobufCMessageDescriptor;

/* A runtime datum read from a .pb: a tensor, a sequence of data, an optional (present or
 * not) or a map (keys tensor + values datum). */
typedef struct Datum Datum;
struct Datum {
  TypeKind kind;      /* TENSOR, SEQUENCE, OPTIONAL, MAP, SPARSE */
  Tensor *tensor;     /* TENSOR; MAP: keys */
  SparseTensor *sparse; /* SPARSE */
  Datum **items;      /* SEQUENCE: elements; OPTIONAL: 0 or 1 items; MAP: 1 item (values) */
  int n_items;
  ElemType elem_hint; /* SequenceProto/OptionalProto elem_type as stored */
};

/* Refuse wire data nesting messages deeper than max_depth, using the message descriptors
 * to know which fields are messages. Iterative. */
bool ir_pb_depth_ok(const struct ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                    size_t len, int max_depth);
#define IR_PB_MAX_DEPTH 64
/* Convert a TensorProto (raw_data or typed fields; external references kept as entries,
 * not loaded) into a Tensor in `a`. `what` names the tensor in errors. */
Tensor *ir_tensor_from_proto(Arena *a, const struct Onnx__TensorProto *p, const char *what,
                             Diag *d);
/* Read a .pb file: `declared` (may be NULL) selects TensorProto, SequenceProto or
 * OptionalProto; with NULL, TensorProto is assumed. */
Datum *ir_pb_parse(Arena *a, const uint8_t *buf, size_t len, const Type *declared,
                   const char *path, Diag *d);
Datum *ir_pb_read(Arena *a, const char *path, const Type *declared, Diag *d);
/* Unpacking for the .onnx importer (and ir_pb_parse): ir_pb_unpack pre-scans the depth, then
 * unpacks with protobuf-c into arenas: allocations of 4 KB and more (tensor payloads) come
 * from `dst`, where the *_u conversions below adopt them without a copy; the rest from a
 * scratch arena released by ir_pb_unpack_free. Errors name `path`. */
struct ProtobufCMessage;
struct Onnx__SparseTensorProto;
typedef struct IrPbUnpack IrPbUnpack;
IrPbUnpack *ir_pb_unpack_new(Arena *dst);
struct ProtobufCMessage *ir_pb_unpack(IrPbUnpack *u, const struct ProtobufCMessageDescriptor *desc,
                                      const uint8_t *buf, size_t len, const char *path, Diag *d);
void ir_pb_unpack_free(IrPbUnpack *u);
Tensor *ir_tensor_from_proto_u(IrPbUnpack *u, Arena *a, const struct Onnx__TensorProto *p,
                               const char *what, Diag *d);
SparseTensor *ir_sparse_from_proto_u(IrPbUnpack *u, Arena *a,
                                     const struct Onnx__SparseTensorProto *p, const char *what,
                                     Diag *d);
/* Tensor -> TensorProto (raw_data, or string_data for strings; external references as
 * external_data with data_location EXTERNAL). The proto points into t; arrays it needs come
 * from `scratch`. */
bool ir_tensor_to_proto(Arena *scratch, const Tensor *t, struct Onnx__TensorProto *p, Diag *d);
bool ir_sparse_to_proto(Arena *scratch, const SparseTensor *t, struct Onnx__SparseTensorProto *p,
                        Diag *d);
/* Unmodelled fields: the wire bytes of msg's message-typed fields listed in ids, then of its
 * unknown fields (what IrBytes extra holds); and back, as unknown fields for packing. */
IrBytes ir_pb_extra(Arena *a, const struct ProtobufCMessage *msg, const uint32_t *ids, int n_ids);
bool ir_pb_attach_extra(Arena *scratch, struct ProtobufCMessage *msg, IrBytes extra);

#endif

/* graph.c - models, graphs, values and nodes: creation, name scopes (hash tables), and
 * the use/def builder shared by the text parser and the .onnx importer. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h> /* munmap of payload mappings */

struct Payload {
  struct Payload *next;
  void *p;
  size_t n;
  void (*free_fn)(void *);
};

Model *ir_model_new(void) {
  Model *m = calloc(1, sizeof *m);
  if (!m) {
    fputs("effc: out of memory\n", stderr);
    abort();
  }
  ir_arena_init(&m->arena);
  return m;
}

/* Graphs keep realloc'd vectors and hash tables outside the arena; find every graph (main,
 * attribute subgraphs at any depth, function bodies) with an explicit stack. */
static void free_graph_tables(Graph *g) {
  ir_vec_free(g->nodes);
  ir_vec_free(g->initializers);
  ir_vec_free(g->value_infos);
  ir_symtab_free(&g->scope);
}

/* Every graph the model made is listed in m->all_graphs (attached or not: a pass may have
 * dropped the node that held a subgraph), so freeing needs no walk. */
void ir_model_free(Model *m) {
  if (!m) return;
  for (size_t i = 0; i < m->all_graphs.n; i++) free_graph_tables(m->all_graphs.v[i]);
  ir_vec_free(m->all_graphs);
  for (struct Payload *p = m->payloads, *nx; p; p = nx) {
    nx = p->next;
    if (p->free_fn) p->free_fn(p->p);
    else munmap(p->p, p->n);
    free(p);
  }
  ir_arena_free(&m->arena);
  free(m);
}

void ir_model_own(Model *m, void *p, size_t n, void (*free_fn)(void *)) {
  struct Payload *pl = malloc(sizeof *pl);
  if (!pl) {
    fputs("effc: out of memory\n", stderr);
    abort();
  }
  pl->p = p;
  pl->n = n;
  pl->free_fn = free_fn;
  pl->next = m->payloads;
  m->payloads = pl;
}

int64_t ir_model_opset(const Model *m, const char *domain) {
  const char *d = domain && strcmp(domain, "ai.onnx") ? domain : "";
  for (int i = 0; i < m->n_opsets; i++) {
    const char *od = m->opsets[i].domain && strcmp(m->opsets[i].domain, "ai.onnx") ? m->opsets[i].domain : "";
    if (!strcmp(od, d)) return m->opsets[i].version;
  }
  return -1;
}

/* ---- symbol tables: open addressing, FNV-1a ----
 * An entry is 16 bytes: the hash and the value (whose name is compared on a hash match).
 * A definition probes one random slot: on a million-value graph that was a cache and TLB
 * miss per node, so the text parser hashes each name as it reads it and prefetches the
 * slot (ir_graph_prefetch) while the rest of the node is parsed. (Transparent huge pages
 * for big tables were tried too: on a VM a fresh 2 MB page can cost milliseconds.) */

struct SymEntry {
  uint64_t hash;
  Value *v; /* NULL = empty */
};

uint64_t ir_name_hash(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static uint64_t hash_str(const char *s) {
  return ir_name_hash(s, strlen(s));
}

/* Big tables are mappings populated up front: every page of one is touched (at random)
 * anyway, and populating spares each page a read fault (the zero page) followed by a write
 * fault. */
#define SYM_MAP ((size_t)1 << 20)

static struct SymEntry *sym_alloc(size_t cap) {
  size_t bytes = cap * sizeof(struct SymEntry);
  if (bytes >= SYM_MAP) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) return p;
  } else {
    struct SymEntry *e = calloc(cap, sizeof *e);
    if (e) return e;
  }
  fputs("effc: out of memory\n", stderr);
  abort();
}

static void sym_release(struct SymEntry *e, size_t cap) {
  if (!e) return;
  if (cap * sizeof *e >= SYM_MAP) munmap(e, cap * sizeof *e);
  else free(e);
}

void ir_symtab_init(SymTab *t) {
  memset(t, 0, sizeof *t);
}

void ir_symtab_free(SymTab *t) {
  sym_release(t->slots, t->cap);
  memset(t, 0, sizeof *t);
}

static struct SymEntry *sym_slot(const SymTab *t, const char *name, uint64_t h) {
  size_t mask = t->cap - 1, i = (size_t)h & mask;
  for (;;) {
    struct SymEntry *e = &t->slots[i];
    if (!e->v || (e->hash == h && !strcmp(e->v->name, name))) return e;
    i = (i + 1) & mask;
  }
}

/* The same for a name given as bytes (not NUL-terminated). */
static struct SymEntry *sym_slot_n(const SymTab *t, const char *name, size_t len, uint64_t h) {
  size_t mask = t->cap - 1, i = (size_t)h & mask;
  for (;;) {
    struct SymEntry *e = &t->slots[i];
    if (!e->v) return e;
    if (e->hash == h && !strncmp(e->v->name, name, len) && !e->v->name[len]) return e;
    i = (i + 1) & mask;
  }
}

void ir_graph_prefetch(const Graph *g, uint64_t h) {
  const SymTab *t = &g->scope;
  if (t->cap) __builtin_prefetch(&t->slots[(size_t)h & (t->cap - 1)]);
}

static Value *sym_get_h(const SymTab *t, const char *name, uint64_t h) {
  if (!t->n) return NULL;
  return sym_slot(t, name, h)->v;
}

Value *ir_symtab_get(const SymTab *t, const char *name) {
  return sym_get_h(t, name, hash_str(name));
}

/* Move the entries into a table of ncap slots (a power of two). */
static void sym_rehash(SymTab *t, size_t ncap) {
  SymTab nt = {sym_alloc(ncap), ncap, 0};
  for (size_t i = 0; i < t->cap; i++) {
    struct SymEntry *e = &t->slots[i];
    if (!e->v) continue;
    size_t j = (size_t)e->hash & (ncap - 1);
    while (nt.slots[j].v) j = (j + 1) & (ncap - 1);
    nt.slots[j] = *e;
  }
  nt.n = t->n;
  sym_release(t->slots, t->cap);
  *t = nt;
}

/* Grow at 75% load. */
static void sym_reserve(SymTab *t) {
  if ((t->n + 1) * 4 <= t->cap * 3) return;
  sym_rehash(t, t->cap ? t->cap * 2 : 16);
}

/* The slot for name: its entry if present, else the empty slot where it would go (after
 * making room). */
static struct SymEntry *sym_claim(SymTab *t, const char *name, uint64_t h) {
  sym_reserve(t);
  return sym_slot(t, name, h);
}

static void sym_fill(SymTab *t, struct SymEntry *e, uint64_t h, Value *v) {
  e->hash = h;
  e->v = v;
  t->n++;
}

bool ir_symtab_put(SymTab *t, const char *name, Value *v) {
  uint64_t h = hash_str(name);
  struct SymEntry *e = sym_claim(t, name, h);
  if (e->v) return false;
  sym_fill(t, e, h, v);
  return true;
}

/* ---- graphs, values, nodes ---- */

Graph *ir_graph_new(Model *m, Graph *parent, const char *name) {
  Graph *g = ir_arena_alloc(&m->arena, sizeof *g);
  g->model = m;
  g->parent = parent;
  ir_vec_push(m->all_graphs, g);
  g->name = name;
  ir_symtab_init(&g->scope);
  return g;
}

Value *ir_graph_lookup_local(const Graph *g, const char *name) {
  return ir_symtab_get(&g->scope, name);
}

static Value *lookup_h(const Graph *g, const char *name, uint64_t h) {
  for (; g; g = g->parent) {
    Value *v = sym_get_h(&g->scope, name, h);
    if (v) return v;
  }
  return NULL;
}

Value *ir_graph_lookup(const Graph *g, const char *name) {
  return lookup_h(g, name, hash_str(name));
}

Value *ir_graph_lookup_h(const Graph *g, const char *name, size_t len, uint64_t h) {
  for (; g; g = g->parent)
    if (g->scope.n) {
      Value *v = sym_slot_n(&g->scope, name, len, h)->v;
      if (v) return v;
    }
  return NULL;
}

Value *ir_value_new_anon(Graph *g, const char *name, Type *type) {
  Value *v = ir_arena_alloc(&g->model->arena, sizeof *v);
  v->name = name ? name : "";
  v->type = type;
  v->graph = g;
  v->id = g->model->next_value_id++;
  return v;
}

Value *ir_value_new(Graph *g, const char *name, Type *type) {
  uint64_t h = hash_str(name);
  struct SymEntry *e = sym_claim(&g->scope, name, h);
  if (e->v) return NULL;
  Value *v = ir_value_new_anon(g, name, type);
  sym_fill(&g->scope, e, h, v);
  return v;
}

Value *ir_graph_use(Graph *g, const char *name, SrcLoc loc) {
  return ir_graph_use_h(g, name, hash_str(name), loc);
}

Value *ir_graph_use_h(Graph *g, const char *name, uint64_t h, SrcLoc loc) {
  Value *v = lookup_h(g, name, h);
  if (v) return v;
  v = ir_value_new_anon(g, name, NULL);
  sym_fill(&g->scope, sym_claim(&g->scope, name, h), h, v);
  v->undefined = true;
  v->loc = loc;
  return v;
}

Value *ir_graph_def(Graph *g, const char *name, SrcLoc loc) {
  return ir_graph_def_h(g, name, hash_str(name), loc);
}

Value *ir_graph_def_h(Graph *g, const char *name, uint64_t h, SrcLoc loc) {
  struct SymEntry *e = sym_claim(&g->scope, name, h);
  Value *v;
  if (e->v) {
    v = e->v;
    if (!v->undefined) return NULL;
    v->undefined = false;
  } else {
    v = ir_value_new_anon(g, name, NULL);
    sym_fill(&g->scope, e, h, v);
  }
  v->loc = loc;
  return v;
}

Node *ir_node_new(Graph *g, const char *domain, const char *op_type, int n_inputs, int n_outputs) {
  Arena *a = &g->model->arena;
  Node *n = ir_arena_alloc(a, sizeof *n);
  n->domain = domain ? domain : "";
  n->op_type = op_type;
  n->graph = g;
  n->n_inputs = n_inputs;
  n->n_outputs = n_outputs;
  if (n_inputs) n->inputs = ir_arena_alloc(a, (size_t)n_inputs * sizeof *n->inputs);
  if (n_outputs) n->outputs = ir_arena_alloc(a, (size_t)n_outputs * sizeof *n->outputs);
  n->id = g->model->next_node_id++;
  return n;
}

void ir_node_append(Graph *g, Node *n) {
  n->graph = g;
  ir_vec_push(g->nodes, n);
}

void ir_node_set_input(Node *n, int i, Value *v) {
  n->inputs[i] = v;
  if (v) {
    Use *u = ir_arena_alloc(&n->graph->model->arena, sizeof *u);
    u->node = n;
    u->index = i;
    u->next = v->uses;
    v->uses = u;
  }
}

void ir_node_set_output(Node *n, int i, Value *v) {
  n->outputs[i] = v;
  if (v) {
    v->producer = n;
    v->producer_index = i;
  }
}

Attr *ir_node_attr(const Node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

void ir_graph_set_inputs(Graph *g, Value **v, int n) {
  g->n_inputs = n;
  g->inputs = n ? ir_arena_dup(&g->model->arena, v, (size_t)n * sizeof *v) : NULL;
}

void ir_graph_set_outputs(Graph *g, Value **v, int n) {
  g->n_outputs = n;
  g->outputs = n ? ir_arena_dup(&g->model->arena, v, (size_t)n * sizeof *v) : NULL;
}

Function *ir_model_find_function(const Model *m, const char *domain, const char *name,
                                 const char *overload) {
  const char *ov = overload ? overload : "";
  for (int i = 0; i < m->n_functions; i++) {
    const Function *f = m->functions[i];
    const char *fo = f->overload ? f->overload : "";
    if (!strcmp(f->domain ? f->domain : "", domain ? domain : "") && !strcmp(f->name, name) &&
        !strcmp(fo, ov))
      return m->functions[i];
  }
  return NULL;
}

static const char *const attr_names[ATTR_COUNT] = {
    [ATTR_FLOAT] = "float",   [ATTR_INT] = "int",         [ATTR_STRING] = "string",
    [ATTR_TENSOR] = "tensor", [ATTR_GRAPH] = "graph",     [ATTR_FLOATS] = "floats",
    [ATTR_INTS] = "ints",     [ATTR_STRINGS] = "strings", [ATTR_TENSORS] = "tensors",
    [ATTR_GRAPHS] = "graphs", [ATTR_SPARSE_TENSOR] = "sparse_tensor",
    [ATTR_SPARSE_TENSORS] = "sparse_tensors", [ATTR_TYPE_PROTO] = "type_proto",
    [ATTR_TYPE_PROTOS] = "type_protos",
};

const char *ir_attr_type_name(AttrType t) {
  return (int)t > 0 && t < ATTR_COUNT ? attr_names[t] : NULL;
}

AttrType ir_attr_type_from_name(const char *s, size_t len) {
  for (int i = 1; i < ATTR_COUNT; i++)
    if (strlen(attr_names[i]) == len && !memcmp(attr_names[i], s, len)) return (AttrType)i;
  return ATTR_UNDEFINED;
}

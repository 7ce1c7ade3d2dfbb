/* graph.c - models, graphs, values and nodes: creation, name scopes (hash tables), and
 * the use/def builder shared by the text parser and the .onnx importer. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

typedef IR_VEC(Graph *) GraphStack;

static void push_graph(GraphStack *st, Graph *g) {
  if (g) ir_vec_push(*st, g);
}

void ir_model_free(Model *m) {
  if (!m) return;
  GraphStack st = {0};
  push_graph(&st, m->graph);
  for (int i = 0; i < m->n_functions; i++) {
    Function *f = m->functions[i];
    if (!f) continue;
    push_graph(&st, f->body);
    for (int k = 0; k < f->n_attr_defaults; k++) {
      push_graph(&st, f->attr_defaults[k].g);
      for (size_t j = 0; f->attr_defaults[k].graphs && j < f->attr_defaults[k].n; j++)
        push_graph(&st, f->attr_defaults[k].graphs[j]);
    }
  }
  while (st.n) {
    Graph *g = st.v[--st.n];
    for (size_t i = 0; i < g->nodes.n; i++) {
      Node *n = g->nodes.v[i];
      for (int k = 0; k < n->n_attrs; k++) {
        Attr *a = &n->attrs[k];
        push_graph(&st, a->g);
        for (size_t j = 0; a->graphs && j < a->n; j++) push_graph(&st, a->graphs[j]);
      }
    }
    free_graph_tables(g);
  }
  ir_vec_free(st);
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
 * Big tables are mapped with transparent huge pages: a definition probes one random slot,
 * and on a million-value graph a TLB miss per probe dominated the parse. */

struct SymEntry {
  uint64_t hash;
  Value *v; /* NULL = empty */
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

#define SYM_HUGE ((size_t)2 << 20)

static struct SymEntry *sym_alloc(size_t cap) {
  size_t bytes = cap * sizeof(struct SymEntry);
  if (bytes >= SYM_HUGE) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
      madvise(p, bytes, MADV_HUGEPAGE);
#endif
      return p;
    }
    fputs("effc: out of memory\n", stderr);
    abort();
  }
  struct SymEntry *e = calloc(cap, sizeof *e);
  if (!e) {
    fputs("effc: out of memory\n", stderr);
    abort();
  }
  return e;
}

static void sym_release(struct SymEntry *e, size_t cap) {
  if (!e) return;
  if (cap * sizeof *e >= SYM_HUGE) munmap(e, cap * sizeof *e);
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

static Value *sym_get_h(const SymTab *t, const char *name, uint64_t h) {
  if (!t->n) return NULL;
  return sym_slot(t, name, h)->v;
}

Value *ir_symtab_get(const SymTab *t, const char *name) {
  return sym_get_h(t, name, hash_str(name));
}

/* Grow at 75% load. */
static void sym_reserve(SymTab *t) {
  if ((t->n + 1) * 4 <= t->cap * 3) return;
  size_t ncap = t->cap ? t->cap * 2 : 16;
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
  uint64_t h = hash_str(name);
  Value *v = lookup_h(g, name, h);
  if (v) return v;
  v = ir_value_new_anon(g, name, NULL);
  sym_fill(&g->scope, sym_claim(&g->scope, name, h), h, v);
  v->undefined = true;
  v->loc = loc;
  return v;
}

Value *ir_graph_def(Graph *g, const char *name, SrcLoc loc) {
  uint64_t h = hash_str(name);
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

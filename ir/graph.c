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
  for (int i = 0; i < m->n_functions; i++)
    if (m->functions[i]) push_graph(&st, m->functions[i]->body);
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

/* ---- symbol tables: open addressing, FNV-1a ---- */

struct SymEntry {
  const char *name;
  uint64_t hash;
  Value *v;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void ir_symtab_init(SymTab *t) {
  memset(t, 0, sizeof *t);
}

void ir_symtab_free(SymTab *t) {
  free(t->slots);
  memset(t, 0, sizeof *t);
}

static struct SymEntry *sym_slot(const SymTab *t, const char *name, uint64_t h) {
  size_t mask = t->cap - 1, i = (size_t)h & mask;
  for (;;) {
    struct SymEntry *e = &t->slots[i];
    if (!e->name || (e->hash == h && !strcmp(e->name, name))) return e;
    i = (i + 1) & mask;
  }
}

Value *ir_symtab_get(const SymTab *t, const char *name) {
  if (!t->n) return NULL;
  struct SymEntry *e = sym_slot(t, name, hash_str(name));
  return e->name ? e->v : NULL;
}

bool ir_symtab_put(SymTab *t, const char *name, Value *v) {
  if ((t->n + 1) * 4 > t->cap * 3) {
    size_t ncap = t->cap ? t->cap * 2 : 16;
    SymTab nt = {calloc(ncap, sizeof(struct SymEntry)), ncap, 0};
    if (!nt.slots) {
      fputs("effc: out of memory\n", stderr);
      abort();
    }
    for (size_t i = 0; i < t->cap; i++)
      if (t->slots[i].name) *sym_slot(&nt, t->slots[i].name, t->slots[i].hash) = t->slots[i];
    nt.n = t->n;
    free(t->slots);
    *t = nt;
  }
  uint64_t h = hash_str(name);
  struct SymEntry *e = sym_slot(t, name, h);
  if (e->name) return false;
  e->name = name;
  e->hash = h;
  e->v = v;
  t->n++;
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

Value *ir_graph_lookup(const Graph *g, const char *name) {
  for (; g; g = g->parent) {
    Value *v = ir_symtab_get(&g->scope, name);
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
  if (ir_symtab_get(&g->scope, name)) return NULL;
  Value *v = ir_value_new_anon(g, name, type);
  ir_symtab_put(&g->scope, v->name, v);
  return v;
}

Value *ir_graph_use(Graph *g, const char *name, SrcLoc loc) {
  Value *v = ir_graph_lookup(g, name);
  if (v) return v;
  v = ir_value_new(g, name, NULL);
  v->undefined = true;
  v->loc = loc;
  return v;
}

Value *ir_graph_def(Graph *g, const char *name, SrcLoc loc) {
  Value *v = ir_symtab_get(&g->scope, name);
  if (v) {
    if (!v->undefined) return NULL;
    v->undefined = false;
    v->loc = loc;
    return v;
  }
  v = ir_value_new(g, name, NULL);
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

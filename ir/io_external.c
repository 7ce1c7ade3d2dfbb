/* io_external.c - ONNX external data: resolve and map the files a model's tensors point into
 * (once per file per model), load tensors by location/offset/length, and move large tensors
 * out into a safetensors file (ir_external_externalize).
 *
 * Loaded payloads point straight into a private (copy-on-write) mapping of the file, so no
 * bytes are copied and a pass that writes into t->data changes only its own copy, never the
 * file. The one exception is a tensor whose offset is not a multiple of its element type's
 * natural alignment (2 for 16-bit types, 4 for float/int32/complex64, 8 for 64-bit types and
 * complex128): its bytes are copied into the model's arena (at least 8-byte aligned) so kernels can
 * read them as typed arrays. Mappings live until ir_model_free. A file truncated by another
 * process while mapped raises SIGBUS on access, as with any mmap. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir.h"

/* ------------------------------------------------------------------ the file cache */

typedef struct ExtFile {
  dev_t dev;
  ino_t ino;
  uint8_t *map; /* NULL for an empty file */
  size_t len;
} ExtFile;

struct ExtCache {
  ExtFile *files;
  int n, cap;
};

static void ext_cache_free(void *p) {
  struct ExtCache *c = p;
  for (int i = 0; i < c->n; i++)
    if (c->files[i].map) munmap(c->files[i].map, c->files[i].len);
  free(c->files);
  free(c);
}

/* "location" must be relative and stay inside the base directory: no leading '/', and no
 * ".." that climbs above where it started (checked on the text; symlinks are followed). */
static const char *location_problem(const char *loc) {
  if (!loc[0]) return "is empty";
  if (loc[0] == '/') return "is an absolute path";
  int depth = 0;
  const char *p = loc;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (--depth < 0) return "leaves the model's directory";
    } else if (n > 0 && !(n == 1 && p[0] == '.')) {
      depth++;
    }
    p += n;
    if (*p == '/') p++;
  }
  return NULL;
}

/* Map the file at `path` (or find it already mapped). */
static const ExtFile *ext_map(Model *m, const char *path, SrcLoc loc, Diag *d) {
  struct ExtCache *c = m->ext_cache;
  if (!c) {
    c = calloc(1, sizeof *c);
    if (!c) {
      ir_error(d, loc, "%s: out of memory", path);
      return NULL;
    }
    m->ext_cache = c;
    ir_model_own(m, c, sizeof *c, ext_cache_free);
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ir_error(d, loc, "external data %s: %s", path, strerror(errno));
    return NULL;
  }
  struct stat sb;
  if (fstat(fd, &sb) < 0) {
    ir_error(d, loc, "external data %s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(sb.st_mode)) {
    ir_error(d, loc, "external data %s: not a regular file", path);
    close(fd);
    return NULL;
  }
  for (int i = 0; i < c->n; i++)
    if (c->files[i].dev == sb.st_dev && c->files[i].ino == sb.st_ino) {
      close(fd);
      return &c->files[i];
    }
  if (c->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 4;
    ExtFile *f = realloc(c->files, (size_t)cap * sizeof *f);
    if (!f) {
      close(fd);
      ir_error(d, loc, "%s: out of memory", path);
      return NULL;
    }
    c->files = f;
    c->cap = cap;
  }
  ExtFile *f = &c->files[c->n];
  memset(f, 0, sizeof *f);
  f->dev = sb.st_dev;
  f->ino = sb.st_ino;
  if ((uint64_t)sb.st_size > SIZE_MAX) {
    close(fd);
    ir_error(d, loc, "external data %s: file too large", path);
    return NULL;
  }
  f->len = (size_t)sb.st_size;
  if (f->len > 0) {
    void *p = mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ir_error(d, loc, "external data %s: mmap: %s", path, strerror(errno));
      close(fd);
      return NULL;
    }
    f->map = p;
  }
  close(fd);
  c->n++;
  return f;
}

/* A decimal number, digits only, no overflow. */
static bool parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    unsigned dg = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - dg) / 10) return false;
    v = v * 10 + dg;
  }
  *out = v;
  return true;
}


static const char *tname(const Tensor *t) {
  return t->name && t->name[0] ? t->name : "<unnamed>";
}

bool ir_external_load(Model *m, Tensor *t, Diag *d) {
  if (t->n_external == 0 || t->has_data) return true;
  SrcLoc loc = t->loc;
  const char *location = ir_tensor_external(t, "location");
  if (!location) {
    ir_error(d, loc, "tensor '%s': external data without a \"location\"", tname(t));
    return false;
  }
  const char *why = location_problem(location);
  if (why) {
    ir_error(d, loc, "tensor '%s': external data location \"%s\" %s", tname(t), location, why);
    return false;
  }
  if (t->elem == ELEM_STRING || !ir_elem_valid((int)t->elem)) {
    ir_error(d, loc, "tensor '%s': %s tensors cannot be stored as external data", tname(t),
             ir_elem(t->elem)->name);
    return false;
  }
  uint64_t numel;
  size_t want;
  if (!ir_tensor_numel(t, &numel) || !ir_elem_nbytes(t->elem, numel, &want)) {
    ir_error(d, loc, "tensor '%s': shape is unknown or too large for external data", tname(t));
    return false;
  }
  const char *so = ir_tensor_external(t, "offset"), *sl = ir_tensor_external(t, "length");
  uint64_t off = 0, length = 0;
  if (so && !parse_u64(so, &off)) {
    ir_error(d, loc, "tensor '%s': external data offset \"%s\" is not a non-negative integer",
             tname(t), so);
    return false;
  }
  if (sl && !parse_u64(sl, &length)) {
    ir_error(d, loc, "tensor '%s': external data length \"%s\" is not a non-negative integer",
             tname(t), sl);
    return false;
  }
  const char *base = m->base_dir && m->base_dir[0] ? m->base_dir : ".";
  size_t pl = strlen(base) + 1 + strlen(location) + 1;
  char *path = malloc(pl);
  if (!path) {
    ir_error(d, loc, "out of memory");
    return false;
  }
  snprintf(path, pl, "%s/%s", base, location);
  const ExtFile *f = ext_map(m, path, loc, d);
  if (!f) {
    free(path);
    return false;
  }
  bool ok = false;
  if (off > f->len) {
    ir_error(d, loc, "tensor '%s': external data offset %llu is past the end of %s (%zu bytes)",
             tname(t), (unsigned long long)off, path, f->len);
    goto out;
  }
  if (!sl) length = f->len - off;
  if (length > f->len - off) {
    ir_error(d, loc, "tensor '%s': external data [%llu, +%llu) runs past the end of %s (%zu bytes)",
             tname(t), (unsigned long long)off, (unsigned long long)length, path, f->len);
    goto out;
  }
  if (length != (uint64_t)want) {
    ir_error(d, loc, "tensor '%s': external data length is %llu bytes but %s%s needs %zu", tname(t),
             (unsigned long long)length, ir_elem(t->elem)->name, t->rank ? " tensor" : " scalar",
             want);
    goto out;
  }
  if (want == 0) {
    t->data = ir_arena_alloc(&m->arena, 1);
  } else {
    uint8_t *p = f->map + off;
    if ((uintptr_t)p % ir_elem_align(t->elem) != 0) p = ir_arena_dup(&m->arena, p, want);
    t->data = p;
  }
  t->nbytes = want;
  t->has_data = true;
  ok = true;
out:
  free(path);
  return ok;
}

/* ------------------------------------------------------------------ walking every tensor */

/* One tensor slot in the model: a graph initializer (v), a node attribute (n, a, index into a
 * list attribute), or a function's attribute default (f, a). part: 0 dense, 1 sparse values,
 * 2 sparse indices. */
typedef struct TensorRef {
  Tensor *t;
  const Graph *g;
  const Value *v;
  const Node *n;
  int node_index;
  const Function *f;
  const Attr *a;
  int index; /* -1 for single-tensor attributes */
  int part;
} TensorRef;

typedef IR_VEC(TensorRef) RefVec;
typedef IR_VEC(Graph *) GraphVec;

static void push_ref(RefVec *rv, TensorRef r, Tensor *t, int part) {
  if (!t) return;
  r.t = t;
  r.part = part;
  ir_vec_push(*rv, r);
}

static void push_sparse(RefVec *rv, TensorRef r, SparseTensor *s) {
  if (!s) return;
  push_ref(rv, r, s->values, 1);
  push_ref(rv, r, s->indices, 2);
}

static void visit_attr(RefVec *rv, GraphVec *gq, TensorRef r, const Attr *a) {
  r.a = a;
  r.index = -1;
  switch (a->type) {
  case ATTR_TENSOR:
    push_ref(rv, r, a->t, 0);
    break;
  case ATTR_SPARSE_TENSOR:
    push_sparse(rv, r, a->sparse);
    break;
  case ATTR_GRAPH:
    if (a->g) ir_vec_push(*gq, a->g);
    break;
  case ATTR_TENSORS:
    for (size_t i = 0; i < a->n && a->tensors; i++) {
      r.index = (int)i;
      push_ref(rv, r, a->tensors[i], 0);
    }
    break;
  case ATTR_SPARSE_TENSORS:
    for (size_t i = 0; i < a->n && a->sparses; i++) {
      r.index = (int)i;
      push_sparse(rv, r, a->sparses[i]);
    }
    break;
  case ATTR_GRAPHS:
    for (size_t i = 0; i < a->n && a->graphs; i++)
      if (a->graphs[i]) ir_vec_push(*gq, a->graphs[i]);
    break;
  default:
    break;
  }
}

/* Every tensor of the model in a fixed order: the main graph, then subgraphs and function
 * bodies breadth-first (a queue, not recursion, so any nesting depth is safe). */
static void collect_tensors(Model *m, RefVec *rv) {
  GraphVec gq = {0};
  if (m->graph) ir_vec_push(gq, m->graph);
  for (int i = 0; i < m->n_functions; i++) {
    Function *f = m->functions[i];
    if (!f) continue;
    TensorRef r = {0};
    r.f = f;
    for (int k = 0; k < f->n_attr_defaults; k++) visit_attr(rv, &gq, r, &f->attr_defaults[k]);
    if (f->body) ir_vec_push(gq, f->body);
  }
  for (size_t qi = 0; qi < gq.n; qi++) {
    Graph *g = gq.v[qi];
    TensorRef r = {0};
    r.g = g;
    r.f = g->function;
    for (size_t i = 0; i < g->initializers.n; i++) {
      Value *v = g->initializers.v[i];
      if (!v) continue;
      r.v = v;
      push_ref(rv, r, v->init, 0);
      push_sparse(rv, r, v->sparse_init);
    }
    r.v = NULL;
    for (size_t i = 0; i < g->nodes.n; i++) {
      Node *n = g->nodes.v[i];
      if (!n) continue;
      r.n = n;
      r.node_index = (int)i;
      for (int k = 0; k < n->n_attrs; k++) visit_attr(rv, &gq, r, &n->attrs[k]);
    }
  }
  ir_vec_free(gq);
}

bool ir_external_load_all(Model *m, Diag *d) {
  RefVec rv = {0};
  collect_tensors(m, &rv);
  bool ok = true;
  for (size_t i = 0; i < rv.n; i++)
    if (rv.v[i].t->n_external > 0 && !rv.v[i].t->has_data && !ir_external_load(m, rv.v[i].t, d))
      ok = false;
  ir_vec_free(rv);
  return ok;
}

bool ir_external_inline_all(Model *m, Diag *d) {
  if (!ir_external_load_all(m, d)) return false;
  RefVec rv = {0};
  collect_tensors(m, &rv);
  for (size_t i = 0; i < rv.n; i++) {
    rv.v[i].t->external = NULL;
    rv.v[i].t->n_external = 0;
  }
  ir_vec_free(rv);
  return true;
}

/* ------------------------------------------------------------------ externalize */

/* A set of names (open addressing), to make safetensors names unique. */
typedef struct NameSet {
  const char **slot;
  size_t cap, n;
} NameSet;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool ns_has(const NameSet *s, const char *name) {
  if (!s->cap) return false;
  for (size_t i = hash_str(name) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (!s->slot[i]) return false;
    if (strcmp(s->slot[i], name) == 0) return true;
  }
}

static bool ns_add(NameSet *s, const char *name) {
  if ((s->n + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    const char **sl = calloc(cap, sizeof *sl);
    if (!sl) return false;
    for (size_t i = 0; i < s->cap; i++)
      if (s->slot[i]) {
        size_t j = hash_str(s->slot[i]) & (cap - 1);
        while (sl[j]) j = (j + 1) & (cap - 1);
        sl[j] = s->slot[i];
      }
    free(s->slot);
    s->slot = sl;
    s->cap = cap;
  }
  size_t j = hash_str(name) & (s->cap - 1);
  while (s->slot[j]) j = (j + 1) & (s->cap - 1);
  s->slot[j] = name;
  s->n++;
  return true;
}

/* The name a tensor gets in the safetensors header: the initializer's value name, or the
 * tensor's own name, or "<node name or op_type_index>.<attribute>[.<list index>]"; sparse
 * parts add ".values" / ".indices". */
static char *base_name(Arena *a, const TensorRef *r) {
  const char *part = r->part == 1 ? ".values" : r->part == 2 ? ".indices" : "";
  if (r->v) return ir_arena_printf(a, "%s%s", r->v->name, part);
  if (r->t->name && r->t->name[0]) return ir_arena_printf(a, "%s%s", r->t->name, part);
  char idx[24] = "";
  if (r->index >= 0) snprintf(idx, sizeof idx, ".%d", r->index);
  const char *an = r->a && r->a->name ? r->a->name : "attr";
  if (r->n) {
    if (r->n->name && r->n->name[0])
      return ir_arena_printf(a, "%s.%s%s%s", r->n->name, an, idx, part);
    return ir_arena_printf(a, "%s_%d.%s%s%s", r->n->op_type ? r->n->op_type : "node", r->node_index,
                           an, idx, part);
  }
  if (r->f)
    return ir_arena_printf(a, "%s.%s%s%s", r->f->name ? r->f->name : "function", an, idx, part);
  return ir_arena_printf(a, "tensor.%s%s%s", an, idx, part);
}

bool ir_external_externalize(Model *m, const char *st_path, const char *location, size_t threshold,
                             Diag *d) {
  const char *why = location_problem(location ? location : "");
  if (why) {
    ir_error(d, ir_noloc, "external data location \"%s\" %s", location ? location : "", why);
    return false;
  }
  RefVec rv = {0};
  collect_tensors(m, &rv);
  Arena tmp;
  ir_arena_init(&tmp);
  NameSet names = {0};
  Tensor **copies = NULL;
  Tensor **targets = NULL;
  uint64_t *offsets = NULL;
  bool ok = false;
  int nc = 0;

  /* everything must be in memory first: the new file replaces the old references */
  bool loaded = true;
  for (size_t i = 0; i < rv.n; i++)
    if (rv.v[i].t->n_external > 0 && !rv.v[i].t->has_data && !ir_external_load(m, rv.v[i].t, d))
      loaded = false;
  if (!loaded) goto out;

  copies = calloc(rv.n ? rv.n : 1, sizeof *copies);
  targets = calloc(rv.n ? rv.n : 1, sizeof *targets);
  offsets = calloc(rv.n ? rv.n : 1, sizeof *offsets);
  if (!copies || !targets || !offsets || !ns_add(&names, "__metadata__")) {
    ir_error(d, ir_noloc, "%s: out of memory", st_path);
    goto out;
  }
  for (size_t i = 0; i < rv.n; i++) {
    Tensor *t = rv.v[i].t;
    if (!t->has_data) continue;
    uint64_t numel;
    size_t nb = 0;
    bool big = t->elem != ELEM_STRING && ir_elem_valid((int)t->elem) &&
               ir_tensor_numel(t, &numel) && ir_elem_nbytes(t->elem, numel, &nb) && nb > threshold;
    if (!big) {
      t->external = NULL; /* small (or string) tensors are written inline */
      t->n_external = 0;
      continue;
    }
    bool dup = false;
    for (int k = 0; k < nc && !dup; k++) dup = targets[k] == t; /* a tensor shared by two slots */
    if (dup) continue;
    char *name = base_name(&tmp, &rv.v[i]);
    for (int k = 1; ns_has(&names, name); k++)
      name = ir_arena_printf(&tmp, "%s_%d", base_name(&tmp, &rv.v[i]), k);
    if (!ns_add(&names, name)) {
      ir_error(d, ir_noloc, "%s: out of memory", st_path);
      goto out;
    }
    Tensor *c = ir_arena_dup(&tmp, t, sizeof *t);
    c->name = name;
    c->nbytes = nb; /* exactly what is written: the "length" entry */
    copies[nc] = c;
    targets[nc] = t;
    nc++;
  }
  if (nc == 0) {
    ok = true; /* nothing above the threshold: no file */
    goto out;
  }
  if (!ir_st_write(st_path, copies, nc, offsets, d)) goto out;
  const char *locdup = ir_arena_strdup(&m->arena, location);
  for (int k = 0; k < nc; k++) {
    Tensor *t = targets[k];
    StrPair *e = ir_arena_alloc(&m->arena, 3 * sizeof *e);
    e[0].key = "location";
    e[0].value = locdup;
    e[1].key = "offset";
    e[1].value = ir_arena_printf(&m->arena, "%llu", (unsigned long long)offsets[k]);
    e[2].key = "length";
    e[2].value = ir_arena_printf(&m->arena, "%zu", copies[k]->nbytes);
    t->external = e;
    t->n_external = 3;
    t->has_data = true; /* the bytes stay in memory as well */
  }
  ok = true;
out:
  free(copies);
  free(targets);
  free(offsets);
  free(names.slot);
  ir_arena_free(&tmp);
  ir_vec_free(rv);
  return ok;
}

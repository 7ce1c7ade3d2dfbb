/* dot.c - Graphviz of a model's main graph: inputs, initializers and outputs as distinct
 * shapes, one box per node, edges labelled with the value's name and type, subgraphs as
 * nested clusters. Names are escaped for dot; nesting uses an explicit stack. */
#include "ir.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4, min = 0x10000;
  else
    return 0;
  if (len > n) return 0;
  unsigned cp = c & (0xFF >> (len + 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

/* Text inside a dot "..." string: quotes and backslashes escaped, newlines as \n, other
 * control bytes and invalid UTF-8 as '?'. */
static void dot_esc(FILE *o, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    unsigned char c = u[i];
    if (c == '"' || c == '\\') {
      fputc('\\', o);
      fputc(c, o);
      i++;
    } else if (c == '\n') {
      fputs("\\n", o);
      i++;
    } else if (c < 0x20 || c == 0x7F) {
      fputc('?', o);
      i++;
    } else {
      size_t l = utf8_len(u + i, n - i);
      if (!l) {
        fputc('?', o);
        i++;
      } else {
        fwrite(u + i, 1, l, o);
        i += l;
      }
    }
  }
}

static void dot_escs(FILE *o, const char *s) {
  if (s) dot_esc(o, s, strlen(s));
}

static void dot_type(FILE *o, const Type *t) {
  if (!t) return;
  char small[256];
  size_t n = ir_type_to_str(t, small, sizeof small);
  if (n < sizeof small) {
    dot_esc(o, small, n);
    return;
  }
  char *big = malloc(n + 1);
  if (!big) return;
  ir_type_to_str(t, big, n + 1);
  dot_esc(o, big, n);
  free(big);
}

static void val_src(FILE *o, const Value *v) {
  if (v->producer)
    fprintf(o, "n%" PRIu32, v->producer->id);
  else
    fprintf(o, "v%" PRIu32, v->id);
}

typedef struct DFrame {
  const Graph *g;
  size_t node; /* cursor over nested graphs: node, attribute, element */
  int attr;
  size_t elem;
} DFrame;

typedef struct Dot {
  FILE *o;
  uint8_t *declared; /* by value id */
  uint32_t nval;
  unsigned clusters;
} Dot;

static bool mark(Dot *d, const Value *v) {
  if (v->id >= d->nval) return true;
  if (d->declared[v->id]) return false;
  d->declared[v->id] = 1;
  return true;
}

static void indent(FILE *o, int depth) {
  if (depth > 40) depth = 40; /* hostile nesting stays linear in size */
  for (int i = 0; i <= depth; i++) fputs("  ", o);
}

/* A value drawn as its own shape: graph input, initializer or undefined use. */
static void decl_value(Dot *d, const Value *v, int depth, const char *shape, const char *fill,
                       const char *extra) {
  if (!mark(d, v)) return;
  FILE *o = d->o;
  indent(o, depth);
  fprintf(o, "v%" PRIu32 " [shape=%s, style=\"filled%s\", fillcolor=%s, label=\"", v->id, shape,
          extra, fill);
  dot_escs(o, v->name);
  const Type *t = v->type;
  if (v->type || v->init) {
    fputs("\\n", o);
    if (t)
      dot_type(o, t);
    else {
      Type tt = {.kind = TYPE_TENSOR, .elem = v->init->elem, .rank = v->init->rank};
      Dim dims[8];
      if (v->init->rank <= 8) {
        for (int i = 0; i < v->init->rank; i++) dims[i] = (Dim){v->init->dims[i], NULL, NULL};
        tt.dims = dims;
        dot_type(o, &tt);
      }
    }
  }
  fputs("\"];\n", o);
}

static void edge(Dot *d, const Value *v, const char *dst, int depth) {
  FILE *o = d->o;
  indent(o, depth);
  val_src(o, v);
  fprintf(o, " -> %s [label=\"", dst);
  dot_escs(o, v->name);
  if (v->type) {
    fputs("\\n", o);
    dot_type(o, v->type);
  }
  fputs("\"];\n", o);
}

/* Everything of one graph except its nested graphs. */
static void dot_graph_body(Dot *d, const Graph *g, int depth, unsigned gid) {
  FILE *o = d->o;
  for (int i = 0; i < g->n_inputs; i++) {
    const Value *v = g->inputs[i];
    if (!v) continue;
    if (v->init)
      decl_value(d, v, depth, "box", "lightgoldenrod1", ",rounded");
    else
      decl_value(d, v, depth, "ellipse", "lightblue", "");
  }
  for (size_t i = 0; i < g->initializers.n; i++) {
    const Value *v = g->initializers.v[i];
    if (v) decl_value(d, v, depth, "box", "lightgrey", ",rounded");
  }
  /* values used but never defined */
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    for (int k = 0; n && k < n->n_inputs; k++) {
      const Value *v = n->inputs[k];
      if (v && !v->producer && v->graph == g &&
          (v->undefined || (v->id < d->nval && !d->declared[v->id])))
        decl_value(d, v, depth, "ellipse", "mistyrose", ",dashed");
    }
  }
  for (int i = 0; i < g->n_outputs; i++) {
    const Value *v = g->outputs[i];
    if (v && !v->producer && v->graph == g && !(v->id < d->nval && d->declared[v->id]))
      decl_value(d, v, depth, "ellipse", "mistyrose", ",dashed");
  }
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    if (!n) continue;
    indent(o, depth);
    fprintf(o, "n%" PRIu32 " [shape=box, label=\"", n->id);
    if (n->domain && n->domain[0]) {
      dot_escs(o, n->domain);
      fputc('.', o);
    }
    dot_escs(o, n->op_type);
    if (n->name && n->name[0]) {
      fputs("\\n", o);
      dot_escs(o, n->name);
    }
    fputs("\"];\n", o);
  }
  char dst[48];
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    if (!n) continue;
    snprintf(dst, sizeof dst, "n%" PRIu32, n->id);
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k]) edge(d, n->inputs[k], dst, depth);
  }
  for (int i = 0; i < g->n_outputs; i++) {
    const Value *v = g->outputs[i];
    if (!v) continue;
    indent(o, depth);
    fprintf(o, "o%u_%d [shape=doubleoctagon, style=filled, fillcolor=palegreen, label=\"", gid, i);
    dot_escs(o, v->name);
    fputs("\"];\n", o);
    snprintf(dst, sizeof dst, "o%u_%d", gid, i);
    edge(d, v, dst, depth);
  }
}

/* Find the next nested graph of frame f (advancing its cursor); NULL when none is left. */
static const Graph *next_sub(DFrame *f, const Node **holder, const char **attr) {
  const Graph *g = f->g;
  for (; f->node < g->nodes.n; f->node++, f->attr = 0, f->elem = 0) {
    const Node *n = g->nodes.v[f->node];
    if (!n) continue;
    for (; f->attr < n->n_attrs; f->attr++, f->elem = 0) {
      const Attr *a = &n->attrs[f->attr];
      if (a->ref_attr_name) continue;
      if (a->type == ATTR_GRAPH && a->g && f->elem == 0) {
        f->elem = 1;
        *holder = n;
        *attr = a->name;
        return a->g;
      }
      if (a->type == ATTR_GRAPHS && a->graphs) {
        while (f->elem < a->n) {
          const Graph *sg = a->graphs[f->elem++];
          if (sg) {
            *holder = n;
            *attr = a->name;
            return sg;
          }
        }
      }
    }
  }
  return NULL;
}

int ir_dot_model(FILE *out, const Model *m) {
  Dot d = {out, NULL, m->next_value_id, 0};
  if (d.nval) {
    d.declared = calloc(d.nval, 1);
    if (!d.declared) return -1;
  }
  fputs("digraph \"", out);
  dot_escs(out, m->graph && m->graph->name ? m->graph->name : "model");
  fputs("\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [fontname=\"Helvetica\", fontsize=8];\n",
        out);
  if (m->graph) {
    IR_VEC(DFrame) st = {0};
    DFrame root = {m->graph, 0, 0, 0};
    dot_graph_body(&d, m->graph, 0, d.clusters++);
    ir_vec_push(st, root);
    while (st.n) {
      DFrame *f = &st.v[st.n - 1];
      const Node *holder = NULL;
      const char *attr = NULL;
      const Graph *sg = next_sub(f, &holder, &attr);
      int depth = (int)st.n;
      if (!sg) {
        st.n--;
        if (st.n) {
          indent(out, depth - 2);
          fputs("}\n", out);
        }
        continue;
      }
      unsigned gid = d.clusters++;
      indent(out, depth - 1);
      fprintf(out, "subgraph cluster_%u {\n", gid);
      indent(out, depth);
      fputs("label=\"", out);
      dot_escs(out, attr);
      fputs(" of ", out);
      dot_escs(out, holder->op_type);
      if (holder->name && holder->name[0]) {
        fputs(" ", out);
        dot_escs(out, holder->name);
      }
      fputs(": ", out);
      dot_escs(out, sg->name);
      fputs("\";\n", out);
      indent(out, depth);
      fputs("style=rounded; color=grey50;\n", out);
      dot_graph_body(&d, sg, depth, gid);
      DFrame child = {sg, 0, 0, 0};
      ir_vec_push(st, child); /* f is stale from here */
    }
    ir_vec_free(st);
  }
  fputs("}\n", out);
  free(d.declared);
  return ferror(out) ? -1 : 0;
}

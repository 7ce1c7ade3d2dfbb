/* dump_ir.c - writes what fe_parse built, in the line format diff_conformance.py also writes
 * from an onnx ModelProto, so the two can be compared line by line. Not built by meson:
 *   B=build; cc -O2 -Iir -Ifrontend -I$B/ir -I$B/frontend tests/data/parser/dump_ir.c \
 *     $B/frontend/libeffc_frontend.a $B/frontend/libeffc_fe_gen.a $B/ir/libeffc_ir.a \
 *     $B/ir/libonnxpb.a -lprotobuf-c -lcjson -lm -o /tmp/dump_ir
 * Usage: dump_ir FILE.onnxtxt...   (one "=== FILE" section per file) */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>

static void str(FILE *o, const char *s, size_t n) {
  fputc('"', o);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') fprintf(o, "\\x%02x", c);
    else fputc(c, o);
  }
  fputc('"', o);
}

static void cstr(FILE *o, const char *s) {
  if (!s) fputs("-", o);
  else str(o, s, strlen(s));
}

static void type(FILE *o, const Type *t) {
  if (!t) {
    fputs("notype", o);
    return;
  }
  switch (t->kind) {
  case TYPE_TENSOR:
  case TYPE_SPARSE:
    if (t->kind == TYPE_SPARSE) fputs("sparse(", o);
    fputs(ir_elem(t->elem)->name, o);
    if (t->rank < 0) fputs("[]", o);
    for (int i = 0; i < t->rank; i++) {
      fputc(i ? ',' : '[', o);
      if (t->dims[i].param) cstr(o, t->dims[i].param);
      else if (t->dims[i].value >= 0) fprintf(o, "%lld", (long long)t->dims[i].value);
      else fputc('?', o);
      if (i == t->rank - 1) fputc(']', o);
    }
    if (t->kind == TYPE_SPARSE) fputc(')', o);
    break;
  case TYPE_SEQUENCE: fputs("seq(", o); type(o, t->inner); fputc(')', o); break;
  case TYPE_OPTIONAL: fputs("optional(", o); type(o, t->inner); fputc(')', o); break;
  case TYPE_MAP: fprintf(o, "map(%s,", ir_elem(t->elem)->name); type(o, t->inner); fputc(')', o); break;
  case TYPE_OPAQUE: fputs("opaque(", o); cstr(o, t->opaque_domain); fputc(',', o); cstr(o, t->opaque_name); fputc(')', o); break;
  }
}

static void tensor(FILE *o, const Tensor *t) {
  fprintf(o, "tensor name=");
  cstr(o, t->name);
  fprintf(o, " %s [", ir_elem(t->elem)->name);
  for (int i = 0; i < t->rank; i++) fprintf(o, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  fputs("]", o);
  if (t->n_external) {
    fputs(" ext", o);
    for (int i = 0; i < t->n_external; i++) {
      fputc(' ', o);
      cstr(o, t->external[i].key);
      fputc('=', o);
      cstr(o, t->external[i].value);
    }
  } else if (t->has_data) {
    fputs(" data=", o);
    if (t->elem == ELEM_STRING) {
      const IrStr *s = t->data;
      for (size_t i = 0; i < t->nbytes / sizeof *s; i++) {
        if (i) fputc(',', o);
        str(o, s[i].s, s[i].len);
      }
    } else {
      for (size_t i = 0; i < t->nbytes; i++) fprintf(o, "%02x", ((const uint8_t *)t->data)[i]);
    }
  } else {
    fputs(" nodata", o);
  }
}

static void f32(FILE *o, float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  fprintf(o, "f%08x", b);
}

static void graph(FILE *o, const Graph *g, int depth);

static void attr(FILE *o, const Attr *a, int depth) {
  fprintf(o, "%*sattr %s %s", depth, "", a->name, ir_attr_type_name(a->type) ? ir_attr_type_name(a->type) : "undefined");
  if (a->ref_attr_name) {
    fprintf(o, " @%s\n", a->ref_attr_name);
    return;
  }
  switch (a->type) {
  case ATTR_FLOAT: fputc(' ', o); f32(o, a->f); break;
  case ATTR_INT: fprintf(o, " %lld", (long long)a->i); break;
  case ATTR_STRING: fputc(' ', o); str(o, a->s.s, a->s.len); break;
  case ATTR_TENSOR: fputc(' ', o); tensor(o, a->t); break;
  case ATTR_TYPE_PROTO: fputc(' ', o); type(o, a->tp); break;
  case ATTR_FLOATS: for (size_t i = 0; i < a->n; i++) { fputc(' ', o); f32(o, a->floats[i]); } break;
  case ATTR_INTS: for (size_t i = 0; i < a->n; i++) fprintf(o, " %lld", (long long)a->ints[i]); break;
  case ATTR_STRINGS: for (size_t i = 0; i < a->n; i++) { fputc(' ', o); str(o, a->strings[i].s, a->strings[i].len); } break;
  case ATTR_TENSORS: for (size_t i = 0; i < a->n; i++) { fputc(' ', o); tensor(o, a->tensors[i]); } break;
  case ATTR_TYPE_PROTOS: for (size_t i = 0; i < a->n; i++) { fputc(' ', o); type(o, a->types[i]); } break;
  default: break;
  }
  fputc('\n', o);
  if (a->type == ATTR_GRAPH) graph(o, a->g, depth + 1);
  if (a->type == ATTR_GRAPHS)
    for (size_t i = 0; i < a->n; i++) graph(o, a->graphs[i], depth + 1);
}

static void value(FILE *o, const char *what, const Value *v, int depth) {
  fprintf(o, "%*s%s ", depth, "", what);
  cstr(o, v ? v->name : NULL);
  fputc(' ', o);
  type(o, v ? v->type : NULL);
  fputc('\n', o);
}

static void graph(FILE *o, const Graph *g, int depth) {
  fprintf(o, "%*sgraph ", depth, "");
  cstr(o, g->name);
  fputc('\n', o);
  for (int i = 0; i < g->n_inputs; i++) value(o, "input", g->inputs[i], depth);
  for (int i = 0; i < g->n_outputs; i++) value(o, "output", g->outputs[i], depth);
  for (size_t i = 0; i < g->initializers.n; i++) {
    fprintf(o, "%*sinit ", depth, "");
    tensor(o, g->initializers.v[i]->init);
    fputc('\n', o);
  }
  for (size_t i = 0; i < g->value_infos.n; i++) value(o, "vi", g->value_infos.v[i], depth);
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    fprintf(o, "%*snode ", depth, "");
    cstr(o, n->name);
    fprintf(o, " %s:%s:", n->domain, n->op_type);
    cstr(o, n->overload);
    fputs(" in=", o);
    for (int k = 0; k < n->n_inputs; k++) {
      if (k) fputc(',', o);
      if (n->inputs[k]) cstr(o, n->inputs[k]->name);
    }
    fputs(" out=", o);
    for (int k = 0; k < n->n_outputs; k++) {
      if (k) fputc(',', o);
      if (n->outputs[k]) cstr(o, n->outputs[k]->name);
    }
    fputc('\n', o);
    for (int k = 0; k < n->n_attrs; k++) attr(o, &n->attrs[k], depth + 1);
  }
}

static void dump(FILE *o, const Model *m) {
  if (m->has_ir_version) fprintf(o, "ir_version %lld\n", (long long)m->ir_version);
  if (m->has_model_version) fprintf(o, "model_version %lld\n", (long long)m->model_version);
  for (int i = 0; i < m->n_opsets; i++) {
    fputs("opset ", o);
    cstr(o, m->opsets[i].domain);
    fprintf(o, " %lld\n", (long long)m->opsets[i].version);
  }
  const char *keys[] = {"producer_name", "producer_version", "domain", "doc_string"};
  const char *vals[] = {m->producer_name, m->producer_version, m->domain, m->doc_string};
  for (int i = 0; i < 4; i++)
    if (vals[i]) {
      fprintf(o, "%s ", keys[i]);
      cstr(o, vals[i]);
      fputc('\n', o);
    }
  for (int i = 0; i < m->n_metadata_props; i++) {
    fputs("meta ", o);
    cstr(o, m->metadata_props[i].key);
    fputc(' ', o);
    cstr(o, m->metadata_props[i].value);
    fputc('\n', o);
  }
  graph(o, m->graph, 0);
  for (int i = 0; i < m->n_functions; i++) {
    const Function *f = m->functions[i];
    fputs("function ", o);
    cstr(o, f->domain);
    fputc(' ', o);
    cstr(o, f->name);
    fputc(' ', o);
    cstr(o, f->overload);
    fputc('\n', o);
    for (int k = 0; k < f->n_opsets; k++) {
      fputs(" opset ", o);
      cstr(o, f->opsets[k].domain);
      fprintf(o, " %lld\n", (long long)f->opsets[k].version);
    }
    for (int k = 0; k < f->n_attr_names; k++) fprintf(o, " param %s\n", f->attr_names[k]);
    for (int k = 0; k < f->n_attr_defaults; k++) attr(o, &f->attr_defaults[k], 1);
    graph(o, f->body, 1);
  }
}

int main(int argc, char **argv) {
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      perror(argv[i]);
      return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 2);
    if (!t || fread(t, 1, (size_t)n, f) != (size_t)n) return 2;
    fclose(f);
    t[n] = t[n + 1] = 0;
    Diag d;
    ir_diag_init(&d, stderr, argv[i], t, (size_t)n);
    Model *m = fe_parse(argv[i], t, (size_t)n, &d);
    printf("=== %s\n", argv[i]);
    if (m) dump(stdout, m);
    else {
      printf("PARSE ERROR\n");
      bad++;
    }
    ir_model_free(m);
    free(t);
  }
  return bad != 0;
}

/* onnx_checker.c - what effc exports as .onnx passes Debian's onnx.checker: models made with
 * the builder API and fixtures written by python3-onnx (tests/data/onnx/) are exported to a
 * temporary folder, then onnx_checker.py runs the checker on them and compares the exports of
 * the fixtures with the originals field by field. Exit status 77 (skipped) when
 * /usr/bin/python3 has no onnx module; 0 pass; 1 fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"

#define DATA EFFC_SOURCE_DIR "/tests/data/onnx/"

static char dir[64];
static char cmd[16384];
static int n_files;
static char files[32][256];

static bool write_model(const Model *m, const ExportOptions *o, const char *name) {
  Diag d;
  ir_diag_init(&d, stderr, name, NULL, 0);
  uint8_t *b;
  size_t l;
  if (!fe_onnx_export(m, o, &b, &l, &d)) return false;
  snprintf(files[n_files], sizeof files[n_files], "%s/%s", dir, name);
  FILE *f = fopen(files[n_files], "wb");
  bool ok = f && fwrite(b, 1, l, f) == l;
  if (f) fclose(f);
  free(b);
  n_files++;
  return ok;
}

static Model *import_path(const char *path) {
  Diag d;
  ir_diag_init(&d, stderr, path, NULL, 0);
  return fe_load(path, &d);
}

static Value *def(Graph *g, const char *name, Type *t) {
  Value *v = ir_graph_def(g, name, ir_noloc);
  v->type = t;
  return v;
}

static Node *node(Graph *g, const char *op, Value **in, int n_in, Value *out) {
  Node *n = ir_node_new(g, "", op, n_in, 1);
  ir_node_append(g, n);
  for (int i = 0; i < n_in; i++) ir_node_set_input(n, i, in[i]);
  ir_node_set_output(n, 0, out);
  return n;
}

/* x float[2], c bool -> If(c) {x + w} else {x - w}, LeakyRelu with an __effc_ attribute,
 * and a string initializer passed through Identity. */
static Model *built_model(void) {
  Model *m = ir_model_new();
  Arena *a = &m->arena;
  m->has_ir_version = true;
  m->ir_version = 8;
  m->n_opsets = 1;
  m->opsets = ir_arena_alloc(a, sizeof *m->opsets);
  m->opsets[0].domain = "";
  m->opsets[0].version = 13;
  m->producer_name = "effc-test";
  Graph *g = ir_graph_new(m, NULL, "built");
  m->graph = g;
  Type *f2 = ir_type_tensor(a, ELEM_FLOAT, 1, (int64_t[]){2});
  Value *x = def(g, "x", f2), *c = def(g, "c", ir_type_tensor(a, ELEM_BOOL, 0, NULL));
  Value *ins[] = {x, c};
  ir_graph_set_inputs(g, ins, 2);
  Value *w = def(g, "w", f2);
  w->init = ir_tensor_new(a, ELEM_FLOAT, 1, (int64_t[]){2});
  w->init->name = "w";
  ir_tensor_alloc_data(a, w->init);
  w->init->has_data = true;
  ((float *)w->init->data)[0] = 1.0f;
  ((float *)w->init->data)[1] = -2.5f;
  ir_vec_push(g->initializers, w);
  Value *words = def(g, "words", ir_type_tensor(a, ELEM_STRING, 1, (int64_t[]){2}));
  words->init = ir_tensor_new(a, ELEM_STRING, 1, (int64_t[]){2});
  words->init->name = "words";
  ir_tensor_alloc_data(a, words->init);
  words->init->has_data = true;
  ((IrStr *)words->init->data)[0] = ir_str(a, "hello", 5);
  ((IrStr *)words->init->data)[1] = ir_str(a, "", 0);
  ir_vec_push(g->initializers, words);

  Node *iff = ir_node_new(g, "", "If", 1, 1);
  ir_node_append(g, iff);
  ir_node_set_input(iff, 0, c);
  iff->n_attrs = 2;
  iff->attrs = ir_arena_alloc(a, 2 * sizeof *iff->attrs);
  static const char *const branch[] = {"then_branch", "else_branch"};
  static const char *const op[] = {"Add", "Sub"};
  for (int k = 0; k < 2; k++) {
    Graph *sub = ir_graph_new(m, g, branch[k]);
    sub->parent_node = iff;
    Value *o = def(sub, k ? "e_out" : "t_out", f2);
    Value *xin[] = {ir_graph_use(sub, "x", ir_noloc), ir_graph_use(sub, "w", ir_noloc)};
    node(sub, op[k], xin, 2, o);
    ir_graph_set_outputs(sub, &o, 1);
    iff->attrs[k].name = branch[k];
    iff->attrs[k].type = ATTR_GRAPH;
    iff->attrs[k].g = sub;
  }
  Value *s = def(g, "s", NULL);
  ir_node_set_output(iff, 0, s);
  Value *y = def(g, "y", f2);
  Node *lr = node(g, "LeakyRelu", &s, 1, y);
  lr->name = "act";
  lr->n_attrs = 2;
  lr->attrs = ir_arena_alloc(a, 2 * sizeof *lr->attrs);
  lr->attrs[0].name = "alpha";
  lr->attrs[0].type = ATTR_FLOAT;
  lr->attrs[0].f = 0.125f;
  lr->attrs[1].name = "__effc_offset";
  lr->attrs[1].type = ATTR_INT;
  lr->attrs[1].i = 4096;
  Value *wout = def(g, "wout", ir_type_tensor(a, ELEM_STRING, 1, (int64_t[]){2}));
  node(g, "Identity", &words, 1, wout);
  Value *outs[] = {y, wout};
  ir_graph_set_outputs(g, outs, 2);
  return m;
}

int main(void) {
  if (system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0) {
    puts("1..0 # SKIP /usr/bin/python3 has no onnx module (apt-get install python3-onnx)");
    return 77;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%.40s/effc_checker_XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  bool ok = true;
  ExportOptions plain = {0, false}, strip = {0, true}, ir7 = {7, false};
  Model *m = built_model();
  ok &= write_model(m, &plain, "built.onnx");
  ok &= write_model(m, &strip, "built_strip.onnx");
  ir_model_free(m);
  static const char *fixtures[] = {"convnet.onnx", "control.onnx", "big.onnx"};
  int exported[3] = {0};
  for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
    char path[4096];
    snprintf(path, sizeof path, DATA "%s", fixtures[i]);
    m = import_path(path);
    if (!m) {
      ok = false;
      continue;
    }
    char name[64];
    snprintf(name, sizeof name, "fixture_%s", fixtures[i]);
    exported[i] = n_files;
    ok &= write_model(m, &plain, name);
    if (i == 0) ok &= write_model(m, &ir7, "convnet_ir7.onnx");
    ir_model_free(m);
  }
  int n_checked = n_files;
  /* features.onnx uses custom ops and newer fields: compared, not checked */
  m = import_path(DATA "features.onnx");
  if (m) ok &= write_model(m, &plain, "features.onnx");
  else ok = false;
  ir_model_free(m);
  if (!ok) {
    fprintf(stderr, "onnx_checker: export failed\n");
  } else {
    size_t k = (size_t)snprintf(cmd, sizeof cmd, "/usr/bin/python3 " EFFC_SOURCE_DIR "/tests/unit/onnx_checker.py --check");
    for (int i = 0; i < n_checked; i++) k += (size_t)snprintf(cmd + k, sizeof cmd - k, " '%s'", files[i]);
    k += (size_t)snprintf(cmd + k, sizeof cmd - k, " --same");
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++)
      k += (size_t)snprintf(cmd + k, sizeof cmd - k, " '" DATA "%s' '%s'", fixtures[i], files[exported[i]]);
    snprintf(cmd + k, sizeof cmd - k, " '" DATA "features.onnx' '%s'", files[n_files - 1]);
    fflush(stdout);
    ok = system(cmd) == 0;
  }
  for (int i = 0; i < n_files; i++) remove(files[i]);
  rmdir(dir);
  puts(ok ? "onnx_checker: all exports pass" : "onnx_checker: FAILED");
  return ok ? 0 : 1;
}

/* test_plan.c - the memory planner (passes/plan.c): placement on random interval sets checked
 * by brute force (no two live buffers share a byte, best <= greedy <= naive), hand-computed
 * arenas, in-place reuse where it is legal and never where it is not, liveness across
 * subgraphs, and the plans of the examples checked against lifetimes recomputed here. */
#include "testutil.h"

#include "passes.h"

/* ------------------------------------------------------------------ placement */

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void) { /* xorshift64 */
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return rnd_state;
}

static int root(const PlanBuf *b, int i) {
  while (b[i].alias >= 0) i = b[i].alias;
  return i;
}

/* Every pair of buffers that are live together and not one alias set is disjoint in memory;
 * offsets are aligned; the returned size covers every buffer. */
static void check_placement(const PlanBuf *b, int n, uint64_t top, uint64_t align) {
  for (int i = 0; i < n; i++) {
    assert_true(b[i].offset >= 0);
    assert_int_equal((uint64_t)b[i].offset % align, 0);
    assert_true((uint64_t)b[i].offset + b[i].size <= top);
    if (b[i].alias >= 0) assert_int_equal(b[i].offset, b[b[i].alias].offset);
    for (int j = i + 1; j < n; j++) {
      bool live = b[i].first <= b[j].last && b[j].first <= b[i].last;
      bool mem = b[i].size && b[j].size && (uint64_t)b[i].offset < (uint64_t)b[j].offset + b[j].size &&
                 (uint64_t)b[j].offset < (uint64_t)b[i].offset + b[i].size;
      if (live && mem && root(b, i) != root(b, j)) {
        fprintf(stderr, "buffers %d [%d,%d] @%lld+%llu and %d [%d,%d] @%lld+%llu overlap\n", i,
                b[i].first, b[i].last, (long long)b[i].offset, (unsigned long long)b[i].size, j,
                b[j].first, b[j].last, (long long)b[j].offset, (unsigned long long)b[j].size);
        fail();
      }
    }
  }
}

static void test_place_random(void **s) {
  (void)s;
  PlanBuf b[80];
  int strictly_better = 0;
  for (int round = 0; round < 400; round++) {
    int n = 1 + (int)(rnd() % 80), steps = 2 + (int)(rnd() % 40);
    uint64_t align = (uint64_t)1 << (rnd() % 7);
    for (int i = 0; i < n; i++) {
      int a = (int)(rnd() % (uint64_t)steps), len = (int)(rnd() % 6);
      b[i] = (PlanBuf){1 + rnd() % 5000, a, a + len, -1, 0};
      if (rnd() % 16 == 0) b[i].size = 0;
      /* sometimes in place: take the buffer of an earlier one dying where this one starts */
      if (i > 0 && rnd() % 4 == 0) {
        int j = (int)(rnd() % (uint64_t)i);
        if (b[j].alias < 0 && b[j].last >= b[j].first) {
          bool taken = false;
          for (int k = 0; k < i; k++) taken = taken || b[k].alias == j;
          if (!taken) b[i] = (PlanBuf){b[j].size, b[j].last, b[j].last + len, j, 0};
        }
      }
    }
    uint64_t top[3];
    for (int st = 0; st < 3; st++) {
      top[st] = pass_plan_place(b, n, (PlanStrategy)st, align);
      if (st == PLAN_NAIVE) {
        /* no reuse at all: every buffer (aliases ignored) its own range */
        uint64_t sum = 0;
        for (int i = 0; i < n; i++) sum += (b[i].size + align - 1) / align * align;
        assert_int_equal(top[st], sum);
      }
    }
    /* re-run best and greedy to check their placements */
    for (int st = 0; st < 2; st++) {
      uint64_t t = pass_plan_place(b, n, (PlanStrategy)st, align);
      assert_int_equal(t, top[st]);
      check_placement(b, n, t, align);
    }
    assert_true(top[PLAN_BEST] <= top[PLAN_GREEDY]);
    assert_true(top[PLAN_GREEDY] <= top[PLAN_NAIVE]);
    assert_true(pass_plan_lower_bound(b, n, align) <= top[PLAN_BEST]);
    strictly_better += top[PLAN_BEST] < top[PLAN_GREEDY];
  }
  /* best-fit is a different algorithm, not greedy renamed */
  assert_true(strictly_better > 0);
}

static void test_place_hand(void **s) {
  (void)s;
  /* a chain A -> B -> C: A and C are never live together, so they share; aligned to 64,
   * A and C take 128 bytes, B 64: the arena is 192 (naive 320) */
  PlanBuf b[3] = {{100, 1, 2, -1, 0}, {50, 2, 3, -1, 0}, {100, 3, 4, -1, 0}};
  assert_int_equal(pass_plan_place(b, 3, PLAN_BEST, 64), 192);
  assert_int_equal(b[0].offset, b[2].offset);
  assert_int_equal(pass_plan_place(b, 3, PLAN_GREEDY, 64), 192);
  assert_int_equal(pass_plan_place(b, 3, PLAN_NAIVE, 64), 320);
  /* B in place on A: one slot of 128 for A and B, C beside it (live with B) */
  b[1] = (PlanBuf){100, 2, 3, 0, 0};
  assert_int_equal(pass_plan_place(b, 3, PLAN_BEST, 64), 256);
  assert_int_equal(b[0].offset, b[1].offset);
  assert_true(b[2].offset != b[0].offset);
  /* where greedy by size loses (align 1; sizes and [first, last] steps):
   *   A 30 [2,2]   B 10 [3,4]   C 70 [1,3]   D 70 [0,1]   E 60 [2,3]
   * Greedy by size (D, C, E, A, B; first fit among the live ones): D@0, C@70 (live with D),
   * E@0 (D is dead at 2), A must avoid E 0..60 and C 70..140: the 10-byte hole is too small,
   * so A@140, B fits the hole @60: 170 bytes. Ordering by the busiest step (step 2: C+E+A =
   * 160, a lower bound) places C@0, E@70, A@130, then D@70 and B@130: 160 bytes. */
  PlanBuf h[5] = {{30, 2, 2, -1, 0}, {10, 3, 4, -1, 0}, {70, 1, 3, -1, 0}, {70, 0, 1, -1, 0},
                  {60, 2, 3, -1, 0}};
  uint64_t greedy = pass_plan_place(h, 5, PLAN_GREEDY, 1);
  check_placement(h, 5, greedy, 1);
  assert_int_equal(greedy, 170);
  assert_int_equal(h[0].offset, 140);
  assert_int_equal(h[1].offset, 60);
  uint64_t best = pass_plan_place(h, 5, PLAN_BEST, 1);
  check_placement(h, 5, best, 1);
  assert_int_equal(best, 160);
  assert_int_equal(pass_plan_lower_bound(h, 5, 1), 160);
}

/* ------------------------------------------------------------------ the model's plan */

#define HEAD "<ir_version: 8, opset_import: [\"\" : 17]>\n"
#define K16 "{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}"

static Value *val(Model *m, const char *name) {
  Value *v = ir_graph_lookup(m->graph, name);
  assert_non_null(v);
  return v;
}

static void plan(Model *m, PlanStrategy st, bool inplace, ModelPlan *p) {
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_infer_model(m, &c.d), 0);
  PlanOptions o = {st, 64, inplace, false, false};
  int rc = pass_plan_model(m, &o, p, &c.d);
  if (rc) fprintf(stderr, "%s", cap_text(&c));
  assert_int_equal(rc, 0);
  cap_free(&c);
}

static void test_inplace(void **s) {
  (void)s;
  /* every value 16 floats = 64 bytes */
  Model *m = parse_verified(
      HEAD "g (float[16] x) => (float[16] y) <float[16] k = " K16 "> {\n"
           "  a = Neg (x)\n"     /* x is a graph input: never in place */
           "  b = Relu (a)\n"    /* a is read again later: not in place */
           "  c = Add (a, b)\n"  /* a dies here: c takes a */
           "  d = Add (k, c)\n"  /* k is an initializer: d takes c instead */
           "  e = Sigmoid (d)\n" /* d is read again by f: not in place */
           "  f = Mul (d, e)\n"  /* f takes d */
           "  y = Relu (f)\n"    /* y is a graph output: not in the arena */
           "}\n");
  ModelPlan p;
  plan(m, PLAN_BEST, true, &p);
  Value *a = val(m, "a"), *b = val(m, "b"), *c = val(m, "c"), *d = val(m, "d"), *e = val(m, "e"),
        *f = val(m, "f"), *y = val(m, "y");
  assert_int_equal(p.inplace[b->id], 0);
  assert_int_equal(p.inplace[c->id], 1);
  assert_int_equal(p.inplace[d->id], 1);
  assert_int_equal(p.inplace[e->id], 0);
  assert_int_equal(p.inplace[f->id], 1);
  assert_int_equal(p.n_inplace, 3);
  assert_int_equal(p.offset[c->id], p.offset[a->id]);
  assert_int_equal(p.offset[d->id], p.offset[c->id]);
  assert_int_equal(p.offset[f->id], p.offset[d->id]);
  assert_true(p.offset[b->id] != p.offset[a->id]);
  assert_true(p.offset[e->id] != p.offset[d->id]);
  assert_int_equal(p.offset[y->id], -1);
  assert_int_equal(p.offset[val(m, "x")->id], -1);
  assert_int_equal(p.offset[val(m, "k")->id], -1);
  /* a..f in one slot, b and e (never live together) in another */
  assert_int_equal(p.arena_bytes, 128);
  assert_int_equal(p.naive_bytes, 384);
  pass_plan_free(&p);
  /* without in-place: a, b, c are live together at c (and d, e, f at f): 3 x 64 */
  plan(m, PLAN_BEST, false, &p);
  assert_int_equal(p.n_inplace, 0);
  assert_int_equal(p.arena_bytes, 192);
  pass_plan_free(&p);
  plan(m, PLAN_NAIVE, true, &p);
  assert_int_equal(p.n_inplace, 0);
  assert_int_equal(p.arena_bytes, 384);
  pass_plan_free(&p);
  ir_model_free(m);
}

static void test_pass_attr(void **s) {
  (void)s;
  Model *m = parse_verified(
      HEAD "g (float[16] x) => (float[16] y) <float[16] k = " K16 "> {\n"
           "  kk = Neg (k)\n"            /* constants only: not in the arena */
           "  a = Add (x, kk)\n"
           "  o, mask = Dropout <seed: int = 1> (a)\n" /* mask unused */
           "  y = Sqrt (o)\n"
           "}\n");
  Cap c;
  cap_init(&c);
  PassPipeline *pp = pass_pipeline_parse("plan{align=16}", &c.d);
  assert_non_null(pp);
  PassRunOptions ro = {.verify_each = true, .pass_stats = true, .report = c.fp};
  assert_int_equal(pass_pipeline_run(m, pp, &ro, &c.d), 0);
  pass_pipeline_free(pp);
  assert_non_null(strstr(cap_text(&c), "plan: arena-bytes = 64"));
  assert_non_null(strstr(cap_text(&c), "plan: in-place = 1"));
  cap_free(&c);
  Cap o;
  cap_init(&o);
  assert_int_equal(ir_print_model(o.fp, m, NULL), 0);
  char *out = cap_take(&o);
  assert_non_null(strstr(out, "kk = Neg <__effc_offset: ints = [-1]> (k)"));
  assert_non_null(strstr(out, "a = Add <__effc_offset: ints = [0]> (x, kk)"));
  assert_non_null(strstr(out, "__effc_offset: ints = [0, -1]> (a)")); /* o in place on a */
  assert_non_null(strstr(out, "y = Sqrt <__effc_offset: ints = [-1]> (o)"));
  free(out);
  ir_model_free(m);
}

static void test_errors(void **s) {
  (void)s;
  Model *m = parse_verified(HEAD "g (float[N] x) => (float[N] y) {\n  a = Neg (x)\n  y = Relu (a)\n}\n");
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_infer_model(m, &c.d), 0);
  PlanOptions o = {PLAN_BEST, 64, true, false, false};
  ModelPlan p;
  assert_int_equal(pass_plan_model(m, &o, &p, &c.d), -1);
  assert_non_null(strstr(cap_text(&c), "value 'a' (type float[N]) has no static size"));
  cap_free(&c);
  const char *bad[][2] = {{"plan{strategy=fast}", "strategy 'fast': expected best, greedy or naive"},
                          {"plan{align=3}", "align=3: expected a power of two"},
                          {"plan{inplace=2}", "inplace=2: expected 0 or 1"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cap_init(&c);
    PassPipeline *pp = pass_pipeline_parse(bad[i][0], &c.d);
    assert_non_null(pp);
    PassRunOptions ro = {0};
    assert_int_equal(pass_pipeline_run(m, pp, &ro, &c.d), -1);
    pass_pipeline_free(pp);
    assert_non_null(strstr(cap_text(&c), bad[i][1]));
    cap_free(&c);
  }
  ir_model_free(m);
}

static void test_subgraph_liveness(void **s) {
  (void)s;
  /* a is read only inside the If's branches: it stays live across the If, so neither r
   * (written by the If) nor b may share its bytes */
  Model *m = parse_verified(
      HEAD "g (float[16] x, bool c) => (float[16] y) {\n"
           "  a = Neg (x)\n"
           "  b = Exp (x)\n"
           "  r = If (c) <then_branch = g1 () => (float[16] t) { t = Add (a, a) },"
           " else_branch = g2 () => (float[16] e) { e = Mul (b, b) }>\n"
           "  y = Add (r, x)\n"
           "}\n");
  ModelPlan p;
  plan(m, PLAN_BEST, true, &p);
  int64_t oa = p.offset[val(m, "a")->id], ob = p.offset[val(m, "b")->id], orr = p.offset[val(m, "r")->id];
  assert_true(oa >= 0 && ob >= 0 && orr >= 0);
  assert_true(oa != ob && oa != orr && ob != orr);
  assert_int_equal(p.arena_bytes, 192);
  pass_plan_free(&p);
  ir_model_free(m);
}

/* The examples: lifetimes recomputed here from the node order (first: producer; last: the
 * last main-graph node reading it, directly or in a subgraph); live values never share a
 * byte unless one took the other's buffer in place at the node where the other dies. */
static void check_model(Model *m) {
  const Graph *g = m->graph;
  size_t nn = g->nodes.n;
  uint64_t tops[3];
  for (int st = 0; st < 3; st++) {
    ModelPlan p;
    plan(m, (PlanStrategy)st, true, &p);
    tops[st] = p.arena_bytes;
    Value **vs = calloc(m->next_value_id + 1, sizeof *vs);
    int *first = calloc(m->next_value_id + 1, sizeof *first), *last = calloc(m->next_value_id + 1, sizeof *last);
    int nv = 0;
    for (size_t i = 0; i < nn; i++)
      for (int k = 0; k < g->nodes.v[i]->n_outputs; k++) {
        Value *v = g->nodes.v[i]->outputs[k];
        if (!v || p.offset[v->id] < 0) continue;
        vs[nv] = v, first[nv] = last[nv] = (int)i;
        for (const Use *u = v->uses; u; u = u->next) {
          const Node *t = u->node;
          while (t->graph != g) t = t->graph->parent_node;
          for (size_t j = 0; j < nn; j++)
            if (g->nodes.v[j] == t && (int)j > last[nv]) last[nv] = (int)j;
        }
        assert_true(p.offset[v->id] + p.bytes[v->id] <= p.arena_bytes);
        nv++;
      }
    for (int i = 0; i < nv; i++)
      for (int j = i + 1; j < nv; j++) {
        bool live = first[i] <= last[j] && first[j] <= last[i];
        uint64_t oi = (uint64_t)p.offset[vs[i]->id], oj = (uint64_t)p.offset[vs[j]->id];
        bool mem = oi < oj + p.bytes[vs[j]->id] && oj < oi + p.bytes[vs[i]->id];
        if (!live || !mem) continue;
        /* the only legal sharing: j made in place by the node where i dies */
        const Node *pj = vs[j]->producer;
        bool reads = false;
        for (int k = 0; k < pj->n_inputs; k++) reads = reads || pj->inputs[k] == vs[i];
        bool ok = p.inplace[vs[j]->id] && reads && last[i] == first[j] && oi == oj &&
                  p.bytes[vs[i]->id] == p.bytes[vs[j]->id];
        if (!ok) fprintf(stderr, "'%s' and '%s' overlap\n", vs[i]->name, vs[j]->name);
        assert_true(ok);
      }
    free(vs);
    free(first);
    free(last);
    pass_plan_free(&p);
  }
  assert_true(tops[PLAN_BEST] <= tops[PLAN_GREEDY]);
  assert_true(tops[PLAN_GREEDY] <= tops[PLAN_NAIVE]);
}

static void test_examples(void **s) {
  (void)s;
  const char *files[] = {"cnn.onnxtxt", "mlp.onnxtxt", "transformer.onnxtxt", "ex1_mlp.onnxtxt",
                         "ex2_conv_attrs.onnxtxt"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    bool symbolic = !strcmp(files[i], "ex1_mlp.onnxtxt"); /* float[N,...] */
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", EFFC_SOURCE_DIR, files[i]);
    Cap c;
    cap_init(&c);
    Model *m = fe_load(path, &c.d);
    if (!m) fprintf(stderr, "%s", cap_text(&c));
    assert_non_null(m);
    if (symbolic) assert_int_equal(pass_bind_dim(m, "N=3", &c.d), 0);
    cap_free(&c);
    check_model(m);
    ir_model_free(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_place_random), cmocka_unit_test(test_place_hand),
      cmocka_unit_test(test_inplace),      cmocka_unit_test(test_pass_attr),
      cmocka_unit_test(test_errors),       cmocka_unit_test(test_subgraph_liveness),
      cmocka_unit_test(test_examples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* check_passes.c - every pass against the reference interpreter on ONNX's node tests: for
 * each case whose model the interpreter runs (test_data_set_0), each pass (and the whole
 * first-pass pipeline) runs on a fresh copy with --verify-each, the interpreter runs again,
 * and the outputs must match the unoptimized run: bit-exact for passes that must not change
 * arithmetic, within rtol 1e-5 (atol 1e-6) for fold-bn, fuse and the pipeline. Each case
 * runs in a forked child (a crash fails only that case). Shape inference is also checked
 * value by value: every inferred tensor type of the main graph must match the shape the
 * interpreter computes.
 *   check_passes DIR [GLOB...]     per-step counts; exit 1 on any mismatch or pass error */
#include "frontend.h"
#include "passes.h"
#include "runtime.h"
#include "../conformance/cases.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct Step {
  const char *name, *pipeline;
  bool exact;
} Step;

static const Step steps[] = {
    {"shape-infer", "shape-infer", true},
    {"dce", "dce", true},
    {"identity-elim", "identity-elim", true},
    {"fold", "fold", true},
    {"inline", "inline", true},
    {"fold-bn", "fold-bn", false},
    {"fuse", "fuse", false},
    {"pipeline", "inline,shape-infer,identity-elim,fold,fold-bn,fuse,dce", false},
};
#define N_STEPS (int)(sizeof steps / sizeof steps[0])

/* Run m on test_data_set_0's inputs; outs gets one value per graph output. */
static bool run_model(Model *m, const char *dir, RtValue **outs, Diag *d) {
  RtOptions opt = {.check_types = true, .seed = 1};
  RtInterp *in = rt_interp_new(m, &opt, d);
  if (!in) return false;
  const Graph *g = m->graph;
  RtValue **ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
  Arena a;
  ir_arena_init(&a);
  bool ok = true;
  char set[4400];
  snprintf(set, sizeof set, "%s/test_data_set_0", dir);
  ok = cases_read_inputs(g, set, ins, &a, d) < 0;
  if (ok) ok = rt_interp_run(in, ins, outs) == 0;
  for (int i = 0; i < g->n_inputs; i++) rt_unref(ins[i]);
  free(ins);
  ir_arena_free(&a);
  rt_interp_free(in);
  return ok;
}

static void first_line(FILE *f, char **buf, char *why, size_t len) {
  fflush(f);
  const char *m = *buf ? *buf : "";
  const char *nl = strchr(m, '\n');
  snprintf(why, len, "%.*s", (int)(nl ? nl - m : (long)strlen(m)), m);
}

/* One case, in the child: writes "SKIP" or one line per step "i OK|FAIL reason" to fd. */
static void run_case(const char *dir, int fd) {
  char path[4300];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  char *msg = NULL;
  size_t mlen = 0;
  FILE *mf = open_memstream(&msg, &mlen);
  Diag d;
  ir_diag_init(&d, mf, path, NULL, 0);
  Model *m = fe_load(path, &d);
  if (!m || ir_verify(m, &d) > 0 || rt_model_is_random(m)) {
    dprintf(fd, "SKIP\n");
    return;
  }
  /* inference coverage: clear the declared output types, infer, compare */
  {
    Diag q;
    ir_diag_init(&q, mf, path, NULL, 0);
    Model *c = fe_load(path, &q);
    int exact = 0, declared = 0;
    if (c) {
      Type **want = calloc((size_t)c->graph->n_outputs + 1, sizeof *want);
      for (int i = 0; i < c->graph->n_outputs; i++) {
        Value *v = c->graph->outputs[i];
        if (!v || !v->type || v->type->kind != TYPE_TENSOR || v->producer == NULL) continue;
        want[i] = v->type;
        v->type = NULL;
        declared++;
      }
      for (size_t i = 0; i < c->graph->value_infos.n; i++) c->graph->value_infos.v[i]->type = NULL;
      if (ir_infer_model(c, &q) == 0) {
        for (int i = 0; i < c->graph->n_outputs; i++) {
          if (want[i] && ir_type_equal(want[i], c->graph->outputs[i]->type))
            exact++;
          else if (want[i] && getenv("CHECK_PASSES_VERBOSE")) {
            char w[200], g[200];
            ir_type_to_str(want[i], w, sizeof w);
            ir_type_to_str(c->graph->outputs[i]->type, g, sizeof g);
            Node *p = c->graph->outputs[i]->producer;
            dprintf(fd, "X %s-%d declared %s, inferred %s\n", p->op_type, p->op ? p->op->since : 0,
                    w, g);
          }
        }
      }
      free(want);
      ir_model_free(c);
    }
    dprintf(fd, "I %d %d\n", declared, exact);
  }
  /* every inferred tensor shape against the value the interpreter computes: the main
   * graph's typed node outputs become extra graph outputs */
  {
    Diag q;
    ir_diag_init(&q, mf, path, NULL, 0);
    Model *c = fe_load(path, &q);
    int checked = 0, wrong = 0;
    if (c && ir_infer_model(c, &q) == 0) {
      Graph *g = c->graph;
      int n0 = g->n_outputs, cap = n0;
      for (size_t i = 0; i < g->nodes.n; i++) cap += g->nodes.v[i]->n_outputs;
      Value **outs = calloc((size_t)cap + 1, sizeof *outs);
      memcpy(outs, g->outputs, (size_t)n0 * sizeof *outs);
      int k = n0;
      for (size_t i = 0; i < g->nodes.n; i++)
        for (int j = 0; j < g->nodes.v[i]->n_outputs; j++) {
          Value *v = g->nodes.v[i]->outputs[j];
          bool dup = false;
          for (int q2 = 0; q2 < n0 && v; q2++) dup = outs[q2] == v;
          if (v && !dup && v->type && v->type->kind == TYPE_TENSOR && v->type->rank >= 0)
            outs[k++] = v;
        }
      ir_graph_set_outputs(g, outs, k);
      RtValue **got = calloc((size_t)k + 1, sizeof *got);
      if (run_model(c, dir, got, &q)) {
        for (int i = n0; i < k; i++) {
          const Type *t = outs[i]->type;
          RtValue *r = got[i];
          if (!r || r->kind != TYPE_TENSOR) continue;
          checked++;
          bool ok = r->rank == t->rank && (!t->elem || t->elem == r->elem);
          for (int d2 = 0; ok && d2 < t->rank; d2++)
            ok = t->dims[d2].param || t->dims[d2].value < 0 || t->dims[d2].value == r->dims[d2];
          if (!ok) {
            char w[200], gs[200];
            wrong++;
            ir_type_to_str(t, w, sizeof w);
            rt_shape_str(r, gs, sizeof gs);
            dprintf(fd, "W %s (%s) inferred %s, computed %s\n", outs[i]->name,
                    outs[i]->producer->op_type, w, gs);
          }
        }
      }
      for (int i = 0; i < k; i++) rt_unref(got[i]);
      free(got);
      free(outs);
    }
    if (c) ir_model_free(c);
    dprintf(fd, "V %d %d\n", checked, wrong);
  }
  int no = m->graph->n_outputs;
  RtValue **base = calloc((size_t)no + 1, sizeof *base);
  if (!run_model(m, dir, base, &d)) {
    dprintf(fd, "SKIP\n");
    return;
  }
  ir_model_free(m);
  for (int s = 0; s < N_STEPS; s++) {
    char why[600] = "";
    rewind(mf);
    if (msg) msg[0] = 0;
    Diag e;
    ir_diag_init(&e, mf, path, NULL, 0);
    Model *mm = fe_load(path, &e);
    PassPipeline *pp = pass_pipeline_parse(steps[s].pipeline, &e);
    char *rep = NULL;
    size_t replen = 0;
    FILE *rf = open_memstream(&rep, &replen);
    PassRunOptions ro = {.verify_each = true, .pass_stats = true, .report = rf};
    bool ok = mm && pp && pass_pipeline_run(mm, pp, &ro, &e) == 0;
    fclose(rf);
    /* "stats: PASS: COUNTER = N" -> "S STEP PASS:COUNTER N" for the parent to sum */
    for (char *line = rep; line && *line;) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = 0;
      char pass[64], counter[64];
      long long v;
      if (sscanf(line, "stats: %63[^:]: %63s = %lld", pass, counter, &v) == 3 && v)
        dprintf(fd, "S %d %s:%s %lld\n", s, pass, counter, v);
      line = nl ? nl + 1 : NULL;
    }
    free(rep);
    if (!ok) first_line(mf, &msg, why, sizeof why);
    RtValue **outs = calloc((size_t)no + 1, sizeof *outs);
    if (ok && !run_model(mm, dir, outs, &e)) {
      ok = false;
      first_line(mf, &msg, why, sizeof why);
      if (!why[0]) snprintf(why, sizeof why, "run failed");
    }
    RtTolerance tol = steps[s].exact ? (RtTolerance){0, 0} : (RtTolerance){1e-6, 1e-5};
    for (int i = 0; ok && i < no; i++) {
      char sub[400];
      if (!outs[i] || !rt_compare(outs[i], base[i], tol, sub, sizeof sub)) {
        ok = false;
        snprintf(why, sizeof why, "output %d: %s", i, outs[i] ? sub : "missing");
      }
    }
    for (int i = 0; i < no; i++) rt_unref(outs[i]);
    free(outs);
    pass_pipeline_free(pp);
    if (mm) ir_model_free(mm);
    for (char *p = why; *p; p++)
      if (*p == '\n') *p = ' ';
    dprintf(fd, "%d %s%s%s\n", s, ok ? "OK" : "FAIL", ok ? "" : " ", why);
  }
  for (int i = 0; i < no; i++) rt_unref(base[i]);
  free(base);
  fclose(mf);
  free(msg);
}

/* Summed pass counters per step (what the passes did across the cases). */
typedef struct Stat {
  int step;
  char key[160];
  long long v;
  int cases;
} Stat;
static Stat stats[256];
static int n_stats;

static void stat_add(int step, const char *key, long long v) {
  for (int i = 0; i < n_stats; i++)
    if (stats[i].step == step && !strcmp(stats[i].key, key)) {
      stats[i].v += v;
      stats[i].cases++;
      return;
    }
  if (n_stats == 256) return;
  stats[n_stats].step = step;
  snprintf(stats[n_stats].key, sizeof stats[n_stats].key, "%s", key);
  stats[n_stats].v = v;
  stats[n_stats++].cases = 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: check_passes DIR [GLOB...]\n");
    return 2;
  }
  int n;
  char **cases = cases_list(argv[1], "test_", &n);
  if (!cases || n == 0) {
    fprintf(stderr, "check_passes: no cases in %s\n", argv[1]);
    return 1;
  }
  long infer_declared = 0, infer_exact = 0, vals_checked = 0, vals_wrong = 0;
  int checked[N_STEPS] = {0}, failed[N_STEPS] = {0}, runnable = 0, total = 0, crashed = 0;
  for (int c = 0; c < n; c++) {
    bool want = argc == 2;
    for (int k = 2; k < argc && !want; k++) want = fnmatch(argv[k], cases[c], 0) == 0;
    if (!want) continue;
    total++;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", argv[1], cases[c]);
    int fd[2];
    if (pipe(fd)) return 3;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      close(fd[0]);
      alarm(120);
      run_case(dir, fd[1]);
      _exit(0);
    }
    close(fd[1]);
    FILE *r = fdopen(fd[0], "r");
    char line[1024];
    bool any = false, skip = false;
    int last = -1;
    while (fgets(line, sizeof line, r)) {
      line[strcspn(line, "\n")] = 0;
      if (!strcmp(line, "SKIP")) {
        skip = true;
        continue;
      }
      if (line[0] == 'V' && line[1] == ' ') {
        int ch, wr;
        if (sscanf(line, "V %d %d", &ch, &wr) == 2) {
          vals_checked += ch;
          vals_wrong += wr;
        }
        continue;
      }
      if (line[0] == 'W' && line[1] == ' ') {
        printf("%s shape-infer WRONG: %s\n", cases[c], line + 2);
        continue;
      }
      if (line[0] == 'X' && line[1] == ' ') {
        printf("%s infer: %s\n", cases[c], line + 2);
        continue;
      }
      if (line[0] == 'I' && line[1] == ' ') {
        int dcl, ex;
        if (sscanf(line, "I %d %d", &dcl, &ex) == 2) {
          infer_declared += dcl;
          infer_exact += ex;
        }
        continue;
      }
      if (line[0] == 'S' && line[1] == ' ') {
        int s;
        char key[160];
        long long v;
        if (sscanf(line, "S %d %159s %lld", &s, key, &v) == 3 && s >= 0 && s < N_STEPS)
          stat_add(s, key, v);
        continue;
      }
      int s = atoi(line);
      if (s < 0 || s >= N_STEPS) continue;
      if (!any) runnable++;
      any = true;
      last = s;
      checked[s]++;
      const char *rest = strchr(line, ' ');
      if (rest && !strncmp(rest + 1, "FAIL", 4)) {
        failed[s]++;
        printf("%s %s FAIL%s\n", cases[c], steps[s].name, rest + 5);
      }
    }
    fclose(r);
    int st;
    waitpid(pid, &st, 0);
    if (!skip && last != N_STEPS - 1) {
      crashed++;
      printf("%s %s CRASH (after %s)\n", cases[c], last + 1 < N_STEPS ? steps[last + 1].name : "?",
             last >= 0 ? steps[last].name : "the unoptimized run");
    }
  }
  printf("passes checked on %d of %d cases (where the interpreter runs the unoptimized model)\n",
         runnable, total);
  int bad = crashed;
  for (int s = 0; s < N_STEPS; s++) {
    printf("  %-14s %4d checked, %d mismatched or failed (%s)\n", steps[s].name, checked[s],
           failed[s], steps[s].exact ? "bit-exact" : "rtol 1e-5");
    for (int i = 0; i < n_stats; i++)
      if (stats[i].step == s)
        printf("      %-36s %8lld in %d cases\n", stats[i].key, stats[i].v, stats[i].cases);
    bad += failed[s];
  }
  printf("shape inference alone reproduces %ld of %ld declared output types exactly\n", infer_exact,
         infer_declared);
  printf("inferred types of %ld intermediate values checked against the interpreter: %ld wrong\n",
         vals_checked, vals_wrong);
  bad += (int)vals_wrong;
  if (crashed) printf("  %d cases crashed or timed out\n", crashed);
  for (int c = 0; c < n; c++) free(cases[c]);
  free(cases);
  return bad ? 1 : 0;
}

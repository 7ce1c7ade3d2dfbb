/* conformance_interp.c - runs ONNX's backend node tests through the reference interpreter:
 * for each case, model.onnx is loaded and verified, each test_data_set_* is run and every
 * output compared with CONTRACTS.md's rule (random operators: dtype and shape only). Each
 * case runs in a forked child with a time limit, so a crash or a hang fails only that case.
 *   conformance_interp DIR [GLOB...]   one line per case: "<case> PASS" or "<case> FAIL why"
 *   conformance_interp --list-ops DIR   one line per case: "<case> op op ..." (domain.op for
 *                                       other domains), for the per-operator report */
#include "frontend.h"
#include "runtime.h"
#include "cases.h"

#include <dirent.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* First line of the diagnostics in msg, as the reason. */
static void first_line(const char *msg, char *why, size_t len) {
  const char *m = msg ? msg : "";
  const char *nl = strchr(m, '\n');
  snprintf(why, len, "%.*s", (int)(nl ? nl - m : (long)strlen(m)), m);
}

static bool run_set(Model *m, RtInterp *in, const char *set, bool random, Diag *d, char *why,
                    size_t len) {
  const Graph *g = m->graph;
  int ni = g->n_inputs, no = g->n_outputs;
  RtValue **ins = calloc((size_t)ni + 1, sizeof *ins), **outs = calloc((size_t)no + 1, sizeof *outs);
  Arena a;
  ir_arena_init(&a);
  bool ok = true;
  char path[4400];
  int bad = cases_read_inputs(g, set, ins, &a, d);
  if (bad >= 0) ok = false, snprintf(why, len, "input_%d.pb unreadable", bad);
  if (ok && rt_interp_run(in, ins, outs) != 0) {
    ok = false;
    snprintf(why, len, "run failed");
  }
  for (int i = 0; ok && i < no; i++) {
    snprintf(path, sizeof path, "%s/output_%d.pb", set, i);
    Datum *dt = ir_pb_read(&a, path, g->outputs[i]->type, d);
    RtValue *want = dt ? rt_from_datum(dt) : NULL;
    char sub[400];
    if (!want) {
      ok = false;
      snprintf(why, len, "output_%d.pb unreadable", i);
    } else if (random) {
      if (outs[i]->kind != want->kind || (want->kind == TYPE_TENSOR &&
                                          (outs[i]->elem != want->elem || !rt_same_shape(outs[i], want)))) {
        char s1[160], s2[160];
        ok = false;
        snprintf(why, len, "output %d '%s': got %s, expected %s", i, g->outputs[i]->name,
                 rt_shape_str(outs[i], s1, sizeof s1), rt_shape_str(want, s2, sizeof s2));
      }
    } else if (!rt_compare(outs[i], want, RT_TOL_DEFAULT, sub, sizeof sub)) {
      ok = false;
      snprintf(why, len, "output %d '%s': %s", i, g->outputs[i]->name, sub);
    }
    rt_unref(want);
  }
  for (int i = 0; i < ni; i++) rt_unref(ins[i]);
  for (int i = 0; i < no; i++) rt_unref(outs[i]);
  free(ins);
  free(outs);
  ir_arena_free(&a);
  return ok;
}

/* The whole case; writes the reason into why and returns pass/fail. */
static bool run_case(const char *dir, char *why, size_t len) {
  char path[4300];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  char *msg = NULL;
  size_t msglen = 0;
  FILE *mf = open_memstream(&msg, &msglen);
  Diag d;
  ir_diag_init(&d, mf, path, NULL, 0);
  bool ok = false;
  Model *m = fe_load(path, &d);
  RtInterp *in = NULL;
  if (!m || ir_verify(m, &d) > 0) goto done;
  RtOptions opt = {.check_types = true, .seed = 1};
  in = rt_interp_new(m, &opt, &d);
  if (!in) goto done;
  int nsets;
  char **sets = cases_list(dir, "test_data_set_", &nsets);
  ok = nsets > 0;
  if (!ok) snprintf(why, len, "no test_data_set_*");
  bool random = rt_model_is_random(m);
  for (int s = 0; ok && s < nsets; s++) {
    snprintf(path, sizeof path, "%s/%s", dir, sets[s]);
    ok = run_set(m, in, path, random, &d, why, len);
    if (!ok && d.errors) why[0] = 0; /* the diagnostic says more */
  }
  for (int s = 0; s < nsets; s++) free(sets[s]);
  free(sets);
done:
  rt_interp_free(in);
  if (m) ir_model_free(m);
  fclose(mf);
  if (!ok && !why[0]) first_line(msg, why, len);
  free(msg);
  return ok;
}

/* The operators a case's model uses (all graphs, functions included), sorted, unique. */
static void list_ops(const char *dir, const char *name) {
  char path[4300];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  FILE *null = fopen("/dev/null", "w");
  Diag d;
  ir_diag_init(&d, null, path, NULL, 0);
  Model *m = fe_load(path, &d);
  printf("%s", name);
  if (m) {
    char **ops = NULL;
    size_t n = 0;
    for (size_t gi = 0; gi < m->all_graphs.n; gi++) {
      const Graph *g = m->all_graphs.v[gi];
      for (size_t i = 0; i < g->nodes.n; i++) {
        const Node *nd = g->nodes.v[i];
        if (ir_model_find_function(m, nd->domain, nd->op_type, nd->overload)) continue;
        char buf[300];
        bool def = !nd->domain[0] || !strcmp(nd->domain, "ai.onnx");
        snprintf(buf, sizeof buf, "%s%s%s", def ? "" : nd->domain, def ? "" : ".", nd->op_type);
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++) seen = !strcmp(ops[k], buf);
        if (seen) continue;
        ops = realloc(ops, (n + 1) * sizeof *ops);
        ops[n++] = strdup(buf);
      }
    }
    qsort(ops, n, sizeof *ops, cases_cmp);
    for (size_t k = 0; k < n; k++) printf(" %s", ops[k]), free(ops[k]);
    free(ops);
    ir_model_free(m);
  }
  printf("\n");
  fclose(null);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--list-ops")) {
    int n;
    char **cases = cases_list(argv[2], "test_", &n);
    for (int i = 0; i < n; i++) {
      char dir[4096];
      if ((size_t)snprintf(dir, sizeof dir, "%s/%s", argv[2], cases[i]) < sizeof dir - 300)
        list_ops(dir, cases[i]);
      free(cases[i]);
    }
    free(cases);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: conformance_interp DIR [GLOB...]\n");
    return 2;
  }
  int n;
  char **cases = cases_list(argv[1], "test_", &n);
  if (!cases) {
    fprintf(stderr, "conformance_interp: cannot read %s\n", argv[1]);
    return 1;
  }
  int passed = 0, total = 0;
  for (int i = 0; i < n; i++) {
    bool want = argc == 2;
    for (int k = 2; k < argc && !want; k++) want = fnmatch(argv[k], cases[i], 0) == 0;
    if (!want) continue;
    total++;
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", argv[1], cases[i]) >= sizeof dir - 300) continue;
    int fd[2];
    if (pipe(fd) != 0) return 3;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      close(fd[0]);
      alarm(60);
      char why[600] = "";
      bool ok = run_case(dir, why, sizeof why);
      dprintf(fd[1], "%s%s%s", ok ? "PASS" : "FAIL", ok ? "" : " ", ok ? "" : why);
      _exit(0);
    }
    close(fd[1]);
    char buf[700];
    ssize_t got = 0, r;
    while (got < (ssize_t)sizeof buf - 1 && (r = read(fd[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0) got += r;
    buf[got] = 0;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    for (char *p = buf; *p; p++)
      if (*p == '\n') *p = ' ';
    if (WIFSIGNALED(st))
      printf("%s FAIL crash: signal %d%s\n", cases[i], WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (time limit)" : "");
    else if (!got || (WIFEXITED(st) && WEXITSTATUS(st) != 0))
      printf("%s FAIL crash: exit status %d\n", cases[i], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    else
      printf("%s %s\n", cases[i], buf);
    passed += !strncmp(buf, "PASS", 4) && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  fprintf(stderr, "interpreter: %d of %d cases pass\n", passed, total);
  for (int i = 0; i < n; i++) free(cases[i]);
  free(cases);
  return 0;
}

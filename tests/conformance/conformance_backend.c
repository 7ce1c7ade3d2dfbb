/* conformance_backend.c - runs ONNX's node tests through a backend and compares its outputs
 * with the reference interpreter's on the same inputs (floats |got - want| <= 1e-5 +
 * 1e-4·|want|, integers and bools exactly).
 *
 *   conformance_backend --target T [--cc CC] [--run WRAPPER] [--batch N] [--jobs J]
 *                       [--threads N] DIR [GLOB...]
 *   conformance_backend --jit DIR [GLOB...]
 *
 * C targets: every case is loaded, run by the interpreter (the reference outputs), put
 * through the target's pipeline and emitted with its own prefix and --emit-main into a
 * batch directory; each batch of N cases is built by one compiler run (gcc -O2 -std=c11
 * -Wall -Wextra -Werror, J batches at a time) into one program whose dispatcher runs each
 * case's emitted main in a child process on the case's inputs written as .npy; the outputs
 * it writes are compared with the references. --run prefixes the program (qemu-aarch64
 * for cross targets); --threads N emits with N threads (the results must not change).
 * --jit compiles each case in process with be_jit_compile (LLVM) and
 * compares be_jit_run's outputs the same way.
 *
 * One line per case: "<case> PASS", "<case> FAIL why" (a supported case that fails to build,
 * crashes or mismatches) or "<case> UNSUPPORTED why" (the backend refused an operator: not a
 * failure). A summary with counts and times goes to stderr. */
#include "backends.h"
#include "frontend.h"
#include "passes.h"
#include "runtime.h"
#include "cases.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma weak be_jit_compile
#pragma weak be_jit_run
#pragma weak be_jit_free

#define TOL ((RtTolerance){1e-5, 1e-4})
#define MAX_SETS 8

typedef enum { ST_PENDING, ST_PASS, ST_FAIL, ST_UNSUPPORTED } Status;

typedef struct Case {
  char *name, *dir;
  Status st;
  char why[400];
  int n_sets;    /* data sets prepared (inputs and references written) */
  int n_outputs; /* graph outputs */
  int batch;
} Case;

typedef struct Opts {
  const Target *target; /* NULL with --jit */
  const char *cc, *run, *work;
  int batch, jobs, threads;
  bool jit;
} Opts;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void first_line(const char *msg, char *why, size_t len) {
  const char *m = msg ? msg : "";
  const char *nl = strchr(m, '\n');
  snprintf(why, len, "%.*s", (int)(nl ? nl - m : (long)strlen(m)), m);
}

/* CONTRACTS.md's output file name: bytes outside [A-Za-z0-9_.-], and a leading '.', as %XX. */
static void enc_name(const char *s, char *out, size_t len) {
  size_t o = 0;
  for (size_t i = 0; s[i] && o + 4 < len; i++) {
    unsigned char c = (unsigned char)s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (c == '.' && i > 0);
    if (ok)
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, len - o, "%%%02X", c);
  }
  out[o] = 0;
}

static int mkdirs(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(tmp, 0755);
      *p = '/';
    }
  return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static bool write_value(const char *path, const RtValue *v, Diag *d) {
  Arena a;
  ir_arena_init(&a);
  Tensor *t = rt_to_tensor(&a, v, NULL);
  bool ok = t && ir_npy_write(path, t, d);
  ir_arena_free(&a);
  return ok;
}

/* ------------------------------------------------------------------ one case (child) */

/* The result the child sends: status, sets, outputs, reason. */
typedef struct Msg {
  int st, n_sets, n_outputs;
  char why[400];
} Msg;

/* Whether every output of the main graph is a tensor (the interpreter's references). */
static bool tensors_only(RtValue **outs, int n) {
  for (int i = 0; i < n; i++)
    if (!outs[i] || outs[i]->kind != TYPE_TENSOR) return false;
  return true;
}

/* Run the interpreter on every data set; write inputs and references under cdir. */
static int prepare_refs(Model *m, const Case *c, const char *cdir, BeSignature *sig, Msg *r,
                        Diag *d) {
  RtOptions opt = {.check_types = true, .seed = 1};
  RtInterp *in = rt_interp_new(m, &opt, d);
  if (!in) return snprintf(r->why, sizeof r->why, "interpreter refused the model"), -1;
  int nsets;
  char **sets = cases_list(c->dir, "test_data_set_", &nsets);
  const Graph *g = m->graph;
  int rc = 0;
  for (int s = 0; s < nsets && s < MAX_SETS && rc == 0; s++) {
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", c->dir, sets[s]);
    RtValue **ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
    RtValue **outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
    Arena a;
    ir_arena_init(&a);
    if (cases_read_inputs(g, path, ins, &a, d) >= 0) {
      snprintf(r->why, sizeof r->why, "%s: unreadable input", sets[s]);
      rc = -1;
    } else if (rt_interp_run(in, ins, outs) != 0) {
      snprintf(r->why, sizeof r->why, "interpreter failed on %s", sets[s]);
      rc = -1;
    } else if (!tensors_only(outs, g->n_outputs)) {
      snprintf(r->why, sizeof r->why, "non-tensor output");
      r->st = ST_UNSUPPORTED;
      rc = -1;
    }
    /* inputs in signature order (graph inputs without initializer) */
    for (int k = 0; rc == 0 && k < sig->n_inputs; k++) {
      int gi = 0;
      while (gi < g->n_inputs && g->inputs[gi] != sig->inputs[k]) gi++;
      if (gi == g->n_inputs || !ins[gi] || ins[gi]->kind != TYPE_TENSOR) {
        snprintf(r->why, sizeof r->why, "input %d has no tensor data", k);
        r->st = ST_UNSUPPORTED;
        rc = -1;
        break;
      }
      snprintf(path, sizeof path, "%s/s%d_in%d.npy", cdir, s, k);
      if (!write_value(path, ins[gi], d)) snprintf(r->why, sizeof r->why, "cannot write %s", path), rc = -1;
    }
    for (int k = 0; rc == 0 && k < g->n_outputs; k++) {
      snprintf(path, sizeof path, "%s/s%d_ref%d.npy", cdir, s, k);
      if (!write_value(path, outs[k], d)) snprintf(r->why, sizeof r->why, "cannot write %s", path), rc = -1;
    }
    for (int k = 0; k < g->n_inputs; k++) rt_unref(ins[k]);
    for (int k = 0; k < g->n_outputs; k++) rt_unref(outs[k]);
    free(ins);
    free(outs);
    ir_arena_free(&a);
    if (rc == 0) r->n_sets = s + 1;
  }
  for (int s = 0; s < nsets; s++) free(sets[s]);
  free(sets);
  rt_interp_free(in);
  if (rc == 0 && r->n_sets == 0) snprintf(r->why, sizeof r->why, "no test_data_set_*"), rc = -1;
  return rc;
}

/* Compare output k of set s (the file the program or the JIT wrote) with the reference. */
static bool compare_out(const char *got_path, const char *ref_path, const Type *type, char *why,
                        size_t len) {
  Diag d;
  FILE *null = fopen("/dev/null", "w");
  ir_diag_init(&d, null, got_path, NULL, 0);
  Arena a;
  ir_arena_init(&a);
  ElemType want = type && type->kind == TYPE_TENSOR ? type->elem : ELEM_UNDEFINED;
  Tensor *tg = ir_npy_read(&a, got_path, want, &d), *tr = ir_npy_read(&a, ref_path, want, &d);
  bool ok = false;
  if (!tg)
    snprintf(why, len, "no output %s", strrchr(got_path, '/') ? strrchr(got_path, '/') + 1 : got_path);
  else if (!tr)
    snprintf(why, len, "reference unreadable");
  else {
    Datum dg = {.kind = TYPE_TENSOR, .tensor = tg}, dr = {.kind = TYPE_TENSOR, .tensor = tr};
    RtValue *vg = rt_from_datum(&dg), *vr = rt_from_datum(&dr);
    char sub[300];
    ok = vg && vr && rt_compare(vg, vr, TOL, sub, sizeof sub);
    if (!ok) snprintf(why, len, "%s", vg && vr ? sub : "unreadable output");
    rt_unref(vg);
    rt_unref(vr);
  }
  ir_arena_free(&a);
  fclose(null);
  return ok;
}

/* JIT: compile in process and run every prepared set. */
static int run_jit(Model *m, const BeSignature *sig, const char *cdir, Msg *r, Diag *d) {
  if (!be_jit_compile) {
    r->st = ST_UNSUPPORTED;
    snprintf(r->why, sizeof r->why, "the LLVM backend is not built");
    return -1;
  }
  BeJit *j = be_jit_compile(m, d);
  if (!j) {
    r->st = ST_UNSUPPORTED;
    return -1;
  }
  int rc = 0;
  for (int s = 0; s < r->n_sets && rc == 0; s++) {
    void **in = calloc((size_t)sig->n_inputs + 1, sizeof *in);
    void **out = calloc((size_t)sig->n_outputs + 1, sizeof *out);
    Arena a;
    ir_arena_init(&a);
    char path[4600], ref[4600];
    for (int k = 0; k < sig->n_inputs && rc == 0; k++) {
      snprintf(path, sizeof path, "%s/s%d_in%d.npy", cdir, s, k);
      Tensor *t = ir_npy_read(&a, path, sig->inputs[k]->type->elem, d);
      if (!t) rc = -1, snprintf(r->why, sizeof r->why, "cannot read %s", path);
      else in[k] = t->data;
    }
    for (int k = 0; k < sig->n_outputs && rc == 0; k++) {
      const Type *t = sig->outputs[k]->type;
      uint64_t cnt = 0;
      size_t nb = 0;
      ir_type_numel(t, &cnt);
      ir_elem_nbytes(t->elem, cnt, &nb);
      out[k] = calloc(nb ? nb : 1, 1);
    }
    if (rc == 0 && be_jit_run(j, in, out) != 0) rc = -1, snprintf(r->why, sizeof r->why, "be_jit_run failed");
    for (int k = 0; k < sig->n_outputs && rc == 0; k++) {
      const Type *t = sig->outputs[k]->type;
      int64_t dims[RT_MAX_RANK] = {0};
      for (int dd = 0; dd < t->rank && dd < RT_MAX_RANK; dd++) dims[dd] = t->dims[dd].value;
      Tensor *tt = ir_tensor_new(&a, t->elem, t->rank, dims);
      uint64_t cnt = 0;
      ir_type_numel(t, &cnt);
      ir_elem_nbytes(t->elem, cnt, &tt->nbytes);
      tt->data = out[k];
      tt->has_data = true;
      snprintf(path, sizeof path, "%s/s%d_got%d.npy", cdir, s, k);
      snprintf(ref, sizeof ref, "%s/s%d_ref%d.npy", cdir, s, k);
      if (!ir_npy_write(path, tt, d) || !compare_out(path, ref, t, r->why, sizeof r->why)) rc = -1;
    }
    for (int k = 0; k < sig->n_outputs; k++) free(out[k]);
    free(in);
    free(out);
    ir_arena_free(&a);
  }
  be_jit_free(j);
  if (rc == 0) r->st = ST_PASS;
  else if (r->st != ST_UNSUPPORTED) r->st = ST_FAIL;
  return rc;
}

/* The child's work for one case: references, pipeline, emit (or JIT). */
static void child_case(const Opts *o, const Case *c, int idx, const char *cdir, Msg *r) {
  char path[4300];
  snprintf(path, sizeof path, "%s/model.onnx", c->dir);
  char *msg = NULL;
  size_t msglen = 0;
  FILE *mf = open_memstream(&msg, &msglen);
  Diag d;
  ir_diag_init(&d, mf, path, NULL, 0);
  r->st = ST_FAIL;
  Model *m = fe_load(path, &d);
  BeSignature sig = {0};
  if (!m || ir_verify(m, &d) > 0) {
    snprintf(r->why, sizeof r->why, "model does not load");
    goto done;
  }
  r->n_outputs = m->graph->n_outputs;
  if (rt_model_is_random(m)) {
    r->st = ST_UNSUPPORTED;
    snprintf(r->why, sizeof r->why, "random operators");
    goto done;
  }
  const Target *t = o->target ? o->target : ir_target_resolve(ir_target_find("native"));
  /* references first: the interpreter leaves the model as it was */
  if (be_signature(m, &sig, &d) != 0) {
    r->st = ST_UNSUPPORTED;
    fflush(mf);
    first_line(msg, r->why, sizeof r->why);
    goto done;
  }
  if (prepare_refs(m, c, cdir, &sig, r, &d) != 0) goto done;
  be_signature_free(&sig);
  PassPipeline *pp = pass_pipeline_parse(t->pipeline, &d);
  PassRunOptions ro = {0};
  if (!pp) goto done;
  int prc = pass_pipeline_run(m, pp, &ro, &d);
  pass_pipeline_free(pp);
  if (prc != 0 || be_signature(m, &sig, &d) != 0) {
    r->st = ST_UNSUPPORTED;
    fflush(mf);
    char line[300];
    first_line(msg, line, sizeof line);
    snprintf(r->why, sizeof r->why, "pipeline: %s", line);
    goto done;
  }
  if (o->jit) {
    run_jit(m, &sig, cdir, r, &d);
    goto done;
  }
  char prefix[32];
  snprintf(prefix, sizeof prefix, "c%d", idx);
  EmitOptions eo = {.target = t, .out_dir = cdir, .prefix = prefix, .emit_main = true,
                    .threads = o->threads, .quiet = true};
  int erc = be_emit(m, &eo, &d);
  if (erc != 0) {
    r->st = ST_UNSUPPORTED;
    fflush(mf);
    first_line(msg, r->why, sizeof r->why);
    /* the emitter names the node and op: keep the reason after the location */
    const char *p = strstr(r->why, "error: ");
    if (p) memmove(r->why, p + 7, strlen(p + 7) + 1);
    goto done;
  }
  r->st = ST_PENDING;
done:
  be_signature_free(&sig);
  if (m) ir_model_free(m);
  fclose(mf);
  if ((r->st == ST_FAIL || r->st == ST_UNSUPPORTED) && !r->why[0]) first_line(msg, r->why, sizeof r->why);
  free(msg);
}

/* Fork, run child_case with a time limit, collect its Msg. */
static void prepare_case(const Opts *o, Case *c, int idx, const char *cdir) {
  int fd[2];
  if (pipe(fd) != 0) abort();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    alarm(120);
    Msg r = {0};
    child_case(o, c, idx, cdir, &r);
    if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(3);
    _exit(0);
  }
  close(fd[1]);
  Msg r = {0};
  ssize_t got = 0, k;
  while (got < (ssize_t)sizeof r && (k = read(fd[0], (char *)&r + got, sizeof r - (size_t)got)) > 0) got += k;
  close(fd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (got != (ssize_t)sizeof r) {
    c->st = ST_FAIL;
    snprintf(c->why, sizeof c->why, "crash while preparing (%s %d)",
             WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return;
  }
  c->st = (Status)r.st;
  c->n_sets = r.n_sets;
  c->n_outputs = r.n_outputs;
  snprintf(c->why, sizeof c->why, "%s", r.why);
}

/* ------------------------------------------------------------------ batches */

/* The dispatcher: `prog SCRIPT` runs each line "<case> <args...>" of SCRIPT by calling
 * that case's emitted main in a child, printing "<line number> <exit status>". */
static const char *dispatcher_head =
    "#define _POSIX_C_SOURCE 200809L\n"
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    "#include <sys/wait.h>\n#include <unistd.h>\n"
    "typedef int (*EntryFn)(int, char **);\n";

static const char *dispatcher_main =
    "int main(int argc, char **argv) {\n"
    "  if (argc != 2) return 2;\n"
    "  FILE *f = fopen(argv[1], \"r\");\n"
    "  if (!f) return 2;\n"
    "  static char line[65536];\n"
    "  int ln = 0;\n"
    "  while (fgets(line, sizeof line, f)) {\n"
    "    char *av[256];\n"
    "    int ac = 0;\n"
    "    for (char *t = strtok(line, \" \\n\"); t && ac < 255; t = strtok(NULL, \" \\n\")) av[ac++] = t;\n"
    "    av[ac] = NULL;\n"
    "    if (ac < 1) continue;\n"
    "    int k = atoi(av[0]), st = 0;\n"
    "    fflush(stdout);\n"
    "    pid_t pid = fork();\n"
    "    if (pid == 0) {\n"
    "      alarm(60);\n"
    "      int rc = entries[k](ac - 1, av + 1);\n"
    "      fflush(NULL);\n"
    "      _exit(rc & 255);\n"
    "    }\n"
    "    waitpid(pid, &st, 0);\n"
    "    printf(\"%d %d\\n\", ln++, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));\n"
    "  }\n"
    "  fclose(f);\n"
    "  return 0;\n"
    "}\n";

typedef struct Batch {
  int first, count; /* cases [first, first + count) of the emitted list */
  char dir[4096];
  pid_t pid;        /* compiler, while running */
  bool built;
  int attempts;
  bool *excluded;   /* cases whose own files failed to build (left out of the next try) */
  char why[300];
} Batch;

/* Write the wrapper files and the dispatcher of one batch; the list of sources into srcs. */
static void batch_write(Batch *b, Case **cs, char *srcs, size_t len) {
  char path[4300];
  size_t o = 0;
  snprintf(path, sizeof path, "%s/dispatch.c", b->dir);
  FILE *f = fopen(path, "w");
  fputs(dispatcher_head, f);
  for (int i = 0; i < b->count; i++) {
    fprintf(f, "int c%d_entry(int, char **);\n", b->first + i);
    if (b->excluded[i]) /* its build failed: a stub keeps the table whole */
      fprintf(f, "int c%d_entry(int ac, char **av) {\n  (void)ac;\n  (void)av;\n  return 99;\n}\n",
              b->first + i);
  }
  fprintf(f, "static const EntryFn entries[] = {");
  for (int i = 0; i < b->count; i++) fprintf(f, "%sc%d_entry", i ? ", " : "", b->first + i);
  fprintf(f, "};\n");
  fputs(dispatcher_main, f);
  fclose(f);
  o += (size_t)snprintf(srcs + o, len - o, "%s", path);
  for (int i = 0; i < b->count; i++) {
    int k = b->first + i;
    if (b->excluded[i]) continue;
    snprintf(path, sizeof path, "%s/w%d.c", b->dir, k);
    f = fopen(path, "w");
    fprintf(f, "#define main c%d_entry\nint c%d_entry(int, char **);\n#include \"c%d/c%d_main.c\"\n",
            k, k, k, k);
    fclose(f);
    o += (size_t)snprintf(srcs + o, len - o, " %s %s/c%d/c%d.c", path, b->dir, k, k);
    snprintf(path, sizeof path, "%s/c%d/c%d_weights.c", b->dir, k, k);
    struct stat st;
    if (!stat(path, &st)) o += (size_t)snprintf(srcs + o, len - o, " %s", path);
    (void)cs;
  }
}

static pid_t spawn_sh(const char *cmd, const char *log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE *lf = freopen(log, "w", stderr);
    (void)lf;
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* After a failed build: exclude the cases whose files the log names; true if any. */
static bool exclude_failed(Batch *b, Case **cs) {
  char path[4200], line[1024], tag[64], tag2[64];
  snprintf(path, sizeof path, "%s/build.log", b->dir);
  FILE *f = fopen(path, "r");
  bool any = false;
  while (f && fgets(line, sizeof line, f)) {
    if (!strstr(line, "error")) continue;
    for (int i = 0; i < b->count; i++) {
      int k = b->first + i;
      snprintf(tag, sizeof tag, "/c%d/", k);
      snprintf(tag2, sizeof tag2, "/w%d.c:", k);
      if (b->excluded[i] || (!strstr(line, tag) && !strstr(line, tag2))) continue;
      char *nl = strchr(line, '\n');
      if (nl) *nl = 0;
      const char *p = strrchr(line, '/');
      cs[k]->st = ST_FAIL;
      snprintf(cs[k]->why, sizeof cs[k]->why, "build: %s", p ? p + 1 : line);
      b->excluded[i] = true;
      any = true;
    }
  }
  if (f) fclose(f);
  return any;
}

static void build_batches(const Opts *o, Batch *bs, int nb, Case **cs) {
  static char srcs[1 << 20], cmd[(1 << 20) + 4096];
  int running = 0, next = 0, *queue = malloc(sizeof(int) * (size_t)(3 * nb + 1)), nq = nb;
  for (int i = 0; i < nb; i++) queue[i] = i;
  while (next < nq || running > 0) {
    while (next < nq && running < o->jobs) {
      Batch *b = &bs[queue[next++]];
      b->attempts++;
      batch_write(b, cs, srcs, sizeof srcs);
      snprintf(cmd, sizeof cmd,
               "%s -O2 -std=c11 -Wall -Wextra -Werror -I%s %s %s -o %s/prog -lm -lpthread",
               o->cc, b->dir, !strcmp(o->target->name, "aarch64") ? "-static" : "", srcs, b->dir);
      char log[4200];
      snprintf(log, sizeof log, "%s/build.log", b->dir);
      b->pid = spawn_sh(cmd, log);
      running++;
    }
    int st;
    pid_t pid = wait(&st);
    if (pid < 0) break;
    for (int i = 0; i < nb; i++)
      if (bs[i].pid == pid) {
        bs[i].pid = 0;
        bs[i].built = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        running--;
        if (!bs[i].built && bs[i].attempts < 3 && exclude_failed(&bs[i], cs)) queue[nq++] = i;
      }
  }
  free(queue);
}

/* The first error line of a batch's build log that names case k's files, or the first. */
static void build_error(const Batch *b, int k, char *why, size_t len) {
  char path[4200], line[1024], tag[64];
  snprintf(path, sizeof path, "%s/build.log", b->dir);
  snprintf(tag, sizeof tag, "/c%d/", k);
  FILE *f = fopen(path, "r");
  snprintf(why, len, "build failed");
  if (!f) return;
  bool mine = false;
  while (fgets(line, sizeof line, f)) {
    if (!strstr(line, "error")) continue;
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    const char *p = strrchr(line, '/');
    if (strstr(line, tag)) {
      snprintf(why, len, "build: %s", p ? p + 1 : line);
      mine = true;
      break;
    }
  }
  fclose(f);
  if (!mine) snprintf(why, len, "build failed (another case of the batch; see %s)", path);
}

/* Run one built batch and compare every case's outputs. */
static void run_batch(const Opts *o, const Batch *b, Case **cs) {
  char script[4300], out[4300], cmd[9000];
  snprintf(script, sizeof script, "%s/script.txt", b->dir);
  FILE *f = fopen(script, "w");
  int lines = 0;
  int *line_case = calloc((size_t)b->count * MAX_SETS + 1, sizeof *line_case);
  int *line_set = calloc((size_t)b->count * MAX_SETS + 1, sizeof *line_set);
  for (int i = 0; i < b->count; i++) {
    int k = b->first + i;
    Case *c = cs[k];
    for (int s = 0; s < c->n_sets; s++) {
      fprintf(f, "%d c%d", i, k);
      /* the signature's inputs: names from the header's table are not known here, so the
       * emitted main is given inputs by position (--input NAME is the graph input's name) */
      char names[4300];
      snprintf(names, sizeof names, "%s/c%d/inputs.txt", b->dir, k);
      FILE *nf = fopen(names, "r");
      char nm[2048];
      int in = 0;
      while (nf && fgets(nm, sizeof nm, nf)) {
        char *nl = strchr(nm, '\n');
        if (nl) *nl = 0;
        fprintf(f, " --input %s=%s/c%d/s%d_in%d.npy", nm, b->dir, k, s, in++);
      }
      if (nf) fclose(nf);
      fprintf(f, " --output-dir %s/c%d/out%d\n", b->dir, k, s);
      char od[4300];
      snprintf(od, sizeof od, "%s/c%d/out%d", b->dir, k, s);
      mkdirs(od);
      line_case[lines] = k;
      line_set[lines] = s;
      lines++;
    }
  }
  fclose(f);
  snprintf(out, sizeof out, "%s/run.txt", b->dir);
  snprintf(cmd, sizeof cmd, "%s%s%s/prog %s > %s 2> %s/run.log", o->run ? o->run : "",
           o->run ? " " : "", b->dir, script, out, b->dir);
  int rc = system(cmd);
  int *status = malloc(((size_t)lines + 1) * sizeof *status);
  for (int i = 0; i < lines; i++) status[i] = -1;
  f = fopen(out, "r");
  int ln, st;
  while (f && fscanf(f, "%d %d", &ln, &st) == 2)
    if (ln >= 0 && ln < lines) status[ln] = st;
  if (f) fclose(f);
  for (int i = 0; i < lines; i++) {
    Case *c = cs[line_case[i]];
    if (c->st != ST_PENDING) continue;
    int s = line_set[i];
    if (status[i] != 0) {
      c->st = ST_FAIL;
      snprintf(c->why, sizeof c->why, status[i] < 0 ? "program did not run (rc %d)" :
               status[i] >= 128 ? "program crashed (signal %d)" : "program exit status %d",
               status[i] < 0 ? rc : status[i] >= 128 ? status[i] - 128 : status[i]);
      continue;
    }
    char names[4300], nm[2048];
    snprintf(names, sizeof names, "%s/c%d/outputs.txt", b->dir, line_case[i]);
    FILE *nf = fopen(names, "r");
    for (int k = 0; nf && fgets(nm, sizeof nm, nf); k++) {
      char *nl = strchr(nm, '\n');
      if (nl) *nl = 0;
      char enc[2048], got[8400], ref[8400], why[300];
      /* the line holds "<elem> <name>" */
      char *sp = strchr(nm, ' ');
      int elem = atoi(nm);
      enc_name(sp ? sp + 1 : nm, enc, sizeof enc);
      snprintf(got, sizeof got, "%s/c%d/out%d/%s.npy", b->dir, line_case[i], s, enc);
      snprintf(ref, sizeof ref, "%s/c%d/s%d_ref%d.npy", b->dir, line_case[i], s, k);
      Type ty = {.kind = TYPE_TENSOR, .elem = (ElemType)elem};
      if (!compare_out(got, ref, &ty, why, sizeof why)) {
        c->st = ST_FAIL;
        snprintf(c->why, sizeof c->why, "set %d output %d: %s", s, k, why);
        break;
      }
    }
    if (nf) fclose(nf);
  }
  for (int i = 0; i < b->count; i++)
    if (cs[b->first + i]->st == ST_PENDING) cs[b->first + i]->st = ST_PASS;
  free(status);
  free(line_case);
  free(line_set);
}

/* The names the emitted main takes (signature inputs) and the outputs it writes, saved by
 * the parent from the model (the child's signature is gone). */
static void save_names(const Case *c, const char *cdir) {
  char path[4300];
  snprintf(path, sizeof path, "%s/model.onnx", c->dir);
  FILE *null = fopen("/dev/null", "w");
  Diag d;
  ir_diag_init(&d, null, path, NULL, 0);
  Model *m = fe_load(path, &d);
  BeSignature sig = {0};
  if (m && be_signature(m, &sig, &d) == 0) {
    snprintf(path, sizeof path, "%s/inputs.txt", cdir);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < sig.n_inputs; i++) fprintf(f, "%s\n", sig.inputs[i]->name);
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/outputs.txt", cdir);
    f = fopen(path, "w");
    for (int i = 0; f && i < sig.n_outputs; i++)
      fprintf(f, "%d %s\n", (int)sig.outputs[i]->type->elem, sig.outputs[i]->name);
    if (f) fclose(f);
  }
  be_signature_free(&sig);
  if (m) ir_model_free(m);
  fclose(null);
}

static int usage(void) {
  fprintf(stderr, "usage: conformance_backend (--target T [--cc CC] [--run WRAPPER] [--batch N] "
                  "[--jobs J] [--threads N] | --jit) [--work DIR] NODE_DIR [GLOB...]\n");
  return 2;
}

int main(int argc, char **argv) {
  Opts o = {.batch = 50, .jobs = 2, .threads = 1};
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--jit"))
      o.jit = true;
    else if (i + 1 >= argc)
      return usage();
    else if (!strcmp(a, "--target")) {
      const Target *t = ir_target_find(argv[++i]);
      if (!t || strcmp(ir_target_resolve(t)->emitter, "c")) {
        fprintf(stderr, "conformance_backend: '%s' is not a C target\n", argv[i]);
        return 2;
      }
      o.target = ir_target_resolve(t);
    } else if (!strcmp(a, "--cc"))
      o.cc = argv[++i];
    else if (!strcmp(a, "--run"))
      o.run = argv[++i];
    else if (!strcmp(a, "--batch"))
      o.batch = atoi(argv[++i]);
    else if (!strcmp(a, "--jobs"))
      o.jobs = atoi(argv[++i]);
    else if (!strcmp(a, "--threads"))
      o.threads = atoi(argv[++i]);
    else if (!strcmp(a, "--work"))
      o.work = argv[++i];
    else
      return usage();
  }
  if (i >= argc || (!o.jit && !o.target) || o.batch < 1 || o.jobs < 1 || o.threads < 1)
    return usage();
  if (!o.cc && o.target) o.cc = o.target->cc;
  const char *node = argv[i++];
  char work[4096];
  if (o.work)
    snprintf(work, sizeof work, "%s", o.work);
  else
    snprintf(work, sizeof work, "%s/../backend-%s", node, o.jit ? "jit" : o.target->name);
  mkdirs(work);
  int n;
  char **names = cases_list(node, "test_", &n);
  if (!names) {
    fprintf(stderr, "conformance_backend: cannot read %s\n", node);
    return 1;
  }
  Case **cs = calloc((size_t)n + 1, sizeof *cs);
  int nc = 0;
  for (int k = 0; k < n; k++) {
    bool want = i == argc;
    for (int g = i; g < argc && !want; g++) want = fnmatch(argv[g], names[k], 0) == 0;
    if (want) {
      Case *c = calloc(1, sizeof *c);
      c->name = names[k];
      c->dir = malloc(strlen(node) + strlen(names[k]) + 2);
      sprintf(c->dir, "%s/%s", node, names[k]);
      cs[nc++] = c;
    } else {
      free(names[k]);
    }
  }
  free(names);
  double t0 = now();
  /* prepare: references, pipeline, emit; emitted cases get consecutive batch slots */
  Case **em = calloc((size_t)nc + 1, sizeof *em);
  int ne = 0;
  for (int k = 0; k < nc; k++) {
    char cdir[4400];
    snprintf(cdir, sizeof cdir, "%s/b%d/c%d", work, ne / o.batch, ne);
    mkdirs(cdir);
    prepare_case(&o, cs[k], ne, cdir);
    if (cs[k]->st == ST_PENDING) {
      save_names(cs[k], cdir);
      em[ne++] = cs[k];
    }
  }
  double t1 = now();
  int nb = (ne + o.batch - 1) / o.batch;
  Batch *bs = calloc((size_t)nb + 1, sizeof *bs);
  for (int b = 0; b < nb; b++) {
    bs[b].first = b * o.batch;
    bs[b].count = ne - bs[b].first < o.batch ? ne - bs[b].first : o.batch;
    bs[b].excluded = calloc((size_t)bs[b].count + 1, sizeof(bool));
    snprintf(bs[b].dir, sizeof bs[b].dir, "%s/b%d", work, b);
  }
  if (nb) build_batches(&o, bs, nb, em);
  double t2 = now();
  for (int b = 0; b < nb; b++) {
    if (bs[b].built) {
      run_batch(&o, &bs[b], em);
      continue;
    }
    for (int k = 0; k < bs[b].count; k++) {
      Case *c = em[bs[b].first + k];
      if (bs[b].excluded[k]) continue;
      c->st = ST_FAIL;
      build_error(&bs[b], bs[b].first + k, c->why, sizeof c->why);
    }
  }
  double t3 = now();
  int cnt[4] = {0};
  for (int k = 0; k < nc; k++) {
    Case *c = cs[k];
    for (char *p = c->why; *p; p++)
      if (*p == '\n') *p = ' ';
    cnt[c->st]++;
    printf("%s %s%s%s\n", c->name,
           c->st == ST_PASS ? "PASS" : c->st == ST_UNSUPPORTED ? "UNSUPPORTED" : "FAIL",
           c->st == ST_PASS ? "" : " ", c->st == ST_PASS ? "" : c->why);
  }
  fprintf(stderr,
          "%s: %d of %d cases pass, %d fail, %d unsupported (prepare %.1f s, build %.1f s in %d "
          "batches, run %.1f s)\n",
          o.jit ? "jit" : o.target->name, cnt[ST_PASS], nc, cnt[ST_FAIL] + cnt[ST_PENDING],
          cnt[ST_UNSUPPORTED], t1 - t0, t2 - t1, nb, t3 - t2);
  for (int k = 0; k < nc; k++) {
    free(cs[k]->name);
    free(cs[k]->dir);
    free(cs[k]);
  }
  free(cs);
  for (int b = 0; b < nb; b++) free(bs[b].excluded);
  free(em);
  free(bs);
  return 0;
}

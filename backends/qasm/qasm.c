/* qasm.c - the OpenQASM emitter (targets qasm2 and qasm3): the circuit of an effc.qc graph
 * as OpenQASM 2.0 with qelib1.inc or OpenQASM 3.0 with stdgates.inc. Parameters with an
 * initializer are bound at emit time; the rest are an error for 2.0 and `input float[64]`
 * declarations for 3.0, with angles written as affine expressions of them. Measurements go
 * to a classical register; Probs outputs measure their qubits into a register named after
 * the output; Expval outputs are written as comments (their terms need basis changes the
 * caller runs per term). Output: <out_dir>/<prefix>.qasm. */
#include "backends.h"
#include "qsim.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Emit {
  FILE *f;
  const QcCircuit *c;
  bool v3;
  double *val;  /* bound parameter values */
  bool *bound;
  char **name;  /* parameter names (qasm3 inputs) */
} Emit;

static char *ident(const char *s, int64_t idx, bool indexed) {
  size_t n = strlen(s);
  char *r = malloc(n + 32);
  if (!r) abort();
  size_t w = 0;
  if (!isalpha((unsigned char)s[0]) && s[0] != '_') r[w++] = 'p';
  for (size_t i = 0; i < n; i++) r[w++] = isalnum((unsigned char)s[i]) ? s[i] : '_';
  r[w] = 0;
  if (indexed) snprintf(r + w, 32, "_%lld", (long long)idx);
  return r;
}

static void angle(Emit *e, const QcAngle *a) {
  double c = a->c;
  bool any = false;
  for (int i = 0; i < a->n; i++) {
    if (e->bound[a->p[i]]) {
      c += a->k[i] * e->val[a->p[i]];
      continue;
    }
    double k = a->k[i];
    fputs(any ? (k < 0 ? " - " : " + ") : (k < 0 ? "-" : ""), e->f);
    if (fabs(k) != 1) fprintf(e->f, "%.17g*", fabs(k));
    fputs(e->name[a->p[i]], e->f);
    any = true;
  }
  if (!any) fprintf(e->f, "%.17g", c);
  else if (c != 0) fprintf(e->f, " %c %.17g", c < 0 ? '-' : '+', fabs(c));
}

static const char *gate_name(const Emit *e, int g) {
  return e->v3 ? qc_gates[g].qasm3 : qc_gates[g].qasm2;
}

int be_emit_qasm(Model *m, const EmitOptions *o, Diag *d) {
  QcCircuit c;
  if (qc_circuit_from_graph(m, &c, d)) return -1;
  Emit e = {NULL, &c, o->target->id == TARGET_QASM3, calloc((size_t)c.nparams + 1, sizeof(double)),
            calloc((size_t)c.nparams + 1, 1), calloc((size_t)c.nparams + 1, sizeof(char *))};
  if (!e.val || !e.bound || !e.name) abort();
  int rc = 0;
  for (int i = 0; i < c.nparams; i++) {
    const QcParam *p = &c.params[i];
    uint64_t n = 1;
    if (p->v->init && p->v->init->has_data && ir_tensor_numel(p->v->init, &n) && (uint64_t)p->index < n) {
      e.bound[i] = true;
      e.val[i] = ir_elem(p->v->init->elem)->to_f64(p->v->init->data, (size_t)p->index);
      continue;
    }
    bool indexed = p->v->type && p->v->type->kind == TYPE_TENSOR && p->v->type->rank > 0;
    e.name[i] = ident(p->v->name, p->index, indexed);
    if (!e.v3) {
      ir_error(d, p->v->loc, "parameter '%s' has no value: OpenQASM 2.0 needs every angle bound (give it an "
               "initializer, or emit --target qasm3 to keep it an input)", p->v->name);
      rc = -1;
    }
  }
  char path[4096], err[512];
  snprintf(path, sizeof path, "%s/%s.qasm", o->out_dir, o->prefix ? o->prefix : "model");
  AtomicFile af;
  if (!rc && !ir_atomic_open(&af, path, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    rc = -1;
  }
  if (rc) goto done;
  FILE *f = e.f = af.fp;
  int nmeas = 0;
  bool used[QG_COUNT] = {0};
  for (int i = 0; i < c.nops; i++) {
    nmeas += c.ops[i].g == QG_MEASURE;
    used[c.ops[i].g] = true;
  }
  if (e.v3) {
    fprintf(f, "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n");
    if (used[QG_SXDG]) fprintf(f, "gate sxdg a { h a; sdg a; h a; }\n");
    if (used[QG_RZZ]) fprintf(f, "gate rzz(t) a, b { cx a, b; rz(t) b; cx a, b; }\n");
    if (used[QG_RXX]) fprintf(f, "gate rxx(t) a, b { h a; h b; cx a, b; rz(t) b; cx a, b; h a; h b; }\n");
    for (int i = 0; i < c.nparams; i++)
      if (!e.bound[i]) fprintf(f, "input float[64] %s;\n", e.name[i]);
    fprintf(f, "qubit[%d] q;\n", c.nq);
    if (nmeas) fprintf(f, "bit[%d] c;\n", nmeas);
  } else {
    fprintf(f, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[%d];\n", c.nq);
    if (nmeas) fprintf(f, "creg c[%d];\n", nmeas);
  }
  int mk = 0;
  for (int i = 0; i < c.nops; i++) {
    const QcOp *op = &c.ops[i];
    const int *q = qc_op_wires(op);
    if (op->g == QG_MEASURE) {
      if (e.v3) fprintf(f, "c[%d] = measure q[%d];\n", mk++, q[0]);
      else fprintf(f, "measure q[%d] -> c[%d];\n", q[0], mk++);
      continue;
    }
    fputs(gate_name(&e, op->g), f);
    if (qc_gates[op->g].nangles) {
      fputc('(', f);
      for (int k = 0; k < qc_gates[op->g].nangles; k++) {
        if (k) fputs(", ", f);
        angle(&e, &op->a[k]);
      }
      fputc(')', f);
    }
    for (int k = 0; k < op->nq; k++) fprintf(f, "%sq[%d]", k ? ", " : " ", q[k]);
    fputs(";\n", f);
  }
  for (int i = 0; i < c.nobs; i++) {
    const QcObs *ob = &c.obs[i];
    const char *nm = ob->out ? ob->out->name : "obs";
    if (ob->kind == QC_OBS_EXPVAL) {
      fprintf(f, "// expval %s =", nm);
      for (int t = 0; t < ob->nterms; t++) {
        fprintf(f, "%s %.17g*", t ? " +" : "", ob->coeffs[t]);
        for (int j = 0; j < ob->nq; j++) fprintf(f, "%c", ob->paulis[t][j]);
      }
      fprintf(f, " on q[");
      for (int j = 0; j < ob->nq; j++) fprintf(f, "%s%d", j ? "," : "", ob->q[j]);
      fprintf(f, "]\n");
    } else if (ob->kind == QC_OBS_PROBS) {
      char *r = ident(nm, 0, false);
      fprintf(f, "// probs %s: q[%d] is bit 0\n", nm, ob->nq ? ob->q[0] : 0);
      if (e.v3) fprintf(f, "bit[%d] %s;\n", ob->nq, r);
      else fprintf(f, "creg %s[%d];\n", r, ob->nq);
      for (int j = 0; j < ob->nq; j++) {
        if (e.v3) fprintf(f, "%s[%d] = measure q[%d];\n", r, j, ob->q[j]);
        else fprintf(f, "measure q[%d] -> %s[%d];\n", ob->q[j], r, j);
      }
      free(r);
    }
  }
  if (!ir_atomic_commit(&af, err, sizeof err)) {
    ir_error(d, ir_noloc, "%s", err);
    rc = -1;
  }
done:
  for (int i = 0; i < c.nparams; i++) free(e.name[i]);
  free(e.name);
  free(e.val);
  free(e.bound);
  qc_circuit_free(&c);
  return rc;
}

/* qasm_check.c - writes random effc.qc circuits as OpenQASM 2.0 through the qasm2 target
 * (its default pipeline, or the basis given) and, beside each c<k>.qasm, our probability
 * distribution c<k>.json from the state-vector simulator. check.js simulates the .qasm
 * files with npm's quantum-circuit and compares. Usage: qasm_check DIR COUNT MODE
 * (MODE: u-cx = the target's default pipeline, rz-sx = basis rz,sx,x,cx, raw = no
 * decomposition, gates quantum-circuit knows). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "frontend.h"
#include "passes.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static double urand(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return (double)(rs >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: qasm_check DIR COUNT u-cx|rz-sx|raw\n");
    return 2;
  }
  const char *dir = argv[1], *mode = argv[3];
  int count = atoi(argv[2]);
  const char *pipe = !strcmp(mode, "u-cx") ? ir_target_find("qasm2")->pipeline
                     : !strcmp(mode, "rz-sx") ? "qc-expand,qc-decompose{basis=[rz,sx,x,cx]}" : "qc-expand";
  /* raw mode: gates whose qelib1 names quantum-circuit imports */
  static const int raw[] = {QG_H, QG_X, QG_Y, QG_Z, QG_S, QG_SDG, QG_T, QG_TDG, QG_RX, QG_RY, QG_RZ,
                            QG_P, QG_U, QG_CX, QG_CY, QG_CZ, QG_SWAP, QG_CRX, QG_CRY, QG_CRZ, QG_CP, QG_CCX};
  static const int all[] = {QG_H, QG_X, QG_Y, QG_Z, QG_S, QG_SDG, QG_T, QG_TDG, QG_SX, QG_SXDG, QG_RX, QG_RY,
                            QG_RZ, QG_P, QG_U, QG_CX, QG_CY, QG_CZ, QG_SWAP, QG_CRX, QG_CRY, QG_CRZ, QG_CP,
                            QG_RXX, QG_RZZ, QG_CCX};
  const int *pool = strcmp(mode, "raw") ? all : raw;
  int npool = strcmp(mode, "raw") ? (int)(sizeof all / sizeof *all) : (int)(sizeof raw / sizeof *raw);
  for (int k = 0; k < count; k++) {
    int n = 3 + k % 3, ver[8] = {0};
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "<ir_version: 10, opset_import: [\"effc.qc\" : 1, \"\" : 21]>\ng () => (float[%d] p) {\n  ", 1 << n);
    for (int i = 0; i < n; i++) fprintf(f, "%sq%d_0", i ? ", " : "", i);
    fprintf(f, " = effc.qc.Alloc ()\n");
    for (int gi = 0; gi < 25; gi++) {
      int g = pool[(int)(urand() * npool)], nq = qc_gates[g].nq, q[3];
      q[0] = (int)(urand() * n);
      do q[1] = (int)(urand() * n); while (nq > 1 && q[1] == q[0]);
      do q[2] = (int)(urand() * n); while (nq > 2 && (q[2] == q[0] || q[2] == q[1]));
      fprintf(f, "  ");
      for (int i = 0; i < nq; i++) fprintf(f, "%sq%d_%d", i ? ", " : "", q[i], ver[q[i]] + 1);
      fprintf(f, " = effc.qc.%s (", qc_gates[g].name);
      for (int i = 0; i < nq; i++) fprintf(f, "%sq%d_%d", i ? ", " : "", q[i], ver[q[i]]);
      for (int i = 0; i < qc_gates[g].nangles; i++) fprintf(f, ", a%d_%d", gi, i);
      fprintf(f, ")\n");
      for (int i = 0; i < nq; i++) ver[q[i]]++;
      for (int i = 0; i < qc_gates[g].nangles; i++)
        fprintf(f, "  a%d_%d = Constant <value: tensor = float {%.9g}> ()\n", gi, i, urand() * 6 - 3);
    }
    fprintf(f, "  p = effc.qc.Probs (");
    for (int i = 0; i < n; i++) fprintf(f, "%sq%d_%d", i ? ", " : "", i, ver[i]);
    fprintf(f, ")\n}\n");
    fclose(f);
    Diag d;
    ir_diag_init(&d, stderr, "random", NULL, 0);
    Model *m = fe_parse("random", text, len, &d);
    PassPipeline *pp = pass_pipeline_parse(pipe, &d);
    PassRunOptions ro = {0};
    if (!m || !pp || pass_pipeline_run(m, pp, &ro, &d)) {
      fprintf(stderr, "%s", text);
      return 1;
    }
    char prefix[32], path[4096];
    snprintf(prefix, sizeof prefix, "c%d", k);
    EmitOptions eo = {.target = ir_target_find("qasm2"), .out_dir = dir, .prefix = prefix};
    if (be_emit_qasm(m, &eo, &d)) return 1;
    /* our distribution */
    QcCircuit c;
    if (qc_circuit_from_graph(m, &c, &d)) return 1;
    double *res[4];
    QcRunOptions qo = {0};
    if (qc_simulate(&c, NULL, &qo, res, &d)) return 1;
    snprintf(path, sizeof path, "%s/c%d.json", dir, k);
    FILE *j = fopen(path, "w");
    if (!j) return 1;
    fprintf(j, "[");
    for (int i = 0; i < (1 << n); i++) fprintf(j, "%s%.17g", i ? "," : "", res[0][i]);
    fprintf(j, "]\n");
    fclose(j);
    free(res[0]);
    qc_circuit_free(&c);
    pass_pipeline_free(pp);
    ir_model_free(m);
    free(text);
  }
  return 0;
}

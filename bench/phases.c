/* phases.c - times each front-end phase on one model (map, parse or import, verify, print,
 * free) in one process, best of N runs, to see where `effc opt` spends its time.
 * usage: phases FILE [N] */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 3;
  enum { MAP, LOAD, VERIFY, PRINT, FREE, NPHASE };
  static const char *const names[NPHASE] = {"map", "parse/import", "verify", "print", "free"};
  double best[NPHASE];
  for (int p = 0; p < NPHASE; p++) best[p] = 1e30;
  FILE *null = fopen("/dev/null", "w");
  static char buf[1 << 20];
  setvbuf(null, buf, _IOFBF, sizeof buf);
  for (int r = 0; r < runs; r++) {
    double t[NPHASE + 1];
    char err[512];
    MappedFile f;
    Diag d;
    t[0] = now();
    if (!ir_file_map(argv[1], &f, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    t[1] = now();
    ir_diag_init(&d, stderr, argv[1], (const char *)f.data, f.len);
    Model *m = fe_sniff_text(f.data, f.len) ? fe_parse(argv[1], (const char *)f.data, f.len, &d)
                                            : fe_onnx_import(f.data, f.len, argv[1], &d);
    if (!m) return 1;
    t[2] = now();
    if (ir_verify(m, &d)) return 1;
    t[3] = now();
    ir_print_model(null, m, NULL);
    fflush(null);
    t[4] = now();
    ir_model_free(m);
    ir_file_unmap(&f);
    t[5] = now();
    for (int p = 0; p < NPHASE; p++)
      if (t[p + 1] - t[p] < best[p]) best[p] = t[p + 1] - t[p];
  }
  double total = 0;
  for (int p = 0; p < NPHASE; p++) {
    printf("%-13s %8.3f s\n", names[p], best[p]);
    total += best[p];
  }
  printf("%-13s %8.3f s\n", "total", total);
  return 0;
}

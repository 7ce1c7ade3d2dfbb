/* fuzz_coupling.c - libFuzzer harness for qc-route's coupling maps: the spec string
 * ("grid:RxC", ...) and the edge-list file. Whatever parses must be a consistent distance
 * matrix: zero on the diagonal, symmetric, 1 exactly on edges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "passes.h"

static void check(const QcCoupling *cm) {
  int n = cm->n;
  if (n < 1 || n > QC_MAX_PHYS) abort();
  for (int i = 0; i < n; i++) {
    if (cm->dist[i * n + i] != 0) abort();
    for (int j = 0; j < n; j++) {
      if (cm->dist[i * n + j] != cm->dist[j * n + i]) abort();
      if ((cm->dist[i * n + j] == 1) != (cm->adj[i * n + j] != 0)) abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  char err[512];
  QcCoupling cm;
  if (data[0] & 1) { /* a spec string */
    char *spec = malloc(size);
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = 0;
    if (strncmp(spec, "file:", 5) && qc_coupling_parse(spec, &cm, err, sizeof err)) {
      check(&cm);
      qc_coupling_free(&cm);
    }
    free(spec);
    return 0;
  }
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_coupling.%d", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data + 1, 1, size - 1, f);
  fclose(f);
  char spec[80];
  snprintf(spec, sizeof spec, "file:%s", path);
  if (qc_coupling_parse(spec, &cm, err, sizeof err)) {
    check(&cm);
    qc_coupling_free(&cm);
  }
  return 0;
}

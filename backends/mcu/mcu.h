/* mcu.h - the MCU backend (Cortex-M4/M7 with DSP, Cortex-M55 with Helium): integer graphs to
 * allocation-free C with const weights (flash) and one static arena (the planner's offsets).
 * mcu.c analyses the graph (which kernel each layer gets, its constant tables and their flash
 * bytes) and writes model.c, model.h and model_report.txt; `effc stats --target` reads the
 * same analysis before anything is built (be_mcu_analyze). */
#ifndef EFFC_MCU_H
#define EFFC_MCU_H

#include "backends.h"

typedef struct McuLayer {
  const Node *n;
  const char *kernel;  /* "conv3x3", "conv1x1", "convKxK", "depthwise", "fc", "maxpool", ... */
  uint64_t flash;      /* bytes of this layer's constant tables (weights, bias, multipliers) */
  uint64_t scratch;    /* bytes of the int16 column buffer it needs (shared by all layers) */
  char *tables;        /* emitted C: the layer's static const tables (malloc'd) */
  char *code;          /* emitted C: the layer's statements in run() (malloc'd) */
} McuLayer;

typedef struct McuModel {
  McuLayer *layers; /* one per node of the main graph, graph order (constant nodes: kernel NULL) */
  int n_layers;
  uint64_t flash;   /* sum of the layers' flash */
  uint64_t scratch; /* the largest column buffer */
} McuModel;

/* Analyse every node of m's main graph (types inferred, shapes static) for target t; with
 * sig (the run() signature) also write each layer's code. Reports every node the backend
 * cannot compile, naming it; returns 0 or the number of nodes reported. */
int be_mcu_analyze(const Model *m, const Target *t, const BeSignature *sig, McuModel *mm, Diag *d);
void be_mcu_free(McuModel *mm);

/* A requantization multiplier (float32, >= 0) as m * 2^-sh with m < 2^24 and 1 <= sh <= 54,
 * for mk_rq (mcu_kern.c); `bound` bounds |accumulator|: a multiplier too small for int64
 * (shift > 54) whose outputs can never leave the zero point (bound * mult <= 1/4) becomes 0;
 * false for the rest. See docs/mcu.md. */
bool be_mcu_split_mult(float mult, int64_t bound, int32_t *m, int8_t *sh);

#endif

/* calib.h - calibration: run a model through the reference interpreter over samples read
 * from .npy files, in batches, and collect statistics of its values through
 * RtOptions.observe: min/max, histograms (for percentile, entropy/KL and MSE range choices)
 * or anything a caller's callback accumulates (e.g. X^T X of a MatMul's input for GPTQ).
 * Used by `quantize` and the INT4 passes. */
#ifndef EFFC_CALIB_H
#define EFFC_CALIB_H

#include "passes.h"
#include "runtime.h"

/* ------------------------------------------------------------------ calib.c */
/* The calibration inputs: one tensor per main-graph input, rows along dim 0 are samples
 * (NULL: the input has an initializer and keeps it). */
typedef struct CalibSet {
  RtValue **inputs; /* m->graph->n_inputs entries */
  int n_inputs;
  int64_t samples;  /* rows used (the smallest row count, capped by `samples`) */
} CalibSet;

/* Load the set from `spec`: "X.npy" (the model's only input without an initializer), or
 * "[name=X.npy,name2=Y.npy]" / "name=X.npy,..." for several inputs. Each file's element type
 * must be the input's; at most `samples` rows are used (0: all). Relative paths are taken
 * as given (the current directory). 0, or -1 after reporting (file and input named). */
int calib_set_load(const Model *m, const char *spec, int64_t samples, CalibSet *s, Diag *d);
void calib_set_free(CalibSet *s);

/* The per-node hook: the node, its inputs (NULL for absent ones) and outputs, borrowed. */
typedef void (*CalibObserve)(void *ctx, const Node *n, RtValue *const *ins,
                             RtValue *const *outs);

/* Run rows [start, start+count) of the set through an interpreter made for m (observe
 * hooks already in its options). outs (m->graph->n_outputs slots) receives the outputs
 * (caller unrefs), or is NULL. 0, or -1 after reporting. */
int calib_run_rows(RtInterp *ip, const Model *m, const CalibSet *s, int64_t start,
                   int64_t count, RtValue **outs);
/* The whole set in batches of `batch` rows (0: all at once), calling fn after every node.
 * 0, or -1 after reporting. */
int calib_run(Model *m, const CalibSet *s, int64_t batch, CalibObserve fn, void *ctx, Diag *d);

/* Statistics of one float value over every element it took on the set. */
#define CALIB_BINS 2048 /* histogram bins on each side of zero */
typedef struct CalibHist {
  double min, max; /* over all elements (NaN skipped) */
  double amax;     /* the histogram's range is [-amax, amax], 2 * CALIB_BINS bins */
  uint64_t count;
  double *bins;    /* NULL until the histogram pass; bins[CALIB_BINS + i] covers
                      [i, i+1) * amax / CALIB_BINS, bins[CALIB_BINS - 1 - i] its mirror */
} CalibHist;

/* Per value (indexed by Value id) statistics. */
typedef struct CalibStats {
  CalibHist **v; /* NULL where not collected */
  uint32_t n;
} CalibStats;

/* Collect statistics of the float tensor values with want[id] (NULL: every value produced
 * by a node of the main graph and every main-graph input; those that turn out not to be
 * float tensors keep count 0 and no histogram): min/max over the set, then (when `hist`) a
 * second run for histograms over [-amax, amax]. 0, or -1. */
int calib_collect(Model *m, const CalibSet *s, int64_t batch, const bool *want, bool hist,
                  CalibStats *st, Diag *d);
void calib_stats_free(CalibStats *st);
/* Add the elements of a float tensor to h's min/max (hist false) or histogram (true). */
void calib_hist_add(CalibHist *h, const RtValue *v, bool hist);

/* How a range is chosen from the statistics. */
typedef enum { CALIB_MINMAX, CALIB_PERCENTILE, CALIB_ENTROPY, CALIB_MSE } CalibMethod;
bool calib_method_parse(const char *s, CalibMethod *m);
/* The quantization grid the range is for: `levels` integer steps (255 for 8 bits with
 * qmin..qmax = 0..255 or -128..127, 254 for symmetric -127..127); sym: the range is [-t, t].
 * minmax: [min, max]; percentile: the pct-th percentile of |x| when sym, else the
 * (100-pct)-th and pct-th percentiles of x; entropy: TensorRT's KL-divergence threshold
 * search on the |x| histogram (a non-negative value uses [0, t], a signed asymmetric one
 * [max(min,-t), min(max,t)]); mse: the clipping of [min, max] (or [-amax, amax]) with the
 * least expected squared quantization error on the histogram. The range always contains 0
 * and is never empty (*lo < *hi). Methods other than minmax need the histogram. */
void calib_range(const CalibHist *h, CalibMethod m, double pct, bool sym, int levels,
                 double *lo, double *hi);

#endif

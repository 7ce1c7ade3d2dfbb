/* eval.h - model evaluation on data sets, over the reference interpreter: top-1 accuracy,
 * perplexity of token models and the SQNR of one model's output against another's. The
 * driver's `effc eval` and the lossy passes (which report what they cost) call it. Inputs
 * are split along dim 0 into batches of `batch` rows (0: all rows at once); the model's
 * first graph input receives each batch, its other inputs must have initializers. Errors
 * are reported through d (one line naming the model value or the data) and return -1. */
#ifndef EFFC_EVAL_H
#define EFFC_EVAL_H

#include "runtime.h"

/* Rows [start, start+count) of x along dim 0 (a new tensor). */
RtValue *rt_rows(const RtValue *x, int64_t start, int64_t count);
/* Top-1 accuracy of output 0 (argmax over the last dim) against int labels. */
int rt_eval_top1(Model *m, const RtValue *x, const RtValue *labels, int64_t batch,
                 double *acc, Diag *d);
/* Perplexity of a token model: exp(mean NLL of tokens[:,t+1] under logits[:,t]). */
int rt_eval_perplexity(Model *m, const RtValue *tokens, int64_t batch, double *ppl, Diag *d);
/* SQNR in dB of output 0 of `test` against `ref` on x: 10 log10(sum ref^2 / sum (ref-test)^2). */
int rt_eval_sqnr(Model *ref, Model *test, const RtValue *x, int64_t batch, double *db, Diag *d);

#endif

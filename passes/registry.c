/* registry.c - the pass registry: one row per pass (each defined at the end of its own
 * file), option defaults and counters, and --list-passes (text or markdown for the docs). */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

const Pass *const pass_registry[] = {
    &pass_shape_infer, &pass_fold, &pass_dce,    &pass_identity_elim,
    &pass_fold_bn,     &pass_fuse, &pass_inline, &pass_plan, &pass_qdq_fuse, &pass_quantize,
    &pass_qc_expand,   &pass_qc_decompose, &pass_qc_resynth, &pass_qc_cancel,
    &pass_qc_merge,    &pass_qc_route,     &pass_qc_zne,
};
const int pass_registry_n = (int)(sizeof pass_registry / sizeof pass_registry[0]);

const Pass *pass_find(const char *name) {
  for (int i = 0; i < pass_registry_n; i++)
    if (!strcmp(pass_registry[i]->name, name)) return pass_registry[i];
  return NULL;
}

static const char *const type_names[] = {"int", "float", "string", "list"};

void pass_list(FILE *out, bool markdown) {
  if (markdown) {
    fprintf(out, "| pass | summary |\n| --- | --- |\n");
    for (int i = 0; i < pass_registry_n; i++)
      fprintf(out, "| `%s` | %s |\n", pass_registry[i]->name, pass_registry[i]->summary);
    for (int i = 0; i < pass_registry_n; i++) {
      const Pass *p = pass_registry[i];
      fprintf(out, "\n### `%s`\n\n%c%s. %s\n", p->name,
              p->summary[0] >= 'a' && p->summary[0] <= 'z' ? p->summary[0] - 32 : p->summary[0],
              p->summary + 1, p->details ? p->details : "");
      if (p->requires & PASS_REQ_SHAPES) fprintf(out, "\nRuns shape inference first.\n");
      if (p->requires & PASS_REQ_KERNELS)
        fprintf(out, "\nRuns the reference interpreter's kernels.\n");
      if (!p->n_opts) continue;
      fprintf(out, "\n| option | type | default | meaning |\n| --- | --- | --- | --- |\n");
      for (int k = 0; k < p->n_opts; k++)
        fprintf(out, "| `%s` | %s | `%s` | %s |\n", p->opts[k].name, type_names[p->opts[k].type],
                p->opts[k].dflt, p->opts[k].help);
    }
    return;
  }
  fprintf(out, "passes (pipeline syntax: name{key=value,...},name2):\n");
  for (int i = 0; i < pass_registry_n; i++) {
    const Pass *p = pass_registry[i];
    fprintf(out, "  %-16s %s\n", p->name, p->summary);
    for (int k = 0; k < p->n_opts; k++) {
      char head[96];
      snprintf(head, sizeof head, "%s=<%s>", p->opts[k].name, type_names[p->opts[k].type]);
      fprintf(out, "    %-26s %s (default %s)\n", head, p->opts[k].help, p->opts[k].dflt);
    }
  }
}

static const PassOptSpec *spec(const Pass *p, const char *name) {
  for (int k = 0; k < p->n_opts; k++)
    if (!strcmp(p->opts[k].name, name)) return &p->opts[k];
  return NULL;
}

const char *pass_opt_str(const PassOptions *o, const char *name) {
  for (int i = 0; i < o->n; i++)
    if (!strcmp(o->keys[i], name)) return o->values[i];
  const PassOptSpec *s = o->pass ? spec(o->pass, name) : NULL;
  return s ? s->dflt : "";
}

int64_t pass_opt_int(const PassOptions *o, const char *name) {
  return strtoll(pass_opt_str(o, name), NULL, 0);
}

double pass_opt_float(const PassOptions *o, const char *name) {
  return strtod(pass_opt_str(o, name), NULL);
}

void pass_stat(PassCtx *c, const char *name, int64_t n) {
  for (int i = 0; i < c->n_stats; i++)
    if (!strcmp(c->stat_names[i], name)) {
      c->stats[i] += n;
      return;
    }
  if (c->n_stats == PASS_MAX_STATS) return;
  c->stat_names[c->n_stats] = name;
  c->stats[c->n_stats++] = n;
}

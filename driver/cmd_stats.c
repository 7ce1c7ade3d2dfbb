/* cmd_stats.c - `effc stats`: per-layer and total parameters, MACs and activation memory,
 * with peak activation memory under a naive plan (every tensor its own buffer for the whole
 * run), the live set (a tensor lives from its producer to its last reader) and the memory
 * planner's arena (pass `plan`, run on the model without changing it). Shapes come from
 * shape inference; layers whose shapes stay unknown are marked and left out of sums. */
#include "driver.h"
#include "mcu.h"
#include "passes.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv);

const Command cmd_stats = {
    "stats", "parameters, MACs and activation memory per layer",
    "usage: effc stats [options] MODEL\n"
    "\n"
    "Infer shapes, then print one row per node of the main graph: operator, output shape,\n"
    "parameters (elements of floating-point initializers the node reads), MACs (one\n"
    "multiply-add each; Conv, ConvTranspose, Gemm, MatMul and their quantized forms) and\n"
    "output activation bytes, and where the memory planner puts the output (arena offset and\n"
    "bytes; '*' marks an output that took its input's buffer in place); then the totals, with\n"
    "peak activation memory under a naive plan (every activation its own buffer: the sum of\n"
    "all), the live set (a tensor lives from its producer to its last reader, in graph\n"
    "order; the peak of the live set, without in-place reuse) and the planner's arena (pass\n"
    "`plan`: best-fit placement with in-place reuse, graph inputs and outputs placed in the\n"
    "same arena so the peak compares with the others; `arena` alone is what `effc compile`\n"
    "allocates, inputs and outputs being the caller's). Graph inputs count as activations;\n"
    "initializers do not. Symbolic dimensions must be bound first (--dim N=1 or --shape\n"
    "x=1,3,224,224), else rows with unknown shapes show '?' and are left out of the sums.\n"
    "\n"
    "options:\n"
    "  --json              print one JSON object: {\"layers\": [...], \"total\": {params, macs,\n"
    "                      activation_bytes, peak_naive_bytes, peak_planned_bytes, ...}}\n"
    "  --target T          plan with T's buffer alignment (default: generic's, 64 bytes) and\n"
    "                      check the peak and the weights against T's SRAM and flash sizes;\n"
    "                      for an MCU target (cortex-m4, cortex-m7, cortex-m55) also, after the\n"
    "                      target's pipeline, each layer's kernel, flash and output bytes as\n"
    "                      `effc compile` will emit them, the SRAM the compiled model needs\n"
    "                      (arena + column buffer) and a TFLM-style baseline plan (text only)\n"
    "  --dim NAME=N        bind symbolic dimension NAME to N everywhere (repeatable)\n"
    "  --shape NAME=D,D,.. set graph input NAME's shape (repeatable)\n"
    "  -h, --help          show this help\n"
    "\n"
    "examples:\n"
    "  effc stats examples/resnet18.onnxtxt\n"
    "  effc stats examples/mobilenet_v2.onnxtxt --json\n"
    "  effc stats examples/cnn.onnxtxt --target cortex-m4\n",
    run,
};

typedef struct Layer {
  const Node *n;
  uint64_t params, macs, act_bytes;
  bool known;
  int64_t offset;      /* output 0's arena offset, -1 = not in the arena */
  uint64_t plan_bytes; /* bytes of the outputs in the arena */
  bool inplace;        /* output 0 took an input's buffer */
} Layer;

/* What `effc compile --target T` emits for an MCU target, before anything is built: the
 * model loaded again, specialized the same way, through T's pipeline (fold, plan, ...), then
 * the MCU backend's analysis (kernels, flash per layer, column buffer), the planner's arena
 * and a TFLM-style baseline plan (greedy by size, no in-place). Prints its section, or the
 * first problem when the model does not compile. */
static void mcu_section(const char *path, const Target *t, const char **shapes, int ns,
                        const char **dims, int nd) {
  char *buf = NULL;
  size_t len = 0;
  FILE *sink = open_memstream(&buf, &len);
  Diag q;
  ir_diag_init(&q, sink, NULL, NULL, 0);
  Diag pd;
  ir_diag_init(&pd, sink, t->name, t->pipeline, strlen(t->pipeline));
  PassPipeline *pp = pass_pipeline_parse(t->pipeline, &pd);
  Model *m = pp ? drv_load(path) : NULL;
  PassRunOptions ro = {0};
  bool ok = m && drv_specialize(m, shapes, ns, dims, nd, &q) == 0 && ir_external_load_all(m, &q) &&
            pass_pipeline_run(m, pp, &ro, &q) == 0;
  McuModel mm = {0};
  ok = ok && be_mcu_analyze(m, t, NULL, &mm, &q) == 0;
  PlanOptions po = {PLAN_BEST, (uint64_t)t->align, true, false, true};
  ModelPlan p, b;
  uint64_t arena = 0, base = 0;
  if (ok && pass_plan_model(m, &po, &p, &q) == 0) {
    arena = p.arena_bytes;
    pass_plan_free(&p);
    po.strategy = PLAN_GREEDY;
    po.inplace = po.inplace_dw = false;
    if (pass_plan_model(m, &po, &b, &q) == 0) {
      base = b.arena_bytes;
      pass_plan_free(&b);
    }
  }
  fclose(sink);
  if (ok) {
    uint64_t col = (mm.scratch + 3) / 4 * 4;
    printf("\n%s (effc compile --target %s: the model after the target's pipeline):\n"
           "%-32s %-20s %-14s %12s %12s\n", t->name, t->name, "layer", "op", "kernel",
           "flash bytes", "SRAM bytes");
    for (int i = 0; i < mm.n_layers; i++) {
      const McuLayer *l = &mm.layers[i];
      if (!l->kernel) continue;
      char nm[32];
      snprintf(nm, sizeof nm, "#%u", (unsigned)l->n->id);
      uint64_t out = 0;
      const Value *v = l->n->outputs[0];
      uint64_t k;
      size_t by = 0;
      if (v && v->type && ir_type_numel(v->type, &k) && ir_elem_nbytes(v->type->elem, k, &by)) out = by;
      printf("%-32.32s %-20.20s %-14s %12llu %12llu\n", l->n->name && *l->n->name ? l->n->name : nm,
             l->n->op_type, l->kernel, (unsigned long long)l->flash, (unsigned long long)out);
    }
    printf("flash: %llu bytes of constants (weights, biases, requantization tables; code not "
           "counted), part %d KB: %s\n", (unsigned long long)mm.flash, t->flash_kb,
           mm.flash <= (uint64_t)t->flash_kb * 1024 ? "fits" : "does NOT fit");
    printf("SRAM: %llu bytes = arena %llu (the planner's peak) + column buffer %llu; inputs and "
           "outputs are the caller's; part %d KB: %s\n", (unsigned long long)(arena + col),
           (unsigned long long)arena, (unsigned long long)col, t->sram_kb,
           arena + col <= (uint64_t)t->sram_kb * 1024 ? "fits" : "does NOT fit");
    if (base)
      printf("baseline (TFLM-style plan: greedy by size, no in-place): arena %llu bytes; ours "
             "%llu (%.2fx)\n", (unsigned long long)base, (unsigned long long)arena,
             arena ? (double)base / (double)arena : 0.0);
  } else {
    const char *msg = buf && strstr(buf, "error: ") ? strstr(buf, "error: ") + 7 : "";
    printf("\n%s: the model does not compile: %.*s\n", t->name, (int)strcspn(msg, "\n"), msg);
  }
  be_mcu_free(&mm);
  if (m) drv_model_done(m);
  if (pp) pass_pipeline_free(pp);
  free(buf);
}

/* Bytes of an initializer's data as its dims say (weightless models have no data). */
static uint64_t init_bytes(const Value *v) {
  uint64_t n;
  size_t b;
  if (v->init && ir_tensor_numel(v->init, &n) && ir_elem_nbytes(v->init->elem, n, &b)) return b;
  return 0;
}

/* The planner's arena for the whole main graph: without graph inputs and outputs (what
 * `effc compile` allocates) and with them (comparable with the naive sum). Fills the
 * layers' offsets. false (with the reason in why) when the graph cannot be planned. */
static bool plan_layers(const Model *m, const Target *t, Layer *L, uint64_t *arena, uint64_t *peak,
                        int *inplace, char *why, size_t why_len) {
  char *buf = NULL;
  size_t len = 0;
  FILE *sink = open_memstream(&buf, &len);
  Diag q;
  ir_diag_init(&q, sink, NULL, NULL, 0);
  PlanOptions po = {PLAN_BEST, (uint64_t)t->align, true, false, false};
  ModelPlan p;
  bool ok = pass_plan_model(m, &po, &p, &q) == 0;
  if (ok) {
    *arena = p.arena_bytes;
    pass_plan_free(&p);
    po.io = true;
    ok = pass_plan_model(m, &po, &p, &q) == 0;
  }
  fclose(sink);
  if (!ok) {
    /* the first message, without the location */
    const char *msg = buf && strstr(buf, "error: ") ? strstr(buf, "error: ") + 7 : "";
    snprintf(why, why_len, "%.*s", (int)strcspn(msg, "\n"), msg);
    free(buf);
    return false;
  }
  free(buf);
  *peak = p.arena_bytes;
  *inplace = p.n_inplace;
  for (size_t i = 0; i < m->graph->nodes.n; i++) {
    const Node *n = m->graph->nodes.v[i];
    L[i].offset = n->n_outputs && n->outputs[0] ? p.offset[n->outputs[0]->id] : -1;
    L[i].inplace = n->n_outputs && n->outputs[0] && p.inplace[n->outputs[0]->id];
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] && p.offset[n->outputs[k]->id] >= 0) L[i].plan_bytes += p.bytes[n->outputs[k]->id];
  }
  pass_plan_free(&p);
  return true;
}

/* Bytes of a value's tensor type when fully known. */
static bool value_bytes(const Value *v, uint64_t *out) {
  uint64_t n;
  size_t b;
  if (!v || !v->type || v->type->kind != TYPE_TENSOR || !ir_type_numel(v->type, &n) ||
      !ir_elem_nbytes(v->type->elem, n, &b))
    return false;
  *out = b;
  return true;
}

static bool is_param(const Value *v) {
  return v && (v->init || v->sparse_init) && ir_elem(v->init ? v->init->elem : v->sparse_init->values->elem)->is_float;
}

static uint64_t param_elems(const Value *v) {
  uint64_t n = 0;
  if (v->init) ir_tensor_numel(v->init, &n);
  else if (v->sparse_init) {
    n = 1;
    for (int i = 0; i < v->sparse_init->rank; i++) n *= (uint64_t)v->sparse_init->dims[i];
  }
  return n;
}

/* MACs of one node: its inference rule run again on the now known input types. */
static uint64_t node_macs(const Node *n, Arena *a, Diag *d) {
  if (!n->op || !n->op->infer) return 0;
  const Type **in = ir_arena_alloc(a, (size_t)(n->n_inputs + 1) * sizeof *in);
  const Tensor **data = ir_arena_alloc(a, (size_t)(n->n_inputs + 1) * sizeof *data);
  Type **out = ir_arena_alloc(a, (size_t)(n->n_outputs + 1) * sizeof *out);
  for (int i = 0; i < n->n_inputs; i++) {
    in[i] = n->inputs[i] ? n->inputs[i]->type : NULL;
    data[i] = n->inputs[i] && n->inputs[i]->init && n->inputs[i]->init->has_data ? n->inputs[i]->init : NULL;
  }
  InferCtx c = {n, n->op, in, data, out, a, d, 0};
  return n->op->infer(&c) == 0 ? c.macs : 0;
}

static void print_shape(char *buf, size_t len, const Value *v) {
  if (!v || !v->type) snprintf(buf, len, "?");
  else ir_type_to_str(v->type, buf, len);
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"dim", required_argument, NULL, 'd'},
                                           {"shape", required_argument, NULL, 's'},
                                           {"target", required_argument, NULL, 't'},
                                           {NULL, 0, NULL, 0}};
  const Target *target = ir_target_find("generic");
  bool json = false;
  const char **dims = calloc((size_t)argc + 1, sizeof *dims), **shapes = calloc((size_t)argc + 1, sizeof *shapes);
  int nd = 0, ns = 0, ch, rc = -1;
  optind = 1;
  opterr = 0;
  while (rc < 0 && (ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h': drv_print_help(&cmd_stats); rc = EXIT_OK; break;
    case 'j': json = true; break;
    case 'd': dims[nd++] = optarg; break;
    case 's': shapes[ns++] = optarg; break;
    case 't':
      target = ir_target_resolve(ir_target_find(optarg));
      if (!target) rc = drv_usage_error("stats", "unknown target '%s'", optarg);
      break;
    case ':': rc = drv_usage_error("stats", "option '%s' needs a value", argv[optind - 1]); break;
    default: rc = drv_usage_error("stats", "unknown option '%s'", argv[optind - 1]); break;
    }
  }
  if (rc < 0 && optind >= argc) rc = drv_usage_error("stats", "no MODEL given");
  if (rc < 0 && optind + 1 < argc) rc = drv_usage_error("stats", "more than one MODEL given");
  /* ir_infer_model below checks declared types itself: no separate check at load */
  drv_type_check = false;
  Model *m = rc < 0 ? drv_load(argv[optind]) : NULL;
  if (rc < 0 && !m) rc = EXIT_USER;
  if (rc >= 0) {
    free(dims);
    free(shapes);
    return rc;
  }
  Diag d;
  ir_diag_init(&d, stderr, argv[optind], NULL, 0);
  rc = EXIT_OK;
  for (int i = 0; i < nd && rc == EXIT_OK; i++)
    if (pass_bind_dim(m, dims[i], &d) != 0) rc = EXIT_USER;
  for (int i = 0; i < ns && rc == EXIT_OK; i++)
    if (pass_set_input_shape(m, shapes[i], &d) != 0) rc = EXIT_USER;
  if (rc == EXIT_OK && ir_infer_model(m, &d) != 0) rc = EXIT_USER;
  if (rc != EXIT_OK) {
    free(dims);
    free(shapes);
    drv_model_done(m);
    return rc;
  }

  const Graph *g = m->graph;
  size_t nn = g->nodes.n;
  Layer *L = calloc(nn + 1, sizeof *L);
  uint32_t nval = m->next_value_id;
  int32_t *last = malloc((nval + 1) * sizeof *last); /* last reader's position, by value id */
  bool *counted = calloc(nval + 1, sizeof *counted);
  for (uint32_t i = 0; i < nval; i++) last[i] = -1;
  Arena scratch;
  ir_arena_init(&scratch);
  uint64_t t_params = 0, t_macs = 0, t_act = 0, naive = 0, live = 0, peak = 0;
  int unknown = 0;
  for (size_t i = 0; i < nn; i++) {
    const Node *n = g->nodes.v[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] && n->inputs[k]->id < nval) last[n->inputs[k]->id] = (int32_t)i;
  }
  for (int k = 0; k < g->n_outputs; k++)
    if (g->outputs[k] && g->outputs[k]->id < nval) last[g->outputs[k]->id] = (int32_t)nn;
  /* graph inputs (not initializers) are live from the start */
  for (int k = 0; k < g->n_inputs; k++) {
    uint64_t b;
    const Value *v = g->inputs[k];
    if (v && !v->init && !v->sparse_init && value_bytes(v, &b)) naive += b, live += b;
  }
  peak = live;
  for (size_t i = 0; i < nn; i++) {
    const Node *n = g->nodes.v[i];
    Layer *l = &L[i];
    l->n = n;
    l->known = true;
    for (int k = 0; k < n->n_inputs; k++) {
      const Value *v = n->inputs[k];
      if (!is_param(v)) continue;
      l->params += param_elems(v);
      if (v->id < nval && !counted[v->id]) counted[v->id] = true, t_params += param_elems(v);
    }
    l->macs = node_macs(n, &scratch, &d);
    for (int k = 0; k < n->n_outputs; k++) {
      uint64_t b;
      if (!n->outputs[k]) continue;
      if (value_bytes(n->outputs[k], &b)) {
        l->act_bytes += b;
        live += b;
      } else {
        l->known = false;
      }
    }
    peak = live > peak ? live : peak;
    /* release what this node read for the last time, and outputs nobody reads */
    for (int k = 0; k < n->n_inputs; k++) {
      const Value *v = n->inputs[k];
      uint64_t b;
      bool dup = false;
      for (int j = 0; j < k; j++) dup = dup || n->inputs[j] == v;
      if (v && !dup && !v->init && !v->sparse_init && v->id < nval && last[v->id] == (int32_t)i &&
          value_bytes(v, &b))
        live -= b;
    }
    for (int k = 0; k < n->n_outputs; k++) {
      const Value *v = n->outputs[k];
      uint64_t b;
      if (v && v->id < nval && last[v->id] < 0 && value_bytes(v, &b)) live -= b;
    }
    if (!l->known) unknown++;
    t_macs += l->macs;
    t_act += l->act_bytes;
  }
  naive += t_act;
  uint64_t weights = 0, arena = 0, planned = 0;
  int n_inplace = 0;
  for (size_t i = 0; i < g->initializers.n; i++)
    if (g->initializers.v[i] && g->initializers.v[i]->uses) weights += init_bytes(g->initializers.v[i]);
  for (size_t i = 0; i < nn; i++) L[i].offset = -1;
  char why[256] = "shapes unknown";
  bool has_plan = !unknown && plan_layers(m, target, L, &arena, &planned, &n_inplace, why, sizeof why);
  bool mcu = !strcmp(target->emitter, "mcu") && !unknown;
  char plan_desc[64];
  snprintf(plan_desc, sizeof plan_desc, "best fit, align %d, target %s", target->align, target->name);

  if (json) {
    cJSON *root = cJSON_CreateObject(), *layers = cJSON_AddArrayToObject(root, "layers");
    for (size_t i = 0; i < nn; i++) {
      const Layer *l = &L[i];
      cJSON *o = cJSON_CreateObject();
      char shape[256], nm[32];
      snprintf(nm, sizeof nm, "#%zu", i);
      cJSON_AddStringToObject(o, "name", l->n->name ? l->n->name : nm);
      cJSON_AddStringToObject(o, "op", l->n->op_type);
      print_shape(shape, sizeof shape, l->n->n_outputs ? l->n->outputs[0] : NULL);
      cJSON_AddStringToObject(o, "output", shape);
      cJSON_AddNumberToObject(o, "params", (double)l->params);
      cJSON_AddNumberToObject(o, "macs", (double)l->macs);
      if (l->known) cJSON_AddNumberToObject(o, "activation_bytes", (double)l->act_bytes);
      else cJSON_AddNullToObject(o, "activation_bytes");
      if (l->offset >= 0) cJSON_AddNumberToObject(o, "arena_offset", (double)l->offset);
      else cJSON_AddNullToObject(o, "arena_offset");
      cJSON_AddNumberToObject(o, "arena_bytes", (double)l->plan_bytes);
      cJSON_AddBoolToObject(o, "in_place", l->inplace);
      cJSON_AddItemToArray(layers, o);
    }
    cJSON *t = cJSON_AddObjectToObject(root, "total");
    cJSON_AddNumberToObject(t, "params", (double)t_params);
    cJSON_AddNumberToObject(t, "macs", (double)t_macs);
    cJSON_AddNumberToObject(t, "activation_bytes", (double)t_act);
    cJSON_AddNumberToObject(t, "peak_naive_bytes", (double)naive);
    if (has_plan) cJSON_AddNumberToObject(t, "peak_planned_bytes", (double)planned);
    else cJSON_AddNullToObject(t, "peak_planned_bytes");
    cJSON_AddNumberToObject(t, "peak_live_bytes", (double)peak);
    if (has_plan) cJSON_AddNumberToObject(t, "arena_bytes", (double)arena);
    else cJSON_AddNullToObject(t, "arena_bytes");
    cJSON_AddNumberToObject(t, "in_place", n_inplace);
    cJSON_AddNumberToObject(t, "weight_bytes", (double)weights);
    cJSON_AddNumberToObject(t, "unknown_shapes", unknown);
    cJSON *tg = cJSON_AddObjectToObject(root, "target");
    cJSON_AddStringToObject(tg, "name", target->name);
    cJSON_AddNumberToObject(tg, "align", target->align);
    if (target->sram_kb) cJSON_AddNumberToObject(tg, "sram_bytes", target->sram_kb * 1024.0);
    else cJSON_AddNullToObject(tg, "sram_bytes");
    if (target->flash_kb) cJSON_AddNumberToObject(tg, "flash_bytes", target->flash_kb * 1024.0);
    else cJSON_AddNullToObject(tg, "flash_bytes");
    char *s = cJSON_Print(root);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(root);
  } else {
    printf("%-32s %-20s %-22s %12s %15s %14s %12s %12s\n", "layer", "op", "output", "params", "MACs",
           "act. bytes", "offset", "arena bytes");
    for (size_t i = 0; i < nn; i++) {
      const Layer *l = &L[i];
      char shape[256], nm[32], act[32];
      snprintf(nm, sizeof nm, "#%zu", i);
      print_shape(shape, sizeof shape, l->n->n_outputs ? l->n->outputs[0] : NULL);
      char off[32];
      if (l->known) snprintf(act, sizeof act, "%llu", (unsigned long long)l->act_bytes);
      else snprintf(act, sizeof act, "?");
      if (l->offset >= 0) snprintf(off, sizeof off, "%lld%s", (long long)l->offset, l->inplace ? "*" : "");
      else snprintf(off, sizeof off, "-");
      printf("%-32.32s %-20.20s %-22.22s %12llu %15llu %14s %12s %12llu\n", l->n->name ? l->n->name : nm,
             l->n->op_type, shape, (unsigned long long)l->params, (unsigned long long)l->macs, act, off,
             (unsigned long long)l->plan_bytes);
    }
    printf("\ntotal: %zu layers, %llu params, %llu MACs (%.3f G)\n", nn, (unsigned long long)t_params,
           (unsigned long long)t_macs, (double)t_macs / 1e9);
    printf("activations: %llu bytes; peak %llu bytes naive, %llu bytes live at once (%.2fx less)\n",
           (unsigned long long)t_act, (unsigned long long)naive, (unsigned long long)peak,
           peak ? (double)naive / (double)peak : 0.0);
    if (has_plan)
      printf("planned (%s): peak %llu bytes with inputs and outputs, arena %llu bytes without; "
             "%d in place (*)\n",
             plan_desc, (unsigned long long)planned, (unsigned long long)arena, n_inplace);
    else printf("planned: none (%s)\n", why);
    printf("weights: %llu bytes\n", (unsigned long long)weights);
    if (mcu) mcu_section(argv[optind], target, shapes, ns, dims, nd);
    if (target->sram_kb)
      printf("target %s: SRAM %d KB (%s), flash %d KB (weights %s)\n", target->name, target->sram_kb,
             !has_plan ? "peak unknown" : planned <= (uint64_t)target->sram_kb * 1024 ? "peak fits" : "peak does NOT fit",
             target->flash_kb, weights <= (uint64_t)target->flash_kb * 1024 ? "fit" : "do NOT fit");
    if (unknown)
      printf("%d layer%s with unknown output shapes left out (bind symbolic dims with --dim/--shape)\n",
             unknown, unknown == 1 ? "" : "s");
  }
  ir_arena_free(&scratch);
  free(dims);
  free(shapes);
  free(L);
  free(last);
  free(counted);
  drv_model_done(m);
  return EXIT_OK;
}

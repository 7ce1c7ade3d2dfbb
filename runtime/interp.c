/* interp.c - the reference interpreter: runs a Model node by node on the kernels of the
 * operator table. Values live in frames (one per graph run, indexed by Value.id); a
 * subgraph's frame sees its enclosing frames, a function body's frame sees only its
 * arguments. Each value is released after its last use. */
#include "runtime.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The last node (by position in its graph) that reads each value defined in the graph,
 * directly or from inside a subgraph of that node; graph outputs are never released. */
typedef struct Plan {
  const Graph *g;
  int32_t *last; /* by value id: node index, or -1 = keep until the frame ends */
  struct Plan *next;
} Plan;

/* A function call in progress: attribute references resolve against `node`. */
typedef struct Call {
  const Node *node;
  const Function *fn;
  struct Call *parent;
} Call;

typedef struct Frame {
  struct Frame *parent; /* enclosing graph's frame (subgraphs); NULL for function bodies */
  const Graph *g;
  RtValue **slots;      /* by value id */
  bool *absent;         /* by value id: a function's formal input left out by the caller */
  Call *call;           /* the innermost function call, or NULL */
} Frame;

struct RtInterp {
  Model *m;
  Diag *d;
  RtOptions opt;
  uint64_t rng;
  uint32_t nval;
  Plan *plans;
  Frame *cur; /* the frame of the node being run */
  uint64_t steps; /* nodes run so far, for opt.max_steps */
  int depth;  /* nested graph runs, bounded */
};

#define MAX_DEPTH 256

/* ------------------------------------------------------------------ setup */

static bool is_random(const Node *n) {
  static const char *const names[] = {"RandomNormal", "RandomNormalLike", "RandomUniform",
                                      "RandomUniformLike", "Bernoulli", "Multinomial"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(n->op_type, names[i])) return true;
  return false;
}

RtInterp *rt_interp_new(Model *m, const RtOptions *opt, Diag *d) {
  ir_bind_ops(m);
  int bad = 0;
  char list[512] = "";
  size_t used = 0;
  for (int pass = 0; pass < 2; pass++) /* 0: collect the list, 1: one note per node */
    for (size_t gi = 0; gi < m->all_graphs.n; gi++) {
      const Graph *g = m->all_graphs.v[gi];
      for (size_t i = 0; i < g->nodes.n; i++) {
        const Node *n = g->nodes.v[i];
        if (!n->op && ir_model_find_function(m, n->domain, n->op_type, n->overload)) continue;
        if (n->op && rt_kernel(n->op)) continue;
        int64_t v = ir_node_opset(n);
        if (pass == 1) {
          if (bad++ < 20)
            ir_note(d, n->loc, "node '%s': domain '%s', op %s, opset %lld: %s",
                    n->name ? n->name : "", n->domain, n->op_type, (long long)v,
                    n->op ? "no kernel for this operator" : "unknown operator (or version)");
          continue;
        }
        char item[160];
        snprintf(item, sizeof item, "%s%s%s-%lld", n->domain, n->domain[0] ? "." : "", n->op_type,
                 (long long)v);
        if (strstr(list, item)) continue;
        used += (size_t)snprintf(list + used, used < sizeof list ? sizeof list - used : 0, "%s%s",
                                 used ? ", " : "", item);
        if (used >= sizeof list) used = sizeof list;
      }
      if (pass == 0 && gi + 1 == m->all_graphs.n && used)
        ir_error(d, ir_noloc, "the interpreter cannot run: %s", list);
    }
  if (bad) return NULL;
  RtInterp *in = calloc(1, sizeof *in);
  if (!in) abort();
  in->m = m;
  in->d = d;
  if (opt) in->opt = *opt;
  else in->opt.check_types = true;
  in->rng = in->opt.seed ? in->opt.seed : 0x9E3779B97F4A7C15ull;
  in->nval = m->next_value_id;
  return in;
}

void rt_interp_free(RtInterp *in) {
  if (!in) return;
  for (Plan *p = in->plans, *nx; p; p = nx) {
    nx = p->next;
    free(p->last);
    free(p);
  }
  free(in);
}

uint64_t rt_random_u64(RtCtx *c) {
  /* splitmix64 */
  uint64_t z = (c->interp->rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ liveness plans */

/* Every node input inside the subgraphs of n (any depth), reported to fn. Iterative. */
static void subgraph_inputs(const Node *n, void (*fn)(void *, const Value *), void *arg) {
  IR_VEC(const Graph *) stack = {0};
  for (int a = 0; a < n->n_attrs; a++) {
    const Attr *at = &n->attrs[a];
    if (at->type == ATTR_GRAPH && at->g) ir_vec_push(stack, at->g);
    if (at->type == ATTR_GRAPHS)
      for (size_t k = 0; k < at->n; k++)
        if (at->graphs[k]) ir_vec_push(stack, at->graphs[k]);
  }
  while (stack.n) {
    const Graph *g = stack.v[--stack.n];
    for (size_t i = 0; i < g->nodes.n; i++) {
      const Node *s = g->nodes.v[i];
      for (int k = 0; k < s->n_inputs; k++)
        if (s->inputs[k]) fn(arg, s->inputs[k]);
      for (int a = 0; a < s->n_attrs; a++) {
        const Attr *at = &s->attrs[a];
        if (at->type == ATTR_GRAPH && at->g) ir_vec_push(stack, at->g);
        if (at->type == ATTR_GRAPHS)
          for (size_t k = 0; k < at->n; k++)
            if (at->graphs[k]) ir_vec_push(stack, at->graphs[k]);
      }
    }
    for (int k = 0; k < g->n_outputs; k++)
      if (g->outputs[k]) fn(arg, g->outputs[k]);
  }
  ir_vec_free(stack);
}

typedef struct PlanWalk {
  Plan *p;
  int32_t at;
  uint32_t nval;
} PlanWalk;

static void note_use(void *arg, const Value *v) {
  PlanWalk *w = arg;
  if (v->id < w->nval && v->graph == w->p->g && w->p->last[v->id] >= 0) w->p->last[v->id] = w->at;
}

static Plan *plan_for(RtInterp *in, const Graph *g) {
  for (Plan *p = in->plans; p; p = p->next)
    if (p->g == g) return p;
  Plan *p = calloc(1, sizeof *p);
  if (!p) abort();
  p->g = g;
  p->last = malloc((in->nval ? in->nval : 1) * sizeof *p->last);
  if (!p->last) abort();
  /* 0x7fffffff: defined here but never read (released right after its producer) */
  for (uint32_t i = 0; i < in->nval; i++) p->last[i] = INT32_MAX;
  for (int k = 0; k < g->n_outputs; k++)
    if (g->outputs[k] && g->outputs[k]->id < in->nval) p->last[g->outputs[k]->id] = -1;
  PlanWalk w = {p, 0, in->nval};
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    w.at = (int32_t)i;
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k]) note_use(&w, n->inputs[k]);
    subgraph_inputs(n, note_use, &w);
  }
  p->next = in->plans;
  in->plans = p;
  return p;
}

/* ------------------------------------------------------------------ frames */

static RtValue *sparse_dense(const SparseTensor *s) {
  RtValue *v = rt_tensor_new(s->values->elem, s->rank, s->dims);
  if (!v) return NULL;
  RtValue *vals = rt_tensor_wrap(s->values), *idx = rt_tensor_wrap(s->indices);
  if (!vals || !idx) goto fail;
  int64_t strides[RT_MAX_RANK];
  rt_strides(s->rank, s->dims, strides);
  bool linear = idx->rank == 1;
  for (uint64_t k = 0; k < vals->numel; k++) {
    int64_t off = 0;
    if (linear) off = rt_get_i64(idx, k);
    else
      for (int d = 0; d < s->rank; d++) off += rt_get_i64(idx, k * (uint64_t)s->rank + (uint64_t)d) * strides[d];
    if (off < 0 || (uint64_t)off >= v->numel) goto fail;
    if (v->elem == ELEM_STRING) {
      const IrStr *src = (const IrStr *)vals->data + k;
      rt_str_set(v, (uint64_t)off, src->s, src->len);
    } else {
      rt_set_f64(v, (uint64_t)off, rt_get_f64(vals, k));
    }
  }
  rt_unref(vals);
  rt_unref(idx);
  return v;
fail:
  rt_unref(vals);
  rt_unref(idx);
  rt_unref(v);
  return NULL;
}

static Frame *frame_new(RtInterp *in, Frame *parent, const Graph *g, Call *call) {
  Frame *f = calloc(1, sizeof *f);
  if (!f) abort();
  f->parent = parent;
  f->g = g;
  f->call = call;
  f->slots = calloc(in->nval ? in->nval : 1, sizeof *f->slots);
  if (!f->slots) abort();
  return f;
}

static void frame_free(RtInterp *in, Frame *f) {
  for (uint32_t i = 0; i < in->nval; i++) rt_unref(f->slots[i]);
  free(f->slots);
  free(f->absent);
  free(f);
}

static bool bind_initializers(RtInterp *in, Frame *f) {
  const Graph *g = f->g;
  for (size_t i = 0; i < g->initializers.n; i++) {
    const Value *v = g->initializers.v[i];
    if (!v || v->id >= in->nval || f->slots[v->id]) continue;
    RtValue *r = NULL;
    if (v->init) {
      if (!v->init->has_data && v->init->n_external && !ir_external_load(in->m, v->init, in->d))
        return false;
      if (!v->init->has_data) {
        ir_error(in->d, v->loc, "initializer '%s' has no data to run with", v->name);
        return false;
      }
      r = rt_tensor_wrap(v->init);
    } else if (v->sparse_init) {
      r = sparse_dense(v->sparse_init);
    }
    if (!r) {
      ir_error(in->d, v->loc, "initializer '%s' cannot be used (rank above %d or bad data)",
               v->name, RT_MAX_RANK);
      return false;
    }
    f->slots[v->id] = r;
  }
  return true;
}

/* The value of v seen from frame f: NULL with *absent set for a left-out function input,
 * NULL without it when nothing defines it. */
static RtValue *lookup(RtInterp *in, Frame *f, const Value *v, bool *absent) {
  *absent = false;
  if (v->id >= in->nval) return NULL;
  for (; f; f = f->parent) {
    if (f->slots[v->id]) return f->slots[v->id];
    if (f->absent && f->absent[v->id]) {
      *absent = true;
      return NULL;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------ attributes */

const Attr *rt_attr(RtCtx *c, const char *name) {
  const Attr *a = ir_node_attr(c->node, name);
  Call *call = c->interp && c->interp->cur ? c->interp->cur->call : NULL;
  while (a && a->ref_attr_name) {
    if (!call) return NULL;
    const char *ref = a->ref_attr_name;
    a = ir_node_attr(call->node, ref);
    if (!a) {
      for (int i = 0; i < call->fn->n_attr_defaults; i++)
        if (call->fn->attr_defaults[i].name && !strcmp(call->fn->attr_defaults[i].name, ref))
          a = &call->fn->attr_defaults[i];
      return a; /* defaults are values, never references */
    }
    call = call->parent;
  }
  return a;
}

static const Attr *attr_typed(RtCtx *c, const char *name, AttrType want) {
  const Attr *a = rt_attr(c, name);
  if (a && a->type == want) return a;
  if (!a && c->op) {
    const AttrSpec *s = ir_op_attr(c->op, name);
    if (s && s->has_default && s->type == want) return &s->dflt;
  }
  return NULL;
}

int64_t rt_attr_int(RtCtx *c, const char *name, int64_t dflt) {
  const Attr *a = attr_typed(c, name, ATTR_INT);
  return a ? a->i : dflt;
}

float rt_attr_float(RtCtx *c, const char *name, float dflt) {
  const Attr *a = attr_typed(c, name, ATTR_FLOAT);
  return a ? a->f : dflt;
}

const char *rt_attr_str(RtCtx *c, const char *name, const char *dflt) {
  const Attr *a = attr_typed(c, name, ATTR_STRING);
  return a ? a->s.s : dflt;
}

const int64_t *rt_attr_ints(RtCtx *c, const char *name, size_t *n) {
  const Attr *a = attr_typed(c, name, ATTR_INTS);
  *n = a ? a->n : 0;
  if (!a) return NULL;
  static const int64_t empty[1] = {0};
  return a->ints ? a->ints : empty;
}

const float *rt_attr_floats(RtCtx *c, const char *name, size_t *n) {
  const Attr *a = attr_typed(c, name, ATTR_FLOATS);
  *n = a ? a->n : 0;
  if (!a) return NULL;
  static const float empty[1] = {0};
  return a->floats ? a->floats : empty;
}

/* ------------------------------------------------------------------ running */

static int run_graph(RtInterp *in, Frame *f);

static bool type_ok(RtInterp *in, const Node *n, const Value *v, const RtValue *r) {
  if (!in->opt.check_types || !v->type || !r) return true;
  const Type *t = v->type;
  if (t->kind == TYPE_TENSOR && r->kind == TYPE_TENSOR && t->elem != ELEM_UNDEFINED &&
      t->elem != r->elem) {
    ir_error(in->d, n->loc, "node '%s' (%s): output '%s' is %s, but the graph declares %s",
             n->name ? n->name : "", n->op_type, v->name, ir_elem(r->elem)->name,
             ir_elem(t->elem)->name);
    return false;
  }
  return true;
}

/* Run a model-local function: its body in a fresh frame bound to the node's inputs. */
static int call_function(RtInterp *in, Frame *f, const Node *n, const Function *fn,
                         RtValue **ins, RtValue **outs) {
  const Graph *body = fn->body;
  Call call = {n, fn, f->call};
  Frame *ff = frame_new(in, NULL, body, &call);
  ff->absent = calloc(in->nval ? in->nval : 1, sizeof *ff->absent);
  if (!ff->absent) abort();
  for (int i = 0; i < body->n_inputs; i++) {
    const Value *p = body->inputs[i];
    if (!p || p->id >= in->nval) continue;
    RtValue *x = i < n->n_inputs ? ins[i] : NULL;
    if (x) ff->slots[p->id] = rt_ref(x);
    else ff->absent[p->id] = true;
  }
  int rc = run_graph(in, ff);
  for (int i = 0; rc == 0 && i < n->n_outputs && i < body->n_outputs; i++) {
    const Value *o = body->outputs[i];
    if (!o) continue;
    bool absent;
    RtValue *r = lookup(in, ff, o, &absent);
    if (!r && n->outputs[i]) {
      ir_error(in->d, n->loc, "function '%s' did not produce output '%s'", fn->name, o->name);
      rc = -1;
    }
    outs[i] = rt_ref(r);
  }
  frame_free(in, ff);
  return rc;
}

/* A rank-4 tensor's copy with its axes moved NCHW -> NHWC (to_nhwc) or back (nodes marked
 * by the layout pass, ir_node_nhwc); other values are returned as references. */
static RtValue *nhwc_move(const RtValue *v, bool to_nhwc) {
  if (!v || v->kind != TYPE_TENSOR || v->rank != 4 || v->elem == ELEM_STRING || !v->numel)
    return rt_ref((RtValue *)v);
  int64_t od[4];
  ir_nhwc_dims(v->dims, to_nhwc, od);
  RtValue *r = rt_tensor_new(v->elem, 4, od);
  if (!r) return NULL;
  size_t es = v->nbytes / v->numel;
  /* source strides of the output's axes */
  int64_t sd[4] = {v->dims[1] * v->dims[2] * v->dims[3], v->dims[2] * v->dims[3], v->dims[3], 1};
  static const int to[4] = {0, 2, 3, 1}, from[4] = {0, 3, 1, 2};
  int64_t st[4];
  for (int i = 0; i < 4; i++) st[i] = sd[to_nhwc ? to[i] : from[i]];
  const char *src = v->data;
  char *dst = r->data;
  for (int64_t a = 0; a < od[0]; a++)
    for (int64_t b = 0; b < od[1]; b++)
      for (int64_t c = 0; c < od[2]; c++)
        for (int64_t d = 0; d < od[3]; d++, dst += es)
          memcpy(dst, src + (a * st[0] + b * st[1] + c * st[2] + d * st[3]) * es, es);
  return r;
}

static int run_node(RtInterp *in, Frame *f, const Node *n, Plan *plan, size_t pos) {
  if (in->opt.max_steps && ++in->steps > in->opt.max_steps) {
    ir_error(in->d, n->loc, "the run exceeded its limit of %llu node executions",
             (unsigned long long)in->opt.max_steps);
    return -1;
  }
  RtValue *ins_small[16], *outs_small[16];
  RtValue **ins = n->n_inputs <= 16 ? ins_small : calloc((size_t)n->n_inputs, sizeof *ins);
  RtValue **outs = n->n_outputs <= 16 ? outs_small : calloc((size_t)n->n_outputs, sizeof *outs);
  if (!ins || !outs) abort();
  memset(outs, 0, (size_t)n->n_outputs * sizeof *outs);
  int rc = 0;
  for (int i = 0; i < n->n_inputs; i++) {
    ins[i] = NULL;
    if (!n->inputs[i]) continue;
    bool absent;
    ins[i] = lookup(in, f, n->inputs[i], &absent);
    if (!ins[i] && !absent) {
      ir_error(in->d, n->loc, "node '%s' (%s): input '%s' has no value", n->name ? n->name : "",
               n->op_type, n->inputs[i]->name);
      rc = -1;
    }
  }
  Frame *saved = in->cur;
  in->cur = f;
  if (rc == 0) {
    if (n->op) {
      RtCtx c = {in, n, n->op, ir_node_opset(n), ins, n->n_inputs, outs, n->n_outputs, in->d};
      bool nhwc = ir_node_nhwc(n); /* channels-last images: the kernel sees NCHW */
      RtValue *moved_small[16] = {0}, **moved = nhwc ? moved_small : NULL;
      for (int i = 0; nhwc && i < n->n_inputs && i < 16; i++)
        if (ins[i] && ir_nhwc_input(n, i)) ins[i] = moved[i] = nhwc_move(ins[i], false);
      rc = rt_kernel(n->op)(&c);
      for (int i = 0; nhwc && i < n->n_inputs && i < 16; i++) {
        if (!moved[i]) continue;
        rt_unref(moved[i]);
        ins[i] = lookup(in, f, n->inputs[i], &(bool){false});
      }
      if (nhwc && rc == 0 && n->n_outputs > 0 && outs[0]) {
        RtValue *o = nhwc_move(outs[0], true);
        rt_unref(outs[0]);
        outs[0] = o;
      }
      if (rc == 0 && in->d->errors) rc = -1;
    } else {
      const Function *fn = ir_model_find_function(in->m, n->domain, n->op_type, n->overload);
      rc = fn ? call_function(in, f, n, fn, ins, outs) : -1;
    }
  }
  in->cur = saved;
  if (rc == 0 && in->opt.observe) in->opt.observe(in->opt.observe_ctx, n, ins, outs);
  for (int i = 0; rc == 0 && i < n->n_outputs; i++) {
    const Value *v = n->outputs[i];
    if (!v) continue;
    if (!outs[i]) {
      ir_error(in->d, n->loc, "node '%s' (%s): output %d ('%s') was not produced",
               n->name ? n->name : "", n->op_type, i, v->name);
      rc = -1;
      break;
    }
    if (!type_ok(in, n, v, outs[i])) rc = -1;
  }
  for (int i = 0; i < n->n_outputs; i++) {
    const Value *v = n->outputs[i];
    if (rc == 0 && v && v->id < in->nval) {
      rt_unref(f->slots[v->id]);
      f->slots[v->id] = outs[i];
      if (plan->last[v->id] == INT32_MAX) { /* never read: drop it now */
        f->slots[v->id] = NULL;
        rt_unref(outs[i]);
      }
    } else {
      rt_unref(outs[i]);
    }
  }
  /* release this graph's values whose last reader was this node */
  for (int i = 0; rc == 0 && i < n->n_inputs; i++) {
    const Value *v = n->inputs[i];
    if (v && v->graph == f->g && v->id < in->nval && plan->last[v->id] == (int32_t)pos && !v->init) {
      rt_unref(f->slots[v->id]);
      f->slots[v->id] = NULL;
    }
  }
  if (ins != ins_small) free(ins);
  if (outs != outs_small) free(outs);
  return rc;
}

static int run_graph(RtInterp *in, Frame *f) {
  if (++in->depth > MAX_DEPTH) {
    in->depth--;
    ir_error(in->d, f->g->loc, "graphs nest deeper than %d at run time", MAX_DEPTH);
    return -1;
  }
  int rc = bind_initializers(in, f) ? 0 : -1;
  Plan *plan = plan_for(in, f->g);
  for (size_t i = 0; rc == 0 && i < f->g->nodes.n; i++) rc = run_node(in, f, f->g->nodes.v[i], plan, i);
  in->depth--;
  return rc;
}

int rt_run_subgraph(RtCtx *c, const Graph *g, RtValue **ins, int n_ins, RtValue **outs) {
  RtInterp *in = c->interp;
  Frame *f = frame_new(in, in->cur, g, in->cur ? in->cur->call : NULL);
  for (int i = 0; i < g->n_inputs && i < n_ins; i++)
    if (g->inputs[i] && g->inputs[i]->id < in->nval) f->slots[g->inputs[i]->id] = rt_ref(ins[i]);
  int rc = run_graph(in, f);
  for (int i = 0; i < g->n_outputs; i++) {
    outs[i] = NULL;
    if (rc || !g->outputs[i]) continue;
    bool absent;
    outs[i] = rt_ref(lookup(in, f, g->outputs[i], &absent));
    if (!outs[i]) {
      rt_error(c, "subgraph '%s' did not produce output '%s'", g->name ? g->name : "",
               g->outputs[i]->name);
      rc = -1;
    }
  }
  if (rc)
    for (int i = 0; i < g->n_outputs; i++) rt_unref(outs[i]), outs[i] = NULL;
  frame_free(in, f);
  return rc;
}

int rt_interp_run(RtInterp *in, RtValue **inputs, RtValue **outputs) {
  const Graph *g = in->m->graph;
  Frame *f = frame_new(in, NULL, g, NULL);
  int rc = 0;
  in->steps = 0;
  for (int i = 0; i < g->n_inputs; i++) {
    const Value *v = g->inputs[i];
    if (!v || v->id >= in->nval) continue;
    if (inputs && inputs[i]) f->slots[v->id] = rt_ref(inputs[i]);
    else if (!v->init && !v->sparse_init) {
      ir_error(in->d, v->loc, "graph input '%s' has no value and no initializer", v->name);
      rc = -1;
    }
  }
  if (rc == 0) rc = run_graph(in, f);
  for (int i = 0; i < g->n_outputs; i++) {
    outputs[i] = NULL;
    if (rc || !g->outputs[i]) continue;
    bool absent;
    outputs[i] = rt_ref(lookup(in, f, g->outputs[i], &absent));
    if (!outputs[i]) {
      ir_error(in->d, g->outputs[i]->loc, "graph output '%s' has no value", g->outputs[i]->name);
      rc = -1;
    }
  }
  if (rc)
    for (int i = 0; i < g->n_outputs; i++) rt_unref(outputs[i]), outputs[i] = NULL;
  frame_free(in, f);
  return rc;
}

bool rt_model_is_random(const Model *m) {
  for (size_t gi = 0; gi < m->all_graphs.n; gi++) {
    const Graph *g = m->all_graphs.v[gi];
    for (size_t i = 0; i < g->nodes.n; i++)
      if (is_random(g->nodes.v[i])) return true;
  }
  return false;
}

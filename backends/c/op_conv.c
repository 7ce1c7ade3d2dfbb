/* op_conv.c - the C emitter's convolutions and pools (float32, 1-D and 2-D, NCHW): Conv,
 * ConvTranspose and com.microsoft FusedConv call runtime/kern/conv.c with the weights packed
 * here at compile time and the activation / residual Z in the epilogue; MaxPool,
 * AveragePool and the global pools call runtime/kern/pool.c. */
#include <stdlib.h>
#include <string.h>

#include "cemit.h"
#include "kern.h"
#include "op_sparse.h"

/* The attribute `name` with s values (1 when absent), or false with a reason. */
static bool ints_attr(const Node *n, const char *name, int s, int64_t dflt, int64_t *out) {
  size_t cnt = 0;
  const int64_t *v = ir_attr_ints(n, name, &cnt);
  for (int i = 0; i < s; i++) out[i] = v && cnt ? v[i] : dflt;
  return !v || !cnt || (int)cnt == s;
}

/* Static float32 X (rank 3 or 4; MaxPool also uint8 / int8) and Y; fills the spatial rank. */
static int check_io(CEmit *e, const Node *n, int *s) {
  if (n->n_inputs < 1 || !n->inputs[0] || n->n_outputs < 1 || !n->outputs[0])
    return ce_unsupported(e, n, "missing input or output");
  ElemType xt = ce_elem(n->inputs[0]);
  bool q8 = !strcmp(n->op->family, "MaxPool") && (xt == ELEM_UINT8 || xt == ELEM_INT8);
  if (xt != ELEM_FLOAT && !q8)
    return ce_unsupported(e, n, "only float32 is supported, not %s",
                          ir_elem(ce_elem(n->inputs[0]))->name);
  int r = ce_rank(n->inputs[0]);
  if (r != 3 && r != 4)
    return ce_unsupported(e, n, "only 1-D and 2-D images are supported (rank %d)", r);
  *s = r - 2;
  return 0;
}

/* `static const TYPE p = {v0, v1, ...};`: a kernel's parameter struct, every field in order. */
static void print_params(CEmit *e, const char *type, const int64_t *v, size_t n) {
  ce_printf(e, "static const %s p = {", type);
  for (size_t i = 0; i < n; i++) ce_printf(e, "%s%lld", i ? ", " : "", (long long)v[i]);
  ce_printf(e, "};\n");
}

/* Begin pads of a sliding window (Conv, pools) from auto_pad / pads and the known output. */
static bool window_pads(const Node *n, int s, const int64_t *in, const int64_t *out,
                        const int64_t *k, const int64_t *st, const int64_t *dil, int64_t *pb,
                        int64_t *pe) {
  int64_t pads[4];
  if (!ints_attr(n, "pads", 2 * s, 0, pads)) return false;
  const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
  for (int d = 0; d < s; d++) {
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      int64_t total = (out[d] - 1) * st[d] + (k[d] - 1) * dil[d] + 1 - in[d];
      if (total < 0) total = 0;
      pb[d] = ap[5] == 'U' ? total / 2 : total - total / 2;
      pe[d] = total - pb[d];
    } else if (!strcmp(ap, "VALID")) {
      pb[d] = pe[d] = 0;
    } else {
      pb[d] = pads[d], pe[d] = pads[d + s];
    }
  }
  return true;
}

/* The fused activation of FusedConv (ONNX Runtime's names and defaults). */
static int fused_act(CEmit *e, const Node *n, EffcEpilogue *ep) {
  const char *a = ir_attr_string(n, "activation", "");
  size_t np = 0;
  const float *p = ir_attr_floats(n, "activation_params", &np);
  ep->act = EFFC_ACT_NONE;
  if (!*a) return 0;
  static const struct {
    const char *name;
    EffcAct act;
    float alpha, beta;
  } acts[] = {{"Relu", EFFC_ACT_RELU, 0, 0},           {"LeakyRelu", EFFC_ACT_LEAKY_RELU, 0.01f, 0},
              {"Sigmoid", EFFC_ACT_SIGMOID, 0, 0},     {"Tanh", EFFC_ACT_TANH, 0, 0},
              {"HardSigmoid", EFFC_ACT_HARD_SIGMOID, 0.2f, 0.5f}, {"Clip", EFFC_ACT_CLIP, 0, 0}};
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
    if (strcmp(a, acts[i].name)) continue;
    if (acts[i].act == EFFC_ACT_CLIP && np != 2)
      return ce_unsupported(e, n, "activation Clip needs activation_params [min, max]");
    ep->act = acts[i].act;
    ep->alpha = np > 0 ? p[0] : acts[i].alpha;
    ep->beta = np > 1 ? p[1] : acts[i].beta;
    return 0;
  }
  return ce_unsupported(e, n, "unsupported activation '%s'", a);
}

/* `static const EffcConv2d p = {...};` */
static void print_conv_params(CEmit *e, const EffcConv2d *p) {
  const int64_t cv[] = {p->N,  p->C,  p->H,  p->W,  p->M,  p->OH, p->OW, p->KH,
                        p->KW, p->SH, p->SW, p->DH, p->DW, p->PT, p->PL, p->G};
  print_params(e, "EffcConv2d", cv, sizeof cv / sizeof cv[0]);
}

/* Conv / FusedConv marked NHWC by the layout pass: runtime/kern/nhwc.c. */
static int emit_conv_nhwc(CEmit *e, const Node *n, const EffcConv2d *p, const EffcEpilogue *ep,
                          const Tensor *w) {
  int isa = (int)e->target->isa;
  if (!effc_conv2d_nhwc_ok(p))
    return ce_unsupported(e, n, "NHWC needs group 1 or a depthwise Conv (group %lld)",
                          (long long)p->G);
  size_t np = effc_conv2d_nhwc_packed_size(p, isa);
  float *packed = malloc((np ? np : 1) * sizeof *packed);
  void *tmp = malloc(effc_conv2d_nhwc_pack_tmp(p) + 1);
  if (!packed || !tmp) {
    free(packed), free(tmp);
    return ce_unsupported(e, n, "out of memory packing W");
  }
  effc_conv2d_nhwc_pack(p, isa, w->data, packed, tmp);
  free(tmp);
  const char *wexpr = ce_weight(e, "conv_w", ELEM_FLOAT, packed, np * sizeof *packed);
  free(packed);
  size_t scr = effc_conv2d_nhwc_scratch(p, isa, e->o->threads);
  const char *sexpr = scr ? ce_scratch(e, scr) : "NULL";
  const Value *B = n->n_inputs > 2 ? n->inputs[2] : NULL, *Z = n->n_inputs > 3 ? n->inputs[3] : NULL;
  ce_need_kern(e, "act");
  ce_need_kern(e, "gemm");
  ce_need_kern(e, "nhwc");
  print_conv_params(e, p);
  ce_printf(e, "const EffcEpilogue ep = {(EffcAct)%d, (float)%a, (float)%a, %s, %s, 0};\n",
            (int)ep->act, (double)ep->alpha, (double)ep->beta, ce_ptr(e, B), ce_ptr(e, Z));
  ce_printf(e, "effc_conv2d_nhwc(&p, EFFC_ISA, %s, %s, %s, &ep, %s, tid, nt);\n",
            ce_ptr(e, n->inputs[0]), wexpr, ce_ptr(e, n->outputs[0]), sexpr);
  return 0;
}

/* Conv, ConvTranspose, FusedConv. */
static int emit_conv_any(CEmit *e, const Node *n, bool transposed) {
  int s;
  if (check_io(e, n, &s)) return -1;
  const Value *X = n->inputs[0], *Wv = n->n_inputs > 1 ? n->inputs[1] : NULL;
  const Value *B = n->n_inputs > 2 ? n->inputs[2] : NULL, *Z = n->n_inputs > 3 ? n->inputs[3] : NULL;
  const Tensor *w = Wv ? ce_const(Wv) : NULL;
  if (!w || w->elem != ELEM_FLOAT) return ce_unsupported(e, n, "W must be a float32 initializer");
  if ((B && ce_elem(B) != ELEM_FLOAT) || (Z && ce_elem(Z) != ELEM_FLOAT))
    return ce_unsupported(e, n, "B and Z must be float32");
  if (Z && ce_numel(Z) != ce_numel(n->outputs[0])) return ce_unsupported(e, n, "Z must have Y's shape");
  const int64_t *xd = ce_dims(X), *yd = ce_dims(n->outputs[0]), *wd = ce_dims(Wv);
  int64_t xl[4], yl[4];
  if (ir_node_nhwc(n) && (s != 2 || transposed))
    return ce_unsupported(e, n, "the NHWC layout needs a 2-D Conv");
  if (ir_node_nhwc(n)) /* the geometry is the NCHW one; nhwc.c reads channels last */
    ir_nhwc_dims(xd, false, xl), ir_nhwc_dims(yd, false, yl), xd = xl, yd = yl;
  int64_t G = ir_attr_int(n, "group", 1), k[2], st[2], dil[2], pb[2], pe[2], in[2], out[2];
  for (int d = 0; d < s; d++) k[d] = wd[2 + d], in[d] = xd[2 + d], out[d] = yd[2 + d];
  if (!ints_attr(n, "strides", s, 1, st) || !ints_attr(n, "dilations", s, 1, dil))
    return ce_unsupported(e, n, "strides or dilations of the wrong length");
  if (!transposed) {
    if (!window_pads(n, s, in, out, k, st, dil, pb, pe))
      return ce_unsupported(e, n, "pads of the wrong length");
  } else { /* as the interpreter (runtime/k_nn.c): begin pads from the sizes */
    int64_t pads[4], opad[2];
    size_t nos = 0;
    const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
    bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    bool os = ir_attr_ints(n, "output_shape", &nos) != NULL, has_pads = ir_attr_ints(n, "pads", &nos);
    if (!ints_attr(n, "pads", 2 * s, 0, pads) || !ints_attr(n, "output_padding", s, 0, opad))
      return ce_unsupported(e, n, "pads or output_padding of the wrong length");
    for (int d = 0; d < s; d++) {
      if (os || (same && !has_pads)) {
        int64_t total = st[d] * (in[d] - 1) + opad[d] + (k[d] - 1) * dil[d] + 1 - out[d];
        pb[d] = same && ap[5] == 'U' ? total / 2 : total - total / 2;
        if (total < 0) pb[d] = 0;
      } else {
        pb[d] = !strcmp(ap, "VALID") ? 0 : pads[d];
      }
    }
  }
  int o = s - 1;
  EffcConv2d p = {xd[0], xd[1], o ? in[0] : 1, in[o], yd[1], o ? out[0] : 1, out[o],
                  o ? k[0] : 1, k[o], o ? st[0] : 1, st[o], o ? dil[0] : 1, dil[o],
                  o ? pb[0] : 0, pb[o], G};
  if (G < 1 || p.C % G || p.M % G) return ce_unsupported(e, n, "bad group %lld", (long long)G);
  EffcEpilogue ep = {EFFC_ACT_NONE, 0, 0, NULL, NULL, 0};
  if (!strcmp(n->op->family, "ms_FusedConv") && fused_act(e, n, &ep)) return -1;
  int isa = (int)e->target->isa;
  if (ir_node_nhwc(n)) return emit_conv_nhwc(e, n, &p, &ep, w);
  print_conv_params(e, &p);
  ce_printf(e, "const EffcEpilogue ep = {(EffcAct)%d, (float)%a, (float)%a, %s, %s, 0};\n", (int)ep.act,
            (double)ep.alpha, (double)ep.beta, ce_ptr(e, B), ce_ptr(e, Z));
  int sp = transposed ? 0 : ce_sparse_conv(e, n, &p, w->data, ce_ptr(e, X), ce_ptr(e, n->outputs[0]), "&ep");
  if (sp) return sp < 0 ? -1 : 0;
  size_t np = transposed ? effc_convt2d_packed_size(&p) : effc_conv2d_packed_size(&p, isa);
  float *packed = malloc((np ? np : 1) * sizeof *packed);
  if (!packed) return ce_unsupported(e, n, "out of memory packing W");
  if (transposed)
    effc_convt2d_pack(&p, w->data, packed);
  else
    {
    void *tmp = malloc(effc_conv2d_pack_tmp(&p) + 1);
    if (!tmp) {
      free(packed);
      return ce_unsupported(e, n, "out of memory packing W");
    }
    effc_conv2d_pack(&p, isa, w->data, packed, tmp);
    free(tmp);
  }
  const char *wexpr = ce_weight(e, "conv_w", ELEM_FLOAT, packed, np * sizeof *packed);
  free(packed);
  int nt = e->o->threads;
  size_t scr = transposed ? effc_convt2d_scratch(&p, isa, nt) : effc_conv2d_scratch(&p, isa, nt);
  const char *sexpr = scr ? ce_scratch(e, scr) : "NULL";
  ce_need_kern(e, "act");
  ce_need_kern(e, "gemm");
  ce_need_kern(e, "conv");
  ce_printf(e, "%s(&p, EFFC_ISA, %s, %s, %s, &ep, %s, tid, nt);\n",
            transposed ? "effc_convt2d" : "effc_conv2d", ce_ptr(e, X), wexpr,
            ce_ptr(e, n->outputs[0]), sexpr);
  return 0;
}

static int emit_conv(CEmit *e, const Node *n) { return emit_conv_any(e, n, false); }
static int emit_convt(CEmit *e, const Node *n) { return emit_conv_any(e, n, true); }

/* MaxPool (no Indices) and AveragePool. */
static int emit_pool(CEmit *e, const Node *n) {
  int s;
  if (check_io(e, n, &s)) return -1;
  bool max = !strcmp(n->op->family, "MaxPool");
  if (max && n->n_outputs > 1 && n->outputs[1])
    return ce_unsupported(e, n, "the Indices output is not supported");
  const int64_t *xd = ce_dims(n->inputs[0]), *yd = ce_dims(n->outputs[0]);
  int64_t k[2], st[2], dil[2], pb[2], pe[2], in[2], out[2], xl[4], yl[4];
  bool nhwc = ir_node_nhwc(n);
  if (nhwc && s != 2) return ce_unsupported(e, n, "the NHWC layout needs a 2-D pool");
  if (nhwc) ir_nhwc_dims(xd, false, xl), ir_nhwc_dims(yd, false, yl), xd = xl, yd = yl;
  for (int d = 0; d < s; d++) in[d] = xd[2 + d], out[d] = yd[2 + d];
  if (!ints_attr(n, "kernel_shape", s, 0, k) || !ints_attr(n, "strides", s, 1, st) ||
      !ints_attr(n, "dilations", s, 1, dil) || !window_pads(n, s, in, out, k, st, dil, pb, pe))
    return ce_unsupported(e, n, "kernel_shape, strides, dilations or pads of the wrong length");
  if (!ir_attr_ints(n, "kernel_shape", &(size_t){0})) return ce_unsupported(e, n, "no kernel_shape");
  int o = s - 1;
  EffcPool2d p = {xd[0] * xd[1], o ? in[0] : 1, in[o], o ? out[0] : 1, out[o], o ? k[0] : 1,
                  k[o], o ? st[0] : 1, st[o], o ? dil[0] : 1, dil[o], o ? pb[0] : 0, pb[o],
                  o ? pe[0] : 0, pe[o], ir_attr_int(n, "count_include_pad", 0) != 0};
  if (nhwc) p.NC = xd[0]; /* images; the channels are the innermost axis */
  ElemType xt = ce_elem(n->inputs[0]);
  ce_need_kern(e, xt == ELEM_FLOAT ? "pool" : "qlinear");
  const int64_t pv[] = {p.NC, p.H,  p.W,  p.OH, p.OW, p.KH, p.KW, p.SH,
                        p.SW, p.DH, p.DW, p.PT, p.PL, p.PB, p.PR, p.count_include_pad};
  print_params(e, "EffcPool2d", pv, sizeof pv / sizeof pv[0]);
  if (xt != ELEM_FLOAT) { /* 8-bit MaxPool (kern/qlinear.c) */
    ce_printf(e, "effc_maxpool2d_q8(&p, %d, %s, %s, tid, nt);\n", xt == ELEM_INT8, ce_ptr(e, n->inputs[0]),
              ce_ptr(e, n->outputs[0]));
    return 0;
  }
  if (nhwc)
    ce_printf(e, "effc_pool2d_nhwc(%d, &p, %lld, %s, %s, tid, nt);\n", max, (long long)xd[1],
              ce_ptr(e, n->inputs[0]), ce_ptr(e, n->outputs[0]));
  else
    ce_printf(e, "%s(&p, EFFC_ISA, %s, %s, tid, nt);\n", max ? "effc_maxpool2d" : "effc_avgpool2d",
              ce_ptr(e, n->inputs[0]), ce_ptr(e, n->outputs[0]));
  return 0;
}

static int emit_global_pool(CEmit *e, const Node *n) {
  if (n->n_inputs < 1 || !n->inputs[0] || ce_elem(n->inputs[0]) != ELEM_FLOAT ||
      ce_rank(n->inputs[0]) < 3)
    return ce_unsupported(e, n, "only float32 images of rank >= 3 are supported");
  const int64_t *xd = ce_dims(n->inputs[0]);
  int64_t planes = xd[0] * xd[1], per = ce_numel(n->inputs[0]) / (planes ? planes : 1);
  ce_need_kern(e, "pool");
  if (ir_node_nhwc(n)) { /* [N, H, W, C] */
    if (ce_rank(n->inputs[0]) != 4) return ce_unsupported(e, n, "the NHWC layout needs rank 4");
    ce_printf(e, "effc_global_pool_nhwc(%d, %lld, %lld, %lld, %s, %s, tid, nt);\n",
              !strcmp(n->op->family, "GlobalMaxPool"), (long long)xd[0],
              (long long)(xd[1] * xd[2]), (long long)xd[3], ce_ptr(e, n->inputs[0]),
              ce_ptr(e, n->outputs[0]));
    return 0;
  }
  ce_printf(e, "effc_global_pool(%d, EFFC_ISA, %lld, %lld, %s, %s, tid, nt);\n",
            !strcmp(n->op->family, "GlobalMaxPool"), (long long)planes, (long long)per,
            ce_ptr(e, n->inputs[0]), ce_ptr(e, n->outputs[0]));
  return 0;
}

const CEmitOp ce_ops_conv[] = {
    {"Conv", emit_conv},
    {"ms_FusedConv", emit_conv},
    {"ConvTranspose", emit_convt},
    {"MaxPool", emit_pool},
    {"AveragePool", emit_pool},
    {"GlobalAveragePool", emit_global_pool},
    {"GlobalMaxPool", emit_global_pool},
    {NULL, NULL},
};

/* op_nbits.c - the C emitter's com.microsoft MatMulNBits (weight-only 2/4/8-bit blocks, as
 * the quantize-int4 pass emits): a call to runtime/kern/nbits.c, which dequantizes tiles of
 * B on the fly; B, scales and zero points stay packed in the weights. The checks are the
 * interpreter's (effc_nbits_check); g_idx must be a constant (its values are checked here). */
#include "cemit.h"
#include "kern.h"

static int emit_nbits(CEmit *e, const Node *n) {
  const Value *a = n->inputs[0], *b = n->n_inputs > 1 ? n->inputs[1] : NULL,
              *sc = n->n_inputs > 2 ? n->inputs[2] : NULL;
  const Value *zp = n->n_inputs > 3 ? n->inputs[3] : NULL, *gi = n->n_inputs > 4 ? n->inputs[4] : NULL,
              *bias = n->n_inputs > 5 ? n->inputs[5] : NULL, *y = n->outputs[0];
  if (!a || !b || !sc || !y) return ce_unsupported(e, n, "missing input or output");
  int64_t K = ir_attr_int(n, "K", -1), N = ir_attr_int(n, "N", -1);
  int64_t bits = ir_attr_int(n, "bits", 4), bs = ir_attr_int(n, "block_size", -1);
  if (ce_elem(a) != ELEM_FLOAT || ce_elem(sc) != ELEM_FLOAT || (bias && ce_elem(bias) != ELEM_FLOAT))
    return ce_unsupported(e, n, "A, scales and bias must be float32");
  if (ce_elem(b) != ELEM_UINT8) return ce_unsupported(e, n, "B must be uint8");
  if (zp && ce_elem(zp) != ELEM_UINT8 && ce_elem(zp) != ELEM_FLOAT)
    return ce_unsupported(e, n, "zero_points must be uint8 (packed) or float32");
  if (gi && ce_elem(gi) != ELEM_INT32) return ce_unsupported(e, n, "g_idx must be int32");
  int ra = ce_rank(a);
  if (ra < 1 || ce_dims(a)[ra - 1] != K)
    return ce_unsupported(e, n, "A's last dimension must be K = %lld", (long long)K);
  const char *why = effc_nbits_check(K, N, bits, bs, ce_numel(b), ce_numel(sc), zp ? ce_numel(zp) : -1,
                                     zp && ce_elem(zp) == ELEM_FLOAT, gi ? ce_numel(gi) : -1,
                                     bias ? ce_numel(bias) : -1);
  if (why) return ce_unsupported(e, n, "%s", why);
  if (gi) {
    const Tensor *t = ce_const(gi);
    if (!t) return ce_unsupported(e, n, "g_idx must be a constant");
    for (int64_t k = 0; k < K; k++) {
      int32_t g = ((const int32_t *)t->data)[k];
      if (g < 0 || g >= (K + bs - 1) / bs)
        return ce_unsupported(e, n, "g_idx[%lld] = %d is not a block", (long long)k, g);
    }
  }
  EffcNbits p = {ce_numel(a) / K, N, K, bits, bs, NULL, NULL, NULL, NULL, NULL, NULL};
  if (p.M == 0) return 0;
  ce_need_kern(e, "nbits");
  bool zf = zp && ce_elem(zp) == ELEM_FLOAT;
  ce_printf(e, "EffcNbits p = {%lldLL, %lldLL, %lldLL, %lld, %lld, %s, %s, %s, %s, %s, %s};\n",
            (long long)p.M, (long long)N, (long long)K, (long long)bits, (long long)bs,
            ce_ptr(e, b), ce_ptr(e, sc), zp && !zf ? ce_ptr(e, zp) : "NULL",
            zf ? ce_ptr(e, zp) : "NULL", gi ? ce_ptr(e, gi) : "NULL", bias ? ce_ptr(e, bias) : "NULL");
  ce_printf(e, "effc_matmul_nbits(EFFC_ISA, &p, %s, %s, %s, tid, nt);\n", ce_ptr(e, a), ce_ptr(e, y),
            ce_scratch(e, effc_nbits_scratch(&p, e->o->threads)));
  return 0;
}

const CEmitOp ce_ops_nbits[] = {
    {"ms_MatMulNBits", emit_nbits},
    {NULL, NULL},
};

/* k_nbits.c - com.microsoft MatMulNBits (ONNX Runtime's weight-only block-quantized MatMul,
 * produced by the quantize-int4 pass) on float32 activations, through the shared kernel
 * runtime/kern/nbits.c on one thread. g_idx values must name a block of their row. */
#include "k_nn_util.h"

int rt_k_ms_MatMulNBits(RtCtx *c) {
  RtValue *a = rt_in_tensor(c, 0), *b = rt_in_tensor(c, 1), *sc = rt_in_tensor(c, 2);
  if (!a || !b || !sc) return -1;
  RtValue *zp = c->n_in > 3 ? c->in[3] : NULL, *gi = c->n_in > 4 ? c->in[4] : NULL,
          *bias = c->n_in > 5 ? c->in[5] : NULL;
  int64_t K = rt_attr_int(c, "K", -1), N = rt_attr_int(c, "N", -1);
  int64_t bits = rt_attr_int(c, "bits", 4), bs = rt_attr_int(c, "block_size", -1);
  if (a->elem != ELEM_FLOAT || sc->elem != ELEM_FLOAT || (bias && bias->elem != ELEM_FLOAT))
    return rt_error(c, "A, scales and bias must be float32 (other float types are not "
                       "implemented)");
  if (b->elem != ELEM_UINT8) return rt_error(c, "B must be uint8");
  if (zp && zp->elem != ELEM_UINT8 && zp->elem != ELEM_FLOAT)
    return rt_error(c, "zero_points must be uint8 (packed) or float32");
  if (gi && gi->elem != ELEM_INT32) return rt_error(c, "g_idx must be int32");
  if (a->rank < 1 || a->dims[a->rank - 1] != K)
    return rt_error(c, "A's last dimension must be K = %lld", (long long)K);
  const char *why = effc_nbits_check(K, N, bits, bs, (int64_t)b->numel, (int64_t)sc->numel,
                                     zp ? (int64_t)zp->numel : -1, zp && zp->elem == ELEM_FLOAT,
                                     gi ? (int64_t)gi->numel : -1,
                                     bias ? (int64_t)bias->numel : -1);
  if (why) return rt_error(c, "%s", why);
  int64_t kb = (K + bs - 1) / bs;
  if (gi)
    for (int64_t k = 0; k < K; k++) {
      int32_t g = ((const int32_t *)gi->data)[k];
      if (g < 0 || g >= kb) return rt_error(c, "g_idx[%lld] = %d is not a block", (long long)k, g);
    }
  int64_t od[RT_MAX_RANK];
  memcpy(od, a->dims, (size_t)a->rank * sizeof *od);
  od[a->rank - 1] = N;
  RtValue *y = rt_out(c, 0, ELEM_FLOAT, a->rank, od);
  if (!y) return -1;
  EffcNbits p = {(int64_t)(a->numel / (uint64_t)K), N, K, bits, bs, b->data, sc->data,
                 zp && zp->elem == ELEM_UINT8 ? zp->data : NULL,
                 zp && zp->elem == ELEM_FLOAT ? zp->data : NULL, gi ? gi->data : NULL,
                 bias ? bias->data : NULL};
  if (p.M == 0) return 0;
  int isa = effc_host_isa();
  void *scratch = nn_alloc(effc_nbits_scratch(&p, 1), 1);
  effc_matmul_nbits(isa, &p, a->data, y->data, scratch, 0, 1);
  free(scratch);
  return 0;
}

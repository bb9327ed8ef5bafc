/* model: Phi-3's fused projections. One matrix gives q, k and v side by
 * side per token; another gives the gate and up halves of the
 * feed-forward. The long-rope factors and attention factor are chosen at
 * load (model.c, arch.c); the rest is the shared llama pass. */
#include <string.h>

#include "model/model_internal.h"

void model_phi3_split_qkv(const model *m, const float *qkv, int n) {
    const model_hparams *hp = &m->hp;
    size_t q_dim = (size_t)hp->n_head * hp->head_dim, kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    size_t row = q_dim + 2 * kv_dim;
    for (int t = 0; t < n; t++) {
        const float *r = qkv + (size_t)t * row;
        memcpy(m->s.q + (size_t)t * q_dim, r, q_dim * sizeof(float));
        memcpy(m->s.k + (size_t)t * kv_dim, r + q_dim, kv_dim * sizeof(float));
        memcpy(m->s.v + (size_t)t * kv_dim, r + q_dim + kv_dim, kv_dim * sizeof(float));
    }
}

/* hb = silu(gate) * up, with gate the first n_ff values of each row. */
void model_phi3_swiglu(const model *m, const float *gate_up, int n) {
    int n_ff = m->hp.n_ff;
    for (int t = 0; t < n; t++) {
        float *out = m->s.hb + (size_t)t * n_ff;
        memcpy(out, gate_up + (size_t)t * 2 * n_ff, (size_t)n_ff * sizeof(float));
        tensor_silu_mul(out, gate_up + (size_t)t * 2 * n_ff + n_ff, n_ff);
    }
}

/* tensor: attention of a batch of queries against one kv head (see
 * tensor.h), four queries at a time over the ISA's float kernels. */
#include <string.h>

#include "tensor/quants.h"

enum { KEYS = TENSOR_ATTN_KEYS, TILE = 4 };

static size_t panels_of(int n_kv) { return ((size_t)n_kv + KEYS - 1) / KEYS; }

size_t tensor_attn_keys_floats(int n_kv, int hd) { return panels_of(n_kv) * KEYS * (size_t)hd; }

/* Scores of four queries over their windows' union, whole panels: the
 * union may start and end inside a panel. */
size_t tensor_attn_work_floats(int n_kv) { return TILE * (panels_of(n_kv) + 1) * KEYS; }

void tensor_attn_pack_keys(float *panels, int j0, const float *rows, size_t stride, int nrows, int hd) {
    const tensor_vec_ops *ops = tensor_get_ops();
    for (int r = 0; r < nrows; r += KEYS)
        ops->pack_keys(panels + (size_t)(j0 + r) / KEYS * KEYS * (size_t)hd, rows + (size_t)r * stride, stride,
                       nrows - r < KEYS ? nrows - r : KEYS, hd);
}

/* One query's probabilities over the union's keys [u0, u1), zero outside
 * its window; row holds the union's panels from key p0. The window's
 * softmax runs on its own slice, so its lanes do not depend on the union. */
static void probabilities(const tensor_vec_ops *ops, const tensor_attn_head *h, const tensor_attn_query *q, float *row,
                          int p0, int u0, int u1) {
    float *x = row + (q->j0 - p0);
    if (h->softcap > 0) tensor_softcap(x, q->n, h->softcap);
    ops->softmax(x, q->n, q->sink);
    memset(row + (u0 - p0), 0, (size_t)(q->j0 - u0) * sizeof(float));
    memset(x + q->n, 0, (size_t)(u1 - q->j0 - q->n) * sizeof(float));
}

/* A window's keys come in ascending order, and keys before it weigh 0:
 * FMAs of +0 leave the value sums' bits as the window alone gives them. */
static void attend_tile(const tensor_vec_ops *ops, const tensor_attn_head *h, const tensor_attn_query *q, int nq,
                        float *work) {
    int u0 = q[0].j0, u1 = q[0].j0 + q[0].n;
    for (int i = 1; i < nq; i++) {
        if (q[i].j0 < u0) u0 = q[i].j0;
        if (q[i].j0 + q[i].n > u1) u1 = q[i].j0 + q[i].n;
    }
    const int p0 = u0 / KEYS * KEYS, np = (u1 - p0 + KEYS - 1) / KEYS;
    const size_t stride = (size_t)np * KEYS;
    const float *qv[TILE];
    float *out[TILE];
    for (int i = 0; i < nq; i++) {
        qv[i] = q[i].q;
        out[i] = q[i].out;
    }
    ops->attn_scores(h->keys + (size_t)p0 * h->hd, h->hd, np, qv, nq, h->scale, work, stride);
    for (int i = 0; i < nq; i++) probabilities(ops, h, &q[i], work + i * stride, p0, u0, u1);
    ops->attn_values(work + (u0 - p0), stride, nq, h->values + (size_t)u0 * h->v_stride, h->v_stride, u1 - u0, h->hd,
                     out);
}

void tensor_attend(const tensor_attn_head *h, const tensor_attn_query *q, int nq, float *work) {
    const tensor_vec_ops *ops = tensor_get_ops();
    for (int i = 0; i < nq; i += TILE) attend_tile(ops, h, q + i, nq - i < TILE ? nq - i : TILE, work);
}

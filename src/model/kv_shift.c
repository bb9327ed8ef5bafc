/* model: context shift of one sequence's KV cache. When generation fills
 * the context, the runner drops a block of positions after the kept prefix
 * and moves the rest down, as llama.cpp's server does: V rows move as
 * bytes, K rows are also re-rotated by RoPE for their new positions
 * (rotations compose, so rotating by -discard is exact in real numbers).
 * A sliding-window layer's ring is rebuilt for the new positions: each
 * row it will hold is read from where its old position lies, then all
 * are written back in their new rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

typedef struct shift_job {
    model *m;
    int seq, keep, discard, n_used;
    float *cos_t, *sin_t; /* n_rot/2: the rotation by -discard */
    float *cos_swa, *sin_swa; /* the same for sliding layers with their own rope (Gemma 3) */
} shift_job;

/* The rotation by `delta` positions, computed in double: it is applied
 * once per shift, so its own rounding should not add to the cache's. The
 * layer's own angles (model_rope_freq) cover rope bases per layer type,
 * frequency factors and YaRN. */
static void shift_tables(const model *m, int delta, bool swa, float *c, float *s) {
    int half = m->hp.n_rot / 2;
    for (int i = 0; i < half; i++) {
        double th = (double)delta * model_rope_freq(m, swa, i);
        c[i] = (float)cos(th);
        s[i] = (float)sin(th);
    }
}

static void rotate_row(const model_hparams *hp, float *x, const float *c, const float *s) {
    for (int h = 0; h < hp->n_head_kv; h++) model_rope_head(hp, x + (size_t)h * hp->head_dim, c, s);
}

/* The new positions a ring keeps after the shift: the last cap of them
 * (those whose old rows it still holds; model_kv_shift checks that the
 * window of what comes next is among them). */
static int ring_first(const model *m, int il, const shift_job *j) {
    int n_new = j->n_used - j->discard, first = n_new - m->kv.cap[il];
    return first > 0 ? first : 0;
}

static int old_position(const shift_job *j, int q) { return q < j->keep ? q : q + j->discard; }

/* Whether the ring rows of old position p still hold it. */
static bool ring_holds(const model *m, int il, int seq, int p) {
    return p <= m->kv.max_pos[seq] && p > m->kv.max_pos[seq] - m->kv.cap[il];
}

static void shift_ring(shift_job *j, int il, float *row) {
    model *m = j->m;
    const model_hparams *hp = &m->hp;
    const tensor_traits *tr = tensor_get_traits(m->kv.type);
    bool own = m->layers[il].swa && m->s.rope_cos_swa;
    int kv_dim = hp->n_head_kv * hp->head_dim, first = ring_first(m, il, j), n = j->n_used - j->discard - first;
    size_t rb = m->kv.row_bytes;
    uint8_t *k = oc_malloc((size_t)n * rb), *v = oc_malloc((size_t)n * rb);
    for (int i = 0; i < n; i++) {
        int q = first + i, p = old_position(j, q);
        if (!ring_holds(m, il, j->seq, p)) continue; /* not in any window from here on */
        size_t at = model_kv_row(m, il, j->seq, p);
        memcpy(v + (size_t)i * rb, m->kv.v + at, rb);
        if (q < j->keep) {
            memcpy(k + (size_t)i * rb, m->kv.k + at, rb);
            continue;
        }
        tr->to_float(m->kv.k + at, row, kv_dim);
        rotate_row(hp, row, own ? j->cos_swa : j->cos_t, own ? j->sin_swa : j->sin_t);
        tr->from_float(row, k + (size_t)i * rb, kv_dim);
    }
    for (int i = 0; i < n; i++) {
        if (!ring_holds(m, il, j->seq, old_position(j, first + i))) continue;
        size_t at = model_kv_row(m, il, j->seq, first + i);
        memcpy(m->kv.k + at, k + (size_t)i * rb, rb);
        memcpy(m->kv.v + at, v + (size_t)i * rb, rb);
    }
    free(k);
    free(v);
}

/* One layer per work item. */
static void task_shift(void *ctx, int ith, int nth) {
    shift_job *j = ctx;
    model *m = j->m;
    const model_hparams *hp = &m->hp;
    const tensor_traits *tr = tensor_get_traits(m->kv.type);
    int kv_dim = hp->n_head_kv * hp->head_dim, from = j->keep + j->discard, n_move = j->n_used - from;
    float *row = oc_malloc((size_t)kv_dim * sizeof(float));
    for (int il = ith; il < hp->n_layer; il += nth) {
        if (model_kv_ring(m, il)) {
            shift_ring(j, il, row);
            continue;
        }
        bool own = m->layers[il].swa && m->s.rope_cos_swa;
        for (int p = from; p < j->n_used; p++) {
            tr->to_float(m->kv.k + model_kv_row(m, il, j->seq, p), row, kv_dim);
            rotate_row(hp, row, own ? j->cos_swa : j->cos_t, own ? j->sin_swa : j->sin_t);
            tr->from_float(row, m->kv.k + model_kv_row(m, il, j->seq, p - j->discard), kv_dim);
        }
        memmove(m->kv.v + model_kv_row(m, il, j->seq, j->keep), m->kv.v + model_kv_row(m, il, j->seq, from),
                (size_t)n_move * m->kv.row_bytes);
    }
    free(row);
}

int model_kv_shift(model *m, int seq, int keep, int discard, int n_used, oc_error *err) {
    if (m->hp.encoder) return oc_fail(err, "an encoder model has no KV cache to shift");
    if (seq < 0 || seq >= m->params.n_seq || keep < 0 || discard <= 0 || keep + discard > n_used ||
        n_used > m->params.n_ctx)
        return oc_fail(err, "invalid context shift (keep %d, discard %d, used %d)", keep, discard, n_used);
    int half = m->hp.n_rot / 2;
    float *tables = oc_malloc((size_t)(4 * half + 1) * sizeof(float));
    shift_job j = {.m = m, .seq = seq, .keep = keep, .discard = discard, .n_used = n_used,
                   .cos_t = tables, .sin_t = tables + half, .cos_swa = tables + 2 * half, .sin_swa = tables + 3 * half};
    /* The window of the next position must survive in every ring (a kept
     * prefix longer than the ring can lose part of it). */
    int n_new = n_used - discard, lowest = n_new - m->hp.n_swa + 1 > 0 ? n_new - m->hp.n_swa + 1 : 0;
    for (int il = 0; il < m->hp.n_layer; il++)
        for (int q = lowest; q < n_new && model_kv_ring(m, il); q++)
            if (!ring_holds(m, il, seq, old_position(&j, q))) {
                free(tables);
                return oc_fail(err, "context shift would lose part of the sliding window (keep %d)", keep);
            }
    shift_tables(m, -discard, false, j.cos_t, j.sin_t);
    shift_tables(m, -discard, true, j.cos_swa, j.sin_swa);
    tensor_pool_run(m->pool, task_shift, &j);
    m->kv.max_pos[seq] = n_new - 1;
    m->kv.ckpt_pos[seq] = -1; /* its positions are the old ones */
    free(tables);
    return 0;
}

/* model: the forward pass of the llama family (Llama 2/3, Mistral,
 * TinyLlama, Qwen2): RMSNorm, RoPE (normal or NeoX pairing), grouped-query
 * attention over the KV cache, SwiGLU feed-forward, optional biases.
 * Each step is split over the thread pool; matmuls take the whole batch at
 * once so prefill is matrix x matrix. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "model/model_internal.h"

#define ATTN_TOKENS_PER_ITEM 16

typedef struct run run;

typedef struct pass {
    model *m;
    const model_batch *b;
    int n, il;
    run *runs;
    int n_runs;
    atomic_int next_item;
} pass;

/* Row of the cache that holds (layer, sequence, position). */
static size_t kv_row(const model *m, int il, int seq, int pos) {
    return (((size_t)il * m->params.n_seq + (size_t)seq) * m->params.n_ctx + (size_t)pos) * m->kv.row_bytes;
}

static void matmul(model *m, const weight *w, const float *x, float *y, int n) {
    tensor_matmul(m->pool, w->data, w->type, x, y, w->n_in, w->n_out, n, m->s.quant);
}

static void add_bias(float *y, const float *b, int dim, int n) {
    if (!b) return;
    for (int t = 0; t < n; t++)
        for (int i = 0; i < dim; i++) y[(size_t)t * dim + i] += b[i];
}

/* ---- row-parallel steps ---- */

static void task_attn_norm(void *ctx, int ith, int nth) {
    pass *p = ctx;
    const model_hparams *hp = &p->m->hp;
    const float *w = p->m->layers[p->il].attn_norm;
    for (int t = ith; t < p->n; t += nth)
        tensor_rmsnorm(p->m->s.xb + (size_t)t * hp->n_embd, p->m->s.x + (size_t)t * hp->n_embd, w, hp->n_embd, hp->norm_eps);
}

static void task_ffn_norm(void *ctx, int ith, int nth) {
    pass *p = ctx;
    const model_hparams *hp = &p->m->hp;
    const float *w = p->m->layers[p->il].ffn_norm;
    for (int t = ith; t < p->n; t += nth)
        tensor_rmsnorm(p->m->s.xb + (size_t)t * hp->n_embd, p->m->s.x + (size_t)t * hp->n_embd, w, hp->n_embd, hp->norm_eps);
}

static void task_silu(void *ctx, int ith, int nth) {
    pass *p = ctx;
    int n_ff = p->m->hp.n_ff;
    for (int t = ith; t < p->n; t += nth)
        tensor_silu_mul(p->m->s.hb + (size_t)t * n_ff, p->m->s.hb2 + (size_t)t * n_ff, n_ff);
}

/* cos/sin per token and frequency, computed as ggml does (theta advanced by
 * repeated multiplication in float) so logits match llama.cpp closely. */
static void rope_tables(model *m, const model_batch *b) {
    const model_hparams *hp = &m->hp;
    int half = hp->n_rot / 2;
    float theta_scale = powf(hp->rope_base, -2.0f / (float)hp->n_rot);
    float freq_scale = 1.0f / hp->rope_scale;
    for (int t = 0; t < b->n; t++) {
        float theta = (float)b->pos[t];
        for (int i = 0; i < half; i++) {
            float ff = m->rope_freqs ? m->rope_freqs[i] : 1.0f;
            float th = freq_scale * (theta / ff);
            m->s.rope_cos[(size_t)t * half + i] = cosf(th);
            m->s.rope_sin[(size_t)t * half + i] = sinf(th);
            theta *= theta_scale;
        }
    }
}

static void rope_head(const model_hparams *hp, float *x, const float *c, const float *s) {
    int half = hp->n_rot / 2;
    for (int i = 0; i < half; i++) {
        int i0 = hp->rope_neox ? i : 2 * i;
        int i1 = hp->rope_neox ? i + half : 2 * i + 1;
        float x0 = x[i0], x1 = x[i1];
        x[i0] = x0 * c[i] - x1 * s[i];
        x[i1] = x0 * s[i] + x1 * c[i];
    }
}

/* Rotates q and k, then stores k and v into the cache. */
static void task_rope_store(void *ctx, int ith, int nth) {
    pass *p = ctx;
    model *m = p->m;
    const model_hparams *hp = &m->hp;
    int half = hp->n_rot / 2, q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
    tensor_from_float_fn store = tensor_get_traits(m->kv.type)->from_float;
    for (int t = ith; t < p->n; t += nth) {
        const float *c = m->s.rope_cos + (size_t)t * half, *s = m->s.rope_sin + (size_t)t * half;
        float *q = m->s.q + (size_t)t * q_dim, *k = m->s.k + (size_t)t * kv_dim;
        for (int h = 0; h < hp->n_head; h++) rope_head(hp, q + h * hp->head_dim, c, s);
        for (int h = 0; h < hp->n_head_kv; h++) rope_head(hp, k + h * hp->head_dim, c, s);
        size_t row = kv_row(m, p->il, p->b->seq[t], p->b->pos[t]);
        store(k, m->kv.k + row, kv_dim);
        store(m->s.v + (size_t)t * kv_dim, m->kv.v + row, kv_dim);
    }
}

/* ---- attention ---- */

/* One work item: kv head g for tokens [t0, t1) of one sequence. K and V of
 * that head are converted to F32 once per item and shared by the head's
 * query group. */
static void attend_item(pass *p, float *tmp, int g, int seq, int t0, int t1) {
    model *m = p->m;
    const model_hparams *hp = &m->hp;
    int hd = hp->head_dim, n_kv = p->b->pos[t1 - 1] + 1, group = hp->n_head / hp->n_head_kv;
    int q_dim = hp->n_head * hd;
    float *K = tmp, *V = tmp + (size_t)n_kv * hd, *scores = V + (size_t)n_kv * hd;
    tensor_to_float_fn load = tensor_get_traits(m->kv.type)->to_float;
    tensor_vec_dot_fn dot = tensor_get_traits(TENSOR_F32)->vec_dot;
    size_t base = kv_row(m, p->il, seq, 0) + (size_t)g * m->kv.head_bytes;
    for (int j = 0; j < n_kv; j++) {
        load(m->kv.k + base + (size_t)j * m->kv.row_bytes, K + (size_t)j * hd, hd);
        load(m->kv.v + base + (size_t)j * m->kv.row_bytes, V + (size_t)j * hd, hd);
    }
    float scale = 1.0f / sqrtf((float)hd);
    for (int t = t0; t < t1; t++) {
        int len = p->b->pos[t] + 1; /* causal: positions 0 .. pos */
        for (int h = g * group; h < (g + 1) * group; h++) {
            const float *q = m->s.q + (size_t)t * q_dim + (size_t)h * hd;
            float *out = m->s.att + (size_t)t * q_dim + (size_t)h * hd;
            for (int j = 0; j < len; j++) {
                dot(hd, &scores[j], K + (size_t)j * hd, q);
                scores[j] *= scale;
            }
            tensor_softmax(scores, len);
            memset(out, 0, (size_t)hd * sizeof(float));
            for (int j = 0; j < len; j++) {
                const float *v = V + (size_t)j * hd;
                float w = scores[j];
                for (int i = 0; i < hd; i++) out[i] += w * v[i];
            }
        }
    }
}

/* Items are (run, chunk of ATTN_TOKENS_PER_ITEM tokens, kv head), taken
 * from a shared counter so uneven runs still balance over the threads. */
static void task_attention(void *ctx, int ith, int nth) {
    (void)nth;
    pass *p = ctx;
    int n_kv_head = p->m->hp.n_head_kv;
    for (;;) {
        int it = atomic_fetch_add_explicit(&p->next_item, 1, memory_order_relaxed);
        int r = 0;
        for (; r < p->n_runs; r++) {
            const run *ru = &p->runs[r];
            int items = (ru->t1 - ru->t0 + ATTN_TOKENS_PER_ITEM - 1) / ATTN_TOKENS_PER_ITEM * n_kv_head;
            if (it < items) break;
            it -= items;
        }
        if (r == p->n_runs) break;
        const run *ru = &p->runs[r];
        int g = it % n_kv_head, t0 = ru->t0 + it / n_kv_head * ATTN_TOKENS_PER_ITEM;
        int t1 = t0 + ATTN_TOKENS_PER_ITEM < ru->t1 ? t0 + ATTN_TOKENS_PER_ITEM : ru->t1;
        attend_item(p, p->m->s.attn_tmp[ith], g, ru->seq, t0, t1);
    }
}

static int split_runs(const model_batch *b, run *runs) {
    int n = 0;
    for (int t = 0; t < b->n; t++) {
        if (t == 0 || b->seq[t] != b->seq[t - 1]) runs[n++] = (run){t, t, b->seq[t]};
        runs[n - 1].t1 = t + 1;
    }
    return n;
}

/* ---- the pass ---- */

static void embed(model *m, const int32_t *tokens, int n) {
    tensor_to_float_fn to_float = tensor_get_traits(m->tok_embd.type)->to_float;
    size_t row_bytes = tensor_row_size(m->tok_embd.type, m->hp.n_embd);
    for (int t = 0; t < n; t++)
        to_float((const uint8_t *)m->tok_embd.data + (size_t)tokens[t] * row_bytes,
                 m->s.x + (size_t)t * m->hp.n_embd, m->hp.n_embd);
}

static void residual_add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

static void attention_block(model *m, pass *p) {
    const model_hparams *hp = &m->hp;
    const layer *L = &m->layers[p->il];
    int n = p->n, q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
    tensor_pool_run(m->pool, task_attn_norm, p);
    matmul(m, &L->wq, m->s.xb, m->s.q, n);
    matmul(m, &L->wk, m->s.xb, m->s.k, n);
    matmul(m, &L->wv, m->s.xb, m->s.v, n);
    add_bias(m->s.q, L->bq, q_dim, n);
    add_bias(m->s.k, L->bk, kv_dim, n);
    add_bias(m->s.v, L->bv, kv_dim, n);
    tensor_pool_run(m->pool, task_rope_store, p);
    atomic_store(&p->next_item, 0);
    tensor_pool_run(m->pool, task_attention, p);
    matmul(m, &L->wo, m->s.att, m->s.xb, n);
    add_bias(m->s.xb, L->bo, hp->n_embd, n);
    residual_add(m->s.x, m->s.xb, (size_t)n * hp->n_embd);
}

static void ffn_block(model *m, pass *p) {
    const layer *L = &m->layers[p->il];
    int n = p->n;
    tensor_pool_run(m->pool, task_ffn_norm, p);
    matmul(m, &L->w_gate, m->s.xb, m->s.hb, n);
    matmul(m, &L->w_up, m->s.xb, m->s.hb2, n);
    tensor_pool_run(m->pool, task_silu, p);
    matmul(m, &L->w_down, m->s.hb, m->s.xb, n);
    residual_add(m->s.x, m->s.xb, (size_t)n * m->hp.n_embd);
}

/* Final norm and output projection of the tokens whose logits are wanted. */
static void output_logits(model *m, const model_batch *b, float *logits) {
    const model_hparams *hp = &m->hp;
    int n_out = 0;
    for (int t = 0; t < b->n; t++)
        if (b->logits ? b->logits[t] : t == b->n - 1) m->s.out_rows[n_out++] = t;
    for (int i = 0; i < n_out; i++)
        tensor_rmsnorm(m->s.xb + (size_t)i * hp->n_embd, m->s.x + (size_t)m->s.out_rows[i] * hp->n_embd,
                       m->output_norm, hp->n_embd, hp->norm_eps);
    if (n_out > 0) matmul(m, &m->output, m->s.xb, logits, n_out);
}

void model_llama_decode(model *m, const model_batch *b, float *logits) {
    const model_hparams *hp = &m->hp;
    pass p = {.m = m, .b = b, .n = b->n, .runs = m->s.runs};
    p.n_runs = split_runs(b, p.runs);
    embed(m, b->tokens, b->n);
    rope_tables(m, b);
    for (int il = 0; il < hp->n_layer; il++) {
        p.il = il;
        attention_block(m, &p);
        ffn_block(m, &p);
    }
    if (logits) output_logits(m, b, logits);
}

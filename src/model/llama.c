/* model: the forward pass of the llama family (Llama 2/3, Mistral,
 * TinyLlama, Qwen2) and the families built from its pieces (Qwen3, Gemma
 * 1/2/3, Phi-3): RMSNorm, RoPE (normal or NeoX pairing), grouped-query
 * attention over the KV cache, SwiGLU feed-forward, optional biases; and,
 * where a family's fields ask for them (arch.c), q/k norms, sliding-window
 * layers, soft-capping, post-norms, GELU gating and fused projections.
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
    bool bidir;   /* encoder: attention within each run both ways, no cache */
    run *runs;
    int n_runs;
    atomic_int next_item;
} pass;


static void matmul(model *m, const weight *w, const float *x, float *y, int n) { model_matmul(m, w, x, y, n); }

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
/* YaRN: pair i's angle mixes interpolation (th) and extrapolation
 * (theta) by a ramp between the correction dimensions. */
static float yarn_angle(const model_hparams *hp, float th, float theta, int i) {
    float y = ((float)i - hp->yarn_corr[0]) / fmaxf(0.001f, hp->yarn_corr[1] - hp->yarn_corr[0]);
    float ramp = 1 - fminf(1, fmaxf(0, y));
    return th * (1 - ramp) + theta * ramp;
}

/* The cos/sin scale: phi3's attention factor, or YaRN's magnitude
 * correction (llama.cpp's context factor times ggml's, which cancel to
 * 1 + 0.1 ln(scale) up to rounding). */
static float rope_mscale(const model_hparams *hp, float freq_scale) {
    float ms = hp->rope_attn_factor > 0 ? hp->rope_attn_factor : 1.0f;
    if (!hp->rope_yarn) return ms;
    float factor = 1.0f / freq_scale;
    ms *= (0.1f * logf(factor) + 1.0f) * (1.0f / (1.0f + 0.1f * logf(factor)));
    return ms * (1.0f + 0.1f * logf(1.0f / freq_scale));
}

static void rope_table(const model *m, const model_batch *b, float base, float scale, float *cos_out, float *sin_out) {
    const model_hparams *hp = &m->hp;
    int half = hp->n_rot / 2;
    float theta_scale = powf(base, -2.0f / (float)hp->n_rot);
    float freq_scale = 1.0f / scale, mscale = rope_mscale(hp, freq_scale);
    for (int t = 0; t < b->n; t++) {
        float theta = (float)b->pos[t];
        for (int i = 0; i < half; i++) {
            float ff = m->rope_freqs ? m->rope_freqs[i] : 1.0f;
            float th = freq_scale * (theta / ff);
            if (hp->rope_yarn) th = yarn_angle(hp, th, theta / ff, i);
            cos_out[(size_t)t * half + i] = cosf(th) * mscale;
            sin_out[(size_t)t * half + i] = sinf(th) * mscale;
            theta *= theta_scale;
        }
    }
}

/* Angle per position of rotation pair i in a sliding (swa) or other
 * layer, in double: the rotation rope_table applies, for re-rotating
 * cached keys by a whole shift at once (kv_shift.c). */
double model_rope_freq(const model *m, bool swa, int i) {
    const model_hparams *hp = &m->hp;
    bool own = swa && m->s.rope_cos_swa;
    double base = own ? hp->rope_base_swa : hp->rope_base, scale = own ? hp->rope_scale_swa : hp->rope_scale;
    double ff = m->rope_freqs ? m->rope_freqs[i] : 1.0;
    double extrap = pow(base, -2.0 * i / hp->n_rot) / ff, interp = extrap / scale;
    if (!hp->rope_yarn) return interp;
    float y = ((float)i - hp->yarn_corr[0]) / fmaxf(0.001f, hp->yarn_corr[1] - hp->yarn_corr[0]);
    double ramp = 1 - fmin(1, fmax(0, y));
    return interp * (1 - ramp) + extrap * ramp;
}

/* Sliding layers of Gemma 3 rotate with their own base: a second table. */
void model_rope_tables(model *m, const model_batch *b) {
    const model_hparams *hp = &m->hp;
    rope_table(m, b, hp->rope_base, hp->rope_scale, m->s.rope_cos, m->s.rope_sin);
    if (m->s.rope_cos_swa)
        rope_table(m, b, hp->rope_base_swa, hp->rope_scale_swa, m->s.rope_cos_swa, m->s.rope_sin_swa);
}

void model_rope_head(const model_hparams *hp, float *x, const float *c, const float *s) {
    int half = hp->n_rot / 2;
    for (int i = 0; i < half; i++) {
        int i0 = hp->rope_neox ? i : 2 * i;
        int i1 = hp->rope_neox ? i + half : 2 * i + 1;
        float x0 = x[i0], x1 = x[i1];
        x[i0] = x0 * c[i] - x1 * s[i];
        x[i1] = x0 * s[i] + x1 * c[i];
    }
}

/* Qwen3 and Gemma 3 normalise each head of q and k before rotating. */
static void norm_heads(float *x, const float *w, int n_head, int hd, float eps) {
    for (int h = 0; h < n_head; h++) tensor_rmsnorm(x + (size_t)h * hd, x + (size_t)h * hd, w, hd, eps);
}

/* Rotates q and k, then stores k and v into the cache. */
static void task_rope_store(void *ctx, int ith, int nth) {
    pass *p = ctx;
    model *m = p->m;
    const model_hparams *hp = &m->hp;
    const layer *L = &m->layers[p->il];
    int half = hp->n_rot / 2, q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
    tensor_from_float_fn store = tensor_get_traits(m->kv.type)->from_float;
    bool own = L->swa && m->s.rope_cos_swa;
    const float *cos_tab = own ? m->s.rope_cos_swa : m->s.rope_cos, *sin_tab = own ? m->s.rope_sin_swa : m->s.rope_sin;
    for (int t = ith; t < p->n; t += nth) {
        const float *c = cos_tab + (size_t)t * half, *s = sin_tab + (size_t)t * half;
        float *q = m->s.q + (size_t)t * q_dim, *k = m->s.k + (size_t)t * kv_dim;
        if (L->q_norm) norm_heads(q, L->q_norm, hp->n_head, hp->head_dim, hp->norm_eps);
        if (L->k_norm) norm_heads(k, L->k_norm, hp->n_head_kv, hp->head_dim, hp->norm_eps);
        for (int h = 0; h < hp->n_head; h++) model_rope_head(hp, q + h * hp->head_dim, c, s);
        for (int h = 0; h < hp->n_head_kv; h++) model_rope_head(hp, k + h * hp->head_dim, c, s);
        if (p->bidir) continue;
        size_t row = model_kv_row(m, p->il, p->b->seq[t], p->b->pos[t]);
        store(k, m->kv.k + row, kv_dim);
        store(m->s.v + (size_t)t * kv_dim, m->kv.v + row, kv_dim);
    }
}

/* ---- attention ---- */

/* Where one thread's attention scratch (m->s.attn_tmp) puts what:
 * the head's key panels, its values as F32 rows, tensor_attend's work, and
 * room to convert a panel's keys. */
typedef struct attn_scratch {
    float *keys, *values, *work, *stage;
} attn_scratch;

static attn_scratch attn_scratch_of(float *tmp, int n_ctx, int hd) {
    attn_scratch a = {.keys = tmp};
    a.values = a.keys + tensor_attn_keys_floats(n_ctx, hd);
    a.work = a.values + (size_t)n_ctx * hd;
    a.stage = a.work + tensor_attn_work_floats(n_ctx);
    return a;
}

static float attn_scale(const model_hparams *hp) {
    return hp->attn_scale > 0 ? hp->attn_scale : 1.0f / sqrtf((float)hp->head_dim);
}

size_t model_attn_tmp_floats(int n_ctx, int hd) {
    return tensor_attn_keys_floats(n_ctx, hd) + (size_t)n_ctx * hd + tensor_attn_work_floats(n_ctx) +
           (size_t)TENSOR_ATTN_KEYS * hd;
}

/* Queries go to tensor_attend a tile at a time, in order: token by token,
 * the heads of the group (which share a window) side by side. */
typedef struct query_batch {
    const tensor_attn_head *head;
    float *work;
    tensor_attn_query q[4];
    int n;
} query_batch;

static void query_add(query_batch *qb, tensor_attn_query q) {
    qb->q[qb->n++] = q;
    if (qb->n == 4) {
        tensor_attend(qb->head, qb->q, qb->n, qb->work);
        qb->n = 0;
    }
}

static void query_flush(query_batch *qb) {
    if (qb->n) tensor_attend(qb->head, qb->q, qb->n, qb->work);
    qb->n = 0;
}

/* What a thread's scratch holds from its previous item of this pass: kv
 * head g of sequence seq from position lo, n rows converted and packed. */
typedef struct attn_cached {
    int seq, g, lo, n;
} attn_cached;

/* One work item: kv head g for tokens [t0, t1) of one sequence. K and V of
 * that head (from the first position any of the tokens sees) are converted
 * to F32 and shared by the head's query group; what the thread's previous
 * item of the same head converted (a prompt's earlier chunk: the same rows)
 * is kept, so a long prompt converts its prefix once per thread, not once
 * per chunk. A token at pos sees positions 0 .. pos, or pos - n_swa + 1 ..
 * pos in a sliding layer. */
static void attend_item(pass *p, float *tmp, attn_cached *cached, int g, int seq, int t0, int t1) {
    model *m = p->m;
    const model_hparams *hp = &m->hp;
    int hd = hp->head_dim, group = hp->n_head / hp->n_head_kv, q_dim = hp->n_head * hd;
    int window = m->layers[p->il].swa ? hp->n_swa : 0;
    int lo = window && p->b->pos[t0] >= window ? p->b->pos[t0] - window + 1 : 0, n_kv = p->b->pos[t1 - 1] + 1 - lo;
    attn_scratch a = attn_scratch_of(tmp, m->params.n_ctx, hd);
    tensor_to_float_fn load = tensor_get_traits(m->kv.type)->to_float;
    /* rows from position lo on, wrapping at a sliding layer's ring size */
    const int cap = m->kv.cap[p->il];
    const size_t seq_rows = model_kv_row(m, p->il, seq, 0) + (size_t)g * m->kv.head_bytes;
    int from = 0; /* from the start of the last panel the previous item filled */
    if (cached->seq == seq && cached->g == g && cached->lo == lo && cached->n <= n_kv)
        from = cached->n / TENSOR_ATTN_KEYS * TENSOR_ATTN_KEYS;
    *cached = (attn_cached){seq, g, lo, n_kv};
    for (int j = from; j < n_kv; j += TENSOR_ATTN_KEYS) {
        int rows = n_kv - j < TENSOR_ATTN_KEYS ? n_kv - j : TENSOR_ATTN_KEYS;
        int slot = (lo + j) % cap;
        for (int r = 0; r < rows; r++) {
            size_t at = seq_rows + (size_t)slot * m->kv.row_bytes;
            load(m->kv.k + at, a.stage + (size_t)r * hd, hd);
            load(m->kv.v + at, a.values + (size_t)(j + r) * hd, hd);
            if (++slot == cap) slot = 0;
        }
        tensor_attn_pack_keys(a.keys, j, a.stage, (size_t)hd, rows, hd);
    }
    tensor_attn_head head = {
        .hd = hd, .n_kv = n_kv, .keys = a.keys, .values = a.values, .v_stride = (size_t)hd,
        .scale = attn_scale(hp), .softcap = hp->attn_softcap,
    };
    const float *sinks = m->layers[p->il].attn_sinks;
    query_batch qb = {.head = &head, .work = a.work};
    for (int t = t0; t < t1; t++) {
        int pos = p->b->pos[t], j0 = window && pos >= window ? pos - window + 1 - lo : 0, n = pos + 1 - lo - j0;
        for (int h = g * group; h < (g + 1) * group; h++)
            query_add(&qb, (tensor_attn_query){m->s.q + (size_t)t * q_dim + (size_t)h * hd,
                                               m->s.att + (size_t)t * q_dim + (size_t)h * hd, j0, n,
                                               sinks ? &sinks[h] : NULL});
    }
    query_flush(&qb);
}

/* Encoder item: tokens [t0, t1) of run ru attend to the whole run (its K
 * and V rows fresh in scratch, used in place), or to |p - pos| <= n_swa / 2
 * in a sliding layer. */
static void attend_item_bidir(pass *p, float *tmp, int g, const run *ru, int t0, int t1) {
    model *m = p->m;
    const model_hparams *hp = &m->hp;
    int hd = hp->head_dim, group = hp->n_head / hp->n_head_kv, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd;
    int n_kv = ru->t1 - ru->t0, half = m->layers[p->il].swa ? hp->n_swa / 2 : n_kv;
    attn_scratch a = attn_scratch_of(tmp, m->params.n_ctx, hd);
    const float *k0 = m->s.k + (size_t)ru->t0 * kv_dim + (size_t)g * hd;
    tensor_attn_pack_keys(a.keys, 0, k0, (size_t)kv_dim, n_kv, hd);
    tensor_attn_head head = {
        .hd = hd, .n_kv = n_kv, .keys = a.keys, .values = m->s.v + (size_t)ru->t0 * kv_dim + (size_t)g * hd,
        .v_stride = (size_t)kv_dim, .scale = attn_scale(hp),
        .softcap = hp->attn_softcap,
    };
    query_batch qb = {.head = &head, .work = a.work};
    for (int t = t0; t < t1; t++) {
        int i = t - ru->t0, j0 = i - half > 0 ? i - half : 0, j1 = i + half + 1 < n_kv ? i + half + 1 : n_kv;
        for (int h = g * group; h < (g + 1) * group; h++)
            query_add(&qb, (tensor_attn_query){m->s.q + (size_t)t * q_dim + (size_t)h * hd,
                                               m->s.att + (size_t)t * q_dim + (size_t)h * hd, j0, j1 - j0, NULL});
    }
    query_flush(&qb);
}

/* Items are (run, kv head, chunk of ATTN_TOKENS_PER_ITEM tokens), taken
 * from a shared counter so uneven runs still balance over the threads; a
 * head's chunks come in order, so a thread's next item mostly extends the
 * keys its scratch holds (attn_cached). */
static void task_attention(void *ctx, int ith, int nth) {
    (void)nth;
    pass *p = ctx;
    int n_kv_head = p->m->hp.n_head_kv;
    attn_cached cached = {.seq = -1};
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
        int chunks = (ru->t1 - ru->t0 + ATTN_TOKENS_PER_ITEM - 1) / ATTN_TOKENS_PER_ITEM;
        int g = it / chunks, t0 = ru->t0 + it % chunks * ATTN_TOKENS_PER_ITEM;
        int t1 = t0 + ATTN_TOKENS_PER_ITEM < ru->t1 ? t0 + ATTN_TOKENS_PER_ITEM : ru->t1;
        if (p->bidir) attend_item_bidir(p, p->m->s.attn_tmp[ith], g, ru, t0, t1);
        else attend_item(p, p->m->s.attn_tmp[ith], &cached, g, ru->seq, t0, t1);
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
    if (m->hp.embd_scale > 0) /* Gemma */
        for (size_t i = 0; i < (size_t)n * m->hp.n_embd; i++) m->s.x[i] *= m->hp.embd_scale;
}

static void residual_add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* x += norm(y) row by row (Gemma 2/3 post-norms), or x += y. */
static void residual_add_normed(const model *m, float *x, float *y, const float *norm, int n) {
    int E = m->hp.n_embd;
    if (norm)
        for (int t = 0; t < n; t++) tensor_rmsnorm(y + (size_t)t * E, y + (size_t)t * E, norm, E, m->hp.norm_eps);
    residual_add(x, y, (size_t)n * E);
}

/* Steps split by token: a single token is one thread's work, so it runs
 * in the caller without the pool's wake-up and barrier (four per layer in
 * every decode step). */
static void run_rows(model *m, tensor_task_fn fn, pass *p) {
    if (p->n == 1) fn(p, 0, 1);
    else tensor_pool_run(m->pool, fn, p);
}

static void attention_block(model *m, pass *p) {
    const model_hparams *hp = &m->hp;
    const layer *L = &m->layers[p->il];
    int n = p->n, q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
    run_rows(m, task_attn_norm, p);
    if (L->wqkv.data) {
        matmul(m, &L->wqkv, m->s.xb, m->s.hb, n);
        add_bias(m->s.hb, L->bqkv, q_dim + 2 * kv_dim, n);
        model_phi3_split_qkv(m, m->s.hb, n);
    } else {
        matmul(m, &L->wq, m->s.xb, m->s.q, n);
        matmul(m, &L->wk, m->s.xb, m->s.k, n);
        matmul(m, &L->wv, m->s.xb, m->s.v, n);
    }
    add_bias(m->s.q, L->bq, q_dim, n);
    add_bias(m->s.k, L->bk, kv_dim, n);
    add_bias(m->s.v, L->bv, kv_dim, n);
    run_rows(m, task_rope_store, p);
    atomic_store(&p->next_item, 0);
    tensor_pool_run(m->pool, task_attention, p);
    matmul(m, &L->wo, m->s.att, m->s.xb, n);
    add_bias(m->s.xb, L->bo, hp->n_embd, n);
    residual_add_normed(m, m->s.x, m->s.xb, L->attn_post_norm, n);
}

static void task_geglu(void *ctx, int ith, int nth) {
    pass *p = ctx;
    int n_ff = p->m->hp.n_ff;
    for (int t = ith; t < p->n; t += nth)
        model_gemma_geglu(p->m->s.hb + (size_t)t * n_ff, p->m->s.hb2 + (size_t)t * n_ff, n_ff);
}

static void ffn_block(model *m, pass *p) {
    const layer *L = &m->layers[p->il];
    int n = p->n;
    run_rows(m, task_ffn_norm, p);
    if (L->moe) {
        model_moe_ffn(m, L, m->s.xb, m->s.moe_out, n);
        residual_add_normed(m, m->s.x, m->s.moe_out, L->ffn_post_norm, n);
        return;
    }
    if (L->up_fused) {
        matmul(m, &L->w_up, m->s.xb, m->s.hb2, n);
        model_phi3_swiglu(m, m->s.hb2, n);
    } else {
        model_matmul_pair(m, &L->w_gate, &L->w_up, m->s.xb, m->s.hb, m->s.hb2, n);
        run_rows(m, m->hp.ffn_gelu ? task_geglu : task_silu, p);
    }
    matmul(m, &L->w_down, m->s.hb, m->s.xb, n);
    residual_add_normed(m, m->s.x, m->s.xb, L->ffn_post_norm, n);
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
    if (hp->final_softcap > 0) tensor_softcap(logits, n_out * hp->n_vocab, hp->final_softcap);
}

void model_llama_decode(model *m, const model_batch *b, float *logits) {
    const model_hparams *hp = &m->hp;
    pass p = {.m = m, .b = b, .n = b->n, .runs = m->s.runs};
    p.n_runs = split_runs(b, p.runs);
    embed(m, b->tokens, b->n);
    model_rope_tables(m, b);
    for (int il = 0; il < hp->n_layer; il++) {
        p.il = il;
        attention_block(m, &p);
        ffn_block(m, &p);
    }
    if (logits) output_logits(m, b, logits);
}

/* Mean, CLS or last-token pooling of the final-normed states of one run. */
static void pool_run(const model *m, const run *r, const float *x, float *out) {
    int E = m->hp.n_embd;
    int t0 = m->hp.pooling == POOLING_LAST ? r->t1 - 1 : r->t0;
    int t1 = m->hp.pooling == POOLING_MEAN ? r->t1 : t0 + 1;
    memset(out, 0, (size_t)E * sizeof(float));
    for (int t = t0; t < t1; t++)
        for (int i = 0; i < E; i++) out[i] += x[(size_t)t * E + i];
    for (int i = 0; i < E; i++) out[i] /= (float)(t1 - t0);
}

void model_llama_embed(model *m, const model_batch *b, float *out) {
    const model_hparams *hp = &m->hp;
    int E = hp->n_embd;
    pass p = {.m = m, .b = b, .n = b->n, .runs = m->s.runs, .bidir = true};
    p.n_runs = split_runs(b, p.runs);
    embed(m, b->tokens, b->n);
    model_rope_tables(m, b);
    for (int il = 0; il < hp->n_layer; il++) {
        p.il = il;
        attention_block(m, &p);
        ffn_block(m, &p);
    }
    for (int t = 0; t < b->n; t++)
        tensor_rmsnorm(m->s.xb + (size_t)t * E, m->s.x + (size_t)t * E, m->output_norm, E, hp->norm_eps);
    float *pooled = m->dense_2.data ? m->s.x : out; /* x is free once normed into xb */
    for (int r = 0; r < p.n_runs; r++) pool_run(m, &p.runs[r], m->s.xb, pooled + (size_t)r * E);
    if (!m->dense_2.data) return;
    matmul(m, &m->dense_2, pooled, m->s.dense, p.n_runs);
    matmul(m, &m->dense_3, m->s.dense, out, p.n_runs);
}

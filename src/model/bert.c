/* model: BERT-style encoders for embeddings. GGUF architecture "bert"
 * (BERT, bge, all-MiniLM): learned position embeddings, GELU feed-forward
 * with biases. "nomic-bert" (nomic-embed-text): no position table but
 * NeoX RoPE on q and k, fused qkv, SwiGLU feed-forward without biases.
 * Both: post-norm blocks with LayerNorm, bidirectional attention within
 * each input, and pooling (CLS, mean or last) of the final hidden states. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

bool model_is_bert(const char *arch) { return strcmp(arch, "bert") == 0 || strcmp(arch, "nomic-bert") == 0; }

static bool nomic(const model *m) { return strcmp(m->hp.arch, "nomic-bert") == 0; }

#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d.%s", il, suffix), name)

/* q, k, v: one fused matrix (bias optional, as llama.cpp) or three with
 * biases; the output projection's bias is optional for nomic-bert. */
static int bind_attention(model *m, int il, oc_error *err) {
    layer *L = &m->layers[il];
    int E = m->hp.n_embd;
    char name[96];
    if (model_bind_weight(m, &L->wqkv, NAME("attn_qkv.weight"), E, 3 * E, true, err) ||
        model_bind_vector(m, &L->bqkv, NAME("attn_qkv.bias"), 3 * E, true, err))
        return -1;
    bool sep = !L->wqkv.data;
    return (sep && (model_bind_weight(m, &L->wq, NAME("attn_q.weight"), E, E, false, err) ||
                    model_bind_vector(m, &L->bq, NAME("attn_q.bias"), E, false, err) ||
                    model_bind_weight(m, &L->wk, NAME("attn_k.weight"), E, E, false, err) ||
                    model_bind_vector(m, &L->bk, NAME("attn_k.bias"), E, false, err) ||
                    model_bind_weight(m, &L->wv, NAME("attn_v.weight"), E, E, false, err) ||
                    model_bind_vector(m, &L->bv, NAME("attn_v.bias"), E, false, err))) ||
                   model_bind_weight(m, &L->wo, NAME("attn_output.weight"), E, E, false, err) ||
                   model_bind_vector(m, &L->bo, NAME("attn_output.bias"), E, nomic(m), err)
               ? -1 : 0;
}

/* bert: up and down with biases (GELU); nomic-bert: gate, up and down
 * (SwiGLU), whose biases llama.cpp does not read either. */
static int bind_layer(model *m, int il, oc_error *err) {
    const model_hparams *hp = &m->hp;
    layer *L = &m->layers[il];
    int E = hp->n_embd, F = hp->n_ff;
    bool bert = !nomic(m);
    char name[96];
    return bind_attention(m, il, err) ||
           model_bind_vector(m, &L->attn_out_norm, NAME("attn_output_norm.weight"), E, false, err) ||
           model_bind_vector(m, &L->attn_out_norm_b, NAME("attn_output_norm.bias"), E, false, err) ||
           model_bind_weight(m, &L->w_up, NAME("ffn_up.weight"), E, F, false, err) ||
           (bert && model_bind_vector(m, &L->b_up, NAME("ffn_up.bias"), F, false, err)) ||
           (!bert && model_bind_weight(m, &L->w_gate, NAME("ffn_gate.weight"), E, F, false, err)) ||
           model_bind_weight(m, &L->w_down, NAME("ffn_down.weight"), F, E, false, err) ||
           (bert && model_bind_vector(m, &L->b_down, NAME("ffn_down.bias"), E, false, err)) ||
           model_bind_vector(m, &L->out_norm, NAME("layer_output_norm.weight"), E, false, err) ||
           model_bind_vector(m, &L->out_norm_b, NAME("layer_output_norm.bias"), E, false, err)
               ? -1 : 0;
}
#undef NAME

/* A small 2-D table as an owned F32 copy of its first rows. */
static float *table_rows(const gguf_tensor *t, int64_t rows, const char *name, oc_error *err) {
    const tensor_traits *tr = tensor_get_traits((enum tensor_type)t->type);
    if (!tr || !tr->to_float) return oc_fail(err, "tensor '%s' has an unsupported type", name), NULL;
    float *out = oc_malloc((size_t)(t->ne[0] * rows) * sizeof(float));
    tr->to_float(t->data, out, t->ne[0] * rows);
    return out;
}

/* bert: the position table (which also bounds the context); nomic-bert:
 * rope instead, and only what llama.cpp builds (non-causal, no experts). */
static int bind_positions(model *m, oc_error *err) {
    model_hparams *hp = &m->hp;
    char key[96];
    if (nomic(m)) {
        snprintf(key, sizeof key, "%s.attention.causal", m->kv_arch);
        if (gguf_get_bool(m->gguf, key, false)) return oc_fail(err, "nomic-bert: causal attention is not supported");
        snprintf(key, sizeof key, "%s.moe_every_n_layers", m->kv_arch);
        if (gguf_get_int(m->gguf, key, 0) != 0) return oc_fail(err, "nomic-bert: mixture-of-experts layers are not supported");
        hp->rope_neox = true;
        return 0;
    }
    const gguf_tensor *pos = gguf_find_tensor(m->gguf, "position_embd.weight");
    if (!pos || pos->ne[0] != hp->n_embd || pos->ne[1] <= 0 || pos->ne[2] != 1 || pos->ne[3] != 1)
        return oc_fail(err, "missing or bad tensor 'position_embd.weight'");
    if (!(m->pos_embd = table_rows(pos, pos->ne[1], "position_embd.weight", err))) return -1;
    if (hp->n_ctx_train > pos->ne[1]) hp->n_ctx_train = (int)pos->ne[1];
    return 0;
}

int model_bert_bind(model *m, oc_error *err) {
    const model_hparams *hp = &m->hp;
    if (hp->n_head_kv != hp->n_head) return oc_fail(err, "%s: grouped-query attention is not supported", hp->arch);
    if (hp->n_head * hp->head_dim != hp->n_embd)
        return oc_fail(err, "%s: head size %d times %d heads is not the embedding length %d", hp->arch, hp->head_dim,
                       hp->n_head, hp->n_embd);
    if (model_bind_weight(m, &m->tok_embd, "token_embd.weight", hp->n_embd, hp->n_vocab, false, err) ||
        model_bind_vector(m, &m->embd_norm, "token_embd_norm.weight", hp->n_embd, false, err) ||
        model_bind_vector(m, &m->embd_norm_b, "token_embd_norm.bias", hp->n_embd, false, err) ||
        bind_positions(m, err))
        return -1;
    /* Token types are all 0 ("sentence A"): row 0 of the table, if any. */
    const gguf_tensor *typ = gguf_find_tensor(m->gguf, "token_types.weight");
    if (typ && typ->ne[0] == hp->n_embd && !(m->type_embd = table_rows(typ, 1, "token_types.weight", err))) return -1;
    m->layers = oc_calloc((size_t)hp->n_layer, sizeof(layer));
    for (int il = 0; il < hp->n_layer; il++)
        if (bind_layer(m, il, err)) return -1;
    return 0;
}

/* ---- forward ---- */

static void layernorm(float *x, const float *w, const float *b, int n, float eps) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    float scale = (float)(1.0 / sqrt(var / n + eps));
    for (int i = 0; i < n; i++) x[i] = (float)(x[i] - mean) * scale * w[i] + b[i];
}

typedef struct enc_pass {
    model *m;
    const model_batch *b;
    const struct run *runs;
    int n_runs;
    atomic_int next;
} enc_pass;

/* Bidirectional attention of one head over one input: every token sees
 * the whole input; K and V are the pass's rows, used in place. */
static void attend(enc_pass *p, float *tmp, const struct run *r, int h) {
    const model_hparams *hp = &p->m->hp;
    int hd = hp->head_dim, E = hp->n_embd, n = r->t1 - r->t0;
    const scratch *s = &p->m->s;
    float *keys = tmp, *work = tmp + tensor_attn_keys_floats(n, hd);
    tensor_attn_pack_keys(keys, 0, s->k + (size_t)r->t0 * E + (size_t)h * hd, (size_t)E, n, hd);
    tensor_attn_head head = {.hd = hd, .n_kv = n, .keys = keys, .values = s->v + (size_t)r->t0 * E + (size_t)h * hd,
                             .v_stride = (size_t)E, .scale = 1.0f / sqrtf((float)hd)};
    for (int t0 = r->t0; t0 < r->t1; t0 += 4) {
        tensor_attn_query q[4];
        int nq = r->t1 - t0 < 4 ? r->t1 - t0 : 4;
        for (int i = 0; i < nq; i++)
            q[i] = (tensor_attn_query){s->q + (size_t)(t0 + i) * E + (size_t)h * hd,
                                       s->att + (size_t)(t0 + i) * E + (size_t)h * hd, 0, n, NULL};
        tensor_attend(&head, q, nq, work);
    }
}

static void task_attend(void *ctx, int ith, int nth) {
    (void)nth;
    enc_pass *p = ctx;
    int n_head = p->m->hp.n_head;
    for (;;) {
        int it = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (it >= p->n_runs * n_head) break;
        attend(p, p->m->s.attn_tmp[ith], &p->runs[it / n_head], it % n_head);
    }
}

static void add_bias_rows(float *y, const float *b, int dim, int n) {
    if (!b) return; /* optional biases */
    for (int t = 0; t < n; t++)
        for (int i = 0; i < dim; i++) y[(size_t)t * dim + i] += b[i];
}

static void matmul_bias(model *m, const weight *w, const float *bias, const float *x, float *y, int n) {
    model_matmul(m, w, x, y, n);
    add_bias_rows(y, bias, w->n_out, n);
}

/* x = LayerNorm(x + y) row by row. */
static void residual_norm(float *x, const float *y, const float *w, const float *b, int E, int n, float eps) {
    for (int t = 0; t < n; t++) {
        float *row = x + (size_t)t * E;
        for (int i = 0; i < E; i++) row[i] += y[(size_t)t * E + i];
        layernorm(row, w, b, E, eps);
    }
}

static void embed_input(model *m, const model_batch *b) {
    const model_hparams *hp = &m->hp;
    int E = hp->n_embd;
    tensor_to_float_fn to_float = tensor_get_traits(m->tok_embd.type)->to_float;
    size_t row_bytes = tensor_row_size(m->tok_embd.type, E);
    for (int t = 0; t < b->n; t++) {
        float *x = m->s.x + (size_t)t * E;
        to_float((const uint8_t *)m->tok_embd.data + (size_t)b->tokens[t] * row_bytes, x, E);
        const float *pe = m->pos_embd ? m->pos_embd + (size_t)b->pos[t] * E : NULL; /* nomic-bert: rope instead */
        for (int i = 0; i < E; i++) x[i] += (pe ? pe[i] : 0.0f) + (m->type_embd ? m->type_embd[i] : 0.0f);
        layernorm(x, m->embd_norm, m->embd_norm_b, E, hp->norm_eps);
    }
}

/* q, k and v of every token; nomic-bert rotates q and k (NeoX pairs). */
static void project_qkv(model *m, const layer *L, const model_batch *b) {
    scratch *s = &m->s;
    const model_hparams *hp = &m->hp;
    int n = b->n, E = hp->n_embd, half = hp->n_rot / 2;
    if (L->wqkv.data) {
        matmul_bias(m, &L->wqkv, L->bqkv, s->x, s->hb, n);
        model_phi3_split_qkv(m, s->hb, n);
    } else {
        matmul_bias(m, &L->wq, L->bq, s->x, s->q, n);
        matmul_bias(m, &L->wk, L->bk, s->x, s->k, n);
        matmul_bias(m, &L->wv, L->bv, s->x, s->v, n);
    }
    if (!nomic(m)) return;
    for (int t = 0; t < n; t++) {
        const float *c = s->rope_cos + (size_t)t * half, *sn = s->rope_sin + (size_t)t * half;
        for (int h = 0; h < hp->n_head; h++) {
            model_rope_head(hp, s->q + (size_t)t * E + (size_t)h * hp->head_dim, c, sn);
            model_rope_head(hp, s->k + (size_t)t * E + (size_t)h * hp->head_dim, c, sn);
        }
    }
}

/* bert: GELU(up x + b) through down; nomic-bert: silu(gate x) * up x. */
static void feed_forward(model *m, const layer *L, int n) {
    scratch *s = &m->s;
    int F = m->hp.n_ff;
    matmul_bias(m, &L->w_up, L->b_up, s->x, s->hb, n);
    if (L->w_gate.data) {
        matmul_bias(m, &L->w_gate, NULL, s->x, s->hb2, n);
        for (int t = 0; t < n; t++) tensor_silu_mul(s->hb2 + (size_t)t * F, s->hb + (size_t)t * F, F);
        matmul_bias(m, &L->w_down, L->b_down, s->hb2, s->xb, n);
        return;
    }
    model_gelu(s->hb, n * F);
    matmul_bias(m, &L->w_down, L->b_down, s->hb, s->xb, n);
}

static void encoder_layer(model *m, enc_pass *p, int il) {
    const model_hparams *hp = &m->hp;
    const layer *L = &m->layers[il];
    scratch *s = &m->s;
    int n = p->b->n, E = hp->n_embd;
    project_qkv(m, L, p->b);
    atomic_store(&p->next, 0);
    tensor_pool_run(m->pool, task_attend, p);
    matmul_bias(m, &L->wo, L->bo, s->att, s->xb, n);
    residual_norm(s->x, s->xb, L->attn_out_norm, L->attn_out_norm_b, E, n, hp->norm_eps);
    feed_forward(m, L, n);
    residual_norm(s->x, s->xb, L->out_norm, L->out_norm_b, E, n, hp->norm_eps);
}

static void pool_run(const model *m, const struct run *r, float *out) {
    int E = m->hp.n_embd;
    const float *x = m->s.x;
    switch (m->hp.pooling) {
    case POOLING_MEAN:
        memset(out, 0, (size_t)E * sizeof(float));
        for (int t = r->t0; t < r->t1; t++)
            for (int i = 0; i < E; i++) out[i] += x[(size_t)t * E + i] / (float)(r->t1 - r->t0);
        break;
    case POOLING_LAST:
        memcpy(out, x + (size_t)(r->t1 - 1) * E, (size_t)E * sizeof(float));
        break;
    default: /* CLS: the first token */
        memcpy(out, x + (size_t)r->t0 * E, (size_t)E * sizeof(float));
        break;
    }
}

void model_bert_embed(model *m, const model_batch *b, float *out) {
    enc_pass p = {.m = m, .b = b, .runs = m->s.runs};
    int n_runs = 0;
    for (int t = 0; t < b->n; t++) {
        if (t == 0 || b->seq[t] != b->seq[t - 1]) m->s.runs[n_runs++] = (struct run){t, t, b->seq[t]};
        m->s.runs[n_runs - 1].t1 = t + 1;
    }
    p.n_runs = n_runs;
    embed_input(m, b);
    if (nomic(m)) model_rope_tables(m, b);
    for (int il = 0; il < m->hp.n_layer; il++) encoder_layer(m, &p, il);
    for (int r = 0; r < n_runs; r++) pool_run(m, &m->s.runs[r], out + (size_t)r * m->hp.n_embd);
}

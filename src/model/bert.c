/* model: BERT-style encoders for embeddings (GGUF architecture "bert":
 * BERT, bge, all-MiniLM). Post-norm blocks with LayerNorm and biases,
 * bidirectional attention within each input, GELU feed-forward, and
 * pooling (CLS, mean or last) of the final hidden states. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

static int bind_layer(model *m, int il, oc_error *err) {
    const model_hparams *hp = &m->hp;
    layer *L = &m->layers[il];
    int E = hp->n_embd, F = hp->n_ff;
    char name[96];
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d.%s", il, suffix), name)
    return model_bind_weight(m, &L->wq, NAME("attn_q.weight"), E, E, false, err) ||
           model_bind_vector(m, &L->bq, NAME("attn_q.bias"), E, false, err) ||
           model_bind_weight(m, &L->wk, NAME("attn_k.weight"), E, E, false, err) ||
           model_bind_vector(m, &L->bk, NAME("attn_k.bias"), E, false, err) ||
           model_bind_weight(m, &L->wv, NAME("attn_v.weight"), E, E, false, err) ||
           model_bind_vector(m, &L->bv, NAME("attn_v.bias"), E, false, err) ||
           model_bind_weight(m, &L->wo, NAME("attn_output.weight"), E, E, false, err) ||
           model_bind_vector(m, &L->bo, NAME("attn_output.bias"), E, false, err) ||
           model_bind_vector(m, &L->attn_out_norm, NAME("attn_output_norm.weight"), E, false, err) ||
           model_bind_vector(m, &L->attn_out_norm_b, NAME("attn_output_norm.bias"), E, false, err) ||
           model_bind_weight(m, &L->w_up, NAME("ffn_up.weight"), E, F, false, err) ||
           model_bind_vector(m, &L->b_up, NAME("ffn_up.bias"), F, false, err) ||
           model_bind_weight(m, &L->w_down, NAME("ffn_down.weight"), F, E, false, err) ||
           model_bind_vector(m, &L->b_down, NAME("ffn_down.bias"), E, false, err) ||
           model_bind_vector(m, &L->out_norm, NAME("layer_output_norm.weight"), E, false, err) ||
           model_bind_vector(m, &L->out_norm_b, NAME("layer_output_norm.bias"), E, false, err)
               ? -1 : 0;
#undef NAME
}

int model_bert_bind(model *m, oc_error *err) {
    const model_hparams *hp = &m->hp;
    if (hp->n_head_kv != hp->n_head) return oc_fail(err, "bert: grouped-query attention is not supported");
    if (model_bind_weight(m, &m->tok_embd, "token_embd.weight", hp->n_embd, hp->n_vocab, false, err) ||
        model_bind_vector(m, &m->embd_norm, "token_embd_norm.weight", hp->n_embd, false, err) ||
        model_bind_vector(m, &m->embd_norm_b, "token_embd_norm.bias", hp->n_embd, false, err))
        return -1;
    /* Position and token-type tables are 2-D but small: keep F32 copies. */
    const gguf_tensor *pos = gguf_find_tensor(m->gguf, "position_embd.weight");
    const gguf_tensor *typ = gguf_find_tensor(m->gguf, "token_types.weight");
    if (!pos || pos->ne[0] != hp->n_embd) return oc_fail(err, "missing or bad tensor 'position_embd.weight'");
    const tensor_traits *tp = tensor_get_traits((enum tensor_type)pos->type);
    if (!tp || !tp->to_float) return oc_fail(err, "tensor 'position_embd.weight' has an unsupported type");
    m->pos_embd = oc_malloc((size_t)(pos->ne[0] * pos->ne[1]) * sizeof(float));
    tp->to_float(pos->data, m->pos_embd, pos->ne[0] * pos->ne[1]);
    if (hp->n_ctx_train > pos->ne[1]) m->hp.n_ctx_train = (int)pos->ne[1];
    if (typ && typ->ne[0] == hp->n_embd) {
        const tensor_traits *tt = tensor_get_traits((enum tensor_type)typ->type);
        if (!tt || !tt->to_float) return oc_fail(err, "tensor 'token_types.weight' has an unsupported type");
        m->type_embd = oc_malloc((size_t)hp->n_embd * sizeof(float)); /* type 0 only */
        tt->to_float(typ->data, m->type_embd, hp->n_embd);
    }
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

/* Bidirectional attention of one head over one input. */
static void attend(enc_pass *p, float *scores, const struct run *r, int h) {
    const model_hparams *hp = &p->m->hp;
    int hd = hp->head_dim, E = hp->n_embd;
    float scale = 1.0f / sqrtf((float)hd);
    tensor_vec_dot_fn dot = tensor_get_traits(TENSOR_F32)->vec_dot;
    const scratch *s = &p->m->s;
    for (int t = r->t0; t < r->t1; t++) {
        const float *q = s->q + (size_t)t * E + (size_t)h * hd;
        for (int j = r->t0; j < r->t1; j++) {
            dot(hd, &scores[j - r->t0], s->k + (size_t)j * E + (size_t)h * hd, q);
            scores[j - r->t0] *= scale;
        }
        tensor_softmax(scores, r->t1 - r->t0);
        float *out = s->att + (size_t)t * E + (size_t)h * hd;
        memset(out, 0, (size_t)hd * sizeof(float));
        for (int j = r->t0; j < r->t1; j++) {
            const float *v = s->v + (size_t)j * E + (size_t)h * hd;
            for (int i = 0; i < hd; i++) out[i] += scores[j - r->t0] * v[i];
        }
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
    for (int t = 0; t < n; t++)
        for (int i = 0; i < dim; i++) y[(size_t)t * dim + i] += b[i];
}

static void matmul_bias(model *m, const weight *w, const float *bias, const float *x, float *y, int n) {
    tensor_matmul(m->pool, w->data, w->type, x, y, w->n_in, w->n_out, n, m->s.quant);
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
        const float *pe = m->pos_embd + (size_t)b->pos[t] * E;
        for (int i = 0; i < E; i++) x[i] += pe[i] + (m->type_embd ? m->type_embd[i] : 0.0f);
        layernorm(x, m->embd_norm, m->embd_norm_b, E, hp->norm_eps);
    }
}

static void encoder_layer(model *m, enc_pass *p, int il) {
    const model_hparams *hp = &m->hp;
    const layer *L = &m->layers[il];
    scratch *s = &m->s;
    int n = p->b->n, E = hp->n_embd;
    matmul_bias(m, &L->wq, L->bq, s->x, s->q, n);
    matmul_bias(m, &L->wk, L->bk, s->x, s->k, n);
    matmul_bias(m, &L->wv, L->bv, s->x, s->v, n);
    atomic_store(&p->next, 0);
    tensor_pool_run(m->pool, task_attend, p);
    matmul_bias(m, &L->wo, L->bo, s->att, s->xb, n);
    residual_norm(s->x, s->xb, L->attn_out_norm, L->attn_out_norm_b, E, n, hp->norm_eps);
    matmul_bias(m, &L->w_up, L->b_up, s->x, s->hb, n);
    tensor_gelu(s->hb, n * hp->n_ff);
    matmul_bias(m, &L->w_down, L->b_down, s->hb, s->xb, n);
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
    for (int il = 0; il < m->hp.n_layer; il++) encoder_layer(m, &p, il);
    for (int r = 0; r < n_runs; r++) pool_run(m, &m->s.runs[r], out + (size_t)r * m->hp.n_embd);
}

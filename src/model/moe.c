/* model: mixture-of-experts feed-forward (Mixtral in the llama
 * architecture, qwen3moe, gpt-oss). A router picks n_expert_used experts
 * per token: softmax over all experts then the top k renormalised
 * (Mixtral, Qwen3), or the top k logits then a softmax over them
 * (gpt-oss). Tokens are grouped by expert so that each expert's matrices
 * run once per batch over all its tokens (prefill stays matrix x matrix).
 * Expert weights are 3-D tensors in any type with a vec_dot (gpt-oss
 * ships MXFP4), packed at load as the dense matrices are where the type
 * has a packed layout (model.c), else used in place from the mapping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

/* Binds a [n_in, n_out, n_expert] tensor as expert 0's weight + stride. */
static int bind_experts(model *m, weight *w, size_t *stride, const char *name, int n_in, int n_out, oc_error *err) {
    const gguf_tensor *t = model_find_tensor(m, name);
    if (!t) return oc_fail(err, "missing tensor '%s'", name);
    if (t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != m->hp.n_expert || t->ne[3] != 1)
        return oc_fail(err, "tensor '%s' has shape [%lld, %lld, %lld], expected [%d, %d, %d]", name, (long long)t->ne[0],
                       (long long)t->ne[1], (long long)t->ne[2], n_in, n_out, m->hp.n_expert);
    const tensor_traits *tr = tensor_get_traits((enum tensor_type)t->type);
    if (!tr || !tr->vec_dot || !tensor_row_size((enum tensor_type)t->type, n_in))
        return oc_fail(err, "tensor '%s' has unsupported type %s", name, tensor_type_name((enum tensor_type)t->type));
    *w = (weight){.data = t->data, .type = (enum tensor_type)t->type, .n_in = n_in, .n_out = n_out};
    *stride = tensor_row_size(w->type, n_in) * (size_t)n_out;
    return 0;
}

/* An optional [rows, n_expert] bias as an owned F32 copy. */
static int bind_bias2(model *m, float **out, const char *name, int rows, oc_error *err) {
    *out = NULL;
    const gguf_tensor *t = model_find_tensor(m, name);
    if (!t) return 0;
    if (t->ne[0] != rows || t->ne[1] != m->hp.n_expert || t->ne[2] != 1 || t->ne[3] != 1)
        return oc_fail(err, "tensor '%s' has a bad shape", name);
    const tensor_traits *tr = tensor_get_traits((enum tensor_type)t->type);
    if (!tr || !tr->to_float) return oc_fail(err, "tensor '%s' has an unsupported type", name);
    *out = oc_malloc((size_t)rows * (size_t)m->hp.n_expert * sizeof(float));
    tr->to_float(t->data, *out, (int64_t)rows * m->hp.n_expert);
    return 0;
}

int model_moe_bind(model *m, int il, oc_error *err) {
    const model_hparams *hp = &m->hp;
    experts *x = m->layers[il].moe = oc_calloc(1, sizeof(experts));
    char n[96];
#define NAME(suffix) (snprintf(n, sizeof n, "blk.%d.%s", il, suffix), n)
    int E = hp->n_embd, F = hp->n_ff_exp;
    if (model_bind_weight(m, &x->router, NAME("ffn_gate_inp.weight"), E, hp->n_expert, false, err) ||
        model_bind_vector(m, &x->router_b, NAME("ffn_gate_inp.bias"), hp->n_expert, true, err) ||
        bind_experts(m, &x->gate, &x->gate_stride, NAME("ffn_gate_exps.weight"), E, F, err) ||
        bind_experts(m, &x->up, &x->up_stride, NAME("ffn_up_exps.weight"), E, F, err) ||
        bind_experts(m, &x->down, &x->down_stride, NAME("ffn_down_exps.weight"), F, E, err) ||
        bind_bias2(m, &x->gate_b, NAME("ffn_gate_exps.bias"), F, err) ||
        bind_bias2(m, &x->up_b, NAME("ffn_up_exps.bias"), F, err) || bind_bias2(m, &x->down_b, NAME("ffn_down_exps.bias"), E, err))
        return -1;
#undef NAME
    return 0;
}

/* The experts' matmuls quantize every (token, expert) row of a batch at
 * once: n_batch x n_expert_used of them. */
size_t model_moe_scratch(const model *m, int n_batch) {
    size_t best = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        const experts *x = m->layers[il].moe;
        if (!x) continue;
        const weight *ws[] = {&x->router, &x->gate, &x->up, &x->down};
        for (int i = 0; i < 4; i++) {
            size_t s = tensor_matmul_scratch_size(ws[i]->type, ws[i]->n_in, i ? n_batch * m->hp.n_expert_used : n_batch);
            if (s > best) best = s;
        }
    }
    return best;
}

void model_moe_alloc(model *m) {
    const model_hparams *hp = &m->hp;
    if (hp->n_expert <= 0) return;
    scratch *s = &m->s;
    /* a row per token and selected expert */
    size_t nb = (size_t)m->params.n_batch, k = (size_t)hp->n_expert_used, rows = nb * k;
    s->moe_logits = oc_aligned_alloc(nb * hp->n_expert * sizeof(float));
    s->moe_w = oc_aligned_alloc(rows * sizeof(float));
    s->moe_wrow = oc_aligned_alloc(rows * sizeof(float));
    s->moe_x = oc_aligned_alloc(rows * hp->n_embd * sizeof(float));
    s->moe_y = oc_aligned_alloc(rows * hp->n_embd * sizeof(float));
    s->moe_out = oc_aligned_alloc(nb * hp->n_embd * sizeof(float));
    s->moe_h = oc_aligned_alloc(rows * hp->n_ff_exp * sizeof(float));
    s->moe_h2 = oc_aligned_alloc(rows * hp->n_ff_exp * sizeof(float));
    s->moe_sel = oc_malloc(rows * sizeof(int32_t));
    s->moe_rows = oc_malloc(rows * sizeof(int32_t));
    s->moe_groups = oc_malloc(2 * (size_t)hp->n_expert * sizeof(tensor_mm_group));
    s->moe_first = oc_malloc(((size_t)hp->n_expert + 1) * sizeof(int32_t));
}

void model_moe_free(model *m) {
    scratch *s = &m->s;
    float *bufs[] = {s->moe_logits, s->moe_w, s->moe_wrow, s->moe_x, s->moe_y, s->moe_h, s->moe_h2, s->moe_out};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) oc_aligned_free(bufs[i]);
    free(s->moe_sel);
    free(s->moe_rows);
    free(s->moe_groups);
    free(s->moe_first);
    if (!m->layers) return;
    for (int il = 0; il < m->hp.n_layer; il++) {
        experts *x = m->layers[il].moe;
        if (!x) continue;
        free(x->router_b); free(x->gate_b); free(x->up_b); free(x->down_b);
        free(x);
    }
}

/* The k best of n logits, best first (ties: the lower index first). */
static void top_k(const float *v, int n, int k, int32_t *sel) {
    for (int i = 0; i < k; i++) {
        int best = -1;
        for (int e = 0; e < n; e++) {
            bool taken = false;
            for (int j = 0; j < i; j++) taken |= sel[j] == e;
            if (!taken && (best < 0 || v[e] > v[best])) best = e;
        }
        sel[i] = best;
    }
}

/* Experts and weights of token t from its router logits. */
static void route(const model_hparams *hp, float *logits, int32_t *sel, float *w) {
    int k = hp->n_expert_used;
    if (hp->moe_softmax_topk) {
        top_k(logits, hp->n_expert, k, sel);
        for (int i = 0; i < k; i++) w[i] = logits[sel[i]];
        tensor_softmax(w, k);
        return;
    }
    tensor_softmax(logits, hp->n_expert);
    top_k(logits, hp->n_expert, k, sel);
    float sum = 0;
    for (int i = 0; i < k; i++) sum += w[i] = logits[sel[i]];
    if (sum < 6.103515625e-5f) sum = 6.103515625e-5f; /* as llama.cpp clamps it */
    for (int i = 0; i < k; i++) w[i] /= sum;
}

static void add_rows(float *y, const float *b, int dim, int n) {
    if (!b) return;
    for (int t = 0; t < n; t++)
        for (int i = 0; i < dim; i++) y[(size_t)t * dim + i] += b[i];
}

/* gpt-oss: min(gate, 7) * sigmoid(1.702 gate) * (clamp(up, -7, 7) + 1). */
static void oai_act(float *gate, const float *up, int n) {
    const float alpha = 1.702f, limit = 7.0f;
    for (int i = 0; i < n; i++) {
        float x = fminf(gate[i], limit), y = fminf(fmaxf(up[i], -limit), limit);
        gate[i] = x / (1.0f + expf(alpha * -x)) * (y + 1.0f);
    }
}

/* Expert e's matrix: packed (each expert's copy after the previous one's)
 * or in place. */
static const void *expert_matrix(const weight *w0, size_t stride, int e) {
    if (w0->packed) return (const uint8_t *)w0->packed + (size_t)e * tensor_packed_size(w0->type, w0->n_in, w0->n_out);
    return (const uint8_t *)w0->data + (size_t)e * stride;
}

/* Sorts the batch's (token, expert) pairs by expert, tokens in order
 * within one: row r of moe_x is token moe_rows[r]'s input, weighted
 * moe_wrow[r]; expert e has rows moe_first[e] .. moe_first[e + 1] - 1. */
static void gather_rows(model *m, const float *xb, int n) {
    const model_hparams *hp = &m->hp;
    scratch *s = &m->s;
    const int k = hp->n_expert_used, E = hp->n_embd;
    int32_t *first = s->moe_first;
    memset(first, 0, ((size_t)hp->n_expert + 1) * sizeof *first);
    for (int i = 0; i < n * k; i++) first[s->moe_sel[i] + 1]++;
    for (int e = 0; e < hp->n_expert; e++) first[e + 1] += first[e];
    for (int i = 0; i < n * k; i++) { /* first[e] moves on to expert e + 1's start */
        const int r = first[s->moe_sel[i]]++, t = i / k;
        memcpy(s->moe_x + (size_t)r * E, xb + (size_t)t * E, (size_t)E * sizeof(float));
        s->moe_rows[r] = t;
        s->moe_wrow[r] = s->moe_w[i];
    }
    memmove(first + 1, first, (size_t)hp->n_expert * sizeof *first);
    first[0] = 0;
}

/* The groups of weight w0 (stride bytes between experts) for every expert
 * with rows, writing row r's result at y + r * w0->n_out. */
static int expert_groups(const model *m, const weight *w0, size_t stride, float *y, tensor_mm_group *g) {
    const int32_t *first = m->s.moe_first;
    int n = 0;
    for (int e = 0; e < m->hp.n_expert; e++)
        if (first[e + 1] > first[e])
            g[n++] = (tensor_mm_group){expert_matrix(w0, stride, e), y + (size_t)first[e] * w0->n_out, first[e],
                                       first[e + 1] - first[e]};
    return n;
}

/* Adds each expert's bias (n_expert x dim, or NULL) to its rows of y. */
static void add_expert_bias(const model *m, float *y, const float *b, int dim) {
    const int32_t *first = m->s.moe_first;
    for (int e = 0; b && e < m->hp.n_expert; e++)
        add_rows(y + (size_t)first[e] * dim, b + (size_t)e * dim, dim, first[e + 1] - first[e]);
}

/* Every selected expert's gate and up projections, in one pass over the
 * pool where the two share a type and layout (they always do in
 * published files), then the activation. */
static void experts_up(model *m, const experts *x, int rows) {
    const model_hparams *hp = &m->hp;
    scratch *s = &m->s;
    const int F = hp->n_ff_exp, E = hp->n_embd;
    tensor_mm_group *g = s->moe_groups;
    int ng = expert_groups(m, &x->gate, x->gate_stride, s->moe_h, g);
    if (!model_same_layout(&x->gate, &x->up)) {
        tensor_matmul_groups(m->pool, x->gate.type, x->gate.packed, s->moe_x, rows, E, F, g, ng, s->quant);
        ng = 0;
    }
    ng += expert_groups(m, &x->up, x->up_stride, s->moe_h2, g + ng);
    tensor_matmul_groups(m->pool, x->up.type, x->up.packed, s->moe_x, rows, E, F, g, ng, s->quant);
    add_expert_bias(m, s->moe_h, x->gate_b, F);
    add_expert_bias(m, s->moe_h2, x->up_b, F);
    for (int r = 0; r < rows; r++) {
        float *gate = s->moe_h + (size_t)r * F, *up = s->moe_h2 + (size_t)r * F;
        if (hp->moe_oai_act) oai_act(gate, up, F);
        else tensor_silu_mul(gate, up, F);
    }
}

void model_moe_ffn(model *m, const layer *L, const float *xb, float *out, int n) {
    const model_hparams *hp = &m->hp;
    scratch *s = &m->s;
    const experts *x = L->moe;
    int k = hp->n_expert_used, E = hp->n_embd, rows = n * k;
    tensor_matmul(m->pool, x->router.data, x->router.type, xb, s->moe_logits, E, hp->n_expert, n, s->quant);
    add_rows(s->moe_logits, x->router_b, hp->n_expert, n);
    for (int t = 0; t < n; t++)
        route(hp, s->moe_logits + (size_t)t * hp->n_expert, s->moe_sel + (size_t)t * k, s->moe_w + (size_t)t * k);
    gather_rows(m, xb, n);
    experts_up(m, x, rows);
    const int ng = expert_groups(m, &x->down, x->down_stride, s->moe_y, s->moe_groups);
    tensor_matmul_groups(m->pool, x->down.type, x->down.packed, s->moe_h, rows, hp->n_ff_exp, E, s->moe_groups, ng,
                         s->quant);
    add_expert_bias(m, s->moe_y, x->down_b, E);
    /* expert by expert, as the sums were always made */
    memset(out, 0, (size_t)n * E * sizeof(float));
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)s->moe_rows[r] * E, w = s->moe_wrow[r];
        const float *y = s->moe_y + (size_t)r * E;
        for (int i = 0; i < E; i++) o[i] += w * y[i];
    }
}

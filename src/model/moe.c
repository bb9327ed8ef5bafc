/* model: mixture-of-experts feed-forward (Mixtral in the llama
 * architecture, qwen3moe, gpt-oss). A router picks n_expert_used experts
 * per token: softmax over all experts then the top k renormalised
 * (Mixtral, Qwen3), or the top k logits then a softmax over them
 * (gpt-oss). Tokens are grouped by expert so that each expert's matrices
 * run once per batch over all its tokens (prefill stays matrix x matrix).
 * Expert weights are 3-D tensors used in place from the mapping, in any
 * type with a vec_dot (gpt-oss ships MXFP4). */
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

size_t model_moe_scratch(const model *m, int n_batch) {
    size_t best = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        const experts *x = m->layers[il].moe;
        if (!x) continue;
        const weight *ws[] = {&x->router, &x->gate, &x->up, &x->down};
        for (int i = 0; i < 4; i++) {
            size_t s = tensor_matmul_scratch_size(ws[i]->type, ws[i]->n_in, n_batch);
            if (s > best) best = s;
        }
    }
    return best;
}

void model_moe_alloc(model *m) {
    const model_hparams *hp = &m->hp;
    if (hp->n_expert <= 0) return;
    scratch *s = &m->s;
    size_t nb = (size_t)m->params.n_batch, k = (size_t)hp->n_expert_used;
    s->moe_logits = oc_aligned_alloc(nb * hp->n_expert * sizeof(float));
    s->moe_w = oc_aligned_alloc(nb * k * sizeof(float));
    s->moe_wrow = oc_aligned_alloc(nb * sizeof(float));
    s->moe_x = oc_aligned_alloc(nb * hp->n_embd * sizeof(float));
    s->moe_y = oc_aligned_alloc(nb * hp->n_embd * sizeof(float));
    s->moe_out = oc_aligned_alloc(nb * hp->n_embd * sizeof(float));
    s->moe_h = oc_aligned_alloc(nb * hp->n_ff_exp * sizeof(float));
    s->moe_h2 = oc_aligned_alloc(nb * hp->n_ff_exp * sizeof(float));
    s->moe_sel = oc_malloc(nb * k * sizeof(int32_t));
    s->moe_rows = oc_malloc(nb * sizeof(int32_t));
}

void model_moe_free(model *m) {
    scratch *s = &m->s;
    float *bufs[] = {s->moe_logits, s->moe_w, s->moe_wrow, s->moe_x, s->moe_y, s->moe_h, s->moe_h2, s->moe_out};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) oc_aligned_free(bufs[i]);
    free(s->moe_sel);
    free(s->moe_rows);
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

static void mm(model *m, const weight *w0, size_t stride, int e, const float *x, float *y, int n) {
    tensor_matmul(m->pool, (const uint8_t *)w0->data + (size_t)e * stride, w0->type, x, y, w0->n_in, w0->n_out, n, m->s.quant);
}

/* Expert e over the cnt rows gathered in moe_x; adds weight * result. */
static void run_expert(model *m, const experts *x, int e, int cnt, float *out) {
    const model_hparams *hp = &m->hp;
    scratch *s = &m->s;
    int F = hp->n_ff_exp, E = hp->n_embd;
    mm(m, &x->gate, x->gate_stride, e, s->moe_x, s->moe_h, cnt);
    mm(m, &x->up, x->up_stride, e, s->moe_x, s->moe_h2, cnt);
    add_rows(s->moe_h, x->gate_b ? x->gate_b + (size_t)e * F : NULL, F, cnt);
    add_rows(s->moe_h2, x->up_b ? x->up_b + (size_t)e * F : NULL, F, cnt);
    for (int r = 0; r < cnt; r++) {
        float *g = s->moe_h + (size_t)r * F, *u = s->moe_h2 + (size_t)r * F;
        if (hp->moe_oai_act) oai_act(g, u, F);
        else tensor_silu_mul(g, u, F);
    }
    mm(m, &x->down, x->down_stride, e, s->moe_h, s->moe_y, cnt);
    add_rows(s->moe_y, x->down_b ? x->down_b + (size_t)e * E : NULL, E, cnt);
    for (int r = 0; r < cnt; r++) {
        float *o = out + (size_t)s->moe_rows[r] * E, w = s->moe_wrow[r];
        const float *y = s->moe_y + (size_t)r * E;
        for (int i = 0; i < E; i++) o[i] += w * y[i];
    }
}

void model_moe_ffn(model *m, const layer *L, const float *xb, float *out, int n) {
    const model_hparams *hp = &m->hp;
    scratch *s = &m->s;
    const experts *x = L->moe;
    int k = hp->n_expert_used, E = hp->n_embd;
    tensor_matmul(m->pool, x->router.data, x->router.type, xb, s->moe_logits, E, hp->n_expert, n, s->quant);
    add_rows(s->moe_logits, x->router_b, hp->n_expert, n);
    for (int t = 0; t < n; t++)
        route(hp, s->moe_logits + (size_t)t * hp->n_expert, s->moe_sel + (size_t)t * k, s->moe_w + (size_t)t * k);
    memset(out, 0, (size_t)n * E * sizeof(float));
    for (int e = 0; e < hp->n_expert; e++) {
        int cnt = 0;
        for (int t = 0; t < n; t++)
            for (int i = 0; i < k; i++)
                if (s->moe_sel[(size_t)t * k + i] == e) {
                    memcpy(s->moe_x + (size_t)cnt * E, xb + (size_t)t * E, (size_t)E * sizeof(float));
                    s->moe_rows[cnt] = t;
                    s->moe_wrow[cnt++] = s->moe_w[(size_t)t * k + i];
                }
        if (cnt) run_expert(m, x, e, cnt, out);
    }
}

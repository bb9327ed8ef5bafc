/* model: the architecture families beyond plain llama — which GGUF
 * architectures load, the hyper-parameters each family adds (rope pairing,
 * sliding windows, soft-caps, embedding scale, long-rope factors) and the
 * tensors it adds to the llama set (q/k norms, post-norms, fused
 * projections). The forward pass reads only the resulting fields. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

static const char *const ARCHS[] = {"llama", "mistral", "qwen2", "qwen3", "qwen3moe", "gemma", "gemma2", "gemma3",
                                    "phi3", "gemma-embedding", "gpt-oss"};

bool model_arch_supported(const char *arch) {
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (strcmp(arch, ARCHS[i]) == 0) return true;
    return false;
}

static bool is(const model *m, const char *arch) { return strcmp(m->hp.arch, arch) == 0; }

static const gguf_value *arch_value(const model *m, const char *key) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->kv_arch, key);
    return gguf_get(m->gguf, full);
}

static double key_float(const model *m, const char *key, double def) {
    const gguf_value *v = arch_value(m, key);
    if (!v || v->type == GGUF_TYPE_ARRAY || v->type == GGUF_TYPE_STRING) return def;
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->kv_arch, key);
    return gguf_get_float(m->gguf, full, def);
}

/* Sliding layers: "<arch>.attention.sliding_window_pattern" is either a
 * period (layer il slides unless it is the last of each period) or, as
 * Ollama writes it for Gemma 3, one bool per layer. */
static int mark_swa_layers(model *m, int def_period, oc_error *err) {
    /* (llama.cpp's translation of Ollama's embeddinggemma files drops their
     * pattern for its default of 6, which is what those files say anyway.) */
    const gguf_value *v = arch_value(m, "attention.sliding_window_pattern");
    int n_layer = m->hp.n_layer;
    if (v && v->type == GGUF_TYPE_ARRAY) {
        if ((int)v->arr.n != n_layer) return oc_fail(err, "sliding_window_pattern has %llu entries, expected %d",
                                                     (unsigned long long)v->arr.n, n_layer);
        for (int il = 0; il < n_layer; il++) m->layers[il].swa = gguf_arr_get_int(v, (uint64_t)il) != 0;
        return 0;
    }
    int period = v ? (int)key_float(m, "attention.sliding_window_pattern", def_period) : def_period;
    if (period < 0 || period > 1 << 16) return oc_fail(err, "invalid sliding_window_pattern %d", period);
    for (int il = 0; il < n_layer; il++) m->layers[il].swa = period == 0 || il % period < period - 1;
    return 0;
}

static void gemma_hparams(model *m) {
    model_hparams *hp = &m->hp;
    hp->embd_scale = sqrtf((float)hp->n_embd);
    hp->ffn_gelu = true;
    if (is(m, "gemma")) return;
    /* As gemma_pytorch: the 27B models scale queries by the model width. */
    bool big = (is(m, "gemma2") && hp->n_layer == 46) || (is(m, "gemma3") && hp->n_layer == 62);
    hp->attn_scale = 1.0f / sqrtf((float)(big ? hp->n_embd / hp->n_head : hp->head_dim));
    if (is(m, "gemma2")) {
        hp->n_swa = (int)key_float(m, "attention.sliding_window", 4096);
        hp->attn_softcap = (float)key_float(m, "attn_logit_softcapping", 50.0);
        hp->final_softcap = (float)key_float(m, "final_logit_softcapping", 30.0);
        hp->rope_base_swa = (float)key_float(m, "rope.freq_base_swa", hp->rope_base);
        hp->rope_scale_swa = hp->rope_scale;
        hp->swa_pattern = 2;
    } else { /* gemma3, gemma-embedding: local layers keep their own rope base and no scaling */
        hp->n_swa = (int)key_float(m, "attention.sliding_window", 0);
        hp->swa_symmetric = is(m, "gemma-embedding");
        hp->final_softcap = (float)key_float(m, "final_logit_softcapping", 0.0);
        double local = key_float(m, "rope.local.freq_base", 10000.0);
        hp->rope_base_swa = (float)key_float(m, "rope.freq_base_swa", local);
        hp->rope_scale_swa = 1.0f;
        hp->swa_pattern = 6;
    }
}

/* YaRN (gpt-oss): rotation interpolated by rope_scale below the
 * correction dimensions, extrapolated above, as ggml computes them. */
static void yarn_hparams(model *m, float factor) {
    model_hparams *hp = &m->hp;
    hp->rope_yarn = true;
    hp->rope_scale = factor;
    hp->n_ctx_orig = (int)key_float(m, "rope.scaling.original_context_length", hp->n_ctx_train);
    const float beta[2] = {32.0f, 1.0f};
    for (int i = 0; i < 2; i++) {
        float d = (float)hp->n_rot * logf((float)hp->n_ctx_orig / (beta[i] * 2 * (float)M_PI)) / (2 * logf(hp->rope_base));
        hp->yarn_corr[i] = i == 0 ? fmaxf(0, floorf(d)) : fminf((float)hp->n_rot - 1, ceilf(d));
    }
}

static int moe_hparams(model *m, oc_error *err) {
    model_hparams *hp = &m->hp;
    hp->n_expert = (int)key_float(m, "expert_count", 0);
    hp->n_expert_used = (int)key_float(m, "expert_used_count", 0);
    /* Without the key (Ollama's gpt-oss files), the experts' own shape. */
    const gguf_tensor *ge = model_find_tensor(m, "blk.0.ffn_gate_exps.weight");
    int ff_def = ge && ge->ne[1] > 0 && ge->ne[1] <= 1 << 20 ? (int)ge->ne[1] : hp->n_ff;
    hp->n_ff_exp = (int)key_float(m, "expert_feed_forward_length", ff_def);
    if (hp->n_expert == 0) return 0;
    if (hp->n_expert < 0 || hp->n_expert > 1024 || hp->n_expert_used <= 0 || hp->n_expert_used > hp->n_expert ||
        hp->n_ff_exp <= 0 || hp->n_ff_exp > 1 << 20)
        return oc_fail(err, "invalid experts (%d, %d used, feed-forward %d)", hp->n_expert, hp->n_expert_used, hp->n_ff_exp);
    hp->moe_softmax_topk = hp->moe_oai_act = is(m, "gpt-oss");
    return 0;
}

static void gptoss_hparams(model *m) {
    model_hparams *hp = &m->hp;
    hp->n_swa = (int)key_float(m, "attention.sliding_window", 128);
    hp->swa_pattern = 2;
    hp->rope_base_swa = hp->rope_base;
    hp->rope_scale_swa = hp->rope_scale;
}

int model_arch_hparams(model *m, oc_error *err) {
    model_hparams *hp = &m->hp;
    const char *a = hp->arch;
    hp->rope_neox = is(m, "qwen2") || strncmp(a, "qwen3", 5) == 0 || strncmp(a, "gemma", 5) == 0 || is(m, "phi3") ||
                    is(m, "gpt-oss");
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->kv_arch);
    char *scaling = gguf_get_string(m->gguf, key);
    float factor = (float)key_float(m, "rope.scaling.factor", 0);
    /* gpt-oss always uses YaRN; Ollama's files may not say so. */
    bool yarn = scaling ? strcmp(scaling, "yarn") == 0 : is(m, "gpt-oss");
    if (yarn && factor > 1) yarn_hparams(m, factor);
    free(scaling);
    if (moe_hparams(m, err)) return -1;
    if (is(m, "gpt-oss")) gptoss_hparams(m);
    if (strncmp(a, "gemma", 5) == 0) gemma_hparams(m);
    if (is(m, "phi3")) {
        hp->n_ctx_orig = (int)key_float(m, "rope.scaling.original_context_length", hp->n_ctx_train);
        hp->rope_attn_factor = (float)key_float(m, "rope.scaling.attn_factor", 1.0);
    }
    if (hp->n_swa < 0 || hp->attn_softcap < 0 || hp->final_softcap < 0 || !(hp->rope_base_swa >= 0))
        return oc_fail(err, "invalid sliding window or soft-capping parameters");
    return 0;
}

#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d.%s", il, suffix), name)

/* Tensors of layer il beyond the llama set (after the llama ones bound). */
int model_arch_bind_layer(model *m, int il, oc_error *err) {
    const model_hparams *hp = &m->hp;
    layer *L = &m->layers[il];
    char name[96];
    bool g3 = is(m, "gemma3") || is(m, "gemma-embedding");
    bool qk = strncmp(hp->arch, "qwen3", 5) == 0 || g3, post = is(m, "gemma2") || g3;
    if (is(m, "gpt-oss") && model_bind_vector(m, &L->attn_sinks, NAME("attn_sinks.weight"), hp->n_head, false, err))
        return -1;
    if (qk && (model_bind_vector(m, &L->q_norm, NAME("attn_q_norm.weight"), hp->head_dim, false, err) ||
               model_bind_vector(m, &L->k_norm, NAME("attn_k_norm.weight"), hp->head_dim, false, err)))
        return -1;
    if (post && (model_bind_vector(m, &L->attn_post_norm, NAME("post_attention_norm.weight"), hp->n_embd, false, err) ||
                 model_bind_vector(m, &L->ffn_post_norm, NAME("post_ffw_norm.weight"), hp->n_embd, false, err)))
        return -1;
    return 0;
}
#undef NAME

/* Model-wide extras, after the layers are bound. */
int model_arch_bind_model(model *m, oc_error *err) {
    const model_hparams *hp = &m->hp;
    if (hp->n_swa > 0 && mark_swa_layers(m, hp->swa_pattern, err)) return -1;
    /* embeddinggemma's dense projections: n_embd -> d, then d -> n_embd. */
    const gguf_tensor *d2 = model_find_tensor(m, "dense_2.weight");
    if (d2 && (model_bind_weight(m, &m->dense_2, "dense_2.weight", hp->n_embd, (int)d2->ne[1], false, err) ||
               model_bind_weight(m, &m->dense_3, "dense_3.weight", (int)d2->ne[1], hp->n_embd, false, err)))
        return -1;
    if (d2 && (d2->ne[1] <= 0 || d2->ne[1] > 1 << 20)) return oc_fail(err, "invalid dense_2.weight shape");
    return 0;
}

/* model: GGUFs as Ollama publishes them, where their metadata or tensor
 * names differ from llama.cpp's (upstream Ollama translates the same files
 * in llama/compat before llama.cpp loads them):
 * - gpt-oss written as "gptoss" (keys "gptoss.*", tensors attn_out,
 *   attn_sinks without ".weight", ffn_norm for post_attention_norm);
 * - gemma3 with rope.global/local.freq_base, no RMS epsilon, no rope
 *   scaling on 128k models, and tokenizer entries past the embedding rows;
 * - embeddinggemma written as gemma3 with dense.0/dense.1 and norm.
 * Detection fills the metadata prefix and tensor-name aliases; the
 * loader then reads through them, so the files stay untouched. */
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

/* canonical substring -> substring in Ollama's files */
static const model_alias GPTOSS_ALIASES[] = {
    {".attn_output.", ".attn_out."}, {".attn_sinks.weight", ".attn_sinks"}, {".post_attention_norm.", ".ffn_norm."},
};
static const model_alias EMBEDDINGGEMMA_ALIASES[] = {
    {"dense_2.weight", "dense.0.weight"}, {"dense_3.weight", "dense.1.weight"}, {"output_norm.weight", "norm.weight"},
};

static bool has_key(const gguf_file *f, const char *key) { return gguf_get(f, key) != NULL; }

void model_compat_detect(model *m) {
    model_hparams *hp = &m->hp;
    snprintf(m->kv_arch, sizeof m->kv_arch, "%s", hp->arch);
    if (strcmp(hp->arch, "gptoss") == 0) {
        snprintf(hp->arch, sizeof hp->arch, "gpt-oss");
        m->aliases = GPTOSS_ALIASES;
        m->n_aliases = sizeof GPTOSS_ALIASES / sizeof GPTOSS_ALIASES[0];
        m->ollama_format = true;
    } else if (strcmp(hp->arch, "gemma3") == 0 && gguf_find_tensor(m->gguf, "dense.0.weight")) {
        snprintf(hp->arch, sizeof hp->arch, "gemma-embedding");
        m->aliases = EMBEDDINGGEMMA_ALIASES;
        m->n_aliases = sizeof EMBEDDINGGEMMA_ALIASES / sizeof EMBEDDINGGEMMA_ALIASES[0];
        m->ollama_format = true;
    } else if (strcmp(hp->arch, "gemma3") == 0) {
        const gguf_file *f = m->gguf;
        m->ollama_format = has_key(f, "gemma3.rope.global.freq_base") || has_key(f, "gemma3.rope.local.freq_base") ||
                           !has_key(f, "gemma3.attention.layer_norm_rms_epsilon") ||
                           has_key(f, "gemma3.mm.tokens_per_image");
    }
}

/* A tensor by its llama.cpp name, or by the name the file's format gives it. */
const gguf_tensor *model_find_tensor(const model *m, const char *name) {
    const gguf_tensor *t = gguf_find_tensor(m->gguf, name);
    for (int i = 0; !t && i < m->n_aliases; i++) {
        const char *at = strstr(name, m->aliases[i].canonical);
        if (!at) continue;
        char alt[160];
        int pre = (int)(at - name);
        snprintf(alt, sizeof alt, "%.*s%s%s", pre, name, m->aliases[i].file, at + strlen(m->aliases[i].canonical));
        t = gguf_find_tensor(m->gguf, alt);
    }
    return t;
}

static double kv_float(const model *m, const char *key, double def) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->kv_arch, key);
    return gguf_get_float(m->gguf, full, def);
}

/* Defaults Ollama's files leave out, after the generic hyper-parameters. */
void model_compat_hparams(model *m) {
    model_hparams *hp = &m->hp;
    if (!m->ollama_format || strcmp(m->kv_arch, "gemma3") != 0) return;
    char key[128];
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", m->kv_arch);
    if (!has_key(m->gguf, key)) hp->norm_eps = 1e-6f;
    snprintf(key, sizeof key, "%s.rope.freq_base", m->kv_arch);
    if (!has_key(m->gguf, key)) hp->rope_base = (float)kv_float(m, "rope.global.freq_base", 1000000.0);
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->kv_arch);
    /* Gemma 3 4B/12B/27B stretch 16k to 128k with linear scaling by 8. */
    if (!has_key(m->gguf, key) && hp->n_ctx_train >= 131072 && strcmp(hp->arch, "gemma3") == 0) hp->rope_scale = 8.0f;
}

/* Ollama's gpt-oss files name the generic GPT-2 pre-tokenizer; gpt-oss
 * needs gpt-4o's (otherwise prompts tokenize differently and the model
 * writes malformed Harmony headers). The parsed value is repointed before
 * the tokenizer reads it; the file stays as it is. */
void model_compat_tokenizer(model *m) {
    if (!m->ollama_format || strcmp(m->kv_arch, "gptoss") != 0) return;
    for (uint64_t i = 0; i < m->gguf->n_kv; i++) {
        gguf_kv *kv = &m->gguf->kv[i];
        if (strcmp(kv->key, "tokenizer.ggml.pre") == 0 && kv->value.type == GGUF_TYPE_STRING)
            kv->value.str = (gguf_str){.data = "gpt-4o", .len = 6};
    }
}

/* Ollama's gemma3 files keep multimodal tokens past the embedding rows:
 * the model's vocabulary is what the embeddings cover (such a token in a
 * prompt is then refused as out of range). */
void model_compat_vocab(model *m) {
    const gguf_tensor *t = model_find_tensor(m, "token_embd.weight");
    if (m->ollama_format && t && t->ne[1] > 0 && t->ne[1] < m->hp.n_vocab) m->hp.n_vocab = (int)t->ne[1];
}

/* tests/tools: writes the tiny random-weight models of each architecture
 * family (tests/data/models/<arch>.gguf) with the project's GGUF writer.
 * Small on purpose (64-wide, 2-3 layers, the demo model's 512-token
 * SentencePiece vocab) and with tiny sliding windows (8 tokens) and strong
 * soft-caps, so a 30-token prompt goes through every special path.
 * Deterministic: the same program writes the same bytes.
 * nomic-bert takes the BERT (bge) vocab of ../shared/testdata/vocab.
 * Usage: make_family_models OUT_DIR [DEMO_MODEL.gguf [BERT_VOCAB.gguf]] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "tensor/tensor.h"

enum { E = 64, FF = 128, HEAD = 4, HEAD_KV = 2, HD = 16, N_EXP = 4, FF_EXP = 32 };

static uint64_t rng_state;
static float randn(void) { /* Box-Muller over a 64-bit LCG */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    double u1 = ((rng_state >> 11) + 1.0) / 9007199254740993.0;
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    double u2 = (rng_state >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

/* A name as an Ollama-published file spells it: {from, to}; to NULL
 * leaves the key out. */
typedef const char *const rename_pair[2];

typedef struct gen {
    gguf_writer *w;
    const char *arch, *file;
    void *owned[512];
    int n_owned, n_vocab;
    rename_pair *renames, *keys; /* Ollama-format variants: tensor and key renames */
    int n_renames, n_keys;
} gen;

static const char *renamed(const gen *g, const char *name, char *buf, size_t n) {
    for (int i = 0; i < g->n_renames; i++) {
        const char *at = strstr(name, g->renames[i][0]);
        if (!at) continue;
        snprintf(buf, n, "%.*s%s%s", (int)(at - name), name, g->renames[i][1], at + strlen(g->renames[i][0]));
        return buf;
    }
    return name;
}

static void tensor(gen *g, const char *name, int64_t ne0, int64_t ne1, int64_t ne2, float std, float mean) {
    char buf[128];
    name = renamed(g, name, buf, sizeof buf);
    int64_t n = ne0 * ne1 * ne2;
    float *data = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) data[i] = mean + std * randn();
    g->owned[g->n_owned++] = data;
    int64_t ne[3] = {ne0, ne1, ne2};
    int nd = ne2 > 1 ? 3 : ne1 > 1 ? 2 : 1;
    gguf_writer_add_tensor(g->w, name, 0 /* F32 */, (uint32_t)nd, ne, data, (uint64_t)n * 4, NULL);
}

/* IQ4_NL and IQ4_XS have no quantizer here: random indices and scales
 * under a fixed block scale (std), which both engines read alike. */
static void random_blocks(uint8_t *data, size_t bytes, enum tensor_type type, float std) {
    for (size_t i = 0; i < bytes; i++) data[i] = (uint8_t)((rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull) >> 56);
    size_t bs = tensor_get_traits(type)->type_size;
    uint16_t d = tensor_f32_to_f16(std);
    for (size_t b = 0; b < bytes; b += bs) memcpy(data + b, &d, 2);
}

/* A random tensor stored quantized (rows of ne0 through the type's own
 * quantizer). */
static void tensor_q(gen *g, const char *name, int64_t ne0, int64_t ne1, int64_t ne2, float std, enum tensor_type type) {
    char buf[128];
    name = renamed(g, name, buf, sizeof buf);
    int64_t rows = ne1 * ne2;
    float *row = malloc((size_t)ne0 * sizeof(float));
    size_t rb = tensor_row_size(type, ne0);
    uint8_t *data = malloc(rb * (size_t)rows);
    tensor_from_float_fn quantize = tensor_get_traits(type)->from_float;
    for (int64_t r = 0; r < rows && quantize; r++) {
        for (int64_t i = 0; i < ne0; i++) row[i] = std * randn();
        quantize(row, data + rb * (size_t)r, ne0);
    }
    if (!quantize) random_blocks(data, rb * (size_t)rows, type, std);
    free(row);
    g->owned[g->n_owned++] = data;
    int64_t ne[3] = {ne0, ne1, ne2};
    gguf_writer_add_tensor(g->w, name, type, ne2 > 1 ? 3 : 2, ne, data, rb * (uint64_t)rows, NULL);
}

/* The full key, or NULL where the variant leaves it out. */
static const char *key_name(const gen *g, const char *key, char *k, size_t n) {
    for (int i = 0; i < g->n_keys; i++)
        if (strcmp(key, g->keys[i][0]) == 0) {
            if (!g->keys[i][1]) return NULL;
            key = g->keys[i][1];
        }
    snprintf(k, n, "%s.%s", g->arch, key);
    return k;
}

static void key_u32(gen *g, const char *key, uint32_t v) {
    char k[128];
    if (key_name(g, key, k, sizeof k)) gguf_writer_set_u32(g->w, k, v);
}

static void key_f32(gen *g, const char *key, float v) {
    char k[128];
    if (key_name(g, key, k, sizeof k)) gguf_writer_set_f32(g->w, k, v);
}

static void layer_tensor(gen *g, int il, const char *suffix, int64_t ne0, int64_t ne1, int64_t ne2, float std, float mean) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
    tensor(g, name, ne0, ne1, ne2, std, mean);
}

/* Gemma 2/3 scale embeddings by sqrt(64) and normalise each block's output,
 * so they get smaller embeddings to keep the blocks' share visible. */
static void start(gen *g, const gguf_file *demo, const char *arch, int n_layer, uint64_t seed) {
    rng_state = seed;
    g->w = gguf_writer_new();
    g->arch = arch;
    g->n_owned = 0;
    gguf_writer_set_str(g->w, "general.architecture", arch);
    gguf_writer_set_str(g->w, "general.name", "tiny random test model");
    for (uint64_t i = 0; i < demo->n_kv; i++)
        if (strncmp(demo->kv[i].key, "tokenizer.", 10) == 0) gguf_writer_set_value(g->w, demo->kv[i].key, &demo->kv[i].value);
    g->n_vocab = (int)gguf_get(demo, "tokenizer.ggml.tokens")->arr.n;
    key_u32(g, "context_length", 512);
    key_u32(g, "embedding_length", E);
    key_u32(g, "feed_forward_length", FF);
    key_u32(g, "block_count", (uint32_t)n_layer);
    key_u32(g, "attention.head_count", HEAD);
    key_u32(g, "attention.head_count_kv", HEAD_KV);
    key_u32(g, "attention.key_length", HD);
    key_u32(g, "attention.value_length", HD);
    key_u32(g, "rope.dimension_count", HD);
    key_f32(g, "attention.layer_norm_rms_epsilon", 1e-6f);
    key_f32(g, "rope.freq_base", 10000.0f);
    tensor(g, "token_embd.weight", E, g->n_vocab, 1, strstr(arch, "gemma") ? 0.08f : 0.5f, 0);
    tensor(g, "output_norm.weight", E, 1, 1, 0.1f, 1);
}

static int finish(gen *g, const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", dir, g->file ? g->file : g->arch);
    g->file = NULL;
    oc_error err;
    int rc = gguf_writer_write_file(g->w, path, &err);
    if (rc) fprintf(stderr, "%s: %s\n", path, err.msg);
    else printf("wrote %s\n", path);
    gguf_writer_free(g->w);
    for (int i = 0; i < g->n_owned; i++) free(g->owned[i]);
    g->n_renames = g->n_keys = 0;
    return rc;
}

/* Separate q, k, v and output projections. */
static void attn(gen *g, int il, bool bias) {
    layer_tensor(g, il, "attn_norm.weight", E, 1, 1, 0.1f, 1);
    layer_tensor(g, il, "attn_q.weight", E, HEAD * HD, 1, 0.3f, 0);
    layer_tensor(g, il, "attn_k.weight", E, HEAD_KV * HD, 1, 0.3f, 0);
    layer_tensor(g, il, "attn_v.weight", E, HEAD_KV * HD, 1, 0.3f, 0);
    layer_tensor(g, il, "attn_output.weight", HEAD * HD, E, 1, 0.3f, 0);
    if (!bias) return;
    layer_tensor(g, il, "attn_q.bias", HEAD * HD, 1, 1, 0.2f, 0);
    layer_tensor(g, il, "attn_k.bias", HEAD_KV * HD, 1, 1, 0.2f, 0);
    layer_tensor(g, il, "attn_v.bias", HEAD_KV * HD, 1, 1, 0.2f, 0);
}

static void ffn(gen *g, int il) {
    layer_tensor(g, il, "ffn_norm.weight", E, 1, 1, 0.1f, 1);
    layer_tensor(g, il, "ffn_gate.weight", E, FF, 1, 0.3f, 0);
    layer_tensor(g, il, "ffn_up.weight", E, FF, 1, 0.3f, 0);
    layer_tensor(g, il, "ffn_down.weight", FF, E, 1, 0.3f, 0);
}

static void qk_norm(gen *g, int il) {
    layer_tensor(g, il, "attn_q_norm.weight", HD, 1, 1, 0.1f, 1);
    layer_tensor(g, il, "attn_k_norm.weight", HD, 1, 1, 0.1f, 1);
}

static void post_norms(gen *g, int il) {
    layer_tensor(g, il, "post_attention_norm.weight", E, 1, 1, 0.1f, 1);
    layer_tensor(g, il, "post_ffw_norm.weight", E, 1, 1, 0.1f, 1);
}

static int make_qwen2(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "qwen2", 2, 101);
    tensor(g, "output.weight", E, g->n_vocab, 1, 0.1f, 0);
    for (int il = 0; il < 2; il++) attn(g, il, true), ffn(g, il);
    return finish(g, dir);
}

static int make_qwen3(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "qwen3", 2, 102);
    key_f32(g, "rope.freq_base", 1000000.0f);
    for (int il = 0; il < 2; il++) attn(g, il, false), qk_norm(g, il), ffn(g, il); /* tied output */
    return finish(g, dir);
}

static int make_gemma(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "gemma", 2, 103);
    for (int il = 0; il < 2; il++) attn(g, il, false), ffn(g, il);
    return finish(g, dir);
}

static int make_gemma2(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "gemma2", 2, 104);
    key_u32(g, "attention.sliding_window", 8);
    key_f32(g, "attn_logit_softcapping", 2.0f);
    key_f32(g, "final_logit_softcapping", 3.0f);
    for (int il = 0; il < 2; il++) attn(g, il, false), ffn(g, il), post_norms(g, il);
    return finish(g, dir);
}

/* Two tokens past the embedding rows, as Ollama's gemma3 files keep
 * multimodal tokens in the tokenizer. */
static void extra_tokens(gen *g, const gguf_file *demo) {
    const gguf_value *tv = gguf_get(demo, "tokenizer.ggml.tokens");
    int n = (int)tv->arr.n;
    const char **toks = malloc((size_t)(n + 2) * sizeof *toks);
    float *scores = malloc((size_t)(n + 2) * sizeof *scores);
    int32_t *types = malloc((size_t)(n + 2) * sizeof *types);
    char **copies = malloc((size_t)n * sizeof *copies);
    const gguf_value *sv = gguf_get(demo, "tokenizer.ggml.scores"), *yv = gguf_get(demo, "tokenizer.ggml.token_type");
    for (int i = 0; i < n; i++) {
        copies[i] = strndup(tv->arr.strs[i].data, tv->arr.strs[i].len);
        toks[i] = copies[i], scores[i] = (float)gguf_arr_get_float(sv, (uint64_t)i);
        types[i] = (int32_t)gguf_arr_get_int(yv, (uint64_t)i);
    }
    toks[n] = "<start_of_image>", toks[n + 1] = "<image_soft_token>";
    scores[n] = scores[n + 1] = 0, types[n] = types[n + 1] = 4;
    gguf_writer_set_arr_str(g->w, "tokenizer.ggml.tokens", toks, (uint64_t)n + 2);
    gguf_writer_set_arr(g->w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, (uint64_t)n + 2);
    gguf_writer_set_arr(g->w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n + 2);
    for (int i = 0; i < n; i++) free(copies[i]);
    free(copies), free(toks), free(scores), free(types);
}

/* Three layers with a pattern of 3: local, local, global. Ollama's
 * variant: nested rope base keys, no RMS epsilon key (1e-6 is the
 * default), the pattern as one bool per layer, extra tokens. */
static int make_gemma3_as(gen *g, const gguf_file *demo, const char *dir, bool ollama) {
    static rename_pair keys[] = {{"rope.freq_base", "rope.global.freq_base"}, {"rope.freq_base_swa", "rope.local.freq_base"},
                                 {"attention.layer_norm_rms_epsilon", NULL}};
    if (ollama) g->keys = keys, g->n_keys = 3;
    start(g, demo, "gemma3", 3, 105);
    key_u32(g, "attention.sliding_window", 8);
    if (ollama) {
        g->file = "gemma3-ollama";
        const uint8_t local[3] = {1, 1, 0};
        gguf_writer_set_arr(g->w, "gemma3.attention.sliding_window_pattern", GGUF_TYPE_BOOL, local, 3);
        extra_tokens(g, demo);
    } else {
        key_u32(g, "attention.sliding_window_pattern", 3);
    }
    key_f32(g, "rope.freq_base", 1000000.0f);
    key_f32(g, "rope.freq_base_swa", 10000.0f);
    gguf_writer_set_str(g->w, "gemma3.rope.scaling.type", "linear");
    key_f32(g, "rope.scaling.factor", 4.0f);
    for (int il = 0; il < 3; il++) attn(g, il, false), qk_norm(g, il), ffn(g, il), post_norms(g, il);
    return finish(g, dir);
}

/* Fused qkv and gate-up; Phi-3.5 style short/long rope factors. */
static int make_phi3(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "phi3", 2, 106);
    key_u32(g, "rope.scaling.original_context_length", 256); /* long factors past 256 */
    key_f32(g, "rope.scaling.attn_factor", 1.19f);
    tensor(g, "output.weight", E, g->n_vocab, 1, 0.1f, 0);
    tensor(g, "rope_factors_short.weight", HD / 2, 1, 1, 0.3f, 1.5f);
    tensor(g, "rope_factors_long.weight", HD / 2, 1, 1, 2.0f, 6.0f);
    for (int il = 0; il < 2; il++) {
        layer_tensor(g, il, "attn_norm.weight", E, 1, 1, 0.1f, 1);
        layer_tensor(g, il, "attn_qkv.weight", E, (HEAD + 2 * HEAD_KV) * HD, 1, 0.3f, 0);
        layer_tensor(g, il, "attn_output.weight", HEAD * HD, E, 1, 0.3f, 0);
        layer_tensor(g, il, "ffn_norm.weight", E, 1, 1, 0.1f, 1);
        layer_tensor(g, il, "ffn_up.weight", E, 2 * FF, 1, 0.3f, 0);
        layer_tensor(g, il, "ffn_down.weight", FF, E, 1, 0.3f, 0);
    }
    return finish(g, dir);
}

/* Experts of layer il: router, gate/up/down per expert (type: F32 or a
 * quantized type such as MXFP4), and gpt-oss's biases. */
static void experts(gen *g, int il, enum tensor_type type, bool bias) {
    char name[96];
    layer_tensor(g, il, "ffn_gate_inp.weight", E, N_EXP, 1, 0.3f, 0);
    const char *mats[3] = {"ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "blk.%d.%s", il, mats[i]);
        int64_t n_in = i == 2 ? FF_EXP : E, n_out = i == 2 ? E : FF_EXP;
        if (type == TENSOR_F32) tensor(g, name, n_in, n_out, N_EXP, 0.3f, 0);
        else tensor_q(g, name, n_in, n_out, N_EXP, 0.3f, type);
    }
    if (!bias) return;
    layer_tensor(g, il, "ffn_gate_inp.bias", N_EXP, 1, 1, 0.3f, 0);
    layer_tensor(g, il, "ffn_gate_exps.bias", FF_EXP, N_EXP, 1, 0.3f, 0);
    layer_tensor(g, il, "ffn_up_exps.bias", FF_EXP, N_EXP, 1, 0.3f, 0);
    layer_tensor(g, il, "ffn_down_exps.bias", E, N_EXP, 1, 0.3f, 0);
}

static void expert_keys(gen *g) {
    key_u32(g, "expert_count", N_EXP);
    key_u32(g, "expert_used_count", 2);
    key_u32(g, "expert_feed_forward_length", FF_EXP);
}

/* Mixtral: the llama architecture with experts in place of the FFN. */
static int make_mixtral(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "llama", 2, 108);
    g->file = "mixtral";
    key_u32(g, "feed_forward_length", FF_EXP);
    expert_keys(g);
    tensor(g, "output.weight", E, g->n_vocab, 1, 0.1f, 0);
    for (int il = 0; il < 2; il++) {
        attn(g, il, false);
        layer_tensor(g, il, "ffn_norm.weight", E, 1, 1, 0.1f, 1);
        experts(g, il, TENSOR_F32, false);
    }
    return finish(g, dir);
}

static int make_qwen3moe(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "qwen3moe", 2, 109);
    expert_keys(g);
    for (int il = 0; il < 2; il++) {
        attn(g, il, false), qk_norm(g, il);
        layer_tensor(g, il, "ffn_norm.weight", E, 1, 1, 0.1f, 1);
        experts(g, il, TENSOR_F32, false);
    }
    return finish(g, dir);
}

/* qwen3moe with quantized experts that have packed layouts (Q8_0, Q4_0),
 * the rest F32: everything packed is an expert. Layer 0's gate and up
 * share a type (one grouped matmul), layer 1's do not (two). */
static int make_qwen3moe_quant(gen *g, const gguf_file *demo, const char *dir) {
    start(g, demo, "qwen3moe", 2, 112);
    g->file = "qwen3moe-quant";
    expert_keys(g);
    static const enum tensor_type types[2][3] = {{TENSOR_Q8_0, TENSOR_Q8_0, TENSOR_Q4_0},
                                                 {TENSOR_Q8_0, TENSOR_Q4_0, TENSOR_Q8_0}};
    const char *mats[3] = {"ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"};
    char name[96];
    for (int il = 0; il < 2; il++) {
        attn(g, il, false), qk_norm(g, il);
        layer_tensor(g, il, "ffn_norm.weight", E, 1, 1, 0.1f, 1);
        layer_tensor(g, il, "ffn_gate_inp.weight", E, N_EXP, 1, 0.3f, 0);
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", il, mats[i]);
            tensor_q(g, name, i == 2 ? FF_EXP : E, i == 2 ? E : FF_EXP, N_EXP, 0.3f, types[il][i]);
        }
    }
    return finish(g, dir);
}

/* gpt-oss: biases everywhere, attention sinks, every other layer sliding
 * (8 tokens), YaRN rope (factor 32 over an original context of 64), MXFP4
 * experts with the clamped SwiGLU. */
/* ollama: the same model as Ollama published gpt-oss ("gptoss" keys,
 * attn_out, attn_sinks without .weight, ffn_norm for the pre-FFN norm, no
 * expert_feed_forward_length or rope scaling type). */
static int make_gptoss_as(gen *g, const gguf_file *demo, const char *dir, bool fused, bool ollama) {
    static rename_pair names[] = {{".attn_output.", ".attn_out."}, {".attn_sinks.weight", ".attn_sinks"},
                                  {".post_attention_norm.", ".ffn_norm."}};
    static rename_pair keys[] = {{"expert_feed_forward_length", NULL}};
    if (ollama) g->renames = names, g->n_renames = 3, g->keys = keys, g->n_keys = 1;
    start(g, demo, ollama ? "gptoss" : "gpt-oss", 2, 110);
    if (fused) g->file = "gpt-oss-fused";
    if (ollama) g->file = "gptoss-ollama";
    if (ollama) gguf_writer_set_str(g->w, "tokenizer.ggml.pre", "default"); /* model/compat.c makes it gpt-4o */
    expert_keys(g);
    key_u32(g, "attention.sliding_window", 8);
    key_f32(g, "rope.freq_base", 150000.0f);
    if (!ollama) gguf_writer_set_str(g->w, "gpt-oss.rope.scaling.type", "yarn");
    key_f32(g, "rope.scaling.factor", 32.0f);
    key_u32(g, "rope.scaling.original_context_length", 64);
    tensor(g, "output.weight", E, g->n_vocab, 1, 0.1f, 0);
    for (int il = 0; il < 2; il++) {
        if (fused) { /* as Ollama converts OpenAI's own checkpoint */
            layer_tensor(g, il, "attn_norm.weight", E, 1, 1, 0.1f, 1);
            layer_tensor(g, il, "attn_qkv.weight", E, (HEAD + 2 * HEAD_KV) * HD, 1, 0.3f, 0);
            layer_tensor(g, il, "attn_qkv.bias", (HEAD + 2 * HEAD_KV) * HD, 1, 1, 0.2f, 0);
            layer_tensor(g, il, "attn_output.weight", HEAD * HD, E, 1, 0.3f, 0);
        } else {
            attn(g, il, true);
        }
        layer_tensor(g, il, "attn_output.bias", E, 1, 1, 0.2f, 0);
        layer_tensor(g, il, "attn_sinks.weight", HEAD, 1, 1, 1.0f, 0);
        layer_tensor(g, il, "post_attention_norm.weight", E, 1, 1, 0.1f, 1);
        experts(g, il, TENSOR_MXFP4, true);
    }
    return finish(g, dir);
}

static int make_gptoss(gen *g, const gguf_file *demo, const char *dir) {
    return make_gptoss_as(g, demo, dir, false, false) | make_gptoss_as(g, demo, dir, true, false) |
           make_gptoss_as(g, demo, dir, false, true);
}

/* Quantized weights end to end: a 256-wide qwen3 whose matrices are
 * IQ4_XS, IQ4_NL, Q4_K, Q6_K and Q8_0 (embeddings), so both engines
 * quantize activations to Q8_0 / Q8_K and run the same kernels' maths. */
static int make_qwen3_quant(gen *g, const gguf_file *demo, const char *dir) {
    enum { QE = 256, QHD = 64 };
    start(g, demo, "qwen3", 1, 111); /* start's F32 embeddings are replaced below */
    g->file = "qwen3-quant";
    gguf_writer_free(g->w);
    for (int i = 0; i < g->n_owned; i++) free(g->owned[i]);
    g->n_owned = 0;
    g->w = gguf_writer_new();
    gguf_writer_set_str(g->w, "general.architecture", "qwen3");
    gguf_writer_set_str(g->w, "general.name", "tiny random test model");
    for (uint64_t i = 0; i < demo->n_kv; i++)
        if (strncmp(demo->kv[i].key, "tokenizer.", 10) == 0) gguf_writer_set_value(g->w, demo->kv[i].key, &demo->kv[i].value);
    const char *k32[][2] = {{"context_length", "512"}, {"embedding_length", "256"}, {"feed_forward_length", "256"},
                            {"block_count", "2"}, {"attention.head_count", "4"}, {"attention.head_count_kv", "2"},
                            {"attention.key_length", "64"}, {"attention.value_length", "64"}};
    for (size_t i = 0; i < sizeof k32 / sizeof k32[0]; i++) key_u32(g, k32[i][0], (uint32_t)atoi(k32[i][1]));
    key_f32(g, "attention.layer_norm_rms_epsilon", 1e-6f);
    key_f32(g, "rope.freq_base", 1000000.0f);
    tensor_q(g, "token_embd.weight", QE, g->n_vocab, 1, 0.5f, TENSOR_Q8_0);
    tensor(g, "output_norm.weight", QE, 1, 1, 0.1f, 1);
    char name[96];
    for (int il = 0; il < 2; il++) {
#define Q(suffix, a, b, std, type) (snprintf(name, sizeof name, "blk.%d." suffix, il), tensor_q(g, name, a, b, 1, std, type))
        layer_tensor(g, il, "attn_norm.weight", QE, 1, 1, 0.1f, 1);
        Q("attn_q.weight", QE, 4 * QHD, 0.0004f, TENSOR_IQ4_XS);
        Q("attn_k.weight", QE, 2 * QHD, 0.0004f, TENSOR_IQ4_XS);
        Q("attn_v.weight", QE, 2 * QHD, 0.004f, TENSOR_IQ4_NL);
        Q("attn_output.weight", 4 * QHD, QE, 0.004f, TENSOR_IQ4_NL);
        layer_tensor(g, il, "attn_q_norm.weight", QHD, 1, 1, 0.1f, 1);
        layer_tensor(g, il, "attn_k_norm.weight", QHD, 1, 1, 0.1f, 1);
        layer_tensor(g, il, "ffn_norm.weight", QE, 1, 1, 0.1f, 1);
        Q("ffn_gate.weight", QE, QE, 0.15f, TENSOR_Q4_K);
        Q("ffn_up.weight", QE, QE, 0.15f, TENSOR_Q4_K);
        Q("ffn_down.weight", QE, QE, 0.15f, TENSOR_Q6_K);
#undef Q
    }
    return finish(g, dir);
}

/* embeddinggemma: Gemma 3 blocks, bidirectional with a symmetric window,
 * mean pooling and the two dense projections after it. Ollama's variant
 * is written as gemma3 with dense.0/dense.1 and norm, its pattern as one
 * bool per layer. */
static int make_gemma_embedding_as(gen *g, const gguf_file *demo, const char *dir, bool ollama) {
    static rename_pair names[] = {{"dense_2.weight", "dense.0.weight"}, {"dense_3.weight", "dense.1.weight"},
                                  {"output_norm.weight", "norm.weight"}};
    static rename_pair keys[] = {{"dense_2_feat_in", NULL}, {"dense_2_feat_out", NULL}, {"dense_3_feat_in", NULL},
                                 {"dense_3_feat_out", NULL}};
    if (ollama) g->renames = names, g->n_renames = 3, g->keys = keys, g->n_keys = 4;
    start(g, demo, ollama ? "gemma3" : "gemma-embedding", 3, 107);
    if (ollama) g->file = "embeddinggemma-ollama";
    key_u32(g, "attention.sliding_window", 8);
    const uint8_t local[3] = {1, 1, 0};
    if (ollama) gguf_writer_set_arr(g->w, "gemma3.attention.sliding_window_pattern", GGUF_TYPE_BOOL, local, 3);
    else key_u32(g, "attention.sliding_window_pattern", 3);
    key_u32(g, "pooling_type", 1);
    key_u32(g, "dense_2_feat_in", E);
    key_u32(g, "dense_2_feat_out", 96);
    key_u32(g, "dense_3_feat_in", 96);
    key_u32(g, "dense_3_feat_out", E);
    key_f32(g, "rope.freq_base", 1000000.0f);
    tensor(g, "dense_2.weight", E, 96, 1, 0.2f, 0);
    tensor(g, "dense_3.weight", 96, E, 1, 0.2f, 0);
    for (int il = 0; il < 3; il++) attn(g, il, false), qk_norm(g, il), ffn(g, il), post_norms(g, il);
    return finish(g, dir);
}

static int make_gemma3(gen *g, const gguf_file *demo, const char *dir) {
    return make_gemma3_as(g, demo, dir, false) | make_gemma3_as(g, demo, dir, true);
}

static int make_gemma_embedding(gen *g, const gguf_file *demo, const char *dir) {
    return make_gemma_embedding_as(g, demo, dir, false) | make_gemma_embedding_as(g, demo, dir, true);
}

/* nomic-bert (nomic-embed-text) over the BERT (bge) WordPiece vocab:
 * LayerNorm post-norm blocks, no position table but NeoX rope (base
 * 1000), fused qkv, SwiGLU, mean pooling. Layer 0 has a qkv bias and no
 * output bias, layer 1 the reverse, as both are optional. The 30522-row
 * embedding table is Q4_0 to keep the file small (both engines read it
 * through the same dequantization). */
static int make_nomic_bert(gen *g, const gguf_file *vocab, const char *dir) {
    rng_state = 112;
    g->w = gguf_writer_new();
    g->arch = "nomic-bert";
    g->n_owned = 0;
    gguf_writer_set_str(g->w, "general.architecture", "nomic-bert");
    gguf_writer_set_str(g->w, "general.name", "tiny random test model");
    for (uint64_t i = 0; i < vocab->n_kv; i++)
        if (strncmp(vocab->kv[i].key, "tokenizer.", 10) == 0) gguf_writer_set_value(g->w, vocab->kv[i].key, &vocab->kv[i].value);
    g->n_vocab = (int)gguf_get(vocab, "tokenizer.ggml.tokens")->arr.n;
    key_u32(g, "context_length", 512);
    key_u32(g, "embedding_length", E);
    key_u32(g, "feed_forward_length", FF);
    key_u32(g, "block_count", 2);
    key_u32(g, "attention.head_count", HEAD);
    key_f32(g, "attention.layer_norm_epsilon", 1e-12f);
    gguf_writer_set_bool(g->w, "nomic-bert.attention.causal", false);
    key_u32(g, "pooling_type", 1);
    key_f32(g, "rope.freq_base", 1000.0f);
    tensor_q(g, "token_embd.weight", E, g->n_vocab, 1, 0.5f, TENSOR_Q4_0);
    tensor(g, "token_types.weight", E, 2, 1, 0.3f, 0);
    tensor(g, "token_embd_norm.weight", E, 1, 1, 0.1f, 1);
    tensor(g, "token_embd_norm.bias", E, 1, 1, 0.1f, 0);
    for (int il = 0; il < 2; il++) {
        layer_tensor(g, il, "attn_qkv.weight", E, 3 * E, 1, 0.3f, 0);
        layer_tensor(g, il, il == 0 ? "attn_qkv.bias" : "attn_output.bias", il == 0 ? 3 * E : E, 1, 1, 0.2f, 0);
        layer_tensor(g, il, "attn_output.weight", E, E, 1, 0.3f, 0);
        layer_tensor(g, il, "attn_output_norm.weight", E, 1, 1, 0.1f, 1);
        layer_tensor(g, il, "attn_output_norm.bias", E, 1, 1, 0.1f, 0);
        layer_tensor(g, il, "ffn_up.weight", E, FF, 1, 0.3f, 0);
        layer_tensor(g, il, "ffn_gate.weight", E, FF, 1, 0.3f, 0);
        layer_tensor(g, il, "ffn_down.weight", FF, E, 1, 0.3f, 0);
        layer_tensor(g, il, "layer_output_norm.weight", E, 1, 1, 0.1f, 1);
        layer_tensor(g, il, "layer_output_norm.bias", E, 1, 1, 0.1f, 0);
    }
    return finish(g, dir);
}

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: %s OUT_DIR [DEMO_MODEL.gguf [BERT_VOCAB.gguf]]\n", argv[0]), 2;
    tensor_init();
    oc_error err;
    gguf_file *demo = gguf_open(argc > 2 ? argv[2] : "models/stories260K.gguf", &err);
    if (!demo) return fprintf(stderr, "%s\n", err.msg), 1;
    static gen g;
    int (*makers[])(gen *, const gguf_file *, const char *) = {
        make_qwen2, make_qwen3, make_gemma, make_gemma2, make_gemma3, make_phi3, make_gemma_embedding,
        make_mixtral, make_qwen3moe, make_gptoss, make_qwen3_quant, make_qwen3moe_quant,
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof makers / sizeof makers[0]; i++) rc |= makers[i](&g, demo, argv[1]);
    gguf_close(demo);
    gguf_file *bert = gguf_open(argc > 3 ? argv[3] : "../shared/testdata/vocab/ggml-vocab-bert-bge.gguf", &err);
    if (!bert) return fprintf(stderr, "%s\n", err.msg), 1;
    rc |= make_nomic_bert(&g, bert, argv[1]);
    gguf_close(bert);
    return rc ? 1 : 0;
}

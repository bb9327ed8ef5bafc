/* libFuzzer target for loading and running models of every architecture
 * family: the input chooses the architecture, its hyper-parameters and
 * keys (sliding windows and patterns, soft-caps, rope scaling, experts,
 * dense projections), which optional tensors exist, one tensor's shape
 * made wrong, and the tokens run. The model is written with the GGUF
 * writer (small random weights), loaded from a memfd and, when it loads,
 * decoded (or embedded). Any choice must load and run or fail with an
 * error — never crash, read out of bounds or leak. Zero bytes choose the
 * plain shape of each family (optional norms present, nothing fused,
 * nothing broken), so the seeds are the architecture index and zeros.
 * FUZZ_MODEL_DEBUG=1 prints what each input loaded or why it failed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "model/model.h"

typedef struct in {
    const uint8_t *d;
    size_t n, i;
} in;

static unsigned take(in *s, unsigned range) { return s->i < s->n ? s->d[s->i++] % range : 0; }

static const char *const ARCHS[] = {"llama", "qwen2", "qwen3", "qwen3moe", "gemma", "gemma2", "gemma3",
                                    "phi3", "gemma-embedding", "gpt-oss", "mistral", "nonsense", "gptoss"};

typedef struct build {
    gguf_writer *w;
    const char *arch;
    float *bufs[256];
    int n_bufs, bad; /* bad: index of the tensor whose shape is made wrong */
    uint32_t seed;
} build;

static void key_u32(build *b, const char *key, uint32_t v) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", b->arch, key);
    gguf_writer_set_u32(b->w, k, v);
}

static void key_f32(build *b, const char *key, float v) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", b->arch, key);
    gguf_writer_set_f32(b->w, k, v);
}

static void tensor(build *b, const char *name, int64_t ne0, int64_t ne1, int64_t ne2) {
    if (b->n_bufs == 255) return;
    if (b->n_bufs == b->bad) ne0 += 1; /* one tensor of the wrong shape */
    int64_t n = ne0 * ne1 * ne2;
    float *data = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        b->seed = b->seed * 1664525u + 1013904223u;
        data[i] = (float)((int32_t)b->seed >> 8) / (float)(1 << 24);
    }
    b->bufs[b->n_bufs++] = data;
    int64_t ne[3] = {ne0, ne1, ne2};
    gguf_writer_add_tensor(b->w, name, 0, ne2 > 1 ? 3 : ne1 > 1 ? 2 : 1, ne, data, (uint64_t)n * 4, NULL);
}

static void layer_tensor(build *b, int il, const char *suffix, int64_t ne0, int64_t ne1, int64_t ne2) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
    tensor(b, name, ne0, ne1, ne2);
}

static void vocab(build *b) {
    static const char *toks[16] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "c", "d",
                                   "e", ("\xe2\x96\x81" "a"), "ab", "cd", "de", "x", "y", "z"};
    float scores[16];
    int32_t types[16];
    for (int i = 0; i < 16; i++) scores[i] = (float)-i, types[i] = i < 3 ? 3 : 1;
    gguf_writer_set_str(b->w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(b->w, "tokenizer.ggml.tokens", toks, 16);
    gguf_writer_set_arr(b->w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 16);
    gguf_writer_set_arr(b->w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 16);
}

/* Keys of the families, each present or not, values sometimes invalid. */
static void keys(build *b, in *s, int n_layer) {
    if (take(s, 2)) key_u32(b, "attention.sliding_window", take(s, 24));
    unsigned pat = take(s, 4);
    if (pat == 1) key_u32(b, "attention.sliding_window_pattern", take(s, 8));
    if (pat == 2) {
        uint8_t flags[8];
        for (int i = 0; i < 8; i++) flags[i] = (uint8_t)take(s, 2);
        char k[128];
        snprintf(k, sizeof k, "%s.attention.sliding_window_pattern", b->arch);
        gguf_writer_set_arr(b->w, k, GGUF_TYPE_BOOL, flags, (uint64_t)(n_layer + (int)take(s, 3) - 1 > 0 ? n_layer : 1));
    }
    if (take(s, 2)) key_f32(b, "attn_logit_softcapping", (float)take(s, 8) - 2.0f);
    if (take(s, 2)) key_f32(b, "final_logit_softcapping", (float)take(s, 8) - 2.0f);
    unsigned sc = take(s, 3);
    if (sc) {
        char k[128];
        snprintf(k, sizeof k, "%s.rope.scaling.type", b->arch);
        gguf_writer_set_str(b->w, k, sc == 1 ? "yarn" : "linear");
        key_f32(b, "rope.scaling.factor", (float)take(s, 40));
        key_u32(b, "rope.scaling.original_context_length", take(s, 64));
    }
    if (take(s, 2)) key_f32(b, "rope.freq_base_swa", (float)take(s, 3) * 5000.0f);
    key_u32(b, "expert_count", take(s, 2) ? take(s, 5) : 0);
    key_u32(b, "expert_used_count", take(s, 6));
    if (take(s, 2)) key_u32(b, "expert_feed_forward_length", 16 * (1 + take(s, 2)));
}

static void layer(build *b, in *s, int il, int E, int qd, int kvd, int hd, int ff) {
    layer_tensor(b, il, "attn_norm.weight", E, 1, 1);
    if (take(s, 4) == 3) layer_tensor(b, il, "attn_qkv.weight", E, qd + 2 * kvd, 1);
    else layer_tensor(b, il, "attn_q.weight", E, qd, 1), layer_tensor(b, il, "attn_k.weight", E, kvd, 1),
         layer_tensor(b, il, "attn_v.weight", E, kvd, 1);
    layer_tensor(b, il, "attn_output.weight", qd, E, 1);
    if (!take(s, 2)) layer_tensor(b, il, "attn_q_norm.weight", hd, 1, 1), layer_tensor(b, il, "attn_k_norm.weight", hd, 1, 1);
    if (!take(s, 2)) layer_tensor(b, il, "post_attention_norm.weight", E, 1, 1), layer_tensor(b, il, "post_ffw_norm.weight", E, 1, 1);
    if (!take(s, 2)) layer_tensor(b, il, "attn_sinks.weight", qd / hd, 1, 1);
    layer_tensor(b, il, "ffn_norm.weight", E, 1, 1);
    unsigned kind = take(s, 3);
    if (kind == 0) {
        layer_tensor(b, il, "ffn_gate.weight", E, ff, 1), layer_tensor(b, il, "ffn_up.weight", E, ff, 1);
    } else if (kind == 1) {
        layer_tensor(b, il, "ffn_up.weight", E, 2 * ff, 1);
    } else {
        int ne = 1 + (int)take(s, 4), fe = 16 * (1 + (int)take(s, 2));
        layer_tensor(b, il, "ffn_gate_inp.weight", E, ne, 1);
        layer_tensor(b, il, "ffn_gate_exps.weight", E, fe, ne), layer_tensor(b, il, "ffn_up_exps.weight", E, fe, ne);
        layer_tensor(b, il, "ffn_down_exps.weight", fe, E, ne);
        if (take(s, 2)) layer_tensor(b, il, "ffn_up_exps.bias", fe, ne, 1), layer_tensor(b, il, "ffn_down_exps.bias", E, ne, 1);
        return;
    }
    layer_tensor(b, il, "ffn_down.weight", ff, E, 1);
}

static void write_model(build *b, in *s) {
    b->arch = ARCHS[take(s, sizeof ARCHS / sizeof ARCHS[0])];
    int n_layer = 1 + (int)take(s, 3), hd = 8 << take(s, 2), n_head_kv = 1 + (int)take(s, 2);
    int n_head = n_head_kv * (1 + (int)take(s, 2)), E = 16 << take(s, 2), ff = 16 * (1 + (int)take(s, 3));
    int qd = n_head * hd, kvd = n_head_kv * hd;
    gguf_writer_set_str(b->w, "general.architecture", b->arch);
    vocab(b);
    key_u32(b, "context_length", 64);
    key_u32(b, "embedding_length", (uint32_t)E);
    key_u32(b, "feed_forward_length", (uint32_t)ff);
    key_u32(b, "block_count", (uint32_t)n_layer);
    key_u32(b, "attention.head_count", (uint32_t)n_head);
    key_u32(b, "attention.head_count_kv", (uint32_t)n_head_kv);
    key_u32(b, "attention.key_length", (uint32_t)hd);
    key_f32(b, "attention.layer_norm_rms_epsilon", 1e-5f);
    key_u32(b, "pooling_type", take(s, 5));
    keys(b, s, n_layer);
    b->bad = take(s, 4) == 3 ? (int)take(s, 64) : -1;
    tensor(b, "token_embd.weight", E, 16, 1);
    tensor(b, "output_norm.weight", E, 1, 1);
    if (take(s, 2)) tensor(b, "output.weight", E, 16, 1);
    if (take(s, 4) == 3) tensor(b, "rope_factors_short.weight", hd / 2, 1, 1), tensor(b, "rope_factors_long.weight", hd / 2, 1, 1);
    if (take(s, 4) == 3) tensor(b, "dense_2.weight", E, 24, 1), tensor(b, "dense_3.weight", 24, E, 1);
    for (int il = 0; il < n_layer; il++) layer(b, s, il, E, qd, kvd, hd, ff);
}

/* Runs what loaded: a prompt in one batch, then a token at a time. */
static void run(model *m, in *s) {
    int32_t tok[12], pos[12], seq[12] = {0};
    int n = 1 + (int)take(s, 12);
    for (int i = 0; i < n; i++) tok[i] = (int32_t)take(s, 17), pos[i] = i; /* 16: out of range */
    oc_error err;
    const model_hparams *hp = model_hparams_of(m);
    float *out = malloc((size_t)(hp->n_vocab > hp->n_embd ? hp->n_vocab : hp->n_embd) * sizeof(float));
    if (hp->encoder) {
        model_batch b = {.n = n, .tokens = tok, .pos = pos, .seq = seq};
        (void)model_embed(m, &b, out, &err);
    } else if (model_eval(m, tok, n, 0, out, &err) == 0) {
        int used = n;
        for (int i = 0; i < 4 && n + i < model_n_ctx(m); i++)
            if (model_eval(m, &tok[i], 1, n + i, out, &err) == 0) used = n + i + 1;
        /* A context shift (any values: bad ones must be refused), then one more token. */
        int keep = (int)take(s, 4), discard = (int)take(s, 8);
        if (model_kv_shift(m, 0, keep, discard, used, &err) == 0) (void)model_eval(m, tok, 1, used - discard, out, &err);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    in s = {data, size, 0};
    build b = {.w = gguf_writer_new(), .seed = 1};
    write_model(&b, &s);
    void *bytes = NULL;
    size_t len = 0;
    oc_error err;
    int fd = memfd_create("fuzz-model", 0);
    if (fd >= 0 && gguf_writer_write_memory(b.w, &bytes, &len, &err) == 0 && write(fd, bytes, len) == (ssize_t)len) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        model_params p = model_default_params();
        p.n_ctx = 32, p.n_batch = 16, p.n_threads = 1 + (int)take(&s, 2);
        p.kv_type = take(&s, 2) ? TENSOR_F32 : TENSOR_F16;
        model *m = model_load(path, &p, &err);
        if (getenv("FUZZ_MODEL_DEBUG")) fprintf(stderr, "%s: %s\n", b.arch, m ? "loaded" : err.msg);
        if (m) run(m, &s);
        model_free(m);
    }
    if (fd >= 0) close(fd);
    free(bytes);
    gguf_writer_free(b.w);
    for (int i = 0; i < b.n_bufs; i++) free(b.bufs[i]);
    return 0;
}

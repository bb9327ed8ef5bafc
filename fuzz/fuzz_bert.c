/* libFuzzer target for loading and running the BERT encoders ("bert",
 * "nomic-bert"): the input chooses the architecture, its hyper-parameters
 * (head counts and sizes that may not fit, rope dimensions, pooling,
 * causal and mixture-of-experts keys), which optional tensors exist
 * (position and token-type tables of any length, fused or separate q/k/v,
 * each bias, the gate), one tensor's shape made wrong, and the inputs
 * embedded (several sequences, positions from 0). The model is written
 * with the GGUF writer (small random weights), loaded from a memfd and,
 * when it loads, run. Any choice must load and run or fail with an error —
 * never crash, read out of bounds or leak. Zero bytes choose plain bert
 * with everything present. FUZZ_MODEL_DEBUG=1 prints why each input
 * failed to load. */
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

typedef struct build {
    gguf_writer *w;
    const char *arch;
    float *bufs[128];
    int n_bufs, bad; /* bad: index of the tensor whose shape is made wrong */
    uint32_t seed;
} build;

static void key_u32(build *b, const char *key, uint32_t v) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", b->arch, key);
    gguf_writer_set_u32(b->w, k, v);
}

static void tensor(build *b, const char *name, int64_t ne0, int64_t ne1) {
    if (b->n_bufs == 127) return;
    if (b->n_bufs == b->bad) ne0 += 1;
    int64_t n = ne0 * ne1;
    float *data = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        b->seed = b->seed * 1664525u + 1013904223u;
        data[i] = (float)((int32_t)b->seed >> 8) / (float)(1 << 24);
    }
    b->bufs[b->n_bufs++] = data;
    int64_t ne[2] = {ne0, ne1};
    gguf_writer_add_tensor(b->w, name, 0, ne1 > 1 ? 2 : 1, ne, data, (uint64_t)n * 4, NULL);
}

/* A tensor of layer il, left out when the input says so (optional ones). */
static void ltensor(build *b, in *s, bool maybe, int il, const char *suffix, int64_t ne0, int64_t ne1) {
    if (maybe && take(s, 4) == 3) return;
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
    tensor(b, name, ne0, ne1);
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

static void layer(build *b, in *s, int il, int E, int qkv, int ff) {
    if (take(s, 2)) {
        ltensor(b, s, false, il, "attn_qkv.weight", E, qkv);
        ltensor(b, s, true, il, "attn_qkv.bias", qkv, 1);
    } else {
        const char *mats[3] = {"attn_q", "attn_k", "attn_v"};
        char name[32];
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "%s.weight", mats[i]), ltensor(b, s, false, il, name, E, E);
            snprintf(name, sizeof name, "%s.bias", mats[i]), ltensor(b, s, true, il, name, E, 1);
        }
    }
    ltensor(b, s, false, il, "attn_output.weight", E, E);
    ltensor(b, s, true, il, "attn_output.bias", E, 1);
    ltensor(b, s, false, il, "attn_output_norm.weight", E, 1);
    ltensor(b, s, true, il, "attn_output_norm.bias", E, 1);
    ltensor(b, s, false, il, "ffn_up.weight", E, ff);
    ltensor(b, s, true, il, "ffn_up.bias", ff, 1);
    ltensor(b, s, true, il, "ffn_gate.weight", E, ff);
    ltensor(b, s, false, il, "ffn_down.weight", ff, E);
    ltensor(b, s, true, il, "ffn_down.bias", E, 1);
    ltensor(b, s, false, il, "layer_output_norm.weight", E, 1);
    ltensor(b, s, true, il, "layer_output_norm.bias", E, 1);
}

static void write_model(build *b, in *s) {
    b->arch = take(s, 2) ? "nomic-bert" : "bert";
    int n_layer = 1 + (int)take(s, 2), hd = 8 << take(s, 2), n_head = 1 + (int)take(s, 3);
    int E = take(s, 4) == 3 ? 16 << take(s, 2) : n_head * hd, ff = 16 * (1 + (int)take(s, 3));
    int n_head_kv = take(s, 4) == 3 ? 1 + (int)take(s, 4) : n_head, qkv = E + 2 * n_head_kv * hd;
    gguf_writer_set_str(b->w, "general.architecture", b->arch);
    vocab(b);
    key_u32(b, "context_length", 64);
    key_u32(b, "embedding_length", (uint32_t)E);
    key_u32(b, "feed_forward_length", (uint32_t)ff);
    key_u32(b, "block_count", (uint32_t)n_layer);
    key_u32(b, "attention.head_count", (uint32_t)n_head);
    if (n_head_kv != n_head) key_u32(b, "attention.head_count_kv", (uint32_t)n_head_kv);
    if (take(s, 4) == 3) key_u32(b, "attention.key_length", (uint32_t)take(s, 40));
    if (take(s, 4) == 3) key_u32(b, "rope.dimension_count", (uint32_t)take(s, 40));
    key_u32(b, "pooling_type", take(s, 5));
    char k[128];
    snprintf(k, sizeof k, "%s.attention.causal", b->arch);
    if (take(s, 4) == 3) gguf_writer_set_bool(b->w, k, take(s, 2));
    if (take(s, 4) == 3) key_u32(b, "moe_every_n_layers", take(s, 3));
    b->bad = take(s, 4) == 3 ? (int)take(s, 64) : -1;
    tensor(b, "token_embd.weight", E, 16);
    if (take(s, 4) != 3) tensor(b, "position_embd.weight", E, take(s, 4) == 3 ? 1 + take(s, 80) : 64);
    if (take(s, 4) != 3) tensor(b, "token_types.weight", take(s, 4) == 3 ? E + 1 : E, 2);
    tensor(b, "token_embd_norm.weight", E, 1);
    if (take(s, 8) != 7) tensor(b, "token_embd_norm.bias", E, 1);
    for (int il = 0; il < n_layer; il++) layer(b, s, il, E, qkv, ff);
}

/* Up to three inputs in one batch, each from position 0; bad ids too. */
static void run(model *m, in *s) {
    int32_t tok[16], pos[16], seq[16];
    int n = 0, n_seq = 1 + (int)take(s, 3);
    for (int q = 0; q < n_seq; q++) {
        int len = 1 + (int)take(s, 5);
        for (int i = 0; i < len && n < 16; i++) tok[n] = (int32_t)take(s, 17), pos[n] = i, seq[n] = q, n++;
    }
    oc_error err;
    float *out = malloc((size_t)n_seq * (size_t)model_hparams_of(m)->n_embd * sizeof(float));
    model_batch b = {.n = n, .tokens = tok, .pos = pos, .seq = seq};
    (void)model_embed(m, &b, out, &err);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    in s = {data, size, 0};
    build b = {.w = gguf_writer_new(), .seed = 1};
    write_model(&b, &s);
    void *bytes = NULL;
    size_t len = 0;
    oc_error err;
    int fd = memfd_create("fuzz-bert", 0);
    if (fd >= 0 && gguf_writer_write_memory(b.w, &bytes, &len, &err) == 0 && write(fd, bytes, len) == (ssize_t)len) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        model_params p = model_default_params();
        p.n_ctx = 32, p.n_batch = 16, p.n_threads = 1 + (int)take(&s, 2);
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

/* Writes a random-weight mixture-of-experts model of a real shape for
 * speed measurements: ../shared/tools/make-bench-model.py has no MoE
 * preset, and MoE models are what most people run on a CPU.
 *   qwen3moe  Qwen3-30B-A3B's layer: n_embd 2048, 32 heads / 4 kv heads of
 *             128, 128 experts of 768, 8 used, q/k norms, untied output;
 *             llama-quantize's Q4_K_M mix (Q4_K, attn_v and ffn_down_exps
 *             Q6_K on its use_more_bits layers, output Q6_K).
 *   gpt-oss   gpt-oss-20b's layer: n_embd 2880, 64 heads / 8 kv heads of
 *             64, 32 experts of 2880, 4 used, MXFP4 experts with biases,
 *             sinks, every other layer sliding (128); the rest Q8_0 as
 *             Ollama's file has it (there: F16/BF16; Q8_0 keeps it small).
 * Fewer layers than the real model (--layers, default 8): per-token costs
 * scale with layers, and llama.cpp runs the same file in the same run.
 * Weights: a pool of 64 random rows per shape and type, quantized once by
 * the type's own quantizer; every row of a tensor is one of them, picked
 * pseudo-randomly, so writing GBs takes seconds and the bytes read are as
 * many as the real model's. The router is F32 noise: tokens spread over
 * the experts about evenly. The tokenizer comes from VOCAB.gguf (e.g.
 * ../shared/testdata/vocab/ggml-vocab-qwen2.gguf).
 * Not a test. Build by hand against the library of a Release build:
 *   gcc -O2 -Isrc bench/make_moe_model.c build/libollama_core.a -lm -lpthread \
 *       $(pkg-config --libs libpcre2-8 libutf8proc libcrypto) -o /tmp/make_moe_model
 * Usage: make_moe_model ARCH OUT.gguf VOCAB.gguf [LAYERS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "tensor/tensor.h"

enum { POOL_ROWS = 64, MAX_FILLS = 1024 };

static uint64_t rng_state = 12345;
static uint64_t next_rand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state;
}
static float randn(void) { /* Box-Muller */
    double u1 = ((next_rand() >> 11) + 1.0) / 9007199254740993.0, u2 = (next_rand() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

/* A tensor made while the file is written: rows drawn from a pool. */
typedef struct {
    enum tensor_type type;
    int64_t ne0, rows;
    float std, mean;
    uint64_t seed;
} fill_spec;

static fill_spec fills[MAX_FILLS];
static int n_fills;

/* MXFP4 has no quantizer here: random nibbles under a fixed E8M0 scale
 * (2^-6 with its values up to 6: weights up to ~0.1). */
static void random_mxfp4(uint8_t *row, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) row[i] = (uint8_t)(next_rand() >> 56);
    for (size_t b = 0; b < bytes; b += 17) row[b] = 127 - 6;
}

static int fill_rows(void *ctx, void *out, uint64_t nbytes, oc_error *err) {
    const fill_spec *f = ctx;
    const size_t rb = tensor_row_size(f->type, f->ne0);
    if (rb * (uint64_t)f->rows != nbytes) return oc_fail(err, "size mismatch");
    uint8_t *pool = malloc(rb * POOL_ROWS);
    float *row = malloc((size_t)f->ne0 * sizeof(float));
    rng_state = f->seed;
    tensor_from_float_fn quantize = tensor_get_traits(f->type)->from_float;
    for (int r = 0; r < POOL_ROWS; r++) {
        if (!quantize) {
            random_mxfp4(pool + rb * r, rb);
            continue;
        }
        for (int64_t i = 0; i < f->ne0; i++) row[i] = f->mean + f->std * randn();
        if (f->type == TENSOR_F32) memcpy(pool + rb * r, row, rb);
        else quantize(row, pool + rb * r, f->ne0);
    }
    for (int64_t r = 0; r < f->rows; r++) memcpy((uint8_t *)out + rb * (size_t)r, pool + rb * (next_rand() >> 58), rb);
    free(row);
    free(pool);
    return 0;
}

static gguf_writer *W;
static const char *ARCH;

static void add_mean(const char *name, enum tensor_type type, int64_t ne0, int64_t ne1, int64_t ne2, float std,
                     float mean) {
    if (n_fills == MAX_FILLS) {
        fprintf(stderr, "too many tensors\n");
        exit(1);
    }
    fill_spec *f = &fills[n_fills++];
    *f = (fill_spec){type, ne0, ne1 * ne2, std, mean, 1000 + (uint64_t)n_fills};
    const int64_t ne[3] = {ne0, ne1, ne2};
    oc_error err;
    if (gguf_writer_add_tensor_fill(W, name, type, ne2 > 1 ? 3 : ne1 > 1 ? 2 : 1, ne,
                                    tensor_row_size(type, ne0) * (uint64_t)f->rows, fill_rows, f, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        exit(1);
    }
}

static void add(const char *name, enum tensor_type type, int64_t ne0, int64_t ne1, int64_t ne2, float std) {
    add_mean(name, type, ne0, ne1, ne2, std, 0);
}

static void add_l(int il, const char *suffix, enum tensor_type type, int64_t ne0, int64_t ne1, int64_t ne2, float std) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
    add(name, type, ne0, ne1, ne2, std);
}

static void key_u32(const char *key, uint32_t v) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", ARCH, key);
    gguf_writer_set_u32(W, k, v);
}
static void key_f32(const char *key, float v) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", ARCH, key);
    gguf_writer_set_f32(W, k, v);
}

/* Norm weights near 1. */
static void norm(int il, const char *suffix, int64_t n) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
    add_mean(name, TENSOR_F32, n, 1, 1, 0.02f, 1);
}

/* llama-quantize's use_more_bits(i, n): the first and last eighth, and
 * every third layer between. */
static int more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static void qwen3moe(int L, int n_vocab) {
    const int E = 2048, H = 32, HKV = 4, HD = 128, NE = 128, FE = 768;
    key_u32("context_length", 40960), key_u32("embedding_length", E), key_u32("feed_forward_length", 6144);
    key_u32("block_count", (uint32_t)L), key_u32("attention.head_count", H), key_u32("attention.head_count_kv", HKV);
    key_u32("attention.key_length", HD), key_u32("attention.value_length", HD), key_u32("rope.dimension_count", HD);
    key_f32("rope.freq_base", 1e6f), key_f32("attention.layer_norm_rms_epsilon", 1e-6f);
    key_u32("expert_count", NE), key_u32("expert_used_count", 8), key_u32("expert_feed_forward_length", FE);
    add("token_embd.weight", TENSOR_Q4_K, E, n_vocab, 1, 0.02f);
    for (int il = 0; il < L; il++) {
        const enum tensor_type more = more_bits(il, L) ? TENSOR_Q6_K : TENSOR_Q4_K;
        norm(il, "attn_norm.weight", E);
        add_l(il, "attn_q.weight", TENSOR_Q4_K, E, H * HD, 1, 0.02f);
        add_l(il, "attn_k.weight", TENSOR_Q4_K, E, HKV * HD, 1, 0.02f);
        add_l(il, "attn_v.weight", more, E, HKV * HD, 1, 0.02f);
        add_l(il, "attn_output.weight", TENSOR_Q4_K, H * HD, E, 1, 0.02f);
        norm(il, "attn_q_norm.weight", HD), norm(il, "attn_k_norm.weight", HD);
        norm(il, "ffn_norm.weight", E);
        add_l(il, "ffn_gate_inp.weight", TENSOR_F32, E, NE, 1, 0.02f);
        add_l(il, "ffn_gate_exps.weight", TENSOR_Q4_K, E, FE, NE, 0.02f);
        add_l(il, "ffn_up_exps.weight", TENSOR_Q4_K, E, FE, NE, 0.02f);
        add_l(il, "ffn_down_exps.weight", more, FE, E, NE, 0.02f);
    }
    add_mean("output_norm.weight", TENSOR_F32, E, 1, 1, 0.02f, 1);
    add("output.weight", TENSOR_Q6_K, E, n_vocab, 1, 0.02f);
}

static void gptoss(int L, int n_vocab) {
    const int E = 2880, H = 64, HKV = 8, HD = 64, NE = 32, FE = 2880;
    key_u32("context_length", 131072), key_u32("embedding_length", E), key_u32("feed_forward_length", FE);
    key_u32("block_count", (uint32_t)L), key_u32("attention.head_count", H), key_u32("attention.head_count_kv", HKV);
    key_u32("attention.key_length", HD), key_u32("attention.value_length", HD), key_u32("rope.dimension_count", HD);
    key_f32("rope.freq_base", 150000.0f), key_f32("attention.layer_norm_rms_epsilon", 1e-5f);
    key_u32("attention.sliding_window", 128);
    key_f32("rope.scaling.factor", 32.0f), key_u32("rope.scaling.original_context_length", 4096);
    gguf_writer_set_str(W, "gpt-oss.rope.scaling.type", "yarn");
    key_u32("expert_count", NE), key_u32("expert_used_count", 4), key_u32("expert_feed_forward_length", FE);
    add("token_embd.weight", TENSOR_Q8_0, E, n_vocab, 1, 0.02f);
    for (int il = 0; il < L; il++) {
        norm(il, "attn_norm.weight", E);
        add_l(il, "attn_q.weight", TENSOR_Q8_0, E, H * HD, 1, 0.02f), add_l(il, "attn_q.bias", TENSOR_F32, H * HD, 1, 1, 0.02f);
        add_l(il, "attn_k.weight", TENSOR_Q8_0, E, HKV * HD, 1, 0.02f), add_l(il, "attn_k.bias", TENSOR_F32, HKV * HD, 1, 1, 0.02f);
        add_l(il, "attn_v.weight", TENSOR_Q8_0, E, HKV * HD, 1, 0.02f), add_l(il, "attn_v.bias", TENSOR_F32, HKV * HD, 1, 1, 0.02f);
        add_l(il, "attn_output.weight", TENSOR_Q8_0, H * HD, E, 1, 0.02f), add_l(il, "attn_output.bias", TENSOR_F32, E, 1, 1, 0.02f);
        add_l(il, "attn_sinks.weight", TENSOR_F32, H, 1, 1, 0.5f);
        norm(il, "post_attention_norm.weight", E);
        add_l(il, "ffn_gate_inp.weight", TENSOR_F32, E, NE, 1, 0.02f), add_l(il, "ffn_gate_inp.bias", TENSOR_F32, NE, 1, 1, 0.02f);
        add_l(il, "ffn_gate_exps.weight", TENSOR_MXFP4, E, FE, NE, 0), add_l(il, "ffn_gate_exps.bias", TENSOR_F32, FE, NE, 1, 0.02f);
        add_l(il, "ffn_up_exps.weight", TENSOR_MXFP4, E, FE, NE, 0), add_l(il, "ffn_up_exps.bias", TENSOR_F32, FE, NE, 1, 0.02f);
        add_l(il, "ffn_down_exps.weight", TENSOR_MXFP4, FE, E, NE, 0), add_l(il, "ffn_down_exps.bias", TENSOR_F32, E, NE, 1, 0.02f);
    }
    add_mean("output_norm.weight", TENSOR_F32, E, 1, 1, 0.02f, 1);
    add("output.weight", TENSOR_Q8_0, E, n_vocab, 1, 0.02f);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: make_moe_model qwen3moe|gpt-oss OUT.gguf VOCAB.gguf [LAYERS]\n");
        return 2;
    }
    ARCH = argv[1];
    const int L = argc > 4 ? atoi(argv[4]) : 8;
    oc_error err;
    gguf_file *vocab = gguf_open(argv[3], &err);
    if (!vocab) {
        fprintf(stderr, "%s: %s\n", argv[3], err.msg);
        return 1;
    }
    tensor_init();
    W = gguf_writer_new();
    gguf_writer_set_str(W, "general.architecture", ARCH);
    gguf_writer_set_str(W, "general.name", "random-weight MoE bench model");
    for (uint64_t i = 0; i < vocab->n_kv; i++)
        if (strncmp(vocab->kv[i].key, "tokenizer.", 10) == 0) gguf_writer_set_value(W, vocab->kv[i].key, &vocab->kv[i].value);
    const int n_vocab = (int)gguf_get(vocab, "tokenizer.ggml.tokens")->arr.n;
    if (strcmp(ARCH, "qwen3moe") == 0) qwen3moe(L, n_vocab);
    else if (strcmp(ARCH, "gpt-oss") == 0) gptoss(L, n_vocab);
    else {
        fprintf(stderr, "unknown arch %s\n", ARCH);
        return 2;
    }
    if (gguf_writer_write_file(W, argv[2], &err)) {
        fprintf(stderr, "%s: %s\n", argv[2], err.msg);
        return 1;
    }
    printf("wrote %s: %s, %d layers\n", argv[2], ARCH, L);
    gguf_writer_free(W);
    gguf_close(vocab);
    return 0;
}

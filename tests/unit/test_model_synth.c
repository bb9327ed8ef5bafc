/* model: a synthetic llama with 256-wide rows (random weights, the demo
 * model's tokenizer), written with our GGUF writer, so that the quantized
 * types (K-quants included) and head sizes of real models go through the
 * forward pass:
 * - Q8_0 / Q6_K / Q4_K / Q4_0 / Q5_0 / F16 copies give logits close to F32
 *   (relative RMS bounds per type);
 * - 1 and 2 threads give identical logits;
 * - one batched prefill equals token-by-token evaluation;
 * - F16 and Q8_0 KV caches stay close to F32;
 * - two sequences decoded in one batch match each decoded alone. */
#include <unistd.h>

#include "check.h"
#include "model/model.h"

enum { N_EMBD = 256, N_FF = 512, N_LAYER = 2, N_HEAD = 4, N_HEAD_KV = 2, HEAD_DIM = 64 };

static uint64_t rng_state = 12345;
static float randn(void) { /* Box-Muller over a 64-bit LCG */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    double u1 = ((rng_state >> 11) + 1.0) / 9007199254740993.0;
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    double u2 = (rng_state >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

static float *owned[64];
static int n_owned;

static void add_tensor(gguf_writer *w, const char *name, int64_t ne0, int64_t ne1, float std, float mean) {
    int64_t n = ne0 * ne1;
    float *data = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) data[i] = mean + std * randn();
    owned[n_owned++] = data;
    int64_t ne[2] = {ne0, ne1};
    gguf_writer_add_tensor(w, name, TENSOR_F32, ne1 > 1 ? 2 : 1, ne, data, (uint64_t)n * 4, NULL);
}

static int write_synthetic(const char *path, int n_layer) {
    gguf_file *demo = gguf_open("models/stories260K.gguf", NULL);
    if (!demo) return -1;
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    for (uint64_t i = 0; i < demo->n_kv; i++)
        if (strncmp(demo->kv[i].key, "tokenizer.", 10) == 0)
            gguf_writer_set_value(w, demo->kv[i].key, &demo->kv[i].value);
    gguf_writer_set_u32(w, "llama.context_length", 512);
    gguf_writer_set_u32(w, "llama.embedding_length", N_EMBD);
    gguf_writer_set_u32(w, "llama.feed_forward_length", N_FF);
    gguf_writer_set_u32(w, "llama.block_count", (uint32_t)n_layer);
    gguf_writer_set_u32(w, "llama.attention.head_count", N_HEAD);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", N_HEAD_KV);
    gguf_writer_set_u32(w, "llama.rope.dimension_count", HEAD_DIM);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
    int n_vocab = (int)gguf_get(demo, "tokenizer.ggml.tokens")->arr.n; /* 512 */
    add_tensor(w, "token_embd.weight", N_EMBD, n_vocab, 1.0f, 0);
    add_tensor(w, "output_norm.weight", N_EMBD, 1, 0.1f, 1);
    add_tensor(w, "output.weight", N_EMBD, n_vocab, 0.05f, 0);
    char name[64];
    for (int l = 0; l < n_layer; l++) {
#define T(suffix, a, b, std, mean) (snprintf(name, sizeof name, "blk.%d." suffix, l), add_tensor(w, name, a, b, std, mean))
        T("attn_norm.weight", N_EMBD, 1, 0.1f, 1);
        T("attn_q.weight", N_EMBD, N_HEAD * HEAD_DIM, 0.05f, 0);
        T("attn_k.weight", N_EMBD, N_HEAD_KV * HEAD_DIM, 0.05f, 0);
        T("attn_v.weight", N_EMBD, N_HEAD_KV * HEAD_DIM, 0.05f, 0);
        T("attn_output.weight", N_HEAD * HEAD_DIM, N_EMBD, 0.05f, 0);
        T("ffn_norm.weight", N_EMBD, 1, 0.1f, 1);
        T("ffn_gate.weight", N_EMBD, N_FF, 0.05f, 0);
        T("ffn_up.weight", N_EMBD, N_FF, 0.05f, 0);
        T("ffn_down.weight", N_FF, N_EMBD, 0.05f, 0);
#undef T
    }
    oc_error err;
    int rc = gguf_writer_write_file(w, path, &err);
    if (rc) fprintf(stderr, "write: %s\n", err.msg);
    gguf_writer_free(w);
    gguf_close(demo);
    for (int i = 0; i < n_owned; i++) free(owned[i]);
    n_owned = 0;
    return rc;
}

static const int32_t PROMPT[] = {1, 403, 407, 261, 378, 300, 290, 280, 270, 260, 450, 460, 470, 480, 490, 500,
                                 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170};
#define N_PROMPT ((int)(sizeof PROMPT / sizeof PROMPT[0]))

/* Logits after the prompt, either in one batch or token by token. */
static float *logits_of(const char *path, int threads, enum tensor_type kv, bool one_by_one) {
    model_params p = model_default_params();
    p.n_threads = threads;
    p.kv_type = kv;
    p.n_ctx = 128;
    oc_error err;
    model *m = model_load(path, &p, &err);
    if (!m) {
        fprintf(stderr, "load: %s\n", err.msg);
        return NULL;
    }
    float *logits = malloc(512 * sizeof(float));
    if (one_by_one)
        for (int i = 0; i < N_PROMPT; i++) model_eval(m, &PROMPT[i], 1, i, logits, &err);
    else
        model_eval(m, PROMPT, N_PROMPT, 0, logits, &err);
    model_free(m);
    return logits;
}

static double rel_rms(const float *a, const float *b);

static model *load_ctx(const char *path, enum tensor_type kv, int n_ctx) {
    model_params p = model_default_params();
    p.kv_type = kv;
    p.n_ctx = n_ctx;
    oc_error err;
    return model_load(path, &p, &err);
}

/* Context shift. In a one-layer model a key depends only on its token and
 * position, so shifting the cache must give what evaluating the remaining
 * tokens afresh at their new positions gives. */
static void check_kv_shift(const char *path, enum tensor_type kv, double bound) {
    enum { KEEP = 4, DISCARD = 11, USED = 30 };
    model *a = load_ctx(path, kv, 64), *b = load_ctx(path, kv, 64);
    CHECK(a && b);
    if (!a || !b) return model_free(a), model_free(b);
    oc_error err;
    float la[512], lb[512];
    CHECK(model_eval(a, PROMPT, USED, 0, NULL, &err) == 0);
    CHECK(model_kv_shift(a, 0, KEEP, DISCARD, USED, &err) == 0);
    int32_t kept[USED];
    memcpy(kept, PROMPT, KEEP * sizeof(int32_t));
    memcpy(kept + KEEP, PROMPT + KEEP + DISCARD, (USED - KEEP - DISCARD) * sizeof(int32_t));
    CHECK(model_eval(b, kept, USED - DISCARD, 0, NULL, &err) == 0);
    CHECK(model_eval(a, &PROMPT[USED], 1, USED - DISCARD, la, &err) == 0);
    CHECK(model_eval(b, &PROMPT[USED], 1, USED - DISCARD, lb, &err) == 0);
    printf("KV %s context shift: logits relative RMS difference %.2e\n", tensor_type_name(kv), rel_rms(la, lb));
    CHECK_MSG(rel_rms(la, lb) < bound, "shifted KV %s", tensor_type_name(kv));
    CHECK(model_kv_shift(a, 0, KEEP, USED, USED, &err) != 0); /* more than is there */
    CHECK(model_kv_shift(a, 1, KEEP, 2, USED, &err) != 0);    /* no such sequence */
    model_free(a);
    model_free(b);
}

/* Two sequences in one batch (a prefill run of one next to a decode step
 * of the other, then both decoding together) give the logits each gets
 * alone. */
static void check_two_sequences(const char *path, const float *ref) {
    model_params p = model_default_params();
    p.n_threads = 2;
    p.kv_type = TENSOR_F32;
    p.n_ctx = 128;
    p.n_seq = 2;
    oc_error err;
    model *m = model_load(path, &p, &err);
    CHECK(m != NULL);
    if (!m) return;
    float *logits = malloc(2 * 512 * sizeof(float));
    int32_t tok[64], pos[64], seq[64];
    bool want[64];
    /* sequence 1: the first 5 prompt tokens alone. */
    for (int i = 0; i < 5; i++) tok[i] = PROMPT[i], pos[i] = i, seq[i] = 1;
    model_batch b = {.n = 5, .tokens = tok, .pos = pos, .seq = seq};
    CHECK(model_decode(m, &b, logits, &err) == 0);
    /* sequence 1 continues one token; sequence 0 prefills the whole prompt. */
    int n = 0;
    tok[n] = PROMPT[5], pos[n] = 5, seq[n] = 1, want[n++] = true;
    for (int i = 0; i < N_PROMPT; i++) tok[n] = PROMPT[i], pos[n] = i, seq[n] = 0, want[n++] = i == N_PROMPT - 1;
    b = (model_batch){.n = n, .tokens = tok, .pos = pos, .seq = seq, .logits = want};
    CHECK(model_decode(m, &b, logits, &err) == 0);
    CHECK_MSG(rel_rms(logits + 512, ref) < 1e-5, "sequence 0 in a shared batch: %g", rel_rms(logits + 512, ref));
    /* sequence 1 alone up to 6 tokens, for comparison. */
    model_params p1 = p;
    p1.n_seq = 1;
    model *m1 = model_load(path, &p1, &err);
    float *alone = malloc(512 * sizeof(float));
    model_eval(m1, PROMPT, 6, 0, alone, &err);
    CHECK_MSG(rel_rms(logits, alone) < 1e-5, "sequence 1 in a shared batch: %g", rel_rms(logits, alone));
    /* Bad batches are refused: a sequence split into two runs. */
    int32_t t2[3] = {1, 2, 3}, p2[3] = {6, 40, 7}, s2[3] = {1, 0, 1};
    b = (model_batch){.n = 3, .tokens = t2, .pos = p2, .seq = s2};
    CHECK(model_decode(m, &b, logits, &err) != 0);
    CHECK(strstr(err.msg, "two runs") != NULL);
    free(alone);
    free(logits);
    model_free(m1);
    model_free(m);
}

static double rel_rms(const float *a, const float *b) {
    double se = 0, s = 0;
    for (int i = 0; i < 512; i++) {
        se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return sqrt(se / s);
}

int main(void) {
    tensor_init();
    char path[] = "/tmp/ollama-synth-XXXXXX", qpath[] = "/tmp/ollama-synth-q-XXXXXX";
    close(mkstemp(path));
    close(mkstemp(qpath));
    CHECK(write_synthetic(path, N_LAYER) == 0);
    float *ref = logits_of(path, 1, TENSOR_F32, false);
    CHECK(ref != NULL);
    if (!ref) return check_done();

    float *two = logits_of(path, 2, TENSOR_F32, false);
    CHECK_MSG(memcmp(ref, two, 512 * sizeof(float)) == 0, "2 threads: rel %g", rel_rms(two, ref));
    float *seq = logits_of(path, 1, TENSOR_F32, true);
    check_two_sequences(path, ref);
    CHECK_MSG(rel_rms(seq, ref) < 1e-5, "token by token: rel %g", rel_rms(seq, ref));
    struct { enum tensor_type kv; double bound; } kvs[] = {{TENSOR_F16, 5e-4}, {TENSOR_Q8_0, 5e-3}};
    for (int i = 0; i < 2; i++) {
        float *l = logits_of(path, 2, kvs[i].kv, false);
        printf("KV %s: logits relative RMS difference %.2e\n", tensor_type_name(kvs[i].kv), rel_rms(l, ref));
        CHECK_MSG(rel_rms(l, ref) < kvs[i].bound, "KV %s", tensor_type_name(kvs[i].kv));
        free(l);
    }
    /* Bounds ~2x the measured error (F16 4.6e-4, Q8_0 1.5e-2, Q6_K 3.6e-2,
     * Q5_0 7.7e-2, Q4_K 0.126, Q4_0 0.156), which tracks each format's step. */
    struct { enum tensor_type t; double bound; } qs[] = {
        {TENSOR_F16, 1e-3}, {TENSOR_Q8_0, 3e-2}, {TENSOR_Q6_K, 7e-2}, {TENSOR_Q5_0, 0.15},
        {TENSOR_Q4_K, 0.25}, {TENSOR_Q4_0, 0.3},
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        oc_error err;
        CHECK(model_quantize_file(path, qpath, qs[i].t, &err) == 0);
        float *batch = logits_of(qpath, 2, TENSOR_F16, false);
        float *single = logits_of(qpath, 1, TENSOR_F16, true);
        printf("%s weights: logits relative RMS error %.2e (prefill vs decode path %.2e)\n",
               tensor_type_name(qs[i].t), rel_rms(batch, ref), rel_rms(single, batch));
        CHECK_MSG(rel_rms(batch, ref) < qs[i].bound, "%s", tensor_type_name(qs[i].t));
        CHECK_MSG(rel_rms(single, batch) < 1e-3, "%s: prefill and decode paths disagree", tensor_type_name(qs[i].t));
        free(batch);
        free(single);
    }
    char path1[] = "/tmp/ollama-synth1-XXXXXX";
    close(mkstemp(path1));
    CHECK(write_synthetic(path1, 1) == 0);
    check_kv_shift(path1, TENSOR_F32, 1e-5);
    check_kv_shift(path1, TENSOR_F16, 2e-3);
    unlink(path1);
    free(ref);
    free(two);
    free(seq);
    unlink(path);
    unlink(qpath);
    return check_done();
}

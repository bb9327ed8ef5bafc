/* model: llama.cpp parity for each architecture family on tiny random
 * models (tests/data/models, written by tests/tools/make_family_models)
 * and the reference outputs of llama.cpp (tests/data/reference, written by
 * its llamacpp-reference.mjs): prompt tokens identical, the last prompt
 * token's log-probabilities within 1e-3 (the reference gives
 * probabilities, so logits are compared after log-softmax), greedy tokens
 * identical. Quantized weights keep the same bound: both engines quantize
 * activations alike (Q8_0 / Q8_K), so gpt-oss's MXFP4 experts and
 * qwen3-quant's IQ4_XS, IQ4_NL, Q4_K, Q6_K and Q8_0 matrices match to
 * ~5e-6 as well (CMake runs this test again on the scalar kernels). The 36-token
 * prompt is longer than the 8-token sliding windows, so the window and
 * soft-cap paths run in prefill and decoding; mixtral is the llama
 * architecture with 4 experts (2 used), as are qwen3moe and gpt-oss.
 * Also: token-by-token decoding equals one batched prefill, 2 threads
 * equal 1, and a broken family model is refused with a clear error. */
#include <jansson.h>
#include <unistd.h>

#include "check.h"
#include "model/model.h"
#include "model/model_internal.h"
#include "tensor/tensor.h"

static const char *FAMILIES[] = {"qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "mixtral", "qwen3moe", "gpt-oss",
                                 "gpt-oss-fused", "qwen3-quant", "phi3-long"};

typedef struct reference {
    json_t *root;
    const char *prompt;
    bool add_bos;
    int n_prompt, n_greedy, n_vocab, n_ctx;
    const char *model; /* file name in tests/data/models */
    int32_t prompt_tokens[256], greedy[256];
    double logprobs[4096];
    bool have[4096];
} reference;

static int load_reference(const char *path, reference *r) {
    json_error_t jerr;
    r->root = json_load_file(path, 0, &jerr);
    if (!r->root) return fprintf(stderr, "%s: %s\n", path, jerr.text), -1;
    r->prompt = json_string_value(json_object_get(r->root, "prompt"));
    r->add_bos = json_is_true(json_object_get(r->root, "add_bos"));
    r->n_vocab = (int)json_integer_value(json_object_get(r->root, "n_vocab"));
    r->n_ctx = (int)json_integer_value(json_object_get(r->root, "n_ctx"));
    r->model = json_string_value(json_object_get(r->root, "model"));
    json_t *pt = json_object_get(r->root, "prompt_tokens"), *gt = json_object_get(r->root, "greedy_tokens");
    json_t *lp = json_object_get(r->root, "last_prompt_logprobs");
    r->n_prompt = (int)json_array_size(pt);
    r->n_greedy = (int)json_array_size(gt);
    if (!r->prompt || !r->model || r->n_ctx <= 0 || r->n_prompt > 256 || r->n_greedy > 256 || r->n_vocab > 4096 ||
        (int)json_array_size(lp) != r->n_vocab)
        return -1;
    for (int i = 0; i < r->n_prompt; i++) r->prompt_tokens[i] = (int32_t)json_integer_value(json_array_get(pt, i));
    for (int i = 0; i < r->n_greedy; i++) r->greedy[i] = (int32_t)json_integer_value(json_array_get(gt, i));
    for (int i = 0; i < r->n_vocab; i++) {
        json_t *v = json_array_get(lp, i);
        r->have[i] = json_is_number(v);
        r->logprobs[i] = json_number_value(v);
    }
    return 0;
}

static model *load(const char *file, int threads, int n_ctx) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/models/%s", file);
    model_params p = model_default_params();
    p.n_threads = threads;
    p.kv_type = TENSOR_F32;
    p.n_ctx = n_ctx;
    oc_error err;
    model *m = model_load(path, &p, &err);
    if (!m) fprintf(stderr, "load %s: %s\n", path, err.msg);
    return m;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) best = x[i] > x[best] ? i : best;
    return best;
}

/* Max |our log-softmax - reference log-probability|. */
static double logprob_diff(const float *logits, const reference *r) {
    double mx = -INFINITY, sum = 0, worst = 0;
    for (int i = 0; i < r->n_vocab; i++) mx = fmax(mx, logits[i]);
    for (int i = 0; i < r->n_vocab; i++) sum += exp(logits[i] - mx);
    double lse = mx + log(sum);
    for (int i = 0; i < r->n_vocab; i++)
        if (r->have[i]) worst = fmax(worst, fabs(logits[i] - lse - r->logprobs[i]));
    return worst;
}

/* Prompt in one batch (or token by token), then greedy decoding. */
static int run(model *m, const reference *r, bool one_by_one, float *first, int32_t *out) {
    oc_error err;
    int n_vocab = r->n_vocab, rc = 0;
    float *logits = malloc((size_t)n_vocab * sizeof(float));
    if (one_by_one)
        for (int i = 0; i < r->n_prompt && rc == 0; i++) rc = model_eval(m, &r->prompt_tokens[i], 1, i, logits, &err);
    else
        rc = model_eval(m, r->prompt_tokens, r->n_prompt, 0, logits, &err);
    if (rc) fprintf(stderr, "eval: %s\n", err.msg);
    memcpy(first, logits, (size_t)n_vocab * sizeof(float));
    int n = 0;
    while (rc == 0 && n < r->n_greedy) {
        int32_t next = argmax(logits, n_vocab);
        out[n++] = next;
        if (tokenizer_is_eog(model_tokenizer(m), next)) break;
        rc = model_eval(m, &next, 1, r->n_prompt + n - 1, logits, &err);
    }
    free(logits);
    return n;
}

/* arch names the reference; file, when given, a model of another layout
 * (Ollama's) that must give the same outputs. */
static void check_family(const char *arch, const char *file) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/reference/%s.json", arch);
    static reference r;
    memset(&r, 0, sizeof r);
    if (load_reference(path, &r) != 0) {
        CHECK_MSG(0, "cannot read %s", path);
        json_decref(r.root);
        return;
    }
    const char *model_file = file ? file : r.model;
    model *m = load(model_file, 1, r.n_ctx);
    CHECK_MSG(m != NULL, "%s loads", model_file);
    if (!m) return (void)json_decref(r.root);
    CHECK_EQ_INT(model_hparams_of(m)->n_vocab, r.n_vocab);
    int32_t *ids = NULL;
    int n = tokenizer_encode(model_tokenizer(m), r.prompt, strlen(r.prompt), r.add_bos, false, &ids, NULL);
    CHECK_MSG(n == r.n_prompt && memcmp(ids, r.prompt_tokens, (size_t)n * sizeof(int32_t)) == 0, "%s: prompt tokens", arch);
    free(ids);
    static float first[4096], first2[4096];
    static int32_t got[256], got2[256];
    int n_got = run(m, &r, false, first, got);
    double diff = logprob_diff(first, &r);
    CHECK_MSG(diff < 1e-3, "%s: log-probabilities max |diff| %g", arch, diff);
    CHECK_EQ_INT(n_got, r.n_greedy);
    int same = 0;
    while (same < n_got && same < r.n_greedy && got[same] == r.greedy[same]) same++;
    CHECK_MSG(same == r.n_greedy, "%s: greedy token %d differs", arch, same);
    model_free(m);
    /* Token by token on 2 threads: the same logits and tokens. */
    m = load(model_file, 2, r.n_ctx);
    int n2 = m ? run(m, &r, true, first2, got2) : 0;
    double d2 = 0;
    for (int i = 0; i < r.n_vocab; i++) d2 = fmax(d2, fabs(first[i] - first2[i]));
    CHECK_MSG(d2 < 1e-4, "%s: token by token on 2 threads differs by %g", arch, d2);
    CHECK_MSG(n2 == n_got && memcmp(got, got2, (size_t)n_got * sizeof(int32_t)) == 0, "%s: greedy tokens by token", arch);
    printf("%-7s %d prompt tokens, log-probabilities max |diff| %.2e, %d/%d greedy tokens, decode vs prefill %.1e\n",
           model_file, n, diff, same, r.n_greedy, d2);
    model_free(m);
    json_decref(r.root);
}

/* embeddinggemma: the pooled, projected vector of llama.cpp (not
 * normalised) to 1e-3, alone and as the second input of a batch of two. */
static void check_embedding(const char *file) {
    json_error_t jerr;
    json_t *root = json_load_file("tests/data/reference/gemma-embedding.json", 0, &jerr);
    CHECK(root != NULL);
    if (!root) return;
    json_t *pt = json_object_get(root, "prompt_tokens"), *ev = json_object_get(root, "embedding");
    int n = (int)json_array_size(pt), E = (int)json_array_size(ev);
    model *m = load(file, 2, 256);
    CHECK(m != NULL && n > 0 && n <= 128);
    if (!m || n <= 0 || n > 128) return (void)json_decref(root);
    CHECK_EQ_INT(model_hparams_of(m)->n_embd, E);
    int32_t tok[256], pos[256], seq[256];
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < n; i++) {
            int t = r * n + i;
            tok[t] = (int32_t)json_integer_value(json_array_get(pt, i)) % 512 + (r == 0 && i == 1 ? 1 : 0);
            pos[t] = i, seq[t] = r;
        }
    float *out = calloc((size_t)3 * E, sizeof(float));
    oc_error err;
    model_batch alone = {.n = n, .tokens = tok + n, .pos = pos + n, .seq = seq};
    CHECK(model_embed(m, &alone, out, &err) == 0);
    model_batch two = {.n = 2 * n, .tokens = tok, .pos = pos, .seq = seq};
    CHECK(model_embed(m, &two, out + E, &err) == 0);
    double d = 0, d2 = 0, d_other = 0;
    for (int i = 0; i < E; i++) {
        double ref = json_number_value(json_array_get(ev, i));
        d = fmax(d, fabs(out[i] - ref));
        d2 = fmax(d2, fabs(out[2 * E + i] - ref));
        d_other = fmax(d_other, fabs(out[E + i] - ref));
    }
    CHECK_MSG(d < 1e-3, "gemma-embedding: max |diff| %g", d);
    CHECK_MSG(d2 < 1e-3, "gemma-embedding: second input of a batch: max |diff| %g", d2);
    CHECK_MSG(d_other > 1e-2, "gemma-embedding: a different input gives a different vector (%g)", d_other);
    printf("%s %d tokens, %d dims, max |diff| %.2e (in a batch of two %.2e)\n", file, n, E, d, d2);
    int32_t dummy = 1;
    CHECK(model_eval(m, &dummy, 1, 0, NULL, &err) != 0 && strstr(err.msg, "embeddings") != NULL);
    free(out);
    model_free(m);
    json_decref(root);
}

/* A copy of a family model without one tensor (drop) and with one key
 * set to a u32 (key, value; key NULL: none) must fail to load with an
 * error naming the problem (want). */
static void check_broken(const char *file, const char *drop, const char *key, uint32_t value, const char *want) {
    char src[256], dst[] = "/tmp/ollama-broken-XXXXXX";
    snprintf(src, sizeof src, "tests/data/models/%s", file);
    close(mkstemp(dst));
    oc_error err;
    gguf_file *f = gguf_open(src, &err);
    CHECK(f != NULL);
    if (!f) return;
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_set_value(w, f->kv[i].key, &f->kv[i].value);
    if (key) gguf_writer_set_u32(w, key, value);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (!drop || strcmp(t->name, drop) != 0)
            gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, NULL);
    }
    CHECK(gguf_writer_write_file(w, dst, &err) == 0);
    gguf_writer_free(w);
    gguf_close(f);
    model_params p = model_default_params();
    p.n_threads = 1;
    model *m = model_load(dst, &p, &err);
    CHECK_MSG(m == NULL && strstr(err.msg, want) != NULL, "%s: want an error with '%s', got '%s'", file, want,
              m ? "(loaded)" : err.msg);
    model_free(m);
    unlink(dst);
}

/* A one-layer copy of a family model (blk.0 only; key set to value when
 * given), written to dst. */
static int one_layer_copy(const char *file, const char *dst, const char *key, uint32_t value) {
    char src[256], block[64];
    snprintf(src, sizeof src, "tests/data/models/%s", file);
    oc_error err;
    gguf_file *f = gguf_open(src, &err);
    if (!f) return -1;
    char *arch = gguf_get_string(f, "general.architecture");
    snprintf(block, sizeof block, "%s.block_count", arch ? arch : "");
    free(arch);
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_set_value(w, f->kv[i].key, &f->kv[i].value);
    gguf_writer_set_u32(w, block, 1);
    if (key) gguf_writer_set_u32(w, key, value);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (strncmp(t->name, "blk.", 4) != 0 || strncmp(t->name, "blk.0.", 6) == 0)
            gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, NULL);
    }
    int rc = gguf_writer_write_file(w, dst, &err);
    gguf_writer_free(w);
    gguf_close(f);
    return rc;
}

/* Context shift with the families' rope (Gemma 3's own base and scale per
 * layer type, YaRN, long-rope factors): in a one-layer model a key depends
 * only on its token and position, so shifting the cache must give what
 * evaluating the kept tokens afresh gives (as test_model_synth checks for
 * llama). */
static void check_shift(const char *file, const char *key, uint32_t value, const char *what) {
    enum { KEEP = 4, DISCARD = 11, USED = 30 };
    char dst[] = "/tmp/ollama-shift-XXXXXX";
    close(mkstemp(dst));
    CHECK(one_layer_copy(file, dst, key, value) == 0);
    model_params p = model_default_params();
    p.n_threads = 1, p.kv_type = TENSOR_F32, p.n_ctx = 64;
    oc_error err;
    model *a = model_load(dst, &p, &err), *b = model_load(dst, &p, &err);
    CHECK_MSG(a && b, "%s: %s", what, err.msg);
    int32_t tok[USED + 1], kept[USED];
    for (int i = 0; i <= USED; i++) tok[i] = (int32_t)(1 + (i * 37) % 500);
    memcpy(kept, tok, KEEP * sizeof(int32_t));
    memcpy(kept + KEEP, tok + KEEP + DISCARD, (USED - KEEP - DISCARD) * sizeof(int32_t));
    static float la[4096], lb[4096];
    bool ok = a && b && model_eval(a, tok, USED, 0, NULL, &err) == 0 && model_kv_shift(a, 0, KEEP, DISCARD, USED, &err) == 0 &&
              model_eval(b, kept, USED - DISCARD, 0, NULL, &err) == 0 &&
              model_eval(a, &tok[USED], 1, USED - DISCARD, la, &err) == 0 &&
              model_eval(b, &tok[USED], 1, USED - DISCARD, lb, &err) == 0;
    CHECK_MSG(ok, "%s: %s", what, err.msg);
    double d = 0;
    for (int i = 0; ok && i < model_hparams_of(a)->n_vocab; i++) d = fmax(d, fabs(la[i] - lb[i]));
    CHECK_MSG(ok && d < 1e-4, "%s: shifted cache differs by %g", what, d);
    printf("context shift, %s: logits max |diff| %.2e\n", what, d);
    model_free(a);
    model_free(b);
    unlink(dst);
}

/* Packed weights (tensor_pack) against the file's layout: a batch of two
 * sequences' prompts with every token's logits, then a decode step of
 * both, bit for bit. qwen3-quant has Q8_0, Q4_K and Q6_K matrices with
 * packed layouts beside IQ4 ones without; qwen3moe-quant Q8_0 and Q4_0
 * experts (gate and up of one type in layer 0, of two in layer 1). */
static void check_packed(const char *file) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/models/%s", file);
    model *mm[2];
    for (int k = 0; k < 2; k++) {
        model_params p = model_default_params();
        p.n_threads = 2, p.n_ctx = 64, p.n_seq = 2, p.no_pack = k == 1;
        oc_error err;
        mm[k] = model_load(path, &p, &err);
        CHECK_MSG(mm[k] != NULL, "load %s: %s", path, err.msg);
        if (!mm[k]) return;
    }
    const size_t packed = model_packed_bytes(mm[0]);
    CHECK_EQ_INT((long long)model_packed_bytes(mm[1]), 0);
    if (tensor_isa_active() >= TENSOR_ISA_AVX2) CHECK_MSG(packed > 0, "%s: no weight was packed", file);
    const int n_vocab = model_hparams_of(mm[0])->n_vocab;
    static const int32_t tok[] = {11, 22, 33, 44, 55, 66, 77, 88, 99, 5, 6, 7, 8, 9};
    int32_t pos[14], seq[14];
    bool want[14];
    for (int i = 0; i < 14; i++) pos[i] = i < 9 ? i : i - 9, seq[i] = i < 9 ? 0 : 1, want[i] = true;
    float *l[2];
    bool same = true;
    for (int k = 0; k < 2; k++) {
        l[k] = malloc(sizeof(float) * 16 * (size_t)n_vocab);
        oc_error err;
        model_batch b = {.n = 14, .tokens = tok, .pos = pos, .seq = seq, .logits = want};
        const int32_t step_tok[2] = {3, 4}, step_pos[2] = {9, 5}, step_seq[2] = {0, 1};
        model_batch step = {.n = 2, .tokens = step_tok, .pos = step_pos, .seq = step_seq, .logits = want};
        CHECK_MSG(model_decode(mm[k], &b, l[k], &err) == 0 &&
                  model_decode(mm[k], &step, l[k] + 14 * (size_t)n_vocab, &err) == 0, "%s: decode", file);
    }
    same = memcmp(l[0], l[1], sizeof(float) * 16 * (size_t)n_vocab) == 0;
    CHECK_MSG(same, "%s: packed weights give other logits", file);
    printf("packed weights, %s: %zu bytes packed, logits of 16 tokens in 2 sequences %s\n", file, packed,
           same ? "identical" : "DIFFER");
    for (int k = 0; k < 2; k++) free(l[k]), model_free(mm[k]);
}

/* Gemma's GEGLU from its table is, for every half input, the bits of
 * evaluating llama.cpp's formula on it (F16 in, tanhf, F16 out). */
static void check_gemma_gelu(void) {
    const float k = 0.79788456080286535587989211986876f, a = 0.044715f;
    static float gate[1 << 16], up[1 << 16];
    int n = 0;
    for (uint32_t i = 0; i < 1u << 16; i++) {
        float h = tensor_f16_to_f32((uint16_t)i);
        if (isfinite(h) && h > -10.0f && h < 10.0f) gate[n] = h, up[n++] = 1.0f;
    }
    float *x = malloc(sizeof(float) * (size_t)n);
    memcpy(x, gate, sizeof(float) * (size_t)n);
    model_gemma_geglu(gate, up, n);
    int differ = 0;
    for (int i = 0; i < n; i++) {
        float h = x[i], y = 0.5f * h * (1.0f + tanhf(k * h * (1.0f + a * h * h)));
        differ += gate[i] != tensor_f16_to_f32(tensor_f32_to_f16(y));
    }
    CHECK_MSG(differ == 0 && n > 37000, "gemma gelu: %d of %d halves differ", differ, n);
    float ends[4] = {-12.0f, 12.0f, -10.0f, 3.0f}, ones[4] = {2.0f, 2.0f, 2.0f, 0.0f};
    model_gemma_geglu(ends, ones, 4);
    CHECK_MSG(ends[0] == 0.0f && ends[1] == 24.0f && ends[2] == 0.0f && ends[3] == 0.0f, "gemma gelu ends");
    /* model_gelu (BERT) on floats that are not halves, in runs that are
     * not whole chunks: each through its nearest half, as ggml does */
    enum { N = 1000 };
    float v[N], g[N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = g[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 26.0f;
    }
    model_gelu(g, N);
    differ = 0;
    for (int i = 0; i < N; i++) {
        float h = tensor_f16_to_f32(tensor_f32_to_f16(v[i]));
        float y = 0.5f * h * (1.0f + tanhf(k * h * (1.0f + a * h * h)));
        float want = v[i] <= -10.0f ? 0.0f : v[i] >= 10.0f ? v[i] : tensor_f16_to_f32(tensor_f32_to_f16(y));
        differ += g[i] != want;
    }
    CHECK_MSG(differ == 0, "model_gelu: %d of %d differ from ggml's rounding", differ, N);
    free(x);
}

/* Evaluates tokens [from, to) of sequence 0 in one model_eval call (logits of
 * the last into out); -1 with the error in err on failure. */
static int eval_range(model *m, const int32_t *toks, int from, int to, float *out, oc_error *err) {
    return model_eval(m, toks + from, to - from, from, out, err);
}

/* The same model with a full cache (a) and with sliding-window rings (b):
 * n_ctx 64, n_batch 4 (these models' n_swa is 8: rings of 11 rows). */
static bool load_ring_pair(const char *file, model **a, model **b) {
    *a = *b = NULL;
    for (int full = 0; full < 2; full++) {
        char path[256];
        snprintf(path, sizeof path, "tests/data/models/%s", file);
        model_params p = model_default_params();
        p.n_threads = 1, p.kv_type = TENSOR_F16, p.n_ctx = 64, p.n_batch = 4, p.swa_full = full;
        oc_error err;
        *(full ? a : b) = model_load(path, &p, &err);
    }
    return *a && *b;
}

/* Sliding-window layers keep a ring of n_swa + n_batch - 1 positions: the
 * same logits, bit for bit, as a full cache (swa_full) over a run much
 * longer than the window (these models' n_swa is 8; n_batch 4 makes the
 * ring 11 rows of 64), through batches, single tokens, a reused prefix
 * and a context shift; a prefix whose window was overwritten is refused. */
static void check_swa_ring(const char *file) {
    model *a, *b;
    const bool loaded = load_ring_pair(file, &a, &b);
    CHECK_MSG(loaded, "%s loads with and without a ring", file);
    if (!loaded) return (void)(model_free(a), model_free(b));
    CHECK_MSG(model_kv_bytes(b) < model_kv_bytes(a), "%s: the ring is smaller (%zu vs %zu bytes)", file,
              model_kv_bytes(b), model_kv_bytes(a));
    const int n_vocab = model_hparams_of(a)->n_vocab;
    int32_t toks[64];
    for (int i = 0; i < 64; i++) toks[i] = (int32_t)((i * 37 + 11) % (n_vocab - 10)) + 5;
    float *la = malloc((size_t)n_vocab * sizeof(float)), *lb = malloc((size_t)n_vocab * sizeof(float));
    oc_error err;
    bool same = true, ok = true;
    /* a prompt of 30 in batches, then 14 tokens one at a time */
    ok = eval_range(a, toks, 0, 30, la, &err) == 0 && eval_range(b, toks, 0, 30, lb, &err) == 0;
    same = same && ok && memcmp(la, lb, (size_t)n_vocab * sizeof(float)) == 0;
    for (int i = 30; i < 44 && ok; i++) {
        ok = eval_range(a, toks, i, i + 1, la, &err) == 0 && eval_range(b, toks, i, i + 1, lb, &err) == 0;
        same = same && ok && memcmp(la, lb, (size_t)n_vocab * sizeof(float)) == 0;
    }
    CHECK_MSG(ok && same, "%s: ring and full cache agree over 44 positions (%s)", file, ok ? "logits differ" : err.msg);
    /* A prefix near the end is still whole (44 written, ring 11: going on
     * at 42 needs 35..41); one further back is not, and is refused. */
    CHECK_EQ_INT(model_kv_reusable(b, 0, 42), 42);
    CHECK_EQ_INT(model_kv_reusable(b, 0, 20), 0);
    CHECK_EQ_INT(model_kv_reusable(a, 0, 20), 20);
    CHECK_MSG(eval_range(b, toks, 20, 21, lb, &err) != 0 && strstr(err.msg, "sliding-window"),
              "%s: going on where the ring lost the window fails: %s", file, err.msg);
    toks[42] = 3, toks[43] = 4; /* a new turn after a common prefix of 42 */
    ok = eval_range(a, toks, 42, 48, la, &err) == 0 && eval_range(b, toks, 42, 48, lb, &err) == 0;
    CHECK_MSG(ok && memcmp(la, lb, (size_t)n_vocab * sizeof(float)) == 0, "%s: a reused prefix agrees", file);
    /* context shift: keep 2, drop 20 of 48, go on at 28 */
    ok = model_kv_shift(a, 0, 2, 20, 48, &err) == 0 && model_kv_shift(b, 0, 2, 20, 48, &err) == 0;
    CHECK_MSG(ok, "%s: shift (%s)", file, ok ? "" : err.msg);
    same = true;
    for (int i = 28; i < 36 && ok; i++) {
        ok = eval_range(a, toks, i, i + 1, la, &err) == 0 && eval_range(b, toks, i, i + 1, lb, &err) == 0;
        same = same && ok && memcmp(la, lb, (size_t)n_vocab * sizeof(float)) == 0;
    }
    CHECK_MSG(ok && same, "%s: ring and full cache agree after a context shift", file);
    /* keeping 30 of 36 and dropping 5: the window of position 31 needs old
     * position 24, which the ring (25 .. 35) no longer holds */
    CHECK_MSG(model_kv_shift(b, 0, 30, 5, 36, &err) != 0 && strstr(err.msg, "sliding window"),
              "%s: a shift that loses the window fails: %s", file, err.msg);
    printf("sliding-window ring, %s: KV %zu bytes (full cache %zu), same logits over 44 + 6 + 8 positions\n", file,
           model_kv_bytes(b), model_kv_bytes(a));
    free(la), free(lb);
    model_free(a), model_free(b);
}

/* A prompt's checkpoint: after a 30-token prompt (checkpointed) and 20
 * more tokens, the ring no longer holds the window before 30, the
 * checkpoint does: resuming there with other tokens gives the full
 * cache's logits; before 30 it serves too, after it not; a run from an
 * earlier position spoils it for what lies after. */
static void check_swa_checkpoint(const char *file) {
    model *a, *b;
    const bool loaded = load_ring_pair(file, &a, &b);
    CHECK_MSG(loaded, "%s loads", file);
    if (!loaded) return (void)(model_free(a), model_free(b));
    const int n_vocab = model_hparams_of(a)->n_vocab;
    int32_t toks[64];
    for (int i = 0; i < 64; i++) toks[i] = (int32_t)((i * 29 + 7) % (n_vocab - 10)) + 5;
    float *la = malloc((size_t)n_vocab * sizeof(float)), *lb = malloc((size_t)n_vocab * sizeof(float));
    oc_error err;
    bool ok = eval_range(a, toks, 0, 30, la, &err) == 0 && eval_range(b, toks, 0, 30, lb, &err) == 0;
    model_kv_checkpoint(a, 0), model_kv_checkpoint(b, 0);
    for (int i = 30; i < 50 && ok; i++)
        ok = eval_range(a, toks, i, i + 1, la, &err) == 0 && eval_range(b, toks, i, i + 1, lb, &err) == 0;
    CHECK_MSG(ok, "%s: eval (%s)", file, ok ? "" : err.msg);
    CHECK_EQ_INT(model_kv_reusable(b, 0, 31), 30); /* not the ring: the checkpoint, at 30 */
    CHECK_EQ_INT(model_kv_reusable(b, 0, 45), 30);
    CHECK_EQ_INT(model_kv_reusable(b, 0, 30), 30);
    CHECK_EQ_INT(model_kv_reusable(b, 0, 28), 28); /* its ring holds 19 .. 29: the window of 28 */
    CHECK_EQ_INT(model_kv_reusable(b, 0, 25), 0);  /* needs 18 */
    CHECK_MSG(eval_range(b, toks, 30, 31, lb, &err) != 0, "%s: without resume, 30 is refused", file);
    CHECK_EQ_INT(model_kv_resume(b, 0, 30), 30);
    for (int i = 30; i < 40; i++) toks[i] = (int32_t)((i * 13 + 3) % (n_vocab - 10)) + 5; /* another reply */
    bool same = true;
    ok = eval_range(a, toks, 30, 34, la, &err) == 0 && eval_range(b, toks, 30, 34, lb, &err) == 0;
    same = ok && memcmp(la, lb, (size_t)n_vocab * sizeof(float)) == 0;
    for (int i = 34; i < 40 && ok; i++) {
        ok = eval_range(a, toks, i, i + 1, la, &err) == 0 && eval_range(b, toks, i, i + 1, lb, &err) == 0;
        same = same && ok && memcmp(la, lb, (size_t)n_vocab * sizeof(float)) == 0;
    }
    CHECK_MSG(ok && same, "%s: resumed from the checkpoint, the full cache's logits", file);
    /* the run from 30 rewrote 30 on: the checkpoint serves below 30 only */
    CHECK_EQ_INT(model_kv_reusable(b, 0, 30), 30); /* what lies below 30 is unchanged */
    for (int i = 40; i < 52; i++) ok = ok && eval_range(b, toks, i, i + 1, lb, &err) == 0;
    CHECK_EQ_INT(model_kv_reusable(b, 0, 31), 30);
    CHECK_EQ_INT(model_kv_resume(b, 0, 31), 30);
    CHECK_EQ_INT(model_kv_reusable(b, 0, 29), 29); /* the window of 29 (22 ..) is in the checkpoint too */
    CHECK_EQ_INT(model_kv_reusable(b, 0, 17), 0);  /* that of 17 (10 ..) in neither */
    CHECK_MSG(eval_range(b, toks, 0, 4, lb, &err) == 0, "%s: starting over from 0 is always allowed (%s)", file,
              err.msg);
    printf("sliding-window checkpoint, %s: resumed 20 positions back, same logits over 10 positions\n", file);
    free(la), free(lb);
    model_free(a), model_free(b);
}

int main(void) {
    check_gemma_gelu();
    check_swa_checkpoint("gemma3.gguf");
    check_swa_checkpoint("gpt-oss.gguf");
    check_swa_ring("gemma2.gguf");
    check_swa_ring("gemma3.gguf");
    check_swa_ring("gpt-oss.gguf");
    for (size_t i = 0; i < sizeof FAMILIES / sizeof FAMILIES[0]; i++) check_family(FAMILIES[i], NULL);
    check_embedding("gemma-embedding.gguf");
    /* Ollama-published layouts of the same weights (model/compat.c). */
    check_family("gemma3", "gemma3-ollama.gguf");
    check_family("gpt-oss", "gptoss-ollama.gguf");
    model *m = load("gptoss-ollama.gguf", 1, 64);
    char *pre = m ? gguf_get_string(model_gguf(m), "tokenizer.ggml.pre") : NULL;
    CHECK_MSG(pre && strcmp(pre, "gpt-4o") == 0, "gptoss: pre-tokenizer %s", pre ? pre : "(none)");
    free(pre);
    model_free(m);
    check_embedding("embeddinggemma-ollama.gguf");
    check_packed("qwen3-quant.gguf");
    check_packed("qwen3moe-quant.gguf"); /* only its experts have packed layouts */
    check_shift("gemma3.gguf", NULL, 0, "gemma3 sliding layer (own rope base)");
    check_shift("gemma3.gguf", "gemma3.attention.sliding_window_pattern", 1, "gemma3 global layer (linear scaling)");
    check_shift("gpt-oss.gguf", NULL, 0, "gpt-oss (YaRN)");
    check_shift("phi3.gguf", NULL, 0, "phi3 (long-rope factors)");
    check_shift("qwen3.gguf", NULL, 0, "qwen3 (q/k norms)");
    check_broken("qwen3.gguf", "blk.1.attn_k_norm.weight", NULL, 0, "missing tensor 'blk.1.attn_k_norm.weight'");
    check_broken("gpt-oss.gguf", "blk.0.attn_sinks.weight", NULL, 0, "missing tensor 'blk.0.attn_sinks.weight'");
    check_broken("gptoss-ollama.gguf", "blk.0.ffn_up_exps.weight", NULL, 0, "missing tensor 'blk.0.ffn_up_exps.weight'");
    check_broken("mixtral.gguf", NULL, "llama.expert_used_count", 9, "invalid experts");
    check_broken("mixtral.gguf", NULL, "llama.expert_count", 0, "has experts but the model has no expert_count");
    check_broken("mixtral.gguf", NULL, "llama.expert_count", 5, "has shape [64, 4], expected [64, 5]");
    check_broken("gemma3.gguf", NULL, "gemma3.attention.sliding_window_pattern", 1 << 20, "invalid sliding_window_pattern");
    check_broken("phi3.gguf", "blk.0.attn_qkv.weight", NULL, 0, "missing tensor 'blk.0.attn_q.weight'");
    return check_done();
}

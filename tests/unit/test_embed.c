/* model: BERT-family embeddings against llama.cpp's reference vectors:
 * token ids identical, cosine similarity >= 0.9999 per input for the raw
 * pooled and the normalised vectors, with all inputs in one batch; the
 * first input alone gives the same vector as in the batch.
 * - bert: ../shared/testdata/reference/embeddings, on the random-weight
 *   model of ../shared/tools/make-bench-model.py (deterministic; skipped
 *   without the shared data or python3-numpy).
 * - nomic-bert: tests/data/reference/nomic-bert.json, on
 *   tests/data/models/nomic-bert.gguf (tests/tools/make_family_models:
 *   rope instead of positions, fused qkv with and without bias, SwiGLU,
 *   mean pooling, the bge WordPiece vocab). Also: broken copies of it are
 *   refused with errors naming the problem. */
#include <jansson.h>
#include <unistd.h>

#include "check.h"
#include "model/model.h"

static double cosine(const float *a, const double *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) ab += a[i] * b[i], aa += (double)a[i] * a[i], bb += b[i] * b[i];
    return ab / sqrt(aa * bb);
}

/* Tokenizes every input of ref into one batch (input i is sequence i,
 * positions from 0) and checks the ids against ref's "tokens". */
static int batch_inputs(model *m, json_t *ref, int32_t *ids, int32_t *pos, int32_t *seq, int cap) {
    json_t *inputs = json_object_get(ref, "inputs"), *tokens = json_object_get(ref, "tokens");
    int n = 0;
    oc_error err;
    for (size_t i = 0; i < json_array_size(inputs); i++) {
        const char *text = json_string_value(json_array_get(inputs, i));
        int32_t *t;
        int nt = tokenizer_encode(model_tokenizer(m), text, strlen(text), true, false, &t, &err);
        CHECK_MSG(nt > 0 && n + nt <= cap, "input %zu: %d tokens", i, nt);
        if (nt <= 0 || n + nt > cap) return -1;
        json_t *want = json_array_get(tokens, i);
        bool same = nt == (int)json_array_size(want);
        for (int k = 0; same && k < nt; k++) same = t[k] == json_integer_value(json_array_get(want, k));
        CHECK_MSG(same, "input %zu: token ids differ", i);
        for (int k = 0; k < nt; k++) ids[n] = t[k], pos[n] = k, seq[n] = (int32_t)i, n++;
        free(t);
    }
    return n;
}

/* Cosines of input i's vector v (raw and normalised) against ref's. */
static void check_vector(json_t *ref, int i, const float *v, int E, const char *what) {
    json_t *raw = json_array_get(json_object_get(ref, "embeddings_raw"), (size_t)i);
    json_t *norm = json_array_get(json_object_get(ref, "embeddings_normalized"), (size_t)i);
    CHECK_MSG((int)json_array_size(raw) == E && (int)json_array_size(norm) == E, "%s input %d: reference length", what, i);
    if ((int)json_array_size(raw) != E || (int)json_array_size(norm) != E) return;
    double *want_raw = malloc((size_t)E * sizeof(double)), *want_norm = malloc((size_t)E * sizeof(double)), norm2 = 0;
    float *unit = malloc((size_t)E * sizeof(float));
    for (int k = 0; k < E; k++) {
        want_raw[k] = json_number_value(json_array_get(raw, (size_t)k));
        want_norm[k] = json_number_value(json_array_get(norm, (size_t)k));
        norm2 += (double)v[k] * v[k];
    }
    for (int k = 0; k < E; k++) unit[k] = (float)(v[k] / sqrt(norm2));
    double c_raw = cosine(v, want_raw, E), c_norm = cosine(unit, want_norm, E), max_diff = 0;
    for (int k = 0; k < E; k++) max_diff = fmax(max_diff, fabs(unit[k] - want_norm[k]));
    printf("%s input %d: cosine raw %.7f normalised %.7f, max |diff| %.2e\n", what, i, c_raw, c_norm, max_diff);
    CHECK_MSG(c_raw >= 0.9999, "%s input %d: raw cosine %.7f", what, i, c_raw);
    CHECK_MSG(c_norm >= 0.9999, "%s input %d: normalised cosine %.7f", what, i, c_norm);
    free(want_raw), free(want_norm), free(unit);
}

/* The whole reference check on a loaded model. */
static void check_reference(model *m, json_t *ref, const char *what) {
    int E = model_hparams_of(m)->n_embd, n_inputs = (int)json_array_size(json_object_get(ref, "inputs"));
    CHECK_MSG(n_inputs >= 2, "%s: reference has %d inputs", what, n_inputs);
    int32_t ids[1024], pos[1024], seq[1024];
    int n = batch_inputs(m, ref, ids, pos, seq, 1024);
    if (n <= 0) return;
    float *out = malloc((size_t)n_inputs * E * sizeof(float)), *alone = malloc((size_t)E * sizeof(float));
    oc_error err;
    model_batch b = {.n = n, .tokens = ids, .pos = pos, .seq = seq};
    CHECK_MSG(model_embed(m, &b, out, &err) == 0, "%s", err.msg);
    for (int i = 0; i < n_inputs; i++) check_vector(ref, i, out + (size_t)i * E, E, what);
    /* The first input alone gives the same vector as in the batch. */
    b.n = (int)json_array_size(json_array_get(json_object_get(ref, "tokens"), 0));
    CHECK(model_embed(m, &b, alone, &err) == 0);
    double diff = 0;
    for (int k = 0; k < E; k++) diff = fmax(diff, fabs(alone[k] - out[k]));
    CHECK_MSG(diff < 1e-5, "%s: alone vs batched: %g", what, diff);
    int32_t one = 1;
    CHECK(model_eval(m, &one, 1, 0, NULL, &err) != 0);
    free(out), free(alone);
}

static int make_bert_model(const char *shared, const char *path) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s/tools/make-bench-model.py --preset bert-small --type f16 -o %s >/dev/null 2>&1",
             shared, path);
    return system(cmd);
}

static void test_bert(void) {
    char buf[1024];
    const char *ref_path = check_shared_path("testdata/reference/embeddings/bert-small-f16-embeddings.json", buf, sizeof buf);
    if (!ref_path) return (void)printf("bert: shared test data absent: skipped\n");
    json_t *ref = json_load_file(ref_path, 0, NULL);
    CHECK(ref != NULL);
    const char *shared = getenv("OLLAMA_SHARED") ? getenv("OLLAMA_SHARED") : "../shared";
    char path[] = "/tmp/ollama-test-bert-XXXXXX";
    close(mkstemp(path));
    if (make_bert_model(shared, path) != 0) {
        printf("bert: make-bench-model.py (python3-numpy) unavailable: skipped\n");
    } else {
        model_params p = model_default_params();
        p.n_threads = 2;
        oc_error err;
        model *m = model_load(path, &p, &err);
        CHECK_MSG(m != NULL, "%s", err.msg);
        if (m) {
            CHECK_EQ_INT(model_hparams_of(m)->n_embd, 384);
            check_reference(m, ref, "bert");
        }
        model_free(m);
    }
    json_decref(ref);
    unlink(path);
}

/* A copy of nomic-bert.gguf without tensor drop, or with key set to a
 * bool (key NULL: none), must fail to load with an error containing want. */
static void check_broken(const char *drop, const char *key, bool value, const char *want) {
    char dst[] = "/tmp/ollama-broken-nomic-XXXXXX";
    close(mkstemp(dst));
    oc_error err;
    gguf_file *f = gguf_open("tests/data/models/nomic-bert.gguf", &err);
    CHECK(f != NULL);
    if (!f) return;
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_set_value(w, f->kv[i].key, &f->kv[i].value);
    if (key) gguf_writer_set_bool(w, key, value);
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
    CHECK_MSG(m == NULL && strstr(err.msg, want) != NULL, "want an error with '%s', got '%s'", want,
              m ? "(loaded)" : err.msg);
    model_free(m);
    unlink(dst);
}

static void test_nomic_bert(void) {
    json_error_t jerr;
    json_t *ref = json_load_file("tests/data/reference/nomic-bert.json", 0, &jerr);
    CHECK_MSG(ref != NULL, "%s", jerr.text);
    model_params p = model_default_params();
    p.n_threads = 2;
    oc_error err;
    model *m = model_load("tests/data/models/nomic-bert.gguf", &p, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m && ref) {
        const model_hparams *hp = model_hparams_of(m);
        CHECK(hp->encoder && hp->rope_neox && hp->pooling == POOLING_MEAN);
        CHECK_NEAR(hp->rope_base, 1000.0, 1e-3);
        CHECK_NEAR(hp->norm_eps, 1e-12, 1e-15);
        CHECK_EQ_INT(model_n_ctx(m), 512); /* context_length; no position table to bound it */
        check_reference(m, ref, "nomic-bert");
    }
    model_free(m);
    json_decref(ref);
    check_broken("blk.1.ffn_gate.weight", NULL, false, "missing tensor 'blk.1.ffn_gate.weight'");
    check_broken("blk.0.attn_qkv.weight", NULL, false, "missing tensor 'blk.0.attn_q.weight'");
    check_broken("token_embd_norm.bias", NULL, false, "missing tensor 'token_embd_norm.bias'");
    check_broken(NULL, "nomic-bert.attention.causal", true, "causal attention is not supported");
}

int main(void) {
    test_nomic_bert();
    test_bert();
    return check_done();
}

/* model: BERT embeddings against llama.cpp's reference vectors
 * (../shared/testdata/reference/embeddings): token ids identical, cosine
 * similarity >= 0.9999 per input for the normalised and raw vectors, with
 * all four inputs in one batch and each alone. The random-weight model is
 * made with ../shared/tools/make-bench-model.py (deterministic). */
#include <jansson.h>
#include <unistd.h>

#include "check.h"
#include "model/model.h"

static double cosine(const float *a, const double *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) ab += a[i] * b[i], aa += (double)a[i] * a[i], bb += b[i] * b[i];
    return ab / sqrt(aa * bb);
}

static int make_model(const char *shared, const char *path) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s/tools/make-bench-model.py --preset bert-small --type f16 -o %s >/dev/null 2>&1",
             shared, path);
    return system(cmd);
}

int main(void) {
    char buf[1024];
    const char *ref_path = check_shared_path("testdata/reference/embeddings/bert-small-f16-embeddings.json", buf, sizeof buf);
    if (!ref_path) return printf("shared test data absent: skipped\n"), 77;
    json_t *ref = json_load_file(ref_path, 0, NULL);
    CHECK(ref != NULL);
    const char *shared = getenv("OLLAMA_SHARED") ? getenv("OLLAMA_SHARED") : "../shared";
    char path[] = "/tmp/ollama-test-bert-XXXXXX";
    close(mkstemp(path));
    if (make_model(shared, path) != 0) {
        printf("make-bench-model.py (python3-numpy) unavailable: skipped\n");
        unlink(path);
        return 77;
    }
    model_params p = model_default_params();
    p.n_threads = 2;
    oc_error err;
    model *m = model_load(path, &p, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return check_done();
    int E = model_hparams_of(m)->n_embd;
    CHECK_EQ_INT(E, 384);
    json_t *inputs = json_object_get(ref, "inputs"), *tokens = json_object_get(ref, "tokens");
    json_t *norm = json_object_get(ref, "embeddings_normalized"), *raw = json_object_get(ref, "embeddings_raw");
    int n_inputs = (int)json_array_size(inputs), n = 0;
    int32_t ids[512], pos[512], seq[512];
    for (int i = 0; i < n_inputs; i++) {
        const char *text = json_string_value(json_array_get(inputs, i));
        int32_t *t;
        int nt = tokenizer_encode(model_tokenizer(m), text, strlen(text), true, false, &t, &err);
        json_t *want = json_array_get(tokens, i);
        bool same = nt == (int)json_array_size(want);
        for (int k = 0; same && k < nt; k++) same = t[k] == json_integer_value(json_array_get(want, k));
        CHECK_MSG(same, "input %d: token ids differ", i);
        for (int k = 0; k < nt; k++) ids[n] = t[k], pos[n] = k, seq[n] = 0, n++;
        seq[n - 1] = 0;
        for (int k = n - nt; k < n; k++) seq[k] = i;
        free(t);
    }
    float *out = malloc((size_t)n_inputs * E * sizeof(float));
    model_batch b = {.n = n, .tokens = ids, .pos = pos, .seq = seq};
    CHECK_MSG(model_embed(m, &b, out, &err) == 0, "%s", err.msg);
    for (int i = 0; i < n_inputs; i++) {
        double want_raw[384], want_norm[384], norm2 = 0;
        for (int k = 0; k < E; k++) {
            want_raw[k] = json_number_value(json_array_get(json_array_get(raw, i), k));
            want_norm[k] = json_number_value(json_array_get(json_array_get(norm, i), k));
        }
        float *v = out + (size_t)i * E;
        double c_raw = cosine(v, want_raw, E);
        for (int k = 0; k < E; k++) norm2 += (double)v[k] * v[k];
        float unit[384];
        for (int k = 0; k < E; k++) unit[k] = (float)(v[k] / sqrt(norm2));
        double c_norm = cosine(unit, want_norm, E), max_diff = 0;
        for (int k = 0; k < E; k++) max_diff = fmax(max_diff, fabs(unit[k] - want_norm[k]));
        printf("input %d: cosine raw %.7f normalised %.7f, max |diff| %.2e\n", i, c_raw, c_norm, max_diff);
        CHECK(c_raw >= 0.9999);
        CHECK(c_norm >= 0.9999);
    }
    /* The first input alone gives the same vector as in the batch. */
    int n0 = (int)json_array_size(json_array_get(tokens, 0));
    float alone[384];
    b.n = n0;
    CHECK(model_embed(m, &b, alone, &err) == 0);
    double diff = 0;
    for (int k = 0; k < E; k++) diff = fmax(diff, fabs(alone[k] - out[k]));
    CHECK_MSG(diff < 1e-5, "alone vs batched: %g", diff);
    int32_t one = 1;
    CHECK(model_eval(m, &one, 1, 0, NULL, &err) != 0);
    free(out);
    model_free(m);
    json_decref(ref);
    unlink(path);
    return check_done();
}

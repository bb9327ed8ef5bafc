/* model: llama.cpp parity on the reference outputs in
 * ../shared/testdata/reference (prompt tokens identical, last-prompt logits
 * within 1e-3, greedy tokens identical), thread-count and KV-type
 * invariance of greedy decoding. */
#include <jansson.h>

#include "check.h"
#include "model/model.h"

static const char *REFERENCES[] = {
    "stories260K-greedy-1.json", "stories260K-greedy-2.json", "stories260K-greedy-3.json",
    "stories260K-greedy-4.json", "llama-2-tiny-random-greedy-1.json", "llama-2-tiny-random-greedy-2.json",
};

typedef struct reference {
    const char *prompt;
    bool add_bos;
    int n_prompt, n_greedy, n_vocab;
    int32_t prompt_tokens[4096], greedy[4096];
    float *logits;
    json_t *root;
} reference;

static int load_reference(const char *path, reference *r) {
    json_error_t jerr;
    r->root = json_load_file(path, 0, &jerr);
    if (!r->root) return fprintf(stderr, "%s: %s\n", path, jerr.text), -1;
    r->prompt = json_string_value(json_object_get(r->root, "prompt"));
    r->add_bos = json_is_true(json_object_get(r->root, "add_bos"));
    r->n_vocab = (int)json_integer_value(json_object_get(r->root, "n_vocab"));
    json_t *pt = json_object_get(r->root, "prompt_tokens"), *gt = json_object_get(r->root, "greedy_tokens");
    json_t *lg = json_object_get(r->root, "last_prompt_logits");
    r->n_prompt = (int)json_array_size(pt);
    r->n_greedy = (int)json_array_size(gt);
    if (!r->prompt || r->n_prompt > 4096 || r->n_greedy > 4096 || (int)json_array_size(lg) != r->n_vocab) return -1;
    for (int i = 0; i < r->n_prompt; i++) r->prompt_tokens[i] = (int32_t)json_integer_value(json_array_get(pt, i));
    for (int i = 0; i < r->n_greedy; i++) r->greedy[i] = (int32_t)json_integer_value(json_array_get(gt, i));
    r->logits = malloc((size_t)r->n_vocab * sizeof(float));
    for (int i = 0; i < r->n_vocab; i++) r->logits[i] = (float)json_number_value(json_array_get(lg, i));
    return 0;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) best = x[i] > x[best] ? i : best;
    return best;
}

/* Greedy-decodes up to max tokens after the prompt; returns how many. */
static int greedy_decode(model *m, const int32_t *prompt, int n_prompt, int max, int32_t *out, float *first_logits) {
    int n_vocab = model_hparams_of(m)->n_vocab;
    float *logits = malloc((size_t)n_vocab * sizeof(float));
    oc_error err;
    int n = 0;
    if (model_eval(m, prompt, n_prompt, 0, logits, &err) != 0) {
        fprintf(stderr, "eval: %s\n", err.msg);
        free(logits);
        return -1;
    }
    if (first_logits) memcpy(first_logits, logits, (size_t)n_vocab * sizeof(float));
    const tokenizer *tok = model_tokenizer(m);
    while (n < max) {
        int32_t next = argmax(logits, n_vocab);
        out[n++] = next;
        if (tokenizer_is_eog(tok, next) || n_prompt + n >= model_n_ctx(m)) break;
        if (model_eval(m, &next, 1, n_prompt + n - 1, logits, &err) != 0) break;
    }
    free(logits);
    return n;
}

static model *load(const char *name, int threads, enum tensor_type kv) {
    char buf[1400], path[256];
    snprintf(path, sizeof path, "testdata/models/%s", name);
    if (!check_shared_path(path, buf, sizeof buf)) return NULL;
    model_params p = model_default_params();
    p.n_threads = threads;
    p.kv_type = kv;
    p.n_ctx = 512;
    oc_error err;
    model *m = model_load(buf, &p, &err);
    if (!m) fprintf(stderr, "load %s: %s\n", buf, err.msg);
    return m;
}

static void check_reference(const char *file) {
    char buf[1024], rel[256];
    snprintf(rel, sizeof rel, "testdata/reference/%s", file);
    static reference r;
    memset(&r, 0, sizeof r);
    if (!check_shared_path(rel, buf, sizeof buf) || load_reference(buf, &r) != 0) {
        CHECK_MSG(0, "cannot read reference %s", rel);
        return;
    }
    const char *model_file = strncmp(file, "stories", 7) == 0 ? "stories260K.gguf" : "llama-2-tiny-random.gguf";
    model *m = load(model_file, 1, TENSOR_F32);
    CHECK(m != NULL);
    if (!m) goto out;
    int32_t *ids = NULL;
    int n = tokenizer_encode(model_tokenizer(m), r.prompt, strlen(r.prompt), r.add_bos, false, &ids, NULL);
    CHECK_EQ_INT(n, r.n_prompt);
    bool same = n == r.n_prompt && memcmp(ids, r.prompt_tokens, (size_t)n * sizeof(int32_t)) == 0;
    CHECK_MSG(same, "%s: prompt tokens differ", file);
    static int32_t got[4096];
    float *logits = malloc((size_t)r.n_vocab * sizeof(float));
    int n_got = greedy_decode(m, r.prompt_tokens, r.n_prompt, r.n_greedy, got, logits);
    double max_diff = 0;
    for (int i = 0; i < r.n_vocab; i++) max_diff = fmax(max_diff, fabs(logits[i] - r.logits[i]));
    CHECK_MSG(max_diff < 1e-3, "%s: logits max |diff| %g", file, max_diff);
    CHECK_EQ_INT(n_got, r.n_greedy);
    int first_diff = -1;
    for (int i = 0; i < n_got && i < r.n_greedy && first_diff < 0; i++)
        if (got[i] != r.greedy[i]) first_diff = i;
    CHECK_MSG(first_diff < 0, "%s: greedy token %d differs", file, first_diff);
    printf("%s: %d prompt tokens, logits max |diff| %.2e, %d/%d greedy tokens\n", file, n, max_diff,
           first_diff < 0 ? n_got : first_diff, r.n_greedy);
    free(logits);
    free(ids);
    model_free(m);
out:
    free(r.logits);
    json_decref(r.root);
}

/* Greedy output must not depend on the thread count, and an F16 (or Q8_0)
 * cache must agree with F32 for the first 32 tokens. */
static void check_invariance(void) {
    static const int32_t prompt[] = {1, 403, 407, 261, 378};
    int32_t base[32], other[32];
    model *m = load("stories260K.gguf", 1, TENSOR_F32);
    if (!m) return;
    int n = greedy_decode(m, prompt, 5, 32, base, NULL);
    model_free(m);
    CHECK_EQ_INT(n, 32);
    struct { int threads; enum tensor_type kv; } cases[] = {{2, TENSOR_F32}, {2, TENSOR_F16}, {1, TENSOR_F16}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        m = load("stories260K.gguf", cases[c].threads, cases[c].kv);
        CHECK(m != NULL);
        if (!m) continue;
        int n2 = greedy_decode(m, prompt, 5, 32, other, NULL);
        CHECK_EQ_INT(n2, n);
        CHECK_MSG(memcmp(base, other, sizeof base) == 0, "threads %d kv %s: greedy tokens differ",
                  cases[c].threads, tensor_type_name(cases[c].kv));
        model_free(m);
    }
}

static void check_bad_input(void) {
    oc_error err;
    model *m = model_load("/nonexistent/model.gguf", NULL, &err);
    CHECK(m == NULL);
    CHECK(strstr(err.msg, "/nonexistent/model.gguf") != NULL);
    m = load("stories260K.gguf", 1, TENSOR_F32);
    if (!m) return;
    int32_t bad = 100000;
    CHECK(model_eval(m, &bad, 1, 0, NULL, &err) != 0);
    CHECK(strstr(err.msg, "out of range") != NULL);
    int32_t ok = 1;
    CHECK(model_eval(m, &ok, 1, model_n_ctx(m), NULL, &err) != 0);
    CHECK(strstr(err.msg, "context") != NULL);
    model_free(m);
}

int main(void) {
    char buf[1024];
    if (!check_shared_path("testdata/reference/stories260K-greedy-1.json", buf, sizeof buf)) {
        printf("shared test data absent: skipped\n");
        return 77;
    }
    for (size_t i = 0; i < sizeof REFERENCES / sizeof REFERENCES[0]; i++) check_reference(REFERENCES[i]);
    check_invariance();
    check_bad_input();
    return check_done();
}

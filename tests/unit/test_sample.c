/* Unit tests for sample: penalties, greedy, the filters, RNG determinism
 * and the sampled distribution. */
#include "sample/sample.h"

#include <math.h>

#include "check.h"

/* Every filter off, temperature 1, fixed seed: plain softmax sampling. */
static sample_params neutral(void) {
    sample_params p = sample_default_params();
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.typical_p = 1.0f;
    p.repeat_penalty = 1.0f;
    p.seed = 1234;
    return p;
}

/* Deterministic pseudo-random logits in [-5, 5). */
static void fill_logits(float *l, int n, uint64_t seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        l[i] = (float)((double)(seed >> 40) * 0x1.0p-24 * 10.0 - 5.0);
    }
}

static int32_t sample_copy(sampler *s, const float *logits, int n) {
    float buf[4096];
    memcpy(buf, logits, (size_t)n * sizeof *buf);
    return sampler_sample(s, buf);
}

/* Draw counts per token; out must hold n ints. */
static void histogram(const sample_params *p, const float *logits, int n, int draws, int *out) {
    sampler *s = sampler_new(p, n);
    memset(out, 0, (size_t)n * sizeof *out);
    for (int i = 0; i < draws; i++) {
        int32_t t = sample_copy(s, logits, n);
        if (t >= 0 && t < n) out[t]++;
    }
    sampler_free(s);
}

static int32_t greedy_of(const float *logits, int n) {
    sample_params p = neutral();
    p.temperature = 0;
    sampler *s = sampler_new(&p, n);
    int32_t t = sample_copy(s, logits, n);
    sampler_free(s);
    return t;
}

static void test_defaults(void) {
    sample_params p = sample_default_params();
    CHECK_NEAR(p.temperature, 0.8, 1e-7);
    CHECK_EQ_INT(p.top_k, 40);
    CHECK_NEAR(p.top_p, 0.9, 1e-7);
    CHECK_NEAR(p.min_p, 0.0, 0);
    CHECK_NEAR(p.typical_p, 1.0, 0);
    CHECK_EQ_INT(p.repeat_last_n, 64);
    CHECK_NEAR(p.repeat_penalty, 1.0, 1e-7);
    CHECK_NEAR(p.presence_penalty, 0.0, 0);
    CHECK_NEAR(p.frequency_penalty, 0.0, 0);
    CHECK_EQ_INT(p.seed, -1);
    CHECK(sampler_new(&p, 0) == NULL);
}

static void test_greedy(void) {
    CHECK_EQ_INT(greedy_of((float[]){-10, 3, -10, -10}, 4), 1);
    CHECK_EQ_INT(greedy_of((float[]){-100, -10, 0, 10}, 4), 3);
    CHECK_EQ_INT(greedy_of((float[]){1, 5, 5, 2}, 4), 1); /* tie: lowest id */
    CHECK_EQ_INT(greedy_of((float[]){NAN, NAN, NAN}, 3), -1);
    CHECK_EQ_INT(greedy_of((float[]){-INFINITY, -INFINITY}, 2), -1);
    sample_params p = neutral();
    p.temperature = -1; /* negative is greedy too */
    sampler *s = sampler_new(&p, 4);
    for (int i = 0; i < 20; i++) CHECK_EQ_INT(sample_copy(s, (float[]){0, 0.5f, 0.4f, 0}, 4), 1);
    sampler_free(s);
    /* NaN everywhere is an error at temperature > 0 as well. */
    s = sampler_new(NULL, 3);
    CHECK_EQ_INT(sample_copy(s, (float[]){NAN, NAN, NAN}, 3), -1);
    sampler_free(s);
}

static void test_repeat_penalty(void) {
    sample_params p = neutral();
    p.temperature = 0;
    p.repeat_penalty = 2.0f;
    sampler *s = sampler_new(&p, 3);
    float l[3] = {1.0f, 1.5f, 0.5f};
    CHECK_EQ_INT(sample_copy(s, l, 3), 1);
    sampler_accept(s, 1);
    CHECK_EQ_INT(sampler_sample(s, l), 0); /* 1.5 / 2 = 0.75 < 1.0 */
    CHECK_NEAR(l[1], 0.75, 1e-7);
    CHECK_NEAR(l[0], 1.0, 0);
    sampler_free(s);

    /* Negative logits are multiplied, so a repeated token still loses. */
    s = sampler_new(&p, 2);
    float n[2] = {-1.0f, -0.8f};
    sampler_accept(s, 1);
    sampler_accept(s, 1); /* the repeat penalty ignores the count */
    CHECK_EQ_INT(sampler_sample(s, n), 0);
    CHECK_NEAR(n[1], -1.6, 1e-6);
    sampler_free(s);
}

static void test_freq_presence(void) {
    sample_params p = neutral();
    p.temperature = 0;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    sampler *s = sampler_new(&p, 5);
    int32_t hist[] = {2, 2, 3, 2, 99, -1}; /* out-of-range ids are ignored */
    for (int i = 0; i < 6; i++) sampler_accept(s, hist[i]);
    float l[5] = {0, 0, 0, 0, 0};
    CHECK_EQ_INT(sampler_sample(s, l), 0);
    CHECK_NEAR(l[2], -(3 * 0.5 + 0.25), 1e-6);
    CHECK_NEAR(l[3], -(1 * 0.5 + 0.25), 1e-6);
    CHECK_NEAR(l[0], 0, 0);
    CHECK_NEAR(l[1], 0, 0);
    CHECK_NEAR(l[4], 0, 0);
    sampler_free(s);

    /* All three together, as in Ollama's applyPenalty test: repeat first. */
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 1.5f;
    s = sampler_new(&p, 2);
    for (int i = 0; i < 3; i++) sampler_accept(s, 0);
    float m[2] = {5.0f, -4.0f};
    sampler_accept(s, 1);
    sampler_sample(s, m);
    CHECK_NEAR(m[0], 5.0 / 2 - 3 * 0.5 - 1.5, 1e-6);
    CHECK_NEAR(m[1], -4.0 * 2 - 0.5 - 1.5, 1e-6);
    sampler_free(s);
}

/* Token 1 seen before the last `window` tokens must not be penalised. */
static int32_t window_pick(int window) {
    sample_params p = neutral();
    p.temperature = 0;
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = window;
    sampler *s = sampler_new(&p, 3);
    int32_t hist[] = {1, 2, 2, 2};
    for (int i = 0; i < 4; i++) sampler_accept(s, hist[i]);
    int32_t t = sample_copy(s, (float[]){1.5f, 2.0f, 0.0f}, 3);
    sampler_free(s);
    return t;
}

static void test_window(void) {
    CHECK_EQ_INT(window_pick(3), 1);  /* 1 fell out: 2.0 beats 1.5 */
    CHECK_EQ_INT(window_pick(4), 0);  /* 1 inside: 2.0 / 2 = 1.0 < 1.5 */
    CHECK_EQ_INT(window_pick(-1), 0); /* whole context */
    CHECK_EQ_INT(window_pick(0), 1);  /* disabled */

    /* The ring after wrapping several times: counts are those of the last
     * 5 tokens exactly (frequency 1 makes the logit -count). */
    sample_params p = neutral();
    p.temperature = 0;
    p.frequency_penalty = 1.0f;
    p.repeat_last_n = 5;
    sampler *s = sampler_new(&p, 4);
    int32_t hist[] = {3, 3, 3, 0, 1, 2, 3, 0, 1, 1, 2, 1};
    for (int i = 0; i < 12; i++) sampler_accept(s, hist[i]);
    float l[4] = {0, 0, 0, 0};
    sampler_sample(s, l); /* window: 0 1 1 2 1 */
    CHECK_NEAR(l[0], -1, 0);
    CHECK_NEAR(l[1], -3, 0);
    CHECK_NEAR(l[2], -1, 0);
    CHECK_NEAR(l[3], 0, 0);
    sampler_reset(s);
    float z[4] = {0, 0, 0, 0};
    sampler_sample(s, z);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0 && z[3] == 0);
    sampler_free(s);

    /* Unbounded history grows past its first buffer. */
    p.repeat_last_n = -1;
    s = sampler_new(&p, 4);
    for (int i = 0; i < 1000; i++) sampler_accept(s, i % 2);
    float u[4] = {0, 0, 0, 0};
    sampler_sample(s, u);
    CHECK_NEAR(u[0], -500, 0);
    CHECK_NEAR(u[1], -500, 0);
    sampler_free(s);
}

static void test_top_k_one(void) {
    enum { N = 1000 };
    float l[N];
    fill_logits(l, N, 7);
    l[500] = l[900] = 6.0f; /* tied maximum: both paths must pick 500 */
    float temps[] = {0.1f, 1.0f, 10.0f, 1000.0f};
    for (int t = 0; t < 4; t++) {
        sample_params p = neutral();
        p.temperature = temps[t];
        p.top_k = 1;
        sampler *s = sampler_new(&p, N);
        for (int i = 0; i < 5; i++) CHECK_EQ_INT(sample_copy(s, l, N), greedy_of(l, N));
        sampler_free(s);
    }
    CHECK_EQ_INT(greedy_of(l, N), 500);
}

static void test_top_p(void) {
    int h[4];
    sample_params p = neutral();
    p.top_p = 1e-10f; /* Ollama's test: almost-tied top token still wins */
    histogram(&p, (float[]){1.0f, 0.9999999f, 0.5f, 0.1f}, 4, 200, h);
    CHECK_EQ_INT(h[0], 200);

    /* {.4 .3 .2 .1}: .4 + .3 is the first sum over .5, so only 0 and 1. */
    float l[4] = {logf(0.4f), logf(0.3f), logf(0.2f), logf(0.1f)};
    p.top_p = 0.5f;
    histogram(&p, l, 4, 20000, h);
    CHECK_EQ_INT(h[2] + h[3], 0);
    CHECK_NEAR(h[0] / 20000.0, 4.0 / 7, 0.02);
}

static int cmp_prob_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? -1 : x < y;
}

/* Both top_p paths against a brute-force nucleus (softmax over the top_k
 * set, sort, cut where the mass first exceeds tp): nothing outside it is
 * drawn, and inside it frequencies follow p. top_k 0 takes the unsorted
 * bucketed path, top_k > 0 the sorted one. */
static void check_nucleus(int top_k, const float *l, int n, float temp, float tp) {
    double prob[300], sorted[300], z = 0, cum = 0, cut = 0, kept = 0;
    for (int i = 0; i < n; i++) sorted[i] = l[i];
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_prob_desc);
    double kth = top_k > 0 ? sorted[top_k - 1] : -INFINITY;
    for (int i = 0; i < n; i++) z += (prob[i] = l[i] >= kth ? exp(l[i] / temp) : 0);
    for (int i = 0; i < n; i++) sorted[i] = (prob[i] /= z);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_prob_desc);
    for (int i = 0; i < n && cum <= tp; i++) cum += (cut = sorted[i]);
    for (int i = 0; i < n; i++) kept += prob[i] >= cut ? prob[i] : 0;
    sample_params p = neutral();
    p.temperature = temp;
    p.top_p = tp;
    p.top_k = top_k;
    int h[300], outside = 0;
    double worst = 0;
    histogram(&p, l, n, 6000, h);
    for (int i = 0; i < n; i++) {
        if (prob[i] < cut) outside += h[i];
        else worst = fmax(worst, fabs(h[i] / 6000.0 - prob[i] / kept));
    }
    CHECK_EQ_INT(outside, 0);
    CHECK_MSG(worst < 0.015, "top_k %d: frequency off by %g", top_k, worst);
}

static void test_top_p_paths(void) {
    enum { N = 300 };
    float l[N];
    fill_logits(l, N, 11);
    check_nucleus(0, l, N, 0.3f, 0.9f);
    check_nucleus(20, l, N, 0.3f, 0.9f);  /* top_k wider than the nucleus */
    check_nucleus(8, l, N, 1.0f, 0.95f);  /* top_k narrower */
    check_nucleus(0, l, N, 1.0f, 0.0f);
}

static void test_min_p(void) {
    /* {.5 .3 .15 .05} with min_p .35: threshold .175 keeps 0 and 1. */
    float l[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    int h[4];
    sample_params p = neutral();
    p.min_p = 0.35f;
    for (int k = 0; k <= 3; k += 3) { /* unsorted and sorted paths */
        p.top_k = k;
        histogram(&p, l, 4, 10000, h);
        CHECK_EQ_INT(h[2] + h[3], 0);
        CHECK_NEAR(h[0] / 10000.0, 0.5 / 0.8, 0.02);
    }
    p.min_p = 1.0f; /* only the maximum survives */
    histogram(&p, l, 4, 100, h);
    CHECK_EQ_INT(h[0], 100);
}

static void test_typical(void) {
    /* llama.cpp's cases. {.4 .2 .2 .2}: entropy 1.33; the .2 tokens
     * (surprisal 1.61) are more typical than .4 (0.92), and three of them
     * pass p = .5, so the most likely token is never drawn. */
    int h[4];
    sample_params p = neutral();
    p.typical_p = 0.5f;
    histogram(&p, (float[]){logf(0.4f), logf(0.2f), logf(0.2f), logf(0.2f)}, 4, 9000, h);
    CHECK_EQ_INT(h[0], 0);
    for (int i = 1; i < 4; i++) CHECK_NEAR(h[i] / 9000.0, 1.0 / 3, 0.03);
    /* {.97 .01 .01 .01}: the dominant token is also the typical one. */
    histogram(&p, (float[]){logf(0.97f), logf(0.01f), logf(0.01f), logf(0.01f)}, 4, 500, h);
    CHECK_EQ_INT(h[0], 500);
    p.typical_p = 1.0f; /* disabled: token 0 comes back */
    histogram(&p, (float[]){logf(0.4f), logf(0.2f), logf(0.2f), logf(0.2f)}, 4, 2000, h);
    CHECK(h[0] > 600);
}

static void run_seq(int64_t seed, int32_t *out, int n) {
    enum { N = 1000 };
    float l[N];
    fill_logits(l, N, 3);
    sample_params p = sample_default_params();
    p.seed = seed;
    sampler *s = sampler_new(&p, N);
    for (int i = 0; i < n; i++) {
        out[i] = sample_copy(s, l, N);
        sampler_accept(s, out[i]);
    }
    sampler_free(s);
}

static void test_seed(void) {
    int32_t a[200], b[200], c[200];
    run_seq(42, a, 200);
    run_seq(42, b, 200);
    run_seq(43, c, 200);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    int distinct = 0;
    for (int i = 1; i < 200; i++) distinct += a[i] != a[0];
    CHECK(distinct > 0);
}

static void test_distribution(void) {
    float l[4] = {1.0f, 2.0f, 0.5f, -1.0f};
    double z = 0, prob[4];
    for (int i = 0; i < 4; i++) z += exp(l[i]);
    for (int i = 0; i < 4; i++) prob[i] = exp(l[i]) / z;
    int h[4];
    sample_params p = neutral();
    histogram(&p, l, 4, 20000, h);
    for (int i = 0; i < 4; i++) CHECK_NEAR(h[i] / 20000.0, prob[i], 0.015);

    /* Temperature 2 halves the logits before the softmax. */
    p.temperature = 2.0f;
    z = 0;
    for (int i = 0; i < 4; i++) z += exp(l[i] / 2);
    histogram(&p, l, 4, 20000, h);
    for (int i = 0; i < 4; i++) CHECK_NEAR(h[i] / 20000.0, exp(l[i] / 2) / z, 0.015);
}

/* A Qwen-sized vocabulary through the default chain and the unsorted
 * top_p path: every draw is a valid id; the time per draw is printed. */
static void test_large_vocab(void) {
    enum { N = 152064, ROUNDS = 20 };
    float *l = oc_malloc(N * sizeof *l), *buf = oc_malloc(N * sizeof *l);
    fill_logits(l, N, 5);
    sample_params a = sample_default_params(), b = a;
    a.seed = b.seed = 9;
    b.top_k = 0;
    sampler *sa = sampler_new(&a, N), *sb = sampler_new(&b, N);
    uint64_t t0 = oc_now_ns();
    int ok = 0;
    for (int i = 0; i < ROUNDS; i++) {
        memcpy(buf, l, N * sizeof *l);
        int32_t x = sampler_sample(sa, buf);
        memcpy(buf, l, N * sizeof *l);
        int32_t y = sampler_sample(sb, buf);
        sampler_accept(sa, x);
        sampler_accept(sb, y);
        ok += x >= 0 && x < N && y >= 0 && y < N;
    }
    double ms = (double)(oc_now_ns() - t0) / 1e6;
    CHECK_EQ_INT(ok, ROUNDS);
    /* Reported, not asserted: timings do not belong in tests (bench/ has them). */
    printf("%d samples over a %d-token vocabulary: %.2f ms each\n", 2 * ROUNDS, N, ms / (2 * ROUNDS));
    sampler_free(sa);
    sampler_free(sb);
    free(l);
    free(buf);
}

int main(void) {
    test_defaults();
    test_greedy();
    test_repeat_penalty();
    test_freq_presence();
    test_window();
    test_top_k_one();
    test_top_p();
    test_top_p_paths();
    test_min_p();
    test_typical();
    test_seed();
    test_distribution();
    test_large_vocab();
    return check_done();
}

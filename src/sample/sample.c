/* sample: logits -> next token. Owns the penalty history (the last
 * repeat_last_n accepted tokens with a per-token count), the candidate
 * filters, temperature/softmax, and a seeded xoshiro256** generator.
 *
 * Chain order follows Ollama's Go sampler (sample/samplers.go), with the
 * penalties of its token-history version and llama.cpp's typical_p placed
 * before the probability-mass filters as llama.cpp orders it:
 *   penalties -> [greedy if temperature <= 0] -> top_k -> temperature ->
 *   softmax -> typical_p -> min_p -> top_p -> weighted draw
 * Penalties apply before greedy too (Ollama's history sampler and
 * llama.cpp's chain both do), so repeat_penalty matters at temperature 0.
 * min_p before top_p gives the same set as Ollama's top_p-then-min_p: both
 * keep a prefix of the descending order and neither renormalises, so the
 * result is the shorter prefix either way; doing min_p first lets it run
 * in O(n) on an unsorted vocabulary. The vocabulary is never fully sorted
 * on the default chain: top_k is a heap selection, and top_p with top_k
 * off buckets probabilities and sorts only the bucket it cuts through.
 * typical_p is the exception (it sorts every candidate, as llama.cpp does),
 * which is cheap after top_k and O(n log n) without it. */
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Probabilities are <= 1, whose float bits >> 19 stay below 0x7f1. */
enum { SAMPLE_BUCKETS = 2048 };

/* v holds the logit, then the probability once softmax has run; aux is
 * scratch for typical_p's score. */
typedef struct cand {
    int32_t id;
    float v;
    float aux;
} cand;

struct sampler {
    sample_params p;
    int n_vocab;
    cand *c;          /* n_vocab candidates, reused every call */
    int32_t *counts;  /* occurrences of each token inside the window */
    int32_t *hist;    /* window entries; a ring (oldest at head) once full */
    int hist_len, hist_cap, hist_head;
    int window;       /* < 0: unbounded (whole context) */
    double *bucket_mass; /* SAMPLE_BUCKETS, for top_p without a sort */
    uint64_t rng[4];
};

sample_params sample_default_params(void) {
    return (sample_params){
        .temperature = 0.8f, .top_k = 40, .top_p = 0.9f, .min_p = 0.0f,
        .typical_p = 1.0f, .repeat_last_n = 64, .repeat_penalty = 1.0f,
        .presence_penalty = 0.0f, .frequency_penalty = 0.0f, .seed = -1,
    };
}

/* ---- RNG: xoshiro256**, state expanded from the seed by splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4]) {
    uint64_t r = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t s[4]) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

static void rng_seed(sampler *s) {
    uint64_t x = s->p.seed >= 0 ? (uint64_t)s->p.seed : oc_now_ns() ^ (uint64_t)(uintptr_t)s;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
}

/* ---- lifecycle and history ---- */

/* Same clamping as Ollama's NewSampler, extended to the other knobs. */
static sample_params clamp_params(sample_params p) {
    if (!(p.temperature > 0)) p.temperature = 0;
    p.top_p = p.top_p < 0 ? 0 : p.top_p > 1 ? 1 : p.top_p;
    p.min_p = p.min_p < 0 ? 0 : p.min_p > 1 ? 1 : p.min_p;
    p.typical_p = p.typical_p < 0 ? 0 : p.typical_p > 1 ? 1 : p.typical_p;
    if (!(p.repeat_penalty > 0)) p.repeat_penalty = 1;
    if (p.repeat_last_n < 0) p.repeat_last_n = -1;
    return p;
}

sampler *sampler_new(const sample_params *p, int n_vocab) {
    if (n_vocab <= 0) return NULL;
    sampler *s = oc_calloc(1, sizeof *s);
    s->p = clamp_params(p ? *p : sample_default_params());
    s->n_vocab = n_vocab;
    s->window = s->p.repeat_last_n;
    s->c = oc_malloc((size_t)n_vocab * sizeof *s->c);
    s->counts = oc_calloc((size_t)n_vocab, sizeof *s->counts);
    s->bucket_mass = oc_malloc(SAMPLE_BUCKETS * sizeof *s->bucket_mass);
    rng_seed(s);
    return s;
}

void sampler_free(sampler *s) {
    if (!s) return;
    free(s->c);
    free(s->counts);
    free(s->hist);
    free(s->bucket_mass);
    free(s);
}

/* Reseeds too, so a reused sampler with a fixed seed repeats its output. */
void sampler_reset(sampler *s) {
    for (int i = 0; i < s->hist_len; i++) s->counts[s->hist[i]] = 0;
    s->hist_len = s->hist_head = 0;
    rng_seed(s);
}

/* The buffer grows on demand so a huge repeat_last_n costs nothing until
 * that many tokens exist; it never grows past a bounded window, so once
 * full it is a ring of exactly `window` slots. */
static void hist_grow(sampler *s) {
    int cap = s->hist_cap < 32 ? 64 : s->hist_cap * 2;
    if (s->window > 0 && cap > s->window) cap = s->window;
    s->hist = oc_realloc(s->hist, (size_t)cap * sizeof *s->hist);
    s->hist_cap = cap;
}

void sampler_accept(sampler *s, int32_t token) {
    if (s->window == 0 || token < 0 || token >= s->n_vocab) return;
    if (s->hist_len == s->window) {
        s->counts[s->hist[s->hist_head]]--;
        s->hist[s->hist_head] = token;
        s->hist_head = (s->hist_head + 1) % s->window;
    } else {
        if (s->hist_len == s->hist_cap) hist_grow(s);
        s->hist[s->hist_len++] = token;
    }
    s->counts[token]++;
}

/* ---- penalties and greedy ---- */

/* llama.cpp's formula: the repeat penalty pushes a logit toward "less
 * likely" whatever its sign, then frequency scales with the count and
 * presence is a flat cost for having appeared at all. */
static float penalise(float logit, int count, const sample_params *p) {
    logit = logit <= 0 ? logit * p->repeat_penalty : logit / p->repeat_penalty;
    return logit - (float)count * p->frequency_penalty - p->presence_penalty;
}

/* Each distinct token is penalised once: its count is negated as a "done"
 * mark while walking the window and restored afterwards, which avoids a
 * per-call set or allocation. */
static void apply_penalties(sampler *s, float *logits) {
    const sample_params *p = &s->p;
    if (p->repeat_penalty == 1 && p->presence_penalty == 0 && p->frequency_penalty == 0) return;
    for (int i = 0; i < s->hist_len; i++) {
        int32_t t = s->hist[i], n = s->counts[t];
        if (n <= 0) continue;
        logits[t] = penalise(logits[t], n, p);
        s->counts[t] = -n;
    }
    for (int i = 0; i < s->hist_len; i++) {
        int32_t t = s->hist[i];
        if (s->counts[t] < 0) s->counts[t] = -s->counts[t];
    }
}

/* Strict '>' keeps the lowest id among equal maxima. -1 when the winner is
 * NaN (the scan cannot move off a leading NaN) or -inf (all masked). */
static int32_t argmax(const float *logits, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    return isnan(logits[best]) || logits[best] == -INFINITY ? -1 : best;
}

/* ---- top_k: a min-heap whose root is the worst token kept ---- */

/* Descending value, ties to the lower id: one total order everywhere, so
 * every path (heap, qsort, greedy) breaks ties identically. */
static int better(const cand *a, const cand *b) {
    return a->v > b->v || (a->v == b->v && a->id < b->id);
}

static void sift_down(cand *h, int m, int i) {
    for (;;) {
        int w = i, l = 2 * i + 1, r = l + 1;
        if (l < m && better(&h[w], &h[l])) w = l;
        if (r < m && better(&h[w], &h[r])) w = r;
        if (w == i) return;
        cand t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void heapify(cand *h, int m) {
    for (int i = m / 2 - 1; i >= 0; i--) sift_down(h, m, i);
}

/* Heapsort with a worst-at-root heap leaves the array best-first. */
static void heap_to_desc(cand *h, int m) {
    for (int end = m - 1; end > 0; end--) {
        cand t = h[0];
        h[0] = h[end];
        h[end] = t;
        sift_down(h, end, 0);
    }
}

/* top_k straight from the logits, without first copying the vocabulary.
 * A later id ties-loses to every id already held, hence the plain '>'. */
static int load_top_k(sampler *s, const float *logits, int k) {
    cand *h = s->c;
    for (int i = 0; i < k; i++) h[i] = (cand){i, logits[i], 0};
    heapify(h, k);
    for (int j = k; j < s->n_vocab; j++) {
        if (!(logits[j] > h[0].v)) continue;
        h[0] = (cand){j, logits[j], 0};
        sift_down(h, k, 0);
    }
    heap_to_desc(h, k);
    return k;
}

static void load_all(sampler *s, const float *logits) {
    for (int i = 0; i < s->n_vocab; i++) s->c[i] = (cand){i, logits[i], 0};
}

/* ---- temperature, softmax and filters ---- */

static float max_v(const cand *c, int n, bool sorted) {
    if (sorted) return c[0].v;
    float m = c[0].v;
    for (int i = 1; i < n; i++)
        if (c[i].v > m) m = c[i].v;
    return m;
}

/* Temperature floored at 1e-7 as Ollama does, and folded into the exp
 * (a positive scale keeps the maximum where it was); false when the
 * logits give no distribution (NaN, or all -inf), which Ollama reports as
 * an error. */
static bool softmax(cand *c, int n, float temp, bool sorted) {
    float inv_t = 1.0f / (temp > 1e-7f ? temp : 1e-7f);
    float mx = max_v(c, n, sorted);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        c[i].v = expf((c[i].v - mx) * inv_t);
        sum += c[i].v;
    }
    if (!(sum > 0) || !isfinite(sum)) return false;
    float inv_sum = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) c[i].v *= inv_sum;
    return true;
}

static int cmp_aux(const void *pa, const void *pb) {
    const cand *a = pa, *b = pb;
    if (a->aux != b->aux) return a->aux < b->aux ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_desc(const void *pa, const void *pb) {
    const cand *a = pa, *b = pb;
    return better(a, b) ? -1 : better(b, a);
}

/* Locally typical sampling (Meister et al., llama.cpp's version): keep the
 * tokens whose surprisal is closest to the entropy until their mass
 * exceeds tp. Renormalised and re-sorted by probability afterwards because
 * the later filters expect a best-first distribution (llama.cpp's top_p
 * re-runs softmax on what typical_p left). */
static int typical_filter(cand *c, int n, float tp) {
    double ent = 0;
    for (int i = 0; i < n; i++)
        if (c[i].v > 0) ent -= c[i].v * log(c[i].v);
    for (int i = 0; i < n; i++)
        c[i].aux = c[i].v > 0 ? (float)fabs(-log(c[i].v) - ent) : INFINITY;
    qsort(c, (size_t)n, sizeof *c, cmp_aux);
    double cum = 0, kept = 0;
    int keep = n;
    for (int i = 0; i < n; i++) {
        cum += c[i].v;
        if (cum > tp) { keep = i + 1; break; }
    }
    for (int i = 0; i < keep; i++) kept += c[i].v;
    for (int i = 0; i < keep; i++) c[i].v = (float)(c[i].v / kept);
    qsort(c, (size_t)keep, sizeof *c, cmp_desc);
    return keep;
}

/* Keeps p >= min_p * max_p. Unsorted input is compacted in O(n) with its
 * order kept; the top token always survives since min_p <= 1. */
static int min_p_filter(cand *c, int n, float mp, bool sorted) {
    float th = max_v(c, n, sorted) * mp;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].v >= th) c[k++] = c[i];
        else if (sorted) break;
    }
    return k;
}

/* Ollama's nucleus: the shortest best-first prefix whose mass exceeds tp.
 * Input already sorted (top_k or typical_p ran) is walked directly. */
static int top_p_sorted(const cand *c, int n, float tp) {
    double cum = 0;
    for (int i = 0; i < n; i++) {
        cum += c[i].v;
        if (cum > tp) return i + 1;
    }
    return n;
}

/* A float's bits above the low 19 order positive floats by value in
 * log-spaced buckets (16 per power of two), with no log() per token. */
static int bucket_of(float v) {
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    b >>= 19;
    return b < SAMPLE_BUCKETS ? (int)b : SAMPLE_BUCKETS - 1;
}

/* Swaps the candidates of c[lo, n) whose bucket is above (or equal to)
 * edge to the front of that range and returns where they end. The order
 * is arbitrary but deterministic, which is all the draw needs. */
static int gather(cand *c, int lo, int n, int edge, bool above) {
    int k = lo;
    for (int i = lo; i < n; i++) {
        int b = bucket_of(c[i].v);
        if (above ? b > edge : b == edge) {
            cand t = c[k];
            c[k++] = c[i];
            c[i] = t;
        }
    }
    return k;
}

/* The same nucleus over an unsorted vocabulary without sorting it: bucket
 * masses find the bucket where the running sum crosses tp; the buckets
 * above are kept whole and only the crossing bucket is sorted. O(n) plus
 * a small sort, where Ollama sorts all 150k tokens. */
static int top_p_unsorted(sampler *s, int n, float tp) {
    cand *c = s->c;
    double *mass = s->bucket_mass, cum = 0;
    memset(mass, 0, SAMPLE_BUCKETS * sizeof *mass);
    for (int i = 0; i < n; i++) mass[bucket_of(c[i].v)] += c[i].v;
    int edge = SAMPLE_BUCKETS - 1;
    for (; edge > 0 && !(cum + mass[edge] > tp); edge--) cum += mass[edge];
    int k = gather(c, 0, n, edge, true);
    int m = gather(c, k, n, edge, false);
    qsort(c + k, (size_t)(m - k), sizeof *c, cmp_desc);
    for (int i = k; i < m; i++) {
        cum += c[i].v;
        if (cum > tp) return i + 1;
    }
    return m;
}

/* The filters do not renormalise (Ollama doesn't either), so the draw
 * scales the uniform by the mass that is left. */
static int32_t draw(sampler *s, const cand *c, int n) {
    double total = 0, cum = 0;
    for (int i = 0; i < n; i++) total += c[i].v;
    double r = rng_uniform(s->rng) * total;
    for (int i = 0; i < n - 1; i++) {
        cum += c[i].v;
        if (r < cum) return c[i].id;
    }
    return c[n - 1].id;
}

static int32_t filter_and_draw(sampler *s, int n, bool sorted) {
    const sample_params *p = &s->p;
    if (p->typical_p < 1) {
        n = typical_filter(s->c, n, p->typical_p);
        sorted = true;
    }
    if (p->min_p > 0) n = min_p_filter(s->c, n, p->min_p, sorted);
    if (p->top_p < 1) n = sorted ? top_p_sorted(s->c, n, p->top_p) : top_p_unsorted(s, n, p->top_p);
    return draw(s, s->c, n);
}

int32_t sampler_sample(sampler *s, float *logits) {
    apply_penalties(s, logits);
    if (s->p.temperature <= 0) return argmax(logits, s->n_vocab);
    int n = s->n_vocab, k = s->p.top_k;
    bool sorted = k > 0 && k < n;
    if (sorted) n = load_top_k(s, logits, k);
    else load_all(s, logits);
    if (n == 1) return isnan(s->c[0].v) ? -1 : s->c[0].id;
    if (!softmax(s->c, n, s->p.temperature, sorted)) return -1;
    return filter_and_draw(s, n, sorted);
}

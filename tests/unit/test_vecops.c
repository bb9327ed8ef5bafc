/* tensor float ops: softmax, silu and the attention kernels of every ISA
 * level against references in double, edge values of the vector exp, and
 * tensor_attend's promise that a query's result does not depend on the
 * other queries of its call. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tensor/quants.h"
#include "tensor/tensor.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) { return (uint32_t)(check_xorshift(&rng_state) >> 16); }
static float rnd_in(float lo, float hi) { return lo + (hi - lo) * ((float)rnd() / 4294967296.0f); }

/* |got - want| within rel of want's magnitude, or abs near zero. */
static bool close_to(double got, double want, double rel, double abs) {
    return fabs(got - want) <= rel * fabs(want) + abs;
}

static void ref_softmax(const float *x, int n, const float *sink, double *p) {
    double max = sink ? *sink : -INFINITY, sum = 0.0;
    for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    for (int i = 0; i < n; i++) sum += p[i] = exp((double)x[i] - max);
    if (sink) sum += exp(*sink - max);
    for (int i = 0; i < n; i++) p[i] /= sum;
}

static void test_softmax(const tensor_vec_ops *o, const char *isa) {
    static const int lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 63, 300};
    float x[300], y[300];
    double p[300];
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (int with_sink = 0; with_sink < 2; with_sink++) {
            int n = lens[li];
            for (int i = 0; i < n; i++) x[i] = rnd_in(-30.0f, 12.0f);
            float sink = rnd_in(-5.0f, 15.0f);
            memcpy(y, x, sizeof x);
            o->softmax(y, n, with_sink ? &sink : NULL);
            ref_softmax(x, n, with_sink ? &sink : NULL, p);
            int bad = 0;
            for (int i = 0; i < n; i++) bad += !close_to(y[i], p[i], 2e-6, 1e-12);
            CHECK_MSG(bad == 0, "%s softmax n=%d sink=%d: %d entries off", isa, n, with_sink, bad);
        }
    /* the exp's ends: far below the maximum is exactly 0, and a row of
     * one value is uniform */
    float e[10] = {0.0f, -87.0f, -88.0f, -110.0f, -1e30f, -INFINITY, 0.0f, 0.0f, 0.0f, 0.0f};
    o->softmax(e, 10, NULL);
    CHECK_MSG(e[3] == 0.0f && e[4] == 0.0f && e[5] == 0.0f, "%s softmax tails: %g %g %g", isa, e[3], e[4], e[5]);
    CHECK_MSG(close_to(e[0], 0.2, 1e-6, 0) && close_to(e[1], 0.2 * exp(-87.0), 1e-5, 0) &&
              close_to(e[2], 0.2 * exp(-88.0), 1e-5, 0), "%s softmax: %g %g %g", isa, e[0], e[1], e[2]);
}

static void test_silu(const tensor_vec_ops *o, const char *isa) {
    enum { N = 203 };
    float g[N], up[N], y[N];
    for (int i = 0; i < N; i++) {
        g[i] = rnd_in(-20.0f, 20.0f);
        up[i] = rnd_in(-3.0f, 3.0f);
    }
    /* the exp's ends: overflow, the last normals (where a clamped
     * exponent once made silu(-88.5) 12% small), subnormals */
    g[0] = -1000.0f, g[1] = 1000.0f, g[2] = 0.0f, g[3] = -88.5f, g[4] = 89.0f, g[5] = -1e-20f;
    g[6] = -88.7f, g[7] = -87.5f, g[8] = -95.0f, g[9] = -100.0f, g[10] = 88.6f;
    for (int i = 3; i <= 10; i++) up[i] = 3.0f;
    memcpy(y, g, sizeof g);
    o->silu_mul(y, up, N);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        double want = (double)g[i] / (1.0 + exp(-(double)g[i])) * up[i];
        if (!close_to(y[i], want, 3e-7, 1e-38)) { /* below the normals it may be 0, as with expf */
            if (bad++ < 3) fprintf(stderr, "%s silu(%g) * %g = %.9g, want %.9g\n", isa, g[i], up[i], y[i], want);
        }
    }
    CHECK_MSG(bad == 0, "%s silu_mul: %d of %d off", isa, bad, N);
    CHECK_MSG(y[0] == 0.0f && isfinite(y[1]), "%s silu ends: %g %g", isa, y[0], y[1]);
}

/* Panels, scores and weighted values of one level against double sums. */
static void test_attn_kernels(const tensor_vec_ops *o, const char *isa) {
    static const int hds[] = {8, 12, 64, 80, 128};
    for (size_t hi = 0; hi < sizeof hds / sizeof *hds; hi++)
        for (int nq = 1; nq <= 4; nq++) {
            int hd = hds[hi], n = 1 + (int)(rnd() % 45), np = (n + 7) / 8;
            float *K = malloc(sizeof(float) * (size_t)n * hd), *V = malloc(sizeof(float) * (size_t)n * hd);
            float *panels = malloc(sizeof(float) * (size_t)np * 8 * hd), *Q = malloc(sizeof(float) * 4 * hd);
            float *S = malloc(sizeof(float) * 4 * (size_t)np * 8), *P = malloc(sizeof(float) * 4 * (size_t)n);
            float *O = malloc(sizeof(float) * 4 * hd);
            for (int i = 0; i < n * hd; i++) K[i] = rnd_in(-1, 1), V[i] = rnd_in(-1, 1);
            for (int i = 0; i < 4 * hd; i++) Q[i] = rnd_in(-1, 1);
            for (int i = 0; i < 4 * n; i++) P[i] = rnd_in(0, 1);
            for (int j = 0; j < n; j += 8) o->pack_keys(panels + (size_t)j * hd, K + (size_t)j * hd, hd, n - j < 8 ? n - j : 8, hd);
            int bad_pack = 0;
            for (int j = 0; j < np * 8; j++)
                for (int d = 0; d < hd; d++) {
                    float want = j < n ? K[(size_t)j * hd + d] : 0.0f;
                    bad_pack += panels[(size_t)(j / 8) * 8 * hd + (size_t)d * 8 + j % 8] != want;
                }
            CHECK_MSG(bad_pack == 0, "%s pack_keys hd=%d n=%d: %d wrong", isa, hd, n, bad_pack);
            const float *qs[4] = {Q, Q + hd, Q + 2 * hd, Q + 3 * hd};
            float *outs[4] = {O, O + hd, O + 2 * hd, O + 3 * hd};
            o->attn_scores(panels, hd, np, qs, nq, 0.125f, S, (size_t)np * 8);
            o->attn_values(P, (size_t)n, nq, V, (size_t)hd, n, hd, outs);
            int bad_s = 0, bad_v = 0;
            for (int i = 0; i < nq; i++) {
                for (int j = 0; j < n; j++) {
                    double want = 0;
                    for (int d = 0; d < hd; d++) want += (double)qs[i][d] * K[(size_t)j * hd + d];
                    bad_s += !close_to(S[(size_t)i * np * 8 + j], want * 0.125, 1e-5, 1e-6);
                }
                for (int d = 0; d < hd; d++) {
                    double want = 0;
                    for (int j = 0; j < n; j++) want += (double)P[(size_t)i * n + j] * V[(size_t)j * hd + d];
                    bad_v += !close_to(outs[i][d], want, 1e-5, 1e-5);
                }
            }
            CHECK_MSG(bad_s == 0, "%s attn_scores hd=%d n=%d nq=%d: %d off", isa, hd, n, nq, bad_s);
            CHECK_MSG(bad_v == 0, "%s attn_values hd=%d n=%d nq=%d: %d off", isa, hd, n, nq, bad_v);
            free(K), free(V), free(panels), free(Q), free(S), free(P), free(O);
        }
}

/* softmax(scale * K q) V over the window, with the cap and the sink, in double. */
static void ref_attend(const float *K, const float *V, int hd, const float *q, int j0, int n, float scale, float cap,
                       const float *sink, double *out) {
    double *s = malloc(sizeof(double) * (size_t)n), max = sink ? *sink : -INFINITY, sum = 0;
    for (int j = 0; j < n; j++) {
        double d = 0;
        for (int i = 0; i < hd; i++) d += (double)q[i] * K[(size_t)(j0 + j) * hd + i];
        d *= scale;
        if (cap > 0) d = tanh(d / cap) * cap;
        s[j] = d;
        if (d > max) max = d;
    }
    for (int j = 0; j < n; j++) sum += s[j] = exp(s[j] - max);
    if (sink) sum += exp(*sink - max);
    for (int i = 0; i < hd; i++) {
        double acc = 0;
        for (int j = 0; j < n; j++) acc += s[j] / sum * V[(size_t)(j0 + j) * hd + i];
        out[i] = acc;
    }
    free(s);
}

/* tensor_attend on the active level: causal and sliding windows, cap and
 * sinks, against the reference; and each query alone gives the bits it
 * gets among others. */
static void test_attend(void) {
    enum { NQ = 11 };
    static const int hds[] = {8, 64, 72, 128};
    for (size_t hi = 0; hi < sizeof hds / sizeof *hds; hi++)
        for (int variant = 0; variant < 3; variant++) {
            int hd = hds[hi], n_kv = 20 + (int)(rnd() % 90);
            float *K = malloc(sizeof(float) * (size_t)n_kv * hd), *V = malloc(sizeof(float) * (size_t)n_kv * hd);
            float *keys = malloc(sizeof(float) * tensor_attn_keys_floats(n_kv, hd));
            float *work = malloc(sizeof(float) * tensor_attn_work_floats(n_kv));
            float *Q = malloc(sizeof(float) * NQ * hd), *O = malloc(sizeof(float) * NQ * hd);
            float *O1 = malloc(sizeof(float) * hd);
            double *want = malloc(sizeof(double) * hd);
            for (int i = 0; i < n_kv * hd; i++) K[i] = rnd_in(-2, 2), V[i] = rnd_in(-1, 1);
            for (int i = 0; i < NQ * hd; i++) Q[i] = rnd_in(-2, 2);
            /* packed in two calls, the second from a panel boundary */
            tensor_attn_pack_keys(keys, 0, K, (size_t)hd, 16, hd);
            tensor_attn_pack_keys(keys, 16, K + 16 * hd, (size_t)hd, n_kv - 16, hd);
            float sinks[NQ];
            tensor_attn_query q[NQ];
            for (int i = 0; i < NQ; i++) {
                int end = n_kv - (NQ - 1 - i) / 2; /* pairs of queries per token, causal */
                int j0 = variant == 1 ? (end > 13 ? end - 13 : 0) : 0;
                sinks[i] = rnd_in(-3, 3);
                q[i] = (tensor_attn_query){Q + i * hd, O + i * hd, j0, end - j0, variant == 2 ? &sinks[i] : NULL};
            }
            tensor_attn_head h = {.hd = hd, .n_kv = n_kv, .keys = keys, .values = V, .v_stride = (size_t)hd,
                                  .scale = 1.0f / sqrtf((float)hd), .softcap = variant == 2 ? 5.0f : 0.0f};
            tensor_attend(&h, q, NQ, work);
            int bad = 0, differ = 0;
            for (int i = 0; i < NQ; i++) {
                ref_attend(K, V, hd, q[i].q, q[i].j0, q[i].n, h.scale, h.softcap, q[i].sink, want);
                for (int d = 0; d < hd; d++) bad += !close_to(q[i].out[d], want[d], 1e-5, 2e-6);
                tensor_attn_query alone = q[i];
                alone.out = O1;
                tensor_attend(&h, &alone, 1, work);
                differ += memcmp(O1, q[i].out, sizeof(float) * hd) != 0;
            }
            CHECK_MSG(bad == 0, "attend hd=%d n_kv=%d variant=%d: %d values off", hd, n_kv, variant, bad);
            CHECK_MSG(differ == 0, "attend hd=%d variant=%d: %d queries change with their tile", hd, variant, differ);
            free(K), free(V), free(keys), free(work), free(Q), free(O), free(O1), free(want);
        }
}

int main(void) {
    for (int isa = TENSOR_ISA_SCALAR; isa <= (int)tensor_isa_detected(); isa++) {
        const tensor_vec_ops *o = tensor_get_ops_isa((enum tensor_isa)isa);
        const char *name = tensor_isa_name((enum tensor_isa)isa);
        test_softmax(o, name);
        test_silu(o, name);
        test_attn_kernels(o, name);
    }
    test_attend();
    return check_done();
}

/* tensor: the scalar reference of the float ops (softmax, silu, the
 * attention kernels); the ISA levels inherit what they do not replace. */
#include <math.h>
#include <string.h>

#include "tensor/quants.h"

enum { KEYS = TENSOR_ATTN_KEYS };

static void softmax(float *x, int n, const float *sink) {
    float max = sink ? *sink : -INFINITY;
    for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    double sum = sink ? exp((double)(*sink - max)) : 0.0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

static void silu_mul(float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

static void pack_keys(float *panel, const float *rows, size_t stride, int nrows, int hd) {
    for (int l = 0; l < KEYS; l++)
        for (int d = 0; d < hd; d++) panel[d * KEYS + l] = l < nrows ? rows[(size_t)l * stride + d] : 0.0f;
}

static void attn_scores(const float *panels, int hd, int np, const float *const q[4], int nq, float scale, float *s,
                        size_t s_stride) {
    for (int i = 0; i < nq; i++)
        for (int p = 0; p < np; p++)
            for (int l = 0; l < KEYS; l++) {
                const float *k = panels + (size_t)p * hd * KEYS + l;
                float acc = 0.0f;
                for (int d = 0; d < hd; d++) acc += q[i][d] * k[d * KEYS];
                s[(size_t)i * s_stride + (size_t)p * KEYS + l] = acc * scale;
            }
}

static void attn_values(const float *p, size_t p_stride, int nq, const float *v, size_t v_stride, int n, int hd,
                        float *const out[4]) {
    for (int i = 0; i < nq; i++) {
        memset(out[i], 0, (size_t)hd * sizeof(float));
        for (int k = 0; k < n; k++) {
            const float w = p[(size_t)i * p_stride + k], *row = v + (size_t)k * v_stride;
            for (int d = 0; d < hd; d++) out[i][d] += w * row[d];
        }
    }
}

void tensor_vecops_scalar(tensor_vec_ops *o) {
    o->softmax = softmax;
    o->silu_mul = silu_mul;
    o->pack_keys = pack_keys;
    o->attn_scores = attn_scores;
    o->attn_values = attn_values;
}

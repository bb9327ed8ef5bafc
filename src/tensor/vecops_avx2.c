/* tensor: the float ops in AVX2 + FMA: softmax and silu over a vector
 * exp, and the attention kernels (key panels, scores, weighted values). */
#include <immintrin.h>
#include <math.h>

#include "tensor/kernels_x86.h"
#include "tensor/quants.h"

#define INLINE static inline __attribute__((always_inline))

enum { KEYS = TENSOR_ATTN_KEYS };
_Static_assert(TENSOR_ATTN_KEYS == 8, "a key panel row is one vector");

/* e^x in every lane, within 2 ulp where the result is a normal float:
 * 2^n e^r with n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts,
 * so r is exact) and e^r from Cephes' expf polynomial. 2^n is applied as
 * two factors, so n may pass the exponent range at either end: results
 * near overflow stay exact and small ones fall into the subnormals as
 * expf's do. Below -104 (under half the least subnormal) it is 0, above
 * 88.73 inf; NaN stays NaN. */
INLINE __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-104.0f), hi = _mm256_set1_ps(88.73f);
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_add_ps(_mm256_fmadd_ps(y, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 e2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(y, e1), e2);
    v = _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), v);
    v = _mm256_blendv_ps(v, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(88.72283935546875f), _CMP_GT_OQ));
    return _mm256_blendv_ps(v, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* Lanes below k set: the mask of a tail of k < 8 elements. */
INLINE __m256i tail_mask(int k) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The tail is one masked vector, through the same exp as the rest, so an
 * element's value depends only on its place in x. */
static void softmax(float *x, int n, const float *sink) {
    const int full = n & ~7;
    const __m256i tail = tail_mask(n - full);
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < full; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    if (full < n)
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(vmax, _mm256_maskload_ps(x + full, tail), _mm256_castsi256_ps(tail)));
    float max = hmax_ps(vmax);
    if (sink && *sink > max) max = *sink;
    const __m256 m = _mm256_set1_ps(max);
    __m256 vsum = _mm256_setzero_ps();
    for (int i = 0; i < full; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        _mm256_storeu_ps(x + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (full < n) {
        const __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(x + full, tail), m)),
                                       _mm256_castsi256_ps(tail));
        _mm256_maskstore_ps(x + full, tail, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hsum_ps(vsum);
    if (sink) sum += _mm256_cvtss_f32(exp8(_mm256_set1_ps(*sink - max)));
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (int i = 0; i < full; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    if (full < n) _mm256_maskstore_ps(x + full, tail, _mm256_mul_ps(_mm256_maskload_ps(x + full, tail), inv));
}

INLINE __m256 silu8(__m256 g, __m256 up) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), up);
}

static void silu_mul(float *gate, const float *up, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(gate + i, silu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        const __m256i tail = tail_mask(n - i);
        _mm256_maskstore_ps(gate + i, tail, silu8(_mm256_maskload_ps(gate + i, tail), _mm256_maskload_ps(up + i, tail)));
    }
}

/* ---- attention ---- */

/* c[j] = element j of every r[i], as lane i. */
INLINE void transpose8(const __m256 r[8], __m256 c[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        c[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
        c[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
    }
}

static void pack_keys(float *panel, const float *rows, size_t stride, int nrows, int hd) {
    int d = 0;
    for (; d + 8 <= hd; d += 8) {
        __m256 r[8], c[8];
        for (int l = 0; l < 8; l++) r[l] = l < nrows ? _mm256_loadu_ps(rows + (size_t)l * stride + d) : _mm256_setzero_ps();
        transpose8(r, c);
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(panel + (size_t)(d + j) * KEYS, c[j]);
    }
    for (; d < hd; d++)
        for (int l = 0; l < KEYS; l++) panel[d * KEYS + l] = l < nrows ? rows[(size_t)l * stride + d] : 0.0f;
}

/* NQ queries by NP panels, NQ * NP accumulators: each score a chain of
 * FMAs over d, whatever the tile. */
INLINE void scores_tile(const float *panels, int hd, const float *const q[4], int NQ, int NP, __m256 scale, float *s,
                        size_t s_stride) {
    __m256 a[4][4];
    for (int i = 0; i < NQ; i++)
        for (int p = 0; p < NP; p++) a[i][p] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m256 k[4];
        for (int p = 0; p < NP; p++) k[p] = _mm256_loadu_ps(panels + ((size_t)p * hd + d) * KEYS);
        for (int i = 0; i < NQ; i++) {
            const __m256 qd = _mm256_broadcast_ss(q[i] + d);
            for (int p = 0; p < NP; p++) a[i][p] = _mm256_fmadd_ps(qd, k[p], a[i][p]);
        }
    }
    for (int i = 0; i < NQ; i++)
        for (int p = 0; p < NP; p++) _mm256_storeu_ps(s + i * s_stride + (size_t)p * KEYS, _mm256_mul_ps(a[i][p], scale));
}

INLINE void scores_rows(const float *panels, int hd, int np, const float *const q[4], int NQ, float scale, float *s,
                        size_t s_stride) {
    const int NP = NQ > 2 ? 2 : 4; /* eight accumulators */
    const __m256 vs = _mm256_set1_ps(scale);
    int p = 0;
    for (; p + NP <= np; p += NP)
        scores_tile(panels + (size_t)p * hd * KEYS, hd, q, NQ, NP, vs, s + (size_t)p * KEYS, s_stride);
    for (; p < np; p++) scores_tile(panels + (size_t)p * hd * KEYS, hd, q, NQ, 1, vs, s + (size_t)p * KEYS, s_stride);
}

static void attn_scores(const float *panels, int hd, int np, const float *const q[4], int nq, float scale, float *s,
                        size_t s_stride) {
    switch (nq) {
    case 1: scores_rows(panels, hd, np, q, 1, scale, s, s_stride); break;
    case 2: scores_rows(panels, hd, np, q, 2, scale, s, s_stride); break;
    case 3: scores_rows(panels, hd, np, q, 3, scale, s, s_stride); break;
    default: scores_rows(panels, hd, np, q, 4, scale, s, s_stride); break;
    }
}

/* Dimensions d .. d + 8 * ND - 1 of NQ outputs: one chain of FMAs over
 * the keys per output element, whatever the tile. */
INLINE void values_tile(const float *p, size_t p_stride, int NQ, const float *v, size_t v_stride, int n, int d, int ND,
                        float *const out[4]) {
    __m256 a[4][4];
    for (int i = 0; i < NQ; i++)
        for (int c = 0; c < ND; c++) a[i][c] = _mm256_setzero_ps();
    for (int k = 0; k < n; k++) {
        __m256 x[4];
        for (int c = 0; c < ND; c++) x[c] = _mm256_loadu_ps(v + (size_t)k * v_stride + d + 8 * c);
        for (int i = 0; i < NQ; i++) {
            const __m256 w = _mm256_broadcast_ss(p + i * p_stride + k);
            for (int c = 0; c < ND; c++) a[i][c] = _mm256_fmadd_ps(w, x[c], a[i][c]);
        }
    }
    for (int i = 0; i < NQ; i++)
        for (int c = 0; c < ND; c++) _mm256_storeu_ps(out[i] + d + 8 * c, a[i][c]);
}

INLINE void values_rows(const float *p, size_t p_stride, int NQ, const float *v, size_t v_stride, int n, int hd,
                        float *const out[4]) {
    const int ND = NQ > 2 ? 2 : 4;
    int d = 0;
    for (; d + 8 * ND <= hd; d += 8 * ND) values_tile(p, p_stride, NQ, v, v_stride, n, d, ND, out);
    for (; d + 8 <= hd; d += 8) values_tile(p, p_stride, NQ, v, v_stride, n, d, 1, out);
    for (; d < hd; d++)
        for (int i = 0; i < NQ; i++) {
            float acc = 0.0f;
            for (int k = 0; k < n; k++) acc = fmaf(p[i * p_stride + k], v[(size_t)k * v_stride + d], acc);
            out[i][d] = acc;
        }
}

static void attn_values(const float *p, size_t p_stride, int nq, const float *v, size_t v_stride, int n, int hd,
                        float *const out[4]) {
    switch (nq) {
    case 1: values_rows(p, p_stride, 1, v, v_stride, n, hd, out); break;
    case 2: values_rows(p, p_stride, 2, v, v_stride, n, hd, out); break;
    case 3: values_rows(p, p_stride, 3, v, v_stride, n, hd, out); break;
    default: values_rows(p, p_stride, 4, v, v_stride, n, hd, out); break;
    }
}

void tensor_vecops_avx2(tensor_vec_ops *o) {
    o->softmax = softmax;
    o->silu_mul = silu_mul;
    o->pack_keys = pack_keys;
    o->attn_scores = attn_scores;
    o->attn_values = attn_values;
}

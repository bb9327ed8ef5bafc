/* tensor: scalar reference kernels of the K-quants (256-element super-blocks
 * of 16 or 32-element sub-blocks with quantized scales), their activation
 * type Q8_K, and IQ4_XS.
 *
 * The quantizers are ggml's reference ones (quantize_row_*_ref: no
 * importance matrix), including the scale searches of make_qkx2_quants,
 * make_q3_quants and make_qx_quants, with the same order of float operations
 * so that the bytes they produce match ggml's. Dequantization unpacks the
 * integer codes and per-sub-block scales once; to_float and vec_dot share
 * those unpackers. */
#include <math.h>
#include <string.h>

#include "tensor/quants.h"

void tensor_kernels_scalar_k(tensor_kernels *k);

#define F16(h) tensor_f16_to_f32(h)
/* Below this a group is treated as all zeros (ggml's GROUP_MAX_EPS). */
#define GROUP_MAX_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int clamp(int v, int lo, int hi) { return imax(lo, imin(hi, v)); }

/* Round to nearest, ties to even, for |f| < 2^22: adding 1.5 * 2^23 puts
 * the integer part in the low mantissa bits. Out-of-range input gives a
 * wrong value but no undefined behaviour (callers clamp). */
static inline int nearest_int(float f) {
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* The value of largest magnitude, with its sign (0 if all are zero). */
static float signed_absmax(const float *x, int n, float *amax_out) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    *amax_out = amax;
    return max;
}

/* ---- scale searches ---- */

/* Weighted sums of one trial of make_qkx2_quants: codes for scale iscale
 * and offset min, into Laux. */
typedef struct { float l, l2, xl; } qkx_sums;

static qkx_sums qkx_trial(int n, int nmax, const float *x, const float *w, float iscale,
                          float min, uint8_t *Laux) {
    qkx_sums s = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        int l = clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
        Laux[i] = (uint8_t)l;
        s.l += w[i] * l;
        s.l2 += w[i] * l * l;
        s.xl += w[i] * l * x[i];
    }
    return s;
}

static float qkx_error(int n, const float *x, const float *w, const uint8_t *L, float scale,
                       float min, bool use_mad) {
    float err = 0;
    for (int i = 0; i < n; i++) {
        float diff = scale * L[i] + min - x[i];
        err += w[i] * (use_mad ? fabsf(diff) : diff * diff);
    }
    return err;
}

/* Fits x ~ scale * L - the_min with L in [0, nmax] (min <= 0), trying
 * nstep+1 scales around nmax/(max-min) and keeping the weighted
 * least-squares fit of lowest error. Returns scale. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *w, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta,
                              int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    for (int i = 0; i < n; i++) L[i] = (uint8_t)clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
    float best_error = qkx_error(n, x, w, L, scale, min, use_mad);
    for (int is = 0; is <= nstep; is++) {
        /* min moves with each accepted fit, and later trials start from it. */
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        qkx_sums s = qkx_trial(n, nmax, x, w, iscale, min, Laux);
        float D = sum_w * s.l2 - s.l * s.l;
        if (!(D > 0)) continue;
        float this_scale = (sum_w * s.xl - sum_x * s.l) / D;
        float this_min = (s.l2 * sum_x - s.l * s.xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = s.xl / s.l2;
        }
        float err = qkx_error(n, x, w, Laux, this_scale, this_min, use_mad);
        if (err < best_error) {
            memcpy(L, Laux, (size_t)n);
            best_error = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

/* One pass of make_q3_quants' coordinate descent: moves single codes to
 * their best value given the others; returns how many changed. */
static int q3_refine_pass(int n, int nmax, const float *x, int8_t *L, float *sumlx, float *suml2) {
    int n_changed = 0;
    for (int i = 0; i < n; i++) {
        float w = x[i] * x[i];
        float slx = *sumlx - w * x[i] * L[i];
        if (!(slx > 0)) continue;
        float sl2 = *suml2 - w * L[i] * L[i];
        int new_l = clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l == L[i]) continue;
        slx += w * x[i] * new_l;
        sl2 += w * new_l * new_l;
        if (sl2 > 0 && slx * slx * *suml2 > *sumlx * *sumlx * sl2) {
            L[i] = (int8_t)new_l;
            *sumlx = slx;
            *suml2 = sl2;
            n_changed++;
        }
    }
    return n_changed;
}

/* Symmetric fit x ~ scale * (L - nmax), L in [0, 2*nmax), weighted by x^2
 * (make_q3_quants with do_rmse). Returns scale. */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float amax;
    float max = signed_absmax(x, n, &amax);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; itry++)
        if (!q3_refine_pass(n, nmax, x, L, &sumlx, &suml2)) break;
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Codes of x for 1/scale = iscale, and the x^2-weighted sums of the fit. */
static void qx_trial(int n, int nmax, const float *x, float iscale, int8_t *L, float *sumlx,
                     float *suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        if (L) L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        *sumlx += w * x[i] * l;
        *suml2 += w * l * l;
    }
}

/* Symmetric fit trying 18 scales around nmax/max (make_qx_quants with
 * rmse_type 1 and no importance weights). Returns scale. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float amax;
    float max = signed_absmax(x, n, &amax);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float sumlx, suml2;
    qx_trial(n, nmax, x, -nmax / max, L, &sumlx, &suml2);
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        float iscale = -(nmax + 0.1f * is) / max;
        qx_trial(n, nmax, x, iscale, NULL, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            qx_trial(n, nmax, x, iscale, L, &sumlx, &suml2);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* ---- Q2_K: 16 sub-blocks of 16, 2-bit codes, 4-bit scales and mins ---- */

/* Element e of a Q2_K/Q3_K block is bits 2*((e/32)%4) of qs[32*(e/128) + e%32]. */
static inline int q2_code(const uint8_t *qs, int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
}

static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                      (L[j + l + 96] << 6));
}

/* Quantizes the sub-block scales (or mins) to 4 bits against their max;
 * returns the super-block scale. */
static float q2_k_quantize_scales(const float *v, float max, uint8_t *scales, int shift) {
    if (!(max > 0)) return 0.0f;
    const float iscale = 15.0f / max;
    for (int j = 0; j < QK_K / 16; j++)
        scales[j] = (uint8_t)(scales[j] | (uint8_t)nearest_int(iscale * v[j]) << shift);
    return max / 15.0f;
}

static void q2_k_quantize_block(const float *x, block_q2_K *y) {
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 16; j++) {
        for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
        scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                     -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    memset(y->scales, 0, sizeof y->scales);
    y->d = tensor_f32_to_f16(q2_k_quantize_scales(scales, max_scale, y->scales, 0));
    y->dmin = tensor_f32_to_f16(q2_k_quantize_scales(mins, max_min, y->scales, 4));
    /* Requantize against the rounded scales actually stored. */
    for (int j = 0; j < QK_K / 16; j++) {
        const float d = F16(y->d) * (y->scales[j] & 0xf);
        if (!d) continue;
        const float dm = F16(y->dmin) * (y->scales[j] >> 4);
        for (int ii = 0; ii < 16; ii++)
            L[16 * j + ii] = (uint8_t)clamp(nearest_int((x[16 * j + ii] + dm) / d), 0, 3);
    }
    pack_2bit(L, y->qs);
}

static void q2_k_from_float(const float *x, void *vy, int64_t n) {
    block_q2_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++) q2_k_quantize_block(x + i * QK_K, &y[i]);
}

/* Codes (0..3) and the 4-bit sub-block scales and mins. */
static void q2_k_unpack(const block_q2_K *b, int8_t q[QK_K], int sc[16], int m[16]) {
    for (int e = 0; e < QK_K; e++) q[e] = (int8_t)q2_code(b->qs, e);
    for (int j = 0; j < 16; j++) {
        sc[j] = b->scales[j] & 0xf;
        m[j] = b->scales[j] >> 4;
    }
}

static void q2_k_to_float(const void *vx, float *y, int64_t n) {
    const block_q2_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        int8_t q[QK_K];
        int sc[16], m[16];
        q2_k_unpack(&x[i], q, sc, m);
        const float d = F16(x[i].d), dmin = F16(x[i].dmin);
        for (int e = 0; e < QK_K; e++) {
            const float dl = d * sc[e / 16], ml = dmin * m[e / 16];
            y[e] = dl * q[e] - ml;
        }
    }
}

/* sum over 16-element groups of scale[g] * dot(a, b) */
static int dot_groups16(const int8_t *a, const int8_t *b, const int *scale) {
    int sum = 0;
    for (int g = 0; g < QK_K / 16; g++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += a[16 * g + l] * b[16 * g + l];
        sum += scale[g] * s;
    }
    return sum;
}

static int dot_groups32(const int8_t *a, const int8_t *b, const int *scale) {
    int sum = 0;
    for (int g = 0; g < QK_K / 32; g++) {
        int s = 0;
        for (int l = 0; l < 32; l++) s += a[32 * g + l] * b[32 * g + l];
        sum += scale[g] * s;
    }
    return sum;
}

/* The mins term needs only the activations' 16-element sums (bsums). */
static void vec_dot_q2_k_q8_k(int n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int8_t q[QK_K];
        int sc[16], m[16];
        q2_k_unpack(&x[i], q, sc, m);
        int summs = 0;
        for (int j = 0; j < 16; j++) summs += y[i].bsums[j] * m[j];
        const int isum = dot_groups16(q, y[i].qs, sc);
        const float dall = y[i].d * F16(x[i].d), dmin = y[i].d * F16(x[i].dmin);
        sum += dall * (float)isum - dmin * (float)summs;
    }
    *s = sum;
}

/* ---- Q3_K: 16 sub-blocks of 16, 3-bit codes (2 low + hmask), 6-bit scales ---- */

/* 6-bit scale j: low 4 bits in scales[j % 8] (nibble j / 8), high 2 bits
 * in scales[8 + j % 4] (bits 2 * (j / 4)). Returns it minus 32. */
static inline int q3_k_scale(const uint8_t *s, int j) {
    int lo = j < 8 ? s[j] & 0xf : s[j - 8] >> 4;
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

static void q3_k_pack_scales(const int *ls, uint8_t s[12]) {
    memset(s, 0, 12);
    for (int j = 0; j < 16; j++) {
        int l = ls[j] + 32;
        if (j < 8) s[j] = (uint8_t)(l & 0xf);
        else s[j - 8] |= (uint8_t)((l & 0xf) << 4);
        s[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
    }
}

/* Element e's high bit is bit e/32 of hmask[e % 32]. */
static void pack_hmask(uint8_t *L, uint8_t *hmask, int hbit_value) {
    memset(hmask, 0, QK_K / 8);
    for (int e = 0; e < QK_K; e++) {
        if (L[e] >= hbit_value) {
            hmask[e % 32] |= (uint8_t)(1 << (e / 32));
            L[e] = (uint8_t)(L[e] - hbit_value);
        }
    }
}

static void q3_k_quantize_block(const float *x, block_q3_K *y) {
    int8_t L8[QK_K];
    uint8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < QK_K / 16; j++) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L8 + 16 * j);
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    memset(y->scales, 0, 12);
    y->d = tensor_f32_to_f16(0.0f);
    if (max_scale != 0) {
        const float iscale = -32.0f / max_scale;
        int ls[16];
        for (int j = 0; j < 16; j++) ls[j] = clamp(nearest_int(iscale * scales[j]), -32, 31);
        q3_k_pack_scales(ls, y->scales);
        y->d = tensor_f32_to_f16(1 / iscale);
    }
    for (int j = 0; j < QK_K / 16; j++) {
        const float dl = F16(y->d) * q3_k_scale(y->scales, j);
        if (!dl) continue;
        for (int ii = 0; ii < 16; ii++)
            L8[16 * j + ii] = (int8_t)(clamp(nearest_int(x[16 * j + ii] / dl), -4, 3) + 4);
    }
    for (int e = 0; e < QK_K; e++) L[e] = (uint8_t)L8[e];
    pack_hmask(L, y->hmask, 4);
    pack_2bit(L, y->qs);
}

static void q3_k_from_float(const float *x, void *vy, int64_t n) {
    block_q3_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++) q3_k_quantize_block(x + i * QK_K, &y[i]);
}

/* Codes (-4..3) and the signed sub-block scales. */
static void q3_k_unpack(const block_q3_K *b, int8_t q[QK_K], int sc[16]) {
    for (int e = 0; e < QK_K; e++) {
        int hbit = (b->hmask[e % 32] >> (e / 32)) & 1;
        q[e] = (int8_t)(q2_code(b->qs, e) - (hbit ? 0 : 4));
    }
    for (int j = 0; j < 16; j++) sc[j] = q3_k_scale(b->scales, j);
}

static void q3_k_to_float(const void *vx, float *y, int64_t n) {
    const block_q3_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        int8_t q[QK_K];
        int sc[16];
        q3_k_unpack(&x[i], q, sc);
        const float d = F16(x[i].d);
        for (int e = 0; e < QK_K; e++) y[e] = (d * sc[e / 16]) * q[e];
    }
}

static void vec_dot_q3_k_q8_k(int n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int8_t q[QK_K];
        int sc[16];
        q3_k_unpack(&x[i], q, sc);
        sum += (F16(x[i].d) * y[i].d) * (float)dot_groups16(q, y[i].qs, sc);
    }
    *s = sum;
}

/* ---- Q4_K, Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins ---- */

/* Scales and mins packed 6 bits each into 12 bytes: for j < 4 the low 6
 * bits of bytes j and j+4; for j >= 4 nibbles of byte j+4 plus the top 2
 * bits of bytes j-4 (scale) and j (min). */
static void get_scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void set_scale_min_k4(int j, uint8_t *q, int ls, int lm) {
    if (j < 4) {
        q[j] = (uint8_t)ls;
        q[j + 4] = (uint8_t)lm;
    } else {
        q[j + 4] = (uint8_t)((ls & 0xf) | ((lm & 0xf) << 4));
        q[j - 4] |= (uint8_t)((ls >> 4) << 6);
        q[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

/* The shared part of the Q4_K and Q5_K quantizers: per sub-block
 * scale/min fits, their 6-bit quantization, and the final codes in
 * [0, nmax] against the stored (rounded) scales. */
static void k4_quantize_block(const float *x, int nmax, float rmin, int nstep, uint8_t *L,
                              tensor_half *d_out, tensor_half *dmin_out, uint8_t *packed) {
    uint8_t Laux[32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        const float *xb = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xb[l] * xb[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xb[l]);
        scales[j] = make_qkx2_quants(32, nmax, xb, weights, L + 32 * j, &mins[j], Laux, rmin,
                                     0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; j++) {
        /* ggml stores nearest_int into a uint8_t before clamping. */
        int ls = imin(63, (uint8_t)nearest_int(inv_scale * scales[j]));
        int lm = imin(63, (uint8_t)nearest_int(inv_min * mins[j]));
        set_scale_min_k4(j, packed, ls, lm);
    }
    *d_out = tensor_f32_to_f16(max_scale / 63.f);
    *dmin_out = tensor_f32_to_f16(max_min / 63.f);
    for (int j = 0; j < QK_K / 32; j++) {
        int sc, m;
        get_scale_min_k4(j, packed, &sc, &m);
        const float d = F16(*d_out) * sc;
        if (!d) continue;
        const float dm = F16(*dmin_out) * m;
        for (int ii = 0; ii < 32; ii++)
            L[32 * j + ii] = (uint8_t)clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax);
    }
}

/* Element e's low nibble: qs[32*(e/64) + e%32], high half when (e/32) is odd. */
static void pack_4bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < QK_K; j += 64)
        for (int l = 0; l < 32; l++)
            qs[j / 2 + l] = (uint8_t)((L[j + l] & 0xf) | (L[j + l + 32] & 0xf) << 4);
}

static inline int q4_code(const uint8_t *qs, int e) {
    return (qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 0xf;
}

static void q4_k_from_float(const float *x, void *vy, int64_t n) {
    block_q4_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        uint8_t L[QK_K];
        memset(y[i].scales, 0, K_SCALE_SIZE);
        k4_quantize_block(x, 15, -1.0f, 20, L, &y[i].d, &y[i].dmin, y[i].scales);
        pack_4bit(L, y[i].qs);
    }
}

static void q5_k_from_float(const float *x, void *vy, int64_t n) {
    block_q5_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        uint8_t L[QK_K];
        memset(y[i].scales, 0, K_SCALE_SIZE);
        k4_quantize_block(x, 31, -0.5f, 15, L, &y[i].d, &y[i].dmin, y[i].scales);
        pack_hmask(L, y[i].qh, 16);
        pack_4bit(L, y[i].qs);
    }
}

static void k4_unpack_scales(const uint8_t *packed, int sc[8], int m[8]) {
    for (int j = 0; j < 8; j++) get_scale_min_k4(j, packed, &sc[j], &m[j]);
}

static void q4_k_unpack(const block_q4_K *b, int8_t q[QK_K], int sc[8], int m[8]) {
    for (int e = 0; e < QK_K; e++) q[e] = (int8_t)q4_code(b->qs, e);
    k4_unpack_scales(b->scales, sc, m);
}

static void q5_k_unpack(const block_q5_K *b, int8_t q[QK_K], int sc[8], int m[8]) {
    for (int e = 0; e < QK_K; e++)
        q[e] = (int8_t)(q4_code(b->qs, e) | (((b->qh[e % 32] >> (e / 32)) & 1) << 4));
    k4_unpack_scales(b->scales, sc, m);
}

static void k4_to_float(const int8_t *q, const int *sc, const int *m, float d, float dmin, float *y) {
    for (int e = 0; e < QK_K; e++) {
        const float d1 = d * sc[e / 32], m1 = dmin * m[e / 32];
        y[e] = d1 * q[e] - m1;
    }
}

static void q4_k_to_float(const void *vx, float *y, int64_t n) {
    const block_q4_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        int8_t q[QK_K];
        int sc[8], m[8];
        q4_k_unpack(&x[i], q, sc, m);
        k4_to_float(q, sc, m, F16(x[i].d), F16(x[i].dmin), y);
    }
}

static void q5_k_to_float(const void *vx, float *y, int64_t n) {
    const block_q5_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        int8_t q[QK_K];
        int sc[8], m[8];
        q5_k_unpack(&x[i], q, sc, m);
        k4_to_float(q, sc, m, F16(x[i].d), F16(x[i].dmin), y);
    }
}

/* One super-block of Q4_K/Q5_K against Q8_K: the mins term uses bsums
 * (two per 32-element sub-block). */
static float k4_dot_block(const int8_t *q, const int *sc, const int *m, tensor_half d,
                          tensor_half dmin, const block_q8_K *y) {
    int summ = 0;
    for (int j = 0; j < QK_K / 16; j++) summ += y->bsums[j] * m[j / 2];
    const int sumi = dot_groups32(q, y->qs, sc);
    return (F16(d) * y->d) * (float)sumi - (F16(dmin) * y->d) * (float)summ;
}

static void vec_dot_q4_k_q8_k(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int8_t q[QK_K];
        int sc[8], m[8];
        q4_k_unpack(&x[i], q, sc, m);
        sum += k4_dot_block(q, sc, m, x[i].d, x[i].dmin, &y[i]);
    }
    *s = sum;
}

static void vec_dot_q5_k_q8_k(int n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int8_t q[QK_K];
        int sc[8], m[8];
        q5_k_unpack(&x[i], q, sc, m);
        sum += k4_dot_block(q, sc, m, x[i].d, x[i].dmin, &y[i]);
    }
    *s = sum;
}

/* ---- Q6_K: 16 sub-blocks of 16, 6-bit codes, 8-bit signed scales ---- */

/* Element e = 128*h + 32*k + l: low nibble in ql[64*h + l + 32*(k%2)]
 * (high half when k >= 2), high 2 bits at bits 2k of qh[32*h + l]. */
static void q6_k_pack(const uint8_t *L, uint8_t *ql, uint8_t *qh) {
    for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
        for (int l = 0; l < 32; l++) {
            const uint8_t *c = L + j + l;
            ql[l] = (uint8_t)((c[0] & 0xf) | (c[64] & 0xf) << 4);
            ql[l + 32] = (uint8_t)((c[32] & 0xf) | (c[96] & 0xf) << 4);
            qh[l] = (uint8_t)((c[0] >> 4) | (c[32] >> 4) << 2 | (c[64] >> 4) << 4 | (c[96] >> 4) << 6);
        }
    }
}

static void q6_k_quantize_block(const float *x, block_q6_K *y) {
    int8_t L8[QK_K];
    uint8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < QK_K / 16; ib++) {
        scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L8 + 16 * ib);
        if (fabsf(scales[ib]) > max_abs_scale) {
            max_abs_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    if (max_abs_scale < GROUP_MAX_EPS) {
        memset(y, 0, sizeof *y);
        return;
    }
    const float iscale = -128.f / max_scale;
    y->d = tensor_f32_to_f16(1 / iscale);
    for (int ib = 0; ib < QK_K / 16; ib++)
        y->scales[ib] = (int8_t)imin(127, nearest_int(iscale * scales[ib]));
    for (int j = 0; j < QK_K / 16; j++) {
        const float d = F16(y->d) * y->scales[j];
        if (!d) continue;
        for (int ii = 0; ii < 16; ii++)
            L8[16 * j + ii] = (int8_t)(clamp(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
    }
    for (int e = 0; e < QK_K; e++) L[e] = (uint8_t)L8[e];
    q6_k_pack(L, y->ql, y->qh);
}

static void q6_k_from_float(const float *x, void *vy, int64_t n) {
    block_q6_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++) q6_k_quantize_block(x + i * QK_K, &y[i]);
}

/* Codes minus 32 (-32..31). */
static void q6_k_unpack(const block_q6_K *b, int8_t q[QK_K]) {
    for (int e = 0; e < QK_K; e++) {
        const int h = e / 128, k = (e / 32) % 4, l = e % 32;
        const int lo = (b->ql[64 * h + l + 32 * (k % 2)] >> (4 * (k / 2))) & 0xf;
        const int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;
        q[e] = (int8_t)((lo | hi << 4) - 32);
    }
}

static void q6_k_to_float(const void *vx, float *y, int64_t n) {
    const block_q6_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        int8_t q[QK_K];
        q6_k_unpack(&x[i], q);
        const float d = F16(x[i].d);
        for (int e = 0; e < QK_K; e++) y[e] = d * x[i].scales[e / 16] * q[e];
    }
}

static void vec_dot_q6_k_q8_k(int n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int8_t q[QK_K];
        int sc[16];
        q6_k_unpack(&x[i], q);
        for (int j = 0; j < 16; j++) sc[j] = x[i].scales[j];
        sum += (F16(x[i].d) * y[i].d) * (float)dot_groups16(q, y[i].qs, sc);
    }
    *s = sum;
}

/* ---- Q8_K: the activation type of the K-quants ---- */

/* iscale = -127/max, max the signed value of largest magnitude, so that
 * value maps to -127 exactly; codes round half to even (nearest_int). */
static void q8_k_from_float(const float *x, void *vy, int64_t n) {
    block_q8_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float amax;
        const float max = signed_absmax(x, QK_K, &amax);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) y[i].qs[j] = (int8_t)imin(127, nearest_int(iscale * x[j]));
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

static void q8_k_to_float(const void *vx, float *y, int64_t n) {
    const block_q8_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = x[i].d * x[i].qs[j];
}

static void vec_dot_q8_k_q8_k(int n, float *s, const void *vx, const void *vy) {
    const block_q8_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int j = 0; j < QK_K; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += (x[i].d * y[i].d) * (float)sumi;
    }
    *s = sum;
}

/* ---- IQ4_XS: IQ4_NL's table with 6-bit scales per 32 ---- */

static const int8_t KVALUES_IQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                         1, 13, 25, 38, 53, 69, 89, 113};

/* Table values, and the 8 sub-block scales minus 32. */
static void iq4_xs_unpack(const block_iq4_xs *b, int8_t q[QK_K], int sc[8]) {
    for (int ib = 0; ib < QK_K / 32; ib++) {
        const uint8_t *qs = b->qs + 16 * ib;
        for (int j = 0; j < 16; j++) {
            q[32 * ib + j] = KVALUES_IQ4NL[qs[j] & 0xf];
            q[32 * ib + j + 16] = KVALUES_IQ4NL[qs[j] >> 4];
        }
        const int lo = (b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf;
        const int hi = (b->scales_h >> (2 * ib)) & 3;
        sc[ib] = (lo | hi << 4) - 32;
    }
}

static void iq4_xs_to_float(const void *vx, float *y, int64_t n) {
    const block_iq4_xs *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        int8_t q[QK_K];
        int sc[8];
        iq4_xs_unpack(&x[i], q, sc);
        const float d = F16(x[i].d);
        for (int e = 0; e < QK_K; e++) y[e] = (d * sc[e / 32]) * q[e];
    }
}

static void vec_dot_iq4_xs_q8_k(int n, float *s, const void *vx, const void *vy) {
    const block_iq4_xs *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int8_t q[QK_K];
        int sc[8];
        iq4_xs_unpack(&x[i], q, sc);
        sum += (F16(x[i].d) * y[i].d) * (float)dot_groups32(q, y[i].qs, sc);
    }
    *s = sum;
}

/* ---- table ---- */

void tensor_kernels_scalar_k(tensor_kernels *k) {
    k->to_float[TENSOR_Q2_K] = q2_k_to_float;
    k->from_float[TENSOR_Q2_K] = q2_k_from_float;
    k->vec_dot[TENSOR_Q2_K] = vec_dot_q2_k_q8_k;
    k->to_float[TENSOR_Q3_K] = q3_k_to_float;
    k->from_float[TENSOR_Q3_K] = q3_k_from_float;
    k->vec_dot[TENSOR_Q3_K] = vec_dot_q3_k_q8_k;
    k->to_float[TENSOR_Q4_K] = q4_k_to_float;
    k->from_float[TENSOR_Q4_K] = q4_k_from_float;
    k->vec_dot[TENSOR_Q4_K] = vec_dot_q4_k_q8_k;
    k->to_float[TENSOR_Q5_K] = q5_k_to_float;
    k->from_float[TENSOR_Q5_K] = q5_k_from_float;
    k->vec_dot[TENSOR_Q5_K] = vec_dot_q5_k_q8_k;
    k->to_float[TENSOR_Q6_K] = q6_k_to_float;
    k->from_float[TENSOR_Q6_K] = q6_k_from_float;
    k->vec_dot[TENSOR_Q6_K] = vec_dot_q6_k_q8_k;
    k->to_float[TENSOR_Q8_K] = q8_k_to_float;
    k->from_float[TENSOR_Q8_K] = q8_k_from_float;
    k->vec_dot[TENSOR_Q8_K] = vec_dot_q8_k_q8_k;
    k->to_float[TENSOR_IQ4_XS] = iq4_xs_to_float;
    k->vec_dot[TENSOR_IQ4_XS] = vec_dot_iq4_xs_q8_k;
}

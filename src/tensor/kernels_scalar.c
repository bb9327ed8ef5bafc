/* tensor: scalar reference kernels (dequantize, quantize, vec_dot) for the
 * float types and the 32-element block types. The K-quants live in
 * kernels_scalar_k.c.
 *
 * Every function reproduces ggml's reference code (quantize_row_*_ref,
 * dequantize_row_*, ggml_vec_dot_*_generic) down to the order of float
 * operations, so results are bit-identical to ggml built without FMA
 * contraction. The dot products sum integers per block and apply the float
 * scales once per block, so SIMD versions can match them to float rounding. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "tensor/quants.h"

/* Installs the K-quant kernels (kernels_scalar_k.c). */
void tensor_kernels_scalar_k(tensor_kernels *k);

#define F16(h) tensor_f16_to_f32(h)

/* ---- F32, F16, BF16 ---- */

static void f32_to_float(const void *src, float *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f32_from_float(const float *src, void *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = tensor_f16_to_f32(h[i]);
}

static void f16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = tensor_f32_to_f16(src[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = tensor_bf16_to_f32(h[i]);
}

static void bf16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = tensor_f32_to_bf16(src[i]);
}

static void vec_dot_f32(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += x[i] * y[i];
    *s = sum;
}

static void vec_dot_f16(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += F16(x[i]) * F16(y[i]);
    *s = sum;
}

static void vec_dot_bf16(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += tensor_bf16_to_f32(x[i]) * tensor_bf16_to_f32(y[i]);
    *s = sum;
}

/* ---- shared helpers of the 32-element formats ---- */

/* Largest |v| of a block, and v itself: the *_0 formats put the extreme
 * value at code 0 so its sign picks the direction of the scale. */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, int n, float *min, float *max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

static float absmax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        amax = amax > a ? amax : a;
    }
    return amax;
}

static inline int min_int(int a, int b) { return a < b ? a : b; }

/* The 5th bits of a Q5 block: bit j of qh is element j's. */
static uint32_t load_qh(const uint8_t qh[4]) {
    uint32_t v;
    memcpy(&v, qh, 4);
    return v;
}

/* ---- Q4_0 ---- */

static void q4_0_from_float(const float *x, void *vy, int64_t n) {
    block_q4_0 *y = vy;
    for (int64_t i = 0; i < n / QK4_0; i++, x += QK4_0) {
        const float d = signed_absmax(x, QK4_0) / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tensor_f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            /* ggml truncates x*id + 8.5 rather than rounding x*id. */
            int q0 = min_int(15, (int)(x[j] * id + 8.5f));
            int q1 = min_int(15, (int)(x[j + QK4_0 / 2] * id + 8.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void q4_0_to_float(const void *vx, float *y, int64_t n) {
    const block_q4_0 *x = vx;
    for (int64_t i = 0; i < n / QK4_0; i++, y += QK4_0) {
        const float d = F16(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = ((x[i].qs[j] & 0x0f) - 8) * d;
            y[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK4_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            sumi += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + QK4_0 / 2];
        }
        sum += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    *s = sum;
}

/* ---- Q4_1 ---- */

static void q4_1_from_float(const float *x, void *vy, int64_t n) {
    block_q4_1 *y = vy;
    for (int64_t i = 0; i < n / QK4_1; i++, x += QK4_1) {
        float min, max;
        min_max(x, QK4_1, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tensor_f32_to_f16(d);
        y[i].m = tensor_f32_to_f16(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            int q0 = min_int(15, (int)((x[j] - min) * id + 0.5f));
            int q1 = min_int(15, (int)((x[j + QK4_1 / 2] - min) * id + 0.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void q4_1_to_float(const void *vx, float *y, int64_t n) {
    const block_q4_1 *x = vx;
    for (int64_t i = 0; i < n / QK4_1; i++, y += QK4_1) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = (x[i].qs[j] & 0x0f) * d + m;
            y[j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

/* Q8_1's s = d * sum(qs) folds the weight block's offset m into one
 * product per block. */
static void vec_dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK4_1; i++) {
        int sumi = 0;
        for (int j = 0; j < QK4_1 / 2; j++) {
            sumi += (x[i].qs[j] & 0x0f) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + QK4_1 / 2];
        }
        sum += (F16(x[i].d) * F16(y[i].d)) * (float)sumi + F16(x[i].m) * F16(y[i].s);
    }
    *s = sum;
}

/* ---- Q5_0 ---- */

static void pack_q5(const uint8_t *q, uint8_t qs[16], uint8_t qh_out[4]) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
        qh |= (uint32_t)((q[j] >> 4) & 1) << j;
        qh |= (uint32_t)((q[j + 16] >> 4) & 1) << (j + 16);
    }
    memcpy(qh_out, &qh, 4);
}

/* Unpacks the 5-bit codes (0..31) of a Q5 block. */
static void unpack_q5(const uint8_t qs[16], const uint8_t qh_in[4], int q[32]) {
    const uint32_t qh = load_qh(qh_in);
    for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0x0f) | (int)(((qh >> j) & 1) << 4);
        q[j + 16] = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
    }
}

static void q5_0_from_float(const float *x, void *vy, int64_t n) {
    block_q5_0 *y = vy;
    for (int64_t i = 0; i < n / QK5_0; i++, x += QK5_0) {
        const float d = signed_absmax(x, QK5_0) / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tensor_f32_to_f16(d);
        uint8_t q[QK5_0];
        for (int j = 0; j < QK5_0; j++) q[j] = (uint8_t)min_int(31, (int)(x[j] * id + 16.5f));
        pack_q5(q, y[i].qs, y[i].qh);
    }
}

static void q5_0_to_float(const void *vx, float *y, int64_t n) {
    const block_q5_0 *x = vx;
    for (int64_t i = 0; i < n / QK5_0; i++, y += QK5_0) {
        const float d = F16(x[i].d);
        int q[QK5_0];
        unpack_q5(x[i].qs, x[i].qh, q);
        for (int j = 0; j < QK5_0; j++) y[j] = (q[j] - 16) * d;
    }
}

static void vec_dot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK5_0; i++) {
        int q[QK5_0], sumi = 0;
        unpack_q5(x[i].qs, x[i].qh, q);
        for (int j = 0; j < QK5_0; j++) sumi += (q[j] - 16) * y[i].qs[j];
        sum += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    *s = sum;
}

/* ---- Q5_1 ---- */

static void q5_1_from_float(const float *x, void *vy, int64_t n) {
    block_q5_1 *y = vy;
    for (int64_t i = 0; i < n / QK5_1; i++, x += QK5_1) {
        float min, max;
        min_max(x, QK5_1, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tensor_f32_to_f16(d);
        y[i].m = tensor_f32_to_f16(min);
        uint8_t q[QK5_1];
        for (int j = 0; j < QK5_1; j++) q[j] = (uint8_t)min_int(31, (int)((x[j] - min) * id + 0.5f));
        pack_q5(q, y[i].qs, y[i].qh);
    }
}

static void q5_1_to_float(const void *vx, float *y, int64_t n) {
    const block_q5_1 *x = vx;
    for (int64_t i = 0; i < n / QK5_1; i++, y += QK5_1) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        int q[QK5_1];
        unpack_q5(x[i].qs, x[i].qh, q);
        for (int j = 0; j < QK5_1; j++) y[j] = q[j] * d + m;
    }
}

static void vec_dot_q5_1_q8_1(int n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK5_1; i++) {
        int q[QK5_1], sumi = 0;
        unpack_q5(x[i].qs, x[i].qh, q);
        for (int j = 0; j < QK5_1; j++) sumi += q[j] * y[i].qs[j];
        sum += (F16(x[i].d) * F16(y[i].d)) * (float)sumi + F16(x[i].m) * F16(y[i].s);
    }
    *s = sum;
}

/* ---- Q8_0 and Q8_1 (also the activation types) ---- */

/* d = amax/127 and q = roundf(x * (1/d)) (halves away from zero), as
 * ggml's reference quantizer; returns sum(q) for Q8_1. */
static int quantize_q8_block(const float *x, int8_t *qs, float *d_out) {
    const float d = absmax(x, 32) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        qs[j] = (int8_t)roundf(x[j] * id);
        sum += qs[j];
    }
    *d_out = d;
    return sum;
}

static void q8_0_from_float(const float *x, void *vy, int64_t n) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        float d;
        quantize_q8_block(x, y[i].qs, &d);
        y[i].d = tensor_f32_to_f16(d);
    }
}

static void q8_0_to_float(const void *vx, float *y, int64_t n) {
    const block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
        const float d = F16(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[j] = x[i].qs[j] * d;
    }
}

static void vec_dot_q8_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    *s = sum;
}

static void q8_1_from_float(const float *x, void *vy, int64_t n) {
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
        float d;
        int sum = quantize_q8_block(x, y[i].qs, &d);
        y[i].d = tensor_f32_to_f16(d);
        y[i].s = tensor_f32_to_f16((float)sum * d);
    }
}

static void q8_1_to_float(const void *vx, float *y, int64_t n) {
    const block_q8_1 *x = vx;
    for (int64_t i = 0; i < n / QK8_1; i++, y += QK8_1) {
        const float d = F16(x[i].d);
        for (int j = 0; j < QK8_1; j++) y[j] = x[i].qs[j] * d;
    }
}

static void vec_dot_q8_1_q8_1(int n, float *s, const void *vx, const void *vy) {
    const block_q8_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_1; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_1; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    *s = sum;
}

/* ---- IQ4_NL: 4-bit indices into a non-linear table ---- */

static const int8_t KVALUES_IQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                         1, 13, 25, 38, 53, 69, 89, 113};

static void iq4_nl_to_float(const void *vx, float *y, int64_t n) {
    const block_iq4_nl *x = vx;
    for (int64_t i = 0; i < n / QK4_NL; i++, y += QK4_NL) {
        const float d = F16(x[i].d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            y[j] = d * KVALUES_IQ4NL[x[i].qs[j] & 0x0f];
            y[j + QK4_NL / 2] = d * KVALUES_IQ4NL[x[i].qs[j] >> 4];
        }
    }
}

static void vec_dot_iq4_nl_q8_0(int n, float *s, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK4_NL; i++) {
        int sumi = 0;
        for (int j = 0; j < QK4_NL / 2; j++) {
            sumi += y[i].qs[j] * KVALUES_IQ4NL[x[i].qs[j] & 0x0f];
            sumi += y[i].qs[j + QK4_NL / 2] * KVALUES_IQ4NL[x[i].qs[j] >> 4];
        }
        sum += (F16(y[i].d) * F16(x[i].d)) * (float)sumi;
    }
    *s = sum;
}

/* ---- MXFP4: e2m1 values with a shared power-of-two exponent ---- */

/* e2m1 magnitudes doubled (so they are integers); the scale is halved. */
static const int8_t KVALUES_MXFP4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* 2^(e - 128): half of the E8M0 scale, to undo the doubled table. */
static float e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Nearest table entry by absolute error; the first one wins ties. */
static int mxfp4_best_index(float x, float d) {
    int best = 0;
    float best_err = fabsf(KVALUES_MXFP4[0] * d - x);
    for (int i = 1; i < 16; i++) {
        float err = fabsf(KVALUES_MXFP4[i] * d - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return best;
}

static void mxfp4_from_float(const float *x, void *vy, int64_t n) {
    block_mxfp4 *y = vy;
    for (int64_t i = 0; i < n / QK_MXFP4; i++, x += QK_MXFP4) {
        const float amax = absmax(x, QK_MXFP4);
        /* The largest magnitude 6 = 1.5 * 2^2 sits in the top binade. The
         * clamp only matters for denormal blocks, where ggml's cast is UB. */
        float ef = amax > 0.0f ? floorf(log2f(amax)) - 2 + 127 : 0.0f;
        const uint8_t e = (uint8_t)(ef < 0.0f ? 0.0f : ef > 254.0f ? 254.0f : ef);
        const float d = e8m0_half(e);
        y[i].e = e;
        for (int j = 0; j < QK_MXFP4 / 2; j++) {
            int q0 = mxfp4_best_index(x[j], d);
            int q1 = mxfp4_best_index(x[j + QK_MXFP4 / 2], d);
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void mxfp4_to_float(const void *vx, float *y, int64_t n) {
    const block_mxfp4 *x = vx;
    for (int64_t i = 0; i < n / QK_MXFP4; i++, y += QK_MXFP4) {
        const float d = e8m0_half(x[i].e);
        for (int j = 0; j < QK_MXFP4 / 2; j++) {
            y[j] = KVALUES_MXFP4[x[i].qs[j] & 0x0f] * d;
            y[j + QK_MXFP4 / 2] = KVALUES_MXFP4[x[i].qs[j] >> 4] * d;
        }
    }
}

static void vec_dot_mxfp4_q8_0(int n, float *s, const void *vx, const void *vy) {
    const block_mxfp4 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK_MXFP4; i++) {
        int sumi = 0;
        for (int j = 0; j < QK_MXFP4 / 2; j++) {
            sumi += y[i].qs[j] * KVALUES_MXFP4[x[i].qs[j] & 0x0f];
            sumi += y[i].qs[j + QK_MXFP4 / 2] * KVALUES_MXFP4[x[i].qs[j] >> 4];
        }
        sum += (F16(y[i].d) * e8m0_half(x[i].e)) * (float)sumi;
    }
    *s = sum;
}

/* ---- table ---- */

static void set(tensor_kernels *k, enum tensor_type t, tensor_to_float_fn to,
                tensor_from_float_fn from, tensor_vec_dot_fn dot) {
    k->to_float[t] = to;
    k->from_float[t] = from;
    k->vec_dot[t] = dot;
}

void tensor_kernels_scalar(tensor_kernels *k) {
    tensor_vecops_scalar(&k->ops);
    set(k, TENSOR_F32, f32_to_float, f32_from_float, vec_dot_f32);
    set(k, TENSOR_F16, f16_to_float, f16_from_float, vec_dot_f16);
    set(k, TENSOR_BF16, bf16_to_float, bf16_from_float, vec_dot_bf16);
    set(k, TENSOR_Q4_0, q4_0_to_float, q4_0_from_float, vec_dot_q4_0_q8_0);
    set(k, TENSOR_Q4_1, q4_1_to_float, q4_1_from_float, vec_dot_q4_1_q8_1);
    set(k, TENSOR_Q5_0, q5_0_to_float, q5_0_from_float, vec_dot_q5_0_q8_0);
    set(k, TENSOR_Q5_1, q5_1_to_float, q5_1_from_float, vec_dot_q5_1_q8_1);
    set(k, TENSOR_Q8_0, q8_0_to_float, q8_0_from_float, vec_dot_q8_0_q8_0);
    set(k, TENSOR_Q8_1, q8_1_to_float, q8_1_from_float, vec_dot_q8_1_q8_1);
    set(k, TENSOR_IQ4_NL, iq4_nl_to_float, NULL, vec_dot_iq4_nl_q8_0);
    set(k, TENSOR_MXFP4, mxfp4_to_float, mxfp4_from_float, vec_dot_mxfp4_q8_0);
    tensor_kernels_scalar_k(k);
}

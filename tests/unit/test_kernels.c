/* tensor kernels: every ISA kernel (AVX2, AVX-512 where the CPU has it)
 * against the scalar reference and against this file's own reference (a
 * plain dequantize-then-dot in double, and the activation quantizers as ggml
 * defines them), on random valid blocks, unaligned rows and odd lengths. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tensor/quants.h"
#include "tensor/tensor.h"

/* ---- random data ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) { return (uint32_t)(check_xorshift(&rng_state) >> 16); }
static float rnd_unit(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; } /* [-1, 1) */

/* A small normal half: magnitude in [2^-10, 2^-6), random sign. */
static tensor_half rnd_scale(void) {
    float v = ldexpf(1.0f + (float)(rnd() % 1024) / 1024.0f, -10 + (int)(rnd() % 4));
    return tensor_f32_to_f16(rnd() & 1 ? -v : v);
}

static void set_half(uint8_t *p, tensor_half h) { memcpy(p, &h, 2); }

/* Random bytes for the quants; valid halves where the block has scales. */
static void fill_weights(enum tensor_type t, uint8_t *buf, int n) {
    const tensor_traits *tr = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
    size_t nb = (size_t)n / (size_t)tr->blck_size, bytes = nb * tr->type_size;
    for (size_t i = 0; i < bytes; i++) buf[i] = (uint8_t)rnd();
    for (size_t b = 0; b < nb; b++) {
        uint8_t *p = buf + b * tr->type_size;
        switch (t) {
        case TENSOR_Q4_1: case TENSOR_Q5_1:
            set_half(p + 2, rnd_scale()); /* m */
            /* fall through */
        case TENSOR_Q4_0: case TENSOR_Q5_0: case TENSOR_Q8_0:
            set_half(p, rnd_scale());
            break;
        case TENSOR_Q2_K:
            set_half(p + offsetof(block_q2_K, d), rnd_scale());
            set_half(p + offsetof(block_q2_K, dmin), rnd_scale());
            break;
        case TENSOR_Q3_K: set_half(p + offsetof(block_q3_K, d), rnd_scale()); break;
        case TENSOR_Q4_K: case TENSOR_Q5_K:
            set_half(p, rnd_scale());
            set_half(p + 2, rnd_scale());
            break;
        case TENSOR_Q6_K: set_half(p + offsetof(block_q6_K, d), rnd_scale()); break;
        case TENSOR_IQ4_NL: case TENSOR_IQ4_XS: set_half(p, rnd_scale()); break;
        case TENSOR_MXFP4: p[0] = (uint8_t)(118 + rnd() % 12); break; /* 2^-10 .. 2^1 */
        case TENSOR_F16: set_half(p, tensor_f32_to_f16(rnd_unit())); break;
        case TENSOR_BF16: { uint16_t h = tensor_f32_to_bf16(rnd_unit()); memcpy(p, &h, 2); break; }
        case TENSOR_F32: { float f = rnd_unit(); memcpy(p, &f, 4); break; }
        default: break;
        }
    }
}

static void fill_floats(float *x, int n, float scale) {
    for (int i = 0; i < n; i++) x[i] = rnd_unit() * scale;
}

/* ---- reference quantizers: ggml's definitions ---- */

static float f16(tensor_half h) { return tensor_f16_to_f32(h); }

/* Q8_0/Q8_1 as ggml's x86 code computes them: d = amax/127, quants the
 * nearest-even integer of x * (127/amax). */
static void ref_quantize_q8_01(const float *x, void *vy, int n, bool q8_1) {
    for (int b = 0; b < n / 32; b++, x += 32) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int8_t *qs = q8_1 ? ((block_q8_1 *)vy)[b].qs : ((block_q8_0 *)vy)[b].qs;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            qs[j] = (int8_t)nearbyintf(x[j] * id);
            sum += qs[j];
        }
        if (q8_1) {
            ((block_q8_1 *)vy)[b].d = tensor_f32_to_f16(d);
            ((block_q8_1 *)vy)[b].s = tensor_f32_to_f16((float)sum * d);
        } else {
            ((block_q8_0 *)vy)[b].d = tensor_f32_to_f16(d);
        }
    }
}

static void ref_quantize_q8_K(const float *x, block_q8_K *y, int n) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        memset(&y[b], 0, sizeof(y[b]));
        if (amax == 0) continue;
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = (int)nearbyintf(iscale * x[j]);
            y[b].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += y[b].qs[16 * g + j];
            y[b].bsums[g] = (int16_t)s;
        }
        y[b].d = 1 / iscale;
    }
}

static void ref_quantize(enum tensor_type t, const float *x, void *y, int n) {
    switch (t) {
    case TENSOR_Q8_0: ref_quantize_q8_01(x, y, n, false); break;
    case TENSOR_Q8_1: ref_quantize_q8_01(x, y, n, true); break;
    case TENSOR_Q8_K: ref_quantize_q8_K(x, y, n); break;
    case TENSOR_F16: for (int i = 0; i < n; i++) ((tensor_half *)y)[i] = tensor_f32_to_f16(x[i]); break;
    case TENSOR_BF16: for (int i = 0; i < n; i++) ((uint16_t *)y)[i] = tensor_f32_to_bf16(x[i]); break;
    case TENSOR_F32: memcpy(y, x, (size_t)n * 4); break;
    default: abort();
    }
}

/* ---- reference dequantizers (ggml's order of operations) ---- */

static void k4_scale_min(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static int q3k_scale(const uint8_t *b, int s) {
    int lo = s < 8 ? b[s] & 0xF : b[s - 8] >> 4;
    int hi = (b[8 + s % 4] >> (2 * (s / 4))) & 3;
    return (lo | hi << 4) - 32;
}

/* The m of Q4_1/Q5_1 is left out (ms gets sum over blocks of m * y.s). */
static void ref_dequant_legacy(enum tensor_type t, const uint8_t *p, float *y) {
    switch (t) {
    case TENSOR_Q4_0: case TENSOR_Q4_1: {
        const uint8_t *qs = p + (t == TENSOR_Q4_0 ? 2 : 4);
        const float d = f16(*(const tensor_half *)p);
        const int off = t == TENSOR_Q4_0 ? 8 : 0;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((qs[j] & 0xF) - off) * d;
            y[j + 16] = (float)((qs[j] >> 4) - off) * d;
        }
        break;
    }
    case TENSOR_Q5_0: case TENSOR_Q5_1: {
        const int hdr = t == TENSOR_Q5_0 ? 2 : 4, off = t == TENSOR_Q5_0 ? 16 : 0;
        uint32_t qh;
        memcpy(&qh, p + hdr, 4);
        const uint8_t *qs = p + hdr + 4;
        const float d = f16(*(const tensor_half *)p);
        for (int j = 0; j < 16; j++) {
            int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            y[j] = (float)(((qs[j] & 0xF) | h0) - off) * d;
            y[j + 16] = (float)(((qs[j] >> 4) | h1) - off) * d;
        }
        break;
    }
    case TENSOR_Q8_0: {
        const block_q8_0 *b = (const block_q8_0 *)p;
        for (int j = 0; j < 32; j++) y[j] = (float)b->qs[j] * f16(b->d);
        break;
    }
    default: abort();
    }
}

static void ref_dequant_q2_K(const block_q2_K *x, float *y) {
    const float d = f16(x->d), min = f16(x->dmin);
    const uint8_t *q = x->qs;
    int is = 0;
    for (int n = 0; n < QK_K; n += 128, q += 32)
        for (int shift = 0; shift < 8; shift += 2)
            for (int half = 0; half < 2; half++) {
                const int sc = x->scales[is++];
                const float dl = d * (float)(sc & 0xF), ml = min * (float)(sc >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
            }
}

static void ref_dequant_q3_K(const block_q3_K *x, float *y) {
    const float d = f16(x->d);
    const uint8_t *q = x->qs;
    int is = 0, m = 1;
    for (int n = 0; n < QK_K; n += 128, q += 32)
        for (int shift = 0; shift < 8; shift += 2, m <<= 1)
            for (int half = 0; half < 2; half++) {
                const float dl = d * (float)q3k_scale(x->scales, is++);
                for (int l = 16 * half; l < 16 * half + 16; l++)
                    *y++ = dl * (float)(((q[l] >> shift) & 3) - ((x->hmask[l] & m) ? 0 : 4));
            }
}

static void ref_dequant_q45_K(const uint8_t *scales, tensor_half dh, tensor_half mh, const uint8_t *ql,
                              const uint8_t *qh, float *y) {
    const float d = f16(dh), min = f16(mh);
    for (int j = 0; j < 4; j++, ql += 32) {
        for (int half = 0; half < 2; half++) {
            int sc, m;
            k4_scale_min(2 * j + half, scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = min * (float)m;
            for (int l = 0; l < 32; l++) {
                int q = half ? ql[l] >> 4 : ql[l] & 0xF;
                if (qh && (qh[l] >> (2 * j + half) & 1)) q += 16;
                *y++ = d1 * (float)q - m1;
            }
        }
    }
}

static const int8_t IQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static void ref_dequant_iq4_xs(const block_iq4_xs *x, float *y) {
    const float d = f16(x->d);
    for (int ib = 0; ib < QK_K / 32; ib++, y += 32) {
        const int ls = ((x->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((x->scales_h >> (2 * ib)) & 3) << 4);
        const float dl = d * (float)(ls - 32);
        for (int j = 0; j < 16; j++) {
            y[j] = dl * (float)IQ4NL[x->qs[16 * ib + j] & 0xF];
            y[j + 16] = dl * (float)IQ4NL[x->qs[16 * ib + j] >> 4];
        }
    }
}

/* MXFP4: e2m1 values times 2^(e - 127). */
static void ref_dequant_mxfp4(const block_mxfp4 *x, float *y) {
    static const float values[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
    const float d = ldexpf(1.0f, (int)x->e - 127);
    for (int j = 0; j < 16; j++) {
        y[j] = values[x->qs[j] & 0xF] * d;
        y[j + 16] = values[x->qs[j] >> 4] * d;
    }
}

static void ref_dequant_q6_K(const block_q6_K *x, float *y) {
    const float d = f16(x->d);
    for (int h = 0; h < 2; h++, y += 128) {
        const uint8_t *ql = x->ql + 64 * h, *qh = x->qh + 32 * h;
        const int8_t *sc = x->scales + 8 * h;
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0 & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2 & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
    }
}

/* Dequantizes a row; for Q4_1/Q5_1 without m. */
static void ref_dequant(enum tensor_type t, const void *vx, float *y, int n) {
    const uint8_t *p = vx;
    const tensor_traits *tr = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
    for (int b = 0; b < n / tr->blck_size; b++) {
        const uint8_t *blk = p + (size_t)b * tr->type_size;
        float *o = y + (size_t)b * (size_t)tr->blck_size;
        switch (t) {
        case TENSOR_F32: memcpy(o, blk, 4); break;
        case TENSOR_F16: *o = f16(*(const tensor_half *)blk); break;
        case TENSOR_BF16: *o = tensor_bf16_to_f32(*(const uint16_t *)blk); break;
        case TENSOR_Q8_1: {
            const block_q8_1 *q = (const block_q8_1 *)blk;
            for (int j = 0; j < 32; j++) o[j] = (float)q->qs[j] * f16(q->d);
            break;
        }
        case TENSOR_Q8_K: {
            const block_q8_K *q = (const block_q8_K *)blk;
            for (int j = 0; j < QK_K; j++) o[j] = (float)q->qs[j] * q->d;
            break;
        }
        case TENSOR_Q2_K: ref_dequant_q2_K((const block_q2_K *)blk, o); break;
        case TENSOR_Q3_K: ref_dequant_q3_K((const block_q3_K *)blk, o); break;
        case TENSOR_Q4_K: {
            const block_q4_K *q = (const block_q4_K *)blk;
            ref_dequant_q45_K(q->scales, q->d, q->dmin, q->qs, NULL, o);
            break;
        }
        case TENSOR_Q5_K: {
            const block_q5_K *q = (const block_q5_K *)blk;
            ref_dequant_q45_K(q->scales, q->d, q->dmin, q->qs, q->qh, o);
            break;
        }
        case TENSOR_Q6_K: ref_dequant_q6_K((const block_q6_K *)blk, o); break;
        case TENSOR_IQ4_XS: ref_dequant_iq4_xs((const block_iq4_xs *)blk, o); break;
        case TENSOR_MXFP4: ref_dequant_mxfp4((const block_mxfp4 *)blk, o); break;
        case TENSOR_IQ4_NL: {
            const block_iq4_nl *q = (const block_iq4_nl *)blk;
            for (int j = 0; j < 16; j++) {
                o[j] = f16(q->d) * (float)IQ4NL[q->qs[j] & 0xF];
                o[j + 16] = f16(q->d) * (float)IQ4NL[q->qs[j] >> 4];
            }
            break;
        }
        default: ref_dequant_legacy(t, blk, o); break;
        }
    }
}

/* sum over blocks of m * s for the types whose activations carry s. */
static double ref_ms(enum tensor_type t, const void *vx, const void *vy, int n, double *abs_sum) {
    if (t != TENSOR_Q4_1 && t != TENSOR_Q5_1) return 0;
    const size_t xs = t == TENSOR_Q4_1 ? sizeof(block_q4_1) : sizeof(block_q5_1);
    double s = 0;
    for (int b = 0; b < n / 32; b++) {
        tensor_half m;
        memcpy(&m, (const uint8_t *)vx + (size_t)b * xs + 2, 2);
        double v = (double)f16(m) * f16(((const block_q8_1 *)vy)[b].s);
        s += v;
        *abs_sum += fabs(v);
    }
    return s;
}

/* ---- the checks ---- */

static const enum tensor_type WEIGHT_TYPES[] = {
    TENSOR_Q8_0, TENSOR_Q4_0, TENSOR_Q4_1, TENSOR_Q5_0, TENSOR_Q5_1, TENSOR_Q2_K, TENSOR_Q3_K,
    TENSOR_Q4_K, TENSOR_Q5_K, TENSOR_Q6_K, TENSOR_IQ4_NL, TENSOR_IQ4_XS, TENSOR_MXFP4,
    TENSOR_F16, TENSOR_BF16, TENSOR_F32,
};

/* Buffers are offset from malloc's alignment: GGUF rows are only 2-byte
 * aligned (4 for F32 and Q8_K). */
static void *alloc_off(size_t n, size_t off, void **base) {
    *base = calloc(1, n + 64);
    return (uint8_t *)*base + off;
}

static double max_rel_err;

/* Whether level isa has its own kernel (not the one it inherits). */
static bool own_vec_dot(enum tensor_type t, int isa) {
    const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
    return tr->vec_dot && tr->vec_dot != tensor_get_traits_isa(t, (enum tensor_isa)(isa - 1))->vec_dot;
}
static bool own_from_float(enum tensor_type t, int isa) {
    const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
    return tr->from_float && tr->from_float != tensor_get_traits_isa(t, (enum tensor_isa)(isa - 1))->from_float;
}
static bool own_to_float(enum tensor_type t, int isa) {
    const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
    return tr->to_float && tr->to_float != tensor_get_traits_isa(t, (enum tensor_isa)(isa - 1))->to_float;
}

/* dot(x, y) in double from the reference dequantizers; abs_sum gets
 * sum |x*y|, the scale of the tolerances. xf, yf: n floats of scratch. */
static double ref_dot(enum tensor_type t, const void *x, const void *y, int n, float *xf, float *yf,
                      double *abs_sum) {
    ref_dequant(t, x, xf, n);
    ref_dequant(tensor_get_traits_isa(t, TENSOR_ISA_SCALAR)->vec_dot_type, y, yf, n);
    double want = 0;
    *abs_sum = 0;
    for (int i = 0; i < n; i++) {
        want += (double)xf[i] * yf[i];
        *abs_sum += fabs((double)xf[i] * yf[i]);
    }
    return want + ref_ms(t, x, y, n, abs_sum);
}

static void check_vec_dot(enum tensor_type t, int n) {
    const tensor_traits *ref = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
    const enum tensor_type yt = ref->vec_dot_type;
    const size_t xoff = t == TENSOR_F32 ? 4 : 2, yoff = (yt == TENSOR_F32 || yt == TENSOR_Q8_K) ? 4 : 2;
    void *xb, *yb;
    uint8_t *x = alloc_off(tensor_row_size(t, n), xoff, &xb);
    uint8_t *y = alloc_off(tensor_row_size(yt, n), yoff, &yb);
    float *xf = malloc((size_t)n * sizeof(float)), *yf = malloc((size_t)n * sizeof(float));

    fill_weights(t, x, n);
    fill_floats(yf, n, rnd() & 1 ? 1.0f : 30.0f);
    ref_quantize(yt, yf, y, n);
    double abs_sum;
    const double want = ref_dot(t, x, y, n, xf, yf, &abs_sum);
    const double tol = 1e-5 * abs_sum + 1e-30;

    float scalar = 0;
    if (ref->vec_dot) {
        ref->vec_dot(n, &scalar, x, y);
        CHECK_MSG(fabs(scalar - want) <= tol, "%s scalar n=%d: %.9g vs ref %.9g", ref->name, n, scalar, want);
    }
    for (int isa = TENSOR_ISA_AVX2; isa <= (int)tensor_isa_detected(); isa++) {
        const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
        if (!own_vec_dot(t, isa)) continue;
        float got = 0;
        tr->vec_dot(n, &got, x, y);
        double err = fabs(got - want) / (abs_sum + 1e-30);
        if (err > max_rel_err) max_rel_err = err;
        CHECK_MSG(fabs(got - want) <= tol, "%s %s n=%d: %.9g vs ref %.9g", tr->name,
                  tensor_isa_name((enum tensor_isa)isa), n, got, want);
        if (ref->vec_dot)
            CHECK_MSG(fabs(got - scalar) <= tol, "%s %s n=%d: %.9g vs scalar %.9g", tr->name,
                      tensor_isa_name((enum tensor_isa)isa), n, got, scalar);
    }
    free(xb); free(yb); free(xf); free(yf);
}

static void test_vec_dot(void) {
    static const int quant_blocks[] = {1, 2, 7, 33};
    static const int float_lens[] = {1, 7, 8, 16, 31, 32, 33, 100, 257, 4099};
    for (size_t ti = 0; ti < sizeof(WEIGHT_TYPES) / sizeof(WEIGHT_TYPES[0]); ti++) {
        const enum tensor_type t = WEIGHT_TYPES[ti];
        const tensor_traits *tr = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
        for (int trial = 0; trial < 3; trial++) {
            if (tr->is_quantized)
                for (size_t k = 0; k < sizeof(quant_blocks) / sizeof(int); k++)
                    check_vec_dot(t, quant_blocks[k] * tr->blck_size);
            else
                for (size_t k = 0; k < sizeof(float_lens) / sizeof(int); k++) check_vec_dot(t, float_lens[k]);
        }
    }
}

/* ---- gemm tiles: every output against the reference dot of its pair ---- */

static bool own_gemm(enum tensor_type t, int isa) {
    const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
    return tr->gemm && tr->gemm != tensor_get_traits_isa(t, (enum tensor_isa)(isa - 1))->gemm;
}

static int gemm_tiles;

/* nr weight rows by nc activation rows, both with padded strides and only
 * 2-byte aligned (4 for F32 and Q8_K), into an output of stride nr + pad
 * whose other entries must stay untouched. */
static void check_gemm(enum tensor_type t, int n, int nr, int nc) {
    const enum tensor_type yt = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR)->vec_dot_type;
    const size_t xa = t == TENSOR_F32 ? 4 : 2, ya = (yt == TENSOR_F32 || yt == TENSOR_Q8_K) ? 4 : 2;
    const size_t xs = tensor_row_size(t, n) + xa * (rnd() % 3), ys = tensor_row_size(yt, n) + ya * (rnd() % 3);
    const size_t ss = (size_t)nr + rnd() % 3;
    void *xb, *yb;
    uint8_t *x = alloc_off(xs * (size_t)nr, xa, &xb), *y = alloc_off(ys * (size_t)nc, ya, &yb);
    float *xf = malloc((size_t)n * sizeof(float)), *yf = malloc((size_t)n * sizeof(float));
    float *s = malloc(ss * (size_t)nc * sizeof(float));
    double *want = malloc(sizeof(double) * (size_t)(nr * nc)), *tol = malloc(sizeof(double) * (size_t)(nr * nc));
    for (int r = 0; r < nr; r++) fill_weights(t, x + (size_t)r * xs, n);
    for (int c = 0; c < nc; c++) {
        fill_floats(yf, n, rnd() & 1 ? 1.0f : 30.0f);
        ref_quantize(yt, yf, y + (size_t)c * ys, n);
    }
    for (int c = 0; c < nc; c++)
        for (int r = 0; r < nr; r++) {
            double abs_sum;
            want[c * nr + r] = ref_dot(t, x + (size_t)r * xs, y + (size_t)c * ys, n, xf, yf, &abs_sum);
            tol[c * nr + r] = 1e-5 * abs_sum + 1e-30;
        }
    for (int isa = TENSOR_ISA_AVX2; isa <= (int)tensor_isa_detected(); isa++) {
        if (!own_gemm(t, isa)) continue;
        const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
        for (size_t i = 0; i < ss * (size_t)nc; i++) s[i] = NAN;
        tr->gemm(n, s, ss, x, xs, y, ys, nr, nc);
        bool ok = true, clean = true;
        for (int c = 0; c < nc; c++)
            for (size_t r = 0; r < ss; r++) {
                const float got = s[(size_t)c * ss + r];
                if (r >= (size_t)nr) {
                    clean = clean && isnan(got);
                } else if (!(fabs(got - want[c * nr + (int)r]) <= tol[c * nr + (int)r])) {
                    if (ok) fprintf(stderr, "  r=%zu c=%d: %.9g vs ref %.9g\n", r, c, got, want[c * nr + (int)r]);
                    ok = false;
                }
            }
        CHECK_MSG(ok, "%s %s gemm n=%d nr=%d nc=%d", tr->name, tensor_isa_name((enum tensor_isa)isa), n, nr, nc);
        /* Bit for bit what the pair gets alone (the single-column path):
         * matmul relies on it for decode to equal prefill. */
        bool same = true;
        for (int c = 0; c < nc; c++)
            for (int r = 0; r < nr; r++) {
                float one = NAN;
                tr->gemm(n, &one, 1, x + (size_t)r * xs, xs, y + (size_t)c * ys, ys, 1, 1);
                same = same && memcmp(&one, &s[(size_t)c * ss + (size_t)r], sizeof one) == 0;
            }
        CHECK_MSG(same, "%s %s gemm n=%d nr=%d nc=%d differs from single pairs", tr->name,
                  tensor_isa_name((enum tensor_isa)isa), n, nr, nc);
        CHECK_MSG(clean, "%s %s gemm n=%d nr=%d nc=%d wrote outside the tile", tr->name,
                  tensor_isa_name((enum tensor_isa)isa), n, nr, nc);
        gemm_tiles++;
    }
    free(xb); free(yb); free(xf); free(yf); free(s); free(want); free(tol);
}

static void test_gemm(void) {
    static const int quant_blocks[] = {1, 2, 7, 9, 33};
    static const int float_lens[] = {1, 7, 8, 31, 33, 100, 257, 1000};
    static const int wide[] = {5, 8, 13, TENSOR_GEMM_COLS};
    for (size_t ti = 0; ti < sizeof(WEIGHT_TYPES) / sizeof(WEIGHT_TYPES[0]); ti++) {
        const enum tensor_type t = WEIGHT_TYPES[ti];
        const tensor_traits *tr = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
        const int nlens = tr->is_quantized ? 5 : 8;
        for (int k = 0; k < nlens; k++) {
            const int n = tr->is_quantized ? quant_blocks[k] * tr->blck_size : float_lens[k];
            for (int nr = 1; nr <= TENSOR_GEMM_ROWS; nr++) {
                for (int nc = 1; nc <= 4; nc++) check_gemm(t, n, nr, nc);
                for (size_t w = 0; w < sizeof(wide) / sizeof(int); w++) check_gemm(t, n, nr, wide[w]);
            }
        }
    }
}

/* ---- packed weights: the same bits as the natural gemm ---- */

static int packed_tiles;

/* 8 random rows of n elements packed, against nc activation rows of
 * stride ys: every output equals the natural tile's, bit for bit. */
static void check_packed(enum tensor_type t, int isa, int n, int nc) {
    const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
    const enum tensor_type yt = tr->vec_dot_type;
    const int R = TENSOR_GEMM_ROWS;
    const size_t xs = tensor_row_size(t, n), ys = tensor_row_size(yt, n) + 4 * (rnd() % 3);
    const size_t pbytes = (size_t)(n / tr->blck_size) * tr->packed_block_bytes, ss = (size_t)R + rnd() % 3;
    uint8_t *x = calloc(1, xs * R + 64), *y = calloc(1, ys * (size_t)nc + 64), *xp = malloc(pbytes + 64);
    float *yf = malloc((size_t)n * sizeof(float)), *want = malloc(ss * (size_t)nc * sizeof(float));
    float *got = malloc(ss * (size_t)nc * sizeof(float));
    for (int r = 0; r < R; r++) fill_weights(t, x + (size_t)r * xs, n);
    for (int c = 0; c < nc; c++) {
        fill_floats(yf, n, rnd() & 1 ? 1.0f : 30.0f);
        ref_quantize(yt, yf, y + (size_t)c * ys, n);
    }
    memset(xp + pbytes, 0xA5, 64);
    tr->pack(x, xs, xp, n);
    bool guard = true;
    for (int k = 0; k < 64; k++) guard = guard && xp[pbytes + k] == 0xA5;
    for (size_t i = 0; i < ss * (size_t)nc; i++) want[i] = got[i] = NAN;
    tr->gemm(n, want, ss, x, xs, y, ys, R, nc);
    tr->gemm_packed(n, got, ss, xp, y, ys, nc);
    CHECK_MSG(guard, "%s %s pack n=%d wrote past its %zu bytes", tr->name, tensor_isa_name((enum tensor_isa)isa), n,
              pbytes);
    CHECK_MSG(memcmp(want, got, ss * (size_t)nc * sizeof(float)) == 0, "%s %s packed gemm n=%d nc=%d differs",
              tr->name, tensor_isa_name((enum tensor_isa)isa), n, nc);
    packed_tiles++;
    free(x); free(y); free(xp); free(yf); free(want); free(got);
}

/* A level's pair kernel (two adjacent groups a call) on 16 random rows:
 * every output equals the natural tiles'. */
static void check_packed_pair(enum tensor_type t, int isa, int n, int nc) {
    const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
    const enum tensor_type yt = tr->vec_dot_type;
    const int R = TENSOR_GEMM_ROWS;
    const size_t xs = tensor_row_size(t, n), ys = tensor_row_size(yt, n) + 2 * (rnd() % 3);
    const size_t gbytes = (size_t)(n / tr->blck_size) * tr->packed_block_bytes, ss = 2 * (size_t)R + rnd() % 3;
    uint8_t *x = calloc(1, xs * 2 * R), *y = calloc(1, ys * (size_t)nc + 64), *xp = malloc(2 * gbytes);
    float *yf = malloc((size_t)n * sizeof(float)), *want = malloc(ss * (size_t)nc * sizeof(float));
    float *got = malloc(ss * (size_t)nc * sizeof(float));
    for (int r = 0; r < 2 * R; r++) fill_weights(t, x + (size_t)r * xs, n);
    for (int c = 0; c < nc; c++) {
        fill_floats(yf, n, rnd() & 1 ? 1.0f : 30.0f);
        ref_quantize(yt, yf, y + (size_t)c * ys, n);
    }
    for (int g = 0; g < 2; g++) tr->pack(x + (size_t)g * R * xs, xs, xp + (size_t)g * gbytes, n);
    for (size_t i = 0; i < ss * (size_t)nc; i++) want[i] = got[i] = NAN;
    for (int g = 0; g < 2; g++) tr->gemm(n, want + g * R, ss, x + (size_t)g * R * xs, xs, y, ys, R, nc);
    tr->gemm_packed_pair(n, got, ss, xp, y, ys, nc);
    CHECK_MSG(memcmp(want, got, ss * (size_t)nc * sizeof(float)) == 0, "%s %s packed pair gemm n=%d nc=%d differs",
              tr->name, tensor_isa_name((enum tensor_isa)isa), n, nc);
    packed_tiles++;
    free(x); free(y); free(xp); free(yf); free(want); free(got);
}

/* tensor_matmul_packed against tensor_matmul on a whole matrix, through a
 * pool: row groups and token tiles must land where the natural ones do. */
static void check_matmul_packed(enum tensor_type t, tensor_pool *pool, int n_in, int n_out, int n_tok) {
    const size_t rb = tensor_row_size(t, n_in), psz = tensor_packed_size(t, n_in, n_out);
    CHECK_MSG(psz > 0, "%s: no packed size for %d x %d", tensor_type_name(t), n_out, n_in);
    if (!psz) return;
    uint8_t *W = malloc(rb * (size_t)n_out), *Wp = malloc(psz);
    float *X = malloc(sizeof(float) * (size_t)n_in * (size_t)n_tok);
    float *Y0 = malloc(sizeof(float) * (size_t)n_out * (size_t)n_tok), *Y1 = malloc(sizeof(float) * (size_t)n_out * (size_t)n_tok);
    void *scratch = malloc(tensor_matmul_scratch_size(t, n_in, n_tok));
    for (int r = 0; r < n_out; r++) fill_weights(t, W + (size_t)r * rb, n_in);
    fill_floats(X, n_in * n_tok, 1.0f);
    tensor_pack(pool, t, W, Wp, n_in, n_out);
    tensor_matmul(pool, W, t, X, Y0, n_in, n_out, n_tok, scratch);
    tensor_matmul_packed(pool, Wp, t, X, Y1, n_in, n_out, n_tok, scratch);
    CHECK_MSG(memcmp(Y0, Y1, sizeof(float) * (size_t)n_out * (size_t)n_tok) == 0,
              "%s matmul packed %d x %d by %d tokens differs", tensor_type_name(t), n_out, n_in, n_tok);
    free(W); free(Wp); free(X); free(Y0); free(Y1); free(scratch);
}

/* A decode step's matmul (few tokens) claims long runs of rows, a prefill
 * short ones: the first token's outputs are the same bits either way, on
 * both layouts, with a last run shorter than the others. */
static void check_matmul_chunks(enum tensor_type t, tensor_pool *pool) {
    const int n_in = 512, n_out = 1000, many = 9;
    const size_t rb = tensor_row_size(t, n_in), psz = tensor_packed_size(t, n_in, n_out);
    uint8_t *W = malloc(rb * (size_t)n_out), *Wp = malloc(psz ? psz : 1);
    float *X = malloc(sizeof(float) * (size_t)n_in * many), *Y1 = malloc(sizeof(float) * (size_t)n_out);
    float *Yn = malloc(sizeof(float) * (size_t)n_out * many);
    void *scratch = malloc(tensor_matmul_scratch_size(t, n_in, many));
    for (int r = 0; r < n_out; r++) fill_weights(t, W + (size_t)r * rb, n_in);
    fill_floats(X, n_in * many, 1.0f);
    tensor_matmul(pool, W, t, X, Y1, n_in, n_out, 1, scratch);
    tensor_matmul(pool, W, t, X, Yn, n_in, n_out, many, scratch);
    CHECK_MSG(memcmp(Y1, Yn, sizeof(float) * (size_t)n_out) == 0, "%s matmul: 1 token vs %d differ", tensor_type_name(t), many);
    if (psz) {
        tensor_pack(pool, t, W, Wp, n_in, n_out);
        tensor_matmul_packed(pool, Wp, t, X, Yn, n_in, n_out, many, scratch);
        CHECK_MSG(memcmp(Y1, Yn, sizeof(float) * (size_t)n_out) == 0, "%s packed matmul of %d tokens differs",
                  tensor_type_name(t), many);
        tensor_matmul_packed(pool, Wp, t, X, Yn, n_in, n_out, 1, scratch);
        CHECK_MSG(memcmp(Y1, Yn, sizeof(float) * (size_t)n_out) == 0, "%s packed matmul of 1 token differs",
                  tensor_type_name(t));
    }
    free(W); free(Wp); free(X); free(Y1); free(Yn); free(scratch);
}

/* tensor_matmul_groups (a MoE layer's experts in one pass) against one
 * tensor_matmul per group, on the file's layout and, where the type has
 * one, the packed one: three matrices, groups of 3, 1 and 10 tokens (a
 * prefill's tiles), then of one token each (a decode step's long claims),
 * a matrix used by two groups. */
static void check_matmul_groups(enum tensor_type t, tensor_pool *pool) {
    enum { N_IN = 512, N_OUT = 40, N_ROWS = 14, N_MAT = 3 };
    const size_t rb = tensor_row_size(t, N_IN), msz = rb * N_OUT, psz = tensor_packed_size(t, N_IN, N_OUT);
    uint8_t *W = malloc(msz * N_MAT), *Wp = malloc(psz ? psz * N_MAT : 1);
    float *X = malloc(sizeof(float) * N_IN * N_ROWS), *want = malloc(sizeof(float) * N_OUT * N_ROWS);
    float *got = malloc(sizeof(float) * N_OUT * N_ROWS);
    void *scratch = malloc(tensor_matmul_scratch_size(t, N_IN, N_ROWS));
    for (int r = 0; r < N_OUT * N_MAT; r++) fill_weights(t, W + (size_t)r * rb, N_IN);
    for (int e = 0; psz && e < N_MAT; e++) tensor_pack(pool, t, W + msz * e, Wp + psz * e, N_IN, N_OUT);
    fill_floats(X, N_IN * N_ROWS, 1.0f);
    static const int prefill[][3] = {{0, 0, 3}, {2, 3, 1}, {1, 4, 10}}; /* matrix, x0, n_tok */
    static const int decode[][3] = {{2, 0, 1}, {0, 1, 1}, {2, 2, 1}};
    for (int packed = 0; packed <= (psz > 0); packed++)
        for (int d = 0; d < 2; d++) {
            const int(*spec)[3] = d ? decode : prefill, rows = d ? 3 : N_ROWS;
            tensor_mm_group g[3];
            for (int i = 0; i < 3; i++) {
                const uint8_t *m = packed ? Wp + psz * spec[i][0] : W + msz * spec[i][0];
                g[i] = (tensor_mm_group){m, got + (size_t)spec[i][1] * N_OUT, spec[i][1], spec[i][2]};
                tensor_matmul(pool, W + msz * spec[i][0], t, X + (size_t)spec[i][1] * N_IN, want + (size_t)spec[i][1] * N_OUT,
                              N_IN, N_OUT, spec[i][2], scratch);
            }
            for (int i = 0; i < N_OUT * rows; i++) got[i] = NAN;
            tensor_matmul_groups(pool, t, packed, X, rows, N_IN, N_OUT, g, 3, scratch);
            CHECK_MSG(memcmp(want, got, sizeof(float) * N_OUT * (size_t)rows) == 0, "%s grouped matmul (%s, %s) differs",
                      tensor_type_name(t), packed ? "packed" : "rows", d ? "decode" : "prefill");
        }
    free(W); free(Wp); free(X); free(want); free(got); free(scratch);
}

static void test_packed(void) {
    static const int blocks[] = {1, 2, 7, 9};
    static const int ncs[] = {1, 2, 3, 4, 5, 13, 17, TENSOR_GEMM_COLS};
    tensor_pool *pool = tensor_pool_new(2);
    int types = 0;
    for (size_t ti = 0; ti < sizeof(WEIGHT_TYPES) / sizeof(WEIGHT_TYPES[0]); ti++) {
        const enum tensor_type t = WEIGHT_TYPES[ti];
        for (int isa = TENSOR_ISA_AVX2; isa <= (int)tensor_isa_detected(); isa++) {
            const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
            if (!tr->pack) continue;
            CHECK_MSG(tr->gemm_packed && tr->packed_block_bytes > 0, "%s packed kernel incomplete", tr->name);
            for (size_t b = 0; b < sizeof(blocks) / sizeof(int); b++)
                for (size_t k = 0; k < sizeof(ncs) / sizeof(int); k++) {
                    check_packed(t, isa, blocks[b] * tr->blck_size, ncs[k]);
                    if (tr->gemm_packed_pair) check_packed_pair(t, isa, blocks[b] * tr->blck_size, ncs[k]);
                }
            types++;
        }
        if (t == TENSOR_Q8_0 || t == TENSOR_Q4_K || t == TENSOR_Q6_K || t == TENSOR_F16) check_matmul_chunks(t, pool);
        check_matmul_groups(t, pool);
        if (tensor_packed_size(t, 512, 40)) {
            CHECK(tensor_packed_size(t, 512, 36) == 0); /* rows not a whole number of groups */
            for (int n_tok = 1; n_tok <= 40; n_tok += 13) check_matmul_packed(t, pool, 512, 40, n_tok);
        }
    }
    if (tensor_isa_active() >= TENSOR_ISA_AVX2) CHECK_MSG(types >= 6, "packed layouts: %d types", types);
    else CHECK(tensor_packed_size(TENSOR_Q4_K, 512, 40) == 0); /* scalar: nothing is packed */
    tensor_pool_free(pool);
}

/* Rows that stress the quantizers: ties for the largest magnitude with
 * both signs, an all-zero block, exact halves, tiny and huge values. */
static void fill_quant_input(float *x, int n, int kind) {
    fill_floats(x, n, kind == 1 ? 1e-3f : kind == 2 ? 1e4f : 2.0f);
    if (kind == 3) {
        for (int i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 255) - 127) * 0.5f;
        for (int i = 0; i < n && i < 64; i++) x[i] = 0.0f;
        if (n > 300) { x[290] = -7.0f; x[300] = 7.0f; x[310] = 7.0f; }
    }
    if (kind == 4) /* the first of two equal magnitudes is negative */
        for (int b = 0; b + 255 < n; b += 256) { x[b + 17] = -5.0f; x[b + 200] = 5.0f; }
}

/* Quants of one Q8_0/Q8_1 element may differ by one from the scalar's
 * where x * id lies within a few ulps of a half (scalar: x * (1/d) rounded
 * half away from zero; AVX: x * (127/amax) rounded half to even). */
static bool near_tie(float x, float amax) {
    float v = fabsf(x * (127.0f / amax));
    return fabsf(v - floorf(v) - 0.5f) < 1e-4f;
}

static int tie_diffs;

static void compare_q8_01(enum tensor_type t, const void *got, const void *want, const float *x, int n, bool exact,
                          const char *what) {
    const bool q1 = t == TENSOR_Q8_1;
    const size_t bs = q1 ? sizeof(block_q8_1) : sizeof(block_q8_0), qoff = q1 ? 4 : 2;
    bool ok = true;
    for (int b = 0; b < n / 32; b++) {
        const uint8_t *g = (const uint8_t *)got + (size_t)b * bs, *w = (const uint8_t *)want + (size_t)b * bs;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
        bool qs_same = memcmp(g + qoff, w + qoff, 32) == 0;
        if (memcmp(g, w, 2) != 0) ok = false;                      /* d */
        if (q1 && qs_same && memcmp(g + 2, w + 2, 2) != 0) ok = false; /* s */
        for (int j = 0; j < 32 && !qs_same; j++) {
            int a = (int8_t)g[qoff + j], c = (int8_t)w[qoff + j];
            if (a == c) continue;
            if (exact || abs(a - c) != 1 || !near_tie(x[32 * b + j], amax)) ok = false;
            else tie_diffs++;
        }
    }
    CHECK_MSG(ok, "%s from_float differs from %s (n=%d)", tensor_type_name(t), what, n);
}

static void check_from_float(enum tensor_type t, int n, int kind) {
    const tensor_traits *ref = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
    const size_t bytes = tensor_row_size(t, n);
    float *x = malloc((size_t)n * sizeof(float));
    uint8_t *want = calloc(1, bytes), *got = calloc(1, bytes), *sc = calloc(1, bytes);
    fill_quant_input(x, n, kind);
    if (t == TENSOR_BF16 && n > 8) { /* rounding ties, NaN, infinities */
        uint32_t bits[] = {0x3f808000u, 0x3f818000u, 0x7fc00001u, 0xff800000u, 0x7f7fffffu, 0x00008000u};
        for (int i = 0; i < 6; i++) memcpy(&x[i], &bits[i], 4);
    }
    if (t == TENSOR_F16 && n > 8) { x[0] = 65520.0f; x[1] = 1e-7f; x[2] = -3e-5f; x[3] = 1e9f; }
    ref_quantize(t, x, want, n);
    if (ref->from_float) ref->from_float(x, sc, n);
    for (int isa = TENSOR_ISA_AVX2; isa <= (int)tensor_isa_detected(); isa++) {
        const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
        if (!own_from_float(t, isa)) continue;
        memset(got, 0, bytes);
        tr->from_float(x, got, n);
        if (t == TENSOR_Q8_0 || t == TENSOR_Q8_1) {
            compare_q8_01(t, got, want, x, n, true, "ggml's x86 definition");
            if (ref->from_float) compare_q8_01(t, got, sc, x, n, false, "scalar");
        } else {
            CHECK_MSG(memcmp(got, want, bytes) == 0, "%s %s from_float n=%d kind=%d differs from reference",
                      tr->name, tensor_isa_name((enum tensor_isa)isa), n, kind);
            if (ref->from_float)
                CHECK_MSG(memcmp(got, sc, bytes) == 0, "%s %s from_float n=%d differs from scalar", tr->name,
                          tensor_isa_name((enum tensor_isa)isa), n);
        }
    }
    free(x); free(want); free(got); free(sc);
}

static void test_from_float(void) {
    static const enum tensor_type types[] = {TENSOR_Q8_0, TENSOR_Q8_1, TENSOR_Q8_K, TENSOR_F16, TENSOR_BF16};
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        const int bs = tensor_get_traits_isa(types[ti], TENSOR_ISA_SCALAR)->blck_size;
        const int lens[] = {bs == 1 ? 13 : bs, bs == 1 ? 8 : 7 * bs, bs == 1 ? 4096 + 5 : 33 * bs, 4096};
        for (int kind = 0; kind < 5; kind++)
            for (size_t k = 0; k < 4; k++) check_from_float(types[ti], lens[k], kind);
    }
}

static void check_to_float(enum tensor_type t, int n) {
    if (t == TENSOR_Q4_1 || t == TENSOR_Q5_1) return; /* ref_dequant leaves m out */
    const tensor_traits *ref = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
    void *xb;
    uint8_t *x = alloc_off(tensor_row_size(t, n), t == TENSOR_F32 ? 4 : 2, &xb);
    float *want = malloc((size_t)n * 4), *sc = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    fill_weights(t, x, n);
    ref_dequant(t, x, want, n);
    if (ref->to_float) ref->to_float(x, sc, n);
    for (int isa = TENSOR_ISA_AVX2; isa <= (int)tensor_isa_detected(); isa++) {
        const tensor_traits *tr = tensor_get_traits_isa(t, (enum tensor_isa)isa);
        if (!own_to_float(t, isa)) continue;
        tr->to_float(x, got, n);
        bool ok_ref = true, ok_sc = true;
        for (int i = 0; i < n; i++) {
            if (fabsf(got[i] - want[i]) > 1e-6f * fabsf(want[i])) ok_ref = false;
            if (ref->to_float && fabsf(got[i] - sc[i]) > 1e-6f * fabsf(sc[i])) ok_sc = false;
        }
        CHECK_MSG(ok_ref, "%s %s to_float n=%d differs from reference", tr->name, tensor_isa_name((enum tensor_isa)isa), n);
        CHECK_MSG(ok_sc, "%s %s to_float n=%d differs from scalar", tr->name, tensor_isa_name((enum tensor_isa)isa), n);
    }
    free(xb); free(want); free(sc); free(got);
}

static void test_to_float(void) {
    for (size_t ti = 0; ti < sizeof(WEIGHT_TYPES) / sizeof(WEIGHT_TYPES[0]); ti++) {
        const enum tensor_type t = WEIGHT_TYPES[ti];
        const int bs = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR)->blck_size;
        check_to_float(t, bs);
        check_to_float(t, bs == 1 ? 1001 : 7 * bs);
    }
}

#ifdef EMULATE_AVX512
/* tests/emu: the AVX-512 and AMX kernel files built against emulations of
 * the instruction sets (test_kernels_avx512_emulated), used where the CPU
 * has AVX2 but not those. */
void tensor_kernels_avx512_emulated(tensor_kernels *k, const tensor_kernels *avx2);
void tensor_kernels_amx_emulated(tensor_kernels *k, const tensor_kernels *avx512);
#endif

int main(void) {
#ifdef EMULATE_AVX512
    tensor_emulate_avx512(tensor_kernels_avx512_emulated);
    tensor_emulate_amx(tensor_kernels_amx_emulated);
    printf("AVX-512 and AMX levels: emulated, unless the CPU has the instruction sets\n");
#endif
    tensor_init();
    printf("ISA detected: %s\n", tensor_isa_name(tensor_isa_detected()));
    if (tensor_isa_detected() < TENSOR_ISA_AVX512) {
        printf("AVX-512 kernels not tested: this CPU lacks them\n");
#ifdef EMULATE_AVX512
        return 77; /* not even AVX2 to emulate them on */
#endif
    }
    test_vec_dot();
    test_gemm();
    test_packed();
    test_from_float();
    test_to_float();
    printf("gemm tiles checked: %d; packed tiles: %d\n", gemm_tiles, packed_tiles);
    printf("largest vec_dot error relative to sum |x*y|: %.3g; Q8_0/Q8_1 near-tie differences from scalar: %d\n",
           max_rel_err, tie_diffs);
    return check_done();
}

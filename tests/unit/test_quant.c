/* Unit tests of the scalar tensor kernels: half/bfloat16 conversion,
 * dequantization of hand-built blocks, bit-exact activation quantization on
 * hand-computed cases, quantize/dequantize round trips and vec_dot
 * consistency for every type. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tensor/quants.h"

static const tensor_traits *scalar(enum tensor_type t) {
    return tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
}

/* Deterministic N(0,1) samples: xorshift64 and Box-Muller. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double rng_uniform(void) { return (double)(check_xorshift(&rng_state) >> 11) * (1.0 / 9007199254740992.0); }

static float rng_normal(void) {
    double u = rng_uniform() + 1e-300, v = rng_uniform();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static bool all_equal(const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) {
            fprintf(stderr, "  element %d: %.9g != %.9g\n", i, (double)a[i], (double)b[i]);
            return false;
        }
    return true;
}

/* ---- half and bfloat16 ---- */

static float bits_f32(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static void test_f16(void) {
    CHECK_EQ_INT(tensor_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(tensor_f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(tensor_f32_to_f16(0.5f), 0x3800);
    CHECK_EQ_INT(tensor_f32_to_f16(0.1f), 0x2e66);
    CHECK_EQ_INT(tensor_f32_to_f16(65504.0f), 0x7bff);   /* largest half */
    CHECK_EQ_INT(tensor_f32_to_f16(65519.0f), 0x7bff);   /* below the midpoint to inf */
    CHECK_EQ_INT(tensor_f32_to_f16(65520.0f), 0x7c00);   /* midpoint: ties to even = inf */
    CHECK_EQ_INT(tensor_f32_to_f16(INFINITY), 0x7c00);
    CHECK_EQ_INT(tensor_f32_to_f16(-0.0f), 0x8000);
    CHECK_EQ_INT(tensor_f32_to_f16(0x1p-14f), 0x0400);   /* smallest normal */
    CHECK_EQ_INT(tensor_f32_to_f16(0x1p-15f), 0x0200);   /* subnormals */
    CHECK_EQ_INT(tensor_f32_to_f16(0x1p-24f), 0x0001);
    CHECK_EQ_INT(tensor_f32_to_f16(0x3p-25f), 0x0002);   /* 1.5 ulp: tie to even */
    CHECK_EQ_INT(tensor_f32_to_f16(0x5p-25f), 0x0002);   /* 2.5 ulp: tie to even */
    CHECK_EQ_INT(tensor_f32_to_f16(0x1p-25f), 0x0000);   /* half ulp: tie to zero */
    CHECK_EQ_INT(tensor_f32_to_f16(0x1.000002p-25f), 0x0001);
    CHECK_EQ_INT(tensor_f32_to_f16(0x3ffp-24f), 0x03ff);
    CHECK_EQ_INT(tensor_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);  /* tie, even stays */
    CHECK_EQ_INT(tensor_f32_to_f16(1.0f + 0x3p-11f), 0x3c02);  /* tie, odd rounds up */
    CHECK_EQ_INT(tensor_f32_to_f16(1.0f + 0x1.2p-11f), 0x3c01);
    uint16_t nan = tensor_f32_to_f16(NAN);
    CHECK((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0);

    CHECK(tensor_f16_to_f32(0x3c00) == 1.0f);
    CHECK(tensor_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(tensor_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(tensor_f16_to_f32(0x03ff) == 0x3ffp-24f);
    CHECK(tensor_f16_to_f32(0x0200) == 0x1p-15f);
    CHECK(tensor_f16_to_f32(0xfc00) == -INFINITY);
    CHECK(signbit(tensor_f16_to_f32(0x8000)) && tensor_f16_to_f32(0x8000) == 0.0f);
    CHECK(isnan(tensor_f16_to_f32(0x7e00)));
    /* Every finite half survives a round trip. */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++)
        if ((h & 0x7c00) != 0x7c00 && tensor_f32_to_f16(tensor_f16_to_f32((uint16_t)h)) != h) bad++;
    CHECK_EQ_INT(bad, 0);
}

static void test_bf16(void) {
    CHECK_EQ_INT(tensor_f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(tensor_f32_to_bf16(-2.0f), 0xc000);
    CHECK_EQ_INT(tensor_f32_to_bf16(3.14159265f), 0x4049);
    CHECK_EQ_INT(tensor_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);   /* tie, even stays */
    CHECK_EQ_INT(tensor_f32_to_bf16(1.0f + 0x3p-8f), 0x3f82);   /* tie, odd rounds up */
    CHECK_EQ_INT(tensor_f32_to_bf16(bits_f32(0x3f808001)), 0x3f81);
    CHECK_EQ_INT(tensor_f32_to_bf16(INFINITY), 0x7f80);
    uint16_t nan = tensor_f32_to_bf16(NAN);
    CHECK((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0);
    CHECK(tensor_bf16_to_f32(0x4049) == 3.140625f);
    CHECK(tensor_bf16_to_f32(0xbf80) == -1.0f);

    /* The F16/BF16 row kernels use the same conversions. */
    const float src[4] = {1.0f, 0x1p-15f, 1.0f + 0x3p-11f, -65504.0f};
    uint16_t h[4];
    float back[4];
    scalar(TENSOR_F16)->from_float(src, h, 4);
    CHECK(h[0] == 0x3c00 && h[1] == 0x0200 && h[2] == 0x3c02 && h[3] == 0xfbff);
    scalar(TENSOR_F16)->to_float(h, back, 4);
    CHECK(back[0] == 1.0f && back[1] == 0x1p-15f && back[2] == 1.0f + 0x1p-9f && back[3] == -65504.0f);
    scalar(TENSOR_BF16)->from_float(src, h, 4);
    CHECK(h[0] == 0x3f80 && h[1] == 0x3800 && h[2] == 0x3f80);
}

/* ---- dequantization of hand-built blocks ---- */

static void test_dequant_legacy(void) {
    float y[32], want[32];

    block_q4_0 q40 = {.d = 0x3800}; /* d = 0.5 */
    for (int j = 0; j < 16; j++) q40.qs[j] = (uint8_t)(j | (15 - j) << 4);
    for (int j = 0; j < 16; j++) {
        want[j] = (j - 8) * 0.5f;
        want[j + 16] = (7 - j) * 0.5f;
    }
    scalar(TENSOR_Q4_0)->to_float(&q40, y, 32);
    CHECK(all_equal(y, want, 32));

    block_q4_1 q41 = {.d = 0x3800, .m = 0xbc00}; /* d = 0.5, m = -1 */
    memcpy(q41.qs, q40.qs, 16);
    for (int j = 0; j < 16; j++) {
        want[j] = j * 0.5f - 1.0f;
        want[j + 16] = (15 - j) * 0.5f - 1.0f;
    }
    scalar(TENSOR_Q4_1)->to_float(&q41, y, 32);
    CHECK(all_equal(y, want, 32));

    /* Q5: element j's 5th bit is bit j of qh (little-endian). */
    block_q5_0 q50 = {.d = 0x3400, .qh = {0x01, 0x00, 0x01, 0x80}}; /* d = 0.25 */
    q50.qs[0] = 0x3f;  /* element 0: 15, element 16: 3 */
    q50.qs[15] = 0x0a; /* element 15: 10, element 31: 0 */
    scalar(TENSOR_Q5_0)->to_float(&q50, y, 32);
    CHECK(y[0] == (31 - 16) * 0.25f);   /* qh bit 0 */
    CHECK(y[16] == (19 - 16) * 0.25f);  /* qh bit 16 */
    CHECK(y[15] == (10 - 16) * 0.25f);
    CHECK(y[31] == (16 - 16) * 0.25f);  /* qh bit 31 */
    CHECK(y[1] == -16 * 0.25f);

    block_q5_1 q51 = {.d = 0x3400, .m = 0x4000, .qh = {0x01, 0x00, 0x01, 0x80}}; /* m = 2 */
    memcpy(q51.qs, q50.qs, 16);
    scalar(TENSOR_Q5_1)->to_float(&q51, y, 32);
    CHECK(y[0] == 31 * 0.25f + 2 && y[16] == 19 * 0.25f + 2 && y[31] == 16 * 0.25f + 2 && y[1] == 2.0f);

    block_q8_0 q80 = {.d = 0x4000}; /* d = 2 */
    for (int j = 0; j < 32; j++) {
        q80.qs[j] = (int8_t)(j * 8 - 128);
        want[j] = (float)(j * 8 - 128) * 2;
    }
    scalar(TENSOR_Q8_0)->to_float(&q80, y, 32);
    CHECK(all_equal(y, want, 32));

    block_iq4_nl nl = {.d = 0x3c00};
    for (int j = 0; j < 16; j++) nl.qs[j] = (uint8_t)(j | (15 - j) << 4);
    scalar(TENSOR_IQ4_NL)->to_float(&nl, y, 32);
    CHECK(y[0] == -127 && y[1] == -104 && y[15] == 113 && y[16] == 113 && y[31] == -127 && y[8] == 1);

    /* MXFP4: e = 127 is a scale of 1; the codes are e2m1 (sign, 2-bit
     * exponent, 1-bit mantissa). */
    block_mxfp4 mx = {.e = 127};
    mx.qs[0] = 0x71; /* 0.5 and 6 */
    mx.qs[1] = 0xf9; /* -0.5 and -6 */
    mx.qs[2] = 0x35; /* 3 and 1.5 */
    scalar(TENSOR_MXFP4)->to_float(&mx, y, 32);
    CHECK(y[0] == 0.5f && y[16] == 6.0f && y[1] == -0.5f && y[17] == -6.0f);
    CHECK(y[2] == 3.0f && y[18] == 1.5f && y[3] == 0.0f);
    mx.e = 130; /* scale 8 */
    scalar(TENSOR_MXFP4)->to_float(&mx, y, 32);
    CHECK(y[0] == 4.0f && y[16] == 48.0f);
}

/* Q2_K and Q3_K share the 2-bit layout: element e is bits 2*((e/32)%4) of
 * qs[32*(e/128) + e%32]; with every byte 0xe4 (codes 0,1,2,3 from the low
 * bits up) element e's code is (e/32)%4. */
static void test_dequant_q2_q3(void) {
    float y[QK_K];
    static const int idx[5] = {0, 40, 100, 200, 255};

    block_q2_K q2 = {.d = 0x3c00, .dmin = 0x3800}; /* d = 1, dmin = 0.5 */
    /* scale j+1 (0 for j = 15), min j */
    for (int j = 0; j < 16; j++) q2.scales[j] = (uint8_t)(((j + 1) & 0xf) | j << 4);
    memset(q2.qs, 0xe4, sizeof q2.qs);
    scalar(TENSOR_Q2_K)->to_float(&q2, y, QK_K);
    /* y = scale * code - 0.5 * min of group e/16 */
    static const float want2[5] = {0.0f, 3 * 1 - 1.0f, 7 * 3 - 3.0f, 13 * 2 - 6.0f, 0 * 3 - 7.5f};
    for (int i = 0; i < 5; i++)
        CHECK_MSG(y[idx[i]] == want2[i], "q2_K y[%d] = %g", idx[i], (double)y[idx[i]]);

    /* Q3_K scale j (6 bits) = 24 + j, stored minus 32 so j - 8: low nibbles
     * in bytes 0..7 (j < 8 low half, j >= 8 high half), top 2 bits in
     * bytes 8..11 (scale j at bits 2*(j/4) of byte 8 + j%4). */
    block_q3_K q3 = {.d = 0x3800}; /* d = 0.5 */
    for (int b = 0; b < 8; b++) q3.scales[b] = (uint8_t)((8 + b) | b << 4);
    for (int b = 8; b < 12; b++) q3.scales[b] = 0xa5;
    memset(q3.qs, 0xe4, sizeof q3.qs);
    memset(q3.hmask, 0xff, sizeof q3.hmask); /* high bit set: no -4 */
    q3.hmask[200 % 32] &= (uint8_t)~(1 << (200 / 32)); /* element 200: code 2 - 4 */
    scalar(TENSOR_Q3_K)->to_float(&q3, y, QK_K);
    static const float want3[5] = {0.0f, -6 * 0.5f * 1, -2 * 0.5f * 3, 4 * 0.5f * -2, 7 * 0.5f * 3};
    for (int i = 0; i < 5; i++)
        CHECK_MSG(y[idx[i]] == want3[i], "q3_K y[%d] = %g", idx[i], (double)y[idx[i]]);
    CHECK(y[201] == 4 * 0.5f * 2);
}

/* Q4_K/Q5_K scales 8j+1 and mins 63-8j, 6 bits each, packed by hand into
 * ggml's 12-byte layout. */
static const uint8_t K4_SCALES[12] = {0x81, 0x89, 0xd1, 0xd9, 0x7f, 0x77,
                                      0x2f, 0x27, 0xf1, 0x79, 0xf1, 0x79};

static void test_dequant_q4_q5_k(void) {
    float y[QK_K];
    block_q4_K q4 = {.d = 0x3c00, .dmin = 0x3400}; /* d = 1, dmin = 0.25 */
    memcpy(q4.scales, K4_SCALES, 12);
    /* Element e = 64*c + 32*h + l is nibble h of qs[32*c + l]. */
    memset(q4.qs, 0x5a, sizeof q4.qs);
    q4.qs[33] = 0x31; /* elements 65 (1) and 97 (3) */
    scalar(TENSOR_Q4_K)->to_float(&q4, y, QK_K);
    int bad = 0;
    for (int e = 0; e < QK_K; e++) {
        int j = e / 32, q = j % 2 ? 5 : 10;
        if (e == 65) q = 1;
        if (e == 97) q = 3;
        if (y[e] != (float)(8 * j + 1) * q - 0.25f * (63 - 8 * j)) bad++;
    }
    CHECK_EQ_INT(bad, 0);

    block_q5_K q5 = {.d = 0x3c00, .dmin = 0x3400};
    memcpy(q5.scales, K4_SCALES, 12);
    memset(q5.qs, 0x5a, sizeof q5.qs);
    memset(q5.qh, 0xaa, sizeof q5.qh); /* bit e/32 of qh[e%32]: odd sub-blocks get +16 */
    q5.qh[7] = 0x01;                   /* element 7: +16; elements 39, 71.. of qh[7]: not */
    scalar(TENSOR_Q5_K)->to_float(&q5, y, QK_K);
    bad = 0;
    for (int e = 0; e < QK_K; e++) {
        int j = e / 32, q = j % 2 ? 5 + 16 : 10;
        if (e % 32 == 7) q = j == 0 ? 26 : j % 2 ? 5 : 10;
        if (y[e] != (float)(8 * j + 1) * q - 0.25f * (63 - 8 * j)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(y[0] == 1 * 10 - 0.25f * 63 && y[32] == 9 * 21 - 0.25f * 55 && y[7] == 26 - 0.25f * 63);
}

static void test_dequant_q6_q8_k(void) {
    float y[QK_K];
    /* Element e = 128*h + 32*k + l: low nibble of ql[64*h + l + 32*(k%2)]
     * (high half for k >= 2), 2 high bits at 2k of qh[32*h + l]. With ql
     * 0x21 and qh 0xe4 the 6-bit codes are 1, 17, 34, 50 for k = 0..3. */
    block_q6_K q6 = {.d = 0x3800}; /* d = 0.5 */
    memset(q6.ql, 0x21, sizeof q6.ql);
    memset(q6.qh, 0xe4, sizeof q6.qh);
    for (int j = 0; j < 16; j++) q6.scales[j] = (int8_t)(j - 8);
    scalar(TENSOR_Q6_K)->to_float(&q6, y, QK_K);
    static const int code[4] = {1 - 32, 17 - 32, 34 - 32, 50 - 32};
    int bad = 0;
    for (int e = 0; e < QK_K; e++)
        if (y[e] != 0.5f * (e / 16 - 8) * code[(e / 32) % 4]) bad++;
    CHECK_EQ_INT(bad, 0);
    CHECK(y[0] == 0.5f * -8 * -31 && y[255] == 0.5f * 7 * 18);

    block_q8_K q8 = {.d = 0.25f};
    for (int j = 0; j < QK_K; j++) q8.qs[j] = (int8_t)(j - 128);
    scalar(TENSOR_Q8_K)->to_float(&q8, y, QK_K);
    CHECK(y[0] == -32.0f && y[255] == 31.75f && y[128] == 0.0f);

    /* IQ4_XS: 6-bit scales (33 + ib here, so ib + 1 after the -32): low
     * nibbles in scales_l, high 2 bits at 2*ib of scales_h. */
    block_iq4_xs xs = {.d = 0x3c00, .scales_h = 0xaaaa, .scales_l = {0x21, 0x43, 0x65, 0x87}};
    memset(xs.qs, 0x0f, sizeof xs.qs); /* low nibble 15 -> 113, high 0 -> -127 */
    scalar(TENSOR_IQ4_XS)->to_float(&xs, y, QK_K);
    bad = 0;
    for (int e = 0; e < QK_K; e++)
        if (y[e] != (float)(e / 32 + 1) * (e % 32 < 16 ? 113 : -127)) bad++;
    CHECK_EQ_INT(bad, 0);
}

/* ---- bit-exact activation quantization ---- */

static void test_quant_q8_0_exact(void) {
    float x[32] = {127.0f, -63.5f, 0.5f, 1.5f, 2.5f, -2.5f, 0.49f, 100.0f, -127.0f, 126.5f};
    block_q8_0 b;
    scalar(TENSOR_Q8_0)->from_float(x, &b, 32);
    CHECK_EQ_INT(b.d, 0x3c00); /* d = 127 / 127 */
    /* roundf: halves away from zero */
    static const int8_t want[10] = {127, -64, 1, 2, 3, -3, 0, 100, -127, 127};
    CHECK(memcmp(b.qs, want, 10) == 0);
    CHECK(b.qs[10] == 0 && b.qs[31] == 0);

    block_q8_1 b1;
    scalar(TENSOR_Q8_1)->from_float(x, &b1, 32);
    CHECK_EQ_INT(b1.d, 0x3c00);
    CHECK(memcmp(b1.qs, want, 10) == 0);
    CHECK_EQ_INT(b1.s, tensor_f32_to_f16(166.0f)); /* d * sum(qs) */

    /* d = 2.54 / 127 = 0.02; qs = roundf(x * (1 / d)) */
    float x2[32] = {2.54f, -1.27f, 0.01f};
    scalar(TENSOR_Q8_0)->from_float(x2, &b, 32);
    const float d = 2.54f / 127, id = 1.0f / d;
    CHECK_EQ_INT(b.d, tensor_f32_to_f16(d));
    CHECK(b.qs[0] == 127 && b.qs[0] == (int8_t)roundf(2.54f * id));
    CHECK(b.qs[1] == (int8_t)roundf(-1.27f * id) && b.qs[2] == (int8_t)roundf(0.01f * id));

    float zero[32] = {0};
    memset(&b, 0x55, sizeof b);
    scalar(TENSOR_Q8_0)->from_float(zero, &b, 32);
    CHECK(b.d == 0 && b.qs[0] == 0 && b.qs[31] == 0);
}

static void test_quant_q8_k_exact(void) {
    float x[QK_K] = {0};
    block_q8_K b;
    /* max = -127 (largest magnitude, negative): iscale = 1, d = 1; codes
     * round half to even. */
    x[0] = -127.0f;
    x[1] = 0.5f, x[2] = 1.5f, x[3] = 2.5f, x[4] = -2.5f, x[5] = 126.6f, x[16] = 3.0f;
    scalar(TENSOR_Q8_K)->from_float(x, &b, QK_K);
    CHECK(b.d == 1.0f);
    static const int8_t want[6] = {-127, 0, 2, 2, -2, 127};
    CHECK(memcmp(b.qs, want, 6) == 0);
    CHECK(b.bsums[0] == -127 + 2 + 2 - 2 + 127 && b.bsums[1] == 3 && b.bsums[15] == 0);

    /* max = +254: iscale = -0.5, d = -2, codes are negated. */
    memset(x, 0, sizeof x);
    x[7] = 254.0f, x[8] = 3.0f, x[9] = 5.0f, x[10] = -7.0f, x[255] = -1.0f;
    scalar(TENSOR_Q8_K)->from_float(x, &b, QK_K);
    CHECK(b.d == -2.0f);
    CHECK(b.qs[7] == -127 && b.qs[8] == -2 && b.qs[9] == -2 && b.qs[10] == 4 && b.qs[255] == 0);
    CHECK(b.bsums[0] == -127 - 2 - 2 + 4 && b.bsums[15] == 0);

    memset(x, 0, sizeof x);
    memset(&b, 0x55, sizeof b);
    scalar(TENSOR_Q8_K)->from_float(x, &b, QK_K);
    CHECK(b.d == 0.0f && b.qs[0] == 0 && b.qs[255] == 0 && b.bsums[0] == 0 && b.bsums[15] == 0);
}

static void test_quant_q4_0_exact(void) {
    /* max = -8 puts d at 1; codes are trunc(x/d + 8.5), capped at 15. */
    float x[32] = {-8.0f, 3.0f, 7.9f, -0.5f, 0.49f, 2.5f};
    block_q4_0 b;
    scalar(TENSOR_Q4_0)->from_float(x, &b, 32);
    CHECK_EQ_INT(b.d, 0x3c00);
    CHECK((b.qs[0] & 0xf) == 0 && (b.qs[1] & 0xf) == 11 && (b.qs[2] & 0xf) == 15);
    CHECK((b.qs[3] & 0xf) == 8 && (b.qs[4] & 0xf) == 8 && (b.qs[5] & 0xf) == 11);
    CHECK((b.qs[0] >> 4) == 8); /* x[16] = 0 */
}

/* ---- round trips ---- */

#define RT_N 4096
#define RT_ROWS 4

typedef struct {
    enum tensor_type t;
    double max_rel_rms;   /* RMS(error) / RMS(x) */
    double max_err_ratio; /* max |error| in a block / max |x| of that block */
} rt_bound;

/* Measured on these N(0,1) rows (rel RMS, max err / block amax); the
 * quantizers are ggml's reference ones, so these are ggml's errors too:
 *   F16   0.00021 0.00047   BF16  0.00165 0.0037
 *   Q8_0  0.0054  0.0043    Q8_1  0.0054  0.0043    Q8_K 0.0070 0.0039
 *   Q6_K  0.0178  0.0161    Q5_0  0.0427  0.0610    Q5_1 0.0377 0.0325
 *   Q5_K  0.0362  0.0399    Q4_0  0.0863  0.1236    Q4_1 0.0780 0.0664
 *   Q4_K  0.0716  0.0901    Q3_K  0.1511  0.1624    Q2_K 0.2968 0.3203
 *   MXFP4 0.1154  0.2500
 * Bounds are about 1.5x those. */
static const rt_bound RT_BOUNDS[] = {
    {TENSOR_F16, 0.0003, 0.0007},   {TENSOR_BF16, 0.0025, 0.0055},
    {TENSOR_Q8_0, 0.008, 0.0065},   {TENSOR_Q8_1, 0.008, 0.0065},
    {TENSOR_Q8_K, 0.0105, 0.006},   {TENSOR_Q6_K, 0.027, 0.024},
    {TENSOR_Q5_0, 0.064, 0.092},    {TENSOR_Q5_1, 0.057, 0.049},
    {TENSOR_Q5_K, 0.054, 0.06},     {TENSOR_Q4_0, 0.13, 0.185},
    {TENSOR_Q4_1, 0.117, 0.1},      {TENSOR_Q4_K, 0.107, 0.135},
    {TENSOR_Q3_K, 0.227, 0.244},    {TENSOR_Q2_K, 0.445, 0.48},
    {TENSOR_MXFP4, 0.173, 0.375},
};

static float *rt_data; /* RT_ROWS * RT_N samples of N(0,1) */

static void test_round_trip(const rt_bound *b) {
    const tensor_traits *tr = scalar(b->t);
    CHECK_MSG(tr && tr->from_float && tr->to_float, "%s", tensor_type_name(b->t));
    if (!tr || !tr->from_float || !tr->to_float) return;
    const size_t row = tensor_row_size(b->t, RT_N);
    uint8_t *q = malloc(row);
    float *y = malloc(RT_N * sizeof(float));
    double err2 = 0, x2 = 0, worst = 0;
    for (int r = 0; r < RT_ROWS; r++) {
        const float *x = rt_data + r * RT_N;
        tr->from_float(x, q, RT_N);
        tr->to_float(q, y, RT_N);
        const int bs = tr->blck_size > 1 ? tr->blck_size : 32;
        for (int i0 = 0; i0 < RT_N; i0 += bs) {
            double amax = 0, emax = 0;
            for (int i = i0; i < i0 + bs; i++) {
                double e = (double)y[i] - x[i];
                err2 += e * e;
                x2 += (double)x[i] * x[i];
                amax = fmax(amax, fabs(x[i]));
                emax = fmax(emax, fabs(e));
            }
            worst = fmax(worst, emax / amax);
        }
    }
    const double rel = sqrt(err2 / x2);
    if (getenv("TEST_QUANT_VERBOSE"))
        printf("  %-6s rel rms %.5f  max err/amax %.5f\n", tr->name, rel, worst);
    CHECK_MSG(rel < b->max_rel_rms, "%s rel rms %g", tr->name, rel);
    CHECK_MSG(worst < b->max_err_ratio, "%s max err/amax %g", tr->name, worst);
    free(q);
    free(y);
}

/* A constant or all-zero row must come back exactly or near it and never
 * produce NaN. */
static void test_degenerate_rows(void) {
    static const enum tensor_type types[] = {TENSOR_Q4_0, TENSOR_Q4_1, TENSOR_Q5_0, TENSOR_Q5_1,
                                             TENSOR_Q8_0, TENSOR_Q8_1, TENSOR_Q2_K, TENSOR_Q3_K,
                                             TENSOR_Q4_K, TENSOR_Q5_K, TENSOR_Q6_K, TENSOR_Q8_K,
                                             TENSOR_MXFP4};
    float x[512], y[512];
    uint8_t q[1024];
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const tensor_traits *tr = scalar(types[k]);
        for (int mode = 0; mode < 2; mode++) {
            for (int i = 0; i < 512; i++) x[i] = mode ? 1.0f : 0.0f;
            tr->from_float(x, q, 512);
            tr->to_float(q, y, 512);
            int bad = 0;
            for (int i = 0; i < 512; i++)
                if (!(fabsf(y[i] - x[i]) <= 0.07f)) bad++;
            CHECK_MSG(bad == 0, "%s %s row: %d bad", tr->name, mode ? "constant" : "zero", bad);
        }
    }
}

/* ---- vec_dot ---- */

/* Weight rows for the types without a quantizer: random codes and sane
 * scales. */
static void random_blocks(enum tensor_type t, uint8_t *q, int n) {
    const tensor_traits *tr = scalar(t);
    const size_t bytes = tensor_row_size(t, n);
    for (size_t i = 0; i < bytes; i++) q[i] = (uint8_t)(rng_uniform() * 256);
    for (int b = 0; b < n / tr->blck_size; b++) {
        uint8_t *blk = q + (size_t)b * tr->type_size;
        uint16_t d = tensor_f32_to_f16(0.01f + 0.02f * (float)rng_uniform());
        if (t == TENSOR_IQ4_NL || t == TENSOR_IQ4_XS) memcpy(blk, &d, 2);
    }
}

static void test_vec_dot(enum tensor_type t, const float *x, const float *yf, int n) {
    const tensor_traits *tr = scalar(t);
    const tensor_traits *vt = scalar(tr->vec_dot_type);
    CHECK_MSG(tr->vec_dot && tr->to_float && vt->from_float && vt->to_float, "%s", tr->name);
    if (!tr->vec_dot || !tr->to_float || !vt->from_float || !vt->to_float) return;
    uint8_t *qx = malloc(tensor_row_size(t, n) + 1);
    uint8_t *qy = malloc(tensor_row_size(tr->vec_dot_type, n) + 1);
    float *xd = malloc(n * sizeof(float)), *yd = malloc(n * sizeof(float));
    if (tr->from_float) tr->from_float(x, qx, n);
    else random_blocks(t, qx, n);
    tr->to_float(qx, xd, n);
    vt->from_float(yf, qy, n);
    vt->to_float(qy, yd, n);

    double exact = 0, abs_sum = 0, vs_float = 0, nx = 0, ny = 0;
    for (int i = 0; i < n; i++) {
        exact += (double)xd[i] * yd[i];
        abs_sum += fabs((double)xd[i] * yd[i]);
        vs_float += (double)xd[i] * yf[i];
        nx += (double)xd[i] * xd[i];
        ny += (double)yf[i] * yf[i];
    }
    float s = NAN;
    tr->vec_dot(n, &s, qx, qy);
    /* Against the dequantized operands only float rounding differs, except
     * that Q8_1 carries d*sum(qs) rounded to f16. */
    const bool q81 = tr->vec_dot_type == TENSOR_Q8_1;
    const double tol = (q81 ? 2e-3 : 2e-5) * abs_sum + 1e-6;
    CHECK_MSG(fabs(s - exact) <= tol, "%s vec_dot %.9g vs %.9g (tol %g)", tr->name, (double)s,
              exact, tol);
    /* Against float activations, the activations' rounding error: at most
     * half a step (amax/127 per block) per element, random in sign. */
    const double tol_act = 0.01 * sqrt(nx * ny);
    CHECK_MSG(fabs(s - vs_float) <= tol_act, "%s vec_dot %.9g vs float %.9g", tr->name,
              (double)s, vs_float);
    free(qx);
    free(qy);
    free(xd);
    free(yd);
}

static void test_vec_dots(void) {
    static const enum tensor_type types[] = {
        TENSOR_F32, TENSOR_F16, TENSOR_BF16, TENSOR_Q4_0, TENSOR_Q4_1, TENSOR_Q5_0,
        TENSOR_Q5_1, TENSOR_Q8_0, TENSOR_Q8_1, TENSOR_Q2_K, TENSOR_Q3_K, TENSOR_Q4_K,
        TENSOR_Q5_K, TENSOR_Q6_K, TENSOR_Q8_K, TENSOR_IQ4_NL, TENSOR_IQ4_XS, TENSOR_MXFP4};
    const int n = 2048;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < n; i++) {
            x[i] = rng_normal();
            /* Activations with outliers, as hidden states have. */
            y[i] = rng_normal() * (i % 97 == 0 ? 20.0f : 1.0f);
        }
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) test_vec_dot(types[k], x, y, n);
    }
    free(x);
    free(y);
}

/* A hand-checked dot product: Q4_0 codes against Q8_0 codes. */
static void test_vec_dot_known(void) {
    block_q4_0 x[2] = {{.d = 0x3800}, {.d = 0x3c00}}; /* 0.5, 1 */
    block_q8_0 y[2] = {{.d = 0x4000}, {.d = 0x3800}}; /* 2, 0.5 */
    memset(x[0].qs, 0x99, 16); /* all codes 9 - 8 = 1 */
    memset(x[1].qs, 0x70, 16); /* low 0 - 8 = -8, high 7 - 8 = -1 */
    for (int j = 0; j < 32; j++) {
        y[0].qs[j] = (int8_t)j;
        y[1].qs[j] = 1;
    }
    float s;
    scalar(TENSOR_Q4_0)->vec_dot(64, &s, x, y);
    /* block 0: 0.5*2 * sum(0..31) = 496; block 1: 1*0.5 * (16*-8 + 16*-1) = -72 */
    CHECK(s == 496.0f - 72.0f);
}

int main(void) {
    tensor_init();
    test_f16();
    test_bf16();
    test_dequant_legacy();
    test_dequant_q2_q3();
    test_dequant_q4_q5_k();
    test_dequant_q6_q8_k();
    test_quant_q8_0_exact();
    test_quant_q8_k_exact();
    test_quant_q4_0_exact();

    rt_data = malloc(RT_ROWS * RT_N * sizeof(float));
    for (int i = 0; i < RT_ROWS * RT_N; i++) rt_data[i] = rng_normal();
    for (size_t k = 0; k < sizeof RT_BOUNDS / sizeof RT_BOUNDS[0]; k++) test_round_trip(&RT_BOUNDS[k]);
    free(rt_data);
    test_degenerate_rows();

    test_vec_dot_known();
    test_vec_dots();
    return check_done();
}

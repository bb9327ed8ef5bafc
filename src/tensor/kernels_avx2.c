/* tensor: AVX2 + FMA kernels (compiled with -mavx2 -mfma -mf16c -mbmi2,
 * installed only when CPUID reports them).
 *
 * The integer dot products follow the ideas of ggml's x86 kernels:
 * _mm256_maddubs_epi16 multiplies unsigned by signed bytes and adds pairs
 * into int16, _mm256_madd_epi16 widens to int32 (multiplying by the
 * sub-block scales of the K-quants on the way), and each block's int32 sum is
 * scaled in float with one FMA. Loops over blocks keep two accumulators so the
 * FMA latency chain does not bound the throughput. All loads are unaligned:
 * GGUF rows are only 2-byte aligned (blocks of 18, 34, 210 ... bytes).
 * The types without a packed layout whose decoding dominates a dot product
 * (Q2_K, Q3_K, IQ4_XS, MXFP4, IQ4_NL) also have tile kernels here, next to the vec_dot
 * whose bits they give (see kernels_gemm_avx2.c for the packed ones).
 *
 * No maddubs here can saturate: the unsigned operand is at most 63 (or 128
 * for |x| of a signed byte against y in [-127, 127], which our activation
 * quantizers guarantee), so a pair is at most 2 * 128 * 127 < 32767. */
#include <immintrin.h>
#include <string.h>

#include "tensor/kernels_x86.h"
#include "tensor/quants.h"

/* Everything inlines into the block loops, so constants are built once per
 * call rather than once per block. */
#define INLINE static inline __attribute__((always_inline))

/* ---- small helpers ---- */

INLINE float fp16(tensor_half h) { return _cvtsh_ss(h); }

INLINE int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

INLINE __m256i loadu256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
INLINE __m128i loadu128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }

/* int16 pairs to int32. */
INLINE __m256i widen16(__m256i p) { return _mm256_madd_epi16(p, _mm256_set1_epi16(1)); }

/* Sums of x*y over each 4 bytes as int32, x and y signed (y != -128):
 * maddubs needs an unsigned left operand, so x's sign moves onto y. */
INLINE __m256i dot_s8(__m256i x, __m256i y) {
    return widen16(_mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x)));
}

/* Sums of (xu - off)*y over each 4 bytes as int32, xu unsigned and small.
 * Two maddubs beat shifting x to signed and the two sign operations. */
INLINE __m256i dot_u8_off(__m256i xu, __m256i y, __m256i off) {
    __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(xu, y), _mm256_maddubs_epi16(off, y));
    return widen16(p);
}

/* 16 bytes of packed nibbles to 32 bytes: the low nibbles are elements
 * 0..15, the high nibbles 16..31 (the order of Q4_0/Q4_1/Q5_0/Q5_1). */
INLINE __m256i unpack_nibbles(const uint8_t *q) {
    /* the 16 bytes in both halves (a load, no shuffle), the upper shifted */
    const __m256i b = _mm256_broadcastsi128_si256(loadu128(q));
    return _mm256_and_si256(_mm256_srlv_epi64(b, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
}

/* Byte j is 0xFF where bit j of the 32 bits at qh is set (the fifth bits
 * of Q5_0/Q5_1): each byte picks its source byte, then tests its own bit. */
INLINE __m256i bits_to_bytes(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const __m256i pick = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                           0x0101010101010101, 0);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), pick);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* Q5_0/Q5_1 quants 0..31: the fifth bit adds 16. */
INLINE __m256i unpack_q5(const uint8_t *qs, const uint8_t *qh) {
    return _mm256_or_si256(unpack_nibbles(qs), _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
}

/* Broadcast int16 lane k of both 128-bit halves of v to all of that half. */
#define BCAST16(v, k) _mm256_shuffle_epi8((v), _mm256_set1_epi16((short)(((2 * (k) + 1) << 8) | (2 * (k)))))
/* The low half takes int16 lane k of v (which holds the same 8 scales in
 * both halves), the high half lane k + 1: the scales of two consecutive
 * 16-element sub-blocks of a 32-byte product vector. (Built with
 * _mm256_set_epi64x so compilers fold it to a constant.) */
#define REP16(w) ((long long)((w) * 0x0001000100010001ull))
#define PAIR16(v, k) _mm256_shuffle_epi8((v), _mm256_set_epi64x( \
    REP16(((2 * (k) + 3) << 8) | (2 * (k) + 2)), REP16(((2 * (k) + 3) << 8) | (2 * (k) + 2)), \
    REP16(((2 * (k) + 1) << 8) | (2 * (k))), REP16(((2 * (k) + 1) << 8) | (2 * (k)))))

/* ---- Q8_0, Q4_0, Q5_0 against Q8_0 ---- */

/* Block scales come from a half-to-float table (kernels_x86.h says why),
 * filled by tensor_kernels_avx2(). */
float tensor_x86_half_table[1 << 16];

INLINE float half_tab(const void *p) { return tensor_x86_half(p); }

INLINE __m256 scale2(const void *xd, const void *yd) { return _mm256_set1_ps(half_tab(xd) * half_tab(yd)); }

INLINE __m256 blk_q8_0(const block_q8_0 *x, const block_q8_0 *y, __m256 acc) {
    __m256i p = dot_s8(loadu256(x->qs), loadu256(y->qs));
    return _mm256_fmadd_ps(scale2(&x->d, &y->d), _mm256_cvtepi32_ps(p), acc);
}

INLINE __m256 blk_q4_0(const block_q4_0 *x, const block_q8_0 *y, __m256 acc) {
    __m256i p = dot_u8_off(unpack_nibbles(x->qs), loadu256(y->qs), _mm256_set1_epi8(8));
    return _mm256_fmadd_ps(scale2(&x->d, &y->d), _mm256_cvtepi32_ps(p), acc);
}

INLINE __m256 blk_q5_0(const block_q5_0 *x, const block_q8_0 *y, __m256 acc) {
    __m256i p = dot_u8_off(unpack_q5(x->qs, x->qh), loadu256(y->qs), _mm256_set1_epi8(16));
    return _mm256_fmadd_ps(scale2(&x->d, &y->d), _mm256_cvtepi32_ps(p), acc);
}

/* The block loop: two blocks an iteration into two accumulators. */
#define DOT_BLOCKS(BLK, n, s, vx, vy, XT, YT, QK) do { \
    const XT *x_ = (vx); const YT *y_ = (vy); \
    const int nb_ = (n) / (QK); \
    __m256 a0_ = _mm256_setzero_ps(), a1_ = _mm256_setzero_ps(); \
    int i_ = 0; \
    for (; i_ + 1 < nb_; i_ += 2) { \
        a0_ = BLK(&x_[i_], &y_[i_], a0_); \
        a1_ = BLK(&x_[i_ + 1], &y_[i_ + 1], a1_); \
    } \
    if (i_ < nb_) a0_ = BLK(&x_[i_], &y_[i_], a0_); \
    *(s) = hsum_ps(_mm256_add_ps(a0_, a1_)); \
} while (0)

static void vec_dot_q8_0(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(blk_q8_0, n, s, vx, vy, block_q8_0, block_q8_0, QK8_0);
}
static void vec_dot_q4_0(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(blk_q4_0, n, s, vx, vy, block_q4_0, block_q8_0, QK4_0);
}
static void vec_dot_q5_0(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(blk_q5_0, n, s, vx, vy, block_q5_0, block_q8_0, QK5_0);
}

/* ---- Q4_1, Q5_1 against Q8_1: x = d*q + m, so the m part is m * y.s ---- */

/* The block's four halves (x.d, x.m adjacent, y.d, y.s adjacent) in one
 * conversion: lanes [x.d*y.d, x.m*y.s, ...]. */
INLINE __m128 dm_products(const void *xdm, const void *yds) {
    uint32_t a, b;
    memcpy(&a, xdm, 4);
    memcpy(&b, yds, 4);
    const __m128 v = _mm_cvtph_ps(_mm_cvtsi32_si128((int)a));
    const __m128 w = _mm_cvtph_ps(_mm_cvtsi32_si128((int)b));
    return _mm_mul_ps(v, w);
}

/* Q4_1/Q5_1 block: acc += d*dy * sum(q*y); acc_ms lane 1 += m * y.s. */
INLINE __m256 blk_x_1(__m256i q, const void *xdm, const block_q8_1 *y, __m256 acc, __m128 *acc_ms) {
    const __m128 dm = dm_products(xdm, &y->d);
    *acc_ms = _mm_add_ps(*acc_ms, dm);
    const __m256i p = widen16(_mm256_maddubs_epi16(q, loadu256(y->qs)));
    return _mm256_fmadd_ps(_mm256_broadcastss_ps(dm), _mm256_cvtepi32_ps(p), acc);
}

static void vec_dot_q4_1(int n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    __m128 ms = _mm_setzero_ps();
    for (int i = 0; i < n / QK4_1; i++) acc = blk_x_1(unpack_nibbles(x[i].qs), &x[i], &y[i], acc, &ms);
    *s = hsum_ps(acc) + _mm_cvtss_f32(_mm_movehdup_ps(ms));
}

static void vec_dot_q5_1(int n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    __m128 ms = _mm_setzero_ps();
    for (int i = 0; i < n / QK5_1; i++) {
        __m256i q = unpack_q5(x[i].qs, x[i].qh);
        acc = blk_x_1(q, &x[i], &y[i], acc, &ms);
    }
    *s = hsum_ps(acc) + _mm_cvtss_f32(_mm_movehdup_ps(ms));
}

/* ---- K-quants against Q8_K (float d, bsums = sums of each 16 y) ---- */

/* The 12 bytes of 6-bit scales and mins of Q4_K/Q5_K as 16 bytes: the
 * eight scales, then the eight mins. */
INLINE __m128i k4_scales_mins(const uint8_t *q) {
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    return _mm_setr_epi32((int)(a & m6), (int)((c & m4) | ((a >> 6) & m2) << 4),
                          (int)(b & m6), (int)(((c >> 4) & m4) | ((b >> 6) & m2) << 4));
}

/* Sum over the eight 32-element sub-blocks of min * sum(y), as 4 int32. */
INLINE __m128i k4_mins_dot(__m256i scales_mins, const int16_t *bsums) {
    __m256i b = loadu256(bsums);
    __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    return _mm_madd_epi16(_mm256_extracti128_si256(scales_mins, 1), pairs);
}

/* Byte value 0x10 where bit b (a constant) of each byte of qh is set. */
INLINE __m256i bit_to_0x10(__m256i qh, int b) {
    __m256i v = b < 4 ? _mm256_slli_epi16(qh, 4 - b) : _mm256_srli_epi16(qh, b - 4);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* 64 elements of Q4_K/Q5_K: low nibbles of 32 bytes are sub-block 2j, high
 * nibbles sub-block 2j+1; qh (Q5_K only) adds the fifth bits. */
INLINE __m256i k45_chunk(const uint8_t *q4, const int8_t *q8, __m256i sc, const __m256i *qh, int j) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i bits = loadu256(q4 + 32 * j);
    __m256i lo = _mm256_and_si256(bits, m4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
    if (qh) {
        lo = _mm256_or_si256(lo, bit_to_0x10(*qh, 2 * j));
        hi = _mm256_or_si256(hi, bit_to_0x10(*qh, 2 * j + 1));
    }
    __m256i pl = _mm256_madd_epi16(BCAST16(sc, 2 * j), _mm256_maddubs_epi16(lo, loadu256(q8 + 64 * j)));
    __m256i ph = _mm256_madd_epi16(BCAST16(sc, 2 * j + 1), _mm256_maddubs_epi16(hi, loadu256(q8 + 64 * j + 32)));
    return _mm256_add_epi32(pl, ph);
}

/* One Q4_K or Q5_K block (they share the header layout up to qs; qh is
 * NULL for Q4_K). acc gets d * sum(sc*q*y), acc_m dmin * sum(m * bsums). */
INLINE __m256 k45_block(const uint8_t *scales, tensor_half d16, tensor_half dmin16, const uint8_t *qs,
                        const uint8_t *qhp, const block_q8_K *y, __m256 acc, __m128 *acc_m) {
    __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(scales));
    const float dmin = -y->d * half_tab(&dmin16);
    *acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(k4_mins_dot(sm, y->bsums)), *acc_m);
    const __m256i sc = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm));
    __m256i qh = qhp ? loadu256(qhp) : _mm256_setzero_si256();
    const __m256i *q = qhp ? &qh : NULL;
    __m256i s01 = _mm256_add_epi32(k45_chunk(qs, y->qs, sc, q, 0), k45_chunk(qs, y->qs, sc, q, 1));
    __m256i s23 = _mm256_add_epi32(k45_chunk(qs, y->qs, sc, q, 2), k45_chunk(qs, y->qs, sc, q, 3));
    const float d = y->d * half_tab(&d16);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_add_epi32(s01, s23)), acc);
}

static void vec_dot_q4_K(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++)
        acc = k45_block(x[i].scales, x[i].d, x[i].dmin, x[i].qs, NULL, &y[i], acc, &acc_m);
    *s = hsum_ps(acc) + hsum_ps128(acc_m);
}

static void vec_dot_q5_K(int n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++)
        acc = k45_block(x[i].scales, x[i].d, x[i].dmin, x[i].qs, x[i].qh, &y[i], acc, &acc_m);
    *s = hsum_ps(acc) + hsum_ps128(acc_m);
}

/* 128 elements of Q6_K: 64 bytes of low nibbles, 32 bytes of 2-bit highs,
 * scales sc (8 int16 of this half in both 128-bit lanes). Quants are
 * unsigned here; the -32 offset is taken off once per block via bsums. */
INLINE __m256i q6k_half(const uint8_t *ql, const uint8_t *qh, const int8_t *q8, __m256i sc) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    const __m256i b1 = loadu256(ql), b2 = loadu256(ql + 32), bh = loadu256(qh);
    __m256i q0 = _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_slli_epi16(_mm256_and_si256(bh, m2), 4));
    __m256i q1 = _mm256_or_si256(_mm256_and_si256(b2, m4),
                                 _mm256_slli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8(0x0C)), 2));
    __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4),
                                 _mm256_and_si256(bh, _mm256_set1_epi8(0x30)));
    __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4),
                                 _mm256_srli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8((char)0xC0)), 2));
    __m256i p0 = _mm256_madd_epi16(PAIR16(sc, 0), _mm256_maddubs_epi16(q0, loadu256(q8)));
    __m256i p1 = _mm256_madd_epi16(PAIR16(sc, 2), _mm256_maddubs_epi16(q1, loadu256(q8 + 32)));
    __m256i p2 = _mm256_madd_epi16(PAIR16(sc, 4), _mm256_maddubs_epi16(q2, loadu256(q8 + 64)));
    __m256i p3 = _mm256_madd_epi16(PAIR16(sc, 6), _mm256_maddubs_epi16(q3, loadu256(q8 + 96)));
    return _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3));
}

INLINE __m256 q6k_block(const block_q6_K *x, const block_q8_K *y, __m256 acc) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(x->scales));
    /* 32 * sum(sc * y) is the -32 offset of every quant. */
    const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, loadu256(y->bsums)), 5);
    const __m256i sc_a = _mm256_permute2x128_si256(sc16, sc16, 0x00);
    const __m256i sc_b = _mm256_permute2x128_si256(sc16, sc16, 0x11);
    __m256i sumi = _mm256_add_epi32(q6k_half(x->ql, x->qh, y->qs, sc_a),
                                    q6k_half(x->ql + 64, x->qh + 32, y->qs + 128, sc_b));
    sumi = _mm256_sub_epi32(sumi, off);
    return _mm256_fmadd_ps(_mm256_set1_ps(y->d * fp16(x->d)), _mm256_cvtepi32_ps(sumi), acc);
}

static void vec_dot_q6_K(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(q6k_block, n, s, vx, vy, block_q6_K, block_q8_K, QK_K);
}

/* 128 elements of Q2_K/Q3_K: four 2-bit planes of 32 bytes; sc holds the 8
 * scales of this half in both lanes; hneg (Q3_K) is for each plane the
 * bytes (4 where the high bit is clear), subtracted as part of the value. */
INLINE __m256i k23_half(const uint8_t *q2, const int8_t *q8, __m256i sc, const __m256i *hneg) {
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i bits = loadu256(q2);
    __m256i p[4];
    for (int k = 0; k < 4; k++) {
        __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
        __m256i y8 = loadu256(q8 + 32 * k);
        __m256i prod = _mm256_maddubs_epi16(q, y8);
        if (hneg) prod = _mm256_sub_epi16(prod, _mm256_maddubs_epi16(hneg[k], y8));
        p[k] = _mm256_madd_epi16(PAIR16(sc, 2 * k), prod);
    }
    return _mm256_add_epi32(_mm256_add_epi32(p[0], p[1]), _mm256_add_epi32(p[2], p[3]));
}

INLINE __m256 q2k_block(const block_q2_K *x, const block_q8_K *y, __m256 acc) {
    const __m128i packed = loadu128(x->scales);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, m4));
    const __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
    const __m256i mins = _mm256_madd_epi16(mn16, loadu256(y->bsums));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(-y->d * fp16(x->dmin)), _mm256_cvtepi32_ps(mins), acc);
    __m256i sumi = _mm256_add_epi32(k23_half(x->qs, y->qs, _mm256_permute2x128_si256(sc16, sc16, 0x00), NULL),
                                    k23_half(x->qs + 32, y->qs + 128, _mm256_permute2x128_si256(sc16, sc16, 0x11), NULL));
    return _mm256_fmadd_ps(_mm256_set1_ps(y->d * fp16(x->d)), _mm256_cvtepi32_ps(sumi), acc);
}

static void vec_dot_q2_K(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(q2k_block, n, s, vx, vy, block_q2_K, block_q8_K, QK_K);
}

/* The 16 signed 6-bit scales of Q3_K (minus 32) as int16. */
INLINE __m256i q3k_scales(const uint8_t *q) {
    uint32_t a[3];
    memcpy(a, q, 12);
    const uint32_t m4 = 0x0f0f0f0f, m2 = 0x03030303;
    __m128i s = _mm_setr_epi32((int)((a[0] & m4) | ((a[2] & m2) << 4)),
                               (int)((a[1] & m4) | (((a[2] >> 2) & m2) << 4)),
                               (int)(((a[0] >> 4) & m4) | (((a[2] >> 4) & m2) << 4)),
                               (int)(((a[1] >> 4) & m4) | (((a[2] >> 6) & m2) << 4)));
    return _mm256_cvtepi8_epi16(_mm_sub_epi8(s, _mm_set1_epi8(32)));
}

/* 4 where bit b (a constant) of each hmask byte is clear, else 0. */
INLINE __m256i q3k_hneg(__m256i hm, int b) {
    __m256i clear = _mm256_andnot_si256(hm, _mm256_set1_epi8((char)(1 << b)));
    __m256i v = b < 2 ? _mm256_slli_epi16(clear, 2 - b) : _mm256_srli_epi16(clear, b - 2);
    return _mm256_and_si256(v, _mm256_set1_epi8(4));
}

INLINE __m256 q3k_block(const block_q3_K *x, const block_q8_K *y, __m256 acc) {
    const __m256i sc16 = q3k_scales(x->scales);
    const __m256i hm = loadu256(x->hmask);
    __m256i h0[4], h1[4];
    for (int k = 0; k < 4; k++) {
        h0[k] = q3k_hneg(hm, k);
        h1[k] = q3k_hneg(hm, 4 + k);
    }
    __m256i sumi = _mm256_add_epi32(k23_half(x->qs, y->qs, _mm256_permute2x128_si256(sc16, sc16, 0x00), h0),
                                    k23_half(x->qs + 32, y->qs + 128, _mm256_permute2x128_si256(sc16, sc16, 0x11), h1));
    return _mm256_fmadd_ps(_mm256_set1_ps(y->d * fp16(x->d)), _mm256_cvtepi32_ps(sumi), acc);
}

static void vec_dot_q3_K(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(q3k_block, n, s, vx, vy, block_q3_K, block_q8_K, QK_K);
}

/* A decoded superblock of 256 quants, as a tile kernel keeps it (see
 * "superblock tiles"): Q2_K's quants or Q3_K's q + 4h (0..7; vector
 * 4h + k: half h, plane k) with their scales (and Q2_K's mins), or
 * IQ4_XS's values, their magnitudes and their scales. */
typedef struct {
    __m256i q[8], aq[8], sc[8];
    __m256i mn; /* Q2_K: the 16 mins as int16 */
    float d, dmin;
} sb_decoded;

/* PAIR16 of each half of sc16 for each of its four planes. */
INLINE void k23_plane_scales(__m256i sc16, __m256i sc[8]) {
    const __m256i halves[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                               _mm256_permute2x128_si256(sc16, sc16, 0x11)};
    for (int h = 0; h < 2; h++) {
        sc[4 * h + 0] = PAIR16(halves[h], 0);
        sc[4 * h + 1] = PAIR16(halves[h], 2);
        sc[4 * h + 2] = PAIR16(halves[h], 4);
        sc[4 * h + 3] = PAIR16(halves[h], 6);
    }
}

INLINE void q3k_decode_block(const block_q3_K *x, sb_decoded *D) {
    const __m256i hm = loadu256(x->hmask), m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    for (int h = 0; h < 2; h++) {
        const __m256i bits = loadu256(x->qs + 32 * h);
        for (int k = 0; k < 4; k++) {
            const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
            D->q[4 * h + k] = _mm256_sub_epi8(_mm256_add_epi8(q, four), q3k_hneg(hm, 4 * h + k));
        }
    }
    k23_plane_scales(q3k_scales(x->scales), D->sc);
    D->d = fp16(x->d);
}

INLINE void q2k_decode_block(const block_q2_K *x, sb_decoded *D) {
    const __m128i packed = loadu128(x->scales), m4 = _mm_set1_epi8(0x0F);
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; h++) {
        const __m256i bits = loadu256(x->qs + 32 * h);
        for (int k = 0; k < 4; k++) D->q[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
    }
    k23_plane_scales(_mm256_cvtepu8_epi16(_mm_and_si128(packed, m4)), D->sc);
    D->mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
    D->d = fp16(x->d);
    D->dmin = fp16(x->dmin);
}

/* One decoded Q2_K / Q3_K superblock against one token's block:
 * k23_half's sums (Q3_K: less y4, the 4 * y of each plane). */
INLINE __m256i k23_tile_sum(const sb_decoded *D, const block_q8_K *y, const __m256i *y4) {
    __m256i half[2];
    for (int h = 0; h < 2; h++) {
        __m256i p[4];
        for (int k = 0; k < 4; k++) {
            const int v = 4 * h + k;
            __m256i prod = _mm256_maddubs_epi16(D->q[v], loadu256(y->qs + 32 * v));
            if (y4) prod = _mm256_sub_epi16(prod, y4[v]);
            p[k] = _mm256_madd_epi16(D->sc[v], prod);
        }
        half[h] = _mm256_add_epi32(_mm256_add_epi32(p[0], p[1]), _mm256_add_epi32(p[2], p[3]));
    }
    return _mm256_add_epi32(half[0], half[1]);
}

/* ---- table formats: IQ4_NL, MXFP4 (against Q8_0), IQ4_XS (against Q8_K) ---- */

static const int8_t IQ4NL_VALUES[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
/* e2m1 magnitudes doubled to integers; the block scale is halved to match. */
static const int8_t MXFP4_VALUES[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* 32 4-bit indices (Q4_0 element order) looked up in a 16-entry table. */
INLINE __m256i lookup_nibbles(const uint8_t *q, __m256i table) { return _mm256_shuffle_epi8(table, unpack_nibbles(q)); }

INLINE __m256 blk_iq4_nl(const block_iq4_nl *x, const block_q8_0 *y, __m256 acc) {
    const __m256i table = _mm256_broadcastsi128_si256(loadu128(IQ4NL_VALUES));
    const __m256i p = dot_s8(lookup_nibbles(x->qs, table), loadu256(y->qs));
    return _mm256_fmadd_ps(scale2(&x->d, &y->d), _mm256_cvtepi32_ps(p), acc);
}

static void vec_dot_iq4_nl(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(blk_iq4_nl, n, s, vx, vy, block_iq4_nl, block_q8_0, QK4_NL);
}

/* 2^(e - 128): half the E8M0 scale, undoing the doubled table; by table
 * (filled at start-up) for the same reason as the halves. */
static float E8M0_HALF[256];

static float e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

INLINE __m256 blk_mxfp4(const block_mxfp4 *x, const block_q8_0 *y, __m256 acc) {
    const __m256i table = _mm256_broadcastsi128_si256(loadu128(MXFP4_VALUES));
    const __m256i p = dot_s8(lookup_nibbles(x->qs, table), loadu256(y->qs));
    return _mm256_fmadd_ps(_mm256_set1_ps(half_tab(&y->d) * E8M0_HALF[x->e]), _mm256_cvtepi32_ps(p), acc);
}

static void vec_dot_mxfp4(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(blk_mxfp4, n, s, vx, vy, block_mxfp4, block_q8_0, QK_MXFP4);
}

/* The tile kernels kept beside a vec_dot: each output's two block
 * accumulators (even and odd blocks, as DOT_BLOCKS keeps them) added and
 * summed as vec_dot ends them; a single token takes vec_dot itself. */
typedef __m256 tile_acc[TENSOR_GEMM_ROWS][TENSOR_GEMM_COLS][2];

INLINE void tile_store(float *s, size_t s_stride, tile_acc acc, int nr, int nc) {
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < nc; c++)
            s[(size_t)c * s_stride + (size_t)r] = hsum_ps(_mm256_add_ps(acc[r][c][0], acc[r][c][1]));
}

#define TILE_KERNEL(name, T, LOOP) \
    static void gemm_##name(int n, float *s, size_t s_stride, const void *x, size_t x_stride, const void *y, \
                            size_t y_stride, int nr, int nc) { \
        if (nc == 1) \
            for (int r = 0; r < nr; r++) vec_dot_##name(n, &s[r], (const uint8_t *)x + (size_t)r * x_stride, y); \
        else LOOP(T, n, s, s_stride, x, x_stride, y, y_stride, nr, nc); \
    }

/* MXFP4 and IQ4_NL tiles: their vec_dot's arithmetic (the same int32
 * lanes, float steps and order, so the same bits; a single token takes
 * vec_dot itself), with a row's blocks decoded once a call for all the
 * tile's tokens instead of once per pair: the table lookups, the
 * magnitudes maddubs wants and the blocks' scales, LUT_CHUNK blocks at a
 * time. */
#define LUT_CHUNK 64
typedef struct {
    __m256i v[LUT_CHUNK], av[LUT_CHUNK]; /* the quants' values, and their magnitudes */
    __m256 d[LUT_CHUNK];                 /* the blocks' scales, in every lane */
} lut_decoded;

INLINE void lut_decode(enum tensor_type t, const uint8_t *row, int b0, int nb, lut_decoded *D) {
    const __m256i table = _mm256_broadcastsi128_si256(loadu128(t == TENSOR_MXFP4 ? MXFP4_VALUES : IQ4NL_VALUES));
    for (int j = 0; j < nb; j++) {
        const uint8_t *qs;
        if (t == TENSOR_MXFP4) {
            const block_mxfp4 *x = (const block_mxfp4 *)row + b0 + j;
            qs = x->qs;
            D->d[j] = _mm256_set1_ps(E8M0_HALF[x->e]);
        } else {
            const block_iq4_nl *x = (const block_iq4_nl *)row + b0 + j;
            qs = x->qs;
            D->d[j] = _mm256_set1_ps(half_tab(&x->d));
        }
        D->v[j] = lookup_nibbles(qs, table);
        D->av[j] = _mm256_sign_epi8(D->v[j], D->v[j]);
    }
}

/* blk_mxfp4 / blk_iq4_nl on decoded block j against activation block y
 * of scale yd: the scales' product in every lane is the scalar one. */
INLINE __m256 lut_step(const lut_decoded *D, int j, const block_q8_0 *y, const float *yd, __m256 acc) {
    const __m256i p = widen16(_mm256_maddubs_epi16(D->av[j], _mm256_sign_epi8(loadu256(y->qs), D->v[j])));
    return _mm256_fmadd_ps(_mm256_mul_ps(D->d[j], _mm256_broadcast_ss(yd)), _mm256_cvtepi32_ps(p), acc);
}

/* Decoded blocks 0 .. k-1 of a row against ncol (1 or 2) tokens' blocks
 * yb[c] of scales yd[c], into each token's even and odd accumulators
 * a[c]: two tokens a pass share the decoded vectors' loads. */
INLINE void lut_cols(const lut_decoded *D, int k, const block_q8_0 *const yb[2], const float *const yd[2],
                     __m256 (*a)[2], int ncol) {
    __m256 even[2], odd[2];
    for (int c = 0; c < ncol; c++) even[c] = a[c][0], odd[c] = a[c][1];
    int j = 0;
    for (; j + 1 < k; j += 2)
        for (int c = 0; c < ncol; c++) {
            even[c] = lut_step(D, j, yb[c] + j, yd[c] + j, even[c]);
            odd[c] = lut_step(D, j + 1, yb[c] + j + 1, yd[c] + j + 1, odd[c]);
        }
    for (int c = 0; c < ncol && j < k; c++) even[c] = lut_step(D, j, yb[c] + j, yd[c] + j, even[c]);
    for (int c = 0; c < ncol; c++) a[c][0] = even[c], a[c][1] = odd[c];
}

/* A chunk of blocks at a time: the tokens' scales as floats once, then
 * each row's blocks decoded once for all the tokens. */
INLINE void gemm_lut(enum tensor_type t, int n, float *s, size_t s_stride, const uint8_t *x, size_t x_stride,
                     const uint8_t *y, size_t y_stride, int nr, int nc) {
    const int nb = n / 32;
    lut_decoded D;
    float yd[TENSOR_GEMM_COLS][LUT_CHUNK];
    tile_acc acc;
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < nc; c++) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
    for (int b0 = 0; b0 < nb; b0 += LUT_CHUNK) { /* b0 even: a block's parity is j's */
        const int k = nb - b0 < LUT_CHUNK ? nb - b0 : LUT_CHUNK;
        for (int c = 0; c < nc; c++)
            for (int j = 0; j < k; j++)
                yd[c][j] = half_tab(&((const block_q8_0 *)(y + (size_t)c * y_stride) + b0 + j)->d);
        for (int r = 0; r < nr; r++) {
            lut_decode(t, x + (size_t)r * x_stride, b0, k, &D);
            for (int c = 0; c < nc; c += 2) {
                const int c1 = c + 1 < nc ? c + 1 : c; /* a lone last token: its own pair, used once */
                const block_q8_0 *yb[2] = {(const block_q8_0 *)(y + (size_t)c * y_stride) + b0,
                                           (const block_q8_0 *)(y + (size_t)c1 * y_stride) + b0};
                const float *ydc[2] = {yd[c], yd[c1]};
                if (c1 > c) lut_cols(&D, k, yb, ydc, acc[r] + c, 2);
                else lut_cols(&D, k, yb, ydc, acc[r] + c, 1);
            }
        }
    }
    tile_store(s, s_stride, acc, nr, nc);
}

TILE_KERNEL(mxfp4, TENSOR_MXFP4, gemm_lut)
TILE_KERNEL(iq4_nl, TENSOR_IQ4_NL, gemm_lut)

/* IQ4_XS sub-block ib's 6-bit scale, less 32: four low bits from
 * scales_l, two high ones from scales_h. */
INLINE short iq4xs_scale(const block_iq4_xs *x, int ib) {
    return (short)((((x->scales_l[ib / 2] >> 4 * (ib & 1)) & 0xF) | (((x->scales_h >> 2 * ib) & 3) << 4)) - 32);
}

/* IQ4_XS: eight 32-element sub-blocks with 6-bit scales (minus 32), two a
 * step; maddubs pairs stay below 2 * 127 * 127, then madd applies the scale. */
INLINE __m256 iq4xs_block(const block_iq4_xs *x, const block_q8_K *y, __m256 acc) {
    const __m256i table = _mm256_broadcastsi128_si256(loadu128(IQ4NL_VALUES));
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < QK_K / 32; ib += 2) {
        const short ls1 = iq4xs_scale(x, ib), ls2 = iq4xs_scale(x, ib + 1);
        const __m256i q1 = lookup_nibbles(x->qs + 16 * ib, table), q2 = lookup_nibbles(x->qs + 16 * ib + 16, table);
        const __m256i y1 = loadu256(y->qs + 32 * ib), y2 = loadu256(y->qs + 32 * ib + 32);
        const __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(q1, q1), _mm256_sign_epi8(y1, q1));
        const __m256i p2 = _mm256_maddubs_epi16(_mm256_sign_epi8(q2, q2), _mm256_sign_epi8(y2, q2));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(p1, _mm256_set1_epi16(ls1)),
                                                       _mm256_madd_epi16(p2, _mm256_set1_epi16(ls2))));
    }
    return _mm256_fmadd_ps(_mm256_set1_ps(half_tab(&x->d) * y->d), _mm256_cvtepi32_ps(sumi), acc);
}

static void vec_dot_iq4_xs(int n, float *s, const void *vx, const void *vy) {
    DOT_BLOCKS(iq4xs_block, n, s, vx, vy, block_iq4_xs, block_q8_K, QK_K);
}

/* ---- superblock tiles: Q2_K, Q3_K and IQ4_XS ----
 * vec_dot's arithmetic (the same int32 lanes, float steps and order, so
 * the same bits; a single token takes vec_dot itself), with each weight
 * superblock decoded once for all the tokens of the tile instead of once
 * per pair: decoding is most of these dot products. Q3_K: a quant q with
 * its high bit h becomes q + 4h in 0..7, and maddubs(q + 4h, y) -
 * maddubs(4, y) is exactly k23_half's maddubs(q, y) - maddubs(4 - 4h, y),
 * the second term shared by the tile's rows. Q2_K: the quant planes, the
 * scales and the mins (whose FMA comes first). IQ4_XS: the table's values,
 * their magnitudes and the 6-bit scales, as iq4xs_block makes them. */

INLINE void iq4xs_decode_block(const block_iq4_xs *x, sb_decoded *D) {
    const __m256i table = _mm256_broadcastsi128_si256(loadu128(IQ4NL_VALUES));
    for (int ib = 0; ib < QK_K / 32; ib++) {
        D->sc[ib] = _mm256_set1_epi16(iq4xs_scale(x, ib));
        D->q[ib] = lookup_nibbles(x->qs + 16 * ib, table);
        D->aq[ib] = _mm256_sign_epi8(D->q[ib], D->q[ib]);
    }
    D->d = half_tab(&x->d);
}

INLINE __m256i iq4xs_tile_sum(const sb_decoded *D, const block_q8_K *y) {
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < QK_K / 32; ib += 2) {
        const __m256i p1 = _mm256_maddubs_epi16(D->aq[ib], _mm256_sign_epi8(loadu256(y->qs + 32 * ib), D->q[ib]));
        const __m256i p2 =
            _mm256_maddubs_epi16(D->aq[ib + 1], _mm256_sign_epi8(loadu256(y->qs + 32 * ib + 32), D->q[ib + 1]));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(p1, D->sc[ib]),
                                                       _mm256_madd_epi16(p2, D->sc[ib + 1])));
    }
    return sumi;
}

INLINE void gemm_superblocks(enum tensor_type t, int n, float *s, size_t s_stride, const uint8_t *x,
                             size_t x_stride, const uint8_t *y, size_t y_stride, int nr, int nc) {
    const size_t bb = t == TENSOR_Q2_K ? sizeof(block_q2_K) : t == TENSOR_Q3_K ? sizeof(block_q3_K)
                                                                               : sizeof(block_iq4_xs);
    tile_acc acc;
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < nc; c++) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
    for (int i = 0; i < n / QK_K; i++) {
        sb_decoded D[TENSOR_GEMM_ROWS];
        for (int r = 0; r < nr; r++) {
            const uint8_t *blk = x + (size_t)r * x_stride + (size_t)i * bb;
            if (t == TENSOR_Q2_K) q2k_decode_block((const block_q2_K *)blk, &D[r]);
            else if (t == TENSOR_Q3_K) q3k_decode_block((const block_q3_K *)blk, &D[r]);
            else iq4xs_decode_block((const block_iq4_xs *)blk, &D[r]);
        }
        for (int c = 0; c < nc; c++) {
            const block_q8_K *yb = (const block_q8_K *)(y + (size_t)c * y_stride) + i;
            __m256i y4[8];
            for (int v = 0; v < 8 && t == TENSOR_Q3_K; v++)
                y4[v] = _mm256_maddubs_epi16(_mm256_set1_epi8(4), loadu256(yb->qs + 32 * v));
            for (int r = 0; r < nr; r++) {
                __m256 *a = &acc[r][c][i & 1];
                if (t == TENSOR_Q2_K) { /* q2k_block: the mins first */
                    const __m256i mins = _mm256_madd_epi16(D[r].mn, loadu256(yb->bsums));
                    *a = _mm256_fmadd_ps(_mm256_set1_ps(-yb->d * D[r].dmin), _mm256_cvtepi32_ps(mins), *a);
                }
                const __m256i sumi = t == TENSOR_IQ4_XS ? iq4xs_tile_sum(&D[r], yb)
                                                        : k23_tile_sum(&D[r], yb, t == TENSOR_Q3_K ? y4 : NULL);
                *a = _mm256_fmadd_ps(_mm256_set1_ps(D[r].d * yb->d), _mm256_cvtepi32_ps(sumi), *a);
            }
        }
    }
    tile_store(s, s_stride, acc, nr, nc);
}

TILE_KERNEL(q2_K, TENSOR_Q2_K, gemm_superblocks)
TILE_KERNEL(q3_K, TENSOR_Q3_K, gemm_superblocks)
TILE_KERNEL(iq4_xs, TENSOR_IQ4_XS, gemm_superblocks)

/* ---- float types: several accumulators so FMA latency is hidden ---- */

static void vec_dot_f32(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float t = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) t += x[i] * y[i];
    *s = t;
}

INLINE __m256 ld_f16(const tensor_half *p) { return _mm256_cvtph_ps(loadu128(p)); }

static void vec_dot_f16(int n, float *s, const void *vx, const void *vy) {
    const tensor_half *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(ld_f16(x + i), ld_f16(y + i), a0);
        a1 = _mm256_fmadd_ps(ld_f16(x + i + 8), ld_f16(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(ld_f16(x + i + 16), ld_f16(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(ld_f16(x + i + 24), ld_f16(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(ld_f16(x + i), ld_f16(y + i), a0);
    float t = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) t += fp16(x[i]) * fp16(y[i]);
    *s = t;
}

/* A bf16 is the high half of a float: masking gives the odd elements of 16,
 * shifting the even ones. x and y are split alike, so the dot is unchanged. */
INLINE __m256 bf16_odd(__m256i v) { return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xFFFF0000u))); }
INLINE __m256 bf16_even(__m256i v) { return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); }
INLINE float bf16(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

static void vec_dot_bf16(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x0 = loadu256(x + i), y0 = loadu256(y + i), x1 = loadu256(x + i + 16), y1 = loadu256(y + i + 16);
        a0 = _mm256_fmadd_ps(bf16_even(x0), bf16_even(y0), a0);
        a1 = _mm256_fmadd_ps(bf16_odd(x0), bf16_odd(y0), a1);
        a2 = _mm256_fmadd_ps(bf16_even(x1), bf16_even(y1), a2);
        a3 = _mm256_fmadd_ps(bf16_odd(x1), bf16_odd(y1), a3);
    }
    float t = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) t += bf16(x[i]) * bf16(y[i]);
    *s = t;
}

/* ---- activation quantizers ---- */

/* Four vectors of 8 int32 (each within int8) to 32 bytes in order. */
INLINE __m256i pack_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i r = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

INLINE __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* One 32-element block as ggml's x86 code does it: d = amax/127 and the
 * quants are round-to-nearest-even of x * (127/amax). That differs from the
 * scalar reference (x * (1/d), rounded half away from zero) only when
 * x * id lies within an ulp or two of a half. Returns d; q gets the int32
 * quants. */
INLINE float q8_block32(const float *x, __m256i q[4]) {
    __m256 v[4], m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(x + 8 * j);
        m = _mm256_max_ps(m, abs_ps(v[j]));
    }
    const float amax = hmax_ps(m);
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    for (int j = 0; j < 4; j++)
        q[j] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[j], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    return amax / 127.0f;
}

static void quantize_q8_0(const float *x, void *vy, int64_t k) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / QK8_0; i++, x += QK8_0) {
        __m256i q[4];
        y[i].d = _cvtss_sh(q8_block32(x, q), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_si256((__m256i *)y[i].qs, pack_i8(q[0], q[1], q[2], q[3]));
    }
}

static void quantize_q8_1(const float *x, void *vy, int64_t k) {
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / QK8_1; i++, x += QK8_1) {
        __m256i q[4];
        const float d = q8_block32(x, q);
        const int sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
        y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        y[i].s = _cvtss_sh((float)sum * d, _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_si256((__m256i *)y[i].qs, pack_i8(q[0], q[1], q[2], q[3]));
    }
}

/* The signed value of the first element of largest magnitude amax, the one
 * ggml's reference scan picks. */
INLINE float q8k_first_max(const float *x, float amax) {
    const __m256 m = _mm256_set1_ps(amax);
    for (int j = 0; j < QK_K; j += 8) {
        int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + j)), m, _CMP_EQ_OQ));
        if (hit) return x[j + __builtin_ctz((unsigned)hit)];
    }
    return amax; /* not reached for finite input */
}

/* bsums of one Q8_K block from its quants: the sums of each 16. */
INLINE void q8k_bsums(const int8_t *qs, int16_t *bsums) {
    const __m256i ones8 = _mm256_set1_epi8(1);
    __m256i r[2];
    for (int h = 0; h < 2; h++) {
        __m256i w[4];
        for (int g = 0; g < 4; g++)
            w[g] = widen16(_mm256_maddubs_epi16(ones8, loadu256(qs + 128 * h + 32 * g)));
        /* lanes: [sum(0..15) of groups 0..3 | sum(16..31) of groups 0..3] */
        r[h] = _mm256_hadd_epi32(_mm256_hadd_epi32(w[0], w[1]), _mm256_hadd_epi32(w[2], w[3]));
    }
    __m256i p = _mm256_packs_epi32(r[0], r[1]); /* [b0 b2 .. b14 | b1 b3 .. b15] */
    __m128i ev = _mm256_castsi256_si128(p), od = _mm256_extracti128_si256(p, 1);
    _mm_storeu_si128((__m128i *)bsums, _mm_unpacklo_epi16(ev, od));
    _mm_storeu_si128((__m128i *)(bsums + 8), _mm_unpackhi_epi16(ev, od));
}

/* Bit-exact with ggml's quantize_row_q8_K_ref: iscale = -127/max for the
 * signed max of largest magnitude, nearest-even ints, at most 127. */
static void quantize_q8_K(const float *x, void *vy, int64_t k) {
    block_q8_K *y = vy;
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + j)));
        const float amax = hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        const float iscale = -127.0f / q8k_first_max(x, amax);
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int j = 0; j < QK_K; j += 32) {
            __m256i q[4];
            for (int t = 0; t < 4; t++)
                q[t] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * t), vs)), top);
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), pack_i8(q[0], q[1], q[2], q[3]));
        }
        q8k_bsums(y[i].qs, y[i].bsums);
        y[i].d = 1.0f / iscale;
    }
}

static void quantize_f16(const float *x, void *vy, int64_t k) {
    tensor_half *y = vy;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < k; i++) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

/* Round to nearest even; NaNs stay quiet NaNs (as tensor_f32_to_bf16). */
INLINE __m256i f32_to_bf16_32(__m256 f) {
    __m256i x = _mm256_castps_si256(f);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    __m256i q = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(64));
    return _mm256_blendv_epi8(r, q, nan);
}

static void quantize_bf16(const float *x, void *vy, int64_t k) {
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        __m256i p = _mm256_packus_epi32(f32_to_bf16_32(_mm256_loadu_ps(x + i)), f32_to_bf16_32(_mm256_loadu_ps(x + i + 8)));
        _mm256_storeu_si256((__m256i *)(y + i), _mm256_permute4x64_epi64(p, 0xD8));
    }
    for (; i < k; i++) y[i] = tensor_f32_to_bf16(x[i]);
}

/* ---- dequantizers (exactly the scalar arithmetic: no FMA contraction) ---- */

static void dequant_f16(const void *vx, float *y, int64_t k) {
    const tensor_half *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) _mm256_storeu_ps(y + i, ld_f16(x + i));
    for (; i < k; i++) y[i] = fp16(x[i]);
}

static void dequant_bf16(const void *vx, float *y, int64_t k) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(loadu128(x + i)), 16)));
    for (; i < k; i++) y[i] = bf16(x[i]);
}

INLINE void store_i8_scaled(float *y, __m128i q8x16, __m256 d) {
    _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8x16)), d));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q8x16, 8))), d));
}

static void dequant_q8_0(const void *vx, float *y, int64_t k) {
    const block_q8_0 *x = vx;
    for (int64_t i = 0; i < k / QK8_0; i++, y += QK8_0) {
        const __m256 d = _mm256_set1_ps(fp16(x[i].d));
        store_i8_scaled(y, loadu128(x[i].qs), d);
        store_i8_scaled(y + 16, loadu128(x[i].qs + 16), d);
    }
}

static void dequant_q4_0(const void *vx, float *y, int64_t k) {
    const block_q4_0 *x = vx;
    for (int64_t i = 0; i < k / QK4_0; i++, y += QK4_0) {
        const __m256 d = _mm256_set1_ps(fp16(x[i].d));
        __m256i q = _mm256_sub_epi8(unpack_nibbles(x[i].qs), _mm256_set1_epi8(8));
        store_i8_scaled(y, _mm256_castsi256_si128(q), d);
        store_i8_scaled(y + 16, _mm256_extracti128_si256(q, 1), d);
    }
}

/* y = (d*sc) * q - (dmin*m), the order of the scalar reference. */
INLINE void store_u8_affine(float *y, __m128i q8x16, __m256 d, __m256 m) {
    __m256 a = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q8x16));
    __m256 b = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(q8x16, 8)));
    _mm256_storeu_ps(y, _mm256_sub_ps(_mm256_mul_ps(d, a), m));
    _mm256_storeu_ps(y + 8, _mm256_sub_ps(_mm256_mul_ps(d, b), m));
}

static void dequant_q4_K(const void *vx, float *y, int64_t k) {
    const block_q4_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++) {
        uint8_t sm[16];
        _mm_storeu_si128((__m128i *)sm, k4_scales_mins(x[i].scales));
        const float d = fp16(x[i].d), dmin = fp16(x[i].dmin);
        for (int j = 0; j < 4; j++, y += 64) {
            const __m256i b = loadu256(x[i].qs + 32 * j);
            const __m256i lo = _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), _mm256_set1_epi8(0x0F));
            const __m256 d1 = _mm256_set1_ps(d * sm[2 * j]), m1 = _mm256_set1_ps(dmin * sm[8 + 2 * j]);
            const __m256 d2 = _mm256_set1_ps(d * sm[2 * j + 1]), m2 = _mm256_set1_ps(dmin * sm[9 + 2 * j]);
            store_u8_affine(y, _mm256_castsi256_si128(lo), d1, m1);
            store_u8_affine(y + 16, _mm256_extracti128_si256(lo, 1), d1, m1);
            store_u8_affine(y + 32, _mm256_castsi256_si128(hi), d2, m2);
            store_u8_affine(y + 48, _mm256_extracti128_si256(hi, 1), d2, m2);
        }
    }
}

/* y = (d*sc) * (q - 32). */
static void dequant_q6_K(const void *vx, float *y, int64_t k) {
    const block_q6_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = fp16(x[i].d);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
            const int8_t *sc = x[i].scales + 8 * h;
            const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3), off = _mm256_set1_epi8(32);
            const __m256i b1 = loadu256(ql), b2 = loadu256(ql + 32), bh = loadu256(qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_slli_epi16(_mm256_and_si256(bh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(b2, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 6), m3), 4));
            for (int t = 0; t < 4; t++, y += 32) {
                const __m256i v = _mm256_sub_epi8(q[t], off);
                store_i8_scaled(y, _mm256_castsi256_si128(v), _mm256_set1_ps(d * sc[2 * t]));
                store_i8_scaled(y + 16, _mm256_extracti128_si256(v, 1), _mm256_set1_ps(d * sc[2 * t + 1]));
            }
        }
    }
}

void tensor_kernels_avx2(tensor_kernels *k) {
    /* The scale tables, every half and every E8M0 exponent. */
    for (int i = 0; i < 1 << 16; i += 8) {
        const __m128i h = _mm_add_epi16(_mm_set1_epi16((short)i), _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7));
        _mm256_storeu_ps(tensor_x86_half_table + i, _mm256_cvtph_ps(h));
    }
    for (int e = 0; e < 256; e++) E8M0_HALF[e] = e8m0_half((uint8_t)e);
    tensor_vecops_avx2(&k->ops);
    k->vec_dot[TENSOR_F32] = vec_dot_f32;
    k->vec_dot[TENSOR_F16] = vec_dot_f16;
    k->vec_dot[TENSOR_BF16] = vec_dot_bf16;
    k->vec_dot[TENSOR_Q4_0] = vec_dot_q4_0;
    k->vec_dot[TENSOR_Q4_1] = vec_dot_q4_1;
    k->vec_dot[TENSOR_Q5_0] = vec_dot_q5_0;
    k->vec_dot[TENSOR_Q5_1] = vec_dot_q5_1;
    k->vec_dot[TENSOR_Q8_0] = vec_dot_q8_0;
    k->vec_dot[TENSOR_Q2_K] = vec_dot_q2_K;
    k->vec_dot[TENSOR_Q3_K] = vec_dot_q3_K;
    k->vec_dot[TENSOR_Q4_K] = vec_dot_q4_K;
    k->vec_dot[TENSOR_Q5_K] = vec_dot_q5_K;
    k->vec_dot[TENSOR_Q6_K] = vec_dot_q6_K;
    k->vec_dot[TENSOR_IQ4_NL] = vec_dot_iq4_nl;
    k->vec_dot[TENSOR_IQ4_XS] = vec_dot_iq4_xs;
    k->vec_dot[TENSOR_MXFP4] = vec_dot_mxfp4;

    k->from_float[TENSOR_Q8_0] = quantize_q8_0;
    k->from_float[TENSOR_Q8_1] = quantize_q8_1;
    k->from_float[TENSOR_Q8_K] = quantize_q8_K;
    k->from_float[TENSOR_F16] = quantize_f16;
    k->from_float[TENSOR_BF16] = quantize_bf16;

    k->to_float[TENSOR_F16] = dequant_f16;
    k->to_float[TENSOR_BF16] = dequant_bf16;
    k->to_float[TENSOR_Q8_0] = dequant_q8_0;
    k->to_float[TENSOR_Q4_0] = dequant_q4_0;
    k->to_float[TENSOR_Q4_K] = dequant_q4_K;
    k->to_float[TENSOR_Q6_K] = dequant_q6_K;

    tensor_gemm_avx2(k);
    k->gemm[TENSOR_Q2_K] = gemm_q2_K;
    k->gemm[TENSOR_Q3_K] = gemm_q3_K;
    k->gemm[TENSOR_MXFP4] = gemm_mxfp4;
    k->gemm[TENSOR_IQ4_NL] = gemm_iq4_nl;
    k->gemm[TENSOR_IQ4_XS] = gemm_iq4_xs;
}

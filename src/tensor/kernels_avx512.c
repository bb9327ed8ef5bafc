/* tensor: AVX-512 kernels (F/BW/VL/DQ/VNNI), installed only when CPUID
 * reports them; types without one here inherit the AVX2 kernel.
 *
 * Compared with the AVX2 file: the 32-element block types take two blocks
 * per 512-bit register and multiply with VNNI's _mm512_dpbusd_epi32 (unsigned
 * by signed bytes straight into int32); the K-quants take 64 elements per
 * register, and _mm512_dpwssd_epi32 applies the int16 sub-block scales and
 * accumulates in one instruction. Fifth bits become byte masks
 * (_mm512_mask_add_epi8) instead of shuffled bit spreads. Block scales
 * come from the AVX2 file's half table (kernels_x86.h). All loads are
 * unaligned: GGUF rows are only 2-byte aligned. */
#include <immintrin.h>
#include <string.h>

#include "tensor/kernels_x86.h"
#include "tensor/quants.h"

/* Everything inlines into the block loops, so constants are built once per
 * call rather than once per block. */
#define INLINE static inline __attribute__((always_inline))

INLINE __m128i loadu128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
INLINE __m256i loadu256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
INLINE __m512i loadu512(const void *p) { return _mm512_loadu_si512(p); }

/* Two 32-byte rows in one register. */
INLINE __m512i load2x256(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(loadu256(a)), loadu256(b), 1);
}

/* The scales of two blocks: d0 for int32 lanes 0-7, d1 for 8-15. */
INLINE __m512 scale_pair(float d0, float d1) {
    return _mm512_insertf32x8(_mm512_set1_ps(d0), _mm256_set1_ps(d1), 1);
}

/* Sums of x*y over each 4 bytes as int32, x and y signed (y != -128):
 * dpbusd wants an unsigned left operand, so x's sign moves onto y. */
INLINE __m512i dot_s8(__m512i x, __m512i y) {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), zero, y);
    return _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(x), sy);
}

/* Sums of (xu - off)*y over each 4 bytes, xu unsigned: the offset part is a
 * second dpbusd, cheaper than making xu signed and moving signs. */
INLINE __m512i dot_u8_off(__m512i xu, __m512i y, __m512i off) {
    const __m512i zero = _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, xu, y), _mm512_dpbusd_epi32(zero, off, y));
}

/* The 16 bytes of nibbles of two blocks as [lo0 | hi0 | lo1 | hi1]: the
 * element order of Q4_0/Q5_0 blocks, two of them. */
INLINE __m512i nibbles_x2(const uint8_t *q0, const uint8_t *q1) {
    __m512i v = _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(loadu128(q0)), 0xFF00, loadu128(q1));
    v = _mm512_srlv_epi64(v, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4));
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

/* Adds 16 to the bytes whose fifth bit (Q5_0 qh, two blocks) is set. */
INLINE __m512i add_bit4_x2(__m512i q, const uint8_t *qh0, const uint8_t *qh1) {
    uint32_t a, b;
    memcpy(&a, qh0, 4);
    memcpy(&b, qh1, 4);
    const __mmask64 k = _cvtu64_mask64((uint64_t)a | (uint64_t)b << 32);
    return _mm512_mask_add_epi8(q, k, q, _mm512_set1_epi8(16));
}

/* ---- Q8_0, Q4_0, Q5_0 against Q8_0, two blocks a call ---- */

/* Scales from the half table of the AVX2 file (see kernels_x86.h). */
INLINE __m512 scales2(const tensor_half *xd0, const tensor_half *xd1, const block_q8_0 *y) {
    return scale_pair(tensor_x86_half(xd0) * tensor_x86_half(&y[0].d), tensor_x86_half(xd1) * tensor_x86_half(&y[1].d));
}

INLINE __m512 blk2_q8_0(const block_q8_0 *x, const block_q8_0 *y, __m512 acc) {
    __m512i p = dot_s8(load2x256(x[0].qs, x[1].qs), load2x256(y[0].qs, y[1].qs));
    return _mm512_fmadd_ps(scales2(&x[0].d, &x[1].d, y), _mm512_cvtepi32_ps(p), acc);
}

INLINE __m512 blk2_q4_0(const block_q4_0 *x, const block_q8_0 *y, __m512 acc) {
    __m512i q = nibbles_x2(x[0].qs, x[1].qs);
    __m512i p = dot_u8_off(q, load2x256(y[0].qs, y[1].qs), _mm512_set1_epi8(8));
    return _mm512_fmadd_ps(scales2(&x[0].d, &x[1].d, y), _mm512_cvtepi32_ps(p), acc);
}

INLINE __m512 blk2_q5_0(const block_q5_0 *x, const block_q8_0 *y, __m512 acc) {
    __m512i q = add_bit4_x2(nibbles_x2(x[0].qs, x[1].qs), x[0].qh, x[1].qh);
    __m512i p = dot_u8_off(q, load2x256(y[0].qs, y[1].qs), _mm512_set1_epi8(16));
    return _mm512_fmadd_ps(scales2(&x[0].d, &x[1].d, y), _mm512_cvtepi32_ps(p), acc);
}

/* Four blocks an iteration into two accumulators; an odd last block is
 * paired with an all-zero block (scale 0) copied beside it. */
#define DOT_PAIRS(BLK2, n, s, vx, vy, XT, YT, QK) do { \
    const XT *x_ = (vx); const YT *y_ = (vy); \
    const int nb_ = (n) / (QK); \
    __m512 a0_ = _mm512_setzero_ps(), a1_ = _mm512_setzero_ps(); \
    int i_ = 0; \
    for (; i_ + 3 < nb_; i_ += 4) { \
        a0_ = BLK2(&x_[i_], &y_[i_], a0_); \
        a1_ = BLK2(&x_[i_ + 2], &y_[i_ + 2], a1_); \
    } \
    if (i_ + 1 < nb_) { a0_ = BLK2(&x_[i_], &y_[i_], a0_); i_ += 2; } \
    if (i_ < nb_) { \
        XT xl_[2]; YT yl_[2]; \
        memset(xl_, 0, sizeof xl_); memset(yl_, 0, sizeof yl_); \
        xl_[0] = x_[i_]; yl_[0] = y_[i_]; \
        a1_ = BLK2(xl_, yl_, a1_); \
    } \
    *(s) = _mm512_reduce_add_ps(_mm512_add_ps(a0_, a1_)); \
} while (0)

static void vec_dot_q8_0(int n, float *s, const void *vx, const void *vy) {
    DOT_PAIRS(blk2_q8_0, n, s, vx, vy, block_q8_0, block_q8_0, QK8_0);
}
static void vec_dot_q4_0(int n, float *s, const void *vx, const void *vy) {
    DOT_PAIRS(blk2_q4_0, n, s, vx, vy, block_q4_0, block_q8_0, QK4_0);
}
static void vec_dot_q5_0(int n, float *s, const void *vx, const void *vy) {
    DOT_PAIRS(blk2_q5_0, n, s, vx, vy, block_q5_0, block_q8_0, QK5_0);
}

/* ---- K-quants against Q8_K ---- */

/* int16 scales: the low 256 bits take word k of each 128-bit lane of v, the
 * high 256 bits word k + 1 (v holds the same 8 words in every lane). */
INLINE __m512i pick_pair16(__m512i v, int k) {
    const int lo = ((2 * k + 1) << 8) | (2 * k), hi = ((2 * k + 3) << 8) | (2 * k + 2);
    const int dl = lo | lo << 16, dh = hi | hi << 16;
    return _mm512_shuffle_epi8(v, _mm512_set_epi32(dh, dh, dh, dh, dh, dh, dh, dh, dl, dl, dl, dl, dl, dl, dl, dl));
}

/* int16 scales: 128-bit lane l takes word base + l of v. */
INLINE __m512i pick_lanes16(__m512i v, int base) {
    int d[4];
    for (int l = 0; l < 4; l++) {
        const int w = ((2 * (base + l) + 1) << 8) | (2 * (base + l));
        d[l] = w | w << 16;
    }
    return _mm512_shuffle_epi8(v, _mm512_set_epi32(d[3], d[3], d[3], d[3], d[2], d[2], d[2], d[2],
                                                   d[1], d[1], d[1], d[1], d[0], d[0], d[0], d[0]));
}

/* Same as the AVX2 file: the 6-bit scales and mins of Q4_K/Q5_K as 16 bytes. */
INLINE __m128i k4_scales_mins(const uint8_t *q) {
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    return _mm_setr_epi32((int)(a & m6), (int)((c & m4) | ((a >> 6) & m2) << 4),
                          (int)(b & m6), (int)(((c >> 4) & m4) | ((b >> 6) & m2) << 4));
}

/* 64 elements of Q4_K/Q5_K, sub-blocks 2j (low nibbles of 32 bytes) and
 * 2j+1 (high nibbles), accumulated into sumi with their scales. */
INLINE __m512i k45_chunk(const uint8_t *qs, const uint8_t *qh, const int8_t *q8, __m512i sc, int j,
                                __m512i sumi) {
    __m512i q = _mm512_broadcast_i64x4(loadu256(qs + 32 * j));
    q = _mm512_and_si512(_mm512_srlv_epi64(q, _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4)), _mm512_set1_epi8(0x0F));
    if (qh) {
        const __m512i bits = _mm512_broadcast_i64x4(loadu256(qh));
        const __m512i sel = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j))),
                                               _mm256_set1_epi8((char)(1 << (2 * j + 1))), 1);
        q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(bits, sel), q, _mm512_set1_epi8(16));
    }
    __m512i p = _mm512_maddubs_epi16(q, loadu512(q8 + 64 * j));
    return _mm512_dpwssd_epi32(sumi, pick_pair16(sc, 2 * j), p);
}

INLINE __m512 k45_block(const uint8_t *scales, tensor_half d16, tensor_half dmin16, const uint8_t *qs,
                        const uint8_t *qh, const block_q8_K *y, __m512 acc, __m128 *acc_m) {
    const __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(scales));
    const __m256i b = loadu256(y->bsums);
    const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    const __m128i mins = _mm_madd_epi16(_mm256_extracti128_si256(sm, 1), pairs);
    *acc_m = _mm_fmadd_ps(_mm_set1_ps(-y->d * tensor_x86_half(&dmin16)), _mm_cvtepi32_ps(mins), *acc_m);
    const __m512i sc = _mm512_broadcast_i32x4(_mm256_castsi256_si128(sm));
    __m512i sumi = _mm512_setzero_si512();
    for (int j = 0; j < 4; j++) sumi = k45_chunk(qs, qh, y->qs, sc, j, sumi);
    return _mm512_fmadd_ps(_mm512_set1_ps(y->d * tensor_x86_half(&d16)), _mm512_cvtepi32_ps(sumi), acc);
}

static void vec_dot_q4_K(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    __m512 acc = _mm512_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++)
        acc = k45_block(x[i].scales, x[i].d, x[i].dmin, x[i].qs, NULL, &y[i], acc, &acc_m);
    *s = _mm512_reduce_add_ps(acc) + hsum_ps128(acc_m);
}

static void vec_dot_q5_K(int n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    __m512 acc = _mm512_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++)
        acc = k45_block(x[i].scales, x[i].d, x[i].dmin, x[i].qs, x[i].qh, &y[i], acc, &acc_m);
    *s = _mm512_reduce_add_ps(acc) + hsum_ps128(acc_m);
}

/* 128 elements of Q6_K as two registers: [elements 0-31 | 32-63] from the
 * low nibbles and [64-95 | 96-127] from the high ones, the 2-bit highs moved
 * into bits 4-5 by per-half shifts. Quants stay unsigned (0..63); the -32
 * offset is taken off once per block via bsums. */
INLINE __m512i q6k_half(const uint8_t *ql, const uint8_t *qh, const int8_t *q8, __m512i sc8,
                               __m512i sumi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i l = loadu512(ql), h = _mm512_broadcast_i64x4(loadu256(qh));
    const __m512i hlo = _mm512_and_si512(_mm512_sllv_epi64(h, _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2)), m30);
    const __m512i hhi = _mm512_and_si512(_mm512_srlv_epi64(h, _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2)), m30);
    const __m512i qlo = _mm512_or_si512(_mm512_and_si512(l, m4), hlo);
    const __m512i qhi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), hhi);
    sumi = _mm512_dpwssd_epi32(sumi, pick_lanes16(sc8, 0), _mm512_maddubs_epi16(qlo, loadu512(q8)));
    return _mm512_dpwssd_epi32(sumi, pick_lanes16(sc8, 4), _mm512_maddubs_epi16(qhi, loadu512(q8 + 64)));
}

INLINE __m256 q6k_block(const block_q6_K *x, const block_q8_K *y, __m256 acc) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(x->scales));
    const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, loadu256(y->bsums)), 5);
    __m512i sumi = q6k_half(x->ql, x->qh, y->qs, _mm512_broadcast_i32x4(_mm256_castsi256_si128(sc16)),
                            _mm512_setzero_si512());
    sumi = q6k_half(x->ql + 64, x->qh + 32, y->qs + 128,
                    _mm512_broadcast_i32x4(_mm256_extracti128_si256(sc16, 1)), sumi);
    __m256i s = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
    s = _mm256_sub_epi32(s, off);
    return _mm256_fmadd_ps(_mm256_set1_ps(y->d * tensor_x86_half(&x->d)), _mm256_cvtepi32_ps(s), acc);
}

static void vec_dot_q6_K(int n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / QK_K;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        a0 = q6k_block(&x[i], &y[i], a0);
        a1 = q6k_block(&x[i + 1], &y[i + 1], a1);
    }
    if (i < nb) a0 = q6k_block(&x[i], &y[i], a0);
    *s = hsum_ps(_mm256_add_ps(a0, a1));
}

/* ---- float types: 64 elements an iteration, a masked load for the tail ---- */

INLINE __mmask16 tail16(int left) { return (__mmask16)((1u << left) - 1); }

static void vec_dot_f16(int n, float *s, const void *vx, const void *vy) {
    const tensor_half *x = vx, *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
#define F16X16(p) _mm512_cvtph_ps(loadu256(p))
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(F16X16(x + i), F16X16(y + i), a0);
        a1 = _mm512_fmadd_ps(F16X16(x + i + 16), F16X16(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(F16X16(x + i + 32), F16X16(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(F16X16(x + i + 48), F16X16(y + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16) a0 = _mm512_fmadd_ps(F16X16(x + i), F16X16(y + i), a0);
#undef F16X16
    if (i < n) {
        const __mmask16 m = tail16(n - i);
        a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)),
                             _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, y + i)), a1);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* A bf16 is the high half of a float: masking gives the odd elements of 32,
 * shifting the even ones; x and y are split alike. */
INLINE __m512 bf16_odd(__m512i v) { return _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xFFFF0000u))); }
INLINE __m512 bf16_even(__m512i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)); }

static void vec_dot_bf16(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512i x0 = loadu512(x + i), y0 = loadu512(y + i), x1 = loadu512(x + i + 32), y1 = loadu512(y + i + 32);
        a0 = _mm512_fmadd_ps(bf16_even(x0), bf16_even(y0), a0);
        a1 = _mm512_fmadd_ps(bf16_odd(x0), bf16_odd(y0), a1);
        a2 = _mm512_fmadd_ps(bf16_even(x1), bf16_even(y1), a2);
        a3 = _mm512_fmadd_ps(bf16_odd(x1), bf16_odd(y1), a3);
    }
    for (; i < n; i += 32) {
        const __mmask32 m = n - i >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << (n - i)) - 1);
        const __m512i xv = _mm512_maskz_loadu_epi16(m, x + i), yv = _mm512_maskz_loadu_epi16(m, y + i);
        a0 = _mm512_fmadd_ps(bf16_even(xv), bf16_even(yv), a0);
        a1 = _mm512_fmadd_ps(bf16_odd(xv), bf16_odd(yv), a1);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static void vec_dot_f32(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail16(n - i);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), a0);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

void tensor_kernels_avx512(tensor_kernels *k, const tensor_kernels *avx2) {
    k->vec_dot[TENSOR_Q8_0] = vec_dot_q8_0;
    k->vec_dot[TENSOR_Q4_0] = vec_dot_q4_0;
    k->vec_dot[TENSOR_Q5_0] = vec_dot_q5_0;
    k->vec_dot[TENSOR_Q4_K] = vec_dot_q4_K;
    k->vec_dot[TENSOR_Q5_K] = vec_dot_q5_K;
    k->vec_dot[TENSOR_Q6_K] = vec_dot_q6_K;
    k->vec_dot[TENSOR_F16] = vec_dot_f16;
    k->vec_dot[TENSOR_BF16] = vec_dot_bf16;
    k->vec_dot[TENSOR_F32] = vec_dot_f32;
    tensor_gemm_avx512(k, avx2);
}

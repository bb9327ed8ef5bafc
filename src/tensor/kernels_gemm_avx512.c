/* tensor: AVX-512 (VNNI) tile kernels for packed weights, installed by
 * tensor_kernels_avx512() when CPUID reports the instruction set.
 *
 * They read the packed layout of packed_x86.h, so one packing serves both
 * instruction sets, and take the tiles of more than AVX2_COLS activation
 * rows (prompt processing, several sequences at once). Tiles of one or two
 * rows stay with the AVX2 kernels, which decode each quant where it is
 * used and are bound by memory bandwidth there, not by arithmetic.
 *
 * A 512-bit register holds a row group's two panels side by side (panel 0
 * in the low half), so one instruction covers all eight rows, and VNNI
 * fuses products and sums: vpdpbusd (unsigned by signed bytes, four
 * products into each int32) for the K-quants' unsigned quants and for
 * Q8_0/Q4_0/Q5_0 magnitudes against sign-corrected activations, vpdpwssd
 * (int16 pairs into int32) to apply sub-block scales. 32 registers hold
 * the sums of COLS activation rows at once.
 *
 * The results are the AVX2 kernels' bits, so that decode (AVX2) and
 * prefill (here) agree: integer sums are exact in any order, and each
 * row's float steps are the AVX2 file's, in the same order; only the
 * lanes they run in differ. */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "tensor/packed_x86.h"

#if defined(__clang__)
#define ROLLED _Pragma("clang loop unroll(disable)")
#else
#define ROLLED _Pragma("GCC unroll 1")
#endif

#define AVX2_COLS 2 /* tiles of up to this many activation rows go to the AVX2 kernel */
#define COLS 4      /* activation rows a pass over a decoded panel */
/* Prefetch distance in the packed stream, as the AVX2 kernels use. */
#define WIDE_PREFETCH 2048

static tensor_gemm_packed_fn AVX2_PACKED[TENSOR_TYPE_COUNT];

INLINE __m512i pair512(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }
INLINE __m512 pair512_ps(__m256 lo, __m256 hi) {
    return _mm512_castsi512_ps(pair512(_mm256_castps_si256(lo), _mm256_castps_si256(hi)));
}
/* 8 bytes at p in every 64-bit lane. */
INLINE __m512i bcast8(const void *p) {
    long long v;
    memcpy(&v, p, 8);
    return _mm512_set1_epi64(v);
}

/* Row r (0..7) of a sum kept in float lanes 2r and 2r+1: their sum, as the
 * AVX2 store_rows adds them. */
INLINE void store_pairs(float *s, __m512 acc) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256 a = _mm512_castps512_ps256(_mm512_permutexvar_ps(even, acc));
    const __m256 b = _mm512_castps512_ps256(_mm512_permutexvar_ps(odd, acc));
    _mm256_storeu_ps(s, _mm256_add_ps(a, b));
}
/* Row r of a sum kept in float lane 2r alone. */
INLINE void store_even(float *s, __m512 acc) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm256_storeu_ps(s, _mm512_castps512_ps256(_mm512_permutexvar_ps(even, acc)));
}

/* The loop of every kernel: decode up to PB blocks (of QK elements) of
 * the group's packed rows xp, BB bytes a block of both panels, with
 * DECODE(P, xp, i, nblk), then run them over the activation rows COLS at a
 * time: COLS_FN(P, yrows, i, nblk, ncol, acc) with ncol a constant. */
#define GEMM_WIDE(PANEL, QK, BB, PB, DECODE, COLS_FN, STORE) do { \
    __m512 acc_[TENSOR_GEMM_COLS]; \
    for (int c = 0; c < nc; c++) acc_[c] = _mm512_setzero_ps(); \
    PANEL P_; \
    const int nb_ = n / (QK); \
    for (int i_ = 0; i_ < nb_; i_ += (PB)) { \
        const int nblk_ = nb_ - i_ < (PB) ? nb_ - i_ : (PB); \
        for (size_t o_ = 0; o_ < (size_t)nblk_ * (BB); o_ += 64) \
            _mm_prefetch((const char *)xp + (size_t)i_ * (BB) + WIDE_PREFETCH + o_, _MM_HINT_T0); \
        DECODE(&P_, (const uint8_t *)xp + (size_t)i_ * (BB), nblk_); \
        for (int c = 0; c < nc; c += COLS) { \
            const uint8_t *yr_[COLS]; \
            for (int k_ = 0; k_ < COLS; k_++) \
                yr_[k_] = (const uint8_t *)y + (size_t)(c + k_ < nc ? c + k_ : c) * y_stride; \
            switch (nc - c < COLS ? nc - c : COLS) { \
            case 1: COLS_FN(&P_, yr_, i_, nblk_, 1, acc_ + c); break; \
            case 2: COLS_FN(&P_, yr_, i_, nblk_, 2, acc_ + c); break; \
            case 3: COLS_FN(&P_, yr_, i_, nblk_, 3, acc_ + c); break; \
            default: COLS_FN(&P_, yr_, i_, nblk_, 4, acc_ + c); break; \
            } \
        } \
    } \
    for (int c = 0; c < nc; c++) STORE(s + (size_t)c * s_stride, acc_[c]); \
} while (0)

/* gemm_wide_T, the packed kernel of type T: tiles of up to AVX2_COLS
 * activation rows go to the AVX2 level's kernel, the others through
 * GEMM_WIDE with the rest of the arguments. */
#define WIDE_KERNEL(T, PANEL, QK, BB, PB, DECODE, COLS_FN, STORE) \
    static void gemm_wide_##T(int n, float *s, size_t s_stride, const void *xp, const void *y, size_t y_stride, \
                              int nc) { \
        if (nc <= AVX2_COLS) { \
            AVX2_PACKED[TENSOR_##T](n, s, s_stride, xp, y, y_stride, nc); \
            return; \
        } \
        GEMM_WIDE(PANEL, QK, BB, PB, DECODE, COLS_FN, STORE); \
    }

/* ---- Q4_K, Q5_K ---- */

typedef struct {
    __m512i q[8][4]; /* sub-block s, elements 32s + 8g .. +7 of the eight rows */
    __m512i sc[8];   /* int32 lanes 2r, 2r+1: row r's scale of sub-block s, high int16 zero */
    __m512i mins[2]; /* int16, as k45_packed_scales leaves them, both panels */
    __m512 d, dmin;
} k45w_panel;

INLINE void k45w_decode(k45w_panel *P, const uint8_t *src0, bool q5) {
    const uint8_t *src1 = src0 + K45_PANEL_BYTES(q5);
    for (int s = 0; s < 8; s++)
        for (int g = 0; g < 4; g++) P->q[s][g] = pair512(k45_fly_quant(src0, s, g, q5), k45_fly_quant(src1, s, g, q5));
    __m256i sc[2][8], mins[2][2];
    __m256 d[2], dmin[2];
    k45_packed_scales(src0, q5, sc[0], mins[0], &d[0], &dmin[0]);
    k45_packed_scales(src1, q5, sc[1], mins[1], &d[1], &dmin[1]);
    for (int s = 0; s < 8; s++) P->sc[s] = _mm512_and_si512(pair512(sc[0][s], sc[1][s]), _mm512_set1_epi32(0xFFFF));
    for (int k = 0; k < 2; k++) P->mins[k] = pair512(mins[0][k], mins[1][k]);
    P->d = pair512_ps(d[0], d[1]);
    P->dmin = pair512_ps(dmin[0], dmin[1]);
}

/* A sub-block's products land in int32 lanes (row r's elements 8g..8g+3 of
 * every group g in lane 2r, the rest in 2r+1, as the AVX2 kernel splits
 * them) and stay within int16: 16 products of at most 15 * 127 for Q4_K,
 * so vpdpwssd can take the int32 sum as int16 against a scale whose high
 * half is zero. Q5_K's quants reach 31, so its groups go in two halves. */
INLINE void k45w_cols(const k45w_panel *P, const uint8_t *const yrow[COLS], int i, int ncol, __m512 *acc,
                      bool q5) {
    const block_q8_K *y[COLS];
    __m512i sum[COLS];
    for (int c = 0; c < ncol; c++) {
        y[c] = (const block_q8_K *)yrow[c] + i;
        sum[c] = _mm512_setzero_si512();
    }
    ROLLED for (int s = 0; s < 8; s++) {
        __m512i t[COLS], u[COLS];
        for (int c = 0; c < ncol; c++) t[c] = u[c] = _mm512_setzero_si512();
        for (int g = 0; g < 4; g++)
            for (int c = 0; c < ncol; c++) {
                const __m512i yb = bcast8(y[c]->qs + 32 * s + 8 * g);
                if (q5 && g >= 2) u[c] = _mm512_dpbusd_epi32(u[c], P->q[s][g], yb);
                else t[c] = _mm512_dpbusd_epi32(t[c], P->q[s][g], yb);
            }
        for (int c = 0; c < ncol; c++) {
            sum[c] = _mm512_dpwssd_epi32(sum[c], t[c], P->sc[s]);
            if (q5) sum[c] = _mm512_dpwssd_epi32(sum[c], u[c], P->sc[s]);
        }
    }
    for (int c = 0; c < ncol; c++) { /* the mins, as the AVX2 kernel takes them off */
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[c]->bsums);
        const __m128i b32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m512i b0 = _mm512_broadcastq_epi64(b32), b1 = _mm512_broadcastq_epi64(_mm_unpackhi_epi64(b32, b32));
        const __m512i m = _mm512_add_epi32(_mm512_madd_epi16(P->mins[0], b0), _mm512_madd_epi16(P->mins[1], b1));
        const __m512 mf = _mm512_mul_ps(_mm512_cvtepi32_ps(m), P->dmin);
        const __m512 f = _mm512_fmsub_ps(_mm512_cvtepi32_ps(sum[c]), P->d, mf);
        acc[c] = _mm512_fmadd_ps(f, _mm512_set1_ps(y[c]->d), acc[c]);
    }
}

#define K45_WIDE(name, Q5) \
    INLINE void name##_wdecode(k45w_panel *P, const uint8_t *src, int nblk) { \
        (void)nblk; /* one superblock */ \
        k45w_decode(P, src, Q5); \
    } \
    INLINE void name##_wcols(const k45w_panel *P, const uint8_t *const yrow[COLS], int i, int nblk, int ncol, \
                             __m512 *acc) { \
        (void)nblk; \
        k45w_cols(P, yrow, i, ncol, acc, Q5); \
    } \
    WIDE_KERNEL(name, k45w_panel, QK_K, 2 * K45_PANEL_BYTES(Q5), 1, name##_wdecode, name##_wcols, store_pairs)

K45_WIDE(Q4_K, false)
K45_WIDE(Q5_K, true)

/* ---- Q6_K ---- */

typedef struct {
    __m512i q[16][2]; /* sub-block s, elements 16s + 8g .. +7: quants 0..63 */
    __m512i sc[16];   /* int16, as q6k_packed_scales leaves them, both panels */
    __m512i off[4];
    __m512 d;
} q6kw_panel;

INLINE void q6k_wdecode(q6kw_panel *P, const uint8_t *src0, int nblk) {
    (void)nblk;
    const uint8_t *src1 = src0 + Q6K_PANEL_BYTES;
    for (int s = 0; s < 16; s++)
        for (int g = 0; g < 2; g++) P->q[s][g] = pair512(q6k_fly_quant(src0, s, g), q6k_fly_quant(src1, s, g));
    __m256i sc[2][16], off[2][4];
    __m256 d[2];
    q6k_packed_scales(src0, sc[0], off[0], &d[0]);
    q6k_packed_scales(src1, sc[1], off[1], &d[1]);
    for (int s = 0; s < 16; s++) P->sc[s] = pair512(sc[0][s], sc[1][s]);
    for (int k = 0; k < 4; k++) P->off[k] = pair512(off[0][k], off[1][k]);
    P->d = pair512_ps(d[0], d[1]);
}

/* As the AVX2 kernel: a sub-block's two maddubs sum to at most
 * 2 * 2 * 63 * 127 in int16, and the -32 of every quant comes off once per
 * superblock with the bsums; vpdpwssd applies the scale and adds. */
INLINE void q6k_wcols(const q6kw_panel *P, const uint8_t *const yrow[COLS], int i, int nblk, int ncol,
                      __m512 *acc) {
    (void)nblk;
    const block_q8_K *y[COLS];
    __m512i sum[COLS];
    for (int c = 0; c < ncol; c++) {
        y[c] = (const block_q8_K *)yrow[c] + i;
        sum[c] = _mm512_setzero_si512();
        for (int k = 0; k < 4; k++)
            sum[c] = _mm512_sub_epi32(sum[c], _mm512_madd_epi16(P->off[k], bcast8(y[c]->bsums + 4 * k)));
    }
    ROLLED for (int s = 0; s < 16; s++)
        for (int c = 0; c < ncol; c++) {
            const __m512i m0 = _mm512_maddubs_epi16(P->q[s][0], bcast8(y[c]->qs + 16 * s));
            const __m512i m1 = _mm512_maddubs_epi16(P->q[s][1], bcast8(y[c]->qs + 16 * s + 8));
            sum[c] = _mm512_dpwssd_epi32(sum[c], _mm512_adds_epi16(m0, m1), P->sc[s]);
        }
    for (int c = 0; c < ncol; c++)
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[c]), _mm512_mul_ps(P->d, _mm512_set1_ps(y[c]->d)), acc[c]);
}

WIDE_KERNEL(Q6_K, q6kw_panel, QK_K, 2 * Q6K_PANEL_BYTES, 1, q6k_wdecode, q6k_wcols, store_pairs)

/* ---- Q8_0, Q4_0, Q5_0 against Q8_0 ---- */

#define Q32W_BLOCKS 8

typedef struct {
    __m512i aq[Q32W_BLOCKS][4];    /* block b, elements 8g .. 8g+7: the quants' magnitudes */
    __mmask64 neg[Q32W_BLOCKS][4]; /* and which of them are negative */
    __m512 d[Q32W_BLOCKS];         /* lanes 2r, 2r+1: row r's block scale */
} q32w_panel;

INLINE void q32w_decode(q32w_panel *P, const uint8_t *src0, int nblk, enum tensor_type t) {
    const uint8_t *src1 = src0 + q32_panel_bytes(t);
    const __m512i pairs = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    for (int b = 0; b < nblk; b++) {
        for (int g = 0; g < 4; g++) {
            const __m512i w = pair512(q32_fly_quant(src0, b, g, t), q32_fly_quant(src1, b, g, t));
            P->neg[b][g] = _mm512_movepi8_mask(w);
            P->aq[b][g] = _mm512_abs_epi8(w);
        }
        const size_t at = (size_t)b * 2 * q32_panel_bytes(t) + q32_panel_quant_bytes(t);
        const __m256 d = _mm256_setr_m128(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(src0 + at))),
                                          _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(src1 + at))));
        P->d[b] = _mm512_permutexvar_ps(pairs, _mm512_castps256_ps512(d));
    }
}

/* Blocks q .. q+k-1 (k <= 4) of the panel against the activation rows, with
 * the AVX2 kernel's float steps (q32_group): each block's sum scaled on its
 * own, summed as (p0 + p1) + (p2 + p3), a missing product +0. A row's
 * block sum is lanes 2r + 2r+1 of the vpdpbusd sums; it goes to lane 2r. */
INLINE void q32w_group(const q32w_panel *P, const uint8_t *const yrow[COLS], int i, int q, int k, int ncol,
                       __m512 *acc) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 t01[COLS], t2[COLS];
    for (int c = 0; c < ncol; c++) t01[c] = t2[c] = zero;
    for (int j = 0; j < k; j++) {
        const int b = q + j;
        for (int c = 0; c < ncol; c++) {
            const block_q8_0 *y = (const block_q8_0 *)yrow[c] + i + b;
            __m512i sum = _mm512_setzero_si512();
            for (int g = 0; g < 4; g++) {
                const __m512i yb = bcast8(y->qs + 8 * g);
                const __m512i ys = _mm512_mask_sub_epi8(yb, P->neg[b][g], _mm512_setzero_si512(), yb);
                sum = _mm512_dpbusd_epi32(sum, P->aq[b][g], ys);
            }
            const __m512i tot = _mm512_add_epi32(sum, _mm512_srli_epi64(sum, 32));
            const __m512 pr = _mm512_mul_ps(_mm512_cvtepi32_ps(tot),
                                            _mm512_mul_ps(P->d[b], _mm512_set1_ps(tensor_x86_half(&y->d))));
            if (j == 0) t01[c] = pr;
            else if (j == 1) t01[c] = _mm512_add_ps(t01[c], pr);
            else if (j == 2) t2[c] = pr;
            else t2[c] = _mm512_add_ps(t2[c], pr);
        }
    }
    for (int c = 0; c < ncol; c++) {
        const __m512 lo = k == 1 ? _mm512_add_ps(t01[c], zero) : t01[c];
        const __m512 hi = k == 3 ? _mm512_add_ps(t2[c], zero) : t2[c];
        acc[c] = _mm512_add_ps(acc[c], _mm512_add_ps(lo, hi));
    }
}

INLINE void q32w_cols(const q32w_panel *P, const uint8_t *const yrow[COLS], int i, int nblk, int ncol,
                      __m512 *acc) {
    int q = 0;
    ROLLED for (; q + 4 <= nblk; q += 4) q32w_group(P, yrow, i, q, 4, ncol, acc);
    if (q < nblk) q32w_group(P, yrow, i, q, nblk - q, ncol, acc);
}

#define Q32_WIDE(name) \
    INLINE void name##_wdecode(q32w_panel *P, const uint8_t *src, int nblk) { \
        q32w_decode(P, src, nblk, TENSOR_##name); \
    } \
    WIDE_KERNEL(name, q32w_panel, 32, 2 * q32_panel_bytes(TENSOR_##name), Q32W_BLOCKS, name##_wdecode, q32w_cols, \
                store_even)

Q32_WIDE(Q8_0)
Q32_WIDE(Q4_0)
Q32_WIDE(Q5_0)

/* Each type takes the AVX2 level's packing, with which its kernel here
 * must agree, and keeps that level's kernel for narrow tiles. */
#define WIDE(T, fn) packed_over(k, avx2, T, fn, NULL, &AVX2_PACKED[T])

void tensor_gemm_avx512(tensor_kernels *k, const tensor_kernels *avx2) {
    WIDE(TENSOR_Q4_K, gemm_wide_Q4_K);
    WIDE(TENSOR_Q5_K, gemm_wide_Q5_K);
    WIDE(TENSOR_Q6_K, gemm_wide_Q6_K);
    WIDE(TENSOR_Q8_0, gemm_wide_Q8_0);
    WIDE(TENSOR_Q4_0, gemm_wide_Q4_0);
    WIDE(TENSOR_Q5_0, gemm_wide_Q5_0);
}

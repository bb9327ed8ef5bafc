/* tensor (internal): the packed weight layout that tensor_pack writes
 * (kernels_gemm_avx2.c packs; see "packed weights" there), and its 256-bit
 * decoders, shared by the AVX2 and the AVX-512 tile kernels. Each file
 * compiles these for its own instruction set (both include AVX2).
 *
 * A group of TENSOR_GEMM_ROWS (8) rows is stored block by block as two
 * panels of four rows (0-3, 4-7), panel 1 right after panel 0; a 32-byte
 * quant vector of a panel holds 8 elements of each of its rows, row r in
 * 64-bit lane r. */
#ifndef OLLAMA_TENSOR_PACKED_X86_H
#define OLLAMA_TENSOR_PACKED_X86_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "tensor/kernels_x86.h"
#include "tensor/quants.h"

#ifndef INLINE
#define INLINE static inline __attribute__((always_inline))
#endif
#define NR TENSOR_GEMM_ROWS /* rows a call: two panels of four */
#define PR 4                 /* rows a panel */
_Static_assert(TENSOR_GEMM_ROWS == 2 * PR, "a call decodes two panels");

INLINE __m256i loadu256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
INLINE __m128i loadu128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }

/* Installs fn (and pair, the two-group kernel, or NULL) as type t's packed
 * kernel of a level k over the level below's packing, which fn reads, and
 * keeps below's kernel in *keep for the tiles fn hands back. Nothing where
 * below packs no t. */
INLINE void packed_over(tensor_kernels *k, const tensor_kernels *below, enum tensor_type t,
                        tensor_gemm_packed_fn fn, tensor_gemm_packed_fn pair, tensor_gemm_packed_fn *keep) {
    if (!below->gemm_packed[t]) return;
    *keep = below->gemm_packed[t];
    k->pack[t] = below->pack[t];
    k->packed_block_bytes[t] = below->packed_block_bytes[t];
    k->gemm_packed[t] = fn;
    k->gemm_packed_pair[t] = pair;
}

/* From a byte-transposed vector t (bytes 4j + r), int16 vectors for madd:
 *   row_splat(t, j): lanes 4r..4r+3 all take byte 4j + r (one value per row);
 *   row_quads(t):    lane 4r + k takes byte 4k + r (four values per row).
 * The _s variants sign-extend (the byte lands in the high half, then an
 * arithmetic shift), the others zero-extend (0x80 in a control zeroes). */
#define SPLAT_CTRL _mm256_setr_epi16(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)
#define QUADS_CTRL _mm256_setr_epi16(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)

INLINE __m256i pick_u8(__m128i t, __m256i idx) {
    const __m256i ctrl = _mm256_or_si256(idx, _mm256_set1_epi16((short)0x8000));
    return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(t), ctrl);
}
INLINE __m256i pick_s8(__m128i t, __m256i idx) {
    const __m256i ctrl = _mm256_or_si256(_mm256_slli_epi16(idx, 8), _mm256_set1_epi16(0x80));
    return _mm256_srai_epi16(_mm256_shuffle_epi8(_mm256_broadcastsi128_si256(t), ctrl), 8);
}
INLINE __m256i splat_ctrl(int j) { return _mm256_add_epi16(SPLAT_CTRL, _mm256_set1_epi16((short)(4 * j))); }
INLINE __m256i row_splat_u8(__m128i t, int j) { return pick_u8(t, splat_ctrl(j)); }
INLINE __m256i row_splat_s8(__m128i t, int j) { return pick_s8(t, splat_ctrl(j)); }
INLINE __m256i row_quads_u8(__m128i t) { return pick_u8(t, QUADS_CTRL); }
INLINE __m256i row_quads_s8(__m128i t) { return pick_s8(t, QUADS_CTRL); }

/* [a a b b c c d d] from four halves at p. */
INLINE __m256 half_pairs(const uint8_t *p) {
    const __m128 v = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)p));
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(v), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
}

/* ---- Q4_K, Q5_K ---- */

/* Packed Q4_K/Q5_K panel: the quants as gather4 leaves them (vector
 * 4j + k: gather4(qs, 32j)[k]), Q5_K's fifth bits the same way, the four
 * rows' 16 scale/min bytes byte-transposed, then d0..d3, dmin0..dmin3. */
#define K45_PANEL_BYTES(q5) ((q5) ? 720 : 592)

/* Quant vector P->q[s][g] of a packed panel, decoded where it is used:
 * with one or two activation rows each is used once, and storing the
 * decoded panel to be loaded back would cost more than the arithmetic. */
INLINE __m256i k45_fly_quant(const uint8_t *src, int s, int g, bool q5) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), v = loadu256(src + 64 * (s & ~1) + 32 * g);
    __m256i q = _mm256_and_si256(s & 1 ? _mm256_srli_epi16(v, 4) : v, m4);
    if (q5) {
        const __m256i h = loadu256(src + 512 + 32 * g);
        const __m256i bit = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(s)), _mm256_set1_epi8(1));
        q = _mm256_or_si256(q, _mm256_slli_epi16(bit, 4));
    }
    return q;
}

/* A packed panel's scales: sc[s] has row r's scale of sub-block s in int16
 * lanes 4r..4r+3, mins[p] lane 4r + k row r's min of sub-block 4p + k;
 * d and dmin the rows' halves as [d0 d0 d1 d1 d2 d2 d3 d3]. */
INLINE void k45_packed_scales(const uint8_t *src, bool q5, __m256i sc[8], __m256i mins[2], __m256 *d,
                              __m256 *dmin) {
    src += q5 ? 640 : 512;
    __m128i t[4];
    for (int k = 0; k < 4; k++) t[k] = loadu128(src + 16 * k);
    for (int s = 0; s < 8; s++) sc[s] = row_splat_u8(t[s / 4], s % 4);
    mins[0] = row_quads_u8(t[2]);
    mins[1] = row_quads_u8(t[3]);
    *d = half_pairs(src + 64);
    *dmin = half_pairs(src + 72);
}

/* ---- Q6_K ---- */

/* Packed Q6_K panel: per half h (384 bytes) gather4 of ql at 64h, of ql
 * at 64h + 32 and of qh at 32h; the 16-byte scales byte-transposed; d0..d3.
 * The same 840 bytes as four natural blocks. */
#define Q6K_PANEL_BYTES 840

/* P->q[s][g] of a packed panel where it is used (as k45_fly_quant):
 * sub-block s = 8h + 2v + g'/2 with g' = 2 (s % 2) + g takes its low
 * nibbles from ql vector v % 2 of half h and its two high bits from qh. */
INLINE __m256i q6k_fly_quant(const uint8_t *src, int s, int g) {
    const int h = s / 8, v = (s % 8) / 2, gg = 2 * (s % 2) + g;
    const uint8_t *base = src + 384 * h;
    const __m256i l = loadu256(base + 128 * (v & 1) + 32 * gg), hb = loadu256(base + 256 + 32 * gg);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    const __m256i lo = _mm256_and_si256(v < 2 ? l : _mm256_srli_epi16(l, 4), m4);
    const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * v)), m2);
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
}

/* A packed panel's scales: sc[s] row r's (signed) scale of sub-block s in
 * int16 lanes 4r..4r+3, off[p] lane 4r + k 32 times row r's scale of
 * sub-block 4p + k (the -32 of every quant); d as k45_packed_scales. */
INLINE void q6k_packed_scales(const uint8_t *src, __m256i sc[16], __m256i off[4], __m256 *d) {
    __m128i t[4];
    for (int k = 0; k < 4; k++) t[k] = loadu128(src + 768 + 16 * k);
    for (int s = 0; s < 16; s++) sc[s] = row_splat_s8(t[s / 4], s % 4);
    for (int k = 0; k < 4; k++) off[k] = _mm256_slli_epi16(row_quads_s8(t[k]), 5);
    *d = half_pairs(src + 832);
}

/* ---- Q8_0, Q4_0, Q5_0 ---- */

/* Byte j of 64-bit lane r is 0x10 where bit 8g + j of row r's 32 fifth
 * bits is set (Q5_0: bit e belongs to element e); qh holds the four rows'
 * words. A shuffle spreads byte g of row r's word (byte 4r + g, in both
 * 128-bit halves) over lane r, and each byte tests its own bit. */
INLINE __m256i fifth_bits(__m128i qh, int g) {
    const long long rep = 0x0101010101010101ll;
    const __m256i ctrl = _mm256_setr_epi64x(g * rep, (4 + g) * rep, (8 + g) * rep, (12 + g) * rep);
    const __m256i v = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(qh), ctrl);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(0x10));
}

INLINE size_t q32_block_bytes(enum tensor_type t) {
    return t == TENSOR_Q8_0 ? sizeof(block_q8_0) : t == TENSOR_Q4_0 ? sizeof(block_q4_0) : sizeof(block_q5_0);
}
INLINE size_t q32_qs_offset(enum tensor_type t) {
    return t == TENSOR_Q8_0   ? offsetof(block_q8_0, qs)
           : t == TENSOR_Q4_0 ? offsetof(block_q4_0, qs)
                              : offsetof(block_q5_0, qs);
}

/* Packed Q8_0/Q4_0/Q5_0 panel of one block: Q8_0's quants as gather4
 * leaves them (128 bytes), or Q4_0's/Q5_0's bytes as gather4x16 does (64)
 * and Q5_0's four fifth-bit words (16); then d0..d3. As big as four
 * natural blocks. */
INLINE size_t q32_panel_bytes(enum tensor_type t) { return PR * q32_block_bytes(t); }
INLINE size_t q32_panel_quant_bytes(enum tensor_type t) {
    return t == TENSOR_Q8_0 ? 128 : t == TENSOR_Q4_0 ? 64 : 80;
}

/* Quant vector g of block b of a packed panel, as stored: Q8_0's signed,
 * Q4_0's and Q5_0's unsigned, their offset (q32_offset) still in. */
INLINE __m256i q32_fly_raw(const uint8_t *src, int b, int g, enum tensor_type t) {
    const uint8_t *blk = src + (size_t)b * 2 * q32_panel_bytes(t);
    if (t == TENSOR_Q8_0) return loadu256(blk + 32 * g);
    const __m256i v = loadu256(blk + 32 * (g & 1));
    const __m256i q = _mm256_and_si256(g < 2 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
    return t == TENSOR_Q4_0 ? q : _mm256_or_si256(q, fifth_bits(loadu128(blk + 64), g));
}

INLINE int q32_offset(enum tensor_type t) { return t == TENSOR_Q8_0 ? 0 : t == TENSOR_Q4_0 ? 8 : 16; }

/* P->q[b][g] of a packed panel where it is used (as k45_fly_quant): the
 * signed quants. */
INLINE __m256i q32_fly_quant(const uint8_t *src, int b, int g, enum tensor_type t) {
    const __m256i q = q32_fly_raw(src, b, g, t);
    return t == TENSOR_Q8_0 ? q : _mm256_sub_epi8(q, _mm256_set1_epi8((char)q32_offset(t)));
}

#endif

/* tensor: AVX2 tile kernels (gemm) for matmul, compiled like
 * kernels_avx2.c and installed by tensor_kernels_avx2().
 *
 * A call multiplies up to TENSOR_GEMM_ROWS (8) weight rows by up to
 * TENSOR_GEMM_COLS activation rows. One vec_dot per pair decodes every
 * weight block again for every token and ends each pair with a horizontal
 * sum; here the rows are decoded a superblock (256 elements) at a time into
 * two small panels on the stack, of four rows each, and the panels serve
 * every activation row of the call.
 *
 * A panel interleaves its four rows: a 32-byte vector holds 8 elements of
 * each row, row r in 64-bit lane r, so one maddubs against 8 activation
 * bytes broadcast to the four lanes works on four rows at once. maddubs
 * leaves row r in int16 lanes 4r..4r+3; since a 4- to 6-bit quant times an
 * int8 activation is small, the int16 products of a whole sub-block can be
 * added before one madd applies the four rows' sub-block scales (a vector
 * with row r's scale in lanes 4r..4r+3). Per-pair vec_dot needs a madd for
 * every maddubs, and the two multiplier ports are what bounds these loops.
 * Two panels by two activation rows at a time share each broadcast and
 * each weight vector twice and fit the 16 registers. In the K-quant
 * kernels row r's sum stays split over the int32 (then float) lanes 2r
 * and 2r+1 until the end; the 32-element block kernels fold it into one
 * lane per block (see q32_cols).
 *
 * Models mostly run on packed weights (see "packed weights"): stored once
 * at load in the panels' order, so that decoding a panel is loads and
 * masks; with one or two activation rows the quants are decoded where they
 * are used. On the file's layout, a single activation row (decode) takes a
 * row-at-a-time path, which gives the same bits (see "the single-column
 * path"). Rows past nr
 * repeat row 0 (valid memory, results dropped), so there is only the
 * eight-row panel path. Activations are the vec_dot_type rows as matmul
 * quantized them; rows are only 2-byte aligned, so every load is
 * unaligned. The activation quantizers keep int8 values in [-127, 127]. */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "tensor/packed_x86.h"

/* Sub-block loops stay rolled: unrolled, compilers hoist the loads and
 * products of later sub-blocks and run out of the 16 registers. */
#if defined(__clang__)
#define ROLLED _Pragma("clang loop unroll(disable)")
#else
#define ROLLED _Pragma("GCC unroll 1")
#endif

/* ---- shared helpers ---- */

/* t + m in int16 for sums that cannot overflow. Saturating, because that
 * add is not associative: compilers keep the chain in order instead of
 * regrouping it, which would hold more products in registers at once. */
INLINE __m256i add_chain16(__m256i t, __m256i m) { return _mm256_adds_epi16(t, m); }
/* The same for int32, which has no saturating add: the empty asm makes
 * each partial sum opaque, so the chain cannot be regrouped. */
INLINE __m256i add_chain32(__m256i t, __m256i m) {
    __m256i r = _mm256_add_epi32(t, m);
    __asm__("" : "+x"(r));
    return r;
}

/* 8 bytes at p in every 64-bit lane. */
INLINE __m256i bcast64(const void *p) {
    long long v;
    memcpy(&v, p, 8);
    return _mm256_set1_epi64x(v);
}

/* The rows of a tile; rows past nr repeat row 0. */
INLINE void tile_rows(const uint8_t *rows[NR], const void *x, size_t x_stride, int nr) {
    for (int r = 0; r < NR; r++) rows[r] = (const uint8_t *)x + (r < nr ? (size_t)r * x_stride : 0);
}

/* Row r of panel p is the sum of float lanes 2r and 2r+1 of acc[p];
 * stores the nr sums at s. */
INLINE void store_rows(float *s, const __m256 acc[2], int nr) {
    const __m256 h = _mm256_hadd_ps(acc[0], acc[1]); /* [a0 a1 b0 b1 | a2 a3 b2 b3] */
    const __m256 v = _mm256_permutevar8x32_ps(h, _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
    if (nr == NR) {
        _mm256_storeu_ps(s, v);
    } else {
        float t[NR];
        _mm256_storeu_ps(t, v);
        memcpy(s, t, (size_t)nr * sizeof(float));
    }
}

/* The same for kernels that keep one lane per row: acc[0] holds rows
 * [0 1 4 5 | 2 3 6 7], as _mm256_hadd_epi32 of the two panels leaves them. */
INLINE void store_rows1(float *s, const __m256 acc[2], int nr) {
    const __m256 v = _mm256_permutevar8x32_ps(acc[0], _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
    if (nr == NR) {
        _mm256_storeu_ps(s, v);
    } else {
        float t[NR];
        _mm256_storeu_ps(t, v);
        memcpy(s, t, (size_t)nr * sizeof(float));
    }
}

/* [a a b b c c d d]: one value per row in that row's two float lanes. */
INLINE __m256 row_pairs(float a, float b, float c, float d) { return _mm256_setr_ps(a, a, b, b, c, c, d, d); }

INLINE __m256 row_halves(const void *h0, const void *h1, const void *h2, const void *h3) {
    return row_pairs(tensor_x86_half(h0), tensor_x86_half(h1), tensor_x86_half(h2), tensor_x86_half(h3));
}

/* 32 bytes at byte offset off of each row, regrouped: vector g holds bytes
 * 8g..8g+7 of row r in 64-bit lane r. */
INLINE void gather4(const uint8_t *const p[PR], size_t off, __m256i g[4]) {
    for (int h = 0; h < 2; h++) {
        const size_t o = off + 16 * (size_t)h;
        const __m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(p[0] + o)), loadu128(p[2] + o), 1);
        const __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(p[1] + o)), loadu128(p[3] + o), 1);
        g[2 * h] = _mm256_unpacklo_epi64(a, b);
        g[2 * h + 1] = _mm256_unpackhi_epi64(a, b);
    }
}

/* Four 16-byte vectors, one per row, byte-transposed: t[k] byte 4j + r is
 * byte 4k + j of row r. */
INLINE void transpose_bytes(const __m128i v[PR], __m128i t[4]) {
    const __m128i a = _mm_unpacklo_epi8(v[0], v[1]), b = _mm_unpacklo_epi8(v[2], v[3]);
    const __m128i c = _mm_unpackhi_epi8(v[0], v[1]), d = _mm_unpackhi_epi8(v[2], v[3]);
    t[0] = _mm_unpacklo_epi16(a, b);
    t[1] = _mm_unpackhi_epi16(a, b);
    t[2] = _mm_unpacklo_epi16(c, d);
    t[3] = _mm_unpackhi_epi16(c, d);
}


/* ---- the single-column path ----
 * With one activation row (decode) a panel is pure overhead and its eight
 * side-by-side row streams halve the bandwidth from DRAM, so each quant
 * kernel also has a row-at-a-time path on the natural layout (the float
 * kernels have no panel: see "float weights"). It must
 * give the panel path's numbers bit for bit: matmul uses the kernel for
 * single tokens too, so that token-by-token decoding equals a batched
 * prefill. Integer sums are exact in any order, so only the float steps
 * have to be the panels', in the same order. The K-quant panels split a
 * row's integer sum over two lanes, A = elements 8g..8g+3 and B = elements
 * 8g+4..8g+7 of every 8; on the natural layout a madd after maddubs leaves
 * elements 4k..4k+3 in int32 lane k, so A is the sum of the even lanes and
 * B of the odd ones, and the float steps run on lanes 0 and 1. */

/* [A, B]: the even and the odd int32 lanes of v summed, in lanes 0 and 1. */
INLINE __m128i even_odd(__m256i v) {
    const __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_add_epi32(x, _mm_unpackhi_epi64(x, x));
}

/* Lane 0 + lane 1, the panel path's closing hadd. */
INLINE float sum_ab(__m128 acc) { return _mm_cvtss_f32(_mm_add_ss(acc, _mm_movehdup_ps(acc))); }

/* The nr outputs of a single-column tile, one row at a time. */
#define GEMV(ROW) do { \
    for (int r_ = 0; r_ < nr; r_++) s[r_] = ROW((const uint8_t *)x + (size_t)r_ * x_stride, y, n); \
} while (0)

/* Broadcast int16 lane k of both 128-bit halves of v to all of that half. */
#define BCAST16(v, k) _mm256_shuffle_epi8((v), _mm256_set1_epi16((short)(((2 * (k) + 1) << 8) | (2 * (k)))))

/* Bytes [off, off + len) of every row into L1. A panel call reads its
 * eight rows side by side, eight streams that the hardware prefetchers
 * follow poorly when the weights come from DRAM (the first token tile of
 * a prefill, a batch of a few tokens), so each step asks for what comes
 * GEMM_PREFETCH bytes later. */
#define GEMM_PREFETCH 1024
INLINE void prefetch_rows(const uint8_t *const rows[NR], size_t off, size_t len) {
    for (int r = 0; r < NR; r++)
        for (size_t o = 0; o < len; o += 64) _mm_prefetch((const char *)rows[r] + off + o, _MM_HINT_T0);
}

/* The loop of every kernel: decode up to PB blocks (of QK elements, BB
 * bytes) from block i on of the rows into two panels,
 * DECODE(P, rows, i, nblk), and run them over the activation rows two at a
 * time, COLS(P, y, i, nblk, ncol, acc) with ncol a constant 1 or 2; each
 * activation row's two accumulators go out through STORE. */
#define GEMM_PANELS(PANEL, QK, BB, PB, DECODE, COLS, STORE) do { \
    const uint8_t *rows_[NR]; \
    tile_rows(rows_, x, x_stride, nr); \
    __m256 acc_[TENSOR_GEMM_COLS][2]; \
    for (int c = 0; c < nc; c++) acc_[c][0] = acc_[c][1] = _mm256_setzero_ps(); \
    PANEL P_[2]; \
    const int nb_ = n / (QK); \
    for (int i_ = 0; i_ < nb_; i_ += (PB)) { \
        const int nblk_ = nb_ - i_ < (PB) ? nb_ - i_ : (PB); \
        prefetch_rows(rows_, (size_t)i_ * (BB) + GEMM_PREFETCH, (size_t)nblk_ * (BB)); \
        DECODE(&P_[0], rows_, i_, nblk_); \
        DECODE(&P_[1], rows_ + PR, i_, nblk_); \
        PANEL_COLS(COLS); \
    } \
    for (int c = 0; c < nc; c++) STORE(s + (size_t)c * s_stride, acc_[c], nr); \
} while (0)

/* The two decoded panels P_ over the activation rows, two at a time. */
#define PANEL_COLS(COLS) do { \
    int c = 0; \
    for (; c + 2 <= nc; c += 2) { \
        const uint8_t *yr_[2] = {(const uint8_t *)y + (size_t)c * y_stride, \
                                 (const uint8_t *)y + (size_t)(c + 1) * y_stride}; \
        COLS(P_, yr_, i_, nblk_, 2, acc_ + c); \
    } \
    if (c < nc) { \
        const uint8_t *yr_[2] = {(const uint8_t *)y + (size_t)c * y_stride, NULL}; \
        COLS(P_, yr_, i_, nblk_, 1, acc_ + c); \
    } \
} while (0)

/* ---- packed weights ----
 * tensor_pack stores a model's weights, once at load, as the panel
 * decoders want them: per block of eight rows two panels (rows 0-3, 4-7),
 * each holding its four rows' quants already regrouped as gather4 leaves
 * them, their sub-block scales byte-transposed, and their half scales side
 * by side. Decoding a panel is then loads and nibble masks instead of
 * gathers, transposes and table lookups, which is what a tile of a few
 * tokens (sequences decoded together) spends most of its time on; and
 * the eight rows are one sequential stream from DRAM. The arithmetic is
 * the natural layout's COLS, so the results are the same bits.
 * GEMM_PACKED is GEMM_PANELS for all eight rows of a packed group xp:
 * DECODE_P(P, xp, i, nblk, p) decodes panel p of blocks i .. i+nblk-1. */
/* The packed stream is prefetched this far ahead: without it decoding
 * ran 45% slower from DRAM; 1024 to 8192 measured within noise of 2048. */
#define PACKED_PREFETCH 2048
#define GEMM_PACKED(PANEL, QK, BB, PB, DECODE_P, COLS, STORE) do { \
    __m256 acc_[TENSOR_GEMM_COLS][2]; \
    for (int c = 0; c < nc; c++) acc_[c][0] = acc_[c][1] = _mm256_setzero_ps(); \
    PANEL P_[2]; \
    const int nb_ = n / (QK); \
    for (int i_ = 0; i_ < nb_; i_ += (PB)) { \
        const int nblk_ = nb_ - i_ < (PB) ? nb_ - i_ : (PB); \
        for (size_t o_ = 0; o_ < (size_t)nblk_ * (BB); o_ += 64) \
            _mm_prefetch((const char *)xp + (size_t)i_ * (BB) + PACKED_PREFETCH + o_, _MM_HINT_T0); \
        DECODE_P(&P_[0], (const uint8_t *)xp, i_, nblk_, 0); \
        DECODE_P(&P_[1], (const uint8_t *)xp, i_, nblk_, 1); \
        PANEL_COLS(COLS); \
    } \
    for (int c = 0; c < nc; c++) STORE(s + (size_t)c * s_stride, acc_[c], NR); \
} while (0)

/* Up to this many activation rows (one column pair), a packed kernel
 * decodes each quant vector where it is used instead of into a panel
 * first: used once, storing it to load it back is pure cost. With two
 * pairs or more the panel wins (measured with bench-file --seqs 4). */
#define FLY_COLS 2

INLINE void storeu256(void *p, __m256i v) { _mm256_storeu_si256((__m256i *)p, v); }
INLINE void storeu128(void *p, __m128i v) { _mm_storeu_si128((__m128i *)p, v); }

/* Packs the rows rows[0..7] (natural blocks of bb bytes, nb of them) with
 * PACK_PANEL(dst, four row pointers at one block) into panels of pbytes. */
INLINE void pack_rows(const void *x, size_t x_stride, uint8_t *dst, int nb, size_t bb, size_t pbytes,
                      void (*pack_panel)(uint8_t *, const uint8_t *const[PR])) {
    for (int i = 0; i < nb; i++)
        for (int p = 0; p < 2; p++) {
            const uint8_t *b[PR];
            for (int r = 0; r < PR; r++) b[r] = (const uint8_t *)x + (size_t)(PR * p + r) * x_stride + (size_t)i * bb;
            pack_panel(dst + ((size_t)i * 2 + (size_t)p) * pbytes, b);
        }
}


/* ---- Q4_K, Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins ---- */

typedef struct {
    __m256i q[8][4];  /* sub-block s, elements 32s + 8g .. +7: quants 0..15 (Q5_K 0..31) */
    __m256i sc[8];    /* int16: row r's scale of sub-block s in lanes 4r..4r+3 */
    __m256i mins[2];  /* int16: lane 4r + k = row r's min of sub-block 4p + k */
    __m256 d, dmin;   /* row pairs */
    const uint8_t *src; /* packed: the panel, when q is not filled (k45_cols_fly_impl) */
} k45_panel;

/* The 12 bytes of 6-bit scales and mins as 16: eight scales, eight mins. */
INLINE __m128i k4_scales_mins(const uint8_t *q) {
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    return _mm_setr_epi32((int)(a & m6), (int)((c & m4) | ((a >> 6) & m2) << 4),
                          (int)(b & m6), (int)(((c >> 4) & m4) | ((b >> 6) & m2) << 4));
}

/* Q5_K's header is Q4_K's; its fifth bits lead qs. */
_Static_assert(offsetof(block_q4_K, scales) == offsetof(block_q5_K, scales), "k45 header");
_Static_assert(offsetof(block_q4_K, dmin) == offsetof(block_q5_K, dmin), "k45 header");

/* Byte value 0x10 where bit b (a constant) of each byte of qh is set. */
INLINE __m256i bit_to_0x10(__m256i qh, int b) {
    const __m256i v = b < 4 ? _mm256_slli_epi16(qh, 4 - b) : _mm256_srli_epi16(qh, b - 4);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* The low (sub-block 2j) and high (2j + 1) nibbles of a quant vector g,
 * with Q5_K's fifth bits from h. */
INLINE void k45_unpack(__m256i g, __m256i h, int j, bool q5, __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    *lo = _mm256_and_si256(g, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(g, 4), m4);
    if (q5) {
        *lo = _mm256_or_si256(*lo, bit_to_0x10(h, 2 * j));
        *hi = _mm256_or_si256(*hi, bit_to_0x10(h, 2 * j + 1));
    }
}

INLINE void k45_decode(k45_panel *P, const uint8_t *const rows[PR], int i, bool q5) {
    const size_t bytes = q5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const uint8_t *b[PR], *qs[PR], *qh[PR];
    __m128i sm[PR], t[4];
    for (int r = 0; r < PR; r++) {
        b[r] = rows[r] + (size_t)i * bytes;
        qs[r] = b[r] + (q5 ? offsetof(block_q5_K, qs) : offsetof(block_q4_K, qs));
        qh[r] = b[r] + offsetof(block_q5_K, qh);
        sm[r] = k4_scales_mins(b[r] + offsetof(block_q4_K, scales));
    }
    __m256i h[4] = {0};
    if (q5) gather4(qh, 0, h); /* bit s of byte l: element 32s + l */
    for (int j = 0; j < 4; j++) { /* low nibbles: sub-block 2j, high: 2j + 1 */
        __m256i g[4];
        gather4(qs, 32 * (size_t)j, g);
        for (int k = 0; k < 4; k++) k45_unpack(g[k], h[k], j, q5, &P->q[2 * j][k], &P->q[2 * j + 1][k]);
    }
    transpose_bytes(sm, t); /* t[0], t[1]: scales 0-3, 4-7; t[2], t[3]: mins */
    for (int s = 0; s < 8; s++) P->sc[s] = row_splat_u8(t[s / 4], s % 4);
    P->mins[0] = row_quads_u8(t[2]);
    P->mins[1] = row_quads_u8(t[3]);
    const size_t d = offsetof(block_q4_K, d), dmin = offsetof(block_q4_K, dmin);
    P->d = row_halves(b[0] + d, b[1] + d, b[2] + d, b[3] + d);
    P->dmin = row_halves(b[0] + dmin, b[1] + dmin, b[2] + dmin, b[3] + dmin);
}

INLINE void q4k_decode(k45_panel *P, const uint8_t *const rows[PR], int i, int nblk) {
    (void)nblk; /* one superblock */
    k45_decode(P, rows, i, false);
}
INLINE void q5k_decode(k45_panel *P, const uint8_t *const rows[PR], int i, int nblk) {
    (void)nblk;
    k45_decode(P, rows, i, true);
}

/* The activation blocks of superblock i, and the integer sums at zero. */
INLINE void k45_begin(const uint8_t *const yrow[2], int i, int ncol, const block_q8_K *y[2], __m256i (*sum)[2]) {
    for (int c = 0; c < ncol; c++) {
        y[c] = (const block_q8_K *)yrow[c] + i;
        sum[c][0] = sum[c][1] = _mm256_setzero_si256();
    }
}

/* acc += d * sum - dmin * (mins times the sums of each 32 activations),
 * times the activations' scale. */
INLINE void k45_finish(const k45_panel P[2], const block_q8_K *const y[2], int ncol, __m256i (*sum)[2],
                       __m256 (*acc)[2]) {
    for (int c = 0; c < ncol; c++) {
        const __m256i bs = loadu256(y[c]->bsums);
        const __m128i b32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m256i b0 = _mm256_broadcastq_epi64(b32);
        const __m256i b1 = _mm256_broadcastq_epi64(_mm_unpackhi_epi64(b32, b32));
        const __m256 yd = _mm256_set1_ps(y[c]->d);
        for (int p = 0; p < 2; p++) {
            const __m256i m = _mm256_add_epi32(_mm256_madd_epi16(P[p].mins[0], b0),
                                               _mm256_madd_epi16(P[p].mins[1], b1));
            const __m256 mf = _mm256_mul_ps(_mm256_cvtepi32_ps(m), P[p].dmin);
            const __m256 f = _mm256_fmsub_ps(_mm256_cvtepi32_ps(sum[c][p]), P[p].d, mf);
            acc[c][p] = _mm256_fmadd_ps(f, yd, acc[c][p]);
        }
    }
}

/* acc[c][p] += panel p times superblock i of activation row yrow[c], for
 * c < ncol (Q4_K and Q5_K). A sub-block's four maddubs sum to at most
 * 4 * 2 * 31 * 127 = 31496 in int16. */
INLINE void k45_cols_impl(const k45_panel P[2], const uint8_t *const yrow[2], int i, int ncol, __m256 (*acc)[2]) {
    const block_q8_K *y[2];
    __m256i sum[2][2];
    k45_begin(yrow, i, ncol, y, sum);
    ROLLED for (int s = 0; s < 8; s++) {
        __m256i t[2][2];
        for (int g = 0; g < 4; g++) {
            __m256i yb[2];
            for (int c = 0; c < ncol; c++) yb[c] = bcast64(y[c]->qs + 32 * s + 8 * g);
            for (int p = 0; p < 2; p++) {
                const __m256i w = P[p].q[s][g];
                for (int c = 0; c < ncol; c++) {
                    const __m256i m = _mm256_maddubs_epi16(w, yb[c]);
                    t[c][p] = g == 0 ? m : add_chain16(t[c][p], m);
                }
            }
        }
        for (int p = 0; p < 2; p++)
            for (int c = 0; c < ncol; c++)
                sum[c][p] = _mm256_add_epi32(sum[c][p], _mm256_madd_epi16(t[c][p], P[p].sc[s]));
    }
    k45_finish(P, y, ncol, sum, acc);
}

/* k45_cols_impl with the quants decoded where they are used (one or two
 * activation rows): a packed vector holds sub-block 2j in its low nibbles
 * and 2j + 1 in its high ones, so it is loaded once for both. The same
 * integer sums, so the same bits. */
INLINE void k45_cols_fly_impl(const k45_panel P[2], const uint8_t *const yrow[2], int i, int ncol,
                              __m256 (*acc)[2], bool q5) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m10 = _mm256_set1_epi8(0x10);
    const block_q8_K *y[2];
    __m256i sum[2][2];
    k45_begin(yrow, i, ncol, y, sum);
    ROLLED for (int j = 0; j < 4; j++) {
        __m256i tl[2][2], th[2][2];
        for (int g = 0; g < 4; g++) {
            __m256i ylo[2], yhi[2];
            for (int c = 0; c < ncol; c++) {
                ylo[c] = bcast64(y[c]->qs + 64 * j + 8 * g);
                yhi[c] = bcast64(y[c]->qs + 64 * j + 32 + 8 * g);
            }
            for (int p = 0; p < 2; p++) {
                const __m256i v = loadu256(P[p].src + 128 * j + 32 * g);
                __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                if (q5) { /* bits 2j and 2j + 1 of each byte of qh */
                    const __m256i b = _mm256_srl_epi16(loadu256(P[p].src + 512 + 32 * g), _mm_cvtsi32_si128(2 * j));
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(b, 4), m10));
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(b, 3), m10));
                }
                for (int c = 0; c < ncol; c++) {
                    const __m256i ml = _mm256_maddubs_epi16(lo, ylo[c]), mh = _mm256_maddubs_epi16(hi, yhi[c]);
                    tl[c][p] = g == 0 ? ml : add_chain16(tl[c][p], ml);
                    th[c][p] = g == 0 ? mh : add_chain16(th[c][p], mh);
                }
            }
        }
        for (int p = 0; p < 2; p++)
            for (int c = 0; c < ncol; c++)
                sum[c][p] = _mm256_add_epi32(sum[c][p], _mm256_add_epi32(_mm256_madd_epi16(tl[c][p], P[p].sc[2 * j]),
                                                                         _mm256_madd_epi16(th[c][p], P[p].sc[2 * j + 1])));
    }
    k45_finish(P, y, ncol, sum, acc);
}

INLINE void k45_cols(const k45_panel P[2], const uint8_t *const yrow[2], int i, int nblk, int ncol,
                     __m256 (*acc)[2]) {
    (void)nblk;
    k45_cols_impl(P, yrow, i, ncol, acc);
}

/* Q4_K and Q5_K on the natural layout (see "the single-column path"). */
INLINE __m256i k45_row_chunk(const uint8_t *q4, const uint8_t *qh, const int8_t *q8, __m256i sc, int j) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), bits = loadu256(q4 + 32 * j);
    __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
    if (qh) {
        const __m256i h = loadu256(qh);
        lo = _mm256_or_si256(lo, bit_to_0x10(h, 2 * j));
        hi = _mm256_or_si256(hi, bit_to_0x10(h, 2 * j + 1));
    }
    const __m256i pl = _mm256_madd_epi16(BCAST16(sc, 2 * j), _mm256_maddubs_epi16(lo, loadu256(q8 + 64 * j)));
    const __m256i ph = _mm256_madd_epi16(BCAST16(sc, 2 * j + 1), _mm256_maddubs_epi16(hi, loadu256(q8 + 64 * j + 32)));
    return _mm256_add_epi32(pl, ph);
}

INLINE float k45_row(const uint8_t *x, const void *vy, int n, bool q5) {
    const size_t bytes = q5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const block_q8_K *y = vy;
    __m128 acc = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++, x += bytes) {
        const uint8_t *qs = x + (q5 ? offsetof(block_q5_K, qs) : offsetof(block_q4_K, qs));
        const uint8_t *qh = q5 ? x + offsetof(block_q5_K, qh) : NULL;
        const __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(x + offsetof(block_q4_K, scales)));
        const __m256i sc = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm));
        __m256i sumi = k45_row_chunk(qs, qh, y[i].qs, sc, 0);
        for (int j = 1; j < 4; j++) sumi = _mm256_add_epi32(sumi, k45_row_chunk(qs, qh, y[i].qs, sc, j));
        /* lane j: the mins of sub-blocks 2j and 2j+1 times their sums; the
         * panels' A has sub-blocks 0, 1, 4, 5, B 2, 3, 6, 7 */
        const __m256i bs = loadu256(y[i].bsums);
        const __m128i md = _mm_madd_epi16(_mm256_extracti128_si256(sm, 1),
                                          _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1)));
        const __m128i m = _mm_add_epi32(md, _mm_unpackhi_epi64(md, md));
        const __m128 d = _mm_set1_ps(tensor_x86_half(x + offsetof(block_q4_K, d)));
        const __m128 dmin = _mm_set1_ps(tensor_x86_half(x + offsetof(block_q4_K, dmin)));
        const __m128 f = _mm_fmsub_ps(_mm_cvtepi32_ps(even_odd(sumi)), d, _mm_mul_ps(_mm_cvtepi32_ps(m), dmin));
        acc = _mm_fmadd_ps(f, _mm_set1_ps(y[i].d), acc);
    }
    return sum_ab(acc);
}

static float q4k_row(const uint8_t *x, const void *y, int n) { return k45_row(x, y, n, false); }
static float q5k_row(const uint8_t *x, const void *y, int n) { return k45_row(x, y, n, true); }

static void gemm_q4_K(int n, float *s, size_t s_stride, const void *x, size_t x_stride, const void *y,
                      size_t y_stride, int nr, int nc) {
    if (nc == 1) GEMV(q4k_row);
    else GEMM_PANELS(k45_panel, QK_K, sizeof(block_q4_K), 1, q4k_decode, k45_cols, store_rows);
}

static void gemm_q5_K(int n, float *s, size_t s_stride, const void *x, size_t x_stride, const void *y,
                      size_t y_stride, int nr, int nc) {
    if (nc == 1) GEMV(q5k_row);
    else GEMM_PANELS(k45_panel, QK_K, sizeof(block_q5_K), 1, q5k_decode, k45_cols, store_rows);
}


INLINE void k45_pack_panel(uint8_t *dst, const uint8_t *const b[PR], bool q5) {
    const uint8_t *qs[PR], *qh[PR];
    __m128i sm[PR], t[4];
    for (int r = 0; r < PR; r++) {
        qs[r] = b[r] + (q5 ? offsetof(block_q5_K, qs) : offsetof(block_q4_K, qs));
        qh[r] = b[r] + offsetof(block_q5_K, qh);
        sm[r] = k4_scales_mins(b[r] + offsetof(block_q4_K, scales));
    }
    __m256i g[4];
    for (int j = 0; j < 4; j++) {
        gather4(qs, 32 * (size_t)j, g);
        for (int k = 0; k < 4; k++) storeu256(dst + 128 * j + 32 * k, g[k]);
    }
    dst += 512;
    if (q5) {
        gather4(qh, 0, g);
        for (int k = 0; k < 4; k++) storeu256(dst + 32 * k, g[k]);
        dst += 128;
    }
    transpose_bytes(sm, t);
    for (int k = 0; k < 4; k++) storeu128(dst + 16 * k, t[k]);
    for (int r = 0; r < PR; r++) {
        memcpy(dst + 64 + 2 * r, b[r] + offsetof(block_q4_K, d), 2);
        memcpy(dst + 72 + 2 * r, b[r] + offsetof(block_q4_K, dmin), 2);
    }
}


/* k45_decode from a packed panel; without quants, P->src points at them
 * for k45_cols_fly_impl. */
INLINE void k45_decode_packed(k45_panel *P, const uint8_t *xp, int i, int p, bool q5, bool quants) {
    const uint8_t *src = xp + ((size_t)i * 2 + (size_t)p) * K45_PANEL_BYTES(q5);
    P->src = src;
    __m256i h[4] = {0};
    for (int k = 0; k < 4 && q5 && quants; k++) h[k] = loadu256(src + 512 + 32 * k);
    for (int j = 0; j < 4 && quants; j++)
        for (int k = 0; k < 4; k++)
            k45_unpack(loadu256(src + 128 * j + 32 * k), h[k], j, q5, &P->q[2 * j][k], &P->q[2 * j + 1][k]);
    k45_packed_scales(src, q5, P->sc, P->mins, &P->d, &P->dmin);
}
/* The packed Q4_K (Q5 false) or Q5_K kernel: pack_NAME, gemm_packed_NAME. */
#define K45_PACKED(name, Q5) \
    INLINE void name##_decode_packed(k45_panel *P, const uint8_t *xp, int i, int nblk, int p) { \
        (void)nblk; \
        k45_decode_packed(P, xp, i, p, Q5, true); \
    } \
    INLINE void name##_scales_packed(k45_panel *P, const uint8_t *xp, int i, int nblk, int p) { \
        (void)nblk; \
        k45_decode_packed(P, xp, i, p, Q5, false); \
    } \
    INLINE void name##_cols_fly(const k45_panel P[2], const uint8_t *const yrow[2], int i, int nblk, int ncol, \
                                __m256 (*acc)[2]) { \
        (void)nblk; \
        k45_cols_fly_impl(P, yrow, i, ncol, acc, Q5); \
    } \
    static void name##_pack_panel(uint8_t *dst, const uint8_t *const b[PR]) { k45_pack_panel(dst, b, Q5); } \
    static void pack_##name(const void *x, size_t x_stride, void *dst, int n) { \
        pack_rows(x, x_stride, dst, n / QK_K, Q5 ? sizeof(block_q5_K) : sizeof(block_q4_K), K45_PANEL_BYTES(Q5), \
                  name##_pack_panel); \
    } \
    static void gemm_packed_##name(int n, float *s, size_t s_stride, const void *xp, const void *y, \
                                   size_t y_stride, int nc) { \
        const size_t bb = 2 * K45_PANEL_BYTES(Q5); \
        if (nc <= FLY_COLS) GEMM_PACKED(k45_panel, QK_K, bb, 1, name##_scales_packed, name##_cols_fly, store_rows); \
        else GEMM_PACKED(k45_panel, QK_K, bb, 1, name##_decode_packed, k45_cols, store_rows); \
    }

K45_PACKED(q4_K, false)
K45_PACKED(q5_K, true)

/* ---- Q6_K: 16 sub-blocks of 16 with int8 scales, quants 0..63 less 32 ---- */

typedef struct {
    __m256i q[16][2]; /* sub-block s, elements 16s + 8g .. +7: quants 0..63 */
    __m256i sc[16];   /* int16: row r's scale of sub-block s in lanes 4r..4r+3 */
    __m256i off[4];   /* int16: lane 4r + k = 32 * row r's scale of sub-block 4p + k */
    __m256 d;         /* row pairs */
    const uint8_t *src; /* packed: the panel, when q is not filled (q6k_fly_quant) */
} q6k_panel;

/* The four quant vectors of sub-blocks 2v + (0/1) (v = 0..3) that ql
 * vectors l0, l1 and the qh vector hb make: the low nibbles of l0, l1,
 * then their high nibbles, each with its two bits of hb. */
/* Quant vector v (0..3) of the four that ql vectors l0, l1 and qh vector
 * hb hold: v's low nibbles, and its two high bits moved to bits 4-5 (a
 * 16-bit shift brings bits of the neighbour byte only where the masks
 * clear them). */
INLINE __m256i q6k_quant(__m256i l0, __m256i l1, __m256i hb, int v) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const __m256i l = v & 1 ? l1 : l0;
    const __m256i lo = _mm256_and_si256(v < 2 ? l : _mm256_srli_epi16(l, 4), m4);
    const __m256i hi = v == 0 ? _mm256_slli_epi16(hb, 4) : v == 1 ? _mm256_slli_epi16(hb, 2)
                     : v == 2 ? hb : _mm256_srli_epi16(hb, 2);
    return _mm256_or_si256(lo, _mm256_and_si256(hi, m30));
}

INLINE void q6k_unpack(__m256i l0, __m256i l1, __m256i hb, __m256i q[4]) {
    for (int v = 0; v < 4; v++) q[v] = q6k_quant(l0, l1, hb, v);
}

INLINE void q6k_decode(q6k_panel *P, const uint8_t *const rows[PR], int i, int nblk) {
    (void)nblk; /* one superblock */
    const block_q6_K *b[PR];
    const uint8_t *ql[PR], *qh[PR];
    __m128i sv[PR], t[4];
    for (int r = 0; r < PR; r++) {
        b[r] = (const block_q6_K *)rows[r] + i;
        ql[r] = b[r]->ql;
        qh[r] = b[r]->qh;
        sv[r] = loadu128(b[r]->scales);
    }
    for (int h = 0; h < 2; h++) { /* 128 elements: ql bytes 64h.., qh bytes 32h.. */
        __m256i l0[4], l1[4], hb[4];
        gather4(ql, 64 * (size_t)h, l0);
        gather4(ql, 64 * (size_t)h + 32, l1);
        gather4(qh, 32 * (size_t)h, hb);
        for (int g = 0; g < 4; g++) { /* elements 128h + 32t + 8g .., t = 0..3 */
            __m256i q[4];
            q6k_unpack(l0[g], l1[g], hb[g], q);
            for (int v = 0; v < 4; v++) P->q[8 * h + 2 * v + g / 2][g % 2] = q[v];
        }
    }
    transpose_bytes(sv, t); /* t[k]: scales of sub-blocks 4k..4k+3 */
    for (int s = 0; s < 16; s++) P->sc[s] = row_splat_s8(t[s / 4], s % 4);
    for (int p = 0; p < 4; p++) P->off[p] = _mm256_slli_epi16(row_quads_s8(t[p]), 5);
    P->d = row_halves(&b[0]->d, &b[1]->d, &b[2]->d, &b[3]->d);
}

/* As k45_cols. A sub-block's two maddubs sum to at most 2 * 2 * 63 * 127
 * in int16; the -32 of every quant is taken off once per superblock with
 * the bsums: sum[c][p] starts there (q6k_begin), and q6k_end scales it. */
INLINE void q6k_begin(const q6k_panel P[2], const uint8_t *const yrow[2], int i, int ncol,
                      const block_q8_K *y[2], __m256i (*sum)[2]) {
    for (int c = 0; c < ncol; c++) {
        y[c] = (const block_q8_K *)yrow[c] + i;
        for (int p = 0; p < 2; p++) {
            sum[c][p] = _mm256_setzero_si256();
            for (int k = 0; k < 4; k++)
                sum[c][p] = _mm256_sub_epi32(sum[c][p], _mm256_madd_epi16(P[p].off[k], bcast64(y[c]->bsums + 4 * k)));
        }
    }
}

INLINE void q6k_end(const q6k_panel P[2], const block_q8_K *const y[2], int ncol, __m256i (*sum)[2],
                    __m256 (*acc)[2]) {
    for (int c = 0; c < ncol; c++) {
        const __m256 yd = _mm256_set1_ps(y[c]->d);
        for (int p = 0; p < 2; p++)
            acc[c][p] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[c][p]), _mm256_mul_ps(P[p].d, yd), acc[c][p]);
    }
}

INLINE void q6k_cols(const q6k_panel P[2], const uint8_t *const yrow[2], int i, int nblk, int ncol,
                     __m256 (*acc)[2]) {
    (void)nblk;
    const block_q8_K *y[2];
    __m256i sum[2][2];
    q6k_begin(P, yrow, i, ncol, y, sum);
    ROLLED for (int s = 0; s < 16; s++) {
        __m256i t[2][2];
        for (int g = 0; g < 2; g++) {
            __m256i yb[2];
            for (int c = 0; c < ncol; c++) yb[c] = bcast64(y[c]->qs + 16 * s + 8 * g);
            for (int p = 0; p < 2; p++)
                for (int c = 0; c < ncol; c++) {
                    const __m256i m = _mm256_maddubs_epi16(P[p].q[s][g], yb[c]);
                    t[c][p] = g == 0 ? m : add_chain16(t[c][p], m);
                }
        }
        for (int p = 0; p < 2; p++)
            for (int c = 0; c < ncol; c++)
                sum[c][p] = _mm256_add_epi32(sum[c][p], _mm256_madd_epi16(t[c][p], P[p].sc[s]));
    }
    q6k_end(P, y, ncol, sum, acc);
}

/* Q6_K on the natural layout: 128 elements, quants 0..63, sc the scales of
 * this half in both 128-bit lanes. */
#define REP16(w) ((long long)((w) * 0x0001000100010001ull))
#define PAIR16(v, k) _mm256_shuffle_epi8((v), _mm256_set_epi64x( \
    REP16(((2 * (k) + 3) << 8) | (2 * (k) + 2)), REP16(((2 * (k) + 3) << 8) | (2 * (k) + 2)), \
    REP16(((2 * (k) + 1) << 8) | (2 * (k))), REP16(((2 * (k) + 1) << 8) | (2 * (k)))))

INLINE __m256i q6k_row_half(const uint8_t *ql, const uint8_t *qh, const int8_t *q8, __m256i sc) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    const __m256i b1 = loadu256(ql), b2 = loadu256(ql + 32), bh = loadu256(qh);
    const __m256i q[4] = {
        _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_slli_epi16(_mm256_and_si256(bh, m2), 4)),
        _mm256_or_si256(_mm256_and_si256(b2, m4), _mm256_slli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8(0x0C)), 2)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4), _mm256_and_si256(bh, _mm256_set1_epi8(0x30))),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4),
                        _mm256_srli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8((char)0xC0)), 2)),
    };
    __m256i sum = _mm256_madd_epi16(PAIR16(sc, 0), _mm256_maddubs_epi16(q[0], loadu256(q8)));
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(PAIR16(sc, 2), _mm256_maddubs_epi16(q[1], loadu256(q8 + 32))));
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(PAIR16(sc, 4), _mm256_maddubs_epi16(q[2], loadu256(q8 + 64))));
    return _mm256_add_epi32(sum, _mm256_madd_epi16(PAIR16(sc, 6), _mm256_maddubs_epi16(q[3], loadu256(q8 + 96))));
}

static float q6k_row(const uint8_t *vx, const void *vy, int n) {
    const block_q6_K *x = (const block_q6_K *)vx;
    const block_q8_K *y = vy;
    __m128 acc = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(x[i].scales));
        /* lane k: 32 * (sc * bsum) of sub-blocks 2k and 2k+1, the -32 offset */
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, loadu256(y[i].bsums)), 5);
        const __m256i sc_a = _mm256_permute2x128_si256(sc16, sc16, 0x00);
        const __m256i sc_b = _mm256_permute2x128_si256(sc16, sc16, 0x11);
        __m256i sumi = _mm256_add_epi32(q6k_row_half(x[i].ql, x[i].qh, y[i].qs, sc_a),
                                        q6k_row_half(x[i].ql + 64, x[i].qh + 32, y[i].qs + 128, sc_b));
        sumi = _mm256_sub_epi32(sumi, off);
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(even_odd(sumi)),
                           _mm_mul_ps(_mm_set1_ps(tensor_x86_half(&x[i].d)), _mm_set1_ps(y[i].d)), acc);
    }
    return sum_ab(acc);
}

static void gemm_q6_K(int n, float *s, size_t s_stride, const void *x, size_t x_stride, const void *y,
                      size_t y_stride, int nr, int nc) {
    if (nc == 1) GEMV(q6k_row);
    else GEMM_PANELS(q6k_panel, QK_K, sizeof(block_q6_K), 1, q6k_decode, q6k_cols, store_rows);
}


static void q6k_pack_panel(uint8_t *dst, const uint8_t *const b[PR]) {
    const uint8_t *ql[PR], *qh[PR];
    __m128i sv[PR], t[4];
    for (int r = 0; r < PR; r++) {
        const block_q6_K *blk = (const block_q6_K *)b[r];
        ql[r] = blk->ql;
        qh[r] = blk->qh;
        sv[r] = loadu128(blk->scales);
    }
    for (int h = 0; h < 2; h++) {
        __m256i g[4];
        const size_t offs[3] = {64 * (size_t)h, 64 * (size_t)h + 32, 32 * (size_t)h};
        for (int v = 0; v < 3; v++) {
            gather4(v < 2 ? ql : qh, offs[v], g);
            for (int k = 0; k < 4; k++) storeu256(dst + 384 * h + 128 * v + 32 * k, g[k]);
        }
    }
    transpose_bytes(sv, t);
    for (int k = 0; k < 4; k++) storeu128(dst + 768 + 16 * k, t[k]);
    for (int r = 0; r < PR; r++) memcpy(dst + 832 + 2 * r, &((const block_q6_K *)b[r])->d, 2);
}


INLINE void q6k_decode_packed_impl(q6k_panel *P, const uint8_t *xp, int i, int p, bool quants) {
    const uint8_t *src = xp + ((size_t)i * 2 + (size_t)p) * Q6K_PANEL_BYTES;
    P->src = src;
    for (int h = 0; h < 2 && quants; h++) {
        const uint8_t *v = src + 384 * h;
        for (int g = 0; g < 4; g++) {
            __m256i q[4];
            q6k_unpack(loadu256(v + 32 * g), loadu256(v + 128 + 32 * g), loadu256(v + 256 + 32 * g), q);
            for (int k = 0; k < 4; k++) P->q[8 * h + 2 * k + g / 2][g % 2] = q[k];
        }
    }
    q6k_packed_scales(src, P->sc, P->off, &P->d);
}

INLINE void q6k_decode_packed(q6k_panel *P, const uint8_t *xp, int i, int nblk, int p) {
    (void)nblk;
    q6k_decode_packed_impl(P, xp, i, p, true);
}
INLINE void q6k_scales_packed(q6k_panel *P, const uint8_t *xp, int i, int nblk, int p) {
    (void)nblk;
    q6k_decode_packed_impl(P, xp, i, p, false);
}
/* q6k_cols with the quants decoded where they are used, from a packed
 * panel (P->src). A ql vector holds two sub-blocks' low nibbles and a qh
 * vector four sub-blocks' high bits, so the three vectors of a step are
 * decoded together (q6k_unpack) into the halves of four sub-blocks, and
 * two steps complete them: a third fewer instructions than decoding each
 * sub-block's vectors on their own. Integer sums, so the order of the
 * sub-blocks changes no bit. */
INLINE void q6k_cols_fly(const q6k_panel P[2], const uint8_t *const yrow[2], int i, int nblk, int ncol,
                         __m256 (*acc)[2]) {
    (void)nblk;
    const block_q8_K *y[2];
    __m256i sum[2][2];
    q6k_begin(P, yrow, i, ncol, y, sum);
    for (int p = 0; p < 2; p++)
        ROLLED for (int u = 0; u < 4; u++) { /* half h, sub-blocks of parity gq */
            const int h = u / 2, gq = u % 2;
            const uint8_t *base = P[p].src + 384 * h;
            __m256i l0[2], l1[2], hb[2];
            for (int g = 0; g < 2; g++) {
                const int gg = 2 * gq + g;
                l0[g] = loadu256(base + 32 * gg);
                l1[g] = loadu256(base + 128 + 32 * gg);
                hb[g] = loadu256(base + 256 + 32 * gg);
            }
            for (int v = 0; v < 4; v++) {
                const int s = 8 * h + 2 * v + gq;
                const __m256i q0 = q6k_quant(l0[0], l1[0], hb[0], v), q1 = q6k_quant(l0[1], l1[1], hb[1], v);
                for (int c = 0; c < ncol; c++) {
                    const __m256i t = add_chain16(_mm256_maddubs_epi16(q0, bcast64(y[c]->qs + 16 * s)),
                                                  _mm256_maddubs_epi16(q1, bcast64(y[c]->qs + 16 * s + 8)));
                    sum[c][p] = _mm256_add_epi32(sum[c][p], _mm256_madd_epi16(t, P[p].sc[s]));
                }
            }
        }
    q6k_end(P, y, ncol, sum, acc);
}

static void pack_q6_K(const void *x, size_t x_stride, void *dst, int n) {
    pack_rows(x, x_stride, dst, n / QK_K, sizeof(block_q6_K), Q6K_PANEL_BYTES, q6k_pack_panel);
}
static void gemm_packed_q6_K(int n, float *s, size_t s_stride, const void *xp, const void *y, size_t y_stride,
                             int nc) {
    const size_t bb = 2 * Q6K_PANEL_BYTES;
    if (nc <= FLY_COLS) GEMM_PACKED(q6k_panel, QK_K, bb, 1, q6k_scales_packed, q6k_cols_fly, store_rows);
    else GEMM_PACKED(q6k_panel, QK_K, bb, 1, q6k_decode_packed, q6k_cols, store_rows);
}

/* ---- Q8_0, Q4_0, Q5_0 against Q8_0: 32-element blocks with a half scale ---- */

#define Q32_PANEL_BLOCKS 8
/* Blocks a step when the quants are decoded where they are used (one or
 * two activation rows): one group of four. With eight, llama-1b Q8_0
 * generation on 1 thread ran 20-35% slower (interleaved pairs; the
 * prefetch distance was not the cause). */
#define Q32_FLY_BLOCKS 4
_Static_assert(Q32_FLY_BLOCKS % 4 == 0 && Q32_FLY_BLOCKS <= Q32_PANEL_BLOCKS, "whole groups of four blocks");

typedef struct {
    __m256i q[Q32_PANEL_BLOCKS][4];  /* block b, elements 8g .. 8g+7: signed quants */
    __m256i aq[Q32_PANEL_BLOCKS][4]; /* their magnitudes, stored: the loop is short of ALU slots, not loads */
    __m128 d[Q32_PANEL_BLOCKS];      /* the four rows' block scales */
    const uint8_t *src;              /* packed: the panel, when q, aq are not filled (q32_fly_quant) */
} q32_panel;

/* 16 bytes at byte offset off of each row, regrouped: vector h holds bytes
 * 8h..8h+7 of row r in 64-bit lane r. */
INLINE void gather4x16(const uint8_t *const p[PR], size_t off, __m256i g[2]) {
    const __m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(p[0] + off)), loadu128(p[2] + off), 1);
    const __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(p[1] + off)), loadu128(p[3] + off), 1);
    g[0] = _mm256_unpacklo_epi64(a, b);
    g[1] = _mm256_unpackhi_epi64(a, b);
}

/* Q4_0/Q5_0 nibbles: the low nibbles of the 16 bytes are elements 0..15,
 * the high ones 16..31. */
INLINE void nibble_groups(const uint8_t *const qs[PR], __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i g[2];
    gather4x16(qs, 0, g);
    for (int h = 0; h < 2; h++) {
        q[h] = _mm256_and_si256(g[h], m4);
        q[2 + h] = _mm256_and_si256(_mm256_srli_epi16(g[h], 4), m4);
    }
}


INLINE void q32_decode(q32_panel *P, const uint8_t *const rows[PR], int i, int nblk, enum tensor_type t) {
    for (int b = 0; b < nblk; b++) {
        const uint8_t *blk[PR], *qs[PR];
        uint32_t qh[PR];
        for (int r = 0; r < PR; r++) {
            blk[r] = rows[r] + (size_t)(i + b) * q32_block_bytes(t);
            qs[r] = blk[r] + q32_qs_offset(t);
            if (t == TENSOR_Q5_0) memcpy(&qh[r], blk[r] + offsetof(block_q5_0, qh), 4);
        }
        __m256i *q = P->q[b];
        if (t == TENSOR_Q8_0) {
            gather4(qs, 0, q);
        } else if (t == TENSOR_Q4_0) {
            nibble_groups(qs, q);
            for (int g = 0; g < 4; g++) q[g] = _mm256_sub_epi8(q[g], _mm256_set1_epi8(8));
        } else {
            nibble_groups(qs, q);
            const __m128i qh4 = _mm_setr_epi32((int)qh[0], (int)qh[1], (int)qh[2], (int)qh[3]);
            for (int g = 0; g < 4; g++)
                q[g] = _mm256_sub_epi8(_mm256_or_si256(q[g], fifth_bits(qh4, g)), _mm256_set1_epi8(16));
        }
        for (int g = 0; g < 4; g++) P->aq[b][g] = _mm256_abs_epi8(q[g]);
        /* the half scale leads every one of these blocks */
        P->d[b] = _mm_setr_ps(tensor_x86_half(blk[0]), tensor_x86_half(blk[1]), tensor_x86_half(blk[2]),
                              tensor_x86_half(blk[3]));
    }
}

/* Signed by signed with maddubs: |w| against y with w's sign. A Q8_0 pair
 * sum reaches 2 * 128 * 127, so each product is widened on its own
 * (wide); Q4_0/Q5_0 weights are at most 16 in magnitude, and a block's
 * four products add in int16 before one widening.
 * The float steps are cut for the single-column path (q32_row), which
 * must give the same bits: one lane per row (its reduction to two lanes
 * would cost a third of its work on such small blocks), so the two panels'
 * sums fold into one vector of the eight rows' block sums,
 * [p0 r0 r1, p1 r0 r1 | p0 r2 r3, p1 r2 r3]; and each group of four
 * blocks (from a multiple of 4) is summed as (p0 + p1) + (p2 + p3), a
 * missing block's product +0, before it joins the accumulator, so that
 * the row path has no chain of dependent adds from block to block.
 * Decoding where they are used (fly), Q4_0's and Q5_0's quants stay
 * unsigned: maddubs takes them as they are, and the offset times the sum
 * of the block's activations (q32_offset_sum) comes off each row's sum
 * once, instead of a subtraction, an abs and a sign per quant vector. The
 * integer sums are the same. */

/* q32_offset(t) times the sum of activation block y, in every int32 lane. */
INLINE __m256i q32_offset_sum(const block_q8_0 *y, enum tensor_type t) {
    const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), loadu256(y->qs));
    __m256i s = _mm256_madd_epi16(s16, _mm256_set1_epi16((short)q32_offset(t)));
    s = _mm256_add_epi32(s, _mm256_permute2x128_si256(s, s, 1));
    s = _mm256_add_epi32(s, _mm256_shuffle_epi32(s, 0x4E));
    return _mm256_add_epi32(s, _mm256_shuffle_epi32(s, 0xB1));
}

INLINE void q32_group(const q32_panel P[2], const uint8_t *const yrow[2], int i, int q, int k, int ncol,
                      __m256 (*acc)[2], bool wide, bool fly, enum tensor_type type) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256 zero = _mm256_setzero_ps();
    const bool raw = fly && type != TENSOR_Q8_0; /* unsigned quants, the offset taken off per row */
    __m256 t01[2] = {zero, zero}, t2[2] = {zero, zero}; /* p0 + p1, p2 */
    for (int j = 0; j < k; j++) {
        const int b = q + j;
        const block_q8_0 *y[2];
        __m256i sum[2][2];
        for (int c = 0; c < ncol; c++) y[c] = (const block_q8_0 *)yrow[c] + i + b;
        for (int g = 0; g < 4; g++) {
            __m256i yb[2];
            for (int c = 0; c < ncol; c++) yb[c] = bcast64(y[c]->qs + 8 * g);
            for (int p = 0; p < 2; p++) {
                const __m256i w = raw ? q32_fly_raw(P[p].src, b, g, type)
                                  : fly ? q32_fly_quant(P[p].src, b, g, type) : P[p].q[b][g];
                const __m256i aw = raw ? w : fly ? _mm256_abs_epi8(w) : P[p].aq[b][g];
                for (int c = 0; c < ncol; c++) {
                    __m256i m = _mm256_maddubs_epi16(aw, raw ? yb[c] : _mm256_sign_epi8(yb[c], w));
                    if (wide) m = _mm256_madd_epi16(m, ones);
                    sum[c][p] = g == 0 ? m : wide ? add_chain32(sum[c][p], m) : add_chain16(sum[c][p], m);
                }
            }
        }
        const __m256 d = _mm256_set_m128(_mm_movehl_ps(P[1].d[b], P[0].d[b]), _mm_movelh_ps(P[0].d[b], P[1].d[b]));
        for (int c = 0; c < ncol; c++) {
            if (!wide) for (int p = 0; p < 2; p++) sum[c][p] = _mm256_madd_epi16(sum[c][p], ones);
            __m256i h = _mm256_hadd_epi32(sum[c][0], sum[c][1]);
            if (raw) h = _mm256_sub_epi32(h, q32_offset_sum(y[c], type));
            const __m256 yd = _mm256_set1_ps(tensor_x86_half(&y[c]->d));
            const __m256 pr = _mm256_mul_ps(_mm256_cvtepi32_ps(h), _mm256_mul_ps(d, yd));
            if (j == 0) t01[c] = pr;
            else if (j == 1) t01[c] = _mm256_add_ps(t01[c], pr);
            else if (j == 2) t2[c] = pr;
            else t2[c] = _mm256_add_ps(t2[c], pr);
        }
    }
    for (int c = 0; c < ncol; c++) { /* a missing product is +0, added as the row path adds it */
        const __m256 lo = k == 1 ? _mm256_add_ps(t01[c], zero) : t01[c];
        const __m256 hi = k == 3 ? _mm256_add_ps(t2[c], zero) : t2[c];
        acc[c][0] = _mm256_add_ps(acc[c][0], _mm256_add_ps(lo, hi));
    }
}

INLINE void q32_cols(const q32_panel P[2], const uint8_t *const yrow[2], int i, int nblk, int ncol,
                     __m256 (*acc)[2], bool wide, bool fly, enum tensor_type t) {
    int q = 0;
    ROLLED for (; q + 4 <= nblk; q += 4) q32_group(P, yrow, i, q, 4, ncol, acc, wide, fly, t);
    if (q < nblk) q32_group(P, yrow, i, q, nblk - q, ncol, acc, wide, fly, t);
}

/* One block's 32 quants on the natural layout: Q8_0's signed, Q4_0's and
 * Q5_0's unsigned (their offset, 8 or 16, is taken off by q32_row_dot). */
INLINE __m256i q32_row_quants(const uint8_t *blk, enum tensor_type t) {
    const uint8_t *qs = blk + q32_qs_offset(t);
    if (t == TENSOR_Q8_0) return loadu256(qs);
    const __m128i b = loadu128(qs);
    const __m256i q = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(b), _mm_srli_epi16(b, 4), 1),
                                       _mm256_set1_epi8(0x0F));
    if (t == TENSOR_Q4_0) return q;
    /* Q5_0: byte j picks the byte of qh holding bit j, then tests it */
    uint32_t qh;
    memcpy(&qh, blk + offsetof(block_q5_0, qh), 4);
    const __m256i pick = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), pick);
    return _mm256_or_si256(q, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(0x10)));
}

/* int32 lane k: the products of elements 4k..4k+3; off (the offset times
 * y, in int16 pairs) is shared by the rows of a step. */
INLINE __m256i q32_row_dot(__m256i q, __m256i yq, __m256i off, enum tensor_type t) {
    const __m256i m = t == TENSOR_Q8_0 ? _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(yq, q))
                                       : _mm256_sub_epi16(_mm256_maddubs_epi16(q, yq), off);
    return _mm256_madd_epi16(m, _mm256_set1_epi16(1));
}

/* The sum of a group of blocks b .. b+k-1 (k <= 4) of one row, as
 * q32_cols sums a group: (p0 + p1) + (p2 + p3), missing products +0. */
INLINE __m128 q32_row_group(const uint8_t *x, const block_q8_0 *y, int b, int k, enum tensor_type t) {
    const size_t bb = q32_block_bytes(t);
    const __m256i offset = _mm256_set1_epi8(t == TENSOR_Q4_0 ? 8 : 16);
    const uint8_t *xb[4];
    const block_q8_0 *yb[4];
    __m256i p[4];
    for (int j = 0; j < 4; j++) {
        const int bj = b + (j < k ? j : 0); /* past the end: block b again, masked below */
        xb[j] = x + (size_t)bj * bb;
        yb[j] = y + bj;
        const __m256i yq = loadu256(yb[j]->qs);
        const __m256i off = t == TENSOR_Q8_0 ? yq : _mm256_maddubs_epi16(offset, yq);
        p[j] = q32_row_dot(q32_row_quants(xb[j], t), yq, off, t);
    }
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    const __m128i S = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    const __m128 dx = _mm_setr_ps(tensor_x86_half(xb[0]), tensor_x86_half(xb[1]), tensor_x86_half(xb[2]),
                                  tensor_x86_half(xb[3]));
    const __m128 dy = _mm_setr_ps(tensor_x86_half(&yb[0]->d), tensor_x86_half(&yb[1]->d), tensor_x86_half(&yb[2]->d),
                                  tensor_x86_half(&yb[3]->d));
    __m128 pr = _mm_mul_ps(_mm_cvtepi32_ps(S), _mm_mul_ps(dx, dy));
    if (k < 4) pr = _mm_and_ps(pr, _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_set1_epi32(k), _mm_setr_epi32(0, 1, 2, 3))));
    const __m128 pairs = _mm_add_ps(pr, _mm_movehdup_ps(pr)); /* p0 + p1 in lane 0, p2 + p3 in lane 2 */
    return _mm_add_ss(pairs, _mm_movehl_ps(pairs, pairs));
}

/* One row of a single-column tile in order, so that the weights stream
 * from DRAM as vec_dot's do (rows side by side make as many streams, and
 * decode slows by a third): a group of four blocks a step, their sums
 * reduced together, and no chain of adds from block to block. */
INLINE float q32_row(const uint8_t *x, const void *vy, int n, enum tensor_type t) {
    const block_q8_0 *y = vy;
    const int nb = n / 32;
    __m128 acc = _mm_setzero_ps();
    int b = 0;
    for (; b + 4 <= nb; b += 4) acc = _mm_add_ss(acc, q32_row_group(x, y, b, 4, t));
    if (b < nb) acc = _mm_add_ss(acc, q32_row_group(x, y, b, nb - b, t));
    return _mm_cvtss_f32(acc);
}


INLINE void q32_pack_panel(uint8_t *dst, const uint8_t *const b[PR], enum tensor_type t) {
    const uint8_t *qs[PR];
    for (int r = 0; r < PR; r++) qs[r] = b[r] + q32_qs_offset(t);
    __m256i g[4];
    if (t == TENSOR_Q8_0) {
        gather4(qs, 0, g);
        for (int k = 0; k < 4; k++) storeu256(dst + 32 * k, g[k]);
    } else {
        gather4x16(qs, 0, g);
        for (int k = 0; k < 2; k++) storeu256(dst + 32 * k, g[k]);
        if (t == TENSOR_Q5_0)
            for (int r = 0; r < PR; r++) memcpy(dst + 64 + 4 * r, b[r] + offsetof(block_q5_0, qh), 4);
    }
    for (int r = 0; r < PR; r++) memcpy(dst + q32_panel_quant_bytes(t) + 2 * r, b[r], 2);
}


/* q32_decode from a packed panel; without quants, P->src points at them. */
INLINE void q32_decode_packed(q32_panel *P, const uint8_t *xp, int i, int nblk, int p, enum tensor_type t,
                              bool quants) {
    P->src = xp + ((size_t)i * 2 + (size_t)p) * q32_panel_bytes(t);
    for (int b = 0; b < nblk; b++) {
        const uint8_t *blk = P->src + (size_t)b * 2 * q32_panel_bytes(t);
        P->d[b] = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(blk + q32_panel_quant_bytes(t))));
        for (int g = 0; g < 4 && quants; g++) {
            P->q[b][g] = q32_fly_quant(P->src, b, g, t);
            P->aq[b][g] = _mm256_abs_epi8(P->q[b][g]);
        }
    }
}

#define Q32_KERNEL(name, TYPE, WIDE) \
    static float name##_row(const uint8_t *x, const void *y, int n) { return q32_row(x, y, n, TYPE); } \
    INLINE void name##_decode(q32_panel *P, const uint8_t *const rows[PR], int i, int nblk) { \
        q32_decode(P, rows, i, nblk, TYPE); \
    } \
    INLINE void name##_cols(const q32_panel P[2], const uint8_t *const yrow[2], int i, int nblk, int ncol, \
                            __m256 (*acc)[2]) { \
        q32_cols(P, yrow, i, nblk, ncol, acc, WIDE, false, TYPE); \
    } \
    INLINE void name##_cols_fly(const q32_panel P[2], const uint8_t *const yrow[2], int i, int nblk, int ncol, \
                                __m256 (*acc)[2]) { \
        q32_cols(P, yrow, i, nblk, ncol, acc, WIDE, true, TYPE); \
    } \
    static void gemm_##name(int n, float *s, size_t s_stride, const void *x, size_t x_stride, const void *y, \
                            size_t y_stride, int nr, int nc) { \
        if (nc == 1) GEMV(name##_row); \
        else GEMM_PANELS(q32_panel, 32, q32_block_bytes(TYPE), Q32_PANEL_BLOCKS, name##_decode, name##_cols, \
                         store_rows1); \
    } \
    static void name##_pack_panel(uint8_t *dst, const uint8_t *const b[PR]) { q32_pack_panel(dst, b, TYPE); } \
    static void pack_##name(const void *x, size_t x_stride, void *dst, int n) { \
        pack_rows(x, x_stride, dst, n / 32, q32_block_bytes(TYPE), q32_panel_bytes(TYPE), name##_pack_panel); \
    } \
    INLINE void name##_decode_packed(q32_panel *P, const uint8_t *xp, int i, int nblk, int p) { \
        q32_decode_packed(P, xp, i, nblk, p, TYPE, true); \
    } \
    INLINE void name##_scales_packed(q32_panel *P, const uint8_t *xp, int i, int nblk, int p) { \
        q32_decode_packed(P, xp, i, nblk, p, TYPE, false); \
    } \
    static void gemm_packed_##name(int n, float *s, size_t s_stride, const void *xp, const void *y, \
                                   size_t y_stride, int nc) { \
        const size_t bb = 2 * q32_panel_bytes(TYPE); \
        if (nc <= FLY_COLS) \
            GEMM_PACKED(q32_panel, 32, bb, Q32_FLY_BLOCKS, name##_scales_packed, name##_cols_fly, store_rows1); \
        else GEMM_PACKED(q32_panel, 32, bb, Q32_PANEL_BLOCKS, name##_decode_packed, name##_cols, store_rows1); \
    }

Q32_KERNEL(q8_0, TENSOR_Q8_0, true)
Q32_KERNEL(q4_0, TENSOR_Q4_0, false)
Q32_KERNEL(q5_0, TENSOR_Q5_0, false)

/* ---- Float weights (F16, BF16, F32) against activations of their own
 * type: FMAs on floats ----
 * Blocks of 4 rows x 3 tokens, each over the whole row: 12 accumulators,
 * 3 activation vectors and a weight one are the 16 registers, and every
 * vector is converted where it is loaded. Float panels of converted
 * chunks, for the other blocks to reuse, measured slower: one of the
 * weight rows (the previous kernel) took 1.2x as long for a 32-token tile
 * and twice as long for a single token, whose speed should be the
 * memory's; one of the activations as well (the stores and the loads back
 * cost more than the conversions they save, which overlap the FMAs).
 * Every output sums its products in eight float lanes, k in
 * order, then adds the lanes and the last n % 8 products in scalar: the
 * same bits whatever the tile. */

INLINE __m256 flt_load(enum tensor_type t, const uint8_t *row, int k) {
    if (t == TENSOR_F32) return _mm256_loadu_ps((const float *)(const void *)row + k);
    const __m128i h = loadu128(row + 2 * (size_t)k);
    if (t == TENSOR_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); /* BF16: the high half */
}

INLINE float flt_scalar(enum tensor_type t, const uint8_t *row, int k) {
    if (t == TENSOR_F16) return tensor_x86_half(row + 2 * (size_t)k);
    if (t == TENSOR_F32) {
        float f;
        memcpy(&f, row + 4 * (size_t)k, sizeof f);
        return f;
    }
    uint16_t h;
    memcpy(&h, row + 2 * (size_t)k, sizeof h);
    return tensor_bf16_to_f32(h);
}

/* sum[c][r] = the lanes of the products rows[r][k] * yrow[c][k], k < n8,
 * added up (ncol a constant: the accumulators stay in registers). */
INLINE void flt_cols(enum tensor_type t, const uint8_t *const rows[PR], const uint8_t *const yrow[3], int n8,
                     int ncol, float sum[3][PR]) {
    __m256 a[3][PR];
    for (int c = 0; c < ncol; c++)
        for (int r = 0; r < PR; r++) a[c][r] = _mm256_setzero_ps();
    ROLLED for (int k = 0; k < n8; k += 8) {
        __m256 yv[3];
        for (int c = 0; c < ncol; c++) yv[c] = flt_load(t, yrow[c], k);
        for (int r = 0; r < PR; r++) {
            const __m256 w = flt_load(t, rows[r], k);
            for (int c = 0; c < ncol; c++) a[c][r] = _mm256_fmadd_ps(w, yv[c], a[c][r]);
        }
    }
    for (int c = 0; c < ncol; c++)
        for (int r = 0; r < PR; r++) sum[c][r] = hsum_ps(a[c][r]);
}

/* Rows r0 .. r0 + 3 by tokens c0 .. c0 + 2, those past nr or nc left out. */
INLINE void flt_block(enum tensor_type t, int n, float *s, size_t s_stride, const uint8_t *x, size_t x_stride,
                      const uint8_t *y, size_t y_stride, int r0, int nr, int c0, int nc) {
    const int n8 = n & ~7, ncol = nc - c0 < 3 ? nc - c0 : 3;
    const uint8_t *rows[PR], *yrow[3];
    float sum[3][PR];
    for (int r = 0; r < PR; r++) rows[r] = x + (size_t)(r0 + r < nr ? r0 + r : r0) * x_stride;
    for (int c = 0; c < 3; c++) yrow[c] = y + (size_t)(c0 + (c < ncol ? c : 0)) * y_stride;
    switch (ncol) {
    case 1: flt_cols(t, rows, yrow, n8, 1, sum); break;
    case 2: flt_cols(t, rows, yrow, n8, 2, sum); break;
    default: flt_cols(t, rows, yrow, n8, 3, sum); break;
    }
    for (int c = 0; c < ncol; c++)
        for (int r = 0; r < PR && r0 + r < nr; r++) {
            float v = sum[c][r];
            for (int k = n8; k < n; k++) v += flt_scalar(t, rows[r], k) * flt_scalar(t, yrow[c], k);
            s[(size_t)(c0 + c) * s_stride + (size_t)(r0 + r)] = v;
        }
}

INLINE void gemm_float(enum tensor_type t, int n, float *s, size_t s_stride, const uint8_t *x, size_t x_stride,
                       const uint8_t *y, size_t y_stride, int nr, int nc) {
    for (int r0 = 0; r0 < nr; r0 += PR)
        for (int c0 = 0; c0 < nc; c0 += 3) flt_block(t, n, s, s_stride, x, x_stride, y, y_stride, r0, nr, c0, nc);
}

#define FLOAT_GEMM(name, T) \
    static void gemm_##name(int n, float *s, size_t s_stride, const void *x, size_t x_stride, const void *y, \
                            size_t y_stride, int nr, int nc) { \
        gemm_float(T, n, s, s_stride, x, x_stride, y, y_stride, nr, nc); \
    }
FLOAT_GEMM(f16, TENSOR_F16)
FLOAT_GEMM(bf16, TENSOR_BF16)
FLOAT_GEMM(f32, TENSOR_F32)

/* Bytes of one block of eight packed rows: two panels. */
#define PACKED(T, name, panel_bytes) do { \
    k->pack[T] = pack_##name; \
    k->gemm_packed[T] = gemm_packed_##name; \
    k->packed_block_bytes[T] = 2 * (panel_bytes); \
} while (0)

void tensor_gemm_avx2(tensor_kernels *k) {
    PACKED(TENSOR_Q8_0, q8_0, q32_panel_bytes(TENSOR_Q8_0));
    PACKED(TENSOR_Q4_0, q4_0, q32_panel_bytes(TENSOR_Q4_0));
    PACKED(TENSOR_Q5_0, q5_0, q32_panel_bytes(TENSOR_Q5_0));
    PACKED(TENSOR_Q4_K, q4_K, K45_PANEL_BYTES(false));
    PACKED(TENSOR_Q5_K, q5_K, K45_PANEL_BYTES(true));
    PACKED(TENSOR_Q6_K, q6_K, Q6K_PANEL_BYTES);
    k->gemm[TENSOR_F16] = gemm_f16;
    k->gemm[TENSOR_BF16] = gemm_bf16;
    k->gemm[TENSOR_F32] = gemm_f32;
    k->gemm[TENSOR_Q8_0] = gemm_q8_0;
    k->gemm[TENSOR_Q4_0] = gemm_q4_0;
    k->gemm[TENSOR_Q5_0] = gemm_q5_0;
    k->gemm[TENSOR_Q4_K] = gemm_q4_K;
    k->gemm[TENSOR_Q5_K] = gemm_q5_K;
    k->gemm[TENSOR_Q6_K] = gemm_q6_K;
}

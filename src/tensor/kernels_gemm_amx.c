/* tensor: the AMX tile kernel for Q8_0 weights against Q8_0 activations
 * (prompt processing), installed by tensor_kernels_amx() when CPUID
 * reports AMX-INT8 and Linux grants the tile state.
 *
 * One TDPBSSD multiplies a tile of up to 16 activation rows by a block
 * (32 quants) of the group's eight weight rows, signed by signed, straight
 * into int32: 4096 products an instruction, where the AVX-512 kernel takes
 * a sign fix, a dpbusd and a broadcast per 256. Each block has its own
 * scales, so a block's sums leave the tile (four blocks, four C tiles, a
 * step) and are scaled and added in float with AVX-512, in the AVX2
 * kernels' order (q32_group): each block's int sum times (weight scale
 * times activation scale), then (p0 + p1) + (p2 + p3), a missing block's
 * product +0, onto the row's sum. Integer sums are exact in any order, so
 * the results are the AVX2 kernels' bits and decode still equals prefill.
 *
 * The weights stay in the packed layout of packed_x86.h (the narrow tiles
 * read it); each block is re-laid once a call into TDPBSSD's B operand
 * (row k: quants 4k..4k+3 of each of the eight rows), a dword permutation,
 * and serves every activation tile of the call. Activation tiles load
 * straight from the Q8_0 rows with their stride. */
#include <immintrin.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "tensor/packed_x86.h"

#define AMX_MIN_COLS 8 /* tiles of fewer activation rows go to the AVX-512 kernel */
#define TILE_M 16      /* activation rows an A tile */
#define STEP 4         /* blocks a step, one C tile each: the float order sums four */
#define Q8_BLOCK 34    /* bytes of a natural Q8_0 block: the half scale, 32 quants */
#define AMX_PREFETCH 2048

static tensor_gemm_packed_fn AVX512_Q8_0;

/* LDTILECFG's 64 bytes, palette 1. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Tiles 0-3: C, one block each (m activation rows x 8 int32); 4-5: A
 * (m rows x 32 quants), 6-7: B (8 rows of 4 quants x 8 weight rows), two
 * of each so that consecutive blocks need not wait on one register. */
static _Thread_local int loaded_rows; /* m of the configuration this thread loaded; 0: none */

static void configure(int m) {
    if (loaded_rows == m) return;
    alignas(64) tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int t = 0; t < 8; t++) {
        c.rows[t] = (uint8_t)(t < 6 ? m : 8);
        c.colsb[t] = 32;
    }
    _tile_loadconfig(&c);
    loaded_rows = m;
}

/* Block b of a packed group as B: 256 bytes, row k holding quants
 * 4k..4k+3 of weight row 0, then of row 1, ... 7. A panel's quant vector
 * g holds quants 8g..8g+7 of its row r at dwords 2r, 2r+1; B rows 2g and
 * 2g+1 take dword 2r + h (h = 0, 1) of each row of panel 0, then panel 1. */
INLINE void b_operand(const uint8_t *blk, uint8_t *dst) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 16, 18, 20, 22, 1, 3, 5, 7, 17, 19, 21, 23);
    const uint8_t *p1 = blk + q32_panel_bytes(TENSOR_Q8_0);
    for (int g = 0; g < 4; g++) {
        const __m512i a = _mm512_castsi256_si512(loadu256(blk + 32 * g));
        const __m512i b = _mm512_castsi256_si512(loadu256(p1 + 32 * g));
        _mm512_store_si512(dst + 64 * g, _mm512_permutex2var_epi32(a, idx, b));
    }
}

/* Block b's weight scales, rows 0-7 twice: the lanes of two activation rows. */
INLINE __m512 weight_scales(const uint8_t *blk) {
    const size_t at = q32_panel_quant_bytes(TENSOR_Q8_0);
    const __m128 d0 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(blk + at)));
    const __m128 d1 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(blk + q32_panel_bytes(TENSOR_Q8_0) + at)));
    return _mm512_broadcast_f32x8(_mm256_setr_m128(d0, d1));
}

/* The half scales of one block of activation rows 0..m-1 (offsets rowoff),
 * at block bytes base; lanes from m on 0. */
INLINE __m512 act_scales(const uint8_t *base, __m512i rowoff, int m) {
    const __mmask16 live = (__mmask16)((1u << m) - 1);
    const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, rowoff, base, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

/* The tile products of up to four blocks, each into its own C tile and
 * then to c[j]: tile numbers are immediates, hence one line per block. */
INLINE void tile_products(const uint8_t *a, size_t ys, uint8_t (*bq)[256], int32_t (*c)[TILE_M * 8], int k) {
    _tile_zero(0);
    _tile_loadd(4, a, ys);
    _tile_loadd(6, bq[0], 32);
    _tile_dpbssd(0, 4, 6);
    if (k > 1) {
        _tile_zero(1);
        _tile_loadd(5, a + Q8_BLOCK, ys);
        _tile_loadd(7, bq[1], 32);
        _tile_dpbssd(1, 5, 7);
    }
    if (k > 2) {
        _tile_zero(2);
        _tile_loadd(4, a + 2 * Q8_BLOCK, ys);
        _tile_loadd(6, bq[2], 32);
        _tile_dpbssd(2, 4, 6);
    }
    if (k > 3) {
        _tile_zero(3);
        _tile_loadd(5, a + 3 * Q8_BLOCK, ys);
        _tile_loadd(7, bq[3], 32);
        _tile_dpbssd(3, 5, 7);
    }
    _tile_stored(0, c[0], 32);
    if (k > 1) _tile_stored(1, c[1], 32);
    if (k > 2) _tile_stored(2, c[2], 32);
    if (k > 3) _tile_stored(3, c[3], 32);
}

/* One step's float sums onto acc, two activation rows a register (row i
 * of the tile in lanes 8(i % 2) ..): q32_group's steps and order. */
INLINE void step_sums(const int32_t (*c)[TILE_M * 8], const __m512 *dw, const __m512 *dy, int m, int k,
                      __m512 *acc) {
    const __m512 zero = _mm512_setzero_ps();
    for (int z = 0; 2 * z < m; z++) {
        const __m512i pick = _mm512_setr_epi32(2 * z, 2 * z, 2 * z, 2 * z, 2 * z, 2 * z, 2 * z, 2 * z, 2 * z + 1,
                                               2 * z + 1, 2 * z + 1, 2 * z + 1, 2 * z + 1, 2 * z + 1, 2 * z + 1,
                                               2 * z + 1);
        __m512 pr[STEP];
        for (int j = 0; j < k; j++) {
            const __m512 scale = _mm512_mul_ps(dw[j], _mm512_permutexvar_ps(pick, dy[j]));
            pr[j] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c[j] + 16 * z)), scale);
        }
        const __m512 lo = k >= 2 ? _mm512_add_ps(pr[0], pr[1]) : _mm512_add_ps(pr[0], zero);
        const __m512 hi = k == 4 ? _mm512_add_ps(pr[2], pr[3]) : k == 3 ? _mm512_add_ps(pr[2], zero) : zero;
        acc[z] = _mm512_add_ps(acc[z], _mm512_add_ps(lo, hi));
    }
}

static void gemm_amx_q8_0(int n, float *s, size_t s_stride, const void *xp, const void *y, size_t y_stride,
                          int nc) {
    if (nc < AMX_MIN_COLS) {
        AVX512_Q8_0(n, s, s_stride, xp, y, y_stride, nc);
        return;
    }
    const size_t bb = 2 * q32_panel_bytes(TENSOR_Q8_0);
    const int nb = n / 32, ntiles = (nc + TILE_M - 1) / TILE_M;
    alignas(64) uint8_t bq[STEP][256];
    alignas(64) int32_t c[STEP][TILE_M * 8];
    memset(c, 0, sizeof c); /* rows past a short tile's m are read, never used */
    __m512 acc[TENSOR_GEMM_COLS / 2];
    for (int z = 0; z < TENSOR_GEMM_COLS / 2; z++) acc[z] = _mm512_setzero_ps();
    const __m512i rowoff = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)y_stride));
    for (int q = 0; q < nb; q += STEP) {
        const int k = nb - q < STEP ? nb - q : STEP;
        const uint8_t *blk = (const uint8_t *)xp + (size_t)q * bb;
        for (size_t o = 0; o < (size_t)k * bb; o += 64) _mm_prefetch((const char *)blk + AMX_PREFETCH + o, _MM_HINT_T0);
        __m512 dw[STEP];
        for (int j = 0; j < k; j++) {
            b_operand(blk + (size_t)j * bb, bq[j]);
            dw[j] = weight_scales(blk + (size_t)j * bb);
        }
        for (int t = 0; t < ntiles; t++) {
            const int m = nc - TILE_M * t < TILE_M ? nc - TILE_M * t : TILE_M;
            const uint8_t *a = (const uint8_t *)y + (size_t)TILE_M * t * y_stride + (size_t)q * Q8_BLOCK;
            __m512 dy[STEP];
            for (int j = 0; j < k; j++) dy[j] = act_scales(a + (size_t)j * Q8_BLOCK, rowoff, m);
            configure(m);
            tile_products(a + offsetof(block_q8_0, qs), y_stride, bq, c, k);
            step_sums((const int32_t(*)[TILE_M * 8])c, dw, dy, m, k, acc + TILE_M / 2 * t);
        }
    }
    for (int i = 0; i < nc; i++) {
        const __m512 v = acc[i / 2];
        _mm256_storeu_ps(s + (size_t)i * s_stride, i % 2 ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)) : _mm512_castps512_ps256(v));
    }
}

void tensor_kernels_amx(tensor_kernels *k, const tensor_kernels *avx512) {
    const enum tensor_type t = TENSOR_Q8_0;
    if (!avx512->gemm_packed[t]) return;
    AVX512_Q8_0 = avx512->gemm_packed[t];
    k->pack[t] = avx512->pack[t];
    k->packed_block_bytes[t] = avx512->packed_block_bytes[t];
    k->gemm_packed[t] = gemm_amx_q8_0;
}

/* tensor: the AMX tile kernels for Q8_0, Q4_0 and Q5_0 weights against
 * Q8_0 activations (prompt processing), installed by tensor_kernels_amx()
 * when CPUID reports AMX-INT8 and Linux grants the tile state.
 *
 * One TDPBSSD multiplies a tile of up to 16 activation rows by a block
 * (32 quants) of 16 weight rows (two packed groups: the pair kernel, which
 * matmul calls where it can; a lone group fills half the tile), signed by
 * signed, straight into int32: 8192 products an instruction, where the
 * AVX-512 kernel takes a sign fix, a dpbusd and a broadcast per 256. Each
 * block has its own scales, so a block's sums leave the tile (four blocks, four C tiles, a
 * step) and are scaled and added in float with AVX-512, in the AVX2
 * kernels' order (q32_group): each block's int sum times (weight scale
 * times activation scale), then (p0 + p1) + (p2 + p3), a missing block's
 * product +0, onto the row's sum. Integer sums are exact in any order, so
 * the results are the AVX2 kernels' bits and decode still equals prefill.
 *
 * The weights stay in the packed layout of packed_x86.h (the narrow tiles
 * read it); each block is decoded to signed bytes (Q4_0's and Q5_0's
 * offset taken off) and re-laid once a call into TDPBSSD's B operand (row
 * k: quants 4k..4k+3 of each of the 16 rows), a dword permutation, and
 * serves every activation tile of the call. Activation tiles load
 * straight from the Q8_0 rows with their stride; a C tile row is one
 * activation row's 16 sums, one register in the float steps. */
#include <immintrin.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "tensor/packed_x86.h"

#define AMX_MIN_COLS 8 /* tiles of fewer activation rows go to the AVX-512 kernel */
#define TILE_M 16      /* activation rows an A tile */
#define TILE_N 16      /* weight rows a B tile: two packed groups */
#define STEP 4         /* blocks a step, one C tile each: the float order sums four */
#define Q8_BLOCK 34    /* bytes of a natural Q8_0 block: the half scale, 32 quants */
#define AMX_PREFETCH 2048

static tensor_gemm_packed_fn AVX512_PACKED[TENSOR_TYPE_COUNT];

/* LDTILECFG's 64 bytes, palette 1. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Tiles 0-3: C, one block each (m activation rows x 16 int32); 4-5: A
 * (m rows x 32 quants), 6-7: B (8 rows of 4 quants x 16 weight rows), two
 * of each so that consecutive blocks need not wait on one register. */
static _Thread_local int loaded_rows; /* m of the configuration this thread loaded; 0: none */

/* Loaded only when m changes: a tile count of 17-31 activation rows
 * alternates 16 and the rest every step (a prompt's last tile only). */
static void configure(int m) {
    if (loaded_rows == m) return;
    alignas(64) tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int t = 0; t < 8; t++) {
        c.rows[t] = (uint8_t)(t < 6 ? m : 8);
        c.colsb[t] = (uint16_t)(t < 4 || t >= 6 ? 4 * TILE_N : 32);
    }
    _tile_loadconfig(&c);
    loaded_rows = m;
}

INLINE __m512i pair512(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

/* One block of groups g0 and g1 (NULL: zeros) as B: 8 rows of 64 bytes,
 * row k holding quants 4k..4k+3 of weight rows 0-7 (g0), then 8-15 (g1).
 * A panel's quant vector v holds quants 8v..8v+7 of its row r in dwords
 * 2r, 2r+1: B row 2v + h takes dword 2r + h of each row. */
INLINE void b_operand(const uint8_t *g0, const uint8_t *g1, uint8_t *dst, enum tensor_type t) {
    const size_t pb = q32_panel_bytes(t);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int v = 0; v < 4; v++) {
        const __m512i a = pair512(q32_fly_quant(g0, 0, v, t), q32_fly_quant(g0 + pb, 0, v, t));
        const __m512i b = g1 ? pair512(q32_fly_quant(g1, 0, v, t), q32_fly_quant(g1 + pb, 0, v, t))
                             : _mm512_setzero_si512();
        _mm512_store_si512(dst + 128 * v, _mm512_permutex2var_epi32(a, even, b));
        _mm512_store_si512(dst + 128 * v + 64, _mm512_permutex2var_epi32(a, odd, b));
    }
}

/* The block's 16 weight scales (rows 8-15 zero without g1). */
INLINE __m512 weight_scales(const uint8_t *g0, const uint8_t *g1, enum tensor_type t) {
    const size_t at = q32_panel_quant_bytes(t), pb = q32_panel_bytes(t);
    uint64_t h[4] = {0, 0, 0, 0};
    memcpy(&h[0], g0 + at, 8);
    memcpy(&h[1], g0 + pb + at, 8);
    if (g1) memcpy(&h[2], g1 + at, 8), memcpy(&h[3], g1 + pb + at, 8);
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)h));
}

/* The half scales of one block of activation rows 0..m-1 (offsets rowoff),
 * at block bytes base, as floats. */
INLINE void act_scales(const uint8_t *base, __m512i rowoff, int m, float *dst) {
    const __mmask16 live = (__mmask16)((1u << m) - 1);
    const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, rowoff, base, 1);
    _mm512_store_ps(dst, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)));
}

/* The tile products of up to four blocks, each into its own C tile and
 * then to c[j]: tile numbers are immediates, hence one line per block. */
INLINE void tile_products(const uint8_t *a, size_t ys, uint8_t (*bq)[512], int32_t (*c)[TILE_M * TILE_N], int k) {
    _tile_zero(0);
    _tile_loadd(4, a, ys);
    _tile_loadd(6, bq[0], 64);
    _tile_dpbssd(0, 4, 6);
    if (k > 1) {
        _tile_zero(1);
        _tile_loadd(5, a + Q8_BLOCK, ys);
        _tile_loadd(7, bq[1], 64);
        _tile_dpbssd(1, 5, 7);
    }
    if (k > 2) {
        _tile_zero(2);
        _tile_loadd(4, a + 2 * Q8_BLOCK, ys);
        _tile_loadd(6, bq[2], 64);
        _tile_dpbssd(2, 4, 6);
    }
    if (k > 3) {
        _tile_zero(3);
        _tile_loadd(5, a + 3 * Q8_BLOCK, ys);
        _tile_loadd(7, bq[3], 64);
        _tile_dpbssd(3, 5, 7);
    }
    _tile_stored(0, c[0], 64);
    if (k > 1) _tile_stored(1, c[1], 64);
    if (k > 2) _tile_stored(2, c[2], 64);
    if (k > 3) _tile_stored(3, c[3], 64);
}

/* One step's float sums onto acc (an activation row's 16 sums a
 * register): q32_group's steps and order. */
INLINE void step_sums(const int32_t (*c)[TILE_M * TILE_N], const __m512 *dw, const float (*dy)[TILE_M], int m,
                      int k, __m512 *acc) {
    const __m512 zero = _mm512_setzero_ps();
    for (int i = 0; i < m; i++) {
        __m512 pr[STEP];
        for (int j = 0; j < k; j++) {
            const __m512 scale = _mm512_mul_ps(dw[j], _mm512_set1_ps(dy[j][i]));
            pr[j] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c[j] + TILE_N * i)), scale);
        }
        const __m512 lo = k >= 2 ? _mm512_add_ps(pr[0], pr[1]) : _mm512_add_ps(pr[0], zero);
        const __m512 hi = k == 4 ? _mm512_add_ps(pr[2], pr[3]) : k == 3 ? _mm512_add_ps(pr[2], zero) : zero;
        acc[i] = _mm512_add_ps(acc[i], _mm512_add_ps(lo, hi));
    }
}

/* Rows of groups g0 and g1 (NULL: g0's eight alone) by nc activation rows. */
INLINE void amx_q32(int n, float *s, size_t s_stride, const uint8_t *g0, const uint8_t *g1, const void *y,
                    size_t y_stride, int nc, enum tensor_type type) {
    const size_t bb = 2 * q32_panel_bytes(type);
    const int nb = n / 32;
    alignas(64) uint8_t bq[STEP][512];
    alignas(64) int32_t c[STEP][TILE_M * TILE_N];
    alignas(64) float dy[STEP][TILE_M];
    __m512 acc[TENSOR_GEMM_COLS];
    for (int i = 0; i < nc; i++) acc[i] = _mm512_setzero_ps();
    const __m512i rowoff = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)y_stride));
    for (int q = 0; q < nb; q += STEP) {
        const int k = nb - q < STEP ? nb - q : STEP;
        const uint8_t *b0 = g0 + (size_t)q * bb, *b1 = g1 ? g1 + (size_t)q * bb : NULL;
        for (size_t o = 0; o < (size_t)k * bb; o += 64) {
            _mm_prefetch((const char *)b0 + AMX_PREFETCH + o, _MM_HINT_T0);
            if (b1) _mm_prefetch((const char *)b1 + AMX_PREFETCH + o, _MM_HINT_T0);
        }
        __m512 dw[STEP];
        for (int j = 0; j < k; j++) {
            const uint8_t *x1 = b1 ? b1 + (size_t)j * bb : NULL;
            b_operand(b0 + (size_t)j * bb, x1, bq[j], type);
            dw[j] = weight_scales(b0 + (size_t)j * bb, x1, type);
        }
        for (int t = 0; t < nc; t += TILE_M) {
            const int m = nc - t < TILE_M ? nc - t : TILE_M;
            const uint8_t *a = (const uint8_t *)y + (size_t)t * y_stride + (size_t)q * Q8_BLOCK;
            for (int j = 0; j < k; j++) act_scales(a + (size_t)j * Q8_BLOCK, rowoff, m, dy[j]);
            configure(m);
            tile_products(a + offsetof(block_q8_0, qs), y_stride, bq, c, k);
            step_sums((const int32_t(*)[TILE_M * TILE_N])c, dw, (const float(*)[TILE_M])dy, m, k, acc + t);
        }
    }
    for (int i = 0; i < nc; i++) {
        float *out = s + (size_t)i * s_stride;
        if (g1) _mm512_storeu_ps(out, acc[i]);
        else _mm256_storeu_ps(out, _mm512_castps512_ps256(acc[i]));
    }
}

/* gemm_amx_T: one group; gemm_amx_T_pair: groups xp and the next. */
#define AMX_KERNEL(T) \
    static void gemm_amx_##T(int n, float *s, size_t s_stride, const void *xp, const void *y, size_t y_stride, \
                             int nc) { \
        if (nc < AMX_MIN_COLS) AVX512_PACKED[TENSOR_##T](n, s, s_stride, xp, y, y_stride, nc); \
        else amx_q32(n, s, s_stride, xp, NULL, y, y_stride, nc, TENSOR_##T); \
    } \
    static void gemm_amx_##T##_pair(int n, float *s, size_t s_stride, const void *xp, const void *y, \
                                    size_t y_stride, int nc) { \
        const uint8_t *g1 = (const uint8_t *)xp + (size_t)(n / 32) * 2 * q32_panel_bytes(TENSOR_##T); \
        if (nc < AMX_MIN_COLS) { \
            AVX512_PACKED[TENSOR_##T](n, s, s_stride, xp, y, y_stride, nc); \
            AVX512_PACKED[TENSOR_##T](n, s + TENSOR_GEMM_ROWS, s_stride, g1, y, y_stride, nc); \
        } else { \
            amx_q32(n, s, s_stride, xp, g1, y, y_stride, nc, TENSOR_##T); \
        } \
    }

AMX_KERNEL(Q8_0)
AMX_KERNEL(Q4_0)
AMX_KERNEL(Q5_0)

/* Each type keeps the AVX-512 level's packing, which its kernel here reads,
 * and that level's kernel for narrow tiles. */
#define AMX(T) packed_over(k, avx512, TENSOR_##T, gemm_amx_##T, gemm_amx_##T##_pair, &AVX512_PACKED[TENSOR_##T])

void tensor_kernels_amx(tensor_kernels *k, const tensor_kernels *avx512) {
    AMX(Q8_0);
    AMX(Q4_0);
    AMX(Q5_0);
}

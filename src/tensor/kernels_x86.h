/* tensor (internal): what the x86 kernel files share. */
#ifndef OLLAMA_TENSOR_KERNELS_X86_H
#define OLLAMA_TENSOR_KERNELS_X86_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* Half to float for every bit pattern, filled by tensor_kernels_avx2() (which
 * always runs before tensor_kernels_avx512()). Per-block scales come from it
 * as ggml's CPU backend does: a load, where F16C needs an integer-to-vector
 * move and a conversion, two vector operations that otherwise take a fifth
 * of the time of a Q4_0 block. 256 KiB; weight scales cluster, so the lines
 * in use stay cached. */
extern float tensor_x86_half_table[1 << 16];

static inline __attribute__((always_inline)) float tensor_x86_half(const void *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return tensor_x86_half_table[h];
}

/* Horizontal sums and maximum of float lanes, in one order everywhere
 * (results that must match across kernels depend on it). */
static inline __attribute__((always_inline)) float hsum_ps128(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __attribute__((always_inline)) float hsum_ps(__m256 v) {
    return hsum_ps128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

static inline __attribute__((always_inline)) float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

#endif

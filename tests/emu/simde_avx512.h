/* tests: the AVX-512 intrinsics on any AVX2 machine, through SIMDe
 * (Debian's libsimde-dev), for building the AVX-512 kernel files where the
 * CPU lacks the instruction set (emu_*.c). SIMDe maps each _mm512_* name to
 * its portable version; the few that SIMDe 0.7 lacks are defined here,
 * lane by lane, as the instructions define them. Include it before
 * anything else. */
#ifndef OLLAMA_TESTS_SIMDE_AVX512_H
#define OLLAMA_TESTS_SIMDE_AVX512_H

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <stdint.h>
#include <string.h>

/* SIMDe 0.7's alias of this one takes four arguments. */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

static inline simde__mmask64 emu_cvtu64_mask64(uint64_t v) { return (simde__mmask64)v; }
#define _cvtu64_mask64 emu_cvtu64_mask64

static inline simde__m512 emu_cvtepi32_ps(simde__m512i a) {
    simde__m512i_private a_ = simde__m512i_to_private(a);
    simde__m512_private r_;
    for (int i = 0; i < 16; i++) r_.f32[i] = (float)a_.i32[i];
    return simde__m512_from_private(r_);
}
#define _mm512_cvtepi32_ps emu_cvtepi32_ps

/* The order GCC's own _mm512_reduce_add_ps adds in: halves, then quarters. */
static inline float emu_reduce_add_ps(simde__m512 a) {
    simde__m512_private a_ = simde__m512_to_private(a);
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = a_.f32[i] + a_.f32[i + 8];
    for (int i = 0; i < 4; i++) t[i] = t[i] + t[i + 4];
    for (int i = 0; i < 2; i++) t[i] = t[i] + t[i + 2];
    return t[0] + t[1];
}
#define _mm512_reduce_add_ps emu_reduce_add_ps

static inline simde__m512 emu_cvtph_ps(simde__m256i a) {
    simde__m256i_private a_ = simde__m256i_to_private(a);
    simde__m512_private r_;
    for (int i = 0; i < 16; i++) r_.f32[i] = _cvtsh_ss(a_.u16[i]);
    return simde__m512_from_private(r_);
}
#define _mm512_cvtph_ps emu_cvtph_ps

/* Masked loads read only the lanes the mask selects. */
#define EMU_MASKZ_LOAD(name, vec, priv, to_vec, field, elem, mask_t, lanes) \
    static inline vec name(mask_t k, const void *p) { \
        priv r_; \
        for (int i = 0; i < (lanes); i++) { \
            elem v = 0; \
            if ((k >> i) & 1) memcpy(&v, (const char *)p + sizeof v * (size_t)i, sizeof v); \
            r_.field[i] = v; \
        } \
        return to_vec(r_); \
    }
EMU_MASKZ_LOAD(emu_maskz_loadu_epi16_256, simde__m256i, simde__m256i_private, simde__m256i_from_private, u16,
               uint16_t, simde__mmask16, 16)
EMU_MASKZ_LOAD(emu_maskz_loadu_epi16_512, simde__m512i, simde__m512i_private, simde__m512i_from_private, u16,
               uint16_t, simde__mmask32, 32)
EMU_MASKZ_LOAD(emu_maskz_loadu_ps, simde__m512, simde__m512_private, simde__m512_from_private, f32, float,
               simde__mmask16, 16)
#define _mm256_maskz_loadu_epi16 emu_maskz_loadu_epi16_256
#define _mm512_maskz_loadu_epi16 emu_maskz_loadu_epi16_512
#define _mm512_maskz_loadu_ps emu_maskz_loadu_ps

/* Gathers read only the lanes the mask selects; the rest come from src. */
static inline simde__m512i emu_mask_i32gather_epi32(simde__m512i src, simde__mmask16 k, simde__m512i idx,
                                                    const void *base, int scale) {
    simde__m512i_private s_ = simde__m512i_to_private(src), i_ = simde__m512i_to_private(idx);
    for (int i = 0; i < 16; i++) {
        int32_t v;
        if (!((k >> i) & 1)) continue;
        memcpy(&v, (const char *)base + (long)i_.i32[i] * scale, 4);
        s_.i32[i] = v;
    }
    return simde__m512i_from_private(s_);
}
#undef _mm512_mask_i32gather_epi32 /* clang's is a macro */
#define _mm512_mask_i32gather_epi32 emu_mask_i32gather_epi32

/* vpmovdw: each int32 lane's low 16 bits. */
static inline simde__m256i emu_cvtepi32_epi16(simde__m512i a) {
    simde__m512i_private a_ = simde__m512i_to_private(a);
    simde__m256i_private r_;
    for (int i = 0; i < 16; i++) r_.u16[i] = (uint16_t)a_.u32[i];
    return simde__m256i_from_private(r_);
}
#undef _mm512_cvtepi32_epi16
#define _mm512_cvtepi32_epi16 emu_cvtepi32_epi16

#endif

/* tests: the few AMX tile instructions the AMX kernel uses, lane by lane
 * as Intel's manual defines them, on a per-thread copy of the tile state,
 * so that kernels_gemm_amx.c builds and runs on any AVX2 machine
 * (emu_gemm_amx.c). Include it after simde_avx512.h and before the kernel
 * file. */
#ifndef OLLAMA_TESTS_AMX_EMU_H
#define OLLAMA_TESTS_AMX_EMU_H

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t rows[8];
    uint16_t colsb[8];
    uint8_t data[8][16][64];
    int configured;
} emu_tiles;

static _Thread_local emu_tiles EMU_TILES;

static inline void emu_tile_loadconfig(const void *cfg) {
    const uint8_t *c = cfg;
    if (c[0] != 1) abort(); /* palette 1 is the only one */
    for (int t = 0; t < 8; t++) {
        memcpy(&EMU_TILES.colsb[t], c + 16 + 2 * t, 2);
        EMU_TILES.rows[t] = c[48 + t];
        if (EMU_TILES.rows[t] > 16 || EMU_TILES.colsb[t] > 64) abort();
    }
    memset(EMU_TILES.data, 0, sizeof EMU_TILES.data);
    EMU_TILES.configured = 1;
}

static inline void emu_tile_check(int t) {
    if (!EMU_TILES.configured || t < 0 || t > 7) abort(); /* the CPU raises #UD */
}

static inline void emu_tile_loadd(int t, const void *base, long stride) {
    emu_tile_check(t);
    for (int r = 0; r < EMU_TILES.rows[t]; r++)
        memcpy(EMU_TILES.data[t][r], (const uint8_t *)base + (long)r * stride, EMU_TILES.colsb[t]);
}

static inline void emu_tile_stored(int t, void *base, long stride) {
    emu_tile_check(t);
    for (int r = 0; r < EMU_TILES.rows[t]; r++)
        memcpy((uint8_t *)base + (long)r * stride, EMU_TILES.data[t][r], EMU_TILES.colsb[t]);
}

static inline void emu_tile_zero(int t) {
    emu_tile_check(t);
    memset(EMU_TILES.data[t], 0, sizeof EMU_TILES.data[t]);
}

/* C[m][n] += sum over k of A[m][4k+i] * B[k][4n+i], i < 4, all signed. */
static inline void emu_tile_dpbssd(int ct, int at, int bt) {
    emu_tile_check(ct), emu_tile_check(at), emu_tile_check(bt);
    const int M = EMU_TILES.rows[ct], N = EMU_TILES.colsb[ct] / 4, K = EMU_TILES.colsb[at] / 4;
    if (EMU_TILES.rows[at] != M || EMU_TILES.rows[bt] != K || EMU_TILES.colsb[bt] != EMU_TILES.colsb[ct]) abort();
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int32_t acc;
            memcpy(&acc, &EMU_TILES.data[ct][m][4 * n], 4);
            for (int k = 0; k < K; k++)
                for (int i = 0; i < 4; i++)
                    acc = (int32_t)((uint32_t)acc + (uint32_t)((int8_t)EMU_TILES.data[at][m][4 * k + i] *
                                                               (int8_t)EMU_TILES.data[bt][k][4 * n + i]));
            memcpy(&EMU_TILES.data[ct][m][4 * n], &acc, 4);
        }
}

#undef _tile_loadconfig
#undef _tile_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbssd
#define _tile_loadconfig(cfg) emu_tile_loadconfig(cfg)
#define _tile_loadd(t, base, stride) emu_tile_loadd(t, base, (long)(stride))
#define _tile_stored(t, base, stride) emu_tile_stored(t, base, (long)(stride))
#define _tile_zero(t) emu_tile_zero(t)
#define _tile_dpbssd(c, a, b) emu_tile_dpbssd(c, a, b)

#endif

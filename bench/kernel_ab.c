/* In-process A/B of the AVX2 tile kernels (kernels_gemm_avx2.c, or with
 * KAB_WHOLE_AVX2 kernels_avx2.c, whose install function installs the
 * former too): an older copy of that file, built with its install
 * function renamed (tensor_gemm_avx2_old, tensor_kernels_avx2_old),
 * against the current library's, on the same packed
 * matrix (or, for a type without a packed layout, such as F16, the same
 * rows through gemm), the two alternating rep by rep. On a host whose speed drifts by
 * a third from minute to minute, separate processes could not tell a 10%
 * change; alternating within one process can. Prints the median and best
 * GB/s of weights read, the ratio, and whether both gave the same
 * bits. bench/kernel-ab.sh builds and runs it. Not a test.
 * Usage: kernel_ab TYPE ROWS REPS [TOKENS]
 *   ROWS x 2048 weights: 128 rows stay in L2 (arithmetic), 32768 stream
 *   from DRAM (decode); TOKENS activation rows (1: decode). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensor/quants.h"
#include "tensor/tensor.h"

#ifdef KAB_WHOLE_AVX2
void tensor_kernels_avx2_old(tensor_kernels *k);
void tensor_kernels_avx2(tensor_kernels *k);
#define INSTALL_OLD tensor_kernels_avx2_old
#define INSTALL_NEW tensor_kernels_avx2
#else
void tensor_gemm_avx2_old(tensor_kernels *k);
#define INSTALL_OLD tensor_gemm_avx2_old
#define INSTALL_NEW tensor_gemm_avx2
#endif

enum { N_IN = 2048, ROUNDS = 21 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float rnd_unit(void) { return (float)rand() / (float)RAND_MAX - 0.5f; }

/* One pass over every row group: ROWS x TOKENS dot products, from the
 * packed groups or (group_bytes 0) the rows w. */
static double pass(const tensor_kernels *k, enum tensor_type t, const uint8_t *packed, size_t group_bytes,
                   const uint8_t *w, size_t row_bytes, int rows, const uint8_t *y, size_t y_bytes, int tokens,
                   float *out, int reps) {
    double t0 = now();
    for (int r = 0; r < reps; r++)
        for (int g = 0; g < rows / TENSOR_GEMM_ROWS; g++) {
            float *s = out + (size_t)g * TENSOR_GEMM_ROWS;
            if (group_bytes)
                k->gemm_packed[t](N_IN, s, (size_t)rows, packed + (size_t)g * group_bytes, y, y_bytes, tokens);
            else
                k->gemm[t](N_IN, s, (size_t)rows, w + (size_t)g * TENSOR_GEMM_ROWS * row_bytes, row_bytes, y, y_bytes,
                           TENSOR_GEMM_ROWS, tokens);
        }
    return now() - t0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: kernel_ab TYPE ROWS REPS [TOKENS]\n");
        return 2;
    }
    const int type = tensor_type_from_name(argv[1]), rows = atoi(argv[2]), reps = atoi(argv[3]);
    const int tokens = argc > 4 ? atoi(argv[4]) : 1;
    tensor_init();
    if (tensor_isa_detected() < TENSOR_ISA_AVX2 || type < 0 || rows <= 0 || rows % TENSOR_GEMM_ROWS || reps <= 0 ||
        tokens < 1 || tokens > TENSOR_GEMM_COLS) {
        fprintf(stderr, "kernel_ab: needs AVX2, a known TYPE, ROWS a multiple of 8, 1 <= TOKENS <= 32\n");
        return 2;
    }
    static tensor_kernels old_k, new_k;
    INSTALL_OLD(&old_k);
    INSTALL_NEW(&new_k);
    const enum tensor_type t = (enum tensor_type)type;
    const bool packs = old_k.pack[t] && new_k.pack[t] && old_k.packed_block_bytes[t] == new_k.packed_block_bytes[t];
    if (!packs && !(old_k.gemm[t] && new_k.gemm[t])) {
        fprintf(stderr, "kernel_ab: %s has neither a packed layout nor a gemm common to both\n", argv[1]);
        return 2;
    }
    const tensor_traits *tr = tensor_get_traits(t), *yt = tensor_get_traits(tr->vec_dot_type);
    const size_t row_bytes = tensor_row_size(t, N_IN), y_bytes = tensor_row_size(tr->vec_dot_type, N_IN);
    const size_t group_bytes = packs ? new_k.packed_block_bytes[t] * (size_t)(N_IN / tr->blck_size) : 0;
    const size_t packed_bytes = packs ? group_bytes * (size_t)(rows / TENSOR_GEMM_ROWS) : row_bytes * (size_t)rows;
    float *f = malloc(sizeof(float) * N_IN);
    uint8_t *w = malloc(row_bytes * (size_t)rows), *packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
    uint8_t *y = malloc(y_bytes * (size_t)tokens);
    float *out_old = malloc(sizeof(float) * (size_t)rows * tokens), *out_new = malloc(sizeof(float) * (size_t)rows * tokens);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < N_IN; i++) f[i] = rnd_unit();
        if (tr->from_float) {
            tr->from_float(f, w + (size_t)r * row_bytes, N_IN);
            continue;
        }
        /* no quantizer (IQ4_NL, IQ4_XS): random quants, each block's
         * leading half scale 2^-6 */
        uint8_t *row = w + (size_t)r * row_bytes;
        for (size_t i = 0; i < row_bytes; i++) row[i] = (uint8_t)rand();
        for (size_t b = 0; b < row_bytes; b += tr->type_size) row[b] = 0x00, row[b + 1] = 0x24;
    }
    for (int g = 0; g < rows / TENSOR_GEMM_ROWS && packs; g++)
        new_k.pack[t](w + (size_t)g * TENSOR_GEMM_ROWS * row_bytes, row_bytes, packed + (size_t)g * group_bytes, N_IN);
    for (int c = 0; c < tokens; c++) {
        for (int i = 0; i < N_IN; i++) f[i] = rnd_unit();
        yt->from_float(f, y + (size_t)c * y_bytes, N_IN);
    }
    double t_old[ROUNDS], t_new[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        t_old[k] = pass(&old_k, t, packed, group_bytes, w, row_bytes, rows, y, y_bytes, tokens, out_old, reps);
        t_new[k] = pass(&new_k, t, packed, group_bytes, w, row_bytes, rows, y, y_bytes, tokens, out_new, reps);
    }
    qsort(t_old, ROUNDS, sizeof(double), by_value);
    qsort(t_new, ROUNDS, sizeof(double), by_value);
    const double gb = (double)packed_bytes * reps / 1e9;
    printf("%s rows %d tokens %d: old %.2f GB/s (best %.2f), new %.2f GB/s (best %.2f), new/old %.3f median, "
           "%.3f best; same bits: %s\n",
           argv[1], rows, tokens, gb / t_old[ROUNDS / 2], gb / t_old[0], gb / t_new[ROUNDS / 2], gb / t_new[0],
           t_old[ROUNDS / 2] / t_new[ROUNDS / 2], t_old[0] / t_new[0],
           memcmp(out_old, out_new, sizeof(float) * (size_t)rows * tokens) ? "no" : "yes");
    free(f), free(w), free(packed), free(y), free(out_old), free(out_new);
    return 0;
}

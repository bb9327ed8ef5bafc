/* Micro-benchmark of the vec_dot kernels: a 4096 x 4096 matrix-vector
 * product per weight type, single-threaded, for each ISA level the CPU has.
 * Prints GB/s of weights read (a 4096x4096 Q4_K matrix is 9.4 MB, so it
 * stays in a 32 MB L3 and this measures compute, not DRAM).
 * Then the same matrix by 64 tokens, the prefill case, in GMAC/s: one
 * vec_dot per pair against the gemm tile kernels.
 * Also times the activation quantizers (from_float) on a 4096-float row.
 * Not a test. Build by hand against the library of a Release build:
 *   gcc -O2 -Isrc bench/kernels_bench.c build/libollama_core.a -lm -lpthread \
 *       $(pkg-config --libs libpcre2-8 libutf8proc libcrypto) -o /tmp/kbench
 * Usage: kbench [TYPE ...]   (default: all weight types)
 * The machine's noise matters: each number is the best of several runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/quants.h"
#include "tensor/tensor.h"

#define ROWS 4096
#define COLS 4096

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A valid row: quantize random floats with the scalar quantizer. */
static void make_weights(enum tensor_type t, uint8_t *w, size_t row_bytes) {
    const tensor_traits *tr = tensor_get_traits_isa(t, TENSOR_ISA_SCALAR);
    float *row = malloc(COLS * sizeof(float));
    for (int r = 0; r < ROWS; r++) {
        for (int i = 0; i < COLS; i++) row[i] = ((float)rnd() / 65536.0f / 65536.0f - 0.5f) * 0.1f;
        if (tr->from_float && r < 64) tr->from_float(row, w + (size_t)r * row_bytes, COLS);
        else if (r >= 64) memcpy(w + (size_t)r * row_bytes, w + (size_t)(r % 64) * row_bytes, row_bytes);
    }
    free(row);
}

static double bench(const tensor_traits *tr, const uint8_t *w, size_t row_bytes, const void *y, float *out, int reps) {
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        uint64_t t0 = oc_now_ns();
        for (int r = 0; r < ROWS; r++) tr->vec_dot(COLS, &out[r], w + (size_t)r * row_bytes, y);
        double dt = (double)(oc_now_ns() - t0) * 1e-9;
        if (dt < best) best = dt;
    }
    return best;
}

#define TOKENS 64

static void gemm_pass(const tensor_traits *tr, const uint8_t *w, size_t wb, const uint8_t *y, size_t yb, float *out,
                      bool tiles) {
    const int R = TENSOR_GEMM_ROWS, C = TENSOR_GEMM_COLS;
    for (int r0 = 0; r0 < ROWS; r0 += 16)
        for (int t = 0; t < TOKENS; t += C)
            for (int r = r0; r < r0 + 16; r += R) {
                if (tiles) {
                    tr->gemm(COLS, out + (size_t)t * ROWS + r, ROWS, w + (size_t)r * wb, wb, y + (size_t)t * yb, yb, R, C);
                    continue;
                }
                for (int c = t; c < t + C; c++)
                    for (int rr = r; rr < r + R; rr++)
                        tr->vec_dot(COLS, out + (size_t)c * ROWS + rr, w + (size_t)rr * wb, y + (size_t)c * yb);
            }
}

static void bench_gemm_type(const char *name, int top) {
    const int t = tensor_type_from_name(name);
    const tensor_traits *tr0 = t >= 0 ? tensor_get_traits_isa((enum tensor_type)t, TENSOR_ISA_SCALAR) : NULL;
    if (!tr0 || !tr0->vec_dot) return;
    const size_t wb = tensor_row_size((enum tensor_type)t, COLS), yb = tensor_row_size(tr0->vec_dot_type, COLS);
    uint8_t *w = malloc(wb * ROWS), *y = malloc(yb * TOKENS);
    float *x = malloc(COLS * sizeof(float)), *out = malloc(sizeof(float) * ROWS * TOKENS);
    make_weights((enum tensor_type)t, w, wb);
    for (int c = 0; c < TOKENS; c++) {
        for (int i = 0; i < COLS; i++) x[i] = (float)rnd() / 65536.0f / 65536.0f - 0.5f;
        tensor_get_traits_isa(tr0->vec_dot_type, TENSOR_ISA_SCALAR)->from_float(x, y + (size_t)c * yb, COLS);
    }
    printf("%-7s", name);
    for (int isa = 1; isa <= top; isa++) {
        const tensor_traits *tr = tensor_get_traits_isa((enum tensor_type)t, (enum tensor_isa)isa);
        double best[2] = {1e30, 1e30};
        for (int tiles = 0; tiles < 2; tiles++)
            for (int rep = 0; rep < 7 && (tiles == 0 || tr->gemm); rep++) {
                uint64_t t0 = oc_now_ns();
                gemm_pass(tr, w, wb, y, yb, out, tiles);
                double dt = (double)(oc_now_ns() - t0) * 1e-9;
                if (dt < best[tiles]) best[tiles] = dt;
            }
        const double macs = (double)ROWS * COLS * TOKENS * 1e-9;
        printf(" %9s %6.1f / ", tensor_isa_name((enum tensor_isa)isa), macs / best[0]);
        if (tr->gemm) printf("%6.1f", macs / best[1]);
        else printf("%6s", "-");
    }
    printf("\n");
    free(w); free(y); free(x); free(out);
}

int main(int argc, char **argv) {
    static const char *all[] = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K",
                                "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "MXFP4", "F16", "BF16", "F32"};
    const char **names = argc > 1 ? (const char **)argv + 1 : all;
    const int count = argc > 1 ? argc - 1 : (int)(sizeof(all) / sizeof(all[0]));
    tensor_init();
    const int top = (int)tensor_isa_detected();
    printf("%-7s %9s", "type", "MB");
    for (int isa = 0; isa <= top; isa++) printf(" %9s GB/s", tensor_isa_name((enum tensor_isa)isa));
    printf("\n");

    float *x = malloc(COLS * sizeof(float)), *out = malloc(ROWS * sizeof(float));
    for (int i = 0; i < COLS; i++) x[i] = (float)rnd() / 65536.0f / 65536.0f - 0.5f;
    for (int k = 0; k < count; k++) {
        int t = tensor_type_from_name(names[k]);
        const tensor_traits *tr0 = t >= 0 ? tensor_get_traits_isa((enum tensor_type)t, TENSOR_ISA_SCALAR) : NULL;
        if (!tr0 || !tr0->vec_dot) { printf("%-7s (no kernel)\n", names[k]); continue; }
        const size_t row_bytes = tensor_row_size((enum tensor_type)t, COLS);
        uint8_t *w = malloc(row_bytes * ROWS);
        make_weights((enum tensor_type)t, w, row_bytes);
        const tensor_traits *yt = tensor_get_traits_isa(tr0->vec_dot_type, TENSOR_ISA_SCALAR);
        void *y = malloc(tensor_row_size(tr0->vec_dot_type, COLS));
        yt->from_float(x, y, COLS);
        printf("%-7s %9.1f", names[k], (double)(row_bytes * ROWS) / 1e6);
        for (int isa = 0; isa <= top; isa++) {
            const tensor_traits *tr = tensor_get_traits_isa((enum tensor_type)t, (enum tensor_isa)isa);
            double dt = bench(tr, w, row_bytes, y, out, isa == 0 ? 2 : 10);
            printf(" %14.1f", (double)(row_bytes * ROWS) / dt / 1e9);
        }
        printf("\n");
        free(w);
        free(y);
    }

    /* Tiles for prefill: the same matrix by TOKENS activation rows, walked
     * as matmul walks it (chunks of 16 rows, then TENSOR_GEMM_COLS tokens,
     * then groups of TENSOR_GEMM_ROWS rows), in GMAC/s; vec_dot does the
     * same pairs one at a time. */
    printf("\nmatrix x %d tokens, GMAC/s  (vec_dot / gemm)\n", TOKENS);
    for (int k = 0; k < count; k++) bench_gemm_type(names[k], top);

    /* Activation quantizers: ns for one 4096-element row. */
    static const enum tensor_type acts[] = {TENSOR_Q8_0, TENSOR_Q8_1, TENSOR_Q8_K, TENSOR_F16};
    printf("\nfrom_float, ns per %d floats\n", COLS);
    for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++) {
        void *y = malloc(tensor_row_size(acts[k], COLS));
        printf("%-7s", tensor_type_name(acts[k]));
        for (int isa = 0; isa <= top; isa++) {
            const tensor_traits *tr = tensor_get_traits_isa(acts[k], (enum tensor_isa)isa);
            double best = 1e30;
            for (int rep = 0; rep < 2000; rep++) {
                uint64_t t0 = oc_now_ns();
                tr->from_float(x, y, COLS);
                double dt = (double)(oc_now_ns() - t0);
                if (dt < best) best = dt;
            }
            printf(" %9s %8.0f", tensor_isa_name((enum tensor_isa)isa), best);
        }
        printf("\n");
        free(y);
    }
    free(x);
    free(out);
    return 0;
}

/* tensor (internal): block layouts of the quantized types, bit-exact with
 * ggml's so GGUF data is used in place. */
#ifndef OLLAMA_TENSOR_QUANTS_H
#define OLLAMA_TENSOR_QUANTS_H

#include <stdint.h>

#include "tensor/tensor.h"

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12
#define QK4_NL 32
#define QK_MXFP4 32

typedef uint16_t tensor_half;

typedef struct { tensor_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
typedef struct { tensor_half d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;
typedef struct { tensor_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;
typedef struct { tensor_half d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;
typedef struct { tensor_half d; int8_t qs[QK8_0]; } block_q8_0;
/* d = scale, s = d * sum(qs) */
typedef struct { tensor_half d, s; int8_t qs[QK8_1]; } block_q8_1;

typedef struct {
    uint8_t scales[QK_K / 16]; /* 4-bit scales and mins */
    uint8_t qs[QK_K / 4];      /* 2-bit quants */
    tensor_half d, dmin;
} block_q2_K;
typedef struct {
    uint8_t hmask[QK_K / 8];   /* high bit */
    uint8_t qs[QK_K / 4];      /* low 2 bits */
    uint8_t scales[12];        /* 6-bit scales */
    tensor_half d;
} block_q3_K;
typedef struct {
    tensor_half d, dmin;
    uint8_t scales[K_SCALE_SIZE]; /* 6-bit scales and mins */
    uint8_t qs[QK_K / 2];
} block_q4_K;
typedef struct {
    tensor_half d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    tensor_half d;
} block_q6_K;
/* Activation type of the K-quants: float scale, bsums of 16-element groups. */
typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;

typedef struct { tensor_half d; uint8_t qs[QK4_NL / 2]; } block_iq4_nl;
typedef struct {
    tensor_half d;
    uint16_t scales_h;
    uint8_t scales_l[QK_K / 64];
    uint8_t qs[QK_K / 2];
} block_iq4_xs;
typedef struct { uint8_t e; uint8_t qs[QK_MXFP4 / 2]; } block_mxfp4;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl");
_Static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs");
_Static_assert(sizeof(block_mxfp4) == 17, "mxfp4");

/* Kernel tables: each ISA file fills the entries it has (NULL = inherit). */
/* Float kernels of the elementwise ops and of attention (tensor_attend),
 * one set per ISA level; NULL: the level below's. Attention keys are
 * stored in panels of TENSOR_ATTN_KEYS keys, transposed (element d of the
 * panel's key l at d * TENSOR_ATTN_KEYS + l), so that a query's scores
 * for a panel are one vector per FMA chain. */
typedef struct tensor_vec_ops {
    /* x = softmax(x) over n; with sink, one more logit that takes
     * probability and has no entry in x */
    void (*softmax)(float *x, int n, const float *sink);
    void (*silu_mul)(float *gate, const float *up, int n);
    /* panel from nrows <= TENSOR_ATTN_KEYS rows of hd floats, stride
     * floats apart; missing keys are zero */
    void (*pack_keys)(float *panel, const float *rows, size_t stride, int nrows, int hd);
    /* s[i * s_stride + k] = scale * dot(q[i], key k) for the np panels'
     * keys, i < nq <= 4; each score one chain over d in order */
    void (*attn_scores)(const float *panels, int hd, int np, const float *const q[4], int nq, float scale, float *s,
                        size_t s_stride);
    /* out[i] = sum over k < n, in order, of p[i * p_stride + k] times
     * value row k (v_stride floats apart), i < nq <= 4 */
    void (*attn_values)(const float *p, size_t p_stride, int nq, const float *v, size_t v_stride, int n, int hd,
                        float *const out[4]);
} tensor_vec_ops;

/* The ops of a level (inheriting from the levels below), for tests. */
const tensor_vec_ops *tensor_get_ops_isa(enum tensor_isa isa);
/* The active level's. */
const tensor_vec_ops *tensor_get_ops(void);

typedef struct tensor_kernels {
    tensor_vec_dot_fn vec_dot[TENSOR_TYPE_COUNT];
    tensor_from_float_fn from_float[TENSOR_TYPE_COUNT]; /* activation quantizers */
    tensor_to_float_fn to_float[TENSOR_TYPE_COUNT];
    tensor_gemm_fn gemm[TENSOR_TYPE_COUNT];
    tensor_pack_fn pack[TENSOR_TYPE_COUNT];
    tensor_gemm_packed_fn gemm_packed[TENSOR_TYPE_COUNT];
    tensor_gemm_packed_fn gemm_packed_pair[TENSOR_TYPE_COUNT];
    size_t packed_block_bytes[TENSOR_TYPE_COUNT];
    tensor_vec_ops ops;
} tensor_kernels;

void tensor_kernels_scalar(tensor_kernels *k);
void tensor_kernels_avx2(tensor_kernels *k);
/* avx2: the AVX2 level, already installed (the AVX-512 packed kernels use
 * its packing and keep its kernels for narrow tiles). */
void tensor_kernels_avx512(tensor_kernels *k, const tensor_kernels *avx2);
/* avx512: the AVX-512 level, already installed (the AMX kernel uses its
 * packing and keeps its kernel for narrow tiles). */
void tensor_kernels_amx(tensor_kernels *k, const tensor_kernels *avx512);
/* The float ops of each level (vecops_scalar.c, vecops_avx2.c); the
 * level's tensor_kernels_* calls them. */
void tensor_vecops_scalar(tensor_vec_ops *o);
void tensor_vecops_avx2(tensor_vec_ops *o);
/* The AVX2 tile kernels (kernels_gemm_avx2.c); tensor_kernels_avx2() calls it. */
void tensor_gemm_avx2(tensor_kernels *k);
/* The AVX-512 packed tile kernels (kernels_gemm_avx512.c); tensor_kernels_avx512() calls it. */
void tensor_gemm_avx512(tensor_kernels *k, const tensor_kernels *avx2);

/* Tests only, before the first tensor call: on a CPU with AVX2 but not
 * AVX-512, install (the AVX-512 kernel files built against an emulation
 * of the instruction set) becomes the AVX-512 level, so that the kernels'
 * logic is checked on any x86 machine. */
void tensor_emulate_avx512(void (*install)(tensor_kernels *k, const tensor_kernels *avx2));
/* Likewise for the AMX level on a CPU (or an emulated AVX-512 level)
 * without AMX. */
void tensor_emulate_amx(void (*install)(tensor_kernels *k, const tensor_kernels *avx512));

#endif

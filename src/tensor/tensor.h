/* tensor: numeric types and the kernels over them.
 * Owns: the type traits table (block size, bytes, to_float, quantize,
 * vec_dot with its activation type) for every supported ggml type, the
 * scalar reference kernels and the ISA kernels (AVX2, AVX-512) chosen at
 * start-up from CPUID, the packed weight layouts of those kernels, matmul
 * over a thread pool, and the elementwise ops (rmsnorm, rope, softmax,
 * silu, soft-cap; GELU is the model's, rounded as ggml rounds it). */
#ifndef OLLAMA_TENSOR_H
#define OLLAMA_TENSOR_H

#include "base/base.h"

/* ggml type ids, as stored in GGUF files. */
enum tensor_type {
    TENSOR_F32 = 0, TENSOR_F16 = 1, TENSOR_Q4_0 = 2, TENSOR_Q4_1 = 3,
    TENSOR_Q5_0 = 6, TENSOR_Q5_1 = 7, TENSOR_Q8_0 = 8, TENSOR_Q8_1 = 9,
    TENSOR_Q2_K = 10, TENSOR_Q3_K = 11, TENSOR_Q4_K = 12, TENSOR_Q5_K = 13,
    TENSOR_Q6_K = 14, TENSOR_Q8_K = 15,
    TENSOR_IQ4_NL = 20, TENSOR_IQ4_XS = 23,
    TENSOR_I8 = 24, TENSOR_I16 = 25, TENSOR_I32 = 26, TENSOR_I64 = 27, TENSOR_F64 = 28,
    TENSOR_BF16 = 30, TENSOR_MXFP4 = 39,
    TENSOR_TYPE_COUNT = 40
};

typedef void (*tensor_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*tensor_from_float_fn)(const float *src, void *dst, int64_t n);
/* s = dot(x[0..n), y[0..n)); x is of the weight type, y of its vec_dot_type. */
typedef void (*tensor_vec_dot_fn)(int n, float *s, const void *x, const void *y);
/* A tile of dot products for matmul: s[c * s_stride + r] = dot(x row r,
 * y row c) for r < nr <= TENSOR_GEMM_ROWS and c < nc <= TENSOR_GEMM_COLS.
 * Rows of x are x_stride bytes apart, rows of y y_stride bytes apart.
 * Decoding a weight block once for many activation rows is what makes
 * prefill faster than one vec_dot per pair. Each s entry must be the same
 * bits whatever nr, nc and its place in the tile: matmul uses gemm for
 * single tokens too, so that decoding equals prefill. */
#define TENSOR_GEMM_ROWS 8
#define TENSOR_GEMM_COLS 32
typedef void (*tensor_gemm_fn)(int n, float *s, size_t s_stride, const void *x, size_t x_stride,
                               const void *y, size_t y_stride, int nr, int nc);

/* Packed weights (see tensor_pack): pack stores TENSOR_GEMM_ROWS rows of
 * n elements (x_stride bytes apart) at dst as the ISA's tile kernel reads
 * them; gemm_packed is gemm for all the rows of such a group xp, and
 * gemm_packed_pair, where a level has one, for the two adjacent groups at
 * xp (2 * TENSOR_GEMM_ROWS rows, s covering them all): the same bits. */
typedef void (*tensor_pack_fn)(const void *x, size_t x_stride, void *dst, int n);
typedef void (*tensor_gemm_packed_fn)(int n, float *s, size_t s_stride, const void *xp, const void *y,
                                      size_t y_stride, int nc);

typedef struct tensor_traits {
    const char *name;        /* "Q4_K" */
    int blck_size;           /* elements per block */
    size_t type_size;        /* bytes per block */
    bool is_quantized;
    tensor_to_float_fn to_float;     /* NULL if unsupported */
    tensor_from_float_fn from_float; /* quantize a row; NULL if unsupported */
    tensor_vec_dot_fn vec_dot;       /* NULL if unsupported */
    tensor_gemm_fn gemm;             /* NULL: matmul uses vec_dot */
    tensor_pack_fn pack;             /* NULL: no packed layout */
    tensor_gemm_packed_fn gemm_packed;
    tensor_gemm_packed_fn gemm_packed_pair; /* NULL: one group a call */
    size_t packed_block_bytes;       /* a block of TENSOR_GEMM_ROWS packed rows */
    enum tensor_type vec_dot_type;   /* what activations are quantized to */
} tensor_traits;

/* Instruction-set levels, in increasing order. AMX is AVX-512 plus Intel's
 * int8 tile multiply (Sapphire Rapids on): it adds a Q8_0 prompt kernel and
 * keeps the AVX-512 level's others. */
enum tensor_isa { TENSOR_ISA_SCALAR = 0, TENSOR_ISA_AVX2 = 1, TENSOR_ISA_AVX512 = 2, TENSOR_ISA_AMX = 3 };
#define TENSOR_ISA_COUNT 4

/* Detects the CPU once and installs the best kernels (idempotent, thread-safe).
 * OLLAMA_ISA=scalar|avx2|avx512|amx caps the level (for tests and debugging). */
void tensor_init(void);
enum tensor_isa tensor_isa_detected(void);  /* what the CPU supports */
enum tensor_isa tensor_isa_active(void);    /* what is installed */
const char *tensor_isa_name(enum tensor_isa isa);

/* Traits with the active kernels; NULL for unknown ids. */
const tensor_traits *tensor_get_traits(enum tensor_type t);
/* Traits for an explicit ISA level (kernels fall back to lower levels where
 * a level has none); used by tests to compare each kernel with scalar. */
const tensor_traits *tensor_get_traits_isa(enum tensor_type t, enum tensor_isa isa);
const char *tensor_type_name(enum tensor_type t);
/* Parses "Q4_K", "q4_k" ...; returns -1 if unknown. */
int tensor_type_from_name(const char *name);
/* Bytes of a row of n elements; 0 if n is not a multiple of the block size
 * or the type is unknown. */
size_t tensor_row_size(enum tensor_type t, int64_t n);
bool tensor_type_valid(uint32_t t);

/* Half and bfloat16 conversion. */
float tensor_f16_to_f32(uint16_t h);
uint16_t tensor_f32_to_f16(float f);
float tensor_bf16_to_f32(uint16_t h);
uint16_t tensor_f32_to_bf16(float f);

/* ---- thread pool ----
 * Persistent workers that spin briefly between jobs, then sleep, so decode
 * steps pay no thread start-up. */
typedef struct tensor_pool tensor_pool;
/* fn is called once per thread with ith in [0, nth). */
typedef void (*tensor_task_fn)(void *ctx, int ith, int nth);
tensor_pool *tensor_pool_new(int n_threads);
void tensor_pool_free(tensor_pool *p);
int tensor_pool_size(const tensor_pool *p);
/* Runs fn on every thread (the caller is thread 0) and waits for all. */
void tensor_pool_run(tensor_pool *p, tensor_task_fn fn, void *ctx);

/* ---- matmul ----
 * Y[t][o] = sum_i W[o][i] * X[t][i] for n_tok rows of X (F32, n_in each),
 * W of type wtype with n_out rows. X is quantized to W's vec_dot_type once.
 * scratch must hold tensor_matmul_scratch_size(wtype, n_in, n_tok) bytes. */
size_t tensor_matmul_scratch_size(enum tensor_type wtype, int n_in, int n_tok);
void tensor_matmul(tensor_pool *pool, const void *W, enum tensor_type wtype, const float *X,
                   float *Y, int n_in, int n_out, int n_tok, void *scratch);

/* Packed weights: a matrix stored once (at model load) in the order the
 * active ISA's tile kernel decodes it, a group of TENSOR_GEMM_ROWS rows
 * interleaved block by block. matmul on it gives the same bits as on the
 * natural layout, only faster (prefill, and several sequences decoded
 * together). tensor_packed_size is 0 where there is no packed layout (the
 * type, the ISA, or n_out not a multiple of TENSOR_GEMM_ROWS); tensor_pack
 * fills dst (that many bytes) from the natural rows W. */
size_t tensor_packed_size(enum tensor_type wtype, int n_in, int n_out);
void tensor_pack(tensor_pool *pool, enum tensor_type wtype, const void *W, void *dst, int n_in, int n_out);
void tensor_matmul_packed(tensor_pool *pool, const void *Wp, enum tensor_type wtype, const float *X,
                          float *Y, int n_in, int n_out, int n_tok, void *scratch);

/* Several matmuls of one shape and type in one pass over the pool (a
 * mixture-of-experts layer: each selected expert's matrix against its own
 * tokens). X holds n_rows activation rows, quantized once for all groups;
 * group g multiplies its matrix W (packed when packed) by rows x0 ..
 * x0 + n_tok - 1 of X into Y (n_tok rows of n_out). The threads share out
 * the chunks of all the groups: a decode step's small matrices would
 * leave them waiting at a barrier each. Same bits as one tensor_matmul per
 * group. scratch: tensor_matmul_scratch_size(wtype, n_in, n_rows) bytes. */
typedef struct tensor_mm_group {
    const void *W;
    float *Y;
    int x0, n_tok;
} tensor_mm_group;
void tensor_matmul_groups(tensor_pool *pool, enum tensor_type wtype, bool packed, const float *X, int n_rows,
                          int n_in, int n_out, const tensor_mm_group *groups, int n_groups, void *scratch);

/* ---- elementwise ops (single-threaded; softmax and silu through the
 * ISA's kernels, the rest vectorised by the compiler) ---- */
void tensor_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
void tensor_softmax(float *x, int n);
void tensor_silu_mul(float *gate, const float *up, int n); /* gate = silu(gate) * up */
void tensor_softcap(float *x, int n, float cap); /* x = cap * tanh(x / cap) (Gemma 2) */

/* ---- attention ----
 * One kv head's attention, in F32, for a batch of queries (the heads of
 * its group, for one token or several). The keys are first packed, eight
 * at a time, into panels (tensor_attn_pack_keys); the values stay rows.
 * Query i sees keys [j0, j0 + n) and gets
 *   out = softmax(scale * K q) V
 * over them, with Gemma 2's soft cap (cap * tanh(s / cap) on each score)
 * where softcap > 0, and gpt-oss's sink logit where sink is set. Each
 * query's result depends on its own inputs only, never on the other
 * queries of the call, so decoding token by token gives the bits of one
 * batched prefill. Queries are taken four at a time: neighbours in the
 * list whose windows overlap (the heads of one token, next tokens) share
 * the loads of their keys and values. */
#define TENSOR_ATTN_KEYS 8
typedef struct tensor_attn_query {
    const float *q;    /* hd floats */
    float *out;        /* hd floats */
    int j0, n;         /* the keys it sees; n >= 1 */
    const float *sink; /* NULL: none */
} tensor_attn_query;

typedef struct tensor_attn_head {
    int hd, n_kv;
    const float *keys;   /* the panels of keys 0 .. n_kv - 1 */
    const float *values; /* n_kv rows */
    size_t v_stride;     /* floats from one value row to the next */
    float scale, softcap;
} tensor_attn_head;

/* Floats of the panels for n_kv keys of hd elements. */
size_t tensor_attn_keys_floats(int n_kv, int hd);
/* Stores keys j0 .. j0 + nrows - 1 (rows of hd floats, stride floats
 * apart); j0 a multiple of TENSOR_ATTN_KEYS. */
void tensor_attn_pack_keys(float *panels, int j0, const float *rows, size_t stride, int nrows, int hd);
/* Floats of scratch tensor_attend needs for n_kv keys. */
size_t tensor_attn_work_floats(int n_kv);
void tensor_attend(const tensor_attn_head *h, const tensor_attn_query *q, int nq, float *work);

#endif

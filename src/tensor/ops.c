/* tensor: matmul over the thread pool and the elementwise ops. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "tensor/quants.h"

#define ROWS_PER_CHUNK 16
#define TOKENS_PER_TILE 32
/* A decode step (up to DECODE_TOKENS tokens) streams every weight from
 * DRAM once: threads claim long runs of rows, about this many a thread
 * per matmul, because each jump to a new run restarts the prefetchers'
 * streams (16-row claims made 2-thread decoding a third slower). */
#define DECODE_TOKENS 8
#define DECODE_CHUNKS_PER_THREAD 8
_Static_assert(ROWS_PER_CHUNK % TENSOR_GEMM_ROWS == 0, "chunks of whole gemm row groups");

size_t tensor_matmul_scratch_size(enum tensor_type wtype, int n_in, int n_tok) {
    const tensor_traits *tr = tensor_get_traits(wtype);
    if (!tr || tr->vec_dot_type == TENSOR_F32) return 64;
    return tensor_row_size(tr->vec_dot_type, n_in) * (size_t)n_tok + 64;
}

/* One weight matrix against a run of quantized activation rows. */
typedef struct mm_view {
    const uint8_t *W;
    size_t w_row_bytes;
    size_t group_bytes;  /* packed W: bytes of TENSOR_GEMM_ROWS rows; 0: natural rows */
    const tensor_traits *tr;
    const uint8_t *Xq;   /* activations in vec_dot_type */
    size_t xq_row_bytes;
    float *Y;
    int n_in, n_out, n_tok;
} mm_view;

typedef struct matmul_job {
    mm_view v;
    tensor_from_float_fn quantize;
    const float *X;
    uint8_t *Xq_out;
    int n_rows;          /* activation rows to quantize */
    int chunk_rows;      /* rows a claim */
    const tensor_mm_group *groups; /* tensor_matmul_groups: the matrices; NULL: v alone */
    int n_groups, chunks_per_group;
    /* On a cache line of its own (the struct ends there): every claim by
     * one thread would otherwise evict the fields above from the other's
     * cache (a decode step's matmuls spent 7% of their time there). */
    _Alignas(64) atomic_int next_chunk;
} matmul_job;

static void quantize_rows(void *ctx, int ith, int nth) {
    matmul_job *j = ctx;
    for (int t = ith; t < j->n_rows; t += nth)
        j->quantize(j->X + (size_t)t * j->v.n_in, j->Xq_out + (size_t)t * j->v.xq_row_bytes, j->v.n_in);
}

/* Tiles of ROWS_PER_CHUNK weight rows x TOKENS_PER_TILE tokens keep both the
 * weights and the activations of a tile in L1/L2 during prefill. */
static void matmul_chunk_vec_dot(const mm_view *j, int r0, int r1) {
    for (int t0 = 0; t0 < j->n_tok; t0 += TOKENS_PER_TILE) {
        int t1 = t0 + TOKENS_PER_TILE < j->n_tok ? t0 + TOKENS_PER_TILE : j->n_tok;
        for (int t = t0; t < t1; t++) {
            const uint8_t *x = j->Xq + (size_t)t * j->xq_row_bytes;
            float *y = j->Y + (size_t)t * j->n_out;
            for (int r = r0; r < r1; r++)
                j->tr->vec_dot(j->n_in, &y[r], j->W + (size_t)r * j->w_row_bytes, x);
        }
    }
}

/* The chunk through the ISA's gemm kernel: TENSOR_GEMM_ROWS weight rows (two
 * groups where the level has a pair kernel: AMX's tiles are 16 wide) by
 * TENSOR_GEMM_COLS tokens a call. The kernel decodes each weight block once
 * for all the tokens of the call; the tokens' activations (K * 1.1 bytes
 * each for Q8_K) stay in L2 while the chunk's row groups go over them. */
static void matmul_chunk_gemm(const mm_view *j, int r0, int r1) {
    const int R = TENSOR_GEMM_ROWS, C = TENSOR_GEMM_COLS;
    for (int t = 0; t < j->n_tok; t += C) {
        int nc = j->n_tok - t < C ? j->n_tok - t : C;
        for (int r = r0; r < r1; r += R) {
            int nr = r1 - r < R ? r1 - r : R;
            float *y = j->Y + (size_t)t * j->n_out + r;
            const uint8_t *x = j->Xq + (size_t)t * j->xq_row_bytes;
            const uint8_t *xp = j->W + (size_t)(r / R) * j->group_bytes;
            if (j->group_bytes && j->tr->gemm_packed_pair && r1 - r >= 2 * R) {
                j->tr->gemm_packed_pair(j->n_in, y, (size_t)j->n_out, xp, x, j->xq_row_bytes, nc);
                r += R; /* two groups */
            } else if (j->group_bytes)
                j->tr->gemm_packed(j->n_in, y, (size_t)j->n_out, xp, x, j->xq_row_bytes, nc);
            else
                j->tr->gemm(j->n_in, y, (size_t)j->n_out, j->W + (size_t)r * j->w_row_bytes, j->w_row_bytes, x,
                            j->xq_row_bytes, nr, nc);
        }
    }
}

/* A type with a gemm kernel uses it for single tokens too: each output of
 * a tile depends only on its weight row and token, never on the tile's
 * shape, so decoding token by token gives bit for bit the logits of one
 * batched prefill (vec_dot sums in another order, and a rounding
 * difference that flips one quantized activation shows in the logits). */
static void matmul_chunk(const mm_view *j, int r0, int r1) {
    if (j->tr->gemm || j->group_bytes) matmul_chunk_gemm(j, r0, r1);
    else matmul_chunk_vec_dot(j, r0, r1);
}

/* Chunk c of a job: rows of its one matrix, or of group c / chunks_per_group. */
static void matmul_claimed(const matmul_job *j, int c) {
    mm_view v = j->v;
    if (j->groups) {
        const tensor_mm_group *g = &j->groups[c / j->chunks_per_group];
        v.W = g->W;
        v.Xq += (size_t)g->x0 * v.xq_row_bytes;
        v.Y = g->Y;
        v.n_tok = g->n_tok;
        c %= j->chunks_per_group;
    }
    int r0 = c * j->chunk_rows;
    int r1 = r0 + j->chunk_rows < v.n_out ? r0 + j->chunk_rows : v.n_out;
    matmul_chunk(&v, r0, r1);
}

static void matmul_rows(void *ctx, int ith, int nth) {
    matmul_job *j = ctx;
    (void)ith;
    (void)nth;
    const int per = (j->v.n_out + j->chunk_rows - 1) / j->chunk_rows;
    const int n_chunks = j->groups ? per * j->n_groups : per;
    for (;;) {
        int c = atomic_fetch_add_explicit(&j->next_chunk, 1, memory_order_relaxed);
        if (c >= n_chunks) break;
        matmul_claimed(j, c);
    }
}

/* rows: the rows a decode step's threads share out (all the groups'). */
static int chunk_rows(const tensor_pool *pool, int rows, int n_tok) {
    if (n_tok > DECODE_TOKENS) return ROWS_PER_CHUNK;
    int r = rows / (tensor_pool_size(pool) * DECODE_CHUNKS_PER_THREAD) / ROWS_PER_CHUNK * ROWS_PER_CHUNK;
    return r > ROWS_PER_CHUNK ? r : ROWS_PER_CHUNK;
}

/* Quantizes the job's n_rows activation rows (X) into scratch, then runs
 * its chunks over the pool. */
static void matmul_run(tensor_pool *pool, matmul_job *j, enum tensor_type wtype, const float *X, void *scratch) {
    j->v.tr = tensor_get_traits(wtype);
    j->v.w_row_bytes = tensor_row_size(wtype, j->v.n_in);
    atomic_init(&j->next_chunk, 0);
    if (j->v.tr->vec_dot_type == TENSOR_F32) {
        j->v.Xq = (const uint8_t *)X;
        j->v.xq_row_bytes = (size_t)j->v.n_in * sizeof(float);
    } else {
        j->X = X;
        j->quantize = tensor_get_traits(j->v.tr->vec_dot_type)->from_float;
        j->v.xq_row_bytes = tensor_row_size(j->v.tr->vec_dot_type, j->v.n_in);
        j->Xq_out = scratch;
        j->v.Xq = scratch;
        /* One token is one row: only the caller would work, so the pool's
         * wake-up and barrier would be pure cost (twice per matmul in
         * every decode step). */
        if (j->n_rows == 1) quantize_rows(j, 0, 1);
        else tensor_pool_run(pool, quantize_rows, j);
    }
    tensor_pool_run(pool, matmul_rows, j);
}

static void matmul(tensor_pool *pool, const void *W, size_t group_bytes, enum tensor_type wtype, const float *X,
                   float *Y, int n_in, int n_out, int n_tok, void *scratch) {
    matmul_job j = {.v = {.W = W, .Y = Y, .group_bytes = group_bytes, .n_in = n_in, .n_out = n_out, .n_tok = n_tok},
                    .n_rows = n_tok};
    j.chunk_rows = chunk_rows(pool, n_out, n_tok);
    matmul_run(pool, &j, wtype, X, scratch);
}

void tensor_matmul_groups(tensor_pool *pool, enum tensor_type wtype, bool packed, const float *X, int n_rows,
                          int n_in, int n_out, const tensor_mm_group *groups, int n_groups, void *scratch) {
    if (n_groups <= 0) return;
    int most = 0;
    for (int g = 0; g < n_groups; g++) most = groups[g].n_tok > most ? groups[g].n_tok : most;
    matmul_job j = {.v = {.n_in = n_in, .n_out = n_out},
                    .n_rows = n_rows, .groups = groups, .n_groups = n_groups};
    if (packed) j.v.group_bytes = tensor_packed_size(wtype, n_in, TENSOR_GEMM_ROWS);
    j.chunk_rows = chunk_rows(pool, n_out * n_groups, most);
    j.chunks_per_group = (n_out + j.chunk_rows - 1) / j.chunk_rows;
    matmul_run(pool, &j, wtype, X, scratch);
}

void tensor_matmul(tensor_pool *pool, const void *W, enum tensor_type wtype, const float *X,
                   float *Y, int n_in, int n_out, int n_tok, void *scratch) {
    matmul(pool, W, 0, wtype, X, Y, n_in, n_out, n_tok, scratch);
}

/* ---- packed weights ---- */

size_t tensor_packed_size(enum tensor_type wtype, int n_in, int n_out) {
    const tensor_traits *tr = tensor_get_traits(wtype);
    if (!tr || !tr->pack || n_in <= 0 || n_out <= 0 || n_in % tr->blck_size || n_out % TENSOR_GEMM_ROWS) return 0;
    return (size_t)(n_out / TENSOR_GEMM_ROWS) * (size_t)(n_in / tr->blck_size) * tr->packed_block_bytes;
}

typedef struct pack_job {
    const tensor_traits *tr;
    const uint8_t *W;
    uint8_t *dst;
    size_t row_bytes, group_bytes;
    int n_in, n_groups;
} pack_job;

static void pack_groups(void *ctx, int ith, int nth) {
    const pack_job *j = ctx;
    for (int g = ith; g < j->n_groups; g += nth)
        j->tr->pack(j->W + (size_t)g * TENSOR_GEMM_ROWS * j->row_bytes, j->row_bytes,
                    j->dst + (size_t)g * j->group_bytes, j->n_in);
}

void tensor_pack(tensor_pool *pool, enum tensor_type wtype, const void *W, void *dst, int n_in, int n_out) {
    pack_job j = {.tr = tensor_get_traits(wtype), .W = W, .dst = dst, .n_in = n_in,
                  .row_bytes = tensor_row_size(wtype, n_in), .n_groups = n_out / TENSOR_GEMM_ROWS};
    j.group_bytes = tensor_packed_size(wtype, n_in, TENSOR_GEMM_ROWS);
    tensor_pool_run(pool, pack_groups, &j);
}

void tensor_matmul_packed(tensor_pool *pool, const void *Wp, enum tensor_type wtype, const float *X,
                          float *Y, int n_in, int n_out, int n_tok, void *scratch) {
    matmul(pool, Wp, tensor_packed_size(wtype, n_in, TENSOR_GEMM_ROWS), wtype, X, Y, n_in, n_out, n_tok, scratch);
}

void tensor_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)x[i] * x[i];
    float scale = 1.0f / sqrtf((float)(sum / n) + eps);
    if (w)
        for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
    else
        for (int i = 0; i < n; i++) out[i] = x[i] * scale;
}

void tensor_softmax(float *x, int n) { tensor_get_ops()->softmax(x, n, NULL); }

void tensor_silu_mul(float *gate, const float *up, int n) { tensor_get_ops()->silu_mul(gate, up, n); }

void tensor_softcap(float *x, int n, float cap) {
    for (int i = 0; i < n; i++) x[i] = tanhf(x[i] / cap) * cap;
}


/* model (internal): the loaded model's state shared by the loader and the
 * forward passes. */
#ifndef OLLAMA_MODEL_INTERNAL_H
#define OLLAMA_MODEL_INTERNAL_H

#include "model/model.h"

/* A weight matrix used in place from the mapping: n_out rows of n_in;
 * packed, when not NULL, is its copy in the tile kernels' order
 * (tensor_pack, in the model's packed arena), which matmul reads instead. */
typedef struct weight {
    const void *data;
    const void *packed;
    enum tensor_type type;
    int n_in, n_out;
} weight;

/* The experts of one MoE layer: 3-D tensors used in place, expert e's
 * matrix at data + e * stride. */
typedef struct experts {
    weight router;                        /* n_embd -> n_expert */
    float *router_b;
    weight gate, up, down;                /* expert 0's view */
    size_t gate_stride, up_stride, down_stride;
    float *gate_b, *up_b, *down_b;        /* gpt-oss: n_expert x rows, or NULL */
} experts;

typedef struct layer {
    float *attn_norm, *ffn_norm;          /* F32 copies owned by the model */
    weight wq, wk, wv, wo;
    float *bq, *bk, *bv, *bo;             /* optional biases */
    weight w_gate, w_up, w_down;
    weight wqkv;                          /* phi3, gpt-oss as Ollama converts it: fused q, k, v (wq/wk/wv unused) */
    float *bqkv;                          /* its bias, or NULL */
    bool up_fused;                        /* phi3: w_up holds gate then up (2 x n_ff rows) */
    bool swa;                             /* sliding-window layer (hp.n_swa) */
    float *q_norm, *k_norm;               /* qwen3, gemma3: per-head RMSNorm of q and k */
    float *attn_post_norm, *ffn_post_norm; /* gemma2/3: norms of each block's output */
    float *attn_sinks;                    /* gpt-oss: one extra softmax logit per head */
    experts *moe;                         /* mixture-of-experts feed-forward, or NULL */
    /* bert: post-attention and output LayerNorms, FFN biases */
    float *attn_out_norm, *attn_out_norm_b, *out_norm, *out_norm_b, *b_up, *b_down;
} layer;

/* A tensor-name difference of a file format: canonical substring -> the
 * substring the file uses. */
typedef struct model_alias {
    const char *canonical, *file;
} model_alias;

/* A run: consecutive tokens [t0, t1) of one sequence in a batch. */
struct run {
    int t0, t1, seq;
};

/* Buffers of one forward pass, sized for n_batch tokens. */
typedef struct scratch {
    float *x, *xb, *q, *k, *v, *att, *hb, *hb2, *logits;
    void *quant;          /* activations quantized for matmul */
    size_t quant_bytes;
    float *rope_cos, *rope_sin; /* n_batch x n_rot/2 */
    float *rope_cos_swa, *rope_sin_swa; /* the same for sliding layers with their own rope, or NULL */
    float *dense;               /* pooled vectors through dense_2 (embeddinggemma), or NULL */
    /* MoE: router logits, chosen experts and weights per token, and a
     * row per (token, chosen expert), sorted by expert (inputs, hidden,
     * outputs; moe.c). */
    float *moe_logits, *moe_w, *moe_x, *moe_h, *moe_h2, *moe_y, *moe_wrow, *moe_out;
    int32_t *moe_sel, *moe_rows, *moe_first;
    tensor_mm_group *moe_groups;
    int32_t *out_rows;          /* indices of the tokens whose logits are wanted */
    struct run *runs;           /* the batch split into runs of one sequence */
    float **attn_tmp;     /* per thread: one head's key panels, values and attention work */
} scratch;

/* Per layer and sequence, rows for cap[il] positions: n_ctx, or in a
 * sliding-window layer (unless swa_full) a ring of n_swa + n_batch - 1,
 * enough for the window of every token of a batch, position p in row
 * p % cap. max_pos[seq] is the highest position a sequence has written
 * since it last started at 0: with it a ring tells whether the window
 * before a position is still there (model_kv_reusable). */
typedef struct kv_cache {
    enum tensor_type type;
    size_t row_bytes;     /* one position of one layer: n_head_kv * head_dim */
    size_t head_bytes;    /* one head's slice of a row */
    uint8_t *k, *v;       /* per layer, n_seq x cap[il] rows */
    int *cap;             /* n_layer */
    size_t *row0;         /* n_layer: the layer's first row */
    int *max_pos;         /* n_seq, -1: nothing written */
    size_t bytes;         /* of k, and of v */
    /* Per sequence, a copy of its rings (every ring layer's rows, keys
     * then values) taken when a prompt has been evaluated, and the
     * max_pos it had (-1: none): a later prompt that parts from this one
     * after its end, but further back than the live rings still hold (a
     * reply the template drops from the history), resumes from it. */
    uint8_t *ckpt;        /* n_seq x ckpt_bytes, or NULL without rings */
    size_t ckpt_bytes;
    int *ckpt_pos;
    int *ckpt_limit;      /* it serves positions below this: a later run from p rewrote p on */
} kv_cache;

struct model {
    gguf_file *gguf;
    tokenizer *tok;
    model_hparams hp;
    char kv_arch[32];          /* prefix of the metadata keys ("gptoss" in Ollama's gpt-oss files) */
    bool ollama_format;        /* an Ollama-published layout that compat.c translates */
    const model_alias *aliases;
    int n_aliases;
    model_params params;
    weight tok_embd, output;
    weight dense_2, dense_3; /* embeddinggemma: projections after pooling (optional) */
    float *output_norm;
    float *rope_freqs;    /* llama3 frequency factors, n_rot/2, or NULL */
    float *rope_short, *rope_long; /* phi3 factors before one becomes rope_freqs */
    float *pos_embd, *type_embd, *embd_norm, *embd_norm_b; /* bert (pos_embd NULL: nomic-bert) */
    layer *layers;
    kv_cache kv;
    scratch s;
    tensor_pool *pool;
    void *packed;            /* the packed weights (weight.packed points into it), or NULL */
    size_t packed_bytes;
};

/* compat.c: Ollama-published GGUF layouts (see there). */
void model_compat_detect(model *m);
void model_compat_hparams(model *m);
void model_compat_vocab(model *m);
void model_compat_tokenizer(model *m);
const gguf_tensor *model_find_tensor(const model *m, const char *name);

/* llama.c: floats of one thread's attention scratch (attn_tmp). */
size_t model_attn_tmp_floats(int n_ctx, int hd);

/* Byte offset of the cache row that holds (layer, sequence, position). */
static inline size_t model_kv_row(const model *m, int il, int seq, int pos) {
    const int cap = m->kv.cap[il];
    return (m->kv.row0[il] + (size_t)seq * (size_t)cap + (size_t)(pos % cap)) * m->kv.row_bytes;
}

/* Whether layer il keeps a ring of its window instead of n_ctx rows. */
bool model_kv_ring(const model *m, int il);

int model_bind_vector(model *m, float **out, const char *name, int n, bool optional, oc_error *err);
int model_bind_weight(model *m, weight *w, const char *name, int n_in, int n_out, bool optional, oc_error *err);
int model_bert_bind(model *m, oc_error *err);
/* bert.c: whether arch is one of the BERT encoders ("bert", "nomic-bert"). */
bool model_is_bert(const char *arch);

/* arch.c: which architectures load, their family hyper-parameters and the
 * tensors beyond the llama set. */
bool model_arch_supported(const char *arch);
int model_arch_hparams(model *m, oc_error *err);
int model_arch_bind_layer(model *m, int il, oc_error *err);
int model_arch_bind_model(model *m, oc_error *err);

/* moe.c: the experts of layer il, their scratch, their forward step
 * (out = sum over the chosen experts of weight * expert(xb)). */
int model_moe_bind(model *m, int il, oc_error *err);
size_t model_moe_scratch(const model *m, int n_batch);
void model_moe_alloc(model *m);
void model_moe_free(model *m);
void model_moe_ffn(model *m, const layer *L, const float *xb, float *out, int n);

/* gelu.c: GELU rounded as ggml does it (through F16): in place, and
 * Gemma's gated feed-forward (gate = gelu(gate) * up). */
void model_gelu(float *x, int n);
void model_gemma_geglu(float *gate, const float *up, int n);
/* phi3.c: fused projections. */
void model_phi3_split_qkv(const model *m, const float *qkv, int n);
void model_phi3_swiglu(const model *m, const float *gate_up, int n);
void model_bert_embed(model *m, const model_batch *b, float *out);

/* Whether llama.cpp's quantizer converts t (quantize.c). */
bool model_tensor_quantizable(const gguf_tensor *t);
/* Writes f with tensor i converted to types[i] (quantize.c), telling
 * progress (or NULL) how many of the tensors' bytes are done. */
int model_write_quantized(gguf_file *f, const enum tensor_type *types, int file_type, const char *out_path,
                          model_progress_fn progress, void *progress_ctx, oc_error *err);

/* The forward pass of a validated batch. */
void model_llama_decode(model *m, const model_batch *b, float *logits);
/* llama.c: the cos/sin tables of b's positions, and one head's rotation. */
void model_rope_tables(model *m, const model_batch *b);
void model_rope_head(const model_hparams *hp, float *x, const float *c, const float *s);
/* Rotation angle per position of pair i (llama.c), for the context shift. */
double model_rope_freq(const model *m, bool swa, int i);
/* The same layers as an encoder (embeddinggemma): bidirectional attention
 * within each run, final norm, pooling, dense projections. */
void model_llama_embed(model *m, const model_batch *b, float *out);

/* y = w x for n rows of x, from the packed copy where there is one. */
void model_matmul(model *m, const weight *w, const float *x, float *y, int n);
/* Whether two matrices can share a grouped matmul (tensor_matmul_groups):
 * the same shape, type and layout (packed or not). */
bool model_same_layout(const weight *a, const weight *b);
/* a = wa x and b = wb x, in one pass where the two share shape and type. */
void model_matmul_pair(model *m, const weight *wa, const weight *wb, const float *x, float *a, float *b, int n);

#endif

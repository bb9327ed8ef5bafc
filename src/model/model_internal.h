/* model (internal): the loaded model's state shared by the loader and the
 * forward passes. */
#ifndef OLLAMA_MODEL_INTERNAL_H
#define OLLAMA_MODEL_INTERNAL_H

#include "model/model.h"

/* A weight matrix used in place from the mapping: n_out rows of n_in. */
typedef struct weight {
    const void *data;
    enum tensor_type type;
    int n_in, n_out;
} weight;

typedef struct layer {
    float *attn_norm, *ffn_norm;          /* F32 copies owned by the model */
    weight wq, wk, wv, wo;
    float *bq, *bk, *bv, *bo;             /* optional biases */
    weight w_gate, w_up, w_down;
} layer;

/* Buffers of one forward pass, sized for n_batch tokens. */
typedef struct scratch {
    float *x, *xb, *q, *k, *v, *att, *hb, *hb2, *logits;
    void *quant;          /* activations quantized for matmul */
    size_t quant_bytes;
    float *rope_cos, *rope_sin; /* n_batch x n_rot/2 */
    float **attn_tmp;     /* per thread: K and V of one head as F32, scores */
} scratch;

typedef struct kv_cache {
    enum tensor_type type;
    size_t row_bytes;     /* one position of one layer: n_head_kv * head_dim */
    size_t head_bytes;    /* one head's slice of a row */
    uint8_t *k, *v;       /* n_layer x n_ctx rows */
} kv_cache;

struct model {
    gguf_file *gguf;
    tokenizer *tok;
    model_hparams hp;
    model_params params;
    weight tok_embd, output;
    float *output_norm;
    float *rope_freqs;    /* llama3 frequency factors, n_rot/2, or NULL */
    layer *layers;
    kv_cache kv;
    scratch s;
    tensor_pool *pool;
};

int model_llama_eval_batch(model *m, const int32_t *tokens, int n, int pos, float *logits);

#endif

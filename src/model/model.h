/* model: a loaded GGUF model and its forward pass.
 * Owns: hyper-parameters from metadata, tensor binding by name, the forward
 * function of each architecture family (llama: Llama 2/3, Mistral,
 * TinyLlama, Mixtral; qwen2, qwen3, qwen3moe; gemma, gemma2, gemma3; phi3;
 * gpt-oss; encoders for embeddings: bert, nomic-bert, gemma-embedding), the KV cache
 * (F32, F16 or Q8_0; sliding-window layers keep the full context) and the
 * scratch buffers, all allocated once at load. The llama architecture
 * ignores "llama.attention.sliding_window", as llama.cpp does. */
#ifndef OLLAMA_MODEL_H
#define OLLAMA_MODEL_H

#include "base/base.h"
#include "gguf/gguf.h"
#include "tensor/tensor.h"
#include "tokenizer/tokenizer.h"

typedef struct model_params {
    int n_ctx;                 /* 0: min(model's context length, 4096) */
    int n_batch;               /* tokens per forward pass; 0: 512 */
    int n_threads;             /* 0: physical cores */
    int n_seq;                 /* sequences decoded together, n_ctx positions each; 0: 1 */
    enum tensor_type kv_type;  /* TENSOR_F16 (default), TENSOR_F32 or TENSOR_Q8_0 */
    bool no_pack;              /* multiply from the file's layout, not a packed copy (tests, benchmarks) */
    bool swa_full;             /* sliding-window layers keep n_ctx positions, not a ring of their window */
} model_params;

model_params model_default_params(void);

/* Pooling of encoder outputs (GGUF <arch>.pooling_type). */
enum model_pooling { POOLING_NONE = 0, POOLING_MEAN = 1, POOLING_CLS = 2, POOLING_LAST = 3 };

typedef struct model_hparams {
    char arch[32];
    bool encoder;           /* BERT-style: bidirectional, embeddings only */
    enum model_pooling pooling;
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff;
    int head_dim, n_ctx_train, n_rot;
    float norm_eps, rope_base, rope_scale;
    bool rope_neox;
    /* Family features (arch.c sets them; zero/false is the llama path). */
    float attn_scale;          /* query scale; 0: 1/sqrt(head_dim) */
    float attn_softcap;        /* gemma2: scores = cap * tanh(scores / cap); 0: off */
    float final_softcap;       /* gemma2: the same on the logits; 0: off */
    float embd_scale;          /* gemma: embeddings times sqrt(n_embd); 0: off */
    float rope_attn_factor;    /* phi3 long-rope: cos/sin scale; 0: 1 */
    int n_swa;                 /* sliding window (keys at pos - n_swa < p <= pos); 0: none */
    int swa_pattern;           /* layer il slides when il % pattern < pattern - 1 */
    bool swa_symmetric;        /* encoders: keys with |p - pos| <= n_swa / 2 */
    float rope_base_swa, rope_scale_swa; /* rope of the sliding layers */
    bool ffn_gelu;             /* gemma: GELU-gated feed-forward instead of SwiGLU */
    int n_ctx_orig;            /* phi3: context the short rope factors were trained for; YaRN's original context */
    bool rope_yarn;            /* gpt-oss: YaRN rope scaling (rope_scale is its factor) */
    float yarn_corr[2];        /* YaRN: the dimensions between which rotation is interpolated */
    /* Mixture of experts (Mixtral, qwen3moe, gpt-oss). */
    int n_expert, n_expert_used, n_ff_exp;
    bool moe_softmax_topk;     /* gpt-oss: softmax over the chosen experts' logits (else over all, renormalised) */
    bool moe_oai_act;          /* gpt-oss: clamped SwiGLU with alpha 1.702 and (up + 1) */
} model_hparams;

typedef struct model model;

model *model_load(const char *path, const model_params *p, oc_error *err);
void model_free(model *m);

const model_hparams *model_hparams_of(const model *m);
const tokenizer *model_tokenizer(const model *m);
const gguf_file *model_gguf(const model *m);
int model_n_ctx(const model *m);
int model_n_threads(const model *m);
int model_n_seq(const model *m);
int model_n_batch(const model *m);
/* Bytes of the packed weight copies (0 with no_pack or where no ISA
 * kernel has a packed layout). */
size_t model_packed_bytes(const model *m);

/* One forward pass over tokens of one or more sequences. Tokens of a
 * sequence come as one run at consecutive positions (a prefill chunk or a
 * single decode step), runs of different sequences one after another. */
typedef struct model_batch {
    int n;
    const int32_t *tokens, *pos, *seq; /* per token */
    const bool *logits;                /* per token: produce its logits; NULL: the last token only */
} model_batch;

/* Runs b (n <= n_batch) and writes the logits of the flagged tokens, in
 * order, to logits (n_flagged x n_vocab floats). A run at position p
 * overwrites that sequence's cache from p on. */
int model_decode(model *m, const model_batch *b, float *logits, oc_error *err);

/* Runs an encoder model over b (each run of one sequence is one input,
 * positions from 0) and writes one pooled, unnormalised vector of n_embd
 * floats per run, in order. */
int model_embed(model *m, const model_batch *b, float *out, oc_error *err);

/* Runs tokens at positions pos .. pos+n-1 (which must follow what the cache
 * holds: entries at and after pos are overwritten) and writes the logits of
 * the last token (n_vocab floats) to logits when it is not NULL.
 * Fails when pos + n exceeds the context. */
int model_eval(model *m, const int32_t *tokens, int n, int pos, float *logits, oc_error *err);

/* Context shift: drops positions keep .. keep+discard-1 of sequence seq
 * (which holds n_used positions) and moves the later ones down by discard,
 * re-rotating their keys for the new positions. */
int model_kv_shift(model *m, int seq, int keep, int discard, int n_used, oc_error *err);

/* How many of sequence seq's cached positions 0 .. n-1 it can go on
 * from (a reused prompt prefix): n, or fewer where a sliding-window
 * layer's ring has overwritten the window before n with later positions
 * and its checkpoint holds an earlier point, or 0: start over. */
int model_kv_reusable(const model *m, int seq, int n);
/* model_kv_reusable, and where that point is the checkpoint's, puts the
 * checkpoint back: then decoding can go on at the returned position. */
int model_kv_resume(model *m, int seq, int n);
/* Copies a sequence's sliding-window rings as they are now (the engine
 * calls it when a prompt has been evaluated); nothing without rings. */
void model_kv_checkpoint(model *m, int seq);
/* Bytes of the KV cache (keys and values). */
size_t model_kv_bytes(const model *m);

/* Writes a copy of a model with every 2-D weight (norms excepted) in type
 * target, falling back per tensor where the row length does not fit the
 * block size (as llama.cpp does). */
int model_quantize_file(const char *in_path, const char *out_path, enum tensor_type target, oc_error *err);
/* Writes a copy quantized with the per-tensor mix of a llama.cpp file type
 * named as Ollama's `create --quantize` upper-cases it: F32, F16, BF16,
 * Q4_0, Q8_0, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K. */
typedef void (*model_progress_fn)(void *ctx, uint64_t done, uint64_t total);
int model_quantize_scheme(const char *in_path, const char *out_path, const char *name, model_progress_fn progress,
                          void *progress_ctx, oc_error *err);
/* The types model_quantize_scheme gives each tensor of f (and the
 * general.file_type it writes). */
int model_quantize_plan(const gguf_file *f, const char *name, enum tensor_type *types, int *file_type,
                        oc_error *err);
/* The same from the shape alone (what the plan depends on). */
typedef struct model_quant_shape {
    char arch[32];
    int n_layer, n_expert;
} model_quant_shape;
int model_quantize_plan_tensors(const model_quant_shape *shape, const gguf_tensor *ts, size_t n, const char *name,
                                enum tensor_type *types, int *file_type, oc_error *err);
/* The type a tensor gets when quantizing a file to target. */
enum tensor_type model_quantize_choose(const gguf_tensor *t, enum tensor_type target);

#endif

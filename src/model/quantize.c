/* model: quantizing a GGUF model file to another type. Every 2-D weight
 * except norms gets the target type; rows that the target's block size does
 * not divide fall back as llama.cpp's quantizer does (K-quants to the
 * nearest legacy type, then F16). Metadata is copied and general.file_type
 * set. The per-tensor mixes of named schemes (Q4_K_M ...) come with
 * `create --quantize`. Tensors are converted while the file is written,
 * one at a time, its rows shared out over the cores: memory holds one
 * converted tensor, not the whole model. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

static enum tensor_type fallback_type(enum tensor_type t) {
    switch (t) {
    case TENSOR_Q2_K: case TENSOR_Q3_K: return TENSOR_Q4_0;
    case TENSOR_Q4_K: return TENSOR_Q5_0;
    case TENSOR_Q5_K: return TENSOR_Q5_1;
    case TENSOR_Q6_K: return TENSOR_Q8_0;
    default: return TENSOR_F16;
    }
}

/* The tensors llama.cpp's quantizer leaves alone: 1-D tensors, norms,
 * rope factors, expert gates, position and token-type embeddings. */
bool model_tensor_quantizable(const gguf_tensor *t) {
    static const char *keep[] = {"_norm", "rope_freqs", "ffn_gate_inp.weight", "position_embd", "token_types",
                                 "altup", "laurel", "ssm_conv1d"};
    size_t len = strlen(t->name);
    if (t->n_dims < 2 || len <= 7 || strcmp(t->name + len - 7, ".weight") != 0) return false;
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (strstr(t->name, keep[i])) return false;
    return true;
}

/* A row length the type's blocks do not divide takes llama.cpp's fallback. */
static enum tensor_type fit_row(const gguf_tensor *t, enum tensor_type type) {
    if (tensor_row_size(type, t->ne[0]) == 0) type = fallback_type(type);
    if (tensor_row_size(type, t->ne[0]) == 0) type = TENSOR_F16;
    return type;
}

enum tensor_type model_quantize_choose(const gguf_tensor *t, enum tensor_type target) {
    return model_tensor_quantizable(t) ? fit_row(t, target) : (enum tensor_type)t->type;
}

/* llama_ftype of a whole-file target (general.file_type). */
static int file_type_of(enum tensor_type t) {
    switch (t) {
    case TENSOR_F32: return 0;
    case TENSOR_F16: return 1;
    case TENSOR_Q4_0: return 2;
    case TENSOR_Q4_1: return 3;
    case TENSOR_Q8_0: return 7;
    case TENSOR_Q5_0: return 8;
    case TENSOR_Q5_1: return 9;
    case TENSOR_Q2_K: return 10;
    case TENSOR_Q3_K: return 12;
    case TENSOR_Q4_K: return 15;
    case TENSOR_Q5_K: return 17;
    case TENSOR_Q6_K: return 18;
    case TENSOR_BF16: return 32;
    default: return -1;
    }
}

/* One tensor's conversion, rows taken in chunks by the pool's threads. */
typedef struct convert_job {
    const gguf_tensor *t;
    enum tensor_type to;
    tensor_pool *pool;
    uint8_t *out;
    int64_t n_rows;
    atomic_llong next_row;
    model_progress_fn progress;  /* told after the conversion: done of total input bytes */
    void *progress_ctx;
    uint64_t done, total;
} convert_job;

#define CONVERT_ROWS 16 /* rows a grab: small tensors still spread over the threads */

static void task_convert(void *ctx, int ith, int nth) {
    (void)ith, (void)nth;
    convert_job *j = ctx;
    const gguf_tensor *t = j->t;
    const tensor_traits *src = tensor_get_traits((enum tensor_type)t->type), *dst = tensor_get_traits(j->to);
    size_t in_row = tensor_row_size((enum tensor_type)t->type, t->ne[0]), out_row = tensor_row_size(j->to, t->ne[0]);
    float *row = oc_malloc((size_t)t->ne[0] * sizeof(float));
    for (;;) {
        int64_t r0 = atomic_fetch_add(&j->next_row, CONVERT_ROWS);
        if (r0 >= j->n_rows) break;
        for (int64_t r = r0; r < r0 + CONVERT_ROWS && r < j->n_rows; r++) {
            src->to_float((const uint8_t *)t->data + (size_t)r * in_row, row, t->ne[0]);
            dst->from_float(row, j->out + (size_t)r * out_row, t->ne[0]);
        }
    }
    free(row);
}

/* gguf_tensor_fill_fn: the tensor converted row by row into out. */
static int fill_converted(void *ctx, void *out, uint64_t nbytes, oc_error *err) {
    (void)nbytes, (void)err;
    convert_job *j = ctx;
    j->out = out;
    j->n_rows = j->t->ne[1] * j->t->ne[2] * j->t->ne[3];
    atomic_store(&j->next_row, 0);
    tensor_pool_run(j->pool, task_convert, j);
    if (j->progress) j->progress(j->progress_ctx, j->done, j->total);
    return 0;
}

/* Writes f with tensor i converted to types[i] and general.file_type set. */
int model_write_quantized(gguf_file *f, const enum tensor_type *types, int file_type, const char *out_path,
                          model_progress_fn progress, void *progress_ctx, oc_error *err) {
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_set_value(w, f->kv[i].key, &f->kv[i].value);
    gguf_writer_set_u32(w, "general.file_type", (uint32_t)file_type);
    tensor_pool *pool = tensor_pool_new(oc_physical_cores());
    convert_job *jobs = oc_calloc(f->n_tensors + 1, sizeof *jobs);
    uint64_t total = 0, done = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) total += f->tensors[i].nbytes;
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors && rc == 0; i++) {
        const gguf_tensor *t = &f->tensors[i];
        done += t->nbytes;
        if (types[i] == (enum tensor_type)t->type) {
            rc = gguf_writer_add_tensor(w, t->name, types[i], t->n_dims, t->ne, t->data, t->nbytes, err);
            continue;
        }
        const tensor_traits *src = tensor_get_traits((enum tensor_type)t->type), *dst = tensor_get_traits(types[i]);
        if (!src || !src->to_float || !dst || !dst->from_float) {
            rc = oc_fail(err, "tensor '%s': cannot convert %s to %s", t->name,
                         tensor_type_name((enum tensor_type)t->type), tensor_type_name(types[i]));
            break;
        }
        jobs[i] = (convert_job){.t = t, .to = types[i], .pool = pool, .progress = progress,
                                .progress_ctx = progress_ctx, .done = done, .total = total};
        uint64_t nbytes = (uint64_t)tensor_row_size(types[i], t->ne[0]) * (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        rc = gguf_writer_add_tensor_fill(w, t->name, types[i], t->n_dims, t->ne, nbytes, fill_converted, &jobs[i], err);
    }
    if (rc == 0) rc = gguf_writer_write_file(w, out_path, err);
    free(jobs);
    tensor_pool_free(pool);
    gguf_writer_free(w);
    return rc;
}

int model_quantize_file(const char *in_path, const char *out_path, enum tensor_type target, oc_error *err) {
    tensor_init();
    if (file_type_of(target) < 0 || !tensor_get_traits(target) || !tensor_get_traits(target)->from_float)
        return oc_fail(err, "unsupported quantization type %s", tensor_type_name(target));
    gguf_file *f = gguf_open(in_path, err);
    if (!f) return -1;
    enum tensor_type *types = oc_malloc((f->n_tensors + 1) * sizeof *types);
    for (uint64_t i = 0; i < f->n_tensors; i++) types[i] = model_quantize_choose(&f->tensors[i], target);
    int rc = model_write_quantized(f, types, file_type_of(target), out_path, NULL, NULL, err);
    free(types);
    gguf_close(f);
    return rc;
}

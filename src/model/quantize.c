/* model: quantizing a GGUF model file to another type. Every 2-D weight
 * except norms gets the target type; rows that the target's block size does
 * not divide fall back as llama.cpp's quantizer does (K-quants to the
 * nearest legacy type, then F16). Metadata is copied and general.file_type
 * set. The per-tensor mixes of named schemes (Q4_K_M ...) come with
 * `create --quantize`. */
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

/* Converts one tensor row by row; returns the new data (malloc'ed). */
static void *convert_tensor(const gguf_tensor *t, enum tensor_type to, uint64_t *nbytes, oc_error *err) {
    const tensor_traits *src = tensor_get_traits((enum tensor_type)t->type);
    const tensor_traits *dst = tensor_get_traits(to);
    if (!src || !src->to_float || !dst || !dst->from_float) {
        oc_fail(err, "tensor '%s': cannot convert %s to %s", t->name, tensor_type_name((enum tensor_type)t->type),
                tensor_type_name(to));
        return NULL;
    }
    int64_t n_rows = t->ne[1] * t->ne[2] * t->ne[3];
    size_t in_row = tensor_row_size((enum tensor_type)t->type, t->ne[0]), out_row = tensor_row_size(to, t->ne[0]);
    *nbytes = (uint64_t)out_row * (uint64_t)n_rows;
    uint8_t *out = oc_malloc(*nbytes);
    float *row = oc_malloc((size_t)t->ne[0] * sizeof(float));
    for (int64_t r = 0; r < n_rows; r++) {
        src->to_float((const uint8_t *)t->data + (size_t)r * in_row, row, t->ne[0]);
        dst->from_float(row, out + (size_t)r * out_row, t->ne[0]);
    }
    free(row);
    return out;
}

/* Writes f with tensor i converted to types[i] and general.file_type set. */
int model_write_quantized(gguf_file *f, const enum tensor_type *types, int file_type, const char *out_path,
                          oc_error *err) {
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_set_value(w, f->kv[i].key, &f->kv[i].value);
    gguf_writer_set_u32(w, "general.file_type", (uint32_t)file_type);
    void **owned = oc_calloc(f->n_tensors + 1, sizeof(void *));
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors && rc == 0; i++) {
        const gguf_tensor *t = &f->tensors[i];
        const void *data = t->data;
        uint64_t nbytes = t->nbytes;
        if (types[i] != (enum tensor_type)t->type) {
            data = owned[i] = convert_tensor(t, types[i], &nbytes, err);
            if (!data) rc = -1;
        }
        if (rc == 0) rc = gguf_writer_add_tensor(w, t->name, types[i], t->n_dims, t->ne, data, nbytes, err);
    }
    if (rc == 0) rc = gguf_writer_write_file(w, out_path, err);
    for (uint64_t i = 0; i < f->n_tensors; i++) free(owned[i]);
    free(owned);
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
    int rc = model_write_quantized(f, types, file_type_of(target), out_path, err);
    free(types);
    gguf_close(f);
    return rc;
}

/* gguf: reads (on mmap) and writes GGUF v2/v3 files.
 * Owns: the file format. Every count, offset and size read from a file is
 * checked against the file size with overflow-safe arithmetic; a bad file
 * yields an error naming the field or tensor, never a crash. */
#ifndef OLLAMA_GGUF_H
#define OLLAMA_GGUF_H

#include "base/base.h"

enum gguf_type {
    GGUF_TYPE_UINT8 = 0, GGUF_TYPE_INT8 = 1, GGUF_TYPE_UINT16 = 2, GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4, GGUF_TYPE_INT32 = 5, GGUF_TYPE_FLOAT32 = 6, GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8, GGUF_TYPE_ARRAY = 9, GGUF_TYPE_UINT64 = 10, GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12, GGUF_TYPE_COUNT
};

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

/* A string inside the mapped file: not NUL-terminated. */
typedef struct gguf_str {
    const char *data;
    uint64_t len;
} gguf_str;

/* One metadata value. Scalars are decoded; arrays point into the file
 * (numeric elements may be unaligned: use the gguf_arr_* accessors). */
typedef struct gguf_value {
    enum gguf_type type;
    union {
        uint64_t u64;   /* UINT8..UINT64, BOOL */
        int64_t i64;    /* INT8..INT64 */
        double f64;     /* FLOAT32, FLOAT64 */
        gguf_str str;   /* STRING */
        struct {
            enum gguf_type type; /* element type (never ARRAY: nested arrays are rejected) */
            uint64_t n;
            const void *data;    /* numeric elements, packed little-endian */
            gguf_str *strs;      /* STRING elements, decoded (n entries) */
        } arr;
    };
} gguf_value;

typedef struct gguf_kv {
    char *key; /* NUL-terminated copy */
    gguf_value value;
} gguf_kv;

typedef struct gguf_tensor {
    char *name;     /* NUL-terminated copy */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* unused dims are 1 */
    uint32_t type;  /* ggml type id (see tensor/tensor.h) */
    uint64_t offset; /* relative to the data section */
    uint64_t nbytes;
    const void *data; /* into the mapping */
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset; /* start of the tensor data section */
    const uint8_t *base;  /* the whole file */
    uint64_t size;
    bool mapped;          /* base was mmapped by gguf_open */
} gguf_file;

/* Opens and validates a file; tensors' data point into a read-only mmap. */
gguf_file *gguf_open(const char *path, oc_error *err);
/* Parses a buffer the caller keeps alive (fuzzing, tests). */
gguf_file *gguf_open_memory(const void *data, size_t size, oc_error *err);
void gguf_close(gguf_file *f);

/* Metadata lookup; NULL when absent. */
const gguf_value *gguf_get(const gguf_file *f, const char *key);
/* Typed getters with a default when absent or of a non-convertible type.
 * Integer getters accept any integer or bool type (a uint64 above INT64_MAX
 * counts as non-convertible); float getters any number. */
int64_t gguf_get_int(const gguf_file *f, const char *key, int64_t def);
double gguf_get_float(const gguf_file *f, const char *key, double def);
bool gguf_get_bool(const gguf_file *f, const char *key, bool def);
/* Returns a NUL-terminated malloc'ed copy, or NULL when absent. */
char *gguf_get_string(const gguf_file *f, const char *key);
/* Array access: n elements of any numeric type, as double / int64. */
double gguf_arr_get_float(const gguf_value *v, uint64_t i);
int64_t gguf_arr_get_int(const gguf_value *v, uint64_t i);

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

const char *gguf_type_name(enum gguf_type t);

/* ---- writer ---- */
typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);
/* Setting a key that exists replaces its value (order is kept). */
void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* Any scalar or array value, e.g. copied from a gguf_file (data is copied). */
void gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v);
/* Numeric array of elem_type (data copied), or array of strings. */
void gguf_writer_set_arr(gguf_writer *w, const char *key, enum gguf_type elem_type, const void *data, uint64_t n);
void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* Adds a tensor; data is referenced, not copied, and must stay valid until
 * the file is written. nbytes must match the type and shape. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const int64_t *ne, const void *data, uint64_t nbytes, oc_error *err);
/* A tensor whose bytes are made while the file is written:
 * fill(ctx, out, nbytes, err) writes them to out and returns 0, or -1 with
 * err set, which fails the write. Only one such tensor's bytes are in
 * memory at a time (a quantized copy of a model need not fit in RAM). */
typedef int (*gguf_tensor_fill_fn)(void *ctx, void *out, uint64_t nbytes, oc_error *err);
int gguf_writer_add_tensor_fill(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                const int64_t *ne, uint64_t nbytes, gguf_tensor_fill_fn fill, void *ctx,
                                oc_error *err);
/* Writes a v3 file atomically (temp file + fsync + rename). */
int gguf_writer_write_file(gguf_writer *w, const char *path, oc_error *err);
/* Serialises into memory (malloc'ed). */
int gguf_writer_write_memory(gguf_writer *w, void **out, size_t *out_len, oc_error *err);

#endif

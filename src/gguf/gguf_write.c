/* gguf writer: collects metadata (in insertion order, with deep copies of
 * the values) and references to tensor data, then serialises a v3 file into
 * memory or streams it to a temp file that is fsynced and renamed over the
 * target. Setters cannot fail visibly, so their first error is kept and
 * reported by the write. */
#include "gguf/gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned long long ull; /* for printf */

#define SINK_BUF ((size_t)1 << 20)
#define MAX_WRITE ((size_t)1 << 30) /* Linux writes at most ~2 GiB per call */

typedef struct wtensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
    gguf_tensor_fill_fn fill; /* instead of data: made when written */
    void *fill_ctx;
} wtensor;

struct gguf_writer {
    gguf_kv *kv;
    size_t n_kv, cap_kv;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
    bool failed;
    oc_error deferred;
};

static void defer(gguf_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void defer(gguf_writer *w, const char *fmt, ...) {
    if (w->failed) return;
    w->failed = true;
    int n = snprintf(w->deferred.msg, sizeof w->deferred.msg, "gguf writer: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->deferred.msg + n, sizeof w->deferred.msg - (size_t)n, fmt, ap);
    va_end(ap);
}

gguf_writer *gguf_writer_new(void) { return oc_calloc(1, sizeof(gguf_writer)); }

/* ---- owned values ---- */

static void free_value(gguf_value *v) {
    if (v->type == GGUF_TYPE_STRING) free((void *)v->str.data);
    if (v->type != GGUF_TYPE_ARRAY) return;
    for (uint64_t i = 0; v->arr.strs && i < v->arr.n; i++) free((void *)v->arr.strs[i].data);
    free(v->arr.strs);
    free((void *)v->arr.data);
}

/* A NUL-terminated copy of n bytes (the NUL only helps debugging). */
static const char *dup_bytes(const char *s, uint64_t n) { return oc_strndup(n ? s : "", (size_t)n); }

static const char *copy_array(gguf_value *dst, const gguf_value *src) {
    enum gguf_type et = src->arr.type;
    uint64_t n = src->arr.n, bytes;
    dst->arr.data = NULL;
    dst->arr.strs = NULL;
    if (et == GGUF_TYPE_ARRAY) return "nested arrays are not supported";
    if ((unsigned)et >= GGUF_TYPE_COUNT) return "invalid array element type";
    if (et == GGUF_TYPE_STRING) {
        if (n && !src->arr.strs) return "string array without strings";
        for (uint64_t i = 0; i < n; i++)
            if (src->arr.strs[i].len && !src->arr.strs[i].data) return "string array element without data";
        dst->arr.strs = oc_calloc((size_t)n, sizeof *dst->arr.strs);
        for (uint64_t i = 0; i < n; i++) {
            dst->arr.strs[i].data = dup_bytes(src->arr.strs[i].data, src->arr.strs[i].len);
            dst->arr.strs[i].len = src->arr.strs[i].len;
        }
        return NULL;
    }
    if (!oc_mul_u64(n, gguf_type_size(et), &bytes) || bytes > SIZE_MAX / 2) return "array too large";
    if (bytes && !src->arr.data) return "array without data";
    void *data = oc_malloc((size_t)bytes);
    if (bytes) memcpy(data, src->arr.data, (size_t)bytes);
    dst->arr.data = data;
    return NULL;
}

/* Deep copy; returns NULL or why the value cannot be written. */
static const char *copy_value(gguf_value *dst, const gguf_value *src) {
    *dst = *src;
    if ((unsigned)src->type >= GGUF_TYPE_COUNT) return "invalid value type";
    if (src->type == GGUF_TYPE_BOOL && src->u64 > 1) return "bool value is not 0 or 1";
    if (src->type == GGUF_TYPE_STRING) {
        if (src->str.len && !src->str.data) return "string without data";
        dst->str.data = dup_bytes(src->str.data, src->str.len);
    }
    return src->type == GGUF_TYPE_ARRAY ? copy_array(dst, src) : NULL;
}

/* Stores v (ownership passes to the writer) under key. */
static void set_owned(gguf_writer *w, const char *key, gguf_value *v) {
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            free_value(&w->kv[i].value);
            w->kv[i].value = *v;
            return;
        }
    }
    if (w->n_kv == w->cap_kv) {
        w->cap_kv = w->cap_kv ? 2 * w->cap_kv : 16;
        w->kv = oc_realloc(w->kv, w->cap_kv * sizeof *w->kv);
    }
    w->kv[w->n_kv].key = oc_strdup(key);
    w->kv[w->n_kv++].value = *v;
}

void gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v) {
    if (!w) return;
    if (!key || !v) {
        defer(w, "set_value: %s is NULL", key ? "value" : "key");
        return;
    }
    gguf_value copy;
    const char *why = copy_value(&copy, v);
    if (why) {
        defer(w, "key '%.64s': %s", key, why);
        return;
    }
    set_owned(w, key, &copy);
}

void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) {
    gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_TYPE_UINT32, .u64 = v});
}

void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) {
    gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_TYPE_INT32, .i64 = v});
}

void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v) {
    gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_TYPE_UINT64, .u64 = v});
}

void gguf_writer_set_f32(gguf_writer *w, const char *key, float v) {
    gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_TYPE_FLOAT32, .f64 = v});
}

void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v) {
    gguf_writer_set_value(w, key, &(gguf_value){.type = GGUF_TYPE_BOOL, .u64 = v});
}

void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v) {
    if (w && !v) {
        defer(w, "key '%.64s': string is NULL", key ? key : "(null)");
        return;
    }
    gguf_value val = {.type = GGUF_TYPE_STRING, .str = {v, v ? strlen(v) : 0}};
    gguf_writer_set_value(w, key, &val);
}

void gguf_writer_set_arr(gguf_writer *w, const char *key, enum gguf_type elem_type, const void *data,
                         uint64_t n) {
    if (w && elem_type == GGUF_TYPE_STRING) {
        defer(w, "key '%.64s': string arrays go through gguf_writer_set_arr_str", key ? key : "(null)");
        return;
    }
    gguf_value v = {.type = GGUF_TYPE_ARRAY};
    v.arr.type = elem_type;
    v.arr.n = n;
    v.arr.data = data;
    gguf_writer_set_value(w, key, &v);
}

void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n) {
    if (!w) return;
    for (uint64_t i = 0; i < n; i++) {
        if (!strs || !strs[i]) {
            defer(w, "key '%.64s': string %llu is NULL", key ? key : "(null)", (ull)i);
            return;
        }
    }
    if (!key) {
        defer(w, "set_arr_str: key is NULL");
        return;
    }
    gguf_value v = {.type = GGUF_TYPE_ARRAY};
    v.arr.type = GGUF_TYPE_STRING;
    v.arr.n = n;
    v.arr.strs = oc_calloc((size_t)n, sizeof *v.arr.strs);
    for (uint64_t i = 0; i < n; i++) {
        v.arr.strs[i].len = strlen(strs[i]);
        v.arr.strs[i].data = oc_strdup(strs[i]);
    }
    set_owned(w, key, &v);
}

/* ---- tensors ---- */

static int add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                      const void *data, uint64_t nbytes, gguf_tensor_fill_fn fill, void *fill_ctx, oc_error *err) {
    if (!w || !name) return oc_fail(err, "gguf writer: add_tensor: %s is NULL", w ? "name" : "writer");
    wtensor t = {.name = (char *)name, .type = type, .n_dims = n_dims, .data = data, .nbytes = nbytes,
                 .fill = fill, .fill_ctx = fill_ctx};
    if (n_dims > GGUF_MAX_DIMS || (n_dims && !ne))
        return oc_fail(err, "gguf writer: tensor '%.64s': bad shape (n_dims %u)", name, n_dims);
    for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++) t.ne[j] = j < n_dims ? ne[j] : 1;
    uint64_t expect;
    if (gguf_tensor_nbytes(type, n_dims, t.ne, &expect, err)) {
        oc_error_prefix(err, "gguf writer: tensor '%.64s'", name);
        return -1;
    }
    if (expect != nbytes)
        return oc_fail(err, "gguf writer: tensor '%.64s': nbytes %llu does not match its type and shape (%llu)",
                       name, (ull)nbytes, (ull)expect);
    if (nbytes && !data && !fill) return oc_fail(err, "gguf writer: tensor '%.64s': data is NULL", name);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return oc_fail(err, "gguf writer: tensor '%.64s': duplicate name", name);
    if (w->n_tensors == w->cap_tensors) {
        w->cap_tensors = w->cap_tensors ? 2 * w->cap_tensors : 16;
        w->tensors = oc_realloc(w->tensors, w->cap_tensors * sizeof *w->tensors);
    }
    t.name = oc_strdup(name);
    w->tensors[w->n_tensors++] = t;
    return 0;
}

int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const int64_t *ne, const void *data, uint64_t nbytes, oc_error *err) {
    return add_tensor(w, name, type, n_dims, ne, data, nbytes, NULL, NULL, err);
}

int gguf_writer_add_tensor_fill(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                const int64_t *ne, uint64_t nbytes, gguf_tensor_fill_fn fill, void *ctx,
                                oc_error *err) {
    if (!fill) return oc_fail(err, "gguf writer: tensor '%.64s': no fill function", name ? name : "");
    return add_tensor(w, name, type, n_dims, ne, NULL, nbytes, fill, ctx, err);
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free_value(&w->kv[i].value);
    }
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->kv);
    free(w->tensors);
    free(w);
}

/* ---- output sink: memory, or a file through a staging buffer; the first
 * error sticks and later writes are no-ops ---- */

typedef struct sink {
    int fd; /* -1: into mem */
    oc_buf mem;
    uint8_t *buf;
    size_t len;
    uint64_t pos;
    const char *path;
    oc_error *err;
    bool failed;
} sink;

static void write_all(sink *s, const uint8_t *p, size_t n) {
    while (n > 0 && !s->failed) {
        ssize_t r = write(s->fd, p, n < MAX_WRITE ? n : MAX_WRITE);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            oc_fail(s->err, "gguf writer: write %s: %s", s->path, r < 0 ? strerror(errno) : "short write");
            s->failed = true;
            return;
        }
        p += r;
        n -= (size_t)r;
    }
}

static void sink_flush(sink *s) {
    if (s->fd >= 0 && s->len) write_all(s, s->buf, s->len);
    s->len = 0;
}

static void put(sink *s, const void *data, uint64_t n) {
    if (s->failed || n == 0) return;
    s->pos += n;
    if (s->fd < 0) {
        oc_buf_append(&s->mem, data, (size_t)n);
    } else if (s->len + n <= SINK_BUF) {
        memcpy(s->buf + s->len, data, (size_t)n);
        s->len += (size_t)n;
    } else {
        sink_flush(s);
        write_all(s, data, (size_t)n);
    }
}

static void put_u32(sink *s, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(s, b, 4);
}

static void put_u64(sink *s, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(s, b, 8);
}

static void put_str(sink *s, const char *data, uint64_t len) {
    put_u64(s, len);
    put(s, data, len);
}

static void pad(sink *s, uint64_t align) {
    static const uint8_t zeros[4096];
    uint64_t n = (align - s->pos % align) % align;
    for (; n > sizeof zeros; n -= sizeof zeros) put(s, zeros, sizeof zeros);
    put(s, zeros, n);
}

/* ---- serialisation ---- */

static void put_scalar(sink *s, const gguf_value *v) {
    size_t n = gguf_type_size(v->type);
    uint64_t bits = v->u64;
    if (v->type == GGUF_TYPE_FLOAT32) {
        float f = (float)v->f64;
        uint32_t b32;
        memcpy(&b32, &f, sizeof f);
        bits = b32;
    }
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(bits >> (8 * i));
    put(s, b, n);
}

static void put_value(sink *s, const gguf_value *v) {
    put_u32(s, (uint32_t)v->type);
    if (v->type == GGUF_TYPE_STRING) {
        put_str(s, v->str.data, v->str.len);
    } else if (v->type == GGUF_TYPE_ARRAY) {
        put_u32(s, (uint32_t)v->arr.type);
        put_u64(s, v->arr.n);
        if (v->arr.type == GGUF_TYPE_STRING)
            for (uint64_t i = 0; i < v->arr.n; i++) put_str(s, v->arr.strs[i].data, v->arr.strs[i].len);
        else
            put(s, v->arr.data, v->arr.n * gguf_type_size(v->arr.type)); /* checked when copied */
    } else {
        put_scalar(s, v);
    }
}

static int writer_alignment(const gguf_writer *w, uint64_t *out, oc_error *err) {
    *out = GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0) continue;
        const gguf_value *v = &w->kv[i].value;
        bool is_signed = v->type == GGUF_TYPE_INT8 || v->type == GGUF_TYPE_INT16 ||
                         v->type == GGUF_TYPE_INT32 || v->type == GGUF_TYPE_INT64;
        uint64_t a = is_signed ? (v->i64 < 0 ? 0 : (uint64_t)v->i64) : v->u64;
        if (!gguf_type_is_int(v->type) || v->type == GGUF_TYPE_BOOL || !gguf_is_pow2(a))
            return oc_fail(err, "gguf writer: general.alignment must be a nonzero power of two");
        *out = a;
    }
    return 0;
}

/* Offsets of each tensor in the data section, each padded to align. */
static uint64_t *tensor_offsets(const gguf_writer *w, uint64_t align, oc_error *err) {
    uint64_t *offs = oc_malloc((w->n_tensors ? w->n_tensors : 1) * sizeof *offs);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        offs[i] = off;
        if (!oc_add_u64(off, w->tensors[i].nbytes, &off) || !gguf_align_up(off, align, &off)) {
            free(offs);
            oc_fail(err, "gguf writer: data section size overflows at tensor '%.64s'", w->tensors[i].name);
            return NULL;
        }
    }
    return offs;
}

static void put_tensor_info(sink *s, const wtensor *t, uint64_t offset) {
    put_str(s, t->name, strlen(t->name));
    put_u32(s, t->n_dims);
    for (uint32_t j = 0; j < t->n_dims; j++) put_u64(s, (uint64_t)t->ne[j]);
    put_u32(s, t->type);
    put_u64(s, offset);
}

static int emit(const gguf_writer *w, sink *s) {
    if (w->failed) return oc_fail(s->err, "%s", w->deferred.msg);
    uint64_t align, *offs;
    if (writer_alignment(w, &align, s->err) || !(offs = tensor_offsets(w, align, s->err))) return -1;
    put(s, "GGUF", 4);
    put_u32(s, 3);
    put_u64(s, w->n_tensors);
    put_u64(s, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(s, w->kv[i].key, strlen(w->kv[i].key));
        put_value(s, &w->kv[i].value);
    }
    for (size_t i = 0; i < w->n_tensors; i++) put_tensor_info(s, &w->tensors[i], offs[i]);
    /* Without tensors there is no data section to align; gguf-py writes
     * vocab-only files that way, so they re-write byte for byte. */
    if (w->n_tensors) pad(s, align);
    for (size_t i = 0; i < w->n_tensors && !s->failed; i++) {
        const wtensor *t = &w->tensors[i];
        if (t->fill) {
            void *buf = oc_malloc(t->nbytes ? t->nbytes : 1);
            if (t->fill(t->fill_ctx, buf, t->nbytes, s->err) != 0) s->failed = true;
            else put(s, buf, t->nbytes);
            free(buf);
        } else {
            put(s, t->data, t->nbytes);
        }
        pad(s, align);
    }
    free(offs);
    sink_flush(s);
    return s->failed ? -1 : 0;
}

int gguf_writer_write_memory(gguf_writer *w, void **out, size_t *out_len, oc_error *err) {
    *out = NULL;
    *out_len = 0;
    if (!w) return oc_fail(err, "gguf writer: writer is NULL");
    sink s = {.fd = -1, .err = err};
    if (emit(w, &s)) {
        oc_buf_free(&s.mem);
        return -1;
    }
    *out = s.mem.data;
    *out_len = s.mem.len;
    return 0;
}

/* Makes the rename durable; failure here loses nothing already written. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? oc_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : oc_strdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

static int finish_file(sink *s, int rc, const char *path) {
    if (rc == 0 && fsync(s->fd) != 0) rc = oc_fail(s->err, "gguf writer: fsync %s: %s", s->path, strerror(errno));
    if (close(s->fd) != 0 && rc == 0) rc = oc_fail(s->err, "gguf writer: close %s: %s", s->path, strerror(errno));
    if (rc == 0 && rename(s->path, path) != 0)
        rc = oc_fail(s->err, "gguf writer: rename %s to %s: %s", s->path, path, strerror(errno));
    if (rc == 0) sync_parent_dir(path);
    else unlink(s->path);
    return rc;
}

int gguf_writer_write_file(gguf_writer *w, const char *path, oc_error *err) {
    if (!w || !path) return oc_fail(err, "gguf writer: %s is NULL", w ? "path" : "writer");
    if (w->failed) return oc_fail(err, "%s", w->deferred.msg);
    static unsigned counter;
    size_t n = strlen(path) + 64;
    char *tmp = oc_malloc(n);
    snprintf(tmp, n, "%s.tmp-%ld-%u", path, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        oc_fail(err, "gguf writer: create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    sink s = {.fd = fd, .buf = oc_malloc(SINK_BUF), .path = tmp, .err = err};
    int rc = finish_file(&s, emit(w, &s), path);
    free(s.buf);
    free(tmp);
    return rc;
}

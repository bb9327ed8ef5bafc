/* gguf reader: parses and validates a GGUF v2/v3 file held in memory (a
 * read-only mmap from gguf_open, or a caller's buffer), indexes keys and
 * tensor names for lookup, and frees it all in gguf_close. */
#include "gguf/gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Smallest possible encodings: a count is refused before anything is
 * allocated for it unless the rest of the file could hold that many. */
#define MIN_KV_BYTES 13     /* key length (8) + value type (4) + a 1-byte value */
#define MIN_TENSOR_BYTES 24 /* name length (8) + n_dims (4) + type (4) + offset (8) */
#define NAME_SHOWN 64       /* characters of a key or tensor name quoted in errors */

typedef unsigned long long ull; /* for printf */

/* oc_fail, with a -1 the compiler can see (it then knows out-parameters of
 * a failed read are never used). */
#define FAIL(...) (oc_fail(__VA_ARGS__), -1)

/* Open-addressing hash of names (owned by the kv / tensor arrays, which
 * never move once allocated) to their index. */
typedef struct name_slot {
    const char *name;
    uint64_t idx;
} name_slot;

typedef struct name_index {
    name_slot *slots;
    uint64_t mask;
} name_index;

/* What gguf_open hands out is the first member of this. */
typedef struct gguf_impl {
    gguf_file f;
    name_index kv_index, tensor_index;
} gguf_impl;

typedef struct parser {
    const uint8_t *base;
    uint64_t size, pos; /* pos <= size always */
    oc_error *err;
} parser;

/* ---- name index ---- */

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static void index_init(name_index *ix, uint64_t n) {
    uint64_t cap = 8;
    while (cap < 2 * n) cap *= 2; /* n is bounded by the file size, so no overflow */
    ix->slots = oc_calloc((size_t)cap, sizeof *ix->slots);
    ix->mask = cap - 1;
}

/* Adds name as entry idx; returns the index of an equal name already
 * there (which is kept), or UINT64_MAX. */
static uint64_t index_insert(name_index *ix, const char *name, uint64_t idx) {
    for (uint64_t h = hash_name(name) & ix->mask;; h = (h + 1) & ix->mask) {
        name_slot *s = &ix->slots[h];
        if (!s->name) {
            s->name = name;
            s->idx = idx;
            return UINT64_MAX;
        }
        if (strcmp(s->name, name) == 0) return s->idx;
    }
}

static const name_slot *index_find(const name_index *ix, const char *name) {
    if (!ix->slots || !name) return NULL;
    for (uint64_t h = hash_name(name) & ix->mask;; h = (h + 1) & ix->mask) {
        const name_slot *s = &ix->slots[h];
        if (!s->name) return NULL;
        if (strcmp(s->name, name) == 0) return s;
    }
}

/* ---- primitive reads, each bounds-checked ---- */

static uint64_t left(const parser *p) { return p->size - p->pos; }

static int rd_bytes(parser *p, uint64_t n, const char *what, const uint8_t **out) {
    if (n > left(p))
        return FAIL(p->err, "truncated: %s at offset %llu needs %llu bytes, file size is %llu", what,
                       (ull)p->pos, (ull)n, (ull)p->size);
    *out = p->base + p->pos;
    p->pos += n;
    return 0;
}

static int rd_u32(parser *p, const char *what, uint32_t *out) {
    const uint8_t *b;
    if (rd_bytes(p, 4, what, &b)) return -1;
    *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static int rd_u64(parser *p, const char *what, uint64_t *out) {
    const uint8_t *b;
    if (rd_bytes(p, 8, what, &b)) return -1;
    *out = 0;
    for (int i = 0; i < 8; i++) *out |= (uint64_t)b[i] << (8 * i);
    return 0;
}

static int rd_str(parser *p, const char *what, gguf_str *out) {
    uint64_t len;
    if (rd_u64(p, what, &len)) return -1;
    if (len > left(p))
        return FAIL(p->err, "%s length %llu exceeds file size (%llu bytes left at offset %llu)", what,
                       (ull)len, (ull)left(p), (ull)p->pos);
    out->data = (const char *)p->base + p->pos;
    out->len = len;
    p->pos += len;
    return 0;
}

/* A key or tensor name, copied with a NUL; an embedded NUL is refused
 * because the copy would silently name something else. */
static int rd_name(parser *p, const char *what, char **out) {
    gguf_str s;
    if (rd_str(p, what, &s)) return -1;
    if (memchr(s.data, 0, (size_t)s.len)) return FAIL(p->err, "%s contains a NUL byte", what);
    *out = oc_strndup(s.data, (size_t)s.len);
    return 0;
}

/* ---- header and metadata ---- */

static int parse_header(parser *p, gguf_file *f, uint64_t *n_tensors, uint64_t *n_kv) {
    const uint8_t *m;
    if (rd_bytes(p, 4, "magic", &m)) return -1;
    if (memcmp(m, "GGUF", 4) != 0)
        return FAIL(p->err, "bad magic %02x %02x %02x %02x (expected \"GGUF\"): not a GGUF file", m[0], m[1],
                       m[2], m[3]);
    if (rd_u32(p, "version", &f->version)) return -1;
    if (f->version == 1)
        return FAIL(p->err, "version 1 is not supported (only v2 and v3): re-convert the model");
    if (f->version == 0x02000000u || f->version == 0x03000000u)
        return FAIL(p->err, "big-endian files are not supported");
    if (f->version != 2 && f->version != 3)
        return FAIL(p->err, "unsupported version %u (only v2 and v3)", f->version);
    return rd_u64(p, "n_tensors", n_tensors) || rd_u64(p, "n_kv", n_kv) ? -1 : 0;
}

static int parse_str_array(parser *p, gguf_value *v) {
    if (v->arr.n > left(p) / 8)
        return FAIL(p->err, "array length %llu (string) exceeds file size (%llu bytes left at offset %llu)",
                       (ull)v->arr.n, (ull)left(p), (ull)p->pos);
    v->arr.strs = oc_calloc((size_t)v->arr.n, sizeof *v->arr.strs);
    for (uint64_t i = 0; i < v->arr.n; i++) {
        if (rd_str(p, "string", &v->arr.strs[i])) {
            oc_error_prefix(p->err, "element %llu", (ull)i);
            return -1;
        }
    }
    return 0;
}

static int parse_array(parser *p, gguf_value *v) {
    uint32_t et;
    if (rd_u32(p, "array element type", &et) || rd_u64(p, "array length", &v->arr.n)) return -1;
    if (et == GGUF_TYPE_ARRAY) return FAIL(p->err, "nested arrays are not supported");
    if (et >= GGUF_TYPE_COUNT) return FAIL(p->err, "invalid array element type %u", et);
    v->arr.type = (enum gguf_type)et;
    if (et == GGUF_TYPE_STRING) return parse_str_array(p, v);
    uint64_t bytes;
    if (!oc_mul_u64(v->arr.n, gguf_type_size(v->arr.type), &bytes) || bytes > left(p))
        return FAIL(p->err, "array length %llu (%s) exceeds file size (%llu bytes left at offset %llu)",
                       (ull)v->arr.n, gguf_type_name(v->arr.type), (ull)left(p), (ull)p->pos);
    const uint8_t *b = p->base + p->pos;
    v->arr.data = b;
    p->pos += bytes;
    for (uint64_t i = 0; et == GGUF_TYPE_BOOL && i < v->arr.n; i++)
        if (b[i] > 1) return FAIL(p->err, "element %llu: bool value %u is not 0 or 1", (ull)i, b[i]);
    return 0;
}

static int parse_value(parser *p, uint32_t type, gguf_value *v) {
    if (type >= GGUF_TYPE_COUNT) return FAIL(p->err, "invalid value type %u", type);
    v->type = (enum gguf_type)type;
    if (type == GGUF_TYPE_STRING) return rd_str(p, "string", &v->str);
    if (type == GGUF_TYPE_ARRAY) return parse_array(p, v);
    const uint8_t *b;
    if (rd_bytes(p, gguf_type_size(v->type), gguf_type_name(v->type), &b)) return -1;
    if (type == GGUF_TYPE_BOOL && *b > 1) return FAIL(p->err, "bool value %u is not 0 or 1", *b);
    gguf_decode_scalar(v->type, b, v);
    return 0;
}

static int parse_kv(parser *p, gguf_impl *g, uint64_t i) {
    gguf_kv *kv = &g->f.kv[i];
    if (rd_name(p, "key", &kv->key)) {
        oc_error_prefix(p->err, "metadata key #%llu", (ull)i);
        return -1;
    }
    uint64_t prev = index_insert(&g->kv_index, kv->key, i);
    uint32_t type;
    if (prev != UINT64_MAX) {
        oc_fail(p->err, "duplicate key (also key #%llu)", (ull)prev);
        goto named;
    }
    if (rd_u32(p, "value type", &type) || parse_value(p, type, &kv->value)) goto named;
    return 0;
named:
    oc_error_prefix(p->err, "metadata key #%llu ('%.*s')", (ull)i, NAME_SHOWN, kv->key);
    return -1;
}

static int parse_kvs(parser *p, gguf_impl *g, uint64_t n_kv) {
    if (n_kv > left(p) / MIN_KV_BYTES)
        return FAIL(p->err, "n_kv %llu is too large for a file of %llu bytes", (ull)n_kv, (ull)p->size);
    g->f.kv = oc_calloc((size_t)n_kv, sizeof *g->f.kv);
    g->f.n_kv = n_kv;
    index_init(&g->kv_index, n_kv);
    for (uint64_t i = 0; i < n_kv; i++)
        if (parse_kv(p, g, i)) return -1;
    return 0;
}

static int read_alignment(parser *p, gguf_file *f) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_value *v = gguf_get(f, "general.alignment");
    if (!v) return 0;
    if (!gguf_type_is_int(v->type) || v->type == GGUF_TYPE_BOOL)
        return FAIL(p->err, "general.alignment has type %s, not an integer", gguf_type_name(v->type));
    int64_t a = gguf_get_int(f, "general.alignment", 0);
    if (a <= 0 || !gguf_is_pow2((uint64_t)a))
        return FAIL(p->err, "general.alignment = %lld is not a nonzero power of two", (long long)a);
    f->alignment = (uint64_t)a;
    return 0;
}

/* ---- tensors ---- */

static int parse_shape(parser *p, gguf_tensor *t) {
    if (rd_u32(p, "n_dims", &t->n_dims)) return -1;
    if (t->n_dims > GGUF_MAX_DIMS) return FAIL(p->err, "n_dims %u exceeds %d", t->n_dims, GGUF_MAX_DIMS);
    for (int j = 0; j < GGUF_MAX_DIMS; j++) t->ne[j] = 1;
    for (uint32_t j = 0; j < t->n_dims; j++) {
        uint64_t d;
        if (rd_u64(p, "ne", &d)) return -1;
        if (d > INT64_MAX) return FAIL(p->err, "ne[%u] = %llu is too large", j, (ull)d);
        t->ne[j] = (int64_t)d;
    }
    return 0;
}

static int parse_tensor_info(parser *p, gguf_impl *g, uint64_t i) {
    gguf_tensor *t = &g->f.tensors[i];
    if (rd_name(p, "name", &t->name)) {
        oc_error_prefix(p->err, "tensor #%llu", (ull)i);
        return -1;
    }
    uint64_t prev = index_insert(&g->tensor_index, t->name, i);
    if (prev != UINT64_MAX) {
        oc_fail(p->err, "duplicate tensor name (also tensor #%llu)", (ull)prev);
        goto named;
    }
    if (parse_shape(p, t) || rd_u32(p, "type", &t->type) || rd_u64(p, "offset", &t->offset) ||
        gguf_tensor_nbytes(t->type, t->n_dims, t->ne, &t->nbytes, p->err))
        goto named;
    if (t->offset % g->f.alignment != 0) {
        oc_fail(p->err, "offset %llu is not a multiple of the alignment %llu", (ull)t->offset,
                (ull)g->f.alignment);
        goto named;
    }
    return 0;
named:
    oc_error_prefix(p->err, "tensor '%.*s'", NAME_SHOWN, t->name);
    return -1;
}

static int parse_tensor_infos(parser *p, gguf_impl *g, uint64_t n) {
    if (n > left(p) / MIN_TENSOR_BYTES)
        return FAIL(p->err, "n_tensors %llu is too large for a file of %llu bytes", (ull)n, (ull)p->size);
    g->f.tensors = oc_calloc((size_t)n, sizeof *g->f.tensors);
    g->f.n_tensors = n;
    index_init(&g->tensor_index, n);
    for (uint64_t i = 0; i < n; i++)
        if (parse_tensor_info(p, g, i)) return -1;
    return 0;
}

/* The data section starts at the first aligned offset after the tensor
 * infos; a file without tensors may end before it. */
static int place_tensors(parser *p, gguf_file *f) {
    if (!gguf_align_up(p->pos, f->alignment, &f->data_offset))
        return FAIL(p->err, "data section offset overflows (alignment %llu)", (ull)f->alignment);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        uint64_t start, end;
        if (!oc_add_u64(f->data_offset, t->offset, &start) || !oc_add_u64(start, t->nbytes, &end) ||
            end > f->size)
            return FAIL(p->err,
                           "tensor '%.*s': data (offset %llu, %llu bytes) extends past end of file "
                           "(size %llu, data section at %llu)",
                           NAME_SHOWN, t->name, (ull)t->offset, (ull)t->nbytes, (ull)f->size,
                           (ull)f->data_offset);
        t->data = f->base + start;
    }
    return 0;
}

/* ---- open / close ---- */

static gguf_file *open_buffer(const uint8_t *base, uint64_t size, bool mapped, oc_error *err) {
    gguf_impl *g = oc_calloc(1, sizeof *g);
    g->f.base = base;
    g->f.size = size;
    g->f.mapped = mapped;
    oc_error local = {{0}};
    parser p = {base, size, 0, &local};
    uint64_t n_tensors, n_kv;
    if (parse_header(&p, &g->f, &n_tensors, &n_kv) || parse_kvs(&p, g, n_kv) || read_alignment(&p, &g->f) ||
        parse_tensor_infos(&p, g, n_tensors) || place_tensors(&p, &g->f)) {
        oc_error_prefix(&local, "gguf");
        if (err) *err = local;
        gguf_close(&g->f);
        return NULL;
    }
    return &g->f;
}

gguf_file *gguf_open_memory(const void *data, size_t size, oc_error *err) {
    return open_buffer(data, size, false, err);
}

gguf_file *gguf_open(const char *path, oc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        oc_fail(err, "gguf: open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0) why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) why = "not a regular file";
    else if (st.st_size == 0) why = "file is empty";
    void *m = why ? MAP_FAILED : mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (!why && m == MAP_FAILED) why = strerror(errno);
    close(fd);
    if (why) {
        oc_fail(err, "gguf: %s: %s", path, why);
        return NULL;
    }
    return open_buffer(m, (uint64_t)st.st_size, true, err);
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    gguf_impl *g = (gguf_impl *)f;
    for (uint64_t i = 0; f->kv && i < f->n_kv; i++) {
        free(f->kv[i].key);
        if (f->kv[i].value.type == GGUF_TYPE_ARRAY) free(f->kv[i].value.arr.strs);
    }
    for (uint64_t i = 0; f->tensors && i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->kv);
    free(f->tensors);
    free(g->kv_index.slots);
    free(g->tensor_index.slots);
    if (f->mapped) munmap((void *)f->base, (size_t)f->size);
    free(g);
}

/* ---- lookup ---- */

const gguf_value *gguf_get(const gguf_file *f, const char *key) {
    if (!f) return NULL;
    const name_slot *s = index_find(&((const gguf_impl *)f)->kv_index, key);
    return s ? &f->kv[s->idx].value : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    if (!f) return NULL;
    const name_slot *s = index_find(&((const gguf_impl *)f)->tensor_index, name);
    return s ? &f->tensors[s->idx] : NULL;
}

/* Unit tests for the gguf module: real files (stories260K, the vocab files),
 * a writer round trip of every value type, byte-identical re-writing, and
 * corrupt inputs (truncations, byte flips, crafted bad fields), which must
 * fail cleanly with an error naming the field. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gguf/gguf.h"
#include "tensor/tensor.h"

static char tmp_dir[64];

/* ---- helpers ---- */

static const char *stories_path(char *buf, size_t n) {
    const char *p = check_shared_path("testdata/models/stories260K.gguf", buf, n);
    return p ? p : "models/stories260K.gguf";
}

/* Parses an exact-size heap copy, so ASan catches any read past the end. */
static gguf_file *open_copy(const void *data, size_t len, oc_error *err) {
    void *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    gguf_file *f = gguf_open_memory(copy, len, err);
    if (!f) free(copy);
    return f;
}

static void close_copy(gguf_file *f) {
    if (!f) return;
    void *copy = (void *)f->base;
    gguf_close(f);
    free(copy);
}

static void expect_fail_at(const oc_buf *b, const char *needle, int line) {
    oc_error err = {{0}};
    gguf_file *f = open_copy(b->data, b->len, &err);
    CHECK_MSG(!f && strncmp(err.msg, "gguf: ", 6) == 0 && strstr(err.msg, needle),
              "line %d: expected an error containing '%s', got '%s'", line, needle, f ? "(success)" : err.msg);
    close_copy(f);
}
#define EXPECT_FAIL(b, needle) expect_fail_at(b, needle, __LINE__)

/* Byte builders for crafted files. */
static void bb_u32(oc_buf *b, uint32_t v) { oc_buf_append(b, &v, 4); }
static void bb_u64(oc_buf *b, uint64_t v) { oc_buf_append(b, &v, 8); }
static void bb_str(oc_buf *b, const char *s) {
    bb_u64(b, strlen(s));
    oc_buf_append(b, s, strlen(s));
}
static void bb_header(oc_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    oc_buf_append(b, "GGUF", 4);
    bb_u32(b, version);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}
static void bb_kv_u32(oc_buf *b, const char *key, uint32_t v) {
    bb_str(b, key);
    bb_u32(b, GGUF_TYPE_UINT32);
    bb_u32(b, v);
}
static void bb_kv_str(oc_buf *b, const char *key, const char *v) {
    bb_str(b, key);
    bb_u32(b, GGUF_TYPE_STRING);
    bb_str(b, v);
}
static void bb_tensor(oc_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                      uint64_t offset) {
    bb_str(b, name);
    bb_u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) bb_u64(b, ne[j]);
    bb_u32(b, type);
    bb_u64(b, offset);
}
static void bb_zeros(oc_buf *b, size_t n) {
    for (size_t i = 0; i < n; i++) oc_buf_append(b, "", 1);
}
static void bb_pad(oc_buf *b, size_t align) { bb_zeros(b, (align - b->len % align) % align); }

/* A file with one kv and one tensor info, then `data` bytes of data. */
static void one_tensor(oc_buf *b, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset,
                       size_t data) {
    oc_buf_clear(b);
    bb_header(b, 3, 1, 1);
    bb_kv_str(b, "general.architecture", "test");
    bb_tensor(b, "w", n_dims, ne, type, offset);
    bb_pad(b, 32);
    bb_zeros(b, data);
}

/* ---- stories260K ---- */

static void test_stories(void) {
    char buf[512];
    oc_error err = {{0}};
    gguf_file *f = gguf_open(stories_path(buf, sizeof buf), &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (!f) return;
    CHECK(f->mapped);
    CHECK_EQ_INT(f->version, 3);
    CHECK_EQ_INT(f->n_kv, 19);
    CHECK_EQ_INT(f->n_tensors, 48);
    CHECK_EQ_INT(f->alignment, 32);
    CHECK_EQ_INT(f->data_offset, 14176);
    char *arch = gguf_get_string(f, "general.architecture");
    CHECK_EQ_STR(arch, "llama");
    free(arch);
    CHECK_EQ_INT(gguf_get_int(f, "llama.context_length", -1), 2048);
    CHECK_EQ_INT(gguf_get_int(f, "llama.embedding_length", -1), 64);
    CHECK_EQ_INT(gguf_get_int(f, "llama.feed_forward_length", -1), 172);
    CHECK_EQ_INT(gguf_get_int(f, "llama.attention.head_count", -1), 8);
    CHECK_EQ_INT(gguf_get_int(f, "llama.attention.head_count_kv", -1), 4);
    CHECK_EQ_INT(gguf_get_int(f, "llama.block_count", -1), 5);
    CHECK_EQ_INT(gguf_get_int(f, "tokenizer.ggml.seperator_token_id", -1), 4294967295LL);
    CHECK_NEAR(gguf_get_float(f, "llama.attention.layer_norm_rms_epsilon", 0), 1e-5, 1e-10);
    CHECK_NEAR(gguf_get_float(f, "llama.context_length", 0), 2048.0, 0);
    CHECK_EQ_INT(gguf_get_int(f, "general.architecture", -7), -7); /* a string is not an int */
    CHECK_EQ_INT(gguf_get_int(f, "no.such.key", -3), -3);
    CHECK(gguf_get(f, "no.such.key") == NULL);
    CHECK(gguf_get_string(f, "llama.block_count") == NULL);

    const gguf_value *tok = gguf_get(f, "tokenizer.ggml.tokens");
    CHECK(tok && tok->type == GGUF_TYPE_ARRAY && tok->arr.type == GGUF_TYPE_STRING);
    if (tok && tok->type == GGUF_TYPE_ARRAY && tok->arr.strs) {
        CHECK_EQ_INT(tok->arr.n, 512);
        CHECK(tok->arr.strs[0].len == 5 && memcmp(tok->arr.strs[0].data, "<unk>", 5) == 0);
        CHECK(tok->arr.strs[3].len == 6 && memcmp(tok->arr.strs[3].data, "<0x00>", 6) == 0);
    }
    const gguf_value *tt = gguf_get(f, "tokenizer.ggml.token_type");
    CHECK(tt && tt->type == GGUF_TYPE_ARRAY && tt->arr.type == GGUF_TYPE_INT32 && tt->arr.n == 512);
    CHECK_EQ_INT(gguf_arr_get_int(tt, 0), 2);
    CHECK_EQ_INT(gguf_arr_get_int(tt, 1), 3);
    CHECK_EQ_INT(gguf_arr_get_int(tt, 3), 6);
    CHECK_EQ_INT(gguf_arr_get_int(tt, 512), 0); /* out of range */
    const gguf_value *sc = gguf_get(f, "tokenizer.ggml.scores");
    CHECK(sc && sc->type == GGUF_TYPE_ARRAY && sc->arr.type == GGUF_TYPE_FLOAT32 && sc->arr.n == 512);

    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(t->type, TENSOR_F32);
        CHECK_EQ_INT(t->n_dims, 2);
        CHECK(t->ne[0] == 64 && t->ne[1] == 512 && t->ne[2] == 1 && t->ne[3] == 1);
        CHECK_EQ_INT(t->nbytes, 64 * 512 * 4);
        CHECK(t->data == f->base + f->data_offset);
    }
    t = gguf_find_tensor(f, "blk.4.ffn_norm.weight");
    CHECK(t && t->n_dims == 1 && t->ne[0] == 64 && (const uint8_t *)t->data + t->nbytes == f->base + f->size);
    CHECK(gguf_find_tensor(f, "blk.5.ffn_norm.weight") == NULL);
    gguf_close(f);
}

static int read_whole(const char *path, uint8_t **out, size_t *len) {
    oc_error err;
    *out = (uint8_t *)oc_read_file(path, len, &err);
    return *out ? 0 : -1;
}

/* A writer holding every kv and tensor of f. */
static gguf_writer *rewriter(const gguf_file *f) {
    oc_error err = {{0}};
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_set_value(w, f->kv[i].key, &f->kv[i].value);
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        rc |= gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, &err);
    }
    CHECK_MSG(rc == 0, "%s", err.msg);
    return w;
}

static bool rewrites_identically(gguf_writer *w, const void *orig, size_t orig_len) {
    oc_error err = {{0}};
    void *out;
    size_t out_len;
    int rc = gguf_writer_write_memory(w, &out, &out_len, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    bool same = rc == 0 && out_len == orig_len && memcmp(out, orig, orig_len) == 0;
    free(out);
    return same;
}

/* Re-writing every kv and tensor must reproduce the file: it was written by
 * llama.cpp's writer, which uses the same layout (kv in order, tensor data
 * in info order, each padded to the alignment). */
static void test_stories_rewrite(void) {
    char buf[512];
    const char *path = stories_path(buf, sizeof buf);
    uint8_t *orig;
    size_t orig_len;
    if (read_whole(path, &orig, &orig_len)) return;
    oc_error err = {{0}};
    gguf_file *f = gguf_open_memory(orig, orig_len, &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (!f) {
        free(orig);
        return;
    }
    gguf_writer *w = rewriter(f);
    CHECK(rewrites_identically(w, orig, orig_len));

    char dst[128];
    snprintf(dst, sizeof dst, "%s/rewrite.gguf", tmp_dir);
    CHECK_MSG(gguf_writer_write_file(w, dst, &err) == 0, "%s", err.msg);
    uint8_t *again;
    size_t again_len;
    CHECK(read_whole(dst, &again, &again_len) == 0 && again_len == orig_len &&
          memcmp(again, orig, orig_len) == 0);
    free(again);
    gguf_writer_free(w);
    gguf_close(f);
    free(orig);
}

/* ---- writer round trip ---- */

static const uint8_t U8S[] = {0, 1, 255};
static const int8_t I8S[] = {-128, 0, 127};
static const uint16_t U16S[] = {0, 65535};
static const int16_t I16S[] = {-32768, 32767};
static const uint32_t U32S[] = {0, 4294967295u, 7};
static const int32_t I32S[] = {INT32_MIN, INT32_MAX};
static const float F32S[] = {1.5f, -0.25f, 3e38f};
static const bool BOOLS[] = {false, true, true};
static const uint64_t U64S[] = {UINT64_MAX, 0, 42};
static const int64_t I64S[] = {INT64_MIN, INT64_MAX};
static const double F64S[] = {1e300, -2.5};

static void set_scalars(gguf_writer *w) {
    gguf_writer_set_value(w, "t.u8", &(gguf_value){.type = GGUF_TYPE_UINT8, .u64 = 200});
    gguf_writer_set_value(w, "t.i8", &(gguf_value){.type = GGUF_TYPE_INT8, .i64 = -5});
    gguf_writer_set_value(w, "t.u16", &(gguf_value){.type = GGUF_TYPE_UINT16, .u64 = 60000});
    gguf_writer_set_value(w, "t.i16", &(gguf_value){.type = GGUF_TYPE_INT16, .i64 = -30000});
    gguf_writer_set_u32(w, "t.u32", 1);
    gguf_writer_set_i32(w, "t.i32", -123456);
    gguf_writer_set_f32(w, "t.f32", 0.1f);
    gguf_writer_set_bool(w, "t.bool", true);
    gguf_writer_set_str(w, "t.str", "hello");
    gguf_writer_set_u64(w, "t.u64", UINT64_MAX);
    gguf_writer_set_value(w, "t.i64", &(gguf_value){.type = GGUF_TYPE_INT64, .i64 = INT64_MIN});
    gguf_writer_set_value(w, "t.f64", &(gguf_value){.type = GGUF_TYPE_FLOAT64, .f64 = -1e-300});
    gguf_writer_set_value(w, "t.nul", &(gguf_value){.type = GGUF_TYPE_STRING, .str = {"a\0b", 3}});
    gguf_writer_set_u32(w, "t.u32", 4000000000u); /* replaces, keeps the position */
}

static void set_arrays(gguf_writer *w) {
    gguf_writer_set_arr(w, "a.u8", GGUF_TYPE_UINT8, U8S, 3);
    gguf_writer_set_arr(w, "a.i8", GGUF_TYPE_INT8, I8S, 3);
    gguf_writer_set_arr(w, "a.u16", GGUF_TYPE_UINT16, U16S, 2);
    gguf_writer_set_arr(w, "a.i16", GGUF_TYPE_INT16, I16S, 2);
    gguf_writer_set_arr(w, "a.u32", GGUF_TYPE_UINT32, U32S, 3);
    gguf_writer_set_arr(w, "a.i32", GGUF_TYPE_INT32, I32S, 2);
    gguf_writer_set_arr(w, "a.f32", GGUF_TYPE_FLOAT32, F32S, 3);
    gguf_writer_set_arr(w, "a.bool", GGUF_TYPE_BOOL, BOOLS, 3);
    gguf_writer_set_arr(w, "a.u64", GGUF_TYPE_UINT64, U64S, 3);
    gguf_writer_set_arr(w, "a.i64", GGUF_TYPE_INT64, I64S, 2);
    gguf_writer_set_arr(w, "a.f64", GGUF_TYPE_FLOAT64, F64S, 2);
    gguf_writer_set_arr(w, "a.empty", GGUF_TYPE_UINT32, NULL, 0);
    const char *strs[] = {"a", "", "\xc3\xbcn\xc3\xaf"};
    gguf_writer_set_arr_str(w, "a.str", strs, 3);
}

static void check_scalars(const gguf_file *f) {
    static const char *order[] = {"t.u8", "t.i8", "t.u16", "t.i16", "t.u32", "t.i32", "t.f32",
                                  "t.bool", "t.str", "t.u64", "t.i64", "t.f64", "t.nul", "a.u8"};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        CHECK(f->kv && i < f->n_kv && strcmp(f->kv[i].key, order[i]) == 0);
    CHECK_EQ_INT(gguf_get_int(f, "t.u8", 0), 200);
    CHECK_EQ_INT(gguf_get_int(f, "t.i8", 0), -5);
    CHECK_EQ_INT(gguf_get_int(f, "t.u16", 0), 60000);
    CHECK_EQ_INT(gguf_get_int(f, "t.i16", 0), -30000);
    CHECK_EQ_INT(gguf_get_int(f, "t.u32", 0), 4000000000LL);
    CHECK_EQ_INT(gguf_get_int(f, "t.i32", 0), -123456);
    CHECK_NEAR(gguf_get_float(f, "t.f32", 0), 0.1f, 0);
    CHECK(gguf_get_bool(f, "t.bool", false));
    CHECK_EQ_INT(gguf_get_int(f, "t.bool", 0), 1);
    char *s = gguf_get_string(f, "t.str");
    CHECK_EQ_STR(s, "hello");
    free(s);
    const gguf_value *v = gguf_get(f, "t.u64");
    CHECK(v && v->type == GGUF_TYPE_UINT64 && v->u64 == UINT64_MAX);
    CHECK_EQ_INT(gguf_get_int(f, "t.u64", -9), -9); /* does not fit int64 */
    CHECK_EQ_INT(gguf_get_int(f, "t.i64", 0), INT64_MIN);
    CHECK_NEAR(gguf_get_float(f, "t.f64", 0), -1e-300, 0);
    CHECK_NEAR(gguf_get_float(f, "t.i16", 0), -30000, 0);
    CHECK_EQ_INT(gguf_get_int(f, "t.f64", 11), 11); /* a float is not an int */
    CHECK(gguf_get_bool(f, "t.str", true));
    v = gguf_get(f, "t.nul");
    CHECK(v && v->type == GGUF_TYPE_STRING && v->str.len == 3 && memcmp(v->str.data, "a\0b", 3) == 0);
    CHECK_EQ_STR(gguf_type_name(GGUF_TYPE_FLOAT64), "float64");
    CHECK_EQ_STR(gguf_type_name((enum gguf_type)99), "unknown");
}

static const gguf_value *arr(const gguf_file *f, const char *key, enum gguf_type et, uint64_t n) {
    const gguf_value *v = gguf_get(f, key);
    bool ok = v && v->type == GGUF_TYPE_ARRAY && v->arr.type == et && v->arr.n == n;
    CHECK_MSG(ok, "array %s", key);
    return ok ? v : NULL;
}

static void check_arrays(const gguf_file *f) {
    const gguf_value *v;
    if ((v = arr(f, "a.u8", GGUF_TYPE_UINT8, 3)))
        for (int i = 0; i < 3; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), U8S[i]);
    if ((v = arr(f, "a.i8", GGUF_TYPE_INT8, 3)))
        for (int i = 0; i < 3; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), I8S[i]);
    if ((v = arr(f, "a.u16", GGUF_TYPE_UINT16, 2)))
        for (int i = 0; i < 2; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), U16S[i]);
    if ((v = arr(f, "a.i16", GGUF_TYPE_INT16, 2)))
        for (int i = 0; i < 2; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), I16S[i]);
    if ((v = arr(f, "a.u32", GGUF_TYPE_UINT32, 3)))
        for (int i = 0; i < 3; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), U32S[i]);
    if ((v = arr(f, "a.i32", GGUF_TYPE_INT32, 2)))
        for (int i = 0; i < 2; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), I32S[i]);
    if ((v = arr(f, "a.f32", GGUF_TYPE_FLOAT32, 3))) {
        for (int i = 0; i < 3; i++) CHECK_NEAR(gguf_arr_get_float(v, i), F32S[i], 0);
        CHECK_EQ_INT(gguf_arr_get_int(v, 0), 0); /* floats are not ints */
    }
    if ((v = arr(f, "a.bool", GGUF_TYPE_BOOL, 3)))
        for (int i = 0; i < 3; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), BOOLS[i]);
    if ((v = arr(f, "a.u64", GGUF_TYPE_UINT64, 3))) {
        uint64_t raw;
        memcpy(&raw, v->arr.data, 8);
        CHECK(raw == UINT64_MAX);
        CHECK_EQ_INT(gguf_arr_get_int(v, 2), 42);
        CHECK_NEAR(gguf_arr_get_float(v, 0), 18446744073709551615.0, 0);
    }
    if ((v = arr(f, "a.i64", GGUF_TYPE_INT64, 2)))
        for (int i = 0; i < 2; i++) CHECK_EQ_INT(gguf_arr_get_int(v, i), I64S[i]);
    if ((v = arr(f, "a.f64", GGUF_TYPE_FLOAT64, 2)))
        for (int i = 0; i < 2; i++) CHECK_NEAR(gguf_arr_get_float(v, i), F64S[i], 0);
    arr(f, "a.empty", GGUF_TYPE_UINT32, 0);
    if ((v = arr(f, "a.str", GGUF_TYPE_STRING, 3)) && v->arr.strs) {
        CHECK(v->arr.strs[0].len == 1 && v->arr.strs[0].data[0] == 'a');
        CHECK(v->arr.strs[1].len == 0);
        CHECK(v->arr.strs[2].len == 5 && memcmp(v->arr.strs[2].data, "\xc3\xbcn\xc3\xaf", 5) == 0);
        CHECK_NEAR(gguf_arr_get_float(v, 0), 0, 0); /* not numeric */
    }
}

static uint8_t Q8_DATA[2 * 34], F32_DATA[6 * 4], F16_DATA[5 * 2], I8_DATA[2 * 3 * 1 * 2];

static void add_tensors(gguf_writer *w, oc_error *err) {
    for (size_t i = 0; i < sizeof Q8_DATA; i++) Q8_DATA[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof F32_DATA; i++) F32_DATA[i] = (uint8_t)(i + 100);
    for (size_t i = 0; i < sizeof F16_DATA; i++) F16_DATA[i] = (uint8_t)(i ^ 0x55);
    for (size_t i = 0; i < sizeof I8_DATA; i++) I8_DATA[i] = (uint8_t)(200 - i);
    int rc = gguf_writer_add_tensor(w, "f32", TENSOR_F32, 2, (int64_t[]){3, 2}, F32_DATA, sizeof F32_DATA, err);
    rc |= gguf_writer_add_tensor(w, "q8", TENSOR_Q8_0, 2, (int64_t[]){32, 2}, Q8_DATA, sizeof Q8_DATA, err);
    rc |= gguf_writer_add_tensor(w, "f16", TENSOR_F16, 1, (int64_t[]){5}, F16_DATA, sizeof F16_DATA, err);
    rc |= gguf_writer_add_tensor(w, "i8.4d", TENSOR_I8, 4, (int64_t[]){2, 3, 1, 2}, I8_DATA, sizeof I8_DATA, err);
    rc |= gguf_writer_add_tensor(w, "empty", TENSOR_F32, 2, (int64_t[]){4, 0}, NULL, 0, err);
    rc |= gguf_writer_add_tensor(w, "scalar", TENSOR_F32, 0, NULL, F32_DATA, 4, err);
    CHECK_MSG(rc == 0, "%s", err->msg);
}

static void check_tensor(const gguf_file *f, const char *name, uint32_t type, uint32_t n_dims, const void *data,
                         uint64_t nbytes) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    CHECK_MSG(t && t->type == type && t->n_dims == n_dims && t->nbytes == nbytes &&
                  (nbytes == 0 || memcmp(t->data, data, nbytes) == 0) && t->offset % f->alignment == 0,
              "tensor %s", name);
}

static void check_tensors(const gguf_file *f) {
    CHECK_EQ_INT(f->n_tensors, 6);
    check_tensor(f, "f32", TENSOR_F32, 2, F32_DATA, sizeof F32_DATA);
    check_tensor(f, "q8", TENSOR_Q8_0, 2, Q8_DATA, sizeof Q8_DATA);
    check_tensor(f, "f16", TENSOR_F16, 1, F16_DATA, sizeof F16_DATA);
    check_tensor(f, "i8.4d", TENSOR_I8, 4, I8_DATA, sizeof I8_DATA);
    check_tensor(f, "empty", TENSOR_F32, 2, NULL, 0);
    check_tensor(f, "scalar", TENSOR_F32, 0, F32_DATA, 4);
    const gguf_tensor *t = gguf_find_tensor(f, "i8.4d");
    CHECK(t && t->ne[0] == 2 && t->ne[1] == 3 && t->ne[2] == 1 && t->ne[3] == 2);
    t = gguf_find_tensor(f, "scalar");
    CHECK(t && t->ne[0] == 1 && t->ne[1] == 1);
    CHECK(f->data_offset % f->alignment == 0);
}

static void test_writer_roundtrip(void) {
    oc_error err = {{0}};
    gguf_writer *w = gguf_writer_new();
    set_scalars(w);
    set_arrays(w);
    add_tensors(w, &err);
    void *out;
    size_t len;
    CHECK_MSG(gguf_writer_write_memory(w, &out, &len, &err) == 0, "%s", err.msg);
    gguf_file *f = out ? open_copy(out, len, &err) : NULL;
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (f) {
        CHECK_EQ_INT(f->n_kv, 13 + 13);
        CHECK_EQ_INT(f->alignment, 32);
        check_scalars(f);
        check_arrays(f);
        check_tensors(f);
    }
    close_copy(f);
    free(out);

    /* A custom alignment moves the data section and every tensor. */
    gguf_writer_set_u32(w, "general.alignment", 256);
    CHECK_MSG(gguf_writer_write_memory(w, &out, &len, &err) == 0, "%s", err.msg);
    f = out ? open_copy(out, len, &err) : NULL;
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (f) {
        CHECK_EQ_INT(f->alignment, 256);
        check_tensors(f);
    }
    close_copy(f);
    free(out);
    gguf_writer_free(w);
}

static void test_writer_errors(void) {
    oc_error err = {{0}};
    gguf_writer *w = gguf_writer_new();
    uint8_t data[64] = {0};
    CHECK(gguf_writer_add_tensor(w, "a", TENSOR_F32, 1, (int64_t[]){4}, data, 12, &err) != 0 &&
          strstr(err.msg, "nbytes 12"));
    CHECK(gguf_writer_add_tensor(w, "b", TENSOR_Q8_0, 1, (int64_t[]){33}, data, 34, &err) != 0 &&
          strstr(err.msg, "block size"));
    CHECK(gguf_writer_add_tensor(w, "c", 4, 1, (int64_t[]){4}, data, 16, &err) != 0 &&
          strstr(err.msg, "unknown tensor type"));
    CHECK(gguf_writer_add_tensor(w, "d", TENSOR_F32, 5, (int64_t[]){1, 1, 1, 1, 1}, data, 4, &err) != 0);
    CHECK(gguf_writer_add_tensor(w, "e", TENSOR_F32, 1, (int64_t[]){4}, data, 16, &err) == 0);
    CHECK(gguf_writer_add_tensor(w, "e", TENSOR_F32, 1, (int64_t[]){4}, data, 16, &err) != 0 &&
          strstr(err.msg, "duplicate"));

    void *out;
    size_t len;
    gguf_writer_set_u32(w, "general.alignment", 3);
    CHECK(gguf_writer_write_memory(w, &out, &len, &err) != 0 && strstr(err.msg, "general.alignment") && !out);
    char path[128];
    snprintf(path, sizeof path, "%s/align3.gguf", tmp_dir);
    CHECK(gguf_writer_write_file(w, path, &err) != 0 && strstr(err.msg, "general.alignment"));
    CHECK(access(path, F_OK) != 0); /* and its temp file is gone: test_no_temp_left */
    gguf_writer_set_u32(w, "general.alignment", 0);
    CHECK(gguf_writer_write_memory(w, &out, &len, &err) != 0 && strstr(err.msg, "general.alignment"));
    gguf_writer_set_u32(w, "general.alignment", 64);
    CHECK(gguf_writer_write_memory(w, &out, &len, &err) == 0);
    free(out);

    snprintf(path, sizeof path, "%s/no/such/dir/x.gguf", tmp_dir);
    CHECK(gguf_writer_write_file(w, path, &err) != 0 && strstr(err.msg, "create"));

    /* A setter's error is kept and fails the write before any file is made. */
    gguf_writer_set_arr(w, "nested", GGUF_TYPE_ARRAY, data, 1);
    CHECK(gguf_writer_write_memory(w, &out, &len, &err) != 0 && strstr(err.msg, "nested"));
    snprintf(path, sizeof path, "%s/bad.gguf", tmp_dir);
    CHECK(gguf_writer_write_file(w, path, &err) != 0 && strstr(err.msg, "'nested'"));
    CHECK(access(path, F_OK) != 0);
    gguf_writer_free(w);
}

/* Tensors filled while the file is written: their bytes land in place
 * (between ordinary tensors, aligned); a fill that fails fails the write
 * and leaves no file. */
static int fill_ramp(void *ctx, void *out, uint64_t nbytes, oc_error *err) {
    (void)err;
    float *f = out;
    for (uint64_t i = 0; i < nbytes / 4; i++) f[i] = (float)i * *(const float *)ctx;
    return 0;
}
static int fill_fails(void *ctx, void *out, uint64_t nbytes, oc_error *err) {
    (void)ctx, (void)out, (void)nbytes;
    return oc_fail(err, "conversion failed");
}

static void test_writer_fill(void) {
    oc_error err = {{0}};
    gguf_writer *w = gguf_writer_new();
    static const uint8_t plain[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    float k1 = 1.0f, k2 = -2.0f;
    CHECK(gguf_writer_add_tensor(w, "a", TENSOR_I8, 1, (int64_t[]){12}, plain, 12, &err) == 0);
    CHECK(gguf_writer_add_tensor_fill(w, "b", TENSOR_F32, 2, (int64_t[]){5, 3}, 60, fill_ramp, &k1, &err) == 0);
    CHECK(gguf_writer_add_tensor_fill(w, "c", TENSOR_F32, 1, (int64_t[]){7}, 28, fill_ramp, &k2, &err) == 0);
    CHECK(gguf_writer_add_tensor_fill(w, "d", TENSOR_F32, 1, (int64_t[]){7}, 12, fill_ramp, &k2, &err) != 0 &&
          strstr(err.msg, "nbytes 12"));
    CHECK(gguf_writer_add_tensor_fill(w, "e", TENSOR_F32, 1, (int64_t[]){4}, 16, NULL, NULL, &err) != 0);
    char path[128];
    snprintf(path, sizeof path, "%s/filled.gguf", tmp_dir);
    CHECK_MSG(gguf_writer_write_file(w, path, &err) == 0, "%s", err.msg);
    gguf_file *f = gguf_open(path, &err);
    CHECK_MSG(f && f->n_tensors == 3, "%s", err.msg);
    if (f && f->n_tensors == 3) {
        const float *b = f->tensors[1].data, *c = f->tensors[2].data;
        CHECK(memcmp(f->tensors[0].data, plain, 12) == 0);
        CHECK(b[0] == 0.0f && b[14] == 14.0f && c[6] == -12.0f);
        CHECK(f->tensors[1].offset % f->alignment == 0 && f->tensors[2].offset % f->alignment == 0);
    }
    gguf_close(f);
    unlink(path);
    CHECK(gguf_writer_add_tensor_fill(w, "x", TENSOR_F32, 1, (int64_t[]){4}, 16, fill_fails, NULL, &err) == 0);
    snprintf(path, sizeof path, "%s/fill-fails.gguf", tmp_dir);
    CHECK(gguf_writer_write_file(w, path, &err) != 0 && strcmp(err.msg, "conversion failed") == 0);
    CHECK(access(path, F_OK) != 0); /* nor its temp file: test_no_temp_left */
    gguf_writer_free(w);
}

/* No temp file may be left beside the outputs. */
static void test_no_temp_left(void) {
    DIR *d = opendir(tmp_dir);
    int temps = 0;
    for (struct dirent *e; d && (e = readdir(d));) temps += strstr(e->d_name, ".tmp-") != NULL;
    if (d) closedir(d);
    CHECK_EQ_INT(temps, 0);
}

/* ---- corrupt files ---- */

/* A small file whose last tensor ends the file, so every truncation must fail. */
static void small_file(void **out, size_t *len) {
    oc_error err = {{0}};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "llama.context_length", 128);
    const char *toks[] = {"<unk>", "hello", "world"};
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, F32S, 3);
    gguf_writer_set_bool(w, "b", true);
    static uint8_t data[68];
    gguf_writer_add_tensor(w, "q8", TENSOR_Q8_0, 1, (int64_t[]){64}, data, 68, &err);
    gguf_writer_add_tensor(w, "last", TENSOR_F32, 1, (int64_t[]){8}, data, 32, &err);
    CHECK(gguf_writer_write_memory(w, out, len, &err) == 0);
    gguf_writer_free(w);
}

static void test_truncation(void) {
    void *file;
    size_t len;
    small_file(&file, &len);
    if (!file) return;
    gguf_file *f = open_copy(file, len, NULL);
    CHECK(f != NULL);
    close_copy(f);
    int clean = 0;
    for (size_t n = 0; n < len; n++) {
        oc_error err = {{0}};
        f = open_copy(file, n, &err);
        clean += !f && strncmp(err.msg, "gguf: ", 6) == 0;
        close_copy(f);
    }
    CHECK_EQ_INT(clean, len);
    free(file);
}

/* Every byte of the header, kv and tensor-info region, flipped in a few
 * ways: a file may still parse, but must never crash or leak. */
static void test_byte_flips(void) {
    void *file;
    size_t len;
    small_file(&file, &len);
    if (!file) return;
    gguf_file *f = open_copy(file, len, NULL);
    uint64_t meta = f ? f->data_offset : 0;
    close_copy(f);
    static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x10};
    int failed_cleanly = 0, failed = 0;
    for (uint64_t i = 0; i < meta; i++) {
        for (size_t k = 0; k < sizeof flips; k++) {
            ((uint8_t *)file)[i] ^= flips[k];
            oc_error err = {{0}};
            f = open_copy(file, len, &err);
            if (!f) failed++, failed_cleanly += strncmp(err.msg, "gguf: ", 6) == 0;
            close_copy(f);
            ((uint8_t *)file)[i] ^= flips[k];
        }
    }
    CHECK(failed > 0);
    CHECK_EQ_INT(failed_cleanly, failed);
    free(file);
}

static void test_bad_header(oc_buf *b) {
    oc_buf_clear(b);
    bb_header(b, 3, 0, 0);
    memcpy(b->data, "GGUX", 4);
    EXPECT_FAIL(b, "magic");
    oc_buf_clear(b);
    bb_header(b, 1, 0, 0);
    EXPECT_FAIL(b, "version 1");
    oc_buf_clear(b);
    bb_header(b, 4, 0, 0);
    EXPECT_FAIL(b, "unsupported version 4");
    oc_buf_clear(b);
    bb_header(b, 0x03000000u, 0, 0);
    EXPECT_FAIL(b, "big-endian");
    oc_buf_clear(b);
    bb_header(b, 3, 0, (uint64_t)1 << 60);
    EXPECT_FAIL(b, "n_kv 1152921504606846976");
    oc_buf_clear(b);
    bb_header(b, 3, (uint64_t)1 << 60, 0);
    EXPECT_FAIL(b, "n_tensors");
    oc_buf_clear(b);
    bb_header(b, 3, 0, 0);
    b->len -= 1;
    EXPECT_FAIL(b, "n_kv");
    oc_buf_clear(b);
    EXPECT_FAIL(b, "magic");

    /* v2 has the same layout and opens. */
    oc_buf_clear(b);
    bb_header(b, 2, 0, 1);
    bb_kv_u32(b, "x", 5);
    gguf_file *f = open_copy(b->data, b->len, NULL);
    CHECK(f && f->version == 2 && gguf_get_int(f, "x", 0) == 5);
    close_copy(f);
}

static void test_bad_kv(oc_buf *b) {
    oc_buf_clear(b);
    bb_header(b, 3, 0, 2);
    bb_kv_u32(b, "a", 1);
    bb_str(b, "tokenizer.ggml.tokens");
    bb_u32(b, GGUF_TYPE_STRING);
    bb_u64(b, 9999999);
    bb_zeros(b, 16);
    EXPECT_FAIL(b, "metadata key #1 ('tokenizer.ggml.tokens'): string length 9999999 exceeds file size");

    oc_buf_clear(b);
    bb_header(b, 3, 0, 1);
    bb_u64(b, (uint64_t)1 << 62);
    bb_zeros(b, 16);
    EXPECT_FAIL(b, "metadata key #0: key length");

    oc_buf_clear(b);
    bb_header(b, 3, 0, 1);
    bb_u64(b, 3);
    oc_buf_append(b, "a\0b", 3);
    bb_u32(b, GGUF_TYPE_UINT8);
    bb_zeros(b, 1);
    EXPECT_FAIL(b, "NUL");

    struct {
        uint32_t type, elem;
        uint64_t n;
        const char *needle;
    } cases[] = {
        {13, 0, 0, "invalid value type 13"},
        {GGUF_TYPE_ARRAY, GGUF_TYPE_ARRAY, 1, "nested arrays"},
        {GGUF_TYPE_ARRAY, 77, 1, "invalid array element type 77"},
        {GGUF_TYPE_ARRAY, GGUF_TYPE_UINT32, (uint64_t)1 << 62, "array length 4611686018427387904 (uint32)"},
        {GGUF_TYPE_ARRAY, GGUF_TYPE_UINT64, UINT64_MAX / 4, "array length"},
        {GGUF_TYPE_ARRAY, GGUF_TYPE_STRING, (uint64_t)1 << 61, "array length 2305843009213693952 (string)"},
        {GGUF_TYPE_ARRAY, GGUF_TYPE_STRING, 3, "element 1: string length"},
        {GGUF_TYPE_ARRAY, GGUF_TYPE_BOOL, 2, "element 1: bool value 2"},
        {GGUF_TYPE_BOOL, 2, 0, "bool value 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        oc_buf_clear(b);
        bb_header(b, 3, 0, 1);
        bb_str(b, "k");
        bb_u32(b, cases[i].type);
        if (cases[i].type == GGUF_TYPE_BOOL) {
            uint8_t v = (uint8_t)cases[i].elem;
            oc_buf_append(b, &v, 1);
        } else {
            bb_u32(b, cases[i].elem);
            bb_u64(b, cases[i].n);
            bb_str(b, "");       /* a first element: an empty string ... */
            bb_u64(b, 1u << 20); /* ... then a length past the end */
            if (cases[i].elem == GGUF_TYPE_BOOL) memcpy(b->data + b->len - 16, "\x01\x02", 2);
            bb_zeros(b, 16); /* room for the string count check */
        }
        EXPECT_FAIL(b, cases[i].needle);
    }

    oc_buf_clear(b);
    bb_header(b, 3, 0, 3);
    bb_kv_u32(b, "a", 1);
    bb_kv_str(b, "b", "x");
    bb_kv_u32(b, "a", 2);
    EXPECT_FAIL(b, "metadata key #2 ('a'): duplicate key (also key #0)");
}

static void test_bad_alignment(oc_buf *b) {
    const uint32_t bad[] = {0, 3, 48};
    for (size_t i = 0; i < 3; i++) {
        oc_buf_clear(b);
        bb_header(b, 3, 0, 1);
        bb_kv_u32(b, "general.alignment", bad[i]);
        EXPECT_FAIL(b, "general.alignment");
    }
    oc_buf_clear(b);
    bb_header(b, 3, 0, 1);
    bb_kv_str(b, "general.alignment", "32");
    EXPECT_FAIL(b, "general.alignment has type string");

    /* alignment 16: a tensor at offset 16 is fine, at 8 it is not */
    for (int off = 8; off <= 16; off += 8) {
        oc_buf_clear(b);
        bb_header(b, 3, 1, 1);
        bb_kv_u32(b, "general.alignment", 16);
        bb_tensor(b, "w", 1, (uint64_t[]){4}, TENSOR_F32, (uint64_t)off);
        bb_pad(b, 16);
        bb_zeros(b, 32);
        if (off == 8) {
            EXPECT_FAIL(b, "tensor 'w': offset 8 is not a multiple of the alignment 16");
        } else {
            gguf_file *f = open_copy(b->data, b->len, NULL);
            CHECK(f && f->alignment == 16 && f->tensors[0].offset == 16);
            close_copy(f);
        }
    }
}

static void test_bad_tensors(oc_buf *b) {
    one_tensor(b, 1, (uint64_t[]){4}, TENSOR_F32, 1, 64);
    EXPECT_FAIL(b, "tensor 'w': offset 1 is not a multiple of the alignment 32");
    one_tensor(b, 5, (uint64_t[]){1, 1, 1, 1, 1}, TENSOR_F32, 0, 64);
    EXPECT_FAIL(b, "tensor 'w': n_dims 5 exceeds 4");
    one_tensor(b, 1, (uint64_t[]){4}, 4, 0, 64);
    EXPECT_FAIL(b, "tensor 'w': unknown tensor type 4");
    one_tensor(b, 1, (uint64_t[]){4}, 1000, 0, 64);
    EXPECT_FAIL(b, "unknown tensor type 1000");
    one_tensor(b, 1, (uint64_t[]){33}, TENSOR_Q8_0, 0, 64);
    EXPECT_FAIL(b, "ne[0] = 33 is not a multiple of the Q8_0 block size");
    one_tensor(b, 2, (uint64_t[]){(uint64_t)1 << 40, (uint64_t)1 << 40}, TENSOR_F32, 0, 64);
    EXPECT_FAIL(b, "overflow");
    one_tensor(b, 4, (uint64_t[]){1 << 20, 1 << 20, 1 << 20, 1 << 20}, TENSOR_I8, 0, 64);
    EXPECT_FAIL(b, "overflow");
    one_tensor(b, 1, (uint64_t[]){(uint64_t)1 << 63}, TENSOR_F32, 0, 64);
    EXPECT_FAIL(b, "ne[0] = 9223372036854775808 is too large");
    one_tensor(b, 2, (uint64_t[]){(uint64_t)1 << 47, 1 << 15}, TENSOR_F64, 0, 64);
    EXPECT_FAIL(b, "byte size overflows");
    one_tensor(b, 1, (uint64_t[]){(uint64_t)1 << 50}, TENSOR_F32, 0, 64);
    EXPECT_FAIL(b, "too large");
    one_tensor(b, 2, (uint64_t[]){16, 1}, TENSOR_F32, 0, 63);
    EXPECT_FAIL(b, "tensor 'w': data (offset 0, 64 bytes) extends past end of file");
    one_tensor(b, 1, (uint64_t[]){16}, TENSOR_F32, UINT64_MAX - 31, 64);
    EXPECT_FAIL(b, "extends past end of file");
    one_tensor(b, 1, (uint64_t[]){16}, TENSOR_F32, 32, 64);
    EXPECT_FAIL(b, "data (offset 32, 64 bytes) extends past end of file");

    /* Zero-sized dims and zero dims are allowed. */
    one_tensor(b, 2, (uint64_t[]){4, 0}, TENSOR_F32, 0, 0);
    gguf_file *f = open_copy(b->data, b->len, NULL);
    CHECK(f && f->tensors[0].nbytes == 0);
    close_copy(f);
    one_tensor(b, 0, NULL, TENSOR_F32, 0, 4);
    f = open_copy(b->data, b->len, NULL);
    CHECK(f && f->tensors[0].nbytes == 4 && f->tensors[0].ne[0] == 1);
    close_copy(f);

    oc_buf_clear(b);
    bb_header(b, 3, 2, 0);
    bb_tensor(b, "w", 1, (uint64_t[]){8}, TENSOR_F32, 0);
    bb_tensor(b, "w", 1, (uint64_t[]){8}, TENSOR_F32, 32);
    bb_pad(b, 32);
    bb_zeros(b, 64);
    EXPECT_FAIL(b, "tensor 'w': duplicate tensor name (also tensor #0)");

    oc_buf_clear(b);
    bb_header(b, 3, 1, 0);
    bb_str(b, "w");
    bb_u32(b, 2);
    bb_u64(b, 4);
    bb_zeros(b, 3); /* enough bytes for the n_tensors check, not for ne[1] */
    EXPECT_FAIL(b, "tensor 'w': truncated: ne at offset");
}

static void test_corrupt(void) {
    oc_buf b = {0};
    test_bad_header(&b);
    test_bad_kv(&b);
    test_bad_alignment(&b);
    test_bad_tensors(&b);
    oc_buf_free(&b);
}

/* ---- files on disk ---- */

static void test_open_errors(void) {
    oc_error err = {{0}};
    char path[128];
    snprintf(path, sizeof path, "%s/missing.gguf", tmp_dir);
    CHECK(gguf_open(path, &err) == NULL && strstr(err.msg, "open") && strstr(err.msg, "missing.gguf"));
    CHECK(gguf_open(tmp_dir, &err) == NULL && strstr(err.msg, "not a regular file"));
    snprintf(path, sizeof path, "%s/empty.gguf", tmp_dir);
    CHECK(oc_write_file_atomic(path, "", 0, &err) == 0);
    CHECK(gguf_open(path, &err) == NULL && strstr(err.msg, "empty"));
    CHECK(gguf_open(path, NULL) == NULL);
    unlink(path);

    void *file;
    size_t len;
    small_file(&file, &len);
    snprintf(path, sizeof path, "%s/small.gguf", tmp_dir);
    CHECK(oc_write_file_atomic(path, file, len - 1, &err) == 0);
    CHECK(gguf_open(path, &err) == NULL && strstr(err.msg, "tensor 'last'"));
    CHECK(oc_write_file_atomic(path, file, len, &err) == 0);
    gguf_file *f = gguf_open(path, &err);
    CHECK(f && f->mapped && f->n_tensors == 2);
    gguf_close(f);
    unlink(path);
    free(file);
}

static void test_vocab_files(void) {
    char dir[512];
    if (!check_shared_path("testdata/vocab", dir, sizeof dir)) return;
    DIR *d = opendir(dir);
    int opened = 0, total = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".gguf") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        oc_error err = {{0}};
        gguf_file *f = gguf_open(path, &err);
        const gguf_value *tok = f ? gguf_get(f, "tokenizer.ggml.tokens") : NULL;
        bool ok = tok && tok->type == GGUF_TYPE_ARRAY && tok->arr.type == GGUF_TYPE_STRING && tok->arr.n > 0;
        CHECK_MSG(ok, "%s: %s", e->d_name, f ? "no tokenizer.ggml.tokens" : err.msg);
        if (f) {
            gguf_writer *w = rewriter(f);
            CHECK_MSG(rewrites_identically(w, f->base, f->size), "%s: re-written bytes differ", e->d_name);
            gguf_writer_free(w);
        }
        opened += ok;
        total++;
        gguf_close(f);
    }
    if (d) closedir(d);
    CHECK(opened == total);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_gguf.XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_stories();
    test_stories_rewrite();
    test_writer_roundtrip();
    test_writer_errors();
    test_writer_fill();
    test_truncation();
    test_byte_flips();
    test_corrupt();
    test_open_errors();
    test_vocab_files();
    test_no_temp_left();
    char path[128];
    snprintf(path, sizeof path, "%s/rewrite.gguf", tmp_dir);
    unlink(path);
    rmdir(tmp_dir);
    return check_done();
}

/* libFuzzer target for the gguf reader: any input must parse or fail
 * cleanly, and a file that parses must be safe to walk in full — every
 * getter and array accessor on every key, every tensor's bytes — and to
 * re-serialise through the writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

static volatile uint64_t sink;
static volatile double fsink;

static void walk_value(const gguf_file *f, const char *key, const gguf_value *v) {
    sink += (uint64_t)gguf_get_int(f, key, 0) + gguf_get_bool(f, key, false);
    fsink += gguf_get_float(f, key, 0);
    char *s = gguf_get_string(f, key);
    if (s) sink += strlen(s);
    free(s);
    if (v->type == GGUF_TYPE_STRING && v->str.len) sink += (uint8_t)v->str.data[v->str.len - 1];
    if (v->type != GGUF_TYPE_ARRAY) return;
    for (uint64_t i = 0; i < v->arr.n; i++) {
        if (v->arr.type == GGUF_TYPE_STRING) {
            const gguf_str *e = &v->arr.strs[i];
            if (e->len) sink += (uint8_t)e->data[0] + (uint8_t)e->data[e->len - 1];
        } else {
            sink += (uint64_t)gguf_arr_get_int(v, i);
            fsink += gguf_arr_get_float(v, i);
        }
    }
    sink += (uint64_t)gguf_arr_get_int(v, v->arr.n); /* one past the end: must be refused */
}

static void walk_tensors(const gguf_file *f, gguf_writer *w) {
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (gguf_find_tensor(f, t->name) != t) abort();
        if (t->nbytes) sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        if (gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes, NULL)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    oc_error err;
    gguf_file *f = gguf_open_memory(data, size, &err);
    if (!f) return 0;
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        if (gguf_get(f, kv->key) != &kv->value) abort();
        walk_value(f, kv->key, &kv->value);
        gguf_writer_set_value(w, kv->key, &kv->value);
    }
    walk_tensors(f, w);
    /* What the writer makes of a valid file must itself be valid (skipped
     * for huge alignments, whose padding alone could be gigabytes). */
    void *out;
    size_t len;
    if (f->alignment <= 4096 && gguf_writer_write_memory(w, &out, &len, &err) == 0) {
        gguf_file *g = gguf_open_memory(out, len, &err);
        if (!g || g->n_kv != f->n_kv || g->n_tensors != f->n_tensors) abort();
        gguf_close(g);
        free(out);
    }
    gguf_writer_free(w);
    gguf_close(f);
    return 0;
}

/* tokenizer utilities: the open-addressing string map used for vocabulary
 * and merge lookups, growable id / span vectors, and UTF-8 decoding that
 * follows llama.cpp's lenient rules. */
#include "tokenizer/tok_internal.h"

#include <string.h>

#define SLOT_EMPTY UINT32_MAX

static uint32_t hash_bytes(const char *s, size_t n) {
    /* FNV-1a over 8-byte words then bytes, finished with a 64-bit mix:
     * keys are short and lookups dominate tokenisation time. */
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

void tok_map_init(tok_map *m, size_t n_keys) {
    size_t cap = 16;
    while (cap < n_keys * 2) cap <<= 1; /* load factor <= 0.5 keeps probes short */
    m->slots = oc_malloc(cap * sizeof *m->slots);
    for (size_t i = 0; i < cap; i++) m->slots[i].off = SLOT_EMPTY;
    m->mask = (uint32_t)(cap - 1);
}

void tok_map_free(tok_map *m) {
    free(m->slots);
    m->slots = NULL;
}

static tok_map_slot *find_slot(const tok_map *m, const char *base, const char *key, size_t len, uint32_t h) {
    for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
        tok_map_slot *s = &m->slots[i];
        if (s->off == SLOT_EMPTY) return s;
        if (s->hash == h && s->len == len && memcmp(base + s->off, key, len) == 0) return s;
    }
}

int32_t tok_map_add(tok_map *m, const char *base, uint32_t off, uint32_t len, int32_t val) {
    uint32_t h = hash_bytes(base + off, len);
    tok_map_slot *s = find_slot(m, base, base + off, len, h);
    if (s->off != SLOT_EMPTY) return s->val;
    *s = (tok_map_slot){off, len, h, val};
    return val;
}

int32_t tok_map_get(const tok_map *m, const char *base, const char *key, size_t len) {
    if (len >= SLOT_EMPTY) return -1;
    const tok_map_slot *s = find_slot(m, base, key, len, hash_bytes(key, len));
    return s->off == SLOT_EMPTY ? -1 : s->val;
}

void tok_ids_push(tok_ids *a, int32_t id) {
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = oc_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = id;
}

void tok_spans_push(tok_spans *a, size_t off, size_t len) {
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = oc_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = (tok_span){off, len};
}

size_t tok_utf8_len(unsigned char lead) {
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[lead >> 4];
}

static bool cont(const char *s, size_t n, size_t i) { return i < n && ((unsigned char)s[i] & 0xC0) == 0x80; }

uint32_t tok_utf8_decode(const char *s, size_t n, size_t *adv) {
    const unsigned char *u = (const unsigned char *)s;
    *adv = 1;
    if (!(u[0] & 0x80)) return u[0];
    if (!(u[0] & 0x40)) return 0xFFFD;
    if (!(u[0] & 0x20)) {
        if (!cont(s, n, 1)) return 0xFFFD;
        *adv = 2;
        return ((uint32_t)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
    }
    if (!(u[0] & 0x10)) {
        if (!cont(s, n, 1) || !cont(s, n, 2)) return 0xFFFD;
        *adv = 3;
        return ((uint32_t)(u[0] & 0x0f) << 12) | ((uint32_t)(u[1] & 0x3f) << 6) | (u[2] & 0x3f);
    }
    if (!(u[0] & 0x08)) {
        if (!cont(s, n, 1) || !cont(s, n, 2) || !cont(s, n, 3)) return 0xFFFD;
        *adv = 4;
        return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3f) << 12) |
               ((uint32_t)(u[2] & 0x3f) << 6) | (u[3] & 0x3f);
    }
    return 0xFFFD;
}

void tok_utf8_put(oc_buf *b, uint32_t c) {
    char o[4];
    size_t n;
    if (c < 0x80) {
        o[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    oc_buf_append(b, o, n);
}

void tok_utf8_sanitize(const char *s, size_t n, oc_buf *out) {
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = tok_utf8_decode(s + i, n - i, &adv);
        if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = 0xFFFD;
        if (c < 0x80) {
            char ch = (char)c;
            oc_buf_append(out, &ch, 1);
        } else {
            tok_utf8_put(out, c);
        }
        i += adv;
    }
}

/* ---- merge-candidate heap ---- */

static bool pair_before(const tok_pair *a, const tok_pair *b) {
    return a->cost < b->cost || (a->cost == b->cost && a->left < b->left);
}

void tok_heap_push(tok_heap *h, tok_pair p) {
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->items = oc_realloc(h->items, h->cap * sizeof *h->items);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_before(&p, &h->items[parent])) break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = p;
}

tok_pair tok_heap_pop(tok_heap *h) {
    tok_pair top = h->items[0], last = h->items[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_before(&h->items[c + 1], &h->items[c])) c++;
        if (!pair_before(&h->items[c], &last)) break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (n) h->items[i] = last;
    return top;
}

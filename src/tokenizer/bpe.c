/* bpe: byte-level BPE encoding (tokenizer.ggml.model "gpt2" and "gemma4").
 * Owns pre-splitting a fragment into words, the byte-to-unicode encoding
 * of words, and the rank-ordered merge loop (a binary heap over adjacent
 * symbol pairs, as llama.cpp's llm_tokenizer_bpe_session). */
#include "tokenizer/tok_internal.h"

#include <string.h>

typedef struct bpe_sym {
    size_t off, n; /* into the word */
    int prev, next;
} bpe_sym;

typedef struct bpe_state {
    const tokenizer *t;
    const char *w;
    bpe_sym *sym;
    size_t n_sym, cap_sym;
    tok_heap heap;
    oc_buf key;
} bpe_state;

static int merge_rank(bpe_state *s, const bpe_sym *l, const bpe_sym *r) {
    /* Merges are stored as their "left right" strings. */
    oc_buf_clear(&s->key);
    oc_buf_append(&s->key, s->w + l->off, l->n);
    oc_buf_append(&s->key, " ", 1);
    oc_buf_append(&s->key, s->w + r->off, r->n);
    return tok_map_get(&s->t->merges, s->t->merge_text.data, s->key.data, s->key.len);
}

static void add_pair(bpe_state *s, int left, int right) {
    if (left < 0 || right < 0) return;
    int rank = merge_rank(s, &s->sym[left], &s->sym[right]);
    if (rank < 0) return;
    tok_heap_push(&s->heap, (tok_pair){rank, left, right, s->sym[left].n + s->sym[right].n});
}

static void split_chars(bpe_state *s, size_t len) {
    s->n_sym = 0;
    for (size_t off = 0; off < len;) {
        size_t n = tok_utf8_len((unsigned char)s->w[off]);
        if (n > len - off) n = len - off;
        if (s->n_sym == s->cap_sym) {
            s->cap_sym = s->cap_sym ? s->cap_sym * 2 : 64;
            s->sym = oc_realloc(s->sym, s->cap_sym * sizeof *s->sym);
        }
        int i = (int)s->n_sym++;
        s->sym[i] = (bpe_sym){off, n, i - 1, off + n == len ? -1 : i + 1};
        off += n;
    }
}

static void merge_all(bpe_state *s) {
    s->heap.n = 0;
    for (size_t i = 1; i < s->n_sym; i++) add_pair(s, (int)i - 1, (int)i);
    while (s->heap.n) {
        tok_pair p = tok_heap_pop(&s->heap);
        bpe_sym *l = &s->sym[p.left], *r = &s->sym[p.right];
        /* A pair is stale once either side merged with something else;
         * sizes only grow, so comparing them detects it. */
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = p.left;
        add_pair(s, l->prev, p.left);
        add_pair(s, p.left, l->next);
    }
}

/* A symbol with no vocabulary entry falls back byte by byte, as llama.cpp:
 * byte-encoded vocabularies look the raw byte up as a one-byte token,
 * gemma4-style ones use <0xXX> tokens. Bytes without a token are dropped. */
static void emit_unknown(const tokenizer *t, const char *p, size_t n, tok_ids *out) {
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_encode ? tok_lookup(t, p + i, 1) : t->byte_tokens[(unsigned char)p[i]];
        if (id >= 0) tok_ids_push(out, id);
    }
}

static bool all_newlines(const char *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (w[i] != '\n') return false;
    return true;
}

static void encode_word(bpe_state *s, const char *w, size_t n, tok_ids *out) {
    const tokenizer *t = s->t;
    int32_t whole = tok_lookup(t, w, n);
    /* llama3-style vocabularies take a word that is a token as is, and
     * gemma4 does the same for runs of newlines. */
    if (whole >= 0 && (t->ignore_merges || (t->gemma4 && all_newlines(w, n)))) {
        tok_ids_push(out, whole);
        return;
    }
    s->w = w;
    split_chars(s, n);
    merge_all(s);
    for (int i = s->n_sym ? 0 : -1; i >= 0; i = s->sym[i].next) {
        const bpe_sym *y = &s->sym[i];
        int32_t id = tok_lookup(t, w + y->off, y->n);
        if (id >= 0) tok_ids_push(out, id);
        else emit_unknown(t, w + y->off, y->n, out);
    }
}

static void byte_encode_word(const tokenizer *t, const char *p, size_t n, oc_buf *w) {
    oc_buf_clear(w);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        oc_buf_append(w, t->b2u[c], t->b2u_len[c]);
    }
}

int tok_bpe_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out, oc_error *err) {
    oc_buf clean = {0}, word = {0};
    tok_spans words = {0};
    tok_utf8_sanitize(text, len, &clean);
    int rc = tok_pretok_split(t->pre, clean.data ? clean.data : "", clean.len, &words, err);
    bpe_state s = {.t = t};
    for (size_t i = 0; rc == 0 && i < words.n; i++) {
        const char *p = clean.data + words.v[i].off;
        size_t n = words.v[i].len;
        if (t->byte_encode) {
            byte_encode_word(t, p, n, &word);
            p = word.data;
            n = word.len;
        }
        encode_word(&s, p, n, out);
    }
    free(s.sym);
    free(s.heap.items);
    oc_buf_free(&s.key);
    oc_buf_free(&clean);
    oc_buf_free(&word);
    free(words.v);
    return rc;
}

/* spm: SentencePiece BPE encoding (tokenizer.ggml.model "llama").
 * Owns the score-ordered bigram merge over UTF-8 characters and the
 * <0xXX> byte fallback, as llama.cpp's llm_tokenizer_spm_session. The
 * caller has already added the leading space and escaped spaces to U+2581. */
#include "tokenizer/tok_internal.h"

typedef struct spm_sym {
    size_t off, n;
    int prev, next;
} spm_sym;

typedef struct spm_state {
    const tokenizer *t;
    const char *s;
    spm_sym *sym;
    tok_heap heap;
} spm_state;

/* Adjacent symbols are contiguous in the text, so the pair's text is the
 * left symbol's start plus both lengths. */
static void add_pair(spm_state *s, int left, int right) {
    if (left < 0 || right < 0) return;
    size_t size = s->sym[left].n + s->sym[right].n;
    int32_t id = tok_lookup(s->t, s->s + s->sym[left].off, size);
    if (id < 0) return;
    tok_heap_push(&s->heap, (tok_pair){-(double)s->t->tokens[id].score, left, right, size});
}

static size_t split_chars(spm_state *s, size_t len) {
    size_t n_sym = 0;
    for (size_t off = 0; off < len;) {
        size_t n = tok_utf8_len((unsigned char)s->s[off]);
        if (n > len - off) n = len - off;
        int i = (int)n_sym++;
        s->sym[i] = (spm_sym){off, n, i - 1, off + n == len ? -1 : i + 1};
        off += n;
    }
    return n_sym;
}

static void merge_all(spm_state *s, size_t n_sym) {
    for (size_t i = 1; i < n_sym; i++) add_pair(s, (int)i - 1, (int)i);
    while (s->heap.n) {
        tok_pair p = tok_heap_pop(&s->heap);
        spm_sym *l = &s->sym[p.left], *r = &s->sym[p.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = p.left;
        add_pair(s, l->prev, p.left);
        add_pair(s, p.left, l->next);
    }
}

/* Every merged symbol is a token, so only single characters can miss the
 * vocabulary; llama.cpp's rev_merge lookup can never succeed for them (a
 * merge's text always spans two or more characters) and is left out. */
void tok_spm_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out) {
    if (!len) return;
    spm_state s = {.t = t, .s = text};
    s.sym = oc_malloc(len * sizeof *s.sym);
    size_t n_sym = split_chars(&s, len);
    merge_all(&s, n_sym);
    for (int i = 0; i >= 0; i = s.sym[i].next) {
        const spm_sym *y = &s.sym[i];
        int32_t id = tok_lookup(t, text + y->off, y->n);
        if (id >= 0) {
            tok_ids_push(out, id);
            continue;
        }
        for (size_t j = 0; j < y->n; j++) {
            int32_t b = t->byte_tokens[(unsigned char)text[y->off + j]];
            if (b < 0) b = t->unk;
            if (b >= 0) tok_ids_push(out, b);
        }
    }
    free(s.sym);
    free(s.heap.items);
}

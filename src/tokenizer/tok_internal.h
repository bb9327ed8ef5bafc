/* tokenizer internals shared by the tokenizer's .c files: the tokenizer
 * struct, token attributes, the string hash map, growable id / span vectors,
 * UTF-8 helpers and the entry points of each algorithm. Not a public API. */
#ifndef OLLAMA_TOK_INTERNAL_H
#define OLLAMA_TOK_INTERNAL_H

#include "tokenizer/tokenizer.h"

#include <stdlib.h>

/* Attribute bits as llama.cpp keeps them (a token can carry several). */
enum {
    ATTR_UNKNOWN = 1 << 0, ATTR_UNUSED = 1 << 1, ATTR_NORMAL = 1 << 2, ATTR_CONTROL = 1 << 3,
    ATTR_USER_DEFINED = 1 << 4, ATTR_BYTE = 1 << 5, ATTR_LSTRIP = 1 << 7, ATTR_RSTRIP = 1 << 8,
    ATTR_EOG = 1 << 12, /* ours: ends generation */
};

/* Open-addressing map from byte strings to int32. Keys are offsets into an
 * arena owned by the caller (so the arena may grow while the map is built);
 * every call passes the arena's current base. */
typedef struct tok_map_slot {
    uint32_t off, len, hash;
    int32_t val;
} tok_map_slot;
typedef struct tok_map {
    tok_map_slot *slots;
    uint32_t mask;
} tok_map;

void tok_map_init(tok_map *m, size_t n_keys);
void tok_map_free(tok_map *m);
/* Inserts key -> val unless present; returns the value now stored. */
int32_t tok_map_add(tok_map *m, const char *base, uint32_t off, uint32_t len, int32_t val);
/* -1 when absent. */
int32_t tok_map_get(const tok_map *m, const char *base, const char *key, size_t len);

typedef struct tok_ids {
    int32_t *v;
    size_t n, cap;
} tok_ids;
void tok_ids_push(tok_ids *a, int32_t id);

typedef struct tok_span {
    size_t off, len;
} tok_span;
typedef struct tok_spans {
    tok_span *v;
    size_t n, cap;
} tok_spans;
void tok_spans_push(tok_spans *a, size_t off, size_t len);

/* UTF-8 as llama.cpp reads it: the length implied by a lead byte, and a
 * lenient decoder that yields U+FFFD (advancing one byte) on bad input. */
size_t tok_utf8_len(unsigned char lead);
uint32_t tok_utf8_decode(const char *s, size_t n, size_t *adv);
/* Appends cpt's UTF-8 (cpt must be <= 0x10FFFF). */
void tok_utf8_put(oc_buf *b, uint32_t cpt);
/* Rewrites text as valid UTF-8: bytes llama.cpp cannot decode become U+FFFD
 * (as unicode_cpts_from_utf8 does); surrogates and code points past
 * U+10FFFF, which llama.cpp would pass on or throw on, also become U+FFFD. */
void tok_utf8_sanitize(const char *s, size_t n, oc_buf *out);

typedef struct tok_token {
    uint32_t off, len; /* text in tokenizer.text */
    float score;
    uint16_t attr;
} tok_token;

struct tok_pretok; /* compiled pre-tokenizer regexes (pretok.c) */

struct tokenizer {
    enum tokenizer_kind kind;
    int32_t n_vocab;
    tok_token *tokens;
    oc_buf text;       /* every token text, NUL-terminated */
    tok_map vocab;     /* text -> id */
    oc_buf merge_text; /* merge strings "a b" */
    tok_map merges;    /* "a b" -> rank */
    int max_token_len;

    int32_t bos, eos, eot, eom, unk, sep, pad, mask;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    int32_t byte_tokens[256]; /* SPM / gemma4 byte fallback, -1 if none */

    int32_t *specials; /* control / user-defined / unknown ids, longest text first */
    size_t n_specials;

    bool add_bos, add_eos, add_sep, add_space_prefix;
    bool ignore_merges, clean_spaces, escape_ws, byte_encode, gemma4;
    bool wpm_lowercase, wpm_strip_accents;

    struct tok_pretok *pre;
    char b2u[256][3];  /* GPT-2 bytes_to_unicode, UTF-8 */
    uint8_t b2u_len[256];
    int16_t u2b[324];  /* inverse, by code point (all are < 324) */
};

static inline const char *tok_text(const tokenizer *t, int32_t id) { return t->text.data + t->tokens[id].off; }
static inline int32_t tok_lookup(const tokenizer *t, const char *s, size_t n) {
    return tok_map_get(&t->vocab, t->text.data, s, n);
}

/* Pre-tokenizer (pretok.c). */
typedef struct tok_pre_info {
    const char *const *regexes; /* NULL-terminated */
    bool clean_spaces, ignore_merges, add_bos, escape_ws, byte_encode, no_bos;
} tok_pre_info;
/* Settings llama.cpp attaches to a tokenizer.ggml.pre value; false if unknown. */
bool tok_pre_lookup(const char *name, tok_pre_info *info);
struct tok_pretok *tok_pretok_new(const char *const *regexes, oc_error *err);
void tok_pretok_free(struct tok_pretok *p);
/* Splits valid UTF-8 into words (spans into text), regex after regex as
 * llama.cpp's unicode_regex_split does. */
int tok_pretok_split(const struct tok_pretok *p, const char *text, size_t len, tok_spans *out, oc_error *err);

/* A candidate merge of two adjacent symbols for the SPM and BPE merge
 * loops: the lowest cost merges first (BPE: the merge rank; SPM: minus the
 * token's score), ties going to the leftmost pair. */
typedef struct tok_pair {
    double cost;
    int left, right;
    size_t size;
} tok_pair;
typedef struct tok_heap {
    tok_pair *items;
    size_t n, cap;
} tok_heap;
void tok_heap_push(tok_heap *h, tok_pair p);
tok_pair tok_heap_pop(tok_heap *h); /* h->n must be > 0 */

/* Algorithms: each appends the ids for one raw-text fragment. */
void tok_spm_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out);
int tok_bpe_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out, oc_error *err);
void tok_wpm_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out);

#endif

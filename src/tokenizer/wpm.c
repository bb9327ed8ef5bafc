/* wpm: WordPiece encoding (tokenizer.ggml.model "bert"). Owns the BERT
 * basic-tokenizer normalisation as llama.cpp's llm_tokenizer_wpm_session
 * does it (NFD first code point + accent stripping, lowercasing, splitting
 * on whitespace, punctuation, ASCII symbols and CJK ideographs, dropping
 * control characters) and the greedy longest-match over the vocabulary.
 * GGUF BERT vocabularies mark word starts with U+2581 instead of marking
 * continuations with "##", so each word is matched with a U+2581 prefix. */
#include "tokenizer/tok_internal.h"

#include <utf8proc.h>

static bool is_white_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The ranges of HF's BertPreTrainedTokenizer, including its 0x2B920 quirk. */
static bool is_chinese_char(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

enum { C_CONTROL = 1, C_MARK = 2, C_PUNCT = 4, C_SYMBOL = 8 };

static int char_class(uint32_t c) {
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
        return C_CONTROL;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return C_MARK;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF: case UTF8PROC_CATEGORY_PO:
        return C_PUNCT;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO:
        return C_SYMBOL;
    default:
        return 0;
    }
}

/* llama.cpp's NFD table keeps only the first code point of each
 * decomposition (the marks it drops would be stripped anyway). */
static uint32_t nfd_first(uint32_t c) {
    utf8proc_int32_t buf[32];
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, buf, 32, UTF8PROC_DECOMPOSE, NULL);
    return n >= 1 && n <= 32 ? (uint32_t)buf[0] : c;
}

typedef struct words {
    oc_buf text;
    tok_spans spans;
    size_t start;
} words;

static void finish_word(words *w) {
    if (w->text.len > w->start) tok_spans_push(&w->spans, w->start, w->text.len - w->start);
    w->start = w->text.len;
}

static void add_char(const tokenizer *t, words *w, uint32_t c) {
    if (is_white_space(c)) {
        finish_word(w);
        return;
    }
    int cls = char_class(c);
    if (c == 0 || c == 0xFFFD || (cls & C_CONTROL)) return;
    if (t->wpm_strip_accents && (cls & C_MARK)) return;
    uint32_t out = t->wpm_lowercase ? (uint32_t)utf8proc_tolower((utf8proc_int32_t)c) : c;
    bool alone = (cls & C_PUNCT) || (c < 0x7F && (cls & C_SYMBOL)) || is_chinese_char(c);
    if (alone) finish_word(w);
    tok_utf8_put(&w->text, out);
    if (alone) finish_word(w);
}

static void split_words(const tokenizer *t, const char *s, size_t n, words *w) {
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = tok_utf8_decode(s + i, n - i, &adv);
        i += adv;
        /* code points llama.cpp could not re-encode are dropped like U+FFFD */
        if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) continue;
        add_char(t, w, t->wpm_strip_accents ? nfd_first(c) : c);
    }
    finish_word(w);
}

/* Longest match first at each position; a word with an unmatchable
 * position becomes a single unknown token. */
static void match_word(const tokenizer *t, const char *word, size_t n, tok_ids *out) {
    size_t before = out->n;
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)t->max_token_len + 1;
        if (j > n) j = n;
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = tok_lookup(t, word + i, j - i)) >= 0) break;
        if (id < 0) {
            out->n = before;
            break;
        }
        tok_ids_push(out, id);
        i = j - 1;
    }
    if (out->n == before && t->unk >= 0) tok_ids_push(out, t->unk);
}

void tok_wpm_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out) {
    words w = {0};
    split_words(t, text, len, &w);
    oc_buf word = {0};
    for (size_t k = 0; k < w.spans.n; k++) {
        oc_buf_clear(&word);
        oc_buf_puts(&word, "\xE2\x96\x81");
        oc_buf_append(&word, w.text.data + w.spans.v[k].off, w.spans.v[k].len);
        match_word(t, word.data, word.len, out);
    }
    oc_buf_free(&word);
    oc_buf_free(&w.text);
    free(w.spans.v);
}

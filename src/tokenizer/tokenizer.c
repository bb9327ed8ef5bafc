/* tokenizer: the public entry points. Owns splitting input on special-token
 * texts (llama.cpp's tokenizer_st_partition), BOS/EOS/CLS/SEP placement,
 * dispatch to the SPM / BPE / WordPiece encoders, token-to-text
 * conversion, decoding with llama.cpp's space clean-up, and the streaming
 * detokeniser that only ever emits whole UTF-8 characters. Loading lives in
 * tok_load.c. */
#include "tokenizer/tok_internal.h"

#include <string.h>

enum tokenizer_kind tokenizer_kind_of(const tokenizer *t) { return t->kind; }
int32_t tokenizer_n_vocab(const tokenizer *t) { return t->n_vocab; }
int32_t tokenizer_bos(const tokenizer *t) { return t->bos; }
int32_t tokenizer_eos(const tokenizer *t) { return t->eos; }
bool tokenizer_add_bos(const tokenizer *t) { return t->add_bos; }
bool tokenizer_add_eos(const tokenizer *t) { return t->add_eos; }

static bool valid_id(const tokenizer *t, int32_t id) { return id >= 0 && id < t->n_vocab; }

bool tokenizer_is_eog(const tokenizer *t, int32_t id) {
    return valid_id(t, id) && (t->tokens[id].attr & ATTR_EOG);
}

int tokenizer_token_type(const tokenizer *t, int32_t id) {
    if (!valid_id(t, id)) return 0;
    uint16_t a = t->tokens[id].attr;
    if (a & ATTR_CONTROL) return TOKEN_CONTROL;
    if (a & ATTR_USER_DEFINED) return TOKEN_USER_DEFINED;
    if (a & ATTR_BYTE) return TOKEN_BYTE;
    if (a & ATTR_UNKNOWN) return TOKEN_UNKNOWN;
    if (a & ATTR_UNUSED) return TOKEN_UNUSED;
    return a & ATTR_NORMAL ? TOKEN_NORMAL : 0;
}

const char *tokenizer_token_text(const tokenizer *t, int32_t id) { return valid_id(t, id) ? tok_text(t, id) : NULL; }

/* ---- special-token partition ---- */

typedef struct frag {
    int32_t id; /* -1: raw text */
    size_t off, len;
} frag;
typedef struct frags {
    frag *v;
    size_t n, cap;
} frags;

static void frag_push(frags *a, int32_t id, size_t off, size_t len) {
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = oc_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = (frag){id, off, len};
}

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Splits one raw fragment on every occurrence of special token id,
 * honouring its LSTRIP / RSTRIP attributes. */
static void split_fragment(const tokenizer *t, int32_t id, const char *text, frag f, frags *out) {
    const char *tk = tok_text(t, id);
    size_t tl = t->tokens[id].len, cur = f.off, end = f.off + f.len;
    uint16_t attr = t->tokens[id].attr;
    const char *m;
    while (cur < end && (m = memmem(text + cur, end - cur, tk, tl)) != NULL) {
        size_t pos = (size_t)(m - text), left = pos - cur;
        if (attr & ATTR_LSTRIP)
            while (left > 0 && is_space(text[cur + left - 1])) left--;
        if (left) frag_push(out, -1, cur, left);
        frag_push(out, id, 0, 0);
        cur = pos + tl;
        if (attr & ATTR_RSTRIP)
            while (cur < end && is_space(text[cur])) cur++;
    }
    if (cur < end) frag_push(out, -1, cur, end - cur);
}

/* Which byte pairs occur in the text: a special token whose first two
 * bytes never occur cannot match, which skips most of a large list. */
static uint8_t *pair_bitmap(const char *text, size_t len) {
    uint8_t *bits = oc_calloc(65536 / 8, 1);
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned k = ((unsigned)(unsigned char)text[i] << 8) | (unsigned char)text[i + 1];
        bits[k >> 3] |= (uint8_t)(1u << (k & 7));
    }
    for (size_t i = 0; i < len; i++) { /* single-byte tokens: pair (byte, 0) */
        unsigned k = (unsigned)(unsigned char)text[i] << 8;
        bits[k >> 3] |= (uint8_t)(1u << (k & 7));
    }
    return bits;
}

static bool may_occur(const uint8_t *bits, const char *s, size_t n) {
    unsigned k = ((unsigned)(unsigned char)s[0] << 8) | (n > 1 ? (unsigned char)s[1] : 0);
    return bits[k >> 3] & (1u << (k & 7));
}

/* Longest special texts first; control and unknown tokens only when
 * parse_special (user-defined ones always, as Hugging Face does). */
static void partition(const tokenizer *t, const char *text, size_t len, bool parse_special, frags *out) {
    frags cur = {0}, next = {0};
    if (len) frag_push(&cur, -1, 0, len);
    uint8_t *bits = pair_bitmap(text, len);
    for (size_t s = 0; s < t->n_specials && len; s++) {
        int32_t id = t->specials[s];
        if (!parse_special && (t->tokens[id].attr & (ATTR_CONTROL | ATTR_UNKNOWN))) continue;
        if (!may_occur(bits, tok_text(t, id), t->tokens[id].len)) continue;
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            if (cur.v[i].id >= 0) frag_push(&next, cur.v[i].id, 0, 0);
            else split_fragment(t, id, text, cur.v[i], &next);
        }
        frags tmp = cur;
        cur = next;
        next = tmp;
    }
    free(bits);
    free(next.v);
    *out = cur;
}

/* ---- encoding ---- */

static void escape_spaces(const char *s, size_t n, bool prefix, oc_buf *b) {
    oc_buf_clear(b);
    if (prefix) oc_buf_puts(b, "\xE2\x96\x81");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') oc_buf_puts(b, "\xE2\x96\x81");
        else oc_buf_append(b, s + i, 1);
    }
}

static int encode_fragments(const tokenizer *t, const char *text, const frags *fr, tok_ids *ids, oc_error *err) {
    oc_buf buf = {0};
    bool prev_special = true; /* SPM: the first text gets the leading space */
    int rc = 0;
    for (size_t i = 0; i < fr->n && rc == 0; i++) {
        const frag *f = &fr->v[i];
        if (f->id >= 0) {
            tok_ids_push(ids, f->id);
            prev_special = true;
            continue;
        }
        const char *s = text + f->off;
        if (t->kind == TOKENIZER_SPM) {
            escape_spaces(s, f->len, t->add_space_prefix && prev_special, &buf);
            tok_spm_encode(t, buf.data, buf.len, ids);
        } else if (t->kind == TOKENIZER_WPM) {
            tok_wpm_encode(t, s, f->len, ids);
        } else if (t->escape_ws) {
            escape_spaces(s, f->len, false, &buf);
            rc = tok_bpe_encode(t, buf.data, buf.len, ids, err);
        } else {
            rc = tok_bpe_encode(t, s, f->len, ids, err);
        }
        prev_special = false;
    }
    oc_buf_free(&buf);
    return rc;
}

int tokenizer_encode(const tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special,
                     int32_t **out, oc_error *err) {
    *out = NULL;
    if (!text) len = 0;
    if (len > INT32_MAX) return oc_fail(err, "tokenize: input too long");
    tok_ids ids = {0};
    frags fr;
    partition(t, text, len, parse_special, &fr);
    bool wpm = t->kind == TOKENIZER_WPM;
    /* WordPiece always wraps in CLS ... SEP; the others follow add_bos/add_eos. */
    if (add_special && (wpm || t->add_bos)) tok_ids_push(&ids, t->bos);
    int rc = encode_fragments(t, text, &fr, &ids, err);
    if (add_special && wpm) tok_ids_push(&ids, t->sep);
    else if (add_special && t->add_eos) tok_ids_push(&ids, t->eos);
    free(fr.v);
    if (rc < 0 || ids.n > INT32_MAX) {
        free(ids.v);
        return rc < 0 ? -1 : oc_fail(err, "tokenize: too many tokens");
    }
    *out = ids.v ? ids.v : oc_malloc(sizeof(int32_t));
    return (int)ids.n;
}

/* ---- decoding ---- */

static void unescape_spaces(const char *s, size_t n, oc_buf *b) {
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            oc_buf_append(b, " ", 1);
            i += 2;
        } else {
            oc_buf_append(b, s + i, 1);
        }
    }
}

/* Byte-level BPE text back to bytes; a character outside the byte map
 * becomes llama.cpp's "[UNK_BYTE_0x..]" marker. */
static void byte_decode(const tokenizer *t, const char *s, size_t n, oc_buf *b) {
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t c = tok_utf8_decode(s + i, n - i, &adv);
        if (c < 324 && t->u2b[c] >= 0) {
            char byte = (char)t->u2b[c];
            oc_buf_append(b, &byte, 1);
        } else {
            oc_buf_puts(b, "[UNK_BYTE_0x");
            for (size_t k = 0; k < adv; k++) oc_buf_printf(b, "%02x", (unsigned char)s[i + k]);
            oc_buf_append(b, s, n);
            oc_buf_puts(b, "]");
        }
        i += adv;
    }
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
}

void tokenizer_token_to_piece(const tokenizer *t, int32_t id, bool render_special, oc_buf *b) {
    if (!valid_id(t, id)) return;
    uint16_t a = t->tokens[id].attr;
    const char *s = tok_text(t, id);
    size_t n = t->tokens[id].len;
    if (a & (ATTR_UNKNOWN | ATTR_CONTROL)) {
        if (render_special) oc_buf_append(b, s, n);
    } else if (a & ATTR_USER_DEFINED) {
        oc_buf_append(b, s, n);
    } else if (a & ATTR_NORMAL) {
        if (t->kind == TOKENIZER_BPE && !t->escape_ws) byte_decode(t, s, n, b);
        else unescape_spaces(s, n, b);
    } else if ((a & ATTR_BYTE) && n >= 5) { /* "<0xXX>" */
        char byte = (char)(hex_digit(s[3]) * 16 + hex_digit(s[4]));
        oc_buf_append(b, &byte, 1);
    }
}

/* Appends a piece, dropping one leading space when lstrip (llama.cpp's
 * lstrip argument, used for the space SPM encoding added). */
static void append_piece(const tokenizer *t, int32_t id, bool special, bool lstrip, oc_buf *b) {
    size_t start = b->len;
    tokenizer_token_to_piece(t, id, special, b);
    if (lstrip && b->len > start && b->data[start] == ' ') {
        memmove(b->data + start, b->data + start + 1, b->len - start - 1);
        b->data[--b->len] = 0;
    }
}

/* llama.cpp's clean_up_tokenization_spaces: " ?", " !", " .", " ," lose the
 * space; a lone "'" between spaces loses both; " 's", " 'm", " 're", " 've"
 * lose the space. */
static size_t clean_punct(char *s, size_t n) {
    size_t o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) o--;
        s[o++] = x;
    }
    return o;
}

static size_t clean_quote(char *s, size_t n) {
    size_t o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (x == '\'' && i + 1 < n && s[i - 1] == ' ' && s[i + 1] == ' ') {
            o--;
            s[++i] = 0; /* the following space is overwritten, as in llama.cpp */
        }
        s[o++] = x;
    }
    return o;
}

static size_t clean_contractions(char *s, size_t n) {
    size_t o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = s[i + 1], x2 = i + 2 < n ? s[i + 2] : 0;
            if (x1 == 's' || x1 == 'm' || (i + 2 < n && ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')))) o--;
        }
        s[o++] = x;
    }
    return o;
}

void tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, bool render_special, oc_buf *b) {
    size_t start = b->len;
    for (size_t i = 0; i < n; i++) append_piece(t, ids[i], render_special, i == 0 && t->add_space_prefix, b);
    if (!t->clean_spaces || b->len == start) return;
    char *s = b->data + start;
    size_t len = clean_contractions(s, clean_quote(s, clean_punct(s, b->len - start)));
    b->len = start + len;
    b->data[b->len] = 0;
}

/* ---- streaming ---- */

/* Length of the valid UTF-8 character at s: > 0 valid, 0 a valid but
 * incomplete prefix running to the end, -1 invalid. */
static int utf8_char(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!need) return -1;
    unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n) return 0;
        unsigned lim_lo = k == 1 ? lo : 0x80, lim_hi = k == 1 ? hi : 0xBF;
        if (s[k] < lim_lo || s[k] > lim_hi) return -1;
    }
    return need;
}

/* Moves the complete characters of pending to out; invalid bytes become
 * U+FFFD, and at the end (final) so does an incomplete tail. */
static void stream_emit(tokenizer_stream *s, oc_buf *out, bool final) {
    if (!s->pending.data) return;
    const unsigned char *p = (const unsigned char *)s->pending.data;
    size_t n = s->pending.len, i = 0;
    while (i < n) {
        int k = utf8_char(p + i, n - i);
        if (k == 0 && !final) break;
        if (k <= 0) {
            oc_buf_puts(out, "\xEF\xBF\xBD");
            i += k == 0 ? n - i : 1;
            continue;
        }
        oc_buf_append(out, p + i, (size_t)k);
        i += (size_t)k;
    }
    memmove(s->pending.data, p + i, n - i);
    s->pending.len = n - i;
    s->pending.data[s->pending.len] = 0;
}

void tokenizer_stream_init(tokenizer_stream *s, const tokenizer *t, bool render_special) {
    *s = (tokenizer_stream){.tok = t, .first = true, .render_special = render_special};
}

void tokenizer_stream_push(tokenizer_stream *s, int32_t id, oc_buf *out) {
    append_piece(s->tok, id, s->render_special, s->first && s->tok->add_space_prefix, &s->pending);
    s->first = false;
    stream_emit(s, out, false);
}

void tokenizer_stream_flush(tokenizer_stream *s, oc_buf *out) { stream_emit(s, out, true); }

void tokenizer_stream_free(tokenizer_stream *s) { oc_buf_free(&s->pending); }

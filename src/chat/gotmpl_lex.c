/* gotmpl_lex: the lexer of the Go text/template engine. Turns template
 * source into tokens the way Go's text/template/parse lexer does, including
 * the "{{- " / " -}}" trimming of adjacent white space and the dropping of
 * comments, so the parser never sees either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/gotmpl_internal.h"

typedef struct {
    const char *s;
    size_t n, pos, start;
    int paren;
    gt_tokens *out;
    bool done;
} lexer;

static bool is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Letters, digits and '_'; every non-ASCII byte counts as a letter, a
 * superset of Go's unicode.IsLetter that only accepts more templates. */
static bool is_alnum(int c) {
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int peekc(const lexer *l) { return l->pos < l->n ? (unsigned char)l->s[l->pos] : -1; }

static bool has_prefix(const lexer *l, size_t at, const char *p) {
    size_t k = strlen(p);
    return at <= l->n && l->n - at >= k && memcmp(l->s + at, p, k) == 0;
}

static void push(lexer *l, gt_tok_type t, size_t pos, size_t len) {
    gt_tokens *o = l->out;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->v = oc_realloc(o->v, o->cap * sizeof *o->v);
    }
    o->v[o->n++] = (gt_token){t, (uint32_t)pos, (uint32_t)len};
}

static void emit(lexer *l, gt_tok_type t) {
    push(l, t, l->start, l->pos - l->start);
    l->start = l->pos;
}

static void lex_error(lexer *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lex_error(lexer *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->out->err, sizeof l->out->err, fmt, ap);
    va_end(ap);
    push(l, TK_ERROR, l->start, 0);
    l->done = true;
}

/* Go's %#U of the rune at pos: U+0041 'A'. */
static void rune_desc(const lexer *l, size_t pos, char *buf, size_t n) {
    if (pos >= l->n) { snprintf(buf, n, "U+FFFFFFFF"); return; }
    uint32_t cp;
    size_t k = gt_utf8_decode((const unsigned char *)l->s + pos, l->n - pos, &cp);
    if (cp >= 0x20 && cp != 0x7f && cp != 0xfffd)
        snprintf(buf, n, "U+%04X '%.*s'", cp, (int)k, l->s + pos);
    else
        snprintf(buf, n, "U+%04X", cp);
}

static bool left_trim_marker(const lexer *l, size_t at) {
    return at + 2 <= l->n && l->s[at] == '-' && is_space((unsigned char)l->s[at + 1]);
}

static bool right_trim_marker(const lexer *l, size_t at) {
    return at + 2 <= l->n && is_space((unsigned char)l->s[at]) && l->s[at + 1] == '-';
}

/* At "}}" (trim = false) or " -}}" (trim = true)? */
static bool at_right_delim(const lexer *l, bool *trim) {
    if (right_trim_marker(l, l->pos) && has_prefix(l, l->pos + 2, "}}")) { *trim = true; return true; }
    *trim = false;
    return has_prefix(l, l->pos, "}}");
}

static void skip_spaces(lexer *l) {
    while (l->pos < l->n && is_space((unsigned char)l->s[l->pos])) l->pos++;
    l->start = l->pos;
}

static void lex_comment(lexer *l) {
    l->pos += 2;
    const char *end = memmem(l->s + l->pos, l->n - l->pos, "*/", 2);
    if (!end) { lex_error(l, "unclosed comment"); return; }
    l->pos = (size_t)(end - l->s) + 2;
    bool trim;
    if (!at_right_delim(l, &trim)) { lex_error(l, "comment ends before closing delimiter"); return; }
    l->pos += trim ? 4 : 2;
    if (trim) skip_spaces(l);
    l->start = l->pos;
}

enum { LEX_END, LEX_ACTION, LEX_COMMENT };

/* Text up to the next "{{", trimmed when the action starts with "{{- ",
 * then the delimiter or a whole comment. */
static int lex_text(lexer *l) {
    const char *d = memmem(l->s + l->pos, l->n - l->pos, "{{", 2);
    if (!d) {
        l->pos = l->n;
        if (l->pos > l->start) emit(l, TK_TEXT);
        push(l, TK_EOF, l->n, 0);
        return LEX_END;
    }
    size_t at = (size_t)(d - l->s), end = at;
    bool trim = left_trim_marker(l, at + 2);
    if (trim)
        while (end > l->start && is_space((unsigned char)l->s[end - 1])) end--;
    if (end > l->start) push(l, TK_TEXT, l->start, end - l->start);
    l->pos = at + 2;
    l->start = at;
    size_t after = trim ? 2 : 0;
    if (has_prefix(l, l->pos + after, "/*")) {
        l->pos += after;
        lex_comment(l);
        return l->done ? LEX_END : LEX_COMMENT;
    }
    emit(l, TK_LDELIM);
    l->pos += after;
    l->start = l->pos;
    l->paren = 0;
    return LEX_ACTION;
}

static bool at_terminator(const lexer *l) {
    int c = peekc(l);
    if (c < 0 || is_space(c)) return true;
    if (strchr(".,|:()", c)) return true;
    return has_prefix(l, l->pos, "}}");
}

static void lex_word_tail(lexer *l) {
    while (l->pos < l->n && is_alnum((unsigned char)l->s[l->pos])) l->pos++;
}

static void bad_char(lexer *l) {
    char d[32];
    rune_desc(l, l->pos, d, sizeof d);
    lex_error(l, "bad character %s", d);
}

static const struct { const char *w; gt_tok_type t; } keywords[] = {
    {"block", TK_BLOCK}, {"break", TK_BREAK}, {"continue", TK_CONTINUE}, {"define", TK_DEFINE},
    {"else", TK_ELSE}, {"end", TK_END}, {"if", TK_IF}, {"range", TK_RANGE}, {"nil", TK_NIL},
    {"template", TK_TEMPLATE}, {"with", TK_WITH},
};

static void lex_identifier(lexer *l) {
    lex_word_tail(l);
    if (!at_terminator(l)) { bad_char(l); return; }
    size_t k = l->pos - l->start;
    const char *w = l->s + l->start;
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (strlen(keywords[i].w) == k && memcmp(keywords[i].w, w, k) == 0) { emit(l, keywords[i].t); return; }
    if ((k == 4 && memcmp(w, "true", 4) == 0) || (k == 5 && memcmp(w, "false", 5) == 0))
        emit(l, TK_BOOL);
    else
        emit(l, TK_IDENT);
}

/* After '.' or '$': a lone one is the dot or the root variable. */
static void lex_field_or_var(lexer *l, gt_tok_type t) {
    if (at_terminator(l)) { emit(l, t == TK_VARIABLE ? TK_VARIABLE : TK_DOT); return; }
    lex_word_tail(l);
    if (!at_terminator(l)) { bad_char(l); return; }
    emit(l, t);
}

static void accept_run(lexer *l, const char *set) {
    while (l->pos < l->n && strchr(set, l->s[l->pos]) && l->s[l->pos]) l->pos++;
}

static bool accept(lexer *l, const char *set) {
    if (l->pos < l->n && l->s[l->pos] && strchr(set, l->s[l->pos])) { l->pos++; return true; }
    return false;
}

static bool scan_number(lexer *l) {
    accept(l, "+-");
    const char *digits = "0123456789_";
    if (accept(l, "0")) {
        if (accept(l, "xX")) digits = "0123456789abcdefABCDEF_";
        else if (accept(l, "oO")) digits = "01234567_";
        else if (accept(l, "bB")) digits = "01_";
    }
    accept_run(l, digits);
    if (accept(l, ".")) accept_run(l, digits);
    if (strlen(digits) == 11 && accept(l, "eE")) { accept(l, "+-"); accept_run(l, "0123456789_"); }
    if (strlen(digits) == 23 && accept(l, "pP")) { accept(l, "+-"); accept_run(l, "0123456789_"); }
    accept(l, "i");
    if (l->pos < l->n && is_alnum((unsigned char)l->s[l->pos])) { l->pos++; return false; }
    return true;
}

static void lex_number(lexer *l) {
    if (!scan_number(l)) {
        lex_error(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start), l->s + l->start);
        return;
    }
    int c = peekc(l);
    if (c == '+' || c == '-') {
        if (!scan_number(l) || l->s[l->pos - 1] != 'i') {
            lex_error(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start), l->s + l->start);
            return;
        }
        emit(l, TK_COMPLEX);
        return;
    }
    emit(l, TK_NUMBER);
}

/* A quoted string or character constant; the opening quote is consumed. */
static void lex_quote(lexer *l, char q, gt_tok_type t, const char *what) {
    for (;;) {
        int c = peekc(l);
        if (c == '\\') {
            l->pos++;
            c = peekc(l);
            if (c >= 0 && c != '\n') { l->pos++; continue; }
        }
        if (c < 0 || c == '\n') { lex_error(l, "unterminated %s", what); return; }
        l->pos++;
        if (c == q) break;
    }
    emit(l, t);
}

static void lex_raw_quote(lexer *l) {
    const char *e = memchr(l->s + l->pos, '`', l->n - l->pos);
    if (!e) { lex_error(l, "unterminated raw quoted string"); return; }
    l->pos = (size_t)(e - l->s) + 1;
    emit(l, TK_RAWSTRING);
}

/* A run of spaces; one space followed by "-}}" belongs to the delimiter. */
static void lex_space(lexer *l) {
    size_t n = 0;
    while (l->pos < l->n && is_space((unsigned char)l->s[l->pos])) { l->pos++; n++; }
    if (right_trim_marker(l, l->pos - 1) && has_prefix(l, l->pos + 1, "}}")) {
        l->pos--;
        if (n == 1) return; /* nothing to emit; the delimiter follows */
    }
    emit(l, TK_SPACE);
}

static void lex_right_delim(lexer *l, bool trim) {
    if (trim) { l->pos += 2; l->start = l->pos; }
    l->pos += 2;
    emit(l, TK_RDELIM);
    if (trim) skip_spaces(l);
}

static void lex_punct(lexer *l, int c) {
    switch (c) {
    case '=': emit(l, TK_ASSIGN); return;
    case ':':
        if (peekc(l) != '=') { lex_error(l, "expected :="); return; }
        l->pos++;
        emit(l, TK_DECLARE);
        return;
    case '|': emit(l, TK_PIPE); return;
    case '"': lex_quote(l, '"', TK_STRING, "quoted string"); return;
    case '\'': lex_quote(l, '\'', TK_CHARCONST, "character constant"); return;
    case '`': lex_raw_quote(l); return;
    case '$': lex_field_or_var(l, TK_VARIABLE); return;
    case '(': l->paren++; emit(l, TK_LPAREN); return;
    case ')':
        if (--l->paren < 0) { lex_error(l, "unexpected right paren"); return; }
        emit(l, TK_RPAREN);
        return;
    }
    if (c < 0x7f && c >= 0x20) { emit(l, TK_CHAR); return; }
    l->pos = l->start;
    char d[32];
    rune_desc(l, l->pos, d, sizeof d);
    lex_error(l, "unrecognized character in action: %s", d);
}

/* One token inside an action; returns false when the action is over. */
static bool lex_inside(lexer *l) {
    bool trim;
    if (at_right_delim(l, &trim)) {
        if (l->paren == 0) { lex_right_delim(l, trim); return false; }
        lex_error(l, "unclosed left paren");
        return false;
    }
    int c = peekc(l);
    if (c < 0) { lex_error(l, "unclosed action"); return false; }
    if (is_space(c)) { lex_space(l); return true; }
    if (c == '.' && l->pos + 1 < l->n && !(l->s[l->pos + 1] >= '0' && l->s[l->pos + 1] <= '9')) {
        l->pos++;
        lex_field_or_var(l, TK_FIELD);
    } else if (c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        lex_number(l);
    } else if (is_alnum(c)) {
        lex_identifier(l);
    } else {
        l->pos++;
        lex_punct(l, c);
    }
    return !l->done;
}

void gt_lex(const char *src, size_t n, gt_tokens *out) {
    memset(out, 0, sizeof *out);
    lexer l = {.s = src, .n = n, .out = out};
    for (int r; !l.done && (r = lex_text(&l)) != LEX_END;)
        if (r == LEX_ACTION)
            while (lex_inside(&l)) {}
}

void gt_tokens_free(gt_tokens *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

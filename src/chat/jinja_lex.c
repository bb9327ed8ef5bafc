/* jinja_lex: Jinja2's lexer as transformers configures it (trim_blocks,
 * lstrip_blocks): template text, {{ }} / {% %} / {# #} tags with their
 * -/+ whitespace control, raw blocks, and the tokens inside tags (names,
 * Python string and number literals, operators). Mirrors the regex rules
 * of jinja2/lexer.py so whitespace comes out byte for byte the same. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

typedef struct lexer {
    const char *s;
    size_t n, pos;
    int line;
    bool line_starting; /* the last match ended a line (lstrip_blocks) */
    jtok *t;
    size_t nt, cap;
    oc_error *err;
    int balance[64];
    size_t nbal;
} lexer;

static int lex_fail(lexer *L, const char *fmt, const char *arg) {
    char m[200];
    snprintf(m, sizeof m, fmt, arg);
    return oc_fail(L->err, "TemplateSyntaxError: %s (line %d)", m, L->line);
}

static jtok *push(lexer *L, jtok_type type, int line) {
    if (L->nt == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 64;
        L->t = oc_realloc(L->t, L->cap * sizeof(jtok));
    }
    jtok *t = &L->t[L->nt++];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->line = line;
    return t;
}

static void count_lines(lexer *L, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (L->s[i] == '\n') L->line++;
}

static size_t skip_ws(const lexer *L, size_t p) {
    uint32_t c;
    while (p < L->n) {
        size_t l = u8_decode(L->s, L->n, p, &c);
        if (!py_isspace(c)) break;
        p += l;
    }
    return p;
}

/* The text before a tag, after the tag's whitespace control: '-' strips
 * all trailing whitespace; otherwise lstrip_blocks drops spaces and tabs
 * back to the line start when nothing else precedes the tag there. */
static void emit_data(lexer *L, size_t a, size_t b, char sign, bool lstrip) {
    int line = L->line;
    count_lines(L, a, b);
    if (sign == '-') {
        size_t s0, e0;
        py_strip(L->s + a, b - a, NULL, 0, 2, &s0, &e0);
        b = a + e0;
    } else if (sign != '+' && lstrip) {
        size_t lp = b;
        while (lp > a && L->s[lp - 1] != '\n') lp--;
        bool only_ws = true;
        for (size_t i = lp; i < b; i++)
            if (L->s[i] != ' ' && L->s[i] != '\t') only_ws = false;
        if ((lp > a || L->line_starting) && only_ws) b = lp;
    }
    if (b > a) {
        jtok *t = push(L, T_DATA, line);
        t->s = oc_strndup(L->s + a, b - a);
        t->len = b - a;
    }
}

/* Matches `{%[-+]?\s*WORD\s*` at p, then the block end: returns the end
 * of the match (0 if none) and the signs. Used for raw / endraw. */
static size_t match_word_tag(const lexer *L, size_t p, const char *word, char *open_sign, char *close_sign, bool trim) {
    const char *s = L->s;
    size_t n = L->n, wl = strlen(word);
    if (p + 2 > n || s[p] != '{' || s[p + 1] != '%') return 0;
    p += 2;
    *open_sign = 0;
    if (p < n && (s[p] == '-' || s[p] == '+')) *open_sign = s[p++];
    p = skip_ws(L, p);
    if (p + wl > n || memcmp(s + p, word, wl) != 0) return 0;
    p = skip_ws(L, p + wl);
    *close_sign = 0;
    if (p + 3 <= n && (s[p] == '-' || s[p] == '+') && s[p + 1] == '%' && s[p + 2] == '}') {
        *close_sign = s[p];
        p += 3;
        if (*close_sign == '-') p = skip_ws(L, p);
        return p;
    }
    if (p + 2 <= n && s[p] == '%' && s[p + 1] == '}') {
        p += 2;
        if (trim && p < n && s[p] == '\n') p++;
        return p;
    }
    return 0;
}

static int lex_comment(lexer *L, size_t p) {
    const char *e = NULL;
    for (size_t q = p; q + 1 < L->n; q++)
        if (L->s[q] == '#' && L->s[q + 1] == '}') {
            e = L->s + q;
            break;
        }
    if (!e) return lex_fail(L, "%s", "Missing end of comment tag");
    size_t q = (size_t)(e - L->s), end = q + 2;
    char sign = q > p && (L->s[q - 1] == '-' || L->s[q - 1] == '+') ? L->s[q - 1] : 0;
    if (sign == '-')
        end = skip_ws(L, end);
    else if (!sign && end < L->n && L->s[end] == '\n')
        end++;
    count_lines(L, L->pos, end);
    L->line_starting = L->s[end - 1] == '\n';
    L->pos = end;
    return 0;
}

static int lex_raw(lexer *L, size_t body) {
    char os, cs;
    for (size_t q = body; q + 1 < L->n; q++) {
        if (L->s[q] != '{' || L->s[q + 1] != '%') continue;
        size_t end = match_word_tag(L, q, "endraw", &os, &cs, true);
        if (!end) continue;
        L->pos = body;
        emit_data(L, body, q, os, true);
        count_lines(L, q, end);
        L->line_starting = L->s[end - 1] == '\n';
        L->pos = end;
        return 0;
    }
    return lex_fail(L, "%s", "Missing end of raw directive");
}

static const struct {
    const char *s;
    int op;
} OPS[] = {
    {"//", OP_FLOORDIV}, {"**", OP_POW},      {"==", OP_EQ},    {"!=", OP_NE},    {">=", OP_GE},    {"<=", OP_LE},
    {"+", OP_ADD},       {"-", OP_SUB},       {"/", OP_DIV},    {"*", OP_MUL},    {"%", OP_MOD},    {"~", OP_TILDE},
    {"[", OP_LBRACKET},  {"]", OP_RBRACKET},  {"(", OP_LPAREN}, {")", OP_RPAREN}, {"{", OP_LBRACE}, {"}", OP_RBRACE},
    {">", OP_GT},        {"<", OP_LT},        {"=", OP_ASSIGN}, {".", OP_DOT},    {":", OP_COLON},  {"|", OP_PIPE},
    {",", OP_COMMA},     {";", OP_SEMICOLON},
};

const char *jinja_op_str(int op) {
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (OPS[i].op == op) return OPS[i].s;
    return op == OP_IN ? "in" : op == OP_NOTIN ? "not in" : "?";
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* `(\d+_)*\d+` at p: returns the end, or p when absent. */
static size_t digits(const lexer *L, size_t p) {
    size_t q = p;
    while (q < L->n && is_digit(L->s[q])) {
        q++;
        if (q + 1 < L->n && L->s[q] == '_' && is_digit(L->s[q + 1])) q++;
    }
    return q;
}

static void copy_number(const lexer *L, size_t a, size_t b, char *buf, size_t cap) {
    size_t k = 0;
    for (size_t i = a; i < b && k + 1 < cap; i++)
        if (L->s[i] != '_') buf[k++] = L->s[i];
    buf[k] = 0;
}

static size_t lex_float_end(const lexer *L, size_t p) {
    if (p > 0 && L->s[p - 1] == '.') return 0; /* (?<!\.) */
    size_t q = digits(L, p), f = q;
    if (q == p) return 0;
    bool frac = false;
    if (q + 1 < L->n && L->s[q] == '.' && is_digit(L->s[q + 1])) {
        f = digits(L, q + 1);
        frac = true;
    }
    if (f < L->n && (L->s[f] == 'e' || L->s[f] == 'E')) {
        size_t e = f + 1;
        if (e < L->n && (L->s[e] == '+' || L->s[e] == '-')) e++;
        size_t ee = digits(L, e);
        if (ee > e) return ee;
    }
    return frac ? f : 0;
}

static int lex_number(lexer *L, size_t *p) {
    char buf[80];
    size_t a = *p, e = lex_float_end(L, a);
    if (e) {
        copy_number(L, a, e, buf, sizeof buf);
        jtok *t = push(L, T_FLOAT, L->line);
        t->f = strtod(buf, NULL);
        *p = e;
        return 0;
    }
    const char *s = L->s;
    int base = 10;
    size_t q = a;
    if (s[a] == '0' && a + 1 < L->n && strchr("bBoOxX", s[a + 1]) && s[a + 1]) {
        base = (s[a + 1] | 32) == 'b' ? 2 : (s[a + 1] | 32) == 'o' ? 8 : 16;
        q = a + 2;
        size_t start = q;
        while (q < L->n && (s[q] == '_' || (base == 16 ? strchr("0123456789abcdefABCDEF", s[q]) && s[q]
                                                       : s[q] >= '0' && s[q] < '0' + base)))
            q++;
        if (q == start)
            base = 10, q = a + 1; /* just the 0 */
        else
            copy_number(L, start, q, buf, sizeof buf);
    } else if (s[a] == '0') {
        q = a + 1;
        while (q < L->n && (s[q] == '0' || (s[q] == '_' && q + 1 < L->n && s[q + 1] == '0'))) q++;
    } else {
        q = digits(L, a);
    }
    if (base == 10) copy_number(L, a, q, buf, sizeof buf);
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, base);
    if (errno == ERANGE || v > (unsigned long long)INT64_MAX) return lex_fail(L, "%s", "integer literal too large");
    jtok *t = push(L, T_INT, L->line);
    t->i = (int64_t)v;
    *p = q;
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 32;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One backslash escape of a string literal at s[*i] (after the
 * backslash), decoded the way Python's unicode-escape codec does. */
static int lex_escape(lexer *L, const char *s, size_t n, size_t *i, oc_buf *b) {
    char c = s[*i];
    const char *simple = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
    for (const char *p = simple; *p; p += 2)
        if (c == p[0]) {
            oc_buf_append(b, p + 1, 1);
            (*i)++;
            return 0;
        }
    if (c == '\n') {
        (*i)++;
        return 0;
    } /* line continuation */
    if (c >= '0' && c <= '7') {
        uint32_t v = 0;
        for (int k = 0; k < 3 && *i < n && s[*i] >= '0' && s[*i] <= '7'; k++) v = v * 8 + (uint32_t)(s[(*i)++] - '0');
        u8_encode(b, v);
        return 0;
    }
    int digits_n = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits_n) {
        uint32_t v = 0;
        for (int k = 1; k <= digits_n; k++) {
            int h = *i + (size_t)k < n ? hexval(s[*i + (size_t)k]) : -1;
            if (h < 0) return lex_fail(L, "%s", "truncated \\xXX / \\uXXXX escape in a string literal");
            v = v * 16 + (uint32_t)h;
        }
        if (v > 0x10ffff) return lex_fail(L, "%s", "illegal Unicode character in a string literal");
        *i += (size_t)digits_n + 1;
        u8_encode(b, v);
        return 0;
    }
    if ((unsigned char)c >= 0x80) {
        /* Jinja escapes non-ASCII as \xNN / \uNNNN before decoding, so a
         * backslash before one leaves that escape's text behind */
        uint32_t cp;
        *i += u8_decode(s, n, *i, &cp);
        oc_buf_printf(b, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
        return 0;
    }
    oc_buf_append(b, "\\", 1); /* unknown escapes stay as written */
    return 0;
}

static int lex_string(lexer *L, size_t *p) {
    const char *s = L->s;
    char q = s[*p];
    size_t i = *p + 1, n = L->n;
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    int line = L->line;
    while (i < n && s[i] != q) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
            if (lex_escape(L, s, n, &i, &b)) {
                oc_buf_free(&b);
                return -1;
            }
            continue;
        }
        oc_buf_append(&b, s + i, 1);
        i++;
    }
    if (i >= n) {
        oc_buf_free(&b);
        return lex_fail(L, "%s", "unexpected char in string literal: unterminated string");
    }
    count_lines(L, *p, i);
    jtok *t = push(L, T_STRING, line);
    t->len = b.len;
    t->s = b.data;
    *p = i + 1;
    return 0;
}

static bool name_start(char c) { return c == '_' || ((c | 32) >= 'a' && (c | 32) <= 'z'); }

static int lex_operator(lexer *L, size_t *p) {
    const char *s = L->s;
    for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++) {
        size_t l = strlen(OPS[k].s);
        if (*p + l > L->n || memcmp(s + *p, OPS[k].s, l) != 0) continue;
        int op = OPS[k].op;
        if (op == OP_LPAREN || op == OP_LBRACKET || op == OP_LBRACE) {
            if (L->nbal == sizeof L->balance / sizeof L->balance[0])
                return lex_fail(L, "%s", "brackets nested too deeply");
            L->balance[L->nbal++] = op + 1; /* the matching closer */
        } else if (op == OP_RPAREN || op == OP_RBRACKET || op == OP_RBRACE) {
            if (!L->nbal || L->balance[L->nbal - 1] != op) return lex_fail(L, "unexpected '%s'", OPS[k].s);
            L->nbal--;
        }
        jtok *t = push(L, T_OP, L->line);
        t->op = op;
        *p += l;
        return 0;
    }
    uint32_t cp; /* Jinja: f"unexpected char {char!r} at {pos}" */
    size_t l = u8_decode(s, L->n, *p, &cp);
    oc_buf m = {0};
    py_str_repr(s + *p, l, &m);
    oc_buf_printf(&m, " at %zu", u8_count(s, *p));
    int rc = lex_fail(L, "unexpected char %s", m.data);
    oc_buf_free(&m);
    return rc;
}

/* The end of the tag at p, if one starts there: `-%}` (eats following
 * whitespace), `+%}`, `%}` (eats one newline: trim_blocks), or `-}}`/`}}`. */
static size_t tag_end(const lexer *L, size_t p, bool block) {
    const char *s = L->s;
    size_t n = L->n;
    char c1 = block ? '%' : '}';
    if (p + 3 <= n && (s[p] == '-' || (block && s[p] == '+')) && s[p + 1] == c1 && s[p + 2] == '}')
        return s[p] == '-' ? skip_ws(L, p + 3) : p + 3;
    if (p + 2 <= n && s[p] == c1 && s[p + 1] == '}') {
        p += 2;
        if (block && p < n && s[p] == '\n') p++;
        return p;
    }
    return 0;
}

static int lex_tag_token(lexer *L, size_t *p) {
    const char *s = L->s;
    char c = s[*p];
    if (is_digit(c)) return lex_number(L, p);
    if (name_start(c)) {
        size_t q = *p;
        while (q < L->n && (name_start(s[q]) || is_digit(s[q]))) q++;
        jtok *t = push(L, T_NAME, L->line);
        t->s = oc_strndup(s + *p, q - *p);
        t->len = q - *p;
        *p = q;
        return 0;
    }
    if (c == '\'' || c == '"') return lex_string(L, p);
    return lex_operator(L, p);
}

static int lex_tag(lexer *L, size_t p, bool block) {
    push(L, block ? T_BLOCK_BEGIN : T_VAR_BEGIN, L->line);
    L->nbal = 0;
    for (;;) {
        size_t e = L->nbal ? 0 : tag_end(L, p, block);
        if (e) {
            push(L, block ? T_BLOCK_END : T_VAR_END, L->line);
            count_lines(L, p, e);
            L->line_starting = L->s[e - 1] == '\n';
            L->pos = e;
            return 0;
        }
        size_t w = skip_ws(L, p);
        if (w > p) {
            count_lines(L, p, w);
            p = w;
            continue;
        }
        if (p >= L->n)
            return lex_fail(L, "%s",
                            block ? "unexpected end of template, expected 'end of statement block'."
                                  : "unexpected end of template, expected 'end of print statement'.");
        if (lex_tag_token(L, &p)) return -1;
    }
}

/* Finds the next `{{`, `{%` or `{#` at or after p. */
static size_t find_tag(const lexer *L, size_t p) {
    for (;;) {
        const char *q = memchr(L->s + p, '{', L->n - p);
        if (!q) return L->n;
        size_t i = (size_t)(q - L->s);
        if (i + 1 < L->n && (q[1] == '{' || q[1] == '%' || q[1] == '#')) return i;
        p = i + 1;
    }
}

static int lex_root_step(lexer *L) {
    size_t q = find_tag(L, L->pos);
    if (q >= L->n) {
        emit_data(L, L->pos, L->n, 0, false);
        L->pos = L->n;
        return 0;
    }
    char os, cs;
    size_t raw_end = L->s[q + 1] == '%' ? match_word_tag(L, q, "raw", &os, &cs, false) : 0;
    if (raw_end && cs == '+') raw_end = 0; /* `+%}` does not close a raw opener */
    char kind = L->s[q + 1];
    size_t after = q + 2;
    char sign = 0;
    if (raw_end)
        sign = os;
    else if (after < L->n && (L->s[after] == '-' || L->s[after] == '+'))
        sign = L->s[after++];
    emit_data(L, L->pos, q, sign, kind != '{');
    if (raw_end) {
        count_lines(L, q, raw_end);
        L->line_starting = L->s[raw_end - 1] == '\n';
        return lex_raw(L, raw_end);
    }
    L->line_starting = false;
    L->pos = after;
    if (kind == '#') return lex_comment(L, after);
    return lex_tag(L, after, kind == '%');
}

int jinja_lex(const char *src, size_t n, jtok **toks, size_t *ntoks, oc_error *err) {
    lexer L = {.s = src, .n = n, .line = 1, .line_starting = true, .err = err};
    while (L.pos < L.n)
        if (lex_root_step(&L)) {
            jinja_toks_free(L.t, L.nt);
            return -1;
        }
    push(&L, T_EOF, L.line);
    *toks = L.t;
    *ntoks = L.nt;
    return 0;
}

void jinja_toks_free(jtok *toks, size_t n) {
    for (size_t i = 0; i < n; i++) free(toks[i].s);
    free(toks);
}

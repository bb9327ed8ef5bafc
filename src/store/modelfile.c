/* The Modelfile parser: upstream parser/parser.go's rune state machine,
 * reproduced quirk for quirk (line counting on CR and LF, values that
 * swallow the rest of the file when a quote never closes, non-printable
 * runes dropped) because Modelfiles written for Ollama must mean the same. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "store/store_internal.h"

#define ERR_COMMAND                                                                                      \
    "command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", \"draft\", "   \
    "\"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\""
#define ERR_ROLE "message role must be one of \"system\", \"user\", or \"assistant\""

/* ---- decoding: UTF-8 (BOM skipped) or UTF-16 by BOM, invalid -> U+FFFD ---- */

static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)n, &c);
    if (k <= 0) {
        *cp = 0xFFFD; /* Go: one U+FFFD per invalid byte */
        return 1;
    }
    *cp = (uint32_t)c;
    return (size_t)k;
}

static uint32_t *decode_utf16(const unsigned char *s, size_t n, bool be, size_t *out_n) {
    uint32_t *out = oc_malloc((n / 2 + 2) * sizeof *out);
    size_t k = 0, i = 0;
    for (; i + 1 < n; i += 2) {
        uint32_t u = be ? (uint32_t)(s[i] << 8 | s[i + 1]) : (uint32_t)(s[i + 1] << 8 | s[i]);
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < n) {
            uint32_t l = be ? (uint32_t)(s[i + 2] << 8 | s[i + 3]) : (uint32_t)(s[i + 3] << 8 | s[i + 2]);
            if (l >= 0xDC00 && l < 0xE000) {
                out[k++] = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                i += 2;
                continue;
            }
        }
        out[k++] = (u >= 0xD800 && u < 0xE000) ? 0xFFFD : u;
    }
    if (i < n) out[k++] = 0xFFFD; /* odd trailing byte */
    *out_n = k;
    return out;
}

static uint32_t *decode(const unsigned char *s, size_t n, size_t *out_n) {
    if (n >= 2 && s[0] == 0xFF && s[1] == 0xFE) return decode_utf16(s + 2, n - 2, false, out_n);
    if (n >= 2 && s[0] == 0xFE && s[1] == 0xFF) return decode_utf16(s + 2, n - 2, true, out_n);
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) s += 3, n -= 3;
    uint32_t *out = oc_malloc((n + 1) * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n;) i += utf8_decode(s + i, n - i, &out[k++]);
    *out_n = k;
    return out;
}

/* strconv.IsPrint: letters, marks, numbers, punctuation, symbols, ' '. */
bool store_is_print(uint32_t r) {
    if (r == ' ') return true;
    if (r > 0x10FFFF) return false;
    int c = utf8proc_category((utf8proc_int32_t)r);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_SO;
}

static bool is_alpha(uint32_t r) { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'); }
static bool is_space(uint32_t r) { return r == ' ' || r == '\t'; }
static bool is_newline(uint32_t r) { return r == '\r' || r == '\n'; }

static void put_rune(oc_buf *b, uint32_t r) {
    utf8proc_uint8_t tmp[4];
    utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)r, tmp);
    oc_buf_append(b, tmp, (size_t)n);
}

/* ---- the state machine ---- */

enum mf_state { ST_NIL, ST_NAME, ST_VALUE, ST_PARAM, ST_MESSAGE, ST_COMMENT };
enum mf_err { E_NONE, E_COMMAND, E_EOF };

/* parseRuneForState: the next state; *r becomes 0 where upstream drops the rune. */
static enum mf_state step(uint32_t *r, enum mf_state cs, enum mf_err *e) {
    uint32_t c = *r;
    *e = E_NONE;
    switch (cs) {
    case ST_NIL:
        if (c == '#') return *r = 0, ST_COMMENT;
        if (is_space(c) || is_newline(c)) return *r = 0, ST_NIL;
        return ST_NAME;
    case ST_NAME:
        if (is_alpha(c)) return ST_NAME;
        if (is_space(c)) return *r = 0, ST_VALUE;
        return *e = E_COMMAND, *r = 0, ST_NIL;
    case ST_VALUE:
        return is_newline(c) || is_space(c) ? ST_NIL : ST_VALUE;
    case ST_PARAM:
        if (is_alpha(c) || (c >= '0' && c <= '9') || c == '_') return ST_PARAM;
        if (is_space(c)) return *r = 0, ST_VALUE;
        return *e = E_EOF, *r = 0, ST_NIL;
    case ST_MESSAGE:
        if (is_alpha(c)) return ST_MESSAGE;
        if (is_space(c)) return *r = 0, ST_VALUE;
        return *e = E_EOF, *r = 0, ST_NIL;
    default: /* ST_COMMENT */
        return is_newline(c) ? (*r = 0, ST_NIL) : (*r = 0, ST_COMMENT);
    }
}

static bool valid_command(const char *s) {
    static const char *cmds[] = {"from",     "license", "template",  "system",  "adapter", "draft",
                                 "renderer", "parser",  "parameter", "message", "requires"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (strcasecmp(s, cmds[i]) == 0) return true;
    return false;
}

/* Trims ASCII white space (all the space a value buffer can hold), then
 * removes """ or " quotes; false while a quote is still open. */
static bool unquote(const char *s, size_t len, const char **out, size_t *out_len) {
    while (len && strchr(" \t\r\n", *s)) s++, len--;
    while (len && strchr(" \t\r\n", s[len - 1])) len--;
    if (len >= 3 && !memcmp(s, "\"\"\"", 3)) {
        if (len < 6 || memcmp(s + len - 3, "\"\"\"", 3)) return false;
        s += 3, len -= 6;
    } else if (len >= 1 && s[0] == '"') {
        if (len < 2 || s[len - 1] != '"') return false;
        s += 1, len -= 2;
    }
    *out = s;
    *out_len = len;
    return true;
}

typedef struct parser {
    store_modelfile *mf;
    oc_buf b;
    char *name; /* current command name (persists like upstream's cmd.Name) */
    char *role; /* pending MESSAGE role */
    int line;
    oc_error *err;
} parser;

static void push_command(parser *p, const char *val, size_t len) {
    oc_buf args = {0};
    if (p->role) {
        oc_buf_printf(&args, "%s: ", p->role);
        free(p->role);
        p->role = NULL;
    }
    oc_buf_append(&args, val, len);
    store_modelfile *mf = p->mf;
    mf->commands = oc_realloc(mf->commands, (mf->n + 1) * sizeof *mf->commands);
    mf->commands[mf->n].name = oc_strdup(p->name ? p->name : "");
    mf->commands[mf->n].args = args.data;
    mf->n++;
}

static void set_name(parser *p, const char *s) {
    free(p->name);
    p->name = oc_strdup(s);
}

/* Leaving ST_NAME: validates the word and picks the next state. */
static int end_word(parser *p, enum mf_state *next) {
    if (!valid_command(p->b.data)) return oc_fail(p->err, "(line %d): %s", p->line, ERR_COMMAND);
    char *s = oc_strdup(p->b.data);
    for (char *q = s; *q; q++) *q = (char)(*q | 0x20); /* ASCII letters only */
    if (!strcmp(s, "from")) set_name(p, "model");
    else if (!strcmp(s, "parameter")) *next = ST_PARAM;
    else {
        if (!strcmp(s, "message")) *next = ST_MESSAGE;
        set_name(p, s);
    }
    free(s);
    return 0;
}

/* A state change; returns 1 when the rune was consumed (value continues). */
static int transition(parser *p, enum mf_state cur, enum mf_state *next, uint32_t r) {
    if (cur == ST_NAME) return end_word(p, next);
    if (cur == ST_PARAM) set_name(p, p->b.data);
    if (cur == ST_MESSAGE) {
        const char *b = p->b.data;
        if (strcmp(b, "system") && strcmp(b, "user") && strcmp(b, "assistant"))
            return oc_fail(p->err, "(line %d): %s", p->line, ERR_ROLE);
        free(p->role);
        p->role = oc_strdup(b);
    }
    if (cur == ST_VALUE) {
        const char *v;
        size_t vl;
        if (!unquote(p->b.data, p->b.len, &v, &vl) || is_space(r)) {
            put_rune(&p->b, r); /* inside quotes, or a space within the value */
            return 1;
        }
        char *copy = oc_strndup(v, vl);
        push_command(p, copy, vl);
        free(copy);
    }
    return 0;
}

static int finish(parser *p, enum mf_state cur) {
    if (cur == ST_VALUE) {
        const char *v;
        size_t vl;
        if (!unquote(p->b.data, p->b.len, &v, &vl)) return oc_fail(p->err, "unexpected EOF");
        char *copy = oc_strndup(v, vl);
        push_command(p, copy, vl);
        free(copy);
    } else if (cur != ST_NIL && cur != ST_COMMENT) {
        return oc_fail(p->err, "unexpected EOF");
    }
    for (size_t i = 0; i < p->mf->n; i++)
        if (!strcmp(p->mf->commands[i].name, "model")) return 0;
    return oc_fail(p->err, "no FROM line");
}

static int run(parser *p, const uint32_t *runes, size_t n) {
    enum mf_state cur = ST_NIL;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = runes[i];
        enum mf_err e;
        if (is_newline(r)) p->line++;
        enum mf_state next = step(&r, cur, &e);
        if (e == E_EOF) return oc_fail(p->err, "unexpected EOF: %s", p->b.data);
        if (e == E_COMMAND) return oc_fail(p->err, "(line %d): %s", p->line, ERR_COMMAND);
        if (next != cur) {
            int t = transition(p, cur, &next, r);
            if (t < 0) return -1;
            if (t == 1) continue;
            oc_buf_clear(&p->b);
            cur = next;
        }
        if (store_is_print(r)) put_rune(&p->b, r);
    }
    return finish(p, cur);
}

int store_modelfile_parse(const void *data, size_t len, store_modelfile *mf, oc_error *err) {
    memset(mf, 0, sizeof *mf);
    size_t n;
    uint32_t *runes = decode(data, len, &n);
    parser p = {.mf = mf, .line = 1, .err = err};
    oc_buf_puts(&p.b, "");
    int rc = run(&p, runes, n);
    free(runes);
    oc_buf_free(&p.b);
    free(p.name);
    free(p.role);
    if (rc != 0) {
        store_modelfile_free(mf);
        return STORE_ERR_INVALID;
    }
    return 0;
}

void store_modelfile_free(store_modelfile *mf) {
    if (!mf) return;
    for (size_t i = 0; i < mf->n; i++) {
        free(mf->commands[i].name);
        free(mf->commands[i].args);
    }
    free(mf->commands);
    memset(mf, 0, sizeof *mf);
}

/* ---- writing ---- */

char *store_modelfile_quote(const char *s) {
    size_t n = strlen(s);
    oc_buf b = {0};
    if (strchr(s, '\n') || (n && (s[0] == ' ' || s[n - 1] == ' '))) {
        const char *q = strchr(s, '"') ? "\"\"\"" : "\"";
        oc_buf_printf(&b, "%s%s%s", q, s, q);
    } else {
        oc_buf_puts(&b, s);
    }
    return b.data;
}

static void format_command(oc_buf *b, const store_mf_command *c) {
    static const char *plain[] = {"license", "template", "system",   "adapter",
                                  "renderer", "parser",  "requires", "draft"};
    if (!strcmp(c->name, "model")) {
        oc_buf_printf(b, "FROM %s\n", c->args);
        return;
    }
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (!strcmp(c->name, plain[i])) {
            char *q = store_modelfile_quote(c->args);
            oc_buf_puts(b, "");
            for (const char *p = c->name; *p; p++) oc_buf_printf(b, "%c", *p - 'a' + 'A');
            oc_buf_printf(b, " %s\n", q);
            free(q);
            return;
        }
    if (!strcmp(c->name, "message")) {
        const char *sep = strstr(c->args, ": ");
        int rl = sep ? (int)(sep - c->args) : (int)strlen(c->args);
        char *q = store_modelfile_quote(sep ? sep + 2 : "");
        oc_buf_printf(b, "MESSAGE %.*s %s\n", rl, c->args, q);
        free(q);
        return;
    }
    char *q = store_modelfile_quote(c->args);
    oc_buf_printf(b, "PARAMETER %s %s\n", c->name, q);
    free(q);
}

char *store_modelfile_format(const store_modelfile *mf) {
    oc_buf b = {0};
    oc_buf_puts(&b, "");
    for (size_t i = 0; i < mf->n; i++) format_command(&b, &mf->commands[i]);
    return b.data;
}

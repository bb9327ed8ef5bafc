/* gotmpl_parse: the parser of the Go text/template engine, after Go's
 * text/template/parse: tokens to syntax trees, one per template name
 * ({{define}} and {{block}} add more), with Go's checks (declared
 * variables, known functions, break/continue inside range) and its error
 * messages. Also owns the template object's memory: an arena for the trees
 * and the list of JSON constants. Parse errors unwind with longjmp, which
 * is safe because everything allocated lives in the arena or the object. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/gotmpl_internal.h"

/* ---- arena ---- */

typedef struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    max_align_t data[];
} arena_blk;

static void *aalloc(gotmpl *t, size_t n) {
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    arena_blk *b = t->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        arena_blk *nb = oc_malloc(sizeof *nb + cap);
        nb->next = b, nb->used = 0, nb->cap = cap;
        t->arena = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static char *astrndup(gotmpl *t, const char *s, size_t n) {
    char *p = aalloc(t, n + 1);
    memcpy(p, s, n);
    return p;
}

/* Makes room for element n of an arena array whose capacity doubles at
 * each power of two, so appends stay linear. */
static void *agrow(gotmpl *t, void *arr, int n, size_t elem) {
    if (n & (n - 1)) return arr;
    void *p = aalloc(t, (size_t)(n ? 2 * n : 1) * elem);
    if (n) memcpy(p, arr, (size_t)n * elem);
    return p;
}

static json_t *keep_lit(gotmpl *t, json_t *j) {
    if (t->n_lits == t->cap_lits) {
        t->cap_lits = t->cap_lits ? t->cap_lits * 2 : 16;
        t->lits = oc_realloc(t->lits, t->cap_lits * sizeof *t->lits);
    }
    return t->lits[t->n_lits++] = j;
}

/* ---- parser state ---- */

typedef struct {
    gotmpl *t;
    gt_tokens toks;
    size_t i, hi;
    const char **vars;
    int n_vars, cap_vars, vars_base;
    int range_depth, nest;
    jmp_buf fail;
    oc_error *err;
} parser;

static gt_node end_mark, else_mark;

void gt_location(const gotmpl *t, uint32_t pos, char *buf, size_t n) {
    int line = 1;
    uint32_t col = 0;
    for (uint32_t k = 0; k < pos && k < t->src_len; k++) {
        if (t->src[k] == '\n') line++, col = 0;
        else col++;
    }
    snprintf(buf, n, "%s:%d:%u", t->name, line, col);
}

/* Parse errors read "template: NAME:LINE:COL: message"; Go gives only the
 * line, the column here points at the token at fault. */
static void vperr(parser *p, uint32_t pos, const char *fmt, va_list ap) __attribute__((noreturn));
static void vperr(parser *p, uint32_t pos, const char *fmt, va_list ap) {
    char msg[400], loc[200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    gt_location(p->t, pos, loc, sizeof loc);
    oc_fail(p->err, "template: %s: %s", loc, msg);
    longjmp(p->fail, 1);
}

static void perr_at(parser *p, uint32_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
static void perr_at(parser *p, uint32_t pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vperr(p, pos, fmt, ap);
}

static const gt_token *prev(const parser *p);

/* An error at the token read last. */
static void perr(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void perr(parser *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vperr(p, prev(p)->pos, fmt, ap);
}

/* The token list ends in EOF or ERROR, which reads as repeating forever. */
static const gt_token *peek(parser *p) {
    size_t k = p->i < p->toks.n ? p->i : p->toks.n - 1;
    if (k > p->hi) p->hi = k;
    return &p->toks.v[k];
}

static const gt_token *next(parser *p) {
    const gt_token *tk = peek(p);
    p->i++;
    return tk;
}

static void backup(parser *p) { p->i--; }

static const gt_token *next_non_space(parser *p) {
    const gt_token *tk;
    while ((tk = next(p))->type == TK_SPACE) {}
    return tk;
}

static const gt_token *peek_non_space(parser *p) {
    while (peek(p)->type == TK_SPACE) p->i++;
    return peek(p);
}

static const gt_token *prev(const parser *p) {
    size_t k = p->i ? p->i - 1 : 0;
    return &p->toks.v[k < p->toks.n ? k : p->toks.n - 1];
}

static const char *tsrc(const parser *p, const gt_token *tk) { return p->t->src + tk->pos; }

/* A token as Go's item.String shows it. */
static void token_str(const parser *p, const gt_token *tk, char *buf, size_t n) {
    static const char *const kw[] = {"block", "break", "continue", ".", "define", "else", "end", "if", "nil", "range", "template", "with"};
    if (tk->type == TK_EOF) { snprintf(buf, n, "EOF"); return; }
    if (tk->type == TK_ERROR) { snprintf(buf, n, "%s", p->toks.err); return; }
    if (tk->type > TK_KEYWORD) { snprintf(buf, n, "<%s>", kw[tk->type - TK_KEYWORD - 1]); return; }
    oc_buf b = {0};
    size_t len = tk->len, runes = 0, k = 0;
    while (k < len && runes < 10) {
        uint32_t cp;
        k += gt_utf8_decode((const unsigned char *)tsrc(p, tk) + k, len - k, &cp);
        runes++;
    }
    gt_quote(&b, tsrc(p, tk), k);
    snprintf(buf, n, "%s%s", b.data, k < len ? "..." : "");
    oc_buf_free(&b);
}

static void unexpected(parser *p, const gt_token *tk, const char *ctx) __attribute__((noreturn));
static void unexpected(parser *p, const gt_token *tk, const char *ctx) {
    if (tk->type == TK_ERROR) perr_at(p, tk->pos, "%s", p->toks.err);
    char s[64];
    token_str(p, tk, s, sizeof s);
    perr_at(p, tk->pos, "unexpected %s in %s", s, ctx);
}

static const gt_token *expect(parser *p, gt_tok_type type, const char *ctx) {
    const gt_token *tk = next_non_space(p);
    if (tk->type != type) unexpected(p, tk, ctx);
    return tk;
}

static void nest_in(parser *p) {
    if (++p->nest > GT_MAX_NEST) perr(p, "max expression depth exceeded");
}

/* ---- variables in scope ---- */

static void push_var(parser *p, const char *name) {
    if (p->n_vars == p->cap_vars) {
        p->cap_vars = p->cap_vars ? p->cap_vars * 2 : 16;
        p->vars = oc_realloc(p->vars, (size_t)p->cap_vars * sizeof *p->vars);
    }
    p->vars[p->n_vars++] = name;
}

static bool has_var(const parser *p, const char *name) {
    for (int k = p->vars_base; k < p->n_vars; k++)
        if (strcmp(p->vars[k], name) == 0) return true;
    return false;
}

/* ---- string and number constants ---- */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a quoted literal, as strconv.UnquoteChar: appends it to
 * b and returns the bytes consumed, or 0 on bad syntax. *rune gets its
 * value (for character constants). */
static size_t unquote_char(const char *s, size_t n, char q, oc_buf *b, uint32_t *rune) {
    unsigned char c = (unsigned char)s[0];
    if (c == q && q != '`') return 0;
    if (c >= 0x80) {
        size_t k = gt_utf8_decode((const unsigned char *)s, n, rune);
        gt_utf8_encode(b, *rune);
        return k;
    }
    if (c != '\\') { *rune = c; oc_buf_append(b, s, 1); return 1; }
    if (n < 2) return 0;
    static const char esc[] = "a\ab\bf\fn\nr\rt\tv\v\\\\";
    const char *e = strchr(esc, s[1]);
    if (e && s[1] && (e - esc) % 2 == 0) { *rune = (unsigned char)e[1]; oc_buf_append(b, e + 1, 1); return 2; }
    if (s[1] == '\'' || s[1] == '"') {
        if (s[1] != q) return 0;
        *rune = (unsigned char)s[1];
        oc_buf_append(b, s + 1, 1);
        return 2;
    }
    int digits = s[1] == 'x' ? 2 : s[1] == 'u' ? 4 : s[1] == 'U' ? 8 : (s[1] >= '0' && s[1] <= '7') ? 3 : 0;
    int base = (s[1] >= '0' && s[1] <= '7') ? 8 : 16;
    size_t at = base == 8 ? 1 : 2;
    if (!digits || n < at + (size_t)digits) return 0;
    uint32_t v = 0;
    for (int k = 0; k < digits; k++) {
        int d = hexval((unsigned char)s[at + k]);
        if (d < 0 || d >= base) return 0;
        v = v * (uint32_t)base + (uint32_t)d;
    }
    if (s[1] == 'x' || base == 8) {
        if (v > 255) return 0;
        char ch = (char)v;
        oc_buf_append(b, &ch, 1);
    } else {
        if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return 0;
        gt_utf8_encode(b, v);
    }
    *rune = v;
    return at + (size_t)digits;
}

/* strconv.Unquote of a "..." or `...` token into b; false on bad syntax. */
static bool unquote(const char *s, size_t n, oc_buf *b) {
    oc_buf_append(b, "", 0);
    if (n < 2) return false;
    if (s[0] == '`') {
        for (size_t k = 1; k + 1 < n; k++)
            if (s[k] != '\r') oc_buf_append(b, s + k, 1);
        return true;
    }
    for (size_t k = 1; k + 1 < n;) {
        uint32_t r;
        size_t used = unquote_char(s + k, n - 1 - k, '"', b, &r);
        if (!used) return false;
        k += used;
    }
    return true;
}

static json_t *string_lit(parser *p, const gt_token *tk) {
    oc_buf b = {0};
    if (!unquote(tsrc(p, tk), tk->len, &b)) { oc_buf_free(&b); perr(p, "invalid syntax"); }
    json_t *j = keep_lit(p->t, json_stringn_nocheck(b.data, b.len));
    oc_buf_free(&b);
    return j;
}

/* Go's literal rules, simplified: underscores only between digits. */
static bool strip_underscores(const char *s, size_t n, char *out, size_t outn) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            if (i == 0 || i + 1 == n || s[i + 1] == '_') return false;
            continue;
        }
        if (k + 1 >= outn) return false;
        out[k++] = s[i];
    }
    out[k] = 0;
    return true;
}

/* strconv.ParseInt/ParseUint with base 0, sign allowed. */
static bool parse_int_lit(const char *s, bool *neg, uint64_t *mag) {
    *neg = *s == '-';
    if (*s == '+' || *s == '-') s++;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) base = 2, s += 2;
    else if (s[0] == '0' && s[1]) base = 8, s += 1;
    if (!*s) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        int d = hexval((unsigned char)*s);
        if (d < 0 || d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *mag = v;
    return true;
}

static bool parse_float_lit(const char *s, double *out) {
    const char *h = s + (*s == '+' || *s == '-');
    bool hex = h[0] == '0' && (h[1] == 'x' || h[1] == 'X');
    if (hex && !strpbrk(s, "pP")) return false;
    if (!hex && (strpbrk(s, "pP") || !strpbrk(s, "0123456789"))) return false;
    errno = 0;
    char *end;
    *out = strtod(s, &end);
    return *end == 0 && isfinite(*out);
}

static gt_arg *new_arg(parser *p, gt_arg_type type, const gt_token *tk) {
    gt_arg *a = aalloc(p->t, sizeof *a);
    a->type = type;
    a->pos = a->loc = tk->pos;
    a->end = tk->pos + tk->len;
    return a;
}

static void char_lit(parser *p, gt_arg *a, const gt_token *tk) {
    oc_buf b = {0};
    uint32_t r = 0;
    size_t used = tk->len > 2 ? unquote_char(tsrc(p, tk) + 1, tk->len - 1, '\'', &b, &r) : 0;
    oc_buf_free(&b);
    if (!used) perr(p, "invalid syntax");
    if (used + 2 != tk->len) perr(p, "malformed character constant: %.*s", (int)tk->len, tsrc(p, tk));
    a->lit = keep_lit(p->t, json_integer(r));
    a->lit_int = true;
}

/* A number as Go's newNumber + idealConstant type it: float64 when written
 * with a point or exponent, else int. An int that overflows int64 is left
 * without a value; executing it fails, as in Go. */
static gt_arg *number(parser *p, const gt_token *tk) {
    gt_arg *a = new_arg(p, A_NUMBER, tk);
    if (tk->type == TK_CHARCONST) { char_lit(p, a, tk); return a; }
    if (tk->type == TK_COMPLEX || tsrc(p, tk)[tk->len - 1] == 'i')
        perr(p, "complex constants are not supported: %.*s", (int)tk->len, tsrc(p, tk));
    char s[128];
    bool neg;
    uint64_t mag;
    if (!strip_underscores(tsrc(p, tk), tk->len, s, sizeof s))
        perr(p, "illegal number syntax: \"%.*s\"", (int)tk->len, tsrc(p, tk));
    bool is_int = parse_int_lit(s, &neg, &mag);
    bool hex = strstr(s, "0x") || strstr(s, "0X");
    if (is_int && !(strpbrk(s, ".eEpP") && !hex)) {
        if ((neg && mag > (uint64_t)INT64_MAX + 1) || (!neg && mag > INT64_MAX)) return a;
        a->lit = keep_lit(p->t, json_integer(neg ? (json_int_t)(0 - mag) : (json_int_t)mag));
        a->lit_int = true;
        return a;
    }
    double f;
    if (!parse_float_lit(s, &f)) perr(p, "illegal number syntax: \"%.*s\"", (int)tk->len, tsrc(p, tk));
    if (!strpbrk(s, ".eEpP")) perr(p, "integer overflow: \"%.*s\"", (int)tk->len, tsrc(p, tk));
    a->lit = keep_lit(p->t, json_real(f));
    return a;
}

/* ---- pipelines and operands ---- */

static gt_pipe *pipeline(parser *p, const char *ctx, gt_tok_type end);

static gt_node *new_node(parser *p, gt_node_type type, uint32_t pos) {
    gt_node *n = aalloc(p->t, sizeof *n);
    n->type = type;
    n->pos = pos;
    return n;
}

static void list_append(parser *p, gt_node *list, gt_node *n) {
    list->nodes = agrow(p->t, list->nodes, list->n, sizeof *list->nodes);
    list->nodes[list->n++] = n;
}

static void add_ident(parser *p, gt_arg *a, const char *s, size_t n) {
    a->idents = agrow(p->t, a->idents, a->n_idents, sizeof *a->idents);
    a->idents[a->n_idents++] = astrndup(p->t, s, n);
}

static gt_arg *term(parser *p) {
    const gt_token *tk = next_non_space(p);
    gt_arg *a;
    switch (tk->type) {
    case TK_IDENT:
        a = new_arg(p, A_IDENT, tk);
        a->func = gt_func_lookup(tsrc(p, tk), tk->len);
        if (a->func < 0) perr(p, "function \"%.*s\" not defined", (int)tk->len, tsrc(p, tk));
        return a;
    case TK_DOT: return new_arg(p, A_DOT, tk);
    case TK_NIL: return new_arg(p, A_NIL, tk);
    case TK_VARIABLE:
        a = new_arg(p, A_VAR, tk);
        add_ident(p, a, tsrc(p, tk), tk->len);
        if (!has_var(p, a->idents[0])) perr(p, "undefined variable \"%s\"", a->idents[0]);
        return a;
    case TK_FIELD:
        a = new_arg(p, A_FIELD, tk);
        add_ident(p, a, tsrc(p, tk) + 1, tk->len - 1);
        return a;
    case TK_BOOL:
        a = new_arg(p, A_BOOL, tk);
        a->lit = keep_lit(p->t, json_boolean(tk->len == 4));
        return a;
    case TK_CHARCONST: case TK_COMPLEX: case TK_NUMBER: return number(p, tk);
    case TK_LPAREN:
        nest_in(p);
        a = new_arg(p, A_PIPE, tk);
        a->pipe = pipeline(p, "parenthesized pipeline", TK_RPAREN);
        a->end = prev(p)->pos + 1;
        a->loc = a->pipe->pos;
        p->nest--;
        return a;
    case TK_STRING: case TK_RAWSTRING:
        a = new_arg(p, A_STRING, tk);
        a->lit = string_lit(p, tk);
        return a;
    default: backup(p); return NULL;
    }
}

static gt_arg *operand(parser *p) {
    gt_arg *node = term(p);
    if (!node || peek(p)->type != TK_FIELD) return node;
    gt_arg *chain = node;
    if (node->type != A_FIELD && node->type != A_VAR) {
        if (node->type != A_IDENT && node->type != A_PIPE) {
            oc_buf q = {0};
            char s[128];
            gt_quote(&q, p->t->src + node->pos, node->end - node->pos);
            snprintf(s, sizeof s, "%s", q.data);
            oc_buf_free(&q);
            perr(p, "unexpected . after term %s", s);
        }
        chain = aalloc(p->t, sizeof *chain);
        *chain = (gt_arg){.type = A_CHAIN, .pos = node->pos, .sub = node};
    }
    chain->loc = peek(p)->pos; /* Go reports a chain at its first added field */
    while (peek(p)->type == TK_FIELD) {
        const gt_token *f = next(p);
        add_ident(p, chain, tsrc(p, f) + 1, f->len - 1);
        chain->end = f->pos + f->len;
    }
    return chain;
}

static gt_cmd *command(parser *p) {
    gt_cmd *cmd = aalloc(p->t, sizeof *cmd);
    for (;;) {
        peek_non_space(p);
        gt_arg *a = operand(p);
        if (a) {
            cmd->args = agrow(p->t, cmd->args, cmd->n, sizeof *cmd->args);
            cmd->args[cmd->n++] = a;
        }
        const gt_token *tk = next(p);
        if (tk->type == TK_SPACE) continue;
        if (tk->type == TK_RDELIM || tk->type == TK_RPAREN) backup(p);
        else if (tk->type != TK_PIPE) unexpected(p, tk, "operand");
        break;
    }
    if (!cmd->n) perr(p, "empty command");
    cmd->pos = cmd->args[0]->pos;
    cmd->end = cmd->args[cmd->n - 1]->end;
    return cmd;
}

static void check_pipeline(parser *p, const gt_pipe *pipe, const char *ctx) {
    if (!pipe->n_cmds) perr_at(p, pipe->pos, "missing value for %s", ctx);
    for (int k = 1; k < pipe->n_cmds; k++) {
        gt_arg_type t = pipe->cmds[k]->args[0]->type;
        if (t == A_BOOL || t == A_DOT || t == A_NIL || t == A_NUMBER || t == A_STRING)
            perr_at(p, pipe->cmds[k]->args[0]->pos, "non executable command in pipeline stage %d", k + 1);
    }
}

/* Declarations at the start of a pipeline: "$x :=", "$x =", "$i, $e :=".
 * Returns false when none. */
static bool declaration(parser *p, gt_pipe *pipe, const char *ctx) {
    if (peek_non_space(p)->type != TK_VARIABLE) return false;
    size_t at = p->i;
    const gt_token *v = next(p);
    const gt_token *nx = peek_non_space(p);
    bool comma = nx->type == TK_CHAR && tsrc(p, nx)[0] == ',';
    if (nx->type != TK_ASSIGN && nx->type != TK_DECLARE && !comma) { p->i = at; return false; }
    pipe->is_assign = nx->type == TK_ASSIGN;
    next_non_space(p);
    pipe->decl = agrow(p->t, pipe->decl, pipe->n_decl, sizeof *pipe->decl);
    char *name = astrndup(p->t, tsrc(p, v), v->len);
    pipe->decl[pipe->n_decl++] = name;
    push_var(p, name);
    if (!comma) return false;
    if (strcmp(ctx, "range") == 0 && pipe->n_decl < 2) {
        gt_tok_type t = peek_non_space(p)->type;
        if (t == TK_VARIABLE || t == TK_RDELIM || t == TK_RPAREN) return true;
        perr(p, "range can only initialize variables");
    }
    perr(p, "too many declarations in %s", ctx);
}

static gt_pipe *pipeline(parser *p, const char *ctx, gt_tok_type end) {
    gt_pipe *pipe = aalloc(p->t, sizeof *pipe);
    pipe->pos = peek_non_space(p)->pos;
    while (declaration(p, pipe, ctx)) {}
    for (;;) {
        const gt_token *tk = next_non_space(p);
        if (tk->type == end) {
            check_pipeline(p, pipe, ctx);
            pipe->end = tk->pos;
            return pipe;
        }
        switch (tk->type) {
        case TK_BOOL: case TK_CHARCONST: case TK_COMPLEX: case TK_DOT: case TK_FIELD: case TK_IDENT:
        case TK_NUMBER: case TK_NIL: case TK_RAWSTRING: case TK_STRING: case TK_VARIABLE: case TK_LPAREN:
            backup(p);
            pipe->cmds = agrow(p->t, pipe->cmds, pipe->n_cmds, sizeof *pipe->cmds);
            pipe->cmds[pipe->n_cmds++] = command(p);
            break;
        default: unexpected(p, tk, ctx);
        }
    }
}

/* ---- actions and control structures ---- */

static gt_node *item_list(parser *p, gt_node **end);
static gt_node *control(parser *p, gt_node_type type);

static bool is_empty_tree(const gt_node *n) {
    if (!n) return true;
    if (n->type == N_TEXT) {
        for (size_t k = 0; k < n->len; k++)
            if (!strchr(" \t\r\n\v\f", n->text[k])) return false;
        return true;
    }
    if (n->type != N_LIST) return false;
    for (int k = 0; k < n->n; k++)
        if (!is_empty_tree(n->nodes[k])) return false;
    return true;
}

/* Go's Tree.add: a later non-empty definition of a name is an error, an
 * empty one never replaces a non-empty one. */
static void add_tree(parser *p, const char *name, gt_node *root) {
    gotmpl *t = p->t;
    for (int k = 0; k < t->n_trees; k++) {
        if (strcmp(t->trees[k].name, name) != 0) continue;
        if (is_empty_tree(t->trees[k].root)) t->trees[k].root = root;
        else if (!is_empty_tree(root)) perr(p, "template: multiple definition of template \"%s\"", name);
        return;
    }
    t->trees = oc_realloc(t->trees, (size_t)(t->n_trees + 1) * sizeof *t->trees);
    t->trees[t->n_trees++] = (gt_tree){astrndup(t, name, strlen(name)), root};
}

static const char *template_name(parser *p, const gt_token *tk, const char *ctx) {
    if (tk->type != TK_STRING && tk->type != TK_RAWSTRING) unexpected(p, tk, ctx);
    return json_string_value(string_lit(p, tk));
}

/* The body of a {{define}} or {{block}}: a new tree with its own scope. */
static void sub_tree(parser *p, const char *name, const char *ctx) {
    int base = p->vars_base, n_vars = p->n_vars, depth = p->range_depth;
    p->vars_base = p->n_vars;
    p->range_depth = 0;
    push_var(p, "$");
    gt_node *end, *body = item_list(p, &end);
    if (end != &end_mark) perr(p, "unexpected {{else}} in %s", ctx);
    add_tree(p, name, body);
    p->vars_base = base, p->n_vars = n_vars, p->range_depth = depth;
}

static gt_node *template_control(parser *p, bool block) {
    const char *ctx = block ? "block clause" : "template clause";
    const gt_token *tk = next_non_space(p);
    gt_node *n = new_node(p, N_TEMPLATE, tk->pos);
    const char *name = template_name(p, tk, ctx);
    n->name = astrndup(p->t, name, strlen(name));
    if (block) {
        n->pipe = pipeline(p, ctx, TK_RDELIM);
        nest_in(p);
        sub_tree(p, n->name, ctx);
        p->nest--;
    } else if (next_non_space(p)->type != TK_RDELIM) {
        backup(p);
        n->pipe = pipeline(p, ctx, TK_RDELIM);
    }
    return n;
}

static gt_node *loop_control(parser *p, gt_node_type type) {
    const gt_token *kw = prev(p);
    const char *what = type == N_BREAK ? "{{break}}" : "{{continue}}";
    const gt_token *tk = next_non_space(p);
    if (tk->type != TK_RDELIM) unexpected(p, tk, what);
    if (!p->range_depth) perr_at(p, kw->pos, "%s outside {{range}}", what);
    return new_node(p, type, kw->pos);
}

static gt_node *action(parser *p) {
    const gt_token *tk = next_non_space(p);
    switch (tk->type) {
    case TK_BLOCK: return template_control(p, true);
    case TK_TEMPLATE: return template_control(p, false);
    case TK_BREAK: return loop_control(p, N_BREAK);
    case TK_CONTINUE: return loop_control(p, N_CONTINUE);
    case TK_IF: return control(p, N_IF);
    case TK_RANGE: return control(p, N_RANGE);
    case TK_WITH: return control(p, N_WITH);
    case TK_END: expect(p, TK_RDELIM, "end"); return &end_mark;
    case TK_ELSE: {
        gt_tok_type t = peek_non_space(p)->type;
        if (t != TK_IF && t != TK_WITH) expect(p, TK_RDELIM, "else");
        return &else_mark;
    }
    default: break;
    }
    backup(p);
    gt_node *n = new_node(p, N_ACTION, peek(p)->pos);
    n->pipe = pipeline(p, "command", TK_RDELIM);
    return n;
}

static gt_node *text_or_action(parser *p) {
    const gt_token *tk = next_non_space(p);
    if (tk->type == TK_TEXT) {
        gt_node *n = new_node(p, N_TEXT, tk->pos);
        n->text = tsrc(p, tk);
        n->len = tk->len;
        return n;
    }
    if (tk->type != TK_LDELIM) unexpected(p, tk, "input");
    return action(p);
}

/* Nodes up to an {{end}} or {{else}}, which is returned in *end. */
static gt_node *item_list(parser *p, gt_node **end) {
    gt_node *list = new_node(p, N_LIST, peek_non_space(p)->pos);
    while (peek_non_space(p)->type != TK_EOF) {
        gt_node *n = text_or_action(p);
        if (n == &end_mark || n == &else_mark) { *end = n; return list; }
        list_append(p, list, n);
    }
    perr_at(p, peek(p)->pos, "unexpected EOF");
}

/* if / range / with, with "else if" and "else with" chains. */
static gt_node *control(parser *p, gt_node_type type) {
    static const char *const ctx_of[] = {[N_IF] = "if", [N_RANGE] = "range", [N_WITH] = "with"};
    const char *ctx = ctx_of[type];
    nest_in(p);
    int n_vars = p->n_vars;
    gt_node *n = new_node(p, type, 0);
    n->pipe = pipeline(p, ctx, TK_RDELIM);
    n->pos = n->pipe->pos;
    p->range_depth += type == N_RANGE;
    gt_node *end;
    n->list = item_list(p, &end);
    p->range_depth -= type == N_RANGE;
    if (end == &else_mark) {
        gt_tok_type t = peek(p)->type;
        if ((type == N_IF && t == TK_IF) || (type == N_WITH && t == TK_WITH)) {
            next(p);
            n->else_list = new_node(p, N_LIST, peek(p)->pos);
            list_append(p, n->else_list, control(p, type));
        } else {
            n->else_list = item_list(p, &end);
            if (end != &end_mark) perr(p, "expected end; found {{else}}");
        }
    }
    p->n_vars = n_vars;
    p->nest--;
    return n;
}

static void parse_definition(parser *p) {
    const gt_token *tk = next_non_space(p);
    if (tk->type != TK_STRING && tk->type != TK_RAWSTRING) unexpected(p, tk, "define clause");
    const char *name = template_name(p, tk, "define clause");
    expect(p, TK_RDELIM, "define clause");
    sub_tree(p, name, "define clause");
}

static gt_node *parse_top(parser *p) {
    gt_node *root = new_node(p, N_LIST, 0);
    push_var(p, "$");
    while (peek(p)->type != TK_EOF) {
        if (peek(p)->type == TK_LDELIM) {
            size_t at = p->i;
            next(p);
            if (next_non_space(p)->type == TK_DEFINE) { parse_definition(p); continue; }
            p->i = at;
        }
        gt_node *n = text_or_action(p);
        if (n == &end_mark || n == &else_mark) perr(p, "unexpected %s", n == &end_mark ? "{{end}}" : "{{else}}");
        list_append(p, root, n);
    }
    return root;
}

/* ---- the template object ---- */

const gt_tree *gt_find_tree(const gotmpl *t, const char *name) {
    for (int k = 0; k < t->n_trees; k++)
        if (strcmp(t->trees[k].name, name) == 0) return &t->trees[k];
    return NULL;
}

void gotmpl_free(gotmpl *t) {
    if (!t) return;
    for (size_t k = 0; k < t->n_lits; k++) json_decref(t->lits[k]);
    for (arena_blk *b = t->arena, *nx; b; b = nx) nx = b->next, free(b);
    free(t->lits);
    free(t->trees);
    free(t->name);
    free(t->src);
    free(t);
}

static int run_parser(parser *p) {
    if (setjmp(p->fail)) return -1;
    gt_node *root = parse_top(p);
    add_tree(p, p->t->name, root);
    return 0;
}

gotmpl *gotmpl_parse(const char *name, const char *text, oc_error *err) {
    gotmpl *t = oc_calloc(1, sizeof *t);
    t->name = oc_strdup(name ? name : "");
    t->src_len = strlen(text);
    t->src = oc_strndup(text, t->src_len);
    parser *p = oc_calloc(1, sizeof *p);
    p->t = t;
    p->err = err;
    gt_lex(t->src, t->src_len, &p->toks);
    int rc = run_parser(p);
    gt_tokens_free(&p->toks);
    free(p->vars);
    free(p);
    if (rc) { gotmpl_free(t); return NULL; }
    return t;
}

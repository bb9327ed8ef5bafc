/* jinja_parse: Jinja2's parser — tokens to a syntax tree, following
 * jinja2/parser.py's grammar and precedence (conditional expressions, or,
 * and, not, comparisons, + -, ~, * / // %, **, unary, postfix, filters and
 * tests) and its statements (if, for, set, macro, call, filter, with,
 * block, print, break, continue), with its error messages for unknown
 * tags and filters. Also jinja_parse itself (source normalization). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

typedef struct parser {
    jtok *t;
    size_t n, i;
    oc_error *err;
    int depth;
    int soft;  /* > 0 inside an if or a conditional expression */
    int loops; /* enclosing for loops (in this function scope) */
    const char *tags[J_MAX_PARSE_DEPTH + 8];
    int ntags;
    const char *const *ends[J_MAX_PARSE_DEPTH + 8];
    int nends;
    bool failed;
} parser;

#define MAX_EXPR_DEPTH 256

static int pfail(parser *P, int line, const char *exc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int pfail(parser *P, int line, const char *exc, const char *fmt, ...) {
    if (P->failed) return -1;
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    P->failed = true;
    return oc_fail(P->err, "%s: %s (line %d)", exc, m, line);
}

static jtok *cur(parser *P) { return &P->t[P->i]; }
static jtok *look(parser *P) { return &P->t[P->i + 1 < P->n ? P->i + 1 : P->i]; }
static void next(parser *P) {
    if (P->i + 1 < P->n) P->i++;
}
static bool is_op(parser *P, int op) { return cur(P)->type == T_OP && cur(P)->op == op; }
static bool is_name(parser *P, const char *name) { return cur(P)->type == T_NAME && strcmp(cur(P)->s, name) == 0; }
static bool skip_op(parser *P, int op) {
    if (!is_op(P, op)) return false;
    next(P);
    return true;
}
static bool skip_name(parser *P, const char *name) {
    if (!is_name(P, name)) return false;
    next(P);
    return true;
}

static const char *describe(const jtok *t) {
    switch (t->type) {
    case T_EOF: return "end of template";
    case T_DATA: return "template data / text";
    case T_VAR_BEGIN: return "begin of print statement";
    case T_VAR_END: return "end of print statement";
    case T_BLOCK_BEGIN: return "begin of statement block";
    case T_BLOCK_END: return "end of statement block";
    case T_NAME: return t->s;
    case T_STRING: return "string";
    case T_INT: return "integer";
    case T_FLOAT: return "float";
    default: return jinja_op_str(t->op);
    }
}

static int expect_op(parser *P, int op) {
    if (skip_op(P, op)) return 0;
    return pfail(P, cur(P)->line, "TemplateSyntaxError", "expected token '%s', got '%s'", jinja_op_str(op),
                 describe(cur(P)));
}

static int expect_type(parser *P, jtok_type type, const char *what) {
    if (cur(P)->type == type) {
        next(P);
        return 0;
    }
    return pfail(P, cur(P)->line, "TemplateSyntaxError", "expected token '%s', got '%s'", what, describe(cur(P)));
}

static int expect_name(parser *P, const char *name) {
    if (skip_name(P, name)) return 0;
    return pfail(P, cur(P)->line, "TemplateSyntaxError", "expected token '%s', got '%s'", name, describe(cur(P)));
}

/* ---- nodes ---- */

static jnode *node_new(jnode_type type, int line) {
    jnode *n = oc_calloc(1, sizeof *n);
    n->type = type;
    n->line = line;
    return n;
}

static void vec_push(jvec *v, jnode *n) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->v = oc_realloc(v->v, v->cap * sizeof(jnode *));
    }
    v->v[v->n++] = n;
}

static void vec_free(jvec *v) {
    for (size_t i = 0; i < v->n; i++) jnode_free(v->v[i]);
    free(v->v);
}

void jnode_free(jnode *n) {
    if (!n) return;
    free(n->name);
    jv_free_immortal(n->value);
    jnode_free(n->a);
    jnode_free(n->b);
    jnode_free(n->c);
    jnode_free(n->d);
    vec_free(&n->kids);
    vec_free(&n->kids2);
    free(n);
}

/* A NAME node; its value holds the name as an immortal string, the key
 * its scope lookups and assignments use without allocating. */
static jnode *name_node(const char *name, int line) {
    jnode *n = node_new(N_NAME, line);
    n->name = oc_strdup(name);
    n->value = jv_strz(name);
    jv_make_immortal(n->value);
    return n;
}

static jnode *binary(jnode_type type, int op, jnode *a, jnode *b, int line) {
    jnode *n = node_new(type, line);
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

/* ---- expressions ---- */

static jnode *parse_expression(parser *P, bool with_condexpr);
static jnode *parse_tuple(parser *P, int mode, const char *extra_end, bool explicit_parens, bool with_ns);
static jnode *parse_unary(parser *P, bool with_filter);
static jnode *parse_primary(parser *P, bool with_ns);
static jnode *parse_postfix(parser *P, jnode *node);
static jnode *parse_filter(parser *P, jnode *node, bool start_inline);
enum { TUPLE_FULL, TUPLE_NO_COND, TUPLE_SIMPLE };

static bool depth_enter(parser *P) {
    if (++P->depth <= MAX_EXPR_DEPTH) return true;
    pfail(P, cur(P)->line, "TemplateSyntaxError", "expression nested too deeply");
    return false;
}

/* Left-deep chains (a + b + c, x|f|g, a.b.c) deepen the tree one level per
 * link, so each link counts against the depth limit; chain_end restores
 * the depth the chain started at. */
static bool chain_link(parser *P, jnode **node) {
    if (depth_enter(P)) return true;
    jnode_free(*node);
    *node = NULL;
    return false;
}

static jnode *parse_condexpr(parser *P) {
    int line = cur(P)->line, d0 = P->depth;
    jnode *e1 = parse_expression(P, false);
    while (e1 && is_name(P, "if") && chain_link(P, &e1)) {
        next(P);
        P->soft++;
        jnode *e2 = parse_expression(P, false), *e3 = NULL;
        if (e2 && skip_name(P, "else")) {
            e3 = parse_condexpr(P);
            if (!e3) e2 = (jnode_free(e2), NULL);
        }
        P->soft--;
        if (!e2) {
            jnode_free(e1);
            e1 = NULL;
            break;
        }
        jnode *c = node_new(N_CONDEXPR, line);
        c->a = e2;
        c->b = e1;
        c->c = e3;
        e1 = c;
        line = cur(P)->line;
    }
    P->depth = d0;
    return e1;
}

static jnode *parse_not(parser *P);

/* and / or: both left-associative over the next tighter level. */
static jnode *parse_logic(parser *P, bool is_or) {
    int d0 = P->depth;
    jnode *l = is_or ? parse_logic(P, false) : parse_not(P);
    while (l && is_name(P, is_or ? "or" : "and") && chain_link(P, &l)) {
        int line = cur(P)->line;
        next(P);
        jnode *r = is_or ? parse_logic(P, false) : parse_not(P);
        if (!r) {
            jnode_free(l);
            l = NULL;
            break;
        }
        l = binary(is_or ? N_OR : N_AND, 0, l, r, line);
    }
    P->depth = d0;
    return l;
}

static jnode *parse_expression(parser *P, bool with_condexpr) {
    if (!depth_enter(P)) return NULL;
    jnode *e = with_condexpr ? parse_condexpr(P) : parse_logic(P, true);
    P->depth--;
    return e;
}

static jnode *parse_math1(parser *P);

static int compare_op(parser *P) {
    jtok *t = cur(P);
    if (t->type == T_OP &&
        (t->op == OP_EQ || t->op == OP_NE || t->op == OP_LT || t->op == OP_LE || t->op == OP_GT || t->op == OP_GE)) {
        next(P);
        return t->op;
    }
    if (skip_name(P, "in")) return OP_IN;
    if (is_name(P, "not") && look(P)->type == T_NAME && strcmp(look(P)->s, "in") == 0) {
        next(P);
        next(P);
        return OP_NOTIN;
    }
    return 0;
}

static jnode *parse_compare(parser *P) {
    int line = cur(P)->line;
    jnode *e = parse_math1(P);
    jnode *cmp = NULL;
    int op;
    while (e && (op = compare_op(P))) {
        jnode *r = parse_math1(P);
        if (!r) {
            jnode_free(cmp ? cmp : e);
            return NULL;
        }
        if (!cmp) {
            cmp = node_new(N_COMPARE, line);
            cmp->a = e;
        }
        jnode *o = node_new(N_OPERAND, r->line);
        o->op = op;
        o->a = r;
        vec_push(&cmp->kids, o);
    }
    return e ? (cmp ? cmp : e) : NULL;
}

static jnode *parse_not(parser *P) {
    if (is_name(P, "not")) {
        int line = cur(P)->line;
        next(P);
        if (!depth_enter(P)) return NULL;
        jnode *a = parse_not(P);
        P->depth--;
        if (!a) return NULL;
        jnode *n = node_new(N_NOT, line);
        n->a = a;
        return n;
    }
    return parse_compare(P);
}

/* The binary operator levels tighter than comparison: 0 = + -,
 * 1 = ~ (one flat node), 2 = * / // %, 3 = **. */
static bool level_op(parser *P, int level) {
    switch (level) {
    case 0: return is_op(P, OP_ADD) || is_op(P, OP_SUB);
    case 2: return is_op(P, OP_MUL) || is_op(P, OP_DIV) || is_op(P, OP_FLOORDIV) || is_op(P, OP_MOD);
    default: return is_op(P, OP_POW);
    }
}

static jnode *parse_level(parser *P, int level);

static jnode *parse_concat(parser *P) {
    int line = cur(P)->line;
    jnode *first = parse_level(P, 2);
    if (!first || !is_op(P, OP_TILDE)) return first;
    jnode *c = node_new(N_CONCAT, line);
    vec_push(&c->kids, first);
    while (skip_op(P, OP_TILDE)) {
        jnode *r = parse_level(P, 2);
        if (!r) return jnode_free(c), NULL;
        vec_push(&c->kids, r);
    }
    return c;
}

static jnode *parse_operand(parser *P, int level) {
    return level == 0 ? parse_concat(P) : level == 2 ? parse_level(P, 3) : parse_unary(P, true);
}

static jnode *parse_level(parser *P, int level) {
    int d0 = P->depth;
    jnode *l = parse_operand(P, level);
    while (l && level_op(P, level) && chain_link(P, &l)) {
        int op = cur(P)->op, line = cur(P)->line;
        next(P);
        jnode *r = parse_operand(P, level);
        if (!r) {
            jnode_free(l);
            l = NULL;
            break;
        }
        l = binary(N_BINARY, op, l, r, line);
    }
    P->depth = d0;
    return l;
}

static jnode *parse_math1(parser *P) { return parse_level(P, 0); }

static jnode *parse_filter_expr(parser *P, jnode *node);

static jnode *parse_unary(parser *P, bool with_filter) {
    if (!depth_enter(P)) return NULL;
    int line = cur(P)->line, d0 = P->depth;
    jnode *node;
    if (is_op(P, OP_SUB) || is_op(P, OP_ADD)) {
        jnode_type t = is_op(P, OP_SUB) ? N_NEG : N_POS;
        next(P);
        jnode *a = parse_unary(P, false);
        node = a ? node_new(t, line) : NULL;
        if (node) node->a = a;
    } else {
        node = parse_primary(P, false);
    }
    if (node) node = parse_postfix(P, node);
    if (node && with_filter) node = parse_filter_expr(P, node);
    P->depth = d0 - 1;
    return node;
}

static jnode *parse_list(parser *P) {
    jnode *n = node_new(N_LIST, cur(P)->line);
    next(P); /* [ */
    while (!is_op(P, OP_RBRACKET)) {
        if (n->kids.n && expect_op(P, OP_COMMA)) return jnode_free(n), NULL;
        if (is_op(P, OP_RBRACKET)) break;
        jnode *e = parse_expression(P, true);
        if (!e) return jnode_free(n), NULL;
        vec_push(&n->kids, e);
    }
    next(P);
    return n;
}

static jnode *parse_dict(parser *P) {
    jnode *n = node_new(N_DICT, cur(P)->line);
    next(P); /* { */
    while (!is_op(P, OP_RBRACE)) {
        if (n->kids.n && expect_op(P, OP_COMMA)) return jnode_free(n), NULL;
        if (is_op(P, OP_RBRACE)) break;
        jnode *k = parse_expression(P, true);
        if (!k || expect_op(P, OP_COLON)) return jnode_free(k), jnode_free(n), NULL;
        jnode *v = parse_expression(P, true);
        if (!v) return jnode_free(k), jnode_free(n), NULL;
        jnode *pair = binary(N_PAIR, 0, k, v, k->line);
        vec_push(&n->kids, pair);
    }
    next(P);
    return n;
}

static jnode *const_node(jv v, int line) {
    jnode *n = node_new(N_CONST, line);
    jv_make_immortal(v);
    n->value = v;
    return n;
}

static jnode *parse_primary(parser *P, bool with_ns) {
    jtok *t = cur(P);
    int line = t->line;
    switch (t->type) {
    case T_NAME: {
        next(P);
        const char *s = t->s;
        if (!strcmp(s, "true") || !strcmp(s, "True")) return const_node(jv_bool(true), line);
        if (!strcmp(s, "false") || !strcmp(s, "False")) return const_node(jv_bool(false), line);
        if (!strcmp(s, "none") || !strcmp(s, "None")) return const_node(jv_none(), line);
        if (with_ns && is_op(P, OP_DOT)) {
            next(P);
            if (cur(P)->type != T_NAME)
                return pfail(P, line, "TemplateSyntaxError", "expected token 'name', got '%s'", describe(cur(P))), NULL;
            jnode *ns = node_new(N_NSREF, line);
            ns->a = name_node(s, line);
            ns->name = oc_strdup(cur(P)->s);
            next(P);
            return ns;
        }
        return name_node(s, line);
    }
    case T_STRING: {
        oc_buf b = {0};
        oc_buf_append(&b, "", 0);
        while (cur(P)->type == T_STRING) { /* adjacent literals concatenate */
            oc_buf_append(&b, cur(P)->s, cur(P)->len);
            next(P);
        }
        return const_node(jv_str_buf(&b, false), line);
    }
    case T_INT: next(P); return const_node(jv_int(t->i), line);
    case T_FLOAT: next(P); return const_node(jv_float(t->f), line);
    case T_OP:
        if (t->op == OP_LPAREN) {
            next(P);
            jnode *e = parse_tuple(P, TUPLE_FULL, NULL, true, false);
            if (!e || expect_op(P, OP_RPAREN)) return jnode_free(e), NULL;
            return e;
        }
        if (t->op == OP_LBRACKET) return parse_list(P);
        if (t->op == OP_LBRACE) return parse_dict(P);
        break;
    default: break;
    }
    pfail(P, line, "TemplateSyntaxError", "unexpected '%s'", describe(t));
    return NULL;
}

static bool is_tuple_end(parser *P, const char *extra_end) {
    jtok *t = cur(P);
    if (t->type == T_VAR_END || t->type == T_BLOCK_END || (t->type == T_OP && t->op == OP_RPAREN) || t->type == T_EOF)
        return true;
    return extra_end && is_name(P, extra_end);
}

static jnode *parse_tuple(parser *P, int mode, const char *extra_end, bool explicit_parens, bool with_ns) {
    int line = cur(P)->line;
    jnode *tup = node_new(N_TUPLE, line);
    bool is_tuple = false;
    for (;;) {
        if (tup->kids.n && expect_op(P, OP_COMMA)) return jnode_free(tup), NULL;
        if (is_tuple_end(P, extra_end)) break;
        jnode *e = mode == TUPLE_SIMPLE ? parse_primary(P, with_ns) : parse_expression(P, mode == TUPLE_FULL);
        if (!e) return jnode_free(tup), NULL;
        vec_push(&tup->kids, e);
        if (is_op(P, OP_COMMA))
            is_tuple = true;
        else
            break;
    }
    if (!is_tuple) {
        if (tup->kids.n) {
            jnode *e = tup->kids.v[0];
            tup->kids.n = 0;
            jnode_free(tup);
            return e;
        }
        if (!explicit_parens) {
            jnode_free(tup);
            pfail(P, cur(P)->line, "TemplateSyntaxError", "Expected an expression, got '%s'", describe(cur(P)));
            return NULL;
        }
    }
    return tup;
}

/* A subscript: one expression or a slice `a:b:c` with any part absent. */
static jnode *parse_subscribed(parser *P) {
    int line = cur(P)->line;
    jnode *parts[3] = {NULL, NULL, NULL};
    if (!is_op(P, OP_COLON)) {
        parts[0] = parse_expression(P, true);
        if (!parts[0]) return NULL;
        if (!is_op(P, OP_COLON)) return parts[0];
    }
    next(P); /* first colon */
    if (!is_op(P, OP_COLON) && !is_op(P, OP_RBRACKET) && !is_op(P, OP_COMMA)) {
        if (!(parts[1] = parse_expression(P, true))) goto fail;
    }
    if (skip_op(P, OP_COLON) && !is_op(P, OP_RBRACKET) && !is_op(P, OP_COMMA)) {
        if (!(parts[2] = parse_expression(P, true))) goto fail;
    }
    jnode *s = node_new(N_SLICE, line);
    s->a = parts[0];
    s->b = parts[1];
    s->c = parts[2];
    return s;
fail:
    for (int i = 0; i < 3; i++) jnode_free(parts[i]);
    return NULL;
}

static jnode *parse_subscript(parser *P, jnode *node) {
    int line = cur(P)->line;
    if (skip_op(P, OP_DOT)) {
        jtok *a = cur(P);
        if (a->type == T_NAME) {
            next(P);
            jnode *g = node_new(N_GETATTR, line);
            g->a = node;
            g->name = oc_strdup(a->s);
            return g;
        }
        if (a->type != T_INT) {
            jnode_free(node);
            pfail(P, a->line, "TemplateSyntaxError", "expected name or number");
            return NULL;
        }
        next(P);
        return binary(N_GETITEM, 0, node, const_node(jv_int(a->i), a->line), line);
    }
    next(P); /* [ */
    jnode *tup = node_new(N_TUPLE, line);
    while (!is_op(P, OP_RBRACKET)) {
        if (tup->kids.n && expect_op(P, OP_COMMA)) goto fail;
        jnode *e = parse_subscribed(P);
        if (!e) goto fail;
        vec_push(&tup->kids, e);
    }
    next(P);
    for (size_t i = 0; tup->kids.n > 1 && i < tup->kids.n; i++)
        if (tup->kids.v[i]->type == N_SLICE) { /* Jinja's generated Python would not compile */
            pfail(P, line, "TemplateSyntaxError", "invalid syntax: a slice in a tuple subscript");
            goto fail;
        }
    jnode *arg = tup;
    if (tup->kids.n == 1) {
        arg = tup->kids.v[0];
        tup->kids.n = 0;
        jnode_free(tup);
    }
    return binary(N_GETITEM, 0, node, arg, line);
fail:
    jnode_free(tup);
    jnode_free(node);
    return NULL;
}

static jnode *parse_call_args(parser *P) {
    int line = cur(P)->line;
    jnode *args = node_new(N_ARGS, line);
    next(P); /* ( */
    bool require_comma = false;
    while (!is_op(P, OP_RPAREN)) {
        if (require_comma) {
            if (expect_op(P, OP_COMMA)) goto fail;
            if (is_op(P, OP_RPAREN)) break;
        }
        if (is_op(P, OP_MUL) || is_op(P, OP_POW)) {
            bool star = is_op(P, OP_MUL);
            if ((star && (args->c || args->d)) || (!star && args->d)) goto bad;
            next(P);
            jnode *e = parse_expression(P, true);
            if (!e) goto fail;
            if (star)
                args->c = e;
            else
                args->d = e;
        } else if (cur(P)->type == T_NAME && look(P)->type == T_OP && look(P)->op == OP_ASSIGN) {
            if (args->d) goto bad;
            jnode *kw = node_new(N_KEYWORD, cur(P)->line);
            kw->name = oc_strdup(cur(P)->s);
            next(P);
            next(P);
            if (!(kw->a = parse_expression(P, true))) return jnode_free(kw), jnode_free(args), NULL;
            vec_push(&args->kids2, kw);
        } else {
            if (args->c || args->d || args->kids2.n) goto bad;
            jnode *e = parse_expression(P, true);
            if (!e) goto fail;
            vec_push(&args->kids, e);
        }
        require_comma = true;
    }
    next(P);
    return args;
bad:
    pfail(P, line, "TemplateSyntaxError", "invalid syntax for function call expression");
fail:
    jnode_free(args);
    return NULL;
}

static jnode *parse_call(parser *P, jnode *node) {
    int line = cur(P)->line;
    jnode *args = parse_call_args(P);
    if (!args) return jnode_free(node), NULL;
    return binary(N_CALL, 0, node, args, line);
}

static jnode *parse_postfix(parser *P, jnode *node) {
    int d0 = P->depth;
    while (node && (is_op(P, OP_DOT) || is_op(P, OP_LBRACKET) || is_op(P, OP_LPAREN)) && chain_link(P, &node))
        node = is_op(P, OP_LPAREN) ? parse_call(P, node) : parse_subscript(P, node);
    P->depth = d0;
    return node;
}

/* `name(.name)*` of a filter or test. */
static char *dotted_name(parser *P) {
    if (cur(P)->type != T_NAME) {
        pfail(P, cur(P)->line, "TemplateSyntaxError", "expected token 'name', got '%s'", describe(cur(P)));
        return NULL;
    }
    oc_buf b = {0};
    oc_buf_puts(&b, cur(P)->s);
    next(P);
    while (is_op(P, OP_DOT) && look(P)->type == T_NAME) {
        next(P);
        oc_buf_printf(&b, ".%s", cur(P)->s);
        next(P);
    }
    return b.data;
}

/* Resolves a filter or test now; an unknown one fails the parse unless it
 * sits inside an if or a conditional expression, where Jinja defers the
 * error to the moment it is used. */
static int resolve(parser *P, jnode *n, bool is_filter) {
    if (is_filter)
        n->filter = jinja_find_filter(n->name);
    else
        n->test = jinja_find_test(n->name);
    if ((is_filter ? (void *)n->filter : (void *)n->test) || P->soft) return 0;
    return pfail(P, n->line, "TemplateAssertionError", "No %s named '%s'.", is_filter ? "filter" : "test", n->name);
}

/* `| name(args)` links; node is NULL in filter blocks and set blocks,
 * where the chain starts inline. */
static jnode *parse_filter(parser *P, jnode *node, bool start_inline) {
    int d0 = P->depth;
    while (is_op(P, OP_PIPE) || start_inline) {
        if (!depth_enter(P)) {
            jnode_free(node);
            node = NULL;
            break;
        }
        if (!start_inline) next(P);
        start_inline = false;
        int line = cur(P)->line;
        char *name = dotted_name(P);
        jnode *f = node_new(N_FILTER, line);
        f->a = node;
        f->name = name;
        node = f;
        if (!name || resolve(P, f, true) || (is_op(P, OP_LPAREN) && !(f->b = parse_call_args(P)))) {
            jnode_free(f);
            node = NULL;
            break;
        }
    }
    P->depth = d0;
    return node;
}

static bool test_arg_start(parser *P) {
    jtok *t = cur(P);
    bool ok = t->type == T_NAME || t->type == T_STRING || t->type == T_INT || t->type == T_FLOAT ||
              is_op(P, OP_LPAREN) || is_op(P, OP_LBRACKET) || is_op(P, OP_LBRACE);
    return ok && !is_name(P, "else") && !is_name(P, "or") && !is_name(P, "and");
}

static jnode *parse_test(parser *P, jnode *node) {
    int line = cur(P)->line;
    next(P); /* is */
    bool negated = skip_name(P, "not");
    char *name = dotted_name(P);
    if (!name) return jnode_free(node), NULL;
    jnode *t = node_new(N_TEST, line);
    t->a = node;
    t->name = name;
    if (resolve(P, t, false)) return jnode_free(t), NULL;
    if (is_op(P, OP_LPAREN)) {
        if (!(t->b = parse_call_args(P))) return jnode_free(t), NULL;
    } else if (test_arg_start(P)) {
        if (is_name(P, "is")) {
            pfail(P, line, "TemplateSyntaxError", "You cannot chain multiple tests with is");
            return jnode_free(t), NULL;
        }
        jnode *arg = parse_primary(P, false);
        if (arg) arg = parse_postfix(P, arg);
        if (!arg) return jnode_free(t), NULL;
        t->b = node_new(N_ARGS, line);
        vec_push(&t->b->kids, arg);
    }
    if (!negated) return t;
    jnode *n = node_new(N_NOT, line);
    n->a = t;
    return n;
}

static jnode *parse_filter_expr(parser *P, jnode *node) {
    int d0 = P->depth;
    while (node && (is_op(P, OP_PIPE) || is_name(P, "is") || is_op(P, OP_LPAREN))) {
        if (is_op(P, OP_PIPE))
            node = parse_filter(P, node, false);
        else if (!chain_link(P, &node))
            break;
        else if (is_op(P, OP_LPAREN))
            node = parse_call(P, node);
        else
            node = parse_test(P, node);
    }
    P->depth = d0;
    return node;
}

/* ---- statements ---- */

static const char *const END_IF[] = {"elif", "else", "endif", NULL};
static const char *const END_ENDIF[] = {"endif", NULL};
static const char *const END_FOR[] = {"endfor", "else", NULL};
static const char *const END_ENDFOR[] = {"endfor", NULL};
static const char *const END_SET[] = {"endset", NULL};
static const char *const END_MACRO[] = {"endmacro", NULL};
static const char *const END_CALL[] = {"endcall", NULL};
static const char *const END_FILTER[] = {"endfilter", NULL};
static const char *const END_WITH[] = {"endwith", NULL};
static const char *const END_BLOCK[] = {"endblock", NULL};

static bool in_list(const char *const *list, const char *s) {
    for (; list && *list; list++)
        if (!strcmp(*list, s)) return true;
    return false;
}

/* Jinja's message for an unknown tag (name) or an early end (name NULL). */
static int fail_ut_eof(parser *P, const char *name, int line, const char *const *extra) {
    oc_buf m = {0};
    if (name)
        oc_buf_printf(&m, "Encountered unknown tag '%s'.", name);
    else
        oc_buf_puts(&m, "Unexpected end of template.");
    const char *const *top = extra ? extra : P->nends ? P->ends[P->nends - 1] : NULL;
    if (top) {
        bool expected = false;
        for (int k = 0; k < P->nends; k++) expected |= name && in_list(P->ends[k], name);
        expected |= name && in_list(extra, name);
        oc_buf_puts(
            &m, expected
                    ? " You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for "
                    : " Jinja was looking for the following tags: ");
        for (const char *const *e = top; *e; e++) oc_buf_printf(&m, "%s'%s'", e == top ? "" : " or ", *e);
        oc_buf_puts(&m, ".");
    }
    if (P->ntags) oc_buf_printf(&m, " The innermost block that needs to be closed is '%s'.", P->tags[P->ntags - 1]);
    pfail(P, line, "TemplateSyntaxError", "%s", m.data);
    oc_buf_free(&m);
    return -1;
}

static jnode *parse_statement(parser *P);

/* Statements and output up to one of the end tags (left as the current
 * token, just after its `{%`), or the end of the template. */
static int subparse(parser *P, jvec *body, const char *const *ends) {
    if (ends) P->ends[P->nends++] = ends;
    int rc = -1;
    while (cur(P)->type != T_EOF) {
        jtok *t = cur(P);
        if (t->type == T_DATA) {
            jnode *n = const_node(jv_str(t->s, t->len), t->line);
            n->type = N_TEXT;
            vec_push(body, n);
            next(P);
        } else if (t->type == T_VAR_BEGIN) {
            next(P);
            jnode *e = parse_tuple(P, TUPLE_FULL, NULL, false, false);
            if (!e) goto out;
            jnode *pr = node_new(N_PRINT, t->line);
            pr->a = e;
            vec_push(body, pr);
            if (expect_type(P, T_VAR_END, "end of print statement")) goto out;
        } else if (t->type == T_BLOCK_BEGIN) {
            next(P);
            if (ends && cur(P)->type == T_NAME && in_list(ends, cur(P)->s)) {
                rc = 0;
                goto out;
            }
            jnode *st = parse_statement(P);
            if (!st) goto out;
            vec_push(body, st);
            if (expect_type(P, T_BLOCK_END, "end of statement block")) goto out;
        } else {
            pfail(P, t->line, "TemplateSyntaxError", "unexpected '%s'", describe(t));
            goto out;
        }
    }
    rc = 0;
out:
    if (ends) P->nends--;
    return rc;
}

static int parse_statements(parser *P, jvec *body, const char *const *ends, bool drop_needle) {
    skip_op(P, OP_COLON);
    if (expect_type(P, T_BLOCK_END, "end of statement block") || subparse(P, body, ends)) return -1;
    if (cur(P)->type == T_EOF) return fail_ut_eof(P, NULL, cur(P)->line, ends);
    if (drop_needle) next(P);
    return 0;
}

/* The body of a construct Jinja compiles in a frame of its own: not soft
 * (unknown filters fail at once) and, for functions, outside any loop. */
static int parse_inner(parser *P, jvec *body, const char *const *ends, bool function) {
    int soft = P->soft, loops = P->loops;
    P->soft = 0;
    if (function) P->loops = 0;
    int rc = parse_statements(P, body, ends, true);
    P->soft = soft;
    P->loops = loops;
    return rc;
}

static bool can_assign(const jnode *t) {
    if (t->type == N_NAME || t->type == N_NSREF) return true;
    if (t->type != N_TUPLE) return false;
    for (size_t i = 0; i < t->kids.n; i++)
        if (!can_assign(t->kids.v[i])) return false;
    return true;
}

static jnode *parse_assign_target(parser *P, bool name_only, const char *extra_end, bool with_ns) {
    jnode *t;
    if (name_only) {
        if (cur(P)->type != T_NAME) {
            pfail(P, cur(P)->line, "TemplateSyntaxError", "expected token 'name', got '%s'", describe(cur(P)));
            return NULL;
        }
        t = name_node(cur(P)->s, cur(P)->line);
        next(P);
        const char *s = t->name;
        if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "none") || !strcmp(s, "True") ||
            !strcmp(s, "False") || !strcmp(s, "None")) {
            pfail(P, t->line, "TemplateSyntaxError", "can't assign to 'name'");
            return jnode_free(t), NULL;
        }
        return t;
    }
    t = parse_tuple(P, TUPLE_SIMPLE, extra_end, false, with_ns);
    if (t && !can_assign(t)) {
        pfail(P, t->line, "TemplateSyntaxError", "can't assign to '%s'",
              t->type == N_CONST   ? "const"
              : t->type == N_LIST  ? "list"
              : t->type == N_TUPLE ? "tuple"
                                   : "expression");
        return jnode_free(t), NULL;
    }
    return t;
}

static int parse_if(parser *P, jnode *node) {
    P->soft++;
    int rc = -1;
    for (;;) {
        if (!(node->a = parse_tuple(P, TUPLE_NO_COND, NULL, false, false))) break;
        if (parse_statements(P, &node->kids, END_IF, false)) break;
        bool elif = is_name(P, "elif"), els = is_name(P, "else");
        next(P);
        if (elif) {
            jnode *e = node_new(N_IF, cur(P)->line);
            vec_push(&node->kids2, e);
            node = e;
            continue;
        }
        if (els && parse_statements(P, &node->kids2, END_ENDIF, true)) break;
        rc = 0;
        break;
    }
    P->soft--;
    return rc;
}

static int parse_for(parser *P, jnode *node) {
    if (!(node->a = parse_assign_target(P, false, "in", false)) || expect_name(P, "in")) return -1;
    if (!(node->b = parse_tuple(P, TUPLE_NO_COND, "recursive", false, false))) return -1;
    int soft = P->soft;
    P->soft = 0;
    int rc = -1;
    if (skip_name(P, "if") && !(node->c = parse_expression(P, true))) goto out;
    node->flag = skip_name(P, "recursive");
    P->loops++;
    rc = parse_statements(P, &node->kids, END_FOR, false);
    P->loops--;
    if (rc) goto out;
    if (skip_name(P, "endfor")) goto out;
    next(P); /* else */
    rc = parse_statements(P, &node->kids2, END_ENDFOR, true);
out:
    P->soft = soft;
    return rc;
}

/* Records which of varargs / kwargs / caller a macro body reads. */
static int uses_names(const jnode *n) {
    if (!n) return 0;
    int u = 0;
    if (n->type == N_NAME && n->name) {
        if (!strcmp(n->name, "varargs")) u |= USES_VARARGS;
        if (!strcmp(n->name, "kwargs")) u |= USES_KWARGS;
        if (!strcmp(n->name, "caller")) u |= USES_CALLER;
    }
    u |= uses_names(n->a) | uses_names(n->b) | uses_names(n->c) | uses_names(n->d);
    for (size_t i = 0; i < n->kids.n; i++) u |= uses_names(n->kids.v[i]);
    for (size_t i = 0; i < n->kids2.n; i++) u |= uses_names(n->kids2.v[i]);
    return u;
}

/* The special names a body reads, less those the signature declares
 * (a parameter named varargs is an ordinary one). */
static int special_uses(const jnode *n) {
    int u = 0;
    for (size_t i = 0; i < n->kids.n; i++) u |= uses_names(n->kids.v[i]);
    for (size_t i = 0; i < n->kids2.n; i++) {
        if (!strcmp(n->kids2.v[i]->name, "varargs")) u &= ~USES_VARARGS;
        if (!strcmp(n->kids2.v[i]->name, "kwargs")) u &= ~USES_KWARGS;
    }
    return u;
}

static int parse_signature(parser *P, jvec *params) {
    if (expect_op(P, OP_LPAREN)) return -1;
    bool defaults = false;
    while (!is_op(P, OP_RPAREN)) {
        if (params->n && expect_op(P, OP_COMMA)) return -1;
        jnode *arg = parse_assign_target(P, true, NULL, false);
        if (!arg) return -1;
        vec_push(params, arg);
        if (skip_op(P, OP_ASSIGN)) {
            if (!(arg->a = parse_expression(P, true))) return -1;
            defaults = true;
        } else if (defaults) {
            return pfail(P, arg->line, "TemplateSyntaxError", "non-default argument follows default argument");
        }
    }
    next(P);
    return 0;
}

static int parse_macro(parser *P, jnode *node) {
    if (cur(P)->type != T_NAME)
        return pfail(P, cur(P)->line, "TemplateSyntaxError", "expected token 'name', got '%s'", describe(cur(P)));
    node->name = oc_strdup(cur(P)->s);
    next(P);
    int soft = P->soft;
    P->soft = 0;
    int rc = parse_signature(P, &node->kids2);
    P->soft = soft;
    if (rc || parse_inner(P, &node->kids, END_MACRO, true)) return -1;
    node->op = special_uses(node);
    return 0;
}

static int parse_call_block(parser *P, jnode *node) {
    if (is_op(P, OP_LPAREN) && parse_signature(P, &node->kids2)) return -1;
    if (!(node->a = parse_expression(P, true))) return -1;
    if (node->a->type != N_CALL) return pfail(P, node->line, "TemplateSyntaxError", "expected call");
    if (parse_inner(P, &node->kids, END_CALL, true)) return -1;
    node->op = special_uses(node);
    return 0;
}

static int parse_set(parser *P, jnode *node) {
    if (!(node->a = parse_assign_target(P, false, NULL, true))) return -1;
    if (skip_op(P, OP_ASSIGN)) return (node->b = parse_tuple(P, TUPLE_FULL, NULL, false, false)) ? 0 : -1;
    node->type = N_SETBLOCK;
    node->b = parse_filter(P, NULL, false);
    if (P->failed) return -1;
    return parse_inner(P, &node->kids, END_SET, false);
}

static int parse_with(parser *P, jnode *node) {
    while (cur(P)->type != T_BLOCK_END) {
        if (node->kids2.n && expect_op(P, OP_COMMA)) return -1;
        jnode *set = node_new(N_SET, cur(P)->line);
        vec_push(&node->kids2, set);
        if (!(set->a = parse_assign_target(P, false, NULL, false)) || expect_op(P, OP_ASSIGN)) return -1;
        if (!(set->b = parse_expression(P, true))) return -1;
    }
    return parse_inner(P, &node->kids, END_WITH, false);
}

static int parse_block(parser *P, jnode *node) {
    if (cur(P)->type != T_NAME)
        return pfail(P, cur(P)->line, "TemplateSyntaxError", "expected token 'name', got '%s'", describe(cur(P)));
    char *name = oc_strdup(cur(P)->s);
    next(P);
    skip_name(P, "scoped");
    skip_name(P, "required");
    int rc = parse_inner(P, &node->kids, END_BLOCK, false);
    if (!rc) skip_name(P, name);
    free(name);
    return rc;
}

/* {% print a, b %} outputs each expression. */
static int parse_print(parser *P, jnode *node) {
    while (cur(P)->type != T_BLOCK_END) {
        if (node->kids.n && expect_op(P, OP_COMMA)) return -1;
        jnode *pr = node_new(N_PRINT, cur(P)->line);
        vec_push(&node->kids, pr);
        if (!(pr->a = parse_expression(P, true))) return -1;
    }
    return 0;
}

static int parse_loop_control(parser *P, jnode *node, const char *tag) {
    if (!P->loops) return pfail(P, node->line, "TemplateSyntaxError", "'%s' outside loop", tag);
    return 0;
}

static int parse_tag(parser *P, const char *tag, jnode *n) {
    if (!strcmp(tag, "if")) return n->type = N_IF, parse_if(P, n);
    if (!strcmp(tag, "for")) return n->type = N_FOR, parse_for(P, n);
    if (!strcmp(tag, "set")) return n->type = N_SET, parse_set(P, n);
    if (!strcmp(tag, "macro")) return n->type = N_MACRO, parse_macro(P, n);
    if (!strcmp(tag, "call")) return n->type = N_CALLBLOCK, parse_call_block(P, n);
    if (!strcmp(tag, "filter")) {
        n->type = N_FILTERBLOCK;
        if (!(n->a = parse_filter(P, NULL, true))) return -1;
        return parse_inner(P, &n->kids, END_FILTER, false);
    }
    if (!strcmp(tag, "with")) return n->type = N_WITH, parse_with(P, n);
    if (!strcmp(tag, "block")) return n->type = N_SCOPE, parse_block(P, n);
    if (!strcmp(tag, "print")) return n->type = N_SCOPE, parse_print(P, n);
    if (!strcmp(tag, "break")) return n->type = N_BREAK, parse_loop_control(P, n, tag);
    if (!strcmp(tag, "continue")) return n->type = N_CONTINUE, parse_loop_control(P, n, tag);
    return pfail(P, n->line, "TemplateSyntaxError", "the '%s' tag is not supported here", tag);
}

static const char *const KNOWN_TAGS[] = {"for",     "if",     "block",  "extends",  "print", "macro",
                                         "include", "from",   "import", "set",      "with",  "autoescape",
                                         "call",    "filter", "break",  "continue", NULL};

static jnode *parse_statement(parser *P) {
    jtok *t = cur(P);
    if (t->type != T_NAME) return pfail(P, t->line, "TemplateSyntaxError", "tag name expected"), NULL;
    if (!in_list(KNOWN_TAGS, t->s)) return fail_ut_eof(P, t->s, t->line, NULL), NULL;
    if (P->ntags >= J_MAX_PARSE_DEPTH)
        return pfail(P, t->line, "TemplateSyntaxError", "statements nested too deeply"), NULL;
    const char *tag = t->s;
    P->tags[P->ntags++] = tag;
    jnode *n = node_new(N_SCOPE, t->line);
    next(P);
    int d0 = P->depth;
    P->depth = 0; /* expression depth restarts; statement depth is ntags */
    int rc = parse_tag(P, tag, n);
    P->depth = d0;
    P->ntags--;
    if (rc) return jnode_free(n), NULL;
    return n;
}

jnode *jinja_parse_tokens(jtok *toks, size_t n, oc_error *err) {
    parser P = {.t = toks, .n = n, .err = err};
    jnode *root = node_new(N_SCOPE, 1);
    if (subparse(&P, &root->kids, NULL) || P.failed) {
        jnode_free(root);
        if (!P.failed) oc_fail(err, "TemplateSyntaxError: parse failed");
        return NULL;
    }
    return root;
}

/* Jinja normalizes every newline to \n and drops one trailing newline
 * (keep_trailing_newline is off) before lexing. */
static char *normalize(const char *text, size_t *len) {
    size_t n = strlen(text), k = 0;
    char *s = oc_malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\r') {
            s[k++] = '\n';
            if (i + 1 < n && text[i + 1] == '\n') i++;
        } else {
            s[k++] = text[i];
        }
    }
    if (k && s[k - 1] == '\n') k--;
    s[k] = 0;
    *len = k;
    return s;
}

jinja_template *jinja_parse(const char *text, oc_error *err) {
    if (!text) return oc_fail(err, "TemplateSyntaxError: no template"), NULL;
    size_t n;
    char *src = normalize(text, &n);
    jtok *toks;
    size_t nt;
    int rc = jinja_lex(src, n, &toks, &nt, err);
    free(src);
    if (rc) return NULL;
    jnode *root = jinja_parse_tokens(toks, nt, err);
    jinja_toks_free(toks, nt);
    if (!root) return NULL;
    jinja_template *t = oc_malloc(sizeof *t);
    t->root = root;
    return t;
}

void jinja_free(jinja_template *t) {
    if (!t) return;
    jnode_free(t->root);
    free(t);
}

/* gotmpl_exec: executes a parsed Go template against JSON data, after Go's
 * text/template exec.go: the walk over the tree (text, actions, if, with,
 * range with break/continue and else, template calls), evaluation of
 * pipelines, commands, fields, variables and function calls, and Go's
 * execution errors ("template: NAME:LINE:COL: executing "NAME" at <...>:
 * ..."). Budgets on depth, steps, output and work keep any input bounded. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/gotmpl_internal.h"

enum { W_OK = 0, W_BREAK = 1, W_CONTINUE = 2, W_ERR = -1 };

typedef struct {
    const char *name;
    gv v;
} var;

struct gt_exec {
    const gotmpl *t;
    const gt_tree *tree;
    oc_buf *out;
    size_t out_start;
    var *vars;
    size_t n_vars, cap_vars, vars_base;
    int depth, walk_depth;
    size_t steps, work;
    uint32_t at_loc, at_pos, at_end; /* error position; context text span */
    const char *at_text;             /* context text, when not a span */
    oc_error *err;
    bool failed;
};

static int xerr(gt_exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xerr(gt_exec *x, const char *fmt, ...) {
    if (x->failed) return W_ERR;
    x->failed = true;
    char msg[300], loc[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gt_location(x->t, x->at_loc, loc, sizeof loc);
    const char *ctx = x->at_text ? x->at_text : x->t->src + x->at_pos;
    int len = x->at_text ? (int)strlen(x->at_text) : (int)(x->at_end > x->at_pos ? x->at_end - x->at_pos : 0);
    while (len > 0 && strchr(" \t\r\n", ctx[len - 1])) len--;
    if (len > 80) len = 80;
    oc_fail(x->err, "template: %s: executing \"%s\" at <%.*s>: %s", loc, x->tree->name, len, ctx, msg);
    return W_ERR;
}

static void at(gt_exec *x, uint32_t pos, uint32_t end) { x->at_loc = x->at_pos = pos, x->at_end = end, x->at_text = NULL; }
static void at_arg(gt_exec *x, const gt_arg *a) { at(x, a->pos, a->end), x->at_loc = a->loc; }

static int step(gt_exec *x) {
    if (++x->steps > GT_MAX_STEPS) return xerr(x, "execution exceeds %u steps", GT_MAX_STEPS);
    if (x->work > GT_MAX_WORK) return xerr(x, "execution builds more than %u bytes", GT_MAX_WORK);
    return W_OK;
}

/* ---- variables ---- */

static void push_var(gt_exec *x, const char *name, gv v) {
    if (x->n_vars == x->cap_vars) {
        x->cap_vars = x->cap_vars ? x->cap_vars * 2 : 16;
        x->vars = oc_realloc(x->vars, x->cap_vars * sizeof *x->vars);
    }
    x->vars[x->n_vars++] = (var){name, gv_copy(v)};
}

static void pop_vars(gt_exec *x, size_t mark) {
    while (x->n_vars > mark) gv_drop(&x->vars[--x->n_vars].v);
}

static var *find_var(gt_exec *x, const char *name) {
    for (size_t i = x->n_vars; i > x->vars_base; i--)
        if (strcmp(x->vars[i - 1].name, name) == 0) return &x->vars[i - 1];
    return NULL;
}

static int set_var(gt_exec *x, const char *name, gv v) {
    var *vr = find_var(x, name);
    if (!vr) return xerr(x, "undefined variable: %s", name);
    gv_drop(&vr->v);
    vr->v = gv_copy(v);
    return W_OK;
}

static void set_top_var(gt_exec *x, size_t n, gv v) {
    var *vr = &x->vars[x->n_vars - n];
    gv_drop(&vr->v);
    vr->v = gv_copy(v);
}

/* ---- evaluation ---- */

static int eval_pipeline(gt_exec *x, gv dot, const gt_pipe *pipe, gv *out);
static int eval_arg(gt_exec *x, gv dot, const gt_arg *a, int param, gv *out);

static int not_a_function(gt_exec *x, const gt_arg *first, int nargs, const gv *final) {
    if (nargs > 1 || final)
        return xerr(x, "can't give argument to non-function %.*s", (int)(first->end - first->pos), x->t->src + first->pos);
    return W_OK;
}

static int eval_field(gt_exec *x, gv recv, const char *name, bool has_args, gv *out) {
    char msg[200];
    *out = (gv){0};
    if (gv_field(recv, name, out, msg, sizeof msg)) return xerr(x, "%s", msg);
    if (has_args && gv_kind(recv) != K_INVALID) {
        gv_drop(out);
        if (gv_kind(recv) == K_MAP) return xerr(x, "%s is not a method but has arguments", name);
        return xerr(x, "%s has arguments but cannot be invoked as function", name);
    }
    return W_OK;
}

/* .X.Y.Z applied to recv; only the last name can see arguments. */
static int eval_chain(gt_exec *x, gv recv, char *const *names, int n, int nargs, const gv *final, gv *out) {
    gv cur = gv_copy(recv);
    for (int i = 0; i < n; i++) {
        gv next;
        int rc = eval_field(x, cur, names[i], i == n - 1 && (nargs > 1 || final), &next);
        gv_drop(&cur);
        if (rc) return rc;
        cur = next;
    }
    *out = cur;
    return W_OK;
}

static int eval_variable(gt_exec *x, const gt_arg *a, int nargs, const gv *final, gv *out) {
    at_arg(x, a);
    var *vr = find_var(x, a->idents[0]);
    if (!vr) return xerr(x, "undefined variable: %s", a->idents[0]);
    if (a->n_idents == 1) {
        if (not_a_function(x, a, nargs, final)) return W_ERR;
        *out = gv_copy(vr->v);
        return W_OK;
    }
    gv v = gv_copy(vr->v);
    int rc = eval_chain(x, v, a->idents + 1, a->n_idents - 1, nargs, final, out);
    gv_drop(&v);
    return rc;
}

static int literal(gt_exec *x, const gt_arg *a, gv *out) {
    at_arg(x, a);
    switch (a->type) {
    case A_BOOL: *out = gv_of(a->lit, GT_BOOL); return W_OK;
    case A_STRING: *out = gv_of(a->lit, GT_STR); return W_OK;
    case A_NUMBER:
        if (!a->lit) return xerr(x, "%.*s overflows int", (int)(a->end - a->pos), x->t->src + a->pos);
        *out = gv_of(a->lit, a->lit_int ? GT_INT : GT_ANY);
        out->iface = false;
        return W_OK;
    default: return xerr(x, "can't evaluate command");
    }
}

/* The argument count check of Go's evalCall. */
static int check_arity(gt_exec *x, const gt_func_info *f, int nargs, int n_in) {
    if (f->max_args < 0 && n_in < f->min_args)
        return xerr(x, "wrong number of args for %s: want at least %d got %d", f->name, f->min_args, nargs);
    if (f->max_args >= 0 && n_in != f->min_args)
        return xerr(x, "wrong number of args for %s: want %d got %d", f->name, f->min_args, n_in);
    return W_OK;
}

static int validate_string(gt_exec *x, gv v) {
    if (gv_kind(v) == K_STRING) return W_OK;
    if (gv_kind(v) == K_INVALID) return xerr(x, "invalid value; expected string");
    return xerr(x, "wrong type for value; expected string; got %s", gv_typename(v));
}

/* and / or: evaluate left to right, stop at the first false / true. */
static int eval_and_or(gt_exec *x, gv dot, bool is_or, gt_arg *const *args, int nargs, const gv *final, gv *out) {
    gv v = {0};
    for (int i = 0; i < nargs; i++) {
        gv_drop(&v);
        if (eval_arg(x, dot, args[i], GT_ARG_ANY, &v)) return W_ERR;
        if (gv_truth(v) == is_or) { *out = v; return W_OK; }
    }
    if (final) gv_drop(&v), v = gv_copy(*final);
    *out = v;
    return W_OK;
}

/* Where a failed call is reported: its whole command, as Go does. */
typedef struct {
    uint32_t pos, end;
} span;

static void at_call(gt_exec *x, const gt_arg *ident, span cmd) {
    at(x, cmd.pos, cmd.end);
    x->at_loc = ident->loc;
}

static int call_error(gt_exec *x, gv dot, const gt_arg *ident, gt_arg *const *args, int nargs, const gv *final, span cmd) {
    gv fn = {0};
    if (nargs ? eval_arg(x, dot, args[0], GT_ARG_ANY, &fn) : (fn = gv_copy(*final), 0)) return W_ERR;
    at_call(x, ident, cmd);
    const gt_arg *a = nargs ? args[0] : ident;
    int rc = gv_kind(fn) == K_INVALID
                 ? xerr(x, "error calling call: call of nil")
                 : xerr(x, "error calling call: non-function %.*s of type %s", (int)(a->end - a->pos), x->t->src + a->pos, gv_typename(fn));
    gv_drop(&fn);
    return rc;
}

static int call_builtin(gt_exec *x, gv dot, const gt_arg *ident, gt_arg *const *args, int nargs, const gv *final, span cmd, gv *out) {
    const gt_func_info *f = gt_func(ident->func);
    int n = nargs + (final != NULL), rc = W_OK;
    gv *argv = oc_calloc((size_t)(n ? n : 1), sizeof *argv);
    for (int i = 0; i < n && rc == W_OK; i++) {
        int param = i == 0 ? f->first_param : f->param;
        if (i < nargs) rc = eval_arg(x, dot, args[i], param, &argv[i]);
        else argv[i] = gv_copy(*final), rc = param == GT_ARG_STRING ? validate_string(x, argv[i]) : W_OK;
    }
    if (rc == W_OK) {
        char msg[240];
        at_call(x, ident, cmd);
        if (gt_func_call(ident->func, argv, n, out, msg, sizeof msg, &x->work))
            rc = xerr(x, "error calling %s: %s", f->name, msg);
    }
    for (int i = 0; i < n; i++) gv_drop(&argv[i]);
    free(argv);
    return rc;
}

static int eval_function(gt_exec *x, gv dot, const gt_arg *ident, gt_arg *const *args, int nargs, const gv *final, span cmd, gv *out) {
    at_arg(x, ident);
    const gt_func_info *f = gt_func(ident->func);
    if (check_arity(x, f, nargs, nargs + (final != NULL))) return W_ERR;
    if (!strcmp(f->name, "and") || !strcmp(f->name, "or"))
        return eval_and_or(x, dot, f->name[0] == 'o', args, nargs, final, out);
    if (!strcmp(f->name, "call")) return call_error(x, dot, ident, args, nargs, final, cmd);
    return call_builtin(x, dot, ident, args, nargs, final, cmd, out);
}

static int eval_command(gt_exec *x, gv dot, const gt_cmd *cmd, const gv *final, gv *out) {
    const gt_arg *first = cmd->args[0];
    *out = (gv){0};
    if (step(x)) return W_ERR;
    at_arg(x, first);
    switch (first->type) {
    case A_FIELD: return eval_chain(x, dot, first->idents, first->n_idents, cmd->n, final, out);
    case A_CHAIN: {
        gv recv;
        if (eval_arg(x, dot, first->sub, GT_ARG_ANY, &recv)) return W_ERR;
        at_arg(x, first);
        int rc = eval_chain(x, recv, first->idents, first->n_idents, cmd->n, final, out);
        gv_drop(&recv);
        return rc;
    }
    case A_IDENT: return eval_function(x, dot, first, cmd->args + 1, cmd->n - 1, final, (span){cmd->pos, cmd->end}, out);
    case A_VAR: return eval_variable(x, first, cmd->n, final, out);
    default: break;
    }
    if (not_a_function(x, first, cmd->n, final)) return W_ERR;
    switch (first->type) {
    case A_PIPE: return eval_pipeline(x, dot, first->pipe, out);
    case A_DOT: *out = gv_copy(dot); return W_OK;
    case A_NIL: return xerr(x, "nil is not a command");
    default: return literal(x, first, out);
    }
}

/* A function argument; param GT_ARG_STRING wants a string, as Go's
 * evalArg checks against the parameter type. */
static int eval_arg(gt_exec *x, gv dot, const gt_arg *a, int param, gv *out) {
    *out = (gv){0};
    if (step(x)) return W_ERR;
    at_arg(x, a);
    int rc;
    switch (a->type) {
    case A_DOT: *out = gv_copy(dot); rc = W_OK; break;
    case A_NIL:
        if (param == GT_ARG_STRING) return xerr(x, "cannot assign nil to string");
        return W_OK;
    case A_FIELD: rc = eval_chain(x, dot, a->idents, a->n_idents, 1, NULL, out); break;
    case A_VAR: rc = eval_variable(x, a, 1, NULL, out); break;
    case A_PIPE: rc = eval_pipeline(x, dot, a->pipe, out); break;
    case A_IDENT: rc = eval_function(x, dot, a, NULL, 0, NULL, (span){a->pos, a->end}, out); break;
    case A_CHAIN: {
        gv recv;
        if (eval_arg(x, dot, a->sub, GT_ARG_ANY, &recv)) return W_ERR;
        rc = eval_chain(x, recv, a->idents, a->n_idents, 1, NULL, out);
        gv_drop(&recv);
        break;
    }
    default:
        if (param == GT_ARG_STRING && a->type != A_STRING)
            return xerr(x, "expected string; found %.*s", (int)(a->end - a->pos), x->t->src + a->pos);
        return literal(x, a, out);
    }
    if (rc == W_OK && param == GT_ARG_STRING) {
        at_arg(x, a);
        rc = validate_string(x, *out);
    }
    if (rc) gv_drop(out);
    return rc;
}

static int eval_pipeline(gt_exec *x, gv dot, const gt_pipe *pipe, gv *out) {
    gv val = {0};
    *out = (gv){0};
    for (int i = 0; i < pipe->n_cmds; i++) {
        at(x, pipe->pos, pipe->end);
        gv r;
        int rc = eval_command(x, dot, pipe->cmds[i], i ? &val : NULL, &r);
        gv_drop(&val);
        if (rc) return rc;
        val = r;
    }
    val.iface = false; /* Go digs the value out of its interface here */
    for (int i = 0; i < pipe->n_decl; i++) {
        if (!pipe->is_assign) push_var(x, pipe->decl[i], val);
        else if (set_var(x, pipe->decl[i], val)) { gv_drop(&val); return W_ERR; }
    }
    *out = val;
    return W_OK;
}

/* ---- the walk ---- */

static int walk(gt_exec *x, gv dot, const gt_node *n);

static int check_output(gt_exec *x) {
    if (x->out->len - x->out_start > GT_MAX_OUTPUT) return xerr(x, "output exceeds %u bytes", GT_MAX_OUTPUT);
    return W_OK;
}

static int emit(gt_exec *x, const char *s, size_t n) {
    if (x->out->len - x->out_start + n > GT_MAX_OUTPUT) return xerr(x, "output exceeds %u bytes", GT_MAX_OUTPUT);
    oc_buf_append(x->out, s, n);
    return W_OK;
}

static int walk_action(gt_exec *x, gv dot, const gt_node *n) {
    gv v;
    if (eval_pipeline(x, dot, n->pipe, &v)) return W_ERR;
    int rc = W_OK;
    if (!n->pipe->n_decl) {
        at(x, n->pipe->pos, n->pipe->end);
        if (gv_kind(v) == K_INVALID) rc = emit(x, "<no value>", 10);
        else gt_print_value(x->out, v, -1), rc = check_output(x);
    }
    gv_drop(&v);
    return rc;
}

static int walk_if(gt_exec *x, gv dot, const gt_node *n) {
    size_t mark = x->n_vars;
    gv v;
    int rc = eval_pipeline(x, dot, n->pipe, &v);
    if (rc == W_OK) {
        if (gv_truth(v)) rc = walk(x, n->type == N_WITH ? v : dot, n->list);
        else if (n->else_list) rc = walk(x, dot, n->else_list);
    }
    gv_drop(&v);
    pop_vars(x, mark);
    return rc;
}

/* One pass of a range body with $index / $element set as Go sets them. */
static int iteration(gt_exec *x, const gt_node *n, gv index, gv elem, size_t mark) {
    const gt_pipe *p = n->pipe;
    int rc = W_OK;
    if (p->n_decl > 0) {
        if (!p->is_assign) set_top_var(x, 1, elem);
        else rc = set_var(x, p->decl[0], p->n_decl > 1 ? index : elem);
    }
    if (p->n_decl > 1 && rc == W_OK) {
        if (!p->is_assign) set_top_var(x, 2, index);
        else rc = set_var(x, p->decl[1], elem);
    }
    if (rc == W_OK) rc = walk(x, elem, n->list);
    pop_vars(x, mark);
    return rc == W_CONTINUE ? W_OK : rc;
}

static int range_items(gt_exec *x, const gt_node *n, gv v, size_t mark, bool *any) {
    int rc = W_OK;
    gt_kind k = gv_kind(v);
    const char **keys = NULL;
    size_t len = k == K_MAP ? gv_map_keys(v, &keys) : k == K_SLICE ? gv_len(v) : 0;
    if (k == K_INT) {
        if (n->pipe->n_decl > 1) rc = xerr(x, "can't use %lld to iterate over more than one variable", (long long)gv_intval(v));
        len = gv_intval(v) > 0 ? (size_t)gv_intval(v) : 0;
    }
    for (size_t i = 0; i < len && rc == W_OK; i++) {
        gv idx = k == K_MAP ? gv_str(keys[i], strlen(keys[i])) : gv_int((int64_t)i);
        gv elem = k == K_MAP ? gv_map_get(v, keys[i]) : k == K_SLICE ? gv_index(v, i) : gv_copy(idx);
        *any = true;
        rc = iteration(x, n, idx, elem, mark);
        gv_drop(&idx);
        gv_drop(&elem);
    }
    free(keys);
    return rc == W_BREAK ? W_OK : rc;
}

static int walk_range(gt_exec *x, gv dot, const gt_node *n) {
    size_t mark = x->n_vars;
    gv v;
    int rc = eval_pipeline(x, dot, n->pipe, &v);
    bool any = false;
    if (rc == W_OK) {
        gt_kind k = gv_kind(v);
        at(x, n->pipe->pos, n->pipe->end);
        if (k == K_SLICE || k == K_MAP || k == K_INT) rc = range_items(x, n, v, x->n_vars, &any);
        else if (k != K_INVALID) {
            oc_buf b = {0};
            gt_print_value(&b, v, 0);
            rc = xerr(x, "range can't iterate over %.100s", b.data ? b.data : "");
            oc_buf_free(&b);
        }
    }
    if (rc == W_OK && !any && n->else_list) rc = walk(x, dot, n->else_list);
    gv_drop(&v);
    pop_vars(x, mark);
    return rc;
}

static int walk_template(gt_exec *x, gv dot, const gt_node *n) {
    char ctx[200];
    const gt_pipe *p = n->pipe;
    int plen = p ? (int)(p->end - p->pos) : 0;
    while (plen > 0 && strchr(" \t\r\n", x->t->src[p->pos + (uint32_t)plen - 1])) plen--;
    snprintf(ctx, sizeof ctx, "{{template \"%s\"%s%.*s}}", n->name, p ? " " : "", plen, p ? x->t->src + p->pos : "");
    at(x, n->pos, n->pos);
    x->at_text = ctx;
    const gt_tree *tree = gt_find_tree(x->t, n->name);
    if (!tree) return xerr(x, "template \"%s\" not defined", n->name);
    if (x->depth >= GT_MAX_TEMPLATE_DEPTH) return xerr(x, "exceeded maximum template depth (%d)", GT_MAX_TEMPLATE_DEPTH);
    gv newdot = {0};
    if (n->pipe && eval_pipeline(x, dot, n->pipe, &newdot)) return W_ERR;
    const gt_tree *saved = x->tree;
    size_t base = x->vars_base;
    x->vars_base = x->n_vars;
    x->tree = tree;
    x->depth++;
    push_var(x, "$", newdot);
    int rc = walk(x, newdot, tree->root);
    pop_vars(x, x->vars_base);
    x->depth--;
    x->tree = saved;
    x->vars_base = base;
    gv_drop(&newdot);
    return rc;
}

static int walk_node(gt_exec *x, gv dot, const gt_node *n) {
    switch (n->type) {
    case N_LIST:
        for (int i = 0; i < n->n; i++) {
            int rc = walk(x, dot, n->nodes[i]);
            if (rc) return rc;
        }
        return W_OK;
    case N_TEXT: return emit(x, n->text, n->len);
    case N_ACTION: return walk_action(x, dot, n);
    case N_IF: case N_WITH: return walk_if(x, dot, n);
    case N_RANGE: return walk_range(x, dot, n);
    case N_TEMPLATE: return walk_template(x, dot, n);
    case N_BREAK: return W_BREAK;
    case N_CONTINUE: return W_CONTINUE;
    }
    return W_OK;
}

static int walk(gt_exec *x, gv dot, const gt_node *n) {
    if (step(x)) return W_ERR;
    if (++x->walk_depth > GT_MAX_WALK_DEPTH) {
        x->walk_depth--;
        return xerr(x, "exceeded maximum nesting depth (%d)", GT_MAX_WALK_DEPTH);
    }
    int rc = walk_node(x, dot, n);
    x->walk_depth--;
    return rc;
}

int gotmpl_execute(const gotmpl *t, json_t *data, oc_buf *out, oc_error *err) {
    const gt_tree *tree = gt_find_tree(t, t->name);
    gt_exec x = {.t = t, .tree = tree, .out = out, .out_start = out->len, .err = err};
    oc_buf_append(out, "", 0);
    if (!tree) return xerr(&x, "\"%s\" is an incomplete or empty template", t->name);
    gv root = gv_of(data, json_is_object(data) ? GT_ROOT : GT_ANY);
    root.iface = false;
    push_var(&x, "$", root);
    int rc = walk(&x, root, tree->root);
    pop_vars(&x, 0);
    free(x.vars);
    gv_drop(&root);
    if (rc < 0 || x.failed) {
        out->len = x.out_start;
        out->data[out->len] = 0;
        return -1;
    }
    return 0;
}

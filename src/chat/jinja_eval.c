/* jinja_eval: the Jinja interpreter — evaluates expressions and runs
 * statements over the syntax tree with Jinja's scoping (each for-loop
 * iteration, macro call, with block and set block gets a scope of its own;
 * if does not), macros with Jinja's argument rules, call blocks, loop
 * controls, and the limits that stop hostile templates. Owns
 * jinja_render. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

uint64_t jinja_max_steps = 100000000;

#define J_MAX_STACK ((size_t)384 << 10) /* C stack a render may use */

static _Atomic int64_t fixed_time;
void jinja_set_fixed_time(int64_t epoch_seconds) { fixed_time = epoch_seconds; }
int64_t jinja_fixed_time(void) { return fixed_time; }

/* ---- errors and limits ---- */

int jr_fail(jr *r, const char *exc, const char *fmt, ...) {
    if (r->failed) return -1; /* keep the first error: it is the cause */
    char m[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    r->failed = true;
    return oc_fail(r->err, "%s: %s", exc, m);
}

int jr_undef_fail(jr *r, jv u) {
    if (u.kind == JV_UNDEF && u.u) return jr_fail(r, u.u->exc, "%s", u.u->msg);
    return jr_fail(r, "UndefinedError", "value is undefined");
}

int jr_step(jr *r) {
    if (++r->steps + (jv_work - r->work0) / J_WORK_PER_STEP > jinja_max_steps)
        return jr_fail(r, "RuntimeError", "template took more than %llu evaluation steps",
                       (unsigned long long)jinja_max_steps);
    if (jv_live_bytes > r->live0 + J_MAX_LIVE) return jr_fail(r, "MemoryError", "template values use too much memory");
    char here;
    uintptr_t a = (uintptr_t)&here, b = (uintptr_t)r->stack0;
    size_t used = a < b ? b - a : a - b;
    /* a distance past 1 GiB means another stack (sanitizers' fake stacks), not depth */
    if ((used > J_MAX_STACK && used < ((size_t)1 << 30)) || r->depth > J_MAX_DEPTH)
        return jr_fail(r, "RecursionError", "maximum recursion depth exceeded");
    return 0;
}

void jr_track(jr *r, jv v) {
    if (r->ntrack == r->captrack) {
        r->captrack = r->captrack ? r->captrack * 2 : 16;
        r->track = oc_realloc(r->track, r->captrack * sizeof(jv));
    }
    r->track[r->ntrack++] = jv_retain(v);
}

/* Namespaces, macros and recursive loops can close reference cycles
 * (ns.self = ns; a macro stored in the scope it closes over); when the
 * render ends their references out are dropped so everything frees. */
static void untrack_all(jr *r) {
    for (size_t i = 0; i < r->ntrack; i++) {
        jv v = r->track[i];
        if (v.kind == JV_NS) {
            jdict *d = v.d;
            size_t n = d->n;
            d->n = 0;
            for (size_t k = 0; k < n; k++) {
                jv_release(d->k[k]);
                jv_release(d->v[k]);
            }
        } else if (v.kind == JV_FUNC && v.fn->scope) {
            jscope *s = v.fn->scope;
            v.fn->scope = NULL;
            jscope_release(s);
        } else if (v.kind == JV_LOOP && v.lp->scope) {
            jscope *s = v.lp->scope;
            v.lp->scope = NULL;
            jscope_release(s);
        }
    }
    for (size_t i = 0; i < r->ntrack; i++) jv_release(r->track[i]);
    free(r->track);
}

/* Accounts for n bytes just written to the output. */
static int emitted(jr *r, size_t n) {
    r->inflight += n;
    jv_work += n;
    if (r->inflight > J_MAX_OUT) return jr_fail(r, "MemoryError", "output too long");
    return 0;
}

static int emit(jr *r, const char *s, size_t n) {
    oc_buf_append(r->out, s, n);
    return emitted(r, n);
}

/* str(v) to the output. */
static int emit_value(jr *r, jv v) {
    size_t before = r->out->len;
    jv_to_str(v, r->out);
    return emitted(r, r->out->len - before);
}

/* ---- scopes ---- */

static jscope *scope_new(jscope *parent) {
    jscope *s = oc_malloc(sizeof *s);
    s->rc = 1;
    s->parent = parent;
    if (parent) parent->rc++;
    s->vars = jv_dict().d;
    return s;
}

void jscope_release(jscope *s) {
    while (s && --s->rc == 0) {
        jscope *p = s->parent;
        jv_release((jv){.kind = JV_DICT, .d = s->vars});
        free(s);
        s = p;
    }
}

/* Looks a NAME node up through the scopes. */
static jv lookup(jr *r, const jnode *name) {
    for (jscope *s = r->scope; s; s = s->parent) {
        jv *v = jd_get(s->vars, name->value);
        if (v) return jv_retain(*v);
    }
    return jv_undef_name(name->name);
}

/* The key of the loop variable, shared and never freed. */
static jstr LOOP_KEY = {.rc = JV_IMMORTAL, .len = 4, .p = (char *)"loop"};

/* ---- arguments ---- */

typedef struct callargs {
    jargs a;
    jv hold; /* the **kwargs dict, whose keys kwn points into */
} callargs;

static void args_free(callargs *ca) {
    for (size_t i = 0; i < ca->a.npos; i++) jv_release(ca->a.pos[i]);
    for (size_t i = 0; i < ca->a.nkw; i++) jv_release(ca->a.kwv[i]);
    free(ca->a.pos);
    free(ca->a.kwn);
    free(ca->a.kwv);
    jv_release(ca->hold);
    memset(ca, 0, sizeof *ca);
}

static int eval_star(jr *r, const jnode *n, jlist **star, jv *kwd) {
    jv v;
    if (n->c) {
        if (jr_eval(r, n->c, &v)) return -1;
        int rc = jr_iter(r, v, star);
        jv_release(v);
        if (rc) return -1;
    }
    if (n->d) {
        if (jr_eval(r, n->d, kwd)) return -1;
        if (kwd->kind != JV_DICT)
            return jr_fail(r, "TypeError",
                           "jinja2.sandbox.SandboxedEnvironment.call() argument after ** must be a mapping, not %s",
                           jv_type_name(*kwd));
        for (size_t i = 0; i < kwd->d->n; i++)
            if (kwd->d->k[i].kind != JV_STR) return jr_fail(r, "TypeError", "keywords must be strings");
    }
    return 0;
}

/* Evaluates a call's arguments; room for one extra keyword (caller). */
static int eval_args(jr *r, const jnode *n, callargs *ca) {
    memset(ca, 0, sizeof *ca);
    ca->hold = jv_none();
    if (!n) {
        ca->a.kwn = oc_malloc(sizeof(char *));
        ca->a.kwv = oc_malloc(sizeof(jv));
        return 0;
    }
    jlist *star = NULL;
    jv kwd = jv_none();
    int rc = eval_star(r, n, &star, &kwd);
    size_t npos = n->kids.n + (star ? star->n : 0), nkw = n->kids2.n + (kwd.kind == JV_DICT ? kwd.d->n : 0) + 1;
    ca->a.pos = oc_malloc((npos ? npos : 1) * sizeof(jv));
    ca->a.kwn = oc_malloc(nkw * sizeof(char *));
    ca->a.kwv = oc_malloc(nkw * sizeof(jv));
    ca->hold = kwd;
    for (size_t i = 0; !rc && i < n->kids.n; i++) {
        rc = jr_eval(r, n->kids.v[i], &ca->a.pos[i]);
        if (!rc) ca->a.npos++;
    }
    for (size_t i = 0; !rc && star && i < star->n; i++) ca->a.pos[ca->a.npos++] = jv_retain(star->v[i]);
    for (size_t i = 0; !rc && i < n->kids2.n; i++) {
        rc = jr_eval(r, n->kids2.v[i]->a, &ca->a.kwv[i]);
        if (!rc) ca->a.kwn[ca->a.nkw++] = n->kids2.v[i]->name;
    }
    for (size_t i = 0; !rc && kwd.kind == JV_DICT && i < kwd.d->n; i++) {
        ca->a.kwn[ca->a.nkw] = kwd.d->k[i].s->p;
        ca->a.kwv[ca->a.nkw++] = jv_retain(kwd.d->v[i]);
    }
    if (star) jv_release((jv){.kind = JV_LIST, .l = star});
    if (rc) args_free(ca);
    return rc;
}

int jargs_bind(jr *r, const char *fname, jargs *a, const char *const *names, size_t n, jv *slots) {
    for (size_t i = 0; i < n; i++) slots[i] = jv_missing();
    if (a->npos > n)
        return jr_fail(r, "TypeError", "%s() takes at most %zu argument(s) (%zu given)", fname, n, a->npos);
    for (size_t i = 0; i < a->npos; i++) slots[i] = a->pos[i];
    for (size_t k = 0; k < a->nkw; k++) {
        size_t i = 0;
        while (i < n && strcmp(names[i], a->kwn[k]) != 0) i++;
        if (i == n) return jr_fail(r, "TypeError", "%s() got an unexpected keyword argument '%s'", fname, a->kwn[k]);
        if (slots[i].kind != JV_MISSING)
            return jr_fail(r, "TypeError", "%s() got multiple values for argument '%s'", fname, names[i]);
        slots[i] = a->kwv[k];
    }
    return 0;
}

/* ---- expressions ---- */

static int eval_filter(jr *r, const jnode *e, jv seed, jv *out);

static int eval_call(jr *r, const jnode *e, jv extra_caller, jv *out) {
    jv fn;
    callargs ca;
    if (jr_eval(r, e->a, &fn)) return -1;
    if (eval_args(r, e->b, &ca)) return jv_release(fn), -1;
    if (extra_caller.kind != JV_MISSING) {
        ca.a.kwn[ca.a.nkw] = "caller";
        ca.a.kwv[ca.a.nkw++] = jv_retain(extra_caller);
    }
    r->depth++;
    int rc = jr_call(r, fn, &ca.a, out);
    r->depth--;
    args_free(&ca);
    jv_release(fn);
    return rc;
}

static int eval_filter(jr *r, const jnode *e, jv seed, jv *out) {
    jv val;
    int rc = !e->a                    ? (val = jv_retain(seed), 0)
             : e->a->type == N_FILTER ? eval_filter(r, e->a, seed, &val)
                                      : jr_eval(r, e->a, &val);
    if (rc) return -1;
    callargs ca;
    if (eval_args(r, e->b, &ca)) return jv_release(val), -1;
    if (!e->filter)
        rc = jr_fail(r, "TemplateRuntimeError", "No filter named '%s' found.", e->name);
    else
        rc = e->filter(r, val, &ca.a, out);
    args_free(&ca);
    jv_release(val);
    return rc;
}

static int eval_test(jr *r, const jnode *e, jv *out) {
    jv val;
    if (jr_eval(r, e->a, &val)) return -1;
    callargs ca;
    if (eval_args(r, e->b, &ca)) return jv_release(val), -1;
    bool res = false;
    int rc = e->test ? e->test(r, val, &ca.a, &res)
                     : jr_fail(r, "TemplateRuntimeError", "No test named '%s' found.", e->name);
    args_free(&ca);
    jv_release(val);
    *out = jv_bool(res);
    return rc;
}

static int eval_getitem(jr *r, const jnode *e, jv *out) {
    jv obj, k[3] = {jv_missing(), jv_missing(), jv_missing()};
    if (jr_eval(r, e->a, &obj)) return -1;
    const jnode *idx = e->b;
    int rc = 0;
    if (idx->type == N_SLICE) {
        const jnode *parts[3] = {idx->a, idx->b, idx->c};
        for (int i = 0; !rc && i < 3; i++)
            if (parts[i]) rc = jr_eval(r, parts[i], &k[i]);
        if (!rc) rc = jr_slice(r, obj, k[0], k[1], k[2], out);
    } else {
        rc = jr_eval(r, idx, &k[0]);
        if (!rc) rc = jr_getitem(r, obj, k[0], out);
    }
    for (int i = 0; i < 3; i++) jv_release(k[i]);
    jv_release(obj);
    return rc;
}

static int eval_unary(jr *r, const jnode *e, jv *out) {
    jv v;
    if (jr_eval(r, e->a, &v)) return -1;
    int rc = 0;
    if (e->type == N_NOT)
        *out = jv_bool(!jv_truthy(v));
    else if (v.kind == JV_UNDEF)
        rc = jr_undef_fail(r, v);
    else if (v.kind == JV_INT || v.kind == JV_BOOL) {
        int64_t i = v.kind == JV_INT ? v.i : v.b;
        if (e->type == N_NEG && i == INT64_MIN)
            rc = jr_fail(r, "OverflowError", "integer result too large");
        else
            *out = jv_int(e->type == N_NEG ? -i : i);
    } else if (v.kind == JV_FLOAT)
        *out = jv_float(e->type == N_NEG ? -v.f : v.f);
    else
        rc = jr_fail(r, "TypeError", "bad operand type for unary %c: '%s'", e->type == N_NEG ? '-' : '+',
                     jv_type_name(v));
    jv_release(v);
    return rc;
}

static int eval_binary(jr *r, const jnode *e, jv *out) {
    jv a, b;
    if (jr_eval(r, e->a, &a)) return -1;
    if (e->type == N_AND || e->type == N_OR) { /* Python returns the deciding operand */
        if (jv_truthy(a) == (e->type == N_OR)) return *out = a, 0;
        jv_release(a);
        return jr_eval(r, e->b, out);
    }
    if (jr_eval(r, e->b, &b)) return jv_release(a), -1;
    int rc = jr_binop(r, e->op, a, b, out);
    jv_release(a);
    jv_release(b);
    return rc;
}

static int eval_compare(jr *r, const jnode *e, jv *out) {
    jv left;
    if (jr_eval(r, e->a, &left)) return -1;
    bool res = true;
    for (size_t i = 0; i < e->kids.n && res; i++) {
        jv right;
        const jnode *o = e->kids.v[i];
        if (jr_eval(r, o->a, &right)) return jv_release(left), -1;
        int rc = jr_compare(r, o->op, left, right, &res);
        jv_release(left);
        left = right;
        if (rc) return jv_release(left), -1;
    }
    jv_release(left);
    *out = jv_bool(res);
    return 0;
}

static int eval_seq(jr *r, const jnode *e, jv *out) {
    jv l = e->type == N_TUPLE ? jv_tuple(e->kids.n) : jv_list(e->kids.n);
    for (size_t i = 0; i < e->kids.n; i++) {
        jv v;
        if (jr_eval(r, e->kids.v[i], &v)) return jv_release(l), -1;
        jl_push(l.l, v);
    }
    *out = l;
    return 0;
}

static int eval_dict(jr *r, const jnode *e, jv *out) {
    jv d = jv_dict();
    for (size_t i = 0; i < e->kids.n; i++) {
        jv k, v;
        if (jr_eval(r, e->kids.v[i]->a, &k)) return jv_release(d), -1;
        if (!jv_hashable(k)) {
            jr_fail(r, "TypeError", "unhashable type: '%s'", jv_type_name(k));
            return jv_release(k), jv_release(d), -1;
        }
        if (jr_eval(r, e->kids.v[i]->b, &v)) return jv_release(k), jv_release(d), -1;
        jd_set(d.d, k, v);
    }
    *out = d;
    return 0;
}

static int eval_concat(jr *r, const jnode *e, jv *out) {
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    for (size_t i = 0; i < e->kids.n; i++) {
        jv v;
        if (jr_eval(r, e->kids.v[i], &v)) return oc_buf_free(&b), -1;
        int rc = jr_to_str(r, v, &b);
        jv_release(v);
        if (rc) return oc_buf_free(&b), -1;
    }
    *out = jv_str_buf(&b, false);
    return 0;
}

static int eval_condexpr(jr *r, const jnode *e, jv *out) {
    jv t;
    if (jr_eval(r, e->a, &t)) return -1;
    bool yes = jv_truthy(t);
    jv_release(t);
    if (yes) return jr_eval(r, e->b, out);
    if (e->c) return jr_eval(r, e->c, out);
    *out = jv_undef_msg("UndefinedError",
                        "the inline if-expression on line %d evaluated to false and no else section was defined.",
                        e->line);
    return 0;
}

int jr_eval(jr *r, const jnode *e, jv *out) {
    if (jr_step(r)) return -1;
    int rc;
    jv obj;
    switch (e->type) {
    case N_CONST: *out = jv_retain(e->value); return 0;
    case N_NAME: *out = lookup(r, e); return 0;
    case N_GETATTR:
        if (jr_eval(r, e->a, &obj)) return -1;
        rc = jr_getattr(r, obj, e->name, out);
        jv_release(obj);
        return rc;
    case N_GETITEM: return eval_getitem(r, e, out);
    case N_CALL: return eval_call(r, e, jv_missing(), out);
    case N_FILTER: return eval_filter(r, e, jv_none(), out);
    case N_TEST: return eval_test(r, e, out);
    case N_NOT:
    case N_NEG:
    case N_POS: return eval_unary(r, e, out);
    case N_BINARY:
    case N_AND:
    case N_OR: return eval_binary(r, e, out);
    case N_COMPARE: return eval_compare(r, e, out);
    case N_CONDEXPR: return eval_condexpr(r, e, out);
    case N_LIST:
    case N_TUPLE: return eval_seq(r, e, out);
    case N_DICT: return eval_dict(r, e, out);
    case N_CONCAT: return eval_concat(r, e, out);
    default: return jr_fail(r, "TemplateRuntimeError", "cannot evaluate this expression");
    }
}

/* ---- statements ---- */

static int exec_body(jr *r, const jvec *body);

static int check_depth(jr *r, jv v) {
    if (jv_depth(v) <= J_MAX_VALUE_DEPTH) return 0;
    return jr_fail(r, "RecursionError", "value nested more than %d levels deep", J_MAX_VALUE_DEPTH);
}

static int assign(jr *r, const jnode *t, jv v, jscope *dst) {
    if (check_depth(r, v)) return -1;
    if (t->type == N_NAME) {
        jd_set(dst->vars, t->value, jv_retain(v));
        return 0;
    }
    if (t->type == N_NSREF) {
        jv ns = lookup(r, t->a);
        int rc = 0;
        if (ns.kind != JV_NS)
            rc = jr_fail(r, "TemplateRuntimeError", "cannot assign attribute on non-namespace object");
        else
            jd_set_str(ns.d, t->name, jv_retain(v));
        jv_release(ns);
        return rc;
    }
    jlist *items; /* tuple unpacking */
    if (v.kind == JV_NONE || v.kind == JV_BOOL || v.kind == JV_INT || v.kind == JV_FLOAT || v.kind == JV_FUNC ||
        v.kind == JV_NS)
        return jr_fail(r, "TypeError", "cannot unpack non-iterable %s object", jv_type_name(v));
    if (jr_iter(r, v, &items)) return -1;
    int rc = 0;
    if (items->n < t->kids.n)
        rc = jr_fail(r, "ValueError", "not enough values to unpack (expected %zu, got %zu)", t->kids.n, items->n);
    else if (items->n > t->kids.n)
        rc = jr_fail(r, "ValueError", "too many values to unpack (expected %zu)", t->kids.n);
    for (size_t i = 0; !rc && i < t->kids.n; i++) rc = assign(r, t->kids.v[i], items->v[i], dst);
    jv_release((jv){.kind = JV_LIST, .l = items});
    return rc;
}

/* Runs body in scope (when given) with output going to a fresh buffer. */
static int capture(jr *r, const jvec *body, jscope *scope, jv *out) {
    oc_buf buf = {0}, *saved = r->out;
    jscope *ss = r->scope;
    r->out = &buf;
    if (scope) r->scope = scope;
    int rc = exec_body(r, body);
    r->out = saved;
    r->scope = ss;
    r->inflight -= buf.len; /* no longer output: a value now, or gone */
    if (rc) {
        oc_buf_free(&buf);
        return rc;
    }
    *out = jv_str_buf(&buf, false);
    return 0;
}

static int exec_print(jr *r, const jnode *e) {
    jv v;
    if (jr_eval(r, e, &v)) return -1;
    int rc = emit_value(r, v);
    jv_release(v);
    return rc;
}

static int exec_if(jr *r, const jnode *s) {
    for (;;) {
        jv t;
        if (jr_eval(r, s->a, &t)) return -1;
        bool yes = jv_truthy(t);
        jv_release(t);
        if (yes) return exec_body(r, &s->kids);
        /* elif (or an else holding just an if): follow the chain without recursing */
        if (s->kids2.n == 1 && s->kids2.v[0]->type == N_IF) {
            s = s->kids2.v[0];
            continue;
        }
        return exec_body(r, &s->kids2);
    }
}

/* The loop's items, after the `for x in y if cond` filter. */
static int loop_items(jr *r, const jnode *s, jv iterable, jlist **out) {
    jlist *items;
    if (jr_iter(r, iterable, &items)) return -1;
    if (!s->c) return *out = items, 0;
    jv kept = jv_list(0);
    int rc = 0;
    for (size_t i = 0; !rc && i < items->n; i++) {
        jscope *sc = scope_new(r->scope), *saved = r->scope;
        jv t;
        rc = assign(r, s->a, items->v[i], sc);
        r->scope = sc;
        if (!rc) rc = jr_eval(r, s->c, &t);
        r->scope = saved;
        jscope_release(sc);
        if (rc) break;
        if (jv_truthy(t)) jl_push(kept.l, jv_retain(items->v[i]));
        jv_release(t);
    }
    jv_release((jv){.kind = JV_LIST, .l = items});
    if (rc) return jv_release(kept), -1;
    *out = kept.l;
    return 0;
}

static int run_iteration(jr *r, const jnode *s, jv item, jv lpv) {
    jscope *sc = scope_new(r->scope), *saved = r->scope;
    jd_set(sc->vars, (jv){.kind = JV_STR, .s = &LOOP_KEY}, jv_retain(lpv));
    int rc = assign(r, s->a, item, sc);
    if (!rc) {
        r->scope = sc;
        rc = exec_body(r, &s->kids);
        r->scope = saved;
    }
    jscope_release(sc);
    return rc;
}

static int run_loop(jr *r, const jnode *s, jlist *items, int depth0) {
    if (!items->n) {
        jscope *sc = scope_new(r->scope), *saved = r->scope;
        r->scope = sc;
        int rc = exec_body(r, &s->kids2);
        r->scope = saved;
        jscope_release(sc);
        return rc;
    }
    jloop *lp = oc_calloc(1, sizeof *lp);
    lp->rc = 1;
    lp->items = items;
    items->rc++;
    lp->depth0 = depth0;
    lp->changed_last = jv_missing();
    lp->node = s;
    jv lpv = {.kind = JV_LOOP, .lp = lp};
    if (s->flag) {
        lp->scope = r->scope;
        r->scope->rc++;
        jr_track(r, lpv);
    }
    int rc = 0;
    for (size_t i = 0; i < items->n; i++) {
        lp->i = i;
        rc = jr_step(r); /* an empty body still costs a step per iteration */
        if (!rc) rc = run_iteration(r, s, items->v[i], lpv);
        if (rc == JR_CONTINUE) rc = 0;
        if (rc) break;
    }
    jv_release(lpv);
    return rc == JR_BREAK ? 0 : rc;
}

static int exec_for(jr *r, const jnode *s) {
    jv it;
    jlist *items;
    if (jr_eval(r, s->b, &it)) return -1;
    int rc = loop_items(r, s, it, &items);
    jv_release(it);
    if (rc) return -1;
    rc = run_loop(r, s, items, 0);
    jv_release((jv){.kind = JV_LIST, .l = items});
    return rc;
}

/* loop(items) in a recursive for: the body once more over items, one
 * level deeper, its output returned as a string. */
static int loop_call(jr *r, jloop *lp, jargs *a, jv *out) {
    if (!lp->node->flag)
        return jr_fail(r, "TypeError", "The loop must have the 'recursive' marker to be called recursively.");
    if (a->npos != 1 || a->nkw || !lp->scope) return jr_fail(r, "TypeError", "loop() takes exactly one argument");
    jscope *saved = r->scope;
    r->scope = lp->scope;
    jlist *items;
    int rc = loop_items(r, lp->node, a->pos[0], &items);
    oc_buf buf = {0}, *out_saved = r->out;
    if (!rc) {
        r->out = &buf;
        rc = run_loop(r, lp->node, items, lp->depth0 + 1);
        r->out = out_saved;
        r->inflight -= buf.len;
        jv_release((jv){.kind = JV_LIST, .l = items});
    }
    r->scope = saved;
    if (rc) return oc_buf_free(&buf), -1;
    *out = jv_str_buf(&buf, false);
    return 0;
}

static jv make_macro(jr *r, const jnode *s, jfunc_type type) {
    jfunc *f = oc_calloc(1, sizeof *f);
    f->rc = 1;
    f->type = type;
    f->name = type == FN_CALLER ? "caller" : s->name;
    f->node = s;
    f->scope = r->scope;
    r->scope->rc++;
    f->self = jv_none();
    jv fv = {.kind = JV_FUNC, .fn = f};
    jr_track(r, fv);
    return fv;
}

static int exec_callblock(jr *r, const jnode *s) {
    jv caller = make_macro(r, s, FN_CALLER), res;
    int rc = eval_call(r, s->a, caller, &res);
    jv_release(caller);
    if (rc) return -1;
    rc = emit_value(r, res);
    jv_release(res);
    return rc;
}

/* The text a block body renders, in a scope of its own. */
static int capture_block(jr *r, const jnode *s, jv *out) {
    jscope *sc = scope_new(r->scope);
    int rc = capture(r, &s->kids, sc, out);
    jscope_release(sc);
    return rc;
}

static int exec_setblock(jr *r, const jnode *s) {
    jv v, f;
    int rc = capture_block(r, s, &v);
    if (rc) return rc;
    if (s->b) {
        rc = eval_filter(r, s->b, v, &f);
        jv_release(v);
        if (rc) return -1;
        v = f;
    }
    rc = assign(r, s->a, v, r->scope);
    jv_release(v);
    return rc;
}

static int exec_filterblock(jr *r, const jnode *s) {
    jv v, f;
    int rc = capture_block(r, s, &v);
    if (rc) return rc;
    rc = eval_filter(r, s->a, v, &f);
    jv_release(v);
    if (rc) return -1;
    rc = emit_value(r, f);
    jv_release(f);
    return rc;
}

static int exec_with(jr *r, const jnode *s) {
    jscope *sc = scope_new(r->scope), *saved = r->scope;
    int rc = 0;
    for (size_t i = 0; !rc && i < s->kids2.n; i++) { /* values see the outer scope */
        jv v;
        rc = jr_eval(r, s->kids2.v[i]->b, &v);
        if (!rc) {
            rc = assign(r, s->kids2.v[i]->a, v, sc);
            jv_release(v);
        }
    }
    if (!rc) {
        r->scope = sc;
        rc = exec_body(r, &s->kids);
        r->scope = saved;
    }
    jscope_release(sc);
    return rc;
}

static int exec_scope(jr *r, const jnode *s) {
    jscope *sc = scope_new(r->scope), *saved = r->scope;
    r->scope = sc;
    int rc = exec_body(r, &s->kids);
    r->scope = saved;
    jscope_release(sc);
    return rc;
}

/* Jinja checks that a `set ns.attr` target is a namespace before it
 * evaluates the value. */
static int check_nsrefs(jr *r, const jnode *t) {
    if (t->type == N_NSREF) {
        jv ns = lookup(r, t->a);
        bool ok = ns.kind == JV_NS;
        jv_release(ns);
        return ok ? 0 : jr_fail(r, "TemplateRuntimeError", "cannot assign attribute on non-namespace object");
    }
    for (size_t i = 0; t->type == N_TUPLE && i < t->kids.n; i++)
        if (check_nsrefs(r, t->kids.v[i])) return -1;
    return 0;
}

static int exec_set(jr *r, const jnode *s) {
    jv v;
    if (check_nsrefs(r, s->a) || jr_eval(r, s->b, &v)) return -1;
    int rc = assign(r, s->a, v, r->scope);
    jv_release(v);
    return rc;
}

static int exec_stmt(jr *r, const jnode *s) {
    if (jr_step(r)) return -1;
    switch (s->type) {
    case N_TEXT: return emit(r, s->value.s->p, s->value.s->len);
    case N_PRINT: return exec_print(r, s->a);
    case N_IF: return exec_if(r, s);
    case N_FOR: return exec_for(r, s);
    case N_SET: return exec_set(r, s);
    case N_SETBLOCK: return exec_setblock(r, s);
    case N_MACRO: jd_set_str(r->scope->vars, s->name, make_macro(r, s, FN_MACRO)); return 0;
    case N_CALLBLOCK: return exec_callblock(r, s);
    case N_FILTERBLOCK: return exec_filterblock(r, s);
    case N_WITH: return exec_with(r, s);
    case N_SCOPE: return exec_scope(r, s);
    case N_BREAK: return JR_BREAK;
    case N_CONTINUE: return JR_CONTINUE;
    default: return jr_fail(r, "TemplateRuntimeError", "unknown statement");
    }
}

static int exec_body(jr *r, const jvec *body) {
    for (size_t i = 0; i < body->n; i++) {
        int rc = exec_stmt(r, body->v[i]);
        if (rc) return rc;
    }
    return 0;
}

/* ---- macros ---- */

static bool scope_has(jscope *s, const jnode *name) { return jd_get(s->vars, name->value) != NULL; }

/* Positional arguments fill the parameters in order, keywords the rest
 * (marking the keywords they take in used); returns whether a parameter
 * named caller got a value, as Macro.__call__ tracks. */
static bool bind_params(const jvec *params, jargs *a, bool *used, jscope *sc) {
    size_t np = params->n, off = a->npos < np ? a->npos : np;
    bool explicit_caller = false, found_caller;
    for (size_t i = 0; i < np; i++) explicit_caller |= !strcmp(params->v[i]->name, "caller");
    for (size_t i = 0; i < off; i++) jd_set(sc->vars, params->v[i]->value, jv_retain(a->pos[i]));
    found_caller = off == np && explicit_caller;
    for (size_t i = off; i < np; i++) {
        found_caller |= !strcmp(params->v[i]->name, "caller");
        for (size_t k = 0; k < a->nkw; k++)
            if (!used[k] && !strcmp(a->kwn[k], params->v[i]->name)) {
                used[k] = true;
                jd_set(sc->vars, params->v[i]->value, jv_retain(a->kwv[k]));
                break;
            }
    }
    return found_caller;
}

/* caller, kwargs and varargs for a body that reads them; the keywords
 * and positionals left over are errors otherwise. */
static int bind_specials(jr *r, const jfunc *f, jargs *a, bool *used, bool found_caller, jscope *sc) {
    int uses = f->node->op, rc = 0;
    size_t np = f->node->kids2.n;
    if ((uses & USES_CALLER) && !found_caller) {
        jv c = jv_undef_msg("UndefinedError", "No caller defined");
        for (size_t k = 0; k < a->nkw; k++)
            if (!used[k] && !strcmp(a->kwn[k], "caller")) {
                used[k] = true;
                jv_release(c);
                c = jv_retain(a->kwv[k]);
                break;
            }
        jd_set_str(sc->vars, "caller", c);
    }
    jv kwargs = jv_dict();
    for (size_t k = 0; k < a->nkw && !rc; k++) {
        if (used[k]) continue;
        if (uses & USES_KWARGS)
            jd_set_str(kwargs.d, a->kwn[k], jv_retain(a->kwv[k]));
        else if (!strcmp(a->kwn[k], "caller"))
            rc = jr_fail(r, "TypeError",
                         "macro '%s' was invoked with two values for the special caller argument. This is most "
                         "likely a bug.",
                         f->name);
        else
            rc = jr_fail(r, "TypeError", "macro '%s' takes no keyword argument '%s'", f->name, a->kwn[k]);
    }
    if (uses & USES_KWARGS)
        jd_set_str(sc->vars, "kwargs", kwargs);
    else
        jv_release(kwargs);
    if (rc) return -1;
    if (uses & USES_VARARGS) {
        jv va = jv_tuple(a->npos > np ? a->npos - np : 0);
        for (size_t i = np; i < a->npos; i++) jl_push(va.l, jv_retain(a->pos[i]));
        jd_set_str(sc->vars, "varargs", va);
    } else if (a->npos > np) {
        return jr_fail(r, "TypeError", "macro '%s' takes not more than %zu argument(s)", f->name, np);
    }
    return 0;
}

/* Defaults for the parameters still unset, evaluated in the macro's scope
 * (so they may use earlier parameters); an Undefined where there is none. */
static int bind_defaults(jr *r, const jvec *params, jscope *sc) {
    jscope *saved = r->scope;
    int rc = 0;
    r->scope = sc;
    for (size_t i = 0; !rc && i < params->n; i++) {
        const jnode *p = params->v[i];
        if (scope_has(sc, p)) continue;
        jv v;
        if (p->a)
            rc = jr_eval(r, p->a, &v);
        else
            v = jv_undef_msg("UndefinedError", "parameter '%s' was not provided", p->name);
        if (!rc) jd_set(sc->vars, p->value, v);
    }
    r->scope = saved;
    return rc;
}

/* Jinja's Macro.__call__ binding of a call's arguments into sc. */
static int bind_macro(jr *r, const jfunc *f, jargs *a, jscope *sc) {
    for (size_t i = 0; i < a->npos; i++)
        if (check_depth(r, a->pos[i])) return -1;
    for (size_t i = 0; i < a->nkw; i++)
        if (check_depth(r, a->kwv[i])) return -1;
    bool *used = oc_calloc(a->nkw + 1, 1);
    bool found_caller = bind_params(&f->node->kids2, a, used, sc);
    int rc = bind_specials(r, f, a, used, found_caller, sc);
    free(used);
    return rc ? -1 : bind_defaults(r, &f->node->kids2, sc);
}

static int macro_call(jr *r, jfunc *f, jargs *a, jv *out) {
    if (!f->scope) return jr_fail(r, "RuntimeError", "macro called after the render ended");
    jscope *sc = scope_new(f->scope);
    int rc = bind_macro(r, f, a, sc);
    if (!rc) rc = capture(r, &f->node->kids, sc, out);
    jscope_release(sc);
    return rc ? -1 : 0;
}

int jr_call(jr *r, jv fn, jargs *a, jv *out) {
    if (jr_step(r)) return -1;
    switch (fn.kind) {
    case JV_FUNC:
        if (fn.fn->type == FN_MACRO || fn.fn->type == FN_CALLER) return macro_call(r, fn.fn, a, out);
        return fn.fn->fn(r, fn.fn->self, a, out);
    case JV_LOOP: return loop_call(r, fn.lp, a, out);
    case JV_UNDEF: return jr_undef_fail(r, fn);
    default: return jr_fail(r, "TypeError", "'%s' object is not callable", jv_type_name(fn));
    }
}

int jr_call_filter(jr *r, const char *name, jv val, jargs *a, jv *out) {
    jfilter_fn f = jinja_find_filter(name);
    if (!f) return jr_fail(r, "TemplateRuntimeError", "No filter named '%s'.", name);
    r->depth++;
    int rc = jr_step(r) ? -1 : f(r, val, a, out);
    r->depth--;
    return rc;
}

int jr_call_test(jr *r, const char *name, jv val, jargs *a, bool *out) {
    jtest_fn t = jinja_find_test(name);
    if (!t) return jr_fail(r, "TemplateRuntimeError", "No test named '%s'.", name);
    return t(r, val, a, out);
}

/* ---- rendering ---- */

static jscope *context_scope(jscope *globals, json_t *context) {
    jscope *s = scope_new(globals);
    const char *k;
    json_t *v;
    if (json_is_object(context)) json_object_foreach(context, k, v) jd_set_str(s->vars, k, jv_from_json(v));
    return s;
}

int jinja_render(const jinja_template *t, json_t *context, oc_buf *out, oc_error *err) {
    if (!t) return oc_fail(err, "TemplateError: no template");
    if (context && !json_is_object(context)) return oc_fail(err, "TypeError: the context must be a JSON object");
    char base;
    oc_buf buf = {0};
    jr r = {.out = &buf, .err = err, .stack0 = &base, .live0 = jv_live_bytes, .work0 = jv_work};
    jscope *globals = scope_new(NULL);
    jinja_add_globals(globals->vars);
    jscope *ctx = context_scope(globals, context);
    r.scope = scope_new(ctx);
    int rc = exec_body(&r, &t->root->kids);
    jscope_release(r.scope);
    jscope_release(ctx);
    jscope_release(globals);
    untrack_all(&r);
    if (rc == 0) oc_buf_append(out, buf.data ? buf.data : "", buf.len);
    oc_buf_free(&buf);
    return rc == 0 ? 0 : -1;
}

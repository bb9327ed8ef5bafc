/* jinja_filters: Jinja2's builtin filters (jinja2/filters.py) with
 * autoescape off, plus transformers' tojson (json.dumps keeping non-ASCII),
 * and the filter lookup table. Filters that yield in Python (map, select,
 * reject, unique, items, batch, slice, reverse) return one-shot generators
 * here too, so truthiness, length and tojson fail or pass as they do
 * there. Tests live in jinja_tests.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

#define BIND(fname, ...)                                                                                               \
    static const char *const names_[] = {__VA_ARGS__};                                                                 \
    jv p[sizeof names_ / sizeof names_[0]];                                                                            \
    if (jargs_bind(r, fname, a, names_, sizeof names_ / sizeof names_[0], p)) return -1

static bool given(jv v) { return v.kind != JV_MISSING; }
static bool given_not_none(jv v) { return v.kind != JV_MISSING && v.kind != JV_NONE; }

/* soft_str: a string stays itself (Markup too), anything else is str(). */
static jv soft_str(jv v) {
    if (v.kind == JV_STR) return jv_retain(v);
    oc_buf b = {0};
    jv_to_str(v, &b);
    return jv_str_buf(&b, false);
}

static int want_int(jr *r, jv v, const char *what, int64_t *out) {
    if (jv_as_int(v, out)) return 0;
    if (v.kind == JV_UNDEF) return jr_undef_fail(r, v);
    return jr_fail(r, "TypeError", "'%s' object cannot be interpreted as an integer (%s)", jv_type_name(v), what);
}

/* Python's complaint when a one-argument filter gets more: builtins (env
 * < 0) say "takes exactly one argument", Python functions count their
 * parameters (env: 1 when Jinja passes the environment first). */
static int no_args(jr *r, jargs *a, const char *pyname, int env) {
    if (!a || (!a->npos && !a->nkw)) return 0;
    if (env < 0)
        return jr_fail(r, "TypeError", "%s() takes exactly one argument (%zu given)", pyname, a->npos + a->nkw + 1);
    if (a->nkw) return jr_fail(r, "TypeError", "%s() got an unexpected keyword argument '%s'", pyname, a->kwn[0]);
    return jr_fail(r, "TypeError", "%s() takes %d positional argument%s but %zu were given", pyname, 1 + env,
                   env ? "s" : "", a->npos + 1 + (size_t)env);
}

/* ---- attribute getters (make_attrgetter) ---- */

/* item looked up along a dotted attribute path ("a.b.0"), item access
 * first as Jinja's getitem does; dflt replaces an Undefined result. */
static int attr_get(jr *r, jv item, jv attr, jv dflt, jv *out) {
    if (!given_not_none(attr)) return *out = jv_retain(item), 0;
    jv cur = jv_retain(item);
    if (attr.kind != JV_STR) {
        int rc = jr_getitem(r, cur, attr, out);
        jv_release(cur);
        return rc;
    }
    const char *s = attr.s->p, *end = s + attr.s->len;
    while (1) {
        const char *dot = memchr(s, '.', (size_t)(end - s));
        size_t n = dot ? (size_t)(dot - s) : (size_t)(end - s);
        bool digits = n > 0 && n < 19;
        for (size_t i = 0; i < n && digits; i++) digits = s[i] >= '0' && s[i] <= '9';
        jv key = digits ? jv_int(strtoll(s, NULL, 10)) : jv_str(s, n), next;
        int rc = jr_getitem(r, cur, key, &next);
        jv_release(key);
        jv_release(cur);
        if (rc) return -1;
        cur = next;
        if (given_not_none(dflt) && cur.kind == JV_UNDEF) {
            jv_release(cur);
            cur = jv_retain(dflt);
        }
        if (!dot) break;
        s = dot + 1;
    }
    *out = cur;
    return 0;
}

static jv ignore_case(jv v) {
    if (v.kind != JV_STR) return v;
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    py_case(v.s->p, v.s->len, 0, &b);
    jv_release(v);
    return jv_str_buf(&b, false);
}

/* ---- sorting (Python's sorted: stable, '<' only, TypeError when the
 * keys do not compare) ---- */

typedef struct sortctx {
    jr *r;
    jv *keys;
    bool reverse;
    bool failed;
} sortctx;

static int key_cmp(sortctx *c, size_t x, size_t y) {
    int res;
    if (c->failed) return 0;
    jv kx = c->keys[x], ky = c->keys[y];
    if (kx.kind == JV_UNDEF || ky.kind == JV_UNDEF) { /* Undefined.__lt__ raises its own error */
        jr_undef_fail(c->r, kx.kind == JV_UNDEF ? kx : ky);
        c->failed = true;
        return 0;
    }
    if (jv_cmp(kx, ky, &res)) {
        jr_fail(c->r, "TypeError", "'<' not supported between instances of '%s' and '%s'", jv_type_name(c->keys[x]),
                jv_type_name(c->keys[y]));
        c->failed = true;
        return 0;
    }
    if (res == 2) res = 0;
    return c->reverse ? -res : res;
}

static void merge_sort(sortctx *c, size_t *idx, size_t *tmp, size_t n) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(c, idx, tmp, h);
    merge_sort(c, idx + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = key_cmp(c, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof(size_t));
}

/* Sorts items by keys (both of n); returns a new list. */
static int sorted_by(jr *r, jlist *items, jv *keys, bool reverse, jv *out) {
    size_t n = items->n, *idx = oc_malloc((n + 1) * sizeof(size_t)), *tmp = oc_malloc((n + 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++) idx[i] = i;
    sortctx c = {r, keys, reverse, false};
    merge_sort(&c, idx, tmp, n);
    if (!c.failed) {
        *out = jv_list(n);
        for (size_t i = 0; i < n; i++) jl_push(out->l, jv_retain(items->v[idx[i]]));
    }
    free(idx);
    free(tmp);
    return c.failed ? -1 : 0;
}

static void release_all(jv *v, size_t n) {
    for (size_t i = 0; i < n; i++) jv_release(v[i]);
    free(v);
}

/* ---- filters over sequences ---- */

static int f_length(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "len", -1)) return -1;
    switch (v.kind) {
    case JV_STR: *out = jv_int((int64_t)u8_count(v.s->p, v.s->len)); return 0;
    case JV_LIST: *out = jv_int((int64_t)v.l->n); return 0;
    case JV_DICT: *out = jv_int((int64_t)v.d->n); return 0;
    case JV_UNDEF: *out = jv_int(0); return 0;
    case JV_LOOP: *out = jv_int((int64_t)v.lp->items->n); return 0;
    default: return jr_fail(r, "TypeError", "object of type '%s' has no len()", jv_type_name(v));
    }
}

static int f_list(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "sync_do_list", 0)) return -1;
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    if (v.kind == JV_LIST && !v.l->tuple && !v.l->view) return *out = (jv){.kind = JV_LIST, .l = l}, 0;
    jv c = jv_list(l->n); /* list(tuple) and list(list) are fresh lists */
    for (size_t i = 0; i < l->n; i++) jl_push(c.l, jv_retain(l->v[i]));
    jv_release((jv){.kind = JV_LIST, .l = l});
    *out = c;
    return 0;
}

static int f_first(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "sync_do_first", 1)) return -1;
    if (v.kind == JV_GEN) { /* consumes one item */
        if (v.g->pos < v.g->items->n) return *out = jv_retain(v.g->items->v[v.g->pos++]), 0;
    } else {
        jlist *l;
        if (jr_iter(r, v, &l)) return -1;
        bool any = l->n > 0;
        if (any) *out = jv_retain(l->v[0]);
        jv_release((jv){.kind = JV_LIST, .l = l});
        if (any) return 0;
    }
    *out = jv_undef_msg("UndefinedError", "No first item, sequence was empty.");
    return 0;
}

static int f_last(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_last", 1)) return -1;
    if (v.kind == JV_GEN || v.kind == JV_NS || v.kind == JV_NONE || jv_is_num(v))
        return jr_fail(r, "TypeError", "'%s' object is not reversible", jv_type_name(v));
    if (v.kind == JV_STR && v.s->len) /* reversed() indexes: a Markup's last character stays Markup */
        return jr_getitem(r, v, jv_int(-1), out);
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    bool any = l->n > 0;
    if (any) *out = jv_retain(l->v[l->n - 1]);
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (!any) *out = jv_undef_msg("UndefinedError", "No last item, sequence was empty.");
    return 0;
}

static int f_join(jr *r, jv v, jargs *a, jv *out) {
    BIND("join", "d", "attribute");
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    int rc = 0;
    for (size_t i = 0; !rc && i < l->n; i++) {
        if (i && given(p[0])) rc = jr_to_str(r, p[0], &b);
        jv item;
        if (!rc) rc = attr_get(r, l->v[i], p[1], jv_missing(), &item);
        if (!rc) {
            rc = jr_to_str(r, item, &b);
            jv_release(item);
        }
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (rc) return oc_buf_free(&b), -1;
    *out = jv_str_buf(&b, false);
    return 0;
}

static int f_reverse(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_reverse", 0)) return -1;
    if (v.kind == JV_UNDEF) return *out = jv_gen(jv_list(0).l), 0;
    if (v.kind != JV_STR && v.kind != JV_LIST && v.kind != JV_DICT && v.kind != JV_GEN)
        return jr_fail(r, "FilterArgumentError", "argument must be iterable");
    if (v.kind == JV_STR) {
        jv step = jv_int(-1);
        return jr_slice(r, v, jv_missing(), jv_missing(), step, out);
    }
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    jv rev = jv_list(l->n);
    for (size_t i = l->n; i > 0; i--) jl_push(rev.l, jv_retain(l->v[i - 1]));
    jv_release((jv){.kind = JV_LIST, .l = l});
    /* reversed() is an iterator; a generator has no reversed() and becomes a list */
    *out = v.kind == JV_GEN ? rev : jv_gen(rev.l);
    return 0;
}

static int sort_keys_of(jr *r, jlist *l, jv attr, bool case_sensitive, jv **keys_out) {
    jv *keys = oc_calloc(l->n + 1, sizeof(jv));
    for (size_t i = 0; i < l->n; i++) {
        if (attr.kind == JV_STR && memchr(attr.s->p, ',', attr.s->len)) { /* "age,name": a list of keys */
            jv k = jv_list(0);
            const char *s = attr.s->p, *end = s + attr.s->len;
            for (;;) {
                const char *c = memchr(s, ',', (size_t)(end - s));
                jv part = jv_str(s, c ? (size_t)(c - s) : (size_t)(end - s)), x;
                int rc = attr_get(r, l->v[i], part, jv_missing(), &x);
                jv_release(part);
                if (rc) return jv_release(k), release_all(keys, l->n), -1;
                jl_push(k.l, case_sensitive ? x : ignore_case(x));
                if (!c) break;
                s = c + 1;
            }
            keys[i] = k;
        } else {
            if (attr_get(r, l->v[i], attr, jv_missing(), &keys[i])) return release_all(keys, l->n), -1;
            if (!case_sensitive) keys[i] = ignore_case(keys[i]);
        }
    }
    *keys_out = keys;
    return 0;
}

static int f_sort(jr *r, jv v, jargs *a, jv *out) {
    BIND("sort", "reverse", "case_sensitive", "attribute");
    jlist *l;
    jv *keys;
    if (jr_iter(r, v, &l)) return -1;
    int rc = sort_keys_of(r, l, p[2], jv_truthy(p[1]), &keys);
    if (!rc) {
        rc = sorted_by(r, l, keys, jv_truthy(p[0]), out);
        release_all(keys, l->n);
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    return rc;
}

static int f_dictsort(jr *r, jv v, jargs *a, jv *out) {
    BIND("dictsort", "case_sensitive", "by", "reverse");
    if (v.kind == JV_UNDEF) return jr_undef_fail(r, v);
    if (v.kind != JV_DICT) return jr_fail(r, "AttributeError", "'%s' object has no attribute 'items'", jv_type_name(v));
    int pos = 0;
    if (given(p[1]) && !(p[1].kind == JV_STR && !strcmp(p[1].s->p, "key"))) {
        if (p[1].kind == JV_STR && !strcmp(p[1].s->p, "value"))
            pos = 1;
        else
            return jr_fail(r, "FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
    }
    jdict *d = v.d;
    jv items = jv_list(d->n), *keys = oc_calloc(d->n + 1, sizeof(jv));
    for (size_t i = 0; i < d->n; i++) {
        jv t = jv_tuple(2);
        jl_push(t.l, jv_retain(d->k[i]));
        jl_push(t.l, jv_retain(d->v[i]));
        jl_push(items.l, t);
        keys[i] = jv_retain(pos ? d->v[i] : d->k[i]);
        if (!jv_truthy(p[0])) keys[i] = ignore_case(keys[i]);
    }
    int rc = sorted_by(r, items.l, keys, jv_truthy(p[2]), out);
    release_all(keys, d->n);
    jv_release(items);
    return rc;
}

static int f_items(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_items", 0)) return -1;
    if (v.kind == JV_UNDEF) return *out = jv_gen(jv_list(0).l), 0;
    if (v.kind != JV_DICT) return jr_fail(r, "TypeError", "Can only get item pairs from a mapping.");
    jv l = jv_list(v.d->n);
    for (size_t i = 0; i < v.d->n; i++) {
        jv t = jv_tuple(2);
        jl_push(t.l, jv_retain(v.d->k[i]));
        jl_push(t.l, jv_retain(v.d->v[i]));
        jl_push(l.l, t);
    }
    *out = jv_gen(l.l);
    return 0;
}

static int f_unique(jr *r, jv v, jargs *a, jv *out) {
    BIND("unique", "case_sensitive", "attribute");
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    jv seen = jv_dict(), res = jv_list(0);
    int rc = 0;
    for (size_t i = 0; !rc && i < l->n; i++) {
        jv k;
        if ((rc = attr_get(r, l->v[i], p[1], jv_missing(), &k))) break;
        if (!jv_truthy(p[0])) k = ignore_case(k);
        if (!jv_hashable(k))
            rc = jr_fail(r, "TypeError", "unhashable type: '%s'", jv_type_name(k));
        else if (!jd_get(seen.d, k)) {
            jd_set(seen.d, jv_retain(k), jv_none());
            jl_push(res.l, jv_retain(l->v[i]));
        }
        jv_release(k);
    }
    jv_release(seen);
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (rc) return jv_release(res), -1;
    *out = jv_gen(res.l);
    return 0;
}

static int min_max(jr *r, jv v, jargs *a, jv *out, bool is_max) {
    BIND(is_max ? "max" : "min", "case_sensitive", "attribute");
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    int rc = 0;
    if (!l->n) *out = jv_undef_msg("UndefinedError", "No aggregated item, sequence was empty.");
    jv best = jv_none();
    size_t bi = 0;
    for (size_t i = 0; !rc && i < l->n; i++) {
        jv k;
        if ((rc = attr_get(r, l->v[i], p[1], jv_missing(), &k))) break;
        if (!jv_truthy(p[0])) k = ignore_case(k);
        int c = 0;
        if (i && (k.kind == JV_UNDEF || best.kind == JV_UNDEF))
            rc = jr_undef_fail(r, k.kind == JV_UNDEF ? k : best);
        else if (i && jv_cmp(k, best, &c))
            rc = jr_fail(r, "TypeError", "'%s' not supported between instances of '%s' and '%s'", is_max ? ">" : "<",
                         jv_type_name(k), jv_type_name(best));
        if (!rc && (!i || (is_max ? c == 1 : c == -1))) {
            jv_release(best);
            best = jv_retain(k);
            bi = i;
        }
        jv_release(k);
    }
    jv_release(best);
    if (!rc && l->n) *out = jv_retain(l->v[bi]);
    jv_release((jv){.kind = JV_LIST, .l = l});
    return rc;
}

static int f_min(jr *r, jv v, jargs *a, jv *out) { return min_max(r, v, a, out, false); }
static int f_max(jr *r, jv v, jargs *a, jv *out) { return min_max(r, v, a, out, true); }

static int f_sum(jr *r, jv v, jargs *a, jv *out) {
    BIND("sum", "attribute", "start");
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    jv acc = given(p[1]) ? jv_retain(p[1]) : jv_int(0);
    int rc = 0;
    if (acc.kind == JV_STR) rc = jr_fail(r, "TypeError", "sum() can't sum strings [use ''.join(seq) instead]");
    for (size_t i = 0; !rc && i < l->n; i++) {
        jv x, s;
        if ((rc = attr_get(r, l->v[i], p[0], jv_missing(), &x))) break;
        rc = jr_binop(r, OP_ADD, acc, x, &s);
        jv_release(x);
        if (!rc) {
            jv_release(acc);
            acc = s;
        }
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (rc) return jv_release(acc), -1;
    *out = acc;
    return 0;
}

static int f_batch(jr *r, jv v, jargs *a, jv *out) {
    BIND("batch", "linecount", "fill_with");
    int64_t n;
    if (want_int(r, p[0], "linecount", &n)) return -1;
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    jv res = jv_list(0), tmp = jv_list(0);
    for (size_t i = 0; i < l->n; i++) {
        if ((int64_t)tmp.l->n == n) {
            jl_push(res.l, tmp);
            tmp = jv_list(0);
        }
        jl_push(tmp.l, jv_retain(l->v[i]));
    }
    if (tmp.l->n) {
        while (given_not_none(p[1]) && (int64_t)tmp.l->n < n) jl_push(tmp.l, jv_retain(p[1]));
        jl_push(res.l, tmp);
    } else {
        jv_release(tmp);
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    *out = jv_gen(res.l);
    return 0;
}

static int f_slice(jr *r, jv v, jargs *a, jv *out) {
    BIND("slice", "slices", "fill_with");
    int64_t slices;
    if (want_int(r, p[0], "slices", &slices)) return -1;
    if (slices <= 0 || slices > (int64_t)J_MAX_LIST)
        return jr_fail(r, "ZeroDivisionError", "integer division or modulo by zero");
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    int64_t len = (int64_t)l->n, per = len / slices, extra = len % slices, offset = 0;
    jv res = jv_list(0);
    for (int64_t k = 0; k < slices; k++) {
        int64_t start = offset + k * per;
        if (k < extra) offset++;
        int64_t end = offset + (k + 1) * per;
        jv tmp = jv_list(0);
        for (int64_t i = start; i < end && i < len; i++) jl_push(tmp.l, jv_retain(l->v[i]));
        if (given_not_none(p[1]) && k >= extra) jl_push(tmp.l, jv_retain(p[1]));
        jl_push(res.l, tmp);
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    *out = jv_gen(res.l);
    return 0;
}

/* ---- map / select / reject ---- */

/* a without its first skip positional arguments. */
static jargs args_from(jargs *a, size_t skip) {
    jargs s = *a;
    if (skip > s.npos) skip = s.npos;
    if (skip) s.pos += skip;
    s.npos -= skip;
    return s;
}

static int f_map(jr *r, jv v, jargs *a, jv *out) {
    jv res = jv_list(0);
    if (!jv_truthy(v)) return *out = jv_gen(res.l), 0;
    bool by_attr = false;
    for (size_t k = 0; !a->npos && k < a->nkw; k++) by_attr |= !strcmp(a->kwn[k], "attribute");
    jv attr = jv_missing(), dflt = jv_missing();
    if (by_attr) {
        for (size_t k = 0; k < a->nkw; k++) {
            if (!strcmp(a->kwn[k], "attribute"))
                attr = a->kwv[k];
            else if (!strcmp(a->kwn[k], "default"))
                dflt = a->kwv[k];
            else
                return jv_release(res),
                       jr_fail(r, "FilterArgumentError", "Unexpected keyword argument '%s'", a->kwn[k]);
        }
    } else if (!a->npos || a->pos[0].kind != JV_STR) {
        jv_release(res);
        return jr_fail(r, "FilterArgumentError", "map requires a filter argument");
    }
    jlist *l;
    if (jr_iter(r, v, &l)) return jv_release(res), -1;
    int rc = 0;
    jargs rest = args_from(a, by_attr ? 0 : 1);
    for (size_t i = 0; !rc && i < l->n; i++) {
        jv x;
        rc = by_attr ? attr_get(r, l->v[i], attr, dflt, &x) : jr_call_filter(r, a->pos[0].s->p, l->v[i], &rest, &x);
        if (!rc) jl_push(res.l, x);
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (rc) return jv_release(res), -1;
    *out = jv_gen(res.l);
    return 0;
}

static int select_common(jr *r, jv v, jargs *a, jv *out, bool keep, bool by_attr) {
    jv res = jv_list(0);
    if (!jv_truthy(v)) return *out = jv_gen(res.l), 0;
    size_t off = by_attr ? 1 : 0;
    if (by_attr && !a->npos)
        return jv_release(res), jr_fail(r, "FilterArgumentError", "Missing parameter for attribute name");
    bool has_test = a->npos > off;
    if (has_test && a->pos[off].kind != JV_STR) {
        oc_buf m = {0};
        jv_repr(a->pos[off], &m);
        jr_fail(r, "TemplateRuntimeError", "No test named %.200s.", m.data ? m.data : "");
        oc_buf_free(&m);
        return jv_release(res), -1;
    }
    jlist *l;
    if (jr_iter(r, v, &l)) return jv_release(res), -1;
    jargs rest = args_from(a, off + 1);
    if (!has_test) rest.npos = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < l->n; i++) {
        jv x;
        bool t = false;
        if ((rc = attr_get(r, l->v[i], by_attr ? a->pos[0] : jv_missing(), jv_missing(), &x))) break;
        if (has_test)
            rc = jr_call_test(r, a->pos[off].s->p, x, &rest, &t);
        else
            t = jv_truthy(x);
        jv_release(x);
        if (!rc && t == keep) jl_push(res.l, jv_retain(l->v[i]));
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (rc) return jv_release(res), -1;
    *out = jv_gen(res.l);
    return 0;
}

static int f_select(jr *r, jv v, jargs *a, jv *out) { return select_common(r, v, a, out, true, false); }
static int f_reject(jr *r, jv v, jargs *a, jv *out) { return select_common(r, v, a, out, false, false); }
static int f_selectattr(jr *r, jv v, jargs *a, jv *out) { return select_common(r, v, a, out, true, true); }
static int f_rejectattr(jr *r, jv v, jargs *a, jv *out) { return select_common(r, v, a, out, false, true); }

static int f_groupby(jr *r, jv v, jargs *a, jv *out) {
    BIND("groupby", "attribute", "default", "case_sensitive");
    jlist *l;
    if (jr_iter(r, v, &l)) return -1;
    bool cs = jv_truthy(p[2]);
    jv *keys = oc_calloc(l->n + 1, sizeof(jv)), sorted = jv_none();
    int rc = 0;
    for (size_t i = 0; !rc && i < l->n; i++) {
        rc = attr_get(r, l->v[i], p[0], p[1], &keys[i]);
        if (!rc && !cs) keys[i] = ignore_case(keys[i]);
    }
    if (!rc) rc = sorted_by(r, l, keys, false, &sorted);
    jv res = jv_list(0);
    for (size_t i = 0; !rc && i < sorted.l->n;) {
        jv k0, grouper;
        rc = attr_get(r, sorted.l->v[i], p[0], p[1], &k0);
        if (rc) break;
        grouper = jv_retain(k0);
        if (!cs) k0 = ignore_case(k0);
        jv group = jv_list(0);
        for (; i < sorted.l->n; i++) {
            jv k;
            if ((rc = attr_get(r, sorted.l->v[i], p[0], p[1], &k))) break;
            if (!cs) k = ignore_case(k);
            bool same = jv_eq(k, k0);
            jv_release(k);
            if (!same) break;
            jl_push(group.l, jv_retain(sorted.l->v[i]));
        }
        jv t = jv_tuple(2);
        jl_push(t.l, grouper);
        jl_push(t.l, group);
        jl_push(res.l, t);
        jv_release(k0);
    }
    release_all(keys, l->n);
    jv_release(sorted);
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (rc) return jv_release(res), -1;
    *out = res;
    return 0;
}

/* ---- strings ---- */

static int case_filter(jv v, int mode, jv *out) {
    jv s = soft_str(v);
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    py_case(s.s->p, s.s->len, mode, &b);
    *out = jv_str_buf(&b, s.s->markup);
    jv_release(s);
    return 0;
}

static int f_upper(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_upper", 0)) return -1;
    return case_filter(v, 1, out);
}
static int f_lower(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_lower", 0)) return -1;
    return case_filter(v, 0, out);
}
static int f_capitalize(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_capitalize", 0)) return -1;
    return case_filter(v, 3, out);
}

/* Jinja's title: words start after runs of [-\s({[<]; each word's first
 * character upper-cased, the rest lower-cased. */
static int f_title(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_title", 0)) return -1;
    jv s = soft_str(v);
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    bool start = true;
    uint32_t c;
    for (size_t i = 0; i < s.s->len;) {
        i += u8_decode(s.s->p, s.s->len, i, &c);
        bool sep = py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        if (sep) {
            u8_encode(&b, c);
            start = true;
            continue;
        }
        u8_encode(&b, start ? py_upper(c) : py_lower(c));
        start = false;
    }
    *out = jv_str_buf(&b, s.s->markup);
    jv_release(s);
    return 0;
}

static int f_trim(jr *r, jv v, jargs *a, jv *out) {
    BIND("trim", "chars");
    jv s = soft_str(v);
    size_t st, en;
    if (given_not_none(p[0]) && p[0].kind != JV_STR) {
        jv_release(s);
        return jr_fail(r, "TypeError", "strip arg must be None or str");
    }
    bool chars = given_not_none(p[0]);
    py_strip(s.s->p, s.s->len, chars ? p[0].s->p : NULL, chars ? p[0].s->len : 0, 3, &st, &en);
    *out = jv_str_markup(s.s->p + st, en - st, s.s->markup);
    jv_release(s);
    return 0;
}

static int f_string(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "soft_str", 0)) return -1;
    *out = soft_str(v);
    return 0;
}

static int f_safe(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_mark_safe", 0)) return -1;
    oc_buf b = {0};
    jv_to_str(v, &b);
    *out = jv_str_buf(&b, true);
    return 0;
}

static int f_escape(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "escape", 0)) return -1;
    if (v.kind == JV_STR && v.s->markup) return *out = jv_retain(v), 0;
    oc_buf t = {0}, b = {0};
    jv_to_str(v, &t);
    oc_buf_append(&b, "", 0);
    jinja_html_escape(t.data ? t.data : "", t.len, &b);
    oc_buf_free(&t);
    *out = jv_str_buf(&b, true);
    return 0;
}

static int f_forceescape(jr *r, jv v, jargs *a, jv *out) {
    oc_buf t = {0};
    jv_to_str(v, &t);
    jv s = jv_str_buf(&t, false);
    int rc = f_escape(r, s, a, out);
    jv_release(s);
    return rc;
}

int jinja_replace(jr *r, jv s, jv old, jv new_, int64_t count, bool markup, jv *out) {
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    const char *h = s.s->p, *o = old.s->p;
    size_t hn = s.s->len, on = old.s->len, i = 0, at;
    int64_t done = 0;
    uint32_t cp;
    while ((count < 0 || done < count) && i <= hn) {
        if (on == 0) { /* an empty old inserts new around every character */
            oc_buf_append(&b, new_.s->p, new_.s->len);
            done++;
            if (i == hn) {
                i++;
                break;
            }
            size_t l = u8_decode(h, hn, i, &cp);
            oc_buf_append(&b, h + i, l);
            i += l;
        } else {
            if (!py_str_find(h, hn, o, on, i, &at)) break;
            oc_buf_append(&b, h + i, at - i);
            oc_buf_append(&b, new_.s->p, new_.s->len);
            i = at + on;
            done++;
        }
        if (b.len > J_MAX_STR) return oc_buf_free(&b), jr_fail(r, "MemoryError", "string too long");
    }
    if (i < hn) oc_buf_append(&b, h + i, hn - i);
    *out = jv_str_buf(&b, markup);
    return 0;
}

static int f_replace(jr *r, jv v, jargs *a, jv *out) {
    BIND("replace", "old", "new", "count");
    if (!given(p[0]) || !given(p[1])) return jr_fail(r, "TypeError", "replace() missing required argument");
    int64_t count = -1;
    if (given_not_none(p[2]) && want_int(r, p[2], "count", &count)) return -1;
    jv s = soft_str(v), o = soft_str(p[0]), n = soft_str(p[1]);
    int rc = jinja_replace(r, s, o, n, count, false, out);
    jv_release(s);
    jv_release(o);
    jv_release(n);
    return rc;
}

static bool is_line_break(uint32_t c) {
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85 ||
           c == 0x2028 || c == 0x2029;
}

/* The end of the line starting at i (before its break) and the start of
 * the next line, as str.splitlines splits. */
static size_t line_end(const char *t, size_t n, size_t i, size_t *next) {
    uint32_t c;
    while (i < n) {
        size_t l = u8_decode(t, n, i, &c);
        if (is_line_break(c)) {
            *next = i + l;
            if (c == '\r' && *next < n && t[*next] == '\n') (*next)++;
            return i;
        }
        i += l;
    }
    *next = n;
    return n;
}

/* do_indent: (s + "\n").splitlines(), then every line but the first gets
 * the indent (blank lines too when blank=true; the first when first=true). */
static int f_indent(jr *r, jv v, jargs *a, jv *out) {
    BIND("indent", "width", "first", "blank");
    if (v.kind == JV_UNDEF) return jr_undef_fail(r, v);
    if (v.kind == JV_LIST && !v.l->tuple && !v.l->view) /* list += "\n" works; .splitlines() does not */
        return jr_fail(r, "AttributeError", "'list' object has no attribute 'splitlines'");
    if (v.kind == JV_LIST && v.l->tuple && !v.l->view)
        return jr_fail(r, "TypeError", "can only concatenate tuple (not \"str\") to tuple");
    if (v.kind != JV_STR)
        return jr_fail(r, "TypeError", "unsupported operand type(s) for +=: '%s' and 'str'", jv_type_name(v));
    oc_buf ind = {0}, b = {0}, t = {0};
    int64_t w = 4;
    if (given(p[0]) && p[0].kind == JV_STR)
        oc_buf_append(&ind, p[0].s->p, p[0].s->len);
    else if (given(p[0]) && want_int(r, p[0], "width", &w))
        return -1;
    else
        for (int64_t i = 0; i < w && i < 4096; i++) oc_buf_append(&ind, " ", 1);
    oc_buf_append(&ind, "", 0);
    oc_buf_append(&b, "", 0);
    oc_buf_append(&t, v.s->p, v.s->len);
    oc_buf_append(&t, "\n", 1);
    if (jv_truthy(p[1])) oc_buf_append(&b, ind.data, ind.len);
    bool blank = jv_truthy(p[2]);
    for (size_t i = 0, next; i < t.len; i = next) {
        size_t e = line_end(t.data, t.len, i, &next);
        if (i) {
            oc_buf_append(&b, "\n", 1);
            if (blank || e > i) oc_buf_append(&b, ind.data, ind.len);
        }
        oc_buf_append(&b, t.data + i, e - i);
    }
    *out = jv_str_buf(&b, v.s->markup);
    oc_buf_free(&ind);
    oc_buf_free(&t);
    return 0;
}

static int f_center(jr *r, jv v, jargs *a, jv *out) {
    BIND("center", "width");
    int64_t w = 80;
    if (given(p[0]) && want_int(r, p[0], "width", &w)) return -1;
    if (w > (int64_t)J_MAX_STR) return jr_fail(r, "MemoryError", "string too long");
    jv s = soft_str(v);
    int64_t n = (int64_t)u8_count(s.s->p, s.s->len), marg = w < n ? 0 : w - n;
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    int64_t left = marg > 0 ? marg / 2 + (marg & w & 1) : 0;
    for (int64_t i = 0; i < left; i++) oc_buf_append(&b, " ", 1);
    oc_buf_append(&b, s.s->p, s.s->len);
    for (int64_t i = 0; i < marg - left; i++) oc_buf_append(&b, " ", 1);
    *out = jv_str_buf(&b, s.s->markup);
    jv_release(s);
    return 0;
}

static int f_wordcount(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_wordcount", 0)) return -1;
    jv s = soft_str(v);
    int64_t words = 0;
    bool in = false;
    uint32_t c;
    for (size_t i = 0; i < s.s->len;) {
        i += u8_decode(s.s->p, s.s->len, i, &c);
        bool w = c == '_' || py_isalnum(c);
        if (w && !in) words++;
        in = w;
    }
    jv_release(s);
    *out = jv_int(words);
    return 0;
}

static int f_truncate(jr *r, jv v, jargs *a, jv *out) {
    BIND("truncate", "length", "killwords", "end", "leeway");
    int64_t length = 255, leeway = 5;
    if (given(p[0]) && want_int(r, p[0], "length", &length)) return -1;
    if (given_not_none(p[3]) && want_int(r, p[3], "leeway", &leeway)) return -1;
    /* far beyond any string; keeps length + leeway from overflowing */
    length = length > ((int64_t)1 << 40)    ? (int64_t)1 << 40
             : length < -((int64_t)1 << 40) ? -((int64_t)1 << 40)
                                            : length;
    leeway = leeway > ((int64_t)1 << 40) ? (int64_t)1 << 40 : leeway;
    if (v.kind != JV_STR) { /* len(s) decides; a short sized value comes back as it is */
        jv len;
        if (f_length(r, v, NULL, &len)) return -1;
        if (len.i > length + leeway)
            return jr_fail(r, "TypeError", "'%s' object is not subscriptable", jv_type_name(v));
        return *out = jv_retain(v), 0;
    }
    jv s = soft_str(v), end = given(p[2]) ? soft_str(p[2]) : jv_strz("...");
    int64_t n = (int64_t)u8_count(s.s->p, s.s->len), en = (int64_t)u8_count(end.s->p, end.s->len);
    int rc = 0;
    if (length < en || leeway < 0)
        rc = jr_fail(r, "AssertionError", "expected length >= %lld, got %lld", (long long)en, (long long)length);
    else if (n <= length + leeway)
        *out = jv_retain(s);
    else {
        size_t cut = u8_offset(s.s->p, s.s->len, (size_t)(length - en));
        if (!jv_truthy(p[1])) { /* back to the last space: rsplit(" ", 1)[0] */
            size_t k = cut;
            while (k > 0 && s.s->p[k - 1] != ' ') k--;
            if (k > 0) cut = k - 1;
        }
        oc_buf b = {0};
        oc_buf_append(&b, s.s->p, cut);
        oc_buf_append(&b, end.s->p, end.s->len);
        *out = jv_str_buf(&b, false);
    }
    jv_release(s);
    jv_release(end);
    return rc;
}

/* Drops <!-- comments --> and <tags> from s into t. */
static void strip_tags(const char *p, size_t n, oc_buf *t) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '<' && i + 3 < n && !memcmp(p + i, "<!--", 4)) {
            const char *e = memmem(p + i + 4, n - i - 4, "-->", 3);
            if (e) {
                i = (size_t)(e - p) + 2;
                continue;
            }
        }
        if (p[i] == '<') {
            const char *e = memchr(p + i + 1, '>', n - i - 1);
            if (e && e > p + i + 1) {
                i = (size_t)(e - p);
                continue;
            }
        }
        oc_buf_append(t, p + i, 1);
    }
}

/* " ".join(s.split()) */
static void collapse_ws(const char *s, size_t n, oc_buf *b) {
    uint32_t c;
    bool pending = false;
    for (size_t i = 0; i < n;) {
        size_t l = u8_decode(s, n, i, &c);
        if (py_isspace(c)) {
            pending = b->len > 0;
        } else {
            if (pending) oc_buf_append(b, " ", 1);
            pending = false;
            oc_buf_append(b, s + i, l);
        }
        i += l;
    }
}

/* Markup.unescape for the entities escape() writes. */
static void unescape_html(const char *s, size_t n, oc_buf *b) {
    static const char *ent[][2] = {{"&amp;", "&"},  {"&lt;", "<"},  {"&gt;", ">"},
                                   {"&#34;", "\""}, {"&#39;", "'"}, {"&quot;", "\""}};
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        for (; k < sizeof ent / sizeof ent[0]; k++) {
            size_t l = strlen(ent[k][0]);
            if (i + l <= n && !memcmp(s + i, ent[k][0], l)) {
                oc_buf_puts(b, ent[k][1]);
                i += l - 1;
                break;
            }
        }
        if (k == sizeof ent / sizeof ent[0]) oc_buf_append(b, s + i, 1);
    }
}

static int f_striptags(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "do_striptags", 0)) return -1;
    jv s = soft_str(v);
    oc_buf t = {0}, b = {0}, u = {0};
    strip_tags(s.s->p, s.s->len, &t);
    collapse_ws(t.data ? t.data : "", t.len, &b);
    oc_buf_append(&u, "", 0);
    unescape_html(b.data ? b.data : "", b.len, &u);
    oc_buf_free(&t);
    oc_buf_free(&b);
    jv_release(s);
    *out = jv_str_buf(&u, false);
    return 0;
}

static int f_format(jr *r, jv v, jargs *a, jv *out) {
    if (a->npos && a->nkw)
        return jr_fail(r, "FilterArgumentError", "can't handle positional and keyword arguments at the same time");
    jv s = soft_str(v), args;
    if (a->nkw) {
        args = jv_dict();
        for (size_t k = 0; k < a->nkw; k++) jd_set_str(args.d, a->kwn[k], jv_retain(a->kwv[k]));
    } else {
        args = jv_tuple(a->npos);
        for (size_t i = 0; i < a->npos; i++) jl_push(args.l, jv_retain(a->pos[i]));
    }
    int rc = jinja_str_percent(r, s, args, out);
    jv_release(s);
    jv_release(args);
    return rc;
}

/* ---- values ---- */

static int f_default(jr *r, jv v, jargs *a, jv *out) {
    BIND("default", "default_value", "boolean");
    if (v.kind == JV_UNDEF || (jv_truthy(p[1]) && !jv_truthy(v)))
        *out = given(p[0]) ? jv_retain(p[0]) : jv_strz("");
    else
        *out = jv_retain(v);
    return 0;
}

static int f_abs(jr *r, jv v, jargs *a, jv *out) {
    if (no_args(r, a, "abs", -1)) return -1;
    if (v.kind == JV_INT) {
        if (v.i == INT64_MIN) return jr_fail(r, "OverflowError", "integer result too large");
        *out = jv_int(v.i < 0 ? -v.i : v.i);
    } else if (v.kind == JV_BOOL)
        *out = jv_int(v.b);
    else if (v.kind == JV_FLOAT)
        *out = jv_float(fabs(v.f));
    else
        return jr_fail(r, "TypeError", "bad operand type for abs(): '%s'", jv_type_name(v));
    return 0;
}

/* Python float(str): surrounding whitespace, underscores between digits,
 * inf / nan spellings. */
static bool parse_py_float(jv s, double *out) {
    size_t st, en;
    py_strip(s.s->p, s.s->len, NULL, 0, 3, &st, &en);
    if (en == st || en - st > 300) return false;
    char buf[320];
    size_t k = 0;
    for (size_t i = st; i < en; i++) {
        char c = s.s->p[i];
        if (c == '_') {
            if (i == st || i + 1 == en || !(s.s->p[i - 1] >= '0' && s.s->p[i - 1] <= '9') ||
                !(s.s->p[i + 1] >= '0' && s.s->p[i + 1] <= '9'))
                return false;
            continue;
        }
        if ((unsigned char)c >= 0x80 || c == 'x' || c == 'X' || c == 'p' || c == 'P') return false;
        buf[k++] = c;
    }
    buf[k] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0 && k > 0;
}

/* Python int(str, base): whitespace, sign, underscores, 0x/0o/0b prefixes
 * when the base allows them. */
static bool parse_py_int(jv s, int64_t base, int64_t *out) {
    size_t st, en;
    py_strip(s.s->p, s.s->len, NULL, 0, 3, &st, &en);
    const char *p = s.s->p + st, *e = s.s->p + en;
    bool neg = false;
    if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
    if (e - p >= 2 && p[0] == '0') {
        char x = (char)(p[1] | 32);
        int pb = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 0;
        if (pb && (base == pb || base == 0)) p += 2, base = pb;
    }
    if (base == 0) base = 10;
    if (base < 2 || base > 36 || p >= e) return false;
    uint64_t v = 0;
    bool any = false;
    for (; p < e; p++) {
        if (*p == '_' && any && p + 1 < e && p[1] != '_') continue;
        int d = *p >= '0' && *p <= '9' ? *p - '0' : (*p | 32) >= 'a' && (*p | 32) <= 'z' ? (*p | 32) - 'a' + 10 : 99;
        if (d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
        any = true;
    }
    if (!any || v > (uint64_t)INT64_MAX + neg) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool float_to_int(double f, int64_t *out) {
    if (!isfinite(f) || f >= 9.2233720368547758e18 || f < -9.2233720368547758e18) return false;
    *out = (int64_t)f;
    return true;
}

static int f_int(jr *r, jv v, jargs *a, jv *out) {
    BIND("int", "default", "base");
    int64_t base = 10, i;
    double f;
    if (given(p[1]) && want_int(r, p[1], "base", &base)) return -1;
    jv dflt = given(p[0]) ? jv_retain(p[0]) : jv_int(0);
    bool ok = false;
    if (v.kind == JV_UNDEF) return jv_release(dflt), jr_undef_fail(r, v);
    if (jv_as_int(v, &i))
        ok = true;
    else if (v.kind == JV_FLOAT)
        ok = float_to_int(v.f, &i);
    else if (v.kind == JV_STR)
        ok = parse_py_int(v, base, &i) || (parse_py_float(v, &f) && float_to_int(f, &i));
    if (ok) {
        jv_release(dflt);
        *out = jv_int(i);
    } else {
        *out = dflt;
    }
    return 0;
}

static int f_float(jr *r, jv v, jargs *a, jv *out) {
    BIND("float", "default");
    double f;
    int64_t i;
    if (v.kind == JV_UNDEF) return jr_undef_fail(r, v);
    if (jv_as_int(v, &i))
        *out = jv_float((double)i);
    else if (v.kind == JV_FLOAT)
        *out = jv_float(v.f);
    else if (v.kind == JV_STR && parse_py_float(v, &f))
        *out = jv_float(f);
    else
        *out = given(p[0]) ? jv_retain(p[0]) : jv_float(0.0);
    return 0;
}

static int f_round(jr *r, jv v, jargs *a, jv *out) {
    BIND("round", "precision", "method");
    int64_t prec = 0;
    if (given(p[0]) && want_int(r, p[0], "precision", &prec)) return -1;
    const char *m = given(p[1]) && p[1].kind == JV_STR ? p[1].s->p : given(p[1]) ? "?" : "common";
    if (strcmp(m, "common") && strcmp(m, "ceil") && strcmp(m, "floor"))
        return jr_fail(r, "FilterArgumentError", "method must be common, ceil or floor");
    double f;
    int64_t i;
    if (v.kind == JV_UNDEF) return jr_fail(r, "TypeError", "type Undefined doesn't define __round__ method");
    if (!strcmp(m, "common") && jv_as_int(v, &i) && prec >= 0) return *out = jv_int(i), 0;
    if (jv_as_int(v, &i))
        f = (double)i;
    else if (v.kind == JV_FLOAT)
        f = v.f;
    else
        return jr_fail(r, "TypeError", "type %s doesn't define __round__ method", jv_type_name(v));
    if (prec > 300) prec = 300;
    if (prec < -300) prec = -300;
    if (!strcmp(m, "common")) {
        if (!isfinite(f) || prec < 0) {
            double s = pow(10.0, (double)-prec);
            *out = jv_float(isfinite(f) ? nearbyint(f / s) * s : f);
            return 0;
        }
        char buf[700]; /* printf rounds the exact binary value half-even, as Python's round does */
        snprintf(buf, sizeof buf, "%.*f", (int)prec, f);
        *out = jv_float(strtod(buf, NULL));
        return 0;
    }
    double s = pow(10.0, (double)prec);
    *out = jv_float((!strcmp(m, "ceil") ? ceil(f * s) : floor(f * s)) / s);
    return 0;
}

static int f_attr(jr *r, jv v, jargs *a, jv *out) {
    BIND("attr", "name");
    if (!given(p[0]) || p[0].kind != JV_STR) return jr_fail(r, "TypeError", "attribute name must be a string");
    if (v.kind == JV_UNDEF) return jr_undef_fail(r, v);
    if (!jr_pyattr(v, p[0].s->p, out)) *out = jv_undef_attr(v, p[0].s->p);
    return 0;
}

/* transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None,
 * separators=None, sort_keys=False). */
static int f_tojson(jr *r, jv v, jargs *a, jv *out) {
    BIND("tojson", "ensure_ascii", "indent", "separators", "sort_keys");
    jjson_opts o = {.ensure_ascii = jv_truthy(p[0]), .sort_keys = jv_truthy(p[3])};
    oc_buf ind = {0};
    if (given_not_none(p[1])) {
        int64_t n;
        o.has_indent = true;
        if (p[1].kind == JV_STR)
            oc_buf_append(&ind, p[1].s->p, p[1].s->len);
        else if (jv_as_int(p[1], &n))
            for (int64_t i = 0; i < n && i < 256; i++) oc_buf_append(&ind, " ", 1);
        else
            return jr_fail(r, "TypeError", "indent must be an int or a string");
    }
    oc_buf_append(&ind, "", 0);
    o.indent = ind.data;
    o.indent_len = ind.len;
    o.item_sep = o.has_indent ? "," : ", ";
    o.key_sep = ": ";
    if (given_not_none(p[2])) {
        jv s = p[2];
        if (s.kind != JV_LIST || s.l->n != 2 || s.l->v[0].kind != JV_STR || s.l->v[1].kind != JV_STR)
            return oc_buf_free(&ind), jr_fail(r, "ValueError", "separators must be a pair of strings");
        o.item_sep = s.l->v[0].s->p;
        o.key_sep = s.l->v[1].s->p;
    }
    o.item_sep_len = strlen(o.item_sep);
    o.key_sep_len = strlen(o.key_sep);
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    int rc = jinja_tojson(r, v, &o, &b);
    oc_buf_free(&ind);
    if (rc) return oc_buf_free(&b), -1;
    *out = jv_str_buf(&b, false);
    return 0;
}

static int f_unsupported(jr *r, jv v, jargs *a, jv *out) {
    (void)v, (void)a, (void)out;
    return jr_fail(r, "TemplateRuntimeError", "this filter is not supported");
}

static const struct {
    const char *name;
    jfilter_fn fn;
} FILTERS[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"batch", f_batch},
    {"capitalize", f_capitalize},
    {"center", f_center},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", f_dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"filesizeformat", f_unsupported},
    {"first", f_first},
    {"float", f_float},
    {"forceescape", f_forceescape},
    {"format", f_format},
    {"groupby", f_groupby},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"join", f_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"lower", f_lower},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"pprint", f_unsupported},
    {"random", f_unsupported},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"replace", f_replace},
    {"reverse", f_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"slice", f_slice},
    {"sort", f_sort},
    {"string", f_string},
    {"striptags", f_striptags},
    {"sum", f_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"unique", f_unique},
    {"upper", f_upper},
    {"urlencode", f_unsupported},
    {"urlize", f_unsupported},
    {"wordcount", f_wordcount},
    {"wordwrap", f_unsupported},
    {"xmlattr", f_unsupported},
};

jfilter_fn jinja_find_filter(const char *name) {
    for (size_t i = 0; i < sizeof FILTERS / sizeof FILTERS[0]; i++)
        if (!strcmp(FILTERS[i].name, name)) return FILTERS[i].fn;
    return NULL;
}

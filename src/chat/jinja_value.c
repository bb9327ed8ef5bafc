/* jinja_value: the Jinja engine's value type — reference counting,
 * strings, lists, dicts (insertion-ordered, hashed past a few entries),
 * Undefined with Jinja's messages, and Python's truthiness, equality,
 * ordering, str() and repr() over them; conversion from JSON. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

_Thread_local size_t jv_live_bytes;
_Thread_local uint64_t jv_work;

static void live_add(size_t n) {
    jv_live_bytes += n;
    jv_work += n;
}
static void live_sub(size_t n) { jv_live_bytes = n > jv_live_bytes ? 0 : jv_live_bytes - n; }

jv jv_retain(jv v) {
    switch (v.kind) {
    case JV_STR:
        if (v.s->rc != JV_IMMORTAL) v.s->rc++;
        break;
    case JV_LIST: v.l->rc++; break;
    case JV_DICT:
    case JV_NS: v.d->rc++; break;
    case JV_GEN: v.g->rc++; break;
    case JV_FUNC: v.fn->rc++; break;
    case JV_LOOP: v.lp->rc++; break;
    case JV_UNDEF:
        if (v.u) v.u->rc++;
        break;
    default: break;
    }
    return v;
}

static void list_free(jlist *l) {
    for (size_t i = 0; i < l->n; i++) jv_release(l->v[i]);
    live_sub(l->cap * sizeof(jv));
    free(l->v);
    free(l);
}

static void dict_free(jdict *d) {
    for (size_t i = 0; i < d->n; i++) {
        jv_release(d->k[i]);
        jv_release(d->v[i]);
    }
    live_sub(d->cap * 2 * sizeof(jv) + d->idx_cap * sizeof(uint32_t));
    free(d->k);
    free(d->v);
    free(d->idx);
    free(d);
}

static void func_free(struct jfunc *f) {
    jv_release(f->self);
    if (f->scope) jscope_release(f->scope);
    free(f);
}

static void loop_free(struct jloop *lp) {
    if (lp->items && --lp->items->rc == 0) list_free(lp->items);
    jv_release(lp->changed_last);
    if (lp->scope) jscope_release(lp->scope);
    free(lp);
}

void jv_release(jv v) {
    switch (v.kind) {
    case JV_STR:
        if (v.s->rc != JV_IMMORTAL && --v.s->rc == 0) {
            live_sub(v.s->len);
            free(v.s->p);
            free(v.s);
        }
        break;
    case JV_LIST:
        if (--v.l->rc == 0) list_free(v.l);
        break;
    case JV_DICT:
    case JV_NS:
        if (--v.d->rc == 0) dict_free(v.d);
        break;
    case JV_GEN:
        if (--v.g->rc == 0) {
            if (--v.g->items->rc == 0) list_free(v.g->items);
            free(v.g);
        }
        break;
    case JV_FUNC:
        if (--v.fn->rc == 0) func_free(v.fn);
        break;
    case JV_LOOP:
        if (--v.lp->rc == 0) loop_free(v.lp);
        break;
    case JV_UNDEF:
        if (v.u && --v.u->rc == 0) free(v.u);
        break;
    default: break;
    }
}

/* ---- strings ---- */

void jv_make_immortal(jv v) {
    if (v.kind == JV_STR) v.s->rc = JV_IMMORTAL;
}

void jv_free_immortal(jv v) {
    if (v.kind != JV_STR || v.s->rc != JV_IMMORTAL) return jv_release(v);
    live_sub(v.s->len);
    free(v.s->p);
    free(v.s);
}

jv jv_str_markup(const char *s, size_t n, bool markup) {
    jstr *o = oc_malloc(sizeof *o);
    o->rc = 1;
    o->markup = markup;
    o->len = n;
    o->p = oc_malloc(n + 1);
    if (n) memcpy(o->p, s, n);
    o->p[n] = 0;
    live_add(n);
    return (jv){.kind = JV_STR, .s = o};
}

jv jv_str(const char *s, size_t n) { return jv_str_markup(s, n, false); }
jv jv_strz(const char *s) { return jv_str_markup(s, strlen(s), false); }

jv jv_str_buf(oc_buf *b, bool markup) {
    if (!b->data) return jv_str_markup("", 0, markup);
    jstr *o = oc_malloc(sizeof *o);
    o->rc = 1;
    o->markup = markup;
    o->len = b->len;
    o->p = b->data;
    live_add(b->len);
    *b = (oc_buf){0};
    return (jv){.kind = JV_STR, .s = o};
}

/* ---- undefined ---- */

static jv undef_make(const char *exc, const char *msg) {
    size_t n = strlen(msg);
    jundef *u = oc_malloc(sizeof *u + n + 1);
    u->rc = 1;
    u->exc = exc;
    memcpy(u->msg, msg, n + 1);
    return (jv){.kind = JV_UNDEF, .u = u};
}

jv jv_undef_msg(const char *exc, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return undef_make(exc, msg);
}

/* Python's repr of a string, cut to fit an error message. */
static void short_repr(const char *s, oc_buf *b) {
    size_t n = strlen(s);
    py_str_repr(s, n > 200 ? 200 : n, b);
}

jv jv_undef_name(const char *name) {
    oc_buf b = {0};
    short_repr(name, &b);
    oc_buf_puts(&b, " is undefined");
    jv u = undef_make("UndefinedError", b.data);
    oc_buf_free(&b);
    return u;
}

jv jv_undef_attr(jv obj, const char *attr) {
    oc_buf t = {0}, b = {0};
    jv_object_type_repr(obj, &t);
    py_str_repr(t.data, t.len, &b);
    oc_buf_puts(&b, " has no attribute ");
    short_repr(attr, &b);
    jv u = undef_make("UndefinedError", b.data);
    oc_buf_free(&t);
    oc_buf_free(&b);
    return u;
}

jv jv_undef_item(jv obj, jv key) {
    if (key.kind == JV_STR) return jv_undef_attr(obj, key.s->p);
    oc_buf b = {0};
    jv_object_type_repr(obj, &b);
    oc_buf_puts(&b, " has no element ");
    size_t at = b.len;
    jv_repr(key, &b);
    if (b.len - at > 200) b.data[b.len = at + 200] = 0;
    jv u = undef_make("UndefinedError", b.data);
    oc_buf_free(&b);
    return u;
}

/* ---- lists ---- */

static jv list_make(size_t cap, bool tuple) {
    jlist *l = oc_calloc(1, sizeof *l);
    l->rc = 1;
    l->tuple = tuple;
    if (cap) {
        l->v = oc_malloc(cap * sizeof(jv));
        l->cap = cap;
        live_add(cap * sizeof(jv));
    }
    return (jv){.kind = JV_LIST, .l = l};
}

jv jv_list(size_t cap) { return list_make(cap, false); }
jv jv_tuple(size_t cap) { return list_make(cap, true); }

uint32_t jv_depth(jv v) {
    switch (v.kind) {
    case JV_LIST: return v.l->depth + 1;
    case JV_DICT:
    case JV_NS: return v.d->depth + 1;
    case JV_GEN: return v.g->items->depth + 1;
    default: return 0;
    }
}

void jl_push(jlist *l, jv v) {
    jv_work += 8;
    uint32_t d = jv_depth(v);
    if (d > l->depth) l->depth = d;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        l->v = oc_realloc(l->v, nc * sizeof(jv));
        live_add((nc - l->cap) * sizeof(jv));
        l->cap = nc;
    }
    l->v[l->n++] = v;
}

jv jv_gen(jlist *items) {
    jgen *g = oc_malloc(sizeof *g);
    g->rc = 1;
    g->items = items;
    g->pos = 0;
    return (jv){.kind = JV_GEN, .g = g};
}

/* ---- hashing and equality ---- */

bool jv_hashable(jv v) {
    switch (v.kind) {
    case JV_LIST:
        if (!v.l->tuple) return false;
        for (size_t i = 0; i < v.l->n; i++)
            if (!jv_hashable(v.l->v[i])) return false;
        return true;
    case JV_DICT:
    case JV_MISSING: return false;
    default: return true;
    }
}

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/* Equal values hash alike, as in Python (1 == 1.0 == True). */
static uint64_t jv_hash(jv v) {
    switch (v.kind) {
    case JV_STR: {
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < v.s->len; i++) h = (h ^ (unsigned char)v.s->p[i]) * 1099511628211ULL;
        return h;
    }
    case JV_BOOL: return mix((uint64_t)v.b);
    case JV_INT: return mix((uint64_t)v.i);
    case JV_FLOAT:
        if (v.f == floor(v.f) && fabs(v.f) < 9.2e18) return mix((uint64_t)(int64_t)v.f);
        {
            uint64_t bits;
            memcpy(&bits, &v.f, sizeof bits);
            return mix(bits);
        }
    case JV_LIST: {
        uint64_t h = 0x345678;
        for (size_t i = 0; i < v.l->n; i++) h = mix(h ^ jv_hash(v.l->v[i])) + i;
        return h;
    }
    case JV_NONE: return 0x9e3779b97f4a7c15ULL;
    default: return mix((uint64_t)(uintptr_t)v.s + v.kind);
    }
}

static bool num_val(jv v, double *f, int64_t *i, bool *is_int) {
    if (v.kind == JV_INT) {
        *i = v.i;
        *is_int = true;
        *f = (double)v.i;
        return true;
    }
    if (v.kind == JV_BOOL) {
        *i = v.b;
        *is_int = true;
        *f = v.b;
        return true;
    }
    if (v.kind == JV_FLOAT) {
        *f = v.f;
        *is_int = false;
        return true;
    }
    return false;
}

static bool dict_eq(const jdict *a, const jdict *b) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        jv *o = jd_get(b, a->k[i]);
        if (!o || !jv_eq(a->v[i], *o)) return false;
    }
    return true;
}

bool jv_eq(jv a, jv b) {
    double fa, fb;
    int64_t ia, ib;
    bool inta, intb;
    if (num_val(a, &fa, &ia, &inta) && num_val(b, &fb, &ib, &intb)) return inta && intb ? ia == ib : fa == fb;
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case JV_UNDEF:
    case JV_NONE: return true;
    case JV_STR: return a.s->len == b.s->len && memcmp(a.s->p, b.s->p, a.s->len) == 0;
    case JV_LIST:
        if (a.l->tuple != b.l->tuple || a.l->view != b.l->view || a.l->n != b.l->n) return false;
        for (size_t i = 0; i < a.l->n; i++)
            if (!jv_eq(a.l->v[i], b.l->v[i])) return false;
        return true;
    case JV_DICT: return dict_eq(a.d, b.d);
    default: return a.s == b.s; /* identity */
    }
}

int jv_cmp(jv a, jv b, int *res) {
    double fa, fb;
    int64_t ia, ib;
    bool inta, intb;
    if (num_val(a, &fa, &ia, &inta) && num_val(b, &fb, &ib, &intb)) {
        if (inta && intb)
            *res = ia < ib ? -1 : ia > ib;
        else if (isnan(fa) || isnan(fb))
            *res = 2; /* unordered: every comparison is false */
        else
            *res = fa < fb ? -1 : fa > fb;
        return 0;
    }
    if (a.kind == JV_STR && b.kind == JV_STR) {
        size_t n = a.s->len < b.s->len ? a.s->len : b.s->len;
        int c = memcmp(a.s->p, b.s->p, n);
        *res = c < 0 ? -1 : c > 0 ? 1 : a.s->len < b.s->len ? -1 : a.s->len > b.s->len;
        return 0;
    }
    if (a.kind == JV_LIST && b.kind == JV_LIST && a.l->tuple == b.l->tuple) {
        for (size_t i = 0; i < a.l->n && i < b.l->n; i++) {
            if (jv_eq(a.l->v[i], b.l->v[i])) continue;
            return jv_cmp(a.l->v[i], b.l->v[i], res);
        }
        *res = a.l->n < b.l->n ? -1 : a.l->n > b.l->n;
        return 0;
    }
    return -1;
}

/* ---- dicts ---- */

static jv dict_make(jv_kind kind) {
    jdict *d = oc_calloc(1, sizeof *d);
    d->rc = 1;
    return (jv){.kind = kind, .d = d};
}

jv jv_dict(void) { return dict_make(JV_DICT); }
jv jv_ns(void) { return dict_make(JV_NS); }

static void index_insert(jdict *d, size_t e) {
    size_t mask = d->idx_cap - 1, h = (size_t)jv_hash(d->k[e]) & mask;
    while (d->idx[h]) h = (h + 1) & mask;
    d->idx[h] = (uint32_t)(e + 1);
}

static void index_rebuild(jdict *d) {
    size_t nc = 16;
    while (nc < d->n * 2 + 2) nc *= 2;
    live_add((nc - d->idx_cap) * sizeof(uint32_t));
    free(d->idx);
    d->idx = oc_calloc(nc, sizeof(uint32_t));
    d->idx_cap = nc;
    for (size_t e = 0; e < d->n; e++) index_insert(d, e);
}

static size_t dict_find(const jdict *d, jv key) {
    if (key.kind == JV_STR && !d->idx) { /* the common case: a scope or small dict, string key */
        const jstr *s = key.s;
        for (size_t i = 0; i < d->n; i++) {
            const jv *k = &d->k[i];
            if (k->kind == JV_STR && k->s->len == s->len && (k->s == s || !memcmp(k->s->p, s->p, s->len))) return i;
        }
        return SIZE_MAX;
    }
    if (!jv_hashable(key)) return SIZE_MAX;
    if (d->idx) {
        size_t mask = d->idx_cap - 1, h = (size_t)jv_hash(key) & mask;
        for (; d->idx[h]; h = (h + 1) & mask)
            if (jv_eq(d->k[d->idx[h] - 1], key)) return d->idx[h] - 1;
        return SIZE_MAX;
    }
    for (size_t i = 0; i < d->n; i++)
        if (jv_eq(d->k[i], key)) return i;
    return SIZE_MAX;
}

jv *jd_get(const jdict *d, jv key) {
    size_t i = dict_find(d, key);
    return i == SIZE_MAX ? NULL : &d->v[i];
}

jv *jd_get_str(const jdict *d, const char *key) {
    jstr s = {.rc = 1, .len = strlen(key), .p = (char *)key};
    return jd_get(d, (jv){.kind = JV_STR, .s = &s});
}

void jd_set(jdict *d, jv key, jv val) {
    jv_work += 8;
    uint32_t dep = jv_depth(val);
    if (dep > d->depth) d->depth = dep;
    size_t i = dict_find(d, key);
    if (i != SIZE_MAX) {
        jv_release(key);
        jv_release(d->v[i]);
        d->v[i] = val;
        return;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 4;
        d->k = oc_realloc(d->k, nc * sizeof(jv));
        d->v = oc_realloc(d->v, nc * sizeof(jv));
        live_add((nc - d->cap) * 2 * sizeof(jv));
        d->cap = nc;
    }
    d->k[d->n] = key;
    d->v[d->n] = val;
    d->n++;
    if (d->idx && d->n * 2 + 2 <= d->idx_cap)
        index_insert(d, d->n - 1);
    else if (d->n > 8)
        index_rebuild(d);
}

void jd_set_str(jdict *d, const char *key, jv val) { jd_set(d, jv_strz(key), val); }

/* ---- truthiness and names ---- */

bool jv_truthy(jv v) {
    switch (v.kind) {
    case JV_UNDEF:
    case JV_NONE:
    case JV_MISSING: return false;
    case JV_BOOL: return v.b;
    case JV_INT: return v.i != 0;
    case JV_FLOAT: return v.f != 0;
    case JV_STR: return v.s->len != 0;
    case JV_LIST: return v.l->n != 0;
    case JV_DICT: return v.d->n != 0;
    default: return true; /* namespaces, generators, callables, loops */
    }
}

const char *jv_type_name(jv v) {
    switch (v.kind) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return v.s->markup ? "Markup" : "str";
    case JV_LIST:
        if (v.l->view) return v.l->view == 1 ? "dict_keys" : v.l->view == 2 ? "dict_values" : "dict_items";
        return v.l->tuple ? "tuple" : "list";
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    case JV_GEN: return "generator";
    case JV_FUNC:
        if (v.fn->type == FN_MACRO || v.fn->type == FN_CALLER) return "Macro";
        if (v.fn->type == FN_METHOD) return "builtin_function_or_method";
        /* the globals: transformers' Python functions, and classes */
        return !strcmp(v.fn->name, "raise_exception") || !strcmp(v.fn->name, "strftime_now") ? "function" : "type";
    case JV_LOOP: return "LoopContext";
    default: return "object";
    }
}

void jv_object_type_repr(jv v, oc_buf *b) {
    const char *mod = v.kind == JV_NS                                          ? "jinja2.utils."
                      : v.kind == JV_LOOP || (v.kind == JV_FUNC && v.fn->node) ? "jinja2.runtime."
                      : v.kind == JV_STR && v.s->markup                        ? "markupsafe."
                                                                               : "";
    if (v.kind == JV_NONE) {
        oc_buf_puts(b, "None");
        return;
    }
    oc_buf_printf(b, "%s%s object", mod, jv_type_name(v));
}

/* ---- str() and repr() ---- */

void py_float_repr(double f, oc_buf *b) {
    if (isnan(f)) {
        oc_buf_puts(b, "nan");
        return;
    }
    if (isinf(f)) {
        oc_buf_puts(b, f < 0 ? "-inf" : "inf");
        return;
    }
    if (f == 0) {
        oc_buf_puts(b, signbit(f) ? "-0.0" : "0.0");
        return;
    }
    char t[40];
    for (int p = 1; p <= 17; p++) { /* the shortest digits that read back as f */
        snprintf(t, sizeof t, "%.*e", p - 1, f);
        if (strtod(t, NULL) == f) break;
    }
    const char *s = t;
    if (*s == '-') oc_buf_append(b, s++, 1);
    char dig[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') dig[nd++] = *s;
    int decpt = atoi(s + 1) + 1;
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            oc_buf_puts(b, "0.");
            for (int i = 0; i < -decpt; i++) oc_buf_puts(b, "0");
            oc_buf_append(b, dig, (size_t)nd);
        } else if (decpt >= nd) {
            oc_buf_append(b, dig, (size_t)nd);
            for (int i = nd; i < decpt; i++) oc_buf_puts(b, "0");
            oc_buf_puts(b, ".0");
        } else {
            oc_buf_append(b, dig, (size_t)decpt);
            oc_buf_puts(b, ".");
            oc_buf_append(b, dig + decpt, (size_t)(nd - decpt));
        }
        return;
    }
    oc_buf_append(b, dig, 1);
    if (nd > 1) {
        oc_buf_puts(b, ".");
        oc_buf_append(b, dig + 1, (size_t)(nd - 1));
    }
    int e = decpt - 1;
    oc_buf_printf(b, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}

void py_str_repr(const char *s, size_t n, oc_buf *b) {
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = sq && !dq ? '"' : '\'';
    oc_buf_append(b, &q, 1);
    uint32_t c;
    for (size_t i = 0; i < n;) {
        size_t l = u8_decode(s, n, i, &c);
        if (c == (uint32_t)q || c == '\\')
            oc_buf_printf(b, "\\%c", (char)c);
        else if (c == '\n')
            oc_buf_puts(b, "\\n");
        else if (c == '\r')
            oc_buf_puts(b, "\\r");
        else if (c == '\t')
            oc_buf_puts(b, "\\t");
        else if (py_isprintable(c) && !(l == 1 && c >= 0x80))
            oc_buf_append(b, s + i, l);
        else if (c < 0x100)
            oc_buf_printf(b, "\\x%02x", c);
        else if (c < 0x10000)
            oc_buf_printf(b, "\\u%04x", c);
        else
            oc_buf_printf(b, "\\U%08x", c);
        i += l;
    }
    oc_buf_append(b, &q, 1);
}

/* Nesting of the repr being written: a namespace can contain itself, so
 * past a limit the repr writes "..." as Python's does for recursion. */
static _Thread_local int repr_depth;

static void seq_repr(const jlist *l, oc_buf *b) {
    if (l->view) oc_buf_printf(b, "%s(", jv_type_name((jv){.kind = JV_LIST, .l = (jlist *)l}));
    oc_buf_puts(b, l->tuple ? "(" : "[");
    for (size_t i = 0; i < l->n; i++) {
        if (i) oc_buf_puts(b, ", ");
        jv_repr(l->v[i], b);
    }
    if (l->tuple && l->n == 1) oc_buf_puts(b, ",");
    oc_buf_puts(b, l->tuple ? ")" : "]");
    if (l->view) oc_buf_puts(b, ")");
}

static void dict_repr(const jdict *d, oc_buf *b) {
    oc_buf_puts(b, "{");
    for (size_t i = 0; i < d->n; i++) {
        if (i) oc_buf_puts(b, ", ");
        jv_repr(d->k[i], b);
        oc_buf_puts(b, ": ");
        jv_repr(d->v[i], b);
    }
    oc_buf_puts(b, "}");
}

void jv_repr(jv v, oc_buf *b) {
    if (repr_depth > 300) {
        oc_buf_puts(b, "...");
        return;
    }
    repr_depth++;
    switch (v.kind) {
    case JV_UNDEF: oc_buf_puts(b, "Undefined"); break;
    case JV_STR:
        if (v.s->markup) oc_buf_puts(b, "Markup(");
        py_str_repr(v.s->p, v.s->len, b);
        if (v.s->markup) oc_buf_puts(b, ")");
        break;
    default: jv_to_str(v, b); break;
    }
    repr_depth--;
}

void jv_to_str(jv v, oc_buf *b) {
    switch (v.kind) {
    case JV_UNDEF:
    case JV_MISSING: break;
    case JV_NONE: oc_buf_puts(b, "None"); break;
    case JV_BOOL: oc_buf_puts(b, v.b ? "True" : "False"); break;
    case JV_INT: oc_buf_printf(b, "%lld", (long long)v.i); break;
    case JV_FLOAT: py_float_repr(v.f, b); break;
    case JV_STR: oc_buf_append(b, v.s->p, v.s->len); break;
    case JV_LIST: seq_repr(v.l, b); break;
    case JV_DICT: dict_repr(v.d, b); break;
    case JV_NS:
        oc_buf_puts(b, "<Namespace ");
        dict_repr(v.d, b);
        oc_buf_puts(b, ">");
        break;
    case JV_GEN: oc_buf_puts(b, "<generator object>"); break;
    case JV_LOOP: oc_buf_printf(b, "<LoopContext %zu/%zu>", v.lp->i + 1, v.lp->items ? v.lp->items->n : 0); break;
    case JV_FUNC:
        if (v.fn->type == FN_MACRO || v.fn->type == FN_CALLER)
            oc_buf_printf(b, "<Macro '%s'>", v.fn->name);
        else
            oc_buf_printf(b, "<built-in method %s>", v.fn->name);
        break;
    }
}

/* ---- JSON ---- */

jv jv_from_json(json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        jv d = jv_dict();
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x) jd_set(d.d, jv_strz(k), jv_from_json(x));
        return d;
    }
    case JSON_ARRAY: {
        jv l = jv_list(json_array_size(j));
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x) jl_push(l.l, jv_from_json(x));
        return l;
    }
    case JSON_STRING: return jv_str(json_string_value(j), json_string_length(j));
    case JSON_INTEGER: return jv_int((int64_t)json_integer_value(j));
    case JSON_REAL: return jv_float(json_real_value(j));
    case JSON_TRUE: return jv_bool(true);
    case JSON_FALSE: return jv_bool(false);
    default: return jv_none();
    }
}

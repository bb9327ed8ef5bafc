/* gotmpl_funcs: the functions a template can call — Go's builtins (not,
 * len, index, slice, eq, ne, lt, le, gt, ge, print, printf, println, html,
 * js, urlquery; and, or and call are evaluated by the executor) and the ones
 * Ollama adds (json, currentDate, yesterdayDate, toTypeScriptType) — with
 * Go's argument rules and error messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/gotmpl_internal.h"

enum {
    F_AND, F_OR, F_NOT, F_LEN, F_INDEX, F_SLICE, F_PRINT, F_PRINTF, F_PRINTLN, F_HTML, F_JS,
    F_URLQUERY, F_EQ, F_NE, F_LT, F_LE, F_GT, F_GE, F_CALL, F_JSON, F_CURRENTDATE,
    F_YESTERDAYDATE, F_TOTS, F_COUNT
};

static const gt_func_info funcs[F_COUNT] = {
    [F_AND] = {"and", 1, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_OR] = {"or", 1, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_NOT] = {"not", 1, 1, GT_ARG_ANY, GT_ARG_ANY},
    [F_LEN] = {"len", 1, 1, GT_ARG_ANY, GT_ARG_ANY},
    [F_INDEX] = {"index", 1, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_SLICE] = {"slice", 1, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_PRINT] = {"print", 0, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_PRINTF] = {"printf", 1, -1, GT_ARG_ANY, GT_ARG_STRING},
    [F_PRINTLN] = {"println", 0, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_HTML] = {"html", 0, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_JS] = {"js", 0, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_URLQUERY] = {"urlquery", 0, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_EQ] = {"eq", 1, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_NE] = {"ne", 2, 2, GT_ARG_ANY, GT_ARG_ANY},
    [F_LT] = {"lt", 2, 2, GT_ARG_ANY, GT_ARG_ANY},
    [F_LE] = {"le", 2, 2, GT_ARG_ANY, GT_ARG_ANY},
    [F_GT] = {"gt", 2, 2, GT_ARG_ANY, GT_ARG_ANY},
    [F_GE] = {"ge", 2, 2, GT_ARG_ANY, GT_ARG_ANY},
    [F_CALL] = {"call", 1, -1, GT_ARG_ANY, GT_ARG_ANY},
    [F_JSON] = {"json", 1, 1, GT_ARG_ANY, GT_ARG_ANY},
    [F_CURRENTDATE] = {"currentDate", 0, -1, GT_ARG_STRING, GT_ARG_STRING},
    [F_YESTERDAYDATE] = {"yesterdayDate", 0, -1, GT_ARG_STRING, GT_ARG_STRING},
    [F_TOTS] = {"toTypeScriptType", 1, 1, GT_ARG_ANY, GT_ARG_ANY},
};

int gt_func_lookup(const char *name, size_t n) {
    for (int i = 0; i < F_COUNT; i++)
        if (strlen(funcs[i].name) == n && memcmp(funcs[i].name, name, n) == 0) return i;
    return -1;
}

const gt_func_info *gt_func(int idx) { return &funcs[idx]; }

#define FAIL(...) (snprintf(msg, msgn, __VA_ARGS__), -1)

/* ---- comparison ---- */

typedef enum { B_NONE, B_BOOL, B_INT, B_FLOAT, B_STRING } basic;

static basic basic_kind(gv v) {
    switch (gv_kind(v)) {
    case K_BOOL: return B_BOOL;
    case K_INT: return B_INT;
    case K_FLOAT: return B_FLOAT;
    case K_STRING: return B_STRING;
    default: return B_NONE;
    }
}

static bool is_num(basic b) { return b == B_INT || b == B_FLOAT; }

static bool is_nil(gv v) {
    gt_kind k = gv_kind(v);
    return k == K_INVALID || (!v.j && (k == K_SLICE || k == K_MAP || k == K_PTR));
}

static int str_cmp(gv a, gv b) {
    size_t na, nb;
    const char *sa = gv_strval(a, &na), *sb = gv_strval(b, &nb);
    int c = memcmp(sa, sb, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

/* Values of the same basic kind; ints and floats are compared by value
 * (Go refuses int against float64, but JSON data gives float64 where
 * templates write ints). */
static int cmp_basic(gv a, gv b, basic ka) {
    if (ka == B_STRING) return str_cmp(a, b);
    if (ka == B_BOOL) return gv_truth(a) - gv_truth(b);
    if (ka == B_INT && basic_kind(b) == B_INT) {
        int64_t x = gv_intval(a), y = gv_intval(b);
        return (x > y) - (x < y);
    }
    double x = gv_floatval(a), y = gv_floatval(b);
    return (x > y) - (x < y);
}

static int eq_one(gv a, gv b, bool *truth, char *msg, size_t msgn) {
    basic ka = basic_kind(a), kb = basic_kind(b);
    *truth = false;
    if (ka != kb && !(is_num(ka) && is_num(kb))) {
        if (gv_kind(a) != K_INVALID && gv_kind(b) != K_INVALID)
            return FAIL("incompatible types for comparison: %s and %s", gv_typename(a), gv_typename(b));
        return 0;
    }
    if (ka != B_NONE) { *truth = cmp_basic(a, b, ka) == 0; return 0; }
    gt_kind ga = gv_kind(a), gb = gv_kind(b);
    if (ga != gb && ga != K_INVALID && gb != K_INVALID)
        return FAIL("non-comparable types %s, %s", gv_typename(a), gv_typename(b));
    if (is_nil(a) || is_nil(b)) { *truth = is_nil(a) == is_nil(b); return 0; }
    if (ga == K_SLICE || ga == K_MAP) {
        oc_buf s = {0};
        gt_sprintf(&s, "%s", 2, &b, 1);
        snprintf(msg, msgn, "non-comparable type %.100s: %s", s.data, gv_typename(b));
        oc_buf_free(&s);
        return -1;
    }
    *truth = ga == K_PTR ? a.j == b.j : json_equal(a.j, b.j);
    return 0;
}

static int fn_eq(const gv *a, int n, bool *truth, char *msg, size_t msgn) {
    if (n < 2) return FAIL("missing argument for comparison");
    for (int i = 1; i < n; i++) {
        if (eq_one(a[0], a[i], truth, msg, msgn)) return -1;
        if (*truth) return 0;
    }
    return 0;
}

static int fn_lt(gv a, gv b, bool *truth, char *msg, size_t msgn) {
    basic ka = basic_kind(a), kb = basic_kind(b);
    if (ka == B_NONE || kb == B_NONE) return FAIL("invalid type for comparison");
    if (ka != kb && !(is_num(ka) && is_num(kb)))
        return FAIL("incompatible types for comparison: %s and %s", gv_typename(a), gv_typename(b));
    if (ka == B_BOOL) return FAIL("invalid type for comparison");
    *truth = cmp_basic(a, b, ka) < 0;
    return 0;
}

static int compare(int f, const gv *a, int n, gv *out, char *msg, size_t msgn) {
    bool t = false, e = false;
    int rc = 0;
    switch (f) {
    case F_EQ: rc = fn_eq(a, n, &t, msg, msgn); break;
    case F_NE: rc = fn_eq(a, n, &e, msg, msgn), t = !e; break;
    case F_LT: rc = fn_lt(a[0], a[1], &t, msg, msgn); break;
    case F_GE: rc = fn_lt(a[0], a[1], &e, msg, msgn), t = !e; break;
    case F_LE: case F_GT:
        rc = fn_lt(a[0], a[1], &t, msg, msgn);
        if (!rc && !t) rc = fn_eq(a, 2, &t, msg, msgn);
        if (f == F_GT) t = !t;
        break;
    }
    if (!rc) *out = gv_bool(t);
    return rc;
}

/* ---- len, index, slice ---- */

static int fn_len(gv v, gv *out, char *msg, size_t msgn) {
    gt_kind k = gv_kind(v);
    if (k == K_STRING || k == K_SLICE || k == K_MAP) { *out = gv_int((int64_t)gv_len(v)); return 0; }
    if (k == K_INVALID) return FAIL(v.iface ? "len of nil pointer" : "len of untyped nil");
    if (k == K_PTR && !v.j) return FAIL("len of nil pointer");
    return FAIL("len of type %s", gv_typename(v));
}

static int index_arg(gv idx, size_t cap, size_t *x, char *msg, size_t msgn) {
    gt_kind k = gv_kind(idx);
    if (k == K_INVALID) return FAIL("cannot index slice/array with nil");
    if (k != K_INT) return FAIL("cannot index slice/array with type %s", gv_typename(idx));
    int64_t v = gv_intval(idx);
    if (v < 0 || (uint64_t)v > cap) return FAIL("index out of range: %lld", (long long)v);
    *x = (size_t)v;
    return 0;
}

static int index_one(gv item, gv idx, gv *out, char *msg, size_t msgn) {
    size_t x;
    switch (gv_kind(item)) {
    case K_STRING: case K_SLICE:
        if (index_arg(idx, gv_len(item), &x, msg, msgn)) return -1;
        if (x == gv_len(item))
            return FAIL("reflect: %s index out of range", gv_kind(item) == K_STRING ? "string" : "slice");
        if (gv_kind(item) == K_STRING) {
            size_t n;
            *out = gv_int((unsigned char)gv_strval(item, &n)[x]);
        } else {
            *out = gv_index(item, x);
        }
        return 0;
    case K_MAP:
        if (gv_kind(idx) == K_INVALID) return FAIL("value is nil; should be of type string");
        if (gv_kind(idx) != K_STRING) return FAIL("value has type %s; should be string", gv_typename(idx));
        size_t n;
        const char *key = gv_strval(idx, &n);
        *out = gv_map_get(item, key);
        return 0;
    case K_INVALID: return FAIL("index of nil pointer");
    default: return FAIL("can't index item of type %s", gv_typename(item));
    }
}

static int fn_index(const gv *a, int n, gv *out, char *msg, size_t msgn) {
    if (gv_kind(a[0]) == K_INVALID) return FAIL("index of untyped nil");
    gv item = gv_copy(a[0]);
    for (int i = 1; i < n; i++) {
        gv next;
        int rc = index_one(item, a[i], &next, msg, msgn);
        gv_drop(&item);
        if (rc) return -1;
        item = next;
    }
    *out = item;
    return 0;
}

static int fn_slice(const gv *a, int n, gv *out, char *msg, size_t msgn) {
    gv item = a[0];
    gt_kind k = gv_kind(item);
    if (k == K_INVALID) return FAIL("slice of untyped nil");
    if (n - 1 > 3) return FAIL("too many slice indexes: %d", n - 1);
    if (k == K_STRING && n - 1 == 3) return FAIL("cannot 3-index slice a string");
    if (k != K_STRING && k != K_SLICE) return FAIL("can't slice item of type %s", gv_typename(item));
    size_t idx[3] = {0, gv_len(item), 0};
    for (int i = 1; i < n; i++)
        if (index_arg(a[i], gv_len(item), &idx[i - 1], msg, msgn)) return -1;
    if (idx[0] > idx[1]) return FAIL("invalid slice index: %zu > %zu", idx[0], idx[1]);
    if (n - 1 == 3 && idx[1] > idx[2]) return FAIL("invalid slice index: %zu > %zu", idx[1], idx[2]);
    *out = gv_slice(item, idx[0], idx[1]);
    return 0;
}

/* ---- escapers ---- */

/* The text html, js and urlquery escape: a lone string as is, else the
 * arguments printed as Sprint does, nil ones as "<no value>". */
static void escaper_text(const gv *a, int n, oc_buf *b) {
    if (n == 1 && gv_kind(a[0]) == K_STRING) {
        size_t len;
        const char *s = gv_strval(a[0], &len);
        oc_buf_append(b, s, len);
        return;
    }
    gv *tmp = oc_malloc((size_t)(n ? n : 1) * sizeof *tmp);
    for (int i = 0; i < n; i++) tmp[i] = gv_kind(a[i]) == K_INVALID ? gv_str("<no value>", 10) : gv_copy(a[i]);
    gt_sprint(b, tmp, n, false);
    for (int i = 0; i < n; i++) gv_drop(&tmp[i]);
    free(tmp);
}

static void html_escape(oc_buf *out, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '"': oc_buf_puts(out, "&#34;"); break;
        case '\'': oc_buf_puts(out, "&#39;"); break;
        case '&': oc_buf_puts(out, "&amp;"); break;
        case '<': oc_buf_puts(out, "&lt;"); break;
        case '>': oc_buf_puts(out, "&gt;"); break;
        case 0: oc_buf_puts(out, "\xef\xbf\xbd"); break;
        default: oc_buf_append(out, s + i, 1);
        }
    }
}

static void js_escape(oc_buf *out, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\': oc_buf_puts(out, "\\\\"); break;
        case '\'': oc_buf_puts(out, "\\'"); break;
        case '"': oc_buf_puts(out, "\\\""); break;
        case '<': oc_buf_puts(out, "\\u003C"); break;
        case '>': oc_buf_puts(out, "\\u003E"); break;
        case '&': oc_buf_puts(out, "\\u0026"); break;
        case '=': oc_buf_puts(out, "\\u003D"); break;
        default:
            if (c < ' ') {
                char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                oc_buf_puts(out, u);
            } else if (c >= 0x80) {
                uint32_t cp;
                size_t k = gt_utf8_decode((const unsigned char *)s + i, n - i, &cp);
                if (gt_rune_printable(cp) || (cp == 0xfffd && k == 1)) oc_buf_append(out, s + i, k);
                else oc_buf_printf(out, "\\u%04X", cp);
                i += k - 1;
            } else {
                oc_buf_append(out, s + i, 1);
            }
        }
    }
}

static void url_escape(oc_buf *out, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~", c);
        if (c && keep) oc_buf_append(out, s + i, 1);
        else if (c == ' ') oc_buf_append(out, "+", 1);
        else oc_buf_printf(out, "%%%02X", c);
    }
}

static void fn_escape(int f, const gv *a, int n, oc_buf *b) {
    oc_buf t = {0};
    escaper_text(a, n, &t);
    oc_buf_append(&t, "", 0);
    if (f == F_HTML) html_escape(b, t.data, t.len);
    else if (f == F_JS) js_escape(b, t.data, t.len);
    else url_escape(b, t.data, t.len);
    oc_buf_free(&t);
}

/* ---- Ollama's functions ---- */

static void date(oc_buf *b, int days_back) {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_mday -= days_back;
    tm.tm_isdst = -1;
    mktime(&tm);
    oc_buf_printf(b, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static const char *ts_type(const char *json_type) {
    static const char *const map[][2] = {
        {"string", "string"}, {"number", "number"}, {"integer", "number"}, {"boolean", "boolean"},
        {"array", "any[]"}, {"object", "Record<string, any>"}, {"null", "null"},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(json_type, map[i][0])) return map[i][1];
    return "any";
}

/* api.ToolProperty.ToTypeScriptType: anyOf alternatives, else the JSON
 * Schema type(s), joined with " | ". */
static void to_typescript(oc_buf *b, gv prop, int depth) {
    gv any_of = gv_struct_field(prop, 0, NULL, NULL, NULL), type = gv_struct_field(prop, 1, NULL, NULL, NULL);
    size_t n = gv_len(any_of) ? gv_len(any_of) : gv_len(type);
    if (!n || depth > 32) oc_buf_puts(b, "any");
    for (size_t i = 0; i < n && depth <= 32; i++) {
        if (i) oc_buf_puts(b, " | ");
        gv e = gv_index(gv_len(any_of) ? any_of : type, i);
        size_t len;
        if (gv_len(any_of)) to_typescript(b, e, depth + 1);
        else oc_buf_puts(b, ts_type(gv_kind(e) == K_STRING ? gv_strval(e, &len) : ""));
        gv_drop(&e);
    }
    gv_drop(&any_of);
    gv_drop(&type);
}

/* ---- dispatch ---- */

static int string_result(int f, const gv *a, int n, gv *out, char *msg, size_t msgn) {
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    switch (f) {
    case F_PRINT: case F_PRINTLN: gt_sprint(&b, a, n, f == F_PRINTLN); break;
    case F_PRINTF: {
        size_t len;
        const char *fmt = gv_strval(a[0], &len);
        gt_sprintf(&b, fmt, len, a + 1, n - 1);
        break;
    }
    case F_HTML: case F_JS: case F_URLQUERY: fn_escape(f, a, n, &b); break;
    case F_JSON: gt_json(&b, a[0]); break;
    case F_CURRENTDATE: date(&b, 0); break;
    case F_YESTERDAYDATE: date(&b, 1); break;
    case F_TOTS:
        if (a[0].t == GT_PROP) to_typescript(&b, a[0], 0);
        else oc_buf_puts(&b, "any");
        break;
    }
    if (b.len > GT_MAX_OUTPUT) {
        oc_buf_free(&b);
        return FAIL("result exceeds %u bytes", GT_MAX_OUTPUT);
    }
    *out = gv_str(b.data, b.len);
    oc_buf_free(&b);
    return 0;
}

int gt_func_call(int f, const gv *a, int n, gv *out, char *msg, size_t msgn, size_t *work) {
    *out = (gv){0};
    switch (f) {
    case F_NOT: *out = gv_bool(!gv_truth(a[0])); return 0;
    case F_LEN: return fn_len(a[0], out, msg, msgn);
    case F_INDEX: return fn_index(a, n, out, msg, msgn);
    case F_SLICE: return fn_slice(a, n, out, msg, msgn);
    case F_EQ: case F_NE: case F_LT: case F_LE: case F_GT: case F_GE: return compare(f, a, n, out, msg, msgn);
    default: break;
    }
    int rc = string_result(f, a, n, out, msg, msgn);
    if (!rc) *work += gv_len(*out);
    return rc;
}

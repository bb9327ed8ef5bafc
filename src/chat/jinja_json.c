/* jinja_json: Python's json.dumps over Jinja values, as transformers'
 * tojson filter calls it (ensure_ascii, indent, separators, sort_keys),
 * byte for byte: ", " / ": " separators, "," with an indent, floats by
 * repr, NaN / Infinity, \uXXXX escapes; and markupsafe's HTML escape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

void jinja_html_escape(const char *s, size_t n, oc_buf *b) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&#34;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        oc_buf_append(b, s + run, i - run);
        oc_buf_puts(b, rep);
        run = i + 1;
    }
    oc_buf_append(b, s + run, n - run);
}

static void json_str_out(const char *s, size_t n, bool ascii, oc_buf *b) {
    oc_buf_append(b, "\"", 1);
    uint32_t c;
    for (size_t i = 0; i < n;) {
        size_t l = u8_decode(s, n, i, &c);
        switch (c) {
        case '"': oc_buf_puts(b, "\\\""); break;
        case '\\': oc_buf_puts(b, "\\\\"); break;
        case '\n': oc_buf_puts(b, "\\n"); break;
        case '\r': oc_buf_puts(b, "\\r"); break;
        case '\t': oc_buf_puts(b, "\\t"); break;
        case '\b': oc_buf_puts(b, "\\b"); break;
        case '\f': oc_buf_puts(b, "\\f"); break;
        default:
            if (c < 0x20 || (ascii && c > 0x7e)) {
                if (c >= 0x10000) {
                    uint32_t v = c - 0x10000;
                    oc_buf_printf(b, "\\u%04x\\u%04x", 0xd800 | (v >> 10), 0xdc00 | (v & 0x3ff));
                } else {
                    oc_buf_printf(b, "\\u%04x", c);
                }
            } else {
                oc_buf_append(b, s + i, l);
            }
        }
        i += l;
    }
    oc_buf_append(b, "\"", 1);
}

static void json_float(double f, oc_buf *b) {
    if (isnan(f))
        oc_buf_puts(b, "NaN");
    else if (isinf(f))
        oc_buf_puts(b, f < 0 ? "-Infinity" : "Infinity");
    else
        py_float_repr(f, b);
}

static void newline_indent(const jjson_opts *o, int level, oc_buf *b) {
    oc_buf_append(b, "\n", 1);
    for (int i = 0; i < level; i++) oc_buf_append(b, o->indent, o->indent_len);
}

static int json_value(jr *r, jv v, const jjson_opts *o, int level, oc_buf *b);

static int json_list(jr *r, const jlist *l, const jjson_opts *o, int level, oc_buf *b) {
    if (!l->n) {
        oc_buf_puts(b, "[]");
        return 0;
    }
    oc_buf_append(b, "[", 1);
    for (size_t i = 0; i < l->n; i++) {
        if (i) oc_buf_append(b, o->item_sep, o->item_sep_len);
        if (o->has_indent) newline_indent(o, level + 1, b);
        if (json_value(r, l->v[i], o, level + 1, b)) return -1;
    }
    if (o->has_indent) newline_indent(o, level, b);
    oc_buf_append(b, "]", 1);
    return 0;
}

/* A dict key as json.dumps writes it: strings, and numbers, booleans and
 * None converted to strings; anything else is a TypeError. */
static int json_key(jr *r, jv k, const jjson_opts *o, oc_buf *b) {
    oc_buf t = {0};
    switch (k.kind) {
    case JV_STR: json_str_out(k.s->p, k.s->len, o->ensure_ascii, b); return 0;
    case JV_BOOL: oc_buf_puts(&t, k.b ? "true" : "false"); break;
    case JV_NONE: oc_buf_puts(&t, "null"); break;
    case JV_INT: oc_buf_printf(&t, "%lld", (long long)k.i); break;
    case JV_FLOAT: json_float(k.f, &t); break;
    default: return jr_fail(r, "TypeError", "keys must be str, int, float, bool or None, not %s", jv_type_name(k));
    }
    json_str_out(t.data, t.len, false, b);
    oc_buf_free(&t);
    return 0;
}

static int sort_keys(jr *r, const jdict *d, size_t *order) {
    for (size_t i = 0; i < d->n; i++) order[i] = i;
    for (size_t i = 1; i < d->n; i++) { /* insertion sort: stable, and dicts are small */
        size_t x = order[i], j = i;
        while (j > 0) {
            int c;
            if (jv_cmp(d->k[x], d->k[order[j - 1]], &c))
                return jr_fail(r, "TypeError", "'<' not supported between instances of '%s' and '%s'",
                               jv_type_name(d->k[x]), jv_type_name(d->k[order[j - 1]]));
            if (c >= 0) break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    return 0;
}

static int json_dict(jr *r, const jdict *d, const jjson_opts *o, int level, oc_buf *b) {
    if (!d->n) {
        oc_buf_puts(b, "{}");
        return 0;
    }
    size_t *order = oc_malloc(d->n * sizeof(size_t));
    int rc = o->sort_keys ? sort_keys(r, d, order) : 0;
    if (!o->sort_keys)
        for (size_t i = 0; i < d->n; i++) order[i] = i;
    if (!rc) oc_buf_append(b, "{", 1);
    for (size_t i = 0; !rc && i < d->n; i++) {
        if (i) oc_buf_append(b, o->item_sep, o->item_sep_len);
        if (o->has_indent) newline_indent(o, level + 1, b);
        rc = json_key(r, d->k[order[i]], o, b);
        if (!rc) oc_buf_append(b, o->key_sep, o->key_sep_len);
        if (!rc) rc = json_value(r, d->v[order[i]], o, level + 1, b);
    }
    free(order);
    if (rc) return -1;
    if (o->has_indent) newline_indent(o, level, b);
    oc_buf_append(b, "}", 1);
    return 0;
}

static int json_value(jr *r, jv v, const jjson_opts *o, int level, oc_buf *b) {
    if (level > 500) return jr_fail(r, "ValueError", "Circular reference detected");
    if (b->len > J_MAX_STR) return jr_fail(r, "MemoryError", "JSON text too long");
    switch (v.kind) {
    case JV_NONE: oc_buf_puts(b, "null"); return 0;
    case JV_BOOL: oc_buf_puts(b, v.b ? "true" : "false"); return 0;
    case JV_INT: oc_buf_printf(b, "%lld", (long long)v.i); return 0;
    case JV_FLOAT: json_float(v.f, b); return 0;
    case JV_STR: json_str_out(v.s->p, v.s->len, o->ensure_ascii, b); return 0;
    case JV_LIST:
        if (v.l->view) break;
        return json_list(r, v.l, o, level, b);
    case JV_DICT: return json_dict(r, v.d, o, level, b);
    default: break;
    }
    return jr_fail(r, "TypeError", "Object of type %s is not JSON serializable", jv_type_name(v));
}

int jinja_tojson(jr *r, jv v, const jjson_opts *o, oc_buf *b) { return json_value(r, v, o, 0, b); }

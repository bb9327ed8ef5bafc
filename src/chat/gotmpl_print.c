/* gotmpl_print: how the Go template engine turns values into text, the way
 * Go does: fmt's %v (what {{.X}} and print show), the String methods of
 * upstream's tool types (JSON), encoding/json's Marshal (the `json`
 * function, HTML-safe escaping and all), strconv's shortest float
 * formatting and Quote, and UTF-8 helpers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/gotmpl_internal.h"

/* ---- UTF-8 ---- */

/* Decodes one rune as Go's utf8.DecodeRune: invalid or overlong input and
 * surrogates give U+FFFD with length 1. */
size_t gt_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    *cp = 0xfffd;
    if (!n) return 0;
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (!len || c > 0xf4 || len > n) return 1;
    uint32_t v = c & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 1;
        v = v << 6 | (s[k] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return 1;
    *cp = v;
    return len;
}

void gt_utf8_encode(oc_buf *b, uint32_t cp) {
    unsigned char s[4];
    size_t n;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) cp = 0xfffd;
    if (cp < 0x80) s[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800) s[0] = (unsigned char)(0xc0 | cp >> 6), s[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        s[0] = (unsigned char)(0xe0 | cp >> 12), s[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
        s[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    else
        s[0] = (unsigned char)(0xf0 | cp >> 18), s[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f)),
        s[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), s[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
    oc_buf_append(b, s, n);
}

/* ---- floats ---- */

/* Shortest decimal digits that read back as f (f > 0): digits, their
 * count, and the decimal point position (f = 0.d1d2... * 10^dp). */
static int shortest_digits(double f, char *digits, int *dp) {
    char s[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(s, sizeof s, "%.*e", prec, f);
        if (strtod(s, NULL) == f) break;
    }
    int nd = 0;
    char *p = s;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    *dp = atoi(p + 1) + 1;
    return nd;
}

static void fmt_e(oc_buf *b, const char *d, int nd, int dp, char e) {
    oc_buf_append(b, d, 1);
    if (nd > 1) {
        oc_buf_append(b, ".", 1);
        oc_buf_append(b, d + 1, (size_t)nd - 1);
    }
    int exp = dp - 1;
    oc_buf_printf(b, "%c%c%02d", e, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static void fmt_f(oc_buf *b, const char *d, int nd, int dp) {
    if (dp <= 0) oc_buf_append(b, "0", 1);
    for (int i = 0; i < dp; i++) oc_buf_append(b, i < nd ? d + i : "0", 1);
    if (nd > dp) {
        oc_buf_append(b, ".", 1);
        for (int i = dp; i < nd; i++) oc_buf_append(b, i < 0 ? "0" : d + i, 1);
    }
}

/* strconv.FormatFloat(f, fmt, -1, 64); for 'g' the exponent form is used
 * when exp < -4 || exp >= eprec (fmt's %v passes 6; the JSON encoder picks
 * 'e' or 'f' itself). */
void gt_float_shortest(oc_buf *b, double f, char fmt, int eprec) {
    if (isnan(f)) { oc_buf_puts(b, "NaN"); return; }
    if (isinf(f)) { oc_buf_puts(b, f > 0 ? "+Inf" : "-Inf"); return; }
    if (signbit(f)) oc_buf_append(b, "-", 1), f = -f;
    char d[40];
    int dp = 0, nd = 1;
    if (f == 0) d[0] = '0', dp = 1;
    else nd = shortest_digits(f, d, &dp);
    if (fmt == 'g') fmt = (dp - 1 < -4 || dp - 1 >= eprec) && f != 0 ? 'e' : 'f';
    if (fmt == 'e') fmt_e(b, d, nd, f == 0 ? 1 : dp, 'e');
    else fmt_f(b, d, nd, dp);
}

/* ---- strconv.Quote ---- */

bool gt_rune_printable(uint32_t cp) {
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return false;
    return cp != 0xad && cp != 0x2028 && cp != 0x2029 && cp != 0xfeff;
}

void gt_quote(oc_buf *b, const char *s, size_t n) {
    oc_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = gt_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        const char *e = NULL;
        switch (cp) {
        case '\a': e = "\\a"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\v': e = "\\v"; break;
        case '\\': e = "\\\\"; break;
        case '"': e = "\\\""; break;
        }
        if (e) oc_buf_puts(b, e);
        else if (cp == 0xfffd && k == 1) oc_buf_printf(b, "\\x%02x", (unsigned char)s[i]);
        else if (gt_rune_printable(cp)) oc_buf_append(b, s + i, k);
        else if (cp < 0x80) oc_buf_printf(b, "\\x%02x", cp);
        else if (cp < 0x10000) oc_buf_printf(b, "\\u%04x", cp);
        else oc_buf_printf(b, "\\U%08x", cp);
        i += k;
    }
    oc_buf_append(b, "\"", 1);
}

/* ---- encoding/json ---- */

static void json_str(oc_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    oc_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (e) oc_buf_puts(b, e);
            else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                oc_buf_puts(b, u);
            } else oc_buf_append(b, s + i, 1);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = gt_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (cp == 0xfffd && k == 1) oc_buf_puts(b, "\\ufffd");
        else if (cp == 0x2028 || cp == 0x2029) oc_buf_printf(b, "\\u%04x", cp);
        else oc_buf_append(b, s + i, k);
        i += k;
    }
    oc_buf_append(b, "\"", 1);
}

static void json_float(oc_buf *b, double f) {
    double a = fabs(f);
    size_t at = b->len;
    gt_float_shortest(b, f, a != 0 && (a < 1e-6 || a >= 1e21) ? 'e' : 'f', 0);
    /* Go writes e-7, not e-07. */
    char *s = b->data + at;
    size_t n = b->len - at;
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
        s[n - 2] = s[n - 1];
        b->data[--b->len] = 0;
    }
}

static void json_map(oc_buf *b, gv m, bool sorted) {
    const char **keys;
    size_t n = gv_map_keys(m, &keys);
    if (!sorted) {
        size_t k = 0;
        const char *key;
        json_t *val;
        json_object_foreach(m.j, key, val) keys[k++] = key;
    }
    oc_buf_append(b, "{", 1);
    for (size_t k = 0; k < n; k++) {
        if (k) oc_buf_append(b, ",", 1);
        json_str(b, keys[k], strlen(keys[k]));
        oc_buf_append(b, ":", 1);
        gv e = gv_map_get(m, keys[k]);
        gt_json(b, e);
        gv_drop(&e);
    }
    free(keys);
    oc_buf_append(b, "}", 1);
}

static bool json_empty(gv v) {
    if (v.t == GT_ANY) return !v.j;
    switch (gv_kind(v)) {
    case K_STRING: case K_SLICE: case K_MAP: return gv_len(v) == 0;
    case K_BOOL: case K_INT: case K_FLOAT: return !gv_truth(v);
    case K_PTR: return !v.j;
    default: return false;
    }
}

static void json_struct(oc_buf *b, gv v) {
    oc_buf_append(b, "{", 1);
    bool first = true;
    for (int i = 0; i < gv_struct_nfields(v); i++) {
        const char *key;
        bool omit;
        gv f = gv_struct_field(v, i, NULL, &key, &omit);
        if (!(omit && json_empty(f))) {
            if (!first) oc_buf_append(b, ",", 1);
            first = false;
            json_str(b, key, strlen(key));
            oc_buf_append(b, ":", 1);
            gt_json(b, f);
        }
        gv_drop(&f);
    }
    oc_buf_append(b, "}", 1);
}

static void json_slice(oc_buf *b, gv v) {
    if (v.t == GT_PROPTYPE && gv_len(v) == 1) { /* PropertyType marshals one type as a string */
        gv e = gv_index(v, 0);
        gt_json(b, e);
        gv_drop(&e);
        return;
    }
    oc_buf_append(b, "[", 1);
    for (size_t i = 0; i < gv_len(v); i++) {
        if (i) oc_buf_append(b, ",", 1);
        gv e = gv_index(v, i);
        gt_json(b, e);
        gv_drop(&e);
    }
    oc_buf_append(b, "]", 1);
}

void gt_json(oc_buf *b, gv v) {
    gt_kind k = gv_kind(v);
    if (!v.j && (k == K_INVALID || k == K_SLICE || k == K_MAP || k == K_PTR)) { oc_buf_puts(b, "null"); return; }
    switch (k) {
    case K_BOOL: oc_buf_puts(b, gv_truth(v) ? "true" : "false"); return;
    case K_INT: oc_buf_printf(b, "%lld", (long long)gv_intval(v)); return;
    case K_FLOAT: json_float(b, gv_floatval(v)); return;
    case K_STRING: {
        size_t n;
        const char *s = gv_strval(v, &n);
        json_str(b, s, n);
        return;
    }
    case K_SLICE: json_slice(b, v); return;
    case K_MAP: json_map(b, v, v.t != GT_PROPMAP); return; /* ToolPropertiesMap keeps insertion order */
    case K_STRUCT: case K_PTR: json_struct(b, v); return;
    default: oc_buf_puts(b, "null"); return;
    }
}

/* ---- fmt's %v ---- */

void gt_stringer(oc_buf *b, gv v) {
    if (v.t == GT_PROPTYPE) {
        size_t n = gv_len(v);
        if (n == 1) {
            gv e = gv_index(v, 0);
            gt_print_value(b, e, 1);
            gv_drop(&e);
        } else if (n > 1) {
            gv plain = {v.j, GT_STRS, false};
            gt_print_value(b, plain, 1);
        }
        return;
    }
    if ((v.t == GT_ARGS || v.t == GT_PROPS) && !v.j) { oc_buf_puts(b, "{}"); return; }
    gt_json(b, v);
}

static void print_map(oc_buf *b, gv v, int depth) {
    const char **keys;
    size_t n = gv_map_keys(v, &keys);
    oc_buf_puts(b, "map[");
    for (size_t i = 0; i < n; i++) {
        if (i) oc_buf_append(b, " ", 1);
        oc_buf_puts(b, keys[i]);
        oc_buf_append(b, ":", 1);
        gv e = gv_map_get(v, keys[i]);
        gt_print_value(b, e, depth + 1);
        gv_drop(&e);
    }
    free(keys);
    oc_buf_append(b, "]", 1);
}

/* fmt shows a pointer to a struct as &{...}; the template's own printing
 * (depth < 0) dereferences it first. */
static void print_struct(oc_buf *b, gv v, int depth) {
    if (gv_kind(v) == K_PTR && depth >= 0) oc_buf_append(b, "&", 1);
    oc_buf_append(b, "{", 1);
    for (int i = 0; i < gv_struct_nfields(v); i++) {
        if (i) oc_buf_append(b, " ", 1);
        gv f = gv_struct_field(v, i, NULL, NULL, NULL);
        gt_print_value(b, f, depth + 1);
        gv_drop(&f);
    }
    oc_buf_append(b, "}", 1);
}

/* depth: 0 for fmt's top level, more inside containers, -1 for what an
 * action prints. */
void gt_print_value(oc_buf *b, gv v, int depth) {
    if (b->len > GT_MAX_OUTPUT) return; /* the caller reports the overflow */
    if (gv_is_stringer(v)) { gt_stringer(b, v); return; }
    switch (gv_kind(v)) {
    case K_INVALID: oc_buf_puts(b, "<nil>"); return;
    case K_BOOL: oc_buf_puts(b, gv_truth(v) ? "true" : "false"); return;
    case K_INT: oc_buf_printf(b, "%lld", (long long)gv_intval(v)); return;
    case K_FLOAT: gt_float_shortest(b, gv_floatval(v), 'g', 6); return;
    case K_STRING: {
        size_t n;
        const char *s = gv_strval(v, &n);
        oc_buf_append(b, s, n);
        return;
    }
    case K_SLICE:
        oc_buf_append(b, "[", 1);
        for (size_t i = 0; i < gv_len(v); i++) {
            if (i) oc_buf_append(b, " ", 1);
            gv e = gv_index(v, i);
            gt_print_value(b, e, depth + 1);
            gv_drop(&e);
        }
        oc_buf_append(b, "]", 1);
        return;
    case K_MAP:
        if (!v.j && v.t == GT_PROPMAP) oc_buf_puts(b, "<nil>"); /* a nil pointer */
        else print_map(b, v, depth);
        return;
    case K_STRUCT: case K_PTR:
        if (!v.j && gv_kind(v) == K_PTR) { oc_buf_puts(b, "<nil>"); return; }
        print_struct(b, v, depth);
        return;
    }
}

/* fmt.Sprint puts spaces between operands when neither is a string;
 * Sprintln always, and ends with a newline. */
void gt_sprint(oc_buf *b, const gv *args, int n, bool ln) {
    bool prev_str = false;
    for (int i = 0; i < n; i++) {
        bool is_str = gv_kind(args[i]) == K_STRING;
        if (i > 0 && (ln || (!is_str && !prev_str))) oc_buf_append(b, " ", 1);
        gt_print_value(b, args[i], 0);
        prev_str = is_str;
    }
    if (ln) oc_buf_append(b, "\n", 1);
    oc_buf_append(b, "", 0);
}

/* jinja_format: Python's string formatting for templates — str.format
 * ("{}", "{0}", "{name}", "{0.attr}", "{0[key]}", !r / !s, and the format
 * spec mini-language for str, int and float) and printf-style `%`
 * ("%s", "%d", "%.2f", "%(name)s" ...). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

typedef struct spec {
    uint32_t fill;
    char align, sign, type;
    bool alt, zero, grouping;
    int64_t width, prec; /* -1: absent */
} spec;

static void put_fill(oc_buf *b, uint32_t fill, int64_t n) {
    for (int64_t i = 0; i < n; i++) u8_encode(b, fill);
}

/* Pads body (whose sign/prefix part is the first `lead` bytes) to width. */
static void pad(oc_buf *b, const spec *s, const char *body, size_t len, size_t lead, char dflt_align) {
    int64_t n = (int64_t)u8_count(body, len), marg = s->width - n;
    char align = s->align ? s->align : dflt_align;
    if (marg <= 0) {
        oc_buf_append(b, body, len);
        return;
    }
    if (marg > (int64_t)J_MAX_STR) marg = (int64_t)J_MAX_STR;
    int64_t left = align == '<' ? 0 : align == '^' ? marg / 2 : align == '=' ? 0 : marg;
    if (align == '=') {
        oc_buf_append(b, body, lead);
        put_fill(b, s->fill, marg);
        oc_buf_append(b, body + lead, len - lead);
        return;
    }
    put_fill(b, s->fill, left);
    oc_buf_append(b, body, len);
    put_fill(b, s->fill, marg - left);
}

static bool parse_spec(const char *p, size_t n, spec *s) {
    memset(s, 0, sizeof *s);
    s->fill = ' ';
    s->width = s->prec = -1;
    size_t i = 0;
    uint32_t c0, c1 = 0;
    size_t l0 = n ? u8_decode(p, n, 0, &c0) : 0;
    if (l0 && l0 < n) u8_decode(p, n, l0, &c1);
    if (l0 && l0 < n && c1 && c1 < 0x80 && strchr("<>^=", (int)c1)) {
        s->fill = c0;
        s->align = (char)c1;
        i = l0 + 1;
    } else if (n && strchr("<>^=", p[0])) {
        s->align = p[i++];
    }
    if (i < n && strchr("+- ", p[i])) s->sign = p[i++];
    if (i < n && p[i] == 'z') i++;
    if (i < n && p[i] == '#') s->alt = true, i++;
    if (i < n && p[i] == '0') {
        s->zero = true;
        if (!s->align) s->fill = '0', s->align = '=';
        i++;
    }
    /* digits past a million only need to fail the size check, not overflow */
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        if (s->width < 1000000) s->width = (s->width < 0 ? 0 : s->width) * 10 + (p[i] - '0');
    if (i < n && (p[i] == ',' || p[i] == '_')) s->grouping = true, i++;
    if (i < n && p[i] == '.') {
        s->prec = 0;
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            if (s->prec < 1000000) s->prec = s->prec * 10 + (p[i] - '0');
    }
    if (i < n) s->type = p[i++];
    return i == n && s->width < 100000 && s->prec < 1000;
}

static void group_digits(oc_buf *b, const char *digits, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) oc_buf_append(b, ",", 1);
        oc_buf_append(b, digits + i, 1);
    }
}

static int format_int(jr *r, int64_t v, const spec *s, oc_buf *b) {
    char t = s->type ? s->type : 'd', digits[80];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    const char *prefix = "";
    switch (t) {
    case 'd':
    case 'n': snprintf(digits, sizeof digits, "%llu", (unsigned long long)u); break;
    case 'x': snprintf(digits, sizeof digits, "%llx", (unsigned long long)u), prefix = "0x"; break;
    case 'X': snprintf(digits, sizeof digits, "%llX", (unsigned long long)u), prefix = "0X"; break;
    case 'o': snprintf(digits, sizeof digits, "%llo", (unsigned long long)u), prefix = "0o"; break;
    case 'b': {
        size_t k = 0;
        char tmp[70];
        do tmp[k++] = (char)('0' + (u & 1));
        while (u >>= 1);
        for (size_t i = 0; i < k; i++) digits[i] = tmp[k - 1 - i];
        digits[k] = 0;
        prefix = "0b";
        break;
    }
    case 'c': {
        oc_buf c = {0};
        u8_encode(&c, (uint32_t)v);
        pad(b, s, c.data, c.len, 0, '<');
        oc_buf_free(&c);
        return 0;
    }
    default: return jr_fail(r, "ValueError", "Unknown format code '%c' for object of type 'int'", t);
    }
    oc_buf body = {0};
    if (v < 0)
        oc_buf_append(&body, "-", 1);
    else if (s->sign == '+' || s->sign == ' ')
        oc_buf_append(&body, &s->sign, 1);
    if (s->alt) oc_buf_puts(&body, prefix);
    size_t lead = body.len;
    if (s->grouping)
        group_digits(&body, digits, strlen(digits));
    else
        oc_buf_puts(&body, digits);
    pad(b, s, body.data, body.len, lead, '>');
    oc_buf_free(&body);
    return 0;
}

static int format_float(jr *r, double f, const spec *s, oc_buf *b) {
    char t = s->type, cfmt[16];
    oc_buf body = {0};
    int64_t prec = s->prec < 0 ? 6 : s->prec;
    if (f < 0 || (f == 0 && signbit(f)))
        oc_buf_append(&body, "-", 1);
    else if (s->sign == '+' || s->sign == ' ')
        oc_buf_append(&body, &s->sign, 1);
    size_t lead = body.len;
    double a = fabs(f);
    if (!t && s->prec < 0) {
        py_float_repr(a, &body);
    } else if (!isfinite(a)) {
        oc_buf_puts(&body,
                    isnan(a) ? (t && strchr("EFG", t) ? "NAN" : "nan") : (t && strchr("EFG", t) ? "INF" : "inf"));
    } else {
        if (t == '%') a *= 100;
        char ct = !t ? 'g' : t == '%' ? 'f' : t == 'n' ? 'g' : t;
        if (!strchr("eEfFgG", ct))
            return oc_buf_free(&body),
                   jr_fail(r, "ValueError", "Unknown format code '%c' for object of type 'float'", t);
        snprintf(cfmt, sizeof cfmt, "%%%s.*%c", s->alt ? "#" : "", ct);
        char tmp[1400];
        snprintf(tmp, sizeof tmp, cfmt, (int)(!t && prec == 0 ? 1 : prec), a);
        oc_buf_puts(&body, tmp);
        if (t == '%') oc_buf_append(&body, "%", 1);
    }
    pad(b, s, body.data, body.len, lead, '>');
    oc_buf_free(&body);
    return 0;
}

/* format(v, spec) for one replacement field. */
static int format_value(jr *r, jv v, const char *sp, size_t spn, oc_buf *b) {
    spec s;
    if (!spn) return jr_to_str(r, v, b);
    if (!parse_spec(sp, spn, &s))
        return jr_fail(r, "ValueError", "Invalid format specifier '%.*s' for object of type '%s'",
                       (int)(spn > 100 ? 100 : spn), sp, jv_type_name(v));
    int64_t i;
    if ((v.kind == JV_INT || v.kind == JV_BOOL) && jv_as_int(v, &i)) {
        if (s.type && strchr("eEfFgG%", s.type)) return format_float(r, (double)i, &s, b);
        if (v.kind == JV_BOOL && !s.type) {
            oc_buf t = {0};
            jv_to_str(v, &t);
            pad(b, &s, t.data, t.len, 0, '<');
            oc_buf_free(&t);
            return 0;
        }
        return format_int(r, i, &s, b);
    }
    if (v.kind == JV_FLOAT) return format_float(r, v.f, &s, b);
    if (v.kind != JV_STR)
        return jr_fail(r, "TypeError", "unsupported format string passed to %s.__format__", jv_type_name(v));
    if (s.type && s.type != 's')
        return jr_fail(r, "ValueError", "Unknown format code '%c' for object of type 'str'", s.type);
    size_t len = s.prec >= 0 ? u8_offset(v.s->p, v.s->len, (size_t)s.prec) : v.s->len;
    pad(b, &s, v.s->p, len, 0, '<');
    return 0;
}

/* ---- str.format ---- */

static int field_value(jr *r, const char *f, size_t n, jargs *a, size_t *autoidx, jv *out) {
    size_t k = 0;
    while (k < n && f[k] != '.' && f[k] != '[') k++;
    jv cur;
    if (k == 0 || (f[0] >= '0' && f[0] <= '9')) {
        size_t idx = k ? (size_t)strtoull(f, NULL, 10) : (*autoidx)++;
        if (idx >= a->npos) return jr_fail(r, "IndexError", "tuple index out of range");
        cur = jv_retain(a->pos[idx]);
    } else {
        size_t j = 0;
        while (j < a->nkw && (strlen(a->kwn[j]) != k || memcmp(a->kwn[j], f, k))) j++;
        if (j == a->nkw) { /* str(KeyError(key)) is repr(key) */
            oc_buf m = {0};
            py_str_repr(f, k, &m);
            int rc = jr_fail(r, "KeyError", "%s", m.data);
            oc_buf_free(&m);
            return rc;
        }
        cur = jv_retain(a->kwv[j]);
    }
    while (k < n) { /* .attr and [key] */
        bool dot = f[k] == '.';
        size_t s = ++k;
        while (k < n && f[k] != '.' && f[k] != '[' && f[k] != ']') k++;
        jv key =
               dot || !(s < k && f[s] >= '0' && f[s] <= '9') ? jv_str(f + s, k - s) : jv_int(strtoll(f + s, NULL, 10)),
           nx;
        int rc = dot ? jr_getattr(r, cur, key.s->p, &nx) : jr_getitem(r, cur, key, &nx);
        jv_release(key);
        jv_release(cur);
        if (rc) return -1;
        cur = nx;
        if (!dot) k++; /* ] */
    }
    *out = cur;
    return 0;
}

static int format_string(jr *r, const char *s, size_t n, jargs *a, size_t *autoidx, int nest, oc_buf *b);

static int format_field(jr *r, const char *f, size_t n, jargs *a, size_t *autoidx, int nest, oc_buf *b) {
    size_t name_end = 0;
    while (name_end < n && f[name_end] != '!' && f[name_end] != ':') name_end++;
    char conv = 0;
    size_t spec_at = name_end;
    if (name_end < n && f[name_end] == '!') {
        conv = name_end + 1 < n ? f[name_end + 1] : 0;
        spec_at = name_end + 2;
        if (!conv || (conv != 'r' && conv != 's' && conv != 'a'))
            return jr_fail(r, "ValueError", "Unknown conversion specifier");
    }
    jv v;
    if (field_value(r, f, name_end, a, autoidx, &v)) return -1;
    if (conv) {
        oc_buf t = {0};
        if (conv == 's')
            jv_to_str(v, &t);
        else
            jv_repr(v, &t);
        jv_release(v);
        v = jv_str_buf(&t, false);
    }
    /* the spec may hold nested fields: "{0:>{1}}" */
    oc_buf sp = {0};
    oc_buf_append(&sp, "", 0);
    int rc = spec_at < n ? format_string(r, f + spec_at + 1, n - spec_at - 1, a, autoidx, nest + 1, &sp) : 0;
    if (!rc) rc = format_value(r, v, sp.data, sp.len, b);
    oc_buf_free(&sp);
    jv_release(v);
    return rc;
}

static int format_string(jr *r, const char *s, size_t n, jargs *a, size_t *autoidx, int nest, oc_buf *b) {
    if (nest > 2) return jr_fail(r, "ValueError", "Max string recursion exceeded");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '}') {
            if (i + 1 < n && s[i + 1] == '}')
                i++;
            else
                return jr_fail(r, "ValueError", "Single '}' encountered in format string");
            oc_buf_append(b, "}", 1);
        } else if (s[i] == '{') {
            if (i + 1 < n && s[i + 1] == '{') {
                oc_buf_append(b, "{", 1);
                i++;
                continue;
            }
            size_t e = i + 1;
            for (int depth = 1; e < n; e++) {
                if (s[e] == '{')
                    depth++;
                else if (s[e] == '}' && --depth == 0)
                    break;
            }
            if (e >= n) return jr_fail(r, "ValueError", "expected '}' before end of string");
            if (format_field(r, s + i + 1, e - i - 1, a, autoidx, nest, b)) return -1;
            i = e;
        } else {
            oc_buf_append(b, s + i, 1);
        }
        if (b->len > J_MAX_STR) return jr_fail(r, "MemoryError", "string too long");
    }
    return 0;
}

int jinja_str_format(jr *r, jv fmt, jargs *a, jv *out) {
    size_t autoidx = 0;
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    if (format_string(r, fmt.s->p, fmt.s->len, a, &autoidx, 0, &b)) return oc_buf_free(&b), -1;
    *out = jv_str_buf(&b, fmt.s->markup);
    return 0;
}

/* ---- printf-style % ---- */

static int percent_one(jr *r, char conv, const spec *s, jv v, oc_buf *b) {
    spec t = *s;
    int64_t i;
    double f;
    switch (conv) {
    case 's':
    case 'r':
    case 'a': {
        oc_buf x = {0};
        if (conv == 's')
            jv_to_str(v, &x);
        else
            jv_repr(v, &x);
        size_t len = t.prec >= 0 ? u8_offset(x.data ? x.data : "", x.len, (size_t)t.prec) : x.len;
        t.fill = ' ';
        pad(b, &t, x.data ? x.data : "", len, 0, t.align ? t.align : '>');
        oc_buf_free(&x);
        return 0;
    }
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'o':
    case 'c':
        if (v.kind == JV_FLOAT && conv != 'c') {
            if (!(v.f > -9.2e18 && v.f < 9.2e18)) return jr_fail(r, "OverflowError", "cannot convert float to integer");
            i = (int64_t)v.f;
        } else if (!jv_as_int(v, &i))
            return jr_fail(r, "TypeError", "%%%c format: a real number is required, not %s", conv, jv_type_name(v));
        t.type = conv == 'i' || conv == 'u' ? 'd' : conv;
        if (t.alt && (conv == 'x' || conv == 'X' || conv == 'o')) t.alt = true;
        return format_int(r, i, &t, b);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
        if (v.kind == JV_FLOAT)
            f = v.f;
        else if (jv_as_int(v, &i))
            f = (double)i;
        else
            return jr_fail(r, "TypeError", "must be real number, not %s", jv_type_name(v));
        t.type = conv;
        if (t.prec < 0) t.prec = 6;
        return format_float(r, f, &t, b);
    default: return jr_fail(r, "ValueError", "unsupported format character '%c'", conv);
    }
}

/* Reads `%[(key)][flags][width][.prec]conv` after the '%' at *i. */
static int percent_spec(jr *r, const char *s, size_t n, size_t *i, spec *sp, const char **key, size_t *keylen,
                        char *conv) {
    memset(sp, 0, sizeof *sp);
    sp->fill = ' ';
    sp->width = sp->prec = -1;
    *key = NULL;
    if (*i < n && s[*i] == '(') {
        size_t e = *i + 1;
        while (e < n && s[e] != ')') e++;
        if (e >= n) return jr_fail(r, "ValueError", "incomplete format key");
        *key = s + *i + 1;
        *keylen = e - *i - 1;
        *i = e + 1;
    }
    for (; *i < n && strchr("-+ #0", s[*i]); (*i)++) {
        char c = s[*i];
        if (c == '-')
            sp->align = '<';
        else if (c == '+' || c == ' ')
            sp->sign = sp->sign == '+' ? '+' : c;
        else if (c == '#')
            sp->alt = true;
        else if (c == '0' && sp->align != '<')
            sp->fill = '0', sp->align = '=';
    }
    for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
        if (sp->width < 1000000) sp->width = (sp->width < 0 ? 0 : sp->width) * 10 + (s[*i] - '0');
    if (*i < n && s[*i] == '.') {
        sp->prec = 0;
        for ((*i)++; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
            if (sp->prec < 1000000) sp->prec = sp->prec * 10 + (s[*i] - '0');
    }
    if (sp->width > 100000 || sp->prec > 1000) return jr_fail(r, "ValueError", "format width too large");
    if (*i >= n) return jr_fail(r, "ValueError", "incomplete format");
    *conv = s[(*i)++];
    /* only a bare "%%" is a literal percent */
    if (*conv == '%' &&
        (*key || sp->align || sp->sign || sp->alt || sp->fill != ' ' || sp->width >= 0 || sp->prec >= 0))
        return jr_fail(r, "ValueError", "unsupported format character '%%' (0x25) at index %zu", *i - 1);
    return 0;
}

/* The value one conversion formats (borrowed): args[key] for %(key)s,
 * else the next positional argument. */
static int percent_arg(jr *r, jv args, const char *key, size_t keylen, size_t *next, jv *v) {
    bool tuple = args.kind == JV_LIST && args.l->tuple;
    if (key) {
        jv k = jv_str(key, keylen);
        jv *found = args.kind == JV_DICT ? jd_get(args.d, k) : NULL;
        oc_buf m = {0};
        py_str_repr(key, keylen, &m);
        int rc = found                  ? 0
                 : args.kind == JV_DICT ? jr_fail(r, "KeyError", "%.200s", m.data)
                                        : jr_fail(r, "TypeError", "format requires a mapping");
        oc_buf_free(&m);
        jv_release(k);
        if (found) *v = *found;
        return rc;
    }
    if (*next >= (tuple ? args.l->n : 1)) return jr_fail(r, "TypeError", "not enough arguments for format string");
    *v = tuple ? args.l->v[*next] : args;
    (*next)++;
    return 0;
}

int jinja_str_percent(jr *r, jv fmt, jv args, jv *out) {
    const char *s = fmt.s->p;
    size_t n = fmt.s->len, next = 0;
    bool tuple = args.kind == JV_LIST && args.l->tuple;
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    for (size_t i = 0; i < n;) {
        if (s[i] != '%') {
            oc_buf_append(&b, s + i++, 1);
            continue;
        }
        i++;
        spec sp;
        const char *key;
        size_t keylen = 0;
        char conv = 0;
        jv v;
        if (percent_spec(r, s, n, &i, &sp, &key, &keylen, &conv)) return oc_buf_free(&b), -1;
        if (!conv || !strchr("sraduixXoceEfFgG%", conv)) {
            oc_buf_free(&b);
            return jr_fail(r, "ValueError", "unsupported format character '%c' (0x%x) at index %zu",
                           (unsigned char)conv < 0x80 && conv >= 0x20 ? conv : '?', (unsigned char)conv, i - 1);
        }
        if (conv == '%') {
            oc_buf_append(&b, "%", 1);
            continue;
        }
        if (percent_arg(r, args, key, keylen, &next, &v) || percent_one(r, conv, &sp, v, &b))
            return oc_buf_free(&b), -1;
        if (b.len > J_MAX_STR) return oc_buf_free(&b), jr_fail(r, "MemoryError", "string too long");
    }
    /* lists and Undefined have __getitem__, so Python takes them for
     * mappings and does not complain about unused arguments */
    bool mapping = args.kind == JV_DICT || args.kind == JV_UNDEF || (args.kind == JV_LIST && !tuple);
    if (next < (tuple ? args.l->n : 1) && !mapping)
        return oc_buf_free(&b), jr_fail(r, "TypeError", "not all arguments converted during string formatting");
    *out = jv_str_buf(&b, fmt.s->markup);
    return 0;
}

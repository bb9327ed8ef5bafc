/* gotmpl_fmt: the template function printf, as Go's fmt.Sprintf for the
 * verbs templates use (%v %s %q %d %f %e %g %t %x %X %c %b %o %U %T %%),
 * with flags, width and precision, and Go's in-band error notes
 * (%!d(string=x), %!v(MISSING), %!(EXTRA ...)). Argument indexes ([n])
 * are not supported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/gotmpl_internal.h"

typedef struct {
    bool plus, minus, sharp, zero, space, has_wid, has_prec;
    int wid, prec;
} spec;

enum { MAX_WIDTH = 1000000 }; /* Go's fmt refuses larger widths too */

static size_t rune_count(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; c++) {
        uint32_t cp;
        i += gt_utf8_decode((const unsigned char *)s + i, n - i, &cp);
    }
    return c;
}

static bool verb_in(uint32_t verb, const char *set) { return verb && verb < 0x80 && strchr(set, (int)verb); }

static void pad_to(oc_buf *b, const spec *sp, const char *s, size_t n, bool zeros) {
    size_t runes = sp->has_wid ? rune_count(s, n) : 0;
    size_t fill = sp->has_wid && (size_t)sp->wid > runes ? (size_t)sp->wid - runes : 0;
    if (sp->minus) oc_buf_append(b, s, n);
    for (size_t k = 0; k < fill; k++) oc_buf_append(b, sp->minus ? " " : zeros ? "0" : " ", 1);
    if (!sp->minus) oc_buf_append(b, s, n);
}

static void bad_verb(oc_buf *b, uint32_t verb, gv v) {
    oc_buf_puts(b, "%!");
    gt_utf8_encode(b, verb);
    oc_buf_append(b, "(", 1);
    if (gv_kind(v) == K_INVALID) oc_buf_puts(b, "<nil>");
    else {
        oc_buf_puts(b, gv_typename(v));
        oc_buf_append(b, "=", 1);
        gt_print_value(b, v, 0);
    }
    oc_buf_append(b, ")", 1);
}

/* Sign, then zero padding between sign and digits when asked for. */
static void pad_number(oc_buf *b, const spec *sp, const char *num, bool neg, bool zero_ok) {
    char sign = neg ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
    oc_buf t = {0};
    if (sign) oc_buf_append(&t, &sign, 1);
    if (sp->zero && zero_ok && sp->has_wid && !sp->minus) {
        size_t len = strlen(num) + (sign != 0);
        for (size_t k = len; k < (size_t)sp->wid; k++) oc_buf_append(&t, "0", 1);
    }
    oc_buf_puts(&t, num);
    pad_to(b, sp, t.data, t.len, false);
    oc_buf_free(&t);
}

static void fmt_integer(oc_buf *b, const spec *sp, uint32_t verb, int64_t v, gv arg) {
    if (verb == 'c' || verb == 'q') {
        oc_buf t = {0};
        uint32_t cp = v < 0 || v > 0x10ffff ? 0xfffd : (uint32_t)v;
        gt_utf8_encode(&t, cp);
        if (verb == 'q') {
            oc_buf q = {0};
            gt_quote(&q, t.data, t.len);
            q.data[0] = q.data[q.len - 1] = '\'';
            if (cp == '\'') oc_buf_clear(&q), oc_buf_puts(&q, "'\\''");
            else if (cp == '"') oc_buf_clear(&q), oc_buf_puts(&q, "'\"'");
            oc_buf_free(&t);
            t = q;
        }
        pad_to(b, sp, t.data, t.len, false);
        oc_buf_free(&t);
        return;
    }
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int base = verb == 'b' ? 2 : (verb == 'o' || verb == 'O') ? 8 : (verb == 'x' || verb == 'X') ? 16 : 10;
    if (verb == 'U') base = 16;
    if (!verb_in(verb, "vdboOxXU")) { bad_verb(b, verb, arg); return; }
    const char *dig = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
    char tmp[80], *p = tmp + sizeof tmp;
    *--p = 0;
    do *--p = dig[mag % (uint64_t)base], mag /= (uint64_t)base; while (mag);
    oc_buf num = {0};
    if (verb == 'U') oc_buf_puts(&num, "U+");
    else if (verb == 'O' || (sp->sharp && verb == 'o' && *p != '0')) oc_buf_puts(&num, verb == 'O' ? "0o" : "0");
    else if (sp->sharp && (verb == 'x' || verb == 'X' || verb == 'b')) oc_buf_puts(&num, verb == 'x' ? "0x" : verb == 'X' ? "0X" : "0b");
    int min_digits = verb == 'U' ? 4 : sp->has_prec ? sp->prec : 0;
    for (int k = (int)strlen(p); k < min_digits; k++) oc_buf_append(&num, "0", 1);
    if (!(sp->has_prec && sp->prec == 0 && v == 0)) oc_buf_puts(&num, p);
    else oc_buf_append(&num, "", 0);
    pad_number(b, sp, num.data, v < 0, !sp->has_prec);
    oc_buf_free(&num);
}

static void fmt_float(oc_buf *b, const spec *sp, uint32_t verb, double f, gv arg) {
    if (!verb_in(verb, "vgGeEfFxX")) { bad_verb(b, verb, arg); return; }
    oc_buf num = {0};
    bool neg = signbit(f) && !isnan(f);
    double a = fabs(f);
    if (isinf(a) || isnan(a)) {
        oc_buf_puts(&num, isnan(a) ? "NaN" : "Inf");
        if (!neg && !sp->plus && !sp->space && isinf(a)) { pad_to(b, sp, "+Inf", 4, false); oc_buf_free(&num); return; }
        spec s2 = *sp;
        s2.zero = false;
        pad_number(b, &s2, num.data, neg, false);
        oc_buf_free(&num);
        return;
    }
    char c = verb == 'v' ? 'g' : (char)verb;
    if ((c == 'g' || c == 'G') && !sp->has_prec) {
        gt_float_shortest(&num, a, 'g', 6);
        if (c == 'G') for (size_t k = 0; k < num.len; k++) if (num.data[k] == 'e') num.data[k] = 'E';
    } else {
        char fmtbuf[24];
        char cc = c == 'x' ? 'a' : c == 'X' ? 'A' : c;
        if ((c == 'x' || c == 'X') && !sp->has_prec) snprintf(fmtbuf, sizeof fmtbuf, "%%%c", cc);
        else snprintf(fmtbuf, sizeof fmtbuf, "%%.%d%c", sp->has_prec ? sp->prec : 6, cc);
        oc_buf_printf(&num, fmtbuf, a);
        char *pe = (c == 'x' || c == 'X') ? strpbrk(num.data, "pP") : NULL;
        if (pe && pe[1] && pe[2] && !pe[3]) { /* Go writes at least two exponent digits */
            char d = pe[2];
            pe[2] = '0';
            oc_buf_append(&num, &d, 1);
        }
    }
    pad_number(b, sp, num.data, neg, true);
    oc_buf_free(&num);
}

static void fmt_string(oc_buf *b, const spec *sp, uint32_t verb, const char *s, size_t n, gv arg) {
    if (sp->has_prec) { /* precision counts runes */
        size_t i = 0;
        for (int r = 0; i < n && r < sp->prec; r++) {
            uint32_t cp;
            i += gt_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        }
        n = i;
    }
    oc_buf t = {0};
    if ((verb == 'v' && !sp->sharp) || verb == 's') oc_buf_append(&t, s, n);
    else if (verb == 'q' || verb == 'v') gt_quote(&t, s, n);
    else if (verb == 'x' || verb == 'X') {
        for (size_t i = 0; i < n; i++) {
            if (sp->space && i) oc_buf_append(&t, " ", 1);
            if (sp->sharp && (sp->space || !i)) oc_buf_puts(&t, verb == 'x' ? "0x" : "0X");
            oc_buf_printf(&t, verb == 'x' ? "%02x" : "%02X", (unsigned char)s[i]);
        }
    } else {
        bad_verb(b, verb, arg);
        return;
    }
    oc_buf_append(&t, "", 0);
    pad_to(b, sp, t.data, t.len, false);
    oc_buf_free(&t);
}

static void fmt_arg(oc_buf *b, const spec *sp, uint32_t verb, gv v, int depth);

/* Slices, maps and structs apply the verb to each element, as fmt does. */
static void fmt_composite(oc_buf *b, const spec *sp, uint32_t verb, gv v, int depth) {
    gt_kind k = gv_kind(v);
    if (k == K_SLICE) {
        oc_buf_append(b, "[", 1);
        for (size_t i = 0; i < gv_len(v); i++) {
            if (i) oc_buf_append(b, " ", 1);
            gv e = gv_index(v, i);
            fmt_arg(b, sp, verb, e, depth + 1);
            gv_drop(&e);
        }
        oc_buf_append(b, "]", 1);
    } else if (k == K_MAP) {
        const char **keys;
        size_t n = gv_map_keys(v, &keys);
        oc_buf_puts(b, "map[");
        for (size_t i = 0; i < n; i++) {
            if (i) oc_buf_append(b, " ", 1);
            gv key = gv_str(keys[i], strlen(keys[i])), e = gv_map_get(v, keys[i]);
            fmt_arg(b, sp, verb, key, depth + 1);
            oc_buf_append(b, ":", 1);
            fmt_arg(b, sp, verb, e, depth + 1);
            gv_drop(&key);
            gv_drop(&e);
        }
        free(keys);
        oc_buf_append(b, "]", 1);
    } else {
        oc_buf_puts(b, k == K_PTR ? "&{" : "{");
        for (int i = 0; i < gv_struct_nfields(v); i++) {
            if (i) oc_buf_append(b, " ", 1);
            gv f = gv_struct_field(v, i, NULL, NULL, NULL);
            fmt_arg(b, sp, verb, f, depth + 1);
            gv_drop(&f);
        }
        oc_buf_append(b, "}", 1);
    }
}

static void fmt_arg(oc_buf *b, const spec *sp, uint32_t verb, gv v, int depth) {
    if (b->len > GT_MAX_OUTPUT) return;
    gt_kind k = gv_kind(v);
    if (verb == 'T') { const char *t = gv_typename(v); pad_to(b, sp, t, strlen(t), false); return; }
    if (k == K_INVALID) {
        if (verb == 'v' || depth > 0) pad_to(b, sp, "<nil>", 5, false); /* a nil inside a container */
        else bad_verb(b, verb, v);
        return;
    }
    if (gv_is_stringer(v) && verb_in(verb, "vsxXq")) {
        oc_buf s = {0};
        gt_stringer(&s, v);
        oc_buf_append(&s, "", 0);
        fmt_string(b, sp, verb, s.data, s.len, v);
        oc_buf_free(&s);
        return;
    }
    size_t n;
    const char *s;
    switch (k) {
    case K_BOOL:
        if (verb == 't' || verb == 'v') pad_to(b, sp, gv_truth(v) ? "true" : "false", gv_truth(v) ? 4 : 5, false);
        else bad_verb(b, verb, v);
        return;
    case K_INT: fmt_integer(b, sp, verb, gv_intval(v), v); return;
    case K_FLOAT: fmt_float(b, sp, verb, gv_floatval(v), v); return;
    case K_STRING: s = gv_strval(v, &n); fmt_string(b, sp, verb, s, n, v); return;
    default:
        if (k == K_PTR && !v.j) { bad_verb(b, verb, v); return; }
        fmt_composite(b, sp, verb, v, depth);
        return;
    }
}

/* A width or precision: digits, or '*' taking an int argument. */
static bool parse_num(const char *f, size_t n, size_t *i, int *out, const gv *args, int nargs, int *argi, bool *neg) {
    *neg = false;
    if (*i < n && f[*i] == '*') {
        (*i)++;
        if (*argi >= nargs || gv_kind(args[*argi]) != K_INT) { (*argi)++; return false; }
        int64_t v = gv_intval(args[(*argi)++]);
        if (v > MAX_WIDTH || v < -MAX_WIDTH) return false;
        *neg = v < 0;
        *out = (int)(v < 0 ? -v : v);
        return true;
    }
    int v = 0;
    while (*i < n && f[*i] >= '0' && f[*i] <= '9') {
        v = v * 10 + (f[*i] - '0');
        if (v > MAX_WIDTH) return false;
        (*i)++;
    }
    *out = v;
    return true;
}

static void parse_flags(const char *f, size_t n, size_t *i, spec *sp) {
    for (; *i < n; (*i)++) {
        switch (f[*i]) {
        case '#': sp->sharp = true; break;
        case '0': sp->zero = !sp->minus; break;
        case '+': sp->plus = true; break;
        case '-': sp->minus = true, sp->zero = false; break;
        case ' ': sp->space = true; break;
        default: return;
        }
    }
}

/* An explicit argument index "[n]" (1-based) sets the next argument. */
static void arg_index(oc_buf *b, const char *f, size_t n, size_t *i, int nargs, int *argi, bool *reordered) {
    if (*i >= n || f[*i] != '[') return;
    *reordered = true;
    size_t k = *i + 1;
    int v = 0;
    while (k < n && f[k] >= '0' && f[k] <= '9' && v < MAX_WIDTH) v = v * 10 + (f[k++] - '0');
    if (k < n && f[k] == ']' && k > *i + 1 && v >= 1 && v <= nargs + 1) {
        *argi = v - 1;
        *i = k + 1;
        return;
    }
    oc_buf_puts(b, "%!(BADINDEX)");
    const char *close = memchr(f + *i, ']', n - *i);
    *i = close ? (size_t)(close - f) + 1 : n;
    *argi = nargs;
}

/* One directive after '%'; returns false when the format ended early. */
static bool directive(oc_buf *b, const char *f, size_t n, size_t *i, const gv *args, int nargs, int *argi, bool *reordered) {
    spec sp = {0};
    bool neg;
    parse_flags(f, n, i, &sp);
    arg_index(b, f, n, i, nargs, argi, reordered);
    bool star = *i < n && f[*i] == '*';
    if (*i < n && ((f[*i] >= '1' && f[*i] <= '9') || star)) {
        sp.has_wid = parse_num(f, n, i, &sp.wid, args, nargs, argi, &neg);
        if (!sp.has_wid) oc_buf_puts(b, "%!(BADWIDTH)");
        if (neg) sp.minus = true, sp.zero = false;
    }
    if (*i < n && f[*i] == '.') {
        (*i)++;
        arg_index(b, f, n, i, nargs, argi, reordered);
        sp.has_prec = parse_num(f, n, i, &sp.prec, args, nargs, argi, &neg);
        if (!sp.has_prec) oc_buf_puts(b, "%!(BADPREC)");
        if (neg) sp.has_prec = false;
    }
    arg_index(b, f, n, i, nargs, argi, reordered);
    if (*i >= n) { oc_buf_puts(b, "%!(NOVERB)"); return false; }
    uint32_t verb;
    *i += gt_utf8_decode((const unsigned char *)f + *i, n - *i, &verb);
    if (verb == '%') { oc_buf_append(b, "%", 1); return true; }
    if (*argi >= nargs) {
        oc_buf_puts(b, "%!");
        gt_utf8_encode(b, verb);
        oc_buf_puts(b, "(MISSING)");
        return true;
    }
    fmt_arg(b, &sp, verb, args[(*argi)++], 0);
    return true;
}

void gt_sprintf(oc_buf *b, const char *f, size_t n, const gv *args, int nargs) {
    int argi = 0;
    bool reordered = false;
    oc_buf_append(b, "", 0);
    for (size_t i = 0; i < n && b->len <= GT_MAX_OUTPUT;) {
        if (f[i] != '%') {
            const char *pc = memchr(f + i, '%', n - i);
            size_t j = pc ? (size_t)(pc - f) : n;
            oc_buf_append(b, f + i, j - i);
            i = j;
            continue;
        }
        i++;
        if (!directive(b, f, n, &i, args, nargs, &argi, &reordered)) break;
    }
    if (argi >= nargs || reordered) return;
    oc_buf_puts(b, "%!(EXTRA ");
    for (int k = argi; k < nargs; k++) {
        if (k > argi) oc_buf_puts(b, ", ");
        if (gv_kind(args[k]) == K_INVALID) { oc_buf_puts(b, "<nil>"); continue; }
        oc_buf_puts(b, gv_typename(args[k]));
        oc_buf_append(b, "=", 1);
        gt_print_value(b, args[k], 0);
    }
    oc_buf_append(b, ")", 1);
}

/* jinja_str: UTF-8 decoding and the pieces of Python's str semantics the
 * Jinja engine needs — code point counting and offsets, whitespace and
 * character classes, case mapping (via utf8proc), strip and find. Strings
 * are UTF-8 bytes; Python indexes them by code point. */
#include <string.h>
#include <utf8proc.h>

#include "chat/jinja_internal.h"

size_t u8_decode(const char *s, size_t n, size_t i, uint32_t *cp) {
    const unsigned char *p = (const unsigned char *)s + i;
    size_t left = n - i;
    unsigned c = p[0];
    size_t len = c < 0x80 ? 1 : c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (len == 1 || len == 0 || len > left) goto single;
    uint32_t v = c & (0x3f >> (len - 1));
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80) goto single;
        v = (v << 6) | (p[k] & 0x3f);
    }
    /* overlong 3/4-byte forms and values past U+10FFFF are not characters */
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff))) goto single;
    *cp = v;
    return len;
single:
    *cp = c;
    return 1;
}

void u8_encode(oc_buf *b, uint32_t cp) {
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xc0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xe0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        if (cp > 0x10ffff) cp = 0xfffd;
        t[0] = (char)(0xf0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    oc_buf_append(b, t, n);
}

size_t u8_count(const char *s, size_t n) {
    size_t c = 0;
    uint32_t cp;
    for (size_t i = 0; i < n; c++) i += u8_decode(s, n, i, &cp);
    return c;
}

size_t u8_offset(const char *s, size_t n, size_t ci) {
    size_t i = 0;
    uint32_t cp;
    while (ci-- > 0 && i < n) i += u8_decode(s, n, i, &cp);
    return i;
}

/* str.isspace: bidirectional class WS, B or S, or category Zs. */
bool py_isspace(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

uint32_t py_upper(uint32_t c) {
    if (c < 0x80) return c >= 'a' && c <= 'z' ? c - 32 : c;
    return (uint32_t)utf8proc_toupper((utf8proc_int32_t)c);
}

uint32_t py_lower(uint32_t c) {
    if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

static uint32_t py_title_cp(uint32_t c) {
    if (c < 0x80) return py_upper(c);
    return (uint32_t)utf8proc_totitle((utf8proc_int32_t)c);
}

static utf8proc_category_t cat(uint32_t c) { return utf8proc_category((utf8proc_int32_t)c); }

bool py_isalpha(uint32_t c) {
    if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
    utf8proc_category_t k = cat(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

bool py_isdigit(uint32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return cat(c) == UTF8PROC_CATEGORY_ND;
}

bool py_isalnum(uint32_t c) {
    if (py_isalpha(c) || py_isdigit(c)) return true;
    utf8proc_category_t k = cat(c);
    return k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

bool py_isupper_cp(uint32_t c) {
    if (c < 0x80) return c >= 'A' && c <= 'Z';
    return cat(c) == UTF8PROC_CATEGORY_LU || cat(c) == UTF8PROC_CATEGORY_LT;
}

bool py_islower_cp(uint32_t c) {
    if (c < 0x80) return c >= 'a' && c <= 'z';
    return cat(c) == UTF8PROC_CATEGORY_LL;
}

static bool is_cased(uint32_t c) { return py_isupper_cp(c) || py_islower_cp(c); }

/* str.isprintable: not Cc, Cf, Cs, Co, Cn, Zl, Zp, nor a Zs other than
 * the space. */
bool py_isprintable(uint32_t c) {
    if (c < 0x80) return c >= 0x20 && c < 0x7f;
    if (c > 0x10ffff) return false;
    utf8proc_category_t k = cat(c);
    if (k == UTF8PROC_CATEGORY_ZS) return false;
    return !(k == UTF8PROC_CATEGORY_CN || k >= UTF8PROC_CATEGORY_ZL);
}

static bool in_chars(uint32_t c, const char *chars, size_t nchars) {
    if (!chars) return py_isspace(c);
    uint32_t d;
    for (size_t i = 0; i < nchars;) {
        i += u8_decode(chars, nchars, i, &d);
        if (d == c) return true;
    }
    return false;
}

void py_strip(const char *s, size_t n, const char *chars, size_t nchars, int which, size_t *start, size_t *end) {
    size_t a = 0, b = n;
    uint32_t c;
    if (which & 1) {
        while (a < n) {
            size_t l = u8_decode(s, n, a, &c);
            if (!in_chars(c, chars, nchars)) break;
            a += l;
        }
    }
    if (which & 2) {
        while (b > a) {
            /* step back to the start of the previous code point */
            size_t p = b - 1;
            while (p > a && ((unsigned char)s[p] & 0xc0) == 0x80 && b - p < 4) p--;
            size_t l = u8_decode(s, n, p, &c);
            if (p + l != b) {
                p = b - 1;
                c = (unsigned char)s[p];
            }
            if (!in_chars(c, chars, nchars)) break;
            b = p;
        }
    }
    *start = a;
    *end = b;
}

/* The SpecialCasing.txt entries Python applies that map one character to
 * several (utf8proc only knows the one-to-one mappings). */
static const struct {
    uint32_t cp;
    const char *upper, *title, *lower;
} SPECIAL[] = {
    {0x00df, "SS", "Ss", NULL},   {0x0149, "\u02bcN", "\u02bcN", NULL}, {0x0130, NULL, NULL, "i\u0307"},
    {0xfb00, "FF", "Ff", NULL},   {0xfb01, "FI", "Fi", NULL},           {0xfb02, "FL", "Fl", NULL},
    {0xfb03, "FFI", "Ffi", NULL}, {0xfb04, "FFL", "Ffl", NULL},         {0xfb05, "ST", "St", NULL},
    {0xfb06, "ST", "St", NULL},
};

/* Writes a special mapping of c for mode (0 lower, 1 upper, 2 title). */
static bool special_case(uint32_t c, int mode, oc_buf *b) {
    if (c < 0xdf) return false;
    for (size_t i = 0; i < sizeof SPECIAL / sizeof SPECIAL[0]; i++) {
        if (SPECIAL[i].cp != c) continue;
        const char *m = mode == 0 ? SPECIAL[i].lower : mode == 1 ? SPECIAL[i].upper : SPECIAL[i].title;
        if (!m) return false;
        oc_buf_puts(b, m);
        return true;
    }
    return false;
}

/* Case conversions with Python's rules for title (a cased character after
 * an uncased one starts a word) and capitalize (first upper, rest lower). */
void py_case(const char *s, size_t n, int mode, oc_buf *b) {
    bool prev_cased = false, first = true;
    uint32_t c;
    for (size_t i = 0; i < n;) {
        i += u8_decode(s, n, i, &c);
        uint32_t o = c;
        int sp = -1; /* which special mapping applies, if any */
        switch (mode) {
        case 0: o = py_lower(c), sp = 0; break;
        case 1: o = py_upper(c), sp = 1; break;
        case 2:
            o = prev_cased ? py_lower(c) : py_title_cp(c);
            sp = prev_cased ? 0 : 2;
            prev_cased = is_cased(c);
            break;
        case 3: o = first ? py_title_cp(c) : py_lower(c), sp = first ? 2 : 0; break;
        default:
            o = py_isupper_cp(c) ? py_lower(c) : py_islower_cp(c) ? py_upper(c) : c;
            sp = py_isupper_cp(c) ? 0 : py_islower_cp(c) ? 1 : -1;
            break;
        }
        first = false;
        if (sp < 0 || !special_case(c, sp, b)) u8_encode(b, o);
    }
}

bool py_str_find(const char *h, size_t hn, const char *nd, size_t nn, size_t from, size_t *at) {
    if (from > hn || nn > hn - from) return false;
    if (nn == 0) {
        *at = from;
        return true;
    }
    const char *p = memmem(h + from, hn - from, nd, nn);
    if (!p) return false;
    *at = (size_t)(p - h);
    return true;
}

/* grammar: JSON Schema "pattern" (an ECMA-262 regular expression subset:
 * literals, escapes \d \w \s \D \W \S, classes, '.', groups, alternation,
 * quantifiers * + ? {n} {n,} {n,m}) -> a rule for the JSON string body of a
 * whole match, with '"', '\' and control characters written as escapes.
 * The pattern is matched as a whole (as if anchored): every output matches
 * the unanchored pattern too. Lookaround and backreferences are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

#define MAX_QUANT 1000

typedef struct rx {
    grammar *g;
    const gprims *p;
    const char *s;
    size_t i, n;
    oc_error *err;
    int depth;
} rx;

static int alt(rx *x);

static bool unsafe_cp(uint32_t cp) { return cp < 0x20 || cp == '"' || cp == '\\' || cp == 0x7F; }

/* A rule for one character of class cls as it appears inside a JSON
 * string: plain members as they are, the others as escapes. */
static int json_char(rx *x, int cls) {
    static const uint32_t unsafe_r[] = {0, 0x1F, '"', '"', '\\', '\\', 0x7F, 0x7F};
    grammar *g = x->g;
    int unsafe = gb_class(g, unsafe_r, 4, false), safe = gb_class_minus(g, cls, unsafe);
    int r = gb_rule(g, "rx-char");
    bool any = false;
    if (g->cls[safe].n) gb_char(g, r, safe), any = true;
    for (uint32_t cp = 1; cp < 0x80; cp++) { /* not \u0000: strict parsers refuse it */
        if (!unsafe_cp(cp) || !gclass_has(&g->cls[cls], cp)) continue;
        char esc[8];
        const char *m = strchr("\b\f\n\r\t", (int)cp);
        if (cp == '"' || cp == '\\') snprintf(esc, sizeof esc, "\\%c", (char)cp);
        else if (m) snprintf(esc, sizeof esc, "\\%c", "bfnrt"[m - "\b\f\n\r\t"]);
        else snprintf(esc, sizeof esc, "\\u%04X", cp);
        if (any) gb_alt(g, r);
        gb_lit(g, r, esc, strlen(esc)), any = true;
    }
    if (!any) return oc_fail(x->err, "pattern has a class that matches no character");
    return r;
}

static int ranges_class(rx *x, const uint32_t *r, int n, bool neg) { return gb_class(x->g, r, n, neg); }

/* \d \w \s and their negations as ranges; returns the count, 0 if not one. */
static int shorthand(char c, uint32_t *r, bool *neg) {
    static const uint32_t d[] = {'0', '9'}, w[] = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'},
                          s[] = {' ', ' ', '\t', '\r', 0xA0, 0xA0, 0xFEFF, 0xFEFF};
    const uint32_t *src = NULL;
    int n = 0;
    switch (c | 0x20) {
    case 'd': src = d, n = 1; break;
    case 'w': src = w, n = 4; break;
    case 's': src = s, n = 4; break;
    default: return 0;
    }
    memcpy(r, src, (size_t)n * 2 * sizeof(uint32_t));
    *neg = c >= 'A' && c <= 'Z';
    return n;
}

static uint32_t utf8_next(rx *x) {
    const unsigned char *s = (const unsigned char *)x->s + x->i;
    unsigned c = s[0];
    int len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (x->i + (size_t)len > x->n) len = 1;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; k++) cp = cp << 6 | (s[k] & 0x3F);
    x->i += (size_t)len;
    return cp;
}

static int hexval(rx *x, int digits, uint32_t *out) {
    *out = 0;
    for (int k = 0; k < digits; k++, x->i++) {
        char c = x->i < x->n ? x->s[x->i] : 0;
        int v = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
        if (v < 0) return oc_fail(x->err, "pattern has a bad \\x or \\u escape");
        *out = *out << 4 | (uint32_t)v;
    }
    return 0;
}

/* One escaped character after '\' (not a shorthand class). */
static int escape_char(rx *x, uint32_t *cp) {
    if (x->i >= x->n) return oc_fail(x->err, "pattern ends with '\\'");
    char c = x->s[x->i++];
    const char *m = strchr("nrtfv0", c);
    if (m && c) { *cp = (uint32_t)"\n\r\t\f\v"[m - "nrtfv0"]; return 0; }
    if (c == 'x') return hexval(x, 2, cp);
    if (c == 'u') return hexval(x, 4, cp);
    if ((c >= '1' && c <= '9') || c == 'k') return oc_fail(x->err, "pattern backreferences are not supported");
    if (c == 'b' || c == 'B') return oc_fail(x->err, "pattern word boundaries are not supported");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return oc_fail(x->err, "pattern escape \\%c is not supported", c);
    x->i--;
    *cp = utf8_next(x);
    return 0;
}

/* A \d \w \s (or negation) inside [...]: appends its ranges to *r. */
static bool class_shorthand(rx *x, uint32_t **r, int *n, int *cap) {
    bool neg;
    uint32_t sr[8];
    int k = shorthand(x->s[x->i + 1], sr, &neg);
    if (!k) return false;
    x->i += 2;
    const uint32_t *src = sr;
    if (neg) { /* e.g. [\D]: its complement as ranges */
        const gclass *gc = &x->g->cls[gb_class(x->g, sr, k, true)];
        src = gc->r, k = gc->n;
    }
    if (*n + k + 8 > *cap) *cap = *n + k + 8, *r = oc_realloc(*r, (size_t)*cap * 2 * sizeof(uint32_t));
    memcpy(*r + 2 * *n, src, (size_t)k * 2 * sizeof(uint32_t));
    *n += k;
    return true;
}

/* [...] after the '['. */
static int char_class(rx *x) {
    bool neg = x->i < x->n && x->s[x->i] == '^';
    if (neg) x->i++;
    uint32_t *r = NULL;
    int n = 0, cap = 0;
    bool first = true;
    while (x->i < x->n && (x->s[x->i] != ']' || first)) {
        first = false;
        if (n + 8 > cap) cap = cap ? 2 * cap : 32, r = oc_realloc(r, (size_t)cap * 2 * sizeof(uint32_t));
        uint32_t lo, hi;
        if (x->s[x->i] == '\\' && x->i + 1 < x->n) {
            if (class_shorthand(x, &r, &n, &cap)) continue;
            x->i++;
            if (escape_char(x, &lo)) return free(r), -1;
        } else {
            lo = utf8_next(x);
        }
        hi = lo;
        if (x->i + 1 < x->n && x->s[x->i] == '-' && x->s[x->i + 1] != ']') {
            x->i++;
            if (x->s[x->i] == '\\') {
                x->i++;
                if (escape_char(x, &hi)) return free(r), -1;
            } else {
                hi = utf8_next(x);
            }
            if (hi < lo) return free(r), oc_fail(x->err, "pattern has a class range out of order");
        }
        r[2 * n] = lo, r[2 * n + 1] = hi, n++;
    }
    if (x->i >= x->n) return free(r), oc_fail(x->err, "pattern has an unterminated [");
    x->i++;
    int c = ranges_class(x, r ? r : (uint32_t[2]){0, 0}, n, neg);
    free(r);
    return json_char(x, c);
}

static int atom(rx *x) {
    char c = x->s[x->i];
    if (c == '(') {
        x->i++;
        if (x->i < x->n && x->s[x->i] == '?') {
            if (x->i + 1 < x->n && x->s[x->i + 1] == ':') x->i += 2;
            else if (x->i + 2 < x->n && x->s[x->i + 1] == '<' && x->s[x->i + 2] != '=' && x->s[x->i + 2] != '!') {
                const char *e = memchr(x->s + x->i, '>', x->n - x->i); /* named group */
                if (!e) return oc_fail(x->err, "pattern has a bad group name");
                x->i = (size_t)(e - x->s) + 1;
            } else {
                return oc_fail(x->err, "pattern lookaround is not supported");
            }
        }
        if (++x->depth > 64) return oc_fail(x->err, "pattern is nested too deeply");
        int r = alt(x);
        x->depth--;
        if (r < 0) return -1;
        if (x->i >= x->n || x->s[x->i] != ')') return oc_fail(x->err, "pattern has an unbalanced (");
        x->i++;
        return r;
    }
    if (c == '[') return x->i++, char_class(x);
    if (c == '.') {
        x->i++;
        uint32_t nl[2] = {'\n', '\n'};
        return json_char(x, ranges_class(x, nl, 1, true));
    }
    uint32_t cp, sr[8];
    bool neg;
    int k;
    if (c == '\\' && x->i + 1 < x->n && (k = shorthand(x->s[x->i + 1], sr, &neg))) {
        x->i += 2;
        return json_char(x, ranges_class(x, sr, k, neg));
    }
    if (c == '\\') {
        x->i++;
        if (escape_char(x, &cp)) return -1;
    } else if (c == ')' || c == '|' || c == '*' || c == '+' || c == '?' || c == '{') {
        return oc_fail(x->err, "pattern has a misplaced '%c'", c);
    } else {
        cp = utf8_next(x);
    }
    uint32_t one[2] = {cp, cp};
    return json_char(x, ranges_class(x, one, 1, false));
}

static int number(rx *x, int *out) {
    size_t start = x->i;
    long v = 0;
    while (x->i < x->n && x->s[x->i] >= '0' && x->s[x->i] <= '9' && v <= MAX_QUANT) v = v * 10 + (x->s[x->i++] - '0');
    if (x->i == start) return -1;
    *out = (int)v;
    return 0;
}

/* After an atom: its quantifier, if any; min/max (max -1 = unbounded). */
static int quantifier(rx *x, int *min, int *max) {
    *min = *max = 1;
    if (x->i >= x->n) return 0;
    char c = x->s[x->i];
    if (c == '*') *min = 0, *max = -1, x->i++;
    else if (c == '+') *min = 1, *max = -1, x->i++;
    else if (c == '?') *min = 0, *max = 1, x->i++;
    else if (c == '{') {
        size_t save = x->i++;
        if (number(x, min)) return x->i = save, oc_fail(x->err, "pattern has a bad {n,m} quantifier");
        *max = *min;
        if (x->i < x->n && x->s[x->i] == ',') {
            x->i++;
            if (number(x, max)) *max = -1;
        }
        if (x->i >= x->n || x->s[x->i] != '}') return oc_fail(x->err, "pattern has a bad {n,m} quantifier");
        x->i++;
        if (*min > MAX_QUANT || *max > MAX_QUANT) return oc_fail(x->err, "pattern repeats more than %d times", MAX_QUANT);
        if (*max >= 0 && *max < *min) return oc_fail(x->err, "pattern has {n,m} with m < n");
    } else {
        return 0;
    }
    if (x->i < x->n && (x->s[x->i] == '?' || x->s[x->i] == '+')) x->i++; /* lazy / possessive: same set */
    return 0;
}

static int seq(rx *x) {
    int r = gb_rule(x->g, "rx-seq");
    while (x->i < x->n && x->s[x->i] != '|' && x->s[x->i] != ')') {
        if (x->s[x->i] == '^' || x->s[x->i] == '$') {
            bool edge = x->s[x->i] == '^' ? x->i == 0 : x->i + 1 == x->n;
            if (!edge) return oc_fail(x->err, "pattern anchors are only supported at its start and end");
            x->i++;
            continue;
        }
        int a = atom(x), min, max;
        if (a < 0 || quantifier(x, &min, &max)) return -1;
        gb_ref(x->g, r, min == 1 && max == 1 ? a : gb_repeat(x->g, a, min, max));
    }
    return r;
}

static int alt(rx *x) {
    int r = gb_rule(x->g, "rx-alt");
    for (bool first = true;; first = false) {
        if (!first) gb_alt(x->g, r);
        int s = seq(x);
        if (s < 0) return -1;
        gb_ref(x->g, r, s);
        if (x->i >= x->n || x->s[x->i] != '|') return r;
        x->i++;
    }
}

int gre_compile(grammar *g, const gprims *p, const char *pattern, oc_error *err) {
    rx x = {.g = g, .p = p, .s = pattern, .n = strlen(pattern), .err = err};
    int r = alt(&x);
    if (r >= 0 && x.i < x.n) return oc_fail(err, "pattern has an unbalanced )");
    return r;
}

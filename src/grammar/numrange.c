/* grammar: integers bounded by minimum/maximum, as digit-by-digit
 * alternatives (no leading zeros, at most 16 digits like the integer
 * primitive, so every value is an exact double). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "grammar/grammar_internal.h"

#define MAX_DIGITS 16
static const long long TOP = 9999999999999999LL; /* 16 digits */

static int digits_rule(grammar *g, char lo, char hi) {
    uint32_t r[2] = {(uint32_t)lo, (uint32_t)hi};
    int rule = gb_rule(g, "d");
    gb_char(g, rule, gb_class(g, r, 1, false));
    return rule;
}

static bool all_of(const char *s, size_t n, char c) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != c) return false;
    return true;
}

/* Appends to rule r the numbers from lo to hi, strings of equal length n. */
static void same_len(grammar *g, int r, const char *lo, const char *hi, size_t n) {
    if (!n) return;
    if (all_of(lo + 1, n - 1, '0') && all_of(hi + 1, n - 1, '9')) {
        gb_ref(g, r, digits_rule(g, lo[0], hi[0]));
        if (n > 1) gb_ref(g, r, gb_repeat(g, digits_rule(g, '0', '9'), (int)n - 1, (int)n - 1));
        return;
    }
    if (lo[0] == hi[0]) {
        gb_lit(g, r, lo, 1);
        same_len(g, r, lo + 1, hi + 1, n - 1);
        return;
    }
    char nines[MAX_DIGITS + 1], zeros[MAX_DIGITS + 1];
    memset(nines, '9', n), memset(zeros, '0', n);
    int alt = gb_rule(g, "range");
    gb_lit(g, alt, lo, 1), same_len(g, alt, lo + 1, nines, n - 1), gb_alt(g, alt);
    if (hi[0] - lo[0] > 1) {
        char a[MAX_DIGITS + 1], b[MAX_DIGITS + 1];
        a[0] = (char)(lo[0] + 1), b[0] = (char)(hi[0] - 1);
        memcpy(a + 1, zeros, n - 1), memcpy(b + 1, nines, n - 1);
        same_len(g, alt, a, b, n), gb_alt(g, alt);
    }
    gb_lit(g, alt, hi, 1), same_len(g, alt, zeros, hi + 1, n - 1);
    gb_ref(g, r, alt);
}

static long long pow10ll(int n) {
    long long v = 1;
    while (n--) v *= 10;
    return v;
}

/* Numbers a..b (0 <= a <= b <= TOP) as alternatives by digit count. */
static int nonneg_range(grammar *g, long long a, long long b) {
    int r = gb_rule(g, "uint");
    bool first = true;
    for (int len = 1; len <= MAX_DIGITS; len++) {
        long long lo = len == 1 ? 0 : pow10ll(len - 1), hi = pow10ll(len) - 1;
        if (lo < a) lo = a;
        if (hi > b) hi = b;
        if (lo > hi) continue;
        char ls[24], hs[24];
        snprintf(ls, sizeof ls, "%lld", lo), snprintf(hs, sizeof hs, "%lld", hi);
        if (!first) gb_alt(g, r);
        first = false;
        same_len(g, r, ls, hs, strlen(ls));
    }
    return r;
}

/* One bound keyword as a whole number: lower bounds round up, upper ones
 * down, exclusive ones step past the value. */
static int bound(const json_t *s, const char *key, bool upper, bool exclusive, long long *out, oc_error *err) {
    const json_t *v = json_object_get(s, key);
    if (!v) return 0;
    if (!json_is_number(v)) return oc_fail(err, "\"%s\" must be a number", key);
    double d = json_number_value(v);
    if (fabs(d) > (double)TOP) return oc_fail(err, "\"%s\" beyond 16 digits is not supported", key);
    double r = upper ? floor(d) : ceil(d);
    if (exclusive && r == d) r += upper ? -1 : 1;
    long long b = (long long)r;
    if (upper ? b < *out : b > *out) *out = b;
    return 0;
}

int gint_range(grammar *g, const gprims *p, const json_t *s, oc_error *err) {
    long long lo = -TOP, hi = TOP;
    if (bound(s, "minimum", false, false, &lo, err) || bound(s, "exclusiveMinimum", false, true, &lo, err) ||
        bound(s, "maximum", true, false, &hi, err) || bound(s, "exclusiveMaximum", true, true, &hi, err))
        return -1;
    if (lo > hi) return oc_fail(err, "\"minimum\" is greater than \"maximum\": no integer fits");
    int r = gb_rule(g, "int-range");
    if (lo < 0) {
        long long a = hi < 0 ? -hi : 1, b = -lo;
        gb_lit(g, r, "-", 1), gb_ref(g, r, nonneg_range(g, a, b));
        if (hi >= 0) gb_alt(g, r);
    }
    if (hi >= 0) gb_ref(g, r, nonneg_range(g, lo < 0 ? 0 : lo, hi));
    int out = gb_rule(g, "integer");
    gb_ref(g, out, r), gb_ref(g, out, p->space);
    return out;
}

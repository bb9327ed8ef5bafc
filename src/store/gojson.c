/* JSON written the way Go's encoding/json writes it, because blob digests
 * (params, messages, config, manifests) must match Ollama's byte for byte:
 * compact, map keys sorted, "<>&" and U+2028/9 escaped, invalid UTF-8 as
 * U+FFFD, numbers in strconv's shortest form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0xC2 || c > 0xF4) return 0;
    if (c < 0xE0) len = 2, min = 0x80, cp = c & 0x1F;
    else if (c < 0xF0) len = 3, min = 0x800, cp = c & 0x0F;
    else len = 4, min = 0x10000, cp = c & 0x07;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

void store_gj_string(oc_buf *b, const char *str, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    oc_buf_append(b, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            switch (c) {
            case '"': case '\\': oc_buf_append(b, "\\", 1); oc_buf_append(b, &c, 1); break;
            case '\b': oc_buf_puts(b, "\\b"); break;
            case '\f': oc_buf_puts(b, "\\f"); break;
            case '\n': oc_buf_puts(b, "\\n"); break;
            case '\r': oc_buf_puts(b, "\\r"); break;
            case '\t': oc_buf_puts(b, "\\t"); break;
            case '<': case '>': case '&': oc_buf_append(b, esc, 6); break;
            default:
                if (c < 0x20) oc_buf_append(b, esc, 6);
                else oc_buf_append(b, &c, 1);
            }
            i++;
            continue;
        }
        size_t n = utf8_valid_len(s + i, len - i);
        if (n == 0) {
            oc_buf_puts(b, "\\ufffd");
            i++;
        } else if (n == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            oc_buf_puts(b, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            i += 3;
        } else {
            oc_buf_append(b, s + i, n);
            i += n;
        }
    }
    oc_buf_append(b, "\"", 1);
}

void store_gj_cstr(oc_buf *b, const char *s) { store_gj_string(b, s ? s : "", s ? strlen(s) : 0); }

/* Shortest digits that round-trip v (as float when f32, else double):
 * digits without the point in dig, decimal exponent of the first digit. */
static void shortest_digits(double v, bool f32, char *dig, int *exp10) {
    char tmp[40];
    int maxp = f32 ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        bool ok = f32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v;
        if (ok || p == maxp) break;
    }
    /* tmp = d[.ddd]e±XX */
    size_t k = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') dig[k++] = *p;
    dig[k] = 0;
    *exp10 = atoi(p + 1);
    while (k > 1 && dig[k - 1] == '0') dig[--k] = 0;
}

/* strconv.FormatFloat(v, 'f' or 'e', -1, bits) followed by encoding/json's
 * "e-07" -> "e-7" clean-up. */
static void format_go(oc_buf *b, double v, bool f32) {
    if (v == 0) {
        oc_buf_puts(b, signbit(v) ? "-0" : "0");
        return;
    }
    double a = fabs(v);
    bool e = f32 ? ((float)a < 1e-6f || (float)a >= 1e21f) : (a < 1e-6 || a >= 1e21);
    char dig[32];
    int x;
    shortest_digits(v < 0 ? -v : v, f32, dig, &x);
    int nd = (int)strlen(dig);
    if (v < 0) oc_buf_puts(b, "-");
    if (e) {
        oc_buf_append(b, dig, 1);
        if (nd > 1) oc_buf_printf(b, ".%s", dig + 1);
        /* Go writes at least two exponent digits; json then drops the
         * zero of "e-07". Positive exponents here are always >= 21. */
        if (x < 0) oc_buf_printf(b, "e-%d", -x);
        else oc_buf_printf(b, "e+%02d", x);
        return;
    }
    if (x < 0) {
        oc_buf_puts(b, "0.");
        for (int i = 0; i < -x - 1; i++) oc_buf_puts(b, "0");
        oc_buf_puts(b, dig);
    } else if (x + 1 >= nd) {
        oc_buf_puts(b, dig);
        for (int i = 0; i < x + 1 - nd; i++) oc_buf_puts(b, "0");
    } else {
        oc_buf_append(b, dig, (size_t)x + 1);
        oc_buf_printf(b, ".%s", dig + x + 1);
    }
}

int store_gj_float64(oc_buf *b, double v) {
    if (!isfinite(v)) return -1;
    format_go(b, v, false);
    return 0;
}

void store_float32_string(float v, char *buf, size_t size) {
    oc_buf b = {0};
    format_go(&b, v, true);
    snprintf(buf, size, "%s", b.data);
    oc_buf_free(&b);
}

static int cmp_key(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int gj_object(oc_buf *b, const json_t *v, oc_error *err) {
    size_t n = json_object_size(v), i = 0;
    const char **keys = oc_malloc((n ? n : 1) * sizeof *keys);
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_key);
    oc_buf_puts(b, "{");
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        if (i) oc_buf_puts(b, ",");
        store_gj_cstr(b, keys[i]);
        oc_buf_puts(b, ":");
        rc = store_gj_value(b, json_object_get(v, keys[i]), err);
    }
    oc_buf_puts(b, "}");
    free(keys);
    return rc;
}

int store_gj_value(oc_buf *b, const json_t *v, oc_error *err) {
    if (!v) {
        oc_buf_puts(b, "null");
        return 0;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: return gj_object(b, v, err);
    case JSON_ARRAY:
        oc_buf_puts(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) oc_buf_puts(b, ",");
            if (store_gj_value(b, json_array_get(v, i), err) != 0) return -1;
        }
        oc_buf_puts(b, "]");
        return 0;
    case JSON_STRING: store_gj_string(b, json_string_value(v), json_string_length(v)); return 0;
    case JSON_INTEGER: return store_gj_float64(b, (double)json_integer_value(v));
    case JSON_REAL:
        if (store_gj_float64(b, json_real_value(v)) != 0)
            return oc_fail(err, "json: unsupported value: %g", json_real_value(v));
        return 0;
    case JSON_TRUE: oc_buf_puts(b, "true"); return 0;
    case JSON_FALSE: oc_buf_puts(b, "false"); return 0;
    default: oc_buf_puts(b, "null"); return 0;
    }
}

char *store_json_encode(const json_t *v, size_t *len, oc_error *err) {
    oc_buf b = {0};
    if (store_gj_value(&b, v, err) != 0) {
        oc_buf_free(&b);
        return NULL;
    }
    oc_buf_puts(&b, "\n");
    if (len) *len = b.len;
    return b.data;
}

json_t *store_json_parse(const void *data, size_t len, oc_error *err) {
    json_error_t je, je2;
    size_t flags = JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK;
    json_t *v = json_loadb(data, len, flags, &je);
    /* Jansson refuses integers beyond int64, which Go writes for large
     * float64 values (1e20 is "100000000000000000000"); read those as reals. */
    if (!v) v = json_loadb(data, len, flags | JSON_DECODE_INT_AS_REAL, &je2);
    if (!v) oc_fail(err, "invalid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    return v;
}

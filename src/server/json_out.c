/* server: JSON output byte for byte as Go's encoding/json writes it, so
 * clients comparing against upstream see the same text: compact, HTML
 * characters escaped, invalid UTF-8 replaced, shortest float form.
 * (jansson's dump differs: "%.17g" reals and no HTML escaping.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0], len, min, cp;
    if (c < 0xC2 || c > 0xF4) return 0;
    if (c < 0xE0) len = 2, min = 0x80, cp = c & 0x1F;
    else if (c < 0xF0) len = 3, min = 0x800, cp = c & 0x0F;
    else len = 4, min = 0x10000, cp = c & 0x07;
    if (len > n) return 0;
    for (unsigned i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

static void put_string(oc_buf *b, const char *str, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    oc_buf_append(b, "\"", 1);
    size_t start = 0, i = 0;
    while (i < len) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        size_t adv = 1;
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                i++;
                continue;
            }
            esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : u;
        } else if ((adv = utf8_len(s + i, len - i)) == 0) {
            esc = "\\ufffd", adv = 1;
        } else if (adv == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] & 0xFE) == 0xA8) {
            esc = s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029"; /* JS line separators */
        } else {
            i += adv;
            continue;
        }
        oc_buf_append(b, s + start, i - start);
        oc_buf_puts(b, esc);
        i += adv;
        start = i;
    }
    oc_buf_append(b, s + start, len - start);
    oc_buf_append(b, "\"", 1);
}

/* strconv.FormatFloat(v, 'f' or 'e', -1, bits) with encoding/json's choice
 * of 'e' for |v| < 1e-6 or >= 1e21 and its "e-07" -> "e-7" clean-up. */
void server_json_append_float(oc_buf *out, double v, int bits) {
    char tmp[48], digits[24];
    for (int prec = 1; prec <= 17; prec++) { /* fewest digits that read back exactly */
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (bits == 32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v) break;
    }
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg) p++;
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    double a = fabs(v);
    bool sci = a != 0 && (bits == 32 ? ((float)a < 1e-6f || (float)a >= 1e21f) : (a < 1e-6 || a >= 1e21));
    if (neg) oc_buf_append(out, "-", 1);
    if (sci) {
        oc_buf_append(out, digits, 1);
        if (nd > 1) oc_buf_append(out, ".", 1), oc_buf_append(out, digits + 1, (size_t)nd - 1);
        if (exp < 0 && exp > -10) oc_buf_printf(out, "e-%d", -exp);
        else oc_buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        oc_buf_puts(out, "0.");
        for (int i = 0; i < -exp - 1; i++) oc_buf_append(out, "0", 1);
        oc_buf_append(out, digits, (size_t)nd);
    } else {
        for (int i = 0; i <= exp; i++) oc_buf_append(out, i < nd ? &digits[i] : "0", 1);
        if (nd > exp + 1) oc_buf_append(out, ".", 1), oc_buf_append(out, digits + exp + 1, (size_t)(nd - exp - 1));
    }
}

void server_json_encode(const json_t *v, oc_buf *out) {
    const char *key;
    json_t *item;
    size_t i;
    bool first = true;
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        oc_buf_append(out, "{", 1);
        json_object_foreach((json_t *)v, key, item) {
            if (!first) oc_buf_append(out, ",", 1);
            first = false;
            put_string(out, key, strlen(key));
            oc_buf_append(out, ":", 1);
            server_json_encode(item, out);
        }
        oc_buf_append(out, "}", 1);
        break;
    case JSON_ARRAY:
        oc_buf_append(out, "[", 1);
        json_array_foreach(v, i, item) {
            if (i) oc_buf_append(out, ",", 1);
            server_json_encode(item, out);
        }
        oc_buf_append(out, "]", 1);
        break;
    case JSON_STRING: put_string(out, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: oc_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: server_json_append_float(out, json_real_value(v), 64); break;
    case JSON_TRUE: oc_buf_puts(out, "true"); break;
    case JSON_FALSE: oc_buf_puts(out, "false"); break;
    case JSON_NULL: oc_buf_puts(out, "null"); break;
    }
}

json_t *server_error_object(const char *msg) {
    json_t *o = json_object();
    json_object_set_new(o, "error", json_stringn_nocheck(msg ? msg : "", msg ? strlen(msg) : 0));
    return o;
}

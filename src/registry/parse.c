/* registry: the small parsers of outside bytes — Range headers for the
 * /v2 read side and download part state files — and upstream's part
 * split. (The WWW-Authenticate parse lives with the rest of auth.) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/registry_internal.h"

/* Upstream's bounds (decimal MB); the unit tests shrink them to exercise
 * many parts on a small blob. */
int64_t reg_part_min = 100000000LL, reg_part_max = 1000000000LL;

/* Digits only, no overflow; the end of the number in *end. */
static bool parse_u64(const char *s, const char **end, uint64_t *out) {
    uint64_t v = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++)
        if (!oc_mul_u64(v, 10, &v) || !oc_add_u64(v, (uint64_t)(*p - '0'), &v)) return false;
    *end = p;
    *out = v;
    return p != s;
}

int registry_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *end) {
    if (!header) return 1;
    while (*header == ' ') header++;
    if (strncmp(header, "bytes=", 6) != 0) return 1; /* other units are ignored, as Go's ServeContent */
    const char *p = header + 6, *e;
    while (*p == ' ') p++;
    uint64_t a, b;
    if (*p == '-') { /* the last b bytes */
        if (!parse_u64(p + 1, &e, &b) || *e) return -1;
        if (b == 0 || size == 0) return -1;
        if (b > size) b = size;
        *start = size - b, *end = size - 1;
        return 0;
    }
    if (!parse_u64(p, &e, &a) || *e != '-') return -1;
    p = e + 1;
    if (!*p) b = size ? size - 1 : 0;
    else if (!parse_u64(p, &e, &b) || *e || b < a) return -1;
    if (a >= size) return -1;
    if (b >= size) b = size - 1;
    *start = a, *end = b;
    return 0;
}

int registry_part_parse(const void *data, size_t len, registry_part *p) {
    json_t *j = json_loadb(data, len, 0, NULL);
    if (!j) return -1;
    json_t *n = json_object_get(j, "N"), *o = json_object_get(j, "Offset");
    json_t *s = json_object_get(j, "Size"), *c = json_object_get(j, "Completed");
    int rc = -1;
    if (json_is_integer(n) && json_is_integer(o) && json_is_integer(s) && json_is_integer(c)) {
        p->n = (int)json_integer_value(n);
        p->offset = json_integer_value(o);
        p->size = json_integer_value(s);
        p->completed = json_integer_value(c);
        int64_t sum;
        if (json_integer_value(n) >= 0 && json_integer_value(n) < 1000000 && p->offset >= 0 && p->size >= 0 &&
            p->completed >= 0 && p->completed <= p->size && !__builtin_add_overflow(p->offset, p->size, &sum))
            rc = 0;
    }
    json_decref(j);
    return rc;
}

char *registry_part_encode(const registry_part *p) {
    oc_buf b = {0};
    oc_buf_printf(&b, "{\"N\":%d,\"Offset\":%lld,\"Size\":%lld,\"Completed\":%lld}\n", p->n, (long long)p->offset,
                  (long long)p->size, (long long)p->completed);
    return b.data;
}

size_t registry_split(int64_t total, registry_part **parts) {
    *parts = NULL;
    if (total <= 0) return 0;
    int64_t size = total / 16;
    if (size < reg_part_min) size = reg_part_min;
    if (size > reg_part_max) size = reg_part_max;
    size_t n = (size_t)((total + size - 1) / size);
    registry_part *v = oc_calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i].n = (int)i;
        v[i].offset = (int64_t)i * size;
        v[i].size = total - v[i].offset < size ? total - v[i].offset : size;
    }
    *parts = v;
    return n;
}

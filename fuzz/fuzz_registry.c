/* libFuzzer target for the registry's parsers of outside bytes: the
 * WWW-Authenticate challenge, Range headers (a range that parses must lie
 * inside the blob) and download part state files (what parses must
 * re-encode to a file that parses to the same part). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"

static void challenge(const char *s) {
    registry_challenge c;
    registry_parse_challenge(s, &c);
    if (strlen(c.realm) >= sizeof c.realm || strlen(c.scope) >= sizeof c.scope) abort();
}

static void range(const char *s, uint64_t size) {
    uint64_t a = 0, b = 0;
    int r = registry_parse_range(s, size, &a, &b);
    if (r == 0 && (a > b || b >= size)) abort();
    if (r < -1 || r > 1) abort();
}

static void part(const uint8_t *data, size_t size) {
    registry_part p, q;
    if (registry_part_parse(data, size, &p) != 0) return;
    if (p.completed > p.size || p.offset < 0) abort();
    char *j = registry_part_encode(&p);
    if (registry_part_parse(j, strlen(j), &q) != 0 || p.n != q.n || p.offset != q.offset || p.size != q.size ||
        p.completed != q.completed)
        abort();
    free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    challenge(s);
    uint64_t blob = size ? data[0] * 1000003ULL : 0;
    range(s, blob);
    range(s, 100);
    part(data, size);
    free(s);
    return 0;
}

/* libFuzzer target for the store's JSON and names: manifests and config
 * blobs must parse or fail cleanly, and what parses must re-encode to bytes
 * that parse to the same encoding (Go-compatible output is stable); any
 * JSON must encode Go-style; a name that validates must map to a manifest
 * path that stays inside the store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static void manifest_roundtrip(const uint8_t *data, size_t size) {
    store_manifest m, m2;
    if (store_manifest_parse(data, size, &m, NULL) != 0) return;
    size_t len, len2;
    char *enc = store_manifest_encode(&m, &len);
    if (store_manifest_parse(enc, len, &m2, NULL) != 0) abort();
    char *enc2 = store_manifest_encode(&m2, &len2);
    if (len != len2 || memcmp(enc, enc2, len)) abort();
    if (store_manifest_size(&m) != store_manifest_size(&m2)) abort();
    free(enc), free(enc2);
    store_manifest_free(&m);
    store_manifest_free(&m2);
}

static void config_roundtrip(const uint8_t *data, size_t size) {
    store_config c, c2;
    if (store_config_parse(data, size, &c, NULL) != 0) return;
    size_t len, len2;
    char *enc = store_config_encode(&c, &len);
    if (store_config_parse(enc, len, &c2, NULL) != 0) abort();
    char *enc2 = store_config_encode(&c2, &len2);
    if (len != len2 || memcmp(enc, enc2, len)) abort();
    free(enc), free(enc2);
    store_config_free(&c);
    store_config_free(&c2);
}

static void any_json(const uint8_t *data, size_t size) {
    json_error_t je;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
    if (!v) return;
    size_t len;
    char *enc = store_json_encode(v, &len, NULL);
    if (enc) {
        json_t *back = json_loadb(enc, len, JSON_DECODE_ANY, &je);
        /* Go writes big floats as long integers, which Jansson only reads as reals */
        if (!back) back = json_loadb(enc, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
        if (!back) abort();
        json_decref(back);
        free(enc);
    }
    json_decref(v);
}

static void name_check(const uint8_t *data, size_t size) {
    char s[1024];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = 0;
    store_name name;
    if (store_name_parse(s, &name, NULL) != 0) return;
    char path[STORE_NAME_BUF];
    store_name_filepath(&name, path, sizeof path);
    /* four non-empty parts, none "." or "..", no way out of manifests/ */
    int parts = 1;
    for (const char *p = path, *e; *p; p = e + 1, parts++) {
        e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || p[0] == '.') abort();
        if (!e) break;
    }
    if (parts != 4) abort();
    store_name back;
    if (!store_name_from_filepath(path, &back) || !store_name_equal_fold(&back, &name)) abort();
    char disp[STORE_NAME_BUF];
    store_name_display(&name, disp, sizeof disp);
    store_name again;
    if (store_name_parse(disp, &again, NULL) != 0 || !store_name_equal_fold(&again, &name)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    manifest_roundtrip(data, size);
    config_roundtrip(data, size);
    any_json(data, size);
    name_check(data, size);
    return 0;
}

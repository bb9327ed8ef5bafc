/* Model names (store.md §2; upstream types/model/name.go). Validation is on
 * bytes, so a valid name can never hold '/', '..' as a part, NUL or
 * non-ASCII: the manifest path of a valid name cannot leave the store. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/store_internal.h"

enum part_kind { PART_HOST, PART_NS, PART_MODEL, PART_TAG };

static bool is_alnum_us(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool part_valid(enum part_kind kind, const char *s) {
    size_t len = strlen(s), max = kind == PART_HOST ? STORE_HOST_MAX : STORE_PART_MAX;
    if (len < 1 || len > max || !is_alnum_us((unsigned char)s[0])) return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_alnum_us(c) || c == '-') continue;
        if (c == '.' && kind != PART_NS) continue;
        if (c == ':' && kind == PART_HOST) continue;
        return false;
    }
    return true;
}

bool store_name_valid(const store_name *n) {
    return part_valid(PART_HOST, n->host) && part_valid(PART_NS, n->ns) &&
           part_valid(PART_MODEL, n->model) && part_valid(PART_TAG, n->tag);
}

/* Copies [s, s+len) into a fixed part; false when it does not fit (such a
 * part would be invalid anyway). An empty piece after a separator is
 * "promised but missing": upstream stores a marker that fails validation. */
static bool set_part(char *dst, size_t cap, const char *s, size_t len) {
    if (len == 0 || len >= cap) return false;
    memcpy(dst, s, len);
    dst[len] = 0;
    return true;
}

/* Last occurrence of c in [s, s+len), or NULL. */
static const char *last_in(const char *s, size_t len, char c) {
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == c) return s + i - 1;
    return NULL;
}

/* Parses the host piece, which may carry "scheme://". */
static bool parse_host(store_name *n, const char *s, size_t len) {
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= len; i++)
        if (memcmp(s + i, "://", 3) == 0) {
            sep = s + i;
            break;
        }
    if (sep) {
        size_t sl = (size_t)(sep - s);
        if (sl > STORE_SCHEME_MAX) return false;
        memcpy(n->scheme, s, sl);
        n->scheme[sl] = 0;
        len -= sl + 3;
        s = sep + 3;
    }
    if (len == 0) return true; /* "://ns/m": host left to the default */
    return set_part(n->host, sizeof n->host, s, len);
}

/* Right-to-left split of ParseNameBare; false for an empty promised piece. */
static bool parse_bare(const char *s, store_name *n) {
    size_t len = strlen(s);
    const char *colon = last_in(s, len, ':'), *slash = last_in(s, len, '/');
    if (colon && (!slash || colon > slash)) {
        if (!set_part(n->tag, sizeof n->tag, colon + 1, len - (size_t)(colon - s) - 1)) return false;
        len = (size_t)(colon - s);
        if (len == 0) return false;
    }
    slash = last_in(s, len, '/');
    if (!slash) return set_part(n->model, sizeof n->model, s, len);
    if (!set_part(n->model, sizeof n->model, slash + 1, len - (size_t)(slash - s) - 1)) return false;
    len = (size_t)(slash - s);
    if (len == 0) return false;
    slash = last_in(s, len, '/');
    if (!slash) return set_part(n->ns, sizeof n->ns, s, len);
    if (!set_part(n->ns, sizeof n->ns, slash + 1, len - (size_t)(slash - s) - 1)) return false;
    len = (size_t)(slash - s);
    if (len == 0) return false;
    return parse_host(n, s, len);
}

int store_name_parse(const char *s, store_name *out, oc_error *err) {
    store_name n;
    memset(&n, 0, sizeof n);
    bool ok = s && parse_bare(s, &n);
    if (ok) {
        if (!n.host[0]) strcpy(n.host, STORE_DEFAULT_HOST);
        if (!n.ns[0]) strcpy(n.ns, STORE_DEFAULT_NAMESPACE);
        if (!n.tag[0]) strcpy(n.tag, STORE_DEFAULT_TAG);
        if (!n.scheme[0]) strcpy(n.scheme, "https");
        ok = store_name_valid(&n);
    }
    if (!ok) {
        oc_fail(err, "invalid model name");
        return STORE_ERR_INVALID;
    }
    *out = n;
    return 0;
}

void store_name_string(const store_name *n, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
}

void store_name_display(const store_name *n, char *buf, size_t size) {
    if (strcasecmp(n->host, STORE_DEFAULT_HOST) != 0)
        snprintf(buf, size, "%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
    else if (strcasecmp(n->ns, STORE_DEFAULT_NAMESPACE) != 0)
        snprintf(buf, size, "%s/%s:%s", n->ns, n->model, n->tag);
    else
        snprintf(buf, size, "%s:%s", n->model, n->tag);
}

void store_name_filepath(const store_name *n, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s/%s/%s", n->host, n->ns, n->model, n->tag);
}

bool store_name_from_filepath(const char *rel, store_name *out) {
    store_name n;
    memset(&n, 0, sizeof n);
    char *parts[4] = {n.host, n.ns, n.model, n.tag};
    size_t caps[4] = {sizeof n.host, sizeof n.ns, sizeof n.model, sizeof n.tag};
    const char *p = rel;
    for (int i = 0; i < 4; i++) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if ((i < 3) != (e != NULL) || !set_part(parts[i], caps[i], p, len)) return false;
        p = e ? e + 1 : p + len;
    }
    strcpy(n.scheme, "https");
    if (!store_name_valid(&n)) return false;
    *out = n;
    return true;
}

bool store_name_equal_fold(const store_name *a, const store_name *b) {
    return strcasecmp(a->host, b->host) == 0 && strcasecmp(a->ns, b->ns) == 0 &&
           strcasecmp(a->model, b->model) == 0 && strcasecmp(a->tag, b->tag) == 0;
}

static char *part_of(store_name *n, int k) {
    return k == 0 ? n->host : k == 1 ? n->ns : k == 2 ? n->model : n->tag;
}

/* Level by level (host, namespace, model, tag), among the manifests that
 * matched so far: an exact spelling stays, else the first equal-ignoring-
 * case spelling is adopted; a part no such manifest has falls back to any
 * manifest's spelling (upstream's rule). Upstream folds every part against
 * any manifest, which can assemble a name that exists nowhere (race:latest
 * beside Race:copy became Race:latest); going down the tree first keeps an
 * existing name as it is. */
static const char *pick_spelling(store_entry *e, const bool *alive, size_t count, int k, const char *mine) {
    const char *pick = NULL;
    for (size_t i = 0; i < count; i++) {
        const char *theirs = part_of(&e[i].name, k);
        if ((alive && !alive[i]) || strcasecmp(theirs, mine)) continue;
        if (!strcmp(theirs, mine)) return theirs;
        if (!pick) pick = theirs;
    }
    return pick;
}

void store_name_fold_existing(store *s, store_name *n) {
    store_entry *e = NULL;
    size_t count = 0;
    if (store_scan_names(s, &e, &count) != 0 || !count) {
        store_list_free(e, count);
        return;
    }
    bool *alive = oc_malloc(count * sizeof *alive);
    for (size_t i = 0; i < count; i++) alive[i] = true;
    for (int k = 0; k < 4; k++) {
        char *mine = part_of(n, k);
        const char *pick = pick_spelling(e, alive, count, k, mine);
        if (!pick) pick = pick_spelling(e, NULL, count, k, mine);
        if (pick) strcpy(mine, pick); /* same length: equal ignoring ASCII case */
        for (size_t i = 0; i < count; i++) alive[i] = alive[i] && !strcmp(part_of(&e[i].name, k), mine);
    }
    free(alive);
    store_list_free(e, count);
}

/* Manifests on disk: read, write, scan, list, copy, delete, and the
 * reference counting behind delete and prune (store.md §3.1, §6). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_internal.h"

static void sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Reads and parses the manifest file at path. NOT_FOUND when absent. */
static int read_manifest_file(const char *path, store_manifest *m, char **raw, size_t *rawlen, oc_error *err) {
    struct stat st;
    if (m) memset(m, 0, sizeof *m);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return STORE_ERR_NOT_FOUND;
    size_t len;
    char *data = oc_read_file(path, &len, err);
    if (!data) return errno == ENOENT ? STORE_ERR_NOT_FOUND : STORE_ERR;
    int rc = m ? store_manifest_parse(data, len, m, err) : 0;
    if (rc == 0 && m) {
        sha256_hex(data, len, m->digest);
        m->mtime_sec = (int64_t)st.st_mtim.tv_sec;
        m->mtime_nsec = (int64_t)st.st_mtim.tv_nsec;
    }
    if (rc == 0 && raw) {
        *raw = data;
        *rawlen = len;
    } else {
        free(data);
    }
    return rc;
}

static int not_found(const store_name *n, oc_error *err) {
    char d[STORE_NAME_BUF];
    store_name_display(n, d, sizeof d);
    oc_fail(err, "model '%s' not found", d);
    return STORE_ERR_NOT_FOUND;
}

int store_manifest_read(store *s, const store_name *n, store_manifest *m, oc_error *err) {
    char path[PATH_MAX];
    int rc = store_manifest_path(s, n, path, sizeof path, err);
    if (rc != 0) return rc;
    rc = read_manifest_file(path, m, NULL, NULL, err);
    return rc == STORE_ERR_NOT_FOUND ? not_found(n, err) : rc;
}

int store_manifest_read_raw(store *s, const store_name *n, char **data, size_t *len, oc_error *err) {
    char path[PATH_MAX];
    int rc = store_manifest_path(s, n, path, sizeof path, err);
    if (rc != 0) return rc;
    rc = read_manifest_file(path, NULL, data, len, err);
    return rc == STORE_ERR_NOT_FOUND ? not_found(n, err) : rc;
}

/* ---- scanning ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entry names of a directory (like filepath.Glob's order). */
static char **list_dir(const char *path, size_t *n) {
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return NULL;
    size_t cap = 16;
    char **v = oc_malloc(cap * sizeof *v);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (*n == cap) v = oc_realloc(v, (cap *= 2) * sizeof *v);
        v[(*n)++] = oc_strdup(de->d_name);
    }
    closedir(d);
    qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

void store_strv_free(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

typedef struct scan_ctx {
    store *s;
    bool strict, names_only;
    store_entry *e;
    size_t n, cap;
    int rc;
    oc_error *err;
} scan_ctx;

/* One candidate manifests/<rel>: a regular file (symlinks followed). */
static void scan_file(scan_ctx *c, const char *path, const char *rel) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (c->strict) c->rc = oc_fail(c->err, "%s: %s", path, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) return;
    /* Our own temp files start with '.', which no valid tag does. */
    if (strrchr(rel, '/')[1] == '.') return;
    store_name name;
    if (!store_name_from_filepath(rel, &name)) {
        if (c->strict) c->rc = oc_fail(c->err, "%s: bad manifest name", rel);
        else oc_log(OC_LOG_WARN, "bad manifest name path=%s", rel);
        return;
    }
    store_manifest m;
    oc_error perr;
    int rc = c->names_only ? (memset(&m, 0, sizeof m), 0) : read_manifest_file(path, &m, NULL, NULL, &perr);
    if (rc != 0) {
        if (c->strict) c->rc = oc_fail(c->err, "%s: %s", rel, rc == STORE_ERR_NOT_FOUND ? "not found" : perr.msg);
        else if (rc != STORE_ERR_NOT_FOUND) oc_log(OC_LOG_WARN, "bad manifest name=%s error=%s", rel, perr.msg);
        return;
    }
    if (c->n == c->cap) c->e = oc_realloc(c->e, (c->cap = c->cap ? 2 * c->cap : 16) * sizeof *c->e);
    store_entry *e = &c->e[c->n++];
    e->name = name;
    e->manifest = m;
    e->size = store_manifest_size(&m);
}

/* Walks exactly four levels below manifests/: host, namespace, model, tag
 * (upstream globs four stars, store.md §1). */
static void scan_level(scan_ctx *c, const char *path, const char *rel, int depth) {
    size_t n;
    char **names = list_dir(path, &n);
    for (size_t i = 0; i < n && c->rc == 0; i++) {
        char *sub = store_join(path, names[i]);
        char *subrel = *rel ? store_join(rel, names[i]) : oc_strdup(names[i]);
        if (depth == 3) scan_file(c, sub, subrel);
        else scan_level(c, sub, subrel, depth + 1);
        free(sub);
        free(subrel);
    }
    store_strv_free(names, n);
}

static int scan(scan_ctx *c, store_entry **out, size_t *n) {
    char *dir = store_manifests_dir(c->s, false, NULL);
    scan_level(c, dir, "", 0);
    free(dir);
    if (c->rc != 0) {
        store_list_free(c->e, c->n);
        return STORE_ERR;
    }
    *out = c->e;
    *n = c->n;
    return 0;
}

int store_scan(store *s, bool strict, store_entry **out, size_t *n, oc_error *err) {
    scan_ctx c = {.s = s, .strict = strict, .err = err};
    return scan(&c, out, n);
}

int store_scan_names(store *s, store_entry **out, size_t *n) {
    scan_ctx c = {.s = s, .names_only = true};
    return scan(&c, out, n);
}

int store_list(store *s, store_entry **out, size_t *n, oc_error *err) { return store_scan(s, false, out, n, err); }

void store_list_free(store_entry *e, size_t n) {
    for (size_t i = 0; e && i < n; i++) store_manifest_free(&e[i].manifest);
    free(e);
}

/* ---- references ---- */

static void push_digest(char ***v, size_t *n, size_t *cap, const char *d) {
    if (!store_digest_valid(d)) return;
    if (*n == *cap) *v = oc_realloc(*v, (*cap = *cap ? 2 * *cap : 64) * sizeof **v);
    char norm[STORE_DIGEST_SIZE];
    store_digest_norm(d, norm);
    (*v)[(*n)++] = oc_strdup(norm);
}

int store_referenced(store *s, char ***out, size_t *n, oc_error *err) {
    store_entry *e;
    size_t ne, cap = 0;
    if (store_scan(s, false, &e, &ne, err) != 0) return -1;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < ne; i++) {
        push_digest(out, n, &cap, e[i].manifest.config.digest);
        for (size_t k = 0; k < e[i].manifest.n_layers; k++) push_digest(out, n, &cap, e[i].manifest.layers[k].digest);
    }
    store_list_free(e, ne);
    if (*n) qsort(*out, *n, sizeof **out, cmp_str);
    return 0;
}

bool store_digest_in(char **sorted, size_t n, const char *digest) {
    if (!store_digest_valid(digest) || !n) return false;
    char norm[STORE_DIGEST_SIZE];
    store_digest_norm(digest, norm);
    const char *key = norm;
    return bsearch(&key, sorted, n, sizeof *sorted, cmp_str) != NULL;
}

void store_delete_unreferenced(store *s, char **digests, size_t n) {
    char **refs;
    size_t nrefs;
    if (!n || store_referenced(s, &refs, &nrefs, NULL) != 0) return;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (store_digest_in(refs, nrefs, digests[i])) continue;
        if (store_blob_path(s, digests[i], path, sizeof path, NULL) != 0) continue;
        if (unlink(path) != 0 && errno != ENOENT)
            oc_log(OC_LOG_WARN, "couldn't remove blob %s: %s", path, strerror(errno));
    }
    store_strv_free(refs, nrefs);
}

/* Digests of a manifest's layers and config. */
static char **manifest_digests(const store_manifest *m, size_t *n) {
    char **v = oc_malloc((m->n_layers + 1) * sizeof *v);
    *n = 0;
    v[(*n)++] = oc_strdup(m->config.digest);
    for (size_t i = 0; i < m->n_layers; i++) v[(*n)++] = oc_strdup(m->layers[i].digest);
    return v;
}

int store_remove_unused_layers(store *s, const store_manifest *m, oc_error *err) {
    (void)err;
    size_t n;
    char **d = manifest_digests(m, &n);
    store_lock();
    store_delete_unreferenced(s, d, n);
    store_unlock();
    store_strv_free(d, n);
    return 0;
}

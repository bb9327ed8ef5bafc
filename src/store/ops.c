/* Writing manifests, copy, delete and start-up prune. Every change to
 * manifests/ and every blob deletion runs under the store lock, and a
 * manifest file only ever appears by rename of a complete temp file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_internal.h"

#define PRUNE_GRACE_SEC 3600 /* a blob younger than this may await its manifest */

/* Atomic write into manifests/: a hidden temp file beside the target (a
 * name no scan takes for a manifest), fsync, rename. */
static int write_atomic(const char *path, const void *data, size_t len, oc_error *err) {
    const char *slash = strrchr(path, '/');
    size_t dl = (size_t)(slash - path);
    char *tmp = oc_malloc(dl + 32);
    snprintf(tmp, dl + 32, "%.*s/.tmp-XXXXXX", (int)dl, path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        oc_fail(err, "create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    int rc = fchmod(fd, 0644) == 0 ? 0 : oc_fail(err, "chmod %s: %s", tmp, strerror(errno));
    while (rc == 0 && len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) rc = oc_fail(err, "write %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
        else p += w, len -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0) rc = oc_fail(err, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0) rc = oc_fail(err, "close %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0) rc = oc_fail(err, "rename %s: %s", path, strerror(errno));
    if (rc != 0) unlink(tmp);
    free(tmp);
    return rc;
}

/* With the lock held: every blob the manifest names must exist, so a
 * published manifest never points at a blob a concurrent delete removed. */
static int check_blobs(store *s, const store_manifest *m, oc_error *err) {
    const store_layer *all[2] = {&m->config, NULL};
    for (size_t i = 0; i <= m->n_layers; i++) {
        const store_layer *l = i == 0 ? all[0] : &m->layers[i - 1];
        if (i == 0 && !*l->digest) continue; /* a manifest may lack a config */
        if (!store_digest_valid(l->digest)) {
            oc_fail(err, "invalid digest format");
            return STORE_ERR_INVALID;
        }
        if (!store_blob_exists(s, l->digest)) {
            oc_fail(err, "blob \"%s\" not found", l->digest);
            return STORE_ERR_NOT_FOUND;
        }
    }
    return 0;
}

/* Writes manifest bytes for n; the caller holds the lock. */
int store_manifest_write_locked(store *s, const store_name *n, const void *data, size_t len, oc_error *err) {
    store_manifest m;
    int rc = store_manifest_parse(data, len, &m, err);
    if (rc == 0) rc = check_blobs(s, &m, err);
    store_manifest_free(&m);
    char path[PATH_MAX];
    if (rc == 0) rc = store_manifest_path(s, n, path, sizeof path, err);
    if (rc != 0) return rc;
    char *dir = oc_strndup(path, (size_t)(strrchr(path, '/') - path));
    rc = store_mkdirs(dir, err);
    free(dir);
    return rc == 0 ? write_atomic(path, data, len, err) : rc;
}

int store_manifest_write_raw(store *s, const store_name *n, const void *data, size_t len, oc_error *err) {
    store_lock();
    int rc = store_manifest_write_locked(s, n, data, len, err);
    store_unlock();
    return rc;
}

int store_manifest_write(store *s, const store_name *n, const store_layer *config, const store_layer *layers,
                         size_t n_layers, oc_error *err) {
    store_manifest m = {.schema_version = 2, .media_type = STORE_MT_MANIFEST, .config = *config,
                        .layers = (store_layer *)layers, .n_layers = n_layers};
    size_t len;
    char *data = store_manifest_encode(&m, &len);
    int rc = store_manifest_write_raw(s, n, data, len, err);
    free(data);
    return rc;
}

int store_copy(store *s, const store_name *src_in, const store_name *dst_in, oc_error *err) {
    store_name src = *src_in, dst = *dst_in;
    char srcs[STORE_NAME_BUF], sp[PATH_MAX], dp[PATH_MAX];
    store_name_string(&src, srcs, sizeof srcs);
    if (!store_name_valid(&src) || !store_name_valid(&dst)) {
        oc_fail(err, "%s \"%s\" is invalid", store_name_valid(&src) ? "destination" : "source", srcs);
        return STORE_ERR_INVALID;
    }
    store_name_fold_existing(s, &src);
    store_name_fold_existing(s, &dst);
    store_manifest_path(s, &src, sp, sizeof sp, NULL);
    store_manifest_path(s, &dst, dp, sizeof dp, NULL);
    if (strcmp(sp, dp) == 0) return 0;
    store_lock();
    size_t len;
    char *data = NULL;
    int rc = store_manifest_read_raw(s, &src, &data, &len, err);
    if (rc == STORE_ERR_NOT_FOUND) {
        store_name_display(&src, srcs, sizeof srcs);
        oc_fail(err, "model \"%s\" not found", srcs);
    }
    if (rc == 0) rc = store_manifest_write_locked(s, &dst, data, len, err);
    store_unlock();
    free(data);
    return rc;
}

/* A manifest that no longer parses is still removed (upstream refuses,
 * leaving no way to clear it but by hand); it frees no blobs. */
static int delete_corrupt(store *s, const char *path, oc_error *err) {
    if (unlink(path) != 0) return oc_fail(err, "remove %s: %s", path, strerror(errno));
    char *dir = store_manifests_dir(s, false, NULL);
    store_prune_dirs(dir);
    free(dir);
    return 0;
}

int store_delete(store *s, const store_name *in, oc_error *err) {
    store_name n = *in;
    char path[PATH_MAX];
    if (!store_name_valid(&n)) {
        char str[STORE_NAME_BUF];
        store_name_string(&n, str, sizeof str);
        oc_fail(err, "name \"%s\" is invalid", str);
        return STORE_ERR_INVALID;
    }
    store_name_fold_existing(s, &n);
    store_manifest_path(s, &n, path, sizeof path, NULL);
    store_lock();
    store_manifest m;
    int rc = store_manifest_read(s, &n, &m, err);
    if (rc == STORE_ERR_INVALID) rc = delete_corrupt(s, path, err);
    else if (rc == 0 && unlink(path) != 0) rc = oc_fail(err, "remove %s: %s", path, strerror(errno));
    else if (rc == 0) {
        char *dir = store_manifests_dir(s, false, NULL);
        store_prune_dirs(dir);
        free(dir);
        size_t nd = 0;
        char **d = oc_malloc((m.n_layers + 1) * sizeof *d);
        d[nd++] = m.config.digest;
        for (size_t i = 0; i < m.n_layers; i++) d[nd++] = m.layers[i].digest;
        store_delete_unreferenced(s, d, nd);
        free(d);
    }
    store_unlock();
    store_manifest_free(&m);
    return rc;
}

/* fixBlobs: an old store may name blobs sha256:<hex>. */
static void fix_blob_names(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "sha256:", 7) != 0) continue;
        char *from = store_join(dir, de->d_name), *to = store_join(dir, de->d_name);
        to[strlen(dir) + 1 + 6] = '-';
        if (rename(from, to) != 0) oc_log(OC_LOG_WARN, "rename %s: %s", from, strerror(errno));
        free(from);
        free(to);
    }
    closedir(d);
}

/* One blob file during prune: stale non-digest files are deleted at once,
 * stale digests are collected for the reference check. */
static void prune_candidate(const char *dir, const char *name, time_t now, char ***cand, size_t *n) {
    char *path = store_join(dir, name);
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISDIR(st.st_mode) || now - st.st_mtim.tv_sec < PRUNE_GRACE_SEC) {
        free(path);
        return;
    }
    char *digest = oc_strdup(name);
    for (char *p = digest; *p; p++) /* upstream maps every '-' to ':' */
        if (*p == '-') *p = ':';
    if (!store_digest_valid(digest)) {
        if (unlink(path) != 0) oc_log(OC_LOG_ERROR, "couldn't remove blob %s: %s", name, strerror(errno));
    } else {
        *cand = oc_realloc(*cand, (*n + 1) * sizeof **cand);
        (*cand)[(*n)++] = oc_strdup(digest);
    }
    free(digest);
    free(path);
}

/* Stale hidden temp files a crashed manifest write left behind. */
static void prune_manifest_temps(const char *path, time_t now, int depth) {
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *sub = store_join(path, de->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) && depth < 3) prune_manifest_temps(sub, now, depth + 1);
        else if (depth == 3 && !strncmp(de->d_name, ".tmp-", 5) && now - st.st_mtim.tv_sec >= PRUNE_GRACE_SEC)
            unlink(sub);
        free(sub);
    }
    closedir(d);
}

static void prune_locked(store *s) {
    char *blobs = store_blobs_dir(s, false, NULL), *manifests = store_manifests_dir(s, false, NULL);
    time_t now = time(NULL);
    char **cand = NULL;
    size_t n = 0;
    DIR *d = opendir(blobs);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) prune_candidate(blobs, de->d_name, now, &cand, &n);
    if (d) closedir(d);
    oc_log(OC_LOG_INFO, "total blobs: %zu", n);
    store_delete_unreferenced(s, cand, n);
    store_strv_free(cand, n);
    prune_manifest_temps(manifests, now, 0);
    store_prune_dirs(manifests);
    free(blobs);
    free(manifests);
}

int store_prune(store *s, oc_error *err) {
    char *blobs = store_blobs_dir(s, false, err);
    fix_blob_names(blobs);
    free(blobs);
    if (store_env_bool("OLLAMA_NOPRUNE")) return 0;
    store_lock();
    store_entry *e;
    size_t n;
    oc_error serr;
    if (store_scan(s, true, &e, &n, &serr) != 0) {
        oc_log(OC_LOG_WARN, "corrupt manifests detected, skipping prune operation.  Re-pull or delete to clear error=%s",
               serr.msg);
    } else {
        store_list_free(e, n);
        prune_locked(s);
    }
    store_unlock();
    return 0;
}

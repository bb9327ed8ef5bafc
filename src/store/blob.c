/* Content-addressed blobs. A blob is only ever created by renaming a temp
 * file that was fully written, synced and hashed, so no reader can see a
 * partial blob and a blob's name is always the sha256 of its bytes. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_internal.h"

bool store_digest_valid(const char *d) {
    if (!d || strncmp(d, "sha256", 6) != 0 || (d[6] != ':' && d[6] != '-')) return false;
    for (int i = 0; i < 64; i++) {
        char c = d[7 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    }
    return d[71] == 0;
}

void store_digest_norm(const char *d, char out[STORE_DIGEST_SIZE]) {
    /* Only the separator is normalised: upstream compares digests as
     * strings, and the hex case is part of the blob's file name. */
    memcpy(out, d, STORE_DIGEST_SIZE - 1);
    out[6] = ':';
    out[STORE_DIGEST_SIZE - 1] = 0;
}

int store_blob_path(const store *s, const char *digest, char *buf, size_t size, oc_error *err) {
    if (!store_digest_valid(digest)) {
        oc_fail(err, "invalid digest format");
        return STORE_ERR_INVALID;
    }
    /* The hex keeps its case: upstream only maps ':' to '-'. */
    int n = snprintf(buf, size, "%s/blobs/sha256-%s", s->root, digest + 7);
    if (n < 0 || (size_t)n >= size) return oc_fail(err, "blob path too long");
    return 0;
}

bool store_blob_exists(const store *s, const char *digest) {
    char path[PATH_MAX];
    struct stat st;
    return store_blob_path(s, digest, path, sizeof path, NULL) == 0 && stat(path, &st) == 0 &&
           S_ISREG(st.st_mode);
}

struct store_blob_writer {
    const store *s;
    char *tmp;
    int fd;
    EVP_MD_CTX *md;
    int64_t size;
    bool gone; /* the temp name was renamed or unlinked already */
};

store_blob_writer *store_blob_writer_new(store *s, oc_error *err) {
    char *dir = store_blobs_dir(s, true, err);
    if (!dir) return NULL;
    /* "sha256-XXXXXX" is not a digest, so start-up prune removes it if a
     * crash leaves it behind. */
    char *tmp = store_join(dir, "sha256-XXXXXX");
    free(dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        oc_fail(err, "create temp file in %s: %s", s->root, strerror(errno));
        free(tmp);
        return NULL;
    }
    store_blob_writer *w = oc_calloc(1, sizeof *w);
    w->s = s;
    w->tmp = tmp;
    w->fd = fd;
    w->md = EVP_MD_CTX_new();
    if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
        oc_fail(err, "sha256 init failed");
        store_blob_writer_abort(w);
        return NULL;
    }
    return w;
}

int store_blob_writer_write(store_blob_writer *w, const void *data, size_t len, oc_error *err) {
    EVP_DigestUpdate(w->md, data, len);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return oc_fail(err, "write %s: %s", w->tmp, n < 0 ? strerror(errno) : "short write");
        p += n;
        len -= (size_t)n;
        w->size += n;
    }
    return 0;
}

void store_blob_writer_abort(store_blob_writer *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (!w->gone) unlink(w->tmp);
    free(w->tmp);
    EVP_MD_CTX_free(w->md);
    free(w);
}

static void finish_digest(store_blob_writer *w, char out[STORE_DIGEST_SIZE]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(w->md, md, &mdlen);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[71] = 0;
}

/* Moves the synced temp file to its digest name, unless that blob exists. */
static int publish(store_blob_writer *w, const char *digest, bool *created, oc_error *err) {
    char path[PATH_MAX];
    if (store_blob_path(w->s, digest, path, sizeof path, err) != 0) return -1;
    struct stat st;
    if (stat(path, &st) == 0) {
        store_touch(path);
        unlink(w->tmp);
        w->gone = true;
        if (created) *created = false;
        return 0;
    }
    if (rename(w->tmp, path) != 0) return oc_fail(err, "rename %s: %s", path, strerror(errno));
    w->gone = true;
    if (created) *created = true;
    return 0;
}

int store_blob_writer_commit(store_blob_writer *w, const char *expect, char digest[STORE_DIGEST_SIZE],
                             int64_t *size, bool *created, oc_error *err) {
    char got[STORE_DIGEST_SIZE];
    int rc = 0;
    if (fchmod(w->fd, 0644) != 0 || fsync(w->fd) != 0) rc = oc_fail(err, "sync %s: %s", w->tmp, strerror(errno));
    if (close(w->fd) != 0 && rc == 0) rc = oc_fail(err, "close %s: %s", w->tmp, strerror(errno));
    w->fd = -1;
    finish_digest(w, got);
    if (rc == 0 && expect && strcmp(expect, got) != 0) {
        /* Upstream compares the strings as given. */
        oc_fail(err, "digest mismatch, expected \"%s\", got \"%s\"", expect, got);
        rc = STORE_ERR_INVALID;
    }
    if (rc == 0) rc = publish(w, got, created, err);
    if (rc == 0) {
        if (digest) memcpy(digest, got, STORE_DIGEST_SIZE);
        if (size) *size = w->size;
    }
    store_blob_writer_abort(w); /* frees, and removes the temp file unless published */
    return rc;
}

int store_blob_write(store *s, const void *data, size_t len, const char *expect,
                     char digest[STORE_DIGEST_SIZE], bool *created, oc_error *err) {
    store_blob_writer *w = store_blob_writer_new(s, err);
    if (!w) return -1;
    if (store_blob_writer_write(w, data, len, err) != 0) {
        store_blob_writer_abort(w);
        return -1;
    }
    return store_blob_writer_commit(w, expect, digest, NULL, created, err);
}

int store_blob_write_fd(store *s, int fd, const char *expect, char digest[STORE_DIGEST_SIZE],
                        int64_t *size, bool *created, oc_error *err) {
    store_blob_writer *w = store_blob_writer_new(s, err);
    if (!w) return -1;
    char *buf = oc_malloc(1 << 20);
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = oc_fail(err, "read: %s", strerror(errno));
        if (n <= 0) break;
        if ((rc = store_blob_writer_write(w, buf, (size_t)n, err)) != 0) break;
    }
    free(buf);
    if (rc != 0) {
        store_blob_writer_abort(w);
        return rc;
    }
    return store_blob_writer_commit(w, expect, digest, size, created, err);
}

/* sha256 of a whole file, as "sha256:<hex>". */
static int hash_fd(int fd, char out[STORE_DIGEST_SIZE], oc_error *err) {
    store_blob_writer w = {.fd = -1, .md = EVP_MD_CTX_new()};
    if (!w.md || EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(w.md);
        return oc_fail(err, "sha256 init failed");
    }
    char *buf = oc_malloc(1 << 20);
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = oc_fail(err, "read: %s", strerror(errno));
        if (n <= 0) break;
        EVP_DigestUpdate(w.md, buf, (size_t)n);
    }
    free(buf);
    if (rc == 0) finish_digest(&w, out);
    EVP_MD_CTX_free(w.md);
    return rc;
}

int store_blob_import_file(store *s, const char *path, char digest[STORE_DIGEST_SIZE], int64_t *size,
                           bool *created, oc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return oc_fail(err, "open %s: %s", path, strerror(errno));
    char d[STORE_DIGEST_SIZE];
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? hash_fd(fd, d, err) : oc_fail(err, "stat %s: %s", path, strerror(errno));
    bool fresh = false;
    if (rc == 0 && store_blob_exists(s, d)) {
        char bp[PATH_MAX];
        if (store_blob_path(s, d, bp, sizeof bp, NULL) == 0) store_touch(bp);
    } else if (rc == 0) {
        /* The expected digest catches a file that changed while copied. */
        if (lseek(fd, 0, SEEK_SET) != 0) rc = oc_fail(err, "seek %s: %s", path, strerror(errno));
        else rc = store_blob_write_fd(s, fd, d, NULL, NULL, &fresh, err);
    }
    close(fd);
    if (rc == 0) {
        memcpy(digest, d, STORE_DIGEST_SIZE);
        if (size) *size = (int64_t)st.st_size;
        if (created) *created = fresh;
    }
    return rc;
}

/* registry: one blob's download (registry.md §4): part state files beside
 * blobs/sha256-<hex>-partial so an interrupted pull resumes, the direct URL
 * (a CDN redirect, or the registry itself), parts fetched in parallel with
 * Range requests, retries with back-off, stall detection; then the sha256
 * check before the blob is published by rename. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/registry_internal.h"

#define MAX_STREAMS 16
#define STALL_SECONDS 30L
#define STATE_EVERY_NS 250000000ULL
#define PATH_BUF 4200
#define MAX_BLOB ((int64_t)1 << 44) /* 16 TiB */

typedef struct dl {
    reg_client *c;
    const reg_blob *b;
    char partial[PATH_BUF];
    int fd;
    registry_part *parts;
    size_t n;
    int64_t total;          /* the blob's size: the registry's Content-Length, or the parts' sum */
    char *direct;
    bool direct_auth;
    atomic_llong done;      /* bytes on disk over all parts, for progress */
    atomic_size_t next;     /* next part a worker takes */
    atomic_bool stop;       /* a part failed for good: the others end too */
    atomic_size_t finished; /* workers that have returned */
    pthread_mutex_t mu;
    oc_error err;           /* the first failure, under mu */
    bool failed;
} dl;

static void state_path(const dl *d, int n, char *buf, size_t size) { snprintf(buf, size, "%s-%d", d->partial, n); }

static void save_state(const dl *d, const registry_part *p) {
    char path[PATH_BUF + 16];
    state_path(d, p->n, path, sizeof path);
    char *j = registry_part_encode(p);
    if (oc_write_file_atomic(path, j, strlen(j), NULL)) oc_log(OC_LOG_WARN, "registry: cannot save %s", path);
    free(j);
}

static void remove_states(const dl *d) {
    char path[PATH_BUF + 16];
    for (int i = 0;; i++) {
        state_path(d, i, path, sizeof path);
        if (unlink(path) != 0) break;
    }
}

/* Existing parts when they are whole and consistent with the blob size. */
static bool load_states(dl *d) {
    char path[PATH_BUF + 16];
    int64_t next = 0;
    for (int i = 0;; i++) {
        state_path(d, i, path, sizeof path);
        size_t len;
        char *data = oc_read_file(path, &len, NULL);
        if (!data) break;
        registry_part p;
        bool ok = registry_part_parse(data, len, &p) == 0 && p.n == i && p.offset == next;
        free(data);
        if (!ok) return false;
        d->parts = oc_realloc(d->parts, (d->n + 1) * sizeof *d->parts);
        d->parts[d->n++] = p;
        next = p.offset + p.size;
    }
    d->total = next;
    return d->n > 0;
}

/* Upstream sizes a fresh download by the registry's HEAD answer. */
static int head_size(dl *d, oc_error *err) {
    oc_buf url = {0};
    oc_buf_printf(&url, "%s/v2/%s/blobs/%s", d->c->base, d->c->repo, d->b->digest);
    reg_resp r = {0};
    int rc = reg_request(d->c, "HEAD", url.data, NULL, NULL, &r, err);
    d->total = r.content_length >= 0 ? r.content_length : d->b->size;
    reg_resp_free(&r);
    oc_buf_free(&url);
    return rc;
}

/* mkdir -p of the folder holding path (a fresh store has no blobs/ yet). */
static void make_parent(const char *path) {
    char dir[PATH_BUF];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return;
    *slash = 0;
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    mkdir(dir, 0755);
}

static int prepare(dl *d, oc_error *err) {
    make_parent(d->partial);
    if (load_states(d)) {
        for (size_t i = 0; i < d->n; i++) d->done += d->parts[i].completed;
        oc_log(OC_LOG_INFO, "registry: resuming %s at %lld of %lld bytes", d->b->digest, (long long)d->done,
               (long long)d->total);
    } else {
        free(d->parts);
        d->parts = NULL, d->n = 0;
        remove_states(d);
        if (head_size(d, err)) return -1;
        if (d->total < 0 || d->total > MAX_BLOB) /* a part table that size would not fit in memory */
            return oc_fail(err, "blob %s: size %lld out of range", d->b->digest, (long long)d->total);
        d->n = registry_split(d->total, &d->parts);
        for (size_t i = 0; i < d->n; i++) save_state(d, &d->parts[i]);
    }
    d->fd = open(d->partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d->fd < 0) return oc_fail(err, "open %s: %s", d->partial, strerror(errno));
    if (ftruncate(d->fd, d->total) != 0) return oc_fail(err, "truncate %s: %s", d->partial, strerror(errno));
    return 0;
}

static bool same_host(const char *a, const char *b) {
    CURLU *ua = curl_url(), *ub = curl_url();
    char *ha = NULL, *hb = NULL;
    bool same = curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK && curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK &&
                curl_url_get(ua, CURLUPART_HOST, &ha, 0) == CURLUE_OK && curl_url_get(ub, CURLUPART_HOST, &hb, 0) == CURLUE_OK &&
                strcasecmp(ha, hb) == 0;
    curl_free(ha), curl_free(hb);
    curl_url_cleanup(ua), curl_url_cleanup(ub);
    return same;
}

/* One try at the direct URL: 1 = follow *url on, 0 = found, -1 = error. */
static int direct_step(dl *d, char **url, bool *tried_auth, oc_error *err) {
    reg_resp r = {.stop_at_body = true};
    int rc = reg_exchange(d->c, "GET", *url, NULL, NULL, same_host(*url, d->c->base), false, &r, err);
    if (!rc && r.status == 401 && !*tried_auth) {
        registry_challenge ch;
        registry_parse_challenge(r.www_auth ? r.www_auth : "", &ch);
        *tried_auth = true;
        rc = reg_fetch_token(d->c, *url, &ch, err);
        reg_resp_free(&r);
        return rc ? -1 : 1;
    }
    if (!rc && r.status >= 300 && r.status < 400 && r.location) {
        char *loc = reg_resolve(d->c, *url, r.location);
        bool same = same_host(loc, *url);
        free(*url);
        *url = loc;
        rc = same ? 1 : 0;
        d->direct_auth = false;
    } else if (!rc && r.status == 200) {
        d->direct_auth = same_host(*url, d->c->base); /* a stock registry serves the blob itself */
    } else if (!rc && r.status == 404) {
        rc = oc_fail(err, "file does not exist");
    } else if (!rc) {
        rc = oc_fail(err, "unexpected status code %ld", r.status);
    }
    reg_resp_free(&r);
    return rc;
}

/* registry.md §4 step 5: redirects on the registry's host are followed,
 * the first one elsewhere is the direct URL; transient failures retried. */
static int resolve_direct(dl *d, oc_error *err) {
    oc_buf b = {0};
    oc_buf_printf(&b, "%s/v2/%s/blobs/%s", d->c->base, d->c->repo, d->b->digest);
    char *url = b.data;
    uint64_t t0 = oc_now_ns();
    int rc = -1;
    for (int tries = 0; rc != 0; tries++) {
        bool tried_auth = false;
        int hops = 0;
        while ((rc = direct_step(d, &url, &tried_auth, err)) == 1 && ++hops <= 10) {}
        if (rc == 1) rc = oc_fail(err, "maximum redirects exceeded (10) for directURL");
        if (rc == 0 || reg_cancelled(d->c) || strcmp(err->msg, "file does not exist") == 0) break;
        int64_t ms = (int64_t)tries * tries * 10;
        if (ms > 10000) ms = 10000;
        if (oc_now_ns() - t0 > 30000000000ULL || !reg_sleep(d->c, ms)) break;
    }
    if (rc == 0) d->direct = url;
    else free(url);
    if (rc && reg_cancelled(d->c)) oc_fail(err, "context canceled");
    return rc;
}

/* ---- parts ---- */

typedef struct attempt {
    dl *d;
    registry_part *p;
    CURL *h;
    int64_t want_start;  /* the first byte asked for */
    bool checked;        /* status and Content-Range looked at */
    int io_errno;        /* a failed write: ENOSPC stops at once */
    char bad[128];       /* why the answer was refused */
    uint64_t last_save;
} attempt;

/* The answer must be 206 for our range, or 200 when we asked for all of it. */
static bool check_answer(attempt *a) {
    long status = 0;
    curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status);
    bool whole = a->want_start == 0 && a->p->size == a->d->total;
    if (status == 206 || (status == 200 && whole)) return true;
    snprintf(a->bad, sizeof a->bad, "unexpected status code %ld", status);
    return false;
}

static size_t part_header(char *p, size_t sz, size_t n, void *ud) {
    attempt *a = ud;
    size_t len = sz * n;
    if (len > 14 && strncasecmp(p, "Content-Range:", 14) == 0) {
        const char *v = p + 14;
        while (*v == ' ') v++;
        long long start = -1;
        if (sscanf(v, "bytes %lld-", &start) != 1 || start != a->want_start)
            snprintf(a->bad, sizeof a->bad, "unexpected Content-Range %.60s", v);
    }
    return len;
}

static size_t part_write(char *buf, size_t sz, size_t n, void *ud) {
    attempt *a = ud;
    registry_part *p = a->p;
    if (!a->checked) {
        a->checked = true;
        if (a->bad[0] || !check_answer(a)) return 0;
    }
    size_t len = sz * n, left = (size_t)(p->size - p->completed), take = len < left ? len : left;
    for (size_t off = 0; off < take;) {
        ssize_t w = pwrite(a->d->fd, buf + off, take - off, (off_t)(p->offset + p->completed));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            a->io_errno = w < 0 ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
        p->completed += w;
        a->d->done += w;
    }
    uint64_t now = oc_now_ns();
    if (now - a->last_save > STATE_EVERY_NS) { /* so even a killed process resumes */
        save_state(a->d, p);
        a->last_save = now;
    }
    return take == len ? len : 0; /* more than the part: stop there */
}

/* One GET of the rest of a part: 0 done, 1 stalled, -1 failed (err). */
static int part_attempt(dl *d, registry_part *p, oc_error *err) {
    attempt a = {.d = d, .p = p, .want_start = p->offset + p->completed, .last_save = oc_now_ns()};
    a.h = reg_easy(d->c);
    if (!a.h) return oc_fail(err, "curl: cannot create a handle");
    char range[96];
    snprintf(range, sizeof range, "Range: bytes=%lld-%lld", (long long)a.want_start, (long long)(p->offset + p->size - 1));
    struct curl_slist *hl = curl_slist_append(NULL, range);
    oc_buf auth = {0};
    if (d->direct_auth && d->c->token) {
        oc_buf_printf(&auth, "Authorization: Bearer %s", d->c->token);
        hl = curl_slist_append(hl, auth.data);
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(a.h, CURLOPT_URL, d->direct);
    curl_easy_setopt(a.h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(a.h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(a.h, CURLOPT_WRITEFUNCTION, part_write);
    curl_easy_setopt(a.h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(a.h, CURLOPT_HEADERFUNCTION, part_header);
    curl_easy_setopt(a.h, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(a.h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(a.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(a.h, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
    CURLcode rc = curl_easy_perform(a.h);
    if (rc == CURLE_OK && !a.checked && p->completed < p->size && !check_answer(&a)) rc = CURLE_WRITE_ERROR;
    save_state(d, p);
    int ret = 0;
    if (p->completed >= p->size) ret = 0;
    else if (rc == CURLE_OPERATION_TIMEDOUT) ret = 1;
    else if (a.io_errno) ret = oc_fail(err, "write %s: %s", d->partial, strerror(a.io_errno));
    else if (a.bad[0]) ret = oc_fail(err, "%s", a.bad);
    else if (rc == CURLE_ABORTED_BY_CALLBACK) ret = oc_fail(err, "context canceled");
    else if (rc != CURLE_OK) ret = oc_fail(err, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
    else ret = oc_fail(err, "unexpected EOF");
    curl_slist_free_all(hl);
    oc_buf_free(&auth);
    curl_easy_cleanup(a.h);
    if (ret < 0 && a.io_errno == ENOSPC) return -2;
    return ret;
}

/* A part with upstream's retry rule: 6 tries, 2^try s apart; stalls retry
 * without counting; disk full and cancellation stop at once. */
static int download_part(dl *d, registry_part *p, oc_error *err) {
    for (int try = 0; try < REG_MAX_RETRIES;) {
        if (d->stop || reg_cancelled(d->c)) return oc_fail(err, "context canceled");
        int rc = part_attempt(d, p, err);
        if (rc == 0) return 0;
        if (rc == -2 || reg_cancelled(d->c)) return -1;
        if (rc == 1) {
            oc_log(OC_LOG_INFO, "registry: %s part %d stalled; retrying. If this persists, press ctrl-c to exit, then 'ollama pull' to find a faster connection.", d->b->digest, p->n);
            continue;
        }
        oc_log(OC_LOG_INFO, "registry: %s part %d attempt %d failed: %s, retrying", d->b->digest, p->n, try + 1, err->msg);
        if (!reg_sleep(d->c, 1000LL << try)) return oc_fail(err, "context canceled");
        try++;
    }
    oc_error_prefix(err, "max retries exceeded");
    return -1;
}

static void *worker(void *arg) {
    dl *d = arg;
    for (size_t i; !d->stop && (i = atomic_fetch_add(&d->next, 1)) < d->n;) {
        registry_part *p = &d->parts[i];
        if (p->completed >= p->size) continue;
        oc_error e;
        if (download_part(d, p, &e) != 0) {
            pthread_mutex_lock(&d->mu);
            if (!d->failed) d->failed = true, d->err = e;
            pthread_mutex_unlock(&d->mu);
            d->stop = true;
        }
    }
    atomic_fetch_add(&d->finished, 1);
    return NULL;
}

static void report(const dl *d) {
    const registry_opts *o = d->c->o;
    if (!o->progress) return;
    const char *hex = strchr(d->b->digest, ':') ? strchr(d->b->digest, ':') + 1 : d->b->digest;
    char status[32];
    snprintf(status, sizeof status, "pulling %.12s", hex);
    o->progress(o->ud, status, d->b->digest, d->total ? d->total : d->b->size, d->done);
}

/* Runs the workers while reporting progress every 60 ms. */
static int run_parts(dl *d, oc_error *err) {
    size_t nt = d->n < MAX_STREAMS ? d->n : MAX_STREAMS;
    pthread_t th[MAX_STREAMS];
    size_t started = 0;
    for (; started < nt; started++)
        if (pthread_create(&th[started], NULL, worker, d) != 0) break;
    if (!started) return oc_fail(err, "cannot start download threads");
    for (;;) {
        report(d);
        if (atomic_load(&d->finished) == started) break;
        struct timespec ts = {0, 60 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    report(d);
    if (d->failed) *err = d->err;
    return d->failed ? -1 : 0;
}

int reg_download(reg_client *c, store *s, const reg_blob *b, oc_error *err) {
    dl d = {.c = c, .b = b, .fd = -1};
    pthread_mutex_init(&d.mu, NULL);
    char path[PATH_BUF - 64];
    int rc = store_blob_path(s, b->digest, path, sizeof path, err);
    if (!rc) {
        snprintf(d.partial, sizeof d.partial, "%s-partial", path);
        rc = prepare(&d, err);
    }
    report(&d);
    bool pending = false;
    for (size_t i = 0; i < d.n; i++) pending |= d.parts[i].completed < d.parts[i].size;
    if (!rc && pending) rc = resolve_direct(&d, err);
    if (!rc && pending) rc = run_parts(&d, err);
    if (d.fd >= 0 && close(d.fd) != 0 && !rc) rc = oc_fail(err, "close %s: %s", d.partial, strerror(errno));
    free(d.parts);
    free(d.direct);
    pthread_mutex_destroy(&d.mu);
    return rc;
}

int reg_partial_progress(store *s, const reg_blob *b, int64_t *total, int64_t *done) {
    char path[PATH_BUF - 64];
    if (store_blob_path(s, b->digest, path, sizeof path, NULL)) return -1;
    dl d = {.b = b};
    snprintf(d.partial, sizeof d.partial, "%s-partial", path);
    bool ok = load_states(&d);
    *total = d.total, *done = 0;
    for (size_t i = 0; i < d.n; i++) *done += d.parts[i].completed;
    free(d.parts);
    return ok ? 0 : -1;
}

/* ---- verification ---- */

int reg_hash_file(const char *path, char hex[65], oc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return oc_fail(err, "open %s: %s", path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    enum { CHUNK = 1 << 20 };
    char *buf = oc_malloc(CHUNK);
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) > 0) EVP_DigestUpdate(md, buf, (size_t)n);
    int rc = n < 0 ? oc_fail(err, "read %s: %s", path, strerror(errno)) : 0;
    unsigned char dg[32];
    EVP_DigestFinal_ex(md, dg, NULL);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    EVP_MD_CTX_free(md);
    free(buf);
    close(fd);
    return rc;
}

int reg_verify_publish(store *s, const reg_blob *b, oc_error *err) {
    char path[PATH_BUF - 64];
    if (store_blob_path(s, b->digest, path, sizeof path, err)) return -1;
    dl d = {.b = b};
    snprintf(d.partial, sizeof d.partial, "%s-partial", path);
    char hex[65];
    if (reg_hash_file(d.partial, hex, err)) return -1;
    const char *want = strchr(b->digest, ':') + 1;
    if (strcasecmp(hex, want) != 0) {
        unlink(d.partial);
        remove_states(&d);
        return oc_fail(err, "digest mismatch, file must be downloaded again: want %s, got sha256:%s", b->digest, hex);
    }
    if (rename(d.partial, path) != 0) return oc_fail(err, "rename %s: %s", d.partial, strerror(errno));
    remove_states(&d);
    return 0;
}

/* base: errors, logging, clock, allocation, string builder, files. */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int oc_fail(oc_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void oc_error_prefix(oc_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3, olen = strnlen(old, sizeof old - 1);
    if (olen > room) olen = room;
    memcpy(err->msg + n + 2, old, olen);
    err->msg[n + 2 + olen] = 0;
}

static int log_threshold(void) {
    static int level = -1;
    if (level < 0) {
        const char *d = getenv("OLLAMA_DEBUG");
        level = (d && *d && strcmp(d, "0") != 0 && strcmp(d, "false") != 0) ? OC_LOG_DEBUG : OC_LOG_INFO;
    }
    return level;
}

void oc_log(enum oc_log_level level, const char *fmt, ...) {
    if ((int)level < log_threshold()) return;
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "time=%s level=%s msg=\"%s\"\n", ts, names[level], msg);
}

uint64_t oc_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *check_alloc(void *p, size_t n) {
    if (!p && n) {
        fprintf(stderr, "out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *oc_malloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *oc_calloc(size_t n, size_t size) { return check_alloc(calloc(n ? n : 1, size ? size : 1), n * size); }
void *oc_realloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }
char *oc_strdup(const char *s) { return oc_strndup(s, strlen(s)); }

char *oc_strndup(const char *s, size_t n) {
    char *d = oc_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void *oc_aligned_alloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) check_alloc(NULL, n);
    return p;
}

void oc_aligned_free(void *p) { free(p); }

static void buf_reserve(oc_buf *b, size_t extra) {
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = oc_realloc(b->data, cap);
    b->cap = cap;
}

void oc_buf_append(oc_buf *b, const void *data, size_t n) {
    buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
}

void oc_buf_puts(oc_buf *b, const char *s) { oc_buf_append(b, s, strlen(s)); }

void oc_buf_printf(oc_buf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void oc_buf_clear(oc_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void oc_buf_free(oc_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *oc_read_file(const char *path, size_t *len, oc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        oc_fail(err, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    oc_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) oc_buf_append(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        oc_buf_free(&b);
        oc_fail(err, "read %s: I/O error", path);
        return NULL;
    }
    if (!b.data) oc_buf_append(&b, "", 0);
    if (len) *len = b.len;
    return b.data;
}

int oc_write_file_atomic(const char *path, const void *data, size_t len, oc_error *err) {
    size_t plen = strlen(path);
    char *tmp = oc_malloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        oc_fail(err, "create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            oc_fail(err, "write %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        oc_fail(err, "fsync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        oc_fail(err, "rename %s: %s", path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return 0;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

int oc_physical_cores(void) {
    /* Count distinct (physical id, core id) pairs; SMT siblings share one. */
    FILE *f = fopen("/proc/cpuinfo", "r");
    int online = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 1) online = 1;
    if (!f) return online;
    char line[256];
    int phys = 0, seen = 0;
    int keys[1024];
    int nkeys = 0;
    while (fgets(line, sizeof line, f)) {
        int v;
        if (sscanf(line, "physical id : %d", &v) == 1) phys = v;
        else if (sscanf(line, "core id : %d", &v) == 1) {
            int key = phys * 4096 + v;
            bool dup = false;
            for (int i = 0; i < nkeys; i++) dup |= keys[i] == key;
            if (!dup && nkeys < 1024) keys[nkeys++] = key;
            seen = 1;
        }
    }
    fclose(f);
    if (!seen || nkeys < 1 || nkeys > online) return online;
    return nkeys;
}

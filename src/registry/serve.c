/* registry: the server side — /api/pull and /api/push (progress as NDJSON
 * from a worker thread, or one object with stream:false) and the read
 * side of the distribution API: GET/HEAD /v2/, manifests and blobs (with
 * Range) of the models in the store, so another server can pull from us. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry/registry_internal.h"
#include "server/server.h"

/* ---- /api/pull and /api/push ---- */

/* Streamed jobs run on detached threads that use the store: shutdown
 * waits for them (registry_wait_idle) before the store is closed. */
static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cv = PTHREAD_COND_INITIALIZER;
static int jobs_active;

static void jobs_add(int d) {
    pthread_mutex_lock(&jobs_mu);
    jobs_active += d;
    pthread_cond_broadcast(&jobs_cv);
    pthread_mutex_unlock(&jobs_mu);
}

bool registry_wait_idle(int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&jobs_mu);
    while (jobs_active > 0 && pthread_cond_timedwait(&jobs_cv, &jobs_mu, &ts) == 0) {}
    bool idle = jobs_active == 0;
    pthread_mutex_unlock(&jobs_mu);
    return idle;
}

typedef struct job {
    store *st;
    char *name;
    bool push;
    registry_opts o;
    server_stream *w;       /* streaming */
    server_request *req;    /* stream:false: polled for a hang-up */
    json_t *last;
} job;

static void on_progress(void *ud, const char *status, const char *digest, int64_t total, int64_t completed) {
    job *j = ud;
    json_t *o = json_pack("{s:s}", "status", status);
    if (digest && *digest) json_object_set_new(o, "digest", json_string(digest));
    if (total) json_object_set_new(o, "total", json_integer(total));
    if (completed) json_object_set_new(o, "completed", json_integer(completed));
    if (j->w) {
        server_stream_write_json(j->w, o);
    } else {
        json_decref(j->last);
        j->last = o;
    }
}

static bool job_cancelled(void *ud) {
    job *j = ud;
    return j->w ? !server_stream_alive(j->w) : server_request_client_gone(j->req);
}

static int run_job(job *j, int *status, oc_error *err) {
    return j->push ? registry_push(j->st, j->name, &j->o, status, err) : registry_pull(j->st, j->name, &j->o, status, err);
}

static void job_free(job *j) {
    json_decref(j->last);
    free(j->name);
    free(j);
}

static void *stream_job(void *arg) {
    job *j = arg;
    int status;
    oc_error err;
    if (run_job(j, &status, &err)) {
        oc_log(OC_LOG_INFO, "registry: %s %s failed: %s", j->push ? "push" : "pull", j->name, err.msg);
        server_stream_error(j->w, status, err.msg);
    }
    server_stream_end(j->w);
    job_free(j);
    jobs_add(-1);
    return NULL;
}

static void handle_transfer(server_request *req, server_response *res, void *ctx, bool push) {
    json_t *body = server_request_json(req);
    const char *name = json_string_value(json_object_get(body, "model"));
    if (!name || !*name) name = json_string_value(json_object_get(body, "name"));
    if (!name || !*name) return server_respond_error(res, 400, push ? "model is required" : "invalid model name");
    store_name n;
    if (store_name_parse(name, &n, NULL)) return server_respond_error(res, 400, "invalid model name");
    job *j = oc_calloc(1, sizeof *j);
    *j = (job){.st = ctx, .name = oc_strdup(name), .push = push};
    j->o = (registry_opts){.insecure = json_is_true(json_object_get(body, "insecure")), .progress = on_progress,
                           .ud = j, .cancelled = job_cancelled, .cancel_ud = j};
    if (!json_is_false(json_object_get(body, "stream"))) {
        /* the worker writes while the connection thread sends */
        j->w = server_stream_begin(res, NULL);
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        jobs_add(1);
        if (pthread_create(&t, &a, stream_job, j) != 0) {
            server_stream_error(j->w, 500, "cannot start a worker thread");
            server_stream_end(j->w);
            job_free(j);
            jobs_add(-1);
        }
        pthread_attr_destroy(&a);
        return;
    }
    j->req = req;
    int status;
    oc_error err;
    if (run_job(j, &status, &err)) server_respond_error(res, status, "%s", err.msg);
    else server_respond_json(res, 200, json_incref(j->last));
    job_free(j);
}

static void handle_pull(server_request *req, server_response *res, void *ctx) { handle_transfer(req, res, ctx, false); }
static void handle_push(server_request *req, server_response *res, void *ctx) { handle_transfer(req, res, ctx, true); }

/* ---- the /v2 read side ---- */

static void v2_error(server_response *res, int status, const char *code, const char *msg) {
    json_t *e = json_pack("{s:[{s:s,s:s}]}", "errors", "code", code, "message", msg);
    server_response_header(res, "Docker-Distribution-API-Version", "registry/2.0");
    server_respond_json(res, status, e);
}

static void v2_base(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_response_header(res, "Docker-Distribution-API-Version", "registry/2.0");
    server_respond_data(res, 200, "application/json; charset=utf-8", "{}", 2);
}

/* A manifest under the default host, else under the host the client
 * addressed us by (a model pulled as 10.0.0.2:11434/ns/m:tag). */
static int find_manifest(store *st, server_request *req, char **data, size_t *len) {
    const char *ns = server_request_param(req, "ns"), *model = server_request_param(req, "model");
    const char *tag = server_request_param(req, "tag"), *host = server_request_header(req, "Host");
    const char *hosts[] = {STORE_DEFAULT_HOST, host};
    for (size_t i = 0; i < 2; i++) {
        if (!hosts[i]) continue;
        char full[STORE_NAME_BUF * 2];
        snprintf(full, sizeof full, "%s/%s/%s:%s", hosts[i], ns, model, tag);
        store_name n;
        if (store_name_parse(full, &n, NULL)) continue;
        store_name_fold_existing(st, &n);
        if (store_manifest_read_raw(st, &n, data, len, NULL) == 0) return 0;
    }
    return -1;
}

static void digest_of(const char *data, size_t len, char *out, size_t n) {
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_Digest(data, len, d, &dl, EVP_sha256(), NULL);
    int k = snprintf(out, n, "sha256:");
    for (int i = 0; i < 32 && (size_t)k + 2 < n; i++) k += snprintf(out + k, n - (size_t)k, "%02x", d[i]);
}

static void v2_manifest(server_request *req, server_response *res, void *ctx) {
    char *data = NULL;
    size_t len = 0;
    if (find_manifest(ctx, req, &data, &len)) return v2_error(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
    char digest[STORE_DIGEST_SIZE];
    digest_of(data, len, digest, sizeof digest);
    server_response_header(res, "Docker-Content-Digest", digest);
    server_response_header(res, "Docker-Distribution-API-Version", "registry/2.0");
    server_respond_data(res, 200, STORE_MT_MANIFEST, data, len);
    free(data);
}

static void v2_blob(server_request *req, server_response *res, void *ctx) {
    const char *digest = server_request_param(req, "digest");
    char path[4200];
    if (!digest || strncmp(digest, "sha256:", 7) || store_blob_path(ctx, digest, path, sizeof path, NULL))
        return v2_error(res, 400, "DIGEST_INVALID", "provided digest did not match uploaded content");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return v2_error(res, 404, "BLOB_UNKNOWN", "blob unknown to registry");
    }
    uint64_t size = (uint64_t)st.st_size, a = 0, b = size ? size - 1 : 0;
    int r = registry_parse_range(server_request_header(req, "Range"), size, &a, &b);
    char cr[96];
    server_response_header(res, "Accept-Ranges", "bytes");
    server_response_header(res, "Docker-Content-Digest", digest);
    if (r < 0) {
        close(fd);
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
        server_response_header(res, "Content-Range", cr);
        return v2_error(res, 416, "BLOB_UNKNOWN", "requested range not satisfiable");
    }
    if (r == 0) {
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)a, (unsigned long long)b,
                 (unsigned long long)size);
        server_response_header(res, "Content-Range", cr);
        return server_respond_file(res, 206, "application/octet-stream", fd, a, b - a + 1);
    }
    server_respond_file(res, 200, "application/octet-stream", fd, 0, size);
}

int registry_register(struct server *srv, store *st) {
    static const struct {
        const char *method, *pattern;
        server_handler h;
        unsigned flags;
    } routes[] = {
        {"POST", "/api/pull", handle_pull, SERVER_JSON_BODY},
        {"POST", "/api/push", handle_push, SERVER_JSON_BODY},
        {"GET", "/v2", v2_base, 0},
        {"HEAD", "/v2", v2_base, 0},
        {"GET", "/v2/:ns/:model/manifests/:tag", v2_manifest, 0},
        {"HEAD", "/v2/:ns/:model/manifests/:tag", v2_manifest, 0},
        {"GET", "/v2/:ns/:model/blobs/:digest", v2_blob, 0},
        {"HEAD", "/v2/:ns/:model/blobs/:digest", v2_blob, 0},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (server_route(srv, routes[i].method, routes[i].pattern, routes[i].h, st, routes[i].flags)) return -1;
    return 0;
}

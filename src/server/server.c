/* server: the daemon, the router and the request life cycle on
 * libmicrohttpd. MHD calls on_access once when the headers are in, once
 * per piece of body, and once more at the end; policy checks and routing
 * happen at the first call, handlers at the last (or the first, for
 * routes that stream their body). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "server/server_internal.h"

/* ---- routes ---- */

static void route_free(server_route_entry *r) {
    free(r->method);
    free(r->pattern);
    for (int i = 0; i < r->nseg; i++) free(r->segs[i]);
}

/* Splits "/api/blobs/:digest" into segments; -1 on a bad pattern. */
static int route_parse(server_route_entry *r, const char *pattern) {
    if (pattern[0] != '/') return -1;
    const char *p = pattern + 1;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || r->nseg == SERVER_MAX_SEGS || (p[0] == ':' && n == 1)) return -1;
        r->segs[r->nseg++] = oc_strndup(p, n);
        p += n + (end ? 1 : 0);
        if (end && !*p) return -1; /* a trailing slash */
    }
    return 0;
}

/* Whether path matches r; with vals, the ":name" segments are copied out. */
static bool route_match(const server_route_entry *r, const char *path, char **vals) {
    if (path[0] != '/') return false;
    const char *p = path + 1;
    if (r->nseg == 0) return *p == 0;
    for (int i = 0; i < r->nseg; i++) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *seg = r->segs[i];
        if (seg[0] == ':') {
            if (n == 0) return false;
            if (vals) vals[i] = oc_strndup(p, n);
        } else if (strlen(seg) != n || memcmp(seg, p, n) != 0) {
            return false;
        }
        p += n;
        if (i < r->nseg - 1) {
            if (*p != '/') return false;
            p++;
        }
    }
    return *p == 0;
}

static const server_route_entry *route_find(const server *s, const char *method, const char *path) {
    for (size_t i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].method, method) == 0 && route_match(&s->routes[i], path, NULL))
            return &s->routes[i];
    return NULL;
}

static void note_method(server *s, const char *method) {
    for (size_t i = 0; i < s->n_methods; i++)
        if (strcmp(s->methods[i], method) == 0) return;
    if (s->n_methods < sizeof s->methods / sizeof *s->methods) s->methods[s->n_methods++] = oc_strdup(method);
}

int server_route(server *s, const char *method, const char *pattern, server_handler h,
                 void *ctx, unsigned flags) {
    if (s->daemon || !h || !method || !*method || strlen(method) >= 16) return -1;
    server_route_entry r = {.handler = h, .ctx = ctx, .flags = flags};
    if (route_parse(&r, pattern) < 0) {
        route_free(&r);
        return -1;
    }
    r.method = oc_strdup(method);
    r.pattern = oc_strdup(pattern);
    for (size_t i = 0; i < s->n_routes; i++) {
        if (strcmp(s->routes[i].method, method) == 0 && strcmp(s->routes[i].pattern, pattern) == 0) {
            route_free(&s->routes[i]);
            s->routes[i] = r;
            return 0;
        }
    }
    s->routes = oc_realloc(s->routes, (s->n_routes + 1) * sizeof *s->routes);
    s->routes[s->n_routes++] = r;
    note_method(s, method);
    return 0;
}

/* ---- requests ---- */

const char *server_request_method(const server_request *req) { return req->method; }
const char *server_request_path(const server_request *req) { return req->path; }
json_t *server_request_json(const server_request *req) { return req->json; }
const char *server_request_remote(const server_request *req) { return req->remote; }

const char *server_request_param(const server_request *req, const char *name) {
    if (!req->route) return NULL;
    for (int i = 0; i < req->route->nseg; i++)
        if (req->route->segs[i][0] == ':' && strcmp(req->route->segs[i] + 1, name) == 0) return req->params[i];
    return NULL;
}

const char *server_request_header(const server_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *server_request_query(const server_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *server_request_body(const server_request *req, size_t *len) {
    if (len) *len = req->body.len;
    return req->body.len ? req->body.data : NULL;
}

bool server_request_client_gone(server_request *req) {
    return atomic_load(&req->srv->stopping) || server_fd_hung_up(req->fd);
}

static bool all_space(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
    return true;
}

int server_request_decode_json(const server_request *req, json_t **out, oc_error *err) {
    *out = NULL;
    if (all_space(req->body.data, req->body.len)) return oc_fail(err, "missing request body");
    json_error_t je;
    /* Only the first value counts, as with Go's json.Decoder. */
    json_t *v = json_loadb(req->body.data, req->body.len,
                           JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v) return oc_fail(err, "%s", je.text);
    if (json_is_null(v)) {
        json_decref(v);
        v = json_object(); /* null decodes into an empty request */
    }
    if (!json_is_object(v)) {
        const char *t = json_is_array(v) ? "array" : json_is_string(v) ? "string"
                      : json_is_boolean(v) ? "bool" : "number";
        json_decref(v);
        return oc_fail(err, "json: cannot unmarshal %s into Go value of type object", t);
    }
    *out = v;
    return 0;
}

void server_request_read_body(server_request *req, server_body_sink sink, server_body_done done,
                              void *ud) {
    if (req->sink || !req->route || !(req->route->flags & SERVER_STREAM_BODY)) return;
    req->sink = sink, req->done = done, req->sink_ud = ud;
}

/* ---- responses ---- */

static bool claim(server_response *res, int status) {
    if (res->set) {
        oc_log(OC_LOG_WARN, "%s %s: second response ignored", res->req->method, res->req->path);
        return false;
    }
    res->set = true;
    res->status = status;
    return true;
}

void server_respond_data(server_response *res, int status, const char *content_type,
                         const void *data, size_t len) {
    if (!claim(res, status)) return;
    if (content_type) res->content_type = oc_strdup(content_type);
    oc_buf_append(&res->body, data, len);
}

void server_respond_json(server_response *res, int status, json_t *body) {
    if (res->filter && !res->set) { /* a translation layer rewrites the answer */
        server_output o = {.kind = SERVER_OUTPUT_WHOLE, .status = status, .value = body};
        res->filter(res->filter_ud, &o);
        json_decref(body);
        server_respond_data(res, o.status, o.content_type ? o.content_type : SERVER_CT_JSON, o.out.data, o.out.len);
        oc_buf_free(&o.out);
        return;
    }
    oc_buf b = {0};
    server_json_encode(body, &b);
    json_decref(body);
    server_respond_data(res, status, SERVER_CT_JSON, b.data, b.len);
    oc_buf_free(&b);
}

void server_respond_error(server_response *res, int status, const char *fmt, ...) {
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    server_respond_json(res, status, server_error_object(msg));
}

void server_respond_empty(server_response *res, int status) { server_respond_data(res, status, NULL, "", 0); }

void server_respond_text(server_response *res, int status, const char *text) {
    server_respond_data(res, status, "text/plain; charset=utf-8", text, strlen(text));
}

void server_respond_file(server_response *res, int status, const char *content_type, int fd,
                         uint64_t offset, uint64_t len) {
    if (!claim(res, status)) {
        close(fd);
        return;
    }
    if (content_type) res->content_type = oc_strdup(content_type);
    res->file_fd = fd, res->file_off = offset, res->file_len = len;
}

void server_response_header(server_response *res, const char *name, const char *value) {
    oc_buf_append(&res->headers, name, strlen(name) + 1);
    oc_buf_append(&res->headers, value, strlen(value) + 1);
}

server_stream *server_stream_begin(server_response *res, const char *content_type) {
    if (!claim(res, 200)) return NULL;
    res->stream = server_stream_new(res->req->srv, res->req->fd, res->filter_ctype ? res->filter_ctype : content_type);
    if (res->filter) { /* the stream outlives the request: it owns the filter now */
        server_stream_set_filter(res->stream, res->filter, res->filter_ud, res->filter_free);
        res->filter = NULL, res->filter_ud = NULL, res->filter_free = NULL;
    }
    return res->stream;
}

/* ---- the request life cycle ---- */

static server_request *request_new(server *s, struct MHD_Connection *conn, const char *url,
                                   const char *method) {
    server_request *req = oc_calloc(1, sizeof *req);
    req->srv = s;
    req->conn = conn;
    req->res.req = req;
    req->res.file_fd = -1;
    req->t0 = oc_now_ns();
    snprintf(req->method, sizeof req->method, "%s", method);
    req->path = oc_strdup(url);
    const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    req->fd = fd ? fd->connect_fd : -1;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->remote, sizeof req->remote);
        else if (sa->sa_family == AF_INET6) {
            const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(a)) /* IPv4 on a dual-stack socket: as Go shows it */
                inet_ntop(AF_INET, &a->s6_addr[12], req->remote, sizeof req->remote);
            else
                inet_ntop(AF_INET6, a, req->remote, sizeof req->remote);
        }
    }
    return req;
}

static void request_free(server_request *req) {
    for (int i = 0; i < SERVER_MAX_SEGS; i++) free(req->params[i]);
    free(req->path);
    free(req->cors_origin);
    oc_buf_free(&req->body);
    json_decref(req->json);
    if (req->res.file_fd >= 0) close(req->res.file_fd);
    if (req->res.filter_free) req->res.filter_free(req->res.filter_ud);
    free(req->res.filter_ctype);
    free(req->res.content_type);
    oc_buf_free(&req->res.body);
    oc_buf_free(&req->res.headers);
    free(req);
}

static void add_headers(server_request *req, struct MHD_Response *r, const char *content_type) {
    if (content_type) MHD_add_response_header(r, "Content-Type", content_type);
    const oc_buf *h = &req->res.headers;
    for (size_t off = 0; off < h->len;) {
        const char *name = h->data + off, *value = name + strlen(name) + 1;
        MHD_add_response_header(r, name, value);
        off = (size_t)(value + strlen(value) + 1 - h->data);
    }
    if (req->cors_origin) MHD_add_response_header(r, "Access-Control-Allow-Origin", req->cors_origin);
    if (req->cors_vary) MHD_add_response_header(r, "Vary", "Origin");
}

static enum MHD_Result queue(server_request *req, int status, struct MHD_Response *r, const char *ctype) {
    if (!r) return MHD_NO;
    add_headers(req, r, ctype);
    req->answered = true;
    req->res.status = status;
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static struct MHD_Response *buffer_response(oc_buf *body) {
    if (!body->len) return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(body->len, body->data, free);
    if (r) *body = (oc_buf){0}; /* MHD owns the bytes now */
    return r;
}

/* A stream's headers go out with its first byte; an error before that
 * becomes an ordinary response with the error's status. */
static enum MHD_Result send_stream(server_request *req) {
    server_stream *w = req->res.stream;
    int status = 500;
    char *body = NULL;
    switch (server_stream_wait_first(w, &status, &body)) {
    case SERVER_STREAM_GONE: return MHD_NO;
    case SERVER_STREAM_DATA: return queue(req, 200, server_stream_response(w), server_stream_content_type(w));
    case SERVER_STREAM_FAILED: break;
    }
    oc_buf b = {0};
    oc_buf_puts(&b, body);
    free(body);
    /* upstream's exact type here: its stream had set one without charset */
    enum MHD_Result ret = queue(req, status, buffer_response(&b), "application/json");
    oc_buf_free(&b);
    return ret;
}

static enum MHD_Result send_response(server_request *req) {
    server_response *res = &req->res;
    if (res->stream) return send_stream(req);
    int status = res->set ? res->status : 200;
    if (res->file_fd >= 0) { /* MHD closes the fd with the response */
        struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(res->file_len, res->file_fd, res->file_off);
        if (r) res->file_fd = -1;
        return queue(req, status, r, res->content_type);
    }
    return queue(req, status, buffer_response(&res->body), res->content_type);
}

static enum MHD_Result answer_now(server_request *req, int status, const char *ctype, const char *text) {
    server_respond_data(&req->res, status, ctype, text, strlen(text));
    return send_response(req);
}

static const char cors_allow_headers[] =
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,"
    "X-Stainless-Arch,X-Stainless-Async,X-Stainless-Custom-Poll-Interval,"
    "X-Stainless-Helper-Method,X-Stainless-Lang,X-Stainless-Os,X-Stainless-Package-Version,"
    "X-Stainless-Poll-Helper,X-Stainless-Retry-Count,X-Stainless-Runtime,"
    "X-Stainless-Runtime-Version,X-Stainless-Timeout";

/* CORS, then the Host check (env.md §4-5). Returns MHD_YES to go on with
 * *done false, or the result of an answer already queued. */
static enum MHD_Result apply_policy(server_request *req, bool *done) {
    server *s = req->srv;
    const char *origin = server_request_header(req, "Origin");
    const char *host = server_request_header(req, "Host");
    *done = true;
    switch (server_cors_check(&s->cors, req->method, origin, host)) {
    case SERVER_CORS_FORBIDDEN: return answer_now(req, 403, NULL, "");
    case SERVER_CORS_PREFLIGHT:
        req->cors_origin = oc_strdup(s->cors.allow_all ? "*" : origin);
        server_response_header(&req->res, "Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS");
        server_response_header(&req->res, "Access-Control-Allow-Headers", cors_allow_headers);
        server_response_header(&req->res, "Access-Control-Max-Age", "43200");
        if (!s->cors.allow_all) {
            server_response_header(&req->res, "Vary", "Origin");
            server_response_header(&req->res, "Vary", "Access-Control-Request-Method");
            server_response_header(&req->res, "Vary", "Access-Control-Request-Headers");
        }
        return answer_now(req, 204, NULL, "");
    case SERVER_CORS_ALLOWED:
        req->cors_origin = oc_strdup(s->cors.allow_all ? "*" : origin);
        req->cors_vary = !s->cors.allow_all;
        break;
    case SERVER_CORS_NONE: break;
    }
    if (s->loopback) {
        enum server_host_verdict v = server_host_check(host);
        if (v == SERVER_HOST_FORBIDDEN) return answer_now(req, 403, NULL, "");
        if (v == SERVER_HOST_OK_NAME && strcmp(req->method, "OPTIONS") == 0) return answer_now(req, 204, NULL, "");
    }
    *done = false;
    return MHD_YES;
}

/* gin's trailing-slash redirect: 301 for GET (with Go's little HTML
 * body, the path escaped), 307 otherwise. */
static enum MHD_Result redirect(server_request *req, const char *to) {
    bool get = strcmp(req->method, "GET") == 0;
    server_response_header(&req->res, "Location", to);
    oc_buf body = {0};
    if (get) {
        oc_buf_puts(&body, "<a href=\"");
        for (const char *p = to; *p; p++) {
            const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                          : *p == '"' ? "&#34;" : *p == '\'' ? "&#39;" : NULL;
            if (e) oc_buf_puts(&body, e);
            else oc_buf_append(&body, p, 1);
        }
        oc_buf_puts(&body, "\">Moved Permanently</a>.\n\n");
    }
    bool html = get || strcmp(req->method, "HEAD") == 0;
    server_respond_data(&req->res, get ? 301 : 307, html ? "text/html; charset=utf-8" : NULL,
                        body.data ? body.data : "", body.len);
    oc_buf_free(&body);
    return send_response(req);
}

/* No route for method+path: a redirect to the path without its trailing
 * slash, else 405 with Allow (methods in registration order), else 404. */
static enum MHD_Result answer_unrouted(server_request *req) {
    server *s = req->srv;
    size_t n = strlen(req->path);
    if (n > 1 && req->path[n - 1] == '/') {
        char *bare = oc_strndup(req->path, n - 1);
        enum MHD_Result r = route_find(s, req->method, bare) ? redirect(req, bare) : MHD_YES;
        bool done = req->res.set;
        free(bare);
        if (done) return r;
    }
    char allow[256] = "";
    for (size_t i = 0; i < s->n_methods; i++) {
        if (strcmp(s->methods[i], req->method) == 0 || !route_find(s, s->methods[i], req->path)) continue;
        size_t len = strlen(allow);
        snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", s->methods[i]);
    }
    if (!*allow) return answer_now(req, 404, "text/plain", "404 page not found");
    server_response_header(&req->res, "Allow", allow);
    return answer_now(req, 405, "text/plain", "405 method not allowed");
}

static enum MHD_Result on_headers(server_request *req) {
    server *s = req->srv;
    bool done;
    enum MHD_Result r = apply_policy(req, &done);
    if (done) return r;
    req->route = route_find(s, req->method, req->path);
    if (!req->route) return answer_unrouted(req);
    route_match(req->route, req->path, req->params);
    unsigned flags = req->route->flags;
    if (!(flags & SERVER_STREAM_BODY)) {
        const char *cl = server_request_header(req, "Content-Length");
        /* Refused before a byte of it is read. */
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body) req->too_large = true;
        if (req->too_large) return answer_now(req, 413, SERVER_CT_JSON, "{\"error\":\"request body too large\"}");
        return MHD_YES;
    }
    req->route->handler(req, &req->res, req->route->ctx ? req->route->ctx : s->cfg.ctx);
    return req->res.set ? send_response(req) : MHD_YES;
}

static void on_body(server_request *req, const char *data, size_t n) {
    if (req->answered) return;
    if (req->route->flags & SERVER_STREAM_BODY) {
        if (req->sink && !req->sink_stopped && !req->sink(req->sink_ud, data, n)) req->sink_stopped = true;
        return; /* without a sink the body is dropped */
    }
    req->received += n;
    if (req->too_large || req->received > req->srv->cfg.max_body) { /* chunked, over the limit */
        req->too_large = true;
        oc_buf_free(&req->body);
        return;
    }
    oc_buf_append(&req->body, data, n);
}

static enum MHD_Result on_complete(server_request *req) {
    const server_route_entry *r = req->route;
    void *ctx = r->ctx ? r->ctx : req->srv->cfg.ctx;
    if (r->flags & SERVER_STREAM_BODY) {
        if (req->sink && !req->sink_finished) {
            req->sink_finished = true;
            req->done(req, &req->res, req->sink_ud, req->sink_stopped ? SERVER_BODY_STOPPED : SERVER_BODY_COMPLETE);
        }
        return send_response(req);
    }
    if (req->too_large) return answer_now(req, 413, SERVER_CT_JSON, "{\"error\":\"request body too large\"}");
    if (r->flags & SERVER_JSON_BODY) {
        oc_error err;
        if (server_request_decode_json(req, &req->json, &err) < 0) {
            server_respond_error(&req->res, 400, "%s", err.msg);
            return send_response(req);
        }
    }
    r->handler(req, &req->res, ctx);
    return send_response(req);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **req_cls) {
    (void)version;
    server_request *req = *req_cls;
    if (!req) {
        *req_cls = req = request_new(cls, conn, url, method);
        return on_headers(req);
    }
    if (*upload_size) {
        on_body(req, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return req->answered ? MHD_YES : on_complete(req);
}

static void log_request(const server_request *req, enum MHD_RequestTerminationCode toe) {
    if (req->srv->cfg.quiet) return;
    double ms = (double)(oc_now_ns() - req->t0) / 1e6;
    char status[16];
    if (req->answered) snprintf(status, sizeof status, "%d", req->res.status);
    else snprintf(status, sizeof status, "-");
    oc_log(OC_LOG_INFO, "| %s | %10.3fms | %15s | %-7s %s%s", status, ms, req->remote, req->method,
           req->path, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)conn;
    server_request *req = *req_cls;
    if (!req) return;
    if (req->sink && !req->sink_finished) {
        req->sink_finished = true;
        req->done(req, &req->res, req->sink_ud, SERVER_BODY_DISCONNECTED);
    }
    if (req->res.stream) server_stream_detach(req->res.stream);
    log_request(req, toe);
    request_free(req);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    oc_log(OC_LOG_DEBUG, "http: %s", msg);
}

/* ---- the server ---- */

server *server_new(const server_config *cfg, oc_error *err) {
    server *s = oc_calloc(1, sizeof *s);
    s->cfg = *cfg;
    s->cfg.routes = NULL, s->cfg.n_routes = 0;
    if (!s->cfg.max_body) s->cfg.max_body = SERVER_DEFAULT_MAX_BODY;
    s->wake[0] = s->wake[1] = -1;
    int bad = server_cors_init(&s->cors, cfg->origins, err);
    if (!bad && pipe2(s->wake, O_CLOEXEC) < 0) bad = oc_fail(err, "pipe: %s", strerror(errno));
    if (bad) {
        server_stop(s);
        return NULL;
    }
    server_builtin_routes(s);
    return s;
}

int server_listen(server *s, oc_error *err) {
    int fd = server_listen_socket(&s->cfg.addr, s->address, sizeof s->address, &s->port, &s->loopback, err);
    if (fd < 0) return -1;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (s->address[0] == '[') flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
                                 MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        return oc_fail(err, "listen tcp %s: cannot start the HTTP daemon", s->address);
    }
    return 0;
}

server *server_start(const server_config *cfg, oc_error *err) {
    server *s = server_new(cfg, err);
    if (!s) return NULL;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const server_route_def *d = &cfg->routes[i];
        if (server_route(s, d->method, d->pattern, d->handler, d->ctx, d->flags) < 0) {
            oc_fail(err, "bad route %s %s", d->method, d->pattern);
            server_stop(s);
            return NULL;
        }
    }
    if (server_listen(s, err) < 0) {
        server_stop(s);
        return NULL;
    }
    return s;
}

const char *server_address(const server *s) { return s->address; }
int server_port(const server *s) { return s->port; }

int server_wait(server *s) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    struct pollfd p[2] = {{.fd = s->wake[0], .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    int sig = 0;
    for (;;) {
        if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) break;
        if (p[0].revents) break;
        struct signalfd_siginfo si;
        if (sfd >= 0 && p[1].revents && read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            sig = (int)si.ssi_signo;
            break;
        }
    }
    if (sfd >= 0) close(sfd);
    return sig;
}

void server_interrupt(server *s) {
    ssize_t w = write(s->wake[1], "x", 1);
    (void)w;
}

void server_stop(server *s) {
    if (!s) return;
    atomic_store(&s->stopping, true);
    server_streams_stop(s); /* wakes connection threads parked on a stream */
    if (s->daemon) MHD_stop_daemon(s->daemon); /* closes the socket, joins threads */
    for (size_t i = 0; i < s->n_routes; i++) route_free(&s->routes[i]);
    for (size_t i = 0; i < s->n_methods; i++) free(s->methods[i]);
    free(s->routes);
    server_cors_free(&s->cors);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0) close(s->wake[i]);
    free(s);
}

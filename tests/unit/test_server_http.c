/* Unit tests for server: OLLAMA_HOST parsing, CORS and Host checks, Go-style
 * JSON output, and a live server on a loopback port driven by a tiny HTTP
 * client over plain sockets: routing, bodies, streaming, disconnects. */
#include "server/server.h"
#include "server/server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ---- pure parts ---- */

static void test_host_parse(void) {
    static const char *cases[][2] = {
        {"", "http://127.0.0.1:11434"},
        {"1.2.3.4", "http://1.2.3.4:11434"},
        {":1234", "http://:1234"},
        {"1.2.3.4:1234", "http://1.2.3.4:1234"},
        {"example.com", "http://example.com:11434"},
        {":0", "http://:0"},
        {":66000", "http://:11434"},
        {":-1", "http://:11434"},
        {"[::1]", "http://[::1]:11434"},
        {"::1", "http://[::1]:11434"},
        {"[::]", "http://[::]:11434"},
        {"[::1]:1337", "http://[::1]:1337"},
        {"\" 1.2.3.4 \"", "http://1.2.3.4:11434"},
        {"'1.2.3.4'", "http://1.2.3.4:11434"},
        {"  1.2.3.4  ", "http://1.2.3.4:11434"},
        {"http://1.2.3.4", "http://1.2.3.4:80"},
        {"https://1.2.3.4", "https://1.2.3.4:443"},
        {"https://example.com/ollama", "https://example.com:443/ollama"},
        {"ollama.com", "https://ollama.com:443"},
        {"1.2.3.4:", "http://1.2.3.4:11434"},
        {"0.0.0.0", "http://0.0.0.0:11434"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        server_host h;
        char url[600];
        server_host_parse(cases[i][0], &h);
        server_host_url(&h, url, sizeof url);
        CHECK_MSG(strcmp(url, cases[i][1]) == 0, "OLLAMA_HOST=%s -> %s, want %s", cases[i][0], url, cases[i][1]);
    }
    server_host h, c;
    server_host_parse(NULL, &h);
    CHECK_EQ_STR(h.host, "127.0.0.1");
    CHECK_EQ_INT(h.port, 11434);
    server_host_parse("0.0.0.0:5", &h);
    server_host_connectable(&h, &c);
    CHECK_EQ_STR(c.host, "127.0.0.1");
    server_host_parse("[::]:5", &h);
    server_host_connectable(&h, &c);
    CHECK_EQ_STR(c.host, "::1");
    char hp[300];
    server_host_join(&c, hp, sizeof hp);
    CHECK_EQ_STR(hp, "[::1]:5");
}

static void test_env(void) {
    char buf[64];
    setenv("OC_TEST_VAR", " \"'x'\" ", 1);
    CHECK_EQ_STR(server_env("OC_TEST_VAR", buf, sizeof buf), "x");
    setenv("OC_TEST_VAR", " ' x ' ", 1);
    CHECK_EQ_STR(server_env("OC_TEST_VAR", buf, sizeof buf), " x ");
    unsetenv("OC_TEST_VAR");
    CHECK_EQ_STR(server_env("OC_TEST_VAR", buf, sizeof buf), "");
    CHECK(server_env_bool("OC_TEST_VAR", true));
    static const char *t[] = {"1", "t", "T", "TRUE", "true", "True", "yes", "on"}, *f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 8; i++) {
        setenv("OC_TEST_VAR", t[i], 1);
        CHECK_MSG(server_env_bool("OC_TEST_VAR", false), "%s", t[i]);
    }
    for (size_t i = 0; i < 6; i++) {
        setenv("OC_TEST_VAR", f[i], 1);
        CHECK_MSG(!server_env_bool("OC_TEST_VAR", true), "%s", f[i]);
    }
    unsetenv("OC_TEST_VAR");
}

static void test_split_host_port(void) {
    char h[64], p[16];
    CHECK(server_split_host_port("a:1", h, sizeof h, p, sizeof p) == 0 && strcmp(h, "a") == 0 && strcmp(p, "1") == 0);
    CHECK(server_split_host_port("[::1]:80", h, sizeof h, p, sizeof p) == 0 && strcmp(h, "::1") == 0);
    CHECK(server_split_host_port(":80", h, sizeof h, p, sizeof p) == 0 && !*h);
    CHECK(server_split_host_port("localhost", h, sizeof h, p, sizeof p) < 0);
    CHECK(server_split_host_port("::1", h, sizeof h, p, sizeof p) < 0);
    CHECK(server_split_host_port("[::1]", h, sizeof h, p, sizeof p) < 0);
    CHECK(server_split_host_port("[::1]x:80", h, sizeof h, p, sizeof p) < 0);
    CHECK(server_split_host_port("a]:80", h, sizeof h, p, sizeof p) < 0);
}

static void test_cors(void) {
    server_cors c;
    CHECK(server_cors_init(&c, NULL, NULL) == 0);
    static const char *ok[] = {"http://localhost", "https://localhost", "http://localhost:3000",
                               "https://127.0.0.1:8443", "http://0.0.0.0:1", "app://x", "file://",
                               "tauri://localhost", "vscode-webview://abc", "vscode-file://vscode-app"};
    static const char *bad[] = {"http://evil.com", "http://localhost.evil.com", "HTTP://LOCALHOST",
                                "null", "chrome-extension://abc", "http://127.0.0.2", "http://localhost3000"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) CHECK_MSG(server_cors_origin_allowed(&c, ok[i]), "%s", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK_MSG(!server_cors_origin_allowed(&c, bad[i]), "%s", bad[i]);
    CHECK_EQ_INT(server_cors_check(&c, "GET", NULL, "x"), SERVER_CORS_NONE);
    CHECK_EQ_INT(server_cors_check(&c, "GET", "", "x"), SERVER_CORS_NONE);
    CHECK_EQ_INT(server_cors_check(&c, "GET", "http://evil.com", "evil.com"), SERVER_CORS_NONE); /* same origin */
    CHECK_EQ_INT(server_cors_check(&c, "GET", "https://evil.com:1", "evil.com:1"), SERVER_CORS_NONE);
    CHECK_EQ_INT(server_cors_check(&c, "GET", "http://evil.com", "127.0.0.1:11434"), SERVER_CORS_FORBIDDEN);
    CHECK_EQ_INT(server_cors_check(&c, "OPTIONS", "http://localhost:3000", "127.0.0.1:11434"), SERVER_CORS_PREFLIGHT);
    CHECK_EQ_INT(server_cors_check(&c, "POST", "http://localhost:3000", "127.0.0.1:11434"), SERVER_CORS_ALLOWED);
    server_cors_free(&c);

    CHECK(server_cors_init(&c, "https://EXAMPLE.com,http://b.org ,https://*.corp.net,chrome-extension://*", NULL) == 0);
    CHECK(server_cors_origin_allowed(&c, "https://example.com"));
    CHECK(!server_cors_origin_allowed(&c, "https://EXAMPLE.com")); /* the origin is not lower-cased */
    CHECK(server_cors_origin_allowed(&c, "http://b.org"));          /* entry trimmed */
    CHECK(server_cors_origin_allowed(&c, "https://app.corp.net"));
    CHECK(!server_cors_origin_allowed(&c, "https://corp.net.evil"));
    CHECK(server_cors_origin_allowed(&c, "chrome-extension://abcdef"));
    CHECK(server_cors_origin_allowed(&c, "http://localhost:8080")); /* built-ins still there */
    CHECK(!c.allow_all);
    server_cors_free(&c);

    CHECK(server_cors_init(&c, "*", NULL) == 0);
    CHECK(c.allow_all && server_cors_origin_allowed(&c, "http://evil.com"));
    server_cors_free(&c);
    oc_error err;
    CHECK(server_cors_init(&c, "example.com", &err) < 0 && strstr(err.msg, "bad origin"));
    CHECK(server_cors_init(&c, "http://a*b*", &err) < 0);
    CHECK(server_cors_init(&c, " http://b.org", &err) < 0); /* validated untrimmed */
    CHECK(server_cors_init(&c, "http://a,", &err) < 0); /* an empty entry, as strings.Split gives */
    CHECK(server_cors_init(&c, "moz-extension://x,safari-extension://y,ms-browser-extension://z", NULL) == 0);
    server_cors_free(&c);
}

static void test_host_check(void) {
    static const char *ok_ip[] = {"127.0.0.1", "127.0.0.1:11434", "127.1.2.3", "[::1]:11434", "10.1.2.3:80",
                                  "172.16.0.1", "172.31.255.255", "192.168.1.1", "0.0.0.0", "[::]:1", "fd00::1", "[fc00::2]:5"};
    static const char *ok_name[] = {"", "localhost", "localhost:11434", "LOCALHOST", "foo.localhost", "printer.local:80",
                                    "db.internal"};
    static const char *bad[] = {"evil.com", "evil.com:11434", "[::1]", "localhost.evil.com", "local", "internal"};
    for (size_t i = 0; i < sizeof ok_ip / sizeof *ok_ip; i++)
        CHECK_MSG(server_host_check(ok_ip[i]) == SERVER_HOST_OK, "%s", ok_ip[i]);
    for (size_t i = 0; i < sizeof ok_name / sizeof *ok_name; i++)
        CHECK_MSG(server_host_check(ok_name[i]) == SERVER_HOST_OK_NAME, "%s", ok_name[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(server_host_check(bad[i]) == SERVER_HOST_FORBIDDEN, "%s", bad[i]);
    char name[256];
    if (gethostname(name, sizeof name) == 0 && *name) CHECK(server_host_check(name) != SERVER_HOST_FORBIDDEN);
}

static void check_json(json_t *v, const char *want) {
    oc_buf b = {0};
    server_json_encode(v, &b);
    CHECK_MSG(b.data && strcmp(b.data, want) == 0, "got %s want %s", b.data, want);
    oc_buf_free(&b);
    json_decref(v);
}

static void check_float(double v, int bits, const char *want) {
    oc_buf b = {0};
    server_json_append_float(&b, v, bits);
    CHECK_MSG(strcmp(b.data, want) == 0, "%.17g/%d: got %s want %s", v, bits, b.data, want);
    oc_buf_free(&b);
}

static void test_json_out(void) {
    check_json(json_pack("{ss}", "a", "<b>&</b>"), "{\"a\":\"\\u003cb\\u003e\\u0026\\u003c/b\\u003e\"}");
    check_json(json_pack("{sssisbsn}", "z", "q\"\\/\n\t\r\b\f\x01", "y", 3, "x", 1, "w"),
               "{\"z\":\"q\\\"\\\\/\\n\\t\\r\\b\\f\\u0001\",\"y\":3,\"x\":true,\"w\":null}");
    check_json(json_pack("[fff]", 0.1, 1.0, -2.5), "[0.1,1,-2.5]");
    check_json(json_stringn_nocheck("a\xff" "b", 3), "\"a\\ufffdb\"");
    check_json(json_string("\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9\xf0\x9f\x98\x80"), "\"\\u2028\\u2029\xc3\xa9\xf0\x9f\x98\x80\"");
    check_json(json_pack("{s{s[]}}", "a", "b"), "{\"a\":{\"b\":[]}}");
    check_json(NULL, "null");
    check_json(server_error_object("bad \xff <name>"), "{\"error\":\"bad \\ufffd \\u003cname\\u003e\"}");
    check_float(0.1, 64, "0.1");
    check_float(1e-7, 64, "1e-7");
    check_float(1.23e-7, 64, "1.23e-7");
    check_float(1.25e-6, 64, "0.00000125");
    check_float(1e21, 64, "1e+21");
    check_float(1e20, 64, "100000000000000000000");
    check_float(123456789.0, 64, "123456789");
    check_float(0.5670403838157654, 64, "0.5670403838157654");
    check_float(-0.0, 64, "-0");
    check_float(0, 64, "0");
    check_float(1.5e-10, 64, "1.5e-10");
    check_float((double)0.1f, 32, "0.1");
    check_float((double)0.1f, 64, "0.10000000149011612");
    check_float((double)-3.4028235e38f, 32, "-3.4028235e+38");
    check_float((double)1e-7f, 32, "1e-7");
}

/* ---- a tiny HTTP/1.1 client ---- */

typedef struct conn {
    int fd;
    char buf[65536];
    size_t off, len;
} conn;

static bool conn_open(conn *c, int family, int port) {
    c->off = c->len = 0;
    c->fd = socket(family, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET, a->sin_port = htons((uint16_t)port), len = sizeof *a;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6, a->sin6_port = htons((uint16_t)port), len = sizeof *a;
        a->sin6_addr = in6addr_loopback;
    }
    return connect(c->fd, (struct sockaddr *)&ss, len) == 0;
}

static bool conn_send(conn *c, const void *data, size_t n) {
    const char *p = data;
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        p += w, n -= (size_t)w;
    }
    return true;
}

static int conn_getc(conn *c) {
    if (c->off == c->len) {
        ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (n <= 0) return -1;
        c->off = 0, c->len = (size_t)n;
    }
    return (unsigned char)c->buf[c->off++];
}

static bool conn_line(conn *c, char *out, size_t cap) {
    size_t n = 0;
    int ch;
    while ((ch = conn_getc(c)) >= 0 && ch != '\n')
        if (n + 1 < cap && ch != '\r') out[n++] = (char)ch;
    out[n] = 0;
    return ch == '\n';
}

static bool conn_read(conn *c, oc_buf *out, size_t n) {
    for (; n; n--) {
        int ch = conn_getc(c);
        if (ch < 0) return false;
        char b = (char)ch;
        oc_buf_append(out, &b, 1);
    }
    return true;
}

typedef struct resp {
    int status;
    char head[8192]; /* "\nName: value" lines */
    oc_buf body;
} resp;

static bool read_head(conn *c, resp *r) {
    char line[4096];
    memset(r, 0, sizeof *r);
    if (!conn_line(c, line, sizeof line) || sscanf(line, "HTTP/1.%*d %d", &r->status) != 1) return false;
    while (conn_line(c, line, sizeof line) && *line) {
        size_t n = strlen(r->head);
        snprintf(r->head + n, sizeof r->head - n, "\n%s", line);
    }
    return true;
}

/* Value of header name (the nth occurrence), or NULL. */
static const char *hdr(const resp *r, const char *name, int nth) {
    static char val[4096];
    size_t nl = strlen(name);
    for (const char *p = r->head; (p = strchr(p, '\n')); p++) {
        if (strncasecmp(p + 1, name, nl) == 0 && p[1 + nl] == ':' && nth-- == 0) {
            const char *v = p + 2 + nl, *e = strchr(v, '\n');
            while (*v == ' ') v++;
            snprintf(val, sizeof val, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
            return val;
        }
    }
    return NULL;
}

/* One chunk of a chunked body into out; false at the last (empty) one. */
static bool read_chunk(conn *c, oc_buf *out) {
    char line[64];
    if (!conn_line(c, line, sizeof line)) return false;
    size_t n = strtoul(line, NULL, 16);
    if (n == 0) {
        conn_line(c, line, sizeof line);
        return false;
    }
    bool ok = conn_read(c, out, n);
    conn_line(c, line, sizeof line);
    return ok;
}

static void read_body(conn *c, resp *r, bool head_request) {
    const char *te = hdr(r, "Transfer-Encoding", 0), *cl;
    if (head_request || r->status == 204 || r->status == 304) return;
    if (te && strcasecmp(te, "chunked") == 0) {
        while (read_chunk(c, &r->body)) {}
    } else if ((cl = hdr(r, "Content-Length", 0))) {
        conn_read(c, &r->body, strtoul(cl, NULL, 10));
    } else {
        int ch;
        while ((ch = conn_getc(c)) >= 0) { char b = (char)ch; oc_buf_append(&r->body, &b, 1); }
    }
    if (!r->body.data) oc_buf_puts(&r->body, "");
}

static int g_port;

/* One request on a fresh connection. extra: more header lines, each
 * ending in \r\n; body NULL for none. */
static bool request(const char *method, const char *path, const char *extra, const char *body, resp *r) {
    conn c;
    if (!conn_open(&c, AF_INET, g_port)) return false;
    oc_buf req = {0};
    oc_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s", method, path, g_port,
                  extra ? extra : "");
    if (body) oc_buf_printf(&req, "Content-Length: %zu\r\n", strlen(body));
    oc_buf_printf(&req, "\r\n%s", body ? body : "");
    bool ok = conn_send(&c, req.data, req.len) && read_head(&c, r);
    if (ok) read_body(&c, r, strcmp(method, "HEAD") == 0);
    oc_buf_free(&req);
    close(c.fd);
    return ok;
}

static void resp_free(resp *r) { oc_buf_free(&r->body); }

/* ---- test routes ---- */

static void h_echo(server_request *req, server_response *res, void *ctx) {
    (void)ctx;
    json_t *o = json_deep_copy(server_request_json(req));
    json_object_set_new(o, "path", json_string(server_request_path(req)));
    server_respond_json(res, 200, o);
}

static void h_param(server_request *req, server_response *res, void *ctx) {
    (void)ctx;
    const char *q = server_request_query(req, "q");
    server_respond_json(res, 200, json_pack("{ssssss}", "id", server_request_param(req, "id"),
                                            "q", q ? q : "", "ua", server_request_header(req, "user-agent") ?
                                            server_request_header(req, "user-agent") : ""));
}

static void h_raw(server_request *req, server_response *res, void *ctx) {
    (void)ctx;
    size_t len;
    const char *b = server_request_body(req, &len);
    server_respond_data(res, 201, "application/octet-stream", b ? b : "", len);
}

static void h_nothing(server_request *req, server_response *res, void *ctx) { (void)req, (void)res, (void)ctx; }

static void h_empty(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_respond_empty(res, 200);
}

/* Streams: the writer runs on its own thread like the engine's runner. */
typedef struct stream_job {
    server_stream *w;
    int kind;
    sem_t step, done;
    bool result;
    int writes;
} stream_job;

static stream_job g_job;

static bool sem_wait_s(sem_t *s, int secs) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    while (sem_timedwait(s, &ts) < 0)
        if (errno != EINTR) return false;
    return true;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Writes until a write fails (at most ~5 s); result = the last write's. */
static void write_until_gone(stream_job *j) {
    j->result = true;
    for (int i = 0; i < 1000 && j->result; i++, j->writes++) {
        j->result = server_stream_write(j->w, "{\"x\":1}\n", 8);
        sleep_ms(5);
    }
}

static void *writer_main(void *arg) {
    stream_job *j = arg;
    switch (j->kind) {
    case 0: /* three lines, each only after the client saw the one before */
        for (int i = 0; i < 3; i++) {
            server_stream_write_json(j->w, json_pack("{si}", "n", i));
            if (!sem_wait_s(&j->step, 5)) break;
        }
        break;
    case 1: /* the client hangs up after the first line */
        server_stream_write(j->w, "{\"first\":true}\n", 15);
        write_until_gone(j);
        break;
    case 2: server_stream_error(j->w, 404, "model 'x' not found"); break;
    case 3:
        server_stream_write_json(j->w, json_pack("{sb}", "done", 0));
        server_stream_error(j->w, 500, "boom <&>");
        j->result = server_stream_write(j->w, "x\n", 2);
        break;
    case 6: /* another layer's error shape */
        server_stream_fail(j->w, 400, json_pack("{s{ss}}", "error", "message", "bad"), "data: x\n\n");
        break;
    case 7: /* two values, then the end (the filter tests) */
        server_stream_write_json(j->w, json_pack("{si}", "n", 0));
        server_stream_write_json(j->w, json_pack("{si}", "n", 1));
        break;
    case 4: /* the client hangs up before the first byte */
        sleep_ms(300);
        write_until_gone(j);
        break;
    case 5: /* the server stops mid-stream */
        server_stream_write(j->w, "{\"first\":true}\n", 15);
        write_until_gone(j);
        break;
    }
    server_stream_end(j->w);
    sem_post(&j->done);
    return NULL;
}

static void h_stream(server_request *req, server_response *res, void *ctx) {
    (void)ctx;
    g_job.kind = atoi(server_request_param(req, "kind"));
    g_job.w = server_stream_begin(res, NULL);
    pthread_t t;
    pthread_create(&t, NULL, writer_main, &g_job);
    pthread_detach(t);
}

/* A handler that blocks until the client goes away. */
static bool g_gone;
static sem_t g_gone_sem;
static void h_block(server_request *req, server_response *res, void *ctx) {
    (void)ctx;
    g_gone = false;
    for (int i = 0; i < 300 && !(g_gone = server_request_client_gone(req)); i++) sleep_ms(10);
    server_respond_error(res, 499, "request canceled");
    sem_post(&g_gone_sem);
}

/* A streamed upload: bytes counted and summed. */
typedef struct upload { size_t n; unsigned sum; bool stop_early; } upload;
static upload g_up;
static bool up_sink(void *ud, const void *data, size_t len) {
    upload *u = ud;
    for (size_t i = 0; i < len; i++) u->sum += ((const unsigned char *)data)[i];
    u->n += len;
    return !(u->stop_early && u->n > 1000);
}
static void up_done(server_request *req, server_response *res, void *ud, enum server_body_end how) {
    (void)req;
    upload *u = ud;
    server_respond_json(res, how == SERVER_BODY_COMPLETE ? 201 : 500,
                        json_pack("{sisisi}", "bytes", (int)u->n, "sum", (int)u->sum, "how", (int)how));
}
static void h_upload(server_request *req, server_response *res, void *ctx) {
    (void)ctx;
    const char *d = server_request_param(req, "digest");
    if (strcmp(d, "exists") == 0) {
        server_respond_empty(res, 200); /* the body is never read */
        return;
    }
    g_up = (upload){.stop_early = strcmp(d, "stop") == 0};
    server_request_read_body(req, up_sink, up_done, &g_up);
}

/* A translation layer in miniature: the output filter tags each event,
 * and the handler runs a registered one on a substituted body. */
static atomic_int g_filter_frees;
static server_handler g_echo_h;
static void *g_echo_ctx;

static void test_filter(void *ud, server_output *o) {
    char *v = o->value ? json_dumps(o->value, JSON_COMPACT) : NULL;
    switch (o->kind) {
    case SERVER_OUTPUT_WHOLE:
        oc_buf_printf(&o->out, "W%d:%s", o->status, v);
        o->content_type = "text/x-test";
        if (o->status == 404) o->status = 410;
        break;
    case SERVER_OUTPUT_CHUNK: oc_buf_printf(&o->out, "C:%s\n", v); break;
    case SERVER_OUTPUT_ERROR:
        oc_buf_printf(&o->out, "E%d:%d:%s", o->started, o->status, v);
        o->status = 502;
        break;
    case SERVER_OUTPUT_END: oc_buf_printf(&o->out, "END:%s\n", (const char *)ud); break;
    }
    free(v);
}

static void filter_free(void *ud) {
    CHECK_EQ_STR(ud, "ud");
    atomic_fetch_add(&g_filter_frees, 1);
}

static void h_filtered_err(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_respond_error(res, 404, "gone");
}

static void h_filtered(server_request *req, server_response *res, void *ctx) {
    const char *kind = server_request_param(req, "kind");
    server_response_filter(res, test_filter, "ud", filter_free, "text/event-stream");
    server_request_set_json(req, json_pack("{sb}", "sub", 1));
    if (strcmp(kind, "echo") == 0) return g_echo_h(req, res, g_echo_ctx);
    if (strcmp(kind, "err") == 0) return server_respond_error(res, 404, "nope");
    if (strcmp(kind, "text") == 0) return server_respond_text(res, 200, "plain");
    if (strcmp(kind, "call") == 0) { /* a sub-call first, then the answer with the request's own body */
        int st1, st2;
        json_t *a = server_request_call(req, g_echo_h, g_echo_ctx, json_pack("{si}", "n", 7), &st1);
        json_t *b = server_request_call(req, h_filtered_err, NULL, json_object(), &st2);
        json_t *o = json_pack("{s:o,s:i,s:o,s:i,s:O}", "a", a ? a : json_null(), "s1", st1, "b", b ? b : json_null(),
                              "s2", st2, "own", server_request_json(req));
        return server_respond_json(res, 200, o);
    }
    (void)ctx;
    g_job.kind = atoi(kind);
    g_job.w = server_stream_begin(res, NULL);
    pthread_t t;
    pthread_create(&t, NULL, writer_main, &g_job);
    pthread_detach(t);
}

static const server_route_def test_routes[] = {
    {"POST", "/t/filtered/:kind", h_filtered, NULL, 0},
    {"POST", "/t/echo", h_echo, NULL, SERVER_JSON_BODY},
    {"GET", "/t/param/:id", h_param, NULL, 0},
    {"PUT", "/t/raw", h_raw, NULL, 0},
    {"GET", "/t/nothing", h_nothing, NULL, 0},
    {"DELETE", "/t/empty", h_empty, NULL, 0},
    {"POST", "/t/stream/:kind", h_stream, NULL, 0},
    {"POST", "/t/block", h_block, NULL, 0},
    {"POST", "/t/upload/:digest", h_upload, NULL, SERVER_STREAM_BODY},
};

/* ---- live tests ---- */

static void test_basics(void) {
    resp r;
    CHECK(request("GET", "/", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body.data, "Ollama is running");
    CHECK_EQ_STR(hdr(&r, "Content-Type", 0), "text/plain; charset=utf-8");
    resp_free(&r);
    CHECK(request("HEAD", "/", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hdr(&r, "Content-Length", 0), "17");
    resp_free(&r);
    CHECK(request("GET", "/api/version", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body.data, "{\"version\":\"" SERVER_VERSION "\"}");
    CHECK_EQ_STR(hdr(&r, "Content-Type", 0), "application/json; charset=utf-8");
    resp_free(&r);
    CHECK(request("GET", "/api/status", NULL, NULL, &r));
    CHECK_EQ_STR(r.body.data, "{\"cloud\":{\"disabled\":false,\"source\":\"none\"}}");
    resp_free(&r);
    CHECK(request("GET", "/nope", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_STR(r.body.data, "404 page not found");
    CHECK_EQ_STR(hdr(&r, "Content-Type", 0), "text/plain");
    resp_free(&r);
    CHECK(request("POST", "/", NULL, "{}", &r));
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_STR(r.body.data, "405 method not allowed");
    CHECK_EQ_STR(hdr(&r, "Allow", 0), "HEAD, GET");
    resp_free(&r);
    CHECK(request("GET", "/api/generate", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_STR(hdr(&r, "Allow", 0), "POST");
    resp_free(&r);
    CHECK(request("POST", "/api/generate", NULL, "{\"model\":\"x\"}", &r));
    CHECK_EQ_INT(r.status, 501);
    CHECK_EQ_STR(r.body.data, "{\"error\":\"not implemented\"}");
    resp_free(&r);
    CHECK(request("GET", "/api/version/", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 301);
    CHECK_EQ_STR(hdr(&r, "Location", 0), "/api/version");
    CHECK_EQ_STR(r.body.data, "<a href=\"/api/version\">Moved Permanently</a>.\n\n");
    resp_free(&r);
    CHECK(request("POST", "/t/echo/", NULL, "{}", &r));
    CHECK_EQ_INT(r.status, 307);
    CHECK_EQ_STR(hdr(&r, "Location", 0), "/t/echo");
    resp_free(&r);
    CHECK(request("GET", "/t/nothing", NULL, NULL, &r));
    CHECK(r.status == 200 && r.body.len == 0 && !hdr(&r, "Content-Type", 0));
    resp_free(&r);
    CHECK(request("DELETE", "/t/empty", NULL, "{\"model\":\"m\"}", &r));
    CHECK(r.status == 200 && r.body.len == 0);
    resp_free(&r);
}

static void test_cloud_routes(void) {
    resp r;
    CHECK(request("POST", "/api/experimental/web_search", NULL, " ", &r));
    CHECK(r.status == 400 && strcmp(r.body.data, "{\"error\":\"missing request body\"}") == 0);
    resp_free(&r);
    CHECK(request("POST", "/api/experimental/web_fetch", NULL, "{\"url\":\"x\"}", &r));
    CHECK(r.status == 403 && strcmp(r.body.data, "{\"error\":\"ollama cloud is disabled: web fetch is unavailable\"}") == 0);
    resp_free(&r);
    CHECK(request("DELETE", "/api/user/keys/abc", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 500);
    resp_free(&r);
    CHECK(request("GET", "/api/experimental/model-recommendations", NULL, NULL, &r));
    CHECK(r.status == 200 && strstr(r.body.data, "{\"recommendations\":[{\"model\":\"kimi-k2.6:cloud\""));
    resp_free(&r);
}

static void test_params(void) {
    resp r;
    CHECK(request("GET", "/t/param/sha256:abc?q=a%20b", "User-Agent: tester\r\n", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body.data, "{\"id\":\"sha256:abc\",\"q\":\"a b\",\"ua\":\"tester\"}");
    resp_free(&r);
    CHECK(request("GET", "/t/param/", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 404);
    resp_free(&r);
    CHECK(request("GET", "/t/param/a/b", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 404);
    resp_free(&r);
}

static void check_body(const char *body, int status, const char *want) {
    resp r;
    CHECK(request("POST", "/t/echo", NULL, body, &r));
    CHECK_MSG(r.status == status, "body %s: status %d", body ? body : "(none)", r.status);
    if (want) CHECK_EQ_STR(r.body.data, want);
    else CHECK_MSG(strncmp(r.body.data, "{\"error\":\"", 10) == 0 && r.body.len > 12, "%s", r.body.data);
    resp_free(&r);
}

static void test_json_bodies(void) {
    check_body(NULL, 400, "{\"error\":\"missing request body\"}");
    check_body("", 400, "{\"error\":\"missing request body\"}");
    check_body(" \n\t", 400, "{\"error\":\"missing request body\"}");
    check_body("{\"a\":1,\"b\":\"<x>\"}", 200, "{\"a\":1,\"b\":\"\\u003cx\\u003e\",\"path\":\"/t/echo\"}");
    check_body("null", 200, "{\"path\":\"/t/echo\"}");
    check_body("{\"a\":2} trailing garbage", 200, "{\"a\":2,\"path\":\"/t/echo\"}");
    check_body("{bad", 400, NULL);
    check_body("{\"a\":", 400, NULL);
    check_body("xyz", 400, NULL);
    check_body("[1,2]", 400, NULL);
    resp r;
    CHECK(request("PUT", "/t/raw", NULL, "raw bytes", &r));
    CHECK(r.status == 201 && strcmp(r.body.data, "raw bytes") == 0);
    resp_free(&r);
}

static void test_too_large(void) {
    resp r;
    CHECK(request("POST", "/t/echo", "Content-Length: 100000000\r\n", NULL, &r)); /* no body follows */
    CHECK_EQ_INT(r.status, 413);
    CHECK_EQ_STR(r.body.data, "{\"error\":\"request body too large\"}");
    resp_free(&r);
    /* chunked, so only counting can tell */
    conn c;
    CHECK(conn_open(&c, AF_INET, g_port));
    oc_buf req = {0};
    oc_buf_printf(&req, "POST /t/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        oc_buf_printf(&req, "1000\r\n");
        for (int k = 0; k < 0x1000; k++) oc_buf_append(&req, " ", 1);
        oc_buf_printf(&req, "\r\n");
    }
    oc_buf_printf(&req, "0\r\n\r\n");
    CHECK(conn_send(&c, req.data, req.len) && read_head(&c, &r));
    read_body(&c, &r, false);
    CHECK_EQ_INT(r.status, 413);
    resp_free(&r);
    oc_buf_free(&req);
    close(c.fd);
}

static void test_policy_live(void) {
    resp r;
    CHECK(request("OPTIONS", "/api/generate", "Origin: http://localhost:3000\r\nAccess-Control-Request-Method: POST\r\n", NULL, &r));
    CHECK_EQ_INT(r.status, 204);
    CHECK_EQ_STR(hdr(&r, "Access-Control-Allow-Origin", 0), "http://localhost:3000");
    CHECK_EQ_STR(hdr(&r, "Access-Control-Allow-Methods", 0), "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS");
    CHECK_EQ_STR(hdr(&r, "Access-Control-Max-Age", 0), "43200");
    CHECK(hdr(&r, "Access-Control-Allow-Headers", 0) && strstr(hdr(&r, "Access-Control-Allow-Headers", 0), "X-Stainless-Timeout"));
    CHECK_EQ_STR(hdr(&r, "Vary", 2), "Access-Control-Request-Headers");
    resp_free(&r);
    CHECK(request("GET", "/api/version", "Origin: http://localhost:3000\r\n", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hdr(&r, "Access-Control-Allow-Origin", 0), "http://localhost:3000");
    CHECK_EQ_STR(hdr(&r, "Vary", 0), "Origin");
    resp_free(&r);
    CHECK(request("GET", "/nope", "Origin: http://localhost:3000\r\n", NULL, &r)); /* also on 404 */
    CHECK(r.status == 404 && hdr(&r, "Access-Control-Allow-Origin", 0));
    resp_free(&r);
    CHECK(request("GET", "/api/version", "Origin: http://evil.com\r\n", NULL, &r));
    CHECK(r.status == 403 && r.body.len == 0);
    resp_free(&r);
    CHECK(request("POST", "/t/echo", "Origin: http://evil.com\r\n", "{}", &r));
    CHECK_EQ_INT(r.status, 403);
    resp_free(&r);
    /* The Host header: raw requests, since request() sends its own. */
    conn c;
    CHECK(conn_open(&c, AF_INET, g_port));
    const char *bad = "GET / HTTP/1.1\r\nHost: evil.com\r\nConnection: close\r\n\r\n";
    CHECK(conn_send(&c, bad, strlen(bad)) && read_head(&c, &r));
    CHECK_EQ_INT(r.status, 403);
    close(c.fd);
    CHECK(conn_open(&c, AF_INET, g_port));
    const char *opt = "OPTIONS /api/tags HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    CHECK(conn_send(&c, opt, strlen(opt)) && read_head(&c, &r));
    CHECK_EQ_INT(r.status, 204);
    close(c.fd);
    CHECK(request("OPTIONS", "/api/tags", NULL, NULL, &r)); /* an IP Host: no shortcut */
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_STR(hdr(&r, "Allow", 0), "HEAD, GET");
    resp_free(&r);
}

static void test_keep_alive(void) {
    conn c;
    CHECK(conn_open(&c, AF_INET, g_port));
    for (int i = 0; i < 3; i++) {
        char req[256];
        snprintf(req, sizeof req, "POST /t/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\n\r\n{\"i\":%d}", i);
        resp r;
        CHECK(conn_send(&c, req, strlen(req)) && read_head(&c, &r));
        read_body(&c, &r, false);
        char want[64];
        snprintf(want, sizeof want, "{\"i\":%d,\"path\":\"/t/echo\"}", i);
        CHECK_EQ_STR(r.body.data, want);
        resp_free(&r);
    }
    close(c.fd);
}

/* Sends POST /t/stream/<kind> and reads the response head. */
static bool stream_open(conn *c, int kind, resp *r) {
    sem_init(&g_job.step, 0, 0);
    sem_init(&g_job.done, 0, 0);
    g_job.result = false, g_job.writes = 0;
    char req[256];
    snprintf(req, sizeof req, "POST /t/stream/%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", kind);
    return conn_open(c, AF_INET, g_port) && conn_send(c, req, strlen(req)) && read_head(c, r);
}

static void stream_close(void) {
    CHECK(sem_wait_s(&g_job.done, 10));
    sem_destroy(&g_job.step);
    sem_destroy(&g_job.done);
}

static void test_stream_lines(void) {
    conn c;
    resp r;
    CHECK(stream_open(&c, 0, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hdr(&r, "Content-Type", 0), "application/x-ndjson");
    CHECK_EQ_STR(hdr(&r, "Transfer-Encoding", 0), "chunked");
    for (int i = 0; i < 3; i++) { /* each line arrives before the next is written */
        oc_buf got = {0}, want = {0};
        oc_buf_printf(&want, "{\"n\":%d}\n", i);
        while (got.len < want.len && read_chunk(&c, &got)) {}
        CHECK_MSG(got.data && strcmp(got.data, want.data) == 0, "line %d: %s", i, got.data);
        sem_post(&g_job.step);
        oc_buf_free(&got), oc_buf_free(&want);
    }
    oc_buf rest = {0};
    CHECK(!read_chunk(&c, &rest) && rest.len == 0); /* then the terminating chunk */
    close(c.fd);
    stream_close();
    resp_free(&r);
}

static void test_stream_disconnect(void) {
    conn c;
    resp r;
    CHECK(stream_open(&c, 1, &r));
    oc_buf got = {0};
    CHECK(read_chunk(&c, &got) && strstr(got.data, "first"));
    close(c.fd);
    stream_close();
    CHECK_MSG(!g_job.result, "writes after the hang-up: %d", g_job.writes);
    oc_buf_free(&got);
    resp_free(&r);

    (void)stream_open(&c, 4, &r); /* hang up before the first byte (whether the headers came is not the point) */
    close(c.fd);
    stream_close();
    CHECK(!g_job.result);

    /* a blocking handler sees the hang-up */
    sem_init(&g_gone_sem, 0, 0);
    CHECK(conn_open(&c, AF_INET, g_port));
    const char *req = "POST /t/block HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}";
    CHECK(conn_send(&c, req, strlen(req)));
    sleep_ms(50);
    close(c.fd);
    CHECK(sem_wait_s(&g_gone_sem, 10) && g_gone);
    sem_destroy(&g_gone_sem);
}

static void test_stream_errors(void) {
    conn c;
    resp r;
    CHECK(stream_open(&c, 2, &r)); /* error before any byte: its own status */
    read_body(&c, &r, false);
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_STR(hdr(&r, "Content-Type", 0), "application/json");
    CHECK_EQ_STR(r.body.data, "{\"error\":\"model 'x' not found\"}");
    close(c.fd);
    stream_close();
    resp_free(&r);
    CHECK(stream_open(&c, 3, &r)); /* after: 200 and a last error line */
    read_body(&c, &r, false);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body.data, "{\"done\":false}\n{\"error\":\"boom \\u003c\\u0026\\u003e\"}\n");
    close(c.fd);
    stream_close();
    CHECK(!g_job.result); /* writes after the error fail */
    resp_free(&r);
    CHECK(stream_open(&c, 6, &r));
    read_body(&c, &r, false);
    CHECK_EQ_INT(r.status, 400);
    CHECK_EQ_STR(r.body.data, "{\"error\":{\"message\":\"bad\"}}");
    close(c.fd);
    stream_close();
    resp_free(&r);
}

/* A filtered stream: POST /t/filtered/<kind>, the whole answer. */
static void filtered_stream(int kind, resp *r) {
    conn c;
    sem_init(&g_job.step, 0, 0);
    sem_init(&g_job.done, 0, 0);
    char req[256];
    snprintf(req, sizeof req, "POST /t/filtered/%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", kind);
    CHECK(conn_open(&c, AF_INET, g_port) && conn_send(&c, req, strlen(req)) && read_head(&c, r));
    read_body(&c, r, false);
    close(c.fd);
    stream_close();
}

static void test_filters(server *s) {
    CHECK_EQ_INT(server_route_lookup(s, "POST", "/t/echo", &g_echo_h, &g_echo_ctx), 0);
    CHECK(g_echo_h == h_echo);
    server_handler h;
    void *ctx;
    CHECK_EQ_INT(server_route_lookup(s, "GET", "/t/echo", &h, &ctx), -1);
    CHECK_EQ_INT(server_route_lookup(s, "POST", "/t/ech", &h, &ctx), -1);
    resp r;
    /* a whole JSON answer: rewritten, with the filter's type and status */
    CHECK(request("POST", "/t/filtered/echo", NULL, "{\"orig\":1}", &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body.data, "W200:{\"sub\":true,\"path\":\"/t/filtered/echo\"}");
    CHECK_EQ_STR(hdr(&r, "Content-Type", 0), "text/x-test");
    resp_free(&r);
    CHECK(request("POST", "/t/filtered/err", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 410);
    CHECK_EQ_STR(r.body.data, "W404:{\"error\":\"nope\"}");
    resp_free(&r);
    /* sub-calls: their answers come back as values; the filter is not involved */
    CHECK(request("POST", "/t/filtered/call", NULL, NULL, &r));
    CHECK_EQ_STR(r.body.data, "W200:{\"a\":{\"n\":7,\"path\":\"/t/filtered/call\"},\"s1\":200,\"b\":{\"error\":\"gone\"},"
                              "\"s2\":404,\"own\":{\"sub\":true}}");
    resp_free(&r);
    CHECK(request("POST", "/t/filtered/text", NULL, NULL, &r)); /* not JSON: untouched */
    CHECK_EQ_STR(r.body.data, "plain");
    resp_free(&r);
    /* streams: the filter's content type, chunks, and the end */
    filtered_stream(7, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(hdr(&r, "Content-Type", 0), "text/event-stream");
    CHECK_EQ_STR(r.body.data, "C:{\"n\":0}\nC:{\"n\":1}\nEND:ud\n");
    resp_free(&r);
    filtered_stream(2, &r); /* an error before any byte: the filter's body and status */
    CHECK_EQ_INT(r.status, 502);
    CHECK_EQ_STR(r.body.data, "E0:404:{\"error\":\"model 'x' not found\"}");
    resp_free(&r);
    filtered_stream(3, &r); /* after bytes: the filter's last bytes, no END */
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body.data, "C:{\"done\":false}\nE1:500:{\"error\":\"boom <&>\"}");
    CHECK(!g_job.result);
    resp_free(&r);
    for (int i = 0; i < 100 && atomic_load(&g_filter_frees) < 7; i++) sleep_ms(10);
    CHECK_EQ_INT(atomic_load(&g_filter_frees), 7); /* once per request, streams included */
}

static void test_upload(void) {
    size_t n = 5u << 20;
    char *big = oc_malloc(n + 1);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + i % 26), sum += (unsigned char)big[i];
    big[n] = 0;
    resp r;
    CHECK(request("POST", "/t/upload/sha256:x", NULL, big, &r)); /* beyond the JSON limit: fine */
    CHECK_EQ_INT(r.status, 201);
    char want[128];
    snprintf(want, sizeof want, "{\"bytes\":%zu,\"sum\":%d,\"how\":0}", n, (int)sum);
    CHECK_EQ_STR(r.body.data, want);
    resp_free(&r);
    CHECK(request("POST", "/t/upload/stop", NULL, big, &r));
    CHECK(r.status == 500 && strstr(r.body.data, "\"how\":1"));
    resp_free(&r);
    CHECK(request("POST", "/t/upload/exists", "Content-Length: 5000000\r\n", NULL, &r)); /* answered before the body */
    CHECK(r.status == 200 && r.body.len == 0);
    resp_free(&r);
    free(big);
}

/* server_stop with a stream open: the writer is told, nothing hangs. */
static void test_stop_mid_stream(void) {
    server_config cfg = {.quiet = true, .routes = test_routes, .n_routes = sizeof test_routes / sizeof *test_routes};
    server_host_parse("127.0.0.1:0", &cfg.addr);
    oc_error err;
    server *s = server_start(&cfg, &err);
    CHECK(s != NULL);
    if (!s) return;
    int saved = g_port;
    g_port = server_port(s);
    conn c;
    resp r;
    CHECK(stream_open(&c, 5, &r));
    oc_buf got = {0};
    CHECK(read_chunk(&c, &got));
    server_stop(s);
    stream_close();
    CHECK(!g_job.result);
    close(c.fd);
    oc_buf_free(&got);
    g_port = saved;
}

static void test_bind_errors(void) {
    server_config cfg = {.quiet = true};
    char v[64];
    snprintf(v, sizeof v, "127.0.0.1:%d", g_port);
    server_host_parse(v, &cfg.addr);
    oc_error err;
    CHECK(server_start(&cfg, &err) == NULL);
    char want[128];
    snprintf(want, sizeof want, "listen tcp 127.0.0.1:%d: bind: address already in use", g_port);
    CHECK_EQ_STR(err.msg, want);
    cfg.origins = "nope";
    CHECK(server_start(&cfg, &err) == NULL && strstr(err.msg, "bad origin"));
}

static void test_ipv6(void) {
    server_config cfg = {.quiet = true};
    server_host_parse("[::1]:0", &cfg.addr);
    oc_error err;
    server *s = server_start(&cfg, &err);
    if (!s) { /* no IPv6 on this machine */
        fprintf(stderr, "skipping IPv6: %s\n", err.msg);
        return;
    }
    CHECK(strncmp(server_address(s), "[::1]:", 6) == 0);
    conn c;
    resp r;
    CHECK(conn_open(&c, AF_INET6, server_port(s)));
    const char *req = "GET / HTTP/1.1\r\nHost: [::1]:1\r\nConnection: close\r\n\r\n";
    CHECK(conn_send(&c, req, strlen(req)) && read_head(&c, &r));
    read_body(&c, &r, false);
    CHECK(r.status == 200 && strcmp(r.body.data, "Ollama is running") == 0);
    resp_free(&r);
    close(c.fd);
    server_stop(s);
}

static void test_live(void) {
    server_config cfg = {.max_body = 8192, .quiet = true, .routes = test_routes,
                         .n_routes = sizeof test_routes / sizeof *test_routes};
    server_host_parse("127.0.0.1:0", &cfg.addr);
    oc_error err;
    server *s = server_start(&cfg, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s) return;
    g_port = server_port(s);
    CHECK(g_port > 0);
    test_basics();
    test_cloud_routes();
    test_params();
    test_json_bodies();
    test_too_large();
    test_policy_live();
    test_keep_alive();
    test_stream_lines();
    test_stream_disconnect();
    test_stream_errors();
    test_filters(s);
    test_upload();
    test_stop_mid_stream();
    test_bind_errors();
    test_ipv6();
    server_interrupt(s);
    CHECK_EQ_INT(server_wait(s), 0);
    server_stop(s);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    unsetenv("OLLAMA_NO_CLOUD");
    setenv("HOME", "/nonexistent", 1); /* no ~/.ollama/server.json */
    test_host_parse();
    test_env();
    test_split_host_port();
    test_cors();
    test_host_check();
    test_json_out();
    test_live();
    return check_done();
}

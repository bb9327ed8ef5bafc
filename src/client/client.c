/* client: libcurl requests to the server, NDJSON streams, blob uploads and
 * cancellation. Transfers run on a curl multi handle polled every 100 ms so
 * a Ctrl-C (client_cancel from a signal handler) stops them promptly. */
#include "client/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/server.h"

struct client {
    char base[600];
};

static volatile sig_atomic_t g_cancel;

void client_cancel(void) { g_cancel = 1; }
void client_cancel_reset(void) { g_cancel = 0; }
bool client_canceled(void) { return g_cancel != 0; }

client *client_new(void) {
    static int curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
    client *c = oc_calloc(1, sizeof *c);
    server_host h, conn;
    server_host_from_env(&h);
    server_host_connectable(&h, &conn);
    server_host_url(&conn, c->base, sizeof c->base);
    return c;
}

void client_free(client *c) { free(c); }

const char *client_base(const client *c) { return c->base; }

void client_status_text(long code, char *buf, size_t n) {
    static const struct { long code; const char *text; } reasons[] = {
        {200, "OK"}, {201, "Created"}, {400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"},
        {404, "Not Found"}, {405, "Method Not Allowed"}, {408, "Request Timeout"}, {409, "Conflict"},
        {413, "Request Entity Too Large"}, {429, "Too Many Requests"}, {499, ""},
        {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
        {503, "Service Unavailable"}, {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (reasons[i].code == code && *reasons[i].text) {
            snprintf(buf, n, "%ld %s", code, reasons[i].text);
            return;
        }
    snprintf(buf, n, "%ld status code %ld", code, code);
}

/* ---- one transfer ---- */

typedef struct xfer {
    oc_buf body;     /* whole body (errors, plain JSON) */
    oc_buf pending;  /* stream: bytes after the last newline */
    client_object_fn fn;
    void *ud;
    CURL *easy;
    int stopped;     /* fn asked to stop */
    int stream_error; /* an {"error"} line was seen */
    oc_error *err;
    client_upload_fn up;
    void *up_ud;
} xfer;

static long response_code(CURL *easy) {
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* One complete NDJSON line of a 2xx stream. */
static int stream_line(xfer *x, const char *line, size_t len) {
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
    if (!len) return 0;
    json_t *obj = json_loadb(line, len, 0, NULL);
    if (!obj) return 0; /* upstream skips what it cannot decode */
    const char *e = json_string_value(json_object_get(obj, "error"));
    int rc = 0;
    if (e) {
        oc_fail(x->err, "%s", e);
        x->stream_error = 1;
        rc = 1;
    } else if (x->fn(x->ud, obj) != 0) {
        x->stopped = 1;
        rc = 1;
    }
    json_decref(obj);
    return rc;
}

static int stream_line_cb(void *ud, const char *line, size_t len) { return stream_line(ud, line, len); }

int client_ndjson_feed(oc_buf *pending, const char *data, size_t len, client_line_fn fn, void *ud) {
    size_t old = pending->len;
    oc_buf_append(pending, data, len);
    size_t start = 0;
    int rc = 0;
    /* Only the new bytes can hold a newline: the old ones had none. */
    for (size_t i = old; i < pending->len && !rc; i++) {
        if (pending->data[i] != '\n') continue;
        rc = fn(ud, pending->data + start, i - start);
        start = i + 1;
    }
    memmove(pending->data, pending->data + start, pending->len - start);
    pending->len -= start;
    pending->data[pending->len] = 0;
    return rc ? 1 : 0;
}

static size_t on_data(char *data, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    size_t len = size * n;
    if (g_cancel) return 0;
    long code = response_code(x->easy);
    if (!x->fn || code < 200 || code >= 300) {
        if (x->body.len < (16u << 20)) oc_buf_append(&x->body, data, len);
        return len;
    }
    if (x->pending.len > (64u << 20)) { /* a line no server sends: refuse to grow */
        oc_fail(x->err, "response line too long");
        x->stream_error = 1;
        return 0;
    }
    return client_ndjson_feed(&x->pending, data, len, stream_line_cb, x) ? 0 : len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal, (void)dlnow;
    xfer *x = ud;
    if (g_cancel) return 1;
    if (x->up && ultotal > 0) x->up(x->up_ud, (int64_t)ulnow, (int64_t)ultotal);
    return 0;
}

/* The error text for a failed connection or non-2xx answer. */
static void answer_error(xfer *x, long code, bool streaming) {
    json_t *j = x->body.len ? json_loadb(x->body.data, x->body.len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(j, "error"));
    char st[80];
    client_status_text(code, st, sizeof st);
    if (streaming)
        oc_fail(x->err, "%s: %s", st, e ? e : (x->body.len ? x->body.data : ""));
    else if (e)
        oc_fail(x->err, "%s", e);
    else if (x->body.len)
        oc_fail(x->err, "%s", x->body.data);
    else
        oc_fail(x->err, "%s", st);
    json_decref(j);
}

static int connect_error(CURLcode rc, oc_error *err) {
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        return oc_fail(err, "could not connect to ollama server, run 'ollama serve' to start it");
    return oc_fail(err, "%s", curl_easy_strerror(rc));
}

/* Runs easy on a multi handle, polling the cancel flag every 100 ms. */
static CURLcode perform(CURL *easy) {
    CURLM *m = curl_multi_init();
    curl_multi_add_handle(m, easy);
    int running = 1;
    CURLcode rc = CURLE_OK;
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        if (g_cancel) {
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)))
        if (msg->msg == CURLMSG_DONE && rc == CURLE_OK) rc = msg->data.result;
    curl_multi_remove_handle(m, easy);
    curl_multi_cleanup(m);
    return rc;
}

typedef struct request {
    const char *method, *path;
    json_t *body;
    FILE *upload;
    int64_t upload_size;
    bool stream;
    long timeout_s;
} request;

/* Performs req; returns the curl result and fills *code. */
static CURLcode run(client *c, const request *req, xfer *x, long *code) {
    CURL *easy = curl_easy_init();
    x->easy = easy;
    char url[2048];
    snprintf(url, sizeof url, "%s%s", c->base, req->path);
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, req->stream ? "Accept: application/x-ndjson" : "Accept: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    char *body = req->body ? json_dumps(req->body, JSON_COMPACT) : NULL;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "ollama/" SERVER_VERSION " (amd64 linux) ollama.c");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (req->timeout_s) curl_easy_setopt(easy, CURLOPT_TIMEOUT, req->timeout_s);
    if (strcmp(req->method, "HEAD") == 0) curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    else if (strcmp(req->method, "GET") != 0) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->upload) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_READDATA, req->upload);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->upload_size);
    } else if (body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = perform(easy);
    *code = response_code(easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(hdr);
    free(body);
    return rc;
}

static void xfer_free(xfer *x) {
    oc_buf_free(&x->body);
    oc_buf_free(&x->pending);
}

int client_heartbeat(client *c, oc_error *err) {
    xfer x = {.err = err};
    long code = 0;
    request req = {.method = "HEAD", .path = "/", .timeout_s = 10};
    CURLcode rc = run(c, &req, &x, &code);
    xfer_free(&x);
    if (rc != CURLE_OK) return connect_error(rc, err);
    if (code != 200) {
        char st[80];
        client_status_text(code, st, sizeof st);
        return oc_fail(err, "%s", st);
    }
    return 0;
}

static int json_request(client *c, const char *method, const char *path, json_t *body, json_t **out, long *status,
                        bool error_body, oc_error *err) {
    if (out) *out = NULL;
    xfer x = {.err = err};
    long code = 0;
    request req = {.method = method, .path = path, .body = body};
    CURLcode rc = run(c, &req, &x, &code);
    if (status) *status = rc == CURLE_OK ? code : 0;
    int ret = 0;
    if (rc != CURLE_OK) {
        ret = connect_error(rc, err);
    } else if (code < 200 || code >= 300) {
        answer_error(&x, code, false);
        ret = -1;
    }
    if (rc == CURLE_OK && out && x.body.len && (ret == 0 || error_body))
        *out = json_loadb(x.body.data, x.body.len, 0, NULL);
    xfer_free(&x);
    return ret;
}

int client_json(client *c, const char *method, const char *path, json_t *body, json_t **out, long *status,
                oc_error *err) {
    return json_request(c, method, path, body, out, status, false, err);
}

int client_json_any(client *c, const char *method, const char *path, json_t *body, json_t **out, long *status,
                    oc_error *err) {
    return json_request(c, method, path, body, out, status, true, err);
}

int client_stream(client *c, const char *path, json_t *body, client_object_fn fn, void *ud, oc_error *err) {
    xfer x = {.err = err, .fn = fn, .ud = ud};
    long code = 0;
    request req = {.method = "POST", .path = path, .body = body, .stream = true};
    CURLcode rc = run(c, &req, &x, &code);
    int ret = 0;
    if (x.stream_error) ret = -1;
    else if (x.stopped || g_cancel) ret = CLIENT_CANCELED;
    else if (rc != CURLE_OK) ret = connect_error(rc, err);
    else if (code < 200 || code >= 300) {
        answer_error(&x, code, true);
        ret = -1;
    } else if (x.pending.len && stream_line(&x, x.pending.data, x.pending.len)) {
        ret = x.stream_error ? -1 : CLIENT_CANCELED;
    }
    xfer_free(&x);
    return ret;
}

int client_upload_blob(client *c, const char *digest, const char *path, client_upload_fn progress, void *ud,
                       oc_error *err) {
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f) fclose(f);
        return oc_fail(err, "open %s: %s", path, strerror(errno));
    }
    char p[128];
    snprintf(p, sizeof p, "/api/blobs/%s", digest);
    xfer x = {.err = err, .up = progress, .up_ud = ud};
    long code = 0;
    request req = {.method = "POST", .path = p, .upload = f, .upload_size = st.st_size};
    CURLcode rc = run(c, &req, &x, &code);
    fclose(f);
    int ret = 0;
    if (rc != CURLE_OK) ret = g_cancel ? oc_fail(err, "canceled") : connect_error(rc, err);
    else if (code < 200 || code >= 300) {
        answer_error(&x, code, false);
        ret = -1;
    } else if (progress) {
        progress(ud, st.st_size, st.st_size);
    }
    xfer_free(&x);
    return ret;
}

int client_file_digest(const char *path, char out[72], oc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return oc_fail(err, "open %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    static char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
    int bad = ferror(f);
    fclose(f);
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    if (bad) return oc_fail(err, "read %s: I/O error", path);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++) sprintf(out + 7 + 2 * i, "%02x", md[i]);
    return 0;
}

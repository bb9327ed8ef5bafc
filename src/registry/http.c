/* registry: the HTTP client of every registry call — libcurl handles with
 * the common options, one exchange, and upstream's retry rule (a 401 is
 * answered with a token once, 404 and other errors mapped to its texts). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "registry/registry_internal.h"
#include "server/server.h"

#define BODY_LIMIT ((size_t)64 << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* Test hook (as OLLAMA_TEST_REPLAY): one part size for every blob, so
     * tests move many parts with a small model. */
    const char *ps = getenv("OLLAMA_TEST_PART_SIZE");
    if (ps && atoll(ps) > 0) reg_part_min = reg_part_max = atoll(ps);
}

void reg_resp_free(reg_resp *r) {
    oc_buf_free(&r->body);
    free(r->location);
    free(r->www_auth);
    free(r->effective_url);
    memset(r, 0, sizeof *r);
}

int reg_client_init(reg_client *c, const store_name *n, const registry_opts *o, oc_error *err) {
    memset(c, 0, sizeof *c);
    pthread_once(&curl_once, curl_init);
    c->o = o;
    bool http = strcasecmp(n->scheme, "http") == 0;
    if (http && !o->insecure) return oc_fail(err, "insecure protocol http");
    snprintf(c->host, sizeof c->host, "%s", n->host);
    snprintf(c->base, sizeof c->base, "%s://%s", http || o->insecure ? "http" : "https", n->host);
    snprintf(c->repo, sizeof c->repo, "%s/%s", n->ns, n->model);
    return 0;
}

void reg_client_free(reg_client *c) {
    free(c->token);
    c->token = NULL;
}

bool reg_cancelled(const reg_client *c) { return c->o->cancelled && c->o->cancelled(c->o->cancel_ud); }

bool reg_sleep(const reg_client *c, int64_t ms) {
    for (int64_t t = 0; t < ms; t += 50) {
        if (reg_cancelled(c)) return false;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return !reg_cancelled(c);
}

char *reg_fix_scheme(const reg_client *c, const char *url) {
    if (c->o->insecure && strncasecmp(url, "https://", 8) == 0) {
        oc_buf b = {0};
        oc_buf_printf(&b, "http://%s", url + 8);
        return b.data;
    }
    return oc_strdup(url);
}

char *reg_resolve(const reg_client *c, const char *base_url, const char *loc) {
    CURLU *u = curl_url();
    char *out = NULL;
    if (curl_url_set(u, CURLUPART_URL, base_url ? base_url : c->base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK) {
        char *s = NULL;
        if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) out = reg_fix_scheme(c, s);
        curl_free(s);
    }
    curl_url_cleanup(u);
    return out ? out : oc_strdup(loc);
}

static int xfer_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    (void)dt, (void)dn, (void)ut, (void)un;
    return reg_cancelled(ud) ? 1 : 0;
}

CURL *reg_easy(reg_client *c) {
    pthread_once(&curl_once, curl_init);
    CURL *h = curl_easy_init();
    if (!h) return NULL;
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ollama/" SERVER_VERSION " (amd64 linux) Go/go1.24.0");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    /* a registry's redirects must not reach file:// or other schemes */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    /* proxies: libcurl reads http_proxy, https_proxy and no_proxy itself */
    return h;
}

static size_t body_cb(char *p, size_t sz, size_t n, void *ud) {
    reg_resp *r = ud;
    size_t len = sz * n;
    if (r->stop_at_body) return 0; /* headers are all we wanted */
    if (r->body.len + len > BODY_LIMIT) return 0;
    oc_buf_append(&r->body, p, len);
    return len;
}

/* Keeps the headers the protocol needs; a redirect's are reset by the next. */
static size_t header_cb(char *p, size_t sz, size_t n, void *ud) {
    reg_resp *r = ud;
    size_t len = sz * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        free(r->location), free(r->www_auth);
        r->location = r->www_auth = NULL;
        r->content_length = -1;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon) return len;
    size_t klen = (size_t)(colon - p);
    const char *v = colon + 1, *e = p + len;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
    char *val = oc_strndup(v, (size_t)(e - v));
    if (klen == 22 && strncasecmp(p, "Docker-Upload-Location", klen) == 0) {
        free(r->location);
        r->location = val; /* preferred over Location */
        return len;
    }
    if (klen == 8 && strncasecmp(p, "Location", klen) == 0 && !r->location) r->location = val, val = NULL;
    else if (klen == 16 && strncasecmp(p, "WWW-Authenticate", klen) == 0 && !r->www_auth) r->www_auth = val, val = NULL;
    else if (klen == 14 && strncasecmp(p, "Content-Length", klen) == 0) r->content_length = strtoll(val, NULL, 10);
    free(val);
    return len;
}

static size_t read_cb(char *buf, size_t sz, size_t n, void *ud) {
    reg_body *b = ud;
    size_t want = sz * n;
    if (want > b->len) want = (size_t)b->len;
    if (!want) return 0;
    if (b->fd < 0) {
        memcpy(buf, b->mem + b->offset, want);
    } else {
        ssize_t got = pread(b->fd, buf, want, (off_t)b->offset);
        if (got <= 0) return CURL_READFUNC_ABORT;
        want = (size_t)got;
    }
    b->offset += want, b->len -= want;
    return want;
}

static void set_body(CURL *h, const char *method, const reg_body *body, reg_body *cursor) {
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        return;
    }
    if (strcmp(method, "GET") != 0) {
        *cursor = body ? *body : (reg_body){.fd = -1, .mem = ""};
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, cursor);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)cursor->len);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

/* A transport failure worded like Go's url.Error:
 * Get "http://h:1/v2/…": dial tcp h:1: connect: connection refused. */
static int net_error(CURLcode rc, const char *method, const char *url, const char *ebuf, oc_error *err) {
    char m[16];
    snprintf(m, sizeof m, "%s", method);
    for (char *p = m + 1; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    char hostport[STORE_HOST_MAX + 16] = "";
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_HOST, &host, 0);
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        snprintf(hostport, sizeof hostport, "%s:%s", host ? host : "", port ? port : "");
    }
    curl_free(host), curl_free(port);
    curl_url_cleanup(u);
    if (rc == CURLE_COULDNT_CONNECT)
        return oc_fail(err, "%s \"%s\": dial tcp %s: connect: connection refused", m, url, hostport);
    if (rc == CURLE_COULDNT_RESOLVE_HOST)
        return oc_fail(err, "%s \"%s\": dial tcp: lookup %s: no such host", m, url, hostport);
    return oc_fail(err, "%s \"%s\": %s", m, url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
}

int reg_exchange(reg_client *c, const char *method, const char *url, const char *const *headers,
                 const reg_body *body, bool auth, bool follow, reg_resp *r, oc_error *err) {
    bool stop = r->stop_at_body;
    reg_resp_free(r);
    r->stop_at_body = stop;
    r->content_length = -1;
    CURL *h = reg_easy(c);
    if (!h) return oc_fail(err, "curl: cannot create a handle");
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    oc_buf a = {0};
    if (auth && c->token) {
        oc_buf_printf(&a, "Authorization: Bearer %s", c->token);
        hl = curl_slist_append(hl, a.data);
    }
    reg_body cursor;
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    set_body(h, method, body, &cursor);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    char *eff = NULL;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    r->effective_url = oc_strdup(eff ? eff : url);
    int ret = 0;
    if (rc == CURLE_ABORTED_BY_CALLBACK) ret = oc_fail(err, "context canceled");
    else if (rc == CURLE_WRITE_ERROR && stop && r->status) ret = 0;
    else if (rc != CURLE_OK) ret = net_error(rc, method, url, ebuf, err);
    curl_slist_free_all(hl);
    oc_buf_free(&a);
    curl_easy_cleanup(h);
    return ret;
}

int reg_request(reg_client *c, const char *method, const char *url, const char *const *headers,
                const reg_body *body, reg_resp *r, oc_error *err) {
    char *u = reg_fix_scheme(c, url);
    int ret = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((ret = reg_exchange(c, method, u, headers, body, true, true, r, err))) break;
        if (r->status == 401) {
            if (attempt == 1) {
                ret = oc_fail(err, "unauthorized: access denied");
                break;
            }
            registry_challenge ch;
            registry_parse_challenge(r->www_auth ? r->www_auth : "", &ch);
            if ((ret = reg_fetch_token(c, u, &ch, err))) break;
            continue;
        }
        if (r->status == 404) ret = oc_fail(err, "file does not exist");
        else if (r->status >= 400) ret = oc_fail(err, "%ld: %.*s", r->status, (int)(r->body.len > 400 ? 400 : r->body.len), r->body.data ? r->body.data : "");
        break;
    }
    free(u);
    return ret;
}

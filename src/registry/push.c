/* registry: push (registry.md §5): for each blob a HEAD, else an upload
 * (POST, cross-repo mount when the layer names its origin, PATCH parts or
 * the 307 redirect's PUT, the final PUT with digest and etag), then the
 * manifest PUT last — the local bytes unchanged, so a model pushed and
 * pulled back keeps its ID. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/registry_internal.h"

typedef struct up {
    reg_client *c;
    const store_layer *l;
    int fd;
    char *loc;
    char status[32];
    int64_t done;
    EVP_MD_CTX *etag; /* MD5 over the parts' MD5s */
    size_t nparts;
} up;

static void report(const up *u) {
    const registry_opts *o = u->c->o;
    if (o->progress) o->progress(o->ud, u->status, u->l->digest, u->l->size, u->done);
}

/* The repository a `from` names ("host/ns/model:tag" or a short name). */
static void from_repo(const char *from, char *out, size_t n) {
    store_name fn;
    out[0] = 0;
    if (store_name_parse(from, &fn, NULL) == 0) snprintf(out, n, "%s/%s", fn.ns, fn.model);
}

/* 1 = mounted (201), 0 = upload started at u->loc, -1 = error. */
static int start_upload(up *u, oc_error *err) {
    oc_buf url = {0};
    oc_buf_printf(&url, "%s/v2/%s/blobs/uploads/", u->c->base, u->c->repo);
    char repo[2 * STORE_PART_MAX + 2];
    if (u->l->from) from_repo(u->l->from, repo, sizeof repo);
    if (u->l->from && repo[0]) oc_buf_printf(&url, "?mount=%s&from=%s", u->l->digest, repo);
    reg_resp r = {0};
    reg_body empty = {.fd = -1, .mem = ""};
    int rc = reg_request(u->c, "POST", url.data, NULL, &empty, &r, err);
    if (!rc && r.status == 201) rc = 1;
    else if (!rc && !r.location) rc = oc_fail(err, "upload: no Location in the registry's answer");
    else if (!rc) u->loc = reg_resolve(u->c, r.effective_url, r.location);
    reg_resp_free(&r);
    oc_buf_free(&url);
    return rc;
}

/* One part: PATCH (or, on 307, PUT to the redirect); the next location
 * comes back in the answer. */
static int send_part(up *u, const registry_part *p, oc_error *err) {
    char cl[64], cr[96];
    snprintf(cl, sizeof cl, "Content-Length: %lld", (long long)p->size);
    snprintf(cr, sizeof cr, "Content-Range: %lld-%lld", (long long)p->offset, (long long)(p->offset + p->size - 1));
    const char *h[] = {"Content-Type: application/octet-stream", cl, "X-Redirect-Uploads: 1", cr, NULL};
    reg_body body = {.fd = u->fd, .offset = (uint64_t)p->offset, .len = (uint64_t)p->size};
    reg_resp r = {0};
    int rc = reg_request(u->c, "PATCH", u->loc, h, &body, &r, err);
    if (!rc && r.status == 307 && r.location) {
        char *to = reg_resolve(u->c, r.effective_url, r.location);
        const char *h2[] = {"Content-Type: application/octet-stream", cl, NULL};
        reg_resp r2 = {0};
        body = (reg_body){.fd = u->fd, .offset = (uint64_t)p->offset, .len = (uint64_t)p->size};
        rc = reg_exchange(u->c, "PUT", to, h2, &body, false, true, &r2, err);
        if (!rc && r2.status >= 400) rc = oc_fail(err, "http status %ld: %.*s", r2.status, (int)(r2.body.len > 300 ? 300 : r2.body.len), r2.body.data ? r2.body.data : "");
        reg_resp_free(&r2);
        free(to);
    }
    if (!rc && r.location) {
        free(u->loc);
        u->loc = reg_resolve(u->c, r.effective_url, r.location);
    }
    reg_resp_free(&r);
    return rc;
}

static void part_md5(up *u, const registry_part *p) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    char buf[1 << 16];
    for (int64_t off = 0; off < p->size;) {
        size_t want = p->size - off < (int64_t)sizeof buf ? (size_t)(p->size - off) : sizeof buf;
        ssize_t n = pread(u->fd, buf, want, (off_t)(p->offset + off));
        if (n <= 0) break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        off += n;
    }
    unsigned char d[16];
    EVP_DigestFinal_ex(md, d, NULL);
    EVP_MD_CTX_free(md);
    EVP_DigestUpdate(u->etag, d, sizeof d);
    u->nparts++;
}

/* Each part with 6 tries, 2^try s apart; a failed try's bytes roll back. */
static int send_parts(up *u, oc_error *err) {
    registry_part *parts;
    size_t n = registry_split(u->l->size, &parts);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        part_md5(u, &parts[i]);
        for (int try = 0;; try++) {
            if ((rc = send_part(u, &parts[i], err)) == 0) break;
            if (reg_cancelled(u->c) || try + 1 >= REG_MAX_RETRIES) break;
            oc_log(OC_LOG_INFO, "registry: upload part %zu of %s failed: %s, retrying", i, u->l->digest, err->msg);
            if (!reg_sleep(u->c, 1000LL << try)) break;
        }
        if (!rc) u->done += parts[i].size;
        report(u);
    }
    free(parts);
    return rc;
}

static int commit_upload(up *u, oc_error *err) {
    unsigned char d[16];
    EVP_DigestFinal_ex(u->etag, d, NULL);
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    CURLU *url = curl_url();
    char *full = NULL;
    oc_buf q = {0};
    oc_buf_printf(&q, "digest=%s", u->l->digest);
    char etag[64];
    snprintf(etag, sizeof etag, "etag=%s-%zu", hex, u->nparts);
    if (curl_url_set(url, CURLUPART_URL, u->loc, 0) != CURLUE_OK ||
        curl_url_set(url, CURLUPART_QUERY, q.data, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK ||
        curl_url_set(url, CURLUPART_QUERY, etag, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK ||
        curl_url_get(url, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        curl_url_cleanup(url);
        oc_buf_free(&q);
        return oc_fail(err, "upload: bad location %s", u->loc);
    }
    const char *h[] = {"Content-Type: application/octet-stream", "Content-Length: 0", NULL};
    reg_body empty = {.fd = -1, .mem = ""};
    int rc = -1;
    for (int try = 0; rc && try < REG_MAX_RETRIES; try++) {
        reg_resp r = {0};
        rc = reg_request(u->c, "PUT", full, h, &empty, &r, err);
        reg_resp_free(&r);
        if (rc && (reg_cancelled(u->c) || try + 1 >= REG_MAX_RETRIES || !reg_sleep(u->c, 1000LL << try))) break;
    }
    curl_free(full);
    curl_url_cleanup(url);
    oc_buf_free(&q);
    return rc;
}

/* 0 when the registry has the blob now. */
static int push_blob(reg_client *c, store *s, const store_layer *l, oc_error *err) {
    up u = {.c = c, .l = l, .fd = -1};
    snprintf(u.status, sizeof u.status, "pushing %.12s", l->digest + 7);
    oc_buf url = {0};
    oc_buf_printf(&url, "%s/v2/%s/blobs/%s", c->base, c->repo, l->digest);
    reg_resp r = {0};
    int rc = reg_request(c, "HEAD", url.data, NULL, NULL, &r, err);
    bool exists = rc == 0 && r.status == 200;
    if (rc && r.status == 404) rc = 0;
    reg_resp_free(&r);
    oc_buf_free(&url);
    if (rc) return rc;
    if (exists) {
        u.done = l->size;
        report(&u);
        return 0;
    }
    char path[4200];
    if (store_blob_path(s, l->digest, path, sizeof path, err)) return -1;
    u.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (u.fd < 0) return oc_fail(err, "open %s: %s", path, strerror(errno));
    u.etag = EVP_MD_CTX_new();
    EVP_DigestInit_ex(u.etag, EVP_md5(), NULL);
    report(&u);
    rc = start_upload(&u, err);
    if (rc == 1) {
        u.done = l->size;
        report(&u);
        rc = 0;
    } else if (rc == 0) {
        rc = send_parts(&u, err);
        if (!rc) rc = commit_upload(&u, err);
    }
    EVP_MD_CTX_free(u.etag);
    free(u.loc);
    close(u.fd);
    return rc;
}

int registry_push(store *s, const char *name, const registry_opts *o, int *status, oc_error *err) {
    *status = 500;
    store_name n;
    if (!name || !*name) {
        *status = 400;
        return oc_fail(err, "model is required");
    }
    if (store_name_parse(name, &n, NULL)) {
        *status = 400;
        return oc_fail(err, "invalid model name");
    }
    store_name_fold_existing(s, &n);
    reg_client c;
    if (reg_client_init(&c, &n, o, err)) return -1;
    if (o->progress) o->progress(o->ud, "retrieving manifest", NULL, 0, 0);
    char *data = NULL;
    size_t len = 0;
    store_manifest m;
    int rc = store_manifest_read_raw(s, &n, &data, &len, err);
    char mpath[4200];
    if (rc == STORE_ERR_NOT_FOUND && store_manifest_path(s, &n, mpath, sizeof mpath, NULL) == 0)
        oc_fail(err, "open %s: no such file or directory", mpath); /* upstream's os.ReadFile error */
    if (!rc) rc = store_manifest_parse(data, len, &m, err);
    if (rc) {
        if (o->progress) o->progress(o->ud, "couldn't retrieve manifest", NULL, 0, 0);
        free(data);
        reg_client_free(&c);
        return -1;
    }
    for (size_t i = 0; i <= m.n_layers && !rc; i++) {
        const store_layer *l = i < m.n_layers ? &m.layers[i] : &m.config;
        if (i == m.n_layers && !l->digest[0]) break;
        if (strncmp(l->digest, "sha256:", 7) != 0 || !store_digest_valid(l->digest)) rc = oc_fail(err, "invalid digest format");
        else rc = push_blob(&c, s, l, err);
    }
    if (!rc) {
        if (o->progress) o->progress(o->ud, "pushing manifest", NULL, 0, 0);
        oc_buf url = {0};
        oc_buf_printf(&url, "%s/v2/%s/manifests/%s", c.base, c.repo, n.tag);
        const char *h[] = {"Content-Type: " REG_ACCEPT, NULL};
        reg_body body = {.fd = -1, .mem = data, .len = len};
        reg_resp r = {0};
        rc = reg_request(&c, "PUT", url.data, h, &body, &r, err);
        reg_resp_free(&r);
        oc_buf_free(&url);
    }
    if (!rc && o->progress) o->progress(o->ud, "success", NULL, 0, 0);
    store_manifest_free(&m);
    free(data);
    reg_client_free(&c);
    return rc;
}

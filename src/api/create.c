/* api: /api/create (JSON request -> store_create with streamed progress)
 * and the blob upload endpoints it relies on. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

/* A clean relative path: no leading '/', no "." or ".." segments. */
static bool clean_relative(const char *p) {
    if (!*p || *p == '/') return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
        s += n + (e ? 1 : 0);
    }
    return true;
}

static int read_files(const json_t *obj, store_file_ref **files, size_t *n, server_response *res) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (!clean_relative(k)) return server_respond_error(res, 400, "file path must be relative"), -1;
        const char *d = json_string_value(v);
        if (!d || !*d) return server_respond_error(res, 400, "invalid digest format"), -1;
        store_create_req_add_file(files, n, k, d);
    }
    return 0;
}

static char *dup_str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? oc_strdup(s) : NULL;
}

static void read_licenses(const json_t *v, store_create_req *r) {
    if (json_is_string(v)) {
        r->licenses = oc_calloc(1, sizeof(char *));
        r->licenses[r->n_licenses++] = oc_strdup(json_string_value(v));
    } else if (json_is_array(v)) {
        r->licenses = oc_calloc(json_array_size(v) + 1, sizeof(char *));
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (json_is_string(e)) r->licenses[r->n_licenses++] = oc_strdup(json_string_value(e));
    }
}

static void read_messages(const json_t *v, store_create_req *r) {
    if (!json_is_array(v)) return;
    r->messages = oc_calloc(json_array_size(v) + 1, sizeof(store_message));
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        r->messages[r->n_messages].role = oc_strdup(role ? role : "");
        r->messages[r->n_messages++].content = oc_strdup(content ? content : "");
    }
}

/* Fills r from the body; answers and returns -1 on a validation error. */
static int parse_create(const json_t *body, store_create_req *r, server_response *res) {
    r->model = dup_str(body, "model");
    if (!r->model || !*r->model) free(r->model), r->model = dup_str(body, "name");
    store_name n;
    if (!r->model || store_name_parse(r->model, &n, NULL)) return server_respond_error(res, 400, "invalid model name"), -1;
    if (read_files(json_object_get(body, "files"), &r->files, &r->n_files, res) ||
        read_files(json_object_get(body, "adapters"), &r->adapters, &r->n_adapters, res))
        return -1;
    r->from = dup_str(body, "from");
    if (r->from && !*r->from) free(r->from), r->from = NULL;
    if (!r->from && !r->n_files) return server_respond_error(res, 400, "neither 'from' or 'files' was specified"), -1;
    if (r->from && store_name_parse(r->from, &n, NULL) && !strchr(r->from, '/'))
        return server_respond_error(res, 400, "invalid model name"), -1;
    r->template_text = dup_str(body, "template");
    r->system = dup_str(body, "system");
    r->renderer = dup_str(body, "renderer");
    r->parser = dup_str(body, "parser");
    r->requires = dup_str(body, "requires");
    r->quantize = dup_str(body, "quantize");
    if (!r->quantize) r->quantize = dup_str(body, "quantization");
    read_licenses(json_object_get(body, "license"), r);
    read_messages(json_object_get(body, "messages"), r);
    const json_t *params = json_object_get(body, "parameters");
    if (json_is_object(params)) r->parameters = json_deep_copy(params);
    return 0;
}

typedef struct create_progress {
    server_stream *w;
    json_t *last;
} create_progress;

static void on_progress(void *ud, const char *status, const char *digest, int64_t total, int64_t completed) {
    create_progress *p = ud;
    json_t *o = json_pack("{s:s}", "status", status);
    if (digest && *digest) json_object_set_new(o, "digest", json_string(digest));
    if (total) json_object_set_new(o, "total", json_integer(total));
    if (completed) json_object_set_new(o, "completed", json_integer(completed));
    if (p->w) {
        server_stream_write_json(p->w, o);
    } else {
        json_decref(p->last);
        p->last = o;
    }
}

void api_handle_create(server_request *req, server_response *res, void *ctx_) {
    api_ctx *ctx = ctx_;
    json_t *body = server_request_json(req);
    store_create_req r = {0};
    if (parse_create(body, &r, res) == 0) {
        create_progress p = {0};
        bool stream = !json_is_false(json_object_get(body, "stream"));
        if (stream) p.w = server_stream_begin(res, NULL);
        oc_error err;
        int rc = store_create(ctx->st, &r, on_progress, &p, &err);
        int status = rc == STORE_ERR_NOT_FOUND ? 404 : rc == STORE_ERR_INVALID ? 400 : 500;
        if (stream) {
            if (rc) server_stream_error(p.w, status, err.msg);
            server_stream_end(p.w);
        } else if (rc) {
            server_respond_error(res, status, "%s", err.msg);
        } else {
            server_respond_json(res, 200, json_incref(p.last));
        }
        json_decref(p.last);
    }
    store_create_req_free(&r);
}

/* ---- blobs ---- */

void api_handle_blob_head(server_request *req, server_response *res, void *ctx_) {
    api_ctx *ctx = ctx_;
    const char *digest = server_request_param(req, "digest");
    if (!store_digest_valid(digest)) return server_respond_error(res, 400, "invalid digest format");
    if (store_blob_exists(ctx->st, digest)) server_respond_empty(res, 200);
    else server_respond_error(res, 404, "blob \"%s\" not found", digest);
}

typedef struct blob_upload {
    store_blob_writer *w;
    char digest[STORE_DIGEST_SIZE];
    bool failed;
    oc_error err;
} blob_upload;

static bool blob_sink(void *ud, const void *data, size_t len) {
    blob_upload *u = ud;
    if (store_blob_writer_write(u->w, data, len, &u->err) != 0) u->failed = true;
    return !u->failed;
}

static void blob_done(server_request *req, server_response *res, void *ud, enum server_body_end how) {
    (void)req;
    blob_upload *u = ud;
    if (how != SERVER_BODY_COMPLETE || u->failed) {
        store_blob_writer_abort(u->w);
        if (how != SERVER_BODY_DISCONNECTED) server_respond_error(res, 500, "%s", u->err.msg);
    } else {
        bool created = false;
        oc_error err;
        int rc = store_blob_writer_commit(u->w, u->digest, NULL, NULL, &created, &err);
        if (rc == STORE_ERR_INVALID) server_respond_error(res, 400, "%s", err.msg);
        else if (rc) server_respond_error(res, 500, "%s", err.msg);
        else server_respond_empty(res, created ? 201 : 200);
    }
    free(u);
}

void api_handle_blob_post(server_request *req, server_response *res, void *ctx_) {
    api_ctx *ctx = ctx_;
    const char *digest = server_request_param(req, "digest");
    if (!store_digest_valid(digest)) return server_respond_error(res, 400, "invalid digest format");
    if (store_blob_exists(ctx->st, digest)) return server_respond_empty(res, 200);
    blob_upload *u = oc_calloc(1, sizeof *u);
    snprintf(u->digest, sizeof u->digest, "%s", digest);
    u->w = store_blob_writer_new(ctx->st, &u->err);
    if (!u->w) {
        server_respond_error(res, 500, "%s", u->err.msg);
        free(u);
        return;
    }
    server_request_read_body(req, blob_sink, blob_done, u);
}

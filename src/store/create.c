/* create, second half: metadata layers, the config blob and the manifest
 * (modelfile.md §4 steps 5-6; upstream server/create.go createModel and
 * set*). The manifest is written last, atomically, under the store lock;
 * any failure removes the blobs this create published that nothing else
 * references, so a failed create leaves the store as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/create_internal.h"

void create_emit(cctx *c, const char *status, const char *digest, int64_t total, int64_t completed) {
    if (c->progress) c->progress(c->ud, status, digest, total, completed);
}

clayer *create_push(cctx *c) {
    c->v = oc_realloc(c->v, (c->n + 1) * sizeof *c->v);
    memset(&c->v[c->n], 0, sizeof *c->v);
    return &c->v[c->n++];
}

static void clayer_free(clayer *cl) {
    store_layer_clear(&cl->l);
    free(cl->status);
    gguf_close(cl->g);
}

void create_fresh(cctx *c, const char *digest) {
    c->fresh = oc_realloc(c->fresh, (c->n_fresh + 1) * sizeof *c->fresh);
    c->fresh[c->n_fresh++] = oc_strdup(digest);
}

static char *status_line(const char *what, const char *digest) {
    size_t n = strlen(what) + strlen(digest) + 2;
    char *s = oc_malloc(n);
    snprintf(s, n, "%s %s", what, digest);
    return s;
}

int create_layer_from_blob(cctx *c, clayer *cl, const char *digest, const char *mt, const char *from) {
    char path[PATH_MAX];
    int rc = store_blob_path(c->s, digest, path, sizeof path, c->err);
    if (rc != 0) return rc;
    struct stat st;
    if (stat(path, &st) != 0) {
        oc_fail(c->err, "stat %s: %s", path, strerror(errno));
        return errno == ENOENT ? STORE_ERR_NOT_FOUND : STORE_ERR;
    }
    store_touch(path); /* in use again: keep it clear of the prune grace */
    store_layer_set(&cl->l, mt, digest, (int64_t)st.st_size, from, NULL);
    cl->status = status_line("using existing layer", digest);
    return 0;
}

int create_layer_from_bytes(cctx *c, const void *data, size_t len, const char *mt) {
    char digest[STORE_DIGEST_SIZE];
    bool created = false;
    int rc = store_blob_write(c->s, data, len, NULL, digest, &created, c->err);
    if (rc != 0) return rc;
    if (created) create_fresh(c, digest);
    clayer *cl = create_push(c);
    store_layer_set(&cl->l, mt, digest, (int64_t)len, NULL, NULL);
    cl->status = status_line(created ? "creating new layer" : "using existing layer", digest);
    return 0;
}

/* removeLayer: drops every layer of a media type from the list. */
static void remove_layers(cctx *c, const char *mt) {
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!strcmp(c->v[i].l.media_type, mt)) clayer_free(&c->v[i]);
        else c->v[k++] = c->v[i];
    }
    c->n = k;
}

/* ---- metadata layers ---- */

static int set_template(cctx *c) {
    const char *t = c->req->template_text;
    if (!t || !*t) return 0;
    remove_layers(c, STORE_MT_TEMPLATE);
    store_check_template_fn check = c->s->hooks.check_template; /* TODO(chat): Go template parser */
    if (check && check(c->s->hooks.ud, t, c->err) != 0) {
        oc_error_prefix(c->err, "template error");
        return STORE_ERR_INVALID;
    }
    return create_layer_from_bytes(c, t, strlen(t), STORE_MT_TEMPLATE);
}

static int set_system(cctx *c) {
    const char *s = c->req->system;
    if (!s || !*s) return 0;
    remove_layers(c, STORE_MT_SYSTEM);
    return create_layer_from_bytes(c, s, strlen(s), STORE_MT_SYSTEM);
}

static int set_licenses(cctx *c) {
    for (size_t i = 0; i < c->req->n_licenses; i++) {
        const char *l = c->req->licenses[i] ? c->req->licenses[i] : "";
        int rc = create_layer_from_bytes(c, l, strlen(l), STORE_MT_LICENSE);
        if (rc != 0) return rc;
    }
    return 0;
}

/* Adds the keys of an existing params layer that the new map lacks. */
static int merge_params_blob(cctx *c, json_t *p, const char *digest) {
    char path[PATH_MAX];
    size_t len;
    int rc = store_blob_path(c->s, digest, path, sizeof path, c->err);
    char *data = rc == 0 ? oc_read_file(path, &len, c->err) : NULL;
    json_t *old = data ? store_json_parse(data, len, c->err) : NULL;
    free(data);
    if (!old) return STORE_ERR;
    if (!json_is_object(old) && !json_is_null(old)) {
        json_decref(old);
        return oc_fail(c->err, "json: cannot unmarshal params into map");
    }
    const char *k;
    json_t *v;
    json_object_foreach(old, k, v)
        if (!json_object_get(p, k)) json_object_set(p, k, v);
    json_decref(old);
    return 0;
}

static int set_params(cctx *c) {
    json_t *p = json_deep_copy(c->params);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->n; i++)
        if (!strcmp(c->v[i].l.media_type, STORE_MT_PARAMS)) rc = merge_params_blob(c, p, c->v[i].l.digest);
    if (rc == 0 && json_object_size(p)) {
        remove_layers(c, STORE_MT_PARAMS);
        size_t len;
        char *bytes = store_json_encode(p, &len, c->err);
        rc = bytes ? create_layer_from_bytes(c, bytes, len, STORE_MT_PARAMS) : STORE_ERR;
        free(bytes);
    }
    json_decref(p);
    return rc;
}

static int set_messages(cctx *c) {
    const store_create_req *r = c->req;
    if (!r->n_messages) return 0;
    remove_layers(c, STORE_MT_MESSAGES);
    oc_buf b = {0};
    oc_buf_puts(&b, "[");
    for (size_t i = 0; i < r->n_messages; i++) {
        char *role = oc_strdup(r->messages[i].role ? r->messages[i].role : "");
        for (char *q = role; *q; q++) /* api.Message lower-cases roles on decode */
            if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
        oc_buf_puts(&b, i ? ",{\"role\":" : "{\"role\":");
        store_gj_cstr(&b, role);
        oc_buf_puts(&b, ",\"content\":");
        store_gj_cstr(&b, r->messages[i].content);
        oc_buf_puts(&b, "}");
        free(role);
    }
    oc_buf_puts(&b, "]\n");
    int rc = create_layer_from_bytes(c, b.data, b.len, STORE_MT_MESSAGES);
    oc_buf_free(&b);
    return rc;
}

/* ---- the manifest ---- */

/* Config blob, then the manifest (with the lock held); then the blobs of the
 * name's previous manifest that nothing references any more. */
static int write_model(cctx *c, store_layer *config) {
    size_t len;
    char *bytes = store_config_encode(&c->cfg, &len);
    char digest[STORE_DIGEST_SIZE];
    bool created = false;
    int rc = store_blob_write(c->s, bytes, len, NULL, digest, &created, c->err);
    free(bytes);
    if (rc != 0) return rc;
    if (created) create_fresh(c, digest);
    store_layer_set(config, STORE_MT_CONFIG, digest, (int64_t)len, NULL, NULL);
    store_layer *layers = oc_calloc(c->n ? c->n : 1, sizeof *layers);
    for (size_t i = 0; i < c->n; i++) layers[i] = c->v[i].l; /* borrowed */
    store_manifest m = {.schema_version = 2, .media_type = STORE_MT_MANIFEST, .config = *config,
                        .layers = layers, .n_layers = c->n};
    bytes = store_manifest_encode(&m, &len);
    free(layers);
    store_manifest old;
    bool had_old = store_manifest_read(c->s, &c->name, &old, NULL) == 0;
    rc = store_manifest_write_locked(c->s, &c->name, bytes, len, c->err);
    free(bytes);
    if (rc == 0 && had_old && !store_env_bool("OLLAMA_NOPRUNE")) {
        size_t nd = 0;
        char **d = oc_malloc((old.n_layers + 1) * sizeof *d);
        d[nd++] = old.config.digest;
        for (size_t i = 0; i < old.n_layers; i++) d[nd++] = old.layers[i].digest;
        store_delete_unreferenced(c->s, d, nd);
        free(d);
    }
    if (had_old) store_manifest_free(&old);
    return rc;
}

static int metadata_and_manifest(cctx *c) {
    store_layer config = {0};
    int rc = set_template(c);
    if (rc == 0) rc = set_system(c);
    if (rc == 0) rc = set_licenses(c);
    if (rc == 0) rc = set_params(c);
    if (rc == 0) rc = set_messages(c);
    if (rc == 0) rc = write_model(c, &config);
    store_layer_clear(&config);
    return rc;
}

/* fs.ValidPath: slash-separated, no empty, "." or ".." element, no leading
 * or trailing slash ("." alone is allowed). */
static bool valid_rel_path(const char *p) {
    if (!strcmp(p, ".")) return true;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return false;
        if (!e) return true;
        p = e + 1;
    }
}

static int check_refs(const store_file_ref *f, size_t n, bool check_names, oc_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (check_names && (!f[i].name || !valid_rel_path(f[i].name))) {
            oc_fail(err, "file path must be relative");
            return STORE_ERR_INVALID;
        }
        if (!f[i].digest[0]) {
            oc_fail(err, "invalid digest format");
            return STORE_ERR_INVALID;
        }
    }
    return 0;
}

static int validate(cctx *c) {
    const store_create_req *r = c->req;
    int rc = check_refs(r->files, r->n_files, true, c->err);
    if (rc == 0) rc = check_refs(r->draft_files, r->n_draft_files, true, c->err);
    if (rc == 0) rc = check_refs(r->adapters, r->n_adapters, false, c->err);
    if (rc == 0 && store_name_parse(r->model, &c->name, c->err) != 0) rc = STORE_ERR_INVALID;
    if (rc == 0) store_name_fold_existing(c->s, &c->name);
    return rc;
}

static void init_ctx(cctx *c) {
    const store_create_req *r = c->req;
    c->cfg.os = oc_strdup("linux");
    c->cfg.architecture = oc_strdup("amd64");
    if (r->renderer && *r->renderer) c->cfg.renderer = oc_strdup(r->renderer);
    if (r->parser && *r->parser) c->cfg.parser = oc_strdup(r->parser);
    if (r->requires && *r->requires) c->cfg.requires = oc_strdup(r->requires);
    c->params = json_is_object(r->parameters) ? json_deep_copy(r->parameters) : json_object();
}

static void free_ctx(cctx *c) {
    for (size_t i = 0; i < c->n; i++) clayer_free(&c->v[i]);
    free(c->v);
    store_config_free(&c->cfg);
    json_decref(c->params);
    store_strv_free(c->fresh, c->n_fresh);
}

int store_create(store *s, const store_create_req *req, store_progress_fn progress, void *ud, oc_error *err) {
    cctx c = {.s = s, .req = req, .progress = progress, .ud = ud, .err = err};
    init_ctx(&c);
    int rc = validate(&c);
    if (rc == 0) rc = create_base_layers(&c);
    if (rc == 0) rc = create_gguf_config(&c);
    /* The small metadata blobs, the manifest and the clean-up run under the
     * lock, so no concurrent create can start sharing a blob this one is
     * about to remove again. */
    store_lock();
    if (rc == 0) rc = metadata_and_manifest(&c);
    /* Blobs this create published and no manifest uses: on failure all of
     * them, on success those a later step replaced (e.g. an autodetected
     * template overridden by TEMPLATE). */
    store_delete_unreferenced(s, c.fresh, c.n_fresh);
    store_unlock();
    /* Upstream streams these just before writing the manifest; we send them
     * after, so a slow client never holds the store lock. */
    if (rc == 0) {
        for (size_t i = 0; i < c.n; i++)
            if (c.v[i].status) create_emit(&c, c.v[i].status, NULL, 0, 0);
        create_emit(&c, "writing manifest", NULL, 0, 0);
        create_emit(&c, "success", NULL, 0, 0);
    }
    free_ctx(&c);
    return rc;
}

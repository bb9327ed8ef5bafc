/* api: model management — /api/tags, /api/show, /api/copy, /api/delete,
 * /api/ps. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "gguf/gguf.h"

/* `details` from the config blob (api.md §5.1); lengths only for tags. */
static json_t *details_of(const store_config *c, const char *parent, bool lengths) {
    json_t *d = json_object();
    json_object_set_new(d, "parent_model", json_string(parent ? parent : ""));
    json_object_set_new(d, "format", json_string(c->model_format ? c->model_format : ""));
    json_object_set_new(d, "family", json_string(c->model_family ? c->model_family : ""));
    json_t *fams = c->n_families ? json_array() : json_null();
    for (size_t i = 0; i < c->n_families; i++) json_array_append_new(fams, json_string(c->model_families[i]));
    json_object_set_new(d, "families", fams);
    json_object_set_new(d, "parameter_size", json_string(c->model_type ? c->model_type : ""));
    json_object_set_new(d, "quantization_level", json_string(c->file_type ? c->file_type : ""));
    if (lengths && c->context_length) json_object_set_new(d, "context_length", json_integer(c->context_length));
    if (lengths && c->embedding_length) json_object_set_new(d, "embedding_length", json_integer(c->embedding_length));
    return d;
}

static json_t *caps_json(char **caps, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_string(caps[i]));
    return a;
}

static int by_modified_desc(const void *a, const void *b) {
    const store_entry *x = a, *y = b;
    if (x->manifest.mtime_sec != y->manifest.mtime_sec) return x->manifest.mtime_sec < y->manifest.mtime_sec ? 1 : -1;
    return (x->manifest.mtime_nsec < y->manifest.mtime_nsec) - (x->manifest.mtime_nsec > y->manifest.mtime_nsec);
}

static json_t *list_entry(api_ctx *ctx, const store_entry *e) {
    char name[STORE_NAME_BUF], ts[64];
    store_name_display(&e->name, name, sizeof name);
    api_time_local(e->manifest.mtime_sec * 1000000000LL + e->manifest.mtime_nsec, ts, sizeof ts);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "model", json_string(name));
    json_object_set_new(o, "modified_at", json_string(ts));
    json_object_set_new(o, "size", json_integer(e->size));
    json_object_set_new(o, "digest", json_string(e->manifest.digest));
    store_model m;
    if (store_model_load(ctx->st, &e->name, &m, NULL) == 0) {
        json_object_set_new(o, "details", details_of(&m.config, m.parent_model, true));
        char **caps;
        int n = api_capabilities(&m, &caps);
        if (n) json_object_set_new(o, "capabilities", caps_json(caps, n));
        api_capabilities_free(caps, n);
        store_model_free(&m);
    }
    return o;
}

void api_handle_tags(server_request *req, server_response *res, void *ctx_) {
    (void)req;
    api_ctx *ctx = ctx_;
    store_entry *entries = NULL;
    size_t n = 0;
    oc_error err;
    if (store_list(ctx->st, &entries, &n, &err) != 0) {
        server_respond_error(res, 500, "%s", err.msg);
        return;
    }
    if (n) qsort(entries, n, sizeof *entries, by_modified_desc); /* entries is NULL when empty */
    json_t *models = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(models, list_entry(ctx, &entries[i]));
    store_list_free(entries, n);
    server_respond_json(res, 200, json_pack("{s:o}", "models", models));
}

/* ---- show ---- */

static json_t *gguf_value_json(const gguf_value *v, bool verbose) {
    switch (v->type) {
    case GGUF_TYPE_STRING: return json_stringn(v->str.data, v->str.len);
    case GGUF_TYPE_FLOAT32:
    case GGUF_TYPE_FLOAT64: return json_real(v->f64);
    case GGUF_TYPE_BOOL: return json_boolean(v->u64);
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        return json_integer(v->i64);
    case GGUF_TYPE_ARRAY: {
        json_t *a = json_array();
        if (v->arr.n > 5 && !verbose) return a;
        for (uint64_t i = 0; i < v->arr.n; i++) {
            if (v->arr.type == GGUF_TYPE_STRING) json_array_append_new(a, json_stringn(v->arr.strs[i].data, v->arr.strs[i].len));
            else if (v->arr.type == GGUF_TYPE_FLOAT32 || v->arr.type == GGUF_TYPE_FLOAT64)
                json_array_append_new(a, json_real(gguf_arr_get_float(v, i)));
            else json_array_append_new(a, json_integer(gguf_arr_get_int(v, i)));
        }
        return a;
    }
    default: return json_integer((json_int_t)v->u64);
    }
}

/* GGUF metadata minus general.name and the chat template (api.md §5.2). */
static void add_gguf_info(json_t *o, const char *path, bool verbose) {
    json_t *info = json_object(), *tensors = json_array();
    gguf_file *f = path ? gguf_open(path, NULL) : NULL;
    for (uint64_t i = 0; f && i < f->n_kv; i++) {
        const char *k = f->kv[i].key;
        if (strcmp(k, "general.name") == 0 || strcmp(k, "tokenizer.chat_template") == 0) continue;
        json_object_set_new(info, k, gguf_value_json(&f->kv[i].value, verbose));
    }
    for (uint64_t i = 0; f && i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        json_t *shape = json_array();
        for (uint32_t d = 0; d < t->n_dims; d++) json_array_append_new(shape, json_integer(t->ne[d]));
        json_array_append_new(tensors, json_pack("{s:s,s:s,s:o}", "name", t->name, "type",
                                                 tensor_type_name((enum tensor_type)t->type), "shape", shape));
    }
    gguf_close(f);
    json_object_set_new(o, "model_info", info);
    if (verbose) json_object_set_new(o, "tensors", tensors);
    else json_decref(tensors);
}

static void set_str(json_t *o, const char *key, const char *v) {
    if (v && *v) json_object_set_new(o, key, json_string(v));
}

void api_handle_show(server_request *req, server_response *res, void *ctx) {
    json_t *body = server_request_json(req);
    const char *name = json_string_value(json_object_get(body, "model"));
    if (!name || !*name) name = json_string_value(json_object_get(body, "name"));
    api_model am;
    if (api_model_open(ctx, name, &am, res, 400, "model is required", NULL)) return;
    const store_model *m = &am.m;
    json_t *o = json_object(), *params = m->params ? json_deep_copy(m->params) : json_object();
    json_object_update(params, json_object_get(body, "options"));
    const char *system = json_string_value(json_object_get(body, "system"));
    oc_buf lic = {0};
    for (size_t i = 0; i < m->n_licenses; i++) oc_buf_printf(&lic, "%s%s", i ? "\n" : "", m->licenses[i]);
    set_str(o, "license", lic.data);
    char *mf = store_model_modelfile(m, system, params), *ptext = store_params_text(params);
    set_str(o, "modelfile", mf);
    set_str(o, "parameters", ptext);
    /* A model rendered natively shows its GGUF Jinja template (store.md §5). */
    set_str(o, "template", m->template_text ? m->template_text
                           : api_front_uses_jinja(am.front) ? api_front_chat_template(am.front) : NULL);
    set_str(o, "system", system ? system : m->system);
    json_object_set_new(o, "details", details_of(&m->config, m->parent_model, false));
    if (m->n_messages) {
        json_t *msgs = json_array();
        for (size_t i = 0; i < m->n_messages; i++)
            json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", m->messages[i].role, "content", m->messages[i].content));
        json_object_set_new(o, "messages", msgs);
    }
    add_gguf_info(o, m->model_path, json_is_true(json_object_get(body, "verbose")));
    if (am.n_caps) json_object_set_new(o, "capabilities", caps_json(am.caps, am.n_caps));
    char ts[64];
    api_time_local(m->manifest.mtime_sec * 1000000000LL + m->manifest.mtime_nsec, ts, sizeof ts);
    json_object_set_new(o, "modified_at", json_string(ts));
    server_respond_json(res, 200, o);
    free(mf);
    free(ptext);
    oc_buf_free(&lic);
    json_decref(params);
    api_model_close(&am);
}

/* ---- copy, delete, ps ---- */

void api_handle_copy(server_request *req, server_response *res, void *ctx_) {
    api_ctx *ctx = ctx_;
    json_t *body = server_request_json(req);
    const char *src = json_string_value(json_object_get(body, "source"));
    const char *dst = json_string_value(json_object_get(body, "destination"));
    store_name s, d;
    oc_error err;
    if (!src || store_name_parse(src, &s, &err)) return server_respond_error(res, 400, "source \"%s\" is invalid", src ? src : "");
    if (!dst || store_name_parse(dst, &d, &err)) return server_respond_error(res, 400, "destination \"%s\" is invalid", dst ? dst : "");
    store_name_fold_existing(ctx->st, &s);
    int rc = store_copy(ctx->st, &s, &d, &err);
    if (rc == STORE_ERR_NOT_FOUND) return server_respond_error(res, 404, "model \"%s\" not found", src);
    if (rc) return server_respond_error(res, 500, "%s", err.msg);
    server_respond_empty(res, 200);
}

void api_handle_delete(server_request *req, server_response *res, void *ctx_) {
    api_ctx *ctx = ctx_;
    json_t *body = server_request_json(req);
    const char *name = json_string_value(json_object_get(body, "model"));
    if (!name || !*name) name = json_string_value(json_object_get(body, "name"));
    if (!name || !*name) return server_respond_error(res, 400, "model is required");
    store_name n;
    oc_error err;
    if (store_name_parse(name, &n, &err)) return server_respond_error(res, 400, "name \"%s\" is invalid", name);
    store_name_fold_existing(ctx->st, &n);
    int rc = store_delete(ctx->st, &n, &err);
    if (rc == STORE_ERR_NOT_FOUND) return server_respond_error(res, 404, "model '%s' not found", name);
    if (rc) return server_respond_error(res, 500, "%s", err.msg);
    server_respond_empty(res, 200);
}

void api_handle_ps(server_request *req, server_response *res, void *ctx_) {
    (void)req;
    api_ctx *ctx = ctx_;
    sched_info info[64];
    int n = sched_list(ctx->sc, info, 64);
    json_t *models = json_array();
    for (int i = 0; i < n; i++) {
        store_name sn;
        char name[STORE_NAME_BUF], ts[64];
        if (store_name_parse(info[i].name, &sn, NULL)) continue;
        store_name_display(&sn, name, sizeof name);
        api_time_local(info[i].expires_at, ts, sizeof ts);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "model", json_string(name));
        json_object_set_new(o, "size", json_integer((json_int_t)info[i].size));
        store_model m;
        if (store_model_load(ctx->st, &sn, &m, NULL) == 0) {
            json_object_set_new(o, "digest", json_string(m.manifest.digest));
            json_object_set_new(o, "details", details_of(&m.config, m.parent_model, false));
            store_model_free(&m);
        }
        json_object_set_new(o, "expires_at", json_string(ts));
        json_object_set_new(o, "size_vram", json_integer(0));
        json_object_set_new(o, "context_length", json_integer(info[i].context_length));
        json_array_append_new(models, o);
    }
    server_respond_json(res, 200, json_pack("{s:o}", "models", models));
}

/* Resolving a name to what its manifest's layers say (store.md §4;
 * upstream server/images.go GetModel). */
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static void strv_push(char ***v, size_t *n, char *s) {
    *v = oc_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

static char *read_blob(store *s, const char *digest, size_t *len, oc_error *err) {
    char path[PATH_MAX];
    if (store_blob_path(s, digest, path, sizeof path, err) != 0) return NULL;
    return oc_read_file(path, len, err);
}

static int load_config(store *s, store_model *m, oc_error *err) {
    if (!*m->manifest.config.digest) return 0;
    size_t len;
    char *data = read_blob(s, m->manifest.config.digest, &len, err);
    if (!data) return STORE_ERR;
    int rc = store_config_parse(data, len, &m->config, err);
    free(data);
    return rc;
}

/* Messages decode as api.Message: role lower-cased, unknown fields ignored. */
static int load_messages(store_model *m, const char *data, size_t len, oc_error *err) {
    json_t *v = store_json_parse(data, len, err);
    if (!v) return STORE_ERR;
    int rc = json_is_array(v) || json_is_null(v) ? 0 : oc_fail(err, "json: messages must be an array");
    for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
        json_t *o = json_array_get(v, i), *role = json_object_get(o, "role"), *content = json_object_get(o, "content");
        if (!json_is_object(o) || (role && !json_is_string(role)) || (content && !json_is_string(content))) {
            rc = oc_fail(err, "json: bad message");
            break;
        }
        m->messages = oc_realloc(m->messages, (m->n_messages + 1) * sizeof *m->messages);
        store_message *msg = &m->messages[m->n_messages++];
        msg->role = oc_strdup(role ? json_string_value(role) : "");
        msg->content = oc_strdup(content ? json_string_value(content) : "");
        for (char *p = msg->role; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    }
    json_decref(v);
    return rc;
}

static int load_params(store_model *m, const char *data, size_t len, oc_error *err) {
    json_t *v = store_json_parse(data, len, err);
    if (!v) return STORE_ERR;
    if (json_is_null(v)) return 0;
    if (!json_is_object(v)) {
        json_decref(v);
        return oc_fail(err, "json: params must be an object");
    }
    /* Later params layers replace earlier ones, as a Go Decode into the same
     * map merges keys. */
    if (m->params) {
        json_object_update(m->params, v);
        json_decref(v);
    } else {
        m->params = v;
    }
    return 0;
}

/* Text and JSON layers, read whole. */
static int load_content_layer(store *s, store_model *m, const store_layer *l, oc_error *err) {
    const char *mt = l->media_type;
    bool text = !strcmp(mt, STORE_MT_TEMPLATE) || !strcmp(mt, STORE_MT_PROMPT) || !strcmp(mt, STORE_MT_SYSTEM) ||
                !strcmp(mt, STORE_MT_LICENSE);
    if (!text && strcmp(mt, STORE_MT_PARAMS) && strcmp(mt, STORE_MT_MESSAGES)) return 0;
    size_t len;
    char *data = read_blob(s, l->digest, &len, err);
    if (!data) return STORE_ERR;
    int rc = 0;
    if (!strcmp(mt, STORE_MT_TEMPLATE) || !strcmp(mt, STORE_MT_PROMPT)) {
        free(m->template_text);
        m->template_text = data;
    } else if (!strcmp(mt, STORE_MT_SYSTEM)) {
        free(m->system);
        m->system = data;
    } else if (!strcmp(mt, STORE_MT_LICENSE)) {
        strv_push(&m->licenses, &m->n_licenses, data);
    } else {
        rc = !strcmp(mt, STORE_MT_PARAMS) ? load_params(m, data, len, err) : load_messages(m, data, len, err);
        free(data);
    }
    return rc;
}

static int load_layer(store *s, store_model *m, const store_layer *l, oc_error *err) {
    char path[PATH_MAX];
    int rc = store_blob_path(s, l->digest, path, sizeof path, err);
    if (rc != 0) return rc;
    const char *mt = l->media_type;
    if (!strcmp(mt, STORE_MT_MODEL)) {
        free(m->model_path);
        free(m->parent_model);
        m->model_path = oc_strdup(path);
        m->parent_model = l->from ? oc_strdup(l->from) : NULL;
    } else if (!strcmp(mt, STORE_MT_DRAFT)) {
        free(m->draft_path);
        m->draft_path = oc_strdup(path);
    } else if (!strcmp(mt, STORE_MT_ADAPTER)) {
        strv_push(&m->adapter_paths, &m->n_adapters, oc_strdup(path));
    } else if (!strcmp(mt, STORE_MT_PROJECTOR)) {
        strv_push(&m->projector_paths, &m->n_projectors, oc_strdup(path));
    } else if (!strcmp(mt, STORE_MT_EMBED)) {
        oc_log(OC_LOG_INFO, "WARNING: model contains embeddings, but embeddings in modelfiles have been "
                            "deprecated and will be ignored.");
    } else {
        return load_content_layer(s, m, l, err);
    }
    return 0;
}

int store_model_load(store *s, const store_name *n, store_model *m, oc_error *err) {
    memset(m, 0, sizeof *m);
    m->name = *n;
    if (!store_name_valid(n)) {
        oc_fail(err, "invalid model name");
        return STORE_ERR_INVALID;
    }
    store_name_fold_existing(s, &m->name);
    int rc = store_manifest_read(s, &m->name, &m->manifest, err);
    if (rc == 0) rc = load_config(s, m, err);
    for (size_t i = 0; rc == 0 && i < m->manifest.n_layers; i++) rc = load_layer(s, m, &m->manifest.layers[i], err);
    if (rc != 0) store_model_free(m);
    return rc;
}

static void strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void store_model_free(store_model *m) {
    if (!m) return;
    store_manifest_free(&m->manifest);
    store_config_free(&m->config);
    free(m->model_path);
    free(m->parent_model);
    free(m->draft_path);
    strv_free(m->adapter_paths, m->n_adapters);
    strv_free(m->projector_paths, m->n_projectors);
    free(m->template_text);
    free(m->system);
    if (m->params) json_decref(m->params);
    for (size_t i = 0; i < m->n_messages; i++) {
        free(m->messages[i].role);
        free(m->messages[i].content);
    }
    free(m->messages);
    strv_free(m->licenses, m->n_licenses);
    memset(m, 0, sizeof *m);
}

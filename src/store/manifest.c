/* Manifest and config-blob JSON. Decoding follows Go's encoding/json into
 * upstream's structs (so what Ollama accepts, we accept, and a type error
 * makes the document corrupt); encoding follows Go's field order and
 * omitempty rules so the bytes, and therefore the digests, are Ollama's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store_internal.h"

/* ---- Go-style field access ---- */

/* Go matches a JSON key to a field exactly or ignoring case; when several
 * keys match, the last one in the document wins. */
static json_t *field(const json_t *obj, const char *name) {
    const char *k;
    json_t *v, *found = NULL;
    json_object_foreach((json_t *)obj, k, v)
        if (strcasecmp(k, name) == 0) found = v;
    return found && !json_is_null(found) ? found : NULL;
}

static int get_str(const json_t *obj, const char *name, char **out, bool keep_empty, oc_error *err) {
    json_t *v = field(obj, name);
    *out = NULL;
    if (v && !json_is_string(v)) return oc_fail(err, "json: field %s must be a string", name);
    const char *s = v ? json_string_value(v) : "";
    if (*s || keep_empty) *out = oc_strdup(s);
    return 0;
}

static int get_int(const json_t *obj, const char *name, int64_t *out, oc_error *err) {
    json_t *v = field(obj, name);
    *out = 0;
    if (!v) return 0;
    if (!json_is_integer(v)) return oc_fail(err, "json: field %s must be an integer", name);
    *out = json_integer_value(v);
    return 0;
}

static int get_strv(const json_t *obj, const char *name, char ***out, size_t *n, oc_error *err) {
    json_t *v = field(obj, name);
    *out = NULL;
    *n = 0;
    if (!v) return 0;
    if (!json_is_array(v)) return oc_fail(err, "json: field %s must be an array", name);
    size_t cnt = json_array_size(v);
    *out = oc_calloc(cnt ? cnt : 1, sizeof **out);
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_null(e) && !json_is_string(e)) return oc_fail(err, "json: %s must hold strings", name);
        (*out)[(*n)++] = oc_strdup(json_is_string(e) ? json_string_value(e) : "");
    }
    return 0;
}

/* ---- layers ---- */

void store_layer_set(store_layer *l, const char *media_type, const char *digest, int64_t size,
                     const char *from, const char *name) {
    l->media_type = oc_strdup(media_type ? media_type : "");
    l->digest = oc_strdup(digest ? digest : "");
    l->size = size;
    l->from = from && *from ? oc_strdup(from) : NULL;
    l->name = name && *name ? oc_strdup(name) : NULL;
}

void store_layer_copy(store_layer *dst, const store_layer *src) {
    store_layer_set(dst, src->media_type, src->digest, src->size, src->from, src->name);
}

void store_layer_clear(store_layer *l) {
    free(l->media_type);
    free(l->digest);
    free(l->from);
    free(l->name);
    memset(l, 0, sizeof *l);
}

static int parse_layer(const json_t *v, store_layer *l, oc_error *err) {
    memset(l, 0, sizeof *l);
    if (json_is_null(v)) v = NULL;
    if (v && !json_is_object(v)) return oc_fail(err, "json: layer must be an object");
    json_t *empty = json_object();
    const json_t *o = v ? v : empty;
    int rc = get_str(o, "mediaType", &l->media_type, true, err) || get_str(o, "digest", &l->digest, true, err) ||
                     get_int(o, "size", &l->size, err) || get_str(o, "from", &l->from, false, err) ||
                     get_str(o, "name", &l->name, false, err)
                 ? -1
                 : 0;
    json_decref(empty);
    return rc;
}

static void encode_layer(oc_buf *b, const store_layer *l) {
    oc_buf_puts(b, "{\"mediaType\":");
    store_gj_cstr(b, l->media_type);
    oc_buf_puts(b, ",\"digest\":");
    store_gj_cstr(b, l->digest);
    oc_buf_printf(b, ",\"size\":%lld", (long long)l->size);
    if (l->from && *l->from) {
        oc_buf_puts(b, ",\"from\":");
        store_gj_cstr(b, l->from);
    }
    if (l->name && *l->name) {
        oc_buf_puts(b, ",\"name\":");
        store_gj_cstr(b, l->name);
    }
    oc_buf_puts(b, "}");
}

/* ---- manifest ---- */

void store_manifest_free(store_manifest *m) {
    if (!m) return;
    free(m->media_type);
    store_layer_clear(&m->config);
    for (size_t i = 0; i < m->n_layers; i++) store_layer_clear(&m->layers[i]);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

static int parse_manifest_obj(const json_t *root, store_manifest *m, oc_error *err) {
    if (!json_is_object(root)) return oc_fail(err, "json: manifest must be an object");
    if (get_int(root, "schemaVersion", &m->schema_version, err) ||
        get_str(root, "mediaType", &m->media_type, true, err) ||
        parse_layer(field(root, "config"), &m->config, err))
        return -1;
    json_t *ls = field(root, "layers");
    if (!ls) return 0;
    if (!json_is_array(ls)) return oc_fail(err, "json: layers must be an array");
    size_t n = json_array_size(ls);
    m->layers = oc_calloc(n ? n : 1, sizeof *m->layers);
    for (size_t i = 0; i < n; i++) {
        if (parse_layer(json_array_get(ls, i), &m->layers[i], err) != 0) {
            store_layer_clear(&m->layers[i]);
            return -1;
        }
        m->n_layers++;
    }
    return 0;
}

int store_manifest_parse(const void *data, size_t len, store_manifest *m, oc_error *err) {
    memset(m, 0, sizeof *m);
    json_t *root = store_json_parse(data, len, err);
    if (!root) return STORE_ERR_INVALID;
    int rc = parse_manifest_obj(root, m, err);
    json_decref(root);
    if (rc != 0) {
        store_manifest_free(m);
        return STORE_ERR_INVALID;
    }
    return 0;
}

char *store_manifest_encode(const store_manifest *m, size_t *len) {
    oc_buf b = {0};
    oc_buf_printf(&b, "{\"schemaVersion\":%lld,\"mediaType\":", (long long)m->schema_version);
    store_gj_cstr(&b, m->media_type);
    oc_buf_puts(&b, ",\"config\":");
    encode_layer(&b, &m->config);
    /* A nil Go slice encodes as null; create never writes zero layers
     * through a non-nil empty slice. */
    oc_buf_puts(&b, ",\"layers\":");
    if (!m->n_layers) oc_buf_puts(&b, "null");
    for (size_t i = 0; i < m->n_layers; i++) {
        oc_buf_puts(&b, i ? "," : "[");
        encode_layer(&b, &m->layers[i]);
    }
    if (m->n_layers) oc_buf_puts(&b, "]");
    oc_buf_puts(&b, "}\n");
    if (len) *len = b.len;
    return b.data;
}

int64_t store_manifest_size(const store_manifest *m) {
    int64_t size = m->config.size;
    for (size_t i = 0; i < m->n_layers; i++) size += m->layers[i].size;
    return size;
}

/* ---- config blob ---- */

static void strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void store_config_free(store_config *c) {
    if (!c) return;
    char **strs[] = {&c->model_format, &c->model_family, &c->model_type, &c->file_type, &c->renderer,
                     &c->parser, &c->requires, &c->remote_host, &c->remote_model, &c->base_name,
                     &c->draft_model_format, &c->draft_architecture, &c->draft_tensor_prefix,
                     &c->draft_config, &c->architecture, &c->os};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) free(*strs[i]);
    strv_free(c->model_families, c->n_families);
    strv_free(c->capabilities, c->n_capabilities);
    memset(c, 0, sizeof *c);
}

static int parse_draft(const json_t *root, store_config *c, oc_error *err) {
    json_t *d = field(root, "draft");
    if (!d) return 0;
    if (!json_is_object(d)) return oc_fail(err, "json: draft must be an object");
    c->has_draft = true;
    return get_str(d, "model_format", &c->draft_model_format, false, err) ||
                   get_str(d, "architecture", &c->draft_architecture, false, err) ||
                   get_str(d, "tensor_prefix", &c->draft_tensor_prefix, false, err) ||
                   get_str(d, "config", &c->draft_config, false, err)
               ? -1
               : 0;
}

static int parse_config_obj(const json_t *r, store_config *c, oc_error *err) {
    if (!json_is_object(r)) return oc_fail(err, "json: config must be an object");
    return get_str(r, "model_format", &c->model_format, true, err) ||
                   get_str(r, "model_family", &c->model_family, true, err) ||
                   get_strv(r, "model_families", &c->model_families, &c->n_families, err) ||
                   get_str(r, "model_type", &c->model_type, true, err) ||
                   get_str(r, "file_type", &c->file_type, true, err) ||
                   get_str(r, "renderer", &c->renderer, false, err) || get_str(r, "parser", &c->parser, false, err) ||
                   get_str(r, "requires", &c->requires, false, err) ||
                   get_str(r, "remote_host", &c->remote_host, false, err) ||
                   get_str(r, "remote_model", &c->remote_model, false, err) ||
                   get_strv(r, "capabilities", &c->capabilities, &c->n_capabilities, err) ||
                   get_int(r, "context_length", &c->context_length, err) ||
                   get_int(r, "embedding_length", &c->embedding_length, err) ||
                   get_str(r, "base_name", &c->base_name, false, err) || parse_draft(r, c, err) ||
                   get_str(r, "architecture", &c->architecture, true, err) || get_str(r, "os", &c->os, true, err)
               ? -1
               : 0;
}

int store_config_parse(const void *data, size_t len, store_config *c, oc_error *err) {
    memset(c, 0, sizeof *c);
    json_t *root = store_json_parse(data, len, err);
    if (!root) return STORE_ERR_INVALID;
    int rc = parse_config_obj(root, c, err);
    json_decref(root);
    if (rc != 0) {
        store_config_free(c);
        return STORE_ERR_INVALID;
    }
    return 0;
}

static void put_str(oc_buf *b, bool *first, const char *key, const char *v, bool omitempty) {
    if (omitempty && (!v || !*v)) return;
    oc_buf_printf(b, "%s\"%s\":", *first ? "" : ",", key);
    store_gj_cstr(b, v);
    *first = false;
}

static void put_strv(oc_buf *b, const char *key, char **v, size_t n, bool null_when_empty) {
    oc_buf_printf(b, ",\"%s\":", key);
    if (!n && null_when_empty && !v) {
        oc_buf_puts(b, "null");
        return;
    }
    oc_buf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) oc_buf_puts(b, ",");
        store_gj_cstr(b, v[i]);
    }
    oc_buf_puts(b, "]");
}

static void encode_draft(oc_buf *b, const store_config *c) {
    bool first = true;
    oc_buf_puts(b, ",\"draft\":{");
    put_str(b, &first, "model_format", c->draft_model_format, true);
    put_str(b, &first, "architecture", c->draft_architecture, true);
    put_str(b, &first, "tensor_prefix", c->draft_tensor_prefix, true);
    put_str(b, &first, "config", c->draft_config, true);
    oc_buf_puts(b, "}");
}

char *store_config_encode(const store_config *c, size_t *len) {
    oc_buf b = {0};
    bool first = true;
    oc_buf_puts(&b, "{");
    put_str(&b, &first, "model_format", c->model_format, false);
    put_str(&b, &first, "model_family", c->model_family, false);
    put_strv(&b, "model_families", c->model_families, c->n_families, true);
    put_str(&b, &first, "model_type", c->model_type, false);
    put_str(&b, &first, "file_type", c->file_type, false);
    put_str(&b, &first, "renderer", c->renderer, true);
    put_str(&b, &first, "parser", c->parser, true);
    put_str(&b, &first, "requires", c->requires, true);
    put_str(&b, &first, "remote_host", c->remote_host, true);
    put_str(&b, &first, "remote_model", c->remote_model, true);
    if (c->n_capabilities) put_strv(&b, "capabilities", c->capabilities, c->n_capabilities, false);
    if (c->context_length) oc_buf_printf(&b, ",\"context_length\":%lld", (long long)c->context_length);
    if (c->embedding_length) oc_buf_printf(&b, ",\"embedding_length\":%lld", (long long)c->embedding_length);
    put_str(&b, &first, "base_name", c->base_name, true);
    if (c->has_draft) encode_draft(&b, c);
    put_str(&b, &first, "architecture", c->architecture ? c->architecture : "amd64", false);
    put_str(&b, &first, "os", c->os ? c->os : "linux", false);
    oc_buf_puts(&b, "}\n");
    if (len) *len = b.len;
    return b.data;
}

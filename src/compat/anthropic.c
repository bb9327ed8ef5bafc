/* compat: the Anthropic Messages API — /v1/messages requests into native
 * chat requests, native answers into Anthropic messages and their SSE
 * events (message_start, content_block_start/delta/stop, message_delta,
 * message_stop), and Anthropic's error object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/compat_internal.h"

/* ---- requests ---- */

static const char *str_or(const json_t *v, const char *def) {
    const char *s = json_string_value(v);
    return s ? s : def;
}

static size_t text_len(const json_t *v) { return json_is_string(v) ? json_string_length(v) : 0; }

static size_t json_len(const json_t *v) {
    if (!v) return 0;
    char *t = compat_json_text(v);
    size_t n = strlen(t);
    free(t);
    return n;
}

/* Characters the request carries, as upstream's len/4 token estimate. */
static int estimate_tokens(const json_t *in) {
    size_t total = 0;
    const json_t *sys = json_object_get(in, "system"), *msgs = json_object_get(in, "messages");
    size_t i, k;
    json_t *v, *b;
    if (json_is_string(sys)) total += text_len(sys);
    json_array_foreach(sys, i, b) total += text_len(json_object_get(b, "text"));
    json_array_foreach(msgs, i, v) {
        total += text_len(json_object_get(v, "role"));
        const json_t *c = json_object_get(v, "content");
        if (json_is_string(c)) total += text_len(c);
        json_array_foreach(c, k, b) {
            const char *t = str_or(json_object_get(b, "type"), "");
            if (!strcmp(t, "text")) total += text_len(json_object_get(b, "text"));
            else if (!strcmp(t, "thinking")) total += text_len(json_object_get(b, "thinking"));
            else if (!strcmp(t, "tool_use") || !strcmp(t, "tool_result")) total += json_len(b);
        }
    }
    json_array_foreach(json_object_get(in, "tools"), i, v) total += text_len(json_object_get(v, "name")) +
        text_len(json_object_get(v, "description")) + json_len(json_object_get(v, "input_schema"));
    int tokens = (int)(total / 4);
    return tokens == 0 && (json_array_size(msgs) || (sys && !json_is_null(sys))) ? 1 : tokens;
}

/* An image block -> its base64 payload, or -1. */
static int image_block(const json_t *b, json_t *images, oc_error *err) {
    const json_t *src = json_object_get(b, "source");
    if (!json_is_object(src)) return oc_fail(err, "invalid image source");
    const char *type = str_or(json_object_get(src, "type"), "");
    if (strcmp(type, "base64") != 0)
        return oc_fail(err, "invalid image source type: %s. Only base64 images are supported.", type);
    const char *data = str_or(json_object_get(src, "data"), "");
    if (!compat_base64_valid(data)) return oc_fail(err, "invalid base64 image data: illegal base64 data");
    json_array_append_new(images, json_string(data));
    return 0;
}

/* tool_result content: a string, or blocks (text joined, images kept). */
static int tool_result(const json_t *b, json_t *out, oc_error *err) {
    json_t *m = json_pack("{s:s}", "role", "tool"), *images = json_array();
    const json_t *c = json_object_get(b, "content");
    oc_buf text = {0};
    if (json_is_string(c)) oc_buf_puts(&text, json_string_value(c));
    size_t i;
    json_t *cb;
    int rc = 0;
    json_array_foreach(c, i, cb) {
        const char *t = str_or(json_object_get(cb, "type"), "");
        if (!strcmp(t, "text")) oc_buf_puts(&text, str_or(json_object_get(cb, "text"), ""));
        else if (!strcmp(t, "image") && (rc = image_block(cb, images, err))) break;
    }
    json_object_set_new(m, "content", json_string(text.data ? text.data : ""));
    if (json_array_size(images)) json_object_set(m, "images", images);
    json_object_set_new(m, "tool_call_id", json_string(str_or(json_object_get(b, "tool_use_id"), "")));
    json_decref(images);
    oc_buf_free(&text);
    if (rc == 0) json_array_append(out, m);
    json_decref(m);
    return rc;
}

static int tool_use(const json_t *b, json_t *calls, oc_error *err) {
    const char *id = json_string_value(json_object_get(b, "id")), *name = json_string_value(json_object_get(b, "name"));
    if (!id || !*id) return oc_fail(err, "tool_use block missing required 'id' field");
    if (!name || !*name) return oc_fail(err, "tool_use block missing required 'name' field");
    const json_t *input = json_object_get(b, "input");
    json_t *args = json_is_object(input) ? json_incref((json_t *)input) : json_object();
    json_array_append_new(calls, json_pack("{s:s,s:{s:s,s:o}}", "id", id, "function", "name", name, "arguments", args));
    return 0;
}

/* One Anthropic message -> tool messages (results) then the message. */
static int convert_message(const json_t *msg, json_t *out, oc_error *err) {
    const char *role = str_or(json_object_get(msg, "role"), "");
    const json_t *c = json_object_get(msg, "content");
    oc_buf text = {0}, thinking = {0};
    json_t *images = json_array(), *calls = json_array();
    int rc = 0;
    if (json_is_string(c)) oc_buf_puts(&text, json_string_value(c));
    size_t i;
    json_t *b;
    json_array_foreach(c, i, b) {
        const char *t = str_or(json_object_get(b, "type"), "");
        if (!strcmp(t, "text")) oc_buf_puts(&text, str_or(json_object_get(b, "text"), ""));
        else if (!strcmp(t, "image")) rc = image_block(b, images, err);
        else if (!strcmp(t, "tool_use")) rc = tool_use(b, calls, err);
        else if (!strcmp(t, "tool_result")) rc = tool_result(b, out, err);
        else if (!strcmp(t, "thinking")) oc_buf_puts(&thinking, str_or(json_object_get(b, "thinking"), ""));
        if (rc) break;
    }
    bool only_results = json_array_size(c) && !text.len && !thinking.len && !json_array_size(images) && !json_array_size(calls);
    if (!rc && !only_results) {
        json_t *m = json_pack("{s:s,s:s}", "role", role, "content", text.data ? text.data : "");
        if (thinking.len) json_object_set_new(m, "thinking", json_string(thinking.data));
        if (json_array_size(images)) json_object_set(m, "images", images);
        if (json_array_size(calls)) json_object_set(m, "tool_calls", calls);
        json_array_append_new(out, m);
    }
    json_decref(images), json_decref(calls);
    oc_buf_free(&text), oc_buf_free(&thinking);
    return rc;
}

static json_t *system_message(const json_t *sys) {
    oc_buf t = {0};
    if (json_is_string(sys)) oc_buf_puts(&t, json_string_value(sys));
    size_t i;
    json_t *b;
    json_array_foreach(sys, i, b) oc_buf_puts(&t, str_or(json_object_get(b, "text"), ""));
    json_t *m = t.len ? json_pack("{s:s,s:s}", "role", "system", "content", t.data) : NULL;
    oc_buf_free(&t);
    return m;
}

static json_t *tools(const json_t *in) {
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(in, i, t) {
        json_t *fn = json_pack("{s:s}", "name", str_or(json_object_get(t, "name"), ""));
        const json_t *d = json_object_get(t, "description"), *schema = json_object_get(t, "input_schema");
        if (json_is_string(d)) json_object_set(fn, "description", (json_t *)d);
        if (schema) json_object_set(fn, "parameters", (json_t *)schema);
        json_array_append_new(out, json_pack("{s:s,s:o}", "type", "function", "function", fn));
    }
    return out;
}

static json_t *think_value(const json_t *in) {
    const char *t = json_string_value(json_object_get(json_object_get(in, "thinking"), "type"));
    if (t && !strcmp(t, "enabled")) return json_true();
    if (t && !strcmp(t, "disabled")) return json_false();
    const char *e = json_string_value(json_object_get(json_object_get(in, "output_config"), "effort"));
    if (!e || json_object_get(in, "thinking")) return NULL;
    static const char *levels[] = {"low", "medium", "high", "max"};
    for (size_t i = 0; i < 4; i++)
        if (!strcasecmp(e, levels[i])) return json_string(levels[i]);
    return !strcasecmp(e, "xhigh") ? json_string("high") : NULL;
}

static json_t *options(const json_t *in) {
    json_t *o = json_pack("{s:O}", "num_predict", json_object_get(in, "max_tokens"));
    static const char *keys[] = {"temperature", "top_p", "top_k"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = json_object_get(in, keys[i]);
        if (json_is_number(v)) json_object_set(o, keys[i], (json_t *)v);
    }
    const json_t *stop = json_object_get(in, "stop_sequences");
    if (json_is_array(stop)) json_object_set(o, "stop", (json_t *)stop);
    return o;
}

json_t *compat_anthropic_request(const json_t *in, compat_state *st, oc_error *err) {
    const char *model = json_string_value(json_object_get(in, "model"));
    if (!model || !*model) return oc_fail(err, "model is required"), NULL;
    const json_t *mt = json_object_get(in, "max_tokens");
    if (!json_is_integer(mt) || json_integer_value(mt) <= 0) return oc_fail(err, "max_tokens is required and must be positive"), NULL;
    const json_t *msgs = json_object_get(in, "messages");
    if (!json_is_array(msgs) || !json_array_size(msgs)) return oc_fail(err, "messages is required"), NULL;
    st->kind = COMPAT_MESSAGES;
    st->stream = json_is_true(json_object_get(in, "stream"));
    snprintf(st->model, sizeof st->model, "%s", model);
    char hex[25];
    compat_random_alnum(hex, 24, true);
    snprintf(st->id, sizeof st->id, "msg_%s", hex);
    json_t *nm = json_array(), *sys = system_message(json_object_get(in, "system"));
    if (sys) json_array_append_new(nm, sys);
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) if (convert_message(m, nm, err)) return json_decref(nm), NULL;
    st->input_estimate = estimate_tokens(in);
    json_t *out = json_pack("{s:s,s:o,s:o,s:b}", "model", model, "messages", nm, "options", options(in), "stream", st->stream);
    if (json_array_size(json_object_get(in, "tools"))) json_object_set_new(out, "tools", tools(json_object_get(in, "tools")));
    json_t *think = think_value(in);
    if (think) json_object_set_new(out, "think", think);
    return out;
}

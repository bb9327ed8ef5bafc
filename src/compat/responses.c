/* compat: the OpenAI Responses API (/v1/responses, stateless) — input
 * items (messages, function calls and their outputs, reasoning) into a
 * native chat request; the answers are shaped by responses_out.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat_internal.h"

static const char *str_or(const json_t *v, const char *def) {
    const char *s = json_string_value(v);
    return s ? s : def;
}

/* Content parts: text joined, images kept, files refused. */
static int parts(const json_t *content, oc_buf *text, json_t *images, const char *where, oc_error *err) {
    if (json_is_string(content)) {
        oc_buf_puts(text, json_string_value(content));
        return 0;
    }
    if (content && !json_is_null(content) && !json_is_array(content))
        return oc_fail(err, "%s: content must be a string or array", where);
    size_t i;
    json_t *p;
    json_array_foreach(content, i, p) {
        const char *t = str_or(json_object_get(p, "type"), "");
        if (!strcmp(t, "input_text") || !strcmp(t, "output_text")) {
            oc_buf_puts(text, str_or(json_object_get(p, "text"), ""));
        } else if (!strcmp(t, "input_image")) {
            const char *url = json_string_value(json_object_get(p, "image_url"));
            json_t *img;
            if (!url || !*url) continue; /* a file id: not supported, skipped */
            if (compat_decode_image_url(url, &img, err)) return -1;
            json_array_append_new(images, img);
        } else if (!strcmp(t, "input_file")) {
            return oc_fail(err, "file inputs are not currently supported");
        } else {
            return oc_fail(err, "%s: content[%zu]: unknown content type: %s", where, i, t);
        }
    }
    return 0;
}

static json_t *message(const char *role, const char *text, json_t *images) {
    json_t *m = json_pack("{s:s,s:s}", "role", role, "content", text ? text : "");
    if (json_array_size(images)) json_object_set(m, "images", images);
    return m;
}

static json_t *last_assistant(json_t *msgs) {
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    return last && !strcmp(str_or(json_object_get(last, "role"), ""), "assistant") ? last : NULL;
}

static int function_call(const json_t *item, json_t *msgs, json_t **pending, oc_error *err) {
    const char *args = str_or(json_object_get(item, "arguments"), "");
    json_error_t je;
    json_t *a = *args ? json_loads(args, JSON_DECODE_ANY, &je) : json_object();
    if (!a) return oc_fail(err, "failed to parse function call arguments: %s", je.text);
    json_t *call = json_pack("{s:s,s:{s:s,s:o}}", "id", str_or(json_object_get(item, "call_id"), ""), "function", "name",
                             str_or(json_object_get(item, "name"), ""), "arguments", a);
    json_t *m = last_assistant(msgs);
    if (!m) json_array_append_new(msgs, m = message("assistant", "", NULL));
    json_t *calls = json_object_get(m, "tool_calls");
    if (!calls) json_object_set_new(m, "tool_calls", calls = json_array());
    json_array_append_new(calls, call);
    if (*pending) json_object_set_new(m, "thinking", *pending), *pending = NULL;
    return 0;
}

/* Upstream's quirk: an assistant message between a function call and
 * that call's output joins the call's message. True when merged. */
static bool merge_into_call(const json_t *items, size_t i, json_t *msgs, const json_t *m) {
    const json_t *next = json_array_get(items, i + 1);
    const char *call_id = json_string_value(json_object_get(next, "call_id"));
    json_t *last = last_assistant(msgs);
    if (!last || !call_id || !*call_id || strcmp(str_or(json_object_get(next, "type"), ""), "function_call_output") != 0) return false;
    bool found = false;
    for (size_t k = 0; k < json_array_size(json_object_get(last, "tool_calls")); k++)
        if (!strcmp(str_or(json_object_get(json_array_get(json_object_get(last, "tool_calls"), k), "id"), ""), call_id)) found = true;
    if (!found) return false;
    const char *a = str_or(json_object_get(last, "content"), ""), *b = str_or(json_object_get(m, "content"), "");
    oc_buf c = {0};
    oc_buf_printf(&c, "%s%s%s", a, *a && *b ? "\n" : "", b);
    json_object_set_new(last, "content", json_string(c.data ? c.data : ""));
    oc_buf_free(&c);
    const json_t *imgs = json_object_get(m, "images");
    if (json_array_size(imgs)) {
        if (!json_object_get(last, "images")) json_object_set_new(last, "images", json_array());
        json_array_extend(json_object_get(last, "images"), (json_t *)imgs);
    }
    const json_t *t = json_object_get(m, "thinking");
    if (t) json_object_set(last, "thinking", (json_t *)t);
    return true;
}

static int input_item(const json_t *items, size_t i, json_t *msgs, json_t **pending, oc_error *err) {
    const json_t *item = json_array_get(items, i);
    const char *type = str_or(json_object_get(item, "type"), ""), *role = str_or(json_object_get(item, "role"), "");
    if (!*type && *role) type = "message";
    char where[32];
    snprintf(where, sizeof where, "input[%zu]", i);
    if (!*type) return oc_fail(err, "%s: input item missing required 'type' field", where);
    if (!strcmp(type, "reasoning")) {
        json_decref(*pending);
        *pending = json_string(str_or(json_object_get(item, "encrypted_content"), ""));
        return 0;
    }
    if (!strcmp(type, "function_call")) return function_call(item, msgs, pending, err);
    if (!strcmp(type, "web_search_call")) return 0;
    bool output = !strcmp(type, "function_call_output");
    if (!output && strcmp(type, "message") != 0) return oc_fail(err, "%s: unknown input item type: \"%s\"", where, type);
    oc_buf text = {0};
    json_t *images = json_array();
    int rc = parts(json_object_get(item, output ? "output" : "content"), &text, images, where, err);
    if (rc == 0 && output) {
        json_t *m = message("tool", text.data, images);
        json_object_set_new(m, "tool_call_id", json_string(str_or(json_object_get(item, "call_id"), "")));
        json_array_append_new(msgs, m);
    } else if (rc == 0) {
        json_t *m = message(role, text.data, images);
        if (!strcmp(role, "assistant") && *pending) json_object_set_new(m, "thinking", *pending), *pending = NULL;
        if (!strcmp(role, "assistant") && merge_into_call(items, i, msgs, m)) json_decref(m);
        else json_array_append_new(msgs, m);
    }
    oc_buf_free(&text);
    json_decref(images);
    return rc;
}

/* function, or namespace (members named "ns.member"); web_search dropped
 * (it needs ollama.com). */
static void add_tools(const json_t *tools, const char *prefix, json_t *out) {
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *type = str_or(json_object_get(t, "type"), ""), *name = str_or(json_object_get(t, "name"), "");
        char full[512];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", name);
        if (!strcmp(type, "web_search")) continue;
        if (!strcmp(type, "namespace")) {
            add_tools(json_object_get(t, "tools"), full, out);
            continue;
        }
        json_t *fn = json_pack("{s:s,s:s}", "name", full, "description", str_or(json_object_get(t, "description"), ""));
        const json_t *params = json_object_get(t, "parameters");
        if (json_is_object(params)) json_object_set(fn, "parameters", (json_t *)params);
        json_array_append_new(out, json_pack("{s:s,s:o}", "type", type, "function", fn));
    }
}

static json_t *options(const json_t *in) {
    json_t *o = json_object();
    const json_t *t = json_object_get(in, "temperature"), *p = json_object_get(in, "top_p"), *m = json_object_get(in, "max_output_tokens");
    json_object_set_new(o, "temperature", json_real(json_is_number(t) ? json_number_value(t) : 1.0));
    if (json_is_number(p)) json_object_set(o, "top_p", (json_t *)p);
    if (json_is_integer(m)) json_object_set(o, "num_predict", (json_t *)m);
    return o;
}

json_t *compat_responses_request(const json_t *in, compat_state *st, oc_error *err) {
    const json_t *input = json_object_get(in, "input");
    if (input && !json_is_null(input) && !json_is_string(input) && !json_is_array(input))
        return oc_fail(err, "input must be a string or array"), NULL;
    json_t *think;
    if (compat_think_from_effort(json_string_value(json_object_get(json_object_get(in, "reasoning"), "effort")), &think, err))
        return NULL;
    json_t *msgs = json_array(), *pending = NULL;
    const char *instr = str_or(json_object_get(in, "instructions"), "");
    if (*instr) json_array_append_new(msgs, message("system", instr, NULL));
    if (json_is_string(input) && *json_string_value(input)) json_array_append_new(msgs, message("user", json_string_value(input), NULL));
    for (size_t i = 0; i < json_array_size(input); i++)
        if (input_item(input, i, msgs, &pending, err)) {
            json_decref(msgs), json_decref(pending), json_decref(think);
            return NULL;
        }
    if (pending) json_array_append_new(msgs, json_pack("{s:s,s:s,s:o}", "role", "assistant", "content", "", "thinking", pending));
    st->kind = COMPAT_RESPONSES;
    st->stream = json_is_true(json_object_get(in, "stream"));
    snprintf(st->model, sizeof st->model, "%s", str_or(json_object_get(in, "model"), ""));
    snprintf(st->id, sizeof st->id, "resp_%d", compat_random_int(999999));
    snprintf(st->item_id, sizeof st->item_id, "msg_%d", compat_random_int(999999));
    st->req = json_deep_copy(in);
    json_t *out = json_pack("{s:s,s:o,s:o,s:b}", "model", st->model, "messages", msgs, "options", options(in), "stream", st->stream);
    json_t *tools = json_array();
    add_tools(json_object_get(in, "tools"), "", tools);
    if (json_array_size(tools)) json_object_set(out, "tools", tools);
    json_decref(tools);
    const json_t *fmt = json_object_get(json_object_get(in, "text"), "format");
    const json_t *schema = json_object_get(fmt, "schema");
    if (!strcmp(str_or(json_object_get(fmt, "type"), ""), "json_schema") && schema && !json_is_null(schema))
        json_object_set(out, "format", (json_t *)schema);
    if (think) json_object_set_new(out, "think", think);
    return out;
}

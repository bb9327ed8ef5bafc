/* compat: native chat answers -> Anthropic messages, their SSE events,
 * and Anthropic's error object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat_internal.h"

static const char *str_or(const json_t *v, const char *def) {
    const char *s = json_string_value(v);
    return s ? s : def;
}

void compat_anthropic_error(int status, const char *msg, oc_buf *out) {
    const char *type = status == 400 ? "invalid_request_error" : status == 401 ? "authentication_error"
                     : status == 403 ? "permission_error" : status == 404 ? "not_found_error"
                     : status == 429 ? "rate_limit_error" : status == 503 || status == 529 ? "overloaded_error"
                     : "api_error";
    char rid[32], hex[25];
    compat_random_alnum(hex, 24, true);
    snprintf(rid, sizeof rid, "req_%s", hex);
    json_t *e = json_pack("{s:s,s:{s:s,s:s},s:s}", "type", "error", "error", "type", type, "message", msg, "request_id", rid);
    if (!e) e = json_pack("{s:s,s:{s:s,s:s},s:s}", "type", "error", "error", "type", type, "message", "invalid error message", "request_id", rid);
    server_json_encode(e, out);
    oc_buf_append(out, "\n", 1);
    json_decref(e);
}

/* tool_use if any call, else from the native done_reason; NULL: none. */
static const char *stop_reason(const json_t *native, bool calls) {
    if (calls) return "tool_use";
    const char *r = str_or(json_object_get(native, "done_reason"), "");
    if (!*r) return NULL;
    return !strcmp(r, "stop") ? "end_turn" : !strcmp(r, "length") ? "max_tokens" : "stop_sequence";
}

static json_t *tool_use_block(const json_t *tc, bool with_input) {
    const json_t *fn = json_object_get(tc, "function");
    char id[32];
    const char *nid = json_string_value(json_object_get(tc, "id"));
    if (nid && *nid) snprintf(id, sizeof id, "%.31s", nid);
    else compat_tool_call_id(id, sizeof id);
    const json_t *args = json_object_get(fn, "arguments");
    return json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use", "id", id, "name", str_or(json_object_get(fn, "name"), ""),
                     "input", with_input && json_is_object(args) ? json_incref((json_t *)args) : json_object());
}

static json_t *message(const compat_state *st, const json_t *native) {
    const json_t *msg = json_object_get(native, "message"), *calls = json_object_get(msg, "tool_calls");
    const char *thinking = str_or(json_object_get(msg, "thinking"), ""), *text = str_or(json_object_get(msg, "content"), "");
    json_t *content = json_array();
    if (*thinking) json_array_append_new(content, json_pack("{s:s,s:s}", "type", "thinking", "thinking", thinking));
    if (*text) json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text", "text", text));
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) json_array_append_new(content, tool_use_block(tc, true));
    if (!json_array_size(content)) json_decref(content), content = json_null(); /* upstream's quirk */
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", st->id, "type", "message", "role", "assistant", "model",
                          str_or(json_object_get(native, "model"), st->model), "content", content);
    const char *sr = stop_reason(native, json_array_size(calls) > 0);
    if (sr) json_object_set_new(o, "stop_reason", json_string(sr));
    json_object_set_new(o, "usage", json_pack("{s:I,s:I}", "input_tokens", json_integer_value(json_object_get(native, "prompt_eval_count")),
                                              "output_tokens", json_integer_value(json_object_get(native, "eval_count"))));
    return o;
}

static void event(oc_buf *out, const char *type, json_t *data) {
    oc_buf_printf(out, "event: %s\ndata: ", type);
    server_json_encode(data, out);
    oc_buf_puts(out, "\n\n");
    json_decref(data);
}

static void close_block(compat_state *st, oc_buf *out) {
    if (!st->open_block) return;
    event(out, "content_block_stop", json_pack("{s:s,s:i}", "type", "content_block_stop", "index", st->index));
    st->open_block = 0;
    st->index++;
}

/* Opens a thinking (1) or text (2) block unless it is the open one. */
static void open_block(compat_state *st, int kind, oc_buf *out) {
    if (st->open_block == kind) return;
    close_block(st, out);
    const char *t = kind == 1 ? "thinking" : "text";
    event(out, "content_block_start", json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_start", "index",
                                                st->index, "content_block", "type", t, t, ""));
    st->open_block = kind;
}

static void delta(compat_state *st, const char *type, const char *key, const char *value, oc_buf *out) {
    event(out, "content_block_delta", json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_delta", "index",
                                                st->index, "delta", "type", type, key, value));
}

static void stream_tool_calls(compat_state *st, const json_t *calls, oc_buf *out) {
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        close_block(st, out);
        event(out, "content_block_start", json_pack("{s:s,s:i,s:o}", "type", "content_block_start", "index", st->index,
                                                    "content_block", tool_use_block(tc, false)));
        const json_t *args = json_object_get(json_object_get(tc, "function"), "arguments");
        char *text = args ? compat_json_text(args) : oc_strdup("{}");
        delta(st, "input_json_delta", "partial_json", text, out);
        free(text);
        event(out, "content_block_stop", json_pack("{s:s,s:i}", "type", "content_block_stop", "index", st->index));
        st->index++;
        st->tool_call_sent = true;
    }
}

static void stream_chunk(compat_state *st, const json_t *native, oc_buf *out) {
    json_int_t in_tokens = json_integer_value(json_object_get(native, "prompt_eval_count"));
    if (!st->msg_started) {
        st->msg_started = true;
        event(out, "message_start", json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:[],s:{s:I,s:i}}}", "type", "message_start",
                                              "message", "id", st->id, "type", "message", "role", "assistant", "model",
                                              str_or(json_object_get(native, "model"), st->model), "content", "usage",
                                              "input_tokens", in_tokens ? in_tokens : st->input_estimate, "output_tokens", 0));
    }
    const json_t *msg = json_object_get(native, "message");
    const char *thinking = str_or(json_object_get(msg, "thinking"), ""), *text = str_or(json_object_get(msg, "content"), "");
    if (*thinking) open_block(st, 1, out), delta(st, "thinking_delta", "thinking", thinking, out);
    if (*text) open_block(st, 2, out), delta(st, "text_delta", "text", text, out);
    stream_tool_calls(st, json_object_get(msg, "tool_calls"), out);
    if (!json_is_true(json_object_get(native, "done"))) return;
    close_block(st, out);
    json_t *d = json_object();
    const char *sr = stop_reason(native, st->tool_call_sent);
    if (sr) json_object_set_new(d, "stop_reason", json_string(sr));
    event(out, "message_delta", json_pack("{s:s,s:o,s:{s:I,s:I}}", "type", "message_delta", "delta", d, "usage", "input_tokens",
                                          in_tokens, "output_tokens", json_integer_value(json_object_get(native, "eval_count"))));
    event(out, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}

void compat_anthropic_filter(compat_state *st, server_output *o) {
    if (o->kind == SERVER_OUTPUT_END) return;
    bool failed = o->kind == SERVER_OUTPUT_ERROR || (o->kind == SERVER_OUTPUT_WHOLE && o->status != 200);
    if (!failed) {
        if (o->kind == SERVER_OUTPUT_WHOLE) o->content_type = st->stream ? "text/event-stream" : "application/json";
        if (st->stream) return stream_chunk(st, o->value, &o->out);
        json_t *m = message(st, o->value);
        server_json_encode(m, &o->out);
        oc_buf_append(&o->out, "\n", 1);
        json_decref(m);
        return;
    }
    compat_emit_error(o, "event: error\ndata: ", compat_anthropic_error); /* Anthropic's error event */
}

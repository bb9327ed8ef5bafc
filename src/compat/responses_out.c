/* compat: native chat answers -> OpenAI Responses objects: the response
 * (reasoning, function_call and message items, usage, the request's
 * settings echoed) and its streamed events (response.created ...
 * response.completed, sequence-numbered, keys sorted as Go's maps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat/compat_internal.h"

static const char *str_or(const json_t *v, const char *def) {
    const char *s = json_string_value(v);
    return s ? s : def;
}

static json_t *or_null(const json_t *v) { return v && !json_is_null(v) ? json_deep_copy(v) : json_null(); }

static json_t *number_or(const json_t *v, double def) { return json_real(json_is_number(v) ? json_number_value(v) : def); }

/* The request's tools as given (nullable fields as null). */
static json_t *tools_echo(const json_t *req) {
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(req, "tools"), i, t) {
        json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:o}", "type", str_or(json_object_get(t, "type"), ""), "name",
                              str_or(json_object_get(t, "name"), ""), "description", or_null(json_object_get(t, "description")),
                              "strict", or_null(json_object_get(t, "strict")), "parameters", or_null(json_object_get(t, "parameters")));
        if (json_array_size(json_object_get(t, "tools"))) json_object_set(o, "tools", json_object_get(t, "tools"));
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *text_echo(const json_t *req) {
    const json_t *f = json_object_get(json_object_get(req, "text"), "format");
    json_t *fmt = json_pack("{s:s}", "type", json_is_object(f) ? str_or(json_object_get(f, "type"), "") : "text");
    static const char *keys[] = {"name", "schema", "strict"};
    for (size_t i = 0; json_is_object(f) && i < 3; i++) {
        const json_t *v = json_object_get(f, keys[i]);
        if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v))) json_object_set(fmt, keys[i], (json_t *)v);
    }
    return json_pack("{s:o}", "format", fmt);
}

/* null unless effort or summary was given; streams spell out both. */
static json_t *reasoning_echo(const json_t *req, bool stream) {
    const json_t *r = json_object_get(req, "reasoning");
    const char *e = str_or(json_object_get(r, "effort"), ""), *s = str_or(json_object_get(r, "summary"), "");
    if (!*e && !*s) return json_null();
    json_t *o = json_object();
    if (*e || stream) json_object_set_new(o, "effort", *e ? json_string(e) : json_null());
    if (*s || stream) json_object_set_new(o, "summary", *s ? json_string(s) : json_null());
    return o;
}

static json_t *usage(const json_t *native) {
    json_int_t p = json_integer_value(json_object_get(native, "prompt_eval_count"));
    json_int_t c = json_integer_value(json_object_get(native, "eval_count"));
    return json_pack("{s:I,s:I,s:I,s:{s:i},s:{s:i}}", "input_tokens", p, "output_tokens", c, "total_tokens", p + c,
                     "input_tokens_details", "cached_tokens", 0, "output_tokens_details", "reasoning_tokens", 0);
}

static json_t *response_object(const compat_state *st, const char *status, json_t *output, json_t *use, int64_t created,
                               int64_t completed) {
    const json_t *req = st->req;
    const char *instr = str_or(json_object_get(req, "instructions"), "");
    json_t *o = json_pack("{s:s,s:s,s:I,s:o,s:s,s:n,s:s,s:n,s:o,s:o,s:n}", "id", st->id, "object", "response", "created_at",
                          (json_int_t)created, "completed_at", completed ? json_integer(completed) : json_null(), "status",
                          status, "incomplete_details", "model", st->model, "previous_response_id", "instructions",
                          *instr ? json_string(instr) : json_null(), "output", output, "error");
    json_object_set_new(o, "tools", tools_echo(req));
    json_object_set_new(o, "tool_choice", json_string("auto"));
    json_object_set_new(o, "truncation", json_string(str_or(json_object_get(req, "truncation"), "disabled")));
    json_object_set_new(o, "parallel_tool_calls", json_true());
    json_object_set_new(o, "text", text_echo(req));
    json_object_set_new(o, "top_p", number_or(json_object_get(req, "top_p"), 1));
    json_object_set_new(o, "presence_penalty", json_integer(0));
    json_object_set_new(o, "frequency_penalty", json_integer(0));
    json_object_set_new(o, "top_logprobs", json_integer(0));
    json_object_set_new(o, "temperature", number_or(json_object_get(req, "temperature"), 1));
    json_object_set_new(o, "reasoning", reasoning_echo(req, st->stream));
    json_object_set_new(o, "usage", use ? use : json_null());
    json_object_set_new(o, "max_output_tokens", or_null(json_object_get(req, "max_output_tokens")));
    json_object_set_new(o, "max_tool_calls", json_null());
    json_object_set_new(o, "store", json_false());
    json_object_set_new(o, "background", json_boolean(json_is_true(json_object_get(req, "background"))));
    json_object_set_new(o, "service_tier", json_string("default"));
    json_object_set_new(o, "metadata", json_object());
    json_object_set_new(o, "safety_identifier", json_null());
    json_object_set_new(o, "prompt_cache_key", json_null());
    return o;
}

static json_t *text_part(const char *text) {
    return json_pack("{s:s,s:s,s:[],s:[]}", "type", "output_text", "text", text, "annotations", "logprobs");
}

static json_t *message_item(const char *id, const char *status, const char *text) {
    return json_pack("{s:s,s:s,s:s,s:s,s:[o]}", "id", id, "type", "message", "status", status, "role", "assistant", "content",
                     text_part(text));
}

static json_t *reasoning_item(const char *id, const char *thinking) {
    return json_pack("{s:s,s:s,s:[{s:s,s:s}],s:s}", "id", id, "type", "reasoning", "summary", "type", "summary_text", "text",
                     thinking, "encrypted_content", thinking);
}

static json_t *call_item(const char *id, const char *status, const json_t *openai_call, bool with_args) {
    const json_t *fn = json_object_get(openai_call, "function");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "type", "function_call", "status", status, "call_id",
                     str_or(json_object_get(openai_call, "id"), ""), "name", str_or(json_object_get(fn, "name"), ""),
                     "arguments", with_args ? str_or(json_object_get(fn, "arguments"), "") : "");
}

static json_t *whole_response(const compat_state *st, const json_t *native) {
    const json_t *msg = json_object_get(native, "message");
    const char *thinking = str_or(json_object_get(msg, "thinking"), "");
    json_t *output = json_array();
    char id[96];
    if (*thinking) {
        snprintf(id, sizeof id, "rs_%s", st->id);
        json_array_append_new(output, reasoning_item(id, thinking));
    }
    const json_t *calls = json_object_get(msg, "tool_calls");
    if (json_array_size(calls)) {
        json_t *oc = compat_openai_tool_calls(calls);
        for (size_t i = 0; i < json_array_size(oc); i++) {
            snprintf(id, sizeof id, "fc_%s_%zu", st->id, i);
            json_array_append_new(output, call_item(id, "completed", json_array_get(oc, i), true));
        }
        json_decref(oc);
    } else {
        json_array_append_new(output, message_item(st->item_id, "completed", str_or(json_object_get(msg, "content"), "")));
    }
    return response_object(st, "completed", output, usage(native), compat_unix_time(json_object_get(native, "created_at")),
                           (int64_t)time(NULL));
}

/* ---- streams ---- */

/* A copy with every object's keys in byte order, as Go writes maps. */
static json_t *sorted(const json_t *v) {
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) json_array_append_new(a, sorted(json_array_get(v, i)));
        return a;
    }
    if (!json_is_object(v)) return json_deep_copy(v);
    size_t n = json_object_size(v), k = 0;
    const char **keys = oc_malloc((n ? n : 1) * sizeof *keys);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) keys[k++] = key;
    for (size_t i = 1; i < n; i++) /* insertion sort: objects here are small */
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1], keys[j - 1] = t;
        }
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) json_object_set_new(o, keys[i], sorted(json_object_get(v, keys[i])));
    free(keys);
    return o;
}

static void event(compat_state *st, oc_buf *out, const char *type, json_t *data) {
    json_object_set_new(data, "type", json_string(type));
    json_object_set_new(data, "sequence_number", json_integer(st->seq++));
    json_t *s = sorted(data);
    oc_buf_printf(out, "event: %s\ndata: ", type);
    server_json_encode(s, out);
    oc_buf_puts(out, "\n\n");
    json_decref(s);
    json_decref(data);
}

static void finish_reasoning(compat_state *st, oc_buf *out) {
    if (!st->reasoning_started) return;
    const char *t = st->thinking.data ? st->thinking.data : "";
    json_t *item = reasoning_item(st->reasoning_id, t);
    json_array_append(st->done_items, item);
    event(st, out, "response.reasoning_summary_text.done", json_pack("{s:s,s:i,s:i,s:s}", "item_id", st->reasoning_id,
                                                                     "output_index", st->out_index, "summary_index", 0, "text", t));
    event(st, out, "response.output_item.done", json_pack("{s:i,s:o}", "output_index", st->out_index, "item", item));
    oc_buf_clear(&st->thinking);
    st->reasoning_started = false;
    st->out_index++;
}

static void thinking_piece(compat_state *st, const char *t, oc_buf *out) {
    if (!st->reasoning_started) {
        st->reasoning_started = true;
        snprintf(st->reasoning_id, sizeof st->reasoning_id, "rs_%d", compat_random_int(999999));
        event(st, out, "response.output_item.added", json_pack("{s:i,s:{s:s,s:s,s:[]}}", "output_index", st->out_index, "item",
                                                               "id", st->reasoning_id, "type", "reasoning", "summary"));
    }
    oc_buf_puts(&st->thinking, t);
    event(st, out, "response.reasoning_summary_text.delta", json_pack("{s:s,s:i,s:i,s:s}", "item_id", st->reasoning_id,
                                                                      "output_index", st->out_index, "summary_index", 0, "delta", t));
}

static void tool_calls(compat_state *st, const json_t *calls, oc_buf *out) {
    finish_reasoning(st, out);
    json_t *oc = compat_openai_tool_calls(calls);
    for (size_t i = 0; i < json_array_size(oc); i++) {
        const json_t *c = json_array_get(oc, i);
        const char *args = str_or(json_object_get(json_object_get(c, "function"), "arguments"), "");
        int idx = st->out_index + (int)i;
        char id[48];
        snprintf(id, sizeof id, "fc_%d_%zu", compat_random_int(999999), i);
        json_t *done = call_item(id, "completed", c, true);
        json_array_append(st->done_items, done);
        event(st, out, "response.output_item.added", json_pack("{s:i,s:o}", "output_index", idx, "item", call_item(id, "in_progress", c, false)));
        event(st, out, "response.function_call_arguments.delta", json_pack("{s:s,s:i,s:s}", "item_id", id, "output_index", idx, "delta", args));
        event(st, out, "response.function_call_arguments.done", json_pack("{s:s,s:i,s:s}", "item_id", id, "output_index", idx, "arguments", args));
        event(st, out, "response.output_item.done", json_pack("{s:i,s:o}", "output_index", idx, "item", done));
    }
    st->out_index += (int)json_array_size(oc);
    json_decref(oc);
    st->tool_call_sent = true;
}

static void text_piece(compat_state *st, const char *t, oc_buf *out) {
    finish_reasoning(st, out);
    if (!st->content_started) {
        st->content_started = true;
        event(st, out, "response.output_item.added", json_pack("{s:i,s:{s:s,s:s,s:s,s:s,s:[]}}", "output_index", st->out_index,
                                                               "item", "id", st->item_id, "type", "message", "status",
                                                               "in_progress", "role", "assistant", "content"));
        event(st, out, "response.content_part.added", json_pack("{s:s,s:i,s:i,s:o}", "item_id", st->item_id, "output_index",
                                                                st->out_index, "content_index", 0, "part", text_part("")));
    }
    oc_buf_puts(&st->text, t);
    event(st, out, "response.output_text.delta", json_pack("{s:s,s:i,s:i,s:s,s:[]}", "item_id", st->item_id, "output_index",
                                                           st->out_index, "content_index", 0, "delta", t, "logprobs"));
}

static void completion(compat_state *st, const json_t *native, oc_buf *out) {
    finish_reasoning(st, out);
    const char *t = st->text.data ? st->text.data : "";
    json_t *output = json_deep_copy(st->done_items);
    if (st->content_started) json_array_append_new(output, message_item(st->item_id, "completed", t));
    if (!st->tool_call_sent && st->content_started) {
        event(st, out, "response.output_text.done", json_pack("{s:s,s:i,s:i,s:s,s:[]}", "item_id", st->item_id, "output_index",
                                                              st->out_index, "content_index", 0, "text", t, "logprobs"));
        event(st, out, "response.content_part.done", json_pack("{s:s,s:i,s:i,s:o}", "item_id", st->item_id, "output_index",
                                                               st->out_index, "content_index", 0, "part", text_part(t)));
        event(st, out, "response.output_item.done", json_pack("{s:i,s:o}", "output_index", st->out_index, "item",
                                                              message_item(st->item_id, "completed", t)));
    }
    int64_t now = (int64_t)time(NULL);
    event(st, out, "response.completed", json_pack("{s:o}", "response", response_object(st, "completed", output, usage(native), now, now)));
}

static void stream_chunk(compat_state *st, const json_t *native, oc_buf *out) {
    if (!st->done_items) {
        st->done_items = json_array();
        int64_t now = (int64_t)time(NULL);
        event(st, out, "response.created", json_pack("{s:o}", "response", response_object(st, "in_progress", json_array(), NULL, now, 0)));
        event(st, out, "response.in_progress", json_pack("{s:o}", "response", response_object(st, "in_progress", json_array(), NULL, now, 0)));
    }
    const json_t *msg = json_object_get(native, "message"), *calls = json_object_get(msg, "tool_calls");
    const char *thinking = str_or(json_object_get(msg, "thinking"), ""), *text = str_or(json_object_get(msg, "content"), "");
    if (*thinking) thinking_piece(st, thinking, out);
    if (json_array_size(calls)) tool_calls(st, calls, out);
    else if (!st->tool_call_sent && *text) text_piece(st, text, out);
    if (json_is_true(json_object_get(native, "done"))) completion(st, native, out);
}

void compat_responses_filter(compat_state *st, server_output *o) {
    if (o->kind == SERVER_OUTPUT_END) return;
    bool failed = o->kind == SERVER_OUTPUT_ERROR || (o->kind == SERVER_OUTPUT_WHOLE && o->status != 200);
    if (!failed) {
        if (o->kind == SERVER_OUTPUT_WHOLE) o->content_type = st->stream ? "text/event-stream" : "application/json";
        if (st->stream) return stream_chunk(st, o->value, &o->out);
        json_t *r = whole_response(st, o->value);
        server_json_encode(r, &o->out);
        oc_buf_append(&o->out, "\n", 1);
        json_decref(r);
        return;
    }
    compat_emit_error(o, "event: error\ndata: ", compat_openai_error);
}

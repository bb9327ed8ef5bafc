/* compat: native answers -> OpenAI objects: chat completions and their
 * chunks (role on the first, thinking split off, whole tool calls, the
 * finish chunk, the usage chunk, [DONE]), completions, embeddings (float
 * or base64), model lists, and the OpenAI error object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat/compat_internal.h"

static const char *str_or(const json_t *v, const char *def) {
    const char *s = json_string_value(v);
    return s ? s : def;
}

static json_int_t count(const json_t *native, const char *key) {
    return json_integer_value(json_object_get(native, key));
}

void compat_openai_error(int status, const char *msg, oc_buf *out) {
    const char *type = status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error" : "api_error";
    json_t *e = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message", msg, "type", type, "param", "code");
    if (!e) e = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message", "invalid error message", "type", type, "param", "code");
    server_json_encode(e, out);
    oc_buf_append(out, "\n", 1);
    json_decref(e);
}

static void sse(oc_buf *out, json_t *v) {
    oc_buf_puts(out, "data: ");
    server_json_encode(v, out);
    oc_buf_puts(out, "\n\n");
    json_decref(v);
}

static json_t *usage(const json_t *native) {
    json_int_t p = count(native, "prompt_eval_count"), c = count(native, "eval_count");
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", p, "completion_tokens", c, "total_tokens", p + c);
}

/* Native tool calls -> OpenAI's, arguments as JSON text; ids made up
 * where the native call has none. */
json_t *compat_openai_tool_calls(const json_t *calls) {
    json_t *out = json_array();
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        const json_t *fn = json_object_get(tc, "function");
        char id[32];
        const char *nid = json_string_value(json_object_get(tc, "id"));
        if (nid && *nid) snprintf(id, sizeof id, "%.31s", nid);
        else compat_tool_call_id(id, sizeof id);
        const json_t *args = json_object_get(fn, "arguments");
        char *text = args ? compat_json_text(args) : oc_strdup("{}");
        json_array_append_new(out, json_pack("{s:s,s:I,s:s,s:{s:s,s:s}}", "id", id, "index",
                                             count(fn, "index"), "type", "function", "function", "name",
                                             str_or(json_object_get(fn, "name"), ""), "arguments", text));
        free(text);
    }
    return out;
}

static json_t *header(const compat_state *st, const json_t *native, const char *object, int64_t created) {
    return json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", st->id, "object", object, "created", (json_int_t)created, "model",
                     str_or(json_object_get(native, "model"), st->model), "system_fingerprint", "fp_ollama");
}

/* finish_reason: stop -> tool_calls when there were calls; "" -> def. */
static json_t *finish_reason(const json_t *native, bool calls, const char *def) {
    const char *r = str_or(json_object_get(native, "done_reason"), "");
    if (!*r) r = def;
    if (!r) return json_null();
    return json_string(calls && strcmp(r, "stop") == 0 ? "tool_calls" : r);
}

static json_t *chat_completion(const compat_state *st, const json_t *native) {
    const json_t *msg = json_object_get(native, "message");
    json_t *m = json_pack("{s:s,s:s}", "role", str_or(json_object_get(msg, "role"), "assistant"), "content",
                          str_or(json_object_get(msg, "content"), ""));
    const char *thinking = str_or(json_object_get(msg, "thinking"), "");
    if (*thinking) json_object_set_new(m, "reasoning", json_string(thinking));
    bool calls = json_array_size(json_object_get(msg, "tool_calls")) > 0;
    if (calls) json_object_set_new(m, "tool_calls", compat_openai_tool_calls(json_object_get(msg, "tool_calls")));
    json_t *choice = json_pack("{s:i,s:o,s:o}", "index", 0, "message", m, "finish_reason", finish_reason(native, calls, NULL));
    const json_t *lp = json_object_get(native, "logprobs");
    if (json_array_size(lp)) json_object_set_new(choice, "logprobs", json_pack("{s:O}", "content", lp));
    json_t *o = header(st, native, "chat.completion", compat_unix_time(json_object_get(native, "created_at")));
    json_object_set_new(o, "choices", json_pack("[o]", choice));
    json_object_set_new(o, "usage", usage(native));
    const json_t *dbg = json_object_get(native, "_debug_info");
    if (dbg) json_object_set(o, "_debug_info", (json_t *)dbg);
    return o;
}

/* One chunk; parts: 1 reasoning, 2 content and tool calls, 3 all. */
static json_t *chat_chunk(compat_state *st, const json_t *native, bool role, int parts) {
    const json_t *msg = json_object_get(native, "message");
    json_t *delta = json_object();
    if (role) json_object_set_new(delta, "role", json_string("assistant"));
    if (parts & 2) json_object_set_new(delta, "content", json_string(str_or(json_object_get(msg, "content"), "")));
    const char *thinking = str_or(json_object_get(msg, "thinking"), "");
    if ((parts & 1) && *thinking) json_object_set_new(delta, "reasoning", json_string(thinking));
    const json_t *calls = json_object_get(msg, "tool_calls");
    if ((parts & 2) && json_array_size(calls)) {
        json_object_set_new(delta, "tool_calls", compat_openai_tool_calls(calls));
        st->tool_call_sent = true;
    }
    json_t *choice = json_pack("{s:i,s:o,s:n}", "index", 0, "delta", delta, "finish_reason");
    const json_t *lp = json_object_get(native, "logprobs");
    if ((parts & 1) && json_array_size(lp)) json_object_set_new(choice, "logprobs", json_pack("{s:O}", "content", lp));
    json_t *o = header(st, native, "chat.completion.chunk", st->created);
    json_object_set_new(o, "choices", json_pack("[o]", choice));
    return o;
}

static void chat_stream(compat_state *st, const json_t *native, oc_buf *out) {
    if (!st->created) st->created = compat_unix_time(json_object_get(native, "created_at"));
    const json_t *msg = json_object_get(native, "message");
    bool has_text = *str_or(json_object_get(msg, "content"), "");
    bool has_think = *str_or(json_object_get(msg, "thinking"), "");
    bool has_calls = json_array_size(json_object_get(msg, "tool_calls")) > 0;
    bool has_lp = json_array_size(json_object_get(native, "logprobs")) > 0;
    bool done = json_is_true(json_object_get(native, "done"));
    /* the metrics-only trailer opens nothing, unless nothing was sent */
    if (!(done && st->first_sent && !has_text && !has_think && !has_calls && !has_lp)) {
        if (has_think && (has_text || has_calls)) {
            sse(out, chat_chunk(st, native, !st->first_sent, 1));
            sse(out, chat_chunk(st, native, false, 2));
        } else {
            sse(out, chat_chunk(st, native, !st->first_sent, 3));
        }
        st->first_sent = true;
    }
    if (!done) return;
    json_t *fin = header(st, native, "chat.completion.chunk", st->created);
    json_object_set_new(fin, "choices", json_pack("[{s:i,s:{},s:o}]", "index", 0, "delta", "finish_reason",
                                                  finish_reason(native, st->tool_call_sent, "stop")));
    if (st->include_usage) {
        json_t *u = json_deep_copy(fin);
        json_object_set_new(u, "choices", json_array());
        json_object_set_new(u, "usage", usage(native));
        sse(out, fin);
        sse(out, u);
    } else {
        sse(out, fin);
    }
    oc_buf_puts(out, "data: [DONE]\n\n");
}

static json_t *completion_choice(const json_t *native) {
    return json_pack("[{s:s,s:i,s:o}]", "text", str_or(json_object_get(native, "response"), ""), "index", 0,
                     "finish_reason", finish_reason(native, false, NULL));
}

static json_t *completion(const compat_state *st, const json_t *native) {
    json_t *o = header(st, native, "text_completion", compat_unix_time(json_object_get(native, "created_at")));
    json_object_set_new(o, "choices", completion_choice(native));
    json_object_set_new(o, "usage", usage(native));
    return o;
}

static void completion_stream(const compat_state *st, const json_t *native, oc_buf *out) {
    json_t *c = json_pack("{s:s,s:s,s:I,s:o,s:s,s:s}", "id", st->id, "object", "text_completion", "created",
                          (json_int_t)time(NULL), "choices", completion_choice(native), "model",
                          str_or(json_object_get(native, "model"), st->model), "system_fingerprint", "fp_ollama");
    if (st->include_usage)
        json_object_set_new(c, "usage", json_pack("{s:i,s:i,s:i}", "prompt_tokens", 0, "completion_tokens", 0, "total_tokens", 0));
    bool done = json_is_true(json_object_get(native, "done"));
    if (done && st->include_usage) {
        json_t *u = json_deep_copy(c);
        json_object_set_new(u, "choices", json_array());
        json_object_set_new(u, "usage", usage(native));
        sse(out, c);
        sse(out, u);
    } else {
        sse(out, c);
    }
    if (done) oc_buf_puts(out, "data: [DONE]\n\n");
}

/* Written by hand: the vectors are float32 values in Go's float32 form,
 * which a jansson real cannot carry. */
static void embedding_list(const compat_state *st, const json_t *native, oc_buf *out) {
    oc_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    const json_t *embs = json_object_get(native, "embeddings");
    for (size_t i = 0; i < json_array_size(embs); i++) {
        const json_t *e = json_array_get(embs, i);
        oc_buf_printf(out, "%s{\"object\":\"embedding\",\"embedding\":", i ? "," : "");
        if (st->base64) {
            size_t n = json_array_size(e);
            float *f = oc_malloc((n ? n : 1) * sizeof(float));
            for (size_t k = 0; k < n; k++) f[k] = (float)json_number_value(json_array_get(e, k));
            oc_buf_puts(out, "\"");
            compat_base64_encode(f, n * sizeof(float), out); /* little-endian on x86 */
            oc_buf_puts(out, "\"");
            free(f);
        } else {
            oc_buf_puts(out, "[");
            for (size_t k = 0; k < json_array_size(e); k++) {
                if (k) oc_buf_puts(out, ",");
                server_json_append_float(out, (float)json_number_value(json_array_get(e, k)), 32);
            }
            oc_buf_puts(out, "]");
        }
        oc_buf_printf(out, ",\"index\":%zu}", i);
    }
    oc_buf_puts(out, "],\"model\":");
    json_t *m = json_string(st->model);
    server_json_encode(m, out);
    json_decref(m);
    json_int_t p = count(native, "prompt_eval_count");
    oc_buf_printf(out, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}\n", (long long)p, (long long)p);
}

/* The namespace of a model name: "library" unless it has one. */
static void name_namespace(const char *name, char *out, size_t n) {
    const char *last = strrchr(name, '/');
    if (!last) {
        snprintf(out, n, "library");
        return;
    }
    const char *start = last;
    while (start > name && start[-1] != '/') start--;
    snprintf(out, n, "%.*s", (int)(last - start), start);
}

static json_t *model_object(const char *id, const json_t *modified_at) {
    char ns[256];
    name_namespace(id, ns, sizeof ns);
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model", "created",
                     (json_int_t)compat_unix_time(modified_at), "owned_by", ns);
}

static json_t *model_list(const json_t *native) {
    const json_t *models = json_object_get(native, "models");
    json_t *data = json_array_size(models) ? json_array() : json_null();
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m) {
        const char *id = str_or(json_object_get(m, "model"), "");
        if (!*id) id = str_or(json_object_get(m, "name"), "");
        json_array_append_new(data, model_object(id, json_object_get(m, "modified_at")));
    }
    return json_pack("{s:s,s:o}", "object", "list", "data", data);
}

static void whole(json_t *v, oc_buf *out) {
    server_json_encode(v, out);
    oc_buf_append(out, "\n", 1);
    json_decref(v);
}

/* A successful native value -> the OpenAI bytes. */
static void translate_ok(compat_state *st, const json_t *v, server_output *o) {
    bool sse_out = st->stream && (st->kind == COMPAT_CHAT || st->kind == COMPAT_COMPLETE);
    if (o->kind == SERVER_OUTPUT_WHOLE) o->content_type = sse_out ? "text/event-stream" : "application/json";
    switch (st->kind) {
    case COMPAT_CHAT:
        if (sse_out) chat_stream(st, v, &o->out);
        else whole(chat_completion(st, v), &o->out);
        break;
    case COMPAT_COMPLETE:
        if (sse_out) completion_stream(st, v, &o->out);
        else whole(completion(st, v), &o->out);
        break;
    case COMPAT_EMBED: embedding_list(st, v, &o->out); break;
    case COMPAT_LIST: whole(model_list(v), &o->out); break;
    case COMPAT_RETRIEVE: whole(model_object(st->model, json_object_get(v, "modified_at")), &o->out); break;
    case COMPAT_MESSAGES:
    case COMPAT_RESPONSES:
    case COMPAT_TRANSCRIBE: break;
    }
}

void compat_openai_filter(compat_state *st, server_output *o) {
    if (o->kind == SERVER_OUTPUT_END) return;
    bool failed = o->kind == SERVER_OUTPUT_ERROR || (o->kind == SERVER_OUTPUT_WHOLE && o->status != 200);
    if (!failed) return translate_ok(st, o->value, o);
    compat_emit_error(o, "data: ", compat_openai_error); /* mid-stream: an error event, no [DONE] */
}

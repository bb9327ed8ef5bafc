/* compat: the OpenAI Chat Completions, Completions, Embeddings and Models
 * formats — request translation into native requests and the rewriting
 * of native answers (objects, NDJSON chunks, errors) into OpenAI's
 * objects and SSE events. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/compat_internal.h"

/* ---- requests ---- */

/* Go's decoder wording for a field of the wrong JSON type. */
static int type_error(oc_error *err, const json_t *v, const char *field, const char *gotype) {
    const char *jt = json_is_string(v) ? "string" : json_is_number(v) ? "number" : json_is_boolean(v) ? "bool"
                   : json_is_array(v) ? "array" : "object";
    return oc_fail(err, "json: cannot unmarshal %s into Go struct field %s of type %s", jt, field, gotype);
}

/* Checks the scalar fields a request struct declares; null is fine. */
typedef struct field_type {
    const char *name, *go;
    char kind; /* s string, n number, i integer, b bool, o object, a array */
} field_type;

static int check_fields(const json_t *in, const char *st, const field_type *f, size_t n, oc_error *err) {
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(in, f[i].name);
        if (!v || json_is_null(v)) continue;
        bool ok = f[i].kind == 's' ? json_is_string(v) : f[i].kind == 'n' ? json_is_number(v)
                : f[i].kind == 'i' ? json_is_integer(v) || (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v))
                : f[i].kind == 'b' ? json_is_boolean(v) : f[i].kind == 'o' ? json_is_object(v) : json_is_array(v);
        if (!ok) {
            char field[96];
            snprintf(field, sizeof field, "%s.%s", st, f[i].name);
            return type_error(err, v, field, f[i].go);
        }
    }
    return 0;
}

static void copy_if(json_t *dst, const char *dkey, const json_t *src, const char *skey) {
    json_t *v = json_object_get(src, skey);
    if (v && !json_is_null(v)) json_object_set(dst, dkey, v);
}

/* reasoning effort -> native think (spec §2.3); 0 with *out NULL = unset. */
int compat_think_from_effort(const char *effort, json_t **out, oc_error *err) {
    *out = NULL;
    if (!effort || !*effort) return 0;
    if (strcmp(effort, "none") == 0) *out = json_false();
    else if (strcmp(effort, "minimal") == 0) *out = json_string("low");
    else if (!strcmp(effort, "low") || !strcmp(effort, "medium") || !strcmp(effort, "high") || !strcmp(effort, "max"))
        *out = json_string(effort);
    else if (!strcmp(effort, "xhigh") || !strcmp(effort, "ultra")) *out = json_string("max");
    else
        return oc_fail(err, "invalid reasoning value: \"%s\" (must be \"minimal\", \"low\", \"medium\", \"high\", "
                            "\"xhigh\", \"ultra\", \"max\", or \"none\")", effort);
    return 0;
}

/* An image URL of a content part: the base64 payload, or -1. */
int compat_decode_image_url(const char *url, json_t **out, oc_error *err) {
    if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
        return oc_fail(err, "image URLs are not currently supported, please use base64 encoded data instead");
    static const char *prefixes[] = {"data:;base64,", "data:image/jpeg;base64,", "data:image/jpg;base64,",
                                     "data:image/png;base64,", "data:image/webp;base64,"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(url, prefixes[i], n) != 0) continue;
        if (!compat_base64_valid(url + n)) break;
        *out = json_string(url + n);
        return 0;
    }
    return oc_fail(err, "invalid image input");
}

/* OpenAI tool calls (arguments as JSON text) -> native (objects). */
static json_t *native_tool_calls(const json_t *calls, oc_error *err) {
    json_t *out = json_array();
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        const json_t *fn = json_object_get(tc, "function");
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        json_t *a = args ? json_loads(args, JSON_DECODE_ANY, NULL) : NULL;
        if (!json_is_object(a) && !json_is_null(a)) {
            json_decref(a), json_decref(out);
            oc_fail(err, "invalid tool call arguments");
            return NULL;
        }
        json_t *nf = json_object();
        const char *name = json_string_value(json_object_get(fn, "name"));
        json_object_set_new(nf, "name", json_string(name ? name : ""));
        json_object_set_new(nf, "arguments", json_is_null(a) ? json_object() : a);
        if (json_is_null(a)) json_decref(a);
        json_t *n = json_object();
        const char *id = json_string_value(json_object_get(tc, "id"));
        if (id && *id) json_object_set_new(n, "id", json_string(id));
        json_object_set_new(n, "function", nf);
        json_array_append_new(out, n);
    }
    return out;
}

/* The function name of the latest earlier tool call with this id. */
static const char *name_from_call_id(const json_t *msgs, const char *id) {
    for (size_t i = json_array_size(msgs); i-- > 0;) {
        const json_t *calls = json_object_get(json_array_get(msgs, i), "tool_calls");
        for (size_t k = 0; k < json_array_size(calls); k++) {
            const json_t *tc = json_array_get(calls, k);
            const char *tid = json_string_value(json_object_get(tc, "id"));
            if (tid && strcmp(tid, id) == 0)
                return json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
        }
    }
    return NULL;
}

static json_t *new_msg(const char *role) {
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string(role));
    return m;
}

/* One content part -> one native message appended to out. */
static int content_part(const char *role, const json_t *part, json_t *out, oc_error *err) {
    if (!json_is_object(part)) return oc_fail(err, "invalid message format");
    const char *type = json_string_value(json_object_get(part, "type"));
    json_t *m = new_msg(role);
    json_array_append_new(out, m);
    if (type && strcmp(type, "text") == 0) {
        const char *text = json_string_value(json_object_get(part, "text"));
        if (!text) return oc_fail(err, "invalid message format");
        json_object_set_new(m, "content", json_string(text));
        return 0;
    }
    json_t *img = NULL;
    if (type && strcmp(type, "image_url") == 0) {
        const json_t *u = json_object_get(part, "image_url");
        const char *url = json_is_object(u) ? json_string_value(json_object_get(u, "url")) : json_string_value(u);
        if (!url) return oc_fail(err, "invalid message format");
        if (compat_decode_image_url(url, &img, err)) return -1;
    } else if (type && strcmp(type, "input_audio") == 0) {
        const json_t *a = json_object_get(part, "input_audio");
        if (!json_is_object(a)) return oc_fail(err, "invalid input_audio format");
        const char *data = json_string_value(json_object_get(a, "data"));
        if (!data) return oc_fail(err, "invalid input_audio format: missing data");
        if (!compat_base64_valid(data)) return oc_fail(err, "invalid input_audio base64 data: illegal base64 data");
        img = json_string(data);
    } else {
        return oc_fail(err, "invalid message format");
    }
    json_object_set_new(m, "content", json_string(""));
    json_object_set_new(m, "images", json_pack("[o]", img));
    return 0;
}

static void set_str_nonempty(json_t *o, const char *key, const char *v) {
    if (v && *v) json_object_set_new(o, key, json_string(v));
}

/* One OpenAI message -> one or more native messages (spec §2.2). */
static int convert_message(const json_t *all, const json_t *msg, json_t *out, oc_error *err) {
    if (!json_is_object(msg)) return oc_fail(err, "json: cannot unmarshal %s into Go struct field ChatCompletionRequest.messages of type openai.Message",
                                             json_is_array(msg) ? "array" : json_is_string(msg) ? "string" : "number");
    const char *role = json_string_value(json_object_get(msg, "role"));
    role = role ? role : "";
    const char *reasoning = json_string_value(json_object_get(msg, "reasoning"));
    const char *call_id = json_string_value(json_object_get(msg, "tool_call_id"));
    const char *tool_name = NULL;
    if (strcasecmp(role, "tool") == 0) {
        tool_name = json_string_value(json_object_get(msg, "name"));
        if ((!tool_name || !*tool_name) && call_id && *call_id) tool_name = name_from_call_id(all, call_id);
    }
    const json_t *content = json_object_get(msg, "content");
    const json_t *calls = json_object_get(msg, "tool_calls");
    json_t *ncalls = NULL;
    if (json_array_size(calls) && !(ncalls = native_tool_calls(calls, err))) return -1;
    json_t *target;
    if (json_is_string(content) || (!json_is_array(content) && ncalls)) {
        target = new_msg(role);
        json_object_set_new(target, "content", json_is_string(content) ? json_copy((json_t *)content) : json_string(""));
        json_array_append_new(out, target);
    } else if (json_is_array(content)) {
        size_t i;
        json_t *part;
        json_array_foreach(content, i, part) if (content_part(role, part, out, err)) {
            json_decref(ncalls);
            return -1;
        }
        if (!ncalls || !json_array_size(out)) {
            json_decref(ncalls);
            return 0; /* reasoning and ids only ride along with tool calls here */
        }
        target = json_array_get(out, json_array_size(out) - 1);
    } else {
        return oc_fail(err, "invalid message content type: %s", compat_go_type(content));
    }
    set_str_nonempty(target, "thinking", reasoning);
    if (ncalls) json_object_set_new(target, "tool_calls", ncalls);
    set_str_nonempty(target, "tool_name", tool_name);
    set_str_nonempty(target, "tool_call_id", call_id);
    return 0;
}

/* stop: a string or the strings of an array (others dropped, or an
 * error with strict). */
static int stop_option(const json_t *stop, json_t *opts, bool strict, oc_error *err) {
    if (json_is_string(stop)) {
        json_object_set_new(opts, "stop", json_pack("[O]", stop));
    } else if (json_is_array(stop)) {
        json_t *a = json_array();
        size_t i;
        json_t *s;
        json_array_foreach(stop, i, s) {
            if (json_is_string(s)) json_array_append(a, s);
            else if (strict) {
                json_decref(a);
                return oc_fail(err, "invalid type for 'stop' field: %s", compat_go_type(s));
            }
        }
        json_object_set_new(opts, "stop", a);
    }
    return 0;
}

static void stream_fields(const json_t *in, compat_state *st) {
    st->stream = json_is_true(json_object_get(in, "stream"));
    st->include_usage = json_is_true(json_object_get(json_object_get(in, "stream_options"), "include_usage"));
    const char *m = json_string_value(json_object_get(in, "model"));
    snprintf(st->model, sizeof st->model, "%s", m ? m : "");
}

static json_t *response_format(const json_t *rf) {
    const char *type = json_string_value(json_object_get(rf, "type"));
    if (!type) return NULL;
    while (isspace((unsigned char)*type)) type++;
    size_t n = strlen(type);
    while (n && isspace((unsigned char)type[n - 1])) n--;
    if (n == 11 && strncasecmp(type, "json_object", n) == 0) return json_string("json");
    if (n == 11 && strncasecmp(type, "json_schema", n) == 0) {
        json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        if (schema && !json_is_null(schema)) return json_incref(schema);
    }
    return NULL;
}

static const field_type chat_fields[] = {
    {"model", "string", 's'}, {"messages", "[]openai.Message", 'a'}, {"stream", "bool", 'b'},
    {"stream_options", "openai.StreamOptions", 'o'}, {"max_tokens", "int", 'i'}, {"seed", "int", 'i'},
    {"temperature", "float64", 'n'}, {"frequency_penalty", "float64", 'n'}, {"presence_penalty", "float64", 'n'},
    {"top_p", "float64", 'n'}, {"response_format", "openai.ResponseFormat", 'o'}, {"tools", "[]api.Tool", 'a'},
    {"reasoning", "openai.Reasoning", 'o'}, {"reasoning_effort", "string", 's'}, {"logprobs", "bool", 'b'},
    {"top_logprobs", "int", 'i'}, {"_debug_render_only", "bool", 'b'},
};

static json_t *chat_options(const json_t *in) {
    json_t *opts = json_object();
    stop_option(json_object_get(in, "stop"), opts, false, NULL);
    copy_if(opts, "num_predict", in, "max_tokens");
    const json_t *t = json_object_get(in, "temperature");
    json_object_set_new(opts, "temperature", json_is_number(t) ? json_real(json_number_value(t)) : json_real(1.0));
    copy_if(opts, "seed", in, "seed");
    copy_if(opts, "frequency_penalty", in, "frequency_penalty");
    copy_if(opts, "presence_penalty", in, "presence_penalty");
    const json_t *p = json_object_get(in, "top_p");
    json_object_set_new(opts, "top_p", json_is_number(p) ? json_real(json_number_value(p)) : json_real(1.0));
    return opts;
}

json_t *compat_openai_chat_request(const json_t *in, compat_state *st, oc_error *err) {
    if (check_fields(in, "ChatCompletionRequest", chat_fields, sizeof chat_fields / sizeof *chat_fields, err)) return NULL;
    const json_t *msgs = json_object_get(in, "messages");
    if (!json_array_size(msgs)) return oc_fail(err, "[] is too short - 'messages'"), NULL;
    stream_fields(in, st);
    st->kind = COMPAT_CHAT;
    snprintf(st->id, sizeof st->id, "chatcmpl-%d", compat_random_int(999));
    const json_t *reasoning = json_object_get(in, "reasoning");
    const char *effort = reasoning && !json_is_null(reasoning) ? json_string_value(json_object_get(reasoning, "effort"))
                                                               : json_string_value(json_object_get(in, "reasoning_effort"));
    json_t *think;
    if (compat_think_from_effort(effort, &think, err)) return NULL;
    json_t *out = json_object(), *nm = json_array();
    json_object_set_new(out, "model", json_string(st->model));
    json_object_set_new(out, "messages", nm);
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) if (convert_message(msgs, m, nm, err)) {
        json_decref(out), json_decref(think);
        return NULL;
    }
    json_t *format = response_format(json_object_get(in, "response_format"));
    if (format) json_object_set_new(out, "format", format);
    json_object_set_new(out, "options", chat_options(in));
    json_object_set_new(out, "stream", json_boolean(st->stream));
    copy_if(out, "tools", in, "tools");
    if (think) json_object_set_new(out, "think", think);
    if (json_is_true(json_object_get(in, "logprobs"))) json_object_set_new(out, "logprobs", json_true());
    copy_if(out, "top_logprobs", in, "top_logprobs");
    if (json_is_true(json_object_get(in, "_debug_render_only"))) json_object_set_new(out, "_debug_render_only", json_true());
    return out;
}

static const field_type completion_fields[] = {
    {"model", "string", 's'}, {"prompt", "string", 's'}, {"frequency_penalty", "float32", 'n'},
    {"max_tokens", "int", 'i'}, {"presence_penalty", "float32", 'n'}, {"seed", "int", 'i'},
    {"stream", "bool", 'b'}, {"stream_options", "openai.StreamOptions", 'o'}, {"temperature", "float32", 'n'},
    {"top_p", "float32", 'n'}, {"suffix", "string", 's'}, {"logprobs", "int", 'i'},
    {"_debug_render_only", "bool", 'b'},
};

json_t *compat_openai_completion_request(const json_t *in, compat_state *st, oc_error *err) {
    if (check_fields(in, "CompletionRequest", completion_fields, sizeof completion_fields / sizeof *completion_fields, err))
        return NULL;
    json_t *opts = json_object();
    if (stop_option(json_object_get(in, "stop"), opts, true, err)) return json_decref(opts), NULL;
    stream_fields(in, st);
    st->kind = COMPAT_COMPLETE;
    snprintf(st->id, sizeof st->id, "cmpl-%d", compat_random_int(999));
    copy_if(opts, "num_predict", in, "max_tokens");
    const json_t *t = json_object_get(in, "temperature"), *p = json_object_get(in, "top_p");
    json_object_set_new(opts, "temperature", json_real(json_is_number(t) ? (double)(float)json_number_value(t) : 1.0));
    copy_if(opts, "seed", in, "seed");
    const json_t *fp = json_object_get(in, "frequency_penalty"), *pp = json_object_get(in, "presence_penalty");
    json_object_set_new(opts, "frequency_penalty", json_real(json_is_number(fp) ? (double)(float)json_number_value(fp) : 0));
    json_object_set_new(opts, "presence_penalty", json_real(json_is_number(pp) ? (double)(float)json_number_value(pp) : 0));
    double top_p = json_is_number(p) ? (double)(float)json_number_value(p) : 0;
    json_object_set_new(opts, "top_p", json_real(top_p == 0 ? 1.0 : top_p));
    const char *prompt = json_string_value(json_object_get(in, "prompt"));
    json_t *out = json_pack("{s:s,s:s}", "model", st->model, "prompt", prompt ? prompt : "");
    copy_if(out, "suffix", in, "suffix");
    json_object_set_new(out, "options", opts);
    json_object_set_new(out, "stream", json_boolean(st->stream));
    json_int_t lp = json_integer_value(json_object_get(in, "logprobs"));
    if (lp > 0) {
        json_object_set_new(out, "logprobs", json_true());
        json_object_set_new(out, "top_logprobs", json_integer(lp));
    }
    if (json_is_true(json_object_get(in, "_debug_render_only"))) json_object_set_new(out, "_debug_render_only", json_true());
    return out;
}

json_t *compat_openai_embed_request(const json_t *in, compat_state *st, oc_error *err) {
    static const field_type f[] = {{"model", "string", 's'}, {"dimensions", "int", 'i'}, {"encoding_format", "string", 's'}};
    if (check_fields(in, "EmbedRequest", f, 3, err)) return NULL;
    st->kind = COMPAT_EMBED;
    const char *m = json_string_value(json_object_get(in, "model"));
    snprintf(st->model, sizeof st->model, "%s", m ? m : "");
    const char *enc = json_string_value(json_object_get(in, "encoding_format"));
    if (enc && *enc && strcasecmp(enc, "float") != 0 && strcasecmp(enc, "base64") != 0)
        return oc_fail(err, "Invalid value for 'encoding_format' = %s. Supported values: ['float', 'base64'].", enc), NULL;
    st->base64 = enc && strcasecmp(enc, "base64") == 0;
    const json_t *input = json_object_get(in, "input");
    if (!input || json_is_null(input) || (json_is_array(input) && !json_array_size(input)))
        return oc_fail(err, "invalid input"), NULL;
    json_t *out = json_pack("{s:s}", "model", st->model);
    json_object_set_new(out, "input", json_is_string(input) && !*json_string_value(input) ? json_pack("[s]", "")
                                                                                           : json_incref((json_t *)input));
    json_int_t dims = json_integer_value(json_object_get(in, "dimensions"));
    if (dims) json_object_set_new(out, "dimensions", json_integer(dims));
    return out;
}

/* compat: the /v1 routes, and the helpers the translators share. Each
 * route decodes the foreign request, translates it, substitutes the
 * native body, installs compat_filter on the response and runs the
 * native handler, which answers (or streams) through the filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "compat/compat_internal.h"

/* ---- helpers ---- */

const char *compat_go_type(const json_t *v) {
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "float64";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_OBJECT: return "map[string]interface {}";
    case JSON_ARRAY: return "[]interface {}";
    default: return "<nil>";
    }
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool compat_base64_valid(const char *s) {
    size_t n = 0, pad = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\r' || *p == '\n') continue; /* Go skips these */
        if (*p == '=') {
            pad++;
        } else if (pad || b64_value(*p) < 0) {
            return false; /* data after padding, or a stray byte */
        }
        n++;
    }
    return n % 4 == 0 && pad <= 2;
}

void compat_base64_encode(const void *data, size_t n, oc_buf *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '='};
        oc_buf_append(out, q, 4);
    }
}

void compat_random_alnum(char *out, size_t n, bool hex) {
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789", hexd[] = "0123456789abcdef";
    unsigned char r[64];
    if (n > sizeof r) n = sizeof r;
    if (getrandom(r, n, 0) != (ssize_t)n)
        for (size_t i = 0; i < n; i++) r[i] = (unsigned char)rand();
    for (size_t i = 0; i < n; i++) out[i] = hex ? hexd[r[i] & 15] : alnum[r[i] % 36];
    out[n] = 0;
}

int compat_random_int(int n) {
    unsigned r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (unsigned)rand();
    return n > 0 ? (int)(r % (unsigned)n) : 0;
}

void compat_tool_call_id(char *out, size_t n) {
    char r[9];
    compat_random_alnum(r, 8, false);
    snprintf(out, n, "call_%s", r);
}

int64_t compat_unix_time(const json_t *created_at) {
    const char *s = json_string_value(created_at);
    int y, mo, d, h, mi, sec, used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6) return (int64_t)time(NULL);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    int64_t t = (int64_t)timegm(&tm);
    const char *p = s + used;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++) {}
    int oh, om;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) t -= (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    return t;
}

char *compat_json_text(const json_t *v) {
    oc_buf b = {0};
    server_json_encode(v, &b);
    oc_buf_append(&b, "", 1);
    return b.data;
}

void compat_emit_error(server_output *o, const char *sse_prefix, void (*shape)(int, const char *, oc_buf *)) {
    const char *m = json_string_value(json_object_get(o->value, "error"));
    char *msg = m ? oc_strdup(m) : compat_json_text(o->value);
    oc_buf e = {0};
    shape(o->status, msg, &e);
    if (o->kind == SERVER_OUTPUT_ERROR && o->started) { /* mid-stream: an error event */
        oc_buf_puts(&o->out, sse_prefix);
        oc_buf_append(&o->out, e.data, e.len - 1);
        oc_buf_puts(&o->out, "\n\n");
    } else {
        o->content_type = "application/json";
        oc_buf_append(&o->out, e.data, e.len);
    }
    oc_buf_free(&e);
    free(msg);
}

/* ---- the filter ---- */

void compat_filter(void *ud, server_output *o) {
    compat_state *st = ud;
    if (st->kind == COMPAT_MESSAGES) compat_anthropic_filter(st, o);
    else if (st->kind == COMPAT_RESPONSES) compat_responses_filter(st, o);
    else if (st->kind == COMPAT_TRANSCRIBE) compat_transcription_filter(st, o);
    else compat_openai_filter(st, o);
}

void compat_state_clear(compat_state *st) {
    json_decref(st->req);
    json_decref(st->done_items);
    oc_buf_free(&st->text);
    oc_buf_free(&st->thinking);
    st->req = st->done_items = NULL;
}

void compat_state_free(void *p) {
    if (!p) return;
    compat_state_clear(p);
    free(p);
}

/* ---- routes ---- */

typedef json_t *(*translator)(const json_t *in, compat_state *st, oc_error *err);

typedef struct compat_route {
    compat_kind kind;
    const char *method, *pattern;      /* the foreign route */
    const char *native_method, *native_pattern;
    translator tr;                     /* NULL: no request body */
    server_handler native;             /* looked up at registration */
    void *native_ctx;
} compat_route;

/* One table per process: the routes' contexts must outlive every server
 * (the server has no hook to free them), and registration happens once,
 * before listening. */
static compat_route routes[] = {
    {COMPAT_CHAT, "POST", "/v1/chat/completions", "POST", "/api/chat", compat_openai_chat_request, NULL, NULL},
    {COMPAT_COMPLETE, "POST", "/v1/completions", "POST", "/api/generate", compat_openai_completion_request, NULL, NULL},
    {COMPAT_EMBED, "POST", "/v1/embeddings", "POST", "/api/embed", compat_openai_embed_request, NULL, NULL},
    {COMPAT_LIST, "GET", "/v1/models", "GET", "/api/tags", NULL, NULL, NULL},
    {COMPAT_RETRIEVE, "GET", "/v1/models/:model", "POST", "/api/show", NULL, NULL, NULL},
    {COMPAT_MESSAGES, "POST", "/v1/messages", "POST", "/api/chat", compat_anthropic_request, NULL, NULL},
    {COMPAT_RESPONSES, "POST", "/v1/responses", "POST", "/api/chat", compat_responses_request, NULL, NULL},
    {COMPAT_TRANSCRIBE, "POST", "/v1/audio/transcriptions", "POST", "/api/chat", NULL, NULL, NULL},
};

/* /api/show, for the model's capabilities (set by compat_register). */
static server_handler show_handler;
static void *show_ctx;

/* Anthropic asks for thinking whatever the model; upstream drops the
 * request for models that cannot think instead of failing. */
static void relax_thinking(server_request *req, json_t *native) {
    const json_t *think = json_object_get(native, "think");
    if (!think || json_is_false(think) || !show_handler) return;
    int status;
    json_t *show = server_request_call(req, show_handler, show_ctx,
                                       json_pack("{s:O}", "model", json_object_get(native, "model")), &status);
    const json_t *caps = json_object_get(show, "capabilities");
    bool can = false;
    for (size_t i = 0; i < json_array_size(caps); i++) {
        const char *c = json_string_value(json_array_get(caps, i));
        if (c && !strcmp(c, "thinking")) can = true;
    }
    if (status == 200 && !can) json_object_del(native, "think"); /* errors are left to the chat handler */
    json_decref(show);
}

static void respond_foreign_error(server_response *res, compat_kind kind, int status, const char *msg) {
    oc_buf b = {0};
    if (kind == COMPAT_MESSAGES) compat_anthropic_error(status, msg, &b);
    else compat_openai_error(status, msg, &b);
    server_respond_data(res, status, "application/json", b.data, b.len);
    oc_buf_free(&b);
}

/* The native body for req in *native (NULL: the native route reads none);
 * -1 with the message of a 400 when the foreign request is refused. */
static int translate(server_request *req, const compat_route *r, compat_state *st, json_t **native, oc_error *err) {
    *native = NULL;
    if (r->tr) {
        json_t *in = NULL;
        if (server_request_decode_json(req, &in, err) < 0) return -1;
        *native = r->tr(in, st, err);
        json_decref(in);
        return *native ? 0 : -1;
    }
    if (r->kind == COMPAT_TRANSCRIBE) {
        size_t len;
        const char *body = server_request_body(req, &len);
        *native = compat_transcription_request(server_request_header(req, "Content-Type"), body, len, st, err);
        return *native ? 0 : -1;
    }
    if (r->kind == COMPAT_RETRIEVE) {
        const char *m = server_request_param(req, "model");
        snprintf(st->model, sizeof st->model, "%s", m ? m : "");
        *native = json_pack("{s:s}", "model", st->model);
    }
    return 0;
}

static void handle(server_request *req, server_response *res, void *ctx) {
    const compat_route *r = ctx;
    compat_state *st = oc_calloc(1, sizeof *st);
    st->kind = r->kind;
    json_t *native;
    oc_error err;
    if (translate(req, r, st, &native, &err) < 0) {
        respond_foreign_error(res, r->kind, 400, err.msg);
        compat_state_free(st);
        return;
    }
    if (r->kind == COMPAT_MESSAGES) relax_thinking(req, native);
    if (native) server_request_set_json(req, native);
    if (st->stream && (r->kind == COMPAT_MESSAGES || r->kind == COMPAT_RESPONSES))
        server_response_header(res, "Cache-Control", "no-cache"); /* as upstream, set before the answer */
    const char *stream_type = r->kind != COMPAT_TRANSCRIBE ? "text/event-stream" : st->plain_text ? "text/plain" : "application/json";
    server_response_filter(res, compat_filter, st, compat_state_free, stream_type);
    r->native(req, res, r->native_ctx);
}

int compat_register(server *srv) {
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        compat_route *r = &routes[i];
        if (server_route_lookup(srv, r->native_method, r->native_pattern, &r->native, &r->native_ctx) < 0) return -1;
        if (r->kind == COMPAT_RETRIEVE) show_handler = r->native, show_ctx = r->native_ctx;
        if (server_route(srv, r->method, r->pattern, handle, r, 0) < 0) return -1;
    }
    return 0;
}

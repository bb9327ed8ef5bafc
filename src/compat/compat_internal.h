/* compat (internal): the request translators and the output filter,
 * pure functions over JSON that the unit tests and fuzz target drive. */
#ifndef OLLAMA_COMPAT_INTERNAL_H
#define OLLAMA_COMPAT_INTERNAL_H

#include <stdint.h>

#include "compat/compat.h"

typedef enum compat_kind {
    COMPAT_CHAT,     /* /v1/chat/completions over /api/chat */
    COMPAT_COMPLETE, /* /v1/completions over /api/generate */
    COMPAT_EMBED,    /* /v1/embeddings over /api/embed */
    COMPAT_LIST,     /* /v1/models over /api/tags */
    COMPAT_RETRIEVE, /* /v1/models/:model over /api/show */
    COMPAT_MESSAGES, /* Anthropic /v1/messages over /api/chat */
    COMPAT_RESPONSES, /* OpenAI /v1/responses over /api/chat */
    COMPAT_TRANSCRIBE, /* OpenAI /v1/audio/transcriptions over /api/chat */
} compat_kind;

/* What a translated request needs to know to shape its answers; also the
 * state of a stream being translated (one per request, the filter's ud). */
typedef struct compat_state {
    compat_kind kind;
    bool stream, include_usage, base64, plain_text;
    char id[64];        /* chatcmpl-N, cmpl-N, msg_<24 hex> */
    char model[256];    /* the request's model string, echoed */
    int64_t created;    /* pinned from the first chunk (chat streams) */
    bool first_sent, tool_call_sent;
    /* Anthropic streams */
    bool msg_started;
    int index;          /* the current content block */
    int open_block;     /* 0 none, 1 thinking, 2 text */
    int input_estimate; /* message_start's input_tokens before the real count */
    /* Responses API */
    json_t *req;        /* the request, echoed in the response object */
    char item_id[64];   /* msg_N, the message item */
    int seq, out_index;
    bool content_started, reasoning_started;
    char reasoning_id[32];
    oc_buf text, thinking; /* accumulated */
    json_t *done_items; /* items completed before the message */
} compat_state;

/* Frees what a state holds; compat_state_free also the state itself
 * (the filter's free_ud). */
void compat_state_clear(compat_state *st);
void compat_state_free(void *st);

/* Request translators: the native request for a foreign one (new
 * reference), or NULL with upstream's message (HTTP 400). They fill st. */
json_t *compat_openai_chat_request(const json_t *in, compat_state *st, oc_error *err);
json_t *compat_openai_completion_request(const json_t *in, compat_state *st, oc_error *err);
json_t *compat_openai_embed_request(const json_t *in, compat_state *st, oc_error *err);
json_t *compat_anthropic_request(const json_t *in, compat_state *st, oc_error *err);
json_t *compat_responses_request(const json_t *in, compat_state *st, oc_error *err);

/* multipart/form-data (RFC 7578) parts, pointing into the body. */
typedef struct compat_part {
    char name[64];
    bool is_file;       /* the part had a filename */
    const char *data;
    size_t len;
} compat_part;
/* Splits body by the boundary of ctype: the number of parts, or -1 with
 * Go's wording. */
int compat_multipart_parse(const char *ctype, const char *body, size_t len, compat_part *parts, int max, oc_error *err);
json_t *compat_transcription_request(const char *ctype, const char *body, size_t len, compat_state *st, oc_error *err);

/* The server_output_filter of every route (ud is a compat_state). */
void compat_filter(void *ud, server_output *o);

/* Error bodies, with a trailing newline as Go's json.Encoder writes. */
void compat_openai_error(int status, const char *msg, oc_buf *out);
void compat_anthropic_error(int status, const char *msg, oc_buf *out);

/* ---- helpers shared by the files ---- */
/* Go's %T of a decoded JSON value: "string", "float64", "<nil>", ... */
const char *compat_go_type(const json_t *v);
/* Strict standard base64 (padding required, as Go's StdEncoding). */
bool compat_base64_valid(const char *s);
void compat_base64_encode(const void *data, size_t n, oc_buf *out);
/* Lower-case letters and digits, n of them, from the system's RNG. */
void compat_random_alnum(char *out, size_t n, bool hex);
/* Unix seconds of a native RFC 3339 created_at (now when absent/bad). */
int64_t compat_unix_time(const json_t *created_at);
/* A random integer in [0, n). */
int compat_random_int(int n);
/* "call_" + 8 random chars. */
void compat_tool_call_id(char *out, size_t n);
/* A value as compact Go-style JSON text (malloc'd). */
char *compat_json_text(const json_t *v);
/* A native error answer in a foreign shape: shape() renders the error body
 * (ending in a newline); before the stream started it is the JSON answer,
 * after it an SSE event that begins with sse_prefix ("data: " or
 * "event: error\ndata: "). */
void compat_emit_error(server_output *o, const char *sse_prefix, void (*shape)(int, const char *, oc_buf *));

void compat_openai_filter(compat_state *st, server_output *o);
void compat_anthropic_filter(compat_state *st, server_output *o);
void compat_responses_filter(compat_state *st, server_output *o);
void compat_transcription_filter(compat_state *st, server_output *o);
/* Shared by the OpenAI formats (openai.c, openai_out.c). */
int compat_think_from_effort(const char *effort, json_t **out, oc_error *err);
int compat_decode_image_url(const char *url, json_t **out, oc_error *err);
json_t *compat_openai_tool_calls(const json_t *native_calls);

#endif

/* server: the HTTP transport of the REST API, on libmicrohttpd.
 * Owns: OLLAMA_HOST parsing and the listening socket; the route table and
 * router (404, 405 + Allow, trailing-slash redirects); CORS (OLLAMA_ORIGINS)
 * and the Host-header DNS-rebinding check, applied before routing; request
 * bodies (a JSON object parsed under a size limit, or streamed to a sink for
 * uploads); responses (JSON encoded like Go's encoding/json, text, empty)
 * and NDJSON streams written from any thread, with client-disconnect
 * detection; the small built-in endpoints (/, /api/version, /api/status,
 * cloud/account stubs). Endpoint handlers (generate, chat, tags, ...) live
 * in other modules and are registered on top with server_route().
 *
 * Threading: one thread per connection, so a handler may block (waiting for
 * a model, a download, the whole generation). A handler's req/res are valid
 * only during the call; a stream writer outlives it until server_stream_end.
 */
#ifndef OLLAMA_SERVER_H
#define OLLAMA_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

#define SERVER_VERSION "0.33.0"
#define SERVER_DEFAULT_PORT 11434
#define SERVER_DEFAULT_MAX_BODY ((size_t)32 << 20)
#define SERVER_CT_JSON "application/json; charset=utf-8"
#define SERVER_CT_NDJSON "application/x-ndjson"

/* ---- environment and OLLAMA_HOST (env.md §1, §3) ---- */

/* An environment variable read like upstream's envconfig.Var: surrounding
 * whitespace trimmed, then runs of '"' and '\'' stripped from both ends.
 * Returns buf ("" when unset). */
const char *server_env(const char *name, char *buf, size_t n);
/* A bool variable: empty -> def; 1 t T TRUE true True / 0 f F FALSE false
 * False; any other text -> true. */
bool server_env_bool(const char *name, bool def);

typedef struct server_host {
    char scheme[16]; /* "http", "https" */
    char host[256];  /* without brackets; "" = all interfaces */
    int port;
    char path[256];  /* base path for clients: "" or "/ollama" */
} server_host;

/* Parses an OLLAMA_HOST value (NULL or "" = default). Never fails: bad
 * parts fall back to defaults as upstream does. */
void server_host_parse(const char *value, server_host *out);
/* server_host_parse(getenv("OLLAMA_HOST")). */
void server_host_from_env(server_host *out);
/* "127.0.0.1:11434", "[::1]:11434", ":0" (Go's net.JoinHostPort). */
void server_host_join(const server_host *h, char *buf, size_t n);
/* "http://127.0.0.1:11434" plus the path. */
void server_host_url(const server_host *h, char *buf, size_t n);
/* The address a client dials: an unspecified host becomes loopback. */
void server_host_connectable(const server_host *h, server_host *out);

/* ---- handlers ---- */

typedef struct server server;
typedef struct server_request server_request;
typedef struct server_response server_response;
typedef struct server_stream server_stream;

/* Called on the connection's thread. It must answer through res (one
 * server_respond_* call, or server_stream_begin); returning without an
 * answer sends 200 with an empty body, as gin does. */
typedef void (*server_handler)(server_request *req, server_response *res, void *ctx);

enum server_route_flags {
    /* The body must be one JSON object: the layer answers 400 "missing
     * request body" / the decoder's message / 413 itself, JSON null becomes
     * {}, and server_request_json() returns the object. Without this flag
     * the body is buffered (same size limit) and left to the handler. */
    SERVER_JSON_BODY = 1u << 0,
    /* The handler runs as soon as the headers are in, before any body is
     * read; it answers at once (the body is then never read) or hands the
     * body to a sink with server_request_read_body. No size limit. */
    SERVER_STREAM_BODY = 1u << 1,
};

typedef struct server_route_def {
    const char *method, *pattern; /* "POST", "/api/blobs/:digest" */
    server_handler handler;
    void *ctx;                    /* NULL: server_config.ctx */
    unsigned flags;
} server_route_def;

typedef struct server_config {
    server_host addr;       /* where to listen (server_host_from_env) */
    const char *origins;    /* OLLAMA_ORIGINS value; NULL: built-ins only */
    size_t max_body;        /* buffered body limit; 0: SERVER_DEFAULT_MAX_BODY */
    const server_route_def *routes; /* registered by server_start over the */
    size_t n_routes;                /* built-in table */
    void *ctx;              /* default handler context */
    bool quiet;             /* no per-request log line */
} server_config;

/* A server with the built-in route table of api.md §3: /, /api/version,
 * /api/status and the cloud/account routes answer; every other listed
 * route answers 501 {"error":"not implemented"} until replaced. Fails on an
 * invalid OLLAMA_ORIGINS entry (upstream refuses to start too). */
server *server_new(const server_config *cfg, oc_error *err);
/* Adds a route or replaces the one with the same method and pattern.
 * Patterns are literal segments and ":name" segments. Only before
 * server_listen; -1 on a bad pattern or a running server. */
int server_route(server *s, const char *method, const char *pattern, server_handler h,
                 void *ctx, unsigned flags);
/* Binds cfg.addr and starts serving. The error reads like Go's:
 * "listen tcp 127.0.0.1:11434: bind: address already in use". */
int server_listen(server *s, oc_error *err);
/* server_new + cfg->routes + server_listen; NULL on error. */
server *server_start(const server_config *cfg, oc_error *err);
/* The bound address, "127.0.0.1:11434" or "[::]:11434", and its port. */
const char *server_address(const server *s);
int server_port(const server *s);
/* Blocks until SIGINT or SIGTERM (which the caller must have blocked in
 * every thread, e.g. with pthread_sigmask before server_start) or until
 * server_interrupt; returns the signal number, or 0. */
int server_wait(server *s);
/* Makes server_wait return; callable from any thread. */
void server_interrupt(server *s);
/* Stops accepting, ends every open stream (their writers then get false),
 * waits for connection threads and frees the server. NULL is fine. */
void server_stop(server *s);

/* ---- requests ---- */

const char *server_request_method(const server_request *req);
const char *server_request_path(const server_request *req); /* decoded, no query */
/* A ":name" path parameter of the route, or NULL. */
const char *server_request_param(const server_request *req, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *server_request_header(const server_request *req, const char *name);
/* A query-string argument, or NULL. */
const char *server_request_query(const server_request *req, const char *name);
/* The parsed body of a SERVER_JSON_BODY route (borrowed, always an object);
 * NULL on other routes. */
json_t *server_request_json(const server_request *req);
/* The buffered raw body (NUL-terminated) of a route without
 * SERVER_STREAM_BODY; NULL with *len 0 when empty. */
const char *server_request_body(const server_request *req, size_t *len);
/* Decodes the buffered body as server_request_json would, for handlers
 * that word errors themselves (the OpenAI layer): 0 with a new reference
 * in *out, or -1 with "missing request body" or the decoder's message. */
int server_request_decode_json(const server_request *req, json_t **out, oc_error *err);
/* The client's address, "127.0.0.1". */
const char *server_request_remote(const server_request *req);
/* True once the client hung up (or the server is stopping): a blocking
 * handler polls this to give up (e.g. 499 "request canceled"). */
bool server_request_client_gone(server_request *req);

/* Streamed request body (SERVER_STREAM_BODY routes): called by the
 * handler, which then returns without answering. The sink gets the body
 * piece by piece on the connection thread, never buffered whole;
 * returning false discards the rest. done runs exactly once, at the end,
 * with res to answer through (ignored after a disconnect). */
enum server_body_end {
    SERVER_BODY_COMPLETE,     /* every byte went to the sink */
    SERVER_BODY_STOPPED,      /* the sink returned false */
    SERVER_BODY_DISCONNECTED, /* the client went away mid-body */
};
typedef bool (*server_body_sink)(void *ud, const void *data, size_t len);
typedef void (*server_body_done)(server_request *req, server_response *res, void *ud,
                                 enum server_body_end how);
void server_request_read_body(server_request *req, server_body_sink sink, server_body_done done,
                              void *ud);

/* ---- responses (one per request; later calls are ignored) ---- */

/* One JSON value, Go-encoded, application/json; charset=utf-8, no trailing
 * newline. Takes ownership of body (NULL sends "null"). */
void server_respond_json(server_response *res, int status, json_t *body);
/* {"error":"<message>"}. */
void server_respond_error(server_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* No body, no Content-Type (delete, copy, blob created). */
void server_respond_empty(server_response *res, int status);
/* text/plain; charset=utf-8. */
void server_respond_text(server_response *res, int status, const char *text);
void server_respond_data(server_response *res, int status, const char *content_type,
                         const void *data, size_t len);
/* A byte range of an open file, sent without buffering it (blob
 * downloads); takes ownership of fd in every case. Content-Length is len,
 * and a HEAD request gets the headers only. */
void server_respond_file(server_response *res, int status, const char *content_type, int fd,
                         uint64_t offset, uint64_t len);
/* An extra response header (also for streams, before the first byte). */
void server_response_header(server_response *res, const char *name, const char *value);

/* ---- streaming responses ---- */

/* Starts a streamed 200 response (content_type NULL: application/x-ndjson)
 * and returns its writer, which any thread may use; the handler may return
 * right away. Headers go out with the first byte written, so an error
 * before it still gets its own status (server_stream_error). Every writer
 * must be released with server_stream_end. */
server_stream *server_stream_begin(server_response *res, const char *content_type);
/* Queues bytes, sent as soon as the client can take them. False once the
 * client has gone, the server is stopping or the stream had an error:
 * the producer should stop (cancel generation). */
bool server_stream_write(server_stream *w, const void *data, size_t len);
/* One NDJSON line: the Go-encoded value plus "\n". Takes ownership. */
bool server_stream_write_json(server_stream *w, json_t *value);
/* Ends the stream with an error as upstream's streamResponse does: before
 * any byte, the response becomes status + application/json
 * {"error":"..."}; after, a last line {"error":"..."}. Later writes fail. */
void server_stream_error(server_stream *w, int status, const char *msg);
/* The general form, for layers with their own error shapes (OpenAI,
 * SSE): before any byte the response becomes status + application/json
 * with `before` (owned); after, the bytes `after` (may be NULL) end it. */
void server_stream_fail(server_stream *w, int status, json_t *before, const char *after);
/* False once writes would fail. */
bool server_stream_alive(server_stream *w);
/* Finishes the response and releases the writer. */
void server_stream_end(server_stream *w);

/* ---- translation layers (OpenAI / Anthropic compatibility) ----
 * A foreign-API route translates its request into a native one and runs
 * the native handler on it; the handler's answers go through an output
 * filter that rewrites them into the foreign shape. */

/* The handler and context registered for method + pattern (exact pattern
 * text, e.g. "/api/chat"); -1 when there is none. */
int server_route_lookup(const server *s, const char *method, const char *pattern, server_handler *h,
                        void **ctx);
/* Replaces the request's JSON body (takes ownership): what
 * server_request_json returns from now on, e.g. for a native handler run
 * on a translated request. */
void server_request_set_json(server_request *req, json_t *body);

/* Runs handler h on req with `body` (owned) as its JSON body and a
 * private response, and returns the JSON value it answered (new
 * reference; NULL when it answered with something else) with its status.
 * For handlers that answer with one object (e.g. /api/show, asked by a
 * layer before the main call); a stream such a handler begins is cut
 * off. req's own body and response are left as they were. */
json_t *server_request_call(server_request *req, server_handler h, void *ctx, json_t *body, int *status);

enum server_output_kind {
    SERVER_OUTPUT_WHOLE, /* server_respond_json/_error: the whole answer */
    SERVER_OUTPUT_CHUNK, /* server_stream_write_json: one streamed value */
    SERVER_OUTPUT_ERROR, /* server_stream_error: value is {"error":msg} */
    SERVER_OUTPUT_END,   /* server_stream_end of a stream still alive */
};
typedef struct server_output {
    enum server_output_kind kind;
    int status;           /* WHOLE, ERROR: the handler's; the filter may change it */
    const json_t *value;  /* WHOLE, CHUNK, ERROR (borrowed); NULL for END */
    bool started;         /* ERROR: bytes of the stream were already sent */
    const char *content_type; /* WHOLE: the filter's type (NULL: JSON) */
    oc_buf out;           /* the filter appends the bytes to send instead */
} server_output;
/* Rewrites one answer. Calls for one response never overlap, but a
 * stream's come from its writer's thread. For an ERROR before any byte,
 * out is the whole JSON body sent with status; after, the last bytes. */
typedef void (*server_output_filter)(void *ud, server_output *o);
/* Installs a filter on res before the handler answers: JSON answers,
 * streamed JSON values, stream errors and stream ends go through it
 * (raw data, text, empty answers and server_stream_write bytes do not).
 * A stream the handler begins gets stream_content_type (e.g.
 * "text/event-stream"). free_ud(ud) runs once the response, or a stream
 * begun on it, is released. */
void server_response_filter(server_response *res, server_output_filter fn, void *ud, void (*free_ud)(void *),
                            const char *stream_content_type);

/* ---- JSON output like Go's encoding/json ---- */

/* Compact; "<", ">", "&", U+2028/9 escaped as \u003c...; invalid UTF-8 as
 * \ufffd; reals in strconv's shortest form ("0.1", "1e-7", "1e+21");
 * object keys in insertion order (use jansson's order as Go's struct
 * field order). */
void server_json_encode(const json_t *v, oc_buf *out);
/* A float as Go writes a float32 (bits 32) or float64 (bits 64) field;
 * for hand-built arrays such as embeddings. */
void server_json_append_float(oc_buf *out, double v, int bits);

#endif

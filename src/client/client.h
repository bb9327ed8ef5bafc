/* client: the HTTP client the `ollama` command line uses to talk to the
 * server at OLLAMA_HOST (libcurl). Owns JSON requests with upstream's error
 * texts, NDJSON stream reading, blob uploads, cancellation from a signal
 * handler, and starting a local `ollama serve` in the background when no
 * server answers. */
#ifndef OLLAMA_CLIENT_H
#define OLLAMA_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

typedef struct client client;

/* A client for OLLAMA_HOST (an unspecified host dials loopback). */
client *client_new(void);
void client_free(client *c);
/* "http://127.0.0.1:11434" plus any base path. */
const char *client_base(const client *c);

/* HEAD /: 0 when the server answers 200. A connection failure gives
 * "could not connect to ollama server, run 'ollama serve' to start it". */
int client_heartbeat(client *c, oc_error *err);
/* client_heartbeat; when nothing listens on a loopback host, starts
 * `<exe> serve` detached (logging to ~/.ollama/logs/server.log) and waits
 * up to 30 s for it to answer. */
int client_ensure_server(client *c, oc_error *err);

/* One JSON request (body may be NULL). On 2xx returns 0 and *out (NULL if
 * the body is empty or not JSON; out may be NULL). Otherwise -1 with err =
 * the server's `error` field (or the status line text); *status always set
 * when status is not NULL (0 = no answer). */
int client_json(client *c, const char *method, const char *path, json_t *body, json_t **out, long *status,
                oc_error *err);
/* client_json that also hands back the JSON body of a non-2xx answer in
 * *out (the caller frees it), for answers with more than `error` (the
 * signin_url of a 401 from /api/me). */
int client_json_any(client *c, const char *method, const char *path, json_t *body, json_t **out, long *status,
                    oc_error *err);

/* A streaming request: fn is called for each NDJSON object (borrowed). A
 * non-2xx answer gives "<code> <reason>: <error>"; an {"error"} line gives
 * the message. Returns 0, -1 on error, or CLIENT_CANCELED when fn returned
 * nonzero or client_cancel was called. */
#define CLIENT_CANCELED 1
typedef int (*client_object_fn)(void *ud, json_t *obj);
int client_stream(client *c, const char *path, json_t *body, client_object_fn fn, void *ud, oc_error *err);

/* NDJSON framing: appends data to pending and calls fn for each complete
 * line (newline removed); returns 1 as soon as fn returns nonzero. What
 * follows the last newline stays in pending. */
typedef int (*client_line_fn)(void *ud, const char *line, size_t len);
int client_ndjson_feed(oc_buf *pending, const char *data, size_t len, client_line_fn fn, void *ud);

/* POST /api/blobs/<digest> with the file's bytes; progress(ud, sent, total)
 * is called as bytes go out (may be NULL). */
typedef void (*client_upload_fn)(void *ud, int64_t sent, int64_t total);
int client_upload_blob(client *c, const char *digest, const char *path, client_upload_fn progress, void *ud,
                       oc_error *err);

/* Async-signal-safe: makes the running transfer stop (CLIENT_CANCELED);
 * client_cancel_reset clears it before the next request. */
void client_cancel(void);
void client_cancel_reset(void);
bool client_canceled(void);

/* "400 Bad Request": Go's http.Response.Status text for a code. */
void client_status_text(long code, char *buf, size_t n);

/* sha256 of a file as "sha256:<64 hex>". */
int client_file_digest(const char *path, char out[72], oc_error *err);

#endif

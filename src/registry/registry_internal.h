/* registry (internal): the HTTP client every registry call goes through
 * (upstream's makeRequestWithRetry: auth challenge, error mapping, the
 * insecure http rewrite), and what pull and push share. */
#ifndef OLLAMA_REGISTRY_INTERNAL_H
#define OLLAMA_REGISTRY_INTERNAL_H

#include <curl/curl.h>

#include "registry/registry.h"

#define REG_ACCEPT "application/vnd.docker.distribution.manifest.v2+json"
#define REG_MAX_RETRIES 6

/* registry_split's part size bounds (100 MB, 1000 MB); tests lower them. */
extern int64_t reg_part_min, reg_part_max;

/* One pull or push against one registry repository. */
typedef struct reg_client {
    const registry_opts *o;
    char base[STORE_HOST_MAX + 32]; /* "https://host" */
    char host[STORE_HOST_MAX + 1];  /* host[:port] */
    char repo[2 * STORE_PART_MAX + 2]; /* "namespace/model" */
    char *token;                    /* bearer token once obtained */
} reg_client;

typedef struct reg_resp {
    long status;
    oc_buf body;
    char *location;        /* Docker-Upload-Location, else Location */
    char *www_auth;        /* WWW-Authenticate */
    char *effective_url;
    int64_t content_length; /* -1 unknown */
    bool stop_at_body;      /* input: end the transfer once headers are in */
} reg_resp;

void reg_resp_free(reg_resp *r);
/* Sets up c for name (scheme rules of §2): -1 "insecure protocol http". */
int reg_client_init(reg_client *c, const store_name *n, const registry_opts *o, oc_error *err);
void reg_client_free(reg_client *c);
bool reg_cancelled(const reg_client *c);
/* http:// when insecure, as upstream rewrites every registry URL. */
char *reg_fix_scheme(const reg_client *c, const char *url);
/* Resolves a Location (absolute or relative) against the registry base. */
char *reg_resolve(const reg_client *c, const char *base_url, const char *loc);

/* A request body read from a file range (or memory when fd < 0). */
typedef struct reg_body {
    int fd;
    const char *mem;
    uint64_t offset, len;
} reg_body;

/* One request with upstream's retry rule: a 401 fetches a token from the
 * challenge and retries once (second 401: "unauthorized: access denied");
 * 404 -> "file does not exist"; other >= 400 -> "<code>: <body>". Extra
 * headers are "Name: value" lines. The body of r is kept (<= 64 MiB). */
int reg_request(reg_client *c, const char *method, const char *url, const char *const *headers,
                const reg_body *body, reg_resp *r, oc_error *err);
/* A single exchange, no retry or mapping (auth = send the bearer token). */
int reg_exchange(reg_client *c, const char *method, const char *url, const char *const *headers,
                 const reg_body *body, bool auth, bool follow, reg_resp *r, oc_error *err);
/* The token dance of §6.2 for a challenge; sets c->token. */
int reg_fetch_token(reg_client *c, const char *req_url, const registry_challenge *ch, oc_error *err);
/* A curl handle with the common options (user agent, proxies from the
 * environment, cancellation through the progress callback). */
CURL *reg_easy(reg_client *c);
/* Sleeps ms milliseconds in small steps; false when cancelled meanwhile. */
bool reg_sleep(const reg_client *c, int64_t ms);
/* Hex sha256 of a file's bytes; -1 on I/O error. */
int reg_hash_file(const char *path, char hex[65], oc_error *err);

/* pull.c's blob transfer (download.c). */
typedef struct reg_blob {
    const char *digest;
    int64_t size;
} reg_blob;
/* Downloads a blob into blobs/sha256-<hex>-partial (resuming), not yet
 * verified or published. */
int reg_download(reg_client *c, store *s, const reg_blob *b, oc_error *err);
/* How far a download of b (by this or another request) has come, from
 * its part state files; -1 when there are none. */
int reg_partial_progress(store *s, const reg_blob *b, int64_t *total, int64_t *done);
/* Hashes the partial file; publishes it as the blob when it matches,
 * deletes it (and its state) otherwise with upstream's message. */
int reg_verify_publish(store *s, const reg_blob *b, oc_error *err);

#endif

/* registry: owns the distribution protocol client — manifests, blob
 * download/upload, auth — and the /v2 read side (../shared/spec/registry.md).
 * Pull: the manifest, then every missing blob with libcurl in ranged parts
 * kept on disk (blobs/sha256-<hex>-partial and -partial-N state files, as
 * upstream) so an interrupted pull resumes; retries with back-off, stall
 * detection, sha256 verified before a blob is published; the manifest is
 * written last and atomically. Push: HEAD, POST, PATCH parts, PUT with the
 * digest, cross-repo mount, manifest last. Bearer-token challenges are
 * followed (signed with ~/.ollama/id_ed25519 when present). The /v2 read
 * side serves the store's manifests and blobs (Range supported) so one
 * server can pull from another. Also the /api/pull and /api/push handlers.
 * Not here: blob and manifest storage (store), HTTP serving (server). */
#ifndef OLLAMA_REGISTRY_H
#define OLLAMA_REGISTRY_H

#include <stdint.h>

#include "store/store.h"

struct server;

/* Returns true when the operation should stop (client gone). */
typedef bool (*registry_cancel_fn)(void *ud);

typedef struct registry_opts {
    bool insecure;               /* plain http allowed (every request rewritten to http) */
    store_progress_fn progress;  /* may be NULL */
    void *ud;
    registry_cancel_fn cancelled; /* may be NULL */
    void *cancel_ud;
} registry_opts;

/* POST /api/pull's work. 0, or -1 with upstream's message in err and the
 * HTTP status an API answer should carry in *status (400 bad name, 500
 * otherwise). Nothing of the model is listed unless it all arrived. */
int registry_pull(store *s, const char *name, const registry_opts *o, int *status, oc_error *err);
/* POST /api/push's work; same conventions. */
int registry_push(store *s, const char *name, const registry_opts *o, int *status, oc_error *err);

/* Registers /api/pull, /api/push and the /v2 read side over a store. */
int registry_register(struct server *srv, store *st);
/* After server_stop (which ends their streams, so they cancel): waits up
 * to timeout_ms for streamed pulls and pushes to let go of the store;
 * false if some still run. Call before store_close. */
bool registry_wait_idle(int timeout_ms);

/* ---- pure pieces (fuzzed, unit tested) ---- */

/* WWW-Authenticate: Bearer realm="…",service="…",scope="…" read as
 * upstream does (values up to the first '"' followed by ',' or the end). */
typedef struct registry_challenge {
    char realm[1024], service[256], scope[1024];
} registry_challenge;
void registry_parse_challenge(const char *header, registry_challenge *c);

/* A Range request header against a blob of size bytes: 0 with the
 * inclusive [*start, *end]; 1 when there is no usable range (serve it
 * all); -1 when unsatisfiable (416). One range only. */
int registry_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *end);

/* One part of a download: its state file is {"N":0,"Offset":0,"Size":…,"Completed":…}. */
typedef struct registry_part {
    int n;
    int64_t offset, size, completed;
} registry_part;
/* Parses a part state file; -1 when it is not one (or is inconsistent). */
int registry_part_parse(const void *data, size_t len, registry_part *p);
/* The JSON of a part state file, with its newline (malloc'ed). */
char *registry_part_encode(const registry_part *p);
/* Upstream's split: total/16 clamped to [100 MB, 1000 MB]; returns the
 * number of parts (0 for an empty blob), *parts malloc'ed. */
size_t registry_split(int64_t total, registry_part **parts);

#endif

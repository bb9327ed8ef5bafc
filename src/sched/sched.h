/* sched: which models are loaded.
 * Owns the set of loaded runners (a model plus its engine), loading on
 * first use, reuse while the load options match, keep_alive expiry (a
 * reaper thread), OLLAMA_MAX_LOADED_MODELS with least-recently-used
 * eviction of idle runners, the OLLAMA_MAX_QUEUE limit, and refusing a
 * model that does not fit in free memory instead of half-loading it. */
#ifndef OLLAMA_SCHED_H
#define OLLAMA_SCHED_H

#include "engine/engine.h"

#define SCHED_FOREVER INT64_MAX
#define SCHED_KEEP_CURRENT INT64_MIN /* a request without keep_alive */

typedef struct sched_config {
    int max_loaded;             /* OLLAMA_MAX_LOADED_MODELS; 0: 3 */
    int num_parallel;           /* OLLAMA_NUM_PARALLEL; 0: 1 */
    int max_queue;              /* OLLAMA_MAX_QUEUE; 0: 512 */
    int64_t default_keep_alive; /* ns; OLLAMA_KEEP_ALIVE, default 5 minutes */
} sched_config;

/* Options that fix how a model is loaded; a request with other values
 * reloads it. Zero means automatic. */
typedef struct sched_load_opts {
    int num_ctx, num_batch, num_thread;
} sched_load_opts;

typedef struct sched sched;
typedef struct sched_runner sched_runner;

/* Reads the OLLAMA_* variables into a config. */
sched_config sched_config_from_env(void);
sched *sched_new(const sched_config *c);
void sched_free(sched *s);

/* Returns the runner of `name` (the model file at path), loading it when
 * needed; the caller holds it until sched_release. *load_ns gets the time
 * spent waiting and loading. Fails with *status 503 when the queue is
 * full, 500 when loading fails (message in err). */
sched_runner *sched_acquire(sched *s, const char *name, const char *path, const sched_load_opts *o,
                            uint64_t *load_ns, int *status, oc_error *err);
/* Ends a use; keep_alive (ns, SCHED_FOREVER, or SCHED_KEEP_CURRENT) sets how
 * long the runner stays loaded once idle; 0 unloads it as soon as idle. */
void sched_release(sched *s, sched_runner *r, int64_t keep_alive);
/* Unloads `name` now if it is loaded and idle (else as soon as it is). */
void sched_unload(sched *s, const char *name);

engine *sched_runner_engine(sched_runner *r);
model *sched_runner_model(sched_runner *r);

/* For /api/ps: one entry per loaded runner. */
typedef struct sched_info {
    char name[512];
    uint64_t size;          /* bytes: weights + KV cache */
    int64_t expires_at;     /* unix ns; INT64_MAX for forever */
    int context_length;
} sched_info;
/* Fills up to max entries, latest expiry first; returns the count. */
int sched_list(sched *s, sched_info *out, int max);

/* Parses a Go duration string ("5m", "1h30m", "300ms", "0", "-1m") into ns;
 * returns -1 with upstream's message on error. */
int sched_parse_duration(const char *s, int64_t *ns, oc_error *err);

#endif

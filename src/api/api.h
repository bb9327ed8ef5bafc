/* api: Ollama's native REST API over the server transport.
 * Owns the mapping between request/response JSON and the modules below:
 * option parsing with upstream's defaults, precedence and error texts,
 * keep_alive and think values, and the endpoint handlers (generate, chat,
 * tags, show, create, copy, delete, blobs, ps, embed). */
#ifndef OLLAMA_API_H
#define OLLAMA_API_H

#include <jansson.h>

#include "sample/sample.h"

/* The options of §2.6 after precedence: defaults < Modelfile PARAMETERs <
 * request options. */
typedef struct api_options {
    int num_ctx, num_predict, num_keep, num_batch, num_thread, num_gpu, main_gpu;
    int repeat_last_n, top_k;
    int64_t seed;
    float temperature, top_p, min_p, typical_p, repeat_penalty, presence_penalty, frequency_penalty;
    char **stop;
    int n_stop;
    bool use_mmap_set, use_mmap;
} api_options;

/* Ollama's defaults (num_ctx from OLLAMA_CONTEXT_LENGTH, else 4096). */
void api_options_default(api_options *o);
/* Applies one layer of options (a JSON object; NULL is fine) over o.
 * Returns -1 with upstream's message for a value of the wrong type (HTTP
 * 500 in the API); unknown keys are ignored. */
int api_options_apply(api_options *o, const json_t *layer, oc_error *err);
void api_options_free(api_options *o);
/* The sampler parameters the options describe. */
sample_params api_options_sampling(const api_options *o);

/* keep_alive: absent/null -> SCHED_KEEP_CURRENT; a number of seconds; a Go
 * duration string; negative -> forever. -1 with upstream's message (400). */
int api_parse_keep_alive(const json_t *v, int64_t *ns, oc_error *err);

/* think: absent -> set false; true/false or "low"/"medium"/"high"/"max".
 * level is "" for booleans. -1 with upstream's message (400). */
typedef struct api_think {
    bool set, enabled;
    char level[8];
} api_think;
int api_parse_think(const json_t *v, api_think *out, oc_error *err);

/* ---- the endpoints ---- */
typedef struct api_ctx api_ctx;
struct store;
struct sched;
struct server;
/* Handler context over a store and a scheduler (not owned). */
api_ctx *api_ctx_new(struct store *st, struct sched *sc);
void api_ctx_free(api_ctx *ctx);
/* Registers the native endpoints on a server (before it listens). */
int api_register(struct server *srv, api_ctx *ctx);

#endif

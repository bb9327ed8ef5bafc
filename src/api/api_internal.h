/* api (internal): the state shared by the handlers. */
#ifndef OLLAMA_API_INTERNAL_H
#define OLLAMA_API_INTERNAL_H

#include "api/api.h"
#include "chat/chat.h"
#include "grammar/grammar.h"
#include "sched/sched.h"
#include "server/server.h"
#include "store/store.h"

struct api_ctx {
    store *st;
    sched *sc;
    char *replay; /* OLLAMA_TEST_REPLAY: fixed output for tests (NULL: off) */
};

/* "2025-10-17T23:14:07.414671Z" (UTC) or with the local offset. */
void api_time_utc(char *buf, size_t n);
void api_time_local(int64_t unix_ns, char *buf, size_t n);

/* A model looked up by the name a request gave. */
typedef struct api_model {
    char requested[STORE_NAME_BUF]; /* as the request spelt it (trimmed) */
    char display[STORE_NAME_BUF];   /* short display form */
    char canonical[STORE_NAME_BUF]; /* host/namespace/model:tag */
    store_model m;
    char **caps;
    int n_caps;
    struct api_front *front; /* template choice and output parsing */
} api_model;

/* Parses and loads `name`; on failure answers res with the given texts
 * (not_found_fmt gets the requested name; NULL: "model '<short display
 * form>' not found", as show answers) and returns -1. */
int api_model_open(api_ctx *ctx, const char *name, api_model *out, server_response *res,
                   int empty_status, const char *empty_msg, const char *not_found_fmt);
void api_model_close(api_model *m);
bool api_model_has(const api_model *m, const char *cap);
/* The capability list of a loaded store model (store.md §8). */
int api_capabilities(const store_model *m, char ***out);
void api_capabilities_free(char **caps, int n);

/* Renders a chat through the model's template (Go template; default
 * "{{ .Prompt }}"). messages is an array of API message objects. */
int api_render(const char *tmpl, const json_t *messages, const json_t *tools, const api_think *think,
               oc_buf *out, oc_error *err);

/* The request's `format` as a grammar (*out NULL: unconstrained). On
 * failure *status is 500 for a value that is neither "json" nor an object
 * (upstream's text) and 400 for a schema we cannot compile. */
int api_format_grammar(const json_t *format, grammar **out, int *status, oc_error *err);

/* The chat front end of a model (chatfront.c): template choice between
 * the Go template and the GGUF Jinja chat_template, capabilities, and the
 * output parser, as upstream decides them. */
typedef struct api_front api_front;
api_front *api_front_open(const store_model *m);
void api_front_free(api_front *f);
int api_front_capabilities(const api_front *f, const store_model *m, char ***out);
/* True when prompts are rendered from the GGUF chat template. */
bool api_front_uses_jinja(const api_front *f);
const char *api_front_chat_template(const api_front *f);
/* Renders messages: through go_template when given (a request's own
 * template), else the model's chosen template. effort: the request's think
 * level string, if it gave one (Jinja's reasoning_effort). */
int api_front_render(const api_front *f, const char *go_template, const json_t *msgs, const json_t *tools,
                     const api_think *think, const char *effort, oc_buf *out, oc_error *err);
/* The output parser for a request (NULL: the output is all content). */
chat_parser *api_front_parser(const api_front *f, const api_think *think, json_t *tools, const char *prompt);

void api_handle_generate(server_request *req, server_response *res, void *ctx);
void api_handle_chat(server_request *req, server_response *res, void *ctx);
void api_handle_tags(server_request *req, server_response *res, void *ctx);
void api_handle_show(server_request *req, server_response *res, void *ctx);
void api_handle_copy(server_request *req, server_response *res, void *ctx);
void api_handle_delete(server_request *req, server_response *res, void *ctx);
void api_handle_ps(server_request *req, server_response *res, void *ctx);
void api_handle_create(server_request *req, server_response *res, void *ctx);
void api_handle_blob_head(server_request *req, server_response *res, void *ctx);
void api_handle_blob_post(server_request *req, server_response *res, void *ctx);
void api_handle_embed(server_request *req, server_response *res, void *ctx);
void api_handle_embeddings(server_request *req, server_response *res, void *ctx);

/* Installs every store hook (store_hooks.c): all of them live there, as
 * store_set_hooks replaces the whole set. */
void api_install_store_hooks(struct store *st);

#endif

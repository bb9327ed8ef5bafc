/* api: /api/generate and /api/chat — validation in upstream's order,
 * scheduling, prompt rendering, and the stream of chunks (or one object
 * with stream:false) fed by the engine's runner thread. */
#include <ctype.h>
#include <pthread.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

typedef struct gen_job {
    api_ctx *ctx;
    sched_runner *runner;
    server_stream *w;            /* streaming; NULL for stream:false */
    bool chat;
    char model[STORE_NAME_BUF];  /* echoed as requested */
    int64_t keep_alive;
    uint64_t t_arrival, load_ns;
    int n_prompt;
    oc_buf text;                 /* stream:false: the whole reply */
    json_t *final;               /* stream:false: the last object */
    chat_parser *parser;         /* thinking / tool calls; NULL: all content */
    chat_delta delta;            /* what the parser made of the latest piece */
    oc_buf thinking;             /* stream:false: all thinking */
    json_t *calls;               /* stream:false: all tool calls */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, cancel;
} gen_job;

static json_t *chunk_base(const gen_job *j) {
    char ts[64];
    api_time_utc(ts, sizeof ts);
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(j->model));
    json_object_set_new(o, "created_at", json_string(ts));
    return o;
}

/* content, and thinking and tool calls when there are any (calls are a
 * chat message's only; generate has no tools). */
static void set_message(json_t *o, bool chat, const char *text, const char *thinking, json_t *calls) {
    if (chat) {
        json_t *msg = json_object();
        json_object_set_new(msg, "role", json_string("assistant"));
        json_object_set_new(msg, "content", json_string(text));
        if (thinking && *thinking) json_object_set_new(msg, "thinking", json_string(thinking));
        /* a copy: the parser reuses its array, a response filter may keep this one */
        if (json_array_size(calls)) json_object_set_new(msg, "tool_calls", json_deep_copy(calls));
        json_object_set_new(o, "message", msg);
    } else {
        json_object_set_new(o, "response", json_string(text));
        if (thinking && *thinking) json_object_set_new(o, "thinking", json_string(thinking));
    }
}

static void set_text(json_t *o, bool chat, const char *text) { set_message(o, chat, text, NULL, NULL); }

static void set_int_nonzero(json_t *o, const char *key, int64_t v) {
    if (v) json_object_set_new(o, key, json_integer(v));
}

static json_t *final_chunk(gen_job *j, const engine_result *r, const char *text, const char *thinking, json_t *calls) {
    json_t *o = chunk_base(j);
    set_message(o, j->chat, text, thinking, calls);
    json_object_set_new(o, "done", json_true());
    json_object_set_new(o, "done_reason", json_string(r->done_reason));
    if (!j->chat && r->context) {
        json_t *ctx = json_array();
        for (int i = 0; i < r->n_context; i++) json_array_append_new(ctx, json_integer(r->context[i]));
        json_object_set_new(o, "context", ctx);
    }
    set_int_nonzero(o, "total_duration", (int64_t)(oc_now_ns() - j->t_arrival));
    set_int_nonzero(o, "load_duration", (int64_t)j->load_ns);
    set_int_nonzero(o, "prompt_eval_count", j->n_prompt);
    set_int_nonzero(o, "prompt_eval_duration", (int64_t)r->prompt_eval_ns);
    set_int_nonzero(o, "eval_count", r->eval_count);
    set_int_nonzero(o, "eval_duration", (int64_t)r->eval_ns);
    return o;
}

static void job_free(gen_job *j) {
    oc_buf_free(&j->text);
    chat_parser_free(j->parser);
    chat_delta_free(&j->delta);
    oc_buf_free(&j->thinking);
    json_decref(j->calls);
    json_decref(j->final);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* One piece through the output parser (if any) into j->delta. */
static void parse_piece(gen_job *j, const char *text, size_t len, bool last) {
    chat_delta_clear(&j->delta);
    if (!j->parser) return oc_buf_append(&j->delta.content, text, len);
    chat_parser_add(j->parser, text, len, &j->delta);
    if (last) chat_parser_finish(j->parser, &j->delta);
}

/* stream:false keeps everything for the one answer. */
static void collect(gen_job *j) {
    oc_buf_append(&j->text, j->delta.content.data, j->delta.content.len);
    oc_buf_append(&j->thinking, j->delta.thinking.data, j->delta.thinking.len);
    json_array_extend(j->calls, j->delta.calls);
}

/* Runs on the engine's thread. Pieces that give neither content, thinking
 * nor calls (held back by the parser) send nothing. */
static bool on_piece(void *user, const char *text, size_t len, const engine_result *final) {
    gen_job *j = user;
    parse_piece(j, text, len, final != NULL);
    if (!final) {
        if (!j->w) {
            collect(j);
            return !j->cancel;
        }
        if (!j->delta.content.len && !j->delta.thinking.len && !json_array_size(j->delta.calls)) return true;
        json_t *o = chunk_base(j);
        set_message(o, j->chat, j->delta.content.data, j->delta.thinking.data, j->delta.calls);
        json_object_set_new(o, "done", json_false());
        return server_stream_write_json(j->w, o);
    }
    sched_release(j->ctx->sc, j->runner, j->keep_alive);
    if (j->w) {
        if (final->error) server_stream_error(j->w, 500, final->error);
        else
            server_stream_write_json(j->w, final_chunk(j, final, j->delta.content.data, j->delta.thinking.data,
                                                       j->delta.calls));
        server_stream_end(j->w);
        job_free(j);
        return true;
    }
    collect(j);
    pthread_mutex_lock(&j->mu);
    j->final = final->error ? NULL : final_chunk(j, final, j->text.data, j->thinking.data, j->calls);
    if (final->error) oc_buf_clear(&j->text), oc_buf_puts(&j->text, final->error);
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return true;
}

/* stream:false: waits for the reply, cancelling if the client leaves. */
static void wait_and_respond(gen_job *j, server_request *req, server_response *res) {
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100000000L;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&j->cv, &j->mu, &until);
        if (!j->done && server_request_client_gone(req)) j->cancel = true;
    }
    pthread_mutex_unlock(&j->mu);
    if (j->final) server_respond_json(res, 200, json_incref(j->final));
    else server_respond_error(res, 500, "%s", j->text.data ? j->text.data : "generation failed");
    job_free(j);
}

/* ---- shared request handling ---- */

typedef struct gen_request {
    api_ctx *ctx;
    server_request *req;
    server_response *res;
    api_model *model;
    api_options opts;
    int64_t keep_alive;
    bool chat, stream;
    bool truncate, shift;  /* both default true */
    uint64_t t_arrival;
    const json_t *context; /* generate's deprecated context tokens */
    grammar *format;        /* the output constraint; the engine's once submitted */
    const api_think *think;
    json_t *tools;          /* chat's declared tools (NULL: none) */
    const char *prompt;     /* the rendered prompt (the parser looks at its end) */
} gen_request;

/* A prompt that does not fit: the first num_keep tokens (and BOS) stay and
 * the oldest of the rest go, leaving about half the context free, as
 * upstream does before its first context shift. Returns the new length,
 * or -1 with the message when the request forbids it. */
static int fit_context(const gen_request *g, const tokenizer *tok, int32_t *ids, int n, int n_ctx, const char **why) {
    if (n <= n_ctx - 1) return n;
    if (!g->truncate) {
        *why = "the request exceeds the available context size, try increasing it";
        return -1;
    }
    if (!g->shift) {
        *why = "the prompt is longer than the context length currently available to the model; shorten the "
               "prompt, adjust the context length in settings, or use a model with a longer context length";
        return -1;
    }
    int keep = g->opts.num_keep < 0 ? n : g->opts.num_keep;
    if (tokenizer_add_bos(tok)) keep++;
    if (keep > n_ctx - 1) keep = n_ctx - 1;
    int free_room = (n_ctx - keep) / 2;
    int limit = n_ctx - (free_room > 1 ? free_room : 1);
    int drop = n - limit;
    memmove(ids + keep, ids + keep + drop, (size_t)(n - keep - drop) * sizeof(int32_t));
    return limit;
}

static int tokenize(gen_request *g, model *m, const char *prompt, int32_t **ids, const char **why) {
    oc_error err;
    int32_t *p = NULL;
    int n = tokenizer_encode(model_tokenizer(m), prompt, strlen(prompt), true, true, &p, &err);
    if (n < 0) return *why = "the prompt could not be tokenized", -1;
    int n_ctx_tokens = g->context ? (int)json_array_size(g->context) : 0;
    *ids = oc_malloc((size_t)(n + n_ctx_tokens + 1) * sizeof(int32_t));
    for (int i = 0; i < n_ctx_tokens; i++) (*ids)[i] = (int32_t)json_integer_value(json_array_get(g->context, i));
    memcpy(*ids + n_ctx_tokens, p, (size_t)n * sizeof(int32_t));
    free(p);
    return fit_context(g, model_tokenizer(m), *ids, n + n_ctx_tokens, model_n_ctx(m), why);
}

/* As upstream, a thinking model's format applies once its thinking ends
 * (api.md §2.4); "</think>" is the close tag of the thinking templates. */
static const char *format_after(const gen_request *g) {
    bool thinks = g->think && g->think->enabled && api_model_has(g->model, "thinking");
    return g->format && thinks ? "</think>" : NULL;
}

static gen_job *job_new(gen_request *g, sched_runner *r, uint64_t load_ns, int n_prompt) {
    gen_job *j = oc_calloc(1, sizeof *j);
    j->ctx = g->ctx;
    j->runner = r;
    j->chat = g->chat;
    snprintf(j->model, sizeof j->model, "%s", g->model->requested);
    j->keep_alive = g->keep_alive;
    j->t_arrival = g->t_arrival;
    j->load_ns = load_ns;
    j->n_prompt = n_prompt;
    oc_buf_puts(&j->text, "");
    oc_buf_puts(&j->thinking, "");
    j->calls = json_array();
    chat_delta_init(&j->delta);
    j->parser = api_front_parser(g->model->front, g->think, g->tools, g->prompt);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

static sched_runner *acquire(gen_request *g, uint64_t *load_ns) {
    sched_load_opts lo = {.num_ctx = g->opts.num_ctx, .num_batch = g->opts.num_batch, .num_thread = g->opts.num_thread};
    int status = 500;
    oc_error err;
    sched_runner *r = sched_acquire(g->ctx->sc, g->model->canonical, g->model->m.model_path, &lo, load_ns, &status, &err);
    if (!r) server_respond_error(g->res, status, "%s", err.msg);
    return r;
}

/* Load-only and unload answers: one object even when streaming. */
static void respond_done(gen_request *g, const char *reason) {
    char ts[64];
    api_time_utc(ts, sizeof ts);
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(g->model->requested));
    json_object_set_new(o, "created_at", json_string(ts));
    set_text(o, g->chat, "");
    json_object_set_new(o, "done", json_true());
    json_object_set_new(o, "done_reason", json_string(reason));
    server_respond_json(g->res, 200, o);
}

/* OLLAMA_TEST_REPLAY: the fixed text instead of the model's output, cut
 * into pieces of 1, 2, 3 ... bytes (whole UTF-8 characters) so that the
 * stream parsers see tags split, on this thread instead of the engine's. */
static void replay(gen_job *j, const char *text) {
    size_t n = strlen(text), k = 0;
    int pieces = 0;
    for (size_t i = 0; i < n; i += k, pieces++) {
        k = 1 + (size_t)pieces % 3;
        if (k > n - i) k = n - i;
        while (i + k < n && ((unsigned char)text[i + k] & 0xC0) == 0x80) k++;
        if (!on_piece(j, text + i, k, NULL)) break;
    }
    engine_result r = {.done_reason = "stop", .eval_count = pieces};
    on_piece(j, "", 0, &r);
}

static void generate_prompt(gen_request *g, sched_runner *r, uint64_t load_ns, const char *prompt) {
    model *m = sched_runner_model(r);
    int32_t *ids = NULL;
    const char *why = "prompt is empty";
    oc_log(OC_LOG_DEBUG, "%s request prompt=%s", g->chat ? "chat" : "generate", prompt);
    int n = tokenize(g, m, prompt, &ids, &why);
    g->prompt = prompt;
    if (n <= 0) {
        sched_release(g->ctx->sc, r, g->keep_alive);
        free(ids);
        server_respond_error(g->res, 400, "%s", why);
        return;
    }
    gen_job *j = job_new(g, r, load_ns, n);
    /* As upstream: an open-ended request (num_predict -1) still ends after
     * ten context windows, so a model that never stops cannot run forever. */
    int limit = 10 * model_n_ctx(m), num_predict = g->opts.num_predict;
    if (num_predict < 0 || num_predict > limit) num_predict = limit;
    engine_request er = {.tokens = ids, .n_tokens = n, .sampling = api_options_sampling(&g->opts),
                         .num_predict = num_predict, .stop = (const char *const *)g->opts.stop,
                         .n_stop = g->opts.n_stop, .num_keep = g->opts.num_keep, .no_shift = !g->shift,
                         .grammar = g->format, .grammar_after = format_after(g)};
    if (g->stream) j->w = server_stream_begin(g->res, NULL);
    oc_error err;
    if (g->ctx->replay) {
        replay(j, g->ctx->replay);
        if (!g->stream) wait_and_respond(j, g->req, g->res);
    } else if (engine_submit(sched_runner_engine(r), &er, on_piece, j, &err) != 0) {
        sched_release(g->ctx->sc, r, g->keep_alive);
        if (j->w) server_stream_error(j->w, 400, err.msg), server_stream_end(j->w);
        else server_respond_error(g->res, 400, "%s", err.msg);
        job_free(j);
    } else {
        g->format = NULL; /* the engine frees it */
        if (!g->stream) wait_and_respond(j, g->req, g->res);
    }
    free(ids);
}

/* Options, keep_alive, stream: the parts generate and chat share.
 * Returns -1 after answering with the error. */
static int common_fields(gen_request *g, const json_t *body) {
    oc_error err;
    if (api_parse_keep_alive(json_object_get(body, "keep_alive"), &g->keep_alive, &err)) {
        server_respond_error(g->res, 400, "%s", err.msg);
        return -1;
    }
    g->stream = !json_is_false(json_object_get(body, "stream"));
    g->truncate = !json_is_false(json_object_get(body, "truncate"));
    g->shift = !json_is_false(json_object_get(body, "shift"));
    api_options_default(&g->opts);
    if (api_options_apply(&g->opts, g->model->m.params, &err) ||
        api_options_apply(&g->opts, json_object_get(body, "options"), &err)) {
        server_respond_error(g->res, 500, "%s", err.msg);
        return -1;
    }
    /* A load-only request never reaches generation, where upstream checks
     * format: it is not compiled (nor refused) then. */
    const char *prompt = json_string_value(json_object_get(body, "prompt"));
    bool load_only = (!prompt || !*prompt) && !json_array_size(json_object_get(body, "messages"));
    int status;
    if (!load_only && api_format_grammar(json_object_get(body, "format"), &g->format, &status, &err)) {
        server_respond_error(g->res, status, "%s", err.msg);
        return -1;
    }
    return 0;
}

static int check_top_logprobs(const json_t *body, server_response *res) {
    const json_t *v = json_object_get(body, "top_logprobs");
    if (json_is_number(v) && (json_number_value(v) < 0 || json_number_value(v) > 20)) {
        server_respond_error(res, 400, "top_logprobs must be between 0 and 20");
        return -1;
    }
    return 0;
}

/* think: validated against the model's capability (api.md §2.3). */
static int check_think(gen_request *g, const json_t *body, api_think *think) {
    oc_error err;
    if (api_parse_think(json_object_get(body, "think"), think, &err)) {
        server_respond_error(g->res, 400, "%s", err.msg);
        return -1;
    }
    bool can = api_model_has(g->model, "thinking");
    if (think->enabled && !can) {
        server_respond_error(g->res, 400, "\"%s\" does not support thinking", g->model->requested);
        return -1;
    }
    if (!think->set && can) think->enabled = true;
    if (think->enabled && !think->level[0]) snprintf(think->level, sizeof think->level, "medium");
    return 0;
}

/* The messages a generate request renders: system, the model's MESSAGEs
 * (unless context is given), then the prompt as a user message. */
static json_t *generate_messages(const gen_request *g, const json_t *body) {
    json_t *msgs = json_array();
    const char *system = json_string_value(json_object_get(body, "system"));
    if (!system) system = g->model->m.system;
    if (system && *system) json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system", "content", system));
    if (!g->context)
        for (size_t i = 0; i < g->model->m.n_messages; i++)
            json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", g->model->m.messages[i].role, "content",
                                                  g->model->m.messages[i].content));
    const char *prompt = json_string_value(json_object_get(body, "prompt"));
    json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user", "content", prompt ? prompt : ""));
    return msgs;
}

static void generate(gen_request *g, const json_t *body) {
    const char *prompt = json_string_value(json_object_get(body, "prompt"));
    bool raw = json_is_true(json_object_get(body, "raw"));
    if (g->keep_alive == 0 && (!prompt || !*prompt)) {
        sched_unload(g->ctx->sc, g->model->canonical);
        return respond_done(g, "unload");
    }
    g->context = json_object_get(body, "context");
    if (raw && (json_object_get(body, "template") || json_object_get(body, "system") || g->context)) {
        server_respond_error(g->res, 400, "raw mode does not support template, system, or context");
        return;
    }
    api_think think;
    if (check_think(g, body, &think)) return;
    g->think = &think;
    const char *effort = json_is_string(json_object_get(body, "think")) ? think.level : NULL;
    if (!api_model_has(g->model, "completion")) {
        server_respond_error(g->res, 400, "\"%s\" does not support generate", g->model->requested);
        return;
    }
    const char *suffix = json_string_value(json_object_get(body, "suffix"));
    if (suffix && *suffix && !api_model_has(g->model, "insert")) {
        server_respond_error(g->res, 400, "%s does not support insert", g->model->canonical);
        return;
    }
    if (json_array_size(json_object_get(body, "images")) && !api_model_has(g->model, "vision")) {
        server_respond_error(g->res, 400, "%s does not support vision", g->model->canonical);
        return;
    }
    oc_buf rendered = {0};
    if (!raw && prompt && *prompt) {
        const char *tmpl = json_string_value(json_object_get(body, "template"));
        json_t *msgs = generate_messages(g, body);
        oc_error err;
        int rc = api_front_render(g->model->front, tmpl, msgs, NULL, &think, effort, &rendered, &err);
        json_decref(msgs);
        if (rc) {
            server_respond_error(g->res, 500, "%s", err.msg);
            return oc_buf_free(&rendered);
        }
    }
    uint64_t load_ns;
    sched_runner *r = acquire(g, &load_ns);
    if (r && (!prompt || !*prompt)) {
        sched_release(g->ctx->sc, r, g->keep_alive);
        respond_done(g, "load");
    } else if (r) {
        generate_prompt(g, r, load_ns, raw ? prompt : rendered.data ? rendered.data : "");
    }
    oc_buf_free(&rendered);
}

/* Shared entry of both endpoints; they differ in the missing-name answer
 * and the handler that follows validation. */
static void handle(gen_request *g, int empty_status, const char *empty_msg,
                   void (*run)(gen_request *, const json_t *)) {
    json_t *body = server_request_json(g->req);
    if (check_top_logprobs(body, g->res)) return;
    api_model model;
    if (api_model_open(g->ctx, json_string_value(json_object_get(body, "model")), &model, g->res, empty_status,
                       empty_msg, "model '%s' not found"))
        return;
    g->model = &model;
    if (common_fields(g, body) == 0) run(g, body);
    grammar_free(g->format);
    api_options_free(&g->opts);
    api_model_close(&model);
}

void api_handle_generate(server_request *req, server_response *res, void *ctx) {
    gen_request g = {.ctx = ctx, .req = req, .res = res, .t_arrival = oc_now_ns()};
    handle(&g, 404, "model '' not found", generate);
}

/* ---- chat ---- */

/* The model's MESSAGEs, then the request's; the model's SYSTEM first unless
 * the request starts with its own. Roles are lower-cased. */
static json_t *chat_messages(const gen_request *g, const json_t *req_msgs) {
    json_t *msgs = json_array();
    const json_t *first = json_array_get(req_msgs, 0);
    const char *role0 = json_string_value(json_object_get(first, "role"));
    const char *system = g->model->m.system;
    if (system && *system && !(role0 && strcasecmp(role0, "system") == 0))
        json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system", "content", system));
    for (size_t i = 0; i < g->model->m.n_messages; i++)
        json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", g->model->m.messages[i].role, "content",
                                              g->model->m.messages[i].content));
    size_t i;
    json_t *m;
    json_array_foreach(req_msgs, i, m) {
        json_t *c = json_deep_copy(m);
        const char *role = json_string_value(json_object_get(c, "role"));
        char lower[32] = "";
        for (size_t k = 0; role && role[k] && k < sizeof lower - 1; k++) lower[k] = (char)tolower((unsigned char)role[k]);
        json_object_set_new(c, "role", json_string(lower));
        if (!json_object_get(c, "content")) json_object_set_new(c, "content", json_string(""));
        json_array_append_new(msgs, c);
    }
    return msgs;
}

static int count_tokens(model *m, const char *text) {
    int32_t *ids = NULL;
    int n = tokenizer_encode(model_tokenizer(m), text, strlen(text), true, true, &ids, NULL);
    free(ids);
    return n;
}

/* A conversation longer than the context loses its oldest messages (system
 * messages and the last message stay), as upstream's chatPrompt does. */
static int truncate_messages(model *m, const api_front *front, const json_t *msgs, const json_t *tools,
                             const api_think *think, const char *effort, oc_buf *rendered, oc_error *err) {
    size_t last = json_array_size(msgs) - 1;
    if (count_tokens(m, rendered->data ? rendered->data : "") <= model_n_ctx(m)) return 0;
    for (size_t i = 1; i <= last; i++) {
        json_t *kept = json_array();
        for (size_t j = 0; j < json_array_size(msgs); j++) {
            const char *role = json_string_value(json_object_get(json_array_get(msgs, j), "role"));
            if (j >= i || (role && strcmp(role, "system") == 0)) json_array_append(kept, json_array_get(msgs, j));
        }
        oc_buf out = {0};
        int rc = api_front_render(front, NULL, kept, tools, think, effort, &out, err);
        json_decref(kept);
        if (rc) return oc_buf_free(&out), -1;
        if (count_tokens(m, out.data ? out.data : "") <= model_n_ctx(m) || i == last) {
            oc_buf_free(rendered);
            *rendered = out;
            return 0;
        }
        oc_buf_free(&out);
    }
    return 0;
}

static void chat(gen_request *g, const json_t *body) {
    const json_t *req_msgs = json_object_get(body, "messages");
    size_t n_msgs = json_is_array(req_msgs) ? json_array_size(req_msgs) : 0;
    if (g->keep_alive == 0 && n_msgs == 0) {
        sched_unload(g->ctx->sc, g->model->canonical);
        return respond_done(g, "unload");
    }
    api_think think;
    if (check_think(g, body, &think)) return;
    g->think = &think;
    const char *effort = json_is_string(json_object_get(body, "think")) ? think.level : NULL;
    if (!api_model_has(g->model, "completion")) {
        server_respond_error(g->res, 400, "\"%s\" does not support chat", g->model->requested);
        return;
    }
    const json_t *tools = json_object_get(body, "tools");
    if (json_array_size(tools) && !api_model_has(g->model, "tools")) {
        server_respond_error(g->res, 400, "%s does not support tools", g->model->canonical);
        return;
    }
    if (json_array_size(tools)) g->tools = (json_t *)tools;
    size_t i;
    json_t *m;
    json_array_foreach(req_msgs, i, m) if (json_array_size(json_object_get(m, "images")) && !api_model_has(g->model, "vision")) {
        server_respond_error(g->res, 400, "%s does not support vision", g->model->canonical);
        return;
    }
    oc_buf rendered = {0};
    json_t *msgs = n_msgs ? chat_messages(g, req_msgs) : NULL;
    oc_error err;
    if (msgs && api_front_render(g->model->front, NULL, msgs, tools, &think, effort, &rendered, &err)) {
        server_respond_error(g->res, 500, "%s", err.msg);
        json_decref(msgs);
        return oc_buf_free(&rendered);
    }
    uint64_t load_ns;
    sched_runner *r = acquire(g, &load_ns);
    if (r && n_msgs == 0) {
        sched_release(g->ctx->sc, r, g->keep_alive);
        respond_done(g, "load");
    } else if (r && g->truncate &&
               truncate_messages(sched_runner_model(r), g->model->front, msgs, tools, &think, effort, &rendered, &err)) {
        sched_release(g->ctx->sc, r, g->keep_alive);
        server_respond_error(g->res, 500, "%s", err.msg);
    } else if (r) {
        generate_prompt(g, r, load_ns, rendered.data ? rendered.data : "");
    }
    json_decref(msgs);
    oc_buf_free(&rendered);
}

void api_handle_chat(server_request *req, server_response *res, void *ctx) {
    gen_request g = {.ctx = ctx, .req = req, .res = res, .chat = true, .t_arrival = oc_now_ns()};
    handle(&g, 400, "model is required", chat);
}

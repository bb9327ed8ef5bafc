/* cli: `ollama run`: flags, model resolution (pulled when missing), the
 * one-shot answer over /api/generate, embeddings, and the pieces the REPL
 * shares (loading with a spinner, one streamed chat turn) (cli.md §12). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_internal.h"
#include "sched/sched.h"

static void on_sigint(int sig) {
    (void)sig;
    client_cancel();
}

/* SIGINT cancels the running request instead of ending the program. */
static void catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

json_t *run_keepalive_value(const char *text, oc_error *err) {
    int64_t ns;
    if (sched_parse_duration(text, &ns, err) != 0) return NULL;
    if (ns < 0) return json_integer(-1);
    char buf[64];
    fmt_go_duration(ns, buf, sizeof buf);
    return json_string(buf);
}

/* Fields every generate/chat request carries. */
static void common_fields(run_opts *o, json_t *req) {
    json_object_set_new(req, "model", json_string(o->model));
    if (o->format) {
        json_t *f = strcmp(o->format, "json") == 0 ? NULL : json_loads(o->format, JSON_DECODE_ANY, NULL);
        json_object_set_new(req, "format", f ? f : json_string(o->format));
    }
    if (o->think) json_object_set(req, "think", o->think);
    if (o->keepalive) json_object_set_new(req, "keep_alive", run_keepalive_value(o->keepalive, NULL));
}

int run_load_model(client *c, run_opts *o, oc_error *err) {
    progress *p = progress_new(stderr);
    progress_spinner(p, "");
    json_t *req = json_object();
    common_fields(o, req);
    json_object_del(req, "format");
    int rc = client_json(c, "POST", "/api/generate", req, NULL, NULL, err);
    json_decref(req);
    progress_stop_clear(p);
    progress_free(p);
    return rc;
}

typedef struct turn {
    out_writer w;
    progress *spin;
    json_t *final;
    oc_buf content, thinking;
    bool chat;
} turn;

static int on_chunk(void *ud, json_t *obj) {
    turn *t = ud;
    json_t *msg = t->chat ? json_object_get(obj, "message") : obj;
    const char *think = json_string_value(json_object_get(msg, "thinking"));
    const char *text = json_string_value(json_object_get(msg, t->chat ? "content" : "response"));
    bool shows = (think && *think && !t->w.hide_thinking) || (text && *text);
    if (t->spin && shows) {
        progress_stop_clear(t->spin);
        progress_free(t->spin);
        t->spin = NULL;
    }
    if (think && *think) {
        out_thinking(&t->w, think);
        oc_buf_puts(&t->thinking, think);
    }
    if (text && *text) {
        out_content(&t->w, text);
        oc_buf_puts(&t->content, text);
    }
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        json_t *fn = json_object_get(tc, "function");
        char *args = json_dumps(json_object_get(fn, "arguments"), JSON_COMPACT);
        out_end_thinking(&t->w);
        printf("  Model called a non-existent function '%s()' with arguments: %s\n",
               json_string_value(json_object_get(fn, "name")), args ? args : "{}");
        free(args);
    }
    if (json_is_true(json_object_get(obj, "done"))) {
        json_decref(t->final);
        t->final = json_incref(obj);
    }
    return 0;
}

/* Streams one request to path; prints the answer. */
static int stream_turn(client *c, run_opts *o, const char *path, json_t *req, turn *t, oc_error *err) {
    out_init(&t->w, o->wordwrap);
    t->w.hide_thinking = o->hide_thinking;
    t->spin = progress_new(stderr);
    progress_spinner(t->spin, "");
    client_cancel_reset();
    int rc = client_stream(c, path, req, on_chunk, t, err);
    if (t->spin) progress_stop_clear(t->spin), progress_free(t->spin), t->spin = NULL;
    out_end_thinking(&t->w);
    out_free(&t->w);
    return rc;
}

/* After an answer: two newlines, then the statistics when asked. */
static void finish_turn(run_opts *o, turn *t, bool newlines) {
    if (newlines) printf("\n\n");
    fflush(stdout);
    if (o->verbose && t->final) out_stats(t->final);
}

static void turn_free(turn *t) {
    json_decref(t->final);
    oc_buf_free(&t->content);
    oc_buf_free(&t->thinking);
}

int run_chat_turn(client *c, run_opts *o, json_t *messages, json_t *options, json_t **reply, oc_error *err) {
    json_t *req = json_object();
    common_fields(o, req);
    json_object_set(req, "messages", messages);
    if (options && json_object_size(options)) json_object_set(req, "options", options);
    turn t = {.chat = true};
    int rc = stream_turn(c, o, "/api/chat", req, &t, err);
    json_decref(req);
    if (rc == 0) finish_turn(o, &t, true);
    if (rc == 0 && reply) {
        *reply = json_pack("{s:s,s:s}", "role", "assistant", "content", t.content.data ? t.content.data : "");
        if (t.thinking.len) json_object_set_new(*reply, "thinking", json_string(t.thinking.data));
    }
    turn_free(&t);
    return rc;
}

static int generate_once(client *c, run_opts *o, const char *prompt) {
    json_t *req = json_object();
    common_fields(o, req);
    json_object_set_new(req, "prompt", json_string(prompt));
    turn t = {0};
    oc_error err = {{0}};
    int rc = stream_turn(c, o, "/api/generate", req, &t, &err);
    json_decref(req);
    if (rc == 0) finish_turn(o, &t, *prompt != 0);
    turn_free(&t);
    return rc == -1 ? cli_fail(err.msg) : 0;
}

/* Go's JSON text of a float32: the fewest digits that read back the same,
 * fixed notation unless below 1e-6 or from 1e21 ("1e-7", "1e+21"). */
static void go_float32(double d, char *buf, size_t n) {
    float f = (float)d, a = f < 0 ? -f : f;
    bool sci = a != 0 && (a < 1e-6f || a >= 1e21f);
    for (int prec = 0; prec <= 40; prec++) {
        snprintf(buf, n, sci ? "%.*e" : "%.*f", prec, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    size_t len = strlen(buf);
    if (sci && len >= 4 && buf[len - 4] == 'e' && buf[len - 3] == '-' && buf[len - 2] == '0')
        buf[len - 2] = buf[len - 1], buf[len - 1] = 0;
}

static int embed_once(client *c, run_opts *o, const char *prompt) {
    if (!*prompt) return cli_fail("embedding models require input text. Usage: ollama run <model> \"your text here\"");
    json_t *req = json_pack("{s:s,s:s}", "model", o->model, "input", prompt), *res = NULL;
    if (o->keepalive) json_object_set_new(req, "keep_alive", run_keepalive_value(o->keepalive, NULL));
    if (o->truncate) json_object_set_new(req, "truncate", json_boolean(!strcmp(o->truncate, "true")));
    if (o->dimensions > 0) json_object_set_new(req, "dimensions", json_integer(o->dimensions));
    oc_error err = {{0}};
    int rc = client_json(c, "POST", "/api/embed", req, &res, NULL, &err);
    json_decref(req);
    if (rc != 0) return cli_fail(err.msg);
    json_t *first = json_array_get(json_object_get(res, "embeddings"), 0);
    if (!first) {
        json_decref(res);
        return cli_fail("no embeddings returned");
    }
    /* As Go encodes []float32: each number in its shortest float32 form. */
    oc_buf b = {0};
    oc_buf_puts(&b, "[");
    size_t i;
    json_t *v;
    json_array_foreach(first, i, v) {
        char num[64];
        go_float32(json_number_value(v), num, sizeof num);
        oc_buf_printf(&b, "%s%s", i ? "," : "", num);
    }
    oc_buf_puts(&b, "]");
    printf("%s\n", b.data);
    oc_buf_free(&b);
    json_decref(res);
    return 0;
}

static bool has_capability(json_t *show, const char *cap) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(show, "capabilities"), i, v) if (json_string_value(v) &&
                                                                     !strcmp(json_string_value(v), cap)) return true;
    return false;
}

/* /api/show; a missing model is pulled first (cli.md §12.2). */
static json_t *resolve_model(client *c, run_opts *o, oc_error *err) {
    for (int attempt = 0; attempt < 2; attempt++) {
        json_t *req = json_pack("{s:s}", "model", o->model), *res = NULL;
        long status = 0;
        int rc = client_json(c, "POST", "/api/show", req, &res, &status, err);
        json_decref(req);
        if (rc == 0) return res;
        if (status != 404 || attempt) return NULL;
        if (cli_pull_model(c, o->model, o->insecure, err) != 0) return NULL;
    }
    return NULL;
}

static int parse_think(const char *v, json_t **out) {
    if (!v) return 0;
    if (!*v || !strcmp(v, "true")) *out = json_true();
    else if (!strcmp(v, "false")) *out = json_false();
    else if (!strcmp(v, "high") || !strcmp(v, "medium") || !strcmp(v, "low") || !strcmp(v, "max"))
        *out = json_string(v);
    else {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid value for --think: \"%s\" (must be true, false, high, medium, low, or max)",
                 v);
        return cli_fail(msg);
    }
    return 0;
}

/* The prompt: args joined by spaces, piped stdin before them. */
static char *build_prompt(char **args, int n) {
    oc_buf b = {0};
    oc_buf_puts(&b, "");
    if (!isatty(0)) {
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, stdin)) > 0) oc_buf_append(&b, buf, k);
    }
    for (int i = 0; i < n; i++) {
        if (b.len) oc_buf_puts(&b, " ");
        oc_buf_puts(&b, args[i]);
    }
    return b.data;
}

int cli_run(int argc, char **argv) {
    const char *format = NULL, *think = NULL, *keepalive = NULL, *dims = NULL, *truncate = NULL;
    bool verbose = false, insecure = false, nowrap = false, hide = false;
    flag_def flags[] = {{NULL, "format", FLAG_STRING, &format, NULL},
                        {NULL, "think", FLAG_OPTIONAL, &think, NULL},
                        {NULL, "keepalive", FLAG_STRING, &keepalive, NULL},
                        {NULL, "dimensions", FLAG_STRING, &dims, NULL},
                        {NULL, "verbose", FLAG_BOOL, NULL, &verbose},
                        {NULL, "insecure", FLAG_BOOL, NULL, &insecure},
                        {NULL, "nowordwrap", FLAG_BOOL, NULL, &nowrap},
                        {NULL, "hidethinking", FLAG_BOOL, NULL, &hide},
                        {NULL, "truncate", FLAG_OPTIONAL, &truncate, NULL}, /* a bool; given or not matters */
                        {0}};
    char **pos;
    int n;
    const int parsed = cli_parse_cmd("run", argc, argv, flags, &pos, &n, 1, -1);
    if (parsed >= 0) return parsed;
    oc_error err = {{0}};
    long dimensions = 0;
    if (dims) {
        char *end;
        dimensions = strtol(dims, &end, 10);
        if (!*dims || *end) {
            snprintf(err.msg, sizeof err.msg, "invalid argument \"%s\" for \"--dimensions\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax", dims, dims);
            return free(pos), cli_fail(err.msg);
        }
    }
    if (truncate && strcmp(truncate, "true") && strcmp(truncate, "false")) {
        snprintf(err.msg, sizeof err.msg, "invalid argument \"%s\" for \"--truncate\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax", truncate, truncate);
        return free(pos), cli_fail(err.msg);
    }
    run_opts o = {.model = pos[0], .format = format, .keepalive = keepalive, .verbose = verbose,
                  .wordwrap = !nowrap, .hide_thinking = hide, .insecure = insecure,
                  .truncate = truncate, .dimensions = dimensions};
    if (parse_think(think, &o.think) != 0) return free(pos), 1;
    json_t *ka;
    if (keepalive && !(ka = run_keepalive_value(keepalive, &err))) return free(pos), json_decref(o.think), cli_fail(err.msg);
    else if (keepalive) json_decref(ka);
    bool interactive = n == 1 && isatty(0) && isatty(1);
    char *prompt = interactive ? NULL : build_prompt(pos + 1, n - 1);
    catch_sigint();
    client *c = cli_connect();
    int rc = 1;
    if (c && (o.show = resolve_model(c, &o, &err)) == NULL) cli_fail(err.msg);
    else if (c) {
        o.think_capable = has_capability(o.show, "thinking");
        if (!o.think && o.think_capable) o.think = json_true();
        if (has_capability(o.show, "image")) rc = cli_fail("image generation models are not currently supported");
        else if (has_capability(o.show, "embedding")) rc = embed_once(c, &o, prompt ? prompt : "");
        else if (interactive) rc = repl_run(c, &o);
        else rc = generate_once(c, &o, prompt);
    }
    json_decref(o.show);
    json_decref(o.think);
    client_free(c);
    free(prompt);
    free(pos);
    return rc;
}

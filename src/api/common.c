/* api: what the handlers share — times, model lookup with upstream's error
 * texts, capabilities, prompt rendering, and route registration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "gguf/gguf.h"
#include "registry/registry.h"

api_ctx *api_ctx_new(struct store *st, struct sched *sc) {
    api_ctx *c = oc_calloc(1, sizeof *c);
    c->st = st;
    c->sc = sc;
    api_install_store_hooks(st);
    /* Test hook: every generation emits this text instead of the model's,
     * read once at start so a running server cannot be switched into it. */
    const char *replay = getenv("OLLAMA_TEST_REPLAY");
    if (replay && *replay) c->replay = oc_strdup(replay);
    return c;
}

void api_ctx_free(api_ctx *ctx) {
    if (ctx) free(ctx->replay);
    free(ctx);
}

/* RFC 3339 with nanoseconds, trailing zeros of the fraction dropped. */
static void format_time(struct timespec ts, bool utc, char *buf, size_t n) {
    struct tm tm;
    time_t secs = ts.tv_sec;
    if (utc) gmtime_r(&secs, &tm);
    else localtime_r(&secs, &tm);
    char frac[16] = "";
    if (ts.tv_nsec) {
        snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
        size_t l = strlen(frac);
        while (l > 1 && frac[l - 1] == '0') frac[--l] = 0;
    }
    char zone[16] = "Z";
    if (!utc) {
        int off = (int)(tm.tm_gmtoff / 60);
        if (off != 0) snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60 % 100, abs(off) % 60);
    }
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac, zone);
}

void api_time_utc(char *buf, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    format_time(ts, true, buf, n);
}

void api_time_local(int64_t unix_ns, char *buf, size_t n) {
    /* "Forever" is INT64_MAX ns: April 2262, as upstream's far future. */
    struct timespec ts = {.tv_sec = unix_ns / 1000000000LL, .tv_nsec = unix_ns % 1000000000LL};
    format_time(ts, false, buf, n);
}

/* ---- models ---- */

int api_model_open(api_ctx *ctx, const char *name, api_model *out, server_response *res, int empty_status,
                   const char *empty_msg, const char *not_found_fmt) {
    memset(out, 0, sizeof *out);
    const char *p = name ? name : "";
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    snprintf(out->requested, sizeof out->requested, "%s", p);
    for (size_t l = strlen(out->requested); l && strchr(" \t\n", out->requested[l - 1]); l--) out->requested[l - 1] = 0;
    if (!out->requested[0]) {
        server_respond_error(res, empty_status, "%s", empty_msg);
        return -1;
    }
    store_name n;
    oc_error err;
    if (store_name_parse(out->requested, &n, &err) != 0) {
        server_respond_error(res, 400, "invalid model name");
        return -1;
    }
    store_name_fold_existing(ctx->st, &n);
    if (store_model_load(ctx->st, &n, &out->m, &err) != 0) {
        char shown[STORE_NAME_BUF];
        store_name_display(&n, shown, sizeof shown);
        if (not_found_fmt) server_respond_error(res, 404, not_found_fmt, out->requested);
        else server_respond_error(res, 404, "model '%s' not found", shown);
        return -1;
    }
    store_name_display(&out->m.name, out->display, sizeof out->display);
    store_name_string(&out->m.name, out->canonical, sizeof out->canonical);
    out->front = api_front_open(&out->m);
    out->n_caps = api_front_capabilities(out->front, &out->m, &out->caps);
    return 0;
}

void api_model_close(api_model *m) {
    store_model_free(&m->m);
    api_capabilities_free(m->caps, m->n_caps);
    m->caps = NULL;
    api_front_free(m->front);
    m->front = NULL;
}

bool api_model_has(const api_model *m, const char *cap) {
    for (int i = 0; i < m->n_caps; i++)
        if (strcmp(m->caps[i], cap) == 0) return true;
    return false;
}

/* store.md §8, through the model's chat front end (chatfront.c). */
int api_capabilities(const store_model *m, char ***out) {
    api_front *f = api_front_open(m);
    int n = api_front_capabilities(f, m, out);
    api_front_free(f);
    return n;
}

void api_capabilities_free(char **caps, int n) {
    for (int i = 0; i < n; i++) free(caps[i]);
    free(caps);
}

/* ---- routes ---- */

int api_register(struct server *srv, api_ctx *ctx) {
    static const struct {
        const char *method, *pattern;
        server_handler h;
        unsigned flags;
    } routes[] = {
        {"POST", "/api/generate", api_handle_generate, SERVER_JSON_BODY},
        {"POST", "/api/chat", api_handle_chat, SERVER_JSON_BODY},
        {"POST", "/api/embed", api_handle_embed, SERVER_JSON_BODY},
        {"POST", "/api/embeddings", api_handle_embeddings, SERVER_JSON_BODY},
        {"GET", "/api/tags", api_handle_tags, 0},
        {"HEAD", "/api/tags", api_handle_tags, 0},
        {"POST", "/api/show", api_handle_show, SERVER_JSON_BODY},
        {"POST", "/api/create", api_handle_create, SERVER_JSON_BODY},
        {"POST", "/api/copy", api_handle_copy, SERVER_JSON_BODY},
        {"DELETE", "/api/delete", api_handle_delete, SERVER_JSON_BODY},
        {"GET", "/api/ps", api_handle_ps, 0},
        {"HEAD", "/api/blobs/:digest", api_handle_blob_head, 0},
        {"POST", "/api/blobs/:digest", api_handle_blob_post, SERVER_STREAM_BODY},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (server_route(srv, routes[i].method, routes[i].pattern, routes[i].h, ctx, routes[i].flags)) return -1;
    return registry_register(srv, ctx->st); /* /api/pull, /api/push, /v2 */
}

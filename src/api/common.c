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
    return c;
}

void api_ctx_free(api_ctx *ctx) { free(ctx); }

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
        server_respond_error(res, 404, not_found_fmt, out->requested);
        return -1;
    }
    store_name_display(&out->m.name, out->display, sizeof out->display);
    store_name_string(&out->m.name, out->canonical, sizeof out->canonical);
    out->n_caps = api_capabilities(&out->m, &out->caps);
    return 0;
}

void api_model_close(api_model *m) {
    store_model_free(&m->m);
    api_capabilities_free(m->caps, m->n_caps);
    m->caps = NULL;
}

bool api_model_has(const api_model *m, const char *cap) {
    for (int i = 0; i < m->n_caps; i++)
        if (strcmp(m->caps[i], cap) == 0) return true;
    return false;
}

static void add_cap(char ***caps, int *n, const char *cap) {
    for (int i = 0; i < *n; i++)
        if (strcmp((*caps)[i], cap) == 0) return;
    *caps = oc_realloc(*caps, (size_t)(*n + 1) * sizeof(char *));
    (*caps)[(*n)++] = oc_strdup(cap);
}

/* store.md §8, without the Jinja-template and parser rules (they come with
 * the chat front end). */
int api_capabilities(const store_model *m, char ***out) {
    char **caps = NULL;
    int n = 0;
    for (size_t i = 0; i < m->config.n_capabilities; i++) add_cap(&caps, &n, m->config.capabilities[i]);
    if (m->model_path) {
        gguf_file *f = gguf_open(m->model_path, NULL);
        if (f) {
            char *arch = gguf_get_string(f, "general.architecture"), key[160];
            snprintf(key, sizeof key, "%s.pooling_type", arch ? arch : "");
            add_cap(&caps, &n, gguf_get(f, key) ? "embedding" : "completion");
            snprintf(key, sizeof key, "%s.vision.block_count", arch ? arch : "");
            if (gguf_get(f, key)) add_cap(&caps, &n, "vision");
            free(arch);
            gguf_close(f);
        }
    }
    if (m->n_projectors) add_cap(&caps, &n, "vision");
    const char *t = m->template_text;
    if (t && (strstr(t, ".Tools") || strstr(t, ".ToolCalls"))) add_cap(&caps, &n, "tools");
    if (t && strstr(t, ".Suffix")) add_cap(&caps, &n, "insert");
    if (t && (strstr(t, ".Thinking") || strstr(t, ".Think"))) add_cap(&caps, &n, "thinking");
    const char *fam = m->config.model_family;
    if (fam && (strcmp(fam, "gptoss") == 0 || strcmp(fam, "gpt-oss") == 0)) add_cap(&caps, &n, "thinking");
    *out = caps;
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

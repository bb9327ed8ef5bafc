/* server: the route table of api.md §3 in upstream's registration order
 * (which fixes the order of methods in Allow headers), with the small
 * endpoints answered here and the rest as 501 placeholders until their
 * handlers are registered over them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

static void root(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_respond_text(res, 200, "Ollama is running");
}

static void version(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_respond_json(res, 200, json_pack("{ss}", "version", SERVER_VERSION));
}

/* disable_ollama_cloud in ~/.ollama/server.json; invalid JSON is ignored. */
static bool config_disables_cloud(void) {
    const char *home = getenv("HOME");
    if (!home) return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/.ollama/server.json", home);
    json_t *cfg = json_load_file(path, 0, NULL);
    bool off = json_is_true(json_object_get(cfg, "disable_ollama_cloud"));
    json_decref(cfg);
    return off;
}

static void status(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    bool env = server_env_bool("OLLAMA_NO_CLOUD", false), cfg = config_disables_cloud();
    const char *source = env && cfg ? "both" : env ? "env" : cfg ? "config" : "none";
    server_respond_json(res, 200, json_pack("{s{sbss}}", "cloud", "disabled", env || cfg, "source", source));
}

/* This build has no ollama.com account: upstream's answers when the
 * account service cannot be reached. */
static void whoami(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_respond_error(res, 503, "account unavailable");
}

static void signout(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_respond_error(res, 500, "there was an error signing out");
}

/* Web search/fetch proxy to ollama.com: answered as with cloud disabled. */
static void web_proxy(server_request *req, server_response *res, void *ctx) {
    size_t len;
    const char *body = server_request_body(req, &len);
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++) blank = strchr(" \t\r\n\v\f", body[i]) != NULL;
    if (blank) server_respond_error(res, 400, "missing request body");
    else server_respond_error(res, 403, "ollama cloud is disabled: %s", (const char *)ctx);
}

static void recommendations(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    static const struct { const char *model, *desc; long long ctx, out, vram; } list[] = {
        {"kimi-k2.6:cloud", "State-of-the-art coding, long-horizon execution, and multimodal agent swarm capability", 262144, 262144, 0},
        {"glm-5.1:cloud", "Reasoning and code generation", 202752, 131072, 0},
        {"qwen3.5:cloud", "Reasoning, coding, and agentic tool use with vision", 262144, 32768, 0},
        {"minimax-m2.7:cloud", "Fast, efficient coding and real-world productivity", 204800, 128000, 0},
        {"gemma4", "Reasoning and code generation locally", 0, 0, 12000000000LL},
        {"qwen3.5", "Reasoning, coding, and visual understanding locally", 0, 0, 14000000000LL},
    };
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) {
        json_t *o = json_pack("{ssss}", "model", list[i].model, "description", list[i].desc);
        if (list[i].ctx) json_object_set_new(o, "context_length", json_integer(list[i].ctx));
        if (list[i].out) json_object_set_new(o, "max_output_tokens", json_integer(list[i].out));
        if (list[i].vram) json_object_set_new(o, "vram_bytes", json_integer(list[i].vram));
        json_array_append_new(arr, o);
    }
    server_respond_json(res, 200, json_pack("{so}", "recommendations", arr));
}

static void not_implemented(server_request *req, server_response *res, void *ctx) {
    (void)req, (void)ctx;
    server_respond_error(res, 501, "not implemented");
}

void server_builtin_routes(server *s) {
    static const struct { const char *method, *pattern; server_handler h; const char *ctx; unsigned flags; } t[] = {
        {"HEAD", "/", root, NULL, 0},
        {"GET", "/", root, NULL, 0},
        {"HEAD", "/api/version", version, NULL, 0},
        {"GET", "/api/version", version, NULL, 0},
        {"GET", "/api/status", status, NULL, 0},
        {"POST", "/api/pull", not_implemented, NULL, 0},
        {"POST", "/api/push", not_implemented, NULL, 0},
        {"HEAD", "/api/tags", not_implemented, NULL, 0},
        {"GET", "/api/tags", not_implemented, NULL, 0},
        {"POST", "/api/show", not_implemented, NULL, 0},
        {"DELETE", "/api/delete", not_implemented, NULL, 0},
        {"POST", "/api/me", whoami, NULL, 0},
        {"POST", "/api/signout", signout, NULL, 0},
        {"DELETE", "/api/user/keys/:encodedKey", signout, NULL, 0},
        {"POST", "/api/create", not_implemented, NULL, 0},
        {"POST", "/api/blobs/:digest", not_implemented, NULL, SERVER_STREAM_BODY},
        {"HEAD", "/api/blobs/:digest", not_implemented, NULL, 0},
        {"POST", "/api/copy", not_implemented, NULL, 0},
        {"POST", "/api/experimental/web_search", web_proxy, "web search is unavailable", 0},
        {"POST", "/api/experimental/web_fetch", web_proxy, "web fetch is unavailable", 0},
        {"GET", "/api/experimental/model-recommendations", recommendations, NULL, 0},
        {"GET", "/api/ps", not_implemented, NULL, 0},
        {"POST", "/api/generate", not_implemented, NULL, 0},
        {"POST", "/api/chat", not_implemented, NULL, 0},
        {"POST", "/api/embed", not_implemented, NULL, 0},
        {"POST", "/api/embeddings", not_implemented, NULL, 0},
        {"POST", "/v1/chat/completions", not_implemented, NULL, 0},
        {"POST", "/v1/completions", not_implemented, NULL, 0},
        {"POST", "/v1/embeddings", not_implemented, NULL, 0},
        {"GET", "/v1/models", not_implemented, NULL, 0},
        {"GET", "/v1/models/:model", not_implemented, NULL, 0},
        {"POST", "/v1/responses", not_implemented, NULL, 0},
        {"POST", "/v1/audio/transcriptions", not_implemented, NULL, 0},
        {"POST", "/v1/messages", not_implemented, NULL, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        server_route(s, t[i].method, t[i].pattern, t[i].h, (void *)t[i].ctx, t[i].flags);
}

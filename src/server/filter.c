/* server: the hooks translation layers (the OpenAI and Anthropic routes)
 * are built on: finding a registered handler, substituting the request's
 * JSON body, calling a handler for its answer, and installing an output
 * filter on a response. The filter is applied where answers are produced
 * (server.c, stream.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server_internal.h"

int server_route_lookup(const server *s, const char *method, const char *pattern, server_handler *h,
                        void **ctx) {
    for (size_t i = 0; i < s->n_routes; i++) {
        const server_route_entry *r = &s->routes[i];
        if (strcmp(r->method, method) != 0 || strcmp(r->pattern, pattern) != 0) continue;
        *h = r->handler;
        *ctx = r->ctx ? r->ctx : s->cfg.ctx;
        return 0;
    }
    return -1;
}

void server_request_set_json(server_request *req, json_t *body) {
    json_decref(req->json);
    req->json = body;
}

void server_response_filter(server_response *res, server_output_filter fn, void *ud, void (*free_ud)(void *),
                            const char *stream_content_type) {
    if (res->filter_free) res->filter_free(res->filter_ud); /* a second filter replaces the first */
    free(res->filter_ctype);
    res->filter = fn;
    res->filter_ud = ud;
    res->filter_free = free_ud;
    res->filter_ctype = stream_content_type ? oc_strdup(stream_content_type) : NULL;
}

json_t *server_request_call(server_request *req, server_handler h, void *ctx, json_t *body, int *status) {
    json_t *saved = req->json;
    req->json = body;
    server_response tmp = {.req = req, .file_fd = -1};
    h(req, &tmp, ctx);
    req->json = saved;
    json_decref(body);
    if (tmp.stream) server_stream_detach(tmp.stream); /* not ours to read: the writer gets false */
    *status = tmp.set ? tmp.status : 200;
    json_t *v = tmp.body.len && !tmp.stream ? json_loadb(tmp.body.data, tmp.body.len, JSON_DECODE_ANY, NULL) : NULL;
    if (tmp.file_fd >= 0) close(tmp.file_fd);
    if (tmp.filter_free) tmp.filter_free(tmp.filter_ud);
    free(tmp.filter_ctype);
    free(tmp.content_type);
    oc_buf_free(&tmp.body);
    oc_buf_free(&tmp.headers);
    return v;
}

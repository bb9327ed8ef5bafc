/* server: internals shared by the module's files, and the pure pieces
 * (address splitting, CORS, Host check) the unit tests call directly. */
#ifndef OLLAMA_SERVER_INTERNAL_H
#define OLLAMA_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "server/server.h"

/* ---- host.c ---- */

/* Go's net.SplitHostPort: "h:p", "[v6]:p"; -1 on a missing port, too many
 * colons or stray brackets. */
int server_split_host_port(const char *in, char *host, size_t hn, char *port, size_t pn);
/* Opens, binds and listens on addr: the socket, or -1 with Go's wording.
 * The bound address is written as text ("[::]:11434"), its port and
 * whether it is loopback (the Host check applies) returned. */
int server_listen_socket(const server_host *addr, char *bound, size_t bn, int *port,
                         bool *loopback, oc_error *err);
/* True when the peer closed its side of the socket (or it failed). */
bool server_fd_hung_up(int fd);

/* ---- policy.c: CORS (env.md §4) and the Host check (§5) ---- */

typedef struct server_cors {
    char **exact;    /* trimmed, lower-cased entries without '*' ... */
    size_t n_exact;  /* (entries with one are matched as wildcards too) */
    char **prefix, **suffix; /* wildcard entries split at their '*' */
    size_t n_wild;
    bool allow_all;  /* an entry "*" */
} server_cors;

/* The origin list (OLLAMA_ORIGINS entries, then the built-ins); -1 on an
 * entry upstream would refuse. */
int server_cors_init(server_cors *c, const char *origins, oc_error *err);
void server_cors_free(server_cors *c);
bool server_cors_origin_allowed(const server_cors *c, const char *origin);

enum server_cors_verdict {
    SERVER_CORS_NONE,      /* no Origin, or same origin: nothing to add */
    SERVER_CORS_FORBIDDEN, /* 403, empty body */
    SERVER_CORS_PREFLIGHT, /* OPTIONS: 204 with the preflight headers */
    SERVER_CORS_ALLOWED,   /* add Access-Control-Allow-Origin, go on */
};
enum server_cors_verdict server_cors_check(const server_cors *c, const char *method,
                                           const char *origin, const char *host);

enum server_host_verdict {
    SERVER_HOST_OK,        /* an allowed IP address */
    SERVER_HOST_OK_NAME,   /* an allowed name: OPTIONS gets 204 at once */
    SERVER_HOST_FORBIDDEN, /* 403, empty body */
};
/* The check for a server bound to loopback; host is the Host header. */
enum server_host_verdict server_host_check(const char *host);

/* ---- json_out.c ---- */

/* {"error": msg}, msg taken as bytes (invalid UTF-8 is written as \ufffd
 * rather than failing as json_pack would). */
json_t *server_error_object(const char *msg);

/* ---- server.c: routes, requests, responses ---- */

#define SERVER_MAX_SEGS 8

typedef struct server_route_entry {
    char *method, *pattern;
    char *segs[SERVER_MAX_SEGS];
    int nseg;
    server_handler handler;
    void *ctx;
    unsigned flags;
} server_route_entry;

struct server {
    server_config cfg;
    char *origins;
    server_cors cors;
    server_route_entry *routes;
    size_t n_routes;
    char *methods[16]; /* in first-registration order, as gin's trees */
    size_t n_methods;
    struct MHD_Daemon *daemon;
    int port;
    bool loopback;     /* bound to loopback: the Host check applies */
    char address[300];
    atomic_bool stopping;
    int wake[2];       /* server_interrupt -> server_wait */
    server_stream *streams; /* open streams, under stream.c's lock */
};

struct server_response {
    server_request *req;
    bool set;
    int status;
    char *content_type;
    oc_buf body;
    oc_buf headers;    /* "name\0value\0" pairs */
    server_stream *stream;
    server_output_filter filter; /* server_response_filter; moves to the stream */
    void *filter_ud;
    void (*filter_free)(void *);
    char *filter_ctype;
    int file_fd;       /* server_respond_file: owned once set (>= 0) */
    uint64_t file_off, file_len;
};

struct server_request {
    server *srv;
    struct MHD_Connection *conn;
    int fd;
    char method[16];
    char *path;
    const server_route_entry *route;
    char *params[SERVER_MAX_SEGS]; /* values of the route's ":name" segments */
    oc_buf body;
    uint64_t received;
    bool too_large;
    json_t *json;
    char *cors_origin; /* value for Access-Control-Allow-Origin, or NULL */
    bool cors_vary;
    server_body_sink sink;
    server_body_done done;
    void *sink_ud;
    bool sink_stopped, sink_finished;
    bool answered;     /* a response was queued with MHD */
    uint64_t t0;
    char remote[64];
    server_response res;
};

/* Registers the built-in route table (routes.c). */
void server_builtin_routes(server *s);

/* ---- stream.c ---- */

enum server_stream_first { SERVER_STREAM_DATA, SERVER_STREAM_FAILED, SERVER_STREAM_GONE };

server_stream *server_stream_new(server *s, int fd, const char *content_type);
/* Hands a response's output filter to its stream (which frees ud). */
void server_stream_set_filter(server_stream *w, server_output_filter fn, void *ud, void (*free_ud)(void *));
/* Connection side: waits for the first byte, an error or the end; a
 * failure gives its status and JSON body (to free). */
enum server_stream_first server_stream_wait_first(server_stream *w, int *status, char **body);
/* The MHD response that drains the stream (holds a reference). */
struct MHD_Response *server_stream_response(server_stream *w);
const char *server_stream_content_type(const server_stream *w);
/* The connection is finished: writers get false from now on. */
void server_stream_detach(server_stream *w);
/* server_stop: every open stream is ended. */
void server_streams_stop(server *s);

#endif

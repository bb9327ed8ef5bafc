/* server: streamed responses. A producer thread (the engine's runner, a
 * download) writes into a queue; the connection thread drains it through
 * MHD's content-reader callback. The writer learns that the client has
 * gone from the connection side (hang-up polls while waiting, a failed
 * send, the request-completed callback) and gets false from then on. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server_internal.h"

/* A fast producer waits once this much is queued and the client is
 * reading, so a slow client cannot make the queue grow without bound.
 * Before the response is under way nothing waits: a handler may write
 * its whole answer before returning. */
#define HIGH_WATER ((size_t)1 << 20)
#define POLL_NS 100000000L /* hang-up polling period while idle */

struct server_stream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                   /* writer, request, MHD response */
    server *srv;                /* registry owner; NULL once stopped */
    server_stream *prev, *next; /* registry links, under registry_mu */
    int fd;
    char *content_type;
    oc_buf q;
    size_t qoff;
    bool wrote, finished, gone, started;
    int err_status;
    char *err_body; /* the whole answer when failed before any byte */
    server_output_filter filter; /* a translation layer's (server_response_filter) */
    void *filter_ud;
    void (*filter_free)(void *);
};

/* One lock for every server's stream list, so a writer outliving its
 * server never touches freed memory to unlink itself. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;

server_stream *server_stream_new(server *s, int fd, const char *content_type) {
    server_stream *w = oc_calloc(1, sizeof *w);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    w->refs = 2; /* the writer's and the request's */
    w->fd = fd;
    w->content_type = oc_strdup(content_type ? content_type : SERVER_CT_NDJSON);
    pthread_mutex_lock(&registry_mu);
    if (atomic_load(&s->stopping)) { /* too late to be ended by server_stop */
        w->gone = true;
    } else {
        w->srv = s;
        w->next = s->streams;
        if (s->streams) s->streams->prev = w;
        s->streams = w;
    }
    pthread_mutex_unlock(&registry_mu);
    return w;
}

static void release(server_stream *w) {
    pthread_mutex_lock(&w->mu);
    bool last = --w->refs == 0;
    pthread_mutex_unlock(&w->mu);
    if (!last) return;
    pthread_mutex_lock(&registry_mu);
    if (w->srv) {
        if (w->prev) w->prev->next = w->next;
        else w->srv->streams = w->next;
        if (w->next) w->next->prev = w->prev;
    }
    pthread_mutex_unlock(&registry_mu);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    if (w->filter_free) w->filter_free(w->filter_ud);
    oc_buf_free(&w->q);
    free(w->content_type);
    free(w->err_body);
    free(w);
}

/* Waits up to POLL_NS; on a timeout checks for a hang-up (nobody reads
 * the socket while the connection thread is parked here). Locked. */
static void wait_or_poll(server_stream *w) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += POLL_NS;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT && server_fd_hung_up(w->fd)) {
        w->gone = true;
        pthread_cond_broadcast(&w->cv);
    }
}

bool server_stream_write(server_stream *w, const void *data, size_t len) {
    if (!w) return false;
    pthread_mutex_lock(&w->mu);
    while (!w->gone && !w->finished && w->started && w->q.len - w->qoff > HIGH_WATER)
        wait_or_poll(w);
    bool ok = !w->gone && !w->finished;
    if (ok && len) {
        oc_buf_append(&w->q, data, len);
        w->wrote = true;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return ok;
}

void server_stream_set_filter(server_stream *w, server_output_filter fn, void *ud, void (*free_ud)(void *)) {
    w->filter = fn, w->filter_ud = ud, w->filter_free = free_ud;
}

/* Whether bytes went out, which decides the shape of a filtered error.
 * (Filter calls come from the stream's one producer, so never overlap.) */
static bool has_started(server_stream *w) {
    pthread_mutex_lock(&w->mu);
    bool wrote = w->wrote;
    pthread_mutex_unlock(&w->mu);
    return wrote;
}

bool server_stream_write_json(server_stream *w, json_t *value) {
    if (w && w->filter) {
        server_output o = {.kind = SERVER_OUTPUT_CHUNK, .status = 200, .value = value};
        w->filter(w->filter_ud, &o);
        json_decref(value);
        bool ok = o.out.len ? server_stream_write(w, o.out.data, o.out.len) : server_stream_alive(w);
        oc_buf_free(&o.out);
        return ok;
    }
    oc_buf b = {0};
    server_json_encode(value, &b);
    oc_buf_append(&b, "\n", 1);
    json_decref(value);
    bool ok = server_stream_write(w, b.data, b.len);
    oc_buf_free(&b);
    return ok;
}

/* Ends w with an error: `before` is the whole JSON body when nothing was
 * sent yet, `after` (may be NULL) the last bytes otherwise. */
static void fail_raw(server_stream *w, int status, const char *before, const char *after) {
    if (w) {
        pthread_mutex_lock(&w->mu);
        if (!w->finished && !w->gone) {
            if (!w->wrote) { /* nothing sent: the error gets its own status */
                w->err_status = status ? status : 500;
                w->err_body = oc_strdup(before);
            } else if (after) {
                oc_buf_puts(&w->q, after);
            }
            w->finished = true;
            pthread_cond_broadcast(&w->cv);
        }
        pthread_mutex_unlock(&w->mu);
    }
}

void server_stream_fail(server_stream *w, int status, json_t *before, const char *after) {
    oc_buf body = {0};
    server_json_encode(before, &body);
    json_decref(before);
    fail_raw(w, status, body.data, after);
    oc_buf_free(&body);
}

void server_stream_error(server_stream *w, int status, const char *msg) {
    if (w && w->filter) {
        json_t *e = server_error_object(msg);
        server_output o = {.kind = SERVER_OUTPUT_ERROR, .status = status, .value = e, .started = has_started(w)};
        w->filter(w->filter_ud, &o);
        json_decref(e);
        oc_buf_append(&o.out, "", 1);
        fail_raw(w, o.status, o.out.data, o.out.data);
        oc_buf_free(&o.out);
        return;
    }
    json_t *o = server_error_object(msg);
    oc_buf line = {0};
    server_json_encode(o, &line);
    oc_buf_append(&line, "\n", 1);
    server_stream_fail(w, status, o, line.data);
    oc_buf_free(&line);
}

bool server_stream_alive(server_stream *w) {
    if (!w) return false;
    pthread_mutex_lock(&w->mu);
    bool alive = !w->gone && !w->finished;
    pthread_mutex_unlock(&w->mu);
    return alive;
}

void server_stream_end(server_stream *w) {
    if (!w) return;
    if (w->filter && server_stream_alive(w)) { /* the layer's closing bytes */
        server_output o = {.kind = SERVER_OUTPUT_END, .status = 200};
        w->filter(w->filter_ud, &o);
        if (o.out.len) server_stream_write(w, o.out.data, o.out.len);
        oc_buf_free(&o.out);
    }
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    release(w);
}

enum server_stream_first server_stream_wait_first(server_stream *w, int *status, char **body) {
    pthread_mutex_lock(&w->mu);
    while (!w->wrote && !w->finished && !w->gone) wait_or_poll(w);
    enum server_stream_first r = SERVER_STREAM_DATA;
    if (w->gone) {
        r = SERVER_STREAM_GONE;
    } else if (w->err_body) {
        r = SERVER_STREAM_FAILED;
        *status = w->err_status;
        *body = oc_strdup(w->err_body);
    } else {
        w->started = true;
    }
    pthread_mutex_unlock(&w->mu);
    return r;
}

/* MHD's content reader: blocks (allowed with a thread per connection)
 * until there is data, the end, or the client has gone. */
static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    server_stream *w = cls;
    ssize_t r;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        size_t avail = w->q.len - w->qoff;
        if (avail && !w->gone) {
            size_t n = avail < max ? avail : max;
            memcpy(buf, w->q.data + w->qoff, n);
            w->qoff += n;
            if (w->qoff == w->q.len) w->qoff = 0, w->q.len = 0;
            pthread_cond_broadcast(&w->cv); /* a producer may wait on HIGH_WATER */
            r = (ssize_t)n;
            break;
        }
        if (w->gone) { r = MHD_CONTENT_READER_END_WITH_ERROR; break; }
        if (w->finished) { r = MHD_CONTENT_READER_END_OF_STREAM; break; }
        wait_or_poll(w);
    }
    pthread_mutex_unlock(&w->mu);
    return r;
}

void server_stream_detach(server_stream *w) {
    pthread_mutex_lock(&w->mu);
    w->gone = true; /* after a normal end this changes nothing */
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    release(w);
}

static void free_cb(void *cls) { server_stream_detach(cls); }

struct MHD_Response *server_stream_response(server_stream *w) {
    pthread_mutex_lock(&w->mu);
    w->refs++;
    pthread_mutex_unlock(&w->mu);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, read_cb, w, free_cb);
    if (!r) release(w);
    return r;
}

const char *server_stream_content_type(const server_stream *w) { return w->content_type; }

void server_streams_stop(server *s) {
    pthread_mutex_lock(&registry_mu);
    for (server_stream *w = s->streams; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        w->gone = true;
        w->srv = NULL;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    s->streams = NULL;
    pthread_mutex_unlock(&registry_mu);
}

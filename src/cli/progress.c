/* cli: the progress display of pull, push, create and model loading:
 * spinners and byte bars drawn as upstream's progress package does, every
 * 100 ms from a drawing thread, in place on a terminal; plain lines (one
 * per status, a bar when it appears and when it completes) otherwise. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"

typedef struct pline {
    char *key, *msg;
    bool bar, stopped;
    int64_t total, initial, current;
    double started, stopped_at;
    double bucket_t[10];
    int64_t bucket_v[10];
    int n_buckets;
    int plain_state; /* plain mode: 0 nothing printed, 1 shown, 2 complete shown */
} pline;

struct progress {
    FILE *out;
    bool tty;
    pthread_mutex_t mu;
    pthread_t thread;
    bool running, quit;
    pline *lines;
    size_t n;
    int drawn; /* lines on screen */
    int frame;
    double last_frame;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void term_size(FILE *out, int *w, int *h) {
    struct winsize ws;
    *w = 80, *h = 24;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) *w = ws.ws_col, *h = ws.ws_row;
}

void progress_eta(double seconds, char *buf, size_t n) {
    if (seconds >= 100 * 3600) snprintf(buf, n, "99h+");
    else if (seconds >= 3600) snprintf(buf, n, "%dh%dm", (int)(seconds / 3600), (int)(seconds / 60) % 60);
    else fmt_go_duration((int64_t)llround(seconds) * 1000000000ll, buf, n);
}

static void pad6(oc_buf *b, const char *s) {
    for (size_t k = strlen(s); k < 6; k++) oc_buf_puts(b, " ");
    oc_buf_puts(b, s);
}

void progress_render_bar(char *buf, size_t n, int width, const char *msg, int64_t total, int64_t completed,
                         double rate, bool stopped) {
    oc_buf pre = {0}, suf = {0}, mid = {0};
    char t[64];
    double pct = total > 0 ? (double)completed / (double)total * 100 : 0;
    if (msg && *msg) {
        size_t a = 0, z = strlen(msg);
        while (a < z && msg[a] == ' ') a++;
        while (z > a && msg[z - 1] == ' ') z--;
        oc_buf_printf(&pre, "%.*s ", (int)(z - a), msg + a);
    }
    oc_buf_printf(&pre, "%3.0f%%", pct);
    if (!stopped) {
        fmt_bytes(completed, t, sizeof t), pad6(&suf, t), oc_buf_puts(&suf, "/");
        fmt_bytes(total, t, sizeof t), pad6(&suf, t);
    } else {
        fmt_bytes(total, t, sizeof t), pad6(&suf, t), oc_buf_puts(&suf, "       ");
    }
    if (!stopped && rate > 0) {
        fmt_bytes((int64_t)rate, t, sizeof t);
        oc_buf_puts(&suf, "  "), pad6(&suf, t), oc_buf_puts(&suf, "/s");
        progress_eta(floor((double)(total - completed) / rate), t, sizeof t);
        oc_buf_puts(&suf, "  "), pad6(&suf, t);
    } else {
        oc_buf_puts(&suf, "                  ");
    }
    int f = width - (int)pre.len - (int)suf.len - 5;
    int filled = (int)(f * pct / 100);
    oc_buf_puts(&mid, " \xe2\x96\x95");
    for (int k = 0; k < filled; k++) oc_buf_puts(&mid, "\xe2\x96\x88");
    for (int k = filled > 0 ? filled : 0; k < f; k++) oc_buf_puts(&mid, " ");
    oc_buf_puts(&mid, "\xe2\x96\x8f ");
    snprintf(buf, n, "%s%s%s", pre.data, mid.data, suf.data);
    oc_buf_free(&pre), oc_buf_free(&suf), oc_buf_free(&mid);
}

static double bar_rate(const pline *l, double now) {
    if (l->stopped) {
        double d = round(l->stopped_at - l->started);
        return d > 0 ? (double)(l->current - l->initial) / d : 0;
    }
    if (l->n_buckets >= 2) {
        double d = round(l->bucket_t[l->n_buckets - 1] - l->bucket_t[0]);
        return d > 0 ? (double)(l->bucket_v[l->n_buckets - 1] - l->bucket_v[0]) / d : 0;
    }
    double d = round(now - l->started);
    return d > 0 ? (double)(l->current - l->initial) / d : 0;
}

static const char *frames[] = {"\xe2\xa0\x8b", "\xe2\xa0\x99", "\xe2\xa0\xb9", "\xe2\xa0\xb8", "\xe2\xa0\xbc",
                               "\xe2\xa0\xb4", "\xe2\xa0\xa6", "\xe2\xa0\xa7", "\xe2\xa0\x87", "\xe2\xa0\x8f"};

static void render_line(progress *p, const pline *l, int width, oc_buf *out) {
    if (l->bar) {
        char buf[4096];
        progress_render_bar(buf, sizeof buf, width, l->msg, l->total, l->current, bar_rate(l, now_s()),
                            l->stopped);
        oc_buf_puts(out, buf);
    } else if (l->stopped) {
        oc_buf_printf(out, "%s ", l->msg);
    } else {
        if (*l->msg) oc_buf_printf(out, "%s ", l->msg);
        oc_buf_printf(out, "%s ", frames[p->frame % 10]);
    }
}

/* Redraws every line in place (caller holds mu). */
static void draw(progress *p) {
    int w, h;
    term_size(p->out, &w, &h);
    oc_buf b = {0};
    oc_buf_puts(&b, "\x1b[?2026h\x1b[?25l");
    for (int i = 1; i < p->drawn; i++) oc_buf_puts(&b, "\x1b[A");
    oc_buf_puts(&b, "\x1b[1G");
    size_t first = p->n > (size_t)h ? p->n - (size_t)h : 0;
    for (size_t i = first; i < p->n; i++) {
        if (i > first) oc_buf_puts(&b, "\n");
        render_line(p, &p->lines[i], w, &b);
        oc_buf_puts(&b, "\x1b[K");
    }
    oc_buf_puts(&b, "\x1b[?25h\x1b[?2026l");
    p->drawn = (int)(p->n - first);
    fwrite(b.data, 1, b.len, p->out);
    fflush(p->out);
    oc_buf_free(&b);
}

static void *draw_loop(void *arg) {
    progress *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->quit) {
        p->frame++;
        if (p->n) draw(p);
        pthread_mutex_unlock(&p->mu);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

progress *progress_new(FILE *out) {
    progress *p = oc_calloc(1, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    pthread_mutex_init(&p->mu, NULL);
    if (p->tty && pthread_create(&p->thread, NULL, draw_loop, p) == 0) p->running = true;
    return p;
}

/* Plain mode: a line for what changed. */
static void plain_line(progress *p, pline *l) {
    if (p->tty) return;
    if (!l->bar) {
        if (l->plain_state == 0 && *l->msg) fprintf(p->out, "%s\n", l->msg);
        l->plain_state = 1;
    } else if (l->plain_state < 2 && (l->plain_state == 0 || l->stopped)) {
        char t[32], u[32];
        fmt_bytes(l->current, t, sizeof t), fmt_bytes(l->total, u, sizeof u);
        double pct = l->total > 0 ? (double)l->current / (double)l->total * 100 : 0;
        fprintf(p->out, "%s %3.0f%% %s/%s\n", l->msg, pct, t, u);
        l->plain_state = l->stopped ? 2 : 1;
    }
    fflush(p->out);
}

static void stop_spinners(progress *p) {
    for (size_t i = 0; i < p->n; i++)
        if (!p->lines[i].bar) p->lines[i].stopped = true;
}

void progress_spinner(progress *p, const char *msg) {
    pthread_mutex_lock(&p->mu);
    stop_spinners(p);
    p->lines = oc_realloc(p->lines, (p->n + 1) * sizeof *p->lines);
    pline *l = &p->lines[p->n++];
    memset(l, 0, sizeof *l);
    size_t a = 0, z = strlen(msg);
    while (a < z && msg[a] == ' ') a++;
    while (z > a && msg[z - 1] == ' ') z--;
    l->msg = oc_strndup(msg + a, z - a);
    l->key = oc_strdup("");
    plain_line(p, l);
    pthread_mutex_unlock(&p->mu);
}

void progress_spinner_set(progress *p, const char *msg, bool final) {
    pthread_mutex_lock(&p->mu);
    pline *l = p->n ? &p->lines[p->n - 1] : NULL;
    bool update = l && !l->bar && !l->stopped;
    pthread_mutex_unlock(&p->mu);
    if (!update) {
        progress_spinner(p, msg);
        return;
    }
    pthread_mutex_lock(&p->mu);
    free(l->msg);
    l->msg = oc_strdup(msg);
    if (!p->tty && final) {
        fprintf(p->out, "%s\n", l->msg);
        fflush(p->out);
    }
    pthread_mutex_unlock(&p->mu);
}

void progress_bar(progress *p, const char *key, const char *label, int64_t total, int64_t completed) {
    pthread_mutex_lock(&p->mu);
    pline *l = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (p->lines[i].bar && strcmp(p->lines[i].key, key) == 0) l = &p->lines[i];
    double t = now_s();
    if (!l) {
        stop_spinners(p);
        p->lines = oc_realloc(p->lines, (p->n + 1) * sizeof *p->lines);
        l = &p->lines[p->n++];
        memset(l, 0, sizeof *l);
        l->key = oc_strdup(key), l->msg = oc_strdup(label), l->bar = true;
        l->total = total, l->initial = l->current = completed, l->started = t;
    }
    if (total > 0) l->total = total;
    if (completed > l->total) completed = l->total;
    l->current = completed;
    if (l->current >= l->total && !l->stopped) l->stopped = true, l->stopped_at = t;
    if (l->n_buckets == 0 || t - l->bucket_t[l->n_buckets - 1] > 1.0) {
        if (l->n_buckets == 10) {
            memmove(l->bucket_t, l->bucket_t + 1, 9 * sizeof *l->bucket_t);
            memmove(l->bucket_v, l->bucket_v + 1, 9 * sizeof *l->bucket_v);
            l->n_buckets--;
        }
        l->bucket_t[l->n_buckets] = t, l->bucket_v[l->n_buckets++] = completed;
    }
    plain_line(p, l);
    pthread_mutex_unlock(&p->mu);
}

static void halt(progress *p) {
    if (!p->running) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = false;
}

void progress_stop(progress *p) {
    halt(p);
    if (!p->tty) return;
    stop_spinners(p);
    if (p->n) {
        draw(p);
        fputs("\n", p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}

void progress_stop_clear(progress *p) {
    halt(p);
    if (!p->tty || !p->drawn) return;
    oc_buf b = {0};
    oc_buf_puts(&b, "\x1b[?25l");
    for (int i = 0; i < p->drawn; i++) {
        if (i > 0) oc_buf_puts(&b, "\x1b[A");
        oc_buf_puts(&b, "\x1b[2K\x1b[1G");
    }
    oc_buf_puts(&b, "\x1b[?25h");
    fwrite(b.data, 1, b.len, p->out);
    fflush(p->out);
    oc_buf_free(&b);
    p->drawn = 0;
}

void progress_free(progress *p) {
    if (!p) return;
    halt(p);
    for (size_t i = 0; i < p->n; i++) free(p->lines[i].key), free(p->lines[i].msg);
    free(p->lines);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

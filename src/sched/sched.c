/* sched: loaded runners, their lifetimes and the request queue limit. */
#include "sched/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define REAP_INTERVAL_MS 250

struct sched_runner {
    char *name, *path;
    sched_load_opts opts;
    model *m;
    engine *e;
    int refs;
    bool loading;         /* being loaded outside the lock: m and e are not there yet */
    int64_t keep_alive;   /* ns */
    int64_t expires_at;   /* unix ns once idle */
    uint64_t last_used;   /* monotonic, for LRU eviction */
    uint64_t size;
    struct sched_runner *next;
};

struct sched {
    sched_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    sched_runner *runners;
    int n_loaded, pending;
    bool stopping;
    pthread_t reaper;
};

static int64_t unix_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long n = strtol(v, &end, 10);
    return *end || n < 0 || n > 1 << 20 ? def : (int)n;
}

sched_config sched_config_from_env(void) {
    sched_config c = {.max_loaded = env_int("OLLAMA_MAX_LOADED_MODELS", 0),
                      .num_parallel = env_int("OLLAMA_NUM_PARALLEL", 0),
                      .max_queue = env_int("OLLAMA_MAX_QUEUE", 0),
                      .default_keep_alive = 5 * 60 * 1000000000LL};
    const char *ka = getenv("OLLAMA_KEEP_ALIVE");
    if (ka && *ka) {
        /* A bare number is seconds; a negative one means forever. */
        char *end;
        double secs = strtod(ka, &end);
        int64_t ns;
        if (!*end) c.default_keep_alive = secs < 0 ? SCHED_FOREVER : (int64_t)(secs * 1e9);
        else if (sched_parse_duration(ka, &ns, NULL) == 0) c.default_keep_alive = ns < 0 ? SCHED_FOREVER : ns;
    }
    return c;
}

/* ---- unloading ---- */

static void unload_locked(sched *s, sched_runner *r) {
    for (sched_runner **pp = &s->runners; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    s->n_loaded--;
    engine_free(r->e);
    model_free(r->m);
    free(r->name);
    free(r->path);
    free(r);
    pthread_cond_broadcast(&s->changed);
}

static void *reaper_main(void *arg) {
    sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        int64_t now = unix_ns();
        for (sched_runner *r = s->runners, *next; r; r = next) {
            next = r->next;
            if (r->refs == 0 && r->expires_at <= now) unload_locked(s, r);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REAP_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->changed, &s->mu, &until);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

sched *sched_new(const sched_config *c) {
    sched *s = oc_calloc(1, sizeof *s);
    s->cfg = *c;
    if (s->cfg.max_loaded <= 0) s->cfg.max_loaded = 3;
    if (s->cfg.num_parallel <= 0) s->cfg.num_parallel = 1;
    if (s->cfg.max_queue <= 0) s->cfg.max_queue = 512;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    pthread_create(&s->reaper, NULL, reaper_main, s);
    return s;
}

void sched_free(sched *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->reaper, NULL);
    while (s->runners) unload_locked(s, s->runners);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->changed);
    free(s);
}

/* ---- loading ---- */

static uint64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return UINT64_MAX;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return kb ? (uint64_t)kb * 1024 : UINT64_MAX;
}

static void format_gib(char *buf, size_t n, uint64_t bytes) {
    snprintf(buf, n, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
}

/* Weights are mapped, so they count once; the cache and buffers are
 * estimated from the file (refined after loading). */
static int check_fits(const char *path, oc_error *err) {
    struct stat st;
    if (stat(path, &st) != 0) return oc_fail(err, "model file %s: %s", path, strerror(errno));
    uint64_t need = (uint64_t)st.st_size + 256ull * 1024 * 1024, have = mem_available();
    if (need <= have) return 0;
    char a[32], b[32];
    format_gib(a, sizeof a, need);
    format_gib(b, sizeof b, have);
    return oc_fail(err, "model requires more system memory (%s) than is available (%s)", a, b);
}

/* Loads with the lock released, so requests for models already loaded go
 * on meanwhile; a placeholder in the list holds the slot (it counts
 * against max_loaded) and makes requests for the same model wait for it. */
static sched_runner *load_unlocked(sched *s, const char *name, const char *path, const sched_load_opts *o,
                                   oc_error *err) {
    if (check_fits(path, err)) return NULL;
    sched_runner *r = oc_calloc(1, sizeof *r);
    r->name = oc_strdup(name);
    r->path = oc_strdup(path);
    r->opts = *o;
    r->loading = true;
    r->refs = 1; /* neither idle nor reapable while loading */
    r->keep_alive = s->cfg.default_keep_alive;
    r->next = s->runners;
    s->runners = r;
    s->n_loaded++;
    pthread_mutex_unlock(&s->mu);
    model_params p = model_default_params();
    p.n_ctx = o->num_ctx > 0 ? o->num_ctx : 4096;
    p.n_batch = o->num_batch > 0 ? o->num_batch : 512;
    p.n_threads = o->num_thread;
    p.n_seq = s->cfg.num_parallel;
    model *m = model_load(path, &p, err);
    engine *e = m ? engine_new(m, s->cfg.num_parallel) : NULL;
    pthread_mutex_lock(&s->mu);
    r->loading = false;
    r->refs = 0;
    if (!m) {
        unload_locked(s, r); /* wakes the waiters: they try again */
        return NULL;
    }
    r->m = m;
    r->e = e;
    struct stat st; /* api.md: the memory used, weights and cache */
    r->size = (stat(path, &st) == 0 ? (uint64_t)st.st_size : 0) + model_kv_bytes(m);
    pthread_cond_broadcast(&s->changed);
    return r;
}

static bool same_opts(const sched_load_opts *a, const sched_load_opts *b) {
    return a->num_ctx == b->num_ctx && a->num_batch == b->num_batch && a->num_thread == b->num_thread;
}

static sched_runner *find_locked(sched *s, const char *name) {
    for (sched_runner *r = s->runners; r; r = r->next)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

static sched_runner *lru_idle(sched *s) {
    sched_runner *best = NULL;
    for (sched_runner *r = s->runners; r; r = r->next)
        if (r->refs == 0 && (!best || r->last_used < best->last_used)) best = r;
    return best;
}

/* Makes room for one more runner, waiting for a busy one to go idle. */
static void make_room_locked(sched *s) {
    while (s->n_loaded >= s->cfg.max_loaded && !s->stopping) {
        sched_runner *victim = lru_idle(s);
        if (victim) unload_locked(s, victim);
        else pthread_cond_wait(&s->changed, &s->mu);
    }
}

/* The loaded runner for name, after unloading one whose load options
 * differ (waiting until it is idle). */
static sched_runner *current_locked(sched *s, const char *name, const sched_load_opts *o) {
    sched_runner *r;
    while ((r = find_locked(s, name)) && !same_opts(&r->opts, o)) {
        if (r->refs == 0) unload_locked(s, r);
        else pthread_cond_wait(&s->changed, &s->mu);
    }
    return r;
}

/* current_locked once a load of that runner in progress has finished. */
static sched_runner *loaded_locked(sched *s, const char *name, const sched_load_opts *o) {
    sched_runner *r;
    while ((r = current_locked(s, name, o)) && r->loading) pthread_cond_wait(&s->changed, &s->mu);
    return r;
}

sched_runner *sched_acquire(sched *s, const char *name, const char *path, const sched_load_opts *o,
                            uint64_t *load_ns, int *status, oc_error *err) {
    uint64_t t0 = oc_now_ns();
    pthread_mutex_lock(&s->mu);
    if (s->pending >= s->cfg.max_queue) {
        pthread_mutex_unlock(&s->mu);
        *status = 503;
        oc_fail(err, "server busy, please try again.  maximum pending requests exceeded");
        return NULL;
    }
    s->pending++;
    sched_runner *r = loaded_locked(s, name, o);
    if (!r) {
        make_room_locked(s);
        /* make_room_locked may have waited: another request may have
         * started the same load meanwhile. */
        r = loaded_locked(s, name, o);
        if (!r) r = load_unlocked(s, name, path, o, err);
    }
    if (r) {
        r->refs++;
        r->last_used = oc_now_ns();
    }
    s->pending--;
    pthread_mutex_unlock(&s->mu);
    if (!r) *status = 500;
    if (load_ns) *load_ns = oc_now_ns() - t0;
    return r;
}

void sched_release(sched *s, sched_runner *r, int64_t keep_alive) {
    pthread_mutex_lock(&s->mu);
    if (keep_alive != SCHED_KEEP_CURRENT) r->keep_alive = keep_alive < 0 ? SCHED_FOREVER : keep_alive;
    r->last_used = oc_now_ns();
    if (--r->refs == 0) {
        int64_t now = unix_ns();
        r->expires_at = r->keep_alive >= INT64_MAX - now ? INT64_MAX : now + r->keep_alive;
        /* From a piece callback (the runner thread) the engine cannot be
         * freed: the reaper, woken below, unloads it an instant later. */
        if (r->keep_alive == 0 && !engine_on_runner_thread(r->e)) unload_locked(s, r);
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
}

void sched_unload(sched *s, const char *name) {
    pthread_mutex_lock(&s->mu);
    sched_runner *r = find_locked(s, name);
    if (r) {
        r->keep_alive = 0;
        r->expires_at = 0;
        if (r->refs == 0) unload_locked(s, r);
    }
    pthread_mutex_unlock(&s->mu);
}

engine *sched_runner_engine(sched_runner *r) { return r->e; }
model *sched_runner_model(sched_runner *r) { return r->m; }

static int by_expiry_desc(const void *a, const void *b) {
    int64_t x = ((const sched_info *)a)->expires_at, y = ((const sched_info *)b)->expires_at;
    return (x < y) - (x > y);
}

int sched_list(sched *s, sched_info *out, int max) {
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (sched_runner *r = s->runners; r && n < max; r = r->next) {
        if (r->loading) continue;
        snprintf(out[n].name, sizeof out[n].name, "%s", r->name);
        out[n].size = r->size;
        /* A runner in use expires keep_alive after its current request. */
        int64_t now = unix_ns();
        out[n].expires_at = r->refs ? (r->keep_alive >= INT64_MAX - now ? INT64_MAX : now + r->keep_alive)
                                    : r->expires_at;
        out[n].context_length = model_n_ctx(r->m);
        n++;
    }
    pthread_mutex_unlock(&s->mu);
    qsort(out, (size_t)n, sizeof *out, by_expiry_desc);
    return n;
}

/* ---- Go durations ---- */

static int64_t unit_ns(const char *u, size_t n) {
    static const struct { const char *name; int64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000}, {"ms", 1000000},
        {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0) return units[i].ns;
    return 0;
}

int sched_parse_duration(const char *s, int64_t *ns, oc_error *err) {
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    if (strcmp(p, "0") == 0) return *ns = 0, 0;
    if (!*p) return oc_fail(err, "time: invalid duration \"%s\"", s);
    double total = 0;
    while (*p) {
        const char *num = p;
        while ((*p >= '0' && *p <= '9') || *p == '.') p++;
        if (p == num || (p - num == 1 && *num == '.')) return oc_fail(err, "time: invalid duration \"%s\"", s);
        double v = strtod(num, NULL);
        const char *u = p;
        while (*p && !((*p >= '0' && *p <= '9') || *p == '.')) p++;
        if (u == p) return oc_fail(err, "time: missing unit in duration \"%s\"", s);
        int64_t mult = unit_ns(u, (size_t)(p - u));
        if (!mult) return oc_fail(err, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)(p - u), u, s);
        total += v * (double)mult;
    }
    if (total > 9.2e18) return oc_fail(err, "time: invalid duration \"%s\"", s);
    *ns = (int64_t)(neg ? -total : total);
    return 0;
}

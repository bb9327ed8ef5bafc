/* sched: Go duration parsing, runner reuse, keep_alive expiry and
 * unloading, LRU eviction under OLLAMA_MAX_LOADED_MODELS, and reloading
 * when load options change. */
#include <unistd.h>

#include <pthread.h>

#include "check.h"
#include "sched/sched.h"

static const char *DEMO = "models/stories260K.gguf";

static void check_durations(void) {
    struct { const char *s; int64_t ns; } ok[] = {
        {"5m", 300000000000LL}, {"1h30m", 5400000000000LL}, {"1.5h", 5400000000000LL},
        {"300ms", 300000000LL}, {"0", 0}, {"-1m", -60000000000LL}, {"2us", 2000}, {"1m0.5s", 60500000000LL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ns = 12345;
        CHECK_MSG(sched_parse_duration(ok[i].s, &ns, NULL) == 0 && ns == ok[i].ns, "%s -> %lld", ok[i].s, (long long)ns);
    }
    struct { const char *s, *msg; } bad[] = {
        {"abc", "time: invalid duration \"abc\""}, {"300", "time: missing unit in duration \"300\""},
        {"-1", "time: missing unit in duration \"-1\""}, {"1d", "time: unknown unit \"d\" in duration \"1d\""},
        {"", "time: invalid duration \"\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        oc_error err = {{0}};
        int64_t ns;
        CHECK(sched_parse_duration(bad[i].s, &ns, &err) != 0);
        CHECK_EQ_STR(err.msg, bad[i].msg);
    }
}

static int loaded(sched *s, sched_info *info) { return sched_list(s, info, 8); }

static void check_lifecycle(void) {
    sched_config c = {.max_loaded = 1, .num_parallel = 2, .max_queue = 8, .default_keep_alive = 60000000000LL};
    sched *s = sched_new(&c);
    sched_load_opts o = {.num_ctx = 256};
    sched_info info[8];
    int status = 0;
    oc_error err;
    uint64_t load_ns;
    sched_runner *a = sched_acquire(s, "a", DEMO, &o, &load_ns, &status, &err);
    CHECK(a != NULL);
    sched_runner *a2 = sched_acquire(s, "a", DEMO, &o, &load_ns, &status, &err);
    CHECK(a2 == a); /* reused while loaded */
    sched_release(s, a, SCHED_KEEP_CURRENT);
    sched_release(s, a2, SCHED_KEEP_CURRENT);
    CHECK_EQ_INT(loaded(s, info), 1);
    CHECK_EQ_INT(info[0].context_length, 256);

    /* max_loaded 1: loading b evicts the idle a. */
    sched_runner *b = sched_acquire(s, "b", DEMO, &o, &load_ns, &status, &err);
    CHECK(b != NULL);
    CHECK_EQ_INT(loaded(s, info), 1);
    CHECK_EQ_STR(info[0].name, "b");
    sched_release(s, b, SCHED_FOREVER);
    CHECK_EQ_INT(loaded(s, info), 1);
    CHECK(info[0].expires_at == INT64_MAX);

    /* Other load options reload the model. */
    sched_load_opts o2 = {.num_ctx = 128};
    b = sched_acquire(s, "b", DEMO, &o2, &load_ns, &status, &err);
    CHECK(b != NULL);
    CHECK_EQ_INT(loaded(s, info), 1);
    CHECK_EQ_INT(info[0].context_length, 128);

    /* keep_alive expiry: the reaper unloads it shortly after. */
    sched_release(s, b, 200000000LL);
    int waited = 0;
    while (loaded(s, info) > 0 && waited < 5000) usleep(50000), waited += 50;
    CHECK_EQ_INT(loaded(s, info), 0);

    /* keep_alive 0 unloads at once; a missing file fails with 500. */
    a = sched_acquire(s, "a", DEMO, &o, &load_ns, &status, &err);
    sched_release(s, a, 0);
    CHECK_EQ_INT(loaded(s, info), 0);
    CHECK(sched_acquire(s, "x", "/nonexistent.gguf", &o, &load_ns, &status, &err) == NULL);
    CHECK_EQ_INT(status, 500);
    CHECK(strstr(err.msg, "/nonexistent.gguf") != NULL);
    sched_free(s);
}

typedef struct racer {
    sched *s;
    const char *name, *path;
    sched_runner *got;
    pthread_barrier_t *start;
} racer;

static void *race_acquire(void *arg) {
    racer *r = arg;
    sched_load_opts o = {.num_ctx = 256};
    int status;
    oc_error err;
    uint64_t load_ns;
    pthread_barrier_wait(r->start);
    r->got = sched_acquire(r->s, r->name, r->path, &o, &load_ns, &status, &err);
    return NULL;
}

/* Loads happen outside the scheduler's lock: requests racing for one model
 * share one load; a failing load next to them does not disturb them. */
static void check_concurrent_loads(void) {
    sched_config c = {.max_loaded = 3, .num_parallel = 1, .max_queue = 8, .default_keep_alive = 60000000000LL};
    sched *s = sched_new(&c);
    enum { N = 6 };
    racer rs[N];
    pthread_t th[N];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    for (int i = 0; i < N; i++) {
        rs[i] = (racer){.s = s, .name = i < 4 ? "a" : i == 4 ? "b" : "bad", .start = &start,
                        .path = i == 5 ? "/nonexistent.gguf" : DEMO};
        pthread_create(&th[i], NULL, race_acquire, &rs[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 1; i < 4; i++) CHECK(rs[i].got == rs[0].got && rs[0].got != NULL);
    CHECK(rs[4].got != NULL && rs[4].got != rs[0].got);
    CHECK(rs[5].got == NULL);
    sched_info info[8];
    CHECK_EQ_INT(loaded(s, info), 2);
    for (int i = 0; i < 5; i++) sched_release(s, rs[i].got, SCHED_KEEP_CURRENT);
    sched_free(s);
}

int main(void) {
    check_durations();
    check_lifecycle();
    check_concurrent_loads();
    return check_done();
}

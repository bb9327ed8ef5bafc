/* tensor: the persistent thread pool. Workers spin on a generation counter
 * for a short while after each job (decode steps come back-to-back, and a
 * sleeping thread costs tens of microseconds to wake), then block on a
 * condition variable so an idle server uses no CPU. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "tensor/tensor.h"

#define SPIN_ITERATIONS 100000

struct tensor_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint generation;   /* bumped once per job */
    atomic_int pending;       /* workers still running the current job */
    atomic_bool stop;
    tensor_task_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    tensor_pool *pool;
    int ith;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spinning waits yield the core every few rounds: on an idle machine
 * sched_yield returns at once, on a busy one (tests running in parallel,
 * several loaded models) it lets the thread we wait for run. */
static inline void spin_pause(int i) {
    if ((i & 63) == 63) sched_yield();
    else cpu_relax();
}

static unsigned wait_for_job(tensor_pool *p, unsigned seen) {
    for (int i = 0; i < SPIN_ITERATIONS; i++) {
        unsigned g = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) return g;
        spin_pause(i);
    }
    pthread_mutex_lock(&p->mu);
    unsigned g;
    while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    tensor_pool *p = wa->pool;
    int ith = wa->ith;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load(&p->stop)) break;
        p->fn(p->ctx, ith, p->n_threads);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

tensor_pool *tensor_pool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    tensor_pool *p = oc_calloc(1, sizeof *p);
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = oc_calloc((size_t)n_threads, sizeof(pthread_t));
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = oc_malloc(sizeof *wa);
        wa->pool = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            /* Fewer threads still compute the right result. */
            free(wa);
            p->n_threads = i;
            break;
        }
    }
    return p;
}

void tensor_pool_free(tensor_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p);
}

int tensor_pool_size(const tensor_pool *p) { return p ? p->n_threads : 1; }

void tensor_pool_run(tensor_pool *p, tensor_task_fn fn, void *ctx) {
    if (!p || p->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_release);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n_threads);
    for (int i = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; i++) spin_pause(i);
}

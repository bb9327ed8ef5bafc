/* engine: the runner thread, its slots and the batch it decodes each step. */
#include "engine/engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct request {
    int32_t *tokens;
    int n_tokens;
    sample_params sampling;
    int num_predict, num_keep;
    bool no_shift;
    char **stop;
    int n_stop;
    grammar *gr;
    char *gr_after;
    engine_piece_fn cb;
    void *user;
    struct request *next;
} request;

typedef struct slot {
    request *req;           /* NULL when free */
    int32_t *cache;         /* tokens whose K/V the slot holds, n_cache of them */
    int n_cache;
    int n_prompt_done;      /* prompt tokens in the cache */
    bool prefilling;
    int32_t next_token;     /* sampled, to be fed at the next step */
    int32_t *gen;           /* generated tokens, n_gen of them (gen_cap room) */
    int gen_cap;
    int reuse_limit;        /* cached positions a new prompt may reuse (fewer after a shift) */
    sampler *smp;
    grammar_matcher *gm;    /* the request's format, if any (and started) */
    oc_buf gr_tail;         /* output tail watched for req->gr_after */
    tokenizer_stream ts;
    oc_buf held;            /* text not yet sent: it may begin a stop string */
    int n_gen, prompt_eval_count;
    uint64_t t_start, t_prompt_done;
} slot;

struct engine {
    model *m;
    int n_slots, n_ctx, n_vocab;
    slot *slots;
    grammar_vocab *gv;      /* token bytes for grammars, built on first use */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    request *queue_head, *queue_tail;
    bool stopping;
    atomic_int busy;
    /* one batch */
    int32_t *b_tok, *b_pos, *b_seq;
    bool *b_want;
    int *logit_slot;        /* slot of each logits row */
    float *logits;
};

static void request_free(request *r) {
    if (!r) return;
    for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
    free(r->stop);
    free(r->tokens);
    grammar_free(r->gr);
    free(r->gr_after);
    free(r);
}

/* ---- text out: stop strings ---- */

/* Length of the longest tail of text that is a proper prefix of a stop
 * string: that much must wait for the next piece. */
static size_t held_tail(const request *r, const char *text, size_t len) {
    size_t best = 0;
    for (int i = 0; i < r->n_stop; i++) {
        size_t sl = strlen(r->stop[i]);
        for (size_t k = sl - 1 < len ? sl - 1 : len; k > best; k--)
            if (memcmp(text + len - k, r->stop[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/* Appends piece to the held text and sends what is safe; returns true when
 * a stop string was found (the text before it has been sent). */
static bool emit_text(slot *s, const char *piece, size_t n, bool *cancel) {
    request *r = s->req;
    oc_buf_append(&s->held, piece, n);
    size_t len = s->held.len, cut = len, send;
    bool stopped = false;
    for (int i = 0; i < r->n_stop; i++) {
        const char *hit = r->stop[i][0] ? strstr(s->held.data, r->stop[i]) : NULL;
        if (hit && (size_t)(hit - s->held.data) < cut) cut = (size_t)(hit - s->held.data), stopped = true;
    }
    send = stopped ? cut : len - held_tail(r, s->held.data, len);
    if (send > 0 && !r->cb(r->user, s->held.data, send, NULL)) *cancel = true;
    memmove(s->held.data, s->held.data + send, len - send);
    s->held.len = len - send;
    s->held.data[s->held.len] = 0;
    return stopped;
}

/* Sends the text still held back (it did not turn into a stop string),
 * unless the request ended on a stop string, whose text is dropped. */
static void flush_text(slot *s, bool on_stop_string) {
    if (on_stop_string) return;
    tokenizer_stream_flush(&s->ts, &s->held);
    if (s->held.len) s->req->cb(s->req->user, s->held.data, s->held.len, NULL);
}

static void finish_request(engine *e, slot *s, const char *reason, const char *error, bool on_stop_string) {
    request *r = s->req;
    flush_text(s, on_stop_string);
    uint64_t now = oc_now_ns();
    if (!s->t_prompt_done) s->t_prompt_done = now;
    int32_t *context = oc_malloc((size_t)(r->n_tokens + s->n_gen + 1) * sizeof(int32_t));
    memcpy(context, r->tokens, (size_t)r->n_tokens * sizeof(int32_t));
    memcpy(context + r->n_tokens, s->gen, (size_t)s->n_gen * sizeof(int32_t));
    engine_result res = {
        .done_reason = reason, .error = error,
        .prompt_eval_count = s->prompt_eval_count, .prompt_eval_ns = s->t_prompt_done - s->t_start,
        .eval_count = s->n_gen, .eval_ns = now - s->t_prompt_done,
        .context = context, .n_context = r->n_tokens + s->n_gen,
    };
    r->cb(r->user, "", 0, &res);
    free(context);
    sampler_free(s->smp);
    s->smp = NULL;
    grammar_matcher_free(s->gm);
    s->gm = NULL;
    oc_buf_free(&s->gr_tail);
    tokenizer_stream_free(&s->ts);
    oc_buf_free(&s->held);
    request_free(r);
    s->req = NULL;
    atomic_fetch_sub(&e->busy, 1);
}

static void finish(engine *e, slot *s, const char *reason, const char *error) {
    finish_request(e, s, reason, error, false);
}

/* ---- slots ---- */

static int common_prefix(const int32_t *a, int na, const int32_t *b, int nb) {
    int n = 0;
    while (n < na && n < nb && a[n] == b[n]) n++;
    return n;
}

/* Puts r into the free slot whose cache shares the longest prefix with its
 * prompt, so a chat that resends its history only evaluates the new turn. */
static void assign(engine *e, request *r) {
    slot *best = NULL;
    int best_len = -1;
    for (int i = 0; i < e->n_slots; i++) {
        slot *s = &e->slots[i];
        if (s->req) continue;
        int len = common_prefix(s->cache, s->n_cache, r->tokens, r->n_tokens);
        if (len > s->reuse_limit) len = s->reuse_limit;
        /* At least one prompt token is evaluated: its logits start the
         * reply. And a sliding-window ring (or its checkpoint, at an
         * earlier point) must still hold the window before the start. */
        len = model_kv_reusable(e->m, i, len < r->n_tokens ? len : r->n_tokens - 1);
        if (len > best_len) best = &e->slots[i], best_len = len;
    }
    slot *s = best;
    s->req = r;
    /* a sliding-window ring may need its checkpoint put back for that */
    s->n_prompt_done = model_kv_resume(e->m, (int)(s - e->slots), best_len);
    oc_log(OC_LOG_DEBUG, "loading cache slot id=%d cache=%d prompt=%d used=%d remaining=%d", (int)(s - e->slots),
           s->n_cache, r->n_tokens, s->n_prompt_done, r->n_tokens - s->n_prompt_done);
    s->n_cache = s->n_prompt_done;
    s->reuse_limit = e->n_ctx;
    s->prefilling = true;
    s->smp = sampler_new(&r->sampling, e->n_vocab);
    for (int i = 0; i < r->n_tokens; i++) sampler_accept(s->smp, r->tokens[i]);
    if (r->gr && !e->gv) e->gv = grammar_vocab_from_tokenizer(model_tokenizer(e->m), e->n_vocab);
    s->gm = r->gr && !r->gr_after ? grammar_matcher_new(r->gr) : NULL;
    tokenizer_stream_init(&s->ts, model_tokenizer(e->m), false);
    s->ts.first = false;
    s->held = (oc_buf){0};
    s->n_gen = 0;
    s->prompt_eval_count = r->n_tokens - s->n_prompt_done;
    s->t_start = oc_now_ns();
    s->t_prompt_done = 0;
}

static void take_queued(engine *e) {
    for (int i = 0; i < e->n_slots && e->queue_head; i++) {
        if (e->slots[i].req) continue;
        request *r = e->queue_head;
        e->queue_head = r->next;
        if (!e->queue_head) e->queue_tail = NULL;
        assign(e, r);
        i = -1; /* assign may have picked another free slot; rescan */
    }
}

/* ---- one step ---- */

static void add_token(engine *e, int *n, slot *s, int32_t tok, bool want) {
    int seq = (int)(s - e->slots);
    e->b_tok[*n] = tok;
    e->b_pos[*n] = s->n_cache;
    e->b_seq[*n] = seq;
    e->b_want[*n] = want;
    s->cache[s->n_cache++] = tok;
    (*n)++;
}

/* Decode tokens first (one each), then prompt chunks in the room left. */
static int build_batch(engine *e, int *n_logits) {
    int n = 0, budget = model_n_batch(e->m);
    *n_logits = 0;
    for (int i = 0; i < e->n_slots && n < budget; i++) {
        slot *s = &e->slots[i];
        if (!s->req || s->prefilling) continue;
        add_token(e, &n, s, s->next_token, true);
        e->logit_slot[(*n_logits)++] = i;
    }
    for (int i = 0; i < e->n_slots && n < budget; i++) {
        slot *s = &e->slots[i];
        if (!s->req || !s->prefilling) continue;
        request *r = s->req;
        int chunk = r->n_tokens - s->n_prompt_done;
        if (chunk > budget - n) chunk = budget - n;
        for (int k = 0; k < chunk; k++) {
            bool last = s->n_prompt_done + 1 == r->n_tokens;
            add_token(e, &n, s, r->tokens[s->n_prompt_done++], last);
            if (last) e->logit_slot[(*n_logits)++] = i;
        }
    }
    return n;
}

static void push_generated(slot *s, int32_t t) {
    if (s->n_gen == s->gen_cap) {
        s->gen_cap = s->gen_cap ? 2 * s->gen_cap : 256;
        s->gen = oc_realloc(s->gen, (size_t)s->gen_cap * sizeof(int32_t));
    }
    s->gen[s->n_gen++] = t;
}

/* The context is full: keep the first num_keep tokens (and BOS), drop half
 * of the rest, as llama.cpp's server does for Ollama. False when the
 * request asked for no shift or nothing can be dropped. */
static bool shift_context(engine *e, slot *s) {
    request *r = s->req;
    if (r->no_shift) return false;
    int keep = r->num_keep < 0 ? r->n_tokens : r->num_keep;
    if (tokenizer_add_bos(model_tokenizer(e->m))) keep++;
    if (keep > e->n_ctx - 4) keep = e->n_ctx - 4;
    if (keep < 0) keep = 0;
    int discard = (s->n_cache - keep) / 2;
    oc_error err;
    if (discard < 1 || model_kv_shift(e->m, (int)(s - e->slots), keep, discard, s->n_cache, &err) != 0) return false;
    memmove(s->cache + keep, s->cache + keep + discard, (size_t)(s->n_cache - keep - discard) * sizeof(int32_t));
    s->n_cache -= discard;
    /* The moved entries were computed with the dropped tokens in view: a
     * later prompt must not take them for a fresh evaluation. */
    s->reuse_limit = keep;
    return true;
}

/* Samples under the request's grammar, with the tokens left (this one
 * included) as the budget it must close within: num_predict (open-ended
 * counts as 10 contexts, upstream's bound) and, without context shift,
 * the room left in the context. */
static int32_t sample_constrained(engine *e, slot *s, float *logits) {
    const request *r = s->req;
    long left = (r->num_predict >= 0 ? r->num_predict : 10L * e->n_ctx) - s->n_gen;
    if (r->no_shift && e->n_ctx - s->n_cache + 1 < left) left = e->n_ctx - s->n_cache + 1;
    return grammar_sample(s->gm, e->gv, s->smp, logits, left < 0 ? 0 : (int)left);
}

/* A request whose format applies after its thinking: starts the matcher
 * once the close tag has appeared (text after it in the same piece stays
 * unconstrained: it cannot be unsaid, and is whitespace in practice). */
static void watch_grammar_start(slot *s, const char *piece, size_t n) {
    const char *tag = s->req->gr_after;
    oc_buf_append(&s->gr_tail, piece, n);
    if (strstr(s->gr_tail.data, tag)) {
        s->gm = grammar_matcher_new(s->req->gr);
        oc_buf_free(&s->gr_tail);
        return;
    }
    size_t keep = strlen(tag) - 1;
    if (s->gr_tail.len > keep) {
        memmove(s->gr_tail.data, s->gr_tail.data + s->gr_tail.len - keep, keep + 1);
        s->gr_tail.len = keep;
    }
}

/* Handles the token sampled for slot s; finishes the request when done. */
static void advance(engine *e, slot *s, float *logits) {
    request *r = s->req;
    const tokenizer *tok = model_tokenizer(e->m);
    if (s->prefilling) {
        s->prefilling = false;
        s->t_prompt_done = oc_now_ns();
        /* the next turn of a chat parts from this one about here */
        model_kv_checkpoint(e->m, (int)(s - e->slots));
    }
    int32_t t = s->gm ? sample_constrained(e, s, logits) : sampler_sample(s->smp, logits);
    if (t == GRAMMAR_DONE) return finish(e, s, "stop", NULL);
    if (t < 0 && s->gm) return finish(e, s, "stop", "no token can continue the output in the requested format");
    if (t < 0) return finish(e, s, "stop", "the model produced invalid logits");
    if (tokenizer_is_eog(tok, t)) return finish(e, s, "stop", NULL);
    if (s->gm) grammar_accept_token(s->gm, e->gv, t);
    sampler_accept(s->smp, t);
    push_generated(s, t);
    oc_buf piece = {0};
    tokenizer_stream_push(&s->ts, t, &piece);
    if (r->gr && !s->gm && piece.len) watch_grammar_start(s, piece.data, piece.len);
    bool cancel = false;
    bool stopped = emit_text(s, piece.data ? piece.data : "", piece.len, &cancel);
    oc_buf_free(&piece);
    if (cancel) return finish(e, s, "cancel", NULL);
    if (stopped) return finish_request(e, s, "stop", NULL, true);
    if (s->gm && grammar_matcher_final(s->gm)) return finish(e, s, "stop", NULL);
    if (r->num_predict >= 0 && s->n_gen >= r->num_predict) return finish(e, s, "length", NULL);
    if (s->n_cache >= e->n_ctx && !shift_context(e, s)) return finish(e, s, "length", NULL);
    s->next_token = t;
}

static void fail_active(engine *e, const char *msg) {
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].req) finish(e, &e->slots[i], "stop", msg);
}

static void step(engine *e) {
    int n_logits;
    int n = build_batch(e, &n_logits);
    if (n == 0) return;
    model_batch b = {.n = n, .tokens = e->b_tok, .pos = e->b_pos, .seq = e->b_seq, .logits = e->b_want};
    oc_error err;
    if (model_decode(e->m, &b, e->logits, &err) != 0) return fail_active(e, err.msg);
    for (int k = 0; k < n_logits; k++)
        advance(e, &e->slots[e->logit_slot[k]], e->logits + (size_t)k * e->n_vocab);
}

static bool any_active(const engine *e) {
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].req) return true;
    return false;
}

static void *runner_main(void *arg) {
    engine *e = arg;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->stopping && !e->queue_head && !any_active(e)) pthread_cond_wait(&e->wake, &e->mu);
        bool stopping = e->stopping;
        if (!stopping) take_queued(e);
        pthread_mutex_unlock(&e->mu);
        if (stopping) break;
        step(e);
    }
    return NULL;
}

/* ---- API ---- */

engine *engine_new(model *m, int n_parallel) {
    engine *e = oc_calloc(1, sizeof *e);
    e->m = m;
    e->n_slots = n_parallel < 1 ? 1 : n_parallel;
    if (e->n_slots > model_n_seq(m)) e->n_slots = model_n_seq(m);
    e->n_ctx = model_n_ctx(m);
    e->n_vocab = model_hparams_of(m)->n_vocab;
    e->slots = oc_calloc((size_t)e->n_slots, sizeof(slot));
    for (int i = 0; i < e->n_slots; i++) {
        e->slots[i].cache = oc_malloc((size_t)e->n_ctx * sizeof(int32_t));
    }
    int nb = model_n_batch(m);
    e->b_tok = oc_malloc((size_t)nb * sizeof(int32_t));
    e->b_pos = oc_malloc((size_t)nb * sizeof(int32_t));
    e->b_seq = oc_malloc((size_t)nb * sizeof(int32_t));
    e->b_want = oc_malloc((size_t)nb * sizeof(bool));
    e->logit_slot = oc_malloc((size_t)e->n_slots * sizeof(int));
    e->logits = oc_malloc((size_t)e->n_slots * e->n_vocab * sizeof(float));
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->wake, NULL);
    pthread_create(&e->thread, NULL, runner_main, e);
    return e;
}

void engine_free(engine *e) {
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].req) finish(e, &e->slots[i], "cancel", NULL);
    for (request *r = e->queue_head, *next; r; r = next) {
        next = r->next;
        engine_result res = {.done_reason = "cancel"};
        r->cb(r->user, "", 0, &res);
        request_free(r);
    }
    for (int i = 0; i < e->n_slots; i++) {
        free(e->slots[i].cache);
        free(e->slots[i].gen);
    }
    free(e->slots);
    grammar_vocab_free(e->gv);
    free(e->b_tok);
    free(e->b_pos);
    free(e->b_seq);
    free(e->b_want);
    free(e->logit_slot);
    free(e->logits);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->wake);
    free(e);
}

int engine_submit(engine *e, const engine_request *in, engine_piece_fn cb, void *user, oc_error *err) {
    if (in->n_tokens <= 0) return oc_fail(err, "empty prompt");
    if (in->n_tokens >= e->n_ctx)
        return oc_fail(err, "prompt of %d tokens does not fit the context of %d", in->n_tokens, e->n_ctx);
    request *r = oc_calloc(1, sizeof *r);
    r->tokens = oc_malloc((size_t)in->n_tokens * sizeof(int32_t));
    memcpy(r->tokens, in->tokens, (size_t)in->n_tokens * sizeof(int32_t));
    r->n_tokens = in->n_tokens;
    r->sampling = in->sampling;
    r->num_predict = in->num_predict;
    r->num_keep = in->num_keep;
    r->no_shift = in->no_shift;
    r->stop = oc_calloc((size_t)in->n_stop + 1, sizeof(char *));
    for (int i = 0; i < in->n_stop; i++)
        if (in->stop[i] && in->stop[i][0]) r->stop[r->n_stop++] = oc_strdup(in->stop[i]);
    r->gr = in->grammar;
    r->gr_after = in->grammar && in->grammar_after && *in->grammar_after ? oc_strdup(in->grammar_after) : NULL;
    r->cb = cb;
    r->user = user;
    atomic_fetch_add(&e->busy, 1);
    pthread_mutex_lock(&e->mu);
    if (e->queue_tail) e->queue_tail->next = r;
    else e->queue_head = r;
    e->queue_tail = r;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

bool engine_on_runner_thread(const engine *e) { return pthread_equal(pthread_self(), e->thread) != 0; }

int engine_busy(const engine *e) { return atomic_load(&((engine *)e)->busy); }

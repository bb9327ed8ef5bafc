/* engine: the runner of one loaded model.
 * Owns sequences (one per request) and the runner thread that decodes them
 * together: each step assembles one batch of prompt chunks and decode
 * tokens of every active sequence (continuous batching: a new request joins
 * the running batch at the next step), samples a token per sequence,
 * detokenises it, withholds and applies stop strings, enforces num_predict
 * and the context size, reuses the longest cached prompt prefix of a free
 * slot, constrains sampling by the request's grammar (`format`: the
 * output ends as soon as the grammar is complete and nothing may follow,
 * and closes in time for num_predict and the context), and hands text to
 * the requester through a callback. */
#ifndef OLLAMA_ENGINE_H
#define OLLAMA_ENGINE_H

#include "grammar/grammar.h"
#include "model/model.h"
#include "sample/sample.h"

typedef struct engine engine;

typedef struct engine_request {
    const int32_t *tokens;   /* the prompt (copied on submit) */
    int n_tokens;
    sample_params sampling;
    int num_predict;         /* tokens to generate; < 0: until the end (or the context is full and shift is off) */
    int num_keep;            /* tokens kept at the start when the context shifts (BOS included) */
    bool no_shift;           /* end with "length" instead of shifting the context when it is full */
    const char *const *stop; /* stop strings (copied), n_stop of them */
    int n_stop;
    grammar *grammar;        /* output constraint (`format`) or NULL; the engine
                                owns it once engine_submit succeeds */
    const char *grammar_after; /* constrain only after this text (a thinking
                                  close tag) appears in the output; NULL: from
                                  the first token (copied) */
} engine_request;

/* What a finished request reports. */
typedef struct engine_result {
    const char *done_reason;  /* "stop", "length" or "cancel"; NULL while running */
    const char *error;        /* set when the request failed */
    int prompt_eval_count;    /* prompt tokens evaluated (cached prefix excluded) */
    uint64_t prompt_eval_ns;
    int eval_count;           /* tokens generated */
    uint64_t eval_ns;
    const int32_t *context;   /* prompt + generated tokens, n_context of them */
    int n_context;
} engine_result;

/* Called on the runner thread with each new piece of text (valid UTF-8,
 * possibly empty), and a last time with final set. Returning false cancels
 * the request (e.g. the client went away); a cancelled request still gets
 * its final call. The callback must not block for long: it holds up every
 * sequence of the batch. */
typedef bool (*engine_piece_fn)(void *user, const char *text, size_t len, const engine_result *final);

/* Starts a runner over m with n_parallel sequence slots (m must have been
 * loaded with n_seq >= n_parallel). The engine does not own the model. */
engine *engine_new(model *m, int n_parallel);
/* Stops the runner; requests still running are cancelled first. */
void engine_free(engine *e);
/* Queues a request; fails when the prompt is empty or longer than the
 * context. Requests beyond the free slots wait for one. */
int engine_submit(engine *e, const engine_request *r, engine_piece_fn cb, void *user, oc_error *err);
/* Requests running or waiting. */
int engine_busy(const engine *e);
/* Whether the caller is the runner thread (inside a piece callback): it
 * must not free its own engine there. */
bool engine_on_runner_thread(const engine *e);

#endif

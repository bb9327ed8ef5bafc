/* api: /api/embed (batched, L2-normalised, truncation, dimensions) and the
 * legacy /api/embeddings (one raw vector). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

typedef struct embed_inputs {
    int32_t **ids;
    int *n;
    int count, total;
} embed_inputs;

static void inputs_free(embed_inputs *in) {
    for (int i = 0; i < in->count; i++) free(in->ids[i]);
    free(in->ids);
    free(in->n);
}

/* Tokenises every input; over-long ones are cut (keeping the final SEP/EOS
 * token) or refused. Returns an HTTP status, 0 when fine. */
static int tokenize_inputs(model *m, const json_t *input, bool truncate, embed_inputs *in, oc_error *err) {
    int n_in = json_is_string(input) ? 1 : (int)json_array_size(input);
    in->ids = oc_calloc((size_t)n_in, sizeof(int32_t *));
    in->n = oc_calloc((size_t)n_in, sizeof(int));
    int limit = model_n_ctx(m) < model_n_batch(m) ? model_n_ctx(m) : model_n_batch(m);
    for (int i = 0; i < n_in; i++, in->count++) {
        const char *text = json_is_string(input) ? json_string_value(input) : json_string_value(json_array_get(input, i));
        int n = tokenizer_encode(model_tokenizer(m), text, strlen(text), true, false, &in->ids[i], err);
        if (n < 0) return 500;
        if (n > limit) {
            if (!truncate) return oc_fail(err, "the input length exceeds the context length"), 400;
            in->ids[i][limit - 1] = in->ids[i][n - 1];
            n = limit;
        }
        in->n[i] = n;
        in->total += n;
    }
    return 0;
}

/* Runs the inputs in batches of at most n_batch tokens; out gets one
 * pooled vector per input. */
static int embed_all(model *m, const embed_inputs *in, float *out, oc_error *err) {
    int nb = model_n_batch(m), E = model_hparams_of(m)->n_embd;
    int32_t *tok = oc_malloc((size_t)nb * sizeof(int32_t)), *pos = oc_malloc((size_t)nb * sizeof(int32_t));
    int32_t *seq = oc_malloc((size_t)nb * sizeof(int32_t));
    int rc = 0;
    for (int first = 0; first < in->count && rc == 0;) {
        int n = 0, last = first;
        while (last < in->count && n + in->n[last] <= nb) {
            for (int k = 0; k < in->n[last]; k++) tok[n] = in->ids[last][k], pos[n] = k, seq[n++] = last;
            last++;
        }
        model_batch b = {.n = n, .tokens = tok, .pos = pos, .seq = seq};
        rc = model_embed(m, &b, out + (size_t)first * E, err);
        first = last;
    }
    free(tok);
    free(pos);
    free(seq);
    return rc;
}

static json_t *vector_json(const float *v, int n, bool normalise, int dims) {
    if (dims > 0 && dims < n) n = dims;
    double norm = 0;
    for (int i = 0; i < n; i++) norm += (double)v[i] * v[i];
    norm = sqrt(norm);
    if (norm < 1e-12) norm = 1e-12;
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_real(normalise ? (float)(v[i] / norm) : v[i]));
    return a;
}

static bool valid_input(const json_t *input) {
    if (!input || json_is_null(input) || json_is_string(input)) return true;
    if (!json_is_array(input)) return false;
    size_t i;
    json_t *e;
    json_array_foreach(input, i, e) if (!json_is_string(e)) return false;
    return true;
}

static bool empty_input(const json_t *input) {
    return !input || json_is_null(input) || (json_is_string(input) && !*json_string_value(input)) ||
           (json_is_array(input) && json_array_size(input) == 0);
}

/* Shared by both endpoints: loads the model and embeds input. */
static int run_embed(api_ctx *ctx, api_model *am, const json_t *body, const json_t *input, bool truncate,
                     float **out, int *n_embd, embed_inputs *in, uint64_t *load_ns, oc_error *err) {
    api_options o;
    api_options_default(&o);
    int status = 500;
    if (api_options_apply(&o, am->m.params, err) || api_options_apply(&o, json_object_get(body, "options"), err))
        return api_options_free(&o), 500;
    int64_t keep_alive;
    if (api_parse_keep_alive(json_object_get(body, "keep_alive"), &keep_alive, err)) return api_options_free(&o), 400;
    sched_load_opts lo = {.num_ctx = o.num_ctx, .num_batch = o.num_batch, .num_thread = o.num_thread};
    api_options_free(&o);
    sched_runner *r = sched_acquire(ctx->sc, am->canonical, am->m.model_path, &lo, load_ns, &status, err);
    if (!r) return status;
    model *m = sched_runner_model(r);
    *n_embd = model_hparams_of(m)->n_embd;
    status = 0;
    if (!empty_input(input)) {
        status = tokenize_inputs(m, input, truncate, in, err);
        if (!status) {
            *out = oc_malloc((size_t)in->count * model_hparams_of(m)->n_embd * sizeof(float));
            if (embed_all(m, in, *out, err)) status = 400;
        }
    }
    sched_release(ctx->sc, r, keep_alive);
    return status;
}

void api_handle_embed(server_request *req, server_response *res, void *ctx) {
    uint64_t t0 = oc_now_ns(), load_ns = 0;
    json_t *body = server_request_json(req);
    const json_t *input = json_object_get(body, "input");
    if (!valid_input(input)) return server_respond_error(res, 400, "invalid input type");
    api_model am;
    if (api_model_open(ctx, json_string_value(json_object_get(body, "model")), &am, res, 404, "model '' not found",
                       "model \"%s\" not found, try pulling it first"))
        return;
    float *vecs = NULL;
    embed_inputs in = {0};
    oc_error err;
    int E = 0;
    bool truncate = !json_is_false(json_object_get(body, "truncate"));
    int status = run_embed(ctx, &am, body, input, truncate, &vecs, &E, &in, &load_ns, &err);
    if (status) {
        server_respond_error(res, status, "%s", err.msg);
    } else {
        int dims = (int)json_integer_value(json_object_get(body, "dimensions"));
        json_t *embs = json_array();
        for (int i = 0; i < in.count; i++) json_array_append_new(embs, vector_json(vecs + (size_t)i * E, E, true, dims));
        json_t *o = json_pack("{s:s,s:o}", "model", am.requested, "embeddings", embs);
        if (in.count) {
            json_object_set_new(o, "total_duration", json_integer((json_int_t)(oc_now_ns() - t0)));
            if (load_ns) json_object_set_new(o, "load_duration", json_integer((json_int_t)load_ns));
            json_object_set_new(o, "prompt_eval_count", json_integer(in.total));
        }
        server_respond_json(res, 200, o);
    }
    free(vecs);
    inputs_free(&in);
    api_model_close(&am);
}

void api_handle_embeddings(server_request *req, server_response *res, void *ctx) {
    uint64_t load_ns;
    json_t *body = server_request_json(req);
    api_model am;
    if (api_model_open(ctx, json_string_value(json_object_get(body, "model")), &am, res, 400, "model is required",
                       "model \"%s\" not found, try pulling it first"))
        return;
    const json_t *prompt = json_object_get(body, "prompt");
    float *vecs = NULL;
    embed_inputs in = {0};
    oc_error err;
    int E = 0;
    int status = run_embed(ctx, &am, body, json_is_string(prompt) ? prompt : NULL, false, &vecs, &E, &in, &load_ns, &err);
    if (status) server_respond_error(res, status == 400 ? 500 : status, "%s", err.msg);
    else server_respond_json(res, 200, json_pack("{s:o}", "embedding", in.count ? vector_json(vecs, E, false, 0) : json_array()));
    free(vecs);
    inputs_free(&in);
    api_model_close(&am);
}

/* api: request options (§2.6 of the API spec), keep_alive and think. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "sched/sched.h"

enum opt_kind { OPT_INT, OPT_INT64, OPT_FLOAT, OPT_BOOL };

typedef struct opt_field {
    const char *key;
    enum opt_kind kind;
    size_t offset;
} opt_field;

#define F(key, kind, field) {key, kind, offsetof(api_options, field)}
static const opt_field FIELDS[] = {
    F("num_ctx", OPT_INT, num_ctx), F("num_predict", OPT_INT, num_predict), F("num_keep", OPT_INT, num_keep),
    F("num_batch", OPT_INT, num_batch), F("num_thread", OPT_INT, num_thread), F("num_gpu", OPT_INT, num_gpu),
    F("main_gpu", OPT_INT, main_gpu), F("repeat_last_n", OPT_INT, repeat_last_n), F("top_k", OPT_INT, top_k),
    F("seed", OPT_INT64, seed), F("temperature", OPT_FLOAT, temperature), F("top_p", OPT_FLOAT, top_p),
    F("min_p", OPT_FLOAT, min_p), F("typical_p", OPT_FLOAT, typical_p),
    F("repeat_penalty", OPT_FLOAT, repeat_penalty), F("presence_penalty", OPT_FLOAT, presence_penalty),
    F("frequency_penalty", OPT_FLOAT, frequency_penalty), F("use_mmap", OPT_BOOL, use_mmap),
};
#undef F

void api_options_default(api_options *o) {
    memset(o, 0, sizeof *o);
    const char *ctx = getenv("OLLAMA_CONTEXT_LENGTH");
    int env_ctx = ctx ? atoi(ctx) : 0;
    o->num_ctx = env_ctx > 0 ? env_ctx : 4096;
    o->num_predict = -1;
    o->num_keep = 4;
    o->num_batch = 512;
    o->num_gpu = -1;
    o->main_gpu = -1;
    o->seed = -1;
    o->temperature = 0.8f;
    o->top_k = 40;
    o->top_p = 0.9f;
    o->typical_p = 1.0f;
    o->repeat_last_n = 64;
    o->repeat_penalty = 1.0f;
}

static void clear_stop(api_options *o) {
    for (int i = 0; i < o->n_stop; i++) free(o->stop[i]);
    free(o->stop);
    o->stop = NULL;
    o->n_stop = 0;
}

void api_options_free(api_options *o) { clear_stop(o); }

static int apply_stop(api_options *o, const json_t *v, oc_error *err) {
    if (!json_is_array(v)) return oc_fail(err, "option \"stop\" must be of type array");
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) if (!json_is_string(e)) return oc_fail(err, "option \"stop\" must be of an array of strings");
    clear_stop(o);
    o->stop = oc_calloc(json_array_size(v) + 1, sizeof(char *));
    json_array_foreach(v, i, e) o->stop[o->n_stop++] = oc_strdup(json_string_value(e));
    return 0;
}

static int apply_field(api_options *o, const opt_field *f, const json_t *v, oc_error *err) {
    char *p = (char *)o + f->offset;
    switch (f->kind) {
    case OPT_INT:
    case OPT_INT64: {
        if (!json_is_number(v)) return oc_fail(err, "option \"%s\" must be of type integer", f->key);
        double d = json_number_value(v);
        if (f->kind == OPT_INT) *(int *)p = d > 2147483647.0 ? 2147483647 : d < -2147483648.0 ? INT32_MIN : (int)d;
        else *(int64_t *)p = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (int64_t)d;
        return 0;
    }
    case OPT_FLOAT:
        if (!json_is_number(v)) return oc_fail(err, "option \"%s\" must be of type float32", f->key);
        *(float *)p = (float)json_number_value(v);
        return 0;
    case OPT_BOOL:
        if (!json_is_boolean(v)) return oc_fail(err, "option \"%s\" must be of type boolean", f->key);
        *(bool *)p = json_is_true(v);
        o->use_mmap_set = true;
        return 0;
    }
    return 0;
}

int api_options_apply(api_options *o, const json_t *layer, oc_error *err) {
    if (!json_is_object(layer)) return 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)layer, key, v) {
        if (json_is_null(v)) continue;
        if (strcmp(key, "stop") == 0) {
            if (apply_stop(o, v, err)) return -1;
            continue;
        }
        for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
            if (strcmp(FIELDS[i].key, key) == 0 && apply_field(o, &FIELDS[i], v, err)) return -1;
    }
    return 0;
}

sample_params api_options_sampling(const api_options *o) {
    sample_params p = sample_default_params();
    p.temperature = o->temperature;
    p.top_k = o->top_k;
    p.top_p = o->top_p;
    p.min_p = o->min_p;
    p.typical_p = o->typical_p;
    p.repeat_last_n = o->repeat_last_n;
    p.repeat_penalty = o->repeat_penalty;
    p.presence_penalty = o->presence_penalty;
    p.frequency_penalty = o->frequency_penalty;
    p.seed = o->seed;
    return p;
}

static const char *go_type_name(const json_t *v) {
    if (json_is_boolean(v)) return "bool";
    if (json_is_object(v)) return "map[string]interface {}";
    if (json_is_array(v)) return "[]interface {}";
    return "unknown";
}

int api_parse_keep_alive(const json_t *v, int64_t *ns, oc_error *err) {
    if (!v || json_is_null(v)) return *ns = SCHED_KEEP_CURRENT, 0;
    if (json_is_number(v)) {
        double secs = json_number_value(v);
        *ns = secs < 0 ? SCHED_FOREVER : secs * 1e9 > 9.2e18 ? SCHED_FOREVER : (int64_t)(secs * 1e9);
        return 0;
    }
    if (json_is_string(v)) {
        if (sched_parse_duration(json_string_value(v), ns, err)) return -1;
        if (*ns < 0) *ns = SCHED_FOREVER;
        return 0;
    }
    return oc_fail(err, "Unsupported type: '%s'", go_type_name(v));
}

int api_parse_think(const json_t *v, api_think *out, oc_error *err) {
    memset(out, 0, sizeof *out);
    if (!v || json_is_null(v)) return 0;
    out->set = true;
    if (json_is_boolean(v)) {
        out->enabled = json_is_true(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        static const char *levels[] = {"high", "medium", "low", "max"};
        for (int i = 0; i < 4; i++)
            if (strcmp(s, levels[i]) == 0) {
                out->enabled = true;
                snprintf(out->level, sizeof out->level, "%s", s);
                return 0;
            }
        return oc_fail(err, "invalid think value: \"%s\" (must be \"high\", \"medium\", \"low\", \"max\", true, or false)", s);
    }
    return oc_fail(err, "think must be a boolean or string (\"high\", \"medium\", \"low\", \"max\", true, or false)");
}

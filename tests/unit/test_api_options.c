/* api: options precedence and coercion with upstream's error texts,
 * keep_alive and think values. */
#include "api/api.h"
#include "check.h"
#include "sched/sched.h"

static json_t *J(const char *text) { return json_loads(text, JSON_DECODE_ANY, NULL); }

static void check_options(void) {
    api_options o;
    api_options_default(&o);
    CHECK_EQ_INT(o.num_predict, -1);
    CHECK_EQ_INT(o.num_keep, 4);
    CHECK_EQ_INT(o.top_k, 40);
    CHECK_NEAR(o.temperature, 0.8, 1e-7);
    CHECK_NEAR(o.repeat_penalty, 1.0, 1e-7);
    CHECK_EQ_INT(o.seed, -1);
    /* Modelfile PARAMETERs, then request options over them. */
    json_t *params = J("{\"temperature\":0.2,\"stop\":[\"<|end|>\",\"User:\"],\"num_ctx\":2048}");
    json_t *req = J("{\"temperature\":0,\"num_predict\":7.9,\"seed\":42,\"unknown\":1,\"mirostat\":2,\"top_k\":null}");
    oc_error err;
    CHECK(api_options_apply(&o, params, &err) == 0);
    CHECK(api_options_apply(&o, req, &err) == 0);
    CHECK_NEAR(o.temperature, 0.0, 1e-9);
    CHECK_EQ_INT(o.num_predict, 7); /* fraction truncated */
    CHECK_EQ_INT(o.num_ctx, 2048);
    CHECK_EQ_INT(o.top_k, 40);      /* null skipped */
    CHECK_EQ_INT(o.n_stop, 2);
    CHECK_EQ_STR(o.stop[1], "User:");
    sample_params sp = api_options_sampling(&o);
    CHECK_EQ_INT(sp.seed, 42);
    struct { const char *json, *msg; } bad[] = {
        {"{\"num_ctx\":\"big\"}", "option \"num_ctx\" must be of type integer"},
        {"{\"temperature\":true}", "option \"temperature\" must be of type float32"},
        {"{\"use_mmap\":1}", "option \"use_mmap\" must be of type boolean"},
        {"{\"stop\":\"x\"}", "option \"stop\" must be of type array"},
        {"{\"stop\":[1]}", "option \"stop\" must be of an array of strings"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = J(bad[i].json);
        CHECK(api_options_apply(&o, b, &err) != 0);
        CHECK_EQ_STR(err.msg, bad[i].msg);
        json_decref(b);
    }
    json_decref(params);
    json_decref(req);
    api_options_free(&o);
}

static void check_keep_alive(void) {
    struct { const char *json; int64_t ns; } ok[] = {
        {"0", 0}, {"0.5", 500000000LL}, {"300", 300000000000LL}, {"-1", SCHED_FOREVER},
        {"\"5m\"", 300000000000LL}, {"\"0\"", 0}, {"\"-1m\"", SCHED_FOREVER}, {"null", SCHED_KEEP_CURRENT},
    };
    oc_error err;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_t *v = J(ok[i].json);
        int64_t ns = 1;
        CHECK_MSG(api_parse_keep_alive(v, &ns, &err) == 0 && ns == ok[i].ns, "%s", ok[i].json);
        json_decref(v);
    }
    CHECK(api_parse_keep_alive(NULL, &(int64_t){0}, &err) == 0);
    struct { const char *json, *msg; } bad[] = {
        {"\"abc\"", "time: invalid duration \"abc\""}, {"\"300\"", "time: missing unit in duration \"300\""},
        {"\"-1\"", "time: missing unit in duration \"-1\""}, {"true", "Unsupported type: 'bool'"},
        {"{}", "Unsupported type: 'map[string]interface {}'"}, {"[]", "Unsupported type: '[]interface {}'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = J(bad[i].json);
        int64_t ns;
        CHECK(api_parse_keep_alive(v, &ns, &err) != 0);
        CHECK_EQ_STR(err.msg, bad[i].msg);
        json_decref(v);
    }
}

static void check_think(void) {
    api_think t;
    oc_error err;
    json_t *v = J("\"high\"");
    CHECK(api_parse_think(v, &t, &err) == 0 && t.set && t.enabled && strcmp(t.level, "high") == 0);
    json_decref(v);
    v = J("false");
    CHECK(api_parse_think(v, &t, &err) == 0 && t.set && !t.enabled);
    json_decref(v);
    CHECK(api_parse_think(NULL, &t, &err) == 0 && !t.set);
    v = J("\"extreme\"");
    CHECK(api_parse_think(v, &t, &err) != 0);
    CHECK_EQ_STR(err.msg, "invalid think value: \"extreme\" (must be \"high\", \"medium\", \"low\", \"max\", true, or false)");
    json_decref(v);
    v = J("3");
    CHECK(api_parse_think(v, &t, &err) != 0);
    CHECK_EQ_STR(err.msg, "think must be a boolean or string (\"high\", \"medium\", \"low\", \"max\", true, or false)");
    json_decref(v);
}

int main(void) {
    check_options();
    check_keep_alive();
    check_think();
    return check_done();
}

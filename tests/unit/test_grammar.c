/* Unit tests for grammar: the matcher on byte strings (UTF-8, completion,
 * distance), schema errors, mask == per-token check, and sampling from
 * random logits under 20+ schemas, every output checked by a small JSON
 * Schema validator for the supported subset (PCRE2 for patterns). */
#include "grammar/grammar.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <pthread.h>

#include "engine/engine.h"

#include "check.h"

/* ---- a validator for the subset ---- */

static const json_t *ROOT;
static bool valid(const json_t *v, const json_t *s);

static bool regex_search(const char *pattern, const char *text) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
    if (!re) return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

static size_t cp_count(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool type_ok(const json_t *v, const char *t) {
    if (!strcmp(t, "object")) return json_is_object(v);
    if (!strcmp(t, "array")) return json_is_array(v);
    if (!strcmp(t, "string")) return json_is_string(v);
    if (!strcmp(t, "number")) return json_is_number(v);
    if (!strcmp(t, "integer")) return json_is_integer(v);
    if (!strcmp(t, "boolean")) return json_is_boolean(v);
    if (!strcmp(t, "null")) return json_is_null(v);
    return false;
}

static const char *FORMATS[][2] = {
    {"date", "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"},
    {"uuid", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
    {"time", "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"},
};

static bool string_ok(const json_t *v, const json_t *s) {
    const char *str = json_string_value(v);
    const json_t *k;
    if ((k = json_object_get(s, "minLength")) && cp_count(str) < (size_t)json_integer_value(k)) return false;
    if ((k = json_object_get(s, "maxLength")) && cp_count(str) > (size_t)json_integer_value(k)) return false;
    if ((k = json_object_get(s, "pattern")) && !regex_search(json_string_value(k), str)) return false;
    const char *f = json_string_value(json_object_get(s, "format"));
    for (size_t i = 0; f && i < 3; i++)
        if (!strcmp(f, FORMATS[i][0]) && !regex_search(FORMATS[i][1], str)) return false;
    return true;
}

static bool object_ok(const json_t *v, const json_t *s) {
    const json_t *props = json_object_get(s, "properties"), *add = json_object_get(s, "additionalProperties");
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(s, "required"), i, r) if (!json_object_get(v, json_string_value(r))) return false;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        const json_t *ps = json_object_get(props, key);
        if (ps) {
            if (!valid(val, ps)) return false;
        } else if (json_is_false(add) || (!add && props)) {
            /* our grammar treats absent additionalProperties as false */
            return false;
        } else if (json_is_object(add) && !valid(val, add)) {
            return false;
        }
    }
    return true;
}

static bool array_ok(const json_t *v, const json_t *s) {
    const json_t *k, *items = json_object_get(s, "items"), *prefix = json_object_get(s, "prefixItems");
    if ((k = json_object_get(s, "minItems")) && json_array_size(v) < (size_t)json_integer_value(k)) return false;
    if ((k = json_object_get(s, "maxItems")) && json_array_size(v) > (size_t)json_integer_value(k)) return false;
    size_t np = json_array_size(prefix), i;
    const json_t *e;
    if (prefix && json_array_size(v) < np) return false;
    json_array_foreach(v, i, e) {
        if (i < np) {
            if (!valid(e, json_array_get(prefix, i))) return false;
        } else if (prefix && !items) {
            return false;
        } else if (json_is_object(items) && !valid(e, items)) {
            return false;
        }
    }
    return true;
}

static const json_t *deref(const char *ref) {
    const json_t *cur = ROOT;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ref + 2);
    for (char *save, *tok = strtok_r(buf, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save))
        cur = json_object_get(cur, tok);
    return cur;
}

static bool valid(const json_t *v, const json_t *s) {
    if (json_is_true(s)) return true;
    const json_t *k;
    if ((k = json_object_get(s, "$ref"))) return valid(v, deref(json_string_value(k)));
    if ((k = json_object_get(s, "const")) && !json_equal((json_t *)v, (json_t *)k)) return false;
    if ((k = json_object_get(s, "enum"))) {
        size_t i, hits = 0;
        const json_t *e;
        json_array_foreach(k, i, e) hits += json_equal((json_t *)v, (json_t *)e);
        if (!hits) return false;
    }
    if ((k = json_object_get(s, "anyOf")) || (k = json_object_get(s, "oneOf"))) {
        size_t i, hits = 0;
        const json_t *e;
        json_array_foreach(k, i, e) hits += valid(v, e);
        if (json_object_get(s, "oneOf") ? hits != 1 : hits == 0) return false;
    }
    const json_t *t = json_object_get(s, "type");
    if (json_is_string(t) && !type_ok(v, json_string_value(t))) return false;
    if (json_is_array(t)) {
        size_t i, hits = 0;
        const json_t *e;
        json_array_foreach(t, i, e) hits += type_ok(v, json_string_value(e));
        if (!hits) return false;
    }
    if ((k = json_object_get(s, "minimum")) && json_number_value(v) < json_number_value(k)) return false;
    if ((k = json_object_get(s, "maximum")) && json_number_value(v) > json_number_value(k)) return false;
    if ((k = json_object_get(s, "exclusiveMinimum")) && json_number_value(v) <= json_number_value(k)) return false;
    if ((k = json_object_get(s, "exclusiveMaximum")) && json_number_value(v) >= json_number_value(k)) return false;
    if (json_is_string(v)) return string_ok(v, s);
    if (json_is_object(v)) return object_ok(v, s);
    if (json_is_array(v)) return array_ok(v, s);
    return true;
}

/* ---- a synthetic vocabulary: every byte, JSON-ish pieces, words ---- */

static const char *WORDS[] = {
    "{\"", "\":", "\": ", "\", \"", "\",", "\"}", "}", "{", "[", "]", "[\"", "\"]", ", ", ",", ":", "\"", " ",
    "\n", "\n  ", "  ", "true", "false", "null", "tru", "nul", "0", "1", "12", "123", "-", "-1", ".", ".5",
    "e", "E+", "e-", "name", "age", "color", "red", "green", "blue", "person", "tags", "kind", "a", "b", "x",
    "kids", "v", "id", "\\", "\\\"", "\\n", "\\u", "00", "e9", "D8", "ü", "é", "日本", "語", "\xF0\x9F\x98\x80",
    "Foo", "foo", "bar", "baz", "txt", "md", "2024", "-01", "-15", "T", "Z", "ab", "cd", "-4", "4", "9",
    "hello", " world", "\"\"", "{}", "[]", "[1", ",2", "fg", "Hello", "-12", "ss", "é\"", "\t",
};

#define N_BYTES 255
static const tokenizer *TOK; /* a real vocabulary, or NULL: the synthetic one */
static int n_vocab;
static int EOG;

static grammar_vocab *make_vocab(void) {
    int nw = (int)(sizeof WORDS / sizeof *WORDS);
    n_vocab = N_BYTES + nw + 2;
    const char **p = calloc((size_t)n_vocab, sizeof *p);
    size_t *l = calloc((size_t)n_vocab, sizeof *l);
    bool *e = calloc((size_t)n_vocab, sizeof *e);
    static char bytes[N_BYTES][2];
    for (int i = 0; i < N_BYTES; i++) bytes[i][0] = (char)(i + 1), p[i] = bytes[i], l[i] = 1;
    for (int i = 0; i < nw; i++) p[N_BYTES + i] = WORDS[i], l[N_BYTES + i] = strlen(WORDS[i]);
    p[N_BYTES + nw] = "", l[N_BYTES + nw] = 0;         /* a control token: never allowed */
    EOG = N_BYTES + nw + 1;
    p[EOG] = "", e[EOG] = true;
    grammar_vocab *v = grammar_vocab_new(n_vocab, p, l, e);
    free(p), free(l), free(e);
    return v;
}

static const char *piece_of(int t) {
    static char one[2];
    if (t < N_BYTES) return one[0] = (char)(t + 1), one;
    if (t < N_BYTES + (int)(sizeof WORDS / sizeof *WORDS)) return WORDS[t - N_BYTES];
    return "";
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* Random logits, with byte tokens damped so multi-byte pieces show up. */
static void random_logits(float *l) {
    for (int i = 0; i < n_vocab; i++) l[i] = (float)((double)(next_rand() >> 11) * 0x1.0p-53 * 8.0 - 4.0);
    for (int i = 0; i < N_BYTES && !TOK; i++) l[i] -= 1.5f;
}

/* Generates one output under g; returns it (malloc'ed), NULL if the
 * grammar got stuck. budget: tokens allowed. */
static char *generate(const grammar *g, const grammar_vocab *v, int budget, uint64_t seed, bool *ended) {
    sample_params sp = sample_default_params();
    sp.temperature = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.seed = (int64_t)seed;
    sampler *s = sampler_new(&sp, n_vocab);
    grammar_matcher *m = grammar_matcher_new(g);
    float *l = malloc((size_t)n_vocab * sizeof *l);
    oc_buf out = {0};
    oc_buf_puts(&out, "");
    bool ok = true;
    *ended = false;
    for (int step = 0; step < budget; step++) {
        random_logits(l);
        int32_t t = grammar_sample(m, v, s, l, budget - step);
        if (t == GRAMMAR_DONE || (TOK ? tokenizer_is_eog(TOK, t) : t == EOG)) { *ended = true; break; }
        if (t < 0 || !grammar_accept_token(m, v, t)) { ok = false; break; }
        if (TOK) tokenizer_token_to_piece(TOK, t, false, &out);
        else oc_buf_puts(&out, piece_of(t));
        if (grammar_matcher_final(m)) { *ended = true; break; }
    }
    if (ok && !grammar_matcher_complete(m)) ok = false;
    free(l);
    grammar_matcher_free(m);
    sampler_free(s);
    if (!ok) fprintf(stderr, "incomplete output: %s\n", out.data);
    if (!ok) oc_buf_free(&out);
    return ok ? out.data : NULL;
}

static const char *SCHEMAS[] = {
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}},"
    "\"required\":[\"name\",\"age\"]}",
    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":\"null\"},\"c\":{\"type\":\"number\"}}}",
    "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"},\"y\":{\"type\":\"string\",\"maxLength\":3},"
    "\"z\":{\"type\":\"boolean\"}},\"required\":[\"x\",\"z\"]}",
    "{\"type\":\"object\",\"properties\":{\"color\":{\"enum\":[\"red\",\"green\",\"blue\",1,null]}},\"required\":[\"color\"]}",
    "{\"const\":{\"k\":[1,2,\"x\"],\"é\":\"日本\"}}",
    "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2,\"maxItems\":4}",
    "{\"type\":\"object\",\"properties\":{\"person\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\","
    "\"maxLength\":8},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":3}},\"required\":[\"name\","
    "\"tags\"]}},\"required\":[\"person\"]}",
    "{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\",\"maxLength\":5},{\"type\":\"array\",\"items\":"
    "{\"type\":\"boolean\"},\"maxItems\":2}]}",
    "{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"a\"}},\"required\":[\"kind\"],"
    "\"additionalProperties\":false},{\"type\":\"null\"}]}",
    "{\"type\":\"string\",\"pattern\":\"^[A-Z][a-z]{1,5}-[0-9]{2,3}$\"}",
    "{\"type\":\"string\",\"pattern\":\"^(foo|ba[rz])\\\\d+\\\\.(txt|md)$\"}",
    "{\"type\":\"string\",\"pattern\":\"^[\\\"\\\\\\\\a\\\\n]{1,4}x?$\"}",
    "{\"type\":\"object\",\"properties\":{\"d\":{\"type\":\"string\",\"format\":\"date\"},\"u\":{\"type\":\"string\","
    "\"format\":\"uuid\"},\"t\":{\"type\":\"string\",\"format\":\"time\"}},\"required\":[\"d\",\"u\",\"t\"]}",
    "{\"type\":[\"string\",\"null\",\"boolean\"]}",
    "{\"type\":\"integer\",\"minimum\":-15,\"maximum\":130}",
    "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},\"kids\":{\"type\":\"array\","
    "\"items\":{\"$ref\":\"#/$defs/node\"},\"maxItems\":2}},\"required\":[\"v\"]}},\"$ref\":\"#/$defs/node\"}",
    "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}}",
    "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"},{\"type\":\"boolean\"}]}",
    "{\"type\":\"string\",\"minLength\":3,\"maxLength\":6}",
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000000}},"
    "\"required\":[\"id\"],\"additionalProperties\":false}",
    "{}",
    "{\"type\":\"array\",\"items\":{\"type\":\"number\"}}",
    "{\"type\":\"integer\",\"minimum\":100}",
    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"ab\":{\"type\":\"null\"},\"é\":"
    "{\"type\":\"boolean\"}},\"additionalProperties\":{\"type\":\"string\",\"maxLength\":2}}",
    "{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"number\",\"minimum\":0},\"q\":{\"type\":\"integer\","
    "\"exclusiveMinimum\":-3.5,\"exclusiveMaximum\":7}},\"required\":[\"p\",\"q\"]}",
};

/* Samples outputs under each schema and validates every one. */
static void test_random_outputs(grammar_vocab *v) {
    int n_schemas = (int)(sizeof SCHEMAS / sizeof *SCHEMAS), runs = 20;
    for (int si = -1; si < n_schemas; si++) {
        json_error_t je;
        oc_error err;
        json_t *schema = si < 0 ? NULL : json_loads(SCHEMAS[si], 0, &je);
        grammar *g = si < 0 ? grammar_json_object() : grammar_from_schema(schema, &err);
        CHECK_MSG(g != NULL, "schema %d: %s", si, si < 0 ? "json" : err.msg);
        if (!g) { json_decref(schema); continue; }
        ROOT = schema;
        int good = 0, ended = 0;
        for (int run = 0; run < runs; run++) {
            bool end;
            grammar_matcher *m0 = grammar_matcher_new(g);
            int d0 = grammar_matcher_distance(m0);
            grammar_matcher_free(m0);
            /* tight budgets (the least that can complete, and a little
             * more) and loose ones */
            int budget = run % 2 ? d0 + (int)(next_rand() % 40) : 600;
            char *out = generate(g, v, budget, (uint64_t)(si + 2) * 1000 + (uint64_t)run, &end);
            json_t *val = out ? json_loads(out, JSON_DECODE_ANY, &je) : NULL;
            bool ok = val && (si < 0 ? json_is_object(val) : valid(val, schema));
            if (getenv("GSHOW") && run < 3) fprintf(stderr, "schema %d run %d: %s\n", si, run, out ? out : "");
            if (!ok) fprintf(stderr, "schema %d run %d: %s\n  %s\n", si, run, out ? out : "(stuck)", val ? "invalid" : je.text);
            good += ok, ended += end;
            json_decref(val);
            free(out);
        }
        CHECK_MSG(good == runs, "schema %d: %d of %d outputs valid", si, good, runs);
        grammar_free(g);
        json_decref(schema);
    }
}

static grammar *schema_of(const char *text, oc_error *err) {
    json_error_t je;
    json_t *s = json_loads(text, JSON_DECODE_ANY, &je);
    grammar *g = s ? grammar_from_schema(s, err) : NULL;
    json_decref(s);
    return g;
}

static bool accepts(const grammar *g, const char *text, bool *complete) {
    grammar_matcher *m = grammar_matcher_new(g);
    bool ok = grammar_matcher_accept_bytes(m, text, strlen(text));
    if (complete) *complete = grammar_matcher_complete(m);
    grammar_matcher_free(m);
    return ok;
}

static void test_matcher(void) {
    oc_error err;
    grammar *g = schema_of("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}},"
                           "\"required\":[\"a\"]}", &err);
    CHECK(g != NULL);
    bool c;
    CHECK(accepts(g, "{\"a\":\"x\"}", &c) && c);
    CHECK(accepts(g, "{ \"a\" : \"é日\\n\\u00e9\" , \"b\": -12 }\n  ", &c) && c);
    CHECK(accepts(g, "{\"a\":\"x\"", &c) && !c);
    CHECK(!accepts(g, "{\"b\":1,\"a\":\"x\"}", NULL)); /* order follows the schema */
    CHECK(!accepts(g, " {\"a\":\"x\"}", NULL));       /* no leading whitespace */
    CHECK(!accepts(g, "{\"a\":\"\x01\"}", NULL));     /* raw control char */
    CHECK(!accepts(g, "{\"a\":\"\xFF\"}", NULL));     /* invalid UTF-8 */
    CHECK(!accepts(g, "{\"a\":\"\xC0\xAF\"}", NULL)); /* overlong */
    CHECK(!accepts(g, "{\"a\":\"\\uD800\"}", NULL));  /* lone surrogate escape */
    CHECK(accepts(g, "{\"a\":\"\xE6\x97", &c) && !c); /* partial code point */
    CHECK(!accepts(g, "{\"a\":\"x\",\"b\":01}", NULL));
    CHECK(accepts(g, "{\"a\":\"x\"}\n       ", &c) && c);
    CHECK(!accepts(g, "{\"a\":\"x\"}  ", NULL)); /* bounded whitespace */
    CHECK(accepts(g, "{\"a\":\n\n\t\"x\"}", &c) && c && !accepts(g, "{\"a\":\n\n\n", NULL));
    grammar_matcher *m = grammar_matcher_new(g);
    CHECK_EQ_INT(grammar_matcher_distance(m), 8); /* {"a":""} */
    CHECK(grammar_matcher_accept_bytes(m, "{\"a\":\"xy", 8));
    CHECK_EQ_INT(grammar_matcher_distance(m), 2); /* "} */
    CHECK(!grammar_matcher_accept_bytes(m, "\x7F", 1));
    CHECK(grammar_matcher_accept_bytes(m, "\"}", 2));
    CHECK(grammar_matcher_complete(m) && !grammar_matcher_final(m)); /* whitespace may follow */
    CHECK(grammar_matcher_accept_bytes(m, "\n\t\t", 3));
    CHECK_EQ_INT(grammar_matcher_distance(m), 0);
    grammar_matcher_free(m);
    grammar_free(g);

    /* a pattern class admits no Latin-1 letter: its lead byte is refused */
    g = schema_of("{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}", &err);
    CHECK(g && accepts(g, "\"abc\"", &c) && c);
    CHECK(g && !accepts(g, "\"a\xC3", NULL));
    CHECK(g && !accepts(g, "\"\"", NULL));
    grammar_free(g);
    g = schema_of("{\"enum\":[\"é\",2]}", &err);
    CHECK(g && accepts(g, "\"\xC3", NULL) && !accepts(g, "\"\xC4", NULL) && accepts(g, "2", &c) && c);
    grammar_free(g);
    g = schema_of("{\"type\":\"integer\",\"minimum\":-15,\"maximum\":130}", &err);
    const char *in[] = {"-15", "-9", "0", "7", "99", "100", "129", "130"};
    const char *out[] = {"-16", "-0", "131", "200", "1000", "00", "01", "-100"};
    for (int i = 0; i < 8; i++) {
        CHECK_MSG(accepts(g, in[i], &c) && c, "%s", in[i]);
        CHECK_MSG(!accepts(g, out[i], &c) || !c, "%s", out[i]);
    }
    grammar_free(g);
    /* extra keys never spell a declared name */
    g = schema_of("{\"properties\":{\"a\":{\"type\":\"integer\"},\"ab\":{\"type\":\"null\"}},"
                  "\"additionalProperties\":{\"type\":\"string\"}}", &err);
    CHECK(g && accepts(g, "{\"a\":1,\"b\":\"x\",\"abc\":\"y\",\"\":\"z\",\"A\":\"\"}", &c) && c);
    CHECK(g && accepts(g, "{\"ab\":null}", &c) && c);
    CHECK(g && !accepts(g, "{\"a\":1,\"a\":", NULL) && !accepts(g, "{\"ab\":null,\"a\":", NULL));
    CHECK(g && !accepts(g, "{\"a\":1,\"b\\u0061\"", NULL)); /* plain extra keys only */
    CHECK(g && accepts(g, "{\"a\":1,\"ab\":null,\"ab \":\"\"}", &c) && c);
    grammar_free(g);
    g = grammar_json_object();
    CHECK(accepts(g, "{\"k\":[1,{\"x\":null},\"s\",true,-0.5e+10]}", &c) && c);
    CHECK(!accepts(g, "[]", NULL) && !accepts(g, "\"s\"", NULL));
    grammar_free(g);
}

static void test_errors(void) {
    static const char *bad[][2] = {
        {"{\"allOf\":[{}]}", "allOf"},
        {"{\"type\":\"number\",\"minimum\":0.5}", "bounds"},
        {"{\"type\":\"number\",\"maximum\":3}", "bounds"},
        {"{\"type\":\"string\",\"minimum\":3}", "minimum/maximum"},
        {"{\"type\":\"integer\",\"exclusiveMinimum\":4,\"maximum\":4}", "no integer"},
        {"{\"type\":\"date\"}", "unsupported JSON schema type"},
        {"{\"type\":\"string\",\"pattern\":\"^(?=a)b$\"}", "lookaround"},
        {"{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}", "backreference"},
        {"{\"type\":\"string\",\"pattern\":\"[a-\"}", "unterminated"},
        {"{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}", "smaller"},
        {"{\"type\":\"array\",\"minItems\":-1}", "non-negative"},
        {"{\"$ref\":\"https://x/y.json\"}", "$ref"},
        {"{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}", "left recursion"},
        {"{\"type\":\"array\",\"uniqueItems\":true}", "uniqueItems"},
        {"{\"enum\":[]}", "non-empty"},
        {"false", "nothing"},
        {"{\"type\":\"string\",\"maxLength\":100000000}", "larger"},
        {"{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}", "no integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        oc_error err = {{0}};
        grammar *g = schema_of(bad[i][0], &err);
        CHECK_MSG(!g && strstr(err.msg, bad[i][1]), "%s -> %s", bad[i][0], g ? "compiled" : err.msg);
        grammar_free(g);
    }
}

/* The trie walk allows exactly the tokens the one-token check allows. */
static void test_mask_matches_check(grammar_vocab *v) {
    oc_error err;
    grammar *g = schema_of(SCHEMAS[6], &err);
    const char *prefixes[] = {"", "{", "{\"person\": {\"name\":\"a", "{\"person\":{\"name\":\"\",\"tags\":[",
                              "{\"person\":{\"name\":\"\xE6", "{\"person\":{\"name\":\"\",\"tags\":[]}}"};
    float *l = malloc((size_t)n_vocab * sizeof *l);
    for (size_t k = 0; k < sizeof prefixes / sizeof *prefixes; k++) {
        grammar_matcher *m = grammar_matcher_new(g);
        CHECK(grammar_matcher_accept_bytes(m, prefixes[k], strlen(prefixes[k])));
        for (int i = 0; i < n_vocab; i++) l[i] = 0;
        grammar_mask(m, v, l, GRAMMAR_NO_LIMIT);
        int mismatch = 0, allowed = 0;
        for (int i = 0; i < n_vocab; i++) {
            bool a = grammar_token_allowed(m, v, i);
            mismatch += a != (l[i] == 0), allowed += a;
        }
        CHECK_MSG(mismatch == 0 && allowed > 0, "prefix %zu: %d mismatches, %d allowed", k, mismatch, allowed);
        grammar_matcher_free(m);
    }
    free(l);
    grammar_free(g);
}

/* Real vocabularies (byte-level BPE, SentencePiece with byte fallback):
 * a JSON text's own tokens are accepted and complete it, and random
 * sampling under a schema gives valid output. */
static void test_real_vocab(const char *family) {
    char rel[128], buf[512];
    snprintf(rel, sizeof rel, "testdata/vocab/ggml-vocab-%s.gguf", family);
    if (!check_shared_path(rel, buf, sizeof buf)) return;
    oc_error err;
    gguf_file *f = gguf_open(buf, &err);
    tokenizer *t = f ? tokenizer_load(f, &err) : NULL;
    CHECK_MSG(t != NULL, "%s: %s", family, err.msg);
    gguf_close(f);
    if (!t) return;
    int saved_n = n_vocab;
    n_vocab = tokenizer_n_vocab(t);
    uint64_t t0 = oc_now_ns();
    grammar_vocab *v = grammar_vocab_from_tokenizer(t, n_vocab);
    uint64_t t1 = oc_now_ns();
    grammar *g = schema_of(SCHEMAS[6], &err);
    const char *text = "{\"person\": {\"name\": \"Ann Lee\", \"tags\": [\"é\", \"x y\"]}}";
    int32_t *ids = NULL;
    int n = tokenizer_encode(t, text, strlen(text), false, false, &ids, &err);
    grammar_matcher *m = grammar_matcher_new(g);
    bool all = n > 0;
    for (int i = 0; i < n && all; i++) all = grammar_accept_token(m, v, ids[i]);
    /* SentencePiece adds a leading space, which the grammar refuses */
    if (tokenizer_kind_of(t) == TOKENIZER_BPE) CHECK_MSG(all && grammar_matcher_complete(m), "%s: own tokens", family);
    grammar_matcher_free(m);
    free(ids);
    TOK = t;
    json_error_t je;
    json_t *schema = json_loads(SCHEMAS[6], 0, &je);
    ROOT = schema;
    int good = 0, runs = 3;
    uint64_t t2 = oc_now_ns();
    for (int run = 0; run < runs; run++) {
        bool end;
        char *out = generate(g, v, run % 2 ? 50 : 120, (uint64_t)run + 7, &end);
        json_t *val = out ? json_loads(out, JSON_DECODE_ANY, &je) : NULL;
        bool ok = val && valid(val, schema);
        if (!ok) fprintf(stderr, "%s run %d: %s\n", family, run, out ? out : "(stuck)");
        good += ok;
        json_decref(val);
        free(out);
    }
    printf("%s: %d tokens, vocab trie %.1f ms, %d runs %.1f ms\n", family, n_vocab, (t1 - t0) / 1e6, runs,
           (oc_now_ns() - t2) / 1e6);
    CHECK_MSG(good == runs, "%s: %d of %d valid", family, good, runs);
    TOK = NULL;
    json_decref(schema);
    n_vocab = saved_n;
    grammar_free(g);
    grammar_vocab_free(v);
    tokenizer_free(t);
}

/* ---- through the engine on the demo model ---- */

typedef struct reply {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    oc_buf text;
    char reason[16];
    int eval_count;
    bool done;
} reply;

static bool on_piece(void *user, const char *text, size_t len, const engine_result *final) {
    reply *r = user;
    pthread_mutex_lock(&r->mu);
    oc_buf_append(&r->text, text, len);
    if (final) {
        snprintf(r->reason, sizeof r->reason, "%s", final->error ? "error" : final->done_reason);
        r->eval_count = final->eval_count;
        r->done = true;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return true;
}

/* Runs one request; the reply's text in r (free r->text). */
static void run(engine *e, model *m, const char *schema, int num_predict, float temp, const char *after, reply *r) {
    oc_error err;
    *r = (reply){.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    oc_buf_puts(&r->text, "");
    int32_t *ids;
    int n = tokenizer_encode(model_tokenizer(m), "Once upon a time", 16, true, false, &ids, NULL);
    engine_request q = {.tokens = ids, .n_tokens = n, .sampling = sample_default_params(), .num_predict = num_predict,
                        .grammar = schema ? schema_of(schema, &err) : NULL, .grammar_after = after};
    q.sampling.temperature = temp, q.sampling.seed = 5;
    if (engine_submit(e, &q, on_piece, r, &err) != 0) grammar_free(q.grammar);
    pthread_mutex_lock(&r->mu);
    while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    free(ids);
}

static bool valid_text(const char *schema_text, const char *text) {
    json_error_t je;
    json_t *schema = json_loads(schema_text, 0, &je), *v = json_loads(text, JSON_DECODE_ANY, &je);
    ROOT = schema;
    bool ok = v && valid(v, schema);
    json_decref(v), json_decref(schema);
    return ok;
}

static void test_engine_format(void) {
    model_params p = model_default_params();
    p.n_threads = 2, p.n_ctx = 256, p.n_seq = 2;
    oc_error err;
    model *m = model_load("models/stories260K.gguf", &p, &err);
    if (!m) return;
    engine *e = engine_new(m, 2);
    const char *schema = SCHEMAS[0];
    reply r;
    for (int k = 0; k < 3; k++) { /* greedy and sampled, loose and tight budgets */
        int np = k == 2 ? 24 : 120;
        run(e, m, schema, np, k ? 1.5f : 0, NULL, &r);
        CHECK_MSG(valid_text(schema, r.text.data) && r.eval_count <= np, "engine %d: %s (%s)", k, r.text.data, r.reason);
        if (getenv("GSHOW")) printf("engine %d: %s (%s, %d tokens)\n", k, r.text.data, r.reason, r.eval_count);
        oc_buf_free(&r.text);
    }
    /* Constrained only after a tag: the free text up to it, then JSON. */
    run(e, m, NULL, 12, 0, NULL, &r);
    char tag[8];
    snprintf(tag, sizeof tag, "%.5s", r.text.data);
    oc_buf_free(&r.text);
    run(e, m, schema, 120, 0, tag, &r);
    const char *brace = strchr(r.text.data, '{');
    if (getenv("GSHOW")) printf("after \"%s\": %s (%s)\n", tag, r.text.data, r.reason);
    CHECK_MSG(!strncmp(r.text.data, tag, strlen(tag)) && brace && valid_text(schema, brace), "after \"%s\": %s", tag,
              r.text.data);
    oc_buf_free(&r.text);
    engine_free(e);
    model_free(m);
}

int main(void) {
    grammar_vocab *v = make_vocab();
    test_matcher();
    test_errors();
    test_mask_matches_check(v);
    test_random_outputs(v);
    test_real_vocab("llama-bpe");
    test_real_vocab("llama-spm");
    test_engine_format();
    grammar_vocab_free(v);
    return check_done();
}

/* jinja_tests: Jinja2's builtin tests (`x is defined`, `is string`,
 * `is divisibleby 3` ... — jinja2/tests.py) and their lookup table. */
#include <string.h>

#include "chat/jinja_internal.h"

/* Python's arity errors for a test function fn(value[, param]). */
static int arity(jr *r, jargs *a, const char *fn, const char *param) {
    size_t want = param ? 1 : 0, got = a->npos + a->nkw;
    for (size_t k = 0; k < a->nkw; k++)
        if (!param || strcmp(a->kwn[k], param) || a->npos)
            return jr_fail(r, "TypeError", "%s() got an unexpected keyword argument '%s'", fn, a->kwn[k]);
    if (got == want) return 0;
    if (got < want) return jr_fail(r, "TypeError", "%s() missing 1 required positional argument: '%s'", fn, param);
    return jr_fail(r, "TypeError", "%s() takes %zu positional argument%s but %zu were given", fn, want + 1,
                   want ? "s" : "", a->npos + 1);
}

static jv arg0(jargs *a) { return a->npos ? a->pos[0] : a->kwv[0]; }

#define SIMPLE_TEST(name, expr)                                                                                        \
    static int t_##name(jr *r, jv v, jargs *a, bool *out) {                                                            \
        if (arity(r, a, "test_" #name, NULL)) return -1;                                                               \
        *out = (expr);                                                                                                 \
        return 0;                                                                                                      \
    }

SIMPLE_TEST(defined, v.kind != JV_UNDEF)
SIMPLE_TEST(undefined, v.kind == JV_UNDEF)
SIMPLE_TEST(none, v.kind == JV_NONE)
SIMPLE_TEST(boolean, v.kind == JV_BOOL)
SIMPLE_TEST(true, v.kind == JV_BOOL && v.b)
SIMPLE_TEST(false, v.kind == JV_BOOL && !v.b)
SIMPLE_TEST(integer, v.kind == JV_INT)
SIMPLE_TEST(float, v.kind == JV_FLOAT)
SIMPLE_TEST(number, jv_is_num(v))
SIMPLE_TEST(string, v.kind == JV_STR)
SIMPLE_TEST(mapping, v.kind == JV_DICT)
SIMPLE_TEST(escaped, v.kind == JV_STR && v.s->markup)
/* Undefined has __call__ (it raises), so it counts as callable */
SIMPLE_TEST(callable, v.kind == JV_FUNC || v.kind == JV_LOOP || v.kind == JV_UNDEF)

/* len() and __getitem__ both exist (Undefined has them too). */
SIMPLE_TEST(sequence, v.kind == JV_STR || (v.kind == JV_LIST && !v.l->view) || v.kind == JV_DICT || v.kind == JV_UNDEF)
SIMPLE_TEST(iterable, v.kind == JV_STR || v.kind == JV_LIST || v.kind == JV_DICT || v.kind == JV_UNDEF ||
                          v.kind == JV_GEN || v.kind == JV_LOOP)

static int case_test(jr *r, jv v, bool upper, bool *out) {
    (void)r;
    oc_buf b = {0};
    jv_to_str(v, &b);
    bool cased = false, ok = true;
    uint32_t c;
    for (size_t i = 0; i < b.len && ok;) {
        i += u8_decode(b.data, b.len, i, &c);
        if (py_isupper_cp(c))
            upper ? (void)(cased = true) : (void)(ok = false);
        else if (py_islower_cp(c))
            upper ? (void)(ok = false) : (void)(cased = true);
    }
    oc_buf_free(&b);
    *out = ok && cased;
    return 0;
}

static int t_lower(jr *r, jv v, jargs *a, bool *out) {
    return arity(r, a, "test_lower", NULL) ? -1 : case_test(r, v, false, out);
}
static int t_upper(jr *r, jv v, jargs *a, bool *out) {
    return arity(r, a, "test_upper", NULL) ? -1 : case_test(r, v, true, out);
}

static int mod_test(jr *r, jv v, jv d, int64_t want, bool *out) {
    jv m;
    if (jr_binop(r, OP_MOD, v, d, &m)) return -1;
    *out = jv_eq(m, jv_int(want));
    jv_release(m);
    return 0;
}

static int t_even(jr *r, jv v, jargs *a, bool *out) {
    return arity(r, a, "test_even", NULL) ? -1 : mod_test(r, v, jv_int(2), 0, out);
}
static int t_odd(jr *r, jv v, jargs *a, bool *out) {
    return arity(r, a, "test_odd", NULL) ? -1 : mod_test(r, v, jv_int(2), 1, out);
}
static int t_divisibleby(jr *r, jv v, jargs *a, bool *out) {
    return arity(r, a, "test_divisibleby", "num") ? -1 : mod_test(r, v, arg0(a), 0, out);
}

static int cmp_test(jr *r, jv v, jargs *a, int op, bool *out) {
    if (a->nkw || a->npos != 1) return jr_fail(r, "TypeError", "expected 2 arguments, got %zu", a->npos + a->nkw + 1);
    return jr_compare(r, op, v, arg0(a), out);
}

static int t_eq(jr *r, jv v, jargs *a, bool *out) { return cmp_test(r, v, a, OP_EQ, out); }
static int t_ne(jr *r, jv v, jargs *a, bool *out) { return cmp_test(r, v, a, OP_NE, out); }
static int t_lt(jr *r, jv v, jargs *a, bool *out) { return cmp_test(r, v, a, OP_LT, out); }
static int t_le(jr *r, jv v, jargs *a, bool *out) { return cmp_test(r, v, a, OP_LE, out); }
static int t_gt(jr *r, jv v, jargs *a, bool *out) { return cmp_test(r, v, a, OP_GT, out); }
static int t_ge(jr *r, jv v, jargs *a, bool *out) { return cmp_test(r, v, a, OP_GE, out); }
static int t_in(jr *r, jv v, jargs *a, bool *out) {
    return arity(r, a, "test_in", "seq") ? -1 : jr_compare(r, OP_IN, v, arg0(a), out);
}

/* `is`: the same object; equal immediates stand for Python's cached
 * small ints and singletons. */
static int t_sameas(jr *r, jv v, jargs *a, bool *out) {
    if (arity(r, a, "test_sameas", "other")) return -1;
    jv o = arg0(a);
    if (v.kind != o.kind)
        *out = false;
    else if (v.kind == JV_NONE || v.kind == JV_UNDEF)
        *out = v.kind == JV_NONE || v.u == o.u;
    else if (v.kind == JV_BOOL || v.kind == JV_INT)
        *out = jv_eq(v, o);
    else if (v.kind == JV_FLOAT)
        *out = false;
    else
        *out = v.s == o.s;
    return 0;
}

SIMPLE_TEST(filter, v.kind == JV_STR && jinja_find_filter(v.s->p))
SIMPLE_TEST(test, v.kind == JV_STR && jinja_find_test(v.s->p))

static const struct {
    const char *name;
    jtest_fn fn;
} TESTS[] = {
    {"odd", t_odd},
    {"even", t_even},
    {"divisibleby", t_divisibleby},
    {"defined", t_defined},
    {"undefined", t_undefined},
    {"filter", t_filter},
    {"test", t_test},
    {"none", t_none},
    {"boolean", t_boolean},
    {"false", t_false},
    {"true", t_true},
    {"integer", t_integer},
    {"float", t_float},
    {"lower", t_lower},
    {"upper", t_upper},
    {"string", t_string},
    {"mapping", t_mapping},
    {"number", t_number},
    {"sequence", t_sequence},
    {"iterable", t_iterable},
    {"callable", t_callable},
    {"sameas", t_sameas},
    {"escaped", t_escaped},
    {"in", t_in},
    {"==", t_eq},
    {"eq", t_eq},
    {"equalto", t_eq},
    {"!=", t_ne},
    {"ne", t_ne},
    {">", t_gt},
    {"gt", t_gt},
    {"greaterthan", t_gt},
    {"ge", t_ge},
    {">=", t_ge},
    {"<", t_lt},
    {"lt", t_lt},
    {"lessthan", t_lt},
    {"<=", t_le},
    {"le", t_le},
};

jtest_fn jinja_find_test(const char *name) {
    for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++)
        if (!strcmp(TESTS[i].name, name)) return TESTS[i].fn;
    return NULL;
}

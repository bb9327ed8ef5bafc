/* PARAMETER typing (modelfile.md §3; upstream api.FormatParams) with Go's
 * strconv rules, so a value Ollama rejects is rejected here too. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store_internal.h"

enum ptype { P_INT, P_FLOAT, P_BOOL, P_LIST };

static const struct {
    const char *name;
    enum ptype type;
} options[] = {
    {"num_ctx", P_INT},          {"num_batch", P_INT},        {"num_gpu", P_INT},
    {"main_gpu", P_INT},         {"use_mmap", P_BOOL},        {"num_thread", P_INT},
    {"draft_num_predict", P_INT}, {"num_keep", P_INT},        {"seed", P_INT},
    {"num_predict", P_INT},      {"top_k", P_INT},            {"top_p", P_FLOAT},
    {"min_p", P_FLOAT},          {"typical_p", P_FLOAT},      {"repeat_last_n", P_INT},
    {"temperature", P_FLOAT},    {"repeat_penalty", P_FLOAT}, {"presence_penalty", P_FLOAT},
    {"frequency_penalty", P_FLOAT}, {"stop", P_LIST},
};

static const char *deprecated[] = {"penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only",
                                   "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta"};

/* strconv.ParseInt(s, 10, 64) */
static bool parse_int(const char *s, int64_t *out) {
    const char *p = s + (*s == '+' || *s == '-');
    if (!*p) return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) return false;
    *out = v;
    return true;
}

/* strconv.ParseBool */
static bool parse_bool(const char *s, bool *out) {
    static const char *t[] = {"1", "t", "T", "TRUE", "true", "True"}, *f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(s, t[i])) return *out = true, true;
        if (!strcmp(s, f[i])) return *out = false, true;
    }
    return false;
}

/* Go's underscoreOK: '_' only between digits (a base prefix counts as one). */
static bool underscore_ok(const char *s, size_t n) {
    char saw = '^';
    size_t i = 0;
    if (n && (s[0] == '+' || s[0] == '-')) s++, n--;
    bool hex = n >= 2 && s[0] == '0' && strchr("xXbBoO", s[1]);
    if (hex) i = 2, saw = '0', hex = s[1] == 'x' || s[1] == 'X';
    for (; i < n; i++) {
        char c = s[i], l = (char)(c | 0x20);
        if ((c >= '0' && c <= '9') || (hex && l >= 'a' && l <= 'f')) saw = '0';
        else if (c == '_') {
            if (saw != '0') return false;
            saw = '_';
        } else {
            if (saw == '_') return false;
            saw = '!';
        }
    }
    return saw != '_';
}

/* Syntax of strconv.readFloat over the whole string. */
static bool float_syntax(const char *s) {
    size_t i = 0, n = strlen(s);
    bool us = false, dot = false, digits = false, hex = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i + 2 < n && s[i] == '0' && (s[i + 1] | 0x20) == 'x') hex = true, i += 2;
    for (; i < n; i++) {
        char c = s[i], l = (char)(c | 0x20);
        if (c == '_') us = true;
        else if (c == '.' && !dot) dot = true;
        else if ((c >= '0' && c <= '9') || (hex && l >= 'a' && l <= 'f')) digits = true;
        else break;
    }
    if (!digits) return false;
    if (i < n && (s[i] | 0x20) == (hex ? 'p' : 'e')) {
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return false;
        for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++) us |= s[i] == '_';
    } else if (hex) {
        return false; /* a hex mantissa needs a 'p' exponent */
    }
    return i == n && (!us || underscore_ok(s, n));
}

/* strconv.ParseFloat(s, 32): the special names, else Go float syntax;
 * overflow is an error, underflow is not. */
static bool parse_float32(const char *s, float *out) {
    const char *p = s + (*s == '+' || *s == '-');
    if (!strcasecmp(p, "inf") || !strcasecmp(p, "infinity")) return *out = *s == '-' ? -INFINITY : INFINITY, true;
    if (!strcasecmp(s, "nan")) return *out = NAN, true;
    if (!float_syntax(s)) return false;
    char *clean = oc_strdup(s), *w = clean;
    for (const char *q = s; *q; q++)
        if (*q != '_') *w++ = *q;
    *w = 0;
    float v = strtof(clean, NULL);
    free(clean);
    if (isinf(v)) return false;
    *out = v;
    return true;
}

static int find_option(const char *name) {
    for (size_t i = 0; i < sizeof options / sizeof *options; i++)
        if (!strcmp(options[i].name, name)) return (int)i;
    return -1;
}

int store_param_value(const char *name, const char *value, json_t **out, oc_error *err) {
    int k = find_option(name);
    if (k < 0) {
        oc_fail(err, "unknown parameter '%s'", name);
        return STORE_ERR_INVALID;
    }
    int64_t iv;
    float fv;
    bool bv;
    switch (options[k].type) {
    case P_INT:
        if (!parse_int(value, &iv)) break;
        *out = json_integer(iv);
        return 0;
    case P_FLOAT: {
        if (!parse_float32(value, &fv)) break;
        /* The client sends the float32 as its shortest decimal and the
         * server re-reads it as a float64: keep that double. */
        if (!isfinite(fv)) { /* what the client's JSON encoder then says */
            oc_fail(err, "json: unsupported value: %s", isnan(fv) ? "NaN" : fv > 0 ? "+Inf" : "-Inf");
            return STORE_ERR_INVALID;
        }
        char tmp[64];
        store_float32_string(fv, tmp, sizeof tmp);
        *out = json_real(strtod(tmp, NULL));
        return 0;
    }
    case P_BOOL:
        if (!parse_bool(value, &bv)) break;
        *out = json_boolean(bv);
        return 0;
    default:
        *out = json_pack("[s]", value);
        return 0;
    }
    static const char *tn[] = {"int", "float", "bool"};
    oc_fail(err, "invalid %s value [%s]", tn[options[k].type], value);
    return STORE_ERR_INVALID;
}

bool store_param_deprecated(const char *name) {
    for (size_t i = 0; i < sizeof deprecated / sizeof *deprecated; i++)
        if (!strcmp(name, deprecated[i])) return true;
    return false;
}

int store_params_add(json_t *params, const char *name, const char *value, oc_error *err) {
    if (store_param_deprecated(name)) {
        oc_log(OC_LOG_WARN, "warning: parameter %s is deprecated", name);
        return 0;
    }
    json_t *v;
    int rc = store_param_value(name, value, &v, err);
    if (rc != 0) return rc;
    json_t *old = json_object_get(params, name);
    if (json_is_array(old) && json_is_array(v)) {
        json_array_extend(old, v);
        json_decref(v);
    } else {
        json_object_set_new(params, name, v);
    }
    return 0;
}

/* ---- REQUIRES: golang.org/x/mod/semver.IsValid ---- */

static const char *semver_num(const char *v) {
    if (*v < '0' || *v > '9') return NULL;
    const char *e = v + 1;
    while (*e >= '0' && *e <= '9') e++;
    return (*v == '0' && e - v > 1) ? NULL : e;
}

static bool ident_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Dot-separated non-empty identifiers up to stop (or end); numeric ones
 * without leading zeros when strict (prerelease). */
static const char *semver_idents(const char *v, char stop, bool strict) {
    const char *start = v;
    for (;; v++) {
        if (*v == '.' || !*v || *v == stop) {
            if (v == start) return NULL;
            const char *d = start;
            while (d < v && *d >= '0' && *d <= '9') d++;
            if (strict && d == v && v - start > 1 && *start == '0') return NULL;
            if (*v != '.') return v;
            start = v + 1;
        } else if (!ident_char(*v)) {
            return NULL;
        }
    }
}

bool store_semver_valid(const char *v) {
    if (*v++ != 'v' || !(v = semver_num(v))) return false;
    for (int part = 0; part < 2; part++) {
        if (!*v) return true; /* v1 and v1.2 are shorthands */
        if (*v != '.' || !(v = semver_num(v + 1))) return false;
    }
    if (*v == '-' && !(v = semver_idents(v + 1, '+', true))) return false;
    if (*v == '+' && !(v = semver_idents(v + 1, 0, false))) return false;
    return *v == 0;
}

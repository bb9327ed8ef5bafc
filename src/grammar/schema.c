/* grammar: JSON Schema -> grammar, after llama.cpp's json-schema-to-grammar
 * behaviour (properties in schema order, required ones first; a value is
 * followed by optional whitespace; strings without raw control characters;
 * no leading whitespace), with bounded whitespace and number lengths so
 * every sentence stays finite and parses with any JSON parser. */
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

#define MAX_REPEAT 100000
#define MAX_NESTING 64

/* ---- small helpers ---- */

/* A class from a spec such as "0-9a-fA-F" (pairs x-y are ranges). */
static int cls_spec(grammar *g, const char *spec, bool negate) {
    uint32_t r[64];
    int n = 0;
    for (const unsigned char *s = (const unsigned char *)spec; *s && n < 32; s++) {
        if (s[1] == '-' && s[2]) r[2 * n] = s[0], r[2 * n + 1] = s[2], s += 2;
        else r[2 * n] = r[2 * n + 1] = s[0];
        n++;
    }
    return gb_class(g, r, n, negate);
}

static int char_rule(grammar *g, int cls) {
    int r = gb_rule(g, "c");
    gb_char(g, r, cls);
    return r;
}

static void lit(grammar *g, int r, const char *s) { gb_lit(g, r, s, strlen(s)); }

static int lit_rule(grammar *g, const char *s) {
    int r = gb_rule(g, "lit");
    lit(g, r, s);
    return r;
}

static int opt(grammar *g, int item) { return gb_repeat(g, item, 0, 1); }

/* ---- primitives ---- */

static int hex4_rule(grammar *g) {
    /* four hex digits except a lone surrogate and \u0000, which strict
     * parsers (Jansson among them) refuse */
    int h = char_rule(g, cls_spec(g, "0-9a-fA-F", false)), nz = cls_spec(g, "1-9a-fA-F", false);
    int r = gb_rule(g, "hex4");
    gb_char(g, r, cls_spec(g, "1-9a-cA-CeEfF", false)), gb_ref(g, r, h), gb_ref(g, r, h), gb_ref(g, r, h), gb_alt(g, r);
    lit(g, r, "d"), gb_char(g, r, cls_spec(g, "0-7", false)), gb_ref(g, r, h), gb_ref(g, r, h), gb_alt(g, r);
    lit(g, r, "D"), gb_char(g, r, cls_spec(g, "0-7", false)), gb_ref(g, r, h), gb_ref(g, r, h), gb_alt(g, r);
    lit(g, r, "0"), gb_char(g, r, nz), gb_ref(g, r, h), gb_ref(g, r, h), gb_alt(g, r);
    lit(g, r, "00"), gb_char(g, r, nz), gb_ref(g, r, h), gb_alt(g, r);
    lit(g, r, "000"), gb_char(g, r, nz);
    return r;
}

static void prim_string_number(grammar *g, gprims *p) {
    p->chr = gb_rule(g, "char");
    static const uint32_t plain[] = {0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7E, 0x80, 0x10FFFF};
    p->plain = gb_class(g, plain, 4, false); /* no '"', '\\', controls, DEL */
    gb_char(g, p->chr, p->plain);
    gb_alt(g, p->chr), lit(g, p->chr, "\\"), gb_char(g, p->chr, cls_spec(g, "\"\\/bfnrt", false));
    gb_alt(g, p->chr), lit(g, p->chr, "\\u"), gb_ref(g, p->chr, hex4_rule(g));
    p->string = gb_rule(g, "string");
    lit(g, p->string, "\""), gb_ref(g, p->string, gb_repeat(g, p->chr, 0, -1)), lit(g, p->string, "\"");
    gb_ref(g, p->string, p->space);
    int digit = char_rule(g, cls_spec(g, "0-9", false));
    int intpart = gb_rule(g, "integral-part");
    lit(g, intpart, "0"), gb_alt(g, intpart);
    gb_char(g, intpart, cls_spec(g, "1-9", false)), gb_ref(g, intpart, gb_repeat(g, digit, 0, 15));
    int sign = opt(g, lit_rule(g, "-"));
    p->integer = gb_rule(g, "integer");
    gb_ref(g, p->integer, sign), gb_ref(g, p->integer, intpart), gb_ref(g, p->integer, p->space);
    int frac = gb_rule(g, "frac"), exp = gb_rule(g, "exp");
    lit(g, frac, "."), gb_ref(g, frac, gb_repeat(g, digit, 1, 16));
    /* exponents of at most two digits keep every number a finite double */
    gb_char(g, exp, cls_spec(g, "eE", false)), gb_ref(g, exp, opt(g, char_rule(g, cls_spec(g, "-+", false))));
    gb_ref(g, exp, gb_repeat(g, digit, 1, 2));
    p->number = gb_rule(g, "number");
    gb_ref(g, p->number, sign), gb_ref(g, p->number, intpart), gb_ref(g, p->number, opt(g, frac));
    gb_ref(g, p->number, opt(g, exp)), gb_ref(g, p->number, p->space);
    p->unsigned_number = gb_rule(g, "unsigned-number");
    gb_ref(g, p->unsigned_number, intpart), gb_ref(g, p->unsigned_number, opt(g, frac));
    gb_ref(g, p->unsigned_number, opt(g, exp)), gb_ref(g, p->unsigned_number, p->space);
}

/* "{" / "[" ... with comma-separated items, then the closing char. */
static int list_rule(grammar *g, const gprims *p, const char *open, int item, const char *close, const char *name) {
    int more = gb_rule(g, "more");
    lit(g, more, ","), gb_ref(g, more, p->space), gb_ref(g, more, item);
    int body = gb_rule(g, "items");
    gb_ref(g, body, item), gb_ref(g, body, gb_repeat(g, more, 0, -1));
    int r = gb_rule(g, name);
    lit(g, r, open), gb_ref(g, r, p->space), gb_ref(g, r, opt(g, body)), lit(g, r, close), gb_ref(g, r, p->space);
    return r;
}

void gp_init(grammar *g, gprims *p) {
    /* space ::= | " " | "\n"{1,2} [ \t]{0,20} — llama.cpp's; bounded,
     * unlike the ws of upstream's "json" grammar */
    p->space = gb_rule(g, "space");
    gb_alt(g, p->space), lit(g, p->space, " "), gb_alt(g, p->space), lit(g, p->space, "\n");
    gb_ref(g, p->space, opt(g, lit_rule(g, "\n")));
    gb_ref(g, p->space, gb_repeat(g, char_rule(g, cls_spec(g, " \t", false)), 0, 20));
    prim_string_number(g, p);
    p->boolean = gb_rule(g, "boolean");
    lit(g, p->boolean, "true"), gb_alt(g, p->boolean), lit(g, p->boolean, "false"), gb_ref(g, p->boolean, p->space);
    p->null_ = gb_rule(g, "null");
    lit(g, p->null_, "null"), gb_ref(g, p->null_, p->space);
    p->value = gb_rule(g, "value");
    int kv = gb_rule(g, "kv");
    gb_ref(g, kv, p->string), lit(g, kv, ":"), gb_ref(g, kv, p->space), gb_ref(g, kv, p->value);
    p->object = list_rule(g, p, "{", kv, "}", "object");
    p->array = list_rule(g, p, "[", p->value, "]", "array");
    int alts[] = {p->object, p->array, p->string, p->number, p->boolean, p->null_};
    for (int i = 0; i < 6; i++) {
        if (i) gb_alt(g, p->value);
        gb_ref(g, p->value, alts[i]);
    }
}

grammar *grammar_json_object(void) {
    grammar *g = gb_new();
    gprims p;
    gp_init(g, &p);
    if (gb_finish(g, p.object, NULL) != 0) {
        grammar_free(g);
        return NULL;
    }
    return g;
}

/* ---- schemas ---- */

typedef struct sctx {
    grammar *g;
    gprims p;
    const json_t *root;
    oc_error *err;
    char **ref_name;
    int *ref_rule;
    int n_refs;
    int depth;
} sctx;

static int visit(sctx *c, const json_t *s);

static const char *const unsupported[] = {
    "allOf", "not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies",
    "patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains",
    "minContains", "maxContains", "minProperties", "maxProperties", "multipleOf", "contentEncoding", "contentMediaType", "$dynamicRef", "$recursiveRef", NULL};

static int check_keywords(sctx *c, const json_t *s) {
    for (int i = 0; unsupported[i]; i++)
        if (json_object_get(s, unsupported[i]))
            return oc_fail(c->err, "unsupported JSON schema keyword \"%s\"", unsupported[i]);
    if (json_is_true(json_object_get(s, "uniqueItems")))
        return oc_fail(c->err, "unsupported JSON schema keyword \"uniqueItems\"");
    return 0;
}

/* A count keyword: absent -> dflt; else a whole number in 0..MAX_REPEAT. */
static int count_kw(sctx *c, const json_t *s, const char *key, int dflt, int *out) {
    const json_t *v = json_object_get(s, key);
    *out = dflt;
    if (!v) return 0;
    double d = json_number_value(v);
    if (!json_is_number(v) || d < 0 || d != (double)(long long)d)
        return oc_fail(c->err, "\"%s\" must be a non-negative integer", key);
    if (d > MAX_REPEAT) return oc_fail(c->err, "\"%s\" is larger than %d", key, MAX_REPEAT);
    *out = (int)d;
    return 0;
}

/* const / enum members: their compact JSON text, then space. */
static int literal(sctx *c, const json_t *v) {
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return oc_fail(c->err, "a const or enum value cannot be encoded");
    int r = gb_rule(c->g, "const");
    lit(c->g, r, text), gb_ref(c->g, r, c->p.space);
    free(text);
    return r;
}

static int alternatives(sctx *c, const json_t *arr, const char *key, bool literals) {
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return oc_fail(c->err, "\"%s\" must be a non-empty array", key);
    int r = gb_rule(c->g, key);
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        int sub = literals ? literal(c, v) : visit(c, v);
        if (sub < 0) return -1;
        if (i) gb_alt(c->g, r);
        gb_ref(c->g, r, sub);
    }
    return r;
}

/* ---- $ref ---- */

/* Resolves a JSON pointer ("#/a/b~1c") within the root schema. */
static const json_t *resolve(const json_t *root, const char *ref) {
    if (ref[0] != '#') return NULL;
    const json_t *cur = root;
    const char *p = ref + 1;
    while (*p == '/' && cur) {
        p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *tok = oc_malloc(n + 1);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) tok[k++] = p[++i] == '0' ? '~' : '/';
            else tok[k++] = p[i];
        }
        tok[k] = 0;
        if (json_is_array(cur)) {
            char *e;
            long idx = strtol(tok, &e, 10);
            cur = *tok && !*e && idx >= 0 ? json_array_get(cur, (size_t)idx) : NULL;
        } else {
            cur = json_object_get(cur, tok);
        }
        free(tok);
        p += n;
    }
    return *p ? NULL : cur;
}

static int visit_ref(sctx *c, const char *ref) {
    for (int i = 0; i < c->n_refs; i++)
        if (strcmp(c->ref_name[i], ref) == 0) return c->ref_rule[i];
    const json_t *target = resolve(c->root, ref);
    if (!target) return oc_fail(c->err, "unsupported or unresolvable $ref \"%.200s\" (only local #/... refs)", ref);
    /* Registered before the target is compiled, so recursion finds it. */
    int r = gb_rule(c->g, "ref");
    c->ref_name = oc_realloc(c->ref_name, (size_t)(c->n_refs + 1) * sizeof(char *));
    c->ref_rule = oc_realloc(c->ref_rule, (size_t)(c->n_refs + 1) * sizeof(int));
    c->ref_name[c->n_refs] = oc_strdup(ref);
    c->ref_rule[c->n_refs++] = r;
    int t = visit(c, target);
    if (t < 0) return -1;
    gb_ref(c->g, r, t);
    return r;
}

/* ---- objects ---- */

/* "\"name\"" space ":" space value */
static int kv_rule(sctx *c, const char *name, int value) {
    json_t *js = json_string(name);
    char *key = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    if (!key) return oc_fail(c->err, "property name is not valid UTF-8");
    int r = gb_rule(c->g, "kv");
    lit(c->g, r, key), gb_ref(c->g, r, c->p.space), lit(c->g, r, ":"), gb_ref(c->g, r, c->p.space);
    gb_ref(c->g, r, value);
    free(key);
    return r;
}

static int comma_then(sctx *c, int item) {
    int r = gb_rule(c->g, "comma");
    lit(c->g, r, ","), gb_ref(c->g, r, c->p.space), gb_ref(c->g, r, item);
    return r;
}

static bool is_required(const json_t *req, const char *name) {
    size_t i;
    const json_t *v;
    json_array_foreach(req, i, v) if (json_is_string(v) && strcmp(json_string_value(v), name) == 0) return true;
    return false;
}

/* Optional members with none required before them: any in-order subset,
 * commas only between. T_i ::= kv_i ("," T_next)? | T_next. */
static int optional_chain(sctx *c, const int *kv, int n, int extra) {
    int next = extra;
    for (int i = n - 1; i >= 0; i--) {
        int t = gb_rule(c->g, "opts");
        gb_ref(c->g, t, kv[i]);
        if (next >= 0) gb_ref(c->g, t, opt(c->g, comma_then(c, next))), gb_alt(c->g, t), gb_ref(c->g, t, next);
        next = t;
    }
    return next;
}

static size_t cp_at(const char *s, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    size_t len = u[0] < 0x80 ? 1 : u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : 2;
    *cp = len == 1 ? u[0] : u[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) *cp = *cp << 6 | (u[i] & 0x3F);
    return len;
}

/* The body of a key that is none of names[0..n) (all sharing their first
 * off bytes): a trie of the names, where leaving it at any point is
 * allowed and ending on a name is not. Plain characters only, so a key
 * reads as it decodes (no escaped spelling of a declared name). */
static int other_key(sctx *c, const char **names, int n, size_t off) {
    grammar *g = c->g;
    int r = gb_rule(g, "other-key");
    bool terminal = false;
    for (int i = 0; i < n; i++) terminal |= names[i][off] == 0;
    bool any = false; /* the current alternative has elements */
    if (!terminal) gb_alt(g, r); /* an empty first alternative: the key may end here */
    uint32_t *seen = oc_malloc(((size_t)n + 1) * 2 * sizeof(uint32_t));
    int n_seen = 0;
    const char **sub = oc_malloc(((size_t)n + 1) * sizeof(char *));
    for (int i = 0; i < n; i++) {
        uint32_t cp, cq;
        if (!names[i][off]) continue;
        size_t len = cp_at(names[i] + off, &cp);
        bool dup = false;
        for (int k = 0; k < n_seen; k++) dup |= seen[2 * k] == cp;
        if (dup) continue;
        seen[2 * n_seen] = seen[2 * n_seen + 1] = cp, n_seen++;
        int m = 0;
        for (int j = i; j < n; j++)
            if (names[j][off] && cp_at(names[j] + off, &cq) == len && cq == cp) sub[m++] = names[j];
        if (any) gb_alt(g, r);
        any = true;
        gb_lit(g, r, names[i] + off, len), gb_ref(g, r, other_key(c, sub, m, off + len));
    }
    if (any) gb_alt(g, r);
    gb_char(g, r, gb_class_minus(g, c->p.plain, gb_class(g, seen, n_seen, false)));
    gb_ref(g, r, gb_repeat(g, char_rule(g, c->p.plain), 0, -1));
    free(seen);
    free(sub);
    return r;
}

/* Names a plain key could spell: properties and required ones. */
static int declared_names(const json_t *props, const json_t *req, const char ***out) {
    *out = oc_malloc((json_object_size(props) + json_array_size(req) + 1) * sizeof(char *));
    int n = 0;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)props, name, v) (*out)[n++] = name;
    size_t i;
    json_array_foreach(req, i, v) if (json_is_string(v)) (*out)[n++] = json_string_value(v);
    int k = 0;
    for (int j = 0; j < n; j++) {
        bool plain = true;
        for (const unsigned char *p = (const unsigned char *)(*out)[j]; *p && plain; p++)
            plain = *p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7F;
        if (plain) (*out)[k++] = (*out)[j];
    }
    return k;
}

/* additionalProperties: any further keys ("key": value, ...), as one
 * rule, none spelling a declared name; -2 on error. */
static int additional(sctx *c, const json_t *add, const json_t *props, const json_t *req) {
    int v = json_is_true(add) ? c->p.value : visit(c, add);
    if (v < 0) return -2;
    int key = c->p.string;
    const char **names;
    int n = declared_names(props, req, &names);
    if (n) {
        key = gb_rule(c->g, "key");
        lit(c->g, key, "\""), gb_ref(c->g, key, other_key(c, names, n, 0)), lit(c->g, key, "\"");
        gb_ref(c->g, key, c->p.space);
    }
    free(names);
    int akv = gb_rule(c->g, "additional-kv");
    gb_ref(c->g, akv, key), lit(c->g, akv, ":"), gb_ref(c->g, akv, c->p.space), gb_ref(c->g, akv, v);
    int extra = gb_rule(c->g, "additional");
    gb_ref(c->g, extra, akv), gb_ref(c->g, extra, gb_repeat(c->g, comma_then(c, akv), 0, -1));
    return extra;
}

static int build_object(sctx *c, const json_t *s) {
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    const json_t *add = json_object_get(s, "additionalProperties");
    if (props && !json_is_object(props)) return oc_fail(c->err, "\"properties\" must be an object");
    if (req && !json_is_array(req)) return oc_fail(c->err, "\"required\" must be an array");
    size_t np = json_object_size(props), nr = json_array_size(req);
    int *kv_req = oc_malloc((np + nr + 1) * sizeof(int)), *kv_opt = oc_malloc((np + 1) * sizeof(int));
    int n_req = 0, n_opt = 0, rc = -1;
    const char *name;
    const json_t *sub;
    json_object_foreach((json_t *)props, name, sub) {
        int v = visit(c, sub), kv = v < 0 ? -1 : kv_rule(c, name, v);
        if (kv < 0) goto out;
        if (is_required(req, name)) kv_req[n_req++] = kv;
        else kv_opt[n_opt++] = kv;
    }
    for (size_t i = 0; i < nr; i++) { /* required but not described: any value */
        const char *rn = json_string_value(json_array_get(req, i));
        if (!rn) { oc_fail(c->err, "\"required\" must list strings"); goto out; }
        if (!json_object_get(props, rn) && (kv_req[n_req] = kv_rule(c, rn, c->p.value)) >= 0) n_req++;
    }
    int extra = add && !json_is_false(add) ? additional(c, add, props, req) : -1;
    if (extra == -2) goto out;
    rc = gb_rule(c->g, "object");
    lit(c->g, rc, "{"), gb_ref(c->g, rc, c->p.space);
    for (int i = 0; i < n_req; i++) {
        if (i) lit(c->g, rc, ","), gb_ref(c->g, rc, c->p.space);
        gb_ref(c->g, rc, kv_req[i]);
    }
    if (n_req) {
        for (int i = 0; i < n_opt; i++) gb_ref(c->g, rc, opt(c->g, comma_then(c, kv_opt[i])));
        if (extra >= 0) gb_ref(c->g, rc, opt(c->g, comma_then(c, extra)));
    } else if (n_opt || extra >= 0) {
        gb_ref(c->g, rc, opt(c->g, optional_chain(c, kv_opt, n_opt, extra)));
    }
    lit(c->g, rc, "}"), gb_ref(c->g, rc, c->p.space);
out:
    free(kv_req);
    free(kv_opt);
    return rc;
}

/* ---- arrays ---- */

static int build_tuple(sctx *c, const json_t *s, const json_t *prefix) {
    if (!json_is_array(prefix)) return oc_fail(c->err, "\"prefixItems\" must be an array");
    if (json_object_get(s, "minItems") || json_object_get(s, "maxItems"))
        return oc_fail(c->err, "unsupported JSON schema: minItems/maxItems with prefixItems");
    const json_t *items = json_object_get(s, "items");
    int r = gb_rule(c->g, "tuple");
    lit(c->g, r, "["), gb_ref(c->g, r, c->p.space);
    size_t i;
    const json_t *v;
    json_array_foreach(prefix, i, v) {
        int sub = visit(c, v);
        if (sub < 0) return -1;
        if (i) lit(c->g, r, ","), gb_ref(c->g, r, c->p.space);
        gb_ref(c->g, r, sub);
    }
    if (items && !json_is_false(items) && json_array_size(prefix)) {
        int it = json_is_true(items) ? c->p.value : visit(c, items);
        if (it < 0) return -1;
        gb_ref(c->g, r, gb_repeat(c->g, comma_then(c, it), 0, -1));
    }
    lit(c->g, r, "]"), gb_ref(c->g, r, c->p.space);
    return r;
}

static int build_array(sctx *c, const json_t *s) {
    const json_t *prefix = json_object_get(s, "prefixItems"), *items = json_object_get(s, "items");
    if (prefix) return build_tuple(c, s, prefix);
    if (json_is_array(items)) return build_tuple(c, s, items); /* draft-07 tuple form */
    int min, max;
    if (count_kw(c, s, "minItems", 0, &min) || count_kw(c, s, "maxItems", -1, &max)) return -1;
    if (max >= 0 && max < min) return oc_fail(c->err, "\"maxItems\" is smaller than \"minItems\"");
    int item = !items || json_is_true(items) ? c->p.value : json_is_false(items) ? -2 : visit(c, items);
    if (item == -1) return -1;
    if (item == -2) max = 0;
    if (max == 0 && min > 0) return oc_fail(c->err, "\"items\": false with minItems above 0 accepts nothing");
    int r = gb_rule(c->g, "array");
    lit(c->g, r, "["), gb_ref(c->g, r, c->p.space);
    if (max != 0) {
        int body = gb_rule(c->g, "items");
        gb_ref(c->g, body, item);
        gb_ref(c->g, body, gb_repeat(c->g, comma_then(c, item), min ? min - 1 : 0, max < 0 ? -1 : max - 1));
        gb_ref(c->g, r, min ? body : opt(c->g, body));
    }
    lit(c->g, r, "]"), gb_ref(c->g, r, c->p.space);
    return r;
}

/* ---- strings ---- */

static const struct {
    const char *name, *pattern;
} formats[] = {
    {"date", "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"},
    {"time", "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"},
    {"date-time", "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                  "(\\.[0-9]{3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"},
    {"uuid", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
};

static int quoted(sctx *c, int body) {
    int r = gb_rule(c->g, "string");
    lit(c->g, r, "\""), gb_ref(c->g, r, body), lit(c->g, r, "\""), gb_ref(c->g, r, c->p.space);
    return r;
}

static int build_string(sctx *c, const json_t *s) {
    const json_t *pj = json_object_get(s, "pattern");
    const char *fmt = json_string_value(json_object_get(s, "format"));
    if (pj && !json_is_string(pj)) return oc_fail(c->err, "\"pattern\" must be a string");
    const char *pat = json_string_value(pj);
    if (fmt && !pat) /* other formats are annotations: plain strings */
        for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
            if (strcmp(fmt, formats[i].name) == 0) pat = formats[i].pattern;
    int min, max;
    if (count_kw(c, s, "minLength", 0, &min) || count_kw(c, s, "maxLength", -1, &max)) return -1;
    if (max >= 0 && max < min) return oc_fail(c->err, "\"maxLength\" is smaller than \"minLength\"");
    if (pat && (min || max >= 0)) return oc_fail(c->err, "unsupported JSON schema: pattern with minLength/maxLength");
    if (pat) {
        int body = gre_compile(c->g, &c->p, pat, c->err);
        return body < 0 ? -1 : quoted(c, body);
    }
    if (!min && max < 0) return c->p.string;
    return quoted(c, gb_repeat(c->g, c->p.chr, min, max));
}

/* ---- types ---- */

int gint_range(grammar *g, const gprims *p, const json_t *s, oc_error *err);

static bool has_bounds(const json_t *s) {
    return json_object_get(s, "minimum") || json_object_get(s, "maximum") || json_object_get(s, "exclusiveMinimum") ||
           json_object_get(s, "exclusiveMaximum");
}

/* Numbers take only "minimum": 0 (no sign); integers any bounds. */
static int bounded_number(sctx *c, const json_t *s) {
    const json_t *min = json_object_get(s, "minimum");
    if (!min || json_number_value(min) != 0 || json_object_get(s, "maximum") || json_object_get(s, "exclusiveMinimum") ||
        json_object_get(s, "exclusiveMaximum"))
        return oc_fail(c->err, "unsupported JSON schema: bounds on type \"number\" (only \"minimum\": 0; integers take any)");
    return c->p.unsigned_number;
}

static int visit_type(sctx *c, const char *t, const json_t *s) {
    bool bounds = has_bounds(s);
    if (bounds && strcmp(t, "integer") != 0 && strcmp(t, "number") != 0)
        return oc_fail(c->err, "unsupported JSON schema: minimum/maximum for type \"%s\"", t);
    if (strcmp(t, "object") == 0) {
        const json_t *add = json_object_get(s, "additionalProperties");
        if (json_object_get(s, "properties") || (add && !json_is_true(add)) || json_object_get(s, "required"))
            return build_object(c, s);
        return c->p.object;
    }
    if (strcmp(t, "array") == 0) return build_array(c, s);
    if (strcmp(t, "string") == 0) return build_string(c, s);
    if (strcmp(t, "number") == 0) return bounds ? bounded_number(c, s) : c->p.number;
    if (strcmp(t, "integer") == 0) return bounds ? gint_range(c->g, &c->p, s, c->err) : c->p.integer;
    if (strcmp(t, "boolean") == 0) return c->p.boolean;
    if (strcmp(t, "null") == 0) return c->p.null_;
    return oc_fail(c->err, "unsupported JSON schema type \"%.100s\"", t);
}

/* Without "type": what the other keywords imply. */
static const char *implied_type(const json_t *s) {
    if (json_object_get(s, "properties") || json_object_get(s, "additionalProperties") || json_object_get(s, "required"))
        return "object";
    if (json_object_get(s, "items") || json_object_get(s, "prefixItems") || json_object_get(s, "minItems") ||
        json_object_get(s, "maxItems"))
        return "array";
    if (json_object_get(s, "pattern") || json_object_get(s, "minLength") || json_object_get(s, "maxLength") ||
        json_object_get(s, "format"))
        return "string";
    if (has_bounds(s)) return "integer";
    return NULL;
}

static int visit_typed(sctx *c, const json_t *s) {
    const json_t *type = json_object_get(s, "type");
    if (json_is_string(type)) return visit_type(c, json_string_value(type), s);
    if (json_is_array(type)) {
        if (!json_array_size(type)) return oc_fail(c->err, "\"type\" must not be an empty array");
        int r = gb_rule(c->g, "types");
        size_t i;
        const json_t *t;
        json_array_foreach(type, i, t) {
            if (!json_is_string(t)) return oc_fail(c->err, "\"type\" must list strings");
            int sub = visit_type(c, json_string_value(t), s);
            if (sub < 0) return -1;
            if (i) gb_alt(c->g, r);
            gb_ref(c->g, r, sub);
        }
        return r;
    }
    if (type) return oc_fail(c->err, "\"type\" must be a string or an array of strings");
    const char *t = implied_type(s);
    return t ? visit_type(c, t, s) : c->p.value;
}

static int visit(sctx *c, const json_t *s) {
    if (json_is_true(s)) return c->p.value;
    if (json_is_false(s)) return oc_fail(c->err, "the schema false accepts nothing");
    if (!json_is_object(s)) return oc_fail(c->err, "a schema must be an object or a boolean");
    if (c->depth >= MAX_NESTING) return oc_fail(c->err, "the schema is nested too deeply");
    if (check_keywords(c, s)) return -1;
    c->depth++;
    int r;
    const json_t *ref = json_object_get(s, "$ref");
    if (ref && !json_is_string(ref)) r = oc_fail(c->err, "\"$ref\" must be a string");
    else if (ref) r = visit_ref(c, json_string_value(ref));
    else if (json_object_get(s, "const")) r = literal(c, json_object_get(s, "const"));
    else if (json_object_get(s, "enum")) r = alternatives(c, json_object_get(s, "enum"), "enum", true);
    else if (json_object_get(s, "anyOf")) r = alternatives(c, json_object_get(s, "anyOf"), "anyOf", false);
    else if (json_object_get(s, "oneOf")) r = alternatives(c, json_object_get(s, "oneOf"), "oneOf", false);
    else r = visit_typed(c, s);
    c->depth--;
    return r;
}

grammar *grammar_from_schema(const json_t *schema, oc_error *err) {
    sctx c = {.g = gb_new(), .root = schema, .err = err};
    gp_init(c.g, &c.p);
    int root = visit(&c, schema);
    for (int i = 0; i < c.n_refs; i++) free(c.ref_name[i]);
    free(c.ref_name);
    free(c.ref_rule);
    if (root < 0 || gb_finish(c.g, root, err) != 0) {
        grammar_free(c.g);
        return NULL;
    }
    return c.g;
}

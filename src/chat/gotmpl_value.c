/* gotmpl_value: the values the Go template engine computes with. Data
 * arrives as JSON; upstream Ollama hands its templates Go structs
 * (templateMessage, templateTool, api.ToolProperty ...) and maps, and their
 * types decide how a value prints, marshals, compares and which fields
 * exist. So each value carries the Go type it would have upstream, derived
 * from where it was reached (".Messages" of the data, ".ToolCalls" of a
 * message ...), and this file holds those types' shapes and the operations
 * on typed values: kinds, truth, length, elements, map keys, fields. */
#include <stdlib.h>
#include <string.h>

#include "chat/gotmpl_internal.h"

typedef struct {
    const char *go, *json;
    uint8_t type;
    bool omitempty;
} field_def;

typedef struct {
    const field_def *f;
    int n;
} struct_def;

#define FIELDS(a) {a, (int)(sizeof a / sizeof *a)}

/* template.templateMessage and friends have no JSON tags: their JSON keys
 * are the Go names. */
static const field_def msg_f[] = {
    {"Role", "Role", GT_STR, 0}, {"Content", "Content", GT_STR, 0}, {"Thinking", "Thinking", GT_STR, 0},
    {"Images", "Images", GT_IMAGES, 0}, {"ToolCalls", "ToolCalls", GT_TCALLS, 0},
    {"ToolName", "ToolName", GT_STR, 0}, {"ToolCallID", "ToolCallID", GT_STR, 0},
};
static const field_def tcall_f[] = {{"ID", "ID", GT_STR, 0}, {"Function", "Function", GT_TCFUNC, 0}};
static const field_def tcfunc_f[] = {
    {"Index", "Index", GT_INT, 0}, {"Name", "Name", GT_STR, 0}, {"Arguments", "Arguments", GT_ARGS, 0},
};
static const field_def tool_f[] = {
    {"Type", "type", GT_STR, 0}, {"Items", "items", GT_ANY, 1}, {"Function", "function", GT_TFUNC, 0},
};
static const field_def tfunc_f[] = {
    {"Name", "name", GT_STR, 0}, {"Description", "description", GT_STR, 0},
    {"Parameters", "parameters", GT_TPARAMS, 0},
};
static const field_def tparams_f[] = {
    {"Type", "type", GT_STR, 0}, {"Defs", "$defs", GT_ANY, 1}, {"Items", "items", GT_ANY, 1},
    {"Required", "required", GT_STRS, 1}, {"Properties", "properties", GT_PROPS, 0},
};
static const field_def prop_f[] = {
    {"AnyOf", "anyOf", GT_PROPLIST, 1}, {"Type", "type", GT_PROPTYPE, 1}, {"Items", "items", GT_ANY, 1},
    {"Description", "description", GT_STR, 1}, {"Enum", "enum", GT_ANYS, 1},
    {"Properties", "properties", GT_PROPMAP, 1}, {"Required", "required", GT_STRS, 1},
};
static const struct_def msg_d = FIELDS(msg_f), tcall_d = FIELDS(tcall_f), tcfunc_d = FIELDS(tcfunc_f),
                        tool_d = FIELDS(tool_f), tfunc_d = FIELDS(tfunc_f), tparams_d = FIELDS(tparams_f),
                        prop_d = FIELDS(prop_f);

static const struct {
    const char *name;
    gt_kind kind;
    uint8_t elem;
    const struct_def *sd;
    bool stringer; /* has a String method, which fmt prefers */
} types[GT_NTYPES] = {
    [GT_ANY] = {"interface {}", K_INVALID, GT_ANY, NULL, 0},
    [GT_STR] = {"string", K_STRING, 0, NULL, 0},
    [GT_INT] = {"int", K_INT, 0, NULL, 0},
    [GT_BOOL] = {"bool", K_BOOL, 0, NULL, 0},
    [GT_ROOT] = {"map[string]interface {}", K_MAP, GT_ANY, NULL, 0},
    [GT_MSGS] = {"[]*template.templateMessage", K_SLICE, GT_MSG, NULL, 0},
    [GT_MSG] = {"*template.templateMessage", K_PTR, 0, &msg_d, 0},
    [GT_TCALLS] = {"[]template.templateToolCall", K_SLICE, GT_TCALL, NULL, 0},
    [GT_TCALL] = {"template.templateToolCall", K_STRUCT, 0, &tcall_d, 0},
    [GT_TCFUNC] = {"template.templateToolCallFunction", K_STRUCT, 0, &tcfunc_d, 0},
    [GT_ARGS] = {"template.templateArgs", K_MAP, GT_ANY, NULL, 1},
    [GT_TOOLS] = {"template.templateTools", K_SLICE, GT_TOOL, NULL, 1},
    [GT_TOOL] = {"template.templateTool", K_STRUCT, 0, &tool_d, 1},
    [GT_TFUNC] = {"template.templateToolFunction", K_STRUCT, 0, &tfunc_d, 0},
    [GT_TPARAMS] = {"template.templateToolFunctionParameters", K_STRUCT, 0, &tparams_d, 0},
    [GT_PROPS] = {"template.templateProperties", K_MAP, GT_PROP, NULL, 1},
    [GT_PROP] = {"api.ToolProperty", K_STRUCT, 0, &prop_d, 0},
    [GT_PROPMAP] = {"*api.ToolPropertiesMap", K_MAP, GT_PROP, NULL, 0},
    [GT_PROPTYPE] = {"api.PropertyType", K_SLICE, GT_STR, NULL, 1},
    [GT_STRS] = {"[]string", K_SLICE, GT_STR, NULL, 0},
    [GT_PROPLIST] = {"[]api.ToolProperty", K_SLICE, GT_PROP, NULL, 0},
    [GT_ANYS] = {"[]interface {}", K_SLICE, GT_ANY, NULL, 0},
    [GT_IMAGES] = {"[]api.ImageData", K_SLICE, GT_ANY, NULL, 0},
};

/* Does JSON value j have the shape of type t? Values that do not are
 * treated as untyped (GT_ANY), so odd input still renders. */
static bool fits(const json_t *j, gt_type t) {
    switch (types[t].kind) {
    case K_STRING: return json_is_string(j);
    case K_INT: return json_is_number(j);
    case K_BOOL: return json_is_boolean(j);
    case K_SLICE: return json_is_array(j) || (t == GT_PROPTYPE && json_is_string(j));
    case K_MAP: case K_STRUCT: case K_PTR: return json_is_object(j);
    default: return true;
    }
}

gv gv_of(json_t *j, gt_type t) {
    if (!j || json_is_null(j)) return (gv){NULL, (uint8_t)t, t == GT_ANY};
    if (!fits(j, t)) t = GT_ANY;
    return (gv){json_incref(j), (uint8_t)t, t == GT_ANY};
}

gv gv_take(json_t *j, gt_type t) {
    gv v = gv_of(j, t);
    json_decref(j);
    return v;
}

gv gv_copy(gv v) { return (gv){json_incref(v.j), v.t, v.iface}; }

void gv_drop(gv *v) {
    json_decref(v->j);
    v->j = NULL;
}

gv gv_str(const char *s, size_t n) { return gv_take(json_stringn_nocheck(s ? s : "", n), GT_STR); }
gv gv_int(int64_t i) { return gv_take(json_integer(i), GT_INT); }
gv gv_bool(bool b) { return gv_take(json_boolean(b), GT_BOOL); }

gt_kind gv_kind(gv v) {
    if (v.t != GT_ANY) return types[v.t].kind;
    if (!v.j) return K_INVALID;
    switch (json_typeof(v.j)) {
    case JSON_OBJECT: return K_MAP;
    case JSON_ARRAY: return K_SLICE;
    case JSON_STRING: return K_STRING;
    case JSON_INTEGER: case JSON_REAL: return K_FLOAT; /* encoding/json decodes numbers to float64 */
    case JSON_TRUE: case JSON_FALSE: return K_BOOL;
    default: return K_INVALID;
    }
}

const char *gv_typename(gv v) {
    if (v.t != GT_ANY) return types[v.t].name;
    switch (gv_kind(v)) {
    case K_MAP: return "map[string]interface {}";
    case K_SLICE: return "[]interface {}";
    case K_STRING: return "string";
    case K_FLOAT: return "float64";
    case K_BOOL: return "bool";
    default: return "<nil>";
    }
}

bool gv_is_stringer(gv v) { return types[v.t].stringer; }

const char *gv_strval(gv v, size_t *len) {
    if (!json_is_string(v.j)) { *len = 0; return ""; }
    *len = json_string_length(v.j);
    return json_string_value(v.j);
}

int64_t gv_intval(gv v) {
    if (json_is_integer(v.j)) return json_integer_value(v.j);
    double f = json_is_real(v.j) ? json_real_value(v.j) : 0;
    return f >= -9.2e18 && f <= 9.2e18 ? (int64_t)f : 0;
}

double gv_floatval(gv v) { return v.j ? json_number_value(v.j) : 0; }

size_t gv_len(gv v) {
    if (!v.j) return 0;
    if (json_is_string(v.j)) return v.t == GT_PROPTYPE ? 1 : json_string_length(v.j);
    if (json_is_array(v.j)) return json_array_size(v.j);
    if (json_is_object(v.j)) return json_object_size(v.j);
    return 0;
}

bool gv_truth(gv v) {
    switch (gv_kind(v)) {
    case K_BOOL: return json_is_true(v.j);
    case K_INT: case K_FLOAT: return gv_floatval(v) != 0;
    case K_STRING: case K_SLICE: case K_MAP: return gv_len(v) > 0;
    case K_STRUCT: return true;
    case K_PTR: return v.j != NULL;
    default: return false;
    }
}

static gt_type elem_type(gv v) { return v.t == GT_ANY ? GT_ANY : (gt_type)types[v.t].elem; }

gv gv_index(gv v, size_t i) {
    if (json_is_string(v.j)) return gv_of(i == 0 ? v.j : NULL, GT_STR); /* a one-type PropertyType */
    return gv_of(json_array_get(v.j, i), elem_type(v));
}

gv gv_slice(gv v, size_t lo, size_t hi) {
    if (gv_kind(v) == K_STRING) {
        size_t n;
        const char *s = gv_strval(v, &n);
        return (gv){json_stringn_nocheck(s + lo, hi - lo), v.t, false};
    }
    if (!v.j) return (gv){NULL, v.t, false};
    json_t *a = json_array();
    for (size_t i = lo; i < hi; i++) {
        gv e = gv_index(v, i);
        json_array_append(a, e.j ? e.j : json_null());
        gv_drop(&e);
    }
    return (gv){a, v.t, false};
}

static int cmp_keys(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t gv_map_keys(gv m, const char ***keys) {
    size_t n = json_is_object(m.j) ? json_object_size(m.j) : 0, k = 0;
    *keys = oc_malloc((n ? n : 1) * sizeof **keys);
    const char *key;
    json_t *val;
    if (n)
        json_object_foreach(m.j, key, val) (*keys)[k++] = key;
    qsort(*keys, k, sizeof **keys, cmp_keys);
    return k;
}

/* The data's Messages and Tools have upstream's slice types; other keys
 * hold plain values. */
static gt_type map_elem(gv m, const char *key) {
    if (m.t != GT_ROOT) return elem_type(m);
    if (!strcmp(key, "Messages") || !strcmp(key, "messages")) return GT_MSGS;
    if (!strcmp(key, "Tools") || !strcmp(key, "tools")) return GT_TOOLS;
    return GT_ANY;
}

gv gv_map_get(gv m, const char *key) { return gv_of(json_object_get(m.j, key), map_elem(m, key)); }

/* "ToolCallID" -> "tool_call_id": an underscore before an upper-case
 * letter that follows a lower-case letter or digit, or that starts a word
 * after an acronym. */
static void snake_case(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (size_t i = 0; s[i] && k + 2 < n; i++) {
        char c = s[i];
        bool up = c >= 'A' && c <= 'Z';
        if (up && i > 0) {
            char p = s[i - 1], nx = s[i + 1];
            bool prev_low = (p >= 'a' && p <= 'z') || (p >= '0' && p <= '9');
            bool acronym_end = p >= 'A' && p <= 'Z' && nx >= 'a' && nx <= 'z';
            if (prev_low || acronym_end) out[k++] = '_';
        }
        out[k++] = up ? (char)(c - 'A' + 'a') : c;
    }
    out[k] = 0;
}

static json_t *lookup(json_t *obj, const char *name, const char *alt) {
    if (!obj) return NULL;
    json_t *j = json_object_get(obj, name);
    if (!j && alt) j = json_object_get(obj, alt);
    if (!j) {
        char snake[128];
        snake_case(name, snake, sizeof snake);
        j = json_object_get(obj, snake);
    }
    return j;
}

static int struct_field(gv recv, const char *name, gv *out, char *msg, size_t n) {
    const struct_def *sd = types[recv.t].sd;
    for (int i = 0; i < sd->n; i++) {
        const field_def *f = &sd->f[i];
        if (strcmp(f->go, name) != 0) continue;
        if (types[recv.t].kind == K_PTR && !recv.j) {
            snprintf(msg, n, "nil pointer evaluating %s.%s", types[recv.t].name, name);
            return -1;
        }
        *out = gv_of(lookup(recv.j, f->go, f->json), f->type);
        return 0;
    }
    snprintf(msg, n, "can't evaluate field %s in type %s", name, types[recv.t].name);
    return -1;
}

int gv_field(gv recv, const char *name, gv *out, char *msg, size_t n) {
    switch (gv_kind(recv)) {
    case K_INVALID:
        if (!recv.iface) { *out = (gv){0}; return 0; }
        snprintf(msg, n, "nil pointer evaluating interface {}.%s", name);
        return -1;
    case K_MAP: *out = gv_of(lookup(recv.j, name, NULL), map_elem(recv, name)); return 0; /* missing: zero */
    case K_STRUCT: case K_PTR: return struct_field(recv, name, out, msg, n);
    default:
        /* Go names the static type: data values sit in interface{} */
        snprintf(msg, n, "can't evaluate field %s in type %s", name, recv.iface ? "interface {}" : gv_typename(recv));
        return -1;
    }
}

int gv_struct_nfields(gv v) { return types[v.t].sd ? types[v.t].sd->n : 0; }

gv gv_struct_field(gv v, int i, const char **go, const char **json, bool *omitempty) {
    const field_def *f = &types[v.t].sd->f[i];
    if (go) *go = f->go;
    if (json) *json = f->json;
    if (omitempty) *omitempty = f->omitempty;
    return gv_of(lookup(v.j, f->go, f->json), f->type);
}

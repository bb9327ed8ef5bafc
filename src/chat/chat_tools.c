/* chat_tools: tool calls in model output, streaming. The generic parser
 * follows upstream's tools package: a tag derived from the template
 * ("<tool_call>", "[TOOL_CALLS]", or "{"/"[" for bare JSON) starts tool
 * calling; each call is a declared tool name plus the first balanced JSON
 * object that holds its arguments. A leading Llama 3 <|python_tag|> is
 * skipped, and `<|python_tag|>name.call(k="v")` is read as a call. The
 * Qwen3-Coder parser reads <tool_call><function=NAME><parameter=K>V
 * </parameter></function></tool_call> (or GLM's NAME<arg_key>K</arg_key>
 * <arg_value>V</arg_value>), converting values by the declared parameter
 * types; the Python parser reads `name(k="v")` calls listed between a
 * start and an end tag (LFM2, OLMo 3). */
#include <stdlib.h>
#include <string.h>

#include "chat/chat_parse_internal.h"

enum { LOOKING, CALLING, DONE };

static const char PY_TAG[] = "<|python_tag|>";

void cp_tools_init(cp_tools *p, cp_tools_kind kind, const char *tag, json_t *tools) {
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->tag = oc_strdup(kind == CP_TOOLS_QWEN3_CODER ? "<tool_call>" : tag && *tag ? tag : "{");
    p->end = oc_strdup(kind == CP_TOOLS_QWEN3_CODER                  ? "</tool_call>"
                       : !strcmp(p->tag, "<|tool_call_start|>") ? "<|tool_call_end|>"
                       : !strcmp(p->tag, "<function_calls>")    ? "</function_calls>"
                                                                : "");
    p->tools = json_is_array(tools) ? json_incref(tools) : json_array();
    p->scan.start = -1;
}

void cp_tools_free(cp_tools *p) {
    free(p->tag);
    free(p->end);
    json_decref(p->tools);
    oc_buf_free(&p->buf);
}

static const char *tool_name(const json_t *tool) {
    const char *s = json_string_value(json_object_get(json_object_get(tool, "function"), "name"));
    return s ? s : "";
}

static bool bare_json_tag(const cp_tools *p) { return !strcmp(p->tag, "{") || !strcmp(p->tag, "["); }

/* ---- generic: tool name ---- */

/* The earliest declared tool name in buf (longest at one position); NULL
 * when none, or when buf ends with a proper prefix of a name (wait). */
static const char *find_tool(const cp_tools *p, const char *buf, size_t n, size_t *end) {
    size_t i, longest = 0;
    json_t *t;
    json_array_foreach(p->tools, i, t) if (strlen(tool_name(t)) > longest) longest = strlen(tool_name(t));
    for (size_t k = 1; k <= n && k <= longest; k++)
        json_array_foreach(p->tools, i, t) {
            const char *name = tool_name(t);
            if (k < strlen(name) && memcmp(name, buf + n - k, k) == 0) return NULL;
        }
    const char *found = NULL;
    long start = -1;
    json_array_foreach(p->tools, i, t) {
        const char *name = tool_name(t);
        long pos = *name ? cp_find(buf, n, name) : -1;
        if (pos < 0 || (start >= 0 && (pos > start || (pos == start && strlen(name) <= strlen(found))))) continue;
        found = name, start = pos;
        *end = (size_t)pos + strlen(name);
    }
    return found;
}

/* ---- generic: arguments ---- */

static json_t *object_member(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    if (json_is_object(v)) return json_incref(v);
    if (json_is_string(v)) {
        json_t *d = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
        if (json_is_object(d)) return d;
        json_decref(d);
    }
    return NULL;
}

/* upstream's findObject: 1 with *args (maybe NULL = none) when obj is or
 * contains the call. */
static int find_object(json_t *obj, const char *tool, json_t **args, int depth) {
    if (depth > 64) return 0;
    if (json_object_get(obj, "name") || json_object_get(obj, "tool_name")) { /* tool_name: Command R7B */
        *args = object_member(obj, "arguments");
        if (!*args) *args = object_member(obj, "parameters");
        return 1;
    }
    if ((*args = object_member(obj, tool))) return 1;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (json_is_object(v) && find_object(v, tool, args, depth + 1)) return 1;
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) if (json_is_object(e) && find_object(e, tool, args, depth + 1)) return 1;
        }
    }
    return 0;
}

/* The first balanced {…} of the buffer that parses as an object; its
 * arguments in *args and the index after it in *end. Resumes where the
 * last unsuccessful scan of the same (grown) buffer stopped. */
static bool find_arguments(cp_tools *p, const char *tool, json_t **args, size_t *end) {
    const char *buf = p->buf.data;
    size_t n = p->buf.len;
    for (; p->scan.pos < n; p->scan.pos++) {
        size_t i = p->scan.pos;
        char c = buf[i];
        if (p->scan.esc) { p->scan.esc = false; continue; }
        if (c == '\\') { p->scan.esc = true; continue; }
        if (c == '"') { p->scan.in_str = !p->scan.in_str; continue; }
        if (p->scan.in_str) continue;
        if (c == '{') {
            if (p->scan.braces++ == 0) p->scan.start = (long)i;
        } else if (c == '}') {
            if (--p->scan.braces == 0 && p->scan.start >= 0) {
                size_t start = (size_t)p->scan.start;
                json_t *obj = json_loadb(buf + start, i + 1 - start, 0, NULL);
                if (!json_is_object(obj)) {
                    json_decref(obj);
                    p->scan.start = -1;
                    continue;
                }
                json_t *a = NULL;
                *args = find_object(obj, tool, &a, 0) ? a : json_incref(obj);
                json_decref(obj);
                *end = i + 1;
                return true;
            }
            if (p->scan.braces < 0) p->scan.braces = 0;
        }
    }
    return false;
}

static void scan_reset(cp_tools *p) {
    memset(&p->scan, 0, sizeof p->scan);
    memset(&p->bal, 0, sizeof p->bal);
    p->scan.start = -1;
}

/* For tags "{" and "[": the brackets of that kind balance in the buffer
 * (counted incrementally as it grows). */
static bool balanced(cp_tools *p) {
    char open = p->tag[0], close = open == '{' ? '}' : ']';
    for (; p->bal.pos < p->buf.len; p->bal.pos++) {
        char c = p->buf.data[p->bal.pos];
        if (p->bal.esc) { p->bal.esc = false; continue; }
        if (c == '\\') { p->bal.esc = true; continue; }
        if (c == '"') { p->bal.in_str = !p->bal.in_str; continue; }
        if (p->bal.in_str) continue;
        if (c == open) p->bal.braces++;
        else if (c == close && --p->bal.braces == 0) return true;
    }
    return false;
}

static bool parse_call(cp_tools *p, json_t *calls) {
    size_t name_end = 0, args_end = 0;
    const char *name = find_tool(p, p->buf.data, p->buf.len, &name_end);
    json_t *args = NULL;
    if (!name || !find_arguments(p, name, &args, &args_end)) return false;
    json_array_append_new(calls, cp_tool_call(name, args, p->n++));
    cp_buf_drop(&p->buf, name_end > args_end ? name_end : args_end);
    scan_reset(p);
    return true;
}

/* ---- Llama 3 builtin calls: <|python_tag|>name.call(k="v", n=1) ---- */

enum { PYCALL = 3, PYWAIT = 4 };

static const char *skip_ws(const char *s, const char *e) {
    while (s < e && cp_is_space((unsigned char)*s)) s++;
    return s;
}

/* One Python literal: a quoted string, True/False/None, or JSON (numbers,
 * lists, objects). *s advances past it. */
static json_t *py_value(const char **s, const char *e) {
    const char *p = *s;
    if (p < e && (*p == '"' || *p == '\'')) {
        char q = *p++;
        oc_buf b = {0};
        while (p < e && *p != q) {
            if (*p == '\\' && p + 1 < e) p++;
            oc_buf_append(&b, p++, 1);
        }
        if (p >= e) return oc_buf_free(&b), NULL;
        *s = p + 1;
        json_t *v = json_stringn(b.data ? b.data : "", b.len);
        oc_buf_free(&b);
        return v;
    }
    static const char *const words[] = {"True", "False", "None"};
    for (int i = 0; i < 3; i++)
        if ((size_t)(e - p) >= strlen(words[i]) && !strncmp(p, words[i], strlen(words[i]))) {
            *s = p + strlen(words[i]);
            return i == 0 ? json_true() : i == 1 ? json_false() : json_null();
        }
    json_error_t je;
    json_t *v = json_loadb(p, (size_t)(e - p), JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &je);
    if (v) *s = p + je.position;
    return v;
}

/* Parses `name[.call](k=v, ...)`; NULL if s is not such a call. */
static json_t *py_call(const char *s, size_t n, int index) {
    const char *e = s + n, *p = skip_ws(s, e), *name = p;
    while (p < e && *p != '(' && !cp_is_space((unsigned char)*p)) p++;
    if (p >= e || *p != '(' || p == name) return NULL;
    size_t len = (size_t)(p - name);
    if (len > 5 && !memcmp(p - 5, ".call", 5)) len -= 5;
    json_t *args = json_object();
    for (p = skip_ws(p + 1, e); p < e && *p != ')';) {
        const char *k = p;
        while (p < e && *p != '=' && *p != ')') p++;
        if (p >= e || *p != '=') break;
        char *key = oc_strndup(k, (size_t)(p - k));
        for (size_t l = strlen(key); l && cp_is_space((unsigned char)key[l - 1]); l--) key[l - 1] = 0;
        p = skip_ws(p + 1, e);
        json_t *v = py_value(&p, e);
        if (v) json_object_set_new(args, key, v);
        free(key);
        if (!v) break;
        p = skip_ws(p, e);
        if (p < e && *p == ',') p = skip_ws(p + 1, e);
    }
    if (p >= e || *p != ')') return json_decref(args), NULL;
    char *nm = oc_strndup(name, len);
    json_t *call = cp_tool_call(nm, args, index);
    free(nm);
    return call;
}

/* End of a python call: the ')' that closes the first '(' (quote-aware). */
static long py_call_end(const char *s, size_t n) {
    int depth = 0;
    char q = 0;
    for (size_t i = 0; i < n; i++) {
        if (q) {
            if (s[i] == '\\') i++;
            else if (s[i] == q) q = 0;
        } else if (s[i] == '"' || s[i] == '\'') q = s[i];
        else if (s[i] == '(') depth++;
        else if (s[i] == ')' && --depth == 0) return (long)i + 1;
    }
    return -1;
}

static void py_step(cp_tools *p, json_t *calls, bool last) {
    long end = py_call_end(p->buf.data, p->buf.len);
    if (end < 0 && !last) return;
    json_t *c = py_call(p->buf.data, end < 0 ? p->buf.len : (size_t)end, p->n);
    if (c) json_array_append_new(calls, c), p->n++;
    cp_buf_drop(&p->buf, end < 0 ? p->buf.len : (size_t)end);
    p->state = DONE; /* what follows a builtin call is the model's answer */
}

/* A leading <|python_tag|> (bare-JSON tags only): 1 = consumed, 0 = not
 * there, -1 = maybe (wait). */
static int python_tag(cp_tools *p) {
    const char *a = p->buf.data;
    size_t ws = (size_t)(skip_ws(a, a + p->buf.len) - a), rest = p->buf.len - ws, lt = strlen(PY_TAG);
    if (rest >= lt && !memcmp(a + ws, PY_TAG, lt)) {
        cp_buf_drop(&p->buf, ws + lt);
        p->state = PYWAIT;
        return 1;
    }
    return rest < lt && !memcmp(a + ws, PY_TAG, rest) ? -1 : 0;
}

/* After <|python_tag|>: JSON goes the generic way, anything else is a
 * builtin call. False while only whitespace has come. */
static bool py_decide(cp_tools *p) {
    const char *a = p->buf.data ? p->buf.data : "", *b = skip_ws(a, a + p->buf.len);
    if (b == a + p->buf.len) return false;
    p->state = *b == '{' || *b == '[' ? LOOKING : PYCALL;
    return true;
}

/* ---- generic: the stream ---- */

static void generic_add(cp_tools *p, oc_buf *content, json_t *calls, bool last) {
    if (p->state == LOOKING && bare_json_tag(p) && p->n == 0 && python_tag(p) < 0) return;
    if (p->state == PYWAIT && !py_decide(p)) return;
    if (p->state == PYCALL) return py_step(p, calls, last);
    if (p->state == LOOKING) {
        long at = cp_find(p->buf.data, p->buf.len, p->tag);
        size_t cut = at >= 0 ? (size_t)at : p->buf.len - cp_overlap(p->buf.data, p->buf.len, p->tag);
        bool only_space = skip_ws(p->buf.data, p->buf.data + cut) == p->buf.data + cut;
        if (bare_json_tag(p) && !only_space) { /* JSON calls only at the very start */
            oc_buf_append(content, p->buf.data, p->buf.len);
            oc_buf_clear(&p->buf);
            p->state = DONE;
            return;
        }
        oc_buf_append(content, p->buf.data, cut);
        cp_buf_drop(&p->buf, cut);
        scan_reset(p);
        if (at < 0) return;
        p->state = CALLING;
    }
    while (p->buf.len && parse_call(p, calls)) {
    }
    if (bare_json_tag(p) && balanced(p)) {
        p->state = DONE;
        oc_buf_append(content, p->buf.data, p->buf.len);
        oc_buf_clear(&p->buf);
    }
}

/* ---- Qwen3-Coder XML ---- */

static void trim_newlines(const char **s, size_t *n) {
    if (*n && (*s)[0] == '\n') (*s)++, (*n)--;
    if (*n && (*s)[*n - 1] == '\n') (*n)--;
}

/* GLM's NAME<arg_key>K</arg_key><arg_value>V</arg_value>… block. */
static json_t *glm_call(const cp_tools *p, const char *s, size_t n, int index) {
    const char *e = s + n;
    long k = cp_find(s, n, "<arg_key>");
    size_t nl = k >= 0 ? (size_t)k : n;
    while (nl && cp_is_space((unsigned char)s[nl - 1])) nl--;
    const char *name = skip_ws(s, s + nl);
    if (name >= s + nl) return NULL;
    char *nm = oc_strndup(name, (size_t)(s + nl - name));
    json_t *args = json_object();
    for (const char *q = k >= 0 ? s + k : e; q < e;) {
        long ke = cp_find(q, (size_t)(e - q), "</arg_key>"), vb = cp_find(q, (size_t)(e - q), "<arg_value>");
        if (ke < 0 || vb < 0 || vb < ke) break;
        const char *val = q + vb + 11;
        long ve = cp_find(val, (size_t)(e - val), "</arg_value>");
        size_t vn = ve >= 0 ? (size_t)ve : (size_t)(e - val);
        char *key = oc_strndup(q + 9, (size_t)ke - 9);
        json_object_set_new(args, key, cp_typed_value(cp_param_type(p->tools, nm, key), val, vn));
        free(key);
        q = val + vn + (ve >= 0 ? 12 : 0);
        long next = cp_find(q, (size_t)(e - q), "<arg_key>");
        if (next < 0) break;
        q += next;
    }
    json_t *call = cp_tool_call(nm, args, index);
    free(nm);
    return call;
}

/* One <function=NAME>…</function> block (GLM's arg_key form otherwise). */
static json_t *coder_call(const cp_tools *p, const char *s, size_t n, int index) {
    long f = cp_find(s, n, "<function=");
    if (f < 0) return glm_call(p, s, n, index);
    const char *name = s + f + 10, *e = s + n;
    const char *gt = memchr(name, '>', (size_t)(e - name));
    if (!gt) return NULL;
    char *nm = oc_strndup(name, (size_t)(gt - name));
    json_t *args = json_object();
    for (const char *q = gt + 1;;) {
        long a = cp_find(q, (size_t)(e - q), "<parameter=");
        if (a < 0) break;
        const char *key = q + a + 11, *kend = memchr(key, '>', (size_t)(e - key));
        if (!kend) break;
        long v = cp_find(kend + 1, (size_t)(e - kend - 1), "</parameter>");
        const char *val = kend + 1;
        size_t vn = v >= 0 ? (size_t)v : (size_t)(e - val);
        long next = cp_find(val, vn, "<parameter="); /* a missing close ends at the next one */
        if (next >= 0) vn = (size_t)next;
        long fend = cp_find(val, vn, "</function>");
        if (fend >= 0) vn = (size_t)fend;
        trim_newlines(&val, &vn);
        char *k = oc_strndup(key, (size_t)(kend - key));
        json_object_set_new(args, k, cp_typed_value(cp_param_type(p->tools, nm, k), val, vn));
        free(k);
        q = val + vn;
    }
    json_t *call = cp_tool_call(nm, args, index);
    free(nm);
    return call;
}

/* Python-style calls one after another: `[a(x=1), b()]` or one a line. */
static void py_list(cp_tools *p, const char *s, size_t n, json_t *calls) {
    const char *e = s + n;
    while (s < e) {
        while (s < e && (cp_is_space((unsigned char)*s) || *s == '[' || *s == ',' || *s == ']')) s++;
        if (s >= e) break;
        long end = py_call_end(s, (size_t)(e - s));
        json_t *c = end > 0 ? py_call(s, (size_t)end, p->n) : NULL;
        if (!c) break;
        json_array_append_new(calls, c);
        p->n++;
        s += end;
    }
}

static void coder_add(cp_tools *p, oc_buf *content, json_t *calls, bool last) {
    for (;;) {
        if (p->state == LOOKING) {
            if (p->n > 0) { /* the space between calls is not content */
                const char *b = skip_ws(p->buf.data, p->buf.data + p->buf.len);
                cp_buf_drop(&p->buf, (size_t)(b - p->buf.data));
            }
            long at = cp_find(p->buf.data, p->buf.len, p->tag);
            size_t cut = at >= 0 ? (size_t)at : p->buf.len - (last ? 0 : cp_overlap(p->buf.data, p->buf.len, p->tag));
            oc_buf_append(content, p->buf.data, cut);
            cp_buf_drop(&p->buf, cut);
            if (at < 0) return;
            cp_buf_drop(&p->buf, strlen(p->tag));
            p->state = CALLING;
        }
        long end = cp_find(p->buf.data, p->buf.len, p->end);
        if (end < 0 && !last) return;
        size_t blk = end < 0 ? p->buf.len : (size_t)end;
        if (p->kind == CP_TOOLS_PYTHON) {
            py_list(p, p->buf.data, blk, calls);
        } else {
            json_t *c = coder_call(p, p->buf.data, blk, p->n);
            if (c) json_array_append_new(calls, c), p->n++;
        }
        cp_buf_drop(&p->buf, end < 0 ? blk : blk + strlen(p->end));
        p->state = LOOKING;
        if (end < 0) return;
    }
}

/* ---- entry points ---- */

void cp_tools_add(cp_tools *p, const char *s, size_t n, oc_buf *content, json_t *calls) {
    if (p->state == DONE) return oc_buf_append(content, s, n);
    oc_buf_append(&p->buf, s, n);
    if (p->kind != CP_TOOLS_TAG) coder_add(p, content, calls, false);
    else generic_add(p, content, calls, false);
}

/* End of output: bare-JSON text that held no call is content after all; a
 * held-back partial tag is content; a started builtin call is parsed. */
void cp_tools_flush(cp_tools *p, oc_buf *content, json_t *calls) {
    if (p->kind != CP_TOOLS_TAG) {
        if (p->state != DONE) coder_add(p, content, calls, true);
    } else if (p->state == PYCALL || p->state == PYWAIT) {
        p->state = PYCALL;
        py_step(p, calls, true);
    } else if (p->state == LOOKING || (p->state == CALLING && p->n == 0 && bare_json_tag(p))) {
        oc_buf_append(content, p->buf.data, p->buf.len);
    }
    oc_buf_clear(&p->buf);
    p->state = DONE;
}

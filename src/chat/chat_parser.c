/* chat_parser: the streaming output parser a request drives piece by piece:
 * harmony, or thinking first and then tool calls over what remains as
 * content; plus the helpers the parsers share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "chat/chat_parse_internal.h"

struct chat_parser {
    bool think, tools, harmony;
    cp_think th;
    cp_tools tp;
    cp_harmony hp;
    oc_buf tmp; /* content between the thinking and tool stages */
};

/* ---- helpers ---- */

void cp_buf_drop(oc_buf *b, size_t n) {
    if (n >= b->len) return oc_buf_clear(b);
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = 0;
}

size_t cp_overlap(const char *s, size_t n, const char *tag) {
    size_t lt = strlen(tag), max = lt < n ? lt : n;
    for (size_t k = max; k > 0; k--)
        if (memcmp(s + n - k, tag, k) == 0) return k;
    return 0;
}

long cp_find(const char *s, size_t n, const char *needle) {
    size_t ln = strlen(needle);
    if (!s || !ln || ln > n) return -1;
    const char *hit = memmem(s, n, needle, ln);
    return hit ? (long)(hit - s) : -1;
}

bool cp_is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* "call_" + 8 random [a-z0-9], as upstream's ids. */
static void call_id(char out[14]) {
    static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[8] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        for (int i = 0; i < 8; i++) r[i] = (unsigned char)rand();
    memcpy(out, "call_", 5);
    for (int i = 0; i < 8; i++) out[5 + i] = set[r[i] % 36];
    out[13] = 0;
}

json_t *cp_tool_call(const char *name, json_t *args, int index) {
    char id[14];
    call_id(id);
    json_t *fn = json_object();
    json_object_set_new(fn, "index", json_integer(index));
    json_object_set_new(fn, "name", json_string(name));
    json_object_set_new(fn, "arguments", args ? args : json_object());
    json_t *call = json_object();
    json_object_set_new(call, "id", json_string(id));
    json_object_set_new(call, "function", fn);
    return call;
}

const char *cp_param_type(const json_t *tools, const char *name, const char *arg) {
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *n = json_string_value(json_object_get(fn, "name"));
        if (!n || strcmp(n, name) != 0) continue;
        json_t *ty = json_object_get(json_object_get(json_object_get(json_object_get(fn, "parameters"), "properties"), arg), "type");
        if (json_is_array(ty)) ty = json_array_get(ty, 0);
        return json_string_value(ty) ? json_string_value(ty) : "";
    }
    return "";
}

json_t *cp_typed_value(const char *type, const char *s, size_t n) {
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY, NULL);
    bool fits = v && strcmp(type, "string") != 0 && (!*type || (!strcmp(type, "integer") && json_is_integer(v)) ||
                      (!strcmp(type, "number") && json_is_number(v)) ||
                      (!strcmp(type, "boolean") && json_is_boolean(v)) ||
                      (!strcmp(type, "object") && json_is_object(v)) || (!strcmp(type, "array") && json_is_array(v)));
    if (fits) return v;
    json_decref(v);
    json_t *str = json_stringn(s, n);
    return str ? str : json_string("");
}

/* ---- the parser ---- */

chat_parser *chat_parser_new(const chat_parser_opts *o) {
    chat_parser *p = oc_calloc(1, sizeof *p);
    oc_buf_puts(&p->tmp, "");
    p->harmony = o->harmony;
    if (p->harmony) {
        cp_harmony_init(&p->hp, o->tool_list);
        return p;
    }
    p->think = o->think_open && *o->think_open && o->think_close && *o->think_close;
    if (p->think) {
        cp_think_init(&p->th, o->think_open, o->think_close, o->think_started);
        p->th.drop_stray = o->think_started && o->think_drop_stray;
        if (o->think_abort && *o->think_abort) p->th.abort = oc_strdup(o->think_abort);
    }
    p->tools = o->tools != CHAT_TOOLS_NONE;
    if (p->tools)
        cp_tools_init(&p->tp,
                      o->tools == CHAT_TOOLS_QWEN3_CODER ? CP_TOOLS_QWEN3_CODER
                      : o->tools == CHAT_TOOLS_PYTHON    ? CP_TOOLS_PYTHON
                                                         : CP_TOOLS_TAG,
                      o->tool_tag, o->tool_list);
    if (p->tools) oc_buf_puts(&p->tp.buf, "");
    return p;
}

void chat_parser_free(chat_parser *p) {
    if (!p) return;
    if (p->harmony) cp_harmony_free(&p->hp);
    if (p->think) cp_think_free(&p->th);
    if (p->tools) cp_tools_free(&p->tp);
    oc_buf_free(&p->tmp);
    free(p);
}

static void stage_two(chat_parser *p, chat_delta *d, bool last) {
    if (p->tools) {
        cp_tools_add(&p->tp, p->tmp.data, p->tmp.len, &d->content, d->calls);
        if (last) cp_tools_flush(&p->tp, &d->content, d->calls);
    } else {
        oc_buf_append(&d->content, p->tmp.data, p->tmp.len);
    }
    oc_buf_clear(&p->tmp);
}

void chat_parser_add(chat_parser *p, const char *s, size_t n, chat_delta *d) {
    if (p->harmony) return cp_harmony_add(&p->hp, s, n, &d->thinking, &d->content, d->calls);
    if (p->think) cp_think_add(&p->th, s, n, &d->thinking, &p->tmp);
    else oc_buf_append(&p->tmp, s, n);
    stage_two(p, d, false);
}

void chat_parser_finish(chat_parser *p, chat_delta *d) {
    if (p->harmony) return cp_harmony_flush(&p->hp, &d->thinking, &d->content, d->calls);
    if (p->think) cp_think_flush(&p->th, &d->thinking, &p->tmp);
    stage_two(p, d, true);
}

void chat_delta_init(chat_delta *d) {
    memset(d, 0, sizeof *d);
    oc_buf_puts(&d->content, "");
    oc_buf_puts(&d->thinking, "");
    d->calls = json_array();
}

void chat_delta_clear(chat_delta *d) {
    oc_buf_clear(&d->content);
    oc_buf_clear(&d->thinking);
    json_array_clear(d->calls);
}

void chat_delta_free(chat_delta *d) {
    oc_buf_free(&d->content);
    oc_buf_free(&d->thinking);
    json_decref(d->calls);
}

/* harmony: gpt-oss output, a sequence of messages
 * <|start|>HEADER<|message|>BODY<|end|>, parsed as upstream's harmony
 * parser does. The stream begins as if after <|start|>assistant (the prompt
 * ends there). Channel `analysis` is thinking, `final` (and `commentary`
 * without a recipient) content; a `to=functions.NAME` recipient makes the
 * body a tool call's JSON arguments, emitted when its message ends. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat_parse_internal.h"

enum { LOOK_START, HEADER, BODY };
enum { CH_CONTENT, CH_THINKING, CH_TOOL };

static const char START[] = "<|start|>", MSG[] = "<|message|>", CHANNEL[] = "<|channel|>";
static const char *const ENDS[] = {"<|end|>", "<|call|>", "<|return|>"};

void cp_harmony_init(cp_harmony *p, json_t *tools) {
    memset(p, 0, sizeof *p);
    p->state = HEADER;
    oc_buf_puts(&p->acc, "assistant");
    oc_buf_puts(&p->body, "");
    p->tools = json_is_array(tools) ? json_incref(tools) : json_array();
}

void cp_harmony_free(cp_harmony *p) {
    oc_buf_free(&p->acc);
    oc_buf_free(&p->body);
    free(p->recipient);
    json_decref(p->tools);
}

/* The next whitespace-free word of s (advancing it), or NULL. */
static char *word(const char **s, const char *e) {
    while (*s < e && cp_is_space((unsigned char)**s)) (*s)++;
    const char *b = *s;
    while (*s < e && !cp_is_space((unsigned char)**s) && strncmp(*s, "<|", 2) != 0) (*s)++;
    return *s > b ? oc_strndup(b, (size_t)(*s - b)) : NULL;
}

/* Role, optional <|channel|>NAME, optional to=RECIPIENT (before or after
 * the channel); <|constrain|>… is ignored. */
static void header(cp_harmony *p, const char *h, size_t n) {
    const char *e = h + n, *s = h;
    char *channel = NULL;
    free(p->recipient);
    p->recipient = NULL;
    while (s < e) {
        if (!strncmp(s, CHANNEL, strlen(CHANNEL))) {
            s += strlen(CHANNEL);
            free(channel);
            channel = word(&s, e);
        } else if (!strncmp(s, "<|", 2)) {
            const char *c = strstr(s + 2, "|>");
            s = c && c < e ? c + 2 : e;
        } else {
            char *w = word(&s, e);
            if (w && !strncmp(w, "to=", 3) && !p->recipient) p->recipient = oc_strdup(w + 3);
            if (!w && s < e && strncmp(s, "<|", 2) != 0) s++;
            free(w);
        }
    }
    bool analysis = channel && !strcmp(channel, "analysis");
    p->channel = p->recipient ? CH_TOOL : analysis ? CH_THINKING : CH_CONTENT;
    free(channel);
}

static void end_message(cp_harmony *p, json_t *calls) {
    if (p->channel == CH_TOOL && p->recipient) {
        const char *name = p->recipient;
        if (!strncmp(name, "functions.", 10)) name += 10;
        json_t *args = json_loadb(p->body.data, p->body.len, 0, NULL);
        if (!json_is_object(args)) json_decref(args), args = NULL;
        json_array_append_new(calls, cp_tool_call(name, args, p->n++));
    }
    oc_buf_clear(&p->body);
    p->channel = CH_CONTENT;
}

static void emit(cp_harmony *p, const char *s, size_t n, oc_buf *thinking, oc_buf *content) {
    if (p->channel == CH_TOOL) oc_buf_append(&p->body, s, n);
    else oc_buf_append(p->channel == CH_THINKING ? thinking : content, s, n);
}

/* One step; true when another may make progress. */
static bool eat(cp_harmony *p, oc_buf *thinking, oc_buf *content, json_t *calls) {
    const char *a = p->acc.data;
    size_t n = p->acc.len;
    if (p->state == LOOK_START) {
        long at = cp_find(a, n, START);
        if (at < 0) { /* text between messages is dropped, as upstream does */
            cp_buf_drop(&p->acc, n - cp_overlap(a, n, START));
            return false;
        }
        cp_buf_drop(&p->acc, (size_t)at + strlen(START));
        p->state = HEADER;
        return true;
    }
    if (p->state == HEADER) {
        long at = cp_find(a, n, MSG);
        if (at < 0) return false;
        header(p, a, (size_t)at);
        cp_buf_drop(&p->acc, (size_t)at + strlen(MSG));
        p->state = BODY;
        return true;
    }
    long best = -1;
    size_t tag_len = 0, keep = 0;
    for (int i = 0; i < 3; i++) {
        long at = cp_find(a, n, ENDS[i]);
        if (at >= 0 && (best < 0 || at < best)) best = at, tag_len = strlen(ENDS[i]);
        size_t o = cp_overlap(a, n, ENDS[i]);
        if (o > keep) keep = o;
    }
    if (best >= 0) {
        emit(p, a, (size_t)best, thinking, content);
        cp_buf_drop(&p->acc, (size_t)best + tag_len);
        end_message(p, calls);
        p->state = LOOK_START;
        return true;
    }
    emit(p, a, n - keep, thinking, content);
    cp_buf_drop(&p->acc, n - keep);
    return false;
}

void cp_harmony_add(cp_harmony *p, const char *s, size_t n, oc_buf *thinking, oc_buf *content, json_t *calls) {
    oc_buf_append(&p->acc, s, n);
    while (eat(p, thinking, content, calls)) {
    }
}

/* End of output: the open message ends (a tool call stopped by <|call|> as
 * an end-of-generation token is complete). */
void cp_harmony_flush(cp_harmony *p, oc_buf *thinking, oc_buf *content, json_t *calls) {
    if (p->state == BODY) {
        emit(p, p->acc.data, p->acc.len, thinking, content);
        end_message(p, calls);
    }
    oc_buf_clear(&p->acc);
    p->state = LOOK_START;
}

/* chat_detect: what a template says about a model, as upstream reads it —
 * the thinking tags a Go template wraps .Thinking in (thinking.InferTags),
 * the text that starts its tool calls (tools.parseTag), its tool round
 * trip; and the same questions asked of a GGUF Jinja chat template by
 * plain text search (server/images.go). */
#include <stdlib.h>
#include <string.h>

#include "chat/gotmpl_internal.h"

static const gt_node *main_root(const gotmpl *t) {
    const gt_tree *tr = gt_find_tree(t, t->name);
    return tr ? tr->root : NULL;
}

static char *trimmed(const char *s, size_t n) {
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')) s++, n--;
    while (n && strchr(" \t\n\r\v\f", s[n - 1])) n--;
    return oc_strndup(s, n);
}

/* ---- thinking tags ---- */

typedef struct {
    const gt_node *stack[GT_MAX_NEST * 2 + 8]; /* node ancestors (lists, branches) */
    int depth;
    char *open, *close;
} infer;

static bool pipe_has_field(const gt_pipe *p, const char *name, int depth) {
    if (!p || depth > GT_MAX_NEST) return false;
    for (int c = 0; c < p->n_cmds; c++)
        for (int a = 0; a < p->cmds[c]->n; a++) {
            const gt_arg *arg = p->cmds[c]->args[a];
            if (arg->type == A_FIELD && arg->n_idents && !strcmp(arg->idents[0], name)) return true;
            if (arg->type == A_PIPE && pipe_has_field(arg->pipe, name, depth + 1)) return true;
        }
    return false;
}

/* A .Thinking reference inside a range over Messages: the nearest list's
 * first and last text nodes are the tags. */
static void found_thinking(infer *s) {
    const gt_node *range = NULL;
    for (int i = s->depth - 1; i >= 0 && !range; i--)
        if (s->stack[i]->type == N_RANGE) range = s->stack[i];
    if (!range || !pipe_has_field(range->pipe, "Messages", 0)) return;
    for (int i = s->depth - 1; i >= 0; i--) {
        const gt_node *l = s->stack[i];
        if (l->type != N_LIST) continue;
        if (l->n && l->nodes[0]->type == N_TEXT) free(s->open), s->open = trimmed(l->nodes[0]->text, l->nodes[0]->len);
        if (l->n && l->nodes[l->n - 1]->type == N_TEXT)
            free(s->close), s->close = trimmed(l->nodes[l->n - 1]->text, l->nodes[l->n - 1]->len);
        return;
    }
}

static void visit_pipe(infer *s, const gt_pipe *p, int depth) {
    if (!p || depth > GT_MAX_NEST) return;
    for (int c = 0; c < p->n_cmds; c++)
        for (int a = 0; a < p->cmds[c]->n; a++) {
            const gt_arg *arg = p->cmds[c]->args[a];
            if (arg->type == A_FIELD && arg->n_idents && !strcmp(arg->idents[0], "Thinking")) found_thinking(s);
            if (arg->type == A_PIPE) visit_pipe(s, arg->pipe, depth + 1);
        }
}

static void visit(infer *s, const gt_node *n) {
    if (!n || s->depth >= (int)(sizeof s->stack / sizeof s->stack[0])) return;
    s->stack[s->depth++] = n;
    switch (n->type) {
    case N_LIST:
        for (int i = 0; i < n->n; i++) visit(s, n->nodes[i]);
        break;
    case N_ACTION: case N_TEMPLATE: visit_pipe(s, n->pipe, 0); break;
    case N_IF: case N_RANGE: case N_WITH:
        visit_pipe(s, n->pipe, 0);
        visit(s, n->list);
        visit(s, n->else_list);
        break;
    default: break;
    }
    s->depth--;
}

void gotmpl_think_tags(const gotmpl *t, char **open, char **close) {
    infer *s = oc_calloc(1, sizeof *s);
    visit(s, main_root(t));
    *open = s->open ? s->open : oc_strdup("");
    *close = s->close ? s->close : oc_strdup("");
    free(s);
}

/* ---- tool-call tag ---- */

static bool is_toolcalls_if(const gt_node *n) {
    const gt_pipe *p = n->pipe;
    for (int c = 0; p && c < p->n_cmds; c++)
        for (int a = 0; a < p->cmds[c]->n; a++) {
            const gt_arg *arg = p->cmds[c]->args[a];
            for (int i = 0; arg->type == A_FIELD && i < arg->n_idents; i++)
                if (!strcmp(arg->idents[i], "ToolCalls")) return true;
        }
    return false;
}

static const gt_node *find_toolcalls(const gt_node *list, int depth) {
    if (!list || depth > GT_MAX_NEST) return NULL;
    for (int i = 0; i < list->n; i++) {
        const gt_node *n = list->nodes[i], *r = NULL;
        if (n->type == N_IF && is_toolcalls_if(n)) return n;
        if (n->type == N_LIST) r = find_toolcalls(n, depth + 1);
        else if (n->type == N_IF || n->type == N_RANGE || n->type == N_WITH)
            if (!(r = find_toolcalls(n->list, depth + 1))) r = find_toolcalls(n->else_list, depth + 1);
        if (r) return r;
    }
    return NULL;
}

/* The first text with non-space content; a branch without one, or an
 * action before any, ends the search. */
static const gt_node *first_text(const gt_node *list, int depth) {
    if (!list || depth > GT_MAX_NEST) return NULL;
    for (int i = 0; i < list->n; i++) {
        const gt_node *n = list->nodes[i], *r;
        switch (n->type) {
        case N_TEXT: {
            char *t = trimmed(n->text, n->len);
            bool blank = !*t;
            free(t);
            if (!blank) return n;
            break;
        }
        case N_LIST:
            if ((r = first_text(n, depth + 1))) return r;
            break;
        case N_IF: case N_RANGE: case N_WITH:
            if ((r = first_text(n->list, depth + 1))) return r;
            return first_text(n->else_list, depth + 1);
        case N_ACTION: return NULL;
        default: break;
        }
    }
    return NULL;
}

char *gotmpl_tool_tag(const gotmpl *t) {
    const gt_node *tc = find_toolcalls(main_root(t), 0);
    const gt_node *tn = tc ? first_text(tc->list, 0) : NULL;
    if (!tn) return oc_strdup("{");
    oc_buf b = {0};
    for (size_t i = 0; i < tn->len; i++) /* CRLF -> LF, up to the first '{' */
        if (tn->text[i] == '{') break;
        else if (!(tn->text[i] == '\r' && i + 1 < tn->len && tn->text[i + 1] == '\n')) oc_buf_append(&b, tn->text + i, 1);
    char *tag = trimmed(b.data ? b.data : "", b.len);
    oc_buf_free(&b);
    if (!*tag) free(tag), tag = oc_strdup("{");
    return tag;
}

bool gotmpl_tool_round_trip(const gotmpl *t) {
    char **vars = NULL;
    size_t n = 0;
    oc_error err;
    if (gotmpl_vars(t, &vars, &n, &err)) return false;
    bool tools = false, calls = false;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(vars[i], "tools")) tools = true;
        if (!strcmp(vars[i], "toolcalls")) calls = true;
    }
    gotmpl_vars_free(vars, n);
    return tools && calls &&
           (strstr(t->src, "eq .Role \"tool\"") || strstr(t->src, "tool_response") || strstr(t->src, "TOOL_RESULTS"));
}

/* ---- Jinja chat templates ---- */

bool chat_jinja_has_tools(const char *t) { return strstr(t, "tools") || strstr(t, "tool_call"); }

bool chat_jinja_has_thinking(const char *t) {
    if (strstr(t, "<think>") && strstr(t, "</think>")) return true;
    return (strstr(t, "content.split('</think>')") || strstr(t, "content.split(\"</think>\")")) &&
           !strstr(t, "reasoning_content") && !strstr(t, "<SPECIAL_12>");
}

bool chat_jinja_tool_round_trip(const char *t) {
    static const char *const tool_role[] = {"tool_response", "tool_results", "role'] == 'tool'", "role'] == \"tool\"",
                                            "role\"] == 'tool'", "role\"] == \"tool\"", "message.role == 'tool'",
                                            "message.role == \"tool\"", "ipython"};
    if (!chat_jinja_has_tools(t) || !(strstr(t, "tool_calls") || strstr(t, "assistant_tool_call"))) return false;
    for (size_t i = 0; i < sizeof tool_role / sizeof *tool_role; i++)
        if (strstr(t, tool_role[i])) return true;
    return false;
}

/* <｜tool▁calls▁begin｜> (DeepSeek R1/V3): calls follow as
 * NAME<｜tool▁sep｜>… and a JSON object of arguments. */
#define DEEPSEEK_CALLS "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"

int chat_jinja_tool_format(const char *t, const char **tag) {
    *tag = "{";
    if (strstr(t, "<function=") && strstr(t, "<parameter=")) return CHAT_TOOLS_QWEN3_CODER;
    if (strstr(t, "<tool_call>")) *tag = "<tool_call>";
    else if (strstr(t, "[TOOL_CALLS]")) *tag = "[TOOL_CALLS]";
    else if (strstr(t, DEEPSEEK_CALLS)) *tag = DEEPSEEK_CALLS;
    else if (strstr(t, "<|START_ACTION|>")) *tag = "<|START_ACTION|>";
    return CHAT_TOOLS_TAG;
}

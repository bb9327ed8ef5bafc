/* gotmpl_ollama: the tree operations upstream Ollama's template package
 * performs on parsed templates, for its chat/legacy decision and its legacy
 * path: Template.Vars (the identifiers a template uses), appending
 * {{ .Response }} to templates that lack it, and the final legacy pass's
 * copy with everything after the first .Response removed (deleteNode). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/gotmpl_internal.h"

/* ---- Template.Vars ---- */

typedef struct {
    char **v;
    size_t n, cap;
} names;

static void add_name(names *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcasecmp(s->v[i], name) == 0) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = oc_realloc(s->v, s->cap * sizeof *s->v);
    }
    char *c = oc_strdup(name);
    for (char *p = c; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    s->v[s->n++] = c;
}

/* Fields and variables of a pipeline's commands, as upstream's Identifiers
 * (chains, declarations and function names are not looked at). */
static void pipe_names(const gt_pipe *p, names *s) {
    for (int c = 0; c < p->n_cmds; c++)
        for (int a = 0; a < p->cmds[c]->n; a++) {
            const gt_arg *arg = p->cmds[c]->args[a];
            if (arg->type == A_FIELD || arg->type == A_VAR)
                for (int i = 0; i < arg->n_idents; i++) add_name(s, arg->idents[i]);
            else if (arg->type == A_PIPE) pipe_names(arg->pipe, s);
        }
}

static int node_names(const gt_node *n, names *s, oc_error *err) {
    switch (n->type) {
    case N_LIST:
        for (int i = 0; i < n->n; i++)
            if (node_names(n->nodes[i], s, err)) return -1;
        return 0;
    case N_ACTION: pipe_names(n->pipe, s); return 0;
    case N_TEMPLATE:
        if (!n->pipe) return oc_fail(err, "undefined template specified");
        pipe_names(n->pipe, s);
        return 0;
    case N_IF: case N_RANGE: case N_WITH:
        pipe_names(n->pipe, s);
        if (node_names(n->list, s, err)) return -1;
        return n->else_list ? node_names(n->else_list, s, err) : 0;
    default: return 0;
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int gotmpl_vars(const gotmpl *t, char ***out, size_t *n, oc_error *err) {
    names s = {0};
    for (int i = 0; i < t->n_trees; i++) {
        if (node_names(t->trees[i].root, &s, err)) {
            gotmpl_vars_free(s.v, s.n);
            return -1;
        }
    }
    if (s.n > 1) qsort(s.v, s.n, sizeof *s.v, cmp_str);
    *out = s.v;
    *n = s.n;
    return 0;
}

void gotmpl_vars_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* ---- {{ .Response }} ---- */

/* Re-parsing the source with the action added gives exactly upstream's
 * tree with the node appended, and keeps source and tree in step. */
int gotmpl_append_response(gotmpl *t, oc_error *err) {
    static const char action[] = "{{ .Response }}";
    char *s = oc_malloc(t->src_len + sizeof action);
    memcpy(s, t->src, t->src_len);
    memcpy(s + t->src_len, action, sizeof action);
    gotmpl *c = gotmpl_parse(t->name, s, err);
    free(s);
    if (!c) return -1;
    gotmpl tmp = *t;
    *t = *c;
    *c = tmp;
    gotmpl_free(c);
    return 0;
}

/* ---- the cut after .Response (upstream's deleteNode) ---- */

/* Walks in document order; once a field naming Response has been seen,
 * every later node is dropped. The Response field itself stays, so its
 * action still prints. Conditions of if/range/with are not inspected. */
static bool cut_pipe(gt_pipe *p, bool *cut);

static bool keep_arg(gt_arg *a, bool *cut) {
    if (a->type == A_FIELD) {
        for (int i = 0; i < a->n_idents; i++)
            if (strcmp(a->idents[i], "Response") == 0) { *cut = true; return true; }
        return !*cut;
    }
    if (*cut) return false;
    if (a->type == A_PIPE) return cut_pipe(a->pipe, cut);
    return true;
}

/* Returns false when nothing of the pipeline is left. */
static bool cut_pipe(gt_pipe *p, bool *cut) {
    int nc = 0;
    for (int c = 0; c < p->n_cmds; c++) {
        gt_cmd *cmd = p->cmds[c];
        int na = 0;
        for (int a = 0; a < cmd->n; a++)
            if (keep_arg(cmd->args[a], cut)) cmd->args[na++] = cmd->args[a];
        cmd->n = na;
        if (na) p->cmds[nc++] = cmd;
    }
    p->n_cmds = nc;
    return nc > 0;
}

static bool cut_node(gt_node *n, bool *cut) {
    if (*cut) return false;
    switch (n->type) {
    case N_LIST: {
        int k = 0;
        for (int i = 0; i < n->n; i++)
            if (cut_node(n->nodes[i], cut)) n->nodes[k++] = n->nodes[i];
        n->n = k;
        return true;
    }
    case N_ACTION: return cut_pipe(n->pipe, cut);
    case N_IF: case N_RANGE: case N_WITH:
        cut_node(n->list, cut);
        if (n->else_list && !cut_node(n->else_list, cut)) n->else_list->n = 0;
        return true;
    default: return true;
    }
}

gotmpl *gotmpl_cut_after_response(const gotmpl *t) {
    oc_error err;
    gotmpl *c = gotmpl_parse(t->name, t->src, &err);
    if (!c) return NULL;
    gt_tree *main = (gt_tree *)gt_find_tree(c, c->name);
    bool cut = false;
    if (main) cut_node(main->root, &cut);
    return c;
}

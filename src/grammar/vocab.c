/* grammar: the vocabulary side — every token's bytes in a prefix trie, so
 * masking walks shared prefixes once and drops a whole subtree at the
 * first byte the grammar refuses; and sampling under the grammar. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

typedef struct tnode {
    int child, n_child; /* children are contiguous */
    int tok, n_tok;     /* tokens ending here: toks[tok .. tok+n_tok) */
    unsigned char byte;
} tnode;

struct grammar_vocab {
    int n;
    char **piece;
    size_t *len;
    bool *eog;
    int *toks; /* token ids in trie order */
    tnode *nodes;
    int n_nodes, cap_nodes;
    int max_len;
};

static int cmp_piece(const void *a, const void *b, void *arg) {
    const grammar_vocab *v = arg;
    int x = *(const int *)a, y = *(const int *)b;
    size_t lx = v->len[x], ly = v->len[y];
    int c = memcmp(v->piece[x], v->piece[y], lx < ly ? lx : ly);
    if (c) return c;
    return lx < ly ? -1 : lx > ly ? 1 : x - y;
}

static int new_nodes(grammar_vocab *v, int k) {
    if (v->n_nodes + k > v->cap_nodes) {
        while (v->cap_nodes < v->n_nodes + k) v->cap_nodes = v->cap_nodes ? 2 * v->cap_nodes : 1024;
        v->nodes = oc_realloc(v->nodes, (size_t)v->cap_nodes * sizeof(tnode));
    }
    int first = v->n_nodes;
    v->n_nodes += k;
    memset(v->nodes + first, 0, (size_t)k * sizeof(tnode));
    return first;
}

/* toks[lo, hi) share their first depth bytes and belong to node. */
static void build(grammar_vocab *v, int node, int lo, int hi, size_t depth) {
    int i = lo;
    while (i < hi && v->len[v->toks[i]] == depth) i++;
    v->nodes[node].tok = lo, v->nodes[node].n_tok = i - lo;
    int groups = 0;
    for (int j = i; j < hi; j++)
        if (j == i || v->piece[v->toks[j]][depth] != v->piece[v->toks[j - 1]][depth]) groups++;
    if (!groups) return;
    int first = new_nodes(v, groups);
    v->nodes[node].child = first, v->nodes[node].n_child = groups;
    for (int k = 0, j = i; k < groups; k++) {
        int start = j;
        unsigned char b = (unsigned char)v->piece[v->toks[j]][depth];
        while (j < hi && (unsigned char)v->piece[v->toks[j]][depth] == b) j++;
        v->nodes[first + k].byte = b;
        build(v, first + k, start, j, depth + 1);
    }
}

grammar_vocab *grammar_vocab_new(int n, const char *const *pieces, const size_t *lens, const bool *eog) {
    grammar_vocab *v = oc_calloc(1, sizeof *v);
    v->n = n;
    v->piece = oc_calloc((size_t)n + 1, sizeof(char *));
    v->len = oc_calloc((size_t)n + 1, sizeof(size_t));
    v->eog = oc_calloc((size_t)n + 1, sizeof(bool));
    v->toks = oc_malloc(((size_t)n + 1) * sizeof(int));
    int k = 0;
    for (int i = 0; i < n; i++) {
        v->piece[i] = oc_strndup(pieces[i] ? pieces[i] : "", lens[i]);
        v->len[i] = lens[i];
        v->eog[i] = eog && eog[i];
        if (!v->eog[i] && lens[i]) v->toks[k++] = i;
        if ((int)lens[i] > v->max_len) v->max_len = (int)lens[i];
    }
    qsort_r(v->toks, (size_t)k, sizeof(int), cmp_piece, v);
    build(v, new_nodes(v, 1), 0, k, 0);
    return v;
}

grammar_vocab *grammar_vocab_from_tokenizer(const tokenizer *t, int n_logits) {
    int n = n_logits, n_tok = tokenizer_n_vocab(t);
    char **p = oc_calloc((size_t)n + 1, sizeof(char *));
    size_t *l = oc_calloc((size_t)n + 1, sizeof(size_t));
    bool *e = oc_calloc((size_t)n + 1, sizeof(bool));
    for (int i = 0; i < n; i++) {
        oc_buf b = {0};
        if (i >= n_tok) continue; /* padding rows of the output layer */
        e[i] = tokenizer_is_eog(t, i);
        /* The bytes the engine's stream emits for this token. */
        if (!e[i]) tokenizer_token_to_piece(t, i, false, &b);
        p[i] = b.data, l[i] = b.len;
    }
    grammar_vocab *v = grammar_vocab_new(n, (const char *const *)p, l, e);
    for (int i = 0; i < n; i++) free(p[i]);
    free(p), free(l), free(e);
    return v;
}

void grammar_vocab_free(grammar_vocab *v) {
    if (!v) return;
    for (int i = 0; i < v->n; i++) free(v->piece[i]);
    free(v->piece), free(v->len), free(v->eog), free(v->toks), free(v->nodes);
    free(v);
}

/* ---- checking and masking ---- */

static void ensure_levels(grammar_matcher *m, int n) {
    if (n <= m->n_lvl) return;
    m->lvl = oc_realloc(m->lvl, (size_t)n * sizeof(gstate));
    memset(m->lvl + m->n_lvl, 0, (size_t)(n - m->n_lvl) * sizeof(gstate));
    m->n_lvl = n;
}

static bool token_fits(grammar_matcher *m, const grammar_vocab *v, int32_t tok, int limit) {
    if (tok < 0 || tok >= v->n) return false;
    if (v->eog[tok]) return gstate_complete(&m->cur);
    if (!v->len[tok]) return false;
    ensure_levels(m, 2);
    const gstate *in = &m->cur;
    for (size_t i = 0; i < v->len[tok]; i++) {
        gstate *out = &m->lvl[i & 1];
        if (!gstate_step(m->g, in, (unsigned char)v->piece[tok][i], out, &m->sc)) return false;
        in = out;
    }
    return limit == GRAMMAR_NO_LIMIT || gstate_distance(m->g, in) <= limit;
}

bool grammar_token_allowed(grammar_matcher *m, const grammar_vocab *v, int32_t tok) {
    return token_fits(m, v, tok, GRAMMAR_NO_LIMIT);
}

/* Marks the tokens below node (whose bytes led to cached state id). */
static void walk(grammar_matcher *m, const grammar_vocab *v, int node, int id, bool *ok, int limit) {
    const tnode *nd = &v->nodes[node];
    for (int c = nd->child; c < nd->child + nd->n_child; c++) {
        int next = gcache_step(m->g, m->cache, id, v->nodes[c].byte, &m->sc);
        if (next < 0) continue;
        if (v->nodes[c].n_tok && (limit == GRAMMAR_NO_LIMIT || gcache_distance(m->g, m->cache, next) <= limit))
            for (int k = 0; k < v->nodes[c].n_tok; k++) ok[v->toks[v->nodes[c].tok + k]] = true;
        walk(m, v, c, next, ok, limit);
    }
}

void grammar_mask(grammar_matcher *m, const grammar_vocab *v, float *logits, int limit) {
    bool *ok = oc_calloc((size_t)v->n + 1, sizeof(bool));
    walk(m, v, 0, gcache_root(&m->cache, &m->cur), ok, limit);
    bool complete = gstate_complete(&m->cur);
    for (int i = 0; i < v->n; i++)
        if (!(ok[i] || (v->eog[i] && complete))) logits[i] = -INFINITY;
    free(ok);
}

bool grammar_accept_token(grammar_matcher *m, const grammar_vocab *v, int32_t tok) {
    if (tok < 0 || tok >= v->n) return false;
    if (v->eog[tok]) return gstate_complete(&m->cur);
    if (!v->len[tok]) return false;
    return grammar_matcher_accept_bytes(m, v->piece[tok], v->len[tok]);
}

int32_t grammar_sample(grammar_matcher *m, const grammar_vocab *v, sampler *s, float *logits, int budget) {
    if (grammar_matcher_final(m)) return GRAMMAR_DONE;
    int limit = budget == GRAMMAR_NO_LIMIT ? GRAMMAR_NO_LIMIT : budget - 1;
    if (m->n_saved < v->n) {
        m->saved = oc_realloc(m->saved, (size_t)v->n * sizeof(float));
        m->n_saved = v->n;
    }
    memcpy(m->saved, logits, (size_t)v->n * sizeof(float));
    int32_t t = sampler_sample(s, logits);
    if (t >= 0 && token_fits(m, v, t, limit)) return t;
    memcpy(logits, m->saved, (size_t)v->n * sizeof(float));
    grammar_mask(m, v, logits, limit);
    t = sampler_sample(s, logits);
    if (t >= 0) return t;
    if (gstate_complete(&m->cur)) return GRAMMAR_DONE;
    if (limit == GRAMMAR_NO_LIMIT) return -1;
    /* No token closes in time: carry on unconstrained by the budget. */
    memcpy(logits, m->saved, (size_t)v->n * sizeof(float));
    grammar_mask(m, v, logits, GRAMMAR_NO_LIMIT);
    return sampler_sample(s, logits);
}

/* grammar: the incremental matcher — pushdown parse stacks advanced one
 * byte at a time, with code points assembled from UTF-8 so that character
 * classes are Unicode-aware and the output is always valid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

/* Stacks beyond these are dropped: the matcher then allows less, never
 * something the grammar refuses. */
#define MAX_STACKS 4096
#define MAX_DEPTH 2048
#define MAX_EXPAND 256

void gstate_free(gstate *s) {
    free(s->d);
    *s = (gstate){0};
}

static void reserve(gstate *s, int extra) {
    if (s->len + extra <= s->cap) return;
    while (s->cap < s->len + extra) s->cap = s->cap ? 2 * s->cap : 64;
    s->d = oc_realloc(s->d, (size_t)s->cap * sizeof(int));
}

void gstate_copy(gstate *dst, const gstate *src) {
    dst->len = 0;
    reserve(dst, src->len);
    if (src->len) memcpy(dst->d, src->d, (size_t)src->len * sizeof(int));
    dst->len = src->len;
    dst->n_stacks = src->n_stacks;
    dst->prefix = src->prefix, dst->need = src->need, dst->total = src->total;
}

static void clear(gstate *s) {
    s->len = s->n_stacks = 0;
    s->prefix = 0, s->need = s->total = 0;
}

/* Adds a stack unless an equal one is there. */
static void add_stack(gstate *s, const int *stk, int n) {
    if (s->n_stacks >= MAX_STACKS || n > MAX_DEPTH) return;
    for (int i = 0; i < s->len; i += s->d[i] + 1)
        if (s->d[i] == n && memcmp(s->d + i + 1, stk, (size_t)n * sizeof(int)) == 0) return;
    reserve(s, n + 1);
    s->d[s->len] = n;
    if (n) memcpy(s->d + s->len + 1, stk, (size_t)n * sizeof(int));
    s->len += n + 1;
    s->n_stacks++;
}

static int *scratch(gscratch *sc, int need) {
    if (need > sc->cap) {
        sc->cap = need * 2;
        sc->d = oc_realloc(sc->d, (size_t)sc->cap * sizeof(int));
    }
    return sc->d;
}

static bool pushable(const grammar *g, int pos) { return g->e[pos].kind == GE_CHAR || g->e[pos].kind == GE_REF; }

/* Resolves rule references on top of the stack held in sc->d[base ..
 * base+n) until each resulting stack has a CHAR on top (or is empty). */
static void expand(const grammar *g, gscratch *sc, int base, int n, gstate *out, int depth) {
    if (n == 0 || g->e[sc->d[base + n - 1]].kind == GE_CHAR) {
        add_stack(out, sc->d + base, n);
        return;
    }
    if (depth > MAX_EXPAND) return;
    int pos = sc->d[base + n - 1];
    int rule = g->e[pos].v;
    /* The continuation replaces the reference; none when the reference
     * ends its alternative (so right recursion does not grow the stack). */
    int m = n - 1;
    if (pushable(g, pos + 1)) sc->d[base + m++] = pos + 1;
    for (int a = g->rule_start[rule];; a++) {
        if (a == g->rule_start[rule] || g->e[a - 1].kind == GE_ALT) {
            int nb = base + n + 1; /* a fresh copy above ours */
            scratch(sc, nb + m + 1);
            memcpy(sc->d + nb, sc->d + base, (size_t)m * sizeof(int));
            int k = m;
            if (pushable(g, a)) sc->d[nb + k++] = a;
            expand(g, sc, nb, k, out, depth + 1);
        }
        if (g->e[a].kind == GE_END) break;
    }
}

void gstate_start(const grammar *g, gstate *s, gscratch *sc) {
    clear(s);
    int rule = g->root;
    for (int a = g->rule_start[rule];; a++) {
        if (a == g->rule_start[rule] || g->e[a - 1].kind == GE_ALT) {
            int k = 0;
            scratch(sc, 2);
            if (pushable(g, a)) sc->d[k++] = a;
            expand(g, sc, 0, k, s, 0);
        }
        if (g->e[a].kind == GE_END) break;
    }
}

/* Every stack whose top class holds cp moves past it. */
static bool advance(const grammar *g, const gstate *in, uint32_t cp, gstate *out, gscratch *sc) {
    clear(out);
    for (int i = 0; i < in->len; i += in->d[i] + 1) {
        int n = in->d[i];
        if (n == 0) continue;
        int pos = in->d[i + n];
        if (!gclass_has(&g->cls[g->e[pos].v], cp)) continue;
        int *d = scratch(sc, n + 1);
        memcpy(d, in->d + i + 1, (size_t)(n - 1) * sizeof(int));
        int m = n - 1;
        if (pushable(g, pos + 1)) d[m++] = pos + 1;
        expand(g, sc, 0, m, out, 0);
    }
    return out->n_stacks > 0;
}

static const uint32_t seq_min[5] = {0, 0, 0x80, 0x800, 0x10000};

/* The code points a pending sequence can still become. */
static bool pending_range(const gstate *s, uint32_t *lo, uint32_t *hi) {
    int shift = 6 * s->need;
    *lo = s->prefix << shift;
    *hi = *lo | ((1u << shift) - 1);
    if (*lo < seq_min[s->total]) *lo = seq_min[s->total];
    if (*hi > 0x10FFFF) *hi = 0x10FFFF;
    return *lo <= *hi;
}

static bool class_meets_1(const gclass *c, uint32_t lo, uint32_t hi) {
    for (int i = 0; i < c->n && lo <= hi; i++)
        if (c->r[2 * i] <= hi && c->r[2 * i + 1] >= lo) return true;
    return false;
}

/* Some member in lo..hi that is not a surrogate (those never complete). */
static bool class_meets(const gclass *c, uint32_t lo, uint32_t hi) {
    if (hi < 0xD800 || lo > 0xDFFF) return class_meets_1(c, lo, hi);
    return (lo < 0xD800 && class_meets_1(c, lo, 0xD7FF)) || (hi > 0xDFFF && class_meets_1(c, 0xE000, hi));
}

/* Some stack can take a code point of the pending range. */
static bool pending_viable(const grammar *g, const gstate *s) {
    uint32_t lo, hi;
    if (!pending_range(s, &lo, &hi)) return false;
    for (int i = 0; i < s->len; i += s->d[i] + 1)
        if (s->d[i] && class_meets(&g->cls[g->e[s->d[i + s->d[i]]].v], lo, hi)) return true;
    return false;
}

static bool step_pending(const grammar *g, const gstate *in, unsigned char b, gstate *out, gscratch *sc) {
    if ((b & 0xC0) != 0x80) return false;
    uint32_t cp = in->prefix << 6 | (b & 0x3F);
    if (in->need > 1) {
        gstate_copy(out, in);
        out->prefix = cp, out->need--;
        return pending_viable(g, out);
    }
    if (cp < seq_min[in->total] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    return advance(g, in, cp, out, sc);
}

bool gstate_step(const grammar *g, const gstate *in, unsigned char b, gstate *out, gscratch *sc) {
    if (in->need) return step_pending(g, in, b, out, sc);
    if (b < 0x80) return advance(g, in, b, out, sc);
    int total = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (!total) return false;
    gstate_copy(out, in);
    out->total = total, out->need = total - 1;
    out->prefix = b & (0x7F >> total);
    return pending_viable(g, out);
}

bool gstate_complete(const gstate *s) {
    if (s->need) return false;
    for (int i = 0; i < s->len; i += s->d[i] + 1)
        if (s->d[i] == 0) return true;
    return false;
}

static int sat(long v) { return v > GRAMMAR_INF ? GRAMMAR_INF : (int)v; }

int gstate_distance(const grammar *g, const gstate *s) {
    long best = GRAMMAR_INF;
    uint32_t lo = 0, hi = 0;
    if (s->need && !pending_range(s, &lo, &hi)) return GRAMMAR_INF;
    for (int i = 0; i < s->len; i += s->d[i] + 1) {
        int n = s->d[i];
        long d = 0;
        for (int k = 1; k <= n; k++) d += g->rest[s->d[i + k]];
        if (s->need) {
            if (!n) continue;
            int top = s->d[i + n];
            if (!class_meets(&g->cls[g->e[top].v], lo, hi)) continue;
            d += s->need - g->rest[top] + g->rest[top + 1];
        }
        if (d < best) best = d;
    }
    return sat(best);
}

/* ---- public matcher ---- */

grammar_matcher *grammar_matcher_new(const grammar *g) {
    grammar_matcher *m = oc_calloc(1, sizeof *m);
    m->g = g;
    gstate_start(g, &m->cur, &m->sc);
    return m;
}

void grammar_matcher_free(grammar_matcher *m) {
    if (!m) return;
    gstate_free(&m->cur);
    for (int i = 0; i < m->n_lvl; i++) gstate_free(&m->lvl[i]);
    free(m->lvl);
    gcache_free(m->cache);
    free(m->sc.d);
    free(m->saved);
    free(m);
}

bool grammar_matcher_accept_bytes(grammar_matcher *m, const char *s, size_t n) {
    gstate a = {0}, b = {0};
    gstate_copy(&a, &m->cur);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        ok = gstate_step(m->g, &a, (unsigned char)s[i], &b, &m->sc);
        gstate t = a;
        a = b, b = t;
    }
    if (ok) {
        gstate t = m->cur;
        m->cur = a, a = t;
    }
    gstate_free(&a);
    gstate_free(&b);
    return ok;
}

bool grammar_matcher_complete(const grammar_matcher *m) { return gstate_complete(&m->cur); }

bool grammar_matcher_final(const grammar_matcher *m) {
    return m->cur.n_stacks == 1 && gstate_complete(&m->cur);
}

int grammar_matcher_distance(const grammar_matcher *m) { return gstate_distance(m->g, &m->cur); }

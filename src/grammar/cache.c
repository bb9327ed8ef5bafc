/* grammar: the matcher's state cache — parse states interned by content
 * and transitions (state, byte) -> state remembered, so masking the
 * vocabulary mostly follows table entries: inside a string, every plain
 * character leads back to the same state, and the trie walk of 100k+
 * tokens costs a hash lookup per node instead of a stack rewrite. */
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

/* Past these the cache is emptied at the next mask (a pathological
 * grammar would otherwise grow it without bound). */
#define MAX_STATES 40000
#define MAX_POOL (2 << 20)
#define MAX_TRANS (1 << 20)

typedef struct cstate {
    size_t off; /* stacks in pool */
    int len, n_stacks, need, total, dist;
    uint32_t prefix, hash;
} cstate;

struct gcache {
    cstate *st;
    int n, cap;
    int *pool;
    size_t pool_len, pool_cap;
    int *set; /* open addressing: state ids by hash, -1 empty */
    int set_cap;
    uint64_t *tkey; /* transitions: key sid*256+byte+1 (0 empty) -> tval */
    int32_t *tval;
    int t_n, t_cap;
    gstate tmp;
};

static uint32_t hash_state(const gstate *s) {
    uint32_t h = 2166136261u ^ s->prefix ^ ((uint32_t)s->need << 8) ^ ((uint32_t)s->total << 16);
    for (int i = 0; i < s->len; i++) h = (h ^ (uint32_t)s->d[i]) * 16777619u;
    return h;
}

static gstate view(const gcache *c, int id) {
    const cstate *cs = &c->st[id];
    return (gstate){.d = c->pool + cs->off, .len = cs->len, .cap = cs->len, .n_stacks = cs->n_stacks,
                    .prefix = cs->prefix, .need = cs->need, .total = cs->total};
}

static bool same(const gcache *c, int id, const gstate *s, uint32_t h) {
    const cstate *cs = &c->st[id];
    return cs->hash == h && cs->len == s->len && cs->need == s->need && cs->prefix == s->prefix &&
           cs->total == s->total && !memcmp(c->pool + cs->off, s->d, (size_t)s->len * sizeof(int));
}

static void grow_set(gcache *c) {
    free(c->set);
    c->set_cap = c->set_cap ? 2 * c->set_cap : 1024;
    c->set = oc_malloc((size_t)c->set_cap * sizeof(int));
    memset(c->set, 0xFF, (size_t)c->set_cap * sizeof(int));
    for (int id = 0; id < c->n; id++) {
        size_t k = c->st[id].hash & (size_t)(c->set_cap - 1);
        while (c->set[k] >= 0) k = (k + 1) & (size_t)(c->set_cap - 1);
        c->set[k] = id;
    }
}

/* The id of state s (added when new). */
static int intern(gcache *c, const gstate *s) {
    uint32_t h = hash_state(s);
    if (2 * (c->n + 1) > c->set_cap) grow_set(c);
    size_t k = h & (size_t)(c->set_cap - 1);
    for (; c->set[k] >= 0; k = (k + 1) & (size_t)(c->set_cap - 1))
        if (same(c, c->set[k], s, h)) return c->set[k];
    if (c->n == c->cap) c->cap = c->cap ? 2 * c->cap : 256, c->st = oc_realloc(c->st, (size_t)c->cap * sizeof(cstate));
    if (c->pool_len + (size_t)s->len > c->pool_cap) {
        while (c->pool_len + (size_t)s->len > c->pool_cap) c->pool_cap = c->pool_cap ? 2 * c->pool_cap : 4096;
        c->pool = oc_realloc(c->pool, c->pool_cap * sizeof(int));
    }
    if (s->len) memcpy(c->pool + c->pool_len, s->d, (size_t)s->len * sizeof(int));
    c->st[c->n] = (cstate){.off = c->pool_len, .len = s->len, .n_stacks = s->n_stacks, .need = s->need,
                           .total = s->total, .dist = -1, .prefix = s->prefix, .hash = h};
    c->pool_len += (size_t)s->len;
    c->set[k] = c->n;
    return c->n++;
}

static void grow_trans(gcache *c) {
    uint64_t *ok = c->tkey;
    int32_t *ov = c->tval;
    int oc = c->t_cap;
    c->t_cap = c->t_cap ? 2 * c->t_cap : 4096;
    c->tkey = oc_calloc((size_t)c->t_cap, sizeof(uint64_t));
    c->tval = oc_malloc((size_t)c->t_cap * sizeof(int32_t));
    for (int i = 0; i < oc; i++) {
        if (!ok[i]) continue;
        size_t k = (ok[i] * 0x9E3779B97F4A7C15ull >> 20) & (size_t)(c->t_cap - 1);
        while (c->tkey[k]) k = (k + 1) & (size_t)(c->t_cap - 1);
        c->tkey[k] = ok[i], c->tval[k] = ov[i];
    }
    free(ok);
    free(ov);
}

int gcache_step(const grammar *g, gcache *c, int id, unsigned char b, gscratch *sc) {
    uint64_t key = (uint64_t)id * 256 + b + 1;
    if (2 * (c->t_n + 1) > c->t_cap) grow_trans(c);
    size_t k = (key * 0x9E3779B97F4A7C15ull >> 20) & (size_t)(c->t_cap - 1);
    for (; c->tkey[k]; k = (k + 1) & (size_t)(c->t_cap - 1))
        if (c->tkey[k] == key) return c->tval[k];
    gstate in = view(c, id);
    int next = gstate_step(g, &in, b, &c->tmp, sc) ? intern(c, &c->tmp) : -1;
    /* (intern grows the state set, not this table: slot k is still free) */
    c->tkey[k] = key, c->tval[k] = next;
    c->t_n++;
    return next;
}

int gcache_distance(const grammar *g, gcache *c, int id) {
    if (c->st[id].dist < 0) {
        gstate s = view(c, id);
        c->st[id].dist = gstate_distance(g, &s);
    }
    return c->st[id].dist;
}

static void clear(gcache *c) {
    c->n = 0, c->pool_len = 0, c->t_n = 0;
    if (c->set) memset(c->set, 0xFF, (size_t)c->set_cap * sizeof(int));
    if (c->tkey) memset(c->tkey, 0, (size_t)c->t_cap * sizeof(uint64_t));
}

int gcache_root(gcache **cp, const gstate *cur) {
    if (!*cp) *cp = oc_calloc(1, sizeof(gcache));
    gcache *c = *cp;
    if (c->n > MAX_STATES || c->pool_len > MAX_POOL || c->t_n > MAX_TRANS) clear(c);
    return intern(c, cur);
}

void gcache_free(gcache *c) {
    if (!c) return;
    free(c->st), free(c->pool), free(c->set), free(c->tkey), free(c->tval);
    gstate_free(&c->tmp);
    free(c);
}

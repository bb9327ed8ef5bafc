/* grammar: the rule IR builder — rules, character classes, repetition,
 * flattening into the matcher's element array and the per-element fewest
 * bytes to completion that closing mode steers by. */
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

/* A schema can ask for huge repetitions; beyond this many elements the
 * grammar is refused rather than built. */
#define GB_MAX_ELEMS (1 << 21)

grammar *gb_new(void) { return oc_calloc(1, sizeof(grammar)); }

void grammar_free(grammar *g) {
    if (!g) return;
    for (int i = 0; i < g->n_rules; i++) free(g->rb[i].e), free(g->rb[i].name);
    for (int i = 0; i < g->n_cls; i++) free(g->cls[i].r);
    free(g->rb);
    free(g->cls);
    free(g->e);
    free(g->rule_start);
    free(g->rest);
    free(g);
}

int gb_rule(grammar *g, const char *name) {
    if (g->n_rules == g->cap_rules) {
        g->cap_rules = g->cap_rules ? 2 * g->cap_rules : 64;
        g->rb = oc_realloc(g->rb, (size_t)g->cap_rules * sizeof(grule_b));
    }
    g->rb[g->n_rules] = (grule_b){.name = oc_strdup(name ? name : "r")};
    return g->n_rules++;
}

static void push(grammar *g, int rule, uint8_t kind, int32_t v) {
    grule_b *r = &g->rb[rule];
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->e = oc_realloc(r->e, (size_t)r->cap * sizeof(gelem));
    }
    r->e[r->n++] = (gelem){kind, v};
}

void gb_char(grammar *g, int rule, int cls) { push(g, rule, GE_CHAR, cls); }
void gb_ref(grammar *g, int rule, int target) { push(g, rule, GE_REF, target); }
void gb_alt(grammar *g, int rule) { push(g, rule, GE_ALT, 0); }

static int utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

static int cmp_range(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

/* Stores sorted, merged ranges as a new class. */
static int add_class(grammar *g, uint32_t *r, int n) {
    qsort(r, (size_t)n, 2 * sizeof(uint32_t), cmp_range);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (r[2 * i] > r[2 * i + 1]) continue;
        if (m && r[2 * i] <= r[2 * (m - 1) + 1] + 1) {
            if (r[2 * i + 1] > r[2 * (m - 1) + 1]) r[2 * (m - 1) + 1] = r[2 * i + 1];
        } else {
            r[2 * m] = r[2 * i], r[2 * m + 1] = r[2 * i + 1], m++;
        }
    }
    if (g->n_cls == g->cap_cls) {
        g->cap_cls = g->cap_cls ? 2 * g->cap_cls : 64;
        g->cls = oc_realloc(g->cls, (size_t)g->cap_cls * sizeof(gclass));
    }
    g->cls[g->n_cls] = (gclass){.r = r, .n = m, .min_bytes = m ? utf8_len(r[0]) : GRAMMAR_INF};
    return g->n_cls++;
}

/* Complement over [0, 0x10FFFF] of sorted disjoint ranges. */
static int complement(const uint32_t *r, int n, uint32_t *out) {
    int m = 0;
    uint32_t lo = 0;
    for (int i = 0; i < n; i++) {
        if (r[2 * i] > lo) out[2 * m] = lo, out[2 * m + 1] = r[2 * i] - 1, m++;
        lo = r[2 * i + 1] + 1;
    }
    if (lo <= 0x10FFFF) out[2 * m] = lo, out[2 * m + 1] = 0x10FFFF, m++;
    return m;
}

int gb_class(grammar *g, const uint32_t *ranges, int n, bool negate) {
    uint32_t *r = oc_malloc((size_t)(2 * n + 2) * sizeof(uint32_t));
    memcpy(r, ranges, (size_t)(2 * n) * sizeof(uint32_t));
    for (int i = 0; i < n; i++)
        if (r[2 * i + 1] > 0x10FFFF) r[2 * i + 1] = 0x10FFFF;
    if (!negate) return add_class(g, r, n);
    int c = add_class(g, r, n); /* normalise first, then complement */
    uint32_t *out = oc_malloc((size_t)(2 * g->cls[c].n + 2) * sizeof(uint32_t));
    int m = complement(g->cls[c].r, g->cls[c].n, out);
    free(g->cls[c].r);
    g->n_cls--;
    return add_class(g, out, m);
}

int gb_class_minus(grammar *g, int a, int b) {
    const gclass *cb = &g->cls[b];
    uint32_t *nb = oc_malloc((size_t)(2 * cb->n + 2) * sizeof(uint32_t));
    int m = complement(cb->r, cb->n, nb);
    const gclass *ca = &g->cls[a];
    /* intersection of a with the complement of b */
    uint32_t *out = oc_malloc((size_t)(2 * (ca->n + m) + 2) * sizeof(uint32_t));
    int k = 0;
    for (int i = 0, j = 0; i < ca->n && j < m;) {
        uint32_t lo = ca->r[2 * i] > nb[2 * j] ? ca->r[2 * i] : nb[2 * j];
        uint32_t hi = ca->r[2 * i + 1] < nb[2 * j + 1] ? ca->r[2 * i + 1] : nb[2 * j + 1];
        if (lo <= hi) out[2 * k] = lo, out[2 * k + 1] = hi, k++;
        if (ca->r[2 * i + 1] < nb[2 * j + 1]) i++;
        else j++;
    }
    free(nb);
    return add_class(g, out, k);
}

bool gclass_has(const gclass *c, uint32_t cp) {
    int lo = 0, hi = c->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < c->r[2 * mid]) hi = mid - 1;
        else if (cp > c->r[2 * mid + 1]) lo = mid + 1;
        else return true;
    }
    return false;
}

/* Decodes one UTF-8 code point (invalid bytes stand for themselves, which
 * only happens for literals we wrote ourselves from valid JSON text). */
static uint32_t decode(const unsigned char *s, size_t n, size_t *used) {
    unsigned c = s[0];
    int len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if ((size_t)len > n) len = 1;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int i = 1; i < len; i++) cp = cp << 6 | (s[i] & 0x3F);
    *used = (size_t)len;
    return cp;
}

void gb_lit(grammar *g, int rule, const char *s, size_t n) {
    for (size_t i = 0, used; i < n; i += used) {
        uint32_t cp = decode((const unsigned char *)s + i, n - i, &used);
        uint32_t r[2] = {cp, cp};
        gb_char(g, rule, gb_class(g, r, 1, false));
    }
}

int gb_repeat(grammar *g, int item, int min, int max) {
    int r = gb_rule(g, "rep");
    for (int i = 0; i < min; i++) gb_ref(g, r, item);
    if (max < 0) {
        int star = gb_rule(g, "star");
        gb_ref(g, star, item), gb_ref(g, star, star), gb_alt(g, star);
        gb_ref(g, r, star);
    } else if (max > min) {
        int opt = gb_rule(g, "opt");
        gb_ref(g, opt, item), gb_alt(g, opt);
        for (int k = 2; k <= max - min; k++) {
            int next = gb_rule(g, "opt");
            gb_ref(g, next, item), gb_ref(g, next, opt), gb_alt(g, next);
            opt = next;
        }
        gb_ref(g, r, opt);
    }
    return r;
}

static int sat_add(int a, int b) { return a >= GRAMMAR_INF - b ? GRAMMAR_INF : a + b; }

static int elem_min(const grammar *g, const gelem *e, const int *minlen) {
    return e->kind == GE_CHAR ? g->cls[e->v].min_bytes : minlen[e->v];
}

/* Fewest bytes per rule, to a fixed point (values only fall from INF);
 * rules mostly refer to earlier ones, so ascending passes converge in a
 * few rounds. Then the per-element rest. Returns minlen (malloc'ed). */
static int *compute_rest(grammar *g) {
    int *minlen = oc_malloc((size_t)g->n_rules * sizeof(int));
    for (int i = 0; i < g->n_rules; i++) minlen[i] = GRAMMAR_INF;
    for (bool changed = true; changed;) {
        changed = false;
        for (int r = 0; r < g->n_rules; r++) {
            int best = GRAMMAR_INF, sum = 0;
            for (int i = g->rule_start[r];; i++) {
                const gelem *e = &g->e[i];
                if (e->kind == GE_END || e->kind == GE_ALT) {
                    if (sum < best) best = sum;
                    if (e->kind == GE_END) break;
                    sum = 0;
                } else {
                    sum = sat_add(sum, elem_min(g, e, minlen));
                }
            }
            if (best < minlen[r]) minlen[r] = best, changed = true;
        }
    }
    for (int i = g->n_e - 1; i >= 0; i--) {
        const gelem *e = &g->e[i];
        g->rest[i] = e->kind == GE_END || e->kind == GE_ALT ? 0 : sat_add(elem_min(g, e, minlen), g->rest[i + 1]);
    }
    return minlen;
}

/* Depth-first search for a cycle of references taken without consuming
 * input (left recursion), which the matcher could expand forever. */
static bool left_cycle(const grammar *g, const int *minlen, int r, uint8_t *color) {
    if (color[r] == 1) return true;
    if (color[r] == 2) return false;
    color[r] = 1;
    bool nullable_prefix = true;
    for (int i = g->rule_start[r]; g->e[i].kind != GE_END; i++) {
        const gelem *e = &g->e[i];
        if (e->kind == GE_ALT) nullable_prefix = true;
        else if (!nullable_prefix) continue;
        else if (e->kind == GE_CHAR) nullable_prefix = false;
        else {
            if (left_cycle(g, minlen, e->v, color)) return true;
            nullable_prefix = minlen[e->v] == 0;
        }
    }
    color[r] = 2;
    return false;
}

int gb_finish(grammar *g, int root, oc_error *err) {
    size_t total = 0;
    for (int i = 0; i < g->n_rules; i++) total += (size_t)g->rb[i].n + 1;
    if (total > GB_MAX_ELEMS) return oc_fail(err, "the schema makes a grammar too large (%zu elements)", total);
    g->e = oc_malloc(total * sizeof(gelem));
    g->rest = oc_malloc(total * sizeof(int));
    g->rule_start = oc_malloc((size_t)(g->n_rules + 1) * sizeof(int));
    int n = 0;
    for (int i = 0; i < g->n_rules; i++) {
        g->rule_start[i] = n;
        if (g->rb[i].n) memcpy(g->e + n, g->rb[i].e, (size_t)g->rb[i].n * sizeof(gelem));
        n += g->rb[i].n;
        g->e[n++] = (gelem){GE_END, 0};
    }
    g->n_e = n;
    g->root = root;
    int *minlen = compute_rest(g);
    uint8_t *color = oc_calloc((size_t)g->n_rules, 1);
    bool cycle = false;
    for (int r = 0; r < g->n_rules && !cycle; r++) cycle = left_cycle(g, minlen, r, color);
    free(color);
    free(minlen);
    if (cycle) return oc_fail(err, "the schema refers to itself without consuming input (left recursion)");
    return 0;
}

/* ---- text form ---- */

static void put_cp(oc_buf *b, uint32_t cp) {
    if (cp == '\\' || cp == ']' || cp == '[' || cp == '-' || cp == '^' || cp == '"') oc_buf_printf(b, "\\%c", (char)cp);
    else if (cp >= 0x20 && cp < 0x7F) oc_buf_printf(b, "%c", (char)cp);
    else oc_buf_printf(b, cp <= 0xFF ? "\\x%02X" : cp <= 0xFFFF ? "\\u%04X" : "\\U%08X", cp);
}

static void put_class(oc_buf *b, const gclass *c) {
    if (c->n == 1 && c->r[0] == c->r[1] && c->r[0] >= 0x20 && c->r[0] < 0x7F && c->r[0] != '"' && c->r[0] != '\\') {
        oc_buf_printf(b, "\"%c\"", (char)c->r[0]);
        return;
    }
    oc_buf_puts(b, "[");
    for (int i = 0; i < c->n; i++) {
        put_cp(b, c->r[2 * i]);
        if (c->r[2 * i + 1] != c->r[2 * i]) oc_buf_puts(b, "-"), put_cp(b, c->r[2 * i + 1]);
    }
    oc_buf_puts(b, "]");
}

char *grammar_to_text(const grammar *g) {
    oc_buf b = {0};
    for (int r = 0; r < g->n_rules; r++) {
        oc_buf_printf(&b, "%s%d ::=", g->rb[r].name, r);
        for (int i = g->rule_start[r]; g->e[i].kind != GE_END; i++) {
            const gelem *e = &g->e[i];
            oc_buf_puts(&b, " ");
            if (e->kind == GE_ALT) oc_buf_puts(&b, "|");
            else if (e->kind == GE_REF) oc_buf_printf(&b, "%s%d", g->rb[e->v].name, e->v);
            else put_class(&b, &g->cls[e->v]);
        }
        oc_buf_puts(&b, "\n");
    }
    if (!b.data) oc_buf_puts(&b, "");
    return b.data;
}

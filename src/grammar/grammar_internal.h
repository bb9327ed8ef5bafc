/* grammar (internal): the rule IR shared by the builder, the schema and
 * pattern compilers and the matcher. */
#ifndef OLLAMA_GRAMMAR_INTERNAL_H
#define OLLAMA_GRAMMAR_INTERNAL_H

#include "grammar/grammar.h"

/* Element kinds of the flattened rule array: a rule is its alternatives,
 * each a run of CHAR/REF elements, separated by ALT and closed by END. */
enum { GE_END, GE_ALT, GE_CHAR, GE_REF };

typedef struct gelem {
    uint8_t kind;
    int32_t v; /* CHAR: class index; REF: rule index */
} gelem;

/* A character class: sorted, disjoint, inclusive code point ranges. */
typedef struct gclass {
    uint32_t *r; /* 2 * n values: lo, hi */
    int n;
    int min_bytes; /* UTF-8 length of the smallest member */
} gclass;

typedef struct grule_b { /* a rule while it is built */
    gelem *e;
    int n, cap;
    char *name;
} grule_b;

#define GRAMMAR_INF (1 << 28)

struct grammar {
    /* while building */
    grule_b *rb;
    int n_rules, cap_rules;
    /* classes */
    gclass *cls;
    int n_cls, cap_cls;
    /* after grammar_finish */
    gelem *e;
    int n_e;
    int *rule_start;  /* first element of each rule */
    int *rest;        /* fewest bytes from element i to the end of its alternative */
    int root;
};

/* ---- builder (ir.c) ---- */
grammar *gb_new(void);
/* A new empty rule (no alternative yet: add elements, gb_alt between). */
int gb_rule(grammar *g, const char *name);
void gb_char(grammar *g, int rule, int cls);
void gb_ref(grammar *g, int rule, int target);
void gb_alt(grammar *g, int rule);
/* Appends the code points of a UTF-8 literal as single-member classes. */
void gb_lit(grammar *g, int rule, const char *s, size_t n);
/* Class from ranges (any order, may overlap); negate complements it over
 * the Unicode scalar values. */
int gb_class(grammar *g, const uint32_t *ranges, int n_ranges, bool negate);
/* Class of s minus the members of other. */
int gb_class_minus(grammar *g, int cls, int other);
/* item repeated min..max times (max < 0: unbounded) as a new rule. */
int gb_repeat(grammar *g, int item, int min, int max);
/* Flattens the rules, computes distances; root is the start rule. */
int gb_finish(grammar *g, int root, oc_error *err);
bool gclass_has(const gclass *c, uint32_t cp);

/* ---- the JSON primitives shared by schema and "json" (schema.c) ---- */
typedef struct gprims {
    int space, value, object, array, string, number, unsigned_number, integer, boolean, null_, chr;
    int plain; /* class: string characters written as themselves */
} gprims;
void gp_init(grammar *g, gprims *p);

/* ---- patterns (regex.c) ---- */
/* Compiles an ECMA-style pattern into a rule that matches the JSON string
 * body (without quotes) of a whole match. */
int gre_compile(grammar *g, const gprims *p, const char *pattern, oc_error *err);

#endif

/* ---- matcher state (match.c) ---- */

/* A set of parse stacks (each a run of element positions, bottom first,
 * the top always a CHAR; an empty stack means "complete") plus the
 * incomplete UTF-8 sequence fed so far, which every stack shares. */
typedef struct gstate {
    int *d;          /* stacks as [len, pos...] one after another */
    int len, cap;
    int n_stacks;
    uint32_t prefix; /* bits of the pending code point */
    int need, total; /* continuation bytes still missing; sequence length */
} gstate;

typedef struct gscratch {
    int *d;
    int cap;
} gscratch;

void gstate_free(gstate *s);
void gstate_copy(gstate *dst, const gstate *src);
/* The start state of g. */
void gstate_start(const grammar *g, gstate *s, gscratch *sc);
/* out = in after byte b; false when nothing survives. */
bool gstate_step(const grammar *g, const gstate *in, unsigned char b, gstate *out, gscratch *sc);
bool gstate_complete(const gstate *s);
int gstate_distance(const grammar *g, const gstate *s);

/* Interned states and their transitions (cache.c). */
typedef struct gcache gcache;
/* Interns cur (emptying the cache first when it has grown too big). */
int gcache_root(gcache **c, const gstate *cur);
/* The state after byte b from state id; -1 when nothing survives. */
int gcache_step(const grammar *g, gcache *c, int id, unsigned char b, gscratch *sc);
int gcache_distance(const grammar *g, gcache *c, int id);
void gcache_free(gcache *c);

struct grammar_matcher {
    const grammar *g;
    gstate cur;
    gscratch sc;
    gcache *cache;
    gstate *lvl; /* scratch for the one-token check */
    int n_lvl;
    float *saved; /* logits before sampling, for the masked retry */
    int n_saved;
};

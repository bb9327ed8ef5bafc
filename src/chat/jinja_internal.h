/* jinja_internal: the private types the Jinja2 engine's files share — the
 * value type (Python semantics: None, bool, int, float, str, list, dict,
 * plus Jinja's Undefined, Markup, namespace, generators, macros and the
 * loop object), the lexer's tokens, the syntax tree, and the render state.
 * Nothing here is part of the chat module's public interface. */
#ifndef OLLAMA_JINJA_INTERNAL_H
#define OLLAMA_JINJA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/chat.h"

struct jr;
struct jargs;

/* ---- limits: a hostile template fails instead of hanging or exhausting
 * memory ---- */
#define J_MAX_STR ((size_t)64 << 20)   /* longest string a template may build */
#define J_MAX_LIST ((size_t)4 << 20)   /* most items in one list */
#define J_MAX_OUT ((size_t)64 << 20)   /* longest rendered output */
#define J_MAX_DEPTH 256                /* nesting of evaluation (macros, expressions) */
#define J_MAX_PARSE_DEPTH 128          /* nesting of the template's syntax */
#define J_MAX_RANGE 100000             /* the sandbox's range() limit */
#define J_MAX_LIVE ((size_t)512 << 20) /* bytes of values alive at once */
#define J_MAX_VALUE_DEPTH 200          /* nesting of a value a template stores */
/* Evaluation steps one render may take (each J_WORK_PER_STEP units of
 * jv_work count as one more); tests and the fuzzer lower it. */
extern uint64_t jinja_max_steps;

/* ---- values ---- */
typedef enum jv_kind {
    JV_UNDEF, /* Jinja's Undefined; u == NULL for a plain one */
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,  /* UTF-8; Markup when s->markup */
    JV_LIST, /* list or tuple (l->tuple) */
    JV_DICT,
    JV_NS,     /* namespace(): a dict whose entries are attributes */
    JV_GEN,    /* a one-shot iterator (map, select, reverse ... results) */
    JV_FUNC,   /* macro, caller, builtin, bound method */
    JV_LOOP,   /* the `loop` variable */
    JV_MISSING /* an absent argument; never a template-visible value */
} jv_kind;

typedef struct jstr {
    int rc;
    bool markup;
    size_t len;
    char *p;
} jstr;
/* depth: an upper bound on the nesting below (0 = no containers), so
 * stored values can be kept shallow enough for recursive walks. */
/* view: 0, or what dict.keys() / values() / items() returned (1 / 2 / 3),
 * which print, index and serialize differently. */
typedef struct jlist {
    int rc;
    bool tuple;
    uint8_t view;
    uint32_t depth;
    size_t n, cap;
    struct jv *v;
} jlist;
typedef struct jdict {
    int rc;
    uint32_t depth;
    size_t n, cap;
    struct jv *k, *v;
    uint32_t *idx; /* open-addressing index (entry + 1), built past 8 entries */
    size_t idx_cap;
} jdict;
typedef struct jgen {
    int rc;
    jlist *items;
    size_t pos;
} jgen;
/* exc: the Python exception class a use of it raises ("UndefinedError",
 * "SecurityError"); msg: its message. */
typedef struct jundef {
    int rc;
    const char *exc;
    char msg[];
} jundef;

typedef struct jv {
    jv_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        jstr *s;
        jlist *l;
        jdict *d;
        jgen *g;
        struct jfunc *fn;
        struct jloop *lp;
        jundef *u;
    };
} jv;

/* Constructors return a new reference; jv_release drops one. */
static inline jv jv_undef(void) { return (jv){.kind = JV_UNDEF}; }
static inline jv jv_none(void) { return (jv){.kind = JV_NONE}; }
static inline jv jv_bool(bool b) { return (jv){.kind = JV_BOOL, .b = b}; }
static inline jv jv_int(int64_t i) { return (jv){.kind = JV_INT, .i = i}; }
static inline jv jv_float(double f) { return (jv){.kind = JV_FLOAT, .f = f}; }
static inline jv jv_missing(void) { return (jv){.kind = JV_MISSING}; }
static inline bool jv_is_str(jv v) { return v.kind == JV_STR; }
static inline bool jv_is_num(jv v) { return v.kind == JV_INT || v.kind == JV_FLOAT || v.kind == JV_BOOL; }
jv jv_retain(jv v);
void jv_release(jv v);
/* The syntax tree's string constants are immortal: renders never touch
 * their reference counts, so one parsed template can render in several
 * threads at once. jv_free_immortal frees one when the tree goes. */
#define JV_IMMORTAL INT32_MAX
void jv_make_immortal(jv v);
void jv_free_immortal(jv v);

jv jv_str(const char *s, size_t n);
jv jv_strz(const char *s);
jv jv_str_markup(const char *s, size_t n, bool markup);
/* Takes b's bytes (b is left empty). */
jv jv_str_buf(oc_buf *b, bool markup);
jv jv_undef_msg(const char *exc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Undefined for a missing name / attribute / item of obj (Jinja's messages). */
jv jv_undef_name(const char *name);
jv jv_undef_attr(jv obj, const char *attr);
jv jv_undef_item(jv obj, jv key);

jv jv_list(size_t cap);
jv jv_tuple(size_t cap);
void jl_push(jlist *l, jv v); /* takes v */
jv jv_dict(void);
jv jv_ns(void);
/* Sets key to val (both taken); replaces an existing equal key's value. */
void jd_set(jdict *d, jv key, jv val);
void jd_set_str(jdict *d, const char *key, jv val);
/* Borrowed pointer to the value, or NULL. Unhashable keys are never found. */
jv *jd_get(const jdict *d, jv key);
jv *jd_get_str(const jdict *d, const char *key);
jv jv_gen(jlist *items); /* takes items */

bool jv_hashable(jv v);
uint32_t jv_depth(jv v);
bool jv_truthy(jv v);
bool jv_eq(jv a, jv b);
/* Python ordering of a and b into *res (-1, 0, 1); -1 when they do not
 * compare (TypeError in Python). */
int jv_cmp(jv a, jv b, int *res);
/* Python's type(v).__name__, and Jinja's object_type_repr. */
const char *jv_type_name(jv v);
void jv_object_type_repr(jv v, oc_buf *b);
/* Python str(v) and repr(v). */
void jv_to_str(jv v, oc_buf *b);
void jv_repr(jv v, oc_buf *b);
void py_float_repr(double f, oc_buf *b);
void py_str_repr(const char *s, size_t n, oc_buf *b);
/* A new value from JSON (dict keys keep their order). */
jv jv_from_json(json_t *j);

/* Accounting of live value bytes, per thread, so a render can stop a
 * template that builds too much (checked between evaluation steps). */
extern _Thread_local size_t jv_live_bytes;
/* Work done building and walking values (a byte of string, or an eighth
 * of a list item, is one unit), per thread: a render's step budget pays
 * for it too, so one step cannot hide unbounded work. */
extern _Thread_local uint64_t jv_work;
#define J_WORK_PER_STEP 256

/* ---- UTF-8 and Python string helpers (jinja_str.c) ---- */
/* Decodes the code point at s[i] (any bytes accepted; a bad byte is one
 * code point of its own value). Returns the byte length. */
size_t u8_decode(const char *s, size_t n, size_t i, uint32_t *cp);
void u8_encode(oc_buf *b, uint32_t cp);
size_t u8_count(const char *s, size_t n);
/* Byte offset of code point index ci (clamped to n). */
size_t u8_offset(const char *s, size_t n, size_t ci);
bool py_isspace(uint32_t cp);
uint32_t py_upper(uint32_t cp);
uint32_t py_lower(uint32_t cp);
bool py_isalpha(uint32_t cp);
bool py_isdigit(uint32_t cp);
bool py_isalnum(uint32_t cp);
bool py_isupper_cp(uint32_t cp);
bool py_islower_cp(uint32_t cp);
bool py_isprintable(uint32_t cp);
/* Python str.strip family: which = 1 left, 2 right, 3 both; chars NULL =
 * whitespace. Returns the kept range. */
void py_strip(const char *s, size_t n, const char *chars, size_t nchars, int which, size_t *start, size_t *end);
void py_case(const char *s, size_t n, int mode, oc_buf *b); /* 0 lower, 1 upper, 2 title, 3 capitalize, 4 swapcase */
bool py_str_find(const char *h, size_t hn, const char *nd, size_t nn, size_t from, size_t *at);

/* ---- lexer (jinja_lex.c) ---- */
typedef enum jtok_type {
    T_EOF,
    T_DATA,
    T_VAR_BEGIN,
    T_VAR_END,
    T_BLOCK_BEGIN,
    T_BLOCK_END,
    T_NAME,
    T_STRING,
    T_INT,
    T_FLOAT,
    T_OP
} jtok_type;
enum {
    OP_ADD = 1,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_FLOORDIV,
    OP_MOD,
    OP_POW,
    OP_TILDE,
    OP_LBRACKET,
    OP_RBRACKET,
    OP_LPAREN,
    OP_RPAREN,
    OP_LBRACE,
    OP_RBRACE,
    OP_EQ,
    OP_NE,
    OP_GT,
    OP_GE,
    OP_LT,
    OP_LE,
    OP_ASSIGN,
    OP_DOT,
    OP_COLON,
    OP_PIPE,
    OP_COMMA,
    OP_SEMICOLON,
    /* comparison-only operators of the syntax tree */
    OP_IN,
    OP_NOTIN
};
typedef struct jtok {
    jtok_type type;
    int op, line;
    char *s; /* name, string (decoded) or data text; owned */
    size_t len;
    int64_t i;
    double f;
} jtok;
/* Tokenizes src (newlines already normalized); on failure fills err with
 * a TemplateSyntaxError message and returns -1. */
int jinja_lex(const char *src, size_t n, jtok **toks, size_t *ntoks, oc_error *err);
void jinja_toks_free(jtok *toks, size_t n);
const char *jinja_op_str(int op);

/* ---- syntax tree (jinja_parse.c) ---- */
typedef enum jnode_type {
    /* expressions */
    N_CONST,
    N_NAME,
    N_GETATTR,
    N_GETITEM,
    N_SLICE,
    N_CALL,
    N_ARGS,
    N_KEYWORD,
    N_FILTER,
    N_TEST,
    N_NOT,
    N_NEG,
    N_POS,
    N_BINARY,
    N_AND,
    N_OR,
    N_COMPARE,
    N_OPERAND,
    N_CONDEXPR,
    N_LIST,
    N_TUPLE,
    N_DICT,
    N_PAIR,
    N_CONCAT,
    N_NSREF,
    /* statements */
    N_TEXT,
    N_PRINT,
    N_IF,
    N_FOR,
    N_SET,
    N_SETBLOCK,
    N_MACRO,
    N_CALLBLOCK,
    N_FILTERBLOCK,
    N_WITH,
    N_BREAK,
    N_CONTINUE,
    N_SCOPE
} jnode_type;

typedef struct jnode jnode;
typedef struct jvec {
    jnode **v;
    size_t n, cap;
} jvec;

typedef int (*jfilter_fn)(struct jr *r, jv val, struct jargs *a, jv *out);
typedef int (*jtest_fn)(struct jr *r, jv val, struct jargs *a, bool *out);

/* Field use by type:
 * CONST value | NAME name | GETATTR a.name | GETITEM a[b] | SLICE a:b:c
 * CALL a(b=ARGS) | ARGS kids positional, kids2 KEYWORDs (name=a), c *args, d **kwargs
 * FILTER a|name(b) (a NULL in filter blocks), filter = implementation
 * TEST a is name(b), test = implementation | NOT/NEG/POS a | BINARY a op b
 * AND/OR a b | COMPARE a, kids OPERANDs (op, a) | CONDEXPR b if a else c
 * LIST/TUPLE kids | DICT kids PAIRs (a: b) | CONCAT kids | NSREF a(NAME).name
 * TEXT value | PRINT a | IF a then kids else kids2 | FOR a in b if c: kids
 * else kids2, flag = recursive | SET a = b | SETBLOCK a, b filter, kids
 * MACRO name, kids2 params (NAME, a = default), kids body, op = uses bits
 * CALLBLOCK a call, kids2 params, kids body, op = uses bits
 * FILTERBLOCK a filter chain, kids | WITH kids2 SETs, kids | SCOPE kids */
struct jnode {
    jnode_type type;
    int op, line;
    char *name;
    jv value;
    jnode *a, *b, *c, *d;
    jvec kids, kids2;
    bool flag;
    jfilter_fn filter;
    jtest_fn test;
};
enum { USES_VARARGS = 1, USES_KWARGS = 2, USES_CALLER = 4 };

/* Immutable once parsed, so renders in several threads may share it. */
struct jinja_template {
    jnode *root; /* a SCOPE of the top-level statements */
};

jnode *jinja_parse_tokens(jtok *toks, size_t n, oc_error *err);
void jnode_free(jnode *n);

/* ---- render state and evaluation (jinja_eval.c) ---- */
typedef struct jscope {
    int rc;
    struct jscope *parent;
    jdict *vars;
} jscope;
void jscope_release(jscope *s);

typedef struct jargs {
    jv *pos;
    size_t npos;
    const char **kwn;
    jv *kwv;
    size_t nkw;
} jargs;

typedef int (*jbuiltin_fn)(struct jr *r, jv self, jargs *a, jv *out);
typedef enum { FN_MACRO, FN_CALLER, FN_BUILTIN, FN_METHOD } jfunc_type;
typedef struct jfunc {
    int rc;
    jfunc_type type;
    const char *name;  /* static, or the macro node's */
    const jnode *node; /* macro / caller definition */
    jscope *scope;     /* macro / caller: the scope it closes over */
    jv self;           /* method: its receiver */
    jbuiltin_fn fn;
} jfunc;

typedef struct jloop {
    int rc;
    jlist *items;
    size_t i;
    int depth0;
    jv changed_last;   /* loop.changed()'s memory (JV_MISSING at first) */
    const jnode *node; /* the for statement, for recursive calls */
    jscope *scope;     /* where that statement runs (recursive loops only) */
} jloop;

enum { JR_OK = 0, JR_ERR = -1, JR_BREAK = 1, JR_CONTINUE = 2 };

typedef struct jr {
    oc_buf *out;
    oc_error *err;
    bool failed;
    jscope *scope;
    uint64_t steps;
    size_t inflight; /* bytes in the output buffers being written (the
                      * render's and any macro / set block capturing) */
    size_t live0;
    uint64_t work0; /* jv_work when the render started */
    int depth;
    const char *stack0; /* the stack where the render started */
    /* objects that can close reference cycles (namespaces, macros, loops),
     * broken apart when the render ends */
    jv *track;
    size_t ntrack, captrack;
} jr;

int jr_fail(jr *r, const char *exc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raises the error a use of the undefined value u stands for. */
int jr_undef_fail(jr *r, jv u);
int jr_step(jr *r);
void jr_track(jr *r, jv v);
int jr_eval(jr *r, const jnode *e, jv *out);
int jr_call(jr *r, jv fn, jargs *a, jv *out);
int jr_getattr(jr *r, jv obj, const char *name, jv *out);
/* Python getattr(obj, name) alone (no item fallback): false if absent. */
bool jr_pyattr(jv obj, const char *name, jv *out);
int jr_getitem(jr *r, jv obj, jv key, jv *out);
/* obj[a:b:c]; absent parts are JV_MISSING. */
int jr_slice(jr *r, jv obj, jv a, jv b, jv c, jv *out);
/* The items of an iterable as a list (new reference); consumes generators. */
int jr_iter(jr *r, jv v, jlist **out);
int jr_binop(jr *r, int op, jv a, jv b, jv *out);
int jr_compare(jr *r, int op, jv a, jv b, bool *out);
int jr_contains(jr *r, jv container, jv item, bool *out);
/* Python str(v) appended to b (a string being built), with size checks. */
int jr_to_str(jr *r, jv v, oc_buf *b);
int jr_call_filter(jr *r, const char *name, jv val, jargs *a, jv *out);
int jr_call_test(jr *r, const char *name, jv val, jargs *a, bool *out);

/* Binds a's arguments to the parameter names in order, Python-style:
 * slots get borrowed values or JV_MISSING. Too many or unknown arguments
 * fail with a TypeError naming fname. */
int jargs_bind(jr *r, const char *fname, jargs *a, const char *const *names, size_t n, jv *slots);
/* Converts v to an int64 index for Python's int(): bools and integral
 * ints only. */
bool jv_as_int(jv v, int64_t *out);

/* ---- filters (jinja_filters.c), tests (jinja_tests.c), methods and
 * globals (jinja_methods.c), formatting (jinja_format.c), JSON
 * (jinja_json.c) ---- */
jfilter_fn jinja_find_filter(const char *name);
jtest_fn jinja_find_test(const char *name);
/* Looks up a Python method of obj: *found false when obj has none by that
 * name; otherwise *out is the bound method (or, for a method the sandbox
 * forbids, an Undefined that raises SecurityError when used). */
void jinja_find_method(jv obj, const char *name, jv *out, bool *found);
void jinja_add_globals(jdict *g);
int jinja_str_format(jr *r, jv fmt, jargs *a, jv *out);
/* Python str.replace(old, new, count) (count < 0: all); strings only. */
int jinja_replace(jr *r, jv s, jv old, jv new_, int64_t count, bool markup, jv *out);
int jinja_str_percent(jr *r, jv fmt, jv args, jv *out);
typedef struct jjson_opts {
    bool ensure_ascii, sort_keys;
    bool has_indent;
    const char *indent;
    size_t indent_len;
    const char *item_sep, *key_sep;
    size_t item_sep_len, key_sep_len;
} jjson_opts;
int jinja_tojson(jr *r, jv v, const jjson_opts *o, oc_buf *b);
/* markupsafe.escape of text into b. */
void jinja_html_escape(const char *s, size_t n, oc_buf *b);
int64_t jinja_fixed_time(void);

#endif

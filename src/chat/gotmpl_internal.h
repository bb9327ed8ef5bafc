/* gotmpl_internal: what the Go text/template engine's files share — the
 * token and syntax-tree types, the typed value (a JSON value plus the Go
 * type upstream's structs give it), and the functions each file offers the
 * others. Not a public interface. */
#ifndef OLLAMA_GOTMPL_INTERNAL_H
#define OLLAMA_GOTMPL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/chat.h"

/* Limits that keep arbitrary input from exhausting stack, memory or time. */
#define GT_MAX_NEST 200               /* nested controls + parentheses at parse */
#define GT_MAX_TEMPLATE_DEPTH 100     /* {{template}} recursion */
#define GT_MAX_WALK_DEPTH 3000        /* nested walks at execution */
#define GT_MAX_OUTPUT (16u << 20)     /* bytes of output, and of one string */
#define GT_MAX_WORK (256u << 20)      /* bytes built by functions in one run */
#define GT_MAX_STEPS 4000000u         /* evaluation steps in one run */

/* ---- lexer (gotmpl_lex.c) ---- */
typedef enum {
    TK_ERROR, TK_BOOL, TK_CHAR, TK_CHARCONST, TK_COMPLEX, TK_ASSIGN, TK_DECLARE, TK_EOF,
    TK_FIELD, TK_IDENT, TK_LDELIM, TK_LPAREN, TK_NUMBER, TK_PIPE, TK_RAWSTRING, TK_RDELIM,
    TK_RPAREN, TK_SPACE, TK_STRING, TK_TEXT, TK_VARIABLE,
    TK_KEYWORD, /* keywords follow; token_str shows them as <word> */
    TK_BLOCK, TK_BREAK, TK_CONTINUE, TK_DOT, TK_DEFINE, TK_ELSE, TK_END, TK_IF, TK_NIL,
    TK_RANGE, TK_TEMPLATE, TK_WITH
} gt_tok_type;

typedef struct {
    gt_tok_type type;
    uint32_t pos, len; /* the token's bytes in the source (text already trimmed) */
} gt_token;

typedef struct {
    gt_token *v;
    size_t n, cap;
    char err[160]; /* message of the final TK_ERROR token, if any */
} gt_tokens;

/* Lexes all of src; the last token is TK_EOF or TK_ERROR. */
void gt_lex(const char *src, size_t n, gt_tokens *out);
void gt_tokens_free(gt_tokens *t);

/* ---- syntax tree (gotmpl_parse.c) ---- */
typedef enum { N_LIST, N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH, N_TEMPLATE, N_BREAK, N_CONTINUE } gt_node_type;
typedef enum { A_FIELD, A_VAR, A_CHAIN, A_DOT, A_NIL, A_BOOL, A_NUMBER, A_STRING, A_IDENT, A_PIPE } gt_arg_type;

typedef struct gt_pipe gt_pipe;

typedef struct gt_arg {
    gt_arg_type type;
    uint32_t pos, end;      /* source span, shown in error messages */
    uint32_t loc;           /* position errors report (Go's node position) */
    char **idents;          /* FIELD: names; VAR: "$x" then names; CHAIN: names */
    int n_idents;
    struct gt_arg *sub;     /* CHAIN: the operand the names apply to */
    gt_pipe *pipe;          /* PIPE: a parenthesised pipeline */
    json_t *lit;            /* BOOL, NUMBER, STRING: the constant */
    bool lit_int;           /* NUMBER: a Go int (else float64) */
    int func;               /* IDENT: index into the function table */
} gt_arg;

typedef struct {
    gt_arg **args;
    int n;
    uint32_t pos, end;
} gt_cmd;

struct gt_pipe {
    uint32_t pos, end;
    bool is_assign;
    char **decl;
    int n_decl;
    gt_cmd **cmds;
    int n_cmds;
};

typedef struct gt_node {
    gt_node_type type;
    uint32_t pos;
    const char *text;            /* TEXT */
    size_t len;
    gt_pipe *pipe;               /* ACTION, IF, RANGE, WITH, TEMPLATE (may be NULL) */
    struct gt_node *list, *else_list; /* IF, RANGE, WITH */
    char *name;                  /* TEMPLATE */
    struct gt_node **nodes;      /* LIST */
    int n;
} gt_node;

typedef struct {
    char *name;
    gt_node *root;
} gt_tree;

struct gotmpl {
    char *name;
    char *src;
    size_t src_len;
    gt_tree *trees;
    int n_trees;
    void *arena;
    json_t **lits;
    size_t n_lits, cap_lits;
};

const gt_tree *gt_find_tree(const gotmpl *t, const char *name);
/* "NAME:LINE:COL" of a byte offset, as Go's ErrorContext (column 0-based). */
void gt_location(const gotmpl *t, uint32_t pos, char *buf, size_t n);

/* ---- values (gotmpl_value.c) ----
 * A value is a JSON value with the Go type that upstream gives it, so that
 * printing, `json`, comparisons and field errors behave as for upstream's
 * structs. j == NULL means the zero value of the type (for GT_ANY: nil). */
typedef enum {
    GT_ANY,      /* interface{} holding decoded JSON (numbers are float64) */
    GT_STR, GT_INT, GT_BOOL,
    GT_ROOT,     /* the data: map[string]any with Messages and Tools typed */
    GT_MSGS, GT_MSG, GT_TCALLS, GT_TCALL, GT_TCFUNC, GT_ARGS,
    GT_TOOLS, GT_TOOL, GT_TFUNC, GT_TPARAMS, GT_PROPS, GT_PROP, GT_PROPMAP,
    GT_PROPTYPE, GT_STRS, GT_PROPLIST, GT_ANYS, GT_IMAGES,
    GT_NTYPES
} gt_type;

typedef enum { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING, K_SLICE, K_MAP, K_STRUCT, K_PTR } gt_kind;

typedef struct {
    json_t *j;   /* owned reference, or NULL */
    uint8_t t;
    bool iface;  /* still held in an interface{} (a map value or []any
                    element), not yet taken out by a pipeline: Go names its
                    type "interface {}", and fields of a nil one are errors */
} gv;

gv gv_of(json_t *borrowed, gt_type t);     /* takes a new reference */
gv gv_take(json_t *owned, gt_type t);      /* takes over the reference */
gv gv_copy(gv v);
void gv_drop(gv *v);
gv gv_str(const char *s, size_t n);
gv gv_int(int64_t i);
gv gv_bool(bool b);

gt_kind gv_kind(gv v);
const char *gv_typename(gv v);
bool gv_truth(gv v);
bool gv_is_stringer(gv v);
const char *gv_strval(gv v, size_t *len);  /* K_STRING only */
int64_t gv_intval(gv v);
double gv_floatval(gv v);
size_t gv_len(gv v);                       /* K_SLICE, K_MAP, K_STRING */
gv gv_index(gv slice, size_t i);           /* K_SLICE element */
gv gv_slice(gv v, size_t lo, size_t hi);   /* K_SLICE or K_STRING */
/* Map access: sorted keys (as Go ranges maps); lookup of a missing key gives
 * the element type's zero value. */
size_t gv_map_keys(gv m, const char ***keys);
gv gv_map_get(gv m, const char *key);
/* Field lookup on a map or struct: 0 and *out, or -1 with a message. */
int gv_field(gv recv, const char *name, gv *out, char *msg, size_t n);
/* Struct fields for printing and JSON. */
int gv_struct_nfields(gv v);
gv gv_struct_field(gv v, int i, const char **go, const char **json, bool *omitempty);

/* ---- printing (gotmpl_print.c) ---- */
void gt_print_value(oc_buf *b, gv v, int depth);          /* fmt's %v */
void gt_stringer(oc_buf *b, gv v);                         /* String() of stringer types */
void gt_json(oc_buf *b, gv v);                             /* encoding/json.Marshal */
void gt_float_shortest(oc_buf *b, double f, char fmt, int eprec); /* strconv 'e','f','g' shortest */
void gt_quote(oc_buf *b, const char *s, size_t n);         /* strconv.Quote */
bool gt_rune_printable(uint32_t cp);                       /* roughly unicode.IsPrint */
size_t gt_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
void gt_utf8_encode(oc_buf *b, uint32_t cp);
/* fmt.Sprintf with the common verbs. */
void gt_sprintf(oc_buf *b, const char *fmt, size_t flen, const gv *args, int n);
void gt_sprint(oc_buf *b, const gv *args, int n, bool ln); /* Sprint / Sprintln */

/* ---- functions (gotmpl_funcs.c) ---- */
typedef struct gt_exec gt_exec;
enum { GT_ARG_ANY, GT_ARG_STRING };
typedef struct {
    const char *name;
    int min_args, max_args;   /* max -1: variadic */
    int param;                /* GT_ARG_ANY or GT_ARG_STRING for all params */
    int first_param;          /* type of the first param, when it differs */
} gt_func_info;
int gt_func_lookup(const char *name, size_t n);
const gt_func_info *gt_func(int idx);
/* Calls a builtin with evaluated arguments; and/or/call are handled by the
 * executor. Returns 0 and *out, or -1 with the message in msg. */
int gt_func_call(int idx, const gv *args, int n, gv *out, char *msg, size_t msgn, size_t *work);

#endif

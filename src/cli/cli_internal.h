/* cli: what the command files share: upstream's number, size, time and
 * duration texts and its table layout (format.c), the progress display of
 * spinners and bars (progress.c), the flag parser (args.c), the streamed
 * answer writer (output.c) and the REPL (repl.c). */
#ifndef OLLAMA_CLI_INTERNAL_H
#define OLLAMA_CLI_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "base/base.h"
#include "client/client.h"

/* ---- format.c (cli.md §11, §12.5) ---- */
/* "2.0 GB", "26 GB", "512 B". */
void fmt_bytes(int64_t b, char *buf, size_t n);
/* "8.0B", "260K", "15.73M". */
void fmt_number(uint64_t v, char *buf, size_t n);
/* Go's time.Duration.String(): "5.163391291s", "290.062ms", "2m3.5s", "0s". */
void fmt_go_duration(int64_t ns, char *buf, size_t n);
/* "About a minute", "4 hours" for a non-negative duration in seconds. */
void fmt_human_duration(double seconds, char *buf, size_t n);
/* "2 days ago", "4 minutes from now", "Forever"; zero_text when t is 0. */
void fmt_human_time(double t, double now, const char *zero_text, char *buf, size_t n);
/* RFC 3339 text to Unix seconds (fractions kept); 0 when unparsable or
 * Go's zero time. */
double fmt_parse_time(const char *s);
/* Display columns of UTF-8 text (East-Asian wide = 2). */
int fmt_width(const char *s);

/* A table in Go tablewriter's borderless layout (cli.md §5). */
typedef struct fmt_table {
    char ***rows;
    size_t *row_cells; /* cells each row has (rows may be shorter) */
    size_t n_rows, n_cols;
    bool header; /* rows[0] is the header */
    int wrap;    /* word-wrap limit per cell (30) */
} fmt_table;
void fmt_table_init(fmt_table *t, size_t n_cols, bool header);
void fmt_table_add(fmt_table *t, const char *const *cells);
/* A row of n <= n_cols cells: as tablewriter, a short row prints only its
 * own cells. */
void fmt_table_add_n(fmt_table *t, const char *const *cells, size_t n);
void fmt_table_print(const fmt_table *t, oc_buf *out);
void fmt_table_free(fmt_table *t);

/* ---- progress.c (cli.md §10) ---- */
typedef struct progress progress;
/* Drawn on out; redrawn in place every 100 ms when out is a terminal,
 * else printed as plain lines as the statuses change. */
progress *progress_new(FILE *out);
/* A spinner with this message (the previous spinner stops and stays). */
void progress_spinner(progress *p, const char *msg);
/* Changes the running spinner's message (a new spinner if none runs);
 * plain output prints it only when final. */
void progress_spinner_set(progress *p, const char *msg, bool final);
/* The bar for key: created with label on first sight, then set to
 * completed. */
void progress_bar(progress *p, const char *key, const char *label, int64_t total, int64_t completed);
/* Final redraw and a newline. */
void progress_stop(progress *p);
/* Erases everything drawn (before a model's answer is printed). */
void progress_stop_clear(progress *p);
void progress_free(progress *p);
/* One bar line exactly as upstream draws it (width = terminal columns). */
void progress_render_bar(char *buf, size_t n, int width, const char *msg, int64_t total, int64_t completed,
                         double rate, bool stopped);
/* "1m30s", "2h5m", "99h+" for an ETA in seconds. */
void progress_eta(double seconds, char *buf, size_t n);

/* ---- args.c: cobra/pflag-style flags ---- */
typedef enum { FLAG_BOOL, FLAG_STRING, FLAG_OPTIONAL } flag_kind; /* OPTIONAL: bare = "true" */
typedef struct flag_def {
    const char *shorthand; /* "f" or NULL */
    const char *name;      /* "file" */
    flag_kind kind;
    const char **value;    /* STRING / OPTIONAL: the text */
    bool *set;             /* BOOL: true; others: given */
} flag_def;
/* Parses argv[1..]: flags anywhere, "--" ends them; positional arguments
 * are collected in *pos (array of argv pointers, free it). -h/--help set
 * *help. Errors as cobra: "unknown flag: --x", "flag needs an argument: --x". */
int args_parse(int argc, char **argv, flag_def *flags, char ***pos, int *n_pos, bool *help, oc_error *err);

/* ---- cli_models.c helpers other commands use ---- */
/* Prints `Error: <msg>` on stderr; returns 1. */
int cli_fail(const char *msg);
/* Common handling of "ollama CMD [flags] args": help, flag errors and the
 * argument count (min..max, max < 0 = any). Returns -1 to go on (*pos to
 * free), else the exit code. */
int cli_parse_cmd(const char *name, int argc, char **argv, flag_def *flags, char ***pos, int *n, int min, int max);
/* A client after the heartbeat (starting a local server when needed);
 * NULL after printing the error. */
client *cli_connect(void);
/* The `list` table (also the REPL's /list). */
int cli_print_list(client *c, const char *filter);
/* The default `show` view of a /api/show answer. */
void cli_show_info(json_t *show, bool verbose, oc_buf *out);
/* Pulls a model with the progress display (also used by run). */
int cli_pull_model(client *c, const char *name, bool insecure, oc_error *err);
/* Help text for a command ("run", "list" ...), 0 when known. */
int cli_help_for(const char *cmd, FILE *out);

/* ---- output.c: a streamed answer on stdout ---- */
typedef struct out_writer {
    bool tty;         /* stdout is a terminal: colours, word wrap */
    bool wordwrap;
    int width;        /* terminal columns */
    int line_len;     /* display columns on the current line */
    oc_buf word;      /* the current word (for re-wrapping) */
    bool thinking;    /* inside a Thinking... block */
    bool saw_thinking;
    bool hide_thinking;
    bool last_nl;     /* last thing written ended with a newline */
} out_writer;
void out_init(out_writer *w, bool wordwrap);
void out_content(out_writer *w, const char *text);
void out_thinking(out_writer *w, const char *text);
/* Closes a thinking block when content starts. */
void out_end_thinking(out_writer *w);
void out_free(out_writer *w);
/* The --verbose statistics of a final chunk, on stderr. */
void out_stats(json_t *final);

/* ---- cli_run.c / repl.c ---- */
typedef struct run_opts {
    const char *model;
    const char *format;    /* NULL, "json" or raw JSON */
    json_t *think;         /* NULL, true/false or a level string */
    const char *keepalive; /* NULL or duration text */
    bool verbose, wordwrap, hide_thinking, insecure;
    bool think_capable;
    const char *truncate;  /* embeddings: NULL (server default), "true", "false" */
    long dimensions;       /* embeddings: 0 = all */
    json_t *show;          /* the /api/show answer */
} run_opts;
int repl_run(client *c, run_opts *o);
/* One /api/chat turn: streams the reply; *reply gets the message (owned)
 * unless canceled. Returns 0, CLIENT_CANCELED or -1 with err. */
int run_chat_turn(client *c, run_opts *o, json_t *messages, json_t *options, json_t **reply, oc_error *err);
/* Loads the model with a spinner (empty prompt /api/generate). */
int run_load_model(client *c, run_opts *o, oc_error *err);
/* Keep-alive duration text to the JSON value upstream sends (seconds as a
 * number, or the Go duration string as given); NULL + err when invalid. */
json_t *run_keepalive_value(const char *text, oc_error *err);

#endif

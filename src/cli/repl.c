/* cli: the interactive `ollama run` session on a terminal: libedit line
 * editing with persistent history (~/.ollama/history), \"\"\" multi-line
 * input, the slash commands (/set, /show, /load, /save, /clear, /bye,
 * /?), Ctrl-C to drop a line or stop a reply, Ctrl-D to leave
 * (cli.md §12.4). */
#include <histedit.h>
#include <wchar.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_internal.h"
#include "store/store.h"

enum { ML_NONE, ML_MESSAGE, ML_SYSTEM };

typedef struct repl {
    client *c;
    run_opts *o;
    EditLine *el;
    History *hist;
    char hist_path[4096];
    bool history_on;
    json_t *messages, *options;
    char *system;
    int ml;
    oc_buf block;
} repl;

static volatile sig_atomic_t g_line_interrupted;
static int g_pasting; /* inside a bracketed paste */
static int g_ml_state; /* for the prompt function */

static char *prompt_fn(EditLine *el) {
    (void)el;
    return g_ml_state != ML_NONE || g_pasting ? "... " : ">>> ";
}

/* Ctrl-C at the prompt arrives as a key (ISIG is off while editing). */
static unsigned char on_ctrl_c(EditLine *el, int ch) {
    (void)el, (void)ch;
    g_line_interrupted = 1;
    return CC_NEWLINE;
}

/* Bracketed paste (ESC[200~ ... ESC[201~): pasted lines are gathered
 * into one message instead of each being sent. */
static unsigned char on_paste_start(EditLine *el, int ch) {
    (void)el, (void)ch;
    g_pasting = 1;
    return CC_NORM;
}

static unsigned char on_paste_end(EditLine *el, int ch) {
    (void)el, (void)ch;
    g_pasting = 0;
    return CC_NORM;
}

/* Tab inserts 8 spaces (libedit's default would complete file names). */
static unsigned char on_tab(EditLine *el, int ch) {
    (void)ch;
    el_insertstr(el, "        ");
    return CC_REFRESH;
}

/* Ctrl-Z suspends (ISIG is off while editing, so it arrives as a key). */
static unsigned char on_ctrl_z(EditLine *el, int ch) {
    (void)ch;
    el_set(el, EL_PREP_TERM, 0);
    raise(SIGTSTP);
    el_set(el, EL_PREP_TERM, 1);
    return CC_REDISPLAY;
}

/* The editor for Ctrl-G: OLLAMA_EDITOR, VISUAL, EDITOR, else vi. */
static const char *editor_name(void) {
    const char *vars[] = {"OLLAMA_EDITOR", "VISUAL", "EDITOR"};
    for (int i = 0; i < 3; i++)
        if (getenv(vars[i]) && *getenv(vars[i])) return getenv(vars[i]);
    return "vi";
}

/* Whether the editor's program (its first word) can be run. */
static bool editor_exists(const char *ed) {
    char prog[1024];
    snprintf(prog, sizeof prog, "%.*s", (int)strcspn(ed, " \t"), ed);
    if (strchr(prog, '/')) return access(prog, X_OK) == 0;
    const char *path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        char full[2048];
        snprintf(full, sizeof full, "%.*s/%s", (int)n, p, prog);
        if (access(full, X_OK) == 0) return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* Runs the editor on path with the terminal in its normal mode. */
static void run_editor(EditLine *el, const char *ed, const char *path) {
    el_set(el, EL_PREP_TERM, 0);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("OLLAMA_EDIT_CMD", ed, 1);
        execl("/bin/sh", "sh", "-c", "exec $OLLAMA_EDIT_CMD \"$1\"", "sh", path, (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid > 0) waitpid(pid, &st, 0);
    el_set(el, EL_PREP_TERM, 1);
}

/* Ctrl-G: the current line goes through the editor and comes back. */
static unsigned char on_ctrl_g(EditLine *el, int ch) {
    (void)ch;
    const char *ed = editor_name();
    if (!editor_exists(ed)) {
        fprintf(stderr, "\nerror: editor \"%s\" not found, set OLLAMA_EDITOR to the path of your preferred editor\n",
                ed);
        return CC_REDISPLAY;
    }
    const LineInfo *li = el_line(el);
    char path[] = "/tmp/ollama-prompt-XXXXXX.txt";
    int fd = mkstemps(path, 4);
    if (fd < 0) return CC_ERROR;
    size_t len = (size_t)(li->lastchar - li->buffer);
    bool ok = write(fd, li->buffer, len) == (ssize_t)len;
    close(fd);
    if (ok) run_editor(el, ed, path);
    size_t n = 0;
    char *text = ok ? oc_read_file(path, &n, NULL) : NULL;
    unlink(path);
    if (!text) return CC_REDISPLAY;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) text[--n] = 0;
    li = el_line(el);
    el_cursor(el, (int)(li->lastchar - li->cursor));
    el_deletestr(el, (int)(li->lastchar - li->buffer));
    el_insertstr(el, text);
    free(text);
    return CC_REDISPLAY;
}

static void help_block(const char *title, int col, const char *const *rows) {
    fprintf(stderr, "%s\n", title);
    for (; *rows; rows += 2) {
        if (!**rows) fprintf(stderr, "\n");
        else fprintf(stderr, "  %-*s%s\n", col, rows[0], rows[1]);
    }
    fprintf(stderr, "\n");
}

static void help_main(repl *r) {
    static const char *const rows[] = {"/set", "Set session variables", "/show", "Show model information",
        "/load <model>", "Load a session or model", "/save <model>", "Save your current session",
        "/clear", "Clear session context", "/bye", "Exit", "/?, /help", "Help for a command",
        "/? shortcuts", "Help for keyboard shortcuts", NULL};
    (void)r;
    fprintf(stderr, "Available Commands:\n");
    for (const char *const *p = rows; *p; p += 2) fprintf(stderr, "  %-16s%s\n", p[0], p[1]);
    fprintf(stderr, "\nUse \"\"\" to begin a multi-line message.\n\n");
}

static void help_set(void) {
    static const char *const rows[] = {"/set parameter ...", "Set a parameter", "/set system <string>",
        "Set system message", "/set history", "Enable history", "/set nohistory", "Disable history",
        "/set wordwrap", "Enable wordwrap", "/set nowordwrap", "Disable wordwrap", "/set format json",
        "Enable JSON mode", "/set noformat", "Disable formatting", "/set verbose", "Show LLM stats",
        "/set quiet", "Disable LLM stats", "/set think", "Enable thinking", "/set nothink", "Disable thinking",
        NULL};
    help_block("Available Commands:", 23, rows);
}

static void help_show(void) {
    static const char *const rows[] = {"/show info", "Show details for this model", "/show license",
        "Show model license", "/show modelfile", "Show Modelfile for this model", "/show parameters",
        "Show parameters for this model", "/show system", "Show system message", "/show template",
        "Show prompt template", NULL};
    help_block("Available Commands:", 19, rows);
}

static void help_params(void) {
    static const char *const rows[] = {"/set parameter seed <int>", "Random number seed",
        "/set parameter num_predict <int>", "Max number of tokens to predict", "/set parameter top_k <int>",
        "Pick from top k num of tokens", "/set parameter top_p <float>", "Pick token based on sum of probabilities",
        "/set parameter min_p <float>", "Pick token based on top token probability * min_p",
        "/set parameter num_ctx <int>", "Set the context size", "/set parameter temperature <float>",
        "Set creativity level", "/set parameter repeat_penalty <float>", "How strongly to penalize repetitions",
        "/set parameter repeat_last_n <int>", "Set how far back to look for repetitions",
        "/set parameter num_gpu <int>", "The number of layers to send to the GPU",
        "/set parameter stop <string> <string> ...   ", "Set the stop parameters", NULL};
    help_block("Available Parameters:", 38, rows);
}

static void help_shortcuts(void) {
    static const char *const rows[] = {"Ctrl + a", "Move to the beginning of the line (Home)", "Ctrl + e",
        "Move to the end of the line (End)", " Alt + b", "Move back (left) one word", " Alt + f",
        "Move forward (right) one word", "Ctrl + k", "Delete the sentence after the cursor", "Ctrl + u",
        "Delete the sentence before the cursor", "Ctrl + w", "Delete the word before the cursor", "", "",
        "Ctrl + l", "Clear the screen", "Ctrl + g", "Open default editor to compose a prompt", "Ctrl + c",
        "Stop the model from responding", "Ctrl + d", "Exit ollama (/bye)", NULL};
    help_block("Available keyboard shortcuts:", 20, rows);
}

/* Splits a line into at most max whitespace-separated words (in place). */
static int split_words(char *line, char **words, int max) {
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w && n < max; w = strtok_r(NULL, " \t", &save)) words[n++] = w;
    return n;
}

/* The words after the first k of the original line, single-spaced. */
static char *rest_of(const char *line, int k) {
    char *copy = oc_strdup(line), *w[256];
    int n = split_words(copy, w, 256);
    oc_buf b = {0};
    oc_buf_puts(&b, "");
    for (int i = k; i < n; i++) oc_buf_printf(&b, "%s%s", i > k ? " " : "", w[i]);
    free(copy);
    return b.data;
}

static json_t *show_model(repl *r, const char *model, long *status, oc_error *err) {
    json_t *req = json_pack("{s:s}", "model", model), *res = NULL;
    if (r->system) json_object_set_new(req, "system", json_string(r->system));
    if (json_object_size(r->options)) json_object_set(req, "options", r->options);
    client_json(r->c, "POST", "/api/show", req, &res, status, err);
    json_decref(req);
    return res;
}

static void set_system(repl *r, const char *text, bool append) {
    free(r->system);
    r->system = oc_strdup(text);
    size_t n = json_array_size(r->messages);
    json_t *last = n ? json_array_get(r->messages, n - 1) : NULL;
    json_t *m = json_pack("{s:s,s:s}", "role", "system", "content", text);
    const char *role = json_string_value(json_object_get(last, "role"));
    if (!append && role && !strcmp(role, "system")) json_array_set_new(r->messages, n - 1, m);
    else json_array_append_new(r->messages, m);
    printf("Set system message.\n");
}

static void set_parameter(repl *r, const char *line) {
    char *copy = oc_strdup(line), *w[256];
    int n = split_words(copy, w, 256);
    if (n < 4) {
        help_params();
        free(copy);
        return;
    }
    const char *name = w[2];
    json_t *val = NULL;
    oc_error err = {{0}};
    oc_buf shown = {0};
    oc_buf_puts(&shown, "");
    if (!strcmp(name, "stop")) {
        val = json_array();
        for (int i = 3; i < n; i++) {
            json_array_append_new(val, json_string(w[i]));
            oc_buf_printf(&shown, "%s%s", i > 3 ? ", " : "", w[i]);
        }
    } else if (store_param_value(name, w[3], &val, &err) == 0) {
        oc_buf_puts(&shown, w[3]);
    }
    if (val) {
        json_object_set_new(r->options, name, val);
        printf("Set parameter '%s' to '%s'\n", name, shown.data);
    } else {
        printf("Couldn't set parameter: \"%s\"\n", err.msg);
    }
    oc_buf_free(&shown);
    free(copy);
}

static void set_think(repl *r, const char *level, bool on) {
    json_decref(r->o->think);
    r->o->think = on ? (level ? json_string(level) : json_true()) : json_false();
    if (!on) printf("Set 'nothink' mode.\n");
    else if (level) printf("Set 'think' mode to '%s'.\n", level);
    else printf("Set 'think' mode.\n");
    if (!r->o->think_capable)
        fprintf(stderr, "warning: model \"%s\" does not support thinking output\n", r->o->model);
}

static void cmd_set(repl *r, const char *line) {
    char *copy = oc_strdup(line), *w[4];
    int n = split_words(copy, w, 4);
    const char *sub = n > 1 ? w[1] : NULL;
    if (!sub) help_set();
    else if (!strcmp(sub, "parameter")) set_parameter(r, line);
    else if (!strcmp(sub, "system")) {
        char *text = rest_of(line, 2);
        if (strncmp(text, "\"\"\"", 3) == 0) {
            size_t len = strlen(text);
            if (len >= 6 && !strcmp(text + len - 3, "\"\"\"")) {
                text[len - 3] = 0;
                set_system(r, text + 3, true);
            } else {
                r->ml = ML_SYSTEM;
                oc_buf_clear(&r->block);
                if (text[3]) oc_buf_printf(&r->block, "%s\n", text + 3);
            }
        } else {
            set_system(r, text, false);
        }
        free(text);
    } else if (!strcmp(sub, "history")) r->history_on = true;
    else if (!strcmp(sub, "nohistory")) r->history_on = false;
    else if (!strcmp(sub, "wordwrap")) r->o->wordwrap = true, printf("Set 'wordwrap' mode.\n");
    else if (!strcmp(sub, "nowordwrap")) r->o->wordwrap = false, printf("Set 'nowordwrap' mode.\n");
    else if (!strcmp(sub, "format")) {
        if (n > 2 && !strcmp(w[2], "json")) r->o->format = "json", printf("Set format to 'json' mode.\n");
        else printf("Invalid or missing format. For 'json' mode use '/set format json'\n");
    } else if (!strcmp(sub, "noformat")) r->o->format = NULL, printf("Disabled format.\n");
    else if (!strcmp(sub, "verbose")) r->o->verbose = true, printf("Set 'verbose' mode.\n");
    else if (!strcmp(sub, "quiet")) r->o->verbose = false, printf("Set 'quiet' mode.\n");
    else if (!strcmp(sub, "think")) {
        const char *lvl = n > 2 ? w[2] : NULL;
        if (lvl && !strcmp(lvl, "true")) lvl = NULL;
        if (lvl && !strcmp(lvl, "false")) set_think(r, NULL, false);
        else if (lvl && strcmp(lvl, "high") && strcmp(lvl, "medium") && strcmp(lvl, "low") && strcmp(lvl, "max"))
            printf("Invalid think level '%s'. Use true, false, high, medium, low, or max.\n", lvl);
        else set_think(r, lvl, true);
    } else if (!strcmp(sub, "nothink")) set_think(r, NULL, false);
    else printf("Unknown command '/set %s'. Type /? for help\n", sub);
    free(copy);
}

static void show_parameters(repl *r, json_t *show) {
    const char *p = json_string_value(json_object_get(show, "parameters"));
    printf("Model defined parameters:\n");
    if (p && *p) {
        char *copy = oc_strdup(p);
        for (char *l = strtok(copy, "\n"); l; l = strtok(NULL, "\n")) printf("  %s\n", l);
        free(copy);
    } else {
        printf("  No additional parameters were specified for this model.\n");
    }
    printf("\n");
    if (json_object_size(r->options)) {
        printf("User defined parameters:\n");
        const char *k;
        json_t *v;
        json_object_foreach(r->options, k, v) {
            char *s = json_is_string(v) ? oc_strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
            if (json_is_array(v)) { /* Go's %v of a list: [a b] */
                oc_buf b = {0};
                size_t i;
                json_t *e;
                oc_buf_puts(&b, "[");
                json_array_foreach(v, i, e) oc_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(e));
                oc_buf_puts(&b, "]");
                free(s);
                s = b.data;
            }
            printf("  %-30s %s\n", k, s ? s : "");
            free(s);
        }
        printf("\n");
    }
}

static void cmd_show(repl *r, const char *line) {
    char *copy = oc_strdup(line), *w[3];
    int n = split_words(copy, w, 3);
    if (n < 2) {
        help_show();
        free(copy);
        return;
    }
    const char *sub = w[1];
    oc_error err = {{0}};
    json_t *show = show_model(r, r->o->model, NULL, &err);
    const char *f;
    if (!show) printf("error: %s\n", err.msg);
    else if (!strcmp(sub, "info")) {
        oc_buf out = {0};
        cli_show_info(show, false, &out);
        fputs(out.data ? out.data : "", stderr);
        oc_buf_free(&out);
    } else if (!strcmp(sub, "license")) {
        f = json_string_value(json_object_get(show, "license"));
        printf("%s\n", f && *f ? f : "No license was specified for this model.");
    } else if (!strcmp(sub, "modelfile")) {
        printf("%s\n", json_string_value(json_object_get(show, "modelfile")));
    } else if (!strcmp(sub, "parameters")) {
        show_parameters(r, show);
    } else if (!strcmp(sub, "system")) {
        f = r->system ? r->system : json_string_value(json_object_get(show, "system"));
        if (f && *f) printf("%s\n\n", f);
        else printf("No system message was specified for this model.\n");
    } else if (!strcmp(sub, "template")) {
        f = json_string_value(json_object_get(show, "template"));
        printf("%s\n", f && *f ? f : "No prompt template was specified for this model.");
    } else {
        printf("Unknown command '/show %s'. Type /? for help\n", sub);
    }
    json_decref(show);
    free(copy);
}

static void print_history(repl *r, json_t *show) {
    size_t i;
    json_t *m;
    out_writer w;
    json_array_foreach(json_object_get(show, "messages"), i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *text = json_string_value(json_object_get(m, "content"));
        if (!role || !text) continue;
        if (!strcmp(role, "user")) printf(">>> %s\n", text);
        else if (!strcmp(role, "assistant")) {
            out_init(&w, r->o->wordwrap);
            out_content(&w, text);
            out_free(&w);
            printf("\n\n");
        }
    }
}

static int cmd_load(repl *r, const char *line) {
    char *copy = oc_strdup(line), *w[3];
    int n = split_words(copy, w, 3);
    if (n != 2) {
        printf("Usage:\n  /load <modelname>\n");
        free(copy);
        return 0;
    }
    oc_error err = {{0}};
    long status = 0;
    char *saved_sys = r->system;
    r->system = NULL;
    json_t *show = show_model(r, w[1], &status, &err);
    r->system = saved_sys;
    if (!show) {
        if (status == 404) printf("Couldn't find model '%s'\n", w[1]);
        else printf("error: %s\n", err.msg);
        free(copy);
        return 0;
    }
    printf("Loading model '%s'\n", w[1]);
    static char model[1024];
    snprintf(model, sizeof model, "%s", w[1]);
    r->o->model = model;
    json_decref(r->o->show);
    r->o->show = show;
    json_array_clear(r->messages);
    free(r->system), r->system = NULL;
    free(copy);
    if (run_load_model(r->c, r->o, &err) != 0) return cli_fail(err.msg), -1;
    print_history(r, show);
    return 0;
}

static int discard(void *ud, json_t *obj) { return (void)ud, (void)obj, 0; }

/* The model /save builds on: the parent model when it is a model this
 * server has (a FROM file name is not), else the current one. */
static const char *save_base(repl *r) {
    const char *parent = json_string_value(json_object_get(json_object_get(r->o->show, "details"), "parent_model"));
    store_name pn;
    if (!parent || !*parent || store_name_parse(parent, &pn, NULL) != 0) return r->o->model;
    json_t *req = json_pack("{s:s}", "model", parent);
    int rc = client_json(r->c, "POST", "/api/show", req, NULL, NULL, NULL);
    json_decref(req);
    return rc == 0 ? parent : r->o->model;
}

static void cmd_save(repl *r, const char *line) {
    char *copy = oc_strdup(line), *w[3];
    int n = split_words(copy, w, 3);
    store_name sn;
    if (n != 2) printf("Usage:\n  /save <modelname>\n");
    else if (store_name_parse(w[1], &sn, NULL) != 0) printf("error: The model name '%s' is invalid\n", w[1]);
    else {
        json_t *msgs = json_array();
        json_t *stored = json_object_get(r->o->show, "messages");
        if (json_is_array(stored)) json_array_extend(msgs, stored);
        json_array_extend(msgs, r->messages);
        json_t *req = json_pack("{s:s,s:s,s:o}", "model", w[1], "from", save_base(r), "messages", msgs);
        if (r->system) json_object_set_new(req, "system", json_string(r->system));
        if (json_object_size(r->options)) json_object_set(req, "parameters", r->options);
        oc_error err = {{0}};
        if (client_stream(r->c, "/api/create", req, discard, NULL, &err) != 0) printf("error: %s\n", err.msg);
        else printf("Created new model '%s'\n", w[1]);
        json_decref(req);
    }
    free(copy);
}

/* Sends the accumulated message; returns -1 when the session must end. */
static int send_message(repl *r, const char *text) {
    json_array_append_new(r->messages, json_pack("{s:s,s:s}", "role", "user", "content", text));
    json_t *reply = NULL;
    oc_error err = {{0}};
    int rc = run_chat_turn(r->c, r->o, r->messages, r->options, &reply, &err);
    if (rc == 0) {
        json_array_append_new(r->messages, reply);
        return 0;
    }
    json_array_remove(r->messages, json_array_size(r->messages) - 1);
    if (rc == CLIENT_CANCELED) {
        client_cancel_reset();
        printf("\n");
        return 0;
    }
    if (strstr(err.msg, "does not support thinking") || strstr(err.msg, "invalid think value")) {
        printf("error: %s\n", err.msg);
        return 0;
    }
    cli_fail(err.msg);
    return -1;
}

static bool prefix_cmd(const char *line, const char *cmd) {
    size_t n = strlen(cmd);
    return strncmp(line, cmd, n) == 0 && (line[n] == 0 || line[n] == ' ' || line[n] == '\t');
}

/* One input line; 1 = leave, -1 = error, 0 = go on. */
static int handle_line(repl *r, char *line) {
    size_t len = strlen(line);
    if (r->ml != ML_NONE) {
        bool end = len >= 3 && !strcmp(line + len - 3, "\"\"\"");
        if (!end) {
            oc_buf_printf(&r->block, "%s\n", line);
            return 0;
        }
        line[len - 3] = 0;
        oc_buf_puts(&r->block, line);
        int kind = r->ml;
        r->ml = ML_NONE;
        char *text = oc_strdup(r->block.data ? r->block.data : "");
        oc_buf_clear(&r->block);
        int rc = 0;
        if (kind == ML_SYSTEM) set_system(r, text, true);
        else if (*text) rc = send_message(r, text);
        free(text);
        return rc;
    }
    if (!strncmp(line, "\"\"\"", 3)) {
        char *rest = line + 3;
        size_t rl = strlen(rest);
        if (rl >= 3 && !strcmp(rest + rl - 3, "\"\"\"")) {
            rest[rl - 3] = 0;
            return *rest ? send_message(r, rest) : 0;
        }
        r->ml = ML_MESSAGE;
        oc_buf_clear(&r->block);
        oc_buf_printf(&r->block, "%s\n", rest);
        return 0;
    }
    if (prefix_cmd(line, "/list")) return cli_print_list(r->c, NULL), 0;
    if (prefix_cmd(line, "/load")) return cmd_load(r, line);
    if (prefix_cmd(line, "/save")) return cmd_save(r, line), 0;
    if (prefix_cmd(line, "/clear")) {
        json_array_clear(r->messages);
        if (r->system) json_array_append_new(r->messages, json_pack("{s:s,s:s}", "role", "system", "content", r->system));
        printf("Cleared session context\n");
        return 0;
    }
    if (prefix_cmd(line, "/set")) return cmd_set(r, line), 0;
    if (prefix_cmd(line, "/show")) return cmd_show(r, line), 0;
    if (prefix_cmd(line, "/bye") || prefix_cmd(line, "/exit")) return 1;
    if (prefix_cmd(line, "/help") || prefix_cmd(line, "/?")) {
        char *copy = oc_strdup(line), *w[3];
        int n = split_words(copy, w, 3);
        const char *t = n > 1 ? w[1] : NULL;
        if (t && *t == '/') t++;
        if (!t) help_main(r);
        else if (!strcmp(t, "set")) help_set();
        else if (!strcmp(t, "show")) help_show();
        else if (!strcmp(t, "shortcuts") || !strcmp(t, "shortcut")) help_shortcuts();
        else help_main(r);
        free(copy);
        return 0;
    }
    if (line[0] == '/') {
        char *copy = oc_strdup(line), *w[2] = {copy, NULL};
        split_words(copy, w, 1);
        printf("Unknown command '%s'. Type /? for help\n", w[0]);
        free(copy);
        return 0;
    }
    return *line ? send_message(r, line) : 0;
}

/* The history file holds plain lines, as upstream's readline writes it. */
static void history_load(repl *r) {
    FILE *f = fopen(r->hist_path, "r");
    if (!f) return;
    char line[8192];
    HistEvent ev;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (*line) history(r->hist, &ev, H_ENTER, line);
    }
    fclose(f);
}

static void history_save(repl *r) {
    oc_buf b = {0};
    HistEvent ev;
    for (int rc = history(r->hist, &ev, H_LAST); rc == 0; rc = history(r->hist, &ev, H_PREV))
        oc_buf_printf(&b, "%s\n", ev.str);
    oc_write_file_atomic(r->hist_path, b.data ? b.data : "", b.len, NULL);
    oc_buf_free(&b);
}

static void history_setup(repl *r) {
    HistEvent ev;
    r->hist = history_init();
    history(r->hist, &ev, H_SETSIZE, 100);
    history(r->hist, &ev, H_SETUNIQUE, 1);
    const char *home = getenv("HOME");
    r->history_on = !getenv("OLLAMA_NOHISTORY") || !*getenv("OLLAMA_NOHISTORY");
    if (home && *home) {
        snprintf(r->hist_path, sizeof r->hist_path, "%s/.ollama", home);
        mkdir(r->hist_path, 0755);
        snprintf(r->hist_path, sizeof r->hist_path, "%s/.ollama/history", home);
        if (r->history_on) history_load(r);
    }
}

static void editline_setup(repl *r) {
    r->el = el_init("ollama", stdin, stdout, stderr);
    el_set(r->el, EL_EDITOR, "emacs");
    el_set(r->el, EL_PROMPT, prompt_fn);
    el_set(r->el, EL_HIST, history, r->hist);
    /* el_wset for EL_ADDFN: the narrow el_set copies the names and never
     * frees them. */
    el_wset(r->el, EL_ADDFN, L"ollama-interrupt", L"drop the line", on_ctrl_c);
    el_set(r->el, EL_BIND, "^C", "ollama-interrupt", NULL);
    el_wset(r->el, EL_ADDFN, L"ollama-editor", L"edit the line in an editor", on_ctrl_g);
    el_set(r->el, EL_BIND, "^G", "ollama-editor", NULL);
    el_wset(r->el, EL_ADDFN, L"ollama-paste-start", L"bracketed paste begins", on_paste_start);
    el_set(r->el, EL_BIND, "\033[200~", "ollama-paste-start", NULL);
    el_wset(r->el, EL_ADDFN, L"ollama-paste-end", L"bracketed paste ends", on_paste_end);
    el_set(r->el, EL_BIND, "\033[201~", "ollama-paste-end", NULL);
    el_wset(r->el, EL_ADDFN, L"ollama-tab", L"insert 8 spaces", on_tab);
    el_set(r->el, EL_BIND, "^I", "ollama-tab", NULL);
    el_wset(r->el, EL_ADDFN, L"ollama-suspend", L"suspend", on_ctrl_z);
    el_set(r->el, EL_BIND, "^Z", "ollama-suspend", NULL);
    el_set(r->el, EL_SETTY, "-d", "-isig", NULL);
    el_source(r->el, NULL);
}

static void add_history(repl *r, const char *line) {
    if (!r->history_on || !*line || strchr(line, '\n')) return; /* the file is one entry a line */
    HistEvent ev;
    history(r->hist, &ev, H_ENTER, line);
    if (*r->hist_path) history_save(r);
}

int repl_run(client *c, run_opts *o) {
    oc_error err = {{0}};
    if (run_load_model(c, o, &err) != 0) return cli_fail(err.msg);
    repl r = {.c = c, .o = o, .messages = json_array(), .options = json_object()};
    print_history(&r, o->show);
    history_setup(&r);
    editline_setup(&r);
    oc_buf pasted = {0};
    fputs("\033[?2004h", stdout); /* bracketed paste on */
    int rc = 0;
    for (;;) {
        g_ml_state = r.ml;
        g_line_interrupted = 0;
        int count = 0;
        const char *got = el_gets(r.el, &count);
        if (g_line_interrupted) {
            r.ml = ML_NONE;
            g_pasting = 0;
            oc_buf_clear(&r.block);
            oc_buf_clear(&pasted);
            printf("\nUse Ctrl + d or /bye to exit.\n");
            continue;
        }
        if (!got || count <= 0) {
            printf("\n");
            break;
        }
        char *line = oc_strdup(got);
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (g_pasting) { /* a newline inside a paste: keep gathering */
            oc_buf_printf(&pasted, "%s\n", line);
            free(line);
            continue;
        }
        if (pasted.len) {
            oc_buf_puts(&pasted, line);
            free(line);
            line = oc_strdup(pasted.data);
            oc_buf_clear(&pasted);
        }
        add_history(&r, line);
        /* Leading/trailing spaces matter only inside a block. */
        char *s = line;
        if (r.ml == ML_NONE) {
            while (*s == ' ' || *s == '\t') s++;
            for (size_t k = strlen(s); k && (s[k - 1] == ' ' || s[k - 1] == '\t');) s[--k] = 0;
        }
        int h = handle_line(&r, s);
        free(line);
        if (h != 0) {
            rc = h < 0 ? 1 : 0;
            break;
        }
    }
    fputs("\033[?2004l", stdout);
    fflush(stdout);
    oc_buf_free(&pasted);
    el_end(r.el);
    history_end(r.hist);
    json_decref(r.messages);
    json_decref(r.options);
    free(r.system);
    oc_buf_free(&r.block);
    return rc;
}

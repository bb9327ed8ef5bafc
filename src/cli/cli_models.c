/* cli: the model-management commands that are one request each: list/ls,
 * ps, show, cp, rm, stop and -v/--version, with upstream's tables and
 * texts (cli.md §3, §5–§8). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_internal.h"
#include "server/server.h"

int cli_fail(const char *msg) {
    fprintf(stderr, "Error: %s\n", msg);
    return 1;
}

client *cli_connect(void) {
    client *c = client_new();
    oc_error err = {{0}};
    if (client_ensure_server(c, &err) != 0) {
        cli_fail(err.msg);
        client_free(c);
        return NULL;
    }
    return c;
}

static double now_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *jstr(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

int cli_parse_cmd(const char *name, int argc, char **argv, flag_def *flags, char ***pos, int *n, int min,
                     int max) {
    bool help;
    oc_error err = {{0}};
    if (args_parse(argc, argv, flags, pos, n, &help, &err) != 0) return cli_fail(err.msg);
    if (help) {
        cli_help_for(name, stdout);
        free(*pos);
        return 0;
    }
    char msg[128] = "";
    if (min == max && *n != min) snprintf(msg, sizeof msg, "accepts %d arg(s), received %d", min, *n);
    else if (*n < min) snprintf(msg, sizeof msg, "requires at least %d arg(s), only received %d", min, *n);
    else if (max >= 0 && *n > max) snprintf(msg, sizeof msg, "accepts at most %d arg(s), received %d", max, *n);
    if (*msg) {
        free(*pos);
        return cli_fail(msg);
    }
    return -1;
}

#define PARSE(name, flags, min, max)                                            \
    char **pos;                                                                 \
    int npos;                                                                   \
    {                                                                           \
        int rc_ = cli_parse_cmd(name, argc, argv, flags, &pos, &npos, min, max);\
        if (rc_ >= 0) return rc_;                                               \
    }

/* ---- list / ps ---- */

/* Writes t to stdout and frees it. */
static void print_table(fmt_table *t) {
    oc_buf out = {0};
    fmt_table_print(t, &out);
    fwrite(out.data, 1, out.len, stdout);
    oc_buf_free(&out);
    fmt_table_free(t);
}

int cli_print_list(client *c, const char *filter) {
    json_t *res = NULL;
    oc_error err = {{0}};
    if (client_json(c, "GET", "/api/tags", NULL, &res, NULL, &err) != 0) return cli_fail(err.msg);
    fmt_table t;
    fmt_table_init(&t, 4, true);
    const char *head[] = {"NAME", "ID", "SIZE", "MODIFIED"};
    fmt_table_add(&t, head);
    size_t i;
    json_t *m;
    double now = now_real();
    json_array_foreach(json_object_get(res, "models"), i, m) {
        const char *name = jstr(m, "name");
        if (filter && strncasecmp(name, filter, strlen(filter)) != 0) continue;
        char id[13], size[32], mod[64];
        snprintf(id, sizeof id, "%.12s", jstr(m, "digest"));
        if (*jstr(m, "remote_host")) strcpy(size, "-");
        else fmt_bytes(json_integer_value(json_object_get(m, "size")), size, sizeof size);
        fmt_human_time(fmt_parse_time(jstr(m, "modified_at")), now, "Never", mod, sizeof mod);
        const char *row[] = {name, id, size, mod};
        fmt_table_add(&t, row);
    }
    print_table(&t);
    json_decref(res);
    return 0;
}

int cli_list(int argc, char **argv) {
    PARSE("list", NULL, 0, -1);
    client *c = cli_connect();
    int rc = c ? cli_print_list(c, npos ? pos[0] : NULL) : 1;
    client_free(c);
    free(pos);
    return rc;
}

static void processor_text(int64_t size, int64_t vram, char *buf, size_t n) {
    if (vram == 0) snprintf(buf, n, "100%% CPU");
    else if (vram == size) snprintf(buf, n, "100%% GPU");
    else if (vram > size || size == 0) snprintf(buf, n, "Unknown");
    else {
        long cpu = lround((double)(size - vram) / (double)size * 100);
        snprintf(buf, n, "%ld%%/%ld%% CPU/GPU", cpu, 100 - cpu);
    }
}

int cli_ps(int argc, char **argv) {
    PARSE("ps", NULL, 0, -1);
    client *c = cli_connect();
    json_t *res = NULL;
    oc_error err = {{0}};
    if (!c || client_json(c, "GET", "/api/ps", NULL, &res, NULL, &err) != 0) {
        client_free(c), free(pos);
        return c ? cli_fail(err.msg) : 1;
    }
    fmt_table t;
    fmt_table_init(&t, 6, true);
    const char *head[] = {"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"};
    fmt_table_add(&t, head);
    size_t i;
    json_t *m;
    double now = now_real();
    json_array_foreach(json_object_get(res, "models"), i, m) {
        const char *name = jstr(m, "name");
        if (npos && strncmp(name, pos[0], strlen(pos[0])) != 0) continue;
        int64_t size = json_integer_value(json_object_get(m, "size"));
        char id[13], sz[32], proc[48], ctx[32], until[64];
        snprintf(id, sizeof id, "%.12s", jstr(m, "digest"));
        fmt_bytes(size, sz, sizeof sz);
        processor_text(size, json_integer_value(json_object_get(m, "size_vram")), proc, sizeof proc);
        snprintf(ctx, sizeof ctx, "%lld", (long long)json_integer_value(json_object_get(m, "context_length")));
        double exp = fmt_parse_time(jstr(m, "expires_at"));
        if (exp != 0 && exp < now) strcpy(until, "Stopping...");
        else fmt_human_time(exp, now, "Never", until, sizeof until);
        const char *row[] = {name, id, sz, proc, ctx, until};
        fmt_table_add(&t, row);
    }
    print_table(&t);
    json_decref(res), client_free(c), free(pos);
    return 0;
}

/* ---- show ---- */

static void section(oc_buf *out, const char *title, fmt_table *t) {
    if (!t->n_rows) return;
    oc_buf_printf(out, "  %s\n", title);
    fmt_table_print(t, out);
    oc_buf_puts(out, "\n");
}

static void row2(fmt_table *t, const char *k, const char *v) {
    const char *row[] = {"", k, v};
    fmt_table_add(t, row);
}

static void json_scalar_text(json_t *v, char *buf, size_t n) {
    if (json_is_integer(v)) snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, n, "%g", json_real_value(v));
    else if (json_is_string(v)) snprintf(buf, n, "%s", json_string_value(v));
    else if (json_is_boolean(v)) snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    else *buf = 0;
}

static void model_section(json_t *show, oc_buf *out) {
    fmt_table t;
    fmt_table_init(&t, 3, false);
    json_t *info = json_object_get(show, "model_info"), *det = json_object_get(show, "details");
    char buf[256];
    if (info) {
        const char *arch = jstr(info, "general.architecture");
        row2(&t, "architecture", arch);
        if (*jstr(det, "parameter_size")) row2(&t, "parameters", jstr(det, "parameter_size"));
        else {
            fmt_number((uint64_t)json_integer_value(json_object_get(info, "general.parameter_count")), buf,
                       sizeof buf);
            row2(&t, "parameters", buf);
        }
        const char *keys[][2] = {{"context_length", "context length"}, {"embedding_length", "embedding length"}};
        for (int k = 0; k < 2; k++) {
            char key[160];
            snprintf(key, sizeof key, "%s.%s", arch, keys[k][0]);
            json_t *v = json_object_get(info, key);
            if (!v) continue;
            json_scalar_text(v, buf, sizeof buf);
            row2(&t, keys[k][1], buf);
        }
    } else {
        row2(&t, "architecture", jstr(det, "family"));
        row2(&t, "parameters", jstr(det, "parameter_size"));
    }
    row2(&t, "quantization", jstr(det, "quantization_level"));
    if (*jstr(show, "requires")) row2(&t, "requires", jstr(show, "requires"));
    section(out, "Model", &t);
    fmt_table_free(&t);
}

/* System / License: the first two non-empty lines, then "...". */
static void text_section(oc_buf *out, const char *title, const char *text) {
    fmt_table t;
    fmt_table_init(&t, 2, false);
    t.wrap = 100;
    int shown = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) p++, len--;
        while (len && isspace((unsigned char)p[len - 1])) len--;
        if (len) {
            char *line = oc_strndup(p, len);
            const char *row[] = {"", shown < 2 ? line : "..."};
            fmt_table_add(&t, row);
            free(line);
            if (++shown > 2) break;
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
    section(out, title, &t);
    fmt_table_free(&t);
}

static void verbose_sections(json_t *show, oc_buf *out) {
    json_t *info = json_object_get(show, "model_info");
    fmt_table t;
    fmt_table_init(&t, 3, false);
    const char **keys = oc_calloc(json_object_size(info) + 1, sizeof *keys);
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(info, k, v) keys[n++] = k;
    qsort(keys, n, sizeof *keys, (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        v = json_object_get(info, keys[i]);
        if (json_is_array(v)) {
            oc_buf b = {0};
            size_t j;
            json_t *e;
            json_array_foreach(v, j, e) {
                json_scalar_text(e, buf, sizeof buf);
                if (b.len + strlen(buf) > 10) {
                    oc_buf_printf(&b, "%s...+%zu more", j ? " " : "", json_array_size(v) - j);
                    break;
                }
                oc_buf_printf(&b, "%s%s", j ? " " : "", buf);
            }
            snprintf(buf, sizeof buf, "[%s]", b.data ? b.data : "");
            oc_buf_free(&b);
        } else {
            json_scalar_text(v, buf, sizeof buf);
        }
        row2(&t, keys[i], buf);
    }
    free(keys);
    section(out, "Metadata", &t);
    fmt_table_free(&t);
    /* Tensors: name, type, shape as Go prints a slice: [64 512]. */
    fmt_table_init(&t, 4, false);
    size_t i;
    json_t *tn;
    json_array_foreach(json_object_get(show, "tensors"), i, tn) {
        oc_buf shape = {0};
        size_t j;
        json_t *d;
        oc_buf_puts(&shape, "[");
        json_array_foreach(json_object_get(tn, "shape"), j, d)
            oc_buf_printf(&shape, "%s%lld", j ? " " : "", (long long)json_integer_value(d));
        oc_buf_puts(&shape, "]");
        const char *row[] = {"", jstr(tn, "name"), jstr(tn, "type"), shape.data};
        fmt_table_add(&t, row);
        oc_buf_free(&shape);
    }
    section(out, "Tensors", &t);
    fmt_table_free(&t);
}

void cli_show_info(json_t *show, bool verbose, oc_buf *out) {
    model_section(show, out);
    fmt_table t;
    fmt_table_init(&t, 2, false);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(show, "capabilities"), i, v) {
        const char *row[] = {"", json_string_value(v)};
        fmt_table_add(&t, row);
    }
    section(out, "Capabilities", &t);
    fmt_table_free(&t);
    /* Parameters: each line split on whitespace into cells. */
    fmt_table_init(&t, 8, false);
    char *params = oc_strdup(jstr(show, "parameters"));
    for (char *line = strtok(params, "\n"); line; line = strtok(NULL, "\n")) {
        const char *cells[8] = {""};
        int k = 1;
        char *save = NULL;
        for (char *w = strtok_r(line, " \t", &save); w && k < 8; w = strtok_r(NULL, " \t", &save)) cells[k++] = w;
        if (k > 1) fmt_table_add_n(&t, cells, (size_t)k);
    }
    free(params);
    section(out, "Parameters", &t);
    fmt_table_free(&t);
    if (verbose) verbose_sections(show, out);
    text_section(out, "System", jstr(show, "system"));
    text_section(out, "License", jstr(show, "license"));
}

int cli_show(int argc, char **argv) {
    bool license = false, modelfile = false, parameters = false, system = false, tmpl = false, verbose = false;
    flag_def flags[] = {{NULL, "license", FLAG_BOOL, NULL, &license},
                        {NULL, "modelfile", FLAG_BOOL, NULL, &modelfile},
                        {NULL, "parameters", FLAG_BOOL, NULL, &parameters},
                        {NULL, "system", FLAG_BOOL, NULL, &system},
                        {NULL, "template", FLAG_BOOL, NULL, &tmpl},
                        {"v", "verbose", FLAG_BOOL, NULL, &verbose},
                        {0}};
    PARSE("show", flags, 1, 1);
    const char *name = pos[0];
    free(pos);
    if (license + modelfile + parameters + system + tmpl > 1)
        return cli_fail("only one of '--license', '--modelfile', '--parameters', '--system', or '--template' can be "
                        "specified");
    client *c = cli_connect();
    if (!c) return 1;
    json_t *req = json_pack("{s:s,s:b}", "model", name, "verbose", verbose), *res = NULL;
    oc_error err = {{0}};
    int rc = client_json(c, "POST", "/api/show", req, &res, NULL, &err);
    json_decref(req);
    client_free(c);
    if (rc != 0) return cli_fail(err.msg);
    if (license) printf("%s\n", jstr(res, "license"));
    else if (modelfile) printf("%s\n", jstr(res, "modelfile"));
    else if (parameters) printf("%s\n", jstr(res, "parameters"));
    else if (system) printf("%s", jstr(res, "system"));
    else if (tmpl) printf("%s", jstr(res, "template"));
    else {
        oc_buf out = {0};
        cli_show_info(res, verbose, &out);
        fwrite(out.data, 1, out.len, stdout);
        oc_buf_free(&out);
    }
    json_decref(res);
    return 0;
}

/* ---- cp / rm / stop ---- */

int cli_cp(int argc, char **argv) {
    PARSE("cp", NULL, 2, 2);
    client *c = cli_connect();
    int rc = 1;
    if (c) {
        json_t *req = json_pack("{s:s,s:s}", "source", pos[0], "destination", pos[1]);
        oc_error err = {{0}};
        if (client_json(c, "POST", "/api/copy", req, NULL, NULL, &err) != 0) cli_fail(err.msg);
        else printf("copied '%s' to '%s'\n", pos[0], pos[1]), rc = 0;
        json_decref(req);
    }
    client_free(c), free(pos);
    return rc;
}

/* Unloads a model: /api/generate with keep_alive 0. */
static int unload(client *c, const char *name, oc_error *err) {
    json_t *req = json_pack("{s:s,s:i}", "model", name, "keep_alive", 0);
    int rc = client_json(c, "POST", "/api/generate", req, NULL, NULL, err);
    json_decref(req);
    return rc;
}

int cli_stop(int argc, char **argv) {
    PARSE("stop", NULL, 1, 1);
    const char *name = pos[0];
    free(pos);
    client *c = cli_connect();
    if (!c) return 1;
    json_t *req = json_pack("{s:s}", "model", name);
    oc_error err = {{0}};
    long status = 0;
    int rc = client_json(c, "POST", "/api/show", req, NULL, &status, &err);
    json_decref(req);
    if (rc != 0 && status == 404) snprintf(err.msg, sizeof err.msg, "couldn't find model \"%s\" to stop", name);
    if (rc == 0) rc = unload(c, name, &err);
    client_free(c);
    return rc ? cli_fail(err.msg) : 0;
}

static int remove_one(client *c, const char *name) {
    oc_error err = {{0}};
    if (unload(c, name, &err) != 0 && !strstr(err.msg, "not found"))
        fprintf(stderr, "Warning: unable to stop model '%s'\n", name);
    json_t *req = json_pack("{s:s}", "model", name);
    int rc = client_json(c, "DELETE", "/api/delete", req, NULL, NULL, &err);
    json_decref(req);
    if (rc != 0) return cli_fail(err.msg);
    printf("deleted '%s'\n", name);
    return 0;
}

/* `rm --all`: every local model, after a y/N question unless -f. */
static int remove_all(client *c, bool force) {
    json_t *res = NULL;
    oc_error err = {{0}};
    if (client_json(c, "GET", "/api/tags", NULL, &res, NULL, &err) != 0) return cli_fail(err.msg);
    json_t *models = json_object_get(res, "models");
    size_t n = json_array_size(models), i;
    json_t *m;
    int rc = 0;
    if (n == 0) {
        printf("no models to remove\n");
    } else if (!force) {
        fprintf(stderr, "Remove all %zu models? [y/N] ", n);
        fflush(stderr);
        char line[64] = "";
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            fprintf(stderr, "Aborted.\n");
            n = 0;
        }
    }
    for (i = 0; i < n && rc == 0; i++) {
        m = json_array_get(models, i);
        rc = remove_one(c, jstr(m, "name"));
    }
    json_decref(res);
    return rc;
}

int cli_rm(int argc, char **argv) {
    bool all = false, force = false;
    flag_def flags[] = {{NULL, "all", FLAG_BOOL, NULL, &all}, {"f", "force", FLAG_BOOL, NULL, &force}, {0}};
    PARSE("rm", flags, all ? 0 : 0, -1);
    if (!all && npos < 1) {
        free(pos);
        return cli_fail("requires at least 1 arg(s), only received 0");
    }
    if (all && npos) {
        free(pos);
        return cli_fail("--all takes no model names");
    }
    client *c = cli_connect();
    int rc = 1;
    if (c) {
        rc = all ? remove_all(c, force) : 0;
        for (int i = 0; !all && i < npos && rc == 0; i++) rc = remove_one(c, pos[i]);
    }
    client_free(c), free(pos);
    return rc;
}

/* ---- version ---- */

int cli_version(void) {
    client *c = client_new();
    json_t *res = NULL;
    const char *server = NULL;
    if (client_json(c, "GET", "/api/version", NULL, &res, NULL, NULL) == 0)
        server = json_string_value(json_object_get(res, "version"));
    if (server) printf("ollama version is %s\n", server);
    else printf("Warning: could not connect to a running Ollama instance\n");
    if (!server || strcmp(server, SERVER_VERSION) != 0) printf("Warning: client version is %s\n", SERVER_VERSION);
    json_decref(res);
    client_free(c);
    return 0;
}

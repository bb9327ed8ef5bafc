/* cli: the commands that stream progress: pull, push and create (the
 * Modelfile read client-side, local files hashed and uploaded as blobs,
 * then /api/create), drawn with progress.c (cli.md §8). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_internal.h"
#include "store/store.h"

typedef struct show_progress {
    progress *p;
    char status[512];
    bool pull; /* bars labelled "pulling <12 hex>:" (else by the status) */
} show_progress;

static int on_progress(void *ud, json_t *obj) {
    show_progress *sp = ud;
    const char *status = json_string_value(json_object_get(obj, "status"));
    const char *digest = json_string_value(json_object_get(obj, "digest"));
    int64_t total = json_integer_value(json_object_get(obj, "total"));
    int64_t completed = json_integer_value(json_object_get(obj, "completed"));
    if (!status) status = "";
    if (digest && *digest) {
        if (completed == 0) return 0; /* no 0 % bars, as upstream */
        char label[600];
        if (sp->pull) {
            const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
            snprintf(label, sizeof label, "pulling %.12s:", hex);
        } else {
            snprintf(label, sizeof label, "%s", status);
        }
        progress_bar(sp->p, digest, label, total, completed);
    } else if (strcmp(status, sp->status) != 0) {
        snprintf(sp->status, sizeof sp->status, "%s", status);
        progress_spinner(sp->p, status);
    }
    return 0;
}

static int stream_with_progress(client *c, const char *path, json_t *req, bool pull, oc_error *err) {
    show_progress sp = {.p = progress_new(stderr), .pull = pull};
    int rc = client_stream(c, path, req, on_progress, &sp, err);
    progress_stop(sp.p);
    progress_free(sp.p);
    if (rc == CLIENT_CANCELED) rc = oc_fail(err, "canceled");
    return rc;
}

int cli_pull_model(client *c, const char *name, bool insecure, oc_error *err) {
    json_t *req = json_pack("{s:s,s:b}", "model", name, "insecure", insecure);
    int rc = stream_with_progress(c, "/api/pull", req, true, err);
    json_decref(req);
    return rc;
}

/* Where a pushed model can be found: ollama.com's page for its hosts,
 * else the full name (cli.md §8.2). */
static void print_destination(const char *name) {
    store_name sn;
    char full[STORE_NAME_BUF + 1100];
    if (store_name_parse(name, &sn, NULL) != 0) {
        snprintf(full, sizeof full, "%s", name);
    } else {
        size_t hl = strlen(sn.host);
        bool ollama = (hl >= 10 && !strcmp(sn.host + hl - 10, "ollama.com")) ||
                      (hl >= 9 && !strcmp(sn.host + hl - 9, "ollama.ai"));
        if (!ollama) store_name_string(&sn, full, sizeof full);
        else if (!strcmp(sn.tag, "latest")) snprintf(full, sizeof full, "https://ollama.com/%s/%s", sn.ns, sn.model);
        else snprintf(full, sizeof full, "https://ollama.com/%s/%s:%s", sn.ns, sn.model, sn.tag);
    }
    printf("\nYou can find your model at:\n\n\t%s\n", full);
}

static int pull_or_push(int argc, char **argv, bool push) {
    bool insecure = false;
    flag_def flags[] = {{NULL, "insecure", FLAG_BOOL, NULL, &insecure}, {0}};
    char **pos;
    int n;
    const int parsed = cli_parse_cmd(push ? "push" : "pull", argc, argv, flags, &pos, &n, 1, 1);
    if (parsed >= 0) return parsed;
    oc_error err = {{0}};
    char name[1024];
    snprintf(name, sizeof name, "%s", pos[0]);
    free(pos);
    client *c = cli_connect();
    if (!c) return 1;
    int rc;
    if (!push) {
        rc = cli_pull_model(c, name, insecure, &err);
    } else {
        json_t *req = json_pack("{s:s,s:b}", "model", name, "insecure", insecure);
        rc = stream_with_progress(c, "/api/push", req, false, &err);
        json_decref(req);
        if (rc != 0 && (strcasestr(err.msg, "access denied") || strcasestr(err.msg, "unauthorized")))
            snprintf(err.msg, sizeof err.msg,
                     "you are not authorized to push to this namespace, create the model under a namespace you own");
        if (rc == 0) print_destination(name);
    }
    client_free(c);
    return rc ? cli_fail(err.msg) : 0;
}

int cli_pull(int argc, char **argv) { return pull_or_push(argc, argv, false); }
int cli_push(int argc, char **argv) { return pull_or_push(argc, argv, true); }

/* ---- create ---- */

typedef struct upload_state {
    progress *p;
    const char *digest;
    double last;
} upload_state;

static void on_upload(void *ud, int64_t sent, int64_t total) {
    upload_state *u = ud;
    char msg[160];
    int pct = total ? (int)(sent * 100 / total) : 100;
    if (pct == (int)u->last) return;
    snprintf(msg, sizeof msg, "copying file %s %d%%", u->digest, pct);
    if (u->last < 0) progress_spinner(u->p, msg); /* one spinner, updated in place */
    else progress_spinner_set(u->p, msg, pct == 100);
    u->last = pct;
}

/* Hashes and uploads one local file; adds name -> digest to map. */
static int upload_file(client *c, progress *p, const char *path, json_t *map, oc_error *err) {
    char digest[72];
    if (client_file_digest(path, digest, err) != 0) return -1;
    upload_state u = {.p = p, .digest = digest, .last = -1};
    char blob[128];
    snprintf(blob, sizeof blob, "/api/blobs/%s", digest);
    long status = 0;
    /* A blob the server already has is not sent again (upstream's HEAD). */
    if (client_json(c, "HEAD", blob, NULL, NULL, &status, NULL) != 0 || status != 200)
        if (client_upload_blob(c, digest, path, on_upload, &u, err) != 0) return -1;
    char *copy = oc_strdup(path);
    json_object_set_new(map, basename(copy), json_string(digest));
    free(copy);
    return 0;
}

/* A FROM/ADAPTER argument as a local path: ~ expanded, relative to dir. */
static char *local_path(const char *arg, const char *dir) {
    char buf[PATH_MAX * 2];
    if (arg[0] == '~' && (arg[1] == '/' || !arg[1])) snprintf(buf, sizeof buf, "%s%s", getenv("HOME") ? getenv("HOME") : "", arg + 1);
    else if (arg[0] == '/') snprintf(buf, sizeof buf, "%s", arg);
    else snprintf(buf, sizeof buf, "%s/%s", dir, arg);
    return oc_strdup(buf);
}

/* A path (file, or a folder's .gguf/.safetensors files) into map. 1 when
 * nothing exists there (FROM is then a model name). */
static int add_path(client *c, progress *p, const char *arg, const char *dir, json_t *map, oc_error *err) {
    char *path = local_path(arg, dir);
    struct stat st;
    int rc = 1;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        rc = 0;
        while (rc == 0 && d && (e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (!(len > 5 && !strcmp(e->d_name + len - 5, ".gguf")) &&
                !(len > 12 && !strcmp(e->d_name + len - 12, ".safetensors")) && strcmp(e->d_name, "config.json") &&
                strcmp(e->d_name, "tokenizer.json"))
                continue;
            char f[PATH_MAX * 2 + 2];
            snprintf(f, sizeof f, "%s/%s", path, e->d_name);
            rc = upload_file(c, p, f, map, err);
        }
        if (d) closedir(d);
    } else if (stat(path, &st) == 0) {
        rc = upload_file(c, p, path, map, err);
    }
    free(path);
    return rc;
}

static void set_text(json_t *req, const char *key, const char *v) { json_object_set_new(req, key, json_string(v)); }

/* The /api/create request of a parsed Modelfile; uploads as it goes. */
static int build_request(client *c, progress *p, const store_modelfile *mf, const char *dir, json_t *req,
                         oc_error *err) {
    json_t *files = json_object(), *adapters = json_object(), *params = json_object();
    json_t *licenses = json_array(), *messages = json_array();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < mf->n; i++) {
        const char *n = mf->commands[i].name, *a = mf->commands[i].args;
        if (!strcmp(n, "model")) {
            rc = add_path(c, p, a, dir, files, err);
            if (rc == 1) set_text(req, "from", a), rc = 0;
        } else if (!strcmp(n, "adapter")) {
            rc = add_path(c, p, a, dir, adapters, err);
            if (rc == 1) rc = oc_fail(err, "adapter %s: no such file or directory", a);
        } else if (!strcmp(n, "template") || !strcmp(n, "system") || !strcmp(n, "renderer") ||
                   !strcmp(n, "parser") || !strcmp(n, "requires")) {
            set_text(req, n, a);
        } else if (!strcmp(n, "license")) {
            json_array_append_new(licenses, json_string(a));
        } else if (!strcmp(n, "message")) {
            const char *sep = strstr(a, ": ");
            char *role = sep ? oc_strndup(a, (size_t)(sep - a)) : oc_strdup(a);
            json_array_append_new(messages, json_pack("{s:s,s:s}", "role", role, "content", sep ? sep + 2 : ""));
            free(role);
        } else if (!strcmp(n, "draft")) {
            continue;
        } else {
            rc = store_params_add(params, n, a, err) == 0 ? 0 : -1;
        }
    }
    if (json_object_size(files)) json_object_set(req, "files", files);
    if (json_object_size(adapters)) json_object_set(req, "adapters", adapters);
    if (json_object_size(params)) json_object_set(req, "parameters", params);
    if (json_array_size(licenses)) json_object_set(req, "license", licenses);
    if (json_array_size(messages)) json_object_set(req, "messages", messages);
    json_decref(files), json_decref(adapters), json_decref(params), json_decref(licenses), json_decref(messages);
    return rc;
}

/* Reads the Modelfile: the -f path, else ./Modelfile, else "FROM ."
 * (upstream's implicit Modelfile). *dir: the folder paths resolve in. */
static int read_modelfile(const char *file, store_modelfile *mf, char **dir, oc_error *err) {
    const char *path = file ? file : "Modelfile";
    size_t len;
    oc_error rerr;
    char *text = oc_read_file(path, &len, &rerr);
    if (!text && file) return oc_fail(err, "open %s: no such file or directory", file);
    char *abs = text ? realpath(path, NULL) : NULL;
    if (abs) {
        *dir = oc_strdup(dirname(abs));
        free(abs);
    } else {
        abs = realpath(".", NULL);
        *dir = oc_strdup(abs ? abs : ".");
        free(abs);
    }
    if (!text) {
        text = oc_strdup("FROM .");
        len = strlen(text);
    }
    int rc = store_modelfile_parse(text, len, mf, err);
    free(text);
    return rc;
}

int cli_create(int argc, char **argv) {
    const char *file = NULL, *quantize = NULL, *draft_q = NULL;
    bool experimental = false;
    flag_def flags[] = {{"f", "file", FLAG_STRING, &file, NULL},
                        {"q", "quantize", FLAG_STRING, &quantize, NULL},
                        {NULL, "draft-quantize", FLAG_STRING, &draft_q, NULL},
                        {NULL, "experimental", FLAG_BOOL, NULL, &experimental},
                        {0}};
    char **pos;
    int n;
    const int parsed = cli_parse_cmd("create", argc, argv, flags, &pos, &n, 1, 1);
    if (parsed >= 0) return parsed;
    oc_error err = {{0}};
    char name[400];
    snprintf(name, sizeof name, "%s", pos[0]);
    free(pos);
    store_name sn;
    if (store_name_parse(name, &sn, NULL) != 0) {
        snprintf(err.msg, sizeof err.msg, "invalid model name: %s", name);
        return cli_fail(err.msg);
    }
    store_modelfile mf = {0};
    char *dir = NULL;
    if (read_modelfile(file, &mf, &dir, &err) != 0) {
        free(dir);
        return cli_fail(err.msg);
    }
    client *c = cli_connect();
    int rc = 1;
    if (c) {
        progress *p = progress_new(stderr);
        progress_spinner(p, "gathering model components");
        json_t *req = json_pack("{s:s}", "model", name);
        if (quantize && *quantize) set_text(req, "quantize", quantize);
        rc = build_request(c, p, &mf, dir, req, &err);
        progress_stop(p);
        progress_free(p);
        if (rc == 0) rc = stream_with_progress(c, "/api/create", req, false, &err);
        if (rc != 0 && strstr(err.msg, "path or Modelfile are required"))
            snprintf(err.msg, sizeof err.msg, "the ollama server must be updated to use `ollama create` with this client");
        if (rc != 0) cli_fail(err.msg);
        json_decref(req);
    }
    client_free(c);
    store_modelfile_free(&mf);
    free(dir);
    return rc ? 1 : 0;
}

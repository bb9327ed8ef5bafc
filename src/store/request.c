/* From a parsed Modelfile to a create request: what Ollama's CLI does
 * before it calls /api/create (upstream parser.CreateRequest, expandPath,
 * filesForModel, cmd.createRequestFileNames). Local files are "uploaded" by
 * importing them as blobs; every check that can fail runs before the first
 * import, so a bad Modelfile or GGUF leaves the store untouched. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_ggufinfo.h"
#include "store/store_internal.h"

/* Go spells errno texts in lower case ("no such file or directory"). */
static int fail_errno(oc_error *err, const char *op, const char *path, int e) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s", strerror(e));
    if (msg[0] >= 'A' && msg[0] <= 'Z') msg[0] = (char)(msg[0] - 'A' + 'a');
    return oc_fail(err, "%s %s: %s", op, path, msg);
}

/* ---- paths ---- */

/* filepath.Clean for slash paths (malloc'ed). */
static char *clean_path(const char *p) {
    bool rooted = p[0] == '/';
    size_t n = strlen(p), top = 0;
    const char **el = oc_malloc((n / 2 + 2) * sizeof *el);
    size_t *len = oc_malloc((n / 2 + 2) * sizeof *len);
    for (const char *s = p; *s;) {
        while (*s == '/') s++;
        const char *e = s;
        while (*e && *e != '/') e++;
        size_t l = (size_t)(e - s);
        bool dotdot = l == 2 && s[0] == '.' && s[1] == '.';
        if (l == 0 || (l == 1 && s[0] == '.')) {
        } else if (dotdot && top && !(len[top - 1] == 2 && !memcmp(el[top - 1], "..", 2))) {
            top--; /* ".." removes the element before it */
        } else if (!dotdot || !rooted) { /* "/.." is "/" */
            el[top] = s, len[top++] = l;
        }
        s = e;
    }
    char *out = oc_malloc(n + 3), *w = out;
    if (rooted) *w++ = '/';
    for (size_t i = 0; i < top; i++) {
        if (i) *w++ = '/';
        memcpy(w, el[i], len[i]);
        w += len[i];
    }
    if (w == out) *w++ = '.';
    *w = 0;
    free(el);
    free(len);
    return out;
}

static char *abs_path(const char *p) {
    if (p[0] == '/') return clean_path(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "/");
    char *j = store_join(cwd, p), *c = clean_path(j);
    free(j);
    return c;
}

/* expandPath: absolute (or starting with / or \) as is; ~ and ~user homes;
 * else relative to dir. */
static char *expand_path(const char *p, const char *dir, oc_error *err) {
    if (p[0] == '/' || p[0] == '\\') return abs_path(p);
    if (p[0] != '~') {
        char *j = store_join(dir && *dir ? dir : ".", p), *a = abs_path(j);
        free(j);
        return a;
    }
    const char *rest = strchr(p, '/');
    size_t ul = rest ? (size_t)(rest - p - 1) : strlen(p + 1);
    char *user = oc_strndup(p + 1, ul);
    struct passwd *pw = ul ? getpwnam(user) : getpwuid(getuid());
    const char *home = pw ? pw->pw_dir : (ul ? NULL : getenv("HOME"));
    if (!home) {
        if (ul) oc_fail(err, "failed to find user '%s': user: unknown user %s", user, user);
        else oc_fail(err, "failed to get current user: unknown home directory");
        free(user);
        return NULL;
    }
    free(user);
    char *j = store_join(home, rest ? rest + 1 : ""), *a = abs_path(j);
    free(j);
    return a;
}

/* ---- files of a FROM/ADAPTER/DRAFT path ---- */

typedef struct pathlist {
    char **v;
    size_t n;
} pathlist;

static void pl_add(pathlist *l, char *p) {
    l->v = oc_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = p;
}

static void pl_free(pathlist *l) {
    store_strv_free(l->v, l->n);
    memset(l, 0, sizeof *l);
}

/* Entries of dir matching a glob, sorted, as full paths. */
static size_t glob_dir(const char *dir, const char *pattern, pathlist *out) {
    char **names = NULL;
    size_t n = 0, found = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (fnmatch(pattern, de->d_name, FNM_PERIOD) == 0) {
            names = oc_realloc(names, (n + 1) * sizeof *names);
            names[n++] = oc_strdup(de->d_name);
        }
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) /* insertion sort: directories are small */
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char *t = names[k];
            names[k] = names[k - 1], names[k - 1] = t;
        }
    for (size_t i = 0; i < n; i++, found++) {
        pl_add(out, store_join(dir, names[i]));
        free(names[i]);
    }
    free(names);
    return found;
}

/* filepath.Rel(base, target) for two clean absolute paths (malloc'ed). */
static char *rel_path(const char *base, const char *target) {
    size_t common = 0, i = 0;
    for (; base[i] && base[i] == target[i]; i++)
        if (base[i] == '/') common = i;
    if (!base[i] && (target[i] == '/' || !target[i])) common = i; /* base is a prefix dir */
    oc_buf b = {0};
    oc_buf_puts(&b, "");
    for (const char *p = base + common; *p; p++)
        if (*p == '/') oc_buf_puts(&b, b.len ? "/.." : "..");
    const char *rest = target + common + (target[common] == '/');
    if (*rest) oc_buf_printf(&b, "%s%s", b.len ? "/" : "", rest);
    if (!b.len) oc_buf_puts(&b, ".");
    return b.data;
}

/* filesForModel, for the formats we can import: GGUF only (*.gguf, else
 * *.bin); checkpoints that need conversion are refused. Symlinks must stay
 * inside the directory. */
static int dir_files(const char *dir, pathlist *out, oc_error *err) {
    static const char *convert[] = {"model*.safetensors", "consolidated*.safetensors", "pytorch_model*.bin",
                                    "consolidated*.pth"};
    pathlist tmp = {0};
    for (size_t i = 0; i < 4; i++)
        if (glob_dir(dir, convert[i], &tmp)) {
            pl_free(&tmp);
            /* TODO: safetensors/PyTorch conversion (upstream convert/). */
            return oc_fail(err, "converting %s checkpoints is not supported yet", convert[i]);
        }
    if (!glob_dir(dir, "*.gguf", &tmp) && !glob_dir(dir, "*.bin", &tmp))
        return oc_fail(err, "no Modelfile or safetensors files found");
    char *root = realpath(dir, NULL);
    int rc = root ? 0 : fail_errno(err, "lstat", dir, errno);
    for (size_t i = 0; rc == 0 && i < tmp.n; i++) {
        char *real = realpath(tmp.v[i], NULL);
        size_t rl = strlen(root);
        if (!real) rc = fail_errno(err, "lstat", tmp.v[i], errno);
        else if (strcmp(root, "/") && (strncmp(real, root, rl) || real[rl] != '/')) {
            char *rel = rel_path(root, real);
            rc = oc_fail(err, "insecure path: %s%s", rel,
                         strstr(rel, ".cache") ? "\n\nUse --local-dir <dir> when downloading model to disable caching" : "");
            free(rel);
        }
        if (rc == 0) pl_add(out, real);
        else free(real);
    }
    free(root);
    pl_free(&tmp);
    return rc;
}

/* fileDigestMap's listing: a file, or a directory's model files. ENOENT
 * is returned as 1 so FROM can fall back to a model name. */
static int path_files(const char *path, pathlist *out, oc_error *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) {
            fail_errno(err, "stat", path, errno);
            return 1;
        }
        return fail_errno(err, "stat", path, errno);
    }
    if (S_ISDIR(st.st_mode)) return dir_files(path, out, err);
    pl_add(out, oc_strdup(path));
    return 0;
}

/* A GGUF that will become a layer must parse (checked before any import). */
static int check_gguf(const char *path, oc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(err, "open", path, errno);
    unsigned char magic[4];
    ssize_t n = read(fd, magic, 4);
    close(fd);
    size_t len = strlen(path);
    if (n != 4 || !store_is_gguf_magic(magic, 4)) {
        if (len >= 12 && !strcmp(path + len - 12, ".safetensors"))
            return oc_fail(err, "safetensors conversion is not supported yet");
        return oc_fail(err, "supplied file was not in GGUF format");
    }
    gguf_file *g = gguf_open(path, err);
    if (!g) {
        oc_error_prefix(err, "%s", path);
        return -1;
    }
    gguf_close(g);
    return 0;
}

/* ---- request names of local files (cmd.createRequestFileNames) ---- */

static char *dir_of(const char *p) {
    const char *s = strrchr(p, '/');
    return s == p ? oc_strdup("/") : oc_strndup(p, (size_t)(s - p));
}

static bool under(const char *root, const char *p) {
    size_t n = strlen(root);
    if (!strcmp(root, "/")) return true;
    return !strncmp(root, p, n) && (p[n] == 0 || p[n] == '/');
}

/* The deepest directory holding every file; NULL with fewer than two. */
static char *common_root(const pathlist *l) {
    if (l->n < 2) return NULL;
    char *root = dir_of(l->v[0]);
    for (size_t i = 1; i < l->n; i++) {
        char *d = dir_of(l->v[i]);
        while (!under(root, d)) {
            char *up = dir_of(root);
            free(root);
            root = up;
        }
        free(d);
    }
    return root;
}

/* Base name, or the path relative to the common root. */
static char *request_name(const char *root, const char *p) {
    if (root && under(root, p) && strcmp(root, p)) {
        size_t n = strlen(root);
        return oc_strdup(p + n + (strcmp(root, "/") ? 1 : 0));
    }
    return oc_strdup(strrchr(p, '/') + 1);
}

void store_create_req_add_file(store_file_ref **files, size_t *n, const char *name, const char *digest) {
    *files = oc_realloc(*files, (*n + 1) * sizeof **files);
    store_file_ref *f = &(*files)[(*n)++];
    f->name = oc_strdup(name);
    snprintf(f->digest, sizeof f->digest, "%s", digest ? digest : "");
}

static void free_refs(store_file_ref *f, size_t n) {
    for (size_t i = 0; i < n; i++) free(f[i].name);
    free(f);
}

void store_create_req_free(store_create_req *r) {
    if (!r) return;
    free(r->model), free(r->from), free(r->template_text), free(r->system);
    free(r->renderer), free(r->parser), free(r->requires), free(r->quantize);
    free_refs(r->files, r->n_files);
    free_refs(r->adapters, r->n_adapters);
    free_refs(r->draft_files, r->n_draft_files);
    store_strv_free(r->licenses, r->n_licenses);
    if (r->parameters) json_decref(r->parameters);
    for (size_t i = 0; i < r->n_messages; i++) free(r->messages[i].role), free(r->messages[i].content);
    free(r->messages);
    memset(r, 0, sizeof *r);
}

/* ---- Modelfile commands ---- */

enum { F_MODEL, F_ADAPTER, F_DRAFT };

typedef struct builder {
    store_create_req *req;
    const char *dir;
    pathlist files[3]; /* model, adapter and draft files */
    pathlist from_paths, draft_paths;
    json_t *params;
    oc_error *err;
} builder;

/* rejectMatchingLocalPath: DRAFT and FROM may not name the same file. */
static int reject_same(builder *b, const char *path, const pathlist *others) {
    char *me = realpath(path, NULL);
    int rc = 0;
    for (size_t i = 0; me && rc == 0 && i < others->n; i++) {
        char *o = realpath(others->v[i], NULL);
        if (o && !strcmp(o, me)) rc = oc_fail(b->err, "DRAFT must not reference the same local path as FROM: %s", path);
        free(o);
    }
    free(me);
    return rc;
}

static void add_unique(pathlist *l, pathlist *add) {
    for (size_t i = 0; i < add->n; i++) {
        bool dup = false;
        for (size_t k = 0; k < l->n && !dup; k++) dup = !strcmp(l->v[k], add->v[i]);
        if (dup) free(add->v[i]);
        else pl_add(l, add->v[i]);
    }
    free(add->v);
    memset(add, 0, sizeof *add);
}

/* FROM, ADAPTER, DRAFT: a local path (file or directory) or, for FROM
 * only, a model name when the path does not exist. */
static int path_command(builder *b, const store_mf_command *c, int kind) {
    char *path = expand_path(c->args, b->dir, b->err);
    if (!path) return -1;
    pathlist found = {0};
    int rc = path_files(path, &found, b->err);
    if (rc == 1 && kind == F_MODEL) {
        free(b->req->from);
        b->req->from = oc_strdup(c->args);
        free(path);
        return 0;
    }
    if (rc == 0 && kind != F_ADAPTER) rc = reject_same(b, path, kind == F_MODEL ? &b->draft_paths : &b->from_paths);
    if (rc == 0 && kind == F_ADAPTER) pl_free(&b->files[F_ADAPTER]); /* last ADAPTER wins */
    if (rc == 0) add_unique(&b->files[kind], &found);
    if (rc == 0 && kind != F_ADAPTER) pl_add(kind == F_MODEL ? &b->from_paths : &b->draft_paths, path);
    else free(path);
    pl_free(&found);
    return rc == 0 ? 0 : -1;
}

static void set_str(char **dst, const char *v) {
    free(*dst);
    *dst = oc_strdup(v);
}

static int text_command(builder *b, const store_mf_command *c) {
    store_create_req *r = b->req;
    const char *n = c->name, *a = c->args;
    if (!strcmp(n, "template")) set_str(&r->template_text, a);
    else if (!strcmp(n, "system")) set_str(&r->system, a);
    else if (!strcmp(n, "renderer")) set_str(&r->renderer, a);
    else if (!strcmp(n, "parser")) set_str(&r->parser, a);
    else if (!strcmp(n, "license")) {
        r->licenses = oc_realloc(r->licenses, (r->n_licenses + 1) * sizeof *r->licenses);
        r->licenses[r->n_licenses++] = oc_strdup(a);
    } else if (!strcmp(n, "requires")) {
        char *v = oc_malloc(strlen(a) + 2);
        sprintf(v, "%s%s", a[0] == 'v' ? "" : "v", a);
        bool ok = store_semver_valid(v);
        if (ok) set_str(&r->requires, v + 1);
        free(v);
        if (!ok) return oc_fail(b->err, "requires must be a valid semver (e.g. 0.14.0)");
    } else if (!strcmp(n, "message")) {
        const char *sep = strstr(a, ": ");
        r->messages = oc_realloc(r->messages, (r->n_messages + 1) * sizeof *r->messages);
        store_message *m = &r->messages[r->n_messages++];
        m->role = sep ? oc_strndup(a, (size_t)(sep - a)) : oc_strdup(a);
        m->content = oc_strdup(sep ? sep + 2 : "");
    } else {
        return store_params_add(b->params, n, a, b->err) == 0 ? 0 : -1;
    }
    return 0;
}

static int run_commands(builder *b, const store_modelfile *mf) {
    for (size_t i = 0; i < mf->n; i++) {
        const store_mf_command *c = &mf->commands[i];
        int rc;
        if (!strcmp(c->name, "model")) rc = path_command(b, c, F_MODEL);
        else if (!strcmp(c->name, "adapter")) rc = path_command(b, c, F_ADAPTER);
        else if (!strcmp(c->name, "draft")) rc = path_command(b, c, F_DRAFT);
        else rc = text_command(b, c);
        if (rc != 0) return rc;
    }
    return 0;
}

/* Imports one list of files as blobs and adds them to the request. */
static int import_list(store *s, const pathlist *l, store_file_ref **refs, size_t *n, pathlist *created,
                       oc_error *err) {
    char *root = common_root(l);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        char digest[STORE_DIGEST_SIZE];
        bool fresh = false;
        rc = store_blob_import_file(s, l->v[i], digest, NULL, &fresh, err);
        if (rc != 0) break;
        char *name = request_name(root, l->v[i]);
        store_create_req_add_file(refs, n, name, digest);
        free(name);
        if (fresh) pl_add(created, oc_strdup(digest));
    }
    free(root);
    return rc;
}

static void builder_free(builder *b) {
    for (int i = 0; i < 3; i++) pl_free(&b->files[i]);
    pl_free(&b->from_paths);
    pl_free(&b->draft_paths);
    if (b->params) json_decref(b->params);
}

/* Parses every command and checks every file, then imports. `imported`
 * receives the digests of blobs this call published. */
static int build(store *s, const store_modelfile *mf, const char *dir, store_create_req *req, pathlist *imported,
                 oc_error *err) {
    builder b = {.req = req, .dir = dir, .params = json_object(), .err = err};
    int rc = run_commands(&b, mf);
    for (int k = 0; rc == 0 && k < 3; k++)
        for (size_t i = 0; rc == 0 && i < b.files[k].n; i++) rc = check_gguf(b.files[k].v[i], err);
    if (rc == 0 && json_object_size(b.params)) req->parameters = json_incref(b.params);
    pathlist all = {0};
    if (rc == 0) rc = import_list(s, &b.files[F_MODEL], &req->files, &req->n_files, &all, err);
    if (rc == 0) rc = import_list(s, &b.files[F_ADAPTER], &req->adapters, &req->n_adapters, &all, err);
    if (rc == 0) rc = import_list(s, &b.files[F_DRAFT], &req->draft_files, &req->n_draft_files, &all, err);
    *imported = all;
    builder_free(&b);
    return rc == 0 ? 0 : STORE_ERR_INVALID;
}

/* Removes blobs an aborted build or create published, unless referenced. */
static void forget(store *s, pathlist *imported) {
    store_lock();
    store_delete_unreferenced(s, imported->v, imported->n);
    store_unlock();
    pl_free(imported);
}

int store_create_req_from_modelfile(store *s, const store_modelfile *mf, const char *dir, store_create_req *req,
                                    oc_error *err) {
    memset(req, 0, sizeof *req);
    pathlist imported = {0};
    int rc = build(s, mf, dir, req, &imported, err);
    if (rc != 0) {
        forget(s, &imported);
        store_create_req_free(req);
        return rc;
    }
    pl_free(&imported); /* uploaded: a later create uses them, prune reaps them if not */
    return 0;
}

int store_create_from_modelfile(store *s, const char *model, const store_modelfile *mf, const char *dir,
                                const char *quantize, store_progress_fn progress, void *ud, oc_error *err) {
    store_create_req req;
    memset(&req, 0, sizeof req);
    pathlist imported = {0};
    int rc = build(s, mf, dir, &req, &imported, err);
    if (rc == 0) {
        req.model = oc_strdup(model ? model : "");
        req.quantize = quantize ? oc_strdup(quantize) : NULL;
        rc = store_create(s, &req, progress, ud, err);
    }
    if (rc != 0) forget(s, &imported);
    else pl_free(&imported);
    store_create_req_free(&req);
    return rc;
}

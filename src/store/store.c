/* The store handle: its root, the environment it is read from, directories
 * and the process-wide lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_internal.h"

static pthread_mutex_t store_mutex = PTHREAD_MUTEX_INITIALIZER;

void store_lock(void) { pthread_mutex_lock(&store_mutex); }
void store_unlock(void) { pthread_mutex_unlock(&store_mutex); }

char *store_env(const char *key) {
    const char *v = getenv(key);
    if (!v) return NULL;
    /* strings.Trim(strings.TrimSpace(v), "\"'") */
    const char *a = v, *b = v + strlen(v);
    while (a < b && strchr(" \t\n\r\v\f", *a)) a++;
    while (b > a && strchr(" \t\n\r\v\f", b[-1])) b--;
    while (a < b && (*a == '"' || *a == '\'')) a++;
    while (b > a && (b[-1] == '"' || b[-1] == '\'')) b--;
    if (a == b) return NULL;
    return oc_strndup(a, (size_t)(b - a));
}

bool store_env_bool(const char *key) {
    char *v = store_env(key);
    if (!v) return false;
    /* strconv.ParseBool; anything unparseable counts as true (envconfig). */
    static const char *falses[] = {"0", "f", "F", "FALSE", "false", "False"};
    bool r = true;
    for (size_t i = 0; i < sizeof falses / sizeof *falses; i++)
        if (strcmp(v, falses[i]) == 0) r = false;
    free(v);
    return r;
}

int store_default_root(char *buf, size_t size, oc_error *err) {
    char *v = store_env("OLLAMA_MODELS");
    int n;
    if (v) {
        n = snprintf(buf, size, "%s", v);
        free(v);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) return oc_fail(err, "$HOME is not defined");
        n = snprintf(buf, size, "%s/.ollama/models", home);
    }
    if (n < 0 || (size_t)n >= size) return oc_fail(err, "model store path too long");
    return 0;
}

store *store_open(const char *root, oc_error *err) {
    char buf[PATH_MAX];
    if (!root) {
        if (store_default_root(buf, sizeof buf, err) != 0) return NULL;
        root = buf;
    }
    if (!*root) {
        oc_fail(err, "empty model store path");
        return NULL;
    }
    store *s = oc_calloc(1, sizeof *s);
    s->root = oc_strdup(root);
    return s;
}

void store_close(store *s) {
    if (!s) return;
    free(s->root);
    free(s);
}

const char *store_root(const store *s) { return s->root; }

void store_set_hooks(store *s, const store_hooks *hooks) {
    if (hooks) s->hooks = *hooks;
    else memset(&s->hooks, 0, sizeof s->hooks);
}

char *store_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *p = oc_malloc(la + lb + 2);
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

int store_mkdirs(const char *path, oc_error *err) {
    char *p = oc_strdup(path);
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q) continue;
        char c = *q;
        *q = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            oc_fail(err, "mkdir %s: %s: ensure path elements are traversable", p, strerror(e));
            free(p);
            return -1;
        }
        *q = c;
        if (!c) break;
    }
    free(p);
    return 0;
}

static char *sub_dir(const store *s, const char *name, bool create, oc_error *err) {
    char *d = store_join(s->root, name);
    if (create && store_mkdirs(d, err) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

char *store_manifests_dir(const store *s, bool create, oc_error *err) {
    return sub_dir(s, "manifests", create, err);
}

char *store_blobs_dir(const store *s, bool create, oc_error *err) { return sub_dir(s, "blobs", create, err); }

void store_touch(const char *path) { utimensat(AT_FDCWD, path, NULL, 0); }

int store_manifest_path(const store *s, const store_name *n, char *buf, size_t size, oc_error *err) {
    if (!store_name_valid(n)) {
        oc_fail(err, "invalid model name");
        return STORE_ERR_INVALID;
    }
    char rel[STORE_NAME_BUF];
    store_name_filepath(n, rel, sizeof rel);
    int w = snprintf(buf, size, "%s/manifests/%s", s->root, rel);
    if (w < 0 || (size_t)w >= size) return oc_fail(err, "manifest path too long");
    return 0;
}

/* PruneDirectory: symlinks are left alone, so a link cannot lead the walk
 * outside the store. */
void store_prune_dirs(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *sub = store_join(path, de->d_name);
        store_prune_dirs(sub);
        if (lstat(sub, &st) == 0) empty = false;
        free(sub);
    }
    closedir(d);
    if (empty) rmdir(path);
}

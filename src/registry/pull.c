/* registry: pull (registry.md §3): the manifest, every missing blob
 * (downloads of one digest are serialised across requests), the sha256
 * check of what was downloaded, the manifest written last as received,
 * then the old manifest's unused blobs pruned. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/registry_internal.h"
#include "server/server.h"

#define MT_TENSOR "application/vnd.ollama.image.tensor"

/* Digests being downloaded by some request of this process. */
static pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cv = PTHREAD_COND_INITIALIZER;
static char **busy;
static size_t n_busy;

static bool busy_has(const char *digest) {
    for (size_t i = 0; i < n_busy; i++)
        if (strcmp(busy[i], digest) == 0) return true;
    return false;
}

static void progress(const registry_opts *o, const char *status, const char *digest, int64_t total, int64_t done);

/* A request waiting for another's download of b sees its progress. */
static void report_shared(const reg_client *c, store *s, const reg_blob *b) {
    int64_t total, done;
    if (!s || reg_partial_progress(s, b, &total, &done)) return;
    char status[32];
    snprintf(status, sizeof status, "pulling %.12s", b->digest + 7);
    progress(c->o, status, b->digest, total, done);
}

/* Waits until no other request works on b's digest, then claims it. */
static int claim_digest(const reg_client *c, store *s, const reg_blob *b, oc_error *err) {
    const char *digest = b->digest;
    pthread_mutex_lock(&busy_mu);
    while (busy_has(digest)) {
        pthread_mutex_unlock(&busy_mu);
        report_shared(c, s, b);
        pthread_mutex_lock(&busy_mu);
        if (!busy_has(digest)) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&busy_cv, &busy_mu, &ts);
        if (reg_cancelled(c)) {
            pthread_mutex_unlock(&busy_mu);
            return oc_fail(err, "context canceled");
        }
    }
    busy = oc_realloc(busy, (n_busy + 1) * sizeof *busy);
    busy[n_busy++] = oc_strdup(digest);
    pthread_mutex_unlock(&busy_mu);
    return 0;
}

static void release_digest(const char *digest) {
    pthread_mutex_lock(&busy_mu);
    for (size_t i = 0; i < n_busy; i++)
        if (strcmp(busy[i], digest) == 0) {
            free(busy[i]);
            busy[i] = busy[--n_busy];
            break;
        }
    if (!n_busy) free(busy), busy = NULL;
    pthread_cond_broadcast(&busy_cv);
    pthread_mutex_unlock(&busy_mu);
}

static void progress(const registry_opts *o, const char *status, const char *digest, int64_t total, int64_t done) {
    if (o->progress) o->progress(o->ud, status, digest, total, done);
}

/* Layers in order, then the config; every digest checked. */
static int blob_list(const store_manifest *m, reg_blob **out, size_t *n, oc_error *err) {
    reg_blob *v = oc_calloc(m->n_layers + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i <= m->n_layers; i++) {
        const store_layer *l = i < m->n_layers ? &m->layers[i] : &m->config;
        if (i == m->n_layers && !l->digest[0]) break;
        if (strncmp(l->digest, "sha256:", 7) != 0 || !store_digest_valid(l->digest) || l->size < 0) {
            free(v);
            return oc_fail(err, "invalid digest format");
        }
        v[k++] = (reg_blob){l->digest, l->size};
    }
    *out = v;
    *n = k;
    return 0;
}

static int fetch_manifest(reg_client *c, const store_name *n, char **data, size_t *len, oc_error *err) {
    oc_buf url = {0};
    oc_buf_printf(&url, "%s/v2/%s/manifests/%s", c->base, c->repo, n->tag);
    const char *h[] = {"Accept: " REG_ACCEPT, NULL};
    reg_resp r = {0};
    int rc = reg_request(c, "GET", url.data, h, NULL, &r, err);
    oc_buf_free(&url);
    if (rc) {
        oc_error_prefix(err, "pull model manifest");
    } else {
        *len = r.body.len;
        *data = r.body.data ? r.body.data : oc_strdup("");
        r.body = (oc_buf){0};
    }
    reg_resp_free(&r);
    return rc;
}

/* Downloads the missing blobs; *got marks the ones fetched. */
static int fetch_blobs(reg_client *c, store *s, const reg_blob *b, size_t n, bool *got, oc_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (store_blob_exists(s, b[i].digest)) {
            const char *hex = b[i].digest + 7;
            char status[32];
            snprintf(status, sizeof status, "pulling %.12s", hex);
            progress(c->o, status, b[i].digest, b[i].size, b[i].size);
            continue;
        }
        if (claim_digest(c, s, &b[i], err)) return -1;
        int rc = store_blob_exists(s, b[i].digest) ? 0 : reg_download(c, s, &b[i], err);
        got[i] = true;
        release_digest(b[i].digest);
        if (rc) return -1;
    }
    return 0;
}

static int verify_blobs(const reg_client *c, store *s, const reg_blob *b, size_t n, const bool *got, oc_error *err) {
    progress(c->o, "verifying sha256 digest", NULL, 0, 0);
    for (size_t i = 0; i < n; i++) {
        if (!got[i]) continue;
        if (claim_digest(c, NULL, &b[i], err)) return -1;
        int rc = store_blob_exists(s, b[i].digest) ? 0 : reg_verify_publish(s, &b[i], err);
        release_digest(b[i].digest);
        if (rc) return -1;
    }
    return 0;
}

/* Step 7: the old manifest's blobs that nothing references any more. */
static void prune_old(const registry_opts *o, store *s, const store_manifest *old, const reg_blob *b, size_t n) {
    if (server_env_bool("OLLAMA_NOPRUNE", false)) return;
    bool any = false;
    for (size_t i = 0; i <= old->n_layers && !any; i++) {
        const char *d = i < old->n_layers ? old->layers[i].digest : old->config.digest;
        bool used = !d[0];
        for (size_t k = 0; k < n && !used; k++) used = strcmp(b[k].digest, d) == 0;
        any = !used;
    }
    if (!any) return;
    progress(o, "removing unused layers", NULL, 0, 0);
    oc_error e;
    if (store_remove_unused_layers(s, old, &e)) {
        char msg[600];
        snprintf(msg, sizeof msg, "couldn't remove unused layers: %s", e.msg);
        progress(o, msg, NULL, 0, 0);
    }
}

static int pull_blobs(reg_client *c, store *s, const store_name *n, const char *data, size_t len, oc_error *err) {
    store_manifest m;
    if (store_manifest_parse(data, len, &m, err)) return oc_error_prefix(err, "pull model manifest"), -1;
    for (size_t i = 0; i < m.n_layers; i++)
        if (strcmp(m.layers[i].media_type, MT_TENSOR) == 0) {
            store_manifest_free(&m);
            return oc_fail(err, "this model requires MLX support, but the MLX runtime is not available");
        }
    reg_blob *b = NULL;
    size_t nb = 0;
    int rc = blob_list(&m, &b, &nb, err);
    bool *got = oc_calloc(nb + 1, sizeof *got);
    if (!rc) rc = fetch_blobs(c, s, b, nb, got, err);
    if (!rc) rc = verify_blobs(c, s, b, nb, got, err);
    if (!rc) {
        progress(c->o, "writing manifest", NULL, 0, 0);
        rc = store_manifest_write_raw(s, n, data, len, err);
    }
    free(got);
    free(b);
    store_manifest_free(&m);
    return rc;
}

int registry_pull(store *s, const char *name, const registry_opts *o, int *status, oc_error *err) {
    *status = 500;
    store_name n;
    if (!name || store_name_parse(name, &n, NULL)) {
        *status = 400;
        return oc_fail(err, "invalid model name");
    }
    store_name_fold_existing(s, &n);
    reg_client c;
    if (reg_client_init(&c, &n, o, err)) return -1;
    store_manifest old;
    bool had_old = store_manifest_read(s, &n, &old, NULL) == 0;
    progress(o, "pulling manifest", NULL, 0, 0);
    char *data = NULL;
    size_t len = 0;
    int rc = fetch_manifest(&c, &n, &data, &len, err);
    if (!rc) rc = pull_blobs(&c, s, &n, data, len, err);
    if (!rc && had_old) {
        store_manifest m;
        if (store_manifest_parse(data, len, &m, NULL) == 0) {
            reg_blob *b = NULL;
            size_t nb = 0;
            if (blob_list(&m, &b, &nb, NULL) == 0) prune_old(o, s, &old, b, nb);
            free(b);
            store_manifest_free(&m);
        }
    }
    if (!rc) progress(o, "success", NULL, 0, 0);
    if (had_old) store_manifest_free(&old);
    free(data);
    reg_client_free(&c);
    return rc;
}

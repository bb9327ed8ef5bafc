/* registry: the challenge, Range and part-state parsers, upstream's part
 * split, and pulls between two stores through our own /v2 read side in
 * one process: a whole pull, a resumed one (only the missing bytes move),
 * a blob whose bytes do not match its digest (nothing is listed), a
 * missing model, and a plain-http name without insecure. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "registry/registry_internal.h"
#include "server/server.h"

static void test_challenge(void) {
    registry_challenge c;
    registry_parse_challenge("Bearer realm=\"https://ollama.com:443/token\",service=\"ollama.com\",scope=\"repository:library/x:pull\"", &c);
    CHECK_EQ_STR(c.realm, "https://ollama.com:443/token");
    CHECK_EQ_STR(c.service, "ollama.com");
    CHECK_EQ_STR(c.scope, "repository:library/x:pull");
    registry_parse_challenge("Bearer realm=\"a\"b\",scope=\"s\"", &c); /* a quote not before ',' is part of the value */
    CHECK_EQ_STR(c.realm, "a\"b");
    CHECK_EQ_STR(c.service, "");
    registry_parse_challenge("Basic realm=\"x", &c);
    CHECK_EQ_STR(c.realm, "");
    registry_parse_challenge(NULL, &c);
    CHECK_EQ_STR(c.scope, "");
}

static void test_range(void) {
    uint64_t a = 0, b = 0;
    CHECK_EQ_INT(registry_parse_range(NULL, 100, &a, &b), 1);
    CHECK_EQ_INT(registry_parse_range("items=1-2", 100, &a, &b), 1);
    CHECK_EQ_INT(registry_parse_range("bytes=10-19", 100, &a, &b), 0);
    CHECK(a == 10 && b == 19);
    CHECK_EQ_INT(registry_parse_range("bytes=90-", 100, &a, &b), 0);
    CHECK(a == 90 && b == 99);
    CHECK_EQ_INT(registry_parse_range("bytes=50-500", 100, &a, &b), 0);
    CHECK(a == 50 && b == 99);
    CHECK_EQ_INT(registry_parse_range("bytes=-30", 100, &a, &b), 0);
    CHECK(a == 70 && b == 99);
    CHECK_EQ_INT(registry_parse_range("bytes=100-", 100, &a, &b), -1);
    CHECK_EQ_INT(registry_parse_range("bytes=5-4", 100, &a, &b), -1);
    CHECK_EQ_INT(registry_parse_range("bytes=1-2,4-5", 100, &a, &b), -1);
    CHECK_EQ_INT(registry_parse_range("bytes=99999999999999999999-", 100, &a, &b), -1);
    CHECK_EQ_INT(registry_parse_range("bytes=0-", 0, &a, &b), -1);
}

static void test_parts(void) {
    registry_part p = {.n = 3, .offset = 300000000, .size = 100000000, .completed = 42};
    char *j = registry_part_encode(&p);
    CHECK_EQ_STR(j, "{\"N\":3,\"Offset\":300000000,\"Size\":100000000,\"Completed\":42}\n");
    registry_part q;
    CHECK_EQ_INT(registry_part_parse(j, strlen(j), &q), 0);
    CHECK(q.n == 3 && q.offset == 300000000 && q.size == 100000000 && q.completed == 42);
    free(j);
    const char *bad[] = {"", "{}", "{\"N\":0,\"Offset\":0,\"Size\":5,\"Completed\":6}", "[1]",
                         "{\"N\":-1,\"Offset\":0,\"Size\":5,\"Completed\":0}",
                         "{\"N\":0,\"Offset\":9223372036854775807,\"Size\":5,\"Completed\":0}",
                         "{\"N\":0,\"Offset\":0,\"Size\":\"5\",\"Completed\":0}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK_MSG(registry_part_parse(bad[i], strlen(bad[i]), &q) == -1, "%s", bad[i]);

    registry_part *v;
    CHECK_EQ_INT(registry_split(0, &v), 0);
    CHECK_EQ_INT(registry_split(1000, &v), 1);
    CHECK(v[0].offset == 0 && v[0].size == 1000);
    free(v);
    CHECK_EQ_INT(registry_split(3200000000LL, &v), 16); /* total/16 = 200 MB */
    CHECK(v[15].offset == 3000000000LL && v[15].size == 200000000LL);
    free(v);
    CHECK_EQ_INT(registry_split(250000000LL, &v), 3); /* clamped up to 100 MB */
    CHECK(v[2].offset == 200000000LL && v[2].size == 50000000LL);
    free(v);
    CHECK_EQ_INT(registry_split(50000000000LL, &v), 50); /* clamped down to 1000 MB */
    CHECK(v[49].size == 1000000000LL);
    free(v);
}

/* ---- pulls through our own /v2 ---- */

static void write_state(const char *blob_path, int n, int64_t off, int64_t size, int64_t done) {
    char path[800], js[200];
    snprintf(path, sizeof path, "%s-partial-%d", blob_path, n);
    snprintf(js, sizeof js, "{\"N\":%d,\"Offset\":%lld,\"Size\":%lld,\"Completed\":%lld}\n", n, (long long)off,
             (long long)size, (long long)done);
    CHECK(oc_write_file_atomic(path, js, strlen(js), NULL) == 0);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

typedef struct events {
    int n, verifying, success, writing;
    int64_t last_completed;
} events;

static void on_event(void *ud, const char *status, const char *digest, int64_t total, int64_t completed) {
    events *e = ud;
    e->n++;
    if (strcmp(status, "verifying sha256 digest") == 0) e->verifying++;
    if (strcmp(status, "writing manifest") == 0) e->writing++;
    if (strcmp(status, "success") == 0) e->success++;
    if (digest && total) e->last_completed = completed;
}

static char g_blob_digest[STORE_DIGEST_SIZE], g_cfg_digest[STORE_DIGEST_SIZE];
static char *g_blob;
static size_t g_blob_len = 300001;

/* A model of one big-ish layer and a config in the source store. */
static void seed_source(store *s) {
    g_blob = malloc(g_blob_len);
    for (size_t i = 0; i < g_blob_len; i++) g_blob[i] = (char)(i * 7 + i / 251);
    CHECK(store_blob_write(s, g_blob, g_blob_len, NULL, g_blob_digest, NULL, NULL) == 0);
    const char *cfg = "{\"model_format\":\"gguf\"}";
    CHECK(store_blob_write(s, cfg, strlen(cfg), NULL, g_cfg_digest, NULL, NULL) == 0);
    store_layer config = {.media_type = STORE_MT_CONFIG, .digest = g_cfg_digest, .size = (int64_t)strlen(cfg)};
    store_layer layer = {.media_type = STORE_MT_MODEL, .digest = g_blob_digest, .size = (int64_t)g_blob_len};
    store_name n;
    CHECK(store_name_parse("demo", &n, NULL) == 0);
    oc_error err;
    CHECK_MSG(store_manifest_write(s, &n, &config, &layer, 1, &err) == 0, "%s", err.msg);
}

static int pull(store *dst, const char *name, bool insecure, events *e, oc_error *err) {
    registry_opts o = {.insecure = insecure, .progress = on_event, .ud = e};
    int status;
    return registry_pull(dst, name, &o, &status, err);
}

static size_t count_models(store *s) {
    store_entry *v;
    size_t n = 0;
    if (store_list(s, &v, &n, NULL) == 0) store_list_free(v, n);
    return n;
}

static void test_pull_between_stores(void) {
    char dir[] = "/tmp/oc-registry-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char ra[600], rb[600], rc[600];
    snprintf(ra, sizeof ra, "%s/a", dir), snprintf(rb, sizeof rb, "%s/b", dir), snprintf(rc, sizeof rc, "%s/c", dir);
    store *a = store_open(ra, NULL), *b = store_open(rb, NULL), *c = store_open(rc, NULL);
    seed_source(a);
    server_config cfg = {.quiet = true};
    server_host_parse("127.0.0.1:0", &cfg.addr);
    oc_error err;
    server *srv = server_new(&cfg, &err);
    CHECK(srv && registry_register(srv, a) == 0 && server_listen(srv, &err) == 0);
    char name[128];
    snprintf(name, sizeof name, "127.0.0.1:%d/library/demo:latest", server_port(srv));

    events e = {0};
    CHECK(pull(b, name, false, &e, &err) == -1); /* https to a plain server: a network error */
    CHECK_EQ_INT(count_models(b), 0);
    char hname[160];
    snprintf(hname, sizeof hname, "http://%s", name);
    CHECK(pull(b, hname, false, &e, &err) == -1);
    CHECK_EQ_STR(err.msg, "insecure protocol http");

    e = (events){0};
    CHECK_MSG(pull(b, name, true, &e, &err) == 0, "%s", err.msg);
    CHECK(e.verifying == 1 && e.writing == 1 && e.success == 1);
    CHECK(store_blob_exists(b, g_blob_digest) && store_blob_exists(b, g_cfg_digest));
    store_name na, nb;
    store_name_parse("demo", &na, NULL);
    store_name_parse(name, &nb, NULL);
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    CHECK(store_manifest_read_raw(a, &na, &da, &la, NULL) == 0 && store_manifest_read_raw(b, &nb, &db, &lb, NULL) == 0);
    CHECK(la == lb && memcmp(da, db, la) == 0);
    free(da), free(db);

    /* Resume: half of the blob already in a partial file, its state says so. */
    char path[700], partial[720], state[730];
    store_blob_path(c, g_blob_digest, path, sizeof path, NULL);
    snprintf(partial, sizeof partial, "%s-partial", path);
    snprintf(state, sizeof state, "%s-partial-0", path);
    char blobs[620];
    snprintf(blobs, sizeof blobs, "%s/blobs", rc);
    mkdir(rc, 0755), mkdir(blobs, 0755);
    int fd = open(partial, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, g_blob, 200000) == 200000);
    close(fd);
    char js[200];
    snprintf(js, sizeof js, "{\"N\":0,\"Offset\":0,\"Size\":%zu,\"Completed\":200000}\n", g_blob_len);
    CHECK(oc_write_file_atomic(state, js, strlen(js), NULL) == 0);
    e = (events){0};
    CHECK_MSG(pull(c, name, true, &e, &err) == 0, "%s", err.msg);
    CHECK(store_blob_exists(c, g_blob_digest));
    CHECK(access(partial, F_OK) != 0 && access(state, F_OK) != 0);
    CHECK_EQ_INT(count_models(c), 1);

    /* Many parts (40000-byte parts: 8 of them), in parallel, then resumed
     * from a mix of finished, half-done and untouched parts. */
    reg_part_min = reg_part_max = 40000;
    char rm[600];
    snprintf(rm, sizeof rm, "%s/m", dir);
    store *m = store_open(rm, NULL);
    e = (events){0};
    CHECK_MSG(pull(m, name, true, &e, &err) == 0, "%s", err.msg);
    CHECK(store_blob_exists(m, g_blob_digest));
    store_name mn;
    store_name_parse(name, &mn, NULL);
    CHECK(store_delete(m, &mn, NULL) == 0 && !store_blob_exists(m, g_blob_digest));
    store_blob_path(m, g_blob_digest, path, sizeof path, NULL);
    snprintf(partial, sizeof partial, "%s-partial", path);
    fd = open(partial, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && pwrite(fd, g_blob, 40000, 0) == 40000 && pwrite(fd, g_blob + 80000, 1234, 80000) == 1234);
    CHECK(pwrite(fd, "garbage", 7, 200000) == 7); /* beyond a part's Completed: rewritten */
    close(fd);
    for (int i = 0; i < 8; i++) write_state(path, i, i * 40000LL, i < 7 ? 40000 : 20001, i == 0 ? 40000 : i == 2 ? 1234 : 0);
    e = (events){0};
    CHECK_MSG(pull(m, name, true, &e, &err) == 0, "%s", err.msg);
    char hex[65];
    CHECK(store_blob_exists(m, g_blob_digest) && reg_hash_file(path, hex, NULL) == 0 && strcmp(hex, g_blob_digest + 7) == 0);
    snprintf(state, sizeof state, "%s-partial-7", path);
    CHECK(access(partial, F_OK) != 0 && access(state, F_OK) != 0);
    /* State files that do not cover the blob are thrown away: a fresh start. */
    CHECK(store_delete(m, &mn, NULL) == 0);
    write_state(path, 0, 0, 40000, 40000);
    write_state(path, 1, 50000, 40000, 40000);
    CHECK_MSG(pull(m, name, true, &e, &err) == 0, "%s", err.msg);
    CHECK(reg_hash_file(path, hex, NULL) == 0 && strcmp(hex, g_blob_digest + 7) == 0);
    store_close(m);
    reg_part_min = 100000000LL, reg_part_max = 1000000000LL;

    /* A corrupt blob on the source: the digest check refuses it. */
    store *d = store_open(dir, NULL); /* an empty store beside the others */
    store_name n;
    store_name_parse(name, &n, NULL);
    CHECK(store_delete(c, &n, NULL) == 0);
    store_blob_path(a, g_blob_digest, path, sizeof path, NULL);
    g_blob[1000] ^= 1;
    CHECK(chmod(path, 0644) == 0 && oc_write_file_atomic(path, g_blob, g_blob_len, NULL) == 0);
    e = (events){0};
    CHECK(pull(c, name, true, &e, &err) == -1);
    CHECK_MSG(strstr(err.msg, "digest mismatch, file must be downloaded again: want sha256:") == err.msg, "%s", err.msg);
    CHECK_EQ_INT(count_models(c), 0);
    CHECK(!store_blob_exists(c, g_blob_digest));

    /* An unknown model. */
    char missing[160];
    snprintf(missing, sizeof missing, "127.0.0.1:%d/library/nope:latest", server_port(srv));
    CHECK(pull(c, missing, true, &e, &err) == -1);
    CHECK_EQ_STR(err.msg, "pull model manifest: file does not exist");

    server_stop(srv);
    store_close(a), store_close(b), store_close(c), store_close(d);
    free(g_blob);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    test_challenge();
    test_range();
    test_parts();
    test_pull_between_stores();
    return check_done();
}

/* The model store: names, blobs, Go-compatible JSON, manifests and config
 * blobs, create from models/stories260K.gguf, list/copy/delete/prune,
 * failed creates, hand-written upstream manifests, concurrency. Every test
 * runs in a temporary OLLAMA_MODELS. */
#include <dirent.h>
#include <pthread.h>
#include <time.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gguf/gguf.h"
#include "store/store.h"

static int tu_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static inline void tu_rm_rf(const char *path) { nftw(path, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* A fresh temp dir; OLLAMA_MODELS points into it. */
static inline char *tu_temp_store(void) {
    char *dir = strdup("/tmp/oc-store-test-XXXXXX");
    if (!mkdtemp(dir)) abort();
    char models[512];
    snprintf(models, sizeof models, "  \"%s/models\" ", dir); /* trimmed like upstream */
    setenv("OLLAMA_MODELS", models, 1);
    return dir;
}

static oc_buf tu_snap;
static const char *tu_snap_root;
static int tu_snap_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)ftw;
    oc_buf_printf(&tu_snap, "%s%s %lld\n", p + strlen(tu_snap_root), flag == FTW_D ? "/" : "",
                  flag == FTW_D ? 0LL : (long long)st->st_size);
    return 0;
}

/* Every path under root with its size, in walk order sorted by line. */
static int tu_cmp_line(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static inline char *tu_snapshot(const char *root) {
    tu_snap.len = 0;
    if (tu_snap.data) tu_snap.data[0] = 0;
    tu_snap_root = root;
    nftw(root, tu_snap_cb, 16, FTW_PHYS);
    oc_buf_puts(&tu_snap, "");
    char *copy = strdup(tu_snap.data), *lines[4096];
    size_t n = 0;
    for (char *tok = strtok(copy, "\n"); tok && n < 4096; tok = strtok(NULL, "\n")) lines[n++] = tok;
    qsort(lines, n, sizeof *lines, tu_cmp_line);
    oc_buf out = {0};
    oc_buf_puts(&out, "");
    for (size_t i = 0; i < n; i++) oc_buf_printf(&out, "%s\n", lines[i]);
    free(copy);
    return out.data;
}

static inline void tu_sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static inline char *tu_read(const char *path, size_t *len) { return oc_read_file(path, len, NULL); }

/* Contents of a blob by digest (NUL-terminated), or NULL. */
static inline char *tu_blob(store *s, const char *digest, size_t *len) {
    char path[4096];
    if (store_blob_path(s, digest, path, sizeof path, NULL) != 0) return NULL;
    return tu_read(path, len);
}

static inline void tu_write(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) abort();
    close(fd);
}

/* Sets a file's mtime `age` seconds into the past. */
static inline void tu_age(const char *path, long age) {
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age;
    t[1] = t[0];
    utimensat(AT_FDCWD, path, t, 0);
}

/* ---- names ---- */

static void expect_name(const char *in, const char *canonical, const char *display, const char *path) {
    store_name n;
    oc_error err = {{0}};
    int rc = store_name_parse(in, &n, &err);
    CHECK_MSG(rc == 0, "\"%s\" should be valid", in);
    if (rc != 0) return;
    char buf[STORE_NAME_BUF];
    store_name_string(&n, buf, sizeof buf);
    CHECK_EQ_STR(buf, canonical);
    store_name_display(&n, buf, sizeof buf);
    CHECK_EQ_STR(buf, display);
    store_name_filepath(&n, buf, sizeof buf);
    CHECK_EQ_STR(buf, path);
    store_name back;
    CHECK(store_name_from_filepath(buf, &back) && store_name_equal_fold(&back, &n));
}

static void expect_bad_name(const char *in) {
    store_name n;
    oc_error err = {{0}};
    CHECK_MSG(store_name_parse(in, &n, &err) == STORE_ERR_INVALID, "\"%s\" should be invalid", in);
    CHECK_EQ_STR(err.msg, "invalid model name");
}

static void test_names(void) {
    expect_name("llama3.2", "registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest",
                "registry.ollama.ai/library/llama3.2/latest");
    expect_name("Llama3.2:8B", "registry.ollama.ai/library/Llama3.2:8B", "Llama3.2:8B",
                "registry.ollama.ai/library/Llama3.2/8B");
    expect_name("me/mymodel", "registry.ollama.ai/me/mymodel:latest", "me/mymodel:latest",
                "registry.ollama.ai/me/mymodel/latest");
    expect_name("example.com:5000/ns/m:v1", "example.com:5000/ns/m:v1", "example.com:5000/ns/m:v1",
                "example.com:5000/ns/m/v1");
    expect_name("hf.co/user/repo:Q4_K_M", "hf.co/user/repo:Q4_K_M", "hf.co/user/repo:Q4_K_M", "hf.co/user/repo/Q4_K_M");
    expect_name("REGISTRY.ollama.ai/LIBRARY/x", "REGISTRY.ollama.ai/LIBRARY/x:latest", "x:latest",
                "REGISTRY.ollama.ai/LIBRARY/x/latest");
    expect_name("_x/y_-.z:_t.-", "registry.ollama.ai/_x/y_-.z:_t.-", "_x/y_-.z:_t.-", "registry.ollama.ai/_x/y_-.z/_t.-");
    expect_name(":///ns/m", "registry.ollama.ai/ns/m:latest", "ns/m:latest", "registry.ollama.ai/ns/m/latest");
    expect_bad_name("://ns/m"); /* the host piece is ":/" */
    store_name n;
    CHECK_EQ_INT(store_name_parse("http://localhost:5000/ns/model", &n, NULL), 0);
    CHECK_EQ_STR(n.scheme, "http");
    CHECK_EQ_STR(n.host, "localhost:5000");
    CHECK_EQ_INT(store_name_parse("x", &n, NULL), 0);
    CHECK_EQ_STR(n.scheme, "https");

    const char *bad[] = {"", "localhost:5000/model", "a//b", "x:", ":x", "/x", "x/", "a/b/c/d", "a/b/c/d/e",
                         "..", "../etc/passwd", "a/../b", "ns/..:x", "x:..", ".hidden", "model@sha256:abc",
                         "a b", "ns.x/m", "-x", "x/y:", "caf\xc3\xa9", "x:tag:more", "a:b/c", "ns/m:ta/g",
                         "x\\y", "x:\ty"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_bad_name(bad[i]);

    /* lengths: 80 for model/namespace/tag, 350 for the host */
    char buf[512];
    memset(buf, 'a', 80), buf[80] = 0;
    CHECK_EQ_INT(store_name_parse(buf, &n, NULL), 0);
    memset(buf, 'a', 81), buf[81] = 0;
    expect_bad_name(buf);
    memset(buf, 'h', 350), strcpy(buf + 350, "/n/m");
    CHECK_EQ_INT(store_name_parse(buf, &n, NULL), 0);
    memset(buf, 'h', 351), strcpy(buf + 351, "/n/m");
    expect_bad_name(buf);

    /* manifest paths must be exactly four valid parts */
    CHECK(!store_name_from_filepath("a/b/c", &n));
    CHECK(!store_name_from_filepath("a/b/c/d/e", &n));
    CHECK(!store_name_from_filepath("h/n/../t", &n));
    CHECK(!store_name_from_filepath("h/n/m/.tmp-x", &n));
    CHECK(!store_name_from_filepath("h/n.x/m/t", &n));
    store_name a, b;
    store_name_parse("Llama3:Latest", &a, NULL);
    store_name_parse("llama3", &b, NULL);
    CHECK(store_name_equal_fold(&a, &b));
}

/* ---- blobs ---- */

static void test_blobs(store *s) {
    const char *hex = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    char d[128];
    snprintf(d, sizeof d, "sha256:%s", hex);
    CHECK(store_digest_valid(d));
    d[6] = '-';
    CHECK(store_digest_valid(d));
    d[6] = '_';
    CHECK(!store_digest_valid(d));
    CHECK(!store_digest_valid("sha256:abc"));
    CHECK(!store_digest_valid("sha512:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"));
    CHECK(!store_digest_valid("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256dd"));
    CHECK(!store_digest_valid("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256g"));
    CHECK(!store_digest_valid("sha256:../../../../../../../../../../../../../../../../../etc/passwd/x"));
    char path[4096];
    oc_error err = {{0}};
    CHECK_EQ_INT(store_blob_path(s, "sha256:nope", path, sizeof path, &err), STORE_ERR_INVALID);
    CHECK_EQ_STR(err.msg, "invalid digest format");
    snprintf(d, sizeof d, "sha256:%s", hex);
    CHECK_EQ_INT(store_blob_path(s, d, path, sizeof path, NULL), 0);
    CHECK(strstr(path, "/blobs/sha256-270cba1b") != NULL);

    /* sha256("hello") */
    const char *want = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    char got[STORE_DIGEST_SIZE];
    bool created = false;
    CHECK_EQ_INT(store_blob_write(s, "hello", 5, NULL, got, &created, NULL), 0);
    CHECK_EQ_STR(got, want);
    CHECK(created && store_blob_exists(s, want));
    CHECK_EQ_INT(store_blob_write(s, "hello", 5, want, got, &created, NULL), 0);
    CHECK(!created);
    /* a wrong expected digest publishes nothing */
    char *before = tu_snapshot(store_root(s));
    CHECK_EQ_INT(store_blob_write(s, "hellO", 5, want, got, &created, &err), STORE_ERR_INVALID);
    CHECK(strncmp(err.msg, "digest mismatch, expected \"sha256:2cf24dba", 40) == 0);
    char *after = tu_snapshot(store_root(s));
    CHECK_EQ_STR(after, before);
    free(before), free(after);
    store_blob_path(s, want, path, sizeof path, NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);

    /* streaming writer */
    store_blob_writer *w = store_blob_writer_new(s, NULL);
    CHECK(w != NULL);
    store_blob_writer_write(w, "hel", 3, NULL);
    store_blob_writer_write(w, "lo", 2, NULL);
    int64_t size = 0;
    CHECK_EQ_INT(store_blob_writer_commit(w, NULL, got, &size, &created, NULL), 0);
    CHECK_EQ_STR(got, want);
    CHECK_EQ_INT(size, 5);
    w = store_blob_writer_new(s, NULL);
    store_blob_writer_write(w, "abandoned", 9, NULL);
    store_blob_writer_abort(w);
    CHECK_EQ_INT(store_blob_path(s, want, path, sizeof path, NULL), 0);
    unlink(path);
}

/* ---- Go-compatible JSON ---- */

static void expect_json(json_t *v, const char *want) {
    char *got = store_json_encode(v, NULL, NULL);
    CHECK_EQ_STR(got, want);
    free(got);
    json_decref(v);
}

static void test_gojson(void) {
    expect_json(json_real(0.7), "0.7\n");
    expect_json(json_real(1e21), "1e+21\n");
    expect_json(json_real(1e20), "100000000000000000000\n");
    expect_json(json_real(1e-7), "1e-7\n");
    expect_json(json_real(1.5e-10), "1.5e-10\n");
    expect_json(json_real(0.000001), "0.000001\n");
    expect_json(json_real(-2.5), "-2.5\n");
    expect_json(json_real(1048576), "1048576\n");
    expect_json(json_real(0.1 + 0.2), "0.30000000000000004\n");
    expect_json(json_integer(4096), "4096\n");
    expect_json(json_string("<a href=\"x\">&\xe2\x80\xa8\x01\t\\\b\f\x7f</a>"),
                "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u2028\\u0001\\t\\\\\\b\\f\x7f\\u003c/a\\u003e\"\n");
    expect_json(json_stringn_nocheck("a\xff" "b\xc3", 4), "\"a\\ufffdb\\ufffd\"\n");
    expect_json(json_pack("{s:b,s:n,s:[s,i],s:{}}", "z", 1, "a", "m", "x", 1, "b"),
                "{\"a\":null,\"b\":{},\"m\":[\"x\",1],\"z\":true}\n");
}

/* ---- manifest and config JSON ---- */

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char *UPSTREAM_MANIFEST =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:" HEX_A
    "\",\"size\":485},\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:" HEX_B
    "\",\"size\":2019377376,\"from\":\"llama3.2:latest\"},{\"mediaType\":\"application/vnd.ollama.image.template\","
    "\"digest\":\"sha256:" HEX_C "\",\"size\":1429}]}\n";

static void test_manifest_json(void) {
    store_manifest m;
    CHECK_EQ_INT(store_manifest_parse(UPSTREAM_MANIFEST, strlen(UPSTREAM_MANIFEST), &m, NULL), 0);
    CHECK_EQ_INT(m.schema_version, 2);
    CHECK_EQ_INT(m.n_layers, 2);
    CHECK_EQ_INT(store_manifest_size(&m), 485 + 2019377376LL + 1429);
    CHECK_EQ_STR(m.layers[0].from, "llama3.2:latest");
    CHECK(m.layers[1].from == NULL && m.layers[1].name == NULL);
    size_t len;
    char *enc = store_manifest_encode(&m, &len);
    CHECK_EQ_STR(enc, UPSTREAM_MANIFEST); /* byte for byte */
    free(enc);
    store_manifest_free(&m);

    /* Go decoding: unknown fields, case-insensitive keys, null, trailing data */
    const char *loose = "{\"SCHEMAVERSION\":2,\"extra\":[1,{}],\"config\":null,\"layers\":[{\"MediaType\":\"x\","
                        "\"digest\":\"d\",\"size\":1,\"from\":null,\"name\":\"t/n\"},null]} trailing";
    CHECK_EQ_INT(store_manifest_parse(loose, strlen(loose), &m, NULL), 0);
    CHECK_EQ_INT(m.schema_version, 2);
    CHECK_EQ_STR(m.layers[0].media_type, "x");
    CHECK_EQ_STR(m.layers[0].name, "t/n");
    CHECK_EQ_INT(m.n_layers, 2);
    CHECK_EQ_STR(m.config.digest, "");
    store_manifest_free(&m);
    const char *bad[] = {"", "[]", "{\"layers\":{}}", "{\"schemaVersion\":\"2\"}", "{\"layers\":[{\"size\":1.5}]}",
                         "{\"layers\":[{\"size\":1e3}]}", "{\"layers\":[1]}", "{\"config\":{\"digest\":5}}", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(store_manifest_parse(bad[i], strlen(bad[i]), &m, NULL) == STORE_ERR_INVALID, "%s", bad[i]);

    /* config blob: the spec's example, byte for byte */
    const char *cfg = "{\"model_format\":\"gguf\",\"model_family\":\"llama\",\"model_families\":[\"llama\"],"
                      "\"model_type\":\"3.2B\",\"file_type\":\"Q4_K_M\",\"architecture\":\"amd64\",\"os\":\"linux\"}\n";
    store_config c;
    CHECK_EQ_INT(store_config_parse(cfg, strlen(cfg), &c, NULL), 0);
    CHECK_EQ_STR(c.model_family, "llama");
    enc = store_config_encode(&c, NULL);
    CHECK_EQ_STR(enc, cfg);
    free(enc);
    store_config_free(&c);
    const char *full = "{\"model_format\":\"gguf\",\"model_family\":\"qwen3\",\"model_families\":null,"
                       "\"model_type\":\"\",\"file_type\":\"\",\"renderer\":\"r\",\"parser\":\"p\",\"requires\":\"0.14.0\","
                       "\"remote_host\":\"h\",\"remote_model\":\"m\",\"capabilities\":[\"tools\"],"
                       "\"context_length\":4096,\"embedding_length\":8,\"base_name\":\"b\",\"draft\":{\"model_format\":"
                       "\"gguf\",\"architecture\":\"a\"},\"architecture\":\"amd64\",\"os\":\"linux\"}\n";
    CHECK_EQ_INT(store_config_parse(full, strlen(full), &c, NULL), 0);
    enc = store_config_encode(&c, NULL);
    CHECK_EQ_STR(enc, full);
    free(enc);
    store_config_free(&c);
}

/* ---- create ---- */

#define STORIES "models/stories260K.gguf"
#define STORIES_SHA "sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
#define STORIES_CONFIG                                                                                  \
    "{\"model_format\":\"gguf\",\"model_family\":\"llama\",\"model_families\":[\"llama\"],\"model_type\":\"293K\"," \
    "\"file_type\":\"unknown\",\"architecture\":\"amd64\",\"os\":\"linux\"}\n"

static oc_buf progress_log;

/* The completed counts of "quantizing ..." lines, and their total. */
static int64_t quant_counts[8], quant_total;
static int n_quant_counts;

static void record(void *ud, const char *status, const char *digest, int64_t total, int64_t completed) {
    (void)ud, (void)digest;
    oc_buf_printf(&progress_log, "%s\n", status);
    if (strncmp(status, "quantizing", 10) == 0 && n_quant_counts < 8) {
        quant_counts[n_quant_counts++] = completed;
        quant_total = total;
    }
}

/* Writes a Modelfile into dir and creates `name` from it. */
static int create_mf(store *s, const char *dir, const char *name, const char *text, oc_error *err) {
    store_modelfile mf;
    int rc = store_modelfile_parse(text, strlen(text), &mf, err);
    if (rc != 0) return rc;
    oc_buf_clear(&progress_log);
    rc = store_create_from_modelfile(s, name, &mf, dir, NULL, record, NULL, err);
    store_modelfile_free(&mf);
    return rc;
}

static store_manifest read_manifest(store *s, const char *name) {
    store_name n;
    store_manifest m;
    memset(&m, 0, sizeof m);
    store_name_parse(name, &n, NULL);
    CHECK_EQ_INT(store_manifest_read(s, &n, &m, NULL), 0);
    return m;
}

static void expect_blob(store *s, const char *digest, const char *want) {
    size_t len = 0;
    char *got = tu_blob(s, digest, &len);
    CHECK_MSG(got && len == strlen(want) && !memcmp(got, want, len), "blob %s: \"%s\" != \"%s\"", digest,
              got ? got : "(missing)", want);
    free(got);
}

static const char *TINY_MF =
    "FROM ./story.gguf\n"
    "TEMPLATE \"\"\"{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>\"\"\"\n"
    "SYSTEM You are a tiny storyteller.\n"
    "PARAMETER temperature 0.7\nPARAMETER stop <|user|>\nPARAMETER stop \"</s>\"\nPARAMETER num_ctx 256\n"
    "LICENSE MIT\nLICENSE \"\"\"Apache\n2.0\"\"\"\n"
    "MESSAGE user Tell me a story\nMESSAGE assistant Once upon a time\n";

/* The manifest text we expect, rebuilt from its parts in upstream's format. */
static void expect_manifest_bytes(store *s, const char *name, const store_manifest *m) {
    oc_buf want = {0};
    oc_buf_printf(&want,
                  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
                  "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"%s\","
                  "\"size\":%lld},\"layers\":[",
                  m->config.digest, (long long)m->config.size);
    for (size_t i = 0; i < m->n_layers; i++) {
        oc_buf_printf(&want, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld", i ? "," : "",
                      m->layers[i].media_type, m->layers[i].digest, (long long)m->layers[i].size);
        if (m->layers[i].from) oc_buf_printf(&want, ",\"from\":\"%s\"", m->layers[i].from);
        oc_buf_puts(&want, "}");
    }
    oc_buf_puts(&want, "]}\n");
    store_name n;
    store_name_parse(name, &n, NULL);
    char *raw;
    size_t len;
    CHECK_EQ_INT(store_manifest_read_raw(s, &n, &raw, &len, NULL), 0);
    CHECK_EQ_STR(raw, want.data);
    char hex[65];
    tu_sha256_hex(raw, len, hex);
    CHECK_EQ_STR(m->digest, hex);
    free(raw);
    oc_buf_free(&want);
}

static void test_create_tiny(store *s, const char *dir) {
    char abs[4096], link[4096];
    CHECK(realpath(STORIES, abs) != NULL);
    snprintf(link, sizeof link, "%s/story.gguf", dir);
    symlink(abs, link);
    oc_error err = {{0}};
    CHECK_MSG(create_mf(s, dir, "tiny", TINY_MF, &err) == 0, "%s", err.msg);
    store_manifest m = read_manifest(s, "tiny");
    CHECK_EQ_INT(m.n_layers, 7);
    if (m.n_layers != 7) return;
    static const char *types[] = {STORE_MT_MODEL,   STORE_MT_TEMPLATE, STORE_MT_SYSTEM,  STORE_MT_LICENSE,
                                  STORE_MT_LICENSE, STORE_MT_PARAMS,   STORE_MT_MESSAGES};
    for (int i = 0; i < 7; i++) CHECK_EQ_STR(m.layers[i].media_type, types[i]);
    CHECK_EQ_STR(m.layers[0].digest, STORIES_SHA); /* the file itself is the blob */
    CHECK_EQ_STR(m.layers[0].from, "story.gguf");
    struct stat st;
    stat(STORIES, &st);
    CHECK_EQ_INT(m.layers[0].size, st.st_size);
    expect_blob(s, m.layers[1].digest, "{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>");
    expect_blob(s, m.layers[2].digest, "You are a tiny storyteller.");
    expect_blob(s, m.layers[3].digest, "MIT");
    expect_blob(s, m.layers[4].digest, "Apache\n2.0");
    expect_blob(s, m.layers[5].digest,
                "{\"num_ctx\":256,\"stop\":[\"\\u003c|user|\\u003e\",\"\\u003c/s\\u003e\"],\"temperature\":0.7}\n");
    expect_blob(s, m.layers[6].digest,
                "[{\"role\":\"user\",\"content\":\"Tell me a story\"},{\"role\":\"assistant\",\"content\":\"Once upon a time\"}]\n");
    CHECK_EQ_STR(m.config.media_type, STORE_MT_CONFIG);
    expect_blob(s, m.config.digest, STORIES_CONFIG);
    /* every layer digest is the sha256 of its blob */
    for (size_t i = 0; i < m.n_layers; i++) {
        size_t len;
        char *b = tu_blob(s, m.layers[i].digest, &len), hex[65];
        tu_sha256_hex(b, len, hex);
        CHECK_EQ_STR(m.layers[i].digest + 7, hex);
        CHECK_EQ_INT(m.layers[i].size, len);
        free(b);
    }
    expect_manifest_bytes(s, "tiny", &m);
    oc_buf want = {0};
    oc_buf_printf(&want, "parsing GGUF\nusing existing layer %s\n", STORIES_SHA);
    for (int i = 1; i < 7; i++) oc_buf_printf(&want, "creating new layer %s\n", m.layers[i].digest);
    oc_buf_puts(&want, "writing manifest\nsuccess\n");
    CHECK_EQ_STR(progress_log.data, want.data);
    oc_buf_free(&want);
    store_manifest_free(&m);
}

static void test_load_and_list(store *s) {
    store_name n;
    store_name_parse("TINY:LATEST", &n, NULL); /* folded onto tiny:latest */
    store_model m;
    oc_error err = {{0}};
    CHECK_MSG(store_model_load(s, &n, &m, &err) == 0, "%s", err.msg);
    CHECK_EQ_STR(m.name.model, "tiny");
    CHECK(m.model_path && strstr(m.model_path, "/blobs/sha256-270cba1b"));
    CHECK_EQ_STR(m.parent_model, "story.gguf");
    CHECK_EQ_STR(m.system, "You are a tiny storyteller.");
    CHECK_EQ_INT(m.n_licenses, 2);
    CHECK_EQ_INT(m.n_messages, 2);
    if (m.n_messages == 2) CHECK_EQ_STR(m.messages[1].content, "Once upon a time");
    CHECK(json_is_real(json_object_get(m.params, "temperature")));
    CHECK_EQ_INT(json_array_size(json_object_get(m.params, "stop")), 2);
    CHECK_EQ_STR(m.config.model_type, "293K");
    CHECK_EQ_STR(m.config.file_type, "unknown");
    store_model_free(&m);
    store_name_parse("nothere", &n, NULL);
    CHECK_EQ_INT(store_model_load(s, &n, &m, &err), STORE_ERR_NOT_FOUND);
    CHECK_EQ_STR(err.msg, "model 'nothere:latest' not found");

    store_entry *e;
    size_t cnt;
    CHECK_EQ_INT(store_list(s, &e, &cnt, NULL), 0);
    CHECK_EQ_INT(cnt, 1);
    if (cnt == 1) {
        char d[STORE_NAME_BUF];
        store_name_display(&e[0].name, d, sizeof d);
        CHECK_EQ_STR(d, "tiny:latest");
        CHECK_EQ_INT(e[0].size, store_manifest_size(&e[0].manifest));
        CHECK(e[0].manifest.mtime_sec > 0 && strlen(e[0].manifest.digest) == 64);
    }
    store_list_free(e, cnt);
}

/* FROM an existing model: layers reused with `from` = its short name,
 * SYSTEM replaced, params merged over the inherited ones. */
static void test_create_from_model(store *s, const char *dir) {
    oc_error err = {{0}};
    CHECK_MSG(create_mf(s, dir, "me/tiny2:v1", "FROM tiny\nSYSTEM Be brief.\nPARAMETER top_k 10\nPARAMETER temperature 1\n",
                        &err) == 0, "%s", err.msg);
    store_manifest base = read_manifest(s, "tiny"), m = read_manifest(s, "me/tiny2:v1");
    CHECK_EQ_INT(m.n_layers, 7);
    if (m.n_layers == 7) {
        CHECK_EQ_STR(m.layers[0].digest, STORIES_SHA);
        CHECK_EQ_STR(m.layers[0].from, "tiny:latest");
        CHECK_EQ_STR(m.layers[1].digest, base.layers[1].digest); /* template kept */
        CHECK_EQ_STR(m.layers[1].from, "tiny:latest");
        CHECK_EQ_STR(m.layers[2].media_type, STORE_MT_LICENSE); /* old system removed ... */
        CHECK_EQ_STR(m.layers[5].media_type, STORE_MT_SYSTEM);  /* ... new one appended */
        CHECK(m.layers[5].from == NULL);
        CHECK_EQ_STR(m.layers[6].media_type, STORE_MT_PARAMS);
        expect_blob(s, m.layers[6].digest,
                    "{\"num_ctx\":256,\"stop\":[\"\\u003c|user|\\u003e\",\"\\u003c/s\\u003e\"],\"temperature\":1,"
                    "\"top_k\":10}\n");
        expect_manifest_bytes(s, "me/tiny2:v1", &m);
        CHECK(strstr(progress_log.data, "using existing layer " STORIES_SHA "\n") == progress_log.data);
    }
    store_manifest_free(&base);
    store_manifest_free(&m);
    CHECK_EQ_INT(create_mf(s, dir, "x", "FROM does-not-exist\n", &err), STORE_ERR_NOT_FOUND);
    CHECK_EQ_STR(err.msg, "model 'does-not-exist:latest' not found");
}

static int count_blobs(store *s) {
    char path[4096];
    snprintf(path, sizeof path, "%s/blobs", store_root(s));
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += de->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_copy_delete(store *s) {
    store_name a, b, c;
    store_name_parse("tiny", &a, NULL);
    store_name_parse("copy/tiny:c", &b, NULL);
    oc_error err = {{0}};
    CHECK_EQ_INT(store_copy(s, &a, &b, &err), 0);
    char *ra, *rb;
    size_t la, lb;
    store_manifest_read_raw(s, &a, &ra, &la, NULL);
    store_manifest_read_raw(s, &b, &rb, &lb, NULL);
    CHECK(la == lb && !memcmp(ra, rb, la));
    free(ra), free(rb);
    CHECK_EQ_INT(store_copy(s, &a, &a, NULL), 0);
    store_name_parse("ghost", &c, NULL);
    CHECK_EQ_INT(store_copy(s, &c, &b, &err), STORE_ERR_NOT_FOUND);
    CHECK_EQ_STR(err.msg, "model \"ghost:latest\" not found");

    int blobs = count_blobs(s);
    /* tiny shares everything with its copy: deleting it frees nothing */
    CHECK_EQ_INT(store_delete(s, &a, NULL), 0);
    CHECK_EQ_INT(count_blobs(s), blobs);
    CHECK_EQ_INT(store_delete(s, &a, &err), STORE_ERR_NOT_FOUND);
    CHECK_EQ_STR(err.msg, "model 'tiny:latest' not found");
    /* the copy's own system/params layers go; the model blob stays for tiny2 */
    CHECK_EQ_INT(store_delete(s, &b, NULL), 0);
    CHECK(store_blob_exists(s, STORIES_SHA));
    CHECK(count_blobs(s) < blobs);
    store_name_parse("me/tiny2:v1", &c, NULL);
    CHECK_EQ_INT(store_delete(s, &c, NULL), 0);
    CHECK_EQ_INT(count_blobs(s), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/manifests", store_root(s));
    struct stat st;
    CHECK(stat(path, &st) != 0); /* empty directories pruned, manifests/ too */
    store_entry *e;
    size_t n;
    CHECK_EQ_INT(store_list(s, &e, &n, NULL), 0);
    CHECK_EQ_INT(n, 0);
    store_list_free(e, n);
}

/* ---- failed creates leave the store as it was ---- */

static void expect_create_fails(store *s, const char *dir, const char *name, const char *mf, const char *msg) {
    char *before = tu_snapshot(store_root(s));
    oc_error err = {{0}};
    CHECK_MSG(create_mf(s, dir, name, mf, &err) != 0, "create should fail:\n%s", mf);
    if (msg) CHECK_MSG(strstr(err.msg, msg) != NULL, "\"%s\" lacks \"%s\"", err.msg, msg);
    char *after = tu_snapshot(store_root(s));
    CHECK_EQ_STR(after, before);
    free(before), free(after);
}

static int reject_template(void *ud, const char *t, oc_error *err) {
    (void)ud;
    return strstr(t, "{{ end") && !strstr(t, "{{ if") ? oc_fail(err, "template: :1: unexpected {{end}}") : 0;
}

static void test_create_failures(store *s, const char *dir) {
    /* a base model so the store is not empty */
    oc_error err = {{0}};
    CHECK_MSG(create_mf(s, dir, "base", "FROM ./story.gguf\nSYSTEM base\n", &err) == 0, "%s", err.msg);
    size_t len;
    char *data = tu_read(STORIES, &len), path[4096];
    snprintf(path, sizeof path, "%s/truncated.gguf", dir);
    tu_write(path, data, len / 2);
    expect_create_fails(s, dir, "broken", "FROM ./truncated.gguf\n", "truncated.gguf");
    snprintf(path, sizeof path, "%s/notgguf.bin", dir);
    tu_write(path, "hello world, not a model", 24);
    expect_create_fails(s, dir, "broken", "FROM ./notgguf.bin\n", "supplied file was not in GGUF format");
    free(data);
    expect_create_fails(s, dir, "broken", "FROM ./story.gguf\nPARAMETER temprature 1\n", "unknown parameter 'temprature'");
    expect_create_fails(s, dir, "broken", "FROM ./story.gguf\nREQUIRES 1.x\n", "requires must be a valid semver");
    expect_create_fails(s, dir, "bad name!", "FROM ./story.gguf\nSYSTEM new text\n", "invalid model name");
    expect_create_fails(s, dir, "broken", "FROM ./story.gguf\nADAPTER ./missing.gguf\n", "no such file or directory");
    expect_create_fails(s, dir, "broken", "FROM ./story.gguf\nDRAFT ./story.gguf\n",
                        "DRAFT must not reference the same local path as FROM");
    store_hooks hooks = {.check_template = reject_template};
    store_set_hooks(s, &hooks);
    expect_create_fails(s, dir, "broken", "FROM base\nSYSTEM fresh\nLICENSE new\nTEMPLATE {{ end }}\n",
                        "template error: template: :1: unexpected {{end}}");
    store_set_hooks(s, NULL);
    /* a files map naming a blob that does not exist */
    store_create_req req = {0};
    req.model = strdup("broken");
    store_create_req_add_file(&req.files, &req.n_files,
                              "m.gguf", "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    char *before = tu_snapshot(store_root(s));
    CHECK(store_create(s, &req, NULL, NULL, &err) != 0);
    char *after = tu_snapshot(store_root(s));
    CHECK_EQ_STR(after, before);
    free(before), free(after);
    free(req.files[0].name);
    snprintf(req.files[0].digest, sizeof req.files[0].digest, "%s", STORIES_SHA);
    req.files[0].name = strdup("../m.gguf");
    CHECK_EQ_INT(store_create(s, &req, NULL, NULL, &err), STORE_ERR_INVALID);
    CHECK_EQ_STR(err.msg, "file path must be relative");
    store_create_req_free(&req);
    req.model = strdup("broken");
    CHECK_EQ_INT(store_create(s, &req, NULL, NULL, &err), STORE_ERR_INVALID);
    CHECK_EQ_STR(err.msg, "neither 'from' or 'files' was specified");
    store_create_req_free(&req);
}

/* ---- re-create over a name, directories, corrupt manifests ---- */

static void test_recreate(store *s, const char *dir) {
    oc_error err = {{0}};
    CHECK_MSG(create_mf(s, dir, "re", "FROM ./story.gguf\nSYSTEM first\n", &err) == 0, "%s", err.msg);
    store_manifest first = read_manifest(s, "re");
    CHECK_MSG(create_mf(s, dir, "re", "FROM re\nSYSTEM second\n", &err) == 0, "%s", err.msg);
    CHECK(!store_blob_exists(s, first.layers[1].digest)); /* the replaced system text is gone */
    CHECK(store_blob_exists(s, STORIES_SHA));
    setenv("OLLAMA_NOPRUNE", "1", 1);
    store_manifest second = read_manifest(s, "re");
    CHECK_MSG(create_mf(s, dir, "re", "FROM re\nSYSTEM third\n", &err) == 0, "%s", err.msg);
    CHECK(store_blob_exists(s, second.layers[1].digest)); /* kept under OLLAMA_NOPRUNE */
    unsetenv("OLLAMA_NOPRUNE");
    store_manifest_free(&first);
    store_name n;
    store_name_parse("re", &n, NULL);
    CHECK_EQ_INT(store_delete(s, &n, NULL), 0);
    char path[4096];
    store_blob_path(s, second.layers[1].digest, path, sizeof path, NULL);
    unlink(path);
    store_manifest_free(&second);

    /* FROM a directory: its *.gguf, symlinks must stay inside */
    char sub[4096], cmd[8400];
    snprintf(sub, sizeof sub, "%s/weights", dir);
    mkdir(sub, 0755);
    snprintf(cmd, sizeof cmd, "cp %s '%s/model.gguf'", STORIES, sub);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_MSG(create_mf(s, dir, "fromdir", "FROM weights\n", &err) == 0, "%s", err.msg);
    store_manifest m = read_manifest(s, "fromdir");
    CHECK(m.n_layers == 1 && !strcmp(m.layers[0].from, "model.gguf") && !strcmp(m.layers[0].digest, STORIES_SHA));
    store_manifest_free(&m);
    snprintf(cmd, sizeof cmd, "rm '%s/model.gguf' && ln -s \"$(realpath %s)\" '%s/model.gguf'", sub, STORIES, sub);
    CHECK_EQ_INT(system(cmd), 0);
    expect_create_fails(s, dir, "fromdir2", "FROM weights\n", "insecure path: ../");
    snprintf(cmd, sizeof cmd, "rm '%s/model.gguf'", sub);
    CHECK_EQ_INT(system(cmd), 0);
    expect_create_fails(s, dir, "fromdir2", "FROM weights\n", "no Modelfile or safetensors files found");

    /* a corrupt manifest can still be deleted; it frees nothing */
    store_name_parse("fromdir", &n, NULL);
    store_manifest_path(s, &n, path, sizeof path, NULL);
    tu_write(path, "{\"layers\":", 10);
    CHECK_EQ_INT(store_model_load(s, &n, &(store_model){0}, &err), STORE_ERR_INVALID);
    CHECK_EQ_INT(store_delete(s, &n, &err), 0);
    CHECK(store_blob_exists(s, STORIES_SHA));
}

/* ---- the /api/create shape: files map of uploaded blobs, hooks ---- */

static int fake_detect(void *ud, const char *ct, char **name, char **tmpl, char **stop, oc_error *err) {
    (void)ud, (void)err;
    if (!strstr(ct, "im_start")) return 0;
    *name = strdup("chatml");
    *tmpl = strdup("{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}");
    *stop = strdup("[\"<|im_start|>\",\"<|im_end|>\"]");
    return 1;
}

/* A small F16 GGUF with a chat template. */
static void write_chat_gguf(const char *path, uint32_t file_type) {
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "general.file_type", file_type);
    gguf_writer_set_str(w, "tokenizer.chat_template", "{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}");
    static uint16_t weights[8 * 1000];
    int64_t ne[2] = {8, 1000};
    gguf_writer_add_tensor(w, "token_embd.weight", 1 /* F16 */, 2, ne, weights, sizeof weights, NULL);
    gguf_writer_write_file(w, path, NULL);
    gguf_writer_free(w);
}

static int fake_quantize(void *ud, const char *in, const char *out, const char *type,
                         store_quantize_progress_fn progress, void *progress_ctx, oc_error *err) {
    (void)ud, (void)in;
    CHECK_EQ_STR(type, "Q4_K_M");
    progress(progress_ctx, 1, 4);
    progress(progress_ctx, 1, 4); /* no new count: no line */
    write_chat_gguf(out, 15);
    (void)err;
    return 0;
}

static void test_create_api(store *s, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/chat.gguf", dir);
    write_chat_gguf(path, 1);
    char digest[STORE_DIGEST_SIZE];
    bool created;
    CHECK_EQ_INT(store_blob_import_file(s, path, digest, NULL, &created, NULL), 0);
    CHECK(created);
    store_hooks hooks = {.detect_template = fake_detect, .quantize = fake_quantize};
    store_set_hooks(s, &hooks);
    store_create_req req = {0};
    req.model = strdup("chat");
    store_create_req_add_file(&req.files, &req.n_files, "chat.gguf", digest);
    req.parameters = json_pack("{s:i}", "top_k", 20);
    oc_error err = {{0}};
    oc_buf_clear(&progress_log);
    CHECK_MSG(store_create(s, &req, record, NULL, &err) == 0, "%s", err.msg);
    store_manifest m = read_manifest(s, "chat");
    CHECK_EQ_INT(m.n_layers, 3);
    if (m.n_layers == 3) {
        CHECK_EQ_STR(m.layers[0].from, "chat.gguf");
        CHECK_EQ_STR(m.layers[1].media_type, STORE_MT_TEMPLATE);
        CHECK_EQ_STR(m.layers[2].media_type, STORE_MT_PARAMS);
        expect_blob(s, m.layers[2].digest, "{\"stop\":[\"\\u003c|im_start|\\u003e\",\"\\u003c|im_end|\\u003e\"],\"top_k\":20}\n");
        CHECK(strstr(progress_log.data, "parsing GGUF\nusing existing layer sha256:") == progress_log.data);
        CHECK(strstr(progress_log.data, "\nusing autodetected template chatml\n") != NULL);
    }
    size_t len;
    char *cfg = tu_blob(s, m.config.digest, &len);
    CHECK(cfg && strstr(cfg, "\"model_type\":\"8K\",\"file_type\":\"F16\""));
    free(cfg);
    store_manifest_free(&m);
    /* the stop-only params blob autodetection wrote is unused and removed:
     * base (gguf, system, config) + chat (gguf, template, params, config) */
    CHECK_EQ_INT(count_blobs(s), 3 + 4);

    /* quantize through the hook: new model blob, no `from` */
    free(req.model);
    req.model = strdup("chat:q4");
    req.quantize = strdup("q4_k_m");
    oc_buf_clear(&progress_log);
    n_quant_counts = 0;
    CHECK_MSG(store_create(s, &req, record, NULL, &err) == 0, "%s", err.msg);
    m = read_manifest(s, "chat:q4");
    CHECK(m.n_layers == 3 && strcmp(m.layers[0].digest, digest) && m.layers[0].from == NULL);
    CHECK(strstr(progress_log.data, "quantizing F16 model to Q4_K_M\nquantizing F16 model to Q4_K_M\n"
                                    "quantizing F16 model to Q4_K_M\nverifying conversion\n") != NULL);
    /* 0, a quarter of the layer (the hook's one new count), all of it */
    CHECK_EQ_INT(n_quant_counts, 3);
    CHECK_MSG(quant_total > 0 && quant_counts[0] == 0 && quant_counts[1] == quant_total / 4 &&
                  quant_counts[2] == quant_total,
              "quantize progress %lld %lld %lld of %lld", (long long)quant_counts[0], (long long)quant_counts[1],
              (long long)quant_counts[2], (long long)quant_total);
    cfg = tu_blob(s, m.config.digest, &len);
    CHECK(cfg && strstr(cfg, "\"file_type\":\"Q4_K_M\""));
    free(cfg);
    store_manifest_free(&m);
    free(req.quantize);
    req.quantize = strdup("q2_k");
    CHECK_EQ_INT(store_create(s, &req, NULL, NULL, &err), STORE_ERR_INVALID);
    CHECK_EQ_STR(err.msg, "unsupported quantization type Q2_K - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0");
    store_create_req_free(&req);
    store_set_hooks(s, NULL);
}

/* ---- a store written by upstream Ollama ---- */

static void put_blob(store *s, const char *data, char digest[STORE_DIGEST_SIZE]) {
    CHECK_EQ_INT(store_blob_write(s, data, strlen(data), NULL, digest, NULL, NULL), 0);
}

typedef struct upstream_model {
    char cfg[STORE_DIGEST_SIZE], tmpl[STORE_DIGEST_SIZE], params[STORE_DIGEST_SIZE], lic[STORE_DIGEST_SIZE],
        model[STORE_DIGEST_SIZE];
    oc_buf manifest;
    size_t size; /* layers + config */
} upstream_model;

/* Blobs and a manifest written the way Ollama writes them, by hand. */
static void write_upstream_model(store *s, upstream_model *u) {
    const char *cfg_json = "{\"model_format\":\"gguf\",\"model_family\":\"llama\",\"model_families\":[\"llama\"],"
                           "\"model_type\":\"3.2B\",\"file_type\":\"Q4_K_M\",\"architecture\":\"amd64\",\"os\":\"linux\"}\n";
    const char *params_json = "{\"seed\":100000000000000000000,\"stop\":[\"\\u003c|eot_id|\\u003e\"],\"temperature\":0.6}\n";
    put_blob(s, cfg_json, u->cfg);
    put_blob(s, "{{ .Prompt }}", u->tmpl);
    put_blob(s, params_json, u->params);
    put_blob(s, "LLAMA 3.2 COMMUNITY LICENSE", u->lic);
    size_t len;
    char *gguf = tu_read(STORIES, &len);
    CHECK_EQ_INT(store_blob_write(s, gguf, len, NULL, u->model, NULL, NULL), 0);
    free(gguf);
    u->size = strlen(cfg_json) + len + 13 + 27 + strlen(params_json);
    oc_buf_printf(&u->manifest,
                  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
                  "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"%s\","
                  "\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"%s\","
                  "\"size\":%zu},{\"mediaType\":\"application/vnd.ollama.image.template\",\"digest\":\"%s\",\"size\":13},"
                  "{\"mediaType\":\"application/vnd.ollama.image.license\",\"digest\":\"%s\",\"size\":27},"
                  "{\"mediaType\":\"application/vnd.ollama.image.params\",\"digest\":\"%s\",\"size\":%zu}]}\n",
                  u->cfg, strlen(cfg_json), u->model, len, u->tmpl, u->lic, u->params, strlen(params_json));
    char path[4200], cmd[4300];
    snprintf(path, sizeof path, "%s/manifests/registry.ollama.ai/library/llama3.2", store_root(s));
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    CHECK_EQ_INT(system(cmd), 0);
    strcat(path, "/3b");
    tu_write(path, u->manifest.data, u->manifest.len);
}

static void check_upstream_listed(store *s, const upstream_model *u) {
    store_entry *e;
    size_t n;
    CHECK_EQ_INT(store_list(s, &e, &n, NULL), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        char d[STORE_NAME_BUF], hex[65];
        store_name_display(&e[i].name, d, sizeof d);
        if (strcmp(d, "llama3.2:3b")) continue;
        found = true;
        tu_sha256_hex(u->manifest.data, u->manifest.len, hex);
        CHECK_EQ_STR(e[i].manifest.digest, hex);
        CHECK_EQ_INT(e[i].size, (int64_t)u->size);
    }
    CHECK(found);
    store_list_free(e, n);
}

static void test_upstream_manifest(store *s) {
    upstream_model u = {0};
    write_upstream_model(s, &u);
    check_upstream_listed(s, &u);
    store_name name;
    store_name_parse("llama3.2:3b", &name, NULL);
    store_model m;
    oc_error err = {{0}};
    CHECK_MSG(store_model_load(s, &name, &m, &err) == 0, "%s", err.msg);
    CHECK_EQ_STR(m.template_text, "{{ .Prompt }}");
    CHECK_EQ_STR(m.licenses[0], "LLAMA 3.2 COMMUNITY LICENSE");
    CHECK(m.parent_model == NULL && m.system == NULL);
    CHECK_EQ_STR(m.config.file_type, "Q4_K_M");
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(m.params, "stop"), 0)), "<|eot_id|>");
    CHECK(json_number_value(json_object_get(m.params, "seed")) == 1e20); /* beyond int64: read as a real */
    store_model_free(&m);
    /* re-encoding what we parsed gives upstream's bytes back */
    store_manifest pm;
    CHECK_EQ_INT(store_manifest_parse(u.manifest.data, u.manifest.len, &pm, NULL), 0);
    char *enc = store_manifest_encode(&pm, NULL);
    CHECK_EQ_STR(enc, u.manifest.data);
    free(enc);
    store_manifest_free(&pm);
    oc_buf_free(&u.manifest);
    CHECK_EQ_INT(store_delete(s, &name, NULL), 0);
    CHECK(!store_blob_exists(s, u.cfg) && !store_blob_exists(s, u.tmpl) && !store_blob_exists(s, u.lic));
    CHECK(store_blob_exists(s, u.model)); /* "base" uses the same GGUF */
}

/* ---- start-up prune ---- */

static void blob_file(store *s, const char *name, const char *data, long age) {
    char path[4096];
    snprintf(path, sizeof path, "%s/blobs/%s", store_root(s), name);
    tu_write(path, data, strlen(data));
    tu_age(path, age);
}

static bool blob_file_exists(store *s, const char *name) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/blobs/%s", store_root(s), name);
    return stat(path, &st) == 0;
}

static void test_prune(store *s, const char *dir) {
    oc_error err = {{0}};
    CHECK_MSG(create_mf(s, dir, "keep", "FROM ./story.gguf\nSYSTEM kept\n", &err) == 0, "%s", err.msg);
    store_manifest m = read_manifest(s, "keep");
    for (size_t i = 0; i < m.n_layers; i++) { /* in use, but old */
        char p[4096];
        store_blob_path(s, m.layers[i].digest, p, sizeof p, NULL);
        tu_age(p, 7200);
    }
    const char *old_orphan = "sha256-1111111111111111111111111111111111111111111111111111111111111111";
    const char *new_orphan = "sha256-2222222222222222222222222222222222222222222222222222222222222222";
    blob_file(s, old_orphan, "x", 7200);
    blob_file(s, new_orphan, "y", 10);
    blob_file(s, "sha256-3333333333333333333333333333333333333333333333333333333333333333-partial", "z", 7200);
    blob_file(s, "sha256-123456", "tmp", 7200);
    blob_file(s, "sha256-654321", "young tmp", 60);
    blob_file(s, "sha256:4444444444444444444444444444444444444444444444444444444444444444", "w", 10);
    setenv("OLLAMA_NOPRUNE", "true", 1);
    CHECK_EQ_INT(store_prune(s, NULL), 0);
    CHECK(blob_file_exists(s, old_orphan));
    CHECK(blob_file_exists(s, "sha256-4444444444444444444444444444444444444444444444444444444444444444")); /* renamed */
    setenv("OLLAMA_NOPRUNE", "0", 1);
    /* a corrupt manifest disables prune */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/manifests/registry.ollama.ai/library/keep/corrupt", store_root(s));
    tu_write(bad, "{not json", 9);
    CHECK_EQ_INT(store_prune(s, NULL), 0);
    CHECK(blob_file_exists(s, old_orphan));
    unlink(bad);
    CHECK_EQ_INT(store_prune(s, NULL), 0);
    CHECK(!blob_file_exists(s, old_orphan));
    CHECK(blob_file_exists(s, new_orphan)); /* younger than an hour: maybe awaiting a manifest */
    CHECK(!blob_file_exists(s, "sha256-3333333333333333333333333333333333333333333333333333333333333333-partial"));
    CHECK(!blob_file_exists(s, "sha256-123456"));
    CHECK(blob_file_exists(s, "sha256-654321"));
    blob_file(s, "sha256-654321", "", 0);
    char young[4096];
    snprintf(young, sizeof young, "%s/blobs/sha256-654321", store_root(s));
    unlink(young);
    for (size_t i = 0; i < m.n_layers; i++) CHECK(store_blob_exists(s, m.layers[i].digest));
    CHECK(store_blob_exists(s, m.config.digest));
    store_manifest_free(&m);
    unsetenv("OLLAMA_NOPRUNE");
}

/* ---- show texts ---- */

static void test_show(store *s) {
    store_name n;
    store_name_parse("me/tiny2:v1", &n, NULL);
    store_model m;
    oc_error err = {{0}};
    CHECK_MSG(store_model_load(s, &n, &m, &err) == 0, "%s", err.msg);
    json_t *p = json_deep_copy(m.params);
    json_object_set_new(p, "num_predict", json_real(1e6));
    json_object_set_new(p, "seed", json_real(1234567));
    json_object_set_new(p, "use_mmap", json_false());
    char *text = store_params_text(p);
    CHECK_EQ_STR(text, "num_ctx                        256\n"
                       "num_predict                    1e+06\n"
                       "seed                           1.234567e+06\n"
                       "stop                           \"<|user|>\"\n"
                       "stop                           \"</s>\"\n"
                       "temperature                    1\n"
                       "top_k                          10\n"
                       "use_mmap                       false");
    free(text);
    text = store_model_modelfile(&m, NULL, p);
    oc_buf want = {0};
    oc_buf_printf(&want,
                  "# Modelfile generated by \"ollama show\"\n# To build a new Modelfile based on this, replace FROM "
                  "with:\n# FROM me/tiny2:v1\n\nFROM %s\nTEMPLATE {{ if .System }}<|system|>{{ .System }}{{ end }}"
                  "<|user|>{{ .Prompt }}<|assistant|>\nSYSTEM Be brief.\nPARAMETER num_ctx 256\n"
                  "PARAMETER num_predict 1000000\nPARAMETER seed 1234567\nPARAMETER stop <|user|>\nPARAMETER stop </s>\n"
                  "PARAMETER temperature 1\nPARAMETER top_k 10\nPARAMETER use_mmap false\nLICENSE MIT\n"
                  "LICENSE \"Apache\n2.0\"\nMESSAGE user Tell me a story\nMESSAGE assistant Once upon a time\n",
                  m.model_path);
    CHECK_EQ_STR(text, want.data);
    /* what show prints parses back as a Modelfile */
    store_modelfile mf;
    CHECK_EQ_INT(store_modelfile_parse(text, strlen(text), &mf, NULL), 0);
    CHECK_EQ_INT(mf.n, 15);
    store_modelfile_free(&mf);
    free(text);
    oc_buf_free(&want);
    json_decref(p);
    json_t *q = json_pack("{s:s,s:f}", "stop", "a\"b\x01\xe2\x80\xa8", "min_p", 0.00001);
    text = store_params_text(q);
    CHECK_EQ_STR(text, "min_p                          1e-05\nstop                           \"a\\\"b\\x01\\u2028\"");
    free(text);
    json_decref(q);
    store_model_free(&m);
}

/* ---- case folding onto what exists ---- */

static void expect_fold(store *s, const char *in, const char *want) {
    store_name n;
    CHECK_EQ_INT(store_name_parse(in, &n, NULL), 0);
    store_name_fold_existing(s, &n);
    char got[STORE_NAME_BUF];
    store_name_display(&n, got, sizeof got);
    CHECK_EQ_STR(got, want);
}

static void test_fold(store *s) {
    store_name base, a, b;
    store_name_parse("base", &base, NULL);
    store_name_parse("Fold:copy", &a, NULL);
    store_name_parse("fold:latest", &b, NULL);
    CHECK_EQ_INT(store_copy(s, &base, &a, NULL), 0);
    /* copy folds the destination: fold:latest would become Fold:latest */
    char path[4096];
    snprintf(path, sizeof path, "%s/manifests/registry.ollama.ai/library/fold", store_root(s));
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/manifests/registry.ollama.ai/library/fold/latest", store_root(s));
    char *raw;
    size_t len;
    store_manifest_read_raw(s, &base, &raw, &len, NULL);
    tu_write(path, raw, len);
    free(raw);
    expect_fold(s, "fold:latest", "fold:latest"); /* exists as spelled */
    expect_fold(s, "FOLD:COPY", "Fold:copy");
    expect_fold(s, "fold:copy", "fold:copy"); /* "fold" exists, with no tag copy */
    expect_fold(s, "Fold:Latest", "Fold:latest");
    expect_fold(s, "NEW:Tag", "NEW:Tag");
    expect_fold(s, "Library/BASE", "base:latest");
    CHECK_EQ_INT(store_delete(s, &a, NULL), 0);
    CHECK_EQ_INT(store_delete(s, &b, NULL), 0);
    CHECK(store_blob_exists(s, STORIES_SHA));
}

/* ---- concurrent create/copy/delete of the same names ---- */

typedef struct race_arg {
    store *s;
    int id, failures;
} race_arg;

static void *race_thread(void *p) {
    race_arg *a = p;
    store_name race, copy;
    store_name_parse("race", &race, NULL);
    store_name_parse("race:copy", &copy, NULL);
    for (int i = 0; i < 25; i++) {
        oc_error err;
        int op = (a->id + i) % 4, rc = 0;
        if (op == 0 || op == 3) {
            store_create_req req = {0};
            char sys[64];
            snprintf(sys, sizeof sys, "system %d", i % 3);
            req.model = strdup(op == 0 ? "race" : "Race:Copy");
            req.from = strdup("base");
            req.system = strdup(sys);
            rc = store_create(a->s, &req, NULL, NULL, &err);
            store_create_req_free(&req);
        } else if (op == 1) {
            rc = store_copy(a->s, &race, &copy, &err);
        } else {
            rc = store_delete(a->s, i % 2 ? &race : &copy, &err);
        }
        if (rc != 0 && rc != STORE_ERR_NOT_FOUND) a->failures++;
        store_model m;
        if (store_model_load(a->s, &race, &m, &err) == 0) {
            if (!m.model_path || !m.system) a->failures++;
            store_model_free(&m);
        }
    }
    return NULL;
}

static void test_concurrency(store *s) {
    pthread_t t[6];
    race_arg a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (race_arg){.s = s, .id = i};
        pthread_create(&t[i], NULL, race_thread, &a[i]);
    }
    int failures = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        failures += a[i].failures;
    }
    CHECK_EQ_INT(failures, 0);
    /* every manifest left resolves to existing blobs; no temp files */
    store_entry *e;
    size_t n;
    CHECK_EQ_INT(store_list(s, &e, &n, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        store_model m;
        oc_error err = {{0}};
        CHECK_MSG(store_model_load(s, &e[i].name, &m, &err) == 0, "%s", err.msg);
        for (size_t k = 0; k < e[i].manifest.n_layers; k++) CHECK(store_blob_exists(s, e[i].manifest.layers[k].digest));
        store_model_free(&m);
    }
    store_list_free(e, n);
    char *snap = tu_snapshot(store_root(s));
    CHECK(strstr(snap, ".tmp-") == NULL);
    for (char *line = strstr(snap, "/blobs/"); line; line = strstr(line + 1, "/blobs/")) {
        char *name = line + 7, *sp = strchr(name, ' ');
        if (sp && sp > name) CHECK_MSG(sp - name == 71, "stray blob file %.*s", (int)(sp - name), name);
    }
    free(snap);
}

int main(void) {
    char *tmp = tu_temp_store();
    oc_buf_puts(&progress_log, "");
    store *s = store_open(NULL, NULL);
    char root[1024];
    snprintf(root, sizeof root, "%s/models", tmp);
    CHECK_EQ_STR(store_root(s), root);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/src", tmp);
    mkdir(dir, 0755);

    test_names();
    test_blobs(s);
    test_gojson();
    test_manifest_json();
    test_create_tiny(s, dir);
    test_load_and_list(s);
    test_create_from_model(s, dir);
    test_show(s);
    test_copy_delete(s);
    test_create_failures(s, dir);
    test_recreate(s, dir);
    test_create_api(s, dir);
    test_upstream_manifest(s);
    test_prune(s, dir);
    test_fold(s);
    test_concurrency(s);

    store_close(s);
    tu_rm_rf(tmp);
    free(tmp);
    oc_buf_free(&progress_log);
    oc_buf_free(&tu_snap);
    return check_done();
}

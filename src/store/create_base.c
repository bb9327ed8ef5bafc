/* create, first half: the weight layers (modelfile.md §4 steps 1-4;
 * upstream server/create.go parseFromModel, convertModelFromFiles,
 * ggufLayers, createModel's per-layer loop). Nothing here takes the store
 * lock: it only reads blobs and publishes new ones, which stay unreferenced
 * (and are removed on failure) until the manifest is written. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/create_internal.h"

#define MT_IS_GGUF(mt)                                                                             \
    (!strcmp(mt, STORE_MT_MODEL) || !strcmp(mt, STORE_MT_PROJECTOR) || !strcmp(mt, STORE_MT_ADAPTER) || \
     !strcmp(mt, STORE_MT_DRAFT))

static gguf_file *open_blob_gguf(cctx *c, const char *digest) {
    char path[PATH_MAX];
    if (store_blob_path(c->s, digest, path, sizeof path, c->err) != 0) return NULL;
    return gguf_open(path, c->err);
}

/* Inherits renderer, parser, requires, model_format and capabilities from
 * the base model's config unless the request set them. */
static void inherit_config(cctx *c, const store_manifest *m) {
    char path[PATH_MAX];
    size_t len;
    if (!*m->config.digest || store_blob_path(c->s, m->config.digest, path, sizeof path, NULL) != 0) return;
    char *data = oc_read_file(path, &len, NULL);
    store_config base;
    if (!data || store_config_parse(data, len, &base, NULL) != 0) {
        free(data);
        return;
    }
    free(data);
    char **mine[] = {&c->cfg.renderer, &c->cfg.parser, &c->cfg.requires, &c->cfg.model_format};
    char **theirs[] = {&base.renderer, &base.parser, &base.requires, &base.model_format};
    for (int i = 0; i < 4; i++)
        if ((!*mine[i] || !**mine[i]) && *theirs[i] && **theirs[i]) {
            free(*mine[i]);
            *mine[i] = *theirs[i];
            *theirs[i] = NULL;
        }
    if (!c->cfg.n_capabilities) {
        c->cfg.capabilities = base.capabilities, c->cfg.n_capabilities = base.n_capabilities;
        base.capabilities = NULL, base.n_capabilities = 0;
    }
    store_config_free(&base);
}

/* FROM <model name>: every layer of its manifest, `from` = its short name. */
static int base_from_model(cctx *c) {
    store_name from;
    if (store_name_parse(c->req->from, &from, c->err) != 0) return STORE_ERR_INVALID;
    store_name_fold_existing(c->s, &from);
    store_manifest m;
    int rc = store_manifest_read(c->s, &from, &m, c->err);
    if (rc != 0) return rc;
    char shortname[STORE_NAME_BUF];
    store_name_display(&from, shortname, sizeof shortname);
    for (size_t i = 0; rc == 0 && i < m.n_layers; i++) {
        clayer *cl = create_push(c);
        rc = create_layer_from_blob(c, cl, m.layers[i].digest, m.layers[i].media_type, shortname);
        if (rc == 0 && m.layers[i].name) cl->l.name = oc_strdup(m.layers[i].name);
        if (rc == 0 && MT_IS_GGUF(cl->l.media_type) && !(cl->g = open_blob_gguf(c, cl->l.digest))) rc = STORE_ERR;
    }
    if (rc == 0) inherit_config(c, &m);
    store_manifest_free(&m);
    return rc;
}

/* detectModelTypeFromFiles: by extension, else by the blob's magic. */
static const char *files_kind(cctx *c, const store_file_ref *f, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(f[i].name);
        if (len >= 12 && !strcmp(f[i].name + len - 12, ".safetensors")) return "safetensors";
        if (len >= 5 && !strcmp(f[i].name + len - 5, ".gguf")) return "gguf";
        char path[PATH_MAX];
        unsigned char magic[4];
        if (store_blob_path(c->s, f[i].digest, path, sizeof path, NULL) != 0) return NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? read(fd, magic, 4) : -1;
        if (fd >= 0) close(fd);
        if (got == 4 && store_is_gguf_magic(magic, 4)) return "gguf";
    }
    return NULL;
}

/* The blob must start with the GGUF magic ("supplied file was not in GGUF
 * format") and parse. */
static int open_file_gguf(cctx *c, const store_file_ref *f, gguf_file **out) {
    char path[PATH_MAX];
    int rc = store_blob_path(c->s, f->digest, path, sizeof path, c->err);
    if (rc != 0) return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return oc_fail(c->err, "open %s: %s", path, strerror(errno));
    unsigned char magic[4];
    ssize_t got = read(fd, magic, 4);
    close(fd);
    if (got != 4 || !store_is_gguf_magic(magic, 4)) {
        oc_fail(c->err, "supplied file was not in GGUF format");
        return STORE_ERR_INVALID;
    }
    if (!(*out = gguf_open(path, c->err))) return STORE_ERR;
    if (store_gguf_split_count(*out) > 1) {
        /* TODO: merge the shards of a split GGUF into one model layer. */
        oc_fail(c->err, "split GGUF %s is not supported yet", f->name);
        return STORE_ERR_INVALID;
    }
    return 0;
}

static const char *layer_media_type(const gguf_file *g) {
    char *kind = store_gguf_str(g, "general.type", "unknown");
    bool adapter = !strcmp(kind, "adapter");
    free(kind);
    if (adapter) return STORE_MT_ADAPTER;
    return store_gguf_is_projector(g) ? STORE_MT_PROJECTOR : STORE_MT_MODEL;
}

/* Template autodetection for the layers from index `from` on (modelfile.md
 * §7), through the chat module's hook. */
static int detect_templates(cctx *c, size_t from) {
    store_detect_template_fn fn = c->s->hooks.detect_template;
    size_t end = c->n;
    for (size_t i = from; fn && i < end; i++) {
        char *ct = c->v[i].g ? store_gguf_str(c->v[i].g, "tokenizer.chat_template", NULL) : NULL;
        char *name = NULL, *tmpl = NULL, *stop = NULL;
        int hit = ct && *ct ? fn(c->s->hooks.ud, ct, &name, &tmpl, &stop, c->err) : 0;
        free(ct);
        int rc = hit < 0 ? STORE_ERR : 0;
        if (hit > 0 && (rc = create_layer_from_bytes(c, tmpl, strlen(tmpl), STORE_MT_TEMPLATE)) == 0) {
            free(c->v[c->n - 1].status);
            size_t n = strlen(name) + 40;
            c->v[c->n - 1].status = oc_malloc(n);
            snprintf(c->v[c->n - 1].status, n, "using autodetected template %s", name);
        }
        if (hit > 0 && rc == 0 && stop) {
            json_t *obj = json_object(), *arr = store_json_parse(stop, strlen(stop), c->err);
            rc = arr ? 0 : STORE_ERR;
            if (arr) json_object_set_new(obj, "stop", arr);
            size_t len;
            char *bytes = rc == 0 ? store_json_encode(obj, &len, c->err) : NULL;
            if (rc == 0) rc = bytes ? create_layer_from_bytes(c, bytes, len, STORE_MT_PARAMS) : STORE_ERR;
            free(bytes);
            json_decref(obj);
        }
        free(name), free(tmpl), free(stop);
        if (rc != 0) return rc;
    }
    return 0;
}

static int cmp_ref(const void *a, const void *b) {
    return strcmp((*(const store_file_ref *const *)a)->name, (*(const store_file_ref *const *)b)->name);
}

/* GGUF files in name order: "parsing GGUF", media type, layer with
 * `from` = the file name (forced_mt for drafts). */
static int gguf_file_layers(cctx *c, const store_file_ref *files, size_t n, const char *forced_mt, bool detect) {
    const char *kind = files_kind(c, files, n);
    if (!kind || strcmp(kind, "gguf")) {
        /* TODO: safetensors conversion (upstream "converting model"). */
        oc_fail(c->err, kind ? "safetensors conversion is not supported yet" : "unknown type");
        return STORE_ERR_INVALID;
    }
    const store_file_ref **sorted = oc_malloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++) sorted[i] = &files[i];
    qsort(sorted, n, sizeof *sorted, cmp_ref);
    size_t first = c->n;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        create_emit(c, "parsing GGUF", NULL, 0, 0);
        gguf_file *g = NULL;
        rc = open_file_gguf(c, sorted[i], &g);
        clayer *cl = rc == 0 ? create_push(c) : NULL;
        if (cl) cl->g = g;
        else gguf_close(g);
        if (cl) rc = create_layer_from_blob(c, cl, sorted[i]->digest, forced_mt ? forced_mt : layer_media_type(g),
                                            sorted[i]->name);
    }
    free(sorted);
    return rc == 0 && detect ? detect_templates(c, first) : rc;
}

int create_base_layers(cctx *c) {
    const store_create_req *r = c->req;
    int rc;
    if (r->from && *r->from) rc = base_from_model(c);
    else if (r->n_files) rc = gguf_file_layers(c, r->files, r->n_files, NULL, true);
    else {
        oc_fail(c->err, "neither 'from' or 'files' was specified");
        return STORE_ERR_INVALID;
    }
    /* Upstream converts drafts before adapters but lists adapters first. */
    size_t before_drafts = c->n;
    if (rc == 0 && r->n_draft_files) rc = gguf_file_layers(c, r->draft_files, r->n_draft_files, STORE_MT_DRAFT, false);
    size_t n_drafts = c->n - before_drafts;
    if (rc == 0 && r->n_adapters > 1) {
        oc_fail(c->err, "only one adapter is currently supported");
        rc = STORE_ERR_INVALID;
    }
    if (rc == 0 && r->n_adapters) rc = gguf_file_layers(c, r->adapters, r->n_adapters, NULL, true);
    if (rc == 0 && n_drafts) { /* rotate the draft layers behind the adapters */
        clayer *tmp = oc_malloc(n_drafts * sizeof *tmp);
        memcpy(tmp, c->v + before_drafts, n_drafts * sizeof *tmp);
        memmove(c->v + before_drafts, c->v + before_drafts + n_drafts, (c->n - before_drafts - n_drafts) * sizeof *tmp);
        memcpy(c->v + c->n - n_drafts, tmp, n_drafts * sizeof *tmp);
        free(tmp);
    }
    return rc;
}

/* ---- per-layer GGUF work ---- */

/* ggml.ParseFileType: the types create -q accepts. */
static const char *quant_target(const char *q) {
    static const char *ok[][2] = {{"F32", "F32"}, {"F16", "F16"}, {"Q8_0", "Q8_0"}, {"Q4_K_S", "Q4_K_S"},
                                  {"Q4_K_M", "Q4_K_M"}, {"Q4_K", "Q4_K_M"}, {"BF16", "BF16"}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(q, ok[i][0])) return ok[i][1];
    return NULL;
}

/* Imports the quantizer's output file as a blob. */
static int import_output(cctx *c, const char *out, char digest[STORE_DIGEST_SIZE], int64_t *size, bool *created) {
    int fd = open(out, O_RDONLY | O_CLOEXEC); /* by name: the hook may have replaced the file */
    if (fd < 0) return oc_fail(c->err, "open %s: %s", out, strerror(errno));
    int rc = store_blob_write_fd(c->s, fd, NULL, digest, size, created, c->err);
    close(fd);
    return rc;
}

typedef struct quantize_progress {
    cctx *c;
    const char *status;
    int64_t size, last; /* the layer's size, and the last completed count sent */
} quantize_progress;

/* As upstream: completed is the layer's size times the fraction of the
 * tensor bytes done. */
static void on_quantize_progress(void *ctx, uint64_t done, uint64_t total) {
    quantize_progress *q = ctx;
    int64_t completed = total ? (int64_t)((double)done / (double)total * (double)q->size) : 0;
    if (completed <= q->last || completed >= q->size) return; /* the final count comes after the hook */
    q->last = completed;
    create_emit(q->c, q->status, "0000000000000000000", q->size, completed);
}

/* Runs the quantize hook into a temp file in blobs/ and swaps the layer. */
static int run_quantizer(cctx *c, clayer *cl, const char *from, const char *upper, const char *target) {
    char in[PATH_MAX];
    store_blob_path(c->s, cl->l.digest, in, sizeof in, NULL);
    char *dir = store_blobs_dir(c->s, true, c->err);
    if (!dir) return STORE_ERR;
    char *out = store_join(dir, "sha256-quantize-XXXXXX"); /* not a digest: prune removes strays */
    free(dir);
    int fd = mkostemp(out, O_CLOEXEC), rc = 0;
    if (fd < 0) rc = oc_fail(c->err, "create %s: %s", out, strerror(errno));
    else close(fd);
    char status[96];
    snprintf(status, sizeof status, "quantizing %s model to %s", from, upper);
    if (rc == 0) create_emit(c, status, "0000000000000000000", cl->l.size, 0);
    quantize_progress qp = {.c = c, .status = status, .size = cl->l.size};
    if (rc == 0)
        rc = c->s->hooks.quantize(c->s->hooks.ud, in, out, target, on_quantize_progress, &qp, c->err) == 0 ? 0
                                                                                                       : STORE_ERR;
    if (rc == 0) create_emit(c, status, "0000000000000000000", cl->l.size, cl->l.size);
    if (rc == 0) create_emit(c, "verifying conversion", NULL, 0, 0);
    char digest[STORE_DIGEST_SIZE];
    int64_t size = 0;
    bool created = false;
    if (rc == 0) rc = import_output(c, out, digest, &size, &created);
    if (fd >= 0) unlink(out);
    free(out);
    if (rc != 0) return rc;
    if (created) create_fresh(c, digest);
    gguf_close(cl->g);
    char *mt = oc_strdup(cl->l.media_type);
    store_layer_clear(&cl->l);
    store_layer_set(&cl->l, mt, digest, size, NULL, NULL); /* NewLayer: no `from` */
    free(mt);
    free(cl->status);
    cl->status = oc_malloc(96);
    snprintf(cl->status, 96, "%s %s", created ? "creating new layer" : "using existing layer", digest);
    return (cl->g = open_blob_gguf(c, digest)) ? 0 : STORE_ERR;
}

static int quantize_layer(cctx *c, clayer *cl) {
    char upper[64];
    snprintf(upper, sizeof upper, "%s", c->req->quantize);
    for (char *p = upper; *p; p++) *p = (char)toupper((unsigned char)*p);
    const char *target = quant_target(upper);
    if (!target) {
        oc_fail(c->err, "unsupported quantization type %s - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0", upper);
        return STORE_ERR_INVALID;
    }
    const char *ft = store_gguf_file_type(cl->g);
    /* Upstream reads a missing general.file_type (and F32's 0) as unknown
     * and refuses; the weights themselves say whether they are plain. */
    if (!strcmp(ft, "unknown")) ft = store_gguf_weights_type(cl->g);
    if (strcmp(ft, "F16") && strcmp(ft, "BF16") && strcmp(ft, "F32"))
        return oc_fail(c->err, "quantization is only supported for F16, BF16 and F32 models");
    if (!strcmp(ft, target)) return 0;
    if (!c->s->hooks.quantize) return oc_fail(c->err, "quantization is not available in this build");
    return run_quantizer(c, cl, ft, upper, target);
}

static void set_default(char **field, const char *v) {
    if (!*field || !**field) {
        free(*field);
        *field = oc_strdup(v);
    }
}

/* Built-in renderer/parser for some architectures (gemma4 also gets a
 * default stop). */
static void arch_defaults(cctx *c, const char *arch) {
    if (c->cfg.renderer && *c->cfg.renderer && c->cfg.parser && *c->cfg.parser) return;
    const char *rp = !strcmp(arch, "gemma4") ? "gemma4" : !strcmp(arch, "laguna") ? "laguna" : NULL;
    if (!strcmp(arch, "nemotron_h") || !strcmp(arch, "nemotron_h_moe") || !strcmp(arch, "nemotron_h_omni"))
        rp = "nemotron-3-nano";
    if (!rp) return;
    set_default(&c->cfg.renderer, rp);
    set_default(&c->cfg.parser, rp);
    if (!strcmp(arch, "gemma4") && !json_object_get(c->params, "stop"))
        json_object_set_new(c->params, "stop", json_pack("[s]", "<turn|>"));
}

static void model_layer_config(cctx *c, const gguf_file *g) {
    char *arch = store_gguf_str(g, "general.architecture", "unknown");
    char human[32];
    store_human_number(store_gguf_param_count(g), human, sizeof human);
    set_default(&c->cfg.model_format, "gguf");
    set_default(&c->cfg.model_family, arch);
    set_default(&c->cfg.model_type, human);
    set_default(&c->cfg.file_type, store_gguf_file_type(g));
    c->cfg.model_families = oc_realloc(c->cfg.model_families, (c->cfg.n_families + 1) * sizeof(char *));
    c->cfg.model_families[c->cfg.n_families++] = oc_strdup(arch);
    arch_defaults(c, arch);
    free(arch);
}

int create_gguf_config(cctx *c) {
    for (size_t i = 0; i < c->n; i++) {
        clayer *cl = &c->v[i];
        if (!cl->g) continue;
        bool model = !strcmp(cl->l.media_type, STORE_MT_MODEL);
        if (model && c->req->quantize && *c->req->quantize) {
            int rc = quantize_layer(c, cl);
            if (rc != 0) return rc;
        }
        if (model) model_layer_config(c, cl->g);
        if (!strcmp(cl->l.media_type, STORE_MT_DRAFT)) {
            c->cfg.has_draft = true;
            free(c->cfg.draft_model_format);
            free(c->cfg.draft_architecture);
            c->cfg.draft_model_format = oc_strdup("gguf");
            c->cfg.draft_architecture = store_gguf_str(cl->g, "general.architecture", "unknown");
        }
    }
    return 0;
}

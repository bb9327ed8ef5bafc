/* store: the Ollama-compatible model store ($OLLAMA_MODELS, default
 * $HOME/.ollama/models), byte-compatible with a store written by Ollama in
 * both directions (../shared/spec/store.md, modelfile.md).
 * Owns: model names (parse, validate, display, case folding onto what is on
 * disk, the manifest path of a name); the layout manifests/<host>/<ns>/
 * <model>/<tag> and blobs/sha256-<hex>; content-addressed blobs (hashed while
 * written to a temp file in blobs/, published by rename, never modified);
 * manifest and config-blob JSON encoded like Go's encoding/json; list, copy,
 * delete and start-up prune; resolving a name to its layers; the Modelfile
 * parser and PARAMETER typing; and `create` (a Modelfile or an /api/create
 * request becomes blobs plus a manifest, written last and atomically).
 * Not here: HTTP (server), pull/push (registry), prompt templates (chat) and
 * quantization (model); the last two plug in through store_hooks.
 *
 * Return values: 0 on success; on failure a negative enum store_status with
 * a message in err (the exact upstream text where the spec gives one), so a
 * server can map NOT_FOUND to 404, INVALID to 400 and ERR to 500.
 * Every function is safe to call from several threads: manifest writes,
 * deletes and prunes of all store handles in the process are serialised by
 * one mutex, and blobs appear only by rename of a complete, hashed file. */
#ifndef OLLAMA_STORE_H
#define OLLAMA_STORE_H

#include <jansson.h>

#include "base/base.h"

enum store_status {
    STORE_OK = 0,
    STORE_ERR = -1,           /* I/O or internal error */
    STORE_ERR_NOT_FOUND = -2, /* model or blob not found */
    STORE_ERR_INVALID = -3,   /* bad input: name, digest, Modelfile, request */
};

/* ---- media types (store.md §3.3) ---- */
#define STORE_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define STORE_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define STORE_MT_MODEL "application/vnd.ollama.image.model"
#define STORE_MT_ADAPTER "application/vnd.ollama.image.adapter"
#define STORE_MT_PROJECTOR "application/vnd.ollama.image.projector"
#define STORE_MT_DRAFT "application/vnd.ollama.image.draft"
#define STORE_MT_TEMPLATE "application/vnd.ollama.image.template"
#define STORE_MT_PROMPT "application/vnd.ollama.image.prompt" /* legacy template */
#define STORE_MT_SYSTEM "application/vnd.ollama.image.system"
#define STORE_MT_PARAMS "application/vnd.ollama.image.params"
#define STORE_MT_MESSAGES "application/vnd.ollama.image.messages"
#define STORE_MT_LICENSE "application/vnd.ollama.image.license"
#define STORE_MT_EMBED "application/vnd.ollama.image.embed"

/* ---- names (store.md §2) ---- */
#define STORE_DEFAULT_HOST "registry.ollama.ai"
#define STORE_DEFAULT_NAMESPACE "library"
#define STORE_DEFAULT_TAG "latest"
#define STORE_HOST_MAX 350
#define STORE_PART_MAX 80
#define STORE_SCHEME_MAX 15
/* Enough for any display form of a valid name, NUL included. */
#define STORE_NAME_BUF 600

typedef struct store_name {
    char scheme[STORE_SCHEME_MAX + 1]; /* "https" unless given; never in paths */
    char host[STORE_HOST_MAX + 1];
    char ns[STORE_PART_MAX + 1];
    char model[STORE_PART_MAX + 1];
    char tag[STORE_PART_MAX + 1];
} store_name;

/* Parses `[[scheme://]host/][namespace/]model[:tag]` right to left, fills
 * defaults and validates every part on bytes. Anything that is not a valid
 * name (empty pieces, bad characters, `..`, NUL, too long) gives
 * STORE_ERR_INVALID "invalid model name". */
int store_name_parse(const char *s, store_name *out, oc_error *err);
bool store_name_valid(const store_name *n);
/* Canonical "host/namespace/model:tag". */
void store_name_string(const store_name *n, char *buf, size_t size);
/* Short display: model:tag, namespace/model:tag, or host/namespace/model:tag. */
void store_name_display(const store_name *n, char *buf, size_t size);
/* "host/namespace/model/tag", the manifest path relative to manifests/. */
void store_name_filepath(const store_name *n, char *buf, size_t size);
/* Parses a 4-part relative manifest path; false if it is not a valid name. */
bool store_name_from_filepath(const char *rel, store_name *out);
bool store_name_equal_fold(const store_name *a, const store_name *b);

/* ---- the store ---- */
typedef struct store store;

/* Chat-template autodetection for imported GGUFs (modelfile.md §7); owned by
 * the chat module. Returns 1 and sets *name, *tmpl and (may stay NULL)
 * *stop_json (a JSON array of strings) on a match, 0 when nothing matches,
 * -1 on error. All outputs malloc'ed. */
typedef int (*store_detect_template_fn)(void *ud, const char *chat_template, char **name,
                                        char **tmpl, char **stop_json, oc_error *err);
/* Validates a Go template; -1 with the parser's message in err if invalid. */
typedef int (*store_check_template_fn)(void *ud, const char *tmpl, oc_error *err);
/* Progress of a quantization: done of total bytes of the input's tensors. */
typedef void (*store_quantize_progress_fn)(void *ctx, uint64_t done, uint64_t total);
/* Writes a copy of the GGUF in_path quantized to type ("Q4_K_M", ...),
 * reporting progress (which may be NULL) as it goes. */
typedef int (*store_quantize_fn)(void *ud, const char *in_path, const char *out_path, const char *type,
                                 store_quantize_progress_fn progress, void *progress_ctx, oc_error *err);

typedef struct store_hooks {
    store_detect_template_fn detect_template; /* NULL: no autodetection (TODO chat) */
    store_check_template_fn check_template;   /* NULL: every TEMPLATE accepted (TODO chat) */
    store_quantize_fn quantize; /* NULL: `create -q` fails (TODO model_quantize_file) */
    void *ud;
} store_hooks;

/* root NULL: store_default_root(). Nothing is created until written. */
store *store_open(const char *root, oc_error *err);
void store_close(store *s);
const char *store_root(const store *s);
void store_set_hooks(store *s, const store_hooks *hooks);
/* $OLLAMA_MODELS trimmed of spaces and quotes, else $HOME/.ollama/models. */
int store_default_root(char *buf, size_t size, oc_error *err);
/* Absolute manifest path of a name (whether or not it exists). */
int store_manifest_path(const store *s, const store_name *n, char *buf, size_t size, oc_error *err);
/* Replaces each part of n by the spelling of an existing manifest's part
 * that is equal ignoring case (store.md §2.3), preferring the manifest the
 * name already matches exactly; new names keep their case. */
void store_name_fold_existing(store *s, store_name *n);

/* ---- blobs ---- */
#define STORE_DIGEST_SIZE 72 /* "sha256:" + 64 hex + NUL */

/* ^sha256[:-][0-9a-fA-F]{64}$ */
bool store_digest_valid(const char *digest);
/* blobs/sha256-<hex> (':' mapped to '-'); STORE_ERR_INVALID "invalid digest format". */
int store_blob_path(const store *s, const char *digest, char *buf, size_t size, oc_error *err);
bool store_blob_exists(const store *s, const char *digest);

/* A blob being written: a temp file in blobs/ hashed as it grows. */
typedef struct store_blob_writer store_blob_writer;
store_blob_writer *store_blob_writer_new(store *s, oc_error *err);
int store_blob_writer_write(store_blob_writer *w, const void *data, size_t len, oc_error *err);
/* Syncs and hashes the data. If expect is given and differs: STORE_ERR_INVALID
 * `digest mismatch, expected "<expect>", got "<actual>"` and nothing is
 * published. Otherwise the file becomes blobs/sha256-<hex> (discarded if that
 * blob exists, whose mtime is then touched). Frees w in every case; digest,
 * size and created may be NULL. */
int store_blob_writer_commit(store_blob_writer *w, const char *expect, char digest[STORE_DIGEST_SIZE],
                             int64_t *size, bool *created, oc_error *err);
void store_blob_writer_abort(store_blob_writer *w);
int store_blob_write(store *s, const void *data, size_t len, const char *expect,
                     char digest[STORE_DIGEST_SIZE], bool *created, oc_error *err);
/* Reads fd to its end. */
int store_blob_write_fd(store *s, int fd, const char *expect, char digest[STORE_DIGEST_SIZE],
                        int64_t *size, bool *created, oc_error *err);
/* Hashes a file, then copies it in only if that blob is missing (what the
 * CLI's upload does); *created tells whether this call published it. */
int store_blob_import_file(store *s, const char *path, char digest[STORE_DIGEST_SIZE],
                           int64_t *size, bool *created, oc_error *err);

/* ---- manifests (store.md §3) ---- */
typedef struct store_layer {
    char *media_type; /* never NULL ("" when absent) */
    char *digest;     /* "sha256:<hex>" as written; never NULL */
    int64_t size;
    char *from;       /* NULL when absent or empty */
    char *name;       /* NULL when absent or empty */
} store_layer;

typedef struct store_manifest {
    int64_t schema_version;
    char *media_type;
    store_layer config;
    store_layer *layers;
    size_t n_layers;
    /* Filled when read from the store (zero otherwise): */
    char digest[65];  /* hex sha256 of the file's bytes (the model ID) */
    int64_t mtime_sec, mtime_nsec;
} store_manifest;

/* Decodes manifest JSON as Go does: unknown fields ignored, field names
 * matched ignoring case, null = zero value, trailing bytes ignored, wrong
 * types rejected. */
int store_manifest_parse(const void *data, size_t len, store_manifest *m, oc_error *err);
/* Compact JSON + "\n", Go field order and escaping. */
char *store_manifest_encode(const store_manifest *m, size_t *len);
void store_manifest_free(store_manifest *m);
/* Sum of layer sizes plus config size. */
int64_t store_manifest_size(const store_manifest *m);
/* STORE_ERR_NOT_FOUND "model '<short name>' not found". */
int store_manifest_read(store *s, const store_name *n, store_manifest *m, oc_error *err);
int store_manifest_read_raw(store *s, const store_name *n, char **data, size_t *len, oc_error *err);
/* Writes schemaVersion 2 with the given config and layers, atomically; every
 * referenced blob must exist. */
int store_manifest_write(store *s, const store_name *n, const store_layer *config,
                         const store_layer *layers, size_t n_layers, oc_error *err);
/* Writes bytes as received (a pull), after checking they parse and every
 * referenced blob exists. */
int store_manifest_write_raw(store *s, const store_name *n, const void *data, size_t len, oc_error *err);
/* Deletes the blobs of m that no manifest references any more (corrupt
 * manifests are skipped): what create and pull do with a replaced manifest. */
int store_remove_unused_layers(store *s, const store_manifest *m, oc_error *err);

/* ---- config blob (store.md §3.2) ---- */
typedef struct store_config {
    char *model_format, *model_family; /* never NULL after parse */
    char **model_families;             /* NULL with n_families 0 encodes as null */
    size_t n_families;
    char *model_type, *file_type;      /* never NULL after parse */
    char *renderer, *parser, *requires, *remote_host, *remote_model; /* NULL: omitted */
    char **capabilities;
    size_t n_capabilities;
    int64_t context_length, embedding_length;
    char *base_name;
    bool has_draft;
    char *draft_model_format, *draft_architecture, *draft_tensor_prefix, *draft_config;
    char *architecture, *os; /* "amd64", "linux" */
} store_config;

int store_config_parse(const void *data, size_t len, store_config *c, oc_error *err);
char *store_config_encode(const store_config *c, size_t *len);
void store_config_free(store_config *c);

/* ---- list, load, copy, delete, prune (store.md §4, §6) ---- */
typedef struct store_entry {
    store_name name;
    store_manifest manifest; /* digest and mtime set */
    int64_t size;
} store_entry;

/* Every valid manifest, in path order; corrupt ones and bad paths are
 * skipped with a warning. */
int store_list(store *s, store_entry **out, size_t *n, oc_error *err);
void store_list_free(store_entry *entries, size_t n);

typedef struct store_message {
    char *role, *content;
} store_message;

/* What a name resolves to; paths are absolute blob paths. */
typedef struct store_model {
    store_name name; /* after case folding */
    store_manifest manifest;
    store_config config; /* zero when the manifest has no config */
    char *model_path;    /* last model layer; NULL if none */
    char *parent_model;  /* its `from`; NULL if none */
    char *draft_path;
    char **adapter_paths;
    size_t n_adapters;
    char **projector_paths;
    size_t n_projectors;
    char *template_text; /* last template/prompt layer; NULL: none (default {{ .Prompt }}) */
    char *system;
    json_t *params;      /* params layer object; NULL if none */
    store_message *messages;
    size_t n_messages;
    char **licenses;
    size_t n_licenses;
} store_model;

int store_model_load(store *s, const store_name *n, store_model *m, oc_error *err);
void store_model_free(store_model *m);

/* Copies the source manifest byte for byte (atomically) after case folding;
 * same path: no-op. Missing source: STORE_ERR_NOT_FOUND `model "<src>" not found`. */
int store_copy(store *s, const store_name *src, const store_name *dst, oc_error *err);
/* Removes the manifest and empty manifest directories, then the blobs no
 * other manifest references (a corrupt manifest is removed too, freeing
 * nothing). STORE_ERR_NOT_FOUND "model '<name>' not found". */
int store_delete(store *s, const store_name *n, oc_error *err);
/* Start-up maintenance (store.md §6): renames blobs named sha256:<hex>; then,
 * unless OLLAMA_NOPRUNE is truthy and only if every manifest parses, deletes
 * blob files older than an hour that are not digests (partials, temp files)
 * or that no manifest references, and removes empty manifest directories. */
int store_prune(store *s, oc_error *err);

/* ---- Modelfile (modelfile.md §1–3) ---- */
typedef struct store_mf_command {
    char *name; /* "model" for FROM, the parameter name for PARAMETER, else lower-case */
    char *args; /* MESSAGE: "role: text" */
} store_mf_command;

typedef struct store_modelfile {
    store_mf_command *commands;
    size_t n;
} store_modelfile;

/* Parses UTF-8 (BOM skipped) or UTF-16 (by BOM) text with upstream's state
 * machine and error texts: "(line N): command must be one of ...",
 * "(line N): message role must be one of ...", "unexpected EOF[: text]",
 * "no FROM line" (all STORE_ERR_INVALID). */
int store_modelfile_parse(const void *data, size_t len, store_modelfile *mf, oc_error *err);
void store_modelfile_free(store_modelfile *mf);
/* One line per command, re-parseable (Go's Modelfile.String()). */
char *store_modelfile_format(const store_modelfile *mf);
/* Modelfile value quoting: "..." or """...""" only when needed. */
char *store_modelfile_quote(const char *s);

/* Converts one PARAMETER into its typed JSON value (int, float32, bool or a
 * one-string list for `stop`): "unknown parameter '<k>'",
 * "invalid int value [<v>]", ... (STORE_ERR_INVALID). */
int store_param_value(const char *name, const char *value, json_t **out, oc_error *err);
/* Adds a PARAMETER to an options object: `stop` accumulates, others replace;
 * deprecated names are dropped with a warning. */
int store_params_add(json_t *params, const char *name, const char *value, oc_error *err);
/* Go-compatible JSON encoding of any value (sorted keys, <>& escaped,
 * numbers as Go float64) plus "\n": the params/messages layer bytes. */
char *store_json_encode(const json_t *v, size_t *len, oc_error *err);

/* ---- create (modelfile.md §4) ---- */
typedef struct store_file_ref {
    char *name;                    /* clean relative path, e.g. "model.gguf" */
    char digest[STORE_DIGEST_SIZE];
} store_file_ref;

/* The /api/create request; every pointer is owned (store_create_req_free). */
typedef struct store_create_req {
    char *model;    /* target name */
    char *from;     /* base model name, or NULL */
    store_file_ref *files, *adapters, *draft_files;
    size_t n_files, n_adapters, n_draft_files;
    char *template_text, *system, *renderer, *parser, *requires, *quantize;
    char **licenses;
    size_t n_licenses;
    json_t *parameters; /* object or NULL */
    store_message *messages;
    size_t n_messages;
} store_create_req;

void store_create_req_free(store_create_req *r);
void store_create_req_add_file(store_file_ref **files, size_t *n, const char *name, const char *digest);

/* What the CLI does with a Modelfile (modelfile.md §2): FROM/ADAPTER/DRAFT
 * paths resolve against dir (~ expanded) and their files are imported as
 * blobs (a GGUF is validated first); a FROM that is no existing path is a
 * model name; PARAMETERs are typed; REQUIRES checked as semver. */
int store_create_req_from_modelfile(store *s, const store_modelfile *mf, const char *dir,
                                    store_create_req *req, oc_error *err);

/* Progress: status is one of upstream's lines ("parsing GGUF",
 * "using existing layer sha256:…", "creating new layer sha256:…",
 * "using autodetected template <name>", "quantizing F16 model to Q4_K_M",
 * "writing manifest", "success"); digest/total/completed only for progress bars. */
typedef void (*store_progress_fn)(void *ud, const char *status, const char *digest,
                                  int64_t total, int64_t completed);

/* Builds the model: base layers, config blob, metadata layers, then the
 * manifest last and atomically, then (unless OLLAMA_NOPRUNE) the blobs of
 * the name's previous manifest that nothing references. On failure nothing
 * is published: no manifest, no temp files, no new unreferenced blobs. */
int store_create(store *s, const store_create_req *req, store_progress_fn progress, void *ud,
                 oc_error *err);

/* store_create_req_from_modelfile then store_create (the CLI's local
 * `create`); on failure the blobs it imported are removed again unless
 * something references them. quantize may be NULL. */
int store_create_from_modelfile(store *s, const char *model, const store_modelfile *mf, const char *dir,
                                const char *quantize, store_progress_fn progress, void *ud, oc_error *err);

/* ---- show (store.md §5.3, §5.4) ---- */
/* /api/show's `modelfile`: the three comment lines naming the short name,
 * then FROM, ADAPTER, DRAFT, projector FROMs, TEMPLATE (the model's, or
 * {{ .Prompt }}), SYSTEM, RENDERER, PARSER, PARAMETER lines sorted by name
 * (one per list element; integral numbers as integers), LICENSE, MESSAGE.
 * system and params override the model's when not NULL (request `system`,
 * parameters merged with request `options`). */
char *store_model_modelfile(const store_model *m, const char *system, const json_t *params);
/* /api/show's `parameters`: "%-30s %#v" lines sorted by name, no final newline. */
char *store_params_text(const json_t *params);

/* ---- GGUF facts used by create and show ---- */
/* modelfile.md §4.1: 15 -> "Q4_K_M"; unknown -> "unknown". */
const char *store_file_type_name(int64_t file_type);
/* store.md §5.1: 8030261248 -> "8.0B", 136727040 -> "136.73M". */
void store_human_number(uint64_t n, char *buf, size_t size);

#endif

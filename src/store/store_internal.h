/* Internals shared by the store's source files. */
#ifndef OLLAMA_STORE_INTERNAL_H
#define OLLAMA_STORE_INTERNAL_H

#include <limits.h>
#include <pthread.h>

#include "store/store.h"

struct store {
    char *root;
    store_hooks hooks;
};

/* One process-wide lock around manifest writes, deletes and prunes, so a
 * delete never frees a blob that a concurrent create is about to reference. */
void store_lock(void);
void store_unlock(void);

/* Environment as upstream reads it: trimmed of spaces, then of quotes. */
char *store_env(const char *key); /* malloc'ed, NULL when empty */
bool store_env_bool(const char *key);

/* root/sub, malloc'ed. */
char *store_join(const char *a, const char *b);
/* mkdir -p with mode 0755. */
int store_mkdirs(const char *path, oc_error *err);
/* root/manifests and root/blobs (created when create is true). */
char *store_manifests_dir(const store *s, bool create, oc_error *err);
char *store_blobs_dir(const store *s, bool create, oc_error *err);
/* Sets a file's mtime to now (blobs in use stay clear of the prune grace). */
void store_touch(const char *path);

/* Removes empty directories under (and including) path, bottom-up. */
void store_prune_dirs(const char *path);

/* Every manifest on disk, parsed (corrupt ones skipped unless strict, which
 * makes the first bad one an error). Caller frees with store_list_free. */
int store_scan(store *s, bool strict, store_entry **out, size_t *n, oc_error *err);
/* Only the names of the manifest files (nothing read): for case folding. */
int store_scan_names(store *s, store_entry **out, size_t *n);
/* Blob digests referenced by any valid manifest, as a sorted array of
 * normalised "sha256:<hex>" strings. */
int store_referenced(store *s, char ***out, size_t *n, oc_error *err);
bool store_digest_in(char **sorted, size_t n, const char *digest);
void store_strv_free(char **v, size_t n);
/* Normalises a valid digest to "sha256:<hex>" (hex case kept). */
void store_digest_norm(const char *digest, char out[STORE_DIGEST_SIZE]);
/* Deletes each listed blob no manifest references (call with the lock held). */
void store_delete_unreferenced(store *s, char **digests, size_t n);

/* Parses, checks every referenced blob exists, writes atomically; the
 * caller holds the lock. */
int store_manifest_write_locked(store *s, const store_name *n, const void *data, size_t len, oc_error *err);

/* Go encoding/json helpers (compact, HTML-safe). */
void store_gj_string(oc_buf *b, const char *s, size_t len);
void store_gj_cstr(oc_buf *b, const char *s);
/* strconv.FormatFloat as encoding/json does for float64 ('f' or 'e'). */
int store_gj_float64(oc_buf *b, double v);
/* Any Jansson value as Go encodes the `any` it decodes to. */
int store_gj_value(oc_buf *b, const json_t *v, oc_error *err);
/* Jansson parse with Go's leniency (trailing data ignored). */
json_t *store_json_parse(const void *data, size_t len, oc_error *err);

/* Shortest decimal that round-trips the float32 v, in Go float64 layout. */
void store_float32_string(float v, char *buf, size_t size);

/* strconv.IsPrint (modelfile.c). */
bool store_is_print(uint32_t r);

/* Modelfile helpers (params.c). */
bool store_param_deprecated(const char *name);
bool store_semver_valid(const char *v);

/* Builds layer objects. */
void store_layer_set(store_layer *l, const char *media_type, const char *digest, int64_t size,
                     const char *from, const char *name);
void store_layer_clear(store_layer *l);
void store_layer_copy(store_layer *dst, const store_layer *src);

#endif

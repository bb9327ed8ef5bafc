/* State shared by the two halves of create: create_base.c (weight layers)
 * and create.c (metadata layers, config, manifest). */
#ifndef OLLAMA_STORE_CREATE_INTERNAL_H
#define OLLAMA_STORE_CREATE_INTERNAL_H

#include "store/store_ggufinfo.h"
#include "store/store_internal.h"

typedef struct clayer {
    store_layer l;
    char *status; /* progress line for this layer, or NULL */
    gguf_file *g; /* open for GGUF layers (model, adapter, projector, draft) */
} clayer;

typedef struct cctx {
    store *s;
    const store_create_req *req;
    store_progress_fn progress;
    void *ud;
    oc_error *err;
    store_name name;
    clayer *v;
    size_t n;
    store_config cfg;
    json_t *params;   /* the request's parameters, plus defaults create adds */
    char **fresh;     /* blobs this create published (removed again on failure) */
    size_t n_fresh;
} cctx;

void create_emit(cctx *c, const char *status, const char *digest, int64_t total, int64_t completed);
clayer *create_push(cctx *c);
/* NewLayerFromLayer: an existing blob becomes a layer. */
int create_layer_from_blob(cctx *c, clayer *cl, const char *digest, const char *mt, const char *from);
/* NewLayer: bytes become a blob (new or shared) and a layer. */
int create_layer_from_bytes(cctx *c, const void *data, size_t len, const char *mt);
/* Records a blob this create published. */
void create_fresh(cctx *c, const char *digest);

/* Weight layers: from a model, from files, adapters, drafts; then the
 * per-layer GGUF work (quantize, config fields). */
int create_base_layers(cctx *c);
int create_gguf_config(cctx *c);

#endif

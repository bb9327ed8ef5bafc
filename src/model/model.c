/* model: loading a GGUF model — hyper-parameters, tensor binding by name
 * with shape checks, KV cache and scratch allocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/model_internal.h"

model_params model_default_params(void) {
    return (model_params){.n_ctx = 0, .n_batch = 512, .n_threads = 0, .n_seq = 1, .kv_type = TENSOR_F16};
}

static int arch_int(const gguf_file *f, const char *arch, const char *key, int64_t def) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    return (int)gguf_get_int(f, full, def);
}

static float arch_float(const gguf_file *f, const char *arch, const char *key, double def) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    return (float)gguf_get_float(f, full, def);
}

static int read_hparams(model *m, oc_error *err) {
    model_hparams *hp = &m->hp;
    const gguf_file *f = m->gguf;
    char *arch = gguf_get_string(f, "general.architecture");
    if (!arch) return oc_fail(err, "missing general.architecture");
    snprintf(hp->arch, sizeof hp->arch, "%s", arch);
    free(arch);
    model_compat_detect(m);
    bool bert = model_is_bert(hp->arch);
    hp->encoder = bert || strcmp(hp->arch, "gemma-embedding") == 0;
    if (!bert && !model_arch_supported(hp->arch))
        return oc_fail(err, "unsupported model architecture '%s'", hp->arch);
    const char *a = m->kv_arch;
    hp->pooling = (enum model_pooling)arch_int(f, a, "pooling_type", hp->encoder ? POOLING_CLS : POOLING_NONE);
    if (hp->pooling > POOLING_LAST) return oc_fail(err, "unsupported pooling type %d", (int)hp->pooling);
    hp->n_embd = arch_int(f, a, "embedding_length", 0);
    hp->n_layer = arch_int(f, a, "block_count", 0);
    hp->n_head = arch_int(f, a, "attention.head_count", 0);
    hp->n_head_kv = arch_int(f, a, "attention.head_count_kv", hp->n_head);
    hp->n_ff = arch_int(f, a, "feed_forward_length", 0);
    hp->n_ctx_train = arch_int(f, a, "context_length", 2048);
    hp->norm_eps = bert ? arch_float(f, a, "attention.layer_norm_epsilon", 1e-12)
                               : arch_float(f, a, "attention.layer_norm_rms_epsilon", 1e-5);
    hp->rope_base = arch_float(f, a, "rope.freq_base", 10000.0);
    if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 || hp->n_ff <= 0 ||
        hp->n_layer > 4096 || hp->n_embd > 1 << 20 || hp->n_ff > 1 << 22 || hp->n_head > 4096)
        return oc_fail(err, "invalid hyper-parameters (embedding %d, layers %d, heads %d/%d, ffn %d)",
                       hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->n_ff);
    if (hp->n_head % hp->n_head_kv != 0)
        return oc_fail(err, "head count %d is not a multiple of kv head count %d", hp->n_head, hp->n_head_kv);
    hp->head_dim = arch_int(f, a, "attention.key_length", hp->n_embd / hp->n_head);
    hp->n_rot = arch_int(f, a, "rope.dimension_count", hp->head_dim);
    if (hp->head_dim <= 0 || hp->head_dim > 1024 || hp->n_rot <= 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return oc_fail(err, "invalid head size %d / rope dimensions %d", hp->head_dim, hp->n_rot);
    hp->rope_scale = 1.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a);
    char *scaling = gguf_get_string(f, key);
    if (scaling && strcmp(scaling, "linear") == 0) {
        float factor = arch_float(f, a, "rope.scaling.factor", 1.0);
        if (factor > 0) hp->rope_scale = factor;
    }
    free(scaling);
    model_compat_hparams(m);
    return model_arch_hparams(m, err);
}

/* Binds a 2-D weight and checks its shape; type must have a vec_dot. */
int model_bind_weight(model *m, weight *w, const char *name, int n_in, int n_out, bool optional, oc_error *err) {
    const gguf_tensor *t = model_find_tensor(m, name);
    if (!t) {
        if (optional) return 0;
        return oc_fail(err, "missing tensor '%s'", name);
    }
    if (t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != 1 || t->ne[3] != 1)
        return oc_fail(err, "tensor '%s' has shape [%lld, %lld], expected [%d, %d]", name,
                       (long long)t->ne[0], (long long)t->ne[1], n_in, n_out);
    const tensor_traits *tr = tensor_get_traits((enum tensor_type)t->type);
    if (!tr || !tr->vec_dot || !tr->to_float)
        return oc_fail(err, "tensor '%s' has unsupported type %s", name, tensor_type_name((enum tensor_type)t->type));
    *w = (weight){.data = t->data, .type = (enum tensor_type)t->type, .n_in = n_in, .n_out = n_out};
    return 0;
}

/* Loads a 1-D vector as an owned F32 copy (norms and biases are small). */
int model_bind_vector(model *m, float **out, const char *name, int n, bool optional, oc_error *err) {
    *out = NULL;
    const gguf_tensor *t = model_find_tensor(m, name);
    if (!t) return optional ? 0 : oc_fail(err, "missing tensor '%s'", name);
    if (t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1)
        return oc_fail(err, "tensor '%s' has %lld elements, expected %d", name, (long long)t->ne[0], n);
    const tensor_traits *tr = tensor_get_traits((enum tensor_type)t->type);
    if (!tr || !tr->to_float)
        return oc_fail(err, "tensor '%s' has unsupported type %s", name, tensor_type_name((enum tensor_type)t->type));
    *out = oc_malloc((size_t)n * sizeof(float));
    tr->to_float(t->data, *out, n);
    return 0;
}

#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d.%s", il, suffix), name)

/* The feed-forward of layer il: dense (gate, up, down; phi3 fuses gate and
 * up) or a mixture of experts (moe.c). */
static int bind_ffn(model *m, int il, oc_error *err) {
    const model_hparams *hp = &m->hp;
    layer *L = &m->layers[il];
    char name[96];
    /* gpt-oss calls its pre-FFN norm post_attention_norm. */
    const char *norm = strcmp(hp->arch, "gpt-oss") == 0 ? "post_attention_norm.weight" : "ffn_norm.weight";
    if (model_bind_vector(m, &L->ffn_norm, NAME(norm), hp->n_embd, false, err)) return -1;
    if (model_find_tensor(m, NAME("ffn_gate_inp.weight"))) {
        if (hp->n_expert <= 0) return oc_fail(err, "layer %d has experts but the model has no expert_count", il);
        return model_moe_bind(m, il, err);
    }
    L->up_fused = !model_find_tensor(m, NAME("ffn_gate.weight"));
    if ((!L->up_fused && model_bind_weight(m, &L->w_gate, NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, false, err)) ||
        model_bind_weight(m, &L->w_up, NAME("ffn_up.weight"), hp->n_embd, hp->n_ff * (L->up_fused ? 2 : 1), false, err) ||
        model_bind_weight(m, &L->w_down, NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, false, err))
        return -1;
    return 0;
}

static int bind_layer(model *m, int il, oc_error *err) {
    const model_hparams *hp = &m->hp;
    layer *L = &m->layers[il];
    int q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
    char name[96];
    /* phi3 (and Ollama's gpt-oss conversion) fuse q, k, v into one matrix. */
    if (model_bind_weight(m, &L->wqkv, NAME("attn_qkv.weight"), hp->n_embd, q_dim + 2 * kv_dim, true, err) ||
        model_bind_vector(m, &L->bqkv, NAME("attn_qkv.bias"), q_dim + 2 * kv_dim, true, err))
        return -1;
    bool sep = !L->wqkv.data;
    if (model_bind_vector(m, &L->attn_norm, NAME("attn_norm.weight"), hp->n_embd, false, err) ||
        (sep && model_bind_weight(m, &L->wq, NAME("attn_q.weight"), hp->n_embd, q_dim, false, err)) ||
        (sep && model_bind_weight(m, &L->wk, NAME("attn_k.weight"), hp->n_embd, kv_dim, false, err)) ||
        (sep && model_bind_weight(m, &L->wv, NAME("attn_v.weight"), hp->n_embd, kv_dim, false, err)) ||
        model_bind_weight(m, &L->wo, NAME("attn_output.weight"), q_dim, hp->n_embd, false, err) ||
        model_bind_vector(m, &L->bq, NAME("attn_q.bias"), q_dim, true, err) ||
        model_bind_vector(m, &L->bk, NAME("attn_k.bias"), kv_dim, true, err) ||
        model_bind_vector(m, &L->bv, NAME("attn_v.bias"), kv_dim, true, err) ||
        model_bind_vector(m, &L->bo, NAME("attn_output.bias"), hp->n_embd, true, err) || bind_ffn(m, il, err))
        return -1;
    return model_arch_bind_layer(m, il, err);
}
#undef NAME

static int bind_tensors(model *m, oc_error *err) {
    const model_hparams *hp = &m->hp;
    if (model_is_bert(hp->arch)) return model_bert_bind(m, err);
    if (model_bind_weight(m, &m->tok_embd, "token_embd.weight", hp->n_embd, hp->n_vocab, false, err) ||
        model_bind_vector(m, &m->output_norm, "output_norm.weight", hp->n_embd, false, err) ||
        model_bind_weight(m, &m->output, "output.weight", hp->n_embd, hp->n_vocab, true, err) ||
        model_bind_vector(m, &m->rope_freqs, "rope_freqs.weight", hp->n_rot / 2, true, err) ||
        model_bind_vector(m, &m->rope_short, "rope_factors_short.weight", hp->n_rot / 2, true, err) ||
        model_bind_vector(m, &m->rope_long, "rope_factors_long.weight", hp->n_rot / 2, true, err))
        return -1;
    if (!m->output.data) m->output = m->tok_embd; /* tied embeddings */
    m->layers = oc_calloc((size_t)hp->n_layer, sizeof(layer));
    for (int il = 0; il < hp->n_layer; il++)
        if (bind_layer(m, il, err)) return -1;
    return model_arch_bind_model(m, err);
}

static size_t max_scratch(const model *m, int n_batch) {
    const model_hparams *hp = &m->hp;
    size_t best = tensor_matmul_scratch_size(m->output.type, hp->n_embd, 1);
    const weight *dense[] = {&m->dense_2, &m->dense_3};
    for (int i = 0; i < 2; i++) {
        size_t s = dense[i]->data ? tensor_matmul_scratch_size(dense[i]->type, dense[i]->n_in, n_batch) : 0;
        if (s > best) best = s;
    }
    for (int il = 0; il < hp->n_layer; il++) {
        const layer *L = &m->layers[il];
        const weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
            if (!ws[i]->data) continue;
            size_t s = tensor_matmul_scratch_size(ws[i]->type, ws[i]->n_in, n_batch);
            if (s > best) best = s;
        }
    }
    size_t moe = model_moe_scratch(m, n_batch);
    return moe > best ? moe : best;
}

/* Floats per token of hb and hb2: n_ff, or more where they also take a
 * fused qkv output (hb) or a fused gate-up output (hb2). */
static size_t hidden_width(const model *m) {
    const model_hparams *hp = &m->hp;
    size_t w = (size_t)hp->n_ff, qkv = (size_t)(hp->n_head + 2 * hp->n_head_kv) * (size_t)hp->head_dim;
    for (int il = 0; m->layers && il < hp->n_layer; il++) {
        if (m->layers[il].up_fused && 2 * (size_t)hp->n_ff > w) w = 2 * (size_t)hp->n_ff;
        if (m->layers[il].wqkv.data && qkv > w) w = qkv;
    }
    return w;
}

static int alloc_state(model *m, oc_error *err) {
    const model_hparams *hp = &m->hp;
    model_params *p = &m->params;
    int q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
    kv_cache *kv = &m->kv;
    kv->type = p->kv_type;
    kv->row_bytes = tensor_row_size(kv->type, kv_dim);
    kv->head_bytes = tensor_row_size(kv->type, hp->head_dim);
    if (!kv->row_bytes || !kv->head_bytes)
        return oc_fail(err, "KV cache type %s does not fit head size %d", tensor_type_name(kv->type), hp->head_dim);
    kv->cap = oc_malloc((size_t)hp->n_layer * sizeof(int));
    kv->row0 = oc_malloc((size_t)hp->n_layer * sizeof(size_t));
    kv->max_pos = oc_malloc((size_t)p->n_seq * sizeof(int));
    size_t rows = 0;
    for (int il = 0; il < hp->n_layer; il++) {
        bool ring = m->layers[il].swa && hp->n_swa > 0 && !p->swa_full && !hp->encoder;
        kv->cap[il] = p->n_ctx;
        if (ring && hp->n_swa < p->n_ctx && hp->n_swa + p->n_batch - 1 < p->n_ctx)
            kv->cap[il] = hp->n_swa + p->n_batch - 1;
        kv->row0[il] = rows;
        rows += (size_t)p->n_seq * (size_t)kv->cap[il];
    }
    for (int s = 0; s < p->n_seq; s++) kv->max_pos[s] = -1;
    kv->bytes = rows * kv->row_bytes;
    kv->ckpt_pos = oc_malloc((size_t)p->n_seq * sizeof(int));
    kv->ckpt_limit = oc_calloc((size_t)p->n_seq, sizeof(int));
    for (int s = 0; s < p->n_seq; s++) kv->ckpt_pos[s] = -1;
    for (int il = 0; il < hp->n_layer; il++)
        if (kv->cap[il] < p->n_ctx) kv->ckpt_bytes += 2 * (size_t)kv->cap[il] * kv->row_bytes;
    kv->ckpt = kv->ckpt_bytes ? oc_malloc((size_t)p->n_seq * kv->ckpt_bytes) : NULL;
    kv->k = oc_aligned_alloc(kv->bytes);
    kv->v = oc_aligned_alloc(kv->bytes);
    memset(kv->k, 0, kv->bytes);
    memset(kv->v, 0, kv->bytes);

    scratch *s = &m->s;
    size_t nb = (size_t)p->n_batch;
    s->x = oc_aligned_alloc(nb * hp->n_embd * sizeof(float));
    s->xb = oc_aligned_alloc(nb * hp->n_embd * sizeof(float));
    s->q = oc_aligned_alloc(nb * q_dim * sizeof(float));
    s->att = oc_aligned_alloc(nb * q_dim * sizeof(float));
    s->k = oc_aligned_alloc(nb * kv_dim * sizeof(float));
    s->v = oc_aligned_alloc(nb * kv_dim * sizeof(float));
    s->hb = oc_aligned_alloc(nb * hidden_width(m) * sizeof(float));
    s->hb2 = oc_aligned_alloc(nb * hidden_width(m) * sizeof(float));
    s->logits = oc_aligned_alloc((size_t)hp->n_vocab * sizeof(float));
    if (m->dense_2.data) s->dense = oc_aligned_alloc(nb * (size_t)m->dense_2.n_out * sizeof(float));
    s->out_rows = oc_malloc(nb * sizeof(int32_t));
    s->runs = oc_malloc(nb * sizeof(struct run));
    s->quant_bytes = max_scratch(m, p->n_batch);
    model_moe_alloc(m);
    s->quant = oc_aligned_alloc(s->quant_bytes);
    s->rope_cos = oc_aligned_alloc(nb * (hp->n_rot / 2) * sizeof(float));
    s->rope_sin = oc_aligned_alloc(nb * (hp->n_rot / 2) * sizeof(float));
    if (hp->n_swa > 0 && (hp->rope_base_swa != hp->rope_base || hp->rope_scale_swa != hp->rope_scale)) {
        s->rope_cos_swa = oc_aligned_alloc(nb * (hp->n_rot / 2) * sizeof(float));
        s->rope_sin_swa = oc_aligned_alloc(nb * (hp->n_rot / 2) * sizeof(float));
    }
    /* Phi-3.5 long-rope: the long factors once the context passes the
     * original one, as llama.cpp chooses them: by its context rounded up to
     * a multiple of 256. */
    if (m->rope_short || m->rope_long) {
        free(m->rope_freqs);
        bool use_long = m->rope_long && (p->n_ctx + 255) / 256 * 256 > hp->n_ctx_orig;
        m->rope_freqs = use_long ? m->rope_long : m->rope_short;
        if (use_long) m->rope_long = NULL; else m->rope_short = NULL;
    }
    int nth = tensor_pool_size(m->pool);
    s->attn_tmp = oc_calloc((size_t)nth, sizeof(float *));
    for (int i = 0; i < nth; i++)
        s->attn_tmp[i] = oc_aligned_alloc(model_attn_tmp_floats(p->n_ctx, hp->head_dim) * sizeof(float));
    return 0;
}

void model_matmul(model *m, const weight *w, const float *x, float *y, int n) {
    if (w->packed) tensor_matmul_packed(m->pool, w->packed, w->type, x, y, w->n_in, w->n_out, n, m->s.quant);
    else tensor_matmul(m->pool, w->data, w->type, x, y, w->n_in, w->n_out, n, m->s.quant);
}

bool model_same_layout(const weight *a, const weight *b) {
    return a->type == b->type && a->n_in == b->n_in && a->n_out == b->n_out && !a->packed == !b->packed;
}

/* a = wa x and b = wb x: in one pass over the pool, x quantized once,
 * where the two matrices share a shape, type and layout (a feed-forward's
 * gate and up). */
void model_matmul_pair(model *m, const weight *wa, const weight *wb, const float *x, float *a, float *b, int n) {
    if (!model_same_layout(wa, wb)) {
        model_matmul(m, wa, x, a, n);
        model_matmul(m, wb, x, b, n);
        return;
    }
    const tensor_mm_group g[2] = {{wa->packed ? wa->packed : wa->data, a, 0, n},
                                  {wb->packed ? wb->packed : wb->data, b, 0, n}};
    tensor_matmul_groups(m->pool, wa->type, wa->packed, x, n, wa->n_in, wa->n_out, g, 2, m->s.quant);
}

/* Gives the mapped pages of [p, p + len) back: after packing the forward
 * pass never reads them, and they would count twice in the process's
 * resident memory. Only whole pages inside the range, and only for an
 * mmapped file (a caller's buffer would be zeroed). */
static void release_pages(const gguf_file *f, const void *p, size_t len) {
    if (!f->mapped) return;
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1), b = ((uintptr_t)p + len) & ~(uintptr_t)(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* The weights packed at load: every layer matrix, each expert's matrices
 * and the output projection whose type and shape have a packed layout
 * (the small dense heads stay in place). A tied output shares its rows
 * with the token embeddings: their pages are given back too, and the few
 * rows a batch looks up come back from the page cache. */
static size_t packable(const weight *w) {
    return w->data ? tensor_packed_size(w->type, w->n_in, w->n_out) : 0;
}

/* A weight to pack: count matrices stride bytes apart in the file (the
 * experts of a layer), packed one after another. */
typedef struct pack_item {
    weight *w;
    int count;
    size_t stride;
} pack_item;

/* The matrices of a layer that may be packed: the dense ones, and three
 * expert tensors. */
#define LAYER_DENSE 8
#define LAYER_MATRICES (LAYER_DENSE + 3)

static int packable_weights(model *m, pack_item *out) {
    int n = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        layer *L = &m->layers[il];
        weight *ws[LAYER_DENSE] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wqkv, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < LAYER_DENSE; i++)
            if (packable(ws[i])) out[n++] = (pack_item){ws[i], 1, 0};
        experts *x = L->moe;
        if (!x) continue;
        pack_item exps[] = {{&x->gate, m->hp.n_expert, x->gate_stride}, {&x->up, m->hp.n_expert, x->up_stride},
                            {&x->down, m->hp.n_expert, x->down_stride}};
        for (int i = 0; i < 3; i++)
            if (packable(exps[i].w)) out[n++] = exps[i];
    }
    if (packable(&m->output)) out[n++] = (pack_item){&m->output, 1, 0};
    return n;
}

static size_t packed_item_bytes(const pack_item *it) {
    return (packable(it->w) * (size_t)it->count + 63) & ~(size_t)63;
}

/* One arena for all of them. (Transparent huge pages for it made no
 * measurable difference to decoding on the 2-core test machine, nor to
 * loading 3.4 GB of experts, whose time is the kernel zeroing fresh
 * pages; so it takes what the allocator gives.) Without the memory, the weights stay
 * in place. */
static void pack_weights(model *m) {
    if (m->params.no_pack) return;
    pack_item *items = oc_malloc(sizeof *items * ((size_t)m->hp.n_layer * LAYER_MATRICES + 1));
    const int n = packable_weights(m, items);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += packed_item_bytes(&items[i]);
    void *arena = NULL;
    if (n == 0 || posix_memalign(&arena, 64, total) != 0) {
        free(items);
        return;
    }
    uint8_t *at = arena;
    for (int i = 0; i < n; i++) {
        weight *w = items[i].w;
        const size_t size = packable(w), rows_bytes = tensor_row_size(w->type, w->n_in) * (size_t)w->n_out;
        for (int e = 0; e < items[i].count; e++) {
            const uint8_t *src = (const uint8_t *)w->data + (size_t)e * items[i].stride;
            tensor_pack(m->pool, w->type, src, at + (size_t)e * size, w->n_in, w->n_out);
            release_pages(m->gguf, src, rows_bytes);
        }
        w->packed = at;
        at += packed_item_bytes(&items[i]);
    }
    m->packed = arena;
    m->packed_bytes = total;
    free(items);
}

static void resolve_params(model *m, const model_params *in) {
    model_params p = in ? *in : model_default_params();
    if (p.n_ctx <= 0) p.n_ctx = 4096;
    /* As upstream: never beyond the trained context (for encoders, the
     * position table). */
    if (p.n_ctx > m->hp.n_ctx_train && m->hp.n_ctx_train > 0) p.n_ctx = m->hp.n_ctx_train;
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads <= 0) p.n_threads = oc_physical_cores();
    if (p.n_seq <= 0) p.n_seq = 1;
    if (p.kv_type != TENSOR_F32 && p.kv_type != TENSOR_Q8_0) p.kv_type = TENSOR_F16;
    m->params = p;
}

model *model_load(const char *path, const model_params *p, oc_error *err) {
    tensor_init();
    model *m = oc_calloc(1, sizeof *m);
    m->gguf = gguf_open(path, err);
    if (!m->gguf) goto fail;
    if (read_hparams(m, err)) goto fail;
    model_compat_tokenizer(m);
    m->tok = tokenizer_load(m->gguf, err);
    if (!m->tok) goto fail;
    m->hp.n_vocab = tokenizer_n_vocab(m->tok);
    model_compat_vocab(m);
    if (bind_tensors(m, err)) goto fail;
    resolve_params(m, p);
    m->pool = tensor_pool_new(m->params.n_threads);
    if (alloc_state(m, err)) goto fail;
    pack_weights(m);
    return m;
fail:
    oc_error_prefix(err, "load %s", path);
    model_free(m);
    return NULL;
}

static void free_layers(model *m) {
    if (!m->layers) return;
    for (int il = 0; il < m->hp.n_layer; il++) {
        layer *L = &m->layers[il];
        free(L->attn_norm); free(L->ffn_norm);
        free(L->bq); free(L->bk); free(L->bv); free(L->bo);
        free(L->attn_out_norm); free(L->attn_out_norm_b); free(L->out_norm); free(L->out_norm_b);
        free(L->b_up); free(L->b_down);
        free(L->q_norm); free(L->k_norm); free(L->attn_post_norm); free(L->ffn_post_norm); free(L->attn_sinks); free(L->bqkv);
    }
    free(m->layers);
}

void model_free(model *m) {
    if (!m) return;
    scratch *s = &m->s;
    if (s->attn_tmp)
        for (int i = 0; i < tensor_pool_size(m->pool); i++) oc_aligned_free(s->attn_tmp[i]);
    free(s->attn_tmp);
    float *bufs[] = {s->x, s->xb, s->q, s->att, s->k, s->v, s->hb, s->hb2, s->logits, s->rope_cos, s->rope_sin,
                     s->rope_cos_swa, s->rope_sin_swa, s->dense};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) oc_aligned_free(bufs[i]);
    oc_aligned_free(s->quant);
    free(s->out_rows);
    free(s->runs);
    oc_aligned_free(m->kv.k);
    oc_aligned_free(m->kv.v);
    free(m->kv.cap);
    free(m->kv.row0);
    free(m->kv.max_pos);
    free(m->kv.ckpt);
    free(m->kv.ckpt_pos);
    free(m->kv.ckpt_limit);
    model_moe_free(m);
    free_layers(m);
    free(m->packed);
    free(m->output_norm);
    free(m->rope_freqs);
    free(m->rope_short);
    free(m->rope_long);
    free(m->pos_embd); free(m->type_embd); free(m->embd_norm); free(m->embd_norm_b);
    tensor_pool_free(m->pool);
    tokenizer_free(m->tok);
    gguf_close(m->gguf);
    free(m);
}

const model_hparams *model_hparams_of(const model *m) { return &m->hp; }
const tokenizer *model_tokenizer(const model *m) { return m->tok; }
const gguf_file *model_gguf(const model *m) { return m->gguf; }
int model_n_ctx(const model *m) { return m->params.n_ctx; }
int model_n_threads(const model *m) { return tensor_pool_size(m->pool); }

int model_n_seq(const model *m) { return m->params.n_seq; }
int model_n_batch(const model *m) { return m->params.n_batch; }

size_t model_packed_bytes(const model *m) { return m->packed_bytes; }

bool model_kv_ring(const model *m, int il) { return m->kv.cap[il] < m->params.n_ctx; }

size_t model_kv_bytes(const model *m) { return 2 * m->kv.bytes + (size_t)m->params.n_seq * m->kv.ckpt_bytes; }

/* Going on at position n needs positions n - n_swa + 1 .. n - 1 of every
 * ring; the lowest of them is still in its row unless a position at
 * least cap above it was written since (which max_pos bounds). */
static bool rings_hold(const model *m, int max_pos, int n) {
    if (n <= 0) return true; /* a run from 0 needs nothing before it */
    int lowest = n - m->hp.n_swa + 1 > 0 ? n - m->hp.n_swa + 1 : 0;
    for (int il = 0; il < m->hp.n_layer; il++)
        if (model_kv_ring(m, il) && max_pos >= lowest + m->kv.cap[il]) return false;
    return true;
}

/* The point up to n that seq's checkpoint serves (it was taken with
 * positions up to ckpt_pos written, and serves up to its limit), or 0. */
static int checkpoint_point(const model *m, int seq, int n) {
    int pos = m->kv.ckpt_pos[seq], at = n < m->kv.ckpt_limit[seq] ? n : m->kv.ckpt_limit[seq];
    return pos >= 0 && at > 0 && rings_hold(m, pos, at) ? at : 0;
}

/* The live rings hold the window of n, or of no smaller point either. */
int model_kv_reusable(const model *m, int seq, int n) {
    if (n <= 0 || m->hp.encoder || seq < 0 || seq >= m->params.n_seq) return n > 0 ? n : 0;
    return rings_hold(m, m->kv.max_pos[seq], n) ? n : checkpoint_point(m, seq, n);
}

/* Copies seq's ring rows to (save) or from its checkpoint. */
static void checkpoint_copy(model *m, int seq, bool save) {
    uint8_t *at = m->kv.ckpt + (size_t)seq * m->kv.ckpt_bytes;
    for (int il = 0; il < m->hp.n_layer; il++) {
        if (!model_kv_ring(m, il)) continue;
        size_t off = model_kv_row(m, il, seq, 0), len = (size_t)m->kv.cap[il] * m->kv.row_bytes;
        uint8_t *k = m->kv.k + off, *v = m->kv.v + off;
        memcpy(save ? at : k, save ? k : at, len);
        memcpy(save ? at + len : v, save ? v : at + len, len);
        at += 2 * len;
    }
}

void model_kv_checkpoint(model *m, int seq) {
    if (!m->kv.ckpt || seq < 0 || seq >= m->params.n_seq) return;
    checkpoint_copy(m, seq, true);
    m->kv.ckpt_pos[seq] = m->kv.max_pos[seq];
    m->kv.ckpt_limit[seq] = m->kv.max_pos[seq] + 1;
}

int model_kv_resume(model *m, int seq, int n) {
    if (n <= 0 || m->hp.encoder || seq < 0 || seq >= m->params.n_seq) return n > 0 ? n : 0;
    if (rings_hold(m, m->kv.max_pos[seq], n)) return n;
    int at = checkpoint_point(m, seq, n);
    if (at == 0) return 0;
    checkpoint_copy(m, seq, false);
    m->kv.max_pos[seq] = m->kv.ckpt_pos[seq];
    return at;
}

/* After a batch: its runs' highest positions; a run from 0 starts over,
 * and a run from p leaves a checkpoint good only below p. */
static void note_positions(model *m, const model_batch *b) {
    for (int i = 0; i < b->n; i++) {
        int s = b->seq[i], *mp = &m->kv.max_pos[s];
        if (i == 0 || s != b->seq[i - 1]) { /* a run's first token */
            if (b->pos[i] == 0) *mp = -1;
            if (b->pos[i] < m->kv.ckpt_limit[s]) m->kv.ckpt_limit[s] = b->pos[i];
        }
        if (b->pos[i] > *mp) *mp = b->pos[i];
    }
}

/* Sequence ids index KV slots for decoders; encoders keep no cache, so
 * there they only label the inputs. */
static int check_batch(const model *m, const model_batch *b, oc_error *err) {
    int n_seq = m->hp.encoder ? INT32_MAX : m->params.n_seq;
    if (b->n <= 0) return oc_fail(err, "no tokens to evaluate");
    if (b->n > m->params.n_batch) return oc_fail(err, "batch of %d tokens exceeds n_batch %d", b->n, m->params.n_batch);
    for (int i = 0; i < b->n; i++) {
        if (b->tokens[i] < 0 || b->tokens[i] >= m->hp.n_vocab)
            return oc_fail(err, "token id %d out of range (vocabulary %d)", b->tokens[i], m->hp.n_vocab);
        if (b->seq[i] < 0 || b->seq[i] >= n_seq)
            return oc_fail(err, "sequence %d out of range (%d sequences)", b->seq[i], n_seq);
        if (b->pos[i] < 0 || b->pos[i] >= m->params.n_ctx)
            return oc_fail(err, "context window exceeded: position %d, context %d", b->pos[i], m->params.n_ctx);
        /* Runs: the same sequence continues at the next position. */
        if (i > 0 && b->seq[i] == b->seq[i - 1] && b->pos[i] != b->pos[i - 1] + 1)
            return oc_fail(err, "positions of sequence %d are not consecutive", b->seq[i]);
        for (int j = 0; j < i && b->seq[i] != b->seq[i - 1]; j++)
            if (b->seq[j] == b->seq[i]) return oc_fail(err, "sequence %d appears in two runs", b->seq[i]);
        if (!m->hp.encoder && (i == 0 || b->seq[i] != b->seq[i - 1]) &&
            !rings_hold(m, m->kv.max_pos[b->seq[i]], b->pos[i]))
            return oc_fail(err, "sequence %d cannot go on at position %d: its sliding-window cache holds later "
                                "positions (start again from 0)", b->seq[i], b->pos[i]);
    }
    return 0;
}

int model_decode(model *m, const model_batch *b, float *logits, oc_error *err) {
    if (m->hp.encoder) return oc_fail(err, "this model only produces embeddings");
    if (check_batch(m, b, err)) return -1;
    note_positions(m, b);
    model_llama_decode(m, b, logits);
    return 0;
}

int model_embed(model *m, const model_batch *b, float *out, oc_error *err) {
    if (!m->hp.encoder) return oc_fail(err, "this model does not produce embeddings");
    if (check_batch(m, b, err)) return -1;
    if (model_is_bert(m->hp.arch)) model_bert_embed(m, b, out);
    else model_llama_embed(m, b, out);
    return 0;
}

int model_eval(model *m, const int32_t *tokens, int n, int pos, float *logits, oc_error *err) {
    if (m->hp.encoder) return oc_fail(err, "this model only produces embeddings");
    if (n <= 0) return oc_fail(err, "no tokens to evaluate");
    if (pos < 0 || pos + n > m->params.n_ctx)
        return oc_fail(err, "context window exceeded: %d tokens at position %d, context %d", n, pos, m->params.n_ctx);
    int nb = m->params.n_batch;
    int32_t *pos_arr = oc_malloc((size_t)nb * sizeof(int32_t)), *seq_arr = oc_calloc((size_t)nb, sizeof(int32_t));
    int rc = 0;
    for (int done = 0; done < n && rc == 0; done += nb) {
        int chunk = n - done < nb ? n - done : nb;
        for (int i = 0; i < chunk; i++) pos_arr[i] = pos + done + i;
        model_batch b = {.n = chunk, .tokens = tokens + done, .pos = pos_arr, .seq = seq_arr};
        bool last = done + chunk == n;
        if (check_batch(m, &b, err)) rc = -1;
        else {
            note_positions(m, &b);
            model_llama_decode(m, &b, last ? logits : NULL);
        }
    }
    free(pos_arr);
    free(seq_arr);
    return rc;
}

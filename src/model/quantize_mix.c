/* model: the per-tensor type mixes of llama.cpp's named file types
 * (Q4_K_M, Q4_K_S, Q5_K_M, ... as llama-quantize and Ollama's
 * `create --quantize` make them): the output tensor at Q6_K, attn_v and
 * ffn_down one step up on the layers use_more_bits() picks, and the
 * architecture rules (8-expert MoE, 70B, fused qkv) that change them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

typedef struct scheme {
    const char *name;
    enum tensor_type base;
    int file_type;  /* llama_ftype written to general.file_type */
    bool quantized; /* false: F32/F16/BF16, no mix */
} scheme;

static const scheme SCHEMES[] = {
    {"F32", TENSOR_F32, 0, false},    {"F16", TENSOR_F16, 1, false},    {"BF16", TENSOR_BF16, 32, false},
    {"Q4_0", TENSOR_Q4_0, 2, true},   {"Q8_0", TENSOR_Q8_0, 7, true},   {"Q4_K_S", TENSOR_Q4_K, 14, true},
    {"Q4_K_M", TENSOR_Q4_K, 15, true}, {"Q5_K_S", TENSOR_Q5_K, 16, true}, {"Q5_K_M", TENSOR_Q5_K, 17, true},
    {"Q6_K", TENSOR_Q6_K, 18, true},
};

typedef struct mix {
    const scheme *sc;
    char arch[32];
    int n_layer, n_expert;
    bool has_output;
    int i_attn_v, n_attn_v, i_ffn_down, n_ffn_down;
} mix;

static bool is(const mix *m, const char *name) { return strcmp(m->sc->name, name) == 0; }

static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static int layer_of(const char *name) {
    int il = -1;
    return sscanf(name, "blk.%d.", &il) == 1 ? il : -1;
}

static enum tensor_type attn_v_type(mix *m, enum tensor_type t) {
    bool more = use_more_bits(m->i_attn_v, m->n_attn_v);
    if ((is(m, "Q4_K_M") || is(m, "Q5_K_M")) && more) t = TENSOR_Q6_K;
    else if (is(m, "Q4_K_S") && m->i_attn_v < 4) t = TENSOR_Q5_K;
    if (m->n_layer == 80 && !strcmp(m->arch, "llama") && (t == TENSOR_Q3_K || t == TENSOR_Q4_K)) t = TENSOR_Q5_K;
    if (m->n_expert == 8) t = TENSOR_Q8_0;
    m->i_attn_v++;
    return t;
}

static enum tensor_type ffn_down_type(mix *m, const char *name, enum tensor_type t) {
    /* MoE files may hold several ffn_down tensors per layer: count by name. */
    int il = m->n_ffn_down != m->n_layer ? layer_of(name) : m->i_ffn_down;
    bool falcon = !strcmp(m->arch, "falcon");
    if ((is(m, "Q4_K_M") || is(m, "Q5_K_M")) && use_more_bits(il, m->n_layer)) t = TENSOR_Q6_K;
    else if (is(m, "Q4_K_S") && !falcon && il < m->n_layer / 8) t = TENSOR_Q5_K;
    else if (is(m, "Q5_K_S") && il < m->n_layer / 8) t = TENSOR_Q6_K;
    m->i_ffn_down++;
    return t;
}

/* llama_tensor_get_type for the schemes above. */
static enum tensor_type mix_type(mix *m, const gguf_tensor *t) {
    const char *name = t->name;
    enum tensor_type type = m->sc->base;
    if (!strcmp(name, "output.weight") || (!m->has_output && !strcmp(name, "token_embd.weight"))) {
        if (!strcmp(m->arch, "falcon") || t->ne[0] % 256 != 0) type = TENSOR_Q8_0;
        else if (type != TENSOR_Q8_0) type = TENSOR_Q6_K;
    } else if (strstr(name, "attn_v.weight")) {
        type = attn_v_type(m, type);
    } else if (strstr(name, "attn_k.weight")) {
        if (m->n_expert == 8) type = TENSOR_Q8_0;
    } else if (strstr(name, "ffn_down")) {
        type = ffn_down_type(m, name, type);
    } else if (strstr(name, "attn_output.weight")) {
        if (strcmp(m->arch, "falcon") && m->n_expert == 8 && (is(m, "Q4_K_S") || is(m, "Q4_K_M"))) type = TENSOR_Q5_K;
    } else if (strstr(name, "attn_qkv.weight")) {
        if (is(m, "Q4_K_M")) type = TENSOR_Q5_K;
        else if (is(m, "Q5_K_M")) type = TENSOR_Q6_K;
    }
    return type;
}

static void mix_init(mix *m, const scheme *sc, const model_quant_shape *shape, const gguf_tensor *ts, size_t n) {
    *m = (mix){.sc = sc, .n_layer = shape->n_layer, .n_expert = shape->n_expert};
    snprintf(m->arch, sizeof m->arch, "%s", shape->arch);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(ts[i].name, "output.weight")) m->has_output = true;
        if (strstr(ts[i].name, "attn_v.weight")) m->n_attn_v++;
        if (strstr(ts[i].name, "ffn_down")) m->n_ffn_down++;
    }
}

/* llama.cpp visits the tensors ordered by layer, then name. */
static const gguf_tensor *sort_tensors;
static int by_layer_name(const void *a, const void *b) {
    const gguf_tensor *x = &sort_tensors[*(const size_t *)a], *y = &sort_tensors[*(const size_t *)b];
    int lx = layer_of(x->name), ly = layer_of(y->name);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->name, y->name);
}

static const scheme *find_scheme(const char *name) {
    for (size_t i = 0; i < sizeof SCHEMES / sizeof *SCHEMES; i++)
        if (!strcmp(SCHEMES[i].name, name)) return &SCHEMES[i];
    return NULL;
}

int model_quantize_plan_tensors(const model_quant_shape *shape, const gguf_tensor *ts, size_t n, const char *name,
                                enum tensor_type *types, int *file_type, oc_error *err) {
    const scheme *sc = find_scheme(name);
    if (!sc) return oc_fail(err, "unsupported quantization type %s", name);
    mix m;
    mix_init(&m, sc, shape, ts, n);
    size_t *order = oc_malloc((n + 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = i;
    sort_tensors = ts; /* qsort has no context argument; plans are made one at a time */
    qsort(order, n, sizeof *order, by_layer_name);
    for (size_t k = 0; k < n; k++) {
        const gguf_tensor *t = &ts[order[k]];
        bool mixed = sc->quantized && model_tensor_quantizable(t);
        types[order[k]] = model_quantize_choose(t, mixed ? mix_type(&m, t) : sc->base);
    }
    free(order);
    if (file_type) *file_type = sc->file_type;
    return 0;
}

int model_quantize_plan(const gguf_file *f, const char *name, enum tensor_type *types, int *file_type,
                        oc_error *err) {
    model_quant_shape shape = {0};
    char *arch = gguf_get_string(f, "general.architecture"), key[96];
    snprintf(shape.arch, sizeof shape.arch, "%s", arch ? arch : "");
    free(arch);
    snprintf(key, sizeof key, "%s.block_count", shape.arch);
    shape.n_layer = (int)gguf_get_int(f, key, 0);
    snprintf(key, sizeof key, "%s.expert_count", shape.arch);
    shape.n_expert = (int)gguf_get_int(f, key, 0);
    return model_quantize_plan_tensors(&shape, f->tensors, f->n_tensors, name, types, file_type, err);
}

int model_quantize_scheme(const char *in_path, const char *out_path, const char *name, model_progress_fn progress,
                          void *progress_ctx, oc_error *err) {
    if (!find_scheme(name)) return oc_fail(err, "unsupported quantization type %s", name);
    tensor_init();
    gguf_file *f = gguf_open(in_path, err);
    if (!f) return -1;
    enum tensor_type *types = oc_malloc((f->n_tensors + 1) * sizeof *types);
    int file_type = 0, rc = model_quantize_plan(f, name, types, &file_type, err);
    if (rc == 0) rc = model_write_quantized(f, types, file_type, out_path, progress, progress_ctx, err);
    free(types);
    gguf_close(f);
    return rc;
}

/* The GGUF facts create records in the config blob and uses to classify a
 * layer, read the way upstream's fs/ggml KV accessors read them: a key
 * counts only when it has exactly the type Go asserts (general.file_type
 * must be a uint32, architecture-scoped keys are "<arch>.<key>"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_ggufinfo.h"

const char *store_file_type_name(int64_t t) {
    static const char *names[] = {
        [0] = "F32",      [1] = "F16",      [2] = "Q4_0",     [3] = "Q4_1",    [7] = "Q8_0",
        [8] = "Q5_0",     [9] = "Q5_1",     [10] = "Q2_K",    [11] = "Q3_K_S", [12] = "Q3_K_M",
        [13] = "Q3_K_L",  [14] = "Q4_K_S",  [15] = "Q4_K_M",  [16] = "Q5_K_S", [17] = "Q5_K_M",
        [18] = "Q6_K",    [19] = "IQ2_XXS", [20] = "IQ2_XS",  [21] = "Q2_K_S", [22] = "IQ3_XS",
        [23] = "IQ3_XXS", [24] = "IQ1_S",   [25] = "IQ4_NL",  [26] = "IQ3_S",  [27] = "IQ3_M",
        [28] = "IQ2_S",   [29] = "IQ2_M",   [30] = "IQ4_XS",  [31] = "IQ1_M",  [32] = "BF16",
        [36] = "TQ1_0",   [37] = "TQ2_0",   [38] = "MXFP4_MOE", [39] = "NVFP4", [40] = "Q1_0",
    };
    if (t < 0 || t >= (int64_t)(sizeof names / sizeof *names) || !names[t]) return "unknown";
    return names[t];
}

void store_human_number(uint64_t b, char *buf, size_t size) {
    if (b >= 1000000000ull) {
        double n = (double)b / 1e9;
        snprintf(buf, size, n == floor(n) ? "%.0fB" : "%.1fB", n);
    } else if (b >= 1000000ull) {
        double n = (double)b / 1e6;
        snprintf(buf, size, n == floor(n) ? "%.0fM" : "%.2fM", n);
    } else if (b >= 1000ull) {
        snprintf(buf, size, "%.0fK", (double)b / 1e3);
    } else {
        snprintf(buf, size, "%llu", (unsigned long long)b);
    }
}

/* A string key, or def when absent or not a string (malloc'ed). */
char *store_gguf_str(const gguf_file *g, const char *key, const char *def) {
    const gguf_value *v = gguf_get(g, key);
    if (v && v->type == GGUF_TYPE_STRING) return oc_strndup(v->str.data, (size_t)v->str.len);
    return def ? oc_strdup(def) : NULL;
}

/* "<arch>.<key>" for keys outside general. and tokenizer. */
static const gguf_value *arch_key(const gguf_file *g, const char *key) {
    if (!strncmp(key, "general.", 8) || !strncmp(key, "tokenizer.", 10)) return gguf_get(g, key);
    char *arch = store_gguf_str(g, "general.architecture", "unknown");
    size_t n = strlen(arch) + strlen(key) + 2;
    char *full = oc_malloc(n);
    snprintf(full, n, "%s.%s", arch, key);
    const gguf_value *v = gguf_get(g, full);
    free(full);
    free(arch);
    return v;
}

uint32_t store_gguf_u32(const gguf_file *g, const char *key) {
    const gguf_value *v = arch_key(g, key);
    return v && v->type == GGUF_TYPE_UINT32 ? (uint32_t)v->u64 : 0;
}

static bool gguf_bool(const gguf_file *g, const char *key) {
    const gguf_value *v = arch_key(g, key);
    return v && v->type == GGUF_TYPE_BOOL && v->u64;
}

const char *store_gguf_file_type(const gguf_file *g) {
    uint32_t t = store_gguf_u32(g, "general.file_type");
    return t > 0 ? store_file_type_name(t) : "unknown"; /* F32 (0) reads as missing upstream */
}

const char *store_gguf_weights_type(const gguf_file *g) {
    static const char *names[] = {[0] = "F32", [1] = "F16", [30] = "BF16"};
    int64_t seen = -1;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        size_t len = strlen(t->name);
        if (t->n_dims < 2 || len < 7 || strcmp(t->name + len - 7, ".weight") != 0) continue;
        if (seen >= 0 && seen != (int64_t)t->type) return "unknown";
        seen = t->type;
    }
    return seen == 0 || seen == 1 || seen == 30 ? names[seen] : "unknown";
}

uint64_t store_gguf_param_count(const gguf_file *g) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        uint64_t n = 1;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
            if (!oc_mul_u64(n, (uint64_t)g->tensors[i].ne[d], &n)) return UINT64_MAX;
        if (!oc_add_u64(total, n, &total)) return UINT64_MAX;
    }
    return total;
}

bool store_gguf_is_projector(const gguf_file *g) {
    char *kind = store_gguf_str(g, "general.type", "unknown");
    bool proj = !strcmp(kind, "projector") || !strcmp(kind, "mmproj");
    free(kind);
    if (proj) return true;
    if (store_gguf_u32(g, "block_count") == 0 && store_gguf_u32(g, "vision.block_count") > 0) return true;
    char *arch = store_gguf_str(g, "general.architecture", "unknown");
    bool clip = !strcmp(arch, "clip");
    free(arch);
    return clip && store_gguf_u32(g, "block_count") == 0 &&
           (gguf_bool(g, "has_vision_encoder") || gguf_bool(g, "has_audio_encoder"));
}

/* split.count (or <arch>.split.count) of any integer type that fits. */
int64_t store_gguf_split_count(const gguf_file *g) {
    const gguf_value *vs[2] = {gguf_get(g, "split.count"), arch_key(g, "split.count")};
    for (int i = 0; i < 2; i++) {
        const gguf_value *v = vs[i];
        if (!v) continue;
        if (v->type == GGUF_TYPE_UINT16 || v->type == GGUF_TYPE_UINT32 || v->type == GGUF_TYPE_UINT64)
            return v->u64 <= 65535 ? (int64_t)v->u64 : 0;
        if (v->type == GGUF_TYPE_INT32 || v->type == GGUF_TYPE_INT64)
            return v->i64 >= 0 && v->i64 <= 65535 ? v->i64 : 0;
    }
    return 0;
}

bool store_is_gguf_magic(const unsigned char *b, size_t n) {
    if (n < 4) return false;
    uint32_t m = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return m == 0x46554747 || m == 0x47475546;
}

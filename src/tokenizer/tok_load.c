/* tok_load: builds a tokenizer from GGUF tokenizer.* metadata the way
 * llama_vocab::impl::load does: the per-model defaults, the vocabulary and
 * merges, special token ids, add_bos/add_eos, the text-based detection of
 * EOT/EOM/FIM/EOG tokens, the special-token list used to split input, and
 * the per-model strip attributes. */
#include "tokenizer/tok_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define KEY(name) "tokenizer.ggml." name

static bool has_key(const gguf_file *f, const char *key) { return gguf_get(f, key) != NULL; }

static void set_ids(tokenizer *t, int32_t bos, int32_t eos, int32_t unk, int32_t sep, int32_t pad, int32_t mask) {
    t->bos = bos, t->eos = eos, t->unk = unk, t->sep = sep, t->pad = pad, t->mask = mask;
}

static int init_bpe(tokenizer *t, const char *pre, oc_error *err) {
    if (!pre || !*pre) pre = "default";
    tok_pre_info info;
    if (!tok_pre_lookup(pre, &info)) return oc_fail(err, "unknown pre-tokenizer type: '%s'", pre);
    t->clean_spaces = info.clean_spaces;
    t->ignore_merges = info.ignore_merges;
    t->add_bos = info.add_bos;
    t->escape_ws = info.escape_ws;
    t->byte_encode = info.byte_encode;
    t->gemma4 = strcmp(pre, "gemma4") == 0 || strcmp(pre, "granite-embed-multi-311m") == 0;
    if (info.no_bos) t->bos = -1;
    t->pre = tok_pretok_new(info.regexes, err);
    return t->pre ? 0 : -1;
}

/* Type defaults, as in the model switch at the top of the llama.cpp loader. */
static int init_model(tokenizer *t, const gguf_file *f, oc_error *err) {
    char *model = gguf_get_string(f, KEY("model")), *pre = gguf_get_string(f, KEY("pre"));
    int rc = 0;
    t->eot = t->eom = -1;
    t->fim_pre = t->fim_suf = t->fim_mid = t->fim_pad = t->fim_rep = t->fim_sep = -1;
    t->byte_encode = true;
    if (!model) {
        rc = oc_fail(err, "missing " KEY("model"));
    } else if (strcmp(model, "llama") == 0) {
        t->kind = TOKENIZER_SPM;
        set_ids(t, 1, 2, 0, -1, -1, -1);
        t->add_space_prefix = t->add_bos = true;
    } else if (strcmp(model, "bert") == 0) {
        t->kind = TOKENIZER_WPM;
        set_ids(t, 101, -1, 100, 102, 0, 103);
        t->add_sep = t->clean_spaces = t->add_bos = true;
    } else if (strcmp(model, "gpt2") == 0 || strcmp(model, "gemma4") == 0) {
        t->kind = TOKENIZER_BPE;
        bool g4 = strcmp(model, "gemma4") == 0;
        if (g4) set_ids(t, -1, -1, -1, -1, -1, -1);
        else set_ids(t, 11, 11, -1, -1, -1, -1);
        rc = init_bpe(t, g4 ? "gemma4" : pre, err);
    } else {
        rc = oc_fail(err, "unsupported tokenizer model '%s'", model);
    }
    if (rc == 0) {
        t->add_space_prefix = gguf_get_bool(f, KEY("add_space_prefix"), t->add_space_prefix);
    }
    free(model);
    free(pre);
    return rc;
}

static uint16_t attr_of_type(int64_t type) {
    switch (type) {
    case TOKEN_NORMAL: return ATTR_NORMAL;
    case TOKEN_UNKNOWN: return ATTR_UNKNOWN;
    case TOKEN_CONTROL: return ATTR_CONTROL;
    case TOKEN_USER_DEFINED: return ATTR_USER_DEFINED;
    case TOKEN_UNUSED: return ATTR_UNUSED;
    case TOKEN_BYTE: return ATTR_BYTE;
    default: return 0;
    }
}

static const gguf_value *numeric_array(const gguf_file *f, const char *key, uint64_t n, oc_error *err, bool *bad) {
    const gguf_value *v = gguf_get(f, key);
    if (!v) return NULL;
    if (v->type != GGUF_TYPE_ARRAY || v->arr.type == GGUF_TYPE_STRING || v->arr.type == GGUF_TYPE_ARRAY ||
        v->arr.n < n) {
        *bad = true;
        oc_fail(err, "invalid %s", key);
    }
    return v;
}

static int add_token_text(tokenizer *t, uint32_t i, const gguf_str *s) {
    char empty[32];
    const char *p = s->data;
    size_t n = s->len;
    if (n == 0) { /* llama.cpp renames empty tokens so they stay unique */
        n = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%u]", i);
        p = empty;
    }
    if (t->text.len + n + 1 > UINT32_MAX) return -1;
    t->tokens[i].off = (uint32_t)t->text.len;
    t->tokens[i].len = (uint32_t)n;
    oc_buf_append(&t->text, p, n);
    oc_buf_append(&t->text, "", 1);
    if ((int)n > t->max_token_len) t->max_token_len = (int)n;
    return 0;
}

static int load_tokens(tokenizer *t, const gguf_file *f, oc_error *err) {
    const gguf_value *v = gguf_get(f, KEY("tokens"));
    if (!v || v->type != GGUF_TYPE_ARRAY || v->arr.type != GGUF_TYPE_STRING)
        return oc_fail(err, "missing or invalid " KEY("tokens"));
    if (v->arr.n == 0 || v->arr.n > INT32_MAX)
        return oc_fail(err, "bad vocabulary size %llu", (unsigned long long)v->arr.n);
    uint32_t n = (uint32_t)v->arr.n;
    bool bad = false;
    const gguf_value *scores = numeric_array(f, KEY("scores"), n, err, &bad);
    const gguf_value *types = numeric_array(f, KEY("token_type"), n, err, &bad);
    if (bad) return -1;
    t->n_vocab = (int32_t)n;
    t->tokens = oc_calloc(n, sizeof *t->tokens);
    tok_map_init(&t->vocab, n);
    for (uint32_t i = 0; i < n; i++) {
        if (add_token_text(t, i, &v->arr.strs[i]) < 0) return oc_fail(err, "vocabulary text too large");
        t->tokens[i].score = scores ? (float)gguf_arr_get_float(scores, i) : 0.0f;
        t->tokens[i].attr = types ? attr_of_type(gguf_arr_get_int(types, i)) : ATTR_NORMAL;
    }
    for (uint32_t i = 0; i < n; i++) {
        int32_t got = tok_map_add(&t->vocab, t->text.data, t->tokens[i].off, t->tokens[i].len, (int32_t)i);
        if (got != (int32_t)i)
            return oc_fail(err, "duplicate token in vocabulary: '%s' has ids %d and %u", tok_text(t, got), got, i);
    }
    return 0;
}

static int load_merges(tokenizer *t, const gguf_file *f, oc_error *err) {
    if (t->kind != TOKENIZER_BPE) return 0;
    const gguf_value *v = gguf_get(f, KEY("merges"));
    if (!v || v->type != GGUF_TYPE_ARRAY || v->arr.type != GGUF_TYPE_STRING || v->arr.n > INT32_MAX)
        return oc_fail(err, "missing or invalid " KEY("merges"));
    size_t n = (size_t)v->arr.n, off = 0;
    for (size_t i = 0; i < n; i++) oc_buf_append(&t->merge_text, v->arr.strs[i].data, v->arr.strs[i].len);
    if (t->merge_text.len > UINT32_MAX) return oc_fail(err, "merges too large");
    tok_map_init(&t->merges, n);
    for (size_t i = 0; i < n; i++) { /* a repeated merge keeps its first rank */
        tok_map_add(&t->merges, t->merge_text.data, (uint32_t)off, (uint32_t)v->arr.strs[i].len, (int32_t)i);
        off += v->arr.strs[i].len;
    }
    return 0;
}

static void init_byte_tokens(tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        int32_t id = tok_lookup(t, hex, 6);
        if (id < 0 && t->kind == TOKENIZER_SPM) { /* SPM falls back to the byte itself */
            char c = (char)b;
            id = tok_lookup(t, &c, 1);
        }
        t->byte_tokens[b] = id;
    }
}

/* GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to
 * U+0100 upwards in byte order. */
static void init_byte_unicode(tokenizer *t) {
    for (int i = 0; i < 324; i++) t->u2b[i] = -1;
    int next = 256;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        int cp = printable ? b : next++;
        oc_buf tmp = {0};
        tok_utf8_put(&tmp, (uint32_t)cp);
        memcpy(t->b2u[b], tmp.data, tmp.len);
        t->b2u_len[b] = (uint8_t)tmp.len;
        t->u2b[cp] = (int16_t)b;
        oc_buf_free(&tmp);
    }
}

/* ---- special ids and flags ---- */

typedef struct id_key {
    const char *key;
    int32_t *id;
} id_key;

static void load_special_ids(tokenizer *t, const gguf_file *f) {
    const id_key keys[] = {
        {KEY("bos_token_id"), &t->bos}, {KEY("eos_token_id"), &t->eos}, {KEY("eot_token_id"), &t->eot},
        {KEY("eom_token_id"), &t->eom}, {KEY("unknown_token_id"), &t->unk}, {KEY("seperator_token_id"), &t->sep},
        {KEY("padding_token_id"), &t->pad}, {KEY("mask_token_id"), &t->mask},
        {KEY("fim_pre_token_id"), &t->fim_pre}, {KEY("fim_suf_token_id"), &t->fim_suf},
        {KEY("fim_mid_token_id"), &t->fim_mid}, {KEY("fim_pad_token_id"), &t->fim_pad},
        {KEY("fim_rep_token_id"), &t->fim_rep}, {KEY("fim_sep_token_id"), &t->fim_sep},
        {KEY("prefix_token_id"), &t->fim_pre}, {KEY("suffix_token_id"), &t->fim_suf},
        {KEY("middle_token_id"), &t->fim_mid},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int32_t *id = keys[i].id;
        if (*id >= t->n_vocab) *id = -1; /* a default outside the vocabulary is disabled */
        int64_t v = gguf_get_int(f, keys[i].key, -1);
        if (v >= 0 && v < t->n_vocab) *id = (int32_t)v; /* out-of-range values keep the default */
    }
    /* BERT's BOS is its CLS token; honour the cls key when bos is absent. */
    int64_t cls = gguf_get_int(f, KEY("cls_token_id"), -1);
    if (t->kind == TOKENIZER_WPM && !has_key(f, KEY("bos_token_id")) && cls >= 0 && cls < t->n_vocab)
        t->bos = (int32_t)cls;
}

static int load_flags(tokenizer *t, const gguf_file *f, oc_error *err) {
    t->add_bos = gguf_get_bool(f, KEY("add_bos_token"), t->add_bos);
    t->add_eos = gguf_get_bool(f, KEY("add_eos_token"), t->add_eos);
    t->add_sep = gguf_get_bool(f, KEY("add_sep_token"), t->add_sep);
    if (t->gemma4) t->add_bos = true; /* llama.cpp's Gemma 4 override */
    if (t->add_bos && t->bos < 0) return oc_fail(err, KEY("add_bos_token") " is true, but bos_token_id is not set");
    if (t->add_eos && t->eos < 0) return oc_fail(err, KEY("add_eos_token") " is true, but eos_token_id is not set");
    if (t->add_sep && t->sep < 0)
        return oc_fail(err, KEY("add_sep_token") " is true, but seperator_token_id is not set");
    t->wpm_lowercase = gguf_get_bool(f, KEY("normalizer.lowercase"), true);
    t->wpm_strip_accents = gguf_get_bool(f, KEY("normalizer.strip_accents"), t->wpm_lowercase);
    return 0;
}

/* ---- detection by token text ---- */

static bool text_in(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

/* llama.cpp promotes the tokens it recognises by text to CONTROL. */
static void mark_control(tokenizer *t, int32_t id) { t->tokens[id].attr |= ATTR_CONTROL; }

typedef struct text_rule {
    int32_t *id;
    const char *const *texts;
} text_rule;

static const char *const EOT_TEXTS[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
                                        "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",
                                        "<end_of_utterance>", NULL};
static const char *const EOM_TEXTS[] = {"<|eom_id|>", NULL};
static const char *const FIM_PRE_TEXTS[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
                                            "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
                                            "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const FIM_SUF_TEXTS[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
                                            "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", "<SUF>",
                                            "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const FIM_MID_TEXTS[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
                                            "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
                                            "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL};
static const char *const FIM_PAD_TEXTS[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const FIM_REP_TEXTS[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
                                            NULL};
static const char *const FIM_SEP_TEXTS[] = {"<|file_sep|>", NULL};
static const char *const EOG_TEXTS[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                        "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                        "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                        "<turn|>", "<|tool_response>",
                                        "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",
                                        "[e~[", NULL};

/* llama.cpp walks a hash map here, so which of several candidates wins is
 * unspecified; walking ids in order makes the lowest id win. */
static void detect_by_text(tokenizer *t) {
    const text_rule rules[] = {{&t->eot, EOT_TEXTS},         {&t->eom, EOM_TEXTS},         {&t->fim_pre, FIM_PRE_TEXTS},
                               {&t->fim_suf, FIM_SUF_TEXTS}, {&t->fim_mid, FIM_MID_TEXTS}, {&t->fim_pad, FIM_PAD_TEXTS},
                               {&t->fim_rep, FIM_REP_TEXTS}, {&t->fim_sep, FIM_SEP_TEXTS}};
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *s = tok_text(t, id);
        for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            if (*rules[r].id >= 0 || !text_in(s, rules[r].texts)) continue;
            *rules[r].id = id;
            mark_control(t, id);
        }
        uint16_t *a = &t->tokens[id].attr;
        if ((*a & ATTR_CONTROL) && strstr(s, "unused")) *a |= ATTR_UNUSED;
    }
}

static void set_eog(tokenizer *t, int32_t id, bool on) {
    if (id < 0 || id >= t->n_vocab) return;
    if (on) t->tokens[id].attr |= ATTR_EOG;
    else t->tokens[id].attr &= (uint16_t)~ATTR_EOG;
}

static int32_t eog_with_text(const tokenizer *t, const char *s) {
    int32_t id = tok_lookup(t, s, strlen(s));
    return id >= 0 && (t->tokens[id].attr & ATTR_EOG) ? id : -1;
}

/* gpt-oss and solar-open end turns with <|return|> / <|call|>, where
 * <|end|> is not the end of generation; gemma4 uses </s> as text. */
static void eog_exceptions(tokenizer *t) {
    int32_t end = eog_with_text(t, "<|end|>");
    bool call = eog_with_text(t, "<|call|>") >= 0 || eog_with_text(t, "<|calls|>") >= 0;
    bool ret = eog_with_text(t, "<|return|>") >= 0, flush = eog_with_text(t, "<|flush|>") >= 0;
    if (end >= 0 && call && (ret || flush)) {
        set_eog(t, end, false);
        t->tokens[end].attr = ATTR_USER_DEFINED;
    }
    int32_t s = eog_with_text(t, "</s>");
    if (s >= 0 && eog_with_text(t, "<|tool_response>") >= 0) {
        set_eog(t, s, false);
        t->tokens[s].attr = ATTR_NORMAL;
    }
}

static const char *const RENDER_TEXTS[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};

static void build_eog(tokenizer *t) {
    set_eog(t, t->fim_pad, true);
    set_eog(t, t->fim_rep, true);
    set_eog(t, t->fim_sep, true);
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!text_in(tok_text(t, id), EOG_TEXTS)) continue;
        set_eog(t, id, true);
        mark_control(t, id);
    }
    for (int32_t id = 0; id < t->n_vocab; id++) /* gpt-oss: always render these */
        if (text_in(tok_text(t, id), RENDER_TEXTS))
            t->tokens[id].attr = (uint16_t)(ATTR_USER_DEFINED | (t->tokens[id].attr & ATTR_EOG));
    set_eog(t, t->eos, true);
    set_eog(t, t->eot, true);
    set_eog(t, t->eom, true);
    eog_exceptions(t);
}

/* ---- special-token list and strip attributes ---- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Longest text first, as tokenizer_st_partition wants; llama.cpp's sort is
 * unstable, ids break ties here. */
static void build_specials(tokenizer *t) {
    uint64_t *keys = oc_malloc((size_t)t->n_vocab * sizeof *keys);
    size_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->tokens[id].attr & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN))
            keys[n++] = ((uint64_t)(UINT32_MAX - t->tokens[id].len) << 32) | (uint32_t)id;
    qsort(keys, n, sizeof *keys, cmp_u64);
    t->specials = oc_malloc((n ? n : 1) * sizeof *t->specials);
    for (size_t i = 0; i < n; i++) t->specials[i] = (int32_t)(uint32_t)keys[i];
    t->n_specials = n;
    free(keys);
}

static void set_attr(tokenizer *t, const char *text, uint16_t bit, bool on) {
    int32_t id = tok_lookup(t, text, strlen(text));
    if (id < 0) return;
    if (on) t->tokens[id].attr |= bit;
    else t->tokens[id].attr &= (uint16_t)~bit;
}

static bool contains_any(const char *s, const char *const *subs) {
    for (; s && *subs; subs++)
        if (strstr(s, *subs)) return true;
    return false;
}

/* Per-model strip attributes that llama.cpp sets by name (GGUF has no
 * field for them). */
static void model_attrs(tokenizer *t, const gguf_file *f) {
    char *name = gguf_get_string(f, "general.name"), *pre = gguf_get_string(f, KEY("pre"));
    char *arch = gguf_get_string(f, "general.architecture");
    for (char *p = name; p && *p; p++) *p = (char)tolower((unsigned char)*p);
    static const char *const JINA_PRE[] = {"jina-v2-de", "jina-v2-es", "jina-v2-code", NULL};
    static const char *const JINA_ARCH[] = {"nomic-bert-moe", "jina-bert-v3", NULL};
    static const char *const PHI3[] = {"phi-3", "phi3", NULL}, *const MODERN_BERT[] = {"modern-bert", NULL};
    if (contains_any(pre, JINA_PRE) || contains_any(arch, JINA_ARCH)) {
        set_attr(t, "<mask>", ATTR_LSTRIP, true);
    } else if (contains_any(name, PHI3)) {
        for (size_t i = 0; i < t->n_specials; i++) t->tokens[t->specials[i]].attr |= ATTR_RSTRIP;
        set_attr(t, "</s>", ATTR_RSTRIP, true);
        set_attr(t, "<unk>", ATTR_RSTRIP, false);
        set_attr(t, "<s>", ATTR_RSTRIP, false);
        set_attr(t, "<|endoftext|>", ATTR_RSTRIP, false);
    } else if (contains_any(name, MODERN_BERT)) {
        set_attr(t, "[MASK]", ATTR_LSTRIP, true);
    }
    free(name);
    free(pre);
    free(arch);
}

tokenizer *tokenizer_load(const gguf_file *f, oc_error *err) {
    tokenizer *t = oc_calloc(1, sizeof *t);
    if (init_model(t, f, err) < 0 || load_tokens(t, f, err) < 0 || load_merges(t, f, err) < 0) goto fail;
    init_byte_tokens(t);
    init_byte_unicode(t);
    load_special_ids(t, f);
    if (load_flags(t, f, err) < 0) goto fail;
    detect_by_text(t);
    build_eog(t);
    build_specials(t);
    model_attrs(t, f);
    return t;
fail:
    oc_error_prefix(err, "tokenizer");
    tokenizer_free(t);
    return NULL;
}

void tokenizer_free(tokenizer *t) {
    if (!t) return;
    free(t->tokens);
    oc_buf_free(&t->text);
    tok_map_free(&t->vocab);
    oc_buf_free(&t->merge_text);
    tok_map_free(&t->merges);
    free(t->specials);
    tok_pretok_free(t->pre);
    free(t);
}

/* Tokenizer tests: llama.cpp's reference vectors for twelve vocabularies
 * (testdata/vocab), plus special tokens, EOG, BOS handling and streaming. */
#include "check.h"

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

static const char *FAMILIES[] = {"llama-spm", "llama-bpe", "qwen2", "qwen35", "phi-3", "gpt-2",
                                 "bert-bge", "deepseek-coder", "deepseek-llm", "starcoder", "falcon", "gemma-4"};

static tokenizer *load_path(const char *path) {
    oc_error err = {{0}};
    gguf_file *f = gguf_open(path, &err);
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return NULL;
    }
    tokenizer *t = tokenizer_load(f, &err);
    gguf_close(f); /* the tokenizer must not point into the file */
    if (!t) fprintf(stderr, "%s: %s\n", path, err.msg);
    return t;
}

static tokenizer *load_vocab(const char *family) {
    char rel[256], buf[1024];
    snprintf(rel, sizeof rel, "testdata/vocab/ggml-vocab-%s.gguf", family);
    const char *p = check_shared_path(rel, buf, sizeof buf);
    return p ? load_path(p) : NULL;
}

static char *read_rel(const char *family, const char *ext, size_t *len) {
    char rel[256], buf[1024];
    snprintf(rel, sizeof rel, "testdata/vocab/ggml-vocab-%s.gguf.%s", family, ext);
    const char *p = check_shared_path(rel, buf, sizeof buf);
    return p ? oc_read_file(p, len, NULL) : NULL;
}

/* The .inp file: inputs separated by "\n__ggml_vocab_test__\n", split the
 * way llama.cpp's test-tokenizer-0 does (in place, NUL-terminated). */
static size_t split_inputs(char *s, size_t len, char **items, size_t *lens, size_t max) {
    static const char SEP[] = "\n__ggml_vocab_test__\n";
    size_t n = 0, pos = 0, sl = sizeof SEP - 1;
    while (pos < len && n < max) {
        char *next = memmem(s + pos, len - pos, SEP, sl);
        size_t end = next ? (size_t)(next - s) : len;
        items[n] = s + pos;
        lens[n++] = end - pos;
        if (!next) break;
        s[end] = 0;
        pos = end + sl;
    }
    return n;
}

static size_t parse_ids(const char *line, int32_t *ids, size_t max) {
    size_t n = 0;
    char *end;
    for (const char *p = line; n < max;) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        ids[n++] = (int32_t)v;
        p = end;
    }
    return n;
}

/* Pieces concatenated without any clean-up: lossless for every family but
 * WordPiece (SPM drops the one leading space its encoder adds). */
static void raw_decode(const tokenizer *t, const int32_t *ids, size_t n, oc_buf *b) {
    for (size_t i = 0; i < n; i++) tokenizer_token_to_piece(t, ids[i], false, b);
    if (tokenizer_kind_of(t) == TOKENIZER_SPM && b->len && b->data[0] == ' ') {
        memmove(b->data, b->data + 1, b->len);
        b->len--;
    }
}

/* llama.cpp's decoder removes spaces before ?!., and around apostrophes for
 * vocabularies with clean_up_tokenization_spaces, so an input holding one
 * of those does not come back verbatim from tokenizer_decode. */
static bool clean_up_applies(const char *s) {
    return strstr(s, " ?") || strstr(s, " !") || strstr(s, " .") || strstr(s, " ,") || strstr(s, " '");
}

typedef struct family_result {
    int cases, enc_ok, dec_ok, dec_compared, dec_clean, dec_unk;
} family_result;

static bool same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* WordPiece normalises (lowercase, accents, whitespace), so its check is
 * that decoding and re-encoding reproduces the ids. */
static bool wpm_roundtrip(const tokenizer *t, const int32_t *ids, size_t n) {
    oc_buf b = {0};
    tokenizer_decode(t, ids, n, false, &b);
    int32_t *again = NULL;
    int m = tokenizer_encode(t, b.data ? b.data : "", b.len, false, false, &again, NULL);
    bool ok = m >= 0 && same_ids(again, (size_t)m, ids, n);
    free(again);
    oc_buf_free(&b);
    return ok;
}

static bool check_decode(const tokenizer *t, const char *in, size_t in_len, const int32_t *ids, size_t n,
                         family_result *r, bool clean, bool has_unk) {
    if (tokenizer_kind_of(t) == TOKENIZER_WPM) {
        if (has_unk) return r->dec_unk++, true;
        r->dec_compared++;
        return wpm_roundtrip(t, ids, n);
    }
    r->dec_compared++;
    oc_buf raw = {0}, dec = {0};
    raw_decode(t, ids, n, &raw);
    bool ok = raw.len == in_len && memcmp(raw.data ? raw.data : "", in, in_len) == 0;
    tokenizer_decode(t, ids, n, false, &dec);
    if (clean && clean_up_applies(in)) r->dec_clean++;
    else ok = ok && dec.len == in_len && memcmp(dec.data ? dec.data : "", in, in_len) == 0;
    oc_buf_free(&raw);
    oc_buf_free(&dec);
    return ok;
}

static void run_case(const tokenizer *t, const char *fam, const char *in, size_t in_len, const char *line,
                     family_result *r, bool clean) {
    int32_t want[4096], *got = NULL;
    size_t nw = parse_ids(line, want, 4096);
    oc_error err = {{0}};
    int ng = tokenizer_encode(t, in, in_len, false, false, &got, &err);
    bool ok = ng >= 0 && same_ids(got, (size_t)ng, want, nw);
    CHECK_MSG(ok, "%s: encode mismatch for \"%s\" (%s)", fam, in, ng < 0 ? err.msg : "ids differ");
    r->enc_ok += ok;
    bool has_unk = false;
    for (size_t i = 0; i < nw; i++) /* BERT's [UNK] is typed CONTROL in its GGUF */
        has_unk |= tokenizer_token_type(t, want[i]) == TOKEN_UNKNOWN ||
                   strcmp(tokenizer_token_text(t, want[i]), "[UNK]") == 0;
    bool dok = check_decode(t, in, in_len, want, nw, r, clean, has_unk);
    CHECK_MSG(dok, "%s: decode mismatch for \"%s\"", fam, in);
    r->dec_ok += dok && !has_unk;
    r->cases++;
    free(got);
}

static bool family_cleans(const char *fam) {
    /* clean_spaces per llama.cpp: on for BPE unless the pre-tokenizer turns
     * it off (deepseek-*, qwen2, qwen35), off for SPM, on for WordPiece. */
    static const char *const CLEAN[] = {"llama-bpe", "gpt-2", "starcoder", "falcon", "gemma-4", "bert-bge", NULL};
    for (const char *const *p = CLEAN; *p; p++)
        if (strcmp(*p, fam) == 0) return true;
    return false;
}

static int test_family(const char *fam) {
    size_t in_len, out_len;
    char *inp = read_rel(fam, "inp", &in_len), *out = read_rel(fam, "out", &out_len);
    tokenizer *t = inp && out ? load_vocab(fam) : NULL;
    if (!t) {
        free(inp);
        free(out);
        return -1;
    }
    char *items[512], *lines[512];
    size_t lens[512], n_lines = 0;
    size_t n_in = split_inputs(inp, in_len, items, lens, 512);
    for (char *p = out, *e; p < out + out_len && n_lines < 512; p = e + 1) {
        e = memchr(p, '\n', (size_t)(out + out_len - p));
        if (!e) e = out + out_len;
        *e = 0;
        lines[n_lines++] = p;
    }
    CHECK_MSG(n_in == n_lines, "%s: %zu inputs, %zu expected lines", fam, n_in, n_lines);
    family_result r = {0};
    uint64_t t0 = oc_now_ns();
    for (size_t i = 0; i < n_in && i < n_lines; i++)
        run_case(t, fam, items[i], lens[i], lines[i], &r, family_cleans(fam));
    printf("%-15s encode %2d/%2d  decode %2d/%2d", fam, r.enc_ok, r.cases, r.dec_ok, r.dec_compared);
    if (r.dec_clean) printf(" (%d via raw pieces only: clean-up alters them)", r.dec_clean);
    if (r.dec_unk) printf(" (%d with [UNK] not compared)", r.dec_unk);
    printf("  %.1f ms\n", (double)(oc_now_ns() - t0) / 1e6);
    tokenizer_free(t);
    free(inp);
    free(out);
    return 0;
}

/* ---- focused tests ---- */

static bool valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

static void test_stream(void) {
    tokenizer *t = load_vocab("llama-spm");
    if (!t) return;
    /* U+1F999 is not in the Llama 2 vocabulary: it encodes as four byte tokens. */
    const char *text = "a \xF0\x9F\xA6\x99!";
    int32_t *ids = NULL;
    int n = tokenizer_encode(t, text, strlen(text), false, false, &ids, NULL);
    int n_bytes = 0;
    for (int i = 0; i < n; i++) n_bytes += tokenizer_token_type(t, ids[i]) == TOKEN_BYTE;
    CHECK_EQ_INT(n_bytes, 4);
    tokenizer_stream s;
    tokenizer_stream_init(&s, t, false);
    oc_buf all = {0};
    for (int i = 0; i < n; i++) {
        oc_buf piece = {0};
        tokenizer_stream_push(&s, ids[i], &piece);
        CHECK_MSG(valid_utf8(piece.data, piece.len), "piece %d is not valid UTF-8", i);
        if (piece.len) oc_buf_append(&all, piece.data, piece.len);
        oc_buf_free(&piece);
    }
    tokenizer_stream_flush(&s, &all);
    CHECK_EQ_STR(all.data, text);
    /* An incomplete sequence left at the end is flushed as U+FFFD. */
    oc_buf tail = {0};
    tokenizer_stream_push(&s, ids[2], &tail);
    CHECK_EQ_INT(tail.len, 0);
    tokenizer_stream_flush(&s, &tail);
    CHECK_EQ_STR(tail.data, "\xEF\xBF\xBD");
    tokenizer_stream_free(&s);
    oc_buf_free(&tail);
    oc_buf_free(&all);
    free(ids);
    tokenizer_free(t);
}

static bool contains(const int32_t *ids, int n, int32_t id) {
    for (int i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

static void test_specials_llama3(void) {
    tokenizer *t = load_vocab("llama-bpe");
    if (!t) return;
    const char *text = "Hello<|eot_id|>";
    int32_t *ids = NULL;
    int n = tokenizer_encode(t, text, strlen(text), false, true, &ids, NULL);
    CHECK(n == 2 && ids[0] == 9906 && ids[1] == 128009);
    free(ids);
    n = tokenizer_encode(t, text, strlen(text), false, false, &ids, NULL);
    CHECK(n > 2 && !contains(ids, n, 128009));
    free(ids);
    n = tokenizer_encode(t, "Hi", 2, true, false, &ids, NULL);
    CHECK(n == 2 && ids[0] == 128000 && tokenizer_add_bos(t));
    free(ids);
    CHECK(tokenizer_is_eog(t, 128009));  /* <|eot_id|> */
    CHECK(tokenizer_is_eog(t, 128001));  /* <|end_of_text|>, the EOS */
    CHECK(!tokenizer_is_eog(t, 128000)); /* <|begin_of_text|> */
    CHECK(!tokenizer_is_eog(t, 9906));
    CHECK_EQ_INT(tokenizer_token_type(t, 128009), TOKEN_CONTROL);
    oc_buf b = {0};
    int32_t seq[] = {9906, 128009};
    tokenizer_decode(t, seq, 2, false, &b);
    CHECK_EQ_STR(b.data, "Hello");
    oc_buf_clear(&b);
    tokenizer_decode(t, seq, 2, true, &b);
    CHECK_EQ_STR(b.data, "Hello<|eot_id|>");
    oc_buf_free(&b);
    tokenizer_free(t);
}

static void test_eog_others(void) {
    tokenizer *t = load_vocab("qwen2");
    if (t) {
        CHECK(tokenizer_is_eog(t, 151645)); /* <|im_end|> */
        CHECK(tokenizer_is_eog(t, 151643)); /* <|endoftext|> */
        CHECK(!tokenizer_is_eog(t, 151644));
        CHECK(!tokenizer_add_bos(t));
        tokenizer_free(t);
    }
    t = load_vocab("gemma-4");
    if (t) {
        CHECK(tokenizer_is_eog(t, 1));   /* <eos> */
        CHECK(tokenizer_is_eog(t, 106)); /* <turn|> */
        CHECK(tokenizer_add_bos(t));
        tokenizer_free(t);
    }
}

static void test_bert_special(void) {
    tokenizer *t = load_vocab("bert-bge");
    if (!t) return;
    int32_t *ids = NULL;
    int n = tokenizer_encode(t, "Hello world", 11, true, false, &ids, NULL);
    CHECK(n == 4 && ids[0] == 101 && ids[3] == 102);
    free(ids);
    tokenizer_free(t);
}

/* Decoding rules beyond the vectors: llama.cpp's space clean-up for GPT-2,
 * and SPM's leading space with and without a BOS in front. */
static void test_decode_rules(void) {
    tokenizer *t = load_vocab("gpt-2");
    if (t) {
        const char *text = "Hello , world ! It 's";
        int32_t *ids = NULL;
        int n = tokenizer_encode(t, text, strlen(text), false, false, &ids, NULL);
        oc_buf b = {0};
        tokenizer_decode(t, ids, (size_t)n, false, &b);
        CHECK_EQ_STR(b.data, "Hello, world! It's");
        oc_buf_free(&b);
        free(ids);
        tokenizer_free(t);
    }
    t = load_vocab("llama-spm");
    if (!t) return;
    int32_t *ids = NULL;
    int n = tokenizer_encode(t, "Hi<s>there", 10, true, true, &ids, NULL);
    /* BOS, then "Hi" with the added space, <s> parsed, "there" spaced again */
    CHECK(n >= 4 && ids[0] == 1 && contains(ids + 1, n - 1, 1));
    oc_buf b = {0};
    tokenizer_decode(t, ids, (size_t)n, false, &b);
    CHECK_EQ_STR(b.data, " Hi there");
    oc_buf_clear(&b);
    tokenizer_decode(t, ids + 1, (size_t)n - 1, true, &b);
    CHECK_EQ_STR(b.data, "Hi<s> there");
    oc_buf_free(&b);
    free(ids);
    tokenizer_free(t);
}

static void test_stories_bos(void) {
    char buf[1024];
    const char *p = "models/stories260K.gguf";
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    else p = check_shared_path("testdata/models/stories260K.gguf", buf, sizeof buf);
    tokenizer *t = p ? load_path(p) : NULL;
    if (!t) return;
    CHECK(tokenizer_add_bos(t) && !tokenizer_add_eos(t));
    CHECK_EQ_INT(tokenizer_bos(t), 1);
    int32_t *ids = NULL;
    int n = tokenizer_encode(t, "Once upon a time", 16, true, false, &ids, NULL);
    int32_t want[] = {1, 403, 407, 261, 378};
    CHECK(n == 5 && same_ids(ids, 5, want, 5));
    oc_buf b = {0};
    tokenizer_decode(t, ids + 1, (size_t)n - 1, false, &b);
    CHECK_EQ_STR(b.data, "Once upon a time");
    CHECK(tokenizer_is_eog(t, 2) && !tokenizer_is_eog(t, 1));
    oc_buf_free(&b);
    free(ids);
    tokenizer_free(t);
}

/* ---- llama.cpp reference runs (testdata/reference, JSON) ---- */

/* Just enough JSON for the reference files: the value after "key":. */
static const char *json_value(const char *doc, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(doc, pat);
    if (!p) return NULL;
    for (p += strlen(pat); *p == ' '; p++) {}
    return p;
}

static unsigned hex4(const char *p) {
    char h[5] = {p[0], p[1], p[2], p[3], 0};
    return (unsigned)strtoul(h, NULL, 16);
}

static void put_utf8(oc_buf *out, unsigned u) {
    char e[4];
    int n = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (int k = n - 1; k > 0; k--, u >>= 6) e[k] = (char)(0x80 | (u & 0x3F));
    e[0] = (char)(n == 1 ? u : (lead[n] | u));
    oc_buf_append(out, e, (size_t)n);
}

/* Decodes the JSON string starting at the quote p. */
static void json_string(const char *p, oc_buf *out) {
    for (p++; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            c = *++p;
            if (c == 'u') {
                unsigned u = hex4(p + 1);
                p += 4;
                if (u >= 0xD800 && u < 0xDC00 && p[1] == '\\' && p[2] == 'u') { /* surrogate pair */
                    u = 0x10000 + ((u - 0xD800) << 10) + (hex4(p + 3) - 0xDC00);
                    p += 6;
                }
                put_utf8(out, u);
                continue;
            }
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c;
        }
        oc_buf_append(out, &c, 1);
    }
}

static size_t json_ints(const char *p, int32_t *v, size_t max) {
    size_t n = 0;
    char *end;
    for (p++; n < max && *p && *p != ']'; p = end) {
        while (*p == ' ' || *p == ',') p++;
        v[n] = (int32_t)strtol(p, &end, 10);
        if (end == p) break;
        n++;
    }
    return n;
}

/* The prompt encodes to llama.cpp's prompt tokens (with BOS), and the
 * greedy tokens stream back to llama.cpp's text (a continuation, so the
 * stream keeps the first piece's space). */
static void test_reference(const char *model, int idx) {
    char rel[256], buf[1024];
    snprintf(rel, sizeof rel, "testdata/reference/%s-greedy-%d.json", model, idx);
    const char *path = check_shared_path(rel, buf, sizeof buf);
    char *doc = path ? oc_read_file(path, NULL, NULL) : NULL;
    snprintf(rel, sizeof rel, "testdata/models/%s.gguf", model);
    const char *mp = doc ? check_shared_path(rel, buf, sizeof buf) : NULL;
    tokenizer *t = mp ? load_path(mp) : NULL;
    if (!t) {
        free(doc);
        return;
    }
    oc_buf prompt = {0}, want = {0}, got = {0};
    int32_t ptoks[256], gtoks[256], *ids = NULL;
    json_string(json_value(doc, "prompt"), &prompt);
    json_string(json_value(doc, "greedy_text"), &want);
    size_t np = json_ints(json_value(doc, "prompt_tokens"), ptoks, 256);
    size_t ng = json_ints(json_value(doc, "greedy_tokens"), gtoks, 256);
    int n = tokenizer_encode(t, prompt.data, prompt.len, true, false, &ids, NULL);
    CHECK_MSG(n >= 0 && same_ids(ids, (size_t)n, ptoks, np), "%s: prompt tokens differ", rel);
    tokenizer_stream s;
    tokenizer_stream_init(&s, t, false);
    s.first = false;
    for (size_t i = 0; i < ng; i++) tokenizer_stream_push(&s, gtoks[i], &got);
    tokenizer_stream_flush(&s, &got);
    tokenizer_stream_free(&s);
    CHECK_EQ_STR(got.data ? got.data : "", want.data ? want.data : "");
    oc_buf_free(&prompt);
    oc_buf_free(&want);
    oc_buf_free(&got);
    free(ids);
    free(doc);
    tokenizer_free(t);
}

int main(void) {
    char buf[1024];
    if (!check_shared_path("testdata/vocab/ggml-vocab-llama-spm.gguf", buf, sizeof buf)) {
        printf("shared test data absent: skipped\n");
        return 77;
    }
    for (size_t i = 0; i < sizeof FAMILIES / sizeof FAMILIES[0]; i++)
        CHECK_MSG(test_family(FAMILIES[i]) == 0, "%s: could not load", FAMILIES[i]);
    test_stream();
    test_specials_llama3();
    test_eog_others();
    test_bert_special();
    test_decode_rules();
    test_stories_bos();
    for (int i = 1; i <= 4; i++) test_reference("stories260K", i);
    for (int i = 1; i <= 2; i++) test_reference("llama-2-tiny-random", i);
    return check_done();
}

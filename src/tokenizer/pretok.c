/* pretok: the BPE pre-tokenizer. Owns the table that maps each
 * tokenizer.ggml.pre value to llama.cpp's regex list and flags, the
 * rewriting of those regexes into PCRE2 patterns with llama.cpp's
 * semantics, and the regex-after-regex splitting of text into words. */
#include "tokenizer/tok_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

/* ---- regex lists as llama-vocab.cpp has them (shared pieces as macros) ---- */

#define CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define GPT2_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define LETTERS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
#define PUNCT_NL "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
#define PUNCT_NL_SLASH "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"
#define WS_TAIL "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define LLAMA3_RE CONTRACTIONS LETTERS "|\\p{N}{1,3}" PUNCT_NL WS_TAIL
#define QWEN2_RE CONTRACTIONS LETTERS "|\\p{N}" PUNCT_NL WS_TAIL
#define PORO_RE " ?[^(\\s|.,!?…。，、।۔،)]+"
#define DS3_WORDS "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
#define TEKKEN_UPPER "((?=[\\p{L}])([^a-z]))"
#define TEKKEN_LOWER "((?=[\\p{L}])([^A-Z]))"
#define CASED_WORDS(up, lo, tail)                                                              \
    "[^\\r\\n\\p{L}\\p{N}]?" up "*" lo "+" tail "|[^\\r\\n\\p{L}\\p{N}]?" up "+" lo "*" tail
#define LU "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define LL "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"

static const char *const R_DEFAULT[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_RE, "\\p{N}+", "[0-9][0-9][0-9]", NULL};
static const char *const R_GPT2[] = {GPT2_RE, NULL};
static const char *const R_LLAMA3[] = {LLAMA3_RE, NULL};
static const char *const R_JAIS2[] = {
    CONTRACTIONS LETTERS "|\\p{N}{1,3}" PUNCT_NL "|\\s*[\\r\\n]+"
                 "|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)"
                 "|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}",
    NULL};
static const char *const R_DEEPSEEK_LLM[] = {
    "[\r\n]",
    /* cased letters, as escapes: text tools NFC-normalise some of them (U+2126
     * OHM SIGN, U+212A KELVIN SIGN, Greek oxia forms) and break the ranges */
    "\\s?["
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"
    "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-"
    "\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}"
    "\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}"
    "\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"
    "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}"
    "\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}"
    "\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}"
    "\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}"
    "\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-"
    "\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}"
    "]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
    NULL};
static const char *const R_DEEPSEEK3[] = {
    "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
    DS3_WORDS "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+", NULL};
static const char *const R_SPARK2_5[] = {
    "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
    DS3_WORDS "| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+", "\\p{N}", NULL};
static const char *const R_YOUTU[] = {
    "[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+",
    CASED_WORDS(LU, LL, CONTRACTIONS "?") "|\\p{N}" PUNCT_NL_SLASH WS_TAIL,
    NULL};
static const char *const R_DEEPSEEK_CODER[] = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}",
                                                NULL};
static const char *const R_FALCON[] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_RE, "[0-9][0-9][0-9]", NULL};
static const char *const R_STARCODER[] = {"\\p{N}", GPT2_RE, NULL};
static const char *const R_QWEN2[] = {QWEN2_RE, NULL};
static const char *const R_QWEN35[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*" WS_TAIL,
    NULL};
static const char *const R_PORO[] = {PORO_RE, NULL};
static const char *const R_VIKING[] = {PORO_RE, "\\p{N}", NULL};
static const char *const R_TEKKEN[] = {
    CASED_WORDS(TEKKEN_UPPER, TEKKEN_LOWER, "") "|\\p{N}" PUNCT_NL_SLASH WS_TAIL,
    NULL};
static const char *const R_CHAMELEON[] = {
    "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
    "[\\p{P}!-/:-@\\[-`{-~]", GPT2_RE, NULL};
static const char *const R_GPT4O[] = {
    CASED_WORDS(TEKKEN_UPPER, TEKKEN_LOWER, CONTRACTIONS "?")
    "|\\p{N}{1,3}" PUNCT_NL_SLASH WS_TAIL,
    NULL};
static const char *const R_GRANITE_EMB[] = {
    CASED_WORDS("((?=[\\p{L}\\p{M}])([^a-z]))", "((?=[\\p{L}\\p{M}])([^A-Z]))", CONTRACTIONS "?")
    "|\\p{N}{1,3}" PUNCT_NL_SLASH WS_TAIL,
    NULL};
static const char *const R_TINY_AYA[] = {
    "\\d{1,3}(?=(?:\\d{3})*\\b)",
    CASED_WORDS(LU, LL, CONTRACTIONS "?") "|\\p{N}{1,3}" PUNCT_NL_SLASH WS_TAIL,
    NULL};
static const char *const R_SUPERBPE[] = {"\\p{N}+", "(?=(\\d{3})+(?!\\d))", NULL};
static const char *const R_BAILINGMOE[] = {
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])" LETTERS "|\\p{N}" PUNCT_NL "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const R_SEED_CODER[] = {
    CONTRACTIONS LETTERS "|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+" WS_TAIL, NULL};
static const char *const R_UFAKZEKA[] = {
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" PUNCT_NL WS_TAIL, NULL};
static const char *const R_LAGUNA[] = {"[^\\n]+|[\\n]+", QWEN2_RE, NULL};
static const char *const R_EXAONE_MOE[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?"
                 "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const R_GEMMA4[] = {"[^\\n]+|[\\n]+", NULL};
static const char *const R_MINICPM5[] = {
    "\\p{N}{1,3}",
    CONTRACTIONS LETTERS "|\\p{N}+" PUNCT_NL WS_TAIL, NULL};

/* ---- tokenizer.ggml.pre -> settings (llama_vocab::impl::load) ---- */

enum { CLEAN = 1, NOCLEAN = 2, IGNORE_MERGES = 4, ADD_BOS = 8, ESCAPE_WS = 16, RAW_BYTES = 32, NO_BOS = 64 };

typedef struct pre_entry {
    const char *names; /* '|'-separated */
    const char *const *re;
    int flags;
} pre_entry;

static const pre_entry PRE_TABLE[] = {
    {"default", R_DEFAULT, 0},
    {"minicpm5", R_MINICPM5, IGNORE_MERGES},
    {"llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral|midm-2.0|lfm2|jina-v5-nano", R_LLAMA3,
     IGNORE_MERGES | ADD_BOS},
    {"deepseek-llm", R_DEEPSEEK_LLM, NOCLEAN},
    {"deepseek-coder", R_DEEPSEEK_CODER, NOCLEAN},
    {"deepseek-v3|hunyuan-dense|hy_v4|joyai-llm", R_DEEPSEEK3, NOCLEAN},
    {"spark2_5", R_SPARK2_5, NOCLEAN},
    {"youtu", R_YOUTU, NOCLEAN | IGNORE_MERGES},
    {"falcon", R_FALCON, 0},
    {"mpt|gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v2-es|jina-v2-de|a.x-4.0|mellum|modern-bert|"
     "jina-v1-en|jina-v2-code|roberta-bpe|olmo|jais|exaone4", R_GPT2, 0},
    {"trillion|granite-docling", R_GPT2, NOCLEAN},
    {"starcoder|refact|codeshell|exaone|minerva-7b|mellum2", R_STARCODER, 0},
    {"command-r|smollm", R_STARCODER, NOCLEAN},
    {"jais-2", R_JAIS2, 0},
    {"gemma4|granite-embed-multi-311m", R_GEMMA4, ESCAPE_WS | RAW_BYTES},
    {"sarvam-moe", R_GEMMA4, ESCAPE_WS | RAW_BYTES | NOCLEAN},
    {"qwen2|deepseek-r1-qwen|kormo|f2llmv2|hunyuan|solar-open", R_QWEN2, NOCLEAN},
    {"stablelm2|megrez", R_QWEN2, 0},
    {"qwen35", R_QWEN35, NOCLEAN},
    {"dbrx|smaug-bpe", R_LLAMA3, 0},
    {"poro-chat", R_PORO, NOCLEAN},
    {"bloom|gpt3-finnish", R_PORO, 0},
    {"glm4|chatglm-bpe", R_LLAMA3, NO_BOS},
    {"viking", R_VIKING, NOCLEAN},
    {"tekken", R_TEKKEN, NOCLEAN | IGNORE_MERGES | ADD_BOS},
    {"chameleon", R_CHAMELEON, NOCLEAN | ADD_BOS},
    {"gpt-4o|llama4|kanana2|talkie|minimax-m2", R_GPT4O, NOCLEAN},
    {"granite-embed-multi-97m", R_GRANITE_EMB, NOCLEAN | IGNORE_MERGES},
    {"tiny_aya|cohere2moe", R_TINY_AYA, NOCLEAN},
    {"superbpe", R_SUPERBPE, NOCLEAN},
    {"bailingmoe|bailingmoe2|llada-moe", R_BAILINGMOE, NOCLEAN},
    {"seed-coder", R_SEED_CODER, NOCLEAN},
    {"ufakzeka", R_UFAKZEKA, NOCLEAN},
    {"grok-2", R_QWEN2, NOCLEAN},
    {"laguna", R_LAGUNA, NOCLEAN},
    {"exaone-moe", R_EXAONE_MOE, 0},
};

static bool name_in(const char *names, const char *name) {
    size_t n = strlen(name);
    for (const char *p = names; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

bool tok_pre_lookup(const char *name, tok_pre_info *info) {
    /* A missing pre-tokenizer falls back to "default" as llama.cpp does. */
    if (!name || !*name) name = "default";
    for (size_t i = 0; i < sizeof PRE_TABLE / sizeof PRE_TABLE[0]; i++) {
        const pre_entry *e = &PRE_TABLE[i];
        if (!name_in(e->names, name)) continue;
        *info = (tok_pre_info){
            .regexes = e->re,
            .clean_spaces = !(e->flags & NOCLEAN),
            .ignore_merges = e->flags & IGNORE_MERGES,
            .add_bos = e->flags & ADD_BOS,
            .escape_ws = e->flags & ESCAPE_WS,
            .byte_encode = !(e->flags & RAW_BYTES),
            .no_bos = e->flags & NO_BOS,
        };
        return true;
    }
    return false;
}

/* ---- pattern rewriting ---- */

/* llama.cpp's whitespace: Unicode White_Space (as its generated tables
 * have it). PCRE2's own \s leaves out U+0085, so it is spelled out. */
#define WS_CLASS                                                                                            \
    "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

/* Rewrites a llama.cpp regex into PCRE2 syntax with llama.cpp's meaning:
 * \s / \S become the explicit whitespace class, and \p{Lu|Ll|Lt|Lm|Lo}
 * become \p{L} because llama.cpp collapses every letter category into one
 * before matching. \d, \w and \b stay ASCII (no PCRE2_UCP), as in the
 * std::regex llama.cpp runs. */
static int rewrite(const char *re, oc_buf *out, oc_error *err) {
    bool in_class = false;
    for (const char *p = re; *p; p++) {
        if (*p == '\\' && p[1]) {
            char c = *++p;
            if (c == 's') {
                oc_buf_puts(out, in_class ? WS_CLASS : "[" WS_CLASS "]");
            } else if (c == 'S') {
                if (in_class) return oc_fail(err, "pre-tokenizer regex: \\S inside a class");
                oc_buf_puts(out, "[^" WS_CLASS "]");
            } else if (c == 'p' && p[1] == '{' && p[2] == 'L' && p[3] && strchr("ultmo", p[3]) && p[4] == '}') {
                oc_buf_puts(out, "\\p{L}");
                p += 4;
            } else {
                char esc[2] = {'\\', c};
                oc_buf_append(out, esc, 2);
            }
            continue;
        }
        if (*p == '[' && !in_class) in_class = true;
        else if (*p == ']' && in_class) in_class = false;
        oc_buf_append(out, p, 1);
    }
    return 0;
}

struct tok_pretok {
    size_t n;
    pcre2_code *re[8];
};

void tok_pretok_free(struct tok_pretok *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) pcre2_code_free(p->re[i]);
    free(p);
}

static pcre2_code *compile_one(const char *re, oc_error *err) {
    oc_buf pat = {0};
    if (rewrite(re, &pat, err) < 0) {
        oc_buf_free(&pat);
        return NULL;
    }
    int ec;
    PCRE2_SIZE eo;
    /* $ means end of subject only, as in ECMAScript. */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        oc_fail(err, "pre-tokenizer regex at %zu: %s", (size_t)eo, (const char *)msg);
    } else {
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
    }
    oc_buf_free(&pat);
    return code;
}

struct tok_pretok *tok_pretok_new(const char *const *regexes, oc_error *err) {
    struct tok_pretok *p = oc_calloc(1, sizeof *p);
    for (; *regexes; regexes++) {
        if (p->n == sizeof p->re / sizeof p->re[0]) {
            oc_fail(err, "too many pre-tokenizer regexes");
            tok_pretok_free(p);
            return NULL;
        }
        p->re[p->n] = compile_one(*regexes, err);
        if (!p->re[p->n]) {
            tok_pretok_free(p);
            return NULL;
        }
        p->n++;
    }
    return p;
}

/* ---- splitting ---- */

static int match_at(const pcre2_code *re, const char *s, size_t n, size_t pos, uint32_t opts, pcre2_match_data *md) {
    opts |= PCRE2_NO_UTF_CHECK; /* callers pass sanitized UTF-8 */
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, opts, md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, opts | PCRE2_NO_JIT, md, NULL);
    return rc;
}

/* Splits one span: every match and every gap between matches becomes a
 * span, as std::regex_iterator does in unicode_regex_split_stl. An empty
 * match is retried as non-empty at the same place, then the search moves
 * on one character (the regex_iterator rule). */
static int split_span(const pcre2_code *re, pcre2_match_data *md, const char *text, tok_span in, tok_spans *out,
                      oc_error *err) {
    const char *s = text + in.off;
    size_t n = in.len, pos = 0, prev = 0;
    uint32_t opts = 0;
    while (pos <= n) {
        int rc = match_at(re, s, n, pos, opts, md);
        if (rc == PCRE2_ERROR_NOMATCH) {
            if (!opts || pos >= n) break;
            opts = 0;
            pos += tok_utf8_len((unsigned char)s[pos]);
            continue;
        }
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return oc_fail(err, "pre-tokenizer: %s", (const char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (a > prev) tok_spans_push(out, in.off + prev, a - prev);
        if (b > a) tok_spans_push(out, in.off + a, b - a);
        prev = b;
        pos = b;
        opts = b == a ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
    }
    if (prev < n) tok_spans_push(out, in.off + prev, n - prev);
    return 0;
}

int tok_pretok_split(const struct tok_pretok *p, const char *text, size_t len, tok_spans *out, oc_error *err) {
    tok_spans cur = {0}, next = {0};
    if (len) tok_spans_push(&cur, 0, len);
    int rc = 0;
    for (size_t r = 0; r < p->n && rc == 0; r++) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->re[r], NULL);
        next.n = 0;
        for (size_t i = 0; i < cur.n && rc == 0; i++) rc = split_span(p->re[r], md, text, cur.v[i], &next, err);
        pcre2_match_data_free(md);
        tok_spans tmp = cur;
        cur = next;
        next = tmp;
    }
    for (size_t i = 0; i < cur.n && rc == 0; i++) tok_spans_push(out, cur.v[i].off, cur.v[i].len);
    free(cur.v);
    free(next.v);
    return rc;
}

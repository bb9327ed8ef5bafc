/* tokenizer: text <-> token ids as the model's GGUF metadata describes.
 * Owns: SentencePiece (SPM: scores, byte fallback, leading-space rule),
 * byte-level BPE (merges, pre-tokenizer regexes per tokenizer.ggml.pre via
 * PCRE2), WordPiece (BERT, utf8proc normalisation), special/control tokens,
 * add_bos/add_eos, and streaming-safe detokenisation (never emits a partial
 * UTF-8 sequence). */
#ifndef OLLAMA_TOKENIZER_H
#define OLLAMA_TOKENIZER_H

#include "base/base.h"
#include "gguf/gguf.h"

typedef struct tokenizer tokenizer;

enum tokenizer_kind { TOKENIZER_SPM, TOKENIZER_BPE, TOKENIZER_WPM };

/* Token attribute bits (tokenizer.ggml.token_type values mapped). */
enum {
    TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_USER_DEFINED = 4,
    TOKEN_UNUSED = 5, TOKEN_BYTE = 6
};

/* Builds the tokenizer from tokenizer.* metadata (the strings are copied, so
 * the gguf_file may be closed afterwards). */
tokenizer *tokenizer_load(const gguf_file *f, oc_error *err);
void tokenizer_free(tokenizer *t);

enum tokenizer_kind tokenizer_kind_of(const tokenizer *t);
int32_t tokenizer_n_vocab(const tokenizer *t);
int32_t tokenizer_bos(const tokenizer *t); /* -1 if none */
int32_t tokenizer_eos(const tokenizer *t); /* -1 if none */
bool tokenizer_add_bos(const tokenizer *t);
bool tokenizer_add_eos(const tokenizer *t);
/* True for ids that end generation (eos, eot, eom and the like). */
bool tokenizer_is_eog(const tokenizer *t, int32_t id);
int tokenizer_token_type(const tokenizer *t, int32_t id);
/* The vocabulary string of id as stored (e.g. with SPM's U+2581). */
const char *tokenizer_token_text(const tokenizer *t, int32_t id);

/* Encodes text. add_special: add BOS/EOS (and WordPiece's CLS/SEP) as the
 * metadata says; parse_special: recognise control/user-defined token texts
 * in the input (e.g. "<|eot_id|>") as single tokens.
 * Returns the number of ids written to *out (malloc'ed), or -1 on error. */
int tokenizer_encode(const tokenizer *t, const char *text, size_t len, bool add_special,
                     bool parse_special, int32_t **out, oc_error *err);

/* Appends the bytes of one token to b (byte tokens become their byte, SPM's
 * U+2581 a space, BPE's byte-level chars their bytes). Control tokens
 * append nothing unless render_special. */
void tokenizer_token_to_piece(const tokenizer *t, int32_t id, bool render_special, oc_buf *b);
/* Decodes a whole sequence as llama.cpp's detokenize (remove_special
 * false): when the vocabulary adds a space prefix (SPM), one leading space
 * is dropped from the first token's piece, so a leading BOS keeps the
 * space of the word after it; BPE and WordPiece vocabularies with
 * clean_up_tokenization_spaces then drop the space before ? ! . , and
 * around ' as llama.cpp does. */
void tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, bool render_special, oc_buf *b);

/* Streaming detokeniser: holds back an incomplete UTF-8 tail so that every
 * piece it emits is valid UTF-8 (invalid bytes become U+FFFD). Like
 * tokenizer_decode it drops the added leading space from the first piece
 * while `first` is set; set first = false after init to keep it (e.g. when
 * streaming a reply that continues a prompt). No space clean-up. */
typedef struct tokenizer_stream {
    const tokenizer *tok;
    oc_buf pending;
    bool first;      /* the next piece is the first of the output */
    bool render_special;
} tokenizer_stream;
void tokenizer_stream_init(tokenizer_stream *s, const tokenizer *t, bool render_special);
/* Appends the newly complete text for id to out. */
void tokenizer_stream_push(tokenizer_stream *s, int32_t id, oc_buf *out);
/* Flushes whatever is held back (invalid bytes become U+FFFD). */
void tokenizer_stream_flush(tokenizer_stream *s, oc_buf *out);
void tokenizer_stream_free(tokenizer_stream *s);

#endif

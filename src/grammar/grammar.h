/* grammar: constrained sampling for `format` (structured outputs).
 * Owns JSON-schema -> grammar compilation (a GBNF-like IR of rules made of
 * alternatives of sequences of character classes and rule references) and
 * the incremental matcher: a set of pushdown parse stacks advanced byte by
 * byte, which masks every token of a vocabulary whose bytes cannot continue
 * the grammar (and the end-of-generation tokens until the grammar is
 * complete), and steers towards completion when the token budget runs out. */
#ifndef OLLAMA_GRAMMAR_H
#define OLLAMA_GRAMMAR_H

#include <jansson.h>

#include "base/base.h"
#include "sample/sample.h"
#include "tokenizer/tokenizer.h"

typedef struct grammar grammar;

/* format "json": any JSON object (nested values any JSON). */
grammar *grammar_json_object(void);
/* A JSON Schema (object or boolean). Supported: type (also a list),
 * properties (emitted in schema order, required ones first), required,
 * additionalProperties, items, prefixItems, minItems/maxItems, enum, const,
 * anyOf/oneOf, string minLength/maxLength/pattern/format (date, time,
 * date-time, uuid; other formats are plain strings), local $ref (#/...),
 * integer minimum/maximum/exclusiveMinimum/exclusiveMaximum, number
 * minimum 0. Anything else that constrains values fails with a message
 * naming it. */
grammar *grammar_from_schema(const json_t *schema, oc_error *err);
void grammar_free(grammar *g);
/* The rules as GBNF-like text (for debugging and tests); malloc'ed. */
char *grammar_to_text(const grammar *g);

/* ---- matching ---- */

typedef struct grammar_matcher grammar_matcher;
grammar_matcher *grammar_matcher_new(const grammar *g);
void grammar_matcher_free(grammar_matcher *m);
/* Feeds bytes; returns false (state unchanged) when they cannot continue. */
bool grammar_matcher_accept_bytes(grammar_matcher *m, const char *s, size_t n);
/* The bytes so far form a complete sentence (output may end here). */
bool grammar_matcher_complete(const grammar_matcher *m);
/* Complete and nothing may follow. */
bool grammar_matcher_final(const grammar_matcher *m);
/* Fewest bytes that complete the sentence (large when impossible). */
int grammar_matcher_distance(const grammar_matcher *m);

/* ---- tokens ---- */

/* The byte string each token produces, arranged as a prefix trie; built
 * once per tokenizer (or from explicit pieces for tests). n_logits: the
 * model's output rows (ids past the tokenizer's are never allowed). */
typedef struct grammar_vocab grammar_vocab;
grammar_vocab *grammar_vocab_from_tokenizer(const tokenizer *t, int n_logits);
/* pieces[i] (lens[i] bytes) for token i; eog[i] marks end tokens. Empty
 * non-end pieces are never allowed (they would loop without progress). */
grammar_vocab *grammar_vocab_new(int n, const char *const *pieces, const size_t *lens, const bool *eog);
void grammar_vocab_free(grammar_vocab *v);

/* Whether token tok may come next. */
bool grammar_token_allowed(grammar_matcher *m, const grammar_vocab *v, int32_t tok);
/* Sets the logit of every token that may not come next to -inf. limit:
 * also refuse tokens after which the sentence needs more than limit bytes
 * to complete (GRAMMAR_NO_LIMIT: no such check). */
#define GRAMMAR_NO_LIMIT INT32_MAX
void grammar_mask(grammar_matcher *m, const grammar_vocab *v, float *logits, int limit);
/* Advances over the bytes of tok (an end token: nothing); false if refused. */
bool grammar_accept_token(grammar_matcher *m, const grammar_vocab *v, int32_t tok);

#define GRAMMAR_DONE (-2)
/* Samples the next token under the grammar: samples first and checks the
 * token, masking the whole vocabulary only when it was refused. budget is
 * the number of tokens still allowed, this one included (GRAMMAR_NO_LIMIT:
 * none): a token must leave at most budget - 1 bytes to complete, so the
 * output closes in time whenever single-byte tokens exist (byte fallback,
 * byte-level BPE). Returns a token (an end token only when complete),
 * GRAMMAR_DONE when the sentence is complete and nothing can follow or no
 * token fits, or -1 when no token can continue. logits may be modified. */
int32_t grammar_sample(grammar_matcher *m, const grammar_vocab *v, sampler *s, float *logits, int budget);

#endif

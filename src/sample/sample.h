/* sample: turns a logits vector into the next token.
 * Owns: greedy decoding (temperature 0), repeat/presence/frequency penalties
 * over the last repeat_last_n tokens, top_k, top_p, min_p, typical_p,
 * temperature, and a seeded RNG so one seed always gives the same tokens. */
#ifndef OLLAMA_SAMPLE_H
#define OLLAMA_SAMPLE_H

#include "base/base.h"

typedef struct sample_params {
    float temperature;       /* 0 = greedy */
    int top_k;               /* <= 0 disables */
    float top_p;             /* >= 1 disables */
    float min_p;             /* <= 0 disables */
    float typical_p;         /* >= 1 disables */
    int repeat_last_n;       /* 0 disables, -1 = whole context */
    float repeat_penalty;    /* 1 disables */
    float presence_penalty;  /* 0 disables */
    float frequency_penalty; /* 0 disables */
    int64_t seed;            /* < 0: seeded from the clock */
} sample_params;

/* Ollama's defaults: temperature 0.8, top_k 40, top_p 0.9, min_p 0,
 * typical_p 1, repeat_last_n 64, repeat_penalty 1 (off: upstream code, not
 * its docs, which say 1.1), penalties 0, seed -1. */
sample_params sample_default_params(void);

typedef struct sampler sampler;
/* p NULL = defaults; NULL when n_vocab <= 0. */
sampler *sampler_new(const sample_params *p, int n_vocab);
void sampler_free(sampler *s);
/* Records a token in the penalty history (prompt tokens and sampled ones). */
void sampler_accept(sampler *s, int32_t token);
/* Clears the penalty history and reseeds (a fixed seed then repeats). */
void sampler_reset(sampler *s);
/* Picks the next token; logits may be modified in place (penalties are
 * written into them). Returns -1 when the logits give no distribution
 * (NaN, or every logit -inf). */
int32_t sampler_sample(sampler *s, float *logits);

#endif

/* model: GELU as llama.cpp's CPU backend computes it. ggml evaluates the
 * tanh-approximated GELU through an F16 table (input rounded to F16,
 * output stored as F16, exact ends beyond +-10), for BERT-style encoders
 * (ggml_gelu) and Gemma's gated feed-forward (GEGLU) alike; matching
 * Gemma's logits to 1e-3 takes the same rounding, and a table lookup is
 * also several times cheaper than tanhf per element. The rest of the
 * Gemma family (embedding scale, soft-caps, post-norms, sliding layers,
 * q/k norms) is in the shared llama pass, switched on by arch.c. */
#include <math.h>
#include <pthread.h>

#include "model/model_internal.h"

/* GELU of every half, as a float that is itself a half. */
static float GELU_OF_HALF[1 << 16];
static pthread_once_t GELU_ONCE = PTHREAD_ONCE_INIT;

static void fill_gelu_table(void) {
    const float k = 0.79788456080286535587989211986876f, a = 0.044715f;
    for (uint32_t i = 0; i < 1u << 16; i++) {
        float h = tensor_f16_to_f32((uint16_t)i);
        float y = 0.5f * h * (1.0f + tanhf(k * h * (1.0f + a * h * h)));
        GELU_OF_HALF[i] = tensor_f16_to_f32(tensor_f32_to_f16(y));
    }
}

/* The halves of x come from the F16 quantizer of the active ISA (the same
 * round-to-nearest-even as tensor_f32_to_f16, eight at a time). */
#define GELU_CHUNK 256

/* x = gelu(x), times up where given. */
static void gelu_rows(float *x, const float *up, int n) {
    pthread_once(&GELU_ONCE, fill_gelu_table);
    uint16_t h[GELU_CHUNK];
    for (int i0 = 0; i0 < n; i0 += GELU_CHUNK) {
        const int m = n - i0 < GELU_CHUNK ? n - i0 : GELU_CHUNK;
        tensor_get_traits(TENSOR_F16)->from_float(x + i0, h, m);
        for (int i = 0; i < m; i++) {
            const float v = x[i0 + i];
            const float g = v <= -10.0f ? 0.0f : v >= 10.0f ? v : GELU_OF_HALF[h[i]];
            x[i0 + i] = up ? g * up[i0 + i] : g;
        }
    }
}

void model_gelu(float *x, int n) { gelu_rows(x, NULL, n); }

void model_gemma_geglu(float *gate, const float *up, int n) { gelu_rows(gate, up, n); }

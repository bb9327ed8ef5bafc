/* model: the Gemma family's own arithmetic. Gemma 1/2/3 gate the
 * feed-forward with tanh-approximated GELU; llama.cpp evaluates it through
 * an F16 table (input rounded to F16, output stored as F16), and matching
 * its logits to 1e-3 takes the same rounding. The rest of the family
 * (embedding scale, soft-caps, post-norms, sliding layers, q/k norms) is
 * in the shared llama pass, switched on by arch.c. */
#include <math.h>
#include <pthread.h>

#include "model/model_internal.h"

/* GELU of every half, as a float that is itself a half: the input is
 * rounded to F16 anyway, so a table gives the same bits as evaluating
 * tanhf per element (a sixth of a Gemma prefill's time). */
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

static float gelu_f16(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return GELU_OF_HALF[tensor_f32_to_f16(x)];
}

void model_gemma_geglu(float *gate, const float *up, int n) {
    pthread_once(&GELU_ONCE, fill_gelu_table);
    for (int i = 0; i < n; i++) gate[i] = gelu_f16(gate[i]) * up[i];
}

/* tensor (internal): what the x86 kernel files share. */
#ifndef OLLAMA_TENSOR_KERNELS_X86_H
#define OLLAMA_TENSOR_KERNELS_X86_H

#include <stdint.h>
#include <string.h>

/* Half to float for every bit pattern, filled by tensor_kernels_avx2() (which
 * always runs before tensor_kernels_avx512()). Per-block scales come from it
 * as ggml's CPU backend does: a load, where F16C needs an integer-to-vector
 * move and a conversion, two vector operations that otherwise take a fifth
 * of the time of a Q4_0 block. 256 KiB; weight scales cluster, so the lines
 * in use stay cached. */
extern float tensor_x86_half_table[1 << 16];

static inline __attribute__((always_inline)) float tensor_x86_half(const void *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return tensor_x86_half_table[h];
}

#endif

/* tests: kernels_avx512.c built against the emulated instruction set, as
 * tensor_kernels_avx512_emulated (see tensor_emulate_avx512). */
#include "simde_avx512.h"

#define tensor_kernels_avx512 tensor_kernels_avx512_emulated
#define tensor_gemm_avx512 tensor_gemm_avx512_emulated
#include "tensor/kernels_avx512.c"

/* tests: kernels_gemm_avx512.c built against the emulated instruction set,
 * as tensor_gemm_avx512_emulated. */
#include "simde_avx512.h"

#define tensor_kernels_avx512 tensor_kernels_avx512_emulated
#define tensor_gemm_avx512 tensor_gemm_avx512_emulated
#include "tensor/kernels_gemm_avx512.c"

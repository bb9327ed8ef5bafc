/* tests: kernels_gemm_amx.c built against the emulated instruction sets
 * (SIMDe's AVX-512, amx_emu.h's tiles), as tensor_kernels_amx_emulated. */
#include "simde_avx512.h"
#include "amx_emu.h"

#define tensor_kernels_amx tensor_kernels_amx_emulated
#include "tensor/kernels_gemm_amx.c"

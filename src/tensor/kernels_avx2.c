/* tensor: AVX2 + FMA kernels (compiled with -mavx2 -mfma -mf16c, installed
 * only when CPUID reports them). */
#include "tensor/quants.h"

void tensor_kernels_avx2(tensor_kernels *k) { (void)k; }

/* tensor: AVX-512 kernels (F/BW/VL/DQ/VNNI), installed only when CPUID
 * reports them; types without one here inherit the AVX2 kernel. */
#include "tensor/quants.h"

void tensor_kernels_avx512(tensor_kernels *k) { (void)k; }

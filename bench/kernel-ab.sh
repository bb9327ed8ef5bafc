#!/bin/bash
# In-process A/B of the AVX2 tile kernels (see bench/kernel_ab.c): the
# working tree's src/tensor/kernels_gemm_avx2.c against the one at REV.
# Usage: bench/kernel-ab.sh REV TYPE ROWS REPS [TOKENS]
#   e.g. bench/kernel-ab.sh HEAD Q4_K 32768 1     (decode from DRAM)
#        bench/kernel-ab.sh HEAD Q6_K 128 300     (arithmetic, cached)
# Needs a Release build (build/libollama_core.a) of the working tree.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REV=$1; shift
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"
git show "$REV:src/tensor/kernels_gemm_avx2.c" > "$TMP/old_gemm.c"
cc -O3 -DNDEBUG -std=c17 -mavx2 -mfma -mf16c -mbmi2 -Isrc -Dtensor_gemm_avx2=tensor_gemm_avx2_old \
   -c "$TMP/old_gemm.c" -o "$TMP/old_gemm.o"
cc -O2 -std=c17 -Isrc bench/kernel_ab.c "$TMP/old_gemm.o" build/libollama_core.a -lm -lpthread -o "$TMP/kernel_ab"
"$TMP/kernel_ab" "$@"

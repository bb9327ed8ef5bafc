#!/bin/bash
# In-process A/B of the AVX2 tile kernels (see bench/kernel_ab.c): the
# working tree's src/tensor/kernels_gemm_avx2.c (KAB_FILE=avx2: its
# kernels_avx2.c, the vec_dots and the tiles kept beside them) against the
# one at REV.
# Usage: [KAB_FILE=avx2] bench/kernel-ab.sh REV TYPE ROWS REPS [TOKENS]
#   e.g. bench/kernel-ab.sh HEAD Q4_K 32768 1     (decode from DRAM)
#        bench/kernel-ab.sh HEAD Q6_K 128 300     (arithmetic, cached)
#        KAB_FILE=avx2 bench/kernel-ab.sh HEAD MXFP4 256 100 4
# Needs a Release build (build/libollama_core.a) of the working tree.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REV=$1; shift
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"
CFLAGS="-O3 -DNDEBUG -std=c17 -mavx2 -mfma -mf16c -mbmi2 -Isrc"
if [ "${KAB_FILE:-gemm}" = avx2 ]; then
    # the old file keeps its own scale tables; it installs the current gemm file's kernels
    git show "$REV:src/tensor/kernels_avx2.c" > "$TMP/old.c"
    cc $CFLAGS -Dtensor_kernels_avx2=tensor_kernels_avx2_old -Dtensor_x86_half_table=old_half_table \
       -Dtensor_x86_e8m0_half=old_e8m0_half -c "$TMP/old.c" -o "$TMP/old.o"
    cc -O2 -std=c17 -Isrc -DKAB_WHOLE_AVX2 bench/kernel_ab.c "$TMP/old.o" build/libollama_core.a -lm -lpthread \
       -o "$TMP/kernel_ab"
else
    git show "$REV:src/tensor/kernels_gemm_avx2.c" > "$TMP/old.c"
    cc $CFLAGS -Dtensor_gemm_avx2=tensor_gemm_avx2_old -c "$TMP/old.c" -o "$TMP/old.o"
    cc -O2 -std=c17 -Isrc bench/kernel_ab.c "$TMP/old.o" build/libollama_core.a -lm -lpthread -o "$TMP/kernel_ab"
fi
"$TMP/kernel_ab" "$@"

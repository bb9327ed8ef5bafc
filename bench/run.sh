#!/usr/bin/env bash
# bench/run.sh - speed of our engine vs llama.cpp on the same GGUF files, in the same run.
#
# For every model x thread count it runs, back to back:
#   ours       build/ollama bench-file MODEL --threads N --pp P --tg T --reps R
#   llama.cpp  node ../shared/tools/llamacpp-bench.mjs MODEL --threads N ... (prebuilt
#              llama.cpp from node-llama-cpp@3.21.1)
# with ../shared/tools/membw.c (memory read bandwidth) before and after, collects every JSON
# line in bench/out/results-<timestamp>.jsonl and prints a markdown table (bench/report.py)
# of the ratios ours / llama.cpp-prebuilt and ours / native llama.cpp anchor.
# See bench/README.md.
#
# Usage: bench/run.sh [options]          (`make bench` runs it with none)
#   --models "P:T ..."   models as preset:type of make-bench-model.py
#                        (default "llama-1b:q4_k_m llama-1b:q8_0 llama-1b:f16 qwen2-0.5b:q4_k_m qwen2-0.5b:q8_0"),
#                        or the mixture-of-experts ones of bench/make_moe_model.c:
#                        qwen3moe-8l:q4_k_m (Qwen3-30B-A3B's layers, 8 of them), gpt-oss-6l:mxfp4
#                        (gpt-oss-20b's, 6); missing files are made
#                        in bench/models/P-T.gguf.  A path to an existing .gguf also works.
#   --threads "1 2"      thread counts (default "1 2")
#   --reps N             repetitions per test (default 3)
#   --pp N / --tg N      prompt / generation lengths (default 512 / 128)
#   --quick              smoke run: --pp 64 --tg 16 --reps 1
#   --no-llamacpp        run only our engine
#   --no-ours            run only llama.cpp (e.g. while bench-file is not available)
#   --llama-bench BIN    also run a native llama-bench you built from llama.cpp's sources
#                        (bench/llama_bench.py; this project neither ships nor builds one) in the
#                        same run: the table gains "native" and "ours / native (this run)"
#   --nlc-dir DIR        node-llama-cpp install dir (default $LLAMACPP_BENCH_NLC_DIR, else
#                        ${XDG_CACHE_HOME:-~/.cache}/llamacpp-bench/nlc-3.21.1, shared with
#                        llamacpp-bench.mjs's own default; installed there once if missing)
#   --ollama BIN         our binary (default $OLLAMA_BIN, else build/ollama)
#   --idle-wait S        before each run wait up to S s for the machine to be idle
#                        (< 10% busy; default 60, 0 = don't wait)
#   --timeout S          limit per engine run (default 1800)
#   --tools DIR          shared tools dir (default ../shared/tools from the repo root)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

MODELS="llama-1b:q4_k_m llama-1b:q8_0 llama-1b:f16 qwen2-0.5b:q4_k_m qwen2-0.5b:q8_0"
THREADS="1 2"
REPS=3
PP=512
TG=128
QUICK=0
RUN_LLAMACPP=1
RUN_OURS=1
LLAMA_BENCH=
NLC_VERSION=3.21.1
NLC_DIR=${LLAMACPP_BENCH_NLC_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llamacpp-bench/nlc-$NLC_VERSION}
OLLAMA=${OLLAMA_BIN:-$ROOT/build/ollama}
IDLE_WAIT=60
RUN_TIMEOUT=1800
TOOLS=$ROOT/../shared/tools
MODEL_DIR=$ROOT/bench/models
OUT=$ROOT/bench/out

die() { echo "bench/run.sh: error: $*" >&2; exit 1; }
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
isnum() { [[ "$1" =~ ^[0-9]+$ ]]; }

need() { [ $# -ge 2 ] || die "missing value for $1"; }
while [ $# -gt 0 ]; do
    opt=$1
    case "$opt" in
        --models)      need "$@"; MODELS=$2; shift ;;
        --threads)     need "$@"; THREADS=$2; shift ;;
        --reps)        need "$@"; REPS=$2; shift ;;
        --pp)          need "$@"; PP=$2; shift ;;
        --tg)          need "$@"; TG=$2; shift ;;
        --quick)       QUICK=1 ;;
        --no-llamacpp) RUN_LLAMACPP=0 ;;
        --no-ours)     RUN_OURS=0 ;;
        --llama-bench) need "$@"; LLAMA_BENCH=$2; shift ;;
        --nlc-dir)     need "$@"; NLC_DIR=$2; shift ;;
        --ollama)      need "$@"; OLLAMA=$2; shift ;;
        --idle-wait)   need "$@"; IDLE_WAIT=$2; shift ;;
        --timeout)     need "$@"; RUN_TIMEOUT=$2; shift ;;
        --tools)       need "$@"; TOOLS=$2; shift ;;
        -h|--help)     usage 0 ;;
        *)             echo "bench/run.sh: unknown option $opt" >&2; usage 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then PP=64; TG=16; REPS=1; fi
for v in REPS PP TG IDLE_WAIT RUN_TIMEOUT; do isnum "${!v}" || die "--${v,,} must be a number (got '${!v}')"; done
[ "$REPS" -ge 1 ] || die "--reps must be >= 1"
[ "$PP" -ge 1 ] && [ "$TG" -ge 1 ] || die "--pp and --tg must be >= 1"
for t in $THREADS; do isnum "$t" && [ "$t" -ge 1 ] || die "bad thread count '$t'"; done
[ -n "$THREADS" ] || die "--threads is empty"
[ -n "$MODELS" ] || die "--models is empty"
[ "$RUN_OURS" = 1 ] || [ "$RUN_LLAMACPP" = 1 ] || die "--no-ours and --no-llamacpp: nothing to run"
TOOLS=$(cd "$TOOLS" 2>/dev/null && pwd) || die "shared tools dir not found (expected ../shared/tools next to the repo; use --tools DIR)"
for f in make-bench-model.py llamacpp-bench.mjs membw.c; do
    [ -f "$TOOLS/$f" ] || die "$TOOLS/$f is missing"
done
command -v python3 >/dev/null || die "python3 not found (needed for bench/report.py)"

mkdir -p "$MODEL_DIR" "$OUT" || die "cannot create $MODEL_DIR / $OUT"

# ---------------------------------------------------------------- 1. our binary
if [ "$RUN_OURS" = 1 ]; then
    [ -x "$OLLAMA" ] || die "our binary $OLLAMA not found or not executable (run 'make build', or pass --ollama BIN / --no-ours)"
fi

if [ -n "$LLAMA_BENCH" ]; then
    [ -x "$LLAMA_BENCH" ] || die "--llama-bench $LLAMA_BENCH is not an executable"
fi

# ---------------------------------------------------------------- 2. models
declare -a MPATH MNAME
for spec in $MODELS; do
    if [[ "$spec" == *.gguf ]]; then
        [ -s "$spec" ] || die "model file $spec not found"
        MPATH+=("$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")")
        MNAME+=("$(basename "$spec" .gguf)")
        continue
    fi
    [[ "$spec" == *:* ]] || die "model '$spec' is not PRESET:TYPE (e.g. llama-1b:q4_k_m) or a .gguf path"
    preset=${spec%%:*}; type=${spec#*:}
    f=$MODEL_DIR/$preset-$type.gguf
    if [ ! -s "$f" ] && [[ "$spec" == qwen3moe-8l:q4_k_m || "$spec" == gpt-oss-6l:mxfp4 ]]; then
        log "making $f (bench/make_moe_model.c: random weights, real layer shapes)"
        [ -f build/libollama_core.a ] || die "bench/make_moe_model.c links build/libollama_core.a: run 'make build' first"
        cc -O2 -Isrc bench/make_moe_model.c build/libollama_core.a -lm -lpthread \
           $(pkg-config --libs libpcre2-8 libutf8proc libcrypto) -o "$OUT/make_moe_model" \
            || die "cannot build bench/make_moe_model.c"
        arch=${preset%-*l}; layers=${preset##*-}; layers=${layers%l}
        "$OUT/make_moe_model" "$arch" "$f.tmp" "$TOOLS/../testdata/vocab/ggml-vocab-qwen2.gguf" "$layers" >&2 \
            || { rm -f "$f.tmp"; die "make_moe_model $arch failed"; }
        mv "$f.tmp" "$f" || die "cannot move $f.tmp to $f"
    fi
    if [ ! -s "$f" ]; then
        log "making $f (random weights, real shapes)"
        [ -x /usr/bin/python3 ] || die "/usr/bin/python3 (with Debian's python3-numpy) is needed to make models"
        /usr/bin/python3 "$TOOLS/make-bench-model.py" --preset "$preset" --type "$type" -o "$f.tmp" >&2 \
            || { rm -f "$f.tmp"; die "make-bench-model.py --preset $preset --type $type failed"; }
        mv "$f.tmp" "$f" || die "cannot move $f.tmp to $f"
    fi
    MPATH+=("$f"); MNAME+=("$preset-$type")
done

# ---------------------------------------------------------------- 3. membw
MEMBW=$OUT/membw
if [ ! -x "$MEMBW" ] || [ "$TOOLS/membw.c" -nt "$MEMBW" ]; then
    log "building $MEMBW"
    cc -O3 -march=native -pthread -o "$MEMBW" "$TOOLS/membw.c" || die "building membw from $TOOLS/membw.c failed"
fi
MEMBW_T=$(echo $THREADS | tr ' ' '\n' | sort -n -u | paste -sd, -)

# ---------------------------------------------------------------- 4. node-llama-cpp
if [ "$RUN_LLAMACPP" = 1 ]; then
    command -v node >/dev/null || die "node not found (needed for llamacpp-bench.mjs; or use --no-llamacpp)"
    have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' \
        "$NLC_DIR/node_modules/node-llama-cpp/package.json" 2>/dev/null)
    if [ "$have" != "$NLC_VERSION" ]; then
        command -v npm >/dev/null || die "npm not found (needed once to install node-llama-cpp@$NLC_VERSION)"
        log "installing node-llama-cpp@$NLC_VERSION into $NLC_DIR (prebuilt binaries, no compiling)"
        mkdir -p "$NLC_DIR" || die "cannot create $NLC_DIR"
        [ -f "$NLC_DIR/package.json" ] || echo '{"name": "llamacpp-bench-cache", "private": true}' > "$NLC_DIR/package.json"
        (cd "$NLC_DIR" && npm i -E "node-llama-cpp@$NLC_VERSION" --ignore-scripts --no-audit --no-fund --prefer-offline) >&2 \
            || die "npm install of node-llama-cpp@$NLC_VERSION into $NLC_DIR failed (needs the npm registry or a warm npm cache; or use --no-llamacpp)"
    fi
fi

# ---------------------------------------------------------------- helpers
NCPU=$(nproc)
CLK_TCK=$(getconf CLK_TCK)

busy_pct() {  # busy % of the whole machine over $1 s
    local a1 a2 a3 a4 a5 a6 a7 a8 b1 b2 b3 b4 b5 b6 b7 b8
    read -r _ a1 a2 a3 a4 a5 a6 a7 a8 _ < /proc/stat
    sleep "$1"
    read -r _ b1 b2 b3 b4 b5 b6 b7 b8 _ < /proc/stat
    local tot=$(( (b1+b2+b3+b4+b5+b6+b7+b8) - (a1+a2+a3+a4+a5+a6+a7+a8) ))
    local idle=$(( (b4+b5) - (a4+a5) ))
    echo $(( 100 * (tot - idle) / (tot > 0 ? tot : 1) ))
}
wait_idle() {
    [ "$IDLE_WAIT" -gt 0 ] && [ -r /proc/stat ] || return 0
    local waited=0 b
    while :; do
        b=$(busy_pct 2)
        [ "$b" -lt 10 ] && return 0
        if [ "$waited" -ge "$IDLE_WAIT" ]; then log "machine still ${b}% busy after ${waited}s - running anyway"; return 0; fi
        [ "$waited" -eq 0 ] && log "machine ${b}% busy, waiting up to ${IDLE_WAIT}s for idle..."
        sleep 3; waited=$((waited + 5))
    done
}
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat 2>/dev/null || echo 0; }

# run_json KIND MODEL_NAME THREADS CMD... : run CMD, take the last stdout line, check it is a
# JSON object, append {"kind":..,"model_name":..,"threads":..,"pp":..,"tg":..,"other_cpu":..,
# "result":<line>} to $RESULTS (on failure "error":"..." instead of "result").
# other_cpu = CPU time used by OTHER processes during the run as a fraction of the machine
# (like tools/bench-baseline.sh).  Returns non-zero on failure.
run_json() {
    local kind=$1 name=$2 thr=$3; shift 3
    local tmp=$OUT/.run-$TS.out j0 j1 t0 t1 rc own other line
    wait_idle
    log "$kind  $name  threads=$thr"
    echo "=== $kind $name threads=$thr: $*" >> "$LOGF"
    j0=$(busy_jiffies); t0=$(date +%s.%N)
    if [ -x /usr/bin/time ]; then
        timeout "$RUN_TIMEOUT" /usr/bin/time -f "%U %S" -o "$OUT/.time-$TS" "$@" > "$tmp" 2>> "$LOGF"
    else
        echo "0 0" > "$OUT/.time-$TS"
        timeout "$RUN_TIMEOUT" "$@" > "$tmp" 2>> "$LOGF"
    fi
    rc=$?
    t1=$(date +%s.%N); j1=$(busy_jiffies)
    own=$(awk 'END{print $1+$2}' "$OUT/.time-$TS" 2>/dev/null); own=${own:-0}
    other=$(awk -v j="$((j1 - j0))" -v hz="$CLK_TCK" -v own="$own" -v a="$t0" -v b="$t1" -v n="$NCPU" \
        'BEGIN{d=(b-a)*n; o=(d>0)?(j/hz-own)/d:0; if(o<0)o=0; if(o>1)o=1; printf "%.3f", o}')
    rm -f "$OUT/.time-$TS"
    line=$(grep -v '^[[:space:]]*$' "$tmp" | tail -n 1)
    rm -f "$tmp"
    local err=""
    if [ "$rc" -eq 124 ]; then err="timed out after ${RUN_TIMEOUT}s"
    elif [ "$rc" -ne 0 ]; then err="exited with status $rc"
    elif ! python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert isinstance(r, dict)' "$line" 2>/dev/null; then
        err="last stdout line is not a JSON object: ${line:0:200}"
    fi
    if [ -n "$err" ]; then
        log "FAILED: $kind on $name at $thr threads: $err"
        log "  last lines of its stderr (full log: $LOGF):"; tail -n 5 "$LOGF" | sed 's/^/    /' >&2
        printf '{"kind":"%s","model_name":"%s","threads":%s,"pp":%s,"tg":%s,"reps":%s,"error":%s}\n' \
            "$kind" "$name" "$thr" "$PP" "$TG" "$REPS" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$err")" >> "$RESULTS"
        return 1
    fi
    printf '{"kind":"%s","model_name":"%s","threads":%s,"pp":%s,"tg":%s,"reps":%s,"other_cpu":%s,"result":%s}\n' \
        "$kind" "$name" "$thr" "$PP" "$TG" "$REPS" "$other" "$line" >> "$RESULTS"
    [ "$(awk -v o="$other" 'BEGIN{print (o > 0.05)}')" = 1 ] && log "  note: other processes used $(awk -v o="$other" 'BEGIN{printf "%.0f", 100*o}')% of the CPU during this run"
    return 0
}

run_membw() {  # PHASE
    local line
    wait_idle
    log "membw ($1), threads $MEMBW_T"
    line=$("$MEMBW" -t "$MEMBW_T" -p 10 -j 2>> "$LOGF") || die "membw failed (see $LOGF)"
    printf '{"kind":"membw","phase":"%s","result":%s}\n' "$1" "$line" >> "$RESULTS"
}

# ---------------------------------------------------------------- 5. run
TS=$(date +%Y%m%d-%H%M%S)
RESULTS=$OUT/results-$TS.jsonl
LOGF=$OUT/run-$TS.log
REPORT=$OUT/report-$TS.md
: > "$RESULTS" || die "cannot write $RESULTS"
log "results: $RESULTS   engine logs: $LOGF"
FAILS=0
cpu=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null)
flags=$(awk -F': *' '/^flags/{print $2; exit}' /proc/cpuinfo 2>/dev/null)
simd=$(for f in avx2 avx512f avx512bw avx512vl avx512_vnni avx512_vbmi avx512_bf16 avx_vnni; do
    [[ " $flags " == *" $f "* ]] && printf '%s ' "$f"; done)
printf '{"kind":"host","cpu":"%s","nproc":%s,"simd":"%s","date":"%s"}\n' \
    "${cpu//\"/}" "$NCPU" "${simd% }" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$RESULTS"
run_membw before
for i in "${!MPATH[@]}"; do
    m=${MPATH[$i]}; name=${MNAME[$i]}
    for t in $THREADS; do
        if [ "$RUN_OURS" = 1 ]; then
            run_json ours "$name" "$t" "$OLLAMA" bench-file "$m" --threads "$t" --pp "$PP" --tg "$TG" --reps "$REPS" \
                || FAILS=$((FAILS + 1))
        fi
        if [ "$RUN_LLAMACPP" = 1 ]; then
            run_json llamacpp "$name" "$t" node "$TOOLS/llamacpp-bench.mjs" "$m" --threads "$t" --pp "$PP" --tg "$TG" \
                --reps "$REPS" --nlc-dir "$NLC_DIR" || FAILS=$((FAILS + 1))
        fi
        if [ -n "$LLAMA_BENCH" ]; then
            run_json native "$name" "$t" python3 "$ROOT/bench/llama_bench.py" "$LLAMA_BENCH" "$m" --threads "$t" \
                --pp "$PP" --tg "$TG" --reps "$REPS" || FAILS=$((FAILS + 1))
        fi
    done
done
run_membw after

# ---------------------------------------------------------------- 6. report
python3 "$ROOT/bench/report.py" "$RESULTS" | tee "$REPORT" || die "bench/report.py failed on $RESULTS"
log "table saved to $REPORT"
if [ "$FAILS" -gt 0 ]; then
    die "$FAILS benchmark run(s) failed (marked FAILED/- in the table); see $LOGF"
fi
exit 0

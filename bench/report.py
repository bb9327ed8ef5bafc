#!/usr/bin/env python3
"""report.py - markdown table of a bench/run.sh results file (Python 3 stdlib only).

Usage: bench/report.py bench/out/results-<timestamp>.jsonl

Input: the JSON lines written by bench/run.sh:
  {"kind":"ours"|"llamacpp"|"native","model_name":"llama-1b-q4_k_m","threads":1,"pp":512,"tg":128,
   "reps":3,"other_cpu":0.01,"result":{<one line of `ollama bench-file` / llamacpp-bench.mjs>}}
  (a failed run has "error":"..." instead of "result"), and
  {"kind":"membw","phase":"before"|"after","result":{<membw -j line>}}.

Output: for each model x threads, medians (tokens/s) of ours and of llama.cpp's prebuilt build
(node-llama-cpp) from the same run and their ratio, with --llama-bench also a native
llama-bench of the same run and our ratio to it, plus our ratio to the NATIVE llama.cpp
anchor (llama-bench built from source on another machine, ANCHOR below), memory bandwidth before/after, and a
rough tg ceiling = read bandwidth / model file bytes.
"""
import json
import os
import sys

# Native llama.cpp anchor: `llama-bench -p 512 -n 128 -r 3` built from source (OpenMP,
# -march=native; the llama.cpp version bundled with node-llama-cpp 3.21.1) on a 2-vCPU AMD
# EPYC VM (AVX-512), 2026-11-25.  Source: /work/shared/bench-baseline.md.
# Tokens/s, median of 3 reps; two full passes (pass 1, pass 2); the ratio uses their mean.
# Only valid for pp512 / tg128.
ANCHOR_SOURCE = "native llama-bench, 2-vCPU AMD EPYC VM, 2026-11-25 (shared/bench-baseline.md), mean of 2 passes"
ANCHOR = {
    # (model, threads): {"pp512": (pass1, pass2), "tg128": (pass1, pass2)}
    ("llama-1b-f16", 2):       {"pp512": (94.9, 92.0),   "tg128": (12.8, 17.7)},
    ("llama-1b-f16", 1):       {"pp512": (48.4, 48.5),   "tg128": (9.3, 9.5)},
    ("llama-1b-q8_0", 2):      {"pp512": (105.0, 108.9), "tg128": (18.3, 21.6)},
    ("llama-1b-q8_0", 1):      {"pp512": (55.4, 55.9),   "tg128": (11.9, 12.5)},
    ("llama-1b-q4_0", 2):      {"pp512": (135.2, 135.5), "tg128": (39.9, 41.1)},
    ("llama-1b-q4_0", 1):      {"pp512": (67.7, 69.6),   "tg128": (24.0, 25.7)},
    ("llama-1b-q4_k_m", 2):    {"pp512": (121.9, 127.8), "tg128": (33.9, 44.1)},
    ("llama-1b-q4_k_m", 1):    {"pp512": (59.4, 63.4),   "tg128": (25.3, 25.6)},
    ("qwen2-0.5b-q4_k_m", 2):  {"pp512": (193.8, 210.0), "tg128": (49.6, 52.6)},
    ("qwen2-0.5b-q4_k_m", 1):  {"pp512": (101.2, 112.2), "tg128": (32.5, 35.0)},
    ("qwen2-0.5b-q8_0", 2):    {"pp512": (263.9, 253.7), "tg128": (46.3, 46.9)},
    ("qwen2-0.5b-q8_0", 1):    {"pp512": (134.1, 139.0), "tg128": (34.6, 33.9)},
}

NOISY = 0.05  # other_cpu above this is flagged


# Mixture-of-experts models (bench/make_moe_model.c) read only the selected experts per
# token: the file's size gives no generation ceiling.
MOE_MODELS = ("qwen3moe-", "gpt-oss-")


def anchor(model, threads, test):
    a = ANCHOR.get((model, threads), {}).get(test)
    return sum(a) / len(a) if a else None


def load(path):
    recs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                sys.exit(f"report.py: {path}:{n}: bad JSON: {e}")
    return recs


def test_stats(result, key):
    """(median, min, max) of result[key]; key like pp512."""
    v = result.get(key) if isinstance(result, dict) else None
    if not isinstance(v, dict) or "median" not in v:
        return None
    return (float(v["median"]), float(v.get("min", v["median"])), float(v.get("max", v["median"])))


def f1(x):
    return "-" if x is None else (f"{x:.1f}" if x < 1000 else f"{x:.0f}")


def ratio(a, b):
    return "-" if a is None or b is None or b <= 0 else f"{a / b:.2f}"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS.jsonl")
    recs = load(sys.argv[1])
    runs = {}     # (model, threads, kind) -> record
    order = []    # (model, threads) in run order
    membw = {}    # phase -> {threads: (best, median, min)}
    pp = tg = None
    host = None
    for r in recs:
        kind = r.get("kind")
        if kind == "host":
            host = r
            continue
        if kind == "membw":
            membw[r.get("phase", "?")] = {x["threads"]: (x["best_gbs"], x["median_gbs"], x["min_gbs"])
                                          for x in r["result"].get("results", [])}
            continue
        key = (r["model_name"], int(r["threads"]))
        if key not in order:
            order.append(key)
        runs[key + (kind,)] = r
        pp, tg = r.get("pp", pp), r.get("tg", tg)
    if not order:
        sys.exit("report.py: no benchmark runs in " + sys.argv[1])
    ppk, tgk = f"pp{pp}", f"tg{tg}"
    anchored = (ppk, tgk) == ("pp512", "tg128")

    def bw(t):  # mean over phases of the median GB/s at t threads
        v = [m[t][1] for m in membw.values() if t in m]
        return sum(v) / len(v) if v else None

    def get(model, t, kind, test):
        r = runs.get((model, t, kind))
        if r is None:
            return None, ""
        if "error" in r:
            return None, "FAILED"
        return test_stats(r["result"], test), ""

    def cell(st, err):
        return err or ("-" if st is None else f1(st[0]))

    native = any(k[2] == "native" for k in runs)
    head = ["model", "threads"]
    for test in (ppk, tgk):
        head += [f"ours {test}", f"llama.cpp prebuilt {test}", "ours / prebuilt"]
        head += [f"llama.cpp native {test} (this run)", "ours / native (this run)"] if native else []
        head += ["ours / anchor"]
    head += [f"{tgk} ceiling (ours %)"]
    print(f"### ollama.c vs llama.cpp, {ppk} / {tgk}, tokens/s (median of the reps)")
    print()
    print("| " + " | ".join(head) + " |")
    print("|---|---:|" + "---:|" * (len(head) - 2))
    pre_vs_native = []
    for model, t in order:
        cells = [model, str(t)]
        tg_ours = None
        for test in (ppk, tgk):
            o, oe = get(model, t, "ours", test)
            l, le = get(model, t, "llamacpp", test)
            om = o[0] if o else None
            lm = l[0] if l else None
            nat = anchor(model, t, test) if anchored else None
            cells += [cell(o, oe), cell(l, le), ratio(om, lm)]
            if native:
                n, ne = get(model, t, "native", test)
                cells += [cell(n, ne), ratio(om, n[0] if n else None)]
            cells += [f"{ratio(om, nat)} (of {nat:.1f})" if nat and om else (f"- (of {nat:.1f})" if nat else "-")]
            if nat and lm:
                pre_vs_native.append(f"{model} t{t} {test} {lm / nat:.2f}")
            if test == tgk:
                tg_ours = om
        # rough generation ceiling: bandwidth / file bytes (all weights are read once per token;
        # the tied embedding is read in full as the output projection)
        size = None
        for kind in ("llamacpp", "ours"):
            r = runs.get((model, t, kind))
            res = r.get("result") if r else None
            if isinstance(res, dict):
                size = res.get("model_bytes") or size
                if not size and res.get("model") and os.path.exists(res["model"]):
                    size = os.path.getsize(res["model"])
        b = bw(t)
        if model.startswith(MOE_MODELS):
            cells.append("n/a (MoE)")
        elif size and b:
            ceil = b * 1e9 / size
            cells.append(f"{ceil:.1f}" + (f" ({100 * tg_ours / ceil:.0f}%)" if tg_ours else ""))
        else:
            cells.append("-")
        print("| " + " | ".join(cells) + " |")
    print()
    print("- ours / prebuilt: same machine, same run, back to back; > 1 means we are faster than the")
    print("  prebuilt llama.cpp of node-llama-cpp 3.21.1 (no OpenMP; its 2-thread tg and F16 pp are weak: a floor).")
    if native:
        print("- native (this run): llama-bench built from llama.cpp's sources on this machine (--llama-bench),")
        print("  run back to back with the others: the like-for-like comparison.")
    if anchored:
        print(f"- ours / anchor: against `(of X)` = {ANCHOR_SOURCE};")
        print("  only meaningful on a machine like that one (compare prebuilt/native below).")
        if pre_vs_native:
            print("- llama.cpp prebuilt / native anchor on this machine: " + "; ".join(pre_vs_native))
    else:
        print("- ours / anchor: not computed (the anchors are pp512 / tg128 only).")
    for phase in ("before", "after"):
        if phase in membw:
            print(f"- membw {phase}: " + "; ".join(
                f"{t} thread{'s' if t > 1 else ''} median {v[1]:.1f} GB/s (best {v[0]:.1f}, min {v[2]:.1f})"
                for t, v in sorted(membw[phase].items())))
    print(f"- {tgk} ceiling = mean median membw at that thread count / model file bytes"
          " (not for MoE models, which read only the experts a token selects).")
    noisy = [f"{k[2]} {k[0]} t{k[1]} ({100 * r['other_cpu']:.0f}%)" for k, r in runs.items()
             if r.get("other_cpu", 0) > NOISY]
    if noisy:
        print("- NOISY: other processes used CPU during: " + "; ".join(noisy))
    failed = [f"{k[2]} {k[0]} t{k[1]}: {r['error']}" for k, r in runs.items() if "error" in r]
    if failed:
        print("- FAILED: " + "; ".join(failed))
    if host:
        print(f"- host: {host.get('cpu', '?')} x{host.get('nproc', '?')}, SIMD: {host.get('simd') or 'none of avx2/avx512'}, {host.get('date', '')}")
        if anchored and "avx512f" not in (host.get("simd") or "").split():
            print("- WARNING: the native anchor machine had AVX-512 (F/BW/VL/VNNI/VBMI/BF16); this one has not,")
            print("  so `ours / anchor` is not like for like here: judge by `ours / prebuilt` (and native, this run).")


if __name__ == "__main__":
    main()

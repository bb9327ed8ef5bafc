#!/usr/bin/env python3
"""llama_bench.py - one native llama-bench run as one JSON line in bench-file's shape.

Usage: bench/llama_bench.py LLAMA_BENCH MODEL.gguf --threads N --pp P --tg T --reps R

Runs `LLAMA_BENCH -m MODEL -t N -p P -n T -r R -o jsonl` (a llama-bench you built from
llama.cpp's sources; this project neither ships nor builds it) and prints
  {"engine":"llama.cpp native (llama-bench)","model":..,"threads":N,
   "ppP":{"median":..,"min":..,"max":..,"samples":[..]},"tgT":{...},"build_commit":..}
so that bench/run.sh --llama-bench BIN can set it beside ours and the prebuilt in one run.
"""
import argparse
import json
import statistics
import subprocess
import sys


def stats(samples):
    return {"median": round(statistics.median(samples), 3), "min": round(min(samples), 3),
            "max": round(max(samples), 3), "samples": [round(s, 3) for s in samples]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("model")
    for flag in ("threads", "pp", "tg", "reps"):
        ap.add_argument("--" + flag, type=int, required=True)
    a = ap.parse_args()
    cmd = [a.bin, "-m", a.model, "-t", str(a.threads), "-p", str(a.pp), "-n", str(a.tg), "-r", str(a.reps),
           "-o", "jsonl"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"llama_bench.py: {' '.join(cmd)} exited with status {p.returncode}")
    out = {"engine": "llama.cpp native (llama-bench)", "model": a.model, "threads": a.threads}
    for line in p.stdout.splitlines():
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = f"pp{r['n_prompt']}" if r.get("n_gen", 0) == 0 else f"tg{r['n_gen']}"
        out[key] = stats([float(x) for x in r["samples_ts"]])
        out["build_commit"] = r.get("build_commit")
    if f"pp{a.pp}" not in out or f"tg{a.tg}" not in out:
        sys.exit("llama_bench.py: llama-bench printed no pp/tg results")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

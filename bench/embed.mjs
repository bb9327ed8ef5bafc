#!/usr/bin/env node
// bench/embed.mjs - embedding throughput: inputs/s for 64 sentences of ~32 tokens on an
// embedding model (default bert-small F16 from make-bench-model.py), ours through
// /api/embed (one request, the inputs batched in one forward pass) vs llama.cpp
// (node-llama-cpp@3.21.1's prebuilt build, one getEmbeddingFor call per input: its
// API has no batch call), both at the same thread count, back to back.
// Prints one JSON line and a markdown row with the ratio.
//
// Usage: node bench/embed.mjs [--model bench/models/bert-small-f16.gguf] [--threads 2]
//        [--reps 3] [--inputs 64] [--ollama build/ollama] [--nlc-dir DIR]
// A missing default model is made with ../shared/tools/make-bench-model.py (needs
// /usr/bin/python3 with numpy).
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {pathToFileURL} from "node:url";

import {ROOT, median, parseArgs, serveModel} from "./lib.mjs";

const args = parseArgs({model: path.join(ROOT, "bench/models/bert-small-f16.gguf"), threads: 2, reps: 3, inputs: 64,
                         ollama: path.join(ROOT, "build/ollama"),
                         "nlc-dir": process.env.LLAMACPP_BENCH_NLC_DIR ||
                             path.join(os.homedir(), ".cache/llamacpp-bench/nlc-3.21.1")});
const log = (...a) => console.error("[embed-bench]", ...a);

// Deterministic English sentences of 28-30 words (~32 WordPiece tokens with CLS/SEP).
const WORDS = ("the a river city small old new green quiet people walk along bridge morning light market " +
    "children play garden near station train arrives late evening music plays softly while rain falls " +
    "over roofs and streets of town where bakers sell warm bread to neighbours before work begins").split(" ");
function sentences(n) {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    return Array.from({length: n}, () =>
        Array.from({length: 28 + Math.floor(rand() * 3)}, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ") + ".");
}

function ensureModel() {
    if (fs.existsSync(args.model)) return;
    const tool = path.join(ROOT, "../shared/tools/make-bench-model.py");
    log(`making ${args.model}`);
    fs.mkdirSync(path.dirname(args.model), {recursive: true});
    const r = spawnSync("/usr/bin/python3", [tool, "--preset", "bert-small", "--type", "f16", "-o", args.model],
                        {stdio: "inherit"});
    if (r.status !== 0) throw new Error("make-bench-model.py failed");
}

async function ours(texts) {
    const {base, stop} = await serveModel(args.ollama, args.model, "embed");
    try {
        const embed = async (input) => {
            const r = await fetch(base + "/api/embed", {method: "POST",
                body: JSON.stringify({model: "embed", input, options: {num_thread: args.threads}})});
            const j = await r.json();
            if (j.error) throw new Error(j.error);
            return j;
        };
        await embed(texts.slice(0, 4)); // load + warm-up
        const rates = [];
        let tokens = 0;
        for (let r = 0; r < args.reps; r++) {
            const t0 = performance.now();
            const j = await embed(texts);
            const s = (performance.now() - t0) / 1000;
            if (j.embeddings.length !== texts.length) throw new Error("wrong number of embeddings");
            tokens = j.prompt_eval_count;
            rates.push(texts.length / s);
        }
        return {rates, tokens};
    } finally {
        await stop();
    }
}

async function llamacpp(texts) {
    const pkg = path.join(args["nlc-dir"], "node_modules/node-llama-cpp/dist/index.js");
    const {getLlama, LlamaLogLevel} = await import(pathToFileURL(pkg).href);
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 0,
                                  progressLogs: false});
    const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0, useMmap: true});
    const ctx = await model.createEmbeddingContext({contextSize: 512, batchSize: 512, threads: args.threads});
    for (const t of texts.slice(0, 4)) await ctx.getEmbeddingFor(t); // warm-up
    const rates = [];
    for (let r = 0; r < args.reps; r++) {
        const t0 = performance.now();
        for (const t of texts) await ctx.getEmbeddingFor(t);
        rates.push(texts.length / ((performance.now() - t0) / 1000));
    }
    await ctx.dispose();
    await model.dispose();
    return {rates};
}

async function main() {
    ensureModel();
    const texts = sentences(args.inputs);
    log(`ours: /api/embed with ${texts.length} inputs, ${args.threads} threads`);
    const o = await ours(texts);
    log(`llama.cpp: getEmbeddingFor x ${texts.length}, ${args.threads} threads`);
    const l = await llamacpp(texts);
    const mo = median(o.rates), ml = median(l.rates);
    console.log(JSON.stringify({model: path.basename(args.model), threads: args.threads, inputs: texts.length,
        prompt_tokens: o.tokens, ours_inputs_per_s: +mo.toFixed(2), llamacpp_inputs_per_s: +ml.toFixed(2),
        ratio: +(mo / ml).toFixed(2), samples: {ours: o.rates.map((x) => +x.toFixed(2)),
                                                llamacpp: l.rates.map((x) => +x.toFixed(2))}}));
    console.log(`\n| model | threads | inputs (tokens) | ours inputs/s | llama.cpp prebuilt inputs/s | ours / llama.cpp |`);
    console.log(`|---|---:|---:|---:|---:|---:|`);
    console.log(`| ${path.basename(args.model)} | ${args.threads} | ${texts.length} (${o.tokens}) | ${mo.toFixed(1)} | ` +
                `${ml.toFixed(1)} | ${(mo / ml).toFixed(2)} |`);
}

main().catch((e) => {
    console.error("[embed-bench] error:", e.message);
    process.exit(1);
});

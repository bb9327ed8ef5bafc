#!/usr/bin/env node
// bench/serve.mjs - the server's own costs, on a real model through HTTP:
//   1. time to first token of a 32-token prompt through /api/generate (streamed), and the
//      server overhead: that time less the engine's own prefill of the same request (its
//      prompt_eval_duration), i.e. HTTP, JSON, scheduling, tokenisation and the stream;
//      the engine alone (`ollama bench-file --pp 32`, another process) is shown beside it;
//   2. aggregate generation tokens/s with 1, 2 and 4 parallel streams on one model
//      (OLLAMA_NUM_PARALLEL=4: the streams are decoded together in one batch): over the
//      whole run (the streams' prompts included), and while all streams are generating.
// Prints one JSON line and a markdown table.
//
// Usage: node bench/serve.mjs [--model bench/models/llama-1b-q4_k_m.gguf] [--threads 2]
//        [--reps 5] [--tg 64] [--streams "1 2 4"] [--ollama build/ollama]
// The model is uploaded into a temporary store (removed afterwards).
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import {ROOT, median, parseArgs, serveModel} from "./lib.mjs";

const args = parseArgs({model: "bench/models/llama-1b-q4_k_m.gguf", threads: 2, reps: 5, tg: 64, streams: "1 2 4",
                         ollama: path.join(ROOT, "build/ollama")});
const log = (...a) => console.error("[serve-bench]", ...a);

// Common words that are one token each with a leading space in Llama 3's
// vocabulary: 31 of them after BOS make a 32-token prompt, and drawing them
// at random keeps the engine from reusing a cached prefix.
const WORDS = ("the of and to in is was for on that with as it his by at from he this had not are but be " +
    "have you which one were her all she there would their we him been has when who will more no out do so " +
    "can what up said about other into than its time only could new them man some these then two first may " +
    "any like now my such make over our even most me state after also made many did must before back see " +
    "through way where get much go well your know should down work year because come people just say each " +
    "those take day good how long little very").split(" ");
const prompt32 = () => Array.from({length: 31}, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(" ");

const OPTIONS = () => ({temperature: 0, num_thread: args.threads, num_ctx: 2048});

// One streamed request: time to the first non-empty piece, and the final chunk.
async function generate(base, prompt, numPredict) {
    const t0 = performance.now();
    const res = await fetch(base + "/api/generate", {method: "POST", body: JSON.stringify({
        model: "bench", prompt, raw: true, options: {...OPTIONS(), num_predict: numPredict}})});
    let ttft = null, buf = "", last = null;
    const times = []; // arrival of each piece of text (one token each, near enough)
    for await (const chunk of res.body) {
        buf += Buffer.from(chunk).toString();
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
            const obj = JSON.parse(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            if (obj.error) throw new Error(obj.error);
            if (ttft === null && (obj.response || obj.done)) ttft = performance.now() - t0;
            if (obj.response) times.push(performance.now());
            if (obj.done) last = obj;
        }
    }
    return {ttft, final: last, wall: performance.now() - t0, times};
}

function engineTtftMs() {
    const r = spawnSync(args.ollama, ["bench-file", args.model, "--threads", String(args.threads), "--pp", "32",
                                      "--tg", "0", "--reps", String(args.reps)]);
    const line = r.stdout.toString().trim().split("\n").pop();
    return 32 / JSON.parse(line).pp32.median * 1000;
}

async function main() {
    if (!fs.existsSync(args.model)) throw new Error(`${args.model} missing (bench/run.sh makes it)`);
    log(`engine alone: bench-file --pp 32, ${args.threads} threads`);
    const engineMs = engineTtftMs();
    log("uploading and creating the model");
    const {base, stop} = await serveModel(args.ollama, args.model, "bench", {OLLAMA_NUM_PARALLEL: "4"});
    try {
        await generate(base, prompt32(), 4); // load + warm-up
        const ttfts = [], counts = [], overheads = [];
        for (let r = 0; r < args.reps; r++) {
            const g = await generate(base, prompt32(), 1);
            ttfts.push(g.ttft);
            counts.push(g.final.prompt_eval_count);
            overheads.push(g.ttft - g.final.prompt_eval_duration / 1e6);
        }
        const http = median(ttfts), overhead = median(overheads);
        log(`TTFT http ${http.toFixed(1)} ms, engine ${engineMs.toFixed(1)} ms (prompt tokens ${counts})`);
        const streams = {};
        for (const k of args.streams.split(/\s+/).map(Number)) {
            const t0 = performance.now();
            const rs = await Promise.all(Array.from({length: k}, () => generate(base, prompt32(), args.tg)));
            const wall = (performance.now() - t0) / 1000;
            const tokens = rs.reduce((s, r) => s + r.final.eval_count, 0);
            // Steady state: the tokens that arrived while every stream was generating
            // (after the last one's first token, before the first one's last), per second.
            const from = Math.max(...rs.map((r) => r.times[0])), to = Math.min(...rs.map((r) => r.times.at(-1)));
            const inWindow = rs.reduce((s, r) => s + r.times.filter((t) => t > from && t <= to).length, 0);
            const steady = to > from ? inWindow / ((to - from) / 1000) : NaN;
            streams[k] = {tokens, wall_s: +wall.toFixed(3), aggregate_tps: +(tokens / wall).toFixed(2),
                          steady_tps: +steady.toFixed(2)};
            log(`${k} stream(s): ${tokens} tokens in ${wall.toFixed(2)} s = ${(tokens / wall).toFixed(2)} t/s` +
                ` (prompts included); all streams generating: ${steady.toFixed(2)} t/s`);
        }
        const out = {engine: "ollama.c", model: args.model, threads: args.threads,
                     ttft_ms: {http: +http.toFixed(2), engine: +engineMs.toFixed(2),
                               overhead: +overhead.toFixed(2), samples: ttfts.map((x) => +x.toFixed(2))},
                     prompt_tokens: counts[0], streams};
        console.log(JSON.stringify(out));
        const one = streams[1]?.aggregate_tps, oneSteady = streams[1]?.steady_tps;
        console.log(`\n| measure | value |\n|---|---:|`);
        console.log(`| TTFT, 32-token prompt, HTTP (median of ${args.reps}) | ${http.toFixed(1)} ms |`);
        console.log(`| TTFT, engine alone (32 / pp32, bench-file) | ${engineMs.toFixed(1)} ms |`);
        console.log(`| server overhead (TTFT less the request's own prefill) | ${overhead.toFixed(1)} ms |`);
        for (const [k, s] of Object.entries(streams))
            console.log(`| ${k} parallel stream(s), aggregate tg, prompts included | ${s.aggregate_tps} t/s` +
                        (one ? ` (${(s.aggregate_tps / one).toFixed(2)}x one stream)` : "") + " |");
        for (const [k, s] of Object.entries(streams))
            console.log(`| ${k} parallel stream(s), aggregate tg, all streams generating | ${s.steady_tps} t/s` +
                        (oneSteady ? ` (${(s.steady_tps / oneSteady).toFixed(2)}x one stream)` : "") + " |");
    } finally {
        await stop();
    }
}

main().catch((e) => {
    console.error("[serve-bench] error:", e.message);
    process.exit(1);
});

#!/usr/bin/env node
// bench/serve.mjs - the server's own costs, on a real model through HTTP:
//   1. time to first token of a 32-token prompt through /api/generate (streamed), and the
//      server overhead: that time less the engine's own prefill of the same request (its
//      prompt_eval_duration), i.e. HTTP, JSON, scheduling, tokenisation and the stream;
//      the engine alone (`ollama bench-file --pp 32`, another process) is shown beside it;
//   2. aggregate generation tokens/s with 1, 2 and 4 parallel streams on one model
//      (OLLAMA_NUM_PARALLEL=4: the streams are decoded together in one batch).
// Prints one JSON line and a markdown table.
//
// Usage: node bench/serve.mjs [--model bench/models/llama-1b-q4_k_m.gguf] [--threads 2]
//        [--reps 5] [--tg 64] [--streams "1 2 4"] [--ollama build/ollama]
// The model is uploaded into a temporary store (removed afterwards).
import {spawn, spawnSync} from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const args = {model: "bench/models/llama-1b-q4_k_m.gguf", threads: 2, reps: 5, tg: 64, streams: "1 2 4",
              ollama: path.join(ROOT, "build/ollama")};
for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i].replace(/^--/, "");
    if (!(k in args) || i + 1 >= process.argv.length) {
        console.error(`usage: see the header of ${process.argv[1]}`);
        process.exit(2);
    }
    args[k] = typeof args[k] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const log = (...a) => console.error("[serve-bench]", ...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const {port} = s.address();
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

async function startServer(dir) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = spawn(args.ollama, ["serve"], {
        env: {...process.env, HOME: dir, OLLAMA_HOST: `127.0.0.1:${port}`, OLLAMA_MODELS: path.join(dir, "models"),
              OLLAMA_NUM_PARALLEL: "4", OLLAMA_KEEP_ALIVE: "-1"},
        stdio: ["ignore", "ignore", fs.openSync(path.join(dir, "server.log"), "w")],
    });
    for (let i = 0; i < 100; i++) {
        try {
            if ((await (await fetch(base + "/")).text()) === "Ollama is running") return {proc, base};
        } catch {}
        await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill();
    throw new Error("server did not start");
}

async function createModel(base) {
    const digest = "sha256:" + spawnSync("sha256sum", [args.model]).stdout.toString().split(" ")[0];
    const up = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                  "--data-binary", "@" + args.model, `${base}/api/blobs/${digest}`]);
    if (!["200", "201"].includes(up.stdout.toString())) throw new Error("blob upload failed");
    const res = await fetch(base + "/api/create", {method: "POST",
        body: JSON.stringify({model: "bench", files: {"model.gguf": digest}, stream: false})});
    if (!res.ok) throw new Error("create: " + (await res.text()));
}

const OPTIONS = () => ({temperature: 0, num_thread: args.threads, num_ctx: 2048});

// One streamed request: time to the first non-empty piece, and the final chunk.
async function generate(base, prompt, numPredict) {
    const t0 = performance.now();
    const res = await fetch(base + "/api/generate", {method: "POST", body: JSON.stringify({
        model: "bench", prompt, raw: true, options: {...OPTIONS(), num_predict: numPredict}})});
    let ttft = null, buf = "", last = null;
    for await (const chunk of res.body) {
        buf += Buffer.from(chunk).toString();
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
            const obj = JSON.parse(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            if (obj.error) throw new Error(obj.error);
            if (ttft === null && (obj.response || obj.done)) ttft = performance.now() - t0;
            if (obj.done) last = obj;
        }
    }
    return {ttft, final: last, wall: performance.now() - t0};
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
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ollama-serve-bench-"));
    const {proc, base} = await startServer(dir);
    try {
        log("uploading and creating the model");
        await createModel(base);
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
            streams[k] = {tokens, wall_s: +wall.toFixed(3), aggregate_tps: +(tokens / wall).toFixed(2)};
            log(`${k} stream(s): ${tokens} tokens in ${wall.toFixed(2)} s = ${(tokens / wall).toFixed(2)} t/s`);
        }
        const out = {engine: "ollama.c", model: args.model, threads: args.threads,
                     ttft_ms: {http: +http.toFixed(2), engine: +engineMs.toFixed(2),
                               overhead: +overhead.toFixed(2), samples: ttfts.map((x) => +x.toFixed(2))},
                     prompt_tokens: counts[0], streams};
        console.log(JSON.stringify(out));
        const one = streams[1]?.aggregate_tps;
        console.log(`\n| measure | value |\n|---|---:|`);
        console.log(`| TTFT, 32-token prompt, HTTP (median of ${args.reps}) | ${http.toFixed(1)} ms |`);
        console.log(`| TTFT, engine alone (32 / pp32, bench-file) | ${engineMs.toFixed(1)} ms |`);
        console.log(`| server overhead (TTFT less the request's own prefill) | ${overhead.toFixed(1)} ms |`);
        for (const [k, s] of Object.entries(streams))
            console.log(`| ${k} parallel stream(s), aggregate tg | ${s.aggregate_tps} t/s` +
                        (one ? ` (${(s.aggregate_tps / one).toFixed(2)}x one stream)` : "") + " |");
    } finally {
        proc.kill("SIGTERM");
        await new Promise((r) => proc.on("exit", r));
        fs.rmSync(dir, {recursive: true, force: true});
    }
}

main().catch((e) => {
    console.error("[serve-bench] error:", e.message);
    process.exit(1);
});

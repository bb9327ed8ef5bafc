#!/usr/bin/env node
// tests/data/reference: writes llama.cpp's outputs for a GGUF model as the
// JSON that tests/unit/test_families.c checks against. Uses the prebuilt
// llama.cpp of node-llama-cpp@3.21.1 (CPU, one thread, F32 KV cache, flash
// attention off, full-size sliding-window cache; embeddings: the pooled
// vector as llama.cpp returns it, before any normalisation).
//
// node-llama-cpp returns next-token probabilities, not logits, so
// "last_prompt_logprobs" holds log(p) = logit - logsumexp(logits): the
// logits up to one constant per vector (null where p underflowed to 0).
//
// Usage: node llamacpp-reference.mjs MODEL.gguf PROMPT N_GREEDY [N_CTX] > OUT.json
//        node llamacpp-reference.mjs --embed MODEL.gguf TEXT [TEXT...] > OUT.json
// With --embed and more than one TEXT, also "inputs", "tokens" (each
// input's tokens as the embedding context evaluated them: for WordPiece
// vocabs CLS ... SEP), "embeddings_raw" (pooled) and
// "embeddings_normalized" (the same scaled to unit length here, as Ollama
// returns them).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {pathToFileURL} from "node:url";

const dir = process.env.LLAMACPP_BENCH_NLC_DIR || path.join(os.homedir(), ".cache/llamacpp-bench/nlc-3.21.1");
const pkg = path.join(dir, "node_modules/node-llama-cpp/dist/index.js");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(pkg).href);

const args = process.argv.slice(2);
const embedMode = args[0] === "--embed";
if (embedMode) args.shift();
const [modelPath, prompt, nGreedyArg, nCtxArg] = args;
const nCtx = Number(nCtxArg || 256);
if (!modelPath || prompt === undefined) {
    process.stderr.write("usage: llamacpp-reference.mjs [--embed] MODEL.gguf PROMPT [N_GREEDY]\n");
    process.exit(2);
}
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 0, progressLogs: false});
const model = await llama.loadModel({
    modelPath: path.resolve(modelPath), gpuLayers: 0, useMmap: true,
    defaultContextFlashAttention: false, defaultContextSwaFullCache: true,
});
const addBos = model.tokens.shouldPrependBosToken && model.tokens.bos != null;
const tokens = model.tokenize(prompt, false);
if (addBos) tokens.unshift(model.tokens.bos);
const out = {prompt, add_bos: addBos, model: path.basename(modelPath), prompt_tokens: tokens};

if (embedMode) {
    const ctx = await model.createEmbeddingContext({contextSize: 256, batchSize: 256, threads: 1});
    const e = await ctx.getEmbeddingFor(tokens);
    out.embedding = Array.from(e.vector);
    const texts = args.slice(1);
    if (texts.length > 1) {
        Object.assign(out, {inputs: texts, tokens: [], embeddings_raw: [], embeddings_normalized: []});
        for (const text of texts) {
            const evaluated = model.tokenize(text, false);
            ctx._prepareInput(evaluated); // what getEmbeddingFor adds (node-llama-cpp 3.21.1 internals)
            const v = Array.from((await ctx.getEmbeddingFor(evaluated)).vector);
            const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
            out.tokens.push(evaluated);
            out.embeddings_raw.push(v);
            out.embeddings_normalized.push(v.map((x) => x / norm));
        }
    }
} else {
    const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    const ctx = await model.createContext({
        contextSize: nCtx, batchSize: nCtx, threads: {ideal: 1, min: 1}, flashAttention: false, sequences: 1,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", swaFullCache: true,
        ignoreMemorySafetyChecks: true,
    });
    const seq = ctx.getSequence();
    const greedy = [];
    let first = true;
    const gen = seq.evaluateWithMetadata(tokens, {probabilities: true}, {temperature: 0, yieldEogToken: true});
    for await (const r of gen) {
        if (first) {
            const lp = new Array(nVocab).fill(null);
            for (const [tok, p] of r.probabilities) lp[tok] = p > 0 ? Math.log(p) : null;
            out.n_vocab = nVocab;
            out.n_ctx = nCtx;
            out.last_prompt_logprobs = lp;
            first = false;
        }
        greedy.push(r.token);
        if (model.isEogToken(r.token) || greedy.length >= Number(nGreedyArg || 16)) break;
    }
    out.greedy_tokens = greedy;
    out.greedy_text = model.detokenize(greedy);
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(0);

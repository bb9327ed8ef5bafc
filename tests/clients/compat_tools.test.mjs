// Thinking and tool calls through the OpenAI and Anthropic SDKs: the
// server's test hook OLLAMA_TEST_REPLAY makes the model "say" a thinking
// block and a tool call, which the native chat parses and the /v1 layers
// must hand to the SDKs in their shapes (reasoning, tool_calls with
// JSON-string arguments and finish_reason tool_calls; thinking and
// tool_use blocks with stop_reason tool_use; Responses reasoning and
// function_call items), streamed and not.
import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {after, before, test} from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

import {startServer} from "./server.mjs";

const HERE = path.dirname(new URL(import.meta.url).pathname);
const SHARED = process.env.OLLAMA_SHARED || path.resolve(HERE, "../../../shared");
const TINY = path.join(SHARED, "testdata/models/llama-2-tiny-random.gguf");
const OUT = '<think>I need the weather.</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
const MSGS = [{role: "user", content: "Weather in Paris?"}];
const TOOL = {name: "get_weather", description: "Weather now", parameters: {type: "object", properties: {city: {type: "string"}}, required: ["city"]}};
let server, openai, anthropic;

before(async function () {
    if (!fs.existsSync(TINY)) return;
    server = await startServer(process.env.OLLAMA_BIN, {OLLAMA_TEST_REPLAY: OUT});
    const data = fs.readFileSync(TINY);
    const digest = "sha256:" + createHash("sha256").update(data).digest("hex");
    await fetch(`${server.host}/api/blobs/${digest}`, {method: "POST", body: data});
    const template = fs.readFileSync(path.join(HERE, "../integration/data/chat_features.gotmpl"), "utf8");
    const res = await fetch(`${server.host}/api/create`, {method: "POST",
        body: JSON.stringify({model: "tools", files: {"m.gguf": digest}, template, stream: false})});
    assert.equal(res.status, 200, await res.text());
    openai = new OpenAI({baseURL: server.host + "/v1", apiKey: "x", maxRetries: 0});
    anthropic = new Anthropic({baseURL: server.host, apiKey: "x", maxRetries: 0});
});

after(() => server?.stop());

const NO_MODEL = "no llama-2-tiny-random.gguf in the shared test data";

test("OpenAI chat: reasoning and a tool call, not streamed", async (t) => {
    if (!server) return t.skip(NO_MODEL);
    const res = await openai.chat.completions.create({model: "tools", messages: MSGS, tools: [{type: "function", function: TOOL}],
        reasoning_effort: "low"});
    const m = res.choices[0].message;
    assert.equal(m.reasoning, "I need the weather.");
    assert.equal(m.content, "");
    assert.equal(m.tool_calls.length, 1);
    assert.match(m.tool_calls[0].id, /^call_[a-z0-9]{8}$/);
    assert.equal(m.tool_calls[0].type, "function");
    assert.equal(m.tool_calls[0].function.name, "get_weather");
    assert.equal(m.tool_calls[0].function.arguments, '{"city":"Paris"}');
    assert.equal(res.choices[0].finish_reason, "tool_calls");
    // the call and its result go back in: accepted and rendered
    const next = await openai.chat.completions.create({model: "tools", tools: [{type: "function", function: TOOL}], messages: [
        ...MSGS, m, {role: "tool", tool_call_id: m.tool_calls[0].id, content: "18 C"}]});
    assert.equal(next.choices[0].finish_reason, "tool_calls");
});

test("OpenAI chat: streamed, the SDK's helper assembles the same call", async (t) => {
    if (!server) return t.skip(NO_MODEL);
    const stream = openai.chat.completions.stream({model: "tools", messages: MSGS, tools: [{type: "function", function: TOOL}],
        reasoning_effort: "low"});
    const chunks = [];
    stream.on("chunk", (c) => chunks.push(c));
    const final = await stream.finalChatCompletion();
    const m = final.choices[0].message;
    assert.equal(m.tool_calls[0].function.name, "get_weather");
    assert.equal(m.tool_calls[0].function.arguments, '{"city":"Paris"}');
    assert.equal(final.choices[0].finish_reason, "tool_calls");
    const reasoning = chunks.map((c) => c.choices[0]?.delta?.reasoning ?? "").join("");
    assert.equal(reasoning, "I need the weather.");
    const withCalls = chunks.filter((c) => c.choices[0]?.delta?.tool_calls);
    assert.equal(withCalls.length, 1); // whole, in one delta
    assert.equal(withCalls[0].choices[0].delta.content, "");
});

test("Anthropic messages: thinking and tool_use blocks, streamed and not", async (t) => {
    if (!server) return t.skip(NO_MODEL);
    const req = {model: "tools", max_tokens: 64, messages: MSGS, thinking: {type: "enabled", budget_tokens: 1024},
        tools: [{name: TOOL.name, description: TOOL.description, input_schema: TOOL.parameters}]};
    const msg = await anthropic.messages.create(req);
    assert.deepEqual(msg.content.map((b) => b.type), ["thinking", "tool_use"]);
    assert.equal(msg.content[0].thinking, "I need the weather.");
    assert.equal(msg.content[1].name, "get_weather");
    assert.deepEqual(msg.content[1].input, {city: "Paris"});
    assert.equal(msg.stop_reason, "tool_use");
    const final = await anthropic.messages.stream(req).finalMessage();
    assert.deepEqual(final.content.map((b) => b.type), ["thinking", "tool_use"]);
    assert.equal(final.content[0].thinking, "I need the weather.");
    assert.deepEqual(final.content[1].input, {city: "Paris"});
    assert.equal(final.stop_reason, "tool_use");
    // the tool_use and its tool_result go back in
    const next = await anthropic.messages.create({...req, messages: [...MSGS, {role: "assistant", content: msg.content},
        {role: "user", content: [{type: "tool_result", tool_use_id: msg.content[1].id, content: "18 C"}]}]});
    assert.equal(next.stop_reason, "tool_use");
});

test("Responses: reasoning and function_call items, streamed and not", async (t) => {
    if (!server) return t.skip(NO_MODEL);
    const req = {model: "tools", input: "Weather in Paris?", reasoning: {effort: "low"}, tools: [{type: "function", ...TOOL, strict: false}]};
    const res = await openai.responses.create(req);
    assert.deepEqual(res.output.map((o) => o.type), ["reasoning", "function_call"]);
    assert.equal(res.output[0].summary[0].text, "I need the weather.");
    assert.equal(res.output[1].name, "get_weather");
    assert.equal(res.output[1].arguments, '{"city":"Paris"}');
    assert.match(res.output[1].call_id, /^call_/);
    const events = [];
    for await (const ev of await openai.responses.create({...req, stream: true})) events.push(ev);
    const done = events.at(-1);
    assert.equal(done.type, "response.completed");
    assert.deepEqual(done.response.output.map((o) => o.type), ["reasoning", "function_call"]);
    assert.ok(events.some((e) => e.type === "response.function_call_arguments.done" && e.arguments === '{"city":"Paris"}'));
});

test("audio transcriptions: the SDK's multipart upload, JSON and text answers, errors", async (t) => {
    if (!server) return t.skip(NO_MODEL);
    // a "vision" model (the key is all the capability check reads) that always says the same words
    const {execFileSync} = await import("node:child_process");
    const os = await import("node:os");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ollama-audio-"));
    fs.writeFileSync(path.join(dir, "v"), "1");
    execFileSync("python3", [path.join(HERE, "../integration/gguf_set_kv.py"), TINY, path.join(dir, "tv.gguf"),
        "llama.vision.block_count", path.join(dir, "v")]);
    const srv = await startServer(process.env.OLLAMA_BIN, {OLLAMA_TEST_REPLAY: " Hello world. "});
    try {
        const data = fs.readFileSync(path.join(dir, "tv.gguf"));
        const digest = "sha256:" + createHash("sha256").update(data).digest("hex");
        await fetch(`${srv.host}/api/blobs/${digest}`, {method: "POST", body: data});
        await fetch(`${srv.host}/api/create`, {method: "POST", body: JSON.stringify({model: "tv", files: {"m.gguf": digest}, stream: false})});
        const client = new OpenAI({baseURL: srv.host + "/v1", apiKey: "x", maxRetries: 0});
        const file = await OpenAI.toFile(Buffer.from("RIFF fake audio"), "a.wav", {type: "audio/wav"});
        const res = await client.audio.transcriptions.create({model: "tv", file, language: "en"});
        assert.equal(res.text, "Hello world."); // trimmed, as upstream
        const text = await client.audio.transcriptions.create({model: "tv", file, response_format: "text"});
        assert.equal(String(text).trim(), "Hello world.");
        await assert.rejects(client.audio.transcriptions.create({model: "nope", file}),
            (e) => e instanceof OpenAI.NotFoundError && e.error.message === "model 'nope' not found");
        const empty = await OpenAI.toFile(Buffer.alloc(0), "a.wav");
        await assert.rejects(client.audio.transcriptions.create({model: "tv", file: empty}),
            (e) => e instanceof OpenAI.BadRequestError && e.error.message === "audio file is empty");
    } finally {
        srv.stop();
        fs.rmSync(dir, {recursive: true, force: true});
    }
});

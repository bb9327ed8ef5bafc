// ollama.c's OpenAI-compatible API (/v1) through the official `openai` npm
// client (pinned in package.json): chat and completions (streamed and not,
// same greedy text both ways), models, embeddings (float and base64, from a
// tiny BERT model when numpy is there), response_format, tools, and errors
// surfacing as the SDK's typed errors.
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {createHash} from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, before, test} from "node:test";
import OpenAI from "openai";

import {startServer, uploadDemo} from "./server.mjs";

const BIN = process.env.OLLAMA_BIN;
const PROMPT = [{role: "user", content: "Once upon a time"}];
const GREEDY = {temperature: 0, seed: 42, max_tokens: 12};
let server, client;

async function api(p, body) {
    const res = await fetch(server.host + p, {method: "POST", body: JSON.stringify(body)});
    assert.equal(res.status, 200, await res.clone().text());
    return res;
}

before(async () => {
    server = await startServer(BIN);
    client = new OpenAI({baseURL: server.host + "/v1", apiKey: "ollama", maxRetries: 0});
    const digest = await uploadDemo(server.host);
    await api("/api/create", {model: "stories", files: {"stories.gguf": digest}, stream: false});
    // the same weights with a template that declares tools
    await api("/api/create", {model: "story-tools", from: "stories", stream: false,
        template: "{{ if .Tools }}{{ range .Tools }}{{ .Function.Name }} {{ end }}{{ end }}{{ range .Messages }}{{ .Content }}{{ end }}"});
});

after(() => server.stop());

test("chat, not streamed: greedy text, usage, ids", async () => {
    const res = await client.chat.completions.create({model: "stories", messages: PROMPT, ...GREEDY});
    assert.match(res.id, /^chatcmpl-\d+$/);
    assert.equal(res.object, "chat.completion");
    assert.equal(res.model, "stories");
    assert.equal(res.system_fingerprint, "fp_ollama");
    assert.ok(Math.abs(res.created - Date.now() / 1000) < 120, String(res.created));
    assert.equal(res.choices.length, 1);
    const c = res.choices[0];
    assert.equal(c.message.role, "assistant");
    assert.ok(c.message.content.startsWith(", there was a little girl named Lily"), c.message.content);
    assert.equal(c.finish_reason, "length");
    assert.equal(res.usage.completion_tokens, 12);
    assert.ok(res.usage.prompt_tokens > 0);
    assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + 12);
});

test("chat, streamed: the same text, role first, finish and usage chunks", async () => {
    const whole = await client.chat.completions.create({model: "stories", messages: PROMPT, ...GREEDY});
    const stream = await client.chat.completions.create({model: "stories", messages: PROMPT, ...GREEDY, stream: true,
        stream_options: {include_usage: true}});
    let text = "", chunks = [];
    for await (const chunk of stream) {
        chunks.push(chunk);
        if (chunk.choices.length) text += chunk.choices[0].delta.content ?? "";
    }
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    assert.ok(chunks.slice(1).every((c) => !c.choices.length || c.choices[0].delta.role === undefined));
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
    assert.equal(new Set(chunks.map((c) => c.created)).size, 1);
    const finish = chunks[chunks.length - 2], usage = chunks[chunks.length - 1];
    assert.deepEqual(finish.choices[0].delta, {});
    assert.equal(finish.choices[0].finish_reason, "length");
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, whole.usage);
    // without include_usage no chunk has usage
    const plain = await client.chat.completions.create({model: "stories", messages: PROMPT, ...GREEDY, stream: true});
    for await (const chunk of plain) assert.equal(chunk.usage, undefined);
});

test("chat: stop, n, user, penalties and a multi-part message are accepted", async () => {
    const res = await client.chat.completions.create({model: "stories", ...GREEDY, stop: [" girl"], n: 1, user: "u1",
        frequency_penalty: 0, presence_penalty: 0, top_p: 1,
        messages: [{role: "system", content: "Tell a story."}, {role: "user", content: [{type: "text", text: "Once upon a time"}]}]});
    const text = res.choices[0].message.content;
    assert.ok(!text.includes(" girl"), text);
    assert.equal(res.choices[0].finish_reason, "stop");
});

test("chat: response_format json_object and json_schema are accepted", async () => {
    for (const response_format of [{type: "json_object"},
        {type: "json_schema", json_schema: {name: "s", schema: {type: "object", properties: {a: {type: "string"}}}}}]) {
        const res = await client.chat.completions.create({model: "stories", messages: PROMPT, ...GREEDY, max_tokens: 4, response_format});
        assert.equal(res.object, "chat.completion");
        assert.equal(res.usage.completion_tokens > 0, true);
    }
});

test("chat: tools are accepted and rendered, no call comes back from this model", async () => {
    const tools = [{type: "function", function: {name: "get_weather", description: "weather",
        parameters: {type: "object", properties: {city: {type: "string"}}, required: ["city"]}}}];
    const res = await client.chat.completions.create({model: "story-tools", messages: PROMPT, ...GREEDY, tools, tool_choice: "auto"});
    assert.equal(res.choices[0].message.tool_calls, undefined);
    assert.equal(res.choices[0].finish_reason, "length");
    // the template put the tool's name before the prompt: more prompt tokens than without tools
    const bare = await client.chat.completions.create({model: "story-tools", messages: PROMPT, ...GREEDY});
    assert.ok(res.usage.prompt_tokens > bare.usage.prompt_tokens, `${res.usage.prompt_tokens} vs ${bare.usage.prompt_tokens}`);
    // a model whose template has no tools refuses them, as upstream
    await assert.rejects(client.chat.completions.create({model: "stories", messages: PROMPT, tools}),
        (e) => e instanceof OpenAI.BadRequestError && /does not support tools/.test(e.message));
});

test("completions, streamed and not", async () => {
    const res = await client.completions.create({model: "stories", prompt: "Once upon a time", ...GREEDY});
    assert.match(res.id, /^cmpl-\d+$/);
    assert.equal(res.object, "text_completion");
    assert.equal(res.choices[0].index, 0);
    assert.equal(res.choices[0].finish_reason, "length");
    assert.ok(res.choices[0].text.length > 10, res.choices[0].text);
    assert.equal(res.usage.completion_tokens, 12);
    const stream = await client.completions.create({model: "stories", prompt: "Once upon a time", ...GREEDY, stream: true,
        stream_options: {include_usage: true}});
    let text = "", last, usage;
    for await (const chunk of stream) {
        if (chunk.choices.length) text += chunk.choices[0].text, (last = chunk);
        else usage = chunk.usage;
    }
    assert.equal(text, res.choices[0].text);
    assert.equal(last.choices[0].finish_reason, "length");
    assert.deepEqual(usage, res.usage);
});

test("models: list and retrieve", async () => {
    const ids = [];
    for await (const m of client.models.list()) {
        ids.push(m.id);
        assert.equal(m.object, "model");
        assert.equal(m.owned_by, "library");
        assert.ok(Math.abs(m.created - Date.now() / 1000) < 600, String(m.created));
    }
    assert.deepEqual(ids.sort(), ["stories:latest", "story-tools:latest"]);
    const m = await client.models.retrieve("stories");
    assert.equal(m.id, "stories");
    assert.equal(m.owned_by, "library");
    await assert.rejects(client.models.retrieve("nope"), (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
});

// A random-weight BERT (make-bench-model.py, ~3 s) when numpy is there.
function makeBert() {
    const shared = process.env.OLLAMA_SHARED || path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../../shared");
    const tool = path.join(shared, "tools/make-bench-model.py");
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ollama-bert-")), "bert.gguf");
    try {
        execFileSync("/usr/bin/python3", [tool, "--preset", "bert-small", "--type", "f16", "-o", out], {stdio: "ignore"});
        return out;
    } catch {
        return null;
    }
}

test("embeddings: a decoder model is refused; a BERT model gives float and base64 vectors", async (t) => {
    await assert.rejects(client.embeddings.create({model: "stories", input: "hi"}),
        (e) => e instanceof OpenAI.BadRequestError && e.status === 400);
    await assert.rejects(client.embeddings.create({model: "stories", input: "hi", encoding_format: "hex"}),
        (e) => e instanceof OpenAI.BadRequestError && /encoding_format/.test(e.message));
    const file = makeBert();
    if (!file) return t.skip("no python3 with numpy to build the BERT model");
    const data = fs.readFileSync(file);
    const digest = "sha256:" + createHash("sha256").update(data).digest("hex");
    await fetch(`${server.host}/api/blobs/${digest}`, {method: "POST", body: data});
    fs.rmSync(path.dirname(file), {recursive: true, force: true});
    await api("/api/create", {model: "bert", files: {"bert.gguf": digest}, stream: false});
    const f = await client.embeddings.create({model: "bert", input: ["hello world", "a cat"], encoding_format: "float"});
    assert.equal(f.object, "list");
    assert.equal(f.model, "bert");
    assert.equal(f.data.length, 2);
    assert.deepEqual(f.data.map((d) => d.index), [0, 1]);
    const v = f.data[0].embedding;
    assert.ok(v.length >= 64, String(v.length));
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-3); // L2-normalised
    assert.notDeepEqual(v, f.data[1].embedding);
    assert.ok(f.usage.prompt_tokens > 4 && f.usage.total_tokens === f.usage.prompt_tokens);
    // base64: little-endian float32 bytes of the same values
    const b = await client.embeddings.create({model: "bert", input: "hello world", encoding_format: "base64"});
    assert.equal(typeof b.data[0].embedding, "string");
    const bytes = Buffer.from(b.data[0].embedding, "base64");
    assert.equal(bytes.length, v.length * 4);
    const floats = Array.from({length: v.length}, (_, i) => bytes.readFloatLE(i * 4));
    assert.deepEqual(floats, v.map((x) => Math.fround(x)));
    // the SDK's default asks for base64 itself and decodes it
    const d = await client.embeddings.create({model: "bert", input: "hello world"});
    assert.deepEqual(Array.from(d.data[0].embedding), floats);
});

test("errors are the SDK's typed errors with OpenAI's error object", async () => {
    await assert.rejects(client.chat.completions.create({model: "nope", messages: PROMPT}), (e) => {
        assert.ok(e instanceof OpenAI.NotFoundError);
        assert.equal(e.status, 404);
        assert.equal(e.error.message, "model 'nope' not found");
        assert.equal(e.error.type, "not_found_error");
        return true;
    });
    await assert.rejects(client.chat.completions.create({model: "stories", messages: []}), (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError);
        assert.equal(e.error.message, "[] is too short - 'messages'");
        assert.equal(e.error.type, "invalid_request_error");
        return true;
    });
    await assert.rejects(client.chat.completions.create({model: "stories", messages: PROMPT, reasoning_effort: "lots"}),
        (e) => e instanceof OpenAI.BadRequestError && /invalid reasoning value/.test(e.message));
    // unlike Anthropic's, OpenAI's layer refuses thinking on a model that cannot think
    await assert.rejects(client.chat.completions.create({model: "stories", messages: PROMPT, reasoning_effort: "high"}),
        (e) => e instanceof OpenAI.BadRequestError && e.error.message === '"stories" does not support thinking');
    // a streamed request failing before its first byte: still a typed error, not a stream
    await assert.rejects(client.completions.create({model: "nope", prompt: "x", stream: true}),
        (e) => e instanceof OpenAI.NotFoundError && e.error.type === "not_found_error");
});

test("responses (stateless): not streamed and streamed give the same text", async () => {
    const req = {model: "stories", input: "Once upon a time", temperature: 0, max_output_tokens: 12};
    const res = await client.responses.create(req);
    assert.match(res.id, /^resp_\d+$/);
    assert.equal(res.object, "response");
    assert.equal(res.status, "completed");
    assert.equal(res.output.length, 1);
    assert.equal(res.output[0].type, "message");
    assert.ok(res.output_text.startsWith(", there was a little girl named Lily"), res.output_text);
    assert.equal(res.usage.output_tokens, 12);
    assert.equal(res.usage.total_tokens, res.usage.input_tokens + 12);
    assert.equal(res.temperature, 0);
    assert.equal(res.max_output_tokens, 12);
    const stream = await client.responses.create({...req, stream: true});
    let text = "", types = [], seq = [], completed;
    for await (const ev of stream) {
        types.push(ev.type);
        seq.push(ev.sequence_number);
        if (ev.type === "response.output_text.delta") text += ev.delta;
        if (ev.type === "response.completed") completed = ev.response;
    }
    assert.equal(text, res.output_text);
    assert.deepEqual(seq, types.map((_, i) => i));
    assert.deepEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    assert.deepEqual(types.slice(-4), ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
    assert.equal(completed.output[0].content[0].text, text);
    assert.equal(completed.usage.output_tokens, 12);
    // input items, instructions; a bad item is a typed error
    const items = await client.responses.create({model: "stories", temperature: 0, max_output_tokens: 4, instructions: "Tell a story.",
        input: [{role: "user", content: [{type: "input_text", text: "Once upon a time"}]}]});
    assert.equal(items.instructions, "Tell a story.");
    assert.ok(items.output_text.length > 0);
    await assert.rejects(client.responses.create({model: "stories", input: [{type: "bogus"}]}),
        (e) => e instanceof OpenAI.BadRequestError && e.error.message === 'input[0]: unknown input item type: "bogus"');
});

// ollama.c's Anthropic-compatible /v1/messages through the official
// `@anthropic-ai/sdk` client (pinned in package.json): messages streamed
// and not (same greedy text), system prompts, content blocks, tools and
// tool results, stop sequences, the event sequence, and typed errors.
import assert from "node:assert/strict";
import {after, before, test} from "node:test";
import Anthropic from "@anthropic-ai/sdk";

import {startServer, uploadDemo} from "./server.mjs";

const BIN = process.env.OLLAMA_BIN;
const PROMPT = [{role: "user", content: "Once upon a time"}];
const GREEDY = {temperature: 0, max_tokens: 12};
let server, client;

async function api(p, body) {
    const res = await fetch(server.host + p, {method: "POST", body: JSON.stringify(body)});
    assert.equal(res.status, 200, await res.clone().text());
    return res;
}

before(async () => {
    server = await startServer(BIN);
    client = new Anthropic({baseURL: server.host, apiKey: "ollama", maxRetries: 0});
    const digest = await uploadDemo(server.host);
    await api("/api/create", {model: "stories", files: {"stories.gguf": digest}, stream: false});
    await api("/api/create", {model: "story-tools", from: "stories", stream: false,
        template: "{{ if .Tools }}{{ range .Tools }}{{ .Function.Name }} {{ end }}{{ end }}{{ range .Messages }}{{ .Content }}{{ end }}"});
});

after(() => server.stop());

test("messages, not streamed: greedy text, stop reason, usage", async () => {
    const msg = await client.messages.create({model: "stories", messages: PROMPT, ...GREEDY});
    assert.match(msg.id, /^msg_[0-9a-f]{24}$/);
    assert.equal(msg.type, "message");
    assert.equal(msg.role, "assistant");
    assert.equal(msg.model, "stories");
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, "text");
    assert.ok(msg.content[0].text.startsWith(", there was a little girl named Lily"), msg.content[0].text);
    assert.equal(msg.stop_reason, "max_tokens");
    assert.equal(msg.usage.output_tokens, 12);
    assert.ok(msg.usage.input_tokens > 0);
});

test("messages, streamed: the same text through Anthropic's events", async () => {
    const whole = await client.messages.create({model: "stories", messages: PROMPT, ...GREEDY});
    const stream = await client.messages.create({model: "stories", messages: PROMPT, ...GREEDY, stream: true});
    const types = [];
    let text = "", delta;
    for await (const ev of stream) {
        types.push(ev.type);
        if (ev.type === "content_block_delta") text += ev.delta.text;
        if (ev.type === "message_delta") delta = ev;
    }
    assert.equal(text, whole.content[0].text);
    assert.equal(types[0], "message_start");
    assert.equal(types[1], "content_block_start");
    assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
    assert.equal(delta.delta.stop_reason, "max_tokens");
    assert.equal(delta.usage.output_tokens, 12);
    // the SDK's helper accumulates the same message
    const final = await client.messages.stream({model: "stories", messages: PROMPT, ...GREEDY}).finalMessage();
    assert.equal(final.content[0].text, whole.content[0].text);
    assert.equal(final.stop_reason, "max_tokens");
});

test("system blocks, content blocks and stop sequences", async () => {
    const msg = await client.messages.create({model: "stories", ...GREEDY, system: [{type: "text", text: "A story."}],
        stop_sequences: [" girl"], top_k: 40, top_p: 1,
        messages: [{role: "user", content: [{type: "text", text: "Once upon a time"}]}]});
    assert.ok(!msg.content[0].text.includes(" girl"), msg.content[0].text);
    assert.equal(msg.stop_reason, "end_turn");
});

test("tools, tool_use and tool_result blocks are accepted", async () => {
    const tools = [{name: "get_weather", description: "weather", input_schema: {type: "object", properties: {city: {type: "string"}}}}];
    const msg = await client.messages.create({model: "story-tools", ...GREEDY, tools, messages: [
        {role: "user", content: "Weather in Paris?"},
        {role: "assistant", content: [{type: "tool_use", id: "toolu_1", name: "get_weather", input: {city: "Paris"}}]},
        {role: "user", content: [{type: "tool_result", tool_use_id: "toolu_1", content: "sunny"}, {type: "text", text: "Once upon a time"}]},
    ]});
    assert.equal(msg.content[0].type, "text");
    assert.equal(msg.stop_reason, "max_tokens");
    assert.ok(msg.usage.input_tokens > 5, String(msg.usage.input_tokens));
});

test("thinking on a model that cannot think is dropped, not refused (as upstream)", async () => {
    const msg = await client.messages.create({model: "stories", messages: PROMPT, ...GREEDY, thinking: {type: "enabled", budget_tokens: 1024}});
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, "text");
    assert.ok(msg.content[0].text.startsWith(", there was a little girl named Lily"), msg.content[0].text);
});

test("errors are the SDK's typed errors with Anthropic's error object", async () => {
    await assert.rejects(client.messages.create({model: "nope", messages: PROMPT, max_tokens: 5}), (e) => {
        assert.ok(e instanceof Anthropic.NotFoundError, e.constructor.name);
        assert.equal(e.status, 404);
        assert.equal(e.error.type, "error");
        assert.equal(e.error.error.type, "not_found_error");
        assert.equal(e.error.error.message, "model 'nope' not found");
        return true;
    });
    await assert.rejects(client.messages.create({model: "stories", messages: [], max_tokens: 5}),
        (e) => e instanceof Anthropic.BadRequestError && e.error.error.message === "messages is required");
    await assert.rejects(client.messages.create({model: "stories", messages: PROMPT, max_tokens: 0}),
        (e) => e instanceof Anthropic.BadRequestError && e.error.error.type === "invalid_request_error");
    await assert.rejects(client.messages.create({model: "nope", messages: PROMPT, max_tokens: 5, stream: true}),
        (e) => e instanceof Anthropic.NotFoundError);
});

// ollama.c through the official `ollama` npm client (ollama-js, pinned in
// package.json): create, list, show, copy, delete, generate and chat
// (streamed and not), ps, and keep_alive unload, asserting real values.
import assert from "node:assert/strict";
import {after, before, test} from "node:test";
import {Ollama} from "ollama";

import {startServer, uploadDemo} from "./server.mjs";

const BIN = process.env.OLLAMA_BIN;
const GREEDY = {temperature: 0, num_predict: 20};
const WANT = ", there was a little girl named Lily. She loved to play outside in the park.";
let server, client;

before(async () => {
    server = await startServer(BIN);
    client = new Ollama({host: server.host});
    const digest = await uploadDemo(server.host);
    const res = await client.create({model: "stories", files: {"stories.gguf": digest}});
    assert.equal(res.status, "success");
});

after(() => server.stop());

test("list and show", async () => {
    const list = await client.list();
    assert.deepEqual(list.models.map((m) => m.name), ["stories:latest"]);
    assert.equal(list.models[0].details.family, "llama");
    assert.ok(list.models[0].size > 1185376, String(list.models[0].size)); // the GGUF plus config and params
    const show = await client.show({model: "stories"});
    assert.equal(show.model_info["llama.block_count"], 5);
    assert.deepEqual(show.capabilities, ["completion"]);
});

test("generate, not streamed: llama.cpp's greedy text", async () => {
    const res = await client.generate({model: "stories", prompt: "Once upon a time", raw: true, options: GREEDY});
    assert.ok(WANT.startsWith(res.response) || res.response.startsWith(WANT.slice(0, 40)), res.response);
    assert.equal(res.done, true);
    assert.equal(res.done_reason, "length");
    assert.equal(res.eval_count, 20);
    assert.equal(res.context.length, 25);
});

test("generate, streamed", async () => {
    const stream = await client.generate({model: "stories", prompt: "Once upon a time", raw: true, stream: true, options: GREEDY});
    let text = "", chunks = 0, last;
    for await (const part of stream) {
        text += part.response;
        chunks++;
        last = part;
    }
    assert.ok(chunks > 10);
    assert.equal(last.done, true);
    assert.ok(text.startsWith(", there was a little girl named Lily"), text);
});

test("chat through a template, streamed and not", async () => {
    const res = await client.create({model: "story-chat", from: "stories", template: "{{ .Prompt }}", parameters: {temperature: 0, num_predict: 8}});
    assert.equal(res.status, "success");
    const messages = [{role: "user", content: "Once upon a time"}];
    const one = await client.chat({model: "story-chat", messages});
    assert.equal(one.message.role, "assistant");
    assert.equal(one.message.content, ", there was a little girl");
    const stream = await client.chat({model: "story-chat", messages, stream: true});
    let text = "";
    for await (const part of stream) text += part.message.content;
    assert.equal(text, one.message.content);
});

test("copy and delete", async () => {
    await client.copy({source: "stories", destination: "backup"});
    assert.ok((await client.list()).models.some((m) => m.name === "backup:latest"));
    await client.delete({model: "backup"});
    assert.ok(!(await client.list()).models.some((m) => m.name === "backup:latest"));
    await assert.rejects(client.delete({model: "backup"}), /model 'backup' not found/);
});

test("ps and keep_alive unload", async () => {
    await client.generate({model: "stories", prompt: "", keep_alive: "10m"});
    assert.ok((await client.ps()).models.some((m) => m.name === "stories:latest"));
    const res = await client.generate({model: "stories", prompt: "", keep_alive: 0});
    assert.equal(res.done_reason, "unload");
    assert.ok(!(await client.ps()).models.some((m) => m.name === "stories:latest"));
});

test("errors surface as the client's errors", async () => {
    await assert.rejects(client.generate({model: "nope", prompt: "x"}), (e) => e.status_code === 404 && /model 'nope' not found/.test(e.message));
});

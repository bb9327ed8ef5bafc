// Starts `ollama serve` on a free loopback port with an empty store in a
// temporary folder, and uploads the demo model as a blob.
import {spawn} from "node:child_process";
import {createHash} from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
export const DEMO = path.join(ROOT, "models/stories260K.gguf");

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, "127.0.0.1", () => {
            const {port} = srv.address();
            srv.close(() => resolve(port));
        });
        srv.on("error", reject);
    });
}

export async function startServer(bin, env = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ollama-client-test-"));
    const port = await freePort();
    const host = `http://127.0.0.1:${port}`;
    const proc = spawn(bin, ["serve"], {
        env: {...process.env, HOME: dir, OLLAMA_HOST: `127.0.0.1:${port}`, OLLAMA_MODELS: path.join(dir, "models"), ...env},
        stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    proc.stderr.on("data", (d) => (log += d));
    for (let i = 0; i < 100; i++) {
        try {
            if ((await (await fetch(host + "/")).text()) === "Ollama is running") break;
        } catch {}
        await new Promise((r) => setTimeout(r, 100));
    }
    const stop = () => {
        proc.kill("SIGTERM");
        fs.rmSync(dir, {recursive: true, force: true});
    };
    return {host, stop, log: () => log};
}

export async function uploadDemo(host) {
    const data = fs.readFileSync(DEMO);
    const digest = "sha256:" + createHash("sha256").update(data).digest("hex");
    const res = await fetch(`${host}/api/blobs/${digest}`, {method: "POST", body: data});
    if (res.status !== 201 && res.status !== 200) throw new Error(`blob upload: ${res.status}`);
    return digest;
}

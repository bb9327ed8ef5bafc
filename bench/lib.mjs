// bench/lib.mjs - what the node benchmarks share: option parsing, medians, and a
// throw-away `ollama serve` (free loopback port, temporary store) with a model
// uploaded into it.
import {spawn, spawnSync} from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

// --name value pairs over the defaults (numbers stay numbers); anything else
// prints the usage pointer and exits 2.
export function parseArgs(defaults) {
    const args = {...defaults};
    for (let i = 2; i < process.argv.length; i += 2) {
        const k = process.argv[i].replace(/^--/, "");
        if (!(k in args) || i + 1 >= process.argv.length) {
            console.error(`usage: see the header of ${process.argv[1]}`);
            process.exit(2);
        }
        args[k] = typeof args[k] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
    }
    return args;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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

// Starts `bin serve` with the extra environment, uploads modelFile and creates
// it as `name`. Returns {base, stop}; stop() ends the server and removes the store.
export async function serveModel(bin, modelFile, name, env = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ollama-bench-"));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = spawn(bin, ["serve"], {
        env: {...process.env, HOME: dir, OLLAMA_HOST: `127.0.0.1:${port}`, OLLAMA_MODELS: path.join(dir, "models"),
              OLLAMA_KEEP_ALIVE: "-1", ...env},
        stdio: ["ignore", "ignore", fs.openSync(path.join(dir, "server.log"), "w")],
    });
    const stop = async () => {
        proc.kill("SIGTERM");
        await new Promise((r) => proc.on("exit", r));
        fs.rmSync(dir, {recursive: true, force: true});
    };
    try {
        let up = false;
        for (let i = 0; i < 100 && !up; i++) {
            try {
                up = (await (await fetch(base + "/")).text()) === "Ollama is running";
            } catch {}
            if (!up) await new Promise((r) => setTimeout(r, 100));
        }
        if (!up) throw new Error("server did not start");
        const digest = "sha256:" + spawnSync("sha256sum", [modelFile]).stdout.toString().split(" ")[0];
        const code = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                        "--data-binary", "@" + modelFile, `${base}/api/blobs/${digest}`]);
        if (!["200", "201"].includes(code.stdout.toString())) throw new Error("blob upload failed");
        const res = await fetch(base + "/api/create", {method: "POST",
            body: JSON.stringify({model: name, files: {"model.gguf": digest}, stream: false})});
        if (!res.ok) throw new Error("create: " + (await res.text()));
    } catch (e) {
        await stop();
        throw e;
    }
    return {base, stop};
}

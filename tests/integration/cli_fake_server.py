#!/usr/bin/env python3
"""A scripted stand-in for `ollama serve` that the CLI tests talk to: fixed
/api/pull and /api/push NDJSON progress streams (as api.md documents them),
errors before and inside a stream, a model that exists only after a pull,
a thinking model, an embedding model, and an ollama.com account (signed in
until /api/signout). Usage: cli_fake_server.py PORTFILE REQUESTLOG."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
pulled = set()
account = {"signed_in": True}  # /api/me and /api/signout: signed in until signed out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, objs, delay=0.02):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for o in objs:
            line = (json.dumps(o) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
            time.sleep(delay)
        self.wfile.write(b"0\r\n\r\n")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "17")
        self.end_headers()

    def do_GET(self):
        if self.path == "/api/version":
            return self.send(200, {"version": "0.33.0"})
        self.send(200, {"models": []})

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with open(sys.argv[2], "a") as f:
            f.write(self.path + " " + json.dumps(req, sort_keys=True) + "\n")
        model = req.get("model", "")
        if self.path == "/api/pull":
            return self.pull(model)
        if self.path == "/api/push":
            return self.push(model)
        if self.path == "/api/show":
            return self.show(model)
        if self.path == "/api/generate":
            return self.generate(req)
        if self.path == "/api/embed":
            return self.send(200, {"model": model, "embeddings": [[0.1, -0.25, 3, 1e-05, 1e-07, 0]]})
        if self.path == "/api/me":
            if account["signed_in"]:
                return self.send(200, {"id": "u1", "name": "alice", "email": "alice@example.com"})
            return self.send(401, {"error": "unauthorized",
                                   "signin_url": "https://ollama.com/connect?name=host&key=abc"})
        if self.path == "/api/signout":
            if not account["signed_in"]:
                return self.send(401, {"error": "you are not currently signed in"})
            account["signed_in"] = False
            return self.send(200, None)
        self.send(404, {"error": "not found"})

    def pull(self, model):
        if model == "bad":
            return self.send(400, {"error": "invalid model name"})
        if model == "missing":
            return self.stream([{"status": "pulling manifest"},
                                {"error": "pull model manifest: file does not exist"}])
        pulled.add(model)
        self.stream([{"status": "pulling manifest"},
                     {"status": "pulling aaaaaaaaaaaa", "digest": A, "total": 1000000},
                     {"status": "pulling aaaaaaaaaaaa", "digest": A, "total": 1000000, "completed": 250000},
                     {"status": "pulling aaaaaaaaaaaa", "digest": A, "total": 1000000, "completed": 500000},
                     {"status": "pulling aaaaaaaaaaaa", "digest": A, "total": 1000000, "completed": 1000000},
                     {"status": "pulling bbbbbbbbbbbb", "digest": B, "total": 2000, "completed": 2000},
                     {"status": "verifying sha256 digest"},
                     {"status": "writing manifest"},
                     {"status": "success"}], 0.15)

    def push(self, model):
        if model.startswith("denied"):
            return self.stream([{"status": "retrieving manifest"}, {"error": "access denied"}])
        self.stream([{"status": "retrieving manifest"},
                     {"status": "pushing aaaaaaaaaaaa", "digest": A, "total": 1000000, "completed": 400000},
                     {"status": "pushing aaaaaaaaaaaa", "digest": A, "total": 1000000, "completed": 1000000},
                     {"status": "pushing manifest"},
                     {"status": "success"}])

    def show(self, model):
        caps = {"thinker": ["completion", "thinking"], "fresh": ["completion"], "embedder": ["embedding"]}
        if model not in caps or (model == "fresh" and model not in pulled):
            return self.send(404, {"error": "model '%s' not found" % model})
        self.send(200, {"capabilities": caps[model], "details": {"family": "llama"}, "model_info": {}})

    def generate(self, req):
        if not req.get("prompt"):
            return self.send(200, {"model": req["model"], "done": True, "done_reason": "load"})
        chunks = [{"response": "Hello"}, {"response": " world."}]
        if req.get("think"):
            chunks = [{"response": "", "thinking": "Let me"}, {"response": "", "thinking": " think."}] + chunks
        final = {"response": "", "done": True, "total_duration": 2500000000, "load_duration": 1000000,
                 "prompt_eval_count": 4, "prompt_eval_duration": 2000000, "eval_count": 2,
                 "eval_duration": 500000000}
        self.stream(chunks + [final])


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()

#!/usr/bin/env python3
"""A misbehaving front for a registry, for the pull tests (GET and HEAD).

  registry_proxy.py PORT UPSTREAM_PORT DIR MODE N

MODE drop:    the first ranged blob GET whose body is over N bytes sends N
              bytes and closes the connection (DIR/dropped appears); later
              ranged blob GETs wait for DIR/go, then pass through, and
              "<digest> <body bytes>" lines are appended to DIR/bytes.
MODE corrupt: blob bodies over N bytes pass through with one byte flipped.
MODE forward: a plain forward proxy (absolute-form requests, as clients
              send through http_proxy); each request's path is appended
              to DIR/forwarded.
MODE auth:    every request needs "Authorization: Bearer tok-N", else 401
              with a Bearer challenge whose realm is this proxy's /token
              (on host "localhost" when N is 1, which clients must refuse);
              /token checks Ollama's query and signature and writes
              "signed-ok", "signed-bad" or "unsigned" to DIR/auth.
"""
import base64
import hashlib
import json
import urllib.parse
import http.client
import http.server
import os
import sys
import time

port, upstream, folder, mode, limit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
state = {"dropped": False}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def challenge(self):
        host = "localhost" if limit == 1 else "127.0.0.1"
        body = b'{"errors":[{"code":"UNAUTHORIZED"}]}'
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Bearer realm="http://%s:%d/token",service="test",scope="repository:library/demo:pull"' % (host, port))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def token(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        keys = [kv.split("=")[0] for kv in urllib.parse.urlsplit(self.path).query.split("&")]
        ok = keys == sorted(keys) and q.get("service") == ["test"] and q.get("scope") == ["repository:library/demo:pull"]
        ok = ok and "ts" in q and len(q.get("nonce", [""])[0]) == 22
        verdict = "unsigned"
        auth = self.headers.get("Authorization")
        if auth:
            verdict = "signed-bad"
            try:
                from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
                key, sig = auth.split(":")
                wire = base64.b64decode(key)
                empty = base64.b64encode(hashlib.sha256(b"").hexdigest().encode()).decode()
                msg = "GET,http://%s%s,%s" % (self.headers["Host"], self.path, empty)
                Ed25519PublicKey.from_public_bytes(wire[-32:]).verify(base64.b64decode(sig), msg.encode())
                verdict = "signed-ok"
            except Exception as e:  # noqa: BLE001 - any failure is a bad signature
                verdict = "signed-bad " + repr(e)
        with open(os.path.join(folder, "auth"), "a") as f:
            f.write(("%s query-%s\n" % (verdict, "ok" if ok else "bad")))
        body = json.dumps({"token": "tok-%d" % limit}).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, head_only):
        if self.path.startswith("http://"):  # through http_proxy
            parts = urllib.parse.urlsplit(self.path)
            self.path = parts.path + ("?" + parts.query if parts.query else "")
            if mode == "forward":
                with open(os.path.join(folder, "forwarded"), "a") as f:
                    f.write(self.path + "\n")
        if mode == "auth":
            if self.path.startswith("/token"):
                return self.token()
            if self.headers.get("Authorization") != "Bearer tok-%d" % limit:
                return self.challenge()
        ranged = "/blobs/" in self.path and "Range" in self.headers
        if mode == "drop" and ranged and state["dropped"]:
            while not os.path.exists(os.path.join(folder, "go")):
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "authorization")}
        conn.request(self.command, self.path, headers=headers)
        resp = conn.getresponse()
        body = b"" if head_only else resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        length = resp.getheader("Content-Length") if head_only else str(len(body))
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
        conn.close()
        if head_only:
            return
        big = "/blobs/" in self.path and len(body) > limit
        if mode == "drop" and ranged and big and not state["dropped"]:
            state["dropped"] = True
            self.wfile.write(body[:limit])
            self.wfile.flush()
            self.close_connection = True
            open(os.path.join(folder, "dropped"), "w").close()
            return
        if mode == "corrupt" and big:
            body = body[:limit] + bytes([body[limit] ^ 1]) + body[limit + 1:]
        self.wfile.write(body)
        if mode == "drop" and ranged:
            with open(os.path.join(folder, "bytes"), "a") as f:
                f.write("%s %d\n" % (self.path.rsplit("/", 1)[-1], len(body)))

    def do_GET(self):
        self.forward(False)

    def do_HEAD(self):
        self.forward(True)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (the killed server) are expected


Server(("127.0.0.1", port), Handler).serve_forever()

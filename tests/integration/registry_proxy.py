#!/usr/bin/env python3
"""A misbehaving front for a registry, for the pull tests (GET and HEAD).

  registry_proxy.py PORT UPSTREAM_PORT DIR MODE N

MODE drop:    the first ranged blob GET whose body is over N bytes sends N
              bytes and closes the connection (DIR/dropped appears); later
              ranged blob GETs wait for DIR/go, then pass through, and
              "<digest> <body bytes>" lines are appended to DIR/bytes.
MODE corrupt: blob bodies over N bytes pass through with one byte flipped.
"""
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

    def forward(self, head_only):
        ranged = "/blobs/" in self.path and "Range" in self.headers
        if mode == "drop" and ranged and state["dropped"]:
            while not os.path.exists(os.path.join(folder, "go")):
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
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

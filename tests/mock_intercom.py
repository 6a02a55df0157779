#!/usr/bin/env python3
"""A small mock of Intercom's REST API for the demo and the tests (loopback only).

Answers every request with plausible JSON (an Intercom-shaped object named after the first path
segment), records what it received (method, path, headers, body) one JSON line per request in
the file given by --record, and serves a JWKS document at /.well-known/jwks.json when --jwks
names a file (so the filter's remote JWKS can be tested against a local cluster).

    python3 tests/mock_intercom.py --port 8081 --record /tmp/requests.jsonl
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TYPES = {
    "contacts": "contact", "companies": "company", "conversations": "conversation", "admins": "admin",
    "tickets": "ticket", "tags": "tag", "articles": "article", "teams": "team", "me": "admin",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this the server waits on Nagle's algorithm and stalls at ~45 requests/s.
    disable_nagle_algorithm = True
    lock = threading.Lock()
    record = None
    jwks = None
    jwks_status = 200

    def log_message(self, fmt, *args):  # quiet
        pass

    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.record:
            line = json.dumps({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
            with self.lock, open(self.record, "a") as f:
                f.write(line + "\n")
        if self.path.startswith("/.well-known/jwks.json"):
            if self.jwks is None or self.jwks_status != 200:
                return self._send(self.jwks_status if self.jwks else 404, {"error": "no jwks"})
            with open(self.jwks, "rb") as f:
                return self._send(200, raw=f.read())
        first = self.path.split("?")[0].strip("/").split("/")[0] or "root"
        kind = TYPES.get(first, first.rstrip("s") or "object")
        parts = self.path.split("?")[0].strip("/").split("/")
        obj = {"type": kind, "id": parts[1] if len(parts) > 1 else "1", "mock": True,
               "received": {"method": self.command, "path": self.path}}
        if self.command == "GET" and len(parts) == 1:
            obj = {"type": "list", "data": [{"type": kind, "id": "1"}], "total_count": 1}
        if self.command == "DELETE":
            obj["deleted"] = True
        self._send(200, obj)

    def _send(self, status, obj=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--record")
    ap.add_argument("--jwks")
    args = ap.parse_args()
    Handler.record = args.record
    Handler.jwks = args.jwks
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"mock Intercom on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

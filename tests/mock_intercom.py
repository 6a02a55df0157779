#!/usr/bin/env python3
"""A small mock of Intercom's REST API for the demo and the tests (loopback only).

Answers every request with plausible JSON (an Intercom-shaped object named after the first path
segment), records what it received (method, path, headers, body) one JSON line per request in
the file given by --record, and serves a JWKS document at /.well-known/jwks.json when --jwks
names a file (so the filter's remote JWKS can be tested against a local cluster).

With --cases (the materialized corpus), conversation-access cases are answered as they say
(tests/corpus/mod.rs `upstream`): a request carrying `x-case-id` gets its case's
`upstream.response`; a lookup `GET /conversations/{id}` (no `x-case-id`: the filter's own call)
gets the `upstream.lookup` of the case on that conversation (ids are unique per case); a
`timeout` lookup answers after 3 s. A conversation whose id has seven digits (`7000001`) is
assigned to the teammate its first digit names (admin `7`), for tests that count lookups; a
list `GET /conversations` with `x-mock-list: N` answers N conversations of admin 9, each with
about 1 KB of private text (`secret`), for tests of large judged answers.

    python3 tests/mock_intercom.py --port 8081 --record /tmp/requests.jsonl
"""
import argparse
import json
import re
import threading
import time
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
    admins = None  # a file: GET /admins answers its bytes (503 while it does not exist)
    responses = {}  # x-case-id -> reply
    lookups = {}  # conversation id -> reply

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
        if self.admins and self.path.split("?")[0] == "/admins":
            try:
                with open(self.admins, "rb") as f:
                    return self._send(200, raw=f.read())
            except FileNotFoundError:
                return self._send(503, {"type": "error.list", "errors": [{"code": "service_unavailable"}]})
        reply = self._case_reply()
        if reply is not None:
            if reply.get("timeout"):
                time.sleep(3)
            headers = {"content-type": reply.get("content_type", "application/json")}
            if reply.get("content_encoding"):
                headers["content-encoding"] = reply["content_encoding"]
            return self._send(reply.get("status", 200), raw=(reply.get("raw_body") or "").encode(), headers=headers)
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

    def _case_reply(self):
        cid = self.headers.get("x-case-id")
        if cid is not None:
            return self.responses.get(cid)
        parts = self.path.split("?")[0].strip("/").split("/")
        if self.command == "GET" and parts == ["conversations"] and self.headers.get("x-mock-list"):
            n = int(self.headers["x-mock-list"])
            items = [{"type": "conversation", "id": str(9500000 + i), "admin_assignee_id": 9, "team_assignee_id": None,
                      "source": {"body": "secret " + "x" * 1000}} for i in range(n)]
            return {"status": 200, "raw_body": json.dumps({"type": "conversation.list", "conversations": items})}
        if self.command == "GET" and len(parts) == 2 and parts[0] == "conversations":
            if parts[1] in self.lookups:
                return self.lookups[parts[1]]
            if re.fullmatch(r"[1-9][0-9]{6}", parts[1]):
                conv = {"type": "conversation", "id": parts[1], "admin_assignee_id": int(parts[1][0]),
                        "team_assignee_id": None, "source": {"body": f"the text of {parts[1]}"}}
                return {"status": 200, "raw_body": json.dumps(conv)}
        return None

    def _send(self, status, obj=None, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        for k, v in (headers or {"content-type": "application/json"}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--record")
    ap.add_argument("--jwks")
    ap.add_argument("--cases")
    ap.add_argument("--admins", help="a file GET /admins answers (Intercom's teammate directory); 503 while absent")
    args = ap.parse_args()
    if args.cases:
        with open(args.cases) as f:
            corpus = json.load(f)
        for i, c in enumerate(corpus["cases"]):
            up = c.get("upstream") or {}
            if up.get("response"):
                Handler.responses[str(i)] = up["response"]
            if up.get("lookup"):
                cid = c["path"].split("?")[0].strip("/").split("/")[1]
                Handler.lookups[cid] = up["lookup"]
    Handler.record = args.record
    Handler.jwks = args.jwks
    Handler.admins = args.admins
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"mock Intercom on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

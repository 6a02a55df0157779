#!/usr/bin/env python3
"""A small mock of Intercom's REST API for the demo and the tests (loopback only).

Answers every request with plausible JSON (an Intercom-shaped object named after the first path
segment), records what it received (method, path, headers, body) one JSON line per request in
the file given by --record, and serves a JWKS document at /.well-known/jwks.json (or --jwks-path) when --jwks
names a file (so the filter's remote JWKS can be tested against a local cluster).

With --cases (the materialized corpus), conversation-access cases are answered as they say
(tests/corpus/mod.rs `upstream`): a request carrying `x-case-id` gets its case's
`upstream.response`; a lookup `GET /conversations/{id}` (no `x-case-id`: the filter's own call)
gets the `upstream.lookup` of the case on that conversation (ids are unique per case); a
`timeout` lookup answers after 3 s. A conversation whose id has seven digits (`7000001`) is
assigned to the teammate its first digit names (admin `7`), for tests that count lookups; a
list `GET /conversations` with `x-mock-list: N` answers N conversations of admin 9, each with
about 1 KB of private text (`secret`), for tests of large judged answers.

With --store (a JSON object: conversation id (digits) -> {"admin_assignee_id": int|null,
"team_assignee_id": int|null, "state": "open"|"closed", "created_at": int, "source": {"body": str}},
other fields passed through), those conversations are stateful, kept in memory (the file is only
read), and answered as Intercom would when no case reply matched (case replies and the seven-digit
rule above still win, except that a seven-digit id in the store is the store's):
`GET /conversations/{id}` answers the conversation (`type`, `id`, `created_at`, `updated_at`
(defaults to `created_at`), the assignees, `state`, `open` (state is "open"), `source`, ...); an
unknown id is 404 `not_found`. An unassigned admin or team is `0` when the request's
`Intercom-Version` is 2.16 or later (2.16's "nobody"), `null` otherwise (also for `Unstable`).
`POST /conversations/{id}/parts` with `message_type` `assign` sets `admin_assignee_id` or
`team_assignee_id` (by `type`) to `assignee_id` (`0` unassigns: null); `close` and `open` set the
state; `comment`, `note`, `snoozed` change nothing; any other is 400. `POST .../reply` and the other
writes to a stored conversation answer it. Every applied write moves `updated_at` to now.
`POST /conversations/search` evaluates Intercom's query language over the store: a filter
{"field", "operator", "value"} or a group {"operator": "AND"|"OR", "value": [...]}; fields `id`,
`state` (strings), `admin_assignee_id`, `team_assignee_id` (integers, digit strings accepted; `0`
or null is "unassigned", which orders as 0), `open` (bool), `created_at`, `updated_at` (exact
seconds, not Intercom's calendar days), `source.body` (HTML tags dropped, case-insensitive: `=` a
whole word of it, `~` a substring); operators `=`, `!=`, `IN`, `NIN` (a list), `<`, `>`, `<=`, `>=`
(integers and dates), `~`, `!~`, `^`, `$` (strings). As the 2.16 spec's "Nesting & Limitations":
a filter has depth 0, a group 1 + its deepest item, and depth over 2 is refused, as is a group of
more than 15 items; so are an empty group, an unknown field or operator, an operator the field's
type does not take, a value of the wrong type and a malformed query: all 400 `parameter_invalid`
whose message says what is wrong. Results are sorted by `created_at` then `id`, both descending;
`pagination.per_page` is 20 by default, 1 to 150; `pages.next.starting_after` (only when more
remain) is an opaque cursor (base64 of the offset) to send back as `pagination.starting_after`.

With --slow-writes SECONDS, every POST, PUT or DELETE to /conversations/{id} or below (not the
search, a read) is recorded, then sleeps that long, then is applied and answered, so a read served
meanwhile (reads are never slowed, and are served concurrently) still sees the old state.
tests/mock_search_test.py tests these.

    python3 tests/mock_intercom.py --port 8081 --record /tmp/requests.jsonl
    python3 tests/mock_intercom.py --port 8081 --store /tmp/conversations.json --slow-writes 1
"""
import argparse
import base64
import copy
import json
import math
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
    jwks_path = "/.well-known/jwks.json"
    admins = None  # a file: GET /admins answers its bytes (503 while it does not exist)
    responses = {}  # x-case-id -> reply
    lookups = {}  # conversation id -> reply
    store = None  # conversation id -> conversation (--store), mutated under `lock`
    slow_writes = 0.0  # seconds a write to /conversations/{id}[/...] sleeps before it is applied

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
        parts = self.path.split("?")[0].strip("/").split("/")
        is_conversation_write = (self.command in ("POST", "PUT", "DELETE") and len(parts) >= 2
                                 and parts[0] == "conversations" and parts[1].isdigit())
        if is_conversation_write and self.slow_writes > 0:
            time.sleep(self.slow_writes)  # outside the lock: reads go on meanwhile
        if self.path.split("?")[0] == self.jwks_path:
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
            # Validators of the body as it came (a judged answer that is redacted or refused must
            # not carry them on).
            headers = {"content-type": reply.get("content_type", "application/json"),
                       "etag": '"case-%s"' % (self.headers.get("x-case-id") or "lookup"),
                       "last-modified": "Mon, 07 Dec 2026 00:00:00 GMT"}
            if reply.get("content_encoding"):
                headers["content-encoding"] = reply["content_encoding"]
            return self._send(reply.get("status", 200), raw=(reply.get("raw_body") or "").encode(), headers=headers)
        if self.store is not None:
            answer = self._store_reply(parts, body)
            if answer is not None:
                return self._send(*answer)
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
            if re.fullmatch(r"[1-9][0-9]{6}", parts[1]) and parts[1] not in (self.store or {}):
                conv = {"type": "conversation", "id": parts[1], "admin_assignee_id": int(parts[1][0]),
                        "team_assignee_id": None, "source": {"body": f"the text of {parts[1]}"}}
                return {"status": 200, "raw_body": json.dumps(conv)}
        return None

    # --store: Intercom's conversations, stateful.

    def _store_reply(self, parts, body):
        """(status, object) for a request the store answers, None for one it does not."""
        if parts[0] != "conversations" or len(parts) < 2:
            return None
        if parts == ["conversations", "search"] and self.command == "POST":
            try:
                return 200, self._search(_json_body(body))
            except Invalid as e:
                return 400, e.error()
        cid = parts[1]
        if not cid.isdigit() or self.command not in ("GET", "POST", "PUT", "DELETE"):
            return None
        if self.command == "GET" and len(parts) > 2:
            return None
        if cid not in self.store:
            return 404, {"type": "error.list", "request_id": None,
                         "errors": [{"code": "not_found", "message": "Resource Not Found"}]}
        if self.command != "GET":
            try:
                change = self._write_change(parts[2:], body)
            except Invalid as e:
                return 400, e.error()
            with self.lock:
                conv = self.store[cid]
                change(conv)
                conv["updated_at"] = max(int(time.time()), conv.get("updated_at") or 0)
        with self.lock:
            conv = copy.deepcopy(self.store[cid])
        return 200, render(cid, conv, self._zero_is_nobody())

    def _write_change(self, rest, body):
        """What a write does to its conversation, a function; Invalid when the body is wrong."""
        if rest != ["parts"]:
            return lambda conv: None  # reply, PUT, tags, ...: answered as it is
        req = _json_body(body)
        if not isinstance(req, dict):
            raise Invalid("the body must be a JSON object")
        kind = req.get("message_type")
        if kind in ("assignment", "assign"):  # Intercom says `assignment`
            if req.get("type") not in ("admin", "team"):
                raise Invalid("type must be admin or team to assign")
            who = req.get("assignee_id")
            if isinstance(who, bool) or not (isinstance(who, int) or (isinstance(who, str) and who.isdigit())):
                raise Invalid("assignee_id must be an admin or team id (0 to unassign)")
            field = req["type"] + "_assignee_id"
            value = int(who) or None
            return lambda conv: conv.__setitem__(field, value)
        if kind in ("close", "open"):
            state = "closed" if kind == "close" else "open"
            return lambda conv: conv.__setitem__("state", state)
        if kind in ("comment", "note", "snoozed"):
            return lambda conv: None
        raise Invalid(f"message_type {kind!r} is not one of assign, comment, note, close, open, snoozed")

    def _zero_is_nobody(self):
        m = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", self.headers.get("intercom-version") or "")
        return m is not None and (int(m.group(1)), int(m.group(2))) >= (2, 16)

    def _search(self, req):
        if not isinstance(req, dict) or "query" not in req:
            raise Invalid("the body must be an object with a query")
        match = compile_query(req["query"])
        pagination = req.get("pagination") or {}
        if not isinstance(pagination, dict):
            raise Invalid("pagination must be an object")
        per_page = pagination.get("per_page", 20)
        if isinstance(per_page, str) and per_page.isdigit():
            per_page = int(per_page)
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= 150:
            raise Invalid("per_page must be an integer from 1 to 150")
        offset = 0
        if pagination.get("starting_after") is not None:
            try:
                offset = json.loads(base64.b64decode(pagination["starting_after"], validate=True))
                assert isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0
            except Exception:
                raise Invalid("Invalid starting_after param. Please try again using a starting_after value "
                              "from a paginated response")
        with self.lock:
            found = [(cid, copy.deepcopy(conv)) for cid, conv in self.store.items() if match(cid, conv)]
        found.sort(key=lambda item: (item[1].get("created_at") or 0, int(item[0])), reverse=True)
        zero = self._zero_is_nobody()
        pages = {"type": "pages", "page": offset // per_page + 1, "per_page": per_page,
                 "total_pages": math.ceil(len(found) / per_page)}
        if offset + per_page < len(found):
            pages["next"] = {"page": pages["page"] + 1, "starting_after": encode_cursor(offset + per_page)}
        return {"type": "conversation.list", "pages": pages, "total_count": len(found),
                "conversations": [render(cid, conv, zero) for cid, conv in found[offset:offset + per_page]]}

    def _send(self, status, obj=None, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        for k, v in (headers or {"content-type": "application/json"}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer


class Invalid(Exception):
    """A request the store refuses: 400 parameter_invalid, the message saying why."""

    def error(self):
        return {"type": "error.list", "request_id": None,
                "errors": [{"code": "parameter_invalid", "message": str(self)}]}


def _json_body(body):
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise Invalid("the body is not JSON")


def encode_cursor(offset):
    return base64.b64encode(json.dumps(offset).encode()).decode()


def render(cid, conv, zero_is_nobody):
    """A stored conversation as Intercom answers it; unassigned is 0 from 2.16, null before."""
    out = {"type": "conversation", "id": cid}
    out.update((k, v) for k, v in conv.items() if k not in ("type", "id"))
    out.setdefault("created_at", 0)
    out.setdefault("updated_at", out["created_at"])
    out.setdefault("state", "open")
    out["open"] = out["state"] == "open"
    out.setdefault("source", {"body": ""})
    for key in ("admin_assignee_id", "team_assignee_id"):
        if not out.get(key):
            out[key] = 0 if zero_is_nobody else None
    return out


# Search: each field's type, the operators each type takes, and how a stored value is read.
FIELDS = {
    "id": "string", "state": "string", "source.body": "body", "open": "boolean",
    "admin_assignee_id": "assignee", "team_assignee_id": "assignee",
    "created_at": "date", "updated_at": "date",
}
EQUALITY = ("=", "!=", "IN", "NIN")
OPERATORS = {
    "string": EQUALITY + ("~", "!~", "^", "$"), "body": EQUALITY + ("~", "!~", "^", "$"),
    "boolean": EQUALITY, "assignee": EQUALITY + ("<", ">", "<=", ">="), "date": EQUALITY + ("<", ">", "<=", ">="),
}
ALL_OPERATORS = {op for ops in OPERATORS.values() for op in ops}
MAX_DEPTH = 2
MAX_GROUP = 15


def _stored(field, cid, conv):
    if field == "id":
        return cid
    if field == "open":
        return conv.get("state", "open") == "open"
    if field == "source.body":
        return re.sub(r"<[^>]*>", " ", str((conv.get("source") or {}).get("body") or "")).casefold()
    if field == "updated_at":
        return conv.get("updated_at", conv.get("created_at") or 0)
    if field == "created_at":
        return conv.get("created_at") or 0
    if field == "state":
        return conv.get("state", "open")
    return conv.get(field) or None  # an assignee: None is unassigned


def _value(field, kind, v):
    """A filter's (single) value checked against its field's type, normalized for comparing."""
    if kind == "assignee":
        if v is None or (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v.isdigit()):
            return int(v or 0) or None
        raise Invalid(f"{field} takes an integer (0 or null for unassigned), not {v!r}")
    if kind == "date":
        if (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v.isdigit()):
            return int(v)
        raise Invalid(f"{field} takes a UNIX timestamp, not {v!r}")
    if kind == "boolean":
        if isinstance(v, bool):
            return v
        if v in ("true", "false"):
            return v == "true"
        raise Invalid(f"{field} takes a boolean, not {v!r}")
    if field == "id" and isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, str):
        return v.casefold() if kind == "body" else v
    raise Invalid(f"{field} takes a string, not {v!r}")


def depth(q):
    """A filter is 0 deep, a group 1 + its deepest item (malformed items count as filters)."""
    if isinstance(q, dict) and q.get("operator") in ("AND", "OR") and isinstance(q.get("value"), list):
        return 1 + max((depth(item) for item in q["value"]), default=0)
    return 0


def compile_query(q):
    """The predicate (id, conversation) -> bool of a search query; Invalid when it is refused."""
    if depth(q) > MAX_DEPTH:
        raise Invalid(f"the query is nested {depth(q)} deep; the limit is {MAX_DEPTH} nested filters")
    return _compile(q, "query")


def _compile(q, where):
    if not isinstance(q, dict):
        raise Invalid(f"{where} must be an object, a filter or an AND/OR group")
    op = q.get("operator")
    if op in ("AND", "OR"):
        items = q.get("value")
        if not isinstance(items, list):
            raise Invalid(f"{where}: an {op} group's value must be a list of filters")
        if not items:
            raise Invalid(f"{where}: an {op} group must not be empty")
        if len(items) > MAX_GROUP:
            raise Invalid(f"{where}: an {op} group has {len(items)} filters; the limit is {MAX_GROUP}")
        preds = [_compile(item, f"{where}.value[{i}]") for i, item in enumerate(items)]
        if op == "AND":
            return lambda cid, conv: all(p(cid, conv) for p in preds)
        return lambda cid, conv: any(p(cid, conv) for p in preds)
    if "field" not in q or "operator" not in q or "value" not in q:
        raise Invalid(f"{where}: a filter needs field, operator and value (or an AND/OR group)")
    field = q["field"]
    if not isinstance(field, str) or field not in FIELDS:
        raise Invalid(f"{where}: unknown field {field!r}")
    if not isinstance(op, str) or op not in ALL_OPERATORS:
        raise Invalid(f"{where}: unknown operator {op!r}")
    kind = FIELDS[field]
    if op not in OPERATORS[kind]:
        raise Invalid(f"{where}: operator {op} does not apply to {field} ({kind})")
    if op in ("IN", "NIN"):
        if not isinstance(q["value"], list):
            raise Invalid(f"{where}: operator {op} takes a list of values")
        values = [_value(field, kind, v) for v in q["value"]]
    elif isinstance(q["value"], (list, dict)):
        raise Invalid(f"{where}: operator {op} takes a single value")
    else:
        value = _value(field, kind, q["value"])

    def equal(stored, v):
        if kind == "body":  # a whole word of the body, as Intercom's source.body
            return v in re.findall(r"\w+", stored)
        return stored == v

    def test(cid, conv):
        stored = _stored(field, cid, conv)
        if op == "=":
            return equal(stored, value)
        if op == "!=":
            return not equal(stored, value)
        if op == "IN":
            return any(equal(stored, v) for v in values)
        if op == "NIN":
            return not any(equal(stored, v) for v in values)
        if op in ("<", ">", "<=", ">="):
            a, b = stored or 0, value or 0  # unassigned orders as 0
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if op == "~":
            return value in stored
        if op == "!~":
            return value not in stored
        if op == "^":
            return stored.startswith(value)
        return stored.endswith(value)  # $
    return test


def load_store(path):
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: the store must be a JSON object of conversation id -> conversation")
    store = {}
    for cid, conv in data.items():
        if not str(cid).isdigit() or not isinstance(conv, dict):
            raise SystemExit(f"{path}: {cid!r}: ids are digits and conversations objects")
        conv = dict(conv)
        for key in ("admin_assignee_id", "team_assignee_id"):
            conv[key] = int(conv.get(key) or 0) or None  # 0 and null are both nobody
        store[str(cid)] = conv
    return store


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--record")
    ap.add_argument("--jwks")
    ap.add_argument("--jwks-path", default="/.well-known/jwks.json", help="where the JWKS is served")
    ap.add_argument("--cases")
    ap.add_argument("--admins", help="a file GET /admins answers (Intercom's teammate directory); 503 while absent")
    ap.add_argument("--store", help="a JSON file of conversations (id -> conversation) to serve statefully")
    ap.add_argument("--slow-writes", type=float, default=0.0, metavar="SECONDS",
                    help="writes to /conversations/{id}[/...] sleep this long before they are applied")
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
    Handler.jwks_path = args.jwks_path
    Handler.admins = args.admins
    Handler.store = load_store(args.store) if args.store else None
    Handler.slow_writes = args.slow_writes
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"mock Intercom on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

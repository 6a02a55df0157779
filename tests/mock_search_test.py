#!/usr/bin/env python3
"""Self-test of tests/mock_intercom.py's --store and --slow-writes (standard library only).

Each test starts the mock on a free loopback port (--port 0; the mock prints the one it bound) with a
temporary store, and stops it by its PID. Runs under pytest or alone:

    python3 -m pytest tests/mock_search_test.py -q
    python3 tests/mock_search_test.py
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

MOCK = Path(__file__).resolve().parent / "mock_intercom.py"

# created_at descending is the search order: 108, 107, ..., 101.
STORE = {
    "101": {"admin_assignee_id": 5, "team_assignee_id": 42, "state": "open", "created_at": 1000,
            "source": {"body": "<p>I need support</p>"}},
    "102": {"admin_assignee_id": None, "team_assignee_id": 42, "state": "open", "created_at": 1001,
            "source": {"body": "<p>refund please</p>"}},
    "103": {"admin_assignee_id": 6, "team_assignee_id": 42, "state": "closed", "created_at": 1002,
            "source": {"body": "<p>billing question</p>"}},
    "104": {"admin_assignee_id": 7, "team_assignee_id": None, "state": "open", "created_at": 1003,
            "source": {"body": "<p>a refund for order 9</p>"}},
    "105": {"admin_assignee_id": None, "team_assignee_id": 42, "state": "closed", "created_at": 1004,
            "source": {"body": "<p>hello</p>"}, "priority": "priority"},
    "106": {"admin_assignee_id": 6, "team_assignee_id": 42, "state": "open", "created_at": 1005,
            "source": {"body": "<p>refunded already</p>"}},
    "107": {"admin_assignee_id": 8, "team_assignee_id": 43, "state": "open", "created_at": 1006,
            "source": {"body": "<p>other team</p>"}},
    "108": {"admin_assignee_id": 5, "team_assignee_id": None, "state": "closed", "created_at": 1007,
            "source": {"body": "<p>support again</p>"}},
}


@contextlib.contextmanager
def mock(*flags, store=STORE):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.json"
        path.write_text(json.dumps(store))
        proc = subprocess.Popen([sys.executable, str(MOCK), "--port", "0", "--store", str(path), *flags],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            line = proc.stdout.readline()
            assert "http://127.0.0.1:" in line, line
            yield line.strip().rsplit(" ", 1)[1], Path(tmp)
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
            proc.stdout.close()


def call(base, method, path, body=None, version=None):
    """(status, JSON answer) of one request."""
    headers = {"content-type": "application/json"}
    if version:
        headers["intercom-version"] = version
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def search(base, query, per_page=None, starting_after=None, version=None):
    pagination = {}
    if per_page is not None:
        pagination["per_page"] = per_page
    if starting_after is not None:
        pagination["starting_after"] = starting_after
    return call(base, "POST", "/conversations/search", {"query": query, "pagination": pagination}, version)


def ids(answer):
    return [c["id"] for c in answer["conversations"]]


def f(field, operator, value):
    return {"field": field, "operator": operator, "value": value}


def test_nested_and_or():
    with mock() as (base, _):
        # open AND (admin 5 or 6, OR a body with the word "refund")
        query = {"operator": "AND", "value": [
            f("state", "=", "open"),
            {"operator": "OR", "value": [f("admin_assignee_id", "IN", [5, "6"]), f("source.body", "=", "refund")]},
        ]}
        status, answer = search(base, query)
        assert status == 200, answer
        assert ids(answer) == ["106", "104", "102", "101"], ids(answer)
        assert answer["total_count"] == 4 and answer["type"] == "conversation.list"
        assert answer["pages"] == {"type": "pages", "page": 1, "per_page": 20, "total_pages": 1}
        # "=" on source.body is a whole word, "~" a substring; a phrase is no word
        assert ids(search(base, f("source.body", "~", "refund"))[1]) == ["106", "104", "102"]
        assert ids(search(base, f("source.body", "=", "need support"))[1]) == []
        assert ids(search(base, f("source.body", "=", "support"))[1]) == ["108", "101"]
        assert ids(search(base, {"operator": "AND", "value": [f("open", "=", False), f("created_at", ">", 1002)]})[1]) \
            == ["108", "105"]
        assert ids(search(base, f("id", "NIN", ["101", "102", "103", "104", "105", "106"]))[1]) == ["108", "107"]


def test_paging():
    with mock() as (base, _):
        query = f("team_assignee_id", "=", 42)  # 101, 102, 103, 105, 106
        seen, cursor, pages = [], None, 0
        while True:
            status, answer = search(base, query, per_page=2, starting_after=cursor)
            assert status == 200, answer
            pages += 1
            assert answer["total_count"] == 5 and answer["pages"]["total_pages"] == 3
            assert answer["pages"]["page"] == pages and answer["pages"]["per_page"] == 2
            seen += ids(answer)
            nxt = answer["pages"].get("next")
            if nxt is None:
                break
            assert nxt["page"] == pages + 1
            cursor = nxt["starting_after"]
        assert pages == 3, pages
        assert seen == ["106", "105", "103", "102", "101"], seen
        assert len(set(seen)) == 5
        assert search(base, query, per_page=151)[0] == 400
        assert search(base, query, starting_after="not a cursor")[0] == 400


def test_limits():
    with mock() as (base, _):
        leaf = f("state", "=", "open")
        depth2 = {"operator": "AND", "value": [{"operator": "OR", "value": [leaf, leaf]}, leaf]}
        depth3 = {"operator": "AND", "value": [{"operator": "OR", "value": [{"operator": "AND", "value": [leaf]}]}]}
        assert search(base, depth2)[0] == 200
        status, answer = search(base, depth3)
        assert status == 400, answer
        assert answer["errors"][0]["code"] == "parameter_invalid" and answer["type"] == "error.list", answer
        assert "nested" in answer["errors"][0]["message"], answer
        assert search(base, {"operator": "OR", "value": [leaf] * 15})[0] == 200
        status, answer = search(base, {"operator": "OR", "value": [leaf] * 16})
        assert status == 400 and "15" in answer["errors"][0]["message"], answer
        for bad in ({"operator": "AND", "value": []}, f("nope", "=", 1), f("state", "LIKE", "open"),
                    f("state", ">", "open"), f("admin_assignee_id", "IN", 5), f("created_at", "=", "yesterday"),
                    {"operator": "AND"}, {"field": "state", "value": "open"}, [leaf]):
            status, answer = search(base, bad)
            assert status == 400 and answer["errors"][0]["code"] == "parameter_invalid", (bad, answer)


def test_versions_and_unassigned():
    with mock() as (base, _):
        status, conv = call(base, "GET", "/conversations/102", version="2.16")
        assert status == 200 and conv["admin_assignee_id"] == 0 and conv["team_assignee_id"] == 42, conv
        assert conv["type"] == "conversation" and conv["id"] == "102" and conv["open"] is True
        assert conv["updated_at"] == conv["created_at"] == 1001
        status, conv = call(base, "GET", "/conversations/102", version="2.11")
        assert status == 200 and conv["admin_assignee_id"] is None, conv
        assert call(base, "GET", "/conversations/105")[1]["priority"] == "priority"  # passed through
        assert call(base, "GET", "/conversations/999")[0] == 404
        status, answer = search(base, f("admin_assignee_id", "=", 0), version="2.16")
        assert ids(answer) == ["105", "102"], answer
        assert all(c["admin_assignee_id"] == 0 for c in answer["conversations"])
        assert ids(search(base, f("admin_assignee_id", "=", None))[1]) == ["105", "102"]
        assert all(c["admin_assignee_id"] is None for c in search(base, f("admin_assignee_id", "=", 0))[1]["conversations"])
        # assign, unassign, close through parts
        body = {"message_type": "assignment", "type": "admin", "admin_id": "5", "assignee_id": "0"}
        assert call(base, "POST", "/conversations/101/parts", body)[1]["admin_assignee_id"] is None
        body = {"message_type": "assignment", "type": "team", "admin_id": "5", "assignee_id": 43}
        assert call(base, "POST", "/conversations/101/parts", body)[1]["team_assignee_id"] == 43
        conv = call(base, "POST", "/conversations/101/parts", {"message_type": "close", "admin_id": "5"})[1]
        assert conv["state"] == "closed" and conv["open"] is False
        assert ids(search(base, f("admin_assignee_id", "=", 0))[1]) == ["105", "102", "101"]


def test_slow_write():
    with tempfile.TemporaryDirectory() as rec_dir:
        record = Path(rec_dir) / "requests.jsonl"
        with mock("--slow-writes", "1", "--record", str(record)) as (base, _):
            result = {}

            def write():
                t = time.monotonic()
                body = {"message_type": "assignment", "type": "admin", "admin_id": "5", "assignee_id": "9"}
                result["answer"] = call(base, "POST", "/conversations/101/parts", body)
                result["took"] = time.monotonic() - t

            writer = threading.Thread(target=write)
            writer.start()
            time.sleep(0.3)
            t = time.monotonic()
            status, during = call(base, "GET", "/conversations/101")
            read_took = time.monotonic() - t
            assert status == 200 and during["admin_assignee_id"] == 5, during
            assert read_took < 0.5, read_took  # reads are not slowed, nor held by the write
            lines = [json.loads(line) for line in record.read_text().splitlines()]
            assert [(r["method"], r["path"]) for r in lines[:1]] == [("POST", "/conversations/101/parts")], lines
            writer.join(10)
            assert result["took"] >= 1.0, result
            assert result["answer"][0] == 200 and result["answer"][1]["admin_assignee_id"] == 9, result
            assert call(base, "GET", "/conversations/101")[1]["admin_assignee_id"] == 9
            assert ids(search(base, f("admin_assignee_id", "=", 9))[1]) == ["101"]


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            t = time.monotonic()
            fn()
            print(f"{name}: ok ({time.monotonic() - t:.1f} s)")
    print("all ok")

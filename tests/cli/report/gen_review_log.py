#!/usr/bin/env python3
"""Writes the access-review test's logs: usage: gen_review_log.py LINES BULK.log EXTRA.log.gz.
BULK is tests/cli/gen_audit_log.py's log (agents, tier1 denied `conversations:assign` with
`missing_permission`, …; owner, admin and restricted never appear: no traffic). EXTRA, gzip,
adds what an access review looks for, all before or inside BULK's span:
  - a-4 (agent) and o-2 (observer), last seen 45 and 90 days before BULK's first record: dormant;
  - a-7 (agent), who assigns conversations, which no other agent does: beyond the role;
  - t-3 (tier1), denied `contacts:delete` with `mfa_required`, and allowed `contacts:read`."""
import gzip
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import gen_audit_log  # noqa: E402

DAY = 86_400
START = gen_audit_log.START


def record(t, who, role, perm, code="allowed"):
    ok = code == "allowed"
    method, route = gen_audit_log.ROUTES[perm]
    return {"time": t, "adminId": who, "adminEmail": None, "action": perm, "permissions": [perm],
            "resource": f"{method} {route}", "resourceId": "7", "success": ok, "ipAddress": "10.0.0.8",
            "code": code, "status": 200 if ok else 403, "role": role, "method": method,
            "path": route.replace("{id}", "7"), "requestId": f"x-{t}", "sensitive": False, "dryRun": False}


def extra():
    for i in range(6):
        yield record(START - 45 * DAY - i * 60, "a-4", "agent", "contacts:read")
    for i in range(3):
        yield record(START - 90 * DAY - i * 60, "o-2", "observer", "reports:read")
    for i in range(3):
        yield record(START + 100 + i * 60, "a-7", "agent", "conversations:assign")
    for i in range(20):
        yield record(START + 200 + i * 30, "a-7", "agent", "contacts:read")
    for i in range(37):
        yield record(START + 300 + i * 20, "t-3", "tier1", "contacts:delete", "mfa_required")
    for i in range(12):
        yield record(START + 400 + i * 20, "t-3", "tier1", "contacts:read")


def main():
    n, bulk, more = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(bulk, "w") as f:
        f.writelines(gen_audit_log.lines(n))
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in extra())
    # No name and no time in the gzip header: the same bytes (and SHA-256) on every run.
    with open(more, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(text.encode())


if __name__ == "__main__":
    main()

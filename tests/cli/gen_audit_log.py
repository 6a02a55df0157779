#!/usr/bin/env python3
"""Writes a deterministic Envoy log with intercom-authz audit lines, for `usage` tests and
its throughput figure: usage: gen_audit_log.py LINES OUT [--gzip]. Several roles and
subjects, grants never used, denials, other Envoy lines, and malformed audit records."""
import gzip
import json
import random
import sys

# (role, subjects, permissions they use, permissions they try and are denied)
PEOPLE = [
    ("agent", ["a-1", "a-2", "a-3"], ["contacts:read", "conversations:reply", "conversations:close"], ["contacts:delete"]),
    # One agent who only ever reads contacts: a narrower role would do for them.
    ("agent", ["a-9"], ["contacts:read"], []),
    ("tier1", ["t-1", "t-2"], ["contacts:read", "conversations:reply"], ["conversations:assign"]),
    # tier2 extends observer and uses tags:read, which observer's own subjects never do: a
    # proposal must not revoke it from observer (tier2 would lose it).
    ("tier2", ["u-1"], ["contacts:read", "tags:read"], []),
    ("observer", ["o-1"], ["contacts:read", "reports:read"], ["contacts:write"]),
]
ROUTES = {"contacts:read": ("GET", "/contacts/{id}"), "conversations:reply": ("POST", "/conversations/{id}/reply"),
          "conversations:close": ("POST", "/conversations/{id}/parts"), "contacts:delete": ("DELETE", "/contacts/{id}"),
          "conversations:assign": ("POST", "/conversations/{id}/parts"), "reports:read": ("GET", "/reporting/{id}"),
          "contacts:write": ("PUT", "/contacts/{id}"), "tags:read": ("GET", "/tags")}
START = 1_790_000_000  # 2026-09-21


def record(rng, i):
    role, subjects, uses, denials = rng.choice(PEOPLE)
    ok = not denials or rng.random() < 0.9
    perm = rng.choice(uses if ok else denials)
    method, route = ROUTES[perm]
    return {"time": START + i * 7, "adminId": rng.choice(subjects), "adminEmail": None, "action": perm,
            "permissions": [perm], "resource": f"{method} {route}", "resourceId": str(i % 97), "success": ok,
            "ipAddress": "10.0.0.7", "code": "allowed" if ok else "missing_permission", "status": 200 if ok else 403,
            "role": role, "method": method, "path": route.replace("{id}", str(i % 97)), "requestId": f"r-{i}",
            "sensitive": perm.endswith("delete"), "dryRun": False}


def lines(n):
    rng = random.Random(7)
    for i in range(n):
        if i % 50 == 0:
            yield f"[2026-09-21 12:00:00.000][{i}][info][main] [source/server/server.cc:900] all clusters initialized\n"
        elif i % 333 == 0:
            yield "[2026-09-21 12:00:01.000][1][info][wasm] wasm log intercom_authz: intercom-authz audit {\"time\": \"soon\", truncated\n"
        else:
            yield f"[2026-09-21 12:00:01.000][1][info][wasm] wasm log intercom_authz: intercom-authz audit {json.dumps(record(rng, i), separators=(',', ':'))}\n"


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    opener = gzip.open if "--gzip" in sys.argv else open
    with opener(out, "wt") as f:
        f.writelines(lines(n))


if __name__ == "__main__":
    main()

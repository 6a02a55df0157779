#!/usr/bin/env python3
"""`make demo`: the filter in a real Envoy in front of a mock Intercom, all on 127.0.0.1.

Starts tests/mock_intercom.py (:8081) and Envoy with envoy/envoy.yaml (:10000, admin :9901),
sends a handful of requests as owner / admin / agent / observer / tier1 with tokens minted
here (HS256, the demo key of envoy/envoy.yaml), prints each status and body, prints the
filter's counters, and stops what it started, by PID.
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import jwt

ROOT = pathlib.Path(__file__).resolve().parents[1]
SECRET = "demo-secret-change-me-0123456789abcdef"
API = "http://127.0.0.1:10000"


def token(role, sub="7"):
    now = int(time.time())
    claims = {"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": sub, "role": role,
              "email": f"{role}@example.com", "iat": now, "exp": now + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "demo"})


def port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"demo: {url} did not come up")


def call(method, path, role=None, body=None):
    headers = {"content-type": "application/json"}
    if role:
        headers["authorization"] = f"Bearer {token(role)}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    who = role or "(no token)"
    shown = f" {json.dumps(body)}" if body is not None else ""
    print(f"\n$ {method} {path}{shown}   as {who}\n  -> {status} {text}")


def counters():
    """The filter's non-zero counters, once the plugin's tick has handed over the allowed and
    token-cache counts (the filter batches those; envoy/README.md, "Observability")."""
    deadline = time.monotonic() + 5
    while True:
        with urllib.request.urlopen("http://127.0.0.1:9901/stats/prometheus", timeout=5) as r:
            lines = [l for l in r.read().decode().splitlines() if l.startswith("intercom_authz") and not l.endswith(" 0")]
        if any(l.startswith("intercom_authz_allowed") for l in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def main():
    for port in (8081, 10000, 9901):
        if not port_free(port):
            raise SystemExit(f"demo: port {port} on 127.0.0.1 is busy; stop what uses it and retry")
    procs = []
    log = open(ROOT / "target/demo-envoy.log", "w")
    try:
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", "8081"],
                                      stdout=subprocess.DEVNULL, start_new_session=True))
        procs.append(subprocess.Popen([str(ROOT / ".venv/bin/envoy"), "-c", "envoy/envoy.yaml", "--concurrency", "1",
                                       "-l", "warning", "--component-log-level", "wasm:info"],
                                      cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        wait("http://127.0.0.1:9901/ready")
        wait("http://127.0.0.1:8081/")
        print("intercom-authz demo: Envoy :10000 -> intercom-authz -> mock Intercom :8081")
        call("GET", "/contacts/123", "agent")
        call("DELETE", "/contacts/123", "agent")
        call("DELETE", "/contacts/123", "owner")
        call("GET", "/admins/activity_logs", "observer")
        call("POST", "/conversations/42/reply", "observer", {"message_type": "note", "type": "admin", "admin_id": "7", "body": "internal"})
        call("POST", "/conversations/42/parts", "agent", {"message_type": "close", "type": "admin", "admin_id": "7"})
        # The caller (sub 7) writing as teammate 99: Intercom would record it as 99's.
        call("POST", "/conversations/42/reply", "agent", {"message_type": "comment", "type": "admin", "admin_id": "99", "body": "hi"})
        call("POST", "/conversations/42/parts", "tier1", {"message_type": "assignment", "type": "admin", "admin_id": "7", "assignee_id": "9"})
        call("PUT", "/admins/7/away", "agent", {"away_mode_enabled": True, "away_mode_reassign": False})
        call("PUT", "/admins/99/away", "agent", {"away_mode_enabled": True, "away_mode_reassign": False})
        call("PUT", "/ip_allowlist", "admin", {"enabled": True, "ip_allowlist": ["10.0.0.0/8"]})
        call("GET", "/contacts/1;jsessionid=x", "agent")
        call("GET", "/internal/debug", "owner")
        call("GET", "/contacts", None)
        lines = counters()
        print("\nEnvoy counters (admin :9901/stats/prometheus):\n  " + "\n  ".join(lines))
        time.sleep(1.2)  # Envoy flushes its access logs every second
        # The decision log (envoy.yaml's second access log: one audit record per request).
        audit = [l for l in (ROOT / "target/demo-envoy.log").read_text().splitlines() if l.startswith('{"time"')]
        if audit:
            print(f"\nlast decision log record ({len(audit)} written):\n  {audit[-1]}")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        log.close()
        print("\ndemo: stopped Envoy and the mock upstream")


if __name__ == "__main__":
    main()

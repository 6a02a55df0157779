#!/usr/bin/env python3
"""`make soak [SOAK_SECONDS=300]`: mixed traffic through Envoy and the filter for a bounded time.

Allowed, denied, body-dependent (allowed and denied, the body sent as clients send it),
malformed-token, unauthenticated and path-bypass requests, from several keep-alive clients at
once, against one Envoy (`--concurrency 2`) in front of the mock Intercom. Reports the requests
sent, the statuses per kind, every answer that was not the expected one, anything a denied
request delivered to the upstream (and allowed requests that did not arrive exactly once), and
Envoy's resident memory at the start and at the end. Exit code 1 on any unexpected answer or
leak. `make test` runs a short one (tests/envoy/test_soak.py).
"""
import argparse
import collections
import http.client
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.envoy.test_envoy import ENVOY, bootstrap, cluster, free_port, listener, mint, wait_http  # noqa: E402

# kind -> (method, path, role or None, body or None, extra headers, expected status, expected code)
KINDS = {
    "allowed": ("GET", "/contacts/{n}", "agent", None, {}, 200, None),
    "denied": ("DELETE", "/contacts/{n}", "agent", None, {}, 403, "missing_permission"),
    "body_allowed": ("POST", "/conversations/{n}/parts", "agent", {"message_type": "close", "admin_id": "42"}, {}, 200, None),
    "body_denied": ("POST", "/conversations/{n}/parts", "observer", {"message_type": "close", "admin_id": "42"}, {}, 403, "missing_permission"),
    "malformed": ("GET", "/contacts/{n}", None, None, {"authorization": "Bearer not.a.jwt"}, 401, "malformed_token"),
    "unauthenticated": ("GET", "/contacts/{n}", None, None, {}, 401, "missing_token"),
    "bypass": ("GET", "/contacts/..%2Fadmins", "agent", None, {}, 400, "non_canonical_path"),
}
DENIED = {k for k, v in KINDS.items() if v[5] != 200}


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Soak:
    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.procs = []

    def start(self, cmd, log):
        with open(self.tmp / log, "w") as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass

    def up(self):
        self.record = self.tmp / "upstream.jsonl"
        up = free_port()
        self.start([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(up), "--record", str(self.record)], "upstream.log")
        wait_http(f"http://127.0.0.1:{up}/contacts")
        config = dict(json.loads((ROOT / "tests/configs/default.json").read_text()), audit="deny")
        self.port, admin = free_port(), free_port()
        path = self.tmp / "envoy.json"
        path.write_text(json.dumps(bootstrap(admin, [listener("soak", self.port, config)], [cluster("upstream", up)])))
        self.envoy = self.start([ENVOY, "-c", str(path), "--concurrency", "2", "--base-id", str(os.getpid() % 50000 + 4000),
                                 "-l", "warning"], "envoy.log")
        wait_http(f"http://127.0.0.1:{admin}/ready", proc=self.envoy, log=self.tmp / "envoy.log")

    def client(self, worker, deadline, tokens, results):
        conn, seq = None, 0
        kinds = list(KINDS)
        while time.monotonic() < deadline:
            kind = kinds[(seq + worker) % len(kinds)]
            method, path, role, body, extra, want_status, want_code = KINDS[kind]
            case = f"soak-{kind}-{worker}-{seq}"
            headers = dict(extra, **{"x-case-id": case})
            if role:
                headers["authorization"] = f"Bearer {tokens[role]}"
            data = json.dumps(body).encode() if body is not None else None
            if data is not None:
                headers["content-type"] = "application/json"
            seq += 1
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request(method, path.format(n=seq), body=data, headers=headers)
                r = conn.getresponse()
                text = r.read()
                code = r.getheader("x-intercom-authz-code")
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                results.append((kind, case, 0, repr(e), want_status, want_code))
                conn = None
                continue
            results.append((kind, case, r.status, code or text[:80].decode("utf-8", "replace"), want_status, want_code))

    def run(self, seconds, clients):
        tokens = {role: mint({"role": role}) for role in ["agent", "observer"]}
        time.sleep(0.5)
        rss_start = rss_kib(self.envoy.pid)
        results, threads = [], []
        started = time.monotonic()
        deadline = started + seconds
        for w in range(clients):
            t = threading.Thread(target=self.client, args=(w, deadline, tokens, results))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        took = time.monotonic() - started
        rss_end = rss_kib(self.envoy.pid)
        time.sleep(0.5)
        return self.report(results, took, rss_start, rss_end)

    def report(self, results, took, rss_start, rss_end):
        statuses = collections.defaultdict(collections.Counter)
        unexpected = []
        for kind, case, status, code, want_status, want_code in results:
            statuses[kind][status] += 1
            if status != want_status or (want_code and code != want_code):
                unexpected.append(f"{case}: {status} {code} (want {want_status} {want_code or ''})")
        arrived = collections.Counter()
        for line in self.record.read_text().splitlines() if self.record.exists() else []:
            case = json.loads(line)["headers"].get("x-case-id", "")
            if case.startswith("soak-"):
                arrived[case] += 1
        leaks = sorted(c for c in arrived if c.split("-")[1] in DENIED)
        allowed = [(kind, case) for kind, case, status, *_ in results if kind not in DENIED and status == 200]
        lost = [case for kind, case in allowed if arrived[case] != 1]
        summary = {
            "seconds": round(took, 1), "requests": len(results), "per_second": round(len(results) / took),
            "statuses": {k: dict(v) for k, v in sorted(statuses.items())},
            "unexpected": len(unexpected), "leaked_to_upstream": len(leaks), "allowed_not_delivered_once": len(lost),
            "envoy_rss_kib": {"start": rss_start, "end": rss_end},
        }
        return summary, unexpected[:20], leaks[:20], lost[:20]


def soak(seconds, clients=4):
    tmp = tempfile.mkdtemp(prefix="intercom-authz-soak-")
    s = Soak(tmp)
    try:
        s.up()
        return s.run(seconds, clients)
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 300)))
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    summary, unexpected, leaks, lost = soak(args.seconds, args.clients)
    print(json.dumps(summary, indent=1))
    for what, items in [("unexpected answers", unexpected), ("denied requests that reached the upstream", leaks),
                        ("allowed requests not delivered exactly once", lost)]:
        if items:
            print(f"{what} (first {len(items)}):", *items, sep="\n  ")
    sys.exit(1 if unexpected or leaks or lost else 0)


if __name__ == "__main__":
    main()

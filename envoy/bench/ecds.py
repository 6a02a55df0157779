#!/usr/bin/env python3
"""`make bench-ecds`: what an ECDS update of a large policy costs the requests in flight.

One Envoy (--concurrency 1: one worker, so a stall cannot hide behind another worker) runs the
shipped `envoy/ecds/envoy.yaml`, its filter configuration read from a file source. Closed-loop
load (LOAD_THREADS keep-alive connections, each sending the next request when the previous one
is answered) asks `DELETE /contacts/1` as an agent: denied by the filter itself, so every
latency is Envoy's and the filter's, never the upstream's.

For each policy size N (BENCH_ECDS_ROLES, default 1000,10000: N custom roles, each extending a
built-in or an earlier custom role, granting two permissions and revoking a third, the shape of
`cargo bench --bench policy`) the resource is replaced atomically and the script records:

  applied   seconds from the file replaced to Envoy's `config_reload` counter moving
  steady    p50 / p99 / max latency in the 2 s before the update
  update    p50 / p99 / max latency of every request sent between the replacement and 0.5 s
            after it applied (what the update costs requests in flight), and how many there were

Then the policy goes back to the small one (the same measure, the row `back to 1 role`).
Prints a Markdown table. Absolute times on a shared machine are noise; compare the update
columns with the steady ones of the same row.
"""
import json
import os
import pathlib
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.envoy.test_envoy import free_port, mint  # noqa: E402
from tests.envoy import test_fleet as fleet  # noqa: E402  (the shipped bootstrap and resource, run_envoy, stat, upstream, cleanup)

SIZES = [int(n) for n in os.environ.get("BENCH_ECDS_ROLES", "1000,10000").split(",")]
LOAD_THREADS = int(os.environ.get("BENCH_ECDS_THREADS", "4"))
PERMS = ["contacts:delete", "tags:manage", "conversations:assign", "articles:publish",
         "companies:delete", "notes:write", "tickets:delete", "reports:export"]
RELOADS = "extension_config_discovery.http_filter.intercom_authz.config_reload"
FAILS = "extension_config_discovery.http_filter.intercom_authz.config_fail"


def policy(n):
    """benches/policy.rs's random shape (xorshift from the same seed)."""
    seed, mask = 0x9E3779B97F4A7C15, (1 << 64) - 1

    def nxt(m):
        nonlocal seed
        seed ^= (seed << 13) & mask
        seed ^= seed >> 7
        seed ^= (seed << 17) & mask
        return seed % m
    names, roles = ["agent", "admin", "restricted", "owner"], {}
    for i in range(n):
        parent = names[nxt(len(names))]
        a = nxt(len(PERMS))
        b, c = (a + 1 + nxt(3)) % len(PERMS), (a + 5) % len(PERMS)
        roles[f"r{i}"] = {"extends": parent, "grant": [PERMS[a], PERMS[b]], "revoke": [PERMS[c]]}
        names.append(f"r{i}")
    return {"roles": roles}


class Source:
    """The ECDS file, replaced atomically with each new version."""

    def __init__(self, path, base):
        self.path, self.base, self.version = path, base, 0

    def publish(self, pol):
        """Writes the new version next to the source (not under load: the client threads share
        this interpreter) and returns a function that puts it in place atomically."""
        self.version += 1
        staged = fleet.stage_ecds_resource(self.path, self.version, dict(self.base, policy=pol))

        def replace():
            os.replace(staged, self.path)
            return time.monotonic()
        return replace


class Load:
    """LOAD_THREADS closed-loop keep-alive clients; every answer as (sent, latency s, status)."""

    def __init__(self, port, token):
        self.port, self.token, self.stop, self.samples = port, token, threading.Event(), []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(LOAD_THREADS)]

    def run(self):
        req = (f"DELETE /contacts/1 HTTP/1.1\r\nHost: api.intercom.io\r\n"
               f"authorization: Bearer {self.token}\r\n\r\n").encode()
        s, buf = None, b""
        while not self.stop.is_set():
            if s is None:
                s, buf = socket.create_connection(("127.0.0.1", self.port), timeout=30), b""
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.monotonic()
            try:
                s.sendall(req)
                status, buf = read_response(s, buf)
            except OSError:
                s.close()
                s, status = None, 0
            with self.lock:
                self.samples.append((t0, time.monotonic() - t0, status))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def between(self, start, end):
        with self.lock:
            return [s for s in self.samples if start <= s[0] < end]


def read_response(s, buf):
    """One HTTP/1.1 response with a Content-Length (Envoy's local replies have one)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(v) for k, _, v in (line.partition(": ") for line in lines[1:]) if k.lower() == "content-length"), 0)
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        rest += chunk
    return int(lines[0].split()[1]), rest[length:]


def summary(samples):
    ms = sorted(l * 1000 for _, l, _ in samples)
    if not ms:
        return "—", "—", "—"
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{statistics.median(ms):.2f}", f"{p99:.2f}", f"{ms[-1]:.2f}"


def update(source, admin, load, pol):
    reloads = fleet.stat(admin, RELOADS) or 0
    fails = fleet.stat(admin, FAILS) or 0
    replace = source.publish(pol)
    time.sleep(2)
    t = replace()
    while (fleet.stat(admin, RELOADS) or 0) == reloads:
        if (fleet.stat(admin, FAILS) or 0) != fails:
            raise SystemExit("Envoy refused the generated policy (config_fail)")
        if time.monotonic() - t > 120:
            raise SystemExit("the update was not applied within 120 s")
        time.sleep(0.02)
    applied = time.monotonic()
    time.sleep(0.6)
    steady = load.between(t - 2, t)
    during = load.between(t, applied + 0.5)
    bad = [s for s in during if s[2] != 403]
    if bad:
        raise SystemExit(f"{len(bad)} requests during the update were not answered 403: {bad[:3]}")
    return applied - t, steady, during


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-bench-ecds-"))
    try:
        base = json.loads((ROOT / "tests/configs/default.json").read_text())
        source = Source(tmp / "intercom_authz.ecds.yaml", base)
        source.publish({})()
        upstream_port, admin, port = free_port(), free_port(), free_port()
        fleet.upstream(upstream_port)
        cfg = fleet.shipped_ecds_bootstrap(admin, port, source.path, upstream_port)
        fleet.run_envoy(cfg, tmp, "envoy", 4000)
        rows = []
        with Load(port, mint({"role": "agent"})) as load:
            for n in SIZES:
                took, steady, during = update(source, admin, load, policy(n))
                rows.append((f"{n:,} custom roles", took, steady, during))
                took, steady, during = update(source, admin, load, {})
                rows.append((f"back to the built-in roles", took, steady, during))
        print(f"ECDS updates under load: Envoy 1.40 --concurrency 1, {LOAD_THREADS} keep-alive clients "
              f"(closed loop), DELETE /contacts/1 as agent (denied by the filter), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
        print("| update to | applied after s | steady p50 ms | steady p99 ms | steady max ms | requests during | during p50 ms | during p99 ms | during max ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, took, steady, during in rows:
            s, d = summary(steady), summary(during)
            print(f"| {name} | {took:.2f} | {s[0]} | {s[1]} | {s[2]} | {len(during)} | {d[0]} | {d[1]} | {d[2]} |")
    finally:
        fleet.tearDownModule()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

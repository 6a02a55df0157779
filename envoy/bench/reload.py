#!/usr/bin/env python3
"""`make bench-reload`: what one VM trap costs under `failure_policy: FAIL_RELOAD`.

One Envoy (--concurrency 1) runs the test-only build `dist/intercom_authz.test-trap.wasm` (a
request with `x-intercom-authz-test-trap` panics inside the filter). Side by side in one run:

  baseline  ROUNDS x (a valid request)                       on a keep-alive-free connection each
  trap      ROUNDS x (a trapping request, 20 ms, a valid one) the valid one is served by a new VM

Prints the median latency of the trapping request and of the first request after it, against
the baseline, and the Envoy CPU time per trap+reload (from /proc, minus the baseline's CPU per
request). Absolute times on a shared machine are noise; the ratio and the CPU are the figures.
"""
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/envoy"))
import test_envoy as t  # noqa: E402  (the harness: listener/cluster/bootstrap/mint/raw_request)
sys.path.insert(0, str(ROOT / "envoy/bench"))
from run import cpu_seconds as cpu  # noqa: E402  (Envoy's CPU time, from /proc)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))


def timed(port, headers):
    t0 = time.perf_counter()
    status, _, _ = t.raw_request(port, "GET", "/contacts", headers)
    return status, (time.perf_counter() - t0) * 1000


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-reload-"))
    up, port, admin = t.free_port(), t.free_port(), t.free_port()
    cfg = json.loads((ROOT / "tests/configs/default.json").read_text())
    for k in ["policy", "token"]:
        cfg.setdefault(k, {})
    procs = [subprocess.Popen([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(up)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)]
    boot = t.bootstrap(admin, [t.listener("reload", port, cfg, wasm=t.TRAP_WASM, failure_policy="FAIL_RELOAD")],
                       [t.cluster("upstream", up)])
    (tmp / "envoy.json").write_text(json.dumps(boot))
    log = open(tmp / "envoy.log", "w")
    envoy = subprocess.Popen([t.ENVOY, "-c", str(tmp / "envoy.json"), "--concurrency", "1", "--base-id", "4711",
                              "-l", "error"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(envoy)
    try:
        t.wait_http(f"http://127.0.0.1:{admin}/ready")
        t.wait_http(f"http://127.0.0.1:{up}/contacts")
        ok = {"authorization": f"Bearer {t.mint({'role': 'agent'})}", "x-forwarded-for": "127.0.0.1"}
        trap = dict(ok, **{"x-intercom-authz-test-trap": "1"})
        for _ in range(20):  # warm up
            timed(port, ok)
        c0 = cpu(envoy.pid)
        base = [timed(port, ok) for _ in range(ROUNDS)]
        c1 = cpu(envoy.pid)
        trapped, after = [], []
        for _ in range(ROUNDS):
            trapped.append(timed(port, trap))
            time.sleep(0.02)  # past the shipped 10 ms reload backoff
            after.append(timed(port, ok))
        c2 = cpu(envoy.pid)
        assert all(s == 200 for s, _ in base + after), "a valid request was not served"
        assert all(s >= 500 for s, _ in trapped), "a trapping request was served"
        med = lambda xs: statistics.median(ms for _, ms in xs)
        per_req = (c1 - c0) / ROUNDS
        per_trap = (c2 - c1) / ROUNDS - per_req
        print(f"rounds {ROUNDS}")
        print(f"baseline request      median {med(base):7.2f} ms, Envoy CPU {per_req * 1000:7.2f} ms/request")
        print(f"trapping request      median {med(trapped):7.2f} ms ({med(trapped) / med(base):.1f}x baseline)")
        print(f"first request after   median {med(after):7.2f} ms ({med(after) / med(base):.1f}x baseline)")
        print(f"one trap + reload     Envoy CPU {per_trap * 1000:7.2f} ms ({per_trap / per_req:.0f}x a request)")
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/stats", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("wasm") and ("reload" in line or "vm_panics" in line or "runtime.v8" in line):
                    print("  " + line)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=10)


if __name__ == "__main__":
    main()

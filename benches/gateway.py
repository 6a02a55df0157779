#!/usr/bin/env python3
"""`make bench-gateway`: requests per second through the gateway (dist/intercom_authz.gateway.wasm)
under `jco serve` and `wasmtime serve`, side by side in one run with the Envoy filter (dist/intercom_authz.wasm, Envoy
--concurrency 1) and the upstream alone. Informative only: the hosts differ (Node running a
component, one request at a time per instance, against Envoy's C++ and V8).

Every row: wrk on loopback, `GET /contacts/123` as an agent with the same HS256 token (cached),
the upstream a direct-response Envoy (envoy/bench/run.py's), the same configuration with
`audit: none` (the decision log is the host's concern, compared elsewhere). Prints a Markdown
table: requests per second, p50/p99 latency, and each row's ratio to the Envoy filter.
BENCH_DURATION (default 5s), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 16)."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "envoy/bench"))
import run as envoy_bench  # noqa: E402  (envoy/bench/run.py: the same upstream, token and wrk)

GATEWAY = ROOT / "dist/intercom_authz.gateway.wasm"
JCO = ROOT / "tests/node/node_modules/.bin/jco"
WASMTIME = shutil.which("wasmtime") or str(pathlib.Path.home() / ".cargo/bin/wasmtime")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def wait_port(port, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"the process for port {port} exited with {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"port {port} did not open")


def main():
    for what, path in [("the gateway (make gateway)", GATEWAY), ("the filter (make wasm)", envoy_bench.AUTHZ_WASM), ("jco", JCO)]:
        if not pathlib.Path(path).exists():
            raise SystemExit(f"{what} is missing: {path}")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    up_admin, up_port, admin, filter_port, gw_port, wt_port = envoy_bench.free_ports(6)
    config = envoy_bench.authz_config(envoy_bench.HS_KEY)
    procs = []
    try:
        up = envoy_bench.start_envoy(envoy_bench.upstream_config(up_admin, up_port), tmp, "up", 81, core=1)
        procs.append(up)
        filt = envoy_bench.start_envoy(envoy_bench.envoy_config(admin, [envoy_bench.listener(
            "authz", filter_port, envoy_bench.wasm_filters("authz", str(envoy_bench.AUTHZ_WASM), config))], up_port),
            tmp, "filter", 82, core=0)
        procs.append(filt)
        env = dict(os.environ, INTERCOM_AUTHZ_CONFIG=json.dumps(config), INTERCOM_TOKEN="bench-workspace-token",
                   INTERCOM_AUTHZ_UPSTREAM=f"http://127.0.0.1:{up_port}")
        gw = subprocess.Popen(envoy_bench.pinned([str(JCO), "serve", "--host", "127.0.0.1", "--port", str(gw_port), str(GATEWAY)], 0),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(gw)
        # wasmtime serve: a fresh instance per request (the configuration compiled each time).
        names = [a for k in ("INTERCOM_AUTHZ_CONFIG", "INTERCOM_TOKEN", "INTERCOM_AUTHZ_UPSTREAM") for a in ("--env", k)]
        wt = subprocess.Popen(envoy_bench.pinned([WASMTIME, "serve", "--addr", f"127.0.0.1:{wt_port}", "-Scli", *names, str(GATEWAY)], 0),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(wt)
        envoy_bench.wait_ready(up_admin, up)
        envoy_bench.wait_ready(admin, filt)
        wait_port(gw_port, gw)
        wait_port(wt_port, wt)
        tok = envoy_bench.token("HS256")
        rows = {"upstream alone (direct-response Envoy)": (up_port, None),
                "Envoy + intercom-authz filter": (filter_port, tok),
                "jco serve + intercom-authz gateway": (gw_port, tok),
                "wasmtime serve + intercom-authz gateway": (wt_port, tok)}
        for name, (port, t) in rows.items():
            assert envoy_bench.status(port, "GET", t) == 200, name
            assert t is None or envoy_bench.status(port, "DELETE", t) == 403, name
        results = {name: [] for name in rows}
        for _ in range(ROUNDS):
            for name, (port, t) in rows.items():
                results[name].append(envoy_bench.wrk(port, t))
        print(f"| {ROUNDS} rounds of {envoy_bench.DURATION}, {envoy_bench.CONNECTIONS} connections, median | req/s | p50 | p99 | ÷ Envoy filter |")
        print("|---|---:|---:|---:|---:|")
        med = {name: sorted(r, key=lambda x: x[0])[len(r) // 2] for name, r in results.items()}
        base = med["Envoy + intercom-authz filter"][0]
        for name, (rps, _total, p50, p99, non2xx) in med.items():
            assert non2xx == 0, f"{name}: {non2xx} answers not 2xx"
            print(f"| {name} | {rps:,.0f} | {p50} | {p99} | {rps / base:.2f} |")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)


if __name__ == "__main__":
    main()

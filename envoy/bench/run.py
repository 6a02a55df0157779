#!/usr/bin/env python3
"""`make bench-envoy`: wrk on loopback against one Envoy (--concurrency 1), side by side in one run:

  nofilter      router only
  authz_hs256   intercom-authz (as shipped: no buffer filter), HS256 token (the same token each time: cached)
  authz_rs256   intercom-authz, RS256, the same token (cache hits)
  authz_rs256_cold  intercom-authz, RS256, a different token on every request (cache misses)
  native_rs256  Envoy's own jwt_authn (RS256, local JWKS) + rbac doing the same check

The upstream is a second Envoy answering with a direct response, so the upstream is never the
bottleneck. Prints throughput, ratio to nofilter, p50/p99 latency and the tested Envoy's CPU
time per request; writes envoy/bench/results.md.
"""
import base64
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENVOY = str(ROOT / ".venv/bin/envoy")
KEYS = ROOT / "tests/keys"
DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "16")
PATH = "/contacts/123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hcm(name, filters, cluster="upstream"):
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": name,
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": cluster}}]}]},
        "http_filters": filters + [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}


def listener(name, port, filters):
    return {"name": name, "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [hcm(name, filters)]}]}


# An earlier build to compare with, side by side in the same run (e.g. one built from an older
# commit): BENCH_BASELINE_WASM=/path/to/intercom_authz.wasm make bench-envoy
BASELINE = os.environ.get("BENCH_BASELINE_WASM")


def authz_filters(name, config, wasm=None):
    return [
        {"name": "intercom_authz", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {"name": name, "root_id": "intercom_authz", "failure_policy": "FAIL_RELOAD",
                       "allow_on_headers_stop_iteration": True,
                       "vm_config": {"vm_id": name, "runtime": "envoy.wasm.runtime.v8",
                                     "code": {"local": {"filename": wasm or str(ROOT / "dist/intercom_authz.wasm")}}},
                       "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json.dumps(config)}}}},
    ]


def rsa_jwk():
    n = serialization.load_pem_public_key((KEYS / "rsa.pub.pem").read_bytes()).public_numbers()
    b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
    return {"kty": "RSA", "kid": "rs1", "alg": "RS256", "use": "sig", "n": b64(n.n), "e": b64(n.e)}


def native_filters():
    return [
        {"name": "envoy.filters.http.jwt_authn", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"sso": {"issuer": "https://sso.example.com", "audiences": ["intercom-authz"],
                                  "local_jwks": {"inline_string": json.dumps({"keys": [rsa_jwk()]})},
                                  "payload_in_metadata": "jwt_payload"}},
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "sso"}}]}},
        {"name": "envoy.filters.http.rbac", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": "ALLOW", "policies": {"read-contacts": {
                "permissions": [{"and_rules": {"rules": [
                    {"header": {"name": ":method", "string_match": {"exact": "GET"}}},
                    {"url_path": {"path": {"safe_regex": {"regex": "^/contacts/[^/]+$"}}}}]}}],
                "principals": [{"metadata": {"filter": "envoy.filters.http.jwt_authn", "path": [{"key": "jwt_payload"}, {"key": "role"}],
                                             "value": {"list_match": {"one_of": {"string_match": {"safe_regex": {"regex": "^(owner|admin|restricted|agent|observer)$"}}}}}}},
                               {"metadata": {"filter": "envoy.filters.http.jwt_authn", "path": [{"key": "jwt_payload"}, {"key": "role"}],
                                             "value": {"string_match": {"safe_regex": {"regex": "^(owner|admin|restricted|agent|observer)$"}}}}}]}}}}},
    ]


def token(alg, sub="admin-42", n=0):
    now = int(time.time())
    claims = {"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": sub, "role": "agent",
              "iat": now - 60, "exp": now + 3600, "n": n}
    if alg == "HS256":
        return jwt.encode(claims, (KEYS / "hs.secret").read_bytes(), algorithm="HS256", headers={"kid": "hs1"})
    return jwt.encode(claims, (KEYS / "rsa.pem").read_bytes(), algorithm="RS256", headers={"kid": "rs1"})


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port, token_value=None, script=None):
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency"]
    if token_value:
        cmd += ["-H", f"Authorization: Bearer {token_value}"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{PATH}")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, total, lat.get("50"), lat.get("99"), int(non2xx.group(1)) if non2xx else 0


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-bench-"))
    up_port, admin_a, admin_b = free_port(), free_port(), free_port()
    ports = {n: free_port() for n in ["nofilter", "authz_hs256", "authz_rs256", "native_rs256", "baseline_hs256"]}
    upstream = {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_b}}},
                "static_resources": {"listeners": [{"name": "up", "address": {"socket_address": {"address": "127.0.0.1", "port_value": up_port}},
                    "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "up", "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                            {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "{\"type\":\"contact\",\"id\":\"123\"}"}}}]}]},
                        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}]}}
    authz = lambda keys: {"token": {"keys": keys, "issuers": ["https://sso.example.com"], "audiences": ["intercom-authz"]}, "audit": "none"}
    tested = {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_a}}},
              "static_resources": {
                  "listeners": [
                      listener("nofilter", ports["nofilter"], []),
                      listener("authz_hs256", ports["authz_hs256"], authz_filters("authz_hs256", authz([{"kid": "hs1", "alg": "HS256", "secret": (KEYS / "hs.secret").read_text()}]))),
                      listener("authz_rs256", ports["authz_rs256"], authz_filters("authz_rs256", authz([{"kid": "rs1", "alg": "RS256", "pem": (KEYS / "rsa.pub.pem").read_text()}]))),
                      listener("native_rs256", ports["native_rs256"], native_filters()),
                  ] + ([listener("baseline_hs256", ports["baseline_hs256"], authz_filters("baseline_hs256", authz([{"kid": "hs1", "alg": "HS256", "secret": (KEYS / "hs.secret").read_text()}]), BASELINE))]
                       if BASELINE else []),
                  "clusters": [{"name": "upstream", "type": "STATIC", "connect_timeout": "1s",
                                "load_assignment": {"cluster_name": "upstream", "endpoints": [{"lb_endpoints": [
                                    {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": up_port}}}}]}]}}]}}
    (tmp / "up.json").write_text(json.dumps(upstream))
    (tmp / "tested.json").write_text(json.dumps(tested))
    procs = [subprocess.Popen([ENVOY, "-c", str(tmp / "up.json"), "--concurrency", "1", "--base-id", "71", "-l", "error"], start_new_session=True),
             subprocess.Popen([ENVOY, "-c", str(tmp / "tested.json"), "--concurrency", "1", "--base-id", "72", "-l", "error"], start_new_session=True)]
    try:
        for port in (admin_a, admin_b):
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1)
                    break
                except Exception:
                    time.sleep(0.1)
        hs, rs = token("HS256"), token("RS256")
        # Unique RS256 tokens: more than the cache holds, cycled, so every request verifies.
        cold = [token("RS256", n=i) for i in range(4096)]
        (tmp / "tokens.lua").write_text("local t = {" + ",".join(f'"{x}"' for x in cold) + "}\nlocal i = 0\n"
                                        "request = function()\n  i = i + 1\n  return wrk.format(nil, nil, {Authorization = \"Bearer \" .. t[(i % #t) + 1]})\nend\n")
        # Sanity: each variant answers 200 for this request, and the filter denies a delete.
        for name, tok in [("nofilter", None), ("authz_hs256", hs), ("authz_rs256", rs), ("native_rs256", rs)]:
            req = urllib.request.Request(f"http://127.0.0.1:{ports[name]}{PATH}", headers={"authorization": f"Bearer {tok}"} if tok else {})
            assert urllib.request.urlopen(req, timeout=5).status == 200, name
        runs = [("no filter", "nofilter", None, None), ("intercom-authz HS256", "authz_hs256", hs, None),
                ("intercom-authz RS256, repeated token (cache)", "authz_rs256", rs, None),
                ("intercom-authz RS256, unique tokens (cold)", "authz_rs256", None, tmp / "tokens.lua"),
                ("native jwt_authn + rbac, RS256", "native_rs256", rs, None)]
        if BASELINE:
            runs.insert(1, (f"baseline build ({pathlib.Path(BASELINE).name}) HS256", "baseline_hs256", hs, None))
        pid = procs[1].pid
        results = []
        for label, name, tok, script in runs:
            c0 = cpu_seconds(pid)
            rps, total, p50, p99, bad = wrk(ports[name], tok, script)
            cpu_us = (cpu_seconds(pid) - c0) / max(total, 1) * 1e6
            results.append((label, rps, p50, p99, cpu_us, bad))
            print(f"{label:48s} {rps:10.0f} req/s  p50 {p50}  p99 {p99}  CPU {cpu_us:6.1f} µs/req  non-2xx {bad}", flush=True)
        base = results[0][1]
        lines = [f"wrk -t1 -c{CONNECTIONS} -d{DURATION}, Envoy 1.40 --concurrency 1, GET {PATH} as agent, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
                 "", "| variant | req/s | × no filter | p50 | p99 | Envoy CPU µs/req | non-2xx |", "|---|---:|---:|---:|---:|---:|---:|"]
        for label, rps, p50, p99, cpu_us, bad in results:
            lines.append(f"| {label} | {rps:.0f} | {rps / base:.2f} | {p50} | {p99} | {cpu_us:.1f} | {bad} |")
        (ROOT / "envoy/bench/results.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=10)


if __name__ == "__main__":
    main()

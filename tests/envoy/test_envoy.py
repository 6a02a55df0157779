#!/usr/bin/env python3
"""End-to-end tests of the filter in a real Envoy, with a real upstream, over HTTP.

Run by `make test-envoy` (part of `make test`), which first builds `dist/intercom_authz.wasm`
and materializes the decision corpus into `target/tmp/corpus.json` (`cargo test --test
decisions`). Nothing here is skipped: a missing Envoy, wasm or corpus is a failure.

What is checked:
- the whole corpus (core rules, paths, bodies, conditions, token attacks) through Envoy
  listeners that have NO `normalize_path` / `merge_slashes`: same decisions as the core;
- nothing the core denies reaches the upstream, and what does reach it is the canonical path;
- every config in `envoy/` passes `envoy --mode validate`; broken plugin configs are refused
  with our one-line message;
- dry-run, body limits, upstream headers, the remote JWKS (and its server being down),
  metrics on /stats/prometheus and the audit lines.
"""
import base64
import re  # noqa: F401
import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import corpus_http  # noqa: E402  (tests/corpus_http.py)
import threading
import time
import unittest
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENVOY = os.environ.get("ENVOY", str(ROOT / ".venv/bin/envoy"))
WASM = ROOT / "dist/intercom_authz.wasm"
# Tests only: the filter built with feature test-trap (a request header makes it panic).
TRAP_WASM = ROOT / "dist/intercom_authz.test-trap.wasm"
CORPUS = ROOT / "target/tmp/corpus.json"
HERE = pathlib.Path(__file__).resolve().parent

# Cases where Envoy itself answers before the filter runs (its HTTP parser refuses the
# request line). The filter never sees them, and the upstream gets nothing: still a denial.
ENVOY_REFUSES = {
    "a non-ASCII byte is refused",
    "CVE-2021-32779: a fragment is stripped and refused",
    "an asterisk-form target is refused",
    "a lower-case method is denied",
    # Raw bytes 0x80-0xFF in an HTTP/1 request line: Envoy's parser refuses them (the same
    # bytes in an HTTP/2 `:path` do reach the filter: NonUtf8Bytes.test_path_bytes_http2).
    "a byte 0xFF in the path is non_canonical_path",
    "a byte 0x80 in a path segment is non_canonical_path",
    "an overlong UTF-8 slash (C0 AF) in the path is non_canonical_path",
    "a byte 0xFF in the query is non_canonical_path",
    "a Latin-1 byte in a query key is non_canonical_path",
    "a byte 0xFF in the method is refused",
}
# Cases Envoy rewrites before the filter runs: an absolute-form target becomes `:authority` +
# origin-form `:path`. The filter judges (and the upstream receives) the rewritten path.
ENVOY_REWRITES = {
    "an absolute URI is refused": ("/contacts", "allow"),
}


_given_ports = set()


def free_port():
    """A free loopback port, never one this run already handed out (the kernel may offer a
    just-closed port again)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def raw_request(port, method, path, headers, body=None, timeout=10, latin1=False):
    """Sends exactly this request line (no client-side path cleaning) and returns
    (status, headers dict, body bytes). With `latin1`, every string stands for the bytes of its
    Latin-1 encoding ("\u00ff" is the byte 0xFF: tests/corpus/mod.rs)."""
    enc = "latin-1" if latin1 else "utf-8"
    data = body.encode(enc) if isinstance(body, str) else body
    lines = [f"{method} {path} HTTP/1.1", "Host: api.intercom.io", "Connection: close"]
    for k, v in headers.items():
        lines.append(f"{k}: {v}")
    if data is not None:
        lines.append(f"Content-Length: {len(data)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode(enc) + (data or b"")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        resp = http.client.HTTPResponse(s, method=method)
        resp.begin()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def slow_request(port, method, path, headers, chunks, first_delay=1.0, gap=0.3, length=None, timeout=15):
    """Headers first, the body `first_delay` s later in `chunks`, `gap` s apart. A `length` above
    what the chunks hold is a body that never ends. Returns (status, headers, body, seconds)."""
    data = b"".join(chunks)
    lines = [f"{method} {path} HTTP/1.1", "Host: api.intercom.io", "Connection: close",
             f"Content-Length: {len(data) if length is None else length}"] + [f"{k}: {v}" for k, v in headers.items()]
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        time.sleep(first_delay)
        for c in chunks:
            s.sendall(c)
            time.sleep(gap)
        resp = http.client.HTTPResponse(s, method=method)
        resp.begin()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read(), time.monotonic() - start


def h2_request(port, headers, body=None, timeout=10):
    """One HTTP/2 request (h2c, prior knowledge) with exactly these header bytes: no client-side
    validation or normalization. Returns (status, headers dict, body bytes); status 0 when the
    stream or connection was reset."""
    import h2.config
    import h2.connection
    import h2.events
    cfg = h2.config.H2Configuration(client_side=True, header_encoding=None, validate_outbound_headers=False,
                                    normalize_outbound_headers=False, validate_inbound_headers=False)
    conn = h2.connection.H2Connection(config=cfg)
    conn.initiate_connection()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, headers, end_stream=body is None)
        if body is not None:
            conn.send_data(sid, body, end_stream=True)
        s.sendall(conn.data_to_send())
        status, rh, data = 0, {}, b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return status, rh, data
            for ev in conn.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    rh = {k.decode().lower(): v.decode("latin-1") for k, v in ev.headers}
                    status = int(rh[":status"])
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    data += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    return status, rh, data
                elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    return 0, {}, repr(ev).encode()
            s.sendall(conn.data_to_send())


def h2_headers(method, path, extra=()):
    b = lambda v: v if isinstance(v, bytes) else v.encode()
    return [(b":method", b(method)), (b":scheme", b"http"), (b":authority", b"api.intercom.io"), (b":path", b(path))] + \
        [(b(k), b(v)) for k, v in extra]


# The shipped reload backoff (envoy/envoy.yaml): a new VM for the very next request, at most
# one reload a second per worker when something keeps trapping it.
RELOAD_CONFIG = {"backoff": {"base_interval": "0.01s", "max_interval": "1s"}}


def listener(name, port, plugin_config, wasm=WASM, failure_policy="FAIL_RELOAD", underscores="REJECT_REQUEST", access_log=None,
             hold="headers", host_env_keys=None, code=None, trusted_hops=1, upstream="upstream", decisions=None):
    """`hold`: how body-dependent requests are held. `headers` (shipped, envoy/envoy.yaml): the
    plugin's `allow_on_headers_stop_iteration`, no buffer filter; `buffer_filter`: the mode for
    hosts without that knob (`body_hold: buffer_filter` + envoy.filters.http.buffer after the
    filter); `no_knob`: `body_hold: headers` on a host without the knob (a misconfiguration).
    `code`: the module's `vm_config.code` (default: the local `wasm`). `trusted_hops`: the
    connection manager's `xff_num_trusted_hops` (always `use_remote_address: true`): 1 is a
    trusted load balancer in front (the right-most X-Forwarded-For entry is the client, as the
    tests send one per case); 0 is the shipped edge (envoy/envoy.yaml: the header is ignored).
    `decisions`: a file for the decision log as envoy/envoy.yaml writes it (the audit record, one
    line per request)."""
    if hold == "buffer_filter" and isinstance(plugin_config, dict):
        plugin_config = dict(plugin_config, body_hold="buffer_filter")
    buffer = [{"name": "envoy.filters.http.buffer", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
        "max_request_bytes": 1048576}}] if hold == "buffer_filter" else []
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": name,
                # Deliberately no normalize_path / merge_slashes: the filter must hold alone.
                # As behind one trusted load balancer (envoy/README.md, "The client address"):
                # the right-most X-Forwarded-For entry is the client (tests send one per case).
                "use_remote_address": True,
                **({"xff_num_trusted_hops": trusted_hops} if trusted_hops else {}),
                # Tests name each request (`x-request-id: case-<i>`) to compare deny bodies byte for byte.
                "preserve_external_request_id": True,
                # HTTP/1 and h2c (prior knowledge) on one port, as a mesh listener speaks both.
                "codec_type": "AUTO",
                # As shipped (envoy/envoy.yaml); a test listener sets ALLOW to check the filter alone.
                "common_http_protocol_options": {"headers_with_underscores_action": underscores},
                "access_log": [*([{"name": "envoy.access_loggers.file", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                    "path": str(access_log), "log_format": {"text_format_source": {"inline_string":
                        "%REQ(X-CASE)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %FILTER_STATE(wasm.intercom_authz.decision:PLAIN)% %FILTER_STATE(wasm.intercom_authz.audit:PLAIN)%\n"}}}}]
                   if access_log else []), *([decision_log(decisions)] if decisions else [])],
                "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                    {"match": {"prefix": "/"}, "route": {"cluster": upstream}}]}]},
                "http_filters": [
                    {"name": "intercom_authz", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                        "config": {
                            "name": name, "root_id": "intercom_authz", "failure_policy": failure_policy,
                            **({"allow_on_headers_stop_iteration": True} if hold == "headers" else {}),
                            **({"reload_config": RELOAD_CONFIG} if failure_policy == "FAIL_RELOAD" else {}),
                            "vm_config": {"vm_id": name, "runtime": "envoy.wasm.runtime.v8",
                                          "code": code or {"local": {"filename": str(wasm)}},
                                          **({"environment_variables": {"host_env_keys": host_env_keys}} if host_env_keys else {})},
                            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                              "value": plugin_config if isinstance(plugin_config, str) else json.dumps(plugin_config)}}}},
                    *buffer,
                    {"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                ]}}]}],
    }


def decision_log(path):
    """The decision log as envoy/envoy.yaml writes it: the audit record, one line per request."""
    shipped = yaml.safe_load((ROOT / "envoy/envoy.yaml").read_text())
    hcm = shipped["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (log,) = [a for a in hcm["access_log"] if "audit" in json.dumps(a)]
    log = json.loads(json.dumps(log))
    log["typed_config"] = {"@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                           "path": str(path), "log_format": log["typed_config"]["log_format"]}
    return log


def cluster(name, port):
    return {"name": name, "type": "STATIC", "connect_timeout": "0.5s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}}


# As shipped (envoy/envoy.yaml): the decision code is a tag of one counter, not a name per code.
STATS_TAGS = [{"tag_name": "intercom_authz_code", "regex": r"^wasmcustom\.intercom_authz\.(?:shadow_)?denied(\.(\w+))$"}]


def bootstrap(admin_port, listeners, clusters):
    return {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
            "stats_config": {"stats_tags": STATS_TAGS},
            "static_resources": {"listeners": listeners, "clusters": clusters}}


class Env:
    """The processes of one test run, stopped by PID at the end."""
    procs = []
    tmp = None


def start(cmd, log, env=None):
    out = open(log, "w")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                         env=dict(os.environ, **env) if env else None)
    out.close()  # the child has its own copy
    Env.procs.append(p)
    return p


def wait_http(url, timeout=60, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = pathlib.Path(log).read_text()[-3000:] if log else ""
            raise AssertionError(f"the process serving {url} exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up in {timeout}s")


def rsa_jwk(pub_pem, kid):
    from cryptography.hazmat.primitives import serialization
    n = serialization.load_pem_public_key(pub_pem).public_numbers()
    b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
    return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64(n.n), "e": b64(n.e)}


PYJWT_KEYS = {  # algorithm -> (kid in tests/configs/default.json, signing key file)
    "HS256": ("hs1", "hs.secret"), "HS384": ("hs384", "hs512.secret"), "HS512": ("hs512", "hs512.secret"),
    "RS256": ("rs1", "rsa.pem"), "RS384": ("rs384", "rsa.pem"), "RS512": ("rs512", "rsa.pem"),
    "PS256": ("ps1", "rsa.pem"), "PS384": ("ps384", "rsa.pem"), "PS512": ("ps512", "rsa.pem"),
    "ES256": ("es1", "ec.pem"), "ES384": ("es384", "ec384.pem"), "EdDSA": ("ed1", "ed.pem"),
}


def mint(claims, key="hs", kid="hs1", alg=None):
    """A token minted by PyJWT, an independent implementation."""
    import jwt
    now = int(time.time())
    base = {"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": "42",
            "email": "teammate@example.com", "iat": now - 60, "exp": now + 3600}
    base.update(claims)
    if alg is not None:
        kid, keyfile = PYJWT_KEYS[alg]
        return jwt.encode(base, (ROOT / "tests/keys" / keyfile).read_bytes(), algorithm=alg, headers={"kid": kid})
    if key == "hs":
        return jwt.encode(base, (ROOT / "tests/keys/hs.secret").read_bytes(), algorithm="HS256", headers={"kid": kid})
    return jwt.encode(base, (ROOT / "tests/keys/rsa.pem").read_bytes(), algorithm="RS256", headers={"kid": kid})


def setUpModule():
    try:
        _set_up_module()
    except BaseException:
        tearDownModule()  # unittest does not call it when setUpModule fails
        raise


def _set_up_module():
    for what, path in [("Envoy", ENVOY), ("the filter (make wasm)", WASM), ("the corpus (cargo test --test decisions)", CORPUS)]:
        if not pathlib.Path(path).exists():
            raise AssertionError(f"{what} is missing: {path}")
    Env.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-envoy-"))
    Env.corpus = json.loads(CORPUS.read_text())
    age = time.time() - Env.corpus["now"]
    if age > 600:
        raise AssertionError(f"{CORPUS} was materialized {age:.0f} s ago: its tokens' times are stale; run `cargo test --test decisions` first (make test-envoy does)")
    Env.record = Env.tmp / "upstream.jsonl"
    Env.upstream_port, Env.jwks_port, Env.down_port = free_port(), free_port(), free_port()
    jwks_file = Env.jwks_file = Env.tmp / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},  # skipped: not a signature key
        rsa_jwk((ROOT / "tests/keys/rsa.pub.pem").read_bytes(), "remote-rs")]}))
    start([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(Env.upstream_port), "--record", str(Env.record),
           "--cases", str(CORPUS)], Env.tmp / "upstream.log")
    start([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(Env.jwks_port), "--jwks", str(jwks_file)], Env.tmp / "jwks.log")
    # Intercom's teammate directory, served from a file the Directory tests rewrite and remove.
    Env.admins_file, Env.directory_record, Env.directory_port = Env.tmp / "admins.json", Env.tmp / "directory.jsonl", free_port()
    Env.admins_file.write_text(json.dumps(DIRECTORY_V1))
    start([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(Env.directory_port), "--admins", str(Env.admins_file),
           "--record", str(Env.directory_record)], Env.tmp / "directory.log")

    # A stateful Intercom (conversations that can be reassigned and searched; writes take 1.5 s,
    # applied at the end) for the side-door tests (issue 28).
    Env.store_file, Env.store_record, Env.store_port = Env.tmp / "store.json", Env.tmp / "store.jsonl", free_port()
    Env.store_file.write_text(json.dumps(STORE))
    start([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(Env.store_port), "--store", str(Env.store_file),
           "--slow-writes", "1.5", "--record", str(Env.store_record)], Env.tmp / "store.log")

    default = Env.corpus["configs"]["default"]
    Env.ports = {}
    listeners = []
    Env.decisions = Env.tmp / "decisions.jsonl"
    def add(name, cfg, **kw):
        Env.ports[name] = free_port()
        listeners.append(listener(name, Env.ports[name], cfg, decisions=Env.decisions, **kw))
    for name, cfg in Env.corpus["configs"].items():
        add("corpus_" + name, dict(cfg, audit="all"))
    add("dryrun", dict(default, mode="dry_run"))
    add("limits", dict(default, max_body_bytes=1024))
    add("headers", dict(default, upstream={"role_header": "x-authz-role", "subject_header": "x-authz-subject", "intercom_token": "icm-workspace-token"}))
    Env.access_log = Env.tmp / "access.log"
    Env.ports["access_logged"] = free_port()
    listeners.append(listener("access_logged", Env.ports["access_logged"], default, access_log=Env.access_log))
    Env.ports["access_logged_deny"] = free_port()
    listeners.append(listener("access_logged_deny", Env.ports["access_logged_deny"], dict(default, decision_state="deny"),
                              access_log=Env.access_log))
    Env.ports["headers_underscores_allowed"] = free_port()
    listeners.append(listener("headers_underscores_allowed", Env.ports["headers_underscores_allowed"],
                              dict(default, upstream={"role_header": "x-authz-role", "subject_header": "x-authz-subject"}),
                              underscores="ALLOW"))
    add("headers_custom", dict(default, token=dict(default["token"], header="x-employee-token")))
    remote_token = {"issuers": ["https://sso.example.com"], "audiences": ["intercom-authz"]}
    add("remote", {"token": remote_token, "remote_jwks": {"cluster": "jwks", "path": "/.well-known/jwks.json", "refresh_secs": 60}})
    # Its own root, so that no other test's unknown kid spends its once-per-retry_secs fetch.
    add("remote_rotation", {"token": remote_token, "remote_jwks": {"cluster": "jwks", "path": "/.well-known/jwks.json",
                                                                   "refresh_secs": 600, "retry_secs": 2}})
    add("remote_down", {"token": remote_token, "remote_jwks": {"cluster": "jwks_down", "path": "/.well-known/jwks.json", "retry_secs": 1}})
    # upstream.intercom_token_env reads the VM's environment: Envoy passes only the variables
    # named in vm_config.environment_variables.host_env_keys (envoy/README.md).
    add("token_env", dict(default, upstream={"intercom_token_env": "INTERCOM_AUTHZ_TEST_WORKSPACE_TOKEN"}),
        host_env_keys=["INTERCOM_AUTHZ_TEST_WORKSPACE_TOKEN"])
    # Who the caller is: Intercom's directory, fetched through a cluster every second.
    add("directory", dict(default, identity={"source": "directory", "cluster": "directory", "refresh_secs": 1, "retry_secs": 1},
                          upstream={"intercom_token": "icm-workspace-token"},
                          policy={"roles": {"tier1": {"extends": "agent", "revoke": ["conversations:assign"]}}}))
    # The client address: the shipped edge (no X-Forwarded-For trusted) and one trusted hop.
    fenced = dict(default, policy=dict(default.get("policy", {}), ip_allowlist=["10.20.0.0/16"]))
    add("edge", fenced, trusted_hops=0)
    add("behind_lb", fenced, trusted_hops=1)
    slow = dict(default, body_timeout_ms=3000, upstream={"role_header": "x-authz-role", "intercom_token": "icm-workspace-token"})
    for hold in ["headers", "buffer_filter", "no_knob"]:
        add("slow_" + hold, slow, hold=hold)
    conv = Env.corpus["configs"]["conversations"]
    add("store", dict(conv, conversations=dict(conv["conversations"], cluster="store", cache_secs=60)), upstream="store")
    Env.admin_port = free_port()
    cfg = bootstrap(Env.admin_port, listeners, [cluster("upstream", Env.upstream_port), cluster("jwks", Env.jwks_port), cluster("jwks_down", Env.down_port),
                                           cluster("directory", Env.directory_port), cluster("store", Env.store_port)])
    cfg_path = Env.tmp / "envoy.json"
    cfg_path.write_text(json.dumps(cfg))
    Env.envoy_log = Env.tmp / "envoy.log"
    # Access log files flushed often (`--file-flush-interval-msec`), so tests need not wait 10 s.
    envoy = start([ENVOY, "-c", str(cfg_path), "--concurrency", "2", "--base-id", str(os.getpid() % 60000 + 1000),
                   "--file-flush-interval-msec", "200", "-l", "warning", "--component-log-level", "wasm:info"], Env.envoy_log,
                   env={"INTERCOM_AUTHZ_TEST_WORKSPACE_TOKEN": "icm-from-the-environment"})
    wait_http(f"http://127.0.0.1:{Env.admin_port}/ready", proc=envoy, log=Env.envoy_log)
    wait_http(f"http://127.0.0.1:{Env.upstream_port}/contacts")
    # The remote JWKS is fetched on configure, then on a 1 s tick.
    deadline = time.time() + 20
    while "loaded 1 key(s) from the JWKS" not in Env.envoy_log.read_text() and time.time() < deadline:
        time.sleep(0.2)


def stop_all(procs):
    """Stops each process group started (SIGTERM, then SIGKILL after 10 s)."""
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def tearDownModule():
    stop_all(Env.procs)


def read_jsonl(path):
    if not path.exists():
        return []
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def upstream_records():
    return read_jsonl(Env.record)


def metrics():
    with urllib.request.urlopen(f"http://127.0.0.1:{Env.admin_port}/stats/prometheus", timeout=5) as r:
        out = {}
        for line in r.read().decode().splitlines():
            if line.startswith("intercom_authz"):
                name, value = line.rsplit(" ", 1)
                out[name.replace("{}", "")] = float(value)
        return out


class Conversations(unittest.TestCase):
    """Lookups counted (issue 14): a write on one conversation by a restricted teammate asks
    Intercom once; repeated denied writes are answered from the cache; an allowed write forgets
    (it may have reassigned); a judged read teaches the cache (open, then reply: no lookup).
    One keep-alive connection, so every request meets the same worker's cache."""

    def test_lookups_per_write_with_the_cache_warm(self):
        tok = mint({"role": "mine", "sub": "7", "teams": []})
        conn = http.client.HTTPConnection("127.0.0.1", Env.ports["corpus_conversations"], timeout=10)
        reply = json.dumps({"message_type": "comment", "type": "admin", "admin_id": "7", "body": "hi"})
        headers = {"authorization": f"Bearer {tok}", "content-type": "application/json", "host": "api.intercom.io"}
        name = "intercom_authz_conversation_"

        def send(method, path, body=None):
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()

        def counts():
            m = metrics()
            return m.get(name + "lookups", 0), m.get(name + "lookup_cache_hits", 0)

        def step(method, path, body, want_status):
            before = counts()
            status, text = send(method, path, body)
            self.assertEqual(status, want_status, text)
            after = counts()
            return after[0] - before[0], after[1] - before[1]

        mine, theirs = "/conversations/7000001/reply", "/conversations/9000001/reply"
        self.assertEqual(step("POST", theirs, reply, 403), (1, 0), "the first write looks up")
        self.assertEqual(step("POST", theirs, reply, 403), (0, 1), "a denied retry: from the cache")
        self.assertEqual(step("POST", mine, reply, 200), (1, 0))
        self.assertEqual(step("POST", mine, reply, 200), (1, 0), "an allowed write forgot it")
        status, text = send("GET", "/conversations/7000001")
        self.assertEqual(status, 200, text)
        self.assertEqual(step("POST", mine, reply, 200), (0, 1), "the read taught the cache")
        conn.close()

    def test_a_judged_answer_larger_than_envoys_buffer_never_leaves(self):
        """A list is buffered whole to be judged: past Envoy's buffer limit (1 MiB by default,
        below `max_response_bytes`) Envoy answers with its own error; nothing of it is passed on.
        (The mock's list ids, 95xxxxx, are not the lookup test's: a judged list teaches the cache.)"""
        tok = mint({"role": "mine", "sub": "7", "teams": []})
        headers = {"authorization": f"Bearer {tok}"}
        small = raw_request(Env.ports["corpus_conversations"], "GET", "/conversations", dict(headers, **{"x-mock-list": "3"}))
        self.assertEqual(small[0], 200, small[2][:300])
        self.assertEqual(json.loads(small[2])["conversations"][0], {
            "type": "conversation", "id": "9500000", "admin_assignee_id": 9, "team_assignee_id": None, "redacted": True})
        for n in ["1500", "5000"]:  # about 1.5 MB and 5 MB
            status, _, body = raw_request(Env.ports["corpus_conversations"], "GET", "/conversations",
                                          dict(headers, **{"x-mock-list": n}), timeout=30)
            self.assertNotEqual(status, 200, n)
            self.assertNotIn(b"secret", body, n)


# The stateful mock's conversations (tests/mock_intercom.py --store): 8000001.. for the cache
# tests; 8100001.. for search (admin 7 has three open, one closed; admin 8 and team 50 and
# nobody have the rest).
STORE = {
    "8000001": {"admin_assignee_id": 7, "team_assignee_id": None, "state": "open", "created_at": 1700000001, "source": {"body": "<p>a</p>"}},
    "8000002": {"admin_assignee_id": 7, "team_assignee_id": None, "state": "open", "created_at": 1700000002, "source": {"body": "<p>b</p>"}},
    **{str(8100000 + i): {"admin_assignee_id": a, "team_assignee_id": t, "state": st, "created_at": 1700001000 + i,
                          "source": {"body": f"<p>refund request {i}</p>"}}
       for i, (a, t, st) in enumerate([(7, None, "open"), (8, None, "open"), (7, 50, "open"), (None, 50, "open"), (None, None, "open"),
                                       (7, None, "closed"), (8, 60, "open"), (7, None, "open"), (None, None, "closed")], start=1)},
}


class SideDoors(unittest.TestCase):
    """Conversation access without side doors (issue 28), in Envoy with two workers against a
    stateful Intercom whose writes take 1.5 s: what one worker learns or forgets holds for all,
    a read answered while a write is in flight leaves no stale assignment behind, and a
    restricted teammate's search is rewritten so that its count and pages cover only theirs."""

    port = property(lambda self: Env.ports["store"])

    def req(self, method, path, claims, body=None, headers=None):
        h = {"authorization": f"Bearer {mint(claims)}", "host": "api.intercom.io", **(headers or {})}
        data = None
        if body is not None:
            data, h["content-type"] = json.dumps(body), "application/json"
        status, rh, text = raw_request(self.port, method, path, h, data)  # a new connection each time
        return status, text

    def lookups(self):
        return metrics().get("intercom_authz_conversation_lookups", 0)

    MINE = {"role": "mine", "sub": "7", "teams": []}
    ADMIN = {"role": "admin", "sub": "1", "teams": []}

    def reassign(self, cid, to):
        body = {"message_type": "assignment", "type": "admin", "admin_id": "1", "assignee_id": to}
        return self.req("POST", f"/conversations/{cid}/parts", self.ADMIN, body)

    def test_a_forget_reaches_every_worker(self):
        reply = {"message_type": "comment", "type": "admin", "admin_id": "7", "body": "hi"}
        # Reads on 8 connections: both workers see 8000002 as theirs (and learn it).
        for _ in range(8):
            status, text = self.req("GET", "/conversations/8000002", self.MINE)
            self.assertEqual(status, 200, text)
        before = self.lookups()
        status, text = self.req("POST", "/conversations/8000002/reply", self.MINE, reply)
        self.assertEqual((status, self.lookups() - before), (200, 0), "the reads taught the cache")
        status, text = self.reassign("8000002", "8")
        self.assertEqual(status, 200, text)
        before = self.lookups()
        replies = [self.req("POST", "/conversations/8000002/reply", self.MINE, reply)[0] for _ in range(8)]
        self.assertEqual(replies, [403] * 8, "a worker answered from an assignment another worker saw change")
        Env.lookups_per_write = self.lookups() - before
        self.assertEqual(Env.lookups_per_write, 1, "after the write, one lookup for both workers")
        print(f"\n  8 replies on new connections after a write, two workers: {Env.lookups_per_write:.0f} lookup(s)", file=sys.stderr)

    def test_a_read_during_a_write_leaves_no_stale_assignment(self):
        reply = {"message_type": "comment", "type": "admin", "admin_id": "7", "body": "hi"}
        status, text = self.req("GET", "/conversations/8000001", self.MINE)
        self.assertEqual(status, 200, text)
        done = []
        t = threading.Thread(target=lambda: done.append(self.reassign("8000001", "8")))
        t.start()
        time.sleep(0.5)
        # Intercom has not applied the write yet: these reads show (and would cache) the old one.
        for _ in range(4):
            status, text = self.req("GET", "/conversations/8000001", self.MINE)
            self.assertEqual(status, 200, text)
        t.join(10)
        self.assertEqual(done[0][0], 200, done)
        for _ in range(6):
            status, text = self.req("POST", "/conversations/8000001/reply", self.MINE, reply)
            self.assertEqual(status, 403, "a reply after the reassignment went through on a stale assignment")

    def search(self, claims, query, per_page=2, version=None):
        """Every page of a search: (ids, total_counts, statuses)."""
        ids, totals, cursor = [], set(), None
        headers = {"intercom-version": version} if version else {}
        for _ in range(10):
            body = {"query": query, "pagination": {"per_page": per_page, **({"starting_after": cursor} if cursor else {})}}
            status, text = self.req("POST", "/conversations/search", claims, body, headers)
            self.assertEqual(status, 200, text)
            page = json.loads(text)
            totals.add(page["total_count"])
            for c in page["conversations"]:
                self.assertNotIn("redacted", c, "the rewritten query matched a conversation not theirs")
                ids.append(c["id"])
            cursor = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if not cursor:
                return ids, totals
        self.fail("more than 10 pages")

    def test_search_is_rewritten_and_paged(self):
        refunds = {"field": "source.body", "operator": "~", "value": "refund"}
        is_open = {"field": "state", "operator": "=", "value": "open"}
        ids, totals = self.search(self.MINE, {"operator": "AND", "value": [refunds, is_open]})
        self.assertEqual(sorted(ids), ["8100001", "8100003", "8100008"])
        self.assertEqual(totals, {3}, "the count covers only theirs")
        # An OR of ANDs (distributed), with teams and the unassigned inbox, in 2.16.
        triage = {"role": "triage", "sub": "7", "teams": ["50"]}
        q = {"operator": "OR", "value": [{"operator": "AND", "value": [refunds, is_open]},
                                         {"field": "id", "operator": "=", "value": "8100009"}]}
        ids, totals = self.search(triage, q, version="2.16")
        self.assertEqual(sorted(ids), ["8100001", "8100003", "8100004", "8100005", "8100008", "8100009"])
        self.assertEqual(totals, {6})
        # A role that sees everything: the query goes as sent.
        ids, totals = self.search({"role": "junior", "sub": "7", "teams": []}, {"operator": "AND", "value": [refunds, is_open]})
        self.assertEqual(totals, {7})
        sent = [json.loads(r["body"]) for r in read_jsonl(Env.store_record) if r["path"].startswith("/conversations/search")]
        rewritten = next(b["query"] for b in sent if "8100009" in json.dumps(b) and b["query"]["operator"] == "OR"
                         and len(b["query"]["value"]) > 2)
        print(f"\n  search by triage (2.16) sent as: {json.dumps(q)}\n  Intercom got: {json.dumps(rewritten)}", file=sys.stderr)


DIRECTORY_V1 = {"type": "admin.list", "admins": [
    {"type": "admin", "id": "991267466", "email": "Ada@Example.com", "team_ids": [50]},
    {"type": "admin", "id": "991267467", "email": "bob@example.com", "team_ids": []}]}


class Directory(unittest.TestCase):
    """`identity.source: directory`: the filter fetches `GET /admins` with the workspace token at
    start and every second, keeps the last good copy when a fetch fails, and judges callers by
    their verified email."""

    def send(self, email, aid, sub="00u-okta-id"):
        tok = mint({"role": "agent", "sub": sub, "email": email})
        body = json.dumps({"message_type": "comment", "type": "admin", "admin_id": aid, "body": "hi"})
        return raw_request(Env.ports["directory"], "POST", "/conversations/5/reply",
                           {"authorization": f"Bearer {tok}", "content-type": "application/json"}, body)

    def wait_for(self, what, check, timeout=10):
        deadline = time.time() + timeout
        while not check():
            if time.time() > deadline:
                self.fail(f"{what}: not within {timeout} s")
            time.sleep(0.2)

    def test_fetched_refreshed_failing_and_recovering(self):
        name = 'intercom_authz_directory_fetch_'
        self.wait_for("the first fetch", lambda: metrics().get(name + "ok", 0) >= 1)
        fetch = [json.loads(l) for l in Env.directory_record.read_text().splitlines()][0]
        self.assertEqual((fetch["method"], fetch["path"]), ("GET", "/admins"))
        self.assertEqual(fetch["headers"]["authorization"], "Bearer icm-workspace-token")
        self.assertEqual(fetch["headers"]["intercom-version"], "2.16")
        # Ada, by her email in any case, is admin 991267466, whatever her token's `sub` says.
        status, _, body = self.send("ada@example.com", "991267466")
        self.assertEqual(status, 200, body)
        status, _, body = self.send("ada@example.com", "00u-okta-id")
        self.assertEqual((status, json.loads(body)["code"]), (403, "acting_as_another"))
        status, _, body = self.send("eve@example.com", "1")
        self.assertEqual((status, json.loads(body)["code"]), (403, "unknown_teammate"))
        # Refreshed every second.
        ok = metrics().get(name + "ok", 0)
        self.wait_for("a refresh", lambda: metrics().get(name + "ok", 0) > ok)
        # Intercom fails: the last good copy keeps serving; the failures are counted.
        Env.admins_file.unlink()
        failed = metrics().get(name + "failed", 0)
        self.wait_for("a failed fetch", lambda: metrics().get(name + "failed", 0) >= failed + 2)
        status, _, body = self.send("Ada@example.com", "991267466")
        self.assertEqual(status, 200, body)
        # A new teammate appears at the next good fetch.
        Env.admins_file.write_text(json.dumps(dict(DIRECTORY_V1, admins=DIRECTORY_V1["admins"] + [
            {"type": "admin", "id": "991267468", "email": "eve@example.com", "team_ids": []}])))
        self.wait_for("Eve in the directory", lambda: self.send("eve@example.com", "991267468")[0] == 200)
        m = metrics()
        Directory.counts = (m.get(name + "ok", 0), m.get(name + "failed", 0))
        print(f"\n  directory fetches: {Directory.counts[0]} ok, {Directory.counts[1]} failed", file=sys.stderr)


class Corpus(unittest.TestCase):
    """The whole decision corpus, through Envoy."""

    @classmethod
    def setUpClass(cls):
        cls.results = corpus_http.replay(Env.corpus["cases"], lambda c: Env.ports["corpus_" + c["config"]], raw_request)

    def test_same_decisions_as_the_core(self):
        failures = corpus_http.decision_failures(self.results, ENVOY_REFUSES, ENVOY_REWRITES)
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertGreaterEqual(len(self.results), 500)

    def test_nothing_denied_reaches_the_upstream(self):
        leaks, wrong = corpus_http.upstream_failures(self.results, upstream_records(), ENVOY_REFUSES, ENVOY_REWRITES)
        self.assertEqual(leaks, [], "\n".join(leaks))
        self.assertEqual(wrong, [], "\n".join(wrong))

    def test_bypass_paths_do_not_reach_the_upstream(self):
        # The path cases specifically (they are part of the corpus above, but name them).
        paths = [r for r in self.results if r[1]["file"] == "paths.json" and r[1]["expect"]["decision"] == "deny"
                 and r[1]["description"] not in ENVOY_REWRITES]
        self.assertGreaterEqual(len(paths), 25)
        received = {r["headers"].get("x-case-id") for r in upstream_records()}
        for i, c, *_ in paths:
            self.assertNotIn(str(i), received, c["description"])


class Behaviour(unittest.TestCase):
    def send(self, listener, method, path, token=None, body=None, headers=None):
        h = dict(headers or {})
        if body is not None:  # as Intercom's clients send it
            h.setdefault("content-type", "application/json")
        if token:
            h["authorization"] = f"Bearer {token}"
        return raw_request(Env.ports[listener], method, path, h, body)

    def test_pyjwt_tokens_for_every_algorithm(self):
        # Round trip with an independent library: every algorithm verifies, and a token signed
        # for one algorithm but labelled with another key's kid does not.
        for alg in PYJWT_KEYS:
            status, _, body = self.send("corpus_default", "GET", "/contacts", mint({"role": "agent"}, alg=alg))
            self.assertEqual(status, 200, f"{alg}: {body[:200]!r}")
            status, _, body = self.send("corpus_default", "DELETE", "/contacts/1", mint({"role": "agent"}, alg=alg))
            self.assertEqual((status, json.loads(body)["code"]), (403, "missing_permission"), alg)
        import jwt
        forged = jwt.encode({"role": "owner", "exp": int(time.time()) + 60}, (ROOT / "tests/keys/hs.secret").read_bytes(),
                            algorithm="HS512", headers={"kid": "hs1"})
        status, _, body = self.send("corpus_default", "GET", "/contacts", forged)
        self.assertEqual((status, json.loads(body)["code"]), (401, "disallowed_algorithm"))

    def test_a_spoofed_x_forwarded_for_is_not_the_client_address(self):
        # envoy/envoy.yaml's connection manager (`use_remote_address: true`, no trusted hop):
        # the address is the connection's (127.0.0.1), whatever the client writes in the header.
        tok = mint({"role": "owner"})
        for xff in [None, "10.20.1.1", "10.20.1.1, 10.20.1.2"]:
            status, _, body = self.send("edge", "GET", "/contacts", tok, headers={"x-forwarded-for": xff} if xff else {})
            self.assertEqual((status, json.loads(body)["code"]), (403, "ip_not_allowed"), xff)
        # Behind one trusted load balancer (`xff_num_trusted_hops: 1`): the entry it appended, the
        # right-most, is the client; anything the client wrote before it is not.
        status, _, body = self.send("behind_lb", "GET", "/contacts", tok, headers={"x-forwarded-for": "10.20.1.1"})
        self.assertEqual(status, 200, body[:200])
        status, _, body = self.send("behind_lb", "GET", "/contacts", tok, headers={"x-forwarded-for": "10.20.1.1, 192.0.2.7"})
        self.assertEqual((status, json.loads(body)["code"]), (403, "ip_not_allowed"))

    def test_dry_run_lets_denials_through_and_counts_them(self):
        before = metrics().get('intercom_authz_shadow_denied{intercom_authz_code="missing_permission"}', 0)
        status, _, body = self.send("dryrun", "DELETE", "/contacts/9", mint({"role": "agent"}))
        self.assertEqual(status, 200, body)
        self.assertTrue(json.loads(body)["deleted"])
        self.assertEqual(metrics().get('intercom_authz_shadow_denied{intercom_authz_code="missing_permission"}', 0), before + 1)
        deadline = time.time() + 5  # the decision log is flushed every second
        while '"dryRun":true' not in Env.decisions.read_text() and time.time() < deadline:
            time.sleep(0.2)
        self.assertIn('"dryRun":true', Env.decisions.read_text())

    def test_body_conditioned_route_close_vs_comment(self):
        tok = mint({"role": "observer"})
        close = json.dumps({"message_type": "close", "type": "admin", "admin_id": "42"})
        status, _, body = self.send("corpus_default", "POST", "/conversations/5/parts", tok, close)
        self.assertEqual((status, json.loads(body)["required"]), (403, "conversations:close"))
        status, _, body = self.send("corpus_default", "POST", "/conversations/5/reply", mint({"role": "agent"}),
                                    json.dumps({"message_type": "comment", "type": "admin", "admin_id": "42", "body": "hi"}))
        self.assertEqual(status, 200, body)
        # The upstream received the body intact.
        rec = [r for r in upstream_records() if r["path"] == "/conversations/5/reply"]
        self.assertEqual(json.loads(rec[-1]["body"])["body"], "hi")

    def test_oversized_body_is_413(self):
        tok = mint({"role": "agent"})
        big = json.dumps({"message_type": "close", "pad": "x" * 2000})
        status, h, body = self.send("limits", "POST", "/conversations/5/parts", tok, big)
        self.assertEqual(status, 413, body)
        self.assertEqual(json.loads(body)["code"], "body_too_large")
        # A body that is not needed is never buffered, whatever its size.
        status, _, body = self.send("limits", "PUT", "/contacts/5", mint({"role": "admin"}), json.dumps({"pad": "y" * 5000}))
        self.assertEqual(status, 200, body)

    def test_chunked_oversized_body_is_413(self):
        tok = mint({"role": "agent"})
        chunk = ("{" + '"a":"' + "x" * 800 + '",').encode()
        with socket.create_connection(("127.0.0.1", Env.ports["limits"]), timeout=10) as s:
            s.sendall((f"POST /conversations/5/parts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode())
            for _ in range(3):
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
            resp = http.client.HTTPResponse(s)
            resp.begin()
            self.assertEqual(resp.status, 413)

    def test_upstream_headers(self):
        tok = mint({"role": "agent", "sub": "admin-7"})
        status, _, body = self.send("headers", "GET", "/contacts/77", tok,
                                    headers={"x-authz-role": "owner", "x-authz-subject": "admin-1", "x-case": "hdr"})
        self.assertEqual(status, 200, body)
        rec = [r for r in upstream_records() if r["headers"].get("x-case") == "hdr"][-1]
        self.assertEqual(rec["headers"]["x-authz-role"], "agent")  # the client's copy was replaced
        self.assertEqual(rec["headers"]["x-authz-subject"], "admin-7")
        self.assertEqual(rec["headers"]["authorization"], "Bearer icm-workspace-token")

    def test_intercom_token_from_the_vm_environment(self):
        self.send("token_env", "GET", "/contacts/9", mint({"role": "agent"}), headers={"x-case": "token-env"})
        rec = [r for r in upstream_records() if r["headers"].get("x-case") == "token-env"][-1]
        self.assertEqual(rec["headers"].get("authorization"), "Bearer icm-from-the-environment")

    def test_custom_token_header_leaves_authorization_alone(self):
        tok = mint({"role": "agent"})
        status, _, body = self.send("headers_custom", "GET", "/contacts/78", None,
                                    headers={"x-employee-token": f"Bearer {tok}", "authorization": "Bearer intercom-app-token", "x-case": "custom"})
        self.assertEqual(status, 200, body)
        rec = [r for r in upstream_records() if r["headers"].get("x-case") == "custom"][-1]
        self.assertEqual(rec["headers"]["authorization"], "Bearer intercom-app-token")
        self.assertNotIn("x-employee-token", rec["headers"])

    def test_client_copies_of_role_headers_are_removed_even_when_denied_upstream_never_sees(self):
        status, _, _ = self.send("headers", "DELETE", "/contacts/1", mint({"role": "agent"}), headers={"x-authz-role": "owner"})
        self.assertEqual(status, 403)

    def test_method_override_and_rewrite_headers_never_reach_the_upstream(self):
        tok = mint({"role": "agent"})
        spoof = {"x-http-method-override": "DELETE", "x-http-method": "DELETE", "x-method-override": "DELETE",
                 "x-original-url": "/admins/1", "x-rewrite-url": "/admins/1", "x-case": "override"}
        status, _, body = self.send("headers", "POST", "/conversations/5/parts", tok,
                                    json.dumps({"message_type": "close", "type": "admin", "admin_id": "42"}),
                                    headers=dict(spoof, **{"content-type": "application/json"}))
        self.assertEqual(status, 200, body)
        rec = [r for r in upstream_records() if r["headers"].get("x-case") == "override"][-1]
        self.assertEqual(rec["method"], "POST")
        for h in spoof:
            if h != "x-case":
                self.assertNotIn(h, rec["headers"], h)

    def test_underscore_spellings_of_identity_headers(self):
        tok = mint({"role": "agent", "sub": "admin-7"})
        # As shipped: Envoy refuses a header name with an underscore.
        status, _, _ = self.send("headers", "GET", "/contacts/77", tok, headers={"x_authz_role": "owner"})
        self.assertEqual(status, 400)
        # Where a host lets them through, the filter strips them.
        status, _, body = self.send("headers_underscores_allowed", "GET", "/contacts/77", tok,
                                    headers={"x_authz_role": "owner", "x_authz_subject": "admin-1", "x-case": "underscore"})
        self.assertEqual(status, 200, body)
        rec = [r for r in upstream_records() if r["headers"].get("x-case") == "underscore"][-1]
        self.assertEqual(rec["headers"]["x-authz-role"], "agent")
        self.assertNotIn("x_authz_role", rec["headers"])
        self.assertNotIn("x_authz_subject", rec["headers"])

    def test_access_log_has_the_decision_and_response_code_details(self):
        tok = mint({"role": "agent"})
        self.send("access_logged", "DELETE", "/contacts/1", tok, headers={"x-case": "details-deny"})
        self.send("access_logged", "GET", "/contacts/1", tok, headers={"x-case": "details-allow"})
        # `decision_state: deny`: denials only (one host call fewer per allowed request).
        self.send("access_logged_deny", "DELETE", "/contacts/1", tok, headers={"x-case": "details-deny-only-deny"})
        self.send("access_logged_deny", "GET", "/contacts/1", tok, headers={"x-case": "details-deny-only-allow"})
        deadline = time.time() + 10
        lines = []
        while time.time() < deadline:
            lines = Env.access_log.read_text().splitlines() if Env.access_log.exists() else []
            if sum(l.startswith("details-") for l in lines) >= 4:
                break
            time.sleep(0.2)
        got = {l.split()[0]: l.split(" ", 4)[1:] for l in lines if l.startswith("details-")}
        self.assertEqual(got.get("details-deny", [])[:3], ["403", "intercom_authz_denied.missing_permission", "missing_permission"], lines)
        self.assertEqual(got.get("details-allow", [None])[0], "200", lines)
        self.assertEqual(got["details-allow"][2], "allowed", lines)
        self.assertEqual(got.get("details-deny-only-deny", [])[:3], ["403", "intercom_authz_denied.missing_permission", "missing_permission"], lines)
        self.assertEqual(got.get("details-deny-only-allow", [])[:3], ["200", "via_upstream", "-"], lines)
        # The whole decision record, as a decision log needs it, from the access log alone.
        record = json.loads(got["details-deny"][3])
        self.assertEqual({k: record[k] for k in ["code", "role", "action", "resource", "adminId", "success", "status"]},
                         {"code": "missing_permission", "role": "agent", "action": "contacts:delete", "resource": "DELETE /contacts/{id}",
                          "adminId": "42", "success": False, "status": 403})

    def test_remote_jwks(self):
        tok = mint({"role": "agent"}, key="rs", kid="remote-rs")
        status, _, body = self.send("remote", "GET", "/contacts", tok)
        self.assertEqual(status, 200, body)
        status, _, body = self.send("remote", "GET", "/contacts", mint({"role": "agent"}, key="rs", kid="other"))
        self.assertEqual((status, json.loads(body)["code"]), (401, "unknown_key"))
        self.assertIn("JWKS key skipped", Env.envoy_log.read_text())
        self.assertGreaterEqual(metrics().get("intercom_authz_jwks_fetch_ok", 0), 1)

    def test_remote_jwks_a_new_key_is_fetched_at_its_first_token(self):
        """The IdP rotates its key between scheduled refreshes (600 s here): the first token
        signed with the new key makes the filter fetch the JWKS at once and is allowed; a
        made-up kid right after is 401 at once, without more fetches (one per worker per
        retry_secs, 2 s here); a body-dependent request with a newer key waits with its body."""
        import jwt
        from cryptography.hazmat.primitives import serialization
        fetching = "remote_rotation: intercom-authz: a token's key is not in the JWKS: fetching it now"
        status, _, body = self.send("remote_rotation", "GET", "/contacts", mint({"role": "agent"}, key="rs", kid="remote-rs"))
        self.assertEqual(status, 200, body)  # the scheduled fetch at start
        other = serialization.load_pem_private_key((ROOT / "tests/keys/rsa-other.pem").read_bytes(), None)
        pub = other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        def publish(kid):
            keys = json.loads(Env.jwks_file.read_text())
            keys["keys"].append(rsa_jwk(pub, kid))
            Env.jwks_file.write_text(json.dumps(keys))
        publish("rotated-2026")
        now = int(time.time())
        claims = {"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": "42", "iat": now - 60, "exp": now + 3600, "role": "agent"}
        rotated = jwt.encode(claims, (ROOT / "tests/keys/rsa-other.pem").read_bytes(), algorithm="RS256", headers={"kid": "rotated-2026"})
        before = Env.envoy_log.read_text().count(fetching)
        status, _, body = self.send("remote_rotation", "GET", "/contacts", rotated)
        self.assertEqual(status, 200, body)
        self.assertEqual(Env.envoy_log.read_text().count(fetching), before + 1)
        made_up = jwt.encode(claims, (ROOT / "tests/keys/rsa-other.pem").read_bytes(), algorithm="RS256", headers={"kid": "made-up"})
        # Each worker (two here) may fetch once per retry_secs (2 s); then no more. Counted
        # against the windows the requests actually spanned (a slow machine spans more).
        started = time.monotonic()
        for _ in range(12):
            status, _, body = self.send("remote_rotation", "GET", "/contacts", made_up)
            self.assertEqual((status, json.loads(body)["code"]), (401, "unknown_key"))
        elapsed = time.monotonic() - started
        fetched = Env.envoy_log.read_text().count(fetching) - before - 1
        windows = 1 + int(elapsed // 2)
        self.assertLessEqual(fetched, 2 * windows, f"{fetched} fetches for 12 requests in {elapsed:.1f} s")
        after = Env.envoy_log.read_text().count(fetching)
        # A body-dependent request waits too (its body arrives meanwhile), judged once the keys are in.
        time.sleep(2.2)
        publish("rotated-2027")
        newer = jwt.encode(claims, (ROOT / "tests/keys/rsa-other.pem").read_bytes(), algorithm="RS256", headers={"kid": "rotated-2027"})
        status, _, body = self.send("remote_rotation", "POST", "/conversations/5/parts", newer,
                                    body=json.dumps({"message_type": "close", "admin_id": "42"}))
        self.assertEqual(status, 200, body)
        status, _, body = self.send("remote_rotation", "POST", "/conversations/5/parts", newer,
                                    body=json.dumps({"message_type": "assignment", "admin_id": "42", "assignee_id": "9"}))
        self.assertEqual(status, 200, body)
        self.assertGreater(Env.envoy_log.read_text().count(fetching), after)

    def test_every_decision_writes_exactly_one_decision_log_record(self):
        """The decision log as shipped (an access log of the audit record): one record per
        request, allowed or denied, whatever denied it (the policy, the token, the body)."""
        run = f"one-record-{time.time_ns()}"
        tok = mint({"role": "agent"})
        sent = {
            "allowed": ("GET", "/contacts/1", tok, None),
            "denied": ("DELETE", "/contacts/1", tok, None),
            "bad-token": ("GET", "/contacts/1", tok[:-4] + "AAAA", None),
            "no-token": ("GET", "/contacts/1", None, None),
            "body-allowed": ("POST", "/conversations/5/parts", tok, json.dumps({"message_type": "close", "admin_id": "42"})),
            "body-denied": ("POST", "/conversations/5/parts", mint({"role": "restricted"}),
                            json.dumps({"message_type": "assignment", "admin_id": "42", "assignee_id": "9"})),
            "ambiguous": ("GET", "/contacts/1/../2", tok, None),
        }
        codes = {}
        for what, (method, path, token, body) in sent.items():
            status, h, _ = self.send("corpus_default", method, path, token, body=body, headers={"x-request-id": f"{run}-{what}"})
            codes[what] = status
        self.assertEqual((codes["allowed"], codes["denied"], codes["bad-token"], codes["no-token"]), (200, 403, 401, 401))
        deadline = time.time() + 5
        records = []
        while time.time() < deadline:
            records = [json.loads(l) for l in Env.decisions.read_text().splitlines() if run in l]
            if len(records) >= len(sent):
                break
            time.sleep(0.2)
        time.sleep(1.2)  # one more flush: nothing more may come
        records = [json.loads(l) for l in Env.decisions.read_text().splitlines() if run in l]
        self.assertEqual(sorted(r["requestId"] for r in records), sorted(f"{run}-{w}" for w in sent))
        by = {r["requestId"].removeprefix(f"{run}-"): r for r in records}
        for what in sent:
            self.assertEqual(by[what]["status"], codes[what], what)

    def test_the_documented_metric_names_are_the_exported_ones(self):
        """Every Prometheus name in envoy/README.md's tables (Observability, Alerts) is in
        /stats/prometheus from the start, before anything happened that would count it."""
        import re
        with urllib.request.urlopen(f"http://127.0.0.1:{Env.admin_port}/stats/prometheus", timeout=5) as r:
            exported = {re.split(r"[{ ]", l, 1)[0] for l in r.read().decode().splitlines() if l and not l.startswith("#")}
        readme = (ROOT / "envoy/README.md").read_text()
        documented = set(re.findall(r"`((?:intercom_authz|envoy_wasm)_[a-z0-9_]+)[`{]", readme)) - {"intercom_authz_code"}  # a tag
        self.assertGreaterEqual(len(documented), 19, documented)
        # The README names Envoy's counters of the shipped plugin, `intercom_authz`; here the
        # plugins are named after their listeners: the same counters of `corpus_default`.
        exported |= {n.replace("envoy_wasm_corpus_default_", "envoy_wasm_intercom_authz_") for n in exported}
        self.assertEqual(sorted(documented - exported), [])

    def test_remote_jwks_down_fails_closed(self):
        status, h, body = self.send("remote_down", "GET", "/contacts", mint({"role": "owner"}, key="rs", kid="remote-rs"))
        self.assertEqual((status, json.loads(body)["code"]), (401, "keys_unavailable"))
        self.assertIn("www-authenticate", h)
        self.assertGreaterEqual(metrics().get("intercom_authz_jwks_fetch_failed", 0), 1)

    def test_metrics_and_audit(self):
        tok = mint({"role": "agent"})
        self.send("corpus_default", "GET", "/contacts", tok)
        self.send("corpus_default", "GET", "/contacts", tok)  # same token: a cache hit
        self.send("corpus_default", "GET", "/contacts", tok[:-3] + ("AAA" if not tok.endswith("AAA") else "BBB"))
        self.send("corpus_default", "GET", "//contacts", tok)
        self.send("corpus_default", "DELETE", "/contacts/3", tok, headers={"x-request-id": "audit-probe-1"})
        denied = 'intercom_authz_denied{intercom_authz_code="%s"}'
        names = ["intercom_authz_allowed", denied % "missing_permission", "intercom_authz_token_cache_hits",
                 "intercom_authz_token_cache_misses", denied % "invalid_signature", denied % "non_canonical_path"]
        # Allowed requests and token cache lookups are counted in the VM and handed to Envoy by
        # the root's tick (at most a second behind); denials at once.
        deadline = time.time() + 5
        while not all((m := metrics()).get(name, 0) > 0 for name in names) and time.time() < deadline:
            time.sleep(0.2)
        for name in names:
            self.assertGreater(m.get(name, 0), 0, f"{name} in {sorted(m)}")
        self.assertFalse([k for k in m if k.startswith("intercom_authz_denied_")], "one counter per code, tagged")
        # The decision log, as envoy/envoy.yaml writes it (an access log: Envoy writes it after
        # the request; flushed every second).
        deadline = time.time() + 5
        while "audit-probe-1" not in Env.decisions.read_text() and time.time() < deadline:
            time.sleep(0.2)
        audit = next(json.loads(l) for l in Env.decisions.read_text().splitlines() if "audit-probe-1" in l)
        self.assertEqual({k: audit[k] for k in ["adminId", "adminEmail", "action", "resource", "resourceId", "success", "ipAddress", "code", "sensitive"]},
                         {"adminId": "42", "adminEmail": "teammate@example.com", "action": "contacts:delete", "resource": "DELETE /contacts/{id}",
                          "resourceId": "3", "success": False, "ipAddress": "127.0.0.1", "code": "missing_permission", "sensitive": True})
        self.assertIsInstance(audit["time"], int)


class SlowBodies(unittest.TestCase):
    """Body-dependent requests whose body comes a second after the headers, in pieces, in each way
    of holding them: `headers` (shipped: `allow_on_headers_stop_iteration`, no buffer filter),
    `buffer_filter` (hosts without the knob), and `headers` on a host without the knob."""

    BODY = json.dumps({"message_type": "close", "admin_id": "42"}).encode()

    def send(self, hold, role, case, chunks=None, **kw):
        chunks = chunks or [self.BODY[:9], self.BODY[9:21], self.BODY[21:]]
        headers = {"authorization": f"Bearer {mint({'role': role})}", "content-type": "application/json", "x-case-id": case}
        return slow_request(Env.ports["slow_" + hold], "POST", "/conversations/5/parts", headers, chunks, **kw)

    def received(self, case):
        return [r for r in upstream_records() if r["headers"].get("x-case-id") == case]

    def test_nothing_goes_upstream_before_the_body_is_judged(self):
        for hold in ["headers", "buffer_filter"]:
            with self.subTest(hold):
                status, _, body, took = self.send(hold, "observer", f"slow-deny-{hold}")
                self.assertEqual((status, json.loads(body).get("required")), (403, "conversations:close"), body)
                self.assertGreater(took, 1.5)  # judged after the last piece, not before
                status, _, body, _ = self.send(hold, "agent", f"slow-allow-{hold}")
                self.assertEqual(status, 200, body)
        time.sleep(0.3)
        for hold in ["headers", "buffer_filter"]:
            with self.subTest(hold):
                self.assertEqual(self.received(f"slow-deny-{hold}"), [])
                got = self.received(f"slow-allow-{hold}")
                self.assertEqual(len(got), 1, got)
                # The whole body, and headers rewritten after the decision: the judged role,
                # Intercom's token instead of the caller's.
                self.assertEqual(got[0]["body"], self.BODY.decode())
                self.assertEqual(got[0]["headers"].get("x-authz-role"), "agent")
                self.assertEqual(got[0]["headers"].get("authorization"), "Bearer icm-workspace-token")

    def test_a_body_that_never_comes_ends_408_not_a_stuck_stream(self):
        for hold in ["headers", "buffer_filter"]:
            with self.subTest(hold):
                status, h, body, took = self.send(hold, "agent", f"slow-never-{hold}", chunks=[self.BODY[:5]],
                                                  first_delay=0.1, length=len(self.BODY))
                self.assertEqual((status, json.loads(body)["code"]), (408, "body_timeout"), body)
                self.assertEqual(h.get("x-intercom-authz-code"), "body_timeout")
                self.assertLess(took, 6)  # body_timeout_ms is 3 s here
                self.assertGreater(took, 2.5)
        time.sleep(0.3)
        for hold in ["headers", "buffer_filter"]:
            self.assertEqual(self.received(f"slow-never-{hold}"), [])

    def test_without_the_knob_holding_the_headers_is_a_clear_408(self):
        # `body_hold: headers` where Envoy does not deliver the body to a paused filter: the
        # request ends 408 with a log line naming the missing setting, never a hang or a leak.
        status, _, body, took = self.send("no_knob", "agent", "slow-noknob", first_delay=0.1, gap=0.05)
        self.assertEqual((status, json.loads(body)["code"]), (408, "body_timeout"), body)
        self.assertLess(took, 6)
        status, _, _ = raw_request(Env.ports["slow_no_knob"], "GET", "/contacts", {"authorization": f"Bearer {mint({'role': 'agent'})}"})
        self.assertEqual(status, 200)  # routes that need no body are not affected
        time.sleep(0.3)
        self.assertEqual(self.received("slow-noknob"), [])
        self.assertIn("needs the plugin's `allow_on_headers_stop_iteration: true`", Env.envoy_log.read_text())

    def test_bodies_of_other_routes_are_never_held(self):
        # No buffer filter in the shipped way: a large upload to a route that needs no body
        # streams through (a buffer filter would have refused it above 1 MiB).
        big = b"x" * (3 * 1024 * 1024)
        tok = mint({"role": "admin"})
        status, _, body = raw_request(Env.ports["slow_headers"], "PUT", "/contacts/5",
                                   {"authorization": f"Bearer {tok}", "content-type": "application/json", "x-case-id": "big-put"}, big)
        self.assertEqual(status, 200, body)


class NonUtf8Bytes(unittest.TestCase):
    """Issue 10: bytes 0x80-0xFF and invalid UTF-8 in every header the filter reads, the path,
    the query and bodies, over HTTP/1 and HTTP/2. Each gets a clear denial, and after each the
    same VM still serves a valid request (200) and still denies (403)."""

    def still_serving(self, where):
        tok = mint({"role": "agent"})
        status, _, body = raw_request(Env.ports["corpus_default"], "GET", "/contacts", {"authorization": f"Bearer {tok}"})
        self.assertEqual(status, 200, f"after {where}: {body[:200]!r}")
        status, _, body = raw_request(Env.ports["corpus_default"], "DELETE", "/contacts/1", {"authorization": f"Bearer {tok}"})
        self.assertEqual(status, 403, f"after {where}: {body[:200]!r}")
        # The same over HTTP/2 (another connection, maybe another worker's VM).
        status, _, body = h2_request(Env.ports["corpus_default"], h2_headers("GET", "/contacts", [("authorization", f"Bearer {tok}")]))
        self.assertEqual(status, 200, f"after {where} (h2): {body[:200]!r}")

    def expect(self, got, status, code, where):
        st, h, body = got
        self.assertEqual(st, status, f"{where}: {body[:300]!r}")
        self.assertEqual(json.loads(body)["code"], code, where)
        self.assertEqual(h.get("x-intercom-authz-code"), code, where)
        self.still_serving(where)
        return json.loads(body)

    def http1(self, listener, method, path, headers, body=None):
        return raw_request(Env.ports[listener], method, path, headers, body, latin1=True)

    def test_credential_bytes_http1(self):
        tok = mint({"role": "owner"})
        for value in ["Bearer \u00ff", f"Bearer {tok}\u00e9", f"Bearer {tok}\u0080", "Bearer \u00c0\u00af", "Basic \u00ff\u00fe"]:
            self.expect(self.http1("corpus_default", "GET", "/contacts", {"authorization": value}), 401, "malformed_token", repr(value))
        # A custom credential header, and the trusted-payload header.
        self.expect(self.http1("headers_custom", "GET", "/contacts", {"x-employee-token": "Bearer \u00ff"}), 401, "malformed_token", "x-employee-token")
        self.expect(self.http1("corpus_trusted", "GET", "/contacts", {"x-jwt-payload": "\u00ffeyJ"}), 401, "malformed_token", "x-jwt-payload")

    def test_credential_bytes_http2(self):
        tok = mint({"role": "owner"})
        for value in [b"Bearer \xff", f"Bearer {tok}".encode() + b"\xe9", b"Bearer \xc0\xaf"]:
            got = h2_request(Env.ports["corpus_default"], h2_headers("GET", "/contacts", [("authorization", value)]))
            self.expect(got, 401, "malformed_token", f"h2 {value[:20]!r}")

    def test_request_id_bytes_get_a_generated_id(self):
        tok = mint({"role": "agent"})
        for send in ["h1", "h2"]:
            if send == "h1":
                got = self.http1("corpus_default", "DELETE", "/contacts/1", {"authorization": f"Bearer {tok}", "x-request-id": "\u00ff\u00fe"})
            else:
                got = h2_request(Env.ports["corpus_default"], h2_headers("DELETE", "/contacts/1", [("authorization", f"Bearer {tok}"), ("x-request-id", b"\xff\xfe")]))
            deny = self.expect(got, 403, "missing_permission", f"{send} x-request-id")
            self.assertRegex(deny["requestId"], r"^intercom-authz-[0-9a-f]+-[0-9a-f]+$", send)
        # Allowed and audited (audit: all): the request goes on, the audit line has the generated id.
        status, _, body = self.http1("corpus_default", "GET", "/contacts", {"authorization": f"Bearer {tok}", "x-request-id": "r\u00e9q"})
        self.assertEqual(status, 200, body)
        self.still_serving("an allowed request with a Latin-1 request id")

    def test_path_bytes_http2(self):
        tok = mint({"role": "owner"})
        for path in [b"/contacts/\xff", b"/contacts/1\x80", b"/contacts/..\xc0\xafadmins", b"/contacts?email=\xff", b"/conversations/5?retain_metrics\xe9=false"]:
            got = h2_request(Env.ports["corpus_default"], h2_headers("GET", path, [("authorization", f"Bearer {tok}")]))
            self.expect(got, 400, "non_canonical_path", f"h2 :path {path!r}")

    def test_body_bytes(self):
        tok = mint({"role": "owner"})
        for body in [b'{"message_type":"close\xff","type":"admin","admin_id":"42"}', b'\xff{"message_type":"close"}',
                     b'{"message_type":"comment\xc0\xa2,"message_type":"close"}']:
            got = raw_request(Env.ports["corpus_default"], "POST", "/conversations/5/parts",
                              {"authorization": f"Bearer {tok}", "content-type": "application/json"}, body)
            self.expect(got, 400, "invalid_body", f"h1 body {body[:30]!r}")
            got = h2_request(Env.ports["corpus_default"], h2_headers("POST", "/conversations/5/parts", [
                ("authorization", f"Bearer {tok}"), ("content-type", "application/json")]), body)
            self.expect(got, 400, "invalid_body", f"h2 body {body[:30]!r}")

    def test_zz_no_panic_was_logged_or_counted(self):
        # Named to run last in this class (unittest sorts by name): after every vector above.
        self.assertNotIn("panic", Env.envoy_log.read_text())
        self.assertEqual(metrics().get("intercom_authz_vm_panics", 0), 0)


class Traps(unittest.TestCase):
    """A VM that traps (the test-trap build panics on request) under each failure_policy, in a
    separate Envoy with one worker so that one trap hits the one VM. FAIL_CLOSED turns one trap
    into an outage (every later request 503 until restart); FAIL_RELOAD denies the failing
    request and serves the next one from a new VM. The shipped configs use FAIL_RELOAD."""

    @classmethod
    def setUpClass(cls):
        if not TRAP_WASM.exists():
            raise AssertionError(f"the test-trap build is missing: {TRAP_WASM} (make test-envoy builds it)")
        default = Env.corpus["configs"]["default"]
        cls.ports = {"closed": free_port(), "reload": free_port()}
        cls.admin = free_port()
        listeners = [listener(f"trap_{k}", p, default, wasm=TRAP_WASM, failure_policy=k == "closed" and "FAIL_CLOSED" or "FAIL_RELOAD")
                     for k, p in cls.ports.items()]
        cfg = bootstrap(cls.admin, listeners, [cluster("upstream", Env.upstream_port)])
        path = Env.tmp / "envoy-trap.json"
        path.write_text(json.dumps(cfg))
        cls.log = Env.tmp / "envoy-trap.log"
        envoy = start([ENVOY, "-c", str(path), "--concurrency", "1", "--base-id", str(os.getpid() % 60000 + 2000),
                       "-l", "warning", "--component-log-level", "wasm:info"], cls.log)
        wait_http(f"http://127.0.0.1:{cls.admin}/ready", proc=envoy, log=cls.log)

    def send(self, which, method, path, trap=False):
        h = {"authorization": f"Bearer {mint({'role': 'agent'})}"}
        if trap:
            h["x-intercom-authz-test-trap"] = "1"
        return raw_request(self.ports[which], method, path, h)

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/stats", timeout=5) as r:
            return dict(l.rsplit(": ", 1) for l in r.read().decode().splitlines() if ": " in l)

    def test_fail_closed_one_trap_is_an_outage(self):
        self.assertEqual(self.send("closed", "GET", "/contacts")[0], 200)
        status, _, _ = self.send("closed", "GET", "/contacts", trap=True)
        self.assertGreaterEqual(status, 500)
        for _ in range(3):  # every later request, even a valid one, fails: the VM is gone
            self.assertEqual(self.send("closed", "GET", "/contacts")[0], 503)

    def test_fail_reload_denies_the_bad_request_and_serves_the_next(self):
        before = self.stats()
        for round_ in range(3):
            status, _, _ = self.send("reload", "GET", "/contacts", trap=True)
            self.assertGreaterEqual(status, 500, f"round {round_}: the trapping request must not pass")
            time.sleep(0.05)  # past the shipped 10 ms reload backoff
            status, _, body = self.send("reload", "GET", "/contacts")
            self.assertEqual(status, 200, f"round {round_}: {body[:200]!r}")
            status, _, body = self.send("reload", "DELETE", "/contacts/1")
            self.assertEqual((status, json.loads(body)["code"]), (403, "missing_permission"), f"round {round_}")
        text = self.log.read_text()
        self.assertIn("intercom-authz: panic, the VM is unusable", text)
        after = self.stats()
        # The counters to alert on (envoy/README.md): our panic counter and Envoy's reloads.
        panics = lambda st: int(st.get("wasmcustom.intercom_authz.vm_panics", 0))
        self.assertGreaterEqual(panics(after) - panics(before), 3, {k: v for k, v in after.items() if "wasm" in k or "intercom" in k})
        reloads = {k: v for k, v in after.items() if "reload" in k}
        self.assertTrue(reloads, "Envoy exposes no reload counter")
        self.assertGreaterEqual(int(after.get("wasm.trap_reload.vm_reload_success", 0)) - int(before.get("wasm.trap_reload.vm_reload_success", 0)), 3, reloads)


def _plugin_configs(node):
    """The intercom-authz plugin configurations (JSON strings) inside an Envoy config."""
    if isinstance(node, dict):
        cfg = node.get("config")
        if isinstance(cfg, dict) and cfg.get("root_id") == "intercom_authz":
            yield cfg["configuration"]["value"]
        for v in node.values():
            yield from _plugin_configs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _plugin_configs(v)


class Configs(unittest.TestCase):
    def validate(self, path):
        return subprocess.run([ENVOY, "--mode", "validate", "-c", str(path), "-l", "warning",
                               "--component-log-level", "wasm:info", "--base-id", str(os.getpid() % 60000 + 61000)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    def test_every_shipped_config_validates(self):
        # Bootstraps (an ECDS resource file, envoy/ecds/*.ecds.yaml, is checked by test_fleet).
        configs = [c for c in sorted(ROOT.glob("envoy/**/*.yaml")) if "static_resources" in c.read_text()]
        self.assertGreaterEqual(len(configs), 2)
        for c in configs:
            r = self.validate(c)
            self.assertEqual(r.returncode, 0, f"{c}: {r.stdout[-2000:]}{r.stderr[-2000:]}")
            self.assertNotRegex(c.read_text(), r"failure_policy:\s*FAIL_OPEN", c)

    def test_example_configs_match_the_json_schema(self):
        import jsonschema
        import yaml
        schema = json.loads((ROOT / "envoy/config.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        examples = {str(p): json.loads(p.read_text()) for p in sorted((ROOT / "tests/configs").glob("*.json"))}
        for y in sorted(ROOT.glob("envoy/**/*.yaml")):
            for doc in yaml.safe_load_all(y.read_text()):
                for found in _plugin_configs(doc):
                    examples[str(y)] = json.loads(found)
        self.assertGreaterEqual(len(examples), 5)
        for where, cfg in examples.items():
            errors = [e.message for e in validator.iter_errors(cfg)]
            self.assertEqual(errors, [], where)
        # And the schema is not vacuous: structural mistakes fail it.
        for bad in [{"polcy": {}}, {"mode": "shadow"}, {"token": {"keys": [{"alg": "HS256"}]}},
                    {"policy": {"routes": [{"method": "FETCH", "path": "/x", "permission": "a:b"}]}}]:
            self.assertTrue(list(validator.iter_errors(bad)), bad)

    def test_broken_configs_are_refused_with_our_message(self):
        cases = json.loads((HERE / "broken-configs.json").read_text())
        self.assertGreaterEqual(len(cases), 5)
        for case in cases:
            cfg = bootstrap(free_port(), [listener("broken", free_port(), case["config"])], [cluster("upstream", 1)])
            path = Env.tmp / "broken.json"
            path.write_text(json.dumps(cfg))
            r = self.validate(path)
            out = r.stdout + r.stderr
            self.assertNotEqual(r.returncode, 0, case["description"])
            want = "intercom-authz: refusing configuration: " + case["message"]
            self.assertIn(want, out, f'{case["description"]}: {out[-3000:]}')


if __name__ == "__main__":
    unittest.main(verbosity=2)

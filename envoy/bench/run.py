#!/usr/bin/env python3
"""`make bench-envoy`: wrk on loopback against one Envoy (--concurrency 1), side by side in one run:

  nofilter      router only
  noop          the floor: a no-op Proxy-Wasm filter (benches/noop/, dist/bench/noop.wasm) that
                reads `:method`, `:path` and `authorization` and continues; same V8 runtime and
                settings as intercom-authz
  authz_hs256   intercom-authz (as shipped: no buffer filter), HS256 token (the same token each time: cached)
  authz_hs256_deny_state  the same with `"decision_state": "deny"` (no filter state for allowed requests)
  authz_hs256_forward  the same with `upstream.forward_caller_token: true`: the filter writes no
                header, so Envoy matches the route once (an ablation: what the header writes cost)
  authz_default_unlogged  `"audit": "all"` with no access log reading the record (an ablation:
                the filter's share of the default, without Envoy's access log writing the line)
  authz_default the shipped defaults: `"audit": "all"` (the other rows set `"audit": "none"`),
                the audit record in filter state, written by the decision log (an access log,
                as envoy/envoy.yaml ships it) to a file
  authz_default_both  the same with `"audit_log": "both"`: each record also in Envoy's log
                (the default before issue 30)
  Every row's Envoy logs at `info` (Envoy's default) to a file.
  authz_rs256   intercom-authz, RS256, the same token (cache hits)
  authz_rs256_cold  intercom-authz, RS256, a different token on every request (cache misses)
  native_rs256  Envoy's own jwt_authn (RS256, local JWKS) + rbac with one policy for the one
                route requested (GET /contacts/{id})
  native_full   jwt_authn + rbac holding the whole Intercom catalog, what a platform team would
                write without us: one RBAC policy per built-in role, its permissions the OR of
                every (method, anchored path regex) the role may call, derived from
                `intercom-authz matrix '{}' --format json` (target/release/intercom-authz)
  variant_NAME  only with BENCH_VARIANTS=NAME=/path/a.wasm,NAME2=/path/b.wasm: more builds, HS256
                as authz_hs256 (experiments side by side in one run); BENCH_BASELINE_WASM=/path
                is the variant `baseline` (an earlier build)
  authz_conv    intercom-authz with a role restricted to its own conversations (issue 14):
                `GET /conversations` (a list of 20, half the teammate's) as an agent (access to
                all: passed unread, on authz_hs256) and as that role (held, judged, 10 redacted);
                `POST /conversations/search` the same way, the role's query rewritten with its
                assignment condition (issue 28)

The upstream is a second Envoy answering with a direct response, so the upstream is never the
bottleneck. Each variant is measured in its own fresh Envoy per round (one listener; see
`measure`), after one Envoy holding every listener has checked each variant's answers. Prints
throughput, ratios to nofilter and to the no-op floor, p50/p99 latency and the tested Envoy's
CPU time per request.

Then (unless BENCH_RSS=0) Envoy's resident memory (VmRSS) per proxy: separate Envoys, one at a
time, each with ONE listener (no filter, the no-op filter, intercom-authz HS256) at --concurrency
1 and 4, idle (after /ready and 2 s) and after 3 s of wrk. Writes envoy/bench/results.md.
BENCH_DURATION (default 5s) per row and round, BENCH_ROUNDS (default 5) and BENCH_CONNECTIONS
(default 16) set the main runs; BENCH_ONLY=authz_hs256,variant_NAME,... keeps those listeners' rows
(and always the no-filter and floor rows the ratios need).

BENCH_PERF=1 also samples the measured Envoy with `perf record -e cpu-clock` (Debian
`linux-perf`) during each main run and adds a table splitting each variant's CPU per request by
where it ran: the Wasm modules' machine code (V8's JIT), Envoy's own code, the kernel, the rest
(libc, vdso). That answers whether a filter's cost is its own code or the host's work for it
(host calls, VM entries), which the totals cannot.
"""
import base64
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENVOY = str(ROOT / ".venv/bin/envoy")
CLI = str(ROOT / "target/release/intercom-authz")
AUTHZ_WASM = str(ROOT / "dist/intercom_authz.wasm")
NOOP_WASM = str(ROOT / "dist/bench/noop.wasm")
KEYS = ROOT / "tests/keys"
DURATION = os.environ.get("BENCH_DURATION", "5s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "16")
RSS = os.environ.get("BENCH_RSS", "1") != "0"
RSS_DURATION = "3s"
PATH = "/contacts/123"
ROLES = ["owner", "admin", "restricted", "agent", "observer"]
# More builds side by side, each an HS256 row: BENCH_VARIANTS=name=/path/a.wasm,other=/path/b.wasm;
# an earlier build (e.g. from an older commit): BENCH_BASELINE_WASM=/path/to/intercom_authz.wasm
VARIANTS = [tuple(v.split("=", 1)) for v in os.environ.get("BENCH_VARIANTS", "").split(",") if v]
if os.environ.get("BENCH_BASELINE_WASM"):
    VARIANTS.insert(0, ("baseline", os.environ["BENCH_BASELINE_WASM"]))
# Only these listeners' rows (the no-filter and floor rows always run: the ratios need them).
ONLY = {n for n in os.environ.get("BENCH_ONLY", "").split(",") if n}
PERF = os.environ.get("BENCH_PERF", "0") != "0"
PERF_PARTS = ["wasm (V8 JIT)", "Envoy", "kernel", "other"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """`n` distinct free ports (the OS may hand a just-released port out again)."""
    ports = []
    while len(ports) < n:
        if (p := free_port()) not in ports:
            ports.append(p)
    return ports


def address(port):
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


# Rows whose connection manager writes the decision log as envoy/envoy.yaml ships it (an access
# log of the audit record), to a file.
DECISION_LOGGED = {"authz_default", "authz_default_both"}


def decision_log(name):
    path = pathlib.Path(tempfile.gettempdir()) / f"intercom-authz-bench-{name}.decisions.jsonl"
    return [{"name": "envoy.access_loggers.file", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", "path": str(path),
        "log_format": {"text_format_source": {"inline_string": "%FILTER_STATE(wasm.intercom_authz.audit:PLAIN)%\n"}}}}]


def hcm(name, filters, route):
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": name,
        **({"access_log": decision_log(name)} if name in DECISION_LOGGED else {}),
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, **route}]}]},
        "http_filters": filters + [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}


def listener(name, port, filters, route=None):
    route = route or {"route": {"cluster": "upstream"}}
    return {"name": name, "address": address(port), "filter_chains": [{"filters": [hcm(name, filters, route)]}]}


def envoy_config(admin_port, listeners, up_port=None):
    resources = {"listeners": listeners}
    if up_port:
        resources["clusters"] = [{"name": "upstream", "type": "STATIC", "connect_timeout": "1s",
                                  "load_assignment": {"cluster_name": "upstream", "endpoints": [{"lb_endpoints": [
                                      {"endpoint": {"address": address(up_port)}}]}]}}]
    return {"admin": {"address": address(admin_port)}, "static_resources": resources}


LIST_PATH = "/conversations"
SEARCH_PATH = "/conversations/search"
SEARCH = None  # the wrk script (search_script), written per run
SEARCH_BODY = json.dumps({"query": {"operator": "AND", "value": [
    {"field": "state", "operator": "=", "value": "open"},
    {"field": "source.body", "operator": "~", "value": "order"}]}, "pagination": {"per_page": 20}})


def conversation_list():
    """20 conversations, the even ones assigned to admin 7 (the benchmarked teammate)."""
    items = [{"type": "conversation", "id": str(1000 + i), "created_at": 1700000000 + i, "updated_at": 1700000100 + i,
              "admin_assignee_id": 7 if i % 2 == 0 else 9, "team_assignee_id": None, "state": "open", "read": True,
              "source": {"type": "conversation", "id": str(5000 + i), "delivered_as": "customer_initiated",
                         "subject": "", "body": f"<p>Hello, I have a question about my order #{40000 + i}.</p>",
                         "author": {"type": "user", "id": f"u{i}", "name": f"Customer {i}", "email": f"c{i}@example.com"}},
              "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": f"c{i}"}]},
              "tags": {"type": "tag.list", "tags": []}}
             for i in range(20)]
    return json.dumps({"type": "conversation.list", "conversations": items, "total_count": 20,
                       "pages": {"type": "pages", "page": 1, "per_page": 20, "total_pages": 1}})


def upstream_config(admin_port, port):
    contact = {"direct_response": {"status": 200, "body": {"inline_string": "{\"type\":\"contact\",\"id\":\"123\"}"}}}
    listing = {"direct_response": {"status": 200, "body": {"inline_string": conversation_list()}},
               "response_headers_to_add": [{"header": {"key": "content-type", "value": "application/json"}}]}
    routes = [{"match": {"path": LIST_PATH}, **listing}, {"match": {"path": SEARCH_PATH}, **listing},
              {"match": {"prefix": "/"}, **contact}]
    up = listener("up", port, [])
    route_config = up["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
    route_config["virtual_hosts"][0]["routes"] = routes
    route_config["max_direct_response_body_size_bytes"] = 65536
    return envoy_config(admin_port, [up])


# ---- the filters under test --------------------------------------------------------------------

def wasm_filters(name, wasm, config):
    return [
        {"name": "intercom_authz", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {"name": name, "root_id": "intercom_authz", "failure_policy": "FAIL_RELOAD",
                       "allow_on_headers_stop_iteration": True,
                       "vm_config": {"vm_id": name, "runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": wasm}}},
                       "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json.dumps(config)}}}},
    ]


def authz_config(key):
    return {"token": {"keys": [key], "issuers": ["https://sso.example.com"], "audiences": ["intercom-authz"]}, "audit": "none"}


HS_KEY = {"kid": "hs1", "alg": "HS256", "secret": (KEYS / "hs.secret").read_text()}
RS_KEY = {"kid": "rs1", "alg": "RS256", "pem": (KEYS / "rsa.pub.pem").read_text()}


def authz_filters(name, key, wasm=AUTHZ_WASM, **extra):
    return wasm_filters(name, wasm, dict(authz_config(key), **extra))


def conversations_filters(name):
    cfg = authz_config(HS_KEY)
    cfg["policy"] = {"roles": {"mine": {"extends": "agent", "conversation_access": "assigned_to_me"}}}
    cfg["conversations"] = {"cluster": "upstream"}
    cfg["upstream"] = {"intercom_token": "bench-workspace-token"}
    return wasm_filters(name, AUTHZ_WASM, cfg)


def noop_filters(name):
    return wasm_filters(name, NOOP_WASM, {})


def rsa_jwk():
    n = serialization.load_pem_public_key((KEYS / "rsa.pub.pem").read_bytes()).public_numbers()
    b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
    return {"kty": "RSA", "kid": "rs1", "alg": "RS256", "use": "sig", "n": b64(n.n), "e": b64(n.e)}


def jwt_authn():
    return {"name": "envoy.filters.http.jwt_authn", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        "providers": {"sso": {"issuer": "https://sso.example.com", "audiences": ["intercom-authz"],
                              "local_jwks": {"inline_string": json.dumps({"keys": [rsa_jwk()]})},
                              "payload_in_metadata": "jwt_payload"}},
        "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "sso"}}]}}


def role_principals(string_match):
    """The `role` claim of jwt_authn's payload metadata, as a string or as a list of strings."""
    meta = lambda value: {"metadata": {"filter": "envoy.filters.http.jwt_authn", "path": [{"key": "jwt_payload"}, {"key": "role"}],
                                       "value": value}}
    return [meta({"list_match": {"one_of": {"string_match": string_match}}}), meta({"string_match": string_match})]


def route_permission(method, regex):
    return {"and_rules": {"rules": [
        {"header": {"name": ":method", "string_match": {"exact": method}}},
        {"url_path": {"path": {"safe_regex": {"regex": regex}}}}]}}


def rbac(policies):
    return {"name": "envoy.filters.http.rbac", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
        "rules": {"action": "ALLOW", "policies": policies}}}


def native_filters():
    """jwt_authn + rbac with one policy: GET /contacts/{id} for any of the five roles."""
    policy = {"permissions": [route_permission("GET", "^/contacts/[^/]+$")],
              "principals": role_principals({"safe_regex": {"regex": "^(" + "|".join(ROLES) + ")$"}})}
    return [jwt_authn(), rbac({"read-contacts": policy})]


def route_regex(path):
    """`/contacts/{id}/tags` -> `^/contacts/[^/]+/tags$`."""
    segments = ["[^/]+" if s.startswith("{") and s.endswith("}") else re.escape(s) for s in path.split("/")]
    return "^" + "/".join(segments) + "$"


def catalog_matrix(tmp):
    """The shipped default's access matrix: [(method, path template, roles that may call it)].
    A role the body decides for (`partial`) may call the route: RBAC cannot read the body."""
    (tmp / "default.json").write_text("{}")
    out = subprocess.run([CLI, "matrix", str(tmp / "default.json"), "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    matrix = json.loads(out)
    assert sorted(matrix["conditions"]) == sorted(ROLES), matrix["conditions"]
    return [(*row["route"].split(" ", 1), set(row["roles"]) | set(row["partial"])) for row in matrix["rows"]]


def native_catalog_filters(matrix):
    """jwt_authn + rbac, one policy per role: the OR of every (method, path) the role may call."""
    policies = {}
    for role in ROLES:
        permissions = [route_permission(m, route_regex(p)) for m, p, roles in matrix if role in roles]
        policies[role] = {"permissions": permissions, "principals": role_principals({"exact": role})}
    return [jwt_authn(), rbac(policies)]


# ---- running Envoy and wrk -----------------------------------------------------------------------

# With two cores or more, the measured Envoy runs on core 0 and the load (wrk, the upstream Envoy)
# on core 1, so they do not take turns on one core (much less noise between rounds).
PIN = (os.cpu_count() or 1) >= 2 and subprocess.run(["which", "taskset"], capture_output=True).returncode == 0


def pinned(cmd, core):
    return ["taskset", "-c", str(core)] + cmd if PIN else cmd


def start_envoy(config, tmp, name, base_id, concurrency=1, core=0, args=()):
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(config))
    level = () if "-l" in args else ("-l", "error")
    cmd = [ENVOY, "-c", str(path), "--concurrency", str(concurrency), "--base-id", str(base_id), *level, *args]
    return subprocess.Popen(pinned(cmd, core), start_new_session=True)


def wait_ready(admin_port, proc):
    for _ in range(300):
        assert proc.poll() is None, f"Envoy exited with {proc.returncode}"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise TimeoutError(f"Envoy (admin port {admin_port}) not ready")


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)


def token(alg, sub="admin-42", n=0, role="agent"):
    now = int(time.time())
    claims = {"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": sub, "role": role,
              "iat": now - 60, "exp": now + 3600, "n": n}
    if alg == "HS256":
        return jwt.encode(claims, (KEYS / "hs.secret").read_bytes(), algorithm="HS256", headers={"kid": "hs1"})
    return jwt.encode(claims, (KEYS / "rsa.pem").read_bytes(), algorithm="RS256", headers={"kid": "rs1"})


def status(port, method, tok, path=PATH):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 headers={"authorization": f"Bearer {tok}"} if tok else {})
    try:
        return urllib.request.urlopen(req, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code


def search_script(tmp):
    """`POST /conversations/search` with a JSON query (the token comes from `-H`)."""
    path = tmp / "search.lua"
    path.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(SEARCH_BODY)}\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
    return path


def cold_tokens_script(tmp):
    """Unique RS256 tokens: more than the cache holds, cycled, so every request verifies."""
    cold = [token("RS256", n=i) for i in range(4096)]
    path = tmp / "tokens.lua"
    path.write_text("local t = {" + ",".join(f'"{x}"' for x in cold) + "}\nlocal i = 0\n"
                    "request = function()\n  i = i + 1\n  return wrk.format(nil, nil, {Authorization = \"Bearer \" .. t[(i % #t) + 1]})\nend\n")
    return path


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    kb = int(re.search(r"^VmRSS:\s+(\d+) kB", open(f"/proc/{pid}/status").read(), re.M).group(1))
    return kb / 1024


def heap_mib(admin_port):
    """(live, free) MiB of Envoy's heap (admin `/memory`): what is allocated, and what tcmalloc
    keeps free (freed after a peak, e.g. compiling the Wasm modules at start, not yet returned
    to the system; part of VmRSS)."""
    m = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/memory", timeout=5).read())
    mib = lambda k: int(m.get(k, 0)) / 1048576
    return mib("allocated"), mib("pageheap_free") + mib("total_thread_cache")


def wasm_vms(admin_port):
    """Envoy's count of live V8 Wasm VMs (0 without a Wasm filter)."""
    stats = urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/stats?filter=wasm", timeout=5).read().decode()
    found = re.search(r"^wasm\.envoy\.wasm\.runtime\.v8\.active: (\d+)", stats, re.M)
    return int(found.group(1)) if found else 0


def wrk(port, token_value=None, script=None, duration=DURATION, connections=CONNECTIONS, path=PATH):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency"]
    if token_value:
        cmd += ["-H", f"Authorization: Bearer {token_value}"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(pinned(cmd, 1), capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, total, lat.get("50"), lat.get("99"), int(non2xx.group(1)) if non2xx else 0


# ---- throughput ----------------------------------------------------------------------------------

def variant_filters(matrix):
    """Each variant's listener name and the HTTP filters it runs."""
    filters = {"nofilter": lambda: [],
               "noop": lambda: noop_filters("noop"),
               "authz_hs256": lambda: authz_filters("authz_hs256", HS_KEY),
               "authz_hs256_deny_state": lambda: authz_filters("authz_hs256_deny_state", HS_KEY, decision_state="deny"),
               "authz_hs256_forward": lambda: authz_filters("authz_hs256_forward", HS_KEY, upstream={"forward_caller_token": True}),
               "authz_default_unlogged": lambda: authz_filters("authz_default_unlogged", HS_KEY, audit="all"),
               "authz_default": lambda: authz_filters("authz_default", HS_KEY, audit="all"),
               "authz_default_both": lambda: authz_filters("authz_default_both", HS_KEY, audit="all", audit_log="both"),
               "authz_rs256": lambda: authz_filters("authz_rs256", RS_KEY),
               "native_rs256": native_filters,
               "native_full": lambda: native_catalog_filters(matrix),
               "authz_conv": lambda: conversations_filters("authz_conv")}
    for name, wasm in VARIANTS:
        filters[f"variant_{name}"] = lambda name=name, wasm=wasm: authz_filters(f"variant_{name}", HS_KEY, wasm)
    return filters


def sanity(ports, hs, rs):
    """Each variant answers 200 for the benchmarked request; the authorizers deny an agent's delete."""
    for name, tok in [("nofilter", None), ("noop", None), ("authz_hs256", hs), ("authz_hs256_deny_state", hs),
                      ("authz_hs256_forward", hs), ("authz_default_unlogged", hs), ("authz_default", hs), ("authz_default_both", hs), ("authz_rs256", rs),
                      ("native_rs256", rs), ("native_full", rs)]:
        assert status(ports[name], "GET", tok) == 200, name
    for name, tok in [("authz_hs256", hs), ("native_full", rs)]:
        assert status(ports[name], "DELETE", tok) == 403, name
    for name, _ in VARIANTS:
        assert status(ports[f"variant_{name}"], "GET", hs) == 200, name
    # The restricted teammate's list: 200, and 10 of 20 redacted.
    req = urllib.request.Request(f"http://127.0.0.1:{ports['authz_conv']}{LIST_PATH}",
                                 headers={"authorization": f"Bearer {token('HS256', sub='7', role='mine')}"})
    listing = json.loads(urllib.request.urlopen(req, timeout=5).read())
    assert sum(1 for c in listing["conversations"] if c.get("redacted")) == 10, listing
    # Their search: rewritten, and judged the same way.
    req = urllib.request.Request(f"http://127.0.0.1:{ports['authz_conv']}{SEARCH_PATH}", data=SEARCH_BODY.encode(), method="POST",
                                 headers={"authorization": f"Bearer {token('HS256', sub='7', role='mine')}",
                                          "content-type": "application/json"})
    found = json.loads(urllib.request.urlopen(req, timeout=5).read())
    assert sum(1 for c in found["conversations"] if c.get("redacted")) == 10, found


def runs(hs, rs, script, n_routes):
    mine = token("HS256", sub="7", role="mine")
    rows = [("no filter", "nofilter", None, None, PATH),
            ("no-op Proxy-Wasm filter (reads 3 headers)", "noop", None, None, PATH),
            ("intercom-authz HS256", "authz_hs256", hs, None, PATH),
            ('intercom-authz HS256, `"decision_state": "deny"`', "authz_hs256_deny_state", hs, None, PATH),
            ("intercom-authz HS256, the caller's token forwarded (no header written: no second route match; an ablation, never a setting to ship)", "authz_hs256_forward", hs, None, PATH),
            ('intercom-authz HS256, `"audit": "all"`, the record in filter state and no access log writing it (an ablation: the filter\'s share of the default)', "authz_default_unlogged", hs, None, PATH),
            ('intercom-authz HS256, shipped defaults (`"audit": "all"`, the decision log an access log to a file)', "authz_default", hs, None, PATH),
            ('intercom-authz HS256, `"audit": "all"`, `"audit_log": "both"` (also in Envoy\'s log: the previous default)', "authz_default_both", hs, None, PATH),
            ("intercom-authz RS256, repeated token (cache)", "authz_rs256", rs, None, PATH),
            ("intercom-authz RS256, unique tokens (cold)", "authz_rs256", None, script, PATH),
            ("native jwt_authn + rbac, 1 route", "native_rs256", rs, None, PATH),
            (f"native jwt_authn + rbac, full catalog ({n_routes} routes × {len(ROLES)} roles)", "native_full", rs, None, PATH),
            (f"GET {LIST_PATH} (20 conversations), no filter", "nofilter", None, None, LIST_PATH),
            (f"GET {LIST_PATH}, intercom-authz HS256, agent (access to all: not judged)", "authz_hs256", hs, None, LIST_PATH),
            (f"GET {LIST_PATH}, intercom-authz HS256, assigned_to_me (judged, 10 redacted)", "authz_conv", mine, None, LIST_PATH),
            (f"POST {SEARCH_PATH}, intercom-authz HS256, agent (sent as is, not judged)", "authz_hs256", hs, SEARCH, SEARCH_PATH),
            (f"POST {SEARCH_PATH}, intercom-authz HS256, assigned_to_me (query rewritten, answer judged, 10 redacted)",
             "authz_conv", mine, SEARCH, SEARCH_PATH)]
    for name, wasm in reversed(VARIANTS):
        rows.insert(4, (f"variant {name} ({pathlib.Path(wasm).name}) HS256", f"variant_{name}", hs, None, PATH))
    if ONLY:
        rows = [r for i, r in enumerate(rows) if i < 2 or r[1] in ONLY]
    return rows


def envoy_args(name, tmp):
    """Every row logs as Envoy does by default: level `info`, to a file (where a deployment keeps
    it), so that what the filter sends to Envoy's log costs what it costs."""
    return ("-l", "info", "--log-path", str(tmp / f"{name}.envoy.log"))


def measure(tmp, up_port, filters, rows):
    """ROUNDS rounds, every variant once per round (interleaved, so a slow spell of this shared
    machine hits every variant alike); per variant the median round by req/s and the range.
    Each measurement runs in a fresh Envoy that holds only that variant's listener, after a
    second of warm-up: in one Envoy holding them all, the same module on two listeners differed
    by ~5 µs of CPU per request, run after run (where V8 and the allocator happened to put
    things), which is as much as the differences this benchmark is for."""
    rounds = {label: [] for label, *_ in rows}
    for r in range(ROUNDS):
        for label, name, tok, script, path in rows:
            admin, port = free_ports(2)
            config = envoy_config(admin, [listener(name, port, filters[name]())], up_port)
            proc = start_envoy(config, tmp, "measured", 72, args=envoy_args(name, tmp))
            try:
                wait_ready(admin, proc)
                wrk(port, tok, script, path=path, duration="1s")
                sampler = perf_start(proc.pid, tmp) if PERF else None
                c0 = cpu_seconds(proc.pid)
                rps, total, p50, p99, bad = wrk(port, tok, script, path=path)
                cpu_us = (cpu_seconds(proc.pid) - c0) / max(total, 1) * 1e6
                shares = perf_shares(sampler) if sampler else None
            finally:
                stop(proc)
            rounds[label].append((rps, p50, p99, cpu_us, bad, shares))
            print(f"round {r + 1}: {label:62s} {rps:10.0f} req/s  p50 {p50}  p99 {p99}  CPU {cpu_us:6.1f} µs/req  non-2xx {bad}", flush=True)
    return [(label, sorted(rounds[label], key=lambda r: r[0])) for label, *_ in rows]


def perf_start(pid, tmp):
    """`perf record` on the measured Envoy (cpu-clock: no hardware counters needed)."""
    data = tmp / f"perf-{pid}.data"
    proc = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2999", "-p", str(pid), "-o", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.2)  # attached before the run starts
    return proc, data


def perf_shares(sampler):
    """Each part's share of the samples, by the object the sample's code belongs to."""
    proc, data = sampler
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    out = subprocess.run(["perf", "report", "-i", str(data), "--sort", "dso", "--stdio", "-g", "none"],
                         capture_output=True, text=True, check=True).stdout
    shares = dict.fromkeys(PERF_PARTS, 0.0)
    for pct, dso in re.findall(r"^\s+([\d.]+)%\s+(.+?)\s*$", out, re.M):
        part = ("wasm (V8 JIT)" if dso.startswith("[JIT]") else "Envoy" if dso == "envoy"
                else "kernel" if dso.startswith("[kernel") else "other")
        shares[part] += float(pct) / 100
    data.unlink(missing_ok=True)
    return shares


def perf_table(results):
    """µs per request in each part, from the median round (its CPU total × each part's share)."""
    lines = ["", f"## Where the CPU goes (BENCH_PERF=1: perf cpu-clock samples of the measured Envoy, median round)", "",
             "| variant | Envoy CPU µs/req | " + " | ".join(f"{p} µs/req" for p in PERF_PARTS) + " |",
             "|---|---:|" + "---:|" * len(PERF_PARTS)]
    for label, runs in results:
        *_, cpu_us, _, shares = runs[len(runs) // 2]
        lines.append(f"| {label} | {cpu_us:.1f} | " + " | ".join(f"{shares[p] * cpu_us:.1f}" for p in PERF_PARTS) + " |")
    lines += ["", "wasm (V8 JIT): the machine code V8 compiled from the Wasm modules (both the filter and "
              "the glue V8 generates for its calls). Envoy: Envoy's binary, host calls and VM entries included."]
    return lines


def throughput_table(results):
    median = lambda runs: runs[len(runs) // 2]
    base, floor = median(results[0][1])[0], median(results[1][1])[0]
    median_cpu = lambda runs: sorted(r[3] for r in runs)[len(runs) // 2]
    floor_cpu = median_cpu(results[1][1])
    lines = [f"wrk -t1 -c{CONNECTIONS} -d{DURATION}, {ROUNDS} interleaved rounds (median round; range of × floor), "
             f"a fresh Envoy 1.40 --concurrency 1 per variant and round (after 1 s of warm-up), Envoy's log at `info` "
             f"(its default) to a file, GET {PATH} as agent unless the row says otherwise "
             f"(native rows: RS256, the same token), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             "| variant | req/s | × no filter | × floor | × floor, range | p50 | p99 | Envoy CPU µs/req | CPU range | floor CPU ÷ CPU | non-2xx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, runs in results:
        rps, p50, p99, cpu_us, *_ = median(runs)
        cpus = sorted(r[3] for r in runs)
        bad = sum(r[4] for r in runs)
        span = f"{runs[0][0] / floor:.2f}–{runs[-1][0] / floor:.2f}"
        lines.append(f"| {label} | {rps:.0f} | {rps / base:.2f} | {rps / floor:.2f} | {span} | {p50} | {p99} | "
                     f"{cpu_us:.1f} | {cpus[0]:.1f}–{cpus[-1]:.1f} | {floor_cpu / median_cpu(runs):.2f} | {bad} |")
    lines += ["", "× floor: req/s ÷ the no-op Proxy-Wasm filter's req/s (dist/bench/noop.wasm, the same V8 runtime), "
              "both from their median rounds. floor CPU ÷ CPU: the floor's median Envoy CPU per request ÷ the row's "
              "(1.00: costs what a filter that does nothing costs; the steadier figure on a shared machine)."]
    return lines


def bench_throughput(tmp, up_port, matrix):
    filters = variant_filters(matrix)
    admin, *free = free_ports(len(filters) + 1)
    ports = dict(zip(filters, free))
    listeners = [listener(name, ports[name], make()) for name, make in filters.items()]
    proc = start_envoy(envoy_config(admin, listeners, up_port), tmp, "tested", 72)
    try:
        wait_ready(admin, proc)
        hs, rs = token("HS256"), token("RS256")
        sanity(ports, hs, rs)
        # 4096 RS256 signatures take minutes: only when the cold row runs.
        script = cold_tokens_script(tmp) if not ONLY or "authz_rs256" in ONLY else None
        global SEARCH
        SEARCH = search_script(tmp)
    finally:
        stop(proc)
    results = measure(tmp, up_port, filters, runs(hs, rs, script, len(matrix)))
    return throughput_table(results) + (perf_table(results) if PERF else [])


# ---- resident memory -------------------------------------------------------------------------

RSS_VARIANTS = [("no filter", lambda: [], None),
                ("no-op Proxy-Wasm filter", lambda: noop_filters("noop"), None),
                ("intercom-authz HS256", lambda: authz_filters("authz_hs256", HS_KEY), "HS256")]


def rss_of(tmp, up_port, filters, tok, concurrency, base_id):
    """(idle MiB, after-traffic MiB, live Wasm VMs) of one Envoy with one listener."""
    admin, port = free_ports(2)
    config = envoy_config(admin, [listener("one", port, filters)], up_port)
    proc = start_envoy(config, tmp, f"rss-{base_id}", base_id, concurrency)
    try:
        wait_ready(admin, proc)
        time.sleep(2)
        idle = rss_mib(proc.pid)
        _, _, _, _, bad = wrk(port, tok, duration=RSS_DURATION, connections="16")
        assert bad == 0, f"{bad} non-2xx responses"
        return idle, rss_mib(proc.pid), wasm_vms(admin), heap_mib(admin)
    finally:
        stop(proc)


def bench_rss(tmp, up_port):
    hs = token("HS256")
    rows, base_id = [], 80
    for concurrency in (1, 4):
        for label, filters, alg in RSS_VARIANTS:
            idle, after, vms, heap = rss_of(tmp, up_port, filters(), hs if alg else None, concurrency, base_id)
            base_id += 1
            rows.append((label, concurrency, idle, after, vms, heap))
            print(f"{label:30s} --concurrency {concurrency}  idle {idle:6.1f} MiB  after traffic {after:6.1f} MiB  Wasm VMs {vms}", flush=True)
    return rss_table(rows)


def rss_table(rows):
    lines = ["", f"## Envoy resident memory (VmRSS), one listener per Envoy, idle (2 s after /ready) and after "
                 f"wrk -t1 -c16 -d{RSS_DURATION}", "",
             "| variant | --concurrency | idle MiB | after traffic MiB | added over no filter, idle MiB | added over no filter, after traffic MiB | Wasm VMs | heap live MiB | heap free MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    added = {}
    for label, concurrency, idle, after, vms, (live, free) in rows:
        base = next(r for r in rows if r[1] == concurrency)
        added[label, concurrency] = (idle - base[2], after - base[3])
        lines.append(f"| {label} | {concurrency} | {idle:.1f} | {after:.1f} | {idle - base[2]:+.1f} | {after - base[3]:+.1f} | {vms} | {live:.1f} | {free:.1f} |")
    lines += ["", "Wasm VMs: Envoy's gauge wasm.envoy.wasm.runtime.v8.active (the base VM, the main thread's, one per worker).",
              "Heap (admin `/memory`, after traffic): live is what Envoy has allocated; free is what tcmalloc keeps "
              "for reuse (page heap and thread caches), memory freed after a peak (compiling the Wasm modules at start) "
              "and still resident.", ""]
    for concurrency in sorted({r[1] for r in rows}):
        a, n = added["intercom-authz HS256", concurrency], added["no-op Proxy-Wasm filter", concurrency]
        ratio = lambda x, y: f"{x / y:.2f}" if y > 0 else "n/a"
        lines.append(f"(intercom-authz added) / (no-op added), --concurrency {concurrency}: "
                     f"idle {ratio(a[0], n[0])}, after traffic {ratio(a[1], n[1])}  ")
    return lines


def main():
    if PERF and not shutil.which("perf"):
        raise SystemExit("BENCH_PERF=1 needs perf (Debian: apt-get install linux-perf)")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-bench-"))
    matrix = catalog_matrix(tmp)
    up_admin, up_port = free_ports(2)
    upstream = start_envoy(upstream_config(up_admin, up_port), tmp, "up", 71, core=1)
    try:
        wait_ready(up_admin, upstream)
        lines = bench_throughput(tmp, up_port, matrix)
        print("\n".join(lines), flush=True)
        if RSS:
            rss_lines = bench_rss(tmp, up_port)
            print("\n".join(rss_lines))
            lines += rss_lines
    finally:
        stop(upstream)
    # A partial or experimental run does not replace the committed table.
    out = tmp / "results.md" if ONLY or VARIANTS else ROOT / "envoy/bench/results.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()

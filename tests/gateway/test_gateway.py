"""The gateway (`make gateway`: dist/intercom_authz.gateway.wasm, a `wasi:http/proxy` component)
under `jco serve` (npm, tests/node), or `wasmtime serve` with GATEWAY_HOST=wasmtime (crates.io
wasmtime-cli), on loopback, in front of the mock Intercom
(tests/mock_intercom.py, answering each corpus case as it says):

- the whole decision corpus, one gateway per configuration: the same statuses, codes and deny
  bytes as the core, the judged (redacted, refused) answers of conversation access with the
  gateway's own lookups, nothing denied reaching the mock, and what does reach it carrying the
  workspace token (from the environment), never the caller's;
- what the gateway refuses to run with (a JWKS to fetch, a trusted payload header, no workspace
  token), each named in a 503 `not_configured`, nothing sent upstream;
- bodies: a slow body within the deadline, one that never ends (408), one over the limit (413),
  and a large one the decision does not read, streamed to Intercom whole.

`make test-gateway` builds the gateway and the corpus (`cargo test --test decisions`), which this
materializes again once the gateways are up. Nothing here is skipped: a missing jco, gateway or
corpus is a failure."""
import http.client
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests/envoy"))
import corpus_http  # noqa: E402  (tests/corpus_http.py)
from test_envoy import ENVOY_REFUSES, free_port, raw_request, read_jsonl, slow_request, stop_all  # noqa: E402

JCO = ROOT / "tests/node/node_modules/.bin/jco"
WASMTIME = pathlib.Path(shutil.which("wasmtime") or pathlib.Path.home() / ".cargo/bin/wasmtime")
# The host that serves the gateway: `jco serve` (default) or `wasmtime serve` (GATEWAY_HOST=wasmtime).
HOST = os.environ.get("GATEWAY_HOST", "jco")
GATEWAY = ROOT / "dist/intercom_authz.gateway.wasm"
CORPUS = ROOT / "target/tmp/corpus.json"
WORKSPACE_TOKEN = "gw-workspace-token-0123"

# What the host's HTTP parser refuses before the gateway sees the request: its own 400 (no
# body, no code), never ours. Node's (jco serve) refuses what Envoy refuses
# (tests/envoy/test_envoy.py); hyper's (wasmtime serve) takes a lower-case method.
NODE_REFUSES = ENVOY_REFUSES - {
    # Node hands these to the gateway, which answers them as the core does.
    "CVE-2021-32779: a fragment is stripped and refused",
    "an asterisk-form target is refused",
}
HYPER_REFUSES = NODE_REFUSES - {"a lower-case method is denied", "a non-ASCII byte is refused"}
HOST_REFUSES = {"jco": NODE_REFUSES, "wasmtime": HYPER_REFUSES}[HOST]
# What it rewrites before the gateway sees it (description -> (path the upstream gets, decision)):
# hyper hands over an absolute-form target's path alone (as Envoy does) and drops a fragment,
# so what is judged is what goes upstream.
HYPER_REWRITES = {
    "an absolute URI is refused": ("/contacts", "allow"),
    "CVE-2021-32779: a fragment is stripped and refused": ("/contacts", "allow"),
}
HOST_REWRITES = {"jco": {}, "wasmtime": HYPER_REWRITES}[HOST]


class Env:
    tmp = None
    procs = []
    corpus = None
    ports = {}
    record = None
    upstream_port = None


def start(cmd, log, env=None):
    out = open(log, "w")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                         env=dict(os.environ, **(env or {})))
    out.close()
    Env.procs.append(p)
    return p


def wait_port(port, proc, log, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the process for port {port} exited with {proc.returncode}:\n{pathlib.Path(log).read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"port {port} did not open in {timeout}s:\n{pathlib.Path(log).read_text()[-3000:]}")


def gateway_env(config, **extra):
    """The settings as a platform hands them over: the configuration, where Intercom is, the
    workspace token in its own variable, the header the platform puts the client's address in."""
    env = {
        "INTERCOM_AUTHZ_CONFIG": json.dumps(config),
        "INTERCOM_AUTHZ_UPSTREAM": f"http://127.0.0.1:{Env.upstream_port}",
        "INTERCOM_TOKEN": WORKSPACE_TOKEN,
        "INTERCOM_AUTHZ_CLIENT_IP_HEADER": "x-forwarded-for",
    }
    env.update(extra)
    return env


def serve(name, env):
    """Starts the host with the gateway; returns its port, process and log."""
    port = free_port()
    log = Env.tmp / f"gateway-{name}.log"
    return port, start(serve_command(port, env, str(GATEWAY)), log, env), log


def serve_command(port, env, gateway):
    if HOST == "jco":
        return [str(JCO), "serve", "--host", "127.0.0.1", "--port", str(port), gateway]
    # wasmtime serve: WASI's CLI interfaces on (the gateway reads its environment), each
    # setting passed on from this process's environment by name.
    names = [a for k in env for a in ("--env", k)]
    return [str(WASMTIME), "serve", "--addr", f"127.0.0.1:{port}", "-Scli", *names, gateway]


# The corpus's configurations the gateway does not run, and the words of its refusal.
NOT_SERVED = {
    "trusted": "`token.trusted_payload_header` is not available in the gateway",
    "directory_unreachable": "`identity.source: directory` needs the directory in `identity.admins` in the gateway",
}


def served_config(name):
    """A corpus configuration as the gateway gets it: the workspace token from the environment
    (`INTERCOM_TOKEN`), never from the configuration; every decision audited."""
    cfg = json.loads(json.dumps(Env.corpus["configs"][name]))
    cfg["audit"] = "all"
    up = cfg.get("upstream") or {}
    up.pop("intercom_token", None)
    if up:
        cfg["upstream"] = up
    else:
        cfg.pop("upstream", None)
    return cfg


# Bodies: a short deadline and limit (the default configuration otherwise).
LIMITS = {"body_timeout_ms": 1500, "max_body_bytes": 4096}


def setUpModule():
    try:
        _set_up_module()
    except BaseException:
        tearDownModule()
        raise


def _set_up_module():
    host = {"jco": ("jco (make test-gateway installs tests/node)", JCO),
            "wasmtime": ("wasmtime (make test-gateway installs wasmtime-cli)", WASMTIME)}[HOST]
    for what, path in [host, ("the gateway (make gateway)", GATEWAY),
                       ("the corpus (cargo test --test decisions)", CORPUS)]:
        if not pathlib.Path(path).exists():
            raise AssertionError(f"{what} is missing: {path}")
    Env.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-gateway-"))
    Env.corpus = json.loads(CORPUS.read_text())
    Env.record = Env.tmp / "upstream.jsonl"
    Env.upstream_port = free_port()
    started = []
    for name in Env.corpus["configs"]:
        if name not in NOT_SERVED:
            started.append((name,) + serve(name, gateway_env(served_config(name))))
    limits = dict(served_config("default"), **LIMITS)
    started.append(("limits",) + serve("limits", gateway_env(limits)))
    for name, port, proc, log in started:
        wait_port(port, proc, log)
        Env.ports[name] = port
    # The gateways take a while to start (each transpiles the component): the corpus's tokens
    # are minted now, after them, so that "expired 5 s ago, within the leeway" still is.
    subprocess.run(["cargo", "test", "-q", "--test", "decisions"], cwd=ROOT, check=True, capture_output=True)
    Env.corpus = json.loads(CORPUS.read_text())
    mock_log = Env.tmp / "upstream.log"
    mock = start([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(Env.upstream_port), "--record", str(Env.record),
                  "--cases", str(CORPUS)], mock_log)
    wait_port(Env.upstream_port, mock, mock_log)


def tearDownModule():
    stop_all(Env.procs)


def records():
    return read_jsonl(Env.record)


def mint(claims):
    import jwt
    now = int(time.time())
    base = {"iss": "https://sso.example.com", "aud": "intercom-authz", "sub": "42", "iat": now - 60, "exp": now + 3600}
    base.update(claims)
    return jwt.encode(base, (ROOT / "tests/keys/hs.secret").read_bytes(), algorithm="HS256", headers={"kid": "hs1"})


class Corpus(unittest.TestCase):
    """The whole decision corpus, through the gateway."""

    @classmethod
    def setUpClass(cls):
        cls.results = corpus_http.replay(Env.corpus["cases"], lambda c: Env.ports.get(c["config"]), raw_request)

    def test_same_decisions_as_the_core(self):
        failures = corpus_http.decision_failures(self.results, HOST_REFUSES, HOST_REWRITES)
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertGreaterEqual(len(self.results), 700)

    def test_nothing_denied_reaches_intercom_and_what_does_carries_the_workspace_token(self):
        leaks, wrong = corpus_http.upstream_failures(self.results, records(), HOST_REFUSES, HOST_REWRITES,
                                                     authorization=f"Bearer {WORKSPACE_TOKEN}")
        self.assertEqual(leaks, [], "\n".join(leaks))
        self.assertEqual(wrong, [], "\n".join(wrong))

    def test_one_audit_record_per_decision(self):
        """Each decision is one JSON line on the gateway's standard error (the record `usage`
        and `report` read), denials and answers refused on the response included."""
        audit = {}
        for name in Env.ports:
            for line in (Env.tmp / f"gateway-{name}.log").read_text().splitlines():
                # wasmtime serve prefixes each line the guest writes: `stderr [3] :: `.
                line = re.sub(r"^stderr \[\d+\] :: ", "", line)
                if line.startswith("{"):
                    r = json.loads(line)
                    audit.setdefault(r.get("requestId"), []).append(r)
        wrong = []
        for i, c, status, h, body in self.results:
            got = audit.get(f"case-{i}", [])
            if c["description"] in HOST_REFUSES:
                want = []
            elif c["description"] in HOST_REWRITES:
                want = ["allowed"]
            else:
                want = [c["expect"]["code"] if c["expect"]["decision"] == "deny" else "allowed"]
            if [r["code"] for r in got] != want:
                wrong.append(f'{c["description"]}: audit codes {[r["code"] for r in got]}, want {want}')
        self.assertEqual(wrong, [], "\n".join(wrong))
        some = audit[f"case-{self.results[0][0]}"][0]
        self.assertEqual(list(some)[:4], ["time", "adminId", "adminEmail", "action"])

    def test_conversation_access_looked_up_by_the_gateway(self):
        conv = [r for r in self.results if r[1]["config"] == "conversations"]
        self.assertGreaterEqual(len(conv), 80)
        lookups = [r for r in records() if r["method"] == "GET" and "x-case-id" not in r["headers"]
                   and r["path"].startswith("/conversations/")]
        self.assertGreater(len(lookups), 10, "the gateway made no conversation lookups")
        for r in lookups:
            self.assertEqual(r["headers"].get("authorization"), f"Bearer {WORKSPACE_TOKEN}")


class Refused(unittest.TestCase):
    """Settings the gateway will not run with: every request is a 503 naming the culprit."""

    def refused(self, name, env, words):
        port, proc, log = serve(name, env)
        wait_port(port, proc, log)
        before = len(records())
        status, h, body = raw_request(port, "GET", "/contacts/1", {"authorization": f"Bearer {mint({'role': 'owner'})}"})
        self.assertEqual(status, 503, body)
        got = json.loads(body)
        self.assertEqual(list(got), ["error", "message", "code"])  # the deny body's keys, in order
        self.assertEqual((got["code"], h.get("x-intercom-authz-code")), ("not_configured", "not_configured"))
        self.assertIn(words, got["message"])
        self.assertEqual(len(records()), before, "a request went upstream")

    def test_configurations_it_cannot_serve(self):
        for name, words in NOT_SERVED.items():
            with self.subTest(name):
                self.refused(name, gateway_env(Env.corpus["configs"][name]), words)

    def test_a_jwks_to_fetch(self):
        cfg = dict(served_config("default"), remote_jwks={"cluster": "sso", "path": "/.well-known/jwks.json"})
        self.refused("remote-jwks", gateway_env(cfg), "`remote_jwks` is not available in the gateway")

    def test_dry_run(self):
        self.refused("dry-run", gateway_env(dict(served_config("default"), mode="dry_run")),
                     "`mode: dry_run` is not available in the gateway")

    def test_an_identity_header_that_is_a_credential(self):
        cfg = dict(served_config("default"), upstream={"role_header": "authorization"})
        self.refused("role-authorization", gateway_env(cfg), "`upstream.role_header` `authorization` is a header")

    def test_no_workspace_token(self):
        self.refused("no-token", gateway_env(served_config("default"), INTERCOM_TOKEN=""),
                     "environment variable `INTERCOM_TOKEN` is not set")

    def test_no_configuration(self):
        port, proc, log = serve("no-config", gateway_env({}, INTERCOM_AUTHZ_CONFIG=""))
        wait_port(port, proc, log)
        status, _, body = raw_request(port, "GET", "/contacts/1", {})
        self.assertEqual(status, 503, body)
        self.assertIn("INTERCOM_AUTHZ_CONFIG", json.loads(body)["message"])


REPLY = json.dumps({"message_type": "comment", "type": "admin", "admin_id": "42", "body": "hello"}).encode()


class Bodies(unittest.TestCase):
    """Held where the decision reads them (to `max_body_bytes`, within `body_timeout_ms`),
    streamed where it does not."""

    def headers(self, case, role="admin"):
        return {"authorization": f"Bearer {mint({'role': role})}", "content-type": "application/json", "x-case-id": case}

    def upstream(self, case):
        return [r for r in records() if r["headers"].get("x-case-id") == case]

    def test_a_slow_body_within_the_deadline_is_judged_and_forwarded(self):
        status, _, body, took = slow_request(Env.ports["limits"], "POST", "/conversations/5/reply", self.headers("slow-ok"),
                                             [REPLY[:20], REPLY[20:]], first_delay=0.3, gap=0.3)
        self.assertEqual(status, 200, body)
        got = self.upstream("slow-ok")
        self.assertEqual([json.loads(g["body"]) for g in got], [json.loads(REPLY)])

    def test_a_body_that_never_ends_is_408(self):
        status, h, body, took = slow_request(Env.ports["limits"], "POST", "/conversations/5/reply", self.headers("slow-never"),
                                             [REPLY[:20]], first_delay=0.1, gap=0.1, length=len(REPLY))
        self.assertEqual((status, json.loads(body)["code"]), (408, "body_timeout"), body)
        self.assertLess(took, 10)
        self.assertEqual(self.upstream("slow-never"), [])

    def test_a_body_over_the_limit_is_413(self):
        big = json.dumps({"message_type": "comment", "type": "admin", "admin_id": "42", "body": "x" * 5000}).encode()
        status, _, body = raw_request(Env.ports["limits"], "POST", "/conversations/5/reply", self.headers("too-large"), big)
        self.assertEqual((status, json.loads(body)["code"]), (413, "body_too_large"), body)
        self.assertEqual(self.upstream("too-large"), [])

    def test_a_large_body_the_decision_does_not_read_streams_whole(self):
        # A contact's update is not judged by its body: 3 MB go through, far over max_body_bytes (4 KB).
        big = json.dumps({"name": "y" * 3_000_000}).encode()
        status, _, body = raw_request(Env.ports["limits"], "PUT", "/contacts/7", self.headers("streamed", role="owner"), big,
                                      timeout=60)
        self.assertEqual(status, 200, body[:300])
        got = self.upstream("streamed")
        self.assertEqual(len(got), 1)
        self.assertEqual(len(got[0]["body"].encode()), len(big))
        self.assertEqual(got[0]["headers"].get("content-length"), str(len(big)))


class SideDoors(unittest.TestCase):
    """What a client adds to be read otherwise upstream, or to hold the gateway up."""

    def test_underscore_spellings_of_overrides_never_reach_intercom(self):
        h = {"authorization": f"Bearer {mint({'role': 'owner'})}", "content-type": "application/json",
             "x-case-id": "underscores", "x_http_method_override": "GET", "x_original_url": "/conversations",
             "x_method_override": "GET"}
        status, _, body = raw_request(Env.ports["default"], "POST", "/conversations", h, b'{"body":"hi","from":{"type":"user","id":"1"}}')
        self.assertEqual(status, 200, body)
        [got] = [r for r in records() if r["headers"].get("x-case-id") == "underscores"]
        sent = {k.replace("_", "-") for k in got["headers"]}
        self.assertFalse(sent & {"x-http-method-override", "x-original-url", "x-method-override"}, got["headers"])

    def test_a_header_the_decision_reads_twice_is_ambiguous(self):
        tok = mint({"role": "owner"})
        raw = (f"GET /contacts/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {tok}\r\n"
               "x-case-id: twice\r\nIntercom-Version: 2.11\r\nIntercom-Version: 1.4\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", Env.ports["default"]), timeout=10) as c:
            c.sendall(raw)
            resp = http.client.HTTPResponse(c, method="GET")
            resp.begin()
            status, body = resp.status, resp.read()
        self.assertEqual((status, json.loads(body)["code"]), (400, "ambiguous_request"), body)
        self.assertEqual([r for r in records() if r["headers"].get("x-case-id") == "twice"], [])

    def test_a_streamed_body_that_stops_is_abandoned_within_the_body_timeout(self):
        # 8 bytes of 1,000 declared, then nothing: the gateway gives up after body_timeout_ms
        # (1.5 s here) of silence instead of holding the instance.
        h = {"authorization": f"Bearer {mint({'role': 'owner'})}", "content-type": "application/json", "x-case-id": "stalled"}
        status, _, body, took = slow_request(Env.ports["limits"], "PUT", "/contacts/7", h, [b'{"name":'],
                                             first_delay=0.1, gap=0.1, length=1000, timeout=20)
        self.assertEqual(status, 502, body)
        self.assertLess(took, 10)
        status, _, _ = raw_request(Env.ports["limits"], "GET", "/contacts/1", {"authorization": f"Bearer {mint({'role': 'owner'})}"})
        self.assertEqual(status, 200)


def readme_section(title):
    """The README's text under `### title` (to the next heading of that level or above)."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n### {title}\n")
    end = min(i for i in (text.find("\n### ", start + 1), text.find("\n## ", start + 1)) if i != -1)
    return text[start:end]


def fenced(section, lang):
    return [textwrap.dedent(b) for b in re.findall(rf"^ *```{lang}\n(.*?)^ *```$", section, re.S | re.M)]


# wadm 0.12.2's manifest schema, from the crate as crates.io serves it (pinned by its digest).
WADM_CRATE = ("https://static.crates.io/crates/wadm/wadm-0.12.2.crate",
              "2d20c671aabb8fee1d7a688a81be4ebe14cbc4ae3a01db5dd62202ad39538fa5")


class Readme(unittest.TestCase):
    """README's "Deploy at the edge", as written."""

    def test_the_serve_block_runs_as_written(self):
        [block] = fenced(readme_section(f"{HOST} serve"), "sh")
        self.assertTrue("--port 8080" in block or "127.0.0.1:8080" in block, block)
        work = pathlib.Path(tempfile.mkdtemp(prefix="readme-", dir=Env.tmp))
        (work / "dist").symlink_to(ROOT / "dist")
        secret = "readme-jwt-secret-0123456789abcdef-0123"
        (work / "jwt-secret.txt").write_text(secret + "\n")
        (work / "intercom-token.txt").write_text("readme-workspace-token\n")
        port = free_port()
        log = Env.tmp / "readme-jco.log"
        env = {"PATH": f"{JCO.parent}:{WASMTIME.parent}:{os.environ['PATH']}",
               "INTERCOM_AUTHZ_UPSTREAM": f"http://127.0.0.1:{Env.upstream_port}"}
        block = block.replace("--port 8080", f"--port {port}").replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        proc = start(["bash", "-euc", f"cd {work}\n" + block], log, env)
        wait_port(port, proc, log)
        import jwt
        token = jwt.encode({"sub": "7", "role": "agent", "exp": int(time.time()) + 600}, secret, algorithm="HS256", headers={"kid": "k"})
        h = {"authorization": f"Bearer {token}", "x-case-id": "readme-jco"}
        status, _, body = raw_request(port, "GET", "/contacts/123", h)
        self.assertEqual(status, 200, body)
        status, _, body = raw_request(port, "DELETE", "/contacts/123", h)
        self.assertEqual((status, json.loads(body)["code"]), (403, "missing_permission"))
        got = [r for r in records() if r["headers"].get("x-case-id") == "readme-jco"]
        self.assertEqual([(r["method"], r["headers"]["authorization"], r["headers"]["x-authz-role"]) for r in got],
                         [("GET", "Bearer readme-workspace-token", "agent")])

    def test_the_spin_manifest_names_what_the_gateway_reads(self):
        import tomllib
        section = readme_section("Spin and wasmCloud")
        [toml] = fenced(section, "toml")
        m = tomllib.loads(toml)
        c = m["component"][m["trigger"]["http"][0]["component"]]
        self.assertEqual(ROOT / c["source"], GATEWAY)
        self.assertIn("https://api.intercom.io", c["allowed_outbound_hosts"])
        cfg = json.loads(c["environment"]["INTERCOM_AUTHZ_CONFIG"])
        # The secrets it names come from `spin up -e`, as the README says.
        for key in cfg["token"]["keys"]:
            self.assertIn(f"-e {key['secret_env']}=", section)
        self.assertIn("-e INTERCOM_TOKEN=", section)

    def test_the_wadm_manifest_validates_against_wadms_schema(self):
        import hashlib
        import io
        import tarfile
        import urllib.request
        import jsonschema
        import yaml
        cache = ROOT / "target/tmp/wadm-0.12.2.crate"
        if not cache.exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(WADM_CRATE[0], timeout=60) as r:
                cache.write_bytes(r.read())
        data = cache.read_bytes()
        self.assertEqual(hashlib.sha256(data).hexdigest(), WADM_CRATE[1])
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            schema = json.load(t.extractfile("wadm-0.12.2/oam.schema.json"))
        [manifest] = fenced(readme_section("Spin and wasmCloud"), "yaml")
        doc = yaml.safe_load(manifest)
        jsonschema.validate(doc, schema)
        gateway = [c for c in doc["spec"]["components"] if c["name"] == "gateway"][0]
        self.assertEqual(gateway["properties"]["image"], "file://./" + str(GATEWAY.relative_to(ROOT)))
        # The schema can fail: a component without its image is refused.
        del gateway["properties"]["image"]
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)


def world_items(package_text, world):
    """`import`/`export` lines of `world` in a WIT file's text: (kind, qualified name). A bare
    interface name is the package's own."""
    pkg = re.search(r"^package ([\w:-]+)@([\d.]+);", package_text, re.M)
    body = re.search(rf"^world {world} {{(.*?)^}}", package_text, re.S | re.M).group(1)
    items = set()
    for kind, name in re.findall(r"^\s*(import|export|include) ([\w:/@.-]+);", body, re.M):
        if kind != "include" and ":" not in name:
            name = f"{pkg.group(1)}/{name}@{pkg.group(2)}"
        items.add((kind, name))
    return items


class World(unittest.TestCase):
    """The gateway targets `intercom:authz/gateway` (wit/intercom-authz.wit): what it imports is
    the world's (`wasi:http/proxy` and the rest of `wasi:cli` it names), and it exports
    `wasi:http/incoming-handler`, as `jco wit` reads the built component."""

    def test_the_component_targets_the_gateway_world(self):
        ours = world_items((ROOT / "wit/intercom-authz.wit").read_text(), "gateway")
        includes = [n for k, n in ours if k == "include"]
        self.assertEqual(includes, ["wasi:http/proxy@0.2.12"])
        proxy = world_items((ROOT / "wit/deps/http.wit").read_text(), "proxy")
        world = {i for i in ours | proxy if i[0] != "include"}
        out = subprocess.run([str(JCO), "wit", str(GATEWAY)], capture_output=True, text=True, check=True).stdout
        got = set(re.findall(r"^\s*(import|export) ([\w:/@.-]+);", out, re.M))
        self.assertTrue(got, out)
        self.assertEqual({i for i in got if i[0] == "export"}, {i for i in world if i[0] == "export"})
        self.assertLessEqual({i for i in got if i[0] == "import"}, {i for i in world if i[0] == "import"},
                             "the gateway imports what the world does not name")
        # Nothing of the CLI world it does not need: no filesystem, no sockets.
        self.assertFalse([n for _, n in got if n.startswith(("wasi:filesystem", "wasi:sockets"))])


if __name__ == "__main__":
    unittest.main()

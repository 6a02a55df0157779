#!/usr/bin/env python3
"""Istio (`make test-istio`): the shipped `istio/` manifests against Istio's resource models
(PyPI cloudcoil-models-istio, pinned); the image (`make image`) pushed to a real registry on
loopback (Debian's docker-registry) with skopeo and fetched back **by the rules of Istio's own
fetcher** (tests/istio/istio_fetcher.py, ported from Istio's source); and what each manifest
makes of Envoy, run in Envoy:

- `envoyfilter.yaml` (the way to run it): the ECDS resource as istio-agent rewrites it (the
  module fetched from the registry, a local file), the HTTP filter where the patch puts it
  (before the router, after an Istio-style jwt_authn): body rules, conversation access and
  remote JWKS with no buffer filter;
- `wasmplugin.yaml` (`body_hold: buffer_filter`): with its EnvoyFilter's buffer filter after the
  Wasm filter as Istio orders them, and wired wrong (no buffer filter; the buffer filter first):
  every wrong wiring is refused `500 body_hold_misconfigured` and no body reaches Intercom."""
import copy
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import yaml

from tests.envoy.test_envoy import ENVOY, ROOT, WASM, cluster, decision_log, free_port, raw_request, rsa_jwk, slow_request, wait_http
from tests.envoy.test_fleet import PROCS, start, tearDownModule  # noqa: F401 (stops what start() started)
from tests.istio import istio_fetcher

OCI = ROOT / "dist/oci"
TAG = "0.1.0"
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
# istio/api extensions/v1alpha1 FailStrategy, as istio/istio maps it to Envoy's failure_policy
# (pilot/pkg/model/extensions.go at 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c).
ISTIO_FAIL_STRATEGIES = {"FAIL_CLOSE": "FAIL_CLOSED", "FAIL_OPEN": "FAIL_OPEN", "FAIL_RELOAD": "FAIL_RELOAD"}
ROUTER = {"name": "envoy.filters.http.router", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}


def docs(name):
    """A rendered manifest (`make image`: istio/<name> with the image filled in)."""
    return list(yaml.safe_load_all((ROOT / "dist/istio" / name).read_text()))


def plugin_config_of(envoyfilter):
    """The filter's configuration in the EnvoyFilter's extension config."""
    ext = envoyfilter["spec"]["configPatches"][0]["patch"]["value"]
    return json.loads(ext["typed_config"]["config"]["configuration"]["value"])


def strict(model, doc, free=(".spec.pluginConfig", ".spec.configPatches")):
    """Validates against the model, and refuses what the model would silently drop (a typo)."""
    obj = model.model_validate(doc)
    back = obj.model_dump(by_alias=True, exclude_unset=True, mode="json")

    def missing(a, b, at=""):
        if isinstance(a, dict):
            for k, v in a.items():
                if k not in b:
                    yield f"{at}.{k}"
                else:
                    yield from missing(v, b[k], f"{at}.{k}")
        elif isinstance(a, list):
            for i, (x, y) in enumerate(zip(a, b)):
                yield from missing(x, y, f"{at}[{i}]")

    return [p for p in missing(doc, back) if not (p.startswith(free) and ".patch.value" in p or p.startswith(".spec.pluginConfig"))]


def mint(role_names, sub="7"):
    """An RS256 token from the test IdP (tests/keys/rsa.pem, kid sso-2026 in the manifests)."""
    import jwt
    now = int(time.time())
    claims = {"iss": "https://sso.example.com/realms/acme", "aud": "intercom-authz", "sub": sub, "iat": now,
              "exp": now + 600, "realm_access": {"roles": ["offline_access", "default-roles-acme", *role_names]}}
    return jwt.encode(claims, (ROOT / "tests/keys/rsa.pem").read_bytes(), algorithm="RS256", headers={"kid": "sso-2026"})


def keycloak(*roles):
    return {"authorization": f"Bearer {mint(roles)}"}


class Registry:
    """A real registry on loopback with the image pushed by skopeo (set up once)."""
    tmp = host = None

    @classmethod
    def up(cls):
        if cls.host:
            return cls
        for what, p in [("the image (make image)", OCI / "index.json"), ("docker-registry", pathlib.Path("/usr/bin/docker-registry")),
                        ("skopeo", pathlib.Path("/usr/bin/skopeo"))]:
            if not p.exists():
                raise AssertionError(f"{what} is missing: {p}")
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-istio-"))
        host = f"127.0.0.1:{free_port()}"
        (cls.tmp / "registry.yml").write_text(yaml.safe_dump({
            "version": 0.1, "storage": {"filesystem": {"rootdirectory": str(cls.tmp / "registry")}},
            "http": {"addr": host}}))
        start(["docker-registry", "serve", str(cls.tmp / "registry.yml")], cls.tmp / "registry.log")
        wait_http(f"http://{host}/v2/")
        cls.host = host
        cls.push(f"oci:{OCI}:{TAG}", "platform/intercom-authz", TAG)
        return cls

    @classmethod
    def push(cls, source, repo, tag):
        cls.skopeo("copy", "--dest-tls-verify=false", source, f"docker://{cls.host}/{repo}:{tag}")

    @staticmethod
    def skopeo(*args):
        r = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"skopeo {' '.join(args)}: {r.stderr}")
        return r.stdout

    @classmethod
    def here(cls, url):
        """The manifest's oci:// URL with this registry in place of the template's."""
        _, repo, tag = istio_fetcher.parse_url(url)
        return f"oci://{cls.host}/platform/{repo.rpartition('/')[2]}:{tag}"


class Manifests(unittest.TestCase):
    def test_the_templates_render_to_the_image(self):
        index = json.loads((OCI / "index.json").read_text())
        digest = index["manifests"][0]["digest"].split(":")[1]
        for name in ["wasmplugin.yaml", "envoyfilter.yaml"]:
            template = (ROOT / "istio" / name).read_text()
            self.assertIn('"@IMAGE@"', template)
            self.assertIn('"@SHA256@"', template)
            rendered = (ROOT / "dist/istio" / name).read_text()
            self.assertNotIn("@", rendered.replace("\"@type\"", ""), name)
            self.assertIn(f"oci://registry.example.com/platform/intercom-authz:{TAG}", rendered)
            self.assertIn(digest, rendered)

    def test_build_image_writes_next_to_the_image_wherever_it_runs(self):
        out = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-image-"))
        try:
            r = subprocess.run(["python3", str(ROOT / "istio/build_image.py"), str(WASM), str(out / "oci"), TAG],
                               cwd=out, capture_output=True, text=True, env=dict(os.environ, REGISTRY="r.example/x"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue((out / "istio/envoyfilter.yaml").exists())
            self.assertIn("oci://r.example/x/intercom-authz:0.1.0", (out / "istio/wasmplugin.yaml").read_text())
            # Reproducible: the same module, the same manifest digest as `make image`'s.
            self.assertEqual(json.loads((out / "oci/index.json").read_text())["manifests"][0]["digest"],
                             json.loads((OCI / "index.json").read_text())["manifests"][0]["digest"])
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def test_they_match_istio_resource_schemas(self):
        from cloudcoil.models.istio.extensions.v1alpha1 import WasmPlugin
        from cloudcoil.models.istio.networking.v1alpha3 import EnvoyFilter
        plugin, buffer = docs("wasmplugin.yaml")
        (envoyfilter,) = docs("envoyfilter.yaml")
        # The model is Istio 1.24's API (the newest on PyPI), from before FAIL_RELOAD (Istio
        # 1.27): that one field is checked against Istio's own enum instead.
        self.assertIn(plugin["spec"]["failStrategy"], ISTIO_FAIL_STRATEGIES)
        plugin = copy.deepcopy(plugin)
        plugin["spec"]["failStrategy"] = "FAIL_CLOSE"
        self.assertEqual(strict(WasmPlugin, plugin), [])
        self.assertEqual(strict(EnvoyFilter, buffer), [])
        self.assertEqual(strict(EnvoyFilter, envoyfilter), [])
        spec = plugin["spec"]
        self.assertEqual(spec["phase"], "AUTHZ")
        # Not vacuous: a wrong phase, fail strategy or patch operation is refused by the models.
        for bad in [{"phase": "AUTHX"}, {"failStrategy": "FAIL_OPEN_PLEASE"}]:
            with self.assertRaises(Exception):
                WasmPlugin.model_validate(dict(plugin, spec=dict(spec, **bad)))
        bad = copy.deepcopy(envoyfilter)
        bad["spec"]["configPatches"][0]["patch"]["operation"] = "MERGE_PLEASE"
        with self.assertRaises(Exception):
            EnvoyFilter.model_validate(bad)
        self.assertEqual(strict(WasmPlugin, dict(plugin, spec=dict(spec, pluginConfg={}))), [".spec.pluginConfg"])

    def test_the_plugin_configs_are_valid_and_match_the_schema(self):
        import jsonschema
        schema = json.loads((ROOT / "envoy/config.schema.json").read_text())
        check = lambda cfg: [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(cfg)]
        (envoyfilter,) = docs("envoyfilter.yaml")
        plugin = docs("wasmplugin.yaml")[0]["spec"]["pluginConfig"]
        full = plugin_config_of(envoyfilter)
        self.assertEqual(check(plugin), [])
        self.assertEqual(check(full), [])
        self.assertEqual(plugin["body_hold"], "buffer_filter")  # WasmPlugin has no allow_on_headers_stop_iteration
        self.assertEqual(full["body_hold"], "headers")
        wasm = envoyfilter["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["config"]
        self.assertIs(wasm["allow_on_headers_stop_iteration"], True)
        self.assertEqual(wasm["failure_policy"], "FAIL_RELOAD")
        # The HTTP filter asks ECDS for the extension config by its name.
        insert = envoyfilter["spec"]["configPatches"][1]
        self.assertEqual(insert["patch"]["value"]["name"], envoyfilter["spec"]["configPatches"][0]["patch"]["value"]["name"])
        self.assertEqual(insert["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"], "envoy.filters.http.router")

    WIRING = {"L009", "L011", "L013", "L014", "L015", "L016", "L017", "L018", "L019"}

    def lint(self, docs_, *args):
        """`intercom-authz lint --format json` of these documents: the wiring codes found."""
        path = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-lint-")) / "manifest.yaml"
        path.write_text(yaml.safe_dump_all(docs_))
        r = subprocess.run([str(ROOT / "target/release/intercom-authz"), "lint", "--format", "json", str(path), *args],
                           capture_output=True, text=True)
        shutil.rmtree(path.parent, ignore_errors=True)
        self.assertIn(r.returncode, (0, 4), r.stderr)
        return {f["code"] for f in json.loads(r.stdout)["findings"]} & self.WIRING

    def test_lint_flags_each_wrong_wiring_of_the_shipped_manifests(self):
        plugin, buffer = docs("wasmplugin.yaml")
        (envoyfilter,) = docs("envoyfilter.yaml")
        self.assertEqual(self.lint([plugin, buffer]), set())
        self.assertEqual(self.lint([envoyfilter]), set())
        def changed(doc, path, value):
            doc = copy.deepcopy(doc)
            *parents, last = path
            at = doc
            for p in parents:
                at = at[p]
            if value is None:
                del at[last]
            else:
                at[last] = value
            return doc
        patch0 = ["spec", "configPatches", 0]
        wasm = [*patch0, "patch", "value", "typed_config", "config"]
        for what, docs_, code in [
            ("the WasmPlugin without its buffer filter", [plugin], "L013"),
            ("the buffer filter first", [plugin, changed(buffer, [*patch0, "patch", "operation"], "INSERT_FIRST")], "L014"),
            ("a buffer smaller than max_body_bytes", [plugin, changed(buffer, [*patch0, "patch", "value", "typed_config", "max_request_bytes"], 1024)], "L015"),
            ("FAIL_CLOSE", [changed(plugin, ["spec", "failStrategy"], "FAIL_CLOSE"), buffer], "L011"),
            ("no failStrategy (Istio's default: FAIL_CLOSE)", [changed(plugin, ["spec", "failStrategy"], None), buffer], "L011"),
            ("no header hold in the extension config", [changed(envoyfilter, [*wasm, "allow_on_headers_stop_iteration"], None)], "L016"),
            ("the token's variable not passed to the VM", [changed(envoyfilter, [*wasm, "vm_config", "environment_variables"], None)], "L018"),
            ("the WasmPlugin's env without it", [changed(plugin, ["spec", "vmConfig"], None), buffer], "L018"),
            ("claims trusted before Istio's JWT filter", [changed(changed(plugin, ["spec", "phase"], "AUTHN"),
                                                                   ["spec", "pluginConfig", "token", "trusted_payload_header"], "x-jwt-payload"), buffer], "L017"),
            ("the filter never inserted", [changed(envoyfilter, ["spec", "configPatches"], envoyfilter["spec"]["configPatches"][:1])], "L019"),
        ]:
            with self.subTest(what):
                self.assertIn(code, self.lint(docs_))


class Image(unittest.TestCase):
    """The image through a real registry, fetched back as Istio's fetcher fetches it."""

    @classmethod
    def setUpClass(cls):
        cls.registry = Registry.up()

    def test_istio_fetches_the_module_pinned_by_the_manifest_digest(self):
        for name in ["envoyfilter.yaml", "wasmplugin.yaml"]:
            doc = docs(name)[0]
            if name == "wasmplugin.yaml":
                url, sha = doc["spec"]["url"], doc["spec"]["sha256"]
            else:
                remote = doc["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["config"]["vm_config"]["code"]["remote"]
                url, sha = remote["http_uri"]["uri"], remote["sha256"]
            module, digest = istio_fetcher.fetch(self.registry.here(url), sha)
            self.assertEqual(module, WASM.read_bytes(), name)
            self.assertEqual(digest, sha)
        manifest = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"http://{self.registry.host}/v2/platform/intercom-authz/manifests/{TAG}",
            headers={"Accept": istio_fetcher.OCI_MANIFEST}), timeout=10).read())
        print(f"\nOCI image manifest ({digest}):\n{json.dumps(manifest, indent=1)}")
        self.assertEqual([l["mediaType"] for l in manifest["layers"]], [istio_fetcher.OCI_LAYER])

    def test_another_digest_is_refused(self):
        url = self.registry.here(docs("wasmplugin.yaml")[0]["spec"]["url"])
        with self.assertRaisesRegex(istio_fetcher.FetchError, "does not match"):
            istio_fetcher.fetch(url, "0" * 64)

    def test_the_fetcher_port_refuses_what_istio_refuses(self):
        """Not vacuous: last session's image (an *oci* artifact with one layer) and a compat
        image without plugin.wasm are refused with Istio's words."""
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-bad-image-"))
        try:
            wasm = WASM.read_bytes()
            for tag, layers in [("one-wasm-layer", [(istio_fetcher.WASM_LAYER, wasm)]),
                                ("no-plugin-wasm", [(istio_fetcher.OCI_LAYER, targz("module.wasm", wasm))])]:
                layout = tmp / tag
                oci_layout(layout, tag, layers)
                self.registry.push(f"oci:{layout}:{tag}", "platform/bad", tag)
            with self.assertRaisesRegex(istio_fetcher.FetchError, "number of layers must be 2 but got 1"):
                istio_fetcher.fetch(f"oci://{self.registry.host}/platform/bad:one-wasm-layer", None)
            with self.assertRaisesRegex(istio_fetcher.FetchError, "plugin.wasm not found in the archive"):
                istio_fetcher.fetch(f"oci://{self.registry.host}/platform/bad:no-plugin-wasm", None)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def targz(name, data):
    import gzip
    import io
    import tarfile
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue())


def oci_layout(out, tag, layers):
    """A minimal OCI layout with these (media type, bytes) layers, for the refusals."""
    import hashlib
    (out / "blobs/sha256").mkdir(parents=True)
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        (out / "blobs/sha256" / d).write_bytes(data)
        return {"digest": f"sha256:{d}", "size": len(data)}

    config = dict(mediaType="application/vnd.module.wasm.config.v1+json", **blob(b"{}"))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": istio_fetcher.OCI_MANIFEST, "config": config,
                           "layers": [dict(mediaType=t, **blob(d)) for t, d in layers]}).encode()
    (out / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [dict(
        mediaType=istio_fetcher.OCI_MANIFEST, **blob(manifest), annotations={"org.opencontainers.image.ref.name": tag})]}))


class InEnvoy(unittest.TestCase):
    """What the manifests make of Envoy, run in Envoy, with the module Istio's fetcher got."""

    @classmethod
    def setUpClass(cls):
        cls.registry = Registry.up()
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-istio-envoy-"))
        url = cls.registry.here(docs("wasmplugin.yaml")[0]["spec"]["url"])
        module, _ = istio_fetcher.fetch(url, docs("wasmplugin.yaml")[0]["spec"]["sha256"])
        cls.module = cls.tmp / "plugin.wasm"  # where istio-agent keeps what it fetched
        cls.module.write_bytes(module)
        cls.jwks = cls.tmp / "jwks.json"
        cls.jwks.write_text(json.dumps({"keys": [rsa_jwk((ROOT / "tests/keys/rsa.pub.pem").read_bytes(), "sso-2026")]}))
        cls.up_port = free_port()
        cls.record = cls.tmp / "upstream.jsonl"
        start(["python3", str(ROOT / "tests/mock_intercom.py"), "--port", str(cls.up_port), "--record", str(cls.record),
               "--jwks", str(cls.jwks), "--jwks-path", "/realms/acme/protocol/openid-connect/certs"], cls.tmp / "upstream.log")
        wait_http(f"http://127.0.0.1:{cls.up_port}/contacts")

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("KEEP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def envoy(self, name, http_filters, ecds=None):
        """Envoy with these HTTP filters before the router; the clusters as Istio names them,
        all the mock. Returns the listener's port."""
        port, admin = free_port(), free_port()
        hcm = {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
               "stat_prefix": "istio", "access_log": [decision_log(self.tmp / f"{name}.decisions.jsonl")], "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                   {"match": {"prefix": "/"}, "route": {"cluster": "outbound|443||api.intercom.io"}}]}]},
               "http_filters": [*http_filters, ROUTER]}
        cfg = {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
               "node": {"id": f"router~127.0.0.1~{name}.intercom-egress~intercom-egress.svc.cluster.local", "cluster": "intercom-egress"},
               "static_resources": {
                   "listeners": [{"name": name, "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                                  "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]}],
                   "clusters": [cluster(c, self.up_port) for c in ["outbound|443||api.intercom.io", "outbound|443||sso.example.com"]]}}
        if ecds:
            (self.tmp / f"{name}.ecds.yaml").write_text(yaml.safe_dump({"version_info": "1", "resources": [ecds]}))
        (self.tmp / f"{name}.json").write_text(json.dumps(cfg))
        log = self.tmp / f"{name}.log"
        with open(log, "w") as out:
            p = subprocess.Popen([ENVOY, "-c", str(self.tmp / f"{name}.json"), "--concurrency", "1",
                                  "--base-id", str((os.getpid() + abs(hash(name))) % 50000 + 3300),
                                  "-l", "warning", "--component-log-level", "wasm:info"], stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, env=dict(os.environ, INTERCOM_ACCESS_TOKEN="icm-istio-token"), cwd=self.tmp)
        PROCS.append(p)
        wait_http(f"http://127.0.0.1:{admin}/ready", proc=p, log=log)
        self.log, self.decisions = log, self.tmp / f"{name}.decisions.jsonl"
        return port

    def seen(self):
        """What reached the mock, by x-case-id."""
        time.sleep(0.3)
        got = {}
        for line in self.record.read_text().splitlines() if self.record.exists() else []:
            r = json.loads(line)
            got.setdefault(r["headers"].get("x-case-id"), []).append(r)
        return got

    def assign(self, port, roles, case, first_delay=1.0):
        body = json.dumps({"message_type": "assignment", "admin_id": "7", "assignee_id": "8"}).encode()
        return slow_request(port, "POST", "/conversations/5/parts", dict(
            keycloak(*roles), **{"content-type": "application/json", "x-case-id": case}), [body[:10], body[10:]],
            first_delay=first_delay), body

    # ---- the EnvoyFilter: every feature, no buffer filter -----------------------------------

    def agent_converted(self):
        """The EnvoyFilter's extension config as istio-agent hands it to Envoy
        (pkg/wasm/convert.go rewriteVMConfig): the remote code, once fetched and checked, a
        local file; `ISTIO_META_*` variables stripped."""
        (envoyfilter,) = docs("envoyfilter.yaml")
        ext = copy.deepcopy(envoyfilter["spec"]["configPatches"][0]["patch"]["value"])
        vm = ext["typed_config"]["config"]["vm_config"]
        remote = vm["code"]["remote"]
        module, _ = istio_fetcher.fetch(self.registry.here(remote["http_uri"]["uri"]), remote["sha256"])
        self.assertEqual(module, self.module.read_bytes())
        vm["code"] = {"local": {"filename": str(self.module)}}
        ext["@type"] = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"
        insert = copy.deepcopy(envoyfilter["spec"]["configPatches"][1]["patch"]["value"])
        # No ADS server here: the same resource from a file (what istiod would serve).
        insert["config_discovery"]["config_source"] = {"path_config_source": {"path": str(self.tmp / "full.ecds.yaml")},
                                                        "resource_api_version": "V3", "initial_fetch_timeout": "0s"}
        return ext, insert

    def test_envoyfilter_every_feature_without_a_buffer_filter(self):
        ext, insert = self.agent_converted()
        port = self.envoy("full", [insert], ecds=ext)
        status, h, _ = raw_request(port, "GET", "/contacts/1", dict(keycloak("agent"), **{"x-case-id": "ef-get"}))
        self.assertEqual(status, 200)  # the JWKS fetched through `outbound|443||sso.example.com`
        status, h, _ = raw_request(port, "DELETE", "/contacts/1", keycloak("agent"))
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"))
        (status, h, _, _), _ = self.assign(port, ["tier1", "agent"], "ef-tier1")
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"))
        (status, _, _, _), body = self.assign(port, ["agent"], "ef-agent")
        self.assertEqual(status, 200)
        # Conversation access: 7000001 is admin 7's (the token's sub), 8000001 admin 8's.
        status, _, _ = raw_request(port, "GET", "/conversations/7000001", keycloak("mine"))
        self.assertEqual(status, 200)
        status, h, answer = raw_request(port, "GET", "/conversations/8000001", keycloak("mine"))
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "conversation_not_accessible"))
        self.assertNotIn(b"admin_assignee_id", answer)  # the answer was judged, not passed on
        # A body that never ends: 408, audited.
        status, h, _, _ = slow_request(port, "POST", "/conversations/5/parts", dict(
            keycloak("agent"), **{"content-type": "application/json", "x-case-id": "ef-slow"}), [b'{"message_'],
            first_delay=0.1, length=100, timeout=30)
        self.assertEqual((status, h.get("x-intercom-authz-code")), (408, "body_timeout"))
        got = self.seen()
        for denied in ["ef-tier1", "ef-slow"]:
            self.assertNotIn(denied, got)
        self.assertEqual(got["ef-get"][0]["headers"].get("authorization"), "Bearer icm-istio-token")
        self.assertEqual(got["ef-get"][0]["headers"].get("x-intercom-authz-role"), "agent")
        self.assertEqual(got["ef-agent"][0]["body"], body.decode())
        # An access log is written when the stream ends: for a 408 sent while the client still
        # owes its body, a few seconds after the answer (5 s here); then flushed within 1 s.
        deadline = time.time() + 30
        while "body_timeout" not in self.decisions.read_text() and time.time() < deadline:
            time.sleep(0.2)
        audit = [json.loads(l) for l in self.decisions.read_text().splitlines() if l.startswith("{")]
        self.assertIn("body_timeout", [a["code"] for a in audit])
        timeout = next(a for a in audit if a["code"] == "body_timeout")
        self.assertEqual((timeout["status"], timeout["path"], timeout["role"]), (408, "/conversations/5/parts", "agent"))

    # ---- trusted payload with Istio's RequestAuthentication defaults ---------------------------

    def istio_jwt_authn(self):
        """The jwt_authn filter Istio generates for a RequestAuthentication with
        `outputPayloadToHeader: x-jwt-payload` and its defaults (istio/istio
        pilot/pkg/security/authn/policy_applier.go): the token is not forwarded, the payload is
        recorded in the metadata as `payload`, and a request without a token passes."""
        jwks = json.dumps({"keys": [rsa_jwk((ROOT / "tests/keys/rsa.pub.pem").read_bytes(), "sso-2026")]})
        return {"name": "envoy.filters.http.jwt_authn", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"origins-0": {"issuer": "https://sso.example.com/realms/acme", "forward": False,
                                        "forward_payload_header": "x-jwt-payload", "payload_in_metadata": "payload",
                                        "normalize_payload_in_metadata": {"space_delimited_claims": ["scope", "permission"]},
                                        "local_jwks": {"inline_string": jwks}}},
            "rules": [{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "origins-0"}, {"allow_missing": {}}]}}}],
            "bypass_cors_preflight": True}}

    def trusted_filter(self, **token):
        cfg = {"token": {"trusted_payload_header": "x-jwt-payload", "issuers": ["https://sso.example.com/realms/acme"],
                         "audiences": ["intercom-authz"], "claims": {"role": "realm_access.roles"}, **token},
               "upstream": {"role_header": "x-intercom-authz-role", "intercom_token_env": "INTERCOM_ACCESS_TOKEN"}}
        return {"name": "intercom_authz", "typed_config": {"@type": WASM_TYPE, "config": {
            "name": "intercom_authz", "root_id": "intercom_authz", "failure_policy": "FAIL_RELOAD", "allow_on_headers_stop_iteration": True,
            "vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": str(self.module)}},
                          "environment_variables": {"host_env_keys": ["INTERCOM_ACCESS_TOKEN"]}},
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json.dumps(cfg)}}}}

    def test_trusted_payload_after_istios_jwt_filter_with_its_defaults(self):
        import base64
        forged = base64.urlsafe_b64encode(json.dumps({"iss": "https://sso.example.com/realms/acme", "aud": "intercom-authz", "sub": "1",
                                                      "exp": int(time.time()) + 600, "realm_access": {"roles": ["owner"]}}).encode()).decode().rstrip("=")
        # After Istio's JWT filter (phase AUTHZ), the token not forwarded: the record is the evidence.
        port = self.envoy("trusted", [self.istio_jwt_authn(), self.trusted_filter(trusted_payload_metadata="payload")])
        status, h, _ = raw_request(port, "GET", "/contacts/1", dict(keycloak("agent"), **{"x-case-id": "tp-agent"}))
        self.assertEqual(status, 200)
        status, h, _ = raw_request(port, "DELETE", "/contacts/1", keycloak("agent"))
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"))
        # A client's own claims header: jwt_authn removes it; nothing is left to judge.
        status, h, _ = raw_request(port, "DELETE", "/contacts/1", {"x-jwt-payload": forged, "x-case-id": "tp-forged"})
        self.assertEqual((status, h.get("x-intercom-authz-code")), (401, "missing_token"))
        got = self.seen()
        self.assertEqual(got["tp-agent"][0]["headers"].get("x-intercom-authz-role"), "agent")
        self.assertNotIn("x-jwt-payload", got["tp-agent"][0]["headers"])  # the caller's claims stay here
        self.assertNotIn("tp-forged", got)
        # Without the record as evidence, Istio's defaults refuse every caller, and say why.
        port = self.envoy("trusted-token", [self.istio_jwt_authn(), self.trusted_filter()])
        status, h, body = raw_request(port, "GET", "/contacts/1", keycloak("agent"))
        self.assertEqual((status, h.get("x-intercom-authz-code")), (401, "missing_token"))
        self.assertIn("forwardOriginalToken", json.loads(body)["message"])
        # Before the JWT filter (phase AUTHN), a client's header is refused: no record.
        port = self.envoy("trusted-first", [self.trusted_filter(trusted_payload_metadata="payload"), self.istio_jwt_authn()])
        status, h, body = raw_request(port, "DELETE", "/contacts/1", {"x-jwt-payload": forged, "x-case-id": "tp-first"})
        self.assertEqual((status, h.get("x-intercom-authz-code")), (401, "missing_token"))
        self.assertIn("no JWT filter verified a token before this one", json.loads(body)["message"])
        self.assertNotIn("tp-first", self.seen())

    # ---- the WasmPlugin (body_hold: buffer_filter), wired right and wrong ---------------------

    def wasmplugin_filter(self):
        """The WasmPlugin as Istio turns it into an HTTP filter (its ECDS resource, inline here)."""
        spec = docs("wasmplugin.yaml")[0]["spec"]
        policy = ISTIO_FAIL_STRATEGIES[spec["failStrategy"]]
        return {"name": "intercom-egress.intercom-authz", "typed_config": {
            "@type": WASM_TYPE,
            "config": {"name": "intercom-egress.intercom-authz", "root_id": spec["pluginName"], "failure_policy": policy,
                       "vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": str(self.module)}},
                                     "environment_variables": {"host_env_keys": [e["name"] for e in spec["vmConfig"]["env"]]}},
                       "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                         "value": json.dumps(spec["pluginConfig"])}}}}

    def test_wasmplugin_with_its_buffer_filter(self):
        buffer = docs("wasmplugin.yaml")[1]["spec"]["configPatches"][0]["patch"]["value"]
        port = self.envoy("wasmplugin", [self.wasmplugin_filter(), buffer])
        status, _, _ = raw_request(port, "GET", "/contacts/1", dict(keycloak("agent"), **{"x-case-id": "wp-get"}))
        self.assertEqual(status, 200)
        (status, h, _, _), _ = self.assign(port, ["tier1", "agent"], "wp-tier1")
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"))
        (status, _, _, _), body = self.assign(port, ["agent"], "wp-agent")
        self.assertEqual(status, 200)
        got = self.seen()
        self.assertNotIn("wp-tier1", got)
        self.assertEqual(got["wp-get"][0]["headers"].get("authorization"), "Bearer icm-istio-token")
        self.assertEqual(got["wp-agent"][0]["body"], body.decode())

    def test_wasmplugin_wired_wrong_is_refused_and_no_body_leaks(self):
        buffer = docs("wasmplugin.yaml")[1]["spec"]["configPatches"][0]["patch"]["value"]
        for wiring, filters in [("missing", [self.wasmplugin_filter()]), ("first", [buffer, self.wasmplugin_filter()])]:
            with self.subTest(wiring=wiring):
                port = self.envoy(f"wired-{wiring}", filters)
                (status, h, _, _), _ = self.assign(port, ["tier1", "agent"], f"{wiring}-tier1")
                self.assertEqual((status, h.get("x-intercom-authz-code")), (500, "body_hold_misconfigured"))
                # From then on, refused before the headers go on, even what would be allowed.
                (status, h, _, _), _ = self.assign(port, ["agent"], f"{wiring}-agent", first_delay=0.2)
                self.assertEqual((status, h.get("x-intercom-authz-code")), (500, "body_hold_misconfigured"))
                # What does not depend on a body still works.
                status, _, _ = raw_request(port, "GET", "/contacts/1", dict(keycloak("agent"), **{"x-case-id": f"{wiring}-get"}))
                self.assertEqual(status, 200)
                got = self.seen()
                # The first one's headers went (the router had them): never its body.
                self.assertTrue(all(r["body"] == "" for r in got.get(f"{wiring}-tier1", [])), got.get(f"{wiring}-tier1"))
                self.assertNotIn(f"{wiring}-agent", got)
                self.assertIn("body_hold_misconfigured", self.log.read_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)

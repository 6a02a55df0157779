#!/usr/bin/env python3
"""Istio (`make test-istio`): the shipped `istio/` manifests against Istio's resource models
(PyPI cloudcoil-models-istio, pinned), the Wasm OCI image (`make image`) pushed to a real
registry on loopback (Debian's docker-registry) with skopeo and pulled back byte for byte, and
the WasmPlugin's own pluginConfig run in Envoy wired as Istio wires it: the module from the
pulled image, failStrategy FAIL_CLOSE, phase AUTHZ's place before the router, and the
EnvoyFilter's buffer filter after it."""
import base64
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

from tests.envoy.test_envoy import ENVOY, ROOT, WASM, free_port, raw_request, slow_request, wait_http
from tests.envoy.test_fleet import PROCS, start, tearDownModule, upstream  # noqa: F401 (stops what start() started)

OCI = ROOT / "dist/oci"
TAG = "0.1.0"


def docs():
    """The rendered manifests (`make image`: istio/wasmplugin.yaml with the image filled in)."""
    return list(yaml.safe_load_all((ROOT / "dist/istio/wasmplugin.yaml").read_text()))


def strict(model, doc):
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

    dropped = [p for p in missing(doc, back) if not p.startswith((".spec.pluginConfig", ".spec.configPatches[0].patch.value"))]
    return dropped


def mint(role_names):
    """An RS256 token from the test IdP (tests/keys/rsa.pem, kid sso-2026 in the pluginConfig)."""
    import jwt
    now = int(time.time())
    claims = {"iss": "https://sso.example.com/realms/acme", "aud": "intercom-authz", "sub": "7", "iat": now,
              "exp": now + 600, "realm_access": {"roles": role_names}}
    return jwt.encode(claims, (ROOT / "tests/keys/rsa.pem").read_bytes(), algorithm="RS256", headers={"kid": "sso-2026"})


class Manifests(unittest.TestCase):
    def test_the_template_renders_to_the_image(self):
        template = (ROOT / "istio/wasmplugin.yaml").read_text()
        self.assertIn('url: "@IMAGE@"', template)
        self.assertIn('sha256: "@SHA256@"', template)
        spec = docs()[0]["spec"]
        self.assertRegex(spec["url"], r"^oci://.+/intercom-authz:0\.1\.0$")
        self.assertRegex(spec["sha256"], r"^[0-9a-f]{64}$")

    def test_they_match_istio_resource_schemas(self):
        from cloudcoil.models.istio.extensions.v1alpha1 import WasmPlugin
        from cloudcoil.models.istio.networking.v1alpha3 import EnvoyFilter
        plugin, envoyfilter = docs()
        self.assertEqual(strict(WasmPlugin, plugin), [])
        self.assertEqual(strict(EnvoyFilter, envoyfilter), [])
        spec = plugin["spec"]
        self.assertEqual((spec["phase"], spec["failStrategy"]), ("AUTHZ", "FAIL_CLOSE"))
        # Not vacuous: a wrong phase or fail strategy is refused by the models.
        for bad in [{"phase": "AUTHX"}, {"failStrategy": "FAIL_OPEN_PLEASE"}]:
            with self.assertRaises(Exception):
                WasmPlugin.model_validate(dict(plugin, spec=dict(spec, **bad)))
        self.assertEqual(strict(WasmPlugin, dict(plugin, spec=dict(spec, pluginConfg={}))), [".spec.pluginConfg"])

    def test_the_plugin_config_is_valid_and_matches_the_schema(self):
        import jsonschema
        cfg = docs()[0]["spec"]["pluginConfig"]
        schema = json.loads((ROOT / "envoy/config.schema.json").read_text())
        self.assertEqual([e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(cfg)], [])
        self.assertEqual(cfg["body_hold"], "buffer_filter")  # WasmPlugin has no allow_on_headers_stop_iteration


class Image(unittest.TestCase):
    """The image in a real registry, and the pluginConfig in Envoy the way Istio wires it."""

    @classmethod
    def setUpClass(cls):
        for what, p in [("the image (make image)", OCI / "index.json"), ("docker-registry", pathlib.Path("/usr/bin/docker-registry")),
                        ("skopeo", pathlib.Path("/usr/bin/skopeo"))]:
            if not p.exists():
                raise AssertionError(f"{what} is missing: {p}")
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-istio-"))
        cls.registry = f"127.0.0.1:{free_port()}"
        (cls.tmp / "registry.yml").write_text(yaml.safe_dump({
            "version": 0.1, "storage": {"filesystem": {"rootdirectory": str(cls.tmp / "registry")}},
            "http": {"addr": cls.registry}}))
        start(["docker-registry", "serve", str(cls.tmp / "registry.yml")], cls.tmp / "registry.log")
        wait_http(f"http://{cls.registry}/v2/")
        cls.ref = f"docker://{cls.registry}/platform/intercom-authz:{TAG}"
        cls.skopeo("copy", "--dest-tls-verify=false", f"oci:{OCI}:{TAG}", cls.ref)
        cls.pulled = cls.tmp / "pulled"
        cls.skopeo("copy", "--src-tls-verify=false", cls.ref, f"oci:{cls.pulled}:{TAG}")
        # The registry's own word on what it holds (the distribution API), not skopeo's.
        req = urllib.request.Request(f"http://{cls.registry}/v2/platform/intercom-authz/manifests/{TAG}",
                                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            cls.digest = r.headers["Docker-Content-Digest"]
            cls.manifest = json.loads(r.read())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @staticmethod
    def skopeo(*args):
        r = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"skopeo {' '.join(args)}: {r.stderr}")
        return r.stdout

    def layer(self):
        (layer,) = self.manifest["layers"]
        return layer, (self.pulled / "blobs/sha256" / layer["digest"].split(":")[1]).read_bytes()

    def test_pushed_and_pulled_back_byte_for_byte(self):
        layer, module = self.layer()
        self.assertEqual(layer["mediaType"], "application/vnd.module.wasm.content.layer.v1+wasm")
        self.assertEqual(self.manifest["config"]["mediaType"], "application/vnd.module.wasm.config.v1+json")
        self.assertEqual(module, WASM.read_bytes())
        index = json.loads((OCI / "index.json").read_text())
        self.assertEqual(self.digest, index["manifests"][0]["digest"])  # the digest make image printed
        self.assertEqual(docs()[0]["spec"]["sha256"], self.digest.split(":")[1])  # and pinned in the WasmPlugin
        print(f"\nOCI image: manifest {self.digest}, module layer {layer['size']} bytes")

    def test_the_plugin_config_in_envoy_as_istio_wires_it(self):
        _, module = self.layer()
        spec = docs()[0]["spec"]
        buffer = docs()[1]["spec"]["configPatches"][0]["patch"]["value"]
        (self.tmp / "plugin.wasm").write_bytes(module)
        up_port, port, admin = free_port(), free_port(), free_port()
        record = upstream(up_port)
        wasm = {"name": "intercom_authz", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {"name": "intercom-authz", "root_id": spec["pluginName"],
                       "failure_policy": {"FAIL_CLOSE": "FAIL_CLOSED"}[spec["failStrategy"]],
                       "vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": str(self.tmp / "plugin.wasm")}},
                                     "environment_variables": {"host_env_keys": [e["name"] for e in spec["vmConfig"]["env"]]}},
                       "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                         "value": json.dumps(spec["pluginConfig"])}}}}
        hcm = {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
               "stat_prefix": "istio", "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                   {"match": {"prefix": "/"}, "route": {"cluster": "intercom"}}]}]},
               "http_filters": [wasm, buffer, {"name": "envoy.filters.http.router", "typed_config": {
                   "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}
        cfg = {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
               "static_resources": {
                   "listeners": [{"name": "istio", "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                                  "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]}],
                   "clusters": [{"name": "intercom", "type": "STATIC", "connect_timeout": "1s", "load_assignment": {
                       "cluster_name": "intercom", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                           "socket_address": {"address": "127.0.0.1", "port_value": up_port}}}}]}]}}]}}
        (self.tmp / "envoy.json").write_text(json.dumps(cfg))
        log = self.tmp / "envoy.log"
        env = dict(os.environ, INTERCOM_ACCESS_TOKEN="icm-istio-token")
        with open(log, "w") as out:
            p = subprocess.Popen([ENVOY, "-c", str(self.tmp / "envoy.json"), "--concurrency", "1", "--base-id", str(os.getpid() % 50000 + 3200),
                                  "-l", "warning", "--component-log-level", "wasm:info"], stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, env=env)
        PROCS.append(p)
        wait_http(f"http://127.0.0.1:{admin}/ready", proc=p, log=log)
        keycloak = lambda *roles: {"authorization": f"Bearer {mint(['offline_access', 'default-roles-acme', *roles])}"}
        status, h, _ = raw_request(port, "GET", "/contacts/1", dict(keycloak("agent"), **{"x-case-id": "istio-get"}))
        self.assertEqual(status, 200)
        status, h, _ = raw_request(port, "DELETE", "/contacts/1", keycloak("agent"))
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"))
        # A body-dependent request, its body a second late: judged with the buffer filter.
        body = json.dumps({"message_type": "assignment", "admin_id": "7", "assignee_id": "8"}).encode()
        post = lambda roles, case: slow_request(port, "POST", "/conversations/5/parts", dict(
            keycloak(*roles), **{"content-type": "application/json", "x-case-id": case}), [body[:10], body[10:]])
        status, h, _, _ = post(["tier1", "agent"], "istio-tier1")
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"))
        status, _, _, _ = post(["agent"], "istio-agent")
        self.assertEqual(status, 200)
        time.sleep(0.3)
        got = {}
        for line in record.read_text().splitlines():
            r = json.loads(line)
            got.setdefault(r["headers"].get("x-case-id"), []).append(r)
        self.assertNotIn("istio-tier1", got)
        self.assertEqual(got["istio-get"][0]["headers"].get("authorization"), "Bearer icm-istio-token")
        self.assertEqual(got["istio-get"][0]["headers"].get("x-intercom-authz-role"), "agent")
        self.assertEqual(got["istio-agent"][0]["body"], body.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)

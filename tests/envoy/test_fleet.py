#!/usr/bin/env python3
"""intercom-authz run the way fleets run Envoy (`make test-envoy`), in real Envoy on loopback:

- **ECDS**: two Envoys read the filter's configuration from one discovery source, the shipped
  `envoy/ecds/` example (`path_config_source`: a real xDS source, no control plane). Under
  continuous traffic a good update is in force in both within seconds, with no request dropped
  or judged by a mix of policies; a bad update is refused by both (Envoy's `config_fail`
  counter and the filter's log line), and the previous policy keeps serving.
- **The module by digest**: `vm_config.code.remote` fetches `intercom_authz.wasm` over HTTP
  with its `sha256`; a tampered module is refused and the listener stays fail-closed.

Every process is started here and stopped by PID.
"""
import hashlib
import http.server
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import yaml

from tests.envoy.test_envoy import ENVOY, ROOT, WASM, free_port, mint, raw_request, wait_http
from tests.envoy.test_envoy import listener as envoy_listener

PROCS = []
DEFAULT = json.loads((ROOT / "tests/configs/default.json").read_text())


def start(cmd, log):
    with open(log, "w") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    PROCS.append(p)
    return p


def tearDownModule():
    for p in PROCS:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in PROCS:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def run_envoy(cfg, tmp, name, base_id, log_levels="wasm:info"):
    """Writes the bootstrap `cfg` to tmp/<name>.json, starts Envoy on it (stopped by
    tearDownModule) and waits until it is ready. Returns its log file."""
    path, log = tmp / f"{name}.json", tmp / f"{name}.log"
    path.write_text(json.dumps(cfg))
    p = start([ENVOY, "-c", str(path), "--concurrency", "1", "--base-id", str(os.getpid() % 50000 + base_id),
               "-l", "warning", "--component-log-level", log_levels], log)
    admin = cfg["admin"]["address"]["socket_address"]["port_value"]
    wait_http(f"http://127.0.0.1:{admin}/ready", proc=p, log=log)
    return log


def stat(admin_port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/stats?filter={name}", timeout=5) as r:
        for line in r.read().decode().splitlines():
            k, _, v = line.partition(": ")
            if k == name:
                return int(v)
    return None


def upstream(port):
    """The mock Intercom, recording what reaches it."""
    record = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-fleet-")) / "upstream.jsonl"
    start([sys.executable, str(ROOT / "tests/mock_intercom.py"), "--port", str(port), "--record", str(record)],
          record.parent / "upstream.log")
    wait_http(f"http://127.0.0.1:{port}/contacts")
    return record


def shipped_ecds_bootstrap(admin, port, source, upstream_port):
    """The shipped `envoy/ecds/envoy.yaml` on these ports, reading the resource at `source`."""
    cfg = yaml.safe_load((ROOT / "envoy/ecds/envoy.yaml").read_text())
    cfg["admin"]["address"]["socket_address"]["port_value"] = admin
    listener = cfg["static_resources"]["listeners"][0]
    listener["address"]["socket_address"]["port_value"] = port
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"][0]["config_discovery"]["config_source"]["path_config_source"]["path"] = str(source)
    cluster = cfg["static_resources"]["clusters"][0]
    cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"] = upstream_port
    return cfg


def stage_ecds_resource(source, version, config):
    """Version `version` of the shipped ECDS resource with this plugin configuration, written
    next to `source`; returns the staged file (`os.replace` it over `source`: what `mv` does,
    Envoy sees one whole new file)."""
    doc = yaml.safe_load((ROOT / "envoy/ecds/intercom_authz.ecds.yaml").read_text())
    doc["version_info"] = str(version)
    plugin = doc["resources"][0]["typed_config"]["config"]
    plugin["vm_config"]["code"]["local"]["filename"] = str(WASM)
    plugin["configuration"]["value"] = json.dumps(config)
    staged = source.with_suffix(".new")
    staged.write_text(yaml.safe_dump(doc))
    return staged


class Ecds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-ecds-"))
        cls.source = cls.tmp / "intercom_authz.ecds.yaml"
        cls.version = 0
        cls.publish({})
        upstream_port = free_port()
        cls.record = upstream(upstream_port)
        cls.envoys = []
        for i in range(2):
            admin, port = free_port(), free_port()
            cfg = shipped_ecds_bootstrap(admin, port, cls.source, upstream_port)
            log = run_envoy(cfg, cls.tmp, f"envoy{i}", 3000 + i, log_levels="wasm:info,config:info")
            cls.envoys.append({"admin": admin, "port": port, "log": log})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def publish(cls, policy):
        """A new version of the shipped ECDS resource with this policy, replaced atomically."""
        cls.version += 1
        os.replace(stage_ecds_resource(cls.source, cls.version, dict(DEFAULT, policy=policy)), cls.source)
        return time.monotonic()

    def traffic(self, seconds, until=None):
        """DELETE /contacts/1 as an agent to both Envoys in turn, for `seconds` (or until
        `until(results)`); every answer as (time, envoy, status, code)."""
        token = mint({"role": "agent"})
        results, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            for i, e in enumerate(self.envoys):
                try:
                    status, h, _ = raw_request(e["port"], "DELETE", "/contacts/1", {"authorization": f"Bearer {token}"}, timeout=5)
                    results.append((time.monotonic(), i, status, h.get("x-intercom-authz-code")))
                except OSError as err:
                    results.append((time.monotonic(), i, 0, repr(err)))
            if until and until(results):
                break
            time.sleep(0.02)
        return results

    def test_updates_propagate_and_a_bad_one_is_refused_by_both(self):
        # Policy 1 (the default): an agent may not delete contacts.
        before = self.traffic(1)
        self.assertTrue(before and all(r[2] == 403 for r in before), before[-5:])

        # Policy 2: agents may. Both Envoys switch, each exactly once, nothing dropped.
        t = self.publish({"roles": {"agent": {"grant": ["contacts:delete"]}}})
        both = lambda rs: {i for (_, i, s, _) in rs[-4:] if s == 200} == {0, 1}
        during = self.traffic(15, until=both) + self.traffic(1)
        self.assertTrue(all(r[2] in (200, 403) for r in during), [r for r in during if r[2] not in (200, 403)])
        first = {}
        for when, i, status, _ in during:
            if status == 200:
                first.setdefault(i, when)
            elif i in first:
                self.fail(f"envoy {i} judged by the old policy after the new one: {during}")
        self.assertEqual(set(first), {0, 1}, "the update never reached both Envoys")
        took = max(first.values()) - t
        self.assertLess(took, 5)
        print(f"\nECDS propagation to both Envoys: {took:.2f} s ({len(during)} requests during the update, none dropped)")

        # Policy 3 is broken (a typo in a permission): refused by both, policy 2 keeps serving.
        fails = [stat(e["admin"], "extension_config_discovery.http_filter.intercom_authz.config_fail") or 0 for e in self.envoys]
        self.publish({"roles": {"agent": {"grant": ["contacts:delet"]}}})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now = [stat(e["admin"], "extension_config_discovery.http_filter.intercom_authz.config_fail") or 0 for e in self.envoys]
            if all(n > f for n, f in zip(now, fails)):
                break
            time.sleep(0.1)
        self.assertTrue(all(n > f for n, f in zip(now, fails)), f"config_fail {fails} -> {now}")
        after = self.traffic(1.5)
        self.assertTrue(after and all(r[2] == 200 for r in after), after[-5:])
        for e in self.envoys:
            self.assertIn("refusing configuration: invalid policy: unknown permission `contacts:delet`", e["log"].read_text())


class ModuleHandler(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    modules = {}
    fetched = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.headers.get("host", "").split(":")[0] != "modules.internal":
            self.send_error(421)
            return
        body = self.modules.get(self.path)
        self.fetched.append(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "application/wasm")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RemoteModule(unittest.TestCase):
    """`vm_config.code.remote`: the module fetched over HTTP and pinned by `sha256`."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-remote-"))
        good = WASM.read_bytes()
        # Tampered, yet a valid module (a custom section appended): only the digest tells.
        tampered = good + b"\x00\x09\x08tampered"
        ModuleHandler.modules = {"/intercom_authz.wasm": good, "/tampered.wasm": tampered}
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModuleHandler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        upstream_port = free_port()
        cls.record = upstream(upstream_port)
        sha = hashlib.sha256(good).hexdigest()
        cls.ports = {"good": free_port(), "tampered": free_port(), "tampered_own_digest": free_port()}
        listeners = [cls.listener("good", "/intercom_authz.wasm", sha), cls.listener("tampered", "/tampered.wasm", sha),
                     # The same tampered bytes under their own digest load: so the refusal above
                     # is the digest's doing, not a broken module.
                     cls.listener("tampered_own_digest", "/tampered.wasm", hashlib.sha256(tampered).hexdigest())]
        cls.admin = free_port()
        cfg = {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": cls.admin}}},
               "static_resources": {"listeners": listeners, "clusters": [
                   cls.cluster("modules", cls.server.server_address[1]), cls.cluster("upstream", upstream_port)]}}
        cls.log = run_envoy(cfg, cls.tmp, "envoy", 3100)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @staticmethod
    def cluster(name, port):
        return {"name": name, "type": "STATIC", "connect_timeout": "1s", "load_assignment": {"cluster_name": name, "endpoints": [
            {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}}

    @classmethod
    def listener(cls, name, path, sha):
        code = {"remote": {"http_uri": {"uri": f"http://modules.internal{path}", "cluster": "modules", "timeout": "5s"},
                           "sha256": sha, "retry_policy": {"num_retries": 3}}}
        return envoy_listener(name, cls.ports[name], DEFAULT, failure_policy="FAIL_CLOSED", code=code)

    def send(self, which, method, path, case):
        return raw_request(self.ports[which], method, path, {"authorization": f"Bearer {mint({'role': 'agent'})}", "x-case-id": case})

    def judged(self, which):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the fetch is asynchronous
            status, h, _ = self.send(which, "DELETE", "/contacts/1", f"remote-{which}-delete")
            if h.get("x-intercom-authz-code"):
                break
            time.sleep(0.2)
        self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"), which)
        self.assertEqual(self.send(which, "GET", "/contacts/1", f"remote-{which}-get")[0], 200)

    def test_the_pinned_module_judges(self):
        self.judged("good")
        self.judged("tampered_own_digest")
        self.assertIn("/intercom_authz.wasm", ModuleHandler.fetched)

    def test_a_tampered_module_is_refused_and_nothing_passes(self):
        time.sleep(1)
        for _ in range(5):
            status, h, _ = self.send("tampered", "GET", "/contacts/1", "remote-tampered")
            self.assertNotEqual(status, 200)
            self.assertIsNone(h.get("x-intercom-authz-code"))  # no intercom-authz VM answered
        self.assertIn("/tampered.wasm", ModuleHandler.fetched)
        time.sleep(0.3)
        received = [json.loads(l) for l in self.record.read_text().splitlines() if l.strip()] if self.record.exists() else []
        self.assertEqual([r for r in received if r["headers"].get("x-case-id") == "remote-tampered"], [])
        log = self.log.read_text()
        self.assertIn("failed to load (in progress) from http://modules.internal/tampered.wasm", log)
        self.assertIn("Plugin tampered failed to load", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)

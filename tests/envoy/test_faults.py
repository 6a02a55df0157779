#!/usr/bin/env python3
"""Faults of what the filter depends on, in real Envoy (`make test-envoy`): the JWKS endpoint
slow, answering garbage or an oversized document; the upstream down or resetting connections.
For each: the status the client gets, that nothing denied reaches the upstream, and that
service recovers when the fault ends. (Traps, bad configuration updates, bodies over the
limit or never ending are in test_envoy.py and test_fleet.py.)"""
import http.server
import json
import pathlib
import shutil
import socket
import tempfile
import threading
import time
import unittest

from tests.envoy.test_envoy import ROOT, bootstrap, cluster, free_port, listener, mint, raw_request, rsa_jwk
from tests.envoy.test_fleet import run_envoy, tearDownModule, upstream  # noqa: F401 (stops what run_envoy started)

JWKS = json.dumps({"keys": [rsa_jwk((ROOT / "tests/keys/rsa.pub.pem").read_bytes(), "remote-rs")]}).encode()


class Jwks(http.server.BaseHTTPRequestHandler):
    """A JWKS endpoint whose behaviour the test switches: ok, slow, garbage, huge."""
    disable_nagle_algorithm = True
    mode = "ok"

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = {"ok": JWKS, "garbage": b"<html>502 Bad Gateway</html>", "huge": b'{"keys":[' + b" " * 200_000 + b"]}",
                # An Ed25519 key of 15 bytes: jsonwebtoken panicked on it (a trapped VM at
                # every refresh) until fuzz/config found it.
                "short-ed25519": b'{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","x":"tyEAGYi6fJKN6ox-I-VQ"}]}'}.get(self.mode, JWKS)
        if self.mode == "slow":
            time.sleep(3)
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass


class Resetter:
    """An upstream that accepts connections and closes them at once (a crashing backend)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()


def mint_rs(role):
    import jwt
    now = int(time.time())
    return jwt.encode({"role": role, "sub": "admin-9", "iat": now, "exp": now + 600}, (ROOT / "tests/keys/rsa.pem").read_bytes(),
                      algorithm="RS256", headers={"kid": "remote-rs"})


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-faults-"))
        cls.jwks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        threading.Thread(target=cls.jwks.serve_forever, daemon=True).start()
        cls.resetter = Resetter()
        cls.up_port = free_port()
        cls.record = upstream(cls.up_port)
        default = json.loads((ROOT / "tests/configs/default.json").read_text())
        remote = {"token": {}, "remote_jwks": {"cluster": "jwks", "path": "/jwks", "refresh_secs": 1, "retry_secs": 1,
                                                "timeout_ms": 1000, "max_bytes": 65536}}
        cls.ports = {k: free_port() for k in ["remote", "down", "resetting"]}
        listeners = [listener("remote", cls.ports["remote"], remote),
                     listener("down", cls.ports["down"], default), listener("resetting", cls.ports["resetting"], default)]
        # Each listener routes to its own upstream: the mock, a closed port, the resetter.
        for l, target in zip(listeners, ["upstream", "down", "resetting"]):
            hcm = l["filter_chains"][0]["filters"][0]["typed_config"]
            hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]["cluster"] = target
        cls.down_port = free_port()
        clusters = [cluster("upstream", cls.up_port), cluster("jwks", cls.jwks.server_address[1]),
                    cluster("down", cls.down_port), cluster("resetting", cls.resetter.port)]
        cls.admin = free_port()
        cls.log = run_envoy(bootstrap(cls.admin, listeners, clusters), cls.tmp, "envoy", 5000)

    @classmethod
    def tearDownClass(cls):
        cls.jwks.shutdown()
        cls.resetter.sock.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def send(self, which, method, path, token, case):
        return raw_request(self.ports[which], method, path, {"authorization": f"Bearer {token}", "x-case-id": case})

    def received(self, case):
        lines = self.record.read_text().splitlines() if self.record.exists() else []
        return [l for l in lines if json.loads(l)["headers"].get("x-case-id") == case]

    def until(self, what, check, seconds=10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            time.sleep(0.2)
        self.fail(f"{what} within {seconds} s")

    def test_jwks_slow_garbage_or_huge_keeps_the_last_good_keys_then_recovers(self):
        tok = mint_rs("agent")
        self.until("keys fetched", lambda: self.send("remote", "GET", "/contacts/1", tok, "jwks-ok")[0] == 200)
        table = []
        reasons = {"slow": "JWKS fetch from cluster `jwks` failed: status", "garbage": "the JWKS is not JSON", "huge": "more than `max_bytes` 65536",
                   "short-ed25519": "an Ed25519 public key is 32 bytes"}
        for mode in ["slow", "garbage", "huge", "short-ed25519"]:
            before = len(self.log.read_text())
            Jwks.mode = mode
            self.until(f"a failed refresh ({mode})", lambda: reasons[mode] in self.log.read_text()[before:])
            status, h, _ = self.send("remote", "GET", "/contacts/1", tok, f"jwks-{mode}")
            # Stale but good keys keep serving; the denial is still a denial.
            self.assertEqual(status, 200, mode)
            status, h, _ = self.send("remote", "DELETE", "/contacts/1", tok, f"jwks-{mode}-deny")
            self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"), mode)
            self.assertEqual(self.received(f"jwks-{mode}-deny"), [])
            table.append(f"JWKS {mode}: 200 with the last good keys, denials 403")
        log = self.log.read_text()
        self.assertIn("JWKS fetch from cluster `jwks` failed", log)
        Jwks.mode = "ok"
        self.until("a good fetch again", lambda: "loaded 1 key(s)" in self.log.read_text()[len(log):])
        print("\n" + "\n".join(table))

    def test_upstream_down_or_resetting_is_envoy_s_503_and_denials_stay_403(self):
        tok = mint({"role": "agent"})  # hs1, as tests/configs/default.json expects
        for which in ["down", "resetting"]:
            status, h, _ = self.send(which, "GET", "/contacts/1", tok, f"{which}-allow")
            self.assertEqual(status, 503, which)  # Envoy's answer: no filter code
            self.assertIsNone(h.get("x-intercom-authz-code"))
            status, h, _ = self.send(which, "DELETE", "/contacts/1", tok, f"{which}-deny")
            self.assertEqual((status, h.get("x-intercom-authz-code")), (403, "missing_permission"), which)
        # The fault ends: the service at the closed port comes up, and the same Envoy serves.
        rec = upstream(self.down_port)
        status, _, _ = self.until("recovery", lambda: (lambda r: r if r[0] == 200 else None)(
            self.send("down", "GET", "/contacts/1", tok, "down-recovered")))
        self.assertEqual(status, 200)
        self.assertTrue(rec.exists())


if __name__ == "__main__":
    unittest.main(verbosity=2)

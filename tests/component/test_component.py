#!/usr/bin/env python3
"""The WebAssembly component (`dist/intercom_authz.component.wasm`, world `wit/intercom-authz.wit`)
in PyPI `wasmtime`: the whole decision corpus, identical decisions (and deny bodies, byte for
byte) to the core; a bad configuration or a caller's mistake is the `result`'s error string,
not a trap. Run by `make test-component`."""
import json
import pathlib
import re
import time
import unittest

from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record, ResourceAny

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "dist/intercom_authz.component.wasm"
CORPUS = ROOT / "target/tmp/corpus.json"
GENERATED = ROOT / "target/tmp/generated.json"


class Host:
    def __init__(self):
        for what, p in [("the component (make component)", COMPONENT), ("the corpus (cargo test --test decisions)", CORPUS),
                          ("the differential corpus (cargo test --test differential)", GENERATED)]:
            if not p.exists():
                raise AssertionError(f"{what} is missing: {p}")
        self.engine = Engine()
        self.component = Component.from_file(self.engine, str(COMPONENT))
        linker = Linker(self.engine)
        linker.add_wasip2()
        self.store = Store(self.engine)
        self.store.set_wasi(WasiConfig())
        self.instance = linker.instantiate(self.store, self.component)
        iface = self.instance.get_export_index(self.store, "intercom:authz/authz@0.1.0")
        get = lambda name: self.instance.get_func(self.store, self.instance.get_export_index(self.store, name, iface))
        self._create = get("[static]authorizer.create")
        self._authorize = get("[method]authorizer.authorize")
        self._judge = get("[method]authorizer.judge-response")
        self._header = get("[method]authorizer.credential-header")

    def call(self, f, *args):
        out = f(self.store, *args)
        f.post_return(self.store)
        return out

    def create(self, config_json):
        return self.call(self._create, config_json)

    def authorize(self, authz, **fields):
        """The decision's fields, or the error string."""
        out = self.authorize_record(authz, **fields)
        return out if isinstance(out, str) else out.__dict__

    def authorize_record(self, authz, **fields):
        """The decision record (to hand back to `judge-response`), or the error string."""
        defaults = {"method": "GET", "path": "/", "headers": None, "body": None, "token": None, "claims-json": None,
                    "source-ip": None, "now": None, "request-id": None, "lookup": None,
                    "forwards-body": None}
        defaults.update(fields)
        return self.call(self._authorize, authz, record(**defaults))

    def judge_response(self, authz, decision, **fields):
        """The verdict (`Variant`: `pass`, `redact` with the body, `deny` with a decision)."""
        defaults = {"status": 200, "content-type": None, "content-encoding": None, "body": b"", "request-id": None}
        defaults.update(fields)
        return self.call(self._judge, authz, decision, record(**defaults))

    def run_case(self, authz, c, **request):
        """A conversation-access case in two steps (tests/decisions.rs): the lookup's answer when
        the first decision is `need_lookup`, then the upstream response through `judge-response`.
        The final decision record, what the client gets (status, body) and how many were redacted."""
        d = self.authorize_record(authz, **request)
        up = c.get("upstream") or {}
        if isinstance(d, str):
            return d, None, 0
        if d.code == "need_lookup" and up.get("lookup"):
            lk = up["lookup"]
            answer = record(status=None if lk.get("timeout") else lk["status"], body=lk.get("raw_body", "").encode())
            d = self.authorize_record(authz, **request, lookup=answer)
        r = up.get("response")
        if not d.allow or r is None:
            return d, None, 0
        body = r.get("raw_body", "").encode()
        v = self.judge_response(authz, d, status=r["status"], body=body, **{
            "content-type": r.get("content_type"), "content-encoding": r.get("content_encoding"),
            "request-id": request.get("request-id")})
        if v.tag == "deny":
            return v.payload, None, 0
        if v.tag == "redact":
            return d, (r["status"], bytes(v.payload.body)), v.payload.count
        return d, (r["status"], body), 0


def record(**fields):
    r = Record()
    for k, v in fields.items():
        setattr(r, k, v)
    return r


def header(name, value):
    return record(name=name, value=value)


def response_diffs(c, d, response, redacted):
    """The response half of a conversation-access case (tests/decisions.rs: check_response)."""
    e, diffs = c["expect"], []
    if e.get("response") is not None:
        if response is None:
            diffs.append(f"no response (want {e['response']['status']})")
        else:
            try:
                got = json.loads(response[1])
            except ValueError:
                got = response[1].decode("utf-8", "replace")
            if response[0] != e["response"]["status"] or got != e["response"]["body"]:
                diffs.append(f"response {response[0]} {response[1]!r}")
    if e.get("redacted") is not None and e["redacted"] != redacted:
        diffs.append(f"redacted {redacted} (want {e['redacted']})")
    if e.get("looked_up") is not None and e["looked_up"] != d["looked-up"]:
        diffs.append(f"looked-up {d['looked-up']}")
    sent = d.get("forward-body")
    if (json.loads(sent) if sent is not None else None) != e.get("forward_body"):
        diffs.append(f"forward-body {sent}")
    return diffs


class Component_(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = Host()

    def test_the_whole_corpus(self):
        self.replay(CORPUS, min_cases=500, lower_case=range(1, 10))

    def test_the_differential_corpus(self):
        """Random policies and requests with the core's decisions (`cargo test --test differential`)."""
        self.replay(GENERATED, min_cases=1000, lower_case=range(0, 1))

    def replay(self, path, min_cases, lower_case):
        corpus = json.loads(path.read_text())
        authz = {}
        for name, cfg in corpus["configs"].items():
            a = self.host.create(json.dumps(cfg))
            self.assertIsInstance(a, ResourceAny, f"{name}: {a}")
            authz[name] = a
        failures = []
        refused = 0
        for i, c in enumerate(corpus["cases"]):
            d, response, redacted = self.host.run_case(
                authz[c["config"]], c, method=c["method"], path=c["path"], **{"forwards-body": True},
                headers=[header(k, v) for k, v in c["headers"].items()],
                body=c["body"].encode("latin-1" if c.get("latin1") else "utf-8") if c["body"] is not None else None,
                **{"source-ip": c["source_ip"], "now": corpus["now"], "request-id": f"case-{i}"})
            if re.search("[a-z]", c["method"]):
                # From the wire the filter judges it; from a host's code it is a named mistake.
                self.assertIsInstance(d, str, c["description"])
                self.assertIn("is not upper case", d)
                refused += 1
                continue
            d = d.__dict__
            e = c["expect"]
            diffs = response_diffs(c, d, response, redacted)
            if ("allow" if d["allow"] else "deny") != e["decision"]:
                diffs.append(f"decision {d['allow']}")
            if d["status"] != e["status"] or d["code"] != e["code"]:
                diffs.append(f"{d['status']} {d['code']}")
            for k, w in [("required", "required"), ("route", "route"), ("canonical_path", "canonical-path"), ("role", "role")]:
                if e.get(k) is not None and d[w] != e[k]:
                    diffs.append(f"{w} {d[w]!r}")
            if not d["allow"] and d["deny-body"] != c["deny_body"]:
                diffs.append(f"deny body {d['deny-body']} (the core's {c['deny_body']})")
            if (d["status"] == 401) != (d["www-authenticate"] is not None):
                diffs.append("www-authenticate")
            if diffs:
                failures.append(f"{c['file']} / {c['description']}: {', '.join(diffs)} (want {e['status']} {e['code']})")
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertGreaterEqual(len(corpus["cases"]), min_cases)
        self.assertIn(refused, lower_case)

    def test_a_bad_configuration_is_the_error_string(self):
        for cfg, want in [
            ('{"polcy": {}}', "invalid configuration at `polcy`: unknown field `polcy`"),
            ("{not json", "invalid configuration: key must be a string"),
            ('{"policy": {"roles": {"t": {"extends": "agnet"}}}, "token": {"trusted_payload_header": "x"}}',
             "invalid policy: unknown role `agnet` extended by role `t` (did you mean `agent`?)"),
            ('{"token": {"issuers": ["x"]}, "remote_jwks": {"cluster": "jwks", "path": "/jwks"}}',
             "invalid configuration: `remote_jwks` is not available in the component"),
        ]:
            got = self.host.create(cfg)
            self.assertNotIsInstance(got, ResourceAny)
            self.assertTrue(str(got).startswith(want), got)
        # The instance still works after errors: no trap happened.
        a = self.host.create('{"token": {"trusted_payload_header": "x"}}')
        d = self.host.authorize(a, method="GET", path="/contacts", **{"claims-json": '{"role":"agent","exp":4102444800}'})
        self.assertTrue(d["allow"])
        d = self.host.authorize(a, method="GET", path="/contacts", **{"claims-json": "[not an object"})
        self.assertTrue(d.startswith("invalid request: `claims-json` is not a JSON object"), d)

    def test_claims_only_and_optional_headers(self):
        a = self.host.create('{"policy": {}}')
        self.assertIsInstance(a, ResourceAny, a)
        d = self.host.authorize(a, method="DELETE", path="/contacts/7", **{"claims-json": '{"role":"owner"}'})
        self.assertEqual(d["code"], "allowed")
        # A token cannot verify here: no key is configured.
        d = self.host.authorize(a, method="GET", path="/contacts", headers=[header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")])
        self.assertEqual((d["status"], d["code"]), (401, "unknown_key"), d)
        # Headers omitted: no credential.
        d = self.host.authorize(a, method="GET", path="/contacts")
        self.assertEqual((d["code"], d["message"]), ("missing_token", "A bearer token is required"))
        # An empty list (what jco makes of a plain object): the message says so, the deny body
        # stays the same bytes as everywhere.
        e = self.host.authorize(a, method="GET", path="/contacts", headers=[])
        self.assertIn("no headers were passed", e["message"])
        self.assertEqual(e["deny-body"], d["deny-body"])
        # Short HMAC secrets are refused at create.
        got = self.host.create('{"token": {"keys": [{"kid": "k", "alg": "HS256", "secret": "0123456789"}]}}')
        self.assertEqual(got, "invalid token settings: key `k` has a 10-byte secret; `HS256` needs at least 32 bytes (RFC 7518 §3.2)")


if __name__ == "__main__":
    unittest.main(verbosity=2)

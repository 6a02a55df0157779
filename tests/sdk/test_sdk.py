#!/usr/bin/env python3
"""Intercom's official Python SDK (PyPI `python-intercom`, pinned) through Envoy + intercom-authz
to a mock of Intercom's own spec (npm `@stoplight/prism-cli`, pinned, serving
`tests/sdk/intercom-2.16-sdk.yaml`), as every built-in role and a custom role, for 24 SDK calls.

The SDK is given the employee's JWT as its token; the filter swaps in the workspace's Intercom
token. What each call needs is written here by hand (what an auditor would say), and whether a
role has it is read from the README's generated role table: the statuses must match it, call
by call. Run by `make test-sdk` (part of `make test`); prints the role x call table.
"""
import json
import os
import pathlib
import re
import sys
import time
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/envoy"))
import test_envoy as t  # noqa: E402  (the harness: processes, Envoy config, tokens)

PRISM = ROOT / "tests/node/node_modules/.bin/prism"
SPEC = ROOT / "tests/sdk/intercom-2.16-sdk.yaml"
CONTACT = "6657a8ed6abd0160d35d1f35"
ROLES = ["owner", "admin", "restricted", "agent", "observer", "tier1"]
# A custom role: an agent who may not assign, but may manage tags.
TIER1 = {"extends": "agent", "revoke": ["conversations:assign"], "grant": ["tags:manage"]}


def calls():
    """(name, the permission it needs, the call)."""
    import intercom as ic
    from intercom.conversations import ConversationsManageRequestBody_Assignment, ConversationsManageRequestBody_Close
    return [
        ("admins.list", "admins:read", lambda c: c.admins.list()),
        ("teams.list", "teams:read", lambda c: c.teams.list()),
        ("segments.list", "segments:read", lambda c: c.segments.list()),
        ("articles.list", "articles:read", lambda c: c.articles.list()),
        ("companies.list", "companies:read", lambda c: c.companies.list()),
        ("contacts.list", "contacts:read", lambda c: c.contacts.list()),
        ("contacts.find", "contacts:read", lambda c: c.contacts.find(CONTACT)),
        ("contacts.search", "contacts:read", lambda c: c.contacts.search(
            query=ic.SingleFilterSearchRequest(field="email", operator="=", value="a@example.com"))),
        ("contacts.create", "contacts:write", lambda c: c.contacts.create(
            request=ic.CreateContactRequestWithEmail(email="new@example.com"))),
        ("contacts.update", "contacts:write", lambda c: c.contacts.update(CONTACT, name="New Name")),
        ("contacts.delete", "contacts:delete", lambda c: c.contacts.delete(CONTACT)),
        ("notes.create", "notes:write", lambda c: c.notes.create(contact_id=CONTACT, body="internal", admin_id="991267466")),
        ("tags.list", "tags:read", lambda c: c.tags.list()),
        ("tags.create", "tags:manage", lambda c: c.tags.create(request=ic.CreateOrUpdateTagRequest(name="vip"))),
        ("tags.tag_contact", "tags:apply", lambda c: c.tags.tag_contact(CONTACT, tag_id="7522907")),
        ("conversations.list", "conversations:read", lambda c: c.conversations.list()),
        ("conversations.find", "conversations:read", lambda c: c.conversations.find("123")),
        ("reply (comment)", "conversations:reply", lambda c: c.conversations.reply("123", request=ic.AdminReplyConversationRequest(
            message_type="comment", admin_id="991267466", body="Hello"))),
        ("reply (note)", "conversations:note", lambda c: c.conversations.reply("123", request=ic.AdminReplyConversationRequest(
            message_type="note", admin_id="991267466", body="internal"))),
        ("manage (close)", "conversations:close", lambda c: c.conversations.manage("123", request=ConversationsManageRequestBody_Close(
            type="admin", admin_id="991267466", body="bye"))),
        ("manage (assign)", "conversations:assign", lambda c: c.conversations.manage("123", request=ConversationsManageRequestBody_Assignment(
            type="admin", admin_id="991267466", assignee_id="991267467"))),
        ("conversations.delete", "conversations:delete", lambda c: c.conversations.delete_conversation(123)),
        ("data_export.create", "content:export", lambda c: c.data_export.create(created_at_after=1700000000, created_at_before=1700086400)),
        ("messages.create (one-to-one)", "messages:send", lambda c: c.messages.create(request=ic.CreateMessageRequest_Inapp(
            body="Hi", from_=ic.CreateMessageRequestFrom(type="admin", id=991267466),
            to=ic.CreateMessageRequestTo(type="user", id=CONTACT)))),
    ]


def readme_roles():
    """permission -> the built-in roles that have it, from README.md's generated table."""
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- roles:begin -->", 1)[1].split("<!-- roles:end -->", 1)[0]
    header = [c.strip() for c in table.strip().splitlines()[0].strip("|").split("|")]
    roles = header[2:]
    out = {}
    for line in table.strip().splitlines()[2:]:
        cols = [c.strip() for c in line.strip("|").split("|")]
        m = re.fullmatch(r"`([^`]+)`", cols[0])
        if m:
            out[m.group(1)] = {r for r, c in zip(roles, cols[2:]) if c == "✓"}
    return out


class Env:
    procs = []


def setUpModule():
    for what, path in [("prism (npm, make deps)", PRISM), ("the filter (make wasm)", t.WASM), ("the mock spec", SPEC)]:
        if not path.exists():
            raise AssertionError(f"{what} is missing: {path}")
    tmp = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"intercom-authz-sdk-{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    Env.prism_port, Env.port, Env.admin = t.free_port(), t.free_port(), t.free_port()
    Env.procs.append(t.start([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(Env.prism_port), str(SPEC)], tmp / "prism.log"))
    cfg = json.loads((ROOT / "tests/configs/default.json").read_text())
    cfg["policy"] = {"roles": {"tier1": TIER1}}
    cfg["upstream"] = {"intercom_token": "icm-workspace-token"}
    boot = t.bootstrap(Env.admin, [t.listener("sdk", Env.port, cfg)], [t.cluster("upstream", Env.prism_port)])
    (tmp / "envoy.json").write_text(json.dumps(boot))
    envoy = t.start([t.ENVOY, "-c", str(tmp / "envoy.json"), "--concurrency", "1", "--base-id", str(os.getpid() % 60000 + 3000),
                     "-l", "warning"], tmp / "envoy.log")
    Env.procs.append(envoy)
    t.wait_http(f"http://127.0.0.1:{Env.admin}/ready", proc=envoy, log=tmp / "envoy.log")
    deadline = time.time() + 60
    while "Prism is listening" not in (tmp / "prism.log").read_text():
        if time.time() > deadline or Env.procs[0].poll() is not None:
            raise AssertionError("prism did not start:\n" + (tmp / "prism.log").read_text()[-3000:])
        time.sleep(0.2)


def tearDownModule():
    t.Env.procs = Env.procs
    t.tearDownModule()


class Sdk(unittest.TestCase):
    def client(self, role, seen):
        import httpx
        import intercom
        hook = lambda r: seen.update(status=r.status_code, code=r.headers.get("x-intercom-authz-code"))  # noqa: E731
        token = t.mint({"role": role, "sub": "991267466"})
        return intercom.Intercom(token=token, base_url=f"http://127.0.0.1:{Env.port}",
                                 httpx_client=httpx.Client(event_hooks={"response": [hook]}, timeout=20))

    def test_statuses_match_the_readme_role_table(self):
        has = readme_roles()
        has_tier1 = {p for p, rs in has.items() if "agent" in rs} - {"conversations:assign"} | {"tags:manage"}
        table, mismatches = [], []
        for name, perm, call in calls():
            row = [name, perm]
            for role in ROLES:
                allowed = perm in has_tier1 if role == "tier1" else role in has[perm]
                seen = {}
                try:
                    call(self.client(role, seen))
                except Exception:  # the SDK raises on 4xx (and on a mock's odd response): `seen` has what came back
                    pass
                passed = "status" in seen and seen["code"] is None and seen["status"] < 500
                got = f"{seen.get('status')}" + (f" {seen['code']}" if seen.get("code") else "")
                row.append(got)
                if passed != allowed or (not allowed and (seen.get("status"), seen.get("code")) != (403, "missing_permission")):
                    mismatches.append(f"{role} {name} ({perm}): got {got}, the README says {'allow' if allowed else 'deny'}")
            table.append(row)
        print("\n| SDK call | needs | " + " | ".join(ROLES) + " |\n|---|---|" + "---|" * len(ROLES))
        for row in table:
            print("| " + " | ".join(row) + " |")
        self.assertGreaterEqual(len(table), 20)
        self.assertEqual(mismatches, [], "\n".join(mismatches))


if __name__ == "__main__":
    unittest.main(verbosity=2)

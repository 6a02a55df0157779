"""The decision corpus over HTTP, judged the same way for every front-end that serves it (the
Envoy filter: tests/envoy/test_envoy.py; the gateway: tests/gateway/test_gateway.py).

`results` are `(i, case, status, headers, body)` for each case sent, with `x-case-id: i`;
`refuses` names the cases the host's own HTTP parser refuses (its 400, not ours), `rewrites`
those it rewrites before we judge them (description -> (path, decision))."""
import http.client
import json


def replay(cases, port_of, send):
    """Sends each case to `port_of(case)` (None: not sent) with `send` (test_envoy.raw_request:
    exactly these bytes), marked `x-case-id: i` and `x-request-id: case-i`, from the case's
    address in `x-forwarded-for`. Returns the results the checks below read."""
    results = []
    for i, c in enumerate(cases):
        port = port_of(c)
        if port is None:
            continue
        headers = dict(c["headers"])
        headers["x-case-id"] = str(i)
        headers["x-request-id"] = f"case-{i}"
        headers["x-forwarded-for"] = c["source_ip"]
        try:
            status, h, body = send(port, c["method"], c["path"], headers, c["body"], latin1=c.get("latin1", False))
        except (OSError, http.client.HTTPException) as e:
            status, h, body = 0, {}, f"no answer: {e!r}".encode()
        results.append((i, c, status, h, body))
    return results


def decision_failures(results, refuses, rewrites):
    """What differs from the core's decisions: statuses, codes, deny bytes, judged answers."""
    failures = []
    for i, c, status, h, body in results:
        e = c["expect"]
        where = f'{c["file"]} / {c["description"]}'
        if c["description"] in refuses:
            if status != 400 or "x-intercom-authz-code" in h:
                failures.append(f"{where}: expected the host's own 400, got {status} {h.get('x-intercom-authz-code')}")
            continue
        if c["description"] in rewrites:
            if status != 200:
                failures.append(f"{where}: the host rewrites this to {rewrites[c['description']][0]}, which is allowed; got {status}")
            continue
        # The mock sends `etag` and `last-modified` with every case answer: a redacted or
        # refused answer must not carry the original body's validators.
        if (e.get("redacted") or (e["decision"] == "deny" and (c.get("upstream") or {}).get("response"))) \
                and ("etag" in h or "last-modified" in h):
            failures.append(f"{where}: a redacted or refused answer kept etag/last-modified")
        if e["decision"] == "allow":
            want = (e.get("response") or {}).get("status", 200)
            if status != want:
                failures.append(f"{where}: want allow, got {status} {body[:200]!r}")
            elif e.get("response") and json.loads(body) != e["response"]["body"]:
                # Conversation access: what the client sees is the judged (maybe redacted) answer.
                failures.append(f"{where}: response {body[:300]!r}, the core's {json.dumps(e['response']['body'])[:300]}")
            continue
        try:
            got = json.loads(body)
        except ValueError:
            failures.append(f"{where}: want {e['status']} {e['code']}, got {status} {body[:200]!r}")
            continue
        if status != e["status"] or got.get("code") != e["code"] or h.get("x-intercom-authz-code") != e["code"]:
            failures.append(f"{where}: want {e['status']} {e['code']}, got {status} {got.get('code')}")
        elif body != c["deny_body"].encode():
            failures.append(f"{where}: deny body {body!r}, the core's {c['deny_body']!r}")
        for k, field in [("required", "required"), ("route", "route"), ("role", "currentRole")]:
            if e.get(k) and got.get(field) != e[k]:
                failures.append(f"{where}: {field} {got.get(field)!r}, want {e[k]!r}")
        if status == 401 and not h.get("www-authenticate", "").startswith("Bearer realm="):
            failures.append(f"{where}: 401 without WWW-Authenticate")
        if h.get("content-type") != "application/json":
            failures.append(f"{where}: content-type {h.get('content-type')}")
    return failures


def upstream_failures(results, records, refuses, rewrites, authorization=None):
    """(leaks, wrong): denied cases that reached the upstream, and allowed ones that reached it
    otherwise than judged (path, the caller's JWT, the forwarded body, conditional headers; with
    `authorization`, any other `Authorization` than that one: the workspace token's).
    `records` are the mock's (tests/mock_intercom.py --record)."""
    seen = {}
    for r in records:
        cid = r["headers"].get("x-case-id")
        if cid is not None and cid.isdigit():
            seen.setdefault(int(cid), []).append(r)
    leaks, wrong = [], []
    for i, c, status, h, body in results:
        got = seen.get(i, [])
        if c["description"] in rewrites:
            want = rewrites[c["description"]][0]
            if [g["path"] for g in got] != [want]:
                wrong.append(f'{c["description"]}: upstream received {[g["path"] for g in got]}, judged {want}')
            continue
        # Denied on the response (conversation access): the request went on, its answer did not.
        on_response = c["expect"]["decision"] == "deny" and (c.get("upstream") or {}).get("response") \
            and c["expect"]["code"] in ("conversation_not_accessible", "response_not_judgeable")
        if (c["expect"]["decision"] == "deny" and not on_response) or c["description"] in refuses:
            if got:
                leaks.append(f'{c["file"]} / {c["description"]}: upstream received {got[0]["method"]} {got[0]["path"]}')
            continue
        if len(got) != 1:
            wrong.append(f'{c["description"]}: upstream received {len(got)} requests')
            continue
        # The upstream got the canonical path that was judged, and never the caller's JWT.
        canon = c["expect"].get("canonical_path")
        upath = got[0]["path"].split("?")[0]
        if canon and upath != canon:
            wrong.append(f'{c["description"]}: upstream path {upath}, judged {canon}')
        if got[0]["headers"].get("authorization", "").startswith("Bearer ey"):
            wrong.append(f'{c["description"]}: the caller\'s JWT reached the upstream')
        if authorization is not None and got[0]["headers"].get("authorization") != authorization:
            wrong.append(f'{c["description"]}: upstream authorization {got[0]["headers"].get("authorization")!r}')
        if c["config"] == "trusted" and "x-jwt-payload" in got[0]["headers"]:
            wrong.append(f'{c["description"]}: the trusted payload header reached the upstream')
        # A restricted role's search: Intercom gets the rewritten query, nothing else.
        want_body = c["expect"].get("forward_body")
        if want_body is not None and json.loads(got[0]["body"] or "null") != want_body:
            wrong.append(f'{c["description"]}: upstream body {got[0]["body"][:300]}, want {json.dumps(want_body)[:300]}')
        if want_body is not None and got[0]["headers"].get("content-length") != str(len(got[0]["body"].encode())):
            wrong.append(f'{c["description"]}: upstream content-length {got[0]["headers"].get("content-length")}')
        # A judged read goes unconditional: no 304 or 206 to judge.
        if c["expect"].get("response") or c["expect"]["code"] == "response_not_judgeable":
            cond = [k for k in ("if-none-match", "if-modified-since", "range", "if-range") if k in got[0]["headers"]]
            if cond:
                wrong.append(f'{c["description"]}: a judged read reached the upstream with {cond}')
    return leaks, wrong

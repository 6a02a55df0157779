#!/usr/bin/env python3
"""Which Intercom API operations reach a conversation (or a ticket, which Intercom keeps as a
conversation), from the OpenAPI descriptions 2.7 to 2.16.

Development tool, not used at build or run time: it writes `tests/spec-conversations/reach.tsv`,
which `tests/conversations.rs` checks `core/src/conversation.rs`'s route kinds against: every
operation listed must have a kind other than `free`, so a role with restricted conversation
access never reaches a conversation the filter does not judge.

It also writes `tests/spec-conversations/query.tsv`: every query parameter, in any version, whose
name or description mentions a conversation or a ticket, with whether it *names* one (its name
is a conversation or ticket id, or its description says it takes one: "associated with the given
conversation ID"). `tests/conversations.rs` checks that each that names one is judged by the core
(`conversation::QUERY_PARAMS`: with it in the query, in any Rack spelling, the route is refused
to a restricted role) and that each other is reviewed (`query-reviewed.tsv`, with the reason).

An operation reaches a conversation when its path names one (`/conversations/…`, `/tickets/…`),
when its request body names one (a `conversation_id`, `conversation_to_link_id` or `ticket_id`
property), or when its response schema contains a conversation, a ticket, a conversation part
or a `conversation_id` (following `$ref`, `allOf`, `anyOf`, `oneOf`, `items`, `properties`).

    python3 tests/spec-conversations/extract.py ../shared/intercom/openapi
"""
import pathlib
import re
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch")
# The schemas that carry a conversation's (or a ticket's) content; `ticket_type`,
# `ticket_state`, `conversation_source` … are parts or definitions, reached through these.
SCHEMAS = {
    "conversation", "conversation_list", "conversation_list_item", "conversation_part",
    "conversation_parts", "conversation_deleted", "paginated_conversation_response",
    "ticket", "ticket_list", "ticket_part", "ticket_parts", "ticket_reply", "ticket_note",
    "ticket_deleted",
}
FIELDS = {"conversation_id", "ticket_id", "conversation_ids", "conversation_to_link_id"}


def shape(path):
    return re.sub(r"\{[^}]*\}", "{}", path)


def reach(doc, schema, seen):
    """The reasons `schema` reaches a conversation (schema names, field names)."""
    out = set()
    if not isinstance(schema, dict):
        return out
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in SCHEMAS:
            out.add(name)
        if name in seen:
            return out
        seen.add(name)
        target = doc["components"]["schemas"].get(name, {})
        return out | reach(doc, target, seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for s in schema.get(key, []) or []:
            out |= reach(doc, s, seen)
    if "items" in schema:
        out |= reach(doc, schema["items"], seen)
    for name, prop in (schema.get("properties") or {}).items():
        if name in FIELDS:
            out.add(name)
        out |= reach(doc, prop, seen)
    return out


def body_schema(op):
    content = (op.get("requestBody") or {}).get("content") or {}
    return (content.get("application/json") or {}).get("schema")


NAMES_ONE = re.compile(r"(^|_)(conversation|ticket)s?_ids?$")
SAYS_ONE = re.compile(r"(conversation|ticket)( |_)ids?\b", re.I)
MENTIONS = re.compile(r"conversation|ticket", re.I)


def query_params(doc, item, op):
    """The operation's query parameters (path-level ones too, `$ref`s followed)."""
    params = (doc.get("components") or {}).get("parameters") or {}
    for p in (item.get("parameters") or []) + (op.get("parameters") or []):
        if "$ref" in p:
            p = params.get(p["$ref"].rsplit("/", 1)[-1], {})
        if p.get("in") == "query":
            yield p


def main(root):
    rows = {}
    query = {}
    for spec in sorted(pathlib.Path(root).glob("*/api.intercom.io.yaml")):
        if not re.fullmatch(r"\d+\.\d+", spec.parent.name):
            continue
        doc = yaml.safe_load(spec.read_text())
        for path, item in (doc.get("paths") or {}).items():
            for method in METHODS:
                op = item.get(method)
                if op is None:
                    continue
                for p in query_params(doc, item, op):
                    name, desc = p.get("name", ""), p.get("description") or ""
                    if MENTIONS.search(name + " " + desc):
                        names = bool(NAMES_ONE.search(name) or SAYS_ONE.search(desc))
                        key = (method.upper(), shape(path), name)
                        versions, named = query.get(key, (set(), False))
                        query[key] = (versions | {spec.parent.name}, named or names)
                why = set()
                if re.match(r"^/(conversations|tickets)/\{", path):
                    why.add("path")
                body = body_schema(op)
                if body:
                    why |= {f"body:{w}" for w in reach(doc, body, set()) if w in FIELDS}
                for code, resp in (op.get("responses") or {}).items():
                    if not str(code).startswith("2"):
                        continue
                    content = (resp or {}).get("content") or {}
                    for media in content.values():
                        why |= {f"response:{w}" for w in reach(doc, media.get("schema"), set())}
                if why:
                    key = (method.upper(), shape(path))
                    rows.setdefault(key, set()).update(why)
    out = pathlib.Path(__file__).resolve().parent / "reach.tsv"
    with out.open("w") as f:
        for (m, p), why in sorted(rows.items(), key=lambda r: (r[0][1], r[0][0])):
            f.write(f"{m}\t{p}\t{','.join(sorted(why))}\n")
    print(len(rows), "operations reach a conversation")
    vkey = lambda v: tuple(int(x) for x in v.split("."))
    with (out.parent / "query.tsv").open("w") as f:
        for (m, p, name), (versions, names) in sorted(query.items(), key=lambda r: (r[0][1], r[0][0], r[0][2])):
            vs = sorted(versions, key=vkey)
            f.write(f"{m}\t{p}\t{name}\t{vs[0]}-{vs[-1]}\t{'names' if names else 'mentions'}\n")
    print(len(query), "query parameters mention a conversation,",
          sum(1 for _, n in query.values() if n), "name one")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/intercom/openapi")

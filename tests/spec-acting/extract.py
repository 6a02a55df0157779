#!/usr/bin/env python3
"""Which request fields of Intercom's REST API name the ACTING teammate, from the OpenAPI
descriptions (every stable version, 2.7 to 2.16 today).

Development tool, not run at build or test time (the specs live outside the repository). It
writes, next to itself, `acting.tsv` and `rejected.tsv`, and `core/src/acting.tsv`: the first
five columns of `acting.tsv`, which the core compiles in (the fields the attribution step
reads, `core/src/acting.rs`; `tests/acting.rs` holds the two to each other):

- `acting.tsv`: every request field (JSON body field at any depth, through `$ref`, `allOf`,
  `anyOf`, `oneOf` and array `items`; every query parameter) that names the admin on whose
  behalf Intercom records the action: the author of a reply or a note, the teammate a tag,
  a participant change or a ticket update is attributed to, the sender of a message or a news
  item, the author or owner of an article. A filter that wants "an agent acts as itself" must
  compare each of these with the caller's admin id.
- `rejected.tsv`: every other CANDIDATE (a field whose name or description suggests a person:
  admin, teammate, author, owner, sender, creator, assignee, user, `from`/`to` objects …),
  each with the reason it does not name the actor, for a reviewer to audit.

Every candidate must be classified by a rule of `RULES` below, or the script fails (exit 2):
a new spec version with a new person-like field is reviewed before the tables change.

Columns of acting.tsv: method, path template (`{}` for every parameter, as
`tests/spec-examples/reviewed.tsv`), where (`body`/`query`), field (dotted, `[]` for array
items, `*` for any locale key of `translated_content`), condition (`-`, or the discriminator
under which the field names the actor, e.g. `from.type=admin`), required (`yes` when the spec
marks it required in at least one variant of at least one version, within its parent object),
versions (`2.7-2.16`, or runs and singles: `2.11,2.14-2.16`), description (newest version's,
first 100 characters, whitespace collapsed). rejected.tsv: method, path, where (`body`,
`query`, `path`), field, condition, versions, reason, description.

The spec root defaults to `<repo>/../shared/intercom/openapi` whatever the working directory.
Exit status: 0 written / up to date, 1 `--check` found a stale table (the diff is printed),
2 no spec found or a candidate no rule classifies. Needs PyYAML (libyaml makes it ~5 s).

    python3 tests/spec-acting/extract.py [../shared/intercom/openapi]          # rewrite
    python3 tests/spec-acting/extract.py --check [../shared/intercom/openapi]  # exit 1 + diff if stale
"""
import argparse
import difflib
import pathlib
import re
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch")
HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_ROOT = HERE.parents[1].parent / "shared" / "intercom" / "openapi"
LOCALE = re.compile(r"[a-z]{2}(-[A-Z]{2})?")

# -- candidates ------------------------------------------------------------------------------
# A field is a candidate when it is shaped like a reference to someone (an id, a list of ids,
# or a person object) AND its name or description speaks of a person who could be a teammate.
PERSON_OBJECTS = {"from", "to", "author", "owner", "sender", "user", "admin", "assignee",
                  "customer", "teammate", "creator"}
ID_LIKE = re.compile(r"(^|_)ids?$")
PERSON_NAME = re.compile(r"admin|author|owner|sender|teammate|creat|updat|assignee|user|_by(_|$)")
PERSON_DESC = re.compile(r"\badmins?\b|teammate|\bauthor|\bowner|\bsender|perform|on behalf"
                         r"|attribut\w* (the \w+ |actions )?to\b|created by|creator", re.I)


def is_candidate(f):
    leaf, parent, desc = f["leaf"], f["parent"], f["desc"]
    if f["where"] == "path":
        return bool(re.search(r"admin|teammate", leaf) or PERSON_DESC.search(desc))
    if leaf in PERSON_OBJECTS:
        return True
    if not ID_LIKE.search(leaf):
        return False
    if leaf == "id" and parent in PERSON_OBJECTS:
        return True
    return bool(PERSON_NAME.search(leaf) or PERSON_DESC.search(desc))


# -- classification --------------------------------------------------------------------------
# (verdict, match, reason); the first rule whose every key matches wins. Keys: `where`,
# `method`, `path` (template), `field`, `leaf` (regex fullmatch), `desc` (regex search),
# `readonly` (bool). `acting` rows go to acting.tsv, `rejected` rows to rejected.tsv.
ACT, REJ = "acting", "rejected"
RULES = [
    # Response-only properties that a request schema reuses: not sent, not read by Intercom.
    (REJ, {"readonly": True}, "readOnly in the spec: a response property the request schema reuses; Intercom does not take it from a request"),
    # Path parameters: the admin is the subject of the route, not an attribution field.
    (REJ, {"where": "path", "path": r"/admins/\{\}/away"}, "path: the admin whose away status is set (subject of the route, decided by its permission), not an attribution field"),
    (REJ, {"where": "path", "path": r"/admins/\{\}"}, "path: the admin read (subject of the route)"),
    # Query parameters: filters.
    (REJ, {"where": "query", "leaf": r"created_by_ids|last_updated_by_ids"}, "query filter: selects content created/updated by these admins; nobody acts"),
    (REJ, {"where": "query", "leaf": r"user_id|intercom_user_id"}, "query: the contact or visitor looked up"),
    # Who is assigned, not who assigns.
    (REJ, {"leaf": r"assignee_id|admin_assignee_id|team_assignee_id"}, "assignment target: the admin or team given the conversation/ticket, not the teammate acting"),
    (REJ, {"path": r"/contacts(/\{\})?", "leaf": "owner_id"}, "assignment target: the admin given account ownership of the contact, not the teammate acting"),
    # The acting teammate.
    (ACT, {"where": "body", "leaf": "admin_id", "desc": r"perform|authoring|making the note|adding the new participant|creating the note|attribut|unique identifier (for|of) (the|a given) admin"},
     "the admin the action/part is recorded as"),
    (ACT, {"where": "body", "path": "/messages", "field": r"from\.id"}, "the admin the message is sent as (from.type=admin)"),
    (ACT, {"where": "body", "path": r"/(internal_)?articles(/\{\}(/draft)?)?", "leaf": "author_id"}, "the teammate the article (or its locale content) is credited to"),
    (ACT, {"where": "body", "path": r"/internal_articles(/\{\})?", "leaf": "owner_id"}, "the teammate who owns the internal article"),
    (ACT, {"where": "body", "path": r"/news/news_items(/\{\})?", "leaf": "sender_id"}, "the teammate the news item is shown as sent by"),
    # Containers whose acting child is listed, and person objects that are not teammates.
    (REJ, {"path": "/messages", "field": "from"}, "container: the actor is from.id (acting.tsv, under from.type=admin)"),
    (REJ, {"path": "/messages", "field": r"to(\[\])?(\.id)?"}, "recipient: the contact (user/lead) the message is sent to (2.7-2.10, 2.12-2.13 describe it as 'The sender', a spec copy error)"),
    (REJ, {"path": "/conversations", "field": r"from(\.id)?"}, "the contact (lead/user/contact) the new conversation is opened as, not a teammate"),
    (REJ, {"path": "/contacts/merge", "field": "from"}, "the lead merged away (subject), not a person acting"),
    (REJ, {"path": r"/(conversations|tickets)/\{\}/reply", "leaf": r"user_id|intercom_user_id"}, "contact reply (type=user): the contact the reply is posted as, a customer, not a teammate"),
    (REJ, {"path": r"/conversations/\{\}/customers", "field": r"customer(\.customer)?(\.(user_id|intercom_user_id))?"}, "the contact added as a participant (subject); the acting admin is admin_id"),
    (REJ, {"path": r"/fin/(start|reply)", "leaf": "author"}, "Fin Agent API: the kind of message author (user/agent/fin) in an external conversation, an enum, not a teammate id"),
    (REJ, {"path": r"/fin/(start|reply)", "field": r"user(\.id)?"}, "Fin Agent API: the end user Fin talks to, not a teammate"),
    (REJ, {"path": "/events(/summaries)?", "leaf": "user_id"}, "the contact the event is recorded for (subject)"),
    (REJ, {"path": "/visitors(/convert)?", "field": r"(user|visitor)(\.(id|user_id))?|user_id"}, "the visitor or the contact it becomes (subject)"),
]


def classify(f):
    for verdict, match, reason in RULES:
        ok = True
        for key, want in match.items():
            if key == "readonly":
                ok = f["readonly"] == want
            elif key == "desc":
                ok = re.search(want, f["desc"], re.I) is not None
            else:
                ok = re.fullmatch(want, f[key]) is not None
            if not ok:
                break
        if ok:
            return verdict, reason
    return None, None


# -- reading the specs -----------------------------------------------------------------------
def resolve(doc, node):
    """Follows local `$ref`s; None for a dangling or remote one."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return None
        node = doc
        for part in ref[2:].split("/"):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
    return node


def shape(path):
    return re.sub(r"\{[^}]*\}", "{}", path)


def text(s):
    s = re.sub(r"\\n|\s+", " ", str(s or "")).strip()
    return s[:100] + "..." if len(s) > 100 else s


def walk(doc, node, prefix, parent, extra_req, seen, emit):
    """Every property of a request schema, at any depth."""
    if isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:
            return
        seen = seen | {node["$ref"]}
    node = resolve(doc, node)
    if not isinstance(node, dict):
        return
    subs = [(comb, sub) for comb in ("allOf", "anyOf", "oneOf") for sub in node.get(comb) or []]
    # Required in at least one variant: the node's own list, what an enclosing allOf/oneOf
    # says, and every direct subschema's list (`anyOf: [{required: [...]}]` is common).
    req = set(node.get("required") or []) | extra_req
    siblings = dict(node.get("properties") or {})
    for comb, sub in subs:
        sub = resolve(doc, sub)
        if isinstance(sub, dict):
            req |= set(sub.get("required") or [])
            if comb == "allOf":
                siblings.update(sub.get("properties") or {})
    for name, prop in (node.get("properties") or {}).items():
        rp = resolve(doc, prop) or {}
        key = "*" if parent == "translated_content" and LOCALE.fullmatch(name) else name
        field = f"{prefix}.{key}" if prefix else key
        cond = "-"
        if name == "id":
            kind = resolve(doc, siblings.get("type")) or {}
            if "admin" in (kind.get("enum") or []):
                cond = f"{prefix}.type=admin" if prefix else "type=admin"
        emit(field=field, leaf=name, parent=parent, cond=cond, required=name in req,
             desc=rp.get("description", ""), readonly=bool(rp.get("readOnly")))
        if not rp.get("readOnly"):
            walk(doc, prop, field, name, set(), seen, emit)
    for _, sub in subs:
        walk(doc, sub, prefix, parent, req, seen, emit)
    if "items" in node:
        walk(doc, node["items"], prefix + "[]", parent, set(), seen, emit)


def version_key(v):
    return tuple(int(x) for x in v.split("."))


def collect(root):
    specs = [p for p in pathlib.Path(root).glob("*/api.intercom.io.yaml")
             if re.fullmatch(r"\d+\.\d+", p.parent.name)]
    if not specs:
        print(f"no <version>/api.intercom.io.yaml under {root}", file=sys.stderr)
        sys.exit(2)
    versions = sorted((p.parent.name for p in specs), key=version_key)
    fields = []
    for spec in sorted(specs, key=lambda p: version_key(p.parent.name)):
        version = spec.parent.name
        doc = yaml.load(spec.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for path, item in (doc.get("paths") or {}).items():
            for method in METHODS:
                op = item.get(method)
                if not op:
                    continue
                base = {"version": version, "method": method.upper(), "path": shape(path)}

                def emit(where, **f):
                    fields.append({**base, "where": where, **f, "desc": text(f["desc"])})

                params = {}
                for p in (item.get("parameters") or []) + (op.get("parameters") or []):
                    p = resolve(doc, p) or {}
                    params[(p.get("in"), p.get("name"))] = p  # the operation's own wins
                for (where, name), p in params.items():
                    schema = resolve(doc, p.get("schema")) or {}
                    desc = p.get("description") or schema.get("description", "")
                    exploded = p.get("style", "form") == "form" and p.get("explode", True)
                    objectish = schema.get("properties") or any(
                        (resolve(doc, s) or {}).get("properties")
                        for c in ("allOf", "anyOf", "oneOf") for s in schema.get(c) or [])
                    if where == "query" and objectish and exploded:
                        # `style: form, explode: true`: each property is its own parameter
                        walk(doc, p.get("schema"), "", None, set(), frozenset(),
                             lambda **f: emit("query", **f))
                    elif where in ("query", "path"):
                        emit(where, field=name, leaf=name, parent=None, cond="-",
                             required=bool(p.get("required")), desc=desc, readonly=False)
                body = resolve(doc, op.get("requestBody")) or {}
                for media in (body.get("content") or {}).values():
                    walk(doc, media.get("schema"), "", None, set(), frozenset(),
                         lambda **f: emit("body", **f))
    return versions, fields


def runs(present, versions):
    """`2.7-2.16`, `2.11,2.14-2.16`: runs of consecutive known versions."""
    out, run = [], []
    for v in versions + [None]:
        if v in present:
            run.append(v)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = []
    return ",".join(out)


def tables(root):
    versions, fields = collect(root)
    rows, unclassified = {}, set()
    for f in fields:
        if not is_candidate(f):
            continue
        verdict, reason = classify(f)
        if verdict is None:
            unclassified.add(f"{f['method']} {f['path']} {f['where']} {f['field']}: {f['desc']}")
            continue
        key = (verdict, f["path"], f["method"], f["where"], f["field"], f["cond"])
        row = rows.setdefault(key, {"versions": set(), "required": False, "reason": reason,
                                    "desc": {}})
        row["versions"].add(f["version"])
        row["required"] |= f["required"]
        if f["desc"]:
            row["desc"][f["version"]] = f["desc"]
        if row["reason"] != reason:
            row["reason"] = "; ".join(sorted({row["reason"], reason}))
    if unclassified:
        sys.stderr.write("candidate fields no rule of RULES classifies (review them):\n")
        sys.stderr.write("".join(f"  {u}\n" for u in sorted(unclassified)))
        sys.exit(2)
    acting = ["method\tpath\twhere\tfield\tcondition\trequired\tversions\tdescription"]
    rejected = ["method\tpath\twhere\tfield\tcondition\tversions\treason\tdescription"]
    for (verdict, path, method, where, field, cond), row in sorted(rows.items()):
        vs = runs(row["versions"], versions)
        desc = row["desc"][max(row["desc"], key=version_key)] if row["desc"] else ""
        if verdict == ACT:
            req = "yes" if row["required"] else "no"
            acting.append(f"{method}\t{path}\t{where}\t{field}\t{cond}\t{req}\t{vs}\t{desc}")
        else:
            rejected.append(f"{method}\t{path}\t{where}\t{field}\t{cond}\t{vs}\t{row['reason']}\t{desc}")
    # What the core compiles in: the first five columns (the module carries no descriptions).
    compact = ["\t".join(l.split("\t")[:5]) for l in acting]
    return {"acting.tsv": "\n".join(acting) + "\n", "rejected.tsv": "\n".join(rejected) + "\n",
            "../../core/src/acting.tsv": "\n".join(compact) + "\n"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", nargs="?", default=str(DEFAULT_ROOT),
                    help="directory holding <version>/api.intercom.io.yaml")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 with a diff when a committed table is stale")
    args = ap.parse_args()
    stale = False
    for name, new in tables(args.root).items():
        out = HERE / name
        old = out.read_text() if out.exists() else ""
        if args.check:
            if old != new:
                stale = True
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True), f"a/{name}", f"b/{name}"))
        else:
            out.write_text(new)
            print(f"{name}: {new.count(chr(10)) - 1} rows")
    if stale:
        print("stale: rerun python3 tests/spec-acting/extract.py", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Extract the request bodies of Intercom's OpenAPI descriptions (2.7-2.16).

Development tool, not used at build or run time. It writes, for `tests/spec_examples.rs`:

- `examples.json`: every request-body example; each must be decided without `invalid_body` /
  `body_required` (a legitimate shape is never refused);
- `params.json`: every operation's path parameters with their documented examples; every
  example must be accepted by the catalog's parameter kinds (an id never takes a word, but
  for the documented ones such as `last`);
- `fields.json`: every operation's top-level request-body fields (through `$ref`, `allOf`,
  `anyOf`, `oneOf`), per version; every field that can change what Intercom does or to whom
  must be read by a body rule or reviewed in `reviewed.tsv`.

    .venv/bin/python tests/spec-examples/extract.py ../shared/intercom/openapi
"""
import json
import pathlib
import re
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch")


def resolve(doc, node):
    """Follows local `$ref`s (components/examples, components/requestBodies)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return None
        node = doc
        for part in ref[2:].split("/"):
            if not isinstance(node, dict) or part not in node:
                return None  # a dangling reference in the spec
            node = node[part]
    return node


def top_fields(doc, schema, acc, depth=0):
    """The top-level property names of a request schema."""
    schema = resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 4:
        return
    for comb in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(comb) or []:
            top_fields(doc, sub, acc, depth + 1)
    acc.update((schema.get("properties") or {}).keys())


def main(root: str) -> None:
    seen = {}
    fields = {}
    params = {}
    for spec in sorted(pathlib.Path(root).glob("*/api.intercom.io.yaml"), key=lambda p: [int(x) for x in p.parent.name.split(".")] if re.fullmatch(r"\d+\.\d+", p.parent.name) else [0]):
        version = spec.parent.name
        if not re.fullmatch(r"\d+\.\d+", version):
            continue
        doc = yaml.safe_load(spec.read_text())
        for path, item in (doc.get("paths") or {}).items():
            for method in METHODS:
                op = item.get(method)
                if op:
                    entry = params.setdefault(f"{method.upper()} {path}", {})
                    for p in (op.get("parameters") or []) + (item.get("parameters") or []):
                        p = resolve(doc, p) or {}
                        if p.get("in") != "path":
                            continue
                        ex = p.get("example", (p.get("schema") or {}).get("example"))
                        values = entry.setdefault(p["name"], [])
                        if ex is not None and str(ex) not in values:
                            values.append(str(ex))
                if not op or "requestBody" not in op:
                    continue
                body = resolve(doc, op["requestBody"]) or {}
                media = (body.get("content") or {}).get("application/json") or {}
                names = set()
                top_fields(doc, media.get("schema") or {}, names)
                entry = fields.setdefault(f"{method.upper()} {path}", {})
                for n in sorted(names):
                    entry.setdefault(n, []).append(version)
                examples = {}
                for name, ex in (media.get("examples") or {}).items():
                    ex = resolve(doc, ex) or {}
                    if "value" in ex:
                        examples[name] = ex["value"]
                if "example" in media:
                    examples["example"] = media["example"]
                for name, value in examples.items():
                    key = (method.upper(), path, json.dumps(value, sort_keys=True))
                    entry = seen.setdefault(key, {"method": method.upper(), "path": path, "name": name,
                                                  "body": value, "versions": []})
                    entry["versions"].append(version)
    out = pathlib.Path(__file__).resolve().parent / "examples.json"
    rows = sorted(seen.values(), key=lambda e: (e["path"], e["method"], e["name"]))
    out.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    print(f"{len(rows)} distinct request-body examples in {len({(r['method'], r['path']) for r in rows})} operations")
    params = {k: v for k, v in sorted(params.items()) if v}
    (out.parent / "params.json").write_text(json.dumps(params, indent=1, sort_keys=True) + "\n")
    print(f"{len(params)} operations with path parameters")
    (out.parent / "fields.json").write_text(json.dumps(fields, indent=1, sort_keys=True) + "\n")
    print(f"{len(fields)} operations with a request body, {sum(len(f) for f in fields.values())} top-level fields")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/intercom/openapi")

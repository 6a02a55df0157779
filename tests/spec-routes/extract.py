#!/usr/bin/env python3
"""Extract `METHOD /path` lists from Intercom's OpenAPI descriptions.

Development tool, not used at build or run time: it writes the compact lists in
`tests/spec-routes/<version>.txt` that `tests/catalog.rs` checks the route catalog against.

    python3 tests/spec-routes/extract.py ../shared/intercom/openapi
"""
import pathlib
import re
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def main(root: str) -> None:
    out = pathlib.Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    for spec in sorted(pathlib.Path(root).glob("*/api.intercom.io.yaml")):
        version = spec.parent.name
        if not re.fullmatch(r"\d+\.\d+", version):
            continue  # Preview / Unstable are not stable versions
        doc = yaml.safe_load(spec.read_text())
        rows = set()
        for path, item in (doc.get("paths") or {}).items():
            for method in METHODS:
                if method in item:
                    rows.add(f"{method.upper()} {path}")
        (out / f"{version}.txt").write_text("".join(f"{r}\n" for r in sorted(rows)))
        print(version, len(rows))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/intercom/openapi")

#!/usr/bin/env python3
"""`make size`: what the shipped Wasm modules weigh, and what weighs in the filter. Sizes of
dist/ (and gzip -9) and each module's largest function bodies (V8's optimizing compiler needs
memory by the body: what an Envoy keeps after compiling the module at start), then, from twiggy
on the filter before wasm-opt (it still has function names), the bytes per crate and the
largest items.
usage: size.py TWIGGY NAMED_FILTER_WASM"""
import csv
import gzip
import io
import pathlib
import re
import subprocess
import sys
from collections import Counter

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = ["dist/intercom_authz.wasm", "dist/js/web/intercom_authz_bg.wasm", "dist/intercom_authz.component.wasm",
           "dist/intercom_authz.gateway.wasm"]


def crate(name):
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    if m:
        return m.group(1)
    if name.startswith("data segment"):
        return "(data)"
    if "names" in name:
        return "(names: wasm-opt strips them)"
    # ring's C and assembly-free fallbacks (curve arithmetic), by their symbol prefixes.
    if re.match(r"(ring_core_|fiat_|nistz|p256_|p384_|x25519|ge_|fe_|sc_|x25519_|LIMBS_|bn_|CRYPTO_)", name):
        return "ring (C)"
    if re.match(r"(dl|dispose_chunk|prepend_alloc|realloc|malloc|free|tmalloc|sys_alloc|init_top|add_segment)", name):
        return "dlmalloc (wasi-libc)"
    return "(other)"


def body_sizes(b):
    """The sizes of a module's function bodies (its code section); of a component's, those of
    the core modules inside it."""
    def leb(i):
        r = s = 0
        while True:
            r |= (b[i] & 0x7F) << s
            s += 7
            i += 1
            if b[i - 1] < 0x80:
                return r, i
    i, component, found = 8, b[4:8] == b"\x0d\x00\x01\x00", []
    while i < len(b):
        section, (size, i) = b[i], leb(i + 1)
        if component and section == 1:
            found += body_sizes(b[i:i + size])
        elif not component and section == 10:
            n, j = leb(i)
            sizes = []
            for _ in range(n):
                length, j = leb(j)
                sizes.append(length)
                j += length
            return sizes
        i += size
    return found


def main():
    twiggy, named = sys.argv[1], sys.argv[2]
    print("module                                    bytes     gzip -9   largest function bodies")
    for p in SHIPPED:
        f = ROOT / p
        if f.exists():
            b = f.read_bytes()
            top = ", ".join(f"{n:,}" for n in sorted(body_sizes(b), reverse=True)[:3])
            print(f"{p:<40} {len(b):>9,} {len(gzip.compress(b, 9)):>11,}   {top}")
        else:
            print(f"{p:<40} {'(not built)':>9}")
    out = subprocess.run([twiggy, "top", "-n", "1000000", "--format", "csv", named], check=True, capture_output=True, text=True).stdout
    rows = [(r["Name"], int(r["ShallowSize"])) for r in csv.DictReader(io.StringIO(out)) if r["ShallowSize"].isdigit()]
    total = sum(s for _, s in rows)
    per = Counter()
    for name, size in rows:
        per[crate(name)] += size
    print(f"\n{named}: {total:,} bytes before wasm-opt; by crate:")
    for c, size in per.most_common(20):
        print(f"  {size:>9,}  {100 * size / total:5.1f} %  {c}")
    print("\nlargest items:")
    for name, size in sorted(rows, key=lambda r: -r[1])[:15]:
        print(f"  {size:>9,}  {name[:110]}")


if __name__ == "__main__":
    main()

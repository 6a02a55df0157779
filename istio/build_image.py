#!/usr/bin/env python3
"""Builds the Wasm OCI image of intercom-authz (`make image`): an OCI image layout directory
in Istio's Wasm image format, *oci* variant (the module as the one layer, media type
`application/vnd.module.wasm.content.layer.v1+wasm`, config `application/vnd.module.wasm.config.v1+json`),
which Istio's `WasmPlugin` pulls with `url: oci://…`. Reproducible: the same module gives
the same digests. Also renders dist/istio/wasmplugin.yaml (istio/wasmplugin.yaml with the
image's URL and manifest digest filled in). Push it with `skopeo copy oci:dist/oci:<tag> docker://<registry>/intercom-authz:<tag>`.

    python3 istio/build_image.py dist/intercom_authz.wasm dist/oci 0.1.0
"""
import hashlib
import json
import os
import pathlib
import shutil
import sys

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.module.wasm.config.v1+json"
LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"


def blob(root, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (root / "blobs/sha256" / digest.split(":")[1]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def build(wasm_path, out, tag):
    wasm = pathlib.Path(wasm_path).read_bytes()
    if wasm[:4] != b"\0asm":
        sys.exit(f"{wasm_path} is not a WebAssembly module")
    out = pathlib.Path(out)
    shutil.rmtree(out, ignore_errors=True)
    (out / "blobs/sha256").mkdir(parents=True)
    (out / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layer = dict(mediaType=LAYER, **blob(out, wasm), annotations={"org.opencontainers.image.title": "plugin.wasm"})
    config = dict(mediaType=CONFIG, **blob(out, canonical({"type": "envoy_proxy", "abiVersions": ["proxy_abi_version_0_2_1"]})))
    manifest = {
        "schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": [layer],
        "annotations": {"org.opencontainers.image.title": "intercom-authz", "org.opencontainers.image.version": tag},
    }
    m = blob(out, canonical(manifest))
    index = {"schemaVersion": 2, "manifests": [
        dict(mediaType=MANIFEST, **m, annotations={"org.opencontainers.image.ref.name": tag})]}
    (out / "index.json").write_text(json.dumps(index, indent=1))
    print(f"{out}: tag {tag}, manifest {m['digest']}, module {layer['digest']} ({layer['size']} bytes)")
    render(tag, m["digest"])
    return m["digest"], layer["digest"]


def render(tag, digest):
    """dist/istio/wasmplugin.yaml: istio/wasmplugin.yaml with this image's URL and digest (the
    registry from $REGISTRY, default registry.example.com/platform): what you apply."""
    template = pathlib.Path(__file__).with_name("wasmplugin.yaml")
    registry = os.environ.get("REGISTRY", "registry.example.com/platform")
    text = template.read_text()
    for placeholder in ["@IMAGE@", "@SHA256@"]:
        if placeholder not in text:
            sys.exit(f"{template} has no {placeholder}")
    text = text.replace("@IMAGE@", f"oci://{registry}/intercom-authz:{tag}").replace("@SHA256@", digest.split(":")[1])
    out = pathlib.Path("dist/istio/wasmplugin.yaml")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"{out}: the WasmPlugin for oci://{registry}/intercom-authz:{tag}, pinned to {digest}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    build(*sys.argv[1:])

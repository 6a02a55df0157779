#!/usr/bin/env python3
"""Builds the Wasm image of intercom-authz (`make image`) and renders the Istio manifests.

The image is an OCI image layout directory in the *compat* variant of the Wasm image
specification, the variant Istio's documentation builds (`FROM scratch` + `plugin.wasm`):
an ordinary OCI image whose one layer (`application/vnd.oci.image.layer.v1.tar+gzip`) is a
tar holding `plugin.wasm`, with an OCI image config. Istio's fetcher
(`pkg/wasm/imagefetcher.go`) takes it from any registry; so does anything that takes
container images. Reproducible: the same module gives the same digests (tar entries with
fixed owner, mode and time; gzip without a time stamp).

Next to the image directory (`<out>/../istio/`), it renders each template of `istio/` with the
image's URL and manifest digest (Istio compares `sha256` with the manifest digest for an
`oci://` URL). The registry comes from $REGISTRY (default registry.example.com/platform).
Push with `skopeo copy oci:<out>:<tag> docker://<registry>/intercom-authz:<tag>`.

    python3 istio/build_image.py dist/intercom_authz.wasm dist/oci 0.1.0
"""
import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import sys
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
TEMPLATES = ["envoyfilter.yaml", "wasmplugin.yaml"]


def blob(root, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (root / "blobs/sha256" / digest.split(":")[1]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def layer_tar(wasm):
    """The layer, uncompressed: a tar with `plugin.wasm` alone."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("plugin.wasm")
        info.size, info.mode, info.mtime = len(wasm), 0o444, 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(wasm))
    return out.getvalue()


def build(wasm_path, out, tag):
    wasm = pathlib.Path(wasm_path).read_bytes()
    if wasm[:4] != b"\0asm":
        sys.exit(f"{wasm_path} is not a WebAssembly module")
    out = pathlib.Path(out)
    shutil.rmtree(out, ignore_errors=True)
    (out / "blobs/sha256").mkdir(parents=True)
    (out / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    tar = layer_tar(wasm)
    layer = dict(mediaType=LAYER, **blob(out, gzip.compress(tar, mtime=0)))
    config = {
        "architecture": "wasm", "os": "wasip1",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
        "config": {"Labels": {"org.opencontainers.image.title": "intercom-authz"}},
    }
    config = dict(mediaType=CONFIG, **blob(out, canonical(config)))
    manifest = {
        "schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": [layer],
        "annotations": {"org.opencontainers.image.title": "intercom-authz", "org.opencontainers.image.version": tag},
    }
    m = blob(out, canonical(manifest))
    index = {"schemaVersion": 2, "manifests": [
        dict(mediaType=MANIFEST, **m, annotations={"org.opencontainers.image.ref.name": tag})]}
    (out / "index.json").write_text(json.dumps(index, indent=1))
    module = hashlib.sha256(wasm).hexdigest()
    print(f"{out}: tag {tag}, manifest {m['digest']}, plugin.wasm sha256:{module} ({len(wasm)} bytes)")
    for name in TEMPLATES:
        render(name, out.parent / "istio", tag, m["digest"])
    return m["digest"]


def render(name, into, tag, digest):
    """`into/<name>`: istio/<name> with this image's URL and digest: what you apply."""
    template = pathlib.Path(__file__).with_name(name)
    registry = os.environ.get("REGISTRY", "registry.example.com/platform")
    text = template.read_text()
    for placeholder in ["@IMAGE@", "@SHA256@"]:
        if placeholder not in text:
            sys.exit(f"{template} has no {placeholder}")
    text = text.replace("@IMAGE@", f"oci://{registry}/intercom-authz:{tag}").replace("@SHA256@", digest.split(":")[1])
    into.mkdir(parents=True, exist_ok=True)
    (into / name).write_text(text)
    print(f"{into / name}: for oci://{registry}/intercom-authz:{tag}, pinned to {digest}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    build(*sys.argv[1:])

"""Istio's Wasm image fetcher, ported: what istio-agent does with a `WasmPlugin`'s (or an
ECDS Wasm config's) `oci://` URL and `sha256`, rule for rule, so `make test` proves that Istio
takes the image, not only that a registry stores it.

Ported from istio/istio at commit 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c:
- `pkg/wasm/imagefetcher.go` `PrepareFetch`: the manifest (an image, not an index: go-containerregistry's
  `desc.Image()` resolves an index to linux/amd64); then, in order, the Docker variant (manifest
  media type `application/vnd.docker.distribution.manifest.v2+json`: the *last* layer must be
  `application/vnd.docker.image.rootfs.diff.tar.gzip`), the *compat* OCI variant (the *last*
  layer `application/vnd.oci.image.layer.v1.tar+gzip`, a tar.gz read through a 256 MiB limit,
  the first entry whose base name is `plugin.wasm`), the *oci* variant (exactly 2 layers, one of
  them `application/vnd.module.wasm.content.layer.v1+wasm`, its raw bytes).
- `pkg/wasm/cache.go` `getOrFetch`: for `oci://`, the `sha256` given is compared with the
  **manifest** digest (`actualDigest`), before any layer is read; the binary must then start
  with the Wasm magic number and be at least 8 bytes (`isValidWasmBinary`).
- `pilot/pkg/features/pilot.go`: `ISTIO_WASM_MAX_BINARY_SIZE_BYTES`, default 256 MiB.
Blob digests are verified as go-containerregistry's remote layers verify them.
"""
import gzip
import hashlib
import io
import json
import posixpath
import tarfile
import urllib.request

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEXES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"
MAX_WASM_BINARY = 256 * 1024 * 1024


class FetchError(Exception):
    pass


class Registry:
    """The distribution API of a registry on loopback (plain HTTP, as Istio falls back to)."""

    def __init__(self, host):
        self.host = host

    def get(self, repo, kind, ref, accept=None):
        req = urllib.request.Request(f"http://{self.host}/v2/{repo}/{kind}/{ref}", headers={"Accept": accept} if accept else {})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.headers.get("Content-Type", ""), r.read()

    def blob(self, repo, digest):
        _, data = self.get(repo, "blobs", digest)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise FetchError(f"blob {digest}: its bytes have another digest")
        return data


def parse_url(url):
    """`oci://host/repo:tag` → (host, repo, tag)."""
    if not url.startswith("oci://"):
        raise FetchError(f"not an oci:// URL: {url}")
    host, _, rest = url[len("oci://"):].partition("/")
    repo, _, tag = rest.rpartition(":")
    return host, repo, tag


def plugin_wasm(targz):
    """`extractWasmPluginBinary`: the first tar entry named plugin.wasm (by base name)."""
    try:
        raw = gzip.decompress(targz)[:MAX_WASM_BINARY]
    except OSError as e:
        raise FetchError(f"failed to parse layer as tar.gz: {e}")
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        for entry in tar:
            if posixpath.basename(entry.name) == "plugin.wasm":
                f = tar.extractfile(entry)
                if f is None:
                    raise FetchError("failed to read plugin.wasm")
                return f.read()
    raise FetchError("plugin.wasm not found in the archive")


def last_layer(registry, repo, manifest, media_type):
    """`extractDockerImage` / `extractOCIStandardImage`: the last layer, of `media_type`."""
    layers = manifest.get("layers") or []
    if not layers:
        raise FetchError("number of layers must be greater than zero")
    last = layers[-1]
    if last.get("mediaType") != media_type:
        raise FetchError(f"invalid media type {last.get('mediaType')} (expect {media_type})")
    return plugin_wasm(registry.blob(repo, last["digest"]))


def oci_artifact(registry, repo, manifest):
    """`extractOCIArtifactImage`: exactly two layers, one of them the raw module."""
    layers = manifest.get("layers") or []
    if len(layers) != 2:
        raise FetchError(f"number of layers must be 2 but got {len(layers)}")
    for layer in layers:
        if layer.get("mediaType") == WASM_LAYER:
            return registry.blob(repo, layer["digest"])[:MAX_WASM_BINARY]
    raise FetchError(f"could not find the layer of type {WASM_LAYER}")


def fetch(url, sha256, registry=None):
    """The module Istio would load for `url` pinned to `sha256` (a manifest digest, hex), or
    `FetchError` with the reason Istio would give."""
    host, repo, tag = parse_url(url)
    registry = registry or Registry(host)
    accept = ", ".join([OCI_MANIFEST, DOCKER_MANIFEST, *INDEXES])
    content_type, body = registry.get(repo, "manifests", tag, accept)
    manifest = json.loads(body)
    media_type = manifest.get("mediaType") or content_type
    if media_type in INDEXES:
        raise FetchError("an image index: the fetcher resolves it to linux/amd64, which a Wasm image does not have")
    actual = hashlib.sha256(body).hexdigest()
    if sha256 and actual != sha256:
        raise FetchError(f"module downloaded from {url} has checksum {actual}, which does not match: {sha256}")
    if media_type == DOCKER_MANIFEST:
        module = last_layer(registry, repo, manifest, DOCKER_LAYER)
    else:
        errors = []
        module = None
        for how in (lambda: last_layer(registry, repo, manifest, OCI_LAYER), lambda: oci_artifact(registry, repo, manifest)):
            try:
                module = how()
                break
            except FetchError as e:
                errors.append(str(e))
        if module is None:
            raise FetchError(f"the given image is in invalid format as an OCI image: compat: {errors[0]}; oci: {errors[1]}")
    if len(module) < 8 or module[:4] != b"\0asm":
        raise FetchError(f"fetched Wasm binary from {url} is invalid")
    return module, actual

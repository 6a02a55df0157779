#!/usr/bin/env python3
"""Every example of the npm README (js/package/README.md) and of the main README's
"Tokens", "JavaScript" and "The WebAssembly component" sections runs as written (`make test-readme`).

Each fenced `js`, `python` and `sh` block runs verbatim, in order, in one scratch directory laid
out as a user's project: `node_modules/intercom-authz` unpacked from the packed tarball (`npm
pack` of dist/js), express and jco's shim from the pinned test tools, `dist/` of this checkout.
A block's `// prints: …` (or `# prints: …`) lines are its expected standard output, line for
line; a block must exit 0 (a `sh` block without `prints:` is only run). The environment has `JWT_SECRET` and `TOKEN` (HS256, role `agent`).
"""
import base64
import hashlib
import hmac
import json
import os
import pathlib
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tests/node/node_modules"
PYTHON = ROOT / ".venv/bin/python"
SECRET = "readme-example-secret-0123456789abcdef"
SECTIONS = {
    "js/package/README.md": None,  # all of it
    "README.md": ["## Tokens", "## JavaScript", "## The WebAssembly component"],
}
BLOCK = re.compile(r"^```(js|python|sh)\n(.*?)^```$", re.S | re.M)


def token(role="agent"):
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k"}).encode())
    now = int(time.time())
    body = b64(json.dumps({"sub": "admin-7", "role": role, "iat": now, "exp": now + 600}).encode())
    sig = b64(hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def sections(path, headings):
    text = (ROOT / path).read_text()
    if headings is None:
        return [text]
    out = []
    for h in headings:
        start = text.index("\n" + h + "\n")
        end = text.find("\n## ", start + 1)
        out.append(text[start:end if end != -1 else len(text)])
    return out


def blocks():
    for path, headings in SECTIONS.items():
        for part in sections(path, headings):
            for m in BLOCK.finditer(part):
                yield path, m.group(1), m.group(2)


def expected(code):
    return [m.group(1) for m in re.finditer(r"^(?://|#) prints: (.*)$", code, re.M)]


class ReadmeExamples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for what, p in [("the npm package (make js)", ROOT / "dist/js/package.json"),
                        ("the component (make component)", ROOT / "dist/intercom_authz.component.wasm"),
                        ("the test tools (npm)", TOOLS / ".bin/jco"), ("the venv", PYTHON)]:
            if not p.exists():
                raise AssertionError(f"{what} is missing: {p}")
        cls.dir = pathlib.Path(tempfile.mkdtemp(prefix="intercom-authz-readme-"))
        # A default project, as `npm init -y` writes it (`"type": "commonjs"`): the examples
        # must not rely on Node guessing a module's kind.
        subprocess.run(["npm", "init", "-y"], cwd=cls.dir, check=True, capture_output=True)
        # The package as npm installs it: from the tarball `npm pack` makes.
        pack = subprocess.run(["npm", "pack", "--json", "--pack-destination", str(cls.dir)], cwd=ROOT / "dist/js",
                              check=True, capture_output=True, text=True)
        tarball = cls.dir / json.loads(pack.stdout)[0]["filename"]
        modules = cls.dir / "node_modules"
        with tarfile.open(tarball) as t:
            t.extractall(cls.dir / "unpacked", filter="data")
        modules.mkdir()
        (cls.dir / "unpacked/package").rename(modules / "intercom-authz")
        for dep in ["express", "@bytecodealliance/preview2-shim"]:
            (modules / dep).parent.mkdir(parents=True, exist_ok=True)
            (modules / dep).symlink_to(TOOLS / dep)
        (cls.dir / "dist").symlink_to(ROOT / "dist")
        cls.env = dict(os.environ, JWT_SECRET=SECRET, TOKEN=token(),
                       PATH=f"{TOOLS / '.bin'}:{PYTHON.parent}:{os.environ['PATH']}")
        cls.sizes = json.loads(pack.stdout)[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_block(self, i, lang, code):
        if lang == "js":
            ext = ".mjs" if re.search(r"^import ", code, re.M) else ".cjs"
            f = self.dir / f"example{i}{ext}"
            cmd = ["node", str(f)]
        elif lang == "python":
            f = self.dir / f"example{i}.py"
            cmd = [str(PYTHON), str(f)]
        else:
            f = self.dir / f"example{i}.sh"
            cmd = ["bash", "-euo", "pipefail", str(f)]
        f.write_text(code)
        return subprocess.run(cmd, cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=60)

    def test_every_example_runs_as_written(self):
        found = list(blocks())
        self.assertGreaterEqual(len(found), 8, [p for p, _, _ in found])
        checked = 0
        for i, (path, lang, code) in enumerate(found):
            with self.subTest(f"{path} #{i} ({lang})"):
                r = self.run_block(i, lang, code)
                self.assertEqual(r.returncode, 0, f"{path} example {i}:\n{code}\n--- stderr:\n{r.stderr}")
                want = expected(code)
                if lang == "sh" and not want:
                    checked += 1  # a command: it must succeed, whatever it says
                    continue
                self.assertTrue(want, f"{path} example {i} says nothing it prints")
                self.assertEqual(r.stdout.splitlines(), want, f"{path} example {i}:\n{code}")
                checked += 1
        self.assertEqual(checked, len(found))

    def test_one_copy_of_the_wasm_in_the_package(self):
        wasm = [f["path"] for f in self.sizes["files"] if f["path"].endswith(".wasm")]
        self.assertEqual(wasm, ["web/intercom_authz_bg.wasm"])
        print(f"\nnpm package: {self.sizes['size']} bytes packed, {self.sizes['unpackedSize']} installed")


if __name__ == "__main__":
    unittest.main(verbosity=2)

// The npm package bundled the way its users bundle it (issue 33), from the packed tarball: the
// apps of tests/js/bundlers/ (one request, its decision shown) built by esbuild for a browser
// (run in headless chromium, Debian's, against a server on 127.0.0.1) and for Node (run from
// another directory, the package gone), and by rolldown, which reads the web build's
// `new URL("….wasm", import.meta.url)` as Vite and webpack do (copies the file, rewrites the
// URL). No tool is optional: a missing one fails the test (`make test-js` installs them).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURES = path.join(ROOT, "tests/js/bundlers");
const TOOLS = path.join(ROOT, "tests/node/node_modules");
const ESBUILD = path.join(TOOLS, ".bin/esbuild");
const ROLLDOWN = path.join(TOOLS, "rolldown/dist/index.mjs");
const DECISION = "403 missing_permission";

let tmp; // scratch directory, removed at the end
let tarball; // the package as `npm pack` makes it

// The tools, there or a loud failure; then the package, packed once.
before(() => {
  for (const [what, p] of [["esbuild", ESBUILD], ["rolldown", ROLLDOWN]]) {
    assert.ok(fs.existsSync(p), `${what} is missing (${p}): make test-js installs tests/node's tools`);
  }
  const chromium = spawnSync("chromium", ["--version"], { encoding: "utf8" });
  assert.equal(chromium.status, 0, `chromium is missing: make .deps-chromium installs Debian's (${chromium.error})`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "intercom-authz-bundlers-"));
  const pack = run("npm", ["pack", "--json", "--pack-destination", tmp], path.join(ROOT, "dist/js"));
  tarball = path.join(tmp, JSON.parse(pack.stdout)[0].filename);
});

after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

// Runs a command to completion; a failure shows its output.
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 120000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.error ?? ""}\n${r.stdout}\n${r.stderr}`);
  return r;
}

// A fresh project: the package as npm installs it, and the apps' sources.
function project(name) {
  const dir = path.join(tmp, name);
  const pkg = path.join(dir, "node_modules/intercom-authz");
  fs.mkdirSync(pkg, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", pkg, "--strip-components=1"], dir);
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  return dir;
}

// esbuild as its users run it; returns what it printed (warnings included).
function esbuild(dir, args) {
  return run(ESBUILD, [...args, "--log-level=warning"], dir).stderr;
}

// The page at www/index.html after its app ran: the DOM chromium dumps and the requests the
// server answered ("200 /app.js").
async function browse(www) {
  const server = await serve(www);
  try {
    return { dom: await dumpDom(`${server.base}/index.html`), requests: server.requests };
  } finally {
    server.close();
  }
}

// Chromium's DOM of url. A browser that dies before it dumps anything (seen once in CI: exit
// within half a second, nothing on stdout) is started once more, in a fresh profile; the page
// is judged only on a dump.
async function dumpDom(url) {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await promisify(execFile)("chromium", [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        `--user-data-dir=${path.join(tmp, `chromium-${attempt}`)}`, "--dump-dom", url,
      ], { timeout: 60000 });
      return stdout;
    } catch (e) {
      if (attempt > 1 || e.stdout) throw e;
      console.error(`chromium died before dumping (code ${e.code}, signal ${e.signal}); once more`);
    }
  }
}

// A static server for dir on 127.0.0.1. /hold answers once the page fetched /release (or after
// 20 s): index.html's image, so that the load event waits for the app's decision.
function serve(dir) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const requests = [];
  let release;
  const released = new Promise((r) => (release = r));
  const timer = setTimeout(release, 20000);
  const server = http.createServer(async (req, res) => {
    const name = new URL(req.url, "http://127.0.0.1").pathname;
    if (name === "/release") release();
    if (name === "/hold") await released;
    if (name === "/release" || name === "/hold") return requests.push(`204 ${name}`) && res.writeHead(204).end();
    const file = path.join(dir, path.normalize(name));
    const found = file.startsWith(dir + path.sep) && fs.statSync(file, { throwIfNoEntry: false })?.isFile();
    requests.push(`${found ? 200 : 404} ${name}`);
    if (!found) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    base: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => { clearTimeout(timer); server.closeAllConnections(); server.close(); },
  })));
}

// The text of the page's #decision.
function decision(dom) {
  return dom.match(/<p id="decision">([^<]*)<\/p>/)?.[1];
}

// A web root with the page and the bundle at app.js.
function www(dir) {
  const root = path.join(dir, "www");
  fs.mkdirSync(root, { recursive: true });
  fs.copyFileSync(path.join(dir, "index.html"), path.join(root, "index.html"));
  return root;
}

test("esbuild, browser, no configuration: intercom-authz/inline decides in chromium", async () => {
  const dir = project("browser-inline");
  const root = www(dir);
  const log = esbuild(dir, ["browser-inline.mjs", "--bundle", "--outfile=www/app.js"]);
  assert.equal(log, "", "esbuild warned");
  const { dom, requests } = await browse(root);
  assert.equal(decision(dom), DECISION, `${dom}\n${requests.join("\n")}`);
  assert.ok(!requests.some((r) => r.endsWith(".wasm")), requests.join("\n"));
});

test("esbuild, browser, no configuration: intercom-authz/web 404s on its .wasm (what issue 33 reported)", async () => {
  const dir = project("browser-web");
  const root = www(dir);
  esbuild(dir, ["browser-web.mjs", "--bundle", "--format=esm", "--outfile=www/app.js"]);
  const { dom, requests } = await browse(root);
  assert.match(decision(dom), /^error: .*404/, dom);
  assert.ok(requests.includes("404 /intercom_authz_bg.wasm"), requests.join("\n"));
});

test("esbuild, browser, --loader:.wasm=file: intercom-authz/web with the imported .wasm URL decides", async () => {
  const dir = project("browser-web-file");
  const root = www(dir);
  const log = esbuild(dir, ["browser-web-file.mjs", "--bundle", "--loader:.wasm=file", "--outfile=www/app.js"]);
  assert.equal(log, "", "esbuild warned");
  const { dom, requests } = await browse(root);
  assert.equal(decision(dom), DECISION, `${dom}\n${requests.join("\n")}`);
  assert.ok(requests.some((r) => /^200 \/intercom_authz_bg-\w+\.wasm$/.test(r)), requests.join("\n"));
});

test("rolldown (resolveNewUrlToAsset, the pattern Vite and webpack read): intercom-authz/web's .wasm is emitted and fetched; decides in chromium", async () => {
  const dir = project("browser-rolldown");
  const root = www(dir);
  const { rolldown } = await import(pathToFileURL(ROLLDOWN));
  const bundle = await rolldown({ cwd: dir, input: path.join(dir, "browser-web.mjs"), experimental: { resolveNewUrlToAsset: true } });
  const { output } = await bundle.write({ dir: root, format: "esm", entryFileNames: "app.js" });
  await bundle.close();
  const assets = output.filter((o) => o.type === "asset").map((o) => o.fileName);
  assert.equal(assets.length, 1, assets.join(", "));
  assert.match(assets[0], /\.wasm$/);
  const { dom, requests } = await browse(root);
  assert.equal(decision(dom), DECISION, `${dom}\n${requests.join("\n")}`);
  assert.ok(requests.includes(`200 /${assets[0]}`), requests.join("\n"));
});

test("esbuild, --platform=node, no configuration: intercom-authz/inline decides with the package gone", () => {
  const dir = project("node-inline");
  const log = esbuild(dir, ["node-inline.mjs", "--bundle", "--platform=node", "--outfile=out/app.cjs"]);
  assert.equal(log, "", "esbuild warned");
  const elsewhere = path.join(tmp, "node-inline-run");
  fs.mkdirSync(elsewhere);
  fs.renameSync(path.join(dir, "out/app.cjs"), path.join(elsewhere, "app.cjs"));
  fs.rmSync(dir, { recursive: true });
  assert.equal(run("node", ["app.cjs"], elsewhere).stdout.trim(), DECISION);
});

test("esbuild, --platform=node: the main entry, bundled, fails naming intercom-authz/inline", () => {
  const dir = project("node-main");
  esbuild(dir, ["node-main.mjs", "--bundle", "--platform=node", "--outfile=out/app.cjs"]);
  const r = spawnSync("node", ["out/app.cjs"], { cwd: dir, encoding: "utf8" });
  assert.notEqual(r.status, 0, r.stdout);
  assert.match(r.stderr, /cannot read .*intercom_authz_bg\.wasm \(ENOENT\)\. Bundled\? .*import intercom-authz\/inline/, r.stderr);
});

test("Node without a bundler: intercom-authz/inline imports as an ES module in a CommonJS project", () => {
  const dir = project("node-unbundled");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "app", type: "commonjs" }));
  assert.equal(run("node", ["node-inline.mjs"], dir).stdout.trim(), DECISION);
});

test("TypeScript: intercom-authz/inline's declarations, nodenext and bundler resolution", () => {
  const dir = project("types");
  for (const [module, resolution] of [["nodenext", "nodenext"], ["esnext", "bundler"]]) {
    const options = { strict: true, noEmit: true, target: "es2022", lib: ["esnext", "dom"], module, moduleResolution: resolution, types: [] };
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: ["consumer.mts"] }));
    run(path.join(TOOLS, ".bin/tsc"), ["-p", "tsconfig.json"], dir);
  }
});

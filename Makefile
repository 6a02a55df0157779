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
WASM_OPT_FLAGS := -O3 --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
CARGO_WASM := target/wasm32-wasip1/release/intercom_authz.wasm

.PHONY: all build test test-rust test-lint test-nostd test-envoy wasm demo bench bench-envoy deps clean

all: build

build:
	cargo build --release

# ---- what a fresh machine needs ------------------------------------------------------------
deps: .deps-rust $(VENV)/.ok $(NODE_TOOLS)/.ok

.deps-rust:
	rustup target add wasm32-wasip1 x86_64-unknown-none
	@touch $@

$(VENV)/.ok: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r tests/requirements.txt
	$(ENVOY) --version
	@touch $@

$(NODE_TOOLS)/.ok: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund
	@touch $@

# ---- the filter ----------------------------------------------------------------------------
wasm: $(WASM)

$(WASM): .deps-rust $(NODE_TOOLS)/.ok Cargo.toml Cargo.lock $(wildcard src/*.rs src/*.tsv)
	cargo rustc --lib --release --target wasm32-wasip1 --features filter --crate-type cdylib
	@mkdir -p dist
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(CARGO_WASM) -o $@
	@echo "$@: $$(stat -c %s $@) bytes ($$(gzip -9c $@ | wc -c) gzipped), before wasm-opt $$(stat -c %s $(CARGO_WASM))"

# ---- tests ---------------------------------------------------------------------------------
test: test-lint test-nostd test-rust test-envoy
	@echo "make test: all passed"

test-rust:
	cargo test --features cli

test-lint:
	cargo fmt --check
	cargo clippy --all-targets --features filter,cli -- -D warnings

test-nostd: .deps-rust
	cargo build --no-default-features --lib --target x86_64-unknown-none

# The Envoy harness replays the corpus materialized (tokens minted now) by the decisions test.
test-envoy: $(WASM) $(VENV)/.ok
	cargo test --test decisions
	$(PY) -m unittest -v tests/envoy/test_envoy.py

# ---- demo and benchmarks -------------------------------------------------------------------
demo: $(WASM) $(VENV)/.ok
	$(PY) envoy/demo.py

bench:
	cargo bench --bench decide

bench-envoy: $(WASM) $(VENV)/.ok
	$(PY) envoy/bench/run.py

clean:
	cargo clean
	rm -rf dist .deps-rust

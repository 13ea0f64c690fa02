# b2w-coleta: `make test` and `make run` set up everything a fresh machine lacks.
SHELL := /bin/bash
WASM_BINDGEN_VERSION := 0.2.130
CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(CARGO_BIN):$(PATH)

.PHONY: setup build start run test test-rust test-wasm test-node chaos bench fmt clean

setup: node/node_modules/.package-lock.json
	@rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$" || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@command -v wasm-pack >/dev/null || cargo install wasm-pack
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	  || echo "note: no Chromium; the admin page test needs it (apt-get install chromium)"

node/node_modules/.package-lock.json: node/package.json node/package-lock.json
	cd node && npm ci --no-audit --no-fund

node/pkg/b2w_coleta_bg.wasm: Cargo.toml Cargo.lock $(wildcard src/*.rs)
	wasm-pack build --release --target nodejs --out-dir node/pkg
	@rm -f node/pkg/.gitignore node/pkg/README.md

build: setup node/pkg/b2w_coleta_bg.wasm

start:
	cd node && node src/main.js

run: build start

test: build test-rust test-wasm test-node

test-rust:
	cargo test

test-wasm:
	wasm-pack test --node

test-node:
	cd node && node --test --test-concurrency=1 ../tests/*.test.mjs

# Benchmarks (not part of `make test`): writes bench/results.json; see BENCHMARKS.md.
bench: build
	node bench/run.mjs

# The full chaos run (not part of `make test`, which runs a short one): see RELIABILITY.md.
chaos: build
	node tests/chaos.mjs --orders 500 --kills 5 --seed 1

fmt:
	cargo fmt --all

clean:
	rm -rf target node/pkg node/node_modules

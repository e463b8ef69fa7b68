# acu-pilot — every target installs what it needs and stops what it starts.
#   make demo    the main job, end to end, on the local AWS emulator
#   make test    format check, clippy, unit + property + integration tests (emulator)
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
AARCH64 := aarch64-unknown-linux-gnu

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

.PHONY: toolchain
toolchain: ## the Rust components and the aarch64 target the builds need
	@rustup component add rustfmt clippy >/dev/null 2>&1 || true
	@rustup target list --installed | grep -qx $(AARCH64) || rustup target add $(AARCH64)

.PHONY: emulator
emulator: ## install the local AWS emulator into .venv-ministack
	@scripts/install-emulator.sh

.PHONY: lint
lint: toolchain ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: test
test: lint emulator ## everything CI checks: lint, unit, property and emulator tests
	$(CARGO) build --workspace --all-targets
	scripts/with-emulator.sh $(CARGO) test --workspace --no-fail-fast

.PHONY: demo
demo: toolchain emulator ## the end-to-end demo on the local emulator
	$(CARGO) build --workspace
	scripts/with-emulator.sh scripts/demo.sh

.PHONY: clean
clean: ## remove build output and the project-local virtualenvs
	$(CARGO) clean
	rm -rf .venv-ministack .venv-tools .aws-sam

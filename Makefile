# acu-pilot — every target installs what it needs and stops what it starts.
#   make demo    the main job, end to end, on the local AWS emulator
#   make test    format check, clippy, template validation, unit + property + emulator tests
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
AARCH64 := aarch64-unknown-linux-gnu
FUNCTIONS := provisioner alarm-handler pre-scaler janitor
VENV_TOOLS := .venv-tools
export SAM_CLI_TELEMETRY := 0

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

.PHONY: toolchain
toolchain: ## the Rust components and the aarch64 target the builds need
	@rustup component add rustfmt clippy >/dev/null 2>&1 || true
	@rustup target list --installed | grep -qx $(AARCH64) || rustup target add $(AARCH64)

.PHONY: emulator
emulator: ## install the local AWS emulator (ministack) into .venv-ministack
	@scripts/install-emulator.sh

$(VENV_TOOLS)/.build-installed: scripts/requirements-build.txt
	test -x $(VENV_TOOLS)/bin/python || python3 -m venv $(VENV_TOOLS)
	$(VENV_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

# The validation tools (aws-sam-cli brings boto3); scripts/validate.sh keeps the same stamp.
$(VENV_TOOLS)/.installed: scripts/requirements-tools.txt
	test -x $(VENV_TOOLS)/bin/python || python3 -m venv $(VENV_TOOLS)
	$(VENV_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

.PHONY: lint
lint: toolchain ## cargo fmt --check, clippy -D warnings, the crate layering and what the bootstraps must not link
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	scripts/check-layers.sh
	scripts/check-bootstraps.sh

.PHONY: validate
validate: ## cfn-lint, checkov and sam validate --lint on template.yaml; cfn-lint and checkov on spoke.yaml
	scripts/validate.sh

.PHONY: nextest
nextest: ## cargo-nextest, which runs make test's tests (cargo install --locked where it is missing)
	@command -v cargo-nextest >/dev/null || $(CARGO) install --locked cargo-nextest

# Doc tests first (nextest does not run them), so that nextest's Summary line, the count of
# every test, is the last thing printed. .config/nextest.toml runs the emulator suites one
# test at a time.
.PHONY: test
test: lint validate emulator nextest $(VENV_TOOLS)/.build-installed ## everything CI checks: lint, template, unit, property and emulator tests
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --doc
	mkdir -p target; set -o pipefail; scripts/with-emulator.sh $(CARGO) nextest run --workspace 2>&1 | tee target/test.log

.PHONY: demo
demo: toolchain emulator ## the end-to-end demo on the local emulator
	$(CARGO) build --workspace
	scripts/with-emulator.sh scripts/demo.sh

.PHONY: bench
bench: toolchain emulator $(VENV_TOOLS)/.build-installed ## policy comparison, API economy, janitor sweep, bootstrap size and start-up
	$(CARGO) build --workspace --bins --examples
	PATH="$(CURDIR)/$(VENV_TOOLS)/bin:$$PATH" scripts/with-emulator.sh scripts/bench.sh

.PHONY: build
build: toolchain $(VENV_TOOLS)/.build-installed ## Lambda bootstraps for arm64 (cargo lambda build --release --arm64)
	PATH="$(CURDIR)/$(VENV_TOOLS)/bin:$$PATH" $(CARGO) lambda build --release --arm64 $(addprefix --package ,$(FUNCTIONS))

.PHONY: deploy
deploy: validate toolchain $(VENV_TOOLS)/.build-installed ## sam build + sam deploy (guided the first time)
	PATH="$(CURDIR)/$(VENV_TOOLS)/bin:$$PATH" $(VENV_TOOLS)/bin/sam build
	PATH="$(CURDIR)/$(VENV_TOOLS)/bin:$$PATH" $(VENV_TOOLS)/bin/sam deploy $(if $(wildcard .aws-sam/deployed-once),,--guided) && touch .aws-sam/deployed-once

# A wrong FN fails before anything is installed or built.
ifneq ($(filter deploy-fn,$(MAKECMDGOALS)),)
ifneq ($(words $(FN))$(filter $(FN),$(FUNCTIONS)),1$(strip $(FN)))
$(error deploy-fn: FN='$(FN)' is not one of the functions: $(FUNCTIONS))
endif
endif
.PHONY: deploy-fn
deploy-fn: toolchain $(VENV_TOOLS)/.build-installed $(VENV_TOOLS)/.installed ## one function's new code into the deployed stack, configuration kept: make deploy-fn FN=alarm-handler [STACK=acu-pilot]
	PATH="$(CURDIR)/$(VENV_TOOLS)/bin:$$PATH" scripts/deploy-fn.sh $(FN) $(STACK)

.PHONY: invoke-%
invoke-%: ## run one function in-process where the SDK points (your account, or AWS_ENDPOINT_URL): make invoke-janitor EVENT=file [NOW=rfc3339] [WRITE=1]
	$(CARGO) build -p acu-pilot-cli
	$${CARGO_TARGET_DIR:-target}/debug/acu-pilot invoke $* --event $(or $(EVENT),tests/fixtures/scheduled-event.json) $(if $(NOW),--now $(NOW)) $(if $(WRITE),,--dry-run)

.PHONY: clean
clean: ## remove build output and the project-local virtualenvs
	$(CARGO) clean
	rm -rf .venv-ministack .venv-tools .venv-checkov .aws-sam

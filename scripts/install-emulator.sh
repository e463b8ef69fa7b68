#!/usr/bin/env bash
# Installs the local AWS emulator (ministack) into its own project-local virtualenv.
# ministack pins botocore, so it stays apart from the other Python tools (.venv-tools).
# cbor2 is not optional: without it ministack silently mis-parses the Rust CloudWatch
# SDK's Smithy RPC v2 CBOR requests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-ministack"
stamp="$venv/.installed-$(sha256sum "$root/scripts/requirements-emulator.txt" | cut -c1-16)"
[ -f "$stamp" ] && exit 0
echo "installing the local AWS emulator into $venv" >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements-emulator.txt"
touch "$stamp"

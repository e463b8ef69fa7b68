#!/usr/bin/env bash
# What must not come back into the Lambda bootstraps, each a size regression found once
# already (the workspace Cargo.toml says why for each). `cargo tree` reads the normal
# dependencies of each function, which are what its bootstrap links.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
status=0

# ICU4X's Unicode tables, brought by idna_adapter 1.2.x when Cargo.lock's pin to 1.0.0 is
# lost (e.g. by a plain `cargo update`).
forbidden='^icu_'
for function in provisioner alarm-handler pre-scaler janitor; do
  found=$("$cargo" tree -p "$function" -e normal --prefix none --format '{p}' 2>/dev/null \
    | awk '{print $1}' | sort -u | grep -E "$forbidden" || true)
  if [ -n "$found" ]; then
    echo "bootstraps: $function links what its size budget has no room for:" >&2
    echo "$found" | sed 's/^/  /' >&2
    echo "  (cargo update -p idna_adapter --precise 1.0.0; see the workspace Cargo.toml)" >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "bootstraps: no ICU4X tables in any function"
exit $status

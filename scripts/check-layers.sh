#!/usr/bin/env bash
# The architecture as a check: the crates below `app` stay pure of the AWS SDK, the Lambda
# runtime and tokio, and no crate depends on one above it (docs/architecture.md).
# `cargo tree` reads the normal dependencies, which are what a crate can name in its code.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
status=0

# crate => what it must never reach, directly or through another crate
declare -A forbidden=(
  [acu-pilot-core]='^(aws-|lambda_runtime|tokio|acu-pilot-(ports|aws|app|sim|lambda))'
  [acu-pilot-ports]='^(aws-|lambda_runtime|tokio|acu-pilot-(aws|app|sim|lambda))'
  [acu-pilot-sim]='^(aws-|lambda_runtime|tokio|acu-pilot-(ports|aws|app|lambda))'
  [acu-pilot-app]='^(aws-sdk|aws-config|aws-smithy|lambda_runtime|acu-pilot-(aws|sim|lambda))'
  [acu-pilot-aws]='^(lambda_runtime|acu-pilot-(app|sim|lambda))'
)
for crate in "${!forbidden[@]}"; do
  found=$("$cargo" tree -p "$crate" -e normal --prefix none --format '{p}' 2>/dev/null \
    | awk '{print $1}' | sort -u | grep -E "${forbidden[$crate]}" || true)
  if [ -n "$found" ]; then
    echo "layering: $crate depends on what its layer must not reach:" >&2
    echo "$found" | sed 's/^/  /' >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "layering: every crate depends only downward"
exit $status

#!/usr/bin/env bash
# Runs a command with the local AWS emulator: starts ministack on a free loopback port,
# points the AWS SDKs at it with AWS_ENDPOINT_URL and dummy credentials, and stops it on
# exit — also when the command fails or is interrupted.
#   scripts/with-emulator.sh cargo test --workspace
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=$(mktemp -d "${TMPDIR:-/tmp}/acu-pilot-emulator.XXXXXX")
pid=""
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ "${ACU_PILOT_KEEP_EMULATOR_LOG:-}" != "" ]; then
    cp "$state"/ministack-*.log "$ACU_PILOT_KEEP_EMULATOR_LOG" 2>/dev/null || true
  fi
  rm -rf "$state"
}
trap stop EXIT
trap 'exit 130' INT TERM

endpoint=$("$root/scripts/start-emulator.sh" "$state")
pid=$(cat "$state/pid")
port=${endpoint##*:}

export AWS_ENDPOINT_URL="$endpoint"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export ACU_PILOT_EMULATOR_LOG="$state/ministack-$port.log"
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "emulator: $endpoint (pid $pid)" >&2
"$@"

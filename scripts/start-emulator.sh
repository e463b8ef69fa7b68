#!/usr/bin/env bash
# Starts the local AWS emulator (ministack) on a free loopback port and prints its endpoint
# once it answers its health check; fails with the emulator's log when it does not.
# The one way the emulator is started: scripts/with-emulator.sh and the integration tests
# (when run without it) both call this.
#   scripts/start-emulator.sh STATE_DIR [WATCH_PID]
# STATE_DIR receives the emulator's state, its log and its pid (`pid`). With WATCH_PID, a
# watchdog stops the emulator when that process has gone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${1:?usage: start-emulator.sh STATE_DIR [WATCH_PID]}
watch=${2:-}
"$root/scripts/install-emulator.sh"
mkdir -p "$state"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GATEWAY_PORT=$port BIND_HOST=127.0.0.1 TMPDIR=$state \
  "$root/.venv-ministack/bin/ministack" -d >/dev/null
pid=$(cat "$state/ministack-$port.pid")
echo "$pid" >"$state/pid"
endpoint="http://127.0.0.1:$port"
for _ in $(seq 100); do
  if curl -fsS "$endpoint/_ministack/health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
if ! curl -fsS "$endpoint/_ministack/health" >/dev/null; then
  echo "the emulator did not start; its log:" >&2
  cat "$state"/ministack-*.log >&2 || true
  kill "$pid" 2>/dev/null || true
  exit 1
fi
if [ -n "$watch" ]; then
  # Detached from our stdout, so a caller reading the endpoint is not kept waiting.
  nohup sh -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; kill $pid 2>/dev/null" \
    >/dev/null 2>&1 &
fi
echo "$endpoint"

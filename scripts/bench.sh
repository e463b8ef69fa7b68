#!/usr/bin/env bash
# `make bench`: the speed, size and API-economy figures, measured — never asserted by
# timed tests. Runs on the local emulator (scripts/with-emulator.sh sets it up).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# API counts do not depend on the build profile, and the sweep timings are compared with
# each other, not with a target: the dev build serves; the bootstraps are measured in release.
debug="${CARGO_TARGET_DIR:-$root/target}/debug"
cli="$debug/acu-pilot"
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "Policy comparison with static-wide and the limit on every trace in the repository (a model of Aurora, see docs/simulator.md)"
for trace in examples/traces/sales-day.csv examples/traces/week.csv examples/traces/nab/*.csv; do
  echo "-- $trace"
  "$cli" simulate --trace "$trace" --calendar examples/calendar-sales-day.yaml
done

section "API calls per alarm event (alarm-handler)"
"$debug"/examples/bench_alarm

section "Janitor sweep of an unchanged fleet: time and API calls per cluster"
"$debug"/examples/bench_janitor

section "Janitor tick over a fleet of 5 accounts (hub and 4 spokes): time and API calls per cluster"
"$debug"/examples/bench_fleet

section "Concurrency: alarm-handler, pre-scaler and janitor on one cluster, 200 drawn interleavings"
"$debug"/examples/bench_race 200

section "Lambda bootstraps: size, start-up and peak memory"
scripts/bench-functions.sh

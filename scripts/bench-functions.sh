#!/usr/bin/env bash
# Benchmarks of the four function bootstraps, as Lambda would see them (`make bench`):
#   - size: `cargo lambda build --release --arm64`; each bootstrap's stripped and zipped
#     size (target: <= 6 MB stripped);
#   - start-up and memory: x86_64 release builds run against a local Lambda Runtime API
#     (tests/examples/runtime_api.rs): the time from process spawn to the first
#     GET /next (target: <= 30 ms) and the peak RSS (VmHWM) over 100 invocations
#     (target: <= 32 MB).
# Figures, not assertions: the script fails only when a build or a run fails.
#
#   scripts/bench-functions.sh            both parts
#   BENCH_SKIP_ARM64=1 scripts/bench-functions.sh    start-up and memory only
#   BENCH_INVOCATIONS=100 (default)
#
# The release builds (LTO, one codegen unit) take minutes on two cores; they share the
# target dir with `make build`. The functions talk to the local AWS emulator (started
# here unless AWS_ENDPOINT_URL is set), so work that reaches AWS is measured too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  exec scripts/with-emulator.sh "$0" "$@"
fi

functions=(provisioner alarm-handler pre-scaler janitor)
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
invocations=${BENCH_INVOCATIONS:-100}
target=${CARGO_TARGET_DIR:-$root/target}
results=$(mktemp -d "${TMPDIR:-/tmp}/acu-pilot-bench.XXXXXX")
trap 'rm -rf "$results"' EXIT

# ---------------------------------------------------------------- sizes (arm64)
declare -A stripped zipped
if [ -z "${BENCH_SKIP_ARM64:-}" ]; then
  venv="$root/.venv-tools"
  stamp="$venv/.installed-build-$(sha256sum scripts/requirements-build.txt | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "==> installing cargo-lambda and zig into $venv" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-build.txt
    touch "$stamp"
  fi
  export PATH="$venv/bin:$PATH"
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
    rustup target add aarch64-unknown-linux-gnu
  echo "==> cargo lambda build --release --arm64 (slow: LTO)" >&2
  cargo lambda build --release --arm64 "${packages[@]}" >&2

  # The release profile strips already (strip = true); strip a copy again when a
  # strip that reads aarch64 is at hand, so the figure never includes symbols.
  strip_tool=""
  for tool in llvm-strip aarch64-linux-gnu-strip; do
    if command -v "$tool" >/dev/null; then strip_tool=$tool; break; fi
  done
  for f in "${functions[@]}"; do
    bootstrap="$target/lambda/$f/bootstrap"
    [ -f "$bootstrap" ] || { echo "no $bootstrap after the build" >&2; exit 1; }
    cp "$bootstrap" "$results/$f"
    if [ -n "$strip_tool" ]; then "$strip_tool" "$results/$f" 2>/dev/null || true; fi
    stripped[$f]=$(stat -c %s "$results/$f")
    python3 - "$results/$f" "$results/$f.zip" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, open(src, "rb").read(), compresslevel=9)
PY
    zipped[$f]=$(stat -c %s "$results/$f.zip")
    if command -v file >/dev/null; then echo "    $(file -b "$bootstrap" | cut -d, -f1-2)" >&2; fi
  done
fi

# ---------------------------------------------------------------- start-up and memory (x86_64)
echo "==> cargo build --release (x86_64) and the Runtime API harness" >&2
cargo build --release "${packages[@]}" >&2
# The harness is std only: rustc builds it in a second, without touching the
# workspace's feature unification (a `cargo build -p acu-pilot-tests` would rebuild the
# SDK crates with another feature set).
harness="$results/runtime_api"
rustc --edition 2024 -O tests/examples/runtime_api.rs -o "$harness" >&2

# Real work for every function. A managed cluster, provisioned and then boosted by its
# high alarm through the CLI (the handlers' own code, in-process): the provisioner is then
# asked to provision it again and finds it complete (DescribeDBClusters, instances,
# alarms), and the alarm-handler gets that alarm's event again, a duplicate (DescribeAlarms,
# DescribeDBClusters, no write).
cli="$target/debug/acu-pilot"
[ -x "$cli" ] || cargo build -p acu-pilot-cli >&2
cluster=bench-shop
provision=$(cat <<JSON
{"action":"provision","cluster_id":"$cluster","min_acu":0.5,"max_acu":16,"readers":0,
 "db_subnet_group":"bench-subnets","security_group_ids":["sg-00000001"],
 "deletion_protection":false,"recipe_alarms":true,"backup_retention_days":1}
JSON
)
now=$(date -u +%Y-%m-%dT%H:%M:%S)
before=$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%S)
alarm=$(sed -e "s/shop-db/$cluster/g" -e 's/123456789012/000000000000/g' \
  -e "s/2026-11-25T18:00:40/$now/g" -e "s/2026-11-25T17:50:40/$before/g" \
  tests/fixtures/alarm-eventbridge-high-alarm.json)
echo "$provision" >"$results/provision.json"
echo "$alarm" >"$results/alarm.json"
echo "==> setting up $cluster in the emulator (provisioned, then boosted by its high alarm)" >&2
# Creating a cluster needs acu-pilot's ownership key (docs/security.md): the stack keeps it
# in a secret, the bench in a SecureString of the emulator, as the demo does.
"$root/.venv-ministack/bin/python" - <<'PY'
import boto3, secrets
boto3.client("ssm").put_parameter(
    Name="/acu-pilot-bench/ownership-key", Type="SecureString",
    Value=secrets.token_hex(32), Overwrite=True)
PY
export ACU_PILOT_OWNERSHIP_KEY_PARAMETER=/acu-pilot-bench/ownership-key
for _ in 1 2 3 4 5; do
  status=$("$cli" invoke provisioner --event "$results/provision.json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status"))')
  [ "$status" = complete ] && break
done
[ "$status" = complete ] || { echo "provisioning $cluster did not complete ($status)" >&2; exit 1; }
"$cli" invoke alarm-handler --event "$results/alarm.json" >/dev/null

scheduled='{"version":"0","id":"bench","detail-type":"Scheduled Event","source":"aws.scheduler","account":"000000000000","time":"2026-11-25T12:00:00Z","region":"us-east-1","resources":[],"detail":{}}'
declare -A events=(
  [provisioner]=$provision
  [alarm-handler]=$alarm
  # A real tick against the emulator: calendar, fleet listing, SDK clients in use.
  [pre-scaler]=$scheduled
  [janitor]=$scheduled
)
for f in "${functions[@]}"; do
  echo "==> $f: $invocations invocations" >&2
  ACU_PILOT_DRY_RUN=true "$harness" "$target/release/$f" "${events[$f]}" "$invocations" >"$results/$f.json"
  cat "$results/$f.json" >&2
done

# ---------------------------------------------------------------- table
echo
printf "%-14s %12s %11s %15s %13s %s\n" function "stripped MB" "zipped MB" "first-poll ms" "peak RSS MB" "responses/errors, last answer"
for f in "${functions[@]}"; do
  python3 - "$results/$f.json" "$f" "${stripped[$f]:-}" "${zipped[$f]:-}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
size = lambda b: f"{int(b) / 1e6:.2f}" if b else "-"
poll = "-" if r["first_poll_ms"] is None else f"{r['first_poll_ms']:.1f}"
answer = r["last_error"] or r["last_response"]
try:
    a = json.loads(answer)
    answer = ", ".join(f"{k}={a[k]}" for k in ("status", "decision", "reason", "changed", "errorType", "errorMessage") if k in a)
except ValueError:
    pass
print(f"{sys.argv[2]:<14} {size(sys.argv[3]):>12} {size(sys.argv[4]):>11} {poll:>15} {r['peak_rss_mb']:>13.1f} {r['responses']}/{r['errors']}, {answer[:110]}")
PY
done
echo "targets: <= 6 MB stripped, <= 30 ms to first poll, <= 32 MB peak RSS"

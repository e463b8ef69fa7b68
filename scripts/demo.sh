#!/usr/bin/env bash
# The demo, run by `make demo` inside scripts/with-emulator.sh (AWS_ENDPOINT_URL is set):
# one sales day of shop-db, moved through time with --now.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The build goes where cargo puts it: a shared CARGO_TARGET_DIR is honoured.
cli="${CARGO_TARGET_DIR:-$root/target}/debug/acu-pilot"
py="$root/.venv-ministack/bin/python"
out="$root/target/demo"
mkdir -p "$out"
export ACU_PILOT_CALENDAR="$root/examples/calendar.yaml"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Prints the lines of a handler's JSON result that a person reads first.
summary() { "$py" -c '
import json, sys
r = json.load(sys.stdin)
def rng(x): return "%g–%g ACU" % (x["min"], x["max"])
keys = sys.argv[1:]
for k in keys:
    v = r.get(k)
    if isinstance(v, dict) and "min" in v: v = rng(v)
    elif isinstance(v, (dict, list)): v = json.dumps(v)
    print(f"  {k}: {v}")
' "$@"; }
plan() { echo "-- acu-pilot plan --now $1"; "$cli" plan --cluster shop-db --now "$1"; }

step "0. The user's network: a DB subnet group (exists before acu-pilot); acu-pilot's ownership key"
"$py" - <<'PY'
import boto3, secrets
boto3.client("rds").create_db_subnet_group(
    DBSubnetGroupName="shop-db-subnets", DBSubnetGroupDescription="shop",
    SubnetIds=["subnet-00000001", "subnet-00000002"])
print("  shop-db-subnets created")
# The key of the proof that acu-pilot created a cluster (docs/security.md); the stack keeps
# it in a secret only its roles can read, the demo in a SecureString of the emulator.
boto3.client("ssm").put_parameter(
    Name="/acu-pilot-demo/ownership-key", Type="SecureString",
    Value=secrets.token_hex(32), Overwrite=True)
print("  ownership key stored in /acu-pilot-demo/ownership-key")
PY
export ACU_PILOT_OWNERSHIP_KEY_PARAMETER=/acu-pilot-demo/ownership-key

now=2026-11-26T21:00:00Z
step "1. Provision shop-db through the provisioner ($now): recipe alarms, 0.5–16 ACU"
for attempt in 1 2 3 4 5; do
  "$cli" invoke provisioner --event tests/fixtures/provision-request.json --now "$now" > "$out/provision.json"
  status=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$out/provision.json")
  echo "  attempt $attempt: $status"
  [ "$status" = complete ] && break
done
summary status steps_done writer_endpoint reader_endpoint < "$out/provision.json"
plan "$now"

now=2026-11-27T03:00:00Z
step "2. The recipe's High-ACU alarm fires ($now): the alarm-handler widens max"
"$py" - "$now" tests/fixtures/alarm-eventbridge-high-alarm.json "$out/high-alarm.json" <<'PY'
import json, sys
now, src, dst = sys.argv[1:]
e = json.load(open(src))
e["time"] = now
e["detail"]["state"]["timestamp"] = now.replace("Z", ".000+0000")
json.dump(e, open(dst, "w"))
PY
"$cli" invoke alarm-handler --event "$out/high-alarm.json" --now "$now" > "$out/alarm.json"
summary alarm transition decision reason before after changed threshold < "$out/alarm.json"
echo "-- the same event delivered again (EventBridge delivers at least once):"
"$cli" --api-calls invoke alarm-handler --event "$out/high-alarm.json" --now "$now" | summary decision reason changed
plan "$now"

now=2026-11-27T04:05:00Z
step "3. A pre-scaler tick before Black Friday ($now = 23:05 New York, the sale starts at midnight, lead 1h)"
"$cli" invoke pre-scaler --event tests/fixtures/scheduled-event.json --now "$now" > "$out/prescale.json"
"$py" -c '
import json, sys
r = json.load(open(sys.argv[1]))
for c in r.get("clusters", []):
    if c.get("cluster") != "shop-db": continue
    print("  windows:", ", ".join("%s:%s" % (w.get("source"), w.get("name")) for w in c.get("windows", [])))
    print("  layer:", c.get("layer"), "| before:", c.get("before"), "| after:", c.get("after"), "| changed:", c.get("changed"))
' "$out/prescale.json"
plan "$now"

now=2026-11-28T12:00:00Z
step "4. The janitor after the sale ($now): expired layers go, the range and the alarm threshold are restored"
"$cli" invoke janitor --event tests/fixtures/scheduled-event.json --now "$now" > "$out/janitor.json"
summary clusters_seen changed drifted expired_layers thresholds_restored alarms_deleted decommissioned errors < "$out/janitor.json"
plan "$now"

step "5. What would acu-pilot do on a sales day? acu-pilot simulate (a model of Aurora, not a measurement)"
"$cli" simulate --trace examples/traces/sales-day.csv --calendar examples/calendar-sales-day.yaml --plot "$out/sales-day.svg"
echo
echo "Plot: $out/sales-day.svg and $out/sales-day.png"

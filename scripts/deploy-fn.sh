#!/usr/bin/env bash
# Deploys one function's new build into the deployed stack's function (`make deploy-fn`):
#   scripts/deploy-fn.sh FN [STACK]      FN: provisioner | alarm-handler | pre-scaler | janitor
#
# Builds FN with `cargo lambda build --release --arm64`, reads the function's name and
# role from the stack's outputs (`<Fn>Name`, `<Fn>RoleArn`), and runs `cargo lambda
# deploy` of that bootstrap under the function's physical name. Under that name
# cargo-lambda applies none of the package's deploy metadata, so only the code changes:
# memory, timeout, environment (the stack's parameters, DryRun among them), tags, and the
# rules and schedules that invoke it stay as the stack made them.
#
# STACK defaults to samconfig.toml's stack_name. AWS_ENDPOINT_URL, when set, is where
# both the outputs and the deploy go (the local emulator). DEPLOY_FN_BOOTSTRAP=FILE
# deploys that file instead of building (the emulator needs an x86_64 one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

functions="provisioner alarm-handler pre-scaler janitor"
fn=${1:-}
case "$fn" in
  provisioner) key=Provisioner ;;
  alarm-handler) key=AlarmHandler ;;
  pre-scaler) key=PreScaler ;;
  janitor) key=Janitor ;;
  *)
    echo "deploy-fn: FN='$fn' is not a function of this stack; FN must be one of: $functions" >&2
    exit 2
    ;;
esac
stack=${2:-$(sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml | head -1)}
[ -n "$stack" ] || { echo "deploy-fn: no STACK given and no stack_name in samconfig.toml" >&2; exit 2; }
python=${DEPLOY_FN_PYTHON:-$root/.venv-tools/bin/python}

# Outputs first: a stack that lacks them fails here, before a minutes-long build.
outputs=$("$python" - "$stack" "$key" <<'PY'
import sys
import boto3
from botocore.exceptions import ClientError

stack, key = sys.argv[1], sys.argv[2]
try:
    found = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
except ClientError as err:
    sys.exit(f"deploy-fn: cannot read stack {stack}: {err}")
outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
missing = [k for k in (f"{key}Name", f"{key}RoleArn") if k not in outputs]
if missing:
    sys.exit(
        f"deploy-fn: stack {stack} has no output {' or '.join(missing)}; "
        "deploy the current template once with `make deploy`"
    )
print(outputs[f"{key}Name"], outputs[f"{key}RoleArn"])
PY
)
read -r name role <<<"$outputs"

if [ -n "${DEPLOY_FN_BOOTSTRAP:-}" ]; then
  binary=(--binary-path "$DEPLOY_FN_BOOTSTRAP")
else
  cargo lambda build --release --arm64 --package "$fn"
  binary=(--binary-name "$fn")
fi
echo "deploy-fn: $fn → $name (stack $stack, role $role)" >&2
cargo lambda deploy ${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} \
  "${binary[@]}" --role "$role" "$name"

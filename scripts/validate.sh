#!/usr/bin/env bash
# Validates template.yaml: cfn-lint (0 errors, 0 warnings), checkov (0 failed checks;
# skips only inside the template, each with a written reason) and `sam validate --lint`;
# then the spoke template (spoke.yaml, plain CloudFormation for a StackSet) with cfn-lint
# and checkov the same way. An explicit template argument validates only that one.
#
# The tools live in project-local virtualenvs, created on first use from the pinned
# requirement files next to this script:
#   .venv-tools    cfn-lint, aws-sam-cli        (scripts/requirements-tools.txt)
#   .venv-checkov  checkov                      (scripts/requirements-checkov.txt)
# checkov pins an old boto3 that aws-sam-cli cannot share, hence two environments.
# A requirement file newer than its virtualenv's stamp triggers a reinstall.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
template="${1:-template.yaml}"

ensure_venv() { # dir requirements-file
    local venv="$1" requirements="$2" stamp="$1/.installed"
    if [[ ! -f "$stamp" || "$requirements" -nt "$stamp" ]]; then
        echo "==> installing $(basename "$requirements") into $venv"
        [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$requirements"
        touch "$stamp"
    fi
}

ensure_venv .venv-tools scripts/requirements-tools.txt
ensure_venv .venv-checkov scripts/requirements-checkov.txt

# sam validate needs a region and some credentials to start; nothing is sent to AWS.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
if [[ -z "${AWS_ACCESS_KEY_ID:-}" && -z "${AWS_PROFILE:-}" ]]; then
    export AWS_ACCESS_KEY_ID=validate AWS_SECRET_ACCESS_KEY=validate
fi
export SAM_CLI_TELEMETRY=0

echo "==> cfn-lint $template"
# Without --non-zero-exit-code informational, warnings fail the run too (exit 4).
.venv-tools/bin/cfn-lint --non-zero-exit-code warning -- "$template"

echo "==> checkov $template"
.venv-checkov/bin/checkov -f "$template" --framework cloudformation --quiet --compact --skip-download

echo "==> sam validate --lint"
.venv-tools/bin/sam validate --lint --template-file "$template"

echo "==> $template is valid"

if [[ $# -eq 0 ]]; then
    spoke=spoke.yaml
    echo "==> cfn-lint $spoke"
    .venv-tools/bin/cfn-lint --non-zero-exit-code warning -- "$spoke"
    echo "==> checkov $spoke"
    .venv-checkov/bin/checkov -f "$spoke" --framework cloudformation --quiet --compact --skip-download
    echo "==> $spoke is valid"
fi

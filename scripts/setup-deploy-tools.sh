#!/usr/bin/env bash
# Installs the deployment tools into ./.venv (the same one setup-emulator.sh
# uses): cfn-lint and the SAM CLI (template linting, `sam build`/`deploy`),
# and cargo-lambda, which brings zig (the `ziglang` package) to link the
# Lambda binaries against Amazon Linux's glibc. Idempotent: a second run
# with everything present returns at once. See docs/DEPLOY.md.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
CFN_LINT_SPEC='cfn-lint==1.*'
SAM_SPEC='aws-sam-cli==1.*'
CARGO_LAMBDA_SPEC='cargo-lambda==1.*'

have_all() {
    [ -x "$VENV/bin/cfn-lint" ] && [ -x "$VENV/bin/sam" ] && [ -x "$VENV/bin/cargo-lambda" ] &&
        "$VENV/bin/python" -c 'import ziglang' >/dev/null 2>&1
}

if have_all; then
    echo "deploy tools already installed in $VENV"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV"
    python3 -m venv "$VENV"
fi

pip() { "$VENV/bin/python" -m pip --disable-pip-version-check --quiet "$@"; }

pip install --upgrade pip
pip install "$CFN_LINT_SPEC" "$SAM_SPEC" "$CARGO_LAMBDA_SPEC"

if ! have_all; then
    echo "setup-deploy-tools: installation finished but a tool is missing from $VENV/bin" >&2
    exit 1
fi
echo "deploy tools installed in $VENV (put $VENV/bin on PATH for \`cargo lambda\`)"

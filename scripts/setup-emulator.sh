#!/usr/bin/env bash
# Installs the AWS test tools into ./.venv: the moto emulator (used by the
# ibrat-aws tests through `ibrat_aws::testing::Moto`), cfn-lint and the SAM
# CLI (template linting). Idempotent: a second run with everything present
# returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
MOTO_SPEC='moto[server]==5.*'
CFN_LINT_SPEC='cfn-lint==1.*'
SAM_SPEC='aws-sam-cli==1.*'

have_all() {
    [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/cfn-lint" ] && [ -x "$VENV/bin/sam" ] &&
        "$VENV/bin/python" -c 'import moto, flask' >/dev/null 2>&1
}

if have_all; then
    echo "emulator tools already installed in $VENV"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV"
    python3 -m venv "$VENV"
fi

pip() { "$VENV/bin/python" -m pip --disable-pip-version-check --quiet "$@"; }

pip install --upgrade pip
pip install "$MOTO_SPEC" "$CFN_LINT_SPEC" "$SAM_SPEC"

if ! have_all; then
    echo "setup-emulator: installation finished but a tool is missing from $VENV/bin" >&2
    exit 1
fi
echo "emulator tools installed in $VENV"

#!/usr/bin/env bash
# Installs Twilio's official Python helper library into ./.venv, for the
# test that drives the Twilio simulator with it (infra/twilio-sim, test
# `python_library`). Idempotent: returns at once when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
TWILIO_SPEC='twilio==9.*'

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import twilio.rest' >/dev/null 2>&1; then
    echo "twilio helper library already installed in $VENV"
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV"
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip --disable-pip-version-check --quiet install "$TWILIO_SPEC"
"$VENV/bin/python" -c 'import twilio.rest'
echo "twilio helper library installed in $VENV"

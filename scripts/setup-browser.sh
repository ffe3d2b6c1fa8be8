#!/usr/bin/env bash
# Installs what the console's browser tests need: Debian's `chromium`
# (with apt-get, as root, when it is missing) and Python Playwright from
# PyPI into ./.venv. Playwright never downloads a browser here: the tests
# launch the system's /usr/bin/chromium. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PLAYWRIGHT_SPEC='playwright==1.*'

if ! [ -x /usr/bin/chromium ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "chromium is missing; run as root (or: sudo apt-get install -y chromium)" >&2
        exit 1
    fi
    echo "installing chromium from Debian"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV"
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import playwright.sync_api' >/dev/null 2>&1; then
    echo "installing $PLAYWRIGHT_SPEC into $VENV"
    "$VENV/bin/python" -m pip --disable-pip-version-check --quiet install "$PLAYWRIGHT_SPEC"
fi
echo "browser test tools ready: $(/usr/bin/chromium --version 2>/dev/null | head -1)"

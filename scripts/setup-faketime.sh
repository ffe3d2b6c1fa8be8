#!/usr/bin/env bash
# Installs Debian's `faketime` (with apt-get, as root, when it is missing):
# the night pass of scripts/test.sh runs tests with the wall clock moved.
# Idempotent.
set -euo pipefail

if ! command -v faketime >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "faketime is missing; run as root (or: sudo apt-get install -y faketime)" >&2
        exit 1
    fi
    echo "installing faketime from Debian"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y faketime
fi
echo "faketime ready: $(command -v faketime)"

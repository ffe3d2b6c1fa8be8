#!/usr/bin/env bash
# Runs every check and every test. Installs what the tests need (the AWS
# emulator into ./.venv) first, so nothing is ever skipped for lack of it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing test tools"
./scripts/setup-emulator.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked --no-fail-fast

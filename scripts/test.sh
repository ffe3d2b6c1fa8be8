#!/usr/bin/env bash
# Runs every check and every test. Installs what the tests need first (the
# AWS emulator, the template linters and cargo-lambda into ./.venv, Debian's
# chromium and Python Playwright for the console's browser tests, Debian's
# faketime for the night pass), so nothing is ever skipped for lack of a tool.
set -euo pipefail
cd "$(dirname "$0")/.."
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1

echo "==> installing test tools"
./scripts/setup-emulator.sh
./scripts/setup-twilio-lib.sh
./scripts/setup-deploy-tools.sh
./scripts/setup-browser.sh
./scripts/setup-faketime.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> structure checks"
./scripts/check-walls.sh
./scripts/check-table-names.sh
if ! command -v cargo-machete >/dev/null 2>&1; then
    cargo install --locked cargo-machete
fi
echo "==> unused dependencies (cargo machete)"
cargo machete

echo "==> template checks"
.venv/bin/python scripts/check-template.py
.venv/bin/cfn-lint template.yaml
.venv/bin/sam validate --lint --template template.yaml

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked --no-fail-fast

echo "==> service, handler and end-to-end tests on a Sunday night (faketime)"
./scripts/night-tests.sh

echo "==> lambda builds"
# The test command proves each function links for Lambda; the shipped
# profile (fat LTO) is built by deploys (docs/DEPLOY.md).
LAMBDA_PROFILE="${LAMBDA_PROFILE:-ci}" ./scripts/lambda-build.sh

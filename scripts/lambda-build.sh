#!/usr/bin/env bash
# Builds the six Lambda functions for x86_64 (provided.al2023) with
# cargo-lambda and prints each bootstrap's size. Output:
# target/lambda/<function>/bootstrap, what `sam build` packages.
#
# The release profile (fat LTO, one codegen unit) is what ships and takes
# a long while on two cores. With CI=true the profile is lightened (no LTO,
# 16 codegen units): CI proves every function links for Lambda, not how
# small or fast the shipped binary is. LAMBDA_PROFILE=full|ci overrides.
set -euo pipefail
cd "$(dirname "$0")/.."

FUNCTIONS=(api csv-import dialer twilio-webhook ws scheduler)

if ! [ -x .venv/bin/cargo-lambda ] && ! command -v cargo-lambda >/dev/null 2>&1; then
    ./scripts/setup-deploy-tools.sh
fi
export PATH="$PWD/.venv/bin:$PATH"

profile="${LAMBDA_PROFILE:-$([ "${CI:-}" = true ] && echo ci || echo full)}"
case "$profile" in
    ci)
        export CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
        ;;
    full) ;;
    *)
        echo "lambda-build: LAMBDA_PROFILE must be full or ci, got $profile" >&2
        exit 2
        ;;
esac

packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "fn-$f"); done

echo "==> cargo lambda build --release ($profile profile)"
start=$(date +%s)
cargo lambda build --release --x86-64 --locked "${packages[@]}"
echo "==> built in $(($(date +%s) - start)) s"

missing=0
printf '%-16s %12s\n' function bytes
for f in "${FUNCTIONS[@]}"; do
    bin="target/lambda/$f/bootstrap"
    if [ -f "$bin" ]; then
        printf '%-16s %12s  (%s)\n' "$f" "$(stat -c %s "$bin")" "$(du -h "$bin" | cut -f1)"
    else
        printf '%-16s %12s\n' "$f" missing
        missing=1
    fi
done
exit "$missing"

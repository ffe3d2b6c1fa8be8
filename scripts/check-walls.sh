#!/usr/bin/env bash
# Fails when a Lambda function compiles what only local mode needs: the
# embedded store (redb) or the local adapters. Local-mode hosting lives in
# infra/ibrat and behind ibrat-http's non-default `local-ws` feature.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for f in api twilio-webhook dialer scheduler ws csv-import; do
    found=$(cargo tree --locked -e normal -p "fn-$f" --prefix none | grep -E '^(redb|ibrat-local) ' | sort -u || true)
    if [ -n "$found" ]; then
        echo "check-walls: fn-$f depends on local-mode crates:" >&2
        echo "$found" | sed 's/^/  /' >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "check-walls: no Lambda depends on redb or ibrat-local"
exit "$status"

#!/usr/bin/env bash
# Fails when a table attribute name or item-key prefix is spelled outside
# shared/services/src/repo/, the one home of the table layout. The names
# are taken from repo/ itself (every attribute it writes or reads, every
# `PREFIX#` of keys.rs), so a new attribute is covered the day it is added.
# Usage: check-table-names.sh [root]   (root defaults to the repository)
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"
repo=shared/services/src/repo

# Attribute names: first argument of the item and update builders and of the
# codec readers inside repo/, the names it keeps in constants, plus the key
# attributes of the schema.
names=$(grep -rhoE '(\.(with|with_opt|set|set_opt|set_if_absent|add|remove|s|n|bool|get)|req_[a-z]+|opt_parse|get_ts|Condition::[A-Za-z]+)\((item, )?"[a-z][a-z0-9_]*"' "$repo" \
    | grep -oE '"[a-z][a-z0-9_]*"$' | tr -d '"' | sort -u)
consts=$(grep -rhoE 'const [A-Z_]+: &str = "[a-z][a-z0-9_]*"' "$repo" | grep -oE '"[a-z][a-z0-9_]*"$' | tr -d '"' | sort -u)
names=$(printf '%s\n' $names $consts pk sk gsi1pk gsi1sk gsi2pk gsi2sk gsi3pk gsi3sk expires_at | sort -u)
# Key prefixes: `PREFIX#` in keys.rs, and the fixed sort keys / partitions.
prefixes=$(grep -hoE '"[A-Z][A-Z0-9_]*#' "$repo/keys.rs" | tr -d '"#' | sort -u)

names_re=$(printf '%s\n' $names | paste -sd'|')
prefixes_re=$(printf '%s\n' $prefixes | paste -sd'|')
attr_re="(\.(with|with_opt|set|set_opt|set_if_absent|add|remove|s|n|bool)|Condition::[A-Za-z]+)\(\"($names_re)\""
key_re="\"($prefixes_re)#"

# Production code that talks to the store (tests and benches build their
# own fixtures; the adapters and the port work on generic items).
scan=(shared/services/src shared/http/src functions infra/ibrat/src)
violations=$(grep -rnE --include='*.rs' "$attr_re|$key_re" "${scan[@]}" \
    | grep -v "^$repo/" | grep -vE '^functions/[^/]+/(tests|benches)/' || true)

if [ -n "$violations" ]; then
    echo "check-table-names: table attribute names or key prefixes spelled outside $repo/:" >&2
    echo "$violations" | sed 's/^/  /' >&2
    echo "Add a named operation to $repo/ and call it instead." >&2
    exit 1
fi
echo "check-table-names: $(printf '%s\n' $names | wc -l) attribute names and $(printf '%s\n' $prefixes | wc -l) key prefixes appear only in $repo/"

#!/usr/bin/env python3
"""Checks template.yaml against the code it deploys.

- The DynamoDB table (keys, attribute types, the GSIs, their projection, the
  TTL attribute, billing mode, point-in-time recovery) matches the schema
  declared once in shared/ports/src/store/schema.rs.
- There is one function per binary in functions/*/Cargo.toml, built by
  cargo-lambda with the right Binary name.
- Every environment variable a function requires (`env("X")` in its crate,
  and the variables `Config::from_env` refuses to start without) is set for
  it, every variable set is one the code reads, and the per-function
  variables the code needs to behave (callback URL, CORS) are present.
- With the SAM translator available (it comes with cfn-lint), the
  transformed template has no dependency cycle; neither linter reports one.

Exits 1 with one line per mismatch; 0 when everything agrees.
Usage: .venv/bin/python scripts/check-template.py [template.yaml]
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check-template: PyYAML is missing; run it with .venv/bin/python (scripts/setup-emulator.sh)")

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_RS = ROOT / "shared/ports/src/store/schema.rs"
CONFIG_RS = ROOT / "shared/services/src/config.rs"
FUNCTIONS = ROOT / "functions"

# Variables the runtime or libraries read, not our code.
RUNTIME_VARS = {"RUST_LOG", "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"}

# Optional in Config::from_env, but a function cannot do its job without them.
NEEDED = {
    "dialer": {"IBRAT_PUBLIC_URL": "Twilio callback URLs are built from it"},
    "twilio-webhook": {"IBRAT_PUBLIC_URL": "signatures are checked over it (empty: the request's Host)"},
    "api": {"IBRAT_CORS_ORIGINS": "browsers are refused without it"},
}

errors: list[str] = []


def fail(msg: str) -> None:
    errors.append(msg)


# ---------------------------------------------------------------- YAML with CloudFormation tags


class CfnLoader(yaml.SafeLoader):
    """Loads !Ref, !GetAtt, !Sub, ... as the long form ({"Ref": x}, {"Fn::Sub": ...})."""


def _construct(tag: str):
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: yaml.Loader, node: yaml.Node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ("Ref", "GetAtt", "Sub", "Join", "If", "Not", "Equals", "And", "Or", "Condition",
             "Select", "Split", "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr", "Transform"):
    CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(path: Path) -> dict:
    with path.open() as f:
        return yaml.load(f, Loader=CfnLoader)


# ---------------------------------------------------------------- the code's schema


def code_schema() -> dict:
    """The TABLE constant of schema.rs: keys, indexes (resolved by const name) and TTL."""
    text = SCHEMA_RS.read_text()
    indexes = {
        m["const"]: {"name": m["name"], "pk": m["pk"], "sk": m["sk"]}
        for m in re.finditer(
            r'const\s+(?P<const>\w+)\s*:\s*IndexDef\s*=\s*IndexDef\s*\{\s*name:\s*"(?P<name>[^"]+)"\s*,'
            r'\s*pk:\s*"(?P<pk>[^"]+)"\s*,\s*sk:\s*"(?P<sk>[^"]+)"\s*,?\s*\}',
            text,
        )
    }
    table = re.search(
        r'const\s+TABLE\s*:\s*TableSchema\s*=\s*TableSchema\s*\{\s*pk:\s*"(?P<pk>[^"]+)"\s*,\s*sk:\s*"(?P<sk>[^"]+)"\s*,'
        r'\s*indexes:\s*&\[(?P<indexes>[^\]]*)\]\s*,\s*ttl:\s*"(?P<ttl>[^"]+)"\s*,?\s*\}',
        text,
    )
    if not table:
        sys.exit(f"check-template: cannot find `pub const TABLE: TableSchema = TableSchema {{ .. }}` in {SCHEMA_RS}")
    names = [n.strip() for n in table["indexes"].split(",") if n.strip()]
    missing = [n for n in names if n not in indexes]
    if missing:
        sys.exit(f"check-template: {SCHEMA_RS.name}: TABLE names indexes {missing} not declared as IndexDef literals")
    return {"pk": table["pk"], "sk": table["sk"], "ttl": table["ttl"], "indexes": [indexes[n] for n in names]}


def key_schema(ks: list, where: str) -> tuple[str | None, str | None]:
    hash_key = [k["AttributeName"] for k in ks if k.get("KeyType") == "HASH"]
    range_key = [k["AttributeName"] for k in ks if k.get("KeyType") == "RANGE"]
    if len(hash_key) != 1 or len(range_key) > 1 or len(ks) != len(hash_key) + len(range_key):
        fail(f"{where}: KeySchema must be one HASH and at most one RANGE key, got {ks}")
    return (hash_key[0] if hash_key else None, range_key[0] if range_key else None)


def check_table(resources: dict) -> None:
    tables = {n: r for n, r in resources.items() if r.get("Type") == "AWS::DynamoDB::Table"}
    if len(tables) != 1:
        fail(f"table: expected exactly one AWS::DynamoDB::Table, found {sorted(tables)}")
        return
    (name, table), = tables.items()
    p = table.get("Properties", {})
    want = code_schema()
    where = f"table {name}"

    if key_schema(p.get("KeySchema", []), where) != (want["pk"], want["sk"]):
        fail(f"{where}: keys {p.get('KeySchema')} but schema.rs declares pk={want['pk']!r}, sk={want['sk']!r}")

    got_idx = {g.get("IndexName"): g for g in p.get("GlobalSecondaryIndexes", [])}
    want_idx = {i["name"]: i for i in want["indexes"]}
    for n in sorted(set(want_idx) - set(got_idx)):
        fail(f"{where}: index {n} is declared in schema.rs but missing from the template")
    for n in sorted(set(got_idx) - set(want_idx)):
        fail(f"{where}: index {n} is in the template but not declared in schema.rs")
    for n in sorted(set(got_idx) & set(want_idx)):
        g, i = got_idx[n], want_idx[n]
        if key_schema(g.get("KeySchema", []), f"{where} index {n}") != (i["pk"], i["sk"]):
            fail(f"{where}: index {n} keys {g.get('KeySchema')} but schema.rs declares pk={i['pk']!r}, sk={i['sk']!r}")
        if g.get("Projection", {}).get("ProjectionType") != "ALL":
            fail(f"{where}: index {n} must project ALL attributes (docs/ACCESS_PATTERNS.md), got {g.get('Projection')}")
    if p.get("LocalSecondaryIndexes"):
        fail(f"{where}: local secondary indexes are not part of schema.rs")

    key_attrs = {want["pk"], want["sk"]} | {a for i in want["indexes"] for a in (i["pk"], i["sk"])}
    defs = {d["AttributeName"]: d.get("AttributeType") for d in p.get("AttributeDefinitions", [])}
    if set(defs) != key_attrs:
        fail(f"{where}: AttributeDefinitions {sorted(defs)} must be exactly the key attributes {sorted(key_attrs)}")
    for a, t in sorted(defs.items()):
        if t != "S":
            fail(f"{where}: key attribute {a} must be a string (S), got {t}")

    ttl = p.get("TimeToLiveSpecification") or {}
    if ttl.get("AttributeName") != want["ttl"] or ttl.get("Enabled") is not True:
        fail(f"{where}: TTL must be enabled on {want['ttl']!r} (schema.rs), got {ttl}")
    if p.get("BillingMode") != "PAY_PER_REQUEST":
        fail(f"{where}: BillingMode must be PAY_PER_REQUEST (on-demand), got {p.get('BillingMode')}")
    if (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
        fail(f"{where}: point-in-time recovery must be enabled")


# ---------------------------------------------------------------- functions and their environment


def crate_bins() -> dict[str, Path]:
    """Binary name -> crate directory, from functions/*/Cargo.toml [[bin]] sections."""
    bins: dict[str, Path] = {}
    for cargo in sorted(FUNCTIONS.glob("*/Cargo.toml")):
        for section in re.findall(r"^\[\[bin\]\]\s*\n((?:(?!^\[).*\n?)*)", cargo.read_text(), re.M):
            m = re.search(r'^\s*name\s*=\s*"([^"]+)"', section, re.M)
            if m:
                bins[m[1]] = cargo.parent
    return bins


def config_vars() -> tuple[set[str], set[str]]:
    """(required, all) variables read by Config::from_env."""
    text = CONFIG_RS.read_text()
    body = text[text.find("fn from_env"):]
    read = set(re.findall(r'\b(?:var|num)\("([A-Z][A-Z0-9_]*)"', body))
    required = set(re.findall(r'\bvar\("([A-Z][A-Z0-9_]*)"\)\s*\.ok_or', body))
    return required, read


def code_vars(crate: Path) -> tuple[set[str], set[str]]:
    """(required, all) variables a function crate reads."""
    required: set[str] = set()
    read: set[str] = set()
    uses_config = False
    sources = sorted((crate / "src").rglob("*.rs"))
    if any("fn_common::" in rs.read_text() for rs in sources):
        # The mains build their ports through functions/common.
        sources += sorted((ROOT / "functions" / "common" / "src").rglob("*.rs"))
    for rs in sources:
        text = rs.read_text()
        # `env("X")?`: the mains' helper that refuses to start without X.
        required |= set(re.findall(r'\benv\("([A-Z][A-Z0-9_]*)"\)', text))
        read |= set(re.findall(r'\b(?:env|var|var_os)\("([A-Z][A-Z0-9_]*)"\)', text))
        uses_config |= "Config::from_env" in text
    if uses_config:
        cfg_required, cfg_read = config_vars()
        required |= cfg_required
        read |= cfg_read
    return required, read | required


def env_names(variables) -> set[str]:
    return set(variables or {}) if isinstance(variables, dict) else set()


def check_functions(template: dict) -> None:
    resources = template.get("Resources", {})
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    global_env = env_names((globals_fn.get("Environment") or {}).get("Variables"))
    bins = crate_bins()
    seen: set[str] = set()

    for name, res in sorted(resources.items()):
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        where = f"function {name}"
        props = res.get("Properties", {})
        meta = res.get("Metadata") or {}
        binary = (meta.get("BuildProperties") or {}).get("Binary")
        if meta.get("BuildMethod") != "rust-cargolambda":
            fail(f"{where}: Metadata.BuildMethod must be rust-cargolambda")
        for prop, want in (("Runtime", "provided.al2023"), ("Architectures", ["x86_64"]), ("Handler", "bootstrap")):
            got = props.get(prop, globals_fn.get(prop))
            if got != want:
                fail(f"{where}: {prop} must be {want}, got {got}")
        if binary not in bins:
            fail(f"{where}: BuildProperties.Binary {binary!r} is no [[bin]] of functions/*/Cargo.toml ({sorted(bins)})")
            continue
        seen.add(binary)
        log_group = (props.get("LoggingConfig") or {}).get("LogGroup")
        if not (isinstance(log_group, dict) and resources.get(log_group.get("Ref"), {}).get("Properties", {}).get("RetentionInDays")):
            fail(f"{where}: LoggingConfig.LogGroup must Ref a log group with RetentionInDays")

        crate = bins[binary]
        required, read = code_vars(crate)
        have = global_env | env_names((props.get("Environment") or {}).get("Variables"))
        rel = crate.relative_to(ROOT)
        for var in sorted(required - have):
            fail(f"{where} ({rel}): {var} is required by the code but not set in the template")
        for var, why in sorted(NEEDED.get(binary, {}).items()):
            if var not in have:
                fail(f"{where} ({rel}): {var} is not set ({why})")
        for var in sorted(have - read - RUNTIME_VARS):
            fail(f"{where} ({rel}): {var} is set in the template but the code never reads it")

    # IMPORTS_BUCKET is spelled out (a Ref would be a cycle through the S3
    # event): it must spell the bucket's own name.
    buckets = {n: r for n, r in resources.items() if r.get("Type") == "AWS::S3::Bucket"}
    named = global_env and (globals_fn.get("Environment") or {}).get("Variables", {}).get("IMPORTS_BUCKET")
    if named is not None and not any(
        named == {"Ref": n} or named == (r.get("Properties") or {}).get("BucketName") for n, r in buckets.items()
    ):
        fail(f"IMPORTS_BUCKET {named} names none of the template's buckets {sorted(buckets)}")

    for binary in sorted(set(bins) - seen):
        fail(f"functions: binary {binary!r} ({bins[binary].relative_to(ROOT)}) has no function in the template")


# ---------------------------------------------------------------- dependency cycles (after the SAM transform)


def refs(node, acc: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                acc.add(v)
            elif k == "Fn::GetAtt":
                acc.add(v[0] if isinstance(v, list) else str(v).split(".")[0])
            elif k == "Fn::Sub":
                s = v[0] if isinstance(v, list) else v
                acc |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", s)}
                if isinstance(v, list):
                    refs(v[1:], acc)
            else:
                refs(v, acc)
    elif isinstance(node, list):
        for x in node:
            refs(x, acc)


def check_cycles(path: Path) -> None:
    try:
        from samtranslator.translator.transform import transform
    except ImportError:
        print("check-template: SAM translator not installed; dependency-cycle check skipped")
        return
    import copy

    template = copy.deepcopy(load_template(path))
    for res in template.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://bucket/key"  # what `sam build` puts there

    class NoManagedPolicies:
        def load(self):
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        out = transform(template, {}, NoManagedPolicies())
    except Exception as e:  # the translator's own report is the message
        fail(f"SAM transform failed: {e}")
        return
    resources = out["Resources"]
    deps: dict[str, set[str]] = {}
    for name, res in resources.items():
        acc: set[str] = set()
        refs({k: v for k, v in res.items() if k != "DependsOn"}, acc)
        d = res.get("DependsOn", [])
        acc |= {d} if isinstance(d, str) else set(d)
        deps[name] = acc & set(resources)

    state: dict[str, int] = {}

    def visit(n: str, stack: list[str]) -> bool:
        state[n] = 1
        stack.append(n)
        for m in sorted(deps[n]):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                fail("dependency cycle after the SAM transform: " + " -> ".join(cycle))
                return True
            if m not in state and visit(m, stack):
                return True
        stack.pop()
        state[n] = 2
        return False

    for n in sorted(deps):
        if n not in state and visit(n, []):
            break


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "template.yaml"
    template = load_template(path)
    check_table(template.get("Resources", {}))
    check_functions(template)
    check_cycles(path)
    if errors:
        for e in errors:
            print(f"check-template: {e}", file=sys.stderr)
        print(f"check-template: {len(errors)} mismatch(es) between {path.name} and the code", file=sys.stderr)
        return 1
    print(f"check-template: {path.name} agrees with schema.rs and every function's environment")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The schemas and the simulator agree on values, not only on field lists: for every field of every type,
values sampled from the schema (its enum and const members, integer bounds and one past them, the empty
string, strings drawn from its pattern) and a table of plausible and hostile values are put to both
`validate`'s JSON Schema and the simulator's own validation (reconciler/sandbox/validation.py).

A value the schemas accept must be accepted by the simulator: otherwise `validate` passes a file that
`apply --sandbox` (and, if the simulator read the contract right, Immuta) refuses. The other way round, the
schemas may be stricter than the contract — they check a format early where Immuta documents none — but
only where STRICTER_SCHEMAS says so and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sandbox_contract import Readers, maximal_config, paths_of, scenarios, with_value

from reconciler.sandbox import contract as sandbox_contract
from reconciler.sandbox import validation as sandbox_validation
from reconciler.validation.schema import SchemaSet, load

Path = tuple[str, ...]

# (type, field) → why the schemas refuse values that the simulator, reading the contract, accepts.
STRICTER_SCHEMAS: dict[tuple[str, str], str] = {
    ("Google BigQuery", "config.dataset"): "BigQuery's own naming rule (letters, digits, underscores); §3 names none",
    ("Native S3", "config.awsAccountId"): "AWS's 12 digits, checked early; §7: no documented pattern",
    ("Native S3", "config.awsRegion"): "AWS's region shape (us-east-1), checked early; §7: no documented pattern",
    ("Native S3", "config.awsLocationRole"): "an IAM role ARN, checked early; §3 says 'IAM role ARN' in words only",
    ("Native S3", "config.awsRoleToAssume"): "an IAM role ARN, checked early; §3 says 'IAM role ARN' in words only",
    ("Native S3", "config.awsLocationPath"): "an s3:// URL, checked early; §3 gives it as an example only",
}

PLAUSIBLE: list[Any] = [
    *("nam4", "eur4", "US", "EU", "us", "us-east1", "europe-west10", "aws-us-east-1", "azure-eastus2"),
    *("acme.example.com", "dbc-a1b2.cloud.databricks.com", "123456789012", "us-east-1", "s3://lake/"),
    *("arn:aws:iam::123456789012:role/x", "_secure", "immuta_managed", "PRIV_KEY_FILE", "A1-b2"),
]
HOSTILE: list[Any] = [
    *("", " ", "x", "x y", "a/b", "-us", "us-", "us--east1", "_", "x_", "https://acme.example.com", "h:443"),
    *("\u00e9t\u00e9", "a\nb", "\t", "1e3", "nan"),
    *(0, 1, -1, 443, 65535, 65536, 1.5, float("nan"), True, False, None, [], ["a"], [1], ["a", "a"], {}),
]


def sub(path: tuple[Any, ...], under: Path) -> bool:
    return tuple(path[: len(under)]) == under


class Pair:
    """One type's valid payload and both readers, to put one field's value to each."""

    def __init__(self, schemas: SchemaSet, type_name: str) -> None:
        self.type_name = type_name
        self.readers = Readers(schemas, type_name)
        schema = self.readers.type_schema
        payload: dict[str, Any] = {"type": type_name}
        if sandbox_contract.TYPES[type_name].config is not None:  # Trino: the whole payload is its type
            payload["config"] = maximal_config(schema, schema.field(("config",)) or {})
            for path, value in scenarios(sandbox_contract.TYPES[type_name])[0].items():
                payload = with_value(payload, path, value)
        self.payload = payload
        assert not list(self.readers.validator.iter_errors(payload)), f"{type_name}: the base payload is invalid"
        assert not sandbox_validation.issues(payload), f"{type_name}: the simulator refuses the base payload"

    def fields(self) -> list[Path]:
        if "config" not in self.payload:
            return []
        return [("autoBootstrap",), *paths_of(self.payload["config"])]

    def node(self, path: Path) -> dict[str, Any]:
        schema = self.readers.type_schema
        found: dict[str, Any] = schema._resolve(schema.field(path) or {})  # follows a local $ref; reads only
        return found

    def verdicts(self, path: Path, value: Any) -> tuple[bool, bool]:
        """(the schemas accept it, the simulator accepts it), judged at this field only."""
        payload = with_value(self.payload, path, value)
        schema_errors = [e for e in self.readers.validator.iter_errors(payload) if sub(tuple(e.absolute_path), path)]
        simulator_issues = [i for i in sandbox_validation.issues(payload) if sub(tuple(i.path), path)]
        return not schema_errors, not simulator_issues


SCHEMAS = load()
PAIRS = {name: Pair(SCHEMAS, name) for name in sandbox_contract.TYPE_NAMES}


def samples(node: dict[str, Any]) -> Iterator[Any]:
    """Values the schema itself names: its choices, its bounds and one past them."""
    yield from node.get("enum", [])
    if "const" in node:
        yield node["const"]
    for bound in ("minimum", "maximum"):
        if bound in node:
            yield from (node[bound] - 1, node[bound], node[bound] + 1)
    if "default" in node:
        yield node["default"]


def disagreements() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for pair in PAIRS.values():
        for path in pair.fields():
            for value in [*samples(pair.node(path)), *PLAUSIBLE, *HOSTILE]:
                schemas_accept, simulator_accepts = pair.verdicts(path, value)
                if schemas_accept != simulator_accepts:
                    side = "only the schemas accept" if schemas_accept else "only the simulator accepts"
                    found.setdefault((pair.type_name, ".".join(path)), []).append(f"{value!r}: {side}")
    return found


@pytest.fixture(scope="module")
def found() -> dict[tuple[str, str], list[str]]:
    return disagreements()


def test_every_value_the_schemas_accept_the_simulator_accepts(found: dict[tuple[str, str], list[str]]) -> None:
    dangerous = [f"{t} {f}: {how}" for (t, f), hows in found.items() for how in hows if "only the schemas" in how]
    assert not dangerous, "validate passes what apply --sandbox refuses:\n" + "\n".join(dangerous)


def test_the_schemas_are_stricter_only_where_listed(found: dict[tuple[str, str], list[str]]) -> None:
    unlisted = [f"{t} {f}: {'; '.join(hows)}" for (t, f), hows in found.items() if (t, f) not in STRICTER_SCHEMAS]
    assert not unlisted, "schemas stricter than the simulator, not in STRICTER_SCHEMAS:\n" + "\n".join(unlisted)
    stale = [f"{t} {f}" for (t, f) in STRICTER_SCHEMAS if (t, f) not in found]
    assert not stale, "listed in STRICTER_SCHEMAS, but the two now agree (remove):\n" + "\n".join(stale)


def test_a_bigquery_location_of_any_gcp_kind_passes_both() -> None:
    """docs/immuta-api.md §7: "any valid GCP location" — regions, multi-regions, dual-regions alike."""
    pair = PAIRS["Google BigQuery"]
    for location in ("us-east1", "US", "EU", "nam4", "eur4", "asia1", "europe-west10", "aws-us-east-1"):
        assert pair.verdicts(("config", "location"), location) == (True, True), location
    for location in ("", "us east1", "us-", "-us", "us/east1"):
        assert pair.verdicts(("config", "location"), location) == (False, False), location


PATTERNED = [
    (name, path, pair.node(path)["pattern"])
    for name, pair in PAIRS.items()
    for path in pair.fields()
    if "pattern" in pair.node(path)
]


@pytest.mark.parametrize(
    ("type_name", "path", "pattern"), PATTERNED, ids=lambda v: ".".join(v) if isinstance(v, tuple) else None
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_strings_drawn_from_a_schema_pattern_pass_the_simulator(
    type_name: str, path: Path, pattern: str, data: st.DataObject
) -> None:
    value = data.draw(st.from_regex(pattern, fullmatch=True).filter(lambda s: s.strip() == s and s != ""))
    schemas_accept, simulator_accepts = PAIRS[type_name].verdicts(path, value)
    assert schemas_accept, f"{value!r} drawn from {pattern} is refused by the schema"
    assert simulator_accepts, f"{type_name} {'.'.join(path)}: {value!r} passes validate but apply --sandbox refuses it"

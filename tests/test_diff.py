"""diff.compare: what is compared (known, non-secret, readable fields with defaults) and how a difference
is reported (path, kind, old → new, immutable, the file's line or "schema default")."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired import DesiredIntegration, SecretMode, build_desired
from reconciler.errors import InputError
from reconciler.loading.loader import load_text
from reconciler.planning.diff import compare, differences, same
from reconciler.secrets import Lookup
from reconciler.validation.schema import get_path, load

SCHEMAS = load()
SNOWFLAKE = """\
type: Snowflake
autoBootstrap: true
config:
  host: acme.snowflakecomputing.com
  warehouse: IMMUTA_WH
  database: IMMUTA_PROD
  authenticationType: userPassword
  username: immuta
  password: ${env:SNOWFLAKE_PASSWORD}
  role: ACCOUNTADMIN
  workspaces:
    enabled: true
    warehouses: [WH_A, WH_B]
"""


def desired(text: str = SNOWFLAKE, *, mode: SecretMode = SecretMode.DEFER, env: dict[str, str] | None = None) -> Any:
    documents, problems = load_text(text, "integrations.d/snowflake.yaml")
    assert not [p for p in problems if p.severity == "error"], problems
    state = build_desired(documents, SCHEMAS, mode=mode, lookup=Lookup(env or {}))
    return state.integrations[0]


def reported(integration: DesiredIntegration) -> dict[str, Any]:
    """What Immuta would report for this file: defaults filled in, secrets never returned."""
    config = {k: copy.deepcopy(v) for k, v in integration.payload["config"].items() if k != "password"}
    return {
        "type": integration.payload["type"],
        "autoBootstrap": integration.payload["autoBootstrap"],
        "config": config,
    }


def paths(integration: DesiredIntegration, actual: dict[str, Any]) -> dict[str, tuple[str, Any, Any]]:
    return {".".join(map(str, f.path)): (f.kind, f.old, f.new) for f in compare(integration, actual).fields}


def test_a_matching_integration_has_no_change() -> None:
    integration = desired()
    comparison = compare(integration, reported(integration))
    assert comparison.fields == ()
    assert comparison.not_compared == (("config", "password"),)
    assert not comparison.needs_replace


def test_rule_1_a_field_written_and_reported_is_compared_with_its_line() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["warehouse"] = "OTHER_WH"
    [warehouse] = compare(integration, actual).fields
    assert (warehouse.path, warehouse.kind, warehouse.old, warehouse.new) == (
        ("config", "warehouse"),
        "changed",
        "OTHER_WH",
        "IMMUTA_WH",
    )
    assert warehouse.location is not None and (warehouse.location.file, warehouse.location.line) == (
        "integrations.d/snowflake.yaml",
        5,
    )


def test_rule_2_a_field_written_but_not_reported_is_not_compared_and_is_listed() -> None:
    integration = desired()
    actual = reported(integration)
    del actual["config"]["workspaces"]["warehouses"]
    del actual["config"]["role"]
    comparison = compare(integration, actual)
    assert comparison.fields == ()
    assert comparison.not_compared == (
        ("config", "password"),
        ("config", "role"),
        ("config", "workspaces", "warehouses"),
    )


def test_rule_3_a_field_only_immuta_reports_is_held_to_the_schema_default_and_carried() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["port"] = 444  # the file leaves port out: the schema default (443) is asked for
    actual["config"]["audit"] = {"enabled": True}  # a line deleted from the file: back to the default
    comparison = compare(integration, actual)
    assert [(f.path, f.kind, f.old, f.new, f.location, f.immutable) for f in comparison.fields] == [
        (("config", "audit", "enabled"), "changed", True, False, None, False),
        (("config", "port"), "changed", 444, 443, None, False),
    ]
    assert (("config", "audit", "enabled"), False) in comparison.carried
    assert (("config", "port"), 443) in comparison.carried


def test_rule_3_without_a_default_the_value_is_immuta_s() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["impersonation"] = {"enabled": False, "role": "IMP"}  # role: no default, not in the file
    actual["config"]["userRolePattern"] = {"exclude": ["SYSADMIN"]}
    comparison = compare(integration, actual)
    assert comparison.fields == ()
    assert (("config", "impersonation", "enabled"), False) in comparison.carried
    assert not any(path[:2] == ("config", "userRolePattern") for path, _ in comparison.carried)


def test_rule_3_an_immutable_default_is_never_compared() -> None:
    """Synapse metadataDelimiters: immutable, defaulted, not written: whatever Immuta reports is its own."""
    text = """\
type: Azure Synapse Analytics
autoBootstrap: true
config:
  host: syn.sql.azuresynapse.net
  database: DB
  schema: IMMUTA
  authenticationType: userPassword
  username: u
  password: ${env:SYN_PASSWORD}
"""
    integration = desired(text)
    base = {
        "type": "Azure Synapse Analytics",
        "autoBootstrap": True,
        "config": {
            "host": "syn.sql.azuresynapse.net",
            "database": "DB",
            "schema": "IMMUTA",
            "authenticationType": "userPassword",
            "username": "u",
        },
    }
    for delimiters in (None, {"hashDelimiter": "#", "hashKeyDelimiter": ":", "arrayDelimiter": ";"}):
        actual = copy.deepcopy(base)
        if delimiters is not None:
            actual["config"]["metadataDelimiters"] = delimiters
        comparison = compare(integration, actual)
        assert comparison.fields == ()
        assert not comparison.needs_replace


def test_rule_4_a_field_nobody_writes_and_immuta_does_not_report_is_nothing() -> None:
    integration = desired()
    actual = reported(integration)
    del actual["config"]["port"]  # a default the file does not write, not echoed
    comparison = compare(integration, actual)
    assert comparison.fields == ()
    assert ("config", "port") not in comparison.not_compared
    assert not any(path == ("config", "port") for path, _ in comparison.carried)


def test_rule_5_a_written_immutable_field_reported_differently_asks_for_a_replace() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["database"] = "OLD_DB"
    comparison = compare(integration, actual)
    assert comparison.needs_replace
    assert [(f.path, f.immutable) for f in comparison.fields] == [(("config", "database"), True)]


def test_secrets_are_never_compared_whatever_immuta_answers_for_them() -> None:
    integration = desired()
    for answer in ("********", "the-actual-password", None, ""):
        actual = reported(integration)
        actual["config"]["password"] = answer
        assert compare(integration, actual).fields == ()


def test_a_list_is_shown_whole() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["workspaces"]["warehouses"] = ["WH_B", "WH_A", "WH_C"]
    assert paths(integration, actual) == {
        "config.workspaces.warehouses": ("changed", ["WH_B", "WH_A", "WH_C"], ["WH_A", "WH_B"])
    }


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("config",), {"someNewField": {"nested": [1, 2]}}),  # a field of a newer Immuta
        (("config", "audit"), {"retentionDays": 30}),  # nested, under a known object
        (("config", "workspaces"), {"mode": "auto"}),
        ((), {"createdAt": "2024-05-01T00:00:00Z", "name": "prod"}),  # top level, beside config
    ],
)
def test_fields_the_schema_does_not_know_never_cause_a_change(where: tuple[str, ...], value: dict[str, Any]) -> None:
    integration = desired()
    actual = reported(integration)
    node = actual
    for part in where:
        node = node.setdefault(part, {})
    node.update(value)
    assert compare(integration, actual).fields == ()


def test_trino_reported_with_an_empty_config_settles() -> None:
    """A newer Immuta may answer Trino with `config: {}` or `autoBootstrap`: never a replace."""
    integration = desired("type: Trino\n")
    for actual in ({"type": "Trino"}, {"type": "Trino", "config": {}}, {"type": "Trino", "autoBootstrap": False}):
        assert compare(integration, actual).fields == (), actual


def test_numbers_compare_by_value_and_key_order_does_not_matter() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["port"] = 443.0
    actual["config"] = dict(reversed(list(actual["config"].items())))
    actual = dict(reversed(list(actual.items())))
    assert compare(integration, actual).fields == ()


def test_a_boolean_is_not_a_number() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["workspaces"]["enabled"] = "true"  # a string is not a boolean
    assert paths(integration, actual) == {"config.workspaces.enabled": ("changed", "true", True)}


def test_secrets_are_never_compared_in_any_mode() -> None:
    for mode, env in (
        (SecretMode.DEFER, {}),
        (SecretMode.REQUIRE, {"SNOWFLAKE_PASSWORD": "pw"}),
        (SecretMode.PLACEHOLDER, {}),
    ):
        integration = desired(mode=mode, env=env)
        actual = reported(integration)
        assert compare(integration, actual).fields == (), mode
        actual["config"]["password"] = "what a server should never return"
        assert compare(integration, actual).fields == (), mode


@pytest.mark.parametrize(
    ("before", "after", "path", "value"),
    [
        ("[WH_A, WH_B]", '[WH_A, "${env:EXTRA_WAREHOUSE}"]', ("workspaces", "warehouses"), ["WH_A", "WH_B"]),
        ("warehouse: IMMUTA_WH", "warehouse: ${env:EXTRA_WAREHOUSE}", ("warehouse",), "WH_B"),
    ],
    ids=["in a list", "a field"],
)
def test_a_reference_outside_secrets_is_never_planned_unread(
    before: str, after: str, path: tuple[str, ...], value: Any
) -> None:
    """Was: not compared ('cannot be read here'). The references gate refuses ${env:} outside secrets before
    this point; a caller that skipped it gets an error, never a plan that hides a field."""
    text = SNOWFLAKE.replace(before, after)
    with pytest.raises(InputError, match="environment variable EXTRA_WAREHOUSE is not set"):
        desired(text)
    assert get_path(desired(text, env={"EXTRA_WAREHOUSE": "WH_B"}).payload["config"], path) == value


def test_ignore_changes_skips_and_counts() -> None:
    text = SNOWFLAKE + "lifecycle:\n  ignoreChanges: [config.lineage, config.warehouse, config.audit]\n"
    integration = desired(text)
    actual = reported(integration)
    actual["config"]["lineage"] = {"enabled": True, "lineageConfig": {"ingestBatchSize": 10}}
    actual["config"]["warehouse"] = "UI_WH"
    actual["config"]["audit"] = {"enabled": False}  # equal to the default: not a difference
    comparison = compare(integration, actual)
    assert comparison.fields == ()
    assert comparison.ignored == 2


def test_compare_changes_neither_side() -> None:
    integration = desired()
    actual = reported(integration)
    actual["config"]["someNewField"] = [1]
    actual["config"]["warehouse"] = "X"
    before_actual, before_payload = copy.deepcopy(actual), copy.deepcopy(integration.payload)
    compare(integration, actual)
    assert actual == before_actual
    assert integration.payload == before_payload


def test_the_output_is_sorted_and_stable() -> None:
    integration = desired()
    actual = reported(integration)
    for name, value in (("warehouse", "W"), ("role", "R"), ("username", "U"), ("port", 1)):
        actual["config"][name] = value
    first = compare(integration, actual)
    assert [f.path[-1] for f in first.fields] == ["port", "role", "username", "warehouse"]
    assert compare(integration, actual) == first


# Floats at 6 decimals: DeepDiff's ignore_numeric_type_changes compares numbers as text of 12 significant digits,
# so it takes 0 and 1e-195 as equal where the plan (rightly) does not; the oracle speaks only where both can.
SCALARS = (
    st.none() | st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 6)) | st.text(max_size=2)
)
JSON = st.recursive(
    SCALARS | st.booleans(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3),
    max_leaves=10,
)
# Without booleans: DeepDiff's ignore_numeric_type_changes takes True for 1, the plan does not.
NUMERIC_JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3),
    max_leaves=10,
)


def deepdiff_differences(old: Any, new: Any) -> set[tuple[tuple[Any, ...], str]]:
    """What the diff reported when it used DeepDiff: its tree view, each list shown whole."""

    def first_list(path: tuple[Any, ...]) -> tuple[Any, ...] | None:
        for end in range(len(path)):
            prefix = path[:end]
            if isinstance(get_path(old, prefix), list) or isinstance(get_path(new, prefix), list):
                return prefix
        return None

    found = set()
    # threshold_to_diff_deeper=0: by default DeepDiff reports two objects with few keys in common as one
    # change of the whole object (the whole payload, even); the plan itemises them.
    diff = DeepDiff(old, new, ignore_numeric_type_changes=True, threshold_to_diff_deeper=0, view="tree")
    for report_type, items in diff.items():
        for item in items:
            path = tuple(item.path(output_format="list"))
            listed = first_list(path)
            if listed is not None:
                found.add((listed, "changed"))
            elif report_type.endswith("_added"):
                found.add((path, "added"))
            elif report_type.endswith("_removed"):
                found.add((path, "removed"))
            else:
                found.add((path, "changed"))
    return found


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.text(max_size=2), NUMERIC_JSON, max_size=4),
    st.dictionaries(st.text(max_size=2), NUMERIC_JSON, max_size=4),
)
def test_differences_agree_with_deepdiff(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert set(differences(old, new)) == deepdiff_differences(old, new)
    assert same(old, new) == (not differences(old, new))


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_a_value_is_the_same_as_its_copy(value: Any) -> None:
    assert same(value, copy.deepcopy(value))
    assert differences({"v": value}, {"v": copy.deepcopy(value)}) == []


@pytest.mark.parametrize(("old", "new"), [(True, 1), (False, 0), (1.0, True), ("1", 1), (None, False), ([], {})])
def test_different_types_differ(old: Any, new: Any) -> None:
    assert not same(old, new)
    assert differences({"v": old}, {"v": new}) == [(("v",), "changed")]

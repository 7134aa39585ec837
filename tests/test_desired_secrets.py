"""Building the desired state wraps every value of a secret field, and nothing else, as a Secret: the value
then never reaches a plan, a log or an export. Asked of every secret path of every type, written both as a
literal (--allow-literal-secrets) and as a reference, at every depth the schemas declare."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from reconciler.desired import SecretMode, build_desired
from reconciler.loading.loader import load_paths
from reconciler.loading.yaml_source import SourceDocument
from reconciler.secrets import Lookup, Secret, Unresolved
from reconciler.validation.schema import load
from reconciler.walk import get_path, set_path

SCHEMAS = load()
EXAMPLES = {d.data["type"]: d.data for d in load_paths([str(Path(__file__).parent.parent / "integrations.d")])[0]}
CASES = [(name, path) for name, type_schema in SCHEMAS.types.items() for path in sorted(type_schema.secret_paths)]


def _example(type_name: str) -> dict[str, Any]:
    """The shipped example of the type (its natural key set), without its own secrets."""
    payload = copy.deepcopy(EXAMPLES[type_name])
    for path in SCHEMAS.types[type_name].secret_paths:
        parent = get_path(payload, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return payload


def _document(payload: dict[str, Any]) -> SourceDocument:
    return SourceDocument("x.yaml", 0, payload, {(): 0}, frozenset())


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for key, child in value.items() for leaf in _leaves(child, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, child in enumerate(value) for leaf in _leaves(child, (*path, index))]
    return [(path, value)]


def test_the_secret_tree_holds_exactly_the_secret_paths() -> None:
    for type_schema in SCHEMAS.types.values():
        leaves = {path for path, value in _leaves(type_schema.secret_tree) if value is True}
        assert leaves == set(type_schema.secret_paths), type_schema.name


@pytest.mark.parametrize(("type_name", "path"), CASES, ids=[f"{t}:{'.'.join(p)}" for t, p in CASES])
def test_every_secret_field_is_wrapped_and_its_neighbours_are_not(type_name: str, path: tuple[str, ...]) -> None:
    payload = _example(type_name)
    payload["config"] |= {"plain": "a$b", "list": ["x", 1]}
    set_path(payload, path, "literal-value")
    set_path(payload, (*path[:-1], "neighbour"), "not-secret")
    if len(path) > 1:
        set_path(payload, (*path[:-1], f"{path[-1]}Nested"), {"inner": ["a", {"deep": "b"}]})

    state = build_desired([_document(payload)], SCHEMAS, mode=SecretMode.DEFER, lookup=Lookup({}))
    body = state.integrations[0].body

    for leaf_path, value in _leaves(body):
        secret = SCHEMAS.types[type_name].is_secret(leaf_path)
        assert isinstance(value, Secret) is (secret and isinstance(get_path(payload, leaf_path), str)), leaf_path
    assert get_path(body, path) == Secret("literal-value")
    assert get_path(body, ("config", "plain")) == "a$b"


@pytest.mark.parametrize(("type_name", "path"), CASES, ids=[f"{t}:{'.'.join(p)}" for t, p in CASES])
def test_a_referenced_secret_stays_unread_until_apply(type_name: str, path: tuple[str, ...]) -> None:
    payload = _example(type_name)
    set_path(payload, path, "${env:THE_SECRET}")
    lookup = Lookup({"THE_SECRET": "s3cr3t-value", "SNOWFLAKE_ADMIN_USER": "admin"})

    deferred = build_desired([_document(payload)], SCHEMAS, mode=SecretMode.DEFER, lookup=lookup)
    read = build_desired([_document(payload)], SCHEMAS, mode=SecretMode.REQUIRE, lookup=lookup)

    assert isinstance(get_path(deferred.integrations[0].body, path), Unresolved)
    assert get_path(read.integrations[0].body, path) == Secret("s3cr3t-value")

"""The shown-values gate: what any output may hold of an integration's payload, decided here alone.

Only fields the schemas know, and that are not secret, are shown with their values; a secret is `(secret)`
whatever Immuta answered for it, and a field the schemas do not know (a newer Immuta's, or Trino's API key
under whatever name and wherever Immuta puts it) is shown by its name only. `known` applies the same rule to
what Immuta reports, as it is read (actual.py): an unknown field's value never enters the actual state, so it
is never compared, fingerprinted, saved, exported or rendered; only its name is kept. Every payload a plan,
saved plan, `show`, drift or apply report holds goes through `shown` (render/plan_json.py), and the `-v` trace
hides what the schemas do not know in client/redaction.py by the same rule.

A secret in the wrong shape is a secret (`hides_value`). A record's own fields (`id`, `status`) are shown
only as text or numbers (`server_text`): actual.py, the trace and doctor read them through it;
`validationResults` as the contract describes it (`validation_view`).

An object the schema declares without listing its fields (Databricks' `additionalWorkspaceConnections`
items, "fields not documented") is kept whole in the actual state, as the diff compares it as one value, but
its fields are shown by name only: an undocumented field may hold another workspace's token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model import Path
from reconciler.secrets import PLACEHOLDER, Secret, Unresolved, mask_all
from reconciler.validation.schema import TypeSchema

Json = Any
HIDDEN = "(not shown: unknown to the schemas)"


def server_text(value: Json) -> Json:
    """One of a record's own fields beside the payload that outputs name as text (`id`, `status`,
    `statusCode`): text or a number as it is; anything else (an object, a list: a newer Immuta's, or a proxy's)
    may hold anything and is shown by name only."""
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    return HIDDEN


VALIDATION_FIELDS = frozenset({"status", "validationTests"})
VALIDATION_TEST_FIELDS = frozenset({"name", "status", "message"})


def validation_view(value: Json) -> Json:
    """A record's `validationResults` as outputs may hold it: `{status, validationTests: [{name, status,
    message}]}` (docs/immuta-api.md §4), Immuta's own words, with any other field named only."""
    if not isinstance(value, Mapping):
        return server_text(value)
    view: dict[str, Json] = {}
    for name, item in value.items():
        if name == "validationTests" and isinstance(item, list):
            view[name] = [_validation_test(test) for test in item]
        else:
            view[name] = server_text(item) if name in VALIDATION_FIELDS else HIDDEN
    return view


def _validation_test(test: Json) -> Json:
    if not isinstance(test, Mapping):
        return server_text(test)
    return {name: server_text(item) if name in VALIDATION_TEST_FIELDS else HIDDEN for name, item in test.items()}


def known(type_schema: TypeSchema, payload: Mapping[str, Json]) -> tuple[dict[str, Json], tuple[Path, ...]]:
    """A reported payload split into the fields the schema knows (values kept) and the paths of the others."""
    unknown: list[Path] = []
    kept = _known(type_schema, type_schema.root, payload, (), unknown)
    return kept, tuple(unknown)


def _known(type_schema: TypeSchema, node: Any, value: Mapping[str, Json], path: Path, unknown: list[Path]) -> Any:
    props = type_schema.properties(node)
    if props is None:
        return dict(value)  # an open object the schema declares: one known value
    kept: dict[str, Json] = {}
    for name, item in value.items():
        child = props.get(name)
        if child is None:
            unknown.append((*path, name))
        elif isinstance(item, dict):
            kept[name] = _known(type_schema, child, item, (*path, name), unknown)
        elif isinstance(item, list):
            items = type_schema.field((*path, name, 0))
            kept[name] = [
                _known(type_schema, items, entry, (*path, name, index), unknown)
                if isinstance(entry, dict) and items is not None
                else entry
                for index, entry in enumerate(item)
            ]
        else:
            kept[name] = item
    return kept


def shown(type_schema: TypeSchema | None, value: Json, unknown: tuple[Path, ...] = ()) -> Json:
    """A JSON-ready copy of a payload that any output may hold: known non-secret fields with their values,
    secrets as `(secret)`, unknown fields (those in `value`, and the `unknown` paths read from Immuta) by name
    only. With no schema (an integration type this version does not know) only the type is shown."""
    if type_schema is None:
        if not isinstance(value, Mapping):
            return HIDDEN
        return {k: (v if k == "type" and isinstance(v, str) else HIDDEN) for k, v in value.items()}
    view = _shown(type_schema, type_schema.root, value, ())
    for path in unknown:
        _mark(view, path)
    return view


def shown_at(type_schema: TypeSchema | None, path: Path, value: Json) -> Json:
    """What any output may hold of one field's value (a plan's old and new values of a change, which the
    diff builds of known fields only: with no schema at hand, secrets are still masked)."""
    if type_schema is None:
        return mask_all(value)
    if value is not None and hides_value(type_schema, path, value):
        return PLACEHOLDER
    node = type_schema.field(path)
    return _shown(type_schema, node, value, path) if node is not None else HIDDEN


def hides_value(type_schema: TypeSchema, path: Path, value: Json) -> bool:
    """True for a secret field's value, and for any value but an object where the schema wants an object that
    holds a secret (`privateKey: <the PEM>` for `privateKey: {content: …}`): a secret in the wrong shape is
    still a secret. Validation messages ask this too (validation/schema_messages.py)."""
    if not path:
        return False
    if type_schema.is_secret(path):
        return True
    return not isinstance(value, dict) and any(secret[: len(path)] == path for secret in type_schema.secret_paths)


def _shown(type_schema: TypeSchema, node: Any, value: Json, path: Path) -> Json:
    if isinstance(value, Secret) or (value is not None and hides_value(type_schema, path, value)):
        return PLACEHOLDER
    if isinstance(value, Unresolved):
        return value.text
    if isinstance(value, dict):
        props = type_schema.properties(node) if node is not None else None
        if props is None:
            return {name: HIDDEN for name in value}  # an object the schema does not describe (see above)
        return {
            name: _shown(type_schema, props[name], item, (*path, name)) if name in props else HIDDEN
            for name, item in value.items()
        }
    if isinstance(value, list):
        items = type_schema.field((*path, 0)) if path else None
        return [_shown(type_schema, items, item, (*path, index)) for index, item in enumerate(value)]
    return value


def _mark(view: Json, path: Path) -> None:
    for part in path[:-1]:
        if not isinstance(view, dict):
            return
        view = view.setdefault(part, {})
    if isinstance(view, dict):
        view[path[-1]] = HIDDEN

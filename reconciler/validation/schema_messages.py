"""Validates a document against the schemas and turns jsonschema's errors into one-line messages a platform
engineer can act on.

Messages never quote the value of a secret (writeOnly) field, and never dump a whole object. This module
reads `schema`; `schema` knows nothing of messages (no import cycle).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.model import Path
from reconciler.shown import hides_value
from reconciler.validation.schema import FILE_ONLY_KEYS, SchemaSet, TypeSchema

if TYPE_CHECKING:
    import jsonschema  # its validator is built, and the library imported, only for a document found invalid


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema violation. `anchor` is the deepest path that exists in the document (for its line)."""

    path: Path
    anchor: Path
    message: str


def validate(schemas: SchemaSet, document: Any) -> list[SchemaIssue]:
    """Every schema violation of one document, each once, in path order."""
    type_name = document.get("type") if isinstance(document, dict) else None
    known = schemas.types.get(type_name) if isinstance(type_name, str) else None
    issues = [describe(schemas, known, error) for error in schemas.validator.iter_errors(document)]
    unique = {(issue.path, issue.message): issue for issue in issues}
    return sorted(unique.values(), key=lambda i: (tuple(str(p) for p in i.path), i.message))


_JSON_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    type(None): "null",
}

# JSON Schema type names in the words of a YAML file.
_SCHEMA_TYPES = {
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}

_YAML11_BOOLS = frozenset({"yes", "no", "on", "off", "y", "n"})
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9]+$")


def kind(value: Any) -> str:
    """`a string`, `a list`, … : what a YAML value is, in the words of a message."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class _Error:
    """One jsonschema error, with what every message needs to know about it."""

    schemas: SchemaSet
    type_schema: TypeSchema | None
    error: jsonschema.ValidationError
    instance: Any
    rule: Any
    path: Path
    secret: bool
    value: str  # the instance as a message shows it; `(secret)` for a secret field
    schema: dict[str, Any]

    def at(self, message: str) -> SchemaIssue:
        return SchemaIssue(self.path, self.path, message)


def describe(schemas: SchemaSet, type_schema: TypeSchema | None, error: jsonschema.ValidationError) -> SchemaIssue:
    path: Path = tuple(error.absolute_path)
    secret = type_schema is not None and hides_value(type_schema, path, error.instance)
    found = _Error(
        schemas,
        type_schema,
        error,
        error.instance,
        error.validator_value,
        path,
        secret,
        "(secret)" if secret else _show(error.instance),
        error.schema if isinstance(error.schema, dict) else {},
    )
    keyword = str(error.validator)
    describer = _DESCRIBERS.get(keyword)
    if describer is None:
        return found.at(f"fails the schema's {keyword!r} rule")
    return describer(found)


def _required(e: _Error) -> SchemaIssue:
    missing = _missing_name(e.error)
    misspelt = _misspelling(e.type_schema, e.path, e.instance, missing)
    if misspelt is not None:
        # The same words as the unknown-field message, so one typo is reported once.
        where = (*e.path, misspelt)
        return SchemaIssue(where, where, f"unknown field; did you mean {missing!r}?")
    if not e.path and missing == "type":
        return SchemaIssue(("type",), (), f"required field is missing: one of {', '.join(e.schemas.type_names)}")
    return SchemaIssue((*e.path, missing), e.path, f"required field is missing{_condition(e.schemas, e.error)}")


def _additional_properties(e: _Error) -> SchemaIssue:
    known = list(e.schema.get("properties", {}))
    extra = sorted(set(e.instance) - set(known))
    name = extra[0] if extra else "?"
    import difflib  # only for a message: not at start-up

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    also = f" (also {', '.join(repr(other) for other in extra[1:])})" if len(extra) > 1 else ""
    hint = f"did you mean {close[0]!r}?" if close else "allowed here: " + ", ".join(known)
    return SchemaIssue((*e.path, name), (*e.path, name), f"unknown field{also}; {hint}")


def _type(e: _Error) -> SchemaIssue:
    names: list[str] = e.rule if isinstance(e.rule, list) else [e.rule]
    expected = " or ".join(_SCHEMA_TYPES.get(n, n) for n in names)
    shown = "" if e.secret else f" {e.value}"
    return e.at(f"must be {expected}, not {kind(e.instance)}{shown}{_type_hint(names, e.instance, e.secret)}")


def _enum(e: _Error) -> SchemaIssue:
    allowed = ", ".join(json.dumps(v) for v in e.rule)
    suggestion = ""
    if isinstance(e.instance, str):
        options = [v for v in e.rule if isinstance(v, str)]
        import difflib  # only for a message: not at start-up

        match = difflib.get_close_matches(e.instance, options, n=1, cutoff=0.6)
        suggestion = f" (did you mean {json.dumps(match[0])}?)" if match else ""
    return e.at(f"{e.value} is not one of {allowed}{suggestion}")


def _const(e: _Error) -> SchemaIssue:
    reason = str(e.schema.get("description", "")).rstrip(".")
    expected = f"must be {json.dumps(e.rule)}"
    if reason.lower().startswith(expected.lower()):  # the description says it better
        return e.at(expected + reason[len(expected) :])
    return e.at(f"{expected}, not {e.value}")


def _pattern(e: _Error) -> SchemaIssue:
    reason = str(e.schema.get("description", "")).rstrip(".")
    suffix = f" ({reason})" if reason else ""
    return e.at(f"{e.value} does not match {e.rule}{suffix}")


def _not(e: _Error) -> SchemaIssue:
    inner = e.rule if isinstance(e.rule, dict) else {}
    reason = str(inner.get("description") or e.schema.get("description") or "is not allowed here")
    # A `not: {anyOf: [{required: [a]}, …]}` rule is about fields that are present: point at the first.
    present = [name for name in _required_names(inner) if isinstance(e.instance, dict) and name in e.instance]
    where: Path = (*e.path, present[0]) if present else e.path
    return SchemaIssue(where, where, reason)


_DESCRIBERS: dict[str, Callable[[_Error], SchemaIssue]] = {
    "required": _required,
    "additionalProperties": _additional_properties,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minLength": lambda e: e.at("must not be empty" if e.rule == 1 else f"must be at least {e.rule} long"),
    "minimum": lambda e: e.at(f"must be at least {e.rule}, not {e.value}"),
    "exclusiveMinimum": lambda e: e.at(f"must be more than {e.rule}, not {e.value}"),
    "maximum": lambda e: e.at(f"must be at most {e.rule}, not {e.value}"),
    "exclusiveMaximum": lambda e: e.at(f"must be less than {e.rule}, not {e.value}"),
    "uniqueItems": lambda e: e.at("must not contain duplicate items"),
    "minItems": lambda e: e.at(f"must have at least {e.rule} item(s)"),
    "not": _not,
    "false": lambda e: e.at("is not allowed here"),
}


def _type_hint(names: list[str], instance: Any, secret: bool) -> str:
    """Why a value has the wrong type when YAML, not the user, decided it."""
    if secret:
        return ""
    if "boolean" in names and isinstance(instance, str) and instance.lower() in _YAML11_BOOLS:
        return " (YAML 1.1 would read this as a boolean; write true or false)"
    if {"integer", "number"} & set(names) and isinstance(instance, str) and _LEADING_ZERO.match(instance):
        return f" (a number with a leading zero is read as a string; write {int(instance)})"
    if "string" in names and isinstance(instance, (int, float)) and not isinstance(instance, bool):
        return f' (quote it: "{instance}")'
    return ""


def _required_names(rule: dict[str, Any]) -> list[str]:
    names: list[str] = [str(n) for n in rule.get("required", [])]
    for member in rule.get("anyOf", []) + rule.get("oneOf", []):
        if isinstance(member, dict):
            names.extend(_required_names(member))
    return names


def _misspelling(type_schema: TypeSchema | None, path: Path, instance: Any, missing: str) -> str | None:
    """A key of `instance` the schema does not know that is a near-miss of the missing field `missing`."""
    if type_schema is None or not isinstance(instance, dict):
        return None
    declared = (
        type_schema.properties(type_schema.field(path) or {}) if path else type_schema.properties(type_schema.root)
    )
    if declared is None:
        return None
    known = set(declared) | (set(FILE_ONLY_KEYS) if not path else set())
    unknown = [key for key in instance if isinstance(key, str) and key not in known]
    for key in unknown:
        import difflib  # only for a message: not at start-up

        close = difflib.get_close_matches(key, list(declared), n=1, cutoff=0.7)
        if close and close[0] == missing:
            return key
    return None


def _missing_name(error: jsonschema.ValidationError) -> str:
    """jsonschema raises one error per missing field; its message is the only place that names it."""
    rule: Any = error.validator_value
    for name in rule:
        if error.message == f"{name!r} is a required property":
            return str(name)
    instance: Any = error.instance if isinstance(error.instance, dict) else {}
    return next((str(name) for name in rule if name not in instance), "?")


def _condition(schemas: SchemaSet, error: jsonschema.ValidationError) -> str:
    """' (when authenticationType is userPassword)' for errors raised by an if/then rule; '' otherwise."""
    node: Any = schemas.validator.schema
    resolver = schemas.registry.resolver(base_uri=node.get("$id", ""))
    condition: Any = None
    for part in error.schema_path:
        # jsonschema leaves `$ref` out of schema paths: follow a reference when the next key is not here.
        while isinstance(node, dict) and "$ref" in node and part not in node:
            resolved = resolver.lookup(node["$ref"])
            resolver = resolved.resolver
            node = resolved.contents
        if isinstance(node, dict) and part == "then" and "if" in node:
            condition = node["if"]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return ""
    return _condition_text(condition)


def _condition_text(condition: Any) -> str:
    if not isinstance(condition, dict):
        return ""
    clauses = []
    for name, rule in condition.get("properties", {}).items():
        if name == "type":
            continue  # the dispatch on `type`: the file already says which type it is
        if isinstance(rule, dict) and "const" in rule:
            clauses.append(f"{name} is {json.dumps(rule['const'])}")
        elif isinstance(rule, dict) and "enum" in rule:
            clauses.append(f"{name} is one of {', '.join(json.dumps(v) for v in rule['enum'])}")
    if clauses:
        return " (when " + " and ".join(clauses) + ")"
    return ""

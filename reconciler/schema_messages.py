"""Turns jsonschema's errors into one-line messages a platform engineer can act on.

Messages never quote the value of a secret (writeOnly) field, and never dump a whole object.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

import jsonschema

from reconciler.model import Path

if TYPE_CHECKING:
    from reconciler.schema import SchemaIssue, SchemaSet, TypeSchema

_JSON_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    type(None): "null",
}


_YAML11_BOOLS = frozenset({"yes", "no", "on", "off", "y", "n"})


def _kind(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(
    schemas: SchemaSet, type_schema: TypeSchema | None, error: jsonschema.ValidationError
) -> SchemaIssue:
    from reconciler.schema import SchemaIssue  # noqa: PLC0415 - schema.py imports this module lazily

    instance: Any = error.instance
    rule: Any = error.validator_value
    path: Path = tuple(error.absolute_path)
    secret = type_schema is not None and type_schema.is_secret(path)
    value = "(secret)" if secret else _show(instance)
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    when = _condition(schemas, error)

    if keyword == "required":
        missing = _missing_name(error)
        return SchemaIssue((*path, missing), path, f"required field is missing{when}")
    if keyword == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        name = extra[0] if extra else "?"
        close = difflib.get_close_matches(name, list(schema.get("properties", {})), n=1, cutoff=0.7)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return SchemaIssue((*path, name), path, f"unknown field{hint}")
    if keyword == "type":
        expected = rule
        names: list[str] = expected if isinstance(expected, list) else [expected]
        shown = "" if secret else f" {value}"
        hint = ""
        if "boolean" in names and isinstance(instance, str) and instance.lower() in _YAML11_BOOLS:
            hint = " (YAML 1.1 would read this as a boolean; write true or false)"
        return SchemaIssue(path, path, f"must be {' or '.join(names)}, not {_kind(instance)}{shown}{hint}")
    if keyword == "enum":
        allowed = ", ".join(json.dumps(v) for v in rule)
        suggestion = ""
        if isinstance(instance, str):
            options = [v for v in rule if isinstance(v, str)]
            match = difflib.get_close_matches(instance, options, n=1, cutoff=0.6)
            suggestion = f" (did you mean {json.dumps(match[0])}?)" if match else ""
        return SchemaIssue(path, path, f"{value} is not one of {allowed}{suggestion}")
    if keyword == "const":
        reason = schema.get("description", "")
        suffix = f": {reason}" if reason else ""
        return SchemaIssue(path, path, f"must be {json.dumps(rule)}{suffix}")
    if keyword == "pattern":
        reason = schema.get("description", "")
        suffix = f" ({reason})" if reason else ""
        return SchemaIssue(path, path, f"{value} does not match {rule}{suffix}")
    if keyword == "minLength":
        return SchemaIssue(path, path, "must not be empty" if rule == 1 else f"must be at least {rule} long")
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[keyword]
        return SchemaIssue(path, path, f"{value} must be {sign} {rule}")
    if keyword == "uniqueItems":
        return SchemaIssue(path, path, "must not contain duplicate items")
    if keyword == "minItems":
        return SchemaIssue(path, path, f"must have at least {rule} item(s)")
    if keyword in ("not", "false"):
        inner = rule if isinstance(rule, dict) else {}
        reason = inner.get("description") or schema.get("description") or "is not allowed here"
        reason = reason if keyword == "not" else "is not allowed here"
        return SchemaIssue(path, path, reason)
    return SchemaIssue(path, path, f"fails the schema's {keyword!r} rule")


def _missing_name(error: jsonschema.ValidationError) -> str:
    instance: Any = error.instance if isinstance(error.instance, dict) else {}
    rule: Any = error.validator_value
    for name in rule:
        if name not in instance:
            return str(name)
    return "?"


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
            condition = None  # a rule met through a reference belongs to the referenced schema
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
        if isinstance(rule, dict) and "const" in rule:
            clauses.append(f"{name} is {json.dumps(rule['const'])}")
        elif isinstance(rule, dict) and "enum" in rule:
            clauses.append(f"{name} is one of {', '.join(json.dumps(v) for v in rule['enum'])}")
    if clauses:
        return " (when " + " and ".join(clauses) + ")"
    return ""

"""Joi-style 400 messages for request bodies, read from the schemas [A14].

Like Joi with `abortEarly`, one message is answered: the first problem in schema order (a key's own
problems before those of the keys after it, unknown keys after the known ones). A message never quotes the
value of a secret (writeOnly) field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import yaml

from reconciler.assumptions import A14_VALIDATION_STATUS
from reconciler.model import Path
from reconciler.sandbox.replies import Rejected
from reconciler.validation.schema import SchemaSet, TypeSchema

_TYPE_WORDS = {
    "string": "must be a string",
    "number": "must be a number",
    "boolean": "must be a boolean",
    "object": "must be of type object",
    "array": "must be an array",
    "null": "must be null",
}
_BOUNDS = {
    "minimum": "must be greater than or equal to",
    "maximum": "must be less than or equal to",
    "exclusiveMinimum": "must be greater than",
    "exclusiveMaximum": "must be less than",
}
_LAST = 10**6  # sorts after every real position


@dataclass(frozen=True, slots=True, order=True)
class Issue:
    order: tuple[int, ...]
    message: str


def parse_body(body: bytes, content_type: str = "") -> Any:
    """The request body as data; None when empty. JSON, or YAML when the content type says so [doc]."""
    if not body.strip():
        return None
    if "yaml" in content_type.lower():
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError:
            raise Rejected(400, "Invalid request payload YAML format") from None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "Invalid request payload JSON format") from None


def label(path: Path) -> str:
    """`("config", "warehouses", 0)` → `"config.warehouses[0]"`, Joi's label; the whole body is `"value"`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f'"{text or "value"}"'


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _choices(values: list[Any]) -> str:
    return "[" + ", ".join(_plain(v) for v in values) + "]"


class PayloadValidator:
    """Checks `{type, autoBootstrap, config}` bodies against the type's schema, with the shared registry."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}

    def check(self, payload: Any, *, secrets_optional: bool = False) -> TypeSchema:
        """The payload's type schema; raises `Rejected(400, <first problem>)` when the payload is invalid.
        `secrets_optional`: a missing secret is no problem (a cleanup script needs no credential)."""
        issues = self.issues(payload, secrets_optional=secrets_optional)
        if issues:
            raise Rejected(A14_VALIDATION_STATUS, issues[0].message)
        return self.schemas.types[payload["type"]]

    def issues(self, payload: Any, *, secrets_optional: bool = False) -> list[Issue]:
        if not isinstance(payload, Mapping):
            return [Issue((), f"{label(())} must be of type object")]
        type_name = payload.get("type")
        if type_name is None:
            return [Issue((), f"{label(('type',))} is required")]
        if not isinstance(type_name, str) or type_name not in self.schemas.types:
            return [Issue((), f"{label(('type',))} must be one of {_choices(list(self.schemas.type_names))}")]
        type_schema = self.schemas.types[type_name]
        top = list(type_schema.properties(type_schema.root) or {})
        found: list[Issue] = []
        for position, key in enumerate(payload):
            if key not in top:  # `lifecycle` and `ensure` are file-only: never API fields
                found.append(Issue((_LAST + position,), f"{label((str(key),))} is not allowed"))
        for error in self._validator(type_name).iter_errors(dict(payload)):
            found.extend(self._describe(type_schema, error, secrets_optional))
        for path, _ in type_schema.unknown_fields(payload):
            found.append(Issue(_order(type_schema, path), f"{label(path)} is not allowed"))
        return sorted(found)

    def _validator(self, type_name: str) -> jsonschema.Draft202012Validator:
        if type_name not in self._validators:
            root = self.schemas.types[type_name].root
            self._validators[type_name] = jsonschema.Draft202012Validator(root, registry=self.schemas.registry)
        return self._validators[type_name]

    def _describe(
        self, type_schema: TypeSchema, error: jsonschema.ValidationError, secrets_optional: bool = False
    ) -> list[Issue]:
        path: Path = tuple(error.absolute_path)
        keyword = error.validator
        instance = error.instance
        at = _order(type_schema, path)
        name = label(path)
        if keyword == "required":
            present = instance if isinstance(instance, Mapping) else {}
            missing = [str(key) for key in _listed(error.validator_value) if key not in present]
            if secrets_optional:
                missing = [key for key in missing if not type_schema.is_secret((*path, key))]
            return [Issue(_order(type_schema, (*path, key)), f"{label((*path, key))} is required") for key in missing]
        if keyword == "type":
            expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            first = str(expected[0])
            if first == "integer":
                is_number = isinstance(instance, int | float) and not isinstance(instance, bool)
                text = "must be an integer" if is_number else "must be a number"
            else:
                text = _TYPE_WORDS.get(first, f"must be of type {first}")
            return [Issue((*at, 0), f"{name} {text}")]
        if keyword == "enum":
            return [Issue((*at, 1), f"{name} must be one of {_choices(_listed(error.validator_value))}")]
        if keyword == "const":
            return [Issue((*at, 1), f"{name} must be {_choices([error.validator_value])}")]
        if keyword == "minLength" and isinstance(instance, str) and not instance:
            return [Issue((*at, 1), f"{name} is not allowed to be empty")]
        if keyword == "minLength":
            return [Issue((*at, 2), f"{name} length must be at least {error.validator_value} characters long")]
        if keyword == "maxLength":
            limit = error.validator_value
            return [Issue((*at, 2), f"{name} length must be less than or equal to {limit} characters long")]
        if keyword == "pattern":
            shown = "" if type_schema.is_secret(path) else f" with value {json.dumps(instance)}"
            return [Issue((*at, 2), f"{name}{shown} fails to match the required pattern: /{error.validator_value}/")]
        if keyword in _BOUNDS:
            return [Issue((*at, 2), f"{name} {_BOUNDS[keyword]} {error.validator_value}")]
        if keyword == "minItems":
            return [Issue((*at, 2), f"{name} must contain at least {error.validator_value} items")]
        if keyword == "uniqueItems":
            return [Issue((*at, 2), f"{name} contains a duplicate value")]
        if keyword == "additionalProperties" and isinstance(instance, Mapping):
            known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
            extra = [str(key) for key in instance if key not in known]
            return [Issue((*at, _LAST), f"{label((*path, key))} is not allowed") for key in extra]
        # `not` and friends: the key-level checks above name the culprit; this one only backs them up.
        return [Issue((_LAST * _LAST,), f"{name} is invalid")]


def _order(type_schema: TypeSchema, path: Path) -> tuple[int, ...]:
    """The position of a path in schema order: each key's index among its parent's declared properties."""
    positions: list[int] = []
    for depth, part in enumerate(path):
        if isinstance(part, int):
            positions.append(part)
            continue
        parent = type_schema.field(path[:depth]) or {}
        names = list(type_schema.properties(parent) or {})
        positions.append(names.index(part) if part in names else _LAST)
    return tuple(positions)

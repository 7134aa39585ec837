"""The vocabulary of the simulator's contract table (contract.py): fields, conditional rules, types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.sandbox.paths import Path, parse

Kind = Literal["string", "integer", "boolean", "object", "array"]
_NO_DEFAULT: Any = object()


@dataclass(frozen=True, slots=True)
class Field:
    kind: Kind
    required: bool = False
    default: Any = _NO_DEFAULT
    secret: bool = False
    choices: tuple[Any, ...] = ()  # the only values accepted (Joi's `valid`)
    pattern: str | None = None
    maximum: int | None = None
    fields: Mapping[str, Field] | None = None  # an object's keys; None: any key (an open object)
    items: Field | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


def text(*, required: bool = False, pattern: str | None = None, secret: bool = False) -> Field:
    return Field("string", required=required, pattern=pattern, secret=secret)


def secret(*, required: bool = False) -> Field:
    return Field("string", required=required, secret=True)


def choice(*values: str, required: bool = False) -> Field:
    return Field("string", required=required, choices=values)


def port(default: int | None) -> Field:
    return Field("integer", default=_NO_DEFAULT if default is None else default, maximum=65535)


def flag(default: bool | None = None) -> Field:
    return Field("boolean", default=_NO_DEFAULT if default is None else default)


def group(**fields: Field) -> Field:
    return Field("object", fields=fields)


def strings() -> Field:
    return Field("array", items=text())


@dataclass(frozen=True, slots=True)
class Rule:
    """When every `(path, value)` of `when` holds (`value` NOT_TRUE: anything but true), `require` must be
    present. Paths are dotted from the payload root."""

    when: tuple[tuple[str, Any], ...]
    require: tuple[str, ...]


NOT_TRUE: Any = object()

AutoBootstrap = Literal["any", "false", "absent"]


@dataclass(frozen=True, slots=True)
class TypeContract:
    name: str
    config: Mapping[str, Field] | None  # None: no config in the request (Trino)
    natural_key: tuple[str, ...]
    immutable: tuple[str, ...] = ()  # "*": every field
    auto_bootstrap: AutoBootstrap = "any"
    rules: tuple[Rule, ...] = ()
    unique: tuple[str, ...] = ()  # also unique across integrations of the type, besides the natural key
    # DELETE of an autoBootstrap: true integration: the config fields the body may carry, and per
    # authenticationType those it must carry [doc §5 + A16]. None: DELETE never takes credentials.
    delete_fields: tuple[str, ...] | None = None
    delete_required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    confirmed: frozenset[str] | None = None  # config fields the docs' examples show (dialect `fields`)
    setup_scripts: tuple[str, ...] = ()  # the extra script stages of the type: initial-create, post-cleanup

    def key_paths(self) -> tuple[Path, ...]:
        return tuple(parse(p) for p in self.natural_key)

    def immutable_paths(self) -> tuple[Path, ...]:
        return tuple(parse(p) for p in self.immutable if p != "*")

    @property
    def replace_on_any_change(self) -> bool:
        return "*" in self.immutable


def walk(fields: Mapping[str, Field], prefix: Path = ("config",)) -> list[tuple[Path, Field]]:
    """Every declared field below `prefix`, depth first in declaration order."""
    found: list[tuple[Path, Field]] = []
    for name, spec in fields.items():
        path = (*prefix, name)
        found.append((path, spec))
        if spec.fields is not None:
            found.extend(walk(spec.fields, path))
    return found


def secret_paths(contract: TypeContract) -> frozenset[Path]:
    return frozenset(p for p, f in walk(contract.config or {}) if f.secret)


def field_at(contract: TypeContract, path: Path) -> Field | None:
    """The declared field at a payload path (`("config", "audit", "enabled")`), None when undeclared."""
    if not path or path[0] != "config" or contract.config is None:
        return None
    fields: Mapping[str, Field] | None = contract.config
    spec: Field | None = None
    for part in path[1:]:
        if isinstance(part, int):
            spec = spec.items if spec is not None else None
            fields = spec.fields if spec is not None else None
            continue
        if fields is None or part not in fields:
            return None
        spec = fields[part]
        fields = spec.fields
    return spec


def documented_defaults(fields: Mapping[str, Field]) -> dict[str, Any]:
    """The contract's server defaults as a nested object; an object holding a default is filled in too."""
    result: dict[str, Any] = {}
    for name, spec in fields.items():
        if spec.has_default:
            result[name] = spec.default
        elif spec.fields is not None:
            inner = documented_defaults(spec.fields)
            if inner:
                result[name] = inner
    return result

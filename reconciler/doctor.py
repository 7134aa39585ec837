"""`reconciler doctor`: what a tenant is, read-only, before anything is planned against it.

It makes one `GET /integrations` (and, with a bearer token, the token exchange the client does anyway) and
reads from the answer the dialect the tenant speaks (docs/immuta-api.md §8), as far as the integrations present show
it: id type, list order, which schema defaults are echoed, what happens to secrets, server fields the
schemas do not know, statuses, natural keys that collide. It never prints a value a secret field holds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.errors import ApiError, AuthError, ReconcilerError
from reconciler.model import Path, dotted
from reconciler.shown import server_text
from reconciler.statuses import Health, health
from reconciler.validation.schema import SchemaSet, TypeSchema, get_path
from reconciler.walk import same

DOCTOR_FORMAT_VERSION = 1
SERVER_FIELDS = frozenset({"id", "status", "validationResults", "type", "autoBootstrap", "config"})
_MASK = re.compile(r"^(\*+|•+|x{4,}|\[?(redacted|masked|hidden|secret)\]?)$", re.IGNORECASE)

SecretHandling = Literal["omitted", "masked", "returned"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "reachable", "credentials", "permission", "listed"
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class DifferingDefault:
    """A schema-defaulted field some integration reports with another value: the tenant's own default when no
    file writes it (issue 21) — the reconciler then sends the schema's on every create and update."""

    path: str
    schema_default: Any
    reported: tuple[Any, ...]  # the other values reported, each once (booleans, numbers, delimiters)
    integrations: int  # how many of the type's integrations report another value


@dataclass(frozen=True, slots=True)
class TypeDialect:
    """What the integrations of one type show about the tenant."""

    type: str
    count: int
    defaults_echoed: tuple[str, ...]  # schema defaults some integration of this type reports
    defaults_not_echoed: tuple[str, ...]  # schema defaults none of them reports
    defaults_differing: tuple[DifferingDefault, ...]  # schema defaults reported with another value
    secrets: tuple[tuple[str, SecretHandling], ...]  # secret field reported → masked/returned; ("*", "omitted")
    unknown_fields: tuple[str, ...]  # fields the schemas do not know (maybe a newer release's)


@dataclass(frozen=True, slots=True)
class Dialect:
    id_type: str  # "number", "string", "mixed" or "unknown"
    list_order: str
    types: tuple[TypeDialect, ...]
    statuses: tuple[tuple[str, int], ...]
    unknown_statuses: tuple[str, ...]
    unknown_types: tuple[str, ...]
    collisions: tuple[str, ...]  # "Snowflake[host=…]: ids 1, 7"
    top_level_fields: tuple[str, ...]  # server fields beside the payload the contract does not list


@dataclass(frozen=True, slots=True)
class DoctorReport:
    target: str
    checks: tuple[Check, ...]
    dialect: Dialect | None = None
    integrations: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def diagnose(target: str, list_integrations: Any, schemas: SchemaSet, *, auth_kind: str) -> DoctorReport:
    """Run the checks with `list_integrations()` (the client's, already configured); never raises for what
    the tenant answers — a failure is a failed check, named."""
    try:
        records = list_integrations()
    except AuthError as exc:
        reached = Check("reachable", True, f"{target} answered")
        if exc.status == 403:
            return DoctorReport(
                target,
                (
                    reached,
                    Check("credentials", True, f"the {auth_kind} was accepted"),
                    Check("permission", False, f"403: the caller lacks APPLICATION_ADMIN — {exc.message}"),
                ),
            )
        return DoctorReport(target, (reached, Check("credentials", False, f"{exc.status}: {exc.message}")))
    except ApiError as exc:
        reachable = exc.status is not None
        checks = [Check("reachable", reachable, f"{target} answered" if reachable else _unreachable(exc))]
        if reachable:
            checks.append(Check("listed", False, str(exc)))
        return DoctorReport(target, tuple(checks))
    except ReconcilerError as exc:
        return DoctorReport(target, (Check("listed", False, str(exc)),))
    passed = (
        Check("reachable", True, f"{target} answered"),
        Check("credentials", True, f"the {auth_kind} was accepted"),
        Check("permission", True, "APPLICATION_ADMIN: GET /integrations is allowed"),
        Check("listed", True, f"{len(records)} integration(s)"),
    )
    return DoctorReport(target, passed, examine(records, schemas), len(records))


def _unreachable(exc: ApiError) -> str:
    return f"{exc.message}" + (f" — {exc.hint}" if exc.hint else "")


def examine(records: Sequence[Any], schemas: SchemaSet) -> Dialect:
    """The dialect the answer shows. Pure: tests feed it any answer."""
    objects = [r for r in records if isinstance(r, Mapping)]
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    unknown_types: set[str] = set()
    for record in objects:
        name = record.get("type")
        if isinstance(name, str) and name in schemas.types:
            by_type.setdefault(name, []).append(record)
        else:
            unknown_types.add(str(name))
    statuses = Counter(str(server_text(r.get("status", ""))) for r in objects)
    return Dialect(
        id_type=_id_type([r.get("id") for r in objects]),
        list_order=_list_order([r.get("id") for r in objects]),
        types=tuple(_type_dialect(schemas.types[name], found) for name, found in sorted(by_type.items())),
        statuses=tuple(sorted(statuses.items())),
        unknown_statuses=tuple(sorted(s for s in statuses if health(s) is Health.UNKNOWN)),
        unknown_types=tuple(sorted(unknown_types)),
        collisions=tuple(_collisions(schemas, by_type)),
        top_level_fields=tuple(sorted({k for r in objects for k in r if k not in SERVER_FIELDS})),
    )


def _id_type(ids: list[Any]) -> str:
    kinds = {"number" if isinstance(i, int) and not isinstance(i, bool) else type(i).__name__ for i in ids}
    kinds = {"string" if k == "str" else k for k in kinds}
    if not kinds:
        return "unknown"
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _list_order(ids: list[Any]) -> str:
    numbers = [int(i) for i in ids if isinstance(i, int) or (isinstance(i, str) and i.isdigit())]
    if len(numbers) < 2 or len(numbers) != len(ids):
        return "unknown (fewer than two numeric ids)"
    if numbers == sorted(numbers):
        return "oldest first (ids ascending)"
    if numbers == sorted(numbers, reverse=True):
        return "newest first (ids descending)"
    return "no order (ids neither ascending nor descending)"


def _type_dialect(type_schema: TypeSchema, records: list[Mapping[str, Any]]) -> TypeDialect:
    defaults = sorted(set(default_paths(type_schema)), key=dotted)
    echoed = [p for p in defaults if any(get_path(r, p) is not None for r in records)]
    differing = tuple(d for d in (_differing(type_schema, p, records) for p in echoed) if d is not None)
    # Which secret fields an integration uses is in the files, not in the answer: a secret field no record
    # reports is "omitted" only as a whole (`*` below); the ones reported say how.
    secrets: dict[str, SecretHandling] = {}
    for path in sorted(type_schema.secret_paths, key=dotted):
        present = [v for v in (get_path(r, path) for r in records) if v is not None]
        if not present:
            continue
        masked = all(isinstance(v, str) and (_MASK.match(v) or v == "") for v in present)
        secrets[dotted(path)] = "masked" if masked else "returned"
    if type_schema.secret_paths and not secrets:
        secrets["*"] = "omitted"
    unknown = sorted({dotted(path) for r in records for path in _unknown_fields(type_schema, r)})
    return TypeDialect(
        type=type_schema.name,
        count=len(records),
        defaults_echoed=tuple(dotted(p) for p in echoed),
        defaults_not_echoed=tuple(dotted(p) for p in defaults if p not in echoed),
        defaults_differing=differing,
        secrets=tuple(secrets.items()),
        unknown_fields=tuple(unknown),
    )


def _differing(type_schema: TypeSchema, path: Path, records: list[Mapping[str, Any]]) -> DifferingDefault | None:
    """Where integrations report `path` with a value other than the schema default. Only JSON scalars are
    shown: a defaulted field is a flag, a port or a delimiter, never a secret (secrets have no default)."""
    default = schema_default(type_schema, path)
    other = [v for v in (get_path(r, path) for r in records) if v is not None and not same(v, default)]
    if not other:
        return None
    shown = tuple(dict.fromkeys(v if isinstance(v, bool | int | float | str) else "(an object)" for v in other))
    return DifferingDefault(dotted(path), default, shown, len(other))


def schema_default(type_schema: TypeSchema, path: Path) -> Any:
    """The default of a leaf field: its own, or the one its enclosing objects' defaults give it."""
    value: Any = None
    for depth in range(1, len(path) + 1):
        node = type_schema.field(path[:depth])
        inherited = value.get(path[depth - 1]) if isinstance(value, dict) else None
        value = node.get("default", inherited) if node is not None else inherited
    return value


def _unknown_fields(type_schema: TypeSchema, record: Mapping[str, Any]) -> Iterator[Path]:
    """Fields the schema does not know, `config`'s own included for a type whose schema has none (Trino)."""
    config = record.get("config")
    if type_schema.field(("config",)) is None and isinstance(config, Mapping):
        yield from (("config", name) for name in config)
    yield from (path for path, _ in type_schema.unknown_fields(record))


def default_paths(type_schema: TypeSchema) -> Iterator[Path]:
    """Every leaf field of the payload that has a schema default (its own, or its enclosing object's)."""

    def walk(node: dict[str, Any] | None, path: Path, inherited: Any) -> Iterator[Path]:
        own = node.get("default", inherited) if node is not None else inherited
        props = type_schema.properties(node) if node is not None else None
        if props:
            for name in props:
                child_default = own.get(name) if isinstance(own, dict) else None
                yield from walk(type_schema.field((*path, name)), (*path, name), child_default)
        elif own is not None and path:
            yield path

    yield from walk(type_schema.root, (), None)


def _collisions(schemas: SchemaSet, by_type: Mapping[str, list[Mapping[str, Any]]]) -> Iterator[str]:
    for name, records in sorted(by_type.items()):
        seen: dict[Any, list[str]] = {}
        for record in records:
            key = schemas.types[name].key_of(record)
            seen.setdefault(key, []).append(str(record.get("id")))
        for key, ids in sorted(seen.items()):
            if len(ids) > 1:
                yield f"{key}: ids {', '.join(ids)}"

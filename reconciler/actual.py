"""What Immuta reports, read from one `GET /integrations`: keyed by natural key, server fields set aside.

A read that fails or looks partial raises; it is never taken as "nothing exists", so no delete can be
planned from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.errors import ApiError
from reconciler.model import IntegrationKey, Path, dotted
from reconciler.shown import known, server_text, shown
from reconciler.statuses import Health, health
from reconciler.validation.schema import SchemaSet, TypeSchema, get_path

if TYPE_CHECKING:
    from reconciler.ownership import Ownership

SERVER_FIELDS = ("id", "status", "validationResults")
# A field the schemas do not know — Trino's GET returns the Immuta API key its cluster is configured with
# [docs/immuta-api.md §3.1], under a name and in a place not documented — is dropped as it is read (shown.known): it is
# never compared, fingerprinted, rendered, saved or exported; only its name is kept.


@dataclass(frozen=True, slots=True)
class ActualIntegration:
    key: IntegrationKey
    id: str
    status: str
    type_schema: TypeSchema = field(repr=False, compare=False)
    payload: dict[str, Any] = field(repr=False)  # {type, autoBootstrap, config} as reported, known fields only
    validation: Mapping[str, Any] | None = field(default=None, repr=False)
    unknown: tuple[Path, ...] = ()  # where Immuta reported fields the schemas do not know (names only)

    @property
    def fingerprint(self) -> str:
        """Changes when anything a plan shows of it changes in Immuta (not when only the status settles). Of the
        shown view: a saved plan never holds a hash of a secret that Immuta returned in clear."""
        return fingerprint(shown(self.type_schema, self.payload))

    @property
    def unhealthy(self) -> bool:
        """A failed status, one this version does not know (never taken as enabled), or failed validation."""
        failed = isinstance(self.validation, Mapping) and self.validation.get("status") == "failed"
        return health(self.status) in (Health.FAILED, Health.UNKNOWN) or failed


class UntrustedRead(ApiError):
    """A list answer that cannot be trusted: nothing is planned or written from it."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            "GET",
            "/integrations",
            None,
            "Immuta's answer cannot be trusted, so nothing was planned: " + "; ".join(reasons),
            hint="Check these integrations in Immuta; the reconciler never guesses which record is the real one.",
        )
        self.reasons = tuple(reasons)


@dataclass(frozen=True, slots=True)
class ActualState:
    integrations: tuple[ActualIntegration, ...]
    unknown_types: tuple[tuple[str, str], ...] = ()  # (id, type) of integrations this version cannot manage
    # Always empty: two records with one natural key fail the read (UntrustedRead). Kept until cli.py's
    # export stops reading it.
    # What reconciler/ownership.py found: the connection-managed integrations, set aside (None: not checked).
    ownership: Ownership | None = field(default=None, compare=False)

    def by_key(self) -> dict[IntegrationKey, ActualIntegration]:
        return {a.key: a for a in self.integrations}


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def payload_of_record(record: Mapping[str, Any], type_schema: TypeSchema) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """An integration record without the server's fields and without the fields its schema does not know
    (their paths returned beside it): what a plan compares."""
    return known(type_schema, {k: v for k, v in record.items() if k not in SERVER_FIELDS})


def record_fingerprint(record: Mapping[str, Any], type_schema: TypeSchema) -> str:
    """The fingerprint of a record as GET returns it, comparable with `ActualIntegration.fingerprint`."""
    return fingerprint(shown(type_schema, payload_of_record(record, type_schema)[0]))


def _examine(records: Any, schemas: SchemaSet) -> tuple[list[str], list[ActualIntegration], list[tuple[str, str]]]:
    """Why a list answer cannot be trusted, one line per reason naming the records (empty: it can be), and
    its integrations (of known and of unknown types), read in one pass.

    A plan built from an untrusted answer would PUT one integration's payload to another's id (duplicate ids)
    or create a second of one that exists (a record without a usable natural key), so it is a failed read."""
    found: list[ActualIntegration] = []
    unknown: list[tuple[str, str]] = []
    if not isinstance(records, list):
        return [f"the answer is a {type(records).__name__}, not a list of integrations"], found, unknown
    reasons: list[str] = []
    ids: dict[str, int] = {}
    keys: dict[IntegrationKey, str] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            reasons.append(f"item {index} is a {type(record).__name__}, not an integration object")
            continue
        raw_id = record.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id) == "":
            reasons.append(f"item {index} has no id")
            continue
        name = f"item {index} (id {raw_id})"
        if str(raw_id) in ids:
            reasons.append(f"{name} has the same id as item {ids[str(raw_id)]}")
            continue
        ids[str(raw_id)] = index
        if not isinstance(record.get("type"), str) or not record["type"]:
            reasons.append(f"{name} has no type")
            continue
        if "config" in record and not isinstance(record["config"], dict):
            reasons.append(f"{name} has a config that is not an object ({json.dumps(record['config'])[:40]})")
            continue
        type_schema = schemas.types.get(record["type"])
        if type_schema is None:
            unknown.append((str(raw_id), record["type"]))  # left alone, and said so in the plan's notes
            continue
        payload, unknown_paths = payload_of_record(record, type_schema)
        missing = [dotted(path) for path in type_schema.natural_key if not _scalar(get_path(payload, path))]
        if missing:
            reasons.append(f"{name} has no {', '.join(missing)}, which identifies a {type_schema.name} integration")
            continue
        key = type_schema.key_of(payload)
        if key in keys:
            reasons.append(f"{name} and {keys[key]} are both {key}: one natural key, two integrations")
            continue
        keys[key] = name
        found.append(
            ActualIntegration(
                key=key,
                id=str(raw_id),
                status=str(server_text(record.get("status", ""))),
                type_schema=type_schema,
                payload=payload,
                validation=record.get("validationResults"),
                unknown=unknown_paths,
            )
        )
    return reasons, found, unknown


def read_actual(records: Any, schemas: SchemaSet) -> ActualState:
    """The integrations of one list answer; raises UntrustedRead when the answer cannot be trusted."""
    reasons, found, unknown = _examine(records, schemas)
    if reasons:
        raise UntrustedRead(reasons)
    return ActualState(tuple(sorted(found, key=lambda a: a.key)), tuple(sorted(unknown)))


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) != ""

"""What Immuta reports, read from one `GET /integrations`: keyed by natural key, server fields set aside.

A read that fails or looks partial raises; it is never taken as "nothing exists", so no delete can be
planned from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import ApiError
from reconciler.model import IntegrationKey
from reconciler.statuses import Health, health
from reconciler.validation.schema import SchemaSet, TypeSchema

SERVER_FIELDS = ("id", "status", "validationResults")


@dataclass(frozen=True, slots=True)
class ActualIntegration:
    key: IntegrationKey
    id: str
    status: str
    type_schema: TypeSchema = field(repr=False, compare=False)
    payload: dict[str, Any] = field(repr=False)  # {type, autoBootstrap, config} as reported
    validation: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        """Changes when anything a plan was based on changes in Immuta (not when only the status settles)."""
        return fingerprint(self.payload)

    @property
    def unhealthy(self) -> bool:
        """A failed status, one this version does not know (never taken as enabled), or failed validation."""
        failed = isinstance(self.validation, Mapping) and self.validation.get("status") == "failed"
        return health(self.status) in (Health.FAILED, Health.UNKNOWN) or failed


@dataclass(frozen=True, slots=True)
class ActualState:
    integrations: tuple[ActualIntegration, ...]
    unknown_types: tuple[tuple[str, str], ...] = ()  # (id, type) of integrations this version cannot manage
    duplicates: tuple[ActualIntegration, ...] = ()  # a second integration with an already-seen natural key

    def by_key(self) -> dict[IntegrationKey, ActualIntegration]:
        return {a.key: a for a in self.integrations}


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_actual(records: Sequence[Any], schemas: SchemaSet) -> ActualState:
    found: dict[IntegrationKey, ActualIntegration] = {}
    unknown: list[tuple[str, str]] = []
    duplicates: list[ActualIntegration] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("type"), str):
            raise ApiError("GET", "/integrations", None, f"item {index} of the list is not an integration")
        type_schema = schemas.types.get(record["type"])
        if type_schema is None:
            unknown.append((str(record["id"]), record["type"]))
            continue
        payload = {k: v for k, v in record.items() if k not in SERVER_FIELDS}
        integration = ActualIntegration(
            key=type_schema.key_of(payload),
            id=str(record["id"]),
            status=str(record.get("status", "")),
            type_schema=type_schema,
            payload=payload,
            validation=record.get("validationResults"),
        )
        if integration.key in found:
            duplicates.append(integration)
        else:
            found[integration.key] = integration
    ordered = tuple(sorted(found.values(), key=lambda a: a.key))
    return ActualState(ordered, tuple(sorted(unknown)), tuple(sorted(duplicates, key=lambda a: (a.key, a.id))))

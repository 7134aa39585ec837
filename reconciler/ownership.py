"""The ownership gate: nothing Immuta holds for a connection is touched (docs/immuta-api.md §10.5).

Every command that reads Immuta goes through `observe`: it lists the integrations, discovers the connections
(reconciler/client/connections.py), and sets aside every integration behind one as *held*: read-only, out of
the actual state that plans, drift and export work from, so nothing can plan a write to it. `restrict` then
refuses a file that names a held integration or a connection's platform account, and `guard` is handed to the
client, which calls it before every request: the last line, for any write path (apply, saved plans, --target,
--rotate, scripts), whatever the plan says.

When discovery fails (anything but the documented 404), ownership is unknown: every Snowflake, Databricks and
Trino integration is held and their files are not planned in that run (C5); the other types proceed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from reconciler.actual import ActualState, payload_of_record, read_actual
from reconciler.assumptions import (
    C1_SEARCH_PATH,
    C4_DATABRICKS_KEY_FIELDS,
    C5_CONNECTION_TYPES,
    C5_LEGACY_ON_SAAS,
    C8_TECHNOLOGY_TYPES,
)
from reconciler.client.connections import Connection, discover
from reconciler.client.immuta import ImmutaClient
from reconciler.desired import DesiredIntegration, DesiredState
from reconciler.errors import ApiError, Problem, ReconcilerError, RefusedError
from reconciler.model import IntegrationKey
from reconciler.planning.protection import previous_key
from reconciler.validation.schema import SchemaSet

READ_ONLY = "connection-managed (read-only)"
SAAS_DOMAIN = ".immuta.com"  # SaaS tenants are https://<name>.immuta.com (docs/immuta-api.md §1)
DATABRICKS = "Databricks"
_ITEM = re.compile(r"/integrations/(?P<id>[^/?]+)(/[^?]*)?")

Status = Literal["known", "absent", "failed"]


@dataclass(frozen=True, slots=True)
class Held:
    """An integration this run never writes: behind a connection, or of a type whose ownership is unknown."""

    id: str
    type: str
    label: str  # its natural key as text, e.g. Snowflake[host=…]
    key: IntegrationKey | None  # None when the type is unknown to the schemas
    host: str | None  # normalised; None for Trino (one per tenant)
    connection: str | None  # the connection's key; None when ownership is unknown or only C4 tells


@dataclass(frozen=True, slots=True)
class Ownership:
    status: Status
    reason: str = ""  # why discovery failed
    connections: tuple[Connection, ...] = ()
    held: tuple[Held, ...] = ()
    dangling: tuple[Connection, ...] = ()  # connections naming an integration Immuta does not list
    withheld: tuple[str, ...] = ()  # files not planned because ownership is unknown

    def saas(self, url: str) -> bool:
        """C5: a tenant on Immuta's SaaS domain, or one whose connections API lists a connection: where Immuta
        marks the Snowflake and Databricks /integrations workflow legacy."""
        host = normalised(url).rsplit(":", 1)[0]
        return self.status == "known" and (host.endswith(SAAS_DOMAIN) or bool(self.connections))


class OwnershipRefused(RefusedError):
    """A write, or a file, that would touch what Immuta holds for a connection (exit 3)."""


def survey(client: ImmutaClient) -> Ownership:
    """Discover the connections; a failure is an answer (ownership unknown), never an exception."""
    try:
        found = discover(client.read_data)
    except ApiError as error:
        return Ownership("failed", reason=_why(error))
    except ReconcilerError as error:  # e.g. an answer too large or not JSON
        return Ownership("failed", reason=str(error).splitlines()[0])
    return Ownership("absent") if found is None else Ownership("known", connections=found)


def observe(client: ImmutaClient, schemas: SchemaSet) -> ActualState:
    """One GET /integrations, then discovery; the held integrations set aside; the client guarded."""
    records = client.list_integrations()
    ownership = survey(client)
    kept, ownership = split(records, ownership, schemas)
    client.protect(guard(ownership))
    actual = read_actual(kept, schemas)
    held = {h.id for h in ownership.held}
    managed = tuple(a for a in actual.integrations if a.id not in held)
    return dataclasses.replace(actual, integrations=managed, ownership=ownership)


def split(records: Any, ownership: Ownership, schemas: SchemaSet) -> tuple[Any, Ownership]:
    """The records plans may see, and the ownership with its held and dangling integrations filled in."""
    if not isinstance(records, list):
        return records, ownership  # read_actual says why it cannot be trusted
    owners = {c.native_id: c for c in ownership.connections if c.native_id is not None}
    kept: list[Any] = []
    held: list[Held] = []
    listed: set[str] = set()
    for record in records:
        raw_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or not isinstance(record.get("type"), str):
            kept.append(record)
            continue
        listed.add(str(raw_id))
        owner = owners.get(str(raw_id))
        c4 = record["type"] == DATABRICKS and _host_spelt(record)
        locked = ownership.status == "failed" and record["type"] in C5_CONNECTION_TYPES
        if owner is None and not c4:
            kept.append(record)  # held when locked, but still read: a listing that cannot be trusted fails
        if owner is not None or c4 or locked:
            held.append(_held(record, str(raw_id), owner.key if owner else None, schemas))
    dangling = tuple(c for c in owners.values() if c.native_id not in listed)
    return kept, dataclasses.replace(ownership, held=tuple(sorted(held, key=_order)), dangling=dangling)


def _order(held: Held) -> tuple[str, int, str]:
    return held.label, len(held.id), held.id


def _host_spelt(record: Mapping[str, Any]) -> bool:
    """C4: the Databricks spelling of a connection's nativeIntegration.config (host, no workspaceUrl)."""
    config = record.get("config")
    return isinstance(config, dict) and "workspaceUrl" not in config and isinstance(config.get("host"), str)


def _account(config: Any) -> str | None:
    """The platform account a config names: workspaceUrl, or host when it has none [C4], normalised."""
    if not isinstance(config, Mapping):
        return None
    value = next((config[name] for name in C4_DATABRICKS_KEY_FIELDS if isinstance(config.get(name), str)), None)
    return normalised(value) if value is not None else None


def _collides(connection: Connection, type_name: Any, account: str | None) -> bool:
    """Whether a create of this type on this account would take the connection's platform account [C7]."""
    if C8_TECHNOLOGY_TYPES.get(connection.technology.lower()) != type_name:
        return False
    return type_name == "Trino" or (connection.host is not None and normalised(connection.host) == account)


def _held(record: Mapping[str, Any], id_: str, connection: str | None, schemas: SchemaSet) -> Held:
    reported = record.get("config")
    config: dict[str, Any] = reported if isinstance(reported, dict) else {}
    type_name = str(record["type"])
    host = _account(config) if type_name != "Trino" else None
    if type_name == DATABRICKS and "workspaceUrl" not in config and isinstance(config.get("host"), str):
        record = {**record, "config": {**config, "workspaceUrl": config["host"]}}
    type_schema = schemas.types.get(type_name)
    key = type_schema.key_of(payload_of_record(record, type_schema)[0]) if type_schema is not None else None
    return Held(id_, type_name, str(key) if key is not None else type_name, key, host, connection)


def normalised(host: str) -> str:
    """A platform account as hosts compare: no scheme, no path, lower case, no trailing dot."""
    text = host.strip().lower()
    text = text.split("://", 1)[-1].split("/", 1)[0]
    return text.rstrip(".")


def restrict(desired: DesiredState, actual: ActualState, url: str) -> tuple[DesiredState, ActualState]:
    """Refuse files naming what a connection holds; under unknown ownership leave the connection types out
    of the plan (the notes name them); warn on legacy types on a SaaS tenant. Raises OwnershipRefused before
    any write."""
    ownership: Ownership | None = actual.ownership
    if ownership is None:
        return desired, actual
    if ownership.status == "failed":
        chosen = tuple(d for d in desired.integrations if d.type_schema.name not in C5_CONNECTION_TYPES)
        left = tuple(f"{d.file} ({d.key})" for d in desired.integrations if d not in chosen)
        withheld = dataclasses.replace(ownership, withheld=left)
        return dataclasses.replace(desired, integrations=chosen), dataclasses.replace(actual, ownership=withheld)
    refusals = [reason for d in desired.integrations for reason in _claims(d, ownership)]
    if refusals:
        raise OwnershipRefused(["nothing was planned: these files name what Immuta holds for a connection:", *refusals])
    legacy = tuple(_legacy(d) for d in desired.integrations if d.present and d.type_schema.name in C5_LEGACY_ON_SAAS)
    if not legacy or not ownership.saas(url):
        return desired, actual
    return dataclasses.replace(desired, warnings=desired.warnings + legacy), actual


def _claims(desired: DesiredIntegration, ownership: Ownership) -> Iterable[str]:
    """Why this file may not be planned: it names a held integration, or a connection's platform account."""
    type_name = desired.type_schema.name
    account = _account(desired.payload.get("config"))
    where = f"  {desired.location(desired.type_schema.natural_key[0] if desired.type_schema.natural_key else ())}: "
    old = previous_key(desired)  # a rename of a held integration would delete it
    for held in ownership.held:
        if held.type != type_name:
            continue
        same = held.key is not None and held.key.loosely() == desired.key.loosely()
        owner = f"connection {held.connection}" if held.connection else "a connection (it reports config.host, C4)"
        if same or type_name == "Trino" or (held.host and held.host == account):
            yield (
                f"{where}{desired.key} is integration {held.id}, {READ_ONLY}: it belongs to {owner}. "
                "Manage it as a connection in Immuta (PUT /data/connection/…), and remove this file."
            )
            return
        if old is not None and held.key is not None and held.key.loosely() == old.loosely():
            yield (
                f"  {desired.location(('lifecycle', 'previously'))}: lifecycle.previously names {old}, integration "
                f"{held.id}, {READ_ONLY}: it belongs to {owner}, and a rename would delete it. Manage it as a "
                "connection in Immuta (PUT /data/connection/…), and remove lifecycle.previously."
            )
            return
    for connection in ownership.connections:
        if _collides(connection, type_name, account):
            yield (
                f"{where}{desired.key} is on the platform account of connection {connection.key}: Immuta allows "
                "one integration per account, and this one is the connection's. Manage it as a connection."
            )
            return


def _legacy(desired: DesiredIntegration) -> Problem:
    return Problem(
        desired.location(()),
        "type",
        f"Immuta marks the /integrations workflow for {desired.type_schema.name} legacy on SaaS, in favour of "
        "connections (docs/immuta-api.md §9.2); it still works, but consider registering it as a connection",
        severity="warning",
    )


def guard(ownership: Ownership) -> Callable[[str, str, Mapping[str, Any] | None], None]:
    """The client's last check before sending: refuses any write to a held integration, anywhere under /data
    but the search, and a create of a type or account ownership forbids."""
    held = {h.id: h for h in ownership.held}

    def check(method: str, path: str, body: Mapping[str, Any] | None) -> None:
        if method == "GET":
            return
        bare = path.partition("?")[0]
        if bare.startswith("/data") and not (method == "POST" and bare == C1_SEARCH_PATH):
            raise OwnershipRefused([f"{method} {bare} refused: the reconciler never writes under /data"])
        match = _ITEM.fullmatch(path)
        target = held.get(unquote(match["id"])) if match is not None else None
        if target is not None:
            raise OwnershipRefused([f"{method} {bare} refused: {target.label} (id {target.id}) is {READ_ONLY}"])
        if method == "POST" and bare == "/integrations" and isinstance(body, Mapping):
            _check_create(ownership, body)

    return check


def _check_create(ownership: Ownership, body: Mapping[str, Any]) -> None:
    type_name = body.get("type")
    if ownership.status == "failed" and type_name in C5_CONNECTION_TYPES:
        raise OwnershipRefused([f"POST /integrations refused: connections could not be checked ({ownership.reason})"])
    account = _account(body.get("config"))
    for connection in ownership.connections:
        if _collides(connection, type_name, account):
            raise OwnershipRefused([f"POST /integrations refused: the account of connection {connection.key}"])


def _why(error: ApiError) -> str:
    status = f" → {error.status}" if error.status is not None and error.status != 200 else ""
    return f"{error.method} {error.path}{status}: {error.message}"

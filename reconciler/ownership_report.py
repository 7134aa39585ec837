"""What the ownership gate (reconciler/ownership.py) found, in the user's words: the plan's and drift's notes,
export's, and doctor's connections check. Once per run; one line per connection-managed integration."""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.actual import ActualState
from reconciler.client.immuta import ImmutaClient
from reconciler.doctor import Check, DoctorReport
from reconciler.ownership import READ_ONLY, Ownership, split, survey
from reconciler.validation.schema import SchemaSet

UNKNOWN = "ownership unknown (read-only in this run)"
WITHHELD = "Not planned, ownership unknown: "


def withheld(plan_notes: tuple[str, ...]) -> int:
    """How many files a plan left out because the connections could not be checked (apply then exits 1)."""
    return sum(1 for note in plan_notes if note.startswith(WITHHELD))


def notes(actual: ActualState) -> tuple[str, ...]:
    """What the plan, drift and export say about ownership: once per run, one line per held integration."""
    ownership: Ownership | None = actual.ownership
    if ownership is None:
        return ()
    lines: list[str] = []
    if ownership.status == "absent":
        lines.append("Connections not checked: this tenant has no connections API (/data answered 404).")
    if ownership.status == "failed":
        lines.append(
            f"Connections could not be checked ({ownership.reason}): no Snowflake, Databricks or Trino "
            "integration is written or deleted in this run."
        )
        lines += [f"{WITHHELD}{text}." for text in ownership.withheld]
    for held in ownership.held:
        shown = f"{held.label} (id {held.id})"
        if held.connection is not None:
            lines.append(
                f"{READ_ONLY}: {shown} belongs to connection {held.connection}; manage it through the connection."
            )
        elif ownership.status == "failed":
            lines.append(f"{UNKNOWN}: {shown} may belong to a connection; left alone in this run.")
        else:
            lines.append(f"{READ_ONLY}: {shown} reports config.host as an integration behind a connection does (C4).")
    for connection in ownership.dangling:
        lines.append(
            f"Connection {connection.key} names integration {connection.native_id}, which Immuta does not list: "
            "it is dangling; nothing is created in its place."
        )
    return tuple(lines)


def export_notes(actual: ActualState) -> tuple[str, ...]:
    """What export says about the integrations it leaves out: never exported as ordinary managed files."""
    held = (READ_ONLY, UNKNOWN)
    return tuple(f"not exported: {line}" if line.startswith(held) else line for line in notes(actual))


def doctor_report(report: DoctorReport, client: ImmutaClient, records: Any, schemas: SchemaSet) -> DoctorReport:
    """Doctor's connections check, from the records it listed: read-only, like the rest of doctor."""
    _, found = split(records, survey(client), schemas)
    if found.status == "failed":
        check = Check(
            "connections",
            False,
            f"could not be checked ({found.reason}): plan and apply will not write Snowflake, Databricks or Trino",
        )
    elif found.status == "absent":
        check = Check("connections", True, "no connections API (/data answered 404): nothing is connection-managed")
    else:
        behind = sum(1 for h in found.held if h.connection is not None)
        check = Check(
            "connections",
            True,
            f"{len(found.connections)} connection(s); {behind} integration(s) behind them are {READ_ONLY}",
        )
    lines = notes(ActualState((), ownership=found))
    return dataclasses.replace(report, checks=(*report.checks, check), notes=report.notes + lines)

"""The state file's format: one JSON document, one integration per line (it diffs well)."""

from __future__ import annotations

import json
from typing import Any, cast

from reconciler.sandbox.records import KINDS, Kind, Pending, Snapshot, StoredIntegration, TenantState

FORMAT_VERSION = 1


def fingerprint(state: TenantState) -> str:
    """A compact rendering, fast to make (C encoder): equal fingerprints, nothing to write."""
    return json.dumps(to_document(state), separators=(",", ":"))


def render(document: dict[str, Any]) -> str:
    """The state file's text: one integration per line, so it diffs well and is written at C speed
    (`json.dumps(indent=…)` falls back to the pure-Python encoder, too slow for big tenants)."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [f"  {dump(k)}: {dump(v)}," for k, v in document.items() if k != "integrations"]
    rows = [f"    {dump(id_)}: {dump(raw)}" for id_, raw in document["integrations"].items()]
    body = "{\n" + ",\n".join(rows) + "\n  }" if rows else "{}"
    return "{\n" + "\n".join(lines) + f'\n  "integrations": {body}\n}}\n'


def to_document(state: TenantState) -> dict[str, Any]:
    """The state as the JSON document of the state file."""
    document = {
        "format_version": FORMAT_VERSION,
        "next_id": state.next_id,
        "integrations": {id_: _encode_integration(i) for id_, i in state.integrations.items()},
        "setup_run": sorted(state.setup_run),
    }
    if state.require_manual_setup:
        document["require_manual_setup"] = True
    if state.dialect:
        document["dialect"] = dict(sorted(state.dialect.items()))
    return document


def _encode_integration(integration: StoredIntegration) -> dict[str, Any]:
    out: dict[str, Any] = {"id": integration.id, "type": integration.type, "status": integration.status}
    if integration.auto_bootstrap is not None:
        out["autoBootstrap"] = integration.auto_bootstrap
    if integration.config is not None:
        out["config"] = integration.config
    if integration.secrets:
        out["secrets"] = integration.secrets
    if integration.created:
        out["created"] = integration.created
    if integration.api_key is not None:
        out["apiKey"] = integration.api_key
    pending = integration.pending
    if pending is not None:
        out["pending"] = {"kind": pending.kind, "due": pending.due, "fails": pending.fails}
        if pending.previous is not None:
            out["pending"]["previous"] = _encode_snapshot(pending.previous)
    return out


def _encode_snapshot(snapshot: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if snapshot.auto_bootstrap is not None:
        out["autoBootstrap"] = snapshot.auto_bootstrap
    if snapshot.config is not None:
        out["config"] = snapshot.config
    if snapshot.secrets:
        out["secrets"] = snapshot.secrets
    return out


def decode(document: Any) -> TenantState:
    if not isinstance(document, dict):
        raise ValueError("the document is not an object")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"format_version {version!r}, expected {FORMAT_VERSION}")
    integrations = {str(k): _decode_integration(v) for k, v in document["integrations"].items()}
    return TenantState(
        int(document["next_id"]),
        integrations,
        {str(k) for k in document.get("setup_run", [])},
        bool(document.get("require_manual_setup", False)),
        {str(k): str(v) for k, v in document.get("dialect", {}).items()},
    )


def _decode_integration(raw: dict[str, Any]) -> StoredIntegration:
    pending: Pending | None = None
    if isinstance(raw.get("pending"), dict):
        p = raw["pending"]
        if p["kind"] not in KINDS:
            raise ValueError(f"unknown transition {p['kind']!r}")
        previous = p.get("previous")
        pending = Pending(
            cast(Kind, p["kind"]),
            float(p["due"]),
            bool(p.get("fails", False)),
            Snapshot(previous.get("autoBootstrap"), previous.get("config"), dict(previous.get("secrets", {})))
            if isinstance(previous, dict)
            else None,
        )
    return StoredIntegration(
        str(raw["id"]),
        str(raw["type"]),
        raw.get("autoBootstrap"),
        raw.get("config"),
        str(raw["status"]),
        pending,
        dict(raw.get("secrets", {})),
        float(raw.get("created", 0.0)),
        raw.get("apiKey"),
    )

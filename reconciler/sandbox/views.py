"""What GET answers for a stored integration, in the chosen dialect [doc §4 + A8, A10, A11; §8].

The tenant keeps what was sent (secrets apart); the view adds the server's defaults, masks or shows
secrets, keeps only the confirmed fields, adds server-only fields — each as its dialect switch says.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from reconciler.sandbox.assumptions import A6_STATUS_FIELDS, MASK
from reconciler.sandbox.contract import TYPES, TypeContract, documented_defaults
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.paths import copy_json, fill, merged, parse, put
from reconciler.sandbox.records import StoredIntegration
from reconciler.sandbox.replies import validation_results

# `defaults=many`: objects a server may fill in although the contract gives them no default (or another):
# Snowflake `lineage.enabled` is true here where the contract's default is false (§8: "with values that may
# differ from the schema's defaults").
MANY_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "Snowflake": {
        "impersonation": {"enabled": False, "role": "IMMUTA_IMPERSONATION"},
        "lineage": {"enabled": True, "lineageConfig": {"ingestBatchSize": 1000, "tableFilter": ".*"}},
        "workspaces": {"enabled": False, "warehouses": []},
        "userRolePattern": {"exclude": []},
    },
    "Databricks": {"audit": {"enabled": False}, "additionalWorkspaceConnections": []},
    "Redshift": {"impersonation": {"enabled": False, "role": "immuta_impersonation"}},
    "Azure Synapse Analytics": {"impersonation": {"enabled": False}},
}
SOME_DEFAULTS = ("port", "audit")
# §9.15: Snowflake features removed in 2026; dialect `snowflake_features` ignores or refuses them.
REMOVED_FEATURES = ("lineage", "workspaces")  # `defaults=some`: only these are filled in


def server_defaults(contract: TypeContract, mode: str) -> dict[str, Any]:
    documented = documented_defaults(contract.config or {})
    if mode == "none":
        return {}
    if mode == "some":
        return {name: value for name, value in documented.items() if name in SOME_DEFAULTS}
    if mode == "many":
        return merged(documented, MANY_DEFAULTS.get(contract.name, {}))
    return documented


def effective_config(contract: TypeContract, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as the server works with it: what was sent, the documented defaults filled in."""
    return fill(dict(config), documented_defaults(contract.config or {}))


def view(integration: StoredIntegration, dialect: Dialect) -> dict[str, Any]:
    """An integration as GET /integrations/{id} answers it."""
    contract = TYPES[integration.type]
    body: dict[str, Any] = {
        "id": int(integration.id) if dialect["ids"] == "number" else integration.id,
        "status": integration.status,
        "validationResults": validation_results(integration.type, integration.status),
        "type": integration.type,
    }
    if integration.auto_bootstrap is not None:
        body["autoBootstrap"] = integration.auto_bootstrap
    if integration.config is not None:
        body["config"] = _config(contract, integration, dialect)
    if dialect["extra"] == "extra":
        stamp = datetime.datetime.fromtimestamp(integration.created, tz=datetime.UTC).isoformat()
        body |= {"createdAt": stamp, "updatedAt": stamp, "createdBy": 2}
    if integration.api_key is not None and dialect["trino_key"] == "top":
        body["apiKey"] = integration.api_key
    if integration.api_key is not None and dialect["trino_key"] == "config":
        body["config"] = {**body.get("config", {}), "apiKey": integration.api_key}
    return body


def _config(contract: TypeContract, integration: StoredIntegration, dialect: Dialect) -> dict[str, Any]:
    config = fill(copy_json(integration.config), server_defaults(contract, dialect["defaults"]))
    if dialect["snowflake_features"] != "present" and contract.name == "Snowflake":
        config = {name: value for name, value in config.items() if name not in REMOVED_FEATURES}
    if dialect["secrets"] != "omitted":
        for path, value in integration.secrets.items():
            shown = value if dialect["secrets"] == "clear" and value is not None else MASK
            put(config, parse(path)[1:], shown)
    confirmed = contract.confirmed
    if dialect["fields"] == "confirmed" and confirmed is not None:
        config = {name: value for name, value in config.items() if name in confirmed}
    if dialect["extra"] == "extra":
        config |= {"connectArgs": "", "createdAt": integration.created}
    if integration.connection is not None and contract.name == "Databricks" and dialect["databricks_key"] == "host":
        # C4: as the connection's nativeIntegration.config spells it, no workspaceUrl and no httpPath
        config = {"host" if n == "workspaceUrl" else n: v for n, v in config.items() if n != "httpPath"}
    return config


def status_view(integration: StoredIntegration, dialect: Dialect) -> dict[str, Any]:
    full = view(integration, dialect)
    if dialect["status_body"] == "whole":
        return full
    return {name: full[name] for name in A6_STATUS_FIELDS}


def short_view(integration: StoredIntegration, dialect: Dialect) -> dict[str, Any]:
    """What POST /integrations answers: `{id, status, validationResults}` [doc]."""
    full = view(integration, dialect)
    return {name: full[name] for name in ("id", "status", "validationResults")}

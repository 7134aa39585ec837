"""A payload as the tenant keeps it: secrets apart, and the names of natural keys whose setup was run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.sandbox.contract import TypeContract, secret_paths
from reconciler.sandbox.paths import dotted, get, merged
from reconciler.sandbox.records import StoredIntegration


def without_secrets(contract: TypeContract, value: Any) -> Any:
    """A copy of a payload with every secret field removed."""
    hidden = secret_paths(contract)

    def strip(node: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, Mapping):
            return {k: strip(v, (*path, k)) for k, v in node.items() if (*path, k) not in hidden}
        if isinstance(node, list):
            return [strip(v, (*path, i)) for i, v in enumerate(node)]
        return node

    return strip(value, ())


def secrets_sent(contract: TypeContract, payload: Mapping[str, Any], keep_values: bool) -> dict[str, Any]:
    """Dotted path → value (kept only when the dialect returns secrets in clear) of every secret sent."""
    found: dict[str, Any] = {}
    for path in sorted(secret_paths(contract)):
        value = get(payload, path)
        if value is not None:
            found[dotted(path)] = value if keep_values else None
    return found


def payload_of(integration: StoredIntegration) -> dict[str, Any]:
    """The stored integration as a `{type, autoBootstrap, config}` payload (never a secret)."""
    payload: dict[str, Any] = {"type": integration.type}
    if integration.auto_bootstrap is not None:
        payload["autoBootstrap"] = integration.auto_bootstrap
    if integration.config is not None:
        payload["config"] = merged({}, integration.config)
    return payload


def key_text(value: Any) -> str:
    return "" if value is None else str(value)


def setup_key(contract: TypeContract, payload: Mapping[str, Any]) -> str:
    """How the state file names a natural key whose manual setup was run: `Native S3[config.name=lake]`."""
    return setup_key_of_values(contract, [key_text(get(payload, path)) for path in contract.key_paths()])


def setup_key_of_values(contract: TypeContract, values: list[str]) -> str:
    inner = ",".join(f"{p}={v}" for p, v in zip(contract.natural_key, values, strict=True))
    return f"{contract.name}[{inner}]"

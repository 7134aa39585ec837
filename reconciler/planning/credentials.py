"""The credentials Immuta's DELETE needs (docs/immuta-api.md §5, A16): the one rule, per type, for plan, gate and apply.

An integration bootstrapped automatically (`autoBootstrap: true`, as Immuta reports it) of a type that has
privileged credentials is deleted with them at the top level of the body; any other — manual bootstrap,
Databricks, every other type — with no body at all, since Immuta answers 400 to credentials it does not
need. Which fields are needed depends on the authentication type (the file's, else Immuta's). The plan
records what is missing, so a tombstone (or a replace) lacking them is refused before the first write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.actual import ActualIntegration
from reconciler.desired import DesiredIntegration
from reconciler.secrets import Secret

# Immuta's 400 answers to a DELETE with the wrong credentials (docs/immuta-api.md §5), matched by their opening words.
CREDENTIALS_REQUIRED = "Integrations that are automatically configured require privileged credentials to disable"
CREDENTIALS_NOT_REQUIRED = "Credentials are not required for disable unless the integration was configured"
# Databricks: SaaS says "a Databricks Unity Catalog integration", releases 2022.2 to 2024.2 "a Databricks integration".
CREDENTIALS_NOT_REQUIRED_DATABRICKS = (
    "Credentials are not required to disable a Databricks Unity Catalog integration",
    "Credentials are not required to disable a Databricks integration",
)


def needed(actual: ActualIntegration | None, desired: DesiredIntegration | None) -> tuple[str, ...]:
    """The config fields without which Immuta refuses to delete `actual`; () when it needs none."""
    if actual is None or actual.payload.get("autoBootstrap") is not True:
        return ()
    by_authentication = actual.type_schema.rules.delete_required  # x-delete-credentials [A16]
    if not by_authentication:
        return ()
    written = _config(desired.body if desired is not None else None).get("authenticationType")
    reported = _config(actual.payload).get("authenticationType")
    authentication = written if isinstance(written, str) else reported
    if authentication in by_authentication:
        return by_authentication[str(authentication)]
    return next(iter(by_authentication.values()))  # the type's first method: what the schemas default to


def missing(actual: ActualIntegration | None, desired: DesiredIntegration | None) -> tuple[str, ...]:
    """The needed fields the file does not give (an empty value counts as not given), as `config.NAME`."""
    config = _config(desired.body if desired is not None else None)
    return tuple(f"config.{name}" for name in needed(actual, desired) if not _given(config.get(name)))


def delete_body(actual: ActualIntegration | None, desired: DesiredIntegration | None) -> dict[str, Any] | None:
    """The DELETE body: the privileged fields the file gives, at the top level; None where none is needed."""
    if not needed(actual, desired):
        return None
    assert actual is not None
    config = _config(desired.body if desired is not None else None)
    fields = actual.type_schema.rules.delete_credentials
    body = {name: config[name] for name in fields if _given(config.get(name))}
    return body or None


def nested(body: Mapping[str, Any]) -> dict[str, Any]:
    """A16's alternative (docs/immuta-api.md §8): a tenant that expects the credentials under `config`. Sent once, only
    after Immuta answered the top-level form with CREDENTIALS_REQUIRED."""
    return {"config": dict(body)}


def wants_them_nested(status: int | None, message: str, sent: Mapping[str, Any]) -> bool:
    """A 400 to top-level credentials that asks for them anyway, or that rejects the names sent (Joi's
    `"username" is not allowed`): the tenant reads them elsewhere — under `config` is the other form (§8)."""
    if status != 400:
        return False
    return message.startswith(CREDENTIALS_REQUIRED) or any(f'"{name}" is not allowed' in message for name in sent)


def explain_refusal(message: str) -> str | None:
    """What to do about a DELETE 400 about credentials, or None when the message is about something else."""
    if message.startswith(CREDENTIALS_REQUIRED):
        return (
            "Immuta reports the integration as bootstrapped automatically: give the privileged credentials in "
            "its tombstone file (ensure: absent) as references, then apply again"
        )
    if message.startswith(CREDENTIALS_NOT_REQUIRED_DATABRICKS) or message.startswith(CREDENTIALS_NOT_REQUIRED):
        return (
            "Immuta did not want the credentials this version sent: plan again (Immuta's autoBootstrap may have "
            "changed since the plan); if it persists, report it with this message"
        )
    return None


def _config(payload: Mapping[str, Any] | None) -> Mapping[str, Any]:
    config = payload.get("config") if payload is not None else None
    return config if isinstance(config, Mapping) else {}


def _given(value: Any) -> bool:
    if isinstance(value, Secret):
        return value.reveal() != ""
    return value is not None and value not in ("", {})

"""What each Integrations API endpoint does to the tenant (contract §2 to §5); HTTP is api.py's business.

Every method works on a `TenantState` inside a session and either returns the answer's body or raises
`Rejected` with the documented status and message.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.assumptions import (
    A4_UPDATE_STATUS_AFTER_PUT,
    A5_DELETE_STATUS_AFTER_DELETE,
    A6_STATUS_FIELDS,
    A8_ID_AS_STRING,
    A13_IMMUTABLE_CHANGE_STATUS,
    A15_TRANSITIONAL_CONFLICT_STATUS,
    A15_TRANSITIONAL_STATUSES,
    A16_DELETE_CREDENTIAL_FIELDS,
)
from reconciler.model import IntegrationKey, Path, dotted
from reconciler.sandbox import scripts
from reconciler.sandbox.faults import FaultInjector
from reconciler.sandbox.replies import Rejected, validation_results
from reconciler.sandbox.tenant import Pending, StoredIntegration, TenantState
from reconciler.sandbox.validation import PayloadValidator, label
from reconciler.validation.schema import SchemaSet, TypeSchema, get_path

DATABRICKS = "Databricks"
PREREQUISITE_FAILED = "Validation of prerequisite setup failed. Unable to create integration."
PREREQUISITE_FAILED_BY_TYPE = {DATABRICKS: "Processing Error: Error trying to get the current metastore info."}
CREDENTIALS_REQUIRED = (
    "Integrations that are automatically configured require privileged credentials to disable. "
    "Please provide them in your payload."
)
CREDENTIALS_NOT_REQUIRED = (
    "Credentials are not required for disable unless the integration was configured automatically. "
    "If you need to update your integration credentials, use PUT to update the integration before disabling."
)
CREDENTIALS_NOT_REQUIRED_DATABRICKS = (
    "Credentials are not required to disable a Databricks Unity Catalog integration. "
    "If you need to update your integration credentials, use PUT to update the integration before disabling."
)


@dataclass(frozen=True, slots=True)
class Settings:
    provisioning_seconds: float = 0.0  # how long creating/editing/deleting last on the sandbox clock
    require_manual_setup: bool = False  # autoBootstrap:false creates need mark_setup_run first (issue 7)


def not_found(id_: str) -> Rejected:
    return Rejected(404, f"No Integration found with ID {id_}.")


def payload_of(integration: StoredIntegration, *, shared: bool = False) -> dict[str, Any]:
    """The stored integration as a `{type, autoBootstrap, config}` payload (Trino: `{type}` only); a copy,
    unless `shared` (for reading only)."""
    payload: dict[str, Any] = {"type": integration.type}
    if integration.auto_bootstrap is not None:
        payload["autoBootstrap"] = integration.auto_bootstrap
    if integration.config is not None:
        payload["config"] = integration.config if shared else copy.deepcopy(integration.config)
    return payload


def view(integration: StoredIntegration) -> dict[str, Any]:
    """An integration as GET answers it [doc + A10]: no secret was ever stored, so none can be returned."""
    body: dict[str, Any] = {
        "id": integration.id if A8_ID_AS_STRING else int(integration.id),
        "status": integration.status,
        "validationResults": validation_results(integration.type, integration.status),
    }
    return body | payload_of(integration)


def without_secrets(type_schema: TypeSchema, value: Any, path: Path = ()) -> Any:
    """A copy of a payload with every write-only field removed: what the tenant stores."""
    if isinstance(value, Mapping):
        return {
            k: without_secrets(type_schema, v, (*path, k))
            for k, v in value.items()
            if not type_schema.is_secret((*path, k))
        }
    if isinstance(value, list):
        return [without_secrets(type_schema, v, (*path, i)) for i, v in enumerate(value)]
    return copy.deepcopy(value)


def stored_form(type_schema: TypeSchema, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Server defaults filled in, secrets dropped [A10]."""
    result: dict[str, Any] = without_secrets(type_schema, type_schema.apply_defaults(payload))
    return result


class Operations:
    def __init__(
        self,
        schemas: SchemaSet,
        injector: FaultInjector,
        settings: Settings,
        clock: Callable[[], float],
    ) -> None:
        self.schemas = schemas
        self.validator = PayloadValidator(schemas)
        self.injector = injector
        self.settings = settings
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------------------

    def find(self, state: TenantState, id_: str) -> StoredIntegration:
        integration = state.integrations.get(id_)
        if integration is None:
            raise not_found(id_)
        return integration

    def list(self, state: TenantState) -> list[dict[str, Any]]:
        return [view(i) for i in sorted(state.integrations.values(), key=lambda i: (len(i.id), i.id))]

    def status(self, state: TenantState, id_: str) -> dict[str, Any]:
        full = view(self.find(state, id_))
        return {name: full[name] for name in A6_STATUS_FIELDS}  # [A6]

    # -- creating --------------------------------------------------------------------------------------

    def create(self, state: TenantState, body: Any) -> dict[str, Any]:
        type_schema = self.validator.check(body)
        self.check_unique(state, type_schema, body, None)
        manual = body.get("autoBootstrap") is False
        required = self.settings.require_manual_setup or state.require_manual_setup
        if required and manual and setup_key(type_schema, body) not in state.setup_run:
            raise Rejected(422, PREREQUISITE_FAILED)
        if self.injector.prerequisite_fails():
            raise Rejected(422, PREREQUISITE_FAILED_BY_TYPE.get(type_schema.name, PREREQUISITE_FAILED))
        stored = stored_form(type_schema, body)
        integration = StoredIntegration(
            state.new_id(), type_schema.name, stored.get("autoBootstrap"), stored.get("config"), "creating"
        )
        integration.pending = Pending("create", self._due(), self.injector.transition_fails("create"))
        state.integrations[integration.id] = integration
        full = view(integration)
        return {name: full[name] for name in ("id", "status", "validationResults")}

    def check_unique(
        self, state: TenantState, type_schema: TypeSchema, payload: Mapping[str, Any], own_id: str | None
    ) -> None:
        """409 on a natural-key twin [doc: Snowflake; A9 others], or on a taken `x-unique` value (S3 path).
        Integrations still `deleting` count until they are gone."""
        key = type_schema.key_of(payload)
        for other in state.integrations.values():
            if other.type != type_schema.name or other.id == own_id:
                continue
            theirs = payload_of(other, shared=True)
            if type_schema.key_of(theirs) == key:
                raise Rejected(409, conflict_message(key, other.id))
            for path in type_schema.unique:
                value = get_path(payload, path)
                if value is not None and get_path(theirs, path) == value:
                    where = f"with {path[-1]} {value}"
                    raise Rejected(409, f"{type_schema.name} integration already exists {where} (id = {other.id}).")

    # -- changing --------------------------------------------------------------------------------------

    def update(self, state: TenantState, id_: str, body: Any) -> dict[str, Any]:
        """PUT takes the whole payload [A4]; immutable fields and the type cannot change [A13]."""
        integration = self.find(state, id_)
        self._refuse_transitional(integration, "edited")
        type_schema = self.validator.check(body)
        if type_schema.name != integration.type:
            raise Rejected(
                A13_IMMUTABLE_CHANGE_STATUS,
                f'"type" cannot be changed from {integration.type} to {type_schema.name}; '
                "delete and re-create the integration instead.",
            )
        if type_schema.replace_on_any_change:
            raise Rejected(
                A13_IMMUTABLE_CHANGE_STATUS,
                f"{type_schema.name} integrations cannot be edited; delete and re-create the integration instead.",
            )
        stored = stored_form(type_schema, body)
        current = payload_of(integration, shared=True)
        for path in sorted(type_schema.immutable, key=dotted):
            if get_path(current, path) != get_path(stored, path):
                raise Rejected(
                    A13_IMMUTABLE_CHANGE_STATUS,
                    f'"{dotted(path)}" cannot be changed after the integration is created; '
                    "delete and re-create the integration to change it.",
                )
        self.check_unique(state, type_schema, body, integration.id)
        previous = integration.snapshot()
        integration.auto_bootstrap = stored.get("autoBootstrap")
        integration.config = stored.get("config")
        integration.status = A4_UPDATE_STATUS_AFTER_PUT
        integration.pending = Pending("edit", self._due(), self.injector.transition_fails("edit"), previous)
        return view(integration)

    def delete(self, state: TenantState, id_: str, body: Any) -> dict[str, Any]:
        """DELETE with the credential rules of contract §5 [doc + A16]."""
        integration = state.integrations.get(id_)
        if integration is None:
            raise Rejected(404, f"No integration found with ID {id_}.")
        self._refuse_transitional(integration, "deleted")
        if body is not None and not isinstance(body, dict):
            raise Rejected(400, f"{label(())} must be of type object")
        credentials_sent = bool(body)
        if credentials_sent and integration.type == DATABRICKS:
            raise Rejected(400, CREDENTIALS_NOT_REQUIRED_DATABRICKS)
        fields = A16_DELETE_CREDENTIAL_FIELDS.get(integration.type)
        needed = integration.auto_bootstrap is True and fields is not None
        if needed and not credentials_sent:
            raise Rejected(400, CREDENTIALS_REQUIRED)
        if credentials_sent and not needed:
            raise Rejected(400, CREDENTIALS_NOT_REQUIRED)
        assert fields is not None or not credentials_sent
        for name in body or {}:
            if fields is not None and name not in fields:
                raise Rejected(400, f"{label((str(name),))} is not allowed")
        # Nothing of the credentials is kept: the sandbox checks no credential value.
        integration.status = A5_DELETE_STATUS_AFTER_DELETE
        integration.pending = Pending("delete", self._due(), self.injector.transition_fails("delete"))
        return view(integration)

    def regenerate(self, state: TenantState, id_: str) -> dict[str, Any]:
        """Regenerates the integration's Immuta API key (SaaS); the new key is not shown."""
        integration = self.find(state, id_)
        self._refuse_transitional(integration, "changed")
        return view(integration)

    def _refuse_transitional(self, integration: StoredIntegration, verb: str) -> None:
        if integration.status in A15_TRANSITIONAL_STATUSES:
            raise Rejected(
                A15_TRANSITIONAL_CONFLICT_STATUS,
                f"Integration {integration.id} cannot be {verb} while its status is {integration.status}.",
            )

    def _due(self) -> float:
        return self.clock() + self.settings.provisioning_seconds

    # -- scripts ---------------------------------------------------------------------------------------

    def payload_script(self, stage: scripts.Stage, body: Any) -> str:
        """`/integrations/scripts/{create,initial-create,cleanup,post-cleanup}`: body = the create payload."""
        if stage in ("create", "initial-create") and isinstance(body, dict) and body.get("autoBootstrap") is True:
            raise Rejected(400, f"{label(('autoBootstrap',))} must be [false]")
        # A cleanup script removes what exists: the caller may no longer hold the secrets (GET never returns
        # them), and a script never contains one, so missing secrets are no reason to refuse (issue 7).
        type_schema = self.validator.check(body, secrets_optional=stage in ("cleanup", "post-cleanup"))
        allowed = scripts.ONLY_FOR.get(stage)
        if allowed is not None and type_schema.name not in allowed:
            raise Rejected(
                400,
                f"The {stage} script is only available for {' and '.join(sorted(allowed))} integrations.",
            )
        return scripts.script(stage, without_secrets(type_schema, body))

    def integration_script(self, state: TenantState, stage: scripts.Stage, id_: str, body: Any) -> str:
        """`/integrations/{id}/scripts/{edit,delete}`; an edit script may take the new payload as body."""
        integration = self.find(state, id_)
        payload = payload_of(integration)
        if stage == "edit" and body is not None:
            type_schema = self.validator.check(body)
            if type_schema.name != integration.type:
                raise Rejected(A13_IMMUTABLE_CHANGE_STATUS, f'"type" cannot be changed from {integration.type}.')
            payload = without_secrets(type_schema, body)
        return scripts.script(stage, payload)


def setup_key(type_schema: TypeSchema, payload: Mapping[str, Any]) -> str:
    """How the state file names a natural key whose manual setup was run: `Native S3[config.name=lake]`."""
    values = [get_path(payload, path) for path in type_schema.natural_key]
    return setup_key_of_values(type_schema, ["" if v is None else str(v) for v in values])


def setup_key_of_values(type_schema: TypeSchema, values: list[str]) -> str:
    inner = ",".join(f"{dotted(p)}={v}" for p, v in zip(type_schema.natural_key, values, strict=True))
    return f"{type_schema.name}[{inner}]"


def conflict_message(key: IntegrationKey, id_: str) -> str:
    """`Snowflake integration already exists on acme.snowflakecomputing.com (id = 3).` [doc]; the other
    types alike, their natural-key values joined by `/` (`Redshift … on <host>/<database> (id = 3).`)."""
    values = [value for name, value in key.parts if name != "type"]
    where = f" on {'/'.join(values)}" if values else ""
    return f"{key.type} integration already exists{where} (id = {id_})."

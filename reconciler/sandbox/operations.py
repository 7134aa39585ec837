"""What each Integrations API endpoint does to the tenant (docs/immuta-api.md §2 to §5); HTTP is api.py's business.

Every method works on a `TenantState` inside a session, in one `Dialect`, and either returns the answer's
body or raises `Rejected` with the documented status and message.
"""

from __future__ import annotations

import random
import secrets as token_source
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox import assumptions as a
from reconciler.sandbox import scripts, validation
from reconciler.sandbox.contract import TYPES, TypeContract
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.faults import FaultInjector
from reconciler.sandbox.paths import dotted, get, merged
from reconciler.sandbox.payloads import key_text, payload_of, secrets_sent, setup_key, without_secrets
from reconciler.sandbox.records import Pending, StoredIntegration, TenantState
from reconciler.sandbox.replies import Rejected
from reconciler.sandbox.views import REMOVED_FEATURES, effective_config, short_view, status_view, view

DATABRICKS = "Databricks"
SYNAPSE = "Azure Synapse Analytics"
FAILED = "createError"


@dataclass(frozen=True, slots=True)
class Settings:
    provisioning_seconds: float = 0.0  # how long creating/editing/deleting last on the sandbox clock
    require_manual_setup: bool = False  # autoBootstrap:false creates need mark_setup_run first (issue 7)


def not_found(id_: str) -> Rejected:
    return Rejected(404, a.NOT_FOUND_GET.format(id=id_))


class Operations:
    def __init__(self, injector: FaultInjector, settings: Settings, clock: Callable[[], float]) -> None:
        self.injector = injector
        self.settings = settings
        self.clock = clock
        self._shuffle = random.Random(0)  # `order=shuffled`: seeded, so a run is reproducible

    # -- reading ---------------------------------------------------------------------------------------

    def find(self, state: TenantState, id_: str) -> StoredIntegration:
        integration = state.integrations.get(id_)
        if integration is None:
            raise not_found(id_)
        return integration

    def list(self, state: TenantState, dialect: Dialect) -> list[dict[str, Any]]:
        ordered = sorted(state.integrations.values(), key=lambda i: (len(i.id), i.id))
        if dialect["order"] == "newest":
            ordered.reverse()
        elif dialect["order"] == "shuffled":
            self._shuffle.shuffle(ordered)
        return [view(i, dialect) for i in ordered]

    def status(self, state: TenantState, id_: str, dialect: Dialect) -> dict[str, Any]:
        return status_view(self.find(state, id_), dialect)

    # -- creating --------------------------------------------------------------------------------------

    def check(self, body: Any, dialect: Dialect, *, secrets_optional: bool = False) -> TypeContract:
        free = dialect["errors"] == "free"
        contract = validation.check(body, secrets_optional=secrets_optional, free_text=free)
        if dialect["snowflake_features"] == "refused" and contract.name == "Snowflake":
            for name in REMOVED_FEATURES:  # §9.15: features a current release no longer knows
                if name in (body.get("config") or {}):
                    issue = validation.Issue((), ("config", name), "is not allowed")
                    raise Rejected(400, issue.free() if free else issue.joi())
        return contract

    def create(self, state: TenantState, body: Any, dialect: Dialect) -> dict[str, Any]:
        contract = self.check(body, dialect)
        self.check_unique(state, contract, body, None, dialect)
        manual = body.get("autoBootstrap") is False
        required = self.settings.require_manual_setup or state.require_manual_setup
        if required and manual and setup_key(contract, body) not in state.setup_run:
            raise Rejected(422, a.PREREQUISITE_FAILED)
        if self.injector.prerequisite_fails():
            text = a.PREREQUISITE_FAILED_DATABRICKS if contract.name == DATABRICKS else a.PREREQUISITE_FAILED
            raise Rejected(422, text)
        integration = self.new_integration(state, contract, body, dialect, "creating")
        integration.pending = Pending("create", self._due(), self.injector.transition_fails("create"))
        return short_view(integration, dialect)

    def new_integration(
        self, state: TenantState, contract: TypeContract, body: Mapping[str, Any], dialect: Dialect, status: str
    ) -> StoredIntegration:
        stored = without_secrets(contract, body)
        integration = StoredIntegration(
            state.new_id(), contract.name, stored.get("autoBootstrap"), stored.get("config"), status
        )
        integration.secrets = secrets_sent(contract, body, dialect["secrets"] == "clear")
        integration.created = self.clock()
        if contract.config is None:  # Trino: the Immuta API key its cluster is configured with [doc]
            integration.api_key = token_source.token_hex(16)
        state.integrations[integration.id] = integration
        return integration

    def check_unique(
        self,
        state: TenantState,
        contract: TypeContract,
        payload: Mapping[str, Any],
        own_id: str | None,
        dialect: Dialect = Dialect(),  # noqa: B008 - frozen value object
    ) -> None:
        """409 on a natural-key twin [doc: Snowflake; A9 others; §9.7: Synapse on the host alone, dialect
        `synapse_conflict`], or on a taken unique value (S3 path). Integrations still `deleting` count until
        they are gone."""
        paths = contract.key_paths()
        if contract.name == SYNAPSE and dialect["synapse_conflict"] == "host":
            paths = (("config", "host"),)
        key = [key_text(get(payload, path)) for path in paths]
        for other in state.integrations.values():
            if other.type != contract.name or other.id == own_id:
                continue
            theirs = {"config": other.config}  # read only: no copy (a create checks every integration)
            if [key_text(get(theirs, path)) for path in paths] == key and own_id is None and other.status == FAILED:
                raise Rejected(400, a.REPEATED_FAILED_CREATE.format(id=other.id))  # §9.6: repair it with PUT
            if [key_text(get(theirs, path)) for path in paths] == key:
                where = f" on {'/'.join(key)}" if key else ""
                raise Rejected(409, f"{contract.name} integration already exists{where} (id = {other.id}).")
            for name in contract.unique:
                path = tuple(name.split("."))
                value = get(payload, path)
                if value is not None and get(theirs, path) == value:
                    where = f"with {path[-1]} {value}"
                    raise Rejected(409, f"{contract.name} integration already exists {where} (id = {other.id}).")

    # -- changing --------------------------------------------------------------------------------------

    def update(self, state: TenantState, id_: str, body: Any, dialect: Dialect) -> dict[str, Any]:
        """PUT takes the whole payload [A4]; immutable fields and the type cannot change [A13]."""
        integration = self.find(state, id_)
        self._refuse_transitional(integration, dialect)
        contract = self.check(body, dialect)
        if contract.name != integration.type:
            raise Rejected(
                a.A13_IMMUTABLE_CHANGE_STATUS,
                f'"type" cannot be changed from {integration.type} to {contract.name}; '
                "delete and re-create the integration instead.",
            )
        if contract.replace_on_any_change:
            raise Rejected(
                a.A13_IMMUTABLE_CHANGE_STATUS,
                f"{contract.name} integrations cannot be edited; delete and re-create the integration instead.",
            )
        stored = without_secrets(contract, body)
        sent = secrets_sent(contract, body, dialect["secrets"] == "clear")
        config: dict[str, Any] = stored.get("config") or {}
        if dialect["put"] == "merge":  # an omitted field keeps its stored value
            config = merged(integration.config or {}, config)
            sent = {**integration.secrets, **sent}
        before = effective_config(contract, integration.config or {})
        after = effective_config(contract, config)
        for path in contract.immutable_paths():
            if get(before, path[1:]) != get(after, path[1:]) and dialect["immutable_change"] == "400":
                raise Rejected(400, a.NON_EDITABLE)  # §9.4
            if get(before, path[1:]) != get(after, path[1:]):
                raise Rejected(
                    a.A13_IMMUTABLE_CHANGE_STATUS,
                    f'"{dotted(path)}" cannot be changed after the integration is created; '
                    "delete and re-create the integration to change it.",
                )
        self.check_unique(state, contract, {**body, "config": config}, integration.id, dialect)
        previous = integration.snapshot()
        integration.auto_bootstrap = stored.get("autoBootstrap")
        integration.config = config
        integration.secrets = sent
        integration.status = a.A4_STATUS_AFTER_PUT
        integration.pending = Pending("edit", self._due(integration), self.injector.transition_fails("edit"), previous)
        return view(integration, dialect)

    def delete(self, state: TenantState, id_: str, body: Any, dialect: Dialect) -> dict[str, Any] | None:
        """DELETE with the credential rules of docs/immuta-api.md §5 [doc + A16]; None: answered with no body."""
        integration = state.integrations.get(id_)
        if integration is None:
            raise Rejected(404, a.NOT_FOUND_DELETE.format(id=id_))
        self._refuse_transitional(integration, dialect)
        credentials = self._credentials(body, dialect)
        contract = TYPES[integration.type]
        if credentials and contract.name == DATABRICKS:
            old = dialect["release"] == "2024.2"
            raise Rejected(
                400, a.CREDENTIALS_NOT_REQUIRED_DATABRICKS_OLD if old else a.CREDENTIALS_NOT_REQUIRED_DATABRICKS
            )
        needed = integration.auto_bootstrap is True and contract.delete_fields is not None
        if credentials and not needed:
            raise Rejected(400, a.CREDENTIALS_NOT_REQUIRED)
        if needed:
            allowed = contract.delete_fields or ()
            for name in credentials:
                if name not in allowed:
                    raise Rejected(400, f"{validation.label((str(name),))} is not allowed")
            method = str((integration.config or {}).get("authenticationType", ""))
            wanted = contract.delete_required.get(method, ())
            if not credentials or any(credentials.get(name) in (None, "") for name in wanted):
                raise Rejected(400, a.CREDENTIALS_REQUIRED)
        # Nothing of the credentials is kept: the sandbox checks no credential value.
        integration.status = a.A5_STATUS_AFTER_DELETE
        integration.pending = Pending("delete", self._due(integration), self.injector.transition_fails("delete"))
        answer = view(integration, dialect)
        if dialect["deleted"] == "vanish" and not integration.pending.fails:
            del state.integrations[integration.id]
        return None if dialect["delete_status"] == "204" else answer

    @staticmethod
    def _credentials(body: Any, dialect: Dialect) -> dict[str, Any]:
        if body is not None and not isinstance(body, dict):
            raise Rejected(400, f"{validation.label(())} must be of type object")
        if dialect["delete_credentials"] != "config" or not body:
            return dict(body or {})
        for name in body:
            if name != "config":
                raise Rejected(400, f"{validation.label((str(name),))} is not allowed")
        nested = body.get("config")
        if nested is not None and not isinstance(nested, dict):
            raise Rejected(400, f"{validation.label(('config',))} must be of type object")
        return dict(nested or {})

    def regenerate(self, state: TenantState, id_: str, dialect: Dialect) -> dict[str, Any]:
        """Regenerates the integration's Immuta API key (SaaS); the new key is not shown in the answer."""
        integration = self.find(state, id_)
        self._refuse_transitional(integration, dialect)
        if integration.api_key is not None:
            integration.api_key = token_source.token_hex(16)
        return short_view(integration, dialect)

    def _refuse_transitional(self, integration: StoredIntegration, dialect: Dialect) -> None:
        if integration.status not in a.A15_TRANSITIONAL_STATUSES or dialect["transitional"] == "queued":
            return
        status = a.A15_TRANSITIONAL_CONFLICT_STATUS if dialect["transitional"] == "409" else 422
        raise Rejected(status, a.TRANSITIONAL_REFUSAL.format(id=integration.id, status=integration.status))

    def _due(self, queued_after: StoredIntegration | None = None) -> float:
        """When a transition started now ends; `transitional=queued`: after the one under way."""
        start = self.clock()
        if queued_after is not None and queued_after.pending is not None:
            start = max(start, queued_after.pending.due)
        return start + self.settings.provisioning_seconds

    # -- scripts ---------------------------------------------------------------------------------------

    def payload_script(self, stage: scripts.Stage, body: Any, dialect: Dialect) -> str:
        """`/integrations/scripts/{create,initial-create,cleanup,post-cleanup}`: body = the create payload."""
        if stage in ("create", "initial-create") and isinstance(body, dict) and body.get("autoBootstrap") is True:
            raise Rejected(400, f"{validation.label(('autoBootstrap',))} must be [false]")
        # A cleanup script removes what exists: the caller may no longer hold the secrets (GET never returns
        # them), and a script never contains one, so missing secrets are no reason to refuse (issue 7).
        contract = self.check(body, dialect, secrets_optional=stage in ("cleanup", "post-cleanup"))
        allowed = scripts.ONLY_FOR.get(stage)
        if allowed is not None and contract.name not in allowed:
            raise Rejected(
                400,
                f"The {stage} script is only available for {' and '.join(sorted(allowed))} integrations.",
            )
        return scripts.script(stage, without_secrets(contract, body))

    def integration_script(
        self, state: TenantState, stage: scripts.Stage, id_: str, body: Any, dialect: Dialect
    ) -> str:
        """`/integrations/{id}/scripts/{edit,delete}`; an edit script may take the new payload as body."""
        integration = self.find(state, id_)
        payload = payload_of(integration)
        if stage == "edit" and body is not None:
            contract = self.check(body, dialect)
            if contract.name != integration.type:
                raise Rejected(a.A13_IMMUTABLE_CHANGE_STATUS, f'"type" cannot be changed from {integration.type}.')
            payload = without_secrets(contract, body)
        return scripts.script(stage, payload)

"""What the simulated tenant holds: integrations, their pending transitions, the id counter."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["create", "edit", "delete"]
KINDS: tuple[Kind, ...] = ("create", "edit", "delete")
SETTLED_OK = "enabled"
FAILED_STATUS: dict[Kind, str] = {"create": "createError", "edit": "editError", "delete": "deleteError"}


@dataclass(slots=True)
class Snapshot:
    """What an edit rolls back to: the integration's payload before the PUT."""

    auto_bootstrap: bool | None
    config: dict[str, Any] | None
    secrets: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Pending:
    """An asynchronous transition: it settles once the clock passes `due`, into success or its error."""

    kind: Kind
    due: float
    fails: bool = False
    previous: Snapshot | None = None


@dataclass(slots=True)
class StoredIntegration:
    id: str
    type: str
    auto_bootstrap: bool | None
    config: dict[str, Any] | None  # the non-secret fields as sent (defaults are the view's business)
    status: str
    pending: Pending | None = None
    # dotted path of every secret sent → its value when the dialect returns secrets in clear, else None
    secrets: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    api_key: str | None = None  # Trino: the Immuta API key the Starburst cluster is configured with
    connection: str | None = None  # the key of the connection this integration is the native one of (§10)

    def snapshot(self) -> Snapshot:
        return Snapshot(self.auto_bootstrap, copy.deepcopy(self.config), dict(self.secrets))


@dataclass(slots=True)
class StoredConnection:
    """A connection registered through the `/data` API (contract §10): its native integration's id, if any."""

    key: str
    technology: str
    native_id: str | None
    connection: dict[str, Any] = field(default_factory=dict)  # `hostname`, `port`… never a secret


@dataclass(slots=True)
class TenantState:
    next_id: int = 1
    integrations: dict[str, StoredIntegration] = field(default_factory=dict)
    setup_run: set[str] = field(default_factory=set)
    require_manual_setup: bool = False  # persisted switch: autoBootstrap:false creates need the setup run
    dialect: dict[str, str] = field(default_factory=dict)  # persisted `sandbox configure --dialect`
    connections: dict[str, StoredConnection] = field(default_factory=dict)  # by connection key

    def new_id(self) -> str:
        """Ids are increasing integers, never reused [A8]."""
        number = self.next_id
        self.next_id += 1
        return str(number)

    def settle(self, now: float) -> bool:
        """Finish every transition whose time has come (lazily, when someone looks); True when any did."""
        changed = False
        for integration in list(self.integrations.values()):
            pending = integration.pending
            if pending is None or now < pending.due:
                continue
            changed = True
            integration.pending = None
            if pending.kind == "delete" and not pending.fails:
                del self.integrations[integration.id]  # gone from the list once deleted [A5]
                continue
            if pending.fails and pending.previous is not None:
                # editError rolls back to the previous state (docs/immuta-api.md §4)
                integration.auto_bootstrap = pending.previous.auto_bootstrap
                integration.config = pending.previous.config
                integration.secrets = pending.previous.secrets
            integration.status = FAILED_STATUS[pending.kind] if pending.fails else SETTLED_OK
        return changed

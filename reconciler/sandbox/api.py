"""The simulator: `Sandbox.handle(SandboxRequest) -> SandboxResponse`, for the in-process transport and the
loopback server. Routing, authentication, faults, dialect, request log here; endpoints in operations.py."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from reconciler.sandbox import scripts, validation
from reconciler.sandbox.auth import Gatekeeper
from reconciler.sandbox.connections import DataApi
from reconciler.sandbox.contract import TYPES, TypeContract, field_at
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.faults import FaultInjector, Faults
from reconciler.sandbox.operations import Operations, Settings
from reconciler.sandbox.paths import parse, put
from reconciler.sandbox.payloads import payload_of, setup_key, setup_key_of_values
from reconciler.sandbox.replies import Rejected, boom, json_response, rejected_response, text_response
from reconciler.sandbox.tenant import StoredIntegration, Tenant, TenantState
from reconciler.sandbox.views import effective_config, view
from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse

Handler = Callable[[TenantState, "Call"], SandboxResponse]


@dataclass(frozen=True, slots=True)
class Call:
    """One routed request: the path parameters, the parsed body and the dialect it is answered in."""

    params: Mapping[str, str]
    body: Any
    dialect: Dialect
    authorization: str | None = None  # the header, for the token exchange (§9.13)


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]  # HTTP method → what answers it
    authenticated: bool = True


_ID = r"(?P<id>[^/]+)"
_SCRIPT_STAGES = r"(?P<stage>create|initial-create|cleanup|post-cleanup)"


class Sandbox:
    """A simulated Immuta tenant speaking the Integrations API (`docs/immuta-api.md`).

    `api_key=None` accepts any non-empty key. With `state_file`, the tenant lives in that JSON file (see
    tenant.py for how it is shared). `provisioning_seconds=0` settles every transition by the next request.
    `dialect`: how the server answers where the docs are silent (dialects.py); None: the one persisted in
    the state (`sandbox configure --dialect`), else the defaults. `clock` and `sleep` are injectable.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        forbidden_keys: Iterable[str] = (),
        token_lifetime_seconds: float = 3600.0,
        provisioning_seconds: float = 0.0,
        state_file: str | os.PathLike[str] | None = None,
        faults: Faults | None = None,
        require_manual_setup: bool = False,
        dialect: Dialect | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self._sleep = sleep
        self._injector = FaultInjector(faults or Faults())
        self.gatekeeper = Gatekeeper(api_key, forbidden_keys, token_lifetime_seconds, clock)
        self.tenant = Tenant(state_file, clock)
        self.settings = Settings(provisioning_seconds, require_manual_setup)
        self.operations = Operations(self._injector, self.settings, clock)
        self.dialect = dialect
        self._log_lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request received, in order
        self.data = DataApi(self.tenant, self.gatekeeper, self.dialect_of, sleep)  # /data and C7 (§10)
        self._routes = (
            Route(re.compile(r"/bim/apikey/authenticate"), {"POST": self._authenticate}, authenticated=False),
            Route(re.compile(r"/integrations"), {"GET": self._list, "POST": self._create}),
            Route(re.compile(rf"/integrations/scripts/{_SCRIPT_STAGES}"), {"POST": self._payload_script}),
            Route(re.compile(rf"/integrations/{_ID}"), {"GET": self._get, "PUT": self._update, "DELETE": self._delete}),
            Route(re.compile(rf"/integrations/{_ID}/status"), {"GET": self._status}),
            Route(re.compile(rf"/integrations/{_ID}/regenerate"), {"POST": self._regenerate}),
            Route(
                re.compile(rf"/integrations/{_ID}/scripts/(?P<stage>edit|delete)"), {"POST": self._integration_script}
            ),
        )

    # -- configuration at run time ---------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        """Switch faults mid-run; the RNG restarts from `faults.seed`."""
        self._injector.reset(faults)

    @property
    def faults_injected(self) -> int:
        return self._injector.injected

    def request_counts(self) -> Counter[tuple[str, str]]:
        with self._log_lock:
            return Counter(self.requests)

    def reset_requests(self) -> None:
        with self._log_lock:
            self.requests.clear()

    def hold(self) -> None:
        """For one command: read the state file once, keep the tenant in memory until `release()`."""
        self.tenant.hold()

    def release(self) -> None:
        """Write the state file once (atomically, if anything changed) and let other processes at it."""
        self.tenant.release()

    def dialect_of(self, state: TenantState) -> Dialect:
        return self.dialect if self.dialect is not None else Dialect.of(state.dialect)

    # -- HTTP ------------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request; raises ConnectionDropped when a fault drops the connection."""
        method = request.method.upper()
        path = unquote(request.path.partition("?")[0])
        with self._log_lock:
            self.requests.append((method, path))
        fault = self._injector.before_request()
        if fault == "drop":
            raise ConnectionDropped(f"{method} {path}")
        if self.faults.latency_seconds > 0:
            self._sleep(self.faults.latency_seconds)
        if isinstance(fault, Rejected):
            return rejected_response(fault)
        intercepted = self.data.intercept(method, path, request)
        if intercepted is not None:
            return intercepted
        route, match = self._match(path)
        if route is None or match is None:
            return boom(404)
        handler = route.methods.get(method)
        if handler is None:
            return boom(405, headers={"allow": ", ".join(route.methods)})
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            if route.authenticated:
                self.gatekeeper.check(headers.get("authorization"))
            body = validation.parse_body(request.body, headers.get("content-type", ""))
            with self.tenant.session(read_only=method == "GET" or not route.authenticated) as state:
                call = Call(match.groupdict(), body, self.dialect_of(state), headers.get("authorization"))
                response = handler(state, call)
        except Rejected as rejected:
            return rejected_response(rejected)
        if response.status < 300 and handler in (self._create, self._update, self._delete):
            proxied = self._injector.after_write(handler == self._create, f"{method} {path}")
            return response if proxied is None else proxied
        return response

    def _match(self, path: str) -> tuple[Route | None, re.Match[str] | None]:
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is not None:
                return route, match
        return None, None

    def _authenticate(self, state: TenantState, call: Call) -> SandboxResponse:
        return json_response(200, self.gatekeeper.issue_token(call.body, call.authorization, call.dialect))

    def _list(self, state: TenantState, call: Call) -> SandboxResponse:
        return json_response(200, self.operations.list(state, call.dialect))

    def _create(self, state: TenantState, call: Call) -> SandboxResponse:
        answer = self.operations.create(state, call.body, call.dialect)
        return json_response(int(call.dialect["create_status"]), answer)

    def _get(self, state: TenantState, call: Call) -> SandboxResponse:
        return json_response(200, view(self.operations.find(state, call.params["id"]), call.dialect))

    def _update(self, state: TenantState, call: Call) -> SandboxResponse:
        return json_response(200, self.operations.update(state, call.params["id"], call.body, call.dialect))

    def _delete(self, state: TenantState, call: Call) -> SandboxResponse:
        answer = self.operations.delete(state, call.params["id"], call.body, call.dialect)
        if answer is None:
            return SandboxResponse(204)
        return json_response(int(call.dialect["delete_status"]), answer)

    def _status(self, state: TenantState, call: Call) -> SandboxResponse:
        return json_response(200, self.operations.status(state, call.params["id"], call.dialect))

    def _regenerate(self, state: TenantState, call: Call) -> SandboxResponse:
        return json_response(200, self.operations.regenerate(state, call.params["id"], call.dialect))

    def _payload_script(self, state: TenantState, call: Call) -> SandboxResponse:
        stage = scripts.stage_of(call.params["stage"])
        return text_response(self.operations.payload_script(stage, call.body, call.dialect))

    def _integration_script(self, state: TenantState, call: Call) -> SandboxResponse:
        stage = scripts.stage_of(call.params["stage"])
        script = self.operations.integration_script(state, stage, call.params["id"], call.body, call.dialect)
        return text_response(script)

    # -- out of band: "someone in the UI", and the manual setup a person runs ---------------------------

    def list_integrations(self) -> list[dict[str, Any]]:
        """What `GET /integrations` would answer now (settled), without a request."""
        with self.tenant.session(read_only=True) as state:
            return self.operations.list(state, self.dialect_of(state))

    def oob_add(self, payload: Mapping[str, Any]) -> str:
        """Add an integration as someone in the UI would; it is enabled at once. ValueError when invalid."""
        with self.tenant.session() as state:
            try:
                contract = validation.check(payload)
                self.operations.check_unique(state, contract, payload, None, self.dialect_of(state))
            except Rejected as rejected:
                raise ValueError(rejected.message) from None
            return self.operations.new_integration(state, contract, payload, self.dialect_of(state), "enabled").id

    def oob_edit(self, id_: str | int, dotted_path: str, value: Any) -> None:
        """Set one field (`config.audit.enabled`, `autoBootstrap`) of an integration behind Git's back."""
        path = parse(dotted_path)
        if not path or path[0] not in ("autoBootstrap", "config"):
            raise ValueError(f"{dotted_path!r}: only autoBootstrap and config.* can be edited")
        with self.tenant.session() as state:
            integration = self._existing(state, id_)
            spec = field_at(TYPES[integration.type], path)
            if spec is not None and spec.secret:
                raise ValueError(f"{dotted_path!r} is a secret: the sandbox stores none")
            if path == ("autoBootstrap",):
                integration.auto_bootstrap = value
                return
            if integration.config is None:
                integration.config = {}
            put(integration.config, path[1:], value)

    def oob_remove(self, id_: str | int) -> None:
        """Delete an integration at once, without a transition."""
        with self.tenant.session() as state:
            del state.integrations[self._existing(state, id_).id]

    def oob_set_status(self, id_: str | int, status: str) -> None:
        """Put an integration in any status (`recurringValidationError`, `migrating`…), no transition."""
        with self.tenant.session() as state:
            integration = self._existing(state, id_)
            integration.status = status
            integration.pending = None

    def require_manual_setup(self, required: bool) -> None:
        """Persist in the state whether autoBootstrap: false creates need `mark_setup_run` first."""
        with self.tenant.session() as state:
            state.require_manual_setup = required

    def configure_dialect(self, dialect: Dialect) -> None:
        """Persist a dialect in the state: every later run on this state file answers in it."""
        with self.tenant.session() as state:
            state.dialect = dict(dialect.choices)

    def mark_setup_run(self, type_name: str, payload_or_key: Any) -> None:
        """Record that the setup script for this natural key was run on the platform (issue 7). Takes a
        payload, or anything with `.parts` (name, value) pairs of the key's values."""
        contract: TypeContract = TYPES[type_name]
        if isinstance(payload_or_key, Mapping):
            key = setup_key(contract, {"type": type_name, **payload_or_key})
        else:
            key = setup_key_of_values(contract, [str(v) for n, v in payload_or_key.parts if n != "type"])
        with self.tenant.session() as state:
            state.setup_run.add(key)

    @staticmethod
    def _existing(state: TenantState, id_: str | int) -> StoredIntegration:
        integration = state.integrations.get(str(id_))
        if integration is None:
            raise LookupError(f"no integration with id {id_}")
        return integration

    def payload(self, id_: str | int) -> dict[str, Any]:
        """The stored payload of one integration, documented defaults filled in (never a secret)."""
        with self.tenant.session(read_only=True) as state:
            integration = self._existing(state, id_)
            payload = payload_of(integration)
            if integration.config is not None:
                payload["config"] = effective_config(TYPES[integration.type], integration.config)
            return payload

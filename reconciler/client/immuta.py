"""The Immuta Integrations API client: the only module that imports httpx.

Every call goes through one chokepoint (`_exchange`) that applies timeouts, retries with jittered exponential
backoff (honouring Retry-After) within an attempt budget and an overall deadline, traces the exchange without
secrets, and leaves typed errors to `_check`. A create is never blindly repeated: after an ambiguous failure
the client lists integrations and looks for the payload's natural key before posting again.
Contract: shared/immuta-integrations-api.md.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx

from reconciler import __version__
from reconciler.assumptions import (
    A1_FORBIDDEN_STATUS,
    A1_UNAUTHORIZED_STATUS,
    A2_RETRYABLE_STATUSES,
    A4_UPDATE_STATUS_AFTER_PUT,
    A5_DELETE_STATUS_AFTER_DELETE,
    A15_TRANSITIONAL_STATUSES,
)
from reconciler.client import trace
from reconciler.client.redaction import Redactor, scrub, scrub_all
from reconciler.client.settings import (
    AUTH_HINT,
    ENV_URL,
    FORBIDDEN_HINT,
    Auth,
    ClientSettings,
    RetryPolicy,
    Timeouts,
)
from reconciler.errors import (
    ApiError,
    AuthError,
    ConflictError,
    NotFoundError,
    TransientError,
    ValidationFailed,
)
from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse
from reconciler.secrets import reveal_all
from reconciler.validation.schema import SchemaSet
from reconciler.validation.schema import load as load_schemas

Json = Any
Record = dict[str, Any]

_MESSAGE_LIMIT = 500


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


# -- the in-process sandbox as a transport -------------------------------------------------------------------


class SandboxTransport(httpx.BaseTransport):
    """Serves requests from a `handle(SandboxRequest) -> SandboxResponse` callable, e.g. the in-process
    simulator. A dropped connection surfaces as `httpx.RemoteProtocolError`, as it would over a socket."""

    def __init__(self, handle: Callable[[SandboxRequest], SandboxResponse]) -> None:
        self._handle = handle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sandbox_request = SandboxRequest(
            method=request.method,
            path=request.url.raw_path.decode("ascii"),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.read(),
        )
        try:
            answer = self._handle(sandbox_request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body, request=request)


# -- one call, possibly several attempts ---------------------------------------------------------------------

BodyKind = Literal["payload", "credentials"]
AnswerKind = Literal["record", "records", "script"]


@dataclass(slots=True)
class _Call:
    method: str
    path: str
    content: bytes | None
    traced_body: str | None
    answer: AnswerKind
    retry_ambiguous: bool
    started: float
    attempts: int = 0
    outcomes: list[str] = field(default_factory=list)
    ambiguous: bool = False  # an earlier attempt may have been processed without us seeing the answer
    last_status: int | None = None


class _Ambiguous(Exception):
    """Internal signal: the request may have been processed; never escapes the client."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class ImmutaClient:
    """Immuta's Integrations API. Thread-safe: one instance may serve a pool of workers."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        schemas: SchemaSet | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._timeouts = timeout
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._schema_set = schemas
        self._redactor: Redactor | None = None
        self._sent_secrets: frozenset[str] = frozenset({auth.credential.reveal()})
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            headers={"Authorization": auth.header(), "User-Agent": f"immuta-reconciler/{__version__}"},
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: ClientSettings, **options: Any) -> ImmutaClient:
        return cls(settings.base_url, settings.auth, **options)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> ImmutaClient:
        return cls.from_settings(ClientSettings.from_env(environ), **options)

    def __repr__(self) -> str:
        return f"ImmutaClient(base_url={self.base_url!r}, auth={self._auth.scheme})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ImmutaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reads -----------------------------------------------------------------------------------------------

    def list_integrations(self) -> list[Record]:
        """All integrations. Anything but a JSON array of objects with ids is an error: a failed or malformed
        read must never look like "nothing exists"."""
        call = self._new_call("GET", "/integrations", answer="records")
        response = self._exchange(call)
        self._check(call, response)
        records = self._json(call, response)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise self._malformed(call, response, "expected a JSON array of integration objects")
        return [self._with_str_id(call, response, record, required=True) for record in records]

    def get(self, integration_id: str | int) -> Record:
        call = self._new_call("GET", _item(integration_id))
        response = self._exchange(call)
        self._check(call, response)
        return self._record(call, response)

    def status(self, integration_id: str | int) -> Record:
        call = self._new_call("GET", _item(integration_id, "status"))
        response = self._exchange(call)
        self._check(call, response)
        record = self._record(call, response)
        if not isinstance(record.get("status"), str):
            raise self._malformed(call, response, "the status answer has no `status` text")
        return record

    def wait_until_settled(
        self,
        integration_id: str | int,
        *,
        deadline_seconds: float = 900.0,
        poll_interval: float = 3.0,
        gone_ok: bool = False,
    ) -> Record | None:
        """Poll the status until it leaves the transitional statuses [A15]; None when the integration is gone
        (404) and `gone_ok`, as after a delete [A5]."""
        started = self._clock()
        while True:
            try:
                record = self.status(integration_id)
            except NotFoundError:
                if gone_ok:
                    return None
                raise
            if record["status"] not in A15_TRANSITIONAL_STATUSES:
                return record
            remaining = started + deadline_seconds - self._clock()
            if remaining <= 0:
                raise TransientError(
                    "GET",
                    _item(integration_id, "status"),
                    None,
                    f"integration {integration_id} is still {record['status']!r} after {deadline_seconds:g}s",
                    hint="It may still settle: check it in Immuta, then re-run plan.",
                )
            self._sleep(min(poll_interval, remaining))

    # -- writes ----------------------------------------------------------------------------------------------

    def create(self, payload: Mapping[str, Json]) -> Record:
        """POST /integrations, never duplicated: after an ambiguous failure (timeout, dropped connection,
        5xx), and on a 409 that follows one, list integrations and return the one with the payload's natural
        key if it exists; otherwise post again, within the retry budget."""
        call = self._new_call("POST", "/integrations", payload, "payload", retry_ambiguous=False)
        while True:
            try:
                response = self._exchange(call)
            except _Ambiguous as lost:
                found = self._find_created(call, payload, lost.what)
                if found is not None:
                    return found
                self._pause(call, None, lost.what)
                continue
            status = response.status_code
            if status >= 500:
                what = _status_text(response)
                call.ambiguous = True
                call.outcomes.append(what)
                found = self._find_created(call, payload, f"answered {what}")
                if found is not None:
                    return found
                self._pause(call, _retry_after(response), what)
                continue
            if status == 409 and call.ambiguous:
                found = self._find_created(call, payload, "a retry answered 409")
                if found is not None:
                    return found
            self._check(call, response)
            return self._record(call, response, id_required=True)

    def update(self, integration_id: str | int, payload: Mapping[str, Json]) -> Record:
        """PUT the whole payload [A4]. A 409 after a lost answer means our PUT is being applied."""
        call = self._new_call("PUT", _item(integration_id), payload, "payload")
        response = self._exchange(call)
        if response.status_code == 409 and call.ambiguous:
            record = self._in_progress(call, integration_id, A4_UPDATE_STATUS_AFTER_PUT)
            if record is not None:
                return record
        self._check(call, response)
        return self._record(call, response)

    def delete(self, integration_id: str | int, credentials: Mapping[str, Json] | None = None) -> Record | None:
        """DELETE, with the privileged credentials as the body when given (and non-empty) [A16]. Answers the
        integration (status `deleting`) [A5], or None when it has no body or a retry found it already gone."""
        body = dict(credentials) if credentials else None
        call = self._new_call("DELETE", _item(integration_id), body, "credentials")
        response = self._exchange(call)
        if call.ambiguous and response.status_code == 404:
            trace.note(call.method, call.path, "already gone after an earlier attempt lost its answer")
            return None
        if call.ambiguous and response.status_code == 409:
            record = self._in_progress(call, integration_id, A5_DELETE_STATUS_AFTER_DELETE)
            if record is not None:
                return record
        self._check(call, response)
        return self._record(call, response) if response.content.strip() else None

    def regenerate(self, integration_id: str | int) -> Record | None:
        """Regenerate the integration's Immuta API key; retried like a read: repeating only rotates it."""
        call = self._new_call("POST", _item(integration_id, "regenerate"))
        response = self._exchange(call)
        self._check(call, response)
        return self._record(call, response) if response.content.strip() else None

    # -- scripts: computed text, no server state, so retried like reads [A7] --------------------------------

    def script_create(self, payload: Mapping[str, Json]) -> str:
        return self._script("/integrations/scripts/create", payload)

    def script_edit(self, integration_id: str | int, payload: Mapping[str, Json]) -> str:
        return self._script(_item(integration_id, "scripts/edit"), payload)

    def script_delete(self, integration_id: str | int) -> str:
        return self._script(_item(integration_id, "scripts/delete"), None)

    def script_cleanup(self, payload: Mapping[str, Json]) -> str:
        return self._script("/integrations/scripts/cleanup", payload)

    def script_initial_create(self, payload: Mapping[str, Json]) -> str:
        return self._script("/integrations/scripts/initial-create", payload)

    def script_post_cleanup(self, payload: Mapping[str, Json]) -> str:
        return self._script("/integrations/scripts/post-cleanup", payload)

    def _script(self, path: str, payload: Mapping[str, Json] | None) -> str:
        call = self._new_call("POST", path, payload, "payload", answer="script")
        response = self._exchange(call)
        self._check(call, response)
        if "json" in response.headers.get("content-type", ""):
            decoded = self._json(call, response)
            if isinstance(decoded, str):
                return decoded
        return response.text

    # -- the chokepoint --------------------------------------------------------------------------------------

    def _schemas(self) -> SchemaSet:
        with self._lock:
            if self._schema_set is None:
                self._schema_set = load_schemas()
            return self._schema_set

    def _redact(self) -> Redactor:
        schemas = self._schemas()
        with self._lock:
            if self._redactor is None:
                self._redactor = Redactor(schemas)
            return self._redactor

    def _new_call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Json] | None = None,
        body_kind: BodyKind = "payload",
        *,
        answer: AnswerKind = "record",
        retry_ambiguous: bool = True,
    ) -> _Call:
        content: bytes | None = None
        traced: str | None = None
        secrets: frozenset[str] = frozenset()
        if body is not None:
            # The one place a request body is built, and so the one place secrets are revealed.
            content = json.dumps(reveal_all(dict(body)), ensure_ascii=False).encode("utf-8")
            redactor = self._redact()
            if body_kind == "credentials":
                secrets = redactor.credentials_secrets(body)
                view = redactor.credentials(body) if trace.enabled() else None
            else:
                secrets = redactor.payload_secrets(body)
                view = redactor.payload(body) if trace.enabled() else None
            with self._lock:
                # Remembered for the client's lifetime: any later answer quoting one is scrubbed too.
                self._sent_secrets |= secrets
            traced = scrub(trace.render(view), self._sent_secrets) if view is not None else None
        return _Call(method, path, content, traced, answer, retry_ambiguous, self._clock())

    def _exchange(self, call: _Call) -> httpx.Response:
        """Send until an answer not worth retrying. Raises TransientError when the budget runs out, and
        _Ambiguous when the request may have been processed and the call must not simply be repeated."""
        accept = "text/plain, application/json" if call.answer == "script" else "application/json"
        headers = {"Accept": accept}
        if call.content is not None:
            headers["Content-Type"] = "application/json"
        while True:
            call.attempts += 1
            trace.request(call.method, call.path, call.attempts, call.traced_body)
            sent = self._clock()
            try:
                response = self._http.request(
                    call.method, call.path, content=call.content, headers=headers, timeout=self._timeout(call)
                )
            except httpx.TransportError as exc:
                what, reached = _describe_failure(exc)
                trace.failure(call.method, call.path, call.attempts, self._clock() - sent, what)
                if reached is None:
                    raise ApiError(call.method, call.path, None, what, hint=_hint_for(exc)) from None
                call.outcomes.append(what)
                if reached:
                    call.ambiguous = True
                    if not call.retry_ambiguous:
                        raise _Ambiguous(what) from None
                self._pause(call, None, what)
                continue
            except httpx.HTTPError as exc:  # e.g. an undecodable body: not worth retrying
                what = f"request failed ({type(exc).__name__})"
                raise ApiError(call.method, call.path, None, what) from None
            call.last_status = response.status_code
            trace.response(
                call.method,
                call.path,
                call.attempts,
                response.status_code,
                seconds=self._clock() - sent,
                body=self._traced_answer(call, response) if trace.enabled() else None,
            )
            retryable = response.status_code == 429 or (
                response.status_code in A2_RETRYABLE_STATUSES and call.retry_ambiguous
            )
            if not retryable:
                return response
            what = _status_text(response)
            call.outcomes.append(what)
            if response.status_code != 429:
                call.ambiguous = True
            self._pause(call, _retry_after(response), what)

    def _timeout(self, call: _Call) -> httpx.Timeout:
        remaining = max(call.started + self._retry.deadline - self._clock(), 0.001)
        connect = min(self._timeouts.connect, remaining)
        read = min(self._timeouts.read, remaining)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)

    def _pause(self, call: _Call, retry_after: float | None, why: str) -> None:
        """Sleep before the next attempt, or raise TransientError once attempts or deadline are spent."""
        if call.attempts >= self._retry.max_attempts:
            raise self._gave_up(call, "")
        delay = retry_after if retry_after is not None else self._backoff(call.attempts)
        remaining = call.started + self._retry.deadline - self._clock()
        if delay > remaining:
            asked = " (Retry-After)" if retry_after is not None else ""
            raise self._gave_up(
                call, f"; waiting {delay:.1f}s{asked} would pass the {self._retry.deadline:g}s deadline"
            )
        trace.retrying(call.method, call.path, call.attempts, delay, why)
        self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry.max_delay, self._retry.base_delay * 2.0 ** (attempt - 1))
        with self._lock:
            jitter: float = self._rng.uniform(0, ceiling / 2)
        return ceiling / 2 + jitter

    def _gave_up(self, call: _Call, detail: str) -> TransientError:
        elapsed = self._clock() - call.started
        tried = f"gave up after {call.attempts} attempt(s) in {elapsed:.1f}s: {_summary(call.outcomes)}"
        tried += detail
        if call.ambiguous and call.method != "GET":
            hint = "An attempt may have reached Immuta unanswered: re-run plan to see the current state."
        else:
            hint = "Immuta is overloaded or unreachable; try again later."
        return TransientError(call.method, call.path, call.last_status, tried, hint=hint)

    def _traced_answer(self, call: _Call, response: httpx.Response) -> str:
        if not response.content:
            return "(empty)"
        if call.answer == "script" and response.is_success:
            return f"(script, {len(response.text)} characters)"
        try:
            decoded = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            return f"(not JSON: {kind}, {len(response.content)} bytes)"
        redactor = self._redact()
        decoded = scrub_all(decoded, self._sent_secrets)
        view = redactor.records(decoded) if call.answer == "records" else redactor.payload(decoded)
        return scrub(trace.render(view), self._sent_secrets)

    # -- answers and errors ----------------------------------------------------------------------------------

    def _check(self, call: _Call, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        message = self._message(call, response)
        if status == A1_UNAUTHORIZED_STATUS:
            raise AuthError(call.method, call.path, status, message, hint=AUTH_HINT)
        if status == A1_FORBIDDEN_STATUS:
            raise AuthError(call.method, call.path, status, message, hint=FORBIDDEN_HINT)
        if status == 404:
            raise NotFoundError(call.method, call.path, status, message)
        if status == 409:
            raise ConflictError(call.method, call.path, status, message)
        if status in (400, 422):
            raise ValidationFailed(call.method, call.path, status, message)
        if status in A2_RETRYABLE_STATUSES:
            raise TransientError(call.method, call.path, status, message)
        hint = "Is IMMUTA_URL the tenant's address?" if 300 <= status < 400 else ""
        raise ApiError(call.method, call.path, status, message, hint=hint)

    def _message(self, call: _Call, response: httpx.Response) -> str:
        """Immuta's Boom `message`, secrets scrubbed; a short safe text when the body is not a Boom error."""
        try:
            body = response.json()
        except ValueError:
            body = None
        text = ""
        if isinstance(body, dict):
            for name in ("message", "error"):
                if isinstance(body.get(name), str) and body[name].strip():
                    text = body[name].strip()
                    break
        if not text:
            reason = response.reason_phrase or "error"
            text = f"HTTP {response.status_code} {reason}"
            if response.content:
                text += " (no JSON error body)"
        text = scrub(text, self._sent_secrets)
        return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "…"

    def _json(self, call: _Call, response: httpx.Response) -> Json:
        try:
            return response.json()
        except ValueError:
            raise self._malformed(call, response, "the answer is not valid JSON") from None

    def _malformed(self, call: _Call, response: httpx.Response, what: str) -> ApiError:
        kind = response.headers.get("content-type", "no content type")
        return ApiError(call.method, call.path, response.status_code, f"{what} ({kind}, {len(response.content)} bytes)")

    def _record(self, call: _Call, response: httpx.Response, *, id_required: bool = False) -> Record:
        record = self._json(call, response)
        if not isinstance(record, dict):
            raise self._malformed(call, response, "expected a JSON object")
        return self._with_str_id(call, response, record, required=id_required)

    def _with_str_id(self, call: _Call, response: httpx.Response, record: Record, *, required: bool) -> Record:
        """Ids are documented as numbers but shown as strings: always strings here [A8]."""
        value = record.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return {**record, "id": str(value)}
        if required or "id" in record:
            raise self._malformed(call, response, "an integration has no usable `id`")
        return record

    def _find_created(self, call: _Call, payload: Mapping[str, Json], what: str) -> Record | None:
        """After an ambiguous create: the integration with the payload's natural key, if it now exists."""
        type_name = payload.get("type")
        type_schema = self._schemas().types.get(type_name) if isinstance(type_name, str) else None
        if type_schema is None:
            raise TransientError(
                call.method,
                call.path,
                call.last_status,
                f"{what}, so the create may or may not have happened, and an integration of unknown type "
                f"{type_name!r} cannot be looked up by its natural key",
                hint="Re-run plan to see whether it exists before applying again.",
            )
        key = type_schema.key_of(payload)
        try:
            records = self.list_integrations()
        except ApiError as exc:
            raise TransientError(
                call.method,
                call.path,
                call.last_status,
                f"{what}, so the create of {key} may or may not have happened, and listing integrations "
                f"to find out failed: {exc.message}",
                hint="Re-run plan to see whether it exists before applying again.",
            ) from None
        for record in records:
            if record.get("type") == type_schema.name and type_schema.key_of(record) == key:
                happened = f"{what}; {key} exists (id {record['id']}): the create happened"
                trace.note(call.method, call.path, happened)
                return record
        trace.note(call.method, call.path, f"{what}; {key} does not exist: the create did not happen")
        return None

    def _in_progress(self, call: _Call, integration_id: str | int, expected: str) -> Record | None:
        """After a lost answer and a 409 on the retry: the record if our own change is under way."""
        record = self.get(integration_id)
        if record.get("status") == expected:
            trace.note(call.method, call.path, f"the earlier attempt was processed: status is {expected!r}")
            return record
        return None


# -- small helpers -------------------------------------------------------------------------------------------


def _item(integration_id: str | int, *rest: str) -> str:
    return "/".join(("/integrations", quote(str(integration_id), safe=""), *rest))


def _status_text(response: httpx.Response) -> str:
    return f"{response.status_code} {response.reason_phrase}".strip()


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds; an HTTP date or garbage falls back to the backoff."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _describe_failure(exc: httpx.TransportError) -> tuple[str, bool | None]:
    """What went wrong, and whether the request may have reached the server (None: not worth retrying)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout", False
    if isinstance(exc, httpx.PoolTimeout):
        return "connection pool timeout", False
    if isinstance(exc, httpx.ConnectError):
        return "could not connect", False
    if isinstance(exc, httpx.ReadTimeout):
        return "read timeout (no answer in time)", True
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", True
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection dropped without an answer", True
    if isinstance(exc, httpx.NetworkError):
        return f"network error ({type(exc).__name__})", True
    return f"request failed ({type(exc).__name__})", None


def _hint_for(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"{ENV_URL} must start with https:// (or http:// for a local sandbox)."
    return ""


def _summary(outcomes: list[str]) -> str:
    """`503 Service Unavailable x3, connection dropped`: consecutive repeats counted."""
    parts: list[str] = []
    previous, count = "", 0
    for outcome in [*outcomes, ""]:
        if outcome == previous:
            count += 1
            continue
        if previous:
            parts.append(previous if count == 1 else f"{previous} x{count}")
        previous, count = outcome, 1
    return ", ".join(parts) or "no answer"

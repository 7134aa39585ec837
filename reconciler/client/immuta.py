"""The Immuta Integrations API client: one method per endpoint, over the client's parts. `transport` sends
one attempt within limits; `retry` decides what is retried and for how long; `recovery` finds out what an
ambiguous write did (a create is never blindly repeated); `answers` turns answers into records or typed
errors; `redaction` keeps secrets out of the trace and messages. Waiting for a status to settle is the
poller's job (reconciler/applying/poller.py). Contract: `docs/immuta-api.md`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import quote

from reconciler.assumptions import A4_UPDATE_STATUS_AFTER_PUT, A5_DELETE_STATUS_AFTER_DELETE
from reconciler.client import answers, recovery, trace
from reconciler.client.redaction import Redactor, scrub_free_text
from reconciler.client.retry import Ambiguous, AnswerKind, Call, Retrier, retry_after, status_text
from reconciler.client.settings import (
    AUTH_HINT,
    FORBIDDEN_HINT,
    Auth,
    ClientSettings,
    RetryPolicy,
    Timeouts,
    user_agent,
)
from reconciler.client.transport import MAX_ANSWER_BYTES, BaseTransport, Transport
from reconciler.client.wire import Answer
from reconciler.secrets import reveal_all
from reconciler.validation.schema import SchemaSet
from reconciler.validation.schema import load as load_schemas

__all__ = [
    "AUTH_HINT",
    "FORBIDDEN_HINT",
    "Auth",
    "ClientSettings",
    "ImmutaClient",
    "RetryPolicy",
    "Timeouts",
]

Json = Any
Record = dict[str, Any]
BodyKind = Literal["payload", "credentials"]

DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


class ImmutaClient:
    """Immuta's Integrations API. Thread-safe: one instance may serve a pool of workers."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        transport: BaseTransport | None = None,
        timeout: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        schemas: SchemaSet | None = None,
        ca_bundle: str | None = None,
        agent: str | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._clock = clock
        self._lock = threading.Lock()
        self._schema_set = schemas
        self._redactor: Redactor | None = None
        self._guard: Callable[[str, str, Mapping[str, Json] | None], None] | None = None
        self._sent_secrets: frozenset[str] = frozenset({auth.credential.reveal()})
        self._wire = Transport(
            self.base_url,
            headers={"Authorization": auth.header(), "User-Agent": agent or user_agent()},
            connect_timeout=timeout.connect,
            read_timeout=timeout.read,
            transport=transport,
            ca_bundle=ca_bundle,
            max_answer_bytes=max_answer_bytes,
        )
        self._retrier = Retrier(
            self._wire, retry, sleep=sleep, clock=clock, rng=rng or random.Random(), describe=self._traced_answer
        )

    @classmethod
    def from_settings(cls, settings: ClientSettings, **options: Any) -> ImmutaClient:
        options.setdefault("retry", RetryPolicy(deadline=settings.timeout))
        options.setdefault("ca_bundle", settings.ca_bundle)
        return cls(settings.base_url, settings.auth, **options)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> ImmutaClient:
        return cls.from_settings(ClientSettings.from_env(environ), **options)

    def __repr__(self) -> str:
        return f"ImmutaClient(base_url={self.base_url!r}, auth={self._auth.scheme})"

    def close(self) -> None:
        self._wire.close()

    def __enter__(self) -> ImmutaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reads -----------------------------------------------------------------------------------------------

    def list_integrations(self, *, ids_as_sent: bool = False) -> list[Record]:
        call = self._new_call("GET", "/integrations", answer="records")
        return answers.records(call, self._checked(call), ids_as_sent=ids_as_sent)

    def read_data(self, method: str, path: str, body: Mapping[str, Json] | None = None) -> Json:
        """A read of the connections API (docs/immuta-api.md §10; the search is a POST), retried as a read."""
        return answers.decoded(call := self._new_call(method, path, body), self._checked(call))

    def protect(self, guard: Callable[[str, str, Mapping[str, Json] | None], None]) -> None:
        """Every later request passes `guard(method, path, body)` first: it raises to refuse (ownership.py)."""
        self._guard = guard

    def get(self, integration_id: str | int) -> Record:
        call = self._new_call("GET", _item(integration_id))
        return answers.record(call, self._checked(call))

    def status(self, integration_id: str | int, *, attempts: int | None = None) -> Record:
        """The status; `attempts=1` for a poller, which waits (and honours Retry-After) on its own schedule."""
        call = self._new_call("GET", _item(integration_id, "status"))
        call.max_attempts = attempts
        answer = self._checked(call)
        found = answers.record(call, answer)
        if not isinstance(found.get("status"), str):
            raise answers.malformed(call, answer, "the status answer has no `status` text")
        return found

    # -- writes ----------------------------------------------------------------------------------------------

    def create(self, payload: Mapping[str, Json]) -> Record:
        """POST /integrations, never duplicated: after an ambiguous failure (timeout, dropped connection,
        5xx), and on a 409 that follows one, list integrations and return the one with the payload's natural
        key if it exists; otherwise post again, within the retry budget."""
        call = self._new_call("POST", "/integrations", payload, "payload", retry_ambiguous=False)
        while True:
            try:
                answer = self._retrier.exchange(call)
            except Ambiguous as lost:
                found = self._find_created(call, payload, lost.what)
                if found is not None:
                    return found
                self._retrier.pause(call, None, lost.what)
                continue
            if answer.status >= 500:
                what = status_text(answer)
                call.ambiguous = True
                call.outcomes.append(what)
                found = self._find_created(call, payload, f"answered {what}")
                if found is not None:
                    return found
                self._retrier.pause(call, retry_after(answer), what)
                continue
            if answer.status == 409 and call.ambiguous:
                found = self._find_created(call, payload, "a retry answered 409")
                if found is not None:
                    return found
            answers.check(call, answer, self._sent_secrets, self.base_url)
            return answers.record(call, answer, id_required=True)

    def update(self, integration_id: str | int, payload: Mapping[str, Json]) -> Record:
        """PUT the whole payload [A4]. A 409 after a lost answer means our PUT is being applied."""
        call = self._new_call("PUT", _item(integration_id), payload, "payload")
        answer = self._retrier.exchange(call)
        if answer.status == 409 and call.ambiguous:
            found = recovery.in_progress(call, lambda: self.get(integration_id), A4_UPDATE_STATUS_AFTER_PUT)
            if found is not None:
                return found
        answers.check(call, answer, self._sent_secrets, self.base_url)
        return answers.record(call, answer)

    def delete(self, integration_id: str | int, credentials: Mapping[str, Json] | None = None) -> Record | None:
        """DELETE, with the privileged credentials as the body when given (and non-empty) [A16]. Answers the
        integration (status `deleting`) [A5], or None when it has no body or a retry found it already gone."""
        call = self._new_call(
            "DELETE", _item(integration_id), dict(credentials) if credentials else None, "credentials"
        )
        answer = self._retrier.exchange(call)
        if call.ambiguous and answer.status == 404:
            trace.note(call.method, call.path, "already gone after an earlier attempt lost its answer")
            return None
        if call.ambiguous and answer.status == 409:
            found = recovery.in_progress(call, lambda: self.get(integration_id), A5_DELETE_STATUS_AFTER_DELETE)
            if found is not None:
                return found
        answers.check(call, answer, self._sent_secrets, self.base_url)
        return answers.record(call, answer) if answer.body.strip() else None

    def regenerate(self, integration_id: str | int) -> Record | None:
        """Regenerate the integration's Immuta API key; retried like a read: repeating only rotates it."""
        call = self._new_call("POST", _item(integration_id, "regenerate"))
        answer = self._checked(call)
        return answers.record(call, answer) if answer.body.strip() else None

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
        answer = self._checked(call)
        if "json" in answer.header("content-type"):
            text = answers.decoded(call, answer)
            if isinstance(text, str):
                return text
        return answer.text

    # -- plumbing --------------------------------------------------------------------------------------------

    def _checked(self, call: Call) -> Answer:
        answer = self._retrier.exchange(call)
        answers.check(call, answer, self._sent_secrets, self.base_url)
        return answer

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
    ) -> Call:
        if self._guard is not None:
            self._guard(method, path, body)
        content: bytes | None = None
        traced: str | None = None
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
            # Structured masking first (the view); the values that were sent are scrubbed from free texts only.
            traced = trace.render(scrub_free_text(view, self._sent_secrets)) if view is not None else None
        return Call(method, path, content, traced, answer, retry_ambiguous, self._clock())

    def _traced_answer(self, call: Call, answer: Answer) -> str:
        return trace.answer_view(call.answer, answer, self._redact, self._sent_secrets)

    def _find_created(self, call: Call, payload: Mapping[str, Json], what: str) -> Record | None:
        return recovery.find_created(call, payload, what, self._schemas(), self.list_integrations)


def _item(integration_id: str | int, *rest: str) -> str:
    return "/".join(("/integrations", quote(str(integration_id), safe=""), *rest))

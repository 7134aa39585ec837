"""Reading Immuta's answers: typed errors carrying Immuta's message and what to do next, JSON records with
string ids, and Immuta's validation guidance. Every text taken from an answer has the secrets sent scrubbed.

Error bodies are Boom's `{statusCode, error, message}` (docs/immuta-api.md §1): `message` is read, never the spelling of
`error` (a 422 says "Unprocessable entity" in Immuta's examples, §7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.assumptions import A1_FORBIDDEN_STATUS, A1_UNAUTHORIZED_STATUS, A2_RETRYABLE_STATUSES
from reconciler.client.redaction import scrub
from reconciler.client.retry import Call
from reconciler.client.settings import AUTH_HINT, ENV_URL, FORBIDDEN_HINT
from reconciler.client.wire import Answer
from reconciler.errors import ApiError, AuthError, ConflictError, NotFoundError, TransientError, ValidationFailed
from reconciler.render.escape import terminal

Json = Any
Record = dict[str, Any]

MESSAGE_LIMIT = 500
ROOT_HINT = f"{ENV_URL} must be the tenant root, e.g. https://acme.immuta.com (no path after the host)."
DELETE_CONFLICT_HINT = (
    "Immuta refuses the delete while the integration is busy (being created, edited or deleted): wait until "
    "its status settles (re-run plan to see it), then apply again."
)
DELETE_UNPROCESSABLE_HINT = (
    "Immuta could not carry out the delete: fix what its message names (the integration's page in Immuta "
    "shows its state), then apply again."
)
PLAIN_HTTP_TO_TLS = "plain http request was sent to https port"


def check(call: Call, answer: Answer, secrets: frozenset[str], base_url: str) -> None:
    """Raise the typed error for anything but a 2xx."""
    status = answer.status
    if 200 <= status < 300:
        return
    text = message(answer, secrets)
    where = (call.method, call.path, status, text)
    if status == A1_UNAUTHORIZED_STATUS:
        raise AuthError(*where, hint=AUTH_HINT)
    if status == A1_FORBIDDEN_STATUS:
        raise AuthError(*where, hint=FORBIDDEN_HINT)
    if status == 404:
        hint = f"{base_url}/integrations does not exist. {ROOT_HINT}" if call.path == "/integrations" else ""
        raise NotFoundError(*where, hint=hint)
    if status == 409:
        raise ConflictError(*where, hint=DELETE_CONFLICT_HINT if call.method == "DELETE" else "")
    if status in (400, 422):
        hint = DELETE_UNPROCESSABLE_HINT if (call.method, status) == ("DELETE", 422) else ""
        if PLAIN_HTTP_TO_TLS in text.casefold():
            hint = f"{ENV_URL} uses http:// for an https server: use https://."
        raise ValidationFailed(*where, hint=hint)
    if status in A2_RETRYABLE_STATUSES:
        raise TransientError(*where)
    hint = f"Is {ENV_URL} the tenant's address? {ROOT_HINT}" if 300 <= status < 400 else ""
    raise ApiError(*where, hint=hint)


def message(answer: Answer, secrets: frozenset[str]) -> str:
    """Immuta's Boom `message` (its `error` only when there is no message) and the guidance of any failed
    validation test; a short safe text when the body is not a Boom error."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    text = ""
    if isinstance(body, dict):
        for name in ("message", "error"):
            if isinstance(body.get(name), str) and body[name].strip():
                text = body[name].strip()
                break
        guidance = failed_validations(body)
        if guidance:
            text = f"{text} ({guidance})" if text else guidance
    if not text:
        text = f"HTTP {answer.status} {answer.reason or 'error'}"
        if answer.body:
            text += " (no JSON error body)"
    text = terminal(scrub(text, secrets))  # Immuta's words: one line, whatever they hold
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "…"


def failed_validations(record: Mapping[str, Json]) -> str:
    """`name: message; …` for each failed validation test: Immuta's guidance on what to fix (docs/immuta-api.md §4)."""
    results = record.get("validationResults")
    tests = results.get("validationTests") if isinstance(results, Mapping) else None
    if not isinstance(tests, Sequence) or isinstance(tests, str):
        return ""
    failed: list[str] = []
    for test in tests:
        if not isinstance(test, Mapping) or test.get("status") != "failed":
            continue
        name = str(test.get("name") or "a validation test")
        # `message` per the contract (§4); the simulator still calls it `result`, until it is corrected.
        guidance = test.get("message") or test.get("result")
        failed.append(f"{name}: {guidance.strip()}" if isinstance(guidance, str) and guidance.strip() else name)
    return "; ".join(failed)


def decoded(call: Call, answer: Answer) -> Json:
    try:
        return answer.json()
    except ValueError as exc:
        raise malformed(call, answer, f"the answer is not valid JSON: {exc}") from None


def malformed(call: Call, answer: Answer, what: str) -> ApiError:
    kind = answer.header("content-type") or "no content type"
    source = f" from {terminal(answer.url)}" if answer.url else ""
    return ApiError(call.method, call.path, answer.status, f"{what} ({kind}, {len(answer.body)} bytes{source})")


def record(call: Call, answer: Answer, *, id_required: bool = False) -> Record:
    value = decoded(call, answer)
    if not isinstance(value, dict):
        raise malformed(call, answer, "expected a JSON object")
    return with_str_id(call, answer, value, required=id_required)


def records(call: Call, answer: Answer, *, ids_as_sent: bool = False) -> list[Record]:
    """Anything but a JSON array of objects with ids is an error: a failed or malformed read must never look
    like "nothing exists". `ids_as_sent` keeps each id's JSON type (for `doctor`, which reports it)."""
    values = decoded(call, answer)
    if not isinstance(values, list) or not all(isinstance(r, dict) for r in values):
        raise malformed(call, answer, "expected a JSON array of integration objects")
    checked = [with_str_id(call, answer, value, required=True) for value in values]
    return [dict(value) for value in values] if ids_as_sent else checked


def with_str_id(call: Call, answer: Answer, value: Record, *, required: bool) -> Record:
    """Ids are documented as numbers but shown as strings: always strings here [A8]."""
    found = value.get("id")
    if isinstance(found, str | int) and not isinstance(found, bool) and str(found):
        return {**value, "id": str(found)}
    if required or "id" in value:
        raise malformed(call, answer, "an integration has no usable `id`")
    return value

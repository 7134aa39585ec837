"""No secret value leaks from the client: not into the DEBUG trace, error messages, reprs or chained
exceptions, on success or failure, even when the server echoes a secret back."""

from __future__ import annotations

import json
import logging
import random
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.errors import ApiError
from reconciler.secrets import Secret

PASSWORD = "s3cr3t-Pa55-XYZ"
PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nMIIEv9x7Qq"quoted"\n-----END PRIVATE KEY-----'
CLIENT_SECRET = "oauth-cl1ent-S3CRET"
API_KEY = "api-key-VALUE-42"
NEW_FIELD = "maybe-a-new-secret-77"
SECRETS = (PASSWORD, PRIVATE_KEY, CLIENT_SECRET, API_KEY, NEW_FIELD)


def payload(*, wrapped: bool = True) -> dict[str, Any]:
    """A Snowflake payload with secrets wrapped (as resolved from ${env:…}) or, by mistake, as plain text."""

    def secret(value: str) -> Secret | str:
        return Secret(value) if wrapped else value

    return {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": "acme.snowflakecomputing.com",
            "warehouse": "WH",
            "database": "IMMUTA",
            "authenticationType": "keyPair",
            "username": "ADMIN",
            "password": secret(PASSWORD),
            "privateKey": {"keyName": "PRIV_KEY_FILE", "userFilename": "k.p8", "content": secret(PRIVATE_KEY)},
            "oAuthClientConfig": {"clientId": "cid", "clientSecret": secret(CLIENT_SECRET)},
            "futureField": NEW_FIELD,  # unknown to the schema: redacted in doubt
            "role": "ACCOUNTADMIN",
        },
    }


def echoing(status: int, *, times: int = 1) -> Callable[[httpx.Request], httpx.Response]:
    """A server that fails `times` times with `status`, quoting everything it was sent (as Joi can), and
    then answers 200 with the same echo."""
    count = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        count["n"] += 1
        text = request.content.decode() or "{}"
        echo = {
            "statusCode": status,
            "error": "Echo",
            "message": f'"config.password" with value "{PASSWORD}" fails; you sent {text}',
        }
        if request.url.path.endswith("/scripts/create"):
            return httpx.Response(200, text=f"CREATE USER x PASSWORD = '{PASSWORD}';")
        if count["n"] <= times:
            return httpx.Response(status, json=echo, headers={"Retry-After": "1"})
        body = json.loads(text)
        answer = body if isinstance(body, dict) else {}
        return httpx.Response(200, json={"id": 1, "status": "creating", "echo": text, **answer})

    return handler


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> ImmutaClient:
    return ImmutaClient(
        "https://acme.immuta.com",
        Auth.api_key(API_KEY),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=3, deadline=60),
        sleep=lambda _: None,
        rng=random.Random(0),
    )


def everything_about(error: BaseException) -> str:
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, ApiError):
        parts += [error.message, error.hint, error.path]
    return "\n".join(parts)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text
    assert "authorization" not in text.lower()


@pytest.mark.parametrize("wrapped", [True, False], ids=["Secret", "plain"])
@pytest.mark.parametrize("status", [400, 409, 422, 500, 503, 429, 401, 403])
def test_failures_never_show_secrets(caplog: pytest.LogCaptureFixture, status: int, wrapped: bool) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler.http")
    client = client_for(echoing(status, times=99))
    calls: list[Callable[[], object]] = [
        lambda: client.create(payload(wrapped=wrapped)),
        lambda: client.update("1", payload(wrapped=wrapped)),
        lambda: client.delete("1", {"username": "ADMIN", "password": Secret(PASSWORD), "role": "R"}),
        lambda: client.delete("1", {"password": PASSWORD, "privateKey": {"content": PRIVATE_KEY}}),
        lambda: client.script_edit("1", payload(wrapped=wrapped)),
    ]
    for call in calls:
        with pytest.raises(ApiError) as caught:
            call()
        assert_clean(everything_about(caught.value))
    assert_clean(caplog.text)
    assert "(secret)" in caplog.text


@pytest.mark.parametrize("wrapped", [True, False], ids=["Secret", "plain"])
def test_success_after_retries_never_shows_secrets(caplog: pytest.LogCaptureFixture, wrapped: bool) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler.http")
    client = client_for(echoing(503, times=2))
    client.update("1", payload(wrapped=wrapped))
    client.delete("1", {"username": "ADMIN", "password": Secret(PASSWORD)})
    script = client.script_create(payload(wrapped=wrapped))
    assert PASSWORD in script  # the caller gets the script; only the trace hides it
    assert_clean(caplog.text)
    # The trace is still useful: what is not secret shows.
    assert "ADMIN" in caplog.text and "acme.snowflakecomputing.com" in caplog.text
    assert "(not shown: unknown to the schemas)" in caplog.text
    assert "→ PUT /integrations/1 (attempt 3)" in caplog.text
    assert "(script, " in caplog.text


def test_lost_answers_and_connection_errors_never_show_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler.http")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(500, text=f"trace: {PASSWORD}")
        raise httpx.ReadTimeout(f"timed out sending {request.content!r}")

    client = client_for(handler)
    with pytest.raises(ApiError) as caught:
        client.create(payload())
    assert_clean(everything_about(caught.value))
    assert_clean(caplog.text)


def test_the_request_body_carries_the_revealed_values() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json={"id": 1, "status": "creating"})

    client_for(handler).create(payload())
    sent = json.loads(bodies[0])
    assert sent["config"]["password"] == PASSWORD
    assert sent["config"]["privateKey"]["content"] == PRIVATE_KEY

"""Authentication: the raw key, bearer tokens from /bim/apikey/authenticate, expiry, 403 [doc + A1]."""

from __future__ import annotations

import httpx
import pytest
from sandbox_harness import KEY, SSL_CONTEXT, Call, FakeClock, ServeFactory, make_call
from sandbox_testdata import payload

from reconciler.sandbox import Sandbox
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.server import RunningServer


def test_bearer_token_flow_over_http(server: RunningServer, clock: FakeClock) -> None:
    with httpx.Client(base_url=server.url, verify=SSL_CONTEXT) as client:
        login = client.post("/bim/apikey/authenticate", json={"apikey": KEY})
        assert login.status_code == 200
        token = login.json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.post("/integrations", json=payload("Snowflake"), headers=bearer).status_code == 200
        clock.advance(3599)
        assert client.get("/integrations", headers=bearer).status_code == 200
        clock.advance(1)
        expired = client.get("/integrations", headers=bearer)
        assert (expired.status_code, expired.json()["message"]) == (401, "Token expired")
        assert client.get("/integrations", headers={"Authorization": KEY}).status_code == 200


def test_token_lifetime_is_configurable(clock: FakeClock) -> None:
    call = make_call(Sandbox(api_key=KEY, clock=clock, token_lifetime_seconds=5))
    token = call("POST", "/bim/apikey/authenticate", {"apikey": KEY}, key=None).json["token"]
    clock.advance(5)
    assert call("GET", "/integrations", key=f"Bearer {token}").status == 401


def test_authenticate_with_a_wrong_key_is_401(call: Call) -> None:
    answer = call("POST", "/bim/apikey/authenticate", {"apikey": "nope"}, key=None)
    assert (answer.status, answer.json["message"]) == (401, "Invalid API key")
    assert call("POST", "/bim/apikey/authenticate", {}, key=None).status == 400


def test_a_token_of_a_key_without_application_admin_is_403(serve: ServeFactory) -> None:
    _, http = serve(forbidden_keys=["reader"], key="reader")
    token = http.post("/bim/apikey/authenticate", json={"apikey": "reader"}).json()["token"]
    assert http.get("/integrations", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_without_a_configured_key_any_non_empty_key_is_accepted(clock: FakeClock) -> None:
    call = make_call(Sandbox(clock=clock))
    assert call("GET", "/integrations", key="anything").status == 200
    assert call("GET", "/integrations", key="Bearer anything").status == 200
    assert call("GET", "/integrations", key=None).status == 401
    assert call("GET", "/integrations", key="  ").status == 401
    token = call("POST", "/bim/apikey/authenticate", {"apikey": "whatever"}, key=None).json["token"]
    clock.advance(3600)
    assert call("GET", "/integrations", key=f"Bearer {token}").status == 401  # issued tokens still expire


def test_unknown_routes_answer_404_before_authentication(call: Call) -> None:
    assert call("GET", "/nowhere", key=None).status == 404


@pytest.mark.parametrize(
    ("form", "header", "body", "expected"),
    [
        ("either", KEY, None, 200),  # the documented form (§9.13)
        ("either", None, {"apikey": KEY}, 200),
        ("either", "nope", {"apikey": KEY}, 401),  # both given: the header is the key
        ("either", None, {}, 400),
        ("header", KEY, None, 200),
        ("header", None, {"apikey": KEY}, 400),
        ("body", None, {"apikey": KEY}, 200),
        ("body", KEY, None, 400),
    ],
)
def test_the_token_exchange_takes_the_key_in_the_header_or_the_body_as_the_dialect_says(
    clock: FakeClock, form: str, header: str | None, body: dict[str, str] | None, expected: int
) -> None:
    call = make_call(Sandbox(api_key=KEY, clock=clock, dialect=Dialect.of({"token_request": form})))
    answer = call("POST", "/bim/apikey/authenticate", body, key=header)
    assert answer.status == expected, answer.json
    if expected == 400:
        message = {
            "either": 'give the API key in the Authorization header or as "apikey"',
            "header": "the Authorization header is required",
            "body": '"apikey" is required',
        }[form]
        assert answer.json["message"] == message
    if expected == 200:
        assert call("GET", "/integrations", key=f"Bearer {answer.json['token']}").status == 200

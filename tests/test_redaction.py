"""Redaction never garbles output nor lets a secret be inferred from it (issue 11, part 7): structured
masking first, free-text scrubbing last and never inside the placeholder or inside words for short values.
Every output (trace, error message) is searched for the values used."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import httpx
import pytest

from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.client.redaction import scrub
from reconciler.errors import ApiError
from reconciler.secrets import Secret

API_KEY = "api-key-for-redaction-tests"


def snowflake(password: str) -> dict[str, Any]:
    return {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": "acme.snowflakecomputing.com",
            "warehouse": "WH",
            "database": "IMMUTA",
            "authenticationType": "userPassword",
            "username": "ADMIN",
            "password": Secret(password),
            "audit": {"enabled": True},
        },
    }


def rejecting(request: httpx.Request) -> httpx.Response:
    """A Joi-style 400 quoting the password it was sent, as a validation message can."""
    sent = json.loads(request.content)["config"]["password"]
    message = f'"config.password" with value "{sent}" fails to match the required pattern'
    return httpx.Response(400, json={"statusCode": 400, "error": "Bad Request", "message": message})


def create(password: str, caplog: pytest.LogCaptureFixture) -> tuple[str, str]:
    """(the error message, the -v trace) of a create Immuta rejects."""
    caplog.set_level(logging.DEBUG, logger="reconciler.http")
    client = ImmutaClient(
        "https://acme.immuta.com",
        Auth.api_key(API_KEY),
        transport=httpx.MockTransport(rejecting),
        retry=RetryPolicy(max_attempts=1, deadline=10),
        sleep=lambda _: None,
        rng=random.Random(0),
    )
    with pytest.raises(ApiError) as caught:
        client.create(snowflake(password))
    return caught.value.message, caplog.text


REQUEST_TRACE = (
    '→ POST /integrations (attempt 1) body={"type":"Snowflake","autoBootstrap":true,"config":{'
    '"host":"acme.snowflakecomputing.com","warehouse":"WH","database":"IMMUTA","authenticationType":"userPassword",'
    '"username":"ADMIN","password":"(secret)","audit":{"enabled":true}}}'
)
ANSWER_TRACE = (
    '← POST /integrations → 400 in {seconds} (attempt 1) body={{"statusCode":400,"error":"Bad Request",'
    '"message":"\\"config.password\\" with value \\"(secret)\\" fails to match the required pattern"}}'
)
MESSAGE = '"config.password" with value "(secret)" fails to match the required pattern'


@pytest.mark.parametrize(
    "password",
    ["e", "t", "ad", "(secret)", "secret", "ecre", "x(secret)y", "true", "Snowflake", "ADMIN-pw-long-enough"],
)
def test_no_secret_garbles_the_trace_or_the_message(password: str, caplog: pytest.LogCaptureFixture) -> None:
    message, trace = create(password, caplog)
    assert message == MESSAGE
    assert REQUEST_TRACE in trace
    seconds = trace.split("→ 400 in ")[1].split(" ")[0]
    assert ANSWER_TRACE.format(seconds=seconds) in trace
    # Every line is intact: the placeholder is never rewritten, nothing outside a secret field is touched.
    assert "(s(secret)" not in trace and "((secret))" not in trace
    if len(password) >= 4 and password != "(secret)":
        assert password not in trace.replace(REQUEST_TRACE, "").replace("(secret)", "")


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ('typ "e" (secret)', "e", 'typ "(secret)" (secret)'),  # short: whole quoted values only
        ("type (secret) e", "e", "type (secret) e"),
        ("(secret) and (secret)x", "(secret)", "(secret) and (secret)x"),
        ("((secret))", "(secret)", "((secret))"),
        ("a secret (secret)", "secret", "a (secret) (secret)"),
        ("x(secret)y and x", "x(secret)y", "(secret) and x"),
        ('pw "p\\"w-long"', 'p"w-long', 'pw "(secret)"'),  # as it appears in JSON text
    ],
)
def test_scrub_works_in_one_pass_and_keeps_the_placeholder(text: str, secret: str, expected: str) -> None:
    assert scrub(text, frozenset({secret})) == expected


def test_two_secrets_never_scrub_each_others_placeholder() -> None:
    assert scrub("pw-one pw-two", frozenset({"pw-one", "(secret) pw-two", "cret"})) == "(secret) pw-two"
    assert scrub("abcd abc", frozenset({"abcd", "bcd a"})) == "(secret) abc"

"""Fault injection: every switch, reproducible from the seed."""

from __future__ import annotations

import httpx
import pytest
from sandbox_harness import KEY, Call, FakeClock, ServeFactory, make_call
from sandbox_testdata import DELETE_CREDENTIALS, payload

from reconciler.sandbox import ConnectionDropped, Faults, Sandbox, SandboxRequest


def request(sandbox: Sandbox, method: str = "GET", path: str = "/integrations") -> int:
    return sandbox.handle(SandboxRequest(method, path, {"authorization": KEY})).status


@pytest.mark.parametrize(
    ("faults", "status", "retry_after"),
    [
        (Faults(rate_429=1.0), 429, "0"),
        (Faults(rate_429=1.0, retry_after_seconds=7), 429, "7"),
        (Faults(rate_500=1.0), 500, None),
        (Faults(rate_503=1.0, retry_after_seconds=2), 503, "2"),
    ],
)
def test_error_answers(call: Call, sandbox: Sandbox, faults: Faults, status: int, retry_after: str | None) -> None:
    sandbox.faults = faults
    answer = call("POST", "/integrations", payload("Snowflake"))
    assert answer.status == status
    assert answer.json["statusCode"] == status
    assert answer.headers.get("retry-after") == retry_after
    sandbox.faults = Faults()
    assert call("GET", "/integrations").json == []  # nothing was done


def test_drop_before_doing_anything(sandbox: Sandbox, call: Call) -> None:
    sandbox.faults = Faults(rate_drop=1.0)
    with pytest.raises(ConnectionDropped):
        call("POST", "/integrations", payload("Snowflake"))
    sandbox.faults = Faults()
    assert call("GET", "/integrations").json == []


def test_lost_post_response_performs_the_create(sandbox: Sandbox, call: Call) -> None:
    sandbox.faults = Faults(rate_lost_post_response=1.0)
    assert call("GET", "/integrations").status == 200  # only POST /integrations is affected
    with pytest.raises(ConnectionDropped):
        call("POST", "/integrations", payload("Snowflake"))
    assert [i["type"] for i in call("GET", "/integrations").json] == ["Snowflake"]
    assert call("POST", "/integrations", payload("Snowflake")).status == 409  # a blind retry conflicts


def test_lost_post_response_over_http_is_a_closed_connection(serve: ServeFactory) -> None:
    _, http = serve(faults=Faults(rate_lost_post_response=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/integrations", json=payload("Snowflake"))
    assert len(http.get("/integrations").json()) == 1


NGINX_504 = (
    b"<html>\r\n<head><title>504 Gateway Timeout</title></head>\r\n<body>\r\n"
    b"<center><h1>504 Gateway Timeout</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def test_performed_then_5xx_answers_a_proxy_page_after_each_write_is_done(serve: ServeFactory) -> None:
    """The write is carried out; the client sees only the proxy's HTML 504 (or 502/503), never Immuta's JSON."""
    sandbox, http = serve(faults=Faults(rate_performed_then_5xx=1.0))
    assert http.get("/integrations").status_code == 200  # reads are not affected
    created = http.post("/integrations", json=payload("Snowflake"))
    assert (created.status_code, created.headers["content-type"], created.content) == (504, "text/html", NGINX_504)
    [record] = http.get("/integrations").json()
    assert record["type"] == "Snowflake"
    changed = {**payload("Snowflake"), "config": {**payload("Snowflake")["config"], "warehouse": "OTHER_WH"}}
    assert http.put(f"/integrations/{record['id']}", json=changed).status_code == 504
    assert sandbox.list_integrations()[0]["config"]["warehouse"] == "OTHER_WH"
    credentials = DELETE_CREDENTIALS["Snowflake"]
    assert http.request("DELETE", f"/integrations/{record['id']}", json=credentials).status_code == 504
    assert http.get(f"/integrations/{record['id']}").status_code == 404  # deleted (at once: no provisioning time)
    assert sandbox.faults_injected == 3


@pytest.mark.parametrize("status", [502, 503])
def test_performed_then_5xx_answers_the_status_asked_for(sandbox: Sandbox, call: Call, status: int) -> None:
    sandbox.faults = Faults(rate_performed_then_5xx=1.0, performed_then_status=status)
    answer = call("POST", "/integrations", payload("Redshift"))
    assert answer.status == status
    assert f"<title>{status} " in answer.text
    assert [i["type"] for i in call("GET", "/integrations").json] == ["Redshift"]


def test_a_refused_write_is_not_performed_then_5xx(sandbox: Sandbox, call: Call) -> None:
    """Only writes that were carried out: a 409 or 400 stays Immuta's own answer."""
    sandbox.faults = Faults(rate_performed_then_5xx=1.0, max_faults=1)
    assert call("POST", "/integrations", {"type": "Snowflake"}).status == 400
    assert call("DELETE", "/integrations/404").status == 404
    assert sandbox.faults_injected == 0


def test_drop_over_http_then_the_server_goes_on(serve: ServeFactory) -> None:
    sandbox, http = serve(faults=Faults(rate_drop=1.0, max_faults=1))
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/integrations")
    assert http.get("/integrations").status_code == 200
    assert sandbox.faults_injected == 1


def test_latency_is_slept_through_the_injected_sleep(clock: FakeClock) -> None:
    slept: list[float] = []
    sandbox = Sandbox(api_key=KEY, clock=clock, sleep=slept.append, faults=Faults(latency_seconds=0.25))
    request(sandbox)
    request(sandbox)
    assert slept == [0.25, 0.25]


def test_max_faults_caps_request_faults(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(rate_503=1.0, max_faults=2)
    assert [request(sandbox) for _ in range(4)] == [503, 503, 200, 200]


def test_the_seed_makes_runs_reproducible(clock: FakeClock) -> None:
    def run(seed: int) -> list[int]:
        sandbox = Sandbox(api_key=KEY, clock=clock, faults=Faults(rate_429=0.3, rate_500=0.2, seed=seed))
        return [request(sandbox) for _ in range(40)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert {429, 500, 200} <= set(run(1))


def test_setting_faults_restarts_the_rng(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(rate_500=0.5, seed=3)
    first = [request(sandbox) for _ in range(10)]
    sandbox.faults = Faults(rate_500=0.5, seed=3)
    assert [request(sandbox) for _ in range(10)] == first


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        (Faults(rate_create_error=1.0), "createError"),
        (Faults(rate_edit_error=1.0), "enabled"),
        (Faults(rate_delete_error=1.0), "enabled"),
    ],
)
def test_provisioning_faults_touch_only_their_transition(clock: FakeClock, faults: Faults, expected: str) -> None:
    call = make_call(Sandbox(api_key=KEY, clock=clock, faults=faults))
    call("POST", "/integrations", payload("Databricks"))
    assert call("GET", "/integrations/1/status").json["status"] == expected


def test_prerequisite_failure_is_a_422_with_the_generic_text_for_other_types(sandbox: Sandbox, call: Call) -> None:
    sandbox.faults = Faults(rate_prerequisite_failure=1.0)
    answer = call("POST", "/integrations", payload("Redshift"))
    assert (answer.status, answer.json["message"]) == (
        422,
        "Validation of prerequisite setup failed. Unable to create integration.",
    )


def test_faults_from_cli_assignments() -> None:
    faults = Faults.from_assignments(["rate-429=0.5", "retry_after_seconds=3", "max_faults=2", "seed=9"])
    assert faults == Faults(rate_429=0.5, retry_after_seconds=3, max_faults=2, seed=9)
    assert faults.active
    assert not Faults(seed=4).active
    assert "rate_lost_post_response" in Faults.options()
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.from_assignments(["rate_999=1"])
    with pytest.raises(ValueError, match="not a number"):
        Faults.from_assignments(["rate_500=lots"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(rate_500=1.5)
    assert Faults.from_assignments(["rate-performed-then-5xx=1", "performed_then_status=502"]) == Faults(
        rate_performed_then_5xx=1.0, performed_then_status=502
    )
    with pytest.raises(ValueError, match="performed_then_status must be 502, 503 or 504, not 500"):
        Faults(performed_then_status=500)

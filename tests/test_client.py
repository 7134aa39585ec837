"""The Immuta client on httpx.MockTransport: settings, auth, retries, typed errors, idempotent creates."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler import __version__
from reconciler.client.immuta import (
    Auth,
    ClientSettings,
    ImmutaClient,
    RetryPolicy,
)
from reconciler.errors import (
    ApiError,
    AuthError,
    ConflictError,
    NotFoundError,
    ReconcilerError,
    TransientError,
    ValidationFailed,
)
from reconciler.sandbox.transport import SandboxTransport
from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse
from reconciler.secrets import Secret
from reconciler.validation import schema

Handler = Callable[[httpx.Request], httpx.Response]
HOST = "acme.us-east-1.snowflakecomputing.com"


class FakeTime:
    """A clock that only moves when the client sleeps: retries are instant and their delays recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(
    handler: Handler, *, auth: Auth | None = None, retry: RetryPolicy | None = None
) -> tuple[ImmutaClient, FakeTime]:
    time = FakeTime()
    client = ImmutaClient(
        "https://acme.immuta.com",
        auth or Auth.api_key("the-api-key"),
        transport=httpx.MockTransport(handler),
        retry=retry or RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=4.0, deadline=60.0),
        sleep=time.sleep,
        clock=time.clock,
        rng=random.Random(0),
    )
    return client, time


def boom(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    error = httpx.codes.get_reason_phrase(status)
    return httpx.Response(status, json={"statusCode": status, "error": error, "message": message}, headers=headers)


def sequence(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving these answers in order (an exception is raised), repeating the last one."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def snowflake(host: str = HOST, password: str = "pw-1") -> dict[str, Any]:
    return {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": host,
            "warehouse": "IMMUTA_WH",
            "database": "IMMUTA_DB",
            "authenticationType": "userPassword",
            "username": "ADMIN",
            "password": Secret(password),
            "role": "ACCOUNTADMIN",
        },
    }


RECORD = {"id": 7, "status": "enabled", "type": "Trino", "validationResults": {"status": "passed"}}


# -- settings and auth ---------------------------------------------------------------------------------------


def test_settings_from_env_with_api_key_or_token() -> None:
    key = ClientSettings.from_env({"IMMUTA_URL": "https://acme.immuta.com/", "IMMUTA_API_KEY": "k-123"})
    assert key.base_url == "https://acme.immuta.com"
    assert key.auth.header() == "k-123"
    token = ClientSettings.from_env({"IMMUTA_URL": "https://acme.immuta.com", "IMMUTA_TOKEN": "t-456"})
    assert token.auth.header() == "Bearer t-456"
    assert "k-123" not in repr(key) and "t-456" not in repr(token) and "t-456" not in str(token.auth)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ["IMMUTA_URL is not set", "set IMMUTA_API_KEY (an Immuta API key) or IMMUTA_TOKEN"]),
        ({"IMMUTA_URL": "https://a.immuta.com"}, ["set IMMUTA_API_KEY (an Immuta API key) or IMMUTA_TOKEN"]),
        (
            {"IMMUTA_URL": "https://a.immuta.com", "IMMUTA_API_KEY": "k-1", "IMMUTA_TOKEN": "t-1"},
            ["both IMMUTA_API_KEY and IMMUTA_TOKEN are set"],
        ),
        ({"IMMUTA_URL": "acme.immuta.com", "IMMUTA_TOKEN": "t-1"}, ["IMMUTA_URL must be an http(s) URL"]),
        (
            {"IMMUTA_URL": "https://bob:hunter2@a.immuta.com", "IMMUTA_TOKEN": "t-1"},
            ["IMMUTA_URL must not contain credentials"],
        ),
    ],
)
def test_settings_errors_name_the_variables(environ: dict[str, str], expected: list[str]) -> None:
    with pytest.raises(ReconcilerError) as caught:
        ClientSettings.from_env(environ)
    text = str(caught.value)
    for part in expected:
        assert part in text
    for value in ("k-1", "t-1", "hunter2"):
        assert value not in text


@pytest.mark.parametrize(("auth", "header"), [(Auth.api_key("raw-key"), "raw-key"), (Auth.bearer("tok"), "Bearer tok")])
def test_authorization_header(auth: Auth, header: str) -> None:
    handler, seen = sequence(httpx.Response(200, json=[]))
    client, _ = make_client(handler, auth=auth)
    assert client.list_integrations() == []
    assert seen[0].headers["authorization"] == header
    assert seen[0].headers["accept"] == "application/json"
    assert "raw-key" not in repr(client) and "tok" not in repr(client)


# -- retries -------------------------------------------------------------------------------------------------


def test_429_honours_retry_after() -> None:
    handler, seen = sequence(boom(429, "Rate limit exceeded", {"Retry-After": "7"}), httpx.Response(200, json=[]))
    client, time = make_client(handler)
    assert client.list_integrations() == []
    assert time.sleeps == [7.0]
    assert len(seen) == 2


CALLS: dict[str, Callable[[ImmutaClient], object]] = {
    "GET": lambda c: c.get("7"),
    "PUT": lambda c: c.update("7", {"type": "Trino"}),
    "DELETE": lambda c: c.delete("7", None),
}


@pytest.mark.parametrize("method", CALLS)
@pytest.mark.parametrize(
    "failure",
    [
        boom(502, "Bad Gateway"),
        boom(503, "Service Unavailable"),
        boom(504, "Gateway Timeout"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=["502", "503", "504", "connect", "read-timeout", "dropped"],
)
def test_transient_failures_are_retried_with_backoff(method: str, failure: httpx.Response | Exception) -> None:
    handler, seen = sequence(failure, failure, httpx.Response(200, json=RECORD))
    client, time = make_client(handler)
    assert CALLS[method](client) == {**RECORD, "id": "7"}
    assert [r.method for r in seen] == [method] * 3
    # Equal jitter: attempt n waits between half and all of base * 2^(n-1).
    assert 0.25 <= time.sleeps[0] <= 0.5 and 0.5 <= time.sleeps[1] <= 1.0


def test_gives_up_after_max_attempts_saying_what_was_tried() -> None:
    handler, seen = sequence(boom(503, "Service temporarily unavailable"))
    client, time = make_client(handler)
    with pytest.raises(TransientError) as caught:
        client.list_integrations()
    assert len(seen) == 4 and len(time.sleeps) == 3
    error = caught.value
    assert (error.method, error.path, error.status) == ("GET", "/integrations", 503)
    assert error.message.startswith("gave up after 4 attempt(s) in ")
    assert error.message.endswith(": 503 Service Unavailable x4")
    assert "try again later" in error.hint


def test_gives_up_when_retry_after_passes_the_deadline() -> None:
    handler, seen = sequence(boom(429, "slow down", {"Retry-After": "600"}))
    client, time = make_client(handler)
    with pytest.raises(TransientError) as caught:
        client.get("1")
    assert len(seen) == 1 and time.sleeps == []
    assert "waiting 600.0s (Retry-After) would pass the 60s deadline" in str(caught.value)


def test_deadline_bounds_many_retries() -> None:
    handler, seen = sequence(httpx.ConnectError("refused"))
    client, time = make_client(handler, retry=RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=8, deadline=20))
    with pytest.raises(TransientError) as caught:
        client.get("1")
    assert sum(time.sleeps) <= 20
    assert "connection refused by acme.immuta.com:443 x" in caught.value.message
    assert "deadline" in caught.value.message
    assert 3 < len(seen) < 100


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, ValidationFailed),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationFailed),
        (500, ApiError),
    ],
)
def test_errors_are_typed_carry_immutas_message_and_are_not_retried(status: int, error_type: type[ApiError]) -> None:
    handler, seen = sequence(boom(status, f"Immuta says {status}."))
    client, time = make_client(handler)
    with pytest.raises(error_type) as caught:
        client.update("5", {"type": "Trino"})
    assert len(seen) == 1 and time.sleeps == []
    assert type(caught.value) is error_type
    assert (caught.value.method, caught.value.path, caught.value.status) == ("PUT", "/integrations/5", status)
    assert caught.value.message == f"Immuta says {status}."
    assert str(caught.value) == f"PUT /integrations/5 → {status}: Immuta says {status}."


def test_401_and_403_explain_what_to_check() -> None:
    handler, _ = sequence(boom(401, "Unauthorized"))
    with pytest.raises(AuthError) as unauthorized:
        make_client(handler)[0].list_integrations()
    assert "IMMUTA_API_KEY / IMMUTA_TOKEN" in unauthorized.value.hint
    assert "expired" in unauthorized.value.hint
    handler, _ = sequence(boom(403, "Forbidden"))
    with pytest.raises(AuthError) as forbidden:
        make_client(handler)[0].list_integrations()
    assert "APPLICATION_ADMIN" in forbidden.value.hint
    assert str(forbidden.value).endswith("\n  " + forbidden.value.hint)


def test_error_without_a_json_body_has_a_short_safe_message() -> None:
    handler, _ = sequence(httpx.Response(502, text="<html>" + "x" * 5000 + "</html>"))
    client, _ = make_client(handler, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(TransientError) as caught:
        client.get("3")
    assert caught.value.message == "gave up after 1 attempt(s) in 0.0s: 502 Bad Gateway"
    handler, _ = sequence(httpx.Response(500, text="<html>oops</html>"))
    with pytest.raises(ApiError) as caught_500:
        make_client(handler)[0].get("3")
    assert caught_500.value.message == "HTTP 500 Internal Server Error (no JSON error body)"


# -- reads ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (httpx.Response(200, json={"integrations": []}), "expected a JSON array of integration objects"),
        (httpx.Response(200, json=["Snowflake"]), "expected a JSON array of integration objects"),
        (httpx.Response(200, text="<html>login</html>"), "the answer is not valid JSON"),
        (httpx.Response(200, json=[{"type": "Trino"}]), "an integration has no usable `id`"),
        (httpx.Response(200, json=[{"id": None, "type": "Trino"}]), "an integration has no usable `id`"),
    ],
)
def test_malformed_list_is_an_error_never_empty(answer: httpx.Response, problem: str) -> None:
    handler, _ = sequence(answer)
    client, _ = make_client(handler)
    with pytest.raises(ApiError) as caught:
        client.list_integrations()
    assert caught.value.message.startswith(problem)


def test_ids_are_strings() -> None:
    handler, _ = sequence(httpx.Response(200, json=[{"id": 5, "type": "Trino"}, {"id": "6", "type": "Trino"}]))
    client, _ = make_client(handler)
    assert [r["id"] for r in client.list_integrations()] == ["5", "6"]


def test_ids_are_quoted_into_paths() -> None:
    handler, seen = sequence(httpx.Response(200, json=RECORD))
    make_client(handler)[0].get("../scripts/create")
    assert seen[0].url.raw_path == b"/integrations/..%2Fscripts%2Fcreate"


# -- writes --------------------------------------------------------------------------------------------------


def test_create_sends_revealed_json_and_returns_the_record() -> None:
    handler, seen = sequence(httpx.Response(200, json={"id": 12, "status": "creating", "validationResults": {}}))
    client, _ = make_client(handler)
    assert client.create(snowflake(password="pw-9")) == {
        "id": "12",
        "status": "creating",
        "validationResults": {},
    }
    body = json.loads(seen[0].content)
    assert body["config"]["password"] == "pw-9"
    assert seen[0].headers["content-type"] == "application/json"


def test_delete_sends_credentials_only_when_given() -> None:
    handler, seen = sequence(httpx.Response(200, json={"id": 3, "status": "deleting"}), httpx.Response(204))
    client, _ = make_client(handler)
    answer = client.delete(3, {"username": "ADMIN", "password": Secret("pw"), "role": "ACCOUNTADMIN"})
    assert answer == {"id": "3", "status": "deleting"}
    assert json.loads(seen[0].content) == {"username": "ADMIN", "password": "pw", "role": "ACCOUNTADMIN"}
    assert client.delete(3, None) is None
    assert seen[1].content == b"" and "content-type" not in seen[1].headers


def test_delete_after_a_lost_answer_and_404_is_gone() -> None:
    handler, seen = sequence(httpx.ReadTimeout("slow"), boom(404, "No integration found with ID 3."))
    client, _ = make_client(handler)
    assert client.delete("3", None) is None
    assert len(seen) == 2


def test_delete_404_on_first_attempt_is_not_found() -> None:
    handler, _ = sequence(boom(404, "No integration found with ID 3."))
    with pytest.raises(NotFoundError):
        make_client(handler)[0].delete("3", None)


def test_update_after_a_lost_answer_and_409_returns_the_edit_in_progress() -> None:
    editing = httpx.Response(200, json={"id": 4, "status": "editing", "type": "Trino"})
    handler, seen = sequence(httpx.RemoteProtocolError("dropped"), boom(409, "Integration is editing."), editing)
    client, _ = make_client(handler)
    assert client.update("4", {"type": "Trino"})["status"] == "editing"
    assert [r.method for r in seen] == ["PUT", "PUT", "GET"]


def test_update_409_on_first_attempt_is_a_conflict() -> None:
    handler, seen = sequence(boom(409, "Integration 4 is creating."))
    with pytest.raises(ConflictError, match=r"Integration 4 is creating\."):
        make_client(handler)[0].update("4", {"type": "Trino"})
    assert len(seen) == 1


def test_scripts_are_text_and_retried() -> None:
    script = httpx.Response(200, text="CREATE ROLE IMMUTA;\n", headers={"content-type": "text/plain"})
    handler, seen = sequence(boom(503, "busy"), script)
    client, _ = make_client(handler)
    assert client.script_edit(4, snowflake()) == "CREATE ROLE IMMUTA;\n"
    assert [r.url.path for r in seen] == ["/integrations/4/scripts/edit"] * 2
    handler, seen = sequence(httpx.Response(200, json="-- as JSON text"))
    client, _ = make_client(handler)
    assert client.script_delete("4") == "-- as JSON text"
    assert seen[0].content == b""
    calls: list[tuple[Callable[[], str], str]] = [
        (lambda: client.script_create(snowflake()), "/integrations/scripts/create"),
        (lambda: client.script_cleanup(snowflake()), "/integrations/scripts/cleanup"),
        (lambda: client.script_initial_create(snowflake()), "/integrations/scripts/initial-create"),
        (lambda: client.script_post_cleanup(snowflake()), "/integrations/scripts/post-cleanup"),
    ]
    for call, path in calls:
        call()
        assert seen[-1].method == "POST" and seen[-1].url.path == path


def test_regenerate() -> None:
    handler, seen = sequence(httpx.Response(200, json={"id": 4, "status": "enabled"}))
    assert make_client(handler)[0].regenerate(4) == {"id": "4", "status": "enabled"}
    assert (seen[0].method, seen[0].url.path) == ("POST", "/integrations/4/regenerate")


# -- POST idempotency ----------------------------------------------------------------------------------------


class FakeImmuta:
    """Just enough of Immuta for creates: natural key config.host, and scripted faults per POST."""

    def __init__(self, *post_faults: str) -> None:
        self.post_faults = list(post_faults)
        self.items: dict[str, dict[str, Any]] = {}
        self.hidden: set[str] = set()  # created, not yet visible to a list (still being processed)
        self.seen: list[tuple[str, str]] = []
        self.list_fails = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        if request.method == "GET" and request.url.path == "/integrations":
            if self.list_fails:
                return boom(500, "list broke")
            return httpx.Response(200, json=[v for k, v in self.items.items() if k not in self.hidden])
        assert (request.method, request.url.path) == ("POST", "/integrations")
        fault = self.post_faults.pop(0) if self.post_faults else ""
        if fault == "drop-before":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if fault == "503-before":
            return boom(503, "Service temporarily unavailable")
        if fault == "429":
            return boom(429, "Rate limit exceeded", {"Retry-After": "3"})
        payload = json.loads(request.content)
        host = payload["config"]["host"]
        for item in self.items.values():
            if item["config"]["host"] == host:
                self.hidden.clear()
                return boom(409, f"Snowflake integration already exists on {host} (id = {item['id']}).")
        new_id = str(len(self.items) + 1)
        config = {k: v for k, v in payload["config"].items() if k != "password"}
        self.items[new_id] = {
            "id": int(new_id),
            "status": "creating",
            "type": payload["type"],
            "config": config,
        }
        if fault == "lose-after":
            raise httpx.ReadTimeout("timed out")
        if fault == "lose-after-slow":
            self.hidden.add(new_id)
            raise httpx.ReadTimeout("timed out")
        if fault == "500-after":
            return boom(500, "An internal server error occurred")
        return httpx.Response(200, json={"id": int(new_id), "status": "creating", "validationResults": {}})

    @property
    def posts(self) -> int:
        return self.seen.count(("POST", "/integrations"))


@pytest.mark.parametrize(
    ("faults", "posts", "lists"),
    [
        ((), 1, 0),
        (("lose-after",), 1, 1),  # created, answer lost: found by listing, not posted again
        (("drop-before",), 2, 1),  # dropped before processing: not found, posted again
        (("503-before",), 2, 1),  # 5xx is ambiguous: look, then post again
        (("500-after",), 1, 1),  # created, then 500: found by listing
        (("lose-after-slow",), 2, 2),  # not yet visible, the repost gets 409: listing again finds it
        (("429", "429"), 3, 0),  # 429 was not processed: retry after Retry-After, no lookup needed
        (("drop-before", "503-before", "lose-after"), 3, 3),
    ],
)
def test_create_never_duplicates(faults: tuple[str, ...], posts: int, lists: int) -> None:
    server = FakeImmuta(*faults)
    client, time = make_client(server)
    created = client.create(snowflake())
    assert created["id"] == "1"
    assert len(server.items) == 1
    assert server.posts == posts
    assert server.seen.count(("GET", "/integrations")) == lists
    if "429" in faults:
        assert time.sleeps == [3.0, 3.0]


def test_create_409_on_the_first_attempt_is_a_real_conflict() -> None:
    server = FakeImmuta()
    client, _ = make_client(server)
    client.create(snowflake())
    with pytest.raises(ConflictError) as caught:
        client.create(snowflake())
    assert caught.value.message == f"Snowflake integration already exists on {HOST} (id = 1)."
    assert server.seen.count(("GET", "/integrations")) == 0


def test_create_whose_lookup_fails_says_the_outcome_is_unknown() -> None:
    server = FakeImmuta("lose-after")
    server.list_fails = True
    client, _ = make_client(server)
    with pytest.raises(TransientError) as caught:
        client.create(snowflake())
    key = schema.load().types["Snowflake"].key_of(snowflake())
    assert caught.value.message == (
        f"no answer from acme.immuta.com:443 within 60s (read timeout), so the create of {key} may or may not "
        "have happened, "
        "and listing integrations to find out failed: list broke"
    )
    assert "re-run plan" in caught.value.hint.lower()
    assert server.posts == 1


def test_create_gives_up_without_duplicates() -> None:
    server = FakeImmuta(*["drop-before"] * 10)
    client, _ = make_client(server)
    with pytest.raises(TransientError) as caught:
        client.create(snowflake())
    assert server.posts == 4 and not server.items
    assert "connection to acme.immuta.com:443 dropped without an answer x4" in caught.value.message
    assert "re-run plan" in caught.value.hint.lower()


# -- the in-process transport and threads --------------------------------------------------------------------


def test_sandbox_transport_maps_requests_and_dropped_connections() -> None:
    seen: list[SandboxRequest] = []

    def handle(request: SandboxRequest) -> SandboxResponse:
        seen.append(request)
        if len(seen) == 1:
            raise ConnectionDropped
        return SandboxResponse(200, {"content-type": "application/json"}, b'{"id": 1, "status": "enabled"}')

    client = ImmutaClient(
        "http://sandbox.invalid",
        Auth.bearer("tok"),
        transport=SandboxTransport(handle),
        sleep=lambda _: None,
        rng=random.Random(1),
    )
    assert client.update("1", {"type": "Trino"}) == {"id": "1", "status": "enabled"}
    assert len(seen) == 2
    assert (seen[1].method, seen[1].path, seen[1].body) == ("PUT", "/integrations/1", b'{"type": "Trino"}')
    assert seen[1].headers["authorization"] == "Bearer tok"


def test_one_client_serves_many_threads() -> None:
    lock = threading.Lock()
    count = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            count["n"] += 1
            flaky = count["n"] % 3 == 0
        if flaky:
            return boom(503, "busy")
        return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[-1], "status": "enabled"})

    client = ImmutaClient(
        "https://acme.immuta.com",
        Auth.api_key("k"),
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
    )
    results: list[str] = []

    def work(index: int) -> None:
        record = client.get(str(index))
        with lock:
            results.append(record["id"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=int) == [str(i) for i in range(16)]


# -- odds and ends -------------------------------------------------------------------------------------------


def test_unusable_retry_after_falls_back_to_backoff() -> None:
    handler, _ = sequence(
        boom(429, "slow down", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), httpx.Response(200, json=[])
    )
    client, time = make_client(handler)
    client.list_integrations()
    assert len(time.sleeps) == 1 and 0.25 <= time.sleeps[0] <= 0.5


def test_wrong_scheme_is_not_retried_and_says_what_to_fix() -> None:
    client = ImmutaClient("ftp://acme.immuta.com", Auth.api_key("k"), sleep=lambda _: None)
    with pytest.raises(ApiError) as caught:
        client.list_integrations()
    assert caught.value.message == "IMMUTA_URL's scheme 'ftp' is neither https nor http"
    assert "IMMUTA_URL must start with https://" in caught.value.hint


def test_redirect_is_an_error() -> None:
    handler, _ = sequence(httpx.Response(302, headers={"Location": "https://login.example.com"}))
    with pytest.raises(ApiError) as caught:
        make_client(handler)[0].list_integrations()
    assert caught.value.status == 302 and "IMMUTA_URL" in caught.value.hint


def test_status_without_a_status_is_malformed() -> None:
    handler, _ = sequence(httpx.Response(200, json={"id": 1}))
    with pytest.raises(ApiError, match="the status answer has no `status` text"):
        make_client(handler)[0].status("1")


def test_create_of_an_unknown_type_cannot_be_looked_up_after_an_ambiguous_failure() -> None:
    handler, seen = sequence(httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError) as caught:
        make_client(handler)[0].create({"type": "Oracle", "config": {}})
    assert "cannot be looked up by its natural key" in caught.value.message
    assert len(seen) == 1


def test_trace_hides_the_config_of_unknown_types(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="reconciler.http")
    listed = [{"id": 1, "type": "Oracle", "config": {"password": "hunter2"}}, RECORD]
    handler, _ = sequence(httpx.Response(200, json=listed))
    make_client(handler)[0].list_integrations()
    assert "hunter2" not in caplog.text
    assert '"config":"(not shown: unknown to the schemas)"' in caplog.text
    assert "← GET /integrations → 200 in " in caplog.text


# -- errors that say what to do (#12.8, §7) ------------------------------------------------------------------


def test_404_on_the_list_says_immuta_url_must_be_the_tenant_root() -> None:
    handler, _ = sequence(httpx.Response(404, text="<html>Not Found</html>"))
    client = ImmutaClient(
        "https://acme.immuta.com/api/v2",
        Auth.api_key("k"),
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
    )
    with pytest.raises(NotFoundError) as caught:
        client.list_integrations()
    assert str(caught.value) == (
        "GET /integrations → 404: HTTP 404 Not Found (no JSON error body)\n"
        "  https://acme.immuta.com/api/v2/integrations does not exist. IMMUTA_URL must be the tenant root, "
        "e.g. https://acme.immuta.com (no path after the host)."
    )


def test_401_names_the_key_variables_and_403_application_admin() -> None:
    handler, _ = sequence(boom(401, "Unauthorized"))
    with pytest.raises(AuthError) as unauthorized:
        make_client(handler)[0].get("1")
    assert unauthorized.value.hint.startswith("Check IMMUTA_API_KEY / IMMUTA_TOKEN: ")
    handler, _ = sequence(boom(403, "Forbidden"))
    with pytest.raises(AuthError) as forbidden:
        make_client(handler)[0].get("1")
    assert forbidden.value.hint == (
        "The user of the key in IMMUTA_API_KEY / IMMUTA_TOKEN needs the APPLICATION_ADMIN permission in Immuta "
        "to manage integrations."
    )


@pytest.mark.parametrize(
    ("status", "error", "hint"),
    [
        (409, "Conflict", "Immuta refuses the delete while the integration is busy (being created, edited or "),
        (422, "Unprocessable entity", "Immuta could not carry out the delete: fix what its message names "),
    ],
)
def test_delete_409_and_422_show_immutas_message_and_a_next_step(status: int, error: str, hint: str) -> None:
    body = {"statusCode": status, "error": error, "message": f"Integration 3 cannot be deleted ({status})."}
    handler, _ = sequence(httpx.Response(status, json=body))
    with pytest.raises(ApiError) as caught:
        make_client(handler)[0].delete("3", None)
    assert caught.value.message == f"Integration 3 cannot be deleted ({status})."
    assert caught.value.hint.startswith(hint)


def test_a_rejected_create_shows_immutas_validation_guidance_without_secrets() -> None:
    tests = [
        {"name": "Initial Validation: Basic Connection Test", "status": "failed", "message": "Login failed: pw-7"},
        {"name": "Initial Validation: Default Warehouse Access Test", "status": "passed"},
        {"name": "Initial Validation: Validate access to Privileged Role", "status": "failed"},
    ]
    body = {
        "statusCode": 422,
        "error": "Unprocessable entity",
        "message": "Validation of prerequisite setup failed. Unable to create integration.",
        "validationResults": {"status": "failed", "validationTests": tests},
    }
    handler, _ = sequence(httpx.Response(422, json=body))
    with pytest.raises(ValidationFailed) as caught:
        make_client(handler)[0].create(snowflake(password="pw-7"))
    assert caught.value.message == (
        "Validation of prerequisite setup failed. Unable to create integration. (Initial Validation: Basic "
        "Connection Test: Login failed: (secret); Initial Validation: Validate access to Privileged Role)"
    )


def test_the_message_is_read_never_the_spelling_of_error() -> None:
    handler, _ = sequence(httpx.Response(422, json={"statusCode": 422, "error": "Unprocessable Entity"}))
    with pytest.raises(ValidationFailed) as caught:
        make_client(handler)[0].update("3", {"type": "Trino"})
    assert caught.value.message == "Unprocessable Entity"  # no message: the error text is all there is


# -- the audit trail (#12.9) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "agent"),
    [
        ({}, f"immuta-reconciler/{__version__}"),
        (
            {"GITHUB_RUN_ID": "123", "GITHUB_SHA": "abc1234def5678"},
            f"immuta-reconciler/{__version__} (run 123; commit abc1234)",
        ),
        ({"GITHUB_RUN_ID": "77"}, f"immuta-reconciler/{__version__} (run 77)"),
    ],
)
def test_the_user_agent_names_the_version_the_ci_run_and_the_commit(
    environ: dict[str, str], agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_RUN_ID", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    handler, seen = sequence(httpx.Response(200, json=[]))
    make_client(handler)[0].list_integrations()
    assert seen[0].headers["user-agent"] == agent


def test_settings_read_immuta_timeout() -> None:
    base = {"IMMUTA_URL": "https://acme.immuta.com", "IMMUTA_API_KEY": "k"}
    assert ClientSettings.from_env(base).timeout == 120.0
    assert ClientSettings.from_env({**base, "IMMUTA_TIMEOUT": "30"}).timeout == 30.0
    with pytest.raises(ReconcilerError) as caught:
        ClientSettings.from_env({**base, "IMMUTA_TIMEOUT": "soon"})
    assert "IMMUTA_TIMEOUT must be a number of seconds between 0 and 86400 (got 'soon')" in str(caught.value)


def test_a_poller_read_is_one_attempt() -> None:
    handler, seen = sequence(boom(503, "busy", {"Retry-After": "4"}))
    client, time = make_client(handler)
    with pytest.raises(TransientError) as caught:
        client.status("9", attempts=1)
    assert len(seen) == 1 and time.sleeps == []
    assert getattr(caught.value, "retry_after", None) == 4.0

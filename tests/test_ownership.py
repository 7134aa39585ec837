"""Discovery of connections (docs/immuta-api.md §10.2 to §10.4) and the ownership gate's last line: the client's
guard refuses every write to a connection-backed integration before a byte is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from reconciler import ownership, ownership_report
from reconciler.client.connections import Connection, DiscoveryError, discover
from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.seeding import add_connection, connection_writes
from reconciler.sandbox.transport import SandboxTransport
from reconciler.validation.schema import load

KEY = "ownership-key"
HOST = "conn.us-east-1.snowflakecomputing.com"
SNOWFLAKE = {
    "type": "Snowflake",
    "autoBootstrap": False,
    "config": {
        "host": HOST,
        "warehouse": "W",
        "database": "IMMUTA",
        "authenticationType": "userPassword",
        "username": "u",
        "password": "p",
    },
}


def client_of(sandbox: Sandbox) -> ImmutaClient:
    return ImmutaClient(
        "http://sandbox.invalid",
        Auth.api_key(KEY),
        transport=SandboxTransport(sandbox.handle),
        retry=RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.01, deadline=5),
        sleep=lambda seconds: None,
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    yield Sandbox(api_key=KEY)


@pytest.mark.parametrize("paging", ["body", "query"])
def test_every_page_is_read_until_count_is_reached(paging: str) -> None:
    sandbox = Sandbox(api_key=KEY, dialect=Dialect.of({"search_paging": paging, "native_ids": "number"}))
    native = add_connection(sandbox, "snow", "Snowflake", SNOWFLAKE)
    for number in range(24):
        add_connection(sandbox, f"glue_{number:02d}", "Glue")
    with client_of(sandbox) as client:
        found = discover(client.read_data)
    assert found is not None and len(found) == 25
    assert [c for c in found if c.key == "snow"] == [Connection("snow", "Snowflake", native, HOST)]
    assert native == "1"  # a number on the wire, text here: compared with /integrations ids as strings
    searches = [path for method, path in sandbox.requests if method == "POST"]
    assert searches == ["/data/object/search"] * 3


def test_a_404_on_the_search_means_no_connections_api() -> None:
    sandbox = Sandbox(api_key=KEY, dialect=Dialect.of({"data_api": "absent"}))
    with client_of(sandbox) as client:
        assert discover(client.read_data) is None


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([{"count": 12, "hits": [{"objectPath": ["a"]}]}, {"count": 12, "hits": [{"objectPath": ["a"]}]}], "twice"),
        ([{"count": 3, "hits": [{"objectPath": "a"}]}, {"count": 3, "hits": []}], "`count` is 3 but the page"),
        ([{"total": 1, "results": []}], "neither {count, hits} nor a list of data objects"),
        ([[{"objectPath": []}]], "object 0 has no objectPath naming its connection"),
        ([[{"objectPath": ["a\x1b[31m"]}]], "object 0 has a connection key that is too long or holds control"),
        ([[{"objectPath": "a"}], {"nativeIntegrationId": True}], "`nativeIntegrationId` is neither an id nor absent"),
    ],
    ids=["offset-ignored", "count-not-reached", "neither-shape", "no-key", "control-key", "bad-native-id"],
)
def test_an_answer_the_contract_does_not_describe_fails_discovery(answers: list[Any], message: str) -> None:
    queue = list(answers)

    def read(method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        return queue.pop(0)

    with pytest.raises(DiscoveryError, match=message.replace("{", r"\{").replace("}", r"\}").replace("|", r"\|")):
        discover(read)


def test_pages_are_bounded() -> None:
    pages: list[str] = []

    def read(method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        pages.append(path)
        start = len(pages) * 10
        return {"count": 10**9, "hits": [{"objectPath": [f"k{start + n}"]} for n in range(10)]}

    with pytest.raises(DiscoveryError, match="`count` not reached after 100 pages of 10"):
        discover(read)
    assert len(pages) == 100
    assert pages[1] == "/data/object/search?offset=10&size=10"


def test_keys_are_percent_encoded_in_paths(sandbox: Sandbox) -> None:
    add_connection(sandbox, "old key/1", "Glue")
    seen: list[str] = []
    with client_of(sandbox) as client:

        def read(method: str, path: str, body: Mapping[str, Any] | None) -> Any:
            seen.append(path)
            return client.read_data(method, path, body)

        found = discover(read)
    assert found == (Connection("old key/1", "Glue", None, None),)
    assert seen == ["/data/object/search", "/data/connection/old%20key%2F1"]


WRITES: dict[str, Callable[[ImmutaClient, str], Any]] = {
    "PUT": lambda client, id_: client.update(id_, SNOWFLAKE),
    "DELETE": lambda client, id_: client.delete(id_),
    "regenerate": lambda client, id_: client.regenerate(id_),
    "scripts/edit": lambda client, id_: client.script_edit(id_, SNOWFLAKE),
    "scripts/delete": lambda client, id_: client.script_delete(id_),
    "create on its account": lambda client, id_: client.create(SNOWFLAKE),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_the_client_refuses_every_write_to_a_connection_backed_integration(sandbox: Sandbox, write: str) -> None:
    """The last line: whatever a plan, a saved plan or a script asks, the request is never sent."""
    native = add_connection(sandbox, "snow_prod", "Snowflake", SNOWFLAKE)
    assert native is not None
    with client_of(sandbox) as client:
        actual = ownership.observe(client, load())
        assert actual.integrations == ()
        sandbox.reset_requests()
        with pytest.raises(ownership.OwnershipRefused, match="refused"):
            WRITES[write](client, native)
    assert sandbox.requests == []
    assert connection_writes(sandbox) == []


def test_when_discovery_fails_the_client_refuses_connection_types(sandbox: Sandbox) -> None:
    sandbox.dialect = Dialect.of({"data_api": "error"})
    listed = sandbox.oob_add(SNOWFLAKE)
    with client_of(sandbox) as client:
        actual = ownership.observe(client, load())
        sandbox.reset_requests()
        with pytest.raises(ownership.OwnershipRefused, match=r"connections could not be checked \(POST"):
            client.create({**SNOWFLAKE, "config": {**SNOWFLAKE["config"], "host": "other.snowflakecomputing.com"}})
        with pytest.raises(ownership.OwnershipRefused):
            client.delete(listed)
    assert actual.integrations == ()
    assert actual.ownership is not None and actual.ownership.status == "failed"
    assert sandbox.requests == []


def test_a_databricks_record_spelt_as_a_connections_never_makes_the_listing_untrusted() -> None:
    """C4: config.host and no workspaceUrl; here its connection is not even listed: still held, never written."""
    sandbox = Sandbox(api_key=KEY, dialect=Dialect.of({"databricks_key": "host"}))
    databricks = {
        "type": "Databricks",
        "autoBootstrap": False,
        "config": {
            "workspaceUrl": "dbc-c4.cloud.databricks.com",
            "httpPath": "/sql/1",
            "authenticationType": "token",
            "token": "t",
            "catalog": "immuta_c4",
        },
    }
    native = add_connection(sandbox, "dbx", "Databricks", databricks)
    with sandbox.tenant.session() as state:
        del state.connections["dbx"]
    with client_of(sandbox) as client:
        actual = ownership.observe(client, load())
        with pytest.raises(ownership.OwnershipRefused):
            client.delete(str(native))
        sandbox.dialect = Dialect.of({"databricks_key": "host", "data_api": "error"})
        failed = ownership.observe(client, load())  # nor when ownership is unknown
    assert actual.integrations == () and failed.integrations == ()
    assert ownership_report.notes(actual) == (
        f"connection-managed (read-only): Databricks[workspaceUrl=dbc-c4.cloud.databricks.com] (id {native}) "
        "reports config.host as an integration behind a connection does (C4).",
    )

"""Contract §5: one test per row of the error table, against the simulator over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from sandbox_harness import KEY, SSL_CONTEXT, FakeClock, ServeFactory
from sandbox_testdata import DELETE_CREDENTIALS, payload

from reconciler.sandbox import Faults, Sandbox
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.server import RunningServer

pytestmark = pytest.mark.e2e


def boom(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"statusCode", "error", "message"}
    assert body["statusCode"] == response.status_code
    return response.status_code, body["error"], body["message"]


def create(http: httpx.Client, body: dict[str, object]) -> str:
    response = http.post("/integrations", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


# -- any call: 401 / 403 [A1] ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing authentication"),
        ({"Authorization": "wrong-key"}, "Invalid API key"),
        ({"Authorization": "Bearer not-a-token"}, "Invalid token"),
    ],
)
def test_401_missing_or_wrong_key(server: RunningServer, headers: dict[str, str], message: str) -> None:
    with httpx.Client(base_url=server.url, headers=headers, verify=SSL_CONTEXT) as client:
        response = client.get("/integrations")
    assert boom(response) == (401, "Unauthorized", message)


def test_401_expired_token(http: httpx.Client, clock: FakeClock) -> None:
    token = http.post("/bim/apikey/authenticate", json={"apikey": KEY}).json()["token"]
    clock.advance(3600)
    response = http.get("/integrations", headers={"Authorization": f"Bearer {token}"})
    assert boom(response) == (401, "Unauthorized", "Token expired")


def test_403_without_application_admin(serve: ServeFactory) -> None:
    _, http = serve(forbidden_keys=["reader-key"], key="reader-key")
    assert boom(http.get("/integrations")) == (
        403,
        "Forbidden",
        "You do not have the APPLICATION_ADMIN permission required to manage integrations.",
    )


# -- 404 unknown id [doc] ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/integrations/5"), ("PUT", "/integrations/5"), ("GET", "/integrations/5/status")],
)
def test_404_unknown_id(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, json=payload("Snowflake") if method == "PUT" else None)
    assert boom(response) == (404, "Not Found", "No Integration found with ID 5.")


def test_404_unknown_id_on_delete_has_its_own_wording(http: httpx.Client) -> None:
    assert boom(http.delete("/integrations/5")) == (404, "Not Found", "No integration found with ID 5.")


# -- POST 400: Joi-style validation [A14] -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (payload("Snowflake", warehouse=None), '"config.warehouse" is required'),
        (payload("Snowflake", port="443"), '"config.port" must be a number'),
        (payload("Snowflake", foo="bar"), '"config.foo" is not allowed'),
        (
            {"type": "Oracle", "autoBootstrap": True, "config": {}},
            '"type" must be one of [Snowflake, Databricks, '
            "Redshift, Azure Synapse Analytics, Google BigQuery, Native S3, Trino]",
        ),
        ({**payload("Native S3"), "autoBootstrap": True}, '"autoBootstrap" must be [false]'),
    ],
)
def test_400_payload_fails_validation(http: httpx.Client, body: dict[str, object], message: str) -> None:
    assert boom(http.post("/integrations", json=body)) == (400, "Bad Request", message)


# -- POST 409: natural key taken [doc + A9] ------------------------------------------------------------------


def test_409_snowflake_host_taken(http: httpx.Client) -> None:
    id_ = create(http, payload("Snowflake"))
    response = http.post("/integrations", json=payload("Snowflake", database="OTHER"))
    assert boom(response) == (
        409,
        "Conflict",
        f"Snowflake integration already exists on acme.us-east-1.snowflakecomputing.com (id = {id_}).",
    )


def test_409_other_types_alike(http: httpx.Client) -> None:
    create(http, payload("Snowflake"))
    create(http, payload("Snowflake", host="second.snowflakecomputing.com"))
    id_ = create(http, payload("Redshift"))
    response = http.post("/integrations", json=payload("Redshift", username="someone-else"))
    assert boom(response)[2] == (
        f"Redshift integration already exists on cluster.abc123.us-east-1.redshift.amazonaws.com/immuta_managed "
        f"(id = {id_})."
    )
    assert http.post("/integrations", json=payload("Redshift", database="another")).status_code == 200


# -- POST 422: prerequisites [doc] ---------------------------------------------------------------------------


def test_422_prerequisite_setup_not_run(serve: ServeFactory) -> None:
    _, http = serve(require_manual_setup=True)
    assert boom(http.post("/integrations", json=payload("Native S3"))) == (
        422,
        "Unprocessable Entity",
        "Validation of prerequisite setup failed. Unable to create integration.",
    )


def test_422_databricks_metastore(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults = Faults(rate_prerequisite_failure=1.0)
    response = http.post("/integrations", json=payload("Databricks"))
    assert boom(response) == (
        422,
        "Unprocessable Entity",
        "Processing Error: Error trying to get the current metastore info.",
    )


# -- PUT/DELETE 409 while transitional [A15] -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_409_while_transitional(serve: ServeFactory, method: str) -> None:
    _, http = serve(provisioning_seconds=60)
    id_ = create(http, payload("Databricks"))
    response = http.request(method, f"/integrations/{id_}", json=payload("Databricks") if method == "PUT" else None)
    # docs/immuta-api.md §9.5: the same text for both
    assert boom(response) == (409, "Conflict", f"Unable to edit integration with ID {id_} in current state creating.")


# -- PUT 422: immutable field [A13] --------------------------------------------------------------------------


def test_422_put_changes_an_immutable_field(http: httpx.Client) -> None:
    id_ = create(http, payload("Snowflake"))
    response = http.put(f"/integrations/{id_}", json=payload("Snowflake", database="RENAMED"))
    assert boom(response) == (
        422,
        "Unprocessable Entity",
        '"config.database" cannot be changed after the integration is created; '
        "delete and re-create the integration to change it.",
    )


# -- DELETE 400: credentials [doc + A16] ---------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["Snowflake", "Redshift", "Azure Synapse Analytics"])
def test_400_delete_auto_bootstrapped_without_credentials(http: httpx.Client, type_name: str) -> None:
    id_ = create(http, payload(type_name))
    assert boom(http.delete(f"/integrations/{id_}")) == (
        400,
        "Bad Request",
        "Integrations that are automatically configured require privileged credentials to disable. "
        "Please provide them in your payload.",
    )
    ok = http.request("DELETE", f"/integrations/{id_}", json=DELETE_CREDENTIALS[type_name])
    assert ok.status_code == 200


def test_400_delete_manual_integration_with_credentials(http: httpx.Client) -> None:
    id_ = create(http, {**payload("Snowflake"), "autoBootstrap": False})
    response = http.request("DELETE", f"/integrations/{id_}", json=DELETE_CREDENTIALS["Snowflake"])
    assert boom(response) == (
        400,
        "Bad Request",
        "Credentials are not required for disable unless the integration was configured automatically. "
        "If you need to update your integration credentials, use PUT to update the integration before disabling.",
    )
    assert http.delete(f"/integrations/{id_}").status_code == 200


def test_400_delete_databricks_with_credentials(http: httpx.Client) -> None:
    id_ = create(http, payload("Databricks"))
    response = http.request("DELETE", f"/integrations/{id_}", json={"token": "anything"})
    assert boom(response) == (
        400,
        "Bad Request",
        "Credentials are not required to disable a Databricks Unity Catalog integration. "
        "If you need to update your integration credentials, use PUT to update the integration before disabling.",
    )
    assert http.delete(f"/integrations/{id_}").status_code == 200


# -- docs/immuta-api.md §9: the third reading -------------------------------------------------------------------------


def test_400_put_of_a_non_editable_field_in_that_dialect(serve: ServeFactory) -> None:
    _, http = serve(dialect=Dialect.of({"immutable_change": "400"}))
    id_ = create(http, payload("Snowflake"))
    response = http.put(f"/integrations/{id_}", json=payload("Snowflake", database="RENAMED"))
    assert boom(response) == (
        400,
        "Bad Request",
        "Unable to edit integration due to changes of non-editable attribute(s).",  # §9.4
    )


def test_400_repeating_a_post_of_an_integration_stuck_in_create_error(serve: ServeFactory) -> None:
    sandbox, http = serve()
    id_ = create(http, payload("Snowflake"))
    sandbox.oob_set_status(id_, "createError")
    response = http.post("/integrations", json=payload("Snowflake"))
    assert boom(response) == (
        400,
        "Bad Request",
        f"Integration with ID {id_} failed to create (createError): use PUT /integrations/{id_} to repair it.",
    )
    assert http.put(f"/integrations/{id_}", json=payload("Snowflake")).status_code == 200  # §9.6: PUT repairs


@pytest.mark.parametrize(("conflict", "status"), [("host", 409), ("key", 200)])
def test_a_second_synapse_on_the_same_host(serve: ServeFactory, conflict: str, status: int) -> None:
    _, http = serve(dialect=Dialect.of({"synapse_conflict": conflict}))
    id_ = create(http, payload("Azure Synapse Analytics"))
    response = http.post("/integrations", json=payload("Azure Synapse Analytics", database="other_dw"))
    assert response.status_code == status
    if status == 409:  # §9.7: keyed on the host alone
        host = payload("Azure Synapse Analytics")["config"]["host"]  # type: ignore[index]
        assert boom(response)[2] == f"Azure Synapse Analytics integration already exists on {host} (id = {id_})."

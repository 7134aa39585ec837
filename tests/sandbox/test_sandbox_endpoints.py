"""Contract §2: one test per row of the endpoint table, against the simulator over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from sandbox_harness import FakeClock
from sandbox_testdata import DELETE_CREDENTIALS, payload

pytestmark = pytest.mark.e2e

INTEGRATION_FIELDS = ["id", "status", "validationResults", "type", "autoBootstrap", "config"]


def create(http: httpx.Client, body: dict[str, object]) -> str:
    response = http.post("/integrations", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_get_integrations_is_a_bare_array_of_integrations(http: httpx.Client) -> None:
    assert http.get("/integrations").json() == []
    first = create(http, payload("Snowflake"))
    second = create(http, payload("Redshift"))

    listed = http.get("/integrations").json()

    assert isinstance(listed, list)
    assert [item["id"] for item in listed] == [first, second]
    assert all(list(item) == INTEGRATION_FIELDS for item in listed)
    assert listed[0]["status"] == "enabled"


def test_post_integrations_answers_id_creating_and_validation_results(http: httpx.Client) -> None:
    response = http.post("/integrations", json=payload("Snowflake"))

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["id", "status", "validationResults"]
    assert body["id"] == "1"  # a string [A8]
    assert body["status"] == "creating"
    assert body["validationResults"]["status"] == "passed"
    assert all(test["status"] == "passed" for test in body["validationResults"]["validationTests"])


def test_ids_are_strings_of_increasing_integers(http: httpx.Client) -> None:
    ids = [create(http, payload("Snowflake", host=f"h{n}.snowflakecomputing.com")) for n in range(3)]
    assert ids == ["1", "2", "3"]


def test_get_one_integration_and_its_404(http: httpx.Client) -> None:
    id_ = create(http, payload("Snowflake"))

    body = http.get(f"/integrations/{id_}").json()

    assert list(body) == INTEGRATION_FIELDS
    assert body["id"] == id_
    assert body["type"] == "Snowflake"
    assert body["autoBootstrap"] is True
    assert body["config"]["database"] == "IMMUTA_PROD"
    missing = http.get("/integrations/5")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "error": "Not Found", "message": "No Integration found with ID 5."}


def test_put_updates_one_integration_whole_payload(http: httpx.Client) -> None:
    id_ = create(http, payload("Snowflake"))

    response = http.put(f"/integrations/{id_}", json=payload("Snowflake", warehouse="OTHER_WH"))

    assert response.status_code == 200
    assert response.json()["status"] == "editing"  # [A4]
    after = http.get(f"/integrations/{id_}").json()
    assert after["status"] == "enabled"
    assert after["config"]["warehouse"] == "OTHER_WH"


def test_put_can_rotate_credentials(http: httpx.Client) -> None:
    id_ = create(http, payload("Snowflake"))
    response = http.put(f"/integrations/{id_}", json=payload("Snowflake", password="rotated-value"))
    assert response.status_code == 200
    assert "rotated-value" not in response.text


def test_delete_answers_deleting_then_the_integration_is_gone(http: httpx.Client) -> None:
    id_ = create(http, payload("Snowflake"))

    response = http.request("DELETE", f"/integrations/{id_}", json=DELETE_CREDENTIALS["Snowflake"])

    assert response.status_code == 200
    assert response.json()["status"] == "deleting"  # [A5]
    assert http.get("/integrations").json() == []
    missing = http.delete("/integrations/5")
    assert missing.status_code == 404
    assert missing.json()["message"] == "No integration found with ID 5."


def test_get_status_answers_id_status_and_validation_results(http: httpx.Client) -> None:
    id_ = create(http, payload("Databricks"))

    body = http.get(f"/integrations/{id_}/status").json()

    assert tuple(body) == ("id", "status", "validationResults")  # [A6]
    assert body["id"] == id_
    assert body["status"] == "enabled"
    assert http.get("/integrations/5/status").status_code == 404


def test_regenerate_answers_the_integration(http: httpx.Client) -> None:
    id_ = create(http, payload("Snowflake"))

    response = http.post(f"/integrations/{id_}/regenerate")

    assert response.status_code == 200
    assert response.json()["id"] == id_
    assert http.post("/integrations/5/regenerate").json()["message"] == "No Integration found with ID 5."


def test_create_script_is_text_naming_the_platform_resources(http: httpx.Client) -> None:
    body = payload("Snowflake")
    body["autoBootstrap"] = False

    response = http.post("/integrations/scripts/create", json=body)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"  # [A7]
    assert '"IMMUTA_PROD"' in response.text
    assert "IMMUTA_WH" in response.text


def test_edit_script_of_an_existing_integration(http: httpx.Client) -> None:
    id_ = create(http, payload("Databricks"))

    response = http.post(f"/integrations/{id_}/scripts/edit", json=payload("Databricks"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"  # [A7]
    assert "immuta_catalog" in response.text
    assert http.post("/integrations/5/scripts/edit").status_code == 404


def test_delete_script_of_an_existing_integration_takes_no_body(http: httpx.Client) -> None:
    id_ = create(http, payload("Azure Synapse Analytics"))

    response = http.post(f"/integrations/{id_}/scripts/delete")

    assert response.status_code == 200
    assert "DROP SCHEMA IF EXISTS [immuta]" in response.text
    assert http.post("/integrations/5/scripts/delete").status_code == 404


def test_cleanup_script_after_a_failed_create(http: httpx.Client) -> None:
    response = http.post("/integrations/scripts/cleanup", json=payload("Redshift"))

    assert response.status_code == 200
    assert 'DROP DATABASE IF EXISTS "immuta_managed"' in response.text


@pytest.mark.parametrize("type_name", ["Azure Synapse Analytics", "Redshift"])
def test_initial_create_script_for_synapse_and_redshift(http: httpx.Client, type_name: str) -> None:
    body = payload(type_name)
    body["autoBootstrap"] = False

    response = http.post("/integrations/scripts/initial-create", json=body)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"  # [A7]
    assert "CREATE" in response.text


def test_initial_create_script_is_refused_for_other_types(http: httpx.Client) -> None:
    body = payload("Snowflake")
    body["autoBootstrap"] = False
    response = http.post("/integrations/scripts/initial-create", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "The initial-create script is only available for Azure Synapse Analytics and Redshift integrations."
    )


def test_post_cleanup_script_for_synapse(http: httpx.Client) -> None:
    response = http.post("/integrations/scripts/post-cleanup", json=payload("Azure Synapse Analytics"))

    assert response.status_code == 200
    assert "DROP LOGIN [sqladmin]" in response.text
    assert http.post("/integrations/scripts/post-cleanup", json=payload("Redshift")).status_code == 400


def test_unknown_route_is_a_boom_404(http: httpx.Client) -> None:
    response = http.get("/v1/integrations")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found", "message": "Not Found"}


def test_wrong_method_on_a_known_route_is_a_boom_405(http: httpx.Client) -> None:
    response = http.patch("/integrations/1")
    assert response.status_code == 405
    assert response.json() == {"statusCode": 405, "error": "Method Not Allowed", "message": "Method Not Allowed"}
    assert response.headers["allow"] == "GET, PUT, DELETE"
    assert http.get("/integrations/scripts/create").status_code == 405


def test_yaml_bodies_are_accepted(http: httpx.Client) -> None:
    yaml_body = "type: Trino\n"
    response = http.post("/integrations", content=yaml_body, headers={"content-type": "application/yaml"})
    assert response.status_code == 200, response.text
    assert http.get("/integrations/1").json()["type"] == "Trino"


def test_trino_is_answered_without_autobootstrap_and_config(http: httpx.Client) -> None:
    id_ = create(http, {"type": "Trino"})
    assert list(http.get(f"/integrations/{id_}").json()) == ["id", "status", "validationResults", "type"]


def test_query_strings_are_ignored(http: httpx.Client, clock: FakeClock) -> None:
    create(http, payload("Snowflake"))
    assert len(http.get("/integrations", params={"page": 2}).json()) == 1

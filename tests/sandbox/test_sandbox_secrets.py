"""Secrets are write-only [A10]: accepted, never answered, never persisted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_harness import KEY, Call, FakeClock, make_call
from sandbox_testdata import DELETE_CREDENTIALS, SECRETS, TYPES, payload

from reconciler.sandbox import Sandbox
from reconciler.validation.schema import load


def test_no_answer_and_no_state_file_ever_holds_a_secret(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "tenant.json"
    call = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))
    texts: list[str] = []
    for type_name in TYPES:
        body = payload(type_name)
        texts.append(call("POST", "/integrations/scripts/create", {**body, "autoBootstrap": False}).text)
        texts.append(call("POST", "/integrations/scripts/cleanup", body).text)
        texts.append(call("POST", "/integrations", body).text)
        texts.append(call("POST", "/integrations", body).text)  # 409
    texts.append(call("GET", "/integrations").text)
    for id_, type_name in enumerate(TYPES, start=1):
        texts.append(call("GET", f"/integrations/{id_}").text)
        texts.append(call("GET", f"/integrations/{id_}/status").text)
        texts.append(call("POST", f"/integrations/{id_}/scripts/edit", payload(type_name)).text)
        texts.append(call("POST", f"/integrations/{id_}/scripts/delete").text)
        if type_name != "Trino":
            texts.append(call("PUT", f"/integrations/{id_}", payload(type_name)).text)
        texts.append(call("DELETE", f"/integrations/{id_}", DELETE_CREDENTIALS.get(type_name)).text)
    texts.append(state.read_text())
    everything = "\n".join(texts)
    for secret in SECRETS.values():
        assert secret not in everything


@pytest.mark.parametrize("type_name", [t for t in TYPES if t != "Trino"])
def test_config_holds_no_write_only_field(call: Call, type_name: str) -> None:
    call("POST", "/integrations", payload(type_name))
    config = call("GET", "/integrations/1").json["config"]
    secret_paths = load().types[type_name].secret_paths
    assert secret_paths
    for path in secret_paths:
        node = config
        for part in path[1:-1]:
            node = node.get(part, {})
        assert path[-1] not in node


def test_non_secret_parts_of_an_object_with_secrets_are_kept(call: Call) -> None:
    key = {"keyName": "PRIV_KEY_FILE", "userFilename": "rsa_key.p8", "content": "-----BEGIN PRIVATE KEY-----xyz"}
    body = payload("Snowflake", authenticationType="keyPair", password=None, privateKey=key)
    call("POST", "/integrations", body)
    answer = call("GET", "/integrations/1")
    assert answer.json["config"]["privateKey"] == {"keyName": "PRIV_KEY_FILE", "userFilename": "rsa_key.p8"}
    assert "BEGIN PRIVATE KEY" not in answer.text

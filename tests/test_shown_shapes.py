"""A secret given in the wrong shape is still a secret (issue 19: the shown-values gate where validation and
Immuta's answers meet it). The likeliest mistake with a Snowflake key pair is `privateKey: |` followed by the
PEM, where the schema wants `privateKey: {content: …}`: the message must say what is wrong without printing
the key into a CI log or a pull request's annotations. Immuta answering such a field in another shape is
shown no more than a secret either."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.shown import shown, shown_at
from reconciler.validation.schema import load

RunCli = Callable[..., Any]
PEM = "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAAS-----END PRIVATE KEY-----"
SNOWFLAKE = """type: Snowflake
autoBootstrap: true
config:
  host: acme.us-east-1.snowflakecomputing.com
  warehouse: IMMUTA_WH
  database: IMMUTA_PROD
  authenticationType: keyPair
  username: IMMUTA_BOOTSTRAP
  role: ACCOUNTADMIN
"""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"privateKey: {PEM}", "10:3: $.config.privateKey: must be a mapping, not a string"),
        (f"privateKey: [{{content: {PEM}}}]", "10:3: $.config.privateKey: must be a mapping, not a list"),
        (
            "privateKey: {keyName: PRIV_KEY_FILE, userFilename: k.p8, content: '${env:SF_KEY}'}\n"
            f"  oAuthClientConfig: [{PEM}]",
            "11:3: $.config.oAuthClientConfig: must be a mapping, not a list",
        ),
    ],
    ids=["pem-as-string", "list-of-objects", "list"],
)
def test_a_secret_in_the_wrong_shape_is_never_quoted_by_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli, line: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "sf.yaml").write_text(SNOWFLAKE + f"  {line}\n", encoding="utf-8")

    result = run_cli("validate")

    assert result.stdout == f"integrations.d/sf.yaml:{message}\n"
    assert result.stderr == "1 file(s), 1 integration(s): invalid (1 error(s), 0 warning(s))\n"
    assert result.exit_code == 1
    assert "PRIVATE KEY" not in result.stdout + result.stderr


@pytest.mark.parametrize("value", [PEM, [PEM], [{"content": PEM}]], ids=["string", "list", "list-of-objects"])
def test_a_field_holding_secrets_answered_in_another_shape_is_shown_as_a_secret(value: Any) -> None:
    snowflake = load().types["Snowflake"]

    assert shown_at(snowflake, ("config", "privateKey"), value) == "(secret)"
    view = shown(snowflake, {"type": "Snowflake", "config": {"host": "h", "privateKey": value}})
    assert view == {"type": "Snowflake", "config": {"host": "h", "privateKey": "(secret)"}}

"""The README's examples are files users copy: each one that declares an integration must validate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
INTEGRATION_BLOCKS = [b for b in BLOCKS if "type" in (next(yaml.safe_load_all(b), None) or {})]


def test_the_readme_shows_every_type() -> None:
    types = {doc["type"] for block in INTEGRATION_BLOCKS for doc in yaml.safe_load_all(block)}
    assert types == {
        "Snowflake",
        "Databricks",
        "Redshift",
        "Azure Synapse Analytics",
        "Google BigQuery",
        "Native S3",
        "Trino",
    }


@pytest.mark.parametrize("block", INTEGRATION_BLOCKS, ids=lambda b: b.split("\n")[0][:40])
def test_readme_example_validates(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "example.yaml").write_text(block, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--strict", "example.yaml"])

    out, _ = capsys.readouterr()
    assert (exit_info.value.code, out) == (0, "")

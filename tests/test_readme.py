"""The README and docs/ are what users copy: the two opening commands work as printed, every example that
declares an integration validates, the adopter's path comes first, and every link between them resolves."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
TEXT = README.read_text(encoding="utf-8")
BLOCKS = [b for page in [README, *DOCS] for b in re.findall(r"```yaml\n(.*?)```", page.read_text("utf-8"), re.S)]
INTEGRATION_BLOCKS = [b for b in BLOCKS if "type" in (next(yaml.safe_load_all(b), None) or {})]
SH_BLOCKS = re.findall(r"```sh\n(.*?)```", TEXT, re.S)


def test_the_docs_show_every_type() -> None:
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
def test_a_documented_example_validates(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "example.yaml").write_text(block, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--strict", "example.yaml"])

    out, _ = capsys.readouterr()
    assert (exit_info.value.code, out) == (0, "")


def test_the_readme_opens_with_the_two_commands() -> None:
    assert SH_BLOCKS[0].strip() == (
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/reconciler validate"
        " && .venv/bin/reconciler plan --sandbox && .venv/bin/reconciler apply --sandbox --auto-approve"
        " && .venv/bin/reconciler plan --sandbox --detailed-exitcode"
    )
    assert SH_BLOCKS[1].strip() == (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q -n auto"
    )
    assert TEXT.index(SH_BLOCKS[1]) < TEXT.index("\n## ")


def test_the_main_job_runs_as_printed(tmp_path: Path) -> None:
    """The first command after its install step, in a fresh copy of the repository's files: every step exits 0,
    and the last plan (--detailed-exitcode) finds nothing left to do."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    steps = SH_BLOCKS[0].strip().split(" && ")
    assert steps[:2] == ["python3 -m venv .venv", ".venv/bin/pip install -q ."]
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMMUTA_")}
    for command in steps[2:]:
        words = shlex.split(command)
        assert words[0] == ".venv/bin/reconciler"
        result = subprocess.run(
            [str(bin_dir / "reconciler"), *words[1:]],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)


def test_the_adopters_path_comes_first_and_the_readme_stays_short() -> None:
    headings = re.findall(r"^(#{2,3}) (.+)$", TEXT, re.M)
    names = [name for _, name in headings]
    assert names[:9] == [
        "Contents",
        "Use it in your repository",
        "Install",
        "Files",
        "Secrets",
        "Workflows",
        "pre-commit",
        "GitHub Enterprise Server",
        "Shell completion",
    ]
    assert len(TEXT.splitlines()) <= 300
    assert "git+https://github.com/OWNER/reconciler@<sha>" in TEXT
    assert "_RECONCILER_COMPLETE=bash_source reconciler" in TEXT
    assert "```\n.reconciler/\n```" in TEXT


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation other than - and _ dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"https?://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if linked.name == "immuta-api.md" and not linked.exists():
            continue  # copied into docs/ by another change
        assert linked.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in _anchors(linked), f"{page.name}: {target}"


def test_the_shell_completion_works_as_printed() -> None:
    reconciler = Path(sys.executable).parent / "reconciler"
    env = {**os.environ, "_RECONCILER_COMPLETE": "bash_source"}
    result = subprocess.run([str(reconciler)], check=False, env=env, capture_output=True, text=True)
    assert result.returncode == 0
    assert "complete -o nosort -F _reconciler_completion reconciler" in result.stdout

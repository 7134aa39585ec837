"""One escaper per medium (issue 19.7): names and keys from files or from Immuta holding newlines, `::error::`,
`</details>`, another environment's `<!-- reconciler … -->` marker, backticks, pipes and ESC sequences forge
nothing in the terminal, the CI log, the PR comment or the step summary."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.client.answers import message
from reconciler.client.wire import Answer
from reconciler.render import escape
from reconciler.sandbox.api import Sandbox

REPO = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
STATE = ".reconciler/sandbox.json"
EVIL = "lake\n::error::forged</details><!-- reconciler-plan:prod -->`x`|\x1b[2J"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "integrations.d").mkdir()
    shutil.copy(REPO / "integrations.d" / "trino.yaml", tmp_path / "integrations.d" / "trino.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    Sandbox(state_file=str(tmp_path / STATE)).oob_add(
        {"type": "Native S3", "autoBootstrap": False, "config": {
            "name": EVIL, "awsAccountId": "123456789012", "awsRegion": "us-east-1",
            "awsLocationRole": "arn:aws:iam::123456789012:role/loc", "awsLocationPath": "s3://b/",
            "authenticationType": "auto", "awsRoleToAssume": "arn:aws:iam::123456789012:role/assume"}}
    )  # fmt: skip
    yield tmp_path


def no_forged_lines(text: str) -> None:
    for line in text.splitlines():
        assert not line.lstrip().startswith("::") or line.startswith(("::error file=", "::warning file=")), line
        assert "##[" not in line


def test_a_server_name_is_one_escaped_line_in_the_terminal(repo: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", "--sandbox")

    assert result.exit_code == 0
    assert (
        "  ? Native S3[name=lake\\n::error::forged</details><!-- reconciler-plan:prod -->`x`|\\x1b[2J]  (id 1)"
        " — no file declares it (use --prune to delete)\n"
    ) in result.stdout
    assert "\x1b" not in result.stdout
    no_forged_lines(result.stdout)


def test_a_server_name_cannot_break_the_pr_comment(repo: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", "--sandbox", "--format", "markdown")

    comment = result.stdout
    assert (
        "| ? | orphan | `` Native S3[name=lake\\n::error::forged</details>&lt;!-- reconciler-plan:prod -->`x`\\|"
        "\\x1b[2J] `` — no file declares it (use --prune to delete) |  |  |\n"
    ) in comment
    assert comment.count("<!--") == 1 and comment.startswith("<!-- reconciler-plan -->\n")
    assert "\n</details>" not in comment and "\n<details>" not in comment  # the name is inside a code span
    assert "\x1b" not in comment
    no_forged_lines(comment)


def test_a_server_name_cannot_take_over_the_drift_issue(repo: Path, run_cli: RunCli) -> None:
    result = run_cli("drift", "--sandbox", "--format", "markdown")

    body = result.stdout
    assert body.count("<!--") == 1 and body.startswith("<!-- reconciler-drift -->\n")
    assert "&lt;!-- reconciler-plan:prod --&gt;" in body or "&lt;!-- reconciler-plan:prod -->" in body
    assert "\x1b" not in body
    no_forged_lines(body)


def test_the_step_summary_holds_one_marker_and_no_forged_html(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(repo / "summary.md"))

    result = run_cli("plan", "--sandbox")

    summary = (repo / "summary.md").read_text(encoding="utf-8")
    assert result.exit_code == 0
    assert summary.count("<!--") == 1
    assert "</details><!--" not in summary
    no_forged_lines(result.stdout + result.stderr)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("bad\n::error::forged <details><!-- reconciler-plan -->.yaml", "bad\\n::error::forged"),
        ("::error::forged.yaml", "\\x3a:error::forged.yaml"),
        ("##[error]forged.yaml", "##\\x5berror]forged.yaml"),
    ],
    ids=["newline", "line-start", "old-style"],
)
def test_a_file_name_cannot_forge_a_workflow_command(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, name: str, shown: str
) -> None:
    (tmp_path / name).write_text("type: Trino\nbogus: 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    result = run_cli("validate", ".")

    assert result.exit_code == 1
    assert result.stdout.startswith(shown)
    no_forged_lines(result.stdout + result.stderr)
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=" + escape.workflow_property(name) + ",line=2,col=1,")


def test_immutas_message_is_one_line_whatever_it_holds() -> None:
    body = b'{"statusCode": 422, "message": "bad\\n::error::forged\\u001b[31m"}'
    answer = Answer(422, "Unprocessable", {"content-type": "application/json"}, body)

    assert message(answer, frozenset()) == "bad\\n::error::forged\\x1b[31m"


# -- the escapers themselves -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x9b2J", "\\x9b2J"),  # the one-byte CSI
        ("invoice\u202egnp.exe", "invoice\\u202egnp.exe"),  # right-to-left override
        ("  ::set-output name=a::b", "  \\x3a:set-output name=a::b"),
        ("a ::error:: in the middle", "a ::error:: in the middle"),
        ("x ##[error]y", "x ##\\x5berror]y"),
        ("plain café", "plain café"),
    ],
)
def test_terminal(raw: str, shown: str) -> None:
    assert escape.terminal(raw) == shown


def test_terminal_lines_keeps_our_newlines_and_escapes_a_command_on_any_line() -> None:
    assert (
        escape.terminal_lines("GET /x: failed\n::error::no\n  hint\x07")
        == "GET /x: failed\n\\x3a:error::no\n  hint\\x07"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a|b", "a\\|b"),
        ("</details><details>", "&lt;/details&gt;&lt;details&gt;"),
        ("<!-- reconciler-plan -->", "&lt;!-- reconciler-plan --&gt;"),
        ("`code` *bold* _it_ [link](x) ~~s~~", "\\`code\\` \\*bold\\* \\_it\\_ \\[link\\](x) \\~\\~s\\~\\~"),
        ("two\nlines", "two\\\\nlines"),
    ],
)
def test_markdown(raw: str, shown: str) -> None:
    assert escape.markdown(raw) == shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "`plain`"),
        ("a`b", "`` a`b ``"),
        ("a``b`", "``` a``b` ```"),
        ("a|b\nc", "`a\\|b\\nc`"),
        ("x<!-- reconciler-plan -->", "`x&lt;!-- reconciler-plan -->`"),
        ("", "`  `"),
    ],
)
def test_markdown_code(raw: str, shown: str) -> None:
    assert escape.markdown_code(raw) == shown


def test_html_block() -> None:
    assert escape.html_block('</details><b a="1">\n') == "&lt;/details&gt;&lt;b a=&quot;1&quot;&gt;\\n"


def test_workflow_command_values_are_one_line() -> None:
    assert escape.workflow_data("50%\r\n::error::x") == "50%25%0D%0A::error::x"
    assert escape.workflow_property("a,b:c\nd") == "a%2Cb%3Ac%0Ad"


def test_no_comment_can_open() -> None:
    assert escape.without_comment_markers("x <!-- reconciler-plan --> y") == "x &lt;!-- reconciler-plan --> y"


def test_a_key_written_in_a_file_forges_nothing_in_plan_apply_or_the_comment(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "integrations.d").mkdir()
    text = (REPO / "integrations.d" / "s3-datalake.yaml").read_text(encoding="utf-8")
    name = '"lake\\n::error::forged</details><!-- reconciler-plan:prod -->`x`|"'
    (tmp_path / "integrations.d" / "s3.yaml").write_text(
        text.replace("  name: datalake-prod ", f"  name: {name} "), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("S3_IMMUTA_ACCESS_KEY_ID", "AKIA-escape-test")
    monkeypatch.setenv("S3_IMMUTA_SECRET_ACCESS_KEY", "escape-test-secret")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    shown = "Native S3[name=lake\\n::error::forged</details><!-- reconciler-plan:prod -->`x`|]"

    comment = run_cli("plan", "--sandbox", "--format", "markdown").stdout
    applied = run_cli("apply", "--sandbox", "--auto-approve")

    assert f"  ok      create {shown} (id 1)\n" in applied.stdout
    assert applied.exit_code == 0
    no_forged_lines(applied.stdout + applied.stderr)
    assert comment.count("<!--") == 1 and "\n</details>" not in comment
    assert (
        "| + | create | `` Native S3[name=lake\\n::error::forged</details>&lt;!-- reconciler-plan:prod -->`x`\\|] `` "
    ) in comment
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").count("<!--") == 1

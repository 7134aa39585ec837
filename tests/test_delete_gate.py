"""One delete gate (issue 19, item 4; issue 20's surviving mutants): every delete or replace, whatever asked
for it, is refused by planning/gate.py at plan time (exit 3, the reason shown) and at apply (exit 3,
nothing written). Each case checks the tenant afterwards."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.api import Sandbox

STATE = "state.json"
SANDBOX = ("--sandbox", "--sandbox-state", STATE)
GATE = "refused: the plan was refused by a safety gate; nothing was changed:\n"
RunCli = Callable[..., Any]


def lake(name: str, *, lifecycle: str = "", port: str = "", bucket: str = "lake") -> str:
    return f"""\
type: Native S3
autoBootstrap: false
config:
  name: {name}
  awsAccountId: "123456789012"
  awsRegion: us-east-1
  awsLocationRole: arn:aws:iam::123456789012:role/immuta-access-grants-location
  awsLocationPath: s3://{bucket}/
  authenticationType: auto
  awsRoleToAssume: arn:aws:iam::123456789012:role/immuta
{port}{lifecycle}"""


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")


def records(tenant: Sandbox) -> str:
    return json.dumps(sorted(tenant.list_integrations(), key=lambda r: str(r["id"])), sort_keys=True)


def names(tenant: Sandbox) -> list[str]:
    return sorted(r["config"]["name"] for r in tenant.list_integrations() if r["type"] == "Native S3")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """A sandbox holding the lake `datalake-old` from integrations.d/lake.yaml, and Trino."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "integrations.d/lake.yaml", lake("datalake-old"))
    write(tmp_path, "integrations.d/trino.yaml", "type: Trino\n")
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    return Sandbox(state_file=str(tmp_path / STATE))


def refused(run_cli: RunCli, tenant: Sandbox, args: tuple[str, ...], *reasons: str) -> None:
    before = records(tenant)
    listed = "".join(f"  {r}\n" for r in reasons)
    applied = run_cli("apply", *SANDBOX, "--auto-approve", *args)
    assert (applied.exit_code, applied.stdout, applied.stderr) == (3, "", GATE + listed)
    planned = run_cli("plan", *SANDBOX, *args)
    assert planned.exit_code == 3
    assert planned.stdout.endswith("\nRefused by a safety gate: apply would change nothing.\n" + listed)
    assert planned.stderr == "refused: a safety gate refuses this plan; apply would change nothing:\n" + listed
    as_json = run_cli("plan", *SANDBOX, *args, "--format", "json")
    assert (as_json.exit_code, json.loads(as_json.stdout)["refused"]) == (3, list(reasons))
    as_markdown = run_cli("plan", *SANDBOX, *args, "--format", "markdown")
    assert as_markdown.exit_code == 3
    assert "> [!CAUTION]\n> **Refused by a safety gate: merging applies nothing until this is fixed.**\n" in (
        as_markdown.stdout
    )
    assert records(tenant) == before


# -- only --prune deletes an orphan ----------------------------------------------------------------------


def test_previously_in_a_new_file_deletes_an_orphan_only_with_prune(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "integrations.d/lake.yaml").unlink()
    write(
        tmp_path,
        "integrations.d/new.yaml",
        lake("datalake-new", lifecycle="lifecycle:\n  previously: {name: datalake-old}\n"),
    )
    refused(
        run_cli,
        tenant,
        (),
        "Native S3[name=datalake-new] (integrations.d/new.yaml:4): lifecycle.previously in integrations.d/new.yaml "
        "names Native S3[name=datalake-old], which no file on the base revision declared: replacing it would "
        "delete an integration no file declares, which only --prune does; re-run with --prune if that is intended",
    )
    result = run_cli("apply", *SANDBOX, "--auto-approve", "--prune")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert names(tenant) == ["datalake-new"]


# -- renames stay renames under --target -----------------------------------------------------------------


def test_a_refused_rename_under_target_is_not_a_create_beside_the_original(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    protect = "lifecycle:\n  preventDestroy: true\n  previously: {name: datalake-old}\n"
    write(tmp_path, "integrations.d/lake.yaml", lake("datalake-new", lifecycle=protect))
    reason = (
        "Native S3[name=datalake-new] (integrations.d/lake.yaml:4): lifecycle.preventDestroy forbids replace "
        "(renamed from Native S3[name=datalake-old] (lifecycle.previously in integrations.d/lake.yaml): delete, "
        "then create); remove preventDestroy from the file first"
    )
    refused(run_cli, tenant, ("--prune",), reason)
    refused(run_cli, tenant, ("--prune", "--target", "integrations.d/lake.yaml")[1:], reason)
    assert names(tenant) == ["datalake-old"]


# -- --prune runs over the whole declared desired state --------------------------------------------------


def test_prune_over_a_folder_no_root_declares_is_refused(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "infra/immuta/trino.yaml", "type: Trino\n")
    before = records(tenant)
    for command in (("plan",), ("apply", "--auto-approve", "--force")):
        result = run_cli(*command, *SANDBOX, "--prune", "infra/immuta/")
        assert (result.exit_code, result.stdout) == (64, "")
        assert result.stderr.endswith(
            "Error: --prune deletes what no file declares, so it runs only over the declared desired state "
            "(integrations.d); infra/immuta/ is not declared: declare it in an environment file's `paths` "
            "(environments/NAME.yaml, then --env NAME), or drop --prune\n"
        )
    assert records(tenant) == before


def test_prune_through_a_link_is_judged_by_where_it_leads(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "whole").symlink_to("integrations.d")
    assert run_cli("plan", *SANDBOX, "--prune", "whole", "--detailed-exitcode").exit_code == 0
    (tmp_path / "integrations.d/more").mkdir()
    (tmp_path / "integrations.d/lake.yaml").rename(tmp_path / "integrations.d/more/lake.yaml")
    (tmp_path / "part").symlink_to("integrations.d/more")
    before = records(tenant)
    result = run_cli("apply", *SANDBOX, "--auto-approve", "--prune", "--force", "part")
    assert (result.exit_code, result.stdout) == (64, "")
    assert result.stderr.endswith(
        "Error: --prune deletes what no file declares, so it needs the whole desired state (integrations.d), not "
        "part of it (part): drop --prune, or give integrations.d\n"
    )
    assert records(tenant) == before


# -- declared anywhere, never pruned ---------------------------------------------------------------------


@pytest.fixture
def environments(tenant: Sandbox, tmp_path: Path) -> Path:
    """dev reads integrations.d; prod reads it and prod.d, which declares the lake the tenant holds."""
    (tmp_path / "integrations.d/lake.yaml").rename(tmp_path / "prod.d-lake.yaml")
    write(tmp_path, "prod.d/lake.yaml", (tmp_path / "prod.d-lake.yaml").read_text())
    (tmp_path / "prod.d-lake.yaml").unlink()
    write(tmp_path, "environments/dev.yaml", "url: https://dev.example.invalid\npaths: [integrations.d]\n")
    write(tmp_path, "environments/prod.yaml", "url: https://prod.example.invalid\npaths: [integrations.d, prod.d]\n")
    return tmp_path


def test_an_integration_another_environment_declares_is_never_pruned(
    environments: Path, tenant: Sandbox, run_cli: RunCli
) -> None:
    reason = (
        "Native S3[name=datalake-old]: prod.d/lake.yaml declares it, so it is never deleted as undeclared (pruned: "
        "no file declares it); remove it from that file in a reviewed change first"
    )
    refused(run_cli, tenant, ("--env", "dev", "--prune"), reason)
    comment = run_cli("plan", *SANDBOX, "--env", "dev", "--prune", "--format", "markdown").stdout
    assert comment.startswith("<!-- reconciler-plan -->\n### reconciler plan: dev · `sandbox://")
    assert comment[comment.index("\n\n") :].startswith(
        "\n\n**Plan: 0 to create, 0 to update, 0 to replace, 1 to "
        "delete, 1 unchanged.**\n\n> [!CAUTION]\n> **Refused by a safety gate: merging applies nothing until this "
        "is fixed.**\n> - Native S3\\[name=datalake-old\\]: prod.d/lake.yaml declares it, so it is never deleted "
        "as undeclared (pruned: no file declares it); remove it from that file in a reviewed change first\n\n"
    )


def test_a_refusal_cannot_forge_the_comment() -> None:
    """A reason carries names from files and the server: in the comment it is one escaped list item."""
    from reconciler.planning.plan import Plan
    from reconciler.render import registry

    forged = "x <!-- reconciler-plan --> </details>\n### Plan: 0 to delete"
    plan = Plan(changes=(), target="t", prune=False, desired_digest="", schema_version="", tool_version="")
    shown = registry.PLAN["markdown"](dataclasses.replace(plan, refused=(forged,)), registry.Context())
    assert "> - x &lt;!-- reconciler-plan --&gt; &lt;/details&gt;\\\\n### Plan: 0 to delete\n" in shown
    assert shown.count("<!-- reconciler-plan -->") == 1


def test_an_integration_another_environment_declares_is_never_renamed_away(
    environments: Path, tenant: Sandbox, run_cli: RunCli
) -> None:
    previously = "lifecycle:\n  previously: {name: datalake-old}\n"
    write(environments, "integrations.d/new.yaml", lake("datalake-new", lifecycle=previously, bucket="new"))
    refused(
        run_cli,
        tenant,
        ("--env", "dev", "--prune"),
        "Native S3[name=datalake-old]: prod.d/lake.yaml declares it, so it is never deleted as undeclared (renamed "
        "from Native S3[name=datalake-old] (lifecycle.previously in integrations.d/new.yaml): delete, then create); "
        "remove it from that file in a reviewed change first",
    )


def test_a_declared_file_that_cannot_be_read_stops_the_prune(
    environments: Path, tenant: Sandbox, run_cli: RunCli
) -> None:
    write(environments, "prod.d/broken.yaml", "type: [Trino\n")
    (environments / "prod.d/lake.yaml").unlink()
    refused(
        run_cli,
        tenant,
        ("--env", "dev", "--prune"),
        "--prune cannot tell what every file of the desired state declares, so it deletes nothing: "
        "prod.d/broken.yaml:1:7: YAML syntax error: the [ opened here is never closed (reached the end of the file)",
    )


# -- issue 20's surviving mutants ------------------------------------------------------------------------


def test_prune_never_deletes_what_a_protected_file_says_it_was(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    """Immuta holds both the old and the new name: the old one is not renamed but pruned, and the file that
    says it was the old one, protected, protects it."""
    write(tmp_path, "integrations.d/new.yaml", lake("datalake-new", bucket="other"))
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    (tmp_path / "integrations.d/lake.yaml").unlink()
    protect = "lifecycle:\n  preventDestroy: true\n  previously: {name: datalake-old}\n"
    write(tmp_path, "integrations.d/new.yaml", lake("datalake-new", lifecycle=protect, bucket="other"))
    refused(
        run_cli,
        tenant,
        ("--prune",),
        "Native S3[name=datalake-old]: lifecycle.preventDestroy in integrations.d/new.yaml (lifecycle.previously) "
        "forbids delete (pruned: no file declares it); lift the protection in a reviewed change of its own first",
    )
    assert names(tenant) == ["datalake-new", "datalake-old"]


REDSHIFT = """\
type: Redshift
autoBootstrap: true
config:
  host: warehouse.example.us-east-1.redshift.amazonaws.com
  port: 5439
  database: {database}
  initialDatabase: dev
  authenticationType: userPassword
  username: immuta_bootstrap
  password: ${{env:REDSHIFT_PASSWORD}}
{lifecycle}"""


def test_previously_naming_one_field_of_a_two_field_key_is_a_rename(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDSHIFT_PASSWORD", "s3cret-bootstrap")
    write(tmp_path, "integrations.d/redshift.yaml", REDSHIFT.format(database="sales", lifecycle=""))
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    renamed = REDSHIFT.format(database="sales_v2", lifecycle="lifecycle:\n  previously: {database: sales}\n")
    write(tmp_path, "integrations.d/redshift.yaml", renamed)
    planned = run_cli("plan", *SANDBOX, "--prune")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert (
        "  -/+ Redshift[host=warehouse.example.us-east-1.redshift.amazonaws.com,database=sales_v2]  (id 3, "
        "integrations.d/redshift.yaml:4) — renamed from Redshift[host=warehouse.example.us-east-1.redshift."
        "amazonaws.com,database=sales] (lifecycle.previously in integrations.d/redshift.yaml): delete, then create\n"
    ) in planned.stdout
    assert "\nPlan: 0 to create, 0 to update, 1 to replace, 0 to delete, 2 unchanged.\n" in planned.stdout
    applied = run_cli("apply", *SANDBOX, "--auto-approve", "--prune")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    held = [r["config"]["database"] for r in tenant.list_integrations() if r["type"] == "Redshift"]
    assert held == ["sales_v2"]


def test_an_id_changed_since_the_saved_plan_is_named(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "integrations.d/lake.yaml", lake("datalake-old").replace("us-east-1\n", "us-west-2\n", 1))
    saved = run_cli("plan", *SANDBOX, "--out", "reviewed.plan")
    assert saved.exit_code == 0, saved.stderr
    held = next(r for r in tenant.list_integrations() if r["type"] == "Native S3")
    tenant.oob_remove(held["id"])
    again = tenant.oob_add({k: v for k, v in held.items() if k in ("type", "autoBootstrap", "config")})
    before = records(tenant)
    result = run_cli("apply", *SANDBOX, "reviewed.plan")
    assert (result.exit_code, result.stdout) == (3, "")
    assert f"Native S3[name=datalake-old]: the plan was for id {held['id']}, Immuta now holds id {again}\n" in (
        result.stderr
    )
    assert records(tenant) == before
    assert os.path.exists("reviewed.plan")


def test_plan_refuses_the_blast_radius_apply_refuses_unless_forced(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    for n in range(1, 5):
        write(tmp_path, f"integrations.d/lake{n}.yaml", lake(f"lake-{n}", bucket=f"bucket-{n}"))
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    (tmp_path / "integrations.d/lake1.yaml").unlink()
    (tmp_path / "integrations.d/lake2.yaml").unlink()
    refused(
        run_cli,
        tenant,
        ("--prune",),
        "the plan deletes or replaces 2 of 6 managed integrations, more than 30%; re-run with --force if that is "
        "intended",
    )
    assert run_cli("plan", *SANDBOX, "--prune", "--force", "--detailed-exitcode").exit_code == 2

"""Manual bootstrap: the platform scripts a DBA runs for integrations with `autoBootstrap: false`, and the
cleanup script for any integration whose create failed (`createError`).

For every planned write of such an integration, fetch Immuta's script(s) in the order they must run and
write them as owner-only files (scripts may embed credentials) with a README that says what to run where
and when. Script contents are never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any, Literal

from reconciler import files
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render.escape import markdown, markdown_code
from reconciler.validation.schema import payload_of

if TYPE_CHECKING:
    from reconciler.client.immuta import ImmutaClient

When = Literal["before apply", "after apply"]


@dataclass(frozen=True, slots=True)
class Script:
    change: Change
    stage: str  # initial-create, create, edit, delete, post-cleanup
    when: When
    content: str

    @property
    def file_name(self) -> str:
        stem = FsPath(self.change.file).stem if self.change.file else _slug(str(self.change.key))
        return f"{stem}.{self.stage}.sql"


def manual(change: Change) -> bool:
    if not change.is_write:
        return False
    if change.desired is not None and change.desired.present:
        return change.desired.payload.get("autoBootstrap") is False
    return change.actual is not None and change.actual.payload.get("autoBootstrap") is False


def failed_create(change: Change) -> bool:
    """A write of an integration whose creation failed in Immuta: whatever it left on the platform must be
    removed with the cleanup script (not the delete script, which is for an integration that was set up)."""
    return change.is_write and change.actual is not None and change.actual_status == "createError"


def fetch(plan: Plan, client: ImmutaClient) -> list[Script]:
    """Every script the plan's changes need, in the order they must run: all that run before apply (plan
    order), then those that run after it, so that the files' numbering is the running order. Manual
    integrations get their setup, edit and delete scripts; any integration whose create failed, the
    cleanup script."""
    scripts: list[Script] = []
    for change in plan.changes:
        if not manual(change) and not failed_create(change):
            continue
        if change.action in (Action.DELETE, Action.REPLACE) and change.actual_id is not None:
            old = payload_of(_old_payload(change))
            if failed_create(change):
                scripts.append(Script(change, "cleanup", "before apply", client.script_cleanup(old)))
            else:
                scripts.append(Script(change, "delete", "before apply", client.script_delete(change.actual_id)))
            if "post-cleanup" in _optional_stages(change):
                # A replace creates anew in the same apply, with the setup scripts run before it: the old
                # platform resources must be gone by then (Synapse: the login initial-create makes again).
                when: When = "before apply" if change.action is Action.REPLACE else "after apply"
                scripts.append(Script(change, "post-cleanup", when, client.script_post_cleanup(old)))
        if not manual(change):
            continue
        if change.action in (Action.CREATE, Action.REPLACE):
            assert change.desired is not None
            body = payload_of(change.desired.body)
            if "initial-create" in _optional_stages(change):
                scripts.append(Script(change, "initial-create", "before apply", client.script_initial_create(body)))
            scripts.append(Script(change, "create", "before apply", client.script_create(body)))
        if change.action is Action.UPDATE and change.actual_id is not None:
            assert change.desired is not None
            content = client.script_edit(change.actual_id, payload_of(change.desired.body))
            scripts.append(Script(change, "edit", "before apply", content))
    return [s for s in scripts if s.when == "before apply"] + [s for s in scripts if s.when == "after apply"]


def _optional_stages(change: Change) -> frozenset[str]:
    """The script stages only some types have [doc]: the schema's `x-setup-script`."""
    known = change.desired if change.desired is not None else change.actual
    return known.type_schema.rules.setup_scripts if known is not None else frozenset()


def _old_payload(change: Change) -> dict[str, Any]:
    """The integration being removed: what Immuta reports (complete, but without secrets), over what the
    file says (a tombstone or the replacement: the secrets, if the payload endpoint requires them)."""
    base: Mapping[str, Any] = change.desired.body if change.desired is not None else {}
    over: Mapping[str, Any] = change.actual.payload if change.actual is not None else {}
    return _merged(base, over)


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for name, value in over.items():
        below = result.get(name)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            result[name] = _merged(below, value)
        else:
            result[name] = value
    return result


def write(scripts: list[Script], folder: str) -> list[FsPath]:
    """Write the scripts (0600), README.md and a `.gitignore` of everything into `folder` (0700); returns the
    scripts written, in order."""
    target = FsPath(folder)
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    written: list[FsPath] = []
    for index, script in enumerate(scripts, start=1):
        path = target / f"{index:02d}-{script.file_name}"
        _write_private(path, script.content if script.content.endswith("\n") else script.content + "\n")
        written.append(path)
    _write_private(target / "README.md", readme(scripts, written))
    # Immuta's scripts may embed credentials: a `git add -A` in the repository must not commit them.
    _write_private(target / ".gitignore", "# setup scripts may hold credentials: never committed\n*\n")
    return written


def _write_private(path: FsPath, text: str) -> None:
    files.write_text(path, text, what="setup script", private=True)


def readme(scripts: list[Script], files: list[FsPath]) -> str:
    lines = [
        "# Setup scripts for integrations with autoBootstrap: false",
        "",
        "Run them in this order. They may contain credentials: keep them private and delete them after use.",
        "",
        "| # | file | integration | run on | when |",
        "|---|---|---|---|---|",
    ]
    for index, (script, path) in enumerate(zip(scripts, files, strict=True), start=1):
        when = (
            "after `reconciler apply` has deleted the integration"
            if script.when == "after apply"
            else "before `reconciler apply`"
        )
        key, type_name = markdown_code(str(script.change.key)), markdown(script.change.type)
        lines.append(f"| {index} | {markdown_code(path.name)} | {key} | {type_name} | {when} |")
    if any(script.stage == "cleanup" for script in scripts):
        lines += [
            "",
            "A `cleanup` script removes what a failed create left on the platform (Immuta reports the integration",
            "in `createError`); run it before `reconciler apply` deletes or re-creates the integration.",
        ]
    lines += [
        "",
        "Then run `reconciler apply`. Immuta checks the platform setup when the integration is created; if it",
        "was not run, apply reports `Validation of prerequisite setup failed` and changes nothing else.",
        "",
    ]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()

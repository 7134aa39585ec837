"""The references gate: what a value in a file may refer to, decided in this one module.

Every feature fills an environment's `${var:}` values into the files it reads with
`loading.environments.apply_values` (validate, plan, apply, drift, saved plans, every environment, the base
revision), which asks `refusals` about every string holding a reference once its values are in; every value
read from outside a file goes through `secrets.Lookup.read`, which asks `refused_variable` and `refused_file`
again before it reads anything. The rules:

- `${env:}` and `${file:}` give only secret (writeOnly) fields, of the type as filled in (`type: ${var:T}`
  too). A non-secret value is written literally or as `${var:}` from an environment file in Git: what a
  reviewer reads is what apply sends, and a plan never depends on the CI's secrets.
- The reconciler's own credentials (`IMMUTA_*`, which is also where an environment file's `apiKeyEnv` and
  `tokenEnv` must point) and the CI's (`GITHUB_TOKEN`, `ACTIONS_*`, `RUNNER_*`) can never be referenced, not
  even by a secret field: a pull request could otherwise send them to a host it names.
- An environment file's values are filled in once: a value that holds a `${var:}` of its own is refused (it
  would reach the plan unread). What a value brings is judged where it lands, like any other text.
- `${file:}` reads inside the repository (the Git top level, or the working folder outside Git), links
  resolved: in the folders of the desired state that lie inside it (`secrets.file_roots`: an environment's
  `paths` may name any folder) and an environment's `fileRoots`, which must stay inside it; and never in a Git
  folder (`.git` holds the CI's token in `.git/config`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path as FsPath
from typing import Any

from reconciler.errors import Problem
from reconciler.model import Path, json_path

OWN_PREFIX = "IMMUTA_"
CI_NAMES = frozenset({"GITHUB_TOKEN"})
CI_PREFIXES = ("ACTIONS_", "RUNNER_")
SECRET_ONLY_KINDS = ("env", "file")


def refused_variable(name: str) -> str | None:
    """Why `${env:NAME}` can never be read, or None. Names compare in upper case (Windows ignores case)."""
    upper = name.upper()
    if upper.startswith(OWN_PREFIX):
        return (
            f"${{env:{name}}} names the reconciler's own credentials (IMMUTA_*), which can never be referenced: "
            "give this secret its own variable"
        )
    if upper in CI_NAMES or upper.startswith(CI_PREFIXES):
        return (
            f"${{env:{name}}} names the CI's credentials (GITHUB_TOKEN, ACTIONS_*, RUNNER_*), which can never be "
            "referenced: give this secret its own variable"
        )
    return None


def not_secret_message(text: str) -> str:
    return (
        f"{text} is not allowed here: ${{env:}} and ${{file:}} give only secret (writeOnly) fields; "
        "write the value literally, or as ${var:NAME} from an environment file (environments/NAME.yaml)"
    )


def refusals(text: str, secret: bool | None) -> list[str]:
    """Why the references in one string (with its `${var:}` filled in) are refused where it stands: in a
    secret field when `secret`; None when the document's type is unknown (validation says so, and nothing of
    it is ever read). Malformed references are validation's to report."""
    from reconciler.secrets import references  # the parser; secrets.Lookup asks this module at read time

    found: list[str] = []
    for ref in references(text)[0]:
        if ref.kind == "var":  # every `${var:}` of the file is filled in: this one came with a value
            found.append(
                f"{ref} comes from an environment file's value, which is filled in once and never holds a "
                "reference: write the value itself"
            )
        elif ref.kind in SECRET_ONLY_KINDS and secret is False:
            found.append(not_secret_message(str(ref)))
        elif ref.kind == "env" and (refusal := refused_variable(ref.name)) is not None:
            found.append(refusal)
    return list(dict.fromkeys(found))


# -- where ${file:} may read --------------------------------------------------------------------------------


def repository_root(start: str | os.PathLike[str] | None = None) -> FsPath:
    """The Git top level of `start` (the working folder by default), or `start` itself outside Git; real."""
    here = FsPath(os.path.realpath(start if start is not None else os.getcwd()))
    for folder in (here, *here.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return here


def check_file_roots(roots: Sequence[str], where: Any) -> list[Problem]:
    """A located problem for each entry of an environment file's `fileRoots` that leaves the repository
    (links resolved) or is a Git folder. `where(path)` is an entry's location; entries are read from the
    working folder, as `Lookup` reads them."""
    repository = repository_root()
    problems: list[Problem] = []
    for index, root in enumerate(roots):
        real = FsPath(os.path.realpath(root))
        path: Path = ("fileRoots", index)
        if not real.is_relative_to(repository):
            link = " (through a link)" if os.path.realpath(os.path.abspath(root)) != os.path.abspath(root) else ""
            problems.append(
                Problem(
                    where(path),
                    json_path(path),
                    f"{root} is outside the repository{link} ({repository.as_posix()}): ${{file:}} may read only "
                    "folders inside it; give secrets from elsewhere as ${env:NAME}",
                )
            )
        elif ".git" in real.relative_to(repository).parts:
            problems.append(Problem(where(path), json_path(path), f"{root} is a Git folder: ${{file:}} never reads it"))
    return problems


def refused_file(real: FsPath) -> str | None:
    """Why a `${file:}` whose real path is `real` is never read (beyond the roots), or None."""
    if ".git" in real.parts:
        return "it is inside a Git folder (.git), which holds the CI's credentials"
    return None

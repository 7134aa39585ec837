"""What a failed run says about the user's input: a secret that is not set is named with where to add it, and
a problem that is not in the desired-state files (an environment that does not exist, a forgotten --env) is
never blamed on them."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from reconciler import files
from reconciler.errors import Problem
from reconciler.model import SourceLocation

# Set by the GitHub Action for apply, e.g. "add it to the `immuta-prod` environment's secrets".
SECRETS_HINT = "RECONCILER_SECRETS_HINT"
_UNSET = re.compile(r"environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set")
_VAR = re.compile(r"\$\{var:")


def unset_variable(problem: Problem) -> str | None:
    found = _UNSET.fullmatch(problem.message)
    return found.group(1) if found and problem.severity == "error" else None


def report(problems: Sequence[Problem]) -> list[str]:
    """The lines that explain why nothing was changed, after the problems' own `file:line:col:` lines."""
    hint = os.environ.get(SECRETS_HINT, "").strip()
    lines = []
    unset = [(p, name) for p in problems if (name := unset_variable(p))]
    for problem, name in unset if hint else ():  # without one, the problem's own line says it all
        where = f"{problem.location.file}:{problem.location.line}" if problem.location else "a file"
        lines.append(f"{where} needs {name}: {hint}")
    errors = [p for p in problems if p.severity == "error" and not unset_variable(p)]
    in_files = [p for p in errors if not _about_the_environment(p)]
    if unset:
        lines.append(f"error: {len(unset)} variable(s) not set; nothing was changed")
    if in_files:
        lines.append(f"error: {len(in_files)} problem(s) in the desired-state files; nothing was changed")
    if len(errors) > len(in_files):
        count = len(errors) - len(in_files)
        lines.append(f"error: {count} problem(s) with the environment (--env, environments/); nothing was changed")
    return lines


def _about_the_environment(problem: Problem) -> bool:
    if problem.location is not None:
        return problem.location.file.startswith("environments/") and problem.location.file.count("/") == 1
    return problem.message.startswith("no environment ")


def forgotten_environment(problems: Sequence[Problem], argv: Sequence[str]) -> str | None:
    """One error with the fix when environments/ exists, no --env was given and the files need one."""
    if any(a == "--env" or a.startswith("--env=") or a == "--all-environments" for a in argv):
        return None
    folder = Path("environments")
    names = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    if not names or not any(_VAR.search(p.message) for p in problems):
        return None
    command = next((a for a in argv if not a.startswith("-")), "plan")
    return (
        f"error: these files use ${{var:…}} values and environments/ declares {', '.join(names)}: "
        f"run with --env NAME, e.g. `reconciler {command} --env {names[0]}`; nothing was changed"
    )


# Folders that hold entries on purpose (environments/NAME.d is declared per environment) or hold test data.
_SKIPPED_FOLDERS = frozenset(
    ("environments", "node_modules", "venv", "site-packages", "__pycache__", "tests", "testdata", "fixtures")
)
_MAX_SCANNED = 20_000


def stray_entries(declared: Sequence[str], type_names: Sequence[str]) -> list[Problem]:
    """A warning for each YAML file under the working directory, outside the declared folders (and outside
    environments/), whose top-level `type:` is an integration type: it looks like an entry, and is not read."""
    roots = [Path(p).resolve() for p in declared]
    kinds = "|".join(re.escape(name) for name in type_names)
    entry = re.compile(rf"^type:[ \t]*([\"']?)({kinds})\1[ \t]*(?:#.*)?$", re.M)
    found: list[Problem] = []
    for scanned, path in enumerate(_yaml_files(Path("."))):
        if scanned >= _MAX_SCANNED:
            break
        resolved = path.resolve()
        if any(resolved == root or root in resolved.parents for root in roots):
            continue
        try:
            text = files.read_text(path, files.DESIRED_STATE)
        except files.FileError:
            continue  # not readable as an entry would be: not one
        match = entry.search(text)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            found.append(
                Problem(
                    SourceLocation(path.as_posix(), line, 1),
                    "$.type",
                    f"looks like a desired-state entry (type: {match.group(2)}) but is outside "
                    f"{', '.join(declared)}, so it is not read: move it there, or add its folder to the paths",
                    "warning",
                )
            )
    return found


def _yaml_files(folder: Path) -> list[Path]:
    files: list[Path] = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in _SKIPPED_FOLDERS)
        files.extend(Path(root, n) for n in sorted(names) if n.lower().endswith((".yaml", ".yml")) and n[0] != ".")
        if len(files) >= _MAX_SCANNED:
            break
    return [Path(os.path.normpath(f)) for f in files]


def _env_name(argv: Sequence[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--env" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--env="):
            return arg.removeprefix("--env=")
    return None


def with_environment_names(message: str, argv: Sequence[str]) -> str:
    """An error about the connection, in the names the user set: with --env NAME the tenant's URL is the
    environment file's `url`, and the key and token are in the variables it names."""
    from reconciler.errors import ReconcilerError
    from reconciler.loading.environments import load_environment

    name = _env_name(argv)
    if name is None:
        names = sorted(p.stem for p in Path("environments").glob("*.yaml")) if Path("environments").is_dir() else []
        if names and message.startswith("cannot connect to Immuta"):
            message += (
                f"\nenvironments/ declares {', '.join(names)}: did you forget --env NAME (e.g. --env {names[0]})?"
            )
        return message
    try:
        environment = load_environment(name)
    except ReconcilerError:
        return message
    if not os.environ.get("IMMUTA_URL"):  # else the message is about the variable the user did set
        message = re.sub(r"\bIMMUTA_URL\b", f"the url in {environment.file}", message)
    message = re.sub(r"\bIMMUTA_API_KEY\b", environment.api_key_env, message)
    return re.sub(r"\bIMMUTA_TOKEN\b", environment.token_env, message)

"""Several tenants from one repository: `--env NAME` reads `environments/NAME.yaml`.

```yaml
# environments/dev.yaml
url: https://acme-dev.immuta.com       # the tenant this environment plans and applies against
apiKeyEnv: IMMUTA_DEV_API_KEY          # where its key is: an IMMUTA_* variable (default IMMUTA_API_KEY; or tokenEnv)
paths: [integrations.d, environments/dev.d]   # shared files plus this environment's own
fileRoots: [secrets/dev]               # folders ${file:…} may also read, inside the repository (default: the paths')
caBundle: certs/corporate-ca.pem       # CAs to trust for this tenant (a corporate proxy's), instead of the defaults
values:                                # ${var:NAME} in any non-secret field
  SNOWFLAKE_HOST: acme-dev.us-east-1.snowflakecomputing.com
```

`${var:…}` values are filled in before validation, so patterns and natural keys are checked on the real
values. Values files live in Git, so a `${var:…}` in a secret field is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import Any

from reconciler import files
from reconciler.errors import InputError, Problem
from reconciler.loading.yaml_source import SourceDocument, load_text
from reconciler.model import Path, SourceLocation, json_path
from reconciler.references import OWN_PREFIX, check_file_roots, refusals
from reconciler.validation.schema import SchemaSet
from reconciler.walk import map_leaves

ENVIRONMENTS_DIR = "environments"
_VAR = re.compile(r"\$\{var:([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEYS = {"url", "apiKeyEnv", "tokenEnv", "paths", "fileRoots", "caBundle", "values"}
# The reconciler's own settings: a credential put there would be printed where the setting is (a URL in a message).
_SETTINGS = frozenset({"IMMUTA_URL", "IMMUTA_TIMEOUT"})


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    file: str
    url: str
    api_key_env: str = "IMMUTA_API_KEY"
    token_env: str = "IMMUTA_TOKEN"
    paths: tuple[str, ...] = ()
    file_roots: tuple[str, ...] = ()  # folders `${file:…}` may read besides the paths' folders
    ca_bundle: str | None = None  # a PEM file of CAs to trust for this tenant (client/tls.py)
    values: Mapping[str, Any] = field(default_factory=dict)  # plain scalars, with their YAML types


def load_environment(name: str, folder: str = ENVIRONMENTS_DIR) -> Environment:
    path = FsPath(folder) / f"{name}.yaml"
    if not _NAME.match(name):
        raise InputError([Problem(None, "", f"--env {name!r}: use letters, digits, '-', '_' or '.'")])
    try:
        text = files.read_text(path, files.ENVIRONMENT, inside=files.link_bound(path, [folder]))
    except files.FileError as exc:
        if not exc.missing:
            raise InputError([Problem(None, "", f"--env {name}: {exc}")]) from None
        known = sorted(p.stem for p in FsPath(folder).glob("*.yaml")) if FsPath(folder).is_dir() else []
        listing = f"; known: {', '.join(known)}" if known else f"; create {path}"
        raise InputError([Problem(None, "", f"no environment {name!r} ({path} not found){listing}")]) from None
    return environment_from_text(name, text, str(path))


def environment_from_text(name: str, text: str, file: str) -> Environment:
    """An environment file's settings from its text (read from the working tree, or from a base revision)."""
    documents, problems = load_text(text, file)
    if problems or len(documents) != 1 or not isinstance(documents[0].data, dict):
        problems = problems or [Problem(SourceLocation(file, 1, 1), "$", "must be one mapping")]
        raise InputError(problems)
    return _parse(name, documents[0])


def _parse(name: str, doc: SourceDocument) -> Environment:
    data: dict[str, Any] = doc.data
    problems = [
        Problem(doc.location((key,)), json_path((key,)), f"unknown field; known: {', '.join(sorted(_KEYS))}")
        for key in data
        if key not in _KEYS
    ]
    url = data.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        problems.append(Problem(doc.location(("url",)), "$.url", "required: the tenant's http(s) URL"))
    problems.extend(_key_variable_problems(name, doc))
    paths = data.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        problems.append(Problem(doc.location(("paths",)), "$.paths", "must be a list of files or folders"))
    else:
        problems.extend(_outside_the_repository(doc, paths))
    roots = data.get("fileRoots", [])
    if not isinstance(roots, list) or not all(isinstance(p, str) and p for p in roots):
        problems.append(Problem(doc.location(("fileRoots",)), "$.fileRoots", "must be a list of folders"))
    else:
        problems.extend(check_file_roots(roots, doc.location))
    ca_bundle = data.get("caBundle")
    if ca_bundle is not None and not (isinstance(ca_bundle, str) and ca_bundle):
        problems.append(Problem(doc.location(("caBundle",)), "$.caBundle", "must be the path of a PEM file"))
    values = data.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(v, str | int | float | bool) for v in values.values()):
        problems.append(Problem(doc.location(("values",)), "$.values", "must map names to plain values"))
    if problems:
        raise InputError(problems)
    return Environment(
        name=name,
        file=doc.file,
        url=str(url).rstrip("/"),
        api_key_env=data.get("apiKeyEnv", "IMMUTA_API_KEY"),
        token_env=data.get("tokenEnv", "IMMUTA_TOKEN"),
        paths=tuple(paths),
        file_roots=tuple(roots),
        ca_bundle=ca_bundle,
        values={str(k): v for k, v in values.items()},
    )


def _key_variable_problems(name: str, doc: SourceDocument) -> list[Problem]:
    """`apiKeyEnv`/`tokenEnv` name an IMMUTA_* variable (which no file can reference) that is not a setting."""
    data: dict[str, Any] = doc.data
    example = f"{OWN_PREFIX}{name.upper().replace('-', '_').replace('.', '_')}_API_KEY"
    problems: list[Problem] = []
    for key in ("apiKeyEnv", "tokenEnv"):
        value = data.get(key)
        if key not in data:
            continue
        if isinstance(value, str) and value.upper() in _SETTINGS:
            why = f"{value} is a setting of the reconciler, not a place for a credential: name a variable of its own "
            why += f"(such as {example})"
        elif not (isinstance(value, str) and value.upper().startswith(OWN_PREFIX)):
            why = f"must name an environment variable starting with {OWN_PREFIX} (such as {example}): no file can "
            why += "reference those"
        else:
            continue
        problems.append(Problem(doc.location((key,)), json_path((key,)), why))
    return problems


def _outside_the_repository(doc: SourceDocument, paths: Sequence[str]) -> list[Problem]:
    """An environment file is in the pull request: its paths (links resolved) must not read the runner's disk,
    nor a hidden file of the repository (.git/config, what a CI step left)."""
    repository = files.repository()
    root = os.path.realpath(repository)
    problems = []
    for index, path in enumerate(paths):
        real = os.path.realpath(path)
        if os.path.commonpath([root, real]) != root:
            why = f"is outside the repository ({repository}): an environment's paths stay inside it"
        elif any(part.startswith(".") for part in FsPath(os.path.relpath(real, root)).parts if part != "."):
            why = "is hidden: an environment's paths name no hidden file or folder (.git, .env)"
        else:
            continue
        problems.append(Problem(doc.location(("paths", index)), json_path(("paths", index)), f"{path} {why}"))
    return problems


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def apply_values(
    documents: Sequence[SourceDocument], values: Mapping[str, Any] | None, schemas: SchemaSet
) -> tuple[list[SourceDocument], list[Problem]]:
    """Documents with every `${var:NAME}` filled in from the environment's values, and the problems."""
    problems: list[Problem] = []
    result = []
    for doc in documents:
        # Which fields are secret is judged by the type as filled in (`type: ${var:T}` included).
        raw = doc.data.get("type") if isinstance(doc.data, dict) else None
        kind = _filled(raw, values, False)[1] if isinstance(raw, str) else None
        type_schema = schemas.types.get(kind) if isinstance(kind, str) else None

        def fill(path: Path, value: Any, doc: SourceDocument = doc, type_schema: Any = type_schema) -> Any:
            if not isinstance(value, str) or "$" not in value:
                return value
            secret = type_schema.is_secret(path) if type_schema is not None else None
            problem, filled = _filled(value, values, bool(secret))
            refused = [problem] if problem else refusals(filled, secret) if isinstance(filled, str) else []
            problems.extend(Problem(doc.location(path), json_path(path), message) for message in refused)
            return filled

        result.append(replace(doc, data=map_leaves(doc.data, fill)))
    return result, problems


def _filled(value: str, values: Mapping[str, Any] | None, secret: bool) -> tuple[str | None, Any]:
    """A problem with the `${var:…}` references of one string, or None and the string with them filled in."""
    if not _VAR.search(value):
        return None, value
    if secret:
        return "a secret cannot come from a values file (it is in Git): use ${env:NAME} or ${file:PATH}", value
    if values is None:
        return (
            f"${{var:…}} needs an environment: pass --env NAME (values come from {ENVIRONMENTS_DIR}/NAME.yaml)",
            value,
        )
    missing = [m.group(1) for m in _VAR.finditer(value) if m.group(1) not in values]
    if missing:
        return f"${{var:{missing[0]}}} is not in the environment's values", value
    whole = _VAR.fullmatch(value)
    if whole:  # a whole-value reference keeps the value's YAML type (a port stays a number)
        return None, values[whole.group(1)]
    return None, _VAR.sub(lambda m: _text(values[m.group(1)]), value)


def without_shadowed(problems: Sequence[Problem]) -> list[Problem]:
    """Drops the schema errors of a field whose `${var:…}` could not be filled: they only repeat it."""
    unfilled = {(p.location, p.json_path) for p in problems if p.message.startswith("${var:")}
    return [p for p in problems if p.message.startswith("${var:") or (p.location, p.json_path) not in unfilled]

"""Secrets are a type, not a string: `${env:…}` / `${file:…}` references and the values they resolve to."""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from reconciler import files
from reconciler.walk import leaves, map_leaves

PLACEHOLDER = "(secret)"


class Secret:
    """A resolved secret value. Every way of turning it into text shows `(secret)`; only `reveal()` —
    called by the request-body builder — gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return PLACEHOLDER

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return PLACEHOLDER

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Secret:
        return self  # immutable: copies share the value, and never go through pickling

    def __deepcopy__(self, _memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def reveal_all(value: Any) -> Any:
    """A copy of a JSON-like value with every Secret unwrapped: for request bodies only."""
    return map_leaves(value, lambda path, leaf: leaf.reveal() if isinstance(leaf, Secret) else leaf)


def mask_all(value: Any) -> Any:
    """A copy of a JSON-like value with every Secret shown as the placeholder: for anything rendered."""
    return map_leaves(value, lambda path, leaf: PLACEHOLDER if isinstance(leaf, Secret) else leaf)


def secret_values(value: Any) -> frozenset[str]:
    """The (non-empty) values of every Secret in a JSON-like value: what to scrub from what Immuta answers."""
    return frozenset(leaf.reveal() for _, leaf in leaves(value) if isinstance(leaf, Secret)) - {""}


# -- references ------------------------------------------------------------------------------------------

REFERENCE = re.compile(r"\$\{([^}]*)\}")
KINDS = ("env", "file", "var")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMS = "${env:NAME}, ${file:PATH} or ${var:NAME}"


@dataclass(frozen=True, slots=True)
class Reference:
    """`${env:NAME}`, `${file:PATH}` or `${var:NAME}` inside a string value."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"${{{self.kind}:{self.name}}}"


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A value that comes from a reference that could not be read here (e.g. a plan in a fork's PR)."""

    text: str

    def __str__(self) -> str:
        return self.text


def references(text: str) -> tuple[list[Reference], list[str]]:
    """The references in one string, and a message for each malformed one."""
    found: list[Reference] = []
    errors: list[str] = []
    for match in REFERENCE.finditer(text):
        body = match.group(1)
        kind, sep, name = body.partition(":")
        if not sep and _ENV_NAME.match(body):  # shell style `${NAME}`
            errors.append(f"${{{body}}} has no kind: write ${{env:{body}}} (or ${{file:PATH}})")
        elif not sep:  # not echoed: what is inside may be a secret value
            errors.append(f"${{…}} is not a reference: use {_FORMS}")
        elif kind not in KINDS:
            errors.append(f"unknown reference kind {kind!r} in ${{{body}}}: use {_FORMS}")
        elif not name:
            what = "file: write ${file:PATH}" if kind == "file" else f"variable: write ${{{kind}:NAME}}"
            errors.append(f"${{{body}}} names no {what}")
        elif kind in ("env", "var") and not _ENV_NAME.match(name):
            errors.append(
                f"${{{body}}}: {name!r} is not a valid variable name (letters, digits and _, not starting with a digit)"
            )
        else:
            found.append(Reference(kind, name))
    return found, errors


def is_reference_only(text: str) -> bool:
    """True when the string holds at least one reference and nothing that could be a literal secret."""
    return bool(REFERENCE.search(text)) and not REFERENCE.sub("", text).strip()


FILE_LIMIT_BYTES = files.FILE_REFERENCE.limit  # a key or a certificate is a few KiB; /dev/zero is endless


class Lookup:
    """Reads reference values: environment, files, per-environment values.

    A `${file:PATH}` is read relative to its YAML file, and only inside `roots` (by default the YAML file's
    own folder): the folders given as the desired state, plus any an environment file names. A pull request
    could otherwise show `${file:../.git/config}` (a CI token) or `${file:/proc/self/environ}` in a plan. Only
    a regular file, up to FILE_LIMIT_BYTES, of UTF-8 text, is read: a FIFO or `/dev/zero` would never end."""

    def __init__(
        self,
        env: Mapping[str, str],
        variables: Mapping[str, str] | None = None,
        *,
        roots: Sequence[str | os.PathLike[str]] | None = None,
    ) -> None:
        self.env = env
        self.variables = variables or {}
        self.roots = None if roots is None else tuple(FsPath(os.path.realpath(r)) for r in roots)

    def read(self, ref: Reference, base_dir: FsPath) -> str:
        """The value, or raises LookupError with a message saying what is missing."""
        from reconciler.references import refused_file, refused_variable  # the gate (it parses with this module)

        if ref.kind == "env":
            refusal = refused_variable(ref.name)
            if refusal is not None:
                raise RefusedReference(refusal)
            if ref.name not in self.env:
                raise LookupError(f"environment variable {ref.name} is not set")
            return self.env[ref.name]
        if ref.kind == "var":
            if ref.name not in self.variables:
                raise LookupError(f"value {ref.name} is not defined in the environment's values file")
            return self.variables[ref.name]
        path = FsPath(ref.name).expanduser()
        path = path if path.is_absolute() else base_dir / path
        # Relative paths are read from the YAML file's folder: say where that was.
        shown = ref.name if path.as_posix() == ref.name else f"{ref.name} (read as {path.as_posix()})"
        roots = self.roots if self.roots is not None else (FsPath(os.path.realpath(base_dir)),)
        real = FsPath(os.path.realpath(path))
        if not any(real.is_relative_to(root) for root in roots):
            where = ", ".join(_shown_root(r) for r in roots)
            raise RefusedReference(
                f"cannot read file {shown}: it is outside {where}, the folder(s) of the desired state "
                "(an environment file's fileRoots can name another)"
            )
        refusal = refused_file(real)
        if refusal is not None:
            raise RefusedReference(f"cannot read file {shown}: {refusal}")
        try:
            content = files.read_text(path, files.FILE_REFERENCE)
        except files.FileError as exc:
            raise LookupError(f"cannot read file {shown}: {exc.reason}") from None
        return content.removesuffix("\n").removesuffix("\r")


class RefusedReference(LookupError):
    """A reference the gate (reconciler/references.py) never reads: an error in every mode, never a
    placeholder, even in the sandbox."""


def _shown_root(root: FsPath) -> str:
    """A root as the user gave it: relative to the working directory when it is under it."""
    try:
        return root.relative_to(FsPath.cwd()).as_posix() or "."
    except ValueError:
        return root.as_posix()


def file_roots(paths: Sequence[str], extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The folders `${file:}` may read: each given folder and the folder of each given file that lie inside
    the repository (an environment's `paths` may name any folder: `/etc` must not become readable), and
    `extra` (an environment file's fileRoots, checked to be inside it as the file is read)."""
    from reconciler.references import repository_root  # the gate (it parses with this module)

    repository = repository_root()
    folders = [p if os.path.isdir(p) else os.path.dirname(p) or "." for p in paths]
    inside = [f for f in folders if FsPath(os.path.realpath(f)).is_relative_to(repository)]
    return tuple(dict.fromkeys([*inside, *extra]))


def substitute(text: str, lookup: Lookup, base_dir: FsPath) -> str:
    """`text` with every reference replaced by its value; raises LookupError for the first missing one."""
    return REFERENCE.sub(lambda m: lookup.read(_parse(m.group(1)), base_dir), text)


def _parse(body: str) -> Reference:
    kind, _, name = body.partition(":")
    return Reference(kind, name)

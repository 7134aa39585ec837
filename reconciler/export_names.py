"""Names for exported files and their `${env:…}` variables: readable, deterministic, and never shared.

The readable form is the type and natural-key values, lower-case with every run of other characters a `-`
for the file, upper snake case for a variable. That form loses information (`lake_a` and `lake-a` both read
`lake-a`), and a name must never be shared: two integrations written to one file lose one of them (and the
next `--prune` deletes it), two sharing a variable get one secret. So an integration whose readable names
collide with another's, whose key has a part with no letter or digit, or whose name would be too long, gets
the first 8 hex digits of the SHA-256 of its exact key appended (`native-s3-lake-a-1f3e9a0c.yaml`): stable
across runs, and the same integration keeps its name as long as nothing it collides with is added.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.actual import ActualIntegration
from reconciler.errors import ReconcilerError
from reconciler.model import Path

MAX_FILE_NAME = 120  # characters, ".yaml" included: far below the 255 bytes file systems allow
MAX_VARIABLE_PREFIX = 80  # characters of a variable before its field part
DIGEST_LENGTH = 8
SUFFIX = ".yaml"

_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def slug(text: str) -> str:
    return _NOT_ALNUM.sub("-", text).strip("-").lower()


def snake(text: str, *, split_camel: bool = False) -> str:
    if split_camel:
        text = _WORD_BREAK.sub("_", text)
    return _NOT_ALNUM.sub("_", text).strip("_").upper()


def key_values(integration: ActualIntegration) -> list[str]:
    return [value for name, value in integration.key.parts if name != "type" and value]


def digest(integration: ActualIntegration) -> str:
    exact = "\x00".join([integration.key.type, *(f"{n}={v}" for n, v in integration.key.parts)])
    return hashlib.sha256(exact.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_LENGTH]


@dataclass(frozen=True, slots=True)
class Names:
    """The file name and the variable prefix (`<TYPE>_<KEY>`) of one integration."""

    file: str
    prefix: str

    def variable(self, path: Path) -> str:
        field = path[1:] if path[:1] == ("config",) else path
        return "_".join([self.prefix, *(snake(str(part), split_camel=True) for part in field)])


def _names(integration: ActualIntegration, hashed: bool) -> Names:
    words = [integration.key.type, *key_values(integration)]
    readable = "-".join(slug(word) for word in words)
    prefix = "_".join(snake(word) for word in words)
    hashed = hashed or any(not slug(word) for word in words)
    if hashed or len(readable) + len(SUFFIX) > MAX_FILE_NAME:
        tag = digest(integration)
        room = MAX_FILE_NAME - len(SUFFIX) - DIGEST_LENGTH - 1
        readable = f"{readable[:room].rstrip('-')}-{tag}"
    if hashed or len(prefix) > MAX_VARIABLE_PREFIX:
        tag = digest(integration).upper()
        prefix = f"{prefix[: MAX_VARIABLE_PREFIX - DIGEST_LENGTH - 1].rstrip('_')}_{tag}"
    return Names(readable + SUFFIX, prefix)


def assign(integrations: Sequence[ActualIntegration], fields: Sequence[Iterable[Path]]) -> list[Names]:
    """One `Names` per integration (in order), none shared: a file name (compared case-insensitively, as
    macOS and Windows do) or a variable that two integrations would share makes both hashed.
    `fields[i]` are the secret paths integration i may need a variable for."""
    wanted = [tuple(paths) for paths in fields]
    hashed = [False] * len(integrations)
    while True:
        names = [_names(integration, h) for integration, h in zip(integrations, hashed, strict=True)]
        owners: dict[str, set[int]] = {}
        for index, found in enumerate(names):
            owners.setdefault("file:" + found.file.lower(), set()).add(index)
            for path in wanted[index]:
                owners.setdefault("env:" + found.variable(path), set()).add(index)
        shared = {index for indexes in owners.values() if len(indexes) > 1 for index in indexes}
        if not shared:
            return names
        if all(hashed[index] for index in shared):
            clash = sorted(str(integrations[index].key) for index in shared)
            raise ReconcilerError("cannot give distinct file names to: " + ", ".join(clash))
        for index in shared:
            hashed[index] = True

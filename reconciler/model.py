"""Value objects shared by every stage: where a value came from, and what identifies an integration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from reconciler.assumptions import A17_EXACT, A17_HOST

if TYPE_CHECKING:
    from reconciler.secrets import Secret, Unresolved

# A JSON value as the tool compares it: what a file asks for or Immuta reports. A secret read from a reference
# (or one left unresolved) is a leaf like a string.
Json: TypeAlias = "dict[str, Json] | list[Json] | str | int | float | bool | Secret | Unresolved | None"

# A path into a document: ("config", "privateKey", "content") or ("config", "warehouses", 0).
Path = tuple[str | int, ...]


def json_path(path: Path) -> str:
    """`("config", "host")` → `$.config.host`, list indexes as `[0]`; the form every message uses."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def dotted(path: Path) -> str:
    """`("config", "host")` → `config.host`: the form schema keywords and `ignoreChanges` use."""
    return ".".join(str(part) for part in path)


def parse_dotted(text: str) -> Path:
    return tuple(text.split(".")) if text else ()


@dataclass(frozen=True, slots=True, order=True)
class SourceLocation:
    """A position in a desired-state file; line and column are 1-based, as editors show them."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, order=True)
class IntegrationKey:
    """What makes two integrations "the same": the type plus the natural-key values the schema names.

    Never the server id — ids are looked up by listing. Keys compare as the platforms compare them [A17]:
    `identity` holds the values in that form (a host name in lower case, without a trailing dot), `parts`
    as they were written, for messages.
    """

    type: str
    identity: tuple[tuple[str, str], ...]
    parts: tuple[tuple[str, str], ...] = field(compare=False)

    @classmethod
    def of(
        cls, integration_type: str, parts: Iterable[tuple[str, object]], rules: Mapping[str, str] | None = None
    ) -> IntegrationKey:
        """`rules`: how each part compares (the type's `x-key-compare`, by part name); exact when not given."""
        written = tuple((name, str(value)) for name, value in parts)
        rules = rules or {}
        identity = tuple((name, normalised(value, rules.get(name, A17_EXACT))) for name, value in written)
        return cls(integration_type, identity, written)

    def loosely(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The key with every part compared as a host name: equal for two spellings that may well be one
        integration where the platform's rule is unknown (the plan's safety net)."""
        return self.type, tuple((name, normalised(value, A17_HOST)) for name, value in self.parts)

    def __str__(self) -> str:
        inner = ",".join(f"{name}={value}" for name, value in self.parts if name != "type")
        return f"{self.type}[{inner}]" if inner else self.type


def normalised(value: str, rule: str) -> str:
    if rule == A17_HOST:
        return value.lower().rstrip(".")
    return value

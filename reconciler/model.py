"""Value objects shared by every stage: where a value came from, and what identifies an integration."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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

    Never the server id — ids are looked up by listing.
    """

    type: str
    parts: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, integration_type: str, parts: Iterable[tuple[str, object]]) -> IntegrationKey:
        return cls(integration_type, tuple((name, str(value)) for name, value in parts))

    def __str__(self) -> str:
        inner = ",".join(f"{name}={value}" for name, value in self.parts if name != "type")
        return f"{self.type}[{inner}]" if inner else self.type

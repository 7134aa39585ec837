"""The bounds on reading one desired-state file: a file is written by anyone who can open a pull request, so
neither its size, nor its nesting, nor what its aliases expand to may cost unbounded memory or time.

Each limit is far above what an integration's file needs (one integration is about 40 values, 6 levels deep,
under 2 KB) and is reported as a located problem, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_FILE_BYTES = 1024 * 1024  # checked before parsing
MAX_DEPTH = 64  # levels of mappings and lists inside one another
MAX_ALIAS_VALUES = 10_000  # values built from aliases and merge keys (`*a`, `<<: *a`), per file

TOO_BIG = (
    f"the file is {{size:,}} bytes, over the limit of {MAX_FILE_BYTES:,} bytes (1 MiB) for a desired-state file:"
    " split it into one file per integration"
)
TOO_DEEP = f"values nested more than {MAX_DEPTH} levels deep (the limit for a desired-state file)"
SELF_ALIAS = "this anchor's value contains an alias to itself: the value would never end"
TOO_MANY_ALIASES = (
    f"aliases expand to more than {MAX_ALIAS_VALUES:,} values in this file (the limit per file):"
    " write the values out, or use fewer aliases"
)


def oversized(text: str) -> int | None:
    """The size in bytes of a text over MAX_FILE_BYTES, else None; encodes only a text that could be over."""
    if len(text) * 4 <= MAX_FILE_BYTES:  # UTF-8 needs at most 4 bytes a character
        return None
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    return size if size > MAX_FILE_BYTES else None


class LimitExceeded(Exception):
    """Raised inside the builder when a limit is reached: the document is abandoned, the file reported."""

    def __init__(self, message: str, where: tuple[int, int], path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.where = where  # 0-based (line, column), as YAML marks count
        self.path = path


@dataclass(slots=True)
class Budget:
    """What one file has spent on aliases so far; shared by every builder of the file's documents."""

    alias_values: int = 0

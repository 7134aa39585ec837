"""Reads desired-state YAML into plain values, remembering the file, line and column of every value.

Plain scalars follow YAML 1.2 core rules (loading/scalars.py). Problems are collected as values so one run
reports every file; a syntax error is described where it was made, with a hint.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.errors import Problem
from reconciler.loading.scalars import INVALID, explicit, resolve_plain
from reconciler.loading.yaml_limits import (
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    SELF_ALIAS,
    TOO_BIG,
    TOO_DEEP,
    TOO_MANY_ALIASES,
    Budget,
    LimitExceeded,
    oversized,
)
from reconciler.loading.yaml_syntax import syntax_problem
from reconciler.model import Path, SourceLocation, json_path

_PLAIN = "tag:reconciler:plain"
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Composes nodes only; plain scalars without an explicit tag are tagged `_PLAIN` for our resolver."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return "tag:yaml.org,2002:merge" if value == "<<" else _PLAIN
        return str(super().resolve(kind, value, implicit))


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One YAML document of a desired-state file, as plain values plus where each value was written."""

    file: str
    index: int  # position of the document in its file (0 for single-document files)
    data: Any
    # Where each value was written, packed by `_pack` (one small int a value: 10,000 files hold 200,000 of them).
    locations: Mapping[Path, int] = field(repr=False)
    # Values the loader has already reported (e.g. an unsupported tag): later checks stay quiet about them.
    invalid: frozenset[Path] = frozenset()

    def location(self, path: Path) -> SourceLocation:
        """Where `path` was written; for a path that does not exist, its deepest existing parent."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(path[:end])
            if found is not None:
                return SourceLocation(self.file, (found >> _COLUMN_BITS) + 1, (found & _COLUMN_MASK) + 1)
        return SourceLocation(self.file, 1, 1)


_COLUMN_BITS = 21  # a column of a file of at most 1 MiB (yaml_limits.MAX_FILE_BYTES) fits
_COLUMN_MASK = (1 << _COLUMN_BITS) - 1


def _pack(node: yaml.Node) -> int:
    mark = node.start_mark
    return int(mark.line) << _COLUMN_BITS | int(mark.column)


def load_text(text: str, file: str) -> tuple[list[SourceDocument], list[Problem]]:
    size = oversized(text)
    if size is not None:  # before parsing: the parser's memory grows with the text
        return [], [Problem(SourceLocation(file, 1, 1), "", TOO_BIG.format(size=size))]
    problems: list[Problem] = []
    documents: list[SourceDocument] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        return [], [syntax_problem(exc, text, file)]
    except yaml.YAMLError as exc:
        return [], [Problem(SourceLocation(file, 1, 1), "", f"YAML error: {exc}")]
    except RecursionError:  # PyYAML's pure-Python composer (no libyaml) recurses once per level
        return [], [Problem(SourceLocation(file, 1, 1), "", TOO_DEEP)]
    budget = Budget()  # aliases are counted per file, across its documents
    for index, node in enumerate(nodes):
        if node is None:
            continue
        builder = _Builder(file, budget)
        try:
            data = builder.build(node, ())
        except LimitExceeded as exc:
            line, column = exc.where
            problems.append(Problem(SourceLocation(file, line + 1, column + 1), json_path(exc.path), exc.message))
            _release(nodes)
            return [], problems  # the file is abandoned: what was built so far may be partial
        problems.extend(builder.problems)
        if data is None:
            continue
        documents.append(SourceDocument(file, index, data, builder.locations, frozenset(builder.invalid)))
    if not documents and not problems:
        problems.append(Problem(SourceLocation(file, 1, 1), "", "file holds no document", "warning"))
    return documents, problems


def _release(nodes: list[yaml.Node]) -> None:
    """Empties an abandoned file's collection nodes. An anchor that contains itself makes them a cycle, which
    only the cyclic collector could free, later and after a full traversal."""
    stack: list[Any] = list(nodes)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if not isinstance(node, yaml.CollectionNode) or id(node) in seen:
            continue
        seen.add(id(node))
        children, node.value = node.value, []
        for child in children:
            stack.extend(child if isinstance(child, tuple) else (child,))


class _Builder:
    """Builds one document's values from its nodes, within the limits of yaml_limits.py.

    An alias is the very node of its anchor, so building a collection node a second time is expanding an
    alias (or a merge key): every value built then is charged to the file's budget. Building a node while it
    is being built is an anchor that contains itself.
    """

    def __init__(self, file: str, budget: Budget, seen: _Seen | None = None) -> None:
        self.file = file
        self.budget = budget
        self.seen = seen or _Seen()
        self.locations: dict[Path, int] = {}
        self.problems: list[Problem] = []
        self.invalid: set[Path] = set()

    def _at(self, node: yaml.Node) -> SourceLocation:
        return SourceLocation(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _problem(self, node: yaml.Node, path: Path, message: str, *, invalid: bool = True) -> None:
        """Reports a problem; `invalid` marks the value at `path` as already reported (later checks skip it)."""
        self._add(Problem(self._at(node), json_path(path), message))
        if invalid:
            self.invalid.add(path)

    def _add(self, problem: Problem) -> None:
        # A node reached twice (an alias, a merge key) is reported once, where it was written.
        if (problem.location, problem.message) not in self.seen.reported:
            self.seen.reported.add((problem.location, problem.message))
            self.problems.append(problem)

    def _spend(self, node: yaml.Node, path: Path) -> None:
        self.budget.alias_values += 1
        if self.budget.alias_values > MAX_ALIAS_VALUES:
            raise LimitExceeded(TOO_MANY_ALIASES, self.seen.alias_at or _where(node), path)

    def build(self, node: yaml.Node, path: Path) -> Any:
        if path not in self.locations:  # a mapping's value is located at its key, set by _mapping
            self.locations[path] = _pack(node)
        if self.seen.aliased:
            self._spend(node, path)
        if isinstance(node, yaml.ScalarNode):
            value = resolve_plain(node.value) if node.tag == _PLAIN else self._scalar(node, path)
            if value.__class__ is float and not math.isfinite(value):
                return self._not_json(node, path)
            return value
        if len(path) >= MAX_DEPTH:
            raise LimitExceeded(TOO_DEEP, _where(node), path)
        key = id(node)
        seen = self.seen
        if key in seen.open:
            raise LimitExceeded(SELF_ALIAS, _where(node), path)
        again = key in seen.built
        if again and not seen.aliased:  # the outermost alias: its own value is charged here, the rest above
            packed = self.locations[path]
            seen.alias_at = (packed >> _COLUMN_BITS, packed & _COLUMN_MASK)
            self._spend(node, path)
        seen.aliased += again
        seen.open.add(key)
        value = self._collection(node, path)
        seen.open.discard(key)
        seen.aliased -= again
        seen.built.add(key)
        return value

    def _collection(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self._problem(node, path, _unsupported(node.tag))
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                self._problem(node, path, _unsupported(node.tag))
            return self._mapping(node, path)
        self._problem(node, path, "unsupported YAML node")
        return None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                shown = f' (quote it: "{key_node.value}")' if isinstance(key_node, yaml.ScalarNode) else ""
                self._problem(key_node, path, f"a key must be a string{shown}", invalid=False)
                continue
            child: Path = (*path, key)
            if key in first_line:
                message = f"duplicate key {key!r} (first defined on line {first_line[key]})"
                self._problem(key_node, child, message, invalid=False)
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.locations[child] = _pack(key_node)
            result[key] = self.build(value_node, child)
        for value_node in merges:
            self._merge(value_node, path, result)
        return result

    def _merge(self, node: yaml.Node, path: Path, result: dict[str, Any]) -> None:
        """`<<: *anchor` (or a list of them): keys already present win, as YAML's merge key specifies;
        merged values keep the location where they were written."""
        sources: Iterable[yaml.Node] = node.value if isinstance(node, yaml.SequenceNode) else [node]
        depth = len(path)
        for source in sources:
            merged = _Builder(self.file, self.budget, self.seen)
            value = merged.build(source, path)
            self.problems.extend(merged.problems)
            if not isinstance(value, dict):
                self._problem(source, path, "a merge key (<<) needs a mapping", invalid=False)
                continue
            taken = {key for key in value if key not in result}
            for key in taken:
                result[key] = value[key]
            # One pass over the merged locations (not one per key): a large anchor costs linear time.
            for where, location in merged.locations.items():
                if len(where) > depth and where[depth] in taken:
                    self.locations[where] = location
                    if where in merged.invalid:
                        self.invalid.add(where)

    def _not_json(self, node: yaml.ScalarNode, path: Path) -> str:
        """`.nan`, `.inf` or `1e999`: YAML numbers JSON has no way to write (every output, every request is
        JSON), refused here, where every desired-state, environment and base file is read."""
        self._problem(
            node, path, f'{node.value} is not a number JSON can hold: write a number, or quote it ("{node.value}")'
        )
        return str(node.value)

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        text: str = node.value
        if node.tag == _PLAIN:
            return resolve_plain(text)
        if node.tag == _STR:
            return text
        converted = explicit(node.tag, text)
        if converted is INVALID:
            self._problem(node, path, _unsupported(node.tag))
            return text
        return converted


@dataclass(slots=True)
class _Seen:
    """What the builders of one document share: the nodes built, those being built, what was reported."""

    built: set[int] = field(default_factory=set)  # ids of collection nodes built at least once
    open: set[int] = field(default_factory=set)  # ids of collection nodes being built
    aliased: int = 0  # > 0 while building a node a second time (inside an alias)
    alias_at: tuple[int, int] | None = None  # where the outermost alias being expanded is used
    reported: set[tuple[SourceLocation | None, str]] = field(default_factory=set)


def _where(node: yaml.Node) -> tuple[int, int]:
    return int(node.start_mark.line), int(node.start_mark.column)


def _unsupported(tag: str) -> str:
    short = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
    return f"unsupported YAML tag {short}: write the value without a tag"

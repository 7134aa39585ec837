"""Reads desired-state YAML into plain values, remembering the file, line and column of every value.

Plain scalars follow YAML 1.2 core rules (loading/scalars.py). Problems are collected as values so one run
reports every file; a syntax error is described where it was made, with a hint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.errors import Problem
from reconciler.loading.scalars import INVALID, explicit, resolve_plain
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
    locations: Mapping[Path, SourceLocation] = field(repr=False)
    # Values the loader has already reported (e.g. an unsupported tag): later checks stay quiet about them.
    invalid: frozenset[Path] = frozenset()

    def location(self, path: Path) -> SourceLocation:
        """Where `path` was written; for a path that does not exist, its deepest existing parent."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(path[:end])
            if found is not None:
                return found
        return SourceLocation(self.file, 1, 1)


def load_text(text: str, file: str) -> tuple[list[SourceDocument], list[Problem]]:
    problems: list[Problem] = []
    documents: list[SourceDocument] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        return [], [_syntax_problem(exc, text, file)]
    except yaml.YAMLError as exc:
        return [], [Problem(SourceLocation(file, 1, 1), "", f"YAML error: {exc}")]
    for index, node in enumerate(nodes):
        if node is None:
            continue
        builder = _Builder(file)
        data = builder.build(node, ())
        problems.extend(builder.problems)
        if data is None:
            continue
        documents.append(SourceDocument(file, index, data, builder.locations, frozenset(builder.invalid)))
    if not documents and not problems:
        problems.append(Problem(SourceLocation(file, 1, 1), "", "file holds no document", "warning"))
    return documents, problems


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.locations: dict[Path, SourceLocation] = {}
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
        if all((p.location, p.message) != (problem.location, problem.message) for p in self.problems):
            self.problems.append(problem)

    def build(self, node: yaml.Node, path: Path) -> Any:
        if path not in self.locations:  # a mapping's value is located at its key, set by _mapping
            self.locations[path] = self._at(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
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
            self.locations[child] = self._at(key_node)
            result[key] = self.build(value_node, child)
        for value_node in merges:
            self._merge(value_node, path, result)
        return result

    def _merge(self, node: yaml.Node, path: Path, result: dict[str, Any]) -> None:
        """`<<: *anchor` (or a list of them): keys already present win, as YAML's merge key specifies;
        merged values keep the location where they were written."""
        sources: Iterable[yaml.Node] = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            merged = _Builder(self.file)
            value = merged.build(source, path)
            for problem in merged.problems:
                self._add(problem)
            if not isinstance(value, dict):
                self._problem(source, path, "a merge key (<<) needs a mapping", invalid=False)
                continue
            for key, item in value.items():
                if key in result:
                    continue
                result[key] = item
                prefix: Path = (*path, key)
                for where, location in merged.locations.items():
                    if where[: len(prefix)] == prefix:
                        self.locations[where] = location
                        if where in merged.invalid:
                            self.invalid.add(where)

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


def _unsupported(tag: str) -> str:
    short = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
    return f"unsupported YAML tag {short}: write the value without a tag"


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    """PyYAML's parser message, with a hint and, for a bracket or quote left open, where it opened."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    where = SourceLocation(file, mark.line + 1, mark.column + 1) if mark else SourceLocation(file, 1, 1)
    opened = exc.context_mark
    found = text[mark.index] if mark is not None and 0 <= mark.index < len(text) else ""
    if found == "\t" or "tab character" in problem:
        message = "a tab character here: YAML indents with spaces only"
    elif opened is not None and exc.context in _OPENERS:
        # Where the parser gave up is often the end of the file: point at what was left open instead.
        where = SourceLocation(file, opened.line + 1, opened.column + 1)
        if mark is None or mark.index >= len(text.rstrip()):
            at = "reached the end of the file"
        else:
            at = f"found {found.strip() or 'a line break'} at line {mark.line + 1}, column {mark.column + 1}"
        message = f"{_OPENERS[exc.context]} is never closed ({at})"
    elif problem in _HINTS:
        message = f"{problem} ({_HINTS[problem]})"
    else:
        message = problem
    return Problem(where, "", f"YAML syntax error: {message}")


_OPENERS = {
    "while parsing a flow sequence": "the [ opened here",
    "while parsing a flow mapping": "the { opened here",
    "while scanning a quoted scalar": "the quoted string that starts here",
}
_HINTS = {
    "did not find expected key": "check this line's indentation",
    "did not find expected '-' indicator": "check this line's indentation",
    "did not find expected <document start>": "check this line's indentation",
    "mapping values are not allowed in this context": "quote a value that contains ': '",
    "found undefined alias": "an *alias needs an &anchor defined above it",
    "did not find expected node content": "is a [ or { left open, or a value missing?",
}

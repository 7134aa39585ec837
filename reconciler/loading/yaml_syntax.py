"""A YAML syntax error described where it was made, with a hint (PyYAML's messages are terse)."""

from __future__ import annotations

import yaml

from reconciler.errors import Problem
from reconciler.loading.yaml_limits import MAX_DEPTH
from reconciler.model import SourceLocation


def syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
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
    # libyaml's own bound (1,000 levels) is reached before the loader's
    "exceeded maximum nesting depth": f"a desired-state file may nest at most {MAX_DEPTH} levels",
}

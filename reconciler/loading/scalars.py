"""YAML 1.2 core rules for plain and explicitly tagged scalars, so that the YAML 1.1 surprises never silently
change a value: `on`/`no`/`yes` stay strings, timestamps stay strings, and numbers with a leading zero
(account ids, `0755`) stay strings. A field that wants a boolean or an integer then gets a schema error.
"""

from __future__ import annotations

import re
from typing import Any

_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|(0|[1-9][0-9]*)(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_FLOAT_SPECIAL = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}

INVALID = object()  # what `explicit` answers for a tag the text does not fit


# The first characters a plain null, boolean or number can start with; any other text is a string.
_NOT_TEXT_START = frozenset("0123456789-+.~nNtTfF")


def resolve_plain(text: str) -> Any:
    if text and text[0] not in _NOT_TEXT_START:
        return text  # the common case (names, hosts, references), decided without a regular expression
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _INT_OCT.match(text):
        return int(text[2:], 8)
    if _INT_HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if text.lower() in _FLOAT_SPECIAL:
        return _FLOAT_SPECIAL[text.lower()]
    return text


def explicit(tag: str, text: str) -> Any:
    resolved = resolve_plain(text)
    if tag == "tag:yaml.org,2002:int" and isinstance(resolved, int) and not isinstance(resolved, bool):
        return resolved
    if tag == "tag:yaml.org,2002:float" and isinstance(resolved, (int, float)) and not isinstance(resolved, bool):
        return float(resolved)
    if tag == "tag:yaml.org,2002:bool" and isinstance(resolved, bool):
        return resolved
    if tag == "tag:yaml.org,2002:null" and resolved is None:
        return None
    return INVALID

"""A yes/no validity check compiled once from the JSON Schemas: the fast path of `validate`.

jsonschema takes about a millisecond per document, most of it building validator objects as it descends.
Valid documents, the common case, need no messages, so they are checked by closures compiled from the same
schemas; only a document this check rejects goes through jsonschema for its messages. The check is
conservative: it only says "valid" when jsonschema would, and a schema keyword it does not know disables it
(every document then goes through jsonschema). tests/test_validate.py compares the two on generated documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.validation.schema import ENTRY_ID

if TYPE_CHECKING:
    import referencing
    from referencing._core import Resolver

    from reconciler.validation.schema import SchemaSet

Check = Callable[[Any], bool]

# Keywords that never fail a document (annotations) or are only containers for other schemas.
_IGNORED = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "default", "writeOnly", "readOnly", "examples"}
)


class _Unsupported(Exception):
    """A keyword this module does not compile: the fast path is off."""


@functools.lru_cache(maxsize=4)
def compile_check(schemas: SchemaSet) -> Check | None:
    """The compiled check of the entry schema, or None when a schema uses a keyword not handled here."""
    entry: Any = schemas.documents[ENTRY_ID]
    try:
        return _Compiler(schemas.registry).compile(entry, schemas.registry.resolver(base_uri=entry["$id"]))
    except _Unsupported:
        return None


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _all(checks: list[Check]) -> Check:
    # Plain loops rather than all(generator): this runs for every value of every file (#14.2).
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)
    every = tuple(checks)

    def check(value: Any) -> bool:
        for one in every:  # noqa: SIM110 - a loop, not all(generator): measurably faster here
            if not one(value):
                return False
        return True

    return check


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def _same(value: Any, expected: Any) -> bool:
    """Equality as JSON Schema means it, for the scalars schemas use; anything else counts as different
    (the document then goes to jsonschema, which decides)."""
    return type(value) is type(expected) and isinstance(value, (str, bool, int, type(None))) and value == expected


class _Compiler:
    def __init__(self, registry: referencing.Registry[Any]) -> None:
        self.registry = registry
        self.compiled: dict[int, Check] = {}

    def compile(self, node: Any, resolver: Resolver[Any]) -> Check:
        if node is True:
            return _always
        if node is False:
            return _never
        if not isinstance(node, dict):
            raise _Unsupported(repr(node))
        key = id(node)
        if key in self.compiled:
            return self.compiled[key]
        slot: list[Check] = []

        def forward(value: Any) -> bool:  # what a reference back to a node still being compiled calls
            return slot[0](value)

        self.compiled[key] = forward
        checks: list[Check] = []
        for keyword, rule in node.items():
            if keyword in _IGNORED or keyword.startswith("x-") or keyword in ("then", "else"):
                continue
            checks.append(self._keyword(keyword, rule, node, resolver))
        check = _all(checks)
        slot.append(check)
        self.compiled[key] = check
        return check

    def _keyword(self, keyword: str, rule: Any, node: dict[str, Any], resolver: Resolver[Any]) -> Check:
        sub = functools.partial(self.compile, resolver=resolver)
        if keyword == "type":
            names = rule if isinstance(rule, list) else [rule]
            tests = [_TYPES[name] for name in names]
            if len(tests) == 1:
                return tests[0]
            return lambda v: any(test(v) for test in tests)
        if keyword == "enum":
            if all(type(option) is str for option in rule):
                texts = frozenset(rule)
                return lambda v: type(v) is str and v in texts
            return lambda v: any(_same(v, option) for option in rule)
        if keyword == "const":
            return lambda v: _same(v, rule)
        if keyword == "pattern":
            search = re.compile(rule).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= rule
        if keyword == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= rule
        if keyword == "minimum":
            return lambda v: not _is_number(v) or v >= rule
        if keyword == "maximum":
            return lambda v: not _is_number(v) or v <= rule
        if keyword == "exclusiveMinimum":
            return lambda v: not _is_number(v) or v > rule
        if keyword == "exclusiveMaximum":
            return lambda v: not _is_number(v) or v < rule
        if keyword == "required":
            needed = frozenset(rule)
            return lambda v: not isinstance(v, dict) or needed <= v.keys()
        if keyword == "properties":
            children = {name: sub(child) for name, child in rule.items()}

            def properties(v: Any) -> bool:
                if isinstance(v, dict):
                    for name, item in v.items():
                        child = children.get(name)
                        if child is not None and not child(item):
                            return False
                return True

            return properties
        if keyword == "additionalProperties":
            if "patternProperties" in node:
                raise _Unsupported(keyword)
            declared = frozenset(node.get("properties", {}))
            extra = sub(rule)
            if extra is _never:  # `additionalProperties: false`, the common case
                return lambda v: not isinstance(v, dict) or v.keys() <= declared

            def additional(v: Any) -> bool:
                if isinstance(v, dict):
                    for name, item in v.items():
                        if name not in declared and not extra(item):
                            return False
                return True

            return additional
        if keyword == "items":
            if "prefixItems" in node:
                raise _Unsupported(keyword)
            each = sub(rule)

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for item in v:
                        if not each(item):
                            return False
                return True

            return items
        if keyword == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= rule
        if keyword == "uniqueItems":
            if not rule:
                return _always
            # Strings only: other items (1 and 1.0 are equal in JSON Schema) are left to jsonschema.
            return lambda v: (
                not isinstance(v, list) or (all(isinstance(item, str) for item in v) and len(set(v)) == len(v))
            )
        if keyword in ("allOf", "anyOf", "oneOf"):
            members = [sub(member) for member in rule]
            if keyword == "allOf":
                return _all(members)
            if keyword == "anyOf":
                return lambda v: any(member(v) for member in members)
            return lambda v: sum(1 for member in members if member(v)) == 1
        if keyword == "not":
            inner = sub(rule)
            return lambda v: not inner(v)
        if keyword == "if":
            condition = sub(rule)
            then = sub(node.get("then", True))
            otherwise = sub(node.get("else", True))
            return lambda v: then(v) if condition(v) else otherwise(v)
        if keyword == "$ref":
            resolved = resolver.lookup(rule)
            return self.compile(resolved.contents, resolved.resolver)
        raise _Unsupported(keyword)

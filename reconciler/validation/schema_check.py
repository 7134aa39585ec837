"""A yes/no validity check compiled once from the JSON Schemas: the fast path of `validate`.

jsonschema takes about a millisecond per document, most of it building validator objects as it descends, and
importing it (with referencing and attrs) is a good part of a small run's start-up. Valid documents, the
common case, need no messages, so they are checked by closures compiled from the same schemas, following
`$ref` here; only a document this check rejects goes through jsonschema for its messages. The check answers
exactly as jsonschema would (equality is JSON Schema's: 1 == 1.0, true != 1), so it may also decide a
condition such as a schema's `x-warnings`; a keyword or a reference it does not know makes it unavailable
(None) and jsonschema decides instead. tests/test_validate.py compares the two on generated documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin

from reconciler.validation.schema import ENTRY_ID
from reconciler.validation.schema_values import TYPES, Check, equals, is_number, same, unique

if TYPE_CHECKING:
    from reconciler.validation.schema import SchemaSet

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
    return compile_schema(schemas.documents, entry, entry["$id"])


def compile_schema(documents: Mapping[str, Any], node: Any, base: str) -> Check | None:
    """The check of any schema node (`base`: the URI its references are relative to), or None when it uses a
    keyword or a reference not handled here."""
    try:
        return _Compiler(documents).compile(node, base)
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


def _tag_rule(member: Any) -> tuple[str, str] | None:
    """(K, C) for a member written `{if: {properties: {K: {const: C}}, required: [K]}, then: …}`, C a string."""
    if not isinstance(member, dict) or member.keys() != {"if", "then"}:
        return None
    condition = member["if"]
    if not isinstance(condition, dict) or condition.keys() != {"properties", "required"}:
        return None
    properties, required = condition["properties"], condition["required"]
    if not isinstance(properties, dict) or len(properties) != 1 or required != list(properties):
        return None
    name, rule = next(iter(properties.items()))
    if not isinstance(rule, dict) or rule.keys() != {"const"} or type(rule["const"]) is not str:
        return None
    return name, rule["const"]


def _by_tag(tags: list[tuple[str, str]], thens: list[Check], every: Check) -> Check | None:
    """`allOf` of one `if K is C then …` per type (`tags`: each member's K and C), as the entry schema
    dispatches on `type`: for an object, only the member whose constant is its tag can apply (a string equals
    one constant at most; without the tag no `if` holds), so it is looked up instead of every condition being
    tested. A value that is not an object is checked by every member, as written."""
    names = {name for name, _ in tags}
    constants = [constant for _, constant in tags]
    if len(tags) < 2 or len(names) != 1 or len(set(constants)) != len(constants):
        return None  # one constant twice: both members apply; not worth a special case
    name = names.pop()
    table = dict(zip(constants, thens, strict=True))

    def dispatch(v: Any) -> bool:
        if not isinstance(v, dict):
            return every(v)
        if name not in v:
            return True
        tag = v[name]
        then = table.get(tag) if type(tag) is str else None
        return True if then is None else then(v)

    return dispatch


def _lookup(documents: Mapping[str, Any], base: str, ref: str) -> tuple[Any, str]:
    """What `$ref` points at: a schema document (by its `$id`, relative to `base`) and a JSON pointer in it."""
    uri, fragment = urldefrag(urljoin(base, ref))
    node = documents.get(uri)
    if node is None or (fragment and not fragment.startswith("/")):  # an unknown document, an anchor
        raise _Unsupported(ref)
    for token in fragment.split("/")[1:]:
        part = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _Unsupported(ref)
    return node, uri


class _Compiler:
    def __init__(self, documents: Mapping[str, Any]) -> None:
        self.documents = documents
        self.compiled: dict[int, Check] = {}

    def compile(self, node: Any, base: str) -> Check:
        if node is True:
            return _always
        if node is False:
            return _never
        if not isinstance(node, dict):
            raise _Unsupported(repr(node))
        key = id(node)
        if key in self.compiled:
            return self.compiled[key]
        if isinstance(node.get("$id"), str):  # a resource of its own: its references are relative to it
            base = urljoin(base, node["$id"])
        slot: list[Check] = []

        def forward(value: Any) -> bool:  # what a reference back to a node still being compiled calls
            return slot[0](value)

        self.compiled[key] = forward
        checks: list[Check] = []
        for keyword, rule in node.items():
            if keyword in _IGNORED or keyword.startswith("x-") or keyword in ("then", "else"):
                continue
            checks.append(self._keyword(keyword, rule, node, base))
        check = _all(checks)
        slot.append(check)
        self.compiled[key] = check
        return check

    def _keyword(self, keyword: str, rule: Any, node: dict[str, Any], base: str) -> Check:
        sub = functools.partial(self.compile, base=base)
        if keyword == "type":
            names = rule if isinstance(rule, list) else [rule]
            tests = [TYPES[name] for name in names]
            if len(tests) == 1:
                return tests[0]
            return lambda v: any(test(v) for test in tests)
        if keyword == "enum":
            if all(type(option) is str for option in rule):
                texts = frozenset(rule)
                return lambda v: type(v) is str and v in texts
            return lambda v: any(same(v, option) for option in rule)
        if keyword == "const":
            return equals(rule)
        if keyword == "pattern":
            search = re.compile(rule).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= rule
        if keyword == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= rule
        if keyword == "minimum":
            return lambda v: not is_number(v) or v >= rule
        if keyword == "maximum":
            return lambda v: not is_number(v) or v <= rule
        if keyword == "exclusiveMinimum":
            return lambda v: not is_number(v) or v > rule
        if keyword == "exclusiveMaximum":
            return lambda v: not is_number(v) or v < rule
        if keyword == "required":
            needed = frozenset(rule)
            return lambda v: not isinstance(v, dict) or needed <= v.keys()
        if keyword == "properties":
            children = {name: sub(child) for name, child in rule.items()}
            if len(children) == 1:  # a condition such as `if authenticationType is …`: one look-up
                ((only, check),) = children.items()
                return lambda v: not isinstance(v, dict) or only not in v or check(v[only])

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
            return lambda v: not isinstance(v, list) or unique(v)
        if keyword in ("allOf", "anyOf", "oneOf"):
            members = [sub(member) for member in rule]
            if keyword == "allOf":
                every = _all(members)
                tags = [_tag_rule(member) for member in rule]
                if None in tags:
                    return every
                thens = [sub(member["then"]) for member in rule]
                return _by_tag([tag for tag in tags if tag is not None], thens, every) or every
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
            target, target_base = _lookup(self.documents, base, rule)
            return self.compile(target, target_base)
        raise _Unsupported(keyword)

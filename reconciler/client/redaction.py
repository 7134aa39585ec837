"""Secret-free views of what goes over the wire, for the HTTP trace and for error messages.

Structured masking comes first: a JSON body is redacted field by field before it becomes text, driven by
the schemas. A field the schema marks `writeOnly` is hidden, and so is a field the schema does not know —
in `config` (it may be a secret of a newer Immuta release) or at the top level (Trino's GET returns the
Immuta API key there, or in `config`): in doubt, redact.

Free-text scrubbing is the last line of defence, for what structure cannot know: every secret value that
was sent is replaced in the server's texts (a validation message may quote the value it rejected) and in
the string values of a redacted view. It never rewrites the placeholder itself, so `(secret)` never turns
into `(s(secret)cr(secret)t)`, and it never scrubs a value shorter than `SCRUB_MIN_LENGTH` characters:
replacing every `e` would garble every line and show where the secret's letters are, which tells more than
it hides. Such short secrets rely on structured masking; in free text they are replaced only where they
stand alone between quotes (`with value "e"`), as a validation message quotes what it rejected.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.model import Path
from reconciler.secrets import PLACEHOLDER, Secret, mask_all, reveal_all
from reconciler.shown import HIDDEN, server_text, shown, validation_view
from reconciler.validation.schema import SchemaSet, TypeSchema

Json = Any

CONFIG: Path = ("config",)
UNKNOWN_SCRUB_MIN_LENGTH = 8
SCRUB_MIN_LENGTH = 4  # shorter secrets are never scrubbed from free text (see above)
FREE_TEXT = frozenset({"message", "error", "validationResults"})  # a server's texts, which may quote a value
# Top-level fields of the server's own, shown as they are: a record's and a Boom error body's
# [docs/immuta-api.md §1, §4].
SERVER_TOP_LEVEL = frozenset({"id", "status", "validationResults", "statusCode", "error", "message"})


class Redactor:
    """Knows, from the schemas, which parts of a payload, a record or a DELETE credentials body are secret."""

    def __init__(self, schemas: SchemaSet) -> None:
        self._schemas = schemas
        self._all_types: tuple[TypeSchema, ...] = tuple(schemas.types.values())

    def _type_of(self, document: Mapping[str, Json]) -> TypeSchema | None:
        name = document.get("type")
        return self._schemas.types.get(name) if isinstance(name, str) else None

    # -- views for the trace -------------------------------------------------------------------------------

    def payload(self, document: Json) -> Json:
        """A create/update payload or an integration record as GET returns it, as any output may show it
        (reconciler/shown.py): the server's own fields as they are, the payload through the shown-values gate."""
        if not isinstance(document, Mapping):
            return PLACEHOLDER
        server = {name: _server(name, value) for name, value in document.items() if name in SERVER_TOP_LEVEL}
        payload = {name: value for name, value in document.items() if name not in SERVER_TOP_LEVEL}
        return {**server, **shown(self._type_of(document), payload)}

    def records(self, documents: Json) -> Json:
        if not isinstance(documents, list):
            return self.payload(documents)
        return [self.payload(document) for document in documents]

    def credentials(self, body: Json) -> Json:
        """The DELETE body: config credential fields at the top level [A16]. The type is not known here, so a
        key is hidden when it is secret in any type, or unknown to every type."""
        if not isinstance(body, Mapping):
            return PLACEHOLDER
        return {name: _hide(value, (*CONFIG, name), self._all_types) for name, value in body.items()}

    # -- the values to scrub from server text --------------------------------------------------------------

    def payload_secrets(self, document: Json) -> frozenset[str]:
        """The values to scrub from what the server answers to this payload: wrapped Secrets, values at
        secret paths, and long-enough values of fields the schema does not know."""
        found = set(_wrapped(document))
        if isinstance(document, Mapping):
            type_schema = self._type_of(document)
            schemas = (type_schema,) if type_schema else self._all_types
            found.update(_at_secret_paths(document.get("config"), CONFIG, schemas))
        return frozenset(value for value in found if value)

    def credentials_secrets(self, body: Json) -> frozenset[str]:
        found = set(_wrapped(body))
        if isinstance(body, Mapping):
            for name, value in body.items():
                found.update(_at_secret_paths(value, (*CONFIG, name), self._all_types))
        return frozenset(value for value in found if value)


def _server(name: str, value: Json) -> Json:
    """The server's own fields: its texts (scrubbed later) as they are, the others through the gate."""
    if name == "validationResults":
        return validation_view(value)
    return mask_all(value) if name in FREE_TEXT else server_text(value)


def _hide(value: Json, path: Path, schemas: Sequence[TypeSchema]) -> Json:
    if isinstance(value, Secret) or any(s.is_secret(path) for s in schemas):
        return PLACEHOLDER
    if len(path) > 1 and all(s.field(path) is None for s in schemas):
        return HIDDEN
    if isinstance(value, Mapping):
        return {name: _hide(child, (*path, name), schemas) for name, child in value.items()}
    if isinstance(value, list):
        return [_hide(child, (*path, index), schemas) for index, child in enumerate(value)]
    return value


def _wrapped(value: Json) -> Iterator[str]:
    """Every value wrapped as a Secret, wherever it is."""
    if isinstance(value, Secret):
        yield value.reveal()
    elif isinstance(value, Mapping):
        for child in value.values():
            yield from _wrapped(child)
    elif isinstance(value, list):
        for child in value:
            yield from _wrapped(child)


def _at_secret_paths(value: Json, path: Path, schemas: Sequence[TypeSchema]) -> Iterator[str]:
    """Every text value under a path that some schema marks secret, wrapped or not; and, in doubt, the
    values of fields no schema knows, unless too short to be a credential (scrubbing `true` or `443` from
    every message would hide more than it protects)."""
    if any(s.is_secret(path) for s in schemas):
        yield from _leaves(reveal_all(value))
    elif len(path) > 1 and all(s.field(path) is None for s in schemas):
        yield from (leaf for leaf in _leaves(reveal_all(value)) if len(leaf) >= UNKNOWN_SCRUB_MIN_LENGTH)
    elif isinstance(value, Mapping):
        for name, child in value.items():
            yield from _at_secret_paths(child, (*path, name), schemas)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _at_secret_paths(child, (*path, index), schemas)


def _leaves(value: Json) -> Iterator[str]:
    if isinstance(value, Mapping):
        for child in value.values():
            yield from _leaves(child)
    elif isinstance(value, list):
        for child in value:
            yield from _leaves(child)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


def scrub(text: str, secrets: frozenset[str]) -> str:
    """`text` with every known secret value, raw or JSON-escaped, replaced by the placeholder (a shorter one
    than `SCRUB_MIN_LENGTH` only as a whole quoted value) — in one pass, so a replacement is never scrubbed
    again, with the placeholder itself matched as a whole and kept, so no secret is found inside it."""
    pattern = _pattern(secrets)
    if pattern is None:
        return text
    return pattern.sub(lambda match: PLACEHOLDER, text)


@functools.lru_cache(maxsize=16)  # one client's set changes only when a write sends new secrets
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    forms = {(form, len(secret) >= SCRUB_MIN_LENGTH) for secret in secrets if secret for form in _forms(secret)}
    if not forms:
        return None
    # Longest first: at any position the longest form wins, the placeholder among them. A short secret is
    # matched only as a whole quoted value (`with value "e"`), never inside words.
    ordered = sorted({*forms, (PLACEHOLDER, True)}, key=lambda item: (-len(item[0]), item[0]))
    return re.compile(
        "|".join(re.escape(form) if long else f"(?<=[\"'`]){re.escape(form)}(?=[\"'`])" for form, long in ordered)
    )


def _forms(secret: str) -> set[str]:
    """The secret as sent, and as it appears inside a JSON string (escaped, ASCII-only or not)."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}


def scrub_free_text(view: Json, secrets: frozenset[str]) -> Json:
    """A redacted view with `scrub` applied to the server's free texts only (`message`, `error`, the
    validation results): a value of a known field is what the file or the server says it is, shown in the
    plan anyway, and replacing it would only tell that the secret equals it."""
    if isinstance(view, list):
        return [scrub_free_text(item, secrets) for item in view]
    if not isinstance(view, Mapping):
        return scrub_all(view, secrets)
    return {name: scrub_all(value, secrets) if name in FREE_TEXT else value for name, value in view.items()}


def scrub_all(value: Json, secrets: frozenset[str]) -> Json:
    """A copy of a decoded JSON value with `scrub` applied to every text in it, keys included."""
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, Mapping):
        return {scrub(str(k), secrets): scrub_all(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_all(v, secrets) for v in value]
    return value

"""The JSON Schemas as data: validation, defaults, secrets, natural keys and immutable fields.

The reconciler and the sandbox simulator both read every per-type fact from here, so a new field is one
schema edit. Schemas are compiled once per process (`load()` is cached).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema
    import referencing

from reconciler.model import IntegrationKey, Path, parse_dotted
from reconciler.validation.schema_keywords import dispatch, read_rules
from reconciler.walk import copy_json, delete_path, get_path

__all__ = ["copy_json", "delete_path", "get_path"]  # re-exported: their home is reconciler.walk

SCHEMA_BASE = "https://reconciler.dev/schemas/"
ENTRY_ID = SCHEMA_BASE + "integration.schema.json"
WARNINGS_KEYWORD = "x-warnings"  # [{path, when: a JSON Schema the document matches, message}]

# Payload keys that are part of a file but never sent to Immuta.
FILE_ONLY_KEYS = ("ensure", "lifecycle")

Json = Any
Node = dict[str, Any]
SecretTree = dict[Any, "SecretTree | bool"]  # object key → the secrets below it, or True: a secret field


class TypeSchema:
    """Everything the code needs to know about one integration type, read from its schema file."""

    def __init__(self, name: str, root: Node) -> None:
        self.name = name
        self.root = root
        self.rules = read_rules(name, root)  # every per-type rule: schema_keywords.py
        self.natural_key = self.rules.natural_key
        self.replace_on_any_change = self.rules.replace_on_any_change
        self.immutable = self.rules.immutable
        self.unique = self.rules.unique
        # id(node) → (node, its properties); the node is kept so its id cannot be reused while cached.
        self._properties: dict[int, tuple[Node, dict[str, Node] | None]] = {}
        self._defaults: dict[int, tuple[Node, dict[str, Node], tuple[tuple[str, Json], ...]]] = {}
        self.secret_paths: frozenset[Path] = frozenset(self._walk_secrets(root, ()))
        self._secret_cache: dict[Path, bool] = {}
        # The secret paths as a tree of object keys, True where a secret starts: a walk over a document
        # follows it key by key instead of asking `is_secret` with a path built for every value.
        self.secret_tree: SecretTree = {}
        for secret in sorted(self.secret_paths, key=len):
            branch: Any = self.secret_tree
            for part in secret[:-1]:
                if branch is True:
                    break
                branch = branch.setdefault(part, {})
            if branch is not True:
                branch[secret[-1]] = True

    # -- reading the schema tree -------------------------------------------------------------------------

    def _resolve(self, node: Node) -> Node:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            resolved: Node = target  # shared, never mutated: schema nodes are read-only data
            return resolved
        return node

    def properties(self, node: Node) -> dict[str, Node] | None:
        """The properties a schema node declares, following local `$ref` and `allOf`; None when open.
        Cached per schema node: every file of a run asks the same questions."""
        key = id(node)
        if key not in self._properties:
            self._properties[key] = (node, self._collect_properties(node))
        return self._properties[key][1]

    def _collect_properties(self, node: Node) -> dict[str, Node] | None:
        node = self._resolve(node)
        found: dict[str, Node] | None = None
        if isinstance(node.get("properties"), dict):
            found = {k: v for k, v in node["properties"].items() if isinstance(v, dict)}
        for member in node.get("allOf", []):
            inner = self.properties(member)
            if inner is not None:
                found = {**(found or {}), **inner}
        return found

    def field(self, path: Path) -> Node | None:
        """The schema of one field, or None when the schema does not know it."""
        node: Node = self.root
        for part in path:
            if isinstance(part, int):
                items = self._resolve(node).get("items")
                if not isinstance(items, dict):
                    return None
                node = items
                continue
            props = self.properties(node)
            if props is None or part not in props:
                return None
            node = props[part]
        return self._resolve(node)

    def _walk_secrets(self, node: Node, path: Path) -> Iterator[Path]:
        node = self._resolve(node)
        if node.get("writeOnly") is True:
            yield path
        for name, child in (self.properties(node) or {}).items():
            yield from self._walk_secrets(child, (*path, name))

    @functools.cached_property
    def warnings(self) -> tuple[tuple[Path, Callable[[Json], bool], str], ...]:
        """The schema's `x-warnings` as (path, does the rule apply to a document, message), each rule's
        validator built once, when a file of this type is first checked."""
        import jsonschema

        return tuple(
            (parse_dotted(rule["path"]), jsonschema.Draft202012Validator(rule["when"]).is_valid, rule["message"])
            for rule in self.root.get(WARNINGS_KEYWORD, [])
        )

    # -- questions the diff, the plan and the simulator ask ----------------------------------------------

    def is_secret(self, path: Path) -> bool:
        """True for a secret field and anything inside one (asked for every value of every file: cached)."""
        known = self._secret_cache.get(path)
        if known is None:
            known = any(path[:end] in self.secret_paths for end in range(1, len(path) + 1))
            self._secret_cache[path] = known
        return known

    def is_immutable(self, path: Path) -> bool:
        if self.replace_on_any_change:
            return True
        return any(path[: len(fixed)] == fixed for fixed in self.immutable)

    def key_of(self, payload: Mapping[str, Json]) -> IntegrationKey:
        """The natural key of a payload; missing parts are empty strings (validation reports them)."""
        parts = []
        for path in self.natural_key:
            value = get_path(payload, path)
            parts.append((str(path[-1]), "" if value is None else value))
        return IntegrationKey.of(self.name, parts, self.rules.key_compare)

    def apply_defaults(self, payload: Mapping[str, Json]) -> dict[str, Json]:
        """A copy of `payload` with every schema `default` filled in where the key is absent (in the declared
        order, after the keys written), nested objects included, a default object's own defaults too."""
        return self._filled(self.root, payload)

    def _filled(self, node: Node, value: Mapping[str, Json]) -> dict[str, Json]:
        # Copies and fills in one walk, reading the schema through a per-node cache: this runs for every file.
        children, defaults = self._defaults_of(node)
        filled: dict[str, Json] = {}
        for name, item in value.items():
            if not isinstance(item, dict | list):
                filled[name] = item  # a scalar (or a Secret): immutable, shared
                continue
            child = children.get(name)
            if child is not None and isinstance(item, dict):
                filled[name] = self._filled(child, item)
            else:
                filled[name] = copy_json(item)
        for name, default in defaults:
            if name not in filled:
                child = children[name]
                filled[name] = self._filled(child, default) if isinstance(default, dict) else copy_json(default)
        return filled

    def _defaults_of(self, node: Node) -> tuple[dict[str, Node], tuple[tuple[str, Json], ...]]:
        """The declared properties of `node` (resolved) and the defaults among them, in declared order."""
        key = id(node)
        cached = self._defaults.get(key)
        if cached is None:
            children = {name: self._resolve(declared) for name, declared in (self.properties(node) or {}).items()}
            defaults = tuple((name, child["default"]) for name, child in children.items() if "default" in child)
            cached = self._defaults[key] = (node, children, defaults)
        return cached[1], cached[2]

    def unknown_fields(self, payload: Mapping[str, Json]) -> list[tuple[Path, str | None]]:
        """Fields the schema does not declare (maybe real in a newer Immuta), with a near-miss suggestion."""
        found: list[tuple[Path, str | None]] = []
        config = payload.get("config")
        if isinstance(config, dict):
            self._unknown(self.field(("config",)) or {}, config, ("config",), found)
        return found

    def _unknown(self, node: Node, value: Json, path: Path, found: list[tuple[Path, str | None]]) -> None:
        if isinstance(value, list):
            items = self._resolve(node).get("items")
            if isinstance(items, dict):
                for index, item in enumerate(value):
                    self._unknown(items, item, (*path, index), found)
            return
        props = self.properties(node)
        if not isinstance(value, dict) or props is None:
            return
        for name, child_value in value.items():
            if name in props:
                self._unknown(props[name], child_value, (*path, name), found)
            else:
                import difflib  # only for a field the schema does not know: not at start-up

                close = difflib.get_close_matches(name, list(props), n=1, cutoff=0.7)
                found.append(((*path, name), close[0] if close else None))


class SchemaSet:
    """All schemas, compiled once: the entry validator plus one `TypeSchema` per integration type."""

    def __init__(self, documents: dict[str, Node]) -> None:
        entry = documents[ENTRY_ID]
        type_names: list[str] = entry["properties"]["type"]["enum"]
        self.type_names = tuple(type_names)
        self.types: dict[str, TypeSchema] = {}
        for name in type_names:
            doc = documents.get(SCHEMA_BASE + type_file(name))
            if doc is None:
                raise ValueError(f"the entry schema lists {name!r}, but there is no {type_file(name)}")
            self.types[name] = TypeSchema(name, doc)
        # The entry's dispatch on `type` is written from the types themselves: a type cannot be left unchecked.
        files = {name: type_file(name) for name in type_names}
        rules = {name: t.rules for name, t in self.types.items()}
        self.documents = {**documents, ENTRY_ID: {**entry, "allOf": dispatch(type_names, files, rules)}}

    @functools.cached_property
    def version(self) -> str:
        """A digest of every schema, recorded in a saved plan; computed when first asked (validate never asks)."""
        import hashlib

        canonical = json.dumps(self.documents, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]

    def type(self, name: str) -> TypeSchema:
        return self.types[name]

    @functools.cached_property
    def registry(self) -> referencing.Registry[Any]:
        """The schemas as jsonschema resolves them, built on first use, like `validator`: commands that read
        no file (`--help`, `schema --out`) import neither jsonschema nor referencing."""
        import referencing
        import referencing.jsonschema

        resources_ = [
            (uri, referencing.Resource.from_contents(doc, default_specification=referencing.jsonschema.DRAFT202012))
            for uri, doc in self.documents.items()
        ]
        return referencing.Registry().with_resources(resources_)

    @functools.cached_property
    def validator(self) -> jsonschema.Draft202012Validator:
        """The entry schema's validator, built once per run, on first use (jsonschema, the one JSON Schema
        implementation). Its errors become messages in schema_messages.validate."""
        import jsonschema

        return jsonschema.Draft202012Validator(self.documents[ENTRY_ID], registry=self.registry)


def type_file(type_name: str) -> str:
    """`Azure Synapse Analytics` → `azure-synapse-analytics.schema.json`."""
    return type_name.lower().replace(" ", "-") + ".schema.json"


@functools.cache
def load() -> SchemaSet:
    """The schemas installed with the package (`schemas/` in the source tree)."""
    documents: dict[str, Node] = {}
    for entry in _schema_folder().iterdir():
        if entry.name.endswith(".schema.json"):
            doc = json.loads(entry.read_text(encoding="utf-8"))
            documents[doc["$id"]] = doc
    return SchemaSet(documents)


def _schema_folder() -> Traversable:
    try:
        return resources.files("reconciler.schemas")
    except ModuleNotFoundError:
        # Imported from a source checkout (the working directory shadows the installed package).
        return resources.files("reconciler").joinpath("..", "schemas")


def payload_of(document: Mapping[str, Json]) -> dict[str, Json]:
    """The API payload inside a file: everything but the file-only keys."""
    return {k: v for k, v in document.items() if k not in FILE_ONLY_KEYS}

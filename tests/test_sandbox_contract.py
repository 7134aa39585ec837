"""The simulator's contract table (reconciler/sandbox/contract.py) against the schemas (schemas/*.json), field
by field and per type: required (per authenticationType, autoBootstrap and useCertificate), server defaults
(values), secrets (writeOnly), natural keys (x-naturalKey), immutable fields (x-immutable), the credentials
DELETE takes and needs (x-delete-credentials) and the optional script stages (x-setup-script).

The two are independent readings of one document: where they differ, one of them is wrong, or the document
is silent. Every known disagreement is listed, with its reason, in KNOWN_DISAGREEMENTS — and only there. A
disagreement not listed fails, and so does a listed one that no longer exists (remove it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import pytest

from reconciler.sandbox import contract as sandbox_contract
from reconciler.sandbox import validation as sandbox_validation
from reconciler.validation.schema import SchemaSet, TypeSchema, load

Path = tuple[str, ...]

# (type, aspect, field) → why the sandbox (the contract's reading) and the schemas differ.
KNOWN_DISAGREEMENTS: dict[tuple[str, str, str], str] = {
    ("Redshift", "required", "config.username"): (
        "§3.1 marks neither required; the sandbox infers them for userPassword only (okta signs in otherwise), "
        "the schema requires them for every method"
    ),
    ("Redshift", "required", "config.password"): "as config.username: the sandbox requires it for userPassword only",
    ("Redshift", "delete credential for okta", "username"): (
        "§5 names the privileged login, not the method; the sandbox asks it of userPassword only (okta signs in "
        "otherwise), the schema [A16] of okta too, so that a DELETE is never sent without it"
    ),
    ("Redshift", "delete credential for okta", "password"): "as username",
}

SAMPLES = {  # values matching the schemas' patterns, by field name
    "host": "acme.example.com",
    "workspaceUrl": "dbc-1.cloud.databricks.com",
    "catalog": "immuta_catalog",
    "datasetSuffix": "_secure",
    "dataset": "immuta",
    "location": "us-east1",
    "awsAccountId": "123456789012",
    "awsRegion": "us-east-1",
    "awsLocationRole": "arn:aws:iam::123456789012:role/location",
    "awsRoleToAssume": "arn:aws:iam::123456789012:role/assume",
    "awsLocationPath": "s3://lake/",
}


def maximal_config(type_schema: TypeSchema, node: Mapping[str, Any]) -> dict[str, Any]:
    """A config with every field the schema declares, each with a valid value."""
    config: dict[str, Any] = {}
    for name, declared in (type_schema.properties(node) or {}).items():
        field = type_schema._resolve(declared)  # follows a local $ref; reads only
        if "const" in field:
            config[name] = field["const"]
        elif "enum" in field:
            config[name] = field["enum"][0]
        elif field.get("type") == "object":
            config[name] = maximal_config(type_schema, field)
        elif field.get("type") == "array":
            config[name] = []
        elif field.get("type") == "integer":
            config[name] = 443
        elif field.get("type") == "boolean":
            config[name] = False
        else:
            config[name] = SAMPLES.get(name, f"{name}-value")
    return config


def paths_of(value: Mapping[str, Any], prefix: Path = ("config",)) -> Iterator[Path]:
    for name, child in value.items():
        yield (*prefix, name)
        if isinstance(child, Mapping):
            yield from paths_of(child, (*prefix, name))


def without(payload: dict[str, Any], path: Path) -> dict[str, Any]:
    copy: dict[str, Any] = {k: v for k, v in payload.items()}
    node = copy
    for part in path[:-1]:
        node[part] = dict(node[part])
        node = node[part]
    del node[path[-1]]
    return copy


def with_value(payload: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    copy = without(payload, path) if _has(payload, path) else dict(payload)
    node = copy
    for part in path[:-1]:
        node[part] = dict(node.get(part, {}))
        node = node[part]
    node[path[-1]] = value
    return copy


def _has(payload: Mapping[str, Any], path: Path) -> bool:
    node: Any = payload
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


class Readers:
    def __init__(self, schemas: SchemaSet, type_name: str) -> None:
        self.type_schema = schemas.types[type_name]
        self.validator = jsonschema.Draft202012Validator(self.type_schema.root, registry=schemas.registry)

    def schema_requires(self, payload: dict[str, Any], path: Path) -> bool:
        for error in self.validator.iter_errors(without(payload, path)):
            at_parent = error.validator == "required" and tuple(error.absolute_path) == path[:-1]
            if at_parent and path[-1] in error.validator_value and path[-1] not in (error.instance or {}):
                return True
        return False

    @staticmethod
    def sandbox_requires(payload: dict[str, Any], path: Path) -> bool:
        found = sandbox_validation.issues(without(payload, path))
        return any(issue.path == path and issue.problem == "is required" for issue in found)


def scenarios(table: sandbox_contract.TypeContract) -> list[dict[Path, Any]]:
    fields = table.config or {}
    auth = fields.get("authenticationType")
    methods = list(auth.choices) if auth is not None and auth.choices else ["userPassword"] if auth else [None]
    boots = [False] if table.auto_bootstrap == "false" else [True, False]
    certificates = [True, False] if "oAuthClientConfig" in fields else [None]
    found = []
    for method, boot, certificate in itertools.product(methods, boots, certificates):
        scenario: dict[Path, Any] = {("autoBootstrap",): boot}
        if method is not None:
            scenario[("config", "authenticationType")] = method
        if certificate is not None:
            scenario[("config", "oAuthClientConfig", "useCertificate")] = certificate
        found.append(scenario)
    return found


def describe(scenario: Mapping[Path, Any]) -> str:
    return ", ".join(f"{'.'.join(path)}={value}" for path, value in scenario.items())


def required_disagreements(schemas: SchemaSet, type_name: str) -> dict[tuple[str, str, str], list[str]]:
    table = sandbox_contract.TYPES[type_name]
    readers = Readers(schemas, type_name)
    found: dict[tuple[str, str, str], list[str]] = {}
    if table.config is None:
        return found
    base = {
        "type": type_name,
        "config": maximal_config(readers.type_schema, readers.type_schema.field(("config",)) or {}),
    }
    for scenario in scenarios(table):
        payload = base
        for path, value in scenario.items():
            payload = with_value(payload, path, value)
        for path in paths_of(payload["config"]):
            ours, theirs = readers.sandbox_requires(payload, path), readers.schema_requires(payload, path)
            if ours != theirs:
                how = f"[{describe(scenario)}] sandbox: {'required' if ours else 'optional'}, "
                how += f"schemas: {'required' if theirs else 'optional'}"
                found.setdefault((type_name, "required", ".".join(path)), []).append(how)
    return found


def flat(value: Mapping[str, Any], prefix: str = "config") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, child in value.items():
        if isinstance(child, Mapping) and child:
            out |= flat(child, f"{prefix}.{name}")
        else:
            out[f"{prefix}.{name}"] = child
    return out


def compare_sets(
    type_name: str, aspect: str, ours: set[str], theirs: set[str]
) -> dict[tuple[str, str, str], list[str]]:
    found: dict[tuple[str, str, str], list[str]] = {}
    for name in sorted(ours ^ theirs):
        where = "only in the sandbox's table" if name in ours else "only in the schemas"
        found[(type_name, aspect, name)] = [where]
    return found


def disagreements(schemas: SchemaSet, type_name: str) -> dict[tuple[str, str, str], list[str]]:
    table = sandbox_contract.TYPES[type_name]
    type_schema = schemas.types[type_name]
    found = required_disagreements(schemas, type_name)
    ours = flat(sandbox_contract.documented_defaults(table.config or {}))
    theirs = flat(type_schema.apply_defaults({"type": type_name, "config": {}}).get("config", {}))
    for name in sorted(set(ours) | set(theirs)):
        if ours.get(name, "(none)") != theirs.get(name, "(none)"):
            how = f"sandbox: {ours.get(name, '(none)')!r}, schemas: {theirs.get(name, '(none)')!r}"
            found[(type_name, "default", name)] = [how]
    secrets = {".".join(map(str, p)) for p in sandbox_contract.secret_paths(table)}
    found |= compare_sets(type_name, "secret", secrets, {".".join(map(str, p)) for p in type_schema.secret_paths})
    key = set(table.natural_key) or {"type"}  # Trino: the type alone
    found |= compare_sets(type_name, "natural key", key, set(type_schema.root.get("x-naturalKey", [])))
    found |= compare_sets(type_name, "immutable", set(table.immutable), set(type_schema.root.get("x-immutable", [])))
    delete = set(table.delete_fields or ())
    found |= compare_sets(type_name, "delete credential", delete, set(type_schema.rules.delete_credentials))
    for method in sorted(set(table.delete_required) | set(type_schema.rules.delete_required)):
        sandbox_needs = set(table.delete_required.get(method, ()))
        schema_needs = set(type_schema.rules.delete_required.get(method, ()))
        found |= compare_sets(type_name, f"delete credential for {method}", sandbox_needs, schema_needs)
    stages = set(table.setup_scripts)
    found |= compare_sets(type_name, "setup script", stages, set(type_schema.rules.setup_scripts))
    return found


def all_disagreements() -> dict[tuple[str, str, str], list[str]]:
    schemas = load()
    assert set(sandbox_contract.TYPES) == set(schemas.types), "the two readings know different types"
    found: dict[tuple[str, str, str], list[str]] = {}
    for type_name in sandbox_contract.TYPE_NAMES:
        found |= disagreements(schemas, type_name)
    return found


@pytest.fixture(scope="module")
def found() -> dict[tuple[str, str, str], list[str]]:
    return all_disagreements()


@pytest.mark.parametrize("type_name", sandbox_contract.TYPE_NAMES)
def test_the_sandbox_table_agrees_with_the_schemas(
    found: dict[tuple[str, str, str], list[str]], type_name: str
) -> None:
    unlisted = {key: how for key, how in found.items() if key[0] == type_name and key not in KNOWN_DISAGREEMENTS}
    lines = [f"{t} {aspect} {name}: {'; '.join(how)}" for (t, aspect, name), how in sorted(unlisted.items())]
    assert not lines, "disagreements not in KNOWN_DISAGREEMENTS:\n" + "\n".join(lines)


def test_no_listed_disagreement_is_stale(found: dict[tuple[str, str, str], list[str]]) -> None:
    stale = [f"{t} {aspect} {name}" for (t, aspect, name) in KNOWN_DISAGREEMENTS if (t, aspect, name) not in found]
    assert not stale, "listed in KNOWN_DISAGREEMENTS but the two readings now agree (remove):\n" + "\n".join(stale)


def test_the_comparison_sees_a_disagreement() -> None:
    """The comparison itself can fail: a default changed in the sandbox's table shows up, named."""
    schemas = load()
    original = sandbox_contract.TYPES["Redshift"]
    fields = dict(original.config or {})
    fields["port"] = sandbox_contract.Field("integer", default=5440, maximum=65535)
    changed = sandbox_contract.TypeContract(
        **{**{f: getattr(original, f) for f in original.__slots__}, "config": fields}
    )
    sandbox_contract.TYPES["Redshift"] = changed
    try:
        found = disagreements(schemas, "Redshift")
    finally:
        sandbox_contract.TYPES["Redshift"] = original
    assert found[("Redshift", "default", "config.port")] == ["sandbox: 5440, schemas: 5439"]

"""Property: for any desired files and any state of the simulator, applying the plan and planning again
yields no writes — the plan settles after one apply.

Generated: integrations of every type, matched or not by an existing one, with server defaults written out
or left to the schema, secrets as ${env:…} references, `ignoreChanges` entries, keys in any order,
tombstones; existing integrations added and edited out of band (fields the schema does not know, ignored
fields, other values, createError), and orphans. `prune` is drawn once and used for both plans.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.applying.apply import ApplyOptions, apply_plan
from reconciler.applying.poller import Poller, Schedule
from reconciler.client.immuta import Auth, ImmutaClient
from reconciler.desired import SecretMode, load_desired
from reconciler.planning import engine
from reconciler.planning.plan import Plan
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.transport import SandboxTransport
from reconciler.secrets import Lookup
from reconciler.target import Target
from reconciler.validation.schema import load

SCHEMAS = load()
KEY = "property-key"
TARGET = Target("https://property.immuta.example")
ENV = {"PW": "generated-password", "TOKEN": "generated-token", "SA_KEY": "{}", "AK": "AKIA0", "SK": "sk0"}
TYPES = ("Snowflake", "Databricks", "Redshift", "Azure Synapse Analytics", "Google BigQuery", "Native S3", "Trino")
CREDENTIAL_TYPES = ("Snowflake", "Redshift", "Azure Synapse Analytics")  # DELETE needs credentials (A16)


@dataclass(frozen=True)
class Variant:
    """The choices that make one payload of a type differ from another with the same natural key."""

    auto_bootstrap: bool
    pick: int  # selects a value of each variable field
    flag: bool  # a nested boolean
    explicit_defaults: bool  # write server defaults out, or leave them to the schema


def config_of(type_name: str, key: int, v: Variant, secret: Any) -> dict[str, Any]:
    """A valid config; `secret(name)` gives a secret's value (a reference in a file, a literal for Immuta)."""
    defaults: dict[str, Any] = {}
    if type_name == "Snowflake":
        config: dict[str, Any] = {
            "host": f"acct-{key}.snowflakecomputing.com",
            "warehouse": ["WH", "WH_XL", "WH_S"][v.pick],
            "database": ["DB", "DB", "DB_NEW"][v.pick],  # immutable: a replace when it differs
            "authenticationType": "userPassword",
            "username": "immuta",
            "password": secret("PW"),
            "role": "ACCOUNTADMIN",
            "audit": {"enabled": v.flag},
            "workspaces": {"enabled": True, "warehouses": ["A", "B", "C"][: v.pick + 1]},
        }
        defaults = {"port": 443, "impersonation": {"enabled": False}, "lineage": {"enabled": False}}
    elif type_name == "Databricks":
        config = {
            "workspaceUrl": f"dbc-{key}.cloud.databricks.com",
            "httpPath": ["/sql/1", "/sql/2", "/sql/3"][v.pick],
            "catalog": ["cat", "cat", "cat_b"][v.pick],  # immutable
            "authenticationType": "token",
            "token": secret("TOKEN"),
            "audit": {"enabled": v.flag},
        }
        defaults = {"port": 443}
    elif type_name == "Redshift":
        config = {
            "host": f"rs-{key}.example.com",
            "database": "immuta",
            "authenticationType": "userPassword",
            "username": ["u1", "u2", "u3"][v.pick],
            "password": secret("PW"),
            "impersonation": {"enabled": v.flag, "role": "imp"} if v.flag else {"enabled": False},
        }
        if v.auto_bootstrap:
            config["initialDatabase"] = "dev"
        defaults = {"port": 5439}
    elif type_name == "Azure Synapse Analytics":
        config = {
            "host": f"syn-{key}.sql.azuresynapse.net",
            "database": "dw",
            "schema": "immuta",
            "authenticationType": "userPassword",
            "username": ["u1", "u2", "u3"][v.pick],
            "password": secret("PW"),
            "impersonation": {"enabled": v.flag},
            "metadataDelimiters": {"hashDelimiter": ["|", "|", "#"][v.pick]},  # immutable
        }
        defaults = {"port": 1433}
    elif type_name == "Google BigQuery":
        config = {
            "role": ["r1", "r2", "r3"][v.pick],
            "datasetSuffix": "_secure",
            "dataset": f"ds_{key}",
            "location": "us-east1",
            "credential": secret("SA_KEY"),
        }
    else:  # Native S3
        config = {
            "name": f"lake-{key}",
            "awsAccountId": "123456789012",
            "awsRegion": ["us-east-1", "us-west-2", "eu-west-1"][v.pick],
            "awsLocationRole": "arn:aws:iam::123456789012:role/loc",
            "awsLocationPath": f"s3://lake-{key}-{v.pick}/",
            "authenticationType": "accessKey",
            "awsAccessKeyId": secret("AK"),
            "awsSecretAccessKey": secret("SK"),
        }
        defaults = {"port": 443}
    return {**config, **defaults} if v.explicit_defaults else config


def payload_of(type_name: str, key: int, v: Variant, secret: Any) -> dict[str, Any]:
    if type_name == "Trino":
        return {"type": "Trino"}
    manual_only = type_name in ("Google BigQuery", "Native S3")
    auto = v.auto_bootstrap and not manual_only
    return {"type": type_name, "autoBootstrap": auto, "config": config_of(type_name, key, v, secret)}


def shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    return value


@dataclass(frozen=True)
class Slot:
    type_name: str
    key: int
    desired: str  # "file", "tombstone" or "none"
    desired_variant: Variant
    ignore_lineage: bool
    actual: bool
    actual_variant: Variant
    unknown_field: bool  # a field of a newer Immuta, reported by the server
    lineage_edit: bool  # someone turned lineage on in the UI (ignored when the file says so)
    create_error: bool
    order_seed: int


variants = st.builds(Variant, st.booleans(), st.integers(0, 2), st.booleans(), st.booleans())


@st.composite
def slots(draw: st.DrawFn) -> list[Slot]:
    chosen = draw(
        st.lists(
            st.tuples(st.sampled_from(TYPES), st.integers(0, 2)),
            min_size=1,
            max_size=7,
            unique_by=lambda pair: (pair[0], 0 if pair[0] == "Trino" else pair[1]),
        )
    )
    found = []
    for type_name, key in chosen:
        desired = draw(st.sampled_from(["file", "file", "tombstone", "none"]))
        actual = draw(st.booleans()) or desired == "none"
        found.append(
            Slot(
                type_name,
                key,
                desired,
                draw(variants),
                draw(st.booleans()),
                actual,
                draw(variants),
                draw(st.booleans()),
                draw(st.booleans()),
                draw(st.booleans()) and draw(st.booleans()),
                draw(st.integers(0, 2**16)),
            )
        )
    return found


def write_file(folder: Path, slot: Slot) -> None:
    def reference(name: str) -> str:
        return f"${{env:{name}}}"

    document: dict[str, Any] = payload_of(slot.type_name, slot.key, slot.desired_variant, reference)
    if slot.desired == "tombstone":
        document = {"type": slot.type_name, "ensure": "absent"}
        if slot.type_name != "Trino":
            full = config_of(slot.type_name, slot.key, slot.desired_variant, reference)
            names = [path[-1] for path in SCHEMAS.types[slot.type_name].natural_key]
            credentials = ("username", "password", "role") if slot.type_name in CREDENTIAL_TYPES else ()
            document["config"] = {k: v for k, v in full.items() if k in names or k in credentials}
    elif slot.ignore_lineage and slot.type_name == "Snowflake":
        document["lifecycle"] = {"ignoreChanges": ["config.lineage"]}
    text = yaml.safe_dump(shuffled(document, random.Random(slot.order_seed)), sort_keys=False)
    (folder / f"{slot.type_name.replace(' ', '-').lower()}-{slot.key}.yaml").write_text(text, encoding="utf-8")


def build_tenant(sandbox: Sandbox, slots_: list[Slot]) -> None:
    for slot in slots_:
        if not slot.actual:
            continue
        variant = slot.actual_variant
        if slot.desired == "none" and slot.type_name in CREDENTIAL_TYPES:
            # An orphan that --prune may delete: no file can carry the credentials its DELETE would need.
            variant = Variant(False, variant.pick, variant.flag, variant.explicit_defaults)
        integration_id = sandbox.oob_add(payload_of(slot.type_name, slot.key, variant, lambda name: ENV[name]))
        if slot.unknown_field:
            sandbox.oob_edit(integration_id, "config.someNewField", {"since": "a later release"})
        if slot.lineage_edit and slot.type_name == "Snowflake":
            sandbox.oob_edit(integration_id, "config.lineage.enabled", True)
        if slot.create_error:
            sandbox.oob_set_status(integration_id, "createError")


def make_plan(client: ImmutaClient, folder: Path, prune: bool) -> Plan:
    desired = load_desired([str(folder)], SCHEMAS, mode=SecretMode.REQUIRE, lookup=Lookup(ENV))
    actual = engine.observe(client, SCHEMAS)
    return engine.plan_for(desired, actual, SCHEMAS, TARGET, prune)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slots(), st.booleans())
def test_applying_the_plan_settles(generated: list[Slot], prune: bool) -> None:
    sandbox = Sandbox(api_key=KEY)
    build_tenant(sandbox, generated)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ImmutaClient("http://sandbox.invalid", Auth.api_key(KEY), transport=SandboxTransport(sandbox.handle)) as client,
    ):
        folder = Path(tmp)
        for slot in generated:
            if slot.desired != "none":
                write_file(folder, slot)
        first = make_plan(client, folder, prune)
        results = apply_plan(
            first, client, ApplyOptions(parallelism=4, timeout=5, poller=Poller(Schedule(first=0.0, cap=0.0)))
        )
        failed = [(r.change.key, r.message) for r in results if r.outcome != "done"]
        assert not failed
        second = make_plan(client, folder, prune)
        leftover = [(str(c.key), c.action.value, [f.path for f in c.fields], c.reason) for c in second.writes]
        assert not second.has_changes, leftover
        files = sum(slot.desired == "file" for slot in generated)
        assert sum(c.file is not None and c.desired is not None and c.desired.present for c in second.changes) == files
        # Settled stays settled when a newer Immuta starts reporting fields this version does not know.
        for record in sandbox.list_integrations():
            sandbox.oob_edit(str(record["id"]), "config.addedByANewerImmuta", [1, 2.0, {"x": None}])
        third = make_plan(client, folder, prune)
        assert not third.has_changes, [(str(c.key), c.action.value) for c in third.writes]

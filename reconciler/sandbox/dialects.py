"""Server dialects (docs/immuta-api.md §8): where Immuta's documentation is silent, each plausible answer is a switch.

ONE registry, `SWITCHES`: name, allowed values (the first is the default: the simulator's reading in
assumptions.py), one line of description. `PROFILES` bundle several switches. A `Dialect` is one choice of
every switch; `Dialect.from_assignments(["profile=sparse", "ids=number"])` maps `--dialect NAME=VALUE` flags
(a profile first, then the other assignments over it, whatever their order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Switch:
    name: str
    values: tuple[str, ...]  # values[0] is the default
    description: str
    # Values that model a failing tenant, not a way of speaking: under them the reconciler fails closed by design
    # (§10.5), which the lifecycle matrix (tests/e2e/test_e2e_dialects.py) expects of the rows that draw them.
    failing: tuple[str, ...] = ()

    @property
    def default(self) -> str:
        return self.values[0]


SWITCHES: tuple[Switch, ...] = (
    Switch(
        "defaults",
        ("documented", "none", "some", "many"),
        "server defaults GET fills in [A10]: the contract's; none (only what was sent); port and audit only; "
        "many (also impersonation, lineage, workspaces, userRolePattern… some differing from the contract)",
    ),
    Switch("fields", ("all", "confirmed"), "config fields GET reports: all stored; only those the docs' examples show"),
    Switch("secrets", ("omitted", "masked", "clear"), "secret fields on GET [A10]: omitted; `********`; in clear"),
    Switch(
        "trino_key", ("none", "top", "config"), "Trino's Immuta API key on GET [doc]: absent; `apiKey`; `config.apiKey`"
    ),
    Switch("ids", ("string", "number"), "the JSON type of `id` [A8]"),
    Switch("order", ("oldest", "newest", "shuffled"), "order of GET /integrations (shuffled: seeded, every call)"),
    Switch("extra", ("none", "extra"), "server-only fields (`createdAt`, `connectArgs`…) at the top and in config"),
    Switch("create_status", ("200", "201", "202"), "status of a successful POST /integrations [A3]"),
    Switch(
        "put", ("replace", "merge"), "PUT replaces the config (omitted: default) or merges into it (omitted: kept) [A4]"
    ),
    Switch(
        "delete_status",
        ("200", "202", "204"),
        "DELETE answers 200 or 202 with the integration `deleting`, or 204 with no body [A5]",
    ),
    Switch(
        "deleted",
        ("linger", "vanish"),
        "a deleted integration stays listed as `deleting` until provisioned, or vanishes at once [A5]",
    ),
    Switch(
        "status_body",
        ("short", "whole"),
        "GET …/status answers {id, status, validationResults} or the whole integration [A6]",
    ),
    Switch("errors", ("joi", "free"), '400 message: Joi-style (`"config.x" is required`) or a free sentence [A14]'),
    Switch(
        "transitional",
        ("409", "422", "queued"),
        "PUT/DELETE while creating/editing/deleting: 409, 422, or accepted and queued [A15]",
    ),
    Switch(
        "delete_credentials",
        ("top", "config"),
        "where DELETE expects the privileged credentials: top level, or under `config` [A16]",
    ),
    Switch(
        "immutable_change",
        ("422", "400"),
        "a PUT changing an immutable field: 422 [A13], or 400 `… non-editable attribute(s).` (§9.4)",
    ),
    Switch(
        "snowflake_features",
        ("present", "ignored", "refused"),
        "Snowflake lineage and workspaces (§9.15): known; accepted but never reported; refused as not allowed (400)",
    ),
    Switch(
        "synapse_conflict",
        ("host", "key"),
        "a second Synapse integration answers 409 on the same host alone (§9.7), or only on host+database+schema [A9]",
    ),
    Switch(
        "release",
        ("saas", "2024.2"),
        "whose texts: SaaS, or releases 2022.2 to 2024.2 (their Databricks DELETE 400 text)",
    ),
    Switch(
        "token_request",
        ("either", "header", "body"),
        "POST /bim/apikey/authenticate takes the API key in the Authorization header [doc, §9.13] or in an "
        '{"apikey": …} body [A1]: either; the header only; the body only',
    ),
    # Connections (contract §10.6): C1 to C8.
    Switch(
        "search_paging",
        ("body", "query"),
        "POST /data/object/search reads `offset`/`size` from the JSON body ({} or none: the first page), or "
        "from the query string, ignoring the body [C1]",
    ),
    Switch(
        "search_answer",
        ("paged", "array"),
        "the search answers {count, hits}, 10 per page whatever `size` asks, or a bare array of every object [C2]",
    ),
    Switch("object_path", ("list", "string"), 'a data object\'s `objectPath`: ["key"], or "key" [C3]'),
    Switch(
        "databricks_key",
        ("workspaceUrl", "host"),
        "a connection-backed Databricks integration reports config.workspaceUrl, or config.host with no "
        "workspaceUrl and no httpPath [C4]",
    ),
    Switch(
        "data_api",
        ("available", "absent", "error", "unauthorized", "forbidden", "timeout", "dropped", "garbled", "short"),
        "/data: answers; 404 everywhere (no connections API); 500; 401; 403; never answers in time; drops the "
        "connection; a search answer of neither shape; a `count` its pages never reach [C5]",
        failing=("error", "unauthorized", "forbidden", "timeout", "dropped", "garbled", "short"),
    ),
    Switch(
        "connection_writes",
        ("carried", "refused"),
        "a PUT/DELETE/regenerate/script of a connection-backed integration is carried out, or refused 409 [C7]",
    ),
    Switch("native_ids", ("number", "string"), "the JSON type of `nativeIntegrationId` [doc: integer; C8, A8]"),
)
SWITCH_BY_NAME: Mapping[str, Switch] = {s.name: s for s in SWITCHES}

PROFILES: Mapping[str, Mapping[str, str]] = {
    "sparse": {
        "defaults": "none",
        "fields": "confirmed",
        "put": "merge",
        "ids": "string",
        "delete_status": "204",
        "deleted": "vanish",
    },
    "rich": {
        "defaults": "many",
        "extra": "extra",
        "secrets": "masked",
        "trino_key": "top",
        "create_status": "201",
        "order": "oldest",
        "status_body": "whole",
    },
}
PROFILE = "profile"


@dataclass(frozen=True, slots=True)
class Dialect:
    """One value per switch; only non-default values are stored, so equal dialects compare equal."""

    choices: tuple[tuple[str, str], ...] = ()

    def __getitem__(self, name: str) -> str:
        return dict(self.choices).get(name, SWITCH_BY_NAME[name].default)

    @classmethod
    def of(cls, values: Mapping[str, str]) -> Dialect:
        """From `{name: value}`; ValueError names the choices of an unknown name or value."""
        for name, value in values.items():
            switch = SWITCH_BY_NAME.get(name)
            if switch is None:
                raise ValueError(
                    f"unknown dialect switch {name!r}; choose from: {', '.join([PROFILE, *SWITCH_BY_NAME])}"
                )
            if value not in switch.values:
                raise ValueError(f"dialect {name}: {value!r} is not one of {', '.join(switch.values)}")
        kept = {n: v for n, v in values.items() if v != SWITCH_BY_NAME[n].default}
        return cls(tuple(sorted(kept.items())))

    @classmethod
    def from_assignments(cls, assignments: Iterable[str]) -> Dialect:
        values: dict[str, str] = {}
        profile: Mapping[str, str] = {}
        for assignment in assignments:
            name, sep, value = (part.strip() for part in assignment.partition("="))
            name = name.replace("-", "_")
            if not sep:
                raise ValueError(f"{assignment!r} is not NAME=VALUE")
            if name == PROFILE:
                if value not in PROFILES:
                    raise ValueError(f"dialect profile: {value!r} is not one of {', '.join(PROFILES)}")
                profile = PROFILES[value]
            else:
                values[name] = value
        return cls.of({**profile, **values})

    def assignments(self) -> list[str]:
        return [f"{name}={value}" for name, value in self.choices]

    def describe(self) -> str:
        return ", ".join(self.assignments()) or "the defaults"


def all_cases() -> list[tuple[str, ...]]:
    """Every value of every switch alone (but the failing ones), then every profile: what `doctor` is tried on."""
    cases: list[tuple[str, ...]] = [(f"{s.name}={v}",) for s in SWITCHES for v in s.values if v not in s.failing]
    return cases + [(f"{PROFILE}={name}",) for name in PROFILES]

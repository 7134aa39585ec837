"""Every place where Immuta's documentation is silent and this project assumes, named after its Ax.

The numbers match `docs/immuta-api.md`. Change an assumption here, in one edit, once it has
been checked against a real tenant; the reconciler and the sandbox simulator both read it from this module
(A9, A13, A16 and A17 are per-type schema data and live in `schemas/*.schema.json` as `x-naturalKey`,
`x-immutable`, `x-delete-credentials` and `x-key-compare`; validation/schema_keywords.py reads them).
"""

from __future__ import annotations

from typing import Final

# A1 — permissions: a caller without APPLICATION_ADMIN gets 403; missing/wrong key or expired token gets 401.
A1_FORBIDDEN_STATUS: Final = 403
A1_UNAUTHORIZED_STATUS: Final = 401

# A2 — rate limits: none documented; these statuses are retried, honouring Retry-After.
A2_RETRYABLE_STATUSES: Final = frozenset({429, 502, 503, 504})

# A3 — POST /integrations answers 200; any 2xx is accepted (no constant: the client accepts any 2xx).

# A4 — PUT takes the whole {type, autoBootstrap, config} payload; answers the integration, status `editing`.
A4_UPDATE_STATUS_AFTER_PUT: Final = "editing"

# A5 — DELETE answers the integration with status `deleting`; once done it disappears from GET /integrations.
A5_DELETE_STATUS_AFTER_DELETE: Final = "deleting"

# A6 — GET /integrations/{id}/status answers {id, status, validationResults}.
A6_STATUS_FIELDS: Final = ("id", "status", "validationResults")

# A7 — the script endpoints answer the script as text.
A7_SCRIPT_CONTENT_TYPE: Final = "text/plain; charset=utf-8"

# A8 — `id` is documented as a number but every example shows a string: accept both, compare as strings
# (actual.py keeps every id as a string).

# A9 — natural keys per type: schemas/*.schema.json `x-naturalKey` (Snowflake's is documented).
A9_NATURAL_KEY_KEYWORD: Final = "x-naturalKey"

# A10 — secret (writeOnly) fields are never returned by GET; GET fills server defaults into `config`
# (schemas/*.schema.json `writeOnly` and `default`; planning/diff.py compares accordingly).

# A11 — the Snowflake feature objects and Redshift `okta` follow the UI: encoded in the schemas as written.

# A12 — Trino has no PUT: any change is delete then create (schemas/trino.schema.json `x-immutable: ["*"]`).

# A13 — immutable fields per type: schemas/*.schema.json `x-immutable`; a PUT changing one answers 422.
A13_IMMUTABLE_KEYWORD: Final = "x-immutable"
A13_IMMUTABLE_CHANGE_STATUS: Final = 422
# Contract §9.4 [secondary]: the other answer, 400 with this text; both are read as "this needs a replace".
A13_NON_EDITABLE_TEXT: Final = "changes of non-editable attribute"

# A14 — a POST/PUT body failing validation answers 400, Joi-style: `"config.warehouse" is required`.
A14_VALIDATION_STATUS: Final = 400

# A15 — PUT/DELETE while the integration is transitional answer 409.
A15_TRANSITIONAL_STATUSES: Final = frozenset({"creating", "editing", "deleting"})
A15_TRANSITIONAL_CONFLICT_STATUS: Final = 409

# A16 — the DELETE body of an automatically bootstrapped integration: the privileged credential fields of
# its config, at the top level of the body. The alternative (§8), credentials under `config`, is sent once
# when Immuta answers the top-level form with 400 (planning/credentials.py `wants_them_nested`).
# Per type: schemas/*.schema.json `x-delete-credentials` — `fields`, the config fields sent when present, and
# `requiredBy`, per authenticationType, the ones without which Immuta answers 400 (docs/immuta-api.md §5): the
# privileged login itself. The others (Snowflake's role, an encrypted key's passphrase) are sent when the file
# has them. A type without the keyword is deleted with no body.
A16_DELETE_CREDENTIALS_KEYWORD: Final = "x-delete-credentials"

# A17 — how Immuta and each platform compare the natural-key fields (issue 15, docs/immuta-api.md §3 and §8).
# Host names compare as DNS does: without regard to letter case and to a trailing dot (RFC 4343). What the
# platforms do with the other key fields is not documented: they stay exact, and the plan's safety net (an
# orphan that equals a create but for letter case is never pruned) protects the user where the guess is wrong.
# Per type: schemas/*.schema.json `x-key-compare`, natural-key field → `host` or `exact` (the default):
#   Snowflake host, Redshift host, Synapse host, Databricks workspaceUrl: host names.
#   Redshift database, Synapse database and schema: identifiers whose case rules depend on quoting and on the
#     server's settings (Redshift folds unquoted names to lower case unless enable_case_sensitive_identifier;
#     Synapse follows the database collation) — exact.
#   BigQuery dataset: case-sensitive in BigQuery — exact; location: GCP's own spellings (`US`, `us-east1`) — exact.
#   Native S3 name: an Immuta name, undocumented — exact.
A17_KEY_COMPARE_KEYWORD: Final = "x-key-compare"
A17_HOST: Final = "host"
A17_EXACT: Final = "exact"

# A18 — settings only a user makes (issue 21): fields without a default that Immuta never fills in on its own,
# so one that Immuta reports and the file does not write was written before (by a file or in the UI) and is
# planned as removed — the exception to rule 3 of "What is compared", under which a reported field the file
# does not write is Immuta's. Only fields no dialect of docs/immuta-api.md §8 fills in belong here: a field a tenant
# may fill (Snowflake impersonation.role, lineage.lineageConfig, Databricks additionalWorkspaceConnections…)
# would then never settle. The Git base revision was the other way to know a file once wrote a field; it
# does not exist in nightly drift or verify, and a saved plan could not repeat it after the merge.
# A replacing PUT removes such a field; a merging one (§8, A4) cannot: apply then says so and exits 1.
# Per type: schemas/*.schema.json `x-user-only` (Databricks config.groupPattern and config.proxyOptions).
A18_USER_ONLY_KEYWORD: Final = "x-user-only"

# A19 — a tenant knows every field the schemas declare with a default, so every create and update may send
# those defaults (issue 21: a tenant whose own default differs then converges). Contract §9.15: Snowflake
# `lineage` and `workspaces` were removed in 2026, and a current release may ignore them (never reporting
# them) or refuse them (400 `"config.lineage" is not allowed`; simulator dialect `snowflake_features`). A
# default Immuta refuses is sent no more for that request (applying/sending.py); one the file writes is kept.
A19_DEFAULTS_SENT: Final = True

# Connections (docs/immuta-api.md §10): what the reconciler reads so that it never writes what Immuta holds for one.
# C1 — the search request: `{}` asks for the first page; later pages carry `offset`/`size` both in the JSON body
# and in the query string, since either may be where a tenant reads them. Immuta's V1 searches page 10 at a time.
C1_SEARCH_PATH: Final = "/data/object/search"
C1_PAGE_SIZE: Final = 10
# C2 — the search answers `{"count", "hits"}`, or a bare array of every object. With `count` larger than what was
# received, the next page is asked for; at most this many pages, then `count` not reached is a failed discovery.
C2_MAX_PAGES: Final = 100
# C3 — a data object's `objectPath` is `["key"]` (the example) or `"key"` (the documented type).
# C4 — a connection-backed Databricks integration may report `config.host` instead of `config.workspaceUrl`:
# Databricks is matched on workspaceUrl, or on host when workspaceUrl is absent; such a record never makes the
# listing untrusted.
C4_DATABRICKS_KEY_FIELDS: Final = ("workspaceUrl", "host")
# C5 — a 404 on /data means a release without the connections API (no connections); any other failure (5xx,
# 401/403, a timeout, a dropped connection, an answer of neither shape, `count` not reached) is a failed
# discovery, and the reconciler fails closed on the types connections cover. SaaS, where Immuta's docs mark the
# Snowflake and Databricks `/integrations` workflow legacy (docs/immuta-api.md §9.2), is a tenant whose
# connections API answers and which is on Immuta's SaaS domain (`*.immuta.com`) or has registered a connection:
# their files get a warning there (a warning only; self-managed releases still document the workflow).
C5_NO_CONNECTIONS_API_STATUS: Final = 404
C5_CONNECTION_TYPES: Final = frozenset({"Snowflake", "Databricks", "Trino"})
C5_LEGACY_ON_SAAS: Final = frozenset({"Snowflake", "Databricks"})
# C6 — the search needs the GETs' permission (APPLICATION_ADMIN is enough); a 401/403 on it fails closed (C5).
# C7 — a write to a connection-backed integration may be carried out (never rely on a refusal): the reconciler
# sends none, and refuses a create on a connection's platform account (same host; Trino: one per tenant).
# C8 — technologies: Snowflake, Databricks, Glue, Trino, others; `nativeIntegrationId` a number or a string
# (compared as text), or absent/null (a connection with no native integration).
C8_TECHNOLOGY_TYPES: Final[dict[str, str]] = {"snowflake": "Snowflake", "databricks": "Databricks", "trino": "Trino"}

"""The simulator's own reading of every place where Immuta's documentation is silent (docs/immuta-api.md §1 to §5,
`docs/immuta-api.md`), named after its Ax, plus the documented texts it answers with.

These are deliberately NOT imported from the reconciler: the simulator is a second, independent reading of
the contract, so that a wrong assumption shows up as a disagreement (tests/test_sandbox_contract.py) instead
of cancelling out. Where a real tenant may answer otherwise, dialects.py offers the alternatives (§8); the
values here are the defaults of those switches.
"""

from __future__ import annotations

from typing import Final

# A1 — a caller without APPLICATION_ADMIN gets 403; a missing or wrong key, or an expired token, 401.
A1_UNAUTHORIZED_STATUS: Final = 401
A1_FORBIDDEN_STATUS: Final = 403

# A2 — no rate limit is documented; injected 429/503 answers carry Retry-After (faults.py).

# A3 — POST /integrations answers 200 (dialect `create_status`).
A3_CREATE_STATUS: Final = 200

# A4 — PUT takes the whole payload and answers the integration in `editing` (dialect `put`: replace).
A4_STATUS_AFTER_PUT: Final = "editing"

# A5 — DELETE answers the integration in `deleting`; it leaves the list once deleted (dialects `delete_status`,
# `deleted`).
A5_STATUS_AFTER_DELETE: Final = "deleting"

# A6 — GET /integrations/{id}/status answers these fields (dialect `status_body`).
A6_STATUS_FIELDS: Final = ("id", "status", "validationResults")

# A7 — the script endpoints answer text.
A7_SCRIPT_CONTENT_TYPE: Final = "text/plain; charset=utf-8"

# A8 — ids are strings of increasing integers, never reused (dialect `ids`).

# A9 — natural keys, A13 — immutable fields: per type in contract.py.

# A10 — secrets are never returned by GET; GET fills the documented defaults in (dialects `secrets`,
# `defaults`). A11 — the Snowflake feature objects follow the UI settings: in contract.py as documented.

# A12 — Trino has no PUT: any change is delete then create.

# A13 — a PUT changing an immutable field (or the type) answers 422.
A13_IMMUTABLE_CHANGE_STATUS: Final = 422

# A14 — a body failing validation answers 400 with one Joi-style message (dialect `errors`).
A14_VALIDATION_STATUS: Final = 400

# A15 — PUT/DELETE while creating, editing or deleting answer 409 (dialect `transitional`), with the text a
# secondary source quotes (docs/immuta-api.md §9.5) for both.
A15_TRANSITIONAL_STATUSES: Final = frozenset({"creating", "editing", "deleting"})
A15_TRANSITIONAL_CONFLICT_STATUS: Final = 409

# A16 — DELETE credentials travel at the top level of the body (dialect `delete_credentials`); which fields,
# per type, is in contract.py.

# -- documented texts (§2, §5) ---------------------------------------------------------------------------------

NOT_FOUND_GET = "No Integration found with ID {id}."
NOT_FOUND_DELETE = "No integration found with ID {id}."
PREREQUISITE_FAILED: Final = "Validation of prerequisite setup failed. Unable to create integration."
PREREQUISITE_FAILED_DATABRICKS: Final = "Processing Error: Error trying to get the current metastore info."
CREDENTIALS_REQUIRED: Final = (
    "Integrations that are automatically configured require privileged credentials to disable. "
    "Please provide them in your payload."
)
CREDENTIALS_NOT_REQUIRED: Final = (
    "Credentials are not required for disable unless the integration was configured automatically. "
    "If you need to update your integration credentials, use PUT to update the integration before disabling."
)
# Both Databricks texts are documented: the SaaS one (the default) and the one of releases 2022.2 to 2024.2.
CREDENTIALS_NOT_REQUIRED_DATABRICKS: Final = (
    "Credentials are not required to disable a Databricks Unity Catalog integration. "
    "If you need to update your integration credentials, use PUT to update the integration before disabling."
)
CREDENTIALS_NOT_REQUIRED_DATABRICKS_OLD: Final = (
    "Credentials are not required to disable a Databricks integration. "
    "If you need to update your integration credentials, use PUT to update the integration before disabling."
)
MASK: Final = "********"
# §9.4 [secondary]: a PUT of a non-editable field answers 400 with this text (dialect `immutable_change`).
NON_EDITABLE: Final = "Unable to edit integration due to changes of non-editable attribute(s)."
# §9.6 [secondary]: a POST repeating an integration stuck in createError answers 400, pointing to PUT; the exact
# wording is not readable.
REPEATED_FAILED_CREATE: Final = (
    "Integration with ID {id} failed to create (createError): use PUT /integrations/{id} to repair it."
)
TRANSITIONAL_REFUSAL: Final = "Unable to edit integration with ID {id} in current state {status}."

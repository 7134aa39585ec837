"""How the simulator answers: Boom-style error bodies, JSON and text responses, validation results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from reconciler.sandbox.assumptions import A7_SCRIPT_CONTENT_TYPE
from reconciler.sandbox.wire import SandboxResponse

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class Rejected(Exception):
    """Raised by any part of the simulator to answer with an error status and a Boom body."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def reason(status: int) -> str:
    """The standard reason phrase: 409 → `Conflict`."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return SandboxResponse(status, {"content-type": JSON_CONTENT_TYPE, **(headers or {})}, data)


def text_response(text: str) -> SandboxResponse:
    """A script, answered as text [A7]."""
    return SandboxResponse(200, {"content-type": A7_SCRIPT_CONTENT_TYPE}, text.encode())


def boom(status: int, message: str | None = None, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    """`{"statusCode": 409, "error": "Conflict", "message": "…"}`, as Hapi/Boom writes it."""
    phrase = reason(status)
    body = {"statusCode": status, "error": phrase, "message": phrase if message is None else message}
    return json_response(status, body, headers)


def rejected_response(error: Rejected) -> SandboxResponse:
    return boom(error.status, error.message, error.headers)


# A few plausible checks per type, named as Immuta's UI shows them; all pass unless creation failed.
VALIDATION_TESTS: dict[str, tuple[str, ...]] = {
    "Snowflake": ("Connection Test", "Warehouse Access", "Database Available", "Privileged Role Grants"),
    "Databricks": ("Workspace Connection", "Metastore Info", "Catalog Available"),
    "Redshift": ("Connection Test", "Database Available", "RA3 Node Type"),
    "Azure Synapse Analytics": ("Connection Test", "Database Available", "Schema Available"),
    "Google BigQuery": ("Service Account Credentials", "Role Available", "Dataset Location"),
    "Native S3": ("AWS Account Access", "Location Role", "Access Grants Instance"),
    "Trino": ("Plugin Registration",),
}
FAILED_STATUSES = frozenset({"createError", "recurringValidationError"})


def validation_results(type_name: str, status: str) -> dict[str, Any]:
    """`{"status": "passed", "validationTests": [{"name", "status"}, …]}`; the last test fails on an error."""
    names = VALIDATION_TESTS.get(type_name, ("Connection Test",))
    tests: list[dict[str, Any]] = [{"name": name, "status": "passed"} for name in names]
    if status not in FAILED_STATUSES:
        return {"status": "passed", "validationTests": tests}
    tests[-1] = {"name": names[-1], "status": "failed", "result": f"{names[-1]} failed on the platform."}
    return {"status": "failed", "validationTests": tests}

"""The one table of what a status means (docs/immuta-api.md §4 and §7), pinned with the contract's literals."""

import pytest

from reconciler.statuses import Health, describe, health


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("enabled", Health.HEALTHY),
        ("creating", Health.TRANSITIONAL),
        ("editing", Health.TRANSITIONAL),
        ("deleting", Health.TRANSITIONAL),
        ("migrating", Health.TRANSITIONAL),
        ("createError", Health.FAILED),
        ("editError", Health.FAILED),
        ("deleteError", Health.FAILED),
        ("migrateError", Health.FAILED),
        ("recurringValidationError", Health.FAILED),
        ("deleted", Health.GONE),
        ("disabled", Health.GONE),
        ("paused", Health.UNKNOWN),
        ("", Health.UNKNOWN),
    ],
)
def test_every_documented_status_has_one_meaning(status: str, expected: Health) -> None:
    assert health(status) is expected


def test_an_unknown_status_is_never_taken_as_enabled() -> None:
    assert describe("quarantined") == (
        "'quarantined': a status this version of the reconciler does not know (treated as not healthy)"
    )
    assert describe("editError") == (
        "editError: the edit failed in Immuta, which rolled the integration back to its previous state"
    )
    assert describe("enabled") == "enabled"

"""What an integration's status means: the one definition apply, verify, drift and plan all read.

The statuses come from docs/immuta-api.md §4. An older release lacks some of them, a newer one may add more (§7):
a status this table does not know is reported as unknown — never taken as enabled, never a crash.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from reconciler.assumptions import A15_TRANSITIONAL_STATUSES


class Health(Enum):
    HEALTHY = "healthy"  # settled and working
    TRANSITIONAL = "transitional"  # Immuta is still working on it: poll again
    FAILED = "failed"  # settled, and something went wrong (Immuta's message says what)
    GONE = "gone"  # deleted or force-disabled: as good as absent
    UNKNOWN = "unknown"  # a status this version does not know


HEALTHY: Final = frozenset({"enabled"})
TRANSITIONAL: Final = frozenset({*A15_TRANSITIONAL_STATUSES, "migrating"})
GONE: Final = frozenset({"deleted", "disabled"})

FAILURES: Final[dict[str, str]] = {
    "createError": "creation failed in Immuta",
    "editError": "the edit failed in Immuta, which rolled the integration back to its previous state",
    "deleteError": "the delete failed in Immuta, which rolled the integration back to its previous state",
    "migrateError": "a background migration failed in Immuta, which rolled it back",
    "recurringValidationError": "Immuta's periodic validation failed: the integration may be misconfigured",
}


def health(status: str) -> Health:
    if status in HEALTHY:
        return Health.HEALTHY
    if status in TRANSITIONAL:
        return Health.TRANSITIONAL
    if status in FAILURES:
        return Health.FAILED
    if status in GONE:
        return Health.GONE
    return Health.UNKNOWN


def describe(status: str) -> str:
    """A status in words, for messages: Immuta's name plus what it means when that is not obvious."""
    kind = health(status)
    if kind is Health.FAILED:
        return f"{status}: {FAILURES[status]}"
    if kind is Health.UNKNOWN:
        return f"{status!r}: a status this version of the reconciler does not know (treated as not healthy)"
    return status

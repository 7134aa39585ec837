"""One root exception, split into "your input" and "the API"; only cli.py turns these into exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.model import SourceLocation

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_REFUSED = 3
EXIT_USAGE = 64


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding about the user's files. Ordered by file, line, column so reports sort naturally."""

    location: SourceLocation | None
    json_path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        path = f"{self.json_path}: " if self.json_path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}{path}{prefix}{self.message}"


class ReconcilerError(Exception):
    """Root of every error the library raises on purpose."""

    exit_code = EXIT_ERROR


class InputError(ReconcilerError):
    """The user's files or settings are wrong; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(sorted(problems, key=_sort_key))
        super().__init__("\n".join(str(p) for p in self.problems))


def _sort_key(problem: Problem) -> tuple[str, int, int, str, str]:
    loc = problem.location
    return (
        (loc.file, loc.line, loc.column, problem.json_path, problem.message)
        if loc
        else (
            "",
            0,
            0,
            problem.json_path,
            problem.message,
        )
    )


class ApiError(ReconcilerError):
    """Immuta answered with an error, or could not be reached. Never carries a request body."""

    def __init__(self, method: str, path: str, status: int | None, message: str, hint: str = "") -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.hint = hint
        code = f" → {status}" if status is not None else ""
        text = f"{method} {path}{code}: {message}"
        super().__init__(f"{text}\n  {hint}" if hint else text)


class AuthError(ApiError):
    """401/403: the key, the token or the APPLICATION_ADMIN permission."""


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class ValidationFailed(ApiError):
    """400/422 from Immuta: the payload or the platform prerequisites were rejected."""


class TransientError(ApiError):
    """Retries were exhausted on 429/5xx or connection failures, or a deadline passed."""


class RefusedError(ReconcilerError):
    """A safety gate refused the operation, or a saved plan is stale (exit 3)."""

    exit_code = EXIT_REFUSED

    def __init__(self, reasons: list[str] | tuple[str, ...]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("\n".join(self.reasons))

"""Whether apply may write: a reviewed (saved) plan or --auto-approve may; otherwise a person says yes.

The question is asked through a function the command line hands in, so this never reads a terminal itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.errors import RefusedError

QUESTION = "Apply these changes?"
NO_TERMINAL = (
    "no terminal to ask for approval: pass --auto-approve, or apply a saved plan "
    "(reconciler plan --out FILE; reconciler apply FILE)"
)


@dataclass(frozen=True, slots=True)
class Approval:
    auto_approve: bool = False
    interactive: bool = False  # someone can answer (standard input is a terminal)
    confirm: Callable[[str], bool] = lambda question: False  # asks QUESTION; True means yes


def approved(approval: Approval, *, reviewed: bool) -> bool:
    """True to go ahead, False when the person said no; refused (exit 3) when nobody can be asked.

    Never silently yes: in CI without a terminal an unreviewed plan needs --auto-approve written out."""
    if reviewed or approval.auto_approve:
        return True
    if not approval.interactive:
        raise RefusedError([NO_TERMINAL])
    return approval.confirm(QUESTION)

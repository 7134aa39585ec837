"""The closing summary of an apply: what succeeded, what failed and why, and whether it converged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.applying.apply import Result
from reconciler.applying.verify import Verification
from reconciler.errors import EXIT_ERROR, EXIT_OK, EXIT_REFUSED
from reconciler.model import dotted
from reconciler.render.escape import terminal, terminal_lines
from reconciler.statuses import describe

if TYPE_CHECKING:
    from reconciler.applying.workflow import ApplyOutcome

NO_CHANGES = "No changes. Immuta already matches the files."


def render_outcome(outcome: ApplyOutcome) -> str:
    """The text closing an apply (after the plan it applied): "no changes", or what was done."""
    if outcome.status == "no-changes":
        return NO_CHANGES + "\n"
    return render(outcome.results, outcome.verification) + "\n"


def render(results: Sequence[Result], verification: Verification) -> str:
    done = [r for r in results if r.outcome == "done"]
    failed = [r for r in results if r.outcome == "failed"]
    refused = [r for r in results if r.outcome == "refused"]
    lines = ["", f"Apply: {len(done)} succeeded, {len(failed)} failed, {len(refused)} refused."]
    for result in done:
        ident = f" (id {terminal(str(result.integration_id))})" if result.integration_id else ""
        lines.append(f"  ok      {result.change.action.value} {terminal(str(result.change.key))}{ident}")
    for result in failed:
        lines.append(f"  FAILED  {result.change.action.value} {terminal(str(result.change.key))}: {_message(result)}")
    for result in refused:
        lines.append(f"  REFUSED {result.change.action.value} {terminal(str(result.change.key))}: {_message(result)}")
    if verification.read_error:
        lines.append(f"Not verified: {terminal(verification.read_error)}")
    elif verification.unsettled:
        lines.extend(_unsettled(verification))
    if verification.unhealthy and not verification.read_error:
        lines.append("Not healthy: Immuta reports a status that is not enabled:")
        lines.extend(
            f"  {terminal(str(c.key))}: {terminal(describe(c.actual_status or ''))}" for c in verification.unhealthy
        )
    if verification.converged and done:
        lines.append("Verified: Immuta now matches the files for every integration written.")
    if failed or refused:
        lines.append("Running apply again continues from where this run stopped.")
    return "\n".join(lines)


def _unsettled(verification: Verification) -> list[str]:
    lines = ["Did not converge: after the writes Immuta still differs from the files:"]
    for change in verification.unsettled:
        names = ", ".join(dotted(f.path) for f in change.fields) or change.reason or change.action.value
        lines.append(f"  {terminal(str(change.key))}: {terminal(names)}")
        kept = ", ".join(dotted(f.path) for f in change.fields if f.kind == "removed")
        if kept:
            lines.append(
                f"    {terminal(kept)}: removed from the file, still in Immuta: this tenant's PUT merges into the "
                "stored config and cannot remove a field; remove it in Immuta, then plan again"
            )
    return lines


def _message(result: Result) -> str:
    """An error's message may hold Immuta's words and a hint on a line of its own."""
    return terminal_lines(result.message)


def exit_code(results: Sequence[Result], verification: Verification) -> int:
    if any(r.outcome == "failed" for r in results) or not verification.converged:
        return EXIT_ERROR
    if any(r.outcome == "refused" for r in results):
        return EXIT_REFUSED
    return EXIT_OK

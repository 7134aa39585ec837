"""Every output format of plans, drift reports and apply results, in one table per kind of value.

One signature, `render(value, context) -> str`; the command line looks the format up here and offers
exactly these keys as `--format`. Adding a format is one entry. Each entry imports its renderer when it
runs, so that `reconciler --help` never loads the client."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from reconciler.applying.workflow import ApplyOutcome
    from reconciler.doctor import DoctorReport
    from reconciler.drift import DriftReport
    from reconciler.planning.plan import Plan

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    """What a renderer may need besides the value: colour, and the CI run it belongs to."""

    color: bool = False
    commit: str | None = None  # the commit a PR comment is about
    run_url: str | None = None  # the CI run a drift issue or a plan comment links to
    environment: str | None = None  # the environment (--env) a plan comment names
    reverts: frozenset[tuple[str, str]] = frozenset()  # (key, field) the pull request does not change
    before: Mapping[str, Any] | None = None  # a saved plan's `before` payloads by key (`show`: no Immuta)


Renderer = Callable[[T, Context], str]


def _plan_text(plan: Plan, context: Context) -> str:
    from reconciler.render import plan_text

    return plan_text.render(plan, color=context.color)


def _plan_json(plan: Plan, context: Context) -> str:
    from reconciler.render import plan_json

    return plan_json.render(plan)


def _plan_markdown(plan: Plan, context: Context) -> str:
    from reconciler.render import plan_markdown

    review = plan_markdown.Review(context.environment, context.run_url, context.reverts, context.before)
    return plan_markdown.render(plan, commit=context.commit, review=review)


def _drift_text(report: DriftReport, context: Context) -> str:
    from reconciler.render import drift_text

    return drift_text.render(report)


def _drift_json(report: DriftReport, context: Context) -> str:
    from reconciler.render import drift_json

    return drift_json.render(report)


def _drift_markdown(report: DriftReport, context: Context) -> str:
    from reconciler.render import drift_markdown

    return drift_markdown.render(report, run_url=context.run_url)


def _apply_text(outcome: ApplyOutcome, context: Context) -> str:
    from reconciler.render import apply_report

    return apply_report.render_outcome(outcome)


def _apply_json(outcome: ApplyOutcome, context: Context) -> str:
    from reconciler.render import apply_json

    return apply_json.render(outcome)


def _doctor_text(report: DoctorReport, context: Context) -> str:
    from reconciler.render import doctor_text

    return doctor_text.render(report)


def _doctor_json(report: DoctorReport, context: Context) -> str:
    from reconciler.render import doctor_json

    return doctor_json.render(report)


PLAN: Mapping[str, Renderer[Plan]] = {"text": _plan_text, "json": _plan_json, "markdown": _plan_markdown}
DRIFT: Mapping[str, Renderer[DriftReport]] = {"text": _drift_text, "json": _drift_json, "markdown": _drift_markdown}
APPLY: Mapping[str, Renderer[ApplyOutcome]] = {"text": _apply_text, "json": _apply_json}
DOCTOR: Mapping[str, Renderer[DoctorReport]] = {"text": _doctor_text, "json": _doctor_json}

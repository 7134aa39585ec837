"""The data path from files and one list call to a Plan, shared by plan, apply, drift and scripts."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler import __version__
from reconciler.actual import ActualState, read_actual
from reconciler.client.immuta import ImmutaClient
from reconciler.desired import DesiredState, SecretMode, load_desired
from reconciler.errors import InputError, Problem
from reconciler.planning.plan import Plan, PlanOptions, make_plan, unmatched_rotations
from reconciler.planning.protection import BaseView
from reconciler.secrets import Lookup
from reconciler.target import Target
from reconciler.validation.schema import SchemaSet
from reconciler.validation.validate import ValidationOptions


@dataclass(frozen=True, slots=True)
class PlanRequest:
    paths: Sequence[str]
    prune: bool = False
    validation: ValidationOptions = ValidationOptions()  # noqa: RUF009 - frozen value object
    mode: SecretMode = SecretMode.DEFER
    variables: Mapping[str, Any] | None = None  # the environment's ${var:…} values; None: no --env
    rotate: frozenset[str] = frozenset()  # --rotate: file paths or keys (normalised)
    base: BaseView = BaseView()  # noqa: RUF009 - what the Git base revision declared (planning/protection.py)


@dataclass(frozen=True, slots=True)
class Planned:
    desired: DesiredState
    actual: ActualState
    plan: Plan


def secret_mode(target: Target, wanted: SecretMode) -> SecretMode:
    """Under --sandbox, references that are not set get a placeholder (the simulator checks no credential)."""
    return SecretMode.PLACEHOLDER if target.is_sandbox else wanted


def load(request: PlanRequest, schemas: SchemaSet, target: Target) -> DesiredState:
    return load_desired(
        list(request.paths),
        schemas,
        options=request.validation,
        mode=secret_mode(target, request.mode),
        lookup=Lookup(os.environ),
        variables=request.variables,
    )


def observe(client: ImmutaClient, schemas: SchemaSet) -> ActualState:
    """One GET /integrations; raises on any failure — never "nothing exists"."""
    return read_actual(client.list_integrations(), schemas)


def plan_for(
    desired: DesiredState,
    actual: ActualState,
    schemas: SchemaSet,
    target: Target,
    prune: bool,
    rotate: frozenset[str] = frozenset(),
    base: BaseView = BaseView(),  # noqa: B008 - frozen value object
) -> Plan:
    return make_plan(
        desired,
        actual,
        target=target.url,
        options=PlanOptions(prune=prune, rotate=rotate, base=base),
        schema_version=schemas.version,
        tool_version=__version__,
    )


def build(request: PlanRequest, schemas: SchemaSet, target: Target, client: ImmutaClient) -> Planned:
    desired = load(request, schemas, target)  # files first: a typo fails before any API call
    unknown = unmatched_rotations(desired, request.rotate)
    if unknown:
        raise InputError(
            [Problem(None, "", f"--rotate {name}: no file or integration key of that name") for name in unknown]
        )
    actual = observe(client, schemas)
    return Planned(
        desired, actual, plan_for(desired, actual, schemas, target, request.prune, request.rotate, request.base)
    )

"""How a single value or field path is shown in every plan format: masked, compact, deterministic."""

from __future__ import annotations

import json
from typing import Any

from reconciler.model import Path, dotted
from reconciler.secrets import PLACEHOLDER, Secret, Unresolved, mask_all


def show(value: Any) -> str:
    if isinstance(value, Secret):
        return PLACEHOLDER
    if isinstance(value, Unresolved):
        return value.text
    return json.dumps(mask_all(value), sort_keys=True, ensure_ascii=False, default=str)


def field_name(path: Path) -> str:
    return dotted(path)

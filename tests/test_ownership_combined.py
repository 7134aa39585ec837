"""Issue 19: the ownership gate (reconciler/ownership.py, with discovery in reconciler/client/connections.py)
against answers an attacker in the middle, or a broken proxy, could give: ownership is known only when every
answer was read as the contract says; anything else holds the connection types (fail closed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from reconciler.client.connections import discover
from reconciler.errors import ApiError, NotFoundError


def test_a_404_after_a_first_page_is_not_a_tenant_without_connections() -> None:
    """Only a 404 on the first search means there is no connections API (C5): once a page answered, a 404 on
    the next one would otherwise make the connections of the first page writable."""
    pages: list[Any] = [{"count": 2, "hits": [{"objectPath": ["snow"], "technology": "Snowflake"}]}]

    def read(method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        if pages:
            return pages.pop(0)
        raise NotFoundError(method, path, 404, "Not Found")

    with pytest.raises(ApiError) as raised:
        discover(read)
    assert str(raised.value) == "POST /data/object/search?offset=1&size=10 → 404: Not Found"

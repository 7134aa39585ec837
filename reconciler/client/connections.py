"""Discovery of the tenant's connections and the integrations behind them (docs/immuta-api.md §10.2 to §10.4).

Reads only: the search lists the connections (bounded pages, `count` reached or the discovery fails), then
one `GET /data/connection/{key}` each gives its `nativeIntegrationId`, kept as text [A8, C8]. Any answer that
cannot be read as the contract says raises `DiscoveryError`, never "no connections"; a 404 on the search is
the one answer that means there is no connections API (C5) and gives None.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.assumptions import C1_PAGE_SIZE, C1_SEARCH_PATH, C2_MAX_PAGES, C5_NO_CONNECTIONS_API_STATUS
from reconciler.errors import ApiError

ReadData = Callable[[str, str, Mapping[str, Any] | None], Any]  # (method, path, body) → the decoded answer
HOST_FIELDS = ("hostname", "host", "workspaceUrl")
MAX_KEY_LENGTH = 255  # where a connection's `connection` names its account


@dataclass(frozen=True, slots=True)
class Connection:
    key: str
    technology: str
    native_id: str | None  # as text: documented as an integer, compared with /integrations ids as strings
    host: str | None  # the platform account, when the connection names one


class DiscoveryError(ApiError):
    """The connections API answered something the contract does not describe: ownership is unknown."""


def discover(read: ReadData) -> tuple[Connection, ...] | None:
    """Every connection, sorted by key; None when the tenant has no connections API (404 on the search)."""
    try:
        keys = _search(read)
    except ApiError as error:
        # Only on the first page: once a page has answered, the API exists and a 404 is a failure.
        if error.status == C5_NO_CONNECTIONS_API_STATUS and error.path == C1_SEARCH_PATH:
            return None
        raise
    return tuple(_connection(read, key, technology) for key, technology in sorted(keys.items()))


def _search(read: ReadData) -> dict[str, str]:
    """Connection key → its technology, page after page until `count` is reached."""
    found: dict[str, str] = {}
    offset = 0
    for _ in range(C2_MAX_PAGES):
        path = C1_SEARCH_PATH if offset == 0 else f"{C1_SEARCH_PATH}?offset={offset}&size={C1_PAGE_SIZE}"
        answer = read("POST", path, {} if offset == 0 else {"offset": offset, "size": C1_PAGE_SIZE})
        objects, count = _page(path, answer)
        for index, item in enumerate(objects):
            key, technology = _object(path, offset + index, item)
            if key in found:
                raise _error(path, f"connection {key} is listed twice: the search's paging is not understood")
            found[key] = technology
        if count is None:
            return found  # a bare array holds every object
        offset += len(objects)
        if offset >= count:
            return found
        if not objects:
            raise _error(path, f"`count` is {count} but the page at offset {offset} is empty")
    raise _error(C1_SEARCH_PATH, f"`count` not reached after {C2_MAX_PAGES} pages of {C1_PAGE_SIZE}")


def _page(path: str, answer: Any) -> tuple[list[Any], int | None]:
    if isinstance(answer, list):
        return answer, None
    if isinstance(answer, dict) and isinstance(answer.get("hits"), list):
        count = answer.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            return answer["hits"], count
    raise _error(path, "the answer is neither {count, hits} nor a list of data objects")


def _object(path: str, index: int, item: Any) -> tuple[str, str]:
    """A data object's connection key (`objectPath[0]`, or `objectPath` itself: C3) and technology."""
    if not isinstance(item, dict):
        raise _error(path, f"object {index} is not a data object")
    object_path = item.get("objectPath")
    key = object_path[0] if isinstance(object_path, list) and object_path else object_path
    if not isinstance(key, str) or not key:
        raise _error(path, f"object {index} has no objectPath naming its connection")
    if len(key) > MAX_KEY_LENGTH or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in key):
        # Documented keys are letters, digits, - and _; older ones may hold more, but never what could forge output
        raise _error(path, f"object {index} has a connection key that is too long or holds control characters")
    technology = item.get("technology")
    return key, technology if isinstance(technology, str) else ""


def _connection(read: ReadData, key: str, technology: str) -> Connection:
    path = f"/data/connection/{quote(key, safe='')}"
    answer = read("GET", path, None)
    if not isinstance(answer, dict):
        raise _error(path, "the answer is not a connection object")
    native = answer.get("nativeIntegrationId")
    if isinstance(native, bool) or not isinstance(native, int | str | None) or native == "":
        raise _error(path, "`nativeIntegrationId` is neither an id nor absent")
    details = answer.get("connection")
    details = details if isinstance(details, dict) else {}
    found = str(details.get("technology") or technology)
    host = next((str(details[name]) for name in HOST_FIELDS if isinstance(details.get(name), str)), None)
    return Connection(key, found, None if native is None else str(native), host)


def _error(path: str, reason: str) -> DiscoveryError:
    return DiscoveryError("GET" if path.startswith("/data/connection") else "POST", path, 200, reason)

"""The one tree walker (reconciler.walk) and the secret helpers built on it."""

from __future__ import annotations

from reconciler.secrets import PLACEHOLDER, Secret, mask_all, reveal_all, secret_values
from reconciler.walk import MISSING, delete_path, get_path, leaves, map_leaves, set_path

DOC = {"config": {"host": "h", "warehouses": ["a", "b"], "audit": None}}


def test_get_path_tells_absent_from_null() -> None:
    assert get_path(DOC, ("config", "warehouses", 1)) == "b"
    assert get_path(DOC, ("config", "audit"), default=MISSING) is None
    assert get_path(DOC, ("config", "lineage"), default=MISSING) is MISSING
    assert get_path(DOC, ("config", "warehouses", 2)) is None
    assert get_path(DOC, ("config", "warehouses", -1)) is None  # a negative index is never "the last one"
    assert get_path(DOC, ("config", "host", "x")) is None


def test_set_and_delete_path() -> None:
    value: dict[str, object] = {"config": {"lineage": "scalar"}}
    set_path(value, ("config", "lineage", "enabled"), True)
    assert value == {"config": {"lineage": {"enabled": True}}}
    delete_path(value, ("config", "lineage", "enabled"))
    delete_path(value, ("config", "nothing", "here"))
    assert value == {"config": {"lineage": {}}}


def test_leaves_and_map_leaves_carry_the_path() -> None:
    assert list(leaves(DOC)) == [
        (("config", "host"), "h"),
        (("config", "warehouses", 0), "a"),
        (("config", "warehouses", 1), "b"),
        (("config", "audit"), None),
    ]
    assert map_leaves(DOC, lambda path, leaf: len(path)) == {"config": {"host": 2, "warehouses": [3, 3], "audit": 2}}


def test_secret_helpers() -> None:
    value = {"config": {"password": Secret("pw"), "empty": Secret(""), "keys": [Secret("k1")], "user": "u"}}
    assert reveal_all(value) == {"config": {"password": "pw", "empty": "", "keys": ["k1"], "user": "u"}}
    assert mask_all(value) == {
        "config": {"password": PLACEHOLDER, "empty": PLACEHOLDER, "keys": [PLACEHOLDER], "user": "u"}
    }
    assert secret_values(value) == frozenset({"pw", "k1"})

"""Whatever body arrives, the simulator answers with a documented status and a Boom body, never a crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox_harness import KEY
from sandbox_testdata import TYPES, payload

from reconciler.sandbox import Sandbox, SandboxRequest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@st.composite
def mutated_payloads(draw: st.DrawFn) -> Any:
    """A valid payload of some type with one config field replaced, removed or added."""
    body = payload(draw(st.sampled_from(TYPES)))
    config = body.get("config")
    if config is None:
        return draw(st.just(body) | st.builds(lambda v: {**body, "config": v}, json_values))
    name = draw(st.sampled_from([*config, "extraField"]))
    config[name] = draw(json_values)
    return body


@settings(max_examples=60, deadline=None)
@given(body=st.one_of(json_values, mutated_payloads()))
def test_any_body_gets_a_documented_answer(body: Any) -> None:
    sandbox = Sandbox(api_key=KEY)
    data = json.dumps(body).encode()
    for method, path in (("POST", "/integrations"), ("POST", "/integrations/scripts/cleanup")):
        response = sandbox.handle(SandboxRequest(method, path, {"authorization": KEY}, data))
        assert response.status in (200, 400), response.body
        if response.status == 400:
            answer = json.loads(response.body)
            assert set(answer) == {"statusCode", "error", "message"}
            assert answer["message"].startswith('"')

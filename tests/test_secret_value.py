"""A resolved secret is a type that never turns into its value by accident: every text form, copy and
comparison a renderer, a log call or an exception message could use (issue 20: a test per safety rule)."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

from reconciler.secrets import Secret

VALUE = "Sup3r-s3cret-value"


def test_every_text_form_shows_the_placeholder() -> None:
    secret = Secret(VALUE)
    assert (str(secret), repr(secret), f"{secret}", f"{secret!r}") == ("(secret)",) * 4
    assert f"{secret:>30}" == "(secret)"  # a format spec never reaches the value
    assert format(secret, "s") == "(secret)"
    assert "%s %r" % (secret, secret) == "(secret) (secret)"  # noqa: UP031  # what logging does
    assert str([secret, {"k": secret}]) == "[(secret), {'k': (secret)}]"


def test_a_log_record_never_holds_the_value(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("reconciler.test").debug("password is %s", Secret(VALUE))
    assert caplog.text.endswith("password is (secret)\n")
    assert VALUE not in caplog.text


def test_copies_keep_the_value_and_pickling_is_refused() -> None:
    secret = Secret(VALUE)
    assert copy.copy(secret) is secret
    assert copy.deepcopy({"p": secret})["p"] is secret
    with pytest.raises(TypeError, match=r"^a Secret cannot be pickled$"):
        pickle.dumps(secret)


def test_secrets_compare_by_value_and_never_hash() -> None:
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret(VALUE + "x")
    assert Secret(VALUE) != VALUE  # a secret is not equal to its text: comparing never reveals it
    with pytest.raises(TypeError):
        hash(Secret(VALUE))

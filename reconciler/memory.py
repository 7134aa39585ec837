"""Reading thousands of files and records: the cyclic garbage collector waits until they are built.

Loading, validating and normalising 10,000 files, and reading as many records, allocates millions of small
dicts, lists and tuples that live until the command ends, in trees without cycles. The collector would
traverse them again and again while they are built (about a tenth of a plan's time at 10,000) and free
nothing: they are released by reference counting. So it is paused for that stretch and restored after, as
it was. What could make cycles there is bounded: a YAML anchor that contains itself is refused and
collected at once (loading/yaml_source.py); an exception's traceback is one per problem.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def building() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

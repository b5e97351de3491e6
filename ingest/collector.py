"""Python's cyclic garbage collector held off while a delivery's rows stream through.

Reading, mapping and validating a batch allocates hundreds of thousands of container objects
(shapely geometries, row tuples, lists) that die with the batch by reference counting; none of
them forms a cycle the collector would have to break. Yet each allocation counts towards the
collector's thresholds, so it kept running — and its older generations walk every object still
alive: about 1.1 of the client's 8 CPU seconds for 1,000,000 buildings (py-spy; measured in
benchmarks/README.md, "Batch import"). What cycles the rows do make are collected once the
stream ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_state = {"holders": 0, "resume": True}  # concurrent deliveries of one API process share the switch


@contextmanager
def held_off() -> Iterator[None]:
    """Switch automatic collection off for the block; back on when the last holder leaves, if it was on."""
    if _state["holders"] == 0:
        _state["resume"] = gc.isenabled()
    _state["holders"] += 1
    gc.disable()
    try:
        yield
    finally:
        _state["holders"] -= 1
        if _state["holders"] == 0 and _state["resume"]:
            gc.enable()

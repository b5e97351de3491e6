"""ingest.collector: automatic garbage collection is off while a delivery streams, and comes back after."""

from __future__ import annotations

import gc

import pytest

from ingest.collector import held_off


def test_off_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with held_off():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_holders_keep_it_off_until_the_last_leaves() -> None:
    with held_off():
        with held_off():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_an_error() -> None:
    with pytest.raises(RuntimeError), held_off():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_left_off_when_it_was_off_before() -> None:
    gc.disable()
    try:
        with held_off():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

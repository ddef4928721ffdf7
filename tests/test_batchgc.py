"""cyclic_gc_paused: off inside the block, the previous state restored afterwards."""

from __future__ import annotations

import gc

import pytest

from nhictl.core.batchgc import cyclic_gc_paused


def test_paused_inside_and_restored_after_errors() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

"""The cycle collector paused for a block, and put back as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from opus_desktop.core.gcpause import collector_paused


@pytest.fixture
def collector() -> Iterator[None]:
    gc.unfreeze()  # what an earlier test (a sheet loaded in the editor) left frozen
    yield
    gc.unfreeze()
    gc.enable()


def test_paused_inside_and_back_after_an_error(collector: None) -> None:
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("stop")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing frozen unless asked


def test_a_collector_already_off_stays_off(collector: None) -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_freeze_moves_what_lives_out_of_sight(collector: None) -> None:
    with collector_paused(freeze=True):
        kept = [[n] for n in range(1000)]
    assert gc.get_freeze_count() >= len(kept) and gc.isenabled()

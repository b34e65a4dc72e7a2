"""The collector settings around a running app, and that stopping the app undoes them."""

import gc

from kundonline_common.heap import YOUNG_THRESHOLD, settled_heap


def test_startup_objects_are_frozen_while_the_app_runs_and_released_after() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    start_up = [object() for _ in range(100)]
    with settled_heap():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() >= frozen_before + len(start_up)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0

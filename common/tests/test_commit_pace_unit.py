"""When the consumer commits its handled offsets."""

from kundonline_common.consumer import CommitPace


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def commits_while_events_keep_coming(pace: CommitPace, clock: Clock, seconds: float) -> int:
    """Fetches with records 1/8 s apart (a steady 8 events/s; eighths add up exactly),
    committing when due."""
    commits = 0
    for _ in range(round(seconds * 8)):
        clock.now += 0.125
        if pace.due(fetched=True):
            pace.committed()
            commits += 1
    return commits


def test_a_steady_stream_commits_once_a_second() -> None:
    # Each OffsetCommit is a write for the broker: at 0.1 s this was 16 in these 2 s.
    clock = Clock()
    pace = CommitPace(clock=clock)
    assert commits_while_events_keep_coming(pace, clock, 2.0) == 2


def test_an_empty_fetch_commits_at_once() -> None:
    clock = Clock()
    pace = CommitPace(clock=clock)
    pace.committed()
    clock.now += 0.25
    assert not pace.due(fetched=True)
    assert pace.due(fetched=False)


def test_an_interval_can_be_given() -> None:
    clock = Clock()
    pace = CommitPace(0.5, clock=clock)
    assert commits_while_events_keep_coming(pace, clock, 2.0) == 4

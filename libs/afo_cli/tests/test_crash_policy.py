from afo_cli.crash_policy import CrashHistory


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delay_doubles_with_each_recent_crash_up_to_the_cap() -> None:
    history = CrashHistory(max_crashes=10, first_delay_s=0.5, max_delay_s=3.0, clock=FakeClock())
    assert [history.record() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_gives_up_on_the_fifth_crash_within_the_window() -> None:
    clock = FakeClock()
    history = CrashHistory(clock=clock)
    delays = []
    for _ in range(5):
        delays.append(history.record())
        clock.now += 10
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays[4] is None
    assert history.recent == 5


def test_crashes_older_than_the_window_are_forgotten() -> None:
    clock = FakeClock()
    history = CrashHistory(clock=clock)
    for _ in range(4):
        history.record()
        clock.now += 1
    clock.now += 61
    assert history.record() == 0.5
    assert history.recent == 1

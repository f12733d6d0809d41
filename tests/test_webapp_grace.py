"""The grace period's timers against ``attach``, a second ``detach`` and ``stop_all``.

The timers are replaced by ones the test fires by hand, so each interleaving is exact: a
``threading.Timer`` whose wait has ended runs its function even if ``cancel()`` comes a
moment later, which is the case these tests reproduce.
"""

import pytest
from helpers import QuietSocketIO

import webapp.grace
from bpnet.engine import parse_config
from webapp.jobs import JobManager

# a job that lives until it is stopped, and costs nothing while it waits
CONFIG = {"task": "curve", "epochs": 100_000, "hidden": [4], "n_train": 16, "paused": True}


class HandTimer:
    """``threading.Timer`` that runs only when the test calls ``fire()``."""

    made: list["HandTimer"] = []

    def __init__(self, interval, function, args=()):
        self.function, self.args, self.cancelled = function, args, False
        self.daemon = False
        HandTimer.made.append(self)

    def start(self):
        pass

    def cancel(self):
        self.cancelled = True

    def fire(self):
        """Run the function as a timer whose wait ended before ``cancel()`` would."""
        self.function(*self.args)


def stops_of(job) -> list[str]:
    """Record every ``job.stop(reason)`` the manager makes (then stop as usual)."""
    calls, stop = [], job.stop
    job.stop = lambda reason="": (calls.append(reason), stop(reason))[-1]
    return calls


@pytest.fixture
def manager(monkeypatch):
    monkeypatch.setattr(webapp.grace.threading, "Timer", HandTimer)
    HandTimer.made.clear()
    manager = JobManager(QuietSocketIO(), max_jobs=4, grace=60.0)
    yield manager
    manager.stop_all(wait=5.0)


def test_a_timer_that_fired_while_attach_ran_does_not_end_the_next_grace_period(manager):
    job = manager.start("tab-a", parse_config(CONFIG))
    stops = stops_of(job)
    manager.detach("tab-a")
    first = HandTimer.made[-1]
    assert manager.attach("tab-b", job.id) is not None  # the reload came back in time
    manager.detach("tab-b")  # and dropped again: a new grace period of its own
    first.fire()  # the first period's timer, too late to be cancelled
    assert stops == [], "a finished grace period stopped the job during the next one"
    assert manager.attach("tab-c", job.id) is not None


def test_the_current_grace_period_still_ends_the_job(manager):
    job = manager.start("tab-a", parse_config(CONFIG))
    stops = stops_of(job)
    manager.detach("tab-a")
    HandTimer.made[-1].fire()
    assert stops == [""] and manager.attach("tab-b", job.id) is None


def test_detaching_twice_starts_one_grace_period(manager):
    job = manager.start("tab-a", parse_config(CONFIG))
    stops = stops_of(job)
    manager.detach("tab-a")
    manager.detach("tab-a")  # the disconnect handler and the job's own thread both noticed
    assert len(HandTimer.made) == 1
    HandTimer.made[0].fire()
    assert stops == [""]


def test_stop_all_during_grace_stops_the_waiting_job_with_its_reason(manager):
    job = manager.start("tab-a", parse_config(CONFIG))
    manager.detach("tab-a")
    manager.stop_all(wait=5.0, reason="the server is shutting down")
    assert HandTimer.made[-1].cancelled and manager.running() == 0
    assert job.state == "stopped" and "shutting down" in job.message
    HandTimer.made[-1].fire()  # a timer already past its wait finds nothing to do
    assert manager.attach("tab-b", job.id) is None

"""Class mode's faults, each on a cluster of its own: a worker killed, a worker told to
shut down, Redis stopped and started again. The limits are the issue's: a tab hears of
a dead worker within 10 s; a worker told to stop exits within 5 s; Redis back means
Start works again without a restart."""

from __future__ import annotations

import re
import signal
from contextlib import ExitStack
from urllib.request import urlopen

import pytest
from live_cluster import need_class_mode, redis_server, restart_redis, worker
from live_server import Client, live_server

need_class_mode()

LONG = {"task": "curve", "epochs": 100000}
SHORT = {"task": "curve", "epochs": 30, "n_train": 64, "batch_size": 32}


@pytest.fixture
def stack():
    with ExitStack() as stack:
        yield stack


def _running(tab: Client) -> None:
    assert tab.call("start", LONG)["ok"]
    tab.wait_for(lambda c: len(c.of("epoch")) >= 1, timeout=30)


def test_a_killed_worker_fails_its_job_within_ten_seconds(stack):
    url, _ = stack.enter_context(redis_server())
    web, _ = stack.enter_context(live_server("--redis", url, "--max-jobs", "2"))
    processes = [stack.enter_context(worker(url)) for _ in range(2)]
    tab, away = Client(web), Client(web)
    stack.callback(tab.close)
    for client in (tab, away):
        _running(client)  # one job on each worker
    job = away.call("status")["job"]
    away.hang_up()  # its job waits for its page, detached: no tab watches it
    for process in processes:
        process.kill()  # SIGKILL: no goodbye, only the missing heartbeat tells
    tab.wait_for(lambda c: c.final_state() == "failed", timeout=10)
    assert tab.of("status")[-1]["message"] == "the worker running this job stopped"
    assert tab.call("status")["state"] == "failed"
    # the detached job is failed too, and no longer counts against --max-jobs (2)
    other = Client(web)
    stack.callback(other.close)
    other.wait_for(lambda c: c.call("status", {"job": job})["state"] == "failed", timeout=10)
    status = other.call("status", {"job": job})
    assert status == {"ok": True, "job": job, "state": "failed",
                      "message": "the worker running this job stopped"}  # fmt: skip
    assert tab.call("start", SHORT)["ok"] and other.call("start", SHORT)["ok"]


def test_sigterm_stops_the_workers_jobs_and_it_exits_within_five_seconds(stack):
    url, _ = stack.enter_context(redis_server())
    web, _ = stack.enter_context(live_server("--redis", url))
    process = stack.enter_context(worker(url, processes=2))
    tabs = [Client(web), Client(web)]
    for tab in tabs:
        stack.callback(tab.close)
        _running(tab)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0
    for tab in tabs:
        tab.wait_for(lambda c: c.final_state() == "stopped", timeout=5)
        # as the server's own shutdown says it: where the job stopped, then why
        assert re.fullmatch(
            r"stopped (after epoch \d+|during epoch 1|before training): the worker was shut down",
            tab.of("status")[-1]["message"],
        ), tab.of("status")[-1]["message"]


def test_redis_down_refuses_start_tells_running_tabs_and_recovers_when_back(stack):
    last = stack.enter_context(ExitStack())  # unwound after the web process and worker
    url, redis = stack.enter_context(redis_server())
    web, _ = stack.enter_context(live_server("--redis", url))
    stack.enter_context(worker(url))
    tab = Client(web)
    stack.callback(tab.close)
    _running(tab)
    redis.terminate()
    redis.wait()
    other = Client(web)
    stack.callback(other.close)
    refused = other.call("start", SHORT)
    assert refused == {
        "ok": False, "error": "the job queue is unavailable, try again shortly", "field": None
    }  # fmt: skip
    with urlopen(f"{web}/", timeout=10) as response:
        assert response.status == 200  # the pages keep loading
    tab.wait_for(lambda c: c.final_state() == "failed", timeout=20)
    assert "job queue" in tab.of("status")[-1]["message"]
    # Redis returns empty just as the web process has given the running job up (8 s): the
    # worker, which may not have given up yet, stops the job whose record vanished, so
    # the next job does not wait behind it; nothing is restarted
    revived = restart_redis(url)
    last.callback(revived.kill)
    other.wait_for(lambda c: c.call("start", SHORT)["ok"], timeout=30)
    assert other.wait_until_ended(60) == "finished"


def test_a_worker_whose_rq_loop_gave_up_starts_another_instead_of_exiting(monkeypatch):
    # RQ's work loop *returns* when it gives up: say a job's end it could not write while
    # Redis was away, with Redis back just in time for its farewell. A one-process worker
    # that exited then left every later job queued for ever (seen under load, after a
    # Redis restart); only SIGTERM/SIGINT may end it
    from webapp.cluster import worker as cluster_worker

    loops = []

    def work(self, **kwargs):
        loops.append(self)
        if len(loops) == 2:
            self.told_to_stop = True  # what SIGTERM sets (request_stop)
        return False  # RQ's return when it gave up and when it was stopped alike

    monkeypatch.setattr(cluster_worker.Worker, "work", work)
    monkeypatch.setattr(cluster_worker.signal, "signal", lambda *_: None)  # pytest's own stay
    with redis_server() as (url, _):
        cluster_worker.work(url)
    assert len(loops) == 2

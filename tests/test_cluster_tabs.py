"""Reload-proof jobs in class mode, for real: a job outlives its tab for the grace period
and a page on any web process attaches to it; a killed web process's tabs do the same,
and a job nobody comes back for is stopped. One Redis, two web processes (grace 3 s),
one ``bpnet worker`` with two processes, shared by the module."""

from __future__ import annotations

import csv
import io
import signal
import time
from contextlib import ExitStack, suppress
from urllib.request import urlopen

import pytest
from live_cluster import need_class_mode, redis_server, worker
from live_server import Client, live_server

need_class_mode()

GRACE = 3
CURVE = {"task": "curve", "hidden": [4], "n_train": 16, "n_val": 8, "grid": 10}
LONG = {**CURVE, "epochs": 100_000}


@pytest.fixture(scope="module")
def cluster():
    """(redis url, [web url, web url])."""
    with ExitStack() as stack:
        url, _ = stack.enter_context(redis_server())
        webs = [
            stack.enter_context(live_server("--redis", url, "--grace", str(GRACE)))[0]
            for _ in range(2)
        ]
        stack.enter_context(worker(url, processes=2))
        yield url, webs


@pytest.fixture
def tabs(cluster):
    made: list[Client] = []

    def connect(web: str) -> Client:
        made.append(Client(web))
        return made[-1]

    yield connect
    for tab in made:
        with suppress(Exception):  # the tabs of a killed web process have no server
            tab.call("stop", timeout=2)
        tab.close()


def epochs_in(tab: Client) -> list[int]:
    """Every epoch the tab was sent, in order (epochs ride on epoch and status events)."""
    events = [event for name, event, _ in tab.events if name in ("epoch", "status")]
    return [n for event in events for n in event.get("history", {}).get("epoch", [])]


def test_a_reloaded_page_attaches_through_the_other_web_process_with_every_epoch(cluster, tabs):
    webs = cluster[1]
    first = tabs(webs[0])
    job = first.call("start", LONG)["job"]
    first.wait_for(lambda c: len(c.of("epoch")) >= 2)
    seen = max(epochs_in(first))
    first.hang_up()  # the reload
    time.sleep(1.0)  # it trains on, detached
    again = tabs(webs[1])
    ack = again.call("attach", {"job": job})
    assert ack["ok"] and ack["job"] == job and ack["state"] == "running", ack
    assert ack["config"]["hidden"] == [4]
    assert ack["dataset"]["layers"] == ["Linear 1", "Linear 2"] and ack["dataset"]["worker"]
    history = ack["history"]["epoch"]
    assert history == list(range(1, len(history) + 1)) and len(history) > seen
    assert ack["picture"]["epoch"] <= history[-1] and "y_pred" in ack["picture"]
    again.wait_for(lambda c: len(c.of("epoch")) >= 2)
    later = epochs_in(again)
    # what the answer held, then live events: every epoch, none missing
    assert later[0] <= history[-1] + 1 and later == list(range(later[0], later[-1] + 1))
    assert {event["job"] for event in again.of("epoch")} == {job}
    assert again.call("stop") == {"ok": True}
    assert again.wait_until_ended(20) == "stopped"


def test_the_newest_connection_wins_and_the_old_one_is_told(cluster, tabs):
    webs = cluster[1]
    first, second = tabs(webs[0]), tabs(webs[1])
    job = first.call("start", LONG)["job"]
    first.wait_for(lambda c: c.of("epoch"))
    assert second.call("attach", {"job": job})["ok"]
    first.wait_for(lambda c: c.of("detached"))
    told = first.of("detached")[0]
    assert told["job"] == job and "another tab" in told["message"]
    assert first.call("pause")["error"] == "no job is running"
    assert second.call("pause") == {"ok": True}
    second.wait_for(lambda c: c.final_state() == "paused")
    count = len(first.of("epoch"))
    assert second.call("resume") == {"ok": True}
    before = len(second.of("epoch"))
    second.wait_for(lambda c: len(c.of("epoch")) > before + 1)
    assert len(first.of("epoch")) == count  # the old tab hears no more of it
    assert second.call("stop") == {"ok": True}


def test_a_job_away_longer_than_the_grace_period_is_stopped(cluster, tabs):
    webs = cluster[1]
    first = tabs(webs[0])
    job = first.call("start", LONG)["job"]
    first.wait_for(lambda c: c.of("epoch"))
    first.close()
    other = tabs(webs[1])
    assert other.call("status", {"job": job})["state"] == "running"  # within the grace

    def stopped(c):
        return c.call("status", {"job": job})["state"] == "stopped"

    other.wait_for(stopped, timeout=GRACE + 10)
    assert "connection dropped" in other.call("status", {"job": job})["message"]
    refused = other.call("attach", {"job": job})
    assert refused["ok"] is False and refused["field"] == "job"


def test_a_finished_job_is_attached_from_what_it_left_and_its_history_downloads(cluster, tabs):
    webs = cluster[1]
    first = tabs(webs[0])
    job = first.call("start", {**CURVE, "epochs": 30})["job"]
    assert first.wait_until_ended(60) == "finished"
    first.hang_up()
    again = tabs(webs[1])
    ack = again.call("attach", {"job": job})
    assert ack["ok"] and ack["state"] == "finished", ack
    assert ack["history"]["epoch"] == list(range(1, 31)) and ack["picture"]["epoch"] == 30
    assert ack["dataset"]["layers"] == ["Linear 1", "Linear 2"]
    with urlopen(f"{webs[0]}/jobs/{job}/history.csv", timeout=10) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert [int(row["epoch"]) for row in rows] == list(range(1, 31))
    assert float(rows[-1]["train_loss"]) == ack["history"]["train_loss"][-1]


def test_a_killed_web_process_lets_its_tabs_attach_elsewhere_and_stops_the_rest(cluster, tabs):
    url, webs = cluster
    with live_server("--redis", url, "--grace", str(GRACE)) as (doomed, process):
        kept, left = tabs(doomed), tabs(doomed)
        ids = [tab.call("start", LONG)["job"] for tab in (kept, left)]
        for tab in (kept, left):
            tab.wait_for(lambda c: c.of("epoch"))
        process.send_signal(signal.SIGKILL)
        process.wait()
    survivor, watcher = tabs(webs[1]), tabs(webs[0])
    ack = survivor.call("attach", {"job": ids[0]})  # the page reconnected elsewhere
    assert ack["ok"] and ack["state"] == "running", ack
    before = len(survivor.of("epoch"))
    survivor.wait_for(lambda c: len(c.of("epoch")) > before)

    def stopped(c):
        return c.call("status", {"job": ids[1]})["state"] == "stopped"

    # the dead process's liveness key expires (5 s), then the grace period runs
    watcher.wait_for(stopped, timeout=5 + GRACE + 10)
    refused = watcher.call("attach", {"job": ids[1]})  # too late, as for a closed tab
    assert refused["ok"] is False and refused["field"] == "job"
    assert survivor.call("status")["state"] == "running"
    assert survivor.call("stop") == {"ok": True}


def test_a_web_process_shut_down_leaves_its_tabs_jobs_to_be_attached_elsewhere(cluster, tabs):
    url, webs = cluster
    with live_server("--redis", url, "--grace", str(GRACE)) as (leaving, process):
        tab = tabs(leaving)
        job = tab.call("start", LONG)["job"]
        tab.wait_for(lambda c: c.of("epoch"))
        process.send_signal(signal.SIGTERM)  # a restart, say: the pages reconnect elsewhere
        assert process.wait(timeout=10) == 0
    assert tab.final_state() == "running"  # not told `stopped`: its job carries on
    again = tabs(webs[0])
    ack = again.call("attach", {"job": job})
    assert ack["ok"] and ack["state"] == "running", ack
    assert again.call("stop") == {"ok": True}
    assert again.wait_until_ended(20) == "stopped"

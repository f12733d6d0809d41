"""Class mode over the wire: one Redis, two web processes, two ``bpnet worker``s, and
real Socket.IO clients spread over both web processes."""

from __future__ import annotations

import io
import json
import threading
from contextlib import ExitStack
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import numpy as np
import pytest
from live_cluster import need_class_mode, redis_server, worker
from live_server import Client, live_server

need_class_mode()

SHORT = {"task": "curve", "epochs": 60, "n_train": 64, "batch_size": 32}
LONG = {"task": "curve", "epochs": 100000}
MAX_JOBS = 8
TOKEN = "teacher-token-for-tests"


@pytest.fixture(scope="module")
def cluster():
    """(redis url, [web url, web url], [worker process, worker process])."""
    with ExitStack() as stack:
        url, _ = stack.enter_context(redis_server())
        webs = [
            stack.enter_context(
                live_server("--redis", url, "--max-jobs", str(MAX_JOBS), "--teacher-token", TOKEN)
            )[0]
            for _ in range(2)
        ]
        workers = [stack.enter_context(worker(url)) for _ in range(2)]
        yield url, webs, workers


@pytest.fixture
def clients(cluster):
    made: list[Client] = []

    def connect(n: int) -> list[Client]:
        for i in range(n):
            made.append(Client(cluster[1][i % 2]))
        return made[-n:]

    yield connect
    for client in made:
        client.close()


def test_each_tab_gets_only_its_own_jobs_events_and_jobs_use_both_workers(clients):
    tabs = clients(8)
    ids = [tab.call("start", SHORT) for tab in tabs]
    assert all(answer["ok"] for answer in ids), ids
    for tab in tabs:
        assert tab.wait_until_ended(120) == "finished"
    workers = set()
    for tab, answer in zip(tabs, ids):
        seen = {payload["job"] for name, payload, _ in tab.events if isinstance(payload, dict)}
        assert seen == {answer["job"]}  # nothing from another tab's job
        epochs = [event["epoch"] for event in tab.of("epoch")]
        assert epochs == sorted(set(epochs)) and epochs[-1] == SHORT["epochs"]
        (dataset,) = tab.of("dataset")
        workers.add(dataset["worker"])
    assert len(workers) == 2, workers  # host:pid of both workers


def test_pause_update_resume_and_stop_travel_through_the_queue(clients):
    (tab,) = clients(1)
    job = tab.call("start", LONG)["job"]
    tab.wait_for(lambda c: len(c.of("epoch")) >= 1)
    assert tab.call("pause") == {"ok": True}
    tab.wait_for(lambda c: c.final_state() == "paused")
    assert tab.call("status")["state"] == "paused"
    assert tab.call("update", {"lr": 0.002}) == {"ok": True, "lr": 0.002, "momentum": 0.0}
    refused = tab.call("update", {"lr": -1})
    assert refused["ok"] is False and refused["field"] == "lr"  # the worker's own refusal
    assert tab.call("resume") == {"ok": True}
    tab.wait_for(lambda c: c.of("epoch") and c.of("epoch")[-1]["lr"] == 0.002)
    assert tab.call("stop") == {"ok": True}
    assert tab.wait_until_ended(20) == "stopped"
    assert tab.call("status", {"job": job})["state"] == "stopped"


def test_weights_download_from_the_other_web_process(cluster, clients):
    (tab,) = clients(1)
    job = tab.call("start", SHORT)["job"]
    assert tab.wait_until_ended(60) == "finished"
    other = cluster[1][1]  # the tab talks to web process 0; nginx may send the link to 1
    with urlopen(f"{other}/jobs/{job}/weights.npz", timeout=20) as response:
        weights = np.load(io.BytesIO(response.read()))
    assert any(name.endswith("weight") for name in weights.files)


def test_max_jobs_counts_the_whole_cluster(clients):
    tabs = clients(MAX_JOBS + 1)
    answers = [tab.call("start", LONG) for tab in tabs[:MAX_JOBS]]
    assert all(answer["ok"] for answer in answers), answers
    refused = tabs[MAX_JOBS].call("start", LONG)  # on the other web process than the last
    assert refused["ok"] is False and refused["error"].startswith("server busy")
    for tab in tabs[:MAX_JOBS]:
        assert tab.call("stop") == {"ok": True}
    for tab in tabs[:MAX_JOBS]:
        assert tab.wait_until_ended(30) == "stopped"
    again = tabs[MAX_JOBS].call("start", SHORT)
    assert again["ok"], again
    assert tabs[MAX_JOBS].wait_until_ended(60) == "finished"


def test_a_job_waiting_for_a_worker_says_so_and_can_be_stopped_before_it_runs(clients):
    busy, waiting = clients(2), clients(1)[0]
    for tab in busy:  # one long job on each of the two workers
        assert tab.call("start", LONG)["ok"]
    for tab in busy:
        tab.wait_for(lambda c: len(c.of("epoch")) >= 1)
    answer = waiting.call("start", SHORT)
    assert answer["ok"] and answer["state"] == "queued", answer
    assert answer["message"].startswith("waiting for a free worker")
    assert waiting.call("status")["state"] == "queued"
    refused = waiting.call("pause")  # no worker holds it yet to pause it
    assert refused["ok"] is False and "waiting for a free worker" in refused["error"]
    assert waiting.call("stop") == {"ok": True}
    assert waiting.wait_until_ended(10) == "stopped"
    assert waiting.of("status")[-1]["message"] == "stopped before a worker took it"
    assert waiting.of("epoch") == []
    for tab in busy:
        assert tab.call("stop") == {"ok": True}
        assert tab.wait_until_ended(30) == "stopped"


def test_controls_from_many_tabs_at_once_reach_their_own_jobs(clients):
    tabs = clients(4)
    for tab in tabs:
        assert tab.call("start", LONG)["ok"]
    for tab in tabs[:2]:  # two run on the workers; the other two wait in the queue
        tab.wait_for(lambda c: len(c.of("epoch")) >= 1)
    errors: list = []

    def stop(tab):
        try:
            assert tab.call("stop") == {"ok": True}
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=stop, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    for tab in tabs:
        assert tab.wait_until_ended(20) == "stopped"


def _teacher(url: str, path: str, token: str = TOKEN, method: str = "GET"):
    request = Request(url + path, method=method, headers={"X-Teacher-Token": token})
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_teacher_sees_every_job_of_the_cluster_and_stops_one(cluster, clients):
    webs = cluster[1]
    tabs = clients(2)  # one on each web process
    ids = [tab.call("start", LONG)["job"] for tab in tabs]
    for tab in tabs:
        tab.wait_for(lambda c: len(c.of("epoch")) >= 2)
    rows = {row["job"]: row for row in _teacher(webs[0], "/class/jobs")["jobs"]}
    assert set(ids) <= set(rows)
    assert {rows[i]["worker"] for i in ids} == {t.of("dataset")[0]["worker"] for t in tabs}
    assert all(rows[i]["summary"].startswith("curve · sin(x)") for i in ids)
    assert all(rows[i]["epoch"] > 0 and rows[i]["losses"] for i in ids)
    # the stop button on one web process stops a job started through the other
    assert _teacher(webs[0], f"/class/jobs/{ids[1]}/stop", method="POST") == {"ok": True}
    assert tabs[1].wait_until_ended(20) == "stopped"
    assert tabs[0].final_state() == "running"
    for token in ("", "wrong"):
        with pytest.raises(HTTPError) as refused:
            _teacher(webs[1], "/class/jobs", token=token)
        assert refused.value.code == 403
    assert tabs[0].call("stop") == {"ok": True}


# four batches an epoch, so a step of one batch is visible
# long enough that it still runs when the test refuses a step and stops it after resuming
PAUSED = {"task": "curve", "epochs": 100_000, "hidden": [16, 16], "n_train": 64,
          "batch_size": 16, "paused": True}  # fmt: skip
MNIST = {"task": "mnist", "epochs": 2, "hidden": [32], "train_subset": 2000, "lr": 0.1}


def _paused_again(tab: Client, before: int) -> bool:
    states = [p["state"] for name, p, _ in tab.events[before:] if name == "status"]
    return states[-1:] == ["paused"]


def test_step_inspect_and_gradcheck_are_answered_by_the_worker(clients):
    (tab,) = clients(1)
    assert tab.call("start", PAUSED)["ok"]
    tab.wait_for(lambda c: c.final_state() == "paused")
    before = len(tab.events)
    assert tab.call("step", {"unit": "batch"}) == {"ok": True}
    tab.wait_for(lambda c: _paused_again(c, before))
    assert [(p["epoch"], p["batch"]) for p in tab.of("progress")] == [(1, 1)]
    assert tab.of("status")[-1]["message"] == "paused at epoch 1, batch 1/4"
    ack = tab.call("inspect", {})
    assert ack["ok"], ack
    assert (ack["epoch"], ack["batch"], ack["batches"]) == (1, 1, 4)
    assert [layer["name"] for layer in ack["layers"]] == ["Linear 1", "Linear 2", "Linear 3"]
    refused = tab.call("inspect", {"layer": 3})  # the engine's refusal, raised on the worker
    assert refused["ok"] is False and refused["field"] == "layer" and "Linear 3" in refused["error"]
    check = tab.call("gradcheck", {"layer": 1, "k": 5})
    assert check["ok"] and check["name"] == "Linear 2" and len(check["checks"]) == 5, check
    assert all(c["relative_error"] < 1e-6 for c in check["checks"])
    before = len(tab.events)
    assert tab.call("step", {"unit": "epoch"}) == {"ok": True}
    tab.wait_for(lambda c: _paused_again(c, before))
    assert [p["epoch"] for p in tab.of("epoch")] == [1]
    assert tab.call("resume") == {"ok": True}
    tab.wait_for(lambda c: len(c.of("epoch")) >= 2)
    refused = tab.call("step", {"unit": "batch"})
    assert refused["ok"] is False and "only while the job is paused" in refused["error"]
    assert tab.call("stop") == {"ok": True}


def test_predict_answers_while_training_and_after_the_worker_moved_on(cluster, clients):
    (tab,) = clients(1)
    assert "press Start" in tab.call("predict", {"pixels": [0] * 784})["error"]
    job = tab.call("start", MNIST)["job"]
    tab.wait_for(lambda c: c.call("predict", {"pixels": [0.1] * 784})["ok"], timeout=60)
    during = tab.call("predict", {"pixels": [0.1] * 784})
    assert during["job"] == job and len(during["probs"]) == 10
    assert tab.wait_until_ended(120) == "finished"
    for sample in tab.of("epoch")[-1]["samples"]:  # the final network's own guesses
        answer = tab.call("predict", {"pixels": [p / 255 for p in sample["pixels"]]})
        assert answer["ok"], answer
        assert abs(sum(answer["probs"]) - 1) < 1e-4
        assert int(np.argmax(answer["probs"])) == sample["pred"]
    with urlopen(f"{cluster[1][1]}/jobs/{job}/history.csv", timeout=10) as response:
        assert response.read().decode().count("\n") == 1 + MNIST["epochs"]

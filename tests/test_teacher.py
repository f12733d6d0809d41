"""The teacher's view in embedded mode: /class lists every running job and stops one,
and refuses a missing or wrong token (class mode: tests/test_cluster_live.py)."""

import time

import pytest

from webapp import create_app, socketio
from webapp.teacher import summary, token_ok

TOKEN = "sesame-0123456789"
LONG = {"task": "curve", "epochs": 100_000, "hidden": [8], "n_train": 32, "n_val": 16}


@pytest.fixture
def app():
    app = create_app({"TESTING": True, "TEACHER_TOKEN": TOKEN})
    yield app
    app.extensions["bpnet_jobs"].stop_all(wait=2)


def _listing(http, token=TOKEN):
    return http.get("/class/jobs", headers={"X-Teacher-Token": token})


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_the_teacher_lists_the_running_jobs_and_stops_one(app):
    http = app.test_client()
    students = [socketio.test_client(app) for _ in range(2)]
    ids = [student.emit("start", LONG, callback=True)["job"] for student in students]
    _wait_for(lambda: len(_listing(http).get_json()["jobs"]) == 2)
    _wait_for(lambda: all(row["epoch"] > 0 for row in _listing(http).get_json()["jobs"]))
    rows = {row["job"]: row for row in _listing(http).get_json()["jobs"]}
    assert set(rows) == set(ids)
    row = rows[ids[0]]
    assert row["task"] == "curve" and row["summary"].startswith("curve · sin(x) · hidden [8]")
    assert row["losses"] and row["worker"] == "this server" and row["running_s"] >= 0

    stopped = http.post(f"/class/jobs/{ids[0]}/stop", headers={"X-Teacher-Token": TOKEN})
    assert stopped.status_code == 200
    _wait_for(lambda: [r["job"] for r in _listing(http).get_json()["jobs"]] == [ids[1]])
    statuses = [m["args"][0] for m in students[0].get_received() if m["name"] == "status"]
    assert statuses[-1]["state"] == "stopped"
    assert http.get(f"/class?token={TOKEN}").status_code == 200
    for student in students:
        student.disconnect()


@pytest.mark.parametrize("token", [None, "", "sesame", TOKEN + "x"])
def test_a_missing_or_wrong_token_is_refused(app, token):
    http = app.test_client()
    headers = {} if token is None else {"X-Teacher-Token": token}
    assert http.get("/class/jobs", headers=headers).status_code == 403
    assert http.post("/class/jobs/abc/stop", headers=headers).status_code == 403
    page = http.get("/class" + ("" if token is None else f"?token={token}"))
    assert page.status_code == 403 and b"token" in page.data


def test_without_a_configured_token_there_is_no_teachers_view():
    app = create_app({"TESTING": True})
    assert app.test_client().get("/class?token=").status_code == 403
    assert not token_ok("anything", None)


def test_the_summary_is_one_line_from_the_config():
    from bpnet.engine import parse_config

    line = summary(parse_config({"task": "mnist"}))
    assert line.startswith("mnist · mnist · mlp · hidden [256, 128] · relu · nesterov")
    assert "\n" not in line

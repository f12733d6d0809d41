"""Class mode's pieces that need no Redis: the worker's view of a job's tab (when the grace
period is over), what an ended job leaves behind, and the calls read from TrainingJob."""

import pickle

import numpy as np

from bpnet.engine import TrainingJob, parse_config
from webapp.cluster import keys
from webapp.cluster.route import Remains, TabRoute, attach, detach

CURVE = {"task": "curve", "hidden": [4], "n_train": 16, "n_val": 8, "grid": 10, "epochs": 3}


def test_every_control_the_handlers_use_is_a_call_read_from_training_job():
    used = {"pause", "resume", "stop", "update", "step", "inspect", "gradcheck", "predict",
            "weights", "model_info"}  # fmt: skip
    assert used <= keys.CALLS
    assert "run" not in keys.CALLS and not any(name.startswith("_") for name in keys.CALLS)
    assert all(callable(getattr(TrainingJob, name)) for name in keys.CALLS)


def test_a_held_tab_never_runs_out_of_grace_but_a_lost_one_does():
    tab = TabRoute("sid-1", "web-a", grace=10)
    assert not tab.overdue(web_alive=True, now=0) and not tab.overdue(web_alive=True, now=100)
    assert not tab.overdue(web_alive=False, now=200)  # its web process vanished: grace runs
    assert tab.overdue(web_alive=False, now=210)
    assert not tab.overdue(web_alive=True, now=211)  # it came back (a Redis blip): held again


def test_detach_lets_the_grace_run_and_attach_hands_over_with_the_previous_tab():
    job = TrainingJob(parse_config(CURVE))
    job.run(lambda event: None)
    tab = TabRoute("old", "web-a", grace=5)
    detach(job, tab, "someone-else")  # a stale detach changes nothing
    assert tab.sid == "old" and tab.away_since is None
    answer = attach(job, tab, "new", "web-b")
    assert answer["previous"] == "old" and answer["history"]["epoch"] == [1, 2, 3]
    assert (tab.sid, tab.web, tab.away_since) == ("new", "web-b", None)
    detach(job, tab, "new")
    assert tab.sid is None and tab.away_since is not None
    assert attach(job, tab, "new", "web-b")["previous"] is None


def test_an_ended_jobs_remains_travel_pickled_and_answer_as_the_job_did():
    job = TrainingJob(parse_config(CURVE))
    job.run(lambda event: None)
    remains = pickle.loads(pickle.dumps(Remains(job, {"layers": ["Linear 1", "Linear 2"]})))
    assert remains.model_info() == job.model_info()
    assert remains.weights().keys() == job.weights().keys()
    assert remains.history.snapshot() == job.history.snapshot()
    assert remains.history.to_csv() == job.history.to_csv()
    assert remains.dataset == {"layers": ["Linear 1", "Linear 2"]}
    # the rebuilt network answers as the job's own, with the job's scaling
    info, x = job.model_info(), np.linspace(-1, 1, 5)[:, None]
    scaled = (x - info["inputs"]["mean"]) / info["inputs"]["std"]
    out = job.model.eval()(scaled.astype(np.float32))
    expected = out * info["targets"]["std"] + info["targets"]["mean"]
    np.testing.assert_allclose(remains.predict(x), expected, rtol=1e-5)

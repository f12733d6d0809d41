"""docs/protocol.md's tables say what the registry says: every task, every choice and every
default, so the document cannot drift from the code as the pages' copies once did."""

import json
import re
import threading
from pathlib import Path

import pytest
from helpers import QuietSocketIO, start_in_thread, wait_until

from bpnet.engine import TASKS, TrainingJob, defaults, parse_config
from bpnet.engine.config import TrainingConfig
from bpnet.engine.registry import ACTIVATIONS, LR_SCHEDULES, OPTIMIZERS, momentum_optimizers
from webapp import create_app, jobs, wire
from webapp.jobs import JobManager, ServerBusy

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()


def table_after(heading: str) -> tuple[list[str], dict[str, list[str]]]:
    """The first table after the line ``heading``: its header cells and rows by first cell."""
    lines = DOC[DOC.index(heading) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    header, body = rows[0], rows[2:]
    return header, {row[0].strip("`"): row for row in body}


def quoted(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


def test_the_start_event_lists_every_task():
    _, rows = table_after("## Client → server")
    payload = rows["start"][1]
    assert re.findall(r'"(\w+)"', payload.split("…")[0])[1:] == list(TASKS)


def test_shared_choices_are_the_registry_names():
    _, rows = table_after("Shared by all tasks:")
    assert quoted(rows["activation"][2]) == list(ACTIVATIONS)
    assert quoted(rows["optimizer"][2]) == list(OPTIMIZERS)
    assert quoted(rows["lr_schedule"][2]) == list(LR_SCHEDULES)
    takes, refused = rows["momentum"][2].split("refused")
    assert quoted(takes) == momentum_optimizers()
    assert quoted(refused) == [n for n in OPTIMIZERS if n not in momentum_optimizers()]


@pytest.mark.parametrize(
    "field", ["hidden", "activation", "optimizer", "lr", "lr_schedule", "batch_size", "epochs"]
)
def test_shared_defaults_are_the_task_defaults(field):
    header, rows = table_after("Shared by all tasks:")
    tasks = header[3].removeprefix("default (").removesuffix(")").split(" / ")
    assert tasks == list(TASKS), "the default column names every task, in registry order"
    cells = quoted(rows[field][3])
    if len(cells) == 1:
        cells = cells * len(tasks)
    assert [json.loads(c) if c[0] in "[0123456789" else c for c in cells] == [
        defaults(task)[field] for task in tasks
    ]


def test_the_classify_table_has_every_field_its_choices_and_defaults():
    from bpnet.datasets.planar import FEATURES, GENERATORS
    from bpnet.engine.tasks.classify import REGULARIZATIONS, ClassifyConfig

    _, rows = table_after("classify (two classes of points")
    own = set(ClassifyConfig.model_fields) - set(TrainingConfig.model_fields) - {"task"}
    assert set(rows) == own
    assert quoted(rows["dataset"][2]) == [*GENERATORS, "points"]
    assert quoted(rows["features"][2]) == list(FEATURES)
    assert quoted(rows["regularization"][2])[: len(REGULARIZATIONS)] == list(REGULARIZATIONS)
    for field, row in rows.items():
        assert json.loads(quoted(row[3])[0]) == defaults("classify")[field], field


# --- what hardening added: the messages the doc quotes are the ones the server sends ---


PAUSED = {"task": "curve", "epochs": 10, "hidden": [4], "n_train": 16, "paused": True}


@pytest.mark.parametrize("running", [1, 2])
def test_the_busy_refusal_is_worded_as_documented(running):
    manager = JobManager(QuietSocketIO(), max_jobs=running)
    try:
        for tab in range(running):
            manager.start(f"tab-{tab}", parse_config(PAUSED))
        with pytest.raises(ServerBusy) as refused:
            manager.start("one-more", parse_config(PAUSED))
        assert f"`{refused.value}`" in " ".join(DOC.split())
    finally:
        manager.stop_all(wait=5.0)


def test_a_start_while_the_previous_job_stops_is_refused_as_documented(monkeypatch):
    release = threading.Event()

    def stubborn(job, emit):  # a job that winds down slowly
        release.wait(10)
        return "stopped"

    monkeypatch.setattr(TrainingJob, "run", stubborn)
    monkeypatch.setattr(jobs, "REPLACE_WAIT", 0.0)
    manager = JobManager(QuietSocketIO(), max_jobs=4)
    try:
        manager.start("tab", parse_config(PAUSED))
        with pytest.raises(ServerBusy) as refused:
            manager.start("tab", parse_config(PAUSED))
        assert str(refused.value) in " ".join(DOC.split())
    finally:
        release.set()
        manager.stop_all(wait=5.0)


def test_a_stopped_message_names_the_epoch_and_the_reason_as_documented():
    job, events, thread = start_in_thread({**PAUSED, "paused": False, "epochs": 100_000})
    # the first epoch event, not the history: a stop during epoch 1's evaluation (after
    # its training) is still "stopped during epoch 1", as the page has no point for it yet
    wait_until(lambda: any(e["event"] == "epoch" for e in list(events)), what="a first epoch")
    job.stop("the server is shutting down")
    thread.join(30)
    assert re.fullmatch(r"stopped after epoch \d+: the server is shutting down", job.message)
    assert re.sub(r"epoch \d+", "epoch N", job.message.split(":")[0]) in DOC
    example = re.sub(r"epoch \d+", "epoch 3563", job.message)  # the doc's example
    assert f"`{example}`" in DOC


def test_a_foreign_host_gets_the_documented_403():
    app = create_app({"TESTING": True})
    response = app.test_client().get("/", headers={"Host": "evil.example:5000"})
    assert response.status_code == 403 and "`403 Forbidden`" in DOC
    assert response.get_data(as_text=True).strip() in " ".join(DOC.split()).replace("`", "")


def test_a_non_finite_value_is_refused_with_the_documented_words():
    with pytest.raises(ValueError) as refused:
        wire.dumps({"loss": float("nan")})
    assert "a value is not finite (NaN or infinity)" in str(refused.value)
    assert "a value is not finite (NaN or infinity)" in DOC

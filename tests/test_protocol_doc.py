"""docs/protocol.md's tables say what the registry says: every task, every choice and every
default, so the document cannot drift from the code as the pages' copies once did."""

import json
import re
from pathlib import Path

import pytest

from bpnet.engine import TASKS, defaults
from bpnet.engine.config import TrainingConfig
from bpnet.engine.registry import ACTIVATIONS, LR_SCHEDULES, OPTIMIZERS, momentum_optimizers

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

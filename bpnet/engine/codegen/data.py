"""The lines of a generated script that load a task's data: the same library calls, with
the same arguments and seed, that the task itself makes (``function_data_call``,
``classify_data``, ``load_dataset``), so the script trains on exactly the job's arrays.

Every task's lines end with ``x_train, y_train, x_val, y_val`` and ``indices`` (the rows
the loader shuffles), which is all the training loop needs.
"""

from __future__ import annotations

from ...datasets import planar
from ..config import TrainingConfig
from ..tasks import Task, function_data_call
from ..tasks.classify import train_fraction

ALL_ROWS = "indices = np.arange(len(x_train))"


def data_lines(config: TrainingConfig, task: Task) -> dict:
    """``{"imports": str, "load": str, "eval_rows": int | None}`` for the config's task;
    ``eval_rows`` is how many validation rows to evaluate at a time (None: all at once)."""
    writers = {"curve": _function, "surface": _function, "mnist": _mnist, "classify": _classify}
    if config.task not in writers:  # a new task needs its lines written here
        raise ValueError(f"no data lines are written for the task {config.task!r}")
    return {"eval_rows": None, **writers[config.task](config, task)}


def _function(config, task) -> dict:
    name, kwargs = function_data_call(config)
    expression = kwargs.pop("expression")
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return {
        "imports": "from bpnet.datasets import functions",
        "load": f"data = functions.{name}(\n    {expression!r},\n    {arguments},\n)\n"
        "x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val\n"
        + ALL_ROWS,
    }


def _mnist(config, task) -> dict:
    load = (
        f"x_train, y_train = load_dataset({config.dataset!r}, 'train')\n"
        f"x_val, y_val = load_dataset({config.dataset!r}, 'test')\n"
    )
    if len(task.input_shape) > 1:  # the cnn sees images, not rows of pixels
        shape = ", ".join(str(side) for side in task.input_shape)
        load += (
            f"# the convolutions see each row of 784 pixels as an image ({shape})\n"
            f"x_train, x_val = x_train.reshape(-1, {shape}), x_val.reshape(-1, {shape})\n"
        )
    load += ALL_ROWS
    if config.train_subset is not None:
        load += (
            f"\n# the first {config.train_subset} images of a fixed shuffle, in their order\n"
            f"indices = np.sort(np.random.default_rng(SEED).permutation(indices)"
            f"[:{config.train_subset}])"
        )
    return {
        "imports": "from bpnet.datasets import load_dataset",
        "load": load,
        "eval_rows": task.eval_rows,
    }


def _classify(config, task) -> dict:
    fraction = train_fraction(config)
    if config.dataset == "points":
        rows = [repr(point) for point in config.points]
        listed = ",\n    ".join(", ".join(rows[i : i + 4]) for i in range(0, len(rows), 4))
        draw = (
            "# your own points as [x, y, label]\n"
            f"array = np.array([\n    {listed},\n])\n"
            "points, labels = array[:, :2], array[:, 2].astype(np.int64)\n"
        )
    else:
        generator = planar.GENERATORS[config.dataset].__name__
        draw = f"points, labels = planar.{generator}({config.n_samples}, {config.noise!r}, rng)\n"
    return {
        "imports": "from bpnet.datasets import planar",
        "load": "rng = np.random.default_rng(SEED)  # the points' own generator\n"
        + draw
        + f"(train_points, y_train), (val_points, y_val) = planar.split(points, labels, "
        f"{fraction!r}, rng)\n"
        f"FEATURES = {list(config.features)!r}  # what the network sees of each point\n"
        "x_train = planar.features(train_points, FEATURES)\n"
        "x_val = planar.features(val_points, FEATURES)\n" + ALL_ROWS,
    }

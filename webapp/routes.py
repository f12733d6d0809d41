"""Page routes: the index and one training page per task in the registry.

Each page is a template plus one small script; the training itself happens over
Socket.IO (``events.py``). Menus and default values are rendered from the registry, so
a page offers exactly what the engine accepts. plotly.js is served from the installed
``plotly`` package, so no request ever leaves the machine.
"""

import typing
from pathlib import Path

import plotly
from flask import Blueprint, render_template, send_file

from bpnet.datasets import available_datasets
from bpnet.datasets.planar import FEATURES
from bpnet.engine import TASKS, defaults
from bpnet.engine.registry import ACTIVATIONS, LR_SCHEDULES, OPTIMIZERS
from bpnet.expr import describe_language

bp = Blueprint("pages", __name__)


@bp.app_template_global()
def installed_datasets() -> list[str]:
    """The data sets this server can load: the MNIST page offers only these."""
    return [name for name, installed in available_datasets().items() if installed]


@bp.app_template_global()
def formula_help(variables: str) -> str:
    """What a formula may contain, for the page's "what can I type?" (variables "x, y")."""
    return describe_language(tuple(variables.split(", ")))


PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ONE_WEEK = 7 * 24 * 3600


@bp.app_context_processor
def registry():
    """What every template may use: the tasks (for the nav) and the shared vocabularies."""
    return {
        "tasks": TASKS,
        "activations": list(ACTIVATIONS),
        "optimizers": OPTIMIZERS,
        "schedules": LR_SCHEDULES,
        "features": {name: label for name, (label, _) in FEATURES.items()},
    }


@bp.get("/")
def index():
    return render_template("index.html")


def _choices(config) -> dict[str, list[str]]:
    """Each field with a fixed set of values (a ``Literal``), and those values, for menus."""
    return {
        field: list(typing.get_args(info.annotation))
        for field, info in config.model_fields.items()
        if typing.get_origin(info.annotation) is typing.Literal
    }


def _page(name: str):
    spec = TASKS[name]

    def page():
        return render_template(
            f"{name}.html", task=name, spec=spec, d=defaults(name), choices=_choices(spec.config)
        )

    page.__name__ = name
    return page


for _name in TASKS:
    bp.add_url_rule(f"/{_name}", endpoint=_name, view_func=_page(_name))


@bp.get("/vendor/plotly.min.js")
def plotly_js():
    # The file changes only when the plotly package is upgraded; ETag revalidation covers that.
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=ONE_WEEK)

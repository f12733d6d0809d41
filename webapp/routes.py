"""Page routes: the index and the three training pages.

Each page is a template plus one small script; the training itself happens over
Socket.IO (``events.py``). plotly.js is served from the installed ``plotly`` package,
so no request ever leaves the machine.
"""

from pathlib import Path

import plotly
from flask import Blueprint, render_template, send_file

bp = Blueprint("pages", __name__)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ONE_WEEK = 7 * 24 * 3600


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/curve")
def curve():
    return render_template("curve.html", task="curve")


@bp.get("/surface")
def surface():
    return render_template("surface.html", task="surface")


@bp.get("/mnist")
def mnist():
    return render_template("mnist.html", task="mnist")


@bp.get("/vendor/plotly.min.js")
def plotly_js():
    # The file changes only when the plotly package is upgraded; ETag revalidation covers that.
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=ONE_WEEK)

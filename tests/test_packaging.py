"""A non-editable install carries MNIST, the templates and the static files inside the
packages, and the app runs from it with no checkout in sight."""

import subprocess
import sys
import zipfile

import pytest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    root = __file__.rsplit("/tests/", 1)[0]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            root,
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return next(out.glob("bpnet-*.whl"))


def test_the_wheel_holds_data_templates_and_static_files_inside_the_packages(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for expected in [
        "bpnet/_data/mnist.npz",
        "bpnet/_data/README.md",
        "webapp/templates/curve.html",
        "webapp/static/js/common.js",
        "webapp/static/vendor/socket.io.min.js",
        "webapp/static/vendor/plotly-cartesian.min.js",
        "webapp/static/vendor/plotly.js.LICENSE",
    ]:
        assert expected in names
    assert not any(n.startswith(("data/", "templates/", "static/", "tests/")) for n in names)


def test_the_installed_package_loads_mnist_and_serves_pages(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    script = (
        "import bpnet, webapp\n"
        f"assert bpnet.__file__.startswith({str(target)!r}), bpnet.__file__\n"
        "from bpnet.datasets import load_mnist\n"
        "x, y = load_mnist('test')\n"
        "assert x.shape == (10000, 784)\n"
        "client = webapp.create_app().test_client()\n"
        "for page in ['/', '/curve', '/surface', '/mnist', '/static/js/common.js',\n"
        "             '/static/vendor/plotly-cartesian.min.js', '/vendor/plotly.min.js']:\n"
        "    assert client.get(page).status_code == 200, page\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr

"""Embedded mode stays as it was: no Redis, no RQ imported, the job manager of threads.
Class mode's pieces that need no server: the worker's command line and picklable errors."""

import pickle
import subprocess
import sys

from bpnet.errors import ConfigError, ExpressionError


def test_embedded_mode_imports_neither_class_mode_nor_rq():
    # (python-socketio itself imports redis when it is installed, so that is not checked)
    code = (
        "import sys, webapp; app = webapp.create_app(); "
        "print(type(app.extensions['bpnet_jobs']).__name__, "
        "'webapp.cluster' in sys.modules, 'rq' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["JobManager", "False", "False"]


def test_the_worker_command_refuses_zero_processes():
    out = subprocess.run(
        [sys.executable, "-m", "bpnet", "worker", "--redis", "redis://127.0.0.1:1/0",
         "--processes", "0"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 2 and "--processes must be at least 1" in out.stderr


def test_user_errors_cross_process_boundaries_with_their_field():
    error = pickle.loads(pickle.dumps(ConfigError("lr", "lr must be > 0, e.g. 0.01")))
    assert (error.field, error.message) == ("lr", "lr must be > 0, e.g. 0.01")
    expression = pickle.loads(pickle.dumps(ExpressionError("unknown name 'q'", 3)))
    assert (str(expression), expression.column) == ("unknown name 'q'", 3)

"""``python -m webapp``'s start-up: what it sets up before it serves (the server itself is
replaced by a stand-in that records the moment it would start serving)."""

import os
import subprocess
import sys

import pytest

from webapp import __main__ as entry
from webapp.blas import BLAS_THREADS

# Run in a fresh interpreter: numpy must not be loaded before the server loads it itself,
# or a limit applied too early (which did nothing in a real start-up) would look applied.
SERVE_AND_REPORT = """
import sys
from webapp import __main__ as entry

class StandIn:  # the server, replaced: report the BLAS threads at the moment it would serve
    def __init__(self, *args, **kwargs):
        pass
    def serve_forever(self):
        from webapp.blas import blas_threads  # not before: it loads numpy itself
        print("blas threads", blas_threads(), flush=True)
        raise SystemExit(0)

entry.serving.BoundedServer = StandIn
entry.main(["--port", "5999", *sys.argv[1:]])
"""

WORK_AND_REPORT = """
from webapp.blas import blas_threads
from webapp.cluster import worker

def no_redis(url, **kwargs):  # the worker's first step after its BLAS limit
    print("blas threads", blas_threads(), flush=True)
    raise SystemExit(0)

worker.redis.Redis.from_url = staticmethod(no_redis)
worker.work("redis://127.0.0.1:1/0")
"""


def report(script: str, *argv: str) -> str:
    """What ``script`` prints, run without the BLAS variables (which a worker would obey)."""
    env = {name: value for name, value in os.environ.items() if name not in BLAS_THREADS}
    result = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=60,
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(("argv", "threads"), [([], 1), (["--blas-threads", "2"], 2)])
def test_the_server_limits_numpys_blas_threads_before_it_serves(argv, threads):
    assert f"blas threads [{threads}]" in report(SERVE_AND_REPORT, *argv)


def test_a_worker_process_limits_numpys_blas_threads_to_one():
    pytest.importorskip("rq")  # the class extra
    assert "blas threads [1]" in report(WORK_AND_REPORT)


def test_a_bad_thread_count_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as exit_:
        entry.main(["--blas-threads", "0"])
    assert exit_.value.code == 2
    assert "--blas-threads" in capsys.readouterr().err

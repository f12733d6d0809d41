"""``python -m webapp``'s start-up: what it sets up before it serves (the server itself is
replaced by a stand-in that records the moment it would start serving)."""

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from webapp import __main__ as entry


class Served(Exception):
    """Raised by the stand-in server instead of serving forever."""


@pytest.fixture
def serving(monkeypatch):
    """Replace the server: record the BLAS thread counts at the moment it would serve."""
    seen = {}

    class StandIn:
        def __init__(self, *args, **kwargs):
            pass

        def serve_forever(self):
            seen["blas"] = [pool["num_threads"] for pool in threadpool_info()
                            if pool["user_api"] == "blas"]  # fmt: skip
            raise Served

    monkeypatch.setattr(entry.serving, "BoundedServer", StandIn)
    monkeypatch.setattr(entry.signal, "signal", lambda *args: None)  # keep pytest's handlers
    with threadpool_limits(limits=None):  # whatever main sets is undone after the test
        yield seen


@pytest.mark.parametrize(("argv", "threads"), [([], 1), (["--blas-threads", "2"], 2)])
def test_the_server_limits_numpys_blas_threads_before_it_serves(serving, argv, threads):
    with pytest.raises(Served):
        entry.main(["--port", "5999", *argv])
    assert serving["blas"] and set(serving["blas"]) == {threads}


def test_a_bad_thread_count_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as exit_:
        entry.main(["--blas-threads", "0"])
    assert exit_.value.code == 2
    assert "--blas-threads" in capsys.readouterr().err

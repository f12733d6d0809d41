"""A short load run: eight tabs train at once on the real server, over WebSocket.

It checks completeness and isolation, not speed (``benchmarks/load.py`` measures that):
every tab gets its dataset, its epochs in strictly increasing order up to the last one
(the others are thinned by rate), one final ``finished``, and only its own job's events.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package

from benchmarks.load import run, server

SMALL = {"task": "curve", "hidden": [16], "n_train": 64, "n_val": 32, "grid": 50}


def test_eight_tabs_each_get_all_of_their_own_events_and_none_of_the_others():
    configs = [{**SMALL, "expression": f"sin({k + 1}*x)", "epochs": 150 + 25 * k} for k in range(8)]
    with server(max_jobs=64) as (url, process, log):
        result = run(url, process, configs, timeout=120)
        output = Path(log).read_text()
    Path(log).unlink()
    assert "Traceback" not in output, output[-3000:]
    assert result["problems"] == {}
    assert result["completed"] == 8
    jobs = {tab.job for tab in result["tabs"]}
    assert len(jobs) == 8 and None not in jobs
    for tab, config in zip(result["tabs"], configs):
        assert {payload["job"] for _, payload, _ in tab.events} == {tab.job}
        assert len(tab.of("dataset")) == 1
        epochs = [payload["epoch"] for payload in tab.of("epoch")]
        assert epochs[-1] == config["epochs"]
        assert all(a < b for a, b in zip(epochs, epochs[1:]))
        assert tab.of("status")[-1]["state"] == "finished"
        assert tab.of("dataset")[0]["config"]["expression"] == config["expression"]

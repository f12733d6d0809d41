"""The step gate of embedded mode: small jobs' steps run one at a time, in the order they
asked; big jobs' steps do not wait for it."""

import threading

from helpers import QuietSocketIO, wait_until

from bpnet.engine import parse_config
from webapp.jobs import JobManager
from webapp.step_gate import StepGate, gate_for


def test_steps_pass_the_gate_one_at_a_time_in_the_order_they_asked():
    gate, log, inside = StepGate(), [], []
    first_in, let_go = threading.Event(), threading.Event()

    def step(name: str) -> None:
        with gate:
            inside.append(name)
            assert len(inside) == 1, inside  # nobody else is in
            log.append(name)
            if name == "first":
                first_in.set()
                let_go.wait(5)  # hold the gate until the others queue up
            inside.remove(name)

    threads = [threading.Thread(target=step, args=("first",))]
    threads[0].start()
    first_in.wait(5)
    for name in ("second", "third", "fourth"):
        threads.append(threading.Thread(target=step, args=(name,)))
        threads[-1].start()
        wait_until(lambda: len(gate._waiting) == len(threads) - 1, what=f"{name} waiting")
    let_go.set()
    for thread in threads:
        thread.join(5)
    assert log == ["first", "second", "third", "fourth"]
    with gate:  # free again: entered at once
        pass


def test_small_networks_take_the_gate_and_mnist_sized_ones_do_not():
    gate = StepGate()
    for small in ({"task": "curve"}, {"task": "surface"}, {"task": "classify"}):
        assert gate_for(parse_config(small), gate) is gate, small
    for big in ({"task": "mnist"}, {"task": "mnist", "architecture": "cnn"}):
        assert gate_for(parse_config(big), gate) is not gate, big


def test_a_tabs_small_job_trains_through_the_servers_gate():
    manager = JobManager(QuietSocketIO(), max_jobs=4)
    job = manager.start("tab", parse_config({"task": "curve", "epochs": 20}))
    assert job.step_gate is manager.step_gate
    wait_until(lambda: job.done, what="the job to end")
    assert job.state == "finished"
    manager.stop_all(wait=5.0)

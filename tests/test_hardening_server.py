"""``python -m webapp`` under attack, round two: rebinding names, log floods, idle and
half-open connections, a busy port, signals during heavy jobs.

Each test runs the real server in a subprocess, with small limits (a connection cap of
20, a head timeout of 1 s) so the real defaults' behaviour shows in seconds.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
import websocket
from live_server import Client
from test_hardening_faults import RawSocket, wait_until, watched_server

SMALL = {"task": "curve", "hidden": [8], "n_train": 32, "n_val": 16, "grid": 20}
LONG = {**SMALL, "epochs": 100_000}
HEAVY_EVAL = {"task": "curve", "hidden": [1024] * 6, "n_val": 100_000, "n_train": 2,
              "batch_size": 1, "epochs": 1000}  # fmt: skip


def get(url: str, path: str, host: str | None = None) -> tuple[int, str]:
    port = int(url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": host} if host else {})
    response = connection.getresponse()
    body = response.read().decode(errors="replace")
    connection.close()
    return response.status, body


# --- DNS rebinding -----------------------------------------------------------------


def test_a_rebinding_host_is_refused_for_pages_socketio_and_downloads():
    with watched_server("--allow-origin", "http://class.example:8000") as (url, _, lines, _p):
        port = url.rsplit(":", 1)[1]
        evil = f"evil.example:{port}"
        tab = Client(url)
        job = tab.call("start", LONG)["job"]
        for path in ["/", "/curve", "/socket.io/?EIO=4&transport=polling",
                     f"/jobs/{job}/weights.npz"]:  # fmt: skip
            status, body = get(url, path, host=evil)
            assert status == 403, (path, status)
            assert "--allow-origin" in body
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(
                f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                header=[f"Origin: http://{evil}"], host=evil, timeout=10,
            )  # fmt: skip
        for host in [f"127.0.0.1:{port}", f"localhost:{port}", "class.example:8000"]:
            assert get(url, "/curve", host=host)[0] == 200, host
        tab.close()
    assert "Traceback" not in "".join(lines)


# --- the log stays one line per bad message ------------------------------------------


def test_garbled_messages_log_one_line_at_most_and_a_normal_close_logs_nothing():
    with watched_server() as (url, _, lines, _p):
        rogue = RawSocket(url)
        for _ in range(200):
            rogue.send_text('42[{"a":1}]')  # an event whose name is an object
        assert rogue.call("status")["ok"] is True  # the connection carries on
        rogue.send_text("")  # an empty text frame
        port = url.rsplit(":", 1)[1]
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
            raw.sendall(
                b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                + f"Host: 127.0.0.1:{port}\r\n".encode()
                + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n"
            )
            assert raw.recv(200).startswith(b"HTTP/1.1 426")  # not 500
        for _ in range(3):  # tabs closed politely
            tab = Client(url)
            tab.call("status")
            tab.close()
        time.sleep(1.5)
    log = "".join(lines)
    assert "Traceback" not in log
    assert "ERROR" not in log
    assert len([line for line in lines if "could not be read" in line]) <= 3


# --- starting ------------------------------------------------------------------------


def _start(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "webapp", *args], capture_output=True,
                          text=True, timeout=30)  # fmt: skip


def test_a_busy_port_fails_first_with_a_port_to_try():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _start("--port", str(port))
    assert result.returncode == 1
    assert f"port {port} is in use: try --port {port + 1}" in result.stderr
    assert "http://" not in result.stdout  # no address printed for a server that never ran


@pytest.mark.parametrize("port", ["99999", "0", "-1", "web"])
def test_a_port_outside_1_to_65535_is_refused(port):
    result = _start("--port", port)
    assert result.returncode == 2
    assert "1 to 65535" in result.stderr


def test_the_server_starts_with_one_line_of_its_own_and_no_werkzeug_warning():
    with watched_server() as (url, _, lines, _p):
        wait_until(lambda: lines, what="the first line")
        time.sleep(0.5)
        output = "".join(lines)
    assert output.startswith(f"bpnet dashboard: {url}/")
    assert "Serving a class" in lines[0]
    assert "WARNING" not in output and "development server" not in output


# --- idle and half-open connections ----------------------------------------------------

LIMITS = ("--max-connections", "20", "--head-timeout", "1")


def test_past_the_connection_cap_a_client_gets_503_and_pages_still_load_later():
    with watched_server(*LIMITS) as (url, _process, lines, _p):
        port = int(url.rsplit(":", 1)[1])
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
            extra.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert extra.recv(100).startswith(b"HTTP/1.1 503")
        # the half-open ones are closed by the server after the 1 s head timeout
        for conn in silent:
            conn.settimeout(10)
            assert conn.recv(100) == b""
            conn.close()
        # the server frees their slots as its threads wind down (a moment on a busy machine)
        wait_until(lambda: get(url, "/curve")[0] == 200, timeout=10, what="a page to load")
    assert "Traceback" not in "".join(lines)


def test_idle_websockets_hold_no_more_than_their_connections_and_pages_still_load():
    with watched_server(*LIMITS) as (url, process, lines, _p):
        before = process.num_threads()
        idle = [RawSocket(url) for _ in range(15)]
        status, _ = get(url, "/curve")
        assert status == 200
        # a websocket takes four threads (its connection, its reader and writer, and its
        # ping timer), so the cap of 20 connections bounds the threads
        assert process.num_threads() <= before + 4 * 20
        for tab in idle:
            tab.hang_up()
    assert "Traceback" not in "".join(lines)


# --- jobs: stopped quickly, counted until they end, tabs told on SIGTERM --------------


def test_sigterm_during_a_heavy_evaluation_tells_the_tab_and_exits():
    with watched_server() as (url, _, _lines, popen):
        tab = Client(url)
        assert tab.call("start", HEAVY_EVAL)["ok"]
        tab.wait_for(lambda c: any(s["message"] == "training" for s in c.of("status")))
        time.sleep(0.5)  # inside the first evaluation
        popen.send_signal(signal.SIGTERM)
        popen.wait(timeout=15)
        final = tab.of("status")[-1]
        assert final["state"] == "stopped"
        assert final["message"] == "stopped during epoch 1: the server is shutting down"


def all_answers(tab: RawSocket, ids: set[int]) -> list[dict]:
    """The acknowledgements of ``ids``, in whatever order the handler threads sent them."""
    answers: dict[int, dict] = {}
    while set(answers) != ids:
        message = tab.ws.recv()
        if message == "2":
            tab.ws.send("3")
        elif message.startswith("43"):
            ack_id, _, body = message[2:].partition("[")
            answers[int(ack_id)] = json.loads("[" + body)[0]
    return list(answers.values())


def test_rapid_starts_on_one_socket_never_train_two_jobs_at_once():
    with watched_server("--max-jobs", "1") as (url, process, lines, _p):
        tab = RawSocket(url)
        ids = {tab.send("start", LONG) for _ in range(100)}
        answers = all_answers(tab, ids)
        assert any(a["ok"] for a in answers)
        assert all(a["ok"] or "still" in a["error"] or "busy" in a["error"] for a in answers)
        other = RawSocket(url)
        busy = other.call("start", LONG)  # the one slot is taken by tab's latest job
        assert busy["ok"] is False and busy["error"].startswith("server busy: 1 job ")
        tab.hang_up()
        other.hang_up()
        baseline = psutil.Process(process.pid)
        wait_until(lambda: baseline.num_threads() < 20, what="handler threads to end")
    assert "Traceback" not in "".join(lines)


def test_the_idle_websocket_benchmark_runs_with_small_numbers():
    # the production recipe's figures come from this script (docs/load.md); its quick
    # mode holds 20 idle websockets and 20 half-open requests, and checks the tab is told
    result = subprocess.run([sys.executable, "-m", "benchmarks.idle_websockets", "--quick"],
                            capture_output=True, text=True, timeout=240)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the server had closed 20/20" in result.stdout
    assert "the server is shutting down" in result.stdout


def test_the_job_memory_benchmark_runs_with_small_numbers():
    result = subprocess.run([sys.executable, "-m", "benchmarks.job_memory", "--quick"],
                            capture_output=True, text=True, timeout=240)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MiB above baseline" in result.stdout

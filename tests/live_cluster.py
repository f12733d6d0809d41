"""Class mode for real: a redis-server of our own, web processes and ``bpnet worker``s.

Tests that need it call ``need_class_mode()`` at import: without redis-server or the
``class`` extra they are skipped with the reason, unless ``BPNET_REQUIRE_REDIS`` is set
(CI sets it), where a missing piece is a failure.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

import pytest
from live_server import free_port, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def need_class_mode() -> None:
    missing = None
    if not os.path.exists(REDIS_SERVER):
        missing = "redis-server is not installed: apt-get install -y redis-server"
    else:
        try:
            import redis  # noqa: F401
            import rq  # noqa: F401
        except ImportError as exc:
            missing = f"the class extra is missing ({exc.name}): pip install -e '.[class]'"
    if missing is None:
        return
    if os.environ.get("BPNET_REQUIRE_REDIS"):
        raise RuntimeError(missing)
    pytest.skip(missing, allow_module_level=True)


@contextmanager
def redis_server():
    """Yield (url, process) for a throw-away redis-server on a free loopback port."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bpnet-redis-")
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, process, "redis-server", timeout=20)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        _end(process)
        shutil.rmtree(folder, ignore_errors=True)


def restart_redis(url: str) -> subprocess.Popen:
    """A new redis-server on the port of ``url`` (after the first was stopped)."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    wait_for_port(port, process, "redis-server", timeout=20)
    return process


@contextmanager
def worker(url: str, processes: int = 1):
    """Yield a ``bpnet worker`` process once it waits for jobs; stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bpnet", "worker", "--redis", url, "--processes", str(processes)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    # read its output in a thread: a blocking readline would wait forever on a silent worker
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True)
    reader.start()
    ready, deadline = 0, time.monotonic() + 30
    try:
        while ready < processes:
            try:
                ready += "waiting for jobs" in lines.get(timeout=0.5)
            except queue.Empty:
                if process.poll() is not None:
                    raise RuntimeError("bpnet worker exited before it was ready") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"bpnet worker: {ready}/{processes} ready after 30 s"
                    ) from None
        yield process
    finally:
        _end(process)
        reader.join(5)
        process.stdout.close()


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

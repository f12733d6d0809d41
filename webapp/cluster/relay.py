"""The web process's end of Flask-SocketIO's Redis message queue, quick to come back.

python-socketio's ``RedisManager`` retries a lost subscription with a back-off that grows
to a minute, and events published meanwhile are lost for good. Ours retries every
second and says whether it is subscribed, so ``start`` can refuse until it is.
"""

from __future__ import annotations

import threading
import time

from socketio import RedisManager

RETRY_EVERY = 1.0  # seconds between two tries to subscribe again
CHANNEL = "flask-socketio"  # Flask-SocketIO's default, which the workers' write-only SocketIO use


class Relay(RedisManager):
    """``RedisManager`` with a steady retry and a ``listening`` event."""

    def __init__(self, url: str):
        super().__init__(url, channel=CHANNEL)
        # set while subscribed; python-socketio starts listening at the first connection,
        # so the first start may have to wait a moment for it
        self.listening = threading.Event()

    def _redis_listen_with_retries(self):
        # the same loop as python-socketio's (5.x), without the growing back-off
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                self.listening.set()
                yield from self.pubsub.listen()
            except Exception as exc:
                self.listening.clear()
                self._get_logger().warning("lost the message queue (%s); retrying", exc)
                time.sleep(RETRY_EVERY)

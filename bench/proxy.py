"""A loopback TCP proxy that counts the bytes of every HTTP request passing through it.

Put on the port of `LEADGATE_INSTANCE_URL`, it sees every instance-to-instance call of a
deployment (Connect pulls, webhook deliveries) and tells how many bytes each one moved.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass

_REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) HTTP/1\.[01]\r\n")


@dataclass
class Exchange:
    """One HTTP request seen by the proxy, with the bytes sent each way."""

    at: float
    method: str
    path: str
    sent: int = 0  # client -> server (request line, headers, body)
    received: int = 0  # server -> client (status, headers, body)


class CountingProxy:
    """Forwards 127.0.0.1:listen_port to 127.0.0.1:target_port in a background thread."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> CountingProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        def _close() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(_close)
        self._thread.join(10)

    def since(self, t: float) -> list[Exchange]:
        """Requests that started at or after `t` (time.monotonic())."""
        with self._lock:
            return [e for e in self.exchanges if e.at >= t]

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        current: list[Exchange | None] = [None]

        async def upstream() -> None:
            while data := await reader.read(65536):
                match = _REQUEST_LINE.match(data)
                if match:
                    ex = Exchange(time.monotonic(), match[1].decode(), match[2].decode())
                    with self._lock:
                        self.exchanges.append(ex)
                    current[0] = ex
                if current[0] is not None:
                    current[0].sent += len(data)
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if current[0] is not None:
                    current[0].received += len(data)
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            up_writer.close()

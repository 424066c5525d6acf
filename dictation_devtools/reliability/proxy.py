"""A real TCP proxy between the client and the server that can stall traffic or cut every connection.

It forwards bytes in both directions on its own asyncio thread. `stall(seconds)` stops reading and writing on
every connection (new ones included) while holding them open, as a congested or sleeping network does: the
kernel buffers fill, nothing is lost and nothing is closed. `cut()` closes both sides of every open connection at
once, as a dropped Wi-Fi or a NAT timeout does. The client cannot tell the proxy from the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

CHUNK = 65536


class FaultProxy:
    """Listens on 127.0.0.1:`port` (0 = a free port) and forwards to 127.0.0.1:`target_port`."""

    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self.port = port
        self.connections = 0  # accepted so far
        self.cuts = 0  # connections closed by cut()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._flowing: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    def start(self) -> FaultProxy:
        """Listen; returns once the port is bound (see `port`)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def close(self) -> None:
        """Stop listening, close every connection, stop the thread."""
        with contextlib.suppress(RuntimeError, TimeoutError):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stall(self, seconds: float) -> None:
        """Stop forwarding for `seconds` (blocks the caller that long), holding every connection open."""
        self._run(self._set_flowing(False))
        time.sleep(seconds)
        self._run(self._set_flowing(True))

    def cut(self) -> int:
        """Close both sides of every open connection now; return how many were cut."""
        return self._run(self._cut())

    # ----- proxy thread -----
    def _run(self, coroutine: object) -> int:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _set_flowing(self, flowing: bool) -> int:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()
        return 0

    async def _cut(self) -> int:
        # One connection is two writers (client side and server side).
        cut = len(self._writers) // 2
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()  # RST, like a dropped path: no orderly close handshake
        self._writers.clear()
        self.cuts += cut
        return cut

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._cut()
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()  # the server is down: refuse, as a closed port would
            return
        self._writers |= {client_writer, server_writer}
        pumps = [asyncio.ensure_future(self._pump(client_reader, server_writer)),
                 asyncio.ensure_future(self._pump(server_reader, client_writer))]
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._pumps.difference_update(pumps)
            for writer in (client_writer, server_writer):
                self._writers.discard(writer)
                with contextlib.suppress(Exception):
                    writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        while True:
            # While stalled, neither read nor write: the bytes wait in the kernel buffers (TCP backpressure).
            await self._flowing.wait()
            data = await reader.read(CHUNK)
            if not data:
                return
            await self._flowing.wait()
            writer.write(data)
            await writer.drain()

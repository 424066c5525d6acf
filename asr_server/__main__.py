"""`python -m asr_server` / `asr-server`: load the config, listen, load the model, serve until stopped.

The model is built here, inside `main()` and under the `__main__` guard, because vLLM spawns worker processes
that re-import the main module: a model built at import time would be built again in every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from asr_server.config import ServerConfig, load_config
from asr_server.errors import AsrServerError

if TYPE_CHECKING:
    from asr_server.server import BackendFactory


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # websockets logs every refused handshake and closed connection at INFO; ours say it better.
    logging.getLogger("asr_server.websockets").setLevel(logging.WARNING)


async def serve(config: ServerConfig, backend_factory: BackendFactory | None = None) -> None:
    """Listen, load the model, serve until SIGINT/SIGTERM; raise the load error (an AsrServerError) if any."""
    from asr_server.server import AsrServer

    server = AsrServer(config, backend_factory) if backend_factory else AsrServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(NotImplementedError, AttributeError):  # Windows has no add_signal_handler
            loop.add_signal_handler(getattr(signal, name), stop.set)
    try:
        loaded = asyncio.create_task(server.wait_loaded())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({loaded, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if loaded.done():
            loaded.result()  # raises the load error, which main() prints as one line
            logging.getLogger("asr_server").info(
                "ready: clients connect to ws://%s:%d", config.host, server.port)
            await stop.wait()
        else:
            loaded.cancel()
    finally:
        await server.close()


def main(argv: list[str] | None = None, backend_factory: BackendFactory | None = None) -> int:
    """Entry point; returns the exit status (2 for a problem the user can fix, with a one-line message).

    `backend_factory` replaces the real engines (tests and benchmarks stand a modelled one in)."""
    try:
        config = load_config(argv)
        configure_logging(config.log_level)
        asyncio.run(serve(config, backend_factory))
    except AsrServerError as error:
        print(f"asr_server: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    _exit_now_if_decoding()
    return 0


def _exit_now_if_decoding() -> None:
    """A decode still running on the inference thread (the server waited 5 s for it) must not meet the
    interpreter's shutdown: torch's threads destroyed mid-operation abort the process ("terminate called without
    an active exception", exit 134, on SIGTERM during a decode). Everything worth keeping is closed by now, so the
    process ends here at once, with status 0, instead."""
    from asr_server.scheduler import INFERENCE_THREAD

    busy = [thread for thread in threading.enumerate() if thread.name == INFERENCE_THREAD and thread.is_alive()]
    if not busy:
        return
    logging.getLogger("asr_server").warning("a decode was still running at shutdown; exiting without waiting for it")
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())

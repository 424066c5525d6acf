"""`python -m asr_server` / `asr-server`: load the config, listen, load the model, serve until stopped.

The model is built here, inside `main()` and under the `__main__` guard, because vLLM spawns worker processes
that re-import the main module: a model built at import time would be built again in every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
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
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

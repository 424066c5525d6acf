"""Start the tray app exactly as `python -m tray_client` does, but with a log file chosen by the test.

Usage: python tray_main.py LOG_FILE [tray_client flags...]. It adds a log file of the test's choosing and stack
dumps on SIGUSR1/SIGUSR2 (`python -m tray_client --input-wav F` runs the same tray fed by a WAV).
"""

from __future__ import annotations

import sys
from pathlib import Path


def dump_asyncio_tasks(*_: object) -> None:
    """Write every asyncio task's name and state to stderr, with the exception of a task that died (a failed
    link or pump task shows nowhere else until it is garbage collected)."""
    import asyncio
    import gc
    import traceback

    for task in [obj for obj in gc.get_objects() if isinstance(obj, asyncio.Task)]:
        state = "pending" if not task.done() else "cancelled" if task.cancelled() else "done"
        error = task.exception() if state == "done" else None
        sys.stderr.write(f"asyncio task {task.get_name()}: {state}\n")
        if error is not None:
            sys.stderr.write("".join(traceback.format_exception(error)))
    sys.stderr.flush()


def main() -> int:
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` dumps every thread's stack
    signal.signal(signal.SIGUSR2, dump_asyncio_tasks)  # `kill -USR2 PID` lists the asyncio tasks
    from tray_client.config import load_config
    from tray_client.logs import setup_logging
    from tray_client.ui.tray.app import run_tray

    config = load_config(sys.argv[2:])
    setup_logging(config.log_level, Path(sys.argv[1]))
    return run_tray(config)


if __name__ == "__main__":
    sys.exit(main())

"""Start the tray app exactly as `python -m tray_client` does, but with a log file chosen by the test.

Usage: python tray_main.py LOG_FILE [tray_client flags...]. `python -m tray_client` runs headless whenever
--input-wav is given; the tray tests need the tray *and* a WAV as the microphone, so they enter here.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` dumps every thread's stack
    from tray_client.app import run_tray
    from tray_client.config import load_config
    from tray_client.logs import setup_logging

    config = load_config(sys.argv[2:])
    setup_logging(config.log_level, Path(sys.argv[1]))
    return run_tray(config)


if __name__ == "__main__":
    sys.exit(main())

"""Logging for the client: a rotating file in the user's log directory plus stderr.

Library modules only call `logging.getLogger(__name__)`; this is the one place that decides where logs go, and
only the entry point calls it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
MAX_BYTES = 1_000_000  # a day of dictation at INFO fits; older days rotate out
BACKUPS = 3


def setup_logging(level: str = "INFO", path: Path | None = None) -> Path | None:
    """Send logs to `path` (default: config.log_path()) and stderr; return the file used, or None if unwritable."""
    from tray_client.config import log_path

    root = logging.getLogger()
    root.setLevel(level.upper())
    formatter = logging.Formatter(LOG_FORMAT)
    if sys.stderr is not None:  # pythonw.exe has no console: the file below is the only log
        stderr = logging.StreamHandler()
        stderr.setFormatter(formatter)
        root.addHandler(stderr)
    target = path or log_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                       encoding="utf-8")
    except OSError as error:
        logging.getLogger(__name__).warning("cannot write the log file %s (%s); logging to stderr only",
                                            target, error)
        return None
    handler.setFormatter(formatter)
    root.addHandler(handler)
    return target

"""`python -m tray_client`: the tray app, or with `--no-tray` the headless pipeline (see tray_client.headless)."""

from __future__ import annotations

import logging
import sys

from tray_client.config import ConfigError, load_config, to_toml

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Load the settings once, set up logging, then run the tray app or the headless pipeline.

    A start that fails is reported where the user can see it, also under pythonw (tray_client.startup)."""
    from tray_client.startup import report_failed_start

    try:
        return _main(argv)
    except Exception as error:
        logging.getLogger(__name__).exception("the app could not start")
        report_failed_start(f"{type(error).__name__}: {error}")
        return 1


def _main(argv: list[str] | None) -> int:
    from tray_client.startup import report_failed_start

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["history"]:
        from tray_client.history.cli import main as history_main

        return history_main(args[1:])
    if args[:1] == ["open"]:
        from tray_client.webapp.launch import main as open_main

        return open_main(args[1:])
    if args[:1] == ["untranscribed"]:
        from tray_client.untranscribed import main as untranscribed_main

        return untranscribed_main(args[1:])
    try:
        config = load_config(argv)
    except ConfigError as error:
        report_failed_start(str(error))
        return EXIT_USAGE
    if config.print_config:
        sys.stdout.write(to_toml(config))
        return 0
    from tray_client.logs import setup_logging

    setup_logging(config.log_level)
    if config.no_tray:  # --input-wav alone runs the whole tray app fed by the recording (demos, tests)
        from tray_client.headless import run_headless

        return run_headless(config)
    try:
        from tray_client.ui.tray.app import run_tray
    except ImportError as error:
        report_failed_start(f"the tray app is not available ({error}); run headless with --no-tray, or install "
                            "the client extras: pip install .[client]")
        return EXIT_USAGE
    return int(run_tray(config) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""Whether this Python has Tk, and what to tell the user when it has not.

The Settings window and the live preview are Tk windows. The embeddable Windows Python, a python.org install
with "tcl/tk and IDLE" unticked, and Linux pythons without the python3-tk package have no tkinter; before, Settings
then did nothing at all (the import sat outside the error handling) and Live preview stayed ticked showing nothing.
"""

from __future__ import annotations

import sys

__all__ = ["TkUnavailable", "require_tk", "tk_missing"]


class TkUnavailable(RuntimeError):
    """This Python cannot open Tk windows; the message says what is missing and how to get it."""


def _fix() -> str:
    if sys.platform == "win32":
        return ("install Python from python.org with \"tcl/tk and IDLE\" ticked (or run its installer again, "
                "Modify), then start the app with that Python")
    return "install Tk for this Python (Debian/Ubuntu: sudo apt install python3-tk), then start the app again"


def tk_missing(what: str) -> str | None:
    """None when Tk works here; otherwise a notice: `what` needs Tk, this Python lacks it, how to fix it."""
    try:
        import tkinter  # noqa: F401
    except ImportError as error:
        return f"{what} needs Tk, which this Python ({sys.executable}) does not have ({error}). To fix: {_fix()}."
    return None


def require_tk(what: str) -> None:
    """Raise TkUnavailable (with the fix) when Tk is missing."""
    problem = tk_missing(what)
    if problem is not None:
        raise TkUnavailable(problem)

"""A GTK window for the context journey (GTK, unlike Tk, speaks AT-SPI), run with the system Python that has
PyGObject; skipped with the reason where there is none."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"


def gtk_python() -> str:
    """A Python with PyGObject and GTK 3, or a pytest skip naming the packages to install."""
    probe = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
    if shutil.which(SYSTEM_PYTHON) and subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True,
                                                      timeout=60).returncode == 0:
        return SYSTEM_PYTHON
    pytest.skip("no Python with PyGObject and GTK 3: apt-get install python3-gi gir1.2-gtk-3.0 at-spi2-core")


@contextmanager
def gtk_field(env: dict[str, str], text: str, *, password: bool = False) -> Iterator[subprocess.Popen]:
    """A focused GTK text field holding `text` (a password entry with `password`), until the block ends."""
    args = [gtk_python(), str(REPO_ROOT / "dictation_devtools" / "gtk_target.py"), text]
    process = subprocess.Popen([*args, *(["--password"] if password else [])], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env={**os.environ, **env})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the field has the focus (or the program ended)
        assert line.strip() == "ready", f"the GTK target did not start (exit code {process.poll()})"
        yield process
    finally:
        process.terminate()
        process.wait(30)

"""The web app costs nothing until it is opened: starting the tray's parts does not import the HTTP stack."""

from __future__ import annotations

import subprocess
import sys

from tests.desktop.tray_harness import REPO_ROOT


def test_the_tray_parts_and_the_open_command_do_not_import_aiohttp_until_used() -> None:
    code = ("import sys\n"
            "import tray_client.__main__, tray_client.ui.tray.features, tray_client.webapp.launch, tray_client.webapp\n"
            "print(sorted(name for name in sys.modules if name.split('.')[0] == 'aiohttp'))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

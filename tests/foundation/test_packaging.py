"""What the product wheel holds: the two programs and their shared core, never the developers' tools."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _build_wheel(source: Path, out: Path) -> zipfile.ZipFile:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(source)], check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def _top_level(wheel: zipfile.ZipFile) -> set[str]:
    return {name.split("/")[0] for name in wheel.namelist() if ".dist-info" not in name.split("/")[0]}


def test_the_product_wheel_ships_the_programs_and_no_dev_tools(tmp_path: Path):
    with _build_wheel(REPO_ROOT, tmp_path / "product") as wheel:
        assert _top_level(wheel) == {"asr_server", "tray_client", "dictation_core"}
        names = set(wheel.namelist())
        # The files the app opens at run time travel with it: the VAD model and the web app's pages.
        assert {"tray_client/capture/data/silero_vad.onnx", "tray_client/webapp/static/index.html",
                "tray_client/webapp/static/app.js"} <= names


def test_the_dev_tools_are_a_distribution_of_their_own(tmp_path: Path):
    with _build_wheel(REPO_ROOT / "devtools", tmp_path / "devtools") as wheel:
        assert _top_level(wheel) == {"dictation_devtools"}
        assert "dictation_devtools/fuzz/messages.py" in wheel.namelist()
        assert "dictation_devtools/reliability/runs.py" in wheel.namelist()

"""Session fixtures that stand in for what cannot run here: model weights, real speech, a desktop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_devtools.desktop import DesktopUnavailable, TkTarget, XDisplay, start_display, start_tk_target
from dictation_devtools.speech import SpeechSet, SpeechToolsMissing, build_speech_set

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    """On CI a missing tool is a failure (CI installs everything); on a developer's machine a skip."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots, logs); gitignored."""
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight Qwen3-ASR checkpoint, built once per session, loadable by the real qwen_asr code."""
    from dictation_devtools.tiny_checkpoint import build_checkpoint

    return build_checkpoint(tmp_path_factory.mktemp("tiny-qwen3-asr") / "checkpoint")


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> SpeechSet:
    """English and Mandarin espeak-ng phrases with known boundaries, 16 kHz mono int16."""
    try:
        return build_speech_set(tmp_path_factory.mktemp("speech"))
    except SpeechToolsMissing as error:
        _unavailable(str(error))
        raise


@pytest.fixture(scope="session")
def x_display() -> Iterator[XDisplay]:
    """Xvfb with trayer as the system tray; DISPLAY points at it for the rest of the session."""
    try:
        display = start_display()
    except DesktopUnavailable as error:
        _unavailable(str(error))
        raise
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display.name
    yield display
    display.close()
    if previous is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = previous


@pytest.fixture
def tk_target(x_display: XDisplay, tmp_path: Path) -> Iterator[TkTarget]:
    """A focused Tk text window that records what is typed into it."""
    target = start_tk_target(x_display, tmp_path / "tk-target")
    yield target
    target.close()

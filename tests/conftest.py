"""Session fixtures that stand in for what cannot run here: model weights, real speech, a desktop."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_devtools.desktop import DesktopUnavailable, TkTarget, XDisplay, start_display, start_tk_target
from dictation_devtools.speech import SpeechSet, SpeechToolsMissing, build_speech_set

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SLOW_MARKERS = frozenset({"desktop", "windows", "journey"})
"""A test marked with one of these starts Xvfb, Wine or the app: it is slow whatever its file says."""
SLOW_FIXTURES = frozenset({"x_display", "tiny_checkpoint", "speech"})
"""A test that uses one of these fixtures (even through another fixture) is slow: Xvfb; the random-weight
checkpoint, whose tests run the real transformers decode on the CPU; the espeak-ng speech, whose tests run real
Silero and the pipeline in real time. Together these took over 15 minutes on 2 shared cores."""
SLOW_MODULES = ("asr_server", "tray_client", "dictation_devtools.stand_in_server", "dictation_devtools.engine_serve",
                "dictation_devtools.scripted_server")
"""`python -m` of one of these starts a server or the app."""
SLOW_PROGRAMS = frozenset({"Xvfb", "xvfb-run", "chromium", "wine", "wine64", "wineserver", "start.sh",
                           "start_server.sh"})
"""Programs (or launch scripts) that start Xvfb, a browser, Wine, or a server and the app."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow what the rules above name, before `-m "not slow"` deselects (this hook runs first)."""
    for item in items:
        marks = {mark.name for mark in item.iter_markers()}
        if "slow" in marks:
            continue
        if marks & SLOW_MARKERS or SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def slow_program(args: object) -> str | None:
    """What a process started with `args` is, if it is one that makes a test slow (a server, the app, Xvfb, a
    browser, Wine); None for anything else (a quick `python -c`, git, xdotool)."""
    argv = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)  # type: ignore[call-overload]
    words = [os.fsdecode(word) for word in argv]
    if len(words) == 1 and " " in words[0]:
        words = words[0].split()
    for index, word in enumerate(words):
        if word == "-m" and index + 1 < len(words):
            module = words[index + 1]
            if any(module == name or module.startswith(name + ".") for name in SLOW_MODULES):
                return f"python -m {module}"
        if Path(word).name in SLOW_PROGRAMS:
            return Path(word).name
    return None


@pytest.fixture(autouse=True)
def _quick_tests_start_no_servers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test not marked slow that starts a server, the app, Xvfb, a browser or Wine fails, naming what it
    started: `pytest -m "not slow"` is the inner loop of docs/testing.md and must stay quick."""
    if request.node.get_closest_marker("slow") is not None:
        yield
        return
    started: list[str] = []
    real_init = subprocess.Popen.__init__

    def watched_init(self: subprocess.Popen[bytes], args: object, *rest: object, **options: object) -> None:
        program = slow_program(args)
        if program is not None:
            started.append(program)
        real_init(self, args, *rest, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(subprocess.Popen, "__init__", watched_init)
    yield
    if started:
        pytest.fail(f"this test starts {', '.join(sorted(set(started)))}: mark it pytest.mark.slow "
                    "(docs/testing.md: the quick loop starts no server, app, Xvfb, browser or Wine)", pytrace=False)


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

"""Fixtures for the fault runs: long dictations built once per session, user directories kept inside tmp."""

from __future__ import annotations

from pathlib import Path

import pytest

from dictation_devtools.reliability.dictation import Dictation, build_dictation
from dictation_devtools.speech import SpeechToolsMissing


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, logs and saved audio of in-process pipelines go under tmp, never into the developer's home."""
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    return tmp_path


def _build(factory: pytest.TempPathFactory, count: int) -> Dictation:
    try:
        return build_dictation(factory.mktemp(f"dictation{count}"), count)
    except SpeechToolsMissing as error:  # CI installs espeak-ng and sox; elsewhere a skip says what is missing
        pytest.skip(str(error))
        raise


@pytest.fixture(scope="session")
def dictation6(tmp_path_factory: pytest.TempPathFactory) -> Dictation:
    """Six distinct phrases (~20 s): enough utterances for five kills, a stall and two cuts."""
    return _build(tmp_path_factory, 6)


@pytest.fixture(scope="session")
def dictation3(tmp_path_factory: pytest.TempPathFactory) -> Dictation:
    """Three distinct phrases (~10 s) for the microphone runs."""
    return _build(tmp_path_factory, 3)

"""The committed icons and chimes: up to date with their drawing code, and readable at 16x16 on any taskbar."""

from __future__ import annotations

import io
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tray_client.events import ClientState
from tray_client.ui.tray.icons import ICON_SIZES, draw_state_icon, icon_path, load_state_icon
from tray_client.ui.tray.sounds import SOUND_NAMES, SoundPlayer, render_chime, sound_path

REPO_ROOT = Path(__file__).resolve().parents[2]
LIGHT, DARK = (243, 243, 243), (32, 32, 32)


def test_committed_assets_match_the_drawing_code():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "make_assets.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"run `python scripts/make_assets.py` and commit assets/:\n{result.stdout}"


@pytest.mark.parametrize("state", list(ClientState))
def test_every_state_has_a_png_and_a_multi_size_ico(state):
    with Image.open(icon_path(state, "png")) as png:
        assert png.size == (64, 64) and png.mode == "RGBA"
    with Image.open(icon_path(state, "ico")) as ico:
        assert {size for size, _ in ico.info["sizes"]} == set(ICON_SIZES)
    assert load_state_icon(state).size == (64, 64)


def _on(background: tuple[int, int, int], icon: Image.Image) -> np.ndarray:
    canvas = Image.new("RGBA", icon.size, (*background, 255))
    canvas.alpha_composite(icon)
    return np.asarray(canvas.convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("background", [LIGHT, DARK], ids=["light", "dark"])
def test_states_are_distinct_at_16px_on_light_and_dark_taskbars(background):
    images = {state: _on(background, draw_state_icon(state, 16)) for state in ClientState}
    states = list(images)
    for i, first in enumerate(states):
        for second in states[i + 1:]:
            distance = np.abs(images[first] - images[second]).mean()
            assert distance > 8, f"{first.value} and {second.value} look alike at 16 px ({distance:.1f})"


@pytest.mark.parametrize("background", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize("state", list(ClientState))
def test_icon_outline_stands_out_from_the_taskbar(state, background):
    """Some opaque pixel of the 16-px icon differs strongly from the taskbar, whichever its colour."""
    icon = draw_state_icon(state, 16)
    alpha = np.asarray(icon)[..., 3]
    pixels = _on(background, icon)[alpha > 200]
    contrast = np.abs(pixels - np.array(background)).sum(axis=1)
    assert (contrast > 300).mean() > 0.15, f"{state.value} fades into a {background} taskbar"


def test_icons_are_never_drawn_below_16px():
    with pytest.raises(ValueError, match="16x16"):
        draw_state_icon(ClientState.OFF, 8)


@pytest.mark.parametrize("name", SOUND_NAMES)
def test_chimes_are_short_audible_wavs(name):
    data = render_chime(name)
    assert sound_path(name).read_bytes() == data
    with wave.open(io.BytesIO(data)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        duration = wav.getnframes() / wav.getframerate()
    assert 0.05 < duration < 0.3
    assert 3000 < np.abs(samples).max() < 32767
    assert abs(int(samples[0])) < 200 and abs(int(samples[-1])) < 200  # ramps: no click


def test_start_rises_and_stop_falls():
    def pitch(data: bytes, half: int) -> float:
        with wave.open(io.BytesIO(data)) as wav:
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(float)
            rate = wav.getframerate()
        part = samples[: len(samples) // 2] if half == 0 else samples[len(samples) // 2:]
        spectrum = np.abs(np.fft.rfft(part))
        return float(np.argmax(spectrum) * rate / len(part))

    start, stop = render_chime("start"), render_chime("stop")
    assert pitch(start, 0) < pitch(start, 1)
    assert pitch(stop, 0) > pitch(stop, 1)
    with pytest.raises(ValueError, match="unknown sound"):
        render_chime("beep")


def test_player_without_any_sound_tool_is_a_silent_no_op(monkeypatch, caplog):
    monkeypatch.setenv("PATH", "/nonexistent")
    player = SoundPlayer()
    with caplog.at_level("DEBUG", logger="tray_client.ui.tray.sounds"):
        player.play("start")
    assert "no sound player" in caplog.text
    player.close()


def test_player_switched_off_runs_nothing(monkeypatch):
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a))
    SoundPlayer(enabled=False).play("start")
    assert started == []


def test_player_starts_aplay_with_the_asset_and_does_not_wait(monkeypatch, tmp_path):
    record = tmp_path / "played"
    fake = tmp_path / "bin" / "aplay"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {record}\nsleep 5\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    player = SoundPlayer()
    import time

    started = time.monotonic()
    player.play("stop")
    assert time.monotonic() - started < 1.0  # the 5-s "player" runs on its own
    assert _wait_exists(record)
    assert record.read_text().split() == ["-q", str(sound_path("stop"))]
    player.close()


def _wait_exists(path: Path) -> bool:
    from dictation_devtools.polling import wait_for

    return wait_for(lambda: path.exists() and path.read_text().strip() != "", 60)

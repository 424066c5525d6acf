"""The live preview overlay on a real X display, in the tray app fed by a recording: it shows the partial
text while the phrase plays and the final after it, near the bottom centre, as an override-redirect window
that never takes the focus (the focused Tk window keeps it and receives the text); then it fades away.
Screenshots land in test-artifacts/overlay-*.png."""

from __future__ import annotations

import re
import subprocess

import pytest
from PIL import Image

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.desktop.test_tray_e2e import compose, known, silence
from tests.desktop.tray_harness import start_tray, xrun
from tray_client.ui.overlay.window import OVERLAY_TITLE

pytestmark = [pytest.mark.desktop]


def overlay_window(display) -> str:
    found = subprocess.run(["xdotool", "search", "--name", OVERLAY_TITLE], env=display.env(),
                           capture_output=True, text=True)
    ids = found.stdout.split()
    return ids[0] if ids else ""


def window_name(display, window: str) -> str:
    result = subprocess.run(["xdotool", "getwindowname", window], env=display.env(), capture_output=True)
    return result.stdout.decode("utf-8", errors="replace").strip()


def window_info(display, window: str) -> str:
    return xrun(display, "xwininfo", "-id", window)


def geometry(info: str) -> tuple[int, int, int, int]:
    def value(name: str) -> int:
        return int(re.search(rf"{name}:\s+(-?\d+)", info).group(1))

    return value("Absolute upper-left X"), value("Absolute upper-left Y"), value("Width"), value("Height")


def shot(display, path) -> Image.Image:
    xrun(display, "import", "-window", "root", str(path), timeout=20)
    with Image.open(path) as image:
        return image.convert("RGB").copy()


def test_overlay_shows_partial_then_final_without_taking_the_focus(
        x_display, tk_target, speech, tmp_path, artifacts_dir):
    english = known(speech.english, 0)
    partial = " ".join(english.text.split()[: len(english.text.split()) // 2])
    wav = compose(tmp_path / "one.wav", [silence(2.0), english.audio, silence(3.0)])
    with ScriptedServer([english], final_delay_s=1.0) as server:  # the real server sends partials
        tray = start_tray(x_display, tmp_path / "home", "--server", server.url, "--input-wav", str(wav),
                          "--start-listening")
        try:
            tray.find_icon()
            # The focused window lies under the overlay's place: its white text area is the light background.
            xrun(x_display, "xdotool", "windowsize", "--sync", tk_target.window_id, "700", "300")
            xrun(x_display, "xdotool", "windowmove", "--sync", tk_target.window_id, "290", "480")
            tk_target.focus()
            window: list[str] = []

            def shows(text: str) -> bool:
                window[:] = [overlay_window(x_display)]
                return bool(window[0]) and text in window_name(x_display, window[0]) and \
                    "IsViewable" in window_info(x_display, window[0])

            assert wait_for(lambda: shows(f"| {partial}"), 30, 0.05), tray.log_text()[-2000:]
            screen = shot(x_display, artifacts_dir / "overlay-partial.png")
            info = window_info(x_display, window[0])
            assert "Override Redirect State: yes" in info  # the window manager never focuses or decorates it
            x, y, width, height = geometry(info)
            assert abs((x + width / 2) - screen.width / 2) <= 2, "centred horizontally"
            assert screen.height - 200 < y + height < screen.height, "near the bottom"
            # Readable: a dark panel with light text on it, whatever is behind.
            panel = screen.crop((x + 2, y + 2, x + width - 2, y + height - 2))
            pixels = list(panel.get_flattened_data())
            dark = sum(1 for p in pixels if sum(p) < 150) / len(pixels)
            light = sum(1 for p in pixels if sum(p) > 600) / len(pixels)
            assert dark > 0.6 and light > 0.005, (dark, light)
            below = screen.crop((x, y + height + 2, x + width, y + height + 6))  # the Tk window's white area
            assert sum(sum(p) for p in below.get_flattened_data()) / (below.width * below.height) > 600, "light background"

            # The focus stays in the Tk window, which receives the final while the overlay is up.
            focus = xrun(x_display, "xdotool", "getwindowfocus").strip()
            assert focus != window[0]
            assert tk_target.wait_for_text(english.text, 20) == english.text
            assert wait_for(lambda: shows(f"| {english.text}") and "Typed" in window_name(x_display, window[0]),
                            10, 0.05), window_name(x_display, window[0])
            shot(x_display, artifacts_dir / "overlay-final.png")
            # Then it fades away (about 1.5 s after the final).
            assert wait_for(lambda: "IsUnMapped" in window_info(x_display, window[0]), 10, 0.1)
            assert tk_target.text() == english.text
            tray.quit()
        finally:
            tray.close()

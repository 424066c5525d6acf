"""The tray app under Wine, started as a user starts it (`python -m tray_client`), seen as Windows shows it.

What each check reads is what Windows received: the tooltip and balloon text and the icon handle passed to
Shell_NotifyIconW (and whether it accepted them), the popup menu's HMENU items just before it is shown, Notepad's
text through WM_GETTEXT. Only the microphone and the VAD are stood in (dictation_devtools/wine/wine_stand_ins.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from dictation_devtools.wine.harness import focus_notepad, poll
from tests.windows.conftest import PHRASES
from tray_client.events import ClientState
from tray_client.ui.tray.icons import icon_path, load_state_icon

STATE_TIPS = {
    ClientState.OFF: "Dictation: off",
    ClientState.LISTENING: "Dictation: listening",
    ClientState.SPEECH: "Dictation: hearing speech",
    ClientState.TRANSCRIBING: "Dictation: transcribing",
}


def shown_state(icon: dict | None) -> ClientState | None:
    """The state whose icon the HICON's pixels are (mean RGBA difference below 6 of 255), or None."""
    if icon is None:
        return None
    size = tuple(icon["size"])
    shown = np.frombuffer(bytes.fromhex(icon["rgba"]), dtype=np.uint8).reshape(size[1], size[0], 4)
    differences = {state: float(np.abs(shown.astype(int) - np.asarray(_expected(state, size), dtype=int)).mean())
                   for state in ClientState}
    best = min(differences, key=differences.__getitem__)
    return best if differences[best] < 6 else None


def _expected(state: ClientState, size: tuple[int, int]) -> Image.Image:
    """The frame of the state's .ico drawn for `size` (what Windows should pick), else the PNG scaled."""
    path = icon_path(state, "ico")
    if path.is_file():
        with Image.open(path) as ico:
            if size in ico.info.get("sizes", set()):
                ico.size = size
                return ico.convert("RGBA")
    return load_state_icon(state).convert("RGBA").resize(size, Image.LANCZOS)


def _subsequence(wanted: list[ClientState], seen: list[ClientState | None]) -> bool:
    position = 0
    for state in seen:
        if position < len(wanted) and state is wanted[position]:
            position += 1
    return position == len(wanted)


def test_each_state_shows_its_icon_and_tooltip_and_the_final_is_typed(start_tray, notepad, phrases, wine_lane,
                                                                       server_url):
    tray = start_tray(start_listening=True)
    poll(lambda: any(tip.startswith(STATE_TIPS[ClientState.LISTENING]) for tip in tray.tips()), 60,
         what="the listening tooltip")
    focus_notepad(wine_lane.display)

    tray.say("ascii", phrases["ascii"].audio.tobytes())

    poll(lambda: notepad.call("notepad_text") == PHRASES["ascii"], 30, what="the final typed into Notepad")
    head = f"Dictation: listening\nServer: {server_url.split('//', 1)[1]}\n"
    tail = f"\nLast: “{PHRASES['ascii']}”"
    poll(lambda: [t for t in tray.tips() if t.startswith(head) and t.endswith(tail)], 10,
         what="the tooltip with the state, the server and the final")
    for state, tip in STATE_TIPS.items():
        assert any(t.startswith(tip) for t in tray.tips()), f"no tooltip for {state}: {tray.tips()}"
    # Each state's icon, in order, read back from the HICON that Shell_NotifyIconW received.
    shown = [shown_state(icon) for icon in tray.icons()]
    assert _subsequence([ClientState.OFF, ClientState.LISTENING, ClientState.SPEECH, ClientState.TRANSCRIBING,
                         ClientState.LISTENING], shown), shown
    assert not [n for n in tray.notifications() if "Cannot reach the server" in n], \
        "the server was up: no notification may say it cannot be reached"
    assert tray.process.poll() is None


def test_unreachable_server_shows_the_disconnected_icon_and_a_notification(start_tray):
    tray = start_tray(server="ws://127.0.0.1:9/", start_listening=True)
    # Other notices may come first (this Python has no Tk: the live preview says so); this one must come.
    poll(lambda: [n for n in tray.notifications() if n.startswith("Cannot reach the server at ws://127.0.0.1:9/")],
         60, what="the cannot-reach notification")
    poll(lambda: ClientState.DISCONNECTED in [shown_state(icon) for icon in tray.icons()], 10,
         what="the disconnected icon")
    assert any(tip.startswith("Dictation: disconnected") for tip in tray.tips())


def test_a_missing_microphone_shows_the_error_icon_and_says_which(start_tray):
    tray = start_tray(input_device="USB headset that is not plugged in", start_listening=True)
    poll(lambda: ClientState.ERROR in [shown_state(icon) for icon in tray.icons()], 60, what="the error icon")
    assert any(tip.startswith("Dictation: error") for tip in tray.tips()), tray.tips()
    poll(lambda: [n for n in tray.notifications() if "USB headset" in n], 10,
         what="a notification naming the microphone")


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_long_final_ending_in_emoji_fits_the_tooltip_and_the_app_goes_on(start_tray, notepad, phrases,
                                                                           wine_lane):
    """Issue 10: a 150-character final ending in emoji made the tray quit (the tooltip holds 128 UTF-16 units
    with its terminator; emoji count twice)."""
    tray = start_tray(start_listening=True)
    poll(lambda: any(tip.startswith(STATE_TIPS[ClientState.LISTENING]) for tip in tray.tips()), 60,
         what="the listening tooltip")
    focus_notepad(wine_lane.display)
    tray.say("long_emoji", phrases["long_emoji"].audio.tobytes())
    poll(lambda: notepad.call("notepad_text") == PHRASES["long_emoji"], 60, what="the long final typed")
    tips = poll(lambda: [t for t in tray.tips() if t.endswith("🎉😀🎉”")], 10, what="a tooltip with its end")
    assert all(_utf16_units(tip) <= 127 for tip in tray.tips()), [_utf16_units(t) for t in tray.tips()]
    assert "…" in tips[-1]
    # Still running: the next utterance is typed too.
    notepad.call("notepad_clear")
    tray.say("ascii", phrases["ascii"].audio.tobytes())
    poll(lambda: notepad.call("notepad_text").strip() == PHRASES["ascii"], 30, what="the next final typed")
    assert tray.process.poll() is None


def test_a_notification_longer_than_windows_allows_is_shortened_not_dropped(start_tray):
    """Issue 10: a 445-character notification was silently dropped (a balloon holds 256 UTF-16 units)."""
    server = "ws://127.0.0.1:9/" + "n" * 430
    tray = start_tray(server=server, start_listening=True)
    shown = poll(lambda: [n for n in tray.notifications() if n.startswith("Cannot reach the server")], 60,
                 what="the unreachable-server notification")
    assert _utf16_units(shown[0]) <= 255
    assert shown[0].startswith("Cannot reach the server at ws://127.0.0.1:9/nnnn")
    assert tray.process.poll() is None

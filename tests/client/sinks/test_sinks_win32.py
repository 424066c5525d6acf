"""The Windows sinks' logic, run here with the Win32 surface faked at its boundary (SendInput and
GetAsyncKeyState; the clipboard calls). Real typing and pasting under Wine are in tests/windows."""

from __future__ import annotations

import io

import pytest

from tray_client.sinks import ElevatedTargetError, ModifiersHeldError, OutputError, StdoutSink
from tray_client.sinks._win32 import ELEVATED_MESSAGE, Win32ClipboardPaster, Win32Typer
from tray_client.sinks._win32_clipboard import CF_UNICODETEXT, PRIVACY_FORMATS, PasteSession, restorable
from tray_client.sinks._win32_input import (
    KEYEVENTF_KEYUP,
    KEYEVENTF_UNICODE,
    VK_RETURN,
    is_elevated_target,
    key_events,
    paste_events,
)
from tray_client.sinks.base import wait_for_release

UP, UNI = KEYEVENTF_KEYUP, KEYEVENTF_UNICODE


def typed_text(events: list[tuple[int, int, int]]) -> str:
    """What a window receives from the key events: the UTF-16 units of the Unicode key-downs, Enter as \\n."""
    units = bytearray()
    for vk, scan, flags in events:
        if flags & UP:
            continue
        if flags & UNI:
            units += scan.to_bytes(2, "little")
        elif vk == VK_RETURN:
            units += "\n".encode("utf-16-le")
        else:
            raise AssertionError(f"a layout-dependent virtual key was sent: {vk:#x}")
    return units.decode("utf-16-le")


@pytest.mark.parametrize("text", ["plain ASCII, 100%!", "déjà vu façade", "识别中文 and 日本語 한국어",
                                  "emoji 🎉 and 𠀀 (outside the BMP)", "line one\nline two"])
def test_every_character_goes_out_as_unicode_and_arrives_exactly(text):
    events = key_events(text)
    assert typed_text(events) == text
    assert all(vk == 0 for vk, _, _ in events if vk != VK_RETURN)
    downs = [e for e in events if not e[2] & UP]
    assert len(downs) == len([e for e in events if e[2] & UP])  # every key-down is released


def test_a_character_outside_the_bmp_is_its_two_surrogates():
    assert key_events("🎉") == [(0, 0xD83C, UNI), (0, 0xDF89, UNI), (0, 0xD83C, UNI | UP), (0, 0xDF89, UNI | UP)]


def test_control_characters_nobody_dictated_are_never_sent():
    assert typed_text(key_events("a\x07b\r\tc\x1b\x85")) == "abc"


def test_ctrl_v_uses_the_v_virtual_key_on_every_layout():
    assert [(vk, flags) for vk, _, flags in paste_events()] == [(0x11, 0), (0x56, 0), (0x56, UP), (0x11, UP)]


@pytest.mark.parametrize(("target", "own", "blocked"), [
    (0x3000, 0x2000, True),  # an app run as administrator, we are a normal user: UIPI blocks
    (None, 0x2000, True),  # we may not even query it: it runs elevated
    (0x2000, 0x2000, False),
    (0x1000, 0x2000, False),  # low integrity (a sandboxed browser) accepts our input
    (0x3000, 0x3000, False),  # we run elevated too
])
def test_uipi_blocks_only_a_target_above_our_integrity(target, own, blocked):
    assert is_elevated_target(target, own) is blocked


class FakeKeyboard:
    """SendInput and GetAsyncKeyState: the keys sent, and modifiers held for the first `held_polls` polls."""

    def __init__(self, held_polls: int = 0) -> None:
        self.sent: list[tuple[int, int, int]] = []
        self.polls = 0
        self.held_polls = held_polls

    def send(self, events) -> None:
        self.sent += list(events)

    def held_modifiers(self) -> frozenset[str]:
        self.polls += 1
        return frozenset({"ctrl", "alt"}) if self.polls <= self.held_polls else frozenset()


def test_typing_waits_until_the_user_released_the_modifiers():
    keyboard = FakeKeyboard(held_polls=3)
    clipboard: list[str] = []
    Win32Typer(keyboard, elevated=lambda: False, to_clipboard=clipboard.append).emit("add")
    assert keyboard.polls == 4 and typed_text(keyboard.sent) == "add" and clipboard == []


def test_modifiers_held_too_long_put_the_text_on_the_clipboard_instead(monkeypatch):
    monkeypatch.setattr("tray_client.sinks.base.MODIFIER_WAIT_S", 0.05)
    keyboard = FakeKeyboard(held_polls=10**9)
    clipboard: list[str] = []
    with pytest.raises(ModifiersHeldError, match="alt\\+ctrl stayed held"):
        Win32Typer(keyboard, elevated=lambda: False, to_clipboard=clipboard.append).emit("add")
    assert keyboard.sent == [] and clipboard == ["add"]


def test_wait_for_release_is_bounded():
    now = [0.0]
    assert wait_for_release(lambda: frozenset({"shift"}), 1.0, clock=lambda: now[0],
                            sleep=lambda s: now.__setitem__(0, now[0] + s)) == {"shift"}
    assert now[0] >= 1.0


@pytest.mark.parametrize("sink_type", [Win32Typer, Win32ClipboardPaster])
def test_an_elevated_window_gets_the_text_on_the_clipboard_never_typed(sink_type):
    keyboard = FakeKeyboard()
    clipboard: list[str] = []
    sink = sink_type(keyboard, elevated=lambda: True, to_clipboard=clipboard.append)
    with pytest.raises(ElevatedTargetError) as caught:
        sink.emit("secret admin text")
    assert str(caught.value) == ELEVATED_MESSAGE
    assert str(caught.value).startswith("paste with Ctrl+V: that app runs as administrator")
    assert keyboard.sent == [] and clipboard == ["secret admin text"]


class FakeClipboard:
    """The clipboard's Win32 surface as PasteSession uses it, with a target app that reads on Ctrl+V.

    `reader`: which process reads our delayed text, after `read_after` message pumps (None: nobody)."""

    TARGET, MONITOR = 4242, 777

    def __init__(self, contents: dict[int, bytes], *, reader: int | None = TARGET, read_after: int = 3,
                 changed_by_other: bool = False) -> None:
        self.data = dict(contents)
        self.delayed: dict[int, bytes] = {}
        self.is_open = False
        self.sequence = 1
        self.owner = "user-app"
        self.log: list[str] = []
        self.readers_seen: list[int | None] = []
        self.reader, self.read_after, self.changed_by_other = reader, read_after, changed_by_other
        self.pasted = False
        self.pumps = 0
        self.now = 0.0
        self.formats_registered: dict[str, int] = {}

    # --- what a target does ---
    def ctrl_v(self) -> None:
        self.pasted = True
        self.log.append("ctrl+v")

    def clock(self) -> float:
        return self.now

    def pump_messages(self, wait: float) -> None:
        self.pumps += 1
        self.now += wait
        if self.pasted and self.reader is not None and self.pumps == self.read_after and self.delayed:
            fmt, data = self.delayed.popitem()  # WM_RENDERFORMAT
            self.data[fmt] = data
            self.readers_seen.append(self.reader)
            self.log.append(f"read by {self.reader}: {data.decode('utf-16-le').rstrip(chr(0))}")
            if self.changed_by_other:
                self.owner, self.sequence = "other-app", self.sequence + 1

    # --- the API ---
    def open(self) -> bool:
        self.is_open = True
        return True

    def close(self) -> None:
        self.is_open = False

    def empty(self) -> None:
        assert self.is_open
        self.data, self.delayed, self.owner = {}, {}, "us"
        self.sequence += 1
        self.log.append("empty")
        self.emptied_at = self.now

    def formats(self) -> list[int]:
        return list(self.data)

    def get_bytes(self, fmt: int) -> bytes | None:
        return self.data.get(fmt)

    def set_bytes(self, fmt: int, data: bytes) -> None:
        assert self.is_open
        self.data[fmt] = data
        self.sequence += 1

    def set_delayed(self, fmt: int, data: bytes) -> None:
        self.delayed[fmt] = data
        self.sequence += 1

    def register_format(self, name: str) -> int:
        return self.formats_registered.setdefault(name, 0xC100 + len(self.formats_registered))

    def copy_metafile(self) -> None:
        return None

    def sequence_number(self) -> int:
        return self.sequence

    def last_render_sequence(self) -> int:
        return self.sequence if self.readers_seen and not self.changed_by_other else 0

    def owned_by_us(self) -> bool:
        return self.owner == "us"

    def readers(self) -> list[int | None]:
        return list(self.readers_seen)

    def foreground_pid(self) -> int:
        return self.TARGET

    def render_now(self) -> None:
        self.data.update(self.delayed)
        self.delayed.clear()


USER_CLIPBOARD = {CF_UNICODETEXT: "user's text\0".encode("utf-16-le"), 0xC0F1: b"<b>html</b>",
                  8: b"BM-dib-bytes", 15: b"C:\\file.txt", 2: b"hbitmap-handle"}


def test_paste_keeps_every_format_and_restores_only_after_the_target_read_it():
    clipboard = FakeClipboard(USER_CLIPBOARD)
    PasteSession(clipboard, clock=clipboard.clock).paste("dictated", clipboard.ctrl_v)
    assert clipboard.log == ["empty", "ctrl+v", f"read by {FakeClipboard.TARGET}: dictated", "empty"]
    restored = {fmt: data for fmt, data in clipboard.data.items() if fmt not in clipboard.formats_registered.values()}
    assert restored == {fmt: data for fmt, data in USER_CLIPBOARD.items() if fmt != 2}  # CF_BITMAP: resynthesized


def test_which_formats_are_copied_as_memory():
    assert all(restorable(fmt) for fmt in (1, 7, 8, 13, 15, 16, 17, 0x300, 0x3FF, 0xC0F1))
    assert not any(restorable(fmt) for fmt in (2, 3, 9, 0x80, 0x82, 0x200, 0x2FF))


def test_our_text_is_kept_out_of_clipboard_history_and_cloud():
    seen: dict[int, bytes] = {}
    clipboard = FakeClipboard(USER_CLIPBOARD)

    def ctrl_v() -> None:
        seen.update(clipboard.data)
        clipboard.ctrl_v()

    PasteSession(clipboard, clock=clipboard.clock).paste("dictated", ctrl_v)
    for name, value in PRIVACY_FORMATS.items():
        assert seen[clipboard.formats_registered[name]] == value
    assert CF_UNICODETEXT not in seen  # our text is only rendered when the target asks for it


def test_no_restore_when_the_clipboard_changed_during_the_paste():
    clipboard = FakeClipboard(USER_CLIPBOARD, changed_by_other=True)
    PasteSession(clipboard, clock=clipboard.clock).paste("dictated", clipboard.ctrl_v)
    assert clipboard.log[-1].startswith("read by") and clipboard.data[CF_UNICODETEXT] == "dictated\0".encode(
        "utf-16-le")


def test_a_target_that_never_reads_leaves_our_text_and_says_so():
    clipboard = FakeClipboard(USER_CLIPBOARD, reader=None)
    with pytest.raises(OutputError, match="did not take the paste"):
        PasteSession(clipboard, clock=clipboard.clock, read_timeout_s=0.5).paste("dictated", clipboard.ctrl_v)
    assert clipboard.data[CF_UNICODETEXT] == "dictated\0".encode("utf-16-le")


def test_a_monitor_reading_first_does_not_count_as_the_paste_until_a_settle_time():
    clipboard = FakeClipboard(USER_CLIPBOARD, reader=FakeClipboard.MONITOR)
    PasteSession(clipboard, clock=clipboard.clock).paste("dictated", clipboard.ctrl_v)
    assert clipboard.log[-1] == "empty" and clipboard.emptied_at >= 1.0  # not restored at the monitor's read
    assert clipboard.data[CF_UNICODETEXT] == USER_CLIPBOARD[CF_UNICODETEXT]


def test_stdout_is_utf8_whatever_the_code_page():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252")
    StdoutSink(stream).emit("识别中文 🎉")
    assert raw.getvalue() == "识别中文 🎉\n".encode()


class ElevatedWindowSink:
    """A sink whose target runs as administrator: the Windows sinks raise this after putting the text away."""

    spaced = True

    def emit(self, text: str) -> None:
        raise ElevatedTargetError(ELEVATED_MESSAGE)


def test_text_for_an_elevated_window_is_announced_and_never_counted_as_typed(speech):
    from dictation_devtools.polling import wait_for
    from tests.client.protocol_server import ProtocolServer, phrase_transcriber
    from tray_client.config import ClientConfig
    from tray_client.events import FinalText, Notice
    from tray_client.pipeline import Pipeline

    sample = speech.english
    events: list[object] = []
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases)) as server:
        pipeline = Pipeline(ClientConfig(server=server.url, input_wav=str(sample.path), fast=True, no_tray=True),
                            sink=ElevatedWindowSink())
        pipeline.subscribe(events.append)
        pipeline.start()
        assert wait_for(lambda: len([e for e in events if isinstance(e, Notice) and e.level == "error"])
                        >= len(sample.phrases), 60)
        pipeline.shutdown(grace_seconds=0.2)
    notices = [e for e in events if isinstance(e, Notice) and e.level == "error"]
    assert all(n.message.startswith("paste with Ctrl+V: that app runs as administrator") for n in notices)
    assert [n.extra["text"] for n in notices] == [p.text for p in sample.phrases]
    assert not [e for e in events if isinstance(e, FinalText)]  # nothing counted as typed (undo, history)


class CountingUser32:
    """user32 at the boundary: how many SendInput calls, and how many events each."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def SendInput(self, count, inputs, size):
        self.calls.append(count)
        return count


def test_a_long_final_goes_to_windows_as_one_send_input_batch():
    from tray_client.sinks._win32_input import SendInputKeyboard

    user32 = CountingUser32()
    SendInputKeyboard(user32).send(key_events("x" * 450))
    assert user32.calls == [900]  # one batch: it arrives at once, never interleaved with the user's keys

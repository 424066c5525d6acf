"""The tray's parts that need no desktop: tooltip text, the menu's items and actions, autostart, notifications."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import tray_client
from tray_client.events import ClientState
from tray_client.ui.settings import autostart
from tray_client.ui.tray.menu import LANGUAGES, TOOLTIP_MAX, TrayView, build_menu, shorten, tooltip
from tray_client.ui.tray.notify import Notifier


def test_tooltip_shows_state_server_and_the_end_of_the_last_transcript():
    view = TrayView(state=ClientState.TRANSCRIBING, server="ws://10.0.0.5:8765", last_text="word " * 60 + "END")
    text = tooltip(view)
    lines = text.splitlines()
    assert lines[0] == "Dictation: transcribing"
    assert lines[1] == "Server: 10.0.0.5:8765"
    assert lines[2].startswith("Last: “…") and lines[2].endswith("END”")
    assert len(text) <= TOOLTIP_MAX


def test_tooltip_keeps_the_detail_of_an_error_short():
    view = TrayView(state=ClientState.ERROR, server="ws://h:1", detail="no default microphone: " + "x" * 200)
    first = tooltip(view).splitlines()[0]
    assert first.startswith("Dictation: error (no default microphone")
    assert len(tooltip(view)) <= TOOLTIP_MAX


def test_tooltip_without_a_transcript_has_no_last_line():
    assert "Last" not in tooltip(TrayView(server="ws://h:1"))


@pytest.mark.parametrize(("text", "limit", "keep", "expected"), [
    ("short", 10, "end", "short"),
    ("a  b\nc", 10, "end", "a b c"),
    ("0123456789abc", 6, "end", "…89abc"),
    ("0123456789abc", 6, "start", "01234…"),
])
def test_shorten_keeps_the_newest_words_or_the_start(text, limit, keep, expected):
    assert shorten(text, limit, keep=keep) == expected
    assert len(shorten(text, limit, keep=keep)) <= limit


class RecordingActions:
    """Stands in for the app: records what the menu asked for."""

    def __init__(self, view: TrayView) -> None:
        self.current = view
        self.calls: list[tuple] = []

    def view(self) -> TrayView:
        return self.current

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


def menu_items(menu) -> dict:
    return {item.text: item for item in menu}


@pytest.fixture
def pystray_dummy(monkeypatch):
    """pystray picks its backend at import and the X11 one needs a display: the menu model does not."""
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    import pystray

    return pystray


def test_menu_has_every_item_and_listening_is_the_default(pystray_dummy):
    actions = RecordingActions(TrayView(listening=True, devices=("USB Mic", "Built-in")))
    items = menu_items(build_menu(actions))
    expected = ["Listening", "Mode", "Output", "Language", "Microphone", "Sounds", "Reconnect",
                "Copy last transcript", "Open config", "Open log", "Quit"]
    for name in expected:
        assert name in items
    assert ("Start server in WSL" in items) == (sys.platform == "win32")
    assert "Start at login" in items or "Start with Windows" in items
    assert items["Listening"].default and items["Listening"].checked is True
    menu = build_menu(actions)
    menu(None)  # what a left click does: the default item
    assert actions.calls == [("toggle_listening",)]


def test_a_left_click_opens_the_window_when_the_setting_says_so(pystray_dummy):
    actions = RecordingActions(TrayView(listening=True, tray_left_click="window"))
    menu = build_menu(actions)
    items = menu_items(menu)
    assert items["History…"].default and not items["Listening"].default
    menu(None)  # a left click
    assert actions.calls == [("history",)]
    actions.current = replace(actions.current, tray_left_click="listen")  # changed in Settings: no restart
    menu(None)
    assert actions.calls == [("history",), ("toggle_listening",)]


def test_menu_radios_follow_the_view_and_call_the_actions(pystray_dummy):
    actions = RecordingActions(TrayView(mode="ptt", output="clipboard", language="Chinese",
                                        devices=("USB Mic",), input_device="USB Mic"))
    items = menu_items(build_menu(actions))
    modes = menu_items(items["Mode"].submenu)
    assert [item.checked for item in modes.values()] == [False, True, False]
    assert all(item.radio for item in modes.values())
    modes["Toggle (press, press)"](None)
    outputs = menu_items(items["Output"].submenu)
    assert outputs["Paste from clipboard"].checked and not outputs["Type keystrokes"].checked
    outputs["Type keystrokes"](None)
    languages = menu_items(items["Language"].submenu)
    assert next(iter(languages)) == "Auto-detect" and len(languages) == len(LANGUAGES)
    assert languages["Chinese"].checked and not languages["Auto-detect"].checked
    languages["Auto-detect"](None)
    mics = menu_items(items["Microphone"].submenu)
    assert mics["USB Mic"].checked and not mics["System default"].checked
    mics["System default"](None)
    mics["Refresh list"](None)
    assert actions.calls == [("set_mode", "toggle"), ("set_output", "type"), ("set_language", None),
                             ("set_input_device", None), ("refresh_devices",)]


def test_microphone_menu_is_enumerated_when_shown(pystray_dummy):
    actions = RecordingActions(TrayView(devices=("A",)))
    microphones = menu_items(build_menu(actions))["Microphone"].submenu
    assert "A" in menu_items(microphones)
    actions.current = replace(actions.current, devices=("A", "B"))
    assert "B" in menu_items(microphones)  # the same menu, read again: the new device is there


def test_copy_last_is_disabled_until_there_is_a_transcript(pystray_dummy):
    actions = RecordingActions(TrayView())
    items = menu_items(build_menu(actions))
    assert not items["Copy last transcript"].enabled
    actions.current = replace(actions.current, last_text="hi")
    assert items["Copy last transcript"].enabled


def test_xdg_autostart_entry_round_trip(monkeypatch, tmp_path):
    if sys.platform == "win32":
        pytest.skip("the Run key is exercised on Windows only")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert not autostart.is_enabled()
    command = ["/opt/my venv/bin/python", "-m", "tray_client"]
    autostart.set_enabled(True, command)
    assert autostart.is_enabled()
    entry = (tmp_path / "autostart" / "qwen-dictation.desktop").read_text()
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert shlex.split(exec_line[len("Exec="):]) == command  # the space in the path survives
    autostart.set_enabled(True, command)  # idempotent
    autostart.set_enabled(False)
    assert not autostart.is_enabled()
    autostart.set_enabled(False)


def test_autostart_command_runs_this_interpreter_on_this_package():
    command = autostart.autostart_command([])
    assert command[1:] == ["-m", "tray_client"]
    expected = Path(sys.executable)
    if sys.platform == "win32" and expected.with_name("pythonw.exe").exists():
        expected = expected.with_name("pythonw.exe")  # no console window at logon
    assert Path(command[0]) == expected
    # The command really starts this package: the interpreter finds the tray_client that is running now.
    found = subprocess.run([command[0], "-c", "import tray_client, sys; sys.stdout.write(tray_client.__file__)"],
                           capture_output=True, text=True, timeout=60)
    assert Path(found.stdout).resolve() == Path(tray_client.__file__).resolve(), found.stderr


def test_autostart_keeps_the_launchers_arguments_but_not_one_run_flags():
    argv = ["--server", "ws://10.0.0.5:8765", "--input-wav", "demo.wav", "--hotkey-toggle", "<ctrl>+<alt>+d",
            "--fast", "--input-wav=other.wav", "--token", "s3cret word"]
    command = autostart.autostart_command(argv)
    assert command[3:] == ["--server", "ws://10.0.0.5:8765", "--hotkey-toggle", "<ctrl>+<alt>+d",
                           "--token", "s3cret word"]
    # The HKCU Run value is one command line (CommandLineToArgvW rules): the space keeps its argument whole.
    assert subprocess.list2cmdline(command).endswith('--token "s3cret word"')


def test_unwritable_autostart_folder_says_where(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))  # a file where a folder should be
    with pytest.raises(autostart.AutostartError, match="could not change"):
        autostart.set_enabled(True, ["python"])


class FakeIcon:
    HAS_NOTIFICATION = True

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def notify(self, message, title):
        self.shown.append((message, title))


def test_notifier_shows_once_per_interval_and_logs_every_time_it_shows(caplog):
    now = [100.0]
    icon = FakeIcon()
    notifier = Notifier(icon, repeat_after_s=60, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="tray_client.ui.tray.notify"):
        assert notifier.notify("server unreachable")
        assert not notifier.notify("server unreachable")  # the same problem, again: not repeated
        assert notifier.notify("mic missing")
        now[0] += 61
        assert notifier.notify("server unreachable")
    assert [message for message, _ in icon.shown] == ["server unreachable", "mic missing", "server unreachable"]
    assert caplog.text.count("notification: server unreachable") == 2


def test_notifier_switched_off_only_logs(caplog):
    icon = FakeIcon()
    with caplog.at_level("WARNING", logger="tray_client.ui.tray.notify"):
        assert not Notifier(icon, enabled=False).notify("mic missing")
    assert icon.shown == [] and "mic missing" in caplog.text


@pytest.mark.skipif(sys.platform == "win32", reason="Windows shows the body as plain text")
def test_a_notification_body_keeps_angle_brackets_on_linux_where_the_server_reads_markup(monkeypatch):
    """A refused token said "send 'Authorization: Bearer ' or ?token=)": the notification server ate "<token>"."""
    icon = FakeIcon()
    Notifier(icon).notify("use <ctrl>+<f9> & <token>")
    assert icon.shown == [("use &lt;ctrl&gt;+&lt;f9&gt; &amp; &lt;token&gt;", "Dictation")]
    started = []
    monkeypatch.setattr("tray_client.ui.tray.notify.shutil.which", lambda name: "/usr/bin/notify-send")
    monkeypatch.setattr("tray_client.ui.tray.notify.subprocess.Popen", lambda argv, **kw: started.append(argv))
    Notifier(None).notify("Bearer <token>")
    assert started[0][-1] == "Bearer &lt;token&gt;"


def test_paste_last_is_in_the_menu_once_there_is_a_transcript(pystray_dummy):
    actions = RecordingActions(TrayView())
    item = menu_items(build_menu(actions))["Paste last"]
    assert not item.enabled
    actions.current = replace(actions.current, last_text="the build is green.")
    assert item.enabled
    item(None)
    assert actions.calls == [("paste_last",)]

"""Windows-only paths of the tray app under Wine: autostart (HKCU Run), the config and log files, the clipboard
mode with the user's clipboard kept, and a failed start under pythonw.exe (no console) that the user must see."""

from __future__ import annotations

import json

from dictation_devtools.wine.harness import REPO_ROOT, focus_notepad, poll, win_path
from tests.windows.conftest import PHRASES

APP_ID = "qwen-dictation"


def test_autostart_writes_and_removes_the_hkcu_run_entry(wine_lane, agent):
    assert agent.call("run_key_value", name=APP_ID) is None
    out = wine_lane.run(
        "from tray_client.ui.settings import autostart\n"
        "autostart.set_enabled(True)\n"
        "print(autostart.is_enabled())\n")
    try:
        assert out.split() == ["True"]
        value = agent.call("run_key_value", name=APP_ID)
        assert value is not None
        # pythonw.exe next to the interpreter (no console window at logon), then `-m tray_client`.
        assert value.lower().startswith(f'{wine_lane_python_dir(wine_lane)}\\pythonw.exe'.lower())
        assert value.endswith(" -m tray_client")
    finally:
        out = wine_lane.run(
            "from tray_client.ui.settings import autostart\n"
            "autostart.set_enabled(False)\n"
            "print(autostart.is_enabled())\n")
    assert out.split() == ["False"]
    assert agent.call("run_key_value", name=APP_ID) is None


def wine_lane_python_dir(lane) -> str:
    from dictation_devtools.wine.harness import win_path

    return win_path(lane.python_dir)


def test_config_and_log_live_in_the_users_local_app_data(wine_lane, start_tray):
    paths = json.loads(wine_lane.run(
        "import json\n"
        "from tray_client.config import config_path, log_path\n"
        "print(json.dumps([str(config_path()), str(log_path())]))\n"))
    profile = wine_lane.user_profile()
    local = f"C:\\users\\{profile.name}\\AppData\\Local\\{APP_ID}"
    assert paths == [f"{local}\\config.toml", f"{local}\\Logs\\tray_client.log"]
    log_file = profile / "AppData" / "Local" / APP_ID / "Logs" / "tray_client.log"
    before = log_file.stat().st_size if log_file.exists() else 0
    tray = start_tray()
    tray.wait_hotkeys()
    poll(lambda: log_file.exists() and "hotkeys registered" in
         log_file.read_bytes()[before:].decode("utf-8", "replace"), 20, what="the tray's lines in its log file")


def test_clipboard_mode_pastes_and_gives_the_user_their_clipboard_back(start_tray, notepad, phrases, wine_lane):
    custom = {"WineLane Private": "00ff10203040"}
    notepad.call("clipboard_set", text="the user's own text", custom=custom)
    tray = start_tray(start_listening=True, output="clipboard")
    poll(lambda: any(tip.startswith("Dictation: listening") for tip in tray.tips()), 60, what="listening")
    focus_notepad(wine_lane.display)
    tray.say("cjk", phrases["cjk"].audio.tobytes())
    poll(lambda: notepad.call("notepad_text") == PHRASES["cjk"], 30, what="the pasted final")
    restored = poll(lambda: (lambda c: c if c["text"] == "the user's own text" else None)(
        notepad.call("clipboard_get", custom=list(custom))), 10, what="the user's clipboard text back")
    assert restored["custom"] == custom, "the user's non-text clipboard format was lost"


def test_a_broken_config_under_pythonw_shows_a_message_box_and_writes_the_log(wine_lane, agent, tmp_path):
    """Started as the Run key starts it (pythonw.exe, no console, no standard handles), a broken config file must
    not end the app without a word: a message box says what is wrong, and the log file has it."""
    profile = wine_lane.user_profile()
    log_file = profile / "AppData" / "Local" / APP_ID / "Logs" / "tray_client.log"
    before = log_file.stat().st_size if log_file.exists() else 0
    config = tmp_path / "config.toml"
    config.write_text('mode = "vad\nthis is not toml\n', encoding="utf-8")
    pid = agent.call("start_detached", argv=[win_path(wine_lane.python_dir / "pythonw.exe"), "-m", "tray_client",
                                             "--config", win_path(config)], cwd=win_path(REPO_ROOT))
    try:
        boxes = poll(lambda: [box for box in agent.call("dialogs", pid=pid) if box["texts"]], 60,
                     what="a message box from the app")
        text = " ".join(boxes[0]["texts"])
        assert "config.toml" in text and "TOML" in text, text
        assert boxes[0]["title"] == "Dictation could not start"
        poll(lambda: log_file.exists() and "config.toml" in
             log_file.read_bytes()[before:].decode("utf-8", "replace"), 10, what="the error in the log file")
        assert agent.call("exit_code", pid=pid) is None, "the app must wait for the user to read the box"
        agent.call("close_window", hwnd=boxes[0]["hwnd"])
        code = poll(lambda: agent.call("exit_code", pid=pid) is not None, 20, what="the app to exit")
        assert code and agent.call("exit_code", pid=pid) != 0
    finally:
        agent.call("kill", pid=pid)


def test_a_second_copy_says_the_first_one_runs_and_quits(wine_lane, agent, start_tray):
    """Started again (from the Start menu while the logon copy runs) under pythonw, it must not run twice, which
    would type every utterance twice: a message box says the app runs, and the second copy exits 0."""
    first = start_tray()
    first.wait_hotkeys()
    pid = agent.call("start_detached", argv=[win_path(wine_lane.python_dir / "pythonw.exe"), "-m", "tray_client"],
                     cwd=win_path(REPO_ROOT))
    try:
        boxes = poll(lambda: [box for box in agent.call("dialogs", pid=pid) if box["texts"]], 60,
                     what="a message box from the second copy")
        assert boxes[0]["title"] == "Dictation is already running"
        assert "nothing is typed twice" in " ".join(boxes[0]["texts"])
        agent.call("close_window", hwnd=boxes[0]["hwnd"])
        poll(lambda: agent.call("exit_code", pid=pid) is not None, 20, what="the second copy to exit")
        assert agent.call("exit_code", pid=pid) == 0
    finally:
        agent.call("kill", pid=pid)
    assert first.process.poll() is None, "the first copy must go on running"

"""What the tray does after the settings window saved: the live settings reach the pipeline and the menu at
once, the file the window wrote (with the user's comments) is not rewritten, and the rest is announced for
the next start."""

from __future__ import annotations

from tests.client.ui.test_tray_controller import app  # noqa: F401 - the fixture
from tray_client.ui.tray import intents
from tray_client.ui.tray.features import Features


def test_saved_settings_apply_live_without_rewriting_the_file(app, tmp_path):  # noqa: F811
    controller, icon, pipeline = app
    notices: list[str] = []
    posted: list[object] = []
    features = Features(controller.config, pipeline, posted.append, notices.append, controller.publish, print)
    controller.add_handlers(features.handlers())
    config_file = tmp_path / "config.toml"
    config_file.write_text("# mine\nmode = \"ptt\"\n", encoding="utf-8")
    controller.handle(intents.SettingsSaved({"mode": "vad", "server": "ws://10.0.0.2:8765", "overlay": False,
                                             "min_silence_ms": 300, "hotkey_undo": "<ctrl>+<alt>+u",
                                             "token": "s3cret", "replacements": {"open ai": "OpenAI"},
                                             "chinese_script": "traditional", "voice_commands": False}))
    assert notices == ["Saved; hotkey_undo, min_silence_ms take effect at the next start"]
    for message in posted:  # the controller's inbox, as TrayApp would drain it
        controller.handle(message)
    assert icon.notifications == [], "applying a live setting failed"
    assert {"mode": "vad"} in pipeline.settings and {"server": "ws://10.0.0.2:8765"} in pipeline.settings
    assert {"token": "s3cret"} in pipeline.settings and {"replacements": {"open ai": "OpenAI"}} in pipeline.settings
    assert {"chinese_script": "traditional"} in pipeline.settings and {"voice_commands": False} in pipeline.settings
    assert controller.view.mode == "vad" and controller.view.overlay is False
    assert controller.config.server == "ws://10.0.0.2:8765"
    assert config_file.read_text(encoding="utf-8") == "# mine\nmode = \"ptt\"\n"  # the window's file stays

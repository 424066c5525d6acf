"""The tray's history parts without a desktop: the Recent submenu and the latency in the tooltip."""

from __future__ import annotations

from dataclasses import replace

from tests.desktop.test_tray_parts import RecordingActions, menu_items, pystray_dummy  # noqa: F401 - fixture
from tray_client.events import ClientState
from tray_client.ui.tray.menu import TOOLTIP_MAX, TrayView, build_menu, tooltip


def test_recent_lists_the_newest_entries_with_copy_and_type_again(pystray_dummy):  # noqa: F811
    long = "这是一句很长的话，" * 10
    actions = RecordingActions(TrayView(recent=("最新的一句", long, "Hello there"), today_p50_s=0.64))
    recent = list(menu_items(build_menu(actions))["Recent"].submenu)
    assert recent[0].text == "Today: p50 640 ms" and not recent[0].enabled
    assert [item.text for item in recent[1:]][0::2] == ["最新的一句", "Hello there"]
    assert recent[2].text.endswith("…") and len(recent[2].text) <= 48
    entry = menu_items(recent[2].submenu)
    entry["Copy"](None)
    entry["Type again"](None)
    menu_items(recent[1].submenu)["Copy"](None)
    assert actions.calls == [("copy_text", long), ("type_text", long), ("copy_text", "最新的一句")]


def test_recent_is_read_again_when_shown_and_says_when_there_is_no_latency_yet(pystray_dummy):  # noqa: F811
    actions = RecordingActions(TrayView())
    submenu = menu_items(build_menu(actions))["Recent"].submenu
    assert [item.text for item in submenu] == ["Today: p50 –"]
    actions.current = replace(actions.current, recent=("new words",), today_p50_s=1.25)
    assert [item.text for item in submenu] == ["Today: p50 1.2 s", "new words"]


def test_tooltip_shows_the_last_end_of_speech_to_typed_time():
    view = TrayView(state=ClientState.LISTENING, server="ws://h:1", last_text="hi " * 80, last_latency_s=0.412)
    text = tooltip(view)
    assert text.splitlines()[:3] == ["Dictation: listening", "Server: h:1", "Latency: 412 ms"]
    assert text.splitlines()[3].startswith("Last: “…") and text.endswith("hi”")
    assert len(text) <= TOOLTIP_MAX
    assert "ms" not in tooltip(replace(view, last_latency_s=None))

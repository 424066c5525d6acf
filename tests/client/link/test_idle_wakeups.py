"""An app that listens to nothing all day must sleep: no timer that fires while nothing is going on.

Listening off cost ~1 % of a core in wake-ups alone: the link's deadline tick (10 a second, with no utterance to
watch), the hidden overlay's poll (8 a second) and the X11 hotkey grab's poll (10 a second). Each now sleeps until
there is something to do, and still does it at once when there is.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.client.link.test_link import Collector, send_utterance
from tests.client.protocol_server import ProtocolServer
from tray_client.link.core import LinkCore


def test_the_link_does_not_tick_while_no_utterance_is_unfinished(monkeypatch):
    ticks: list[float] = []
    real_tick = LinkCore.tick

    def counted(self, now):
        ticks.append(now)
        return real_tick(self, now)

    monkeypatch.setattr(LinkCore, "tick", counted)
    with ProtocolServer(lambda utterance_id, audio: "ok") as server:
        collector = Collector()

        async def scenario() -> tuple[int, int]:
            link = collector.link(server.url)
            link.start()
            await asyncio.sleep(1.0)  # connected and idle: nothing can be late
            idle = len(ticks)
            send_utterance(link, "a", 2)
            assert await link.wait_idle(20)  # an utterance: its deadline is watched (ticks) until its final
            busy = len(ticks) - idle
            await link.aclose()
            return idle, busy

        idle, busy = asyncio.run(scenario())
    assert idle == 0, f"{idle} ticks in a second with nothing to watch"
    assert collector.finals == [("a", "ok")]
    assert busy >= 0  # how many depends on the server's speed; the final arriving is what counts


@pytest.mark.desktop
@pytest.mark.parametrize("wake", ["pipe", "socket"])
def test_a_hidden_overlay_sleeps_and_still_shows_a_posted_event_at_once(x_display, monkeypatch, wake):
    """"socket" is the Windows way (Tk there cannot watch a pipe): a Tcl socket server in the overlay's interpreter
    wakes it; it polled every 120 ms before."""
    from tray_client.events import ClientState, PartialText, StateChanged
    from tray_client.ui.overlay import window as overlay_module

    if wake == "socket":
        monkeypatch.setattr(overlay_module._Window, "can_watch", lambda self: False)

    ticks: list[float] = []
    real_tick = overlay_module._Loop._tick

    def counted(self):
        ticks.append(time.monotonic())
        real_tick(self)

    overlay_module._Loop._tick = counted
    shown: list[float] = []
    real_show = overlay_module._Window.show

    def recorded_show(self, view):
        if view.visible:
            shown.append(time.monotonic())
        real_show(self, view)

    overlay_module._Window.show = recorded_show
    try:
        overlay = overlay_module.Overlay()
        overlay.start()
        assert overlay.failed is None
        deadline = time.monotonic() + 10
        while not ticks and time.monotonic() < deadline:  # the first tick after start
            time.sleep(0.05)
        time.sleep(0.3)
        before = len(ticks)
        time.sleep(1.5)
        idle_ticks = len(ticks) - before
        posted = time.monotonic()
        overlay.post(StateChanged(ClientState.SPEECH))
        overlay.post(PartialText("u", "hello"))
        deadline = time.monotonic() + 10
        while not shown and time.monotonic() < deadline:
            time.sleep(0.01)
        overlay.close()
    finally:
        overlay_module._Loop._tick = real_tick
        overlay_module._Window.show = real_show
    assert idle_ticks == 0, f"the hidden overlay woke {idle_ticks} times in 1.5 s"
    assert shown, "the posted speech never showed"
    assert shown[0] - posted < 2.0  # at once (generous: a loaded CI machine); it was <= 0.12 s of polling before

"""Delivery on its own: partial text to the listeners, and a sink that fails keeps the words."""

from __future__ import annotations

import asyncio
import concurrent.futures

from tray_client._hub import Hub
from tray_client.config import ClientConfig
from tray_client.delivery import Delivery
from tray_client.events import FinalText, Notice, PartialText


class FailingSink:
    """A typer whose target refuses the keys (an elevated window, a vanished display)."""

    spaced = True

    def emit(self, text: str) -> None:
        raise OSError("the target window refused the keys (injected)")


def delivery(sink, events: list) -> tuple[Delivery, concurrent.futures.ThreadPoolExecutor]:
    hub = Hub()
    hub.subscribe(events.append)
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="output")
    return Delivery(ClientConfig(server="ws://x"), hub=hub, pool=pool, sink=sink, on_change=lambda: None), pool


def test_partial_text_goes_to_the_listeners_sanitized():
    events: list = []
    part, pool = delivery(FailingSink(), events)
    part.on_partial("u1", "hello\x1b[2J\nworld")
    pool.shutdown()
    assert events == [PartialText("u1", "hello[2J world")]  # no escape, no Enter in a preview


def test_a_sink_that_fails_keeps_the_words_for_copy_last_and_says_so():
    events: list = []
    part, _pool = delivery(FailingSink(), events)

    async def scenario() -> None:
        part.open_sink()
        part.on_final("u1", "words that must not be lost", "English")
        assert await part.stop(5.0)

    asyncio.run(scenario())
    (notice,) = [e for e in events if isinstance(e, Notice)]
    assert notice.code == "not_output" and notice.extra["text"] == "words that must not be lost"
    assert "refused the keys" in notice.message
    assert part.last_final == "words that must not be lost"
    assert not [e for e in events if isinstance(e, FinalText)]  # not claimed as typed

"""Characters outside the keymap stay bound while typed, so CJK typing is exact even when the target lags."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tray_client.sinks._x11 import XdotoolTyper
from tray_client.sinks.x11_keymap import SETTLE_S, SpareKeycodes, keysym_for

pytestmark = pytest.mark.desktop

# 48 distinct characters outside any Latin keymap: more than the ~17 spare keycodes Xvfb has, so the typer must
# rebind keycodes between pieces, which is where a lagging target could read a wrong binding.
POEM = ("春眠不觉晓处处闻啼鸟夜来风雨声花落知多少床前明月光疑是地上霜举头望山低思故乡"
        "白日依尽黄河入海流欲穷千里目更上一层楼")
BUSY_LOOP = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def busy_cpus() -> Iterator[None]:
    """Keep every core busy: the target window then processes keys late, as on a loaded desktop."""
    workers = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range((os.cpu_count() or 2) + 1)]
    yield
    for worker in workers:
        worker.kill()
        worker.wait()


def empty_keycodes() -> int:
    from Xlib import display

    connection = display.Display()
    try:
        low, high = connection.display.info.min_keycode, connection.display.info.max_keycode
        return sum(1 for row in connection.get_keyboard_mapping(low, high - low + 1) if not any(row))
    finally:
        connection.close()


def test_cjk_typing_is_exact_under_cpu_load_and_keycodes_are_given_back(tk_target, busy_cpus):
    before = empty_keycodes()
    typer = XdotoolTyper()
    phrases = ["你好世界", "今天天气很好", "我们去公园散步吧", POEM, " Ünïcödé ß € 1+1=2"]
    for phrase in phrases:
        typer.emit(phrase)
    expected = "".join(phrases)
    assert tk_target.wait_for_text(expected) == expected
    typer.close()
    assert empty_keycodes() == before


class FakeClock:
    """Time under the test's control, so the settle rule is checked without sleeping."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def spare(x_display) -> Iterator[tuple[SpareKeycodes, FakeClock]]:
    from Xlib import display

    clock = FakeClock()
    keycodes = SpareKeycodes(display.Display(), clock=clock, sleep=clock.sleep)
    yield keycodes, clock
    keycodes.close()


def bound_keysyms() -> set[int]:
    from Xlib import display

    connection = display.Display()
    try:
        low, high = connection.display.info.min_keycode, connection.display.info.max_keycode
        return {keysym for row in connection.get_keyboard_mapping(low, high - low + 1) for keysym in row}
    finally:
        connection.close()


def test_missing_characters_are_bound_before_typing_and_present_ones_are_left_alone(spare):
    keycodes, _ = spare
    assert keycodes.bind("ab 你好") == []
    keysyms = bound_keysyms()
    assert {keysym_for("你"), keysym_for("好")} <= keysyms
    assert len(keycodes._bound) == 2  # "a", "b" and " " are in the keymap already


def test_a_binding_is_only_reused_after_its_key_has_settled(spare):
    keycodes, clock = spare
    pieces = keycodes.pieces(POEM)
    assert len(pieces) > 1 and "".join(pieces) == POEM
    capacity = len(set(pieces[0]))
    assert all(len(set(piece)) <= capacity for piece in pieces)
    assert keycodes.bind(pieces[0]) == []
    keycodes.typed(pieces[0])
    clock.now += 0.1
    assert keycodes.bind(pieces[1]) == []
    # Rebinding the first piece's keycodes had to wait until SETTLE_S after they were typed, and no longer.
    assert clock.slept and clock.slept[0] == pytest.approx(SETTLE_S - 0.1)
    assert sum(clock.slept) == pytest.approx(SETTLE_S - 0.1)
    assert {keysym_for(c) for c in pieces[1]} <= bound_keysyms()

"""The settings window's level meter reads the real MicSource (here on the fake PyAudio devices)."""

from __future__ import annotations

import numpy as np

from dictation_devtools.polling import wait_for
from tray_client.capture.level import MicLevel, level_of


def test_level_maps_dbfs_onto_the_meter():
    assert level_of(np.zeros(512, np.int16)) == 0.0
    full = np.full(512, 32767, np.int16)
    assert level_of(full) > 0.99
    minus_30 = np.full(512, round(32768 * 10 ** (-30 / 20)), np.int16)
    assert abs(level_of(minus_30) - 0.5) < 0.01


def test_the_meter_shows_the_microphone_and_says_when_there_is_none(fake_mics):
    meter = MicLevel("Built-in")
    try:
        assert wait_for(lambda: meter.read() > 0.3, 60), (meter.read(), meter.error)
    finally:
        meter.close()
    missing = MicLevel("Nonexistent Mic")
    try:
        assert wait_for(lambda: bool(missing.error), 60)
        assert "not found" in missing.error and missing.read() == 0.0
    finally:
        missing.close()

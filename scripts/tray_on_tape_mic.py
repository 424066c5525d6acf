#!/usr/bin/env python3
"""`python -m tray_client ARGS` with a fake microphone that plays a noise floor (for bench_client.py --tray).

Only the sound card is fake: `import pyaudio` returns dictation_devtools' PyAudio stand-in whose only device plays
-50 dBFS Gaussian noise in real time, with PortAudio's callback thread. The fake is built on the first
`import pyaudio` (when the tray lists microphones or opens one), so nothing extra is imported before the app starts.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import types


class _FakePyAudioFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(name, self) if name == "pyaudio" else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        import numpy as np

        from dictation_devtools.reliability.fake_mic import TapeMic

        seconds = float(os.environ.get("BENCH_TAPE_S", "600"))
        rms = 32768.0 * 10 ** (float(os.environ.get("BENCH_NOISE_DBFS", "-50")) / 20)
        # float32, not the default float64: the tape is built inside the measured app, and a 300 s float64 tape
        # (two 38 MB temporaries) set its peak RSS; the int16 tape itself stays resident (2 MB a minute)
        noise = np.random.default_rng(0).standard_normal(int(seconds * 16_000), dtype=np.float32)
        noise *= rms
        tape = noise.round().astype(np.int16)
        return TapeMic(tape, name="Noise floor").module()

    def exec_module(self, module: types.ModuleType) -> None:
        pass


if __name__ == "__main__":
    sys.meta_path.insert(0, _FakePyAudioFinder())
    sys.argv = ["tray_client", *sys.argv[1:]]
    runpy.run_module("tray_client", run_name="__main__", alter_sys=True)

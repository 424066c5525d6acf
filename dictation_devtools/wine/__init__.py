"""The Windows lane: the Windows code under Wine on Linux (tests/windows, and `scripts/bench_typing.py --wine`).

- `harness`: the Linux side: the cached Wine prefix and Windows Python (built by `setup_wine.sh`), and the
  processes a test or a bench drives (the agent, the tray app).
- `win_agent`: the "other program" on the Windows desktop (runs under Wine).
- `wine_stand_ins` and `wine_site/`: what the lane stands in inside the app under test (the VAD, the microphone)
  and the tray tap it listens through.
"""

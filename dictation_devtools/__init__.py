"""Development tools shared by `tests/` and `scripts/`: a distribution of their own (`devtools/pyproject.toml`,
installed with `pip install -e ./devtools`, as scripts/test.sh does), so the product wheel ships none of it.
Never imported by the product (asr_server, tray_client, dictation_core).

| module | what it gives |
|---|---|
| `stand_in_backends` | backends that stand in for the model at its boundary: scripted text for known audio, modelled cost |
| `fake_engine` | vLLM's OpenAI-compatible server faked at its HTTP API (chat completions, /metrics, priorities, aborts) |
| `stand_in_server` | `python -m dictation_devtools.stand_in_server`: the real asr_server main() with a stand-in backend |
| `scripted_server` | `ScriptedServer`: the real asr_server in a thread with the scripted backend (known phrases in, their text out) |
| `tiny_checkpoint` | a random-weight Qwen3-ASR checkpoint the real qwen_asr code loads |
| `speech` | espeak-ng phrases as 16 kHz WAV with known boundaries |
| `servers` | the real server on a free loopback port, in a thread or a subprocess; /healthz polling |
| `ws_client` | a small protocol v1 client for tests and benches |
| `polling` | `wait_for`: poll a condition with a deadline instead of sleeping |
| `desktop`, `tk_target_app` | Xvfb + trayer and a Tk window that records what is typed |
| `fake_pyaudio`, `modules` | a PyAudio stand-in (devices that play tones or recordings, unplug) and the module swap |
| `fuzz/` | random messages with the protocol oracle, fuzzing sessions, the soak |
| `reliability/` | the fault runs (kill, stall, cut, decode error, lost mic) of tests/reliability and scripts/soak_faults.py |
| `readme_tables` | the README's config tables, generated from the settings dataclasses |
"""

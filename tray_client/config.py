"""The client's settings: one dataclass with documented defaults, loaded once from TOML plus CLI overrides.

Every field of `ClientConfig` is a TOML key (in `qwen-dictation/config.toml` under the user's config directory)
and a CLI flag (`--min-silence-ms 300`, booleans as `--fast` / `--no-fast`). The CLI wins over the file, the file
wins over the defaults. The tray menu changes a few settings at run time and writes them back with `save_config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dictation_core.config import ConfigError, ConfigLoader
from dictation_core.config import setting_doc as _doc

APP_NAME = "qwen-dictation"

MODES = ("vad", "ptt", "toggle")
OUTPUTS = ("type", "clipboard", "stdout")
VADS = ("onnx", "torch")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LEFT_CLICKS = ("listen", "window")


@dataclass(frozen=True)
class ClientConfig:
    """All client settings. Immutable: change them with `dataclasses.replace` or `Pipeline.update_settings`."""

    server: str = field(default="ws://127.0.0.1:8765", metadata=_doc(
        "WebSocket URL of the asr_server (ws:// on loopback, wss:// across machines)."))
    token: str | None = field(default=None, metadata=_doc(
        "Bearer token the server asks for when it listens beyond loopback."))
    language: str | None = field(default=None, metadata=_doc(
        "Force the language (\"Chinese\", \"English\", ...); unset means the server detects it."))
    context: str = field(default="", metadata=_doc(
        "Glossary sent to the server with every connection (names, jargon) to bias recognition."))
    input_device: str | int | None = field(default=None, metadata=_doc(
        "Microphone by name (substring) or PortAudio index; unset means the system default."))
    input_wav: str | None = field(default=None, metadata=_doc(
        "Read this 16-bit WAV instead of the microphone, paced like a real mic (demos, tests); with the tray, the "
        "whole app (tray, overlay, hotkeys) runs fed by it.",
        persist=False))
    fast: bool = field(default=False, metadata=_doc(
        "With input_wav: feed the file as fast as the VAD takes it instead of in real time.", persist=False))
    vad: str = field(default="onnx", metadata=_doc(
        "Silero VAD runtime: \"onnx\" (default: onnxruntime, about a third of torch's memory) or \"torch\" "
        "(JIT)."))
    vad_threshold: float = field(default=0.5, metadata=_doc(
        "Speech probability that opens an utterance; it stays open until the probability drops 0.15 below."))
    min_silence_ms: int = field(default=400, metadata=_doc(
        "Silence that ends an utterance. Shorter feels snappier but cuts sentences at breaths."))
    speculative_silence_ms: int = field(default=150, metadata=_doc(
        "Silence inside an utterance after which the server is told, so it decodes the final while the rest of "
        "min_silence_ms passes (0 = off). The audio after it is sent only if speech resumes."))
    vad_energy_gate: bool = field(default=True, metadata=_doc(
        "Hold audio that is only the mic's noise floor unscored while nobody speaks, and score it only when sound "
        "rises above the floor: listening costs a third of the CPU (BENCHMARKS.md, issue 22). The floor is learned "
        "only from audio Silero scored as not speech, so speech from the mic's first frame is scored like any "
        "other; the cuts are those of scoring every frame. Off: Silero scores every frame."))
    preroll_ms: int = field(default=480, metadata=_doc(
        "Audio kept from before the detected onset and sent first, so first syllables are never clipped."))
    max_utterance_s: float = field(default=30.0, metadata=_doc(
        "Longest utterance: past 80% of it the next short pause ends it, at the limit it is cut hard."))
    mode: str = field(default="vad", metadata=_doc(
        "How utterances start: \"vad\" (on speech), \"ptt\" (hold a key) or \"toggle\" (press, press)."))
    output: str = field(default="type", metadata=_doc(
        "Where finals go: \"type\" (keystrokes), \"clipboard\" (paste, then restore) or \"stdout\"."))
    final_timeout_s: float = field(default=10.0, metadata=_doc(
        "Wait this long for a final after an utterance ends; then replay it once, then tell the user."))
    unreachable_exit_s: float = field(default=15.0, metadata=_doc(
        "Headless only: exit non-zero when the server has been unreachable this long with audio waiting."))
    max_final_chars: int = field(default=2000, metadata=_doc(
        "Longest text typed for one utterance; anything beyond is a runaway model and is cut."))
    type_delay_ms: int = field(default=0, metadata=_doc(
        "Delay between keystrokes when typing (X11 xdotool); 0 types a 200-character final in about 0.12 s. "
        "Raise it (12 types about 9 ms a character) only for an app that drops keys sent faster. CJK and other "
        "characters outside the keymap are exact at any delay (they are bound to spare keycodes first)."))
    paste_keys: str = field(default="ctrl+v", metadata=_doc(
        "Keys that paste with output \"clipboard\": \"ctrl+v\", \"ctrl+shift+v\" (X11 terminals) or "
        "\"shift+insert\"."))
    replacements: dict[str, str] = field(default_factory=dict, hash=False, metadata=_doc(
        "[replacements] table: \"open ai\" = \"OpenAI\". Latin keys match whole words, any case; CJK keys match "
        "anywhere; the value is typed exactly as written; longest key first."))
    voice_commands: bool = field(default=True, metadata=_doc(
        "Obey spoken commands: \"new line\"/\"换行\", \"new paragraph\"/\"新段落\", \"scratch that\"/\"删掉上一句\" "
        "(undo the last dictation), \"press enter\"/\"回车\", \"stop listening\"/\"停止听写\"; spoken punctuation "
        "\"逗号\"/\"comma\", \"句号\"/\"period\", \"问号\"/\"question mark\", \"感叹号\", \"冒号\"/\"colon\"."))
    commands: dict[str, str] = field(default_factory=dict, hash=False, metadata=_doc(
        "[commands] table of extra phrases: \"next line\" = \"newline\" (actions: newline, paragraph, undo, "
        "enter, stop_listening, comma, period, question_mark, exclamation_mark, colon); \"\" turns a built-in phrase off."))
    chinese_script: str = field(default="auto", metadata=_doc(
        "Chinese characters to output: \"auto\" (as the model wrote them), \"simplified\", \"traditional\", "
        "\"taiwan\" or \"hongkong\" (OpenCC; CJK text only)."))
    app_context: bool = field(default=True, metadata=_doc(
        "Send the model the focused app's text nearest the caret, its selection and the window title with each "
        "utterance (UI Automation on Windows, AT-SPI on Linux), so names on screen are spelled right; never from "
        "password fields, never kept in the history. false turns it off (also per app)."))
    app_context_chars: int = field(default=500, metadata=_doc(
        "Most characters of app context sent with one utterance (those nearest the caret)."))
    itn_chinese: bool = field(default=True, metadata=_doc(
        "Write spoken Chinese numbers as digits where unambiguous: \"百分之五十\" -> \"50%\", \"三点半\" -> \"3:30\", "
        "dates, phone numbers; idioms (万一, 一下, 十分, 三心二意...) stay words."))
    itn_english: bool = field(default=False, metadata=_doc(
        "Write spoken English numbers as digits where unambiguous: \"twenty five percent\" -> \"25%\", "
        "\"three thirty pm\" -> \"3:30 PM\"; one to nine alone stay words."))
    trim_punctuation: bool = field(default=False, metadata=_doc(
        "Drop the full stop or comma the model puts at the end of a final (chat apps, search boxes; best set "
        "per app); a mark you spoke (\"句号\", \"period\") stays."))
    glossary: tuple[str, ...] = field(default=(), metadata=_doc(
        "List of names and jargon sent to the server with the context, to bias recognition: [\"Qwen3-ASR\"]."))
    suffix: str = field(default="", metadata=_doc(
        "Text added after every final (e.g. \" \"); the next final then gets no separator of its own."))
    cleanup: bool = field(default=False, metadata=_doc(
        "Clean up each final with an LLM at cleanup_url (fillers out, casing and punctuation fixed)."))
    cleanup_url: str = field(default="", metadata=_doc(
        "OpenAI-compatible chat endpoint for the clean-up (vLLM, Ollama, llama.cpp), e.g. "
        "http://127.0.0.1:11434/v1."))
    cleanup_model: str = field(default="", metadata=_doc("Model name sent to the clean-up endpoint."))
    cleanup_prompt: str = field(default="", metadata=_doc(
        "System prompt for the clean-up; empty means the built-in one (remove fillers, fix casing and "
        "punctuation, never change the meaning or translate)."))
    cleanup_timeout_s: float = field(default=1.5, metadata=_doc(
        "Hard limit on the clean-up; past it the final is output as dictated."))
    cleanup_max_growth: float = field(default=0.25, metadata=_doc(
        "A clean-up reply longer than the text times (1 + this), plus 8, is refused as a runaway."))
    apps: dict[str, Any] = field(default_factory=dict, hash=False, metadata=_doc(
        "[apps.\"NAME\"] tables (process name on Windows, WM_CLASS on X11) overriding output, paste_keys, "
        "language, glossary, replacements, voice_commands, commands, cleanup, cleanup_prompt, chinese_script, "
        "itn_chinese, itn_english, trim_punctuation, app_context, "
        "suffix for that app. Terminals paste by default."))
    no_tray: bool = field(default=False, metadata=_doc(
        "Run headless (no tray icon), for scripts and servers; with input_wav it exits when the file is done.", persist=False))
    pause_media: bool = field(default=False, metadata=_doc(
        "Pause the music or video that plays while you speak (each utterance), and play it again after; only "
        "what was playing is paused and only that is resumed, also after a crash (Linux: MPRIS players; Windows: "
        "other apps' audio turned down to a fifth)."))
    start_listening: bool = field(default=False, metadata=_doc(
        "Start in the listening state (VAD mode) instead of off."))
    hotkey_push_to_talk: str = field(default="<ctrl>+<alt>+space", metadata=_doc(
        "Hold to record (pynput hotkey syntax)."))
    hotkey_toggle: str = field(default="<ctrl>+<alt>+d", metadata=_doc(
        "Press to start or stop (pynput hotkey syntax)."))
    sounds: bool = field(default=True, metadata=_doc("Play a short sound when recording starts and stops."))
    notifications: bool = field(default=True, metadata=_doc("Show tray notifications for errors and notices."))
    history_days: int = field(default=30, metadata=_doc(
        "Keep dictated text in the history (history.sqlite3 in the user's data directory) this many days; 0 "
        "keeps nothing."))
    keep_audio_days: int = field(default=0, metadata=_doc(
        "Keep each dictated utterance's audio this many days (kept-audio/ in the log folder), to play it back "
        "and re-transcribe it from the History page; 0 (the default) keeps none."))
    tray_left_click: str = field(default="listen", metadata=_doc(
        "What a left click on the tray icon does: listen (turn listening on or off) or window (open the app's "
        "window, the History page)."))
    overlay: bool = field(default=True, metadata=_doc(
        "Show the live preview overlay (partial text while you speak, then the final) near the bottom of the "
        "screen; it never takes the focus."))
    hotkey_undo: str = field(default="<ctrl>+<alt>+z", metadata=_doc(
        "Delete what the last dictation typed, if its window still has the focus and nothing was typed since "
        "(pynput hotkey syntax)."))
    hotkey_paste_last: str = field(default="<ctrl>+<alt>+v", metadata=_doc(
        "Type the last transcript into the window you are in now (after a final went to the clipboard because "
        "its window lost the focus; pynput hotkey syntax)."))
    hotkey_voice_edit: str = field(default="<ctrl>+<alt>+e", metadata=_doc(
        "Edit the selected text by voice: select text, press it, speak an instruction (\"make this more formal\", "
        "\"翻译成英文\"), press it again; the LLM at cleanup_url rewrites the selection (undo restores it; pynput "
        "hotkey syntax)."))
    voice_edit_timeout_s: float = field(default=20.0, metadata=_doc(
        "Longest wait for the LLM's answer to a voice edit; past it the selection is left as it was."))
    log_level: str = field(default="INFO", metadata=_doc("DEBUG, INFO, WARNING or ERROR."))
    config_file: str | None = field(default=None, metadata=_doc(
        "Read settings from this TOML file instead of the one in the user's config directory.", persist=False))
    print_config: bool = field(default=False, metadata=_doc(
        "Print the effective settings as TOML and exit.", persist=False))

    def __post_init__(self) -> None:
        _check_choice("mode", self.mode, MODES)
        _check_choice("output", self.output, OUTPUTS)
        _check_choice("vad", self.vad, VADS)
        _check_choice("log_level", self.log_level.upper(), LOG_LEVELS)
        _check_choice("tray_left_click", self.tray_left_click, LEFT_CLICKS)
        if not 0.0 < self.vad_threshold < 1.0:
            raise ConfigError(f"vad_threshold={self.vad_threshold}: use a probability between 0 and 1 (e.g. 0.5)")
        for name in ("min_silence_ms", "max_final_chars"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}={getattr(self, name)}: must be positive")
        for name in ("preroll_ms", "type_delay_ms", "history_days", "keep_audio_days", "app_context_chars"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)}: must be zero or more")
        for name in ("max_utterance_s", "final_timeout_s", "unreachable_exit_s", "voice_edit_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}={getattr(self, name)}: must be a positive number of seconds")
        _check_text_settings(self)
        if not self.server.startswith(("ws://", "wss://")):
            raise ConfigError(f"server={self.server!r}: use a ws:// or wss:// URL, e.g. ws://127.0.0.1:8765")


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r}: use one of {', '.join(allowed)}")


def _check_text_settings(config: ClientConfig) -> None:
    """The text stage's settings (replacements, commands, [apps] tables), checked by the modules that use them."""
    from tray_client.sinks.keys import PASTE_KEYS
    from tray_client.text.chinese_script import SCRIPTS
    from tray_client.text.commands import check_commands
    from tray_client.text.profiles import check_apps
    from tray_client.text.replacements import check_replacements

    _check_choice("chinese_script", config.chinese_script, SCRIPTS)
    _check_choice("paste_keys", config.paste_keys, PASTE_KEYS)
    if config.cleanup_timeout_s <= 0 or config.cleanup_max_growth < 0:
        raise ConfigError("cleanup_timeout_s must be positive and cleanup_max_growth zero or more")
    if any(ord(char) < 32 for char in config.suffix):
        raise ConfigError(f"suffix={config.suffix!r}: no control characters (dictate \"new line\" instead)")
    try:
        check_replacements(config.replacements)
        check_commands(config.commands)
        check_apps(config.apps)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def config_path() -> Path:
    """The TOML file read at start and written by `save_config` (it may not exist yet)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def log_path() -> Path:
    """The rotating log file, in the user's log directory."""
    from platformdirs import user_log_dir

    return Path(user_log_dir(APP_NAME, appauthor=False)) / "tray_client.log"


LOADER = ConfigLoader(
    ClientConfig, prog="python -m tray_client",
    description="Voice dictation client: microphone -> Silero VAD -> asr_server -> text in the focused window.")


def load_config(argv: list[str] | None = None) -> ClientConfig:
    """Defaults, then the TOML file (`--config-file FILE` or `config_path()`), then the CLI flags in `argv`."""
    return ClientConfig(**LOADER.values(argv, default_file=config_path()))


def to_toml(config: ClientConfig, *, persisted_only: bool = False) -> str:
    """The settings as TOML text (unset values are written as comments, since TOML has no null)."""
    return LOADER.to_toml(config, persisted_only=persisted_only)


def save_config(config: ClientConfig, path: Path | None = None) -> Path:
    """Write the persistent settings to `path` (default: `config.config_file` or `config_path()`) atomically."""
    target = path or (Path(config.config_file) if config.config_file else config_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_text(to_toml(config, persisted_only=True), encoding="utf-8")
    temporary.replace(target)
    return target


def replace(config: ClientConfig, **changes: Any) -> ClientConfig:
    """`dataclasses.replace` with the same coercion and checks as the loader (for settings changed at run time)."""
    return LOADER.replace(config, **changes)

"""Where audio comes from: the microphone (PyAudio) or a WAV file paced like one. Both yield 512-sample frames.

Every source is an async iterator of np.int16 frames of 512 samples at 16 kHz mono, so the pipeline cannot tell a
file from a mic. The microphone and the file also hand their frames over in blocks of BLOCK_FRAMES (`blocks()`):
the app wakes once per block, not once per frame, which is most of what listening to silence costs. A device that refuses 16 kHz is opened at its native rate and resampled here. A mic that
vanishes raises `MicrophoneError` (never a silent stream of nothing), so the pipeline can show it and retry.

Threads: PyAudio calls its callback on its own thread; the callback only copies the bytes and hands them to the
asyncio thread with `loop.call_soon_threadsafe`. Nothing else is shared.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import sys
import threading
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tray_client.capture.quiet_stderr import quiet_stderr
from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
BLOCK_FRAMES = 4
"""Frames per microphone callback (128 ms): the app wakes ~8 times a second instead of ~31. Speech is seen at most
one block later; the pre-roll (480 ms) still holds the audio before the onset, so nothing of it is lost."""
STALL_TIMEOUT_S = 2.0  # a mic that delivers nothing for this long is treated as gone
# The loop can lag behind the microphone (a slow VAD, a busy CPU). Audio is never dropped inside an utterance:
LAG_NOTICE_FRAMES = 100  # ~3 s waiting: the user is told that transcripts come late (nothing is lost)
MAX_BACKLOG_FRAMES = 18_750  # ~10 min (19 MB): the pipeline is stuck; audio outside an utterance is dropped


class AudioSourceError(RuntimeError):
    """Audio input failed."""


class MicrophoneError(AudioSourceError):
    """The microphone is missing, busy or stopped; the message says which device and what to check."""


class WavFormatError(AudioSourceError):
    """The WAV file cannot be read; it must be 16-bit PCM (any rate and channel count)."""


class AudioSource(Protocol):
    """Anything that yields 512-sample int16 16 kHz mono frames; ends when the input ends.

    `finite` sources (files) end the run when they end or fail; others (microphones) are reopened on failure."""

    description: str
    finite: bool

    def frames(self) -> AsyncIterator[np.ndarray]:
        """Iterate the frames; raises AudioSourceError when the input fails."""
        ...


class Reblocker:
    """Resamples int16 audio of any rate to 16 kHz and cuts it into 512-sample frames, across chunk borders."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._step = rate / SAMPLE_RATE
        self._smooth = max(1, math.ceil(self._step))  # a box filter against aliasing when downsampling
        self._history = np.zeros(0, dtype=np.float32)  # input samples not consumed yet
        self._position = 0.0  # fractional read position into _history
        self._out = np.zeros(0, dtype=np.int16)

    def push(self, samples: np.ndarray) -> list[np.ndarray]:
        """Add mono int16 samples at `rate`; return every complete 16 kHz frame now available."""
        if self.rate == SAMPLE_RATE:
            resampled = samples.astype(np.int16)
        else:
            data = np.concatenate([self._history, samples.astype(np.float32)])
            if self._smooth > 1:
                kernel = np.ones(self._smooth, dtype=np.float32) / self._smooth
                filtered = np.convolve(data, kernel, mode="same")
            else:
                filtered = data
            # Stop short of the end: the filter there still lacks its right-hand samples (next chunk).
            positions = np.arange(self._position, len(data) - 1 - self._smooth, self._step)
            resampled = np.interp(positions, np.arange(len(data)), filtered).round().clip(-32768, 32767)
            resampled = resampled.astype(np.int16)
            next_position = self._position + len(positions) * self._step
            keep_from = max(0, int(next_position) - self._smooth)
            self._history = data[keep_from:]
            self._position = next_position - keep_from
        self._out = np.concatenate([self._out, resampled])
        frames = []
        while len(self._out) >= FRAME_SAMPLES:
            frames.append(self._out[:FRAME_SAMPLES].copy())
            self._out = self._out[FRAME_SAMPLES:]
        return frames

    def flush(self) -> list[np.ndarray]:
        """The last partial frame, padded with silence (end of a file)."""
        if len(self._out) == 0:
            return []
        frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        frame[: len(self._out)] = self._out
        self._out = np.zeros(0, dtype=np.int16)
        return [frame]


def _to_mono(raw: bytes, channels: int) -> np.ndarray:
    samples = np.frombuffer(raw, dtype="<i2")
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    return samples.astype(np.int16)


class WavSource:
    """A 16-bit WAV file fed like a microphone: in real time, or as fast as the pipeline takes it (`fast`)."""

    def __init__(self, path: str | Path, *, fast: bool = False) -> None:
        self.path = Path(path)
        self.fast = fast
        self.description = f"WAV file {self.path}"
        self.finite = True

    async def frames(self) -> AsyncIterator[np.ndarray]:
        async for block in self.blocks():
            for frame in block:
                yield frame

    async def blocks(self) -> AsyncIterator[list[np.ndarray]]:
        """The frames in blocks of BLOCK_FRAMES, each handed over when its last sample is due (as a mic does)."""
        try:
            with wave.open(str(self.path), "rb") as wav:
                if wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
                    raise WavFormatError(f"{self.path}: only 16-bit PCM WAV is supported; convert it with "
                                         f"`sox IN -b 16 -e signed-integer OUT.wav`")
                rate, channels = wav.getframerate(), wav.getnchannels()
                raw = wav.readframes(wav.getnframes())
        except (OSError, wave.Error, EOFError) as error:
            raise WavFormatError(f"{self.path}: cannot read it as WAV ({error})") from error
        reblocker = Reblocker(rate)
        loop = asyncio.get_running_loop()
        started = loop.time()
        frames = [*reblocker.push(_to_mono(raw, channels)), *reblocker.flush()]
        for first in range(0, len(frames), BLOCK_FRAMES):
            block = frames[first:first + BLOCK_FRAMES]
            if self.fast:
                await asyncio.sleep(0)
            else:
                await asyncio.sleep(max(0.0, started + (first + len(block) - 1) * FRAME_S - loop.time()))
            yield block


WASAPI = 13
"""PortAudio's paWASAPI host API type. Windows lists every microphone once per host API (MME, DirectSound,
WASAPI, WDM-KS), and MME cuts names at 31 characters; WASAPI has the full names and is the native one."""

ZERO_AUDIO_S = 3.0
"""A microphone that delivers exact zeros for this long after opening is reported: on Windows that is what the
privacy settings give an app that is denied the microphone (a real mic's noise floor is never exactly zero)."""
MIC_DENIED_HELP = (
    "{mic} delivers only silence (exact zeros). If Windows blocks it: Settings > Privacy & security > "
    "Microphone: turn on 'Microphone access' and 'Let desktop apps access your microphone', then restart "
    "listening. Otherwise check the mic's mute switch."
)


CHOOSE_MIC = "plug one in, or choose one under Microphone in the tray menu (--input-device without the tray)"


class _PortAudioUse:
    """How many streams are open in this process, and the device list last read while none was.

    PortAudio reads the device list in Pa_Initialize and its (de)initialisation is not safe while another thread
    runs a stream; so the tray's refresh re-enumerates only while no microphone is open and otherwise shows the
    list read last. Opening the microphone reads it too (from the same initialisation): when the app starts
    listening at once, the mic opened before the tray's first refresh and the Microphone menu stayed empty."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open_streams = 0
        self.devices: list[str] = []


_PORTAUDIO = _PortAudioUse()


def pick_host_api(host_apis: list[dict[str, Any]], default_index: int, *, windows: bool) -> int:
    """The host API whose devices we list and open: WASAPI on Windows when present, else PortAudio's default."""
    if windows:
        for info in host_apis:
            if int(info.get("type", -1)) == WASAPI:
                return int(info["index"])
    return default_index


def _host_api(audio: Any) -> tuple[int | None, dict[str, Any] | None]:
    """(index, info) of the host API to use, or (None, None) for a PyAudio without host API calls."""
    if not hasattr(audio, "get_host_api_count"):
        return None, None
    apis = []
    for index in range(audio.get_host_api_count()):
        info = dict(audio.get_host_api_info_by_index(index))
        info.setdefault("index", index)
        apis.append(info)
    default = int(audio.get_default_host_api_info()["index"])
    chosen = pick_host_api(apis, default, windows=sys.platform == "win32")
    return chosen, next((info for info in apis if int(info["index"]) == chosen), None)


def _inputs(audio: Any) -> list[dict[str, Any]]:
    """The input devices of the chosen host API: one entry per microphone."""
    api, _ = _host_api(audio)
    inputs = [audio.get_device_info_by_index(i) for i in range(audio.get_device_count())]
    return [info for info in inputs if int(info.get("maxInputChannels", 0)) > 0
            and (api is None or int(info.get("hostApi", api)) == api)]


def _input_names(audio: Any) -> list[str]:
    return list(dict.fromkeys(str(info["name"]) for info in _inputs(audio)))


def list_input_devices() -> list[str]:
    """Names of the input devices (for the tray's microphone menu), one per device; [] without PyAudio.

    While a microphone is open this is the list read last (see _PortAudioUse)."""
    try:
        import pyaudio
    except ImportError:
        return []
    with _PORTAUDIO.lock:
        if _PORTAUDIO.open_streams:
            return list(_PORTAUDIO.devices)
        with quiet_stderr():  # ALSA/JACK probing noise (see quiet_stderr)
            audio = pyaudio.PyAudio()
        try:
            names = _input_names(audio)
        finally:
            audio.terminate()
        _PORTAUDIO.devices = names
        return list(names)


def _find_device(audio: Any, wanted: str | int | None) -> dict[str, Any]:
    """PortAudio device info for an index, a case-insensitive name substring, or the default input."""
    if wanted is None:
        _, api_info = _host_api(audio)
        default = int(api_info.get("defaultInputDevice", -1)) if api_info else -1
        try:
            return audio.get_device_info_by_index(default) if default >= 0 else audio.get_default_input_device_info()
        except OSError as error:
            raise MicrophoneError(f"no default microphone: {CHOOSE_MIC}") from error
    inputs = _inputs(audio)
    if isinstance(wanted, int):
        for info in inputs:
            if int(info["index"]) == wanted:
                return info
    else:
        for info in inputs:
            if str(wanted).lower() in str(info["name"]).lower():
                return info
    names = ", ".join(f"{info['index']}: {info['name']}" for info in inputs) or "none"
    raise MicrophoneError(f"microphone {wanted!r} not found (input devices now: {names}): {CHOOSE_MIC}")


class Backlog:
    """What to do with microphone audio that waits because the loop lags (pure; MicSource applies it).

    Inside an utterance nothing is ever dropped: the user is told once that transcripts come late. Only past
    MAX_BACKLOG_FRAMES (the pipeline is stuck), and only outside an utterance, does the oldest audio go."""

    def __init__(self, description: str) -> None:
        self._description = description
        self._lagging = False
        self._dropping = False

    def arrived(self, waiting: int, in_utterance: bool) -> tuple[bool, tuple[str, str] | None]:
        """A frame arrives with `waiting` frames queued: (drop the oldest?, (level, message) for the user)."""
        if waiting >= MAX_BACKLOG_FRAMES and not in_utterance:
            told, self._dropping = self._dropping, True
            return True, None if told else ("error", f"the computer has not kept up with {self._description} for "
                                                     f"{waiting * FRAME_S / 60:.0f} min; audio outside speech "
                                                     "is being dropped")
        if waiting >= LAG_NOTICE_FRAMES and not self._lagging:
            self._lagging = True
            return False, ("warning", f"the computer is not keeping up with {self._description}: "
                                      f"{waiting * FRAME_S:.0f} s of audio waiting; nothing is lost, "
                                      "transcripts come late")
        return False, None

    def drained(self) -> tuple[str, str] | None:
        """The queue is empty again: news if it had lagged."""
        if not self._lagging and not self._dropping:
            return None
        self._lagging = self._dropping = False
        return "info", f"caught up with {self._description}"


class MicSource:
    """The microphone through PyAudio, chosen by name or index; 16 kHz if the device allows, else resampled."""

    def __init__(self, device: str | int | None = None, *, in_utterance: Callable[[], bool] = lambda: False,
                 on_lag: Callable[[str, str], None] | None = None) -> None:
        self.device = device
        self.description = f"microphone {device!r}" if device is not None else "default microphone"
        self.finite = False
        self._in_utterance = in_utterance  # audio waiting while this is true is never dropped
        self._on_lag = on_lag or (lambda level, message: log.warning("%s", message))  # (level, message)
        self._backlog = Backlog(self.description)
        self._channels = 1

    def _open(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes]) -> tuple[Any, Any, int]:
        """Open the device (blocking; run in a worker thread). Returns (pyaudio, stream, rate).

        Under the PortAudio lock: never at the same time as the tray's device listing (see _PortAudioUse)."""
        with _PORTAUDIO.lock:
            return self._open_locked(loop, queue)

    def _open_locked(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes]) -> tuple[Any, Any, int]:
        try:
            import pyaudio
        except ImportError as error:
            raise MicrophoneError("PyAudio is not installed: pip install pyaudio") from error
        with quiet_stderr():  # ALSA/JACK probing noise (see quiet_stderr)
            audio = pyaudio.PyAudio()
        try:
            _PORTAUDIO.devices = _input_names(audio)  # the menu's list while this stream is open
            info = _find_device(audio, self.device)
            index = int(info["index"])
            rate = SAMPLE_RATE
            try:
                audio.is_format_supported(rate, input_device=index, input_channels=1, input_format=pyaudio.paInt16)
            except ValueError:
                rate = int(info.get("defaultSampleRate") or 48_000)
                log.info("%s refuses 16 kHz; opening it at %d Hz and resampling", info["name"], rate)
            frames_per_buffer = max(1, round(BLOCK_FRAMES * FRAME_SAMPLES * rate / SAMPLE_RATE))

            def on_audio(data: bytes | None, count: int, timing: Any, status: int) -> tuple[None, int]:
                # PyAudio's thread: copy and hand over; nothing else happens here.
                if data:
                    loop.call_soon_threadsafe(self._take, queue, bytes(data))
                return None, pyaudio.paContinue

            try:
                stream = audio.open(format=pyaudio.paInt16, channels=1, rate=rate, input=True,
                                    input_device_index=index, frames_per_buffer=frames_per_buffer,
                                    stream_callback=on_audio)
                self._channels = 1
            except OSError:
                # WASAPI in shared mode takes the device's own channel count only: open that and downmix.
                channels = min(2, int(info.get("maxInputChannels", 1)))
                if channels < 2:
                    raise
                stream = audio.open(format=pyaudio.paInt16, channels=channels, rate=rate, input=True,
                                    input_device_index=index, frames_per_buffer=frames_per_buffer,
                                    stream_callback=on_audio)
                self._channels = channels
            stream.start_stream()
            _PORTAUDIO.open_streams += 1
            log.info("microphone open: %s at %d Hz, %d channel(s)", info["name"], rate, self._channels)
            return audio, stream, rate
        except OSError as error:
            audio.terminate()
            raise MicrophoneError(f"cannot open {self.description} ({error}): check that it is plugged in "
                                  "and not used exclusively by another app") from error
        except BaseException:
            audio.terminate()
            raise

    def _open_in_thread(self, loop: asyncio.AbstractEventLoop,
                        queue: asyncio.Queue[bytes]) -> concurrent.futures.Future[tuple[Any, Any, int]]:
        """Open the device on a short-lived thread (PortAudio blocks), outside the loop's task list."""
        future: concurrent.futures.Future[tuple[Any, Any, int]] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._open(loop, queue))
            except BaseException as error:  # handed to the awaiting coroutine, which raises it
                future.set_exception(error)

        threading.Thread(target=work, name="mic-open", daemon=True).start()
        return future

    def _take(self, queue: asyncio.Queue[bytes], data: bytes) -> None:
        """Queue one callback's audio (on the loop thread); say so when the loop lags behind the microphone."""
        # The backlog is counted in frames: each queued callback holds BLOCK_FRAMES of them.
        drop_oldest, news = self._backlog.arrived(queue.qsize() * BLOCK_FRAMES, self._in_utterance())
        if drop_oldest:
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        if news is not None:
            self._on_lag(*news)
        queue.put_nowait(data)

    async def frames(self) -> AsyncIterator[np.ndarray]:
        async for block in self.blocks():
            for frame in block:
                yield frame

    async def blocks(self) -> AsyncIterator[list[np.ndarray]]:
        """The frames of each callback's audio together (BLOCK_FRAMES at 16 kHz; resampling may shift one)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        opening = self._open_in_thread(loop, queue)
        try:
            audio, stream, rate = await asyncio.shield(asyncio.wrap_future(opening))
        except asyncio.CancelledError:
            # Stopped while the device was opening: close it in the opener's thread once it is open (whether or
            # not this loop still runs then), or the device stays held.
            opening.add_done_callback(_close_when_opened)
            raise
        reblocker = Reblocker(rate)
        zeros = _ZeroWatch(rate * self._channels, self.description, self._on_lag)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(queue.get(), STALL_TIMEOUT_S)
                except TimeoutError as error:
                    raise MicrophoneError(f"{self.description} stopped delivering audio (unplugged?)") from error
                if queue.empty() and (news := self._backlog.drained()) is not None:
                    self._on_lag(*news)
                zeros.push(data)
                block = reblocker.push(_to_mono(data, self._channels))
                if block:
                    yield block
        finally:
            await asyncio.to_thread(_close_stream, audio, stream)




def _close_when_opened(opening: concurrent.futures.Future[tuple[Any, Any, int]]) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    audio, stream, _ = opening.result()
    _close_stream(audio, stream)


def _close_stream(audio: Any, stream: Any) -> None:
    try:
        with contextlib.suppress(OSError):
            stream.stop_stream()
            stream.close()
    finally:
        with _PORTAUDIO.lock:
            _PORTAUDIO.open_streams -= 1
            audio.terminate()


class _ZeroWatch:
    """Reports a microphone whose first ZERO_AUDIO_S are exact zeros (see MIC_DENIED_HELP), and its recovery."""

    def __init__(self, samples_per_s: int, description: str, say: Callable[[str, str], None]) -> None:
        self._left = int(ZERO_AUDIO_S * samples_per_s)  # samples still to check before speaking up
        self._description = description
        self._say = say
        self._reported = False

    def push(self, data: bytes) -> None:
        if self._left <= 0 and not self._reported:
            return
        silent = not any(data)
        if self._reported and not silent:
            self._reported = False
            self._left = 0
            self._say("info", f"{self._description} delivers sound again")
        elif not silent:
            self._left = 0
        elif not self._reported:
            self._left -= len(data) // 2
            if self._left <= 0:
                self._reported = True
                self._say("error", MIC_DENIED_HELP.format(mic=self._description))

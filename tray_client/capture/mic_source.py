"""The microphone through PyAudio, chosen by name or index; 16 kHz if the device allows, else resampled.

A mic that vanishes raises `MicrophoneError` (never a silent stream of nothing), so the pipeline can show it and
retry. Threads: PyAudio calls its callback on its own thread; the callback only copies the bytes and hands them to
the asyncio thread with `loop.call_soon_threadsafe`. Nothing else is shared.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from tray_client.capture import devices
from tray_client.capture.backlog import Backlog
from tray_client.capture.quiet_stderr import quiet_stderr
from tray_client.capture.reblock import Reblocker, to_mono
from tray_client.capture.segmenter import FRAME_SAMPLES, SAMPLE_RATE
from tray_client.capture.source_types import BLOCK_FRAMES, CALLBACK_FRAMES, MicrophoneError

log = logging.getLogger(__name__)

STALL_TIMEOUT_S = 2.0  # a mic that delivers nothing for this long is treated as gone
ZERO_AUDIO_S = 3.0
"""A microphone that delivers exact zeros for this long after opening is reported: on Windows that is what the
privacy settings give an app that is denied the microphone (a real mic's noise floor is never exactly zero)."""
MIC_DENIED_HELP = (
    "{mic} delivers only silence (exact zeros). If Windows blocks it: Settings > Privacy & security > "
    "Microphone: turn on 'Microphone access' and 'Let desktop apps access your microphone', then restart "
    "listening. Otherwise check the mic's mute switch."
)


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
        self._waiting = 0  # frames queued for the loop (the backlog)

    def _open(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[bytes, int]]) -> tuple[Any, Any, int]:
        """Open the device (blocking; run in a worker thread). Returns (pyaudio, stream, rate).

        Under the PortAudio lock: never at the same time as the tray's device listing (see _PortAudioUse)."""
        with devices.PORTAUDIO.lock:
            return self._open_locked(loop, queue)

    def _open_locked(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[bytes, int]]) -> tuple[Any, Any, int]:
        try:
            import pyaudio
        except ImportError as error:
            raise MicrophoneError("PyAudio is not installed: pip install pyaudio") from error
        with quiet_stderr():  # ALSA/JACK probing noise (see quiet_stderr)
            audio = pyaudio.PyAudio()
        try:
            devices.PORTAUDIO.devices = devices.input_names(audio)  # the menu's list while this stream is open
            info = devices.find_device(audio, self.device)
            index = int(info["index"])
            rate = SAMPLE_RATE
            try:
                audio.is_format_supported(rate, input_device=index, input_channels=1, input_format=pyaudio.paInt16)
            except ValueError:
                rate = int(info.get("defaultSampleRate") or 48_000)
                log.info("%s refuses 16 kHz; opening it at %d Hz and resampling", info["name"], rate)
            frames_per_buffer = max(1, round(CALLBACK_FRAMES * FRAME_SAMPLES * rate / SAMPLE_RATE))
            gathered: list[bytes] = []

            def on_audio(data: bytes | None, count: int, timing: Any, status: int) -> tuple[None, int]:
                # PyAudio's thread, every CALLBACK_FRAMES: gather BLOCK_FRAMES frames before waking the loop, but
                # inside an utterance hand the audio over at once, so that its end is seen soon after it happens
                # (whole blocks added 76 ms p50 to every end of speech; BENCHMARKS.md, issue 22).
                if data:
                    gathered.append(bytes(data))
                    if len(gathered) * CALLBACK_FRAMES >= BLOCK_FRAMES or self._in_utterance():
                        loop.call_soon_threadsafe(self._take, queue,
                                                  (b"".join(gathered), len(gathered) * CALLBACK_FRAMES))
                        gathered.clear()
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
            devices.PORTAUDIO.open_streams += 1
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
                        queue: asyncio.Queue[tuple[bytes, int]]) -> concurrent.futures.Future[tuple[Any, Any, int]]:
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

    def _take(self, queue: asyncio.Queue[tuple[bytes, int]], item: tuple[bytes, int]) -> None:
        """Queue audio of `item[1]` frames (on the loop thread); say so when the loop lags behind the microphone."""
        drop_oldest, news = self._backlog.arrived(self._waiting, self._in_utterance())
        if drop_oldest:
            with contextlib.suppress(asyncio.QueueEmpty):
                self._waiting -= queue.get_nowait()[1]
        if news is not None:
            self._on_lag(*news)
        self._waiting += item[1]
        queue.put_nowait(item)

    async def frames(self) -> AsyncIterator[np.ndarray]:
        async for block in self.blocks():
            for frame in block:
                yield frame

    async def blocks(self) -> AsyncIterator[list[np.ndarray]]:
        """The frames handed over together: BLOCK_FRAMES while nobody speaks, CALLBACK_FRAMES inside an utterance
        (resampling may shift one)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bytes, int]] = asyncio.Queue()
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
                    data, count = await asyncio.wait_for(queue.get(), STALL_TIMEOUT_S)
                except TimeoutError as error:
                    raise MicrophoneError(f"{self.description} stopped delivering audio (unplugged?)") from error
                self._waiting -= count
                if queue.empty() and (news := self._backlog.drained()) is not None:
                    self._on_lag(*news)
                zeros.push(data)
                block = reblocker.push(to_mono(data, self._channels))
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
        with devices.PORTAUDIO.lock:
            devices.PORTAUDIO.open_streams -= 1
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

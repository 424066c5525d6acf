"""An uploaded audio file -> 16 kHz mono float32, in bounded memory and bounded time.

A compressed file can decode to far more than it weighs: a 181 kB FLAC of an hour of silence decoded in one
`soundfile.read` cost the server +1.05 GB (the whole file as float32 at its own rate and channel count, then a
float64 copy to resample), and 25 MB of such FLAC would have been about 150 GB. So a file is checked twice against
the duration cap: on its declared length before any sample is decoded, and while decoding, block by block (a
header may not say, or lie). Blocks are mixed to mono and resampled as they come (`StreamResampler`, the same
polyphase filter as `scipy.signal.resample_poly` over the whole file), so the memory an upload holds is its output
at 16 kHz (about 230 MB per hour) plus one block. Runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import io
from math import ceil, gcd

import numpy as np

from dictation_core.protocol import SAMPLE_RATE

OUTPUT_RATE = SAMPLE_RATE
_BLOCK_SECONDS = 10.0  # decoded per read: large enough that the resampling filter is built rarely
_UNKNOWN_FRAMES = 1 << 62  # libsndfile's "length not in the header" is SF_COUNT_MAX


class AudioFileError(ValueError):
    """The file cannot be decoded; `message` says why and what to send instead (no internal details)."""


class TooLongError(ValueError):
    """The audio is longer than the cap; the message names the cap's setting."""


class StreamResampler:
    """`resample_poly(x, up, down)` of a signal that arrives in pieces, exactly as if it came at once.

    Each output sample depends on the input within the filter's half-length around it, so every piece is
    filtered with `pad` samples of history before it and `pad` of look-ahead after it, and only the outputs whose
    inputs lie inside the piece are kept. Pieces and pad are whole multiples of `down`, so the output grid lines
    up with the whole-signal one.
    """

    def __init__(self, rate_in: int, rate_out: int = OUTPUT_RATE, expected_frames: int = 0) -> None:
        divisor = gcd(rate_in, rate_out)
        self.up, self.down = rate_out // divisor, rate_in // divisor
        half_input = ceil(10 * max(self.up, self.down) / self.up) + 2  # resample_poly's half-length, in input
        self.pad = self.down * ceil(half_input / self.down)
        self.step = self.down * max(1, ceil(_BLOCK_SECONDS * rate_in / self.down))
        self._history = np.zeros(0, np.float32)
        self._pending = np.zeros(0, np.float32)
        self._out = _Growing(ceil(expected_frames * self.up / self.down))

    def feed(self, samples: np.ndarray) -> None:
        """More input (mono float32)."""
        if self.up == self.down:
            self._out.append(samples)
            return
        self._pending = np.concatenate([self._pending, samples])
        while len(self._pending) >= self.step + self.pad:
            self._emit(self.step)

    def finish(self) -> np.ndarray:
        """The whole output (float32), the same length as `resample_poly` gives for the whole input."""
        if self.up != self.down and len(self._pending):
            self._emit(len(self._pending), final=True)
        return self._out.result()

    def _emit(self, count: int, final: bool = False) -> None:
        from scipy.signal import resample_poly

        piece = np.concatenate([self._history, self._pending[: count + (0 if final else self.pad)]])
        if len(piece) == 0:
            return
        output = resample_poly(piece, self.up, self.down)
        first = len(self._history) * self.up // self.down
        last = None if final else first + count * self.up // self.down
        self._out.append(output[first:last])
        consumed = np.concatenate([self._history, self._pending[:count]])
        self._history = consumed[-self.pad:] if self.pad else consumed[:0]
        self._pending = self._pending[count:]


class _Growing:
    """A float32 array filled by appends: sized once when the length is known, else doubled as it fills (so the
    output is never held twice, as a list of pieces and their concatenation)."""

    def __init__(self, expected: int) -> None:
        self._data = np.empty(max(expected, 0), np.float32)
        self._size = 0

    def append(self, samples: np.ndarray) -> None:
        end = self._size + len(samples)
        if end > len(self._data):
            grown = np.empty(max(end, 2 * len(self._data), 1 << 16), np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size:end] = samples
        self._size = end

    def result(self) -> np.ndarray:
        if self._size == len(self._data):
            return self._data
        return self._data[: self._size].copy()


def decode_upload(data: bytes, max_seconds: float, cap_name: str = "--max-upload-seconds") -> np.ndarray:
    """Any file libsndfile reads (WAV, FLAC, OGG, MP3) -> 16 kHz mono float32, at most `max_seconds` long.

    Raises AudioFileError for a file it cannot read and TooLongError past the cap, declared or decoded.
    """
    import soundfile

    try:
        sound = soundfile.SoundFile(io.BytesIO(data))
    except Exception as error:
        raise AudioFileError(f"could not read the audio file ({_reason(error)}); send WAV, FLAC, OGG or MP3") \
            from error
    with sound:
        rate = int(sound.samplerate)
        if rate <= 0:
            raise AudioFileError("the audio file declares no sample rate; send WAV, FLAC, OGG or MP3")
        limit = int(max_seconds * rate)
        if 0 < sound.frames < _UNKNOWN_FRAMES and sound.frames > limit:
            raise TooLongError(_too_long(sound.frames / rate, max_seconds, cap_name))
        declared = sound.frames if 0 < sound.frames < _UNKNOWN_FRAMES else 0
        resampler = StreamResampler(rate, expected_frames=declared)
        block = max(1, int(_BLOCK_SECONDS * rate))
        decoded = 0
        try:
            while True:
                samples = sound.read(block, dtype="float32", always_2d=True)
                if len(samples) == 0:
                    break
                decoded += len(samples)
                if decoded > limit:
                    raise TooLongError(_too_long(decoded / rate, max_seconds, cap_name, more=True))
                resampler.feed(samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0])
        except TooLongError:
            raise
        except Exception as error:
            raise AudioFileError(f"the audio file is damaged after {decoded / rate:.1f} s ({_reason(error)}); "
                                 "send a complete WAV, FLAC, OGG or MP3") from error
    return np.ascontiguousarray(resampler.finish(), dtype=np.float32)


def _too_long(seconds: float, max_seconds: float, cap_name: str, more: bool = False) -> str:
    amount = f"over {seconds:.0f} s" if more else f"{seconds:.0f} s"
    return (f"the audio is {amount} long, over the {max_seconds:g} s limit ({cap_name}); split it or raise the "
            "limit")


def _reason(error: Exception) -> str:
    """libsndfile's own words, without the Python object (and its heap address) soundfile puts around them."""
    reason = getattr(error, "error_string", None)
    if isinstance(reason, str) and reason:
        return reason
    return type(error).__name__

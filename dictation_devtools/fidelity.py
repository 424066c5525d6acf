"""Speech fidelity: which samples of a recording's speech reached the server, measured against an offline oracle.

Pure: it takes the recording, the oracle's speech regions and the PCM of each utterance as the server received
it, and says where each utterance lies in the recording (the client sends the file's samples unchanged, so each
utterance is one exact slice of it), which speech samples were never sent (at an onset, at a tail, or neither),
how much audio came before each onset, and whether a cut fell inside speech. scripts/bench_fidelity.py drives it;
tests pin the rules on small arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dictation_core.protocol import SAMPLE_RATE

FRAME_SAMPLES = 512
ORACLE_PAD_MS = 100.0  # speech regions are widened by this much on each side: soft onsets and tails count


class NotFound(ValueError):
    """An utterance's audio is not an exact slice of the recording (the client altered or reordered samples)."""


@dataclass(frozen=True)
class Region:
    """Samples [start, end) of the recording."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def oracle_regions(probabilities: Sequence[float], threshold: float = 0.5, margin: float = 0.15) -> list[Region]:
    """Speech regions from per-frame probabilities of one uninterrupted VAD pass over the whole recording.

    The same hysteresis as the client: speech starts at a frame >= threshold and lasts until a frame below
    threshold - margin."""
    regions: list[Region] = []
    start: int | None = None
    for index, probability in enumerate(probabilities):
        if start is None and probability >= threshold:
            start = index
        elif start is not None and probability < threshold - margin:
            regions.append(Region(start * FRAME_SAMPLES, index * FRAME_SAMPLES))
            start = None
    if start is not None:
        regions.append(Region(start * FRAME_SAMPLES, len(probabilities) * FRAME_SAMPLES))
    return regions


def padded(regions: Sequence[Region], pad_samples: int, total: int) -> list[Region]:
    """Widen each region by `pad_samples` on both sides (within the recording) and merge overlaps."""
    merged: list[Region] = []
    for region in regions:
        start, end = max(0, region.start - pad_samples), min(total, region.end + pad_samples)
        if merged and start <= merged[-1].end:
            merged[-1] = Region(merged[-1].start, max(merged[-1].end, end))
        else:
            merged.append(Region(start, end))
    return merged


def locate(recording: np.ndarray, utterances: Sequence[bytes]) -> list[Region]:
    """Where each utterance's PCM lies in the recording, searching forward from the previous one's start.

    The recording must be dithered (no long runs of identical samples), or an utterance of pure silence could
    match in several places."""
    data = np.asarray(recording, dtype="<i2").tobytes()
    found: list[Region] = []
    cursor = 0
    for number, pcm in enumerate(utterances):
        if not pcm:
            found.append(Region(cursor // 2, cursor // 2))
            continue
        head = pcm[: 4 * FRAME_SAMPLES]
        at = data.find(head, cursor)
        while at >= 0 and (at % 2 or data[at : at + len(pcm)] != pcm):
            at = data.find(head, at + 1)
        if at < 0:
            raise NotFound(f"utterance {number + 1} ({len(pcm) // 2} samples) is not an exact slice of the recording "
                           "after the previous one")
        found.append(Region(at // 2, (at + len(pcm)) // 2))
        cursor = at
    return found


@dataclass
class Fidelity:
    """What reached the server of one recording's speech."""

    speech_samples: int = 0  # oracle speech, padded
    lost_onset: int = 0  # lost speech samples just before an utterance's first sample
    lost_tail: int = 0  # lost speech samples just after an utterance's last sample
    lost_other: int = 0  # lost speech samples touching no utterance (a whole region never sent, or between)
    duplicated: int = 0  # samples sent in two utterances
    utterances: int = 0
    onsets_cut: int = 0  # an utterance began inside the oracle's (unpadded) speech, not right after the last one
    words_split: int = 0  # a cut between two back-to-back utterances fell inside the oracle's speech
    gapless_onsets: int = 0  # utterances that began right where the previous one's sent audio ended
    preroll_ms: list[float] = field(default_factory=list)  # audio sent before each other onset's speech began

    @property
    def lost(self) -> int:
        return self.lost_onset + self.lost_tail + self.lost_other

    @property
    def lost_percent(self) -> float:
        return 100.0 * self.lost / self.speech_samples if self.speech_samples else 0.0


def _inside(position: int, regions: Sequence[Region]) -> Region | None:
    for region in regions:
        if region.start < position < region.end:
            return region
    return None


def measure(core: Sequence[Region], sent: Sequence[Region], total: int,
            pad_ms: float = ORACLE_PAD_MS) -> Fidelity:
    """Score the sent slices against the oracle's core speech regions (padded by `pad_ms` for "lost")."""
    result = Fidelity(utterances=len(sent))
    speech = np.zeros(total, dtype=bool)
    for region in padded(core, int(pad_ms * SAMPLE_RATE / 1000), total):
        speech[region.start : region.end] = True
    covered = np.zeros(total, dtype=np.int16)
    for region in sent:
        covered[region.start : region.end] += 1
    result.speech_samples = int(speech.sum())
    result.duplicated = int(np.clip(covered - 1, 0, None).sum())
    starts = {region.start for region in sent if region.length}
    ends = {region.end for region in sent if region.length}
    lost = speech & (covered == 0)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], lost.view(np.int8), [0]))))
    for run_start, run_end in zip(edges[::2], edges[1::2], strict=True):
        size = int(run_end - run_start)
        if int(run_end) in starts:
            result.lost_onset += size
        elif int(run_start) in ends:
            result.lost_tail += size
        else:
            result.lost_other += size
    previous_end: int | None = None
    for region in sent:
        if not region.length:
            continue
        contiguous = previous_end == region.start
        if contiguous:
            result.gapless_onsets += 1
            if _inside(region.start, core) is not None:
                result.words_split += 1
        elif _inside(region.start, core) is not None:
            result.onsets_cut += 1
        else:
            onset = next((r.start for r in core if region.start <= r.start < region.end), None)
            if onset is not None:
                result.preroll_ms.append((onset - region.start) * 1000 / SAMPLE_RATE)
        previous_end = region.end
    return result

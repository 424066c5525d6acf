"""A long dictation for fault runs: many distinct espeak-ng phrases in one WAV, and their known words for the server.

Fault runs need more utterances than the three-phrase fixtures (twenty server kills need twenty utterances), and
every phrase must be distinct so that a duplicate or a loss shows up as a wrong line. The scripted backend
recognises each phrase by exact snippets of its samples, so the phrases file is written from the very samples the
client will send.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dictation_devtools.speech import SpeechSample, build_sample
from dictation_devtools.stand_in_backends import KnownPhrase, ScriptedBackend

# Distinct words in every phrase, so no phrase's audio can be mistaken for another's.
PHRASES = [
    "the morning train leaves at seven",
    "please water the plants on friday",
    "our meeting moved to the blue room",
    "bring two copies of the contract",
    "the printer on floor three is jammed",
    "call the bakery about the birthday cake",
    "remember to renew the parking permit",
    "send invoices before the end of march",
    "the new laptop arrives next tuesday",
    "book a table for six at eight",
    "check the oil before the long drive",
    "the garden gate needs fresh paint",
    "update the spreadsheet with june figures",
    "pick up the dry cleaning after lunch",
    "the library closes early on sundays",
    "ask maria for the budget draft",
    "the heating engineer comes at noon",
    "cancel the gym membership this week",
    "the bridge is closed for repairs",
    "order more coffee filters and sugar",
    "review the slides for the workshop",
    "the dog needs a walk at six",
    "move the boxes into the attic",
    "thank everyone for the quick replies",
]


@dataclass(frozen=True)
class Dictation:
    """The WAV the client reads, the phrases file the stand-in server loads, and the expected output lines."""

    sample: SpeechSample
    phrases_file: Path

    @property
    def path(self) -> Path:
        return self.sample.path

    @property
    def texts(self) -> list[str]:
        return [phrase.text for phrase in self.sample.phrases]


def build_dictation(workdir: Path, count: int, *, gap_s: float = 1.2) -> Dictation:
    """`count` phrases (at most len(PHRASES)) spoken with `gap_s` of silence between them."""
    if not 1 <= count <= len(PHRASES):
        raise ValueError(f"count={count}: use 1 to {len(PHRASES)} phrases")
    workdir.mkdir(parents=True, exist_ok=True)
    sample = build_sample(PHRASES[:count], "en-us", f"dictation{count}", workdir, gap_s=gap_s)
    known = [KnownPhrase(phrase.text, sample.phrase_audio(i)) for i, phrase in enumerate(sample.phrases)]
    phrases_file = workdir / f"dictation{count}.npz"
    ScriptedBackend(known).save(phrases_file)
    return Dictation(sample, phrases_file)

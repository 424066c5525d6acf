"""The link's state machine, without I/O: what to send, what to deliver, when to give up or reconnect.

Why it is built this way: words must survive a server restart or a dropped network. So audio is never sent "fire
and forget". Each utterance keeps all of its audio until its final has been delivered; every (re)connection starts
by replaying the unfinished utterances from their first byte, in order; finals are de-duplicated by utterance id
(a replay can produce a second final) and delivered in utterance order. A final counts as delivered only once the
consumer took it (`delivered`): if handing it over fails, it is offered again, never dropped as a duplicate.

Like python-websockets' sans-I/O protocol, `LinkCore` never touches a socket or a clock: the driver feeds it
events (`connection_made`, `receive_text`, `tick` with the time) and carries out the actions it returns, and
pulls the frames to write with `data_to_send`. So every rule below is tested without a socket
(tests/client/test_link_core.py).

What the server may answer, and what the core does about it:
- `error` code `engine` with an utterance id, instead of its final: the decode failed. The utterance is sent
  again on the same connection (start with the same id, all its audio, stop), once; a second failure is a `Fail`.
- `error` code `too_long` with id X (sent before the final of X): the server cut the utterance at its length
  limit; its final covers the audio so far and the rest comes as a final with id "X.2" (then "X.3", ...).
  Those segments are delivered in order, each once, and the utterance is complete with its last segment.
- `error` `unauthorized` or `busy`: `Disconnect` with an AuthRefused (do not retry) or LinkError (back off).
- no final within `final_timeout_s` after stop: `Reconnect` (the new connection replays), `max_replays` times,
  then `Fail` with the audio.
- `ready` is information only (link/replies.py), as is a reply that cannot be read at all (dropped, told once).
"""

from __future__ import annotations

import collections
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dictation_core import protocol
from tray_client.events import NoticeCode
from tray_client.link.actions import Action, Deliver, Fail, Reconnect, ShowPartial, Tell, Unsent
from tray_client.link.backoff import BACKOFF_INITIAL_S, Backoff  # noqa: F401
from tray_client.link.backoff import UNREACHABLE_MAX_S as BACKOFF_MAX_S  # noqa: F401
from tray_client.link.journal import AudioJournal
from tray_client.link.replies import UnreadableReplies, take_error, take_ready
from tray_client.link.spool import HeldAudio

# The reconnect policy lives next door (link/backoff.py, pure too); the names imported from it above are part of
# the link's face. So do the replies the core only takes note of (link/replies.py).

log = logging.getLogger(__name__)

DEDUPE_MEMORY = 10_000
MAX_FRAME_BYTES = 32_000  # 1 s of audio per binary frame: well under asr_server's max_frame_bytes (64 KiB)
BUSY_RETRY_S = 1.0  # an utterance the server refused as busy is sent again after the next final, or after this
DELIVERY_ATTEMPTS = 3  # a final the consumer refuses this often is given up (its audio goes to `Fail`)
# An utterance on the wire when the server dropped the connection is replayed on the next one, this many times;
# past that it fails (its audio is kept as a recording), so a server that drops every session, or cannot answer
# this one utterance (a final too large to read), does not get the same audio again and again all day.
MAX_DROP_REPLAYS = 3


@dataclass(frozen=True)
class LinkSettings:
    """Where and how to connect, and how long to wait for finals."""

    url: str
    token: str | None = None
    language: str | None = None
    context: str = ""
    final_timeout_s: float = 10.0
    max_replays: int = 1  # replays after a missing final before the user is told
    spool_dir: str = ""  # where audio waits on disk past the memory cap (link/spool.py); "" = the temp folder


@dataclass
class _Utterance:
    utterance_id: str
    context: str = ""  # the focused app's text for this utterance (start's "context"), sent with every replay
    closed: bool = False
    replays: int = 0
    deadline: float | None = None  # time by which the final must arrive (only while connected)
    # The server's answer, by segment: 1 is the utterance itself, n >= 2 the continuation "<id>.n" after a cut.
    segments: dict[int, protocol.Final] = field(default_factory=dict)
    delivered: int = 0  # segments the consumer took so far (always 1..delivered, in order)
    offered: bool = False  # a Deliver of segment delivered + 1 is out and not answered yet
    refusals: int = 0  # times the consumer failed to take the next segment
    cuts: int = 0  # highest segment the server announced as cut (too_long): segment cuts + 1 follows
    last_segment: int | None = None  # known once a final arrives for a segment that was not cut
    resend: bool = False  # a replay was asked for while this utterance was still on the wire
    held: bool = False  # refused as busy: sent again after the next final (or BUSY_RETRY_S)
    held_since: float | None = None
    failed: str | None = None  # given up: why (a Fail once it is closed)
    drops: int = 0  # connections that the server ended while this utterance was on them, unanswered
    # What the current connection has carried; reset on every new connection, which replays it all.
    sent_start: bool = False
    sent_chunks: int = 0
    sent_stop: bool = False
    silence: tuple[int, int] | None = None  # (ms, frames of audio it follows): a `silence` event to send

    def rewind(self) -> None:
        self.sent_start = False
        self.sent_chunks = 0
        self.sent_stop = False
        self.deadline = None

    @property
    def complete(self) -> bool:
        """Every segment's final has arrived."""
        last = self.last_segment
        return last is not None and all(n in self.segments for n in range(1, last + 1))

    @property
    def needs_sending(self) -> bool:
        return not self.sent_stop and not self.complete and self.failed is None and not self.held

    def segment_id(self, segment: int) -> str:
        return self.utterance_id if segment == 1 else f"{self.utterance_id}.{segment}"

    def record(self, segment: int, final: protocol.Final) -> None:
        self.segments[segment] = final
        if segment > self.cuts:  # the server announces a cut (too_long) before the cut segment's final
            self.last_segment = segment
        if self.complete:
            self.deadline = None

    def retry_or_give_up(self, max_replays: int, why: str) -> bool:
        """One more attempt if replays are left (True); else the utterance has failed, for `why`."""
        self.deadline = None
        if self.replays < max_replays:
            self.replays += 1
            return True
        self.failed = why
        return False

    def hold(self) -> None:
        """The server's share for this connection is full: send all of it again, but not before it has room."""
        self.send_again()
        self.held, self.held_since = True, None

    def release_if_due(self, now: float) -> None:
        if self.held and self.held_since is None:
            self.held_since = now
        elif self.held and now - self.held_since >= BUSY_RETRY_S:  # type: ignore[operator]
            self.held = False

    def send_again(self) -> None:
        """All of it, from `start`: now if it was stopped, else right after its stop."""
        if self.sent_stop:
            self.rewind()
        else:
            self.resend = True


def _find(pending: dict[str, _Utterance], segment_id: str) -> tuple[_Utterance, int] | None:
    """The pending utterance and segment number of "X" (segment 1) or of a continuation "X.n"."""
    utterance = pending.get(segment_id)
    if utterance is not None:
        return utterance, 1
    base, _, number = segment_id.rpartition(".")
    if base and number.isdigit() and int(number) >= 2:
        utterance = pending.get(base)
        if utterance is not None:
            return utterance, int(number)
    return None


class _Wire:
    """What one connection carries: hello first, then each pending utterance from its first byte, in order.

    Protocol v1 has one open utterance per connection, so a replay waits for the open one's stop."""

    def __init__(self, *, connected: bool) -> None:
        self.connected = connected
        self.takes_silence = False  # until this connection's `ready` says so
        self.final_timeout_s: float | None = None  # a slow server's own final wait, from its `ready`
        self.answered = False  # a final arrived on this connection: the server works (link/backoff.py)
        self._hello_due = connected
        self._on_wire: _Utterance | None = None  # started on this connection and not stopped yet

    def final_wait_s(self, settings: LinkSettings) -> float:
        """How long a final may take on this connection: ours, or longer where the server says it is slow."""
        return max(settings.final_timeout_s, self.final_timeout_s or 0.0)

    def frames(self, pending: dict[str, _Utterance], audio: HeldAudio, settings: LinkSettings,
               now: float) -> list[str | bytes]:
        if not self.connected:
            return []
        out: list[str | bytes] = []
        if self._hello_due:
            self._hello_due = False
            out.append(protocol.hello(settings.language, settings.context))
        if self._on_wire is not None and pending.get(self._on_wire.utterance_id) is not self._on_wire:
            out.append(protocol.cancel())  # dropped locally while the server had it open
            self._on_wire = None
        while (utterance := self._next(pending)) is not None:
            if not utterance.sent_start:
                out.append(protocol.start(utterance.utterance_id, utterance.context))
                utterance.sent_start = True
                self._on_wire = utterance
            frames = audio.readable_frames(utterance.utterance_id, utterance.sent_chunks)
            if frames is None:  # its audio on disk is gone: say so instead of sending half of it
                utterance.failed = "its audio kept on disk could not be read back (see the log)"
                out.append(protocol.cancel())
                self._on_wire = None
                continue
            out.extend(frames)
            utterance.sent_chunks = audio.count(utterance.utterance_id)
            silence, utterance.silence = utterance.silence, None
            if not utterance.closed:
                # Sent only right after the audio it follows: with audio after it, speech resumed and it is stale.
                if silence is not None and silence[1] == utterance.sent_chunks:
                    out.append(protocol.silence(silence[0]))
                break  # more audio is coming; it is the last utterance
            out.append(protocol.stop())
            utterance.sent_stop = True
            utterance.deadline = now + self.final_wait_s(settings)
            self._on_wire = None
            if utterance.resend:  # a segment failed while it was still streaming: send it all again
                utterance.resend = False
                utterance.rewind()
        return out

    def _next(self, pending: dict[str, _Utterance]) -> _Utterance | None:
        """The one started and not stopped, else the first one unsent."""
        current = self._on_wire
        if current is not None and pending.get(current.utterance_id) is current:
            return current
        return next((u for u in pending.values() if u.needs_sending), None)


class LinkCore:
    """Pending utterances, replay, dedupe, too_long segments and engine retries, as pure state transitions."""

    def __init__(self, settings: LinkSettings, journal: AudioJournal | None = None) -> None:
        """`journal`: where every utterance's audio is written ahead (link/journal.py); the core itself only
        hands it bytes, it never waits for the disk."""
        self.settings = settings
        spool = Path(settings.spool_dir or Path(tempfile.gettempdir()) / "tray_client-spool")
        # Every pending utterance's audio, until it is done.
        self._audio = HeldAudio(MAX_FRAME_BYTES, spool, journal=journal)
        self._pending: collections.OrderedDict[str, _Utterance] = collections.OrderedDict()
        self._delivered = _Memory(DEDUPE_MEMORY)  # segment ids delivered: a replay's second final is dropped
        self._wire = _Wire(connected=False)
        self._unreadable = UnreadableReplies()

    # ----- what the consumer asks -----
    @property
    def unfinished(self) -> int:
        """Utterances whose finals have not all been delivered yet (open ones included)."""
        return len(self._pending)

    @property
    def awaiting_final(self) -> int:
        """Closed utterances still waiting for their final."""
        return sum(1 for u in self._pending.values() if u.closed and u.failed is None)

    def open(self, utterance_id: str, context: str = "") -> None:
        """Start an utterance (with the focused app's `context`, if any); its audio is kept until its final is
        delivered."""
        self._pending[utterance_id] = _Utterance(utterance_id, context)

    def append(self, utterance_id: str, pcm: bytes) -> list[Action]:
        """Add audio (int16 LE mono 16 kHz) to an open utterance (in frames the server accepts)."""
        utterance = self._pending.get(utterance_id)
        if utterance is None or utterance.closed:
            log.warning("audio for unknown or closed utterance %s dropped", utterance_id)
            return []
        self._audio.add(utterance_id, pcm)
        return [Tell(level, message) for level, message in self._audio.take_news()]

    def silence(self, utterance_id: str, silence_ms: int) -> list[Action]:
        """The open utterance has been silent `silence_ms`: tell the server after the audio so far (it may decode
        the final early; the capture holds the audio after this unless speech resumes)."""
        utterance = self._pending.get(utterance_id)
        if utterance is not None and not utterance.closed and self._wire.takes_silence:
            utterance.silence = (silence_ms, self._audio.count(utterance_id))
        return []

    def close(self, utterance_id: str) -> list[Action]:
        """End an utterance: the server is asked for its final."""
        utterance = self._pending.get(utterance_id)
        if utterance is None:
            return []
        utterance.closed = True
        return self._flush() if utterance.failed is not None else []

    def drop_all(self) -> list[Unsent]:
        """Forget every pending utterance (shutdown); return each one's id and audio, for the caller to keep.

        Their write-ahead files stay until the caller has kept the audio (then it deletes them through the
        journal): a process killed in between still leaves them for the next start."""
        dropped = [Unsent(utterance_id, self._audio.audio(utterance_id)) for utterance_id in self._pending]
        for unsent in dropped:
            self._audio.forget(unsent.utterance_id, keep_file=True)
        self._pending.clear()
        return dropped

    # ----- connection events -----
    @property
    def connected(self) -> bool:
        return self._wire.connected

    def connection_made(self) -> None:
        """A new connection: say hello, then replay every unfinished utterance from its first byte."""
        self._wire = _Wire(connected=True)
        self._rewind_all()

    @property
    def answered(self) -> bool:
        """The current (or just lost) connection carried a final: the server worked on it."""
        return self._wire.answered

    def connection_lost(self, *, dropped: bool = False, why: str = "") -> list[Action]:
        """The connection is gone: nothing sent on it counts any more. `dropped`: the server (or the network)
        ended it, we did not ask for it: each utterance that was on it unanswered is replayed on the next
        connection `MAX_DROP_REPLAYS` times at most, then fails (`why` says what ended the connections)."""
        self._unreadable.connection_ended()
        if dropped:
            for utterance in self._pending.values():
                if utterance.sent_start and utterance.failed is None and not utterance.complete:
                    utterance.drops += 1
                    if utterance.drops > MAX_DROP_REPLAYS:
                        log.error("the connection dropped %d times while %s was on it (%s); giving up on it",
                                  utterance.drops, utterance.utterance_id, why)
                        utterance.failed = (f"the server closed the connection {utterance.drops} times while "
                                            f"transcribing it ({why or 'no reason given'})")
        self._wire = _Wire(connected=False)
        self._rewind_all()
        return self._flush()

    def _rewind_all(self) -> None:
        for utterance in self._pending.values():
            utterance.rewind()

    def data_to_send(self, now: float) -> list[str | bytes]:
        """The frames to write now, in order; they count as sent (a lost connection rewinds them)."""
        return self._wire.frames(self._pending, self._audio, self.settings, now)

    def receive_text(self, raw: str | bytes) -> list[Action]:
        """One message from the server."""
        try:
            message = protocol.parse_message(raw)
        except (ValueError, RecursionError) as error:  # ProtocolError, and what json raises past its own limits
            told = self._unreadable.seen(raw, error)
            return [Tell("warning", told, code=NoticeCode.BAD_REPLY)] if told else []
        if isinstance(message, protocol.Final):
            self._wire.answered = True
            return self._on_server_final(message)
        if isinstance(message, protocol.Partial):
            if message.utterance_id is not None and _find(self._pending, message.utterance_id) is not None:
                return [ShowPartial(message.utterance_id, message.text)]
            return []
        if isinstance(message, protocol.ServerError):
            return self._on_server_error(message)
        take_ready(message, self._wire, self._pending.values(), self.settings)
        return []

    def tick(self, now: float) -> list[Action]:
        """Time passed: reconnect for finals that are late, give up on those late too often, offer finals again."""
        actions: list[Action] = []
        for utterance in self._pending.values():
            utterance.release_if_due(now)
        late = [u for u in self._pending.values()
                if u.failed is None and not u.complete and u.deadline is not None and u.deadline <= now]
        for utterance in late:
            if utterance.retry_or_give_up(self.settings.max_replays, "no transcript from the server"):
                log.warning("no final for %s within %.1f s; reconnecting to replay it",
                            utterance.utterance_id, self._wire.final_wait_s(self.settings))
                actions.append(Reconnect(f"no final for {utterance.utterance_id}"))
            else:
                log.error("no final for %s after %d replay(s); giving up on it",
                          utterance.utterance_id, utterance.replays)
        return actions[:1] + self._flush()

    # ----- delivery acknowledgements -----
    def delivered(self, segment_id: str) -> list[Action]:
        """The consumer took the final of `segment_id`: remember it (dedupe) and offer the next one."""
        head = self._offered(segment_id)
        if head is None:
            return []
        head.offered = False
        head.refusals = 0
        head.delivered += 1
        self._delivered.add(segment_id)
        return self._flush()

    def delivery_failed(self, segment_id: str, why: str) -> list[Action]:
        """The consumer could not take the final: keep it and offer it again on the next tick; a few times."""
        head = self._offered(segment_id)
        if head is None:
            return []
        head.offered = False
        head.refusals += 1
        if head.refusals >= DELIVERY_ATTEMPTS:
            log.error("the final of %s could not be delivered %d times (%s); giving up on it", segment_id,
                      head.refusals, why)
            del head.segments[head.delivered + 1]  # not offered again: its audio goes to Fail instead
            head.failed = f"its transcript could not be output: {why}"
            head.deadline = None
            return self._flush()
        return []

    # ----- internals -----
    def _head(self) -> _Utterance | None:
        return next(iter(self._pending.values()), None)

    def _offered(self, segment_id: str) -> _Utterance | None:
        head = self._head()
        if head is None or not head.offered or head.segment_id(head.delivered + 1) != segment_id:
            log.warning("an answer about the final of %s, which was not offered, ignored", segment_id)
            return None
        return head

    def _on_server_error(self, error: protocol.ServerError) -> list[Action]:
        found = _find(self._pending, error.utterance_id) if error.utterance_id else None
        if error.code == protocol.ENGINE and found is not None:
            return self._on_engine_error(*found, error.message)
        return take_error(error, found)

    def _on_engine_error(self, utterance: _Utterance, segment: int, message: str) -> list[Action]:
        """The server could not decode a stopped segment: send the utterance again once, then give up on it."""
        if segment in utterance.segments or utterance.failed is not None:
            return []  # stale: that segment's final arrived from another attempt
        if not utterance.retry_or_give_up(self.settings.max_replays, f"the server could not transcribe it: {message}"):
            log.error("decoding %s failed again (%s); giving up on it", utterance.segment_id(segment), message)
            return self._flush()
        log.warning("decoding %s failed (%s); sending the utterance again", utterance.segment_id(segment), message)
        utterance.send_again()
        return []

    def _on_server_final(self, final: protocol.Final) -> list[Action]:
        segment_id = final.utterance_id
        if segment_id is None:  # an original-protocol server: finals come in order
            segment_id = next((u.utterance_id for u in self._pending.values()
                               if u.sent_stop and not u.complete and u.failed is None), None)
            if segment_id is None:
                log.warning("a final without id and no utterance waiting for one: %r", final.text[:80])
                return []
        if segment_id in self._delivered:
            log.info("duplicate final for %s ignored (a replay answered twice)", segment_id)
            return []
        found = _find(self._pending, segment_id)
        if found is None:
            log.warning("final for unknown utterance %s ignored", segment_id)
            return []
        utterance, segment = found
        if utterance.failed is not None or segment in utterance.segments:
            return []
        utterance.record(segment, protocol.Final(segment_id, final.text, final.language))
        self._unreadable.read_well()
        for waiting in self._pending.values():  # a final frees room at the server for one refused as busy
            waiting.held = False
        return self._flush()

    def _flush(self) -> list[Action]:
        """Offer finals in utterance order (a later final waits for the replay of an earlier one), one at a time."""
        actions: list[Action] = []
        while (head := self._head()) is not None:
            if head.offered:
                break
            following = head.delivered + 1
            if following in head.segments:
                head.offered = True
                final = head.segments[following]
                actions.append(Deliver(head.segment_id(following), final.text, final.language))
                break
            if head.complete and head.delivered == head.last_segment:
                del self._pending[head.utterance_id]
            elif head.failed is not None and head.closed:
                del self._pending[head.utterance_id]
                actions.append(Fail(head.utterance_id, self._audio.audio(head.utterance_id), head.failed))
                # Its write-ahead file stays until the consumer has kept the audio (Fail's handler deletes it).
                self._audio.forget(head.utterance_id, keep_file=True)
                continue
            else:
                break
            self._audio.forget(head.utterance_id)
        return actions


class _Memory:
    """The last `size` items added, for membership tests."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: collections.OrderedDict[str, None] = collections.OrderedDict()

    def add(self, item: str) -> None:
        self._items[item] = None
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __contains__(self, item: str) -> bool:
        return item in self._items

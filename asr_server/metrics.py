"""GET /metrics in Prometheus format, through prometheus-client: what an operator graphs and alerts on.

One registry per server (not the process-wide default), so several servers in one process (tests) do not mix.
Counts and latencies only: no text, no audio, no utterance ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# From a fast final (tens of ms) to a client's replay timeout (10 s).
_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)


class ServerMetrics:
    """The server's instruments. Sessions call `final`, `error`, `step`; the engine side calls `decoded`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._sessions = Gauge("asr_sessions", "Open WebSocket sessions.", registry=self.registry)
        self._steps = Counter("asr_decode_steps", "Decode steps submitted, by kind (partial or final).", ["kind"],
                              registry=self.registry)
        self._finals = Counter("asr_finals", "Finals sent to clients.", registry=self.registry)
        self._errors = Counter("asr_errors", "Error messages sent to clients, by code.", ["code"],
                               registry=self.registry)
        self._final_latency = Histogram("asr_final_latency_seconds", "From a client's stop to its final being "
                                        "sent.", buckets=_LATENCY_BUCKETS, registry=self.registry)
        self._decode_seconds = Histogram("asr_decode_seconds", "One decode step at the engine, by kind and "
                                         "outcome.", ["kind", "outcome"], buckets=_LATENCY_BUCKETS,
                                         registry=self.registry)
        self._engine_waiting = Gauge("asr_engine_queue_waiting", "Requests waiting in the engine's own queue "
                                     "(vllm:num_requests_waiting).", registry=self.registry)
        self._engine_up = Gauge("asr_engine_up", "1 while the engine answers, else 0.", registry=self.registry)
        self._dropped_clients = Counter("asr_slow_clients_closed", "Connections closed because the client did "
                                        "not read its messages.", registry=self.registry)

    def watch(self, sessions: Callable[[], float], engine_waiting: Callable[[], float],
              engine_up: Callable[[], float]) -> None:
        """Gauges read at scrape time from the server's own state."""
        self._sessions.set_function(sessions)
        self._engine_waiting.set_function(engine_waiting)
        self._engine_up.set_function(engine_up)

    def step(self, final: bool) -> None:
        """A decode step was submitted."""
        self._steps.labels("final" if final else "partial").inc()

    def final(self, seconds_since_stop: float | None) -> None:
        """A final was sent (`None`: its utterance was cut at the length limit, no stop to measure from)."""
        self._finals.inc()
        if seconds_since_stop is not None:
            self._final_latency.observe(seconds_since_stop)

    def error(self, code: str) -> None:
        """An error message was sent."""
        self._errors.labels(code).inc()

    def decoded(self, final: bool, seconds: float, ok: bool) -> None:
        """A decode step came back from the engine."""
        self._decode_seconds.labels("final" if final else "partial", "ok" if ok else "failed").observe(seconds)

    def slow_client_closed(self) -> None:
        """A connection was closed because its outbox was full."""
        self._dropped_clients.inc()

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


class SessionMeter:
    """One session's view of the metrics: it remembers when each utterance stopped, to time its final. Without a
    registry (`metrics` None, as in tests of the session alone) it only keeps that bookkeeping."""

    def __init__(self, metrics: ServerMetrics | None) -> None:
        self._metrics = metrics
        self._stopped_at: dict[Hashable, float] = {}

    def stopped(self, utterance: Hashable) -> None:
        self._stopped_at[utterance] = time.monotonic()

    def final(self, utterance: Hashable) -> None:
        stopped_at = self._stopped_at.pop(utterance, None)
        if self._metrics is not None:
            self._metrics.final(None if stopped_at is None else time.monotonic() - stopped_at)

    def forget(self, utterance: Hashable) -> None:
        self._stopped_at.pop(utterance, None)

    def step(self, final: bool) -> None:
        if self._metrics is not None:
            self._metrics.step(final)

    def error(self, code: str) -> None:
        if self._metrics is not None:
            self._metrics.error(code)

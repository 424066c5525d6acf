"""An `Engine` for unit tests: it keeps the steps it is sent, and the test answers them in the order it chooses."""

from __future__ import annotations

from concurrent.futures import Future

from asr_server.engine.base import DecodeFailed, DecodeRequest, EngineStats, StepOutput


class RecordingEngine:
    """`jobs`: the requests not answered yet, oldest first; `cancelled` and `promoted` say what the session did.

    `promotes`: whether `promote` succeeds (a step still queued at the engine) or not (already decoding)."""

    def __init__(self, promotes: bool = False) -> None:
        self.promotes = promotes
        self.jobs: list[DecodeRequest] = []
        self.cancelled: list[DecodeRequest] = []
        self.promoted: list[tuple[DecodeRequest, int]] = []
        self._futures: dict[DecodeRequest, Future[StepOutput | None]] = {}

    def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    def submit(self, request: DecodeRequest) -> Future[StepOutput | None]:
        future: Future[StepOutput | None] = Future()
        self.jobs.append(request)
        self._futures[request] = future
        future.add_done_callback(self._withdrawn)
        return future

    def promote(self, future: Future[StepOutput | None], final: DecodeRequest) -> bool:
        if not self.promotes:
            return False
        (old,) = [request for request, mine in self._futures.items() if mine is future]
        self.jobs[self.jobs.index(old)] = final
        self._futures[final] = self._futures.pop(old)
        self.promoted.append((final, len(final.audio)))
        return True

    def answer(self, output: StepOutput | None) -> DecodeRequest:
        """Answer the oldest step with `output` (None: skipped)."""
        request = self.jobs.pop(0)
        self._futures.pop(request).set_result(output)
        return request

    def fail(self, why: str, refused: bool = False) -> DecodeRequest:
        request = self.jobs.pop(0)
        self._futures.pop(request).set_exception(DecodeFailed(why, refused))
        return request

    def _withdrawn(self, future: Future[StepOutput | None]) -> None:
        if not future.cancelled():
            return
        for request, mine in list(self._futures.items()):
            if mine is future:
                del self._futures[request]
                self.jobs.remove(request)
                self.cancelled.append(request)

    @property
    def queued(self) -> int:
        return len(self.jobs)

    @property
    def waiting(self) -> float:
        return float(len(self.jobs))

    @property
    def reachable(self) -> bool:
        return True

    @property
    def stats(self) -> EngineStats:
        return EngineStats(0, 0, 0, 0, 0.0)

    def health(self) -> dict[str, object] | None:
        return None
